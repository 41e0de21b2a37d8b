/* wz_cindex.h - the active candidates of one region, indexed so that a
 * decision does not look at all of them (docs/performance.md, "What matching
 * needs"; architecture decision 9).
 *
 * Candidates are bucketed by every attribute the dwelling and scheme rules
 * test (group, care provider, care location, household size, age band,
 * income class, access needs: wz_match_bucket_rule), and each bucket is kept
 * in rank order (urgency date, then id). Within one bucket the fit penalty is
 * the same for every candidate (it depends on household size and care
 * location only), so the ranking's order within a bucket is (date, id), and a
 * k-way merge of the fitting buckets by (date, penalty, id) walks the region
 * exactly in wz_match's rank order. A ranked decision stops at the first
 * candidate the remaining rules (wz_match_candidate_rule) let through: it
 * costs one rule check per bucket plus the candidates walked, whatever the
 * region's size.
 *
 * The index does not hold candidates: it holds entries (wz_cindex_entry_t)
 * that the caller embeds in its own compact record of each candidate, and
 * asks the caller to open (unpack) a candidate only when the walk reaches
 * it. An entry must stay valid, with the same id and day, from
 * wz_cindex_add until wz_cindex_remove. Candidates that are not active with
 * a valid urgency date are not indexed (they can never be chosen; the
 * caller counts them). */
#ifndef WZ_CINDEX_H_INCLUDED
#define WZ_CINDEX_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wz_match.h"
#include "wz_proto.h"

typedef struct wz_cindex_t wz_cindex_t;

/* What the index keeps of one candidate, owned by the caller. */
typedef struct {
    const char *id;  /* NUL-terminated, unique in the region */
    int32_t day;     /* urgency date as a day number: set by wz_cindex_add */
    uint32_t bucket; /* set by the index: bucket + 1 while indexed, 0 when not */
} wz_cindex_entry_t;

/* The candidate of entry e, unpacked for the rules: a new message that the
 * walk frees (protobuf_c_message_free_unpacked); NULL on failure. */
typedef WzCandidate *(*wz_cindex_open_fn)(void *arg, const wz_cindex_entry_t *e);

/* What one walk found, for wz_match_decide and the decision snapshot. The
 * buckets' keys are borrowed from the index and the walk's inputs: valid
 * until the index changes. Freed with wz_cindex_walk_fini. */
typedef struct {
    WzSnapshotBucket **buckets; /* every non-empty bucket and indexable extra, with its size */
    size_t n_buckets;
    WzCandidate **walked; /* in rank order: opened (owned) or extras (borrowed) */
    size_t n_walked;
    WzSnapshotBucket *bucket_store; /* what buckets point to (owned) */
    size_t cap_walked;
    struct wz_cindex_key_t *extra_keys; /* the bucket attributes of the extras (owned) */
    WzCandidate **opened;               /* owned */
    size_t n_opened;
} wz_cindex_walk_t;

/* An empty index whose walks open entries with open(arg, entry); NULL on
 * OOM. */
wz_cindex_t *wz_cindex_new(wz_cindex_open_fn open, void *arg);
void wz_cindex_destroy(wz_cindex_t **self_p);

/* True when a and b share every bucket attribute (they would be in one
 * bucket; a snapshot's bucket key is such a candidate). */
bool wz_cindex_same_bucket(const WzCandidate *a, const WzCandidate *b);

/* True when c can be indexed: active, with a valid urgency date. */
bool wz_cindex_indexable(const WzCandidate *c);

/* Adds entry e (e->id set, not indexed) for candidate c (read during the
 * call only: its urgency date and bucket attributes) when c is indexable.
 * Returns 1 when added, 0 when not indexable, -1 on OOM (nothing changed).
 * While bulk mode is on (wz_cindex_bulk) additions are appended and sorted
 * once when it ends. */
int wz_cindex_add(wz_cindex_t *self, wz_cindex_entry_t *e, const WzCandidate *c);

/* Removes e; nothing when it is not indexed. */
void wz_cindex_remove(wz_cindex_t *self, wz_cindex_entry_t *e);

/* True when e is in the index. */
bool wz_cindex_contains(wz_cindex_t *self, const wz_cindex_entry_t *e);

/* Bulk mode for loading many candidates at once: on, additions are O(1);
 * off, every bucket is sorted (0, or -1 on OOM). */
int wz_cindex_bulk(wz_cindex_t *self, bool on);

/* Candidates indexed; buckets (non-empty or not); bytes the index itself
 * holds (buckets and their arrays, not the candidates). */
size_t wz_cindex_size(const wz_cindex_t *self);
size_t wz_cindex_buckets(const wz_cindex_t *self);
size_t wz_cindex_bytes(const wz_cindex_t *self);

/* Walks the index for vacancy v under ctx (as wz_match_decide wants it),
 * as if the entries hidden[0..n_hidden-1] were absent and the candidates
 * extra[0..n_extra-1] (indexable, borrowed) present: a
 * transaction's own changes over the committed index. Ranked mode
 * (ctx->nominee NULL) stops at the first eligible candidate; nominate mode
 * walks up to nominee (the nominated candidate as the caller holds it, NULL
 * when it is not in the region) only when nominee is eligible. Fills *out
 * (wz_cindex_walk_fini frees it); 0, or -1 on OOM. */
int wz_cindex_walk(wz_cindex_t *self, const wz_match_ctx_t *ctx, const WzVacancy *v,
                   const wz_cindex_entry_t *const *hidden, size_t n_hidden,
                   WzCandidate *const *extra, size_t n_extra, const WzCandidate *nominee,
                   wz_cindex_walk_t *out);

void wz_cindex_walk_fini(wz_cindex_walk_t *walk);

#endif
