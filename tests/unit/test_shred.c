/* Unit tests of wz_shred: sealing per candidate, opening, and what a
 * destroyed or foreign key leaves. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wz_shred.h"
#include "wz_testmain.h"

START_TEST(test_seal_open)
{
    char dir[] = "/tmp/wz-shred-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char err[512];
    ck_assert_ptr_null(wz_shred_new(dir, false, err, sizeof err));
    wz_shred_t *s = wz_shred_new(dir, true, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    char path[600];
    snprintf(path, sizeof path, "%s/audit-data.key", dir);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);

    uint8_t *k1 = NULL, *k2 = NULL, *sealed = NULL, *plain = NULL;
    size_t l1 = 0, l2 = 0, slen = 0, plen = 0;
    ck_assert_int_eq(wz_shred_new_key(s, &k1, &l1), 0);
    ck_assert_int_eq(wz_shred_new_key(s, &k2, &l2), 0);
    static const char text[] = "park_reason: opgenomen in het ziekenhuis";
    ck_assert_int_eq(wz_shred_seal(s, "kam-0001", k1, l1, (const uint8_t *)text, sizeof text,
                                   &sealed, &slen),
                     0);
    /* Nothing of the text is left in the sealed bytes. */
    for (size_t i = 0; i + 8 <= slen; i++)
        ck_assert(memcmp(sealed + i, "opgenome", 8) != 0);
    char subject[WZ_SHRED_ID_MAX];
    ck_assert(wz_shred_sealed(sealed, slen, subject));
    ck_assert_str_eq(subject, "kam-0001");
    ck_assert(!wz_shred_sealed((const uint8_t *)text, sizeof text, subject));
    ck_assert_int_eq(wz_shred_open(s, k1, l1, sealed, slen, &plain, &plen), 0);
    ck_assert_uint_eq(plen, sizeof text);
    ck_assert_mem_eq(plain, text, sizeof text);
    free(plain);
    /* Another candidate's key opens nothing; neither does an altered byte. */
    ck_assert_int_eq(wz_shred_open(s, k2, l2, sealed, slen, &plain, &plen), -1);
    sealed[slen - 1] ^= 1;
    ck_assert_int_eq(wz_shred_open(s, k1, l1, sealed, slen, &plain, &plen), -1);
    sealed[slen - 1] ^= 1;
    /* The subject is bound to the data: relabelled, it does not open. */
    sealed[5] = 'x';
    ck_assert_int_eq(wz_shred_open(s, k1, l1, sealed, slen, &plain, &plen), -1);
    free(sealed);

    /* A wrapped key is useless with another data key. */
    wz_shred_destroy(&s);
    ck_assert_ptr_null(s);
    unlink(path);
    s = wz_shred_new(dir, true, err, sizeof err);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(wz_shred_seal(s, "kam-0001", k1, l1, (const uint8_t *)text, sizeof text,
                                   &sealed, &slen),
                     -1);
    free(k1);
    free(k2);
    wz_shred_destroy(&s);
    unlink(path);
    rmdir(dir);
}
END_TEST

int main(void)
{
    TCase *tc = wz_test_case("shred", 0, (const TTest *const[]){test_seal_open, NULL});
    return wz_test_run("wz_shred", (TCase *const[]){tc, NULL});
}
