/* wz_bus.c - outbox producers and catching-up consumers (see wz_bus.h). */
#include "wz_bus.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>
#include <zmq.h>

#include "wz_codec.h"
#include "wz_dead.h"
#include "wz_personal.h"
#include "wz_util.h"
#include "wz_zap.h"

#define REGION_MAX 64
#define NAME_MAX_ 32
#define KEY_MAX 256
#define CATCH_UP_BATCH 128
#define COMMIT_ATTEMPTS 5
#define BATCH_MAX 64 /* wz_sub_set_batch */
#define DEAD_LETTER_ATTEMPTS 5

/* A sequence travels as 8 bytes big-endian: fixed size, no parsing. */
static void s_put_seq(uint8_t out[8], uint64_t seq)
{
    for (int i = 7; i >= 0; i--, seq >>= 8)
        out[i] = (uint8_t)(seq & 0xff);
}

static uint64_t s_get_seq(const uint8_t in[8])
{
    uint64_t seq = 0;
    for (int i = 0; i < 8; i++)
        seq = seq << 8 | in[i];
    return seq;
}

/* "<seq>-0" -> seq; 0 when the id is not one of ours. */
static uint64_t s_parse_id(const char *id)
{
    char *end = NULL;
    errno = 0;
    unsigned long long seq = strtoull(id, &end, 10);
    if (errno || end == id || strcmp(end, "-0") != 0)
        return 0;
    return seq;
}

/* --- producer ----------------------------------------------------------- */

typedef struct {
    char region[REGION_MAX];
    uint64_t last;
    bool known;
} s_region_seq_t;

struct wz_pub_t {
    void *socket;
    wz_store_t *store;
    wz_log_t *log;
    char service[NAME_MAX_];
    s_region_seq_t *regions;
    size_t n_regions;
    wz_metrics_t *metrics; /* borrowed, may be NULL */
    char (*consumers)[NAME_MAX_];
    size_t n_consumers;
    int trim_interval_ms;
    int64_t next_trim_ms;
};

void wz_pub_set_metrics(wz_pub_t *self, wz_metrics_t *metrics)
{
    self->metrics = metrics;
}

wz_pub_t *wz_pub_new(void *ctx, wz_store_t *store, const char *service, const char *endpoint,
                     wz_log_t *log)
{
    return wz_pub_new_hwm(ctx, store, service, endpoint, 0, 0, log);
}

wz_pub_t *wz_pub_new_hwm(void *ctx, wz_store_t *store, const char *service, const char *endpoint,
                         int hwm, int buffer_bytes, wz_log_t *log)
{
    return wz_pub_new_curve(ctx, store, service, endpoint, hwm, buffer_bytes, NULL, log);
}

void *wz_pub_socket(wz_pub_t *self)
{
    return self->socket;
}

wz_pub_t *wz_pub_new_curve(void *ctx, wz_store_t *store, const char *service,
                           const char *endpoint, int hwm, int buffer_bytes,
                           const wz_keypair_t *curve, wz_log_t *log)
{
    wz_pub_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->store = store;
    self->log = log;
    if (wz_strlcpy(self->service, service, sizeof self->service) != 0)
        goto fail;
    self->socket = zmq_socket(ctx, ZMQ_PUB);
    if (!self->socket)
        goto fail;
    int linger = 0;
    int64_t max_in = WZ_BUS_MAX_MESSAGE;
    zmq_setsockopt(self->socket, ZMQ_LINGER, &linger, sizeof linger);
    /* A PUB only receives subscriptions; nothing larger has a reason to come. */
    zmq_setsockopt(self->socket, ZMQ_MAXMSGSIZE, &max_in, sizeof max_in);
    /* Before the bind: the listener copies the options it accepts with. */
    if (hwm > 0)
        zmq_setsockopt(self->socket, ZMQ_SNDHWM, &hwm, sizeof hwm);
    if (buffer_bytes > 0)
        zmq_setsockopt(self->socket, ZMQ_SNDBUF, &buffer_bytes, sizeof buffer_bytes);
    if (curve && wz_zap_internal_server(self->socket, curve) != 0) {
        wz_log(log, WZ_LOG_ERROR, "cannot make the publisher a CURVE server", "endpoint", endpoint,
               "error", zmq_strerror(errno), NULL);
        goto fail;
    }
    if (zmq_bind(self->socket, endpoint) != 0) {
        wz_log(log, WZ_LOG_ERROR, "cannot bind publisher", "endpoint", endpoint, "error",
               zmq_strerror(errno), NULL);
        goto fail;
    }
    return self;
fail:
    wz_pub_destroy(&self);
    return NULL;
}

void wz_pub_destroy(wz_pub_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    wz_pub_t *self = *self_p;
    if (self->socket)
        zmq_close(self->socket);
    free(self->regions);
    free(self->consumers);
    free(self);
    *self_p = NULL;
}

void wz_pub_set_linger(wz_pub_t *self, int linger_ms)
{
    zmq_setsockopt(self->socket, ZMQ_LINGER, &linger_ms, sizeof linger_ms);
}

const char *wz_pub_service(const wz_pub_t *self)
{
    return self->service;
}

static s_region_seq_t *s_region(wz_pub_t *self, const char *region, bool create)
{
    for (size_t i = 0; i < self->n_regions; i++)
        if (strcmp(self->regions[i].region, region) == 0)
            return &self->regions[i];
    if (!create)
        return NULL;
    s_region_seq_t *grown = realloc(self->regions, (self->n_regions + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    self->regions = grown;
    s_region_seq_t *r = &self->regions[self->n_regions];
    memset(r, 0, sizeof *r);
    if (wz_strlcpy(r->region, region, sizeof r->region) != 0)
        return NULL;
    self->n_regions++;
    return r;
}

int wz_pub_add_region(wz_pub_t *self, const char *region)
{
    return s_region(self, region, true) ? 0 : -1;
}

int wz_pub_stream_key(wz_pub_t *self, const char *region, char *out, size_t outlen)
{
    return wz_store_key(self->store, out, outlen, region, "stream:%s", self->service);
}

int wz_pub_last_seq(wz_pub_t *self, const char *region, uint64_t *out)
{
    s_region_seq_t *r = s_region(self, region, true);
    if (!r)
        return -1;
    if (!r->known) {
        char key[KEY_MAX];
        if (wz_pub_stream_key(self, region, key, sizeof key) != 0)
            return -1;
        /* The newest entry is never trimmed, so it holds the last sequence. */
        redisReply *reply = wz_store_cmd(self->store, "XREVRANGE %s + - COUNT 1", key);
        if (!reply)
            return -1;
        uint64_t last = 0;
        if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 &&
            reply->element[0]->type == REDIS_REPLY_ARRAY && reply->element[0]->elements >= 1)
            last = s_parse_id(reply->element[0]->element[0]->str);
        freeReplyObject(reply);
        r->last = last;
        r->known = true;
    }
    *out = r->last;
    return 0;
}

static void s_send_frames(wz_pub_t *self, const char *region, uint64_t seq, const uint8_t *data,
                          size_t len)
{
    char topic[NAME_MAX_ + REGION_MAX + 4];
    int tlen = snprintf(topic, sizeof topic, "%s/%s/", self->service, region);
    uint8_t seqbuf[8];
    s_put_seq(seqbuf, seq);
    /* A PUB socket never blocks: at the high-water mark it drops, which the
     * consumers' gap detection turns into a catch-up from Redis. */
    zmq_send(self->socket, topic, (size_t)tlen, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(self->socket, seqbuf, sizeof seqbuf, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(self->socket, data, len, ZMQ_DONTWAIT);
}

void wz_pub_committed(wz_pub_t *self, const char *region, uint64_t seq, const uint8_t *event,
                      size_t len)
{
    s_region_seq_t *r = s_region(self, region, true);
    if (r) {
        r->last = seq;
        r->known = true;
    }
    s_send_frames(self, region, seq, event, len);
    if (self->metrics) {
        WzEvent *ev = wz_event_unpack(event, len);
        wz_metrics_event(self->metrics, false, NULL, ev);
        WZ_FREE_UNPACKED(ev);
    }
}

void wz_pub_forget(wz_pub_t *self, const char *region)
{
    s_region_seq_t *r = s_region(self, region, false);
    if (r)
        r->known = false;
}

int wz_pub_set_consumers(wz_pub_t *self, const char *const *consumers, size_t n, int interval_ms)
{
    free(self->consumers);
    self->consumers = n ? calloc(n, sizeof *self->consumers) : NULL;
    self->n_consumers = 0;
    if (n && !self->consumers)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (wz_strlcpy(self->consumers[i], consumers[i], NAME_MAX_) != 0)
            return -1;
    self->n_consumers = n;
    self->trim_interval_ms = interval_ms;
    self->next_trim_ms = wz_mono_ms() + interval_ms;
    return 0;
}

/* The lowest cursor of every consumer on region's stream; 0 when one has none. */
static int s_lowest_cursor(wz_pub_t *self, const char *region, uint64_t *out)
{
    const char **argv = calloc(self->n_consumers + 1, sizeof *argv);
    char(*keys)[KEY_MAX] = calloc(self->n_consumers, sizeof *keys);
    int rc = -1;
    if (!argv || !keys)
        goto out;
    argv[0] = "MGET";
    for (size_t i = 0; i < self->n_consumers; i++) {
        if (wz_store_key(self->store, keys[i], KEY_MAX, region, "cursor:%s:%s",
                         self->consumers[i], self->service) != 0)
            goto out;
        argv[i + 1] = keys[i];
    }
    redisReply *r = wz_store_argv(self->store, (int)self->n_consumers + 1, argv, NULL);
    if (!r)
        goto out;
    uint64_t lowest = UINT64_MAX;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        uint64_t v = e->type == REDIS_REPLY_STRING ? strtoull(e->str, NULL, 10) : 0;
        if (v < lowest)
            lowest = v;
    }
    *out = r->elements == self->n_consumers ? lowest : 0;
    freeReplyObject(r);
    rc = 0;
out:
    free(argv);
    free(keys);
    return rc;
}

long wz_pub_trim(wz_pub_t *self)
{
    long removed = 0;
    for (size_t i = 0; self->n_consumers && i < self->n_regions; i++) {
        const char *region = self->regions[i].region;
        uint64_t lowest = 0;
        if (s_lowest_cursor(self, region, &lowest) != 0)
            return -1;
        if (lowest < 2)
            continue;
        char key[KEY_MAX];
        if (wz_pub_stream_key(self, region, key, sizeof key) != 0)
            return -1;
        /* MINID keeps the entry at the lowest cursor itself: applied by
         * everyone, and never the only one left to hold the last sequence
         * unless it is the last. Not MAXLEN, which counts nobody's cursor. */
        redisReply *r = wz_store_cmd(self->store, "XTRIM %s MINID %llu-0", key,
                                     (unsigned long long)lowest);
        if (!r)
            return -1;
        if (r->type == REDIS_REPLY_INTEGER)
            removed += (long)r->integer;
        freeReplyObject(r);
    }
    return removed;
}

void wz_pub_heartbeat(wz_pub_t *self)
{
    if (self->n_consumers && self->trim_interval_ms > 0 && wz_mono_ms() >= self->next_trim_ms) {
        self->next_trim_ms = wz_mono_ms() + self->trim_interval_ms;
        long removed = wz_pub_trim(self);
        if (removed > 0) {
            char n[24];
            snprintf(n, sizeof n, "%ld", removed);
            wz_log(self->log, WZ_LOG_DEBUG, "outbox trimmed", "removed", n, NULL);
        }
    }
    for (size_t i = 0; i < self->n_regions; i++) {
        uint64_t last = 0;
        if (wz_pub_last_seq(self, self->regions[i].region, &last) != 0)
            continue;
        s_send_frames(self, self->regions[i].region, last, NULL, 0);
    }
}

/* --- consumer ----------------------------------------------------------- */

typedef struct {
    char region[REGION_MAX];
    uint64_t cursor;
    bool known;
    uint64_t announced; /* highest sequence the producer published or announced */
    uint64_t failing_seq;   /* the event that failed last, and how often */
    int failures;
} s_cursor_t;

typedef struct {
    char producer[NAME_MAX_];
    void *socket;
    int64_t heard_ms; /* monotonic time of the last publication; 0 never */
    s_cursor_t *cursors;
    size_t n_cursors;
} s_follow_t;

struct wz_sub_t {
    void *ctx;
    wz_store_t *store;
    wz_pub_t *own_pub;
    char consumer[NAME_MAX_];
    wz_sub_apply_fn apply;
    wz_sub_done_fn done;
    void *arg;
    wz_log_t *log;
    s_follow_t *follows;
    size_t n_follows;
    wz_metrics_t *metrics; /* borrowed, may be NULL */
    int hwm;          /* 0: ZeroMQ's default */
    int buffer;       /* 0: the OS default */
    uint64_t gaps;
    int dead_attempts;
    wz_sub_dead_fn dead_fn;
    void *dead_arg;
    int64_t dead_keep_ms;    /* dead letters older than this go; 0: kept */
    int64_t dead_trimmed_ms; /* when they were last trimmed (monotonic) */
    volatile sig_atomic_t *stop;
    int batch; /* events per transaction, 1..BATCH_MAX */
    bool curve;
    wz_keypair_t own;           /* curve: the consumer's key pair */
    char keys_dir[512];         /* curve: where <producer>.pub is */
};

int wz_sub_set_curve(wz_sub_t *self, const wz_keypair_t *own, const char *keys_dir)
{
    if (wz_strlcpy(self->keys_dir, keys_dir, sizeof self->keys_dir) != 0)
        return -1;
    self->own = *own;
    self->curve = true;
    return 0;
}

void wz_sub_set_metrics(wz_sub_t *self, wz_metrics_t *metrics)
{
    self->metrics = metrics;
}

int wz_sub_ready(const wz_sub_t *self, int stale_ms, char *why, size_t whylen)
{
    int64_t now = wz_mono_ms();
    for (size_t i = 0; i < self->n_follows; i++) {
        const s_follow_t *f = &self->follows[i];
        if (!f->heard_ms || now - f->heard_ms > stale_ms) {
            snprintf(why, whylen, "nothing heard from %s for %lld ms", f->producer,
                     f->heard_ms ? (long long)(now - f->heard_ms) : -1LL);
            return -1;
        }
        for (size_t j = 0; j < f->n_cursors; j++) {
            const s_cursor_t *c = &f->cursors[j];
            if (!c->known) {
                snprintf(why, whylen, "cursor of %s/%s not read from Redis yet", f->producer,
                         c->region);
                return -1;
            }
            if (c->announced > c->cursor) {
                snprintf(why, whylen, "%s/%s: %llu events behind", f->producer, c->region,
                         (unsigned long long)(c->announced - c->cursor));
                return -1;
            }
        }
    }
    return 0;
}

wz_sub_t *wz_sub_new(void *ctx, wz_store_t *store, wz_pub_t *own_pub, const char *consumer,
                     wz_sub_apply_fn apply, wz_sub_done_fn done, void *arg, wz_log_t *log)
{
    wz_sub_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    if (wz_strlcpy(self->consumer, consumer, sizeof self->consumer) != 0) {
        free(self);
        return NULL;
    }
    self->ctx = ctx;
    self->store = store;
    self->own_pub = own_pub;
    self->apply = apply;
    self->done = done;
    self->arg = arg;
    self->log = log;
    self->dead_attempts = DEAD_LETTER_ATTEMPTS;
    self->batch = 1;
    return self;
}

void wz_sub_set_dead_letter(wz_sub_t *self, int max_attempts, wz_sub_dead_fn dead_fn, void *arg)
{
    self->dead_attempts = max_attempts > 0 ? max_attempts : DEAD_LETTER_ATTEMPTS;
    self->dead_fn = dead_fn;
    self->dead_arg = arg;
}

void wz_sub_set_dead_letter_retention(wz_sub_t *self, int64_t keep_ms)
{
    self->dead_keep_ms = keep_ms > 0 ? keep_ms : 0;
}

void wz_sub_set_batch(wz_sub_t *self, int max_events)
{
    self->batch = max_events < 1 ? 1 : max_events > BATCH_MAX ? BATCH_MAX : max_events;
}

void wz_sub_set_stop(wz_sub_t *self, volatile sig_atomic_t *stop)
{
    self->stop = stop;
}

void wz_sub_set_hwm(wz_sub_t *self, int hwm, int buffer_bytes)
{
    self->hwm = hwm;
    self->buffer = buffer_bytes;
}

uint64_t wz_sub_gaps(const wz_sub_t *self)
{
    return self->gaps;
}

void wz_sub_destroy(wz_sub_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    wz_sub_t *self = *self_p;
    sodium_memzero(&self->own, sizeof self->own);
    for (size_t i = 0; i < self->n_follows; i++) {
        if (self->follows[i].socket)
            zmq_close(self->follows[i].socket);
        free(self->follows[i].cursors);
    }
    free(self->follows);
    free(self);
    *self_p = NULL;
}

int wz_sub_follow(wz_sub_t *self, const char *producer, const char *endpoint,
                  const char *const *regions, size_t n_regions)
{
    s_follow_t *grown = realloc(self->follows, (self->n_follows + 1) * sizeof *grown);
    if (!grown)
        return -1;
    self->follows = grown;
    s_follow_t *f = &self->follows[self->n_follows];
    memset(f, 0, sizeof *f);
    if (wz_strlcpy(f->producer, producer, sizeof f->producer) != 0)
        return -1;
    f->cursors = calloc(n_regions ? n_regions : 1, sizeof *f->cursors);
    f->socket = zmq_socket(self->ctx, ZMQ_SUB);
    if (!f->cursors || !f->socket)
        goto fail;
    int linger = 0;
    int64_t max_in = WZ_BUS_MAX_MESSAGE;
    zmq_setsockopt(f->socket, ZMQ_LINGER, &linger, sizeof linger);
    /* Bounded like every socket: an oversized frame drops the connection,
     * and the consumer catches up from Redis, which has the event anyway. */
    zmq_setsockopt(f->socket, ZMQ_MAXMSGSIZE, &max_in, sizeof max_in);
    if (self->hwm > 0)
        zmq_setsockopt(f->socket, ZMQ_RCVHWM, &self->hwm, sizeof self->hwm);
    if (self->buffer > 0)
        zmq_setsockopt(f->socket, ZMQ_RCVBUF, &self->buffer, sizeof self->buffer);
    if (self->curve) {
        char server[WZ_KEY_Z85_LEN + 1], err[256];
        if (wz_keys_read_public(self->keys_dir, producer, server, err, sizeof err) != 0) {
            wz_log(self->log, WZ_LOG_ERROR, "cannot read the producer's public key", "producer",
                   producer, "error", err, NULL);
            goto fail;
        }
        if (wz_zap_client(f->socket, &self->own, server) != 0) {
            wz_log(self->log, WZ_LOG_ERROR, "cannot make the subscriber a CURVE client",
                   "producer", producer, "error", zmq_strerror(errno), NULL);
            goto fail;
        }
    }
    for (size_t i = 0; i < n_regions; i++) {
        char topic[NAME_MAX_ + REGION_MAX + 4];
        int len = snprintf(topic, sizeof topic, "%s/%s/", producer, regions[i]);
        if (wz_strlcpy(f->cursors[i].region, regions[i], REGION_MAX) != 0 ||
            zmq_setsockopt(f->socket, ZMQ_SUBSCRIBE, topic, (size_t)len) != 0)
            goto fail;
    }
    f->n_cursors = n_regions;
    /* A producer sharded by region (matching) is several endpoints,
     * "tcp://a:7711,tcp://b:7711": one SUB socket connects to each. */
    char list[1024];
    if (wz_strlcpy(list, endpoint, sizeof list) != 0)
        goto fail;
    char *save = NULL;
    for (char *one = strtok_r(list, ",", &save); one; one = strtok_r(NULL, ",", &save)) {
        if (zmq_connect(f->socket, one) != 0) {
            wz_log(self->log, WZ_LOG_ERROR, "cannot connect subscriber", "endpoint", one,
                   "error", zmq_strerror(errno), NULL);
            goto fail;
        }
    }
    self->n_follows++;
    return 0;
fail:
    if (f->socket)
        zmq_close(f->socket);
    free(f->cursors);
    return -1;
}

static s_cursor_t *s_cursor(s_follow_t *f, const char *region)
{
    for (size_t i = 0; i < f->n_cursors; i++)
        if (strcmp(f->cursors[i].region, region) == 0)
            return &f->cursors[i];
    return NULL;
}

static int s_cursor_key(wz_sub_t *self, const s_follow_t *f, const char *region, char *out,
                        size_t outlen)
{
    return wz_store_key(self->store, out, outlen, region, "cursor:%s:%s", self->consumer,
                        f->producer);
}

static int s_load_cursor(wz_sub_t *self, s_follow_t *f, s_cursor_t *c)
{
    if (c->known)
        return 0;
    char key[KEY_MAX];
    uint64_t v = 0;
    if (s_cursor_key(self, f, c->region, key, sizeof key) != 0 ||
        wz_store_get_u64(self->store, key, &v) < 0)
        return -1;
    c->cursor = v;
    c->known = true;
    return 0;
}

/* Moves the event seq (data, ev may be NULL when unreadable) to the
 * dead-letter stream, with the cursor and the audit entry, in one
 * transaction. Returns 0 moved (or already past), 1 an earlier event is
 * missing, -1 on failure (tried again later). */
static int s_dead_letter(wz_sub_t *self, s_follow_t *f, s_cursor_t *c, uint64_t seq,
                         const uint8_t *data, size_t len, const WzEvent *ev, const char *reason,
                         int attempts)
{
    char key[KEY_MAX], dead[KEY_MAX], seqbuf[24], attbuf[16], atbuf[24], dl_id[80];
    if (s_cursor_key(self, f, c->region, key, sizeof key) != 0 ||
        wz_dead_key(self->store, c->region, self->consumer, dead, sizeof dead) != 0)
        return -1;
    snprintf(seqbuf, sizeof seqbuf, "%" PRIu64, seq);
    snprintf(attbuf, sizeof attbuf, "%d", attempts);
    snprintf(atbuf, sizeof atbuf, "%lld", (long long)wz_now_ms());
    snprintf(dl_id, sizeof dl_id, "%s:%" PRIu64, f->producer, seq);
    const char *event_id = ev && ev->id ? ev->id : "";
    Woonzorg__V1__EventDeadLettered body = WOONZORG__V1__EVENT_DEAD_LETTERED__INIT;
    body.consumer = self->consumer;
    body.producer = f->producer;
    body.seq = seq;
    body.event_id = (char *)event_id;
    body.reason = (char *)reason;
    body.attempts = (uint32_t)attempts;
    body.dead_letter_id = dl_id;
    WzEvent note = WOONZORG__V1__EVENT__INIT;
    note.payload_case = WOONZORG__V1__EVENT__PAYLOAD_EVENT_DEAD_LETTERED;
    note.event_dead_lettered = &body;
    note.actor = self->consumer;
    note.region = c->region;
    note.occurred_ms = wz_now_ms();
    int rc = -1;
    for (int attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
        wz_txn_t *txn = wz_txn_begin(self->store, self->own_pub, c->region);
        if (!txn)
            break;
        uint64_t stored = 0;
        if (wz_txn_watch(txn, key) != 0 || wz_store_get_u64(self->store, key, &stored) < 0) {
            wz_txn_destroy(&txn);
            break;
        }
        if (stored >= seq || stored + 1 != seq) {
            wz_txn_destroy(&txn);
            rc = stored >= seq ? 0 : 1;
            break;
        }
        char note_id[200];
        snprintf(note_id, sizeof note_id, "%s:%s:dead:%s", self->consumer, c->region, dl_id);
        note.id = note_id;
        bool ok = wz_txn_cmd(txn,
                             "XADD %s * producer %s seq %s event_id %s reason %s attempts %s "
                             "at_ms %s e %b",
                             dead, f->producer, seqbuf, event_id, reason, attbuf, atbuf,
                             data ? (const char *)data : "", data ? len : (size_t)0) == 0 &&
                  wz_txn_cmd(txn, "SET %s %llu", key, (unsigned long long)seq) == 0;
        if (ok && self->dead_fn)
            ok = self->dead_fn(self->dead_arg, txn, &note) == 0;
        else if (ok && self->own_pub) {
            note.id = NULL; /* the outbox stamps its own */
            ok = wz_txn_emit(txn, &note) != 0;
        }
        if (!ok) {
            wz_txn_destroy(&txn);
            break;
        }
        int committed = wz_txn_commit(txn);
        wz_txn_destroy(&txn);
        if (committed == 0) {
            c->cursor = seq;
            c->failures = 0;
            rc = 0;
            wz_log(self->log, WZ_LOG_ERROR, "event moved to the dead letters", "producer",
                   f->producer, "region", c->region, "seq", seqbuf, "event", event_id, "reason",
                   reason, "attempts", attbuf, "hint", "wzctl dead-letters list", NULL);
            break;
        }
        if (committed < 0) {
            c->known = false;
            break;
        }
    }
    return rc;
}

/* The fields of one dead letter (an XRANGE entry) that replays and erasure
 * need; absent ones stay NULL/0. */
static void s_dead_fields(const redisReply *entry, const char **producer, uint64_t *seq,
                          const char **data, size_t *len)
{
    *producer = *data = NULL;
    *seq = 0;
    *len = 0;
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2)
        return;
    const redisReply *fields = entry->element[1];
    for (size_t j = 0; fields->type == REDIS_REPLY_ARRAY && j + 1 < fields->elements; j += 2) {
        const char *name = fields->element[j]->str;
        if (!strcmp(name, "producer"))
            *producer = fields->element[j + 1]->str;
        else if (!strcmp(name, "seq"))
            *seq = strtoull(fields->element[j + 1]->str, NULL, 10);
        else if (!strcmp(name, "e")) {
            *data = fields->element[j + 1]->str;
            *len = fields->element[j + 1]->len;
        }
    }
}

/* Erasure reaches the dead letters too (docs/security.md, retention): when
 * an applied event erases a candidate, the consumer's dead letters holding
 * that candidate's personal data go in the same transaction. Letters that
 * cannot be read cannot be attributed; the retention timer removes those. */
static int s_forget_dead(wz_sub_t *self, wz_txn_t *txn, const char *region, const char *candidate)
{
    char dead[KEY_MAX];
    if (wz_dead_key(self->store, region, self->consumer, dead, sizeof dead) != 0 ||
        wz_txn_watch(txn, dead) != 0)
        return -1;
    redisReply *all = wz_store_cmd(self->store, "XRANGE %s - +", dead);
    if (!all)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && all->type == REDIS_REPLY_ARRAY && i < all->elements; i++) {
        const char *producer, *data;
        uint64_t seq;
        size_t len;
        s_dead_fields(all->element[i], &producer, &seq, &data, &len);
        WzEvent *ev = data ? wz_event_unpack((const uint8_t *)data, len) : NULL;
        const char *subject = ev ? wz_personal_subject(ev) : NULL;
        if (subject && strcmp(subject, candidate) == 0)
            rc = wz_txn_cmd(txn, "XDEL %s %s", dead, all->element[i]->element[0]->str);
        WZ_FREE_UNPACKED(ev);
    }
    freeReplyObject(all);
    return rc;
}

/* Applies the event with sequence seq, exactly once: the cursor is re-read
 * under WATCH, and the effect commits with the new cursor.
 * Returns 0 applied or already applied, 1 if an earlier event is missing,
 * -1 on failure (retried by the next catch-up). */
static int s_catch_up_one(wz_sub_t *self, s_follow_t *f, s_cursor_t *c);

/* Producers are followed in causal order (intake before matching before
 * notification): an event of a later one was caused by events of the
 * earlier ones that are in Redis already. Applying those first keeps the
 * consumer's effects in causal order (a municipality learns of a vacancy
 * before of its release) even when their publications were missed. */
static void s_upstream(wz_sub_t *self, s_follow_t *f, const char *region)
{
    for (s_follow_t *up = self->follows; up != f; up++) {
        s_cursor_t *uc = s_cursor(up, region);
        if (uc)
            s_catch_up_one(self, up, uc);
    }
}

static int s_apply_one(wz_sub_t *self, s_follow_t *f, s_cursor_t *c, uint64_t seq,
                       const uint8_t *data, size_t len)
{
    s_upstream(self, f, c->region);
    char key[KEY_MAX];
    if (s_cursor_key(self, f, c->region, key, sizeof key) != 0)
        return -1;
    WzEvent *ev = wz_event_unpack(data, len);
    if (!ev) {
        /* No retry can make it readable; keep it, and let the rest flow. */
        int rc = s_dead_letter(self, f, c, seq, data, len, NULL, "unreadable event", 1);
        if (rc < 0)
            wz_log(self->log, WZ_LOG_WARN, "unreadable event not moved yet", "producer",
                   f->producer, "region", c->region, "error", wz_store_errstr(self->store), NULL);
        return rc;
    }
    int rc = -1;
    if (ev && ev->id && *ev->id)
        wz_log_context(self->log, "event_id", ev->id);
    bool apply_failed = false;
    for (int attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
        wz_txn_t *txn = wz_txn_begin(self->store, self->own_pub, c->region);
        if (!txn)
            break;
        uint64_t stored = 0;
        if (wz_txn_watch(txn, key) != 0 || wz_store_get_u64(self->store, key, &stored) < 0) {
            wz_txn_destroy(&txn);
            break;
        }
        c->cursor = stored;
        c->known = true;
        if (stored >= seq) {
            wz_txn_destroy(&txn);
            rc = 0;
            break;
        }
        if (stored + 1 != seq) {
            wz_txn_destroy(&txn);
            rc = 1;
            break;
        }
        if (self->apply(self->arg, txn, f->producer, ev) != 0) {
            apply_failed = true;
            wz_txn_destroy(&txn);
            break;
        }
        const char *erased = wz_personal_erases(ev);
        if ((erased && s_forget_dead(self, txn, c->region, erased) != 0) ||
            wz_txn_cmd(txn, "SET %s %llu", key, (unsigned long long)seq) != 0) {
            wz_txn_destroy(&txn);
            break;
        }
        int committed = wz_txn_commit(txn);
        wz_txn_destroy(&txn);
        if (committed == 0) {
            c->cursor = seq;
            c->failures = 0;
            wz_metrics_event(self->metrics, true, f->producer, ev);
            if (self->done)
                self->done(self->arg, f->producer, ev);
            rc = 0;
            break;
        }
        if (committed < 0) {
            c->known = false;
            break;
        }
    }
    if (rc < 0 && apply_failed && !wz_store_transient(self->store)) {
        /* Redis is there and answered: the event itself is the problem. */
        if (c->failing_seq != seq) {
            c->failing_seq = seq;
            c->failures = 0;
        }
        if (++c->failures >= self->dead_attempts) {
            char reason[300];
            snprintf(reason, sizeof reason, "processing failed %d times: %s", c->failures,
                     wz_store_errstr(self->store));
            rc = s_dead_letter(self, f, c, seq, data, len, ev, reason, c->failures);
            WZ_FREE_UNPACKED(ev);
            return rc;
        }
    }
    if (rc < 0)
        wz_log(self->log, WZ_LOG_WARN, "event not applied yet", "producer", f->producer,
               "region", c->region, "error", wz_store_errstr(self->store), NULL);
    wz_log_context(self->log, NULL, NULL);
    WZ_FREE_UNPACKED(ev);
    return rc;
}

/* Events first .. first + n - 1 of f and c: one transaction for all
 * (wz_sub_set_batch). What was applied already is skipped; 1 when the
 * cursor is behind first (a gap: catch up), 0 done, -1 not applied (yet).
 * A batch that cannot be applied whole goes again one event at a time, so
 * an event that keeps failing is dead-lettered on its own. */
static int s_apply_batch(wz_sub_t *self, s_follow_t *f, s_cursor_t *c, uint64_t first,
                         const uint8_t *const data[], const size_t len[], size_t n)
{
    WzEvent *evs[BATCH_MAX];
    size_t unpacked = 0;
    if (n > 1 && n <= BATCH_MAX) {
        for (; unpacked < n; unpacked++)
            if (!(evs[unpacked] = wz_event_unpack(data[unpacked], len[unpacked])))
                break;
    }
    int rc = -1;
    char key[KEY_MAX];
    if (n > 1 && unpacked == n && s_cursor_key(self, f, c->region, key, sizeof key) == 0) {
        s_upstream(self, f, c->region);
        uint64_t last = first + n - 1;
        for (int attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
            wz_txn_t *txn = wz_txn_begin(self->store, self->own_pub, c->region);
            uint64_t stored = 0;
            if (!txn || wz_txn_watch(txn, key) != 0 ||
                wz_store_get_u64(self->store, key, &stored) < 0) {
                wz_txn_destroy(&txn);
                break;
            }
            c->cursor = stored;
            c->known = true;
            if (stored >= last || stored + 1 < first) {
                wz_txn_destroy(&txn);
                rc = stored >= last ? 0 : 1;
                break;
            }
            size_t from = (size_t)(stored + 1 - first), i = from;
            for (; i < n; i++) {
                const char *erased = wz_personal_erases(evs[i]);
                if (self->apply(self->arg, txn, f->producer, evs[i]) != 0 ||
                    (erased && s_forget_dead(self, txn, c->region, erased) != 0))
                    break;
            }
            int committed =
                i < n || wz_txn_cmd(txn, "SET %s %llu", key, (unsigned long long)last) != 0
                    ? -1
                    : wz_txn_commit(txn);
            wz_txn_destroy(&txn);
            if (committed == 0) {
                c->cursor = last;
                c->failures = 0;
                for (i = from; i < n; i++) {
                    wz_metrics_event(self->metrics, true, f->producer, evs[i]);
                    if (self->done)
                        self->done(self->arg, f->producer, evs[i]);
                }
                rc = 0;
                break;
            }
            if (committed < 0) {
                c->known = false;
                break;
            }
        }
    }
    for (size_t i = 0; i < unpacked; i++)
        WZ_FREE_UNPACKED(evs[i]);
    for (size_t i = 0; rc < 0 && i < n; i++) {
        int one = s_apply_one(self, f, c, first + i, data[i], len[i]);
        if (one != 0)
            return one;
        if (i + 1 == n)
            rc = 0;
    }
    return rc;
}

/* Reads the stream of one producer and region from the cursor to its end. */
static int s_catch_up_one(wz_sub_t *self, s_follow_t *f, s_cursor_t *c)
{
    if (s_load_cursor(self, f, c) != 0)
        return -1;
    char key[KEY_MAX];
    if (wz_store_key(self->store, key, sizeof key, c->region, "stream:%s", f->producer) != 0)
        return -1;
    bool counted = false;
    for (;;) {
        redisReply *r = wz_store_cmd(self->store, "XRANGE %s %llu-0 + COUNT %d", key,
                                     (unsigned long long)(c->cursor + 1), CATCH_UP_BATCH);
        if (!r)
            return -1;
        size_t n = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
        if (n > 0 && !counted) {
            wz_metrics_add(self->metrics, WZ_M_CATCH_UPS, f->producer, NULL, 1);
            counted = true;
        }
        int rc = 0;
        bool stopping = false;
        /* Consecutive entries go together, up to the batch size. */
        const uint8_t *data[BATCH_MAX];
        size_t len[BATCH_MAX], queued = 0;
        uint64_t first = 0;
        for (size_t i = 0; i <= n && rc == 0; i++) {
            stopping = i < n && self->stop && *self->stop;
            uint64_t seq = 0;
            if (i < n && !stopping) {
                redisReply *entry = r->element[i];
                if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2)
                    continue;
                seq = s_parse_id(entry->element[0]->str);
                redisReply *fields = entry->element[1];
                const char *bytes = NULL;
                size_t blen = 0;
                for (size_t j = 0; j + 1 < fields->elements; j += 2)
                    if (strcmp(fields->element[j]->str, "e") == 0) {
                        bytes = fields->element[j + 1]->str;
                        blen = fields->element[j + 1]->len;
                    }
                if (!seq || !bytes) {
                    wz_log(self->log, WZ_LOG_ERROR, "stream entry without event", "stream", key,
                           "id", entry->element[0]->str, NULL);
                    rc = -1;
                    break;
                }
                if (queued && seq == first + queued && queued < (size_t)self->batch) {
                    data[queued] = (const uint8_t *)bytes;
                    len[queued++] = blen;
                    continue;
                }
                if (queued)
                    rc = s_apply_batch(self, f, c, first, data, len, queued);
                first = seq;
                data[0] = (const uint8_t *)bytes;
                len[0] = blen;
                queued = 1;
                if (rc > 0) /* a hole in the stream: cannot happen with gap-free ids */
                    rc = -1;
                continue;
            }
            if (queued)
                rc = s_apply_batch(self, f, c, first, data, len, queued);
            queued = 0;
            if (rc > 0)
                rc = -1;
            if (stopping)
                break;
        }
        freeReplyObject(r);
        if (rc != 0)
            return -1;
        if (n < CATCH_UP_BATCH || stopping)
            return 0;
    }
}

int wz_sub_catch_up(wz_sub_t *self)
{
    int rc = 0;
    for (size_t i = 0; i < self->n_follows; i++)
        for (size_t j = 0; j < self->follows[i].n_cursors; j++)
            if (s_catch_up_one(self, &self->follows[i], &self->follows[i].cursors[j]) != 0)
                rc = -1;
    return rc;
}

uint64_t wz_sub_cursor(const wz_sub_t *self, const char *producer, const char *region)
{
    for (size_t i = 0; i < self->n_follows; i++)
        if (strcmp(self->follows[i].producer, producer) == 0)
            for (size_t j = 0; j < self->follows[i].n_cursors; j++)
                if (strcmp(self->follows[i].cursors[j].region, region) == 0)
                    return self->follows[i].cursors[j].cursor;
    return 0;
}

/* In-order events of one cursor received in one drain of a SUB socket,
 * applied together (wz_sub_set_batch). */
typedef struct {
    s_cursor_t *c;
    uint64_t first;
    size_t n;
    zmq_msg_t data[BATCH_MAX];
} s_pending_t;

/* Applies what p holds (a gap found on the way means catching up). */
static void s_flush(wz_sub_t *self, s_follow_t *f, s_pending_t *p)
{
    if (!p->n)
        return;
    const uint8_t *data[BATCH_MAX];
    size_t len[BATCH_MAX];
    for (size_t i = 0; i < p->n; i++) {
        data[i] = zmq_msg_data(&p->data[i]);
        len[i] = zmq_msg_size(&p->data[i]);
    }
    if (s_apply_batch(self, f, p->c, p->first, data, len, p->n) > 0)
        s_catch_up_one(self, f, p->c);
    for (size_t i = 0; i < p->n; i++)
        zmq_msg_close(&p->data[i]);
    p->n = 0;
}

/* Handles one publication: [topic][seq][event or empty for a heartbeat].
 * The next event of a cursor joins p (flushed first when p holds another
 * cursor's or is full); anything else flushes p and is handled at once. */
static void s_on_message(wz_sub_t *self, s_follow_t *f, zmq_msg_t *parts, int n, s_pending_t *p)
{
    if (n != 3 || zmq_msg_size(&parts[1]) != 8) {
        wz_log(self->log, WZ_LOG_WARN, "malformed publication ignored", "producer", f->producer,
               NULL);
        return;
    }
    /* Topic is "<producer>/<region>/". */
    char topic[NAME_MAX_ + REGION_MAX + 4];
    size_t tlen = zmq_msg_size(&parts[0]);
    size_t plen = strlen(f->producer);
    if (tlen >= sizeof topic || tlen < plen + 3)
        return;
    memcpy(topic, zmq_msg_data(&parts[0]), tlen);
    topic[tlen - 1] = '\0';
    s_cursor_t *c = s_cursor(f, topic + plen + 1);
    if (!c)
        return;
    if (p->n && p->c != c)
        s_flush(self, f, p);
    if (!p->n && s_load_cursor(self, f, c) != 0)
        return;
    uint64_t seq = s_get_seq(zmq_msg_data(&parts[1]));
    size_t len = zmq_msg_size(&parts[2]);
    f->heard_ms = wz_mono_ms();
    if (seq > c->announced)
        c->announced = seq;
    uint64_t next = p->n ? p->first + p->n : c->cursor + 1;
    if (seq < next)
        return;
    if (len == 0 || seq != next) {
        /* A heartbeat ahead of the cursor or a jump: publications were lost
         * (high-water mark, slow joiner, reconnect); Redis has them. */
        s_flush(self, f, p);
        self->gaps++;
        char have[24], got[24];
        snprintf(have, sizeof have, "%" PRIu64, c->cursor);
        snprintf(got, sizeof got, "%" PRIu64, seq);
        wz_log(self->log, WZ_LOG_DEBUG, "gap, catching up from redis", "producer", f->producer,
               "region", c->region, "cursor", have, "announced", got, NULL);
        s_catch_up_one(self, f, c);
        return;
    }
    if (p->n == (size_t)self->batch)
        s_flush(self, f, p);
    if (!p->n) {
        p->c = c;
        p->first = seq;
    }
    zmq_msg_init(&p->data[p->n]);
    zmq_msg_move(&p->data[p->n++], &parts[2]);
}

static int s_on_readable(wz_loop_t *loop, void *socket, void *arg)
{
    (void)loop;
    wz_sub_t *self = arg;
    s_follow_t *f = NULL;
    for (size_t i = 0; i < self->n_follows; i++)
        if (self->follows[i].socket == socket)
            f = &self->follows[i];
    if (!f)
        return 0;
    s_pending_t pending;
    pending.n = 0;
    /* Drain what is there, but bounded, so one busy producer cannot starve the loop. */
    for (int budget = 256; budget > 0; budget--) {
        zmq_msg_t parts[3], extra;
        for (int i = 0; i < 3; i++)
            zmq_msg_init(&parts[i]);
        zmq_msg_init(&extra);
        int n = 0, more = 1, rc = 0;
        while (more && rc >= 0) {
            /* Frames beyond the third are read (to stay in step) and dropped. */
            zmq_msg_t *part = n < 3 ? &parts[n] : &extra;
            rc = zmq_msg_recv(part, socket, ZMQ_DONTWAIT);
            more = rc >= 0 && zmq_msg_more(part);
            n += rc >= 0;
        }
        if (rc >= 0)
            s_on_message(self, f, parts, n, &pending);
        for (int i = 0; i < 3; i++)
            zmq_msg_close(&parts[i]);
        zmq_msg_close(&extra);
        if (rc < 0)
            break;
    }
    s_flush(self, f, &pending);
    return 0;
}

/* Applies one replay request "<producer>:<seq>" of region: the effect, the
 * removal of the dead letter and of the request commit together. */
static int s_replay_one(wz_sub_t *self, const char *region, const char *member)
{
    char dead[KEY_MAX], rkey[KEY_MAX];
    if (wz_dead_key(self->store, region, self->consumer, dead, sizeof dead) != 0 ||
        wz_dead_replay_key(self->store, region, self->consumer, rkey, sizeof rkey) != 0)
        return -1;
    const char *colon = strrchr(member, ':');
    char producer[NAME_MAX_];
    if (!colon || (size_t)(colon - member) >= sizeof producer)
        colon = NULL;
    else
        snprintf(producer, sizeof producer, "%.*s", (int)(colon - member), member);
    uint64_t seq = colon ? strtoull(colon + 1, NULL, 10) : 0;
    wz_txn_t *txn = wz_txn_begin(self->store, self->own_pub, region);
    if (!txn)
        return -1;
    int rc = -1;
    WzEvent *ev = NULL;
    redisReply *all = NULL;
    if (wz_txn_watch(txn, dead) != 0 || wz_txn_watch(txn, rkey) != 0)
        goto out;
    all = wz_store_cmd(self->store, "XRANGE %s - +", dead);
    if (!all)
        goto out;
    const char *entry_id = NULL;
    for (size_t i = 0; colon && all->type == REDIS_REPLY_ARRAY && i < all->elements && !ev; i++) {
        const char *p, *data;
        uint64_t s;
        size_t len;
        s_dead_fields(all->element[i], &p, &s, &data, &len);
        if (p && s == seq && strcmp(p, producer) == 0) {
            entry_id = all->element[i]->element[0]->str;
            ev = data ? wz_event_unpack((const uint8_t *)data, len) : NULL;
            if (!ev)
                break;
        }
    }
    const char *outcome = "replayed";
    if (!entry_id)
        outcome = "no such dead letter";
    else if (!ev)
        outcome = "still unreadable";
    else if (self->apply(self->arg, txn, producer, ev) != 0)
        outcome = "failed again";
    bool applied = strcmp(outcome, "replayed") == 0;
    /* The request is used up either way; a failed replay stays a dead letter. */
    if ((applied && wz_txn_cmd(txn, "XDEL %s %s", dead, entry_id) != 0) ||
        wz_txn_cmd(txn, "SREM %s %s", rkey, member) != 0)
        goto out;
    int committed = wz_txn_commit(txn);
    if (committed == 0) {
        rc = 0;
        wz_log(self->log, applied ? WZ_LOG_INFO : WZ_LOG_WARN, "dead letter replay", "letter",
               member, "region", region, "outcome", outcome, NULL);
        if (applied && self->done)
            self->done(self->arg, producer, ev);
    }
out:
    wz_txn_destroy(&txn);
    if (all)
        freeReplyObject(all);
    WZ_FREE_UNPACKED(ev);
    return rc;
}

/* Dead letters are kept for the retention period only: an operator has that
 * long to replay one, and a letter that may hold personal data (an
 * unreadable one cannot be attributed) is not kept longer than the records
 * it came from. The stream's ids are the letters' times in ms. */
static int s_trim_dead(wz_sub_t *self, const char *region)
{
    char dead[KEY_MAX];
    if (wz_dead_key(self->store, region, self->consumer, dead, sizeof dead) != 0)
        return -1;
    long long min_id = (long long)(wz_now_ms() - self->dead_keep_ms);
    redisReply *r = wz_store_cmd(self->store, "XTRIM %s MINID %lld", dead, min_id);
    if (!r)
        return -1;
    if (r->type == REDIS_REPLY_INTEGER && r->integer > 0) {
        char n[24];
        snprintf(n, sizeof n, "%lld", (long long)r->integer);
        wz_log(self->log, WZ_LOG_WARN, "dead letters past retention removed", "region", region,
               "count", n, NULL);
    }
    freeReplyObject(r);
    return 0;
}

int wz_sub_replay(wz_sub_t *self)
{
    int rc = 0;
    /* Trimming by age needs no more than a look a minute. */
    int64_t now = wz_mono_ms(), every = self->dead_keep_ms < 60000 ? self->dead_keep_ms : 60000;
    bool trim =
        self->dead_keep_ms && (!self->dead_trimmed_ms || now - self->dead_trimmed_ms >= every);
    if (trim)
        self->dead_trimmed_ms = now;
    /* Regions are the same for every producer a consumer follows. */
    for (size_t j = 0; self->n_follows && j < self->follows[0].n_cursors; j++) {
        const char *region = self->follows[0].cursors[j].region;
        char rkey[KEY_MAX];
        if (wz_dead_replay_key(self->store, region, self->consumer, rkey, sizeof rkey) != 0)
            continue;
        if (trim && s_trim_dead(self, region) != 0)
            rc = -1;
        redisReply *r = wz_store_cmd(self->store, "SMEMBERS %s", rkey);
        if (!r) {
            rc = -1;
            continue;
        }
        for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
            if (s_replay_one(self, region, r->element[i]->str) != 0)
                rc = -1;
        freeReplyObject(r);
    }
    return rc;
}

static int s_on_timer(wz_loop_t *loop, void *arg)
{
    (void)loop;
    if (wz_sub_catch_up(arg) == 0)
        wz_sub_replay(arg);
    return 0;
}

int wz_sub_attach(wz_sub_t *self, wz_loop_t *loop, int catch_up_ms)
{
    for (size_t i = 0; i < self->n_follows; i++)
        if (wz_loop_add_socket(loop, self->follows[i].socket, s_on_readable, self) != 0)
            return -1;
    return wz_loop_add_timer(loop, catch_up_ms, s_on_timer, self) > 0 ? 0 : -1;
}
