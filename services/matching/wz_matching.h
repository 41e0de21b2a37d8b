/* wz_matching.h - the matching service's logic: it follows intake's events,
 * keeps the lifecycle of vacancies, candidates and proposals in Redis
 * (m:vacancy, m:candidate, m:candidates, m:tried, m:open, proposal,
 * deadlines; see docs/architecture.md), chooses candidates with wz_match and
 * emits ProposalCreated, ProposalExpired, ProposalCancelled, VacancyReleased
 * and VacancyLet on its own outbox.
 *
 * Every change commits in the consumer's transaction together with the
 * events it causes and the consumer cursor, so a replayed event changes
 * nothing. The deadline timer runs one transaction per expired proposal. */
#ifndef WZ_MATCHING_H_INCLUDED
#define WZ_MATCHING_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "wz_bus.h"
#include "wz_log.h"
#include "wz_loop.h"
#include "wz_metrics.h"
#include "wz_policy.h"
#include "wz_store.h"

typedef struct wz_matching_t wz_matching_t;

/* Creates the logic over store, pub (matching's own producer), policy and
 * log; all borrowed and must outlive it. NULL on OOM. */
wz_matching_t *wz_matching_new(wz_store_t *store, wz_pub_t *pub, const wz_policy_t *policy,
                               wz_log_t *log);
/* Records the time of every choice in metrics (borrowed, may be NULL). */
void wz_matching_set_metrics(wz_matching_t *self, wz_metrics_t *metrics);
/* Restricts the deadline timer to the regions this replica owns (borrowed,
 * must outlive it); by default it runs every region of the policy. */
void wz_matching_set_regions(wz_matching_t *self, const char *const *regions, size_t n);
/* Housed and withdrawn candidates are purged this many days later
 * (retention.candidate_days; WZ_MATCHING_RETENTION_DAYS until set). */
#define WZ_MATCHING_RETENTION_DAYS 90
void wz_matching_set_retention(wz_matching_t *self, int days);
/* Uses policy (borrowed) from now on: after a reload (see wz_runtime_reload). */
void wz_matching_set_policy(wz_matching_t *self, const wz_policy_t *policy);
/* Destroys it; accepts NULL and nulls the pointer. */
void wz_matching_destroy(wz_matching_t **self_p);

/* The consumer's apply function (a wz_sub_apply_fn; arg is the
 * wz_matching_t): applies one event of producer "intake" inside txn.
 * Events of other producers, of unknown regions or about unknown records are
 * passed over (0, with a warning where it means something is off).
 * Returns -1 when Redis failed (nothing is committed; the bus retries). */
int wz_matching_apply(void *arg, wz_txn_t *txn, const char *producer, const WzEvent *ev);

/* Expires, in every region of the policy, each proposal still SENT whose
 * deadline is at or before now_ms (at most 100 per region and call): the
 * proposal becomes EXPIRED, the candidate active again, ProposalExpired is
 * emitted and the vacancy matched again, in one transaction per proposal.
 * Returns how many expired, or -1 when Redis failed (the rest waits for the
 * next call). */
int wz_matching_expire(wz_matching_t *self, int64_t now_ms);

/* Sends a DeadlineReminder for each open proposal whose current step's
 * reminder time is at or before now_ms. Returns how many, or -1. */
int wz_matching_remind(wz_matching_t *self, int64_t now_ms);

/* Nominate mode: for each vacancy whose care provider did not nominate an
 * eligible candidate by the deadline, asks the next care provider of the
 * rotation (or releases the vacancy when all were asked). Returns how many, or -1. */
int wz_matching_nominations_due(wz_matching_t *self, int64_t now_ms);

/* Batch schemes: assigns each batch whose time is up jointly (see
 * docs/matching.md). Returns how many batches, or -1. */
int wz_matching_batches_due(wz_matching_t *self, int64_t now_ms);

/* Lapses each candidate (still active or registered) whose urgency window
 * ended at or before now_ms: state lapsed, UrgencyLapsed emitted (the
 * municipality is told). Returns how many, or -1. */
int wz_matching_lapse(wz_matching_t *self, int64_t now_ms);

/* Refusals waiting for their municipality's verdict (refusals.
 * municipality_confirms) whose confirm_working_days ended at or before
 * now_ms without one: they do not count (refusal_pending cleared,
 * verdict_due_ms kept). Returns how many, or -1. */
int wz_matching_verdicts_due(wz_matching_t *self, int64_t now_ms);

/* Purges each housed or withdrawn candidate whose retention ended at or
 * before now_ms: every Redis record of it (intake's and matching's) goes in
 * one transaction with its m:purge entry, and CandidatePurged is emitted
 * (the audit service then destroys its audit key), and every decision
 * snapshot that lists it is scrubbed of its attributes. Consent withdrawal
 * purges at once, while applying the update. The first call after the view
 * of a region is (re)loaded schedules the housed and withdrawn candidates
 * that have no purge time (from before retention existed) at now_ms plus
 * the retention. Returns how many were purged, or -1. */
int wz_matching_purge(wz_matching_t *self, int64_t now_ms);

/* Reads the candidates of every owned region into memory (the view every
 * decision runs on; see docs/architecture.md). Call at start; a region not
 * loaded (Redis down) is loaded on its first decision, and again after a
 * reconnect. Returns 0, or -1 when a region could not be read. */
int wz_matching_load(wz_matching_t *self);

/* How many candidates of region are in memory (0 when not loaded). */
size_t wz_matching_candidates(wz_matching_t *self, const char *region);

/* Bytes the view of region asks of malloc (its candidates' records, ids and
 * entries, its arrays and its index), without the allocator's own overhead;
 * *record_bytes (when not NULL) the packed records alone. 0 when not loaded. */
size_t wz_matching_view_bytes(wz_matching_t *self, const char *region, size_t *record_bytes);

/* Compares the in-memory candidates of region with Redis (every record the
 * region's index names, byte for byte), and the candidate index with them
 * (exactly the active ones indexed). 0 equal, 1 different or not loaded
 * (why says how), -1 Redis failed. For tests and operators. */
int wz_matching_verify(wz_matching_t *self, const char *region, char *why, size_t whylen);

/* Loop timer: reminders, expiries, lapses and purges at the current time; arg is the
 * wz_matching_t. Always returns 0 (a failure is retried on the next tick). */
int wz_matching_on_timer(wz_loop_t *loop, void *arg);

#endif
