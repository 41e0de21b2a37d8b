/* Unit tests of wz_bus: outbox publishing, exactly-once consumption, gap
 * detection, heartbeats and catch-up, on a real Redis and real sockets. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "wz_bus.h"
#include "wz_codec.h"
#include "wz_dead.h"
#include "wz_testenv.h"
#include "wz_testmain.h"
#include "wz_util.h"

static wz_testenv_t *env;
static wz_store_t *store;
static void *ctx;
static char endpoint[64];
static volatile sig_atomic_t stop_flag;

typedef struct {
    int fail_next;       /* apply fails this many times before succeeding */
    wz_pub_t *emit_to;   /* consumer that produces: emit one event per event */
    int done_calls;
    bool reject_poison;  /* events with actor "poison" always fail */
    int txns;            /* transactions apply was called in */
} consumer_t;

static int s_apply(void *arg, wz_txn_t *txn, const char *producer, const WzEvent *ev)
{
    consumer_t *c = arg;
    if (c->reject_poison && ev->actor && strcmp(ev->actor, "poison") == 0)
        return -1;
    if (c->fail_next > 0) {
        c->fail_next--;
        return -1;
    }
    if (!wz_txn_local(txn)) { /* the transaction's first event */
        wz_txn_set_local(txn, c, NULL);
        c->txns++;
    }
    if (wz_txn_cmd(txn, "RPUSH applied %s/%s", producer, ev->actor) != 0)
        return -1;
    if (c->emit_to) {
        WzEvent out = WOONZORG__V1__EVENT__INIT;
        out.actor = "consumer";
        if (!wz_txn_emit(txn, &out))
            return -1;
    }
    return 0;
}

static void s_done(void *arg, const char *producer, const WzEvent *ev)
{
    (void)producer;
    (void)ev;
    ((consumer_t *)arg)->done_calls++;
}

static long s_applied_count(void)
{
    redisReply *r = wz_store_cmd(store, "LLEN applied");
    ck_assert_ptr_nonnull(r);
    long n = (long)r->integer;
    freeReplyObject(r);
    return n;
}

static void s_produce(wz_pub_t *pub, const char *actor)
{
    wz_txn_t *txn = wz_txn_begin(store, pub, "zkij");
    ck_assert_ptr_nonnull(txn);
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.actor = (char *)actor;
    ck_assert(wz_txn_emit(txn, &ev) > 0);
    ck_assert_int_eq(wz_txn_commit(txn), 0);
    wz_txn_destroy(&txn);
}

typedef struct {
    long want;
    int64_t deadline;
    wz_pub_t *heartbeat;
} waiter_t;

static int s_until(wz_loop_t *loop, void *arg)
{
    (void)loop;
    waiter_t *w = arg;
    if (w->heartbeat)
        wz_pub_heartbeat(w->heartbeat);
    return s_applied_count() >= w->want || wz_mono_ms() > w->deadline ? -1 : 0;
}

/* Runs the loop until `want` events were applied or 10 s passed. */
static void s_run_until(wz_sub_t *sub, long want, int catch_up_ms, wz_pub_t *heartbeat)
{
    wz_loop_t *loop = wz_loop_new(&stop_flag);
    ck_assert_int_eq(wz_sub_attach(sub, loop, catch_up_ms), 0);
    waiter_t w = {want, wz_mono_ms() + 10000, heartbeat};
    wz_loop_add_timer(loop, 20, s_until, &w);
    ck_assert_int_eq(wz_loop_run(loop), 0);
    wz_loop_destroy(&loop);
}

static const char *const regions[] = {"zkij"};

static void setup(void)
{
    env = wz_testenv_new(false, 0);
    store = wz_testenv_store(env);
    ctx = zmq_ctx_new();
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", wz_test_free_port());
}

static void teardown(void)
{
    zmq_ctx_term(ctx);
    wz_testenv_destroy(&env);
}

START_TEST(test_events_arrive_once_in_order)
{
    wz_pub_t *pub = wz_pub_new(ctx, store, "intake", endpoint, NULL);
    ck_assert_ptr_nonnull(pub);
    consumer_t c = {0};
    wz_sub_t *sub = wz_sub_new(ctx, store, NULL, "audit", s_apply, s_done, &c, NULL);
    ck_assert_int_eq(wz_sub_follow(sub, "intake", endpoint, regions, 1), 0);
    for (int i = 0; i < 5; i++)
        s_produce(pub, i % 2 ? "odd" : "even");
    s_run_until(sub, 5, 100, pub);
    ck_assert_int_eq(s_applied_count(), 5);
    ck_assert_int_eq(c.done_calls, 5);
    ck_assert(wz_sub_cursor(sub, "intake", "zkij") == 5);

    redisReply *r = wz_store_cmd(store, "LRANGE applied 0 -1");
    ck_assert_str_eq(r->element[0]->str, "intake/even");
    ck_assert_str_eq(r->element[1]->str, "intake/odd");
    freeReplyObject(r);
    uint64_t cursor = 0;
    ck_assert_int_eq(wz_store_get_u64(store, "wz:{zkij}:cursor:audit:intake", &cursor), 1);
    ck_assert(cursor == 5);

    /* A consumer restarted from scratch replays nothing: the cursor is in Redis. */
    consumer_t c2 = {0};
    wz_sub_t *again = wz_sub_new(ctx, store, NULL, "audit", s_apply, NULL, &c2, NULL);
    ck_assert_int_eq(wz_sub_follow(again, "intake", endpoint, regions, 1), 0);
    ck_assert_int_eq(wz_sub_catch_up(again), 0);
    ck_assert_int_eq(s_applied_count(), 5);
    wz_sub_destroy(&again);
    wz_sub_destroy(&sub);
    wz_pub_destroy(&pub);
}
END_TEST

START_TEST(test_gap_and_heartbeat_trigger_catch_up)
{
    /* A second producer instance of the same stream whose PUB nobody
     * follows: its events reach Redis but are "dropped" on the wire. */
    char other[64];
    snprintf(other, sizeof other, "tcp://127.0.0.1:%d", wz_test_free_port());
    wz_pub_t *pub = wz_pub_new(ctx, store, "intake", endpoint, NULL);
    wz_pub_t *lost = wz_pub_new(ctx, store, "intake", other, NULL);
    ck_assert_ptr_nonnull(pub);
    ck_assert_ptr_nonnull(lost);
    consumer_t c = {0};
    wz_sub_t *sub = wz_sub_new(ctx, store, NULL, "matching", s_apply, NULL, &c, NULL);
    ck_assert_int_eq(wz_sub_follow(sub, "intake", endpoint, regions, 1), 0);
    ck_assert_int_eq(wz_pub_add_region(pub, "zkij"), 0); /* as services do at start */
    s_produce(lost, "one");
    s_produce(lost, "two");
    wz_pub_forget(pub, "zkij"); /* it must learn the stream moved on */
    /* The periodic catch-up is far away (60 s): only the heartbeat can tell. */
    s_run_until(sub, 2, 60000, pub);
    ck_assert_int_eq(s_applied_count(), 2);

    /* And a live event after a hole: seq 4 arrives while 3 was lost. */
    s_produce(lost, "three");
    wz_pub_forget(pub, "zkij");
    s_produce(pub, "four");
    s_run_until(sub, 4, 60000, pub);
    redisReply *r = wz_store_cmd(store, "LRANGE applied 0 -1");
    ck_assert_uint_eq(r->elements, 4);
    ck_assert_str_eq(r->element[2]->str, "intake/three");
    ck_assert_str_eq(r->element[3]->str, "intake/four");
    freeReplyObject(r);
    wz_sub_destroy(&sub);
    wz_pub_destroy(&lost);
    wz_pub_destroy(&pub);
}
END_TEST

/* The actors of the applied events, in order, joined by ",". */
static void s_applied_actors(char *out, size_t outlen)
{
    redisReply *r = wz_store_cmd(store, "LRANGE applied 0 -1");
    ck_assert_ptr_nonnull(r);
    out[0] = '\0';
    for (size_t i = 0; i < r->elements; i++) {
        const char *actor = strchr(r->element[i]->str, '/') + 1;
        size_t used = strlen(out);
        snprintf(out + used, outlen - used, "%s%s", i ? "," : "", actor);
    }
    freeReplyObject(r);
}

START_TEST(test_batches_commit_together_once)
{
    /* Catching up: ten events in transactions of four, once each, in order. */
    wz_pub_t *pub = wz_pub_new(ctx, store, "intake", endpoint, NULL);
    consumer_t c = {0};
    wz_sub_t *sub = wz_sub_new(ctx, store, NULL, "audit", s_apply, s_done, &c, NULL);
    wz_sub_set_batch(sub, 4);
    ck_assert_int_eq(wz_sub_follow(sub, "intake", endpoint, regions, 1), 0);
    static const char *const actors[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
    for (size_t i = 0; i < 10; i++)
        s_produce(pub, actors[i]);
    ck_assert_int_eq(wz_sub_catch_up(sub), 0);
    char got[256];
    s_applied_actors(got, sizeof got);
    ck_assert_str_eq(got, "a,b,c,d,e,f,g,h,i,j");
    ck_assert_int_eq(c.txns, 3);
    ck_assert_int_eq(c.done_calls, 10);
    uint64_t cursor = 0;
    ck_assert_int_eq(wz_store_get_u64(store, "wz:{zkij}:cursor:audit:intake", &cursor), 1);
    ck_assert(cursor == 10);
    ck_assert_int_eq(wz_sub_catch_up(sub), 0); /* nothing twice */
    ck_assert_int_eq(s_applied_count(), 10);

    /* Live: what waits on the socket when the loop looks is one batch. */
    s_run_until(sub, 10, 60000, pub); /* connected: a heartbeat came through */
    for (int i = 0; i < 5; i++)
        s_produce(pub, "live");
    struct timespec pause = {0, 300 * 1000 * 1000};
    nanosleep(&pause, NULL);
    c.txns = 0;
    s_run_until(sub, 15, 60000, NULL);
    ck_assert_int_eq(s_applied_count(), 15);
    /* Four and one when all five wait (300 ms is ample); never one each. */
    ck_assert_int_ge(c.txns, 2);
    ck_assert_int_le(c.txns, 4);
    ck_assert(wz_sub_cursor(sub, "intake", "zkij") == 15);
    wz_sub_destroy(&sub);
    wz_pub_destroy(&pub);
}
END_TEST

START_TEST(test_failed_batch_goes_one_by_one)
{
    /* A poison event in a batch: the batch commits nothing, the events go
     * one at a time, those before it are applied, it is dead-lettered on
     * its own after its attempts, and those after it flow. */
    wz_pub_t *pub = wz_pub_new(ctx, store, "intake", endpoint, NULL);
    consumer_t c = {.reject_poison = true};
    wz_sub_t *sub = wz_sub_new(ctx, store, NULL, "audit", s_apply, NULL, &c, NULL);
    wz_sub_set_batch(sub, 8);
    wz_sub_set_dead_letter(sub, 3, NULL, NULL);
    ck_assert_int_eq(wz_sub_follow(sub, "intake", endpoint, regions, 1), 0);
    s_produce(pub, "a");
    s_produce(pub, "b");
    s_produce(pub, "poison");
    s_produce(pub, "c");
    s_produce(pub, "d");
    ck_assert_int_eq(wz_sub_catch_up(sub), -1);
    char got[256];
    s_applied_actors(got, sizeof got);
    ck_assert_str_eq(got, "a,b");
    ck_assert_int_eq(wz_sub_catch_up(sub), -1);
    ck_assert_int_eq(wz_sub_catch_up(sub), 0);
    s_applied_actors(got, sizeof got);
    ck_assert_str_eq(got, "a,b,c,d");
    ck_assert(wz_sub_cursor(sub, "intake", "zkij") == 5);
    wz_dead_letter_t *all = NULL;
    size_t n = 0;
    ck_assert_int_eq(wz_dead_list(store, "zkij", "audit", &all, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert(all[0].seq == 3);
    ck_assert_uint_eq(all[0].attempts, 3);
    free(all);
    wz_sub_destroy(&sub);
    wz_pub_destroy(&pub);
}
END_TEST

START_TEST(test_failed_apply_is_retried_not_lost)
{
    wz_pub_t *pub = wz_pub_new(ctx, store, "intake", endpoint, NULL);
    consumer_t c = {.fail_next = 2};
    wz_sub_t *sub = wz_sub_new(ctx, store, NULL, "audit", s_apply, NULL, &c, NULL);
    ck_assert_int_eq(wz_sub_follow(sub, "intake", endpoint, regions, 1), 0);
    s_produce(pub, "a");
    s_produce(pub, "b");
    ck_assert_int_eq(wz_sub_catch_up(sub), -1);
    ck_assert_int_eq(s_applied_count(), 0);
    ck_assert_int_eq(wz_sub_catch_up(sub), -1);
    ck_assert_int_eq(wz_sub_catch_up(sub), 0);
    ck_assert_int_eq(s_applied_count(), 2);
    wz_sub_destroy(&sub);
    wz_pub_destroy(&pub);
}
END_TEST

START_TEST(test_consumer_output_commits_with_cursor)
{
    char out_ep[64];
    snprintf(out_ep, sizeof out_ep, "tcp://127.0.0.1:%d", wz_test_free_port());
    wz_pub_t *pub = wz_pub_new(ctx, store, "intake", endpoint, NULL);
    wz_pub_t *own = wz_pub_new(ctx, store, "matching", out_ep, NULL);
    consumer_t c = {.emit_to = own};
    wz_sub_t *sub = wz_sub_new(ctx, store, own, "matching", s_apply, NULL, &c, NULL);
    ck_assert_int_eq(wz_sub_follow(sub, "intake", endpoint, regions, 1), 0);
    for (int i = 0; i < 3; i++)
        s_produce(pub, "x");
    ck_assert_int_eq(wz_sub_catch_up(sub), 0);
    ck_assert_int_eq(wz_sub_catch_up(sub), 0);
    redisReply *r = wz_store_cmd(store, "XLEN wz:{zkij}:stream:matching");
    ck_assert_int_eq(r->integer, 3);
    freeReplyObject(r);
    uint64_t last = 0;
    ck_assert_int_eq(wz_pub_last_seq(own, "zkij", &last), 0);
    ck_assert(last == 3);
    wz_sub_destroy(&sub);
    wz_pub_destroy(&own);
    wz_pub_destroy(&pub);
}
END_TEST

START_TEST(test_redis_away_then_nothing_applied)
{
    wz_pub_t *pub = wz_pub_new(ctx, store, "intake", endpoint, NULL);
    s_produce(pub, "a");
    consumer_t c = {0};
    wz_sub_t *sub = wz_sub_new(ctx, store, NULL, "audit", s_apply, NULL, &c, NULL);
    ck_assert_int_eq(wz_sub_follow(sub, "intake", endpoint, regions, 1), 0);
    wz_testenv_kill_redis(env);
    ck_assert_int_eq(wz_sub_catch_up(sub), -1);
    ck_assert(wz_sub_cursor(sub, "intake", "zkij") == 0);
    wz_sub_destroy(&sub);
    wz_pub_destroy(&pub);
}
END_TEST

START_TEST(test_poison_set_aside_after_attempts_then_replayed)
{
    char out_ep[64];
    snprintf(out_ep, sizeof out_ep, "tcp://127.0.0.1:%d", wz_test_free_port());
    wz_pub_t *pub = wz_pub_new(ctx, store, "intake", endpoint, NULL);
    wz_pub_t *own = wz_pub_new(ctx, store, "matching", out_ep, NULL);
    consumer_t c = {.reject_poison = true};
    wz_sub_t *sub = wz_sub_new(ctx, store, own, "matching", s_apply, s_done, &c, NULL);
    wz_sub_set_dead_letter(sub, 3, NULL, NULL);
    ck_assert_int_eq(wz_sub_follow(sub, "intake", endpoint, regions, 1), 0);
    s_produce(pub, "poison");
    s_produce(pub, "fine");
    /* Two failures: still waiting, nothing behind it applied. */
    ck_assert_int_eq(wz_sub_catch_up(sub), -1);
    ck_assert_int_eq(wz_sub_catch_up(sub), -1);
    ck_assert_int_eq(s_applied_count(), 0);
    wz_dead_letter_t *all = NULL;
    size_t n = 9;
    ck_assert_int_eq(wz_dead_list(store, "zkij", "matching", &all, &n), 0);
    ck_assert_uint_eq(n, 0);
    /* The third: set aside with the cursor, and the rest flows. */
    ck_assert_int_eq(wz_sub_catch_up(sub), 0);
    ck_assert_int_eq(s_applied_count(), 1);
    ck_assert(wz_sub_cursor(sub, "intake", "zkij") == 2);
    ck_assert_int_eq(wz_dead_list(store, "zkij", "matching", &all, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert(all[0].seq == 1);
    ck_assert_str_eq(all[0].producer, "intake");
    ck_assert_str_eq(all[0].event_id, "intake:zkij:1");
    ck_assert_uint_eq(all[0].attempts, 3);
    ck_assert_msg(strstr(all[0].reason, "failed 3 times") != NULL, "%s", all[0].reason);
    free(all);
    /* Its audit entry is on the consumer's own outbox. */
    redisReply *r = wz_store_cmd(store, "XRANGE wz:{zkij}:stream:matching - +");
    ck_assert_uint_eq(r->elements, 1);
    WzEvent *note = wz_event_unpack((const uint8_t *)r->element[0]->element[1]->element[1]->str,
                                    r->element[0]->element[1]->element[1]->len);
    freeReplyObject(r);
    ck_assert_ptr_nonnull(note);
    ck_assert_int_eq(note->payload_case, WOONZORG__V1__EVENT__PAYLOAD_EVENT_DEAD_LETTERED);
    ck_assert_str_eq(note->event_dead_lettered->consumer, "matching");
    ck_assert(note->event_dead_lettered->seq == 1);
    WZ_FREE_UNPACKED(note);

    /* Fixed: a replay applies it once and removes the letter. */
    c.reject_poison = false;
    ck_assert_int_eq(wz_dead_request_replay(store, "zkij", "matching", "intake", 1), 0);
    ck_assert_int_eq(wz_dead_list(store, "zkij", "matching", &all, &n), 0);
    ck_assert(n == 1 && all[0].replay_requested);
    free(all);
    ck_assert_int_eq(wz_sub_replay(sub), 0);
    ck_assert_int_eq(s_applied_count(), 2);
    ck_assert_int_eq(wz_sub_replay(sub), 0);
    ck_assert_int_eq(s_applied_count(), 2);
    ck_assert_int_eq(wz_dead_list(store, "zkij", "matching", &all, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(wz_dead_request_replay(store, "zkij", "matching", "intake", 1), 1);
    wz_sub_destroy(&sub);
    wz_pub_destroy(&own);
    wz_pub_destroy(&pub);
}
END_TEST

/* Intake's stream starts with an entry no consumer can read. */
static void s_unreadable_first_event(void)
{
    static const char garbage[] = "\xff\xff\xff";
    redisReply *r =
        wz_store_cmd(store, "XADD wz:{zkij}:stream:intake 1-0 e %b", garbage, sizeof garbage - 1);
    ck_assert_ptr_nonnull(r);
    freeReplyObject(r);
}

START_TEST(test_unreadable_event_set_aside_at_once)
{
    s_unreadable_first_event();
    wz_pub_t *pub = wz_pub_new(ctx, store, "intake", endpoint, NULL);
    s_produce(pub, "after");
    consumer_t c = {0};
    wz_sub_t *sub = wz_sub_new(ctx, store, NULL, "audit", s_apply, NULL, &c, NULL);
    ck_assert_int_eq(wz_sub_follow(sub, "intake", endpoint, regions, 1), 0);
    ck_assert_int_eq(wz_sub_catch_up(sub), 0);
    ck_assert_int_eq(s_applied_count(), 1);
    wz_dead_letter_t *all = NULL;
    size_t n = 0;
    ck_assert_int_eq(wz_dead_list(store, "zkij", "audit", &all, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(all[0].reason, "unreadable event");
    ck_assert_str_eq(all[0].event_id, "");
    free(all);
    wz_sub_destroy(&sub);
    wz_pub_destroy(&pub);
}
END_TEST

/* A poison event (always refused by the consumer) that registers candidate id. */
static void s_produce_registration(wz_pub_t *pub, const char *id)
{
    WzCandidate cand = WOONZORG__V1__CANDIDATE__INIT;
    cand.id = (char *)id;
    cand.consent = true;
    Woonzorg__V1__CandidateRegistered body = WOONZORG__V1__CANDIDATE_REGISTERED__INIT;
    body.candidate = &cand;
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.actor = "poison";
    ev.payload_case = WOONZORG__V1__EVENT__PAYLOAD_CANDIDATE_REGISTERED;
    ev.candidate_registered = &body;
    wz_txn_t *txn = wz_txn_begin(store, pub, "zkij");
    ck_assert_ptr_nonnull(txn);
    ck_assert(wz_txn_emit(txn, &ev) > 0);
    ck_assert_int_eq(wz_txn_commit(txn), 0);
    wz_txn_destroy(&txn);
}

static size_t s_dead_count(const char *consumer)
{
    wz_dead_letter_t *all = NULL;
    size_t n = 0;
    ck_assert_int_eq(wz_dead_list(store, "zkij", consumer, &all, &n), 0);
    free(all);
    return n;
}

START_TEST(test_erasure_reaches_the_dead_letters)
{
    s_unreadable_first_event();
    wz_pub_t *pub = wz_pub_new(ctx, store, "intake", endpoint, NULL);
    s_produce_registration(pub, "kam-1");
    s_produce_registration(pub, "kam-2");
    consumer_t c = {.reject_poison = true};
    wz_sub_t *sub = wz_sub_new(ctx, store, NULL, "audit", s_apply, NULL, &c, NULL);
    wz_sub_set_dead_letter(sub, 1, NULL, NULL);
    ck_assert_int_eq(wz_sub_follow(sub, "intake", endpoint, regions, 1), 0);
    for (int i = 0; i < 10 && wz_sub_cursor(sub, "intake", "zkij") < 3; i++)
        wz_sub_catch_up(sub);
    ck_assert_uint_eq(s_dead_count("audit"), 3);

    /* kam-1's provider withdraws it: its letter goes with the withdrawal;
     * kam-2's stays, and so does the unreadable one (nobody's to say). */
    Woonzorg__V1__CandidateWithdrawn wd = WOONZORG__V1__CANDIDATE_WITHDRAWN__INIT;
    wd.candidate_id = "kam-1";
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.actor = "ribw";
    ev.payload_case = WOONZORG__V1__EVENT__PAYLOAD_CANDIDATE_WITHDRAWN;
    ev.candidate_withdrawn = &wd;
    wz_txn_t *txn = wz_txn_begin(store, pub, "zkij");
    ck_assert(wz_txn_emit(txn, &ev) > 0);
    ck_assert_int_eq(wz_txn_commit(txn), 0);
    wz_txn_destroy(&txn);
    ck_assert_int_eq(wz_sub_catch_up(sub), 0);
    ck_assert(wz_sub_cursor(sub, "intake", "zkij") == 4);
    wz_dead_letter_t *all = NULL;
    size_t n = 0;
    ck_assert_int_eq(wz_dead_list(store, "zkij", "audit", &all, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert(all[0].seq == 1 && all[1].seq == 3);
    free(all);
    wz_sub_destroy(&sub);
    wz_pub_destroy(&pub);
}
END_TEST

START_TEST(test_dead_letters_kept_for_the_retention_period)
{
    wz_pub_t *pub = wz_pub_new(ctx, store, "intake", endpoint, NULL);
    s_produce(pub, "poison");
    consumer_t c = {.reject_poison = true};
    wz_sub_t *sub = wz_sub_new(ctx, store, NULL, "audit", s_apply, NULL, &c, NULL);
    wz_sub_set_dead_letter(sub, 1, NULL, NULL);
    ck_assert_int_eq(wz_sub_follow(sub, "intake", endpoint, regions, 1), 0);
    ck_assert_int_eq(wz_sub_catch_up(sub), 0);
    ck_assert_uint_eq(s_dead_count("audit"), 1);
    /* Kept by default, and while younger than the period. */
    ck_assert_int_eq(wz_sub_replay(sub), 0);
    ck_assert_uint_eq(s_dead_count("audit"), 1);
    wz_sub_set_dead_letter_retention(sub, 60000);
    ck_assert_int_eq(wz_sub_replay(sub), 0);
    ck_assert_uint_eq(s_dead_count("audit"), 1);
    /* Older than the period: gone, even with a replay asked for. */
    ck_assert_int_eq(wz_dead_request_replay(store, "zkij", "audit", "intake", 1), 0);
    wz_sub_set_dead_letter_retention(sub, 20);
    nanosleep(&(struct timespec){.tv_nsec = 60 * 1000 * 1000}, NULL);
    ck_assert_int_eq(wz_sub_replay(sub), 0);
    ck_assert_uint_eq(s_dead_count("audit"), 0);
    ck_assert_int_eq(s_applied_count(), 0);
    wz_sub_destroy(&sub);
    wz_pub_destroy(&pub);
}
END_TEST

static void s_set(const char *key, const char *value)
{
    redisReply *r = wz_store_cmd(store, "SET %s %s", key, value);
    ck_assert_ptr_nonnull(r);
    freeReplyObject(r);
}

static long long s_xlen(const char *key)
{
    redisReply *r = wz_store_cmd(store, "XLEN %s", key);
    ck_assert_ptr_nonnull(r);
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

START_TEST(test_trim_only_below_every_consumer)
{
    wz_pub_t *pub = wz_pub_new(ctx, store, "intake", endpoint, NULL);
    ck_assert_int_eq(wz_pub_add_region(pub, "zkij"), 0);
    const char *const consumers[] = {"matching", "audit"};
    ck_assert_int_eq(wz_pub_set_consumers(pub, consumers, 2, 1000), 0);
    for (int i = 0; i < 5; i++)
        s_produce(pub, "x");
    const char *stream = "wz:{zkij}:stream:intake";
    /* audit has no cursor yet: nothing goes, however far matching is. */
    s_set("wz:{zkij}:cursor:matching:intake", "5");
    ck_assert_int_eq(wz_pub_trim(pub), 0);
    ck_assert_int_eq(s_xlen(stream), 5);
    /* Only what both applied, keeping the entry at the lowest cursor. */
    s_set("wz:{zkij}:cursor:audit:intake", "3");
    ck_assert_int_eq(wz_pub_trim(pub), 2);
    ck_assert_int_eq(s_xlen(stream), 3);
    /* Everything applied: the newest entry stays, and with it the sequence. */
    s_set("wz:{zkij}:cursor:audit:intake", "5");
    ck_assert_int_eq(wz_pub_trim(pub), 2);
    ck_assert_int_eq(s_xlen(stream), 1);
    wz_pub_forget(pub, "zkij");
    uint64_t last = 0;
    ck_assert_int_eq(wz_pub_last_seq(pub, "zkij", &last), 0);
    ck_assert(last == 5);
    s_produce(pub, "y");
    redisReply *r = wz_store_cmd(store, "XREVRANGE %s + - COUNT 1", stream);
    ck_assert_str_eq(r->element[0]->element[0]->str, "6-0");
    freeReplyObject(r);
    wz_pub_destroy(&pub);
}
END_TEST

int main(void)
{
    TCase *tc = wz_test_case(
        "bus", 40,
        (const TTest *const[]){
            test_events_arrive_once_in_order, test_gap_and_heartbeat_trigger_catch_up,
            test_batches_commit_together_once, test_failed_batch_goes_one_by_one,
            test_failed_apply_is_retried_not_lost, test_consumer_output_commits_with_cursor,
            test_redis_away_then_nothing_applied,
            test_poison_set_aside_after_attempts_then_replayed,
            test_unreadable_event_set_aside_at_once, test_erasure_reaches_the_dead_letters,
            test_dead_letters_kept_for_the_retention_period, test_trim_only_below_every_consumer,
            NULL});
    tcase_add_checked_fixture(tc, setup, teardown);
    return wz_test_run("wz_bus", (TCase *const[]){tc, NULL});
}
