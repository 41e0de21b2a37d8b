/* Unit tests of wz_monitor: real CURVE handshakes on 127.0.0.1 against a
 * server with the ZAP handler, counted and logged by kind. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "wz_monitor.h"
#include "wz_testmain.h"
#include "wz_testzmq.h"
#include "wz_util.h"
#include "wz_zap.h"

#define WAIT_MS 5000

typedef struct {
    void *ctx;
    FILE *logf;
    wz_log_t *log;
    wz_zap_t *zap;
    wz_party_t party;
    wz_policy_t policy;
    wz_keypair_t server, client, stranger;
    void *router;
    wz_monitor_t *mon;
    char endpoint[256];
} fx_t;

static void s_init(fx_t *fx, bool with_handler)
{
    memset(fx, 0, sizeof *fx);
    ck_assert_int_eq(wz_keys_generate(&fx->server), 0);
    ck_assert_int_eq(wz_keys_generate(&fx->client), 0);
    ck_assert_int_eq(wz_keys_generate(&fx->stranger), 0);
    wz_strlcpy(fx->party.id, "ribw-kam", sizeof fx->party.id);
    fx->party.role = WZ_ROLE_CARE_PROVIDER;
    wz_strlcpy(fx->party.region, "zkij", sizeof fx->party.region);
    wz_strlcpy(fx->party.public_key, fx->client.public_z85, sizeof fx->party.public_key);
    fx->policy.parties = &fx->party;
    fx->policy.n_parties = 1;
    fx->ctx = zmq_ctx_new();
    fx->logf = tmpfile();
    fx->log = wz_log_new("test", WZ_LOG_DEBUG, fx->logf);
    if (with_handler) {
        fx->zap = wz_zap_new(fx->ctx, &fx->policy, fx->log);
        ck_assert_ptr_nonnull(fx->zap);
    }
    fx->router = zmq_socket(fx->ctx, ZMQ_ROUTER);
    int linger = 0;
    zmq_setsockopt(fx->router, ZMQ_LINGER, &linger, sizeof linger);
    ck_assert_int_eq(wz_zap_server(fx->router, &fx->server), 0);
    fx->mon = wz_monitor_new(fx->ctx, fx->router, "intake", fx->log);
    ck_assert_ptr_nonnull(fx->mon);
    ck_assert_int_eq(zmq_bind(fx->router, "tcp://127.0.0.1:*"), 0);
    size_t len = sizeof fx->endpoint;
    zmq_getsockopt(fx->router, ZMQ_LAST_ENDPOINT, fx->endpoint, &len);
}

static void s_fini(fx_t *fx)
{
    wz_monitor_destroy(&fx->mon);
    ck_assert_ptr_null(fx->mon);
    wz_monitor_destroy(&fx->mon);
    zmq_close(fx->router);
    wz_zap_destroy(&fx->zap);
    zmq_ctx_term(fx->ctx);
    wz_log_destroy(&fx->log);
    fclose(fx->logf);
}

static void *s_client(fx_t *fx, const wz_keypair_t *kp, const char *server_public)
{
    return wz_test_knock(fx->ctx, fx->endpoint, kp, server_public, "hello", 5);
}

/* Drains the monitor until the total of failures reaches want, or WAIT_MS. */
static wz_monitor_counts_t s_wait_counts(fx_t *fx, unsigned long succeeded, unsigned long failed)
{
    wz_monitor_counts_t c;
    int64_t deadline = wz_mono_ms() + WAIT_MS;
    for (;;) {
        wz_monitor_drain(fx->mon);
        wz_monitor_counts(fx->mon, &c);
        if ((c.succeeded >= succeeded && c.auth + c.protocol + c.other >= failed) ||
            wz_mono_ms() > deadline)
            return c;
        zmq_poll(NULL, 0, 20);
    }
}

static bool s_router_gets(fx_t *fx, int ms)
{
    zmq_pollitem_t item = {fx->router, 0, ZMQ_POLLIN, 0};
    return zmq_poll(&item, 1, ms) > 0;
}

static char *s_log_text(fx_t *fx)
{
    static char text[8192];
    fflush(fx->logf);
    rewind(fx->logf);
    size_t n = fread(text, 1, sizeof text - 1, fx->logf);
    text[n] = '\0';
    return text;
}

START_TEST(test_counts_by_kind)
{
    fx_t fx;
    s_init(&fx, true);
    void *good = s_client(&fx, &fx.client, fx.server.public_z85);
    wz_monitor_counts_t c = s_wait_counts(&fx, 1, 0);
    ck_assert_uint_eq(c.succeeded, 1);
    ck_assert(s_router_gets(&fx, WAIT_MS));

    void *unknown = s_client(&fx, &fx.stranger, fx.server.public_z85);
    c = s_wait_counts(&fx, 1, 1);
    ck_assert_uint_eq(c.auth, 1);
    ck_assert_uint_eq(c.succeeded, 1);

    void *plain = s_client(&fx, NULL, NULL);
    void *wrong = s_client(&fx, &fx.client, fx.stranger.public_z85);
    c = s_wait_counts(&fx, 1, 3);
    ck_assert_uint_eq(c.auth, 1);
    ck_assert_uint_eq(c.succeeded, 1);
    ck_assert_uint_ge(c.protocol + c.other, 2);

    char *log = s_log_text(&fx);
    ck_assert_ptr_nonnull(strstr(log, "\"msg\":\"handshake failed\""));
    ck_assert_ptr_nonnull(strstr(log, "\"kind\":\"auth\""));
    ck_assert_ptr_nonnull(strstr(log, "\"code\":\"400\""));
    ck_assert_ptr_null(strstr(log, fx.stranger.secret_z85));
    ck_assert_ptr_null(strstr(log, fx.server.secret_z85));
    zmq_close(good);
    zmq_close(unknown);
    zmq_close(plain);
    zmq_close(wrong);
    s_fini(&fx);
}
END_TEST

START_TEST(test_no_handler_fails_closed)
{
    /* ZMQ_ZAP_ENFORCE_DOMAIN: a CURVE server whose ZAP handler is missing
     * refuses even a client whose key the (absent) handler would know,
     * instead of letting everyone in. */
    fx_t fx;
    s_init(&fx, false);
    void *good = s_client(&fx, &fx.client, fx.server.public_z85);
    wz_monitor_counts_t c = s_wait_counts(&fx, 0, 1);
    ck_assert_uint_eq(c.succeeded, 0);
    ck_assert_uint_ge(c.auth + c.protocol + c.other, 1);
    ck_assert(!s_router_gets(&fx, 300));
    zmq_close(good);
    s_fini(&fx);
}
END_TEST

int main(void)
{
    TCase *tc = wz_test_case(
        "monitor", 30,
        (const TTest *const[]){test_counts_by_kind, test_no_handler_fails_closed, NULL});
    return wz_test_run("wz_monitor", (TCase *const[]){tc, NULL});
}
