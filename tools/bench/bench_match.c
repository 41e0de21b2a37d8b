/* bench_match.c - matching time per vacancy at M candidates: the matching
 * service's own code (wz_matching_apply on a VacancyPublished event, as the
 * consumer calls it) against M candidates in Redis, timed from the call to
 * its return, after the candidates were read into matching's memory as the
 * service does at start (timed apart). The transaction is then discarded instead of committed, so
 * every sample sees the same candidates; the commit (one round trip) is not
 * part of "matching time" and is measured end to end by the suite run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "bench.h"
#include "wz_bus.h"
#include "wz_log.h"
#include "wz_matching.h"
#include "wz_store.h"

/* Resets this process's peak RSS (VmHWM) to its current RSS. */
static void s_reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

int bench_match(bench_env_t *env, size_t m, size_t samples, bench_match_t *out)
{
    memset(out, 0, sizeof *out);
    out->m = m;
    const wz_policy_t *policy = env->policy;
    const wz_region_t *region = &policy->regions[0];
    const char *regions[1] = {region->id};
    redisContext *c = bench_env_redis(env);
    if (!c)
        return -1;
    redisReply *r = redisCommand(c, "FLUSHALL");
    if (r)
        freeReplyObject(r);
    long before = bench_redis_used_memory(c);
    double t0 = bench_now_s();
    int rc = bench_seed_candidates(env, regions, 1, m);
    long after = bench_redis_used_memory(c);
    redisFree(c);
    if (rc != 0)
        return -1;
    fprintf(stderr, "bench: matching: %zu candidates seeded in %.1f s\n", m, bench_now_s() - t0);
    /* candidate:<id> is intake's copy; matching's own share is about half. */
    out->redis_bytes_per_candidate = (double)(after - before) / (double)m;

    void *ctx = zmq_ctx_new();
    wz_log_t *log = wz_log_new("bench-matching", WZ_LOG_WARN, NULL);
    /* The service's command timeout (2 s by default) is shorter than one
     * SMEMBERS of a million ids on a busy machine; the harness waits, so the
     * time is measured rather than a timeout (docs/performance.md). */
    wz_redis_settings_t rs = env->settings.redis;
    rs.command_timeout_ms = 120000;
    wz_store_t *store = wz_store_new(&rs, log);
    wz_pub_t *pub =
        store ? wz_pub_new(ctx, store, "matching", "inproc://bench-matching", log) : NULL;
    wz_matching_t *matching = pub ? wz_matching_new(store, pub, policy, log) : NULL;
    bench_samples_t ms = {0};
    rc = -1;
    if (!matching)
        goto out;
    const wz_municipality_t *mu = &region->municipalities[0];
    const char *corporation = "";
    for (size_t i = 0; i < policy->n_parties && !corporation[0]; i++)
        if (policy->parties[i].role == WZ_ROLE_CORPORATION &&
            strcmp(policy->parties[i].region, region->id) == 0)
            corporation = policy->parties[i].id;
    bench_proc_t proc;
    bench_proc_read(getpid(), &proc);
    long rss_before = proc.rss_kib;
    s_reset_peak();
    double l0 = bench_now_s();
    if (wz_matching_load(matching) != 0) {
        fprintf(stderr, "bench: matching could not load its candidates\n");
        goto out;
    }
    out->load_s = bench_now_s() - l0;
    bench_proc_read(getpid(), &proc);
    out->rss_bytes_per_candidate = (double)(proc.rss_kib - rss_before) * 1024.0 / (double)m;
    size_t records = 0;
    out->view_bytes_per_candidate =
        (double)wz_matching_view_bytes(matching, region->id, &records) / (double)m;
    out->record_bytes_per_candidate = (double)records / (double)m;
    fprintf(stderr, "bench: matching: %zu candidates read into memory in %.1f s\n",
            wz_matching_candidates(matching, region->id), out->load_s);
    for (size_t k = 0; k < samples; k++) {
        char id[32];
        snprintf(id, sizeof id, "MB-%zu", k);
        WzDate from = WOONZORG__V1__DATE__INIT;
        from.year = 2025;
        from.month = 12;
        from.day = 1;
        WzVacancy v = WOONZORG__V1__VACANCY__INIT;
        v.id = id;
        v.corporation = (char *)corporation;
        v.region = (char *)region->id;
        v.municipality = (char *)mu->id;
        v.neighbourhood = mu->n_neighbourhoods ? (char *)mu->neighbourhoods[0].code : (char *)"";
        v.rooms = 2;
        v.floor_area_m2 = 48;
        v.rent_cents = 61250;
        v.access = WOONZORG__V1__ACCESS__ACCESS_GROUND_FLOOR;
        v.available_from = &from;
        v.state = WOONZORG__V1__VACANCY_STATE__VACANCY_STATE_OPEN;
        Woonzorg__V1__VacancyPublished body = WOONZORG__V1__VACANCY_PUBLISHED__INIT;
        body.vacancy = &v;
        WzEvent ev = WOONZORG__V1__EVENT__INIT;
        ev.id = id;
        ev.region = (char *)region->id;
        ev.actor = (char *)"bench";
        ev.payload_case = WOONZORG__V1__EVENT__PAYLOAD_VACANCY_PUBLISHED;
        ev.vacancy_published = &body;
        wz_txn_t *txn = wz_txn_begin(store, pub, region->id);
        if (!txn)
            goto out;
        double t = bench_now_s();
        int applied = wz_matching_apply(matching, txn, "intake", &ev);
        double dt = (bench_now_s() - t) * 1000.0;
        size_t queued = wz_txn_size(txn);
        wz_txn_destroy(&txn);
        /* A match that proposes queues the proposal, deadline, tried and
         * open markers, the candidate, the vacancy and the event. */
        if (applied != 0 || queued < 5) {
            fprintf(stderr, "bench: matching did not propose (rc %d, %zu writes)\n", applied,
                    queued);
            goto out;
        }
        bench_samples_add(&ms, dt);
    }
    bench_proc_read(getpid(), &proc);
    out->peak_rss_bytes_per_candidate =
        (double)(proc.rss_peak_kib - rss_before) * 1024.0 / (double)m;
    out->samples = ms.n;
    out->max_ms = bench_max(&ms);
    out->p50_ms = bench_pct(&ms, 0.50);
    out->p99_ms = bench_pct(&ms, 0.99);
    rc = 0;
out:
    bench_samples_free(&ms);
    wz_matching_destroy(&matching);
    wz_pub_destroy(&pub);
    wz_store_destroy(&store);
    wz_log_destroy(&log);
    zmq_ctx_term(ctx);
    return rc;
}
