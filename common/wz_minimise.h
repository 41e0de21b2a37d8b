/* wz_minimise.h - what each party may see: the one place that cuts events,
 * proposals and candidates down for a recipient before they leave the
 * suite (mailbox deliveries, intake status replies, the audit tail).
 *
 * The rules (docs/security.md, "Minimisation"):
 * - a care provider sees its own candidates and proposals whole;
 * - a municipality sees that a proposal was made, its outcome and the
 *   reasons (filter counts, decline reasons), never a candidate's
 *   attributes; it sees the candidate's id only when the candidate's
 *   urgency is its own;
 * - a corporation sees no candidate id, no refusal flags and no details of
 *   the explanation until the proposal is accepted, then the candidate id.
 * Parties themselves (care provider, corporation, municipality ids) are
 * organisations of the pact and stay visible. */
#ifndef WZ_MINIMISE_H_INCLUDED
#define WZ_MINIMISE_H_INCLUDED

#include <stdbool.h>

#include "wz_policy.h"
#include "wz_proto.h"

/* Cuts ev down, in place, to what viewer may see. ev must own its memory as
 * protobuf-c's unpack gives it (unpacked or wz_codec_clone'd): cleared
 * strings and messages are freed. The payload case never changes. */
void wz_minimise_event(WzEvent *ev, const wz_party_t *viewer);
/* A minimised deep copy of ev for viewer; NULL when out of memory. Freed
 * with WZ_FREE_UNPACKED. */
WzEvent *wz_minimise_copy(const WzEvent *ev, const wz_party_t *viewer);
/* Cuts a proposal (owned as above) down for viewer. accepted: the event
 * carrying it reports its acceptance (ProposalAnswered), so a corporation
 * may see the candidate although the proposal's state is still SENT. */
void wz_minimise_proposal(WzProposal *p, const wz_party_t *viewer, bool accepted);
/* Cuts a candidate (owned as above) down for viewer. */
void wz_minimise_candidate(WzCandidate *c, const wz_party_t *viewer);
/* Whether viewer may see c's id (by c's care provider, municipality and
 * region, as wz_minimise_candidate decides). */
bool wz_minimise_knows(const WzCandidate *c, const wz_party_t *viewer);
/* Cuts a replay verdict (owned as above) down for viewer: its explanations
 * to the reasons (municipality) or to policy, scheme and mode (others). The
 * caller names a candidate in it only when wz_minimise_knows says so. */
void wz_minimise_verdict(WzReplayVerdict *v, const wz_party_t *viewer);

#endif
