/* bench_seed.c - candidates as they stand after registration and urgency:
 * the two events applied by matching's own code in the bench process, in
 * batched transactions (registering a million candidates through intake,
 * one CURVE request each, is not what the benchmark measures), plus
 * intake's copy of each; and percentiles. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "bench.h"
#include "wz_bus.h"
#include "wz_codec.h"
#include "wz_log.h"
#include "wz_matching.h"
#include "wz_store.h"

#define PIPELINE 2000

void bench_samples_add(bench_samples_t *s, double x)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        double *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return; /* a lost sample under OOM; the count shows it */
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = x;
}

void bench_samples_free(bench_samples_t *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_pct(bench_samples_t *s, double q)
{
    if (s->n == 0)
        return 0;
    qsort(s->v, s->n, sizeof *s->v, s_cmp);
    size_t rank = (size_t)(q * (double)s->n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > s->n)
        rank = s->n;
    return s->v[rank - 1];
}

double bench_max(const bench_samples_t *s)
{
    double m = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] > m)
            m = s->v[i];
    return m;
}

/* The parties of role in region, in policy order. */
static size_t s_parties(const wz_policy_t *p, const char *region, wz_role_t role,
                        const wz_party_t **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_parties && n < max; i++)
        if (p->parties[i].role == role && strcmp(p->parties[i].region, region) == 0)
            out[n++] = &p->parties[i];
    return n;
}

static int s_drain(redisContext *c, size_t pending)
{
    for (size_t i = 0; i < pending; i++) {
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) {
            fprintf(stderr, "bench: seeding: %s\n", c->errstr);
            return -1;
        }
        bool bad = r->type == REDIS_REPLY_ERROR;
        if (bad)
            fprintf(stderr, "bench: seeding: %s\n", r->str);
        freeReplyObject(r);
        if (bad)
            return -1;
    }
    return 0;
}

/* Candidate k of a region: who registered it, where, and since when. */
typedef struct {
    const wz_party_t *care_provider, *municipality;
    WzDate since;
} s_who_t;

static int s_who(const wz_policy_t *policy, const char *region, size_t k, s_who_t *out)
{
    const wz_party_t *cps[16], *munis[16];
    size_t n_cp = s_parties(policy, region, WZ_ROLE_CARE_PROVIDER, cps, 16);
    size_t n_mu = s_parties(policy, region, WZ_ROLE_MUNICIPALITY, munis, 16);
    if (!n_cp || !n_mu) {
        fprintf(stderr, "bench: region %s has no care provider or municipality party\n", region);
        return -1;
    }
    out->care_provider = cps[k % n_cp];
    out->municipality = munis[(k / n_cp) % n_mu];
    /* Granted over the last four years, so the ranking has work to do and
     * every urgency window (60 months in the bench policy) is open. */
    time_t t = time(NULL) - (time_t)(1 + k % 1460) * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    WzDate d = WOONZORG__V1__DATE__INIT;
    d.year = tm.tm_year + 1900;
    d.month = tm.tm_mon + 1;
    d.day = tm.tm_mday;
    out->since = d;
    return 0;
}

/* Applies one batch of events through matching in one transaction. */
static int s_apply_batch(wz_matching_t *matching, wz_store_t *store, wz_pub_t *pub,
                         const char *region, WzEvent *const *evs, size_t n)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        wz_txn_t *txn = wz_txn_begin(store, pub, region);
        if (!txn)
            return -1;
        int rc = 0;
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = wz_matching_apply(matching, txn, "intake", evs[i]);
        int committed = rc == 0 ? wz_txn_commit(txn) : -1;
        wz_txn_destroy(&txn);
        if (committed == 0)
            return 0;
        if (committed < 0)
            break;
    }
    fprintf(stderr, "bench: seeding through matching failed: %s\n", wz_store_errstr(store));
    return -1;
}

int bench_seed_candidates(bench_env_t *env, const char *const *regions, size_t n_regions, size_t m)
{
    enum { BATCH = 256 };
    const wz_policy_t *policy = env->policy;
    const char *prefix = env->settings.redis.prefix;
    redisContext *c = bench_env_redis(env);
    void *ctx = zmq_ctx_new();
    wz_log_t *log = wz_log_new("bench-seed", WZ_LOG_WARN, NULL);
    wz_redis_settings_t rs = env->settings.redis;
    rs.command_timeout_ms = 120000;
    wz_store_t *store = log ? wz_store_new(&rs, log) : NULL;
    wz_pub_t *pub = store ? wz_pub_new(ctx, store, "matching", "inproc://bench-seed", log) : NULL;
    wz_matching_t *matching = pub ? wz_matching_new(store, pub, policy, log) : NULL;
    int rc = matching && c ? 0 : -1;
    WzEvent *evs[BATCH];
    size_t pending = 0;
    for (size_t r = 0; r < n_regions && rc == 0; r++) {
        const char *region = regions[r];
        size_t count = m / n_regions + (r < m % n_regions);
        /* Twice over the region's candidates: registered, then urgency
         * granted, each through matching's own code so its records are
         * exactly what the service would have made of the two events. */
        for (int phase = 0; phase < 2 && rc == 0; phase++) {
            for (size_t done = 0; done < count && rc == 0; done += BATCH) {
                size_t n = count - done < BATCH ? count - done : BATCH;
                for (size_t i = 0; i < n; i++) {
                    size_t k = done + i;
                    s_who_t who;
                    if (s_who(policy, region, k, &who) != 0) {
                        rc = -1;
                        n = i;
                        break;
                    }
                    char id[32];
                    snprintf(id, sizeof id, "c%zu-%zu", r, k);
                    WzHousehold hh = WOONZORG__V1__HOUSEHOLD__INIT;
                    hh.adults = 1;
                    WzCandidate cand = WOONZORG__V1__CANDIDATE__INIT;
                    cand.id = id;
                    cand.care_provider = (char *)who.care_provider->id;
                    cand.region = (char *)region;
                    cand.municipality = (char *)who.municipality->municipality;
                    cand.group = (char *)"beschermd_wonen";
                    cand.household = &hh;
                    cand.age_band = WOONZORG__V1__AGE_BAND__AGE_BAND_ADULT;
                    cand.income_class = WOONZORG__V1__INCOME_CLASS__INCOME_CLASS_BELOW_LIMIT;
                    cand.consent = true;
                    Woonzorg__V1__CandidateRegistered reg =
                        WOONZORG__V1__CANDIDATE_REGISTERED__INIT;
                    Woonzorg__V1__UrgencyGranted ug = WOONZORG__V1__URGENCY_GRANTED__INIT;
                    WzEvent ev = WOONZORG__V1__EVENT__INIT;
                    ev.id = id;
                    ev.region = (char *)region;
                    if (phase == 0) {
                        reg.candidate = &cand;
                        ev.actor = (char *)who.care_provider->id;
                        ev.payload_case = WOONZORG__V1__EVENT__PAYLOAD_CANDIDATE_REGISTERED;
                        ev.candidate_registered = &reg;
                        /* intake's own copy, as intake stores a registration */
                        size_t len = 0;
                        uint8_t *bytes = wz_codec_pack(&cand.base, &len);
                        if (!bytes) {
                            rc = -1;
                            n = i;
                            break;
                        }
                        redisAppendCommand(c, "SET %s{%s}:candidate:%s %b", prefix, region, id,
                                           bytes, len);
                        free(bytes);
                        pending++;
                    } else {
                        ug.candidate_id = id;
                        ug.date = &who.since;
                        ev.actor = (char *)who.municipality->id;
                        ev.payload_case = WOONZORG__V1__EVENT__PAYLOAD_URGENCY_GRANTED;
                        ev.urgency_granted = &ug;
                    }
                    evs[i] = (WzEvent *)wz_codec_clone(&ev.base);
                    if (!evs[i]) {
                        rc = -1;
                        n = i;
                        break;
                    }
                }
                if (rc == 0)
                    rc = s_apply_batch(matching, store, pub, region, evs, n);
                for (size_t i = 0; i < n; i++)
                    WZ_FREE_UNPACKED(evs[i]);
                if (rc == 0 && pending >= PIPELINE) {
                    rc = s_drain(c, pending);
                    pending = 0;
                }
            }
        }
    }
    if (rc == 0 && pending)
        rc = s_drain(c, pending);
    wz_matching_destroy(&matching);
    wz_pub_destroy(&pub);
    wz_store_destroy(&store);
    wz_log_destroy(&log);
    zmq_ctx_term(ctx);
    if (c)
        redisFree(c);
    return rc;
}
