/* wzctl_print.c - readable renderings of replies, states, deliveries and
 * audit entries: what a person at a terminal wants to see, one idea a line. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "wz_util.h"
#include "wzctl.h"

static const char *s_or(const char *s, const char *fallback)
{
    return (s && *s) ? s : fallback;
}

/* Local wall time "YYYY-MM-DD HH:MM" of unix ms. */
static void s_local_time(int64_t ms, char *out, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (ms <= 0 || !localtime_r(&t, &tm) || strftime(out, len, "%Y-%m-%d %H:%M", &tm) == 0)
        snprintf(out, len, "-");
}

static void s_date(const WzDate *d, char out[11])
{
    if (!d || (d->year == 0 && d->month == 0 && d->day == 0))
        snprintf(out, 11, "-");
    else
        wz_date_format(d, out);
}

static void s_money(int64_t cents, char *out, size_t len)
{
    long long c = (long long)cents;
    snprintf(out, len, "\xe2\x82\xac%s%lld.%02lld", c < 0 ? "-" : "", (c < 0 ? -c : c) / 100,
             (c < 0 ? -c : c) % 100);
}

static const char *s_enum(const ProtobufCEnumDescriptor *d, int value, char *buf, size_t len)
{
    wzctl_enum_name(d, value, buf, len);
    for (char *p = buf; *p; p++) /* OFFERED -> offered: states read as words */
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return buf;
}

void wzctl_print_error(FILE *out, WzCode code, const char *field, const char *message,
                       const char *where)
{
    char name[32];
    wzctl_enum_name(&woonzorg__v1__code__descriptor, code, name, sizeof name);
    const char *msg = s_or(message, "(no message)");
    /* Validation messages start with the field path; it is already shown. */
    size_t flen = field ? strlen(field) : 0;
    if (flen && strncmp(msg, field, flen) == 0 && msg[flen] == ':' && msg[flen + 1] == ' ')
        msg += flen + 2;
    if (field && *field)
        fprintf(out, "error: %s (%s): %s", name, field, msg);
    else
        fprintf(out, "error: %s: %s", name, msg);
    if (where && *where)
        fprintf(out, " (%s)", where);
    fputc('\n', out);
}

void wzctl_print_ok(FILE *out, wzctl_cmd_t cmd, const wzctl_args_t *a, const WzReply *r)
{
    const char *id = s_or(r->id, a->npos > 0 ? a->pos[a->npos - 1] : "");
    char date[11];
    if (r->message && *r->message) {
        /* The server says what it did, with what it decided (a date, ...). */
        fprintf(out, "OK  %s\n", r->message);
        return;
    }
    switch (cmd) {
    case WZCTL_CMD_PUBLISH:
        fprintf(out, "OK  vacancy %s published", id);
        break;
    case WZCTL_CMD_WITHDRAW:
        fprintf(out, "OK  vacancy %s withdrawn", s_or(r->id, a->pos[0]));
        break;
    case WZCTL_CMD_REGISTER:
        fprintf(out, "OK  candidate %s registered", id);
        break;
    case WZCTL_CMD_WITHDRAW_CANDIDATE:
        fprintf(out, "OK  candidate %s withdrawn", s_or(r->id, a->pos[0]));
        break;
    case WZCTL_CMD_GRANT_URGENCY:
        s_date(&a->date, date);
        fprintf(out, "OK  urgency granted to candidate %s%s%s", s_or(r->id, a->pos[0]),
                a->date.year ? " as of " : "", a->date.year ? date : "");
        break;
    case WZCTL_CMD_ANSWER:
        fprintf(out, "OK  proposal %s %s", s_or(r->id, a->pos[0]),
                strcmp(a->pos[1], "accept") == 0 ? "accepted" : "declined");
        break;
    case WZCTL_CMD_SIGNED:
        fprintf(out, "OK  lease signed for vacancy %s (%s)", s_or(r->id, a->pos[0]),
                wzctl_contract_name(a->contract));
        break;
    default:
        fprintf(out, "OK  %s", id);
        break;
    }
    fputc('\n', out);
}

/* --- status ------------------------------------------------------------------------- */

#define ROW(out, key, fmt, ...) fprintf(out, "%-16s" fmt "\n", key, __VA_ARGS__)

static void s_status_vacancy(FILE *out, const WzVacancy *v)
{
    char buf[64], date[11], money[32];
    ROW(out, "vacancy", "%s", v->id);
    ROW(out, "state", "%s",
        s_enum(&woonzorg__v1__vacancy_state__descriptor, v->state, buf, sizeof buf));
    ROW(out, "corporation", "%s", s_or(v->corporation, "-"));
    ROW(out, "region", "%s", s_or(v->region, "-"));
    ROW(out, "municipality", "%s", s_or(v->municipality, "-"));
    ROW(out, "neighbourhood", "%s", s_or(v->neighbourhood, "-"));
    ROW(out, "complex", "%s", s_or(v->complex, "-"));
    ROW(out, "address", "%s", s_or(v->address, "-"));
    ROW(out, "rooms", "%u", (unsigned)v->rooms);
    ROW(out, "floor area", "%u m2", (unsigned)v->floor_area_m2);
    s_money(v->rent_cents, money, sizeof money);
    ROW(out, "rent", "%s a month", money);
    wzctl_access_format(v->access, buf, sizeof buf);
    ROW(out, "access", "%s", buf);
    s_date(v->available_from, date);
    ROW(out, "available from", "%s", date);
    ROW(out, "proposal", "%s", s_or(v->proposal_id, "-"));
}

static void s_join(char **items, size_t n, char *out, size_t len)
{
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t used = strlen(out);
        snprintf(out + used, len - used, "%s%s", i ? ", " : "", items[i]);
    }
}

static void s_status_candidate(FILE *out, const WzCandidate *c)
{
    char buf[64], date[11], list[512];
    ROW(out, "candidate", "%s", c->id);
    ROW(out, "state", "%s",
        s_enum(&woonzorg__v1__candidate_state__descriptor, c->state, buf, sizeof buf));
    ROW(out, "care provider", "%s", s_or(c->care_provider, "-"));
    ROW(out, "region", "%s", s_or(c->region, "-"));
    ROW(out, "municipality", "%s", s_or(c->municipality, "-"));
    ROW(out, "group", "%s", s_or(c->group, "-"));
    if (c->household)
        ROW(out, "household", "%u adult(s), %u child(ren)", (unsigned)c->household->adults,
            (unsigned)c->household->children);
    ROW(out, "age band", "%s", wzctl_age_band_name(c->age_band));
    ROW(out, "income", "%s", wzctl_income_name(c->income_class));
    wzctl_access_format(c->access_needs, buf, sizeof buf);
    ROW(out, "access needs", "%s", buf);
    s_join(c->acceptable_municipalities, c->n_acceptable_municipalities, list, sizeof list);
    ROW(out, "acceptable", "%s", list[0] ? list : "the whole region");
    s_join(c->excluded_neighbourhoods, c->n_excluded_neighbourhoods, list, sizeof list);
    ROW(out, "excluded", "%s", list[0] ? list : "-");
    ROW(out, "consent", "%s", c->consent ? "yes" : "no");
    s_date(c->urgency_date, date);
    ROW(out, "urgency", "%s%s%s", date, c->urgency_by && *c->urgency_by ? " by " : "",
        s_or(c->urgency_by, ""));
    if (c->urgency_until && c->urgency_until->year) {
        s_date(c->urgency_until, date);
        ROW(out, "urgency until", "%s%s", date, c->extensions ? " (extended)" : "");
    }
    ROW(out, "refusals", "%u", (unsigned)c->refusals);
    if (c->parked_until && c->parked_until->year) {
        s_date(c->parked_until, date);
        ROW(out, "parked until", "%s: %s", date, s_or(c->park_reason, "-"));
    }
    if (c->care_location && *c->care_location)
        ROW(out, "care location", "%s%s", c->care_location,
            c->max_distance_km ? "" : " (no distance limit)");
    if (c->max_distance_km)
        ROW(out, "max distance", "%u km", (unsigned)c->max_distance_km);
}

/* The rank row of an explanation: "1 of 2 eligible (3 considered)", or for
 * a decision on the candidate index, which stops at the first eligible
 * candidate, "1 (3 considered; 1 eligible found, 1 ranked after it not
 * examined)". */
static void s_rank_row(const WzExplanation *x, char *out, size_t len)
{
    if (x->not_examined > 0)
        snprintf(out, len, "%u (%u considered; %u eligible found, %u ranked after it not examined)",
                 (unsigned)x->rank, (unsigned)x->considered, (unsigned)x->eligible,
                 (unsigned)x->not_examined);
    else
        snprintf(out, len, "%u of %u eligible (%u considered)", (unsigned)x->rank,
                 (unsigned)x->eligible, (unsigned)x->considered);
}

static void s_status_proposal(FILE *out, const WzProposal *p)
{
    char buf[64], when[32];
    ROW(out, "proposal", "%s", p->id);
    ROW(out, "state", "%s",
        s_enum(&woonzorg__v1__proposal_state__descriptor, p->state, buf, sizeof buf));
    ROW(out, "vacancy", "%s", s_or(p->vacancy_id, "-"));
    ROW(out, "candidate", "%s", s_or(p->candidate_id, "-"));
    if (p->scheme && *p->scheme)
        ROW(out, "scheme", "%s, step %s", p->scheme, s_or(p->step, "-"));
    ROW(out, "corporation", "%s", s_or(p->corporation, "-"));
    ROW(out, "care provider", "%s", s_or(p->care_provider, "-"));
    ROW(out, "municipality", "%s", s_or(p->municipality, "-"));
    ROW(out, "round", "%u", (unsigned)p->round);
    s_local_time(p->created_ms, when, sizeof when);
    ROW(out, "created", "%s", when);
    s_local_time(p->deadline_ms, when, sizeof when);
    ROW(out, "answer before", "%s", when);
    /* A party sees only its part of the explanation (docs/security.md). */
    if (p->explanation) {
        if (p->explanation->rank > 0) {
            char rank[128];
            s_rank_row(p->explanation, rank, sizeof rank);
            ROW(out, "rank", "%s", rank);
        } else if (p->explanation->considered > 0) {
            ROW(out, "eligible", "%u of %u considered", (unsigned)p->explanation->eligible,
                (unsigned)p->explanation->considered);
        }
        if (p->explanation->summary && *p->explanation->summary)
            ROW(out, "why", "%s", p->explanation->summary);
    }
    if (p->decline_reason && *p->decline_reason)
        ROW(out, "decline reason", "%s", p->decline_reason);
    if (p->contract)
        ROW(out, "contract", "%s", wzctl_contract_name(p->contract));
}

void wzctl_print_status(FILE *out, const WzReply *r)
{
    switch (r->result_case) {
    case WOONZORG__V1__REPLY__RESULT_VACANCY:
        s_status_vacancy(out, r->vacancy);
        break;
    case WOONZORG__V1__REPLY__RESULT_CANDIDATE:
        s_status_candidate(out, r->candidate);
        break;
    case WOONZORG__V1__REPLY__RESULT_PROPOSAL:
        s_status_proposal(out, r->proposal);
        break;
    default:
        fprintf(out, "OK  %s%s%s\n", s_or(r->id, ""), r->message && *r->message ? " - " : "",
                s_or(r->message, ""));
        break;
    }
}

/* --- events ------------------------------------------------------------------------- */

/* "rank 1 of 3 eligible" or "nobody eligible of 7"; for a proposal (chosen)
 * the reader may see only the counts or nothing of the ranking (wz_minimise). */
static void s_rank(const WzExplanation *x, bool chosen, char *out, size_t len)
{
    if (!x)
        snprintf(out, len, "no explanation");
    else if (x->rank > 0 && x->not_examined > 0)
        snprintf(out, len, "rank %u, %u ranked after not examined", (unsigned)x->rank,
                 (unsigned)x->not_examined);
    else if (x->rank > 0)
        snprintf(out, len, "rank %u of %u eligible", (unsigned)x->rank, (unsigned)x->eligible);
    else if (chosen && x->considered > 0)
        snprintf(out, len, "%u eligible of %u considered", (unsigned)x->eligible,
                 (unsigned)x->considered);
    else if (chosen)
        snprintf(out, len, "ranking not shown");
    else
        snprintf(out, len, "nobody eligible of %u considered", (unsigned)x->considered);
}

/* The event's kind in words and its ids; a second line for an explanation. */
static void s_event(FILE *out, const WzEvent *e, const char *indent)
{
    char buf[128], when[32], money[32], date[11];
    const WzExplanation *why = NULL;
    switch (e->payload_case) {
    case WOONZORG__V1__EVENT__PAYLOAD_VACANCY_PUBLISHED: {
        const WzVacancy *v = e->vacancy_published->vacancy;
        if (!v) {
            fprintf(out, "vacancy published");
            break;
        }
        s_money(v->rent_cents, money, sizeof money);
        fprintf(out, "vacancy published  %s (%s, %s, %u rooms, %u m2, %s)", v->id,
                s_or(v->municipality, "-"), s_or(v->address, "-"), (unsigned)v->rooms,
                (unsigned)v->floor_area_m2, money);
        break;
    }
    case WOONZORG__V1__EVENT__PAYLOAD_VACANCY_WITHDRAWN:
        fprintf(out, "vacancy withdrawn  %s (%s)", e->vacancy_withdrawn->vacancy_id,
                s_or(e->vacancy_withdrawn->corporation, "-"));
        break;
    case WOONZORG__V1__EVENT__PAYLOAD_CANDIDATE_REGISTERED:
    case WOONZORG__V1__EVENT__PAYLOAD_CANDIDATE_UPDATED: {
        bool reg = e->payload_case == WOONZORG__V1__EVENT__PAYLOAD_CANDIDATE_REGISTERED;
        const WzCandidate *c =
            reg ? e->candidate_registered->candidate : e->candidate_updated->candidate;
        fprintf(out, "candidate %s  %s (%s)", reg ? "registered" : "updated", c ? c->id : "-",
                c ? s_or(c->municipality, "-") : "-");
        break;
    }
    case WOONZORG__V1__EVENT__PAYLOAD_CANDIDATE_WITHDRAWN:
        fprintf(out, "candidate withdrawn  %s", e->candidate_withdrawn->candidate_id);
        break;
    case WOONZORG__V1__EVENT__PAYLOAD_URGENCY_GRANTED:
        s_date(e->urgency_granted->date, date);
        fprintf(out, "urgency granted  candidate %s by %s as of %s",
                e->urgency_granted->candidate_id, s_or(e->urgency_granted->municipality, "-"),
                date);
        break;
    case WOONZORG__V1__EVENT__PAYLOAD_PROPOSAL_ANSWERED: {
        const WzProposal *p = e->proposal_answered->proposal;
        fprintf(out, "proposal %s  %s (vacancy %s, candidate %s)",
                e->proposal_answered->accepted ? "accepted" : "declined", p ? p->id : "-",
                p ? s_or(p->vacancy_id, "-") : "-", p ? s_or(p->candidate_id, "-") : "-");
        if (e->proposal_answered->reason && *e->proposal_answered->reason)
            fprintf(out, ": %s", e->proposal_answered->reason);
        break;
    }
    case WOONZORG__V1__EVENT__PAYLOAD_LEASE_SIGNED:
        fprintf(out, "lease signed  vacancy %s (%s)", e->lease_signed->vacancy_id,
                wzctl_contract_name(e->lease_signed->contract));
        break;
    case WOONZORG__V1__EVENT__PAYLOAD_PROPOSAL_CREATED: {
        const WzProposal *p = e->proposal_created->proposal;
        if (!p) {
            fprintf(out, "proposal created");
            break;
        }
        why = p->explanation;
        s_local_time(p->deadline_ms, when, sizeof when);
        s_rank(why, true, buf, sizeof buf);
        fprintf(out, "proposal created  %s \xe2\x86\x92 candidate %s, answer before %s (%s)", p->id,
                s_or(p->candidate_id, "not shown"), when, buf);
        break;
    }
    case WOONZORG__V1__EVENT__PAYLOAD_PROPOSAL_EXPIRED: {
        const WzProposal *p = e->proposal_expired->proposal;
        fprintf(out, "proposal expired  %s (vacancy %s, candidate %s)", p ? p->id : "-",
                p ? s_or(p->vacancy_id, "-") : "-", p ? s_or(p->candidate_id, "-") : "-");
        break;
    }
    case WOONZORG__V1__EVENT__PAYLOAD_PROPOSAL_CANCELLED: {
        const WzProposal *p = e->proposal_cancelled->proposal;
        fprintf(out, "proposal cancelled  %s (vacancy %s, candidate %s)", p ? p->id : "-",
                p ? s_or(p->vacancy_id, "-") : "-", p ? s_or(p->candidate_id, "-") : "-");
        if (e->proposal_cancelled->reason && *e->proposal_cancelled->reason)
            fprintf(out, ": %s", e->proposal_cancelled->reason);
        break;
    }
    case WOONZORG__V1__EVENT__PAYLOAD_VACANCY_RELEASED: {
        const WzVacancy *v = e->vacancy_released->vacancy;
        why = e->vacancy_released->explanation;
        s_rank(why, false, buf, sizeof buf);
        fprintf(out, "vacancy released  %s back to regular allocation (%s)", v ? v->id : "-", buf);
        break;
    }
    case WOONZORG__V1__EVENT__PAYLOAD_VACANCY_LET: {
        const WzVacancy *v = e->vacancy_let->vacancy;
        const WzProposal *p = e->vacancy_let->proposal;
        fprintf(out, "vacancy let  %s to candidate %s", v ? v->id : "-",
                p ? s_or(p->candidate_id, "-") : "-");
        break;
    }
    case WOONZORG__V1__EVENT__PAYLOAD_URGENCY_LAPSED:
        fprintf(out, "urgency lapsed  candidate %s (%s): %s", e->urgency_lapsed->candidate_id,
                s_or(e->urgency_lapsed->municipality, "-"), s_or(e->urgency_lapsed->reason, "-"));
        break;
    case WOONZORG__V1__EVENT__PAYLOAD_DEADLINE_REMINDER: {
        const WzProposal *p = e->deadline_reminder->proposal;
        s_local_time(p ? p->deadline_ms : 0, when, sizeof when);
        fprintf(out, "reminder  %s: step '%s' for the %s, before %s", p ? p->id : "-",
                s_or(e->deadline_reminder->step, "-"), s_or(e->deadline_reminder->role, "-"),
                when);
        break;
    }
    case WOONZORG__V1__EVENT__PAYLOAD_PROPOSAL_ADVANCED: {
        const WzProposal *p = e->proposal_advanced->proposal;
        s_local_time(p ? p->deadline_ms : 0, when, sizeof when);
        fprintf(out, "proposal %s  step '%s' done, now '%s' before %s", p ? p->id : "-",
                s_or(e->proposal_advanced->done_step, "-"), p ? s_or(p->step, "-") : "-", when);
        break;
    }
    case WOONZORG__V1__EVENT__PAYLOAD_STEP_CONFIRMED: {
        const WzProposal *p = e->step_confirmed->proposal;
        fprintf(out, "step %s  %s of proposal %s", s_or(e->step_confirmed->step, "-"),
                e->step_confirmed->ok ? "confirmed" : "turned down", p ? p->id : "-");
        if (e->step_confirmed->reason && *e->step_confirmed->reason)
            fprintf(out, ": %s", e->step_confirmed->reason);
        break;
    }
    case WOONZORG__V1__EVENT__PAYLOAD_NOMINATION_REQUESTED: {
        const WzVacancy *v = e->nomination_requested->vacancy;
        s_local_time(e->nomination_requested->deadline_ms, when, sizeof when);
        fprintf(out, "nominate  a candidate of %s for vacancy %s before %s",
                s_or(e->nomination_requested->care_provider, "-"), v ? v->id : "-", when);
        break;
    }
    case WOONZORG__V1__EVENT__PAYLOAD_NOMINATION_REFUSED:
        why = e->nomination_refused->explanation;
        fprintf(out, "nomination refused  %s for vacancy %s",
                s_or(e->nomination_refused->candidate_id, "-"),
                s_or(e->nomination_refused->vacancy_id, "-"));
        break;
    case WOONZORG__V1__EVENT__PAYLOAD_CANDIDATE_PURGED:
        fprintf(out, "candidate purged  %s (%s): every record erased",
                s_or(e->candidate_purged->candidate_id, "-"),
                s_or(e->candidate_purged->reason, "-"));
        break;
    case WOONZORG__V1__EVENT__PAYLOAD_NOTIFICATION_DELIVERED:
        fprintf(out, "notification delivered  to %s up to #%llu", e->notification_delivered->party,
                (unsigned long long)e->notification_delivered->up_to_seq);
        break;
    default:
        fprintf(out, "event %s (type %d)", s_or(e->id, "-"), (int)e->payload_case);
        break;
    }
    fputc('\n', out);
    if (why && why->summary && *why->summary)
        fprintf(out, "%s%s\n", indent, why->summary);
}

void wzctl_print_delivery(FILE *out, const WzDelivery *d)
{
    fprintf(out, "#%llu %-12s ", (unsigned long long)d->seq, s_or(d->reason, "-"));
    if (d->event)
        s_event(out, d->event, "    ");
    else
        fprintf(out, "(no event)\n");
}

void wzctl_print_audit(FILE *out, const WzAuditPage *page)
{
    if (!page || page->n_entries == 0) {
        fprintf(out, "(no audit entries)\n");
        return;
    }
    for (size_t i = 0; i < page->n_entries; i++) {
        const WzAuditEntry *a = page->entries[i];
        char when[32] = "-", hash[13] = "";
        if (a->event)
            s_local_time(a->event->occurred_ms, when, sizeof when);
        for (size_t k = 0; k < a->hash.len && k < 6; k++)
            snprintf(hash + 2 * k, sizeof hash - 2 * k, "%02x", a->hash.data[k]);
        fprintf(out, "#%llu %s %s %-14s ", (unsigned long long)a->seq, when, hash[0] ? hash : "-",
                a->event ? s_or(a->event->actor, "-") : "-");
        if (a->event)
            s_event(out, a->event, "    ");
        else if (a->erased)
            fprintf(out, "%s (erased: the candidate's data was destroyed)\n",
                    s_or(a->source, "-"));
        else
            fprintf(out, "%s\n", s_or(a->source, "-"));
    }
}

void wzctl_print_explanation(FILE *out, const WzProposal *p)
{
    if (!p || !p->explanation) {
        fprintf(out, "no explanation\n");
        return;
    }
    const WzExplanation *x = p->explanation;
    ROW(out, "proposal", "%s (vacancy %s, candidate %s)", p->id, p->vacancy_id, p->candidate_id);
    ROW(out, "scheme", "%s (%s), policy %s", x->scheme && *x->scheme ? x->scheme : "none",
        x->mode && *x->mode ? x->mode : "ranked", x->policy_version);
    char rank[128];
    s_rank_row(x, rank, sizeof rank);
    ROW(out, "rank", "%s", rank);
    ROW(out, "fit penalty", "%.1f (lower is better)", x->score);
    ROW(out, "ranking", "%s", x->ranking);
    fprintf(out, "rules, in order (removed / left):\n");
    unsigned left = x->considered;
    for (size_t i = 0; i < x->n_filters; i++) {
        left -= x->filters[i]->removed <= left ? x->filters[i]->removed : left;
        fprintf(out, "  %-18s %6u  %6u\n", x->filters[i]->rule, (unsigned)x->filters[i]->removed,
                left);
    }
    if (x->not_examined > 0)
        fprintf(out, "  %-18s %6u  %6u\n", "(not examined)", (unsigned)x->not_examined,
                left - (x->not_examined <= left ? x->not_examined : left));
    ROW(out, "why", "%s", x->summary);
}

void wzctl_print_verdict(FILE *out, const WzReplayVerdict *v)
{
    if (!v) {
        fprintf(out, "no verdict\n");
        return;
    }
    char on[16] = "?";
    if (v->decided_on)
        snprintf(on, sizeof on, "%04d-%02d-%02d", (int)v->decided_on->year,
                 (int)v->decided_on->month, (int)v->decided_on->day);
    /* format 2 holds the candidates walked in rank order, the others by bucket */
    ROW(out, "replay", "%s: %u candidates%s, %u buckets, %u not active, %u proposed before",
        v->decision, (unsigned)v->walked, v->format ? " walked" : "", (unsigned)v->buckets,
        (unsigned)v->inactive, (unsigned)v->tried);
    ROW(out, "policy", "decided on %s under policy %s, replayed under policy %s", on,
        v->policy_version, v->replayed_under);
    switch (v->outcome) {
    case WOONZORG__V1__REPLAY_VERDICT__OUTCOME__OUTCOME_SAME:
        ROW(out, "result", "%s", "the same decision");
        break;
    case WOONZORG__V1__REPLAY_VERDICT__OUTCOME__OUTCOME_DIFFERENT:
        ROW(out, "result", "DIFFERENT from the stored decision: %s", v->reason);
        break;
    default:
        ROW(out, "result", "CANNOT REPLAY: %s", v->reason);
        break;
    }
    const WzExplanation *then = v->stored, *again = v->replayed;
    if (!again)
        return;
    ROW(out, "replayed", "%u considered, %u eligible, %u not examined (decision: %u, %u, %u)",
        (unsigned)again->considered, (unsigned)again->eligible, (unsigned)again->not_examined,
        then ? (unsigned)then->considered : 0, then ? (unsigned)then->eligible : 0,
        then ? (unsigned)then->not_examined : 0);
    fprintf(out, "rules (removed in the decision / in the replay):\n");
    for (size_t i = 0; i < again->n_filters; i++) {
        const WzFilterCount *f = again->filters[i];
        char before[16] = "-";
        bool differs = true;
        if (then && i < then->n_filters && strcmp(then->filters[i]->rule, f->rule) == 0) {
            snprintf(before, sizeof before, "%u", (unsigned)then->filters[i]->removed);
            differs = then->filters[i]->removed != f->removed;
        }
        fprintf(out, "  %-18s %6s  %6u%s\n", f->rule, before, (unsigned)f->removed,
                differs ? "  <- differs" : "");
    }
}
