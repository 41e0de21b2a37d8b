/* wz-matching: follows intake's events, proposes candidates for vacancies,
 * and expires proposals whose answer deadline passed. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "wz_matching.h"
#include "wz_runtime.h"

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
    int rc = wz_runtime_init(&rt, "matching", argc, argv, &stop);
    if (rc != 0) {
        wz_runtime_fini(&rt);
        return rc;
    }
    wz_runtime_signals(&stop);
    const wz_settings_t *s = &rt.settings;
    wz_pub_t *pub = NULL;
    wz_sub_t *sub = NULL;
    wz_matching_t *matching = NULL;
    const char **regions = NULL;
    bool started = false;
    rc = 1;

    pub = wz_pub_new(rt.ctx, rt.store, "matching", s->matching.publish, rt.log);
    if (!pub)
        goto out;
    size_t n_regions = rt.policy->n_regions;
    regions = calloc(n_regions ? n_regions : 1, sizeof *regions);
    if (!regions)
        goto out;
    char names[512] = "";
    for (size_t i = 0; i < n_regions; i++) {
        regions[i] = rt.policy->regions[i].id;
        if (wz_pub_add_region(pub, regions[i]) != 0)
            goto out;
        if (i)
            strncat(names, ",", sizeof names - strlen(names) - 1);
        strncat(names, regions[i], sizeof names - strlen(names) - 1);
    }
    matching = wz_matching_new(rt.store, pub, rt.policy, rt.log);
    sub = matching ? wz_sub_new(rt.ctx, rt.store, pub, "matching", wz_matching_apply, NULL,
                                matching, rt.log)
                   : NULL;
    if (!sub || wz_sub_follow(sub, "intake", s->intake.publish, regions, n_regions) != 0 ||
        wz_sub_attach(sub, rt.loop, s->catch_up_ms) != 0 ||
        wz_loop_add_timer(rt.loop, s->heartbeat_ms, s_heartbeat, pub) < 0 ||
        wz_loop_add_timer(rt.loop, s->matching.deadline_check_ms, wz_matching_on_timer,
                          matching) < 0)
        goto out;
    /* Whatever intake wrote while we were away; with Redis down the
     * catch-up timer tries again, so this is not a reason to stop. */
    if (wz_sub_catch_up(sub) != 0)
        wz_log(rt.log, WZ_LOG_WARN, "initial catch-up incomplete, will retry", "error",
               wz_store_errstr(rt.store), NULL);
    started = true;
    wz_log(rt.log, WZ_LOG_INFO, "started", "publish", s->matching.publish, "follows",
           s->intake.publish, "regions", names, NULL);
    rc = wz_loop_run(rt.loop) == 0 ? 0 : 1;
    if (rc != 0)
        wz_log(rt.log, WZ_LOG_ERROR, "loop failed", "error", zmq_strerror(errno), NULL);
    /* The loop is single-threaded: the event or expiry in hand is finished. */
    wz_log(rt.log, WZ_LOG_INFO, "stopping", NULL);
out:
    if (!started)
        wz_log(rt.log, WZ_LOG_ERROR, "cannot start", "publish", s->matching.publish, NULL);
    wz_sub_destroy(&sub);
    wz_matching_destroy(&matching);
    wz_pub_destroy(&pub);
    free(regions);
    wz_runtime_fini(&rt);
    return rc;
}
