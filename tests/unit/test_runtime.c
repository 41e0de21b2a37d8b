/* Unit tests of wz_runtime and wz_server: start-up from a real config, the
 * CURVE party endpoint and its framing, the producer with heartbeats. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "wz_client.h"
#include "wz_codec.h"
#include "wz_runtime.h"
#include "wz_server.h"
#include "wz_testenv.h"
#include "wz_testmain.h"
#include "wz_util.h"

static wz_testenv_t *env;

static void setup(void)
{
    env = wz_testenv_new(false, 0);
    wz_testenv_write_config(env, 60);
}

static void teardown(void)
{
    wz_testenv_destroy(&env);
}

static int s_init(wz_runtime_t *rt, const char *service, volatile sig_atomic_t *stop)
{
    char *argv[] = {"wz-test", "-c", (char *)wz_testenv_config(env), NULL};
    return wz_runtime_init(rt, service, 3, argv, stop);
}

START_TEST(test_init_loads_everything)
{
    volatile sig_atomic_t stop = 0;
    wz_runtime_t rt;
    ck_assert_int_eq(s_init(&rt, "intake", &stop), 0);
    ck_assert_ptr_nonnull(rt.policy);
    ck_assert_ptr_nonnull(rt.store);
    ck_assert_ptr_nonnull(rt.loop);
    ck_assert_str_eq(rt.region_list, "zkij,almere");
    ck_assert_uint_eq(rt.n_regions, 2);
    ck_assert_str_eq(rt.regions[1], "almere");
    wz_runtime_fini(&rt);
    ck_assert_ptr_null(rt.policy);
}
END_TEST

START_TEST(test_bad_arguments_and_config_exit_2)
{
    volatile sig_atomic_t stop = 0;
    wz_runtime_t rt;
    char *unknown[] = {"wz-test", "--frobnicate", NULL};
    ck_assert_int_eq(wz_runtime_init(&rt, "intake", 2, unknown, &stop), 2);
    wz_runtime_fini(&rt);
    char *missing[] = {"wz-test", "-c", "/nonexistent/woonzorg.yaml", NULL};
    ck_assert_int_eq(wz_runtime_init(&rt, "intake", 3, missing, &stop), 2);
    wz_runtime_fini(&rt);
}
END_TEST

static int s_echo_count;

/* Answers every payload with itself, through wz_server_send. */
static void s_echo(void *arg, void *router, zmq_msg_t *routing, zmq_msg_t *payload)
{
    (void)arg;
    s_echo_count++;
    ck_assert_str_eq(wz_zap_party(payload), "ribw-kam");
    ck_assert_int_eq(wz_server_send(router, routing, zmq_msg_data(payload),
                                    zmq_msg_size(payload)),
                     0);
}

START_TEST(test_serve_authenticates_and_frames)
{
    volatile sig_atomic_t stop = 0;
    wz_runtime_t rt;
    ck_assert_int_eq(s_init(&rt, "intake", &stop), 0);
    void *router = wz_runtime_serve(&rt, rt.settings.intake.endpoint);
    ck_assert_ptr_nonnull(router);

    wz_keypair_t kp;
    char server_pub[41], err[256];
    ck_assert_msg(wz_client_keys(&rt.settings, "ribw-kam", "intake", &kp, server_pub, err,
                                 sizeof err) == 0,
                  "%s", err);
    void *dealer = zmq_socket(rt.ctx, ZMQ_DEALER);
    ck_assert_int_eq(wz_zap_client(dealer, &kp, server_pub), 0);
    ck_assert_int_eq(zmq_connect(dealer, rt.settings.intake.endpoint), 0);
    ck_assert_int_eq(zmq_send(dealer, "one", 3, ZMQ_SNDMORE), 3);
    ck_assert_int_eq(zmq_send(dealer, "two", 3, 0), 3); /* wrong shape: dropped */
    ck_assert_int_eq(zmq_send(dealer, "ping", 4, 0), 4);

    zmq_pollitem_t item = {router, 0, ZMQ_POLLIN, 0};
    int64_t deadline = wz_mono_ms() + 5000;
    while (s_echo_count == 0 && wz_mono_ms() < deadline) {
        zmq_poll(&item, 1, 100);
        wz_server_drain(router, 16, s_echo, NULL, rt.log);
    }
    ck_assert_int_eq(s_echo_count, 1);
    char buf[8] = {0};
    int timeout = 5000;
    zmq_setsockopt(dealer, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    ck_assert_int_eq(zmq_recv(dealer, buf, sizeof buf, 0), 4);
    ck_assert_str_eq(buf, "ping");
    int linger = 0;
    zmq_setsockopt(dealer, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(dealer);
    wz_runtime_fini(&rt);
}
END_TEST

START_TEST(test_publisher_announces_every_region)
{
    volatile sig_atomic_t stop = 0;
    wz_runtime_t rt;
    ck_assert_int_eq(s_init(&rt, "matching", &stop), 0);
    wz_pub_t *pub = wz_runtime_publisher(&rt, rt.settings.matching.publish);
    ck_assert_ptr_nonnull(pub);
    ck_assert_str_eq(wz_pub_service(pub), "matching");

    void *sub = zmq_socket(rt.ctx, ZMQ_SUB);
    ck_assert_int_eq(zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "matching/", 9), 0);
    ck_assert_int_eq(zmq_connect(sub, rt.settings.matching.publish), 0);
    /* The heartbeat timer runs in the loop; collect both regions' beats. */
    bool seen_zkij = false, seen_almere = false;
    int64_t deadline = wz_mono_ms() + 5000;
    while (!(seen_zkij && seen_almere) && wz_mono_ms() < deadline) {
        wz_pub_heartbeat(pub);
        zmq_pollitem_t item = {sub, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 100) <= 0)
            continue;
        char topic[64] = {0};
        int n = zmq_recv(sub, topic, sizeof topic - 1, 0);
        ck_assert_int_gt(n, 0);
        seen_zkij |= strcmp(topic, "matching/zkij/") == 0;
        seen_almere |= strcmp(topic, "matching/almere/") == 0;
        int more = 1;
        size_t len = sizeof more;
        while (zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &len) == 0 && more) {
            char part[64];
            zmq_recv(sub, part, sizeof part, 0);
        }
    }
    ck_assert(seen_zkij && seen_almere);
    int linger = 0;
    zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(sub);
    wz_runtime_fini(&rt);
}
END_TEST

/* --- policy reload (SIGHUP) and the HTTP port ---------------------------- */

static char *s_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

static void s_spit(const char *path, const char *text)
{
    /* Written aside and renamed, as an operator's tooling (or a ConfigMap) would. */
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    ck_assert_int_eq(rename(tmp, path), 0);
}

/* The policy text with its first `from` replaced by `to`. */
static char *s_edit(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    ck_assert_msg(at != NULL, "'%s' not in the policy", from);
    size_t head = (size_t)(at - text);
    char *out = malloc(strlen(text) + strlen(to) + 1);
    memcpy(out, text, head);
    strcpy(out + head, to);
    strcat(out, at + strlen(from));
    return out;
}

static const wz_policy_t *s_handed_over;
static int s_reloads_seen;

static void s_on_reload(void *arg, const wz_policy_t *policy)
{
    (void)arg;
    s_handed_over = policy;
    s_reloads_seen++;
}

START_TEST(test_reload_applies_a_valid_policy_and_refuses_a_bad_one)
{
    volatile sig_atomic_t stop = 0;
    wz_runtime_t rt;
    ck_assert_int_eq(s_init(&rt, "matching", &stop), 0);
    ck_assert_int_eq(wz_runtime_on_reload(&rt, s_on_reload, NULL), 0);
    const char *path = rt.settings.policy_path;
    char *original = s_slurp(path);
    const wz_policy_t *first = rt.policy;
    const char *first_region = rt.regions[0];
    ck_assert_str_eq(first->version, "test.1");

    /* New rules: applied, handed to the modules, old one kept alive. */
    char *v2 = s_edit(original, "version: \"test.1\"", "version: \"test.2\"");
    char *v2b = s_edit(v2, "{persons: 1, min_rooms: 1, min_area_m2: 18}",
                       "{persons: 1, min_rooms: 1, min_area_m2: 24}");
    s_spit(path, v2b);
    char err[512] = "";
    ck_assert_int_eq(wz_runtime_reload(&rt, err, sizeof err), 0);
    ck_assert_str_eq(rt.policy->version, "test.2");
    ck_assert_int_eq(wz_policy_occupancy(rt.policy, 1)->min_area_m2, 24);
    ck_assert_ptr_eq(s_handed_over, rt.policy);
    ck_assert_int_eq(s_reloads_seen, 1);
    ck_assert_str_eq(first->version, "test.1"); /* still readable: borrowed pointers stay valid */
    ck_assert_str_eq(first_region, "zkij");
    ck_assert(wz_metrics_get(rt.metrics, WZ_M_POLICY_RELOADS, "applied", NULL) == 1);

    /* Broken YAML: refused with file and line, the current policy stays. */
    s_spit(path, "version: \"test.3\"\nregions: [\n");
    ck_assert_int_eq(wz_runtime_reload(&rt, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "policy.yaml:") != NULL, "%s", err);
    ck_assert_str_eq(rt.policy->version, "test.2");

    /* Valid YAML that breaks a rule (an unknown region of a party). */
    char *bad = s_edit(original, "role: care_provider, region: zkij}",
                       "role: care_provider, region: nowhere}");
    s_spit(path, bad);
    ck_assert_int_eq(wz_runtime_reload(&rt, err, sizeof err), -1);
    ck_assert_str_eq(rt.policy->version, "test.2");

    /* A removed party: valid, but needs a restart (ZAP and mailboxes). */
    char *fewer_parties = s_edit(
        original, "  - {id: dock, name: Stichting DOCK, role: care_provider, region: zkij}\n", "");
    /* ... and from the scheme that names it, so the policy itself stays valid. */
    char *fewer = s_edit(fewer_parties, "care_providers: [ribw-kam, dock]",
                         "care_providers: [ribw-kam]");
    s_spit(path, fewer);
    ck_assert_int_eq(wz_runtime_reload(&rt, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "restart") != NULL, "%s", err);
    ck_assert_str_eq(rt.policy->version, "test.2");
    ck_assert_int_eq(s_reloads_seen, 1);
    ck_assert(wz_metrics_get(rt.metrics, WZ_M_POLICY_RELOADS, "refused", NULL) == 3);

    free(original);
    free(v2);
    free(v2b);
    free(bad);
    free(fewer);
    free(fewer_parties);
    wz_runtime_fini(&rt);
}
END_TEST

static int s_stop_when_reloaded(wz_loop_t *loop, void *arg)
{
    (void)loop;
    wz_runtime_t *rt = arg;
    return strcmp(rt->policy->version, "test.9") == 0 ? -1 : 0;
}

START_TEST(test_sighup_reloads_from_the_loop)
{
    volatile sig_atomic_t stop = 0;
    wz_runtime_t rt;
    ck_assert_int_eq(s_init(&rt, "intake", &stop), 0);
    char *original = s_slurp(rt.settings.policy_path);
    char *v9 = s_edit(original, "version: \"test.1\"", "version: \"test.9\"");
    s_spit(rt.settings.policy_path, v9);
    ck_assert_int_eq(raise(SIGHUP), 0); /* the process survives: SIGHUP only sets a flag */
    ck_assert_int_eq(rt.reload, 1);
    ck_assert_int_gt(wz_loop_add_timer(rt.loop, 20, s_stop_when_reloaded, &rt), 0);
    int64_t started = wz_mono_ms();
    ck_assert_int_eq(wz_loop_run(rt.loop), 0);
    ck_assert_int_lt(wz_mono_ms() - started, 5000);
    ck_assert_str_eq(rt.policy->version, "test.9");
    ck_assert_int_eq(rt.reload, 0);
    free(original);
    free(v9);
    wz_runtime_fini(&rt);
}
END_TEST

START_TEST(test_http_port_and_redis_readiness)
{
    volatile sig_atomic_t stop = 0;
    wz_runtime_t rt;
    ck_assert_int_eq(s_init(&rt, "notification", &stop), 0);
    ck_assert_ptr_nonnull(rt.http);
    char expected[64];
    snprintf(expected, sizeof expected, "127.0.0.1:%d", wz_http_port(rt.http));
    ck_assert_str_eq(rt.settings.notification.http, expected);
    char why[512];
    ck_assert_int_eq(wz_http_ready(rt.http, why, sizeof why), 0);
    wz_testenv_kill_redis(env);
    ck_assert_int_eq(wz_http_ready(rt.http, why, sizeof why), -1);
    ck_assert_msg(strncmp(why, "redis: ", 7) == 0, "%s", why);
    ck_assert(wz_metrics_get(rt.metrics, WZ_M_REDIS_ERRORS, NULL, NULL) >= 1);
    wz_runtime_fini(&rt);
}
END_TEST

START_TEST(test_shard_keeps_the_named_regions)
{
    volatile sig_atomic_t stop = 0;
    wz_runtime_t rt;
    ck_assert_int_eq(s_init(&rt, "matching", &stop), 0);
    ck_assert_int_eq(wz_runtime_shard(&rt, ""), 0);
    ck_assert_uint_eq(rt.n_regions, 2);
    ck_assert_int_eq(wz_runtime_shard(&rt, "almere,nowhere"), -1);
    ck_assert_uint_eq(rt.n_regions, 2);
    ck_assert_str_eq(rt.regions[0], "zkij");
    ck_assert_str_eq(rt.region_list, "zkij,almere");
    ck_assert_int_eq(wz_runtime_shard(&rt, " , "), -1);
    ck_assert_int_eq(wz_runtime_shard(&rt, "almere, almere"), 0);
    ck_assert_uint_eq(rt.n_regions, 1);
    ck_assert_str_eq(rt.regions[0], "almere");
    ck_assert_str_eq(rt.region_list, "almere");
    /* The publisher then announces only the shard's region. */
    ck_assert_ptr_nonnull(wz_runtime_publisher(&rt, rt.settings.matching.publish));
    wz_runtime_fini(&rt);
}
END_TEST

int main(void)
{
    TCase *tc =
        wz_test_case("runtime", 30,
                     (const TTest *const[]){
                         test_init_loads_everything, test_bad_arguments_and_config_exit_2,
                         test_serve_authenticates_and_frames, test_publisher_announces_every_region,
                         test_reload_applies_a_valid_policy_and_refuses_a_bad_one,
                         test_sighup_reloads_from_the_loop, test_http_port_and_redis_readiness,
                         test_shard_keeps_the_named_regions, NULL});
    tcase_add_checked_fixture(tc, setup, teardown);
    return wz_test_run("wz_runtime", (TCase *const[]){tc, NULL});
}
