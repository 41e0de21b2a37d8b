/* wz_assign.h - assigning a batch of vacancies jointly. Given which
 * candidates are eligible for which vacancies (the same rules as one by one,
 * see wz_match) and a cost per eligible pair (lower is better: the candidate's
 * place in the ranked order, so urgency still counts), choose at most one
 * candidate per vacancy and one vacancy per candidate:
 *   - exact: as many people housed as any assignment can house, and among
 *     those the lowest total cost (Hungarian algorithm, O(v^2 c));
 *   - greedy: vacancies in the given order, each taking its best remaining
 *     candidate (what matching one by one does);
 *   - scarcest first: greedy, but the vacancy with the fewest remaining
 *     eligible candidates first (an online rule when the batch cannot wait).
 * Pure: no allocation beyond the working arrays, no Redis, no clock. */
#ifndef WZ_ASSIGN_H_INCLUDED
#define WZ_ASSIGN_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

/* cost[v * n_cand + c] >= 0 for an eligible pair, < 0 when not eligible.
 * Each function fills out[v] with the candidate index for vacancy v, or -1,
 * and returns how many vacancies got a candidate, or -1 on OOM. */
int wz_assign_exact(const double *cost, size_t n_vac, size_t n_cand, int *out);
int wz_assign_greedy(const double *cost, size_t n_vac, size_t n_cand, int *out);
int wz_assign_scarcest_first(const double *cost, size_t n_vac, size_t n_cand, int *out);
/* The total cost of an assignment (pairs with out[v] >= 0). */
double wz_assign_cost(const double *cost, size_t n_vac, size_t n_cand, const int *out);

#endif
