/* Unit tests of wz_util: calendar dates, time formatting, ids, strings, clocks. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wz_testmain.h"
#include "wz_util.h"

static WzDate s_date(int y, int m, int d)
{
    WzDate date = WOONZORG__V1__DATE__INIT;
    date.year = y;
    date.month = m;
    date.day = d;
    return date;
}

START_TEST(test_date_valid_calendar)
{
    struct {
        int y, m, d;
        bool valid;
    } cases[] = {
        {2024, 2, 29, true},  {2023, 2, 29, false},  {2000, 2, 29, true},  {1900, 2, 29, false},
        {2100, 2, 29, false}, {2025, 1, 31, true},   {2025, 4, 31, false}, {2025, 4, 30, true},
        {2025, 12, 31, true}, {2025, 13, 1, false},  {2025, 0, 10, false}, {2025, 6, 0, false},
        {1900, 1, 1, true},   {1899, 12, 31, false}, {2199, 12, 31, true}, {2200, 1, 1, false},
        {2025, 9, 31, false}, {2025, 11, 30, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        WzDate d = s_date(cases[i].y, cases[i].m, cases[i].d);
        ck_assert_msg(wz_date_valid(&d) == cases[i].valid, "%04d-%02d-%02d", cases[i].y, cases[i].m,
                      cases[i].d);
    }
    ck_assert(!wz_date_valid(NULL));
}
END_TEST

START_TEST(test_date_parse_and_format)
{
    WzDate d = WOONZORG__V1__DATE__INIT;
    ck_assert_int_eq(wz_date_parse("2024-02-29", &d), 0);
    ck_assert_int_eq(d.year, 2024);
    ck_assert_int_eq(d.month, 2);
    ck_assert_int_eq(d.day, 29);
    char out[11];
    wz_date_format(&d, out);
    ck_assert_str_eq(out, "2024-02-29");

    const char *bad[] = {"2023-02-29",  "2025-1-31",  "2025-01-31x", "",
                         " 2025-01-31", "abcd-ef-gh", "2025/01/31",  "2025-00-10",
                         "2025-01-32",  "1899-12-31", "+025-01-01",  "2025-01--1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        WzDate keep = s_date(2001, 2, 3);
        ck_assert_msg(wz_date_parse(bad[i], &keep) == -1, "accepted '%s'", bad[i]);
        ck_assert_int_eq(keep.year, 2001); /* untouched on failure */
        ck_assert_int_eq(keep.day, 3);
    }
    ck_assert_int_eq(wz_date_parse(NULL, &d), -1);

    WzDate small = s_date(987, 3, 4);
    wz_date_format(&small, out);
    ck_assert_str_eq(out, "0987-03-04");
}
END_TEST

START_TEST(test_date_cmp_orders_unset_last)
{
    WzDate a = s_date(2025, 3, 1), b = s_date(2025, 2, 28), c = s_date(2024, 12, 31);
    WzDate unset = WOONZORG__V1__DATE__INIT, a2 = s_date(2025, 3, 1);
    ck_assert_int_eq(wz_date_cmp(&a, &b), 1);
    ck_assert_int_eq(wz_date_cmp(&b, &a), -1);
    ck_assert_int_eq(wz_date_cmp(&c, &b), -1);
    ck_assert_int_eq(wz_date_cmp(&a, &a2), 0);
    ck_assert_int_eq(wz_date_cmp(&unset, &c), 1);
    ck_assert_int_eq(wz_date_cmp(&c, &unset), -1);
    ck_assert_int_eq(wz_date_cmp(&unset, &unset), 0);
    ck_assert_int_eq(wz_date_cmp(NULL, &a), 1);
}
END_TEST

START_TEST(test_date_today_is_utc_today)
{
    WzDate d = WOONZORG__V1__DATE__INIT;
    time_t before = time(NULL);
    wz_date_today(&d);
    time_t after = time(NULL);
    ck_assert(wz_date_valid(&d));
    struct tm b, a;
    gmtime_r(&before, &b);
    gmtime_r(&after, &a);
    bool match_before = d.year == b.tm_year + 1900 && d.month == b.tm_mon + 1 && d.day == b.tm_mday;
    bool match_after = d.year == a.tm_year + 1900 && d.month == a.tm_mon + 1 && d.day == a.tm_mday;
    ck_assert(match_before || match_after);
}
END_TEST

START_TEST(test_time_format_iso_utc)
{
    char out[25];
    wz_time_format(1795395723456LL, out);
    ck_assert_str_eq(out, "2026-11-23T01:02:03.456Z");
    wz_time_format(0, out);
    ck_assert_str_eq(out, "1970-01-01T00:00:00.000Z");
    wz_time_format(-1, out);
    ck_assert_str_eq(out, "1969-12-31T23:59:59.999Z");
    wz_time_format(1709208000007LL, out); /* leap day */
    ck_assert_str_eq(out, "2024-02-29T12:00:00.007Z");
    ck_assert_uint_eq(strlen(out), 24);
}
END_TEST

START_TEST(test_clocks)
{
    int64_t now = wz_now_ms();
    int64_t t = (int64_t)time(NULL) * 1000;
    ck_assert_int_le(llabs(now - t), 2000);
    int64_t m1 = wz_mono_ms(), m2 = wz_mono_ms();
    ck_assert_int_ge(m2, m1);
    ck_assert_int_gt(m1, 0);
}
END_TEST

START_TEST(test_random_id_hex_and_distinct)
{
    char ids[64][33];
    for (int i = 0; i < 64; i++) {
        wz_random_id(ids[i]);
        ck_assert_uint_eq(strlen(ids[i]), 32);
        for (int j = 0; j < 32; j++)
            ck_assert_msg(strchr("0123456789abcdef", ids[i][j]) != NULL, "bad char in %s", ids[i]);
        for (int k = 0; k < i; k++)
            ck_assert_str_ne(ids[i], ids[k]);
    }
}
END_TEST

START_TEST(test_id_valid)
{
    const char *good[] = {"pre-wonen", "a", "gem_haarlem", "BU03920101", "x.y-z_0", "9lives"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        ck_assert_msg(wz_id_valid(good[i], 47), "refused '%s'", good[i]);
    const char *bad[] = {"",    "-x", ".x",        "a b",        "a/b", "a{b}",
                         "a:b", "é",  "tab\there", "semi;colon", "a*b", "new\nline"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(!wz_id_valid(bad[i], 47), "accepted '%s'", bad[i]);
    ck_assert(!wz_id_valid(NULL, 47));
    ck_assert(wz_id_valid("abcd", 4));
    ck_assert(!wz_id_valid("abcde", 4));
}
END_TEST

START_TEST(test_strlcpy)
{
    char buf[6];
    ck_assert_int_eq(wz_strlcpy(buf, "hello", sizeof buf), 0);
    ck_assert_str_eq(buf, "hello");
    ck_assert_int_eq(wz_strlcpy(buf, "hello!", sizeof buf), -1);
    ck_assert_str_eq(buf, "hello");
    ck_assert_int_eq(wz_strlcpy(buf, "", sizeof buf), 0);
    ck_assert_str_eq(buf, "");
    buf[0] = 'x';
    ck_assert_int_eq(wz_strlcpy(buf, "abc", 0), -1);
    ck_assert_int_eq(buf[0], 'x');
    ck_assert_int_eq(wz_strlcpy(buf, "abc", 1), -1);
    ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(test_grow)
{
    size_t cap = 0;
    int *v = wz_grow(NULL, &cap, 1, sizeof *v);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(cap, 8);
    for (int i = 0; i < 8; i++)
        v[i] = i;
    /* Room enough: the same array, the same capacity. */
    ck_assert_ptr_eq(wz_grow(v, &cap, 8, sizeof *v), v);
    ck_assert_uint_eq(cap, 8);
    v = wz_grow(v, &cap, 9, sizeof *v);
    ck_assert_uint_eq(cap, 16);
    v = wz_grow(v, &cap, 100, sizeof *v);
    ck_assert_uint_eq(cap, 128);
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(v[i], i);
    /* Too big to count: refused, the array and its capacity kept. */
    ck_assert_ptr_null(wz_grow(v, &cap, SIZE_MAX / 2, sizeof *v));
    ck_assert_uint_eq(cap, 128);
    ck_assert_int_eq(v[7], 7);
    free(v);
}
END_TEST

int main(void)
{
    TCase *tc =
        wz_test_case("util", 10,
                     (const TTest *const[]){test_date_valid_calendar, test_date_parse_and_format,
                                            test_date_cmp_orders_unset_last,
                                            test_date_today_is_utc_today, test_time_format_iso_utc,
                                            test_clocks, test_random_id_hex_and_distinct,
                                            test_id_valid, test_strlcpy, test_grow, NULL});
    return wz_test_run("wz_util", (TCase *const[]){tc, NULL});
}
