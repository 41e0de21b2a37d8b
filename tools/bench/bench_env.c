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
#include "wz_util.h"

const char *const bench_service_names[BENCH_SERVICES] = {"intake", "matching", "notification",
                                                         "audit"};

double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void s_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Below the kernel's ephemeral range (32768+), so no outgoing connection
 * takes a port between our check and the bind; pid-derived start so
 * parallel runs rarely collide. */
int bench_free_port(void)
{
    static int next = -1; /* process-local search position, not shared state */
    if (next < 0)
        next = (int)(((unsigned)getpid() * 7919u) % 12000u);
    for (int tries = 0; tries < 12000; tries++) {
        int port = 20000 + next;
        next = (next + 1) % 12000;
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0)
            return -1;
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
        close(fd);
        if (ok)
            return port;
    }
    return -1;
}

pid_t bench_spawn(char *const argv[], const char *log_path)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* nothing outlives the bench */
    if (getppid() != parent)
        _exit(127);
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
    execvp(argv[0], argv);
    fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

int bench_wait(pid_t pid, int timeout_ms)
{
    int status = 0;
    double deadline = bench_now_s() + timeout_ms / 1000.0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0)
            return -1;
        if (bench_now_s() >= deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return status;
        }
        s_sleep_ms(5);
    }
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
    env->redis_port = bench_free_port();
    char port[16], log[600];
    snprintf(port, sizeof port, "%d", env->redis_port);
    snprintf(log, sizeof log, "%s/redis.log", env->dir);
    char *argv[] = {"redis-server", "--port",      port,     "--bind", "127.0.0.1",
                    "--dir",        env->dir,      "--save", "",       "--appendonly",
                    "no",           "--daemonize", "no",     NULL};
    env->redis_pid = bench_spawn(argv, log);
    if (env->redis_pid <= 0)
        return -1;
    double deadline = bench_now_s() + 10;
    for (;;) {
        redisContext *c = bench_env_redis(env);
        redisReply *r = c ? redisCommand(c, "PING") : NULL;
        bool ok = r && r->type == REDIS_REPLY_STATUS;
        if (r)
            freeReplyObject(r);
        if (c)
            redisFree(c);
        if (ok)
            break;
        if (bench_now_s() > deadline) {
            fprintf(stderr, "bench: redis-server did not start (see %s)\n", log);
            return -1;
        }
        s_sleep_ms(20);
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
        p[i] = bench_free_port();
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

static char *s_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (buf) {
        size_t got = fread(buf, 1, (size_t)len, f);
        buf[got] = '\0';
    }
    fclose(f);
    return buf;
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
        env->pids[i] = bench_spawn(argv, log);
        if (env->pids[i] <= 0)
            return -1;
        double deadline = bench_now_s() + 60;
        for (;;) {
            char *text = s_slurp(log);
            bool started = text && strstr(text, "\"msg\":\"started\"");
            free(text);
            if (started)
                break;
            int status;
            if (waitpid(env->pids[i], &status, WNOHANG) == env->pids[i] ||
                bench_now_s() > deadline) {
                env->pids[i] = 0;
                fprintf(stderr, "bench: wz-%s did not start (see %s)\n", bench_service_names[i],
                        log);
                return -1;
            }
            s_sleep_ms(10);
        }
    }
    return 0;
}

static int s_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int bench_env_stop_services(bench_env_t *env)
{
    int unclean = 0;
    for (int i = BENCH_SERVICES - 1; i >= 0; i--) {
        if (env->pids[i] <= 0)
            continue;
        kill(env->pids[i], SIGTERM);
        int status = bench_wait(env->pids[i], 10000);
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
        bench_wait(env->redis_pid, 5000);
        env->redis_pid = 0;
    }
    wz_policy_destroy(&env->policy);
    if (env->dir[0] && !env->keep)
        nftw(env->dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
    else if (env->dir[0])
        fprintf(stderr, "bench: kept %s\n", env->dir);
    env->dir[0] = '\0';
    return unclean;
}
