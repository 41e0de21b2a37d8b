/* wz_zap.c - the ZAP handler thread and CURVE socket options.
 *
 * libzmq asks inproc://zeromq.zap.01 about every CURVE handshake on a socket
 * with a ZAP domain. The handler answers 200 with the party id as user id
 * for a key the policy knows, 400 for anything else. The thread owns the REP
 * socket and the reading end of a private PAIR; destroy sends on the PAIR. */
#include "wz_zap.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93 /* draft in libzmq 4.3.4 */
#endif

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_MAX_FRAMES 8
#define ZAP_FRAME_MAX 256

struct wz_zap_t {
    void *ctx;
    const wz_policy_t *policy;
    wz_log_t *log;
    void *rep;      /* owned by the thread once it runs */
    void *pipe_in;  /* thread end of the stop pipe */
    void *pipe_out; /* our end: destroy sends the stop on it */
    pthread_t thread;
    bool running;
    atomic_ulong refused;
    /* Services allowed on internal endpoints; written before those bind,
     * read by the thread, so behind a lock. */
    pthread_mutex_t lock;
    size_t n_services;
    struct {
        char name[32];
        char key[WZ_KEY_Z85_LEN + 1];
    } services[WZ_ZAP_MAX_SERVICES];
};

typedef struct {
    size_t n;
    size_t len[ZAP_MAX_FRAMES];
    uint8_t data[ZAP_MAX_FRAMES][ZAP_FRAME_MAX];
    bool oversized[ZAP_MAX_FRAMES];
} zap_request_t;

/* Receives all frames of one request; frames past ZAP_MAX_FRAMES are drained. */
static int s_recv_request(void *rep, zap_request_t *req)
{
    memset(req, 0, sizeof *req);
    int more = 1;
    while (more) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, rep, 0) < 0) {
            zmq_msg_close(&msg);
            return -1;
        }
        if (req->n < ZAP_MAX_FRAMES) {
            size_t len = zmq_msg_size(&msg);
            if (len > ZAP_FRAME_MAX) {
                req->oversized[req->n] = true;
                len = ZAP_FRAME_MAX;
            }
            memcpy(req->data[req->n], zmq_msg_data(&msg), len);
            req->len[req->n] = len;
            req->n++;
        }
        more = zmq_msg_more(&msg);
        zmq_msg_close(&msg);
    }
    return 0;
}

static bool s_frame_is(const zap_request_t *req, size_t i, const char *text)
{
    size_t len = strlen(text);
    return i < req->n && !req->oversized[i] && req->len[i] == len &&
           memcmp(req->data[i], text, len) == 0;
}

/* Copies frame i as a printable string for logs (non-printables become '?'). */
static void s_frame_text(const zap_request_t *req, size_t i, char *out, size_t outlen)
{
    size_t n = 0;
    if (i < req->n)
        for (; n < req->len[i] && n + 1 < outlen; n++) {
            uint8_t c = req->data[i][n];
            out[n] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
        }
    out[n] = '\0';
}

static int s_send_reply(void *rep, const zap_request_t *req, const char *status, const char *text,
                        const char *user_id)
{
    /* The request id is echoed as sent; everything else is ours. */
    const void *rid = req->n > 1 ? (const void *)req->data[1] : (const void *)"";
    size_t rid_len = req->n > 1 ? req->len[1] : 0;
    if (zmq_send(rep, "1.0", 3, ZMQ_SNDMORE) < 0 || zmq_send(rep, rid, rid_len, ZMQ_SNDMORE) < 0 ||
        zmq_send(rep, status, strlen(status), ZMQ_SNDMORE) < 0 ||
        zmq_send(rep, text, strlen(text), ZMQ_SNDMORE) < 0 ||
        zmq_send(rep, user_id, strlen(user_id), ZMQ_SNDMORE) < 0 || zmq_send(rep, "", 0, 0) < 0)
        return -1;
    return 0;
}

/* Answers one request. Frames: version, request id, domain, address,
 * routing id, mechanism, credentials... */
static void s_handle(wz_zap_t *self, const zap_request_t *req)
{
    char address[64], key8[9] = "-";
    const char *reason = NULL;
    const wz_party_t *party = NULL;
    s_frame_text(req, 3, address, sizeof address);

    if (req->n < 6 || !s_frame_is(req, 0, "1.0")) {
        atomic_fetch_add(&self->refused, 1);
        wz_log(self->log, WZ_LOG_WARN, "zap: malformed request", "address", address, NULL);
        s_send_reply(self->rep, req, "500", "malformed ZAP request", "");
        return;
    }
    bool internal = s_frame_is(req, 2, WZ_ZAP_INTERNAL_DOMAIN);
    char service[48] = "";
    if (!s_frame_is(req, 5, "CURVE")) {
        reason = "mechanism is not CURVE";
    } else if (!internal && !s_frame_is(req, 2, WZ_ZAP_DOMAIN)) {
        reason = "unknown ZAP domain";
    } else if (req->n < 7 || req->len[6] != 32) {
        reason = "no CURVE public key";
    } else {
        char z85[WZ_KEY_Z85_LEN + 1];
        if (!zmq_z85_encode(z85, req->data[6], 32)) {
            reason = "key not encodable";
        } else if (internal) {
            memcpy(key8, z85, 8);
            key8[8] = '\0';
            pthread_mutex_lock(&self->lock);
            for (size_t i = 0; i < self->n_services && !service[0]; i++)
                if (strcmp(self->services[i].key, z85) == 0)
                    snprintf(service, sizeof service, "service:%s", self->services[i].name);
            pthread_mutex_unlock(&self->lock);
            if (!service[0])
                reason = "not a service key";
        } else {
            memcpy(key8, z85, 8);
            key8[8] = '\0';
            party = wz_policy_party_by_key(self->policy, z85);
            if (!party)
                reason = "unknown public key";
        }
    }
    if (party || service[0]) {
        s_send_reply(self->rep, req, "200", "OK", party ? party->id : service);
        return;
    }
    atomic_fetch_add(&self->refused, 1);
    wz_log(self->log, WZ_LOG_WARN, "zap: handshake refused", "reason", reason, "key", key8,
           "address", address, "domain", internal ? "internal" : "party", NULL);
    s_send_reply(self->rep, req, "400", reason, "");
}

static void *s_thread(void *arg)
{
    wz_zap_t *self = arg;
    zmq_pollitem_t items[2] = {
        {self->rep, 0, ZMQ_POLLIN, 0},
        {self->pipe_in, 0, ZMQ_POLLIN, 0},
    };
    zap_request_t *req = malloc(sizeof *req);
    while (req) {
        int rc = zmq_poll(items, 2, -1);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            break; /* ETERM: the context is going away */
        }
        if (items[1].revents & ZMQ_POLLIN)
            break;
        if ((items[0].revents & ZMQ_POLLIN) && s_recv_request(self->rep, req) == 0)
            s_handle(self, req);
    }
    if (!req)
        wz_log(self->log, WZ_LOG_ERROR, "zap: out of memory, handler stopped", NULL);
    free(req);
    zmq_close(self->rep);
    zmq_close(self->pipe_in);
    self->rep = NULL;
    self->pipe_in = NULL;
    return NULL;
}

wz_zap_t *wz_zap_new(void *ctx, const wz_policy_t *policy, wz_log_t *log)
{
    wz_zap_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->ctx = ctx;
    self->policy = policy;
    self->log = log;
    atomic_init(&self->refused, 0);
    if (pthread_mutex_init(&self->lock, NULL) != 0) {
        free(self);
        return NULL;
    }

    char pipe_ep[64];
    snprintf(pipe_ep, sizeof pipe_ep, "inproc://wz-zap-stop-%p", (void *)self);
    int linger = 0;
    self->rep = zmq_socket(ctx, ZMQ_REP);
    self->pipe_in = zmq_socket(ctx, ZMQ_PAIR);
    self->pipe_out = zmq_socket(ctx, ZMQ_PAIR);
    if (!self->rep || !self->pipe_in || !self->pipe_out)
        goto fail;
    zmq_setsockopt(self->rep, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(self->pipe_in, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(self->pipe_out, ZMQ_LINGER, &linger, sizeof linger);
    /* Bound here, not in the thread, so server sockets created after we
     * return always find the handler. */
    if (zmq_bind(self->rep, ZAP_ENDPOINT) != 0) {
        wz_log(log, WZ_LOG_ERROR, "zap: cannot bind " ZAP_ENDPOINT, "error",
               zmq_strerror(zmq_errno()), NULL);
        goto fail;
    }
    if (zmq_bind(self->pipe_in, pipe_ep) != 0 || zmq_connect(self->pipe_out, pipe_ep) != 0)
        goto fail;
    if (pthread_create(&self->thread, NULL, s_thread, self) != 0)
        goto fail;
    self->running = true;
    return self;

fail:
    if (self->rep)
        zmq_close(self->rep);
    if (self->pipe_in)
        zmq_close(self->pipe_in);
    if (self->pipe_out)
        zmq_close(self->pipe_out);
    pthread_mutex_destroy(&self->lock);
    free(self);
    return NULL;
}

void wz_zap_destroy(wz_zap_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    wz_zap_t *self = *self_p;
    if (self->running) {
        /* If the send fails the context is terminating, which ends the
         * thread's poll with ETERM just as well. */
        zmq_send(self->pipe_out, "", 0, 0);
        pthread_join(self->thread, NULL);
    }
    zmq_close(self->pipe_out);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

int wz_zap_allow_service(wz_zap_t *self, const char *name, const char *public_z85)
{
    if (!public_z85 || strlen(public_z85) != WZ_KEY_Z85_LEN || strlen(name) >= 32) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&self->lock);
    int rc = -1;
    if (self->n_services < WZ_ZAP_MAX_SERVICES) {
        snprintf(self->services[self->n_services].name, 32, "%s", name);
        memcpy(self->services[self->n_services].key, public_z85, WZ_KEY_Z85_LEN + 1);
        self->n_services++;
        rc = 0;
    }
    pthread_mutex_unlock(&self->lock);
    return rc;
}

unsigned long wz_zap_refused(wz_zap_t *self)
{
    return self ? atomic_load(&self->refused) : 0;
}

static int s_server(void *socket, const wz_keypair_t *server, const char *domain)
{
    int on = 1;
    if (zmq_setsockopt(socket, ZMQ_CURVE_SERVER, &on, sizeof on) != 0 ||
        zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, server->secret_z85, WZ_KEY_Z85_LEN) != 0 ||
        zmq_setsockopt(socket, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) != 0)
        return -1;
    /* Without a handler libzmq lets every client in; enforcing the domain
     * makes a missing or stopped handler fail closed. The option is in the
     * draft part of zmq.h 4.3.4, but the library honours it without the
     * draft API (Debian 12's libzmq5 4.3.4 does; test_zap checks it). A
     * library that refuses it cannot give that guarantee, so the socket is
     * refused rather than silently weaker. */
    if (zmq_setsockopt(socket, ZMQ_ZAP_ENFORCE_DOMAIN, &on, sizeof on) != 0)
        return -1;
    return 0;
}

int wz_zap_server(void *socket, const wz_keypair_t *server)
{
    return s_server(socket, server, WZ_ZAP_DOMAIN);
}

int wz_zap_internal_server(void *socket, const wz_keypair_t *server)
{
    return s_server(socket, server, WZ_ZAP_INTERNAL_DOMAIN);
}

int wz_zap_client(void *socket, const wz_keypair_t *client, const char *server_public_z85)
{
    if (!server_public_z85 || strlen(server_public_z85) != WZ_KEY_Z85_LEN) {
        errno = EINVAL;
        return -1;
    }
    if (zmq_setsockopt(socket, ZMQ_CURVE_SERVERKEY, server_public_z85, WZ_KEY_Z85_LEN) != 0 ||
        zmq_setsockopt(socket, ZMQ_CURVE_PUBLICKEY, client->public_z85, WZ_KEY_Z85_LEN) != 0 ||
        zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, client->secret_z85, WZ_KEY_Z85_LEN) != 0)
        return -1;
    return 0;
}

const char *wz_zap_party(zmq_msg_t *msg)
{
    const char *id = zmq_msg_gets(msg, "User-Id");
    return (id && *id) ? id : NULL;
}
