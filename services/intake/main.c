/* wz-intake: the party command endpoint (CURVE ROUTER) and intake's event outbox. */
#include <errno.h>
#include <zmq.h>

#include "wz_intake.h"

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
    wz_intake_t *intake = NULL;
    rc = 1;
    void *router = wz_runtime_serve(&rt, s->intake.endpoint);
    wz_pub_t *pub = router ? wz_runtime_publisher(&rt, s->intake.publish) : NULL;
    intake = pub ? wz_intake_new(&rt, router, pub) : NULL;
    if (!intake || wz_loop_add_socket(rt.loop, router, wz_intake_on_router, intake) != 0) {
        wz_log(rt.log, WZ_LOG_ERROR, "cannot start", "endpoint", s->intake.endpoint, NULL);
        goto out;
    }
    wz_log(rt.log, WZ_LOG_INFO, "started", "endpoint", s->intake.endpoint, "publish",
           s->intake.publish, "regions", rt.region_list, NULL);
    rc = wz_loop_run(rt.loop) == 0 ? 0 : 1;
    if (rc != 0)
        wz_log(rt.log, WZ_LOG_ERROR, "loop failed", "error", zmq_strerror(errno), NULL);
    else
        wz_runtime_drain(&rt);
    /* The loop is single-threaded: whatever it was handling is finished. */
    wz_log(rt.log, WZ_LOG_INFO, "stopping", NULL);
out:
    wz_intake_destroy(&intake);
    wz_runtime_fini(&rt);
    return rc;
}
