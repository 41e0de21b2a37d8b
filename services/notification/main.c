/* wz-notification: per-party mailboxes filled from intake's and matching's
 * events, served to parties on a CURVE ROUTER. */
#include <errno.h>
#include <zmq.h>

#include "wz_notification.h"
#include "wz_runtime.h"

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
    wz_notification_t *notification = NULL;
    wz_sub_t *sub = NULL;
    rc = 1;
    void *router = wz_runtime_serve(&rt, s->notification.endpoint);
    wz_pub_t *pub = router ? wz_runtime_publisher(&rt, s->notification.publish) : NULL;
    notification = pub ? wz_notification_new(rt.monitor, router, rt.store, pub, rt.policy,
                                              s->notification.max_in_flight,
                                              s->notification.session_timeout_ms, rt.log)
                       : NULL;
    sub = notification ? wz_sub_new(rt.ctx, rt.store, pub, "notification", wz_notification_apply,
                                    wz_notification_done, notification, rt.log)
                       : NULL;
    if (!sub || wz_runtime_follow(&rt, sub) != 0 ||
        wz_metrics_add_collector(rt.metrics, wz_notification_collect, notification) != 0 ||
        wz_sub_follow(sub, "intake", s->intake.publish, rt.regions, rt.n_regions) != 0 ||
        wz_sub_follow(sub, "matching", s->matching.publish, rt.regions, rt.n_regions) != 0 ||
        wz_sub_attach(sub, rt.loop, s->catch_up_ms) != 0 ||
        wz_notification_attach(notification, rt.loop) != 0) {
        wz_log(rt.log, WZ_LOG_ERROR, "cannot start", "endpoint", s->notification.endpoint, NULL);
        goto out;
    }
    /* What happened while we were away; with Redis away the catch-up timer
     * tries again. */
    if (wz_sub_catch_up(sub) != 0)
        wz_log(rt.log, WZ_LOG_WARN, "catch-up deferred", "error", wz_store_errstr(rt.store), NULL);
    wz_log(rt.log, WZ_LOG_INFO, "started", "endpoint", s->notification.endpoint, "publish",
           s->notification.publish, "regions", rt.region_list, NULL);
    rc = wz_loop_run(rt.loop) == 0 ? 0 : 1;
    if (rc != 0)
        wz_log(rt.log, WZ_LOG_ERROR, "loop failed", "error", zmq_strerror(errno), NULL);
    else
        wz_runtime_drain(&rt);
    wz_log(rt.log, WZ_LOG_INFO, "stopping", NULL);
out:
    wz_sub_destroy(&sub);
    wz_notification_destroy(&notification);
    wz_runtime_fini(&rt);
    return rc;
}
