/* Unit tests of wz_match: every hard filter on its own, their order, the
 * ranking with its tie-breaks, and the explanation, on a policy built in
 * memory (no files, no Redis). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "wz_match.h"
#include "wz_testmain.h"

#define CSTATE(x) WOONZORG__V1__CANDIDATE_STATE__CANDIDATE_STATE_##x
#define ACCESS(x) WOONZORG__V1__ACCESS__ACCESS_##x

/* Passend toewijzen 2024 and 2025, in cents. */
static wz_rent_limits_t s_limits[] = {
    {2024, 65043, 69707, 45220, 87966},
    {2025, 68296, 73193, 47720, 90007},
};
static wz_occupancy_t s_occupancy[] = {
    {1, 1, 20},
    {2, 2, 35},
    {3, 3, 50},
    {4, 3, 60},
};
static wz_neighbourhood_t s_nb[] = {
    {"BU03920101", "Vijfhoek", 52.3826, 4.6336},
    {"BU03921003", "Schalkwijk-Boerhaavewijk", 52.3652, 4.6603},
    {"BU04530102", "IJmuiden-Zeewijk", 52.4522, 4.6049},
};
static wz_municipality_t s_muns[] = {
    {"haarlem", "Haarlem", "GM0392", s_nb, 2},
    {"velsen", "Velsen", "GM0453", s_nb + 2, 1},
};
static wz_region_t s_region = {.id = "zkij", .name = "Zuid-Kennemerland en IJmond",
                               .answer_seconds = 600, .municipalities = s_muns,
                               .n_municipalities = 2};
static char s_groups[][WZ_ID_MAX] = {"beschermd_wonen", "dakloos"};
static char s_corps[][WZ_ID_MAX] = {"pre-wonen"};
static char s_cps[][WZ_ID_MAX] = {"ribw-kam"};
/* 2024-10-08 .. 2028-12-31, 24 months of urgency and one extension of 6. */
static wz_scheme_t s_scheme = {
    .id = "zkij-uitstroom",
    .region = "zkij",
    .from_day = 20004,
    .to_day = 21549,
    .groups = s_groups,
    .n_groups = 2,
    .corporations = s_corps,
    .n_corporations = 1,
    .care_providers = s_cps,
    .n_care_providers = 1,
    .spread_years = 5,
    .max_per_complex = 2,
    .max_per_stairwell = 1,
    .max_per_neighbourhood = 5,
    .urgency_months = 24,
    .extension_months = 6,
    .fit_room = 10,
    .fit_area = 0.5,
    .fit_km = 1,
};
static wz_policy_t s_policy = {
    .version = "test-7",
    .regions = &s_region,
    .n_regions = 1,
    .rent_limits = s_limits,
    .n_rent_limits = 2,
    .occupancy = s_occupancy,
    .n_occupancy = 4,
};

/* A candidate and the storage its pointers use; initialise in place. */
typedef struct {
    WzCandidate c;
    WzHousehold hh;
    WzDate urgency;
    char *acceptable[4];
    char *excluded[4];
} cand_t;

static void cand_init(cand_t *t, const char *id, int year, int month, int day)
{
    WzCandidate c = WOONZORG__V1__CANDIDATE__INIT;
    WzHousehold hh = WOONZORG__V1__HOUSEHOLD__INIT;
    WzDate d = WOONZORG__V1__DATE__INIT;
    t->c = c;
    t->hh = hh;
    t->urgency = d;
    t->hh.adults = 1;
    t->urgency.year = year;
    t->urgency.month = month;
    t->urgency.day = day;
    t->c.id = (char *)id;
    t->c.care_provider = "ribw-kam";
    t->c.group = "beschermd_wonen";
    t->c.region = "zkij";
    t->c.municipality = "haarlem";
    t->c.household = &t->hh;
    t->c.age_band = WOONZORG__V1__AGE_BAND__AGE_BAND_ADULT;
    t->c.income_class = WOONZORG__V1__INCOME_CLASS__INCOME_CLASS_BELOW_LIMIT;
    t->c.consent = true;
    t->c.urgency_date = &t->urgency;
    t->c.urgency_by = "gem-haarlem";
    t->c.state = CSTATE(ACTIVE);
    t->c.acceptable_municipalities = t->acceptable;
    t->c.excluded_neighbourhoods = t->excluded;
}

typedef struct {
    WzVacancy v;
    WzDate from;
} vac_t;

/* Two rooms, 45 m2, EUR 600.00, ground floor with lift, from 2025-06-01. */
static void vac_init(vac_t *t)
{
    WzVacancy v = WOONZORG__V1__VACANCY__INIT;
    WzDate d = WOONZORG__V1__DATE__INIT;
    t->v = v;
    t->from = d;
    t->from.year = 2025;
    t->from.month = 6;
    t->from.day = 1;
    t->v.id = "pw-100";
    t->v.corporation = "pre-wonen";
    t->v.region = "zkij";
    t->v.municipality = "haarlem";
    t->v.neighbourhood = "BU03920101";
    t->v.rooms = 2;
    t->v.floor_area_m2 = 45;
    t->v.rent_cents = 60000;
    t->v.access = ACCESS(GROUND_FLOOR) | ACCESS(LIFT);
    t->v.available_from = &t->from;
}

/* The decision context of the tests: the scheme above, decided on
 * 2025-06-01, no contingent, nothing placed. */
static wz_match_ctx_t s_ctx(wz_match_tried_fn tried, void *arg)
{
    wz_match_ctx_t ctx = {.policy = &s_policy,
                          .scheme = &s_scheme,
                          .today = 20240, /* 2025-06-01 */
                          .contingent_target = -1,
                          .tried = tried,
                          .tried_arg = arg};
    return ctx;
}

static int s_pick_with(const WzVacancy *v, WzCandidate *const *cands, size_t n,
                       wz_match_tried_fn tried, void *arg, wz_match_result_t *r, size_t *chosen)
{
    wz_match_ctx_t ctx = s_ctx(tried, arg);
    return wz_match_pick(&ctx, v, cands, n, r, chosen);
}

static int s_check_with(const WzVacancy *v, const WzCandidate *c, wz_match_tried_fn tried,
                        void *arg, double *penalty)
{
    wz_match_ctx_t ctx = s_ctx(tried, arg);
    return wz_match_check(&ctx, v, c, penalty);
}

/* The rule (name) that removes candidate c from vacancy v, or "eligible". */
static const char *s_verdict(const vac_t *v, const cand_t *c)
{
    int rule = s_check_with(&v->v, &c->c, NULL, NULL, NULL);
    if (rule < 0)
        rule = wz_match_vacancy_check(&(wz_match_ctx_t){.policy = &s_policy,
                                                        .scheme = &s_scheme,
                                                        .today = 20240,
                                                        .contingent_target = -1},
                                      &v->v);
    return rule < 0 ? "eligible" : wz_match_rule_name((size_t)rule);
}

static uint32_t s_removed(const wz_match_result_t *r, const char *rule)
{
    for (size_t i = 0; i < r->explanation.n_filters; i++)
        if (strcmp(r->explanation.filters[i]->rule, rule) == 0)
            return r->explanation.filters[i]->removed;
    ck_abort_msg("rule %s missing from the explanation", rule);
    return 0;
}

START_TEST(test_single_eligible_candidate)
{
    vac_t v;
    cand_t a;
    vac_init(&v);
    cand_init(&a, "kam-0012", 2025, 3, 4);
    WzCandidate *cands[] = {&a.c};
    wz_match_result_t r;
    size_t chosen = 99;
    ck_assert_int_eq(s_pick_with(&v.v, cands, 1, NULL, NULL, &r, &chosen), 1);
    ck_assert_uint_eq(chosen, 0);
    const WzExplanation *e = &r.explanation;
    ck_assert_uint_eq(e->considered, 1);
    ck_assert_uint_eq(e->eligible, 1);
    ck_assert_uint_eq(e->rank, 1);
    ck_assert_uint_eq(e->n_filters, WZ_MATCH_RULES);
    static const char *const names[] = {
        "scheme",         "contingent",       "spread",       "status",
        "consent",        "parked",           "urgency_window", "group",
        "care_provider",  "already_proposed", "municipality", "neighbourhood",
        "distance",       "household",        "rent",         "accessibility"};
    for (size_t i = 0; i < WZ_MATCH_RULES; i++) {
        ck_assert_str_eq(e->filters[i]->rule, names[i]);
        ck_assert_str_eq(wz_match_rule_name(i), names[i]);
        ck_assert_uint_eq(e->filters[i]->removed, 0);
    }
    ck_assert_ptr_null(wz_match_rule_name(WZ_MATCH_RULES));
    ck_assert_str_eq(e->ranking, WZ_MATCH_RANKING);
    ck_assert_str_eq(e->scheme, "zkij-uitstroom");
    ck_assert_str_eq(e->mode, "ranked");
    /* 1 room and 25 m2 above the minimum of one person: 10 + 12.5. */
    ck_assert(e->score > 22.49 && e->score < 22.51);
    ck_assert_str_eq(e->policy_version, "test-7");
    ck_assert_str_eq(e->summary,
                     "kam-0012 ranked 1 of 1 eligible (1 considered): urgency since 2025-03-04, "
                     "fit penalty 22.5");
}
END_TEST

START_TEST(test_filter_status)
{
    vac_t v;
    vac_init(&v);
    cand_t c[6];
    const int states[] = {CSTATE(REGISTERED), CSTATE(PROPOSED), CSTATE(HOUSED),
                          CSTATE(WITHDRAWN),  CSTATE(UNSPECIFIED), CSTATE(ACTIVE)};
    WzCandidate *cands[6];
    for (int i = 0; i < 6; i++) {
        cand_init(&c[i], "x", 2025, 1, 1);
        c[i].c.state = states[i];
        cands[i] = &c[i].c;
    }
    for (int i = 0; i < 5; i++)
        ck_assert_str_eq(s_verdict(&v, &c[i]), "status");
    ck_assert_str_eq(s_verdict(&v, &c[5]), "eligible");
    /* Active without urgency (or with a date that is no date) is not matchable. */
    c[5].c.urgency_date = NULL;
    ck_assert_str_eq(s_verdict(&v, &c[5]), "status");
    c[5].c.urgency_date = &c[5].urgency;
    c[5].urgency.month = 13;
    ck_assert_str_eq(s_verdict(&v, &c[5]), "status");

    wz_match_result_t r;
    size_t chosen = 42;
    ck_assert_int_eq(s_pick_with(&v.v, cands, 6, NULL, NULL, &r, &chosen), 0);
    ck_assert_uint_eq(chosen, 42);
    ck_assert_uint_eq(s_removed(&r, "status"), 6);
    ck_assert_uint_eq(r.explanation.eligible, 0);
    ck_assert_uint_eq(r.explanation.rank, 0);
    ck_assert_str_eq(r.explanation.summary, "no eligible candidate among 6: status removed 6");
}
END_TEST

START_TEST(test_filter_consent)
{
    vac_t v;
    cand_t a;
    vac_init(&v);
    cand_init(&a, "a", 2025, 1, 1);
    ck_assert_str_eq(s_verdict(&v, &a), "eligible");
    a.c.consent = false;
    ck_assert_str_eq(s_verdict(&v, &a), "consent");
}
END_TEST

static bool s_tried_a(void *arg, const char *id)
{
    int *calls = arg;
    (*calls)++;
    return strcmp(id, "a") == 0;
}

START_TEST(test_filter_already_proposed)
{
    vac_t v;
    cand_t a, b;
    vac_init(&v);
    cand_init(&a, "a", 2024, 1, 1); /* would win on urgency */
    cand_init(&b, "b", 2025, 1, 1);
    WzCandidate *cands[] = {&a.c, &b.c};
    int calls = 0;
    ck_assert_str_eq(wz_match_rule_name((size_t)s_check_with(&v.v, &a.c, s_tried_a, &calls, NULL)),
                     "already_proposed");
    wz_match_result_t r;
    size_t chosen = 0;
    ck_assert_int_eq(s_pick_with(&v.v, cands, 2, s_tried_a, &calls, &r, &chosen), 1);
    ck_assert_uint_eq(chosen, 1);
    ck_assert_uint_eq(s_removed(&r, "already_proposed"), 1);
    ck_assert_int_ge(calls, 3);
    /* Without a tried function nobody counts as proposed before. */
    ck_assert_int_eq(s_pick_with(&v.v, cands, 2, NULL, NULL, &r, &chosen), 1);
    ck_assert_uint_eq(chosen, 0);
}
END_TEST

START_TEST(test_filter_municipality)
{
    vac_t v;
    cand_t a;
    vac_init(&v);
    cand_init(&a, "a", 2025, 1, 1);
    ck_assert_str_eq(s_verdict(&v, &a), "eligible"); /* empty list: anywhere in the region */
    a.acceptable[0] = "velsen";
    a.c.n_acceptable_municipalities = 1;
    ck_assert_str_eq(s_verdict(&v, &a), "municipality");
    a.acceptable[1] = "haarlem";
    a.c.n_acceptable_municipalities = 2;
    ck_assert_str_eq(s_verdict(&v, &a), "eligible");
    v.v.municipality = "zandvoort";
    ck_assert_str_eq(s_verdict(&v, &a), "municipality");
}
END_TEST

START_TEST(test_filter_neighbourhood)
{
    vac_t v;
    cand_t a;
    vac_init(&v);
    cand_init(&a, "a", 2025, 1, 1);
    a.excluded[0] = "BU03920202";
    a.c.n_excluded_neighbourhoods = 1;
    ck_assert_str_eq(s_verdict(&v, &a), "eligible");
    a.excluded[1] = "BU03920101";
    a.c.n_excluded_neighbourhoods = 2;
    ck_assert_str_eq(s_verdict(&v, &a), "neighbourhood");
    v.v.neighbourhood = "BU03920303";
    ck_assert_str_eq(s_verdict(&v, &a), "eligible");
}
END_TEST

START_TEST(test_filter_household)
{
    vac_t v;
    cand_t a;
    vac_init(&v); /* 2 rooms, 45 m2 */
    cand_init(&a, "a", 2025, 1, 1);
    a.hh.adults = 2;
    ck_assert_str_eq(s_verdict(&v, &a), "eligible"); /* 2 persons: 2 rooms, 35 m2 */
    a.hh.children = 1;
    ck_assert_str_eq(s_verdict(&v, &a), "household"); /* 3 persons: 3 rooms */
    v.v.rooms = 3;
    v.v.rent_cents = 70000;
    ck_assert_str_eq(s_verdict(&v, &a), "household"); /* ... and 50 m2 */
    v.v.floor_area_m2 = 50;
    ck_assert_str_eq(s_verdict(&v, &a), "eligible");
    /* Larger households than the table use its last row. */
    a.hh.children = 5;
    ck_assert_str_eq(s_verdict(&v, &a), "household");
    v.v.floor_area_m2 = 60;
    ck_assert_str_eq(s_verdict(&v, &a), "eligible");
    /* Area alone: a one-person household needs 20 m2. */
    a.hh.adults = 1;
    a.hh.children = 0;
    v.v.floor_area_m2 = 19;
    ck_assert_str_eq(s_verdict(&v, &a), "household");
}
END_TEST

START_TEST(test_filter_rent)
{
    vac_t v;
    cand_t a;
    vac_init(&v);
    cand_init(&a, "a", 2025, 1, 1);
    /* 2025, 1-2 persons below the income limit: EUR 682.96, inclusive. */
    v.v.rent_cents = 68296;
    ck_assert_str_eq(s_verdict(&v, &a), "eligible");
    v.v.rent_cents = 68297;
    ck_assert_str_eq(s_verdict(&v, &a), "rent");
    /* 3+ persons below the limit: EUR 731.93 (dwelling big enough for them). */
    v.v.rooms = 3;
    v.v.floor_area_m2 = 60;
    a.hh.adults = 2;
    a.hh.children = 1;
    ck_assert_str_eq(s_verdict(&v, &a), "eligible");
    v.v.rent_cents = 73194;
    ck_assert_str_eq(s_verdict(&v, &a), "rent");
    /* Above the income limit: the social-rent limit EUR 900.07. */
    a.c.income_class = WOONZORG__V1__INCOME_CLASS__INCOME_CLASS_ABOVE_LIMIT;
    ck_assert_str_eq(s_verdict(&v, &a), "eligible");
    v.v.rent_cents = 90008;
    ck_assert_str_eq(s_verdict(&v, &a), "rent");
    /* Under 23: EUR 477.20 whatever the income. */
    a.c.age_band = WOONZORG__V1__AGE_BAND__AGE_BAND_UNDER_23;
    v.v.rent_cents = 47720;
    ck_assert_str_eq(s_verdict(&v, &a), "eligible");
    v.v.rent_cents = 47721;
    ck_assert_str_eq(s_verdict(&v, &a), "rent");
}
END_TEST

START_TEST(test_rent_year_of_availability)
{
    vac_t v;
    cand_t a;
    vac_init(&v);
    cand_init(&a, "a", 2025, 1, 1);
    v.v.rent_cents = 66000; /* above the 2024 limit 650.43, below 2025's 682.96 */
    ck_assert_str_eq(s_verdict(&v, &a), "eligible");
    v.from.year = 2024;
    ck_assert_str_eq(s_verdict(&v, &a), "rent");
    /* Before the first known year the earliest limits apply. */
    v.from.year = 2019;
    ck_assert_str_eq(s_verdict(&v, &a), "rent");
    /* After the last known year the latest limits stay in force. */
    v.from.year = 2031;
    ck_assert_str_eq(s_verdict(&v, &a), "eligible");
    /* No date: the current year, which is 2025 or later, so 2025's limits. */
    v.v.available_from = NULL;
    ck_assert_str_eq(s_verdict(&v, &a), "eligible");
}
END_TEST

START_TEST(test_filter_accessibility)
{
    vac_t v;
    cand_t a;
    vac_init(&v); /* ground floor and lift */
    cand_init(&a, "a", 2025, 1, 1);
    a.c.access_needs = ACCESS(LIFT);
    ck_assert_str_eq(s_verdict(&v, &a), "eligible");
    a.c.access_needs = ACCESS(LIFT) | ACCESS(GROUND_FLOOR);
    ck_assert_str_eq(s_verdict(&v, &a), "eligible");
    a.c.access_needs = ACCESS(LIFT) | ACCESS(WHEELCHAIR);
    ck_assert_str_eq(s_verdict(&v, &a), "accessibility");
    v.v.access |= ACCESS(WHEELCHAIR) | ACCESS(NO_STEPS);
    ck_assert_str_eq(s_verdict(&v, &a), "eligible");
}
END_TEST

START_TEST(test_first_failing_rule_counts)
{
    vac_t v;
    cand_t a;
    vac_init(&v);
    cand_init(&a, "a", 2025, 1, 1);
    /* Fails consent, municipality, household, rent and accessibility. */
    a.c.consent = false;
    a.acceptable[0] = "velsen";
    a.c.n_acceptable_municipalities = 1;
    a.hh.adults = 4;
    a.c.access_needs = ACCESS(WHEELCHAIR);
    v.v.rent_cents = 99999;
    ck_assert_str_eq(s_verdict(&v, &a), "consent");
    a.c.consent = true;
    ck_assert_str_eq(s_verdict(&v, &a), "municipality");
    a.c.n_acceptable_municipalities = 0;
    ck_assert_str_eq(s_verdict(&v, &a), "household");
    a.hh.adults = 1;
    ck_assert_str_eq(s_verdict(&v, &a), "rent");
    v.v.rent_cents = 50000;
    ck_assert_str_eq(s_verdict(&v, &a), "accessibility");
}
END_TEST

static size_t s_pick(const vac_t *v, cand_t *c, const size_t *order, size_t n)
{
    WzCandidate *cands[8];
    ck_assert_uint_le(n, 8);
    for (size_t i = 0; i < n; i++)
        cands[i] = &c[order[i]].c;
    wz_match_result_t r;
    size_t chosen = 99;
    ck_assert_int_eq(s_pick_with(&v->v, cands, n, NULL, NULL, &r, &chosen), 1);
    ck_assert_uint_lt(chosen, n);
    ck_assert_uint_eq(r.explanation.eligible, n);
    return order[chosen];
}

START_TEST(test_ranking_urgency_first)
{
    vac_t v;
    vac_init(&v);
    cand_t c[3];
    cand_init(&c[0], "kam-3", 2025, 2, 1);
    cand_init(&c[1], "kam-1", 2024, 12, 31); /* waiting longest */
    cand_init(&c[2], "kam-2", 2025, 1, 15);
    static const size_t orders[][3] = {{0, 1, 2}, {2, 1, 0}, {1, 0, 2}, {2, 0, 1}};
    for (size_t i = 0; i < 4; i++)
        ck_assert_uint_eq(s_pick(&v, c, orders[i], 3), 1);
    /* Urgency beats fit: the long waiter wins even with rooms to spare. */
    v.v.rooms = 3;
    v.v.floor_area_m2 = 60;
    v.v.rent_cents = 68000; /* within every household's limit */
    c[2].hh.adults = 3; /* exact fit, but later urgency */
    ck_assert_uint_eq(s_pick(&v, c, orders[0], 3), 1);
}
END_TEST

START_TEST(test_ranking_ties)
{
    vac_t v;
    vac_init(&v);
    v.v.rooms = 3;
    v.v.floor_area_m2 = 60;
    v.v.rent_cents = 68000; /* within every household's limit */
    cand_t c[3];
    cand_init(&c[0], "kam-a", 2025, 1, 1); /* 1 person: 2 rooms to spare */
    cand_init(&c[1], "kam-b", 2025, 1, 1); /* 3 persons: exact fit */
    cand_init(&c[2], "kam-c", 2025, 1, 1); /* 2 persons: 1 room to spare */
    c[1].hh.adults = 2;
    c[1].hh.children = 1;
    c[2].hh.adults = 2;
    static const size_t orders[][3] = {{0, 1, 2}, {2, 1, 0}, {1, 2, 0}, {0, 2, 1}};
    for (size_t i = 0; i < 4; i++)
        ck_assert_uint_eq(s_pick(&v, c, orders[i], 3), 1);
    /* Same date, same fit: the candidate id decides, the same whatever the order. */
    c[1].hh.children = 0;
    c[1].hh.adults = 1;
    c[2].hh.adults = 1;
    for (size_t i = 0; i < 4; i++)
        ck_assert_uint_eq(s_pick(&v, c, orders[i], 3), 0);
    cand_t d[2];
    cand_init(&d[0], "kam-010", 2025, 1, 1);
    cand_init(&d[1], "kam-002", 2025, 1, 1);
    static const size_t two[][2] = {{0, 1}, {1, 0}};
    ck_assert_uint_eq(s_pick(&v, d, two[0], 2), 1);
    ck_assert_uint_eq(s_pick(&v, d, two[1], 2), 1);
}
END_TEST

START_TEST(test_explanation_counts)
{
    vac_t v;
    vac_init(&v);
    cand_t c[12];
    WzCandidate *cands[12];
    const char *ids[12] = {"c00", "c01", "c02", "c03", "c04", "c05",
                           "c06", "c07", "c08", "c09", "c10", "c11"};
    for (int i = 0; i < 12; i++) {
        cand_init(&c[i], ids[i], 2025, 1, 1 + i);
        cands[i] = &c[i].c;
    }
    c[0].c.state = CSTATE(REGISTERED);               /* status */
    c[1].c.consent = false;                          /* consent */
    c[2].acceptable[0] = "velsen";                   /* municipality */
    c[2].c.n_acceptable_municipalities = 1;
    c[3].excluded[0] = "BU03920101";                 /* neighbourhood */
    c[3].c.n_excluded_neighbourhoods = 1;
    c[4].hh.adults = 3;                              /* household */
    c[5].hh.adults = 4;                              /* household */
    c[6].c.age_band = WOONZORG__V1__AGE_BAND__AGE_BAND_UNDER_23; /* rent */
    c[7].c.age_band = WOONZORG__V1__AGE_BAND__AGE_BAND_UNDER_23; /* rent */
    c[8].c.age_band = WOONZORG__V1__AGE_BAND__AGE_BAND_UNDER_23; /* rent */
    c[9].c.access_needs = ACCESS(WHEELCHAIR);        /* accessibility */
    /* c10 and c11 are eligible; c10 has the earlier urgency. */
    wz_match_result_t r;
    size_t chosen = 0;
    ck_assert_int_eq(s_pick_with(&v.v, cands, 12, NULL, NULL, &r, &chosen), 1);
    ck_assert_uint_eq(chosen, 10);
    ck_assert_uint_eq(r.explanation.considered, 12);
    ck_assert_uint_eq(r.explanation.eligible, 2);
    ck_assert_uint_eq(r.explanation.rank, 1);
    const uint32_t want[WZ_MATCH_RULES] = {0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0, 2, 3, 1};
    for (size_t i = 0; i < WZ_MATCH_RULES; i++)
        ck_assert_uint_eq(r.explanation.filters[i]->removed, want[i]);
    ck_assert_str_eq(r.explanation.summary,
                     "c10 ranked 1 of 2 eligible (12 considered): urgency since 2025-01-11, "
                     "fit penalty 22.5");

    /* Without the two eligible ones: the rules that removed most come first. */
    c[10].c.age_band = WOONZORG__V1__AGE_BAND__AGE_BAND_UNDER_23;
    c[11].hh.adults = 3;
    ck_assert_int_eq(s_pick_with(&v.v, cands, 12, NULL, NULL, &r, &chosen), 0);
    ck_assert_uint_eq(r.explanation.eligible, 0);
    ck_assert_uint_eq(r.explanation.rank, 0);
    ck_assert_uint_eq(s_removed(&r, "rent"), 4);
    ck_assert_uint_eq(s_removed(&r, "household"), 3);
    ck_assert_str_eq(r.explanation.summary,
                     "no eligible candidate among 12: rent removed 4, household removed 3, "
                     "status removed 1, consent removed 1, municipality removed 1, "
                     "neighbourhood removed 1, accessibility removed 1");
}
END_TEST

START_TEST(test_empty_population)
{
    vac_t v;
    vac_init(&v);
    wz_match_result_t r;
    size_t chosen = 7;
    ck_assert_int_eq(s_pick_with(&v.v, NULL, 0, NULL, NULL, &r, &chosen), 0);
    ck_assert_uint_eq(chosen, 7);
    ck_assert_uint_eq(r.explanation.considered, 0);
    ck_assert_uint_eq(r.explanation.eligible, 0);
    ck_assert_uint_eq(r.explanation.rank, 0);
    ck_assert_uint_eq(r.explanation.n_filters, WZ_MATCH_RULES);
    for (size_t i = 0; i < WZ_MATCH_RULES; i++)
        ck_assert_uint_eq(r.explanation.filters[i]->removed, 0);
    ck_assert_str_eq(r.explanation.summary,
                     "no eligible candidate among 0: the region has no candidates");
    ck_assert_str_eq(r.explanation.policy_version, "test-7");
}
END_TEST

START_TEST(test_surplus_reported)
{
    vac_t v;
    cand_t a;
    vac_init(&v);
    v.v.rooms = 4;
    v.v.floor_area_m2 = 70;
    cand_init(&a, "a", 2025, 1, 1);
    a.hh.adults = 2;
    double penalty = -1;
    ck_assert_int_eq(s_check_with(&v.v, &a.c, NULL, NULL, &penalty), -1);
    /* 2 rooms above 2, 35 m2 above 35: 20 + 17.5. */
    ck_assert(penalty > 37.49 && penalty < 37.51);
}
END_TEST

START_TEST(test_explanation_packs)
{
    /* The explanation is sent inside proposals: it must be a valid message. */
    vac_t v;
    cand_t a;
    vac_init(&v);
    cand_init(&a, "kam-1", 2025, 1, 1);
    WzCandidate *cands[] = {&a.c};
    wz_match_result_t r;
    size_t chosen = 0;
    ck_assert_int_eq(s_pick_with(&v.v, cands, 1, NULL, NULL, &r, &chosen), 1);
    size_t len = protobuf_c_message_get_packed_size(&r.explanation.base);
    uint8_t *buf = malloc(len);
    ck_assert_ptr_nonnull(buf);
    protobuf_c_message_pack(&r.explanation.base, buf);
    WzExplanation *back = woonzorg__v1__explanation__unpack(NULL, len, buf);
    free(buf);
    ck_assert_ptr_nonnull(back);
    ck_assert_uint_eq(back->n_filters, WZ_MATCH_RULES);
    ck_assert_str_eq(back->filters[15]->rule, "accessibility");
    ck_assert_str_eq(back->summary, r.explanation.summary);
    protobuf_c_message_free_unpacked(&back->base, NULL);
}
END_TEST


START_TEST(test_vacancy_scheme_rule)
{
    vac_t v;
    cand_t a;
    vac_init(&v);
    cand_init(&a, "a", 2025, 1, 1);
    WzCandidate *cands[] = {&a.c};
    wz_match_ctx_t ctx = s_ctx(NULL, NULL);
    wz_match_result_t r;
    size_t chosen = 9;
    ck_assert_int_eq(wz_match_pick(&ctx, &v.v, cands, 1, &r, &chosen), 1);
    /* No scheme, a corporation outside it, or a day outside its period. */
    ctx.scheme = NULL;
    ck_assert_int_eq(wz_match_pick(&ctx, &v.v, cands, 1, &r, &chosen), 0);
    ck_assert_uint_eq(s_removed(&r, "scheme"), 1);
    ck_assert_ptr_nonnull(strstr(r.summary, "no scheme in force for pre-wonen"));
    ctx.scheme = &s_scheme;
    v.v.corporation = "ymere";
    ck_assert_int_eq(wz_match_pick(&ctx, &v.v, cands, 1, &r, &chosen), 0);
    v.v.corporation = "pre-wonen";
    ctx.today = s_scheme.to_day + 1;
    ck_assert_int_eq(wz_match_pick(&ctx, &v.v, cands, 1, &r, &chosen), 0);
    ctx.today = s_scheme.from_day - 1;
    ck_assert_int_eq(wz_match_pick(&ctx, &v.v, cands, 1, &r, &chosen), 0);
    ctx.today = s_scheme.from_day;
    ck_assert_int_eq(wz_match_pick(&ctx, &v.v, cands, 1, &r, &chosen), 1);
}
END_TEST

START_TEST(test_contingent_rule)
{
    vac_t v;
    cand_t a, b;
    vac_init(&v);
    cand_init(&a, "a", 2025, 1, 1);
    cand_init(&b, "b", 2025, 1, 2);
    WzCandidate *cands[] = {&a.c, &b.c};
    wz_match_ctx_t ctx = s_ctx(NULL, NULL);
    wz_match_result_t r;
    size_t chosen = 9;
    ctx.contingent_target = 3;
    ctx.contingent_used = 2;
    ck_assert_int_eq(wz_match_pick(&ctx, &v.v, cands, 2, &r, &chosen), 1);
    ctx.contingent_used = 3;
    ck_assert_int_eq(wz_match_pick(&ctx, &v.v, cands, 2, &r, &chosen), 0);
    ck_assert_uint_eq(s_removed(&r, "contingent"), 2);
    ck_assert_str_eq(r.summary, "no candidate among 2 may be proposed: the contingent of "
                                "pre-wonen in haarlem is used up (3 of 3) and the scheme allows "
                                "no more");
    /* A scheme allowing over-delivery goes on; no contingent at all is no limit. */
    wz_scheme_t over = s_scheme;
    over.over_delivery = true;
    ctx.scheme = &over;
    ck_assert_int_eq(wz_match_pick(&ctx, &v.v, cands, 2, &r, &chosen), 1);
    ctx.scheme = &s_scheme;
    ctx.contingent_target = -1;
    ck_assert_int_eq(wz_match_pick(&ctx, &v.v, cands, 2, &r, &chosen), 1);
}
END_TEST

START_TEST(test_spread_rule)
{
    vac_t v;
    cand_t a;
    vac_init(&v); /* complex pw-c1, no stairwell */
    v.v.complex = "pw-c1";
    cand_init(&a, "a", 2025, 1, 1);
    WzCandidate *cands[] = {&a.c};
    wz_match_ctx_t ctx = s_ctx(NULL, NULL);
    wz_match_result_t r;
    size_t chosen = 9;
    /* Limits: 2 per complex, 1 per stairwell, 5 per neighbourhood. */
    ctx.placed_complex = 1;
    ctx.placed_stairwell = 1; /* the vacancy names no stairwell: not counted */
    ctx.placed_neighbourhood = 4;
    ck_assert_int_eq(wz_match_pick(&ctx, &v.v, cands, 1, &r, &chosen), 1);
    v.v.stairwell = "12A";
    ck_assert_int_eq(wz_match_pick(&ctx, &v.v, cands, 1, &r, &chosen), 0);
    ck_assert_uint_eq(s_removed(&r, "spread"), 1);
    ck_assert_ptr_nonnull(strstr(r.summary, "stairwell 1/1"));
    ctx.placed_stairwell = 0;
    ctx.placed_complex = 2;
    ck_assert_int_eq(wz_match_pick(&ctx, &v.v, cands, 1, &r, &chosen), 0);
    ctx.placed_complex = 1;
    ctx.placed_neighbourhood = 5;
    ck_assert_int_eq(wz_match_pick(&ctx, &v.v, cands, 1, &r, &chosen), 0);
    ctx.placed_neighbourhood = 4;
    ck_assert_int_eq(wz_match_pick(&ctx, &v.v, cands, 1, &r, &chosen), 1);
}
END_TEST

START_TEST(test_filter_parked)
{
    vac_t v;
    cand_t a;
    vac_init(&v);
    cand_init(&a, "a", 2025, 1, 1);
    WzDate until = WOONZORG__V1__DATE__INIT;
    until.year = 2025;
    until.month = 6;
    until.day = 2;
    a.c.parked_until = &until;
    a.c.park_reason = "short clinic stay";
    ck_assert_str_eq(s_verdict(&v, &a), "parked"); /* decided on 2025-06-01 */
    until.day = 1;
    ck_assert_str_eq(s_verdict(&v, &a), "eligible"); /* resumes by itself on that day */
}
END_TEST

START_TEST(test_filter_urgency_window)
{
    vac_t v;
    cand_t a;
    vac_init(&v);
    /* 24 months from 2023-06-01 end on 2025-06-01, the decision day. */
    cand_init(&a, "a", 2023, 6, 2);
    ck_assert_str_eq(s_verdict(&v, &a), "eligible");
    a.urgency.day = 1;
    ck_assert_str_eq(s_verdict(&v, &a), "urgency_window");
    a.c.extensions = 1; /* + 6 months */
    ck_assert_str_eq(s_verdict(&v, &a), "eligible");
    a.urgency.year = 2022;
    a.urgency.month = 12;
    ck_assert_str_eq(s_verdict(&v, &a), "urgency_window");
}
END_TEST

START_TEST(test_filter_group_and_care_provider)
{
    vac_t v;
    cand_t a;
    vac_init(&v);
    cand_init(&a, "a", 2025, 1, 1);
    a.c.group = "detentie";
    ck_assert_str_eq(s_verdict(&v, &a), "group");
    a.c.group = "dakloos";
    ck_assert_str_eq(s_verdict(&v, &a), "eligible");
    a.c.care_provider = "dock";
    ck_assert_str_eq(s_verdict(&v, &a), "care_provider");
}
END_TEST

START_TEST(test_filter_distance)
{
    vac_t v;
    cand_t a;
    vac_init(&v); /* Vijfhoek, Haarlem */
    cand_init(&a, "a", 2025, 1, 1);
    /* Vijfhoek - Schalkwijk is about 2.65 km; Vijfhoek - IJmuiden about 7.98 km. */
    double km = wz_match_distance_km(&s_policy, "BU03920101", "BU03921003");
    ck_assert(km > 2.2 && km < 2.8);
    km = wz_match_distance_km(&s_policy, "BU03920101", "BU04530102");
    ck_assert(km > 7.9 && km < 8.0);
    ck_assert(wz_match_distance_km(&s_policy, "BU03920101", "BU99999999") < 0);
    a.c.care_location = "BU03921003";
    a.c.max_distance_km = 3;
    ck_assert_str_eq(s_verdict(&v, &a), "eligible");
    a.c.max_distance_km = 2;
    ck_assert_str_eq(s_verdict(&v, &a), "distance");
    a.c.care_location = "BU04530102"; /* 7.98 km */
    a.c.max_distance_km = 7;
    ck_assert_str_eq(s_verdict(&v, &a), "distance");
    a.c.max_distance_km = 8;
    ck_assert_str_eq(s_verdict(&v, &a), "eligible");
    /* A limit that cannot be measured is not met. */
    a.c.care_location = "";
    ck_assert_str_eq(s_verdict(&v, &a), "distance");
    a.c.max_distance_km = 0;
    ck_assert_str_eq(s_verdict(&v, &a), "eligible");
}
END_TEST

START_TEST(test_ranking_fit_penalty)
{
    vac_t v;
    vac_init(&v); /* 2 rooms, 45 m2 */
    cand_t c[2];
    cand_init(&c[0], "kam-a", 2025, 1, 1);
    cand_init(&c[1], "kam-b", 2025, 1, 1);
    /* Same date and household: the one whose care location is nearer wins. */
    c[0].c.care_location = "BU04530102"; /* IJmuiden, ~8 km */
    c[1].c.care_location = "BU03921003"; /* Schalkwijk, ~2.5 km */
    static const size_t orders[][2] = {{0, 1}, {1, 0}};
    ck_assert_uint_eq(s_pick(&v, c, orders[0], 2), 1);
    ck_assert_uint_eq(s_pick(&v, c, orders[1], 2), 1);
}
END_TEST

START_TEST(test_nominate_mode)
{
    vac_t v;
    vac_init(&v);
    cand_t c[3];
    cand_init(&c[0], "kam-1", 2025, 1, 1);
    cand_init(&c[1], "kam-2", 2025, 2, 1);
    cand_init(&c[2], "kam-3", 2025, 3, 1);
    c[2].c.consent = false;
    WzCandidate *cands[] = {&c[0].c, &c[1].c, &c[2].c};
    wz_match_ctx_t ctx = s_ctx(NULL, NULL);
    wz_match_result_t r;
    size_t chosen = 9;
    /* The nominee is proposed even when another ranks higher; its rank is told. */
    ctx.nominee = "kam-2";
    ck_assert_int_eq(wz_match_pick(&ctx, &v.v, cands, 3, &r, &chosen), 1);
    ck_assert_uint_eq(chosen, 1);
    ck_assert_uint_eq(r.explanation.rank, 2);
    ck_assert_uint_eq(r.explanation.eligible, 2);
    ck_assert_str_eq(r.explanation.mode, "nominate");
    ck_assert_ptr_nonnull(strstr(r.summary, "would rank 2 of 2 eligible"));
    /* An ineligible nominee is refused with the rule it fails. */
    ctx.nominee = "kam-3";
    ck_assert_int_eq(wz_match_pick(&ctx, &v.v, cands, 3, &r, &chosen), 0);
    ck_assert_str_eq(wz_match_rule_name((size_t)r.nominee_rule), "consent");
    ck_assert_str_eq(r.summary, "nominee kam-3 may not be proposed: rule consent");
    ctx.nominee = "kam-9";
    ck_assert_int_eq(wz_match_pick(&ctx, &v.v, cands, 3, &r, &chosen), 0);
    ck_assert_ptr_nonnull(strstr(r.summary, "no such candidate"));
}
END_TEST

int main(void)
{
    TCase *filters = wz_test_case(
        "filters", 10,
        (const TTest *const[]){
            test_single_eligible_candidate, test_filter_status, test_filter_consent,
            test_filter_already_proposed, test_filter_municipality, test_filter_neighbourhood,
            test_filter_household, test_filter_rent, test_rent_year_of_availability,
            test_filter_accessibility, test_first_failing_rule_counts, test_vacancy_scheme_rule,
            test_contingent_rule, test_spread_rule, test_filter_parked, test_filter_urgency_window,
            test_filter_group_and_care_provider, test_filter_distance, NULL});
    TCase *ranking =
        wz_test_case("ranking", 10,
                     (const TTest *const[]){test_ranking_urgency_first, test_ranking_ties,
                                            test_explanation_counts, test_empty_population,
                                            test_surplus_reported, test_explanation_packs,
                                            test_ranking_fit_penalty, test_nominate_mode, NULL});
    return wz_test_run("wz_match", (TCase *const[]){filters, ranking, NULL});
}
