/* wz_assign.c - see wz_assign.h. The exact assignment is the Hungarian
 * algorithm with potentials for a rectangular matrix (rows <= columns), on a
 * matrix where a pair that is not eligible costs more than every eligible
 * assignment together: minimising the total then first maximises how many
 * rows get an eligible column, then minimises their cost. */
#include "wz_assign.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

static double s_sum_eligible(const double *cost, size_t n)
{
    double total = 0;
    for (size_t i = 0; i < n; i++)
        if (cost[i] >= 0)
            total += cost[i];
    return total;
}

/* Hungarian on an n x m matrix a (n <= m, 1-based internally); p[j] is the
 * row matched to column j. */
static int s_hungarian(const double *a, size_t n, size_t m, size_t *p)
{
    double *u = calloc(n + 1, sizeof *u), *v = calloc(m + 1, sizeof *v);
    double *minv = malloc((m + 1) * sizeof *minv);
    size_t *way = calloc(m + 1, sizeof *way);
    bool *used = malloc((m + 1) * sizeof *used);
    int rc = -1;
    if (!u || !v || !minv || !way || !used)
        goto out;
    for (size_t j = 0; j <= m; j++)
        p[j] = 0;
    for (size_t i = 1; i <= n; i++) {
        p[0] = i;
        size_t j0 = 0;
        for (size_t j = 0; j <= m; j++) {
            minv[j] = DBL_MAX;
            used[j] = false;
        }
        do {
            used[j0] = true;
            size_t i0 = p[j0], j1 = 0;
            double delta = DBL_MAX;
            for (size_t j = 1; j <= m; j++) {
                if (used[j])
                    continue;
                double cur = a[(i0 - 1) * m + (j - 1)] - u[i0] - v[j];
                if (cur < minv[j]) {
                    minv[j] = cur;
                    way[j] = j0;
                }
                if (minv[j] < delta) {
                    delta = minv[j];
                    j1 = j;
                }
            }
            for (size_t j = 0; j <= m; j++) {
                if (used[j]) {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
        } while (p[j0] != 0);
        do {
            size_t j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
        } while (j0);
    }
    rc = 0;
out:
    free(u);
    free(v);
    free(minv);
    free(way);
    free(used);
    return rc;
}

int wz_assign_exact(const double *cost, size_t n_vac, size_t n_cand, int *out)
{
    for (size_t r = 0; r < n_vac; r++)
        out[r] = -1;
    if (n_vac == 0 || n_cand == 0)
        return 0;
    /* Rows <= columns: pad with dummy candidates nobody is eligible for when
     * there are more vacancies than candidates. */
    size_t m = n_cand < n_vac ? n_vac : n_cand;
    double big = s_sum_eligible(cost, n_vac * n_cand) + 1.0;
    double *a = malloc(n_vac * m * sizeof *a);
    size_t *p = malloc((m + 1) * sizeof *p);
    if (!a || !p) {
        free(a);
        free(p);
        return -1;
    }
    for (size_t r = 0; r < n_vac; r++)
        for (size_t c = 0; c < m; c++) {
            double x = c < n_cand ? cost[r * n_cand + c] : -1;
            a[r * m + c] = x >= 0 ? x : big;
        }
    int housed = -1;
    if (s_hungarian(a, n_vac, m, p) == 0) {
        housed = 0;
        for (size_t j = 1; j <= m; j++) {
            size_t r = p[j];
            if (r == 0 || j - 1 >= n_cand || cost[(r - 1) * n_cand + (j - 1)] < 0)
                continue;
            out[r - 1] = (int)(j - 1);
            housed++;
        }
    }
    free(a);
    free(p);
    return housed;
}

static int s_best_free(const double *cost, size_t n_cand, size_t r, const bool *taken)
{
    int best = -1;
    for (size_t c = 0; c < n_cand; c++) {
        double x = cost[r * n_cand + c];
        /* Ties: the lower index, as the ranked order breaks them by id. */
        if (x >= 0 && !taken[c] && (best < 0 || x < cost[r * n_cand + (size_t)best]))
            best = (int)c;
    }
    return best;
}

int wz_assign_greedy(const double *cost, size_t n_vac, size_t n_cand, int *out)
{
    bool *taken = calloc(n_cand ? n_cand : 1, sizeof *taken);
    if (!taken)
        return -1;
    int housed = 0;
    for (size_t r = 0; r < n_vac; r++) {
        out[r] = s_best_free(cost, n_cand, r, taken);
        if (out[r] >= 0) {
            taken[out[r]] = true;
            housed++;
        }
    }
    free(taken);
    return housed;
}

int wz_assign_scarcest_first(const double *cost, size_t n_vac, size_t n_cand, int *out)
{
    bool *taken = calloc(n_cand ? n_cand : 1, sizeof *taken);
    bool *done = calloc(n_vac ? n_vac : 1, sizeof *done);
    if (!taken || !done) {
        free(taken);
        free(done);
        return -1;
    }
    int housed = 0;
    for (size_t r = 0; r < n_vac; r++)
        out[r] = -1;
    for (size_t step = 0; step < n_vac; step++) {
        size_t pick = n_vac, fewest = 0;
        for (size_t r = 0; r < n_vac; r++) {
            if (done[r])
                continue;
            size_t n = 0;
            for (size_t c = 0; c < n_cand; c++)
                n += cost[r * n_cand + c] >= 0 && !taken[c];
            if (pick == n_vac || n < fewest) {
                pick = r;
                fewest = n;
            }
        }
        done[pick] = true;
        out[pick] = s_best_free(cost, n_cand, pick, taken);
        if (out[pick] >= 0) {
            taken[out[pick]] = true;
            housed++;
        }
    }
    free(taken);
    free(done);
    return housed;
}

double wz_assign_cost(const double *cost, size_t n_vac, size_t n_cand, const int *out)
{
    double total = 0;
    for (size_t r = 0; r < n_vac; r++)
        if (out[r] >= 0)
            total += cost[r * n_cand + (size_t)out[r]];
    return total;
}
