/* wz_pages.c - /dashboard of the audit service (see wz_pages.h). */
#include "wz_pages.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "wz_dashboard.h"
#include "wz_codec.h"
#include "wz_http.h"
#include "wz_personal.h"
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

/* Feeds the entries of key after start into report and moves start past
 * them; *erasure is set when one of them is unreadable (its candidate was
 * erased) or erases a candidate: entries counted earlier may have dropped
 * out of the figures. 0, or -1 when Redis failed. */
static int s_load_with(wz_runtime_t *rt, wz_shred_t *shred, const char *key, const char *region,
                       char *start, wz_report_t *report, bool *erasure)
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
            if (got == 0 && !*erasure) {
                WzEvent *read = wz_event_unpack(bytes, n);
                *erasure = read && wz_personal_erases(read);
                WZ_FREE_UNPACKED(read);
            }
            *erasure |= got == 1;
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

/* A region's figures so far, and where its chain is to be read on. */
typedef struct {
    wz_report_t *report;      /* NULL: read the chain from its start */
    char after[48];           /* XRANGE start of what is new */
    unsigned long generation; /* of the store's connection it was read on */
} s_cache_t;

struct wz_pages_t {
    wz_runtime_t *rt;
    const wz_policy_t *policy; /* the one the figures were made with */
    s_cache_t *cache;          /* per region of that policy */
    size_t n_cache;
    /* Opens sealed entries while their candidate's key exists; NULL (no
     * audit data key) counts them as unreadable. */
    wz_shred_t *shred;
};

static void s_cache_drop(s_cache_t *c)
{
    wz_report_destroy(&c->report);
}

/* Figures are made with the policy (regions, schemes, contingents): a
 * reloaded one (SIGHUP) starts them afresh. 0, or -1 out of memory. */
static int s_follow_policy(wz_pages_t *self)
{
    const wz_policy_t *policy = self->rt->policy;
    if (self->cache && self->policy == policy)
        return 0;
    for (size_t r = 0; r < self->n_cache; r++)
        s_cache_drop(&self->cache[r]);
    free(self->cache);
    self->n_cache = 0;
    self->policy = policy;
    self->cache = calloc(policy->n_regions ? policy->n_regions : 1, sizeof *self->cache);
    if (!self->cache)
        return -1;
    self->n_cache = policy->n_regions;
    return 0;
}

/* The region's figures, brought up to date: only the entries chained since
 * the last request are read. After an erasure, or on another connection
 * (Redis restarted, maybe from an older file), the chain is read again from
 * its start. NULL when Redis failed. */
static wz_report_t *s_figures(wz_pages_t *self, size_t r)
{
    wz_runtime_t *rt = self->rt;
    const char *region = rt->policy->regions[r].id;
    s_cache_t *c = &self->cache[r];
    char key[256];
    if (wz_store_key(rt->store, key, sizeof key, region, "audit") != 0 ||
        wz_store_connect(rt->store) != 0) {
        s_cache_drop(c);
        return NULL;
    }
    unsigned long generation = wz_store_generation(rt->store);
    if (c->report && c->generation != generation)
        s_cache_drop(c);
    int rc = 0;
    for (int pass = 0; pass < 2; pass++) {
        bool fresh = !c->report, erasure = false;
        if (fresh) {
            c->report = wz_report_new(WZ_PERIOD_MONTH, rt->policy);
            snprintf(c->after, sizeof c->after, "-");
            c->generation = generation;
        }
        rc = c->report ? s_load_with(rt, self->shred, key, region, c->after, c->report, &erasure)
                       : -1;
        if (rc != 0 || (erasure && !fresh))
            s_cache_drop(c);
        else
            break;
    }
    return rc == 0 ? c->report : NULL;
}

static unsigned s_page(void *arg, const char *url, const char *region, char **body, size_t *len,
                       const char **type)
{
    wz_pages_t *self = arg;
    wz_runtime_t *rt = self->rt;
    const char *page = url + strlen("/dashboard");
    if (*page == '/')
        page++;
    if (!region || !*region)
        region = rt->n_regions ? rt->regions[0] : "";
    size_t r = 0;
    while (r < rt->policy->n_regions && strcmp(rt->policy->regions[r].id, region) != 0)
        r++;
    if (r == rt->policy->n_regions)
        return 404;
    if (s_follow_policy(self) != 0)
        return 500;
    wz_report_t *report = s_figures(self, r);
    if (!report) {
        wz_log(rt->log, WZ_LOG_WARN, "dashboard: cannot read the audit stream", "region", region,
               "error", wz_store_errstr(rt->store), NULL);
        return 503;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    wz_dashboard_opts_t o = {rt->settings.audit.small_number,
                             (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000};
    size_t n = 0;
    *body = wz_dashboard_render(page, rt->policy, region, report, &o, &n);
    if (!*body)
        return n ? 500 : 404;
    *len = n;
    *type = HTML;
    return 200;
}

void wz_pages_destroy(wz_pages_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    wz_pages_t *self = *self_p;
    for (size_t r = 0; self->cache && r < self->n_cache; r++)
        s_cache_drop(&self->cache[r]);
    free(self->cache);
    wz_shred_destroy(&self->shred);
    free(self);
    *self_p = NULL;
}

int wz_pages_attach(wz_runtime_t *rt, wz_pages_t **pages, char *err, size_t errlen)
{
    *pages = NULL;
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
    } else {
        wz_pages_t *self = calloc(1, sizeof *self);
        if (self) {
            self->rt = rt;
            /* Made by the audit service at its start, before the pages. */
            char why[512];
            self->shred = wz_shred_new(rt->settings.keys_dir, false, why, sizeof why);
        }
        if (!self || s_follow_policy(self) != 0) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        } else if (wz_http_add_pages(rt->http, "/dashboard", token, s_page, self, err, errlen) !=
                   0) {
            rc = -1;
        }
        if (rc == 0)
            *pages = self;
        else
            wz_pages_destroy(&self);
    }
    explicit_bzero(token, sizeof token);
    return rc;
}
