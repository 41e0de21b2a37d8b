/* Unit tests of wz_zap: the ZAP handler against real CURVE handshakes on
 * 127.0.0.1, and its answers to hand-made ZAP requests. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "wz_testmain.h"
#include "wz_testzmq.h"
#include "wz_util.h"
#include "wz_zap.h"

#define WAIT_MS 5000

typedef struct {
    void *ctx;
    wz_log_t *log;
    FILE *logf;
    wz_zap_t *zap;
    wz_party_t party;
    wz_policy_t policy;
    wz_keypair_t server, client, stranger;
    void *router;
    void *monitor;
    char endpoint[256];
    bool internal; /* s_fx_server makes an internal endpoint */
} fx_t;

static void s_fx_init(fx_t *fx)
{
    memset(fx, 0, sizeof *fx);
    ck_assert_int_eq(wz_keys_generate(&fx->server), 0);
    ck_assert_int_eq(wz_keys_generate(&fx->client), 0);
    ck_assert_int_eq(wz_keys_generate(&fx->stranger), 0);
    /* A policy of one party, built by hand: all the handler looks at. */
    wz_strlcpy(fx->party.id, "ribw-kam", sizeof fx->party.id);
    fx->party.role = WZ_ROLE_CARE_PROVIDER;
    wz_strlcpy(fx->party.region, "zkij", sizeof fx->party.region);
    wz_strlcpy(fx->party.public_key, fx->client.public_z85, sizeof fx->party.public_key);
    fx->policy.parties = &fx->party;
    fx->policy.n_parties = 1;

    fx->ctx = zmq_ctx_new();
    fx->logf = tmpfile();
    ck_assert_ptr_nonnull(fx->logf);
    fx->log = wz_log_new("test", WZ_LOG_DEBUG, fx->logf);
    fx->zap = wz_zap_new(fx->ctx, &fx->policy, fx->log);
    ck_assert_ptr_nonnull(fx->zap);
}

/* A CURVE ROUTER on a free loopback port, with a monitor for handshakes. */
static void s_fx_server(fx_t *fx)
{
    fx->router = zmq_socket(fx->ctx, ZMQ_ROUTER);
    int linger = 0;
    zmq_setsockopt(fx->router, ZMQ_LINGER, &linger, sizeof linger);
    if (fx->internal)
        ck_assert_int_eq(wz_zap_internal_server(fx->router, &fx->server), 0);
    else
        ck_assert_int_eq(wz_zap_server(fx->router, &fx->server), 0);
    ck_assert_int_eq(zmq_socket_monitor(
                         fx->router, "inproc://zap-test-monitor",
                         ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                             ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH),
                     0);
    fx->monitor = zmq_socket(fx->ctx, ZMQ_PAIR);
    ck_assert_int_eq(zmq_connect(fx->monitor, "inproc://zap-test-monitor"), 0);
    ck_assert_int_eq(zmq_bind(fx->router, "tcp://127.0.0.1:*"), 0);
    size_t len = sizeof fx->endpoint;
    ck_assert_int_eq(zmq_getsockopt(fx->router, ZMQ_LAST_ENDPOINT, fx->endpoint, &len), 0);
}

static void s_fx_fini(fx_t *fx)
{
    if (fx->monitor)
        zmq_close(fx->monitor);
    if (fx->router)
        zmq_close(fx->router);
    wz_zap_destroy(&fx->zap);
    ck_assert_ptr_null(fx->zap);
    wz_zap_destroy(&fx->zap);
    zmq_ctx_term(fx->ctx);
    wz_log_destroy(&fx->log);
    fclose(fx->logf);
}

/* Next handshake event from the monitor within ms; 0 if none came. */
static int s_next_event(fx_t *fx, int ms)
{
    zmq_pollitem_t item = {fx->monitor, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, ms) <= 0)
        return 0;
    uint8_t head[6];
    char addr[256];
    ck_assert_int_eq(zmq_recv(fx->monitor, head, sizeof head, 0), 6);
    zmq_recv(fx->monitor, addr, sizeof addr, 0);
    uint16_t event;
    memcpy(&event, head, 2);
    return event;
}

/* Waits for the first event in mask; fails the test after WAIT_MS. */
static int s_expect_event(fx_t *fx, int mask)
{
    int64_t deadline = wz_mono_ms() + WAIT_MS;
    while (wz_mono_ms() < deadline) {
        int ev = s_next_event(fx, (int)(deadline - wz_mono_ms()));
        if (ev & mask)
            return ev;
    }
    ck_abort_msg("no handshake event 0x%x within %d ms", mask, WAIT_MS);
    return 0;
}

static void *s_client(fx_t *fx, const wz_keypair_t *kp, const char *server_public)
{
    return wz_test_knock(fx->ctx, fx->endpoint, kp, server_public, "hello", 5);
}

/* True if the router has a message within ms. */
static bool s_router_gets(fx_t *fx, int ms)
{
    zmq_pollitem_t item = {fx->router, 0, ZMQ_POLLIN, 0};
    return zmq_poll(&item, 1, ms) > 0;
}

/* Receives the client's "hello" on the router and copies the user id ZAP
 * gave its connection into user ("" when none). */
static void s_received_from(fx_t *fx, char *user, size_t userlen)
{
    ck_assert(s_router_gets(fx, WAIT_MS));
    zmq_msg_t id, body;
    zmq_msg_init(&id);
    zmq_msg_init(&body);
    ck_assert_int_ge(zmq_msg_recv(&id, fx->router, 0), 0);
    ck_assert_int_eq(zmq_msg_recv(&body, fx->router, 0), 5);
    const char *party = wz_zap_party(&body);
    snprintf(user, userlen, "%s", party ? party : "");
    zmq_msg_close(&id);
    zmq_msg_close(&body);
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

START_TEST(test_known_client_gets_party_id)
{
    fx_t fx;
    s_fx_init(&fx);
    s_fx_server(&fx);
    void *dealer = s_client(&fx, &fx.client, fx.server.public_z85);
    ck_assert_int_eq(s_expect_event(&fx, ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                                             ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                             ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL),
                     ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    char user[64];
    s_received_from(&fx, user, sizeof user);
    ck_assert_str_eq(user, "ribw-kam");
    ck_assert_uint_eq(wz_zap_refused(fx.zap), 0);
    zmq_close(dealer);
    s_fx_fini(&fx);
}
END_TEST

/* Internal endpoints: a service's key gets in as "service:<name>"; a
 * party's key and an unknown one do not, and a service key is no party on
 * a party endpoint. Each case on a fresh server (one handshake each). */
typedef enum { AS_SERVICE, AS_PARTY, AS_STRANGER } s_as_t;

static int s_internal_case(bool internal, s_as_t as, char *user, size_t userlen)
{
    fx_t fx;
    s_fx_init(&fx);
    fx.internal = internal;
    wz_keypair_t service;
    ck_assert_int_eq(wz_keys_generate(&service), 0);
    ck_assert_int_eq(wz_zap_allow_service(fx.zap, "matching", service.public_z85), 0);
    ck_assert_int_eq(wz_zap_allow_service(fx.zap, "matching", "too short"), -1);
    s_fx_server(&fx);
    const wz_keypair_t *client = as == AS_SERVICE ? &service
                                 : as == AS_PARTY ? &fx.client
                                                  : &fx.stranger;
    void *dealer = s_client(&fx, client, fx.server.public_z85);
    int ev = s_expect_event(&fx, ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                     ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL);
    user[0] = '\0';
    if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        s_received_from(&fx, user, userlen);
    } else {
        ck_assert(!s_router_gets(&fx, 300));
    }
    zmq_close(dealer);
    s_fx_fini(&fx);
    return ev;
}

START_TEST(test_internal_domain_takes_service_keys_only)
{
    char user[64];
    ck_assert_int_eq(s_internal_case(true, AS_SERVICE, user, sizeof user),
                     ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    ck_assert_str_eq(user, "service:matching");
    ck_assert_int_eq(s_internal_case(true, AS_PARTY, user, sizeof user),
                     ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    ck_assert_int_eq(s_internal_case(true, AS_STRANGER, user, sizeof user),
                     ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    /* On a party endpoint the service key is nobody, the party itself. */
    ck_assert_int_eq(s_internal_case(false, AS_SERVICE, user, sizeof user),
                     ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    ck_assert_int_eq(s_internal_case(false, AS_PARTY, user, sizeof user),
                     ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    ck_assert_str_eq(user, "ribw-kam");
}
END_TEST

START_TEST(test_unknown_key_refused)
{
    fx_t fx;
    s_fx_init(&fx);
    s_fx_server(&fx);
    void *dealer = s_client(&fx, &fx.stranger, fx.server.public_z85);
    ck_assert_int_eq(
        s_expect_event(&fx, ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH),
        ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    ck_assert_uint_ge(wz_zap_refused(fx.zap), 1);
    ck_assert(!s_router_gets(&fx, 300));
    /* The refusal is logged with a key prefix, never a whole key. */
    char *log = s_log_text(&fx);
    char prefix[9];
    memcpy(prefix, fx.stranger.public_z85, 8);
    prefix[8] = '\0';
    ck_assert_ptr_nonnull(strstr(log, "unknown public key"));
    ck_assert_ptr_nonnull(strstr(log, prefix));
    ck_assert_ptr_nonnull(strstr(log, "127.0.0.1"));
    ck_assert_ptr_null(strstr(log, fx.stranger.public_z85));
    ck_assert_ptr_null(strstr(log, fx.stranger.secret_z85));
    ck_assert_ptr_null(strstr(log, fx.server.secret_z85));
    zmq_close(dealer);
    s_fx_fini(&fx);
}
END_TEST

START_TEST(test_no_security_refused)
{
    fx_t fx;
    s_fx_init(&fx);
    s_fx_server(&fx);
    void *dealer = s_client(&fx, NULL, NULL);
    s_expect_event(&fx, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                            ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    ck_assert(!s_router_gets(&fx, 300));
    zmq_close(dealer);
    s_fx_fini(&fx);
}
END_TEST

START_TEST(test_wrong_server_key_refused)
{
    fx_t fx;
    s_fx_init(&fx);
    s_fx_server(&fx);
    /* A known client key, but the handshake is encrypted to another server. */
    void *dealer = s_client(&fx, &fx.client, fx.stranger.public_z85);
    int ev = s_expect_event(&fx, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                     ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                                     ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    ck_assert_int_ne(ev, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    ck_assert(!s_router_gets(&fx, 300));
    ck_assert_uint_eq(wz_zap_refused(fx.zap), 0); /* never reached ZAP */
    zmq_close(dealer);
    s_fx_fini(&fx);
}
END_TEST

START_TEST(test_plain_sockets_unaffected)
{
    /* Internal sockets without security in the same context must not be
     * judged by the handler (libzmq asks ZAP about NULL only with a domain). */
    fx_t fx;
    s_fx_init(&fx);
    void *pull = zmq_socket(fx.ctx, ZMQ_PULL);
    void *push = zmq_socket(fx.ctx, ZMQ_PUSH);
    int linger = 0;
    zmq_setsockopt(push, ZMQ_LINGER, &linger, sizeof linger);
    ck_assert_int_eq(zmq_bind(pull, "tcp://127.0.0.1:*"), 0);
    char ep[256];
    size_t len = sizeof ep;
    zmq_getsockopt(pull, ZMQ_LAST_ENDPOINT, ep, &len);
    ck_assert_int_eq(zmq_connect(push, ep), 0);
    ck_assert_int_eq(zmq_send(push, "x", 1, 0), 1);
    zmq_pollitem_t item = {pull, 0, ZMQ_POLLIN, 0};
    ck_assert_int_eq(zmq_poll(&item, 1, WAIT_MS), 1);
    ck_assert_uint_eq(wz_zap_refused(fx.zap), 0);
    zmq_close(push);
    zmq_close(pull);
    s_fx_fini(&fx);
}
END_TEST

/* Sends a hand-made ZAP request and returns the status code frame. */
static void s_zap_ask(void *req, const char *version, const char *domain, const char *mechanism,
                      const void *cred, size_t cred_len, int frames, char status[8], char user[64])
{
    const void *data[7] = {version, "77", domain, "127.0.0.1", "", mechanism, cred};
    size_t lens[7] = {strlen(version), 2, strlen(domain), 9, 0, strlen(mechanism), cred_len};
    for (int i = 0; i < frames; i++)
        ck_assert_int_ge(zmq_send(req, data[i], lens[i], i + 1 < frames ? ZMQ_SNDMORE : 0), 0);
    char frame[6][64];
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        ck_assert_int_ge(zmq_msg_recv(&m, req, 0), 0);
        if (n < 6) {
            size_t sz = zmq_msg_size(&m) < 63 ? zmq_msg_size(&m) : 63;
            memcpy(frame[n], zmq_msg_data(&m), sz);
            frame[n][sz] = '\0';
        }
        n++;
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
    }
    ck_assert_int_eq(n, 6);
    ck_assert_str_eq(frame[0], "1.0");
    if (frames > 1)
        ck_assert_str_eq(frame[1], "77");
    snprintf(status, 8, "%.7s", frame[2]);
    snprintf(user, 64, "%s", frame[4]);
}

START_TEST(test_handler_answers)
{
    fx_t fx;
    s_fx_init(&fx);
    void *req = zmq_socket(fx.ctx, ZMQ_REQ);
    ck_assert_int_eq(zmq_connect(req, "inproc://zeromq.zap.01"), 0);
    uint8_t known[32], unknown[32];
    zmq_z85_decode(known, fx.client.public_z85);
    zmq_z85_decode(unknown, fx.stranger.public_z85);
    char status[8], user[64];

    s_zap_ask(req, "1.0", WZ_ZAP_DOMAIN, "CURVE", known, 32, 7, status, user);
    ck_assert_str_eq(status, "200");
    ck_assert_str_eq(user, "ribw-kam");
    ck_assert_uint_eq(wz_zap_refused(fx.zap), 0);

    s_zap_ask(req, "1.0", WZ_ZAP_DOMAIN, "CURVE", unknown, 32, 7, status, user);
    ck_assert_str_eq(status, "400");
    ck_assert_str_eq(user, "");
    s_zap_ask(req, "1.0", "global", "CURVE", known, 32, 7, status, user);
    ck_assert_str_eq(status, "400");
    s_zap_ask(req, "1.0", WZ_ZAP_DOMAIN, "PLAIN", known, 32, 7, status, user);
    ck_assert_str_eq(status, "400");
    s_zap_ask(req, "1.0", WZ_ZAP_DOMAIN, "NULL", "", 0, 6, status, user);
    ck_assert_str_eq(status, "400");
    s_zap_ask(req, "1.0", WZ_ZAP_DOMAIN, "CURVE", known, 31, 7, status, user);
    ck_assert_str_eq(status, "400");
    ck_assert_uint_eq(wz_zap_refused(fx.zap), 5);

    s_zap_ask(req, "2.0", WZ_ZAP_DOMAIN, "CURVE", known, 32, 7, status, user);
    ck_assert_str_eq(status, "500");
    s_zap_ask(req, "1.0", WZ_ZAP_DOMAIN, "CURVE", known, 32, 3, status, user);
    ck_assert_str_eq(status, "500");
    ck_assert_uint_eq(wz_zap_refused(fx.zap), 7);
    zmq_close(req);
    s_fx_fini(&fx);
}
END_TEST

START_TEST(test_one_handler_per_context)
{
    fx_t fx;
    s_fx_init(&fx);
    /* The ZAP endpoint is taken: a second handler cannot start. */
    ck_assert_ptr_null(wz_zap_new(fx.ctx, &fx.policy, NULL));
    zmq_msg_t local; /* made here, not received: no User-Id */
    zmq_msg_init_size(&local, 3);
    ck_assert_ptr_null(wz_zap_party(&local));
    zmq_msg_close(&local);
    s_fx_fini(&fx);
    ck_assert_uint_eq(wz_zap_refused(NULL), 0);
}
END_TEST

int main(void)
{
    TCase *tc =
        wz_test_case("zap", 20,
                     (const TTest *const[]){
                         test_known_client_gets_party_id, test_unknown_key_refused,
                         test_internal_domain_takes_service_keys_only, test_no_security_refused,
                         test_wrong_server_key_refused, test_plain_sockets_unaffected,
                         test_handler_answers, test_one_handler_per_context, NULL});
    return wz_test_run("wz_zap", (TCase *const[]){tc, NULL});
}
