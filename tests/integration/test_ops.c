/* Integration tests of what operators see: the health port of every real
 * service (/healthz, /readyz, /metrics scraped over HTTP while a vacancy goes
 * through the suite), readiness following Redis and peers, JSON log lines
 * carrying request and event ids, and the policy reload on SIGHUP. */
#include <signal.h>
#include <sys/types.h>

#include "wz_it.h"
#include "wz_testhttp.h"
#include "wz_testmain.h"

#define ZKIJ "zkij"
#define NO_EXPIRY 600
#define BODY_MAX 65536

static const char *const s_names[] = {"intake", "matching", "notification", "audit"};

static const char *s_http(it_t *it, const char *service)
{
    return wz_settings_http(it->settings, service);
}

/* GET with the standard deadline; the body in a static buffer. */
static int s_get(it_t *it, const char *service, const char *path, char **body)
{
    static char buf[BODY_MAX];
    int status = wz_test_http_get_addr(s_http(it, service), path, buf, sizeof buf, IT_CALL_MS);
    if (body)
        *body = buf;
    return status;
}

/* Polls path until it answers want, or fails the test with the last answer. */
static void s_wait_status(it_t *it, const char *service, const char *path, int want)
{
    int64_t deadline = wz_mono_ms() + IT_WAIT_MS;
    int status;
    char *body = NULL;
    while ((status = s_get(it, service, path, &body)) != want && wz_mono_ms() < deadline) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL); /* polling an outside process: nothing to wait on */
    }
    ck_assert_msg(status == want, "%s %s: %d (wanted %d): %s", service, path, status, want,
                  body ? body : "");
}

/* Polls the service's metrics until series has value want. */
static void s_wait_metric(it_t *it, const char *service, const char *series, double want)
{
    int64_t deadline = wz_mono_ms() + IT_WAIT_MS;
    double value = -1;
    char *body = NULL;
    for (;;) {
        ck_assert_int_eq(s_get(it, service, "/metrics", &body), 200);
        value = wz_test_metric(body, series);
        if (value == want || wz_mono_ms() >= deadline)
            break;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    ck_assert_msg(value == want, "%s: %s is %g, wanted %g", service, series, value, want);
}

static double s_metric(it_t *it, const char *service, const char *series)
{
    char *body = NULL;
    ck_assert_int_eq(s_get(it, service, "/metrics", &body), 200);
    return wz_test_metric(body, series);
}

static char *s_read_log(it_t *it, const char *service)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s.log", wz_testenv_dir(it->env), service);
    char *text = wz_read_file(path, NULL);
    ck_assert_msg(text != NULL, "no log %s", path);
    return text;
}

/* Every line of the service's log is one JSON object with ts, level and
 * service first (the sanitizer's own reports would be the exception, and a
 * clean run has none). Returns how many lines contain needle (NULL: 0). */
static int s_check_log(it_t *it, const char *service, const char *needle)
{
    char *text = s_read_log(it, service);
    int hits = 0, lines = 0;
    char expect_service[64];
    snprintf(expect_service, sizeof expect_service, "\",\"service\":\"%s\",\"msg\":", service);
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        ck_assert_msg(next != NULL, "%s: last log line not terminated", service);
        *next++ = '\0';
        lines++;
        ck_assert_msg(strncmp(line, "{\"ts\":\"", 7) == 0 && line[strlen(line) - 1] == '}',
                      "%s: not a JSON log line: %s", service, line);
        ck_assert_msg(strstr(line, "\",\"level\":\"") && strstr(line, expect_service),
                      "%s: log line without level or service: %s", service, line);
        if (needle && strstr(line, needle))
            hits++;
    }
    ck_assert_int_gt(lines, 0);
    free(text);
    return hits;
}

/* Registers, grants and publishes so that matching proposes kam-0012 for
 * PW-2025-0142; the care provider receives and acknowledges the proposal. */
static void s_one_proposal(it_t *it, wz_listener_t *care_mail)
{
    wz_client_t *corp = it_client(it, "pre-wonen");
    wz_client_t *care = it_client(it, "ribw-kam");
    wz_client_t *muni = it_client(it, "gem-haarlem");
    it_candidate_t cand = it_candidate("kam-0012");
    WzReply *r = it_register(care, "ops-reg-1", &cand);
    it_ok(&r);
    r = it_grant(muni, "ops-grant-1", "kam-0012", 2025, 3, 14);
    it_ok(&r);
    it_expect_drop(care_mail, "ribw-kam", IT_EV(URGENCY_GRANTED), "urgency");
    it_wait_candidate_state(it, ZKIJ, "kam-0012", IT_CSTATE(ACTIVE));
    it_vacancy_t vac = it_vacancy("PW-2025-0142");
    r = it_publish(corp, "ops-pub-1", &vac);
    it_ok(&r);
    it_expect_drop(care_mail, "ribw-kam", IT_EV(PROPOSAL_CREATED), "proposal");
    wz_client_destroy(&corp);
    wz_client_destroy(&care);
    wz_client_destroy(&muni);
}

START_TEST(test_health_metrics_and_logs)
{
    it_t it;
    it_open(&it, NO_EXPIRY);
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(s_get(&it, s_names[i], "/healthz", NULL), 200);
        s_wait_status(&it, s_names[i], "/readyz", 200);
        ck_assert_int_eq(s_get(&it, s_names[i], "/nothing-here", NULL), 404);
    }
    wz_listener_t *care_mail = it_listener(&it, "ribw-kam");
    s_one_proposal(&it, care_mail);

    /* intake: requests by type and result. */
    ck_assert(
        s_metric(&it, "intake", "wz_requests_total{type=\"publish_vacancy\",result=\"ok\"}") == 1);
    ck_assert(s_metric(&it, "intake",
                       "wz_requests_total{type=\"register_candidate\",result=\"ok\"}") == 1);
    ck_assert(s_metric(&it, "intake", "wz_events_out_total{type=\"vacancy_published\"}") == 1);
    ck_assert(s_metric(&it, "intake", "wz_up{service=\"intake\"}") == 1);
    /* matching: events in, one proposal created, one choice timed. */
    s_wait_metric(&it, "matching",
                  "wz_events_in_total{producer=\"intake\",type=\"vacancy_published\"}", 1);
    ck_assert(s_metric(&it, "matching", "wz_proposals_total{outcome=\"created\"}") == 1);
    ck_assert(s_metric(&it, "matching", "wz_matching_seconds_count") == 1);
    ck_assert(s_metric(&it, "matching", "wz_matching_seconds_bucket{le=\"+Inf\"}") == 1);
    ck_assert(s_metric(&it, "matching", "wz_redis_errors_total") == 0);
    /* notification: the municipality has read nothing, the care provider all. */
    s_wait_metric(&it, "notification", "wz_mailbox_depth{party=\"ribw-kam\"}", 0);
    double depth = s_metric(&it, "notification", "wz_mailbox_depth{party=\"gem-haarlem\"}");
    ck_assert_msg(depth == 2, "gem-haarlem mailbox depth %g (published + proposed)", depth);
    double age =
        s_metric(&it, "notification", "wz_mailbox_oldest_unacked_seconds{party=\"gem-haarlem\"}");
    ck_assert_msg(age >= 0 && age < 120, "oldest unacked age %g", age);
    ck_assert(s_metric(&it, "notification", "wz_sessions") == 1);
    ck_assert(s_metric(&it, "notification",
                       "wz_events_in_total{producer=\"matching\",type=\"proposal_created\"}") == 1);
    /* audit follows every stream. */
    s_wait_metric(&it, "audit",
                  "wz_events_in_total{producer=\"matching\",type=\"proposal_created\"}", 1);

    /* Logs: JSON lines; the request and event ids are on the lines about them. */
    ck_assert_int_ge(s_check_log(&it, "intake", "\"request_id\":\"ops-pub-1\""), 1);
    ck_assert_int_ge(s_check_log(&it, "matching", "\"msg\":\"proposal created\""), 1);
    ck_assert_int_ge(s_check_log(&it, "matching", "\"event_id\":\"intake:zkij:"), 1);
    /* No personal data: the candidate's attributes (target group, household,
     * income) never reach a log line, only its pseudonymous id. */
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(s_check_log(&it, s_names[i], "beschermd_wonen"), 0);
        ck_assert_int_eq(s_check_log(&it, s_names[i], "household"), 0);
        ck_assert_int_eq(s_check_log(&it, s_names[i], "income"), 0);
        ck_assert_int_eq(s_check_log(&it, s_names[i], "below_limit"), 0);
    }

    wz_listener_destroy(&care_mail);
    it_close(&it);
}
END_TEST

START_TEST(test_readiness_follows_redis_and_peers)
{
    it_t it;
    it_open(&it, NO_EXPIRY);
    s_wait_status(&it, "matching", "/readyz", 200);
    /* Intake away: matching hears no heartbeat, so it is not ready; it is
     * still alive (liveness must not restart it for a peer's sake). */
    ck_assert_int_eq(wz_testenv_stop_service(it.env, "intake", SIGTERM), 0);
    s_wait_status(&it, "matching", "/readyz", 503);
    char *body = NULL;
    ck_assert_int_eq(s_get(&it, "matching", "/readyz", &body), 503);
    ck_assert_msg(strstr(body, "streams: nothing heard from intake"), "%s", body);
    ck_assert_int_eq(s_get(&it, "matching", "/healthz", NULL), 200);
    ck_assert(s_metric(&it, "matching", "wz_ready") == 0);
    wz_testenv_start_service(it.env, "intake");
    s_wait_status(&it, "matching", "/readyz", 200);

    /* Redis away: nobody is ready, everybody alive; back: ready again. */
    wz_testenv_kill_redis(it.env);
    for (size_t i = 0; i < 4; i++) {
        s_wait_status(&it, s_names[i], "/readyz", 503);
        ck_assert_int_eq(s_get(&it, s_names[i], "/healthz", NULL), 200);
    }
    ck_assert_int_eq(s_get(&it, "intake", "/readyz", &body), 503);
    ck_assert_msg(strstr(body, "redis: "), "%s", body);
    ck_assert(s_metric(&it, "intake", "wz_redis_errors_total") >= 1);
    it_close(&it);
}
END_TEST

static void s_write(const char *path, const char *text)
{
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    FILE *f = fopen(tmp, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    ck_assert_int_eq(rename(tmp, path), 0);
}

START_TEST(test_policy_reload_on_sighup)
{
    it_t it;
    it_open(&it, NO_EXPIRY);
    const char *path = it.settings->policy_path;
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    static char original[65536];
    size_t n = fread(original, 1, sizeof original - 1, f);
    original[n] = '\0';
    fclose(f);
    char *at = strstr(original, "version: \"test.1\"");
    ck_assert_ptr_nonnull(at);

    /* A valid new policy: every service takes it, none restarts. */
    static char changed[65536];
    snprintf(changed, sizeof changed, "%.*sversion: \"test.2\"%s", (int)(at - original), original,
             at + strlen("version: \"test.1\""));
    s_write(path, changed);
    pid_t before[4];
    for (size_t i = 0; i < 4; i++) {
        before[i] = wz_testenv_pid(it.env, s_names[i]);
        ck_assert_int_eq(kill(before[i], SIGHUP), 0);
    }
    for (size_t i = 0; i < 4; i++)
        s_wait_metric(&it, s_names[i], "wz_policy_reloads_total{result=\"applied\"}", 1);
    ck_assert_int_ge(s_check_log(&it, "matching", "\"version\":\"test.2\",\"previous\":\"test.1\""),
                     1);

    /* A broken one: refused, the service runs on with test.2. */
    s_write(path, "version: \"test.3\"\nregions: [\n");
    ck_assert_int_eq(kill(wz_testenv_pid(it.env, "matching"), SIGHUP), 0);
    s_wait_metric(&it, "matching", "wz_policy_reloads_total{result=\"refused\"}", 1);
    ck_assert_int_eq(s_get(&it, "matching", "/healthz", NULL), 200);
    ck_assert_int_ge(s_check_log(&it, "matching", "policy reload refused"), 1);
    for (size_t i = 0; i < 4; i++)
        ck_assert_int_eq(wz_testenv_pid(it.env, s_names[i]), before[i]);

    /* The suite still works under the reloaded policy. */
    s_write(path, changed);
    wz_listener_t *care_mail = it_listener(&it, "ribw-kam");
    s_one_proposal(&it, care_mail);
    wz_listener_destroy(&care_mail);
    it_close(&it);
}
END_TEST

int main(void)
{
    TCase *tc = wz_test_case("ops", IT_TCASE_TIMEOUT,
                             (const TTest *const[]){test_health_metrics_and_logs,
                                                    test_readiness_follows_redis_and_peers,
                                                    test_policy_reload_on_sighup, NULL});
    return wz_test_run("ops", (TCase *const[]){tc, NULL});
}
