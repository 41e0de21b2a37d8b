/* wz_mailbox.h - per-party durable mailboxes in Redis.
 *
 * A mailbox is the stream <prefix>{<region>}:mailbox:<party> (region: the
 * party's region) with ids "<seq>-0", seq = 1, 2, 3, ... without gaps, and
 * field "d" holding a packed Delivery{seq, reason, event}. The highest
 * sequence the party acknowledged is <prefix>{<region>}:acked:<party>.
 *
 * Entries are queued into the consumer transaction that also advances the
 * cursor of the event they come from, so a replayed event adds nothing. The
 * last sequence of each mailbox is cached: this service is the only writer of
 * mailboxes, and the cache is dropped whenever a transaction did not commit. */
#ifndef WZ_MAILBOX_H_INCLUDED
#define WZ_MAILBOX_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "wz_bus.h"
#include "wz_log.h"
#include "wz_policy.h"
#include "wz_proto.h"
#include "wz_store.h"

/* No event concerns more parties than this (corporation, care provider and
 * two municipalities at most). */
#define WZ_MAILBOX_MAX_RECIPIENTS 8

typedef struct wz_mailbox_t wz_mailbox_t;

/* One party an event is delivered to, and why ("proposal", "information",
 * "urgency", "expired", "cancelled", "released", "let", "answered"). */
typedef struct {
    const wz_party_t *party; /* borrowed from the policy */
    const char *reason;      /* a string literal */
} wz_recipient_t;

/* Fills out (room for max) with the parties ev must be delivered to, without
 * duplicates, following docs/architecture.md "Lifecycle, per event". Party
 * ids that are not in the policy are skipped with a warning on log (may be
 * NULL). Returns the number of recipients (0 for events nobody receives). */
size_t wz_mailbox_recipients(const wz_policy_t *policy, wz_log_t *log, const WzEvent *ev,
                             wz_recipient_t *out, size_t max);

/* Creates the mailbox store; store, policy and log are borrowed and must
 * outlive it. NULL on OOM. */
wz_mailbox_t *wz_mailbox_new(wz_store_t *store, const wz_policy_t *policy, wz_log_t *log);
/* Destroys it; accepts NULL and nulls the pointer. */
void wz_mailbox_destroy(wz_mailbox_t **self_p);

/* The Redis keys of a party's mailbox stream and of its acknowledged
 * sequence. 0, or -1 if they do not fit in outlen. */
int wz_mailbox_key(const wz_mailbox_t *self, const wz_party_t *party, char *out, size_t outlen);
int wz_mailbox_acked_key(const wz_mailbox_t *self, const wz_party_t *party, char *out,
                         size_t outlen);

/* Queues one entry per recipient of ev into txn (a consumer transaction of
 * ev's region, ev->region): WATCHes each mailbox, takes its next sequence, and XADDs the
 * packed Delivery. Recipients outside the transaction's region are skipped
 * with a warning (their keys live in another hash slot). The queued
 * sequences are remembered until wz_mailbox_committed; a call that finds
 * some still remembered knows that transaction failed and re-reads those
 * mailboxes. Returns 0, or -1 when Redis failed or on OOM (nothing to commit). */
int wz_mailbox_append(wz_mailbox_t *self, wz_txn_t *txn, const WzEvent *ev);
/* After the transaction of the last wz_mailbox_append committed: adopts the
 * queued sequences as the mailboxes' last ones and copies the parties that
 * got an entry into parties (room for max). Returns how many. */
size_t wz_mailbox_committed(wz_mailbox_t *self, const wz_party_t **parties, size_t max);

/* Called by wz_mailbox_read for each entry, in sequence order; data (the
 * packed Delivery) is borrowed for the call. Return 0 to go on, -1 to stop. */
typedef int (*wz_mailbox_entry_fn)(void *arg, uint64_t seq, const uint8_t *data, size_t len);
/* Hands fn the entries of party's mailbox with a sequence above after, at
 * most max of them. Returns how many fn accepted, or -1 if Redis failed. */
int wz_mailbox_read(wz_mailbox_t *self, const wz_party_t *party, uint64_t after, size_t max,
                    wz_mailbox_entry_fn fn, void *arg);
/* The highest sequence party acknowledged (0 if none) into *out. 0 or -1. */
int wz_mailbox_acked(wz_mailbox_t *self, const wz_party_t *party, uint64_t *out);
/* Records that party acknowledged everything up to up_to, together with the
 * event NotificationDelivered{party, up_to} on pub's outbox of the party's
 * region, in one transaction. Returns 0 written, 1 nothing to write (an
 * equal or higher acknowledgement is stored already), 2 refused (up_to is
 * beyond the mailbox's last entry), -1 on failure. */
int wz_mailbox_ack(wz_mailbox_t *self, wz_pub_t *pub, const wz_party_t *party, uint64_t up_to);

#endif
