/* wz_monitor.h - watches a party endpoint's CURVE handshakes through the
 * libzmq socket monitor: counts successes and failures by kind, and logs
 * every refused handshake (the ZAP handler says why it refused; the monitor
 * also sees the failures that never reach it, such as a client without
 * CURVE or with the wrong server key). */
#ifndef WZ_MONITOR_H_INCLUDED
#define WZ_MONITOR_H_INCLUDED

#include "wz_log.h"
#include "wz_loop.h"
#include "wz_metrics.h"

typedef struct wz_monitor_t wz_monitor_t;

typedef struct {
    unsigned long succeeded; /* HANDSHAKE_SUCCEEDED */
    unsigned long auth;      /* HANDSHAKE_FAILED_AUTH: the ZAP handler said no */
    unsigned long protocol;  /* HANDSHAKE_FAILED_PROTOCOL: wrong mechanism, bad crypto */
    unsigned long other;     /* HANDSHAKE_FAILED_NO_DETAIL */
} wz_monitor_counts_t;

/* Called for every event after counting: event is a ZMQ_EVENT_*, value its
 * value (for ZMQ_EVENT_DISCONNECTED the file descriptor). */
typedef void (*wz_monitor_fn)(void *arg, unsigned event, unsigned value);

/* Starts monitoring socket (borrowed; must outlive the monitor) and opens
 * the reading end in ctx (handshake events and DISCONNECTED). name labels the log lines ("intake",
 * ...). NULL on failure (logged). */
wz_monitor_t *wz_monitor_new(void *ctx, void *socket, const char *name, wz_log_t *log);
/* Stops monitoring and closes the reading end; accepts NULL, nulls the pointer. */
void wz_monitor_destroy(wz_monitor_t **self_p);
/* Registers the reading end with loop. 0 or -1. */
int wz_monitor_attach(wz_monitor_t *self, wz_loop_t *loop);
/* Hands every event, after counting, to fn(arg, ...) as well; fn NULL stops
 * that. One receiver: libzmq allows one monitor per socket, so a module that
 * needs connection events (notification ends sessions on DISCONNECTED)
 * shares this one instead of replacing it. */
void wz_monitor_forward(wz_monitor_t *self, wz_monitor_fn fn, void *arg);
/* Reads every pending event without blocking; returns how many. The loop
 * does this when attached; a module that must see connection events before
 * it acts on a message calls it directly. */
int wz_monitor_drain(wz_monitor_t *self);
/* Counts handshakes in metrics (wz_handshakes_total) from now on; borrowed. */
void wz_monitor_metrics(wz_monitor_t *self, wz_metrics_t *metrics);
/* The same under another counter family (a WZ_M_* name, static). */
void wz_monitor_metrics_as(wz_monitor_t *self, wz_metrics_t *metrics, const char *family);
/* The counts so far. */
void wz_monitor_counts(const wz_monitor_t *self, wz_monitor_counts_t *out);

#endif
