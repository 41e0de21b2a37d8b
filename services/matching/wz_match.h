/* wz_match.h - the matching rule itself, pure: given a vacancy, the
 * candidates of its region and the policy, which candidate gets the
 * proposal and why. No Redis, no clock, no allocation; the service module
 * (wz_matching) loads the state and stores the outcome.
 *
 * Hard filters, applied in this order (each counts the candidates it
 * removed; a candidate is counted only by the first rule it fails):
 *   status, consent, already_proposed, municipality, neighbourhood,
 *   household, rent, accessibility.
 * Ranking among the eligible: earliest urgency date, then closest fit in
 * rooms (fewest rooms above the household's minimum), then candidate id. */
#ifndef WZ_MATCH_H_INCLUDED
#define WZ_MATCH_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#include "wz_policy.h"
#include "wz_proto.h"

#define WZ_MATCH_RULES 8
#define WZ_MATCH_RANKING "earliest urgency date, then closest fit in rooms, then candidate id"

/* Says whether candidate_id was proposed for this vacancy before. */
typedef bool (*wz_match_tried_fn)(void *arg, const char *candidate_id);

/* The outcome of one match. `explanation` points into this struct (its
 * filters, summary and policy version live here): use it in place, never
 * copy the struct by value while the explanation is in use. */
typedef struct {
    WzExplanation explanation;
    WzFilterCount counts[WZ_MATCH_RULES];
    WzFilterCount *count_ptrs[WZ_MATCH_RULES];
    char policy_version[32];
    char summary[512];
} wz_match_result_t;

/* The name of filter rule i (0 .. WZ_MATCH_RULES-1) as it appears in an
 * Explanation, e.g. "household"; NULL for any other i. */
const char *wz_match_rule_name(size_t i);

/* Index of the first rule candidate c fails for vacancy v (tried may be
 * NULL: nobody was proposed before), or -1 when c is eligible. When
 * eligible and surplus is not NULL, *surplus is the number of rooms above
 * the household's minimum. */
int wz_match_check(const wz_policy_t *policy, const WzVacancy *v, const WzCandidate *c,
                   wz_match_tried_fn tried, void *arg, int *surplus);

/* Chooses the best eligible candidate of cands[0..n-1] (all borrowed) for v
 * and fills *out with the explanation (all eight rules, in order, even when
 * they removed nobody). Returns 1 with *chosen set to the index of the
 * winner, or 0 when nobody is eligible (*chosen untouched). */
int wz_match_pick(const wz_policy_t *policy, const WzVacancy *v, WzCandidate *const *cands,
                  size_t n, wz_match_tried_fn tried, void *arg, wz_match_result_t *out,
                  size_t *chosen);

#endif
