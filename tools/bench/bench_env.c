/* bench_env.c - a private installation for one benchmark run: redis-server
 * and the four release binaries in a temp dir, on free loopback ports. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "wz_keys.h"
#include "wz_proc.h"
#include "wz_util.h"

const char *const bench_service_names[BENCH_SERVICES] = {"intake", "matching", "notification",
                                                         "audit"};

double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int bench_proc_read(pid_t pid, bench_proc_t *out)
{
    memset(out, 0, sizeof *out);
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmHWM:", 6) == 0)
            out->rss_peak_kib = strtol(line + 6, NULL, 10);
        else if (strncmp(line, "VmRSS:", 6) == 0)
            out->rss_kib = strtol(line + 6, NULL, 10);
    }
    fclose(f);
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    char buf[1024];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    /* Fields after the command name, which may hold spaces: state is field 3,
     * utime 14 and stime 15. */
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    unsigned long ut = 0, st = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    out->cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    return 0;
}

static int s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int rc = fputs(text, f) < 0 ? -1 : 0;
    return fclose(f) != 0 ? -1 : rc;
}

static int s_copy(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    if (!in)
        return -1;
    FILE *out = fopen(to, "wb");
    if (!out) {
        fclose(in);
        return -1;
    }
    char buf[8192];
    size_t n;
    int rc = 0;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = -1;
    fclose(in);
    return fclose(out) != 0 ? -1 : rc;
}

redisContext *bench_env_redis(const bench_env_t *env)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", env->redis_port, tv);
    if (!c || c->err) {
        if (c)
            redisFree(c);
        return NULL;
    }
    struct timeval cmd = {120, 0}; /* a 1M-candidate SMEMBERS takes a while */
    redisSetTimeout(c, cmd);
    return c;
}

long bench_redis_used_memory(redisContext *c)
{
    redisReply *r = redisCommand(c, "INFO memory");
    long v = -1;
    if (r && r->type == REDIS_REPLY_STRING) {
        const char *p = strstr(r->str, "used_memory:");
        if (p)
            v = strtol(p + 12, NULL, 10);
    }
    if (r)
        freeReplyObject(r);
    return v;
}

int bench_env_start_redis(bench_env_t *env, const char *build_dir, const char *policy_path,
                          const char *log_level)
{
    snprintf(env->build_dir, sizeof env->build_dir, "%s", build_dir);
    snprintf(env->dir, sizeof env->dir, "/tmp/wz-bench-XXXXXX");
    if (!mkdtemp(env->dir)) {
        fprintf(stderr, "bench: mkdtemp: %s\n", strerror(errno));
        return -1;
    }
    env->redis_port = wz_proc_free_port(&env->port_cursor);
    char port[16], log[600];
    snprintf(port, sizeof port, "%d", env->redis_port);
    snprintf(log, sizeof log, "%s/redis.log", env->dir);
    char *argv[] = {"redis-server", "--port",      port,     "--bind", "127.0.0.1",
                    "--dir",        env->dir,      "--save", "",       "--appendonly",
                    "no",           "--daemonize", "no",     NULL};
    env->redis_pid = wz_proc_spawn(argv, log);
    if (env->redis_pid <= 0)
        return -1;
    if (wz_proc_redis_ready(env->redis_port, NULL, 10000) != 0) {
        fprintf(stderr, "bench: redis-server did not start (see %s)\n", log);
        return -1;
    }

    char path[700];
    snprintf(path, sizeof path, "%s/config", env->dir);
    if (mkdir(path, 0700) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/config/policy.yaml", env->dir);
    if (s_copy(policy_path, path) != 0) {
        fprintf(stderr, "bench: cannot copy %s\n", policy_path);
        return -1;
    }
    int p[11];
    for (int i = 0; i < 11; i++)
        p[i] = wz_proc_free_port(&env->port_cursor);
    char yaml[4096];
    /* The defaults of config/woonzorg.yaml but for ports, the log level and
     * Redis ACL users: off, so the bench's own connections (seeding, MONITOR,
     * the floor) need no passwords; an ACL user costs one AUTH per connection
     * and a permission check per command, which Redis does in memory. */
    snprintf(yaml, sizeof yaml,
             "log_level: %s\nkeys_dir: ../keys\npolicy: policy.yaml\n"
             "redis:\n  host: 127.0.0.1\n  port: %d\n  prefix: \"wz:\"\n  acl_users: false\n"
             "intake:\n  endpoint: tcp://127.0.0.1:%d\n  publish: tcp://127.0.0.1:%d\n"
             "  http: 127.0.0.1:%d\n"
             "matching:\n  publish: tcp://127.0.0.1:%d\n  http: 127.0.0.1:%d\n"
             "notification:\n  endpoint: tcp://127.0.0.1:%d\n  publish: tcp://127.0.0.1:%d\n"
             "  http: 127.0.0.1:%d\n"
             "audit:\n  endpoint: tcp://127.0.0.1:%d\n  http: 127.0.0.1:%d\n",
             log_level, env->redis_port, p[0], p[1], p[6], p[2], p[7], p[3], p[4], p[8], p[5],
             p[9]);
    snprintf(env->config, sizeof env->config, "%s/config/woonzorg.yaml", env->dir);
    if (s_write(env->config, yaml) != 0)
        return -1;
    char err[512];
    if (wz_settings_load(&env->settings, env->config, err, sizeof err) != 0) {
        fprintf(stderr, "bench: %s\n", err);
        return -1;
    }
    wz_policy_t *plain = wz_policy_load(env->settings.policy_path, NULL, false, err, sizeof err);
    if (!plain) {
        fprintf(stderr, "bench: %s\n", err);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < plain->n_parties + BENCH_SERVICES && rc == 0; i++) {
        const char *name =
            i < plain->n_parties ? plain->parties[i].id : bench_service_names[i - plain->n_parties];
        wz_keypair_t kp;
        if (wz_keys_generate(&kp) != 0 ||
            wz_keys_write(env->settings.keys_dir, name, &kp, 0, err, sizeof err) != 0) {
            fprintf(stderr, "bench: key for %s: %s\n", name, err);
            rc = -1;
        }
    }
    wz_policy_destroy(&plain);
    if (rc != 0)
        return -1;
    env->policy =
        wz_policy_load(env->settings.policy_path, env->settings.keys_dir, true, err, sizeof err);
    if (!env->policy) {
        fprintf(stderr, "bench: %s\n", err);
        return -1;
    }
    return 0;
}

int bench_env_start_services(bench_env_t *env)
{
    for (int i = 0; i < BENCH_SERVICES; i++) {
        char exe[700], log[400];
        snprintf(exe, sizeof exe, "%s/wz-%s", env->build_dir, bench_service_names[i]);
        snprintf(log, sizeof log, "%s/%s.log", env->dir, bench_service_names[i]);
        /* WZ_BENCH_WRAP runs each service under a profiler, e.g.
         * "valgrind --tool=callgrind" (docs/performance.md). */
        char wrap[512];
        snprintf(wrap, sizeof wrap, "%s", getenv("WZ_BENCH_WRAP") ? getenv("WZ_BENCH_WRAP") : "");
        char *argv[32];
        int argc = 0;
        for (char *save = NULL, *tok = strtok_r(wrap, " ", &save); tok && argc < 28;
             tok = strtok_r(NULL, " ", &save))
            argv[argc++] = tok;
        argv[argc++] = exe;
        argv[argc++] = "-c";
        argv[argc++] = env->config;
        argv[argc] = NULL;
        env->pids[i] = wz_proc_spawn(argv, log);
        if (env->pids[i] <= 0)
            return -1;
        bool exited;
        if (wz_proc_wait_started(env->pids[i], log, 0, 60000, &exited) != 0) {
            if (!exited)
                wz_proc_wait(env->pids[i], 0);
            env->pids[i] = 0;
            fprintf(stderr, "bench: wz-%s did not start (see %s)\n", bench_service_names[i], log);
            return -1;
        }
    }
    return 0;
}

int bench_env_stop_services(bench_env_t *env)
{
    int unclean = 0;
    for (int i = BENCH_SERVICES - 1; i >= 0; i--) {
        if (env->pids[i] <= 0)
            continue;
        kill(env->pids[i], SIGTERM);
        int status = wz_proc_wait(env->pids[i], 10000);
        if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
            fprintf(stderr, "bench: wz-%s did not exit cleanly (status %d)\n",
                    bench_service_names[i], status);
            unclean++;
        }
        env->pids[i] = 0;
    }
    return unclean;
}

int bench_env_stop(bench_env_t *env)
{
    int unclean = bench_env_stop_services(env);
    if (env->redis_pid > 0) {
        kill(env->redis_pid, SIGKILL);
        wz_proc_wait(env->redis_pid, 5000);
        env->redis_pid = 0;
    }
    wz_policy_destroy(&env->policy);
    if (env->dir[0] && !env->keep)
        wz_proc_rmtree(env->dir);
    else if (env->dir[0])
        fprintf(stderr, "bench: kept %s\n", env->dir);
    env->dir[0] = '\0';
    return unclean;
}
