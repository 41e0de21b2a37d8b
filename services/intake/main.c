/* wz-intake: the party command endpoint (CURVE ROUTER) and intake's event outbox. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "wz_intake.h"
#include "wz_zap.h"

static int s_heartbeat(wz_loop_t *loop, void *arg)
{
    (void)loop;
    wz_pub_heartbeat(arg);
    return 0;
}

int main(int argc, char **argv)
{
    volatile sig_atomic_t stop = 0;
    wz_runtime_t rt;
    int rc = wz_runtime_init(&rt, "intake", argc, argv, &stop);
    if (rc != 0) {
        wz_runtime_fini(&rt);
        return rc;
    }
    wz_runtime_signals(&stop);
    const wz_settings_t *s = &rt.settings;
    wz_keypair_t keys;
    wz_zap_t *zap = NULL;
    void *router = NULL;
    wz_pub_t *pub = NULL;
    wz_intake_t *intake = NULL;
    bool started = false;
    rc = 1;
    if (wz_runtime_server_keys(&rt, &keys) != 0) goto out;
    zap = wz_zap_new(rt.ctx, rt.policy, rt.log);
    router = zap ? zmq_socket(rt.ctx, ZMQ_ROUTER) : NULL;
    if (!router) goto out;
    int64_t max_size = s->max_message_bytes;
    int mandatory = 1, linger = 100;
    if (wz_zap_server(router, &keys) != 0 ||
        zmq_setsockopt(router, ZMQ_MAXMSGSIZE, &max_size, sizeof max_size) != 0 ||
        zmq_setsockopt(router, ZMQ_ROUTER_MANDATORY, &mandatory, sizeof mandatory) != 0 ||
        zmq_setsockopt(router, ZMQ_LINGER, &linger, sizeof linger) != 0)
        goto out;
    if (zmq_bind(router, s->intake.endpoint) != 0) {
        wz_log(rt.log, WZ_LOG_ERROR, "cannot bind", "endpoint", s->intake.endpoint, "error",
               zmq_strerror(errno), NULL);
        goto out;
    }
    pub = wz_pub_new(rt.ctx, rt.store, "intake", s->intake.publish, rt.log);
    if (!pub) goto out;
    char regions[512] = "";
    for (size_t i = 0; i < rt.policy->n_regions; i++) {
        if (wz_pub_add_region(pub, rt.policy->regions[i].id) != 0) goto out;
        if (i) strncat(regions, ",", sizeof regions - strlen(regions) - 1);
        strncat(regions, rt.policy->regions[i].id, sizeof regions - strlen(regions) - 1);
    }
    intake = wz_intake_new(&rt, router, pub);
    if (!intake || wz_loop_add_socket(rt.loop, router, wz_intake_on_router, intake) != 0 ||
        wz_loop_add_timer(rt.loop, s->heartbeat_ms, s_heartbeat, pub) < 0)
        goto out;
    started = true;
    wz_log(rt.log, WZ_LOG_INFO, "started", "endpoint", s->intake.endpoint, "publish",
           s->intake.publish, "regions", regions, NULL);
    rc = wz_loop_run(rt.loop) == 0 ? 0 : 1;
    if (rc != 0) wz_log(rt.log, WZ_LOG_ERROR, "loop failed", "error", zmq_strerror(errno), NULL);
    /* The loop is single-threaded: whatever it was handling is finished. */
    wz_log(rt.log, WZ_LOG_INFO, "stopping", NULL);
out:
    if (!started)
        wz_log(rt.log, WZ_LOG_ERROR, "cannot start", "endpoint", s->intake.endpoint, NULL);
    wz_intake_destroy(&intake);
    wz_pub_destroy(&pub);
    if (router) zmq_close(router);
    wz_zap_destroy(&zap);
    wz_runtime_fini(&rt);
    return rc;
}
