/* wz_validate.h - the one validation layer for requests, shared by intake and
 * wzctl: presence, lengths, enums, ranges, references into the policy, and
 * which role may send which request. No state lookups (intake does those). */
#ifndef WZ_VALIDATE_H_INCLUDED
#define WZ_VALIDATE_H_INCLUDED

#include "wz_policy.h"
#include "wz_proto.h"

typedef struct {
    WzCode code;        /* WOONZORG__V1__CODE__CODE_OK when valid */
    char field[96];     /* e.g. "publish_vacancy.rent_cents" */
    char message[256];  /* readable, names the field and the rule */
} wz_verdict_t;

/* Sets v to the verdict for req sent by actor (borrowed). Returns 0 when the
 * request is acceptable, -1 otherwise. */
int wz_validate_request(const WzRequest *req, const wz_policy_t *policy, const wz_party_t *actor,
                        wz_verdict_t *v);
/* Fills v (always returns -1) - a helper for callers building their own verdicts. */
int wz_verdict_set(wz_verdict_t *v, WzCode code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Limits, shared with the docs. */
#define WZ_MAX_ID 48
#define WZ_MAX_ADDRESS 128
#define WZ_MAX_REASON 200
#define WZ_MAX_LIST 32
#define WZ_MAX_ROOMS 12
#define WZ_MAX_AREA_M2 400
#define WZ_MAX_RENT_CENTS 500000  /* EUR 5,000 a month */
#define WZ_MAX_PERSONS 12
#define WZ_MAX_DISTANCE_KM 200

#endif
