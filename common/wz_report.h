/* wz_report.h - the figures a municipality accounts for, computed from the
 * audit events alone (event-sourced; docs/reports.md defines every figure).
 *
 * Feed every event of a region's chain in order with wz_report_add; each
 * fact is counted in the period of the event that makes it (a let in the
 * month of its VacancyLet), so a closed period's figures never change when
 * later events arrive. Rows are (period, dimension, name); the dimensions
 * are the region, the dwelling's municipality, the corporation and the care
 * provider. No personal data is kept: candidate ids live only in the
 * lookups that turn a let into a waiting time. */
#ifndef WZ_REPORT_H_INCLUDED
#define WZ_REPORT_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "wz_policy.h"
#include "wz_proto.h"

typedef enum { WZ_PERIOD_MONTH = 0, WZ_PERIOD_QUARTER, WZ_PERIOD_YEAR } wz_period_t;

typedef enum {
    WZ_DIM_REGION = 0,
    WZ_DIM_MUNICIPALITY,
    WZ_DIM_CORPORATION,
    WZ_DIM_CARE_PROVIDER,
    WZ_DIM_COUNT
} wz_dim_t;

typedef enum { WZ_REPORT_TABLE = 0, WZ_REPORT_CSV, WZ_REPORT_JSON } wz_report_format_t;

#define WZ_REPORT_KEY_MAX 64

/* A named count: offers per scheme, refusals per reason. */
typedef struct {
    char key[WZ_REPORT_KEY_MAX];
    uint64_t n;
} wz_report_count_t;

/* Durations in days, for median and p90. */
typedef struct {
    double *days;
    size_t n, cap;
} wz_report_times_t;

typedef struct {
    char period[12]; /* "2025-03", "2025-Q1", "2025" */
    wz_dim_t dim;
    char name[WZ_REPORT_KEY_MAX];
    uint64_t offered, proposals, acceptances, refusals, expiries, lets, releases, lapsed;
    wz_report_count_t *offered_by_scheme;
    size_t n_offered_by_scheme;
    wz_report_count_t *refusals_by_reason;
    size_t n_refusals_by_reason;
    wz_report_times_t wait;       /* urgency granted -> let */
    wz_report_times_t vacancy_let; /* vacancy published -> let */
} wz_report_row_t;

/* Lets against the contingent of scheme x municipality x corporation x year. */
typedef struct {
    int year;
    char scheme[WZ_REPORT_KEY_MAX];
    char municipality[WZ_REPORT_KEY_MAX];
    char corporation[WZ_REPORT_KEY_MAX];
    int target; /* -1: no contingent in the policy */
    uint64_t used;
} wz_report_contingent_t;

/* One let, for the spread map (no candidate in it). */
typedef struct {
    int64_t ms;
    char region[WZ_REPORT_KEY_MAX];
    char municipality[WZ_REPORT_KEY_MAX];
    char neighbourhood[WZ_REPORT_KEY_MAX];
    char scheme[WZ_REPORT_KEY_MAX];
} wz_report_let_t;

typedef struct wz_report_t wz_report_t;

/* A report by period; policy (borrowed, may be NULL) resolves a vacancy's
 * default scheme and the contingent targets. NULL on OOM. */
wz_report_t *wz_report_new(wz_period_t period, const wz_policy_t *policy);
void wz_report_destroy(wz_report_t **self_p);
/* Counts one event (borrowed). 0, or -1 on OOM. */
int wz_report_add(wz_report_t *self, const WzEvent *ev);
/* Unpacks and counts one event's bytes; an undecodable one is skipped and
 * counted (wz_report_skipped). 0, or -1 on OOM. */
int wz_report_add_bytes(wz_report_t *self, const uint8_t *data, size_t len);
size_t wz_report_skipped(const wz_report_t *self);

/* The rows sorted by period, dimension and name (borrowed, valid until the
 * next add). */
const wz_report_row_t *wz_report_rows(wz_report_t *self, size_t *n);
/* The row of (period, dim, name), or NULL. */
const wz_report_row_t *wz_report_find(wz_report_t *self, const char *period, wz_dim_t dim,
                                      const char *name);
const wz_report_contingent_t *wz_report_contingents(wz_report_t *self, size_t *n);
const wz_report_let_t *wz_report_lets(const wz_report_t *self, size_t *n);

/* The period key of a unix time in ms (UTC) into out (>= 12 bytes). */
void wz_report_period_key(wz_period_t period, int64_t ms, char *out, size_t outlen);
/* The nearest-rank percentile p (0 < p <= 100) of times; 0 when empty. */
double wz_report_percentile(const wz_report_times_t *t, double p);
const char *wz_dim_name(wz_dim_t dim); /* "region", "municipality", ... */
int wz_dim_parse(const char *name);    /* -1 when unknown */
int wz_period_parse(const char *name); /* "month" -> WZ_PERIOD_MONTH; -1 when unknown */

/* Writes the report: rows of dimension dim (WZ_DIM_COUNT: all) as a table,
 * CSV (one figure per line) or JSON. 0, or -1 on a write error. */
int wz_report_write(wz_report_t *self, FILE *out, wz_report_format_t format, int dim);

#endif
