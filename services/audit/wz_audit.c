/* wz_audit.c - hash-chained audit entries made from every producer's events,
 * their verification, and the query endpoint (see wz_audit.h). */
#include "wz_audit.h"

#include "wz_server.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "wz_bus.h"
#include "wz_codec.h"
#include "wz_util.h"
#include "wz_zap.h"

#define KEY_MAX 256
#define VERIFY_BATCH 256
#define RECV_BUDGET 64
#define MAX_REQUEST_ID 64 /* as wz_validate accepts */
#define N_PRODUCERS 3

#define CODE(x) WOONZORG__V1__CODE__CODE_##x

/* Every producer of the suite; audit chains all of their events. */
static const char *const s_producers[N_PRODUCERS] = {"intake", "matching", "notification"};

struct wz_audit_t {
    wz_store_t *store;
    const wz_policy_t *policy;
    wz_log_t *log;
    void *router;
    int catch_up_ms;
    const char **regions; /* borrowed from the policy */
    wz_sub_t *sub;
};

/* --- the chain ------------------------------------------------------------ */

void wz_audit_hash(const uint8_t prev[WZ_AUDIT_HASH_LEN], uint64_t seq, const uint8_t *event,
                   size_t len, uint8_t out[WZ_AUDIT_HASH_LEN])
{
    uint8_t seqbuf[8];
    for (int i = 7; i >= 0; i--, seq >>= 8)
        seqbuf[i] = (uint8_t)(seq & 0xff);
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, prev, WZ_AUDIT_HASH_LEN);
    crypto_hash_sha256_update(&st, seqbuf, sizeof seqbuf);
    if (len) crypto_hash_sha256_update(&st, event, len);
    crypto_hash_sha256_final(&st, out);
}

/* "<ms>-<n>" -> both parts; -1 if it is no stream id. */
static int s_parse_id(const char *id, uint64_t *ms, uint64_t *n)
{
    char *end = NULL;
    errno = 0;
    unsigned long long a = strtoull(id, &end, 10);
    if (errno || end == id || *end != '-') return -1;
    const char *rest = end + 1;
    unsigned long long b = strtoull(rest, &end, 10);
    if (errno || end == rest || *end) return -1;
    *ms = a;
    *n = b;
    return 0;
}

/* The value of field name in a stream entry's field list, or NULL. */
static const redisReply *s_field(const redisReply *fields, const char *name)
{
    if (!fields || fields->type != REDIS_REPLY_ARRAY) return NULL;
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        if (fields->element[i]->type == REDIS_REPLY_STRING &&
            strcmp(fields->element[i]->str, name) == 0 &&
            fields->element[i + 1]->type == REDIS_REPLY_STRING)
            return fields->element[i + 1];
    return NULL;
}

static bool s_is_entry(const redisReply *e)
{
    return e && e->type == REDIS_REPLY_ARRAY && e->elements >= 2 &&
           e->element[0]->type == REDIS_REPLY_STRING;
}

/* Reads the newest entry: its sequence and hash (0 and zeros when empty). */
static int s_head(wz_store_t *store, const char *key, uint64_t *seq,
                  uint8_t hash[WZ_AUDIT_HASH_LEN], wz_log_t *log)
{
    redisReply *r = wz_store_cmd(store, "XREVRANGE %s + - COUNT 1", key);
    if (!r) return -1;
    int rc = 0;
    *seq = 0;
    memset(hash, 0, WZ_AUDIT_HASH_LEN);
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
        const redisReply *e = r->element[0];
        uint64_t ms = 0, n = 1;
        const redisReply *h = s_is_entry(e) ? s_field(e->element[1], "hash") : NULL;
        if (!h || h->len != WZ_AUDIT_HASH_LEN || s_parse_id(e->element[0]->str, &ms, &n) != 0 ||
            n != 0) {
            /* Appending after a damaged head would bless the damage. */
            wz_log(log, WZ_LOG_ERROR, "audit chain head unreadable; not appending", "key", key,
                   NULL);
            rc = -1;
        } else {
            *seq = ms;
            memcpy(hash, h->str, WZ_AUDIT_HASH_LEN);
        }
    }
    freeReplyObject(r);
    return rc;
}

int wz_audit_append(wz_store_t *store, wz_txn_t *txn, const WzEvent *ev, wz_log_t *log)
{
    if (!ev->region || !wz_id_valid(ev->region, WZ_ID_MAX)) {
        wz_log(log, WZ_LOG_ERROR, "event without a region not chained", "event",
               ev->id ? ev->id : "", NULL);
        return 0;
    }
    char key[KEY_MAX];
    if (wz_store_key(store, key, sizeof key, ev->region, "audit") != 0 ||
        wz_txn_watch(txn, key) != 0)
        return -1;
    uint64_t last = 0;
    uint8_t prev[WZ_AUDIT_HASH_LEN];
    if (s_head(store, key, &last, prev, log) != 0) return -1;
    size_t len = 0;
    uint8_t *bytes = wz_codec_pack(&ev->base, &len);
    if (!bytes) return -1;
    uint64_t seq = last + 1;
    uint8_t hash[WZ_AUDIT_HASH_LEN];
    wz_audit_hash(prev, seq, bytes, len, hash);
    int rc = wz_txn_cmd(txn, "XADD %s %llu-0 e %b src %s prev %b hash %b", key,
                        (unsigned long long)seq, bytes, len, ev->id ? ev->id : "", prev,
                        (size_t)WZ_AUDIT_HASH_LEN, hash, (size_t)WZ_AUDIT_HASH_LEN);
    free(bytes);
    return rc;
}

static int s_bad(uint64_t *first_bad, uint64_t seq, char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int s_bad(uint64_t *first_bad, uint64_t seq, char *why, size_t whylen, const char *fmt, ...)
{
    *first_bad = seq;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return 1;
}

/* Checks one entry against the expected sequence and link; 0 good, 1 bad. */
static int s_check_entry(const redisReply *e, uint64_t expected, uint8_t prev[WZ_AUDIT_HASH_LEN],
                         uint64_t *first_bad, char *why, size_t whylen)
{
    uint64_t ms = 0, n = 0;
    if (!s_is_entry(e) || s_parse_id(e->element[0]->str, &ms, &n) != 0 || n != 0)
        return s_bad(first_bad, expected, why, whylen, "entry after %" PRIu64 " has a foreign id",
                     expected - 1);
    if (ms > expected)
        return s_bad(first_bad, expected, why, whylen,
                     "entry %" PRIu64 " is missing (the next one is %" PRIu64 ")", expected, ms);
    if (ms < expected)
        return s_bad(first_bad, expected, why, whylen, "entry %" PRIu64 " is out of sequence", ms);
    const redisReply *ev = s_field(e->element[1], "e");
    const redisReply *p = s_field(e->element[1], "prev");
    const redisReply *h = s_field(e->element[1], "hash");
    if (!ev || !p || !h || p->len != WZ_AUDIT_HASH_LEN || h->len != WZ_AUDIT_HASH_LEN)
        return s_bad(first_bad, expected, why, whylen, "entry %" PRIu64 " lacks a field", expected);
    if (memcmp(p->str, prev, WZ_AUDIT_HASH_LEN) != 0)
        return s_bad(first_bad, expected, why, whylen,
                     "entry %" PRIu64 " does not link to entry %" PRIu64 " (removed or reordered)",
                     expected, expected - 1);
    uint8_t hash[WZ_AUDIT_HASH_LEN];
    wz_audit_hash(prev, expected, (const uint8_t *)ev->str, ev->len, hash);
    if (memcmp(hash, h->str, WZ_AUDIT_HASH_LEN) != 0)
        return s_bad(first_bad, expected, why, whylen,
                     "entry %" PRIu64 " was altered (its hash does not match)", expected);
    memcpy(prev, hash, WZ_AUDIT_HASH_LEN);
    return 0;
}

int wz_audit_verify(wz_store_t *store, const char *region, uint64_t *checked, uint64_t *first_bad,
                    char *why, size_t whylen)
{
    *checked = 0;
    *first_bad = 0;
    if (whylen) why[0] = '\0';
    if (sodium_init() < 0) {
        snprintf(why, whylen, "libsodium cannot start");
        return -1;
    }
    char key[KEY_MAX];
    if (wz_store_key(store, key, sizeof key, region, "audit") != 0) {
        snprintf(why, whylen, "region name too long");
        return -1;
    }
    uint8_t prev[WZ_AUDIT_HASH_LEN] = {0};
    uint64_t expected = 1;
    char start[48] = "-";
    for (;;) {
        redisReply *r = wz_store_cmd(store, "XRANGE %s %s + COUNT %d", key, start, VERIFY_BATCH);
        if (!r) {
            snprintf(why, whylen, "%s", wz_store_errstr(store));
            return -1;
        }
        size_t n = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
        int bad = 0;
        for (size_t i = 0; i < n && !bad; i++) {
            bad = s_check_entry(r->element[i], expected, prev, first_bad, why, whylen);
            if (!bad) {
                (*checked)++;
                expected++;
            }
        }
        if (!bad && n > 0) snprintf(start, sizeof start, "%" PRIu64 "-1", expected - 1);
        freeReplyObject(r);
        if (bad) return 1;
        if (n < VERIFY_BATCH) break;
    }
    /* The chain alone cannot show that its newest entries were cut off; the
     * consumer's cursors, written with each entry, know how many there were. */
    uint64_t applied = 0;
    for (int i = 0; i < N_PRODUCERS; i++) {
        char ckey[KEY_MAX];
        uint64_t v = 0;
        if (wz_store_key(store, ckey, sizeof ckey, region, "cursor:audit:%s", s_producers[i]) !=
                0 ||
            wz_store_get_u64(store, ckey, &v) < 0) {
            snprintf(why, whylen, "%s", wz_store_errstr(store));
            return -1;
        }
        applied += v;
    }
    if (applied > *checked)
        return s_bad(first_bad, *checked + 1, why, whylen,
                     "the chain ends at entry %" PRIu64 " but %" PRIu64
                     " events were chained: the newest entries were removed",
                     *checked, applied);
    return 0;
}

/* --- the consumer --------------------------------------------------------- */

static int s_apply(void *arg, wz_txn_t *txn, const char *producer, const WzEvent *ev)
{
    (void)producer;
    wz_audit_t *self = arg;
    return wz_audit_append(self->store, txn, ev, self->log);
}

wz_audit_t *wz_audit_new(wz_runtime_t *rt, void *router)
{
    if (sodium_init() < 0) return NULL;
    wz_audit_t *self = calloc(1, sizeof *self);
    if (!self) return NULL;
    self->store = rt->store;
    self->policy = rt->policy;
    self->log = rt->log;
    self->router = router;
    self->catch_up_ms = rt->settings.catch_up_ms > 0 ? rt->settings.catch_up_ms : 1000;
    size_t n = rt->policy->n_regions;
    self->regions = calloc(n ? n : 1, sizeof *self->regions);
    if (!self->regions) goto fail;
    for (size_t i = 0; i < n; i++)
        self->regions[i] = rt->policy->regions[i].id;
    self->sub = wz_sub_new(rt->ctx, rt->store, NULL, "audit", s_apply, NULL, self, rt->log);
    if (!self->sub || wz_runtime_follow(rt, self->sub) != 0) goto fail;
    const char *endpoints[N_PRODUCERS] = {rt->settings.intake.publish,
                                          rt->settings.matching.publish,
                                          rt->settings.notification.publish};
    for (int i = 0; i < N_PRODUCERS; i++)
        if (wz_sub_follow(self->sub, s_producers[i], endpoints[i], self->regions, n) != 0)
            goto fail;
    return self;
fail:
    wz_audit_destroy(&self);
    return NULL;
}

void wz_audit_destroy(wz_audit_t **self_p)
{
    if (!self_p || !*self_p) return;
    wz_audit_t *self = *self_p;
    wz_sub_destroy(&self->sub);
    free(self->regions);
    free(self);
    *self_p = NULL;
}

int wz_audit_catch_up(wz_audit_t *self)
{
    return wz_sub_catch_up(self->sub);
}

int wz_audit_attach(wz_audit_t *self, wz_loop_t *loop)
{
    if (wz_sub_attach(self->sub, loop, self->catch_up_ms) != 0) return -1;
    if (self->router && wz_loop_add_socket(loop, self->router, wz_audit_on_router, self) != 0)
        return -1;
    if (wz_sub_catch_up(self->sub) != 0)
        wz_log(self->log, WZ_LOG_WARN, "catch-up incomplete; the timer retries", "error",
               wz_store_errstr(self->store), NULL);
    return 0;
}

static const char *s_code_name(WzCode code)
{
    static const char *const names[] = {"ok",        "malformed", "unknown_type", "invalid",
                                        "not_found", "forbidden", "conflict",     "unavailable"};
    return (int)code >= 0 && (int)code < (int)(sizeof names / sizeof *names) ? names[code]
                                                                             : "unknown";
}

/* --- queries ---------------------------------------------------------------- */

/* A page of entries borrowed from the Redis reply, with unpacked events. */
typedef struct {
    redisReply *rows;
    WzAuditEntry *entries;
    WzAuditEntry **ptrs;
    size_t n;
    WzAuditPage page;
} s_page_t;

static void s_page_free(s_page_t *p)
{
    for (size_t i = 0; i < p->n; i++)
        WZ_FREE_UNPACKED(p->entries[i].event);
    free(p->entries);
    free(p->ptrs);
    if (p->rows) freeReplyObject(p->rows);
    memset(p, 0, sizeof *p);
}

/* Reads the page the query asks for. 0, or -1 when Redis failed or OOM. */
static int s_page_read(wz_audit_t *self, const char *region, const Woonzorg__V1__AuditQuery *q,
                       s_page_t *p)
{
    WzAuditPage init = WOONZORG__V1__AUDIT_PAGE__INIT;
    p->page = init;
    p->page.region = (char *)region;
    char key[KEY_MAX];
    if (wz_store_key(self->store, key, sizeof key, region, "audit") != 0) return -1;
    unsigned count = q->last > 0 ? q->last : WZ_AUDIT_PAGE_DEFAULT;
    if (count > WZ_AUDIT_PAGE_MAX) count = WZ_AUDIT_PAGE_MAX;
    bool newest = q->last > 0 && q->after_seq == 0;
    if (!newest && q->after_seq == UINT64_MAX) return 0;
    p->rows = newest ? wz_store_cmd(self->store, "XREVRANGE %s + - COUNT %u", key, count)
                     : wz_store_cmd(self->store, "XRANGE %s %llu-0 + COUNT %u", key,
                                    (unsigned long long)(q->after_seq + 1), count);
    if (!p->rows) return -1;
    size_t rows = p->rows->type == REDIS_REPLY_ARRAY ? p->rows->elements : 0;
    if (rows == 0) return 0;
    p->entries = calloc(rows, sizeof *p->entries);
    p->ptrs = calloc(rows, sizeof *p->ptrs);
    if (!p->entries || !p->ptrs) return -1;
    for (size_t i = 0; i < rows; i++) {
        /* XREVRANGE gives newest first; a page is always oldest first. */
        const redisReply *e = p->rows->element[newest ? rows - 1 - i : i];
        uint64_t seq = 0, n = 0;
        if (!s_is_entry(e) || s_parse_id(e->element[0]->str, &seq, &n) != 0) continue;
        WzAuditEntry init_entry = WOONZORG__V1__AUDIT_ENTRY__INIT;
        WzAuditEntry *out = &p->entries[p->n];
        *out = init_entry;
        out->seq = seq;
        const redisReply *src = s_field(e->element[1], "src");
        const redisReply *prev = s_field(e->element[1], "prev");
        const redisReply *hash = s_field(e->element[1], "hash");
        const redisReply *ev = s_field(e->element[1], "e");
        if (src) out->source = src->str;
        if (prev) out->prev_hash = (ProtobufCBinaryData){prev->len, (uint8_t *)prev->str};
        if (hash) out->hash = (ProtobufCBinaryData){hash->len, (uint8_t *)hash->str};
        if (ev) out->event = wz_event_unpack(ev->str, ev->len);
        p->ptrs[p->n++] = out;
    }
    p->page.entries = p->ptrs;
    p->page.n_entries = p->n;
    return 0;
}

int wz_audit_handle(wz_audit_t *self, const char *party_id, const void *data, size_t len,
                    uint8_t **reply, size_t *reply_len)
{
    WzRequest *req = wz_request_unpack(data, len);
    const wz_party_t *party = party_id ? wz_policy_party(self->policy, party_id) : NULL;
    WzReply r = WOONZORG__V1__REPLY__INIT;
    char message[256] = "", field[64] = "";
    r.message = message;
    r.field = field;
    if (req) r.request_id = req->request_id;
    s_page_t page;
    memset(&page, 0, sizeof page);
    if (!party) {
        r.code = CODE(FORBIDDEN);
        snprintf(message, sizeof message, "the client key belongs to no configured party");
    } else if (!req) {
        r.code = CODE(MALFORMED);
        snprintf(message, sizeof message, "request is not a woonzorg.v1.Request");
    } else if (!wz_id_valid(req->request_id, MAX_REQUEST_ID)) {
        r.code = CODE(INVALID);
        snprintf(field, sizeof field, "request_id");
        snprintf(message, sizeof message,
                 "request_id must be 1 to %d characters of A-Z a-z 0-9 . _ -", MAX_REQUEST_ID);
    } else if (req->body_case != WOONZORG__V1__REQUEST__BODY_AUDIT) {
        r.code = CODE(UNKNOWN_TYPE);
        snprintf(message, sizeof message, "the audit endpoint serves audit queries only");
    } else if (party->role != WZ_ROLE_MUNICIPALITY) {
        r.code = CODE(FORBIDDEN);
        snprintf(field, sizeof field, "audit");
        snprintf(message, sizeof message, "only municipalities may read the audit log");
    } else if (s_page_read(self, party->region, req->audit, &page) != 0) {
        r.code = CODE(UNAVAILABLE);
        snprintf(message, sizeof message, "storage is unavailable; retry later");
    } else {
        r.result_case = WOONZORG__V1__REPLY__RESULT_AUDIT;
        r.audit = &page.page;
        snprintf(message, sizeof message, "%zu audit entries of %s", page.n, party->region);
    }
    size_t n = 0;
    uint8_t *bytes = wz_codec_pack(&r.base, &n);
    bool id_ok = req && wz_id_valid(req->request_id, MAX_REQUEST_ID);
    char count[24];
    snprintf(count, sizeof count, "%zu", page.n);
    wz_log(self->log, r.code == CODE(UNAVAILABLE) ? WZ_LOG_WARN : WZ_LOG_INFO, "request",
           "request_id", id_ok ? req->request_id : "", "party", party_id ? party_id : "", "type",
           req ? (req->body_case == WOONZORG__V1__REQUEST__BODY_AUDIT ? "audit" : "other")
               : "unreadable",
           "code", s_code_name(r.code), "entries", count, NULL);
    s_page_free(&page);
    WZ_FREE_UNPACKED(req);
    if (!bytes) return -1;
    *reply = bytes;
    *reply_len = n;
    return 0;
}

static void s_serve(void *arg, void *router, zmq_msg_t *routing, zmq_msg_t *payload)
{
    wz_audit_t *self = arg;
    uint8_t *reply = NULL;
    size_t len = 0;
    if (wz_audit_handle(self, wz_zap_party(payload), zmq_msg_data(payload), zmq_msg_size(payload),
                        &reply, &len) != 0) {
        wz_log(self->log, WZ_LOG_ERROR, "out of memory; request dropped", NULL);
        return;
    }
    if (wz_server_send(router, routing, reply, len) != 0)
        wz_log(self->log, WZ_LOG_INFO, "reply not delivered", "error", zmq_strerror(errno), NULL);
    free(reply);
}

int wz_audit_on_router(wz_loop_t *loop, void *socket, void *arg)
{
    (void)loop;
    wz_audit_t *self = arg;
    wz_server_drain(socket, RECV_BUDGET, s_serve, self, self->log);
    return 0;
}
