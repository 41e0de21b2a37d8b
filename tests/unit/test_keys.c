/* Unit tests of wz_keys: generation, key files, permissions and errors. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "wz_keys.h"
#include "wz_testmain.h"

static char s_dir[64];

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void s_setup(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/wz-test-keys-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_dir));
}

static void s_teardown(void)
{
    nftw(s_dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

static void s_path(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", s_dir, name);
}

static mode_t s_mode(const char *name)
{
    char path[256];
    struct stat st;
    s_path(path, sizeof path, name);
    ck_assert_int_eq(stat(path, &st), 0);
    return st.st_mode & 0777;
}

static void s_write_file(const char *name, const char *text, mode_t mode)
{
    char path[256];
    s_path(path, sizeof path, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fchmod(fd, mode), 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

START_TEST(test_generate)
{
    wz_keypair_t a, b;
    ck_assert_int_eq(wz_keys_generate(&a), 0);
    ck_assert_int_eq(wz_keys_generate(&b), 0);
    ck_assert_uint_eq(strlen(a.public_z85), 40);
    ck_assert_uint_eq(strlen(a.secret_z85), 40);
    ck_assert_str_ne(a.public_z85, b.public_z85);
    char derived[41];
    ck_assert_int_eq(zmq_curve_public(derived, a.secret_z85), 0);
    ck_assert_str_eq(derived, a.public_z85);
}
END_TEST

START_TEST(test_write_and_read_back)
{
    wz_keypair_t kp, back;
    char err[256] = "", pub[41];
    ck_assert_int_eq(wz_keys_generate(&kp), 0);
    ck_assert_int_eq(wz_keys_write(s_dir, "pre-wonen", &kp, 0, err, sizeof err), 0);
    ck_assert_int_eq(s_mode("pre-wonen.key"), 0600);
    ck_assert_int_eq(s_mode("pre-wonen.pub"), 0644);
    ck_assert_int_eq(wz_keys_read_secret(s_dir, "pre-wonen", &back, err, sizeof err), 0);
    ck_assert_str_eq(back.public_z85, kp.public_z85);
    ck_assert_str_eq(back.secret_z85, kp.secret_z85);
    ck_assert_int_eq(wz_keys_read_public(s_dir, "pre-wonen", pub, err, sizeof err), 0);
    ck_assert_str_eq(pub, kp.public_z85);

    /* The .pub never carries the secret. */
    char path[256], text[512] = "";
    s_path(path, sizeof path, "pre-wonen.pub");
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    ck_assert_ptr_null(strstr(text, kp.secret_z85));
    ck_assert_ptr_nonnull(strstr(text, kp.public_z85));
    ck_assert_ptr_null(strstr(text, "secret-key"));
}
END_TEST

START_TEST(test_exclusive_unless_overwrite)
{
    wz_keypair_t first, second, back;
    char err[256] = "";
    wz_keys_generate(&first);
    wz_keys_generate(&second);
    ck_assert_int_eq(wz_keys_write(s_dir, "intake", &first, 0, err, sizeof err), 0);
    errno = 0;
    ck_assert_int_eq(wz_keys_write(s_dir, "intake", &second, 0, err, sizeof err), -1);
    ck_assert_int_eq(errno, EEXIST);
    ck_assert_ptr_nonnull(strstr(err, "intake.key"));
    ck_assert_ptr_nonnull(strstr(err, "already exists"));
    ck_assert_int_eq(wz_keys_read_secret(s_dir, "intake", &back, err, sizeof err), 0);
    ck_assert_str_eq(back.secret_z85, first.secret_z85);

    ck_assert_int_eq(wz_keys_write(s_dir, "intake", &second, 1, err, sizeof err), 0);
    ck_assert_int_eq(wz_keys_read_secret(s_dir, "intake", &back, err, sizeof err), 0);
    ck_assert_str_eq(back.secret_z85, second.secret_z85);
    ck_assert_int_eq(s_mode("intake.key"), 0600);
    char pub[41];
    ck_assert_int_eq(wz_keys_read_public(s_dir, "intake", pub, err, sizeof err), 0);
    ck_assert_str_eq(pub, second.public_z85);
}
END_TEST

START_TEST(test_creates_directory)
{
    wz_keypair_t kp;
    char err[256] = "", dir[256];
    wz_keys_generate(&kp);
    snprintf(dir, sizeof dir, "%s/a/keys", s_dir);
    ck_assert_int_eq(wz_keys_write(dir, "audit", &kp, 0, err, sizeof err), 0);
    ck_assert_int_eq(s_mode("a/keys") & 0077, 0);
    ck_assert_int_eq(s_mode("a/keys/audit.key"), 0600);
}
END_TEST

START_TEST(test_secret_readable_by_others_refused)
{
    wz_keypair_t kp, back;
    char err[256] = "", path[256];
    wz_keys_generate(&kp);
    ck_assert_int_eq(wz_keys_write(s_dir, "ymere", &kp, 0, err, sizeof err), 0);
    s_path(path, sizeof path, "ymere.key");
    ck_assert_int_eq(chmod(path, 0640), 0);
    ck_assert_int_eq(wz_keys_read_secret(s_dir, "ymere", &back, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert_ptr_nonnull(strstr(err, "is readable by others; chmod 600 it"));
    ck_assert_str_eq(back.secret_z85, ""); /* nothing half-filled */
    ck_assert_int_eq(chmod(path, 0604), 0);
    ck_assert_int_eq(wz_keys_read_secret(s_dir, "ymere", &back, err, sizeof err), -1);
    ck_assert_int_eq(chmod(path, 0600), 0);
    ck_assert_int_eq(wz_keys_read_secret(s_dir, "ymere", &back, err, sizeof err), 0);
}
END_TEST

START_TEST(test_mismatched_pair_refused)
{
    wz_keypair_t a, b, back;
    char err[256] = "", text[512];
    wz_keys_generate(&a);
    wz_keys_generate(&b);
    snprintf(text, sizeof text, "# test\npublic-key = \"%s\"\nsecret-key = \"%s\"\n", a.public_z85,
             b.secret_z85);
    s_write_file("mixed.key", text, 0600);
    ck_assert_int_eq(wz_keys_read_secret(s_dir, "mixed", &back, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "mixed.key"));
    ck_assert_ptr_nonnull(strstr(err, "does not belong"));
}
END_TEST

START_TEST(test_bad_files_refused)
{
    wz_keypair_t kp, back;
    char err[256] = "", text[512], pub[41];
    wz_keys_generate(&kp);

    /* Not Z85: a character outside the alphabet ('~' is not in it). */
    char bad[41];
    memcpy(bad, kp.public_z85, 41);
    bad[3] = '~';
    snprintf(text, sizeof text, "public-key = \"%s\"\nsecret-key = \"%s\"\n", bad, kp.secret_z85);
    s_write_file("badz.key", text, 0600);
    ck_assert_int_eq(wz_keys_read_secret(s_dir, "badz", &back, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "badz.key: line 1"));
    ck_assert_ptr_nonnull(strstr(err, "Z85"));

    /* Too short. */
    s_write_file("short.pub", "public-key = \"abc\"\n", 0644);
    ck_assert_int_eq(wz_keys_read_public(s_dir, "short", pub, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "short.pub"));

    /* Missing secret line. */
    snprintf(text, sizeof text, "public-key = \"%s\"\n", kp.public_z85);
    s_write_file("nosec.key", text, 0600);
    ck_assert_int_eq(wz_keys_read_secret(s_dir, "nosec", &back, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "no secret-key"));

    /* Unknown setting. */
    snprintf(text, sizeof text, "public-key = \"%s\"\ncolour = \"blue\"\n", kp.public_z85);
    s_write_file("odd.pub", text, 0644);
    ck_assert_int_eq(wz_keys_read_public(s_dir, "odd", pub, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "odd.pub: line 2: unknown setting 'colour'"));

    /* Missing file names the path. */
    ck_assert_int_eq(wz_keys_read_secret(s_dir, "nobody", &back, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "nobody.key"));
    ck_assert_int_eq(wz_keys_read_public(s_dir, "nobody", pub, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "nobody.pub"));
}
END_TEST

START_TEST(test_public_from_key_file)
{
    wz_keypair_t kp;
    char err[256] = "", pub[41], path[256];
    wz_keys_generate(&kp);
    ck_assert_int_eq(wz_keys_write(s_dir, "gem-haarlem", &kp, 0, err, sizeof err), 0);
    s_path(path, sizeof path, "gem-haarlem.pub");
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(wz_keys_read_public(s_dir, "gem-haarlem", pub, err, sizeof err), 0);
    ck_assert_str_eq(pub, kp.public_z85);
    /* and the .pub can be restored from it */
    ck_assert_int_eq(wz_keys_write_public(s_dir, "gem-haarlem", pub, err, sizeof err), 0);
    ck_assert_int_eq(s_mode("gem-haarlem.pub"), 0644);
}
END_TEST

START_TEST(test_bad_names_refused)
{
    wz_keypair_t kp;
    char err[256] = "", pub[41];
    wz_keys_generate(&kp);
    ck_assert_int_eq(wz_keys_write(s_dir, "../escape", &kp, 0, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "not valid"));
    ck_assert_int_eq(wz_keys_write(s_dir, "", &kp, 0, err, sizeof err), -1);
    ck_assert_int_eq(wz_keys_read_public(s_dir, "a/b", pub, err, sizeof err), -1);
    wz_keypair_t junk = {"short", "short"};
    ck_assert_int_eq(wz_keys_write(s_dir, "junk", &junk, 0, err, sizeof err), -1);
    char path[256];
    s_path(path, sizeof path, "junk.key");
    ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

int main(void)
{
    TCase *tc =
        wz_test_case("keys", 10,
                     (const TTest *const[]){
                         test_generate, test_write_and_read_back, test_exclusive_unless_overwrite,
                         test_creates_directory, test_secret_readable_by_others_refused,
                         test_mismatched_pair_refused, test_bad_files_refused,
                         test_public_from_key_file, test_bad_names_refused, NULL});
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    return wz_test_run("wz_keys", (TCase *const[]){tc, NULL});
}
