/* test_retention.c - retention and erasure (docs/security.md): a housed
 * candidate's records are purged retention.candidate_days after its lease
 * (the test moves the purge time into the past instead of waiting days),
 * a withdrawal of consent erases at once (also for a candidate already
 * withdrawn), a purge interrupted between matching's transaction and the
 * audit service's part is completed when the audit service is back, the
 * audit key goes with it while the chain still verifies, the decision
 * snapshots lose the candidate's attributes (the municipality's server-side
 * replay works before and says "erased" after, never showing an attribute),
 * and later requests about a purged candidate get a clear NOT_FOUND. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wz_it.h"
#include "wz_testfields.h"
#include "wz_testmain.h"

#define ZKIJ "zkij"
#define NO_EXPIRY 600
#define RETENTION_DAYS 2
#define DAY_MS 86400000LL

/* Every per-candidate key of docs/architecture.md that must be gone. */
static void s_check_gone(it_t *it, const char *id)
{
    static const char *const keys[] = {"candidate:%s", "m:candidate:%s", "m:open:%s",
                                       "audit:key:%s", "m:snaprefs:%s"};
    for (size_t i = 0; i < 5; i++) {
        char suffix[128];
        snprintf(suffix, sizeof suffix, keys[i], id);
        ck_assert_msg(!it_exists(it, ZKIJ, suffix), "%s survived the purge", suffix);
    }
    static const char *const sets[][2] = {
        {"SISMEMBER", "m:candidates"}, {"ZSCORE", "m:urgency"}, {"ZSCORE", "m:purge"}};
    for (size_t i = 0; i < 3; i++) {
        char key[IT_KEY_MAX];
        it_key(it, key, ZKIJ, "%s", sets[i][1]);
        redisReply *r = wz_store_cmd(it->store, "%s %s %s", sets[i][0], key, id);
        ck_assert_ptr_nonnull(r);
        ck_assert_msg(r->type == REDIS_REPLY_NIL ||
                          (r->type == REDIS_REPLY_INTEGER && r->integer == 0),
                      "%s still names %s", sets[i][1], id);
        freeReplyObject(r);
    }
}

/* Decision `decision` lists candidate id only as erased: its id, care
 * provider and municipality, nothing it was matched on. */
static void s_check_scrubbed(it_t *it, const char *decision, const char *id)
{
    WzSnapshot *snap = (WzSnapshot *)it_load(it, &woonzorg__v1__decision_snapshot__descriptor,
                                             ZKIJ, "m:snapshot", decision);
    ck_assert_ptr_nonnull(snap);
    size_t listed = 0;
    for (size_t i = 0; i < snap->n_candidates; i++) {
        if (strcmp(snap->candidates[i]->id, id) != 0)
            continue;
        listed++;
        char fields[256];
        wz_test_set_fields(&snap->candidates[i]->base, fields, sizeof fields);
        ck_assert_str_eq(fields, "id\ncare_provider\nmunicipality\nerased\n");
    }
    ck_assert_msg(listed == 1, "%s lists %s %zu times", decision, id, listed);
    WZ_FREE_UNPACKED(snap);
}

/* The replay of decision by municipality (a client of it): no candidate
 * attribute in the reply whatever the verdict, and the candidate's id only
 * when shows_id. Returns the verdict (the caller frees the reply). */
static WzReply *s_replay(wz_client_t *municipality, const char *decision, const char *id,
                         bool shows_id)
{
    WzReply *r = it_status(municipality, IT_KIND(REPLAY), decision);
    ck_assert_msg(r->code == IT_CODE(OK), "replay: %s", r->message);
    ck_assert_int_eq(r->result_case, WOONZORG__V1__REPLY__RESULT_REPLAY);
    static const char *const attributes[] = {
        "group",        "household",     "adults",       "age_band", "income_class",
        "access_needs", "care_location", "urgency_date", "summary",  "score",
        "rank",         NULL};
    char found[256] = "";
    ck_assert_msg(!wz_test_first_set(&r->base, attributes, found, sizeof found),
                  "the replay shows %s", found);
    size_t len = 0;
    uint8_t *bytes = wz_codec_pack(&r->base, &len);
    bool named = false;
    for (size_t i = 0; bytes && i + strlen(id) <= len && !named; i++)
        named = memcmp(bytes + i, id, strlen(id)) == 0;
    free(bytes);
    ck_assert_msg(named == shows_id, "the replay %s %s", named ? "names" : "does not name", id);
    return r;
}

#define VERDICT(x) WOONZORG__V1__REPLAY_VERDICT__OUTCOME__OUTCOME_##x

static void s_wait_gone(it_t *it, const char *suffix)
{
    int64_t deadline = wz_mono_ms() + IT_WAIT_MS;
    while (it_exists(it, ZKIJ, suffix)) {
        ck_assert_msg(wz_mono_ms() < deadline, "%s was not purged", suffix);
        zmq_poll(NULL, 0, 50);
    }
}

/* What the audit log says about the candidate, as its municipality reads it:
 * how many entries about it are still readable, the CandidatePurged entry
 * (its reason), and how many entries are erased. */
static void s_audit_about(it_t *it, const char *id, int *readable, char *purged_reason,
                          size_t reason_len, int *erased)
{
    wz_client_t *a = it_audit_client(it, "gem-haarlem");
    WzReply *r = it_audit_tail(a, 1000);
    ck_assert_int_eq(r->code, IT_CODE(OK));
    *readable = *erased = 0;
    purged_reason[0] = '\0';
    for (size_t i = 0; i < r->audit->n_entries; i++) {
        const WzAuditEntry *e = r->audit->entries[i];
        if (e->erased) {
            (*erased)++;
            continue;
        }
        const WzEvent *ev = e->event;
        if (!ev)
            continue;
        if (ev->payload_case == IT_EV(CANDIDATE_PURGED) &&
            !strcmp(ev->candidate_purged->candidate_id, id)) {
            snprintf(purged_reason, reason_len, "%s", ev->candidate_purged->reason);
        } else if ((ev->payload_case == IT_EV(CANDIDATE_REGISTERED) &&
                    !strcmp(ev->candidate_registered->candidate->id, id)) ||
                   (ev->payload_case == IT_EV(CANDIDATE_UPDATED) &&
                    !strcmp(ev->candidate_updated->candidate->id, id))) {
            (*readable)++;
        }
    }
    WZ_FREE_UNPACKED(r);
    wz_client_destroy(&a);
}

/* Registered, granted urgency, and offered the vacancy (which it is alone
 * to fit in the region). */
static void s_offered(it_t *it, wz_client_t *kam, wz_client_t *haarlem, wz_client_t *pre,
                      const char *id, const char *vacancy)
{
    it_candidate_t c = it_candidate(id);
    WzReply *r = it_register(kam, NULL, &c);
    it_ok(&r);
    r = it_grant(haarlem, NULL, id, 2025, 1, 5);
    it_ok(&r);
    it_wait_candidate_state(it, ZKIJ, id, IT_CSTATE(ACTIVE));
    it_vacancy_t v = it_vacancy(vacancy);
    r = it_publish(pre, NULL, &v);
    it_ok(&r);
    it_wait_vacancy_state(it, ZKIJ, vacancy, IT_VSTATE(OFFERED));
}

static WzReply *s_consent(wz_client_t *kam, const char *id, bool consent)
{
    it_candidate_t c = it_candidate(id);
    c.consent = consent;
    return it_register(kam, NULL, &c);
}

START_TEST(test_purged_after_retention)
{
    setenv("WZ_RETENTION_CANDIDATE_DAYS", "2", 1);
    it_t it;
    it_open(&it, NO_EXPIRY);
    unsetenv("WZ_RETENTION_CANDIDATE_DAYS");
    wz_client_t *kam = it_client(&it, "ribw-kam");
    wz_client_t *haarlem = it_client(&it, "gem-haarlem");
    wz_client_t *pre = it_client(&it, "pre-wonen");
    wz_listener_t *mail = it_listener(&it, "ribw-kam");

    /* Housed: kept for the retention period. */
    int64_t before = wz_now_ms();
    s_offered(&it, kam, haarlem, pre, "kam-0990", "PW-2025-0990");
    it_expect_drop(mail, "ribw-kam", IT_EV(URGENCY_GRANTED), "urgency");
    it_expect_drop(mail, "ribw-kam", IT_EV(PROPOSAL_CREATED), "proposal");
    WzReply *r = it_answer(kam, NULL, "PW-2025-0990/1", true, "");
    it_ok(&r);
    it_wait_vacancy_state(&it, ZKIJ, "PW-2025-0990", IT_VSTATE(ACCEPTED));
    r = it_sign(pre, NULL, "PW-2025-0990", IT_CONTRACT(THREE_PARTY));
    it_ok(&r);
    it_wait_candidate_state(&it, ZKIJ, "kam-0990", IT_CSTATE(HOUSED));
    int64_t after = wz_now_ms();
    char key[IT_KEY_MAX];
    it_key(&it, key, ZKIJ, "m:purge");
    redisReply *z = wz_store_cmd(it.store, "ZSCORE %s kam-0990", key);
    ck_assert_ptr_nonnull(z);
    ck_assert_int_eq(z->type, REDIS_REPLY_STRING);
    double at = atof(z->str);
    freeReplyObject(z);
    ck_assert_msg(at >= (double)(before + RETENTION_DAYS * DAY_MS) &&
                      at <= (double)(after + RETENTION_DAYS * DAY_MS),
                  "purge at %.0f, not %d days after the lease", at, RETENTION_DAYS);
    r = it_status(kam, IT_KIND(CANDIDATE), "kam-0990");
    ck_assert_int_eq(r->code, IT_CODE(OK));
    ck_assert_int_eq(r->candidate->state, IT_CSTATE(HOUSED));
    WZ_FREE_UNPACKED(r);
    ck_assert(it_exists(&it, ZKIJ, "candidate:kam-0990"));
    ck_assert(it_exists(&it, ZKIJ, "audit:key:kam-0990"));
    /* The municipalities replay the decision on the suite's side: the
     * same, with the counts; the candidate's attributes never leave. */
    wz_client_t *heemstede = it_client(&it, "gem-heemstede");
    ck_assert(it_exists(&it, ZKIJ, "m:snaprefs:kam-0990"));
    r = s_replay(haarlem, "PW-2025-0990/1", "kam-0990", false);
    ck_assert_msg(r->replay->outcome == VERDICT(SAME), "replay: %s", r->message);
    ck_assert_uint_eq(r->replay->walked, 1);
    ck_assert_uint_ge(r->replay->replayed->considered, 1);
    WZ_FREE_UNPACKED(r);
    r = s_replay(heemstede, "PW-2025-0990/1", "kam-0990", false);
    ck_assert_int_eq(r->replay->outcome, VERDICT(SAME));
    WZ_FREE_UNPACKED(r);

    /* The two days pass (on the purge's clock). */
    z = wz_store_cmd(it.store, "ZADD %s XX %lld kam-0990", key, (long long)wz_now_ms() - 1);
    ck_assert_ptr_nonnull(z);
    freeReplyObject(z);
    s_wait_gone(&it, "m:candidate:kam-0990");
    s_wait_gone(&it, "audit:key:kam-0990");
    s_check_gone(&it, "kam-0990");
    /* The proposal stays, as the vacancy's history, naming only the pseudonym. */
    WzProposal *p = it_proposal(&it, ZKIJ, "PW-2025-0990/1");
    ck_assert_int_eq(p->state, IT_PSTATE(LET));
    WZ_FREE_UNPACKED(p);
    /* Its decision snapshot lost the attributes: the replay says why it
     * cannot be done, naming the candidate to its own municipality only. */
    s_check_scrubbed(&it, "PW-2025-0990/1", "kam-0990");
    r = s_replay(haarlem, "PW-2025-0990/1", "kam-0990", true);
    ck_assert_int_eq(r->replay->outcome, VERDICT(CANNOT_REPLAY));
    ck_assert_str_eq(r->replay->reason, "candidate kam-0990's data was erased (retention period "
                                        "ended or consent withdrawn)");
    WZ_FREE_UNPACKED(r);
    r = s_replay(heemstede, "PW-2025-0990/1", "kam-0990", false);
    ck_assert_int_eq(r->replay->outcome, VERDICT(CANNOT_REPLAY));
    ck_assert_ptr_nonnull(strstr(r->replay->reason, "was erased"));
    WZ_FREE_UNPACKED(r);
    wz_client_destroy(&heemstede);
    /* The care provider hears of it; the audit holds that it happened. */
    it_expect_drop(mail, "ribw-kam", IT_EV(PROPOSAL_ADVANCED), "step");
    WzDelivery *d = it_expect(mail, "ribw-kam", IT_EV(VACANCY_LET), "let");
    WZ_FREE_UNPACKED(d);
    d = it_expect(mail, "ribw-kam", IT_EV(CANDIDATE_PURGED), "erased");
    ck_assert_str_eq(d->event->candidate_purged->candidate_id, "kam-0990");
    ck_assert_str_eq(d->event->candidate_purged->reason, "retention");
    WZ_FREE_UNPACKED(d);
    static const int chain[] = {IT_EV(LEASE_SIGNED), IT_EV(VACANCY_LET), IT_EV(CANDIDATE_PURGED)};
    it_wait_audit_order(&it, "gem-haarlem", chain, 3);
    int readable = 0, erased = 0;
    char reason[32];
    s_audit_about(&it, "kam-0990", &readable, reason, sizeof reason, &erased);
    ck_assert_int_eq(readable, 0);
    ck_assert_int_ge(erased, 1); /* its registration */
    ck_assert_str_eq(reason, "retention");
    it_verify_intact(&it, ZKIJ, "after the purge");

    /* Afterwards: a clear NOT_FOUND that says why it may be gone. */
    r = it_status(kam, IT_KIND(CANDIDATE), "kam-0990");
    ck_assert_int_eq(r->code, IT_CODE(NOT_FOUND));
    ck_assert_msg(strstr(r->message, "erased") != NULL, "status: %s", r->message);
    WZ_FREE_UNPACKED(r);
    r = it_grant(haarlem, NULL, "kam-0990", 2025, 2, 1);
    it_refused(&r, IT_CODE(NOT_FOUND), "grant_urgency.candidate_id");

    wz_listener_destroy(&mail);
    wz_client_destroy(&kam);
    wz_client_destroy(&haarlem);
    wz_client_destroy(&pre);
    it_close(&it);
}
END_TEST

START_TEST(test_consent_withdrawn_erases_at_once)
{
    it_t it;
    it_open(&it, NO_EXPIRY);
    wz_client_t *kam = it_client(&it, "ribw-kam");
    wz_client_t *haarlem = it_client(&it, "gem-haarlem");
    wz_client_t *pre = it_client(&it, "pre-wonen");
    s_offered(&it, kam, haarlem, pre, "kam-0991", "PW-2025-0991");
    ck_assert(it_exists(&it, ZKIJ, "audit:key:kam-0991"));

    /* The audit service dies: the purge is cut between matching's
     * transaction and the audit service's part. */
    wz_testenv_stop_service(it.env, "audit", SIGKILL);
    WzReply *r = s_consent(kam, "kam-0991", false);
    it_ok(&r);
    s_wait_gone(&it, "m:candidate:kam-0991");
    ck_assert(!it_exists(&it, ZKIJ, "candidate:kam-0991"));
    ck_assert(it_exists(&it, ZKIJ, "audit:key:kam-0991"));
    WzProposal *p = it_proposal(&it, ZKIJ, "PW-2025-0991/1");
    ck_assert_int_eq(p->state, IT_PSTATE(CANCELLED));
    WZ_FREE_UNPACKED(p);
    /* Matching's part includes the decision snapshots. */
    s_check_scrubbed(&it, "PW-2025-0991/1", "kam-0991");
    ck_assert(!it_exists(&it, ZKIJ, "m:snaprefs:kam-0991"));
    /* Back: it takes up the purge from its cursor and destroys the key. */
    wz_testenv_start_service(it.env, "audit");
    s_wait_gone(&it, "audit:key:kam-0991");
    s_check_gone(&it, "kam-0991");
    /* (The update itself is sealed and now erased.) */
    static const int chain[] = {IT_EV(PROPOSAL_CANCELLED), IT_EV(CANDIDATE_PURGED)};
    it_wait_audit_order(&it, "gem-haarlem", chain, 2);
    int readable = 0, erased = 0;
    char reason[32];
    s_audit_about(&it, "kam-0991", &readable, reason, sizeof reason, &erased);
    ck_assert_int_eq(readable, 0);
    ck_assert_int_ge(erased, 2); /* the registration and the update */
    ck_assert_str_eq(reason, "consent");

    /* A candidate already withdrawn withdraws consent: erased at once too,
     * not after the retention period. */
    it_candidate_t c = it_candidate("kam-0992");
    r = it_register(kam, NULL, &c);
    it_ok(&r);
    Woonzorg__V1__IdRef ref = WOONZORG__V1__ID_REF__INIT;
    ref.id = "kam-0992";
    WzRequest req = WOONZORG__V1__REQUEST__INIT;
    req.body_case = WOONZORG__V1__REQUEST__BODY_WITHDRAW_CANDIDATE;
    req.withdraw_candidate = &ref;
    r = it_send(kam, &req);
    it_ok(&r);
    it_wait_candidate_state(&it, ZKIJ, "kam-0992", IT_CSTATE(WITHDRAWN));
    ck_assert(it_exists(&it, ZKIJ, "candidate:kam-0992"));
    r = s_consent(kam, "kam-0992", false);
    it_ok(&r);
    s_wait_gone(&it, "m:candidate:kam-0992");
    s_wait_gone(&it, "audit:key:kam-0992");
    s_check_gone(&it, "kam-0992");
    it_verify_intact(&it, ZKIJ, "after the purge");

    /* Afterwards: clear errors, nothing revived. */
    r = it_status(kam, IT_KIND(CANDIDATE), "kam-0991");
    ck_assert_int_eq(r->code, IT_CODE(NOT_FOUND));
    ck_assert_msg(strstr(r->message, "erased") != NULL, "status: %s", r->message);
    WZ_FREE_UNPACKED(r);
    r = it_answer(kam, NULL, "PW-2025-0991/1", true, "");
    ck_assert_int_eq(r->code, IT_CODE(CONFLICT));
    ck_assert_msg(strstr(r->message, "cancelled") != NULL, "answer: %s", r->message);
    WZ_FREE_UNPACKED(r);
    r = it_send(kam, &req);
    it_refused(&r, IT_CODE(NOT_FOUND), "withdraw_candidate.id");
    r = s_consent(kam, "kam-0991", false);
    it_refused(&r, IT_CODE(INVALID), "register_candidate.consent");
    ck_assert(!it_exists(&it, ZKIJ, "candidate:kam-0991"));

    wz_client_destroy(&kam);
    wz_client_destroy(&haarlem);
    wz_client_destroy(&pre);
    it_close(&it);
}
END_TEST

int main(void)
{
    TCase *tc = wz_test_case("retention", IT_TCASE_TIMEOUT,
                             (const TTest *const[]){test_purged_after_retention,
                                                    test_consent_withdrawn_erases_at_once, NULL});
    return wz_test_run("retention", (TCase *const[]){tc, NULL});
}
