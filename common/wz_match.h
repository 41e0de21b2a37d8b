/* wz_match.h - the matching rules themselves, pure: given a vacancy, the
 * candidates of its region, the scheme and the counters that bound it
 * (contingent, spread), which candidate gets the proposal and why. No Redis,
 * no clock, no allocation: the service (wz_matching) loads the state, and the
 * same function replays a stored decision snapshot (intake, for wzctl explain
 * --replay).
 *
 * Rules, applied in this order; each counts the candidates it removed, a
 * candidate counted only by the first rule it fails. The first three are
 * about the vacancy and remove every candidate at once:
 *   scheme        the vacancy goes through no scheme in force
 *   contingent    the corporation's contingent in the municipality is used up
 *   spread        the complex, stairwell or neighbourhood carries enough placements
 *   status        candidate not active with urgency granted
 *   consent       no recorded consent
 *   parked        parked until after the decision day
 *   urgency_window  the urgency window ended before the decision day
 *   group         target group not eligible for the scheme
 *   care_provider care provider not a party to the scheme
 *   already_proposed  proposed (and declined, expired, ...) for this vacancy before
 *   municipality  vacancy's municipality not acceptable to the candidate
 *   neighbourhood vacancy's neighbourhood excluded for the candidate
 *   distance      farther than the candidate's maximum from its care location
 *   household     too few rooms or too little floor area for the household
 *   rent          above the passend-toewijzen limit for household, income and age
 *   accessibility an access need the dwelling does not offer
 * Ranking among the eligible: earliest urgency date, then the lowest fit
 * penalty (scheme weights per surplus room, per surplus m2 and per km from
 * the care location), then candidate id. */
#ifndef WZ_MATCH_H_INCLUDED
#define WZ_MATCH_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wz_policy.h"
#include "wz_proto.h"

#define WZ_MATCH_RULES 16
#define WZ_MATCH_RANKING \
    "earliest urgency date, then lowest fit penalty (surplus rooms, surplus m2, km), then id"

/* Says whether candidate_id was proposed for this vacancy before. */
typedef bool (*wz_match_tried_fn)(void *arg, const char *candidate_id);

/* What one decision is taken on besides the vacancy and the candidates. The
 * caller fills it; everything is borrowed. */
typedef struct {
    const wz_policy_t *policy;
    const wz_scheme_t *scheme;    /* NULL: the vacancy goes through no scheme */
    int64_t today;                /* day number of the decision (wz_calendar) */
    int contingent_target;        /* -1: no contingent applies (no cap that year) */
    int contingent_used;          /* placements counted against it (incl. open proposals) */
    int placed_complex, placed_stairwell, placed_neighbourhood; /* within spread years */
    wz_match_tried_fn tried;      /* may be NULL: nobody was proposed before */
    void *tried_arg;
    const char *nominee;          /* nominate mode: the only candidate that may be chosen */
    uint32_t inactive;            /* candidates left out because not active: counted as
                                     considered and removed by status (replay) */
    bool batch;                   /* with nominee: the candidate a batch assignment chose */
} wz_match_ctx_t;

/* The outcome of one match. `explanation` points into this struct (its
 * filters, summary and strings live here): use it in place, never copy the
 * struct by value while the explanation is in use. */
typedef struct {
    WzExplanation explanation;
    WzFilterCount counts[WZ_MATCH_RULES];
    WzFilterCount *count_ptrs[WZ_MATCH_RULES];
    char policy_version[32];
    char scheme[WZ_ID_MAX];
    char summary[512];
    int nominee_rule;             /* nominate: rule the nominee failed, -1 eligible/none */
} wz_match_result_t;

/* The name of rule i (0 .. WZ_MATCH_RULES-1) as it appears in an
 * Explanation, e.g. "household"; NULL for any other i. */
const char *wz_match_rule_name(size_t i);
/* Index of a rule by name, or -1. */
int wz_match_rule_index(const char *name);

/* Index of the first vacancy-level rule (scheme, contingent, spread) that
 * fails, or -1 when the vacancy may be offered at all. */
int wz_match_vacancy_check(const wz_match_ctx_t *ctx, const WzVacancy *v);

/* Index of the first candidate-level rule c fails for v, or -1 when c is
 * eligible; then *penalty (when not NULL) is its fit penalty. */
int wz_match_check(const wz_match_ctx_t *ctx, const WzVacancy *v, const WzCandidate *c,
                   double *penalty);

/* The rules that depend only on attributes a bucket of candidates shares
 * (group, care provider, care location, household size, age band, income
 * class, access needs): group, care_provider, household, rent,
 * accessibility, in that order. Index of the first c fails, or -1 with
 * *penalty (when not NULL) its fit penalty. *km is set either way: the
 * distance from c's care location to the dwelling, negative when unknown. */
int wz_match_bucket_rule(const wz_match_ctx_t *ctx, const WzVacancy *v, const WzCandidate *c,
                         double *km, double *penalty);

/* The other candidate rules (status, consent, parked, urgency_window,
 * already_proposed, municipality, neighbourhood, distance, in that order),
 * with km as wz_match_bucket_rule set it. Index of the first c fails, or -1.
 * c is eligible exactly when this and wz_match_bucket_rule both give -1,
 * which is exactly when wz_match_check gives -1. */
int wz_match_candidate_rule(const wz_match_ctx_t *ctx, const WzVacancy *v, const WzCandidate *c,
                            double km);

/* Negative when a (with fit penalty pa) ranks before b. */
int wz_match_rank_cmp(const WzCandidate *a, double pa, const WzCandidate *b, double pb);

/* Distance in km between two neighbourhood centroids of the policy (great
 * circle); a negative value when either code is unknown. */
double wz_match_distance_km(const wz_policy_t *policy, const char *from_code, const char *to_code);

/* Chooses for v among cands[0..n-1] (all borrowed) and fills *out with the
 * explanation (every rule, in order, even when it removed nobody). Ranked
 * mode (ctx->nominee NULL): the best eligible candidate. Nominate mode: the
 * nominee if it is eligible, with its rank among the eligible. Returns 1
 * with *chosen set to the index, or 0 when nobody may be proposed. */
int wz_match_pick(const wz_match_ctx_t *ctx, const WzVacancy *v, WzCandidate *const *cands,
                  size_t n, wz_match_result_t *out, size_t *chosen);

/* The snapshot format of a walked decision (DecisionSnapshot.format). */
#define WZ_MATCH_SNAPSHOT_WALK 2

/* Decides for v from what a candidate index walked (see wz_cindex.h): every
 * active candidate counted in buckets[0..n_buckets-1] (by key and size), and
 * walked[0..n_walked-1], the candidates of the buckets that fit, in rank
 * order, as far as the decision needed: ranked mode up to and including the
 * first eligible one (all of them when nobody is); nominate mode up to and
 * including the nominee when it is eligible, else only the nominee (nothing
 * when it is not in the region). ctx->inactive counts the rest.
 * Explanation: inactive candidates are removed by status, whole buckets by
 * the first dwelling or scheme rule they fail, walked candidates by the first
 * candidate rule they fail; the candidates of fitting buckets not walked are
 * `not_examined`. Returns 1 with *chosen an index into walked, 0 when nobody
 * may be proposed, or -1 with the reason in out->summary when the walk is not
 * one this function could have asked for (out of rank order, a walked
 * candidate that does not fit, one past the first eligible, ...): that is
 * what a replay checks. Allocates nothing. */
int wz_match_decide(const wz_match_ctx_t *ctx, const WzVacancy *v,
                    WzSnapshotBucket *const *buckets, size_t n_buckets,
                    WzCandidate *const *walked, size_t n_walked, wz_match_result_t *out,
                    size_t *chosen);

/* Replays a stored decision: the snapshot's vacancy, candidates, counters
 * and day under policy, with wz_match_pick (format 0, every active candidate)
 * or wz_match_decide (format 2, walked). Returns 1 with *chosen an index
 * into snap->candidates, 0 for nobody, or -1 (also when the walk is
 * inconsistent) with a reason in
 * out->summary when the snapshot cannot be replayed under this policy (another
 * policy version, or its scheme is gone). */
int wz_match_replay(const wz_policy_t *policy, const WzSnapshot *snap, wz_match_result_t *out,
                    size_t *chosen);

#endif
