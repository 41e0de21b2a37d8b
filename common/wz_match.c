/* wz_match.c - rules, ranking and the explanation (see wz_match.h). */
#include "wz_match.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "wz_calendar.h"
#include "wz_util.h"

#define CSTATE(x) WOONZORG__V1__CANDIDATE_STATE__CANDIDATE_STATE_##x

enum {
    RULE_SCHEME,
    RULE_CONTINGENT,
    RULE_SPREAD,
    RULE_STATUS,
    RULE_CONSENT,
    RULE_PARKED,
    RULE_URGENCY_WINDOW,
    RULE_GROUP,
    RULE_CARE_PROVIDER,
    RULE_ALREADY_PROPOSED,
    RULE_MUNICIPALITY,
    RULE_NEIGHBOURHOOD,
    RULE_DISTANCE,
    RULE_HOUSEHOLD,
    RULE_RENT,
    RULE_ACCESSIBILITY,
};

static const char *const s_rules[WZ_MATCH_RULES] = {
    "scheme",         "contingent",       "spread",       "status",
    "consent",        "parked",           "urgency_window", "group",
    "care_provider",  "already_proposed", "municipality", "neighbourhood",
    "distance",       "household",        "rent",         "accessibility",
};

const char *wz_match_rule_name(size_t i)
{
    return i < WZ_MATCH_RULES ? s_rules[i] : NULL;
}

int wz_match_rule_index(const char *name)
{
    for (size_t i = 0; name && i < WZ_MATCH_RULES; i++)
        if (strcmp(s_rules[i], name) == 0)
            return (int)i;
    return -1;
}

static bool s_contains(char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] && strcmp(list[i], s) == 0)
            return true;
    return false;
}

static int s_persons(const WzCandidate *c)
{
    int persons = c->household ? (int)(c->household->adults + c->household->children) : 0;
    /* A candidate is at least one person, whatever the record says. */
    return persons > 0 ? persons : 1;
}

static int64_t s_day(const WzDate *d)
{
    return wz_day_from_civil(d->year, d->month, d->day);
}

/* The passend-toewijzen limits for the year the dwelling becomes available
 * (else the decision year). Before the first configured year the earliest row
 * is the best we know; NULL only when the policy configures no limits. */
static const wz_rent_limits_t *s_rent_limits(const wz_match_ctx_t *ctx, const WzVacancy *v)
{
    int year, month, day;
    if (v->available_from && wz_date_valid(v->available_from))
        year = v->available_from->year;
    else
        wz_civil_from_day(ctx->today, &year, &month, &day);
    const wz_rent_limits_t *limits = wz_policy_rent_limits(ctx->policy, year);
    if (!limits && ctx->policy->n_rent_limits > 0)
        limits = &ctx->policy->rent_limits[0];
    return limits;
}

static int64_t s_rent_limit(const wz_rent_limits_t *l, const WzCandidate *c)
{
    if (c->age_band == WOONZORG__V1__AGE_BAND__AGE_BAND_UNDER_23)
        return l->max_rent_under_23;
    if (c->income_class == WOONZORG__V1__INCOME_CLASS__INCOME_CLASS_BELOW_LIMIT)
        return s_persons(c) <= 2 ? l->max_rent_1_2 : l->max_rent_3_plus;
    return l->social_rent_limit;
}

static const wz_neighbourhood_t *s_find_nb(const wz_policy_t *policy, const char *code)
{
    for (size_t r = 0; code && *code && r < policy->n_regions; r++)
        for (size_t m = 0; m < policy->regions[r].n_municipalities; m++) {
            const wz_neighbourhood_t *nb =
                wz_municipality_neighbourhood(&policy->regions[r].municipalities[m], code);
            if (nb)
                return nb;
        }
    return NULL;
}

double wz_match_distance_km(const wz_policy_t *policy, const char *from_code, const char *to_code)
{
    const wz_neighbourhood_t *a = s_find_nb(policy, from_code), *b = s_find_nb(policy, to_code);
    if (!a || !b)
        return -1;
    const double rad = M_PI / 180.0, earth_km = 6371.0;
    double dlat = (b->lat - a->lat) * rad, dlon = (b->lon - a->lon) * rad;
    double h = sin(dlat / 2) * sin(dlat / 2) +
               cos(a->lat * rad) * cos(b->lat * rad) * sin(dlon / 2) * sin(dlon / 2);
    return 2 * earth_km * asin(sqrt(h < 1 ? h : 1));
}

int wz_match_vacancy_check(const wz_match_ctx_t *ctx, const WzVacancy *v)
{
    const wz_scheme_t *s = ctx->scheme;
    if (!s || ctx->today < s->from_day || ctx->today > s->to_day ||
        !wz_scheme_has_corporation(s, v->corporation))
        return RULE_SCHEME;
    if (!s->over_delivery && ctx->contingent_target >= 0 &&
        ctx->contingent_used >= ctx->contingent_target)
        return RULE_CONTINGENT;
    if ((s->max_per_complex > 0 && v->complex && v->complex[0] &&
         ctx->placed_complex >= s->max_per_complex) ||
        (s->max_per_stairwell > 0 && v->stairwell && v->stairwell[0] &&
         ctx->placed_stairwell >= s->max_per_stairwell) ||
        (s->max_per_neighbourhood > 0 && v->neighbourhood && v->neighbourhood[0] &&
         ctx->placed_neighbourhood >= s->max_per_neighbourhood))
        return RULE_SPREAD;
    return -1;
}

/* The rules come in four runs, so that the ones a candidate index can decide
 * per bucket (G and H: attributes shared by the bucket) and the ones it must
 * check per candidate (A and B) are the same code as the full check, which
 * runs A, G, B, H in that order. */

/* A: status, consent, parked, urgency window. */
static int s_rules_a(const wz_match_ctx_t *ctx, const WzCandidate *c)
{
    const wz_scheme_t *s = ctx->scheme;
    if (c->state != CSTATE(ACTIVE) || !c->urgency_date || !wz_date_valid(c->urgency_date))
        return RULE_STATUS;
    if (!c->consent)
        return RULE_CONSENT;
    if (c->parked_until && wz_date_valid(c->parked_until) && ctx->today < s_day(c->parked_until))
        return RULE_PARKED;
    if (s && s->urgency_months > 0) {
        int months = s->urgency_months + (int)c->extensions * s->extension_months;
        if (ctx->today >= wz_add_months(s_day(c->urgency_date), months))
            return RULE_URGENCY_WINDOW;
    }
    return -1;
}

/* G: group and care provider of the scheme. */
static int s_rules_g(const wz_match_ctx_t *ctx, const WzCandidate *c)
{
    const wz_scheme_t *s = ctx->scheme;
    if (s && !wz_scheme_has_group(s, c->group))
        return RULE_GROUP;
    if (s && !wz_scheme_has_care_provider(s, c->care_provider))
        return RULE_CARE_PROVIDER;
    return -1;
}

/* B: tried before, municipality, neighbourhood, distance (km from the care
 * location, negative when unknown). */
static int s_rules_b(const wz_match_ctx_t *ctx, const WzVacancy *v, const WzCandidate *c,
                     double km)
{
    if (ctx->tried && ctx->tried(ctx->tried_arg, c->id))
        return RULE_ALREADY_PROPOSED;
    if (c->n_acceptable_municipalities > 0 &&
        !s_contains(c->acceptable_municipalities, c->n_acceptable_municipalities,
                    v->municipality ? v->municipality : ""))
        return RULE_MUNICIPALITY;
    if (v->neighbourhood && v->neighbourhood[0] &&
        s_contains(c->excluded_neighbourhoods, c->n_excluded_neighbourhoods, v->neighbourhood))
        return RULE_NEIGHBOURHOOD;
    /* A limit that cannot be checked is not met: a candidate who must stay
     * near its care location is never sent somewhere unknown. */
    if (c->max_distance_km > 0 && (km < 0 || km > (double)c->max_distance_km))
        return RULE_DISTANCE;
    return -1;
}

/* H: household, rent, accessibility; then *penalty (when not NULL). */
static int s_rules_h(const wz_match_ctx_t *ctx, const WzVacancy *v, const WzCandidate *c,
                     double km, double *penalty)
{
    const wz_scheme_t *s = ctx->scheme;
    const wz_occupancy_t *occ = wz_policy_occupancy(ctx->policy, s_persons(c));
    int min_rooms = occ ? occ->min_rooms : 0, min_area = occ ? occ->min_area_m2 : 0;
    if (occ && ((int64_t)v->rooms < occ->min_rooms || (int64_t)v->floor_area_m2 < occ->min_area_m2))
        return RULE_HOUSEHOLD;
    const wz_rent_limits_t *limits = s_rent_limits(ctx, v);
    if (limits && v->rent_cents > s_rent_limit(limits, c))
        return RULE_RENT;
    if ((c->access_needs & ~v->access) != 0)
        return RULE_ACCESSIBILITY;
    if (penalty) {
        double room = s ? s->fit_room : 10, area = s ? s->fit_area : 0.5, per_km = s ? s->fit_km : 1;
        *penalty = room * ((int)v->rooms - min_rooms) + area * ((int)v->floor_area_m2 - min_area) +
                   (km > 0 ? per_km * km : 0);
        /* Rounded to 1/1000 so a replay on another machine ranks the same. */
        *penalty = round(*penalty * 1000) / 1000;
    }
    return -1;
}

int wz_match_check(const wz_match_ctx_t *ctx, const WzVacancy *v, const WzCandidate *c,
                   double *penalty)
{
    int rule = s_rules_a(ctx, c);
    if (rule < 0)
        rule = s_rules_g(ctx, c);
    if (rule >= 0)
        return rule;
    double km = wz_match_distance_km(ctx->policy, c->care_location, v->neighbourhood);
    rule = s_rules_b(ctx, v, c, km);
    return rule >= 0 ? rule : s_rules_h(ctx, v, c, km, penalty);
}

int wz_match_bucket_rule(const wz_match_ctx_t *ctx, const WzVacancy *v, const WzCandidate *c,
                         double *km, double *penalty)
{
    *km = wz_match_distance_km(ctx->policy, c->care_location, v->neighbourhood);
    int rule = s_rules_g(ctx, c);
    return rule >= 0 ? rule : s_rules_h(ctx, v, c, *km, penalty);
}

int wz_match_candidate_rule(const wz_match_ctx_t *ctx, const WzVacancy *v, const WzCandidate *c,
                            double km)
{
    int rule = s_rules_a(ctx, c);
    return rule >= 0 ? rule : s_rules_b(ctx, v, c, km);
}

int wz_match_rank_cmp(const WzCandidate *a, double pa, const WzCandidate *b, double pb)
{
    int by_date = wz_date_cmp(a->urgency_date, b->urgency_date);
    if (by_date)
        return by_date;
    if (pa != pb)
        return pa < pb ? -1 : 1;
    return strcmp(a->id, b->id);
}

/* Appends printf output to buf (of size cap, holding used bytes); output
 * that does not fit is cut off, the string stays terminated. */
static size_t s_append(char *buf, size_t cap, size_t used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static size_t s_append(char *buf, size_t cap, size_t used, const char *fmt, ...)
{
    if (used >= cap)
        return used;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + used, cap - used, fmt, ap);
    va_end(ap);
    if (n < 0)
        return used;
    return used + (size_t)n >= cap ? cap - 1 : used + (size_t)n;
}

/* ": rent removed 5, household removed 4": the rules that removed anyone,
 * the biggest first (rule order on ties). */
static void s_removed_list(wz_match_result_t *out, size_t used)
{
    bool listed[WZ_MATCH_RULES] = {false};
    for (size_t k = 0; k < WZ_MATCH_RULES; k++) {
        size_t best = WZ_MATCH_RULES;
        for (size_t i = 0; i < WZ_MATCH_RULES; i++)
            if (!listed[i] && out->counts[i].removed > 0 &&
                (best == WZ_MATCH_RULES || out->counts[i].removed > out->counts[best].removed))
                best = i;
        if (best == WZ_MATCH_RULES)
            break;
        listed[best] = true;
        used = s_append(out->summary, sizeof out->summary, used, "%s%s removed %u",
                        k == 0 ? ": " : ", ", s_rules[best], out->counts[best].removed);
    }
}

/* The summary when nobody of the n_all is eligible: which rules removed
 * them, or that the region has none. */
static void s_none_eligible(wz_match_result_t *out, size_t n_all)
{
    size_t used =
        s_append(out->summary, sizeof out->summary, 0, "no eligible candidate among %zu", n_all);
    if (n_all == 0)
        s_append(out->summary, sizeof out->summary, used, ": the region has no candidates");
    else
        s_removed_list(out, used);
}

/* Empties out and fills what every outcome has. */
static void s_result_init(const wz_match_ctx_t *ctx, size_t n_all, wz_match_result_t *out)
{
    WzExplanation init = WOONZORG__V1__EXPLANATION__INIT;
    out->explanation = init;
    for (size_t i = 0; i < WZ_MATCH_RULES; i++) {
        WzFilterCount fc = WOONZORG__V1__FILTER_COUNT__INIT;
        fc.rule = (char *)s_rules[i];
        out->counts[i] = fc;
        out->count_ptrs[i] = &out->counts[i];
    }
    wz_strlcpy(out->policy_version, ctx->policy->version, sizeof out->policy_version);
    wz_strlcpy(out->scheme, ctx->scheme ? ctx->scheme->id : "", sizeof out->scheme);
    out->summary[0] = '\0';
    out->nominee_rule = -1;

    WzExplanation *e = &out->explanation;
    e->considered = (uint32_t)n_all;
    e->n_filters = WZ_MATCH_RULES;
    e->filters = out->count_ptrs;
    e->ranking = (char *)WZ_MATCH_RANKING;
    e->summary = out->summary;
    e->policy_version = out->policy_version;
    e->scheme = out->scheme;
    e->mode = (char *)(ctx->batch ? "batch" : ctx->nominee ? "nominate" : "ranked");
}

/* The vacancy may not be offered at all (vacancy rule vrule): every
 * candidate is removed by it. Returns 0. */
static int s_vacancy_refused(const wz_match_ctx_t *ctx, const WzVacancy *v, int vrule,
                             size_t n_all, wz_match_result_t *out)
{
    out->counts[vrule].removed = (uint32_t)n_all;
    size_t used = s_append(out->summary, sizeof out->summary, 0,
                           "no candidate among %zu may be proposed: ", n_all);
    if (vrule == RULE_SCHEME)
        s_append(out->summary, sizeof out->summary, used,
                 "the vacancy goes through no scheme in force for %s",
                 v->corporation ? v->corporation : "its corporation");
    else if (vrule == RULE_CONTINGENT)
        s_append(out->summary, sizeof out->summary, used,
                 "the contingent of %s in %s is used up (%d of %d) and the scheme allows no "
                 "more",
                 v->corporation, v->municipality, ctx->contingent_used, ctx->contingent_target);
    else
        s_append(out->summary, sizeof out->summary, used,
                 "spread limit reached (complex %d/%d, stairwell %d/%d, neighbourhood %d/%d)",
                 ctx->placed_complex, ctx->scheme->max_per_complex, ctx->placed_stairwell,
                 ctx->scheme->max_per_stairwell, ctx->placed_neighbourhood,
                 ctx->scheme->max_per_neighbourhood);
    if (ctx->nominee)
        out->nominee_rule = vrule;
    return 0;
}

int wz_match_pick(const wz_match_ctx_t *ctx, const WzVacancy *v, WzCandidate *const *cands,
                  size_t n, wz_match_result_t *out, size_t *chosen)
{
    size_t n_all = n + ctx->inactive;
    s_result_init(ctx, n_all, out);
    WzExplanation *e = &out->explanation;
    int vrule = wz_match_vacancy_check(ctx, v);
    if (vrule >= 0)
        return s_vacancy_refused(ctx, v, vrule, n_all, out);

    out->counts[RULE_STATUS].removed = ctx->inactive;
    size_t best = 0, eligible = 0, nominee = n;
    double best_penalty = 0, nominee_penalty = 0;
    for (size_t i = 0; i < n; i++) {
        double penalty = 0;
        int rule = wz_match_check(ctx, v, cands[i], &penalty);
        bool is_nominee = ctx->nominee && strcmp(cands[i]->id, ctx->nominee) == 0;
        if (is_nominee) {
            nominee = i;
            nominee_penalty = penalty;
            out->nominee_rule = rule;
        }
        if (rule >= 0) {
            out->counts[rule].removed++;
            continue;
        }
        if (eligible == 0 || wz_match_rank_cmp(cands[i], penalty, cands[best], best_penalty) < 0) {
            best = i;
            best_penalty = penalty;
        }
        eligible++;
    }
    e->eligible = (uint32_t)eligible;

    if (ctx->nominee) {
        if (nominee == n || out->nominee_rule >= 0) {
            size_t used = s_append(out->summary, sizeof out->summary, 0,
                                   "nominee %s may not be proposed: ", ctx->nominee);
            if (nominee == n)
                s_append(out->summary, sizeof out->summary, used,
                         "no such candidate in the region");
            else
                s_append(out->summary, sizeof out->summary, used, "rule %s",
                         s_rules[out->nominee_rule]);
            return 0;
        }
        uint32_t rank = 1;
        for (size_t i = 0; i < n; i++) {
            double penalty = 0;
            if (i != nominee && wz_match_check(ctx, v, cands[i], &penalty) < 0 &&
                wz_match_rank_cmp(cands[i], penalty, cands[nominee], nominee_penalty) < 0)
                rank++;
        }
        e->rank = rank;
        e->score = nominee_penalty;
        char since[11];
        wz_date_format(cands[nominee]->urgency_date, since);
        if (ctx->batch)
            snprintf(out->summary, sizeof out->summary,
                     "%s assigned jointly with the other dwellings of the batch: rank %u of %zu "
                     "eligible (%zu considered); urgency since %s, fit penalty %.1f",
                     cands[nominee]->id, rank, eligible, n_all, since, nominee_penalty);
        else
            snprintf(out->summary, sizeof out->summary,
                     "%s nominated by %s: eligible, would rank %u of %zu eligible (%zu "
                     "considered); urgency since %s, fit penalty %.1f",
                     cands[nominee]->id, cands[nominee]->care_provider, rank, eligible, n_all,
                     since, nominee_penalty);
        *chosen = nominee;
        return 1;
    }

    if (!eligible) {
        s_none_eligible(out, n_all);
        return 0;
    }
    e->rank = 1;
    e->score = best_penalty;
    char since[11];
    wz_date_format(cands[best]->urgency_date, since);
    snprintf(out->summary, sizeof out->summary,
             "%s ranked 1 of %zu eligible (%zu considered): urgency since %s, fit penalty %.1f",
             cands[best]->id, eligible, n_all, since, best_penalty);
    *chosen = best;
    return 1;
}

/* Marks out as not a decision: -1 with the reason in the summary. */
static int s_inconsistent(wz_match_result_t *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int s_inconsistent(wz_match_result_t *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->summary, sizeof out->summary, fmt, ap);
    va_end(ap);
    return -1;
}

int wz_match_decide(const wz_match_ctx_t *ctx, const WzVacancy *v,
                    WzSnapshotBucket *const *buckets, size_t n_buckets,
                    WzCandidate *const *walked, size_t n_walked, wz_match_result_t *out,
                    size_t *chosen)
{
    size_t n_all = ctx->inactive;
    for (size_t i = 0; i < n_buckets; i++)
        n_all += buckets[i]->size;
    s_result_init(ctx, n_all, out);
    WzExplanation *e = &out->explanation;
    int vrule = wz_match_vacancy_check(ctx, v);
    if (vrule >= 0)
        return n_walked ? s_inconsistent(out, "candidates walked for a vacancy that may not be "
                                              "offered")
                        : s_vacancy_refused(ctx, v, vrule, n_all, out);

    /* Whole buckets: removed by the first dwelling or scheme rule they fail. */
    out->counts[RULE_STATUS].removed = ctx->inactive;
    size_t fit = 0;
    for (size_t i = 0; i < n_buckets; i++) {
        double km, penalty;
        if (!buckets[i]->key)
            return s_inconsistent(out, "a bucket without its attributes");
        int rule = wz_match_bucket_rule(ctx, v, buckets[i]->key, &km, &penalty);
        if (rule >= 0)
            out->counts[rule].removed += buckets[i]->size;
        else
            fit += buckets[i]->size;
    }
    const WzCandidate *last = n_walked ? walked[n_walked - 1] : NULL;
    if (ctx->nominee && (!last || strcmp(last->id, ctx->nominee) != 0)) {
        if (n_walked)
            return s_inconsistent(out, "the walk does not end at the nominee %s", ctx->nominee);
        e->not_examined = (uint32_t)fit;
        snprintf(out->summary, sizeof out->summary,
                 "nominee %s may not be proposed: no such candidate in the region", ctx->nominee);
        return 0;
    }
    if (ctx->nominee) {
        int rule = wz_match_check(ctx, v, last, NULL);
        if (rule >= 0) {
            /* Refused on its own rule: nobody else was looked at. */
            if (n_walked != 1)
                return s_inconsistent(out, "candidates walked before an ineligible nominee");
            out->nominee_rule = rule;
            e->not_examined = (uint32_t)fit;
            snprintf(out->summary, sizeof out->summary,
                     "nominee %s may not be proposed: rule %s", ctx->nominee, s_rules[rule]);
            return 0;
        }
    }

    if (n_walked > fit)
        return s_inconsistent(out, "%zu candidates walked, only %zu fit the dwelling", n_walked,
                              fit);

    /* The walk: in rank order, each counted by the first candidate rule it
     * fails; in ranked mode it ends at the first eligible one. */
    size_t eligible = 0;
    double prev_penalty = 0, penalty = 0;
    for (size_t i = 0; i < n_walked; i++) {
        const WzCandidate *c = walked[i];
        double km;
        if (wz_match_bucket_rule(ctx, v, c, &km, &penalty) >= 0)
            return s_inconsistent(out, "walked candidate %s does not fit the dwelling", c->id);
        int rule = wz_match_candidate_rule(ctx, v, c, km);
        if (rule == RULE_STATUS || !c->urgency_date)
            return s_inconsistent(out, "walked candidate %s is not active", c->id);
        if (i > 0 && wz_match_rank_cmp(walked[i - 1], prev_penalty, c, penalty) >= 0)
            return s_inconsistent(out, "walked candidate %s is out of rank order", c->id);
        prev_penalty = penalty;
        if (rule >= 0) {
            out->counts[rule].removed++;
            continue;
        }
        eligible++;
        if (!ctx->nominee && i + 1 != n_walked)
            return s_inconsistent(out, "the walk goes on after the eligible %s", c->id);
    }
    e->eligible = (uint32_t)eligible;
    e->not_examined = (uint32_t)(fit - n_walked);

    if (!eligible) {
        if (fit != n_walked)
            return s_inconsistent(out, "nobody eligible but %zu not examined", fit - n_walked);
        s_none_eligible(out, n_all);
        return 0;
    }
    /* The last walked is the chosen (ranked) or the eligible nominee. */
    e->rank = ctx->nominee ? (uint32_t)eligible : 1;
    e->score = penalty;
    char since[11];
    wz_date_format(last->urgency_date, since);
    if (ctx->batch)
        snprintf(out->summary, sizeof out->summary,
                 "%s assigned jointly with the other dwellings of the batch: rank %u among the "
                 "%zu who fit the dwelling and the scheme (%zu considered); urgency since %s, "
                 "fit penalty %.1f",
                 last->id, e->rank, fit, n_all, since, penalty);
    else if (ctx->nominee)
        snprintf(out->summary, sizeof out->summary,
                 "%s nominated by %s: eligible, would rank %u among the %zu who fit the dwelling "
                 "and the scheme (%zu considered); urgency since %s, fit penalty %.1f",
                 last->id, last->care_provider, e->rank, fit, n_all, since, penalty);
    else
        snprintf(out->summary, sizeof out->summary,
                 "%s ranked first among the %zu who fit the dwelling and the scheme (%zu "
                 "considered, %zu ranked before it not eligible): urgency since %s, fit penalty "
                 "%.1f",
                 last->id, fit, n_all, n_walked - 1, since, penalty);
    *chosen = n_walked - 1;
    return 1;
}

static bool s_snap_tried(void *arg, const char *candidate_id)
{
    const WzSnapshot *snap = arg;
    for (size_t i = 0; i < snap->n_tried; i++)
        if (strcmp(snap->tried[i], candidate_id) == 0)
            return true;
    return false;
}

int wz_match_replay(const wz_policy_t *policy, const WzSnapshot *snap, wz_match_result_t *out,
                    size_t *chosen)
{
    memset(out, 0, sizeof *out);
    const char *scheme_id = snap->explanation ? snap->explanation->scheme : "";
    const wz_scheme_t *scheme = wz_policy_scheme(policy, scheme_id);
    if (strcmp(policy->version, snap->policy_version) != 0) {
        snprintf(out->summary, sizeof out->summary,
                 "decided under policy %s, loaded is %s: a replay needs the same policy",
                 snap->policy_version, policy->version);
        return -1;
    }
    if (!snap->vacancy || !snap->decided_on || !wz_date_valid(snap->decided_on) ||
        (scheme_id && *scheme_id && !scheme)) {
        snprintf(out->summary, sizeof out->summary, "the snapshot is incomplete");
        return -1;
    }
    wz_match_ctx_t ctx = {
        .policy = policy,
        .scheme = scheme,
        .today = s_day(snap->decided_on),
        .contingent_target = snap->contingent_target,
        .contingent_used = (int)snap->contingent_used,
        .placed_complex = (int)snap->placed_complex,
        .placed_stairwell = (int)snap->placed_stairwell,
        .placed_neighbourhood = (int)snap->placed_neighbourhood,
        .tried = s_snap_tried,
        .tried_arg = (void *)snap,
        .nominee = snap->nominee && *snap->nominee ? snap->nominee : NULL,
        .inactive = snap->inactive,
        .batch = snap->explanation && snap->explanation->mode &&
                 strcmp(snap->explanation->mode, "batch") == 0,
    };
    if (snap->format == 0)
        return wz_match_pick(&ctx, snap->vacancy, snap->candidates, snap->n_candidates, out,
                             chosen);
    if (snap->format != WZ_MATCH_SNAPSHOT_WALK) {
        snprintf(out->summary, sizeof out->summary, "unknown snapshot format %u", snap->format);
        return -1;
    }
    return wz_match_decide(&ctx, snap->vacancy, snap->buckets, snap->n_buckets, snap->candidates,
                           snap->n_candidates, out, chosen);
}
