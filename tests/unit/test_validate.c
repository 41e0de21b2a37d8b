/* Unit tests of wz_validate: one test per rule, each accepted and refused,
 * against a policy built by hand. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wz_testmain.h"
#include "wz_validate.h"

#define OK WOONZORG__V1__CODE__CODE_OK
#define INVALID WOONZORG__V1__CODE__CODE_INVALID
#define FORBIDDEN WOONZORG__V1__CODE__CODE_FORBIDDEN
#define UNKNOWN_TYPE WOONZORG__V1__CODE__CODE_UNKNOWN_TYPE

static wz_neighbourhood_t s_haarlem_nb[] = {{.code = "BU03920101"}, {.code = "BU03920102"}};
static wz_neighbourhood_t s_velsen_nb[] = {{.code = "BU04530101"}};
static wz_neighbourhood_t s_almere_nb[] = {{.code = "BU00340101"}};
static wz_municipality_t s_zkij_mun[] = {
    {.id = "haarlem", .cbs = "GM0392", .neighbourhoods = s_haarlem_nb, .n_neighbourhoods = 2},
    {.id = "velsen", .cbs = "GM0453", .neighbourhoods = s_velsen_nb, .n_neighbourhoods = 1},
};
static wz_municipality_t s_flevo_mun[] = {
    {.id = "almere", .cbs = "GM0034", .neighbourhoods = s_almere_nb, .n_neighbourhoods = 1},
};
static wz_region_t s_regions[] = {
    {.id = "zkij", .municipalities = s_zkij_mun, .n_municipalities = 2},
    {.id = "flevo", .municipalities = s_flevo_mun, .n_municipalities = 1},
};
static wz_party_t s_parties[] = {
    {.id = "pre-wonen", .role = WZ_ROLE_CORPORATION, .region = "zkij"},
    {.id = "ribw-kam", .role = WZ_ROLE_CARE_PROVIDER, .region = "zkij"},
    {.id = "gem-haarlem",
     .role = WZ_ROLE_MUNICIPALITY,
     .region = "zkij",
     .municipality = "haarlem"},
    {.id = "lost", .role = WZ_ROLE_CORPORATION, .region = "atlantis"},
};
static char s_groups[][WZ_ID_MAX] = {"bw", "mo"};
static wz_policy_t s_policy = {
    .version = "test",
    .regions = s_regions,
    .n_regions = 2,
    .parties = s_parties,
    .n_parties = 4,
    .groups = s_groups,
    .n_groups = 2,
};

#define CORP (&s_parties[0])
#define CARE (&s_parties[1])
#define MUNI (&s_parties[2])

/* Storage for one request of any kind, filled valid by the builders. */
typedef struct {
    WzRequest req;
    WzVacancy vac;
    WzDate date;
    WzCandidate cand;
    WzHousehold household;
    char *accept[40];
    char *exclude[40];
    Woonzorg__V1__IdRef ref;
    Woonzorg__V1__GrantUrgency grant;
    Woonzorg__V1__Answer answer;
    Woonzorg__V1__SignLease lease;
    Woonzorg__V1__StatusQuery status;
    Woonzorg__V1__AuditQuery audit;
    wz_verdict_t v;
} fx_t;

static fx_t s_fx;

static WzRequest *s_base(void)
{
    memset(&s_fx, 0, sizeof s_fx);
    s_fx.req = (WzRequest)WOONZORG__V1__REQUEST__INIT;
    s_fx.req.request_id = "req-1";
    return &s_fx.req;
}

static WzVacancy *s_vacancy(void)
{
    s_base();
    WzVacancy *v = &s_fx.vac;
    *v = (WzVacancy)WOONZORG__V1__VACANCY__INIT;
    s_fx.date = (WzDate)WOONZORG__V1__DATE__INIT;
    s_fx.date.year = 2025;
    s_fx.date.month = 12;
    s_fx.date.day = 1;
    v->id = "PW-2025-0142";
    v->municipality = "haarlem";
    v->neighbourhood = "BU03920101";
    v->complex = "schoterweg-2";
    v->address = "Schoterweg 12 zwart";
    v->rooms = 2;
    v->floor_area_m2 = 48;
    v->rent_cents = 61250;
    v->access = 1;
    v->available_from = &s_fx.date;
    s_fx.req.body_case = WOONZORG__V1__REQUEST__BODY_PUBLISH_VACANCY;
    s_fx.req.publish_vacancy = v;
    return v;
}

static WzCandidate *s_candidate(void)
{
    s_base();
    WzCandidate *c = &s_fx.cand;
    *c = (WzCandidate)WOONZORG__V1__CANDIDATE__INIT;
    s_fx.household = (WzHousehold)WOONZORG__V1__HOUSEHOLD__INIT;
    s_fx.household.adults = 1;
    c->id = "kam-0012";
    c->municipality = "haarlem";
    c->group = "bw";
    c->household = &s_fx.household;
    c->age_band = WOONZORG__V1__AGE_BAND__AGE_BAND_ADULT;
    c->income_class = WOONZORG__V1__INCOME_CLASS__INCOME_CLASS_BELOW_LIMIT;
    c->consent = 1;
    c->acceptable_municipalities = s_fx.accept;
    c->excluded_neighbourhoods = s_fx.exclude;
    s_fx.req.body_case = WOONZORG__V1__REQUEST__BODY_REGISTER_CANDIDATE;
    s_fx.req.register_candidate = c;
    return c;
}

static Woonzorg__V1__IdRef *s_withdraw(int candidate)
{
    s_base();
    s_fx.ref = (Woonzorg__V1__IdRef)WOONZORG__V1__ID_REF__INIT;
    s_fx.ref.id = candidate ? "kam-0012" : "PW-2025-0142";
    if (candidate) {
        s_fx.req.body_case = WOONZORG__V1__REQUEST__BODY_WITHDRAW_CANDIDATE;
        s_fx.req.withdraw_candidate = &s_fx.ref;
    } else {
        s_fx.req.body_case = WOONZORG__V1__REQUEST__BODY_WITHDRAW_VACANCY;
        s_fx.req.withdraw_vacancy = &s_fx.ref;
    }
    return &s_fx.ref;
}

static Woonzorg__V1__GrantUrgency *s_grant(void)
{
    s_base();
    s_fx.grant = (Woonzorg__V1__GrantUrgency)WOONZORG__V1__GRANT_URGENCY__INIT;
    s_fx.grant.candidate_id = "kam-0012";
    s_fx.req.body_case = WOONZORG__V1__REQUEST__BODY_GRANT_URGENCY;
    s_fx.req.grant_urgency = &s_fx.grant;
    return &s_fx.grant;
}

static Woonzorg__V1__Answer *s_answer(void)
{
    s_base();
    s_fx.answer = (Woonzorg__V1__Answer)WOONZORG__V1__ANSWER__INIT;
    s_fx.answer.proposal_id = "PW-2025-0142/1";
    s_fx.answer.accept = 1;
    s_fx.req.body_case = WOONZORG__V1__REQUEST__BODY_ANSWER;
    s_fx.req.answer = &s_fx.answer;
    return &s_fx.answer;
}

static Woonzorg__V1__SignLease *s_lease(void)
{
    s_base();
    s_fx.lease = (Woonzorg__V1__SignLease)WOONZORG__V1__SIGN_LEASE__INIT;
    s_fx.lease.vacancy_id = "PW-2025-0142";
    s_fx.lease.contract = WOONZORG__V1__CONTRACT_TYPE__CONTRACT_TYPE_THREE_PARTY;
    s_fx.req.body_case = WOONZORG__V1__REQUEST__BODY_SIGN_LEASE;
    s_fx.req.sign_lease = &s_fx.lease;
    return &s_fx.lease;
}

static Woonzorg__V1__StatusQuery *s_status(void)
{
    s_base();
    s_fx.status = (Woonzorg__V1__StatusQuery)WOONZORG__V1__STATUS_QUERY__INIT;
    s_fx.status.kind = WOONZORG__V1__STATUS_QUERY__KIND__KIND_VACANCY;
    s_fx.status.id = "PW-2025-0142";
    s_fx.req.body_case = WOONZORG__V1__REQUEST__BODY_STATUS;
    s_fx.req.status = &s_fx.status;
    return &s_fx.status;
}

static Woonzorg__V1__AuditQuery *s_audit(void)
{
    s_base();
    s_fx.audit = (Woonzorg__V1__AuditQuery)WOONZORG__V1__AUDIT_QUERY__INIT;
    s_fx.audit.last = 20;
    s_fx.req.body_case = WOONZORG__V1__REQUEST__BODY_AUDIT;
    s_fx.req.audit = &s_fx.audit;
    return &s_fx.audit;
}

/* Validates the current request as actor and checks code and field. */
#define EXPECT(actor, code_, field_)                                                               \
    do {                                                                                           \
        int rc_ = wz_validate_request(&s_fx.req, &s_policy, (actor), &s_fx.v);                     \
        ck_assert_msg((int)s_fx.v.code == (int)(code_), "code %d, want %d: %s", (int)s_fx.v.code,  \
                      (int)(code_), s_fx.v.message);                                               \
        ck_assert_int_eq(rc_, (code_) == OK ? 0 : -1);                                             \
        ck_assert_str_eq(s_fx.v.field, (field_));                                                  \
    } while (0)

#define ACCEPTED(actor) EXPECT(actor, OK, "")

static char *s_repeat(char c, size_t n)
{
    static char buf[512];
    ck_assert_uint_lt(n, sizeof buf);
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

/* --- the request envelope ----------------------------------------------------------- */

START_TEST(test_request_id)
{
    s_withdraw(0);
    ACCEPTED(CORP);
    s_fx.req.request_id = "";
    EXPECT(CORP, INVALID, "request_id");
    ck_assert_ptr_nonnull(strstr(s_fx.v.message, "request_id: is required"));
    s_fx.req.request_id = s_repeat('a', 64);
    ACCEPTED(CORP);
    s_fx.req.request_id = s_repeat('a', 65);
    EXPECT(CORP, INVALID, "request_id");
    s_fx.req.request_id = "a b";
    EXPECT(CORP, INVALID, "request_id");
    s_fx.req.request_id = "A.z_0-9";
    ACCEPTED(CORP);
}
END_TEST

START_TEST(test_no_body)
{
    s_base();
    EXPECT(CORP, UNKNOWN_TYPE, "");
    ck_assert_ptr_nonnull(strstr(s_fx.v.message, "no body"));
    s_fx.req.body_case = (Woonzorg__V1__Request__BodyCase)99;
    EXPECT(CORP, UNKNOWN_TYPE, "");
}
END_TEST

static void s_build_vacancy(void)
{
    s_vacancy();
}

static void s_build_lease(void)
{
    s_lease();
}

static void s_build_candidate(void)
{
    s_candidate();
}

static void s_build_answer(void)
{
    s_answer();
}

static void s_build_grant(void)
{
    s_grant();
}

static void s_build_status(void)
{
    s_status();
}

static void s_build_audit(void)
{
    s_audit();
}

START_TEST(test_roles)
{
    struct {
        void (*build)(void);
        const wz_party_t *allowed[3];
        const char *field;
    } cases[] = {
        {s_build_vacancy, {CORP}, "publish_vacancy"},
        {s_build_lease, {CORP}, "sign_lease"},
        {s_build_candidate, {CARE}, "register_candidate"},
        {s_build_answer, {CARE}, "answer"},
        {s_build_grant, {MUNI}, "grant_urgency"},
        {s_build_status, {CORP, CARE, MUNI}, "status"},
        {s_build_audit, {MUNI}, "audit"},
    };
    const wz_party_t *actors[] = {CORP, CARE, MUNI};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (size_t a = 0; a < 3; a++) {
            cases[i].build();
            bool allowed = false;
            for (size_t k = 0; k < 3; k++)
                allowed |= cases[i].allowed[k] == actors[a];
            if (allowed)
                ACCEPTED(actors[a]);
            else
                EXPECT(actors[a], FORBIDDEN, cases[i].field);
        }
    s_withdraw(0);
    ACCEPTED(CORP);
    EXPECT(CARE, FORBIDDEN, "withdraw_vacancy");
    s_withdraw(1);
    ACCEPTED(CARE);
    EXPECT(MUNI, FORBIDDEN, "withdraw_candidate");

    s_vacancy();
    EXPECT(CARE, FORBIDDEN, "publish_vacancy");
    ck_assert_ptr_nonnull(strstr(s_fx.v.message, "a care_provider may not publish vacancies"));
}
END_TEST

START_TEST(test_unknown_actor)
{
    s_status();
    EXPECT(NULL, FORBIDDEN, "");
    EXPECT(&s_parties[3], FORBIDDEN, ""); /* its region is not in the policy */
}
END_TEST

/* --- publish_vacancy ---------------------------------------------------------------- */

START_TEST(test_vacancy_valid)
{
    s_vacancy();
    ACCEPTED(CORP);
}
END_TEST

START_TEST(test_vacancy_id)
{
    WzVacancy *v = s_vacancy();
    v->id = "";
    EXPECT(CORP, INVALID, "publish_vacancy.id");
    v->id = "../etc";
    EXPECT(CORP, INVALID, "publish_vacancy.id");
    v->id = s_repeat('v', WZ_MAX_ID + 1);
    EXPECT(CORP, INVALID, "publish_vacancy.id");
    v->id = s_repeat('v', WZ_MAX_ID);
    ACCEPTED(CORP);
}
END_TEST

START_TEST(test_vacancy_corporation_and_region)
{
    WzVacancy *v = s_vacancy();
    v->corporation = "pre-wonen";
    v->region = "zkij";
    ACCEPTED(CORP);
    v->corporation = "ymere";
    EXPECT(CORP, FORBIDDEN, "publish_vacancy.corporation");
    v->corporation = "";
    v->region = "flevo";
    EXPECT(CORP, FORBIDDEN, "publish_vacancy.region");
}
END_TEST

START_TEST(test_vacancy_municipality)
{
    WzVacancy *v = s_vacancy();
    v->municipality = "velsen";
    v->neighbourhood = "BU04530101";
    ACCEPTED(CORP);
    v->municipality = "";
    EXPECT(CORP, INVALID, "publish_vacancy.municipality");
    v->municipality = "almere"; /* another region's */
    EXPECT(CORP, FORBIDDEN, "publish_vacancy.municipality");
    ck_assert_ptr_nonnull(strstr(s_fx.v.message, "flevo"));
    v->municipality = "gotham";
    EXPECT(CORP, INVALID, "publish_vacancy.municipality");
}
END_TEST

START_TEST(test_vacancy_neighbourhood)
{
    WzVacancy *v = s_vacancy();
    v->neighbourhood = "BU03920102";
    ACCEPTED(CORP);
    v->neighbourhood = "";
    EXPECT(CORP, INVALID, "publish_vacancy.neighbourhood");
    v->neighbourhood = "BU04530101"; /* velsen's, not haarlem's */
    EXPECT(CORP, INVALID, "publish_vacancy.neighbourhood");
}
END_TEST

START_TEST(test_vacancy_complex)
{
    WzVacancy *v = s_vacancy();
    v->complex = "";
    EXPECT(CORP, INVALID, "publish_vacancy.complex");
    v->complex = "a/b";
    EXPECT(CORP, INVALID, "publish_vacancy.complex");
    v->complex = "c.17";
    ACCEPTED(CORP);
}
END_TEST

START_TEST(test_vacancy_address)
{
    WzVacancy *v = s_vacancy();
    v->address = "Kruisweg 3 \xc3\xa9\xe2\x80\x93 bis"; /* é and an en dash */
    ACCEPTED(CORP);
    v->address = s_repeat('a', WZ_MAX_ADDRESS);
    ACCEPTED(CORP);
    v->address = "";
    EXPECT(CORP, INVALID, "publish_vacancy.address");
    v->address = s_repeat('a', WZ_MAX_ADDRESS + 1);
    EXPECT(CORP, INVALID, "publish_vacancy.address");
    v->address = "Kruisweg\n3";
    EXPECT(CORP, INVALID, "publish_vacancy.address");
    ck_assert_ptr_nonnull(strstr(s_fx.v.message, "control character"));
    v->address = "Kruisweg \x7f";
    EXPECT(CORP, INVALID, "publish_vacancy.address");
    v->address = "Kruisweg \xc2\x85"; /* C1 NEL */
    EXPECT(CORP, INVALID, "publish_vacancy.address");
    v->address = "Kruisweg \xc3";
    EXPECT(CORP, INVALID, "publish_vacancy.address");
    ck_assert_ptr_nonnull(strstr(s_fx.v.message, "UTF-8"));
    v->address = "Kruisweg \xc0\xaf"; /* overlong '/' */
    EXPECT(CORP, INVALID, "publish_vacancy.address");
    v->address = "Kruisweg \xed\xa0\x80"; /* a surrogate */
    EXPECT(CORP, INVALID, "publish_vacancy.address");
}
END_TEST

START_TEST(test_vacancy_rooms)
{
    WzVacancy *v = s_vacancy();
    v->rooms = 1;
    ACCEPTED(CORP);
    v->rooms = WZ_MAX_ROOMS;
    ACCEPTED(CORP);
    v->rooms = 0;
    EXPECT(CORP, INVALID, "publish_vacancy.rooms");
    v->rooms = WZ_MAX_ROOMS + 1;
    EXPECT(CORP, INVALID, "publish_vacancy.rooms");
}
END_TEST

START_TEST(test_vacancy_floor_area)
{
    WzVacancy *v = s_vacancy();
    v->floor_area_m2 = 10;
    ACCEPTED(CORP);
    v->floor_area_m2 = WZ_MAX_AREA_M2;
    ACCEPTED(CORP);
    v->floor_area_m2 = 9;
    EXPECT(CORP, INVALID, "publish_vacancy.floor_area_m2");
    v->floor_area_m2 = WZ_MAX_AREA_M2 + 1;
    EXPECT(CORP, INVALID, "publish_vacancy.floor_area_m2");
}
END_TEST

START_TEST(test_vacancy_rent)
{
    WzVacancy *v = s_vacancy();
    v->rent_cents = 1;
    ACCEPTED(CORP);
    v->rent_cents = WZ_MAX_RENT_CENTS;
    ACCEPTED(CORP);
    v->rent_cents = 0;
    EXPECT(CORP, INVALID, "publish_vacancy.rent_cents");
    v->rent_cents = -5;
    EXPECT(CORP, INVALID, "publish_vacancy.rent_cents");
    v->rent_cents = WZ_MAX_RENT_CENTS + 1;
    EXPECT(CORP, INVALID, "publish_vacancy.rent_cents");
}
END_TEST

START_TEST(test_vacancy_access)
{
    WzVacancy *v = s_vacancy();
    v->access = 0;
    ACCEPTED(CORP);
    v->access = 15;
    ACCEPTED(CORP);
    v->access = 16;
    EXPECT(CORP, INVALID, "publish_vacancy.access");
}
END_TEST

START_TEST(test_vacancy_available_from)
{
    s_vacancy();
    s_fx.date.year = 2024;
    s_fx.date.month = 2;
    s_fx.date.day = 29;
    ACCEPTED(CORP);
    s_fx.date.year = 2025; /* no 29 February */
    EXPECT(CORP, INVALID, "publish_vacancy.available_from");
    s_fx.date = (WzDate)WOONZORG__V1__DATE__INIT;
    EXPECT(CORP, INVALID, "publish_vacancy.available_from");
    s_fx.vac.available_from = NULL;
    EXPECT(CORP, INVALID, "publish_vacancy.available_from");
}
END_TEST

START_TEST(test_vacancy_read_only)
{
    WzVacancy *v = s_vacancy();
    v->state = WOONZORG__V1__VACANCY_STATE__VACANCY_STATE_LET;
    EXPECT(CORP, INVALID, "publish_vacancy.state");
    v->state = WOONZORG__V1__VACANCY_STATE__VACANCY_STATE_UNSPECIFIED;
    v->proposal_id = "PW-2025-0142/1";
    EXPECT(CORP, INVALID, "publish_vacancy.proposal_id");
}
END_TEST

/* --- register_candidate ------------------------------------------------------------- */

START_TEST(test_candidate_valid)
{
    s_candidate();
    ACCEPTED(CARE);
}
END_TEST

START_TEST(test_candidate_id)
{
    WzCandidate *c = s_candidate();
    c->id = "";
    EXPECT(CARE, INVALID, "register_candidate.id");
    c->id = "-x";
    EXPECT(CARE, INVALID, "register_candidate.id");
}
END_TEST

START_TEST(test_candidate_care_provider_and_region)
{
    WzCandidate *c = s_candidate();
    c->care_provider = "ribw-kam";
    c->region = "zkij";
    ACCEPTED(CARE);
    c->care_provider = "dock";
    EXPECT(CARE, FORBIDDEN, "register_candidate.care_provider");
    c->care_provider = "";
    c->region = "flevo";
    EXPECT(CARE, FORBIDDEN, "register_candidate.region");
}
END_TEST

START_TEST(test_candidate_municipality)
{
    WzCandidate *c = s_candidate();
    c->municipality = "velsen";
    ACCEPTED(CARE);
    c->municipality = "almere";
    EXPECT(CARE, FORBIDDEN, "register_candidate.municipality");
    c->municipality = "";
    EXPECT(CARE, INVALID, "register_candidate.municipality");
}
END_TEST

START_TEST(test_candidate_group)
{
    WzCandidate *c = s_candidate();
    c->group = "mo";
    ACCEPTED(CARE);
    c->group = "vip";
    EXPECT(CARE, INVALID, "register_candidate.group");
    c->group = "";
    EXPECT(CARE, INVALID, "register_candidate.group");
}
END_TEST

START_TEST(test_candidate_household)
{
    WzCandidate *c = s_candidate();
    s_fx.household.adults = WZ_MAX_PERSONS;
    ACCEPTED(CARE);
    s_fx.household.adults = 0;
    EXPECT(CARE, INVALID, "register_candidate.household.adults");
    s_fx.household.adults = WZ_MAX_PERSONS + 1;
    EXPECT(CARE, INVALID, "register_candidate.household.adults");
    s_fx.household.adults = 2;
    s_fx.household.children = WZ_MAX_PERSONS - 2;
    ACCEPTED(CARE);
    s_fx.household.children = WZ_MAX_PERSONS - 1;
    EXPECT(CARE, INVALID, "register_candidate.household.children");
    s_fx.household.children = 0xffffffffu; /* no wrap-around */
    EXPECT(CARE, INVALID, "register_candidate.household.children");
    c->household = NULL;
    EXPECT(CARE, INVALID, "register_candidate.household");
}
END_TEST

START_TEST(test_candidate_age_band)
{
    WzCandidate *c = s_candidate();
    c->age_band = WOONZORG__V1__AGE_BAND__AGE_BAND_PENSION;
    ACCEPTED(CARE);
    c->age_band = WOONZORG__V1__AGE_BAND__AGE_BAND_UNSPECIFIED;
    EXPECT(CARE, INVALID, "register_candidate.age_band");
    c->age_band = (Woonzorg__V1__AgeBand)9;
    EXPECT(CARE, INVALID, "register_candidate.age_band");
}
END_TEST

START_TEST(test_candidate_income_class)
{
    WzCandidate *c = s_candidate();
    c->income_class = WOONZORG__V1__INCOME_CLASS__INCOME_CLASS_ABOVE_LIMIT;
    ACCEPTED(CARE);
    c->income_class = WOONZORG__V1__INCOME_CLASS__INCOME_CLASS_UNSPECIFIED;
    EXPECT(CARE, INVALID, "register_candidate.income_class");
}
END_TEST

START_TEST(test_candidate_access_needs)
{
    WzCandidate *c = s_candidate();
    c->access_needs = 8;
    ACCEPTED(CARE);
    c->access_needs = 32;
    EXPECT(CARE, INVALID, "register_candidate.access_needs");
}
END_TEST

START_TEST(test_candidate_acceptable_municipalities)
{
    WzCandidate *c = s_candidate();
    s_fx.accept[0] = "haarlem";
    s_fx.accept[1] = "velsen";
    c->n_acceptable_municipalities = 2;
    ACCEPTED(CARE);
    s_fx.accept[1] = "almere";
    EXPECT(CARE, FORBIDDEN, "register_candidate.acceptable_municipalities");
    s_fx.accept[1] = "gotham";
    EXPECT(CARE, INVALID, "register_candidate.acceptable_municipalities");
    for (size_t i = 0; i < WZ_MAX_LIST + 1; i++)
        s_fx.accept[i] = "haarlem";
    c->n_acceptable_municipalities = WZ_MAX_LIST;
    ACCEPTED(CARE);
    c->n_acceptable_municipalities = WZ_MAX_LIST + 1;
    EXPECT(CARE, INVALID, "register_candidate.acceptable_municipalities");
}
END_TEST

START_TEST(test_candidate_excluded_neighbourhoods)
{
    WzCandidate *c = s_candidate();
    s_fx.exclude[0] = "BU03920102";
    s_fx.exclude[1] = "BU04530101"; /* velsen: another municipality of the region is fine */
    c->n_excluded_neighbourhoods = 2;
    ACCEPTED(CARE);
    s_fx.exclude[1] = "BU00340101"; /* almere: not in the region */
    EXPECT(CARE, INVALID, "register_candidate.excluded_neighbourhoods");
    s_fx.exclude[1] = "";
    EXPECT(CARE, INVALID, "register_candidate.excluded_neighbourhoods");
    for (size_t i = 0; i < WZ_MAX_LIST + 1; i++)
        s_fx.exclude[i] = "BU03920101";
    c->n_excluded_neighbourhoods = WZ_MAX_LIST + 1;
    EXPECT(CARE, INVALID, "register_candidate.excluded_neighbourhoods");
}
END_TEST

START_TEST(test_candidate_consent)
{
    /* Without consent the request is well-formed: for a known candidate it
     * withdraws the consent; intake refuses it for a new one (test_intake). */
    WzCandidate *c = s_candidate();
    c->consent = 0;
    EXPECT(CARE, OK, "");
}
END_TEST

START_TEST(test_candidate_new_fields)
{
    WzCandidate *c = s_candidate();
    WzDate parked = WOONZORG__V1__DATE__INIT;
    c->max_distance_km = 5;
    EXPECT(CARE, INVALID, "register_candidate.care_location");
    c->care_location = "BU99999999";
    EXPECT(CARE, INVALID, "register_candidate.care_location");
    c->care_location = "BU03920101";
    EXPECT(CARE, OK, "");
    c->max_distance_km = WZ_MAX_DISTANCE_KM + 1;
    EXPECT(CARE, INVALID, "register_candidate.max_distance_km");
    c->max_distance_km = 5;
    parked.year = 2025;
    parked.month = 2;
    parked.day = 30;
    c->parked_until = &parked;
    EXPECT(CARE, INVALID, "register_candidate.parked_until");
    parked.day = 28;
    EXPECT(CARE, INVALID, "register_candidate.park_reason");
    c->park_reason = "in clinic for a short stay";
    EXPECT(CARE, OK, "");
    c->refusals = 1;
    EXPECT(CARE, INVALID, "register_candidate.refusals");
}
END_TEST

START_TEST(test_candidate_read_only)
{
    WzCandidate *c = s_candidate();
    WzDate d = WOONZORG__V1__DATE__INIT;
    d.year = 2025;
    d.month = 1;
    d.day = 2;
    c->urgency_date = &d;
    EXPECT(CARE, INVALID, "register_candidate.urgency_date");
    c->urgency_date = NULL;
    c->urgency_by = "gem-haarlem";
    EXPECT(CARE, INVALID, "register_candidate.urgency_by");
    c->urgency_by = "";
    c->state = WOONZORG__V1__CANDIDATE_STATE__CANDIDATE_STATE_ACTIVE;
    EXPECT(CARE, INVALID, "register_candidate.state");
}
END_TEST

/* --- the other bodies --------------------------------------------------------------- */

START_TEST(test_withdraw_ids)
{
    Woonzorg__V1__IdRef *ref = s_withdraw(0);
    ACCEPTED(CORP);
    ref->id = "";
    EXPECT(CORP, INVALID, "withdraw_vacancy.id");
    ref = s_withdraw(1);
    ACCEPTED(CARE);
    ref->id = "a b";
    EXPECT(CARE, INVALID, "withdraw_candidate.id");
}
END_TEST

START_TEST(test_grant_urgency)
{
    Woonzorg__V1__GrantUrgency *g = s_grant();
    ACCEPTED(MUNI); /* no date: today */
    WzDate d = WOONZORG__V1__DATE__INIT;
    g->date = &d;
    ACCEPTED(MUNI); /* all zero is unset too */
    d.year = 2025;
    d.month = 11;
    d.day = 30;
    ACCEPTED(MUNI);
    d.day = 31;
    EXPECT(MUNI, INVALID, "grant_urgency.date");
    g->candidate_id = "";
    EXPECT(MUNI, INVALID, "grant_urgency.candidate_id");
}
END_TEST

START_TEST(test_answer_proposal_id)
{
    Woonzorg__V1__Answer *a = s_answer();
    ACCEPTED(CARE);
    a->proposal_id = s_repeat('p', 96);
    ACCEPTED(CARE);
    a->proposal_id = s_repeat('p', 97);
    EXPECT(CARE, INVALID, "answer.proposal_id");
    a->proposal_id = "";
    EXPECT(CARE, INVALID, "answer.proposal_id");
    a->proposal_id = "PW 1/2";
    EXPECT(CARE, INVALID, "answer.proposal_id");
}
END_TEST

START_TEST(test_answer_reason)
{
    Woonzorg__V1__Answer *a = s_answer();
    a->accept = 0;
    a->reason = s_repeat('r', WZ_MAX_REASON);
    ACCEPTED(CARE);
    a->reason = s_repeat('r', WZ_MAX_REASON + 1);
    EXPECT(CARE, INVALID, "answer.reason");
    a->reason = "te\tver";
    EXPECT(CARE, INVALID, "answer.reason");
}
END_TEST

START_TEST(test_sign_lease)
{
    Woonzorg__V1__SignLease *l = s_lease();
    ACCEPTED(CORP);
    l->contract = WOONZORG__V1__CONTRACT_TYPE__CONTRACT_TYPE_TEMPORARY_MO;
    ACCEPTED(CORP);
    l->contract = WOONZORG__V1__CONTRACT_TYPE__CONTRACT_TYPE_UNSPECIFIED;
    EXPECT(CORP, INVALID, "sign_lease.contract");
    l->contract = (Woonzorg__V1__ContractType)6;
    EXPECT(CORP, INVALID, "sign_lease.contract");
    l->contract = WOONZORG__V1__CONTRACT_TYPE__CONTRACT_TYPE_REGULAR;
    l->vacancy_id = "";
    EXPECT(CORP, INVALID, "sign_lease.vacancy_id");
}
END_TEST

START_TEST(test_status)
{
    Woonzorg__V1__StatusQuery *s = s_status();
    ACCEPTED(MUNI);
    s->id = "PW-2025-0142/1"; /* a proposal id is no vacancy id */
    EXPECT(CORP, INVALID, "status.id");
    s->kind = WOONZORG__V1__STATUS_QUERY__KIND__KIND_PROPOSAL;
    ACCEPTED(CARE);
    s->kind = WOONZORG__V1__STATUS_QUERY__KIND__KIND_CANDIDATE;
    s->id = "kam-0012";
    ACCEPTED(CARE);
    s->id = "";
    EXPECT(CARE, INVALID, "status.id");
    s->kind = WOONZORG__V1__STATUS_QUERY__KIND__KIND_UNSPECIFIED;
    s->id = "kam-0012";
    EXPECT(CARE, INVALID, "status.kind");
}
END_TEST

START_TEST(test_audit)
{
    Woonzorg__V1__AuditQuery *a = s_audit();
    a->last = 1000;
    ACCEPTED(MUNI);
    a->last = 1001;
    EXPECT(MUNI, INVALID, "audit.last");
}
END_TEST

START_TEST(test_verdict_set)
{
    wz_verdict_t v;
    ck_assert_int_eq(wz_verdict_set(&v, WOONZORG__V1__CODE__CODE_NOT_FOUND, "withdraw_vacancy.id",
                                    "no vacancy '%s'", "X-1"),
                     -1);
    ck_assert_int_eq(v.code, WOONZORG__V1__CODE__CODE_NOT_FOUND);
    ck_assert_str_eq(v.field, "withdraw_vacancy.id");
    ck_assert_str_eq(v.message, "no vacancy 'X-1'");
    wz_verdict_set(&v, WOONZORG__V1__CODE__CODE_UNAVAILABLE, NULL, "%s", s_repeat('m', 400));
    ck_assert_str_eq(v.field, "");
    ck_assert_uint_eq(strlen(v.message), sizeof v.message - 1);
}
END_TEST

int main(void)
{
    TCase *tc = wz_test_case("validate", 10,
                             (const TTest *const[]){test_request_id,
                                                    test_no_body,
                                                    test_roles,
                                                    test_unknown_actor,
                                                    test_vacancy_valid,
                                                    test_vacancy_id,
                                                    test_vacancy_corporation_and_region,
                                                    test_vacancy_municipality,
                                                    test_vacancy_neighbourhood,
                                                    test_vacancy_complex,
                                                    test_vacancy_address,
                                                    test_vacancy_rooms,
                                                    test_vacancy_floor_area,
                                                    test_vacancy_rent,
                                                    test_vacancy_access,
                                                    test_vacancy_available_from,
                                                    test_vacancy_read_only,
                                                    test_candidate_valid,
                                                    test_candidate_id,
                                                    test_candidate_care_provider_and_region,
                                                    test_candidate_municipality,
                                                    test_candidate_group,
                                                    test_candidate_household,
                                                    test_candidate_age_band,
                                                    test_candidate_income_class,
                                                    test_candidate_access_needs,
                                                    test_candidate_acceptable_municipalities,
                                                    test_candidate_excluded_neighbourhoods,
                                                    test_candidate_consent,
                                                    test_candidate_new_fields,
                                                    test_candidate_read_only,
                                                    test_withdraw_ids,
                                                    test_grant_urgency,
                                                    test_answer_proposal_id,
                                                    test_answer_reason,
                                                    test_sign_lease,
                                                    test_status,
                                                    test_audit,
                                                    test_verdict_set,
                                                    NULL});
    return wz_test_run("wz_validate", (TCase *const[]){tc, NULL});
}
