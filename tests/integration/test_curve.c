/* test_curve.c - internal_curve: the services' event PUB/SUB over CURVE.
 * With it on (as the Kubernetes production overlay sets it), the whole
 * lifecycle runs and every consumer's SUB really completed a CURVE
 * handshake with its producers; a subscriber without CURVE, with an
 * unknown key, with a party's key or with a wrong server key receives
 * nothing, and the publisher counts (and logs) each refusal. A service's
 * own key, used the same way, does receive: the probe can see. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "wz_it.h"
#include "wz_testhttp.h"
#include "wz_testmain.h"
#include "wz_zap.h"

#define ZKIJ "zkij"
#define NO_EXPIRY 600
/* Several heartbeats of the test config (200 ms). */
#define LISTEN_MS 1500

/* The value of series on the service's /metrics (-1 when absent). */
static double s_metric(it_t *it, const char *service, const char *series)
{
    static char body[1 << 16];
    int status = wz_test_http_get_addr(wz_settings_http(it->settings, service), "/metrics", body,
                                       sizeof body, IT_CALL_MS);
    ck_assert_int_eq(status, 200);
    return wz_test_metric(body, series);
}

/* Waits until the service's /metrics shows at least want for series. */
static void s_expect_metric(it_t *it, const char *service, const char *series, double want)
{
    int64_t deadline = wz_mono_ms() + IT_WAIT_MS;
    double value = -1;
    while ((value = s_metric(it, service, series)) < want && wz_mono_ms() < deadline)
        zmq_poll(NULL, 0, 50);
    ck_assert_msg(value >= want, "%s: %s is %g, wanted at least %g", service, series, value, want);
}

/* Subscribes to everything at endpoint (CURVE with kp and server, or no
 * security when kp is NULL) and reports whether any frame came within
 * LISTEN_MS; producers send a heartbeat every 200 ms. */
static bool s_hears(it_t *it, const char *endpoint, const wz_keypair_t *kp, const char *server)
{
    void *sub = zmq_socket(it->ctx, ZMQ_SUB);
    ck_assert_ptr_nonnull(sub);
    int linger = 0;
    zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof linger);
    if (kp)
        ck_assert_int_eq(wz_zap_client(sub, kp, server), 0);
    ck_assert_int_eq(zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0), 0);
    ck_assert_int_eq(zmq_connect(sub, endpoint), 0);
    zmq_pollitem_t item = {sub, 0, ZMQ_POLLIN, 0};
    bool heard = zmq_poll(&item, 1, LISTEN_MS) > 0;
    zmq_close(sub);
    return heard;
}

static void s_lifecycle(it_t *it)
{
    wz_client_t *corp = it_client(it, "pre-wonen");
    wz_client_t *care = it_client(it, "ribw-kam");
    wz_client_t *muni = it_client(it, "gem-haarlem");
    wz_listener_t *care_mail = it_listener(it, "ribw-kam");
    it_candidate_t cand = it_candidate("kam-0012");
    WzReply *r = it_register(care, NULL, &cand);
    it_ok(&r);
    r = it_grant(muni, NULL, "kam-0012", 2025, 3, 14);
    it_ok(&r);
    it_expect_drop(care_mail, "ribw-kam", IT_EV(URGENCY_GRANTED), "urgency");
    it_wait_candidate_state(it, ZKIJ, "kam-0012", IT_CSTATE(ACTIVE));
    it_vacancy_t vac = it_vacancy("PW-2025-0142");
    r = it_publish(corp, NULL, &vac);
    it_ok(&r);
    WzDelivery *d = it_expect(care_mail, "ribw-kam", IT_EV(PROPOSAL_CREATED), "proposal");
    ck_assert_str_eq(d->event->proposal_created->proposal->candidate_id, "kam-0012");
    WZ_FREE_UNPACKED(d);
    r = it_answer(care, NULL, "PW-2025-0142/1", true, NULL);
    it_ok(&r);
    it_expect_drop(care_mail, "ribw-kam", IT_EV(PROPOSAL_ADVANCED), "step");
    r = it_sign(corp, NULL, "PW-2025-0142", IT_CONTRACT(THREE_PARTY));
    it_ok(&r);
    it_expect_drop(care_mail, "ribw-kam", IT_EV(VACANCY_LET), "let");
    static const int steps[] = {IT_EV(CANDIDATE_REGISTERED), IT_EV(URGENCY_GRANTED),
                                IT_EV(VACANCY_PUBLISHED),    IT_EV(PROPOSAL_CREATED),
                                IT_EV(PROPOSAL_ANSWERED),    IT_EV(LEASE_SIGNED),
                                IT_EV(VACANCY_LET)};
    it_wait_audit_order(it, "gem-haarlem", steps, sizeof steps / sizeof *steps);
    wz_listener_destroy(&care_mail);
    wz_client_destroy(&corp);
    wz_client_destroy(&care);
    wz_client_destroy(&muni);
}

START_TEST(test_internal_curve)
{
    /* Every service of the suite reads WZ_* overrides, and so do the
     * settings this test loads. */
    ck_assert_int_eq(setenv("WZ_INTERNAL_CURVE", "true", 1), 0);
    it_t it;
    it_open(&it, NO_EXPIRY);
    ck_assert(it.settings->internal_curve);

    s_lifecycle(&it);
    /* Events travelled over CURVE, not only through the catch-up from
     * Redis: every consumer completed a handshake with its producers
     * (intake: matching, notification, audit; matching: notification,
     * audit; notification: audit), and nobody was refused. */
    s_expect_metric(&it, "intake", "wz_event_handshakes_total{result=\"succeeded\"}", 3);
    s_expect_metric(&it, "matching", "wz_event_handshakes_total{result=\"succeeded\"}", 2);
    s_expect_metric(&it, "notification", "wz_event_handshakes_total{result=\"succeeded\"}", 1);
    ck_assert_double_lt(s_metric(&it, "intake", "wz_event_handshakes_total{result=\"auth\"}"), 1);

    const char *endpoint = it.settings->intake.publish;
    char server[41], other_server[41], err[256];
    ck_assert_int_eq(wz_keys_read_public(it.settings->keys_dir, "intake", server, err, sizeof err),
                     0);
    ck_assert_int_eq(
        wz_keys_read_public(it.settings->keys_dir, "matching", other_server, err, sizeof err), 0);
    wz_keypair_t stranger, party, service;
    ck_assert_int_eq(wz_keys_generate(&stranger), 0);
    ck_assert_int_eq(
        wz_keys_read_secret(it.settings->keys_dir, "pre-wonen", &party, err, sizeof err), 0);
    ck_assert_int_eq(wz_keys_read_secret(it.settings->keys_dir, "audit", &service, err, sizeof err),
                     0);

    /* A service's key hears the heartbeats: the probe works. */
    ck_assert_msg(s_hears(&it, endpoint, &service, server), "the audit key heard nothing");
    ck_assert_msg(!s_hears(&it, endpoint, NULL, NULL), "a subscriber without CURVE heard events");
    ck_assert_msg(!s_hears(&it, endpoint, &stranger, server), "an unknown key heard events");
    ck_assert_msg(!s_hears(&it, endpoint, &party, server), "a party's key heard events");
    ck_assert_msg(!s_hears(&it, endpoint, &service, other_server),
                  "a subscriber with the wrong server key heard events");
    /* Each refusal counted: two by the ZAP handler (unknown, party), and
     * the protocol failures (no CURVE, wrong server key). */
    s_expect_metric(&it, "intake", "wz_event_handshakes_total{result=\"auth\"}", 2);
    s_expect_metric(&it, "intake", "wz_event_handshakes_total{result=\"protocol\"}", 1);

    it_close(&it);
    unsetenv("WZ_INTERNAL_CURVE");
}
END_TEST

/* Off (the default), the endpoints are plain: a subscriber without CURVE
 * hears the heartbeats, so the test above really sees the switch. */
START_TEST(test_off_by_default)
{
    unsetenv("WZ_INTERNAL_CURVE");
    it_t it;
    it_open(&it, NO_EXPIRY);
    ck_assert(!it.settings->internal_curve);
    ck_assert(s_hears(&it, it.settings->intake.publish, NULL, NULL));
    it_close(&it);
}
END_TEST

int main(void)
{
    TCase *tc =
        wz_test_case("internal", IT_TCASE_TIMEOUT,
                     (const TTest *const[]){test_internal_curve, test_off_by_default, NULL});
    return wz_test_run("curve", (TCase *const[]){tc, NULL});
}
