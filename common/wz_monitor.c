/* wz_monitor.c - handshake counting over zmq_socket_monitor (see wz_monitor.h). */
#include "wz_monitor.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "wz_util.h"

#define EVENTS                                                                                     \
    (ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |                             \
     ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |                  \
     ZMQ_EVENT_DISCONNECTED)

struct wz_monitor_t {
    void *socket; /* monitored, borrowed */
    void *pair;   /* reading end, owned */
    char name[32];
    wz_log_t *log;
    wz_monitor_counts_t counts;
    wz_metrics_t *metrics;
    const char *metric; /* the counter family; WZ_M_HANDSHAKES unless set */
    wz_monitor_fn forward;
    void *forward_arg;
};

wz_monitor_t *wz_monitor_new(void *ctx, void *socket, const char *name, wz_log_t *log)
{
    wz_monitor_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->socket = socket;
    self->log = log;
    wz_strlcpy(self->name, name, sizeof self->name);
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://wz-monitor-%p", (void *)self);
    if (zmq_socket_monitor(socket, ep, EVENTS) != 0)
        goto fail;
    self->pair = zmq_socket(ctx, ZMQ_PAIR);
    int linger = 0;
    if (!self->pair || zmq_setsockopt(self->pair, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_connect(self->pair, ep) != 0)
        goto fail;
    return self;
fail:
    wz_log(log, WZ_LOG_ERROR, "cannot monitor the party socket", "error", zmq_strerror(zmq_errno()),
           NULL);
    wz_monitor_destroy(&self);
    return NULL;
}

void wz_monitor_destroy(wz_monitor_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    wz_monitor_t *self = *self_p;
    /* Stop first, so libzmq closes its writing end before ours goes. */
    zmq_socket_monitor(self->socket, NULL, 0);
    if (self->pair)
        zmq_close(self->pair);
    free(self);
    *self_p = NULL;
}

/* One event: [2 bytes id, 4 bytes value][address]. 0, or -1 when none. */
static int s_read_one(wz_monitor_t *self)
{
    uint8_t head[6];
    char addr[128];
    int n = zmq_recv(self->pair, head, sizeof head, ZMQ_DONTWAIT);
    if (n < 0)
        return -1;
    int more = 0;
    size_t len = sizeof more;
    zmq_getsockopt(self->pair, ZMQ_RCVMORE, &more, &len);
    int alen = more ? zmq_recv(self->pair, addr, sizeof addr - 1, 0) : 0;
    if (alen < 0)
        alen = 0;
    if (alen > (int)sizeof addr - 1)
        alen = (int)sizeof addr - 1;
    addr[alen] = '\0';
    if (n != (int)sizeof head)
        return 0;
    uint16_t event;
    uint32_t value;
    memcpy(&event, head, 2);
    memcpy(&value, head + 2, 4);
    if (self->forward)
        self->forward(self->forward_arg, event, value);
    const char *kind = NULL;
    unsigned long total = 0;
    switch (event) {
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
        self->counts.succeeded++;
        wz_metrics_add(self->metrics, self->metric ? self->metric : WZ_M_HANDSHAKES, "succeeded", NULL, 1);
        return 0;
    case ZMQ_EVENT_DISCONNECTED:
        return 0;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        kind = "auth";
        total = ++self->counts.auth;
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        kind = "protocol";
        total = ++self->counts.protocol;
        break;
    default:
        kind = "other";
        total = ++self->counts.other;
        break;
    }
    /* For auth the value is the ZAP status code; for protocol the
     * ZMQ_PROTOCOL_ERROR_* code (e.g. a client that speaks no CURVE). */
    wz_metrics_add(self->metrics, self->metric ? self->metric : WZ_M_HANDSHAKES, kind, NULL, 1);
    char v[16], t[24];
    snprintf(v, sizeof v, "%u", (unsigned)value);
    snprintf(t, sizeof t, "%lu", total);
    wz_log(self->log, WZ_LOG_WARN, "handshake failed", "endpoint", self->name, "kind", kind, "code",
           v, "count", t, "peer", addr, NULL);
    return 0;
}

void wz_monitor_metrics_as(wz_monitor_t *self, wz_metrics_t *metrics, const char *family)
{
    self->metrics = metrics;
    self->metric = family;
}

void wz_monitor_metrics(wz_monitor_t *self, wz_metrics_t *metrics)
{
    self->metrics = metrics;
}

void wz_monitor_forward(wz_monitor_t *self, wz_monitor_fn fn, void *arg)
{
    self->forward = fn;
    self->forward_arg = arg;
}

int wz_monitor_drain(wz_monitor_t *self)
{
    /* Unbounded on purpose: whoever drains needs every event so far (the
     * queue is finite: the monitor PAIR's high-water mark). */
    int n = 0;
    while (s_read_one(self) == 0)
        n++;
    return n;
}

static int s_on_event(wz_loop_t *loop, void *socket, void *arg)
{
    (void)loop;
    (void)socket;
    wz_monitor_drain(arg);
    return 0;
}

int wz_monitor_attach(wz_monitor_t *self, wz_loop_t *loop)
{
    return wz_loop_add_socket(loop, self->pair, s_on_event, self);
}

void wz_monitor_counts(const wz_monitor_t *self, wz_monitor_counts_t *out)
{
    *out = self->counts;
}
