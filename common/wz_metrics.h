/* wz_metrics.h - a service's counters, gauges and one histogram, rendered in
 * the Prometheus text format (version 0.0.4) for the /metrics page.
 *
 * Every metric family is declared once, in the table in wz_metrics.c (name,
 * type, help, label names), so the exposition is the same for every service
 * and documented in docs/deploy.md. A series is a family plus its label
 * values, created on first use.
 *
 * Not thread-safe: a service updates and renders it from its loop thread only
 * (the HTTP port is served from the same loop, see wz_http.h). A NULL
 * metrics pointer is accepted everywhere and does nothing, so modules work
 * unchanged without one (unit tests). */
#ifndef WZ_METRICS_H_INCLUDED
#define WZ_METRICS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#include "wz_proto.h"

typedef struct wz_metrics_t wz_metrics_t;

/* Family names, so a typo is a compile error rather than a missing series. */
#define WZ_M_REQUESTS "wz_requests_total"                    /* {type, result} */
#define WZ_M_EVENTS_IN "wz_events_in_total"                  /* {producer, type} */
#define WZ_M_EVENTS_OUT "wz_events_out_total"                /* {type} */
#define WZ_M_CATCH_UPS "wz_catch_ups_total"                  /* {producer} */
#define WZ_M_MAILBOX_DEPTH "wz_mailbox_depth"                /* {party} */
#define WZ_M_MAILBOX_AGE "wz_mailbox_oldest_unacked_seconds" /* {party} */
#define WZ_M_SESSIONS "wz_sessions"                          /* {} */
#define WZ_M_PROPOSALS "wz_proposals_total"                  /* {outcome} */
#define WZ_M_MATCH_SECONDS "wz_matching_seconds"             /* histogram */
#define WZ_M_REDIS_ERRORS "wz_redis_errors_total"            /* {} */
#define WZ_M_POLICY_RELOADS "wz_policy_reloads_total"        /* {result} */
#define WZ_M_READY "wz_ready"                                /* {} 1 when /readyz says ready */
#define WZ_M_HANDSHAKES "wz_handshakes_total" /* {result}: succeeded, auth, protocol, other */
#define WZ_M_EVENT_HANDSHAKES "wz_event_handshakes_total" /* {result}, on the event PUB */

/* Called at the start of every rendering to refresh gauges that are cheaper
 * to read than to track (mailbox depths); arg is the collector's own. */
typedef void (*wz_metrics_collect_fn)(void *arg, wz_metrics_t *metrics);

/* Creates an empty set for service (the "service" label of wz_up). NULL on OOM. */
wz_metrics_t *wz_metrics_new(const char *service);
/* Destroys it; accepts NULL and nulls the pointer. */
void wz_metrics_destroy(wz_metrics_t **self_p);

/* Adds by (>= 0) to a counter series. label1 and label2 are the values of
 * the family's labels in declared order (NULL for a family with fewer).
 * An undeclared family or a wrong type is a programmer error (assert). */
void wz_metrics_add(wz_metrics_t *self, const char *family, const char *label1, const char *label2,
                    double by);
/* Sets a gauge series. */
void wz_metrics_set(wz_metrics_t *self, const char *family, const char *label1, double value);
/* Records one observation (in seconds) in a histogram. */
void wz_metrics_observe(wz_metrics_t *self, const char *family, double value);
/* The current value of a counter or gauge series (0 if it does not exist);
 * for tests and for the readiness page. */
double wz_metrics_get(const wz_metrics_t *self, const char *family, const char *label1,
                      const char *label2);

/* Counts one event that was applied (in = true; producer names the stream)
 * or committed on the service's own outbox (in = false): events by type and,
 * in the matching service, proposals by outcome (created, accepted,
 * declined, expired, cancelled, let). */
void wz_metrics_event(wz_metrics_t *self, bool in, const char *producer, const WzEvent *ev);
/* The snake_case name of an event's payload ("vacancy_published"), or "unknown". */
const char *wz_metrics_event_type(const WzEvent *ev);

/* Registers a collector (at most 8). 0 or -1. */
int wz_metrics_add_collector(wz_metrics_t *self, wz_metrics_collect_fn fn, void *arg);
/* Runs the collectors, then renders every series: "# HELP", "# TYPE" and
 * one line per series, families in table order. Returns a malloc'd,
 * NUL-terminated text (caller frees) with its length in *len, or NULL on OOM. */
char *wz_metrics_render(wz_metrics_t *self, size_t *len);

#endif
