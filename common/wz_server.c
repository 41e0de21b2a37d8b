/* wz_server.c - CURVE ROUTER set-up and [routing id][payload] framing. */
#include "wz_server.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "wz_zap.h"

/* Replies still queued at close get this long to leave. */
#define LINGER_MS 100

void *wz_server_router(void *ctx, const wz_keypair_t *keys, const char *endpoint,
                       int max_message_bytes, wz_log_t *log)
{
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    if (!router) {
        wz_log(log, WZ_LOG_ERROR, "cannot create the party socket", "error", zmq_strerror(errno),
               NULL);
        return NULL;
    }
    int64_t max_size = max_message_bytes;
    int mandatory = 1, linger = LINGER_MS;
    if (wz_zap_server(router, keys) != 0 ||
        zmq_setsockopt(router, ZMQ_MAXMSGSIZE, &max_size, sizeof max_size) != 0 ||
        zmq_setsockopt(router, ZMQ_ROUTER_MANDATORY, &mandatory, sizeof mandatory) != 0 ||
        zmq_setsockopt(router, ZMQ_LINGER, &linger, sizeof linger) != 0) {
        wz_log(log, WZ_LOG_ERROR, "cannot set up the party socket", "error", zmq_strerror(errno),
               NULL);
        zmq_close(router);
        return NULL;
    }
    if (zmq_bind(router, endpoint) != 0) {
        wz_log(log, WZ_LOG_ERROR, "cannot bind", "endpoint", endpoint, "error", zmq_strerror(errno),
               NULL);
        zmq_close(router);
        return NULL;
    }
    return router;
}

int wz_server_drain(void *router, int budget, wz_server_fn fn, void *arg, wz_log_t *log)
{
    int received = 0;
    for (; received < budget; received++) {
        zmq_msg_t parts[2], extra;
        zmq_msg_init(&parts[0]);
        zmq_msg_init(&parts[1]);
        zmq_msg_init(&extra);
        int n = 0, rc = 0;
        bool more = true;
        while (more && rc >= 0) {
            /* Frames beyond the second are read (to stay in step) and dropped. */
            zmq_msg_t *part = n < 2 ? &parts[n] : &extra;
            rc = zmq_msg_recv(part, router, ZMQ_DONTWAIT);
            more = rc >= 0 && zmq_msg_more(part);
            n += rc >= 0;
        }
        if (rc >= 0 && n == 2) {
            fn(arg, router, &parts[0], &parts[1]);
        } else if (rc >= 0) {
            char frames[16];
            snprintf(frames, sizeof frames, "%d", n);
            wz_log(log, WZ_LOG_WARN, "message dropped: expected [routing id][payload]", "frames",
                   frames, NULL);
        }
        zmq_msg_close(&parts[0]);
        zmq_msg_close(&parts[1]);
        zmq_msg_close(&extra);
        if (rc < 0)
            break;
    }
    return received;
}

int wz_server_send(void *router, zmq_msg_t *routing, const void *data, size_t len)
{
    if (zmq_send(router, zmq_msg_data(routing), zmq_msg_size(routing),
                 ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return -1;
    return zmq_send(router, data, len, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}
