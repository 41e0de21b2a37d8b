/* wz_match.c - hard filters, ranking and the explanation (see wz_match.h). */
#include "wz_match.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "wz_util.h"

#define CSTATE(x) WOONZORG__V1__CANDIDATE_STATE__CANDIDATE_STATE_##x

enum {
    RULE_STATUS,
    RULE_CONSENT,
    RULE_ALREADY_PROPOSED,
    RULE_MUNICIPALITY,
    RULE_NEIGHBOURHOOD,
    RULE_HOUSEHOLD,
    RULE_RENT,
    RULE_ACCESSIBILITY,
};

static const char *const s_rules[WZ_MATCH_RULES] = {
    "status",        "consent",   "already_proposed", "municipality",
    "neighbourhood", "household", "rent",             "accessibility",
};

const char *wz_match_rule_name(size_t i)
{
    return i < WZ_MATCH_RULES ? s_rules[i] : NULL;
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

/* The passend-toewijzen limits for the year the dwelling becomes available.
 * Before the first configured year the earliest row is the best we know;
 * NULL only when the policy configures no limits at all. */
static const wz_rent_limits_t *s_rent_limits(const wz_policy_t *policy, const WzVacancy *v)
{
    int year;
    if (v->available_from && wz_date_valid(v->available_from)) {
        year = v->available_from->year;
    } else {
        WzDate today = WOONZORG__V1__DATE__INIT;
        wz_date_today(&today);
        year = today.year;
    }
    const wz_rent_limits_t *limits = wz_policy_rent_limits(policy, year);
    if (!limits && policy->n_rent_limits > 0)
        limits = &policy->rent_limits[0];
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

int wz_match_check(const wz_policy_t *policy, const WzVacancy *v, const WzCandidate *c,
                   wz_match_tried_fn tried, void *arg, int *surplus)
{
    if (c->state != CSTATE(ACTIVE) || !c->urgency_date || !wz_date_valid(c->urgency_date))
        return RULE_STATUS;
    if (!c->consent)
        return RULE_CONSENT;
    if (tried && tried(arg, c->id))
        return RULE_ALREADY_PROPOSED;
    if (c->n_acceptable_municipalities > 0 &&
        !s_contains(c->acceptable_municipalities, c->n_acceptable_municipalities,
                    v->municipality ? v->municipality : ""))
        return RULE_MUNICIPALITY;
    if (v->neighbourhood && v->neighbourhood[0] &&
        s_contains(c->excluded_neighbourhoods, c->n_excluded_neighbourhoods, v->neighbourhood))
        return RULE_NEIGHBOURHOOD;
    const wz_occupancy_t *occ = wz_policy_occupancy(policy, s_persons(c));
    int min_rooms = occ ? occ->min_rooms : 0;
    if (occ && ((int64_t)v->rooms < occ->min_rooms || (int64_t)v->floor_area_m2 < occ->min_area_m2))
        return RULE_HOUSEHOLD;
    const wz_rent_limits_t *limits = s_rent_limits(policy, v);
    if (limits && v->rent_cents > s_rent_limit(limits, c))
        return RULE_RENT;
    if ((c->access_needs & ~v->access) != 0)
        return RULE_ACCESSIBILITY;
    if (surplus)
        *surplus = (int)v->rooms - min_rooms;
    return -1;
}

/* Negative when a ranks before b: earliest urgency, closest fit, then id. */
static int s_rank_cmp(const WzCandidate *a, int a_surplus, const WzCandidate *b, int b_surplus)
{
    int by_date = wz_date_cmp(a->urgency_date, b->urgency_date);
    if (by_date)
        return by_date;
    if (a_surplus != b_surplus)
        return a_surplus < b_surplus ? -1 : 1;
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

/* "no eligible candidate among 12: rent removed 5, household removed 4":
 * the rules that removed anyone, the biggest first (rule order on ties). */
static void s_summary_none(wz_match_result_t *out, size_t n)
{
    size_t used = s_append(out->summary, sizeof out->summary, 0,
                           "no eligible candidate among %zu", n);
    if (n == 0) {
        s_append(out->summary, sizeof out->summary, used, ": the region has no candidates");
        return;
    }
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

int wz_match_pick(const wz_policy_t *policy, const WzVacancy *v, WzCandidate *const *cands,
                  size_t n, wz_match_tried_fn tried, void *arg, wz_match_result_t *out,
                  size_t *chosen)
{
    WzExplanation init = WOONZORG__V1__EXPLANATION__INIT;
    out->explanation = init;
    for (size_t i = 0; i < WZ_MATCH_RULES; i++) {
        WzFilterCount fc = WOONZORG__V1__FILTER_COUNT__INIT;
        fc.rule = (char *)s_rules[i];
        out->counts[i] = fc;
        out->count_ptrs[i] = &out->counts[i];
    }
    wz_strlcpy(out->policy_version, policy->version, sizeof out->policy_version);
    out->summary[0] = '\0';

    size_t best = 0, eligible = 0;
    int best_surplus = 0;
    for (size_t i = 0; i < n; i++) {
        int surplus = 0;
        int rule = wz_match_check(policy, v, cands[i], tried, arg, &surplus);
        if (rule >= 0) {
            out->counts[rule].removed++;
            continue;
        }
        if (eligible == 0 || s_rank_cmp(cands[i], surplus, cands[best], best_surplus) < 0) {
            best = i;
            best_surplus = surplus;
        }
        eligible++;
    }

    WzExplanation *e = &out->explanation;
    e->considered = (uint32_t)n;
    e->eligible = (uint32_t)eligible;
    e->rank = eligible ? 1 : 0;
    e->n_filters = WZ_MATCH_RULES;
    e->filters = out->count_ptrs;
    e->ranking = (char *)WZ_MATCH_RANKING;
    e->summary = out->summary;
    e->policy_version = out->policy_version;
    if (!eligible) {
        s_summary_none(out, n);
        return 0;
    }
    char since[11];
    wz_date_format(cands[best]->urgency_date, since);
    snprintf(out->summary, sizeof out->summary,
             "%s ranked 1 of %zu eligible (%zu considered): urgency since %s", cands[best]->id,
             eligible, n, since);
    *chosen = best;
    return 1;
}
