/* wz_store.c - one blocking hiredis connection with timeouts, reconnect
 * backoff, and optimistic transactions that carry outbox events. */
#include "wz_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "wz_bus.h"
#include "wz_codec.h"
#include "wz_metrics.h"
#include "wz_util.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

struct wz_store_t {
    wz_redis_settings_t settings;
    wz_log_t *log;
    redisContext *ctx;
    unsigned long generation;   /* bumped on every new connection; WATCHes die with it */
    int64_t next_attempt_ms;    /* monotonic; no reconnect before this */
    int backoff_ms;
    bool down_logged;           /* log once per state change, not per attempt */
    char errstr[256];
    struct wz_metrics_t *metrics; /* borrowed, may be NULL */
};

static void s_set_err(wz_store_t *self, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_set_err(wz_store_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(self->errstr, sizeof self->errstr, fmt, ap);
    va_end(ap);
    wz_metrics_add(self->metrics, WZ_M_REDIS_ERRORS, NULL, NULL, 1);
}

void wz_store_set_metrics(wz_store_t *self, struct wz_metrics_t *metrics)
{
    self->metrics = metrics;
}

static struct timeval s_tv(int ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    return tv;
}

/* Drops a broken context and schedules the next attempt. */
static void s_drop(wz_store_t *self)
{
    if (self->ctx) {
        redisFree(self->ctx);
        self->ctx = NULL;
    }
    self->next_attempt_ms = wz_mono_ms() + self->backoff_ms;
    self->backoff_ms = self->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : self->backoff_ms * 2;
    if (!self->down_logged) {
        wz_log(self->log, WZ_LOG_WARN, "redis unreachable", "error", self->errstr, NULL);
        self->down_logged = true;
    }
}

wz_store_t *wz_store_new(const wz_redis_settings_t *settings, wz_log_t *log)
{
    wz_store_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->settings = *settings;
    self->log = log;
    self->backoff_ms = BACKOFF_MIN_MS;
    return self;
}

void wz_store_destroy(wz_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    wz_store_t *self = *self_p;
    if (self->ctx)
        redisFree(self->ctx);
    free(self);
    *self_p = NULL;
}

bool wz_store_connected(const wz_store_t *self)
{
    return self->ctx != NULL;
}

const char *wz_store_errstr(const wz_store_t *self)
{
    return self->errstr;
}

bool wz_store_transient(const wz_store_t *self)
{
    static const char *const busy[] = {"redis: LOADING", "redis: OOM",         "redis: READONLY",
                                       "redis: BUSY",    "redis: MASTERDOWN",  "redis: TRYAGAIN",
                                       "redis: CLUSTERDOWN", "redis: NOREPLICAS", "redis: MOVED",
                                       "redis: ASK"};
    if (!self->ctx)
        return true;
    for (size_t i = 0; i < sizeof busy / sizeof busy[0]; i++)
        if (strncmp(self->errstr, busy[i], strlen(busy[i])) == 0)
            return true;
    return false;
}

static int s_auth(wz_store_t *self)
{
    if (!self->settings.password[0])
        return 0;
    redisReply *r = self->settings.user[0]
                        ? redisCommand(self->ctx, "AUTH %s %s", self->settings.user,
                                       self->settings.password)
                        : redisCommand(self->ctx, "AUTH %s", self->settings.password);
    if (!r) {
        s_set_err(self, "AUTH: %s", self->ctx->errstr);
        return -1;
    }
    int rc = r->type == REDIS_REPLY_ERROR ? -1 : 0;
    if (rc)
        s_set_err(self, "AUTH refused: %s", r->str);
    freeReplyObject(r);
    return rc;
}

int wz_store_connect(wz_store_t *self)
{
    if (self->ctx)
        return 0;
    if (wz_mono_ms() < self->next_attempt_ms) {
        if (!self->errstr[0])
            s_set_err(self, "redis unreachable");
        return -1;
    }
    redisContext *c = redisConnectWithTimeout(self->settings.host, self->settings.port,
                                              s_tv(self->settings.connect_timeout_ms));
    if (!c || c->err) {
        s_set_err(self, "connect %s:%d: %s", self->settings.host, self->settings.port,
                  c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        s_drop(self);
        return -1;
    }
    self->ctx = c;
    if (redisSetTimeout(c, s_tv(self->settings.command_timeout_ms)) != REDIS_OK ||
        redisEnableKeepAlive(c) != REDIS_OK) {
        s_set_err(self, "socket options: %s", c->errstr);
        s_drop(self);
        return -1;
    }
    if (s_auth(self) != 0) {
        s_drop(self);
        return -1;
    }
    self->generation++;
    self->backoff_ms = BACKOFF_MIN_MS;
    self->errstr[0] = '\0';
    if (self->down_logged) {
        wz_log(self->log, WZ_LOG_INFO, "redis reachable again", NULL);
        self->down_logged = false;
    }
    return 0;
}

/* Turns a hiredis result into our contract: NULL for transport failures
 * (context dropped) and for error replies (context kept). */
static redisReply *s_check(wz_store_t *self, redisReply *r)
{
    if (!r) {
        s_set_err(self, "redis: %s", self->ctx->errstr[0] ? self->ctx->errstr : "I/O error");
        s_drop(self);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        s_set_err(self, "redis: %s", r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

redisReply *wz_store_vcmd(wz_store_t *self, const char *fmt, va_list ap)
{
    if (wz_store_connect(self) != 0)
        return NULL;
    return s_check(self, redisvCommand(self->ctx, fmt, ap));
}

redisReply *wz_store_cmd(wz_store_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = wz_store_vcmd(self, fmt, ap);
    va_end(ap);
    return r;
}

redisReply *wz_store_argv(wz_store_t *self, int argc, const char **argv, const size_t *lens)
{
    if (wz_store_connect(self) != 0)
        return NULL;
    return s_check(self, redisCommandArgv(self->ctx, argc, argv, lens));
}

int wz_store_key(const wz_store_t *self, char *out, size_t outlen, const char *region,
                 const char *fmt, ...)
{
    int head = snprintf(out, outlen, "%s{%s}:", self->settings.prefix, region);
    if (head < 0 || (size_t)head >= outlen)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    int tail = vsnprintf(out + head, outlen - (size_t)head, fmt, ap);
    va_end(ap);
    return tail < 0 || (size_t)tail >= outlen - (size_t)head ? -1 : 0;
}

int wz_store_get_bytes(wz_store_t *self, const char *key, uint8_t **data, size_t *len)
{
    redisReply *r = wz_store_cmd(self, "GET %s", key);
    if (!r)
        return -1;
    int rc = 0;
    if (r->type == REDIS_REPLY_STRING) {
        *data = malloc(r->len ? r->len : 1);
        if (*data) {
            memcpy(*data, r->str, r->len);
            *len = r->len;
            rc = 1;
        } else {
            s_set_err(self, "out of memory");
            rc = -1;
        }
    }
    freeReplyObject(r);
    return rc;
}

int wz_store_get_u64(wz_store_t *self, const char *key, uint64_t *out)
{
    redisReply *r = wz_store_cmd(self, "GET %s", key);
    if (!r)
        return -1;
    int rc = 0;
    if (r->type == REDIS_REPLY_STRING) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(r->str, &end, 10);
        if (errno || end == r->str || *end) {
            s_set_err(self, "%s holds no number", key);
            rc = -1;
        } else {
            *out = v;
            rc = 1;
        }
    }
    freeReplyObject(r);
    return rc;
}

/* --- transactions ------------------------------------------------------ */

typedef struct {
    char *cmd;      /* RESP-formatted by hiredis */
    size_t len;
} s_cmd_t;

typedef struct {
    uint8_t *bytes;
    size_t len;
    uint64_t seq;
} s_event_t;

struct wz_txn_t {
    wz_store_t *store;
    wz_pub_t *pub;
    char region[64];
    unsigned long generation;
    bool failed;        /* a WATCH or queueing step failed: commit must not run */
    bool finished;      /* EXEC ran: nothing left to UNWATCH */
    s_cmd_t *cmds;
    size_t n_cmds, cap_cmds;
    s_event_t *events;
    size_t n_events, cap_events;
    uint64_t last_seq;  /* of the outbox, as read after WATCH */
    char stream_key[256];
    wz_txn_outcome_fn outcome; /* told once how the transaction ended; may be NULL */
    void *outcome_arg;
    void *local; /* wz_txn_set_local */
    void (*local_free)(void *data);
};

/* Tells the outcome hook (once) how the transaction ended. */
static void s_txn_outcome(wz_txn_t *self, int outcome)
{
    wz_txn_outcome_fn fn = self->outcome;
    self->outcome = NULL;
    if (fn)
        fn(self->outcome_arg, outcome);
}

void wz_txn_on_outcome(wz_txn_t *self, wz_txn_outcome_fn fn, void *arg)
{
    s_txn_outcome(self, 1); /* a hook replaced is one whose writes never happen */
    self->outcome = fn;
    self->outcome_arg = arg;
}

unsigned long wz_store_generation(const wz_store_t *self)
{
    return self->generation;
}

static int s_txn_push(wz_txn_t *self, char *cmd, size_t len)
{
    if (self->n_cmds == self->cap_cmds) {
        size_t cap = self->cap_cmds ? self->cap_cmds * 2 : 8;
        s_cmd_t *grown = realloc(self->cmds, cap * sizeof *grown);
        if (!grown) {
            redisFreeCommand(cmd);
            self->failed = true;
            return -1;
        }
        self->cmds = grown;
        self->cap_cmds = cap;
    }
    self->cmds[self->n_cmds++] = (s_cmd_t){cmd, len};
    return 0;
}

wz_txn_t *wz_txn_begin(wz_store_t *store, wz_pub_t *pub, const char *region)
{
    if (wz_store_connect(store) != 0)
        return NULL;
    wz_txn_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->store = store;
    self->pub = pub;
    self->generation = store->generation;
    if (wz_strlcpy(self->region, region, sizeof self->region) != 0)
        goto fail;
    if (pub) {
        if (wz_pub_stream_key(pub, region, self->stream_key, sizeof self->stream_key) != 0 ||
            wz_txn_watch(self, self->stream_key) != 0 ||
            wz_pub_last_seq(pub, region, &self->last_seq) != 0)
            goto fail;
    }
    return self;
fail:
    wz_txn_destroy(&self);
    return NULL;
}

int wz_txn_watch(wz_txn_t *self, const char *key)
{
    redisReply *r = wz_store_cmd(self->store, "WATCH %s", key);
    if (!r || self->store->generation != self->generation) {
        self->failed = true;
        if (r)
            freeReplyObject(r);
        return -1;
    }
    freeReplyObject(r);
    return 0;
}

int wz_txn_cmd(wz_txn_t *self, const char *fmt, ...)
{
    char *cmd = NULL;
    va_list ap;
    va_start(ap, fmt);
    int len = redisvFormatCommand(&cmd, fmt, ap);
    va_end(ap);
    if (len < 0) {
        self->failed = true;
        return -1;
    }
    return s_txn_push(self, cmd, (size_t)len);
}

uint64_t wz_txn_emit(wz_txn_t *self, WzEvent *ev)
{
    if (!self->pub || self->failed)
        return 0;
    uint64_t seq = self->last_seq + self->n_events + 1;
    char id[160];
    snprintf(id, sizeof id, "%s:%s:%llu", wz_pub_service(self->pub), self->region,
             (unsigned long long)seq);
    /* Stamp a packed copy, leave the caller's message as it was. */
    char *old_id = ev->id, *old_region = ev->region;
    int64_t old_time = ev->occurred_ms;
    ev->id = id;
    ev->region = self->region;
    if (!ev->occurred_ms)
        ev->occurred_ms = wz_now_ms();
    size_t len = 0;
    uint8_t *bytes = wz_codec_pack(&ev->base, &len);
    ev->id = old_id;
    ev->region = old_region;
    ev->occurred_ms = old_time;
    if (!bytes)
        goto fail;
    if (self->n_events == self->cap_events) {
        size_t cap = self->cap_events ? self->cap_events * 2 : 4;
        s_event_t *grown = realloc(self->events, cap * sizeof *grown);
        if (!grown) {
            free(bytes);
            goto fail;
        }
        self->events = grown;
        self->cap_events = cap;
    }
    self->events[self->n_events++] = (s_event_t){bytes, len, seq};
    if (wz_txn_cmd(self, "XADD %s %llu-0 e %b", self->stream_key, (unsigned long long)seq,
                   bytes, len) != 0)
        return 0;
    return seq;
fail:
    self->failed = true;
    return 0;
}

size_t wz_txn_size(const wz_txn_t *self)
{
    return self->n_cmds;
}

/* Reads the n replies of the pipeline; the last one is EXEC's. */
static int s_txn_read(wz_txn_t *self, size_t expected, redisReply **exec_reply)
{
    redisContext *c = self->store->ctx;
    int rc = 0;
    for (size_t i = 0; i < expected; i++) {
        void *reply = NULL;
        if (redisGetReply(c, &reply) != REDIS_OK) {
            s_set_err(self->store, "redis: %s", c->errstr);
            s_drop(self->store);
            return -1;
        }
        redisReply *r = reply;
        if (i + 1 == expected) {
            *exec_reply = r;
            break;
        }
        if (r->type == REDIS_REPLY_ERROR) {
            /* A refused command makes EXEC answer EXECABORT: nothing is written. */
            s_set_err(self->store, "redis refused a queued command: %s", r->str);
            rc = -1;
        }
        freeReplyObject(r);
    }
    return rc;
}

int wz_txn_commit(wz_txn_t *self)
{
    wz_store_t *store = self->store;
    if (self->failed || !store->ctx || store->generation != self->generation) {
        if (!store->errstr[0])
            s_set_err(store, "transaction could not be prepared");
        goto failed;
    }
    redisContext *c = store->ctx;
    bool appended = redisAppendCommand(c, "MULTI") == REDIS_OK;
    for (size_t i = 0; appended && i < self->n_cmds; i++)
        appended = redisAppendFormattedCommand(c, self->cmds[i].cmd, self->cmds[i].len) == REDIS_OK;
    if (!appended || redisAppendCommand(c, "EXEC") != REDIS_OK) {
        /* A half-written pipeline leaves the connection unusable. */
        s_set_err(store, "out of memory queueing a transaction");
        s_drop(store);
        goto failed;
    }
    self->finished = true;
    redisReply *exec = NULL;
    int queued = s_txn_read(self, self->n_cmds + 2, &exec);
    if (!exec)
        goto failed;
    if (exec->type == REDIS_REPLY_NIL) {
        freeReplyObject(exec);
        if (self->pub)
            wz_pub_forget(self->pub, self->region);
        s_txn_outcome(self, 1);
        return 1;
    }
    int rc = queued;
    if (exec->type == REDIS_REPLY_ERROR) {
        s_set_err(store, "redis: %s", exec->str);
        rc = -1;
    } else if (exec->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < exec->elements; i++)
            if (exec->element[i]->type == REDIS_REPLY_ERROR) {
                /* Should not happen (we WATCH what we write); the outcome is partial. */
                s_set_err(store, "redis: command %zu of a transaction failed: %s", i + 1,
                          exec->element[i]->str);
                wz_log(store->log, WZ_LOG_ERROR, "transaction partly applied", "error",
                       store->errstr, NULL);
                rc = -1;
            }
    }
    freeReplyObject(exec);
    if (rc != 0)
        goto failed;
    for (size_t i = 0; self->pub && i < self->n_events; i++)
        wz_pub_committed(self->pub, self->region, self->events[i].seq, self->events[i].bytes,
                         self->events[i].len);
    s_txn_outcome(self, 0);
    return 0;
failed:
    if (self->pub)
        wz_pub_forget(self->pub, self->region);
    s_txn_outcome(self, -1);
    return -1;
}

void wz_txn_set_local(wz_txn_t *self, void *data, void (*free_fn)(void *data))
{
    if (self->local && self->local_free)
        self->local_free(self->local);
    self->local = data;
    self->local_free = free_fn;
}

void *wz_txn_local(const wz_txn_t *self)
{
    return self->local;
}

void wz_txn_destroy(wz_txn_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    wz_txn_t *self = *self_p;
    s_txn_outcome(self, 1); /* never committed: nothing was written */
    wz_txn_set_local(self, NULL, NULL);
    if (!self->finished && self->store->ctx && self->store->generation == self->generation) {
        redisReply *r = redisCommand(self->store->ctx, "UNWATCH");
        if (r)
            freeReplyObject(r);
        else
            s_drop(self->store);
    }
    for (size_t i = 0; i < self->n_cmds; i++)
        redisFreeCommand(self->cmds[i].cmd);
    free(self->cmds);
    for (size_t i = 0; i < self->n_events; i++)
        free(self->events[i].bytes);
    free(self->events);
    free(self);
    *self_p = NULL;
}
