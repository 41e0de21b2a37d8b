/* wz_testhttp.h - a minimal HTTP/1.0 GET for tests of the health and
 * metrics port (the server side is libmicrohttpd; this only reads). */
#ifndef WZ_TESTHTTP_H_INCLUDED
#define WZ_TESTHTTP_H_INCLUDED

#include <stddef.h>

/* GETs path from 127.0.0.1:port (or the host of addr "host:port" with
 * wz_test_http_get_addr) within timeout_ms. Returns the status code (200,
 * 503, ...) with the body, NUL-terminated and cut to bodylen - 1, in body;
 * -1 when no answer came (connection refused, timeout). */
int wz_test_http_get(int port, const char *path, char *body, size_t bodylen, int timeout_ms);
int wz_test_http_get_addr(const char *addr, const char *path, char *body, size_t bodylen,
                          int timeout_ms);
/* The same with extra request header lines, each ending in "\r\n" (e.g.
 * "Authorization: Bearer x\r\n"). */
int wz_test_http_get_headers(const char *addr, const char *path, const char *headers, char *body,
                             size_t bodylen, int timeout_ms);
/* The value of the series line "<series> <value>" in a metrics text, e.g.
 * series `wz_requests_total{type="publish",result="OK"}`; -1 when absent. */
double wz_test_metric(const char *text, const char *series);

#endif
