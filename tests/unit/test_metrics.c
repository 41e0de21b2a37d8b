/* Unit tests of wz_metrics: the Prometheus text format, series by label,
 * the histogram, event classification and collectors. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "wz_metrics.h"
#include "wz_testhttp.h"
#include "wz_testmain.h"

static char *s_render(wz_metrics_t *m)
{
    size_t len = 0;
    char *text = wz_metrics_render(m, &len);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(strlen(text), len);
    return text;
}

START_TEST(test_counters_by_label)
{
    wz_metrics_t *m = wz_metrics_new("intake");
    wz_metrics_add(m, WZ_M_REQUESTS, "publish_vacancy", "OK", 1);
    wz_metrics_add(m, WZ_M_REQUESTS, "publish_vacancy", "OK", 2);
    wz_metrics_add(m, WZ_M_REQUESTS, "publish_vacancy", "INVALID", 1);
    wz_metrics_add(m, WZ_M_REQUESTS, "publish_vacancy", "OK", -5); /* refused: counters only grow */
    wz_metrics_add(m, WZ_M_REDIS_ERRORS, NULL, NULL, 1);
    ck_assert(wz_metrics_get(m, WZ_M_REQUESTS, "publish_vacancy", "OK") == 3);
    char *text = s_render(m);
    ck_assert(wz_test_metric(text, "wz_requests_total{type=\"publish_vacancy\",result=\"OK\"}") ==
              3);
    ck_assert(wz_test_metric(
                  text, "wz_requests_total{type=\"publish_vacancy\",result=\"INVALID\"}") == 1);
    ck_assert(wz_test_metric(text, "wz_redis_errors_total") == 1);
    ck_assert(wz_test_metric(text, "wz_up{service=\"intake\"}") == 1);
    ck_assert_ptr_nonnull(strstr(text, "# TYPE wz_requests_total counter\n"));
    ck_assert_ptr_nonnull(strstr(text, "# HELP wz_requests_total "));
    /* Unlabelled families show 0 from the start, so rate() has a first
     * sample; labelled ones appear with their first series. */
    ck_assert(wz_test_metric(text, "wz_ready") == 0);
    ck_assert(wz_test_metric(text, "wz_policy_reloads_total{result=\"applied\"}") == -1);
    free(text);
    wz_metrics_destroy(&m);
    ck_assert_ptr_null(m);
    wz_metrics_destroy(&m);
}
END_TEST

START_TEST(test_every_line_is_valid_exposition)
{
    wz_metrics_t *m = wz_metrics_new("notification");
    wz_metrics_set(m, WZ_M_MAILBOX_DEPTH, "odd\"party\\name\nx", 4);
    wz_metrics_set(m, WZ_M_MAILBOX_AGE, "ribw-kam", 1.25);
    wz_metrics_observe(m, WZ_M_MATCH_SECONDS, 0.003);
    char *text = s_render(m);
    ck_assert(wz_test_metric(text, "wz_mailbox_depth{party=\"odd\\\"party\\\\name\\nx\"}") == 4);
    ck_assert(wz_test_metric(text, "wz_mailbox_oldest_unacked_seconds{party=\"ribw-kam\"}") ==
              1.25);
    /* Each line: a comment, or name{labels} value with a known family prefix. */
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') {
            ck_assert(strncmp(line, "# HELP wz_", 10) == 0 || strncmp(line, "# TYPE wz_", 10) == 0);
            continue;
        }
        ck_assert_msg(strncmp(line, "wz_", 3) == 0, "bad line: %s", line);
        char *space = strrchr(line, ' ');
        ck_assert_ptr_nonnull(space);
        char *end = NULL;
        strtod(space + 1, &end);
        ck_assert_msg(*end == '\0' || strcmp(space + 1, "+Inf") == 0, "bad value: %s", line);
    }
    free(text);
    wz_metrics_destroy(&m);
}
END_TEST

START_TEST(test_histogram_is_cumulative)
{
    wz_metrics_t *m = wz_metrics_new("matching");
    wz_metrics_observe(m, WZ_M_MATCH_SECONDS, 0.0002);
    wz_metrics_observe(m, WZ_M_MATCH_SECONDS, 0.004);
    wz_metrics_observe(m, WZ_M_MATCH_SECONDS, 0.004);
    wz_metrics_observe(m, WZ_M_MATCH_SECONDS, 7);
    char *text = s_render(m);
    ck_assert(wz_test_metric(text, "wz_matching_seconds_bucket{le=\"0.0005\"}") == 1);
    ck_assert(wz_test_metric(text, "wz_matching_seconds_bucket{le=\"0.0025\"}") == 1);
    ck_assert(wz_test_metric(text, "wz_matching_seconds_bucket{le=\"0.005\"}") == 3);
    ck_assert(wz_test_metric(text, "wz_matching_seconds_bucket{le=\"2.5\"}") == 3);
    ck_assert(wz_test_metric(text, "wz_matching_seconds_bucket{le=\"+Inf\"}") == 4);
    ck_assert(wz_test_metric(text, "wz_matching_seconds_count") == 4);
    double sum = wz_test_metric(text, "wz_matching_seconds_sum");
    ck_assert(sum > 7.0081 && sum < 7.0083);
    ck_assert_ptr_nonnull(strstr(text, "# TYPE wz_matching_seconds histogram\n"));
    free(text);
    wz_metrics_destroy(&m);
}
END_TEST

static WzEvent s_event(int payload, void *body)
{
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.payload_case = payload;
    ev.proposal_created = body; /* a oneof: every member shares the storage */
    return ev;
}

START_TEST(test_events_and_proposal_outcomes)
{
    wz_metrics_t *matching = wz_metrics_new("matching");
    wz_metrics_t *notification = wz_metrics_new("notification");
    Woonzorg__V1__ProposalCreated created = WOONZORG__V1__PROPOSAL_CREATED__INIT;
    Woonzorg__V1__ProposalAnswered yes = WOONZORG__V1__PROPOSAL_ANSWERED__INIT;
    Woonzorg__V1__ProposalAnswered no = WOONZORG__V1__PROPOSAL_ANSWERED__INIT;
    yes.accepted = 1;
    WzEvent ev_created = s_event(WOONZORG__V1__EVENT__PAYLOAD_PROPOSAL_CREATED, &created);
    WzEvent ev_yes = s_event(WOONZORG__V1__EVENT__PAYLOAD_PROPOSAL_ANSWERED, &yes);
    WzEvent ev_no = s_event(WOONZORG__V1__EVENT__PAYLOAD_PROPOSAL_ANSWERED, &no);
    ck_assert_str_eq(wz_metrics_event_type(&ev_created), "proposal_created");
    ck_assert_str_eq(wz_metrics_event_type(NULL), "unknown");

    /* Matching emits created and applies the answers: each counted once. */
    wz_metrics_event(matching, false, NULL, &ev_created);
    wz_metrics_event(matching, true, "intake", &ev_yes);
    wz_metrics_event(matching, true, "intake", &ev_no);
    wz_metrics_event(matching, true, "intake", &ev_no);
    ck_assert(wz_metrics_get(matching, WZ_M_PROPOSALS, "created", NULL) == 1);
    ck_assert(wz_metrics_get(matching, WZ_M_PROPOSALS, "accepted", NULL) == 1);
    ck_assert(wz_metrics_get(matching, WZ_M_PROPOSALS, "declined", NULL) == 2);
    ck_assert(wz_metrics_get(matching, WZ_M_EVENTS_OUT, "proposal_created", NULL) == 1);
    ck_assert(wz_metrics_get(matching, WZ_M_EVENTS_IN, "intake", "proposal_answered") == 3);

    /* Notification sees the same events but owns no proposals. */
    wz_metrics_event(notification, true, "matching", &ev_created);
    ck_assert(wz_metrics_get(notification, WZ_M_PROPOSALS, "created", NULL) == 0);
    ck_assert(wz_metrics_get(notification, WZ_M_EVENTS_IN, "matching", "proposal_created") == 1);
    /* NULL metrics are accepted everywhere. */
    wz_metrics_event(NULL, true, "x", &ev_created);
    wz_metrics_add(NULL, WZ_M_REQUESTS, "a", "b", 1);
    wz_metrics_destroy(&matching);
    wz_metrics_destroy(&notification);
}
END_TEST

static void s_collect(void *arg, wz_metrics_t *m)
{
    int *calls = arg;
    (*calls)++;
    wz_metrics_set(m, WZ_M_SESSIONS, NULL, *calls);
}

START_TEST(test_collectors_run_at_every_render)
{
    wz_metrics_t *m = wz_metrics_new("notification");
    int calls = 0;
    ck_assert_int_eq(wz_metrics_add_collector(m, s_collect, &calls), 0);
    char *text = s_render(m);
    ck_assert(wz_test_metric(text, "wz_sessions") == 1);
    free(text);
    text = s_render(m);
    ck_assert(wz_test_metric(text, "wz_sessions") == 2);
    free(text);
    ck_assert_int_eq(calls, 2);
    wz_metrics_destroy(&m);
}
END_TEST

int main(void)
{
    TCase *tc = wz_test_case(
        "metrics", 0,
        (const TTest *const[]){test_counters_by_label, test_every_line_is_valid_exposition,
                               test_histogram_is_cumulative, test_events_and_proposal_outcomes,
                               test_collectors_run_at_every_render, NULL});
    return wz_test_run("metrics", (TCase *const[]){tc, NULL});
}
