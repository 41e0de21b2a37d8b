/* wz-notification: per-party mailboxes filled from intake's and matching's
 * events, served to parties on a CURVE ROUTER. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "wz_bus.h"
#include "wz_notification.h"
#include "wz_runtime.h"
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
    int rc = wz_runtime_init(&rt, "notification", argc, argv, &stop);
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
    wz_notification_t *notification = NULL;
    wz_sub_t *sub = NULL;
    const char **regions = NULL;
    bool started = false;
    rc = 1;
    if (wz_runtime_server_keys(&rt, &keys) != 0)
        goto out;
    /* The ZAP handler must run before the CURVE socket binds. */
    zap = wz_zap_new(rt.ctx, rt.policy, rt.log);
    if (!zap)
        goto out;
    router = wz_notification_router(rt.ctx, &keys, s->max_message_bytes, s->notification.endpoint,
                                    rt.log);
    if (!router)
        goto out;
    pub = wz_pub_new(rt.ctx, rt.store, "notification", s->notification.publish, rt.log);
    if (!pub)
        goto out;
    size_t n_regions = rt.policy->n_regions;
    regions = calloc(n_regions ? n_regions : 1, sizeof *regions);
    if (!regions)
        goto out;
    char region_list[512] = "";
    for (size_t i = 0; i < n_regions; i++) {
        regions[i] = rt.policy->regions[i].id;
        if (wz_pub_add_region(pub, regions[i]) != 0)
            goto out;
        if (i)
            strncat(region_list, ",", sizeof region_list - strlen(region_list) - 1);
        strncat(region_list, regions[i], sizeof region_list - strlen(region_list) - 1);
    }
    notification =
        wz_notification_new(rt.ctx, router, rt.store, pub, rt.policy, s->notification.max_in_flight,
                            s->notification.session_timeout_ms, rt.log);
    if (!notification)
        goto out;
    sub = wz_sub_new(rt.ctx, rt.store, pub, "notification", wz_notification_apply,
                     wz_notification_done, notification, rt.log);
    if (!sub || wz_sub_follow(sub, "intake", s->intake.publish, regions, n_regions) != 0 ||
        wz_sub_follow(sub, "matching", s->matching.publish, regions, n_regions) != 0 ||
        wz_sub_attach(sub, rt.loop, s->catch_up_ms) != 0 ||
        wz_notification_attach(notification, rt.loop) != 0 ||
        wz_loop_add_timer(rt.loop, s->heartbeat_ms, s_heartbeat, pub) < 0)
        goto out;
    /* What happened while we were away; with Redis away the catch-up timer
     * tries again. */
    if (wz_sub_catch_up(sub) != 0)
        wz_log(rt.log, WZ_LOG_WARN, "catch-up deferred", "error", wz_store_errstr(rt.store), NULL);
    started = true;
    wz_log(rt.log, WZ_LOG_INFO, "started", "endpoint", s->notification.endpoint, "publish",
           s->notification.publish, "regions", region_list, NULL);
    rc = wz_loop_run(rt.loop) == 0 ? 0 : 1;
    if (rc != 0)
        wz_log(rt.log, WZ_LOG_ERROR, "loop failed", "error", zmq_strerror(errno), NULL);
    wz_log(rt.log, WZ_LOG_INFO, "stopping", NULL);
out:
    if (!started)
        wz_log(rt.log, WZ_LOG_ERROR, "cannot start", "endpoint", s->notification.endpoint, NULL);
    wz_sub_destroy(&sub);
    wz_notification_destroy(&notification);
    wz_pub_destroy(&pub);
    if (router)
        zmq_close(router);
    wz_zap_destroy(&zap);
    free(regions);
    wz_runtime_fini(&rt);
    return rc;
}
