/* wz-audit: chains every producer's events per region and answers
 * municipalities' audit queries on a CURVE ROUTER. */
#include <errno.h>
#include <zmq.h>

#include "wz_audit.h"
#include "wz_pages.h"

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
    wz_audit_t *audit = NULL;
    wz_pages_t *pages = NULL;
    rc = 1;
    void *router = wz_runtime_serve(&rt, s->audit.endpoint);
    audit = router ? wz_audit_new(&rt, router) : NULL;
    if (!audit || wz_audit_attach(audit, rt.loop) != 0) {
        wz_log(rt.log, WZ_LOG_ERROR, "cannot start", "endpoint", s->audit.endpoint, NULL);
        goto out;
    }
    char err[256];
    int dashboard = wz_pages_attach(&rt, &pages, err, sizeof err);
    if (dashboard < 0) {
        wz_log(rt.log, WZ_LOG_ERROR, "cannot serve the dashboard", "error", err, NULL);
        goto out;
    }
    if (dashboard > 0)
        wz_log(rt.log, WZ_LOG_WARN, "dashboard off", "reason", err, NULL);
    wz_log(rt.log, WZ_LOG_INFO, "started", "endpoint", s->audit.endpoint, "regions",
           rt.region_list, NULL);
    rc = wz_loop_run(rt.loop) == 0 ? 0 : 1;
    if (rc != 0)
        wz_log(rt.log, WZ_LOG_ERROR, "loop failed", "error", zmq_strerror(errno), NULL);
    else
        wz_runtime_drain(&rt);
    /* The loop is single-threaded: an event being chained was committed or not at all. */
    wz_log(rt.log, WZ_LOG_INFO, "stopping", NULL);
out:
    wz_audit_destroy(&audit);
    wz_runtime_fini(&rt); /* the HTTP port first: it serves from pages */
    wz_pages_destroy(&pages);
    return rc;
}
