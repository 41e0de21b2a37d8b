/* wz_cindex.c - buckets of candidates in rank order, and the walk over them
 * (see wz_cindex.h). */
#include "wz_cindex.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wz_calendar.h"
#include "wz_util.h"

#define CSTATE(x) WOONZORG__V1__CANDIDATE_STATE__CANDIDATE_STATE_##x

/* A candidate holding only the attributes a bucket shares. */
struct wz_cindex_key_t {
    WzCandidate key;
    WzHousehold household;
};

/* Fills k with c's bucket attributes; strings borrowed from c. */
static void s_key_of(struct wz_cindex_key_t *k, const WzCandidate *c)
{
    WzCandidate key = WOONZORG__V1__CANDIDATE__INIT;
    WzHousehold hh = WOONZORG__V1__HOUSEHOLD__INIT;
    k->key = key;
    k->household = hh;
    k->household.adults = c->household ? c->household->adults + c->household->children : 0;
    if (!k->household.adults)
        k->household.adults = 1; /* as wz_match counts persons */
    k->key.id = (char *)"";
    k->key.household = &k->household;
    k->key.age_band = c->age_band;
    k->key.income_class = c->income_class;
    k->key.access_needs = c->access_needs;
    k->key.group = c->group;
    k->key.care_provider = c->care_provider;
    k->key.care_location = c->care_location;
}

/* One bucket: the shared attributes (as a candidate holding only those, for
 * wz_match_bucket_rule and the snapshot) and its members in rank order. */
typedef struct {
    WzCandidate key; /* strings owned */
    WzHousehold household;
    wz_cindex_entry_t **items;
    size_t n, cap;
    bool sorted;
} s_bucket_t;

struct wz_cindex_t {
    s_bucket_t **buckets; /* owned; never removed (an empty bucket costs one check) */
    size_t n_buckets, cap_buckets;
    uint32_t *slots; /* hash of the key -> bucket index + 1; 0 empty */
    size_t n_slots;  /* a power of two, at least twice n_buckets */
    size_t size;
    bool bulk;
    wz_cindex_open_fn open;
    void *open_arg;
};

static const char *s_str(const char *s)
{
    return s ? s : "";
}

static uint32_t s_persons(const WzCandidate *c)
{
    uint32_t persons = c->household ? c->household->adults + c->household->children : 0;
    return persons > 0 ? persons : 1; /* as wz_match counts them */
}

static uint32_t s_fnv(uint32_t h, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static uint32_t s_key_hash(const WzCandidate *c)
{
    uint32_t h = 2166136261u;
    const char *strs[3] = {s_str(c->group), s_str(c->care_provider), s_str(c->care_location)};
    for (int i = 0; i < 3; i++)
        h = s_fnv(h, strs[i], strlen(strs[i]) + 1);
    uint32_t nums[4] = {s_persons(c), (uint32_t)c->age_band, (uint32_t)c->income_class,
                        c->access_needs};
    return s_fnv(h, nums, sizeof nums);
}

static bool s_key_eq(const WzCandidate *a, const WzCandidate *b)
{
    return s_persons(a) == s_persons(b) && a->age_band == b->age_band &&
           a->income_class == b->income_class && a->access_needs == b->access_needs &&
           strcmp(s_str(a->group), s_str(b->group)) == 0 &&
           strcmp(s_str(a->care_provider), s_str(b->care_provider)) == 0 &&
           strcmp(s_str(a->care_location), s_str(b->care_location)) == 0;
}

/* Rank order within a bucket: urgency date, then id. */
static int s_rank(const wz_cindex_entry_t *a, const wz_cindex_entry_t *b)
{
    if (a->day != b->day)
        return a->day < b->day ? -1 : 1;
    return strcmp(a->id, b->id);
}

static int s_rank_qsort(const void *a, const void *b)
{
    return s_rank(*(const wz_cindex_entry_t *const *)a, *(const wz_cindex_entry_t *const *)b);
}

wz_cindex_t *wz_cindex_new(wz_cindex_open_fn open, void *arg)
{
    wz_cindex_t *self = calloc(1, sizeof *self);
    if (self) {
        self->open = open;
        self->open_arg = arg;
    }
    return self;
}

static void s_bucket_free(s_bucket_t *b)
{
    if (!b)
        return;
    free(b->key.group);
    free(b->key.care_provider);
    free(b->key.care_location);
    free(b->items);
    free(b);
}

void wz_cindex_destroy(wz_cindex_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    wz_cindex_t *self = *self_p;
    for (size_t i = 0; i < self->n_buckets; i++)
        s_bucket_free(self->buckets[i]);
    free(self->buckets);
    free(self->slots);
    free(self);
    *self_p = NULL;
}

bool wz_cindex_same_bucket(const WzCandidate *a, const WzCandidate *b)
{
    return s_key_eq(a, b);
}

bool wz_cindex_indexable(const WzCandidate *c)
{
    return c->state == CSTATE(ACTIVE) && c->urgency_date && wz_date_valid(c->urgency_date);
}

/* The slot of c's key: the one holding its bucket, or the empty one it
 * would go to. */
static size_t s_slot(const wz_cindex_t *self, const WzCandidate *c)
{
    size_t mask = self->n_slots - 1;
    for (size_t i = s_key_hash(c) & mask;; i = (i + 1) & mask)
        if (!self->slots[i] || s_key_eq(&self->buckets[self->slots[i] - 1]->key, c))
            return i;
}

/* The number (index + 1) of the bucket of c's key, 0 when there is none. */
static uint32_t s_find(const wz_cindex_t *self, const WzCandidate *c)
{
    return self->n_slots ? self->slots[s_slot(self, c)] : 0;
}

/* The bucket of c's key, created when new, with its number in *number;
 * NULL on OOM. */
static s_bucket_t *s_bucket_of(wz_cindex_t *self, const WzCandidate *c, uint32_t *number)
{
    if ((*number = s_find(self, c)) != 0)
        return self->buckets[*number - 1];
    if (2 * (self->n_buckets + 1) > self->n_slots) {
        size_t n_slots = self->n_slots ? self->n_slots * 2 : 64;
        uint32_t *slots = calloc(n_slots, sizeof *slots);
        if (!slots)
            return NULL;
        free(self->slots);
        self->slots = slots;
        self->n_slots = n_slots;
        for (size_t i = 0; i < self->n_buckets; i++)
            self->slots[s_slot(self, &self->buckets[i]->key)] = (uint32_t)(i + 1);
    }
    if (self->n_buckets == self->cap_buckets) {
        size_t cap = self->cap_buckets ? self->cap_buckets * 2 : 16;
        s_bucket_t **grown = realloc(self->buckets, cap * sizeof *grown);
        if (!grown)
            return NULL;
        self->buckets = grown;
        self->cap_buckets = cap;
    }
    s_bucket_t *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    WzCandidate key = WOONZORG__V1__CANDIDATE__INIT;
    WzHousehold hh = WOONZORG__V1__HOUSEHOLD__INIT;
    b->key = key;
    b->household = hh;
    b->household.adults = s_persons(c);
    b->key.id = (char *)"";
    b->key.household = &b->household;
    b->key.age_band = c->age_band;
    b->key.income_class = c->income_class;
    b->key.access_needs = c->access_needs;
    b->key.group = strdup(s_str(c->group));
    b->key.care_provider = strdup(s_str(c->care_provider));
    b->key.care_location = strdup(s_str(c->care_location));
    b->sorted = true;
    if (!b->key.group || !b->key.care_provider || !b->key.care_location) {
        s_bucket_free(b);
        return NULL;
    }
    self->buckets[self->n_buckets++] = b;
    self->slots[s_slot(self, c)] = *number = (uint32_t)self->n_buckets;
    return b;
}

/* First position in b whose member ranks at or after e (b sorted). */
static size_t s_lower_bound(const s_bucket_t *b, const wz_cindex_entry_t *e)
{
    size_t lo = 0, hi = b->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s_rank(b->items[mid], e) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int wz_cindex_add(wz_cindex_t *self, wz_cindex_entry_t *e, const WzCandidate *c)
{
    e->bucket = 0;
    if (!wz_cindex_indexable(c))
        return 0;
    uint32_t number;
    s_bucket_t *b = s_bucket_of(self, c, &number);
    if (!b)
        return -1;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 8;
        wz_cindex_entry_t **items = realloc(b->items, cap * sizeof *items);
        if (!items)
            return -1;
        b->items = items;
        b->cap = cap;
    }
    const WzDate *d = c->urgency_date;
    e->day = (int32_t)wz_day_from_civil((int)d->year, (int)d->month, (int)d->day);
    if (self->bulk || !b->sorted) {
        b->items[b->n++] = e;
        b->sorted = b->n == 1;
    } else {
        size_t at = s_lower_bound(b, e);
        memmove(&b->items[at + 1], &b->items[at], (b->n - at) * sizeof *b->items);
        b->items[at] = e;
        b->n++;
    }
    e->bucket = number;
    self->size++;
    return 1;
}

static void s_sort(s_bucket_t *b)
{
    if (!b->sorted)
        qsort(b->items, b->n, sizeof *b->items, s_rank_qsort);
    b->sorted = true;
}

/* Position of e in its bucket, or b->n when it is not there. */
static size_t s_position(const wz_cindex_t *self, const wz_cindex_entry_t *e, s_bucket_t **bp)
{
    *bp = NULL;
    if (!e->bucket || e->bucket > self->n_buckets)
        return 0;
    s_bucket_t *b = *bp = self->buckets[e->bucket - 1];
    s_sort(b);
    size_t at = s_lower_bound(b, e);
    /* Ids are unique in a region, so (date, id) finds the one member. */
    return at < b->n && b->items[at] == e ? at : b->n;
}

void wz_cindex_remove(wz_cindex_t *self, wz_cindex_entry_t *e)
{
    s_bucket_t *b;
    size_t at = s_position(self, e, &b);
    if (b && at < b->n) {
        memmove(&b->items[at], &b->items[at + 1], (b->n - at - 1) * sizeof *b->items);
        b->n--;
        self->size--;
    }
    e->bucket = 0;
}

bool wz_cindex_contains(wz_cindex_t *self, const wz_cindex_entry_t *e)
{
    s_bucket_t *b;
    size_t at = s_position(self, e, &b);
    return b && at < b->n;
}

int wz_cindex_bulk(wz_cindex_t *self, bool on)
{
    self->bulk = on;
    if (!on)
        for (size_t i = 0; i < self->n_buckets; i++)
            s_sort(self->buckets[i]);
    return 0;
}

size_t wz_cindex_size(const wz_cindex_t *self)
{
    return self->size;
}

size_t wz_cindex_buckets(const wz_cindex_t *self)
{
    return self->n_buckets;
}

size_t wz_cindex_bytes(const wz_cindex_t *self)
{
    size_t bytes = sizeof *self + self->cap_buckets * sizeof *self->buckets +
                   self->n_slots * sizeof *self->slots;
    for (size_t i = 0; i < self->n_buckets; i++)
        bytes += sizeof *self->buckets[i] + self->buckets[i]->cap * sizeof(void *);
    return bytes;
}

/* --- the walk ----------------------------------------------------------- */

/* One source of candidates in rank order: a fitting bucket, or one extra
 * (then `items` points to its own entry and `extra` is the candidate). */
typedef struct {
    wz_cindex_entry_t *const *items;
    size_t n, pos;
    double km, penalty;
    WzCandidate *extra;
    wz_cindex_entry_t own;
    wz_cindex_entry_t *own_p;
} s_stream_t;

typedef struct {
    s_stream_t *streams;
    size_t *heap; /* stream indexes, a binary min-heap by each stream's head */
    size_t n;
    const wz_cindex_entry_t *const *hidden;
    size_t n_hidden;
} s_merge_t;

static bool s_hidden(const s_merge_t *m, const wz_cindex_entry_t *e)
{
    for (size_t i = 0; i < m->n_hidden; i++)
        if (m->hidden[i] == e)
            return true;
    return false;
}

/* Moves the stream past hidden members; false when it is exhausted. */
static bool s_settle(const s_merge_t *m, s_stream_t *s)
{
    while (s->pos < s->n && s_hidden(m, s->items[s->pos]))
        s->pos++;
    return s->pos < s->n;
}

/* wz_match_rank_cmp on the heads: urgency day, fit penalty, id. */
static bool s_before(const s_merge_t *m, size_t a, size_t b)
{
    const s_stream_t *x = &m->streams[a], *y = &m->streams[b];
    const wz_cindex_entry_t *p = x->items[x->pos], *q = y->items[y->pos];
    if (p->day != q->day)
        return p->day < q->day;
    if (x->penalty != y->penalty)
        return x->penalty < y->penalty;
    return strcmp(p->id, q->id) < 0;
}

static void s_down(s_merge_t *m, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, best = i;
        if (l < m->n && s_before(m, m->heap[l], m->heap[best]))
            best = l;
        if (r < m->n && s_before(m, m->heap[r], m->heap[best]))
            best = r;
        if (best == i)
            return;
        size_t t = m->heap[i];
        m->heap[i] = m->heap[best];
        m->heap[best] = t;
        i = best;
    }
}

static int s_push(WzCandidate ***list, size_t *n, size_t *cap, WzCandidate *c)
{
    if (*n == *cap) {
        size_t grown_cap = *cap ? *cap * 2 : 16;
        WzCandidate **grown = realloc(*list, grown_cap * sizeof *grown);
        if (!grown)
            return -1;
        *list = grown;
        *cap = grown_cap;
    }
    (*list)[(*n)++] = c;
    return 0;
}

void wz_cindex_walk_fini(wz_cindex_walk_t *walk)
{
    for (size_t i = 0; i < walk->n_opened; i++)
        protobuf_c_message_free_unpacked(&walk->opened[i]->base, NULL);
    free(walk->opened);
    free(walk->buckets);
    free(walk->bucket_store);
    free(walk->walked);
    free(walk->extra_keys);
    memset(walk, 0, sizeof *walk);
}

int wz_cindex_walk(wz_cindex_t *self, const wz_match_ctx_t *ctx, const WzVacancy *v,
                   const wz_cindex_entry_t *const *hidden, size_t n_hidden,
                   WzCandidate *const *extra, size_t n_extra, const WzCandidate *nominee,
                   wz_cindex_walk_t *out)
{
    memset(out, 0, sizeof *out);
    size_t n_src = self->n_buckets + n_extra, cap_opened = 0;
    out->bucket_store = calloc(n_src ? n_src : 1, sizeof *out->bucket_store);
    out->buckets = calloc(n_src ? n_src : 1, sizeof *out->buckets);
    s_merge_t m = {.hidden = hidden, .n_hidden = n_hidden};
    m.streams = calloc(n_src ? n_src : 1, sizeof *m.streams);
    m.heap = calloc(n_src ? n_src : 1, sizeof *m.heap);
    size_t *sizes = calloc(self->n_buckets ? self->n_buckets : 1, sizeof *sizes);
    out->extra_keys = calloc(n_extra ? n_extra : 1, sizeof *out->extra_keys);
    int rc = -1;
    if (!out->bucket_store || !out->buckets || !m.streams || !m.heap || !sizes ||
        !out->extra_keys)
        goto out;
    if (self->bulk)
        wz_cindex_bulk(self, false);

    /* Sizes as this transaction sees them. */
    for (size_t i = 0; i < self->n_buckets; i++)
        sizes[i] = self->buckets[i]->n;
    for (size_t i = 0; i < n_hidden; i++) {
        uint32_t b = hidden[i]->bucket;
        if (b && b <= self->n_buckets && sizes[b - 1] > 0)
            sizes[b - 1]--;
    }
    bool offerable = wz_match_vacancy_check(ctx, v) < 0;
    bool walk = offerable;
    if (ctx->nominee)
        walk = offerable && nominee && wz_match_check(ctx, v, nominee, NULL) < 0;

    for (size_t i = 0; i < n_src; i++) {
        const WzCandidate *key;
        size_t size;
        WzCandidate *x = i < self->n_buckets ? NULL : extra[i - self->n_buckets];
        if (!x) {
            key = &self->buckets[i]->key;
            size = sizes[i];
        } else {
            struct wz_cindex_key_t *k = &out->extra_keys[i - self->n_buckets];
            s_key_of(k, x);
            key = &k->key;
            size = wz_cindex_indexable(x) ? 1 : 0;
        }
        if (!size)
            continue;
        WzSnapshotBucket init = WOONZORG__V1__SNAPSHOT_BUCKET__INIT;
        WzSnapshotBucket *sb = &out->bucket_store[out->n_buckets];
        *sb = init;
        sb->key = (WzCandidate *)key;
        sb->size = (uint32_t)size;
        out->buckets[out->n_buckets++] = sb;
        if (!walk)
            continue;
        s_stream_t *s = &m.streams[m.n];
        if (wz_match_bucket_rule(ctx, v, key, &s->km, &s->penalty) >= 0)
            continue;
        if (!x) {
            s->items = self->buckets[i]->items;
            s->n = self->buckets[i]->n;
        } else {
            const WzDate *d = x->urgency_date;
            s->extra = x;
            s->own.id = x->id;
            s->own.day = (int32_t)wz_day_from_civil((int)d->year, (int)d->month, (int)d->day);
            s->own_p = &s->own;
            s->items = &s->own_p;
            s->n = 1;
        }
        s->pos = 0;
        if (s_settle(&m, s)) {
            m.heap[m.n] = m.n;
            m.n++;
        }
    }
    if (offerable && ctx->nominee && nominee && !walk) {
        /* An ineligible nominee: only it is looked at (wz_match_decide). */
        rc = s_push(&out->walked, &out->n_walked, &out->cap_walked, (WzCandidate *)nominee);
        goto out;
    }
    for (size_t i = m.n; i-- > 0;)
        s_down(&m, i);
    while (walk && m.n > 0) {
        s_stream_t *s = &m.streams[m.heap[0]];
        const wz_cindex_entry_t *e = s->items[s->pos++];
        WzCandidate *c = s->extra;
        if (!c) {
            c = self->open(self->open_arg, e);
            if (!c)
                goto out;
            if (s_push(&out->opened, &out->n_opened, &cap_opened, c) != 0) {
                protobuf_c_message_free_unpacked(&c->base, NULL);
                goto out;
            }
        }
        if (s_push(&out->walked, &out->n_walked, &out->cap_walked, c) != 0)
            goto out;
        if (ctx->nominee ? strcmp(c->id, ctx->nominee) == 0
                         : wz_match_candidate_rule(ctx, v, c, s->km) < 0)
            break;
        if (!s_settle(&m, s))
            m.heap[0] = m.heap[--m.n];
        s_down(&m, 0);
    }
    rc = 0;
out:
    free(m.streams);
    free(m.heap);
    free(sizes);
    if (rc != 0)
        wz_cindex_walk_fini(out);
    return rc;
}
