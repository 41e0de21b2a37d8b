/* wz_matching.c - the lifecycle of vacancies, candidates and proposals as
 * matching sees it (see wz_matching.h and docs/architecture.md).
 *
 * Writes inside a transaction are only queued, so a read later in the same
 * transaction would still see the old value. Every handler therefore works
 * on a small write-back cache (s_work_t): records are read once, changed in
 * memory, and queued as SETs at the end; a re-match after a decline sees the
 * declined candidate as active again, and the one just proposed as proposed. */
#include "wz_matching.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wz_assign.h"
#include "wz_calendar.h"
#include "wz_cindex.h"
#include "wz_codec.h"
#include "wz_match.h"
#include "wz_util.h"

#define KEY_MAX 256
#define COMMIT_ATTEMPTS 5
#define EXPIRE_BATCH 100
#define MGET_BATCH 256

#define VSTATE(x) WOONZORG__V1__VACANCY_STATE__VACANCY_STATE_##x
#define CSTATE(x) WOONZORG__V1__CANDIDATE_STATE__CANDIDATE_STATE_##x
#define PSTATE(x) WOONZORG__V1__PROPOSAL_STATE__PROPOSAL_STATE_##x
#define PAYLOAD(x) WOONZORG__V1__EVENT__PAYLOAD_##x

#define REASON_VACANCY_WITHDRAWN "vacancy withdrawn by the corporation"
#define REASON_CANDIDATE_WITHDRAWN "candidate withdrawn"
#define REASON_CONSENT_WITHDRAWN "consent withdrawn"
#define PURGE_RETENTION "retention"
#define PURGE_CONSENT "consent"

/* One candidate as the view holds it: its record exactly as Redis holds it
 * (packed; unpacked only when a decision walks to it) and its entry in the
 * region's candidate index. One allocation. */
typedef struct {
    wz_cindex_entry_t entry; /* entry.id points into data */
    uint32_t len;            /* of the packed record */
    char data[];             /* the id, a NUL, then the packed record */
} s_cand_t;

/* The candidates of one region as committed in Redis (see "The candidate
 * view" below): every m:candidate record the region's index names. */
typedef struct {
    char region[WZ_ID_MAX];
    bool loaded;
    unsigned long generation; /* of the store connection it was read over */
    s_cand_t **cands;         /* owned, dense, in no particular order */
    size_t n, cap;
    uint32_t *slots;          /* hash of id -> index + 1 into cands; 0 empty */
    size_t n_slots;           /* a power of two, at least twice n */
    char **stale;             /* ids a transaction of unknown outcome wrote */
    size_t n_stale;
    wz_cindex_t *index;       /* the active ones of cands, by bucket and rank */
    bool purges_checked;      /* s_schedule_unscheduled ran on this load */
} s_view_t;

struct wz_matching_t {
    s_view_t *views; /* one per region met so far */
    size_t n_views;
    wz_store_t *store;
    wz_pub_t *pub;
    const wz_policy_t *policy;
    wz_log_t *log;
    wz_metrics_t *metrics; /* borrowed, may be NULL */
    const char *const *regions; /* the regions this replica owns (borrowed); NULL: all */
    size_t n_regions;
    int64_t retention_ms; /* housed or withdrawn candidates are purged this long after */
};

typedef enum { REC_VACANCY, REC_CANDIDATE, REC_PROPOSAL } s_kind_t;

/* One record read (or created) in this transaction. */
typedef struct s_rec_t {
    struct s_rec_t *next;
    s_kind_t kind;
    char *id;
    ProtobufCMessage *msg; /* owned; NULL when the record does not exist */
    bool dirty;            /* queued as a SET when the work is flushed */
    bool purged;           /* a candidate erased in this transaction (s_purge) */
} s_rec_t;

/* A candidate proposed for a vacancy in this transaction (not yet in m:tried). */
typedef struct {
    char *vacancy;
    char *candidate;
} s_tried_t;

/* A contingent counter changed in this transaction: queued writes are not
 * visible to reads in the same transaction, so a re-match after a decline
 * adds these to what it reads. */
typedef struct {
    char key[KEY_MAX];
    char field[2 * WZ_ID_MAX + 2];
    long delta;
} s_delta_t;

#define MAX_DELTAS 64

/* A decision snapshot written in this transaction, as queued. */
typedef struct {
    char *id;       /* "<vacancy>/<round>" */
    uint8_t *bytes; /* the packed DecisionSnapshot last queued as its SET */
    size_t len;
} s_wsnap_t;

typedef struct {
    wz_matching_t *self;
    wz_txn_t *txn;
    const wz_region_t *region;
    int64_t now_ms;
    int64_t today; /* day number of now_ms */
    s_rec_t *recs;
    s_tried_t *tried;
    size_t n_tried;
    s_delta_t deltas[MAX_DELTAS];
    size_t n_deltas;
    /* Spread placements made in this transaction ("key vacancy" strings):
     * a batch proposes several dwellings in one transaction. */
    char **placed;
    size_t n_placed;
    /* Snapshots written in this transaction: a purge later in it scrubs
     * them too (their m:snaprefs members are only queued, not readable). */
    s_wsnap_t *snaps;
    size_t n_snaps;
    bool failed; /* Redis or memory failed: nothing may be committed */
} s_work_t;

static const char *const s_vacancy_states[] = {"unspecified", "open",     "matching", "offered",
                                               "accepted",    "let",      "released", "withdrawn"};
static const char *const s_candidate_states[] = {"unspecified", "registered", "active", "proposed",
                                                 "housed",      "withdrawn",  "lapsed"};
static const char *const s_proposal_states[] = {"unspecified", "sent",      "accepted", "declined",
                                                "expired",     "cancelled", "let"};

static const char *s_state_name(const char *const *names, size_t n, int state)
{
    return state >= 0 && (size_t)state < n ? names[state] : "unknown";
}
#define VNAME(s) \
    s_state_name(s_vacancy_states, sizeof s_vacancy_states / sizeof(char *), (int)(s))
#define CNAME(s) \
    s_state_name(s_candidate_states, sizeof s_candidate_states / sizeof(char *), (int)(s))
#define PNAME(s) \
    s_state_name(s_proposal_states, sizeof s_proposal_states / sizeof(char *), (int)(s))

/* --- life cycle of the module -------------------------------------------- */

wz_matching_t *wz_matching_new(wz_store_t *store, wz_pub_t *pub, const wz_policy_t *policy,
                               wz_log_t *log)
{
    wz_matching_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->store = store;
    self->pub = pub;
    self->policy = policy;
    self->log = log;
    self->retention_ms = (int64_t)WZ_MATCHING_RETENTION_DAYS * WZ_MS_PER_DAY;
    return self;
}

void wz_matching_set_retention(wz_matching_t *self, int days)
{
    self->retention_ms = (int64_t)days * WZ_MS_PER_DAY;
}

void wz_matching_set_metrics(wz_matching_t *self, wz_metrics_t *metrics)
{
    self->metrics = metrics;
}

void wz_matching_set_regions(wz_matching_t *self, const char *const *regions, size_t n)
{
    self->regions = regions;
    self->n_regions = n;
}

static bool s_owns(const wz_matching_t *self, const char *region)
{
    if (!self->regions)
        return true;
    for (size_t i = 0; i < self->n_regions; i++)
        if (strcmp(self->regions[i], region) == 0)
            return true;
    return false;
}

void wz_matching_set_policy(wz_matching_t *self, const wz_policy_t *policy)
{
    self->policy = policy;
}

static void s_view_clear(s_view_t *v);

void wz_matching_destroy(wz_matching_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    for (size_t i = 0; i < (*self_p)->n_views; i++)
        s_view_clear(&(*self_p)->views[i]);
    free((*self_p)->views);
    free(*self_p);
    *self_p = NULL;
}

/* --- the write-back cache ------------------------------------------------ */

static const ProtobufCMessageDescriptor *s_desc(s_kind_t kind)
{
    switch (kind) {
    case REC_VACANCY: return &woonzorg__v1__vacancy__descriptor;
    case REC_CANDIDATE: return &woonzorg__v1__candidate__descriptor;
    default: return &woonzorg__v1__proposal__descriptor;
    }
}

static const char *s_prefix(s_kind_t kind)
{
    switch (kind) {
    case REC_VACANCY: return "m:vacancy";
    case REC_CANDIDATE: return "m:candidate";
    default: return "proposal";
    }
}

static void s_work_init(s_work_t *w, wz_matching_t *self, wz_txn_t *txn,
                        const wz_region_t *region, int64_t now_ms)
{
    memset(w, 0, sizeof *w);
    w->self = self;
    w->txn = txn;
    w->region = region;
    w->now_ms = now_ms;
    w->today = wz_day_of_ms(now_ms);
}

static void s_work_fini(s_work_t *w)
{
    while (w->recs) {
        s_rec_t *r = w->recs;
        w->recs = r->next;
        WZ_FREE_UNPACKED(r->msg);
        free(r->id);
        free(r);
    }
    for (size_t i = 0; i < w->n_tried; i++) {
        free(w->tried[i].vacancy);
        free(w->tried[i].candidate);
    }
    free(w->tried);
    for (size_t i = 0; i < w->n_placed; i++)
        free(w->placed[i]);
    free(w->placed);
    for (size_t i = 0; i < w->n_snaps; i++) {
        free(w->snaps[i].id);
        free(w->snaps[i].bytes);
    }
    free(w->snaps);
}

/* Builds "<prefix>{<region>}:<fmt ...>"; marks the work failed when too long. */
static int s_key(s_work_t *w, char key[KEY_MAX], const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int s_key(s_work_t *w, char key[KEY_MAX], const char *fmt, ...)
{
    char suffix[KEY_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(suffix, sizeof suffix, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof suffix ||
        wz_store_key(w->self->store, key, KEY_MAX, w->region->id, "%s", suffix) != 0) {
        wz_log(w->self->log, WZ_LOG_ERROR, "key too long", "suffix", suffix, NULL);
        w->failed = true;
        return -1;
    }
    return 0;
}

/* Queues one write; marks the work failed when it cannot. */
#define S_CMD(w, ...)                                 \
    do {                                              \
        if (wz_txn_cmd((w)->txn, __VA_ARGS__) != 0)   \
            (w)->failed = true;                       \
    } while (0)

static s_rec_t *s_find(s_work_t *w, s_kind_t kind, const char *id)
{
    for (s_rec_t *r = w->recs; r; r = r->next)
        if (r->kind == kind && strcmp(r->id, id) == 0)
            return r;
    return NULL;
}

/* Adds a record holding msg (taken, may be NULL). NULL on OOM (msg freed). */
static s_rec_t *s_add(s_work_t *w, s_kind_t kind, const char *id, ProtobufCMessage *msg)
{
    s_rec_t *r = calloc(1, sizeof *r);
    char *copy = strdup(id);
    if (!r || !copy) {
        free(r);
        free(copy);
        WZ_FREE_UNPACKED(msg);
        w->failed = true;
        return NULL;
    }
    r->kind = kind;
    r->id = copy;
    r->msg = msg;
    r->next = w->recs;
    w->recs = r;
    return r;
}

/* The record of kind and id, read from Redis on first use. NULL on failure
 * (the work is failed); a record with msg NULL when it does not exist. */
static s_rec_t *s_get(s_work_t *w, s_kind_t kind, const char *id)
{
    s_rec_t *r = s_find(w, kind, id);
    if (r || w->failed)
        return w->failed ? NULL : r;
    char key[KEY_MAX];
    if (s_key(w, key, "%s:%s", s_prefix(kind), id) != 0)
        return NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    int found = wz_store_get_bytes(w->self->store, key, &data, &len);
    if (found < 0) {
        w->failed = true;
        return NULL;
    }
    ProtobufCMessage *msg = NULL;
    if (found) {
        msg = wz_codec_unpack(s_desc(kind), data, len);
        free(data);
        /* Only matching writes these; an unreadable one cannot be repaired
         * by retrying, so it is reported and treated as missing. */
        if (!msg)
            wz_log(w->self->log, WZ_LOG_ERROR, "unreadable record treated as missing", "key",
                   key, NULL);
    }
    return s_add(w, kind, id, msg);
}

/* Replaces (or creates) the record with msg (taken) and marks it for writing. */
static s_rec_t *s_put(s_work_t *w, s_kind_t kind, const char *id, ProtobufCMessage *msg)
{
    s_rec_t *r = s_find(w, kind, id);
    if (!r)
        r = s_add(w, kind, id, msg);
    else {
        WZ_FREE_UNPACKED(r->msg);
        r->msg = msg;
    }
    if (r)
        r->dirty = true;
    return r;
}

static void s_stage(s_work_t *w);

/* Queues a SET for every changed record; the candidate view follows the
 * commit (s_stage). */
static void s_flush(s_work_t *w)
{
    for (s_rec_t *r = w->recs; r && !w->failed; r = r->next) {
        if (!r->dirty || !r->msg)
            continue;
        char key[KEY_MAX];
        if (s_key(w, key, "%s:%s", s_prefix(r->kind), r->id) != 0)
            return;
        size_t len = 0;
        uint8_t *bytes = wz_codec_pack(r->msg, &len);
        if (!bytes) {
            w->failed = true;
            return;
        }
        S_CMD(w, "SET %s %b", key, bytes, len);
        free(bytes);
    }
    s_stage(w);
}

/* Sets a string field of an unpacked message (allocated by protobuf-c's
 * default allocator, i.e. malloc) to a copy of value. */
static void s_set_str(s_work_t *w, char **field, const char *value)
{
    char *copy = strdup(value ? value : "");
    if (!copy) {
        w->failed = true;
        return;
    }
    if (*field && *field != protobuf_c_empty_string)
        free(*field);
    *field = copy;
}

static void s_emit(s_work_t *w, WzEvent *ev)
{
    ev->actor = (char *)"matching";
    if (!w->failed && wz_txn_emit(w->txn, ev) == 0)
        w->failed = true;
}

#define VAC(r) ((WzVacancy *)(r)->msg)
#define CAND(r) ((WzCandidate *)(r)->msg)
#define PROP(r) ((WzProposal *)(r)->msg)

/* --- the candidate view --------------------------------------------------- */

/* Matching is the only writer of m:candidate, so it keeps each region's
 * candidates in memory: read once (at start, after a reconnect, or when in
 * doubt), then changed only by what its own transactions commit (the staged
 * records of s_flush, applied by the transaction's outcome hook). A decision
 * reads no candidate from Redis; the records this transaction changed
 * overlay the view (see s_collect). */

static uint32_t s_hash(const char *id)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *id; id++)
        h = (h ^ (uint8_t)*id) * 16777619u;
    return h;
}

/* The slot of id: the one holding it, or the empty one it would go to. */
static size_t s_view_slot(const s_view_t *v, const char *id)
{
    size_t mask = v->n_slots - 1;
    for (size_t i = s_hash(id) & mask;; i = (i + 1) & mask)
        if (!v->slots[i] || strcmp(v->cands[v->slots[i] - 1]->entry.id, id) == 0)
            return i;
}

static s_cand_t *s_view_find(const s_view_t *v, const char *id)
{
    if (!v->n_slots)
        return NULL;
    uint32_t at = v->slots[s_view_slot(v, id)];
    return at ? v->cands[at - 1] : NULL;
}

static const uint8_t *s_cand_bytes(const s_cand_t *c)
{
    return (const uint8_t *)c->data + strlen(c->data) + 1;
}

/* The candidate unpacked (the caller frees it); NULL on OOM. */
static WzCandidate *s_cand_open(const s_cand_t *c)
{
    return wz_candidate_unpack(s_cand_bytes(c), c->len);
}

/* How the index opens what a walk reaches (s_cand_t begins with its entry). */
static WzCandidate *s_index_open(void *arg, const wz_cindex_entry_t *e)
{
    (void)arg;
    return s_cand_open((const s_cand_t *)e);
}

/* Makes the view's id table n_slots long and puts every candidate in it
 * again. 0, or -1 on OOM (the table is then as it was). */
static int s_view_rehash(s_view_t *v, size_t n_slots)
{
    uint32_t *slots = calloc(n_slots, sizeof *slots);
    if (!slots)
        return -1;
    free(v->slots);
    v->slots = slots;
    v->n_slots = n_slots;
    for (size_t i = 0; i < v->n; i++)
        v->slots[s_view_slot(v, v->cands[i]->entry.id)] = (uint32_t)(i + 1);
    return 0;
}

/* Puts candidate c, whose record is bytes[0..len-1] (both borrowed), in the
 * view and its index, replacing the candidate of the same id. 0, or -1 on
 * OOM (the view may then hold it unindexed: the caller must have the view
 * read again). */
static int s_view_put(s_view_t *v, const WzCandidate *c, const uint8_t *bytes, size_t len)
{
    if (!v->index && !(v->index = wz_cindex_new(s_index_open, NULL)))
        return -1;
    size_t id_len = strlen(c->id);
    s_cand_t *entry = malloc(sizeof *entry + id_len + 1 + len);
    if (!entry || len > UINT32_MAX) {
        free(entry);
        return -1;
    }
    memcpy(entry->data, c->id, id_len + 1);
    memcpy(entry->data + id_len + 1, bytes, len);
    entry->len = (uint32_t)len;
    entry->entry.id = entry->data;
    entry->entry.bucket = 0;
    if (2 * (v->n + 1) > v->n_slots && s_view_rehash(v, v->n_slots ? v->n_slots * 2 : 1024) != 0)
        goto oom;
    size_t slot = s_view_slot(v, c->id);
    if (v->slots[slot]) {
        s_cand_t **at = &v->cands[v->slots[slot] - 1];
        wz_cindex_remove(v->index, &(*at)->entry);
        free(*at);
        *at = entry;
        return wz_cindex_add(v->index, &entry->entry, c) < 0 ? -1 : 0;
    }
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 256;
        s_cand_t **cands = realloc(v->cands, cap * sizeof *cands);
        if (!cands)
            goto oom;
        v->cands = cands;
        v->cap = cap;
    }
    v->cands[v->n] = entry;
    v->slots[slot] = (uint32_t)(++v->n);
    return wz_cindex_add(v->index, &entry->entry, c) < 0 ? -1 : 0;
oom:
    free(entry);
    return -1;
}

/* Removes id from the view (its candidate was purged); nothing when absent.
 * Linear probing: the entries after the freed slot that can no longer be
 * reached from their home slot move back into it. */
static void s_view_drop(s_view_t *v, const char *id)
{
    if (!v->n_slots)
        return;
    size_t mask = v->n_slots - 1;
    size_t hole = s_view_slot(v, id);
    uint32_t at = v->slots[hole];
    if (!at)
        return;
    v->slots[hole] = 0;
    for (size_t i = (hole + 1) & mask; v->slots[i]; i = (i + 1) & mask) {
        size_t home = s_hash(v->cands[v->slots[i] - 1]->entry.id) & mask;
        bool reachable = hole <= i ? home > hole && home <= i : home > hole || home <= i;
        if (!reachable) {
            v->slots[hole] = v->slots[i];
            v->slots[i] = 0;
            hole = i;
        }
    }
    /* Out of the index too; the last candidate fills the gap in the dense
     * array. */
    if (v->index)
        wz_cindex_remove(v->index, &v->cands[at - 1]->entry);
    free(v->cands[at - 1]);
    if (at != v->n) {
        v->cands[at - 1] = v->cands[v->n - 1];
        v->slots[s_view_slot(v, v->cands[at - 1]->entry.id)] = at;
    }
    v->cands[--v->n] = NULL;
}

static void s_view_clear(s_view_t *v)
{
    for (size_t i = 0; i < v->n; i++)
        free(v->cands[i]);
    free(v->cands);
    free(v->slots);
    for (size_t i = 0; i < v->n_stale; i++)
        free(v->stale[i]);
    free(v->stale);
    wz_cindex_destroy(&v->index);
    char region[WZ_ID_MAX];
    memcpy(region, v->region, sizeof region);
    memset(v, 0, sizeof *v);
    memcpy(v->region, region, sizeof region);
}

/* The view of region, created empty (not loaded) on first use; NULL on OOM. */
static s_view_t *s_view_of(wz_matching_t *self, const char *region)
{
    for (size_t i = 0; i < self->n_views; i++)
        if (strcmp(self->views[i].region, region) == 0)
            return &self->views[i];
    s_view_t *views = realloc(self->views, (self->n_views + 1) * sizeof *views);
    if (!views)
        return NULL;
    self->views = views;
    s_view_t *v = &views[self->n_views++];
    memset(v, 0, sizeof *v);
    wz_strlcpy(v->region, region, sizeof v->region);
    return v;
}

/* Reads the records of ids[0..n-1] (MGET in batches) into the view; ids
 * without a record are left out. 0, or -1 (Redis failed or OOM). */
static int s_view_read(wz_matching_t *self, s_view_t *v, const char *const *ids, size_t n)
{
    const char *argv[MGET_BATCH + 1];
    size_t lens[MGET_BATCH + 1];
    char(*keys)[KEY_MAX] = malloc(MGET_BATCH * sizeof *keys);
    if (!keys)
        return -1;
    int rc = 0;
    for (size_t done = 0; done < n && rc == 0; done += MGET_BATCH) {
        size_t batch = n - done < MGET_BATCH ? n - done : MGET_BATCH;
        argv[0] = "MGET";
        lens[0] = 4;
        for (size_t i = 0; i < batch && rc == 0; i++) {
            if (wz_store_key(self->store, keys[i], KEY_MAX, v->region, "m:candidate:%s",
                             ids[done + i]) != 0)
                rc = -1;
            argv[i + 1] = keys[i];
            lens[i + 1] = strlen(keys[i]);
        }
        redisReply *r = rc ? NULL : wz_store_argv(self->store, (int)batch + 1, argv, lens);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != batch) {
            if (r)
                freeReplyObject(r);
            rc = -1;
            break;
        }
        for (size_t i = 0; i < batch && rc == 0; i++) {
            redisReply *e = r->element[i];
            if (e->type != REDIS_REPLY_STRING) {
                /* Re-read after a commit of unknown outcome: purged. */
                if (v->loaded)
                    s_view_drop(v, ids[done + i]);
                else
                    wz_log(self->log, WZ_LOG_WARN, "candidate in the index has no record",
                           "candidate", ids[done + i], "region", v->region, NULL);
                continue;
            }
            WzCandidate *c = wz_candidate_unpack(e->str, e->len);
            if (!c) {
                wz_log(self->log, WZ_LOG_ERROR, "unreadable candidate skipped", "candidate",
                       ids[done + i], "region", v->region, NULL);
                continue;
            }
            /* Kept packed, as read: unpacked again only when walked to. */
            rc = s_view_put(v, c, (const uint8_t *)e->str, e->len);
            WZ_FREE_UNPACKED(c);
        }
        freeReplyObject(r);
    }
    free(keys);
    return rc;
}

/* Sizes the view's arrays for n candidates at once: grown by doubling, the
 * arrays left behind would stay resident between the candidates. 0 or -1. */
static int s_view_reserve(s_view_t *v, size_t n)
{
    size_t n_slots = 1024;
    while (n_slots < 2 * n)
        n_slots *= 2;
    if (n > v->cap) {
        s_cand_t **cands = realloc(v->cands, n * sizeof *cands);
        if (!cands)
            return -1;
        v->cands = cands;
        v->cap = n;
    }
    return n_slots > v->n_slots ? s_view_rehash(v, n_slots) : 0;
}

#define SCAN_COUNT 1000

/* (Re)reads the whole region: its index (SSCAN, a thousand ids at a time,
 * so no reply holding every id sits between the candidates read), then the
 * records. 0 or -1. */
static int s_view_load(wz_matching_t *self, s_view_t *v)
{
    s_view_clear(v);
    char index[KEY_MAX];
    if (wz_store_key(self->store, index, sizeof index, v->region, "m:candidates") != 0)
        return -1;
    if (wz_store_connect(self->store) != 0)
        return -1;
    unsigned long generation = wz_store_generation(self->store);
    redisReply *card = wz_store_cmd(self->store, "SCARD %s", index);
    int rc = card && card->type == REDIS_REPLY_INTEGER ? 0 : -1;
    if (rc == 0 && card->integer > 0)
        rc = s_view_reserve(v, (size_t)card->integer);
    if (card)
        freeReplyObject(card);
    /* One sort per bucket at the end instead of an insertion each. */
    v->index = rc == 0 ? wz_cindex_new(s_index_open, NULL) : NULL;
    if (!v->index)
        rc = -1;
    if (rc == 0)
        wz_cindex_bulk(v->index, true);
    char cursor[32] = "0";
    do {
        redisReply *r = rc == 0 ? wz_store_cmd(self->store, "SSCAN %s %s COUNT %d", index,
                                               cursor, SCAN_COUNT)
                                : NULL;
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            if (r)
                freeReplyObject(r);
            rc = -1;
            break;
        }
        wz_strlcpy(cursor, r->element[0]->str, sizeof cursor);
        const redisReply *ids = r->element[1];
        const char *names[SCAN_COUNT * 2];
        size_t n = 0;
        /* COUNT is a hint: a reply may hold more, read in pieces. */
        for (size_t i = 0; i < ids->elements && rc == 0; i++) {
            if (ids->element[i]->type == REDIS_REPLY_STRING)
                names[n++] = ids->element[i]->str;
            if (n == sizeof names / sizeof *names || i + 1 == ids->elements) {
                rc = s_view_read(self, v, names, n);
                n = 0;
            }
        }
        freeReplyObject(r);
    } while (rc == 0 && strcmp(cursor, "0") != 0);
    if (v->index && wz_cindex_bulk(v->index, false) != 0)
        rc = -1;
    /* A reconnect while reading may have mixed two servers' data. */
    if (rc != 0 || generation != wz_store_generation(self->store)) {
        s_view_clear(v);
        return -1;
    }
    v->loaded = true;
    v->generation = generation;
    wz_log(self->log, WZ_LOG_INFO, "candidates loaded", "region", v->region, NULL);
    return 0;
}

/* Makes v current: loaded when it is not (or the connection changed), the
 * entries of unknown outcome read again. 0, or -1 when Redis failed. */
static int s_view_current(wz_matching_t *self, s_view_t *v)
{
    if ((!v->loaded || v->generation != wz_store_generation(self->store)) &&
        s_view_load(self, v) != 0)
        return -1;
    if (!v->n_stale)
        return 0;
    /* Re-reading the records suffices: one that is gone was purged (and
     * leaves the view). */
    if (s_view_read(self, v, (const char *const *)v->stale, v->n_stale) != 0 ||
        v->generation != wz_store_generation(self->store)) {
        v->loaded = false;
        return -1;
    }
    for (size_t i = 0; i < v->n_stale; i++)
        free(v->stale[i]);
    v->n_stale = 0;
    return 0;
}

/* The current view of the work's region; NULL when Redis failed (the work
 * is failed). */
static s_view_t *s_view(s_work_t *w)
{
    s_view_t *v = s_view_of(w->self, w->region->id);
    if (!v || s_view_current(w->self, v) != 0) {
        w->failed = true;
        return NULL;
    }
    return v;
}

/* The candidate records one transaction writes, applied to the view when
 * (and only when) it commits. */
typedef struct {
    wz_matching_t *self;
    char region[WZ_ID_MAX];
    WzCandidate **cands; /* owned */
    size_t n;
    char **dropped; /* owned: ids of the candidates it purges */
    size_t n_dropped;
} s_staged_t;

/* Marks id to be read again before the view's next use (the outcome of the
 * transaction that wrote it is unknown). */
static void s_view_stale(s_view_t *v, const char *id)
{
    char **stale = realloc(v->stale, (v->n_stale + 1) * sizeof *stale);
    char *copy = strdup(id);
    if (stale)
        v->stale = stale;
    if (!stale || !copy) {
        free(copy);
        v->loaded = false;
    } else {
        v->stale[v->n_stale++] = copy;
    }
}

static void s_staged_outcome(void *arg, int outcome)
{
    s_staged_t *st = arg;
    s_view_t *v = s_view_of(st->self, st->region);
    for (size_t i = 0; i < st->n; i++) {
        WzCandidate *c = st->cands[i];
        st->cands[i] = NULL;
        if (!v || !v->loaded || outcome == 1) {
            WZ_FREE_UNPACKED(c);
            continue;
        }
        if (outcome == 0) {
            /* The bytes the transaction SET: packing is deterministic. */
            size_t len = 0;
            uint8_t *bytes = wz_codec_pack(&c->base, &len);
            if (!bytes || s_view_put(v, c, bytes, len) != 0)
                v->loaded = false; /* read again on next use */
            free(bytes);
            WZ_FREE_UNPACKED(c);
            continue;
        }
        /* Unknown whether it was written: read it again before next use. */
        s_view_stale(v, c->id);
        WZ_FREE_UNPACKED(c);
    }
    for (size_t i = 0; i < st->n_dropped; i++) {
        if (v && v->loaded && outcome == 0)
            s_view_drop(v, st->dropped[i]);
        else if (v && v->loaded && outcome != 1)
            s_view_stale(v, st->dropped[i]);
        free(st->dropped[i]);
    }
    free(st->dropped);
    free(st->cands);
    free(st);
}

/* Hands the candidate records the transaction writes (taken from the work's
 * cache) to its outcome hook. */
static void s_stage(s_work_t *w)
{
    size_t n = 0, n_dropped = 0;
    for (s_rec_t *r = w->recs; r; r = r->next) {
        n += r->kind == REC_CANDIDATE && r->dirty && r->msg;
        n_dropped += r->kind == REC_CANDIDATE && r->purged;
    }
    if ((!n && !n_dropped) || w->failed)
        return;
    s_staged_t *st = calloc(1, sizeof *st);
    WzCandidate **cands = calloc(n ? n : 1, sizeof *cands);
    char **dropped = calloc(n_dropped ? n_dropped : 1, sizeof *dropped);
    if (!st || !cands || !dropped) {
        free(st);
        free(cands);
        free(dropped);
        w->failed = true;
        return;
    }
    st->self = w->self;
    wz_strlcpy(st->region, w->region->id, sizeof st->region);
    st->cands = cands;
    st->dropped = dropped;
    for (s_rec_t *r = w->recs; r; r = r->next)
        if (r->kind == REC_CANDIDATE && r->purged) {
            if (!(st->dropped[st->n_dropped] = strdup(r->id)))
                w->failed = true;
            else
                st->n_dropped++;
        } else if (r->kind == REC_CANDIDATE && r->dirty && r->msg) {
            st->cands[st->n++] = CAND(r);
            r->msg = NULL;
        }
    wz_txn_on_outcome(w->txn, s_staged_outcome, st);
}

/* --- schemes, contingents, spread, refusals ------------------------------- */

/* The scheme a vacancy goes through: the one it names, else the region's
 * default for its corporation on the decision day; NULL when none. */
static const wz_scheme_t *s_vacancy_scheme(const s_work_t *w, const WzVacancy *v)
{
    const wz_policy_t *policy = w->self->policy;
    if (v->scheme && v->scheme[0]) {
        const wz_scheme_t *s = wz_policy_scheme(policy, v->scheme);
        return s && strcmp(s->region, w->region->id) == 0 ? s : NULL;
    }
    return wz_policy_default_scheme(policy, w->region->id, v->corporation, w->today);
}

static int s_year_of_ms(int64_t ms)
{
    int y, m, d;
    wz_civil_from_day(wz_day_of_ms(ms), &y, &m, &d);
    return y;
}

/* m:contingent:<scheme>:<year>, field <municipality>/<corporation>. */
static int s_contingent_key(s_work_t *w, char key[KEY_MAX], char *field, size_t fieldlen,
                            const char *scheme, int year, const WzVacancy *v)
{
    int n = snprintf(field, fieldlen, "%s/%s", v->municipality, v->corporation);
    if (n < 0 || (size_t)n >= fieldlen) {
        w->failed = true;
        return -1;
    }
    return s_key(w, key, "m:contingent:%s:%d", scheme, year);
}

static long s_counter_read(s_work_t *w, const char *key, const char *field)
{
    redisReply *r = wz_store_cmd(w->self->store, "HGET %s %s", key, field);
    if (!r) {
        w->failed = true;
        return 0;
    }
    long value = r->type == REDIS_REPLY_STRING ? strtol(r->str, NULL, 10) : 0;
    freeReplyObject(r);
    for (size_t i = 0; i < w->n_deltas; i++)
        if (strcmp(w->deltas[i].key, key) == 0 && strcmp(w->deltas[i].field, field) == 0)
            value += w->deltas[i].delta;
    return value;
}

static void s_counter_add(s_work_t *w, const char *key, const char *field, long delta)
{
    S_CMD(w, "HINCRBY %s %s %ld", key, field, delta);
    for (size_t i = 0; i < w->n_deltas; i++)
        if (strcmp(w->deltas[i].key, key) == 0 && strcmp(w->deltas[i].field, field) == 0) {
            w->deltas[i].delta += delta;
            return;
        }
    if (w->n_deltas == MAX_DELTAS) {
        /* More counters than one event can touch: a bug, never half-commit it. */
        wz_log(w->self->log, WZ_LOG_ERROR, "too many counter changes in one event", NULL);
        w->failed = true;
        return;
    }
    s_delta_t *d = &w->deltas[w->n_deltas++];
    wz_strlcpy(d->key, key, sizeof d->key);
    wz_strlcpy(d->field, field, sizeof d->field);
    d->delta = delta;
}

/* The spread sets a vacancy counts in (complex, stairwell, neighbourhood);
 * an empty slot where the vacancy names no such thing. */
static void s_spread_keys(s_work_t *w, const WzVacancy *v, char keys[3][KEY_MAX])
{
    keys[0][0] = keys[1][0] = keys[2][0] = '\0';
    bool complex = v->complex && v->complex[0];
    if (complex)
        s_key(w, keys[0], "m:spread:complex:%s/%s", v->corporation, v->complex);
    if (complex && v->stairwell && v->stairwell[0])
        s_key(w, keys[1], "m:spread:stairwell:%s/%s/%s", v->corporation, v->complex,
              v->stairwell);
    if (v->neighbourhood && v->neighbourhood[0])
        s_key(w, keys[2], "m:spread:neighbourhood:%s", v->neighbourhood);
}

/* Placements in one spread set within the scheme's years, not counting the
 * vacancy itself (a re-match must not count its own ended offer). */
static int s_spread_count(s_work_t *w, const char *key, const char *vacancy, int years)
{
    if (!key[0])
        return 0;
    int64_t since = w->now_ms - (int64_t)years * 365 * WZ_MS_PER_DAY - (int64_t)years / 4 * WZ_MS_PER_DAY;
    redisReply *r = wz_store_cmd(w->self->store, "ZCOUNT %s %lld +inf", key, (long long)since);
    redisReply *own = r ? wz_store_cmd(w->self->store, "ZSCORE %s %s", key, vacancy) : NULL;
    int count = 0;
    if (!r || !own)
        w->failed = true;
    else {
        count = r->type == REDIS_REPLY_INTEGER ? (int)r->integer : 0;
        if (own->type == REDIS_REPLY_STRING && strtoll(own->str, NULL, 10) >= since)
            count--;
    }
    if (r)
        freeReplyObject(r);
    if (own)
        freeReplyObject(own);
    size_t klen = strlen(key);
    for (size_t i = 0; i < w->n_placed; i++)
        if (strncmp(w->placed[i], key, klen) == 0 && w->placed[i][klen] == ' ' &&
            strcmp(w->placed[i] + klen + 1, vacancy) != 0)
            count++;
    return count < 0 ? 0 : count;
}

/* Fills the counters of ctx for vacancy v under scheme s. */
static void s_load_counters(s_work_t *w, const wz_scheme_t *s, const WzVacancy *v,
                            wz_match_ctx_t *ctx)
{
    int year = s_year_of_ms(w->now_ms);
    ctx->contingent_target = wz_scheme_contingent(s, v->municipality, v->corporation, year);
    if (ctx->contingent_target >= 0) {
        char key[KEY_MAX], field[2 * WZ_ID_MAX + 2];
        if (s_contingent_key(w, key, field, sizeof field, s->id, year, v) != 0)
            return;
        ctx->contingent_used = (int)s_counter_read(w, key, field);
        int prev = wz_scheme_contingent(s, v->municipality, v->corporation, year - 1);
        if (s->unused == WZ_UNUSED_RELEASE && prev > 0) {
            /* Places left unused last year stay claimable this year. */
            if (s_contingent_key(w, key, field, sizeof field, s->id, year - 1, v) != 0)
                return;
            long used = s_counter_read(w, key, field);
            if (used < prev)
                ctx->contingent_target += (int)(prev - used);
        }
    }
    char keys[3][KEY_MAX];
    s_spread_keys(w, v, keys);
    ctx->placed_complex = s_spread_count(w, keys[0], v->id, s->spread_years);
    ctx->placed_stairwell = s_spread_count(w, keys[1], v->id, s->spread_years);
    ctx->placed_neighbourhood = s_spread_count(w, keys[2], v->id, s->spread_years);
}

/* A proposal counts as a placement from its offer on (so two open offers
 * cannot overshoot a limit together) until it ends without a lease. */
static void s_place(s_work_t *w, const WzVacancy *v, const char *scheme, int64_t score_ms,
                    bool count_contingent)
{
    char keys[3][KEY_MAX];
    s_spread_keys(w, v, keys);
    for (int i = 0; i < 3; i++) {
        if (!keys[i][0])
            continue;
        S_CMD(w, "ZADD %s %lld %s", keys[i], (long long)score_ms, v->id);
        if (!count_contingent)
            continue; /* a let of an offer already counted */
        char **grown = realloc(w->placed, (w->n_placed + 1) * sizeof *grown);
        size_t len = strlen(keys[i]) + strlen(v->id) + 2;
        char *entry = grown ? malloc(len) : NULL;
        if (grown)
            w->placed = grown;
        if (!entry) {
            w->failed = true;
            continue;
        }
        snprintf(entry, len, "%s %s", keys[i], v->id);
        w->placed[w->n_placed++] = entry;
    }
    const wz_scheme_t *s = wz_policy_scheme(w->self->policy, scheme);
    if (count_contingent && s) {
        char key[KEY_MAX], field[2 * WZ_ID_MAX + 2];
        if (s_contingent_key(w, key, field, sizeof field, s->id, s_year_of_ms(score_ms), v) == 0)
            s_counter_add(w, key, field, 1);
    }
}

static void s_unplace(s_work_t *w, const WzProposal *p)
{
    s_rec_t *vr = s_get(w, REC_VACANCY, p->vacancy_id);
    if (!vr || !vr->msg)
        return;
    const WzVacancy *v = (const WzVacancy *)vr->msg;
    char keys[3][KEY_MAX];
    s_spread_keys(w, v, keys);
    for (int i = 0; i < 3; i++)
        if (keys[i][0])
            S_CMD(w, "ZREM %s %s", keys[i], v->id);
    if (p->scheme && p->scheme[0]) {
        char key[KEY_MAX], field[2 * WZ_ID_MAX + 2];
        if (s_contingent_key(w, key, field, sizeof field, p->scheme, s_year_of_ms(p->created_ms),
                             v) == 0)
            s_counter_add(w, key, field, -1);
    }
}

/* The candidate drops out; the municipality and the care provider are told. */
static void s_lapse(s_work_t *w, s_rec_t *cr, const char *reason)
{
    WzCandidate *c = (WzCandidate *)cr->msg;
    c->state = CSTATE(LAPSED);
    cr->dirty = true;
    char key[KEY_MAX];
    if (s_key(w, key, "m:urgency") == 0)
        S_CMD(w, "ZREM %s %s", key, c->id);
    Woonzorg__V1__UrgencyLapsed body = WOONZORG__V1__URGENCY_LAPSED__INIT;
    body.candidate_id = c->id;
    body.care_provider = c->care_provider;
    body.municipality = c->municipality;
    body.reason = (char *)reason;
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.payload_case = PAYLOAD(URGENCY_LAPSED);
    ev.urgency_lapsed = &body;
    s_emit(w, &ev);
    wz_log(w->self->log, WZ_LOG_INFO, "urgency lapsed", "candidate", c->id, "reason", reason,
           NULL);
}

/* Counts one refusal for the proposal's candidate; at the scheme's maximum
 * its urgency lapses. */
static void s_count_refusal(s_work_t *w, WzProposal *p)
{
    s_rec_t *cr = s_get(w, REC_CANDIDATE, p->candidate_id);
    if (!cr || !cr->msg)
        return;
    WzCandidate *c = (WzCandidate *)cr->msg;
    p->refusal = true;
    c->refusals++;
    cr->dirty = true;
    const wz_scheme_t *s = wz_policy_scheme(w->self->policy, p->scheme);
    if (s && s->max_refusals > 0 && c->refusals >= (uint32_t)s->max_refusals &&
        c->state == CSTATE(ACTIVE)) {
        char why[128];
        snprintf(why, sizeof why, "%u refusals (the scheme allows %d)", c->refusals,
                 s->max_refusals);
        s_lapse(w, cr, why);
    }
}

/* --- proposals ending and starting --------------------------------------- */

/* The candidate of an ended proposal is matchable again. */
static void s_release_candidate(s_work_t *w, const char *candidate_id)
{
    char key[KEY_MAX];
    if (s_key(w, key, "m:open:%s", candidate_id) != 0)
        return;
    S_CMD(w, "DEL %s", key);
    s_rec_t *cr = s_get(w, REC_CANDIDATE, candidate_id);
    if (cr && cr->msg && CAND(cr)->state == CSTATE(PROPOSED)) {
        CAND(cr)->state = CSTATE(ACTIVE);
        cr->dirty = true;
    }
}

/* Ends an open proposal with state (declined, expired, cancelled). */
static void s_close_proposal(s_work_t *w, s_rec_t *pr, int state)
{
    WzProposal *p = PROP(pr);
    p->state = state;
    pr->dirty = true;
    char key[KEY_MAX];
    if (s_key(w, key, "deadlines") == 0)
        S_CMD(w, "ZREM %s %s", key, p->id);
    if (s_key(w, key, "reminders") == 0)
        S_CMD(w, "ZREM %s %s", key, p->id);
    s_unplace(w, p);
    s_release_candidate(w, p->candidate_id);
}

static void s_cancel(s_work_t *w, s_rec_t *pr, const char *reason)
{
    s_close_proposal(w, pr, PSTATE(CANCELLED));
    Woonzorg__V1__ProposalCancelled body = WOONZORG__V1__PROPOSAL_CANCELLED__INIT;
    body.proposal = PROP(pr);
    body.reason = (char *)reason;
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.payload_case = PAYLOAD(PROPOSAL_CANCELLED);
    ev.proposal_cancelled = &body;
    s_emit(w, &ev);
    wz_log(w->self->log, WZ_LOG_INFO, "proposal cancelled", "proposal", PROP(pr)->id, "reason",
           reason, NULL);
}

/* Every candidate of the region, for a batch: borrowed from the work's
 * cache when changed in this transaction, else unpacked from the view
 * (owned: `owned` marks them). */
typedef struct {
    WzCandidate **cands;
    bool *owned;
    size_t n, cap;
} s_pool_t;

/* Adds c (taken when owned, freed on failure). 0 or -1. */
static int s_pool_add(s_pool_t *pool, WzCandidate *c, bool owned)
{
    if (pool->n == pool->cap) {
        size_t cap = pool->cap ? pool->cap * 2 : 64;
        WzCandidate **cands = realloc(pool->cands, cap * sizeof *cands);
        if (cands)
            pool->cands = cands;
        bool *own = cands ? realloc(pool->owned, cap * sizeof *own) : NULL;
        if (!own) {
            if (owned)
                WZ_FREE_UNPACKED(c);
            return -1;
        }
        pool->owned = own;
        pool->cap = cap;
    }
    pool->owned[pool->n] = owned;
    pool->cands[pool->n++] = c;
    return 0;
}

static void s_pool_fini(s_pool_t *pool)
{
    for (size_t i = 0; i < pool->n; i++)
        if (pool->owned[i])
            WZ_FREE_UNPACKED(pool->cands[i]);
    free(pool->cands);
    free(pool->owned);
}

/* What wz_match asks: was this candidate proposed for the vacancy before? */
typedef struct {
    const redisReply *members; /* SMEMBERS m:tried:<vacancy> */
    const s_work_t *w;
    const char *vacancy;
} s_tried_arg_t;

static bool s_was_tried(void *arg, const char *candidate_id)
{
    const s_tried_arg_t *t = arg;
    for (size_t i = 0; i < t->members->elements; i++)
        if (t->members->element[i]->type == REDIS_REPLY_STRING &&
            strcmp(t->members->element[i]->str, candidate_id) == 0)
            return true;
    for (size_t i = 0; i < t->w->n_tried; i++)
        if (strcmp(t->w->tried[i].vacancy, t->vacancy) == 0 &&
            strcmp(t->w->tried[i].candidate, candidate_id) == 0)
            return true;
    return false;
}

static size_t s_local_tried(const s_work_t *w, const char *vacancy)
{
    size_t n = 0;
    for (size_t i = 0; i < w->n_tried; i++)
        n += strcmp(w->tried[i].vacancy, vacancy) == 0;
    return n;
}

static void s_remember_tried(s_work_t *w, const char *vacancy, const char *candidate)
{
    s_tried_t *grown = realloc(w->tried, (w->n_tried + 1) * sizeof *grown);
    if (!grown) {
        w->failed = true;
        return;
    }
    w->tried = grown;
    s_tried_t *t = &w->tried[w->n_tried];
    t->vacancy = strdup(vacancy);
    t->candidate = strdup(candidate);
    w->n_tried++;
    if (!t->vacancy || !t->candidate)
        w->failed = true;
}

/* Puts proposal p on route step idx of scheme s (NULL: the region's answer
 * time only): its deadline, its reminder and both sorted sets. */
static void s_enter_step(s_work_t *w, WzProposal *p, const wz_scheme_t *s, size_t idx)
{
    const wz_policy_t *policy = w->self->policy;
    const wz_step_t *st = s && idx < s->n_route ? &s->route[idx] : NULL;
    int days = st ? st->working_days : w->region->answer_working_days;
    p->deadline_ms = wz_policy_deadline(policy, w->region, days, w->now_ms);
    s_set_str(w, &p->step, st ? st->id : "answer");
    p->reminder_ms = 0;
    int before = s ? s->reminder_working_days : 0;
    if (before > 0 && w->region->answer_seconds > 0) {
        /* Demo and test timing: the reminder halfway. */
        p->reminder_ms = w->now_ms + (p->deadline_ms - w->now_ms) / 2;
    } else if (before > 0) {
        int64_t day = wz_day_of_ms(p->deadline_ms);
        for (int left = before; left > 0;) {
            day--;
            if (!wz_is_non_working(day, policy->holidays, policy->n_holidays))
                left--;
        }
        int64_t at = day * WZ_MS_PER_DAY + 9 * 3600 * 1000LL; /* 09:00 UTC */
        p->reminder_ms = at > w->now_ms ? at : 0;
    }
    char key[KEY_MAX];
    if (s_key(w, key, "deadlines") == 0)
        S_CMD(w, "ZADD %s %lld %s", key, (long long)p->deadline_ms, p->id);
    if (s_key(w, key, "reminders") == 0) {
        if (p->reminder_ms > 0)
            S_CMD(w, "ZADD %s %lld %s", key, (long long)p->reminder_ms, p->id);
        else
            S_CMD(w, "ZREM %s %s", key, p->id);
    }
}

static void s_scrub_queued(s_work_t *w, const char *cid);

/* Stores what decision `id` was taken on (see DecisionSnapshot): the walk,
 * not the region, so it does not grow with the region's size. */
static void s_snapshot(s_work_t *w, const char *id, const WzVacancy *v, const wz_match_ctx_t *ctx,
                       const wz_cindex_walk_t *walk, const redisReply *tried,
                       const WzExplanation *why, const char *chosen)
{
    WzSnapshot snap = WOONZORG__V1__DECISION_SNAPSHOT__INIT;
    WzDate today = WOONZORG__V1__DATE__INIT;
    wz_civil_from_day(w->today, &today.year, &today.month, &today.day);
    size_t n_tried = tried->elements + w->n_tried;
    char **tried_ids = calloc(n_tried ? n_tried : 1, sizeof *tried_ids);
    if (!tried_ids) {
        w->failed = true;
        return;
    }
    for (size_t i = 0; i < tried->elements; i++)
        if (tried->element[i]->type == REDIS_REPLY_STRING)
            tried_ids[snap.n_tried++] = tried->element[i]->str;
    for (size_t i = 0; i < w->n_tried; i++)
        if (strcmp(w->tried[i].vacancy, v->id) == 0)
            tried_ids[snap.n_tried++] = w->tried[i].candidate;
    snap.format = WZ_MATCH_SNAPSHOT_WALK;
    snap.proposal_id = (char *)id;
    snap.policy_version = (char *)w->self->policy->version;
    snap.vacancy = (WzVacancy *)v;
    snap.candidates = walk->walked;
    snap.n_candidates = walk->n_walked;
    snap.buckets = walk->buckets;
    snap.n_buckets = walk->n_buckets;
    snap.inactive = ctx->inactive;
    snap.tried = tried_ids;
    snap.contingent_target = ctx->contingent_target;
    snap.contingent_used = (uint32_t)(ctx->contingent_used > 0 ? ctx->contingent_used : 0);
    snap.placed_complex = (uint32_t)ctx->placed_complex;
    snap.placed_stairwell = (uint32_t)ctx->placed_stairwell;
    snap.placed_neighbourhood = (uint32_t)ctx->placed_neighbourhood;
    snap.decided_on = &today;
    snap.nominee = (char *)(ctx->nominee ? ctx->nominee : "");
    snap.explanation = (WzExplanation *)why;
    snap.chosen = (char *)(chosen ? chosen : "");
    size_t len = 0;
    uint8_t *bytes = wz_codec_pack(&snap.base, &len);
    free(tried_ids);
    char key[KEY_MAX];
    s_wsnap_t *snaps = bytes ? realloc(w->snaps, (w->n_snaps + 1) * sizeof *snaps) : NULL;
    char *sid = snaps ? strdup(id) : NULL;
    if (snaps)
        w->snaps = snaps;
    if (!sid) {
        free(bytes);
        w->failed = true;
        return;
    }
    w->snaps[w->n_snaps++] = (s_wsnap_t){sid, bytes, len};
    if (s_key(w, key, "m:snapshot:%s", id) == 0)
        S_CMD(w, "SET %s %b", key, bytes, len);
    /* Every candidate the snapshot lists with its attributes is indexed,
     * so that its purge finds the snapshot (s_scrub_snapshots). */
    for (size_t i = 0; i < walk->n_walked; i++) {
        const char *cid = walk->walked[i]->id;
        s_rec_t *cr = s_find(w, REC_CANDIDATE, cid);
        if (cr && cr->purged)
            s_scrub_queued(w, cid); /* purged earlier in this transaction */
        else if (s_key(w, key, "m:snaprefs:%s", cid) == 0)
            S_CMD(w, "SADD %s %s", key, id);
    }
}

/* Proposes the chosen candidate (borrowed from the view or the work's
 * cache) for the vacancy. */
static void s_propose(s_work_t *w, s_rec_t *vr, const WzCandidate *chosen, const char *pid,
                      uint32_t round, const wz_scheme_t *scheme, const WzExplanation *why)
{
    WzVacancy *v = VAC(vr);
    s_rec_t *cr;
    if (!(cr = s_find(w, REC_CANDIDATE, chosen->id))) {
        /* Borrowed from the view, which changes only when this commits:
         * the transaction changes a copy. */
        ProtobufCMessage *copy = wz_codec_clone(&chosen->base);
        cr = copy ? s_add(w, REC_CANDIDATE, chosen->id, copy) : NULL;
        if (!copy)
            w->failed = true;
    }
    if (!cr)
        return;
    WzCandidate *c = CAND(cr);

    WzProposal p = WOONZORG__V1__PROPOSAL__INIT;
    p.id = (char *)pid;
    p.vacancy_id = v->id;
    p.candidate_id = c->id;
    p.region = (char *)w->region->id;
    p.corporation = v->corporation;
    p.care_provider = c->care_provider;
    p.municipality = c->municipality;
    p.state = PSTATE(SENT);
    p.created_ms = w->now_ms;
    p.explanation = (WzExplanation *)why;
    p.round = round;
    p.scheme = (char *)(scheme ? scheme->id : "");
    ProtobufCMessage *copy = wz_codec_clone(&p.base);
    if (!copy) {
        w->failed = true;
        return;
    }
    s_rec_t *pr = s_put(w, REC_PROPOSAL, pid, copy);
    if (!pr)
        return;
    s_enter_step(w, PROP(pr), scheme, 0);

    char tried[KEY_MAX], open[KEY_MAX];
    if (s_key(w, tried, "m:tried:%s", v->id) != 0 || s_key(w, open, "m:open:%s", c->id) != 0)
        return;
    S_CMD(w, "SADD %s %s", tried, c->id);
    S_CMD(w, "SET %s %s", open, pid);
    s_remember_tried(w, v->id, c->id);
    s_place(w, v, p.scheme, w->now_ms, true);
    c->state = CSTATE(PROPOSED);
    s_set_str(w, &c->scheme, p.scheme);
    cr->dirty = true;
    v->state = VSTATE(OFFERED);
    s_set_str(w, &v->proposal_id, pid);
    vr->dirty = true;

    Woonzorg__V1__ProposalCreated body = WOONZORG__V1__PROPOSAL_CREATED__INIT;
    body.proposal = PROP(pr);
    body.vacancy = v;
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.payload_case = PAYLOAD(PROPOSAL_CREATED);
    ev.proposal_created = &body;
    s_emit(w, &ev);
    wz_log(w->self->log, WZ_LOG_INFO, "proposal created", "proposal", pid, "candidate", c->id,
           "explanation", why->summary, NULL);
}

static void s_release_vacancy(s_work_t *w, s_rec_t *vr, const WzExplanation *why)
{
    WzVacancy *v = VAC(vr);
    v->state = VSTATE(RELEASED);
    s_set_str(w, &v->proposal_id, "");
    vr->dirty = true;
    Woonzorg__V1__VacancyReleased body = WOONZORG__V1__VACANCY_RELEASED__INIT;
    body.vacancy = v;
    body.explanation = (WzExplanation *)why;
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.payload_case = PAYLOAD(VACANCY_RELEASED);
    ev.vacancy_released = &body;
    s_emit(w, &ev);
    wz_log(w->self->log, WZ_LOG_INFO, "vacancy released", "vacancy", v->id, "explanation",
           why->summary, NULL);
}

/* Fills pool with the candidates of the region that can be chosen at all
 * (active, as this transaction sees them): those it holds in its cache,
 * the others unpacked from the view. 0, or -1 (work failed). */
static int s_collect(s_work_t *w, s_pool_t *pool)
{
    s_view_t *v = s_view(w);
    if (!v)
        return -1;
    bool local = false;
    for (s_rec_t *r = w->recs; r && !local; r = r->next)
        local = r->kind == REC_CANDIDATE;
    for (size_t i = 0; i < v->n; i++) {
        s_rec_t *cr = local ? s_find(w, REC_CANDIDATE, v->cands[i]->entry.id) : NULL;
        if (cr || !v->cands[i]->entry.bucket)
            continue; /* changed here (added below), or not active */
        WzCandidate *c = s_cand_open(v->cands[i]);
        if (!c || s_pool_add(pool, c, true) != 0)
            goto fail;
    }
    for (s_rec_t *r = w->recs; r; r = r->next)
        if (r->kind == REC_CANDIDATE && r->msg && CAND(r)->state == CSTATE(ACTIVE) &&
            s_pool_add(pool, CAND(r), false) != 0)
            goto fail;
    return 0;
fail:
    w->failed = true;
    return -1;
}

/* The candidates this transaction changed, over the committed view: the
 * view's versions to hide in its index, the work's versions to add, and how
 * that changes the count of candidates that are not indexed (inactive). */
typedef struct {
    const wz_cindex_entry_t **hidden;
    WzCandidate **extra;
    size_t n_hidden, n_extra;
    long inactive_delta;
} s_overlay_t;

static int s_overlay(s_work_t *w, const s_view_t *view, s_overlay_t *o)
{
    memset(o, 0, sizeof *o);
    size_t n = 0;
    for (s_rec_t *r = w->recs; r; r = r->next)
        n += r->kind == REC_CANDIDATE;
    o->hidden = calloc(n ? n : 1, sizeof *o->hidden);
    o->extra = calloc(n ? n : 1, sizeof *o->extra);
    if (!o->hidden || !o->extra)
        return -1;
    for (s_rec_t *r = w->recs; r; r = r->next) {
        if (r->kind != REC_CANDIDATE)
            continue;
        const s_cand_t *old = s_view_find(view, r->id);
        if (old && old->entry.bucket)
            o->hidden[o->n_hidden++] = &old->entry;
        else if (old)
            o->inactive_delta--;
        if (r->msg && wz_cindex_indexable(CAND(r)))
            o->extra[o->n_extra++] = CAND(r);
        else if (r->msg)
            o->inactive_delta++;
    }
    return 0;
}

static void s_overlay_fini(s_overlay_t *o)
{
    free(o->hidden);
    free(o->extra);
}

/* Matches a vacancy in state MATCHING on the region's candidate index (the
 * committed view, with this transaction's changes over it) and stores the
 * decision's snapshot: a proposal, or nothing. nominee (may be NULL)
 * restricts the choice to one nominated candidate; returns 1 when a proposal
 * was made, 0 when not (or on failure). */
static int s_match_as(s_work_t *w, s_rec_t *vr, const char *nominee, bool batch,
                      wz_match_result_t *result)
{
    WzVacancy *v = VAC(vr);
    char tried_key[KEY_MAX];
    if (s_key(w, tried_key, "m:tried:%s", v->id) != 0)
        return 0;
    redisReply *tried = wz_store_cmd(w->self->store, "SMEMBERS %s", tried_key);
    s_overlay_t overlay = {0};
    wz_cindex_walk_t walk = {0};
    WzCandidate *opened = NULL; /* the nominee, unpacked from the view */
    int proposed = 0;
    s_view_t *view = tried && tried->type == REDIS_REPLY_ARRAY ? s_view(w) : NULL;
    if (!view || !view->index || s_overlay(w, view, &overlay) != 0)
        goto fail;

    const wz_scheme_t *scheme = s_vacancy_scheme(w, v);
    s_tried_arg_t targ = {tried, w, v->id};
    wz_match_ctx_t ctx = {.policy = w->self->policy,
                          .scheme = scheme,
                          .today = w->today,
                          .contingent_target = -1,
                          .tried = s_was_tried,
                          .tried_arg = &targ,
                          .nominee = nominee,
                          .batch = batch};
    if (scheme)
        s_load_counters(w, scheme, v, &ctx);
    if (w->failed)
        goto fail;
    long inactive = (long)(view->n - wz_cindex_size(view->index)) + overlay.inactive_delta;
    ctx.inactive = (uint32_t)(inactive > 0 ? inactive : 0);
    const WzCandidate *nominated = NULL;
    if (nominee) {
        s_rec_t *local = s_find(w, REC_CANDIDATE, nominee);
        const s_cand_t *held = local ? NULL : s_view_find(view, nominee);
        if (held && !(opened = s_cand_open(held)))
            goto fail;
        nominated = local ? CAND(local) : opened;
    }
    uint32_t round = (uint32_t)(tried->elements + s_local_tried(w, v->id) + 1);
    char pid[KEY_MAX];
    snprintf(pid, sizeof pid, "%s/%" PRIu32, v->id, round);
    size_t chosen = 0;
    int64_t started_us = wz_mono_us();
    if (wz_cindex_walk(view->index, &ctx, v, overlay.hidden, overlay.n_hidden, overlay.extra,
                       overlay.n_extra, nominated, &walk) != 0)
        goto fail;
    proposed = wz_match_decide(&ctx, v, walk.buckets, walk.n_buckets, walk.walked, walk.n_walked,
                               result, &chosen);
    wz_metrics_observe(w->self->metrics, WZ_M_MATCH_SECONDS,
                       (double)(wz_mono_us() - started_us) / 1e6);
    if (proposed < 0) {
        /* The index walked what the rules cannot explain: a bug, never
         * decided on. */
        wz_log(w->self->log, WZ_LOG_ERROR, "candidate index inconsistent", "vacancy", v->id,
               "why", result->summary, NULL);
        proposed = 0;
        goto fail;
    }
    s_snapshot(w, pid, v, &ctx, &walk, tried, &result->explanation,
               proposed ? walk.walked[chosen]->id : NULL);
    if (proposed)
        s_propose(w, vr, walk.walked[chosen], pid, round, scheme, &result->explanation);
    goto out;
fail:
    w->failed = true;
out:
    wz_cindex_walk_fini(&walk);
    WZ_FREE_UNPACKED(opened);
    s_overlay_fini(&overlay);
    if (tried)
        freeReplyObject(tried);
    return proposed;
}

/* Nominate mode: asks the next care provider of the scheme's rotation (not
 * asked for this vacancy before) to nominate one of its candidates, with the
 * deadline of the route's first step. Releases the vacancy when the vacancy
 * may not be offered, or when every care provider was asked. */
static void s_request_nomination(s_work_t *w, s_rec_t *vr, const wz_scheme_t *scheme)
{
    WzVacancy *v = VAC(vr);
    wz_match_ctx_t ctx = {.policy = w->self->policy,
                          .scheme = scheme,
                          .today = w->today,
                          .contingent_target = -1};
    s_load_counters(w, scheme, v, &ctx);
    if (w->failed)
        return;
    if (wz_match_vacancy_check(&ctx, v) >= 0) {
        /* The usual explanation of why nobody may be proposed. */
        wz_match_result_t result;
        if (!s_match_as(w, vr, "", false, &result) && !w->failed)
            s_release_vacancy(w, vr, &result.explanation);
        return;
    }
    char asked_key[KEY_MAX], rot_key[KEY_MAX], noms[KEY_MAX];
    if (s_key(w, asked_key, "m:asked:%s", v->id) != 0 || s_key(w, rot_key, "m:rotation") != 0 ||
        s_key(w, noms, "nominations") != 0)
        return;
    redisReply *asked = wz_store_cmd(w->self->store, "SMEMBERS %s", asked_key);
    if (!asked) {
        w->failed = true;
        return;
    }
    long next = s_counter_read(w, rot_key, scheme->id);
    const char *cp = NULL;
    size_t n = scheme->n_care_providers;
    for (size_t k = 0; k < n && !cp; k++) {
        const char *candidate_cp = scheme->care_providers[(size_t)(next + (long)k) % n];
        bool was_asked = v->nominator && strcmp(v->nominator, candidate_cp) == 0;
        for (size_t i = 0; !was_asked && asked->type == REDIS_REPLY_ARRAY && i < asked->elements;
             i++)
            was_asked = strcmp(asked->element[i]->str, candidate_cp) == 0;
        if (!was_asked) {
            cp = candidate_cp;
            s_counter_add(w, rot_key, scheme->id, (long)k + 1);
        }
    }
    freeReplyObject(asked);
    if (v->nominator && v->nominator[0])
        S_CMD(w, "SADD %s %s", asked_key, v->nominator);
    if (!cp) {
        WzExplanation why = WOONZORG__V1__EXPLANATION__INIT;
        why.summary = (char *)"no care provider of the scheme nominated an eligible candidate in "
                              "time: every one was asked";
        why.scheme = (char *)scheme->id;
        why.mode = "nominate";
        why.policy_version = (char *)w->self->policy->version;
        S_CMD(w, "ZREM %s %s", noms, v->id);
        s_release_vacancy(w, vr, &why);
        return;
    }
    int64_t deadline = wz_policy_deadline(w->self->policy, w->region,
                                          scheme->n_route ? scheme->route[0].working_days : 5,
                                          w->now_ms);
    s_set_str(w, &v->nominator, cp);
    v->state = VSTATE(MATCHING);
    vr->dirty = true;
    S_CMD(w, "ZADD %s %lld %s", noms, (long long)deadline, v->id);
    Woonzorg__V1__NominationRequested body = WOONZORG__V1__NOMINATION_REQUESTED__INIT;
    body.vacancy = v;
    body.care_provider = (char *)cp;
    body.deadline_ms = deadline;
    body.scheme = (char *)scheme->id;
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.payload_case = PAYLOAD(NOMINATION_REQUESTED);
    ev.nomination_requested = &body;
    s_emit(w, &ev);
    wz_log(w->self->log, WZ_LOG_INFO, "nomination requested", "vacancy", v->id, "care_provider",
           cp, NULL);
}

static void s_match(s_work_t *w, s_rec_t *vr)
{
    const wz_scheme_t *scheme = s_vacancy_scheme(w, VAC(vr));
    if (scheme && scheme->mode == WZ_MODE_NOMINATE) {
        s_request_nomination(w, vr, scheme);
        return;
    }
    wz_match_result_t result;
    if (!s_match_as(w, vr, NULL, false, &result) && !w->failed)
        s_release_vacancy(w, vr, &result.explanation);
}

/* A care provider's nomination: proposed when eligible (with the rank it
 * would have had), else refused with the rule, and the care provider may
 * nominate again until its deadline. */
static void s_on_nominated(s_work_t *w, const Woonzorg__V1__CandidateNominated *n)
{
    s_rec_t *vr = s_get(w, REC_VACANCY, n->vacancy_id);
    if (!vr)
        return;
    if (!vr->msg || VAC(vr)->state != VSTATE(MATCHING) || !VAC(vr)->nominator ||
        strcmp(VAC(vr)->nominator, n->care_provider) != 0) {
        wz_log(w->self->log, WZ_LOG_INFO, "nomination for a vacancy not waiting for it ignored",
               "vacancy", n->vacancy_id, "care_provider", n->care_provider, NULL);
        return;
    }
    wz_match_result_t result;
    if (s_match_as(w, vr, n->candidate_id, false, &result)) {
        char noms[KEY_MAX];
        if (s_key(w, noms, "nominations") == 0)
            S_CMD(w, "ZREM %s %s", noms, n->vacancy_id);
        return;
    }
    if (w->failed)
        return;
    Woonzorg__V1__NominationRefused body = WOONZORG__V1__NOMINATION_REFUSED__INIT;
    body.vacancy_id = (char *)n->vacancy_id;
    body.candidate_id = (char *)n->candidate_id;
    body.care_provider = (char *)n->care_provider;
    body.explanation = &result.explanation;
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.payload_case = PAYLOAD(NOMINATION_REFUSED);
    ev.nomination_refused = &body;
    s_emit(w, &ev);
    wz_log(w->self->log, WZ_LOG_INFO, "nomination refused", "vacancy", n->vacancy_id, "candidate",
           n->candidate_id, "why", result.summary, NULL);
}

/* After the vacancy's proposal proposal_id ended: match the vacancy again,
 * unless it moved on meanwhile (withdrawn, or another proposal). */
static void s_rematch(s_work_t *w, const char *vacancy_id, const char *proposal_id)
{
    s_rec_t *vr = s_get(w, REC_VACANCY, vacancy_id);
    if (!vr)
        return;
    if (!vr->msg) {
        wz_log(w->self->log, WZ_LOG_WARN, "vacancy of a proposal is unknown", "vacancy",
               vacancy_id, "proposal", proposal_id, NULL);
        return;
    }
    WzVacancy *v = VAC(vr);
    if ((v->state != VSTATE(OFFERED) && v->state != VSTATE(ACCEPTED)) ||
        strcmp(v->proposal_id, proposal_id) != 0) {
        wz_log(w->self->log, WZ_LOG_DEBUG, "vacancy not matched again", "vacancy", vacancy_id,
               "state", VNAME(v->state), NULL);
        return;
    }
    v->state = VSTATE(MATCHING);
    s_set_str(w, &v->proposal_id, "");
    vr->dirty = true;
    s_match(w, vr);
}

/* Cancels the candidate's open proposal, if any, and matches its vacancy
 * again. */
static void s_cancel_open(s_work_t *w, const char *candidate_id, const char *reason)
{
    /* m:open is only written at the end of a transaction and read here,
     * before this transaction changed anything. */
    char key[KEY_MAX];
    if (s_key(w, key, "m:open:%s", candidate_id) != 0)
        return;
    redisReply *open = wz_store_cmd(w->self->store, "GET %s", key);
    if (!open) {
        w->failed = true;
        return;
    }
    s_rec_t *pr = NULL;
    if (open->type == REDIS_REPLY_STRING) {
        pr = s_get(w, REC_PROPOSAL, open->str);
        if (pr && (!pr->msg || (PROP(pr)->state != PSTATE(SENT) &&
                                PROP(pr)->state != PSTATE(ACCEPTED))))
            pr = NULL;
    }
    freeReplyObject(open);
    if (!pr)
        return;
    s_cancel(w, pr, reason);
    s_rematch(w, PROP(pr)->vacancy_id, PROP(pr)->id);
}

/* --- retention and erasure (docs/security.md) ------------------------------ */

/* The candidate is housed or withdrawn: its records go retention_ms later
 * (m:purge; the first schedule stands). */
static void s_schedule_purge(s_work_t *w, const char *candidate_id)
{
    char key[KEY_MAX];
    if (s_key(w, key, "m:purge") == 0)
        S_CMD(w, "ZADD %s NX %lld %s", key, (long long)(w->now_ms + w->self->retention_ms),
              candidate_id);
}

/* A new, empty message of desc (malloc'd, freed like an unpacked one). */
static void *s_new_msg(const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *m = malloc(desc->sizeof_message);
    if (m)
        desc->message_init(m);
    return m;
}

static int s_copy_str(char **field, const char *value)
{
    if (!value || !*value)
        return 0;
    return (*field = strdup(value)) ? 0 : -1;
}

static void s_clear_str(char **field)
{
    if (*field && *field != protobuf_c_empty_string)
        free(*field);
    *field = (char *)protobuf_c_empty_string;
}

/* Erasure in a decision snapshot (docs/security.md): candidate cid's entry
 * is reduced to what an erased candidate leaves (id, care provider and
 * municipality, marked erased); the key of every bucket it could have been
 * counted in goes too (the bucket's attributes are its attributes, and its
 * id stays in the walk), the size stays; the explanation's words about it
 * (summary: urgency date and fit; score) go when it was chosen or
 * nominated. Returns 1 when snap changed, 0 when cid is not in it (or was
 * already erased), -1 on OOM (snap may be half done: not to be stored). */
static int s_scrub(WzSnapshot *snap, const char *cid)
{
    int changed = 0;
    for (size_t i = 0; i < snap->n_candidates; i++) {
        WzCandidate *old = snap->candidates[i];
        if (old->erased || strcmp(old->id, cid) != 0)
            continue;
        WzCandidate *gone = s_new_msg(&woonzorg__v1__candidate__descriptor);
        if (!gone || s_copy_str(&gone->id, old->id) ||
            s_copy_str(&gone->care_provider, old->care_provider) ||
            s_copy_str(&gone->municipality, old->municipality)) {
            WZ_FREE_UNPACKED(gone);
            return -1;
        }
        gone->erased = 1;
        for (size_t b = 0; b < snap->n_buckets; b++) {
            WzSnapshotBucket *bucket = snap->buckets[b];
            if (!bucket->key || bucket->key->erased || !wz_cindex_same_bucket(bucket->key, old))
                continue;
            WzCandidate *blank = s_new_msg(&woonzorg__v1__candidate__descriptor);
            if (!blank) {
                WZ_FREE_UNPACKED(gone);
                return -1;
            }
            blank->erased = 1;
            WZ_FREE_UNPACKED(bucket->key);
            bucket->key = blank;
        }
        WZ_FREE_UNPACKED(old);
        snap->candidates[i] = gone;
        changed = 1;
    }
    bool named = strcmp(snap->chosen, cid) == 0 || strcmp(snap->nominee, cid) == 0;
    if (named && snap->explanation &&
        (*snap->explanation->summary || snap->explanation->score != 0)) {
        s_clear_str(&snap->explanation->summary);
        snap->explanation->score = 0;
        changed = 1;
    }
    return changed;
}

/* The proposal made to cid loses the words about it too: its stored
 * explanation's summary and score state cid's urgency date and fit. */
static void s_scrub_proposal(s_work_t *w, const char *pid)
{
    s_rec_t *pr = *pid ? s_get(w, REC_PROPOSAL, pid) : NULL;
    WzExplanation *e = pr && pr->msg ? PROP(pr)->explanation : NULL;
    if (e && (*e->summary || e->score != 0)) {
        s_clear_str(&e->summary);
        e->score = 0;
        pr->dirty = true;
    }
}

/* Scrubs cid from the snapshot packed in *bytes; on a change *bytes is
 * replaced (the old freed). When the snapshot's decision proposed cid, its
 * proposal is scrubbed too (w given). 1 changed, 0 nothing to do, -1
 * failure. */
static int s_scrub_bytes(s_work_t *w, uint8_t **bytes, size_t *len, const char *cid)
{
    WzSnapshot *snap = (WzSnapshot *)wz_codec_unpack(&woonzorg__v1__decision_snapshot__descriptor,
                                                     *bytes, *len);
    if (!snap)
        return -1;
    if (w && strcmp(snap->chosen, cid) == 0)
        s_scrub_proposal(w, snap->proposal_id);
    int changed = s_scrub(snap, cid);
    uint8_t *packed = changed > 0 ? wz_codec_pack(&snap->base, len) : NULL;
    WZ_FREE_UNPACKED(snap);
    if (changed <= 0)
        return changed;
    if (!packed)
        return -1;
    free(*bytes);
    *bytes = packed;
    return 1;
}

/* Scrubs cid from the snapshots this transaction wrote (queued again). */
static void s_scrub_queued(s_work_t *w, const char *cid)
{
    char key[KEY_MAX];
    for (size_t i = 0; i < w->n_snaps && !w->failed; i++) {
        s_wsnap_t *q = &w->snaps[i];
        int rc = s_scrub_bytes(w, &q->bytes, &q->len, cid);
        if (rc < 0)
            w->failed = true;
        else if (rc > 0 && s_key(w, key, "m:snapshot:%s", q->id) == 0)
            S_CMD(w, "SET %s %b", key, q->bytes, q->len);
    }
}

/* Erasure reaches the decision snapshots: every snapshot m:snaprefs:<cid>
 * names (and those this transaction wrote) is rewritten with cid scrubbed
 * (s_scrub), and the index goes, in the purge's transaction. */
static void s_scrub_snapshots(s_work_t *w, const char *cid)
{
    char refs[KEY_MAX], key[KEY_MAX];
    if (s_key(w, refs, "m:snaprefs:%s", cid) != 0)
        return;
    redisReply *ids = wz_txn_watch(w->txn, refs) == 0
                          ? wz_store_cmd(w->self->store, "SMEMBERS %s", refs)
                          : NULL;
    if (!ids || ids->type != REDIS_REPLY_ARRAY) {
        if (ids)
            freeReplyObject(ids);
        w->failed = true;
        return;
    }
    for (size_t i = 0; i < ids->elements && !w->failed; i++) {
        const char *sid = ids->element[i]->str;
        if (ids->element[i]->type != REDIS_REPLY_STRING)
            continue;
        bool queued = false;
        for (size_t k = 0; k < w->n_snaps && !queued; k++)
            queued = strcmp(w->snaps[k].id, sid) == 0;
        if (queued || s_key(w, key, "m:snapshot:%s", sid) != 0)
            continue; /* this transaction's own: below */
        uint8_t *bytes = NULL;
        size_t len = 0;
        int found = wz_txn_watch(w->txn, key) == 0
                        ? wz_store_get_bytes(w->self->store, key, &bytes, &len)
                        : -1;
        int rc = found > 0 ? s_scrub_bytes(w, &bytes, &len, cid) : found;
        if (rc < 0) {
            /* An unreadable snapshot cannot be scrubbed: the purge stops
             * rather than leave the candidate's attributes behind. */
            wz_log(w->self->log, WZ_LOG_ERROR, "snapshot not scrubbed", "snapshot", sid,
                   "candidate", cid, NULL);
            w->failed = true;
        } else if (rc > 0) {
            S_CMD(w, "SET %s %b", key, bytes, len);
        }
        free(bytes);
    }
    freeReplyObject(ids);
    s_scrub_queued(w, cid);
    S_CMD(w, "DEL %s", refs);
}

/* Erases every Redis record of candidate id in the work's transaction:
 * matching's record, index, open proposal and due-set entries, and intake's
 * record (when keep_intake is false), and announces it with CandidatePurged,
 * on which the audit service destroys the candidate's audit key. Proposals,
 * m:tried and snapshots are the vacancies' history and stay (they name the
 * candidate by its pseudonymous id); snapshots lose its attributes, and the
 * proposals made to it the words about it (s_scrub_snapshots). cr may hold
 * no record (a re-run after matching's part went). Returns whether anything
 * was there to erase. */
static bool s_purge(s_work_t *w, s_rec_t *cr, const char *reason, bool keep_intake)
{
    const char *id = cr->id;
    char key[KEY_MAX], intake_key[KEY_MAX];
    if (s_key(w, intake_key, "candidate:%s", id) != 0)
        return false;
    char *care_provider = NULL, *municipality = NULL;
    bool had = cr->msg != NULL;
    if (had) {
        care_provider = strdup(CAND(cr)->care_provider);
        municipality = strdup(CAND(cr)->municipality);
    }
    if (!keep_intake) {
        /* Intake's record: watched, so an update racing with the purge makes
         * it run again. */
        uint8_t *data = NULL;
        size_t len = 0;
        int found = wz_txn_watch(w->txn, intake_key) == 0
                        ? wz_store_get_bytes(w->self->store, intake_key, &data, &len)
                        : -1;
        if (found < 0) {
            w->failed = true;
            free(care_provider);
            free(municipality);
            return false;
        }
        if (found) {
            WzCandidate *ic = wz_candidate_unpack(data, len);
            if (!care_provider && ic) {
                care_provider = strdup(ic->care_provider);
                municipality = strdup(ic->municipality);
            }
            WZ_FREE_UNPACKED(ic);
            free(data);
            had = true;
        }
        S_CMD(w, "DEL %s", intake_key);
    }
    if (s_key(w, key, "m:candidate:%s", id) == 0)
        S_CMD(w, "DEL %s", key);
    if (s_key(w, key, "m:open:%s", id) == 0)
        S_CMD(w, "DEL %s", key);
    if (s_key(w, key, "m:candidates") == 0)
        S_CMD(w, "SREM %s %s", key, id);
    if (s_key(w, key, "m:urgency") == 0)
        S_CMD(w, "ZREM %s %s", key, id);
    if (s_key(w, key, "m:purge") == 0)
        S_CMD(w, "ZREM %s %s", key, id);
    s_scrub_snapshots(w, id);
    WZ_FREE_UNPACKED(cr->msg);
    cr->dirty = false;
    cr->purged = true;
    if (had) {
        Woonzorg__V1__CandidatePurged body = WOONZORG__V1__CANDIDATE_PURGED__INIT;
        body.candidate_id = cr->id;
        body.care_provider = care_provider ? care_provider : (char *)"";
        body.municipality = municipality ? municipality : (char *)"";
        body.reason = (char *)reason;
        WzEvent ev = WOONZORG__V1__EVENT__INIT;
        ev.payload_case = PAYLOAD(CANDIDATE_PURGED);
        ev.candidate_purged = &body;
        s_emit(w, &ev);
    }
    free(care_provider);
    free(municipality);
    return had;
}

/* --- events from intake --------------------------------------------------- */

/* Batch schemes: the corporation's vacancies wait (state matching) until
 * batch_minutes after the first of them, and are then assigned jointly. */
static void s_hold_for_batch(s_work_t *w, const WzVacancy *v, const wz_scheme_t *scheme)
{
    char batch[KEY_MAX], batches[KEY_MAX];
    if (s_key(w, batch, "m:batch:%s/%s", scheme->id, v->corporation) != 0 ||
        s_key(w, batches, "m:batches") != 0)
        return;
    S_CMD(w, "ZADD %s %lld %s", batch, (long long)w->now_ms, v->id);
    /* NX: the batch closes batch_minutes after its first vacancy. */
    S_CMD(w, "ZADD %s NX %lld %s/%s", batches,
          (long long)(w->now_ms + (int64_t)scheme->batch_minutes * 60000), scheme->id,
          v->corporation);
    wz_log(w->self->log, WZ_LOG_INFO, "vacancy held for a batch", "vacancy", v->id, "scheme",
           scheme->id, NULL);
}

static void s_on_vacancy_published(s_work_t *w, const WzVacancy *in)
{
    if (!in || !in->id[0]) {
        wz_log(w->self->log, WZ_LOG_WARN, "VacancyPublished without a vacancy ignored", NULL);
        return;
    }
    s_rec_t *vr = s_get(w, REC_VACANCY, in->id);
    if (!vr)
        return;
    if (vr->msg) {
        wz_log(w->self->log, WZ_LOG_WARN, "vacancy published twice; event ignored", "vacancy",
               in->id, "state", VNAME(VAC(vr)->state), NULL);
        return;
    }
    WzVacancy *v = (WzVacancy *)wz_codec_clone(&in->base);
    if (!v) {
        w->failed = true;
        return;
    }
    v->state = VSTATE(MATCHING);
    s_set_str(w, &v->proposal_id, "");
    vr = s_put(w, REC_VACANCY, in->id, &v->base);
    if (!vr || w->failed)
        return;
    const wz_scheme_t *scheme = s_vacancy_scheme(w, v);
    if (scheme && scheme->batch_minutes > 0 && scheme->mode == WZ_MODE_RANKED) {
        s_hold_for_batch(w, v, scheme);
        return;
    }
    s_match(w, vr);
}

static void s_on_vacancy_withdrawn(s_work_t *w, const char *id)
{
    s_rec_t *vr = s_get(w, REC_VACANCY, id);
    if (!vr)
        return;
    if (!vr->msg) {
        wz_log(w->self->log, WZ_LOG_WARN, "withdrawal of an unknown vacancy ignored", "vacancy",
               id, NULL);
        return;
    }
    WzVacancy *v = VAC(vr);
    if (v->state == VSTATE(LET) || v->state == VSTATE(WITHDRAWN)) {
        if (v->state == VSTATE(LET))
            wz_log(w->self->log, WZ_LOG_WARN, "withdrawal of a let vacancy ignored", "vacancy",
                   id, NULL);
        return;
    }
    if (v->proposal_id[0]) {
        s_rec_t *pr = s_get(w, REC_PROPOSAL, v->proposal_id);
        if (!pr)
            return;
        if (pr->msg && (PROP(pr)->state == PSTATE(SENT) || PROP(pr)->state == PSTATE(ACCEPTED)))
            s_cancel(w, pr, REASON_VACANCY_WITHDRAWN);
    }
    v->state = VSTATE(WITHDRAWN);
    s_set_str(w, &v->proposal_id, "");
    vr->dirty = true;
    char noms[KEY_MAX];
    if (s_key(w, noms, "nominations") == 0)
        S_CMD(w, "ZREM %s %s", noms, id);
}

static bool s_has_urgency(const WzCandidate *c)
{
    return c->urgency_date && wz_date_valid(c->urgency_date);
}

/* Consent withdrawn: the candidate's records go at once (s_purge); intake's
 * only while it still says no consent. */
static void s_purge_consent(s_work_t *w, s_rec_t *cr)
{
    char key[KEY_MAX];
    if (s_key(w, key, "candidate:%s", cr->id) != 0 || wz_txn_watch(w->txn, key) != 0) {
        w->failed = true;
        return;
    }
    uint8_t *data = NULL;
    size_t len = 0;
    int found = wz_store_get_bytes(w->self->store, key, &data, &len);
    if (found < 0) {
        w->failed = true;
        return;
    }
    WzCandidate *ic = found ? wz_candidate_unpack(data, len) : NULL;
    free(data);
    bool keep_intake = ic && ic->consent;
    WZ_FREE_UNPACKED(ic);
    s_purge(w, cr, PURGE_CONSENT, keep_intake);
    wz_log(w->self->log, WZ_LOG_INFO, "candidate purged", "candidate", cr->id, "reason",
           PURGE_CONSENT, NULL);
}

static void s_on_candidate(s_work_t *w, const WzCandidate *in, bool update)
{
    if (!in || !in->id[0]) {
        wz_log(w->self->log, WZ_LOG_WARN, "candidate event without a candidate ignored", NULL);
        return;
    }
    s_rec_t *cr = s_get(w, REC_CANDIDATE, in->id);
    if (!cr)
        return;
    WzCandidate *c = (WzCandidate *)wz_codec_clone(&in->base);
    if (!c) {
        w->failed = true;
        return;
    }
    WzCandidate *old = cr->msg ? CAND(cr) : NULL;
    if (old) {
        if (!update)
            wz_log(w->self->log, WZ_LOG_WARN, "candidate registered twice; taken as an update",
                   "candidate", in->id, NULL);
        /* New attributes; the lifecycle and the urgency stay matching's. */
        c->state = old->state;
        WzDate *date = c->urgency_date;
        c->urgency_date = old->urgency_date;
        old->urgency_date = date;
        char *by = c->urgency_by;
        c->urgency_by = old->urgency_by;
        old->urgency_by = by;
        c->refusals = old->refusals;
        c->extensions = old->extensions;
        char *scheme = c->scheme;
        c->scheme = old->scheme;
        old->scheme = scheme;
    } else {
        if (update)
            wz_log(w->self->log, WZ_LOG_WARN, "update of an unknown candidate taken as a "
                   "registration", "candidate", in->id, NULL);
        c->state = s_has_urgency(c) ? CSTATE(ACTIVE) : CSTATE(REGISTERED);
    }
    bool consent_withdrawn = old && old->consent && !c->consent;
    if (!s_put(w, REC_CANDIDATE, in->id, &c->base))
        return;
    char index[KEY_MAX];
    if (s_key(w, index, "m:candidates") == 0)
        S_CMD(w, "SADD %s %s", index, in->id);
    /* Processing must stop at once: an open proposal is cancelled and its
     * dwelling goes to the next candidate, and every record of the candidate
     * is erased. Intake's record stays when it no longer withdraws consent
     * (a newer update gave it again; its event follows this one). */
    if (consent_withdrawn) {
        s_cancel_open(w, in->id, REASON_CONSENT_WITHDRAWN);
        if (!w->failed)
            s_purge_consent(w, cr);
    }
}

/* Records the end of the candidate's urgency window (its scheme's months,
 * plus the extension when used) for the lapse timer. */
static void s_urgency_window(s_work_t *w, WzCandidate *c, const wz_scheme_t *scheme)
{
    char key[KEY_MAX];
    if (s_key(w, key, "m:urgency") != 0)
        return;
    if (!scheme || scheme->urgency_months == 0 || !c->urgency_date) {
        WZ_FREE_UNPACKED(c->urgency_until);
        S_CMD(w, "ZREM %s %s", key, c->id);
        return;
    }
    int months = scheme->urgency_months + (int)c->extensions * scheme->extension_months;
    int64_t end = wz_add_months(
        wz_day_from_civil(c->urgency_date->year, c->urgency_date->month, c->urgency_date->day),
        months);
    if (!c->urgency_until) {
        c->urgency_until = malloc(sizeof *c->urgency_until);
        if (!c->urgency_until) {
            w->failed = true;
            return;
        }
        woonzorg__v1__date__init(c->urgency_until);
    }
    wz_civil_from_day(end, &c->urgency_until->year, &c->urgency_until->month,
                      &c->urgency_until->day);
    S_CMD(w, "ZADD %s %lld %s", key, (long long)(end * WZ_MS_PER_DAY), c->id);
}

static void s_on_urgency(s_work_t *w, const Woonzorg__V1__UrgencyGranted *u, const char *actor)
{
    if (!u->date || !wz_date_valid(u->date)) {
        wz_log(w->self->log, WZ_LOG_WARN, "UrgencyGranted without a valid date ignored",
               "candidate", u->candidate_id, NULL);
        return;
    }
    s_rec_t *cr = s_get(w, REC_CANDIDATE, u->candidate_id);
    if (!cr)
        return;
    if (!cr->msg) {
        wz_log(w->self->log, WZ_LOG_WARN, "urgency for an unknown candidate ignored",
               "candidate", u->candidate_id, NULL);
        return;
    }
    WzCandidate *c = CAND(cr);
    const wz_scheme_t *scheme = wz_policy_candidate_scheme(w->self->policy, w->region->id,
                                                           c->group, c->care_provider, w->today);
    if (u->extend) {
        /* One extension of the window, never a new urgency date. */
        if (!scheme || scheme->extension_months == 0 || c->extensions > 0 ||
            !c->urgency_date || !wz_date_valid(c->urgency_date)) {
            wz_log(w->self->log, WZ_LOG_WARN, "urgency extension not allowed; ignored",
                   "candidate", c->id, NULL);
            return;
        }
        c->extensions++;
        cr->dirty = true;
        s_urgency_window(w, c, scheme);
        return;
    }
    WzDate *date = malloc(sizeof *date);
    if (!date) {
        w->failed = true;
        return;
    }
    woonzorg__v1__date__init(date);
    date->year = u->date->year;
    date->month = u->date->month;
    date->day = u->date->day;
    WZ_FREE_UNPACKED(c->urgency_date);
    c->urgency_date = date;
    s_set_str(w, &c->urgency_by, actor);
    if (c->state == CSTATE(REGISTERED) || c->state == CSTATE(LAPSED)) {
        /* A new grant (also after a lapse) starts afresh. */
        c->state = CSTATE(ACTIVE);
        c->refusals = 0;
        c->extensions = 0;
    }
    cr->dirty = true;
    s_urgency_window(w, c, scheme);
}

static void s_on_candidate_withdrawn(s_work_t *w, const char *id)
{
    s_rec_t *cr = s_get(w, REC_CANDIDATE, id);
    if (!cr)
        return;
    if (!cr->msg) {
        wz_log(w->self->log, WZ_LOG_WARN, "withdrawal of an unknown candidate ignored",
               "candidate", id, NULL);
        return;
    }
    int state = CAND(cr)->state;
    if (state == CSTATE(WITHDRAWN) || state == CSTATE(HOUSED)) {
        wz_log(w->self->log, state == CSTATE(HOUSED) ? WZ_LOG_WARN : WZ_LOG_DEBUG,
               "candidate withdrawal ignored", "candidate", id, "state", CNAME(state), NULL);
        return;
    }
    CAND(cr)->state = CSTATE(WITHDRAWN);
    cr->dirty = true;
    s_cancel_open(w, id, REASON_CANDIDATE_WITHDRAWN);
    s_schedule_purge(w, id);
}

/* The proposal's route step moves on (accepted, or a step confirmed). */
static void s_advance(s_work_t *w, s_rec_t *pr, const char *done)
{
    WzProposal *p = PROP(pr);
    char done_step[WZ_ID_MAX]; /* done may be p->step, which the next step replaces */
    wz_strlcpy(done_step, done, sizeof done_step);
    const wz_scheme_t *s = wz_policy_scheme(w->self->policy, p->scheme);
    int idx = s ? wz_scheme_step(s, done_step) : -1;
    pr->dirty = true;
    char key[KEY_MAX];
    if (!s || idx < 0 || (size_t)idx + 1 >= s->n_route) {
        /* No route known (a proposal from before schemes): no deadline after the answer. */
        if (s_key(w, key, "deadlines") == 0)
            S_CMD(w, "ZREM %s %s", key, p->id);
        if (s_key(w, key, "reminders") == 0)
            S_CMD(w, "ZREM %s %s", key, p->id);
        p->deadline_ms = 0;
        return;
    }
    s_enter_step(w, p, s, (size_t)idx + 1);
    Woonzorg__V1__ProposalAdvanced body = WOONZORG__V1__PROPOSAL_ADVANCED__INIT;
    body.proposal = p;
    body.done_step = done_step;
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.payload_case = PAYLOAD(PROPOSAL_ADVANCED);
    ev.proposal_advanced = &body;
    s_emit(w, &ev);
}

/* The refusal of declined proposal p counts only when its municipality
 * confirms it (s_on_step_confirmed), which it may do for the scheme's
 * confirm_working_days (m:verdicts); without a verdict by then it does not
 * count (s_verdict_work): a refusal is the candidate's loss, so silence is
 * not taken for a yes. */
static void s_await_verdict(s_work_t *w, WzProposal *p, const wz_scheme_t *s)
{
    p->refusal_pending = true;
    p->verdict_due_ms =
        wz_policy_deadline(w->self->policy, w->region, s->confirm_working_days, w->now_ms);
    char key[KEY_MAX];
    if (s_key(w, key, "m:verdicts") == 0)
        S_CMD(w, "ZADD %s %lld %s", key, (long long)p->verdict_due_ms, p->id);
}

/* Ends proposal pr as declined for reason (an id of the policy's decline
 * reasons, or free text when the policy configures none) and matches the
 * vacancy again. */
static void s_decline(s_work_t *w, s_rec_t *pr, const char *reason)
{
    WzProposal *p = PROP(pr);
    s_set_str(w, &p->decline_reason, reason);
    s_close_proposal(w, pr, PSTATE(DECLINED));
    char id[WZ_ID_MAX] = "";
    size_t len = strcspn(reason ? reason : "", ":");
    if (reason && len < sizeof id) {
        memcpy(id, reason, len);
        id[len] = '\0';
    }
    const wz_decline_reason_t *r = wz_policy_decline_reason(w->self->policy, id);
    const wz_scheme_t *s = wz_policy_scheme(w->self->policy, p->scheme);
    if (r && r->refusal) {
        if (s && s->decline_needs_confirmation)
            s_await_verdict(w, p, s);
        else
            s_count_refusal(w, p);
    }
    /* Only the reason's id: the note after it is the party's free text,
     * which may be personal and never goes into a log (test_canary). With
     * no policy reasons configured the whole reason is free text. */
    wz_log(w->self->log, WZ_LOG_INFO, "proposal declined", "proposal", p->id, "reason",
           r ? r->id : "(free text)", NULL);
    s_rematch(w, p->vacancy_id, p->id);
}

static void s_on_answered(s_work_t *w, const Woonzorg__V1__ProposalAnswered *a)
{
    if (!a->proposal || !a->proposal->id[0]) {
        wz_log(w->self->log, WZ_LOG_WARN, "ProposalAnswered without a proposal ignored", NULL);
        return;
    }
    const char *id = a->proposal->id;
    s_rec_t *pr = s_get(w, REC_PROPOSAL, id);
    if (!pr)
        return;
    if (!pr->msg) {
        wz_log(w->self->log, WZ_LOG_WARN, "answer to an unknown proposal ignored", "proposal",
               id, NULL);
        return;
    }
    WzProposal *p = PROP(pr);
    if (p->state != PSTATE(SENT)) {
        wz_log(w->self->log, WZ_LOG_INFO, "answer to a closed proposal ignored", "proposal", id,
               "state", PNAME(p->state), NULL);
        return;
    }
    if (!a->accepted) {
        s_decline(w, pr, a->reason);
        return;
    }
    p->state = PSTATE(ACCEPTED);
    s_rec_t *vr = s_get(w, REC_VACANCY, p->vacancy_id);
    if (vr && vr->msg && VAC(vr)->state == VSTATE(OFFERED) &&
        strcmp(VAC(vr)->proposal_id, p->id) == 0) {
        VAC(vr)->state = VSTATE(ACCEPTED);
        vr->dirty = true;
    }
    s_advance(w, pr, p->step && p->step[0] ? p->step : "answer");
    wz_log(w->self->log, WZ_LOG_INFO, "proposal accepted", "proposal", id, NULL);
}

/* A confirm step done (ok) or turned down; or the municipality's verdict on
 * a refusal waiting for it (step "decline"). */
static void s_on_step_confirmed(s_work_t *w, const Woonzorg__V1__StepConfirmed *sc, int64_t at_ms)
{
    if (!sc->proposal || !sc->proposal->id[0])
        return;
    s_rec_t *pr = s_get(w, REC_PROPOSAL, sc->proposal->id);
    if (!pr || !pr->msg)
        return;
    WzProposal *p = PROP(pr);
    if (strcmp(sc->step, "decline") == 0) {
        /* A verdict counts when intake accepted it by verdict_due_ms (none on
         * proposals from before it existed), even when the timer ended the
         * wait since (s_verdict_work): that wait is over, not the verdict. */
        bool waiting = p->refusal_pending || (!p->refusal && p->verdict_due_ms > 0);
        bool in_time = p->verdict_due_ms == 0 || at_ms <= p->verdict_due_ms;
        if (p->state == PSTATE(DECLINED) && waiting && !in_time)
            wz_log(w->self->log, WZ_LOG_WARN, "refusal verdict given after it was due ignored",
                   "proposal", p->id, NULL);
        if (p->state != PSTATE(DECLINED) || !waiting || !in_time)
            return;
        p->refusal_pending = false;
        p->verdict_due_ms = 0;
        pr->dirty = true;
        char key[KEY_MAX];
        if (s_key(w, key, "m:verdicts") == 0)
            S_CMD(w, "ZREM %s %s", key, p->id);
        if (sc->ok)
            s_count_refusal(w, p);
        wz_log(w->self->log, WZ_LOG_INFO, "refusal verdict", "proposal", p->id, "counts",
               sc->ok ? "yes" : "no", NULL);
        return;
    }
    if (p->state != PSTATE(ACCEPTED) || strcmp(p->step, sc->step) != 0) {
        wz_log(w->self->log, WZ_LOG_INFO, "confirmation of another step ignored", "proposal",
               p->id, "step", sc->step, NULL);
        return;
    }
    if (sc->ok)
        s_advance(w, pr, sc->step);
    else
        s_decline(w, pr, sc->reason);
}

static void s_on_lease_signed(s_work_t *w, const Woonzorg__V1__LeaseSigned *l)
{
    s_rec_t *vr = s_get(w, REC_VACANCY, l->vacancy_id);
    if (!vr)
        return;
    if (!vr->msg || VAC(vr)->state != VSTATE(ACCEPTED)) {
        wz_log(w->self->log, WZ_LOG_WARN, "lease for a vacancy not accepted ignored", "vacancy",
               l->vacancy_id, "state", vr->msg ? VNAME(VAC(vr)->state) : "unknown", NULL);
        return;
    }
    WzVacancy *v = VAC(vr);
    s_rec_t *pr = s_get(w, REC_PROPOSAL, v->proposal_id);
    if (!pr)
        return;
    if (!pr->msg) {
        wz_log(w->self->log, WZ_LOG_ERROR, "accepted vacancy without its proposal", "vacancy",
               v->id, "proposal", v->proposal_id, NULL);
        return;
    }
    WzProposal *p = PROP(pr);
    v->state = VSTATE(LET);
    vr->dirty = true;
    p->state = PSTATE(LET);
    p->contract = l->contract;
    pr->dirty = true;
    s_rec_t *cr = s_get(w, REC_CANDIDATE, p->candidate_id);
    if (!cr)
        return;
    if (cr->msg) {
        CAND(cr)->state = CSTATE(HOUSED);
        cr->dirty = true;
        s_schedule_purge(w, p->candidate_id);
    }
    char key[KEY_MAX];
    if (s_key(w, key, "m:open:%s", p->candidate_id) == 0)
        S_CMD(w, "DEL %s", key);
    if (s_key(w, key, "deadlines") == 0)
        S_CMD(w, "ZREM %s %s", key, p->id);
    if (s_key(w, key, "reminders") == 0)
        S_CMD(w, "ZREM %s %s", key, p->id);
    p->deadline_ms = 0;
    /* Spread counts lets of the last years from the day of the lease. */
    s_place(w, v, p->scheme, w->now_ms, false);
    Woonzorg__V1__VacancyLet body = WOONZORG__V1__VACANCY_LET__INIT;
    body.vacancy = v;
    body.proposal = p;
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.payload_case = PAYLOAD(VACANCY_LET);
    ev.vacancy_let = &body;
    s_emit(w, &ev);
    wz_log(w->self->log, WZ_LOG_INFO, "vacancy let", "vacancy", v->id, "proposal", p->id, NULL);
}

int wz_matching_apply(void *arg, wz_txn_t *txn, const char *producer, const WzEvent *ev)
{
    wz_matching_t *self = arg;
    if (strcmp(producer, "intake") != 0)
        return 0;
    const wz_region_t *region = wz_policy_region(self->policy, ev->region ? ev->region : "");
    if (!region) {
        wz_log(self->log, WZ_LOG_WARN, "event of an unknown region ignored", "event", ev->id,
               "region", ev->region, NULL);
        return 0;
    }
    s_work_t w;
    s_work_init(&w, self, txn, region, wz_now_ms());
    switch (ev->payload_case) {
    case PAYLOAD(VACANCY_PUBLISHED):
        s_on_vacancy_published(&w, ev->vacancy_published->vacancy);
        break;
    case PAYLOAD(VACANCY_WITHDRAWN):
        s_on_vacancy_withdrawn(&w, ev->vacancy_withdrawn->vacancy_id);
        break;
    case PAYLOAD(CANDIDATE_REGISTERED):
        s_on_candidate(&w, ev->candidate_registered->candidate, false);
        break;
    case PAYLOAD(CANDIDATE_UPDATED):
        s_on_candidate(&w, ev->candidate_updated->candidate, true);
        break;
    case PAYLOAD(CANDIDATE_WITHDRAWN):
        s_on_candidate_withdrawn(&w, ev->candidate_withdrawn->candidate_id);
        break;
    case PAYLOAD(URGENCY_GRANTED):
        s_on_urgency(&w, ev->urgency_granted, ev->actor);
        break;
    case PAYLOAD(PROPOSAL_ANSWERED):
        s_on_answered(&w, ev->proposal_answered);
        break;
    case PAYLOAD(LEASE_SIGNED):
        s_on_lease_signed(&w, ev->lease_signed);
        break;
    case PAYLOAD(STEP_CONFIRMED):
        s_on_step_confirmed(&w, ev->step_confirmed, ev->occurred_ms);
        break;
    case PAYLOAD(CANDIDATE_NOMINATED):
        s_on_nominated(&w, ev->candidate_nominated);
        break;
    default:
        break; /* not matching's business */
    }
    s_flush(&w);
    int rc = w.failed ? -1 : 0;
    if (rc != 0)
        wz_log(self->log, WZ_LOG_WARN, "event not applied, will retry", "event", ev->id, "error",
               wz_store_errstr(self->store), NULL);
    s_work_fini(&w);
    return rc;
}

/* --- batches ------------------------------------------------------------------ */

static int s_cmp_rank(const void *a, const void *b)
{
    const WzCandidate *x = *(WzCandidate *const *)a, *y = *(WzCandidate *const *)b;
    return wz_match_rank_cmp(x, 0, y, 0);
}

/* Assigns the held vacancies of one batch ("<scheme>/<corporation>") jointly
 * (wz_assign_exact on the eligible pairs, the ranked order as cost), then
 * proposes them in publication order, each checked again with the counters
 * as they stand after the ones before; a vacancy the assignment left out, or
 * whose candidate no longer fits, is matched one by one. */
static void s_run_batch(s_work_t *w, const char *member)
{
    char batch[KEY_MAX], batches[KEY_MAX];
    if (s_key(w, batch, "m:batch:%s", member) != 0 || s_key(w, batches, "m:batches") != 0)
        return;
    redisReply *held = wz_store_cmd(w->self->store, "ZRANGE %s 0 -1", batch);
    if (!held || held->type != REDIS_REPLY_ARRAY) {
        if (held)
            freeReplyObject(held);
        w->failed = true;
        return;
    }
    S_CMD(w, "DEL %s", batch);
    S_CMD(w, "ZREM %s %s", batches, member);
    size_t nv = 0, nc = 0;
    s_rec_t **vrs = calloc(held->elements ? held->elements : 1, sizeof *vrs);
    s_pool_t pool = {0};
    double *cost = NULL;
    int *out = NULL;
    WzCandidate **ranked = NULL;
    if (!vrs || s_collect(w, &pool) != 0)
        goto fail;
    for (size_t i = 0; i < held->elements; i++) {
        s_rec_t *vr = s_get(w, REC_VACANCY, held->element[i]->str);
        if (vr && vr->msg && VAC(vr)->state == VSTATE(MATCHING))
            vrs[nv++] = vr; /* withdrawn meanwhile: left out */
    }
    /* The candidates that can be chosen at all, in ranked order (urgency, id). */
    ranked = calloc(pool.n ? pool.n : 1, sizeof *ranked);
    if (!ranked)
        goto fail;
    for (size_t i = 0; i < pool.n; i++)
        if (pool.cands[i]->state == CSTATE(ACTIVE))
            ranked[nc++] = pool.cands[i];
    qsort(ranked, nc, sizeof *ranked, s_cmp_rank);
    cost = calloc(nv * nc > 0 ? nv * nc : 1, sizeof *cost);
    out = calloc(nv ? nv : 1, sizeof *out);
    if (!cost || !out)
        goto fail;
    for (size_t j = 0; j < nv; j++) {
        WzVacancy *v = VAC(vrs[j]);
        const wz_scheme_t *scheme = s_vacancy_scheme(w, v);
        wz_match_ctx_t ctx = {.policy = w->self->policy,
                              .scheme = scheme,
                              .today = w->today,
                              .contingent_target = -1};
        if (scheme)
            s_load_counters(w, scheme, v, &ctx);
        bool offerable = wz_match_vacancy_check(&ctx, v) < 0;
        for (size_t i = 0; i < nc; i++) {
            double penalty = 0;
            cost[j * nc + i] = offerable && wz_match_check(&ctx, v, ranked[i], &penalty) < 0
                                   ? (double)i * 1000.0 + (penalty < 999 ? penalty : 999)
                                   : -1;
        }
    }
    if (w->failed || wz_assign_exact(cost, nv, nc, out) < 0)
        goto fail;
    /* The ids are copied: proposing changes the cache the pool borrows from. */
    for (size_t j = 0; j < nv && !w->failed; j++) {
        char chosen[WZ_ID_MAX] = "";
        if (out[j] >= 0)
            wz_strlcpy(chosen, ranked[out[j]]->id, sizeof chosen);
        wz_match_result_t result;
        if (chosen[0] && s_match_as(w, vrs[j], chosen, true, &result))
            continue;
        if (!w->failed)
            s_match(w, vrs[j]);
    }
    wz_log(w->self->log, WZ_LOG_INFO, "batch assigned", "batch", member, NULL);
    goto out;
fail:
    w->failed = true;
out:
    free(vrs);
    free(cost);
    free(out);
    free(ranked);
    s_pool_fini(&pool);
    freeReplyObject(held);
}

/* --- deadlines, and what else is due on the timer ---------------------------- */

/* Expires a proposal whose deadline passed: no answer in time is a refusal
 * where the scheme says so, and the vacancy goes to the next candidate. */
static int s_expire_work(s_work_t *w, const char *pid)
{
    int expired = 0;
    char key[KEY_MAX];
    s_rec_t *pr = s_get(w, REC_PROPOSAL, pid);
    if (pr && pr->msg && (PROP(pr)->state == PSTATE(SENT) || PROP(pr)->state == PSTATE(ACCEPTED))) {
        /* No answer in time is a refusal where the scheme says so; a
         * later step missed by another party is not the candidate's. */
        const wz_scheme_t *s = wz_policy_scheme(w->self->policy, PROP(pr)->scheme);
        bool refusal = PROP(pr)->state == PSTATE(SENT) && s && s->no_answer_is_refusal;
        s_close_proposal(w, pr, PSTATE(EXPIRED));
        PROP(pr)->refusal = refusal;
        Woonzorg__V1__ProposalExpired body = WOONZORG__V1__PROPOSAL_EXPIRED__INIT;
        body.proposal = PROP(pr);
        WzEvent ev = WOONZORG__V1__EVENT__INIT;
        ev.payload_case = PAYLOAD(PROPOSAL_EXPIRED);
        ev.proposal_expired = &body;
        s_emit(w, &ev);
        if (refusal)
            s_count_refusal(w, PROP(pr));
        s_rematch(w, PROP(pr)->vacancy_id, pid);
        expired = 1;
    } else if (pr && s_key(w, key, "deadlines") == 0) {
        /* Answered or cancelled meanwhile: only the deadline is left over. */
        S_CMD(w, "ZREM %s %s", key, pid);
    }
    return expired;
}

/* A refusal whose verdict did not come in time does not count; the
 * proposal keeps verdict_due_ms to say so (intake tells a late verdict). */
static int s_verdict_work(s_work_t *w, const char *pid)
{
    char key[KEY_MAX];
    s_rec_t *pr = s_get(w, REC_PROPOSAL, pid);
    if (s_key(w, key, "m:verdicts") == 0)
        S_CMD(w, "ZREM %s %s", key, pid);
    if (!pr || !pr->msg || !PROP(pr)->refusal_pending)
        return 0;
    PROP(pr)->refusal_pending = false;
    pr->dirty = true;
    return 1;
}

/* Sends the reminder of a proposal's current step. */
static int s_remind_work(s_work_t *w, const char *pid)
{
    int sent = 0;
    char key[KEY_MAX];
    s_rec_t *pr = s_get(w, REC_PROPOSAL, pid);
    if (s_key(w, key, "reminders") == 0)
        S_CMD(w, "ZREM %s %s", key, pid);
    if (pr && pr->msg && (PROP(pr)->state == PSTATE(SENT) || PROP(pr)->state == PSTATE(ACCEPTED)) &&
        PROP(pr)->reminder_ms > 0 && PROP(pr)->reminder_ms <= w->now_ms) {
        WzProposal *p = PROP(pr);
        const wz_scheme_t *s = wz_policy_scheme(w->self->policy, p->scheme);
        int idx = s ? wz_scheme_step(s, p->step) : -1;
        p->reminder_ms = 0;
        pr->dirty = true;
        Woonzorg__V1__DeadlineReminder body = WOONZORG__V1__DEADLINE_REMINDER__INIT;
        body.proposal = p;
        body.step = p->step;
        body.role = (char *)(idx >= 0 ? wz_role_name(s->route[idx].role) : "care_provider");
        WzEvent ev = WOONZORG__V1__EVENT__INIT;
        ev.payload_case = PAYLOAD(DEADLINE_REMINDER);
        ev.deadline_reminder = &body;
        s_emit(w, &ev);
        sent = 1;
    }
    return sent;
}

/* Lapses a candidate whose urgency window ended. */
static int s_lapse_work(s_work_t *w, const char *cid)
{
    int lapsed = 0;
    char key[KEY_MAX];
    s_rec_t *cr = s_get(w, REC_CANDIDATE, cid);
    if (cr && cr->msg) {
        WzCandidate *c = CAND(cr);
        if (c->state == CSTATE(ACTIVE) || c->state == CSTATE(REGISTERED)) {
            s_lapse(w, cr, "urgency window ended");
            lapsed = 1;
        } else if (c->state != CSTATE(PROPOSED) && s_key(w, key, "m:urgency") == 0) {
            /* Housed or withdrawn: nothing to lapse. A proposed candidate
             * stays in the set until its proposal ends. */
            S_CMD(w, "ZREM %s %s", key, cid);
        }
    } else if (cr && s_key(w, key, "m:urgency") == 0) {
        S_CMD(w, "ZREM %s %s", key, cid);
    }
    return lapsed;
}

/* Purges a candidate whose retention ended (0, nothing to do, when it is
 * neither housed nor withdrawn: only the schedule goes). The schedule goes in
 * the same transaction as the records, so a purge interrupted anywhere is
 * either done or runs again in full. */
static int s_purge_work(s_work_t *w, const char *cid)
{
    int purged = 0;
    char key[KEY_MAX];
    s_rec_t *cr = s_get(w, REC_CANDIDATE, cid);
    int state = cr && cr->msg ? (int)CAND(cr)->state : 0;
    if (cr && (!cr->msg || state == CSTATE(HOUSED) || state == CSTATE(WITHDRAWN))) {
        purged = s_purge(w, cr, PURGE_RETENTION, false) ? 1 : 0;
    } else if (cr && s_key(w, key, "m:purge") == 0) {
        wz_log(w->self->log, WZ_LOG_WARN, "purge skipped: neither housed nor withdrawn",
               "candidate", cid, "state", CNAME(state), NULL);
        S_CMD(w, "ZREM %s %s", key, cid);
    }
    return purged;
}

/* A nomination deadline passed: the next care provider is asked. */
static int s_nomination_work(s_work_t *w, const char *vid)
{
    int moved = 0;
    char key[KEY_MAX];
    s_rec_t *vr = s_get(w, REC_VACANCY, vid);
    if (s_key(w, key, "nominations") == 0)
        S_CMD(w, "ZREM %s %s", key, vid);
    if (vr && vr->msg && VAC(vr)->state == VSTATE(MATCHING) && VAC(vr)->nominator &&
        VAC(vr)->nominator[0]) {
        const wz_scheme_t *scheme = s_vacancy_scheme(w, VAC(vr));
        if (scheme && scheme->mode == WZ_MODE_NOMINATE) {
            wz_log(w->self->log, WZ_LOG_INFO, "nomination deadline passed", "vacancy", vid,
                   "care_provider", VAC(vr)->nominator, NULL);
            s_request_nomination(w, vr, scheme);
            moved = 1;
        }
    }
    return moved;
}

/* Assigns one batch whose time came (s_run_batch). */
static int s_batch_work(s_work_t *w, const char *member)
{
    if (!w->failed)
        s_run_batch(w, member);
    return 1;
}

/* What is due on the timer: each member of a region's sorted set `set`
 * scored at or before now gets `work` in a transaction of its own, watching
 * the record `watch` (a key format of the member) that the work reads. */
typedef struct {
    const char *set;
    const char *watch;
    int (*work)(s_work_t *w, const char *id); /* 1 did what was due, 0 only tidied */
    const char *done;                         /* logged when work did it; NULL: not */
} s_due_t;

/* One due member in its own transaction, started again on a conflict up to
 * COMMIT_ATTEMPTS times (then the next tick tries again). Returns what the
 * work returned once committed, 0 after the conflicts, -1 when Redis failed. */
static int s_due_one(wz_matching_t *self, const wz_region_t *region, const char *id, int64_t now_ms,
                     const s_due_t *d)
{
    for (int attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
        wz_txn_t *txn = wz_txn_begin(self->store, self->pub, region->id);
        if (!txn)
            return -1;
        s_work_t w;
        s_work_init(&w, self, txn, region, now_ms);
        char key[KEY_MAX];
        if (s_key(&w, key, d->watch, id) == 0 && wz_txn_watch(txn, key) != 0)
            w.failed = true;
        int did = d->work(&w, id);
        s_flush(&w);
        int committed = w.failed ? -1 : wz_txn_commit(txn);
        s_work_fini(&w);
        wz_txn_destroy(&txn);
        if (committed == 0) {
            if (did && d->done)
                wz_log(self->log, WZ_LOG_INFO, d->done, "id", id, "region", region->id, NULL);
            return did;
        }
        if (committed < 0) {
            wz_log(self->log, WZ_LOG_WARN, "due work not stored, will retry", "set", d->set, "id",
                   id, "error", wz_store_errstr(self->store), NULL);
            return -1;
        }
    }
    wz_log(self->log, WZ_LOG_WARN, "due work kept conflicting, will retry", "set", d->set, "id", id,
           NULL);
    return 0;
}

/* Runs d's work on every member due at now_ms (at most EXPIRE_BATCH per
 * region); the number done, or -1 when Redis failed. */
static int s_due(wz_matching_t *self, const s_due_t *d, int64_t now_ms)
{
    int total = 0;
    for (size_t i = 0; i < self->policy->n_regions; i++) {
        const wz_region_t *region = &self->policy->regions[i];
        if (!s_owns(self, region->id))
            continue; /* another replica's region */
        char key[KEY_MAX];
        if (wz_store_key(self->store, key, sizeof key, region->id, "%s", d->set) != 0)
            return -1;
        redisReply *r = wz_store_cmd(self->store, "ZRANGEBYSCORE %s -inf %lld LIMIT 0 %d", key,
                                     (long long)now_ms, EXPIRE_BATCH);
        if (!r)
            return -1;
        for (size_t j = 0; r->type == REDIS_REPLY_ARRAY && j < r->elements; j++) {
            if (r->element[j]->type != REDIS_REPLY_STRING)
                continue;
            int rc = s_due_one(self, region, r->element[j]->str, now_ms, d);
            if (rc < 0) {
                freeReplyObject(r);
                return -1;
            }
            total += rc;
        }
        freeReplyObject(r);
    }
    return total;
}

static const s_due_t s_expiries = {"deadlines", "proposal:%s", s_expire_work, "proposal expired"};
static const s_due_t s_reminders = {"reminders", "proposal:%s", s_remind_work, NULL};
static const s_due_t s_lapses = {"m:urgency", "m:candidate:%s", s_lapse_work, NULL};
static const s_due_t s_verdicts = {"m:verdicts", "proposal:%s", s_verdict_work,
                                   "no verdict on the refusal in time: it does not count"};
static const s_due_t s_purges = {"m:purge", "m:candidate:%s", s_purge_work,
                                 "candidate purged after retention"};
static const s_due_t s_nominations = {"nominations", "m:vacancy:%s", s_nomination_work, NULL};
static const s_due_t s_batches = {"m:batches", "m:batch:%s", s_batch_work, NULL};

int wz_matching_expire(wz_matching_t *self, int64_t now_ms)
{
    return s_due(self, &s_expiries, now_ms);
}

int wz_matching_batches_due(wz_matching_t *self, int64_t now_ms)
{
    return s_due(self, &s_batches, now_ms);
}

int wz_matching_nominations_due(wz_matching_t *self, int64_t now_ms)
{
    return s_due(self, &s_nominations, now_ms);
}

int wz_matching_lapse(wz_matching_t *self, int64_t now_ms)
{
    return s_due(self, &s_lapses, now_ms);
}

int wz_matching_verdicts_due(wz_matching_t *self, int64_t now_ms)
{
    return s_due(self, &s_verdicts, now_ms);
}

/* Candidates housed or withdrawn before retention existed have no m:purge
 * entry: each housed or withdrawn candidate of v is scheduled now_ms +
 * retention unless it has one (ZADD NX keeps every existing schedule, so
 * this is idempotent). Once per load of the view. 0, or -1 when Redis
 * failed. */
static int s_schedule_unscheduled(wz_matching_t *self, s_view_t *v, int64_t now_ms)
{
    char key[KEY_MAX], score[32];
    if (wz_store_key(self->store, key, sizeof key, v->region, "m:purge") != 0)
        return -1;
    snprintf(score, sizeof score, "%lld", (long long)(now_ms + self->retention_ms));
    const char *argv[3 + 2 * MGET_BATCH];
    size_t lens[3 + 2 * MGET_BATCH];
    argv[0] = "ZADD", lens[0] = 4;
    argv[1] = key, lens[1] = strlen(key);
    argv[2] = "NX", lens[2] = 2;
    long long added = 0;
    size_t i = 0;
    while (i < v->n) {
        int argc = 3;
        for (; i < v->n && argc < 3 + 2 * MGET_BATCH; i++) {
            WzCandidate *c = s_cand_open(v->cands[i]);
            if (!c)
                return -1;
            bool done = c->state == CSTATE(HOUSED) || c->state == CSTATE(WITHDRAWN);
            WZ_FREE_UNPACKED(c);
            if (!done)
                continue;
            argv[argc] = score, lens[argc++] = strlen(score);
            argv[argc] = v->cands[i]->entry.id, lens[argc++] = strlen(v->cands[i]->entry.id);
        }
        if (argc == 3)
            continue;
        redisReply *r = wz_store_argv(self->store, argc, argv, lens);
        if (!r || r->type != REDIS_REPLY_INTEGER) {
            if (r)
                freeReplyObject(r);
            return -1;
        }
        added += r->integer;
        freeReplyObject(r);
    }
    if (added > 0) {
        char n[24];
        snprintf(n, sizeof n, "%lld", added);
        wz_log(self->log, WZ_LOG_INFO, "housed or withdrawn candidates without a purge scheduled",
               "region", v->region, "count", n, "purge_at_ms", score, NULL);
    }
    v->purges_checked = true;
    return 0;
}

int wz_matching_purge(wz_matching_t *self, int64_t now_ms)
{
    for (size_t i = 0; i < self->policy->n_regions; i++) {
        const char *region = self->policy->regions[i].id;
        if (!s_owns(self, region))
            continue;
        s_view_t *v = s_view_of(self, region);
        if (!v || s_view_current(self, v) != 0)
            return -1;
        if (!v->purges_checked && s_schedule_unscheduled(self, v, now_ms) != 0)
            return -1;
    }
    return s_due(self, &s_purges, now_ms);
}

int wz_matching_remind(wz_matching_t *self, int64_t now_ms)
{
    return s_due(self, &s_reminders, now_ms);
}

int wz_matching_on_timer(wz_loop_t *loop, void *arg)
{
    (void)loop;
    int64_t now = wz_now_ms();
    wz_matching_remind(arg, now);
    wz_matching_expire(arg, now);
    wz_matching_nominations_due(arg, now);
    wz_matching_batches_due(arg, now);
    wz_matching_lapse(arg, now);
    wz_matching_verdicts_due(arg, now);
    wz_matching_purge(arg, now);
    return 0;
}

/* --- the candidate view, outside a transaction ---------------------------- */

int wz_matching_load(wz_matching_t *self)
{
    int rc = 0;
    for (size_t i = 0; i < self->policy->n_regions; i++) {
        const char *region = self->policy->regions[i].id;
        if (!s_owns(self, region))
            continue;
        s_view_t *v = s_view_of(self, region);
        if (!v || s_view_load(self, v) != 0)
            rc = -1;
    }
    return rc;
}

size_t wz_matching_candidates(wz_matching_t *self, const char *region)
{
    for (size_t i = 0; i < self->n_views; i++)
        if (strcmp(self->views[i].region, region) == 0)
            return self->views[i].loaded ? self->views[i].n : 0;
    return 0;
}

size_t wz_matching_view_bytes(wz_matching_t *self, const char *region, size_t *record_bytes)
{
    size_t bytes = 0, records = 0;
    for (size_t i = 0; i < self->n_views; i++) {
        const s_view_t *v = &self->views[i];
        if (strcmp(v->region, region) != 0 || !v->loaded)
            continue;
        for (size_t k = 0; k < v->n; k++) {
            bytes += sizeof *v->cands[k] + strlen(v->cands[k]->data) + 1 + v->cands[k]->len;
            records += v->cands[k]->len;
        }
        bytes += v->cap * sizeof *v->cands + v->n_slots * sizeof *v->slots;
        bytes += v->index ? wz_cindex_bytes(v->index) : 0;
    }
    if (record_bytes)
        *record_bytes = records;
    return bytes;
}

int wz_matching_verify(wz_matching_t *self, const char *region, char *why, size_t whylen)
{
    snprintf(why, whylen, "equal");
    s_view_t *v = NULL;
    for (size_t i = 0; i < self->n_views && !v; i++)
        if (strcmp(self->views[i].region, region) == 0)
            v = &self->views[i];
    if (!v || !v->loaded) {
        snprintf(why, whylen, "region %s not loaded", region);
        return 1;
    }
    /* As the next decision sees it: entries of unknown outcome read again. */
    if (s_view_current(self, v) != 0) {
        snprintf(why, whylen, "redis: %s", wz_store_errstr(self->store));
        return -1;
    }
    s_view_t fresh = {0};
    wz_strlcpy(fresh.region, region, sizeof fresh.region);
    if (s_view_load(self, &fresh) != 0) {
        snprintf(why, whylen, "redis: %s", wz_store_errstr(self->store));
        s_view_clear(&fresh);
        return -1;
    }
    int rc = 0;
    if (fresh.n != v->n) {
        snprintf(why, whylen, "%zu candidates in memory, %zu in redis", v->n, fresh.n);
        rc = 1;
    }
    for (size_t i = 0; i < fresh.n && rc == 0; i++) {
        const s_cand_t *mem = s_view_find(v, fresh.cands[i]->entry.id), *red = fresh.cands[i];
        rc = !mem || mem->len != red->len ||
             memcmp(s_cand_bytes(mem), s_cand_bytes(red), mem->len) != 0;
        if (!mem)
            snprintf(why, whylen, "candidate %s missing in memory", red->entry.id);
        else if (rc)
            snprintf(why, whylen, "candidate %s differs from its record in redis",
                     red->entry.id);
    }
    /* Exactly the active ones indexed, each in the bucket of its record. */
    if (rc == 0 && !v->index) {
        snprintf(why, whylen, "no index");
        rc = 1;
    }
    size_t indexable = 0;
    for (size_t i = 0; i < v->n && rc == 0; i++) {
        WzCandidate *c = s_cand_open(v->cands[i]);
        bool want = c && wz_cindex_indexable(c);
        indexable += want;
        if (!c)
            snprintf(why, whylen, "out of memory");
        else if (want != wz_cindex_contains(v->index, &v->cands[i]->entry))
            snprintf(why, whylen, "candidate %s (%s) %s the index", c->id, CNAME(c->state),
                     want ? "missing in" : "wrongly in");
        rc = !c || want != wz_cindex_contains(v->index, &v->cands[i]->entry);
        WZ_FREE_UNPACKED(c);
    }
    if (rc == 0 && (!v->index || wz_cindex_size(v->index) != indexable)) {
        snprintf(why, whylen, "%zu candidates indexed, %zu active in memory",
                 v->index ? wz_cindex_size(v->index) : 0, indexable);
        rc = 1;
    }
    s_view_clear(&fresh);
    return rc;
}
