/* test_explain.c - issue 3 through the real services and the real wzctl:
 * `wzctl explain` prints a proposal's explanation rule by rule for a party
 * that sees it, `--replay` has intake recompute the decision from its
 * snapshot for the municipality (refused to others; a snapshot tampered
 * with in Redis gives DIFFERENT and exit 1), a route step out of turn is
 * refused with what is expected, and the lease follows the route. Runs under
 * the services' Redis ACL users like every integration test. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wz_it.h"
#include "wz_testmain.h"

#define ZKIJ "zkij"
#define NO_EXPIRY 600

#define HAS(out, text) ck_assert_msg(strstr((out), (text)) != NULL, "'%s' lacks '%s'", (out), (text))

START_TEST(test_explain_replay_and_route)
{
    it_t it;
    it_open(&it, NO_EXPIRY);
    wz_client_t *kam = it_client(&it, "ribw-kam");
    wz_client_t *haarlem = it_client(&it, "gem-haarlem");
    wz_client_t *pre = it_client(&it, "pre-wonen");
    const char *ids[] = {"kam-0801", "kam-0802", "kam-0803"};
    for (int i = 0; i < 3; i++) {
        it_candidate_t c = it_candidate(ids[i]);
        if (i == 2)
            c.access_needs = IT_ACCESS(WHEELCHAIR); /* removed by accessibility */
        WzReply *r = it_register(kam, NULL, &c);
        it_ok(&r);
        r = it_grant(haarlem, NULL, ids[i], 2025, 2, 10 + i);
        it_ok(&r);
        it_wait_candidate_state(&it, ZKIJ, ids[i], IT_CSTATE(ACTIVE));
    }
    it_vacancy_t v = it_vacancy("PW-2025-0800");
    WzReply *r = it_publish(pre, NULL, &v);
    it_ok(&r);
    it_wait_vacancy_state(&it, ZKIJ, "PW-2025-0800", IT_VSTATE(OFFERED));

    char out[16384];
    /* The care provider reads why its candidate was chosen. */
    int rc = it_wzctl(&it, out, sizeof out, "--as", "ribw-kam", "explain", "PW-2025-0800/1", NULL);
    ck_assert_msg(rc == 0, "explain exited %d: %s", rc, out);
    HAS(out, "scheme          zkij-test (ranked)");
    HAS(out, "rank            1 (3 considered; 1 eligible found, 1 ranked after it not "
               "examined)");
    HAS(out, "rules, in order");
    HAS(out, "accessibility           1");
    HAS(out, "kam-0801 ranked first among the 2 who fit the dwelling and the scheme");
    HAS(out, "(not examined)          1");
    /* Only the municipality may replay (the snapshot shows other candidates). */
    rc = it_wzctl(&it, out, sizeof out, "--as", "ribw-kam", "explain", "PW-2025-0800/1", "--replay",
                  NULL);
    ck_assert_msg(rc == 1, "replay by a care provider exited %d: %s", rc, out);
    HAS(out, "FORBIDDEN");
    rc = it_wzctl(&it, out, sizeof out, "--as", "gem-haarlem", "explain", "PW-2025-0800/1",
                  "--replay", NULL);
    ck_assert_msg(rc == 0, "replay exited %d: %s", rc, out);
    HAS(out, "result          the same decision");
    /* Only the candidate walked, the other two counted in their buckets;
     * intake replayed it under its own policy and sent only counts. */
    HAS(out, "PW-2025-0800/1: 1 candidates walked, 2 buckets, 0 not active, 0 proposed before");
    HAS(out, "replayed under policy");
    HAS(out, "\n  accessibility           1       1\n");
    /* Tampered in Redis (a count of the stored decision): intake's replay
     * says what differs, and wzctl exits 1. */
    WzSnapshot *snap = (WzSnapshot *)it_load(&it, &woonzorg__v1__decision_snapshot__descriptor,
                                             ZKIJ, "m:snapshot", "PW-2025-0800/1");
    ck_assert_ptr_nonnull(snap);
    for (size_t i = 0; i < snap->explanation->n_filters; i++)
        if (strcmp(snap->explanation->filters[i]->rule, "accessibility") == 0)
            snap->explanation->filters[i]->removed = 2;
    size_t len = 0;
    uint8_t *bytes = wz_codec_pack(&snap->base, &len);
    char key[IT_KEY_MAX];
    it_key(&it, key, ZKIJ, "m:snapshot:%s", "PW-2025-0800/1");
    redisReply *set = wz_store_cmd(it.store, "SET %s %b", key, bytes, len);
    ck_assert_ptr_nonnull(set);
    freeReplyObject(set);
    free(bytes);
    WZ_FREE_UNPACKED(snap);
    rc = it_wzctl(&it, out, sizeof out, "--as", "gem-haarlem", "explain", "PW-2025-0800/1",
                  "--replay", NULL);
    ck_assert_msg(rc == 1, "replay of a tampered snapshot exited %d: %s", rc, out);
    HAS(out, "DIFFERENT from the stored decision: rule accessibility removed 2 in the decision, "
             "1 in the replay");
    HAS(out, "\n  accessibility           2       1  <- differs\n");

    /* A step out of turn is refused with what is expected. */
    rc = it_wzctl(&it, out, sizeof out, "--as", "pre-wonen", "confirm", "PW-2025-0800/1", "lease",
                  "ok", NULL);
    ck_assert_msg(rc == 1, "confirm lease exited %d: %s", rc, out);
    HAS(out, "step 'lease' is completed by sign_lease, not by confirm_step");
    /* Accepted: the route moves to the lease, which the corporation signs. */
    r = it_answer(kam, NULL, "PW-2025-0800/1", true, NULL);
    it_ok(&r);
    it_wait_vacancy_state(&it, ZKIJ, "PW-2025-0800", IT_VSTATE(ACCEPTED));
    int64_t deadline = wz_mono_ms() + IT_WAIT_MS;
    for (;;) {
        WzProposal *p = it_proposal(&it, ZKIJ, "PW-2025-0800/1");
        bool at_lease = p && strcmp(p->step, "lease") == 0;
        WZ_FREE_UNPACKED(p);
        if (at_lease)
            break;
        ck_assert_msg(wz_mono_ms() < deadline, "the proposal did not reach its lease step");
        usleep(20000);
    }
    r = it_sign(pre, NULL, "PW-2025-0800", IT_CONTRACT(THREE_PARTY));
    it_ok(&r);
    it_wait_vacancy_state(&it, ZKIJ, "PW-2025-0800", IT_VSTATE(LET));
    /* The let counts against Pré Wonen's contingent in Haarlem and the complex. */
    ck_assert_int_eq(it_count(&it, "ZCARD", ZKIJ, "m:spread:complex:pre-wonen/vijfhoek-3"), 1);

    wz_client_destroy(&kam);
    wz_client_destroy(&haarlem);
    wz_client_destroy(&pre);
    it_close(&it);
}
END_TEST

int main(void)
{
    TCase *tc =
        wz_test_case("explain", 240, (const TTest *const[]){test_explain_replay_and_route, NULL});
    return wz_test_run("explain", (TCase *const[]){tc, NULL});
}
