/* wz-audit: chains every producer's events per region and answers
 * municipalities' audit queries on a CURVE ROUTER. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "wz_audit.h"
#include "wz_zap.h"

int main(int argc, char **argv)
{
    volatile sig_atomic_t stop = 0;
    wz_runtime_t rt;
    int rc = wz_runtime_init(&rt, "audit", argc, argv, &stop);
    if (rc != 0) {
        wz_runtime_fini(&rt);
        return rc;
    }
    wz_runtime_signals(&stop);
    const wz_settings_t *s = &rt.settings;
    wz_keypair_t keys;
    wz_zap_t *zap = NULL;
    void *router = NULL;
    wz_audit_t *audit = NULL;
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
    if (zmq_bind(router, s->audit.endpoint) != 0) {
        wz_log(rt.log, WZ_LOG_ERROR, "cannot bind", "endpoint", s->audit.endpoint, "error",
               zmq_strerror(errno), NULL);
        goto out;
    }
    audit = wz_audit_new(&rt, router);
    if (!audit || wz_audit_attach(audit, rt.loop) != 0) goto out;
    char regions[512] = "";
    for (size_t i = 0; i < rt.policy->n_regions; i++) {
        if (i) strncat(regions, ",", sizeof regions - strlen(regions) - 1);
        strncat(regions, rt.policy->regions[i].id, sizeof regions - strlen(regions) - 1);
    }
    started = true;
    wz_log(rt.log, WZ_LOG_INFO, "started", "endpoint", s->audit.endpoint, "regions", regions, NULL);
    rc = wz_loop_run(rt.loop) == 0 ? 0 : 1;
    if (rc != 0) wz_log(rt.log, WZ_LOG_ERROR, "loop failed", "error", zmq_strerror(errno), NULL);
    /* The loop is single-threaded: an event being chained was committed or not at all. */
    wz_log(rt.log, WZ_LOG_INFO, "stopping", NULL);
out:
    if (!started) wz_log(rt.log, WZ_LOG_ERROR, "cannot start", "endpoint", s->audit.endpoint, NULL);
    wz_audit_destroy(&audit);
    if (router) zmq_close(router);
    wz_zap_destroy(&zap);
    wz_runtime_fini(&rt);
    return rc;
}
