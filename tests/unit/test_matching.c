/* Unit tests of wz_matching on a private Redis: intake's events are written
 * to intake's real outbox and applied through a real consumer (wz_sub), and
 * the tests check matching's keys and the events on its own outbox. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "wz_calendar.h"
#include "wz_cindex.h"
#include "wz_codec.h"
#include "wz_match.h"
#include "wz_matching.h"
#include "wz_testenv.h"
#include "wz_testfields.h"
#include "wz_testmain.h"
#include "wz_util.h"

#define VSTATE(x) WOONZORG__V1__VACANCY_STATE__VACANCY_STATE_##x
#define CSTATE(x) WOONZORG__V1__CANDIDATE_STATE__CANDIDATE_STATE_##x
#define PSTATE(x) WOONZORG__V1__PROPOSAL_STATE__PROPOSAL_STATE_##x
#define PAYLOAD(x) WOONZORG__V1__EVENT__PAYLOAD_##x
#define ACCESS(x) WOONZORG__V1__ACCESS__ACCESS_##x
#define ANSWER_SECONDS 600

static wz_rent_limits_t s_limits[] = {{2025, 68296, 73193, 47720, 90007}};
static wz_occupancy_t s_occupancy[] = {{1, 1, 20}, {2, 2, 35}, {3, 3, 50}};
static wz_neighbourhood_t s_haarlem_nb[] = {
    {"BU03920101", "Vijfhoek", 52.3826, 4.6336},
    {"BU03921003", "Schalkwijk-Boerhaavewijk", 52.3652, 4.6603},
};
static wz_municipality_t s_municipality = {"haarlem", "Haarlem", "GM0392", s_haarlem_nb, 2};
static wz_region_t s_region = {.id = "zkij",
                               .answer_seconds = ANSWER_SECONDS,
                               .answer_working_days = 5,
                               .municipalities = &s_municipality,
                               .n_municipalities = 1};
static char s_scheme_groups[][WZ_ID_MAX] = {"bw", "mo"};
static char s_scheme_corps[][WZ_ID_MAX] = {"pre-wonen"};
static char s_scheme_cps[][WZ_ID_MAX] = {"ribw-kam", "dock"};
static wz_step_t s_route[] = {
    {"answer", WZ_ROLE_CARE_PROVIDER, WZ_STEP_ANSWER, 5},
    {"viewing", WZ_ROLE_CORPORATION, WZ_STEP_CONFIRM, 10},
    {"lease", WZ_ROLE_CORPORATION, WZ_STEP_SIGN, 10},
};
static wz_contingent_t s_contingents[] = {
    {"haarlem", "pre-wonen", 2025, 3}, {"haarlem", "pre-wonen", 2026, 3},
    {"haarlem", "pre-wonen", 2027, 3},
};
static wz_scheme_t s_schemes[] = {{
    .id = "zkij-test",
    .name = "test scheme",
    .region = "zkij",
    .from_day = 0,
    .to_day = 100000,
    .mode = WZ_MODE_RANKED,
    .groups = s_scheme_groups,
    .n_groups = 2,
    .corporations = s_scheme_corps,
    .n_corporations = 1,
    .care_providers = s_scheme_cps,
    .n_care_providers = 2,
    .contingents = s_contingents,
    .n_contingents = 3,
    .spread_years = 5,
    .max_per_complex = 2,
    .max_refusals = 2,
    .no_answer_is_refusal = true,
    .route = s_route,
    .n_route = 3,
    .reminder_working_days = 1,
    .fit_room = 10,
    .fit_area = 0.5,
    .fit_km = 1,
}};
static wz_decline_reason_t s_reasons[] = {
    {"client_refuses", "Client refuses", true},
    {"unsuitable", "Dwelling unsuitable", false},
};
static wz_policy_t s_policy = {
    .version = "test-3",
    .regions = &s_region,
    .n_regions = 1,
    .rent_limits = s_limits,
    .n_rent_limits = 1,
    .occupancy = s_occupancy,
    .n_occupancy = 3,
    .decline_reasons = s_reasons,
    .n_decline_reasons = 2,
    .schemes = s_schemes,
    .n_schemes = 1,
};

static const char *const regions[] = {"zkij"};
static wz_testenv_t *env;
static wz_store_t *store;
static void *ctx;
static wz_log_t *logger;
static wz_pub_t *intake;   /* stands in for the intake service */
static wz_pub_t *own;      /* matching's outbox */
static wz_matching_t *matching;
static wz_sub_t *sub;

static void setup(void)
{
    /* Contingents for last year, this year and next, whatever the clock says. */
    int y, m, d;
    wz_civil_from_day(wz_day_of_ms(wz_now_ms()), &y, &m, &d);
    for (int i = 0; i < 3; i++)
        s_contingents[i].year = y - 1 + i;
    env = wz_testenv_new(false, 0);
    store = wz_testenv_store(env);
    ctx = zmq_ctx_new();
    logger = wz_log_new("matching", WZ_LOG_WARN, NULL);
    char in_ep[64], out_ep[64];
    snprintf(in_ep, sizeof in_ep, "tcp://127.0.0.1:%d", wz_test_free_port());
    snprintf(out_ep, sizeof out_ep, "tcp://127.0.0.1:%d", wz_test_free_port());
    intake = wz_pub_new(ctx, store, "intake", in_ep, NULL);
    own = wz_pub_new(ctx, store, "matching", out_ep, NULL);
    ck_assert_ptr_nonnull(intake);
    ck_assert_ptr_nonnull(own);
    matching = wz_matching_new(store, own, &s_policy, logger);
    ck_assert_ptr_nonnull(matching);
    sub = wz_sub_new(ctx, store, own, "matching", wz_matching_apply, NULL, matching, logger);
    ck_assert_ptr_nonnull(sub);
    ck_assert_int_eq(wz_sub_follow(sub, "intake", in_ep, regions, 1), 0);
}

static void teardown(void)
{
    wz_sub_destroy(&sub);
    wz_matching_destroy(&matching);
    wz_pub_destroy(&own);
    wz_pub_destroy(&intake);
    wz_log_destroy(&logger);
    zmq_ctx_term(ctx);
    wz_testenv_destroy(&env);
}

/* --- intake's events ------------------------------------------------------ */

/* Commits ev on intake's outbox and lets matching consume everything new. */
static void s_produce(WzEvent *ev, const char *actor)
{
    ev->actor = (char *)actor;
    wz_txn_t *txn = wz_txn_begin(store, intake, "zkij");
    ck_assert_ptr_nonnull(txn);
    ck_assert(wz_txn_emit(txn, ev) > 0);
    ck_assert_int_eq(wz_txn_commit(txn), 0);
    wz_txn_destroy(&txn);
    ck_assert_int_eq(wz_sub_catch_up(sub), 0);
}

/* Two rooms, 45 m2, EUR 600.00, ground floor with lift, in Haarlem. */
static void ev_publish(const char *id)
{
    WzDate from = WOONZORG__V1__DATE__INIT;
    from.year = 2025;
    from.month = 6;
    from.day = 1;
    WzVacancy v = WOONZORG__V1__VACANCY__INIT;
    v.id = (char *)id;
    v.corporation = "pre-wonen";
    v.region = "zkij";
    v.municipality = "haarlem";
    v.neighbourhood = "BU03920101";
    v.complex = "pw-c7";
    v.address = "Kerkstraat 1";
    v.rooms = 2;
    v.floor_area_m2 = 45;
    v.rent_cents = 60000;
    v.access = ACCESS(GROUND_FLOOR) | ACCESS(LIFT);
    v.available_from = &from;
    v.state = VSTATE(OPEN);
    Woonzorg__V1__VacancyPublished body = WOONZORG__V1__VACANCY_PUBLISHED__INIT;
    body.vacancy = &v;
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.payload_case = PAYLOAD(VACANCY_PUBLISHED);
    ev.vacancy_published = &body;
    s_produce(&ev, "pre-wonen");
}

static void ev_candidate(const char *id, uint32_t access_needs, bool update)
{
    WzHousehold hh = WOONZORG__V1__HOUSEHOLD__INIT;
    hh.adults = 1;
    WzCandidate c = WOONZORG__V1__CANDIDATE__INIT;
    c.id = (char *)id;
    c.care_provider = "ribw-kam";
    c.region = "zkij";
    c.municipality = "haarlem";
    c.group = "bw";
    c.household = &hh;
    c.age_band = WOONZORG__V1__AGE_BAND__AGE_BAND_ADULT;
    c.income_class = WOONZORG__V1__INCOME_CLASS__INCOME_CLASS_BELOW_LIMIT;
    c.access_needs = access_needs;
    c.consent = true;
    c.state = CSTATE(REGISTERED);
    Woonzorg__V1__CandidateRegistered reg = WOONZORG__V1__CANDIDATE_REGISTERED__INIT;
    Woonzorg__V1__CandidateUpdated upd = WOONZORG__V1__CANDIDATE_UPDATED__INIT;
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    if (update) {
        upd.candidate = &c;
        ev.payload_case = PAYLOAD(CANDIDATE_UPDATED);
        ev.candidate_updated = &upd;
    } else {
        reg.candidate = &c;
        ev.payload_case = PAYLOAD(CANDIDATE_REGISTERED);
        ev.candidate_registered = &reg;
    }
    s_produce(&ev, "ribw-kam");
}

static void ev_urgency(const char *id, int year, int month, int day)
{
    WzDate d = WOONZORG__V1__DATE__INIT;
    d.year = year;
    d.month = month;
    d.day = day;
    Woonzorg__V1__UrgencyGranted body = WOONZORG__V1__URGENCY_GRANTED__INIT;
    body.candidate_id = (char *)id;
    body.care_provider = "ribw-kam";
    body.municipality = "haarlem";
    body.date = &d;
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.payload_case = PAYLOAD(URGENCY_GRANTED);
    ev.urgency_granted = &body;
    s_produce(&ev, "gem-haarlem");
}

/* A registered candidate with urgency since the given date. */
static void ev_active(const char *id, int year, int month, int day)
{
    ev_candidate(id, 0, false);
    ev_urgency(id, year, month, day);
}

static void ev_answer(const char *proposal_id, bool accept, const char *reason)
{
    WzProposal p = WOONZORG__V1__PROPOSAL__INIT;
    p.id = (char *)proposal_id;
    p.state = PSTATE(SENT);
    Woonzorg__V1__ProposalAnswered body = WOONZORG__V1__PROPOSAL_ANSWERED__INIT;
    body.proposal = &p;
    body.accepted = accept;
    body.reason = (char *)reason;
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.payload_case = PAYLOAD(PROPOSAL_ANSWERED);
    ev.proposal_answered = &body;
    s_produce(&ev, "ribw-kam");
}

static void ev_withdraw_vacancy(const char *id)
{
    Woonzorg__V1__VacancyWithdrawn body = WOONZORG__V1__VACANCY_WITHDRAWN__INIT;
    body.vacancy_id = (char *)id;
    body.corporation = "pre-wonen";
    body.municipality = "haarlem";
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.payload_case = PAYLOAD(VACANCY_WITHDRAWN);
    ev.vacancy_withdrawn = &body;
    s_produce(&ev, "pre-wonen");
}

/* The care provider records that the candidate withdrew its consent. */
static void ev_consent_withdrawn(const char *id)
{
    WzHousehold hh = WOONZORG__V1__HOUSEHOLD__INIT;
    hh.adults = 1;
    WzCandidate c = WOONZORG__V1__CANDIDATE__INIT;
    c.id = (char *)id;
    c.care_provider = "ribw-kam";
    c.region = "zkij";
    c.municipality = "haarlem";
    c.group = "bw";
    c.household = &hh;
    c.consent = false;
    Woonzorg__V1__CandidateUpdated upd = WOONZORG__V1__CANDIDATE_UPDATED__INIT;
    upd.candidate = &c;
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.payload_case = PAYLOAD(CANDIDATE_UPDATED);
    ev.candidate_updated = &upd;
    s_produce(&ev, "ribw-kam");
}

static void ev_withdraw_candidate(const char *id)
{
    Woonzorg__V1__CandidateWithdrawn body = WOONZORG__V1__CANDIDATE_WITHDRAWN__INIT;
    body.candidate_id = (char *)id;
    body.care_provider = "ribw-kam";
    body.municipality = "haarlem";
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.payload_case = PAYLOAD(CANDIDATE_WITHDRAWN);
    ev.candidate_withdrawn = &body;
    s_produce(&ev, "ribw-kam");
}

static void ev_lease(const char *vacancy_id)
{
    Woonzorg__V1__LeaseSigned body = WOONZORG__V1__LEASE_SIGNED__INIT;
    body.vacancy_id = (char *)vacancy_id;
    body.corporation = "pre-wonen";
    body.contract = WOONZORG__V1__CONTRACT_TYPE__CONTRACT_TYPE_THREE_PARTY;
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.payload_case = PAYLOAD(LEASE_SIGNED);
    ev.lease_signed = &body;
    s_produce(&ev, "pre-wonen");
}

/* --- matching's state ------------------------------------------------------ */

static void *s_load(const ProtobufCMessageDescriptor *d, const char *kind, const char *id)
{
    char key[256];
    snprintf(key, sizeof key, "wz:{zkij}:%s:%s", kind, id);
    uint8_t *data = NULL;
    size_t len = 0;
    int found = wz_store_get_bytes(store, key, &data, &len);
    ck_assert_int_ge(found, 0);
    if (!found)
        return NULL;
    void *msg = wz_codec_unpack(d, data, len);
    free(data);
    ck_assert_msg(msg != NULL, "%s is unreadable", key);
    return msg;
}

static WzVacancy *s_vacancy(const char *id)
{
    WzVacancy *v = s_load(&woonzorg__v1__vacancy__descriptor, "m:vacancy", id);
    ck_assert_msg(v != NULL, "no m:vacancy %s", id);
    return v;
}

static WzCandidate *s_candidate(const char *id)
{
    WzCandidate *c = s_load(&woonzorg__v1__candidate__descriptor, "m:candidate", id);
    ck_assert_msg(c != NULL, "no m:candidate %s", id);
    return c;
}

static WzProposal *s_proposal(const char *id)
{
    WzProposal *p = s_load(&woonzorg__v1__proposal__descriptor, "proposal", id);
    ck_assert_msg(p != NULL, "no proposal %s", id);
    return p;
}

static int s_vacancy_state(const char *id)
{
    WzVacancy *v = s_vacancy(id);
    int state = v->state;
    WZ_FREE_UNPACKED(v);
    return state;
}

static int s_candidate_state(const char *id)
{
    WzCandidate *c = s_candidate(id);
    int state = c->state;
    WZ_FREE_UNPACKED(c);
    return state;
}

static int s_proposal_state(const char *id)
{
    WzProposal *p = s_proposal(id);
    int state = p->state;
    WZ_FREE_UNPACKED(p);
    return state;
}

/* The proposal the vacancy currently points at ("" if none). */
static void s_current(const char *vacancy, char out[64])
{
    WzVacancy *v = s_vacancy(vacancy);
    wz_strlcpy(out, v->proposal_id, 64);
    WZ_FREE_UNPACKED(v);
}

static long long s_integer(const char *fmt, const char *arg)
{
    redisReply *r = wz_store_cmd(store, fmt, arg);
    ck_assert_ptr_nonnull(r);
    long long n = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return n;
}

static bool s_has_deadline(const char *proposal)
{
    redisReply *r = wz_store_cmd(store, "ZSCORE wz:{zkij}:deadlines %s", proposal);
    ck_assert_ptr_nonnull(r);
    bool has = r->type == REDIS_REPLY_STRING;
    freeReplyObject(r);
    return has;
}

/* Number of events on matching's outbox. */
static long long s_out_count(void)
{
    return s_integer("XLEN %s", "wz:{zkij}:stream:matching");
}

/* Event number seq (from 1) of matching's outbox; the caller frees it. */
static WzEvent *s_out_event(long long seq)
{
    redisReply *r = wz_store_cmd(store, "XRANGE wz:{zkij}:stream:matching %lld-0 %lld-0", seq,
                                 seq);
    ck_assert_ptr_nonnull(r);
    ck_assert_msg(r->elements == 1, "no event %lld on matching's outbox", seq);
    redisReply *fields = r->element[0]->element[1];
    ck_assert_str_eq(fields->element[0]->str, "e");
    WzEvent *ev = wz_event_unpack(fields->element[1]->str, fields->element[1]->len);
    freeReplyObject(r);
    ck_assert_ptr_nonnull(ev);
    ck_assert_str_eq(ev->actor, "matching");
    ck_assert_str_eq(ev->region, "zkij");
    return ev;
}

/* The invariant: at most one open (sent or accepted) proposal per candidate
 * and per vacancy, and every open one is the one its vacancy points at. */
static void s_check_invariant(void)
{
    redisReply *keys = wz_store_cmd(store, "KEYS wz:{zkij}:proposal:*");
    ck_assert_ptr_nonnull(keys);
    WzProposal *open[64];
    size_t n_open = 0;
    for (size_t i = 0; i < keys->elements; i++) {
        WzProposal *p = s_proposal(keys->element[i]->str + strlen("wz:{zkij}:proposal:"));
        if (p->state != PSTATE(SENT) && p->state != PSTATE(ACCEPTED)) {
            WZ_FREE_UNPACKED(p);
            continue;
        }
        ck_assert_uint_lt(n_open, 64);
        for (size_t j = 0; j < n_open; j++) {
            ck_assert_msg(strcmp(open[j]->candidate_id, p->candidate_id) != 0,
                          "candidate %s has open proposals %s and %s", p->candidate_id,
                          open[j]->id, p->id);
            ck_assert_msg(strcmp(open[j]->vacancy_id, p->vacancy_id) != 0,
                          "vacancy %s has open proposals %s and %s", p->vacancy_id, open[j]->id,
                          p->id);
        }
        char current[64];
        s_current(p->vacancy_id, current);
        ck_assert_str_eq(current, p->id);
        ck_assert_int_eq(s_candidate_state(p->candidate_id), CSTATE(PROPOSED));
        open[n_open++] = p;
    }
    for (size_t j = 0; j < n_open; j++)
        WZ_FREE_UNPACKED(open[j]);
    freeReplyObject(keys);
}

/* --- tests ------------------------------------------------------------------ */

START_TEST(test_publish_creates_proposal)
{
    ev_active("kam-1", 2025, 1, 10);
    ev_active("kam-2", 2025, 2, 1);
    ev_candidate("kam-3", 0, false); /* no urgency yet */
    ck_assert_int_eq(s_candidate_state("kam-1"), CSTATE(ACTIVE));
    ck_assert_int_eq(s_candidate_state("kam-3"), CSTATE(REGISTERED));
    ck_assert_int_eq(s_integer("SCARD %s", "wz:{zkij}:m:candidates"), 3);
    ck_assert_int_eq(s_out_count(), 0);

    int64_t before = wz_now_ms();
    ev_publish("pw-1");
    int64_t after = wz_now_ms();

    WzVacancy *v = s_vacancy("pw-1");
    ck_assert_int_eq(v->state, VSTATE(OFFERED));
    ck_assert_str_eq(v->proposal_id, "pw-1/1");
    ck_assert_str_eq(v->corporation, "pre-wonen");
    ck_assert_str_eq(v->address, "Kerkstraat 1");
    WZ_FREE_UNPACKED(v);

    WzProposal *p = s_proposal("pw-1/1");
    ck_assert_str_eq(p->id, "pw-1/1");
    ck_assert_str_eq(p->vacancy_id, "pw-1");
    ck_assert_str_eq(p->candidate_id, "kam-1");
    ck_assert_str_eq(p->region, "zkij");
    ck_assert_str_eq(p->corporation, "pre-wonen");
    ck_assert_str_eq(p->care_provider, "ribw-kam");
    ck_assert_str_eq(p->municipality, "haarlem");
    ck_assert_int_eq(p->state, PSTATE(SENT));
    ck_assert_uint_eq(p->round, 1);
    ck_assert(p->created_ms >= before && p->created_ms <= after);
    ck_assert(p->deadline_ms == p->created_ms + ANSWER_SECONDS * 1000);
    ck_assert_ptr_nonnull(p->explanation);
    ck_assert_uint_eq(p->explanation->considered, 3);
    /* The index walks the region in rank order and stops at the first
     * eligible candidate: kam-2, ranked after, fits but is not examined. */
    ck_assert_uint_eq(p->explanation->eligible, 1);
    ck_assert_uint_eq(p->explanation->not_examined, 1);
    ck_assert_uint_eq(p->explanation->rank, 1);
    ck_assert_uint_eq(p->explanation->n_filters, WZ_MATCH_RULES);
    ck_assert_str_eq(p->explanation->filters[3]->rule, "status");
    ck_assert_uint_eq(p->explanation->filters[3]->removed, 1);
    ck_assert_str_eq(p->explanation->policy_version, "test-3");
    ck_assert_str_eq(p->explanation->summary,
                     "kam-1 ranked first among the 2 who fit the dwelling and the scheme (3 "
                     "considered, 0 ranked before it not eligible): urgency since 2025-01-10, "
                     "fit penalty 22.5");

    redisReply *r = wz_store_cmd(store, "ZSCORE wz:{zkij}:deadlines pw-1/1");
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->type, REDIS_REPLY_STRING);
    ck_assert(strtoll(r->str, NULL, 10) == p->deadline_ms);
    freeReplyObject(r);
    WZ_FREE_UNPACKED(p);
    ck_assert_int_eq(s_integer("SISMEMBER %s kam-1", "wz:{zkij}:m:tried:pw-1"), 1);
    ck_assert_int_eq(s_candidate_state("kam-1"), CSTATE(PROPOSED));
    ck_assert_int_eq(s_candidate_state("kam-2"), CSTATE(ACTIVE));

    ck_assert_int_eq(s_out_count(), 1);
    WzEvent *ev = s_out_event(1);
    ck_assert_str_eq(ev->id, "matching:zkij:1");
    ck_assert_int_eq(ev->payload_case, PAYLOAD(PROPOSAL_CREATED));
    ck_assert_str_eq(ev->proposal_created->proposal->id, "pw-1/1");
    ck_assert_str_eq(ev->proposal_created->proposal->candidate_id, "kam-1");
    ck_assert_int_eq(ev->proposal_created->vacancy->state, VSTATE(OFFERED));
    ck_assert_str_eq(ev->proposal_created->vacancy->proposal_id, "pw-1/1");
    WZ_FREE_UNPACKED(ev);
    ck_assert(wz_sub_cursor(sub, "intake", "zkij") == 6);
    s_check_invariant();
}
END_TEST

START_TEST(test_decline_goes_to_next)
{
    ev_active("kam-1", 2025, 1, 10);
    ev_active("kam-2", 2025, 2, 1);
    ev_publish("pw-1");
    ev_answer("pw-1/1", false, "too far from work");

    WzProposal *p = s_proposal("pw-1/1");
    ck_assert_int_eq(p->state, PSTATE(DECLINED));
    ck_assert_str_eq(p->decline_reason, "too far from work");
    WZ_FREE_UNPACKED(p);
    ck_assert(!s_has_deadline("pw-1/1"));
    ck_assert_int_eq(s_candidate_state("kam-1"), CSTATE(ACTIVE));
    p = s_proposal("pw-1/2");
    ck_assert_str_eq(p->candidate_id, "kam-2");
    ck_assert_int_eq(p->state, PSTATE(SENT));
    ck_assert_uint_eq(p->round, 2);
    ck_assert_uint_eq(p->explanation->filters[9]->removed, 1); /* already_proposed */
    WZ_FREE_UNPACKED(p);
    ck_assert(s_has_deadline("pw-1/2"));
    ck_assert_int_eq(s_candidate_state("kam-2"), CSTATE(PROPOSED));
    char current[64];
    s_current("pw-1", current);
    ck_assert_str_eq(current, "pw-1/2");
    ck_assert_int_eq(s_vacancy_state("pw-1"), VSTATE(OFFERED));
    ck_assert_int_eq(s_out_count(), 2);
    WzEvent *ev = s_out_event(2);
    ck_assert_int_eq(ev->payload_case, PAYLOAD(PROPOSAL_CREATED));
    ck_assert_str_eq(ev->proposal_created->proposal->id, "pw-1/2");
    WZ_FREE_UNPACKED(ev);
    s_check_invariant();

    /* Both declined: nobody is left who was not proposed already. */
    ev_answer("pw-1/2", false, "");
    ck_assert_int_eq(s_vacancy_state("pw-1"), VSTATE(RELEASED));
    s_current("pw-1", current);
    ck_assert_str_eq(current, "");
    ck_assert_int_eq(s_candidate_state("kam-2"), CSTATE(ACTIVE));
    ck_assert_int_eq(s_integer("ZCARD %s", "wz:{zkij}:deadlines"), 0);
    ck_assert_int_eq(s_out_count(), 3);
    ev = s_out_event(3);
    ck_assert_int_eq(ev->payload_case, PAYLOAD(VACANCY_RELEASED));
    ck_assert_str_eq(ev->vacancy_released->vacancy->id, "pw-1");
    ck_assert_int_eq(ev->vacancy_released->vacancy->state, VSTATE(RELEASED));
    ck_assert_uint_eq(ev->vacancy_released->explanation->eligible, 0);
    ck_assert_uint_eq(ev->vacancy_released->explanation->rank, 0);
    ck_assert_uint_eq(ev->vacancy_released->explanation->filters[9]->removed, 2);
    ck_assert_str_eq(ev->vacancy_released->explanation->summary,
                     "no eligible candidate among 2: already_proposed removed 2");
    WZ_FREE_UNPACKED(ev);

    /* A late second answer to a closed proposal changes nothing. */
    ev_answer("pw-1/1", true, "");
    ck_assert_int_eq(s_proposal_state("pw-1/1"), PSTATE(DECLINED));
    ck_assert_int_eq(s_out_count(), 3);
}
END_TEST

START_TEST(test_expiry_goes_to_next)
{
    ev_active("kam-1", 2025, 1, 10);
    ev_active("kam-2", 2025, 2, 1);
    ev_publish("pw-1");
    /* Not due yet. */
    ck_assert_int_eq(wz_matching_expire(matching, wz_now_ms()), 0);
    ck_assert_int_eq(s_proposal_state("pw-1/1"), PSTATE(SENT));
    /* The deadline moved into the past. */
    ck_assert_int_eq(s_integer("ZADD wz:{zkij}:deadlines 1 %s", "pw-1/1"), 0);
    ck_assert_int_eq(wz_matching_expire(matching, wz_now_ms()), 1);

    ck_assert_int_eq(s_proposal_state("pw-1/1"), PSTATE(EXPIRED));
    ck_assert(!s_has_deadline("pw-1/1"));
    ck_assert_int_eq(s_candidate_state("kam-1"), CSTATE(ACTIVE));
    ck_assert_int_eq(s_candidate_state("kam-2"), CSTATE(PROPOSED));
    char current[64];
    s_current("pw-1", current);
    ck_assert_str_eq(current, "pw-1/2");
    ck_assert_int_eq(s_out_count(), 3);
    WzEvent *ev = s_out_event(2);
    ck_assert_int_eq(ev->payload_case, PAYLOAD(PROPOSAL_EXPIRED));
    ck_assert_str_eq(ev->proposal_expired->proposal->id, "pw-1/1");
    ck_assert_int_eq(ev->proposal_expired->proposal->state, PSTATE(EXPIRED));
    WZ_FREE_UNPACKED(ev);
    ev = s_out_event(3);
    ck_assert_int_eq(ev->payload_case, PAYLOAD(PROPOSAL_CREATED));
    ck_assert_str_eq(ev->proposal_created->proposal->candidate_id, "kam-2");
    WZ_FREE_UNPACKED(ev);
    s_check_invariant();

    /* Running the timer again finds nothing; an answer after expiry is ignored. */
    ck_assert_int_eq(wz_matching_expire(matching, wz_now_ms()), 0);
    ev_answer("pw-1/1", true, "");
    ck_assert_int_eq(s_proposal_state("pw-1/1"), PSTATE(EXPIRED));
    ck_assert_int_eq(s_out_count(), 3);

    /* Accepted: the viewing step has a deadline of its own; the corporation
     * missing it expires the proposal without a refusal for the candidate. */
    ev_answer("pw-1/2", true, "");
    ck_assert(s_has_deadline("pw-1/2"));
    WzProposal *p = s_proposal("pw-1/2");
    ck_assert_str_eq(p->step, "viewing");
    WZ_FREE_UNPACKED(p);
    ck_assert_int_eq(s_integer("ZADD wz:{zkij}:deadlines 1 %s", "pw-1/2"), 0);
    ck_assert_int_eq(wz_matching_expire(matching, wz_now_ms()), 1);
    ck_assert_int_eq(s_proposal_state("pw-1/2"), PSTATE(EXPIRED));
    WzCandidate *c = s_candidate("kam-2");
    ck_assert_uint_eq(c->refusals, 0);
    WZ_FREE_UNPACKED(c);
    c = s_candidate("kam-1");
    ck_assert_uint_eq(c->refusals, 1); /* no answer in time counts */
    WZ_FREE_UNPACKED(c);

    /* The real deadline, reached by the clock: kam-1's second refusal ends its
     * urgency (the scheme allows two) and the dwelling goes to kam-2. */
    ev_publish("pw-2");
    p = s_proposal("pw-2/1");
    ck_assert_str_eq(p->candidate_id, "kam-1");
    ck_assert_int_eq(wz_matching_expire(matching, p->deadline_ms - 1), 0);
    ck_assert_int_eq(wz_matching_expire(matching, p->deadline_ms), 1);
    WZ_FREE_UNPACKED(p);
    ck_assert_int_eq(s_candidate_state("kam-1"), CSTATE(LAPSED));
    p = s_proposal("pw-2/2");
    ck_assert_str_eq(p->candidate_id, "kam-2");
    WZ_FREE_UNPACKED(p);
    long long n = s_out_count();
    bool lapsed = false;
    for (long long i = 1; i <= n; i++) {
        WzEvent *e = s_out_event(i);
        if (e->payload_case == PAYLOAD(URGENCY_LAPSED)) {
            ck_assert_str_eq(e->urgency_lapsed->candidate_id, "kam-1");
            ck_assert_str_eq(e->urgency_lapsed->municipality, "haarlem");
            lapsed = true;
        }
        WZ_FREE_UNPACKED(e);
    }
    ck_assert(lapsed);
    ck_assert_int_eq(s_proposal_state("pw-2/1"), PSTATE(EXPIRED));
    ck_assert_int_eq(s_vacancy_state("pw-2"), VSTATE(OFFERED));
    s_check_invariant();
}
END_TEST

START_TEST(test_no_candidate_released)
{
    ev_publish("pw-1");
    ck_assert_int_eq(s_vacancy_state("pw-1"), VSTATE(RELEASED));
    ck_assert_int_eq(s_out_count(), 1);
    WzEvent *ev = s_out_event(1);
    ck_assert_int_eq(ev->payload_case, PAYLOAD(VACANCY_RELEASED));
    ck_assert_uint_eq(ev->vacancy_released->explanation->considered, 0);
    ck_assert_uint_eq(ev->vacancy_released->explanation->n_filters, WZ_MATCH_RULES);
    WZ_FREE_UNPACKED(ev);

    /* Candidates who do not fit: registered only, and one needing a wheelchair. */
    ev_candidate("kam-1", 0, false);
    ev_active("kam-2", 2025, 1, 1);
    ev_candidate("kam-2", ACCESS(WHEELCHAIR), true);
    ev_publish("pw-2");
    ck_assert_int_eq(s_vacancy_state("pw-2"), VSTATE(RELEASED));
    ev = s_out_event(2);
    ck_assert_int_eq(ev->payload_case, PAYLOAD(VACANCY_RELEASED));
    ck_assert_str_eq(ev->vacancy_released->explanation->summary,
                     "no eligible candidate among 2: status removed 1, accessibility removed 1");
    WZ_FREE_UNPACKED(ev);
    ck_assert_int_eq(s_integer("ZCARD %s", "wz:{zkij}:deadlines"), 0);
}
END_TEST

START_TEST(test_withdraw_while_offered_cancels)
{
    ev_active("kam-1", 2025, 1, 10);
    ev_publish("pw-1");
    ev_withdraw_vacancy("pw-1");
    ck_assert_int_eq(s_vacancy_state("pw-1"), VSTATE(WITHDRAWN));
    ck_assert_int_eq(s_proposal_state("pw-1/1"), PSTATE(CANCELLED));
    ck_assert(!s_has_deadline("pw-1/1"));
    ck_assert_int_eq(s_candidate_state("kam-1"), CSTATE(ACTIVE));
    ck_assert_int_eq(s_out_count(), 2);
    WzEvent *ev = s_out_event(2);
    ck_assert_int_eq(ev->payload_case, PAYLOAD(PROPOSAL_CANCELLED));
    ck_assert_str_eq(ev->proposal_cancelled->proposal->id, "pw-1/1");
    ck_assert_str_eq(ev->proposal_cancelled->reason, "vacancy withdrawn by the corporation");
    WZ_FREE_UNPACKED(ev);

    /* An answer that crossed the withdrawal is ignored; the candidate is free again. */
    ev_answer("pw-1/1", true, "");
    ck_assert_int_eq(s_proposal_state("pw-1/1"), PSTATE(CANCELLED));
    ev_publish("pw-2");
    char current[64];
    s_current("pw-2", current);
    ck_assert_str_eq(current, "pw-2/1");
    s_check_invariant();

    /* Withdrawn after acceptance: cancelled as well. */
    ev_answer("pw-2/1", true, "");
    ck_assert_int_eq(s_vacancy_state("pw-2"), VSTATE(ACCEPTED));
    ev_withdraw_vacancy("pw-2");
    ck_assert_int_eq(s_proposal_state("pw-2/1"), PSTATE(CANCELLED));
    ck_assert_int_eq(s_candidate_state("kam-1"), CSTATE(ACTIVE));
    /* With the only candidate withdrawn, vacancies are released; withdrawing
     * a released vacancy cancels nothing and emits nothing. */
    ev_publish("pw-3");
    ev_withdraw_candidate("kam-1");
    ck_assert_int_eq(s_vacancy_state("pw-3"), VSTATE(RELEASED));
    long long events = s_out_count();
    ev_publish("pw-4");
    ck_assert_int_eq(s_vacancy_state("pw-4"), VSTATE(RELEASED));
    ev_withdraw_vacancy("pw-4");
    ck_assert_int_eq(s_vacancy_state("pw-4"), VSTATE(WITHDRAWN));
    ck_assert_int_eq(s_out_count(), events + 1); /* only pw-4's release */
}
END_TEST

START_TEST(test_candidate_withdrawn_rematches)
{
    ev_active("kam-1", 2025, 1, 10);
    ev_active("kam-2", 2025, 2, 1);
    ev_publish("pw-1");
    ev_withdraw_candidate("kam-1");
    ck_assert_int_eq(s_candidate_state("kam-1"), CSTATE(WITHDRAWN));
    ck_assert_int_eq(s_proposal_state("pw-1/1"), PSTATE(CANCELLED));
    WzEvent *ev = s_out_event(2);
    ck_assert_int_eq(ev->payload_case, PAYLOAD(PROPOSAL_CANCELLED));
    ck_assert_str_eq(ev->proposal_cancelled->reason, "candidate withdrawn");
    WZ_FREE_UNPACKED(ev);
    WzProposal *p = s_proposal("pw-1/2");
    ck_assert_str_eq(p->candidate_id, "kam-2");
    WZ_FREE_UNPACKED(p);
    s_check_invariant();

    /* After acceptance too; nobody is left, so the vacancy is released. */
    ev_answer("pw-1/2", true, "");
    ev_withdraw_candidate("kam-2");
    ck_assert_int_eq(s_proposal_state("pw-1/2"), PSTATE(CANCELLED));
    ck_assert_int_eq(s_candidate_state("kam-2"), CSTATE(WITHDRAWN));
    ck_assert_int_eq(s_vacancy_state("pw-1"), VSTATE(RELEASED));
    ck_assert_int_eq(s_out_count(), 6); /* 4: the proposal advanced to its viewing */
    ev = s_out_event(4);
    ck_assert_int_eq(ev->payload_case, PAYLOAD(PROPOSAL_ADVANCED));
    ck_assert_str_eq(ev->proposal_advanced->done_step, "answer");
    ck_assert_str_eq(ev->proposal_advanced->proposal->step, "viewing");
    WZ_FREE_UNPACKED(ev);
    ev = s_out_event(5);
    ck_assert_int_eq(ev->payload_case, PAYLOAD(PROPOSAL_CANCELLED));
    ck_assert_str_eq(ev->proposal_cancelled->proposal->id, "pw-1/2");
    WZ_FREE_UNPACKED(ev);
    ev = s_out_event(6);
    ck_assert_int_eq(ev->payload_case, PAYLOAD(VACANCY_RELEASED));
    ck_assert_uint_eq(ev->vacancy_released->explanation->filters[3]->removed, 2);
    WZ_FREE_UNPACKED(ev);
    /* A withdrawn candidate's urgency does not make it matchable again. */
    ev_urgency("kam-2", 2025, 3, 1);
    ck_assert_int_eq(s_candidate_state("kam-2"), CSTATE(WITHDRAWN));
}
END_TEST

START_TEST(test_two_vacancies_compete)
{
    ev_active("kam-1", 2025, 1, 10);
    ev_active("kam-2", 2025, 2, 1);
    ev_publish("pw-1");
    ev_publish("pw-2");
    ev_publish("pw-3");
    s_check_invariant();
    WzProposal *p1 = s_proposal("pw-1/1"), *p2 = s_proposal("pw-2/1");
    ck_assert_str_eq(p1->candidate_id, "kam-1");
    ck_assert_str_eq(p2->candidate_id, "kam-2");
    ck_assert_uint_eq(p2->explanation->filters[3]->removed, 1); /* kam-1 is proposed */
    WZ_FREE_UNPACKED(p1);
    WZ_FREE_UNPACKED(p2);
    ck_assert_int_eq(s_vacancy_state("pw-3"), VSTATE(RELEASED));

    /* kam-1 declines pw-1; kam-2 is busy with pw-2, so pw-1 is released. */
    ev_answer("pw-1/1", false, "");
    ck_assert_int_eq(s_vacancy_state("pw-1"), VSTATE(RELEASED));
    s_check_invariant();
    /* kam-1 is free and takes the next vacancy; kam-2 accepts pw-2. */
    ev_answer("pw-2/1", true, "");
    ev_publish("pw-4");
    WzProposal *p4 = s_proposal("pw-4/1");
    ck_assert_str_eq(p4->candidate_id, "kam-1");
    WZ_FREE_UNPACKED(p4);
    ev_publish("pw-5");
    ck_assert_int_eq(s_vacancy_state("pw-5"), VSTATE(RELEASED));
    s_check_invariant();

    /* The lease: vacancy let, proposal let, candidate housed. */
    ev_lease("pw-2");
    ck_assert_int_eq(s_vacancy_state("pw-2"), VSTATE(LET));
    WzProposal *p = s_proposal("pw-2/1");
    ck_assert_int_eq(p->state, PSTATE(LET));
    ck_assert_int_eq(p->contract, WOONZORG__V1__CONTRACT_TYPE__CONTRACT_TYPE_THREE_PARTY);
    WZ_FREE_UNPACKED(p);
    ck_assert_int_eq(s_candidate_state("kam-2"), CSTATE(HOUSED));
    WzEvent *ev = s_out_event(s_out_count());
    ck_assert_int_eq(ev->payload_case, PAYLOAD(VACANCY_LET));
    ck_assert_str_eq(ev->vacancy_let->vacancy->id, "pw-2");
    ck_assert_int_eq(ev->vacancy_let->vacancy->state, VSTATE(LET));
    ck_assert_str_eq(ev->vacancy_let->proposal->id, "pw-2/1");
    WZ_FREE_UNPACKED(ev);
    s_check_invariant();

    /* A lease for a vacancy that is only offered is ignored; so is a withdrawal of a let one. */
    long long events = s_out_count();
    ev_lease("pw-4");
    ck_assert_int_eq(s_vacancy_state("pw-4"), VSTATE(OFFERED));
    ev_withdraw_vacancy("pw-2");
    ck_assert_int_eq(s_vacancy_state("pw-2"), VSTATE(LET));
    ck_assert_int_eq(s_out_count(), events);
    /* A housed candidate is never proposed again. */
    ev_answer("pw-4/1", false, "");
    ev_publish("pw-6");
    ck_assert_int_eq(s_vacancy_state("pw-6"), VSTATE(OFFERED));
    p = s_proposal("pw-6/1");
    ck_assert_str_eq(p->candidate_id, "kam-1");
    WZ_FREE_UNPACKED(p);
    s_check_invariant();
}
END_TEST

START_TEST(test_update_keeps_state_and_urgency)
{
    ev_active("kam-1", 2025, 1, 10);
    ev_publish("pw-1");
    /* The update carries no urgency (matching keeps its own) and new needs. */
    ev_candidate("kam-1", ACCESS(LIFT), true);
    WzCandidate *c = s_candidate("kam-1");
    ck_assert_int_eq(c->state, CSTATE(PROPOSED));
    ck_assert_ptr_nonnull(c->urgency_date);
    ck_assert_int_eq(c->urgency_date->year, 2025);
    ck_assert_int_eq(c->urgency_date->day, 10);
    ck_assert_str_eq(c->urgency_by, "gem-haarlem");
    ck_assert_uint_eq(c->access_needs, ACCESS(LIFT));
    WZ_FREE_UNPACKED(c);
    ck_assert_int_eq(s_integer("SCARD %s", "wz:{zkij}:m:candidates"), 1);
}
END_TEST

typedef struct {
    char *data;
    size_t len, cap;
} buf_t;

static void s_buf_add(buf_t *b, const char *data, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        b->cap = (b->len + len + 1) * 2;
        b->data = realloc(b->data, b->cap);
        ck_assert_ptr_nonnull(b->data);
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len++] = '\n';
}

static void s_buf_reply(buf_t *b, const redisReply *r)
{
    if (r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < r->elements; i++)
            s_buf_reply(b, r->element[i]);
    } else if (r->type == REDIS_REPLY_INTEGER) {
        char n[32];
        snprintf(n, sizeof n, "%lld", r->integer);
        s_buf_add(b, n, strlen(n));
    } else if (r->str) {
        s_buf_add(b, r->str, r->len);
    }
}

static int s_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Everything in the database, in a canonical order. */
static buf_t s_snapshot(void)
{
    buf_t b = {0};
    redisReply *keys = wz_store_cmd(store, "KEYS *");
    ck_assert_ptr_nonnull(keys);
    char **names = calloc(keys->elements + 1, sizeof *names);
    for (size_t i = 0; i < keys->elements; i++)
        names[i] = keys->element[i]->str;
    qsort(names, keys->elements, sizeof *names, s_cmp_str);
    for (size_t i = 0; i < keys->elements; i++) {
        s_buf_add(&b, names[i], strlen(names[i]));
        redisReply *t = wz_store_cmd(store, "TYPE %s", names[i]);
        ck_assert_ptr_nonnull(t);
        const char *cmd = !strcmp(t->str, "string") ? "GET %s"
                          : !strcmp(t->str, "set")  ? "SORT %s ALPHA"
                          : !strcmp(t->str, "zset") ? "ZRANGE %s 0 -1 WITHSCORES"
                          : !strcmp(t->str, "hash") ? "HGETALL %s"
                                                    : "XRANGE %s - +";
        freeReplyObject(t);
        redisReply *v = wz_store_cmd(store, cmd, names[i]);
        ck_assert_ptr_nonnull(v);
        s_buf_reply(&b, v);
        freeReplyObject(v);
    }
    free(names);
    freeReplyObject(keys);
    return b;
}

START_TEST(test_replay_changes_nothing)
{
    ev_active("kam-1", 2025, 1, 10);
    ev_active("kam-2", 2025, 2, 1);
    ev_publish("pw-1");
    ev_answer("pw-1/1", false, "");
    buf_t before = s_snapshot();

    /* A restarted consumer reads the stream again from its stored cursor. */
    wz_sub_t *again = wz_sub_new(ctx, store, own, "matching", wz_matching_apply, NULL, matching,
                                 logger);
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", wz_test_free_port());
    ck_assert_int_eq(wz_sub_follow(again, "intake", ep, regions, 1), 0);
    ck_assert_int_eq(wz_sub_catch_up(again), 0);
    ck_assert_int_eq(wz_sub_catch_up(sub), 0);
    wz_sub_destroy(&again);

    /* The same events handed to the apply function again are recognised. */
    redisReply *r = wz_store_cmd(store, "XRANGE wz:{zkij}:stream:intake - +");
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(r->elements, 6);
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *val = r->element[i]->element[1]->element[1];
        WzEvent *ev = wz_event_unpack(val->str, val->len);
        ck_assert_ptr_nonnull(ev);
        if (ev->payload_case == PAYLOAD(VACANCY_PUBLISHED) ||
            ev->payload_case == PAYLOAD(PROPOSAL_ANSWERED)) {
            wz_txn_t *txn = wz_txn_begin(store, own, "zkij");
            ck_assert_ptr_nonnull(txn);
            ck_assert_int_eq(wz_matching_apply(matching, txn, "intake", ev), 0);
            ck_assert_uint_eq(wz_txn_size(txn), 0);
            wz_txn_destroy(&txn);
        }
        /* Not from intake, or from a region this policy does not know: passed over. */
        wz_txn_t *txn = wz_txn_begin(store, own, "zkij");
        ck_assert_int_eq(wz_matching_apply(matching, txn, "notification", ev), 0);
        char *region = ev->region;
        ev->region = "elsewhere";
        ck_assert_int_eq(wz_matching_apply(matching, txn, "intake", ev), 0);
        ev->region = region;
        ck_assert_uint_eq(wz_txn_size(txn), 0);
        wz_txn_destroy(&txn);
        WZ_FREE_UNPACKED(ev);
    }
    freeReplyObject(r);

    buf_t after = s_snapshot();
    ck_assert_uint_eq(before.len, after.len);
    ck_assert(memcmp(before.data, after.data, before.len) == 0);
    free(before.data);
    free(after.data);
}
END_TEST

START_TEST(test_redis_away)
{
    ev_active("kam-1", 2025, 1, 10);
    ev_publish("pw-1");
    wz_testenv_kill_redis(env);
    ck_assert_int_eq(wz_matching_expire(matching, wz_now_ms() + 3600 * 1000), -1);
    ck_assert_int_eq(wz_sub_catch_up(sub), -1);
    ck_assert_int_eq(wz_matching_on_timer(NULL, matching), 0);
}
END_TEST


/* A vacancy in a given complex, stairwell and neighbourhood of Haarlem. */
static void ev_publish_at(const char *id, const char *complex, const char *stairwell,
                          const char *neighbourhood)
{
    WzVacancy v = WOONZORG__V1__VACANCY__INIT;
    v.id = (char *)id;
    v.corporation = "pre-wonen";
    v.region = "zkij";
    v.municipality = "haarlem";
    v.neighbourhood = (char *)neighbourhood;
    v.complex = (char *)complex;
    v.stairwell = (char *)stairwell;
    v.address = "Kerkstraat 2";
    v.rooms = 2;
    v.floor_area_m2 = 45;
    v.rent_cents = 60000;
    v.state = VSTATE(OPEN);
    Woonzorg__V1__VacancyPublished body = WOONZORG__V1__VACANCY_PUBLISHED__INIT;
    body.vacancy = &v;
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.payload_case = PAYLOAD(VACANCY_PUBLISHED);
    ev.vacancy_published = &body;
    s_produce(&ev, "pre-wonen");
}

/* StepConfirmed as intake emits it, accepted at_ms (0: now). */
static void ev_confirm_at(const char *proposal_id, const char *step, bool ok, const char *reason,
                          const char *actor, int64_t at_ms)
{
    WzProposal p = WOONZORG__V1__PROPOSAL__INIT;
    p.id = (char *)proposal_id;
    Woonzorg__V1__StepConfirmed body = WOONZORG__V1__STEP_CONFIRMED__INIT;
    body.proposal = &p;
    body.step = (char *)step;
    body.ok = ok;
    body.reason = (char *)reason;
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.payload_case = PAYLOAD(STEP_CONFIRMED);
    ev.step_confirmed = &body;
    ev.occurred_ms = at_ms;
    s_produce(&ev, actor);
}

static void ev_confirm(const char *proposal_id, const char *step, bool ok, const char *reason,
                       const char *actor)
{
    ev_confirm_at(proposal_id, step, ok, reason, actor, 0);
}

/* The last event of a type on matching's outbox (NULL if none); caller frees. */
static WzEvent *s_last_of(int payload)
{
    WzEvent *found = NULL;
    for (long long i = s_out_count(); i >= 1 && !found; i--) {
        WzEvent *e = s_out_event(i);
        if ((int)e->payload_case == payload)
            found = e;
        else
            WZ_FREE_UNPACKED(e);
    }
    return found;
}

static void s_restart_matching(void);

static long long s_exists(const char *key)
{
    return s_integer("EXISTS %s", key);
}

/* Every Redis record of candidate id is gone, CandidatePurged (reason) was
 * the last event about it, and the in-memory view equals Redis. */
static void s_check_purged(const char *id, const char *reason)
{
    char key[128];
    static const char *const keys[] = {"candidate", "m:candidate", "m:open"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(key, sizeof key, "wz:{zkij}:%s:%s", keys[i], id);
        ck_assert_msg(s_exists(key) == 0, "%s survived the purge", key);
    }
    redisReply *r = wz_store_cmd(store, "SISMEMBER wz:{zkij}:m:candidates %s", id);
    ck_assert_int_eq(r->integer, 0);
    freeReplyObject(r);
    static const char *const zsets[] = {"m:urgency", "m:purge"};
    for (size_t i = 0; i < 2; i++) {
        r = wz_store_cmd(store, "ZSCORE wz:{zkij}:%s %s", zsets[i], id);
        ck_assert_msg(r->type == REDIS_REPLY_NIL, "%s still names %s", zsets[i], id);
        freeReplyObject(r);
    }
    WzEvent *e = s_last_of(PAYLOAD(CANDIDATE_PURGED));
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->candidate_purged->candidate_id, id);
    ck_assert_str_eq(e->candidate_purged->care_provider, "ribw-kam");
    ck_assert_str_eq(e->candidate_purged->municipality, "haarlem");
    ck_assert_str_eq(e->candidate_purged->reason, reason);
    WZ_FREE_UNPACKED(e);
    char why[256];
    ck_assert_msg(wz_matching_verify(matching, "zkij", why, sizeof why) == 0, "view: %s", why);
}

/* Intake's own record of a candidate (the unit tests have no intake). */
static void s_intake_record(const char *id, bool consent)
{
    WzCandidate c = WOONZORG__V1__CANDIDATE__INIT;
    c.id = (char *)id;
    c.care_provider = "ribw-kam";
    c.municipality = "haarlem";
    c.consent = consent;
    size_t len = 0;
    uint8_t *bytes = wz_codec_pack(&c.base, &len);
    redisReply *r = wz_store_cmd(store, "SET wz:{zkij}:candidate:%s %b", id, bytes, len);
    ck_assert_ptr_nonnull(r);
    freeReplyObject(r);
    free(bytes);
}

static double s_purge_at(const char *id)
{
    redisReply *r = wz_store_cmd(store, "ZSCORE wz:{zkij}:m:purge %s", id);
    ck_assert_ptr_nonnull(r);
    ck_assert_msg(r->type == REDIS_REPLY_STRING, "%s has no purge time", id);
    double at = atof(r->str);
    freeReplyObject(r);
    return at;
}

static uint32_t s_rule_removed(const WzExplanation *e, const char *rule)
{
    int i = wz_match_rule_index(rule);
    ck_assert_int_ge(i, 0);
    return e->filters[i]->removed;
}

START_TEST(test_spread_and_contingent)
{
    ev_active("kam-1", 2025, 1, 1);
    ev_active("kam-2", 2025, 1, 2);
    ev_active("kam-3", 2025, 1, 3);
    ev_active("kam-4", 2025, 1, 4);
    /* The complex carries two placements (open offers count). */
    ev_publish_at("pw-1", "c-1", "", "BU03920101");
    ev_publish_at("pw-2", "c-1", "", "BU03920101");
    ev_publish_at("pw-3", "c-1", "", "BU03920101");
    ck_assert_int_eq(s_vacancy_state("pw-1"), VSTATE(OFFERED));
    ck_assert_int_eq(s_vacancy_state("pw-2"), VSTATE(OFFERED));
    ck_assert_int_eq(s_vacancy_state("pw-3"), VSTATE(RELEASED));
    WzEvent *ev = s_last_of(PAYLOAD(VACANCY_RELEASED));
    ck_assert_ptr_nonnull(ev);
    ck_assert_uint_eq(s_rule_removed(ev->vacancy_released->explanation, "spread"), 4);
    ck_assert_ptr_nonnull(strstr(ev->vacancy_released->explanation->summary, "complex 2/2"));
    WZ_FREE_UNPACKED(ev);
    /* A decline frees the place in the complex: the re-match is allowed. */
    ev_answer("pw-1/1", false, "unsuitable");
    ck_assert_int_eq(s_vacancy_state("pw-1"), VSTATE(OFFERED));
    ck_assert_int_eq(s_integer("ZCARD %s", "wz:{zkij}:m:spread:complex:pre-wonen/c-1"), 2);

    /* Contingent of pre-wonen in Haarlem: 3 a year; two offers are open, a
     * third elsewhere fits, the fourth does not. */
    ev_publish_at("pw-4", "c-2", "", "BU03921003");
    ck_assert_int_eq(s_vacancy_state("pw-4"), VSTATE(OFFERED));
    ev_publish_at("pw-5", "c-3", "", "BU03921003");
    ck_assert_int_eq(s_vacancy_state("pw-5"), VSTATE(RELEASED));
    ev = s_last_of(PAYLOAD(VACANCY_RELEASED));
    ck_assert_uint_eq(s_rule_removed(ev->vacancy_released->explanation, "contingent"), 4);
    WZ_FREE_UNPACKED(ev);
    s_check_invariant();
}
END_TEST

START_TEST(test_consent_withdrawn_cancels)
{
    ev_active("kam-1", 2025, 1, 10);
    ev_active("kam-2", 2025, 2, 1);
    ev_publish("pw-1");
    ck_assert_int_eq(s_candidate_state("kam-1"), CSTATE(PROPOSED));
    /* The care provider records that consent was withdrawn. */
    ev_consent_withdrawn("kam-1");
    ck_assert_int_eq(s_proposal_state("pw-1/1"), PSTATE(CANCELLED));
    WzEvent *e = s_last_of(PAYLOAD(PROPOSAL_CANCELLED));
    ck_assert_str_eq(e->proposal_cancelled->reason, "consent withdrawn");
    WZ_FREE_UNPACKED(e);
    WzProposal *p = s_proposal("pw-1/2");
    ck_assert_str_eq(p->candidate_id, "kam-2");
    WZ_FREE_UNPACKED(p);
    /* Erased at once, in the same transaction (s_check_purged). */
    s_check_purged("kam-1", "consent");
    /* Never matched again: it is not there any more. */
    ev_publish_at("pw-2", "c-9", "", "BU03921003");
    ck_assert_int_eq(s_vacancy_state("pw-2"), VSTATE(RELEASED));
    e = s_last_of(PAYLOAD(VACANCY_RELEASED));
    ck_assert_uint_eq(e->vacancy_released->explanation->considered, 1);
    WZ_FREE_UNPACKED(e);
    s_check_invariant();
}
END_TEST

START_TEST(test_purge_after_retention)
{
    /* Housed and withdrawn candidates are purged retention days later, on
     * the timer's clock (the tests pass it): not a millisecond before. */
    wz_matching_set_retention(matching, 30);
    ck_assert_int_eq(wz_matching_load(matching), 0);
    ev_active("kam-1", 2025, 1, 10);
    ev_active("kam-2", 2025, 2, 1);
    ev_active("kam-3", 2025, 3, 1);
    s_intake_record("kam-1", true);
    s_intake_record("kam-2", true);
    s_intake_record("kam-3", true);
    int64_t t0 = wz_now_ms();
    ev_publish("pw-1");
    ev_answer("pw-1/1", true, "");
    ev_confirm("pw-1/1", "viewing", true, "", "pre-wonen");
    ev_lease("pw-1");
    ck_assert_int_eq(s_candidate_state("kam-1"), CSTATE(HOUSED));
    ev_withdraw_candidate("kam-2");
    int64_t t1 = wz_now_ms();
    int64_t days30 = 30 * WZ_MS_PER_DAY;
    double housed_at = s_purge_at("kam-1"), withdrawn_at = s_purge_at("kam-2");
    ck_assert(housed_at >= (double)(t0 + days30) && housed_at <= (double)(t1 + days30));
    ck_assert(withdrawn_at >= housed_at && withdrawn_at <= (double)(t1 + days30));
    ck_assert_uint_eq(wz_matching_candidates(matching, "zkij"), 3);

    /* 29 days on: nothing. */
    ck_assert_int_eq(wz_matching_purge(matching, t0 + days30 - WZ_MS_PER_DAY), 0);
    ck_assert_int_eq(s_candidate_state("kam-1"), CSTATE(HOUSED));
    /* The day the housed one is due: it goes, the withdrawn one with it when due too. */
    ck_assert_int_eq(wz_matching_purge(matching, (int64_t)housed_at), 1);
    s_check_purged("kam-1", "retention");
    ck_assert_int_eq(wz_matching_purge(matching, (int64_t)withdrawn_at), 1);
    s_check_purged("kam-2", "retention");
    ck_assert_uint_eq(wz_matching_candidates(matching, "zkij"), 1);
    /* The active one stays whatever the clock says; the proposal that
     * housed kam-1 stays (the vacancy's history, by pseudonym only). */
    ck_assert_int_eq(wz_matching_purge(matching, t1 + 10 * days30), 0);
    ck_assert_int_eq(s_candidate_state("kam-3"), CSTATE(ACTIVE));
    ck_assert_int_eq(s_exists("wz:{zkij}:candidate:kam-3"), 1);
    ck_assert_int_eq(s_proposal_state("pw-1/1"), PSTATE(LET));
    /* Purged candidates stay out of decisions. */
    ev_publish_at("pw-2", "c-2", "", "BU03921003");
    WzProposal *p = s_proposal("pw-2/1");
    ck_assert_str_eq(p->candidate_id, "kam-3");
    WZ_FREE_UNPACKED(p);
    /* A restart reads the same. */
    s_restart_matching();
    ck_assert_uint_eq(wz_matching_candidates(matching, "zkij"), 1);
    s_check_invariant();
}
END_TEST

START_TEST(test_purge_is_all_or_nothing)
{
    /* One transaction erases everything, the schedule included; a purge
     * found half done (here matching's record gone, intake's not) is
     * completed by the next run, and a run after the purge changes nothing. */
    wz_matching_set_retention(matching, 1);
    ck_assert_int_eq(wz_matching_load(matching), 0);
    ev_active("kam-1", 2025, 1, 10);
    s_intake_record("kam-1", true);
    ev_withdraw_candidate("kam-1");
    long long events = s_out_count();
    int64_t later = wz_now_ms() + 2 * WZ_MS_PER_DAY;
    ck_assert(s_purge_at("kam-1") > 0);
    redisReply *r;
    /* Half a purge (as if matching's part had gone and intake's not):
     * the re-run erases the rest and still says so. */
    r = wz_store_cmd(store, "DEL wz:{zkij}:m:candidate:kam-1");
    freeReplyObject(r);
    ck_assert_int_eq(wz_matching_purge(matching, later), 1);
    s_check_purged("kam-1", "retention");
    long long after = s_out_count();
    ck_assert_int_eq(after, events + 1);
    ck_assert_int_eq(wz_matching_purge(matching, later), 0);
    ck_assert_int_eq(s_out_count(), after);
}
END_TEST

START_TEST(test_consent_withdrawn_purges_at_once)
{
    /* Withdrawn consent erases the candidate while the update is applied,
     * housed or not; intake's record goes only while it still says no
     * consent (a newer update may have given it again). */
    ck_assert_int_eq(wz_matching_load(matching), 0);
    ev_active("kam-1", 2025, 1, 10);
    ev_active("kam-2", 2025, 1, 11);
    s_intake_record("kam-1", false);
    s_intake_record("kam-2", true); /* consent given again since */
    static const char *const ids[] = {"kam-2", "kam-1"};
    for (int i = 0; i < 2; i++)
        ev_consent_withdrawn(ids[i]);
    s_check_purged("kam-1", "consent");
    ck_assert_int_eq(s_exists("wz:{zkij}:m:candidate:kam-2"), 0);
    /* kam-2's intake record stays: its newer update (consent again) follows. */
    ck_assert_int_eq(s_exists("wz:{zkij}:candidate:kam-2"), 1);
    ev_candidate("kam-2", 0, true);
    ck_assert_int_eq(s_exists("wz:{zkij}:m:candidate:kam-2"), 1);
    ck_assert_uint_eq(wz_matching_candidates(matching, "zkij"), 1);
    char why[256];
    ck_assert_msg(wz_matching_verify(matching, "zkij", why, sizeof why) == 0, "view: %s", why);
}
END_TEST

START_TEST(test_route_steps)
{
    ev_active("kam-1", 2025, 1, 10);
    ev_active("kam-2", 2025, 2, 1);
    ev_publish("pw-1");
    ev_answer("pw-1/1", true, "");
    WzProposal *p = s_proposal("pw-1/1");
    ck_assert_str_eq(p->step, "viewing");
    ck_assert_int_eq(p->state, PSTATE(ACCEPTED));
    ck_assert(s_has_deadline("pw-1/1"));
    WZ_FREE_UNPACKED(p);
    /* A confirmation of another step than the current one changes nothing. */
    long long before = s_out_count();
    ev_confirm("pw-1/1", "lease", true, "", "pre-wonen");
    ck_assert_int_eq(s_out_count(), before);
    /* The viewing confirmed: on to the lease. */
    ev_confirm("pw-1/1", "viewing", true, "", "pre-wonen");
    p = s_proposal("pw-1/1");
    ck_assert_str_eq(p->step, "lease");
    WZ_FREE_UNPACKED(p);
    WzEvent *e = s_last_of(PAYLOAD(PROPOSAL_ADVANCED));
    ck_assert_str_eq(e->proposal_advanced->done_step, "viewing");
    WZ_FREE_UNPACKED(e);
    ev_lease("pw-1");
    ck_assert_int_eq(s_vacancy_state("pw-1"), VSTATE(LET));
    ck_assert(!s_has_deadline("pw-1/1"));

    /* The corporation turns a candidate down after the viewing: declined,
     * not the candidate's refusal, and the next candidate is proposed. */
    ev_active("kam-3", 2025, 3, 1);
    ev_publish_at("pw-2", "c-2", "", "BU03921003");
    ev_answer("pw-2/1", true, "");
    ev_confirm("pw-2/1", "viewing", false, "corporation_declines", "pre-wonen");
    p = s_proposal("pw-2/1");
    ck_assert_int_eq(p->state, PSTATE(DECLINED));
    ck_assert(!p->refusal);
    ck_assert_str_eq(p->candidate_id, "kam-2");
    WZ_FREE_UNPACKED(p);
    WzCandidate *c = s_candidate("kam-2");
    ck_assert_uint_eq(c->refusals, 0);
    ck_assert_int_eq(c->state, CSTATE(ACTIVE));
    WZ_FREE_UNPACKED(c);
    p = s_proposal("pw-2/2");
    ck_assert_str_eq(p->candidate_id, "kam-3");
    WZ_FREE_UNPACKED(p);
    s_check_invariant();
}
END_TEST

START_TEST(test_refusals_lapse_urgency)
{
    ev_active("kam-1", 2025, 1, 10);
    ev_active("kam-2", 2025, 2, 1);
    ev_publish_at("pw-1", "c-1", "", "BU03920101");
    ev_answer("pw-1/1", false, "client_refuses: wants to stay near family");
    WzProposal *p = s_proposal("pw-1/1");
    ck_assert(p->refusal);
    WZ_FREE_UNPACKED(p);
    WzCandidate *c = s_candidate("kam-1");
    ck_assert_uint_eq(c->refusals, 1);
    ck_assert_int_eq(c->state, CSTATE(ACTIVE));
    WZ_FREE_UNPACKED(c);
    /* A reason that is no refusal does not count. */
    ev_publish_at("pw-2", "c-2", "", "BU03920101");
    ev_answer("pw-2/1", false, "unsuitable");
    c = s_candidate("kam-1");
    ck_assert_uint_eq(c->refusals, 1);
    WZ_FREE_UNPACKED(c);
    /* The second refusal ends the urgency; the municipality is told. */
    ev_publish_at("pw-3", "c-3", "", "BU03921003");
    p = s_proposal("pw-3/1");
    ck_assert_str_eq(p->candidate_id, "kam-1");
    WZ_FREE_UNPACKED(p);
    ev_answer("pw-3/1", false, "client_refuses");
    ck_assert_int_eq(s_candidate_state("kam-1"), CSTATE(LAPSED));
    WzEvent *e = s_last_of(PAYLOAD(URGENCY_LAPSED));
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->urgency_lapsed->candidate_id, "kam-1");
    ck_assert_str_eq(e->urgency_lapsed->reason, "2 refusals (the scheme allows 2)");
    WZ_FREE_UNPACKED(e);
    /* A new grant by the municipality starts afresh. */
    ev_urgency("kam-1", 2025, 6, 1);
    c = s_candidate("kam-1");
    ck_assert_int_eq(c->state, CSTATE(ACTIVE));
    ck_assert_uint_eq(c->refusals, 0);
    WZ_FREE_UNPACKED(c);
}
END_TEST

START_TEST(test_decline_confirmed_by_municipality)
{
    s_schemes[0].decline_needs_confirmation = true;
    ev_active("kam-1", 2025, 1, 10);
    ev_active("kam-2", 2025, 2, 1);
    ev_publish("pw-1");
    ev_answer("pw-1/1", false, "client_refuses");
    WzProposal *p = s_proposal("pw-1/1");
    ck_assert(p->refusal_pending);
    ck_assert(!p->refusal);
    WZ_FREE_UNPACKED(p);
    WzCandidate *c = s_candidate("kam-1");
    ck_assert_uint_eq(c->refusals, 0);
    WZ_FREE_UNPACKED(c);
    ev_confirm("pw-1/1", "decline", true, "", "gem-haarlem");
    p = s_proposal("pw-1/1");
    ck_assert(!p->refusal_pending);
    ck_assert(p->refusal);
    WZ_FREE_UNPACKED(p);
    c = s_candidate("kam-1");
    ck_assert_uint_eq(c->refusals, 1);
    WZ_FREE_UNPACKED(c);
    /* A second verdict changes nothing. */
    ev_confirm("pw-1/1", "decline", true, "", "gem-haarlem");
    c = s_candidate("kam-1");
    ck_assert_uint_eq(c->refusals, 1);
    WZ_FREE_UNPACKED(c);
}
END_TEST

static uint32_t s_refusals(const char *candidate)
{
    WzCandidate *c = s_candidate(candidate);
    uint32_t n = c->refusals;
    WZ_FREE_UNPACKED(c);
    return n;
}

START_TEST(test_refusal_verdict_due)
{
    /* The municipality's verdict on a refusal is due verdict_due_ms; none
     * by then, the refusal does not count. One intake accepted in time
     * counts even when it reaches matching after the timer ended the wait;
     * one given later changes nothing. */
    s_schemes[0].decline_needs_confirmation = true;
    ev_active("kam-1", 2025, 1, 10);
    ev_active("kam-2", 2025, 2, 1);
    ev_active("kam-3", 2025, 3, 1);
    ev_publish("pw-1");
    ev_answer("pw-1/1", false, "client_refuses");
    WzProposal *p = s_proposal("pw-1/1");
    int64_t due = p->verdict_due_ms;
    ck_assert(p->refusal_pending);
    ck_assert(due > p->created_ms);
    WZ_FREE_UNPACKED(p);
    redisReply *r = wz_store_cmd(store, "ZSCORE wz:{zkij}:m:verdicts pw-1/1");
    ck_assert(r && r->type == REDIS_REPLY_STRING && atoll(r->str) == due);
    freeReplyObject(r);
    ck_assert_int_eq(wz_matching_verdicts_due(matching, due - 1), 0);
    ck_assert_int_eq(wz_matching_verdicts_due(matching, due), 1);
    p = s_proposal("pw-1/1");
    ck_assert(!p->refusal_pending);
    ck_assert(!p->refusal);
    ck_assert(p->verdict_due_ms == due); /* says why it does not count */
    WZ_FREE_UNPACKED(p);
    ck_assert_uint_eq(s_refusals("kam-1"), 0);
    ck_assert_int_eq(s_exists("wz:{zkij}:m:verdicts"), 0);
    ck_assert_int_eq(wz_matching_verdicts_due(matching, due + 1000), 0); /* once */

    /* Accepted by intake just in time, applied after the wait ended. */
    ev_confirm_at("pw-1/1", "decline", true, "", "gem-haarlem", due);
    p = s_proposal("pw-1/1");
    ck_assert(p->refusal);
    ck_assert(p->verdict_due_ms == 0);
    WZ_FREE_UNPACKED(p);
    ck_assert_uint_eq(s_refusals("kam-1"), 1);

    /* kam-2 refuses too; a verdict stamped after its due time is not one
     * intake would accept, and matching does not count it either, whether
     * or not the timer ran. */
    ev_answer("pw-1/2", false, "client_refuses");
    p = s_proposal("pw-1/2");
    int64_t due2 = p->verdict_due_ms;
    ck_assert(p->refusal_pending);
    WZ_FREE_UNPACKED(p);
    ev_confirm_at("pw-1/2", "decline", true, "", "gem-haarlem", due2 + 1);
    p = s_proposal("pw-1/2");
    ck_assert(p->refusal_pending);
    ck_assert(!p->refusal);
    WZ_FREE_UNPACKED(p);
    ck_assert_int_eq(wz_matching_verdicts_due(matching, due2), 1);
    ev_confirm_at("pw-1/2", "decline", true, "", "gem-haarlem", due2 + 1);
    ck_assert_uint_eq(s_refusals("kam-2"), 0);
    /* A verdict in time ends the wait: nothing left for the timer. */
    ev_answer("pw-1/3", false, "client_refuses");
    ev_confirm("pw-1/3", "decline", false, "", "gem-haarlem");
    p = s_proposal("pw-1/3");
    ck_assert(!p->refusal_pending);
    ck_assert(!p->refusal);
    ck_assert(p->verdict_due_ms == 0);
    WZ_FREE_UNPACKED(p);
    ck_assert_int_eq(s_exists("wz:{zkij}:m:verdicts"), 0);
    ck_assert_uint_eq(s_refusals("kam-3"), 0);
}
END_TEST

START_TEST(test_reminder_before_deadline)
{
    ev_active("kam-1", 2025, 1, 10);
    ev_publish("pw-1");
    WzProposal *p = s_proposal("pw-1/1");
    int64_t at = p->reminder_ms;
    ck_assert(at > p->created_ms && at < p->deadline_ms); /* halfway with answer seconds */
    WZ_FREE_UNPACKED(p);
    ck_assert_int_eq(wz_matching_remind(matching, at - 1), 0);
    ck_assert_int_eq(wz_matching_remind(matching, at), 1);
    WzEvent *e = s_last_of(PAYLOAD(DEADLINE_REMINDER));
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->deadline_reminder->step, "answer");
    ck_assert_str_eq(e->deadline_reminder->role, "care_provider");
    WZ_FREE_UNPACKED(e);
    ck_assert_int_eq(wz_matching_remind(matching, at + 1000), 0); /* once */
}
END_TEST

START_TEST(test_urgency_window_lapses)
{
    s_schemes[0].urgency_months = 4;
    s_schemes[0].extension_months = 4;
    ev_active("kam-1", 2020, 1, 10);
    ev_active("kam-2", 2020, 3, 1);
    WzCandidate *c = s_candidate("kam-1");
    ck_assert_int_eq(c->urgency_until->year, 2020);
    ck_assert_int_eq(c->urgency_until->month, 5);
    ck_assert_int_eq(c->urgency_until->day, 10);
    WZ_FREE_UNPACKED(c);
    /* Before the timer runs, matching already passes them over. */
    ev_publish("pw-1");
    ck_assert_int_eq(s_vacancy_state("pw-1"), VSTATE(RELEASED));
    WzEvent *e = s_last_of(PAYLOAD(VACANCY_RELEASED));
    ck_assert_uint_eq(s_rule_removed(e->vacancy_released->explanation, "urgency_window"), 2);
    WZ_FREE_UNPACKED(e);
    ck_assert_int_eq(wz_matching_lapse(matching, wz_now_ms()), 2);
    ck_assert_int_eq(s_candidate_state("kam-1"), CSTATE(LAPSED));
    ck_assert_int_eq(wz_matching_lapse(matching, wz_now_ms()), 0);
}
END_TEST

START_TEST(test_snapshot_replays)
{
    ev_active("kam-1", 2025, 1, 10);
    ev_active("kam-2", 2025, 2, 1);
    ev_candidate("kam-3", 0, false); /* registered, no urgency: inactive */
    ev_publish("pw-1");
    ev_answer("pw-1/1", false, "unsuitable");
    for (int round = 1; round <= 2; round++) {
        char id[32];
        snprintf(id, sizeof id, "pw-1/%d", round);
        WzSnapshot *snap =
            s_load(&woonzorg__v1__decision_snapshot__descriptor, "m:snapshot", id);
        ck_assert_ptr_nonnull(snap);
        ck_assert_str_eq(snap->proposal_id, id);
        /* Not the region: the candidates walked (round 1: kam-1, chosen;
         * round 2: kam-1, already proposed, then kam-2, chosen) and the
         * buckets counting both by their attributes (no ids). */
        ck_assert_uint_eq(snap->format, WZ_MATCH_SNAPSHOT_WALK);
        ck_assert_uint_eq(snap->inactive, 1);
        ck_assert_uint_eq(snap->n_candidates, (size_t)round);
        uint32_t bucketed = 0;
        for (size_t i = 0; i < snap->n_buckets; i++) {
            bucketed += snap->buckets[i]->size;
            ck_assert_str_eq(snap->buckets[i]->key->id, "");
        }
        ck_assert_uint_eq(bucketed, 2);
        ck_assert_uint_eq(snap->n_tried, (size_t)round - 1);
        WzProposal *p = s_proposal(id);
        wz_match_result_t r;
        size_t chosen = 99;
        ck_assert_int_eq(wz_match_replay(&s_policy, snap, &r, &chosen), 1);
        ck_assert_str_eq(snap->candidates[chosen]->id, p->candidate_id);
        ck_assert_str_eq(snap->chosen, p->candidate_id);
        ck_assert_str_eq(r.explanation.summary, p->explanation->summary);
        for (size_t i = 0; i < WZ_MATCH_RULES; i++)
            ck_assert_uint_eq(r.explanation.filters[i]->removed,
                              p->explanation->filters[i]->removed);
        ck_assert_uint_eq(r.explanation.not_examined, p->explanation->not_examined);
        ck_assert_uint_eq(r.explanation.eligible, p->explanation->eligible);
        /* A walk the rules cannot explain is refused, not replayed: the
         * chosen one claimed ineligible, or the walk stopping short. */
        if (round == 2) {
            WzCandidate *first = snap->candidates[0];
            snap->candidates[0] = snap->candidates[1];
            snap->candidates[1] = first;
            ck_assert_int_eq(wz_match_replay(&s_policy, snap, &r, &chosen), -1);
            ck_assert_ptr_nonnull(strstr(r.summary, "after the eligible kam-2"));
            snap->candidates[1] = snap->candidates[0];
            snap->candidates[0] = first;
            snap->n_candidates = 1;
            ck_assert_int_eq(wz_match_replay(&s_policy, snap, &r, &chosen), -1);
            ck_assert_ptr_nonnull(strstr(r.summary, "not examined"));
            snap->n_candidates = 2;
            uint32_t kept = snap->buckets[0]->size;
            snap->buckets[0]->size = 0;
            ck_assert_int_eq(wz_match_replay(&s_policy, snap, &r, &chosen), -1);
            snap->buckets[0]->size = kept;
        }
        /* Under another policy version it refuses to pretend. */
        wz_policy_t other = s_policy;
        wz_strlcpy(other.version, "test-4", sizeof other.version);
        ck_assert_int_eq(wz_match_replay(&other, snap, &r, &chosen), -1);
        WZ_FREE_UNPACKED(p);
        WZ_FREE_UNPACKED(snap);
    }
}
END_TEST

/* The decisions m:snaprefs:<candidate> names, sorted, comma separated. */
static void s_snaprefs(const char *candidate, char *out, size_t len)
{
    redisReply *r = wz_store_cmd(store, "SORT wz:{zkij}:m:snaprefs:%s ALPHA", candidate);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
    *out = '\0';
    for (size_t i = 0; i < r->elements; i++)
        snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? "," : "", r->element[i]->str);
    freeReplyObject(r);
}

static WzSnapshot *s_snap(const char *id)
{
    WzSnapshot *snap = s_load(&woonzorg__v1__decision_snapshot__descriptor, "m:snapshot", id);
    ck_assert_ptr_nonnull(snap);
    return snap;
}

/* What is left of candidate id in snap: the erased entry holds only its
 * id, care provider and municipality; no bucket has its attributes (attrs:
 * the candidate as it was when the decision was taken). */
static void s_check_scrubbed(const WzSnapshot *snap, const char *id, const WzCandidate *attrs)
{
    size_t found = 0;
    for (size_t i = 0; i < snap->n_candidates; i++) {
        const WzCandidate *c = snap->candidates[i];
        if (strcmp(c->id, id) != 0)
            continue;
        found++;
        char fields[512];
        wz_test_set_fields(&c->base, fields, sizeof fields);
        ck_assert_str_eq(fields, "id\ncare_provider\nmunicipality\nerased\n");
    }
    ck_assert_uint_eq(found, 1);
    for (size_t i = 0; i < snap->n_buckets; i++) {
        const WzCandidate *k = snap->buckets[i]->key;
        ck_assert_msg(k->erased || !wz_cindex_same_bucket(k, attrs),
                      "%s: bucket %zu still has the erased candidate's attributes",
                      snap->proposal_id, i);
        if (k->erased) {
            char fields[128];
            wz_test_set_fields(&k->base, fields, sizeof fields);
            ck_assert_str_eq(fields, "erased\n");
        }
    }
}

START_TEST(test_snapshot_refs_and_scrub)
{
    wz_matching_set_retention(matching, 1);
    ck_assert_int_eq(wz_matching_load(matching), 0);
    ev_active("kam-1", 2025, 1, 10);
    ev_active("kam-2", 2025, 2, 1);
    ev_candidate("kam-3", ACCESS(WHEELCHAIR), false); /* another bucket, never walked */
    ev_urgency("kam-3", 2025, 3, 1);
    ev_active("kam-4", 2025, 4, 1);
    ev_publish("pw-1");
    /* Each snapshot is indexed under every candidate it lists, in its own
     * transaction: pw-1/1 walked kam-1 (chosen). */
    char refs[256];
    s_snaprefs("kam-1", refs, sizeof refs);
    ck_assert_str_eq(refs, "pw-1/1");
    s_snaprefs("kam-2", refs, sizeof refs);
    ck_assert_str_eq(refs, "");
    ev_answer("pw-1/1", false, "unsuitable"); /* pw-1/2 walks kam-1 (tried), kam-2 (chosen) */
    ev_publish_at("pw-2", "c-2", "", "BU03921003"); /* pw-2/1 walks kam-1, chosen */
    s_snaprefs("kam-1", refs, sizeof refs);
    ck_assert_str_eq(refs, "pw-1/1,pw-1/2,pw-2/1");
    s_snaprefs("kam-2", refs, sizeof refs);
    ck_assert_str_eq(refs, "pw-1/2");
    s_snaprefs("kam-3", refs, sizeof refs);
    ck_assert_str_eq(refs, "");
    WzProposal *p = s_proposal("pw-2/1");
    ck_assert_str_eq(p->candidate_id, "kam-1");
    WZ_FREE_UNPACKED(p);

    /* kam-1 withdrawn and purged: all three snapshots lose its attributes
     * in the purge's transaction, and the index goes. */
    ev_withdraw_candidate("kam-1");
    ck_assert_int_eq(wz_matching_purge(matching, wz_now_ms() + 2 * WZ_MS_PER_DAY), 1);
    s_check_purged("kam-1", "retention");
    ck_assert_int_eq(s_exists("wz:{zkij}:m:snaprefs:kam-1"), 0);
    static const char *const had[] = {"pw-1/1", "pw-1/2", "pw-2/1"};
    WzHousehold hh = WOONZORG__V1__HOUSEHOLD__INIT;
    hh.adults = 1;
    WzCandidate was = WOONZORG__V1__CANDIDATE__INIT; /* as ev_candidate registers it */
    was.care_provider = "ribw-kam";
    was.group = "bw";
    was.household = &hh;
    was.age_band = WOONZORG__V1__AGE_BAND__AGE_BAND_ADULT;
    was.income_class = WOONZORG__V1__INCOME_CLASS__INCOME_CLASS_BELOW_LIMIT;
    for (size_t i = 0; i < 3; i++) {
        WzSnapshot *snap = s_snap(had[i]);
        s_check_scrubbed(snap, "kam-1", &was);
        /* The bucket it shared with kam-2 and kam-4 keeps its size; kam-3's
         * bucket (another candidate's, never linked to kam-1) stays whole. */
        uint32_t sizes = snap->inactive, whole = 0;
        for (size_t b = 0; b < snap->n_buckets; b++) {
            sizes += snap->buckets[b]->size;
            whole += !snap->buckets[b]->key->erased;
        }
        ck_assert_uint_eq(sizes, 4);
        ck_assert_uint_eq(whole, 1);
        /* Words about kam-1 (its urgency date and fit) went where it was chosen. */
        bool chosen = strcmp(snap->chosen, "kam-1") == 0;
        ck_assert_int_eq(*snap->explanation->summary == '\0', chosen);
        ck_assert_ptr_null(strstr(snap->explanation->summary, "2025-01-10"));
        /* So did the proposal made to it; another's keeps its words. */
        WzProposal *made = s_proposal(snap->proposal_id);
        ck_assert_ptr_nonnull(made);
        ck_assert_int_eq(*made->explanation->summary == '\0', chosen);
        ck_assert_int_eq(made->explanation->score == 0, chosen || snap->explanation->score == 0);
        ck_assert_ptr_null(strstr(made->explanation->summary, "2025-01-10"));
        WZ_FREE_UNPACKED(made);
        WZ_FREE_UNPACKED(snap);
    }
    /* kam-2 in pw-1/2 is untouched (still replayable were kam-1 not gone). */
    WzSnapshot *snap = s_snap("pw-1/2");
    ck_assert_str_eq(snap->candidates[1]->id, "kam-2");
    ck_assert_str_eq(snap->candidates[1]->group, "bw");
    ck_assert_ptr_nonnull(snap->candidates[1]->household);
    ck_assert_ptr_nonnull(strstr(snap->explanation->summary, "kam-2 ranked first"));
    WZ_FREE_UNPACKED(snap);
    s_snaprefs("kam-2", refs, sizeof refs);
    ck_assert_str_eq(refs, "pw-1/2");
    /* A second run finds nothing. */
    ck_assert_int_eq(wz_matching_purge(matching, wz_now_ms() + 2 * WZ_MS_PER_DAY), 0);
    s_check_invariant();
}
END_TEST

START_TEST(test_consent_scrubs_snapshot_of_same_transaction)
{
    /* Withdrawn consent cancels kam-1's proposal and re-matches the
     * dwelling in the same transaction: the new snapshot walks kam-1 before
     * it is purged, and is written scrubbed (its index entry only queued,
     * not readable by the purge). */
    ck_assert_int_eq(wz_matching_load(matching), 0);
    ev_active("kam-1", 2025, 1, 10);
    ev_active("kam-2", 2025, 2, 1);
    ev_publish("pw-1");
    ck_assert_int_eq(s_candidate_state("kam-1"), CSTATE(PROPOSED));
    s_intake_record("kam-1", false);
    ev_consent_withdrawn("kam-1");
    s_check_purged("kam-1", "consent");
    ck_assert_int_eq(s_exists("wz:{zkij}:m:snaprefs:kam-1"), 0);
    /* What kam-1's update said of it, for the check of the scrub. */
    WzHousehold hh = WOONZORG__V1__HOUSEHOLD__INIT;
    hh.adults = 1;
    WzCandidate c = WOONZORG__V1__CANDIDATE__INIT;
    c.care_provider = "ribw-kam";
    c.group = "bw";
    c.household = &hh;
    WzSnapshot *snap = s_snap("pw-1/2");
    ck_assert_str_eq(snap->chosen, "kam-2");
    ck_assert_uint_eq(snap->n_candidates, 2); /* kam-1 walked: not eligible any more */
    s_check_scrubbed(snap, "kam-1", &c);
    /* kam-2's bucket (other attributes than kam-1's update) stays. */
    size_t whole = 0;
    for (size_t b = 0; b < snap->n_buckets; b++)
        whole += !snap->buckets[b]->key->erased;
    ck_assert_uint_eq(whole, 1);
    WZ_FREE_UNPACKED(snap);
    c.age_band = WOONZORG__V1__AGE_BAND__AGE_BAND_ADULT; /* as registered, for pw-1/1 */
    c.income_class = WOONZORG__V1__INCOME_CLASS__INCOME_CLASS_BELOW_LIMIT;
    snap = s_snap("pw-1/1");
    s_check_scrubbed(snap, "kam-1", &c);
    WZ_FREE_UNPACKED(snap);
    char refs[64];
    s_snaprefs("kam-2", refs, sizeof refs);
    ck_assert_str_eq(refs, "pw-1/2");
}
END_TEST

START_TEST(test_purge_scheduled_for_old_candidates)
{
    /* Candidates housed or withdrawn before retention existed have no
     * purge time: the first purge run after a start schedules them (the
     * retention from then on), and leaves every existing schedule. */
    ev_active("kam-1", 2025, 1, 10);
    ev_active("kam-2", 2025, 2, 1);
    ev_active("kam-3", 2025, 3, 1);
    ev_publish("pw-1");
    ev_answer("pw-1/1", true, "");
    ev_confirm("pw-1/1", "viewing", true, "", "pre-wonen");
    ev_lease("pw-1");
    ev_withdraw_candidate("kam-2");
    ck_assert_int_eq(s_candidate_state("kam-1"), CSTATE(HOUSED));
    ck_assert_int_eq(s_candidate_state("kam-2"), CSTATE(WITHDRAWN));
    /* As before retention: kam-1 never scheduled; kam-2 scheduled far ahead. */
    redisReply *r = wz_store_cmd(store, "ZREM wz:{zkij}:m:purge kam-1");
    freeReplyObject(r);
    int64_t far = wz_now_ms() + 1000 * WZ_MS_PER_DAY;
    r = wz_store_cmd(store, "ZADD wz:{zkij}:m:purge %lld kam-2", (long long)far);
    freeReplyObject(r);
    s_restart_matching();
    wz_matching_set_retention(matching, 10);
    int64_t now = wz_now_ms();
    ck_assert_int_eq(wz_matching_purge(matching, now), 0);
    ck_assert(s_purge_at("kam-1") == (double)(now + 10 * WZ_MS_PER_DAY));
    ck_assert(s_purge_at("kam-2") == (double)far);
    r = wz_store_cmd(store, "ZSCORE wz:{zkij}:m:purge kam-3");
    ck_assert_int_eq(r->type, REDIS_REPLY_NIL); /* active: nothing to schedule */
    freeReplyObject(r);
    /* Once per start: a later run does not move it; the schedule then purges. */
    ck_assert_int_eq(wz_matching_purge(matching, now + WZ_MS_PER_DAY), 0);
    ck_assert(s_purge_at("kam-1") == (double)(now + 10 * WZ_MS_PER_DAY));
    ck_assert_int_eq(wz_matching_purge(matching, now + 10 * WZ_MS_PER_DAY), 1);
    ck_assert_int_eq(s_exists("wz:{zkij}:m:candidate:kam-1"), 0);
}
END_TEST

static void ev_nominate(const char *vacancy, const char *candidate, const char *care_provider)
{
    Woonzorg__V1__CandidateNominated body = WOONZORG__V1__CANDIDATE_NOMINATED__INIT;
    body.vacancy_id = (char *)vacancy;
    body.candidate_id = (char *)candidate;
    body.care_provider = (char *)care_provider;
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.payload_case = PAYLOAD(CANDIDATE_NOMINATED);
    ev.candidate_nominated = &body;
    s_produce(&ev, care_provider);
}

START_TEST(test_nominate_mode)
{
    s_schemes[0].mode = WZ_MODE_NOMINATE;
    ev_active("kam-1", 2025, 1, 10);
    ev_active("kam-2", 2025, 2, 1);
    ev_publish("pw-1");
    /* The first care provider of the rotation is asked. */
    WzVacancy *v = s_vacancy("pw-1");
    ck_assert_int_eq(v->state, VSTATE(MATCHING));
    ck_assert_str_eq(v->nominator, "ribw-kam");
    WZ_FREE_UNPACKED(v);
    WzEvent *e = s_last_of(PAYLOAD(NOMINATION_REQUESTED));
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->nomination_requested->care_provider, "ribw-kam");
    ck_assert(e->nomination_requested->deadline_ms > wz_now_ms());
    WZ_FREE_UNPACKED(e);
    ck_assert_int_eq(s_integer("ZCARD %s", "wz:{zkij}:nominations"), 1);
    /* Another care provider's nomination is not taken. */
    long long before = s_out_count();
    ev_nominate("pw-1", "kam-1", "dock");
    ck_assert_int_eq(s_out_count(), before);
    /* An unknown candidate is refused with the reason; the vacancy waits on. */
    ev_nominate("pw-1", "kam-9", "ribw-kam");
    e = s_last_of(PAYLOAD(NOMINATION_REFUSED));
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_nonnull(strstr(e->nomination_refused->explanation->summary, "no such candidate"));
    WZ_FREE_UNPACKED(e);
    ck_assert_int_eq(s_vacancy_state("pw-1"), VSTATE(MATCHING));
    /* kam-2 is eligible: proposed, with the rank it would have had. */
    ev_nominate("pw-1", "kam-2", "ribw-kam");
    WzProposal *p = s_proposal("pw-1/1");
    ck_assert_str_eq(p->candidate_id, "kam-2");
    ck_assert_str_eq(p->explanation->mode, "nominate");
    ck_assert_uint_eq(p->explanation->rank, 2);
    WZ_FREE_UNPACKED(p);
    ck_assert_int_eq(s_integer("ZCARD %s", "wz:{zkij}:nominations"), 0);
    /* Declined: the next care provider in the rotation is asked. */
    ev_answer("pw-1/1", false, "unsuitable");
    v = s_vacancy("pw-1");
    ck_assert_int_eq(v->state, VSTATE(MATCHING));
    ck_assert_str_eq(v->nominator, "dock");
    WZ_FREE_UNPACKED(v);
    /* dock lets its deadline pass; everyone was asked: released. */
    ck_assert_int_eq(wz_matching_nominations_due(matching, wz_now_ms()), 0);
    ck_assert_int_eq(wz_matching_nominations_due(matching, wz_now_ms() + 86400000LL * 30), 1);
    ck_assert_int_eq(s_vacancy_state("pw-1"), VSTATE(RELEASED));
    e = s_last_of(PAYLOAD(VACANCY_RELEASED));
    ck_assert_ptr_nonnull(strstr(e->vacancy_released->explanation->summary, "every one was asked"));
    WZ_FREE_UNPACKED(e);
    s_check_invariant();
}
END_TEST

/* A vacancy with or without a lift, else as ev_publish_at. */
static void ev_publish_access(const char *id, const char *complex, uint32_t access)
{
    WzVacancy v = WOONZORG__V1__VACANCY__INIT;
    v.id = (char *)id;
    v.corporation = "pre-wonen";
    v.region = "zkij";
    v.municipality = "haarlem";
    v.neighbourhood = "BU03920101";
    v.complex = (char *)complex;
    v.address = "Kerkstraat 3";
    v.rooms = 2;
    v.floor_area_m2 = 45;
    v.rent_cents = 60000;
    v.access = access;
    Woonzorg__V1__VacancyPublished body = WOONZORG__V1__VACANCY_PUBLISHED__INIT;
    body.vacancy = &v;
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.payload_case = PAYLOAD(VACANCY_PUBLISHED);
    ev.vacancy_published = &body;
    s_produce(&ev, "pre-wonen");
}

START_TEST(test_batch_assigns_jointly)
{
    s_schemes[0].batch_minutes = 60;
    /* kam-1 waits longest and fits both flats; kam-2 needs a lift, which only
     * the first flat has. One by one, the first flat would go to kam-1 and
     * the second to nobody; jointly both are housed. */
    ev_candidate("kam-1", 0, false);
    ev_urgency("kam-1", 2025, 1, 10);
    ev_candidate("kam-2", ACCESS(LIFT), false);
    ev_urgency("kam-2", 2025, 2, 1);
    ev_publish_access("pw-1", "c-1", ACCESS(LIFT));
    ev_publish_access("pw-2", "c-2", 0);
    ck_assert_int_eq(s_vacancy_state("pw-1"), VSTATE(MATCHING));
    ck_assert_int_eq(s_vacancy_state("pw-2"), VSTATE(MATCHING));
    ck_assert_int_eq(s_out_count(), 0);
    ck_assert_int_eq(wz_matching_batches_due(matching, wz_now_ms()), 0); /* not yet */
    ck_assert_int_eq(wz_matching_batches_due(matching, wz_now_ms() + 3600 * 1000LL), 1);
    WzProposal *p = s_proposal("pw-1/1");
    ck_assert_str_eq(p->candidate_id, "kam-2");
    ck_assert_str_eq(p->explanation->mode, "batch");
    ck_assert_uint_eq(p->explanation->rank, 2);
    ck_assert_ptr_nonnull(strstr(p->explanation->summary, "assigned jointly"));
    WZ_FREE_UNPACKED(p);
    p = s_proposal("pw-2/1");
    ck_assert_str_eq(p->candidate_id, "kam-1");
    WZ_FREE_UNPACKED(p);
    ck_assert_int_eq(s_integer("ZCARD %s", "wz:{zkij}:m:batches"), 0);
    s_check_invariant();
    /* The batch decision replays like any other. */
    WzSnapshot *snap = s_load(&woonzorg__v1__decision_snapshot__descriptor, "m:snapshot", "pw-1/1");
    wz_match_result_t r;
    size_t chosen = 9;
    ck_assert_int_eq(wz_match_replay(&s_policy, snap, &r, &chosen), 1);
    ck_assert_str_eq(snap->candidates[chosen]->id, "kam-2");
    WZ_FREE_UNPACKED(snap);
}
END_TEST

/* --- randomised lifecycle against the real service ------------------------------ */

typedef struct {
    char id[48];
    char vacancy[48];
    char candidate[48];
    char step[32];
    char complex[32];
    int state;
    int64_t created_ms;
} prop_t;

/* Every proposal in Redis (at most max). */
static size_t s_all_proposals(prop_t *out, size_t max)
{
    redisReply *keys = wz_store_cmd(store, "KEYS wz:{zkij}:proposal:*");
    ck_assert_ptr_nonnull(keys);
    size_t n = 0;
    for (size_t i = 0; i < keys->elements && n < max; i++) {
        WzProposal *p = s_proposal(keys->element[i]->str + strlen("wz:{zkij}:proposal:"));
        WzVacancy *v = s_vacancy(p->vacancy_id);
        prop_t *o = &out[n++];
        wz_strlcpy(o->id, p->id, sizeof o->id);
        wz_strlcpy(o->vacancy, p->vacancy_id, sizeof o->vacancy);
        wz_strlcpy(o->candidate, p->candidate_id, sizeof o->candidate);
        wz_strlcpy(o->step, p->step, sizeof o->step);
        wz_strlcpy(o->complex, v->complex, sizeof o->complex);
        o->state = p->state;
        o->created_ms = p->created_ms;
        WZ_FREE_UNPACKED(p);
        WZ_FREE_UNPACKED(v);
    }
    freeReplyObject(keys);
    return n;
}

static bool s_counts(int state)
{
    return state == PSTATE(SENT) || state == PSTATE(ACCEPTED) || state == PSTATE(LET);
}

/* Counters agree with the proposals and stay within the scheme's limits. */
static void s_check_counters(int step)
{
    static prop_t props[512];
    size_t n = s_all_proposals(props, 512);
    char year[8];
    int y, m, d;
    wz_civil_from_day(wz_day_of_ms(wz_now_ms()), &y, &m, &d);
    snprintf(year, sizeof year, "%d", y);
    char key[128];
    snprintf(key, sizeof key, "wz:{zkij}:m:contingent:zkij-test:%s", year);
    redisReply *r = wz_store_cmd(store, "HGET %s haarlem/pre-wonen", key);
    ck_assert_ptr_nonnull(r);
    long used = r->type == REDIS_REPLY_STRING ? strtol(r->str, NULL, 10) : 0;
    freeReplyObject(r);
    long counted = 0;
    for (size_t i = 0; i < n; i++)
        counted += s_counts(props[i].state);
    ck_assert_msg(used == counted, "step %d: contingent counter %ld, proposals %ld", step, used,
                  counted);
    ck_assert_msg(used <= 3, "step %d: contingent %ld over its target 3", step, used);
    for (int c = 1; c <= 3; c++) {
        char cx[16];
        snprintf(cx, sizeof cx, "c-%d", c);
        long in_complex = 0;
        for (size_t i = 0; i < n; i++)
            in_complex += s_counts(props[i].state) && strcmp(props[i].complex, cx) == 0;
        snprintf(key, sizeof key, "wz:{zkij}:m:spread:complex:pre-wonen/%s", cx);
        long placed = s_integer("ZCARD %s", key);
        ck_assert_msg(placed == in_complex, "step %d: %s has %ld placements, proposals %ld", step,
                      cx, placed, in_complex);
        ck_assert_msg(placed <= 2, "step %d: %s over its spread limit", step, cx);
    }
}

static int s_rnd(uint64_t *rng, int n)
{
    *rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (int)((*rng >> 33) % (uint64_t)n);
}

START_TEST(test_random_lifecycle)
{
    /* Random publications, answers, declines (refusals or not), expiries,
     * viewings and leases; after every step the invariants hold and the
     * contingent and spread counters agree with the proposals. */
    uint64_t rng = 7;
#define RND(n) s_rnd(&rng, (n))
    for (int i = 1; i <= 10; i++) {
        char id[16];
        snprintf(id, sizeof id, "kam-%d", i);
        ev_candidate(id, RND(4) == 0 ? ACCESS(LIFT) : 0, false);
        ev_urgency(id, 2025, 1 + RND(5), 1 + RND(28));
    }
    int published = 0;
    static const char *const reasons[] = {"client_refuses", "unsuitable", "other text"};
    for (int step = 0; step < 120; step++) {
        static prop_t props[512];
        size_t n = s_all_proposals(props, 512);
        prop_t *open[512];
        size_t n_open = 0;
        for (size_t i = 0; i < n; i++)
            if (props[i].state == PSTATE(SENT) || props[i].state == PSTATE(ACCEPTED))
                open[n_open++] = &props[i];
        int action = RND(10);
        if (action < 3 || n_open == 0) {
            char id[16], cx[16];
            snprintf(id, sizeof id, "pw-%d", ++published);
            snprintf(cx, sizeof cx, "c-%d", 1 + RND(3));
            ev_publish_access(id, cx, RND(2) ? ACCESS(LIFT) : 0);
        } else {
            prop_t *p = open[RND((int)n_open)];
            if (p->state == PSTATE(SENT)) {
                if (action < 6)
                    ev_answer(p->id, true, "");
                else if (action < 9)
                    ev_answer(p->id, false, reasons[RND(2)]);
                else {
                    char member[64];
                    snprintf(member, sizeof member, "%s", p->id);
                    redisReply *r = wz_store_cmd(store, "ZADD wz:{zkij}:deadlines 1 %s", member);
                    freeReplyObject(r);
                    ck_assert_int_ge(wz_matching_expire(matching, wz_now_ms()), 1);
                }
            } else if (strcmp(p->step, "viewing") == 0) {
                ev_confirm(p->id, "viewing", action < 8, action < 8 ? "" : "unsuitable",
                           "pre-wonen");
            } else {
                ev_lease(p->vacancy);
            }
        }
        s_check_invariant();
        s_check_counters(step);
    }
    ck_assert_int_gt(published, 10);
#undef RND
}
END_TEST

/* Publishes n vacancies pw-<first>.. each in its own complex. */
static void s_publish_many(int first, int n)
{
    for (int i = first; i < first + n; i++) {
        char id[16], cx[16];
        snprintf(id, sizeof id, "pw-%d", i);
        snprintf(cx, sizeof cx, "c-%d", i);
        ev_publish_at(id, cx, "", "BU03920101");
    }
}

START_TEST(test_unused_places_released_or_lapse)
{
    for (int i = 1; i <= 6; i++) {
        char id[16];
        snprintf(id, sizeof id, "kam-%d", i);
        ev_active(id, 2025, 1, i);
    }
    /* Last year Pré Wonen used 1 of its 3 places in Haarlem. */
    int y, m, d;
    wz_civil_from_day(wz_day_of_ms(wz_now_ms()), &y, &m, &d);
    char key[128];
    snprintf(key, sizeof key, "wz:{zkij}:m:contingent:zkij-test:%d", y - 1);
    redisReply *r = wz_store_cmd(store, "HSET %s haarlem/pre-wonen 1", key);
    ck_assert_ptr_nonnull(r);
    freeReplyObject(r);
    if (_i == 0) {
        /* lapse: this year's 3 only */
        s_publish_many(1, 4);
        ck_assert_int_eq(s_vacancy_state("pw-3"), VSTATE(OFFERED));
        ck_assert_int_eq(s_vacancy_state("pw-4"), VSTATE(RELEASED));
    } else {
        /* release: the 2 unused places stay claimable, 5 this year */
        s_schemes[0].unused = WZ_UNUSED_RELEASE;
        s_publish_many(1, 6);
        ck_assert_int_eq(s_vacancy_state("pw-5"), VSTATE(OFFERED));
        ck_assert_int_eq(s_vacancy_state("pw-6"), VSTATE(RELEASED));
        WzEvent *e = s_last_of(PAYLOAD(VACANCY_RELEASED));
        ck_assert_ptr_nonnull(strstr(e->vacancy_released->explanation->summary, "(5 of 5)"));
        WZ_FREE_UNPACKED(e);
    }
    s_check_invariant();
}
END_TEST


/* --- the in-memory candidate view ------------------------------------------ */

static void s_check_view(const char *when, int step)
{
    char why[256];
    int rc = wz_matching_verify(matching, "zkij", why, sizeof why);
    ck_assert_msg(rc == 0, "%s (step %d): view differs from redis: %s", when, step, why);
}

/* A matching that starts over on the same Redis (a restart): it reads the
 * candidates afresh and follows intake from its stored cursor. */
static void s_restart_matching(void)
{
    wz_sub_destroy(&sub);
    wz_matching_destroy(&matching);
    matching = wz_matching_new(store, own, &s_policy, logger);
    ck_assert_ptr_nonnull(matching);
    ck_assert_int_eq(wz_matching_load(matching), 0);
    sub = wz_sub_new(ctx, store, own, "matching", wz_matching_apply, NULL, matching, logger);
    ck_assert_ptr_nonnull(sub);
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", wz_test_free_port());
    ck_assert_int_eq(wz_sub_follow(sub, "intake", ep, regions, 1), 0);
}

/* Applies ev in a transaction whose commit fails as `how` says: 1 a watched
 * key changed (nothing written), -1 one command of EXEC failed (the rest,
 * the candidate records included, written: an outcome matching cannot know). */
static void s_apply_failing(WzEvent *ev, int how)
{
    ev->actor = (char *)"ribw-kam";
    ev->id = (char *)"intake:zkij:999999";
    ev->region = (char *)"zkij";
    wz_txn_t *txn = wz_txn_begin(store, own, "zkij");
    ck_assert_ptr_nonnull(txn);
    ck_assert_int_eq(wz_txn_watch(txn, "wz:{zkij}:test:watched"), 0);
    ck_assert_int_eq(wz_matching_apply(matching, txn, "intake", ev), 0);
    if (how == 1) {
        redisReply *r = wz_store_cmd(store, "SET wz:{zkij}:test:watched changed");
        ck_assert_ptr_nonnull(r);
        freeReplyObject(r);
    } else {
        redisReply *r = wz_store_cmd(store, "SET wz:{zkij}:test:string x");
        ck_assert_ptr_nonnull(r);
        freeReplyObject(r);
        ck_assert_int_eq(wz_txn_cmd(txn, "INCR wz:{zkij}:test:string"), 0);
    }
    ck_assert_int_eq(wz_txn_commit(txn), how);
    wz_txn_destroy(&txn);
}

START_TEST(test_view_follows_redis)
{
    /* Random registrations, updates, urgency grants, withdrawals, vacancies,
     * answers, expiries and leases, some in transactions that fail; after
     * every step matching's in-memory candidates equal Redis's, also after
     * a restart in the middle and at the end. */
    ck_assert_int_eq(wz_matching_load(matching), 0);
    ck_assert_uint_eq(wz_matching_candidates(matching, "zkij"), 0);
    uint64_t rng = 11;
#define RND(n) s_rnd(&rng, (n))
    int registered = 0, published = 0, failed = 0, purged = 0;
    static const char *const reasons[] = {"client_refuses", "unsuitable"};
    for (int step = 0; step < 160; step++) {
        if (step % 20 == 19) {
            /* Retention ends for every housed and withdrawn candidate. */
            int n = wz_matching_purge(matching, wz_now_ms() + 1000 * WZ_MS_PER_DAY);
            ck_assert_int_ge(n, 0);
            purged += n;
            s_check_view("after a purge", step);
        }
        if (step == 80) {
            s_restart_matching();
            s_check_view("after restart", step);
        }
        int action = RND(16);
        char id[16];
        if (action < 3 || registered < 4) {
            snprintf(id, sizeof id, "kam-%d", ++registered);
            ev_candidate(id, RND(4) == 0 ? ACCESS(LIFT) : 0, false);
            if (RND(3))
                ev_urgency(id, 2025, 1 + RND(5), 1 + RND(28));
        } else if (action < 5) {
            snprintf(id, sizeof id, "kam-%d", 1 + RND(registered));
            ev_candidate(id, RND(2) ? ACCESS(LIFT) : 0, true);
        } else if (action < 6) {
            snprintf(id, sizeof id, "kam-%d", 1 + RND(registered));
            ev_urgency(id, 2025, 1 + RND(5), 1 + RND(28));
        } else if (action < 7) {
            snprintf(id, sizeof id, "kam-%d", 1 + RND(registered));
            ev_withdraw_candidate(id);
        } else if (action < 8) {
            /* A registration and an urgency grant whose commits fail. */
            WzHousehold hh = WOONZORG__V1__HOUSEHOLD__INIT;
            hh.adults = 1;
            WzCandidate c = WOONZORG__V1__CANDIDATE__INIT;
            snprintf(id, sizeof id, "kam-%d", 1 + RND(registered + 1));
            c.id = id;
            c.care_provider = "ribw-kam";
            c.region = "zkij";
            c.municipality = "haarlem";
            c.group = "bw";
            c.household = &hh;
            c.consent = RND(4) != 0;
            c.access_needs = ACCESS(LIFT);
            Woonzorg__V1__CandidateUpdated upd = WOONZORG__V1__CANDIDATE_UPDATED__INIT;
            upd.candidate = &c;
            WzEvent ev = WOONZORG__V1__EVENT__INIT;
            ev.payload_case = PAYLOAD(CANDIDATE_UPDATED);
            ev.candidate_updated = &upd;
            s_apply_failing(&ev, RND(2) ? 1 : -1);
            failed++;
        } else if (action < 11) {
            char cx[16];
            snprintf(id, sizeof id, "pw-%d", ++published);
            snprintf(cx, sizeof cx, "c-%d", 1 + RND(40));
            ev_publish_access(id, cx, RND(2) ? ACCESS(LIFT) : 0);
        } else {
            static prop_t props[512];
            size_t n = s_all_proposals(props, 512);
            prop_t *open[512];
            size_t n_open = 0;
            for (size_t i = 0; i < n; i++)
                if (props[i].state == PSTATE(SENT) || props[i].state == PSTATE(ACCEPTED))
                    open[n_open++] = &props[i];
            if (n_open) {
                prop_t *p = open[RND((int)n_open)];
                if (p->state != PSTATE(SENT))
                    ev_lease(p->vacancy);
                else if (action < 13)
                    ev_answer(p->id, false, reasons[RND(2)]);
                else if (action < 15)
                    ev_answer(p->id, true, "");
                else {
                    redisReply *r =
                        wz_store_cmd(store, "ZADD wz:{zkij}:deadlines 1 %s", p->id);
                    freeReplyObject(r);
                    ck_assert_int_ge(wz_matching_expire(matching, wz_now_ms()), 1);
                }
            }
        }
        s_check_view("after a step", step);
    }
    ck_assert_int_gt(failed, 3);
    ck_assert_int_gt(published, 20);
    ck_assert_int_gt(purged, 3);
    /* Purged ones are gone from Redis and from memory alike. */
    size_t present = 0;
    for (int i = 1; i <= registered; i++) {
        char key[64];
        snprintf(key, sizeof key, "wz:{zkij}:m:candidate:kam-%d", i);
        present += s_exists(key) == 1;
    }
    ck_assert_uint_lt(present, (size_t)registered);
    ck_assert_uint_eq(wz_matching_candidates(matching, "zkij"), present);
    s_restart_matching();
    s_check_view("after the final restart", 160);
    ck_assert_uint_eq(wz_matching_candidates(matching, "zkij"), present);
    s_check_invariant();
#undef RND
}
END_TEST

START_TEST(test_view_reloads_after_reconnect)
{
    /* After a reconnect Redis may hold other data (a server restarted
     * without persistence, a failover): the view is read again, never
     * served from memory. Here the candidate is gone from Redis. */
    ev_active("kam-1", 2025, 1, 10);
    ev_publish("pw-1");
    ev_answer("pw-1/1", false, "unsuitable");
    ck_assert_uint_eq(wz_matching_candidates(matching, "zkij"), 1);
    redisReply *r = wz_store_cmd(store, "DEL wz:{zkij}:m:candidates wz:{zkij}:m:candidate:kam-1");
    ck_assert_ptr_nonnull(r);
    freeReplyObject(r);
    r = wz_store_cmd(store, "CLIENT KILL TYPE normal SKIPME no");
    if (r)
        freeReplyObject(r);
    /* The store notices on its next command, then waits its backoff. */
    r = wz_store_cmd(store, "PING");
    if (r)
        freeReplyObject(r);
    usleep(500 * 1000);
    ev_publish("pw-2");
    ck_assert_int_eq(s_vacancy_state("pw-2"), VSTATE(RELEASED));
    ck_assert_uint_eq(wz_matching_candidates(matching, "zkij"), 0);
    s_check_view("after reconnect", 0);
}
END_TEST

int main(void)
{
    TCase *tc =
        wz_test_case("lifecycle", 30,
                     (const TTest *const[]){test_publish_creates_proposal,
                                            test_decline_goes_to_next,
                                            test_expiry_goes_to_next,
                                            test_no_candidate_released,
                                            test_withdraw_while_offered_cancels,
                                            test_candidate_withdrawn_rematches,
                                            test_two_vacancies_compete,
                                            test_update_keeps_state_and_urgency,
                                            test_replay_changes_nothing,
                                            test_redis_away,
                                            test_spread_and_contingent,
                                            test_consent_withdrawn_cancels,
                                            test_purge_after_retention,
                                            test_purge_is_all_or_nothing,
                                            test_consent_withdrawn_purges_at_once,
                                            test_route_steps,
                                            test_refusals_lapse_urgency,
                                            test_decline_confirmed_by_municipality,
                                            test_refusal_verdict_due,
                                            test_reminder_before_deadline,
                                            test_urgency_window_lapses,
                                            test_snapshot_replays,
                                            test_snapshot_refs_and_scrub,
                                            test_consent_scrubs_snapshot_of_same_transaction,
                                            test_purge_scheduled_for_old_candidates,
                                            test_nominate_mode,
                                            test_batch_assigns_jointly,
                                            test_random_lifecycle,
                                            test_view_follows_redis,
                                            test_view_reloads_after_reconnect,
                                            NULL});
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_unused_places_released_or_lapse, 0, 2);
    return wz_test_run("wz_matching", (TCase *const[]){tc, NULL});
}
