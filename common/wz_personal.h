/* wz_personal.h - which events carry a candidate's personal data, and which
 * erase it. One answer for every place that keeps events: the audit chain
 * seals what they carry (wz_shred), and each consumer drops its dead letters
 * of a candidate on erasure (wz_bus). */
#ifndef WZ_PERSONAL_H_INCLUDED
#define WZ_PERSONAL_H_INCLUDED

#include "wz_proto.h"

/* The candidate whose attributes, or a party's free text about whom, ev
 * carries (CandidateRegistered/Updated, ProposalAnswered, StepConfirmed), or
 * NULL. Borrowed from ev. */
const char *wz_personal_subject(const WzEvent *ev);
/* The candidate whose personal data is to be erased once ev is applied: its
 * provider withdrew it, it was updated without consent, or matching purged
 * its records. NULL otherwise. Borrowed from ev. */
const char *wz_personal_erases(const WzEvent *ev);

#endif
