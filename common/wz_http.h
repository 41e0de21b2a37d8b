/* wz_http.h - the small HTTP port of a service, for its operators and
 * Kubernetes' probes (libmicrohttpd, no HTTP parsing of our own):
 *
 *   GET /healthz  200 "ok" while the process and its loop run (liveness:
 *                 never depends on Redis or peers)
 *   GET /readyz   200 "ready", or 503 with one line per failing check
 *                 (Redis reachable, peers heard from, streams caught up)
 *   GET /metrics  the wz_metrics text, Prometheus format 0.0.4
 *
 * The daemon runs without threads of its own: its epoll descriptor is one
 * more reader on the service's wz_loop, so requests are answered on the
 * loop thread, between two events, and may read metrics and Redis without
 * locks. A loop that is stuck therefore fails /healthz, which is what a
 * liveness probe is for. Anything else answers 404, other methods 405. */
#ifndef WZ_HTTP_H_INCLUDED
#define WZ_HTTP_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#include "wz_log.h"
#include "wz_loop.h"
#include "wz_metrics.h"

typedef struct wz_http_t wz_http_t;

/* A readiness check: returns 0 when ready, else -1 with a short reason in
 * why (no personal data: it is shown to anyone who can reach the port). */
typedef int (*wz_http_check_fn)(void *arg, char *why, size_t whylen);

/* Listens on addr ("host:port", see wz_settings_split_http; port 0 takes a
 * free one). metrics and log are borrowed and must outlive it. Returns NULL
 * with the reason in err (e.g. the port is taken). */
wz_http_t *wz_http_new(const char *addr, wz_metrics_t *metrics, wz_log_t *log, char *err,
                       size_t errlen);
/* Stops the daemon; accepts NULL and nulls the pointer. */
void wz_http_destroy(wz_http_t **self_p);
/* True when it listens on 127.0.0.1 only. */
bool wz_http_loopback(const wz_http_t *self);
/* The port it listens on (useful after port 0). */
int wz_http_port(const wz_http_t *self);
/* Adds a readiness check named name (at most 8; name is copied). 0 or -1. */
int wz_http_add_check(wz_http_t *self, const char *name, wz_http_check_fn fn, void *arg);
/* Runs every readiness check: 0 when all pass, else -1 with one
 * "name: reason" line per failing check in out (may be NULL). */
int wz_http_ready(wz_http_t *self, char *out, size_t outlen);
/* A page under a prefix: sets *body (malloc'd; wz_http frees it) with
 * *len and *type for url (the whole path) and the "region" query value (may
 * be NULL); returns the HTTP status. Runs on the loop thread. */
typedef unsigned (*wz_http_page_fn)(void *arg, const char *url, const char *region, char **body,
                                    size_t *len, const char **type);
/* Serves GET prefix and prefix/... with fn (one prefix per daemon). A
 * non-empty token (copied) is then required as "Authorization: Bearer
 * TOKEN" or "?token=TOKEN"; an address other than 127.0.0.1 without a token
 * is refused: -1 with the reason in err. 0 otherwise. */
int wz_http_add_pages(wz_http_t *self, const char *prefix, const char *token, wz_http_page_fn fn,
                      void *arg, char *err, size_t errlen);
/* Serves requests from loop: registers the daemon's descriptor and a timer
 * for its connection timeouts. 0 or -1. */
int wz_http_attach(wz_http_t *self, wz_loop_t *loop);

#endif
