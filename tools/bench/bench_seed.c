/* bench_seed.c - candidates as they stand after registration and urgency,
 * written straight into Redis (registering a million candidates through
 * intake is not what the benchmark measures), and percentiles. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "wz_codec.h"

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

int bench_seed_candidates(redisContext *c, const wz_policy_t *policy, const char *prefix,
                          const char *const *regions, size_t n_regions, size_t m)
{
    size_t pending = 0;
    for (size_t i = 0; i < m; i++) {
        const char *region_id = regions[i % n_regions];
        const wz_region_t *region = wz_policy_region(policy, region_id);
        const wz_party_t *cps[16], *munis[16];
        size_t n_cp = region ? s_parties(policy, region_id, WZ_ROLE_CARE_PROVIDER, cps, 16) : 0;
        size_t n_mu = region ? s_parties(policy, region_id, WZ_ROLE_MUNICIPALITY, munis, 16) : 0;
        if (!n_cp || !n_mu) {
            fprintf(stderr, "bench: region %s has no care provider or municipality party\n",
                    region_id);
            return -1;
        }
        size_t k = i / n_regions;
        const wz_party_t *cp = cps[k % n_cp], *mu = munis[(k / n_cp) % n_mu];
        char id[32];
        snprintf(id, sizeof id, "c%zu", i);
        WzHousehold hh = WOONZORG__V1__HOUSEHOLD__INIT;
        hh.adults = 1;
        WzDate since = WOONZORG__V1__DATE__INIT;
        /* Spread over five years so the ranking has work to do. */
        since.year = 2020 + (int32_t)(k % 5);
        since.month = 1 + (int32_t)((k / 5) % 12);
        since.day = 1 + (int32_t)((k / 60) % 28);
        WzCandidate cand = WOONZORG__V1__CANDIDATE__INIT;
        cand.id = id;
        cand.care_provider = (char *)cp->id;
        cand.region = (char *)region_id;
        cand.municipality = (char *)mu->municipality;
        cand.group = policy->n_groups ? policy->groups[k % policy->n_groups] : (char *)"";
        cand.household = &hh;
        cand.age_band = WOONZORG__V1__AGE_BAND__AGE_BAND_ADULT;
        cand.income_class = WOONZORG__V1__INCOME_CLASS__INCOME_CLASS_BELOW_LIMIT;
        cand.consent = true;
        cand.urgency_date = &since;
        cand.urgency_by = (char *)mu->id;
        cand.state = WOONZORG__V1__CANDIDATE_STATE__CANDIDATE_STATE_ACTIVE;
        size_t len = 0;
        uint8_t *bytes = wz_codec_pack(&cand.base, &len);
        if (!bytes)
            return -1;
        redisAppendCommand(c, "SET %s{%s}:candidate:%s %b", prefix, region_id, id, bytes, len);
        redisAppendCommand(c, "SET %s{%s}:m:candidate:%s %b", prefix, region_id, id, bytes, len);
        redisAppendCommand(c, "SADD %s{%s}:m:candidates %s", prefix, region_id, id);
        pending += 3;
        free(bytes);
        if (pending >= PIPELINE) {
            if (s_drain(c, pending) != 0)
                return -1;
            pending = 0;
        }
    }
    return s_drain(c, pending);
}
