/* wz_notification.h - the notification service: fills the per-party
 * mailboxes from intake's and matching's events (as a wz_sub consumer), and
 * serves them to parties on a CURVE ROUTER.
 *
 * A party connects (DEALER) and sends ClientMessage{Hello{after_seq}}; its
 * session then gets every mailbox entry after max(after_seq, acknowledged),
 * as one frame each (a packed Delivery), with at most max_in_flight of them
 * unacknowledged at a time, and new entries as they are committed.
 * ClientMessage{Ack{up_to_seq}} stores the acknowledgement (with the event
 * NotificationDelivered) and opens the window again. The party is always the
 * one the ZAP handler authenticated (the message's User-Id), and a session
 * only ever gets its own party's mailbox. */
#ifndef WZ_NOTIFICATION_H_INCLUDED
#define WZ_NOTIFICATION_H_INCLUDED

#include <stddef.h>

#include "wz_bus.h"
#include "wz_keys.h"
#include "wz_log.h"
#include "wz_loop.h"
#include "wz_metrics.h"
#include "wz_monitor.h"
#include "wz_policy.h"
#include "wz_proto.h"
#include "wz_store.h"

typedef struct wz_notification_t wz_notification_t;

/* Creates the service state. router (from wz_server_router), store,
 * pub (notification's own outbox, for NotificationDelivered), policy and log
 * are borrowed and must outlive it, and so is monitor (wz_monitor_new on the
 * router): its connection events end sessions whose connection closed, and
 * it is drained before every decision. max_in_flight (>= 1) bounds
 * the unacknowledged deliveries per session; a session not heard from for
 * session_timeout_ms is dropped. NULL on failure. */
wz_notification_t *wz_notification_new(wz_monitor_t *monitor, void *router, wz_store_t *store,
                                       wz_pub_t *pub, const wz_policy_t *policy, int max_in_flight,
                                       int session_timeout_ms, wz_log_t *log);
/* Destroys the state (not the borrowed objects); accepts NULL, nulls the pointer. */
void wz_notification_destroy(wz_notification_t **self_p);

/* Registers the router and the session timer with loop (the monitor is
 * attached by its owner, and drained here before every decision). 0 or -1. */
int wz_notification_attach(wz_notification_t *self, wz_loop_t *loop);

/* wz_sub_apply_fn (arg is the wz_notification_t): queues a mailbox entry for
 * every recipient of ev into txn. 0, or -1 when Redis failed (retried). */
int wz_notification_apply(void *arg, wz_txn_t *txn, const char *producer, const WzEvent *ev);
/* wz_sub_done_fn: after the commit, pushes the new entries to the live
 * sessions of their parties. */
void wz_notification_done(void *arg, const char *producer, const WzEvent *ev);

/* Loop handler for the router: reads [routing id][ClientMessage] messages
 * and serves them; anything malformed is logged and dropped. Returns 0. */
int wz_notification_on_router(wz_loop_t *loop, void *socket, void *arg);
/* Timer handler: drops silent sessions and retries sessions whose last
 * sending was cut short (Redis away, or the peer's queue full). Returns 0. */
int wz_notification_on_timer(wz_loop_t *loop, void *arg);

/* Number of live sessions (for metrics and tests). */
size_t wz_notification_sessions(const wz_notification_t *self);
/* wz_metrics_collect_fn (arg is the wz_notification_t): sets, per party,
 * the mailbox depth (entries not acknowledged) and the age in seconds of the
 * oldest unacknowledged entry, read from Redis, and the live sessions. A
 * party whose mailbox cannot be read keeps its last values (Redis errors are
 * counted by the store). */
void wz_notification_collect(void *arg, wz_metrics_t *metrics);

#endif
