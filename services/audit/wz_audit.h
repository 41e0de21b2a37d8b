/* wz_audit.h - the hash-chained audit log: every event of every producer,
 * per region, in the stream <prefix>{region}:audit with ids "<seq>-0" and
 * fields e (event bytes), src (event id), prev and hash (32 bytes each),
 * where hash = SHA-256(prev || seq as 8 bytes big-endian || e) and prev of
 * the first entry is 32 zero bytes. Also the CURVE query endpoint through
 * which municipalities read their region's chain. */
#ifndef WZ_AUDIT_H_INCLUDED
#define WZ_AUDIT_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "wz_loop.h"
#include "wz_runtime.h"
#include "wz_store.h"

#define WZ_AUDIT_HASH_LEN 32
#define WZ_AUDIT_PAGE_DEFAULT 100 /* entries per page when the query names no count */
#define WZ_AUDIT_PAGE_MAX 1000

typedef struct wz_audit_t wz_audit_t;

/* Creates the consumer "audit" following intake, matching and notification
 * (their publish endpoints from rt->settings) for every region of the
 * policy. rt and router (a bound ROUTER, may be NULL when only
 * wz_audit_handle is used) are borrowed. NULL on failure. */
wz_audit_t *wz_audit_new(wz_runtime_t *rt, void *router);
/* Destroys the consumer (not the borrowed router); accepts NULL, nulls the pointer. */
void wz_audit_destroy(wz_audit_t **self_p);
/* Registers the consumer's sockets and catch-up timer, and the router when
 * there is one, with loop; then catches up once (a Redis failure there is
 * logged and left to the timer). 0 or -1. */
int wz_audit_attach(wz_audit_t *self, wz_loop_t *loop);
/* Reads every followed stream to its end now. 0, or -1 if Redis failed. */
int wz_audit_catch_up(wz_audit_t *self);

/* Loop handler for the ROUTER: [routing id][Request] in, [routing id][Reply]
 * out; anything else is dropped with a warning. arg is the wz_audit_t. Returns 0. */
int wz_audit_on_router(wz_loop_t *loop, void *socket, void *arg);
/* Answers one request of len bytes from party (authenticated id or NULL):
 * only Request.audit, only for municipalities, about the party's region.
 * Sets *reply (malloc'd, caller frees) and *reply_len. 0, or -1 on OOM only. */
int wz_audit_handle(wz_audit_t *self, const char *party, const void *data, size_t len,
                    uint8_t **reply, size_t *reply_len);

/* Appends ev to the chain of its region (ev->region) inside txn: WATCHes the
 * audit stream, reads its head and queues the XADD. ev is borrowed. Returns
 * 0 (also when an event without a usable region is skipped, logged), or -1
 * when Redis failed or the chain head is unreadable. */
int wz_audit_append(wz_store_t *store, wz_txn_t *txn, const WzEvent *ev, wz_log_t *log);

/* The entry hash: SHA-256 over prev, seq (8 bytes big-endian) and the event bytes. */
void wz_audit_hash(const uint8_t prev[WZ_AUDIT_HASH_LEN], uint64_t seq, const uint8_t *event,
                   size_t len, uint8_t out[WZ_AUDIT_HASH_LEN]);

/* Walks the chain of region from entry 1 and checks ids, links and hashes,
 * and that the chain is as long as the audit consumer's cursors say.
 * Returns 0 when intact, 1 when an entry was altered, removed or reordered
 * (*first_bad is its sequence and why says what is wrong), -1 when Redis
 * failed (why says so). *checked counts the entries found good. */
int wz_audit_verify(wz_store_t *store, const char *region, uint64_t *checked, uint64_t *first_bad,
                    char *why, size_t whylen);

/* As wz_audit_verify, and also holds the chain against the signed
 * checkpoints in checkpoint_dir, checked with the public key pk (NULL: no
 * checkpoints): a chain rewritten or cut off in Redis, cursors included,
 * still fails. -1 also when the checkpoint file is unreadable. */
int wz_audit_verify_signed(wz_store_t *store, const char *region, const char *checkpoint_dir,
                           const uint8_t *pk, uint64_t *checked, uint64_t *first_bad, char *why,
                           size_t whylen);

#endif
