/* bench.h - the parts of wz-bench (tools/bench): a private installation
 * (redis-server and the four service binaries in a temp dir), candidate
 * seeding, a load driver that publishes vacancies and listens as the parties,
 * the floor (the same ZeroMQ hops and Redis round trips done by bare
 * processes), the round-trip census (MONITOR), and the matching harness.
 * main.c ties them together and prints the JSON object and the table. */
#ifndef BENCH_H_INCLUDED
#define BENCH_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

#include "wz_policy.h"
#include "wz_settings.h"

#define BENCH_SERVICES 4
extern const char *const bench_service_names[BENCH_SERVICES];

/* --- statistics -------------------------------------------------------------- */
typedef struct {
    double *v;
    size_t n, cap;
} bench_samples_t;

void bench_samples_add(bench_samples_t *s, double x);
void bench_samples_free(bench_samples_t *s);
/* Percentile q in [0,1] (nearest rank) of the samples; 0 when empty. Sorts. */
double bench_pct(bench_samples_t *s, double q);
double bench_max(const bench_samples_t *s);

/* --- the installation ---------------------------------------------------------- */
typedef struct {
    long rss_peak_kib; /* VmHWM */
    long rss_kib;      /* VmRSS */
    double cpu_s;      /* utime + stime */
} bench_proc_t;

typedef struct {
    char dir[256];          /* temp dir, removed by bench_env_stop unless keep */
    char config[512];       /* <dir>/config/woonzorg.yaml */
    char build_dir[512];    /* where wz-<service> are */
    wz_settings_t settings; /* loaded from config */
    wz_policy_t *policy;    /* with keys */
    int redis_port;
    pid_t redis_pid;
    pid_t pids[BENCH_SERVICES];
    int port_cursor; /* wz_proc_free_port's search position */
    bool keep;
} bench_env_t;

/* Creates the temp dir, starts redis-server on a free loopback port, writes
 * config (log_level as given) with free ports, copies policy_path, generates
 * every key. 0, or -1 with a message on stderr. */
int bench_env_start_redis(bench_env_t *env, const char *build_dir, const char *policy_path,
                          const char *log_level);
/* Starts the four services and waits until each logged "started". 0 or -1. */
int bench_env_start_services(bench_env_t *env);
/* SIGTERM to the services (waits), SIGKILL to anything left, then Redis;
 * removes the dir unless keep. Safe to call twice. Returns how many services
 * did not exit 0. */
int bench_env_stop(bench_env_t *env);
/* The services only (SIGTERM, wait); Redis stays. Returns how many did not exit 0. */
int bench_env_stop_services(bench_env_t *env);
/* A new blocking connection to the private Redis (NULL on failure). */
redisContext *bench_env_redis(const bench_env_t *env);
/* Redis's used_memory (INFO memory), or -1. */
long bench_redis_used_memory(redisContext *c);
/* Process figures of pid from /proc (0 on success). */
int bench_proc_read(pid_t pid, bench_proc_t *out);
double bench_now_s(void); /* monotonic seconds */

/* --- candidates ---------------------------------------------------------------- */
/* Makes m candidates as they are after registration and urgency (matching's
 * records written by wz_matching_apply on CandidateRegistered and
 * UrgencyGranted events, intake's candidate:<id>), spread over the regions
 * given; every one is eligible for the vacancies the driver publishes under
 * tools/bench/policy.yaml. 0 or -1. */
int bench_seed_candidates(bench_env_t *env, const char *const *regions, size_t n_regions, size_t m);

/* --- the load driver ------------------------------------------------------------ */
typedef enum { BENCH_SUITE, BENCH_FLOOR } bench_target_t;

typedef struct {
    bench_target_t target;
    size_t n;           /* vacancies */
    double rate;        /* offered per second; 0: full speed (window-limited) */
    size_t window;      /* full speed: at most this many vacancies unfinished */
    size_t first_index; /* vacancy ids B-<first_index + i>, unique per run */
    int timeout_ms;     /* give up on deliveries missing after this */
} bench_load_t;

typedef struct {
    size_t sent, completed, replies_ok, replies_bad;
    double elapsed_s;         /* first send to last completion */
    double throughput;        /* completed / elapsed_s */
    bench_samples_t reply;    /* publish -> reply (ms) */
    bench_samples_t proposal; /* publish -> proposal delivered to the care provider (ms) */
    bench_samples_t info;     /* publish -> each information delivery (municipality, corporation) */
    bench_samples_t all;      /* publish -> every delivery */
    size_t deliveries;
    double wall_start, wall_end; /* CLOCK_REALTIME around the measured part */
} bench_result_t;

/* Drives the installed suite (needs env) or the running floor (env used for
 * the floor's endpoints). 0, or -1 when the run could not be done. */
int bench_drive(bench_env_t *env, const bench_load_t *load, const char *floor_endpoints[2],
                bench_result_t *out);
void bench_result_free(bench_result_t *r);
/* Waits until audit's cursors reach every producer stream's end (all events
 * chained) or timeout. 0 when done. */
int bench_wait_audit(bench_env_t *env, int timeout_ms);

/* --- round trips ----------------------------------------------------------------- */
typedef struct {
    double per_vacancy[BENCH_SERVICES]; /* Redis round trips per vacancy, per service */
    double commands[BENCH_SERVICES];    /* Redis commands per vacancy, per service */
    size_t vacancies;
} bench_census_t;

/* Counts, with MONITOR, the Redis round trips each service makes for n
 * vacancies published one at a time (time-driven background work measured
 * over an idle second first and subtracted). 0 or -1. */
int bench_census(bench_env_t *env, size_t n, size_t first_index, bench_census_t *out);

/* --- the floor -------------------------------------------------------------------- */
typedef struct {
    pid_t pids[BENCH_SERVICES];
    char endpoint_in[64];  /* ROUTER of the intake stage */
    char endpoint_out[64]; /* ROUTER of the notification stage */
} bench_floor_t;

/* Forks the four stage processes, each doing the census's round trips per
 * message on its own Redis connection to env's Redis. 0 or -1. */
int bench_floor_start(bench_floor_t *f, bench_env_t *env, const bench_census_t *census);
void bench_floor_stop(bench_floor_t *f, bench_proc_t cpu[BENCH_SERVICES]);

/* --- the matching harness ------------------------------------------------------------ */
typedef struct {
    size_t m;
    size_t samples;
    double p50_ms, p99_ms, max_ms;
    double redis_bytes_per_candidate;    /* used_memory growth / m */
    double peak_rss_bytes_per_candidate; /* harness VmHWM growth, view + matching / m */
    double rss_bytes_per_candidate;      /* harness VmRSS growth over the load: what the
                                            view and its index hold for good, / m */
    double view_bytes_per_candidate;     /* what the view asks of malloc, / m */
    double record_bytes_per_candidate;   /* of which the packed records */
    double load_s;                       /* wz_matching_load: reading the view */
} bench_match_t;

/* Seeds m candidates into one region of env's (flushed) Redis and times
 * `samples` VacancyPublished applications by wz_matching_apply (commit left
 * out: the transaction is discarded, so every sample sees the same state). */
int bench_match(bench_env_t *env, size_t m, size_t samples, bench_match_t *out);

#endif
