/* Unit tests of wz_chain: checkpoint signatures and their file, and the
 * streaming verifier on hand-made chains. */
#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wz_chain.h"
#include "wz_testmain.h"

#define N 6

typedef struct {
    uint8_t e[N][8];
    uint8_t prev[N][WZ_CHAIN_HASH_LEN], hash[N][WZ_CHAIN_HASH_LEN];
} chain_t;

static void s_chain(chain_t *c)
{
    uint8_t prev[WZ_CHAIN_HASH_LEN] = {0};
    for (int i = 0; i < N; i++) {
        snprintf((char *)c->e[i], sizeof c->e[i], "event%d", i + 1);
        memcpy(c->prev[i], prev, sizeof prev);
        wz_chain_hash(prev, (uint64_t)i + 1, c->e[i], 6, c->hash[i]);
        memcpy(prev, c->hash[i], sizeof prev);
    }
}

static int s_feed(wz_chain_verifier_t *v, const chain_t *c, const int *order, int n)
{
    int bad = 0;
    for (int k = 0; k < n && !bad; k++) {
        int i = order[k];
        bad = wz_chain_verifier_entry(v, (uint64_t)k + 1, c->prev[i], WZ_CHAIN_HASH_LEN, c->hash[i],
                                      WZ_CHAIN_HASH_LEN, c->e[i], 6);
    }
    return bad;
}

static char s_dir[] = "/tmp/wz-chain-test-XXXXXX";

START_TEST(test_keys_and_checkpoints)
{
    ck_assert_ptr_nonnull(mkdtemp(s_dir));
    uint8_t sk[WZ_SIGN_SECRET_LEN], pk[WZ_SIGN_PUBLIC_LEN], pk2[WZ_SIGN_PUBLIC_LEN];
    char err[512];
    ck_assert_int_eq(wz_sign_keys_load(s_dir, false, sk, pk, err, sizeof err), -1);
    ck_assert_int_eq(wz_sign_keys_load(s_dir, true, sk, pk, err, sizeof err), 0);
    char path[600];
    snprintf(path, sizeof path, "%s/audit-sign.key", s_dir);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(wz_sign_public_load(s_dir, pk2, err, sizeof err), 0);
    ck_assert_mem_eq(pk, pk2, sizeof pk);
    /* Loading again gives the same key, not a new one. */
    uint8_t sk3[WZ_SIGN_SECRET_LEN], pk3[WZ_SIGN_PUBLIC_LEN];
    ck_assert_int_eq(wz_sign_keys_load(s_dir, true, sk3, pk3, err, sizeof err), 0);
    ck_assert_mem_eq(pk, pk3, sizeof pk);

    wz_checkpoint_t cp = {.region = "zkij", .size = 4, .unix_ms = 1764450000000};
    memset(cp.head, 0xab, sizeof cp.head);
    wz_checkpoint_sign(&cp, sk);
    ck_assert(wz_checkpoint_valid(&cp, pk));
    char line[1024];
    ck_assert_int_eq(wz_checkpoint_format(&cp, line, sizeof line), 0);
    wz_checkpoint_t back;
    ck_assert_int_eq(wz_checkpoint_parse(line, &back), 0);
    ck_assert(wz_checkpoint_valid(&back, pk));
    ck_assert_uint_eq(back.size, 4);
    /* Any field changed breaks the signature. */
    wz_checkpoint_t x = cp;
    x.size = 5;
    ck_assert(!wz_checkpoint_valid(&x, pk));
    x = cp;
    x.head[0] ^= 1;
    ck_assert(!wz_checkpoint_valid(&x, pk));
    x = cp;
    x.unix_ms++;
    ck_assert(!wz_checkpoint_valid(&x, pk));
    x = cp;
    snprintf(x.region, sizeof x.region, "almere");
    ck_assert(!wz_checkpoint_valid(&x, pk));
    ck_assert_int_eq(wz_checkpoint_parse("{\"kind\":\"entry\"}", &back), -1);
    ck_assert_int_eq(wz_checkpoint_parse("{\"kind\":\"checkpoint\",\"region\":\"a b\"}", &back),
                     -1);

    ck_assert_int_eq(wz_checkpoint_append(s_dir, &cp, err, sizeof err), 0);
    cp.size = 6;
    wz_checkpoint_sign(&cp, sk);
    ck_assert_int_eq(wz_checkpoint_append(s_dir, &cp, err, sizeof err), 0);
    wz_checkpoint_t *all = NULL;
    size_t n = 0;
    ck_assert_int_eq(wz_checkpoint_load(s_dir, "zkij", &all, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(all[1].size, 6);
    free(all);
    ck_assert_int_eq(wz_checkpoint_load(s_dir, "almere", &all, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 0);
    snprintf(path, sizeof path, "%s/zkij.checkpoints", s_dir);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    FILE *f = fopen(path, "a");
    fputs("garbage\n", f);
    fclose(f);
    ck_assert_int_eq(wz_checkpoint_load(s_dir, "zkij", &all, &n, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, ":3: not a checkpoint"));
    unlink(path);
    snprintf(path, sizeof path, "%s/audit-sign.key", s_dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/audit-sign.pub", s_dir);
    unlink(path);
    rmdir(s_dir);
}
END_TEST

START_TEST(test_verifier)
{
    chain_t c;
    s_chain(&c);
    int in_order[N] = {0, 1, 2, 3, 4, 5};
    wz_chain_verifier_t *v = wz_chain_verifier_new("zkij", NULL);
    ck_assert_int_eq(s_feed(v, &c, in_order, N), 0);
    ck_assert_int_eq(wz_chain_verifier_finish(v, N), 0);
    ck_assert_uint_eq(wz_chain_verifier_checked(v), N);
    wz_chain_verifier_destroy(&v);

    /* Shorter than the producers say. */
    v = wz_chain_verifier_new("zkij", NULL);
    ck_assert_int_eq(s_feed(v, &c, in_order, N), 0);
    ck_assert_int_eq(wz_chain_verifier_finish(v, N + 2), 1);
    ck_assert_uint_eq(wz_chain_verifier_first_bad(v), N + 1);
    wz_chain_verifier_destroy(&v);

    /* Reordered: the stored ids are in order, the contents are not. */
    int swapped[N] = {0, 1, 3, 2, 4, 5};
    v = wz_chain_verifier_new("zkij", NULL);
    ck_assert_int_eq(s_feed(v, &c, swapped, N), 1);
    ck_assert_uint_eq(wz_chain_verifier_first_bad(v), 3);
    ck_assert_ptr_nonnull(strstr(wz_chain_verifier_why(v), "does not link"));
    wz_chain_verifier_destroy(&v);

    /* Altered event bytes. */
    c.e[4][0] = 'E';
    v = wz_chain_verifier_new("zkij", NULL);
    ck_assert_int_eq(s_feed(v, &c, in_order, N), 1);
    ck_assert_uint_eq(wz_chain_verifier_first_bad(v), 5);
    ck_assert_ptr_nonnull(strstr(wz_chain_verifier_why(v), "altered"));
    wz_chain_verifier_destroy(&v);
    s_chain(&c);

    /* Missing sequence, foreign id, missing field. */
    v = wz_chain_verifier_new("zkij", NULL);
    ck_assert_int_eq(wz_chain_verifier_entry(v, 2, c.prev[1], 32, c.hash[1], 32, c.e[1], 6), 1);
    ck_assert_ptr_nonnull(strstr(wz_chain_verifier_why(v), "entry 1 is missing"));
    wz_chain_verifier_destroy(&v);
    v = wz_chain_verifier_new("zkij", NULL);
    ck_assert_int_eq(wz_chain_verifier_entry(v, 0, NULL, 0, NULL, 0, NULL, 0), 1);
    ck_assert_ptr_nonnull(strstr(wz_chain_verifier_why(v), "foreign id"));
    wz_chain_verifier_destroy(&v);
    v = wz_chain_verifier_new("zkij", NULL);
    ck_assert_int_eq(wz_chain_verifier_entry(v, 1, c.prev[0], 32, NULL, 0, c.e[0], 6), 1);
    ck_assert_ptr_nonnull(strstr(wz_chain_verifier_why(v), "lacks a field"));
    wz_chain_verifier_destroy(&v);

    /* Resumed after a checkpoint at 3. */
    v = wz_chain_verifier_new("zkij", NULL);
    wz_chain_verifier_resume(v, 3, c.hash[2]);
    for (int i = 3; i < N; i++)
        ck_assert_int_eq(
            wz_chain_verifier_entry(v, (uint64_t)i + 1, c.prev[i], 32, c.hash[i], 32, c.e[i], 6),
            0);
    ck_assert_int_eq(wz_chain_verifier_finish(v, N), 0);
    wz_chain_verifier_destroy(&v);
}
END_TEST

START_TEST(test_verifier_checkpoints)
{
    ck_assert_int_ge(sodium_init(), 0);
    chain_t c;
    s_chain(&c);
    uint8_t sk[WZ_SIGN_SECRET_LEN], pk[WZ_SIGN_PUBLIC_LEN], other_sk[WZ_SIGN_SECRET_LEN],
        other_pk[WZ_SIGN_PUBLIC_LEN];
    crypto_sign_keypair(pk, sk);
    crypto_sign_keypair(other_pk, other_sk);
    wz_checkpoint_t cp = {.region = "zkij", .size = 4, .unix_ms = 1};
    memcpy(cp.head, c.hash[3], 32);
    wz_checkpoint_sign(&cp, sk);
    int in_order[N] = {0, 1, 2, 3, 4, 5};

    wz_chain_verifier_t *v = wz_chain_verifier_new("zkij", pk);
    ck_assert_int_eq(wz_chain_verifier_checkpoint(v, &cp), 0);
    ck_assert_int_eq(s_feed(v, &c, in_order, N), 0);
    ck_assert_int_eq(wz_chain_verifier_finish(v, 0), 0);
    ck_assert_uint_eq(wz_chain_verifier_checkpointed(v), 4);
    wz_chain_verifier_destroy(&v);

    /* Cut back to 3 entries: the checkpoint knows there were 4. */
    v = wz_chain_verifier_new("zkij", pk);
    wz_chain_verifier_checkpoint(v, &cp);
    ck_assert_int_eq(s_feed(v, &c, in_order, 3), 0);
    ck_assert_int_eq(wz_chain_verifier_finish(v, 0), 1);
    ck_assert_ptr_nonnull(strstr(wz_chain_verifier_why(v), "signed checkpoint covers 4"));
    wz_chain_verifier_destroy(&v);

    /* A self-consistent rewrite of entry 2 onwards. */
    chain_t r = c;
    r.e[1][0] = 'X';
    uint8_t prev[32];
    memcpy(prev, r.hash[0], 32);
    for (int i = 1; i < N; i++) {
        memcpy(r.prev[i], prev, 32);
        wz_chain_hash(prev, (uint64_t)i + 1, r.e[i], 6, r.hash[i]);
        memcpy(prev, r.hash[i], 32);
    }
    v = wz_chain_verifier_new("zkij", NULL);
    ck_assert_int_eq(s_feed(v, &r, in_order, N), 0); /* without checkpoints: unnoticed */
    wz_chain_verifier_destroy(&v);
    v = wz_chain_verifier_new("zkij", pk);
    wz_chain_verifier_checkpoint(v, &cp);
    ck_assert_int_eq(s_feed(v, &r, in_order, N), 1);
    ck_assert_uint_eq(wz_chain_verifier_first_bad(v), 4);
    ck_assert_ptr_nonnull(strstr(wz_chain_verifier_why(v), "signed checkpoint"));
    wz_chain_verifier_destroy(&v);

    /* Signed by another key, or of another region. */
    v = wz_chain_verifier_new("zkij", other_pk);
    ck_assert_int_eq(wz_chain_verifier_checkpoint(v, &cp), 1);
    ck_assert_ptr_nonnull(strstr(wz_chain_verifier_why(v), "no valid signature"));
    wz_chain_verifier_destroy(&v);
    v = wz_chain_verifier_new("almere", pk);
    ck_assert_int_eq(wz_chain_verifier_checkpoint(v, &cp), 1);
    wz_chain_verifier_destroy(&v);
    v = wz_chain_verifier_new("zkij", NULL);
    ck_assert_int_eq(wz_chain_verifier_checkpoint(v, &cp), 1);
    wz_chain_verifier_destroy(&v);
    wz_chain_verifier_destroy(&v);
}
END_TEST

int main(void)
{
    TCase *tc = wz_test_case("chain", 20,
                             (const TTest *const[]){test_keys_and_checkpoints, test_verifier,
                                                    test_verifier_checkpoints, NULL});
    return wz_test_run("wz_chain", (TCase *const[]){tc, NULL});
}
