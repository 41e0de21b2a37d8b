/* Unit tests of wz_client against a fake server in a thread: a CURVE ROUTER
 * authenticated by wz_zap with a hand-built policy. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "wz_client.h"
#include "wz_codec.h"
#include "wz_testmain.h"
#include "wz_util.h"
#include "wz_zap.h"

#define WAIT_MS 5000

typedef struct {
    void *ctx;
    wz_zap_t *zap;
    wz_party_t party;
    wz_policy_t policy;
    wz_keypair_t server, client;
    void *router;
    char endpoint[256];
    pthread_t thread;
    /* what the fake server saw */
    int n_requests;
    char request_ids[8][80];
    char sender[64];
    int n_hellos;
    uint64_t hellos[8];
    uint64_t acked;
} fx_t;

typedef struct {
    uint8_t rid[256];
    size_t rid_len;
    uint8_t body[4096];
    size_t body_len;
} frame_t;

static void s_fx_init(fx_t *fx)
{
    memset(fx, 0, sizeof *fx);
    ck_assert_int_eq(wz_keys_generate(&fx->server), 0);
    ck_assert_int_eq(wz_keys_generate(&fx->client), 0);
    wz_strlcpy(fx->party.id, "ribw-kam", sizeof fx->party.id);
    fx->party.role = WZ_ROLE_CARE_PROVIDER;
    wz_strlcpy(fx->party.region, "zkij", sizeof fx->party.region);
    wz_strlcpy(fx->party.public_key, fx->client.public_z85, sizeof fx->party.public_key);
    fx->policy.parties = &fx->party;
    fx->policy.n_parties = 1;
    fx->ctx = zmq_ctx_new();
    fx->zap = wz_zap_new(fx->ctx, &fx->policy, NULL);
    ck_assert_ptr_nonnull(fx->zap);
    fx->router = zmq_socket(fx->ctx, ZMQ_ROUTER);
    int linger = 0;
    zmq_setsockopt(fx->router, ZMQ_LINGER, &linger, sizeof linger);
    ck_assert_int_eq(wz_zap_server(fx->router, &fx->server), 0);
    ck_assert_int_eq(zmq_bind(fx->router, "tcp://127.0.0.1:*"), 0);
    size_t len = sizeof fx->endpoint;
    zmq_getsockopt(fx->router, ZMQ_LAST_ENDPOINT, fx->endpoint, &len);
}

static void s_fx_fini(fx_t *fx)
{
    zmq_close(fx->router);
    wz_zap_destroy(&fx->zap);
    zmq_ctx_term(fx->ctx);
}

/* Server side: one [routing id][body] message within WAIT_MS; 0 or -1. */
static int s_srv_recv(fx_t *fx, frame_t *f)
{
    zmq_pollitem_t item = {fx->router, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, WAIT_MS) <= 0)
        return -1;
    int n = zmq_recv(fx->router, f->rid, sizeof f->rid, 0);
    if (n < 0)
        return -1;
    f->rid_len = (size_t)n;
    zmq_msg_t body;
    zmq_msg_init(&body);
    if (zmq_msg_recv(&body, fx->router, 0) < 0)
        return -1;
    f->body_len = zmq_msg_size(&body) < sizeof f->body ? zmq_msg_size(&body) : sizeof f->body;
    memcpy(f->body, zmq_msg_data(&body), f->body_len);
    const char *party = wz_zap_party(&body);
    snprintf(fx->sender, sizeof fx->sender, "%s", party ? party : "");
    zmq_msg_close(&body);
    return 0;
}

static void s_srv_send(fx_t *fx, const frame_t *to, const ProtobufCMessage *m)
{
    zmq_send(fx->router, to->rid, to->rid_len, ZMQ_SNDMORE);
    wz_codec_send(fx->router, m, 0);
}

static void s_srv_reply(fx_t *fx, const frame_t *to, const char *request_id)
{
    WzReply reply = WOONZORG__V1__REPLY__INIT;
    reply.request_id = (char *)request_id;
    reply.code = WOONZORG__V1__CODE__CODE_OK;
    reply.id = "kam-0012";
    s_srv_send(fx, to, &reply.base);
}

/* Records the request's id; returns 0 if the frame was a Request. */
static int s_srv_note_request(fx_t *fx, const frame_t *f)
{
    WzRequest *req = wz_request_unpack(f->body, f->body_len);
    if (!req)
        return -1;
    if (fx->n_requests < 8)
        snprintf(fx->request_ids[fx->n_requests], sizeof fx->request_ids[0], "%s", req->request_id);
    fx->n_requests++;
    WZ_FREE_UNPACKED(req);
    return 0;
}

/* Ignores the first request; answers the second, after a stale reply. */
static void *s_srv_retry(void *arg)
{
    fx_t *fx = arg;
    frame_t f;
    for (int i = 0; i < 2; i++)
        if (s_srv_recv(fx, &f) != 0 || s_srv_note_request(fx, &f) != 0)
            return NULL;
    s_srv_reply(fx, &f, "stale-request");
    s_srv_reply(fx, &f, fx->request_ids[1]);
    return NULL;
}

static void *s_srv_answer_once(void *arg)
{
    fx_t *fx = arg;
    frame_t f;
    if (s_srv_recv(fx, &f) == 0 && s_srv_note_request(fx, &f) == 0)
        s_srv_reply(fx, &f, fx->request_ids[0]);
    return NULL;
}

static WzRequest s_withdraw_request(Woonzorg__V1__IdRef *ref)
{
    WzRequest req = WOONZORG__V1__REQUEST__INIT;
    *ref = (Woonzorg__V1__IdRef)WOONZORG__V1__ID_REF__INIT;
    ref->id = "kam-0012";
    req.body_case = WOONZORG__V1__REQUEST__BODY_WITHDRAW_CANDIDATE;
    req.withdraw_candidate = ref;
    return req;
}

START_TEST(test_retry_keeps_request_id)
{
    fx_t fx;
    s_fx_init(&fx);
    ck_assert_int_eq(pthread_create(&fx.thread, NULL, s_srv_retry, &fx), 0);
    wz_client_t *client = wz_client_new(fx.ctx, fx.endpoint, fx.server.public_z85, &fx.client);
    ck_assert_ptr_nonnull(client);
    Woonzorg__V1__IdRef ref;
    WzRequest req = s_withdraw_request(&ref);
    WzReply *reply = NULL;
    ck_assert_int_eq(wz_client_call(client, &req, WAIT_MS, 100, &reply), 0);
    pthread_join(fx.thread, NULL);
    ck_assert_int_ge(fx.n_requests, 2);
    ck_assert_uint_eq(strlen(fx.request_ids[0]), 32); /* generated */
    ck_assert_str_eq(fx.request_ids[0], fx.request_ids[1]);
    ck_assert_str_eq(reply->request_id, fx.request_ids[0]); /* not the stale one */
    ck_assert_str_eq(reply->id, "kam-0012");
    ck_assert_str_eq(fx.sender, "ribw-kam");
    ck_assert_str_eq(req.request_id, ""); /* the caller's request is left as it was */
    WZ_FREE_UNPACKED(reply);
    wz_client_destroy(&client);
    ck_assert_ptr_null(client);
    wz_client_destroy(&client);
    s_fx_fini(&fx);
}
END_TEST

START_TEST(test_given_request_id_used)
{
    fx_t fx;
    s_fx_init(&fx);
    ck_assert_int_eq(pthread_create(&fx.thread, NULL, s_srv_answer_once, &fx), 0);
    wz_client_t *client = wz_client_new(fx.ctx, fx.endpoint, fx.server.public_z85, &fx.client);
    Woonzorg__V1__IdRef ref;
    WzRequest req = s_withdraw_request(&ref);
    req.request_id = "my-req.1";
    WzReply *reply = NULL;
    ck_assert_int_eq(wz_client_call(client, &req, WAIT_MS, 1000, &reply), 0);
    pthread_join(fx.thread, NULL);
    ck_assert_str_eq(fx.request_ids[0], "my-req.1");
    ck_assert_str_eq(reply->request_id, "my-req.1");
    ck_assert_str_eq(req.request_id, "my-req.1");
    WZ_FREE_UNPACKED(reply);
    wz_client_destroy(&client);
    s_fx_fini(&fx);
}
END_TEST

START_TEST(test_call_times_out)
{
    fx_t fx;
    s_fx_init(&fx);
    wz_client_t *client = wz_client_new(fx.ctx, fx.endpoint, fx.server.public_z85, &fx.client);
    Woonzorg__V1__IdRef ref;
    WzRequest req = s_withdraw_request(&ref);
    WzReply *reply = (WzReply *)&ref; /* must be reset to NULL */
    int64_t start = wz_mono_ms();
    ck_assert_int_eq(wz_client_call(client, &req, 300, 100, &reply), -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    ck_assert_ptr_null(reply);
    int64_t took = wz_mono_ms() - start;
    ck_assert_int_ge(took, 290);
    ck_assert_int_lt(took, 3000);
    /* The server did get the request, more than once. */
    frame_t f;
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(s_srv_recv(&fx, &f), 0);
        ck_assert_int_eq(s_srv_note_request(&fx, &f), 0);
    }
    ck_assert_str_eq(fx.request_ids[0], fx.request_ids[1]);
    wz_client_destroy(&client);
    s_fx_fini(&fx);
}
END_TEST

START_TEST(test_unreachable_times_out)
{
    fx_t fx;
    s_fx_init(&fx);
    /* A port nobody listens on (ours, after closing the router). */
    zmq_close(fx.router);
    fx.router = zmq_socket(fx.ctx, ZMQ_ROUTER);
    wz_client_t *client = wz_client_new(fx.ctx, fx.endpoint, fx.server.public_z85, &fx.client);
    ck_assert_ptr_nonnull(client);
    Woonzorg__V1__IdRef ref;
    WzRequest req = s_withdraw_request(&ref);
    WzReply *reply = NULL;
    ck_assert_int_eq(wz_client_call(client, &req, 300, 50, &reply), -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    wz_client_destroy(&client);
    ck_assert_ptr_null(wz_client_new(fx.ctx, "nonsense://x", fx.server.public_z85, &fx.client));
    ck_assert_ptr_null(wz_client_new(fx.ctx, fx.endpoint, "too-short", &fx.client));
    s_fx_fini(&fx);
}
END_TEST

static void *s_srv_raw(void *arg)
{
    fx_t *fx = arg;
    frame_t f;
    if (s_srv_recv(fx, &f) != 0)
        return NULL;
    WzReply reply = WOONZORG__V1__REPLY__INIT;
    reply.code = WOONZORG__V1__CODE__CODE_MALFORMED;
    reply.message = "not a Request";
    fx->n_requests = (int)f.body_len;
    s_srv_send(fx, &f, &reply.base);
    return NULL;
}

START_TEST(test_call_raw)
{
    fx_t fx;
    s_fx_init(&fx);
    ck_assert_int_eq(pthread_create(&fx.thread, NULL, s_srv_raw, &fx), 0);
    wz_client_t *client = wz_client_new(fx.ctx, fx.endpoint, fx.server.public_z85, &fx.client);
    WzReply *reply = NULL;
    ck_assert_int_eq(wz_client_call_raw(client, "\xff\xff\xff", 3, WAIT_MS, &reply), 0);
    pthread_join(fx.thread, NULL);
    ck_assert_int_eq(fx.n_requests, 3);
    ck_assert_int_eq(reply->code, WOONZORG__V1__CODE__CODE_MALFORMED);
    WZ_FREE_UNPACKED(reply);
    ck_assert_int_eq(wz_client_call_raw(client, "x", 1, 200, &reply), -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    wz_client_destroy(&client);
    s_fx_fini(&fx);
}
END_TEST

/* Returns the ClientMessage in f, or NULL. */
static WzClientMessage *s_client_message(const frame_t *f)
{
    return (WzClientMessage *)WZ_UNPACK(woonzorg__v1__client_message__descriptor, f->body,
                                        f->body_len);
}

static void s_srv_deliver(fx_t *fx, const frame_t *to, uint64_t seq)
{
    WzDelivery d = WOONZORG__V1__DELIVERY__INIT;
    WzEvent e = WOONZORG__V1__EVENT__INIT;
    char id[32];
    snprintf(id, sizeof id, "matching:zkij:%llu", (unsigned long long)seq);
    e.id = id;
    d.seq = seq;
    d.reason = "proposal";
    d.event = &e;
    s_srv_send(fx, to, &d.base);
}

/* Waits for the next Hello (recording it) or Ack; returns the message kind. */
static int s_srv_next(fx_t *fx, frame_t *f)
{
    if (s_srv_recv(fx, f) != 0)
        return -1;
    WzClientMessage *cm = s_client_message(f);
    if (!cm)
        return -1;
    int kind = cm->body_case;
    if (kind == WOONZORG__V1__CLIENT_MESSAGE__BODY_HELLO && fx->n_hellos < 8)
        fx->hellos[fx->n_hellos++] = cm->hello->after_seq;
    if (kind == WOONZORG__V1__CLIENT_MESSAGE__BODY_ACK)
        fx->acked = cm->ack->up_to_seq;
    WZ_FREE_UNPACKED(cm);
    return kind;
}

/* Sends 1, 2, then both again (as after a reconnect), then 3; waits for the ack. */
static void *s_srv_duplicates(void *arg)
{
    fx_t *fx = arg;
    frame_t f;
    if (s_srv_next(fx, &f) != WOONZORG__V1__CLIENT_MESSAGE__BODY_HELLO)
        return NULL;
    uint64_t seqs[] = {1, 2, 1, 2, 3};
    for (size_t i = 0; i < 5; i++)
        s_srv_deliver(fx, &f, seqs[i]);
    for (int i = 0; i < 10; i++) /* Hellos may come in between */
        if (s_srv_next(fx, &f) == WOONZORG__V1__CLIENT_MESSAGE__BODY_ACK)
            break;
    return NULL;
}

START_TEST(test_listener_skips_duplicates)
{
    fx_t fx;
    s_fx_init(&fx);
    ck_assert_int_eq(pthread_create(&fx.thread, NULL, s_srv_duplicates, &fx), 0);
    wz_listener_t *l = wz_listener_new(fx.ctx, fx.endpoint, fx.server.public_z85, &fx.client, 0);
    ck_assert_ptr_nonnull(l);
    WzDelivery *d = NULL;
    for (uint64_t want = 1; want <= 3; want++) {
        ck_assert_int_eq(wz_listener_next(l, WAIT_MS, &d), 1);
        ck_assert_uint_eq(d->seq, want);
        ck_assert_str_eq(d->reason, "proposal");
        ck_assert_ptr_nonnull(d->event);
        WZ_FREE_UNPACKED(d);
    }
    ck_assert_uint_eq(wz_listener_last_seq(l), 3);
    ck_assert_int_eq(wz_listener_ack(l, 3), 0);
    pthread_join(fx.thread, NULL);
    ck_assert_uint_eq(fx.acked, 3);
    ck_assert_uint_eq(fx.hellos[0], 0);
    ck_assert_str_eq(fx.sender, "ribw-kam");
    /* nothing more: a timeout, not a duplicate */
    ck_assert_int_eq(wz_listener_next(l, 100, &d), 0);
    ck_assert_ptr_null(d);
    wz_listener_destroy(&l);
    ck_assert_ptr_null(l);
    wz_listener_destroy(&l);
    s_fx_fini(&fx);
}
END_TEST

/* Ignores the first Hello; answers the repeated one with 5 (seen) and 6. */
static void *s_srv_rehello(void *arg)
{
    fx_t *fx = arg;
    frame_t f;
    for (int i = 0; i < 2; i++)
        if (s_srv_next(fx, &f) != WOONZORG__V1__CLIENT_MESSAGE__BODY_HELLO)
            return NULL;
    s_srv_deliver(fx, &f, 5);
    s_srv_deliver(fx, &f, 6);
    return NULL;
}

START_TEST(test_listener_repeats_hello)
{
    fx_t fx;
    s_fx_init(&fx);
    ck_assert_int_eq(pthread_create(&fx.thread, NULL, s_srv_rehello, &fx), 0);
    wz_listener_t *l = wz_listener_new(fx.ctx, fx.endpoint, fx.server.public_z85, &fx.client, 5);
    WzDelivery *d = NULL;
    int64_t start = wz_mono_ms();
    ck_assert_int_eq(wz_listener_next(l, WAIT_MS, &d), 1);
    ck_assert_int_ge(wz_mono_ms() - start, 900); /* only after a second of silence */
    ck_assert_uint_eq(d->seq, 6);
    WZ_FREE_UNPACKED(d);
    pthread_join(fx.thread, NULL);
    ck_assert_int_eq(fx.n_hellos, 2);
    ck_assert_uint_eq(fx.hellos[0], 5);
    ck_assert_uint_eq(fx.hellos[1], 5);
    wz_listener_destroy(&l);
    s_fx_fini(&fx);
}
END_TEST

START_TEST(test_client_keys)
{
    wz_settings_t settings;
    memset(&settings, 0, sizeof settings);
    snprintf(settings.keys_dir, sizeof settings.keys_dir, "/tmp/wz-test-client-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(settings.keys_dir));
    wz_keypair_t party, service, got;
    char err[256] = "", pub[41];
    wz_keys_generate(&party);
    wz_keys_generate(&service);
    ck_assert_int_eq(wz_keys_write(settings.keys_dir, "pre-wonen", &party, 0, err, sizeof err), 0);
    ck_assert_int_eq(wz_client_keys(&settings, "pre-wonen", "intake", &got, pub, err, sizeof err),
                     -1);
    ck_assert_ptr_nonnull(strstr(err, "intake.pub"));
    ck_assert_int_eq(wz_keys_write(settings.keys_dir, "intake", &service, 0, err, sizeof err), 0);
    ck_assert_int_eq(wz_client_keys(&settings, "pre-wonen", "intake", &got, pub, err, sizeof err),
                     0);
    ck_assert_str_eq(got.secret_z85, party.secret_z85);
    ck_assert_str_eq(pub, service.public_z85);
    ck_assert_int_eq(wz_client_keys(&settings, "", "intake", &got, pub, err, sizeof err), -1);
    ck_assert_int_eq(wz_client_keys(&settings, "nobody", "intake", &got, pub, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "nobody.key"));
    char path[600];
    const char *files[] = {"pre-wonen.key", "pre-wonen.pub", "intake.key", "intake.pub"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", settings.keys_dir, files[i]);
        unlink(path);
    }
    rmdir(settings.keys_dir);
}
END_TEST

int main(void)
{
    TCase *tc =
        wz_test_case("client", 30,
                     (const TTest *const[]){test_retry_keeps_request_id, test_given_request_id_used,
                                            test_call_times_out, test_unreachable_times_out,
                                            test_call_raw, test_listener_skips_duplicates,
                                            test_listener_repeats_hello, test_client_keys, NULL});
    return wz_test_run("wz_client", (TCase *const[]){tc, NULL});
}
