/* wz_store.h - the Redis connection of one service (hiredis 0.14, blocking,
 * with connect and command timeouts and TCP keepalive), and optimistic
 * transactions (WATCH ... MULTI ... EXEC) over it.
 *
 * After any transport or protocol error the context is discarded; the next
 * call reconnects, no more often than the backoff allows (100 ms doubling to
 * 5 s), so a service keeps running while Redis is away. */
#ifndef WZ_STORE_H_INCLUDED
#define WZ_STORE_H_INCLUDED

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <hiredis/hiredis.h>

#include "wz_log.h"
#include "wz_metrics.h"
#include "wz_proto.h"
#include "wz_settings.h"

typedef struct wz_store_t wz_store_t;

/* Creates a store for the given settings (copied). Does not connect yet.
 * The log is borrowed. NULL on OOM. */
wz_store_t *wz_store_new(const wz_redis_settings_t *settings, wz_log_t *log);
void wz_store_destroy(wz_store_t **self_p);

/* Counts every failed command in metrics (borrowed, may be NULL). */
void wz_store_set_metrics(wz_store_t *self, wz_metrics_t *metrics);

/* Connects if not connected (respecting the backoff). 0 when connected. */
int wz_store_connect(wz_store_t *self);
bool wz_store_connected(const wz_store_t *self);
/* The last error, for logs and replies. */
const char *wz_store_errstr(const wz_store_t *self);
/* Whether the last failure was Redis being away or busy (disconnected,
 * loading, out of memory, read-only replica, cluster reconfiguring) rather
 * than something about the data: such failures never count against an
 * event (see wz_dead.h). */
bool wz_store_transient(const wz_store_t *self);
/* Bumped on every new connection: whoever caches Redis state re-reads it when
 * this changed (another server, or one restarted, may hold other data). */
unsigned long wz_store_generation(const wz_store_t *self);

/* Runs one command (hiredis format, %s and %b). Returns the reply, which the
 * caller frees with freeReplyObject, or NULL when Redis is unreachable or
 * answered with an error (errstr says which). */
redisReply *wz_store_cmd(wz_store_t *self, const char *fmt, ...);
redisReply *wz_store_vcmd(wz_store_t *self, const char *fmt, va_list ap);
redisReply *wz_store_argv(wz_store_t *self, int argc, const char **argv, const size_t *lens);

/* Builds a key "<prefix>{<region>}:<suffix>" where suffix is printf-formatted.
 * Every key of a region carries the region as a Redis Cluster hash tag.
 * Returns 0, or -1 if it does not fit. */
int wz_store_key(const wz_store_t *self, char *out, size_t outlen, const char *region,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Convenience reads. Each returns 1 found, 0 absent, -1 error.
 * wz_store_get_bytes: *data is malloc'd (caller frees). */
int wz_store_get_bytes(wz_store_t *self, const char *key, uint8_t **data, size_t *len);
int wz_store_get_u64(wz_store_t *self, const char *key, uint64_t *out);

/* --- transactions ------------------------------------------------------ */
typedef struct wz_txn_t wz_txn_t;
typedef struct wz_pub_t wz_pub_t;

/* Starts a transaction: WATCHes the outbox stream of pub for region (when pub
 * is not NULL) so that events and state commit together. Returns NULL when
 * Redis is unreachable. Reads made after this see a consistent view. */
wz_txn_t *wz_txn_begin(wz_store_t *store, wz_pub_t *pub, const char *region);
/* WATCHes one more key; call before reading it. 0 or -1. */
int wz_txn_watch(wz_txn_t *self, const char *key);
/* Queues a write (hiredis format). 0 or -1 (OOM or bad format). */
int wz_txn_cmd(wz_txn_t *self, const char *fmt, ...);
/* Queues an event on the outbox of the transaction's pub and region: the
 * packed copy is stamped with id "<service>:<region>:<seq>", the region and
 * occurred_ms (now, if ev has 0); ev itself is left as it was. It is XADDed
 * with the next sequence and published on the PUB socket only after a commit.
 * Returns the sequence, or 0 on failure. */
uint64_t wz_txn_emit(wz_txn_t *self, WzEvent *ev);
/* Number of commands queued so far. */
size_t wz_txn_size(const wz_txn_t *self);
/* MULTI + queued commands + EXEC. Returns 0 committed (events published),
 * 1 when a watched key changed (nothing written: read again and retry),
 * -1 on error (nothing or, if Redis died during EXEC, an unknown part was
 * written: the caller must treat the outcome as unknown and re-read). */
int wz_txn_commit(wz_txn_t *self);
/* How a transaction ended, for wz_txn_on_outcome: 0 committed, 1 nothing
 * written (a watched key changed, or discarded without commit), -1 unknown
 * (Redis failed around EXEC: re-read what it wrote). */
typedef void (*wz_txn_outcome_fn)(void *arg, int outcome);
/* Calls fn(arg, outcome) exactly once, when the transaction is committed or
 * destroyed, so a cache of what it writes can follow it. One hook per
 * transaction: a second call first ends the first hook with outcome 1. */
void wz_txn_on_outcome(wz_txn_t *self, wz_txn_outcome_fn fn, void *arg);
/* What a participant keeps for the length of one transaction: what it queued
 * that its later steps in the same transaction must see, since the queued
 * writes are not in Redis before EXEC. One slot; free_fn(data) runs when the
 * transaction is destroyed (a second set frees the first). */
void wz_txn_set_local(wz_txn_t *self, void *data, void (*free_fn)(void *data));
/* The slot's data, NULL when unset. */
void *wz_txn_local(const wz_txn_t *self);
/* Discards an uncommitted transaction (UNWATCH); accepts NULL, nulls the pointer. */
void wz_txn_destroy(wz_txn_t **self_p);

#endif
