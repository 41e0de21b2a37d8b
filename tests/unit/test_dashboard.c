/* Unit tests of wz_dashboard: Dutch number formatting, the small-number
 * threshold on every page, text alternatives, unknown pages. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "wz_dashboard.h"
#include "wz_testmain.h"

#define NOW 1769817600000LL /* 2026-01-31 */

START_TEST(test_dutch_numbers)
{
    char b[32];
    wz_nl_int(0, b, sizeof b);
    ck_assert_str_eq(b, "0");
    wz_nl_int(999, b, sizeof b);
    ck_assert_str_eq(b, "999");
    wz_nl_int(1234567, b, sizeof b);
    ck_assert_str_eq(b, "1.234.567");
    wz_nl_dec(1234.56, 1, b, sizeof b);
    ck_assert_str_eq(b, "1.234,6");
    wz_nl_dec(2.5, 0, b, sizeof b);
    ck_assert_str_eq(b, "3");
    wz_nl_dec(0.05, 2, b, sizeof b);
    ck_assert_str_eq(b, "0,05");
}
END_TEST

/* n lets in Vijfhoek, Haarlem, by Pré Wonen, in January 2026. */
static wz_report_t *s_report(const wz_policy_t *p, int n)
{
    wz_report_t *r = wz_report_new(WZ_PERIOD_MONTH, p);
    for (int i = 0; i < n; i++) {
        char vid[16], pid[20], cid[16];
        snprintf(vid, sizeof vid, "PW-%d", i);
        snprintf(pid, sizeof pid, "PW-%d/1", i);
        snprintf(cid, sizeof cid, "kam-%d", i);
        WzVacancy v = WOONZORG__V1__VACANCY__INIT;
        v.id = vid;
        v.corporation = "pre-wonen";
        v.municipality = "haarlem";
        v.neighbourhood = "BU03920101";
        v.scheme = "zkij-uitstroom";
        WzProposal pr = WOONZORG__V1__PROPOSAL__INIT;
        pr.id = pid;
        pr.candidate_id = cid;
        pr.corporation = "pre-wonen";
        pr.care_provider = "ribw-kam";
        pr.scheme = "zkij-uitstroom";
        Woonzorg__V1__VacancyPublished vp = WOONZORG__V1__VACANCY_PUBLISHED__INIT;
        vp.vacancy = &v;
        WzEvent ev = WOONZORG__V1__EVENT__INIT;
        ev.region = "zkij";
        ev.occurred_ms = NOW - 20 * 86400000LL;
        ev.payload_case = WOONZORG__V1__EVENT__PAYLOAD_VACANCY_PUBLISHED;
        ev.vacancy_published = &vp;
        ck_assert_int_eq(wz_report_add(r, &ev), 0);
        Woonzorg__V1__VacancyLet vl = WOONZORG__V1__VACANCY_LET__INIT;
        vl.vacancy = &v;
        vl.proposal = &pr;
        ev.occurred_ms = NOW - 10 * 86400000LL;
        ev.payload_case = WOONZORG__V1__EVENT__PAYLOAD_VACANCY_LET;
        ev.vacancy_let = &vl;
        ck_assert_int_eq(wz_report_add(r, &ev), 0);
    }
    return r;
}

START_TEST(test_small_numbers_hidden)
{
    char err[512];
    wz_policy_t *p = wz_policy_load(WZ_SOURCE_DIR "/config/policy.yaml", NULL, false, err,
                                    sizeof err);
    ck_assert_msg(p != NULL, "%s", err);
    static const char *pages[] = {"", "funnel", "contingents", "waiting", "spread"};
    for (int n = 3; n <= 6; n += 3) {
        wz_report_t *r = s_report(p, n);
        wz_dashboard_opts_t o = {5, NOW};
        for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
            size_t len = 0;
            char *html = wz_dashboard_render(pages[i], p, "zkij", r, &o, &len);
            ck_assert_ptr_nonnull(html);
            ck_assert_uint_eq(strlen(html), len);
            ck_assert_ptr_nonnull(strstr(html, "<html lang=\"nl\">"));
            ck_assert_ptr_null(strstr(html, "kam-")); /* no candidate ids */
            if (strstr(html, "<svg")) {               /* every chart has its text alternative */
                ck_assert_ptr_nonnull(strstr(html, "role=\"img\""));
                ck_assert_ptr_nonnull(strstr(html, "<desc id="));
                ck_assert_ptr_nonnull(strstr(html, "<table"));
            }
            if (n == 3) {
                /* 3 lets: shown as "< 5" and never as the number */
                ck_assert_ptr_null(strstr(html, ">3<"));
                ck_assert_ptr_null(strstr(html, ": 3<"));
                ck_assert_ptr_null(strstr(html, " 3</text>"));
            }
            if (!strcmp(pages[i], "")) {
                ck_assert_ptr_nonnull(strstr(html, n == 3 ? "id=\"lets\">&lt; 5<" : "id=\"lets\">6<"));
                /* medians of fewer than 5 lets are not shown either */
                ck_assert_ptr_nonnull(strstr(html, n == 3 ? "id=\"wait_median\">–<"
                                                          : "id=\"vacancy_median\">10 dagen<"));
            }
            if (!strcmp(pages[i], "spread"))
                ck_assert_ptr_nonnull(strstr(html, n == 3 ? "<td class=\"n\">&lt; 5</td>"
                                                          : "<td class=\"n\">6</td>"));
            free(html);
        }
        size_t len = 0;
        ck_assert_ptr_null(wz_dashboard_render("nope", p, "zkij", r, &o, &len));
        ck_assert_uint_eq(len, 0);
        ck_assert_ptr_null(wz_dashboard_render("", p, "nowhere", r, &o, &len));
        wz_report_destroy(&r);
    }
    wz_policy_destroy(&p);
}
END_TEST

int main(void)
{
    TCase *tc =
        wz_test_case("dashboard", 30,
                     (const TTest *const[]){test_dutch_numbers, test_small_numbers_hidden, NULL});
    return wz_test_run("wz_dashboard", (TCase *const[]){tc, NULL});
}
