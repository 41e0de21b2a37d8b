/* wz_proto.h - the generated protocol types under short names.
 * Only wz_codec knows the framing; everything else sees these structs. */
#ifndef WZ_PROTO_H_INCLUDED
#define WZ_PROTO_H_INCLUDED

#include "common.pb-c.h"
#include "vacancy.pb-c.h"
#include "candidate.pb-c.h"
#include "proposal.pb-c.h"
#include "event.pb-c.h"
#include "api.pb-c.h"

typedef Woonzorg__V1__Date WzDate;
typedef Woonzorg__V1__Household WzHousehold;
typedef Woonzorg__V1__Vacancy WzVacancy;
typedef Woonzorg__V1__Candidate WzCandidate;
typedef Woonzorg__V1__Proposal WzProposal;
typedef Woonzorg__V1__Explanation WzExplanation;
typedef Woonzorg__V1__FilterCount WzFilterCount;
typedef Woonzorg__V1__DecisionSnapshot WzSnapshot;
typedef Woonzorg__V1__SnapshotBucket WzSnapshotBucket;
typedef Woonzorg__V1__ReplayVerdict WzReplayVerdict;
typedef Woonzorg__V1__Event WzEvent;
typedef Woonzorg__V1__Request WzRequest;
typedef Woonzorg__V1__Reply WzReply;
typedef Woonzorg__V1__ClientMessage WzClientMessage;
typedef Woonzorg__V1__Delivery WzDelivery;
typedef Woonzorg__V1__AuditEntry WzAuditEntry;
typedef Woonzorg__V1__AuditPage WzAuditPage;
typedef Woonzorg__V1__Code WzCode;

#endif
