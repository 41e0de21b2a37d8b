/* wz_http.c - libmicrohttpd in "external select" mode with epoll, driven by
 * the service's own loop. */
#include "wz_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include <sodium.h>

#include "wz_settings.h"

#define MAX_CHECKS 8
/* Probes and one Prometheus: a few connections are plenty, and a bound keeps
 * a misbehaving client from tying up the loop. */
#define MAX_CONNECTIONS 16
#define CONNECTION_TIMEOUT_S 10

struct wz_http_t {
    struct MHD_Daemon *daemon;
    wz_metrics_t *metrics;
    wz_log_t *log;
    int port;
    struct {
        char name[32];
        wz_http_check_fn fn;
        void *arg;
    } checks[MAX_CHECKS];
    size_t n_checks;
    bool loopback;
    char prefix[64];
    char token[128];
    wz_http_page_fn page;
    void *page_arg;
};

static enum MHD_Result s_reply(struct MHD_Connection *conn, unsigned status, const char *type,
                               char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    if (!r) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result s_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    return s_reply(conn, status, "text/plain; charset=utf-8", (char *)text, strlen(text),
                   MHD_RESPMEM_MUST_COPY);
}

int wz_http_ready(wz_http_t *self, char *out, size_t outlen)
{
    int rc = 0;
    size_t used = 0;
    if (out && outlen)
        out[0] = '\0';
    for (size_t i = 0; i < self->n_checks; i++) {
        char why[256] = "";
        if (self->checks[i].fn(self->checks[i].arg, why, sizeof why) == 0)
            continue;
        rc = -1;
        if (out && used < outlen) {
            int n = snprintf(out + used, outlen - used, "%s: %s\n", self->checks[i].name,
                             why[0] ? why : "not ready");
            used += n > 0 ? (size_t)n : 0;
        }
    }
    wz_metrics_set(self->metrics, WZ_M_READY, NULL, rc == 0 ? 1 : 0);
    return rc;
}

/* The page token, compared in constant time, from the header or the query. */
static bool s_token_ok(const wz_http_t *self, struct MHD_Connection *conn)
{
    const char *given = NULL;
    const char *auth =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (auth && strncmp(auth, "Bearer ", 7) == 0)
        given = auth + 7;
    if (!given)
        given = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "token");
    size_t len = strlen(self->token);
    return given && strlen(given) == len && sodium_memcmp(given, self->token, len) == 0;
}

static enum MHD_Result s_handle(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version, const char *upload_data,
                                size_t *upload_data_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)con_cls;
    wz_http_t *self = cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        /* A body, if any, is simply not read: the answer is the same. */
        *upload_data_size = 0;
        return s_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
    }
    if (strcmp(url, "/healthz") == 0)
        return s_text(conn, MHD_HTTP_OK, "ok\n");
    if (strcmp(url, "/readyz") == 0) {
        char why[1024];
        if (wz_http_ready(self, why, sizeof why) == 0)
            return s_text(conn, MHD_HTTP_OK, "ready\n");
        wz_log(self->log, WZ_LOG_DEBUG, "not ready", "checks", why, NULL);
        return s_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, why);
    }
    if (strcmp(url, "/metrics") == 0) {
        /* Readiness is a metric too; refresh it with every scrape. */
        wz_http_ready(self, NULL, 0);
        size_t len = 0;
        char *text = wz_metrics_render(self->metrics, &len);
        if (!text)
            return s_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
        return s_reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len,
                       MHD_RESPMEM_MUST_FREE);
    }
    size_t plen = strlen(self->prefix);
    if (self->page && plen && strncmp(url, self->prefix, plen) == 0 &&
        (url[plen] == '\0' || url[plen] == '/')) {
        if (self->token[0] && !s_token_ok(self, conn))
            return s_text(conn, MHD_HTTP_UNAUTHORIZED, "a token is needed: Authorization: Bearer "
                                                       "TOKEN, or ?token=TOKEN\n");
        char *body = NULL;
        size_t len = 0;
        const char *type = "text/plain; charset=utf-8";
        const char *region = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "region");
        unsigned status = self->page(self->page_arg, url, region, &body, &len, &type);
        if (!body)
            return s_text(conn, status == MHD_HTTP_OK ? MHD_HTTP_INTERNAL_SERVER_ERROR : status,
                          status == MHD_HTTP_NOT_FOUND ? "not found\n" : "cannot make the page\n");
        return s_reply(conn, status, type, body, len, MHD_RESPMEM_MUST_FREE);
    }
    return s_text(conn, MHD_HTTP_NOT_FOUND, "not found: try /healthz, /readyz or /metrics\n");
}

wz_http_t *wz_http_new(const char *addr, wz_metrics_t *metrics, wz_log_t *log, char *err,
                       size_t errlen)
{
    char host[64];
    int port = 0;
    if (wz_settings_split_http(addr, host, sizeof host, &port) != 0) {
        snprintf(err, errlen, "http address '%s' is not host:port", addr ? addr : "");
        return NULL;
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (strcmp(host, "*") == 0)
        sa.sin_addr.s_addr = htonl(INADDR_ANY);
    else if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "http address '%s': '%s' is not an IPv4 address", addr, host);
        return NULL;
    }
    wz_http_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->metrics = metrics;
    self->log = log;
    self->loopback = strcmp(host, "127.0.0.1") == 0;
    errno = 0;
    self->daemon = MHD_start_daemon(
        MHD_USE_EPOLL, (uint16_t)port, NULL, NULL, s_handle, self, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S, MHD_OPTION_END);
    if (!self->daemon) {
        snprintf(err, errlen, "cannot listen on %s: %s", addr,
                 errno ? strerror(errno) : "libmicrohttpd refused");
        free(self);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : port;
    return self;
}

void wz_http_destroy(wz_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    if ((*self_p)->daemon)
        MHD_stop_daemon((*self_p)->daemon);
    free(*self_p);
    *self_p = NULL;
}

bool wz_http_loopback(const wz_http_t *self)
{
    return self->loopback;
}

int wz_http_port(const wz_http_t *self)
{
    return self->port;
}

int wz_http_add_check(wz_http_t *self, const char *name, wz_http_check_fn fn, void *arg)
{
    if (!self || !fn || self->n_checks == MAX_CHECKS)
        return -1;
    snprintf(self->checks[self->n_checks].name, sizeof self->checks[0].name, "%s", name);
    self->checks[self->n_checks].fn = fn;
    self->checks[self->n_checks].arg = arg;
    self->n_checks++;
    return 0;
}

int wz_http_add_pages(wz_http_t *self, const char *prefix, const char *token, wz_http_page_fn fn,
                      void *arg, char *err, size_t errlen)
{
    if (!self || !fn || !prefix || prefix[0] != '/' || strlen(prefix) >= sizeof self->prefix ||
        (token && strlen(token) >= sizeof self->token)) {
        snprintf(err, errlen, "bad page prefix or token");
        return -1;
    }
    if (!self->loopback && (!token || !*token)) {
        snprintf(err, errlen, "the http port is not on 127.0.0.1: the pages need a token");
        return -1;
    }
    snprintf(self->prefix, sizeof self->prefix, "%s", prefix);
    snprintf(self->token, sizeof self->token, "%s", token ? token : "");
    self->page = fn;
    self->page_arg = arg;
    return 0;
}

static int s_on_ready(wz_loop_t *loop, void *socket, void *arg)
{
    (void)loop;
    (void)socket;
    wz_http_t *self = arg;
    MHD_run(self->daemon);
    return 0;
}

static int s_on_timer(wz_loop_t *loop, void *arg)
{
    (void)loop;
    wz_http_t *self = arg;
    MHD_run(self->daemon);
    return 0;
}

int wz_http_attach(wz_http_t *self, wz_loop_t *loop)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info || info->epoll_fd < 0)
        return -1;
    if (wz_loop_add_fd(loop, info->epoll_fd, s_on_ready, self) != 0)
        return -1;
    /* Idle connections time out only when MHD_run runs; once a second is enough. */
    return wz_loop_add_timer(loop, 1000, s_on_timer, self) > 0 ? 0 : -1;
}
