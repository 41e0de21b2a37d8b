/* wz_testhttp.c - blocking sockets with a deadline; enough for tests. */
#include "wz_testhttp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wz_util.h"

static int s_wait(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - wz_mono_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = {fd, events, 0};
        int rc = poll(&p, 1, (int)left);
        if (rc > 0)
            return 0;
        if (rc < 0 && errno != EINTR)
            return -1;
    }
}

int wz_test_http_get_addr(const char *addr, const char *path, char *body, size_t bodylen,
                          int timeout_ms)
{
    return wz_test_http_get_headers(addr, path, "", body, bodylen, timeout_ms);
}

int wz_test_http_get_headers(const char *addr, const char *path, const char *headers, char *body,
                             size_t bodylen, int timeout_ms)
{
    char host[64] = "127.0.0.1";
    const char *colon = strrchr(addr, ':');
    if (!colon || (size_t)(colon - addr) >= sizeof host)
        return -1;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    int port = atoi(colon + 1);
    int64_t deadline = wz_mono_ms() + timeout_ms;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int status = -1;
    char *buf = NULL;
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        goto out;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS)
        goto out;
    if (s_wait(fd, POLLOUT, deadline) != 0)
        goto out;
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0)
        goto out;
    char req[1024];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\n%sConnection: close\r\n\r\n",
                     path, addr, headers);
    if (n < 0 || (size_t)n >= sizeof req || send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
        goto out;
    size_t cap = 65536, len = 0;
    buf = malloc(cap);
    if (!buf)
        goto out;
    for (;;) {
        if (len + 1 == cap) {
            char *grown = realloc(buf, cap * 2);
            if (!grown)
                goto out;
            buf = grown;
            cap *= 2;
        }
        if (s_wait(fd, POLLIN, deadline) != 0)
            goto out;
        ssize_t got = recv(fd, buf + len, cap - len - 1, 0);
        if (got < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (got < 0)
            goto out;
        if (got == 0)
            break;
        len += (size_t)got;
    }
    buf[len] = '\0';
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
        status = -1;
        goto out;
    }
    const char *start = strstr(buf, "\r\n\r\n");
    if (body && bodylen)
        snprintf(body, bodylen, "%s", start ? start + 4 : "");
out:
    free(buf);
    close(fd);
    return status;
}

int wz_test_http_get(int port, const char *path, char *body, size_t bodylen, int timeout_ms)
{
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    return wz_test_http_get_addr(addr, path, body, bodylen, timeout_ms);
}

double wz_test_metric(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    }
    return -1;
}
