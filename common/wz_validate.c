/* wz_validate.c - the one validation layer for requests. Each check names
 * the proto field path it refuses, so a client can point at its mistake. */
#include "wz_validate.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "wz_util.h"

#define MAX_REQUEST_ID 64
#define MAX_PROPOSAL_ID 96
#define MAX_AUDIT_LAST 1000
#define MIN_AREA_M2 10
#define ACCESS_ALL 15u /* ground floor | lift | no steps | wheelchair */

#define C_OK WOONZORG__V1__CODE__CODE_OK
#define C_INVALID WOONZORG__V1__CODE__CODE_INVALID
#define C_FORBIDDEN WOONZORG__V1__CODE__CODE_FORBIDDEN
#define C_UNKNOWN WOONZORG__V1__CODE__CODE_UNKNOWN_TYPE

int wz_verdict_set(wz_verdict_t *v, WzCode code, const char *field, const char *fmt, ...)
{
    va_list ap;
    v->code = code;
    snprintf(v->field, sizeof v->field, "%s", field ? field : "");
    va_start(ap, fmt);
    vsnprintf(v->message, sizeof v->message, fmt, ap);
    va_end(ap);
    return -1;
}

/* A verdict whose message starts with the field path, then the rule. */
static int s_bad(wz_verdict_t *v, WzCode code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int s_bad(wz_verdict_t *v, WzCode code, const char *field, const char *fmt, ...)
{
    char rule[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rule, sizeof rule, fmt, ap);
    va_end(ap);
    return wz_verdict_set(v, code, field, "%s: %s", field, rule);
}

/* Field path "<body>.<name>" in buf. */
static const char *s_path(char *buf, size_t len, const char *body, const char *name)
{
    snprintf(buf, len, "%s.%s", body, name);
    return buf;
}

static bool s_empty(const char *s)
{
    return !s || !*s;
}

/* Shortens untrusted text for quoting in a message (and keeps it printable). */
static const char *s_quote(const char *s, char *buf, size_t len)
{
    size_t n = 0;
    for (; s && s[n] && n + 4 < len && n < 40; n++)
        buf[n] = ((unsigned char)s[n] >= 0x20 && (unsigned char)s[n] < 0x7f) ? s[n] : '?';
    if (s && s[n] && n + 4 <= len) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
    return buf;
}

static bool s_date_unset(const WzDate *d)
{
    return !d || (d->year == 0 && d->month == 0 && d->day == 0);
}

static bool s_charset(const char *s, size_t max, bool slash)
{
    size_t n = 0;
    if (s_empty(s))
        return false;
    for (; s[n]; n++) {
        char c = s[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-' || (slash && c == '/');
        if (!ok || n + 1 > max)
            return false;
    }
    return true;
}

/* Strict UTF-8 (no overlongs, surrogates or values past U+10FFFF) and no
 * control characters (C0, DEL, C1): text ends up in logs and letters.
 * Returns NULL when fine, else what is wrong. */
static const char *s_text_problem(const char *s, size_t max_bytes)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s);
    if (len > max_bytes)
        return "is too long";
    while (*p) {
        uint32_t cp;
        int extra;
        if (*p < 0x80) {
            cp = *p;
            extra = 0;
        } else if ((*p & 0xe0) == 0xc0) {
            cp = *p & 0x1f;
            extra = 1;
        } else if ((*p & 0xf0) == 0xe0) {
            cp = *p & 0x0f;
            extra = 2;
        } else if ((*p & 0xf8) == 0xf0) {
            cp = *p & 0x07;
            extra = 3;
        } else {
            return "is not valid UTF-8";
        }
        for (int i = 1; i <= extra; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return "is not valid UTF-8";
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        static const uint32_t min_for[4] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_for[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return "is not valid UTF-8";
        if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
            return "contains a control character";
        p += extra + 1;
    }
    return NULL;
}

static int s_check_id(wz_verdict_t *v, const char *field, const char *id)
{
    char q[48];
    if (s_empty(id))
        return s_bad(v, C_INVALID, field, "is required");
    if (!wz_id_valid(id, WZ_MAX_ID))
        return s_bad(v, C_INVALID, field,
                     "'%s' is not a valid id (1..%d of A-Z a-z 0-9 . _ -, not starting with . "
                     "or -)",
                     s_quote(id, q, sizeof q), WZ_MAX_ID);
    return 0;
}

static int s_check_proposal_id(wz_verdict_t *v, const char *field, const char *id)
{
    char q[48];
    if (s_empty(id))
        return s_bad(v, C_INVALID, field, "is required");
    if (!s_charset(id, MAX_PROPOSAL_ID, true))
        return s_bad(v, C_INVALID, field,
                     "'%s' is not a valid proposal id (1..%d of A-Z a-z 0-9 . _ / -)",
                     s_quote(id, q, sizeof q), MAX_PROPOSAL_ID);
    return 0;
}

static int s_check_uint(wz_verdict_t *v, const char *field, uint64_t value, uint64_t min,
                        uint64_t max)
{
    if (value < min || value > max)
        return s_bad(v, C_INVALID, field, "must be between %llu and %llu, got %llu",
                     (unsigned long long)min, (unsigned long long)max, (unsigned long long)value);
    return 0;
}

static int s_check_access(wz_verdict_t *v, const char *field, uint32_t bits)
{
    if (bits & ~ACCESS_ALL)
        return s_bad(v, C_INVALID, field,
                     "unknown access bits 0x%x (known: ground_floor 1, lift 2, no_steps 4, "
                     "wheelchair 8)",
                     (unsigned)(bits & ~ACCESS_ALL));
    return 0;
}

/* A field the suite sets itself: a client may leave it empty or repeat
 * exactly what the suite would set. */
static int s_check_own(wz_verdict_t *v, const char *field, const char *given, const char *own,
                       const char *what)
{
    char q[48];
    if (!s_empty(given) && strcmp(given, own) != 0)
        return s_bad(v, C_FORBIDDEN, field, "'%s' is not your %s ('%s'); leave it empty",
                     s_quote(given, q, sizeof q), what, own);
    return 0;
}

/* The municipality must be one of the actor's region; one of another region
 * is forbidden, an unknown one invalid. */
static int s_check_municipality(wz_verdict_t *v, const char *field, const char *id,
                                const wz_policy_t *policy, const wz_region_t *region,
                                const wz_municipality_t **out)
{
    char q[48];
    if (out)
        *out = NULL;
    if (s_empty(id))
        return s_bad(v, C_INVALID, field, "is required");
    const wz_municipality_t *m = wz_region_municipality(region, id);
    if (m) {
        if (out)
            *out = m;
        return 0;
    }
    for (size_t i = 0; i < policy->n_regions; i++)
        if (wz_region_municipality(&policy->regions[i], id))
            return s_bad(v, C_FORBIDDEN, field,
                         "municipality '%s' belongs to region '%s', not to your region '%s'",
                         s_quote(id, q, sizeof q), policy->regions[i].id, region->id);
    return s_bad(v, C_INVALID, field, "unknown municipality '%s' in region '%s'",
                 s_quote(id, q, sizeof q), region->id);
}

static bool s_region_has_neighbourhood(const wz_region_t *region, const char *code)
{
    for (size_t i = 0; i < region->n_municipalities; i++)
        if (wz_municipality_neighbourhood(&region->municipalities[i], code))
            return true;
    return false;
}

static int s_check_date(wz_verdict_t *v, const char *field, const WzDate *d, bool required)
{
    if (s_date_unset(d))
        return required ? s_bad(v, C_INVALID, field, "is required (a date YYYY-MM-DD)") : 0;
    if (!wz_date_valid(d))
        return s_bad(v, C_INVALID, field, "%04d-%02d-%02d is not a valid date", (int)d->year,
                     (int)d->month, (int)d->day);
    return 0;
}

static int s_vacancy(const WzVacancy *vac, const wz_policy_t *policy, const wz_party_t *actor,
                     const wz_region_t *region, wz_verdict_t *v)
{
    const char *b = "publish_vacancy";
    char f[96], q[48];
    const wz_municipality_t *m;
    if (!vac)
        return s_bad(v, C_INVALID, b, "is required");
    if (s_check_id(v, s_path(f, sizeof f, b, "id"), vac->id) ||
        s_check_own(v, s_path(f, sizeof f, b, "corporation"), vac->corporation, actor->id,
                    "party id") ||
        s_check_own(v, s_path(f, sizeof f, b, "region"), vac->region, actor->region, "region") ||
        s_check_municipality(v, s_path(f, sizeof f, b, "municipality"), vac->municipality, policy,
                             region, &m))
        return -1;
    s_path(f, sizeof f, b, "neighbourhood");
    if (s_empty(vac->neighbourhood))
        return s_bad(v, C_INVALID, f, "is required (a CBS buurt code)");
    if (!wz_municipality_neighbourhood(m, vac->neighbourhood))
        return s_bad(v, C_INVALID, f, "'%s' is not a neighbourhood of %s",
                     s_quote(vac->neighbourhood, q, sizeof q), m->id);
    if (s_check_id(v, s_path(f, sizeof f, b, "complex"), vac->complex))
        return -1;
    s_path(f, sizeof f, b, "address");
    if (s_empty(vac->address))
        return s_bad(v, C_INVALID, f, "is required");
    const char *why = s_text_problem(vac->address, WZ_MAX_ADDRESS);
    if (why)
        return s_bad(v, C_INVALID, f, "%s (at most %d bytes of printable UTF-8)", why,
                     WZ_MAX_ADDRESS);
    if (s_check_uint(v, s_path(f, sizeof f, b, "rooms"), vac->rooms, 1, WZ_MAX_ROOMS) ||
        s_check_uint(v, s_path(f, sizeof f, b, "floor_area_m2"), vac->floor_area_m2, MIN_AREA_M2,
                     WZ_MAX_AREA_M2))
        return -1;
    if (vac->rent_cents < 1 || vac->rent_cents > WZ_MAX_RENT_CENTS)
        return s_bad(v, C_INVALID, s_path(f, sizeof f, b, "rent_cents"),
                     "must be between 1 and %d euro cents, got %lld", WZ_MAX_RENT_CENTS,
                     (long long)vac->rent_cents);
    if (s_check_access(v, s_path(f, sizeof f, b, "access"), vac->access) ||
        s_check_date(v, s_path(f, sizeof f, b, "available_from"), vac->available_from, true))
        return -1;
    if (vac->state != WOONZORG__V1__VACANCY_STATE__VACANCY_STATE_UNSPECIFIED)
        return s_bad(v, C_INVALID, s_path(f, sizeof f, b, "state"),
                     "is set by the suite; leave it empty");
    if (!s_empty(vac->proposal_id))
        return s_bad(v, C_INVALID, s_path(f, sizeof f, b, "proposal_id"),
                     "is set by the suite; leave it empty");
    if (!s_empty(vac->nominator))
        return s_bad(v, C_INVALID, s_path(f, sizeof f, b, "nominator"),
                     "is set by the suite; leave it empty");
    if (!s_empty(vac->stairwell) && s_check_id(v, s_path(f, sizeof f, b, "stairwell"),
                                               vac->stairwell))
        return -1;
    if (!s_empty(vac->scheme)) {
        const wz_scheme_t *sc = wz_policy_scheme(policy, vac->scheme);
        s_path(f, sizeof f, b, "scheme");
        if (!sc || strcmp(sc->region, region->id) != 0)
            return s_bad(v, C_INVALID, f, "'%s' is not a scheme of region '%s'",
                         s_quote(vac->scheme, q, sizeof q), region->id);
        if (!wz_scheme_has_corporation(sc, actor->id))
            return s_bad(v, C_FORBIDDEN, f, "%s is not a party to scheme '%s'", actor->id,
                         sc->id);
    }
    return 0;
}

/* A decline reason: one of the policy's ids, optionally followed by ": " and
 * a note; free text when the policy configures none. */
static int s_check_reason(wz_verdict_t *v, const char *field, const char *reason,
                          const wz_policy_t *policy, bool required)
{
    if (s_empty(reason)) {
        if (required && policy->n_decline_reasons > 0)
            return s_bad(v, C_INVALID, field, "is required: one of the policy's decline reasons "
                         "(e.g. '%s'), optionally followed by ': ' and a note",
                         policy->decline_reasons[0].id);
        return 0;
    }
    const char *why = s_text_problem(reason, WZ_MAX_REASON);
    if (why)
        return s_bad(v, C_INVALID, field, "%s (at most %d bytes of printable UTF-8)", why,
                     WZ_MAX_REASON);
    if (policy->n_decline_reasons == 0)
        return 0;
    char id[WZ_ID_MAX] = "";
    size_t len = strcspn(reason, ":");
    if (len < sizeof id) {
        memcpy(id, reason, len);
        id[len] = '\0';
    }
    if (!wz_policy_decline_reason(policy, id)) {
        char list[256] = "";
        size_t used = 0;
        for (size_t i = 0; i < policy->n_decline_reasons && used < sizeof list; i++) {
            int n = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                             policy->decline_reasons[i].id);
            used += n > 0 ? (size_t)n : 0;
        }
        char q[48];
        return s_bad(v, C_INVALID, field, "'%s' is not a decline reason of the policy (%s)",
                     s_quote(*id ? id : reason, q, sizeof q), list);
    }
    return 0;
}

static int s_candidate(const WzCandidate *c, const wz_policy_t *policy, const wz_party_t *actor,
                       const wz_region_t *region, wz_verdict_t *v)
{
    const char *b = "register_candidate";
    char f[96], q[48];
    if (!c)
        return s_bad(v, C_INVALID, b, "is required");
    if (s_check_id(v, s_path(f, sizeof f, b, "id"), c->id) ||
        s_check_own(v, s_path(f, sizeof f, b, "care_provider"), c->care_provider, actor->id,
                    "party id") ||
        s_check_own(v, s_path(f, sizeof f, b, "region"), c->region, actor->region, "region") ||
        s_check_municipality(v, s_path(f, sizeof f, b, "municipality"), c->municipality, policy,
                             region, NULL))
        return -1;
    s_path(f, sizeof f, b, "group");
    if (s_empty(c->group))
        return s_bad(v, C_INVALID, f, "is required (a target group of the policy)");
    if (!wz_policy_has_group(policy, c->group))
        return s_bad(v, C_INVALID, f, "unknown target group '%s'", s_quote(c->group, q, sizeof q));
    if (!c->household)
        return s_bad(v, C_INVALID, s_path(f, sizeof f, b, "household"), "is required");
    if (s_check_uint(v, s_path(f, sizeof f, b, "household.adults"), c->household->adults, 1,
                     WZ_MAX_PERSONS))
        return -1;
    if ((uint64_t)c->household->adults + c->household->children > WZ_MAX_PERSONS)
        return s_bad(v, C_INVALID, s_path(f, sizeof f, b, "household.children"),
                     "a household has at most %d persons, got %u adults and %u children",
                     WZ_MAX_PERSONS, (unsigned)c->household->adults,
                     (unsigned)c->household->children);
    if (c->age_band < WOONZORG__V1__AGE_BAND__AGE_BAND_UNDER_23 ||
        c->age_band > WOONZORG__V1__AGE_BAND__AGE_BAND_PENSION)
        return s_bad(v, C_INVALID, s_path(f, sizeof f, b, "age_band"),
                     "is required (under_23, adult or pension)");
    if (c->income_class < WOONZORG__V1__INCOME_CLASS__INCOME_CLASS_BELOW_LIMIT ||
        c->income_class > WOONZORG__V1__INCOME_CLASS__INCOME_CLASS_ABOVE_LIMIT)
        return s_bad(v, C_INVALID, s_path(f, sizeof f, b, "income_class"),
                     "is required (below_limit or above_limit)");
    if (s_check_access(v, s_path(f, sizeof f, b, "access_needs"), c->access_needs))
        return -1;

    s_path(f, sizeof f, b, "acceptable_municipalities");
    if (c->n_acceptable_municipalities > WZ_MAX_LIST)
        return s_bad(v, C_INVALID, f, "at most %d entries, got %zu", WZ_MAX_LIST,
                     c->n_acceptable_municipalities);
    for (size_t i = 0; i < c->n_acceptable_municipalities; i++)
        if (s_check_municipality(v, f, c->acceptable_municipalities[i], policy, region, NULL))
            return -1;
    s_path(f, sizeof f, b, "excluded_neighbourhoods");
    if (c->n_excluded_neighbourhoods > WZ_MAX_LIST)
        return s_bad(v, C_INVALID, f, "at most %d entries, got %zu", WZ_MAX_LIST,
                     c->n_excluded_neighbourhoods);
    for (size_t i = 0; i < c->n_excluded_neighbourhoods; i++) {
        const char *code = c->excluded_neighbourhoods[i];
        if (s_empty(code) || !s_region_has_neighbourhood(region, code))
            return s_bad(v, C_INVALID, f, "'%s' is not a neighbourhood of region '%s'",
                         s_quote(code, q, sizeof q), region->id);
    }
    /* consent false is allowed: such a candidate is never matched, and an
     * update without consent withdraws it (open proposals are cancelled). */
    s_path(f, sizeof f, b, "care_location");
    if (!s_empty(c->care_location) && !s_region_has_neighbourhood(region, c->care_location))
        return s_bad(v, C_INVALID, f, "'%s' is not a neighbourhood of region '%s'",
                     s_quote(c->care_location, q, sizeof q), region->id);
    if (c->max_distance_km > WZ_MAX_DISTANCE_KM)
        return s_bad(v, C_INVALID, s_path(f, sizeof f, b, "max_distance_km"),
                     "at most %d km, got %u", WZ_MAX_DISTANCE_KM, (unsigned)c->max_distance_km);
    if (c->max_distance_km > 0 && s_empty(c->care_location))
        return s_bad(v, C_INVALID, s_path(f, sizeof f, b, "care_location"),
                     "is required with max_distance_km (the distance is measured from it)");
    if (s_check_date(v, s_path(f, sizeof f, b, "parked_until"), c->parked_until, false))
        return -1;
    s_path(f, sizeof f, b, "park_reason");
    if (!s_date_unset(c->parked_until) && s_empty(c->park_reason))
        return s_bad(v, C_INVALID, f, "is required when the candidate is parked");
    if (!s_empty(c->park_reason)) {
        const char *why = s_text_problem(c->park_reason, WZ_MAX_REASON);
        if (why)
            return s_bad(v, C_INVALID, f, "%s (at most %d bytes of printable UTF-8)", why,
                         WZ_MAX_REASON);
    }
    if (c->refusals || c->extensions || !s_date_unset(c->urgency_until) || !s_empty(c->scheme))
        return s_bad(v, C_INVALID, s_path(f, sizeof f, b, "refusals"),
                     "refusals, extensions, urgency_until and scheme are kept by matching; leave "
                     "them empty");
    if (!s_date_unset(c->urgency_date))
        return s_bad(v, C_INVALID, s_path(f, sizeof f, b, "urgency_date"),
                     "is set by the municipality's grant_urgency; leave it empty");
    if (!s_empty(c->urgency_by))
        return s_bad(v, C_INVALID, s_path(f, sizeof f, b, "urgency_by"),
                     "is set by the suite; leave it empty");
    if (c->state != WOONZORG__V1__CANDIDATE_STATE__CANDIDATE_STATE_UNSPECIFIED)
        return s_bad(v, C_INVALID, s_path(f, sizeof f, b, "state"),
                     "is set by the suite; leave it empty");
    return 0;
}

/* Which role may send a body, and how to say it in a refusal. */
typedef struct {
    Woonzorg__V1__Request__BodyCase body;
    const char *name;
    const char *verb; /* "a care_provider may not <verb>" */
    int role;         /* 0: any role */
} s_rule_t;

static const s_rule_t s_rules[] = {
    {WOONZORG__V1__REQUEST__BODY_PUBLISH_VACANCY, "publish_vacancy", "publish vacancies",
     WZ_ROLE_CORPORATION},
    {WOONZORG__V1__REQUEST__BODY_WITHDRAW_VACANCY, "withdraw_vacancy", "withdraw vacancies",
     WZ_ROLE_CORPORATION},
    {WOONZORG__V1__REQUEST__BODY_SIGN_LEASE, "sign_lease", "sign leases", WZ_ROLE_CORPORATION},
    {WOONZORG__V1__REQUEST__BODY_REGISTER_CANDIDATE, "register_candidate", "register candidates",
     WZ_ROLE_CARE_PROVIDER},
    {WOONZORG__V1__REQUEST__BODY_WITHDRAW_CANDIDATE, "withdraw_candidate", "withdraw candidates",
     WZ_ROLE_CARE_PROVIDER},
    {WOONZORG__V1__REQUEST__BODY_ANSWER, "answer", "answer proposals", WZ_ROLE_CARE_PROVIDER},
    {WOONZORG__V1__REQUEST__BODY_GRANT_URGENCY, "grant_urgency", "grant urgency",
     WZ_ROLE_MUNICIPALITY},
    {WOONZORG__V1__REQUEST__BODY_STATUS, "status", "ask for status", 0},
    {WOONZORG__V1__REQUEST__BODY_CONFIRM_STEP, "confirm_step", "confirm route steps", 0},
    {WOONZORG__V1__REQUEST__BODY_NOMINATE, "nominate", "nominate candidates",
     WZ_ROLE_CARE_PROVIDER},
    {WOONZORG__V1__REQUEST__BODY_AUDIT, "audit", "query the audit log", WZ_ROLE_MUNICIPALITY},
};

static int s_body(const WzRequest *req, const wz_policy_t *policy, const wz_party_t *actor,
                  const wz_region_t *region, wz_verdict_t *v)
{
    switch (req->body_case) {
    case WOONZORG__V1__REQUEST__BODY_PUBLISH_VACANCY:
        return s_vacancy(req->publish_vacancy, policy, actor, region, v);
    case WOONZORG__V1__REQUEST__BODY_REGISTER_CANDIDATE:
        return s_candidate(req->register_candidate, policy, actor, region, v);
    case WOONZORG__V1__REQUEST__BODY_WITHDRAW_VACANCY:
        if (!req->withdraw_vacancy)
            return s_bad(v, C_INVALID, "withdraw_vacancy", "is required");
        return s_check_id(v, "withdraw_vacancy.id", req->withdraw_vacancy->id);
    case WOONZORG__V1__REQUEST__BODY_WITHDRAW_CANDIDATE:
        if (!req->withdraw_candidate)
            return s_bad(v, C_INVALID, "withdraw_candidate", "is required");
        return s_check_id(v, "withdraw_candidate.id", req->withdraw_candidate->id);
    case WOONZORG__V1__REQUEST__BODY_GRANT_URGENCY: {
        const Woonzorg__V1__GrantUrgency *g = req->grant_urgency;
        if (!g)
            return s_bad(v, C_INVALID, "grant_urgency", "is required");
        if (s_check_id(v, "grant_urgency.candidate_id", g->candidate_id) ||
            s_check_date(v, "grant_urgency.date", g->date, false))
            return -1;
        if (g->extend && !s_date_unset(g->date))
            return s_bad(v, C_INVALID, "grant_urgency.date",
                         "an extension keeps the urgency date; leave it empty");
        return 0;
    }
    case WOONZORG__V1__REQUEST__BODY_ANSWER: {
        const Woonzorg__V1__Answer *a = req->answer;
        if (!a)
            return s_bad(v, C_INVALID, "answer", "is required");
        if (s_check_proposal_id(v, "answer.proposal_id", a->proposal_id))
            return -1;
        return s_check_reason(v, "answer.reason", a->reason, policy, !a->accept);
    }
    case WOONZORG__V1__REQUEST__BODY_CONFIRM_STEP: {
        const Woonzorg__V1__ConfirmStep *c = req->confirm_step;
        if (!c)
            return s_bad(v, C_INVALID, "confirm_step", "is required");
        if (s_check_proposal_id(v, "confirm_step.proposal_id", c->proposal_id) ||
            s_check_id(v, "confirm_step.step", c->step))
            return -1;
        /* A verdict on a refusal is yes or no; a turned-down step needs a reason. */
        return s_check_reason(v, "confirm_step.reason", c->reason, policy,
                              !c->ok && strcmp(c->step, "decline") != 0);
    }
    case WOONZORG__V1__REQUEST__BODY_NOMINATE: {
        const Woonzorg__V1__Nominate *n = req->nominate;
        if (!n)
            return s_bad(v, C_INVALID, "nominate", "is required");
        if (s_check_id(v, "nominate.vacancy_id", n->vacancy_id) ||
            s_check_id(v, "nominate.candidate_id", n->candidate_id))
            return -1;
        return 0;
    }
    case WOONZORG__V1__REQUEST__BODY_SIGN_LEASE: {
        const Woonzorg__V1__SignLease *s = req->sign_lease;
        if (!s)
            return s_bad(v, C_INVALID, "sign_lease", "is required");
        if (s_check_id(v, "sign_lease.vacancy_id", s->vacancy_id))
            return -1;
        if (s->contract < WOONZORG__V1__CONTRACT_TYPE__CONTRACT_TYPE_REGULAR ||
            s->contract > WOONZORG__V1__CONTRACT_TYPE__CONTRACT_TYPE_TEMPORARY_MO)
            return s_bad(v, C_INVALID, "sign_lease.contract",
                         "is required (regular, three-party, omklap, second-chance or "
                         "temporary-mo)");
        return 0;
    }
    case WOONZORG__V1__REQUEST__BODY_STATUS: {
        const Woonzorg__V1__StatusQuery *s = req->status;
        if (!s)
            return s_bad(v, C_INVALID, "status", "is required");
        switch (s->kind) {
        case WOONZORG__V1__STATUS_QUERY__KIND__KIND_VACANCY:
        case WOONZORG__V1__STATUS_QUERY__KIND__KIND_CANDIDATE:
            return s_check_id(v, "status.id", s->id);
        case WOONZORG__V1__STATUS_QUERY__KIND__KIND_PROPOSAL:
        case WOONZORG__V1__STATUS_QUERY__KIND__KIND_REPLAY:
            return s_check_proposal_id(v, "status.id", s->id);
        default:
            return s_bad(v, C_INVALID, "status.kind",
                         "must be vacancy, candidate, proposal or replay");
        }
    }
    case WOONZORG__V1__REQUEST__BODY_AUDIT:
        if (!req->audit)
            return s_bad(v, C_INVALID, "audit", "is required");
        if (req->audit->last > MAX_AUDIT_LAST)
            return s_bad(v, C_INVALID, "audit.last", "at most %d entries, got %u", MAX_AUDIT_LAST,
                         (unsigned)req->audit->last);
        return 0;
    default:
        return wz_verdict_set(v, C_UNKNOWN, "", "request body %d is not known here",
                              (int)req->body_case);
    }
}

int wz_validate_request(const WzRequest *req, const wz_policy_t *policy, const wz_party_t *actor,
                        wz_verdict_t *v)
{
    char q[48];
    memset(v, 0, sizeof *v);
    v->code = C_OK;
    if (!req)
        return wz_verdict_set(v, WOONZORG__V1__CODE__CODE_MALFORMED, "", "no request");
    if (s_empty(req->request_id))
        return s_bad(v, C_INVALID, "request_id", "is required");
    if (!s_charset(req->request_id, MAX_REQUEST_ID, false))
        return s_bad(v, C_INVALID, "request_id", "'%s' must be 1..%d of A-Z a-z 0-9 . _ -",
                     s_quote(req->request_id, q, sizeof q), MAX_REQUEST_ID);
    const s_rule_t *rule = NULL;
    for (size_t i = 0; i < sizeof s_rules / sizeof s_rules[0]; i++)
        if (s_rules[i].body == req->body_case)
            rule = &s_rules[i];
    if (!rule)
        return wz_verdict_set(v, C_UNKNOWN, "",
                              req->body_case == WOONZORG__V1__REQUEST__BODY__NOT_SET
                                  ? "the request has no body"
                                  : "the request body is not known here");
    if (!actor)
        return wz_verdict_set(v, C_FORBIDDEN, "", "the sender is not a known party");
    if (rule->role != 0 && (int)actor->role != rule->role)
        return wz_verdict_set(v, C_FORBIDDEN, rule->name, "a %s may not %s (only a %s may)",
                              wz_role_name(actor->role), rule->verb,
                              wz_role_name((wz_role_t)rule->role));
    const wz_region_t *region = wz_policy_region(policy, actor->region);
    if (!region)
        return wz_verdict_set(v, C_FORBIDDEN, "", "party '%s' belongs to no known region",
                              actor->id);
    if (s_body(req, policy, actor, region, v) != 0)
        return -1;
    v->code = C_OK;
    v->field[0] = '\0';
    v->message[0] = '\0';
    return 0;
}
