/* Unit tests of wz_audit: the hash chain on a real Redis, verification of a
 * tampered chain (altered, removed, reordered, cut off), the consumer over
 * real producers, and the query handler. */
#include <check.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "wz_audit.h"
#include "wz_bus.h"
#include "wz_chain.h"
#include "wz_codec.h"
#include "wz_shred.h"
#include "wz_testenv.h"
#include "wz_testmain.h"
#include "wz_util.h"

#define CODE(x) WOONZORG__V1__CODE__CODE_##x
#define AUDIT_KEY "wz:{zkij}:audit"

static wz_testenv_t *env;
static wz_store_t *store;
static void *ctx;
static wz_runtime_t rt;

static wz_municipality_t s_municipalities[] = {{"velsen", "Velsen", "GM0453", NULL, 0}};
static wz_region_t s_regions[] = {
    {"zkij", "Zuid-Kennemerland en IJmond", 5, 0, s_municipalities, 1}};
static wz_party_t s_parties[] = {
    {"pre-wonen", "Pré Wonen", WZ_ROLE_CORPORATION, "zkij", "", ""},
    {"gem-velsen", "Gemeente Velsen", WZ_ROLE_MUNICIPALITY, "zkij", "velsen", ""},
};
static wz_policy_t s_policy = {
    .version = "test-1", .regions = s_regions, .n_regions = 1, .parties = s_parties, .n_parties = 2,
};

static void setup(void)
{
    ck_assert_int_ge(sodium_init(), 0);
    env = wz_testenv_new(false, 0);
    store = wz_testenv_store(env);
    ctx = zmq_ctx_new();
    memset(&rt, 0, sizeof rt);
    rt.service = "audit";
    rt.policy = &s_policy;
    rt.store = store;
    rt.ctx = ctx;
    rt.settings.catch_up_ms = 100;
    snprintf(rt.settings.intake.publish, WZ_ENDPOINT_MAX, "tcp://127.0.0.1:%d",
             wz_test_free_port());
    snprintf(rt.settings.matching.publish, WZ_ENDPOINT_MAX, "tcp://127.0.0.1:%d",
             wz_test_free_port());
    snprintf(rt.settings.notification.publish, WZ_ENDPOINT_MAX, "tcp://127.0.0.1:%d",
             wz_test_free_port());
}

static void teardown(void)
{
    zmq_ctx_term(ctx);
    wz_testenv_destroy(&env);
}

/* Chains one event "<producer>:zkij:<n>" with actor as payload marker. */
static void s_append(const char *producer, int n, const char *actor)
{
    char id[64];
    snprintf(id, sizeof id, "%s:zkij:%d", producer, n);
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.id = id;
    ev.region = "zkij";
    ev.actor = (char *)actor;
    ev.occurred_ms = 1700000000000 + n;
    wz_txn_t *txn = wz_txn_begin(store, NULL, "zkij");
    ck_assert_ptr_nonnull(txn);
    ck_assert_int_eq(wz_audit_append(store, txn, &ev, NULL), 0);
    ck_assert_int_eq(wz_txn_commit(txn), 0);
    wz_txn_destroy(&txn);
}

static void s_chain(int n)
{
    for (int i = 1; i <= n; i++)
        s_append("intake", i, i % 2 ? "pre-wonen" : "gem-velsen");
}

static long long s_len(const char *key)
{
    redisReply *r = wz_store_cmd(store, "XLEN %s", key);
    ck_assert_ptr_nonnull(r);
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

static int s_verify(uint64_t *checked, uint64_t *bad, char *why, size_t whylen)
{
    return wz_audit_verify(store, "zkij", checked, bad, why, whylen);
}

/* One stored entry, copied out of Redis so the stream can be rebuilt. */
typedef struct {
    char e[512], src[64], prev[32], hash[32];
    size_t elen;
} entry_t;

static int s_read_all(entry_t *out, int max)
{
    redisReply *r = wz_store_cmd(store, "XRANGE %s - +", AUDIT_KEY);
    ck_assert_ptr_nonnull(r);
    int n = (int)r->elements;
    ck_assert_int_le(n, max);
    for (int i = 0; i < n; i++) {
        redisReply *f = r->element[i]->element[1];
        for (size_t j = 0; j + 1 < f->elements; j += 2) {
            const char *name = f->element[j]->str;
            redisReply *v = f->element[j + 1];
            if (!strcmp(name, "e")) {
                ck_assert_uint_le(v->len, sizeof out[i].e);
                memcpy(out[i].e, v->str, v->len);
                out[i].elen = v->len;
            } else if (!strcmp(name, "src")) {
                snprintf(out[i].src, sizeof out[i].src, "%s", v->str);
            } else if (!strcmp(name, "prev")) {
                ck_assert_uint_eq(v->len, 32);
                memcpy(out[i].prev, v->str, 32);
            } else if (!strcmp(name, "hash")) {
                ck_assert_uint_eq(v->len, 32);
                memcpy(out[i].hash, v->str, 32);
            }
        }
    }
    freeReplyObject(r);
    return n;
}

/* Replaces the stream with entries, in the given order, ids 1..n. */
static void s_rewrite(const entry_t *entries, const int *order, int n)
{
    redisReply *r = wz_store_cmd(store, "DEL %s", AUDIT_KEY);
    ck_assert_ptr_nonnull(r);
    freeReplyObject(r);
    for (int i = 0; i < n; i++) {
        const entry_t *e = &entries[order[i]];
        r = wz_store_cmd(store, "XADD %s %d-0 e %b src %s prev %b hash %b", AUDIT_KEY, i + 1, e->e,
                         e->elen, e->src, e->prev, (size_t)32, e->hash, (size_t)32);
        ck_assert_ptr_nonnull(r);
        freeReplyObject(r);
    }
}

START_TEST(test_chain_links_and_hashes)
{
    s_chain(3);
    ck_assert_int_eq(s_len(AUDIT_KEY), 3);
    entry_t e[3];
    ck_assert_int_eq(s_read_all(e, 3), 3);
    ck_assert_str_eq(e[0].src, "intake:zkij:1");
    ck_assert_str_eq(e[2].src, "intake:zkij:3");

    /* Recompute independently: SHA-256 over one buffer prev || seq (BE) || e. */
    uint8_t zero[32] = {0};
    ck_assert_mem_eq(e[0].prev, zero, 32);
    for (int i = 0; i < 3; i++) {
        uint8_t buf[32 + 8 + 512];
        memcpy(buf, i == 0 ? (const char *)zero : e[i - 1].hash, 32);
        memset(buf + 32, 0, 8);
        buf[39] = (uint8_t)(i + 1);
        memcpy(buf + 40, e[i].e, e[i].elen);
        uint8_t hash[32];
        crypto_hash_sha256(hash, buf, 40 + e[i].elen);
        ck_assert_mem_eq(hash, e[i].hash, 32);
        if (i > 0) ck_assert_mem_eq(e[i].prev, e[i - 1].hash, 32);
        WzEvent *ev = wz_event_unpack(e[i].e, e[i].elen);
        ck_assert_ptr_nonnull(ev);
        ck_assert_str_eq(ev->region, "zkij");
        WZ_FREE_UNPACKED(ev);
    }

    uint64_t checked = 0, bad = 99;
    char why[256];
    ck_assert_int_eq(s_verify(&checked, &bad, why, sizeof why), 0);
    ck_assert_uint_eq(checked, 3);
    ck_assert_uint_eq(bad, 0);
}
END_TEST

START_TEST(test_empty_chain_is_intact)
{
    uint64_t checked = 9, bad = 9;
    char why[256];
    ck_assert_int_eq(s_verify(&checked, &bad, why, sizeof why), 0);
    ck_assert_uint_eq(checked, 0);
    ck_assert_uint_eq(bad, 0);
}
END_TEST

START_TEST(test_verify_finds_altered_entry)
{
    s_chain(5);
    entry_t e[5];
    ck_assert_int_eq(s_read_all(e, 5), 5);
    /* Change who did it in entry 3, keep its stored hashes. */
    WzEvent *ev = wz_event_unpack(e[2].e, e[2].elen);
    ck_assert_ptr_nonnull(ev);
    char *old = ev->actor;
    ev->actor = "ymere";
    size_t len = 0;
    uint8_t *bytes = wz_codec_pack(&ev->base, &len);
    ev->actor = old;
    WZ_FREE_UNPACKED(ev);
    ck_assert_uint_le(len, sizeof e[2].e);
    memcpy(e[2].e, bytes, len);
    e[2].elen = len;
    free(bytes);
    const int order[] = {0, 1, 2, 3, 4};
    s_rewrite(e, order, 5);

    uint64_t checked = 0, bad = 0;
    char why[256];
    ck_assert_int_eq(s_verify(&checked, &bad, why, sizeof why), 1);
    ck_assert_uint_eq(bad, 3);
    ck_assert_uint_eq(checked, 2);
    ck_assert_msg(strstr(why, "altered") != NULL, "%s", why);
}
END_TEST

START_TEST(test_verify_finds_removed_entry)
{
    s_chain(4);
    redisReply *r = wz_store_cmd(store, "XDEL %s 2-0", AUDIT_KEY);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->integer, 1);
    freeReplyObject(r);
    uint64_t checked = 0, bad = 0;
    char why[256];
    ck_assert_int_eq(s_verify(&checked, &bad, why, sizeof why), 1);
    ck_assert_uint_eq(bad, 2);
    ck_assert_uint_eq(checked, 1);
    ck_assert_msg(strstr(why, "missing") != NULL, "%s", why);

    /* Renumbering to hide the hole breaks the link instead. */
    entry_t e[4];
    ck_assert_int_eq(s_read_all(e, 4), 3);
    const int order[] = {0, 1, 2};
    s_rewrite(e, order, 3);
    ck_assert_int_eq(s_verify(&checked, &bad, why, sizeof why), 1);
    ck_assert_uint_eq(bad, 2);
    ck_assert_msg(strstr(why, "does not link") != NULL, "%s", why);
}
END_TEST

START_TEST(test_verify_finds_reordered_entries)
{
    s_chain(4);
    entry_t e[4];
    ck_assert_int_eq(s_read_all(e, 4), 4);
    const int order[] = {0, 2, 1, 3};
    s_rewrite(e, order, 4);
    uint64_t checked = 0, bad = 0;
    char why[256];
    ck_assert_int_eq(s_verify(&checked, &bad, why, sizeof why), 1);
    ck_assert_uint_eq(bad, 2);
    ck_assert_uint_eq(checked, 1);
}
END_TEST

START_TEST(test_verify_finds_cut_off_tail)
{
    s_chain(3);
    /* What the consumer would have written with those three entries. */
    redisReply *r = wz_store_cmd(store, "SET wz:{zkij}:cursor:audit:intake 3");
    freeReplyObject(r);
    uint64_t checked = 0, bad = 0;
    char why[256];
    ck_assert_int_eq(s_verify(&checked, &bad, why, sizeof why), 0);
    r = wz_store_cmd(store, "XDEL %s 3-0", AUDIT_KEY);
    freeReplyObject(r);
    ck_assert_int_eq(s_verify(&checked, &bad, why, sizeof why), 1);
    ck_assert_uint_eq(checked, 2);
    ck_assert_uint_eq(bad, 3);
}
END_TEST

START_TEST(test_damaged_head_is_not_extended)
{
    redisReply *r = wz_store_cmd(store, "XADD %s 1-0 e x src y", AUDIT_KEY);
    freeReplyObject(r);
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.id = "intake:zkij:1";
    ev.region = "zkij";
    wz_txn_t *txn = wz_txn_begin(store, NULL, "zkij");
    ck_assert_ptr_nonnull(txn);
    ck_assert_int_eq(wz_audit_append(store, txn, &ev, NULL), -1);
    wz_txn_destroy(&txn);
    ck_assert_int_eq(s_len(AUDIT_KEY), 1);
}
END_TEST

typedef struct {
    long long want;
    int64_t deadline;
} wait_t;

static int s_until(wz_loop_t *loop, void *arg)
{
    (void)loop;
    const wait_t *w = arg;
    return s_len(AUDIT_KEY) >= w->want || wz_mono_ms() > w->deadline ? -1 : 0;
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

START_TEST(test_consumer_chains_every_producer_once)
{
    wz_pub_t *intake = wz_pub_new(ctx, store, "intake", rt.settings.intake.publish, NULL);
    wz_pub_t *matching = wz_pub_new(ctx, store, "matching", rt.settings.matching.publish, NULL);
    ck_assert_ptr_nonnull(intake);
    ck_assert_ptr_nonnull(matching);
    wz_audit_t *audit = wz_audit_new(&rt, NULL);
    ck_assert_ptr_nonnull(audit);
    s_produce(intake, "pre-wonen");
    s_produce(matching, "matching");
    s_produce(intake, "gem-velsen");
    ck_assert_int_eq(wz_audit_catch_up(audit), 0);
    ck_assert_int_eq(s_len(AUDIT_KEY), 3);
    /* A replay (restart, catch-up timer) chains nothing twice. */
    ck_assert_int_eq(wz_audit_catch_up(audit), 0);
    ck_assert_int_eq(s_len(AUDIT_KEY), 3);

    entry_t e[3];
    ck_assert_int_eq(s_read_all(e, 3), 3);
    ck_assert_str_eq(e[0].src, "intake:zkij:1");
    ck_assert_str_eq(e[1].src, "intake:zkij:2");
    ck_assert_str_eq(e[2].src, "matching:zkij:1");

    uint64_t checked = 0, bad = 0;
    char why[256];
    ck_assert_int_eq(s_verify(&checked, &bad, why, sizeof why), 0);
    ck_assert_uint_eq(checked, 3);

    /* Live: through the loop (publication or catch-up timer). */
    wz_loop_t *loop = wz_loop_new(NULL);
    ck_assert_ptr_nonnull(loop);
    ck_assert_int_eq(wz_audit_attach(audit, loop), 0);
    s_produce(matching, "matching");
    wait_t w = {4, wz_mono_ms() + 10000};
    ck_assert_int_gt(wz_loop_add_timer(loop, 20, s_until, &w), 0);
    ck_assert_int_eq(wz_loop_run(loop), 0);
    ck_assert_int_eq(s_len(AUDIT_KEY), 4);
    ck_assert_int_eq(s_verify(&checked, &bad, why, sizeof why), 0);
    ck_assert_uint_eq(checked, 4);
    wz_loop_destroy(&loop);
    wz_audit_destroy(&audit);
    ck_assert_ptr_null(audit);
    wz_pub_destroy(&intake);
    wz_pub_destroy(&matching);
}
END_TEST

/* A candidate event of intake: registered (update false) or updated. */
static void s_produce_candidate(wz_pub_t *pub, const char *id, bool update, bool consent)
{
    WzCandidate cand = WOONZORG__V1__CANDIDATE__INIT;
    cand.id = (char *)id;
    cand.consent = consent;
    Woonzorg__V1__CandidateRegistered reg = WOONZORG__V1__CANDIDATE_REGISTERED__INIT;
    Woonzorg__V1__CandidateUpdated upd = WOONZORG__V1__CANDIDATE_UPDATED__INIT;
    reg.candidate = upd.candidate = &cand;
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.actor = "ribw-kam";
    if (update) {
        ev.payload_case = WOONZORG__V1__EVENT__PAYLOAD_CANDIDATE_UPDATED;
        ev.candidate_updated = &upd;
    } else {
        ev.payload_case = WOONZORG__V1__EVENT__PAYLOAD_CANDIDATE_REGISTERED;
        ev.candidate_registered = &reg;
    }
    wz_txn_t *txn = wz_txn_begin(store, pub, "zkij");
    ck_assert_ptr_nonnull(txn);
    ck_assert(wz_txn_emit(txn, &ev) > 0);
    ck_assert_int_eq(wz_txn_commit(txn), 0);
    wz_txn_destroy(&txn);
}

START_TEST(test_batch_keeps_candidate_keys)
{
    /* Five candidate events chained in one transaction must end as they
     * would one by one: K1's two under one key (made by the first, not yet
     * in Redis for the second); K2's registration and consent withdrawal
     * erased with its key; K2's new registration under a new key. */
    char keys[600];
    snprintf(keys, sizeof keys, "%s/audit-keys", wz_testenv_dir(env));
    ck_assert_int_eq(mkdir(keys, 0700), 0);
    wz_strlcpy(rt.settings.keys_dir, keys, sizeof rt.settings.keys_dir);
    wz_pub_t *intake = wz_pub_new(ctx, store, "intake", rt.settings.intake.publish, NULL);
    wz_audit_t *audit = wz_audit_new(&rt, NULL);
    ck_assert_ptr_nonnull(audit);
    s_produce_candidate(intake, "K1", false, true);
    s_produce_candidate(intake, "K1", true, true);
    s_produce_candidate(intake, "K2", false, true);
    s_produce_candidate(intake, "K2", true, false);
    s_produce_candidate(intake, "K2", false, true);
    ck_assert_int_eq(wz_audit_catch_up(audit), 0);
    ck_assert_int_eq(s_len(AUDIT_KEY), 5);
    char err[256];
    wz_shred_t *shred = wz_shred_new(keys, false, err, sizeof err);
    ck_assert_msg(shred != NULL, "%s", err);
    redisReply *r = wz_store_cmd(store, "XRANGE %s - +", AUDIT_KEY);
    ck_assert_uint_eq(r->elements, 5);
    static const int readable[] = {0, 0, 1, 1, 0}; /* wz_shred_read: 0 read, 1 erased */
    for (size_t i = 0; i < 5; i++) {
        const redisReply *e = r->element[i]->element[1]->element[1]; /* field "e" */
        uint8_t *plain = NULL;
        size_t len = 0;
        ck_assert_int_eq(
            wz_shred_read(shred, store, "zkij", (const uint8_t *)e->str, e->len, &plain, &len),
            readable[i]);
        if (!readable[i]) {
            WzEvent *ev = wz_event_unpack(plain, len);
            ck_assert_ptr_nonnull(ev);
            const WzCandidate *c = ev->candidate_registered ? ev->candidate_registered->candidate
                                                            : ev->candidate_updated->candidate;
            ck_assert_str_eq(c->id, i < 2 ? "K1" : "K2");
            WZ_FREE_UNPACKED(ev);
        }
        free(plain);
    }
    freeReplyObject(r);
    uint64_t checked = 0, bad = 0;
    char why[256];
    ck_assert_int_eq(s_verify(&checked, &bad, why, sizeof why), 0);
    ck_assert_uint_eq(checked, 5);
    wz_shred_destroy(&shred);
    wz_audit_destroy(&audit);
    wz_pub_destroy(&intake);
}
END_TEST

START_TEST(test_checkpoint_failure_not_retried_per_event)
{
    /* The checkpoint directory is made at start, parents and all. When a
     * checkpoint cannot be written, signing is tried again after
     * checkpoint_entries more entries, not on every event (which walked the
     * chain each time), and goes on from what was verified once it can. */
    char keys[600], dir[600], blocker[700];
    snprintf(keys, sizeof keys, "%s/audit-keys", wz_testenv_dir(env));
    snprintf(dir, sizeof dir, "%s/var/audit/cp", wz_testenv_dir(env));
    ck_assert_int_eq(mkdir(keys, 0700), 0);
    wz_strlcpy(rt.settings.keys_dir, keys, sizeof rt.settings.keys_dir);
    wz_strlcpy(rt.settings.audit.checkpoint_dir, dir, sizeof rt.settings.audit.checkpoint_dir);
    rt.settings.audit.checkpoint_entries = 4;
    rt.settings.audit.checkpoint_ms = 3600 * 1000;
    FILE *logf = tmpfile();
    ck_assert_ptr_nonnull(logf);
    rt.log = wz_log_new("audit", WZ_LOG_INFO, logf);
    wz_pub_t *intake = wz_pub_new(ctx, store, "intake", rt.settings.intake.publish, NULL);
    wz_audit_t *audit = wz_audit_new(&rt, NULL);
    ck_assert_ptr_nonnull(audit);
    struct stat st;
    ck_assert_int_eq(stat(dir, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    /* Even root cannot open a directory for writing. */
    snprintf(blocker, sizeof blocker, "%s/zkij.checkpoints", dir);
    ck_assert_int_eq(mkdir(blocker, 0700), 0);
    for (int i = 0; i < 40; i++)
        s_produce(intake, "pre-wonen");
    ck_assert_int_eq(wz_audit_catch_up(audit), 0);
    ck_assert_int_eq(s_len(AUDIT_KEY), 40);
    fflush(logf);
    rewind(logf);
    char line[2048];
    int failures = 0;
    while (fgets(line, sizeof line, logf))
        failures += strstr(line, "cannot write the audit checkpoint") != NULL;
    ck_assert_int_ge(failures, 1);
    ck_assert_int_le(failures, 40 / 4);
    /* Writable again: the next checkpoint covers the whole chain. */
    ck_assert_int_eq(rmdir(blocker), 0);
    for (int i = 0; i < 4; i++)
        s_produce(intake, "gem-velsen");
    ck_assert_int_eq(wz_audit_catch_up(audit), 0);
    wz_checkpoint_t *all = NULL;
    size_t n = 0;
    char err[256];
    ck_assert_int_eq(wz_checkpoint_load(dir, "zkij", &all, &n, err, sizeof err), 0);
    ck_assert_uint_ge(n, 1);
    ck_assert_uint_eq(all[n - 1].size, 44);
    free(all);
    wz_audit_destroy(&audit);
    wz_pub_destroy(&intake);
    wz_log_destroy(&rt.log);
    fclose(logf);
}
END_TEST

/* --- queries --------------------------------------------------------------- */

static WzReply *s_query(wz_audit_t *audit, const char *party, const char *rid, uint64_t after,
                        uint32_t last)
{
    WzRequest req = WOONZORG__V1__REQUEST__INIT;
    Woonzorg__V1__AuditQuery q = WOONZORG__V1__AUDIT_QUERY__INIT;
    q.after_seq = after;
    q.last = last;
    req.request_id = (char *)rid;
    req.body_case = WOONZORG__V1__REQUEST__BODY_AUDIT;
    req.audit = &q;
    size_t n = 0, len = 0;
    uint8_t *bytes = wz_codec_pack(&req.base, &n);
    uint8_t *out = NULL;
    ck_assert_int_eq(wz_audit_handle(audit, party, bytes, n, &out, &len), 0);
    free(bytes);
    WzReply *reply = wz_reply_unpack(out, len);
    free(out);
    ck_assert_ptr_nonnull(reply);
    ck_assert_str_eq(reply->request_id, rid);
    return reply;
}

static void s_expect_seqs(WzReply *reply, uint64_t first, size_t n)
{
    ck_assert_int_eq(reply->code, CODE(OK));
    ck_assert_int_eq(reply->result_case, WOONZORG__V1__REPLY__RESULT_AUDIT);
    ck_assert_str_eq(reply->audit->region, "zkij");
    ck_assert_uint_eq(reply->audit->n_entries, n);
    for (size_t i = 0; i < n; i++) {
        WzAuditEntry *e = reply->audit->entries[i];
        ck_assert_uint_eq(e->seq, first + i);
        ck_assert_uint_eq(e->hash.len, 32);
        ck_assert_uint_eq(e->prev_hash.len, 32);
        ck_assert_ptr_nonnull(e->event);
        char src[64];
        snprintf(src, sizeof src, "intake:zkij:%llu", (unsigned long long)(first + i));
        ck_assert_str_eq(e->source, src);
        ck_assert_str_eq(e->event->id, src);
    }
}

START_TEST(test_query_pages)
{
    s_chain(5);
    wz_audit_t *audit = wz_audit_new(&rt, NULL);
    ck_assert_ptr_nonnull(audit);
    WzReply *reply = s_query(audit, "gem-velsen", "q-1", 0, 2);
    s_expect_seqs(reply, 4, 2);
    WZ_FREE_UNPACKED(reply);
    reply = s_query(audit, "gem-velsen", "q-2", 3, 0);
    s_expect_seqs(reply, 4, 2);
    WZ_FREE_UNPACKED(reply);
    reply = s_query(audit, "gem-velsen", "q-3", 0, 0);
    s_expect_seqs(reply, 1, 5);
    WZ_FREE_UNPACKED(reply);
    reply = s_query(audit, "gem-velsen", "q-4", 1, 2);
    s_expect_seqs(reply, 2, 2);
    WZ_FREE_UNPACKED(reply);
    reply = s_query(audit, "gem-velsen", "q-5", 5, 10);
    s_expect_seqs(reply, 6, 0);
    WZ_FREE_UNPACKED(reply);
    /* The hashes handed out are the chain's own. */
    reply = s_query(audit, "gem-velsen", "q-6", 0, 0);
    for (size_t i = 1; i < reply->audit->n_entries; i++)
        ck_assert_mem_eq(reply->audit->entries[i]->prev_hash.data,
                         reply->audit->entries[i - 1]->hash.data, 32);
    WZ_FREE_UNPACKED(reply);
    wz_audit_destroy(&audit);
}
END_TEST

START_TEST(test_query_refusals)
{
    wz_audit_t *audit = wz_audit_new(&rt, NULL);
    ck_assert_ptr_nonnull(audit);
    WzReply *reply = s_query(audit, "pre-wonen", "q-1", 0, 5);
    ck_assert_int_eq(reply->code, CODE(FORBIDDEN));
    WZ_FREE_UNPACKED(reply);
    reply = s_query(audit, "stranger", "q-2", 0, 5);
    ck_assert_int_eq(reply->code, CODE(FORBIDDEN));
    WZ_FREE_UNPACKED(reply);
    reply = s_query(audit, "gem-velsen", "bad id", 0, 5);
    ck_assert_int_eq(reply->code, CODE(INVALID));
    ck_assert_str_eq(reply->field, "request_id");
    WZ_FREE_UNPACKED(reply);

    /* Another body than audit. */
    WzRequest req = WOONZORG__V1__REQUEST__INIT;
    Woonzorg__V1__IdRef ref = WOONZORG__V1__ID_REF__INIT;
    ref.id = "PW-1";
    req.request_id = "q-3";
    req.body_case = WOONZORG__V1__REQUEST__BODY_WITHDRAW_VACANCY;
    req.withdraw_vacancy = &ref;
    size_t n = 0, len = 0;
    uint8_t *bytes = wz_codec_pack(&req.base, &n);
    uint8_t *out = NULL;
    ck_assert_int_eq(wz_audit_handle(audit, "gem-velsen", bytes, n, &out, &len), 0);
    free(bytes);
    reply = wz_reply_unpack(out, len);
    free(out);
    ck_assert_int_eq(reply->code, CODE(UNKNOWN_TYPE));
    ck_assert_str_eq(reply->request_id, "q-3");
    WZ_FREE_UNPACKED(reply);

    const uint8_t junk[] = {0xff, 0xff, 0xff};
    ck_assert_int_eq(wz_audit_handle(audit, "gem-velsen", junk, sizeof junk, &out, &len), 0);
    reply = wz_reply_unpack(out, len);
    free(out);
    ck_assert_int_eq(reply->code, CODE(MALFORMED));
    WZ_FREE_UNPACKED(reply);

    wz_testenv_kill_redis(env);
    reply = s_query(audit, "gem-velsen", "q-4", 0, 5);
    ck_assert_int_eq(reply->code, CODE(UNAVAILABLE));
    WZ_FREE_UNPACKED(reply);
    uint64_t checked = 0, bad = 0;
    char why[256];
    ck_assert_int_eq(s_verify(&checked, &bad, why, sizeof why), -1);
    wz_audit_destroy(&audit);
}
END_TEST

int main(void)
{
    TCase *tc = wz_test_case(
        "chain", 60,
        (const TTest *const[]){
            test_chain_links_and_hashes, test_empty_chain_is_intact,
            test_verify_finds_altered_entry, test_verify_finds_removed_entry,
            test_verify_finds_reordered_entries, test_verify_finds_cut_off_tail,
            test_damaged_head_is_not_extended, test_consumer_chains_every_producer_once,
            test_batch_keeps_candidate_keys, test_checkpoint_failure_not_retried_per_event, NULL});
    tcase_add_checked_fixture(tc, setup, teardown);
    TCase *tq = wz_test_case("queries", 60,
                             (const TTest *const[]){test_query_pages, test_query_refusals, NULL});
    tcase_add_checked_fixture(tq, setup, teardown);
    return wz_test_run("audit", (TCase *const[]){tc, tq, NULL});
}
