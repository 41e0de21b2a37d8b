/* wz-bench: how fast and how big, against a floor measured in the same run.
 * See docs/performance.md for what each figure means and how to read it. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#ifndef WZ_SOURCE_DIR
#define WZ_SOURCE_DIR "."
#endif

typedef struct {
    size_t n, m, window, census_n, match_samples;
    double rate;
    char match_sizes[256];
    char build_dir[PATH_MAX];
    char policy[PATH_MAX];
    const char *json_path;
    const char *log_level;
    bool keep, smoke, skip_match, match_only;
    int timeout_ms;
} s_opts_t;

typedef struct {
    bench_result_t res;
    double cpu[BENCH_SERVICES + 1]; /* services, then redis */
    double audited_s;               /* first publish to audit caught up */
    double redis_bytes_per_vacancy; /* used_memory growth / vacancies published */
    bool ok;
} s_run_t;

static void s_usage(FILE *f)
{
    fprintf(f, "usage: wz-bench [options]\n"
               "  --n N               vacancies per run (default 500)\n"
               "  --m M               candidates loaded for the end-to-end runs (default 10000)\n"
               "  --rate R            offered rate of the fixed-rate run, per second (default 10)\n"
               "  --window W          unfinished vacancies at most in the full-speed run (64)\n"
               "  --match-sizes LIST  candidates for the matching-time harness\n"
               "                      (default 1000,10000,100000,1000000)\n"
               "  --match-samples K   vacancies timed per size (default 200)\n"
               "  --no-match          skip the matching-time harness\n"
               "  --match-only        only the matching-time harness (for profiling)\n"
               "  --build DIR         where wz-intake etc. are (default: next to wz-bench)\n"
               "  --policy FILE       policy (default tools/bench/policy.yaml)\n"
               "  --json FILE         also write the JSON object there\n"
               "  --log-level L       the services' log level (default info)\n"
               "  --smoke             tiny run for CI: n 20, m 300, sizes 300,1000\n"
               "  --keep              keep the temp dir (logs, config)\n");
}

static int s_parse(int argc, char **argv, s_opts_t *o)
{
    *o = (s_opts_t){.n = 500,
                    .m = 10000,
                    .window = 64,
                    .census_n = 30,
                    .match_samples = 200,
                    .rate = 10,
                    .log_level = "info",
                    .timeout_ms = 30000};
    snprintf(o->match_sizes, sizeof o->match_sizes, "1000,10000,100000,1000000");
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[len > 0 ? len : 0] = '\0';
    snprintf(o->build_dir, sizeof o->build_dir, "%s", len > 0 ? dirname(exe) : ".");
    snprintf(o->policy, sizeof o->policy, "%s/tools/bench/policy.yaml", WZ_SOURCE_DIR);
    enum {
        O_N = 1,
        O_M,
        O_RATE,
        O_WINDOW,
        O_SIZES,
        O_SAMPLES,
        O_NOMATCH,
        O_MONLY,
        O_BUILD,
        O_POLICY,
        O_JSON,
        O_LOG,
        O_SMOKE,
        O_KEEP,
        O_HELP
    };
    static const struct option opts[] = {{"n", 1, 0, O_N},
                                         {"m", 1, 0, O_M},
                                         {"rate", 1, 0, O_RATE},
                                         {"window", 1, 0, O_WINDOW},
                                         {"match-sizes", 1, 0, O_SIZES},
                                         {"match-samples", 1, 0, O_SAMPLES},
                                         {"no-match", 0, 0, O_NOMATCH},
                                         {"match-only", 0, 0, O_MONLY},
                                         {"build", 1, 0, O_BUILD},
                                         {"policy", 1, 0, O_POLICY},
                                         {"json", 1, 0, O_JSON},
                                         {"log-level", 1, 0, O_LOG},
                                         {"smoke", 0, 0, O_SMOKE},
                                         {"keep", 0, 0, O_KEEP},
                                         {"help", 0, 0, O_HELP},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_N:
            o->n = strtoul(optarg, NULL, 10);
            break;
        case O_M:
            o->m = strtoul(optarg, NULL, 10);
            break;
        case O_RATE:
            o->rate = strtod(optarg, NULL);
            break;
        case O_WINDOW:
            o->window = strtoul(optarg, NULL, 10);
            break;
        case O_SIZES:
            snprintf(o->match_sizes, sizeof o->match_sizes, "%s", optarg);
            break;
        case O_SAMPLES:
            o->match_samples = strtoul(optarg, NULL, 10);
            break;
        case O_NOMATCH:
            o->skip_match = true;
            break;
        case O_MONLY:
            o->match_only = true;
            break;
        case O_BUILD:
            snprintf(o->build_dir, sizeof o->build_dir, "%s", optarg);
            break;
        case O_POLICY:
            snprintf(o->policy, sizeof o->policy, "%s", optarg);
            break;
        case O_JSON:
            o->json_path = optarg;
            break;
        case O_LOG:
            o->log_level = optarg;
            break;
        case O_SMOKE:
            o->smoke = true;
            o->n = 20;
            o->m = 300;
            o->census_n = 5;
            o->match_samples = 3;
            o->rate = 50;
            o->timeout_ms = 20000;
            snprintf(o->match_sizes, sizeof o->match_sizes, "300,1000");
            break;
        case O_KEEP:
            o->keep = true;
            break;
        case 'h':
        case O_HELP:
            s_usage(stdout);
            exit(0);
        default:
            s_usage(stderr);
            return -1;
        }
    }
    if (optind < argc || o->n == 0 || o->window == 0 || o->rate <= 0) {
        s_usage(stderr);
        return -1;
    }
    return 0;
}

static void s_cpu(const bench_env_t *env, double out[BENCH_SERVICES + 1])
{
    bench_proc_t p;
    for (int i = 0; i < BENCH_SERVICES; i++)
        out[i] = bench_proc_read(env->pids[i], &p) == 0 ? p.cpu_s : 0;
    out[BENCH_SERVICES] = bench_proc_read(env->redis_pid, &p) == 0 ? p.cpu_s : 0;
}

static double s_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One suite run (suite true) or floor run, with CPU deltas. */
static int s_run(bench_env_t *env, const s_opts_t *o, bench_target_t target, bool paced_rate,
                 size_t first, const bench_floor_t *floor, s_run_t *run)
{
    memset(run, 0, sizeof *run);
    double before[BENCH_SERVICES + 1] = {0}, after[BENCH_SERVICES + 1] = {0};
    long mem_before = -1;
    if (target == BENCH_SUITE) {
        s_cpu(env, before);
        redisContext *c = bench_env_redis(env);
        mem_before = c ? bench_redis_used_memory(c) : -1;
        if (c)
            redisFree(c);
    }
    bench_load_t load = {.target = target,
                         .n = o->n,
                         .rate = paced_rate ? o->rate : 0,
                         .window = o->window,
                         .first_index = first,
                         .timeout_ms = o->timeout_ms};
    const char *eps[2] = {floor ? floor->endpoint_in : NULL, floor ? floor->endpoint_out : NULL};
    fprintf(stderr, "bench: %s, %s, %zu vacancies\n", target == BENCH_SUITE ? "suite" : "floor",
            paced_rate ? "fixed rate" : "full speed", o->n);
    int rc = bench_drive(env, &load, eps, &run->res);
    if (rc == 0 && target == BENCH_SUITE) {
        rc = bench_wait_audit(env, o->timeout_ms);
        run->audited_s = s_wall() - run->res.wall_start;
        if (rc != 0)
            fprintf(stderr, "bench: audit did not catch up\n");
        s_cpu(env, after);
        redisContext *c = bench_env_redis(env);
        long mem_after = c ? bench_redis_used_memory(c) : -1;
        if (c)
            redisFree(c);
        /* 20 warm-up vacancies were published too */
        if (mem_before >= 0 && mem_after >= 0)
            run->redis_bytes_per_vacancy = (double)(mem_after - mem_before) / (double)(o->n + 20);
        for (int i = 0; i <= BENCH_SERVICES; i++)
            run->cpu[i] = after[i] - before[i];
    }
    run->ok = rc == 0 && run->res.completed == o->n && run->res.replies_bad == 0;
    return run->ok ? 0 : -1;
}

static void s_json_lat(FILE *f, const char *name, bench_samples_t *s, const char *tail)
{
    fprintf(f, "\"%s\": {\"n\": %zu, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f}%s", name,
            s->n, bench_pct(s, 0.5), bench_pct(s, 0.99), bench_max(s), tail);
}

static void s_json_run(FILE *f, const char *name, s_run_t *r, size_t n, bool suite,
                       const char *tail)
{
    fprintf(f, "    \"%s\": {\"completed\": %zu, \"elapsed_s\": %.3f, \"throughput_per_s\": %.1f, ",
            name, r->res.completed, r->res.elapsed_s, r->res.throughput);
    if (suite)
        fprintf(f,
                "\"audited_s\": %.3f, \"throughput_audited_per_s\": %.1f, "
                "\"redis_bytes_per_vacancy\": %.0f, ",
                r->audited_s, r->audited_s > 0 ? (double)r->res.completed / r->audited_s : 0.0,
                r->redis_bytes_per_vacancy);
    fprintf(f, "\"deliveries\": %zu,\n      ", r->res.deliveries);
    s_json_lat(f, "reply", &r->res.reply, ", ");
    s_json_lat(f, "proposal_to_care_provider", &r->res.proposal, ",\n      ");
    s_json_lat(f, "information", &r->res.info, ", ");
    s_json_lat(f, "every_delivery", &r->res.all, "");
    if (suite) {
        fprintf(f, ",\n      \"cpu_s_per_1000\": {");
        double total = 0;
        for (int i = 0; i <= BENCH_SERVICES; i++) {
            double per = r->cpu[i] / (double)n * 1000.0;
            total += per;
            fprintf(f, "\"%s\": %.3f, ", i < BENCH_SERVICES ? bench_service_names[i] : "redis",
                    per);
        }
        fprintf(f, "\"total\": %.3f}", total);
    }
    fprintf(f, "}%s\n", tail);
}

int main(int argc, char **argv)
{
    s_opts_t o;
    if (s_parse(argc, argv, &o) != 0)
        return 2;
    bench_env_t env;
    memset(&env, 0, sizeof env);
    env.keep = o.keep;
    int rc = 1;
    s_run_t suite_rate, suite_full, floor_rate, floor_full;
    memset(&suite_rate, 0, sizeof suite_rate);
    memset(&suite_full, 0, sizeof suite_full);
    memset(&floor_rate, 0, sizeof floor_rate);
    memset(&floor_full, 0, sizeof floor_full);
    bench_census_t census;
    memset(&census, 0, sizeof census);
    bench_proc_t peak[BENCH_SERVICES + 1];
    memset(peak, 0, sizeof peak);
    bench_match_t match[8];
    size_t n_match = 0;
    bench_floor_t floor;
    memset(&floor, 0, sizeof floor);
    double t_start = bench_now_s();
    bool match_failed = false, report = false;
    char load_start[64] = "";
    FILE *ls = fopen("/proc/loadavg", "r");
    if (ls) {
        if (!fgets(load_start, sizeof load_start, ls))
            load_start[0] = '\0';
        fclose(ls);
        load_start[strcspn(load_start, "\n")] = '\0';
    }

    if (bench_env_start_redis(&env, o.build_dir, o.policy, o.log_level) != 0)
        goto out;
    size_t per_run = 20 + o.n; /* warm-up + measured */
    if (!o.match_only) {
        size_t needed = per_run * 2 + 20 + o.census_n;
        if (o.m < needed) {
            fprintf(stderr,
                    "bench: --m %zu is too few: every vacancy takes one candidate and "
                    "the runs publish %zu\n",
                    o.m, needed);
            goto out;
        }
        const char *regions[16];
        size_t n_regions = 0;
        for (size_t i = 0; i < env.policy->n_regions && n_regions < 16; i++)
            regions[n_regions++] = env.policy->regions[i].id;
        double t_seed = bench_now_s();
        if (bench_seed_candidates(&env, regions, n_regions, o.m) != 0)
            goto out;
        fprintf(stderr, "bench: %zu candidates made in %.1f s\n", o.m, bench_now_s() - t_seed);
        if (bench_env_start_services(&env) != 0)
            goto out;
        fprintf(stderr, "bench: %zu candidates over %zu regions, services up\n", o.m, n_regions);
        if (bench_census(&env, o.census_n, 1000000, &census) != 0)
            goto out;
        if (s_run(&env, &o, BENCH_SUITE, true, 2000000, NULL, &suite_rate) != 0 ||
            s_run(&env, &o, BENCH_SUITE, false, 3000000, NULL, &suite_full) != 0)
            goto out;
        for (int i = 0; i < BENCH_SERVICES; i++)
            bench_proc_read(env.pids[i], &peak[i]);
        bench_proc_read(env.redis_pid, &peak[BENCH_SERVICES]);
        if (bench_env_stop_services(&env) != 0)
            goto out;
        if (bench_floor_start(&floor, &env, &census) != 0)
            goto out;
        int frc = s_run(&env, &o, BENCH_FLOOR, true, 0, &floor, &floor_rate);
        if (frc == 0)
            frc = s_run(&env, &o, BENCH_FLOOR, false, 0, &floor, &floor_full);
        bench_floor_stop(&floor, NULL);
        if (frc != 0)
            goto out;
    }
    if (!o.skip_match) {
        char sizes[256];
        snprintf(sizes, sizeof sizes, "%s", o.match_sizes);
        for (char *save = NULL, *tok = strtok_r(sizes, ",", &save); tok && n_match < 8;
             tok = strtok_r(NULL, ",", &save)) {
            size_t m = strtoul(tok, NULL, 10);
            if (m == 0)
                continue;
            size_t samples = o.match_samples;
            if (bench_match(&env, m, samples, &match[n_match]) != 0) {
                fprintf(stderr, "bench: the matching harness failed at M=%zu\n", m);
                match_failed = true;
                break;
            }
            fprintf(stderr, "bench: matching at %zu: p50 %.3f ms, p99 %.3f ms\n", m,
                    match[n_match].p50_ms, match[n_match].p99_ms);
            n_match++;
        }
    }
    rc = match_failed ? 1 : 0;
    report = true;
out:
    bench_floor_stop(&floor, NULL);
    if (bench_env_stop(&env) != 0 && rc == 0)
        rc = 1;
    if (!report) {
        fprintf(stderr, "bench: failed\n");
        return rc ? rc : 1;
    }

    /* --- the report ------------------------------------------------------- */
    char *buf = NULL;
    size_t buflen = 0;
    FILE *f = open_memstream(&buf, &buflen);
    if (!f)
        return 1;
    double suite_p50 = bench_pct(&suite_rate.res.proposal, 0.5);
    double floor_p50 = bench_pct(&floor_rate.res.proposal, 0.5);
    double suite_p99 = bench_pct(&suite_rate.res.proposal, 0.99);
    double floor_p99 = bench_pct(&floor_rate.res.proposal, 0.99);
    /* Other work on the machine disturbs every timing: say how much. */
    char load_end[64] = "";
    FILE *la = fopen("/proc/loadavg", "r");
    if (la) {
        if (!fgets(load_end, sizeof load_end, la))
            load_end[0] = '\0';
        fclose(la);
        load_end[strcspn(load_end, "\n")] = '\0';
    }
    char host[128] = "";
    gethostname(host, sizeof host);
    fprintf(f, "{\n  \"host\": \"%s\", \"cpus\": %ld, \"smoke\": %s, \"wall_s\": %.1f,\n", host,
            sysconf(_SC_NPROCESSORS_ONLN), o.smoke ? "true" : "false", bench_now_s() - t_start);
    fprintf(f, "  \"loadavg_at_start\": \"%s\", \"loadavg_at_end\": \"%s\",\n", load_start,
            load_end);
    fprintf(f, "  \"n\": %zu, \"m\": %zu, \"offered_rate_per_s\": %.1f, \"window\": %zu,\n", o.n,
            o.m, o.rate, o.window);
    if (!o.match_only) {
        fprintf(f, "  \"redis_round_trips_per_vacancy\": {");
        double rt = 0, cmds = 0;
        for (int i = 0; i < BENCH_SERVICES; i++) {
            rt += census.per_vacancy[i];
            cmds += census.commands[i];
            fprintf(f, "\"%s\": %.1f, ", bench_service_names[i], census.per_vacancy[i]);
        }
        fprintf(f, "\"total\": %.1f, \"commands_total\": %.1f},\n", rt, cmds);
        fprintf(f, "  \"zeromq_hops_per_vacancy\": 15,\n");
        fprintf(f, "  \"suite\": {\n");
        s_json_run(f, "fixed_rate", &suite_rate, o.n, true, ",");
        s_json_run(f, "full_speed", &suite_full, o.n, true, ",");
        fprintf(f, "    \"peak_rss_kib\": {");
        for (int i = 0; i <= BENCH_SERVICES; i++)
            fprintf(f, "\"%s\": %ld%s", i < BENCH_SERVICES ? bench_service_names[i] : "redis",
                    peak[i].rss_peak_kib, i < BENCH_SERVICES ? ", " : "}\n");
        fprintf(f, "  },\n  \"floor\": {\n");
        s_json_run(f, "fixed_rate", &floor_rate, o.n, false, ",");
        s_json_run(f, "full_speed", &floor_full, o.n, false, "");
        fprintf(f, "  },\n");
        fprintf(
            f,
            "  \"latency_ratio\": %.2f, \"latency_ratio_p99\": %.2f, "
            "\"throughput_ratio\": %.3f,\n",
            floor_p50 > 0 ? suite_p50 / floor_p50 : 0, floor_p99 > 0 ? suite_p99 / floor_p99 : 0,
            floor_full.res.throughput > 0 ? suite_full.res.throughput / floor_full.res.throughput
                                          : 0);
    }
    fprintf(f, "  \"matching\": [");
    for (size_t i = 0; i < n_match; i++)
        fprintf(f,
                "%s\n    {\"m\": %zu, \"samples\": %zu, \"p50_ms\": %.3f, \"p99_ms\": %.3f, "
                "\"max_ms\": %.3f, \"redis_bytes_per_candidate\": %.0f, "
                "\"peak_rss_bytes_per_candidate\": %.0f, \"rss_bytes_per_candidate\": %.0f, "
                "\"view_bytes_per_candidate\": %.0f, \"record_bytes_per_candidate\": %.0f, "
                "\"load_s\": %.3f}",
                i ? "," : "", match[i].m, match[i].samples, match[i].p50_ms, match[i].p99_ms,
                match[i].max_ms, match[i].redis_bytes_per_candidate,
                match[i].peak_rss_bytes_per_candidate, match[i].rss_bytes_per_candidate,
                match[i].view_bytes_per_candidate, match[i].record_bytes_per_candidate,
                match[i].load_s);
    fprintf(f, "%s]%s\n}\n", n_match ? "\n  " : "",
            match_failed ? ",\n  \"matching_failed_at_next_size\": true" : "");
    fclose(f);
    fputs(buf, stdout);
    if (o.json_path) {
        FILE *jf = fopen(o.json_path, "w");
        if (!jf || fputs(buf, jf) < 0) {
            fprintf(stderr, "bench: cannot write %s: %s\n", o.json_path, strerror(errno));
            rc = 1;
        }
        if (jf)
            fclose(jf);
    }
    free(buf);

    /* The short table, on stderr so stdout stays one JSON object. */
    fprintf(stderr, "\n%-34s %12s %12s %8s\n", "", "suite", "floor", "ratio");
    if (!o.match_only) {
        fprintf(stderr, "%-34s %12.2f %12.2f %8.2f\n", "p50 publish->proposal (ms)", suite_p50,
                floor_p50, floor_p50 > 0 ? suite_p50 / floor_p50 : 0);
        fprintf(stderr, "%-34s %12.2f %12.2f %8.2f\n", "p99 publish->proposal (ms)", suite_p99,
                floor_p99, floor_p99 > 0 ? suite_p99 / floor_p99 : 0);
        fprintf(stderr, "%-34s %12.2f %12.2f\n", "max publish->any delivery (ms)",
                bench_max(&suite_rate.res.all), bench_max(&floor_rate.res.all));
        fprintf(stderr, "%-34s %12.1f %12.1f %8.3f\n", "full-speed vacancies/s",
                suite_full.res.throughput, floor_full.res.throughput,
                floor_full.res.throughput > 0
                    ? suite_full.res.throughput / floor_full.res.throughput
                    : 0);
        double total = 0;
        for (int i = 0; i <= BENCH_SERVICES; i++)
            total += suite_full.cpu[i];
        fprintf(stderr, "%-34s %12.2f\n", "CPU s per 1000 vacancies", total / (double)o.n * 1000);
        for (int i = 0; i <= BENCH_SERVICES; i++)
            fprintf(stderr, "  peak RSS %-23s %9ld KiB\n",
                    i < BENCH_SERVICES ? bench_service_names[i] : "redis", peak[i].rss_peak_kib);
    }
    for (size_t i = 0; i < n_match; i++)
        fprintf(stderr,
                "  matching at M=%-9zu p50 %9.3f ms  p99 %9.3f ms  max %9.3f ms  %6.0f bytes per "
                "candidate held\n",
                match[i].m, match[i].p50_ms, match[i].p99_ms, match[i].max_ms,
                match[i].rss_bytes_per_candidate);
    bench_result_free(&suite_rate.res);
    bench_result_free(&suite_full.res);
    bench_result_free(&floor_rate.res);
    bench_result_free(&floor_full.res);
    return rc;
}
