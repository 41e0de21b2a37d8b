/* wz-matching: follows intake's events, proposes candidates, runs the
 * answer deadlines, and publishes its own events. */
#include <errno.h>
#include <zmq.h>

#include "wz_matching.h"
#include "wz_runtime.h"

static void s_on_reload(void *arg, const wz_policy_t *policy)
{
    wz_matching_set_policy(arg, policy);
}

int main(int argc, char **argv)
{
    volatile sig_atomic_t stop = 0;
    wz_runtime_t rt;
    int rc = wz_runtime_init(&rt, "matching", argc, argv, &stop);
    if (rc != 0) {
        wz_runtime_fini(&rt);
        return rc;
    }
    wz_runtime_signals(&stop);
    const wz_settings_t *s = &rt.settings;
    wz_sub_t *sub = NULL;
    wz_matching_t *matching = NULL;
    rc = 1;
    /* A replica owns the regions of matching.regions (all by default). */
    if (wz_runtime_shard(&rt, s->matching.regions) != 0) {
        wz_runtime_fini(&rt);
        return 2;
    }
    wz_pub_t *pub = wz_runtime_publisher(&rt, s->matching.publish);
    matching = pub ? wz_matching_new(rt.store, pub, rt.policy, rt.log) : NULL;
    sub = matching ? wz_sub_new(rt.ctx, rt.store, pub, "matching", wz_matching_apply, NULL,
                                matching, rt.log)
                   : NULL;
    if (matching) {
        wz_matching_set_metrics(matching, rt.metrics);
        wz_matching_set_regions(matching, rt.regions, rt.n_regions);
        wz_matching_set_retention(matching, s->retention.candidate_days);
        wz_runtime_on_reload(&rt, s_on_reload, matching);
    }
    if (!sub || wz_runtime_follow(&rt, sub) != 0 || wz_sub_follow(sub, "intake", s->intake.publish, rt.regions, rt.n_regions) != 0 ||
        wz_sub_attach(sub, rt.loop, s->catch_up_ms) != 0 ||
        wz_loop_add_timer(rt.loop, s->matching.deadline_check_ms, wz_matching_on_timer,
                          matching) < 0) {
        wz_log(rt.log, WZ_LOG_ERROR, "cannot start", "publish", s->matching.publish, NULL);
        goto out;
    }
    /* Decisions run on the candidates in memory; a region Redis cannot
     * give now is read on its first decision. */
    if (wz_matching_load(matching) != 0)
        wz_log(rt.log, WZ_LOG_WARN, "candidates not loaded yet, will retry", "error",
               wz_store_errstr(rt.store), NULL);
    /* Whatever intake wrote while we were away; with Redis down the
     * catch-up timer tries again, so this is not a reason to stop. */
    if (wz_sub_catch_up(sub) != 0)
        wz_log(rt.log, WZ_LOG_WARN, "initial catch-up incomplete, will retry", "error",
               wz_store_errstr(rt.store), NULL);
    wz_log(rt.log, WZ_LOG_INFO, "started", "publish", s->matching.publish, "follows",
           s->intake.publish, "regions", rt.region_list, NULL);
    rc = wz_loop_run(rt.loop) == 0 ? 0 : 1;
    if (rc != 0)
        wz_log(rt.log, WZ_LOG_ERROR, "loop failed", "error", zmq_strerror(errno), NULL);
    else
        wz_runtime_drain(&rt);
    /* The loop is single-threaded: the event or expiry in hand is finished. */
    wz_log(rt.log, WZ_LOG_INFO, "stopping", NULL);
out:
    wz_sub_destroy(&sub);
    wz_matching_destroy(&matching);
    wz_runtime_fini(&rt);
    return rc;
}
