/* wz_minimise.c - per-recipient minimisation (see wz_minimise.h). */
#include "wz_minimise.h"

#include <stdlib.h>
#include <string.h>

#include "wz_codec.h"

#define PAYLOAD(x) WOONZORG__V1__EVENT__PAYLOAD_##x
#define PSTATE(x) WOONZORG__V1__PROPOSAL_STATE__PROPOSAL_STATE_##x

/* How much of an explanation a viewer gets. */
typedef enum {
    S_WHOLE,   /* the care provider of the chosen candidate */
    S_REASONS, /* counts per rule and the rules: nothing about one candidate */
    S_BARE,    /* which policy, scheme and mode decided; nothing else */
} s_level_t;

/* --- clearing owned protobuf-c fields --------------------------------------- */

static void s_str(char **s)
{
    if (*s && *s != protobuf_c_empty_string)
        free(*s);
    *s = (char *)protobuf_c_empty_string;
}

static void s_strs(char ***v, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free((*v)[i]);
    free(*v);
    *v = NULL;
    *n = 0;
}

static void s_msg(void *m_p)
{
    ProtobufCMessage **m = m_p;
    if (*m)
        protobuf_c_message_free_unpacked(*m, NULL);
    *m = NULL;
}

static bool s_eq(const char *a, const char *b)
{
    return a && b && *a && strcmp(a, b) == 0;
}

/* Whether viewer may see a candidate it knows by these facts: its care
 * provider, or the municipality that grants its urgency. */
static bool s_knows(const wz_party_t *viewer, const char *care_provider, const char *municipality)
{
    if (viewer->role == WZ_ROLE_CARE_PROVIDER)
        return s_eq(care_provider, viewer->id);
    if (viewer->role == WZ_ROLE_MUNICIPALITY)
        return s_eq(municipality, viewer->municipality);
    return false;
}

static void s_explanation(WzExplanation *e, s_level_t level)
{
    if (!e || level == S_WHOLE)
        return;
    /* The summary names the chosen candidate, its urgency date and fit;
     * rank and score are the candidate's. */
    s_str(&e->summary);
    e->rank = 0;
    e->score = 0;
    if (level == S_REASONS)
        return;
    e->considered = 0;
    e->eligible = 0;
    e->not_examined = 0;
    for (size_t i = 0; i < e->n_filters; i++)
        protobuf_c_message_free_unpacked(&e->filters[i]->base, NULL);
    free(e->filters);
    e->filters = NULL;
    e->n_filters = 0;
    s_str(&e->ranking);
}

/* --- public -------------------------------------------------------------------- */

void wz_minimise_proposal(WzProposal *p, const wz_party_t *viewer, bool accepted)
{
    if (!p)
        return;
    bool same_region = !p->region || !*p->region || strcmp(p->region, viewer->region) == 0;
    switch (viewer->role) {
    case WZ_ROLE_CARE_PROVIDER:
        if (same_region && s_eq(p->care_provider, viewer->id))
            return; /* its own candidate's proposal */
        s_str(&p->candidate_id);
        p->refusal = p->refusal_pending = 0;
        p->verdict_due_ms = 0;
        s_explanation(p->explanation, S_BARE);
        return;
    case WZ_ROLE_MUNICIPALITY:
        /* It confirms refusals, so the refusal flags and when its verdict
         * is due stay. */
        if (!same_region || !s_eq(p->municipality, viewer->municipality))
            s_str(&p->candidate_id);
        s_explanation(p->explanation, S_REASONS);
        return;
    case WZ_ROLE_CORPORATION:
    default: {
        bool after = accepted || p->state == PSTATE(ACCEPTED) || p->state == PSTATE(LET);
        if (!same_region || !s_eq(p->corporation, viewer->id) || !after)
            s_str(&p->candidate_id);
        /* Whether a decline counts against the candidate is the candidate's
         * business, not the landlord's. */
        p->refusal = p->refusal_pending = 0;
        p->verdict_due_ms = 0;
        s_explanation(p->explanation, S_BARE);
        return;
    }
    }
}

bool wz_minimise_knows(const WzCandidate *c, const wz_party_t *viewer)
{
    bool same_region = !c->region || !*c->region || strcmp(c->region, viewer->region) == 0;
    return same_region && s_knows(viewer, c->care_provider, c->municipality);
}

void wz_minimise_verdict(WzReplayVerdict *v, const wz_party_t *viewer)
{
    if (!v)
        return;
    s_level_t level = viewer->role == WZ_ROLE_MUNICIPALITY ? S_REASONS : S_BARE;
    s_explanation(v->stored, level);
    s_explanation(v->replayed, level);
}

void wz_minimise_candidate(WzCandidate *c, const wz_party_t *viewer)
{
    if (!c)
        return;
    bool same_region = !c->region || !*c->region || strcmp(c->region, viewer->region) == 0;
    if (viewer->role == WZ_ROLE_CARE_PROVIDER && same_region && s_eq(c->care_provider, viewer->id))
        return;
    /* What matching needs about the person: nobody else's business. */
    s_str(&c->group);
    s_msg(&c->household);
    c->age_band = 0;
    c->income_class = 0;
    c->access_needs = 0;
    s_strs(&c->acceptable_municipalities, &c->n_acceptable_municipalities);
    s_strs(&c->excluded_neighbourhoods, &c->n_excluded_neighbourhoods);
    s_str(&c->care_location);
    c->max_distance_km = 0;
    s_str(&c->park_reason);
    if (viewer->role == WZ_ROLE_MUNICIPALITY && same_region &&
        s_eq(c->municipality, viewer->municipality))
        return; /* its own urgency: id, state, urgency and refusals stay */
    s_str(&c->id);
    c->consent = 0;
    s_msg(&c->urgency_date);
    s_str(&c->urgency_by);
    s_msg(&c->parked_until);
    c->refusals = 0;
    s_msg(&c->urgency_until);
    c->extensions = 0;
    s_str(&c->scheme);
}

/* A candidate named by id next to its care provider and municipality. */
static void s_named(char **candidate_id, const wz_party_t *viewer, const char *care_provider,
                    const char *municipality)
{
    if (!s_knows(viewer, care_provider, municipality))
        s_str(candidate_id);
}

void wz_minimise_event(WzEvent *ev, const wz_party_t *viewer)
{
    if (!ev)
        return;
    /* Never delivered across regions; should one leak through, it names
     * nobody (a party of no region and no id knows no candidate). */
    static const wz_party_t stranger = {.role = WZ_ROLE_CORPORATION};
    if (ev->region && *ev->region && strcmp(ev->region, viewer->region) != 0)
        viewer = &stranger;
    switch (ev->payload_case) {
    case PAYLOAD(CANDIDATE_REGISTERED):
        wz_minimise_candidate(ev->candidate_registered->candidate, viewer);
        break;
    case PAYLOAD(CANDIDATE_UPDATED):
        wz_minimise_candidate(ev->candidate_updated->candidate, viewer);
        break;
    case PAYLOAD(CANDIDATE_WITHDRAWN): {
        Woonzorg__V1__CandidateWithdrawn *w = ev->candidate_withdrawn;
        s_named(&w->candidate_id, viewer, w->care_provider, w->municipality);
        break;
    }
    case PAYLOAD(URGENCY_GRANTED): {
        Woonzorg__V1__UrgencyGranted *u = ev->urgency_granted;
        s_named(&u->candidate_id, viewer, u->care_provider, u->municipality);
        break;
    }
    case PAYLOAD(URGENCY_LAPSED): {
        Woonzorg__V1__UrgencyLapsed *u = ev->urgency_lapsed;
        s_named(&u->candidate_id, viewer, u->care_provider, u->municipality);
        break;
    }
    case PAYLOAD(PROPOSAL_ANSWERED):
        wz_minimise_proposal(ev->proposal_answered->proposal, viewer,
                             ev->proposal_answered->accepted);
        break;
    case PAYLOAD(STEP_CONFIRMED):
        wz_minimise_proposal(ev->step_confirmed->proposal, viewer, false);
        break;
    case PAYLOAD(PROPOSAL_CREATED):
        wz_minimise_proposal(ev->proposal_created->proposal, viewer, false);
        break;
    case PAYLOAD(PROPOSAL_EXPIRED):
        wz_minimise_proposal(ev->proposal_expired->proposal, viewer, false);
        break;
    case PAYLOAD(PROPOSAL_CANCELLED):
        wz_minimise_proposal(ev->proposal_cancelled->proposal, viewer, false);
        break;
    case PAYLOAD(VACANCY_LET):
        wz_minimise_proposal(ev->vacancy_let->proposal, viewer, false);
        break;
    case PAYLOAD(DEADLINE_REMINDER):
        wz_minimise_proposal(ev->deadline_reminder->proposal, viewer, false);
        break;
    case PAYLOAD(PROPOSAL_ADVANCED):
        wz_minimise_proposal(ev->proposal_advanced->proposal, viewer, false);
        break;
    case PAYLOAD(VACANCY_RELEASED):
        /* Nobody was chosen, and matching words a release from the rules
         * and counts only: the landlord and the municipality learn why
         * nobody fits the dwelling, whole. */
        break;
    case PAYLOAD(CANDIDATE_NOMINATED): {
        Woonzorg__V1__CandidateNominated *n = ev->candidate_nominated;
        s_named(&n->candidate_id, viewer, n->care_provider, NULL);
        break;
    }
    case PAYLOAD(CANDIDATE_PURGED): {
        Woonzorg__V1__CandidatePurged *p = ev->candidate_purged;
        s_named(&p->candidate_id, viewer, p->care_provider, p->municipality);
        break;
    }
    case PAYLOAD(NOMINATION_REFUSED): {
        Woonzorg__V1__NominationRefused *n = ev->nomination_refused;
        bool own = s_knows(viewer, n->care_provider, NULL);
        if (!own)
            s_str(&n->candidate_id);
        s_explanation(n->explanation, own ? S_WHOLE : S_REASONS);
        break;
    }
    default:
        /* Vacancies, leases, nomination requests, acknowledgements and dead
         * letters name no candidate. */
        break;
    }
}

WzEvent *wz_minimise_copy(const WzEvent *ev, const wz_party_t *viewer)
{
    WzEvent *copy = (WzEvent *)wz_codec_clone(&ev->base);
    if (copy)
        wz_minimise_event(copy, viewer);
    return copy;
}
