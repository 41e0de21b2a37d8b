/* test_dashboard.c - issue 8 through the real services: a small history
 * (a let, a refusal, a release) is played, then
 *   - `wzctl report` as a municipality gives its region's figures through the
 *     audit service, another region's municipality does not see them, and a
 *     corporation is refused;
 *   - headless Chromium loads every dashboard page from the audit service,
 *     the DOM holds the expected figures, and a screenshot of each page is
 *     saved under <build>/artifacts/. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wz_calendar.h"
#include "wz_it.h"
#include "wz_report.h"
#include "wz_testhttp.h"
#include "wz_testmain.h"

#define ZKIJ "zkij"
#define NO_EXPIRY 600
#define ARTIFACTS WZ_BUILD_DIR "/artifacts"
#define OUT_MAX (1 << 20)

/* `wzctl --as party report` with up to three more arguments (NULL ends them). */
static int s_report(it_t *it, char *out, size_t outlen, const char *party, const char *a1,
                    const char *a2, const char *a3)
{
    return it_wzctl(it, out, outlen, "--as", party, "report", a1, a2, a3, NULL);
}

#define HAS(out, text) ck_assert_msg(strstr((out), (text)) != NULL, "output lacks '%s':\n%.4000s", (text), (out))
#define LACKS(out, text) ck_assert_msg(strstr((out), (text)) == NULL, "output has '%s'", (text))

/* The region's rows of this month in a `report --csv --by region`: the
 * let, the refusal and the release of the history. */
static void s_has_region_rows(const char *body, const char *month)
{
    static const char *const rows[] = {"lets,", "refusals_by_reason,dwelling_unsuitable",
                                       "releases,"};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char line[128];
        snprintf(line, sizeof line, "%s,region,zkij,%s,1\n", month, rows[i]);
        HAS(body, line);
    }
}

static const char *s_chromium(void)
{
    static const char *paths[] = {"/usr/bin/chromium", "/usr/bin/chromium-browser",
                                  "/usr/bin/google-chrome"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (access(paths[i], X_OK) == 0)
            return paths[i];
    return NULL;
}

/* Loads url in headless Chromium: the DOM after load into out, and a PNG of
 * the page into png. */
static void s_browse(it_t *it, const char *url, const char *png, char *out, size_t outlen)
{
    const char *chromium = s_chromium();
    ck_assert_msg(chromium != NULL, "headless Chromium is needed (Debian package chromium; "
                                    "scripts/test.sh installs it)");
    char profile[700], shot[800];
    snprintf(profile, sizeof profile, "--user-data-dir=%s/chromium", wz_testenv_dir(it->env));
    char *dump[] = {(char *)chromium, "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-dev-shm-usage", "--no-first-run", profile, "--dump-dom",
                    (char *)url, NULL};
    int rc = it_run(it, dump, out, outlen, 120000);
    ck_assert_msg(rc == 0, "chromium --dump-dom %s exited %d:\n%.2000s", url, rc, out);
    snprintf(shot, sizeof shot, "--screenshot=%s", png);
    unlink(png);
    char *take[] = {(char *)chromium, "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars", profile,
                    "--window-size=1100,1400", shot, (char *)url, NULL};
    char *log = malloc(65536);
    rc = it_run(it, take, log, 65536, 120000);
    struct stat st;
    ck_assert_msg(rc == 0 && stat(png, &st) == 0 && st.st_size > 1000,
                  "no screenshot %s (exit %d):\n%.2000s", png, rc, log);
    free(log);
}

static void s_wait_proposal(it_t *it, const char *id, int state)
{
    int64_t deadline = wz_mono_ms() + IT_WAIT_MS;
    for (;;) {
        WzProposal *p = it_proposal(it, ZKIJ, id);
        bool ok = p && (state ? (int)p->state == state : strcmp(p->step, "lease") == 0);
        WZ_FREE_UNPACKED(p);
        if (ok)
            return;
        ck_assert_msg(wz_mono_ms() < deadline, "proposal %s did not get there", id);
        usleep(20000);
    }
}

START_TEST(test_report_and_dashboard_in_chromium)
{
    /* The figures of a handful of people: show them (the threshold has its
     * own unit test). */
    setenv("WZ_AUDIT_SMALL_NUMBER", "1", 1);
    it_t it;
    it_open(&it, NO_EXPIRY);
    wz_client_t *kam = it_client(&it, "ribw-kam");
    wz_client_t *haarlem = it_client(&it, "gem-haarlem");
    wz_client_t *pre = it_client(&it, "pre-wonen");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now_ms = (int64_t)ts.tv_sec * 1000;
    const char *ids[] = {"kam-0901", "kam-0902"};
    for (int i = 0; i < 2; i++) {
        it_candidate_t c = it_candidate(ids[i]);
        WzReply *r = it_register(kam, NULL, &c);
        it_ok(&r);
        int y, m, d;
        wz_civil_from_day(wz_day_of_ms(now_ms) - 40 + 30 * i, &y, &m, &d);
        r = it_grant(haarlem, NULL, ids[i], y, m, d);
        it_ok(&r);
        it_wait_candidate_state(&it, ZKIJ, ids[i], IT_CSTATE(ACTIVE));
    }
    /* kam-0901 (longest urgency) gets the first flat and moves in */
    it_vacancy_t v = it_vacancy("PW-2026-0901");
    WzReply *r = it_publish(pre, NULL, &v);
    it_ok(&r);
    it_wait_vacancy_state(&it, ZKIJ, "PW-2026-0901", IT_VSTATE(OFFERED));
    r = it_answer(kam, NULL, "PW-2026-0901/1", true, NULL);
    it_ok(&r);
    s_wait_proposal(&it, "PW-2026-0901/1", 0);
    r = it_sign(pre, NULL, "PW-2026-0901", IT_CONTRACT(THREE_PARTY));
    it_ok(&r);
    it_wait_vacancy_state(&it, ZKIJ, "PW-2026-0901", IT_VSTATE(LET));
    /* kam-0902 turns the second one down; nobody else fits: released */
    v = it_vacancy("PW-2026-0902");
    v.address = "Kruisstraat 14";
    r = it_publish(pre, NULL, &v);
    it_ok(&r);
    it_wait_vacancy_state(&it, ZKIJ, "PW-2026-0902", IT_VSTATE(OFFERED));
    r = it_answer(kam, NULL, "PW-2026-0902/1", false, "dwelling_unsuitable: te ver van school");
    it_ok(&r);
    it_wait_vacancy_state(&it, ZKIJ, "PW-2026-0902", IT_VSTATE(RELEASED));

    /* The audit service has chained it all once the overview shows the release. */
    int port = 0;
    {
        char host[64];
        ck_assert_int_eq(wz_settings_split_http(it.settings->audit.http, host, sizeof host, &port),
                         0);
    }
    char *body = malloc(OUT_MAX);
    int64_t deadline = wz_mono_ms() + IT_WAIT_MS;
    for (;;) {
        int code = wz_test_http_get(port, "/dashboard/?region=zkij", body, OUT_MAX, 5000);
        if (code == 200 && strstr(body, "id=\"releases\">1<"))
            break;
        ck_assert_msg(wz_mono_ms() < deadline, "the overview never showed the release (%d):\n%.3000s",
                      code, body);
        usleep(50000);
    }
    HAS(body, "id=\"lets\">1<");
    HAS(body, "id=\"offered\">2<");
    HAS(body, "id=\"refusals\">1<");
    LACKS(body, "kam-09"); /* no candidate on any page */
    ck_assert_int_eq(wz_test_http_get(port, "/dashboard/nope", body, OUT_MAX, 5000), 404);

    /* wzctl report: the municipality's own region through the audit service */
    char month[16];
    wz_report_period_key(WZ_PERIOD_MONTH, now_ms, month, sizeof month);
    int rc = s_report(&it, body, OUT_MAX, "gem-haarlem", "--csv", "--by", "region");
    ck_assert_msg(rc == 0, "report exited %d: %s", rc, body);
    s_has_region_rows(body, month);
    rc = s_report(&it, body, OUT_MAX, "gem-haarlem", "--period", "year", NULL);
    ck_assert_msg(rc == 0, "report exited %d: %s", rc, body);
    HAS(body, "pre-wonen");
    LACKS(body, "kam-09");
    rc = s_report(&it, body, OUT_MAX, "gem-almere", "--csv", NULL, NULL);
    ck_assert_msg(rc == 0, "report exited %d: %s", rc, body);
    LACKS(body, "zkij");
    LACKS(body, "pre-wonen");
    rc = s_report(&it, body, OUT_MAX, "pre-wonen", NULL, NULL, NULL);
    ck_assert_msg(rc == 1, "a corporation's report exited %d: %s", rc, body);

    /* The operator's report reads the chain straight from Redis (its own ACL
     * user, sealed entries opened with the audit data key): the same figures
     * as the municipality's through the audit service. */
    rc =
        it_wzctl(&it, body, OUT_MAX, "report", "--region", "zkij", "--csv", "--by", "region", NULL);
    ck_assert_msg(rc == 0, "the operator's report exited %d: %s", rc, body);
    s_has_region_rows(body, month);
    rc = it_wzctl(&it, body, OUT_MAX, "--as", "gem-haarlem", "report", "--region", "zkij", NULL);
    ck_assert_msg(rc == 2, "a party's report with --region exited %d: %s", rc, body);
    HAS(body, "for the operator");

    /* Every page in a real browser */
    mkdir(ARTIFACTS, 0755);
    static const struct {
        const char *page;
        const char *expect[3];
    } pages[] = {
        {"", {"id=\"lets\">1<", "id=\"releases\">1<", "Wachttijd urgentie"}},
        {"funnel", {"<title id=\"funnel-title\">", "<td class=\"n\">2</td>", "Verhuurd"}},
        {"contingents", {"data-corporation=\"pre-wonen\"", "<title id=\"cont-title\">", "Benut"}},
        {"waiting", {"id=\"wait_n\">1<", "<title id=\"wait-title\">", "31–90 dagen"}},
        {"spread",
         {"<tr data-code=\"BU03920101\"><th scope=\"row\">Vijfhoek</th><td>Haarlem</td>"
          "<td>BU03920101</td><td class=\"n\">1</td><td class=\"n\">10</td><td>onder de grens",
          "<title id=\"map-title\">", "<circle"}},
    };
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        char url[128], png[512];
        snprintf(url, sizeof url, "http://127.0.0.1:%d/dashboard/%s?region=zkij", port,
                 pages[i].page);
        snprintf(png, sizeof png, ARTIFACTS "/dashboard-%s.png",
                 pages[i].page[0] ? pages[i].page : "overview");
        s_browse(&it, url, png, body, OUT_MAX);
        HAS(body, "<html lang=\"nl\"");
        for (int k = 0; k < 3; k++)
            HAS(body, pages[i].expect[k]);
        LACKS(body, "kam-09");
        LACKS(body, "<script");
    }

    /* kam-0902 withdraws consent: its sealed entries (its refusal among
     * them) drop out of the figures. The dashboard reads only what was
     * chained since its last request, so here it must read the chain again. */
    it_candidate_t gone = it_candidate("kam-0902");
    gone.consent = false;
    r = it_register(kam, NULL, &gone);
    it_ok(&r);
    deadline = wz_mono_ms() + IT_WAIT_MS;
    for (;;) {
        int code = wz_test_http_get(port, "/dashboard/?region=zkij", body, OUT_MAX, 5000);
        if (code == 200 && strstr(body, "id=\"refusals\">0<"))
            break;
        ck_assert_msg(wz_mono_ms() < deadline,
                      "the refusal stayed after the erasure (%d):\n%.3000s", code, body);
        usleep(50000);
    }
    HAS(body, "id=\"lets\">1<"); /* kam-0901's let is nobody's erasure */
    free(body);
    wz_client_destroy(&kam);
    wz_client_destroy(&haarlem);
    wz_client_destroy(&pre);
    it_close(&it);
}
END_TEST

int main(void)
{
    TCase *tc = wz_test_case("dashboard", 280,
                             (const TTest *const[]){test_report_and_dashboard_in_chromium, NULL});
    return wz_test_run("dashboard", (TCase *const[]){tc, NULL});
}
