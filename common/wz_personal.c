/* wz_personal.c - see wz_personal.h. */
#include "wz_personal.h"

#include <stddef.h>

#define PAYLOAD(x) WOONZORG__V1__EVENT__PAYLOAD_##x

static const char *s_nonempty(const char *s)
{
    return s && *s ? s : NULL;
}

const char *wz_personal_subject(const WzEvent *ev)
{
    switch (ev->payload_case) {
    case PAYLOAD(CANDIDATE_REGISTERED):
        return ev->candidate_registered && ev->candidate_registered->candidate
                   ? s_nonempty(ev->candidate_registered->candidate->id)
                   : NULL;
    case PAYLOAD(CANDIDATE_UPDATED):
        return ev->candidate_updated && ev->candidate_updated->candidate
                   ? s_nonempty(ev->candidate_updated->candidate->id)
                   : NULL;
    case PAYLOAD(PROPOSAL_ANSWERED):
        return ev->proposal_answered && ev->proposal_answered->proposal
                   ? s_nonempty(ev->proposal_answered->proposal->candidate_id)
                   : NULL;
    case PAYLOAD(STEP_CONFIRMED):
        return ev->step_confirmed && ev->step_confirmed->proposal
                   ? s_nonempty(ev->step_confirmed->proposal->candidate_id)
                   : NULL;
    default:
        return NULL;
    }
}

const char *wz_personal_erases(const WzEvent *ev)
{
    if (ev->payload_case == PAYLOAD(CANDIDATE_WITHDRAWN) && ev->candidate_withdrawn)
        return s_nonempty(ev->candidate_withdrawn->candidate_id);
    if (ev->payload_case == PAYLOAD(CANDIDATE_PURGED) && ev->candidate_purged)
        return s_nonempty(ev->candidate_purged->candidate_id);
    if (ev->payload_case == PAYLOAD(CANDIDATE_UPDATED) && ev->candidate_updated &&
        ev->candidate_updated->candidate && !ev->candidate_updated->candidate->consent)
        return s_nonempty(ev->candidate_updated->candidate->id);
    return NULL;
}
