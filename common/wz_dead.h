/* wz_dead.h - dead letters: events a consumer gave up on.
 *
 * A consumer (wz_sub) that cannot apply an event - it is unreadable, or it
 * failed dead_letter_attempts times while Redis was reachable - moves it to
 * the stream <prefix>{region}:dead:<consumer> (fields producer, seq,
 * event_id, reason, attempts, at_ms, e = the event bytes), advances its
 * cursor past it and leaves an audit entry (EventDeadLettered), all in one
 * transaction, so the rest of the stream flows on.
 *
 * An operator lists them (`wzctl dead-letters`) and asks for a replay: the
 * request goes into the set <prefix>{region}:dead:<consumer>:replay as
 * "<producer>:<seq>", and the consumer applies the event again on its next
 * catch-up, removing the dead letter in the same transaction as the effect
 * (so a replay takes effect once). */
#ifndef WZ_DEAD_H_INCLUDED
#define WZ_DEAD_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wz_store.h"

typedef struct {
    char id[48];            /* entry id in the dead-letter stream */
    char consumer[32];
    char producer[32];
    uint64_t seq;           /* on the producer's stream */
    char event_id[160];     /* empty when unreadable */
    char reason[256];
    unsigned attempts;
    int64_t at_ms;
    bool replay_requested;
} wz_dead_letter_t;

/* The keys of a consumer's dead letters and replay requests in region. 0 or -1. */
int wz_dead_key(const wz_store_t *store, const char *region, const char *consumer, char *out,
                size_t outlen);
int wz_dead_replay_key(const wz_store_t *store, const char *region, const char *consumer,
                       char *out, size_t outlen);

/* Reads every dead letter of consumer in region into *out (malloc'd array,
 * caller frees; NULL when none) and *n. 0, or -1 when Redis failed. */
int wz_dead_list(wz_store_t *store, const char *region, const char *consumer,
                 wz_dead_letter_t **out, size_t *n);
/* Asks consumer to apply the dead letter (producer, seq) of region again.
 * Returns 0 requested, 1 no such dead letter, -1 when Redis failed. */
int wz_dead_request_replay(wz_store_t *store, const char *region, const char *consumer,
                           const char *producer, uint64_t seq);

#endif
