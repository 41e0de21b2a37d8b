/* test_minimise.c - each party receives the minimum (wz_minimise), checked
 * on what really leaves the suite in a whole lifecycle: every delivery,
 * the status replies and the audit tail are walked field by field. The
 * candidate's care provider sees everything; the corporation no candidate
 * until acceptance, then its id only; the municipalities that a proposal
 * was made, its outcome and the counts per rule, never an attribute, and
 * the candidate's id only when the urgency is theirs. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "wz_it.h"
#include "wz_testfields.h"
#include "wz_testmain.h"

#define ZKIJ "zkij"
#define NO_EXPIRY 600
#define CANDIDATE "kam-0031"
#define VACANCY "PW-2025-0207"
#define PROPOSAL VACANCY "/1"

/* Field names about the person (Candidate) and about the chosen candidate
 * in an explanation. */
#define ATTRIBUTES                                                                                 \
    "group", "adults", "children", "age_band", "income_class", "access_needs",                     \
        "acceptable_municipalities", "excluded_neighbourhoods", "care_location",                   \
        "max_distance_km", "park_reason"
#define OF_CANDIDATE "summary", "score", "rank"

static const char *const s_no_candidate[] = {
    "candidate_id", ATTRIBUTES, OF_CANDIDATE, "considered", "eligible", "not_examined",
    "filters",      "ranking",  "refusal",    "refusal_pending", NULL};
static const char *const s_corporation_after[] = {
    ATTRIBUTES, OF_CANDIDATE, "considered", "eligible", "not_examined",
    "filters",  "ranking",    "refusal",    "refusal_pending", NULL};
static const char *const s_own_municipality[] = {ATTRIBUTES, OF_CANDIDATE, NULL};
static const char *const s_other_municipality[] = {"candidate_id", ATTRIBUTES, OF_CANDIDATE, NULL};

static void s_forbid(const ProtobufCMessage *m, const char *const *names, const char *what)
{
    char found[512];
    ck_assert_msg(!wz_test_first_set(m, names, found, sizeof found), "%s: %s is set", what, found);
}

static bool s_set(const ProtobufCMessage *m, const char *path)
{
    return wz_test_is_set(m, path);
}

/* Expects the delivery, requires that none of names is set in it; returns it. */
static WzDelivery *s_expect(wz_listener_t *l, const char *party, int payload, const char *reason,
                            const char *const *forbidden)
{
    WzDelivery *d = it_expect(l, party, payload, reason);
    char what[128];
    snprintf(what, sizeof what, "%s's %s", party, it_event_name(payload));
    if (forbidden)
        s_forbid(&d->base, forbidden, what);
    return d;
}

START_TEST(test_each_party_receives_the_minimum)
{
    it_t it;
    it_open(&it, NO_EXPIRY);
    wz_client_t *corp = it_client(&it, "pre-wonen");
    wz_client_t *care = it_client(&it, "ribw-kam");
    wz_client_t *haarlem = it_client(&it, "gem-haarlem");
    wz_client_t *heemstede = it_client(&it, "gem-heemstede");
    wz_listener_t *corp_mail = it_listener(&it, "pre-wonen");
    wz_listener_t *care_mail = it_listener(&it, "ribw-kam");
    wz_listener_t *haarlem_mail = it_listener(&it, "gem-haarlem");
    wz_listener_t *heemstede_mail = it_listener(&it, "gem-heemstede");

    /* A candidate with urgency from Haarlem, a dwelling in Heemstede. */
    it_candidate_t cand = it_candidate(CANDIDATE);
    cand.adults = 2;
    cand.children = 1;
    WzReply *r = it_register(care, NULL, &cand);
    it_ok(&r);
    r = it_grant(haarlem, NULL, CANDIDATE, 2025, 2, 3);
    it_ok(&r);
    WzDelivery *d = s_expect(care_mail, "ribw-kam", IT_EV(URGENCY_GRANTED), "urgency", NULL);
    ck_assert_str_eq(d->event->urgency_granted->candidate_id, CANDIDATE);
    WZ_FREE_UNPACKED(d);
    it_wait_candidate_state(&it, ZKIJ, CANDIDATE, IT_CSTATE(ACTIVE));
    it_vacancy_t vac = it_vacancy(VACANCY);
    vac.municipality = "heemstede";
    vac.neighbourhood = "BU03970101";
    vac.rooms = 3;
    vac.area_m2 = 62;
    r = it_publish(corp, NULL, &vac);
    it_ok(&r);

    /* The proposal: whole for the care provider. */
    d = s_expect(care_mail, "ribw-kam", IT_EV(PROPOSAL_CREATED), "proposal", NULL);
    ck_assert_str_eq(d->event->proposal_created->proposal->candidate_id, CANDIDATE);
    ck_assert_str_ne(d->event->proposal_created->proposal->explanation->summary, "");
    ck_assert_uint_eq(d->event->proposal_created->proposal->explanation->rank, 1);
    WZ_FREE_UNPACKED(d);
    /* The corporation: that its dwelling was offered, not to whom or why. */
    d = s_expect(corp_mail, "pre-wonen", IT_EV(PROPOSAL_CREATED), "information", s_no_candidate);
    ck_assert_str_eq(d->event->proposal_created->proposal->id, PROPOSAL);
    ck_assert_int_eq(d->event->proposal_created->proposal->state, IT_PSTATE(SENT));
    ck_assert_str_eq(d->event->proposal_created->vacancy->id, VACANCY);
    ck_assert(s_set(&d->base, "event.proposal_created.proposal.explanation.policy_version"));
    WZ_FREE_UNPACKED(d);
    /* The candidate's municipality: its own candidate, the counts per rule. */
    d = s_expect(haarlem_mail, "gem-haarlem", IT_EV(PROPOSAL_CREATED), "information",
                 s_own_municipality);
    ck_assert_str_eq(d->event->proposal_created->proposal->candidate_id, CANDIDATE);
    ck_assert_uint_ge(d->event->proposal_created->proposal->explanation->considered, 1);
    ck_assert_uint_eq(d->event->proposal_created->proposal->explanation->eligible, 1);
    WZ_FREE_UNPACKED(d);
    /* The dwelling's municipality: the publication, the proposal and its
     * counts; the candidate is not its own. */
    d = s_expect(heemstede_mail, "gem-heemstede", IT_EV(VACANCY_PUBLISHED), "information",
                 s_other_municipality);
    WZ_FREE_UNPACKED(d);
    d = s_expect(heemstede_mail, "gem-heemstede", IT_EV(PROPOSAL_CREATED), "information",
                 s_other_municipality);
    ck_assert_str_eq(d->event->proposal_created->proposal->id, PROPOSAL);
    ck_assert_uint_eq(d->event->proposal_created->proposal->explanation->eligible, 1);
    WZ_FREE_UNPACKED(d);

    /* Status replies follow the same rules. */
    r = it_status(corp, IT_KIND(PROPOSAL), PROPOSAL);
    ck_assert_int_eq(r->code, IT_CODE(OK));
    s_forbid(&r->base, s_no_candidate, "the corporation's status before acceptance");
    ck_assert_int_eq(r->proposal->state, IT_PSTATE(SENT));
    WZ_FREE_UNPACKED(r);
    r = it_status(heemstede, IT_KIND(PROPOSAL), PROPOSAL);
    ck_assert_int_eq(r->code, IT_CODE(FORBIDDEN)); /* not of its own municipality */
    WZ_FREE_UNPACKED(r);
    r = it_status(haarlem, IT_KIND(PROPOSAL), PROPOSAL);
    ck_assert_int_eq(r->code, IT_CODE(OK));
    s_forbid(&r->base, s_own_municipality, "the municipality's status of a proposal");
    ck_assert_str_eq(r->proposal->candidate_id, CANDIDATE);
    WZ_FREE_UNPACKED(r);
    r = it_status(haarlem, IT_KIND(CANDIDATE), CANDIDATE);
    ck_assert_int_eq(r->code, IT_CODE(OK));
    s_forbid(&r->base, s_own_municipality, "the municipality's status of a candidate");
    ck_assert_str_eq(r->candidate->id, CANDIDATE);
    ck_assert_int_eq(r->candidate->state, IT_CSTATE(PROPOSED));
    ck_assert_ptr_nonnull(r->candidate->urgency_date);
    WZ_FREE_UNPACKED(r);
    r = it_status(care, IT_KIND(CANDIDATE), CANDIDATE);
    ck_assert_int_eq(r->code, IT_CODE(OK));
    ck_assert_uint_eq(r->candidate->household->children, 1);
    ck_assert_str_eq(r->candidate->group, "beschermd_wonen");
    WZ_FREE_UNPACKED(r);

    /* Accepted: from now on the corporation knows whom it houses. */
    r = it_answer(care, NULL, PROPOSAL, true, NULL);
    it_ok(&r);
    d = s_expect(corp_mail, "pre-wonen", IT_EV(PROPOSAL_ANSWERED), "answered", s_corporation_after);
    ck_assert_str_eq(d->event->proposal_answered->proposal->candidate_id, CANDIDATE);
    WZ_FREE_UNPACKED(d);
    d = s_expect(haarlem_mail, "gem-haarlem", IT_EV(PROPOSAL_ANSWERED), "answered",
                 s_own_municipality);
    ck_assert(d->event->proposal_answered->accepted);
    WZ_FREE_UNPACKED(d);
    d = s_expect(corp_mail, "pre-wonen", IT_EV(PROPOSAL_ADVANCED), "step", s_corporation_after);
    ck_assert_str_eq(d->event->proposal_advanced->proposal->candidate_id, CANDIDATE);
    ck_assert_str_eq(d->event->proposal_advanced->proposal->step, "lease");
    WZ_FREE_UNPACKED(d);
    it_expect_drop(haarlem_mail, "gem-haarlem", IT_EV(PROPOSAL_ADVANCED), "step");
    d = s_expect(care_mail, "ribw-kam", IT_EV(PROPOSAL_ADVANCED), "step", NULL);
    ck_assert_str_ne(d->event->proposal_advanced->proposal->explanation->summary, "");
    WZ_FREE_UNPACKED(d);
    r = it_status(corp, IT_KIND(PROPOSAL), PROPOSAL);
    ck_assert_int_eq(r->code, IT_CODE(OK));
    s_forbid(&r->base, s_corporation_after, "the corporation's status after acceptance");
    ck_assert_str_eq(r->proposal->candidate_id, CANDIDATE);
    WZ_FREE_UNPACKED(r);

    r = it_sign(corp, NULL, VACANCY, IT_CONTRACT(THREE_PARTY));
    it_ok(&r);
    d = s_expect(corp_mail, "pre-wonen", IT_EV(VACANCY_LET), "let", s_corporation_after);
    ck_assert_str_eq(d->event->vacancy_let->proposal->candidate_id, CANDIDATE);
    WZ_FREE_UNPACKED(d);
    d = s_expect(haarlem_mail, "gem-haarlem", IT_EV(VACANCY_LET), "let", s_own_municipality);
    WZ_FREE_UNPACKED(d);
    d = s_expect(heemstede_mail, "gem-heemstede", IT_EV(VACANCY_LET), "let", s_other_municipality);
    ck_assert_int_eq(d->event->vacancy_let->proposal->state, IT_PSTATE(LET));
    WZ_FREE_UNPACKED(d);
    it_expect_drop(care_mail, "ribw-kam", IT_EV(VACANCY_LET), "let");

    /* The audit tail: each municipality sees every event of the region in
     * its own view; the chain itself holds the whole events. */
    static const int steps[] = {IT_EV(CANDIDATE_REGISTERED), IT_EV(URGENCY_GRANTED),
                                IT_EV(PROPOSAL_CREATED), IT_EV(LEASE_SIGNED), IT_EV(VACANCY_LET)};
    it_wait_audit_order(&it, "gem-haarlem", steps, sizeof steps / sizeof *steps);
    const char *municipalities[] = {"gem-haarlem", "gem-heemstede"};
    for (size_t m = 0; m < 2; m++) {
        wz_client_t *audit = it_audit_client(&it, municipalities[m]);
        r = it_audit_tail(audit, 1000);
        ck_assert_int_eq(r->code, IT_CODE(OK));
        ck_assert_uint_ge(r->audit->n_entries, 5);
        bool registered = false;
        for (size_t i = 0; i < r->audit->n_entries; i++) {
            const WzEvent *ev = r->audit->entries[i]->event;
            ck_assert_ptr_nonnull(ev);
            char what[128];
            snprintf(what, sizeof what, "%s's audit entry %zu (%s)", municipalities[m], i,
                     it_event_name(ev->payload_case));
            s_forbid(&ev->base, m == 0 ? s_own_municipality : s_other_municipality, what);
            if (m == 1)
                ck_assert_msg(!s_set(&ev->base, "candidate_registered.candidate.id"),
                              "%s names the candidate", what);
            if (ev->payload_case == IT_EV(CANDIDATE_REGISTERED)) {
                registered = true;
                /* Registered, with its state and municipality, and no more. */
                ck_assert_str_eq(ev->candidate_registered->candidate->municipality, "haarlem");
                ck_assert_str_eq(ev->candidate_registered->candidate->id, m == 0 ? CANDIDATE : "");
            }
        }
        ck_assert(registered);
        WZ_FREE_UNPACKED(r);
        wz_client_destroy(&audit);
    }
    it_expect_nothing(corp_mail, "pre-wonen", 200);
    it_expect_nothing(heemstede_mail, "gem-heemstede", 100);
    wz_listener_destroy(&corp_mail);
    wz_listener_destroy(&care_mail);
    wz_listener_destroy(&haarlem_mail);
    wz_listener_destroy(&heemstede_mail);
    wz_client_destroy(&corp);
    wz_client_destroy(&care);
    wz_client_destroy(&haarlem);
    wz_client_destroy(&heemstede);
    it_close(&it);
}
END_TEST

int main(void)
{
    TCase *tc = wz_test_case("lifecycle", IT_TCASE_TIMEOUT,
                             (const TTest *const[]){test_each_party_receives_the_minimum, NULL});
    return wz_test_run("minimise", (TCase *const[]){tc, NULL});
}
