/* test_handshake.c - strangers at the live party endpoints (issue 5): a
 * client key no party has, a client without any security, and a known
 * client that encrypts to the wrong server key. None of them gets a request
 * accepted at intake or a delivery from notification; each refusal is
 * logged by the service's handshake monitor; the rightful parties keep
 * being served. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "wz_it.h"
#include "wz_keys.h"
#include "wz_testhttp.h"
#include "wz_testmain.h"
#include "wz_testzmq.h"

#define ZKIJ "zkij"
#define NO_EXPIRY 600
#define PROBE_MS 1500

/* Connects a raw DEALER (CURVE with kp and server_public, or no security
 * when kp is NULL), sends payload, and reports whether anything at all came
 * back within PROBE_MS. */
static bool s_probe(it_t *it, const char *endpoint, const wz_keypair_t *kp,
                    const char *server_public, const void *payload, size_t len)
{
    void *d = wz_test_knock(it->ctx, endpoint, kp, server_public, payload, len);
    zmq_pollitem_t item = {d, 0, ZMQ_POLLIN, 0};
    bool got = zmq_poll(&item, 1, PROBE_MS) > 0;
    zmq_close(d);
    return got;
}

/* Waits until the service's log holds at least want "handshake failed"
 * lines of kind; fails the test after IT_WAIT_MS. */
static void s_expect_logged(it_t *it, const char *service, const char *kind, int want)
{
    char path[600], needle[64];
    snprintf(path, sizeof path, "%s/%s.log", wz_testenv_dir(it->env), service);
    snprintf(needle, sizeof needle, "\"kind\":\"%s\"", kind);
    int64_t deadline = wz_mono_ms() + IT_WAIT_MS;
    int seen = 0;
    while (wz_mono_ms() < deadline) {
        FILE *f = fopen(path, "r");
        ck_assert_ptr_nonnull(f);
        char line[4096];
        seen = 0;
        while (fgets(line, sizeof line, f))
            if (strstr(line, "\"msg\":\"handshake failed\"") && strstr(line, needle))
                seen++;
        fclose(f);
        if (seen >= want)
            return;
        zmq_poll(NULL, 0, 50);
    }
    char cmd[700];
    snprintf(cmd, sizeof cmd, "grep -E 'zap|handshake' %s >&2", path);
    if (system(cmd) != 0)
        fprintf(stderr, "(no zap or handshake lines in %s)\n", path);
    ck_abort_msg("%s logged %d refused handshakes of kind %s, expected %d", service, seen, kind,
                 want);
}

/* Waits until the service's /metrics shows at least want for series. */
static void s_expect_metric(it_t *it, const char *service, const char *series, double want)
{
    static char body[1 << 16];
    int64_t deadline = wz_mono_ms() + IT_WAIT_MS;
    double value = -1;
    for (;;) {
        int status = wz_test_http_get_addr(wz_settings_http(it->settings, service), "/metrics",
                                           body, sizeof body, IT_CALL_MS);
        ck_assert_int_eq(status, 200);
        value = wz_test_metric(body, series);
        if (value >= want || wz_mono_ms() >= deadline)
            break;
        zmq_poll(NULL, 0, 50);
    }
    ck_assert_msg(value >= want, "%s: %s is %g, wanted at least %g", service, series, value, want);
}

/* The three strangers, against one endpoint with one payload. */
static void s_strangers(it_t *it, const char *service, const char *endpoint, const char *party,
                        const void *payload, size_t len)
{
    char server[41], other[41], err[256];
    const char *other_service = strcmp(service, "intake") ? "intake" : "notification";
    ck_assert_int_eq(wz_keys_read_public(it->settings->keys_dir, service, server, err, sizeof err),
                     0);
    ck_assert_int_eq(
        wz_keys_read_public(it->settings->keys_dir, other_service, other, err, sizeof err), 0);
    wz_keypair_t stranger, known;
    ck_assert_int_eq(wz_keys_generate(&stranger), 0);
    char known_server[41];
    ck_assert_int_eq(
        wz_client_keys(it->settings, party, service, &known, known_server, err, sizeof err), 0);

    ck_assert_msg(!s_probe(it, endpoint, &stranger, server, payload, len),
                  "%s answered an unknown key", service);
    s_expect_logged(it, service, "auth", 1);
    ck_assert_msg(!s_probe(it, endpoint, NULL, NULL, payload, len),
                  "%s answered a client without security", service);
    ck_assert_msg(!s_probe(it, endpoint, &known, other, payload, len),
                  "%s answered a client that encrypts to the wrong server key", service);
    s_expect_logged(it, service, "protocol", 2);
    s_expect_metric(it, service, "wz_handshakes_total{result=\"auth\"}", 1);
    s_expect_metric(it, service, "wz_handshakes_total{result=\"protocol\"}", 2);
    /* The refusal logs carry no key material. */
    char path[600];
    snprintf(path, sizeof path, "%s/%s.log", wz_testenv_dir(it->env), service);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        ck_assert_ptr_null(strstr(line, stranger.secret_z85));
        ck_assert_ptr_null(strstr(line, known.secret_z85));
        ck_assert_ptr_null(strstr(line, stranger.public_z85));
    }
    fclose(f);
}

START_TEST(test_intake_refuses_strangers)
{
    it_t it;
    it_open(&it, NO_EXPIRY);
    long long before = it_stream_len(&it, ZKIJ, "intake");
    /* A request that Pré Wonen could rightfully send. */
    WzVacancy vac = WOONZORG__V1__VACANCY__INIT;
    it_vacancy_t v = it_vacancy("PW-2025-0900");
    vac.id = (char *)v.id;
    WzRequest req = WOONZORG__V1__REQUEST__INIT;
    req.request_id = "stranger-1";
    req.body_case = WOONZORG__V1__REQUEST__BODY_PUBLISH_VACANCY;
    req.publish_vacancy = &vac;
    size_t len = 0;
    uint8_t *bytes = wz_codec_pack(&req.base, &len);
    ck_assert_ptr_nonnull(bytes);
    s_strangers(&it, "intake", it.settings->intake.endpoint, "pre-wonen", bytes, len);
    free(bytes);
    ck_assert_int_eq(it_stream_len(&it, ZKIJ, "intake"), before);
    ck_assert(!it_exists(&it, ZKIJ, "vacancy:PW-2025-0900"));

    wz_client_t *corp = it_client(&it, "pre-wonen");
    it_vacancy_t ok = it_vacancy("PW-2025-0901");
    WzReply *r = it_publish(corp, NULL, &ok);
    it_ok(&r);
    ck_assert_int_eq(it_stream_len(&it, ZKIJ, "intake"), before + 1);
    wz_client_destroy(&corp);
    it_close(&it);
}
END_TEST

START_TEST(test_notification_refuses_strangers)
{
    it_t it;
    it_open(&it, NO_EXPIRY);
    /* Something in RIBW K/AM's mailbox: urgency granted for its candidate. */
    wz_client_t *kam = it_client(&it, "ribw-kam");
    wz_client_t *haarlem = it_client(&it, "gem-haarlem");
    it_candidate_t c = it_candidate("kam-0900");
    WzReply *r = it_register(kam, NULL, &c);
    it_ok(&r);
    r = it_grant(haarlem, NULL, "kam-0900", 2025, 1, 15);
    it_ok(&r);
    it_wait_candidate_state(&it, ZKIJ, "kam-0900", IT_CSTATE(ACTIVE));
    char mailbox[64];
    snprintf(mailbox, sizeof mailbox, "mailbox:ribw-kam");
    int64_t deadline = wz_mono_ms() + IT_WAIT_MS;
    while (it_count(&it, "XLEN", ZKIJ, mailbox) < 1 && wz_mono_ms() < deadline)
        zmq_poll(NULL, 0, 20);
    ck_assert_int_ge(it_count(&it, "XLEN", ZKIJ, mailbox), 1);

    /* Hello from the start: the mailbox would be sent in full. */
    Woonzorg__V1__Hello hello = WOONZORG__V1__HELLO__INIT;
    WzClientMessage m = WOONZORG__V1__CLIENT_MESSAGE__INIT;
    m.body_case = WOONZORG__V1__CLIENT_MESSAGE__BODY_HELLO;
    m.hello = &hello;
    size_t len = 0;
    uint8_t *bytes = wz_codec_pack(&m.base, &len);
    ck_assert_ptr_nonnull(bytes);
    s_strangers(&it, "notification", it.settings->notification.endpoint, "ribw-kam", bytes, len);
    free(bytes);

    /* The rightful party still gets its mailbox. */
    wz_listener_t *mail = it_listener(&it, "ribw-kam");
    it_expect_drop(mail, "ribw-kam", IT_EV(URGENCY_GRANTED), "urgency");
    wz_listener_destroy(&mail);
    wz_client_destroy(&kam);
    wz_client_destroy(&haarlem);
    it_close(&it);
}
END_TEST

int main(void)
{
    TCase *tc = wz_test_case("strangers", IT_TCASE_TIMEOUT,
                             (const TTest *const[]){test_intake_refuses_strangers,
                                                    test_notification_refuses_strangers, NULL});
    return wz_test_run("handshake", (TCase *const[]){tc, NULL});
}
