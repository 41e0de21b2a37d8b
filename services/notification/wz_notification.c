/* wz_notification.c - mailbox sessions on the party ROUTER, fed by the
 * consumer of intake's and matching's events (see wz_notification.h). */
#include "wz_notification.h"

#include "wz_server.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "wz_codec.h"
#include "wz_mailbox.h"
#include "wz_util.h"
#include "wz_zap.h"

#define ROUTING_ID_MAX 255
#define RECV_BUDGET 256
/* One party may listen from a few places at once; more is a leak or abuse. */
#define SESSIONS_PER_PARTY 8
#define TIMER_MAX_MS 1000
#define TIMER_MIN_MS 10
#define BODY(x) WOONZORG__V1__CLIENT_MESSAGE__BODY_##x

typedef struct {
    uint8_t id[ROUTING_ID_MAX];
    size_t id_len;
    const wz_party_t *party; /* borrowed from the policy */
    int fd;                  /* connection the last message came on; -1 unknown */
    uint64_t acked;          /* window base: acknowledged, or skipped by Hello */
    uint64_t sent;           /* highest sequence sent to this session */
    int64_t heard_ms;        /* monotonic time of the last message */
    bool retry;              /* the last fill was cut short: the timer tries again */
    bool dead;               /* removed at the next reap */
} s_session_t;

struct wz_notification_t {
    void *router;
    wz_monitor_t *monitor; /* the router's monitor, borrowed */
    wz_store_t *store;
    wz_pub_t *pub;
    const wz_policy_t *policy;
    wz_log_t *log;
    wz_mailbox_t *mailbox;
    int max_in_flight;
    int session_timeout_ms;
    s_session_t *sessions;
    size_t n_sessions, cap_sessions;
};

static void s_u64(char out[24], uint64_t v)
{
    snprintf(out, 24, "%" PRIu64, v);
}

static void s_on_connection_event(void *arg, unsigned event, unsigned value);

wz_notification_t *wz_notification_new(wz_monitor_t *monitor, void *router, wz_store_t *store, wz_pub_t *pub,
                                       const wz_policy_t *policy, int max_in_flight,
                                       int session_timeout_ms, wz_log_t *log)
{
    wz_notification_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->router = router;
    self->store = store;
    self->pub = pub;
    self->policy = policy;
    self->log = log;
    self->max_in_flight = max_in_flight > 0 ? max_in_flight : 1;
    self->session_timeout_ms = session_timeout_ms > 0 ? session_timeout_ms : 1;
    self->mailbox = wz_mailbox_new(store, policy, log);
    if (!self->mailbox)
        goto fail;
    /* Connection ends, so a routing id taken over by another connection
     * never receives the previous party's entries. */
    self->monitor = monitor;
    wz_monitor_forward(monitor, s_on_connection_event, self);
    return self;
fail:
    wz_log(log, WZ_LOG_ERROR, "cannot set up notification", "error", zmq_strerror(errno), NULL);
    wz_notification_destroy(&self);
    return NULL;
}

void wz_notification_destroy(wz_notification_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    wz_notification_t *self = *self_p;
    if (self->monitor)
        wz_monitor_forward(self->monitor, NULL, NULL);
    wz_mailbox_destroy(&self->mailbox);
    free(self->sessions);
    free(self);
    *self_p = NULL;
}

size_t wz_notification_sessions(const wz_notification_t *self)
{
    size_t n = 0;
    for (size_t i = 0; i < self->n_sessions; i++)
        if (!self->sessions[i].dead)
            n++;
    return n;
}

/* --- sessions -------------------------------------------------------------- */

static void s_drop(wz_notification_t *self, s_session_t *s, const char *why)
{
    if (s->dead)
        return;
    s->dead = true;
    wz_log(self->log, WZ_LOG_INFO, "session ended", "party", s->party->id, "reason", why, NULL);
}

/* Removes dead sessions; only called where no session pointer is held. */
static void s_reap(wz_notification_t *self)
{
    size_t kept = 0;
    for (size_t i = 0; i < self->n_sessions; i++)
        if (!self->sessions[i].dead)
            self->sessions[kept++] = self->sessions[i];
    self->n_sessions = kept;
}

/* Reads the router's connection events: a closed connection ends the
 * sessions that spoke on it (s_on_connection_event). */
static void s_on_connection_event(void *arg, unsigned event, unsigned value)
{
    wz_notification_t *self = arg;
    if (event == ZMQ_EVENT_DISCONNECTED)
        for (size_t i = 0; i < self->n_sessions; i++)
            if (self->sessions[i].fd >= 0 && (unsigned)self->sessions[i].fd == value)
                s_drop(self, &self->sessions[i], "disconnected");
}

static void s_drain_monitor(wz_notification_t *self)
{
    wz_monitor_drain(self->monitor);
}

static s_session_t *s_find(wz_notification_t *self, const void *id, size_t id_len)
{
    for (size_t i = 0; i < self->n_sessions; i++) {
        s_session_t *s = &self->sessions[i];
        if (!s->dead && s->id_len == id_len && memcmp(s->id, id, id_len) == 0)
            return s;
    }
    return NULL;
}

/* A new session for a routing id; ends the party's least recently heard one
 * when it has too many. NULL on OOM. */
static s_session_t *s_add(wz_notification_t *self, const void *id, size_t id_len,
                          const wz_party_t *party)
{
    size_t count = 0;
    s_session_t *oldest = NULL;
    for (size_t i = 0; i < self->n_sessions; i++) {
        s_session_t *s = &self->sessions[i];
        if (s->dead || s->party != party)
            continue;
        count++;
        if (!oldest || s->heard_ms < oldest->heard_ms)
            oldest = s;
    }
    if (count >= SESSIONS_PER_PARTY && oldest)
        s_drop(self, oldest, "too many sessions of the party");
    s_reap(self);
    if (self->n_sessions == self->cap_sessions) {
        size_t cap = self->cap_sessions ? self->cap_sessions * 2 : 8;
        s_session_t *grown = realloc(self->sessions, cap * sizeof *grown);
        if (!grown)
            return NULL;
        self->sessions = grown;
        self->cap_sessions = cap;
    }
    s_session_t *s = &self->sessions[self->n_sessions++];
    memset(s, 0, sizeof *s);
    memcpy(s->id, id, id_len);
    s->id_len = id_len;
    s->party = party;
    s->fd = -1;
    return s;
}

typedef struct {
    wz_notification_t *self;
    s_session_t *session;
} s_fill_t;

/* Sends one mailbox entry as [routing id][Delivery]; never blocks. */
static int s_send_entry(void *arg, uint64_t seq, const uint8_t *data, size_t len)
{
    s_fill_t *f = arg;
    s_session_t *s = f->session;
    if (zmq_send(f->self->router, s->id, s->id_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(f->self->router, data, len, ZMQ_DONTWAIT) < 0) {
        if (errno == EHOSTUNREACH)
            s_drop(f->self, s, "peer gone");
        else
            s->retry = true; /* the peer's queue is full: try again later */
        return -1;
    }
    s->sent = seq;
    return 0;
}

/* Sends what the session's window allows of the entries it has not had. */
static void s_fill(wz_notification_t *self, s_session_t *s)
{
    s_drain_monitor(self);
    if (s->dead)
        return;
    s->retry = false;
    uint64_t in_flight = s->sent - s->acked;
    if (in_flight >= (uint64_t)self->max_in_flight)
        return; /* the next Ack opens the window */
    s_fill_t f = {self, s};
    if (wz_mailbox_read(self->mailbox, s->party, s->sent,
                        (size_t)((uint64_t)self->max_in_flight - in_flight), s_send_entry,
                        &f) < 0) {
        s->retry = true;
        wz_log(self->log, WZ_LOG_WARN, "mailbox not readable now", "party", s->party->id, "error",
               wz_store_errstr(self->store), NULL);
    }
}

static void s_on_hello(wz_notification_t *self, const void *id, size_t id_len,
                       const wz_party_t *party, int fd, uint64_t after_seq)
{
    uint64_t acked = 0;
    if (wz_mailbox_acked(self->mailbox, party, &acked) != 0) {
        /* The client repeats Hello while it hears nothing. */
        wz_log(self->log, WZ_LOG_WARN, "hello not served now", "party", party->id, "error",
               wz_store_errstr(self->store), NULL);
        return;
    }
    s_session_t *s = s_find(self, id, id_len);
    if (!s)
        s = s_add(self, id, id_len, party);
    if (!s) {
        wz_log(self->log, WZ_LOG_ERROR, "out of memory; hello dropped", "party", party->id, NULL);
        return;
    }
    /* (Re)start: a known routing id may now be another connection or party. */
    s->party = party;
    s->fd = fd;
    s->acked = s->sent = after_seq > acked ? after_seq : acked;
    s->heard_ms = wz_mono_ms();
    char after[24], from[24];
    s_u64(after, after_seq);
    s_u64(from, s->sent + 1);
    wz_log(self->log, WZ_LOG_DEBUG, "session started", "party", party->id, "after_seq", after,
           "from_seq", from, NULL);
    s_fill(self, s);
}

static void s_on_ack(wz_notification_t *self, const void *id, size_t id_len,
                     const wz_party_t *party, int fd, uint64_t up_to)
{
    s_session_t *s = s_find(self, id, id_len);
    char seq[24];
    s_u64(seq, up_to);
    if (!s || s->party != party || s->fd != fd) {
        /* A client acks and closes at once, so its ack may arrive after the
         * disconnect ended its session. The party comes from its key and
         * acks are cumulative, so the ack is stored all the same (bounded
         * by the mailbox's last entry). */
        if (wz_mailbox_ack(self->mailbox, self->pub, party, up_to) < 0)
            wz_log(self->log, WZ_LOG_WARN, "ack not stored now", "party", party->id, "up_to_seq",
                   seq, "error", wz_store_errstr(self->store), NULL);
        return;
    }
    s->heard_ms = wz_mono_ms();
    if (up_to > s->sent || up_to <= s->acked) {
        wz_log(self->log, WZ_LOG_DEBUG, "ack outside the window ignored", "party", party->id,
               "up_to_seq", seq, NULL);
        return;
    }
    if (wz_mailbox_ack(self->mailbox, self->pub, party, up_to) < 0)
        /* The entries did arrive, so the window moves; the next (cumulative)
         * ack stores it, and until then a reconnect only repeats some. */
        wz_log(self->log, WZ_LOG_WARN, "ack not stored now", "party", party->id, "up_to_seq", seq,
               "error", wz_store_errstr(self->store), NULL);
    s->acked = up_to;
    s_fill(self, s);
}

/* Serves one [routing id][ClientMessage] message. */
static void s_serve(void *arg, void *router, zmq_msg_t *routing, zmq_msg_t *payload)
{
    (void)router;
    wz_notification_t *self = arg;
    /* Connection events first, so a message is never taken for one of a
     * connection that already closed. */
    s_drain_monitor(self);
    size_t id_len = zmq_msg_size(routing);
    const char *party_id = wz_zap_party(payload);
    const wz_party_t *party = party_id ? wz_policy_party(self->policy, party_id) : NULL;
    if (!party) {
        wz_log(self->log, WZ_LOG_WARN, "message from an unknown party dropped", "party",
               party_id ? party_id : "(none)", NULL);
        return;
    }
    if (id_len == 0 || id_len > ROUTING_ID_MAX) {
        wz_log(self->log, WZ_LOG_WARN, "message with a bad routing id dropped", "party", party->id,
               NULL);
        return;
    }
    WzClientMessage *m = (WzClientMessage *)WZ_UNPACK(woonzorg__v1__client_message__descriptor,
                                                      zmq_msg_data(payload), zmq_msg_size(payload));
    if (!m) {
        wz_log(self->log, WZ_LOG_WARN, "malformed client message dropped", "party", party->id,
               NULL);
        return;
    }
    int fd = zmq_msg_get(payload, ZMQ_SRCFD);
    const void *id = zmq_msg_data(routing);
    if (m->body_case == BODY(HELLO) && m->hello)
        s_on_hello(self, id, id_len, party, fd, m->hello->after_seq);
    else if (m->body_case == BODY(ACK) && m->ack)
        s_on_ack(self, id, id_len, party, fd, m->ack->up_to_seq);
    else
        wz_log(self->log, WZ_LOG_WARN, "client message without hello or ack dropped", "party",
               party->id, NULL);
    WZ_FREE_UNPACKED(m);
}

int wz_notification_on_router(wz_loop_t *loop, void *socket, void *arg)
{
    (void)loop;
    wz_notification_t *self = arg;
    wz_server_drain(socket, RECV_BUDGET, s_serve, self, self->log);
    s_reap(self);
    return 0;
}

int wz_notification_on_timer(wz_loop_t *loop, void *arg)
{
    (void)loop;
    wz_notification_t *self = arg;
    s_drain_monitor(self);
    int64_t now = wz_mono_ms();
    for (size_t i = 0; i < self->n_sessions; i++) {
        s_session_t *s = &self->sessions[i];
        if (s->dead)
            continue;
        if (now - s->heard_ms > self->session_timeout_ms)
            s_drop(self, s, "silent");
        else if (s->retry)
            s_fill(self, s);
    }
    s_reap(self);
    return 0;
}

int wz_notification_attach(wz_notification_t *self, wz_loop_t *loop)
{
    int interval = self->session_timeout_ms / 4;
    if (interval > TIMER_MAX_MS)
        interval = TIMER_MAX_MS;
    if (interval < TIMER_MIN_MS)
        interval = TIMER_MIN_MS;
    if (wz_loop_add_socket(loop, self->router, wz_notification_on_router, self) != 0 ||
        wz_loop_add_timer(loop, interval, wz_notification_on_timer, self) < 0)
        return -1;
    return 0;
}

/* --- events ---------------------------------------------------------------- */

int wz_notification_apply(void *arg, wz_txn_t *txn, const char *producer, const WzEvent *ev)
{
    (void)producer;
    wz_notification_t *self = arg;
    return wz_mailbox_append(self->mailbox, txn, ev);
}

void wz_notification_done(void *arg, const char *producer, const WzEvent *ev)
{
    (void)producer;
    (void)ev;
    wz_notification_t *self = arg;
    const wz_party_t *parties[WZ_MAILBOX_MAX_RECIPIENTS];
    size_t n = wz_mailbox_committed(self->mailbox, parties, WZ_MAILBOX_MAX_RECIPIENTS);
    for (size_t p = 0; p < n; p++)
        for (size_t i = 0; i < self->n_sessions; i++)
            if (self->sessions[i].party == parties[p])
                s_fill(self, &self->sessions[i]);
    s_reap(self);
}

/* Keeps the event time of the first entry handed over. */
static int s_first_entry(void *arg, uint64_t seq, const uint8_t *data, size_t len)
{
    (void)seq;
    int64_t *occurred_ms = arg;
    WzDelivery *d = (WzDelivery *)WZ_UNPACK(woonzorg__v1__delivery__descriptor, data, len);
    if (d && d->event)
        *occurred_ms = d->event->occurred_ms;
    WZ_FREE_UNPACKED(d);
    return -1; /* one is enough */
}

void wz_notification_collect(void *arg, wz_metrics_t *metrics)
{
    wz_notification_t *self = arg;
    wz_metrics_set(metrics, WZ_M_SESSIONS, NULL, (double)self->n_sessions);
    int64_t now = wz_now_ms();
    for (size_t i = 0; i < self->policy->n_parties; i++) {
        const wz_party_t *party = &self->policy->parties[i];
        char key[256];
        uint64_t acked = 0, last = 0;
        if (wz_mailbox_key(self->mailbox, party, key, sizeof key) != 0 ||
            wz_mailbox_acked(self->mailbox, party, &acked) != 0)
            continue;
        /* Mailbox ids are "<seq>-0": the newest entry holds the last sequence. */
        redisReply *r = wz_store_cmd(self->store, "XREVRANGE %s + - COUNT 1", key);
        if (!r)
            continue;
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
            r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements >= 1)
            last = strtoull(r->element[0]->element[0]->str, NULL, 10);
        freeReplyObject(r);
        int64_t occurred_ms = 0;
        if (last > acked &&
            wz_mailbox_read(self->mailbox, party, acked, 1, s_first_entry, &occurred_ms) < 0)
            continue;
        double age = occurred_ms > 0 && now > occurred_ms ? (double)(now - occurred_ms) / 1e3 : 0;
        wz_metrics_set(metrics, WZ_M_MAILBOX_DEPTH, party->id, last > acked ? (double)(last - acked) : 0);
        wz_metrics_set(metrics, WZ_M_MAILBOX_AGE, party->id, last > acked ? age : 0);
    }
}
