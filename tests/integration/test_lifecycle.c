/* test_lifecycle.c - the whole suite through its real endpoints: the
 * lifecycle of DESIGN §1 (happy path, decline, expiry, release, withdrawal,
 * competition between vacancies, idempotent retries), asserting what every
 * party receives, in order, and what is stored in Redis. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "wz_it.h"
#include "wz_testmain.h"
#include "wz_match.h"

#define ZKIJ "zkij"
#define NO_EXPIRY 600

/* Registers a candidate for care and has the municipality grant urgency on
 * the given date; the care provider's listener sees the grant. */
static void s_active_candidate(wz_client_t *care, wz_listener_t *care_mail, const char *care_id,
                               wz_client_t *municipality, const it_candidate_t *c, int year,
                               int month, int day)
{
    WzReply *r = it_register(care, NULL, c);
    it_ok(&r);
    r = it_grant(municipality, NULL, c->id, year, month, day);
    it_ok(&r);
    WzDelivery *d = it_expect(care_mail, care_id, IT_EV(URGENCY_GRANTED), "urgency");
    ck_assert_str_eq(d->event->urgency_granted->candidate_id, c->id);
    ck_assert_int_eq(d->event->urgency_granted->date->year, year);
    WZ_FREE_UNPACKED(d);
}

/* Expects ProposalCreated for the care provider (reason "proposal") and
 * returns the delivery; checks the proposal and its explanation. */
static WzDelivery *s_expect_proposal(wz_listener_t *care_mail, const char *care_id,
                                     const char *vacancy, const char *candidate, uint32_t round,
                                     uint32_t eligible)
{
    WzDelivery *d = it_expect(care_mail, care_id, IT_EV(PROPOSAL_CREATED), "proposal");
    const WzProposal *p = d->event->proposal_created->proposal;
    ck_assert_ptr_nonnull(p);
    char want_id[128];
    snprintf(want_id, sizeof want_id, "%s/%u", vacancy, round);
    ck_assert_str_eq(p->id, want_id);
    ck_assert_str_eq(p->vacancy_id, vacancy);
    ck_assert_str_eq(p->candidate_id, candidate);
    ck_assert_str_eq(p->care_provider, care_id);
    ck_assert_int_eq(p->state, IT_PSTATE(SENT));
    ck_assert_uint_eq(p->round, round);
    ck_assert_int_gt(p->deadline_ms, p->created_ms);
    ck_assert_ptr_nonnull(p->explanation);
    ck_assert_uint_eq(p->explanation->rank, 1);
    /* The index stops at the first eligible candidate: the others eligible
     * rank after it, among those not examined. */
    ck_assert_uint_eq(p->explanation->eligible, 1);
    ck_assert_uint_ge(p->explanation->eligible + p->explanation->not_examined, eligible);
    ck_assert_uint_ge(p->explanation->considered, eligible);
    ck_assert_uint_eq(p->explanation->n_filters, WZ_MATCH_RULES);
    ck_assert_msg(p->explanation->summary[0] != '\0', "explanation without a summary");
    ck_assert_msg(p->explanation->ranking[0] != '\0', "explanation without its ranking rule");
    ck_assert_ptr_nonnull(d->event->proposal_created->vacancy);
    ck_assert_str_eq(d->event->proposal_created->vacancy->id, vacancy);
    return d;
}

/* How many candidates the named filter removed in an explanation. */
static uint32_t s_removed(const WzExplanation *e, const char *rule)
{
    for (size_t i = 0; i < e->n_filters; i++)
        if (strcmp(e->filters[i]->rule, rule) == 0)
            return e->filters[i]->removed;
    ck_abort_msg("explanation has no filter %s", rule);
    return 0;
}

START_TEST(test_happy_path)
{
    it_t it;
    it_open(&it, NO_EXPIRY);
    wz_client_t *corp = it_client(&it, "pre-wonen");
    wz_client_t *care = it_client(&it, "ribw-kam");
    wz_client_t *muni = it_client(&it, "gem-haarlem");
    wz_listener_t *corp_mail = it_listener(&it, "pre-wonen");
    wz_listener_t *care_mail = it_listener(&it, "ribw-kam");
    wz_listener_t *muni_mail = it_listener(&it, "gem-haarlem");

    it_candidate_t cand = it_candidate("kam-0012");
    s_active_candidate(care, care_mail, "ribw-kam", muni, &cand, 2025, 3, 14);
    /* Notification and matching follow intake independently: wait for matching. */
    it_wait_candidate_state(&it, ZKIJ, "kam-0012", IT_CSTATE(ACTIVE));

    it_vacancy_t vac = it_vacancy("PW-2025-0142");
    WzReply *r = it_publish(corp, NULL, &vac);
    ck_assert_str_eq(r->id, "PW-2025-0142");
    it_ok(&r);

    /* The care provider gets the proposal with its explanation. */
    WzDelivery *d = s_expect_proposal(care_mail, "ribw-kam", "PW-2025-0142", "kam-0012", 1, 1);
    ck_assert_str_eq(d->event->proposal_created->proposal->corporation, "pre-wonen");
    ck_assert_str_eq(d->event->proposal_created->proposal->municipality, "haarlem");
    WZ_FREE_UNPACKED(d);
    /* The municipality sees the publication and the proposal; the corporation the proposal. */
    d = it_expect(muni_mail, "gem-haarlem", IT_EV(VACANCY_PUBLISHED), "information");
    ck_assert_str_eq(d->event->vacancy_published->vacancy->corporation, "pre-wonen");
    ck_assert_str_eq(d->event->vacancy_published->vacancy->region, ZKIJ);
    WZ_FREE_UNPACKED(d);
    d = it_expect(muni_mail, "gem-haarlem", IT_EV(PROPOSAL_CREATED), "information");
    ck_assert_str_eq(d->event->proposal_created->proposal->id, "PW-2025-0142/1");
    WZ_FREE_UNPACKED(d);
    d = it_expect(corp_mail, "pre-wonen", IT_EV(PROPOSAL_CREATED), "information");
    /* Not yet whom (test_minimise checks every party's view). */
    ck_assert_str_eq(d->event->proposal_created->proposal->candidate_id, "");
    WZ_FREE_UNPACKED(d);

    /* Redis: the vacancy is offered, the proposal sent, the deadline set. */
    WzVacancy *mv = it_m_vacancy(&it, ZKIJ, "PW-2025-0142");
    ck_assert_ptr_nonnull(mv);
    ck_assert_int_eq(mv->state, IT_VSTATE(OFFERED));
    ck_assert_str_eq(mv->proposal_id, "PW-2025-0142/1");
    WZ_FREE_UNPACKED(mv);
    WzProposal *p = it_proposal(&it, ZKIJ, "PW-2025-0142/1");
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(p->state, IT_PSTATE(SENT));
    WZ_FREE_UNPACKED(p);
    char open[128];
    it_get_str(&it, ZKIJ, "m:open:kam-0012", open, sizeof open);
    ck_assert_str_eq(open, "PW-2025-0142/1");
    ck_assert_int_eq(it_count(&it, "ZCARD", ZKIJ, "deadlines"), 1);

    /* Accept: the corporation and the municipality are told. */
    r = it_answer(care, NULL, "PW-2025-0142/1", true, NULL);
    it_ok(&r);
    d = it_expect(corp_mail, "pre-wonen", IT_EV(PROPOSAL_ANSWERED), "answered");
    ck_assert(d->event->proposal_answered->accepted);
    WZ_FREE_UNPACKED(d);
    it_expect_drop(muni_mail, "gem-haarlem", IT_EV(PROPOSAL_ANSWERED), "answered");
    /* The route moves on to the lease, the corporation's step, with its own deadline. */
    d = it_expect(corp_mail, "pre-wonen", IT_EV(PROPOSAL_ADVANCED), "step");
    ck_assert_str_eq(d->event->proposal_advanced->done_step, "answer");
    ck_assert_str_eq(d->event->proposal_advanced->proposal->step, "lease");
    WZ_FREE_UNPACKED(d);
    it_expect_drop(muni_mail, "gem-haarlem", IT_EV(PROPOSAL_ADVANCED), "step");
    it_expect_drop(care_mail, "ribw-kam", IT_EV(PROPOSAL_ADVANCED), "step");
    it_wait_vacancy_state(&it, ZKIJ, "PW-2025-0142", IT_VSTATE(ACCEPTED));
    ck_assert_int_eq(it_count(&it, "ZCARD", ZKIJ, "deadlines"), 1);

    /* The lease is signed: let, and everyone involved hears it. */
    r = it_sign(corp, NULL, "PW-2025-0142", IT_CONTRACT(THREE_PARTY));
    it_ok(&r);
    d = it_expect(care_mail, "ribw-kam", IT_EV(VACANCY_LET), "let");
    ck_assert_int_eq(d->event->vacancy_let->vacancy->state, IT_VSTATE(LET));
    ck_assert_int_eq(d->event->vacancy_let->proposal->contract, IT_CONTRACT(THREE_PARTY));
    WZ_FREE_UNPACKED(d);
    it_expect_drop(corp_mail, "pre-wonen", IT_EV(VACANCY_LET), "let");
    it_expect_drop(muni_mail, "gem-haarlem", IT_EV(VACANCY_LET), "let");

    /* Status, as the parties see it. */
    r = it_status(corp, IT_KIND(VACANCY), "PW-2025-0142");
    ck_assert_int_eq(r->code, IT_CODE(OK));
    ck_assert_int_eq(r->result_case, WOONZORG__V1__REPLY__RESULT_VACANCY);
    ck_assert_int_eq(r->vacancy->state, IT_VSTATE(LET));
    WZ_FREE_UNPACKED(r);
    r = it_status(care, IT_KIND(CANDIDATE), "kam-0012");
    ck_assert_int_eq(r->code, IT_CODE(OK));
    ck_assert_int_eq(r->candidate->state, IT_CSTATE(HOUSED));
    WZ_FREE_UNPACKED(r);
    r = it_status(muni, IT_KIND(PROPOSAL), "PW-2025-0142/1");
    ck_assert_int_eq(r->code, IT_CODE(OK));
    ck_assert_int_eq(r->proposal->state, IT_PSTATE(LET));
    WZ_FREE_UNPACKED(r);
    char open_after[128];
    it_get_str(&it, ZKIJ, "m:open:kam-0012", open_after, sizeof open_after);
    ck_assert_str_eq(open_after, "");

    /* The municipality's audit log holds every step, in order, hash-linked. */
    static const int steps[] = {IT_EV(CANDIDATE_REGISTERED), IT_EV(URGENCY_GRANTED),
                                IT_EV(VACANCY_PUBLISHED),    IT_EV(PROPOSAL_CREATED),
                                IT_EV(PROPOSAL_ANSWERED),    IT_EV(LEASE_SIGNED),
                                IT_EV(VACANCY_LET)};
    it_wait_audit_order(&it, "gem-haarlem", steps, sizeof steps / sizeof steps[0]);

    /* Nothing else was delivered to anyone. */
    it_expect_nothing(care_mail, "ribw-kam", 300);
    it_expect_nothing(corp_mail, "pre-wonen", 100);
    it_expect_nothing(muni_mail, "gem-haarlem", 100);

    wz_listener_destroy(&corp_mail);
    wz_listener_destroy(&care_mail);
    wz_listener_destroy(&muni_mail);
    wz_client_destroy(&corp);
    wz_client_destroy(&care);
    wz_client_destroy(&muni);
    it_close(&it);
}
END_TEST

START_TEST(test_decline_moves_to_next_candidate)
{
    it_t it;
    it_open(&it, NO_EXPIRY);
    wz_client_t *corp = it_client(&it, "pre-wonen");
    wz_client_t *kam = it_client(&it, "ribw-kam");
    wz_client_t *dock = it_client(&it, "dock");
    wz_client_t *muni = it_client(&it, "gem-haarlem");
    wz_listener_t *corp_mail = it_listener(&it, "pre-wonen");
    wz_listener_t *kam_mail = it_listener(&it, "ribw-kam");
    wz_listener_t *dock_mail = it_listener(&it, "dock");

    /* kam-0001 has waited longest, so it is asked first. */
    it_candidate_t a = it_candidate("kam-0001");
    it_candidate_t b = it_candidate("dock-0001");
    s_active_candidate(kam, kam_mail, "ribw-kam", muni, &a, 2025, 1, 10);
    s_active_candidate(dock, dock_mail, "dock", muni, &b, 2025, 3, 1);

    it_vacancy_t vac = it_vacancy("PW-2025-0150");
    WzReply *r = it_publish(corp, NULL, &vac);
    it_ok(&r);
    WzDelivery *d = s_expect_proposal(kam_mail, "ribw-kam", "PW-2025-0150", "kam-0001", 1, 2);
    WZ_FREE_UNPACKED(d);
    it_expect_drop(corp_mail, "pre-wonen", IT_EV(PROPOSAL_CREATED), "information");

    r = it_answer(kam, NULL, "PW-2025-0150/1", false, "dwelling_unsuitable: client prefers Schalkwijk");
    it_ok(&r);
    d = it_expect(corp_mail, "pre-wonen", IT_EV(PROPOSAL_ANSWERED), "answered");
    ck_assert(!d->event->proposal_answered->accepted);
    ck_assert_str_eq(d->event->proposal_answered->reason, "dwelling_unsuitable: client prefers Schalkwijk");
    WZ_FREE_UNPACKED(d);

    /* The next eligible candidate gets round 2; the first was asked already. */
    d = s_expect_proposal(dock_mail, "dock", "PW-2025-0150", "dock-0001", 2, 1);
    ck_assert_uint_eq(
        s_removed(d->event->proposal_created->proposal->explanation, "already_proposed"), 1);
    WZ_FREE_UNPACKED(d);
    it_expect_drop(corp_mail, "pre-wonen", IT_EV(PROPOSAL_CREATED), "information");

    WzProposal *p = it_proposal(&it, ZKIJ, "PW-2025-0150/1");
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(p->state, IT_PSTATE(DECLINED));
    ck_assert_str_eq(p->decline_reason, "dwelling_unsuitable: client prefers Schalkwijk");
    WZ_FREE_UNPACKED(p);
    WzVacancy *mv = it_m_vacancy(&it, ZKIJ, "PW-2025-0150");
    ck_assert_int_eq(mv->state, IT_VSTATE(OFFERED));
    ck_assert_str_eq(mv->proposal_id, "PW-2025-0150/2");
    WZ_FREE_UNPACKED(mv);
    WzCandidate *mc = it_m_candidate(&it, ZKIJ, "kam-0001");
    ck_assert_int_eq(mc->state, IT_CSTATE(ACTIVE));
    WZ_FREE_UNPACKED(mc);
    ck_assert_int_eq(it_count(&it, "SCARD", ZKIJ, "m:tried:PW-2025-0150"), 2);

    /* A second answer to the declined proposal is a conflict and changes nothing. */
    long long before = it_stream_len(&it, ZKIJ, "intake");
    r = it_answer(kam, NULL, "PW-2025-0150/1", true, NULL);
    it_refused(&r, IT_CODE(CONFLICT), "answer.proposal_id");
    ck_assert_int_eq(it_stream_len(&it, ZKIJ, "intake"), before);
    /* The declining care provider hears nothing of round 2. */
    it_expect_nothing(kam_mail, "ribw-kam", 300);

    wz_listener_destroy(&corp_mail);
    wz_listener_destroy(&kam_mail);
    wz_listener_destroy(&dock_mail);
    wz_client_destroy(&corp);
    wz_client_destroy(&kam);
    wz_client_destroy(&dock);
    wz_client_destroy(&muni);
    it_close(&it);
}
END_TEST

START_TEST(test_expiry_moves_to_next_candidate)
{
    it_t it;
    it_open(&it, 2); /* proposals expire after 2 seconds */
    wz_client_t *corp = it_client(&it, "pre-wonen");
    wz_client_t *kam = it_client(&it, "ribw-kam");
    wz_client_t *dock = it_client(&it, "dock");
    wz_client_t *muni = it_client(&it, "gem-haarlem");
    wz_listener_t *corp_mail = it_listener(&it, "pre-wonen");
    wz_listener_t *kam_mail = it_listener(&it, "ribw-kam");
    wz_listener_t *dock_mail = it_listener(&it, "dock");

    it_candidate_t a = it_candidate("kam-0002");
    it_candidate_t b = it_candidate("dock-0002");
    s_active_candidate(kam, kam_mail, "ribw-kam", muni, &a, 2024, 11, 1);
    s_active_candidate(dock, dock_mail, "dock", muni, &b, 2025, 2, 1);

    it_vacancy_t vac = it_vacancy("PW-2025-0160");
    WzReply *r = it_publish(corp, NULL, &vac);
    it_ok(&r);
    WzDelivery *d = s_expect_proposal(kam_mail, "ribw-kam", "PW-2025-0160", "kam-0002", 1, 2);
    int64_t deadline = d->event->proposal_created->proposal->deadline_ms;
    int64_t created = d->event->proposal_created->proposal->created_ms;
    ck_assert_int_le(deadline - created, 2000 + 10);
    WZ_FREE_UNPACKED(d);
    it_expect_drop(corp_mail, "pre-wonen", IT_EV(PROPOSAL_CREATED), "information");

    /* Nobody answers: matching's timer expires it and asks the next one. */
    d = it_expect(kam_mail, "ribw-kam", IT_EV(PROPOSAL_EXPIRED), "expired");
    ck_assert_str_eq(d->event->proposal_expired->proposal->id, "PW-2025-0160/1");
    ck_assert_int_eq(d->event->proposal_expired->proposal->state, IT_PSTATE(EXPIRED));
    WZ_FREE_UNPACKED(d);
    ck_assert_int_ge(wz_now_ms(), deadline);
    it_expect_drop(corp_mail, "pre-wonen", IT_EV(PROPOSAL_EXPIRED), "expired");
    d = s_expect_proposal(dock_mail, "dock", "PW-2025-0160", "dock-0002", 2, 1);
    WZ_FREE_UNPACKED(d);
    it_expect_drop(corp_mail, "pre-wonen", IT_EV(PROPOSAL_CREATED), "information");

    WzProposal *p = it_proposal(&it, ZKIJ, "PW-2025-0160/1");
    ck_assert_int_eq(p->state, IT_PSTATE(EXPIRED));
    WZ_FREE_UNPACKED(p);
    WzCandidate *mc = it_m_candidate(&it, ZKIJ, "kam-0002");
    ck_assert_int_eq(mc->state, IT_CSTATE(ACTIVE));
    WZ_FREE_UNPACKED(mc);

    /* Too late to answer the expired one. */
    r = it_answer(kam, NULL, "PW-2025-0160/1", true, NULL);
    it_refused(&r, IT_CODE(CONFLICT), "answer.proposal_id");

    /* The second expires too; nobody is left, so the vacancy is released. */
    it_expect_drop(dock_mail, "dock", IT_EV(PROPOSAL_EXPIRED), "expired");
    it_expect_drop(corp_mail, "pre-wonen", IT_EV(PROPOSAL_EXPIRED), "expired");
    d = it_expect(corp_mail, "pre-wonen", IT_EV(VACANCY_RELEASED), "released");
    ck_assert_uint_eq(d->event->vacancy_released->explanation->eligible, 0);
    ck_assert_uint_eq(s_removed(d->event->vacancy_released->explanation, "already_proposed"), 2);
    WZ_FREE_UNPACKED(d);
    WzVacancy *mv = it_m_vacancy(&it, ZKIJ, "PW-2025-0160");
    ck_assert_int_eq(mv->state, IT_VSTATE(RELEASED));
    WZ_FREE_UNPACKED(mv);
    ck_assert_int_eq(it_count(&it, "ZCARD", ZKIJ, "deadlines"), 0);

    wz_listener_destroy(&corp_mail);
    wz_listener_destroy(&kam_mail);
    wz_listener_destroy(&dock_mail);
    wz_client_destroy(&corp);
    wz_client_destroy(&kam);
    wz_client_destroy(&dock);
    wz_client_destroy(&muni);
    it_close(&it);
}
END_TEST

START_TEST(test_no_candidate_releases)
{
    it_t it;
    it_open(&it, NO_EXPIRY);
    wz_client_t *corp = it_client(&it, "ymere");
    wz_client_t *kam = it_client(&it, "ribw-kam");
    wz_client_t *muni = it_client(&it, "gem-haarlem");
    wz_listener_t *corp_mail = it_listener(&it, "ymere");
    wz_listener_t *kam_mail = it_listener(&it, "ribw-kam");
    wz_listener_t *muni_mail = it_listener(&it, "gem-haarlem");

    /* One single candidate, and a family flat whose rent is above what
     * passend toewijzen allows for that household. */
    it_candidate_t a = it_candidate("kam-0003");
    s_active_candidate(kam, kam_mail, "ribw-kam", muni, &a, 2025, 1, 6);
    it_vacancy_t vac = it_vacancy("YM-2025-0871");
    vac.neighbourhood = "BU03921003";
    vac.complex = "boerhaavewijk-2";
    vac.address = "Aart van der Leeuwstraat 41";
    vac.rooms = 3;
    vac.area_m2 = 72;
    vac.rent_cents = 84500;
    WzReply *r = it_publish(corp, NULL, &vac);
    it_ok(&r);

    it_expect_drop(muni_mail, "gem-haarlem", IT_EV(VACANCY_PUBLISHED), "information");
    WzDelivery *d = it_expect(corp_mail, "ymere", IT_EV(VACANCY_RELEASED), "released");
    const WzExplanation *e = d->event->vacancy_released->explanation;
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->considered, 1);
    ck_assert_uint_eq(e->eligible, 0);
    ck_assert_uint_eq(e->rank, 0);
    ck_assert_uint_eq(s_removed(e, "rent"), 1);
    ck_assert_msg(e->summary[0] != '\0', "release without a summary");
    ck_assert_int_eq(d->event->vacancy_released->vacancy->state, IT_VSTATE(RELEASED));
    WZ_FREE_UNPACKED(d);
    it_expect_drop(muni_mail, "gem-haarlem", IT_EV(VACANCY_RELEASED), "released");

    WzVacancy *mv = it_m_vacancy(&it, ZKIJ, "YM-2025-0871");
    ck_assert_int_eq(mv->state, IT_VSTATE(RELEASED));
    ck_assert_str_eq(mv->proposal_id, "");
    WZ_FREE_UNPACKED(mv);
    ck_assert(!it_exists(&it, ZKIJ, "proposal:YM-2025-0871/1"));
    r = it_status(corp, IT_KIND(VACANCY), "YM-2025-0871");
    ck_assert_int_eq(r->code, IT_CODE(OK));
    ck_assert_int_eq(r->vacancy->state, IT_VSTATE(RELEASED));
    WZ_FREE_UNPACKED(r);
    /* The care provider was never asked. */
    it_expect_nothing(kam_mail, "ribw-kam", 300);

    wz_listener_destroy(&corp_mail);
    wz_listener_destroy(&kam_mail);
    wz_listener_destroy(&muni_mail);
    wz_client_destroy(&corp);
    wz_client_destroy(&kam);
    wz_client_destroy(&muni);
    it_close(&it);
}
END_TEST

START_TEST(test_withdraw_while_offered)
{
    it_t it;
    it_open(&it, NO_EXPIRY);
    wz_client_t *corp = it_client(&it, "pre-wonen");
    wz_client_t *kam = it_client(&it, "ribw-kam");
    wz_client_t *muni = it_client(&it, "gem-haarlem");
    wz_listener_t *corp_mail = it_listener(&it, "pre-wonen");
    wz_listener_t *kam_mail = it_listener(&it, "ribw-kam");
    wz_listener_t *muni_mail = it_listener(&it, "gem-haarlem");

    it_candidate_t a = it_candidate("kam-0004");
    s_active_candidate(kam, kam_mail, "ribw-kam", muni, &a, 2025, 2, 17);
    it_vacancy_t vac = it_vacancy("PW-2025-0170");
    WzReply *r = it_publish(corp, NULL, &vac);
    it_ok(&r);
    WzDelivery *d = s_expect_proposal(kam_mail, "ribw-kam", "PW-2025-0170", "kam-0004", 1, 1);
    WZ_FREE_UNPACKED(d);
    it_expect_drop(muni_mail, "gem-haarlem", IT_EV(VACANCY_PUBLISHED), "information");
    it_expect_drop(muni_mail, "gem-haarlem", IT_EV(PROPOSAL_CREATED), "information");
    it_expect_drop(corp_mail, "pre-wonen", IT_EV(PROPOSAL_CREATED), "information");

    r = it_withdraw(corp, NULL, "PW-2025-0170");
    it_ok(&r);
    d = it_expect(kam_mail, "ribw-kam", IT_EV(PROPOSAL_CANCELLED), "cancelled");
    ck_assert_str_eq(d->event->proposal_cancelled->proposal->id, "PW-2025-0170/1");
    ck_assert_int_eq(d->event->proposal_cancelled->proposal->state, IT_PSTATE(CANCELLED));
    ck_assert_msg(d->event->proposal_cancelled->reason[0] != '\0', "cancelled without a reason");
    WZ_FREE_UNPACKED(d);
    it_expect_drop(corp_mail, "pre-wonen", IT_EV(PROPOSAL_CANCELLED), "cancelled");
    it_expect_drop(muni_mail, "gem-haarlem", IT_EV(VACANCY_WITHDRAWN), "information");
    it_expect_drop(muni_mail, "gem-haarlem", IT_EV(PROPOSAL_CANCELLED), "cancelled");

    it_wait_vacancy_state(&it, ZKIJ, "PW-2025-0170", IT_VSTATE(WITHDRAWN));
    WzProposal *p = it_proposal(&it, ZKIJ, "PW-2025-0170/1");
    ck_assert_int_eq(p->state, IT_PSTATE(CANCELLED));
    WZ_FREE_UNPACKED(p);
    WzCandidate *mc = it_m_candidate(&it, ZKIJ, "kam-0004");
    ck_assert_int_eq(mc->state, IT_CSTATE(ACTIVE));
    WZ_FREE_UNPACKED(mc);
    ck_assert(!it_exists(&it, ZKIJ, "m:open:kam-0004"));
    ck_assert_int_eq(it_count(&it, "ZCARD", ZKIJ, "deadlines"), 0);

    /* The cancelled proposal can no longer be accepted. */
    r = it_answer(kam, NULL, "PW-2025-0170/1", true, NULL);
    it_refused(&r, IT_CODE(CONFLICT), "answer.proposal_id");

    /* The candidate is free again: the next vacancy goes to it. */
    it_vacancy_t next = it_vacancy("PW-2025-0171");
    next.address = "Kruisstraat 14";
    r = it_publish(corp, NULL, &next);
    it_ok(&r);
    d = s_expect_proposal(kam_mail, "ribw-kam", "PW-2025-0171", "kam-0004", 1, 1);
    WZ_FREE_UNPACKED(d);

    wz_listener_destroy(&corp_mail);
    wz_listener_destroy(&kam_mail);
    wz_listener_destroy(&muni_mail);
    wz_client_destroy(&corp);
    wz_client_destroy(&kam);
    wz_client_destroy(&muni);
    it_close(&it);
}
END_TEST

START_TEST(test_competing_vacancies)
{
    it_t it;
    it_open(&it, NO_EXPIRY);
    wz_client_t *pre = it_client(&it, "pre-wonen");
    wz_client_t *ymere = it_client(&it, "ymere");
    wz_client_t *kam = it_client(&it, "ribw-kam");
    wz_client_t *muni = it_client(&it, "gem-haarlem");
    wz_listener_t *kam_mail = it_listener(&it, "ribw-kam");
    wz_listener_t *pre_mail = it_listener(&it, "pre-wonen");
    wz_listener_t *ymere_mail = it_listener(&it, "ymere");

    /* One candidate, two corporations publishing a fitting flat back to back. */
    it_candidate_t a = it_candidate("kam-0005");
    s_active_candidate(kam, kam_mail, "ribw-kam", muni, &a, 2025, 1, 20);
    it_vacancy_t v1 = it_vacancy("PW-2025-0180");
    it_vacancy_t v2 = it_vacancy("YM-2025-0900");
    v2.neighbourhood = "BU03921003";
    v2.complex = "boerhaavewijk-5";
    v2.address = "Floris van Adrichemlaan 88";
    v2.rent_cents = 59800;
    WzReply *r = it_publish(pre, NULL, &v1);
    it_ok(&r);
    r = it_publish(ymere, NULL, &v2);
    it_ok(&r);

    WzDelivery *d = s_expect_proposal(kam_mail, "ribw-kam", "PW-2025-0180", "kam-0005", 1, 1);
    WZ_FREE_UNPACKED(d);
    it_expect_drop(pre_mail, "pre-wonen", IT_EV(PROPOSAL_CREATED), "information");
    /* The candidate has an open proposal, so the second flat finds nobody. */
    d = it_expect(ymere_mail, "ymere", IT_EV(VACANCY_RELEASED), "released");
    ck_assert_uint_eq(d->event->vacancy_released->explanation->eligible, 0);
    ck_assert_uint_eq(s_removed(d->event->vacancy_released->explanation, "status"), 1);
    WZ_FREE_UNPACKED(d);
    ck_assert_int_eq(it_open_proposals_of(&it, ZKIJ, "kam-0005"), 1);
    ck_assert(!it_exists(&it, ZKIJ, "proposal:YM-2025-0900/1"));
    it_expect_nothing(kam_mail, "ribw-kam", 300);

    /* Accepting the first keeps the candidate out of matching: a third flat
     * published meanwhile is released too, never a second open proposal. */
    r = it_answer(kam, NULL, "PW-2025-0180/1", true, NULL);
    it_ok(&r);
    it_expect_drop(pre_mail, "pre-wonen", IT_EV(PROPOSAL_ANSWERED), "answered");
    it_expect_drop(pre_mail, "pre-wonen", IT_EV(PROPOSAL_ADVANCED), "step");
    it_expect_drop(kam_mail, "ribw-kam", IT_EV(PROPOSAL_ADVANCED), "step");
    it_vacancy_t v3 = it_vacancy("PW-2025-0181");
    v3.address = "Kruisstraat 16";
    r = it_publish(pre, NULL, &v3);
    it_ok(&r);
    it_expect_drop(pre_mail, "pre-wonen", IT_EV(VACANCY_RELEASED), "released");
    ck_assert_int_eq(it_open_proposals_of(&it, ZKIJ, "kam-0005"), 1);
    char open[128];
    it_get_str(&it, ZKIJ, "m:open:kam-0005", open, sizeof open);
    ck_assert_str_eq(open, "PW-2025-0180/1");
    it_expect_nothing(kam_mail, "ribw-kam", 300);

    wz_listener_destroy(&kam_mail);
    wz_listener_destroy(&pre_mail);
    wz_listener_destroy(&ymere_mail);
    wz_client_destroy(&pre);
    wz_client_destroy(&ymere);
    wz_client_destroy(&kam);
    wz_client_destroy(&muni);
    it_close(&it);
}
END_TEST

START_TEST(test_idempotent_retry)
{
    it_t it;
    it_open(&it, NO_EXPIRY);
    wz_client_t *corp = it_client(&it, "pre-wonen");
    wz_client_t *care = it_client(&it, "ribw-kam");
    wz_listener_t *muni_mail = it_listener(&it, "gem-haarlem");

    long long before = it_stream_len(&it, ZKIJ, "intake");
    it_vacancy_t vac = it_vacancy("PW-2025-0190");
    WzReply *first = it_publish(corp, "retry-publish-0190", &vac);
    ck_assert_int_eq(first->code, IT_CODE(OK));
    /* The same request_id again, even with another body: the first reply, no effect. */
    it_vacancy_t other = it_vacancy("PW-2025-0191");
    WzReply *again = it_publish(corp, "retry-publish-0190", &other);
    WzReply *third = it_publish(corp, "retry-publish-0190", &vac);
    ck_assert_int_eq(again->code, first->code);
    ck_assert_str_eq(again->request_id, "retry-publish-0190");
    ck_assert_str_eq(again->id, "PW-2025-0190");
    ck_assert_str_eq(again->message, first->message);
    ck_assert_int_eq(third->code, first->code);
    ck_assert_str_eq(third->id, first->id);
    WZ_FREE_UNPACKED(first);
    WZ_FREE_UNPACKED(again);
    WZ_FREE_UNPACKED(third);
    ck_assert_int_eq(it_stream_len(&it, ZKIJ, "intake"), before + 1);
    ck_assert(it_exists(&it, ZKIJ, "vacancy:PW-2025-0190"));
    ck_assert(!it_exists(&it, ZKIJ, "vacancy:PW-2025-0191"));

    /* A fresh request_id for the same vacancy is a new request: a conflict. */
    WzReply *r = it_publish(corp, "retry-publish-0190-b", &vac);
    it_refused(&r, IT_CODE(CONFLICT), "publish_vacancy.id");
    ck_assert_int_eq(it_stream_len(&it, ZKIJ, "intake"), before + 1);

    /* A refusal is replayed the same way. */
    it_candidate_t c = it_candidate("kam-0006");
    c.consent = false;
    r = it_register(care, "retry-register-0006", &c);
    it_refused(&r, IT_CODE(INVALID), "register_candidate.consent");
    c.consent = true;
    r = it_register(care, "retry-register-0006", &c);
    it_refused(&r, IT_CODE(INVALID), "register_candidate.consent");
    ck_assert(!it_exists(&it, ZKIJ, "candidate:kam-0006"));
    ck_assert_int_eq(it_stream_len(&it, ZKIJ, "intake"), before + 1);

    /* Downstream saw the publication exactly once. */
    it_expect_drop(muni_mail, "gem-haarlem", IT_EV(VACANCY_PUBLISHED), "information");
    it_expect_drop(muni_mail, "gem-haarlem", IT_EV(VACANCY_RELEASED), "released");
    it_expect_nothing(muni_mail, "gem-haarlem", 500);

    wz_listener_destroy(&muni_mail);
    wz_client_destroy(&corp);
    wz_client_destroy(&care);
    it_close(&it);
}
END_TEST

int main(void)
{
    /* One case per test: a failure names its case. */
    TCase *const cases[] = {
        wz_test_case("happy_path", IT_TCASE_TIMEOUT, (const TTest *const[]){test_happy_path, NULL}),
        wz_test_case("decline", IT_TCASE_TIMEOUT,
                     (const TTest *const[]){test_decline_moves_to_next_candidate, NULL}),
        wz_test_case("expiry", IT_TCASE_TIMEOUT,
                     (const TTest *const[]){test_expiry_moves_to_next_candidate, NULL}),
        wz_test_case("no_candidate", IT_TCASE_TIMEOUT,
                     (const TTest *const[]){test_no_candidate_releases, NULL}),
        wz_test_case("withdraw_offered", IT_TCASE_TIMEOUT,
                     (const TTest *const[]){test_withdraw_while_offered, NULL}),
        wz_test_case("competing", IT_TCASE_TIMEOUT,
                     (const TTest *const[]){test_competing_vacancies, NULL}),
        wz_test_case("idempotent", IT_TCASE_TIMEOUT,
                     (const TTest *const[]){test_idempotent_retry, NULL}),
        NULL};
    return wz_test_run("lifecycle", cases);
}
