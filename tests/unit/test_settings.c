/* Unit tests of wz_settings: the shipped file, defaults, environment
 * overrides, relative paths, and refusals with file:line. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wz_settings.h"
#include "wz_testmain.h"

/* Every test runs in its own fork and its own temp dir (the cwd). */
static char s_dir[64];

static void s_setup(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/wz_test_settings_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_dir));
    ck_assert_int_eq(chdir(s_dir), 0);
    ck_assert_int_eq(mkdir("config", 0700), 0);
}

static void s_teardown(void)
{
    const char *vars[] = {"WZ_REDIS_PORT",      "WZ_NOTIFICATION_MAX_IN_FLIGHT",
                          "WZ_INTAKE_ENDPOINT", "WZ_KEYS_DIR",
                          "WZ_POLICY",          "WZ_LOG_LEVEL",
                          "WZ_AUDIT_ENDPOINT"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    unlink("config/woonzorg.yaml");
    unlink("woonzorg.yaml");
    rmdir("config");
    if (chdir("/") == 0)
        rmdir(s_dir);
}

static void s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* Loading text from config/woonzorg.yaml must fail with exactly expected. */
static void s_refused(const char *text, const char *expected)
{
    s_write("config/woonzorg.yaml", text);
    wz_settings_t s;
    char err[512] = "";
    ck_assert_msg(wz_settings_load(&s, "config/woonzorg.yaml", err, sizeof err) == -1,
                  "accepted: %s", text);
    ck_assert_msg(strcmp(err, expected) == 0, "for <<%s>>\n  got      '%s'\n  expected '%s'", text,
                  err, expected);
}

START_TEST(test_shipped_file)
{
    wz_settings_t s;
    char err[512];
    ck_assert_msg(wz_settings_load(&s, WZ_SOURCE_DIR "/config/woonzorg.yaml", err, sizeof err) == 0,
                  "%s", err);
    ck_assert_str_eq(s.log_level, "info");
    ck_assert_str_eq(s.keys_dir, WZ_SOURCE_DIR "/config/../var/keys");
    ck_assert_str_eq(s.policy_path, WZ_SOURCE_DIR "/config/policy.yaml");
    ck_assert_str_eq(s.redis.host, "127.0.0.1");
    ck_assert_int_eq(s.redis.port, 6390);
    ck_assert_str_eq(s.redis.user, "");
    ck_assert_str_eq(s.redis.password, "");
    ck_assert_str_eq(s.redis.prefix, "wz:");
    ck_assert_int_eq(s.redis.connect_timeout_ms, 1000);
    ck_assert_int_eq(s.redis.command_timeout_ms, 2000);
    ck_assert_int_eq(s.heartbeat_ms, 1000);
    ck_assert_int_eq(s.catch_up_ms, 2000);
    ck_assert_int_eq(s.idempotency_ttl_s, 604800);
    ck_assert_int_eq(s.max_message_bytes, 65536);
    ck_assert_int_eq(s.drain_ms, 5000);
    ck_assert_str_eq(s.intake.endpoint, "tcp://127.0.0.1:7701");
    ck_assert_str_eq(s.intake.publish, "tcp://127.0.0.1:7702");
    ck_assert_str_eq(s.matching.publish, "tcp://127.0.0.1:7711");
    ck_assert_int_eq(s.matching.deadline_check_ms, 500);
    ck_assert_int_eq(s.retention.candidate_days, 90);
    ck_assert_str_eq(s.notification.endpoint, "tcp://127.0.0.1:7721");
    ck_assert_str_eq(s.notification.publish, "tcp://127.0.0.1:7722");
    ck_assert_int_eq(s.notification.max_in_flight, 64);
    ck_assert_int_eq(s.notification.session_timeout_ms, 30000);
    ck_assert_str_eq(s.audit.endpoint, "tcp://127.0.0.1:7731");
    ck_assert_str_eq(s.intake.http, "127.0.0.1:7709");
    ck_assert_str_eq(s.audit.http, "127.0.0.1:7739");
}
END_TEST

START_TEST(test_defaults_from_empty_map)
{
    s_write("config/woonzorg.yaml", "{}\n");
    wz_settings_t s;
    char err[512];
    ck_assert_msg(wz_settings_load(&s, "config/woonzorg.yaml", err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(s.log_level, "info");
    ck_assert_str_eq(s.keys_dir, "config/../var/keys");
    ck_assert_str_eq(s.policy_path, "config/policy.yaml");
    ck_assert_int_eq(s.redis.port, 6379);
    ck_assert_str_eq(s.redis.prefix, "wz:");
    ck_assert_int_eq(s.notification.max_in_flight, 64);
    ck_assert_str_eq(s.audit.endpoint, "tcp://127.0.0.1:7731");
    ck_assert_int_eq(s.retention.candidate_days, 90);

    /* a file in the current directory keeps relative paths as they are */
    s_write("woonzorg.yaml", "policy: p.yaml\nkeys_dir: /etc/wz/keys\n");
    ck_assert_msg(wz_settings_load(&s, "woonzorg.yaml", err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(s.policy_path, "p.yaml");
    ck_assert_str_eq(s.keys_dir, "/etc/wz/keys");
}
END_TEST

START_TEST(test_env_overrides)
{
    s_write("config/woonzorg.yaml", "redis:\n  port: 6390\nnotification:\n  max_in_flight: 8\n");
    setenv("WZ_REDIS_PORT", "7001", 1);
    setenv("WZ_NOTIFICATION_MAX_IN_FLIGHT", "5", 1);
    setenv("WZ_INTAKE_ENDPOINT", "tcp://0.0.0.0:9000", 1);
    setenv("WZ_KEYS_DIR", "secrets", 1);
    setenv("WZ_POLICY", "/abs/policy.yaml", 1);
    setenv("WZ_LOG_LEVEL", "debug", 1);
    wz_settings_t s;
    char err[512];
    ck_assert_msg(wz_settings_load(&s, "config/woonzorg.yaml", err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(s.redis.port, 7001);
    ck_assert_int_eq(s.notification.max_in_flight, 5);
    ck_assert_str_eq(s.intake.endpoint, "tcp://0.0.0.0:9000");
    ck_assert_str_eq(s.keys_dir, "config/secrets"); /* relative to the file, also from env */
    ck_assert_str_eq(s.policy_path, "/abs/policy.yaml");
    ck_assert_str_eq(s.log_level, "debug");

    setenv("WZ_REDIS_PORT", "0", 1);
    ck_assert_int_eq(wz_settings_load(&s, "config/woonzorg.yaml", err, sizeof err), -1);
    ck_assert_str_eq(err, "environment WZ_REDIS_PORT: 0 is out of range 1..65535");
    setenv("WZ_REDIS_PORT", "63a", 1);
    ck_assert_int_eq(wz_settings_load(&s, "config/woonzorg.yaml", err, sizeof err), -1);
    ck_assert_str_eq(err, "environment WZ_REDIS_PORT: expected an integer, got '63a'");
    unsetenv("WZ_REDIS_PORT");
    setenv("WZ_LOG_LEVEL", "loud", 1);
    ck_assert_int_eq(wz_settings_load(&s, "config/woonzorg.yaml", err, sizeof err), -1);
    ck_assert_str_eq(err, "environment WZ_LOG_LEVEL: log_level 'loud' is not one of debug, info, "
                          "warn, error");
    unsetenv("WZ_LOG_LEVEL");
    setenv("WZ_AUDIT_ENDPOINT", "localhost:1", 1);
    ck_assert_int_eq(wz_settings_load(&s, "config/woonzorg.yaml", err, sizeof err), -1);
    ck_assert_str_eq(err, "environment WZ_AUDIT_ENDPOINT: audit.endpoint 'localhost:1' is not an "
                          "endpoint like tcp://127.0.0.1:7701");
}
END_TEST

START_TEST(test_refusals)
{
    s_refused("# woonzorg\n"
              "log_level: info\n"
              "keys_dir: ../var/keys\n"
              "\n"
              "redis:\n"
              "  host: 127.0.0.1\n"
              "  prot: 6390\n",
              "config/woonzorg.yaml:7: unknown key 'prot' in 'redis' (did you mean 'port'?)");
    s_refused("redis:\n  port: 65536\n",
              "config/woonzorg.yaml:2: redis.port: 65536 is out of range 1..65535");
    s_refused("log_level: verbose\n",
              "config/woonzorg.yaml:1: log_level 'verbose' is not one of debug, info, warn, error");
    s_refused("loglevel: info\n",
              "config/woonzorg.yaml:1: unknown key 'loglevel' (did you mean 'log_level'?)");
    s_refused("intake:\n  endpoint: 7701\n",
              "config/woonzorg.yaml:2: intake.endpoint '7701' is not an endpoint like "
              "tcp://127.0.0.1:7701");
    s_refused("matching: tcp://x:1\n", "config/woonzorg.yaml:1: 'matching' must be a map");
    s_refused("redis:\n  host: \"\"\n", "config/woonzorg.yaml:2: redis.host must not be empty");
    s_refused("policy:\n", "config/woonzorg.yaml:1: policy must not be empty");
    s_refused("retention:\n  candidate_days: 3651\n",
              "config/woonzorg.yaml:2: retention.candidate_days: 3651 is out of range 0..3650");
    s_refused("retention:\n  candidate_days: -1\n",
              "config/woonzorg.yaml:2: retention.candidate_days: -1 is out of range 0..3650");
    s_refused("retention:\n  candidate_days: ninety\n",
              "config/woonzorg.yaml:2: retention.candidate_days: expected an integer, got "
              "'ninety'");
    s_refused("retention:\n  candidate_dayz: 30\n",
              "config/woonzorg.yaml:2: unknown key 'candidate_dayz' in 'retention' (did you mean "
              "'candidate_days'?)");
    s_refused("heartbeat_ms: 1\n", "config/woonzorg.yaml:1: heartbeat_ms: 1 is out of range "
                                   "10..3600000");
    s_refused("redis:\n  prefix: \"0123456789012345678901234567890123\"\n",
              "config/woonzorg.yaml:2: redis.prefix: value is longer than 31 characters");
    s_refused("a: 1\na: 2\n", "config/woonzorg.yaml:2: duplicate key 'a' (first on line 1)");
    s_refused("matching:\n  http: localhost:8080\n",
              "config/woonzorg.yaml:2: matching.http 'localhost:8080' is not an address like "
              "127.0.0.1:7709 or *:8080 (empty turns it off)");
    s_refused("audit:\n  http: \"127.0.0.1:99999\"\n",
              "config/woonzorg.yaml:2: audit.http '127.0.0.1:99999' is not an address like "
              "127.0.0.1:7709 or *:8080 (empty turns it off)");

    wz_settings_t s;
    char err[512];
    ck_assert_int_eq(wz_settings_load(&s, "config/missing.yaml", err, sizeof err), -1);
    ck_assert_str_eq(err, "config/missing.yaml: cannot open: No such file or directory");
}
END_TEST

START_TEST(test_path_too_long_after_join)
{
    char text[700];
    char longname[500];
    memset(longname, 'k', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    snprintf(text, sizeof text, "keys_dir: %s\n", longname);
    /* 499 characters fit the field, but not once prefixed with the directory */
    s_write("config/woonzorg.yaml", text);
    wz_settings_t s;
    char err[1024];
    char cfg[PATH_MAX];
    snprintf(cfg, sizeof cfg, "%s/config/woonzorg.yaml", s_dir);
    ck_assert_int_eq(wz_settings_load(&s, cfg, err, sizeof err), -1);
    ck_assert_msg(strstr(err, ":1: keys_dir is longer than 511 characters") != NULL, "%s", err);
}
END_TEST

START_TEST(test_http_addresses)
{
    s_write("config/woonzorg.yaml", "intake:\n  http: \"*:8080\"\nnotification:\n  http: \"\"\n");
    wz_settings_t s;
    char err[512] = "";
    ck_assert_msg(wz_settings_load(&s, "config/woonzorg.yaml", err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(wz_settings_http(&s, "intake"), "*:8080");
    ck_assert_str_eq(wz_settings_http(&s, "matching"), "127.0.0.1:7719");
    ck_assert_str_eq(wz_settings_http(&s, "notification"), "");
    ck_assert_str_eq(wz_settings_http(&s, "audit"), "127.0.0.1:7739");
    ck_assert_ptr_null(wz_settings_http(&s, "wzctl"));
    char host[64];
    int port = -1;
    ck_assert_int_eq(wz_settings_split_http("0.0.0.0:0", host, sizeof host, &port), 0);
    ck_assert_str_eq(host, "0.0.0.0");
    ck_assert_int_eq(port, 0);
    ck_assert_int_eq(wz_settings_split_http(":80", host, sizeof host, &port), -1);
    ck_assert_int_eq(wz_settings_split_http("1.2.3.4:", host, sizeof host, &port), -1);
    ck_assert_int_eq(wz_settings_split_http("1.2.3.256:1", host, sizeof host, &port), -1);
    ck_assert_int_eq(wz_settings_split_http("1.2.3.4:80x", host, sizeof host, &port), -1);
}
END_TEST

int main(void)
{
    TCase *tc = wz_test_case("settings", 10,
                             (const TTest *const[]){test_shipped_file, test_defaults_from_empty_map,
                                                    test_env_overrides, test_refusals,
                                                    test_path_too_long_after_join,
                                                    test_http_addresses, NULL});
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    return wz_test_run("wz_settings", (TCase *const[]){tc, NULL});
}
