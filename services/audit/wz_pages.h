/* wz_pages.h - the dashboard of the audit service (docs/reports.md): the
 * pages of wz_dashboard under /dashboard on the audit service's HTTP port,
 * made from the region's audit stream at each request. Read-only; a token
 * (audit.dashboard_token_file) when the port is not on loopback. */
#ifndef WZ_PAGES_H_INCLUDED
#define WZ_PAGES_H_INCLUDED

#include <stddef.h>

#include "wz_runtime.h"

/* Serves the dashboard on rt->http (borrowed; nothing when rt->http is
 * NULL). 0; 1 with the reason in err when the port is not on loopback and
 * no token is configured (the dashboard stays off, the port serves its
 * probes and metrics); -1 with the reason when the token file is unusable. */
int wz_pages_attach(wz_runtime_t *rt, char *err, size_t errlen);

#endif
