/* wz_bus.h - events between services: the Clone pattern with Redis as store.
 *
 * A producer (wz_pub) commits an event together with its state change
 * (wz_txn_emit + wz_txn_commit) into the stream <prefix>{region}:stream:<service>
 * with ids "<seq>-0", seq = 1, 2, 3, ... without gaps; after the commit it
 * publishes [topic "<service>/<region>/"][seq, 8 bytes big-endian][event]
 * on its PUB socket. Every heartbeat_ms it publishes [topic][last seq][]
 * (empty third frame) so that consumers notice what they missed.
 *
 * A consumer (wz_sub) applies an event and stores its cursor
 * <prefix>{region}:cursor:<consumer>:<producer> in one transaction, so a
 * replay changes nothing. A sequence other than cursor+1, a heartbeat ahead
 * of the cursor, or the periodic catch-up timer make it read the stream from
 * Redis (XRANGE) from its cursor. PUB/SUB drops cost latency, never data. */
#ifndef WZ_BUS_H_INCLUDED
#define WZ_BUS_H_INCLUDED

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* ZMQ_MAXMSGSIZE of the internal sockets: far above any event (requests are
 * bounded by max_message_bytes), far below what would hurt. */
#define WZ_BUS_MAX_MESSAGE (4 * 1024 * 1024)

#include "wz_keys.h"
#include "wz_log.h"
#include "wz_loop.h"
#include "wz_metrics.h"
#include "wz_proto.h"
#include "wz_store.h"

/* --- producer ----------------------------------------------------------- */
/* Binds a PUB socket on endpoint. service names the stream. Store and log
 * are borrowed. NULL on failure (e.g. endpoint in use). */
wz_pub_t *wz_pub_new(void *ctx, wz_store_t *store, const char *service, const char *endpoint,
                     wz_log_t *log);
void wz_pub_destroy(wz_pub_t **self_p);
/* The same with a send high-water mark per subscriber (0: ZeroMQ's default)
 * and, when buffer_bytes > 0, a kernel send buffer of that size. A full
 * queue drops publications, which consumers recover from Redis. */
wz_pub_t *wz_pub_new_hwm(void *ctx, wz_store_t *store, const char *service, const char *endpoint,
                         int hwm, int buffer_bytes, wz_log_t *log);
/* The same as a CURVE server (curve not NULL: the service's key pair,
 * copied into the socket) in the internal ZAP domain: only keys the
 * process's ZAP handler allows (wz_zap_allow_service) may subscribe. A ZAP
 * handler must run in ctx before. */
wz_pub_t *wz_pub_new_curve(void *ctx, wz_store_t *store, const char *service,
                           const char *endpoint, int hwm, int buffer_bytes,
                           const wz_keypair_t *curve, wz_log_t *log);
/* The PUB socket, for a monitor of its handshakes (borrowed). */
void *wz_pub_socket(wz_pub_t *self);
const char *wz_pub_service(const wz_pub_t *self);
/* How long queued publications may still leave when the socket closes. */
void wz_pub_set_linger(wz_pub_t *self, int linger_ms);
/* Publishes a heartbeat for every region the producer knows (see
 * wz_pub_add_region). Call from a timer. */
void wz_pub_heartbeat(wz_pub_t *self);
/* Names the consumers of this producer's stream and turns on trimming: every
 * interval_ms (from the heartbeat timer) each region's stream is trimmed to
 * start at the lowest cursor of all of them (XTRIM MINID), so nothing a
 * consumer has not applied is ever removed, and the newest entry (which
 * holds the last sequence) always stays. A consumer without a cursor yet
 * stops trimming. Names are copied. 0 or -1. */
int wz_pub_set_consumers(wz_pub_t *self, const char *const *consumers, size_t n, int interval_ms);
/* Trims every region's stream now (see wz_pub_set_consumers). Returns the
 * number of entries removed, or -1 if Redis failed. */
long wz_pub_trim(wz_pub_t *self);
/* Declares a region this producer writes, so heartbeats cover it from start. */
int wz_pub_add_region(wz_pub_t *self, const char *region);

/* Counts committed events in metrics (borrowed, may be NULL). */
void wz_pub_set_metrics(wz_pub_t *self, wz_metrics_t *metrics);

/* Used by wz_txn (internal contract between wz_store.c and wz_bus.c). */
int wz_pub_stream_key(wz_pub_t *self, const char *region, char *out, size_t outlen);
/* The last committed sequence of region, read from Redis on first use. 0 or -1. */
int wz_pub_last_seq(wz_pub_t *self, const char *region, uint64_t *out);
/* After EXEC, once per committed event in sequence order: publishes it and
 * advances the cached last sequence. event is borrowed. */
void wz_pub_committed(wz_pub_t *self, const char *region, uint64_t seq, const uint8_t *event,
                      size_t len);
/* After a failed or aborted transaction: forget the cached sequence. */
void wz_pub_forget(wz_pub_t *self, const char *region);

/* --- consumer ----------------------------------------------------------- */
typedef struct wz_sub_t wz_sub_t;

/* Applies ev from producer to state, inside txn (already watching the
 * consumer's cursor and, if the consumer produces, its outbox stream).
 * Return 0 to commit (cursor advances even if txn holds no write),
 * -1 on a transient failure (nothing committed; retried later). */
typedef int (*wz_sub_apply_fn)(void *arg, wz_txn_t *txn, const char *producer,
                               const WzEvent *ev);
/* Called after a successful commit, e.g. to push to connected clients. May be NULL. */
typedef void (*wz_sub_done_fn)(void *arg, const char *producer, const WzEvent *ev);

/* Leaves the audit entry of a dead letter inside its transaction (dl carries
 * the region in the envelope's region field). 0, or -1 to abort the move. */
typedef int (*wz_sub_dead_fn)(void *arg, wz_txn_t *txn, const WzEvent *dl);

/* consumer names the cursors; own_pub (may be NULL) is the consumer's own
 * producer, so emitted events commit with the cursor. All borrowed. */
wz_sub_t *wz_sub_new(void *ctx, wz_store_t *store, wz_pub_t *own_pub, const char *consumer,
                     wz_sub_apply_fn apply, wz_sub_done_fn done, void *arg, wz_log_t *log);
void wz_sub_destroy(wz_sub_t **self_p);
/* Lets up to max_events consecutive events of one producer and region
 * commit in one transaction (apply is called for each, in order, with the
 * same txn; the cursor moves to the last). Only for a consumer whose apply
 * sees what it queued earlier in the same transaction (wz_txn_local), since
 * queued writes are not in Redis before EXEC. A batch that fails is applied
 * again one event at a time, so dead letters stay per event. Default 1. */
void wz_sub_set_batch(wz_sub_t *self, int max_events);
/* Sets the receive high-water mark (and, when buffer_bytes > 0, the kernel
 * receive buffer) of the SUB sockets created from now on (call before
 * wz_sub_follow). */
void wz_sub_set_hwm(wz_sub_t *self, int hwm, int buffer_bytes);
/* Makes the SUB sockets created from now on CURVE clients with the
 * consumer's key pair (copied), each of its producer's public key
 * <keys_dir>/<producer>.pub (call before wz_sub_follow). 0 or -1. */
int wz_sub_set_curve(wz_sub_t *self, const wz_keypair_t *own, const char *keys_dir);
/* How many gaps (missed publications) and catch-ups from Redis this
 * consumer went through; for logs and tests. */
uint64_t wz_sub_gaps(const wz_sub_t *self);
/* Dead letters (wz_dead.h): an event that failed max_attempts times (default
 * 5) while Redis was reachable, or that is unreadable, moves to the consumer's
 * dead-letter stream together with the cursor. Its EventDeadLettered goes to
 * dead_fn when given (a consumer without an outbox, e.g. audit), else onto
 * own_pub's outbox. */
void wz_sub_set_dead_letter(wz_sub_t *self, int max_attempts, wz_sub_dead_fn dead_fn, void *arg);
/* Dead letters older than keep_ms are removed by the catch-up timer (the
 * retention period, docs/security.md); 0 keeps them. */
void wz_sub_set_dead_letter_retention(wz_sub_t *self, int64_t keep_ms);
/* Applies the dead letters an operator asked to replay (wz_dead.h), and
 * removes those past the retention period; called by the catch-up timer.
 * 0, or -1 if Redis failed. */
int wz_sub_replay(wz_sub_t *self);
/* A stop flag (borrowed): a catch-up stops between two events once it is
 * set, so SIGTERM is not held up by a long backlog (the rest waits in Redis). */
void wz_sub_set_stop(wz_sub_t *self, volatile sig_atomic_t *stop);
/* Follows producer's PUB at endpoint for the given regions. Follow producers
 * in causal order (intake, matching, notification): before an event of one
 * is applied, the streams followed before it are caught up. */
int wz_sub_follow(wz_sub_t *self, const char *producer, const char *endpoint,
                  const char *const *regions, size_t n_regions);
/* Registers the SUB sockets and the catch-up timer (every catch_up_ms) with loop. */
int wz_sub_attach(wz_sub_t *self, wz_loop_t *loop, int catch_up_ms);
/* Reads every followed stream from its cursor to the end and applies what
 * is new. 0 when everything is caught up, -1 if Redis failed (retry later). */
int wz_sub_catch_up(wz_sub_t *self);
/* Counts applied events and catch-ups in metrics (borrowed, may be NULL). */
void wz_sub_set_metrics(wz_sub_t *self, wz_metrics_t *metrics);
/* Readiness: every followed producer was heard from (event or heartbeat)
 * within stale_ms, and no cursor is behind the last sequence a producer
 * announced or unknown (Redis not read yet). 0 when ready, else -1 with the
 * first reason in why. */
int wz_sub_ready(const wz_sub_t *self, int stale_ms, char *why, size_t whylen);
/* The consumer's cursor for producer and region (0 if none), from memory. */
uint64_t wz_sub_cursor(const wz_sub_t *self, const char *producer, const char *region);

#endif
