/* wz_pages.h - the dashboard of the audit service (docs/reports.md): the
 * pages of wz_dashboard under /dashboard on the audit service's HTTP port,
 * made from the region's audit stream: each request reads what was chained
 * since the one before (the whole chain again after an erasure). Read-only;
 * a token (audit.dashboard_token_file) when the port is not on loopback. */
#ifndef WZ_PAGES_H_INCLUDED
#define WZ_PAGES_H_INCLUDED

#include <stddef.h>

#include "wz_runtime.h"

typedef struct wz_pages_t wz_pages_t;

/* Serves the dashboard on rt->http (borrowed; nothing when rt->http is
 * NULL), keeping its figures in *pages (NULL when it is off), which is
 * destroyed after the HTTP port stopped (wz_runtime_fini). 0; 1 with the
 * reason in err when the port is not on loopback and no token is
 * configured (the dashboard stays off, the port serves its probes and
 * metrics); -1 with the reason when the token file is unusable. */
int wz_pages_attach(wz_runtime_t *rt, wz_pages_t **pages, char *err, size_t errlen);
void wz_pages_destroy(wz_pages_t **self_p);

#endif
