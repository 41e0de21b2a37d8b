/* test_minimise.c - per-recipient minimisation (wz_minimise): for every
 * event type, with every field filled, what each role keeps; nothing it may
 * see is taken away, nothing it may not see is left. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wz_codec.h"
#include "wz_minimise.h"
#include "wz_testfields.h"
#include "wz_testmain.h"

#define PAYLOAD(x) WOONZORG__V1__EVENT__PAYLOAD_##x
#define PSTATE(x) WOONZORG__V1__PROPOSAL_STATE__PROPOSAL_STATE_##x
#define FIELDS_MAX (64 * 1024)

/* Leaf names that describe a candidate (the person) rather than a party. */
#define CANDIDATE_ATTRIBUTES                                                                       \
    "group", "adults", "children", "age_band", "income_class", "access_needs",                     \
        "acceptable_municipalities", "excluded_neighbourhoods", "care_location",                   \
        "max_distance_km", "park_reason"
/* What an explanation says about the chosen candidate. */
#define EXPLANATION_OF_CANDIDATE "summary", "score", "rank"
/* The rest of an explanation: counts per rule. */
#define EXPLANATION_COUNTS "considered", "eligible", "not_examined", "rule", "removed", "ranking"

static wz_party_t s_party(const char *id, wz_role_t role, const char *region,
                          const char *municipality)
{
    wz_party_t p;
    memset(&p, 0, sizeof p);
    snprintf(p.id, sizeof p.id, "%s", id);
    p.role = role;
    snprintf(p.region, sizeof p.region, "%s", region);
    snprintf(p.municipality, sizeof p.municipality, "%s", municipality);
    return p;
}

/* --- a message with every field set -------------------------------------------- */

static char *s_dup(const char *s)
{
    char *d = strdup(s);
    ck_assert_ptr_nonnull(d);
    return d;
}

/* Fills every field of a fresh message of d (one element per repeated
 * field; only the oneof member `oneof_id`, 0: none). Freed with
 * protobuf_c_message_free_unpacked, as the allocations match an unpack. */
static ProtobufCMessage *s_fill(const ProtobufCMessageDescriptor *d, unsigned oneof_id)
{
    ProtobufCMessage *m = calloc(1, d->sizeof_message);
    ck_assert_ptr_nonnull(m);
    d->message_init(m);
    char *base = (char *)m;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        void *member = base + f->offset;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            if (f->id != oneof_id)
                continue;
            *(uint32_t *)(base + f->quantifier_offset) = f->id;
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            *(size_t *)(base + f->quantifier_offset) = 1;
            if (f->type == PROTOBUF_C_TYPE_STRING) {
                char **v = malloc(sizeof *v);
                ck_assert_ptr_nonnull(v);
                v[0] = s_dup("x-list");
                *(char ***)member = v;
            } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
                ProtobufCMessage **v = malloc(sizeof *v);
                ck_assert_ptr_nonnull(v);
                v[0] = s_fill(f->descriptor, 0);
                *(ProtobufCMessage ***)member = v;
            } else {
                ck_abort_msg("no repeated %s.%s expected", d->name, f->name);
            }
            continue;
        }
        switch (f->type) {
        case PROTOBUF_C_TYPE_STRING:
            *(char **)member = s_dup(strcmp(f->name, "region") == 0 ? "zkij" : "x");
            break;
        case PROTOBUF_C_TYPE_MESSAGE:
            *(ProtobufCMessage **)member = s_fill(f->descriptor, 0);
            break;
        case PROTOBUF_C_TYPE_BOOL:
            *(protobuf_c_boolean *)member = 1;
            break;
        case PROTOBUF_C_TYPE_DOUBLE:
            *(double *)member = 1.5;
            break;
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_UINT64:
            *(uint64_t *)member = 7;
            break;
        case PROTOBUF_C_TYPE_ENUM:
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_UINT32:
            *(uint32_t *)member = 1; /* 1 is a valid value of every enum of ours */
            break;
        default:
            ck_abort_msg("field type %d of %s.%s not filled", f->type, d->name, f->name);
        }
    }
    return m;
}

/* Replaces the string at member. */
static void s_set(char **member, const char *value)
{
    free(*member);
    *member = s_dup(value);
}

/* Names the parties of every party field in a filled event: care provider
 * "ribw-kam", corporation "pre-wonen", municipality "haarlem". */
static void s_name_parties(ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    char *base = (char *)m;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        void *member = base + f->offset;
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(uint32_t *)(base + f->quantifier_offset) != f->id)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            if (f->type == PROTOBUF_C_TYPE_MESSAGE)
                for (size_t k = 0; k < *(size_t *)(base + f->quantifier_offset); k++)
                    s_name_parties((*(ProtobufCMessage ***)member)[k]);
            continue;
        }
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && *(ProtobufCMessage **)member)
            s_name_parties(*(ProtobufCMessage **)member);
        else if (f->type == PROTOBUF_C_TYPE_STRING && strcmp(f->name, "care_provider") == 0)
            s_set(member, "ribw-kam");
        else if (f->type == PROTOBUF_C_TYPE_STRING && strcmp(f->name, "corporation") == 0)
            s_set(member, "pre-wonen");
        else if (f->type == PROTOBUF_C_TYPE_STRING && strcmp(f->name, "municipality") == 0)
            s_set(member, "haarlem");
    }
}

static WzEvent *s_event(unsigned payload, bool named)
{
    WzEvent *ev = (WzEvent *)s_fill(&woonzorg__v1__event__descriptor, payload);
    if (named)
        s_name_parties(&ev->base);
    return ev;
}

/* --- checks ------------------------------------------------------------------------ */

/* Whether one of names (a field name or a dotted run of them) occurs in
 * path as whole components. */
static bool s_in(const char *path, const char *const *names)
{
    for (size_t i = 0; names[i]; i++) {
        size_t len = strlen(names[i]);
        for (const char *p = path; (p = strstr(p, names[i])) != NULL; p++)
            if ((p == path || p[-1] == '.') && (p[len] == '\0' || p[len] == '.'))
                return true;
    }
    return false;
}

/* Every path set in after was set in before, and every path that went is a
 * leaf named in removable. */
static void s_only_removed(const ProtobufCMessage *before, const ProtobufCMessage *after,
                           const char *const *removable, const char *what)
{
    char *b = malloc(FIELDS_MAX), *a = malloc(FIELDS_MAX);
    ck_assert(b && a);
    wz_test_set_fields(before, b, FIELDS_MAX);
    wz_test_set_fields(after, a, FIELDS_MAX);
    for (char *line = a, *next; *line; line = next) {
        next = strchr(line, '\n');
        *next++ = '\0';
        ck_assert_msg(wz_test_is_set(before, line), "%s: %s appeared", what, line);
    }
    for (char *line = b, *next; *line; line = next) {
        next = strchr(line, '\n');
        *next++ = '\0';
        if (wz_test_is_set(after, line))
            continue;
        /* A cleared message shows as its leaves having gone. */
        ck_assert_msg(s_in(line, removable), "%s: %s was taken away", what, line);
    }
    free(b);
    free(a);
}

static void s_none_set(const ProtobufCMessage *m, const char *const *names, const char *what)
{
    char found[512];
    ck_assert_msg(!wz_test_first_set(m, names, found, sizeof found), "%s: %s is still set", what,
                  found);
}

/* Whether the event's payload names a candidate by id. */
static bool s_names_candidate(const WzEvent *ev)
{
    char *all = malloc(FIELDS_MAX);
    ck_assert_ptr_nonnull(all);
    wz_test_set_fields(&ev->base, all, FIELDS_MAX);
    bool named = strstr(all, "candidate_id\n") != NULL || strstr(all, "candidate.id\n") != NULL;
    free(all);
    return named;
}

/* --- tests ------------------------------------------------------------------------- */

/* A party that knows nobody (parties named "x" in the event): for every
 * event type, no candidate id, no attribute, nothing of the explanation
 * about the candidate; everything else stays. */
START_TEST(test_strangers_see_no_candidate)
{
    wz_party_t viewers[] = {
        s_party("pre-wonen", WZ_ROLE_CORPORATION, "zkij", ""),
        s_party("ribw-kam", WZ_ROLE_CARE_PROVIDER, "zkij", ""),
        s_party("gem-haarlem", WZ_ROLE_MUNICIPALITY, "zkij", "haarlem"),
    };
    static const char *const forbidden[] = {"candidate_id", CANDIDATE_ATTRIBUTES,
                                            EXPLANATION_OF_CANDIDATE, NULL};
    static const char *const removable[] = {"candidate_id",
                                            "candidate.id",
                                            CANDIDATE_ATTRIBUTES,
                                            EXPLANATION_OF_CANDIDATE,
                                            EXPLANATION_COUNTS,
                                            "refusal",
                                            "refusal_pending",
                                            "verdict_due_ms",
                                            "consent",
                                            "urgency_date",
                                            "urgency_by",
                                            "parked_until",
                                            "refusals",
                                            "urgency_until",
                                            "extensions",
                                            "candidate.scheme",
                                            "household",
                                            "filters",
                                            NULL};
    const ProtobufCMessageDescriptor *d = &woonzorg__v1__event__descriptor;
    size_t payloads = 0;
    for (unsigned i = 0; i < d->n_fields; i++) {
        if (!(d->fields[i].flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
            continue;
        payloads++;
        for (size_t v = 0; v < sizeof viewers / sizeof *viewers; v++) {
            WzEvent *before = s_event(d->fields[i].id, false);
            WzEvent *after = wz_minimise_copy(before, &viewers[v]);
            ck_assert_ptr_nonnull(after);
            char what[128];
            snprintf(what, sizeof what, "%s for %s", d->fields[i].name, viewers[v].id);
            ck_assert_int_eq(after->payload_case, before->payload_case);
            /* A release chose nobody: its explanation is rules and counts. */
            if (d->fields[i].id != PAYLOAD(VACANCY_RELEASED))
                s_none_set(&after->base, forbidden, what);
            ck_assert_msg(!s_names_candidate(after), "%s: a candidate is named", what);
            s_only_removed(&before->base, &after->base, removable, what);
            WZ_FREE_UNPACKED(before);
            WZ_FREE_UNPACKED(after);
        }
    }
    ck_assert_uint_ge(payloads, 22);
}
END_TEST

/* The care provider of the candidate sees every event about it whole. */
START_TEST(test_care_provider_sees_its_own_whole)
{
    wz_party_t ribw = s_party("ribw-kam", WZ_ROLE_CARE_PROVIDER, "zkij", "");
    const ProtobufCMessageDescriptor *d = &woonzorg__v1__event__descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        if (!(d->fields[i].flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
            continue;
        WzEvent *before = s_event(d->fields[i].id, true);
        WzEvent *after = wz_minimise_copy(before, &ribw);
        ck_assert_ptr_nonnull(after);
        static const char *const nothing[] = {NULL};
        s_only_removed(&before->base, &after->base, nothing, d->fields[i].name);
        WZ_FREE_UNPACKED(before);
        WZ_FREE_UNPACKED(after);
    }
}
END_TEST

/* The municipality of the candidate's urgency: the candidate's id, the
 * outcome and the counts per rule, never the attributes or the candidate's
 * own part of the explanation. */
START_TEST(test_municipality_sees_outcome_and_reasons)
{
    wz_party_t haarlem = s_party("gem-haarlem", WZ_ROLE_MUNICIPALITY, "zkij", "haarlem");
    wz_party_t velsen = s_party("gem-velsen", WZ_ROLE_MUNICIPALITY, "zkij", "velsen");
    static const char *const forbidden[] = {CANDIDATE_ATTRIBUTES, EXPLANATION_OF_CANDIDATE, NULL};
    static const char *const removable[] = {CANDIDATE_ATTRIBUTES, EXPLANATION_OF_CANDIDATE,
                                            "household", NULL};
    unsigned with_proposal[] = {
        PAYLOAD(PROPOSAL_CREATED),     PAYLOAD(PROPOSAL_ANSWERED), PAYLOAD(PROPOSAL_EXPIRED),
        PAYLOAD(PROPOSAL_CANCELLED),   PAYLOAD(VACANCY_LET),       PAYLOAD(PROPOSAL_ADVANCED),
        PAYLOAD(STEP_CONFIRMED),       PAYLOAD(DEADLINE_REMINDER), PAYLOAD(CANDIDATE_UPDATED),
        PAYLOAD(CANDIDATE_REGISTERED), PAYLOAD(URGENCY_GRANTED),   PAYLOAD(URGENCY_LAPSED),
        PAYLOAD(CANDIDATE_WITHDRAWN),  PAYLOAD(CANDIDATE_PURGED)};
    for (size_t i = 0; i < sizeof with_proposal / sizeof *with_proposal; i++) {
        WzEvent *before = s_event(with_proposal[i], true);
        WzEvent *own = wz_minimise_copy(before, &haarlem);
        WzEvent *other = wz_minimise_copy(before, &velsen);
        ck_assert(own && other);
        const char *name = protobuf_c_message_descriptor_get_field(&woonzorg__v1__event__descriptor,
                                                                   with_proposal[i])
                               ->name;
        s_none_set(&own->base, forbidden, name);
        s_only_removed(&before->base, &own->base, removable, name);
        ck_assert_msg(s_names_candidate(own), "%s: its own candidate is not named", name);
        ck_assert_msg(!s_names_candidate(other), "%s: another municipality's candidate named",
                      name);
        WZ_FREE_UNPACKED(before);
        WZ_FREE_UNPACKED(own);
        WZ_FREE_UNPACKED(other);
    }
    /* The reasons: counts per rule and the refusal flags it rules on stay. */
    WzEvent *ev = s_event(PAYLOAD(PROPOSAL_ANSWERED), true);
    wz_minimise_event(ev, &velsen);
    const WzProposal *p = ev->proposal_answered->proposal;
    ck_assert_uint_eq(p->explanation->n_filters, 1);
    ck_assert_uint_gt(p->explanation->considered, 0);
    ck_assert(p->refusal && p->refusal_pending && p->verdict_due_ms != 0);
    ck_assert_str_eq(ev->proposal_answered->reason, "x");
    ck_assert_str_eq(p->decline_reason, "x");
    WZ_FREE_UNPACKED(ev);
}
END_TEST

/* The corporation: the candidate's id only once its proposal is accepted,
 * never refusal flags or the explanation beyond policy, scheme and mode. */
START_TEST(test_corporation_sees_candidate_after_acceptance)
{
    wz_party_t corp = s_party("pre-wonen", WZ_ROLE_CORPORATION, "zkij", "");
    wz_party_t other = s_party("ymere", WZ_ROLE_CORPORATION, "zkij", "");
    static const char *const forbidden[] = {CANDIDATE_ATTRIBUTES,
                                            EXPLANATION_OF_CANDIDATE,
                                            EXPLANATION_COUNTS,
                                            "refusal",
                                            "refusal_pending",
                                            "verdict_due_ms",
                                            NULL};
    struct {
        unsigned payload;
        int state;
        bool accepted, sees;
    } cases[] = {
        {PAYLOAD(PROPOSAL_CREATED), PSTATE(SENT), false, false},
        {PAYLOAD(PROPOSAL_ANSWERED), PSTATE(SENT), false, false},
        {PAYLOAD(PROPOSAL_ANSWERED), PSTATE(SENT), true, true},
        {PAYLOAD(PROPOSAL_ADVANCED), PSTATE(ACCEPTED), false, true},
        {PAYLOAD(DEADLINE_REMINDER), PSTATE(ACCEPTED), false, true},
        {PAYLOAD(VACANCY_LET), PSTATE(LET), false, true},
        {PAYLOAD(PROPOSAL_EXPIRED), PSTATE(EXPIRED), false, false},
        {PAYLOAD(PROPOSAL_CANCELLED), PSTATE(CANCELLED), false, false},
        {PAYLOAD(STEP_CONFIRMED), PSTATE(ACCEPTED), false, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        WzEvent *ev = s_event(cases[i].payload, true);
        WzProposal *p = NULL;
        switch (cases[i].payload) {
        case PAYLOAD(PROPOSAL_CREATED):
            p = ev->proposal_created->proposal;
            break;
        case PAYLOAD(PROPOSAL_ANSWERED):
            p = ev->proposal_answered->proposal;
            ev->proposal_answered->accepted = cases[i].accepted;
            break;
        case PAYLOAD(PROPOSAL_ADVANCED):
            p = ev->proposal_advanced->proposal;
            break;
        case PAYLOAD(DEADLINE_REMINDER):
            p = ev->deadline_reminder->proposal;
            break;
        case PAYLOAD(VACANCY_LET):
            p = ev->vacancy_let->proposal;
            break;
        case PAYLOAD(PROPOSAL_EXPIRED):
            p = ev->proposal_expired->proposal;
            break;
        case PAYLOAD(PROPOSAL_CANCELLED):
            p = ev->proposal_cancelled->proposal;
            break;
        default:
            p = ev->step_confirmed->proposal;
            break;
        }
        p->state = cases[i].state;
        WzEvent *mine = wz_minimise_copy(ev, &corp);
        WzEvent *theirs = wz_minimise_copy(ev, &other);
        ck_assert(mine && theirs);
        char what[64];
        snprintf(what, sizeof what, "case %zu", i);
        s_none_set(&mine->base, forbidden, what);
        ck_assert_msg(s_names_candidate(mine) == cases[i].sees, "%s: candidate %s", what,
                      cases[i].sees ? "not named after acceptance" : "named before acceptance");
        ck_assert_msg(!s_names_candidate(theirs), "%s: named to another corporation", what);
        /* The offer itself stays: proposal id, vacancy, state, step, deadlines,
         * and which policy and scheme decided it. */
        WzProposal *seen = NULL;
        ProtobufCMessage *payload = NULL;
        for (unsigned k = 0; k < mine->base.descriptor->n_fields; k++) {
            const ProtobufCFieldDescriptor *f = &mine->base.descriptor->fields[k];
            if (f->id == mine->payload_case)
                payload = *(ProtobufCMessage **)((char *)mine + f->offset);
        }
        ck_assert_ptr_nonnull(payload);
        seen = *(WzProposal **)((char *)payload + protobuf_c_message_descriptor_get_field_by_name(
                                                      payload->descriptor, "proposal")
                                                      ->offset);
        ck_assert_str_eq(seen->id, "x");
        ck_assert_str_eq(seen->vacancy_id, "x");
        ck_assert_str_eq(seen->care_provider, "ribw-kam");
        ck_assert_int_eq(seen->state, cases[i].state);
        ck_assert_int_gt(seen->deadline_ms, 0);
        ck_assert_str_eq(seen->explanation->policy_version, "x");
        ck_assert_str_eq(seen->explanation->scheme, "x");
        ck_assert_str_eq(seen->explanation->mode, "x");
        WZ_FREE_UNPACKED(ev);
        WZ_FREE_UNPACKED(mine);
        WZ_FREE_UNPACKED(theirs);
    }
    /* A released vacancy names nobody: its landlord sees why, whole. */
    WzEvent *ev = s_event(PAYLOAD(VACANCY_RELEASED), true);
    wz_minimise_event(ev, &corp);
    ck_assert_uint_eq(ev->vacancy_released->explanation->n_filters, 1);
    ck_assert_str_eq(ev->vacancy_released->explanation->summary, "x");
    WZ_FREE_UNPACKED(ev);
}
END_TEST

/* Status replies: candidates and proposals through the same rules. */
START_TEST(test_candidate_and_proposal_records)
{
    wz_party_t ribw = s_party("ribw-kam", WZ_ROLE_CARE_PROVIDER, "zkij", "");
    wz_party_t haarlem = s_party("gem-haarlem", WZ_ROLE_MUNICIPALITY, "zkij", "haarlem");
    wz_party_t velsen = s_party("gem-velsen", WZ_ROLE_MUNICIPALITY, "zkij", "velsen");
    WzCandidate *c = (WzCandidate *)s_fill(&woonzorg__v1__candidate__descriptor, 0);
    s_name_parties(&c->base);
    size_t whole = wz_test_set_fields(&c->base, NULL, 0);
    wz_minimise_candidate(c, &ribw);
    ck_assert_uint_eq(wz_test_set_fields(&c->base, NULL, 0), whole);
    static const char *const attributes[] = {CANDIDATE_ATTRIBUTES, NULL};
    wz_minimise_candidate(c, &haarlem);
    s_none_set(&c->base, attributes, "candidate for its municipality");
    ck_assert_str_eq(c->id, "x");
    ck_assert_int_eq(c->state, 1);
    ck_assert_ptr_nonnull(c->urgency_date);
    ck_assert_uint_eq(c->refusals, 1);
    wz_minimise_candidate(c, &velsen);
    ck_assert_str_eq(c->id, "");
    ck_assert_ptr_null(c->urgency_date);
    ck_assert_str_eq(c->care_provider, "ribw-kam");
    WZ_FREE_UNPACKED(c);

    /* Another region is nobody's own, whatever the names say. */
    wz_party_t almere = s_party("ribw-kam", WZ_ROLE_CARE_PROVIDER, "almere", "");
    WzProposal *p = (WzProposal *)s_fill(&woonzorg__v1__proposal__descriptor, 0);
    s_name_parties(&p->base);
    wz_minimise_proposal(p, &almere, false);
    ck_assert_str_eq(p->candidate_id, "");
    ck_assert_str_eq(p->explanation->summary, "");
    WZ_FREE_UNPACKED(p);
    WzEvent *ev = s_event(PAYLOAD(URGENCY_GRANTED), true);
    wz_minimise_event(ev, &almere);
    ck_assert_str_eq(ev->urgency_granted->candidate_id, "");
    WZ_FREE_UNPACKED(ev);
}
END_TEST

START_TEST(test_replay_verdict)
{
    /* A verdict with every field set: a municipality keeps the counts of
     * both explanations, nobody keeps what is about the chosen candidate,
     * and the others only which policy, scheme and mode decided. */
    wz_party_t haarlem = s_party("gem-haarlem", WZ_ROLE_MUNICIPALITY, "zkij", "haarlem");
    wz_party_t corp = s_party("pre-wonen", WZ_ROLE_CORPORATION, "zkij", "");
    static const char *const about[] = {EXPLANATION_OF_CANDIDATE, CANDIDATE_ATTRIBUTES, NULL};
    static const char *const counts[] = {EXPLANATION_COUNTS, NULL};
    char found[256];
    WzReplayVerdict *v =
        (WzReplayVerdict *)s_fill(&woonzorg__v1__replay_verdict__descriptor, 0);
    ck_assert(wz_test_is_set(&v->base, "replayed.summary"));
    wz_minimise_verdict(v, &haarlem);
    ck_assert_msg(!wz_test_first_set(&v->base, about, found, sizeof found), "left: %s", found);
    ck_assert(wz_test_is_set(&v->base, "stored.considered"));
    ck_assert(wz_test_is_set(&v->base, "replayed.filters.removed"));
    ck_assert(wz_test_is_set(&v->base, "replayed.policy_version"));
    ck_assert(wz_test_is_set(&v->base, "reason"));
    WZ_FREE_UNPACKED(v);
    v = (WzReplayVerdict *)s_fill(&woonzorg__v1__replay_verdict__descriptor, 0);
    wz_minimise_verdict(v, &corp);
    ck_assert(!wz_test_first_set(&v->base, about, found, sizeof found));
    ck_assert_msg(!wz_test_first_set(&v->base, counts, found, sizeof found), "left: %s", found);
    ck_assert(wz_test_is_set(&v->base, "stored.scheme"));
    WZ_FREE_UNPACKED(v);

    /* Who may see a candidate's id: its care provider, the municipality of
     * its urgency, in its region. */
    WzCandidate c = WOONZORG__V1__CANDIDATE__INIT;
    c.id = "kam-1";
    c.care_provider = "ribw-kam";
    c.municipality = "haarlem";
    c.region = "zkij";
    wz_party_t velsen = s_party("gem-velsen", WZ_ROLE_MUNICIPALITY, "zkij", "velsen");
    wz_party_t ribw = s_party("ribw-kam", WZ_ROLE_CARE_PROVIDER, "zkij", "");
    wz_party_t elsewhere = s_party("gem-haarlem", WZ_ROLE_MUNICIPALITY, "almere", "haarlem");
    ck_assert(wz_minimise_knows(&c, &haarlem));
    ck_assert(wz_minimise_knows(&c, &ribw));
    ck_assert(!wz_minimise_knows(&c, &velsen));
    ck_assert(!wz_minimise_knows(&c, &corp));
    ck_assert(!wz_minimise_knows(&c, &elsewhere));
}
END_TEST

int main(void)
{
    TCase *tc =
        wz_test_case("views", 30,
                     (const TTest *const[]){
                         test_strangers_see_no_candidate, test_care_provider_sees_its_own_whole,
                         test_municipality_sees_outcome_and_reasons,
                         test_corporation_sees_candidate_after_acceptance,
                         test_candidate_and_proposal_records, test_replay_verdict, NULL});
    return wz_test_run("minimise", (TCase *const[]){tc, NULL});
}
