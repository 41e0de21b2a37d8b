/* Unit tests of wz_http: the three pages, readiness checks, 404/405, and
 * that the daemon is served by the service's own loop (no thread of its own). */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "wz_http.h"
#include "wz_testhttp.h"
#include "wz_testmain.h"

typedef struct {
    int port;
    const char *paths[4];
    const char *headers[4]; /* extra request headers, NULL for none */
    int status[4];
    char body[4][8192];
    volatile sig_atomic_t *stop;
} s_client_t;

/* The client runs in a thread while the test's thread runs the loop. */
static void *s_client(void *arg)
{
    s_client_t *c = arg;
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", c->port);
    for (int i = 0; i < 4 && c->paths[i]; i++)
        c->status[i] =
            wz_test_http_get_headers(addr, c->paths[i], c->headers[i] ? c->headers[i] : "",
                                     c->body[i], sizeof c->body[i], 5000);
    *c->stop = 1;
    return NULL;
}

static void s_serve(wz_http_t *http, s_client_t *c)
{
    volatile sig_atomic_t stop = 0;
    c->stop = &stop;
    c->port = wz_http_port(http);
    wz_loop_t *loop = wz_loop_new(&stop);
    ck_assert_int_eq(wz_http_attach(http, loop), 0);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, s_client, c), 0);
    ck_assert_int_eq(wz_loop_run(loop), 0);
    pthread_join(t, NULL);
    wz_loop_destroy(&loop);
}

static int s_flag_check(void *arg, char *why, size_t whylen)
{
    const int *ready = arg;
    if (*ready)
        return 0;
    snprintf(why, whylen, "flag is down");
    return -1;
}

START_TEST(test_pages)
{
    wz_metrics_t *m = wz_metrics_new("intake");
    wz_metrics_add(m, WZ_M_REQUESTS, "status", "OK", 2);
    char err[256];
    wz_http_t *http = wz_http_new("127.0.0.1:0", m, NULL, err, sizeof err);
    ck_assert_msg(http != NULL, "%s", err);
    ck_assert_int_gt(wz_http_port(http), 0);
    int ready = 1;
    ck_assert_int_eq(wz_http_add_check(http, "flag", s_flag_check, &ready), 0);
    s_client_t c = {.paths = {"/healthz", "/readyz", "/metrics", "/nope"}};
    s_serve(http, &c);
    ck_assert_int_eq(c.status[0], 200);
    ck_assert_str_eq(c.body[0], "ok\n");
    ck_assert_int_eq(c.status[1], 200);
    ck_assert_str_eq(c.body[1], "ready\n");
    ck_assert_int_eq(c.status[2], 200);
    ck_assert(wz_test_metric(c.body[2], "wz_requests_total{type=\"status\",result=\"OK\"}") == 2);
    ck_assert(wz_test_metric(c.body[2], "wz_ready") == 1);
    ck_assert_int_eq(c.status[3], 404);
    wz_http_destroy(&http);
    ck_assert_ptr_null(http);
    wz_metrics_destroy(&m);
}
END_TEST

START_TEST(test_not_ready_says_why_and_health_stays_up)
{
    wz_metrics_t *m = wz_metrics_new("matching");
    char err[256];
    wz_http_t *http = wz_http_new("127.0.0.1:0", m, NULL, err, sizeof err);
    ck_assert_ptr_nonnull(http);
    int ready = 0;
    wz_http_add_check(http, "flag", s_flag_check, &ready);
    s_client_t c = {.paths = {"/readyz", "/healthz", "/metrics"}};
    s_serve(http, &c);
    ck_assert_int_eq(c.status[0], 503);
    ck_assert_str_eq(c.body[0], "flag: flag is down\n");
    ck_assert_int_eq(c.status[1], 200);
    ck_assert(wz_test_metric(c.body[2], "wz_ready") == 0);
    char why[128];
    ck_assert_int_eq(wz_http_ready(http, why, sizeof why), -1);
    ready = 1;
    ck_assert_int_eq(wz_http_ready(http, why, sizeof why), 0);
    wz_http_destroy(&http);
    wz_metrics_destroy(&m);
}
END_TEST

static unsigned s_hello(void *arg, const char *url, const char *region, char **body, size_t *len,
                        const char **type)
{
    (void)arg;
    *body = malloc(128);
    *len = (size_t)snprintf(*body, 128, "%s %s", url, region ? region : "-");
    *type = "text/plain";
    return 200;
}

START_TEST(test_token_pages)
{
    char err[256];
    /* exposed without a token: refused */
    wz_http_t *open = wz_http_new("*:0", NULL, NULL, err, sizeof err);
    ck_assert_ptr_nonnull(open);
    ck_assert(!wz_http_loopback(open));
    ck_assert_int_eq(wz_http_add_pages(open, "/dashboard", "", s_hello, NULL, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "token"));
    wz_http_destroy(&open);
    wz_http_t *http = wz_http_new("127.0.0.1:0", NULL, NULL, err, sizeof err);
    ck_assert(wz_http_loopback(http));
    ck_assert_int_eq(wz_http_add_pages(http, "/dashboard", "0123456789abcdef", s_hello, NULL, err,
                                       sizeof err),
                     0);
    s_client_t c = {.paths = {"/dashboard/x?region=zkij", "/dashboard/x?token=0123456789abcdeF",
                              "/dashboard/x?region=zkij&token=0123456789abcdef",
                              "/dashboardx?token=0123456789abcdef"}};
    s_serve(http, &c);
    ck_assert_int_eq(c.status[0], 401);
    ck_assert_int_eq(c.status[1], 401);
    ck_assert_int_eq(c.status[2], 200);
    ck_assert_str_eq(c.body[2], "/dashboard/x zkij");
    ck_assert_int_eq(c.status[3], 404);
    /* The token in an Authorization header, as scripts and proxies send it:
     * only the exact token, only as Bearer. */
    s_client_t h = {.paths = {"/dashboard/y?region=zkij", "/dashboard/y?region=zkij",
                              "/dashboard/y?region=zkij", "/dashboard/y?region=zkij"},
                    .headers = {"Authorization: Bearer 0123456789abcdef\r\n",
                                "Authorization: Bearer 0123456789abcde\r\n",
                                "Authorization: Basic 0123456789abcdef\r\n",
                                "Authorization: Bearer 0123456789abcdef0\r\n"}};
    s_serve(http, &h);
    ck_assert_int_eq(h.status[0], 200);
    ck_assert_str_eq(h.body[0], "/dashboard/y zkij");
    ck_assert_int_eq(h.status[1], 401);
    ck_assert_int_eq(h.status[2], 401);
    ck_assert_int_eq(h.status[3], 401);
    wz_http_destroy(&http);
}
END_TEST

START_TEST(test_bad_address_and_taken_port)
{
    char err[256];
    ck_assert_ptr_null(wz_http_new("localhost", NULL, NULL, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "host:port"));
    ck_assert_ptr_null(wz_http_new("example:80", NULL, NULL, err, sizeof err));
    wz_http_t *a = wz_http_new("127.0.0.1:0", NULL, NULL, err, sizeof err);
    ck_assert_ptr_nonnull(a);
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", wz_http_port(a));
    ck_assert_ptr_null(wz_http_new(addr, NULL, NULL, err, sizeof err));
    ck_assert_msg(strstr(err, "in use") != NULL, "%s", err);
    wz_http_destroy(&a);
    wz_http_destroy(&a);
}
END_TEST

int main(void)
{
    TCase *tc = wz_test_case(
        "http", 30,
        (const TTest *const[]){test_pages, test_not_ready_says_why_and_health_stays_up,
                               test_bad_address_and_taken_port, test_token_pages, NULL});
    return wz_test_run("http", (TCase *const[]){tc, NULL});
}
