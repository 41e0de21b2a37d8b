/* wz_client.c - the party side of the wire: request/reply with retries, and
 * a mailbox listener that resumes by sequence. */
#include "wz_client.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "wz_codec.h"
#include "wz_util.h"
#include "wz_zap.h"

#define HELLO_EVERY_MS 1000
#define SEND_TIMEOUT_MS 1000
/* A request is resent until answered, so nothing needs to outlive the
 * socket; an ack is sent once, so it gets a moment to leave on close. */
#define CLIENT_LINGER_MS 0
#define LISTENER_LINGER_MS 1000

struct wz_client_t {
    void *sock;
};

struct wz_listener_t {
    void *sock;
    uint64_t last_seq;
    int64_t quiet_since; /* last message from the server, or last Hello sent */
};

int wz_client_keys(const wz_settings_t *settings, const char *party, const char *service,
                   wz_keypair_t *party_kp, char server_public[41], char *err, size_t errlen)
{
    if (!party || !*party) {
        snprintf(err, errlen, "no party given: say which party you act as");
        return -1;
    }
    if (wz_keys_read_secret(settings->keys_dir, party, party_kp, err, errlen) != 0)
        return -1;
    if (wz_keys_read_public(settings->keys_dir, service, server_public, err, errlen) != 0) {
        memset(party_kp, 0, sizeof *party_kp);
        return -1;
    }
    return 0;
}

/* A DEALER speaking CURVE to the server. */
static void *s_dealer(void *ctx, const char *endpoint, const char *server_public_z85,
                      const wz_keypair_t *kp, int linger)
{
    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    if (!sock)
        return NULL;
    int sndtimeo = SEND_TIMEOUT_MS;
    /* Replies are bounded too (the largest is an audit page of 1000 entries). */
    int64_t max_in = WZ_CLIENT_MAX_REPLY;
    if (zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(sock, ZMQ_SNDTIMEO, &sndtimeo, sizeof sndtimeo) != 0 ||
        zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &max_in, sizeof max_in) != 0 ||
        wz_zap_client(sock, kp, server_public_z85) != 0 || zmq_connect(sock, endpoint) != 0) {
        int e = zmq_errno();
        zmq_close(sock);
        errno = e;
        return NULL;
    }
    return sock;
}

wz_client_t *wz_client_new(void *ctx, const char *endpoint, const char *server_public_z85,
                           const wz_keypair_t *kp)
{
    wz_client_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->sock = s_dealer(ctx, endpoint, server_public_z85, kp, CLIENT_LINGER_MS);
    if (!self->sock) {
        free(self);
        return NULL;
    }
    return self;
}

void wz_client_destroy(wz_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zmq_close((*self_p)->sock);
    free(*self_p);
    *self_p = NULL;
}

/* Receives one whole message (extra frames dropped) and unpacks it with d.
 * Returns the message, or NULL (errno EPROTO if it did not unpack). */
static ProtobufCMessage *s_recv_one(void *sock, const ProtobufCMessageDescriptor *d)
{
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&msg);
        return NULL;
    }
    ProtobufCMessage *m = wz_codec_unpack(d, zmq_msg_data(&msg), zmq_msg_size(&msg));
    int more = zmq_msg_more(&msg);
    zmq_msg_close(&msg);
    while (more) { /* our protocol is one frame; never leave a tail for the next read */
        zmq_msg_t tail;
        zmq_msg_init(&tail);
        if (zmq_msg_recv(&tail, sock, ZMQ_DONTWAIT) < 0)
            more = 0;
        else
            more = zmq_msg_more(&tail);
        zmq_msg_close(&tail);
    }
    if (!m)
        errno = EPROTO;
    return m;
}

/* Waits until sock is readable or ms pass. 1 readable, 0 not, -1 error. */
static int s_wait(void *sock, int64_t ms)
{
    if (ms < 0)
        ms = 0;
    zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
    int rc = zmq_poll(&item, 1, (long)ms);
    if (rc < 0)
        return errno == EINTR ? 0 : -1;
    return (item.revents & ZMQ_POLLIN) ? 1 : 0;
}

/* Sends bytes without blocking; a full queue (no connection yet) is not an
 * error, the next retry will try again. */
static int s_send_soft(void *sock, const void *data, size_t len)
{
    if (zmq_send(sock, data, len, ZMQ_DONTWAIT) >= 0 || zmq_errno() == EAGAIN)
        return 0;
    return -1;
}

int wz_client_call(wz_client_t *self, WzRequest *req, int timeout_ms, int retry_ms, WzReply **reply)
{
    *reply = NULL;
    char generated[33];
    char *original = req->request_id;
    if (!req->request_id || !*req->request_id) {
        wz_random_id(generated);
        req->request_id = generated;
    }
    size_t len = 0;
    uint8_t *bytes = wz_codec_pack(&req->base, &len);
    const char *want = req->request_id;
    int rc = -1, err = ETIMEDOUT;
    int64_t now = wz_mono_ms(), deadline = now + timeout_ms, next_send = now;
    if (!bytes) {
        err = ENOMEM;
        goto out;
    }
    while (now < deadline) {
        if (now >= next_send) {
            if (s_send_soft(self->sock, bytes, len) != 0) {
                err = zmq_errno();
                goto out;
            }
            next_send = retry_ms > 0 ? now + retry_ms : deadline;
        }
        int64_t until = next_send < deadline ? next_send : deadline;
        int ready = s_wait(self->sock, until - now);
        if (ready < 0) {
            err = zmq_errno();
            goto out;
        }
        while (ready > 0) {
            WzReply *r = (WzReply *)s_recv_one(self->sock, &woonzorg__v1__reply__descriptor);
            if (!r) {
                if (errno == EPROTO)
                    continue; /* garbage frame: keep waiting for ours */
                break;        /* nothing more queued */
            }
            if (r->request_id && strcmp(r->request_id, want) == 0) {
                *reply = r;
                rc = 0;
                goto out;
            }
            WZ_FREE_UNPACKED(r); /* a late answer to an earlier call */
        }
        now = wz_mono_ms();
    }
out:
    free(bytes);
    req->request_id = original;
    if (rc != 0)
        errno = err;
    return rc;
}

int wz_client_call_raw(wz_client_t *self, const void *data, size_t len, int timeout_ms,
                       WzReply **reply)
{
    *reply = NULL;
    if (zmq_send(self->sock, data, len, 0) < 0)
        return -1;
    int64_t deadline = wz_mono_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - wz_mono_ms();
        if (left <= 0)
            break;
        int ready = s_wait(self->sock, left);
        if (ready < 0)
            return -1;
        if (ready == 0)
            continue;
        WzReply *r = (WzReply *)s_recv_one(self->sock, &woonzorg__v1__reply__descriptor);
        if (r) {
            *reply = r;
            return 0;
        }
        if (errno == EPROTO)
            return -1;
    }
    errno = ETIMEDOUT;
    return -1;
}

static int s_send_client_message(void *sock, WzClientMessage *cm)
{
    return wz_codec_send(sock, &cm->base, 0);
}

static int s_hello(wz_listener_t *self)
{
    Woonzorg__V1__Hello hello = WOONZORG__V1__HELLO__INIT;
    WzClientMessage cm = WOONZORG__V1__CLIENT_MESSAGE__INIT;
    hello.after_seq = self->last_seq;
    cm.body_case = WOONZORG__V1__CLIENT_MESSAGE__BODY_HELLO;
    cm.hello = &hello;
    self->quiet_since = wz_mono_ms();
    if (s_send_client_message(self->sock, &cm) != 0 && zmq_errno() != EAGAIN)
        return -1;
    return 0;
}

wz_listener_t *wz_listener_new(void *ctx, const char *endpoint, const char *server_public_z85,
                               const wz_keypair_t *kp, uint64_t after_seq)
{
    wz_listener_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->last_seq = after_seq;
    self->sock = s_dealer(ctx, endpoint, server_public_z85, kp, LISTENER_LINGER_MS);
    if (!self->sock || s_hello(self) != 0) {
        if (self->sock)
            zmq_close(self->sock);
        free(self);
        return NULL;
    }
    return self;
}

void wz_listener_destroy(wz_listener_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zmq_close((*self_p)->sock);
    free(*self_p);
    *self_p = NULL;
}

int wz_listener_next(wz_listener_t *self, int timeout_ms, WzDelivery **delivery)
{
    *delivery = NULL;
    int64_t now = wz_mono_ms(), deadline = now + timeout_ms;
    for (;;) {
        if (now - self->quiet_since >= HELLO_EVERY_MS && s_hello(self) != 0)
            return -1;
        int64_t hello_at = self->quiet_since + HELLO_EVERY_MS;
        int64_t until = hello_at < deadline ? hello_at : deadline;
        int ready = s_wait(self->sock, until - now);
        if (ready < 0)
            return -1;
        while (ready > 0) {
            WzDelivery *d =
                (WzDelivery *)s_recv_one(self->sock, &woonzorg__v1__delivery__descriptor);
            if (!d) {
                if (errno == EPROTO)
                    continue;
                break;
            }
            self->quiet_since = wz_mono_ms();
            if (d->seq <= self->last_seq) {
                WZ_FREE_UNPACKED(d); /* resent after a reconnect: already seen */
                continue;
            }
            self->last_seq = d->seq;
            *delivery = d;
            return 1;
        }
        now = wz_mono_ms();
        if (now >= deadline)
            return 0;
    }
}

int wz_listener_ack(wz_listener_t *self, uint64_t seq)
{
    Woonzorg__V1__Ack ack = WOONZORG__V1__ACK__INIT;
    WzClientMessage cm = WOONZORG__V1__CLIENT_MESSAGE__INIT;
    ack.up_to_seq = seq;
    cm.body_case = WOONZORG__V1__CLIENT_MESSAGE__BODY_ACK;
    cm.ack = &ack;
    return s_send_client_message(self->sock, &cm);
}

uint64_t wz_listener_last_seq(const wz_listener_t *self)
{
    return self->last_seq;
}
