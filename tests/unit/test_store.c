/* Unit tests of wz_store: commands, keys, optimistic transactions, Redis away. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "wz_bus.h"
#include "wz_store.h"
#include "wz_testenv.h"
#include "wz_testmain.h"

static wz_testenv_t *env;
static wz_store_t *store;

static void setup(void)
{
    env = wz_testenv_new(false, 0);
    store = wz_testenv_store(env);
}

static void teardown(void)
{
    wz_testenv_destroy(&env);
}

START_TEST(test_key_has_region_hash_tag)
{
    char key[64];
    ck_assert_int_eq(wz_store_key(store, key, sizeof key, "zkij", "vacancy:%s", "PW-1"), 0);
    ck_assert_str_eq(key, "wz:{zkij}:vacancy:PW-1");
    char tiny[12];
    ck_assert_int_eq(wz_store_key(store, tiny, sizeof tiny, "zkij", "vacancy:%s", "PW-1"), -1);
}
END_TEST

START_TEST(test_binary_round_trip)
{
    const uint8_t blob[] = {0, 1, 2, 0xff, 0, 'x'};
    redisReply *r = wz_store_cmd(store, "SET k %b", blob, sizeof blob);
    ck_assert_ptr_nonnull(r);
    freeReplyObject(r);
    uint8_t *data = NULL;
    size_t len = 0;
    ck_assert_int_eq(wz_store_get_bytes(store, "k", &data, &len), 1);
    ck_assert_uint_eq(len, sizeof blob);
    ck_assert_mem_eq(data, blob, sizeof blob);
    free(data);
    ck_assert_int_eq(wz_store_get_bytes(store, "absent", &data, &len), 0);

    uint64_t v = 0;
    ck_assert_int_eq(wz_store_get_u64(store, "absent", &v), 0);
    r = wz_store_cmd(store, "SET n 18446744073709551615");
    freeReplyObject(r);
    ck_assert_int_eq(wz_store_get_u64(store, "n", &v), 1);
    ck_assert(v == UINT64_MAX);
    ck_assert_int_eq(wz_store_get_u64(store, "k", &v), -1);
}
END_TEST

START_TEST(test_error_reply_is_null_with_message)
{
    redisReply *r = wz_store_cmd(store, "SET s text");
    freeReplyObject(r);
    ck_assert_ptr_null(wz_store_cmd(store, "INCR s"));
    ck_assert_ptr_nonnull(strstr(wz_store_errstr(store), "not an integer"));
    /* The connection survives an error reply. */
    ck_assert(wz_store_connected(store));
}
END_TEST

START_TEST(test_txn_commits_all_or_nothing)
{
    wz_txn_t *txn = wz_txn_begin(store, NULL, "zkij");
    ck_assert_ptr_nonnull(txn);
    ck_assert_int_eq(wz_txn_cmd(txn, "SET a %s", "1"), 0);
    ck_assert_int_eq(wz_txn_cmd(txn, "SET b %s", "2"), 0);
    ck_assert_uint_eq(wz_txn_size(txn), 2);
    ck_assert_int_eq(wz_txn_commit(txn), 0);
    wz_txn_destroy(&txn);
    ck_assert_ptr_null(txn);
    uint64_t a = 0, b = 0;
    ck_assert_int_eq(wz_store_get_u64(store, "a", &a), 1);
    ck_assert_int_eq(wz_store_get_u64(store, "b", &b), 1);
    ck_assert(a == 1 && b == 2);

    /* A command Redis refuses while queueing aborts the whole transaction. */
    txn = wz_txn_begin(store, NULL, "zkij");
    wz_txn_cmd(txn, "SET a %s", "10");
    wz_txn_cmd(txn, "SET");
    ck_assert_int_eq(wz_txn_commit(txn), -1);
    wz_txn_destroy(&txn);
    ck_assert_int_eq(wz_store_get_u64(store, "a", &a), 1);
    ck_assert(a == 1);
}
END_TEST

START_TEST(test_txn_conflict_when_watched_key_changes)
{
    wz_txn_t *txn = wz_txn_begin(store, NULL, "zkij");
    ck_assert_int_eq(wz_txn_watch(txn, "guard"), 0);
    wz_txn_cmd(txn, "SET result %s", "mine");

    /* Someone else writes the guard between our read and our EXEC. */
    wz_redis_settings_t rs;
    wz_testenv_redis_settings(env, &rs);
    wz_store_t *other = wz_store_new(&rs, NULL);
    redisReply *r = wz_store_cmd(other, "SET guard theirs");
    ck_assert_ptr_nonnull(r);
    freeReplyObject(r);
    wz_store_destroy(&other);

    ck_assert_int_eq(wz_txn_commit(txn), 1);
    wz_txn_destroy(&txn);
    uint8_t *data = NULL;
    size_t len = 0;
    ck_assert_int_eq(wz_store_get_bytes(store, "result", &data, &len), 0);
}
END_TEST

START_TEST(test_txn_emit_writes_gap_free_outbox)
{
    void *ctx = zmq_ctx_new();
    wz_pub_t *pub = wz_pub_new(ctx, store, "intake", "inproc://outbox-test", NULL);
    ck_assert_ptr_nonnull(pub);
    for (uint64_t expect = 1; expect <= 3; expect++) {
        wz_txn_t *txn = wz_txn_begin(store, pub, "zkij");
        ck_assert_ptr_nonnull(txn);
        WzEvent ev = WOONZORG__V1__EVENT__INIT;
        ev.actor = "pre-wonen";
        ck_assert(wz_txn_emit(txn, &ev) == expect);
        ck_assert_str_eq(ev.id, ""); /* the caller's message is left alone */
        ck_assert_int_eq(wz_txn_commit(txn), 0);
        wz_txn_destroy(&txn);
    }
    redisReply *r = wz_store_cmd(store, "XRANGE wz:{zkij}:stream:intake - +");
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(r->elements, 3);
    ck_assert_str_eq(r->element[2]->element[0]->str, "3-0");
    freeReplyObject(r);
    uint64_t last = 0;
    ck_assert_int_eq(wz_pub_last_seq(pub, "zkij", &last), 0);
    ck_assert(last == 3);
    wz_pub_destroy(&pub);
    zmq_ctx_term(ctx);
}
END_TEST

START_TEST(test_redis_away_fails_fast_without_crash)
{
    wz_testenv_kill_redis(env);
    ck_assert_ptr_null(wz_store_cmd(store, "PING"));
    ck_assert(!wz_store_connected(store));
    ck_assert_ptr_null(wz_txn_begin(store, NULL, "zkij"));
    /* Within the backoff the store does not even try: no blocking in the loop. */
    ck_assert_ptr_null(wz_store_cmd(store, "PING"));
    ck_assert(strlen(wz_store_errstr(store)) > 0);
}
END_TEST

int main(void)
{
    TCase *tc =
        wz_test_case("store", 30,
                     (const TTest *const[]){test_key_has_region_hash_tag, test_binary_round_trip,
                                            test_error_reply_is_null_with_message,
                                            test_txn_commits_all_or_nothing,
                                            test_txn_conflict_when_watched_key_changes,
                                            test_txn_emit_writes_gap_free_outbox,
                                            test_redis_away_fails_fast_without_crash, NULL});
    tcase_add_checked_fixture(tc, setup, teardown);
    return wz_test_run("wz_store", (TCase *const[]){tc, NULL});
}
