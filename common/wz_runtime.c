/* wz_runtime.c - the common start-up and teardown of a service process. */
#include "wz_runtime.h"

#include "wz_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <zmq.h>

#define DEFAULT_CONFIG "config/woonzorg.yaml"

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
    wz_log_level_t level = WZ_LOG_INFO;
    wz_log_level_parse(rt->settings.log_level, &level);
    rt->log = wz_log_new(service, level, stderr);
    if (!rt->log)
        return 1;
    rt->policy = wz_policy_load(rt->settings.policy_path, rt->settings.keys_dir, true, err,
                                sizeof err);
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
    rt->store = wz_store_new(&rt->settings.redis, rt->log);
    rt->loop = wz_loop_new(stop);
    if (!rt->ctx || !rt->store || !rt->loop) {
        fprintf(stderr, "wz-%s: out of resources at start-up\n", service);
        return 1;
    }
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
    rt->zap = wz_zap_new(rt->ctx, rt->policy, rt->log);
    if (rt->zap)
        rt->router = wz_server_router(rt->ctx, &keys, endpoint, rt->settings.max_message_bytes,
                                      rt->log);
    sodium_memzero(keys.secret_z85, sizeof keys.secret_z85);
    return rt->router;
}

wz_pub_t *wz_runtime_publisher(wz_runtime_t *rt, const char *endpoint)
{
    rt->pub = wz_pub_new(rt->ctx, rt->store, rt->service, endpoint, rt->log);
    if (!rt->pub)
        return NULL;
    for (size_t i = 0; i < rt->n_regions; i++)
        if (wz_pub_add_region(rt->pub, rt->regions[i]) != 0)
            return NULL;
    if (wz_loop_add_timer(rt->loop, rt->settings.heartbeat_ms, s_heartbeat, rt->pub) < 0)
        return NULL;
    return rt->pub;
}

void wz_runtime_fini(wz_runtime_t *rt)
{
    wz_pub_destroy(&rt->pub);
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
