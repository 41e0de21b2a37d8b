/* wz_dashboard.h - the municipality's dashboard as server-rendered HTML
 * pages with inline SVG charts, made from a wz_report (docs/reports.md):
 *
 *   ""            overview: the year's key figures and the pages
 *   "funnel"      offered, proposed, accepted and let per month
 *   "contingents" lets per corporation against its contingent target
 *   "waiting"     distribution of the waiting time urgency -> let
 *   "spread"      the spread map: a bubble per neighbourhood (centroids from
 *                 the policy) coloured by active placements against the limit
 *
 * Dutch labels and number formatting, a data table with every chart (its
 * text alternative), print styles, no script. Only counts: a count from 1
 * below small_number is shown as "< small_number", and medians of fewer
 * lets than that are not shown. */
#ifndef WZ_DASHBOARD_H_INCLUDED
#define WZ_DASHBOARD_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "wz_policy.h"
#include "wz_report.h"

typedef struct {
    int small_number; /* counts 1 .. small_number-1 are hidden; <= 1 hides nothing */
    int64_t now_ms;   /* "today" for the current year and the spread window */
} wz_dashboard_opts_t;

/* Renders page of region (an id of policy) from report (made by month from
 * that region's events). Returns the malloc'd HTML (caller frees) with its
 * length in *len, or NULL when the page or region is unknown (*len = 0) or
 * on OOM (*len = 1). */
char *wz_dashboard_render(const char *page, const wz_policy_t *policy, const char *region,
                          wz_report_t *report, const wz_dashboard_opts_t *opts, size_t *len);

/* Dutch formatting: 12345 -> "12.345"; 1234.56 (1 decimal) -> "1.234,6". */
void wz_nl_int(uint64_t n, char *out, size_t outlen);
void wz_nl_dec(double x, int decimals, char *out, size_t outlen);

#endif
