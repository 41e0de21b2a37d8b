/* Property test of wz_match: randomised policies, schemes and populations,
 * and a stream of vacancies matched one after another with declines, offers
 * and lets, each decision checked by an independent, deliberately simple
 * checker written from docs/matching.md (its own dates, distances, rent and
 * occupancy lookups). Properties:
 *   - no ineligible candidate is ever proposed;
 *   - when nobody is proposed, nobody was eligible (or the vacancy may not be
 *     offered at all);
 *   - the ranked order is respected (nobody eligible ranks before the chosen);
 *   - no candidate ever has two open proposals;
 *   - contingents (without over-delivery) and spread limits are never exceeded;
 *   - the explanation adds up: removed by every rule + eligible = considered.
 * And the candidate index (wz_cindex + wz_match_decide) against the full
 * scan (wz_match_pick) on every decision: the same candidate chosen (or
 * nobody), the same nominee verdict and rank, counts that add up
 * (removed + eligible + not examined = considered), also with a candidate
 * changed "in the transaction" (hidden in the index, present as an extra).
 * The seed is fixed (reproducible); WZ_PROPERTY_SEED and WZ_PROPERTY_ROUNDS
 * override it for longer runs. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stddef.h>

#include "wz_calendar.h"
#include "wz_cindex.h"
#include "wz_codec.h"
#include "wz_match.h"
#include "wz_testmain.h"

#define N_MUN 3
#define N_NB 3
#define N_CAND 40
#define N_VAC 30
#define N_CP 3
#define N_CORP 2
#define N_GROUPS 4
#define N_COMPLEX 4

static uint64_t s_rng;

static uint32_t s_rand(void)
{
    /* xorshift64*: small, good enough, and the same on every platform */
    s_rng ^= s_rng >> 12;
    s_rng ^= s_rng << 25;
    s_rng ^= s_rng >> 27;
    return (uint32_t)((s_rng * 2685821657736338717ULL) >> 32);
}

static int s_between(int lo, int hi) /* inclusive */
{
    return lo + (int)(s_rand() % (uint32_t)(hi - lo + 1));
}

static bool s_chance(int percent)
{
    return (int)(s_rand() % 100) < percent;
}

/* --- the world of one round ------------------------------------------------ */

static const char *const s_mun_ids[N_MUN] = {"m0", "m1", "m2"};
static const char *const s_nb_codes[N_MUN][N_NB] = {{"BU00010001", "BU00010002", "BU00010003"},
                                                    {"BU00020001", "BU00020002", "BU00020003"},
                                                    {"BU00030001", "BU00030002", "BU00030003"}};
static const char *const s_cp_ids[N_CP] = {"cp0", "cp1", "cp2"};
static const char *const s_corp_ids[N_CORP] = {"corp0", "corp1"};
static const char *const s_group_ids[N_GROUPS] = {"g0", "g1", "g2", "g3"};
static const char *const s_complex_ids[N_COMPLEX] = {"c0", "c1", "c2", "c3"};
static const char *const s_stair_ids[2] = {"s0", "s1"};

typedef struct {
    wz_neighbourhood_t nb[N_MUN][N_NB];
    wz_municipality_t mun[N_MUN];
    wz_region_t region;
    wz_rent_limits_t limits[2];
    wz_occupancy_t occ[3];
    char groups[N_GROUPS][WZ_ID_MAX];
    char scheme_groups[N_GROUPS][WZ_ID_MAX];
    char scheme_corps[N_CORP][WZ_ID_MAX];
    char scheme_cps[N_CP][WZ_ID_MAX];
    wz_contingent_t contingents[N_MUN * N_CORP];
    wz_scheme_t scheme;
    wz_policy_t policy;
    int target[N_MUN][N_CORP]; /* the checker's own copy of the targets */
} world_t;

typedef struct {
    WzCandidate c;
    WzHousehold hh;
    WzDate urgency, parked;
    char id[16];
    char *acceptable[N_MUN];
    char *excluded[N_MUN * N_NB];
    int open; /* open proposals, counted by the simulation */
    wz_cindex_entry_t entry; /* in the candidate index */
} cand_t;

typedef struct {
    WzVacancy v;
    WzDate from;
    char id[16];
    int mun, nb, corp, complex, stair; /* stair -1: none */
} vac_t;

/* The decision day: 2025-06-01. */
static const int TODAY_Y = 2025, TODAY_M = 6, TODAY_D = 1;

static void s_world(world_t *w)
{
    memset(w, 0, sizeof *w);
    for (int m = 0; m < N_MUN; m++) {
        for (int n = 0; n < N_NB; n++) {
            wz_neighbourhood_t *nb = &w->nb[m][n];
            snprintf(nb->code, sizeof nb->code, "%s", s_nb_codes[m][n]);
            snprintf(nb->name, sizeof nb->name, "nb%d%d", m, n);
            nb->lat = 52.0 + s_between(0, 600) / 1000.0;
            nb->lon = 4.5 + s_between(0, 600) / 1000.0;
        }
        wz_municipality_t *mu = &w->mun[m];
        snprintf(mu->id, sizeof mu->id, "%s", s_mun_ids[m]);
        snprintf(mu->cbs, sizeof mu->cbs, "GM000%d", m + 1);
        mu->neighbourhoods = w->nb[m];
        mu->n_neighbourhoods = N_NB;
    }
    snprintf(w->region.id, sizeof w->region.id, "r");
    w->region.municipalities = w->mun;
    w->region.n_municipalities = N_MUN;
    w->region.answer_working_days = 5;
    /* Rent limits in cents, nested as the law nests them; 2024 lower. */
    int base = s_between(40000, 60000);
    w->limits[0] = (wz_rent_limits_t){2024, base, base + 4000, base - 15000, base + 20000};
    w->limits[1] = (wz_rent_limits_t){2025, base + 3000, base + 7000, base - 12000, base + 23000};
    w->occ[0] = (wz_occupancy_t){1, 1, s_between(15, 25)};
    w->occ[1] = (wz_occupancy_t){2, s_between(1, 2), s_between(25, 40)};
    w->occ[2] = (wz_occupancy_t){3, s_between(2, 3), s_between(40, 55)};
    for (int g = 0; g < N_GROUPS; g++)
        snprintf(w->groups[g], WZ_ID_MAX, "%s", s_group_ids[g]);

    wz_scheme_t *s = &w->scheme;
    snprintf(s->id, sizeof s->id, "scheme");
    snprintf(s->region, sizeof s->region, "r");
    /* In force on the decision day, or (rarely) not. */
    int64_t today = wz_day_from_civil(TODAY_Y, TODAY_M, TODAY_D);
    s->from_day = today - s_between(0, 400) + (s_chance(5) ? 500 : 0);
    s->to_day = today + s_between(0, 400);
    for (int g = 0; g < N_GROUPS; g++)
        if (g == 0 || s_chance(60))
            snprintf(w->scheme_groups[s->n_groups++], WZ_ID_MAX, "%s", s_group_ids[g]);
    s->groups = w->scheme_groups;
    for (int k = 0; k < N_CORP; k++)
        if (k == 0 || s_chance(70))
            snprintf(w->scheme_corps[s->n_corporations++], WZ_ID_MAX, "%s", s_corp_ids[k]);
    s->corporations = w->scheme_corps;
    for (int k = 0; k < N_CP; k++)
        if (k == 0 || s_chance(70))
            snprintf(w->scheme_cps[s->n_care_providers++], WZ_ID_MAX, "%s", s_cp_ids[k]);
    s->care_providers = w->scheme_cps;
    for (int m = 0; m < N_MUN; m++)
        for (int k = 0; k < N_CORP; k++) {
            w->target[m][k] = s_chance(15) ? -1 : s_between(0, 10);
            if (w->target[m][k] < 0)
                continue;
            wz_contingent_t *ct = &w->contingents[s->n_contingents++];
            snprintf(ct->municipality, sizeof ct->municipality, "%s", s_mun_ids[m]);
            snprintf(ct->corporation, sizeof ct->corporation, "%s", s_corp_ids[k]);
            ct->year = TODAY_Y;
            ct->target = w->target[m][k];
        }
    s->contingents = w->contingents;
    s->over_delivery = s_chance(20);
    s->spread_years = 5;
    s->max_per_complex = s_between(0, 4);
    s->max_per_stairwell = s_between(0, 2);
    s->max_per_neighbourhood = s_between(0, 8);
    s->urgency_months = s_chance(50) ? 0 : s_between(3, 12);
    s->extension_months = s->urgency_months ? s_between(0, 6) : 0;
    s->fit_room = s_between(0, 20);
    s->fit_area = s_between(0, 10) / 10.0;
    s->fit_km = s_between(0, 30) / 10.0;

    snprintf(w->policy.version, sizeof w->policy.version, "prop");
    w->policy.regions = &w->region;
    w->policy.n_regions = 1;
    w->policy.groups = w->groups;
    w->policy.n_groups = N_GROUPS;
    w->policy.rent_limits = w->limits;
    w->policy.n_rent_limits = 2;
    w->policy.occupancy = w->occ;
    w->policy.n_occupancy = 3;
    w->policy.schemes = s;
    w->policy.n_schemes = 1;
}

static void s_candidate(cand_t *t, int i)
{
    memset(t, 0, sizeof *t);
    WzCandidate c = WOONZORG__V1__CANDIDATE__INIT;
    WzHousehold hh = WOONZORG__V1__HOUSEHOLD__INIT;
    WzDate d = WOONZORG__V1__DATE__INIT;
    t->c = c;
    t->hh = hh;
    t->urgency = d;
    t->parked = d;
    snprintf(t->id, sizeof t->id, "k%03d", i);
    t->c.id = t->id;
    t->c.care_provider = (char *)s_cp_ids[s_between(0, N_CP - 1)];
    t->c.region = "r";
    t->c.municipality = (char *)s_mun_ids[s_between(0, N_MUN - 1)];
    t->c.group = (char *)s_group_ids[s_between(0, N_GROUPS - 1)];
    t->hh.adults = (uint32_t)s_between(1, 2);
    t->hh.children = (uint32_t)(s_chance(30) ? s_between(1, 3) : 0);
    t->c.household = &t->hh;
    t->c.age_band = s_chance(20)   ? WOONZORG__V1__AGE_BAND__AGE_BAND_UNDER_23
                    : s_chance(10) ? WOONZORG__V1__AGE_BAND__AGE_BAND_PENSION
                                   : WOONZORG__V1__AGE_BAND__AGE_BAND_ADULT;
    t->c.income_class = s_chance(80) ? WOONZORG__V1__INCOME_CLASS__INCOME_CLASS_BELOW_LIMIT
                                     : WOONZORG__V1__INCOME_CLASS__INCOME_CLASS_ABOVE_LIMIT;
    t->c.access_needs = s_chance(25) ? (uint32_t)s_between(1, 15) : 0;
    t->c.consent = !s_chance(10);
    t->c.state = s_chance(85) ? WOONZORG__V1__CANDIDATE_STATE__CANDIDATE_STATE_ACTIVE
                              : (Woonzorg__V1__CandidateState)s_between(1, 6);
    if (!s_chance(5)) {
        /* Urgency days collide often, so the fit penalty and the id decide too. */
        t->urgency.year = s_between(2023, 2025);
        t->urgency.month = s_between(1, t->urgency.year == 2025 ? 5 : 12);
        t->urgency.day = s_between(1, 28);
        t->c.urgency_date = &t->urgency;
    }
    t->c.extensions = s_chance(20) ? 1 : 0;
    if (s_chance(15)) {
        t->parked.year = 2025;
        t->parked.month = s_between(5, 7);
        t->parked.day = s_between(1, 28);
        t->c.parked_until = &t->parked;
    }
    for (int m = 0; m < N_MUN; m++)
        if (s_chance(40))
            t->acceptable[t->c.n_acceptable_municipalities++] = (char *)s_mun_ids[m];
    t->c.acceptable_municipalities = t->acceptable;
    for (int m = 0; m < N_MUN; m++)
        for (int n = 0; n < N_NB; n++)
            if (s_chance(8))
                t->excluded[t->c.n_excluded_neighbourhoods++] = (char *)s_nb_codes[m][n];
    t->c.excluded_neighbourhoods = t->excluded;
    if (s_chance(40)) {
        int m = s_between(0, N_MUN - 1);
        t->c.care_location = (char *)s_nb_codes[m][s_between(0, N_NB - 1)];
        t->c.max_distance_km = s_chance(50) ? (uint32_t)s_between(1, 60) : 0;
    } else if (s_chance(5)) {
        t->c.max_distance_km = (uint32_t)s_between(1, 60); /* unmeasurable: never met */
    }
}

static void s_vacancy(vac_t *t, int i)
{
    memset(t, 0, sizeof *t);
    WzVacancy v = WOONZORG__V1__VACANCY__INIT;
    WzDate d = WOONZORG__V1__DATE__INIT;
    t->v = v;
    t->from = d;
    snprintf(t->id, sizeof t->id, "v%03d", i);
    t->mun = s_between(0, N_MUN - 1);
    t->nb = s_between(0, N_NB - 1);
    t->corp = s_between(0, N_CORP - 1);
    t->complex = s_between(0, N_COMPLEX - 1);
    t->stair = s_chance(50) ? s_between(0, 1) : -1;
    t->v.id = t->id;
    t->v.corporation = (char *)s_corp_ids[t->corp];
    t->v.region = "r";
    t->v.municipality = (char *)s_mun_ids[t->mun];
    t->v.neighbourhood = (char *)s_nb_codes[t->mun][t->nb];
    t->v.complex = (char *)s_complex_ids[t->complex];
    t->v.stairwell = t->stair >= 0 ? (char *)s_stair_ids[t->stair] : "";
    t->v.rooms = (uint32_t)s_between(1, 4);
    t->v.floor_area_m2 = (uint32_t)s_between(20, 90);
    t->v.rent_cents = s_between(30000, 90000);
    t->v.access = (uint32_t)s_between(0, 15);
    t->from.year = s_chance(20) ? 2024 : 2025;
    t->from.month = s_between(1, 12);
    t->from.day = s_between(1, 28);
    t->v.available_from = &t->from;
}

/* --- the independent checker ------------------------------------------------ */

typedef struct {
    int y, m, d;
} ymd_t;

static int s_ymd_cmp(ymd_t a, ymd_t b)
{
    if (a.y != b.y)
        return a.y < b.y ? -1 : 1;
    if (a.m != b.m)
        return a.m < b.m ? -1 : 1;
    return a.d < b.d ? -1 : a.d > b.d;
}

static ymd_t s_plus_months(ymd_t a, int months)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int total = a.y * 12 + (a.m - 1) + months;
    ymd_t r = {total / 12, total % 12 + 1, a.d};
    int last = mdays[r.m - 1] + (r.m == 2 && r.y % 4 == 0 && (r.y % 100 != 0 || r.y % 400 == 0));
    if (r.d > last)
        r.d = last;
    return r;
}

static const wz_neighbourhood_t *s_nb_of(const world_t *w, const char *code)
{
    for (int m = 0; code && m < N_MUN; m++)
        for (int n = 0; n < N_NB; n++)
            if (strcmp(w->nb[m][n].code, code) == 0)
                return &w->nb[m][n];
    return NULL;
}

static double s_km(const world_t *w, const char *a, const char *b)
{
    const wz_neighbourhood_t *p = s_nb_of(w, a), *q = s_nb_of(w, b);
    if (!p || !q)
        return -1;
    double r = 3.14159265358979323846 / 180;
    double x = sin((q->lat - p->lat) * r / 2), y = sin((q->lon - p->lon) * r / 2);
    double h = x * x + cos(p->lat * r) * cos(q->lat * r) * y * y;
    return 2 * 6371.0 * asin(sqrt(h));
}

typedef struct {
    int placed_complex[N_CORP][N_COMPLEX];
    int placed_stair[N_CORP][N_COMPLEX][2];
    int placed_nb[N_MUN][N_NB];
    int used[N_MUN][N_CORP];
} sim_t;

/* May the vacancy be offered at all? */
static bool s_vacancy_ok(const world_t *w, const sim_t *sim, const vac_t *v)
{
    const wz_scheme_t *s = &w->scheme;
    int64_t today = wz_day_from_civil(TODAY_Y, TODAY_M, TODAY_D);
    if (today < s->from_day || today > s->to_day)
        return false;
    bool corp_in = false;
    for (size_t k = 0; k < s->n_corporations; k++)
        corp_in |= strcmp(s->corporations[k], v->v.corporation) == 0;
    if (!corp_in)
        return false;
    int target = w->target[v->mun][v->corp];
    if (!s->over_delivery && target >= 0 && sim->used[v->mun][v->corp] >= target)
        return false;
    if (s->max_per_complex && sim->placed_complex[v->corp][v->complex] >= s->max_per_complex)
        return false;
    if (s->max_per_stairwell && v->stair >= 0 &&
        sim->placed_stair[v->corp][v->complex][v->stair] >= s->max_per_stairwell)
        return false;
    if (s->max_per_neighbourhood && sim->placed_nb[v->mun][v->nb] >= s->max_per_neighbourhood)
        return false;
    return true;
}

/* Is candidate c eligible for v (tried: proposed for v before)? *penalty set if so. */
static bool s_eligible(const world_t *w, const vac_t *v, const cand_t *t, bool tried,
                       double *penalty)
{
    const wz_scheme_t *s = &w->scheme;
    const WzCandidate *c = &t->c;
    ymd_t today = {TODAY_Y, TODAY_M, TODAY_D};
    if (c->state != WOONZORG__V1__CANDIDATE_STATE__CANDIDATE_STATE_ACTIVE || !c->urgency_date ||
        !c->consent || tried || t->open)
        return false;
    ymd_t urg = {c->urgency_date->year, c->urgency_date->month, c->urgency_date->day};
    if (c->parked_until) {
        ymd_t until = {c->parked_until->year, c->parked_until->month, c->parked_until->day};
        if (s_ymd_cmp(today, until) < 0)
            return false;
    }
    if (s->urgency_months) {
        ymd_t end = s_plus_months(urg, s->urgency_months + (int)c->extensions * s->extension_months);
        if (s_ymd_cmp(today, end) >= 0)
            return false;
    }
    bool g = false, cp = false, mun = c->n_acceptable_municipalities == 0;
    for (size_t i = 0; i < s->n_groups; i++)
        g |= strcmp(s->groups[i], c->group) == 0;
    for (size_t i = 0; i < s->n_care_providers; i++)
        cp |= strcmp(s->care_providers[i], c->care_provider) == 0;
    for (size_t i = 0; i < c->n_acceptable_municipalities; i++)
        mun |= strcmp(c->acceptable_municipalities[i], v->v.municipality) == 0;
    if (!g || !cp || !mun)
        return false;
    for (size_t i = 0; i < c->n_excluded_neighbourhoods; i++)
        if (strcmp(c->excluded_neighbourhoods[i], v->v.neighbourhood) == 0)
            return false;
    double km = s_km(w, c->care_location, v->v.neighbourhood);
    if (c->max_distance_km && (km < 0 || km > c->max_distance_km))
        return false;
    int persons = (int)(c->household->adults + c->household->children);
    const wz_occupancy_t *o = &w->occ[persons >= 3 ? 2 : persons - 1];
    if ((int)v->v.rooms < o->min_rooms || (int)v->v.floor_area_m2 < o->min_area_m2)
        return false;
    const wz_rent_limits_t *l = &w->limits[v->from.year >= 2025 ? 1 : 0];
    int64_t max = c->age_band == WOONZORG__V1__AGE_BAND__AGE_BAND_UNDER_23 ? l->max_rent_under_23
                  : c->income_class != WOONZORG__V1__INCOME_CLASS__INCOME_CLASS_BELOW_LIMIT
                      ? l->social_rent_limit
                  : persons <= 2 ? l->max_rent_1_2
                                 : l->max_rent_3_plus;
    if (v->v.rent_cents > max)
        return false;
    if (c->access_needs & ~v->v.access)
        return false;
    *penalty = s->fit_room * ((int)v->v.rooms - o->min_rooms) +
               s->fit_area * ((int)v->v.floor_area_m2 - o->min_area_m2) +
               (km > 0 ? s->fit_km * km : 0);
    return true;
}

/* a strictly before b by the ranking, with a tolerance for the rounding of
 * the penalty to 1/1000 (near-ties may go either way). */
static bool s_clearly_before(const cand_t *a, double pa, const cand_t *b, double pb)
{
    ymd_t ua = {a->urgency.year, a->urgency.month, a->urgency.day};
    ymd_t ub = {b->urgency.year, b->urgency.month, b->urgency.day};
    int by_date = s_ymd_cmp(ua, ub);
    if (by_date)
        return by_date < 0;
    if (fabs(pa - pb) > 0.002)
        return pa < pb;
    if (fabs(pa - pb) > 0.0)
        return false; /* near-tie: not decidable independently of the rounding */
    return strcmp(a->id, b->id) < 0;
}

/* --- the simulation ---------------------------------------------------------- */

typedef struct {
    const vac_t *v;
    char tried[N_CAND];
} tried_t;

static bool s_tried(void *arg, const char *id)
{
    const tried_t *t = arg;
    return t->tried[atoi(id + 1)] != 0;
}

static void s_place(sim_t *sim, const vac_t *v, int delta)
{
    sim->placed_complex[v->corp][v->complex] += delta;
    if (v->stair >= 0)
        sim->placed_stair[v->corp][v->complex][v->stair] += delta;
    sim->placed_nb[v->mun][v->nb] += delta;
    sim->used[v->mun][v->corp] += delta;
}

static void s_check_limits(const world_t *w, const sim_t *sim, unsigned round)
{
    const wz_scheme_t *s = &w->scheme;
    for (int k = 0; k < N_CORP; k++)
        for (int x = 0; x < N_COMPLEX; x++) {
            ck_assert_msg(!s->max_per_complex || sim->placed_complex[k][x] <= s->max_per_complex,
                          "round %u: complex over its limit", round);
            for (int st = 0; st < 2; st++)
                ck_assert_msg(!s->max_per_stairwell ||
                                  sim->placed_stair[k][x][st] <= s->max_per_stairwell,
                              "round %u: stairwell over its limit", round);
        }
    for (int m = 0; m < N_MUN; m++) {
        for (int n = 0; n < N_NB; n++)
            ck_assert_msg(!s->max_per_neighbourhood ||
                              sim->placed_nb[m][n] <= s->max_per_neighbourhood,
                          "round %u: neighbourhood over its limit", round);
        for (int k = 0; k < N_CORP; k++)
            ck_assert_msg(s->over_delivery || w->target[m][k] < 0 ||
                              sim->used[m][k] <= w->target[m][k],
                          "round %u: contingent %d/%d over its target", round, m, k);
    }
}

static unsigned s_rounds(void)
{
    const char *env = getenv("WZ_PROPERTY_ROUNDS");
    return env && atoi(env) > 0 ? (unsigned)atoi(env) : 300;
}

/* The index opens a candidate as the service does: a copy it frees. */
static WzCandidate *s_open(void *arg, const wz_cindex_entry_t *e)
{
    (void)arg;
    const cand_t *t = (const cand_t *)((const char *)e - offsetof(cand_t, entry));
    return (WzCandidate *)wz_codec_clone(&t->c.base);
}

/* The index's decision against the full scan's, for the candidates ptrs
 * (what the index holds) with candidate k replaced by alt when alt is not
 * NULL; nominee as in ctx. */
static void s_compare_index(wz_cindex_t *idx, const wz_match_ctx_t *ctx, const vac_t *v,
                            cand_t *cands, WzCandidate **ptrs, int k, WzCandidate *alt,
                            unsigned round, int j)
{
    WzCandidate *seen[N_CAND];
    uint32_t inactive = 0;
    const WzCandidate *nominee = NULL;
    for (int i = 0; i < N_CAND; i++) {
        seen[i] = alt && i == k ? alt : ptrs[i];
        inactive += !wz_cindex_indexable(seen[i]);
        if (ctx->nominee && strcmp(seen[i]->id, ctx->nominee) == 0)
            nominee = seen[i];
    }
    wz_match_ctx_t full = *ctx, ix = *ctx;
    full.inactive = 0;
    ix.inactive = inactive;
    wz_match_result_t want, got;
    size_t want_i = N_CAND, got_i = N_CAND;
    int want_rc = wz_match_pick(&full, &v->v, seen, N_CAND, &want, &want_i);

    const wz_cindex_entry_t *hidden = alt && cands[k].entry.bucket ? &cands[k].entry : NULL;
    ck_assert(!!cands[k].entry.bucket == wz_cindex_indexable(ptrs[k]));
    WzCandidate *extra = alt && wz_cindex_indexable(alt) ? alt : NULL;
    wz_cindex_walk_t walk;
    ck_assert_int_eq(wz_cindex_walk(idx, &ix, &v->v, &hidden, hidden ? 1 : 0, &extra,
                                    extra ? 1 : 0, nominee, &walk),
                     0);
    int got_rc = wz_match_decide(&ix, &v->v, walk.buckets, walk.n_buckets, walk.walked,
                                 walk.n_walked, &got, &got_i);
    ck_assert_msg(got_rc == want_rc, "round %u vacancy %d: index says %d (%s), scan %d (%s)",
                  round, j, got_rc, got.summary, want_rc, want.summary);
    if (got_rc == 1) {
        ck_assert_msg(strcmp(walk.walked[got_i]->id, seen[want_i]->id) == 0,
                      "round %u vacancy %d: index chose %s, scan %s", round, j,
                      walk.walked[got_i]->id, seen[want_i]->id);
        ck_assert_uint_eq(got.explanation.rank, want.explanation.rank);
        ck_assert(fabs(got.explanation.score - want.explanation.score) < 1e-9);
    }
    ck_assert_int_eq(got.nominee_rule, want.nominee_rule);
    uint32_t removed = 0;
    for (size_t f = 0; f < got.explanation.n_filters; f++)
        removed += got.explanation.filters[f]->removed;
    ck_assert_uint_eq(got.explanation.considered, N_CAND);
    ck_assert_uint_eq(removed + got.explanation.eligible + got.explanation.not_examined,
                      got.explanation.considered);
    ck_assert_uint_le(got.explanation.eligible, want.explanation.eligible);
    /* The rules decided per candidate never count more than a full scan
     * attributes to them (buckets are counted first, by other rules). */
    ck_assert_uint_eq(got.explanation.filters[3]->removed, want.explanation.filters[3]->removed);
    wz_cindex_walk_fini(&walk);
}

START_TEST(test_property)
{
    const char *seed = getenv("WZ_PROPERTY_SEED");
    uint64_t base = seed ? strtoull(seed, NULL, 10) : 20251129;
    static world_t w;
    static cand_t cands[N_CAND];
    static vac_t vacs[N_VAC];
    unsigned proposals = 0, releases = 0, checked = 0;
    for (unsigned round = 0; round < s_rounds(); round++) {
        s_rng = (base + round) * 0x9E3779B97F4A7C15ULL | 1;
        s_world(&w);
        WzCandidate *ptrs[N_CAND];
        for (int i = 0; i < N_CAND; i++) {
            s_candidate(&cands[i], i);
            ptrs[i] = &cands[i].c;
        }
        wz_cindex_t *idx = wz_cindex_new(s_open, NULL);
        ck_assert_ptr_nonnull(idx);
        bool bulk = s_chance(50);
        wz_cindex_bulk(idx, bulk);
        for (int i = 0; i < N_CAND; i++) {
            cands[i].entry.id = cands[i].id;
            ck_assert_int_ge(wz_cindex_add(idx, &cands[i].entry, ptrs[i]), 0);
        }
        if (bulk && s_chance(50))
            wz_cindex_bulk(idx, false); /* else the first walk sorts */
        sim_t sim;
        memset(&sim, 0, sizeof sim);
        for (int j = 0; j < N_VAC; j++) {
            vac_t *v = &vacs[j];
            s_vacancy(v, j);
            tried_t tried;
            memset(&tried, 0, sizeof tried);
            tried.v = v;
            /* Offer until someone accepts, nobody is left, or three declines. */
            for (int attempt = 0; attempt < 4; attempt++) {
                wz_match_ctx_t ctx = {
                    .policy = &w.policy,
                    .scheme = &w.scheme,
                    .today = wz_day_from_civil(TODAY_Y, TODAY_M, TODAY_D),
                    .contingent_target = w.target[v->mun][v->corp],
                    .contingent_used = sim.used[v->mun][v->corp],
                    .placed_complex = sim.placed_complex[v->corp][v->complex],
                    .placed_stairwell =
                        v->stair >= 0 ? sim.placed_stair[v->corp][v->complex][v->stair] : 0,
                    .placed_neighbourhood = sim.placed_nb[v->mun][v->nb],
                    .tried = s_tried,
                    .tried_arg = &tried,
                };
                wz_match_result_t r;
                size_t chosen = N_CAND;
                int picked = wz_match_pick(&ctx, &v->v, ptrs, N_CAND, &r, &chosen);
                checked++;

                /* The index decides the same, as it is and with one
                 * candidate changed in the transaction, ranked and
                 * nominated. */
                s_compare_index(idx, &ctx, v, cands, ptrs, 0, NULL, round, j);
                int k = s_between(0, N_CAND - 1);
                cand_t alt = cands[k];
                alt.c.urgency_date = cands[k].c.urgency_date ? &alt.urgency : NULL;
                alt.c.household = &alt.hh;
                if (s_chance(50))
                    alt.c.state = alt.c.state == WOONZORG__V1__CANDIDATE_STATE__CANDIDATE_STATE_ACTIVE
                                      ? WOONZORG__V1__CANDIDATE_STATE__CANDIDATE_STATE_PROPOSED
                                      : WOONZORG__V1__CANDIDATE_STATE__CANDIDATE_STATE_ACTIVE;
                else if (alt.c.urgency_date)
                    alt.urgency.day = s_between(1, 28);
                if (s_chance(30))
                    alt.hh.adults = (uint32_t)s_between(1, 3);
                wz_match_ctx_t nctx = ctx;
                nctx.nominee = s_chance(90) ? cands[s_between(0, N_CAND - 1)].id : "nobody";
                switch (s_between(0, 2)) {
                case 0: s_compare_index(idx, &ctx, v, cands, ptrs, k, &alt.c, round, j); break;
                case 1: s_compare_index(idx, &nctx, v, cands, ptrs, 0, NULL, round, j); break;
                default: s_compare_index(idx, &nctx, v, cands, ptrs, k, &alt.c, round, j); break;
                }

                /* The explanation adds up. */
                uint32_t removed = 0;
                for (size_t f = 0; f < r.explanation.n_filters; f++)
                    removed += r.explanation.filters[f]->removed;
                ck_assert_uint_eq(removed + r.explanation.eligible, r.explanation.considered);
                ck_assert_uint_eq(r.explanation.considered, N_CAND);

                bool offerable = s_vacancy_ok(&w, &sim, v);
                int n_eligible = 0;
                double pen[N_CAND];
                bool elig[N_CAND];
                for (int i = 0; i < N_CAND; i++) {
                    elig[i] = offerable &&
                              s_eligible(&w, v, &cands[i], tried.tried[i] != 0, &pen[i]);
                    n_eligible += elig[i];
                }
                ck_assert_msg((int)r.explanation.eligible == (offerable ? n_eligible : 0),
                              "round %u vacancy %d: matching counts %u eligible, the checker %d",
                              round, j, r.explanation.eligible, n_eligible);
                if (!picked) {
                    ck_assert_msg(n_eligible == 0,
                                  "round %u vacancy %d: nobody proposed but %d eligible (%s)",
                                  round, j, n_eligible, r.summary);
                    releases++;
                    break;
                }
                ck_assert_uint_lt(chosen, N_CAND);
                ck_assert_msg(elig[chosen], "round %u vacancy %d: ineligible %s proposed", round,
                              j, cands[chosen].id);
                ck_assert_msg(cands[chosen].open == 0, "round %u: %s has two open proposals",
                              round, cands[chosen].id);
                for (int i = 0; i < N_CAND; i++)
                    ck_assert_msg(!elig[i] || !s_clearly_before(&cands[i], pen[i],
                                                                &cands[chosen], pen[chosen]),
                                  "round %u vacancy %d: %s ranks before the chosen %s", round, j,
                                  cands[i].id, cands[chosen].id);
                proposals++;
                /* The offer counts from now on. */
                cands[chosen].open = 1;
                tried.tried[chosen] = 1;
                s_place(&sim, v, 1);
                s_check_limits(&w, &sim, round);
                if (s_chance(35) && attempt < 3) {
                    /* Declined: the place is free again, the pair never again. */
                    cands[chosen].open = 0;
                    s_place(&sim, v, -1);
                    continue;
                }
                /* Accepted and let: the candidate is housed. */
                cands[chosen].open = 0;
                ck_assert(wz_cindex_contains(idx, &cands[chosen].entry));
                wz_cindex_remove(idx, &cands[chosen].entry);
                ck_assert(!wz_cindex_contains(idx, &cands[chosen].entry));
                cands[chosen].c.state = WOONZORG__V1__CANDIDATE_STATE__CANDIDATE_STATE_HOUSED;
                ck_assert_int_eq(wz_cindex_add(idx, &cands[chosen].entry, &cands[chosen].c), 0);
                break;
            }
        }
        wz_cindex_destroy(&idx);
    }
    /* The generator must actually exercise both outcomes. */
    ck_assert_uint_gt(proposals, s_rounds() * 5);
    ck_assert_uint_gt(releases, s_rounds() * 2);
    fprintf(stderr, "property: %u decisions checked (%u proposals, %u releases) in %u rounds\n",
            checked, proposals, releases, s_rounds());
}
END_TEST

int main(void)
{
    TCase *tc = wz_test_case("property", 120, (const TTest *const[]){test_property, NULL});
    return wz_test_run("wz_match_property", (TCase *const[]){tc, NULL});
}
