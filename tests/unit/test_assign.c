/* Unit tests of wz_assign: the exact assignment against brute force, the
 * case greedy gets wrong, and on generated batches under the real rules
 * (wz_match_check) exact versus one-by-one greedy and scarcest-first: never
 * fewer people housed, and the difference reported as a figure. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wz_assign.h"
#include "wz_calendar.h"
#include "wz_match.h"
#include "wz_testmain.h"
#include "wz_util.h"

static uint64_t s_rng = 88172645463325252ULL;

static uint32_t s_rand(void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return (uint32_t)(s_rng >> 16);
}

static int s_between(int lo, int hi)
{
    return lo + (int)(s_rand() % (uint32_t)(hi - lo + 1));
}

START_TEST(test_greedy_trap)
{
    /* v0 likes c0 best but could take c1; v1 can only take c0. */
    const double cost[] = {
        1, 2, /* v0 */
        1, -1, /* v1 */
    };
    int out[2];
    ck_assert_int_eq(wz_assign_greedy(cost, 2, 2, out), 1);
    ck_assert_int_eq(out[0], 0);
    ck_assert_int_eq(out[1], -1);
    ck_assert_int_eq(wz_assign_scarcest_first(cost, 2, 2, out), 2);
    ck_assert_int_eq(wz_assign_exact(cost, 2, 2, out), 2);
    ck_assert_int_eq(out[0], 1);
    ck_assert_int_eq(out[1], 0);
    /* Nobody eligible, no vacancies, no candidates. */
    const double none[] = {-1, -1, -1, -1};
    ck_assert_int_eq(wz_assign_exact(none, 2, 2, out), 0);
    ck_assert_int_eq(out[0], -1);
    ck_assert_int_eq(out[1], -1);
    ck_assert_int_eq(wz_assign_exact(none, 0, 2, out), 0);
    ck_assert_int_eq(wz_assign_exact(none, 2, 0, out), 0);
}
END_TEST

/* Brute force: the most pairs, then the lowest cost. */
static void s_brute(const double *cost, size_t nv, size_t nc, size_t r, bool *taken, int housed,
                    double total, int *best_housed, double *best_total)
{
    if (r == nv) {
        if (housed > *best_housed || (housed == *best_housed && total < *best_total - 1e-9)) {
            *best_housed = housed;
            *best_total = total;
        }
        return;
    }
    s_brute(cost, nv, nc, r + 1, taken, housed, total, best_housed, best_total);
    for (size_t c = 0; c < nc; c++) {
        double x = cost[r * nc + c];
        if (x < 0 || taken[c])
            continue;
        taken[c] = true;
        s_brute(cost, nv, nc, r + 1, taken, housed + 1, total + x, best_housed, best_total);
        taken[c] = false;
    }
}

START_TEST(test_exact_is_optimal)
{
    for (int round = 0; round < 2000; round++) {
        size_t nv = (size_t)s_between(1, 5), nc = (size_t)s_between(1, 6);
        double cost[30];
        for (size_t i = 0; i < nv * nc; i++)
            cost[i] = s_between(0, 99) < 45 ? s_between(0, 20) : -1;
        int out[5];
        int housed = wz_assign_exact(cost, nv, nc, out);
        bool taken[6] = {false};
        int best_housed = 0;
        double best_total = 1e18;
        s_brute(cost, nv, nc, 0, taken, 0, 0, &best_housed, &best_total);
        ck_assert_int_eq(housed, best_housed);
        if (best_housed > 0)
            ck_assert_msg(wz_assign_cost(cost, nv, nc, out) <= best_total + 1e-9,
                          "round %d: cost %.1f, optimum %.1f", round,
                          wz_assign_cost(cost, nv, nc, out), best_total);
        /* A valid assignment: eligible pairs, nobody twice. */
        bool used[6] = {false};
        for (size_t r = 0; r < nv; r++) {
            if (out[r] < 0)
                continue;
            ck_assert(cost[r * nc + (size_t)out[r]] >= 0);
            ck_assert(!used[out[r]]);
            used[out[r]] = true;
        }
        int g[5], s[5];
        ck_assert_int_le(wz_assign_greedy(cost, nv, nc, g), housed);
        ck_assert_int_le(wz_assign_scarcest_first(cost, nv, nc, s), housed);
    }
}
END_TEST

/* --- generated batches under the real rules ---------------------------------- */

static wz_neighbourhood_t s_nb[] = {
    {"BU03920101", "Vijfhoek", 52.3826, 4.6336},
    {"BU03921003", "Schalkwijk", 52.3652, 4.6603},
    {"BU04530102", "IJmuiden-Zeewijk", 52.4522, 4.6049},
};
static wz_municipality_t s_mun[] = {{"haarlem", "Haarlem", "GM0392", s_nb, 2},
                                    {"velsen", "Velsen", "GM0453", s_nb + 2, 1}};
static wz_region_t s_region = {.id = "zkij", .municipalities = s_mun, .n_municipalities = 2};
static wz_rent_limits_t s_limits[] = {{2025, 68296, 73193, 47720, 90007}};
static wz_occupancy_t s_occ[] = {{1, 1, 18}, {2, 2, 30}, {3, 3, 45}, {4, 3, 55}};
static char s_groups[][WZ_ID_MAX] = {"beschermd_wonen"};
static char s_corps[][WZ_ID_MAX] = {"pre-wonen"};
static char s_cps[][WZ_ID_MAX] = {"ribw-kam"};
static wz_scheme_t s_scheme = {.id = "s",
                               .region = "zkij",
                               .from_day = 0,
                               .to_day = 100000,
                               .groups = s_groups,
                               .n_groups = 1,
                               .corporations = s_corps,
                               .n_corporations = 1,
                               .care_providers = s_cps,
                               .n_care_providers = 1,
                               .fit_room = 10,
                               .fit_area = 0.5,
                               .fit_km = 1};
static wz_policy_t s_policy = {.version = "assign",
                               .regions = &s_region,
                               .n_regions = 1,
                               .rent_limits = s_limits,
                               .n_rent_limits = 1,
                               .occupancy = s_occ,
                               .n_occupancy = 4,
                               .schemes = &s_scheme,
                               .n_schemes = 1};

#define MAX_C 60
#define MAX_V 20

typedef struct {
    WzCandidate c;
    WzHousehold hh;
    WzDate urgency;
    char id[8];
    char *accept[2];
} gcand_t;

typedef struct {
    WzVacancy v;
    WzDate from;
    char id[8];
} gvac_t;

static void s_gen_cand(gcand_t *t, int i)
{
    WzCandidate c = WOONZORG__V1__CANDIDATE__INIT;
    WzHousehold hh = WOONZORG__V1__HOUSEHOLD__INIT;
    WzDate d = WOONZORG__V1__DATE__INIT;
    t->c = c;
    t->hh = hh;
    t->urgency = d;
    snprintf(t->id, sizeof t->id, "k%03d", i);
    t->c.id = t->id;
    t->c.care_provider = "ribw-kam";
    t->c.group = "beschermd_wonen";
    t->c.state = WOONZORG__V1__CANDIDATE_STATE__CANDIDATE_STATE_ACTIVE;
    t->c.consent = true;
    t->urgency.year = 2025;
    t->urgency.month = s_between(1, 5);
    t->urgency.day = s_between(1, 28);
    t->c.urgency_date = &t->urgency;
    t->hh.adults = (uint32_t)s_between(1, 2);
    t->hh.children = (uint32_t)(s_between(0, 9) < 3 ? s_between(1, 2) : 0);
    t->c.household = &t->hh;
    t->c.age_band = s_between(0, 9) < 2 ? WOONZORG__V1__AGE_BAND__AGE_BAND_UNDER_23
                                        : WOONZORG__V1__AGE_BAND__AGE_BAND_ADULT;
    t->c.income_class = WOONZORG__V1__INCOME_CLASS__INCOME_CLASS_BELOW_LIMIT;
    t->c.access_needs = s_between(0, 9) < 2 ? WOONZORG__V1__ACCESS__ACCESS_GROUND_FLOOR : 0;
    int pick = s_between(0, 2);
    t->accept[0] = pick == 1 ? "velsen" : "haarlem";
    t->accept[1] = "velsen";
    t->c.acceptable_municipalities = t->accept;
    t->c.n_acceptable_municipalities = pick == 0 ? 0 : pick == 1 ? 1 : 2;
}

static void s_gen_vac(gvac_t *t, int i)
{
    WzVacancy v = WOONZORG__V1__VACANCY__INIT;
    WzDate d = WOONZORG__V1__DATE__INIT;
    t->v = v;
    t->from = d;
    t->from.year = 2025;
    t->from.month = 9;
    t->from.day = 1;
    snprintf(t->id, sizeof t->id, "v%03d", i);
    int m = s_between(0, 2);
    t->v.id = t->id;
    t->v.corporation = "pre-wonen";
    t->v.municipality = m == 2 ? "velsen" : "haarlem";
    t->v.neighbourhood = (char *)s_nb[m].code;
    t->v.rooms = (uint32_t)s_between(1, 4);
    t->v.floor_area_m2 = (uint32_t)s_between(20, 80);
    t->v.rent_cents = s_between(42000, 76000);
    t->v.access = (uint32_t)(s_between(0, 9) < 4 ? WOONZORG__V1__ACCESS__ACCESS_GROUND_FLOOR : 0);
    t->v.available_from = &t->from;
}

static int s_cmp_rank(const void *a, const void *b)
{
    const gcand_t *x = *(gcand_t *const *)a, *y = *(gcand_t *const *)b;
    int d = wz_date_cmp(x->c.urgency_date, y->c.urgency_date);
    return d ? d : strcmp(x->id, y->id);
}

START_TEST(test_batches_exact_vs_greedy)
{
    static gcand_t cands[MAX_C];
    static gvac_t vacs[MAX_V];
    static double cost[MAX_V * MAX_C];
    long housed_greedy = 0, housed_scarce = 0, housed_exact = 0, vacancies = 0;
    int batches = 400, better = 0;
    wz_match_ctx_t ctx = {.policy = &s_policy,
                          .scheme = &s_scheme,
                          .today = wz_day_from_civil(2025, 6, 1),
                          .contingent_target = -1};
    for (int b = 0; b < batches; b++) {
        int nc = s_between(10, MAX_C), nv = s_between(3, MAX_V);
        gcand_t *order[MAX_C];
        for (int i = 0; i < nc; i++) {
            s_gen_cand(&cands[i], i);
            order[i] = &cands[i];
        }
        /* The ranked order: urgency first; the cost of a pair is the
         * candidate's place in it, then its fit penalty, so greedy per vacancy
         * takes exactly whom matching one by one would propose. */
        qsort(order, (size_t)nc, sizeof *order, s_cmp_rank);
        int place[MAX_C];
        for (int i = 0; i < nc; i++)
            place[order[i] - cands] = i;
        for (int j = 0; j < nv; j++) {
            s_gen_vac(&vacs[j], j);
            for (int i = 0; i < nc; i++) {
                double penalty = 0;
                int rule = wz_match_check(&ctx, &vacs[j].v, &cands[i].c, &penalty);
                cost[j * nc + i] = rule < 0 ? place[i] * 1000.0 + penalty : -1;
            }
        }
        int g[MAX_V], s[MAX_V], e[MAX_V];
        int hg = wz_assign_greedy(cost, (size_t)nv, (size_t)nc, g);
        int hs = wz_assign_scarcest_first(cost, (size_t)nv, (size_t)nc, s);
        int he = wz_assign_exact(cost, (size_t)nv, (size_t)nc, e);
        ck_assert_int_ge(he, hg); /* never fewer people housed */
        ck_assert_int_ge(he, hs);
        better += he > hg;
        housed_greedy += hg;
        housed_scarce += hs;
        housed_exact += he;
        vacancies += nv;
    }
    ck_assert_int_gt(better, 0); /* the generator makes the difference visible */
    fprintf(stderr,
            "batch assignment, %d batches, %ld vacancies: one by one (greedy) houses %ld, "
            "scarcest first %ld, exact (Hungarian) %ld: +%.1f%% over greedy, better in %d "
            "batches\n",
            batches, vacancies, housed_greedy, housed_scarce, housed_exact,
            100.0 * (double)(housed_exact - housed_greedy) / (double)housed_greedy, better);
}
END_TEST

int main(void)
{
    TCase *tc = wz_test_case("assign", 60,
                             (const TTest *const[]){test_greedy_trap, test_exact_is_optimal,
                                                    test_batches_exact_vs_greedy, NULL});
    return wz_test_run("wz_assign", (TCase *const[]){tc, NULL});
}
