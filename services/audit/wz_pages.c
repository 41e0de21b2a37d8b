/* wz_pages.c - /dashboard of the audit service (see wz_pages.h). */
#include "wz_pages.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "wz_dashboard.h"
#include "wz_http.h"
#include "wz_report.h"
#include "wz_shred.h"
#include "wz_store.h"
#include "wz_util.h"

#define BATCH 512
#define HTML "text/html; charset=utf-8"

/* A stream entry's field, or NULL. */
static const redisReply *s_field(const redisReply *fields, const char *name)
{
    if (!fields || fields->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        if (fields->element[i]->type == REDIS_REPLY_STRING &&
            strcmp(fields->element[i]->str, name) == 0 &&
            fields->element[i + 1]->type == REDIS_REPLY_STRING)
            return fields->element[i + 1];
    return NULL;
}

static int s_load_with(wz_runtime_t *rt, wz_shred_t *shred, const char *key, const char *region,
                       char *start, wz_report_t *report)
{
    for (;;) {
        redisReply *r = wz_store_cmd(rt->store, "XRANGE %s %s + COUNT %d", key, start, BATCH);
        if (!r)
            return -1;
        size_t rows = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
        for (size_t k = 0; k < rows; k++) {
            const redisReply *e = r->element[k];
            if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
                e->element[0]->type != REDIS_REPLY_STRING)
                continue;
            snprintf(start, 48, "(%s", e->element[0]->str);
            const redisReply *ev = s_field(e->element[1], "e");
            uint8_t *bytes = NULL;
            size_t n = 0;
            int got = ev ? wz_shred_read(shred, rt->store, region, (const uint8_t *)ev->str,
                                         ev->len, &bytes, &n)
                         : 1;
            int rc = got < 0 ? -1 : got == 0 ? wz_report_add_bytes(report, bytes, n) : 0;
            free(bytes);
            if (rc != 0) {
                freeReplyObject(r);
                return -1;
            }
        }
        freeReplyObject(r);
        if (rows < BATCH)
            return 0;
    }
}

/* Feeds region's chain into report. 0, or -1 when Redis failed. The read is
 * on the loop thread, in batches, with the store's command timeout. */
static int s_load(wz_runtime_t *rt, const char *region, wz_report_t *report)
{
    char key[256], start[48] = "-", err[512];
    if (wz_store_key(rt->store, key, sizeof key, region, "audit") != 0)
        return -1;
    /* Sealed entries are counted while their candidate's key exists; an
     * erased candidate's entries drop out of the figures. */
    wz_shred_t *shred = wz_shred_new(rt->settings.keys_dir, false, err, sizeof err);
    int rc = s_load_with(rt, shred, key, region, start, report);
    wz_shred_destroy(&shred);
    return rc;
}

static unsigned s_page(void *arg, const char *url, const char *region, char **body, size_t *len,
                       const char **type)
{
    wz_runtime_t *rt = arg;
    const char *page = url + strlen("/dashboard");
    if (*page == '/')
        page++;
    if (!region || !*region)
        region = rt->n_regions ? rt->regions[0] : "";
    if (!wz_policy_region(rt->policy, region))
        return 404;
    wz_report_t *report = wz_report_new(WZ_PERIOD_MONTH, rt->policy);
    if (!report)
        return 500;
    if (s_load(rt, region, report) != 0) {
        wz_log(rt->log, WZ_LOG_WARN, "dashboard: cannot read the audit stream", "region", region,
               "error", wz_store_errstr(rt->store), NULL);
        wz_report_destroy(&report);
        return 503;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    wz_dashboard_opts_t o = {rt->settings.audit.small_number,
                             (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000};
    size_t n = 0;
    *body = wz_dashboard_render(page, rt->policy, region, report, &o, &n);
    wz_report_destroy(&report);
    if (!*body)
        return n ? 500 : 404;
    *len = n;
    *type = HTML;
    return 200;
}

int wz_pages_attach(wz_runtime_t *rt, char *err, size_t errlen)
{
    if (!rt->http)
        return 0;
    char token[128] = "";
    const char *path = rt->settings.audit.dashboard_token_file;
    if (*path) {
        FILE *f = fopen(path, "r");
        if (!f) {
            snprintf(err, errlen, "audit.dashboard_token_file %s: %s", path, strerror(errno));
            return -1;
        }
        struct stat st;
        if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
            fclose(f);
            snprintf(err, errlen, "audit.dashboard_token_file %s: readable by others (chmod 600)",
                     path);
            return -1;
        }
        if (!fgets(token, sizeof token, f))
            token[0] = '\0';
        fclose(f);
        token[strcspn(token, "\r\n")] = '\0';
        if (strlen(token) < 16) {
            snprintf(err, errlen, "audit.dashboard_token_file %s: the token needs at least 16 "
                                  "characters",
                     path);
            return -1;
        }
    }
    int rc = 0;
    if (!token[0] && !wz_http_loopback(rt->http)) {
        /* Probes and metrics must keep working on an exposed port (nodes,
         * Kubernetes); only the pages stay off until a token is set. */
        snprintf(err, errlen, "the http port is not on 127.0.0.1 and audit.dashboard_token_file "
                              "is not set: the dashboard is off");
        rc = 1;
    } else if (wz_http_add_pages(rt->http, "/dashboard", token, s_page, rt, err, errlen) != 0) {
        rc = -1;
    }
    explicit_bzero(token, sizeof token);
    return rc;
}
