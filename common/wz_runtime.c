/* wz_runtime.c - the common start-up and teardown of a service process. */
#include "wz_runtime.h"

#include "wz_acl.h"

#include "wz_server.h"
#include "wz_util.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <zmq.h>

#define DEFAULT_CONFIG "config/woonzorg.yaml"
/* How often the loop looks at the SIGHUP flag. */
#define RELOAD_CHECK_MS 250

static void s_on_hangup(int sig);
static volatile sig_atomic_t *s_reload_for_handler;

/* Readiness: Redis answers PING now. */
static int s_redis_ready(void *arg, char *why, size_t whylen)
{
    wz_store_t *store = arg;
    redisReply *r = wz_store_cmd(store, "PING");
    if (!r) {
        snprintf(why, whylen, "%s", wz_store_errstr(store));
        return -1;
    }
    freeReplyObject(r);
    return 0;
}

/* Readiness: every consumer heard its producers recently and is caught up.
 * Three heartbeats missed is a peer away, not a dropped packet. */
static int s_streams_ready(void *arg, char *why, size_t whylen)
{
    wz_runtime_t *rt = arg;
    for (size_t i = 0; i < rt->n_subs; i++)
        if (wz_sub_ready(rt->subs[i], 3 * rt->settings.heartbeat_ms + 500, why, whylen) != 0)
            return -1;
    return 0;
}

static int s_reload_timer(wz_loop_t *loop, void *arg)
{
    (void)loop;
    wz_runtime_t *rt = arg;
    if (rt->reload) {
        rt->reload = 0;
        wz_runtime_reload(rt, NULL, 0);
    }
    return 0;
}

static void s_usage(const char *service, FILE *out)
{
    fprintf(out,
            "usage: wz-%s [-c CONFIG]\n"
            "  -c, --config PATH  settings file (default: $WZ_CONFIG, else %s)\n"
            "  -h, --help         this text\n"
            "WZ_* environment variables override single settings, e.g. WZ_REDIS_PORT.\n"
            "Logs are JSON lines on stderr. SIGTERM or SIGINT stop it cleanly.\n",
            service, DEFAULT_CONFIG);
}

int wz_runtime_init(wz_runtime_t *rt, const char *service, int argc, char **argv,
                    volatile sig_atomic_t *stop)
{
    memset(rt, 0, sizeof *rt);
    rt->service = service;
    rt->stop = stop;
    rt->config_path = getenv("WZ_CONFIG") ? getenv("WZ_CONFIG") : DEFAULT_CONFIG;
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) {
            rt->config_path = argv[++i];
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            s_usage(service, stdout);
            return 2;
        } else {
            fprintf(stderr, "wz-%s: unknown argument '%s'\n", service, argv[i]);
            s_usage(service, stderr);
            return 2;
        }
    }
    char err[512];
    if (wz_settings_load(&rt->settings, rt->config_path, err, sizeof err) != 0) {
        fprintf(stderr, "wz-%s: %s\n", service, err);
        return 2;
    }
    if (wz_acl_login(&rt->settings.redis, rt->settings.keys_dir, service, err, sizeof err) != 0) {
        fprintf(stderr, "wz-%s: redis.acl_users: %s (the local run and the tests make it)\n",
                service, err);
        return 2;
    }
    wz_log_level_t level = WZ_LOG_INFO;
    wz_log_level_parse(rt->settings.log_level, &level);
    rt->log = wz_log_new(service, level, stderr);
    if (!rt->log)
        return 1;
    rt->policy =
        wz_policy_load(rt->settings.policy_path, rt->settings.keys_dir, true, err, sizeof err);
    if (!rt->policy) {
        fprintf(stderr, "wz-%s: %s\n", service, err);
        return 2;
    }
    rt->n_regions = rt->policy->n_regions;
    rt->regions = calloc(rt->n_regions ? rt->n_regions : 1, sizeof *rt->regions);
    if (!rt->regions)
        return 1;
    for (size_t i = 0; i < rt->n_regions; i++) {
        rt->regions[i] = rt->policy->regions[i].id;
        size_t used = strlen(rt->region_list);
        snprintf(rt->region_list + used, sizeof rt->region_list - used, "%s%s", i ? "," : "",
                 rt->regions[i]);
    }
    rt->ctx = zmq_ctx_new();
    rt->metrics = wz_metrics_new(service);
    rt->store = wz_store_new(&rt->settings.redis, rt->log);
    rt->loop = wz_loop_new(stop);
    if (!rt->ctx || !rt->metrics || !rt->store || !rt->loop ||
        wz_loop_add_timer(rt->loop, RELOAD_CHECK_MS, s_reload_timer, rt) < 0) {
        fprintf(stderr, "wz-%s: out of resources at start-up\n", service);
        return 1;
    }
    wz_store_set_metrics(rt->store, rt->metrics);
    const char *http = wz_settings_http(&rt->settings, service);
    if (http && *http) {
        rt->http = wz_http_new(http, rt->metrics, rt->log, err, sizeof err);
        if (!rt->http || wz_http_add_check(rt->http, "redis", s_redis_ready, rt->store) != 0 ||
            wz_http_attach(rt->http, rt->loop) != 0) {
            wz_log(rt->log, WZ_LOG_ERROR, "cannot open the http port", "address", http, "error",
                   rt->http ? "out of resources" : err, NULL);
            return 1;
        }
    }
    /* SIGHUP's default would end the process; from here on it reloads. */
    s_reload_for_handler = &rt->reload;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_hangup;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);
    return 0;
}

/* The services whose keys may use the internal endpoints. */
static const char *const s_services[] = {"intake", "matching", "notification", "audit"};

/* The ZAP handler of the process, started once; with internal_curve it
 * knows the services' public keys. 0 or -1 (logged). */
static int s_zap(wz_runtime_t *rt)
{
    if (rt->zap)
        return 0;
    rt->zap = wz_zap_new(rt->ctx, rt->policy, rt->log);
    if (!rt->zap)
        return -1;
    for (size_t i = 0; rt->settings.internal_curve && i < sizeof s_services / sizeof *s_services;
         i++) {
        char pub[WZ_KEY_Z85_LEN + 1], err[512];
        if (wz_keys_read_public(rt->settings.keys_dir, s_services[i], pub, err, sizeof err) != 0 ||
            wz_zap_allow_service(rt->zap, s_services[i], pub) != 0) {
            wz_log(rt->log, WZ_LOG_ERROR, "internal_curve: cannot read a service's public key",
                   "service", s_services[i], "error", err, NULL);
            return -1;
        }
    }
    return 0;
}

int wz_runtime_follow(wz_runtime_t *rt, wz_sub_t *sub)
{
    if (rt->n_subs == sizeof rt->subs / sizeof rt->subs[0])
        return -1;
    if (rt->settings.internal_curve) {
        wz_keypair_t keys;
        if (wz_runtime_server_keys(rt, &keys) != 0)
            return -1;
        int rc = wz_sub_set_curve(sub, &keys, rt->settings.keys_dir);
        sodium_memzero(&keys, sizeof keys);
        if (rc != 0)
            return -1;
    }
    wz_sub_set_metrics(sub, rt->metrics);
    /* The guarantees' settings (docs/guarantees.md), before any wz_sub_follow. */
    wz_sub_set_hwm(sub, rt->settings.pubsub_hwm, rt->settings.pubsub_buffer);
    wz_sub_set_dead_letter(sub, rt->settings.dead_letter_attempts, NULL, NULL);
    /* Dead letters live as long as the records they may hold data of, but at
     * least a day (a retention of 0 days purges at once): an operator needs
     * the time to look at one. */
    int keep_days =
        rt->settings.retention.candidate_days > 0 ? rt->settings.retention.candidate_days : 1;
    wz_sub_set_dead_letter_retention(sub, (int64_t)keep_days * 24 * 3600 * 1000);
    wz_sub_set_stop(sub, rt->stop);
    rt->subs[rt->n_subs++] = sub;
    if (rt->n_subs > 1 || !rt->http)
        return 0;
    return wz_http_add_check(rt->http, "streams", s_streams_ready, rt);
}

int wz_runtime_shard(wz_runtime_t *rt, const char *list)
{
    if (!list || !*list)
        return 0;
    char copy[512];
    snprintf(copy, sizeof copy, "%s", list);
    /* Chosen into a new array, so that a refused list changes nothing. */
    const char **chosen = calloc(rt->n_regions ? rt->n_regions : 1, sizeof *chosen);
    if (!chosen)
        return -1;
    size_t kept = 0;
    char *save = NULL;
    for (char *name = strtok_r(copy, ", ", &save); name; name = strtok_r(NULL, ", ", &save)) {
        const char *found = NULL;
        for (size_t i = 0; i < rt->n_regions && !found; i++)
            if (strcmp(rt->regions[i], name) == 0)
                found = rt->regions[i];
        if (!found) {
            wz_log(rt->log, WZ_LOG_ERROR, "shard names a region the policy does not have", "region",
                   name, "shard", list, "regions", rt->region_list, NULL);
            free(chosen);
            return -1;
        }
        bool dup = false;
        for (size_t i = 0; i < kept; i++)
            dup |= chosen[i] == found;
        if (!dup)
            chosen[kept++] = found;
    }
    if (kept == 0) {
        wz_log(rt->log, WZ_LOG_ERROR, "shard names no region", "shard", list, NULL);
        free(chosen);
        return -1;
    }
    free(rt->regions);
    rt->regions = chosen;
    rt->n_regions = kept;
    rt->region_list[0] = '\0';
    for (size_t i = 0; i < kept; i++) {
        size_t used = strlen(rt->region_list);
        snprintf(rt->region_list + used, sizeof rt->region_list - used, "%s%s", i ? "," : "",
                 rt->regions[i]);
    }
    return 0;
}

int wz_runtime_on_reload(wz_runtime_t *rt, wz_runtime_reload_fn fn, void *arg)
{
    if (rt->n_on_reload == WZ_RUNTIME_MAX_RELOAD)
        return -1;
    rt->on_reload[rt->n_on_reload].fn = fn;
    rt->on_reload[rt->n_on_reload].arg = arg;
    rt->n_on_reload++;
    return 0;
}

/* Why fresh cannot replace live without a restart, or "" when it can. */
static void s_incompatible(const wz_policy_t *live, const wz_policy_t *fresh, char *why,
                           size_t whylen)
{
    why[0] = '\0';
    if (live->n_regions != fresh->n_regions) {
        snprintf(why, whylen, "the regions changed (%zu, now %zu)", live->n_regions,
                 fresh->n_regions);
        return;
    }
    for (size_t i = 0; i < live->n_regions; i++)
        if (strcmp(live->regions[i].id, fresh->regions[i].id) != 0) {
            snprintf(why, whylen, "region %s changed", live->regions[i].id);
            return;
        }
    if (live->n_parties != fresh->n_parties) {
        snprintf(why, whylen, "the parties changed (%zu, now %zu)", live->n_parties,
                 fresh->n_parties);
        return;
    }
    for (size_t i = 0; i < live->n_parties; i++) {
        const wz_party_t *a = &live->parties[i], *b = &fresh->parties[i];
        if (strcmp(a->id, b->id) != 0 || a->role != b->role || strcmp(a->region, b->region) != 0 ||
            strcmp(a->municipality, b->municipality) != 0 ||
            strcmp(a->public_key, b->public_key) != 0) {
            snprintf(why, whylen, "party %s changed (id, role, region, municipality or key)",
                     a->id);
            return;
        }
    }
}

int wz_runtime_reload(wz_runtime_t *rt, char *err, size_t errlen)
{
    char why[512];
    wz_policy_t *fresh =
        wz_policy_load(rt->settings.policy_path, rt->settings.keys_dir, true, why, sizeof why);
    if (fresh) {
        s_incompatible(rt->policy, fresh, why, sizeof why);
        if (why[0]) {
            size_t n = strlen(why);
            snprintf(why + n, sizeof why - n, "; a restart is needed for that");
        }
    }
    wz_policy_t **grown = NULL;
    if (fresh && !why[0]) {
        grown = realloc(rt->retired, (rt->n_retired + 1) * sizeof *grown);
        if (!grown)
            snprintf(why, sizeof why, "out of memory");
    }
    if (!fresh || why[0]) {
        wz_policy_destroy(&fresh);
        wz_log(rt->log, WZ_LOG_ERROR, "policy reload refused; the current policy stays", "file",
               rt->settings.policy_path, "error", why, "version", rt->policy->version, NULL);
        wz_metrics_add(rt->metrics, WZ_M_POLICY_RELOADS, "refused", NULL, 1);
        if (err)
            snprintf(err, errlen, "%s", why);
        return -1;
    }
    rt->retired = grown;
    rt->retired[rt->n_retired++] = rt->policy;
    char old_version[sizeof rt->policy->version];
    memcpy(old_version, rt->policy->version, sizeof old_version);
    rt->policy = fresh;
    for (size_t i = 0; i < rt->n_on_reload; i++)
        rt->on_reload[i].fn(rt->on_reload[i].arg, fresh);
    wz_log(rt->log, WZ_LOG_INFO, "policy reloaded", "file", rt->settings.policy_path, "version",
           fresh->version, "previous", old_version, NULL);
    wz_metrics_add(rt->metrics, WZ_M_POLICY_RELOADS, "applied", NULL, 1);
    return 0;
}

static int s_heartbeat(wz_loop_t *loop, void *arg)
{
    (void)loop;
    wz_pub_heartbeat(arg);
    return 0;
}

void *wz_runtime_serve(wz_runtime_t *rt, const char *endpoint)
{
    wz_keypair_t keys;
    if (wz_runtime_server_keys(rt, &keys) != 0)
        return NULL;
    /* The ZAP handler must run before a CURVE socket binds, or the socket
     * would encrypt but accept any client. */
    if (s_zap(rt) == 0)
        rt->router =
            wz_server_router(rt->ctx, &keys, endpoint, rt->settings.max_message_bytes, rt->log);
    sodium_memzero(keys.secret_z85, sizeof keys.secret_z85);
    if (!rt->router)
        return NULL;
    rt->monitor = wz_monitor_new(rt->ctx, rt->router, rt->service, rt->log);
    if (!rt->monitor || wz_monitor_attach(rt->monitor, rt->loop) != 0)
        return NULL;
    wz_monitor_metrics(rt->monitor, rt->metrics);
    return rt->router;
}

/* Who follows whose outbox (see docs/architecture.md): a stream is trimmed
 * only below all of its consumers' cursors. */
static const struct {
    const char *producer;
    const char *consumers[3];
    size_t n;
} s_topology[] = {
    {"intake", {"matching", "notification", "audit"}, 3},
    {"matching", {"notification", "audit"}, 2},
    {"notification", {"audit"}, 1},
};

wz_pub_t *wz_runtime_publisher(wz_runtime_t *rt, const char *endpoint)
{
    if (rt->settings.internal_curve) {
        /* The handler first: a CURVE server without one would take anyone. */
        wz_keypair_t keys;
        if (s_zap(rt) != 0 || wz_runtime_server_keys(rt, &keys) != 0)
            return NULL;
        rt->pub = wz_pub_new_curve(rt->ctx, rt->store, rt->service, endpoint,
                                   rt->settings.pubsub_hwm, rt->settings.pubsub_buffer, &keys,
                                   rt->log);
        sodium_memzero(&keys, sizeof keys);
        if (!rt->pub)
            return NULL;
        char name[64];
        snprintf(name, sizeof name, "%s events", rt->service);
        rt->pub_monitor = wz_monitor_new(rt->ctx, wz_pub_socket(rt->pub), name, rt->log);
        if (!rt->pub_monitor || wz_monitor_attach(rt->pub_monitor, rt->loop) != 0)
            return NULL;
        wz_monitor_metrics_as(rt->pub_monitor, rt->metrics, WZ_M_EVENT_HANDSHAKES);
    } else {
        rt->pub = wz_pub_new_hwm(rt->ctx, rt->store, rt->service, endpoint,
                                 rt->settings.pubsub_hwm, rt->settings.pubsub_buffer, rt->log);
    }
    if (!rt->pub)
        return NULL;
    wz_pub_set_metrics(rt->pub, rt->metrics);
    for (size_t i = 0; i < rt->n_regions; i++)
        if (wz_pub_add_region(rt->pub, rt->regions[i]) != 0)
            return NULL;
    for (size_t i = 0; i < sizeof s_topology / sizeof s_topology[0]; i++)
        if (strcmp(s_topology[i].producer, rt->service) == 0 &&
            wz_pub_set_consumers(rt->pub, s_topology[i].consumers, s_topology[i].n,
                                 rt->settings.trim_interval_ms) != 0)
            return NULL;
    if (wz_loop_add_timer(rt->loop, rt->settings.heartbeat_ms, s_heartbeat, rt->pub) < 0)
        return NULL;
    return rt->pub;
}

void wz_runtime_drain(wz_runtime_t *rt)
{
    int grace = rt->settings.drain_ms;
    int64_t start = wz_mono_ms();
    int handled = wz_loop_drain(rt->loop, grace / 2);
    int left = grace - (int)(wz_mono_ms() - start);
    int linger = left > 0 ? left : 0;
    if (rt->router)
        zmq_setsockopt(rt->router, ZMQ_LINGER, &linger, sizeof linger);
    if (rt->pub)
        wz_pub_set_linger(rt->pub, linger);
    char n[16], ms[16];
    snprintf(n, sizeof n, "%d", handled);
    snprintf(ms, sizeof ms, "%d", linger);
    wz_log(rt->log, WZ_LOG_INFO, "draining", "handled", n, "linger_ms", ms, NULL);
}

void wz_runtime_fini(wz_runtime_t *rt)
{
    if (s_reload_for_handler == &rt->reload) {
        signal(SIGHUP, SIG_IGN);
        s_reload_for_handler = NULL;
    }
    wz_http_destroy(&rt->http);
    wz_monitor_destroy(&rt->pub_monitor);
    wz_pub_destroy(&rt->pub);
    wz_monitor_destroy(&rt->monitor);
    if (rt->router) {
        zmq_close(rt->router);
        rt->router = NULL;
    }
    wz_zap_destroy(&rt->zap);
    wz_loop_destroy(&rt->loop);
    wz_store_destroy(&rt->store);
    if (rt->ctx) {
        zmq_ctx_term(rt->ctx);
        rt->ctx = NULL;
    }
    free(rt->regions);
    rt->regions = NULL;
    wz_policy_destroy(&rt->policy);
    for (size_t i = 0; i < rt->n_retired; i++)
        wz_policy_destroy(&rt->retired[i]);
    free(rt->retired);
    rt->retired = NULL;
    rt->n_retired = 0;
    wz_metrics_destroy(&rt->metrics);
    wz_log_destroy(&rt->log);
}

int wz_runtime_server_keys(wz_runtime_t *rt, wz_keypair_t *out)
{
    char err[512];
    if (wz_keys_read_secret(rt->settings.keys_dir, rt->service, out, err, sizeof err) != 0) {
        wz_log(rt->log, WZ_LOG_ERROR, "cannot read server key", "error", err, "hint",
               "run `wzctl keygen` for this service", NULL);
        return -1;
    }
    return 0;
}

/* The one process-wide pointer a signal handler needs (a handler gets no
 * context); set once by main before the loop starts, never changed after. */
static volatile sig_atomic_t *s_flag_for_handler;

static void s_on_hangup(int sig)
{
    (void)sig;
    if (s_reload_for_handler)
        *s_reload_for_handler = 1;
}

static void s_on_signal(int sig)
{
    (void)sig;
    if (s_flag_for_handler)
        *s_flag_for_handler = 1;
}

void wz_runtime_signals(volatile sig_atomic_t *flag)
{
    s_flag_for_handler = flag;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: zmq_poll must return EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}
