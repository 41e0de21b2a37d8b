/* wz_testenv.c - private redis-server and service processes for tests. */
#include "wz_testenv.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wz_acl.h"
#include "wz_keys.h"
#include "wz_policy.h"
#include "wz_proc.h"
#include "wz_util.h"

#define N_SERVICES 4
static const char *const s_services[N_SERVICES] = {"intake", "matching", "notification",
                                                    "audit"};

struct wz_testenv_t {
    char dir[256];
    char config[512];
    int redis_port;
    char admin_password[64]; /* the default user's: tests read and tamper freely */
    pid_t redis_pid;
    pid_t service_pids[N_SERVICES];
    bool suite;
    bool redis_aof;
    wz_settings_t settings;
    wz_store_t *store;
};

int wz_test_free_port(void)
{
    /* Test-harness state only: where this process searches next. */
    static int cursor;
    int port = wz_proc_free_port(&cursor);
    ck_assert_msg(port > 0, "no free loopback port");
    return port;
}

static void s_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

static void s_start_redis(wz_testenv_t *self)
{
    /* A restart (wz_testenv_start_redis) keeps the port, the ACL file and
     * the passwords the services already hold. */
    bool first = !self->redis_port;
    if (first)
        self->redis_port = wz_test_free_port();
    char port[16], log[600], dir[300], keys[400], acl[400], err[512];
    snprintf(port, sizeof port, "%d", self->redis_port);
    snprintf(log, sizeof log, "%s/redis.log", self->dir);
    snprintf(dir, sizeof dir, "%s", self->dir);
    /* As in production: one ACL user per service (wz_acl), passwords in the
     * keys directory, which the services' config points at (keys_dir). */
    snprintf(keys, sizeof keys, "%s/keys", self->dir);
    snprintf(acl, sizeof acl, "%s/redis.acl", self->dir);
    if (first) {
        ck_assert_int_eq(mkdir(keys, 0700), 0);
        wz_random_id(self->admin_password);
        ck_assert_msg(
            wz_acl_write_file(acl, keys, "wz:", self->admin_password, err, sizeof err) == 0, "%s",
            err);
    }
    /* With AOF (fault tests) as in production: appendfsync always. With
     * everysec Redis postpones the AOF write while a background fsync is slow
     * and answers anyway, so even a kill -9 can lose acknowledged writes
     * (seen here on a busy disk; docs/guarantees.md). */
    char *argv[] = {"redis-server", "--port", port, "--bind", "127.0.0.1", "--dir", dir,
                    "--save", "", "--appendonly", self->redis_aof ? "yes" : "no",
                    "--appendfsync", "always", "--daemonize", "no", "--aclfile", acl, NULL};
    self->redis_pid = wz_proc_spawn(argv, log);
    ck_assert_int_gt(self->redis_pid, 0);
    ck_assert_msg(wz_proc_redis_ready(self->redis_port, self->admin_password, 10000) == 0,
                  "redis-server did not start on port %d (see %s)", self->redis_port, log);
}

void wz_testenv_redis_settings(const wz_testenv_t *self, wz_redis_settings_t *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->host, sizeof out->host, "127.0.0.1");
    out->port = self->redis_port;
    snprintf(out->password, sizeof out->password, "%s", self->admin_password);
    snprintf(out->prefix, sizeof out->prefix, "wz:");
    out->connect_timeout_ms = 1000;
    out->command_timeout_ms = 2000;
}

/* Writes config/woonzorg.yaml and config/policy.yaml, and every key. */
void wz_testenv_write_config(wz_testenv_t *self, int answer_seconds)
{
    char path[600];
    snprintf(path, sizeof path, "%s/config", self->dir);
    ck_assert_int_eq(mkdir(path, 0700), 0);

    size_t len = 0;
    char *tmpl = wz_read_file(WZ_SOURCE_DIR "/tests/support/policy.yaml", &len);
    ck_assert_msg(tmpl != NULL, "cannot read tests/support/policy.yaml");
    char seconds[16];
    snprintf(seconds, sizeof seconds, "%d", answer_seconds);
    const char *mark = "@ANSWER_SECONDS@";
    size_t out_cap = len + 64 * strlen(seconds) + 1, used = 0;
    char *policy = malloc(out_cap);
    ck_assert_ptr_nonnull(policy);
    for (const char *p = tmpl; *p;) {
        const char *hit = strstr(p, mark);
        size_t chunk = hit ? (size_t)(hit - p) : strlen(p);
        ck_assert(used + chunk + strlen(seconds) < out_cap);
        memcpy(policy + used, p, chunk);
        used += chunk;
        if (!hit)
            break;
        memcpy(policy + used, seconds, strlen(seconds));
        used += strlen(seconds);
        p = hit + strlen(mark);
    }
    policy[used] = '\0';
    snprintf(path, sizeof path, "%s/config/policy.yaml", self->dir);
    s_write_file(path, policy);
    free(policy);
    free(tmpl);

    int port[11];
    for (int i = 0; i < 11; i++)
        port[i] = wz_test_free_port();
    char yaml[4096];
    snprintf(yaml, sizeof yaml,
             "log_level: debug\n"
             "keys_dir: ../keys\n"
             "policy: policy.yaml\n"
             "redis:\n  host: 127.0.0.1\n  port: %d\n  prefix: \"wz:\"\n  acl_users: true\n"
             "heartbeat_ms: 200\n"
             "catch_up_ms: 500\n"
             "drain_ms: 2000\n"
             "intake:\n  endpoint: tcp://127.0.0.1:%d\n  publish: tcp://127.0.0.1:%d\n"
             "  http: 127.0.0.1:%d\n"
             "matching:\n  publish: tcp://127.0.0.1:%d\n  deadline_check_ms: 100\n"
             "  http: 127.0.0.1:%d\n"
             "notification:\n  endpoint: tcp://127.0.0.1:%d\n  publish: tcp://127.0.0.1:%d\n"
             "  max_in_flight: 16\n  session_timeout_ms: 10000\n  http: 127.0.0.1:%d\n"
             "audit:\n  endpoint: tcp://127.0.0.1:%d\n  http: 127.0.0.1:%d\n"
             "  checkpoint_dir: ../audit\n  checkpoint_entries: 4\n  checkpoint_ms: 300\n",
             self->redis_port, port[0], port[1], port[7], port[2], port[8], port[3], port[4],
             port[9], port[5], port[10]);
    snprintf(self->config, sizeof self->config, "%s/config/woonzorg.yaml", self->dir);
    s_write_file(self->config, yaml);

    char err[512];
    ck_assert_msg(wz_settings_load(&self->settings, self->config, err, sizeof err) == 0, "%s",
                  err);
    wz_policy_t *pol = wz_policy_load(self->settings.policy_path, NULL, false, err, sizeof err);
    ck_assert_msg(pol != NULL, "%s", err);
    for (size_t i = 0; i < pol->n_parties + N_SERVICES; i++) {
        const char *name = i < pol->n_parties ? pol->parties[i].id : s_services[i - pol->n_parties];
        wz_keypair_t kp;
        ck_assert_int_eq(wz_keys_generate(&kp), 0);
        ck_assert_msg(wz_keys_write(self->settings.keys_dir, name, &kp, 0, err, sizeof err) == 0,
                      "%s", err);
    }
    wz_policy_destroy(&pol);
}

static int s_service_index(const char *name)
{
    for (int i = 0; i < N_SERVICES; i++)
        if (strcmp(s_services[i], name) == 0)
            return i;
    return -1;
}

/* Waits until the service logged "started", or fails the test with its log. */
static void s_wait_started(wz_testenv_t *self, int i, const char *log_path, size_t skip)
{
    bool exited;
    if (wz_proc_wait_started(self->service_pids[i], log_path, skip, 20000, &exited) == 0)
        return;
    if (exited)
        self->service_pids[i] = 0;
    char *log = wz_read_file(log_path, NULL);
    ck_abort_msg("wz-%s did not start: %s", s_services[i],
                 log && strlen(log) > skip ? log + skip : "(no log)");
    free(log);
}

void wz_testenv_start_service(wz_testenv_t *self, const char *name)
{
    int i = s_service_index(name);
    ck_assert_int_ge(i, 0);
    char exe[600], log[600];
    snprintf(exe, sizeof exe, "%s/wz-%s", WZ_BUILD_DIR, name);
    snprintf(log, sizeof log, "%s/%s.log", self->dir, name);
    struct stat st;
    size_t skip = stat(log, &st) == 0 ? (size_t)st.st_size : 0;
    char *argv[] = {exe, "-c", self->config, NULL};
    self->service_pids[i] = wz_proc_spawn(argv, log);
    ck_assert_int_gt(self->service_pids[i], 0);
    s_wait_started(self, i, log, skip);
}

int wz_testenv_stop_service(wz_testenv_t *self, const char *name, int sig)
{
    int i = s_service_index(name);
    if (i < 0 || self->service_pids[i] <= 0)
        return -1;
    kill(self->service_pids[i], sig);
    int status = wz_proc_wait(self->service_pids[i], 10000);
    self->service_pids[i] = 0;
    return status;
}

int wz_testenv_stop_all(wz_testenv_t *self)
{
    int unclean = 0;
    for (int i = N_SERVICES - 1; i >= 0; i--) {
        if (self->service_pids[i] <= 0)
            continue;
        int status = wz_testenv_stop_service(self, s_services[i], SIGTERM);
        if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
            fprintf(stderr, "wz-%s did not exit cleanly (status %d), see %s/%s.log\n",
                    s_services[i], status, self->dir, s_services[i]);
            unclean++;
        }
    }
    return unclean;
}

wz_testenv_t *wz_testenv_new(bool suite, int answer_seconds)
{
    return wz_testenv_new_opts(suite, answer_seconds, false);
}

wz_testenv_t *wz_testenv_new_opts(bool suite, int answer_seconds, bool redis_aof)
{
    wz_testenv_t *self = calloc(1, sizeof *self);
    ck_assert_ptr_nonnull(self);
    snprintf(self->dir, sizeof self->dir, "/tmp/wz-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(self->dir));
    self->suite = suite;
    self->redis_aof = redis_aof;
    s_start_redis(self);
    wz_redis_settings_t rs;
    wz_testenv_redis_settings(self, &rs);
    self->store = wz_store_new(&rs, NULL);
    ck_assert_ptr_nonnull(self->store);
    if (suite) {
        wz_testenv_write_config(self, answer_seconds > 0 ? answer_seconds : 600);
        for (int i = 0; i < N_SERVICES; i++)
            wz_testenv_start_service(self, s_services[i]);
    }
    return self;
}

void wz_testenv_destroy(wz_testenv_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    wz_testenv_t *self = *self_p;
    wz_testenv_stop_all(self);
    if (self->redis_pid > 0) {
        kill(self->redis_pid, SIGTERM);
        wz_proc_wait(self->redis_pid, 5000);
    }
    wz_store_destroy(&self->store);
    if (!getenv("WZ_KEEP_TEST_DIR"))
        wz_proc_rmtree(self->dir);
    free(self);
    *self_p = NULL;
}

int wz_testenv_redis_port(const wz_testenv_t *self)
{
    return self->redis_port;
}

const char *wz_testenv_dir(const wz_testenv_t *self)
{
    return self->dir;
}

const char *wz_testenv_config(const wz_testenv_t *self)
{
    return self->config;
}

const wz_settings_t *wz_testenv_settings(const wz_testenv_t *self)
{
    return &self->settings;
}

wz_store_t *wz_testenv_store(wz_testenv_t *self)
{
    return self->store;
}

void wz_testenv_kill_redis(wz_testenv_t *self)
{
    if (self->redis_pid > 0) {
        kill(self->redis_pid, SIGKILL);
        wz_proc_wait(self->redis_pid, 5000);
        self->redis_pid = 0;
    }
}

pid_t wz_testenv_pid(const wz_testenv_t *self, const char *name)
{
    for (int i = 0; i < N_SERVICES; i++)
        if (strcmp(s_services[i], name) == 0)
            return self->service_pids[i] > 0 ? self->service_pids[i] : -1;
    return -1;
}

void wz_testenv_start_redis(wz_testenv_t *self)
{
    ck_assert_msg(self->redis_pid <= 0, "redis-server is still running");
    s_start_redis(self);
}
