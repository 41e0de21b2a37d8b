/* wz_runtime.h - what every service main() sets up the same way: arguments,
 * settings, policy, logger, ZeroMQ context, Redis store and the reactor.
 * The stop flag and signal handlers stay in main (they are main's state). */
#ifndef WZ_RUNTIME_H_INCLUDED
#define WZ_RUNTIME_H_INCLUDED

#include <signal.h>

#include "wz_bus.h"
#include "wz_http.h"
#include "wz_keys.h"
#include "wz_log.h"
#include "wz_loop.h"
#include "wz_metrics.h"
#include "wz_monitor.h"
#include "wz_policy.h"
#include "wz_settings.h"
#include "wz_store.h"
#include "wz_zap.h"

/* Hands a module the policy that replaces the one it was given; the old one
 * stays valid until wz_runtime_fini, so borrowed pointers into it never dangle. */
typedef void (*wz_runtime_reload_fn)(void *arg, const wz_policy_t *policy);

#define WZ_RUNTIME_MAX_RELOAD 4

typedef struct {
    const char *service;      /* "intake", "matching", ... */
    const char *config_path;
    wz_settings_t settings;
    wz_policy_t *policy;
    wz_log_t *log;
    void *ctx;                /* ZeroMQ context */
    wz_store_t *store;
    wz_loop_t *loop;
    const char **regions;     /* every region id of the policy (borrowed strings) */
    size_t n_regions;
    char region_list[512];    /* the same, comma-separated, for log lines */
    wz_zap_t *zap;            /* set by wz_runtime_serve */
    void *router;             /* set by wz_runtime_serve */
    wz_monitor_t *monitor;    /* set by wz_runtime_serve: the router's handshakes */
    wz_pub_t *pub;            /* set by wz_runtime_publisher */
    wz_monitor_t *pub_monitor; /* internal_curve: the publisher's handshakes */
    wz_metrics_t *metrics;    /* this process's counters, shown on /metrics */
    wz_http_t *http;          /* health and metrics port; NULL when turned off */
    volatile sig_atomic_t reload; /* set by SIGHUP, handled by a timer on the loop */
    struct {
        wz_runtime_reload_fn fn;
        void *arg;
    } on_reload[WZ_RUNTIME_MAX_RELOAD];
    size_t n_on_reload;
    wz_sub_t *subs[4];        /* consumers in the readiness check (borrowed) */
    size_t n_subs;
    wz_policy_t **retired;    /* policies replaced by a reload, freed at fini */
    size_t n_retired;
    volatile sig_atomic_t *stop; /* main's stop flag (borrowed) */
} wz_runtime_t;

/* Parses argv (-c/--config PATH; default $WZ_CONFIG, else config/woonzorg.yaml;
 * -h/--help), loads settings and policy (party keys required), creates the
 * logger, metrics, context, store and loop (stopped by *stop), opens the
 * service's HTTP port (settings <service>.http; /readyz checks Redis) and
 * makes SIGHUP reload the policy. On failure prints one
 * readable line to stderr and returns the exit code to use (2 for usage and
 * config errors, 1 otherwise); 0 on success. */
int wz_runtime_init(wz_runtime_t *rt, const char *service, int argc, char **argv,
                    volatile sig_atomic_t *stop);
/* Opens the service's party endpoint: reads its key pair
 * (<keys_dir>/<service>.key), starts the ZAP handler, binds a CURVE ROUTER
 * (wz_server_router) and monitors its handshakes on the loop (refusals are
 * logged and counted). Owned by rt. Returns the router, or NULL (logged). */
void *wz_runtime_serve(wz_runtime_t *rt, const char *endpoint);
/* Creates the service's event producer on endpoint for every region, with a
 * heartbeat timer on the loop. With internal_curve the PUB is a CURVE server
 * (the service's key pair) that lets only the services' keys subscribe
 * (<keys_dir>/{intake,matching,notification,audit}.pub), and its
 * handshakes are counted (wz_event_handshakes_total) and refusals logged.
 * Owned by rt. NULL on failure (logged). */
wz_pub_t *wz_runtime_publisher(wz_runtime_t *rt, const char *endpoint);
/* Makes sub count its events in rt's metrics and adds "streams" (every
 * producer heard from within 3 heartbeats, every cursor caught up) to the
 * readiness checks; applies the PUB/SUB high-water mark, dead-letter attempts
 * and the stop flag of rt, and with internal_curve makes its SUBs CURVE
 * clients with the service's key pair. Call before wz_sub_follow. 0 or -1. */
int wz_runtime_follow(wz_runtime_t *rt, wz_sub_t *sub);
/* Asks for fn(arg, new policy) on every applied policy reload (at most
 * WZ_RUNTIME_MAX_RELOAD). Modules that only look up parties need none: a
 * reload never changes the parties. 0 or -1. */
int wz_runtime_on_reload(wz_runtime_t *rt, wz_runtime_reload_fn fn, void *arg);
/* Reloads the policy file (what SIGHUP does): the new one must load and
 * validate, and keep the same regions and parties (ids, roles, keys), which
 * fix subscriptions and the ZAP handler's view: changing those needs a
 * restart. On success every on_reload callback gets the new policy and
 * rt->policy points to it; on failure nothing changes. Logs and counts the
 * outcome. 0 applied, -1 refused (reason in err when not NULL). */
int wz_runtime_reload(wz_runtime_t *rt, char *err, size_t errlen);
/* Keeps only the regions named in list ("zkij,almere", from a setting such
 * as matching.regions; "" keeps all) in rt->regions and rt->region_list,
 * for a replica that owns a shard of the regions. Call before
 * wz_runtime_publisher. 0, or -1 (logged) when a name is not a region of
 * the policy or the list names none. */
int wz_runtime_shard(wz_runtime_t *rt, const char *list);
/* After the loop stopped on SIGTERM/SIGINT: handles what already arrived
 * (requests, acknowledgements, events) for up to half of drain_ms, then lets
 * queued replies and publications leave for the rest of it when the sockets
 * close. Call before destroying consumers and before wz_runtime_fini. */
void wz_runtime_drain(wz_runtime_t *rt);
/* Tears everything down in reverse order; safe on a partly initialised rt.
 * Consumers (wz_sub) must be destroyed before, as they hold sockets. */
void wz_runtime_fini(wz_runtime_t *rt);
/* Reads this service's own key pair <keys_dir>/<service>.key. 0 or -1 (logged). */
int wz_runtime_server_keys(wz_runtime_t *rt, wz_keypair_t *out);
/* Installs SIGTERM/SIGINT handlers that set *flag (SA_RESTART off, so
 * zmq_poll returns EINTR) and ignores SIGPIPE. */
void wz_runtime_signals(volatile sig_atomic_t *flag);

#endif
