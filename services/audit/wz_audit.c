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
#include <unistd.h>
#include <zmq.h>

#include "wz_bus.h"
#include "wz_chain.h"
#include "wz_shred.h"
#include "wz_codec.h"
#include "wz_minimise.h"
#include "wz_personal.h"
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

/* The newest checkpoint of a region, how many entries came since, and how
 * far the chain was verified for signing (past last when writing failed:
 * the next attempt goes on from there instead of walking it all again). */
typedef struct {
    wz_checkpoint_t last;
    uint64_t pending;
    uint64_t verified_size;
    uint8_t verified_head[WZ_AUDIT_HASH_LEN];
} s_region_cp_t;

struct wz_audit_t {
    wz_store_t *store;
    const wz_policy_t *policy;
    wz_log_t *log;
    void *router;
    int catch_up_ms;
    const char **regions; /* borrowed from the policy */
    wz_sub_t *sub;
    /* Signed checkpoints; off when checkpoint_dir is empty (unit tests). */
    char checkpoint_dir[WZ_PATH_MAX];
    int checkpoint_entries, checkpoint_ms;
    uint8_t sk[WZ_SIGN_SECRET_LEN], pk[WZ_SIGN_PUBLIC_LEN];
    s_region_cp_t *cps; /* per region, as regions */
    wz_shred_t *shred;  /* seals per-candidate payloads; NULL: plain (unit tests) */
};

/* --- the chain ------------------------------------------------------------ */

void wz_audit_hash(const uint8_t prev[WZ_AUDIT_HASH_LEN], uint64_t seq, const uint8_t *event,
                   size_t len, uint8_t out[WZ_AUDIT_HASH_LEN])
{
    wz_chain_hash(prev, seq, event, len, out);
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

/* What one transaction has queued and its later appends must see (the
 * consumer may chain several events in one, wz_sub_set_batch): the chain's
 * head after its last XADD, and the candidate keys it made or deleted. */
typedef struct {
    char subject[WZ_ID_MAX];
    uint8_t *wrapped; /* NULL: deleted in this transaction */
    size_t len;
} s_queued_key_t;

typedef struct {
    char key[KEY_MAX]; /* the chain the head belongs to; "" before the first */
    uint64_t seq;
    uint8_t hash[WZ_AUDIT_HASH_LEN];
    s_queued_key_t *keys;
    size_t n_keys, cap_keys;
} s_queued_t;

static void s_queued_free(void *data)
{
    s_queued_t *q = data;
    for (size_t i = 0; i < q->n_keys; i++)
        free(q->keys[i].wrapped);
    free(q->keys);
    free(q);
}

static s_queued_t *s_queued(wz_txn_t *txn)
{
    s_queued_t *q = wz_txn_local(txn);
    if (!q && (q = calloc(1, sizeof *q)) != NULL)
        wz_txn_set_local(txn, q, s_queued_free);
    return q;
}

/* What the transaction did with subject's key; NULL: nothing yet. */
static s_queued_key_t *s_queued_find(s_queued_t *q, const char *subject)
{
    for (size_t i = 0; i < q->n_keys; i++)
        if (strcmp(q->keys[i].subject, subject) == 0)
            return &q->keys[i];
    return NULL;
}

/* The entry of subject, added (no key: deleted) when there is none. */
static s_queued_key_t *s_queued_key(s_queued_t *q, const char *subject)
{
    s_queued_key_t *found = s_queued_find(q, subject);
    if (found)
        return found;
    s_queued_key_t *keys = wz_grow(q->keys, &q->cap_keys, q->n_keys + 1, sizeof *keys);
    if (!keys)
        return NULL;
    q->keys = keys;
    s_queued_key_t *k = &keys[q->n_keys++];
    memset(k, 0, sizeof *k);
    wz_strlcpy(k->subject, subject, sizeof k->subject);
    return k;
}

/* Seals *bytes for subject under its candidate key (made and queued when it
 * has none yet, or this transaction deleted it). 0, or -1 when Redis failed
 * or the key is unusable. */
static int s_seal(wz_store_t *store, wz_txn_t *txn, s_queued_t *q, wz_shred_t *shred,
                  const char *region, const char *subject, uint8_t **bytes, size_t *len,
                  wz_log_t *log)
{
    char kkey[KEY_MAX];
    if (wz_store_key(store, kkey, sizeof kkey, region, "audit:key:%s", subject) != 0)
        return -1;
    s_queued_key_t *known = s_queued_find(q, subject);
    uint8_t *wrapped = NULL;
    size_t wlen = 0;
    int found = 0;
    if (known && known->wrapped) {
        wrapped = malloc(known->len);
        if (!wrapped)
            return -1;
        memcpy(wrapped, known->wrapped, known->len);
        wlen = known->len;
        found = 1;
    } else if (!known) {
        if (wz_txn_watch(txn, kkey) != 0)
            return -1;
        found = wz_store_get_bytes(store, kkey, &wrapped, &wlen);
        if (found < 0)
            return -1;
        /* Remembered for the transaction's next events about subject
         * (an entry without a key would mean deleted: only a copy goes in). */
        uint8_t *copy = found ? malloc(wlen) : NULL;
        s_queued_key_t *seen = copy ? s_queued_key(q, subject) : NULL;
        if (seen) {
            memcpy(copy, wrapped, wlen);
            seen->wrapped = copy;
            seen->len = wlen;
        } else {
            free(copy);
        }
    }
    if (found == 0) {
        s_queued_key_t *made = s_queued_key(q, subject);
        if (!made || wz_shred_new_key(shred, &wrapped, &wlen) != 0)
            return -1;
        uint8_t *copy = malloc(wlen);
        if (!copy || wz_txn_cmd(txn, "SET %s %b", kkey, wrapped, wlen) != 0) {
            free(copy);
            free(wrapped);
            return -1;
        }
        memcpy(copy, wrapped, wlen);
        free(made->wrapped);
        made->wrapped = copy;
        made->len = wlen;
    }
    uint8_t *sealed = NULL;
    size_t slen = 0;
    int rc = wz_shred_seal(shred, subject, wrapped, wlen, *bytes, *len, &sealed, &slen);
    free(wrapped);
    if (rc != 0) {
        wz_log(log, WZ_LOG_ERROR, "candidate key unusable; not chaining", "key", kkey, NULL);
        return -1;
    }
    free(*bytes);
    *bytes = sealed;
    *len = slen;
    return 0;
}

static int s_append(wz_store_t *store, wz_txn_t *txn, const WzEvent *ev, wz_log_t *log,
                    wz_shred_t *shred)
{
    if (!ev->region || !wz_id_valid(ev->region, WZ_ID_MAX)) {
        wz_log(log, WZ_LOG_ERROR, "event without a region not chained", "event",
               ev->id ? ev->id : "", NULL);
        return 0;
    }
    s_queued_t *q = s_queued(txn);
    char key[KEY_MAX];
    if (!q || wz_store_key(store, key, sizeof key, ev->region, "audit") != 0)
        return -1;
    /* The head: this transaction's last XADD, or the stream's (watched). */
    if (strcmp(q->key, key) != 0) {
        if (wz_txn_watch(txn, key) != 0 || s_head(store, key, &q->seq, q->hash, log) != 0)
            return -1;
        wz_strlcpy(q->key, key, sizeof q->key);
    }
    size_t len = 0;
    uint8_t *bytes = wz_codec_pack(&ev->base, &len);
    if (!bytes) return -1;
    const char *subject = shred ? wz_personal_subject(ev) : NULL;
    const char *erase = shred ? wz_personal_erases(ev) : NULL;
    if (subject && wz_id_valid(subject, WZ_ID_MAX) &&
        s_seal(store, txn, q, shred, ev->region, subject, &bytes, &len, log) != 0) {
        free(bytes);
        return -1;
    }
    uint64_t seq = q->seq + 1;
    uint8_t hash[WZ_AUDIT_HASH_LEN];
    wz_audit_hash(q->hash, seq, bytes, len, hash);
    int rc = wz_txn_cmd(txn, "XADD %s %llu-0 e %b src %s prev %b hash %b", key,
                        (unsigned long long)seq, bytes, len, ev->id ? ev->id : "", q->hash,
                        (size_t)WZ_AUDIT_HASH_LEN, hash, (size_t)WZ_AUDIT_HASH_LEN);
    free(bytes);
    if (rc != 0) {
        q->key[0] = '\0'; /* the head is the stream's again */
        return -1;
    }
    q->seq = seq;
    memcpy(q->hash, hash, WZ_AUDIT_HASH_LEN);
    /* Consent withdrawn, or the candidate withdrawn: its key goes, and with
     * it every sealed entry about it (this one included). */
    char kkey[KEY_MAX];
    if (erase && wz_id_valid(erase, WZ_ID_MAX) &&
        wz_store_key(store, kkey, sizeof kkey, ev->region, "audit:key:%s", erase) == 0) {
        s_queued_key_t *gone = s_queued_key(q, erase);
        if (!gone || wz_txn_cmd(txn, "DEL %s", kkey) != 0)
            return -1;
        free(gone->wrapped);
        gone->wrapped = NULL;
    }
    return 0;
}

int wz_audit_append(wz_store_t *store, wz_txn_t *txn, const WzEvent *ev, wz_log_t *log)
{
    return s_append(store, txn, ev, log, NULL);
}

/* Reads the applied counts of the audit consumer's cursors for region. */
static int s_applied(wz_store_t *store, const char *region, uint64_t *applied)
{
    *applied = 0;
    for (int i = 0; i < N_PRODUCERS; i++) {
        char ckey[KEY_MAX];
        uint64_t v = 0;
        if (wz_store_key(store, ckey, sizeof ckey, region, "cursor:audit:%s", s_producers[i]) !=
                0 ||
            wz_store_get_u64(store, ckey, &v) < 0)
            return -1;
        *applied += v;
    }
    return 0;
}

/* Feeds the stored entries of key from after_seq on to v. 0 when read to
 * the end (good or bad: see v), -1 when Redis failed. */
static int s_walk(wz_store_t *store, const char *key, uint64_t after_seq, wz_chain_verifier_t *v)
{
    char start[48];
    snprintf(start, sizeof start, "%" PRIu64 "-1", after_seq);
    if (after_seq == 0)
        snprintf(start, sizeof start, "-");
    for (;;) {
        redisReply *r = wz_store_cmd(store, "XRANGE %s %s + COUNT %d", key, start, VERIFY_BATCH);
        if (!r)
            return -1;
        size_t n = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
        int bad = 0;
        for (size_t i = 0; i < n && !bad; i++) {
            const redisReply *e = r->element[i];
            uint64_t ms = 0, sub = 0;
            if (!s_is_entry(e) || s_parse_id(e->element[0]->str, &ms, &sub) != 0 || sub != 0) {
                /* A foreign id: report it where the next entry was due. */
                bad = wz_chain_verifier_entry(v, 0, NULL, 0, NULL, 0, NULL, 0);
                break;
            }
            const redisReply *ev = s_field(e->element[1], "e");
            const redisReply *p = s_field(e->element[1], "prev");
            const redisReply *h = s_field(e->element[1], "hash");
            bad = wz_chain_verifier_entry(v, ms, p ? p->str : NULL, p ? p->len : 0,
                                          h ? h->str : NULL, h ? h->len : 0, ev ? ev->str : NULL,
                                          ev ? ev->len : 0);
            /* XRANGE's start is inclusive: continue after this id. */
            if (!bad)
                snprintf(start, sizeof start, "%" PRIu64 "-1", ms);
        }
        freeReplyObject(r);
        if (bad || n < VERIFY_BATCH)
            return 0;
    }
}

int wz_audit_verify_signed(wz_store_t *store, const char *region, const char *checkpoint_dir,
                           const uint8_t *pk, uint64_t *checked, uint64_t *first_bad, char *why,
                           size_t whylen)
{
    *checked = 0;
    *first_bad = 0;
    if (whylen)
        why[0] = '\0';
    char key[KEY_MAX];
    if (wz_store_key(store, key, sizeof key, region, "audit") != 0) {
        snprintf(why, whylen, "region name too long");
        return -1;
    }
    wz_chain_verifier_t *v = wz_chain_verifier_new(region, pk);
    if (!v) {
        snprintf(why, whylen, "out of memory, or libsodium cannot start");
        return -1;
    }
    int rc = -1;
    wz_checkpoint_t *cps = NULL;
    size_t n_cps = 0;
    if (pk) {
        if (wz_checkpoint_load(checkpoint_dir, region, &cps, &n_cps, why, whylen) != 0)
            goto out;
        for (size_t i = 0; i < n_cps; i++)
            wz_chain_verifier_checkpoint(v, &cps[i]);
    }
    if (s_walk(store, key, 0, v) != 0) {
        snprintf(why, whylen, "%s", wz_store_errstr(store));
        goto out;
    }
    /* The chain alone cannot show that its newest entries were cut off; the
     * consumer's cursors, written with each entry, know how many there were,
     * and a signed checkpoint knows it even when the cursors were rewritten. */
    uint64_t applied = 0;
    if (s_applied(store, region, &applied) != 0) {
        snprintf(why, whylen, "%s", wz_store_errstr(store));
        goto out;
    }
    rc = wz_chain_verifier_finish(v, applied);
    *checked = wz_chain_verifier_checked(v);
    *first_bad = wz_chain_verifier_first_bad(v);
    snprintf(why, whylen, "%s", wz_chain_verifier_why(v));
out:
    free(cps);
    wz_chain_verifier_destroy(&v);
    return rc;
}

int wz_audit_verify(wz_store_t *store, const char *region, uint64_t *checked, uint64_t *first_bad,
                    char *why, size_t whylen)
{
    return wz_audit_verify_signed(store, region, NULL, NULL, checked, first_bad, why, whylen);
}

/* --- the consumer --------------------------------------------------------- */

static int s_apply(void *arg, wz_txn_t *txn, const char *producer, const WzEvent *ev)
{
    (void)producer;
    wz_audit_t *self = arg;
    return s_append(self->store, txn, ev, self->log, self->shred);
}

/* --- checkpoints ---------------------------------------------------------- */

static int s_region_index(const wz_audit_t *self, const char *region)
{
    for (size_t i = 0; i < self->policy->n_regions; i++)
        if (strcmp(self->regions[i], region) == 0) return (int)i;
    return -1;
}

/* Signs the region's head when it moved since the last checkpoint, after
 * checking that the entries since then extend that checkpoint: a signature
 * over a chain someone altered in Redis would bless the alteration. 0, or
 * -1 when Redis failed, the chain is damaged or the file cannot be written
 * (logged; the next attempt comes with the next entry or timer). */
static int s_checkpoint(wz_audit_t *self, size_t r)
{
    s_region_cp_t *rc = &self->cps[r];
    const char *region = self->regions[r];
    char key[KEY_MAX];
    if (wz_store_key(self->store, key, sizeof key, region, "audit") != 0) return -1;
    uint64_t head_seq = 0;
    uint8_t head[WZ_AUDIT_HASH_LEN];
    if (s_head(self->store, key, &head_seq, head, self->log) != 0) return -1;
    if (head_seq == rc->last.size) {
        rc->pending = 0;
        return 0;
    }
    char size[24];
    snprintf(size, sizeof size, "%" PRIu64, rc->last.size);
    if (head_seq < rc->last.size) {
        wz_log(self->log, WZ_LOG_ERROR,
               "audit chain is shorter than its last signed checkpoint: entries were removed",
               "region", region, "checkpoint_size", size, NULL);
        return -1;
    }
    /* Signing is due again after checkpoint_entries more entries or at the
     * timer, whether this works or not: a failure is not retried per event. */
    rc->pending = 0;
    if (rc->verified_size < rc->last.size || rc->verified_size > head_seq) {
        rc->verified_size = rc->last.size;
        memcpy(rc->verified_head, rc->last.head, WZ_AUDIT_HASH_LEN);
    }
    wz_chain_verifier_t *v = wz_chain_verifier_new(region, NULL);
    if (!v) return -1;
    wz_chain_verifier_resume(v, rc->verified_size, rc->verified_head);
    int rc_walk = s_walk(self->store, key, rc->verified_size, v);
    int bad = rc_walk == 0 ? wz_chain_verifier_finish(v, head_seq) : 0;
    uint64_t good = wz_chain_verifier_checked(v);
    if (rc_walk != 0 || bad) {
        wz_log(self->log, WZ_LOG_ERROR,
               rc_walk != 0 ? "cannot read the audit chain to sign it"
                            : "audit chain damaged since the last signed checkpoint; not signing",
               "region", region, "why", rc_walk != 0 ? wz_store_errstr(self->store)
                                                     : wz_chain_verifier_why(v),
               NULL);
        wz_chain_verifier_destroy(&v);
        return -1;
    }
    wz_chain_verifier_destroy(&v);
    wz_checkpoint_t cp;
    memset(&cp, 0, sizeof cp);
    wz_strlcpy(cp.region, region, sizeof cp.region);
    cp.size = good;
    /* head is of head_seq; good == head_seq unless entries arrived between
     * the two reads, and then the walk's last hash is the one to sign. */
    if (good != head_seq) {
        wz_log(self->log, WZ_LOG_INFO, "audit head moved while signing; next time", "region",
               region, NULL);
        return 0;
    }
    memcpy(cp.head, head, WZ_AUDIT_HASH_LEN);
    rc->verified_size = good;
    memcpy(rc->verified_head, head, WZ_AUDIT_HASH_LEN);
    cp.unix_ms = wz_now_ms();
    wz_checkpoint_sign(&cp, self->sk);
    char err[512];
    if (wz_checkpoint_append(self->checkpoint_dir, &cp, err, sizeof err) != 0) {
        wz_log(self->log, WZ_LOG_ERROR, "cannot write the audit checkpoint", "error", err, NULL);
        return -1;
    }
    rc->last = cp;
    snprintf(size, sizeof size, "%" PRIu64, cp.size);
    wz_log(self->log, WZ_LOG_DEBUG, "audit checkpoint signed", "region", region, "size", size,
           NULL);
    return 0;
}

static void s_done(void *arg, const char *producer, const WzEvent *ev)
{
    (void)producer;
    wz_audit_t *self = arg;
    if (!self->cps || !ev->region) return;
    int r = s_region_index(self, ev->region);
    if (r < 0) return;
    if (++self->cps[r].pending >= (uint64_t)self->checkpoint_entries) s_checkpoint(self, (size_t)r);
}

static int s_on_checkpoint_timer(wz_loop_t *loop, void *arg)
{
    (void)loop;
    wz_audit_t *self = arg;
    for (size_t r = 0; r < self->policy->n_regions; r++)
        if (self->cps[r].pending > 0) s_checkpoint(self, r);
    return 0;
}

/* Loads the signing key (made on first start) and each region's newest
 * checkpoint, refusing checkpoints that do not verify. 0 or -1 (logged). */
static int s_checkpoints_init(wz_audit_t *self, const wz_runtime_t *rt)
{
    char err[1024];
    wz_strlcpy(self->checkpoint_dir, rt->settings.audit.checkpoint_dir,
               sizeof self->checkpoint_dir);
    self->checkpoint_entries = rt->settings.audit.checkpoint_entries;
    self->checkpoint_ms = rt->settings.audit.checkpoint_ms;
    /* Made here (and its parents), and refused at start when it cannot be
     * written to, not found out per checkpoint. */
    int ready = wz_mkdirs(self->checkpoint_dir, "audit checkpoint directory", err, sizeof err);
    if (ready == 0 && access(self->checkpoint_dir, W_OK | X_OK) != 0) {
        snprintf(err, sizeof err, "audit checkpoint directory %s is not writable: %s",
                 self->checkpoint_dir, strerror(errno));
        ready = -1;
    }
    if (ready != 0) {
        wz_log(self->log, WZ_LOG_ERROR, "cannot keep audit checkpoints", "error", err, NULL);
        return -1;
    }
    if (wz_sign_keys_load(rt->settings.keys_dir, true, self->sk, self->pk, err, sizeof err) != 0) {
        wz_log(self->log, WZ_LOG_ERROR, "cannot load the audit signing key", "error", err, NULL);
        return -1;
    }
    size_t n = self->policy->n_regions;
    self->cps = calloc(n ? n : 1, sizeof *self->cps);
    if (!self->cps) return -1;
    for (size_t r = 0; r < n; r++) {
        wz_checkpoint_t *all = NULL;
        size_t count = 0;
        if (wz_checkpoint_load(self->checkpoint_dir, self->regions[r], &all, &count, err,
                               sizeof err) != 0) {
            wz_log(self->log, WZ_LOG_ERROR, "cannot read audit checkpoints", "error", err, NULL);
            return -1;
        }
        wz_strlcpy(self->cps[r].last.region, self->regions[r], sizeof self->cps[r].last.region);
        for (size_t i = 0; i < count; i++) {
            if (!wz_checkpoint_valid(&all[i], self->pk) ||
                strcmp(all[i].region, self->regions[r]) != 0) {
                wz_log(self->log, WZ_LOG_ERROR,
                       "an audit checkpoint does not verify with our key; refusing to go on",
                       "region", self->regions[r], "dir", self->checkpoint_dir, NULL);
                free(all);
                return -1;
            }
            if (all[i].size >= self->cps[r].last.size) self->cps[r].last = all[i];
        }
        free(all);
        self->cps[r].pending = 1; /* sign what is there at the first timer */
    }
    return 0;
}

/* Audit has no outbox: the note of an event it set aside goes straight
 * into the chain, in the same transaction. */
static int s_dead_letter(void *arg, wz_txn_t *txn, const WzEvent *note)
{
    wz_audit_t *self = arg;
    return wz_audit_append(self->store, txn, note, self->log);
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
    if (rt->settings.audit.checkpoint_dir[0] && s_checkpoints_init(self, rt) != 0) goto fail;
    if (rt->settings.keys_dir[0]) {
        char err[512];
        self->shred = wz_shred_new(rt->settings.keys_dir, true, err, sizeof err);
        if (!self->shred) {
            wz_log(self->log, WZ_LOG_ERROR, "cannot load the audit data key", "error", err, NULL);
            goto fail;
        }
    }
    self->sub = wz_sub_new(rt->ctx, rt->store, NULL, "audit", s_apply, s_done, self, rt->log);
    if (!self->sub || wz_runtime_follow(rt, self->sub) != 0) goto fail;
    wz_sub_set_dead_letter(self->sub, rt->settings.dead_letter_attempts, s_dead_letter, self);
    /* Chaining is append-only and audit the chain's only writer: the events
     * waiting in one drain go into one transaction (docs/performance.md). */
    wz_sub_set_batch(self->sub, 64);
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
    free(self->cps);
    wz_shred_destroy(&self->shred);
    sodium_memzero(self->sk, sizeof self->sk);
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
    if (self->cps &&
        wz_loop_add_timer(loop, self->checkpoint_ms, s_on_checkpoint_timer, self) < 0)
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

/* Unpacks an entry's event, opening it with its candidate's key when it is
 * sealed; without the key (erased) the entry says so and has no event. */
static void s_page_event(wz_audit_t *self, const char *region, WzAuditEntry *out,
                         const uint8_t *e, size_t len)
{
    char subject[WZ_SHRED_ID_MAX];
    if (!wz_shred_sealed(e, len, subject)) {
        out->event = wz_event_unpack(e, len);
        return;
    }
    char kkey[KEY_MAX];
    uint8_t *wrapped = NULL, *plain = NULL;
    size_t wlen = 0, plen = 0;
    int found = self->shred && wz_id_valid(subject, WZ_ID_MAX) &&
                        wz_store_key(self->store, kkey, sizeof kkey, region, "audit:key:%s",
                                     subject) == 0
                    ? wz_store_get_bytes(self->store, kkey, &wrapped, &wlen)
                    : 0;
    if (found == 1 && wz_shred_open(self->shred, wrapped, wlen, e, len, &plain, &plen) == 0)
        out->event = wz_event_unpack(plain, plen);
    else if (found == 0)
        out->erased = true;
    free(wrapped);
    free(plain);
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
        if (ev) s_page_event(self, region, out, (const uint8_t *)ev->str, ev->len);
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
        /* The chain holds whole events; the reader sees its view of them
         * (the hashes are over the whole events: `wzctl audit verify` checks
         * the chain, not a tail). */
        for (size_t i = 0; i < page.n; i++)
            wz_minimise_event(page.entries[i].event, party);
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
