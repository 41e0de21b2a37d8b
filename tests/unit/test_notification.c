/* Unit tests of the notification service: recipients per event, durable
 * gap-free mailboxes filled exactly once from the event streams, and
 * delivery to CURVE-authenticated parties with acknowledgement, resume,
 * resend and a window, on a private Redis and real sockets. The service runs
 * in-process; the tests drive its loop in short bursts. */
#include <check.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "wz_bus.h"
#include "wz_client.h"
#include "wz_codec.h"
#include "wz_keys.h"
#include "wz_log.h"
#include "wz_loop.h"
#include "wz_mailbox.h"
#include "wz_notification.h"
#include "wz_policy.h"
#include "wz_server.h"
#include "wz_testenv.h"
#include "wz_testmain.h"
#include "wz_util.h"
#include "wz_zap.h"

#define PAYLOAD(x) WOONZORG__V1__EVENT__PAYLOAD_##x

enum { P_PRE_WONEN, P_RIBW, P_DOCK, P_GEM_HAARLEM, P_GEM_VELSEN, P_ALLIANTIE, P_GEM_ALMERE, N_P };

static const struct {
    const char *id;
    wz_role_t role;
    const char *region;
    const char *municipality;
} s_party_rows[N_P] = {
    {"pre-wonen", WZ_ROLE_CORPORATION, "zkij", ""},
    {"ribw-kam", WZ_ROLE_CARE_PROVIDER, "zkij", ""},
    {"dock", WZ_ROLE_CARE_PROVIDER, "zkij", ""},
    {"gem-haarlem", WZ_ROLE_MUNICIPALITY, "zkij", "haarlem"},
    {"gem-velsen", WZ_ROLE_MUNICIPALITY, "zkij", "velsen"},
    {"de-alliantie", WZ_ROLE_CORPORATION, "almere", ""},
    {"gem-almere", WZ_ROLE_MUNICIPALITY, "almere", "almere"},
};

/* Everything one test runs against; the tests fork, so statics are per test. */
static struct {
    wz_testenv_t *env;
    wz_store_t *store;
    wz_log_t *log;
    void *ctx;
    wz_municipality_t zkij_municipalities[2];
    wz_municipality_t almere_municipalities[1];
    wz_region_t regions[2];
    wz_party_t parties[N_P];
    wz_policy_t policy;
    wz_keypair_t party_kp[N_P];
    wz_keypair_t server_kp;
    char endpoint[64];
    wz_zap_t *zap;
    void *router;
    wz_monitor_t *monitor; /* the router's, as wz_runtime_serve makes it */
    wz_pub_t *pub;    /* notification's own outbox */
    wz_pub_t *intake; /* producers the consumer follows */
    wz_pub_t *matching;
    char intake_ep[64], matching_ep[64];
    wz_notification_t *notification;
    wz_sub_t *sub;
    wz_loop_t *loop;
} h;

/* --- harness ----------------------------------------------------------- */

static void s_build_policy(void)
{
    strcpy(h.zkij_municipalities[0].id, "haarlem");
    strcpy(h.zkij_municipalities[1].id, "velsen");
    strcpy(h.almere_municipalities[0].id, "almere");
    strcpy(h.regions[0].id, "zkij");
    h.regions[0].municipalities = h.zkij_municipalities;
    h.regions[0].n_municipalities = 2;
    strcpy(h.regions[1].id, "almere");
    h.regions[1].municipalities = h.almere_municipalities;
    h.regions[1].n_municipalities = 1;
    strcpy(h.policy.version, "test");
    h.policy.regions = h.regions;
    h.policy.n_regions = 2;
    for (int i = 0; i < N_P; i++) {
        wz_party_t *p = &h.parties[i];
        strcpy(p->id, s_party_rows[i].id);
        strcpy(p->name, s_party_rows[i].id);
        p->role = s_party_rows[i].role;
        strcpy(p->region, s_party_rows[i].region);
        strcpy(p->municipality, s_party_rows[i].municipality);
        ck_assert_int_eq(wz_keys_generate(&h.party_kp[i]), 0);
        strcpy(p->public_key, h.party_kp[i].public_z85);
    }
    h.policy.parties = h.parties;
    h.policy.n_parties = N_P;
}

static void setup_policy(void)
{
    memset(&h, 0, sizeof h);
    s_build_policy();
}

static void setup(void)
{
    setup_policy();
    h.env = wz_testenv_new(false, 0);
    h.store = wz_testenv_store(h.env);
    h.log = wz_log_new("notification", WZ_LOG_ERROR, stderr);
    ck_assert_ptr_nonnull(h.log);
    h.ctx = zmq_ctx_new();
    ck_assert_int_eq(wz_keys_generate(&h.server_kp), 0);
    h.zap = wz_zap_new(h.ctx, &h.policy, h.log);
    ck_assert_ptr_nonnull(h.zap);
    snprintf(h.endpoint, sizeof h.endpoint, "tcp://127.0.0.1:%d", wz_test_free_port());
    h.router = wz_server_router(h.ctx, &h.server_kp, h.endpoint, 1 << 20, h.log);
    ck_assert_ptr_nonnull(h.router);
    h.monitor = wz_monitor_new(h.ctx, h.router, "notification", h.log);
    ck_assert_ptr_nonnull(h.monitor);
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", wz_test_free_port());
    h.pub = wz_pub_new(h.ctx, h.store, "notification", ep, h.log);
    snprintf(h.intake_ep, sizeof h.intake_ep, "tcp://127.0.0.1:%d", wz_test_free_port());
    h.intake = wz_pub_new(h.ctx, h.store, "intake", h.intake_ep, h.log);
    snprintf(h.matching_ep, sizeof h.matching_ep, "tcp://127.0.0.1:%d", wz_test_free_port());
    h.matching = wz_pub_new(h.ctx, h.store, "matching", h.matching_ep, h.log);
    ck_assert(h.pub && h.intake && h.matching);
}

static void s_stop_service(void)
{
    wz_sub_destroy(&h.sub);
    wz_notification_destroy(&h.notification);
    wz_loop_destroy(&h.loop);
}

static void teardown(void)
{
    s_stop_service();
    wz_pub_destroy(&h.matching);
    wz_pub_destroy(&h.intake);
    wz_pub_destroy(&h.pub);
    wz_monitor_destroy(&h.monitor);
    if (h.router)
        zmq_close(h.router);
    wz_zap_destroy(&h.zap);
    zmq_ctx_term(h.ctx);
    wz_log_destroy(&h.log);
    wz_testenv_destroy(&h.env);
}

/* Runs the loop until cond holds or timeout_ms passed. */
typedef bool (*s_cond_fn)(void);
static struct {
    int64_t deadline;
    s_cond_fn cond;
} s_until;

static int s_until_tick(wz_loop_t *loop, void *arg)
{
    (void)loop;
    (void)arg;
    if (wz_mono_ms() >= s_until.deadline)
        return -1;
    return s_until.cond && s_until.cond() ? -1 : 0;
}

static bool s_pump_until(s_cond_fn cond, int timeout_ms)
{
    s_until.deadline = wz_mono_ms() + timeout_ms;
    s_until.cond = cond;
    if (cond && cond())
        return true;
    ck_assert_int_eq(wz_loop_run(h.loop), 0);
    return cond ? cond() : true;
}

static void s_pump(int ms)
{
    s_pump_until(NULL, ms);
}

/* (Re)starts an in-process notification service, as main.c wires it. */
static void s_start_service(int max_in_flight, int session_timeout_ms)
{
    static const char *const regions[] = {"zkij", "almere"};
    h.loop = wz_loop_new(NULL);
    h.notification = wz_notification_new(h.monitor, h.router, h.store, h.pub, &h.policy,
                                         max_in_flight, session_timeout_ms, h.log);
    ck_assert_ptr_nonnull(h.notification);
    h.sub = wz_sub_new(h.ctx, h.store, h.pub, "notification", wz_notification_apply,
                       wz_notification_done, h.notification, h.log);
    ck_assert_ptr_nonnull(h.sub);
    ck_assert_int_eq(wz_sub_follow(h.sub, "intake", h.intake_ep, regions, 2), 0);
    ck_assert_int_eq(wz_sub_follow(h.sub, "matching", h.matching_ep, regions, 2), 0);
    ck_assert_int_eq(wz_sub_attach(h.sub, h.loop, 50), 0);
    ck_assert_int_eq(wz_notification_attach(h.notification, h.loop), 0);
    ck_assert_int_gt(wz_loop_add_timer(h.loop, 5, s_until_tick, NULL), 0);
    ck_assert_int_eq(wz_sub_catch_up(h.sub), 0);
}

/* Commits ev on producer's outbox (region zkij) and lets the service apply it. */
static uint64_t s_emit(wz_pub_t *producer, WzEvent *ev)
{
    wz_txn_t *txn = wz_txn_begin(h.store, producer, "zkij");
    ck_assert_ptr_nonnull(txn);
    uint64_t seq = wz_txn_emit(txn, ev);
    ck_assert(seq > 0);
    ck_assert_int_eq(wz_txn_commit(txn), 0);
    wz_txn_destroy(&txn);
    if (h.sub)
        ck_assert_int_eq(wz_sub_catch_up(h.sub), 0);
    return seq;
}

static void s_urgency(const char *care_provider, const char *candidate)
{
    Woonzorg__V1__UrgencyGranted ug = WOONZORG__V1__URGENCY_GRANTED__INIT;
    ug.candidate_id = (char *)candidate;
    ug.care_provider = (char *)care_provider;
    ug.municipality = "haarlem";
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.actor = "gem-haarlem";
    ev.payload_case = PAYLOAD(URGENCY_GRANTED);
    ev.urgency_granted = &ug;
    s_emit(h.intake, &ev);
}

/* A proposal for a Velsen dwelling to a candidate with Haarlem urgency. */
static void s_proposal_created(void)
{
    WzExplanation x = WOONZORG__V1__EXPLANATION__INIT;
    x.considered = 5;
    x.eligible = 2;
    x.rank = 1;
    WzProposal p = WOONZORG__V1__PROPOSAL__INIT;
    p.id = "v1/1";
    p.vacancy_id = "v1";
    p.candidate_id = "c-17";
    p.region = "zkij";
    p.corporation = "pre-wonen";
    p.care_provider = "ribw-kam";
    p.municipality = "haarlem";
    p.state = WOONZORG__V1__PROPOSAL_STATE__PROPOSAL_STATE_SENT;
    p.explanation = &x;
    WzVacancy v = WOONZORG__V1__VACANCY__INIT;
    v.id = "v1";
    v.corporation = "pre-wonen";
    v.region = "zkij";
    v.municipality = "velsen";
    v.rooms = 2;
    Woonzorg__V1__ProposalCreated pc = WOONZORG__V1__PROPOSAL_CREATED__INIT;
    pc.proposal = &p;
    pc.vacancy = &v;
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.actor = "matching";
    ev.payload_case = PAYLOAD(PROPOSAL_CREATED);
    ev.proposal_created = &pc;
    s_emit(h.matching, &ev);
}

static wz_listener_t *s_listener(int party, uint64_t after_seq)
{
    wz_listener_t *l =
        wz_listener_new(h.ctx, h.endpoint, h.server_kp.public_z85, &h.party_kp[party], after_seq);
    ck_assert_ptr_nonnull(l);
    return l;
}

/* The next new delivery for l within timeout_ms, or NULL. */
static WzDelivery *s_next(wz_listener_t *l, int timeout_ms)
{
    int64_t deadline = wz_mono_ms() + timeout_ms;
    while (wz_mono_ms() < deadline) {
        s_pump(10);
        WzDelivery *d = NULL;
        int rc = wz_listener_next(l, 10, &d);
        ck_assert_int_ge(rc, 0);
        if (rc == 1)
            return d;
    }
    return NULL;
}

static WzDelivery *s_expect(wz_listener_t *l, uint64_t seq, const char *reason)
{
    WzDelivery *d = s_next(l, 5000);
    ck_assert_msg(d != NULL, "no delivery %" PRIu64 " arrived", seq);
    ck_assert_uint_eq(d->seq, seq);
    ck_assert_str_eq(d->reason, reason);
    ck_assert_ptr_nonnull(d->event);
    return d;
}

/* A raw CURVE DEALER for what the listener hides: frames, routing ids, windows. */
/* A party's DEALER (routing_id may be NULL), not connected yet. */
static void *s_dealer_socket(int party, const char *routing_id)
{
    void *d = zmq_socket(h.ctx, ZMQ_DEALER);
    ck_assert_ptr_nonnull(d);
    int linger = 0;
    zmq_setsockopt(d, ZMQ_LINGER, &linger, sizeof linger);
    if (routing_id)
        ck_assert_int_eq(zmq_setsockopt(d, ZMQ_ROUTING_ID, routing_id, strlen(routing_id)), 0);
    ck_assert_int_eq(wz_zap_client(d, &h.party_kp[party], h.server_kp.public_z85), 0);
    return d;
}

static void *s_dealer(int party, const char *routing_id)
{
    void *d = s_dealer_socket(party, routing_id);
    ck_assert_int_eq(zmq_connect(d, h.endpoint), 0);
    return d;
}

static void s_dealer_send(void *d, bool hello, uint64_t seq)
{
    Woonzorg__V1__Hello hi = WOONZORG__V1__HELLO__INIT;
    Woonzorg__V1__Ack ack = WOONZORG__V1__ACK__INIT;
    WzClientMessage cm = WOONZORG__V1__CLIENT_MESSAGE__INIT;
    if (hello) {
        hi.after_seq = seq;
        cm.body_case = WOONZORG__V1__CLIENT_MESSAGE__BODY_HELLO;
        cm.hello = &hi;
    } else {
        ack.up_to_seq = seq;
        cm.body_case = WOONZORG__V1__CLIENT_MESSAGE__BODY_ACK;
        cm.ack = &ack;
    }
    ck_assert_int_eq(wz_codec_send(d, &cm.base, 0), 0);
}

/* The next frame on a raw dealer within timeout_ms, as a Delivery, or NULL. */
static WzDelivery *s_dealer_next(void *d, int timeout_ms)
{
    int64_t deadline = wz_mono_ms() + timeout_ms;
    while (wz_mono_ms() < deadline) {
        s_pump(10);
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, d, ZMQ_DONTWAIT) >= 0) {
            ck_assert(!zmq_msg_more(&msg));
            WzDelivery *del = (WzDelivery *)WZ_UNPACK(woonzorg__v1__delivery__descriptor,
                                                      zmq_msg_data(&msg), zmq_msg_size(&msg));
            zmq_msg_close(&msg);
            ck_assert_ptr_nonnull(del);
            return del;
        }
        zmq_msg_close(&msg);
    }
    return NULL;
}

static long long s_xlen(const char *party)
{
    redisReply *r = wz_store_cmd(h.store, "XLEN wz:{zkij}:mailbox:%s", party);
    ck_assert_ptr_nonnull(r);
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

static uint64_t s_acked(const char *party)
{
    char key[128];
    snprintf(key, sizeof key, "wz:{zkij}:acked:%s", party);
    uint64_t v = 0;
    ck_assert_int_ge(wz_store_get_u64(h.store, key, &v), 0);
    return v;
}

static bool s_no_sessions(void)
{
    return wz_notification_sessions(h.notification) == 0;
}

static bool s_one_session(void)
{
    return wz_notification_sessions(h.notification) == 1;
}

/* --- recipients ---------------------------------------------------------- */

static size_t s_recipients(const WzEvent *ev, wz_recipient_t *out)
{
    return wz_mailbox_recipients(&h.policy, NULL, ev, out, WZ_MAILBOX_MAX_RECIPIENTS);
}

static const char *s_reason_of(const wz_recipient_t *to, size_t n, const char *party)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(to[i].party->id, party) == 0)
            return to[i].reason;
    return NULL;
}

START_TEST(test_recipients_per_event)
{
    wz_recipient_t to[WZ_MAILBOX_MAX_RECIPIENTS];
    WzVacancy v = WOONZORG__V1__VACANCY__INIT;
    v.id = "v1";
    v.corporation = "pre-wonen";
    v.region = "zkij";
    v.municipality = "velsen";
    WzProposal p = WOONZORG__V1__PROPOSAL__INIT;
    p.corporation = "pre-wonen";
    p.care_provider = "ribw-kam";
    p.municipality = "haarlem";
    p.region = "zkij";
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.region = "zkij";

    Woonzorg__V1__VacancyReleased vr = WOONZORG__V1__VACANCY_RELEASED__INIT;
    vr.vacancy = &v;
    ev.payload_case = PAYLOAD(VACANCY_RELEASED);
    ev.vacancy_released = &vr;
    size_t n = s_recipients(&ev, to);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(s_reason_of(to, n, "pre-wonen"), "released");
    ck_assert_str_eq(s_reason_of(to, n, "gem-velsen"), "released");

    Woonzorg__V1__VacancyLet vl = WOONZORG__V1__VACANCY_LET__INIT;
    vl.vacancy = &v;
    vl.proposal = &p;
    ev.payload_case = PAYLOAD(VACANCY_LET);
    ev.vacancy_let = &vl;
    n = s_recipients(&ev, to);
    ck_assert_uint_eq(n, 4); /* corporation, care provider, both municipalities */
    ck_assert_str_eq(s_reason_of(to, n, "ribw-kam"), "let");
    ck_assert_str_eq(s_reason_of(to, n, "pre-wonen"), "let");
    ck_assert_str_eq(s_reason_of(to, n, "gem-haarlem"), "let");
    ck_assert_str_eq(s_reason_of(to, n, "gem-velsen"), "let");

    Woonzorg__V1__ProposalAnswered pa = WOONZORG__V1__PROPOSAL_ANSWERED__INIT;
    pa.proposal = &p;
    ev.payload_case = PAYLOAD(PROPOSAL_ANSWERED);
    ev.proposal_answered = &pa;
    n = s_recipients(&ev, to);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(s_reason_of(to, n, "pre-wonen"), "answered");
    ck_assert_str_eq(s_reason_of(to, n, "gem-haarlem"), "answered");
    ck_assert_ptr_null(s_reason_of(to, n, "ribw-kam")); /* it answered itself */

    Woonzorg__V1__ProposalExpired pe = WOONZORG__V1__PROPOSAL_EXPIRED__INIT;
    pe.proposal = &p;
    ev.payload_case = PAYLOAD(PROPOSAL_EXPIRED);
    ev.proposal_expired = &pe;
    n = s_recipients(&ev, to);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(s_reason_of(to, n, "ribw-kam"), "expired");

    Woonzorg__V1__ProposalCancelled pcn = WOONZORG__V1__PROPOSAL_CANCELLED__INIT;
    pcn.proposal = &p;
    ev.payload_case = PAYLOAD(PROPOSAL_CANCELLED);
    ev.proposal_cancelled = &pcn;
    n = s_recipients(&ev, to);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(s_reason_of(to, n, "gem-haarlem"), "cancelled");

    /* The same municipality for candidate and dwelling is informed once. */
    v.municipality = "haarlem";
    Woonzorg__V1__ProposalCreated pc = WOONZORG__V1__PROPOSAL_CREATED__INIT;
    pc.proposal = &p;
    pc.vacancy = &v;
    ev.payload_case = PAYLOAD(PROPOSAL_CREATED);
    ev.proposal_created = &pc;
    n = s_recipients(&ev, to);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(s_reason_of(to, n, "ribw-kam"), "proposal");
    ck_assert_str_eq(s_reason_of(to, n, "pre-wonen"), "information");
    ck_assert_str_eq(s_reason_of(to, n, "gem-haarlem"), "information");

    Woonzorg__V1__VacancyPublished vp = WOONZORG__V1__VACANCY_PUBLISHED__INIT;
    vp.vacancy = &v;
    ev.payload_case = PAYLOAD(VACANCY_PUBLISHED);
    ev.vacancy_published = &vp;
    n = s_recipients(&ev, to);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(to[0].party->id, "gem-haarlem");
    ck_assert_str_eq(to[0].reason, "information");

    Woonzorg__V1__CandidateWithdrawn cw = WOONZORG__V1__CANDIDATE_WITHDRAWN__INIT;
    cw.care_provider = "ribw-kam";
    cw.municipality = "velsen";
    ev.payload_case = PAYLOAD(CANDIDATE_WITHDRAWN);
    ev.candidate_withdrawn = &cw;
    n = s_recipients(&ev, to);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(to[0].party->id, "gem-velsen");

    /* Registrations concern nobody; unknown parties are skipped. */
    WzCandidate c = WOONZORG__V1__CANDIDATE__INIT;
    Woonzorg__V1__CandidateRegistered cr = WOONZORG__V1__CANDIDATE_REGISTERED__INIT;
    cr.candidate = &c;
    ev.payload_case = PAYLOAD(CANDIDATE_REGISTERED);
    ev.candidate_registered = &cr;
    ck_assert_uint_eq(s_recipients(&ev, to), 0);
    Woonzorg__V1__UrgencyGranted ug = WOONZORG__V1__URGENCY_GRANTED__INIT;
    ug.care_provider = "nobody-we-know";
    ev.payload_case = PAYLOAD(URGENCY_GRANTED);
    ev.urgency_granted = &ug;
    ck_assert_uint_eq(s_recipients(&ev, to), 0);
    ug.care_provider = "dock";
    n = s_recipients(&ev, to);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(to[0].reason, "urgency");
}
END_TEST

/* --- delivery ------------------------------------------------------------ */

START_TEST(test_proposal_reaches_its_parties)
{
    s_start_service(8, 60000);
    wz_listener_t *ribw = s_listener(P_RIBW, 0), *corp = s_listener(P_PRE_WONEN, 0),
                  *haarlem = s_listener(P_GEM_HAARLEM, 0), *velsen = s_listener(P_GEM_VELSEN, 0),
                  *dock = s_listener(P_DOCK, 0);
    s_proposal_created();

    WzDelivery *d = s_expect(ribw, 1, "proposal");
    ck_assert_int_eq(d->event->payload_case, PAYLOAD(PROPOSAL_CREATED));
    ck_assert_str_eq(d->event->proposal_created->proposal->id, "v1/1");
    ck_assert_str_eq(d->event->id, "matching:zkij:1");
    ck_assert_str_eq(d->event->proposal_created->proposal->candidate_id, "c-17");
    ck_assert_uint_eq(d->event->proposal_created->proposal->explanation->rank, 1);
    WZ_FREE_UNPACKED(d);
    /* Each mailbox holds its recipient's view (wz_minimise): the corporation
     * learns of the offer, not whom it went to, nor the explanation's counts. */
    d = s_expect(corp, 1, "information");
    ck_assert_str_eq(d->event->proposal_created->proposal->candidate_id, "");
    ck_assert_uint_eq(d->event->proposal_created->proposal->explanation->eligible, 0);
    ck_assert_str_eq(d->event->proposal_created->proposal->id, "v1/1");
    WZ_FREE_UNPACKED(d);
    /* The candidate's municipality sees its own candidate and the counts;
     * the vacancy's municipality the counts only. */
    d = s_expect(haarlem, 1, "information");
    ck_assert_str_eq(d->event->proposal_created->proposal->candidate_id, "c-17");
    ck_assert_uint_eq(d->event->proposal_created->proposal->explanation->eligible, 2);
    ck_assert_uint_eq(d->event->proposal_created->proposal->explanation->rank, 0);
    WZ_FREE_UNPACKED(d);
    d = s_expect(velsen, 1, "information");
    ck_assert_str_eq(d->event->proposal_created->proposal->candidate_id, "");
    ck_assert_uint_eq(d->event->proposal_created->proposal->explanation->eligible, 2);
    WZ_FREE_UNPACKED(d);
    ck_assert_ptr_null(s_next(dock, 300));
    ck_assert_int_eq(s_xlen("dock"), 0);
    ck_assert_int_eq(s_xlen("ribw-kam"), 1);

    wz_listener_destroy(&ribw);
    wz_listener_destroy(&corp);
    wz_listener_destroy(&haarlem);
    wz_listener_destroy(&velsen);
    wz_listener_destroy(&dock);
}
END_TEST

START_TEST(test_party_sees_only_its_own_mailbox)
{
    s_start_service(8, 60000);
    s_urgency("ribw-kam", "c-1");
    s_urgency("dock", "d-1");
    s_urgency("ribw-kam", "c-2");
    wz_listener_t *dock = s_listener(P_DOCK, 0), *ribw = s_listener(P_RIBW, 0);
    WzDelivery *d = s_expect(dock, 1, "urgency");
    ck_assert_str_eq(d->event->urgency_granted->care_provider, "dock");
    ck_assert_str_eq(d->event->urgency_granted->candidate_id, "d-1");
    WZ_FREE_UNPACKED(d);
    ck_assert_ptr_null(s_next(dock, 300));
    for (uint64_t seq = 1; seq <= 2; seq++) {
        d = s_expect(ribw, seq, "urgency");
        ck_assert_str_eq(d->event->urgency_granted->care_provider, "ribw-kam");
        WZ_FREE_UNPACKED(d);
    }
    wz_listener_destroy(&dock);
    wz_listener_destroy(&ribw);
}
END_TEST

START_TEST(test_ack_then_reconnect_resumes_after_the_ack)
{
    s_start_service(8, 60000);
    for (int i = 0; i < 3; i++)
        s_urgency("ribw-kam", "c-1");
    wz_listener_t *l = s_listener(P_RIBW, 0);
    for (uint64_t seq = 1; seq <= 3; seq++) {
        WzDelivery *d = s_expect(l, seq, "urgency");
        WZ_FREE_UNPACKED(d);
    }
    ck_assert_int_eq(wz_listener_ack(l, 2), 0);
    int64_t deadline = wz_mono_ms() + 5000;
    while (s_acked("ribw-kam") != 2 && wz_mono_ms() < deadline)
        s_pump(10);
    ck_assert_uint_eq(s_acked("ribw-kam"), 2);
    /* The acknowledgement is an event of notification's own outbox. */
    redisReply *r = wz_store_cmd(h.store, "XRANGE wz:{zkij}:stream:notification - +");
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(r->elements, 1);
    redisReply *fields = r->element[0]->element[1];
    WzEvent *ev = wz_event_unpack(fields->element[1]->str, fields->element[1]->len);
    ck_assert_ptr_nonnull(ev);
    ck_assert_int_eq(ev->payload_case, PAYLOAD(NOTIFICATION_DELIVERED));
    ck_assert_str_eq(ev->actor, "ribw-kam");
    ck_assert_str_eq(ev->notification_delivered->party, "ribw-kam");
    ck_assert_uint_eq(ev->notification_delivered->up_to_seq, 2);
    WZ_FREE_UNPACKED(ev);
    freeReplyObject(r);
    wz_listener_destroy(&l);

    l = s_listener(P_RIBW, 0);
    WzDelivery *d = s_expect(l, 3, "urgency");
    WZ_FREE_UNPACKED(d);
    ck_assert_ptr_null(s_next(l, 300));
    wz_listener_destroy(&l);
}
END_TEST

START_TEST(test_unacknowledged_entries_are_resent)
{
    s_start_service(8, 60000);
    s_urgency("dock", "d-1");
    s_urgency("dock", "d-2");
    wz_listener_t *l = s_listener(P_DOCK, 0);
    for (uint64_t seq = 1; seq <= 2; seq++) {
        WzDelivery *d = s_expect(l, seq, "urgency");
        WZ_FREE_UNPACKED(d);
    }
    wz_listener_destroy(&l);
    l = s_listener(P_DOCK, 0);
    for (uint64_t seq = 1; seq <= 2; seq++) {
        WzDelivery *d = s_expect(l, seq, "urgency");
        WZ_FREE_UNPACKED(d);
    }
    wz_listener_destroy(&l);
}
END_TEST

START_TEST(test_offline_party_gets_everything_in_order)
{
    enum { N = 40 };
    s_start_service(5, 60000);
    for (int i = 0; i < N; i++) {
        if (i % 3 == 0)
            s_urgency("dock", "d-x"); /* other parties' entries interleave */
        s_urgency("ribw-kam", "c-x");
    }
    ck_assert_int_eq(s_xlen("ribw-kam"), N);
    wz_listener_t *l = s_listener(P_RIBW, 0);
    for (uint64_t seq = 1; seq <= N; seq++) {
        WzDelivery *d = s_expect(l, seq, "urgency");
        ck_assert_str_eq(d->event->urgency_granted->care_provider, "ribw-kam");
        WZ_FREE_UNPACKED(d);
        ck_assert_int_eq(wz_listener_ack(l, seq), 0);
    }
    ck_assert_ptr_null(s_next(l, 200));
    wz_listener_destroy(&l);
}
END_TEST

START_TEST(test_window_limits_what_is_in_flight)
{
    s_start_service(3, 60000);
    for (int i = 0; i < 7; i++)
        s_urgency("ribw-kam", "c-1");
    void *d = s_dealer(P_RIBW, NULL);
    /* Garbage first: dropped with a warning, nothing answered, no session. */
    ck_assert_int_eq(zmq_send(d, "\xff\xff\xff", 3, 0), 3);
    s_dealer_send(d, true, 0);
    uint64_t seq = 0;
    for (int i = 0; i < 3; i++) {
        WzDelivery *del = s_dealer_next(d, 5000);
        ck_assert_ptr_nonnull(del);
        ck_assert_uint_eq(del->seq, ++seq);
        WZ_FREE_UNPACKED(del);
    }
    ck_assert_ptr_null(s_dealer_next(d, 300)); /* the window is full */
    ck_assert_uint_eq(wz_notification_sessions(h.notification), 1);
    /* An ack beyond what was sent is ignored and opens nothing. */
    s_dealer_send(d, false, 6);
    ck_assert_ptr_null(s_dealer_next(d, 200));
    ck_assert_uint_eq(s_acked("ribw-kam"), 0);
    s_dealer_send(d, false, 2);
    for (int i = 0; i < 2; i++) {
        WzDelivery *del = s_dealer_next(d, 5000);
        ck_assert_ptr_nonnull(del);
        ck_assert_uint_eq(del->seq, ++seq);
        WZ_FREE_UNPACKED(del);
    }
    ck_assert_ptr_null(s_dealer_next(d, 300));
    /* A live entry waits for room as well. */
    s_urgency("ribw-kam", "c-2");
    ck_assert_ptr_null(s_dealer_next(d, 200));
    s_dealer_send(d, false, 5);
    for (int i = 0; i < 3; i++) {
        WzDelivery *del = s_dealer_next(d, 5000);
        ck_assert_ptr_nonnull(del);
        ck_assert_uint_eq(del->seq, ++seq);
        WZ_FREE_UNPACKED(del);
    }
    ck_assert_uint_eq(seq, 8);
    ck_assert_ptr_null(s_dealer_next(d, 200));
    ck_assert_uint_eq(s_acked("ribw-kam"), 5);
    zmq_close(d);
}
END_TEST

static bool s_ribw_acked_two(void)
{
    return s_acked("ribw-kam") == 2;
}

START_TEST(test_ack_after_disconnect_is_kept)
{
    s_start_service(8, 60000);
    for (int i = 0; i < 3; i++)
        s_urgency("ribw-kam", "c-1");
    /* A client that acks and closes before its session is known (or after
     * it ended): the ack is its own (the key says so) and cumulative. */
    void *d = s_dealer(P_RIBW, NULL);
    s_dealer_send(d, false, 2);
    ck_assert(s_pump_until(s_ribw_acked_two, 5000));
    /* Never beyond what the mailbox holds. */
    s_dealer_send(d, false, 9);
    s_pump(200);
    ck_assert_uint_eq(s_acked("ribw-kam"), 2);
    zmq_close(d);
    /* A new listener resumes after the stored ack. */
    wz_listener_t *l = s_listener(P_RIBW, 0);
    WzDelivery *del = s_expect(l, 3, "urgency");
    WZ_FREE_UNPACKED(del);
    wz_listener_destroy(&l);
}
END_TEST

START_TEST(test_replayed_event_adds_nothing)
{
    s_start_service(8, 60000);
    s_urgency("ribw-kam", "c-1");
    ck_assert_int_eq(s_xlen("ribw-kam"), 1);
    /* The same publication again, and a restarted service reading it all. */
    redisReply *r = wz_store_cmd(h.store, "XRANGE wz:{zkij}:stream:intake - +");
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(r->elements, 1);
    redisReply *e = r->element[0]->element[1]->element[1];
    wz_pub_committed(h.intake, "zkij", 1, (const uint8_t *)e->str, e->len);
    s_pump(200);
    s_stop_service();
    s_start_service(8, 60000);
    wz_pub_committed(h.intake, "zkij", 1, (const uint8_t *)e->str, e->len);
    s_pump(200);
    freeReplyObject(r);
    ck_assert_int_eq(s_xlen("ribw-kam"), 1);
    /* The restarted service continues the sequence. */
    s_urgency("ribw-kam", "c-2");
    ck_assert_int_eq(s_xlen("ribw-kam"), 2);
    r = wz_store_cmd(h.store, "XREVRANGE wz:{zkij}:mailbox:ribw-kam + - COUNT 1");
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->element[0]->element[0]->str, "2-0");
    freeReplyObject(r);
}
END_TEST

START_TEST(test_unfinished_transactions_leave_no_gap)
{
    s_start_service(8, 60000);
    Woonzorg__V1__UrgencyGranted ug = WOONZORG__V1__URGENCY_GRANTED__INIT;
    ug.care_provider = "ribw-kam";
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.region = "zkij";
    ev.payload_case = PAYLOAD(URGENCY_GRANTED);
    ev.urgency_granted = &ug;
    /* An apply whose transaction never commits (a watched key changed)... */
    wz_txn_t *txn = wz_txn_begin(h.store, h.pub, "zkij");
    ck_assert_ptr_nonnull(txn);
    ck_assert_int_eq(wz_notification_apply(h.notification, txn, "intake", &ev), 0);
    wz_txn_destroy(&txn);
    /* ...and one that did commit, though the service never learnt it (Redis
     * went away during EXEC): both must be re-read, not trusted. */
    txn = wz_txn_begin(h.store, h.pub, "zkij");
    ck_assert_ptr_nonnull(txn);
    ck_assert_int_eq(wz_notification_apply(h.notification, txn, "intake", &ev), 0);
    ck_assert_int_eq(wz_txn_commit(txn), 0);
    wz_txn_destroy(&txn);
    s_urgency("ribw-kam", "c-1");
    redisReply *r = wz_store_cmd(h.store, "XRANGE wz:{zkij}:mailbox:ribw-kam - +");
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(r->elements, 2);
    ck_assert_str_eq(r->element[0]->element[0]->str, "1-0");
    ck_assert_str_eq(r->element[1]->element[0]->str, "2-0");
    freeReplyObject(r);
    /* The cursor moved for the event that came through the stream. */
    ck_assert_uint_eq(wz_sub_cursor(h.sub, "intake", "zkij"), 1);
}
END_TEST

START_TEST(test_silent_session_is_dropped)
{
    s_start_service(8, 200);
    void *d = s_dealer(P_DOCK, NULL);
    s_dealer_send(d, true, 0);
    ck_assert(s_pump_until(s_one_session, 5000));
    ck_assert(s_pump_until(s_no_sessions, 5000));
    zmq_close(d);
}
END_TEST

START_TEST(test_taken_over_routing_id_gets_nothing_of_the_old_party)
{
    s_start_service(8, 60000);
    s_urgency("dock", "d-1");
    s_urgency("ribw-kam", "c-1");
    void *b = s_dealer(P_DOCK, "chosen-id");
    s_dealer_send(b, true, 0);
    WzDelivery *del = s_dealer_next(b, 5000);
    ck_assert_ptr_nonnull(del);
    WZ_FREE_UNPACKED(del);
    zmq_close(b);
    /* The closed connection ends the session long before its timeout. */
    ck_assert(s_pump_until(s_no_sessions, 5000));
    /* Another party takes the routing id over and says nothing yet. */
    /* The monitor is there before the connection, or the handshake may
     * be over before it listens. */
    void *a = s_dealer_socket(P_RIBW, "chosen-id");
    ck_assert_int_eq(zmq_socket_monitor(a, "inproc://test-a", ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
    void *mon = zmq_socket(h.ctx, ZMQ_PAIR);
    ck_assert_int_eq(zmq_connect(mon, "inproc://test-a"), 0);
    ck_assert_int_eq(zmq_connect(a, h.endpoint), 0);
    int64_t deadline = wz_mono_ms() + 5000;
    bool connected = false;
    while (!connected && wz_mono_ms() < deadline) {
        s_pump(10);
        zmq_msg_t ev;
        zmq_msg_init(&ev);
        connected = zmq_msg_recv(&ev, mon, ZMQ_DONTWAIT) >= 0;
        zmq_msg_close(&ev);
    }
    ck_assert(connected);
    s_urgency("dock", "d-2");
    ck_assert_ptr_null(s_dealer_next(a, 300));
    s_dealer_send(a, true, 0);
    del = s_dealer_next(a, 5000);
    ck_assert_ptr_nonnull(del);
    ck_assert_str_eq(del->event->urgency_granted->care_provider, "ribw-kam");
    WZ_FREE_UNPACKED(del);
    ck_assert_ptr_null(s_dealer_next(a, 200));
    zmq_socket_monitor(a, NULL, 0);
    zmq_close(mon);
    zmq_close(a);
}
END_TEST

int main(void)
{
    TCase *tc =
        wz_test_case("recipients", 30, (const TTest *const[]){test_recipients_per_event, NULL});
    tcase_add_checked_fixture(tc, setup_policy, NULL);
    TCase *mailboxes = wz_test_case(
        "mailboxes", 60,
        (const TTest *const[]){
            test_proposal_reaches_its_parties, test_party_sees_only_its_own_mailbox,
            test_ack_then_reconnect_resumes_after_the_ack, test_unacknowledged_entries_are_resent,
            test_offline_party_gets_everything_in_order, test_window_limits_what_is_in_flight,
            test_ack_after_disconnect_is_kept, test_replayed_event_adds_nothing,
            test_unfinished_transactions_leave_no_gap, test_silent_session_is_dropped,
            test_taken_over_routing_id_gets_nothing_of_the_old_party, NULL});
    tcase_add_checked_fixture(mailboxes, setup, teardown);
    return wz_test_run("notification", (TCase *const[]){tc, mailboxes, NULL});
}
