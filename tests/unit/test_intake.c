/* Unit tests of wz_intake: every request type and error path through
 * wz_intake_handle on a real Redis, idempotent retries, Redis away, and one
 * round trip through a CURVE ROUTER with the ZAP handler. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "wz_codec.h"
#include "wz_intake.h"
#include "wz_keys.h"
#include "wz_match.h"
#include "wz_testfields.h"
#include "wz_testenv.h"
#include "wz_testmain.h"
#include "wz_util.h"
#include "wz_zap.h"

#define CODE(x) WOONZORG__V1__CODE__CODE_##x
#define STREAM "wz:{zkij}:stream:intake"

static wz_testenv_t *env;
static wz_store_t *store;
static void *ctx;
static wz_pub_t *pub;
static wz_intake_t *intake;
static wz_runtime_t rt;

/* --- a small policy, built in memory --------------------------------------- */

static wz_neighbourhood_t s_velsen_hoods[] = {{"BU04530101", "Velsen-Zuid", 52.46, 4.62}};
static wz_neighbourhood_t s_haarlem_hoods[] = {{"BU03920101", "Binnenstad", 52.38, 4.64}};
static wz_municipality_t s_municipalities[] = {
    {"velsen", "Velsen", "GM0453", s_velsen_hoods, 1},
    {"haarlem", "Haarlem", "GM0392", s_haarlem_hoods, 1},
};
static wz_region_t s_regions[] = {
    {"zkij", "Zuid-Kennemerland en IJmond", 5, 0, s_municipalities, 2}};
static wz_party_t s_parties[] = {
    {"pre-wonen", "Pré Wonen", WZ_ROLE_CORPORATION, "zkij", "", ""},
    {"ymere", "Ymere", WZ_ROLE_CORPORATION, "zkij", "", ""},
    {"ribw-kam", "RIBW K/AM", WZ_ROLE_CARE_PROVIDER, "zkij", "", ""},
    {"dock", "Stichting DOCK", WZ_ROLE_CARE_PROVIDER, "zkij", "", ""},
    {"gem-velsen", "Gemeente Velsen", WZ_ROLE_MUNICIPALITY, "zkij", "velsen", ""},
    {"gem-haarlem", "Gemeente Haarlem", WZ_ROLE_MUNICIPALITY, "zkij", "haarlem", ""},
};
static char s_groups[][WZ_ID_MAX] = {"bw", "mo"};
static wz_rent_limits_t s_rent_limits[] = {
    {2024, 65043, 69707, 45493, 88528},
    {2025, 68296, 73193, 47720, 90007},
};
static wz_occupancy_t s_occupancy[] = {{1, 1, 20}, {2, 1, 30}, {3, 2, 45}, {4, 3, 60}};
static char s_scheme_groups[][WZ_ID_MAX] = {"bw"};
static char s_scheme_corps[][WZ_ID_MAX] = {"pre-wonen", "ymere"};
static char s_scheme_cps[][WZ_ID_MAX] = {"ribw-kam", "dock"};
static wz_step_t s_route[] = {
    {"answer", WZ_ROLE_CARE_PROVIDER, WZ_STEP_ANSWER, 5},
    {"viewing", WZ_ROLE_CORPORATION, WZ_STEP_CONFIRM, 10},
    {"lease", WZ_ROLE_CORPORATION, WZ_STEP_SIGN, 10},
};
static wz_scheme_t s_schemes[] = {{.id = "s",
                                   .region = "zkij",
                                   .to_day = 100000,
                                   .groups = s_scheme_groups,
                                   .n_groups = 1,
                                   .corporations = s_scheme_corps,
                                   .n_corporations = 2,
                                   .care_providers = s_scheme_cps,
                                   .n_care_providers = 2,
                                   .route = s_route,
                                   .n_route = 3,
                                   .urgency_months = 4,
                                   .extension_months = 4}};
static wz_policy_t s_policy = {
    .schemes = s_schemes,
    .n_schemes = 1,
    .version = "test-1",
    .regions = s_regions,
    .n_regions = 1,
    .parties = s_parties,
    .n_parties = sizeof s_parties / sizeof *s_parties,
    .groups = s_groups,
    .n_groups = 2,
    .rent_limits = s_rent_limits,
    .n_rent_limits = 2,
    .occupancy = s_occupancy,
    .n_occupancy = 4,
};

/* --- requests ---------------------------------------------------------------- */

typedef struct {
    WzRequest req;
    WzVacancy vacancy;
    WzCandidate candidate;
    WzHousehold household;
    WzDate date;
    Woonzorg__V1__IdRef ref;
    Woonzorg__V1__GrantUrgency grant;
    Woonzorg__V1__Answer answer;
    Woonzorg__V1__SignLease lease;
    Woonzorg__V1__StatusQuery status;
    Woonzorg__V1__AuditQuery audit;
    Woonzorg__V1__ConfirmStep confirm;
    Woonzorg__V1__Nominate nominate;
} req_t;

static WzRequest *s_req(req_t *b, const char *rid)
{
    WzRequest init = WOONZORG__V1__REQUEST__INIT;
    memset(b, 0, sizeof *b);
    b->req = init;
    b->req.request_id = (char *)rid;
    return &b->req;
}

static WzRequest *r_publish(req_t *b, const char *rid, const char *id)
{
    s_req(b, rid);
    WzVacancy v = WOONZORG__V1__VACANCY__INIT;
    WzDate d = WOONZORG__V1__DATE__INIT;
    wz_date_today(&d);
    b->date = d;
    v.id = (char *)id;
    v.municipality = "velsen";
    v.neighbourhood = "BU04530101";
    v.complex = "C-12";
    v.address = "Zeeweg 1";
    v.rooms = 2;
    v.floor_area_m2 = 45;
    v.rent_cents = 60000;
    v.access = WOONZORG__V1__ACCESS__ACCESS_GROUND_FLOOR;
    v.available_from = &b->date;
    b->vacancy = v;
    b->req.body_case = WOONZORG__V1__REQUEST__BODY_PUBLISH_VACANCY;
    b->req.publish_vacancy = &b->vacancy;
    return &b->req;
}

static WzRequest *r_register(req_t *b, const char *rid, const char *id, const char *municipality)
{
    s_req(b, rid);
    WzCandidate c = WOONZORG__V1__CANDIDATE__INIT;
    WzHousehold h = WOONZORG__V1__HOUSEHOLD__INIT;
    h.adults = 1;
    b->household = h;
    c.id = (char *)id;
    c.municipality = (char *)municipality;
    c.group = "bw";
    c.household = &b->household;
    c.age_band = WOONZORG__V1__AGE_BAND__AGE_BAND_ADULT;
    c.income_class = WOONZORG__V1__INCOME_CLASS__INCOME_CLASS_BELOW_LIMIT;
    c.consent = 1;
    b->candidate = c;
    b->req.body_case = WOONZORG__V1__REQUEST__BODY_REGISTER_CANDIDATE;
    b->req.register_candidate = &b->candidate;
    return &b->req;
}

static WzRequest *r_ref(req_t *b, const char *rid, int body, const char *id)
{
    s_req(b, rid);
    Woonzorg__V1__IdRef ref = WOONZORG__V1__ID_REF__INIT;
    ref.id = (char *)id;
    b->ref = ref;
    b->req.body_case = body;
    if (body == WOONZORG__V1__REQUEST__BODY_WITHDRAW_VACANCY)
        b->req.withdraw_vacancy = &b->ref;
    else
        b->req.withdraw_candidate = &b->ref;
    return &b->req;
}

static WzRequest *r_grant(req_t *b, const char *rid, const char *id, int y, int m, int d)
{
    s_req(b, rid);
    Woonzorg__V1__GrantUrgency g = WOONZORG__V1__GRANT_URGENCY__INIT;
    g.candidate_id = (char *)id;
    if (y) {
        WzDate date = WOONZORG__V1__DATE__INIT;
        date.year = y;
        date.month = m;
        date.day = d;
        b->date = date;
        g.date = &b->date;
    }
    b->grant = g;
    b->req.body_case = WOONZORG__V1__REQUEST__BODY_GRANT_URGENCY;
    b->req.grant_urgency = &b->grant;
    return &b->req;
}

static WzRequest *r_answer(req_t *b, const char *rid, const char *proposal, bool accept)
{
    s_req(b, rid);
    Woonzorg__V1__Answer a = WOONZORG__V1__ANSWER__INIT;
    a.proposal_id = (char *)proposal;
    a.accept = accept;
    a.reason = accept ? "" : "too far from work";
    b->answer = a;
    b->req.body_case = WOONZORG__V1__REQUEST__BODY_ANSWER;
    b->req.answer = &b->answer;
    return &b->req;
}

static WzRequest *r_sign(req_t *b, const char *rid, const char *vacancy)
{
    s_req(b, rid);
    Woonzorg__V1__SignLease s = WOONZORG__V1__SIGN_LEASE__INIT;
    s.vacancy_id = (char *)vacancy;
    s.contract = WOONZORG__V1__CONTRACT_TYPE__CONTRACT_TYPE_THREE_PARTY;
    b->lease = s;
    b->req.body_case = WOONZORG__V1__REQUEST__BODY_SIGN_LEASE;
    b->req.sign_lease = &b->lease;
    return &b->req;
}

static WzRequest *r_status(req_t *b, const char *rid, int kind, const char *id)
{
    s_req(b, rid);
    Woonzorg__V1__StatusQuery q = WOONZORG__V1__STATUS_QUERY__INIT;
    q.kind = kind;
    q.id = (char *)id;
    b->status = q;
    b->req.body_case = WOONZORG__V1__REQUEST__BODY_STATUS;
    b->req.status = &b->status;
    return &b->req;
}

#define KIND(x) WOONZORG__V1__STATUS_QUERY__KIND__KIND_##x

static WzRequest *r_confirm(req_t *b, const char *rid, const char *proposal, const char *step,
                            bool ok)
{
    s_req(b, rid);
    Woonzorg__V1__ConfirmStep c = WOONZORG__V1__CONFIRM_STEP__INIT;
    c.proposal_id = (char *)proposal;
    c.step = (char *)step;
    c.ok = ok;
    c.reason = ok ? "" : "corporation turns the candidate down";
    b->confirm = c;
    b->req.body_case = WOONZORG__V1__REQUEST__BODY_CONFIRM_STEP;
    b->req.confirm_step = &b->confirm;
    return &b->req;
}

static WzRequest *r_nominate(req_t *b, const char *rid, const char *vacancy, const char *candidate)
{
    s_req(b, rid);
    Woonzorg__V1__Nominate n = WOONZORG__V1__NOMINATE__INIT;
    n.vacancy_id = (char *)vacancy;
    n.candidate_id = (char *)candidate;
    b->nominate = n;
    b->req.body_case = WOONZORG__V1__REQUEST__BODY_NOMINATE;
    b->req.nominate = &b->nominate;
    return &b->req;
}

/* --- calling and inspecting ---------------------------------------------------- */

static uint8_t *s_call_bytes(const char *party, const WzRequest *req, size_t *len)
{
    size_t n = 0;
    uint8_t *bytes = wz_codec_pack(&req->base, &n);
    ck_assert_ptr_nonnull(bytes);
    uint8_t *reply = NULL;
    ck_assert_int_eq(wz_intake_handle(intake, party, bytes, n, &reply, len), 0);
    free(bytes);
    ck_assert_ptr_nonnull(reply);
    return reply;
}

static WzReply *s_call(const char *party, const WzRequest *req)
{
    size_t len = 0;
    uint8_t *bytes = s_call_bytes(party, req, &len);
    WzReply *reply = wz_reply_unpack(bytes, len);
    free(bytes);
    ck_assert_ptr_nonnull(reply);
    ck_assert_str_eq(reply->request_id, req->request_id);
    return reply;
}

/* Sends req and checks the reply code (and message, when not NULL). */
static void s_expect(const char *party, const WzRequest *req, WzCode code, const char *message)
{
    WzReply *reply = s_call(party, req);
    ck_assert_msg(reply->code == code, "%s: expected code %d, got %d (%s)", req->request_id, code,
                  reply->code, reply->message);
    if (message) ck_assert_str_eq(reply->message, message);
    WZ_FREE_UNPACKED(reply);
}

static long long s_stream_len(void)
{
    redisReply *r = wz_store_cmd(store, "XLEN %s", STREAM);
    ck_assert_ptr_nonnull(r);
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

static WzEvent *s_last_event(void)
{
    redisReply *r = wz_store_cmd(store, "XREVRANGE %s + - COUNT 1", STREAM);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(r->elements, 1);
    redisReply *fields = r->element[0]->element[1];
    ck_assert_str_eq(fields->element[0]->str, "e");
    WzEvent *ev = wz_event_unpack(fields->element[1]->str, fields->element[1]->len);
    freeReplyObject(r);
    ck_assert_ptr_nonnull(ev);
    return ev;
}

static bool s_exists(const char *key)
{
    redisReply *r = wz_store_cmd(store, "EXISTS %s", key);
    ck_assert_ptr_nonnull(r);
    bool found = r->integer > 0;
    freeReplyObject(r);
    return found;
}

static void s_put(const char *key, const ProtobufCMessage *m)
{
    size_t len = 0;
    uint8_t *bytes = wz_codec_pack(m, &len);
    ck_assert_ptr_nonnull(bytes);
    redisReply *r = wz_store_cmd(store, "SET %s %b", key, bytes, len);
    ck_assert_ptr_nonnull(r);
    freeReplyObject(r);
    free(bytes);
}

/* Matching's view of a vacancy. */
static void s_put_m_vacancy(const char *id, int state, const char *proposal)
{
    WzVacancy v = WOONZORG__V1__VACANCY__INIT;
    v.id = (char *)id;
    v.corporation = "pre-wonen";
    v.region = "zkij";
    v.municipality = "velsen";
    v.state = state;
    v.proposal_id = (char *)proposal;
    char key[128];
    snprintf(key, sizeof key, "wz:{zkij}:m:vacancy:%s", id);
    s_put(key, &v.base);
}

static void s_put_m_candidate(const char *id, int state)
{
    WzCandidate c = WOONZORG__V1__CANDIDATE__INIT;
    c.id = (char *)id;
    c.care_provider = "ribw-kam";
    c.municipality = "velsen";
    c.state = state;
    char key[128];
    snprintf(key, sizeof key, "wz:{zkij}:m:candidate:%s", id);
    s_put(key, &c.base);
}

static void s_put_proposal(const char *id, int state, int64_t deadline_ms)
{
    WzProposal p = WOONZORG__V1__PROPOSAL__INIT;
    p.id = (char *)id;
    p.vacancy_id = "PW-1";
    p.candidate_id = "K-1";
    p.region = "zkij";
    p.corporation = "pre-wonen";
    p.care_provider = "ribw-kam";
    p.municipality = "velsen";
    p.state = state;
    p.created_ms = wz_now_ms();
    p.deadline_ms = deadline_ms;
    p.round = 1;
    char key[128];
    snprintf(key, sizeof key, "wz:{zkij}:proposal:%s", id);
    s_put(key, &p.base);
}

#define VSTATE(x) WOONZORG__V1__VACANCY_STATE__VACANCY_STATE_##x
#define CSTATE(x) WOONZORG__V1__CANDIDATE_STATE__CANDIDATE_STATE_##x
#define PSTATE(x) WOONZORG__V1__PROPOSAL_STATE__PROPOSAL_STATE_##x

/* A proposal of scheme "s" at a route step. */
static void s_put_proposal_at(const char *id, int state, const char *step, bool refusal_pending,
                              int64_t verdict_due_ms)
{
    WzProposal p = WOONZORG__V1__PROPOSAL__INIT;
    p.id = (char *)id;
    p.vacancy_id = "PW-1";
    p.candidate_id = "K-1";
    p.region = "zkij";
    p.corporation = "pre-wonen";
    p.care_provider = "ribw-kam";
    p.municipality = "velsen";
    p.state = state;
    p.created_ms = wz_now_ms();
    p.deadline_ms = wz_now_ms() + 60000;
    p.round = 1;
    p.scheme = "s";
    p.step = (char *)step;
    p.refusal_pending = refusal_pending;
    p.verdict_due_ms = verdict_due_ms;
    char key[128];
    snprintf(key, sizeof key, "wz:{zkij}:proposal:%s", id);
    s_put(key, &p.base);
}

static void s_publish(const char *rid, const char *corporation, const char *id)
{
    req_t b;
    s_expect(corporation, r_publish(&b, rid, id), CODE(OK), NULL);
}

static void s_register(const char *rid, const char *provider, const char *id,
                       const char *municipality)
{
    req_t b;
    s_expect(provider, r_register(&b, rid, id, municipality), CODE(OK), NULL);
}

/* --- fixture --------------------------------------------------------------------- */

static void setup(void)
{
    env = wz_testenv_new(false, 0);
    store = wz_testenv_store(env);
    ctx = zmq_ctx_new();
    ck_assert_ptr_nonnull(ctx);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", wz_test_free_port());
    pub = wz_pub_new(ctx, store, "intake", endpoint, NULL);
    ck_assert_ptr_nonnull(pub);
    memset(&rt, 0, sizeof rt);
    rt.service = "intake";
    rt.settings.idempotency_ttl_s = 3600;
    rt.settings.max_message_bytes = 1 << 20;
    rt.policy = &s_policy;
    rt.store = store;
    rt.ctx = ctx;
    intake = wz_intake_new(&rt, NULL, pub);
    ck_assert_ptr_nonnull(intake);
}

static void teardown(void)
{
    wz_intake_destroy(&intake);
    ck_assert_ptr_null(intake);
    wz_pub_destroy(&pub);
    zmq_ctx_term(ctx);
    wz_testenv_destroy(&env);
}

/* --- tests ------------------------------------------------------------------------- */

START_TEST(test_publish_stores_emits_and_replays)
{
    req_t b;
    size_t len1 = 0, len2 = 0;
    uint8_t *first = s_call_bytes("pre-wonen", r_publish(&b, "req-1", "PW-1"), &len1);
    WzReply *reply = wz_reply_unpack(first, len1);
    ck_assert_int_eq(reply->code, CODE(OK));
    ck_assert_str_eq(reply->id, "PW-1");
    WZ_FREE_UNPACKED(reply);
    ck_assert_int_eq(s_stream_len(), 1);

    /* The stored record says whose and where: the suite sets both. */
    uint8_t *data = NULL;
    size_t n = 0;
    ck_assert_int_eq(wz_store_get_bytes(store, "wz:{zkij}:vacancy:PW-1", &data, &n), 1);
    WzVacancy *v = wz_vacancy_unpack(data, n);
    free(data);
    ck_assert_ptr_nonnull(v);
    ck_assert_str_eq(v->corporation, "pre-wonen");
    ck_assert_str_eq(v->region, "zkij");
    ck_assert_int_eq(v->state, VSTATE(OPEN));
    WZ_FREE_UNPACKED(v);

    WzEvent *ev = s_last_event();
    ck_assert_int_eq(ev->payload_case, WOONZORG__V1__EVENT__PAYLOAD_VACANCY_PUBLISHED);
    ck_assert_str_eq(ev->actor, "pre-wonen");
    ck_assert_str_eq(ev->region, "zkij");
    ck_assert_str_eq(ev->vacancy_published->vacancy->id, "PW-1");
    ck_assert_str_eq(ev->vacancy_published->vacancy->corporation, "pre-wonen");
    WZ_FREE_UNPACKED(ev);

    /* A retry returns the very same bytes and changes nothing. */
    uint8_t *second = s_call_bytes("pre-wonen", r_publish(&b, "req-1", "PW-1"), &len2);
    ck_assert_uint_eq(len1, len2);
    ck_assert_mem_eq(first, second, len1);
    ck_assert_int_eq(s_stream_len(), 1);
    free(first);
    free(second);
    ck_assert(s_exists("wz:{zkij}:idem:pre-wonen:req-1"));

    /* The same request_id of another party is another request. */
    s_expect("ymere", r_publish(&b, "req-1", "YM-1"), CODE(OK), NULL);
    ck_assert_int_eq(s_stream_len(), 2);

    s_expect("pre-wonen", r_publish(&b, "req-2", "PW-1"), CODE(CONFLICT),
             "vacancy PW-1 was already published");
    ck_assert_int_eq(s_stream_len(), 2);
}
END_TEST

START_TEST(test_publish_reads_its_idempotency_record_once)
{
    /* A fresh command is checked for a stored reply once, under WATCH in
     * its transaction; a second read before it would be one more Redis
     * round trip on every publish (docs/performance.md). */
    redisReply *r = wz_store_cmd(store, "CONFIG RESETSTAT");
    ck_assert_ptr_nonnull(r);
    freeReplyObject(r);
    s_publish("req-1", "pre-wonen", "PW-1");
    r = wz_store_cmd(store, "INFO commandstats");
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->type, REDIS_REPLY_STRING);
    const char *get = strstr(r->str, "cmdstat_get:calls=");
    ck_assert_ptr_nonnull(get);
    ck_assert_int_eq(strtol(get + strlen("cmdstat_get:calls="), NULL, 10), 1);
    freeReplyObject(r);
    ck_assert_int_eq(s_stream_len(), 1);
}
END_TEST

START_TEST(test_unknown_party_is_forbidden)
{
    req_t b;
    s_expect("stranger", r_publish(&b, "req-1", "PW-1"), CODE(FORBIDDEN), NULL);
    s_expect(NULL, r_publish(&b, "req-1", "PW-1"), CODE(FORBIDDEN), NULL);
    ck_assert_int_eq(s_stream_len(), 0);
}
END_TEST

START_TEST(test_malformed_and_bad_request_id)
{
    const uint8_t junk[] = {0xff, 0xff, 0xff, 0x0f, 0x01};
    uint8_t *bytes = NULL;
    size_t len = 0;
    ck_assert_int_eq(wz_intake_handle(intake, "pre-wonen", junk, sizeof junk, &bytes, &len), 0);
    WzReply *reply = wz_reply_unpack(bytes, len);
    free(bytes);
    ck_assert_ptr_nonnull(reply);
    ck_assert_int_eq(reply->code, CODE(MALFORMED));
    ck_assert_str_eq(reply->message, "request is not a woonzorg.v1.Request");
    WZ_FREE_UNPACKED(reply);

    req_t b;
    reply = s_call("pre-wonen", r_publish(&b, "", "PW-1"));
    ck_assert_int_eq(reply->code, CODE(INVALID));
    ck_assert_str_eq(reply->field, "request_id");
    WZ_FREE_UNPACKED(reply);
    reply = s_call("pre-wonen", r_publish(&b, "has space", "PW-1"));
    ck_assert_int_eq(reply->code, CODE(INVALID));
    ck_assert_str_eq(reply->field, "request_id");
    WZ_FREE_UNPACKED(reply);
    ck_assert_int_eq(s_stream_len(), 0);
}
END_TEST

START_TEST(test_invalid_request_is_refused_and_remembered)
{
    req_t b;
    r_publish(&b, "req-1", "PW-1");
    b.vacancy.id = "";
    WzReply *reply = s_call("pre-wonen", &b.req);
    ck_assert_int_eq(reply->code, CODE(INVALID));
    ck_assert(reply->field[0] != '\0');
    WZ_FREE_UNPACKED(reply);
    ck_assert_int_eq(s_stream_len(), 0);
    /* A retry of that request_id gets the first answer, even with a good body. */
    reply = s_call("pre-wonen", r_publish(&b, "req-1", "PW-1"));
    ck_assert_int_eq(reply->code, CODE(INVALID));
    WZ_FREE_UNPACKED(reply);
    ck_assert_int_eq(s_stream_len(), 0);

    /* A care provider cannot publish dwellings. */
    s_expect("ribw-kam", r_publish(&b, "req-2", "PW-1"), CODE(FORBIDDEN), NULL);
    /* No body at all. */
    s_expect("pre-wonen", s_req(&b, "req-3"), CODE(UNKNOWN_TYPE), NULL);
    ck_assert_int_eq(s_stream_len(), 0);
}
END_TEST

START_TEST(test_audit_goes_elsewhere)
{
    req_t b;
    s_req(&b, "req-1");
    Woonzorg__V1__AuditQuery q = WOONZORG__V1__AUDIT_QUERY__INIT;
    q.last = 10;
    b.audit = q;
    b.req.body_case = WOONZORG__V1__REQUEST__BODY_AUDIT;
    b.req.audit = &b.audit;
    s_expect("gem-velsen", &b.req, CODE(UNKNOWN_TYPE), "audit queries go to the audit endpoint");
}
END_TEST

START_TEST(test_withdraw_vacancy)
{
    req_t b;
    const int body = WOONZORG__V1__REQUEST__BODY_WITHDRAW_VACANCY;
    s_expect("pre-wonen", r_ref(&b, "w-1", body, "PW-1"), CODE(NOT_FOUND), NULL);
    s_publish("p-1", "pre-wonen", "PW-1");
    s_expect("ymere", r_ref(&b, "w-2", body, "PW-1"), CODE(FORBIDDEN), NULL);
    ck_assert_int_eq(s_stream_len(), 1);

    s_expect("pre-wonen", r_ref(&b, "w-3", body, "PW-1"), CODE(OK), NULL);
    ck_assert_int_eq(s_stream_len(), 2);
    WzEvent *ev = s_last_event();
    ck_assert_int_eq(ev->payload_case, WOONZORG__V1__EVENT__PAYLOAD_VACANCY_WITHDRAWN);
    ck_assert_str_eq(ev->vacancy_withdrawn->vacancy_id, "PW-1");
    ck_assert_str_eq(ev->vacancy_withdrawn->corporation, "pre-wonen");
    ck_assert_str_eq(ev->vacancy_withdrawn->municipality, "velsen");
    WZ_FREE_UNPACKED(ev);
    s_expect("pre-wonen", r_ref(&b, "w-4", body, "PW-1"), CODE(CONFLICT),
             "vacancy PW-1 was already withdrawn");

    /* Matching says it is let: too late. */
    s_publish("p-2", "pre-wonen", "PW-2");
    s_put_m_vacancy("PW-2", VSTATE(LET), "PW-2/1");
    s_expect("pre-wonen", r_ref(&b, "w-5", body, "PW-2"), CODE(CONFLICT), "vacancy PW-2 is let");

    /* The lease is signed but matching has not caught up yet: too late as well. */
    s_publish("p-3", "pre-wonen", "PW-3");
    s_put_m_vacancy("PW-3", VSTATE(ACCEPTED), "PW-3/1");
    redisReply *r = wz_store_cmd(store, "SET wz:{zkij}:signed:PW-3 2");
    freeReplyObject(r);
    s_expect("pre-wonen", r_ref(&b, "w-6", body, "PW-3"), CODE(CONFLICT),
             "the lease of vacancy PW-3 was already signed");
    ck_assert_int_eq(s_stream_len(), 4);
}
END_TEST

START_TEST(test_register_and_update_candidate)
{
    req_t b;
    s_register("c-1", "ribw-kam", "K-1", "velsen");
    WzEvent *ev = s_last_event();
    ck_assert_int_eq(ev->payload_case, WOONZORG__V1__EVENT__PAYLOAD_CANDIDATE_REGISTERED);
    ck_assert_str_eq(ev->candidate_registered->candidate->care_provider, "ribw-kam");
    ck_assert_int_eq(ev->candidate_registered->candidate->state, CSTATE(REGISTERED));
    WZ_FREE_UNPACKED(ev);

    /* Another care provider learns nothing but "not yours". */
    WzReply *reply = s_call("dock", r_register(&b, "c-2", "K-1", "velsen"));
    ck_assert_int_eq(reply->code, CODE(FORBIDDEN));
    ck_assert_int_eq(reply->result_case, WOONZORG__V1__REPLY__RESULT__NOT_SET);
    WZ_FREE_UNPACKED(reply);

    req_t g;
    s_expect("gem-velsen", r_grant(&g, "g-1", "K-1", 2025, 3, 14), CODE(OK), NULL);
    /* An update keeps the urgency and says "updated". */
    r_register(&b, "c-3", "K-1", "velsen");
    b.household.children = 1;
    s_expect("ribw-kam", &b.req, CODE(OK), "candidate K-1 updated");
    ev = s_last_event();
    ck_assert_int_eq(ev->payload_case, WOONZORG__V1__EVENT__PAYLOAD_CANDIDATE_UPDATED);
    WzCandidate *c = ev->candidate_updated->candidate;
    ck_assert_uint_eq(c->household->children, 1);
    ck_assert_ptr_nonnull(c->urgency_date);
    ck_assert_int_eq(c->urgency_date->year, 2025);
    ck_assert_str_eq(c->urgency_by, "gem-velsen");
    WZ_FREE_UNPACKED(ev);
    /* ... and cannot move the urgency to another municipality. */
    s_expect("ribw-kam", r_register(&b, "c-4", "K-1", "haarlem"), CODE(CONFLICT), NULL);

    /* Housed (matching's word) or withdrawn: no more changes. */
    s_register("c-5", "ribw-kam", "K-2", "velsen");
    s_put_m_candidate("K-2", CSTATE(HOUSED));
    s_expect("ribw-kam", r_register(&b, "c-6", "K-2", "velsen"), CODE(CONFLICT),
             "candidate K-2 is housed");
    s_register("c-7", "ribw-kam", "K-3", "velsen");
    s_expect("ribw-kam", r_ref(&b, "c-8", WOONZORG__V1__REQUEST__BODY_WITHDRAW_CANDIDATE, "K-3"),
             CODE(OK), NULL);
    s_expect("ribw-kam", r_register(&b, "c-9", "K-3", "velsen"), CODE(CONFLICT),
             "candidate K-3 was withdrawn");
    ck_assert_int_eq(s_stream_len(), 6);

    /* ... except that consent can be withdrawn at any time (matching then
     * erases the candidate at once): the stored attributes with consent
     * off, nothing else of the update taken. */
    static const char *const ended[] = {"K-2", "K-3"};
    for (int i = 0; i < 2; i++) {
        char rid[16], want[64];
        snprintf(rid, sizeof rid, "c-1%d", i);
        snprintf(want, sizeof want, "candidate %s: consent withdrawn", ended[i]);
        r_register(&b, rid, ended[i], "velsen");
        b.candidate.consent = 0;
        b.household.children = 3;
        s_expect("ribw-kam", &b.req, CODE(OK), want);
        ev = s_last_event();
        ck_assert_int_eq(ev->payload_case, WOONZORG__V1__EVENT__PAYLOAD_CANDIDATE_UPDATED);
        ck_assert(!ev->candidate_updated->candidate->consent);
        ck_assert_uint_eq(ev->candidate_updated->candidate->household->children, 0);
        WZ_FREE_UNPACKED(ev);
    }
    ck_assert_int_eq(s_stream_len(), 8);
    /* Another provider still learns nothing. */
    r_register(&b, "c-12", "K-2", "velsen");
    b.candidate.consent = 0;
    s_expect("dock", &b.req, CODE(FORBIDDEN), NULL);
}
END_TEST

START_TEST(test_withdraw_candidate)
{
    req_t b;
    const int body = WOONZORG__V1__REQUEST__BODY_WITHDRAW_CANDIDATE;
    s_expect("ribw-kam", r_ref(&b, "w-1", body, "K-1"), CODE(NOT_FOUND),
             "candidate K-1 not found: never registered, or its records were erased (consent "
             "withdrawn, or the retention period after housing or withdrawal ended)");
    s_register("c-1", "ribw-kam", "K-1", "velsen");
    s_expect("dock", r_ref(&b, "w-2", body, "K-1"), CODE(FORBIDDEN), NULL);
    s_expect("ribw-kam", r_ref(&b, "w-3", body, "K-1"), CODE(OK), "candidate K-1 withdrawn");
    WzEvent *ev = s_last_event();
    ck_assert_int_eq(ev->payload_case, WOONZORG__V1__EVENT__PAYLOAD_CANDIDATE_WITHDRAWN);
    ck_assert_str_eq(ev->candidate_withdrawn->candidate_id, "K-1");
    ck_assert_str_eq(ev->candidate_withdrawn->care_provider, "ribw-kam");
    ck_assert_str_eq(ev->candidate_withdrawn->municipality, "velsen");
    WZ_FREE_UNPACKED(ev);
    s_expect("ribw-kam", r_ref(&b, "w-4", body, "K-1"), CODE(CONFLICT),
             "candidate K-1 was already withdrawn");
    s_register("c-2", "ribw-kam", "K-2", "velsen");
    s_put_m_candidate("K-2", CSTATE(HOUSED));
    s_expect("ribw-kam", r_ref(&b, "w-5", body, "K-2"), CODE(CONFLICT), "candidate K-2 is housed");
    ck_assert_int_eq(s_stream_len(), 3);
}
END_TEST

START_TEST(test_grant_urgency)
{
    req_t b;
    s_expect("gem-velsen", r_grant(&b, "g-1", "K-1", 0, 0, 0), CODE(NOT_FOUND), NULL);
    s_register("c-1", "ribw-kam", "K-1", "velsen");
    s_expect("gem-haarlem", r_grant(&b, "g-2", "K-1", 0, 0, 0), CODE(FORBIDDEN),
             "gem-haarlem may only grant urgency to candidates of haarlem");
    s_expect("ribw-kam", r_grant(&b, "g-3", "K-1", 0, 0, 0), CODE(FORBIDDEN), NULL);
    ck_assert_int_eq(s_stream_len(), 1);

    s_expect("gem-velsen", r_grant(&b, "g-4", "K-1", 0, 0, 0), CODE(OK), NULL);
    WzDate today = WOONZORG__V1__DATE__INIT;
    wz_date_today(&today);
    WzEvent *ev = s_last_event();
    ck_assert_int_eq(ev->payload_case, WOONZORG__V1__EVENT__PAYLOAD_URGENCY_GRANTED);
    ck_assert_str_eq(ev->actor, "gem-velsen");
    ck_assert_str_eq(ev->urgency_granted->candidate_id, "K-1");
    ck_assert_str_eq(ev->urgency_granted->care_provider, "ribw-kam");
    ck_assert_str_eq(ev->urgency_granted->municipality, "velsen");
    ck_assert_int_eq(wz_date_cmp(ev->urgency_granted->date, &today), 0);
    WZ_FREE_UNPACKED(ev);
    s_expect("gem-velsen", r_grant(&b, "g-5", "K-1", 2025, 1, 2), CODE(CONFLICT), NULL);

    s_register("c-2", "ribw-kam", "K-2", "velsen");
    s_expect("gem-velsen", r_grant(&b, "g-6", "K-2", 2025, 1, 2), CODE(OK), NULL);
    uint8_t *data = NULL;
    size_t n = 0;
    ck_assert_int_eq(wz_store_get_bytes(store, "wz:{zkij}:candidate:K-2", &data, &n), 1);
    WzCandidate *c = wz_candidate_unpack(data, n);
    free(data);
    ck_assert_int_eq(c->urgency_date->year, 2025);
    ck_assert_int_eq(c->urgency_date->month, 1);
    ck_assert_int_eq(c->urgency_date->day, 2);
    ck_assert_str_eq(c->urgency_by, "gem-velsen");
    WZ_FREE_UNPACKED(c);

    s_register("c-3", "ribw-kam", "K-3", "velsen");
    s_expect("ribw-kam", r_ref(&b, "w-1", WOONZORG__V1__REQUEST__BODY_WITHDRAW_CANDIDATE, "K-3"),
             CODE(OK), NULL);
    s_expect("gem-velsen", r_grant(&b, "g-7", "K-3", 0, 0, 0), CODE(CONFLICT),
             "candidate K-3 is withdrawn");
    ck_assert_int_eq(s_stream_len(), 6);
}
END_TEST

START_TEST(test_answer)
{
    req_t b;
    s_expect("ribw-kam", r_answer(&b, "a-1", "PW-1/1", true), CODE(NOT_FOUND), NULL);
    s_put_proposal("PW-1/1", PSTATE(SENT), wz_now_ms() + 60000);
    s_expect("dock", r_answer(&b, "a-2", "PW-1/1", true), CODE(FORBIDDEN), NULL);

    s_expect("ribw-kam", r_answer(&b, "a-3", "PW-1/1", false), CODE(OK), NULL);
    WzEvent *ev = s_last_event();
    ck_assert_int_eq(ev->payload_case, WOONZORG__V1__EVENT__PAYLOAD_PROPOSAL_ANSWERED);
    ck_assert_str_eq(ev->proposal_answered->proposal->id, "PW-1/1");
    ck_assert_str_eq(ev->proposal_answered->proposal->candidate_id, "K-1");
    ck_assert(!ev->proposal_answered->accepted);
    ck_assert_str_eq(ev->proposal_answered->reason, "too far from work");
    WZ_FREE_UNPACKED(ev);
    /* Matching has not seen it yet, but the answer is in. */
    s_expect("ribw-kam", r_answer(&b, "a-4", "PW-1/1", true), CODE(CONFLICT),
             "proposal PW-1/1 was already answered");

    s_put_proposal("PW-2/1", PSTATE(EXPIRED), wz_now_ms() - 1000);
    s_expect("ribw-kam", r_answer(&b, "a-5", "PW-2/1", true), CODE(CONFLICT),
             "proposal PW-2/1 is expired");
    s_put_proposal("PW-3/1", PSTATE(SENT), wz_now_ms() - 1);
    s_expect("ribw-kam", r_answer(&b, "a-6", "PW-3/1", true), CODE(CONFLICT),
             "the answer deadline has passed");
    ck_assert_int_eq(s_stream_len(), 1);
}
END_TEST

START_TEST(test_sign_lease)
{
    req_t b;
    s_expect("pre-wonen", r_sign(&b, "s-1", "PW-1"), CODE(NOT_FOUND), NULL);
    s_publish("p-1", "pre-wonen", "PW-1");
    s_expect("ymere", r_sign(&b, "s-2", "PW-1"), CODE(FORBIDDEN), NULL);
    s_expect("pre-wonen", r_sign(&b, "s-3", "PW-1"), CODE(CONFLICT),
             "vacancy PW-1 is open, not accepted");
    s_put_m_vacancy("PW-1", VSTATE(OFFERED), "PW-1/1");
    s_expect("pre-wonen", r_sign(&b, "s-4", "PW-1"), CODE(CONFLICT),
             "vacancy PW-1 is offered, not accepted");
    s_put_m_vacancy("PW-1", VSTATE(ACCEPTED), "PW-1/1");
    s_expect("pre-wonen", r_sign(&b, "s-5", "PW-1"), CODE(OK), NULL);
    WzEvent *ev = s_last_event();
    ck_assert_int_eq(ev->payload_case, WOONZORG__V1__EVENT__PAYLOAD_LEASE_SIGNED);
    ck_assert_str_eq(ev->lease_signed->vacancy_id, "PW-1");
    ck_assert_str_eq(ev->lease_signed->corporation, "pre-wonen");
    ck_assert_int_eq(ev->lease_signed->contract,
                     WOONZORG__V1__CONTRACT_TYPE__CONTRACT_TYPE_THREE_PARTY);
    WZ_FREE_UNPACKED(ev);
    s_expect("pre-wonen", r_sign(&b, "s-6", "PW-1"), CODE(CONFLICT),
             "the lease of vacancy PW-1 was already signed");
    ck_assert_int_eq(s_stream_len(), 2);
}
END_TEST

START_TEST(test_status)
{
    req_t b;
    s_publish("p-1", "pre-wonen", "PW-1");
    s_register("c-1", "ribw-kam", "K-1", "velsen");

    WzReply *reply = s_call("pre-wonen", r_status(&b, "q-1", KIND(VACANCY), "PW-1"));
    ck_assert_int_eq(reply->code, CODE(OK));
    ck_assert_int_eq(reply->result_case, WOONZORG__V1__REPLY__RESULT_VACANCY);
    ck_assert_int_eq(reply->vacancy->state, VSTATE(OPEN));
    WZ_FREE_UNPACKED(reply);
    /* Reads are not remembered. */
    ck_assert(!s_exists("wz:{zkij}:idem:pre-wonen:q-1"));

    s_put_m_vacancy("PW-1", VSTATE(OFFERED), "PW-1/1");
    reply = s_call("gem-haarlem", r_status(&b, "q-2", KIND(VACANCY), "PW-1"));
    ck_assert_int_eq(reply->code, CODE(OK));
    ck_assert_int_eq(reply->vacancy->state, VSTATE(OFFERED));
    ck_assert_str_eq(reply->vacancy->proposal_id, "PW-1/1");
    ck_assert_str_eq(reply->vacancy->address, "Zeeweg 1");
    WZ_FREE_UNPACKED(reply);
    s_expect("ymere", r_status(&b, "q-3", KIND(VACANCY), "PW-1"), CODE(FORBIDDEN), NULL);
    s_expect("ribw-kam", r_status(&b, "q-4", KIND(VACANCY), "PW-1"), CODE(FORBIDDEN), NULL);
    s_expect("pre-wonen", r_status(&b, "q-5", KIND(VACANCY), "PW-9"), CODE(NOT_FOUND), NULL);

    s_put_m_candidate("K-1", CSTATE(ACTIVE));
    reply = s_call("gem-velsen", r_status(&b, "q-6", KIND(CANDIDATE), "K-1"));
    ck_assert_int_eq(reply->code, CODE(OK));
    ck_assert_int_eq(reply->result_case, WOONZORG__V1__REPLY__RESULT_CANDIDATE);
    ck_assert_int_eq(reply->candidate->state, CSTATE(ACTIVE));
    WZ_FREE_UNPACKED(reply);
    s_expect("ribw-kam", r_status(&b, "q-7", KIND(CANDIDATE), "K-1"), CODE(OK), NULL);
    s_expect("gem-haarlem", r_status(&b, "q-8", KIND(CANDIDATE), "K-1"), CODE(FORBIDDEN), NULL);
    s_expect("dock", r_status(&b, "q-9", KIND(CANDIDATE), "K-1"), CODE(FORBIDDEN), NULL);
    s_expect("pre-wonen", r_status(&b, "q-10", KIND(CANDIDATE), "K-1"), CODE(FORBIDDEN), NULL);

    s_put_proposal("PW-1/1", PSTATE(SENT), wz_now_ms() + 60000);
    reply = s_call("ribw-kam", r_status(&b, "q-11", KIND(PROPOSAL), "PW-1/1"));
    ck_assert_int_eq(reply->code, CODE(OK));
    ck_assert_int_eq(reply->result_case, WOONZORG__V1__REPLY__RESULT_PROPOSAL);
    ck_assert_str_eq(reply->proposal->candidate_id, "K-1");
    WZ_FREE_UNPACKED(reply);
    s_expect("pre-wonen", r_status(&b, "q-12", KIND(PROPOSAL), "PW-1/1"), CODE(OK), NULL);
    s_expect("gem-velsen", r_status(&b, "q-13", KIND(PROPOSAL), "PW-1/1"), CODE(OK), NULL);
    s_expect("gem-haarlem", r_status(&b, "q-14", KIND(PROPOSAL), "PW-1/1"), CODE(FORBIDDEN), NULL);
    s_expect("ymere", r_status(&b, "q-15", KIND(PROPOSAL), "PW-1/1"), CODE(FORBIDDEN), NULL);
    s_expect("dock", r_status(&b, "q-16", KIND(PROPOSAL), "PW-1/1"), CODE(FORBIDDEN), NULL);
    s_expect("dock", r_status(&b, "q-17", KIND(PROPOSAL), "PW-9/1"), CODE(NOT_FOUND), NULL);
    ck_assert_int_eq(s_stream_len(), 2);
}
END_TEST


START_TEST(test_confirm_step)
{
    req_t b;
    s_expect("pre-wonen", r_confirm(&b, "k-1", "PW-1/1", "viewing", true), CODE(NOT_FOUND), NULL);
    s_put_proposal_at("PW-1/1", PSTATE(SENT), "answer", false, 0);
    /* Not yet at the viewing: the transition is refused with what is expected. */
    s_expect("pre-wonen", r_confirm(&b, "k-2", "PW-1/1", "viewing", true), CODE(CONFLICT),
             "proposal PW-1/1 is sent at step 'answer', not at 'viewing'");
    s_put_proposal_at("PW-1/1", PSTATE(ACCEPTED), "viewing", false, 0);
    s_expect("ribw-kam", r_confirm(&b, "k-3", "PW-1/1", "viewing", true), CODE(FORBIDDEN),
             "step 'viewing' is for the corporation");
    s_expect("ymere", r_confirm(&b, "k-4", "PW-1/1", "viewing", true), CODE(FORBIDDEN),
             "proposal PW-1/1 is not ymere's to confirm");
    s_expect("pre-wonen", r_confirm(&b, "k-5", "PW-1/1", "lease", true), CODE(CONFLICT),
             "step 'lease' is completed by sign_lease, not by confirm_step");
    s_expect("pre-wonen", r_confirm(&b, "k-6", "PW-1/1", "visit", true), CODE(INVALID),
             "the route of proposal PW-1/1 has no step 'visit'");
    /* Signing before the viewing is confirmed is refused too. */
    s_publish("p-1", "pre-wonen", "PW-1");
    s_put_m_vacancy("PW-1", VSTATE(ACCEPTED), "PW-1/1");
    s_expect("pre-wonen", r_sign(&b, "s-1", "PW-1"), CODE(CONFLICT),
             "proposal PW-1/1 is at step 'viewing' (the corporation confirms it with "
             "confirm_step); the lease comes after");
    long long before = s_stream_len();
    s_expect("pre-wonen", r_confirm(&b, "k-7", "PW-1/1", "viewing", true), CODE(OK), NULL);
    WzEvent *ev = s_last_event();
    ck_assert_int_eq(ev->payload_case, WOONZORG__V1__EVENT__PAYLOAD_STEP_CONFIRMED);
    ck_assert_str_eq(ev->step_confirmed->step, "viewing");
    ck_assert(ev->step_confirmed->ok);
    WZ_FREE_UNPACKED(ev);
    s_expect("pre-wonen", r_confirm(&b, "k-8", "PW-1/1", "viewing", false), CODE(CONFLICT),
             "step 'viewing' of proposal PW-1/1 was already confirmed");
    ck_assert_int_eq(s_stream_len(), before + 1);

    /* The municipality's verdict on a refusal. */
    s_put_proposal_at("PW-2/1", PSTATE(DECLINED), "answer", false, 0);
    s_expect("gem-velsen", r_confirm(&b, "k-9", "PW-2/1", "decline", true), CODE(CONFLICT),
             "proposal PW-2/1 has no refusal waiting for a verdict");
    s_put_proposal_at("PW-2/1", PSTATE(DECLINED), "answer", true, 0);
    s_expect("gem-haarlem", r_confirm(&b, "k-10", "PW-2/1", "decline", true), CODE(FORBIDDEN),
             "only the municipality of the candidate (velsen) confirms its refusals");
    s_expect("pre-wonen", r_confirm(&b, "k-11", "PW-2/1", "decline", true), CODE(FORBIDDEN),
             NULL);
    s_expect("gem-velsen", r_confirm(&b, "k-12", "PW-2/1", "decline", true), CODE(OK), NULL);
    /* Due by a time that has passed: too late, whether or not matching has
     * ended the wait yet; a verdict given is no refusal lapsing. */
    int64_t past = wz_now_ms() - 1000;
    char due[25], text[160];
    wz_time_format(past, due);
    snprintf(text, sizeof text,
             "the verdict on the refusal of proposal PW-3/1 was due by %s; none came in time, so "
             "the refusal does not count",
             due);
    s_put_proposal_at("PW-3/1", PSTATE(DECLINED), "answer", true, past);
    s_expect("gem-velsen", r_confirm(&b, "k-13", "PW-3/1", "decline", true), CODE(CONFLICT), text);
    s_put_proposal_at("PW-3/1", PSTATE(DECLINED), "answer", false, past);
    s_expect("gem-velsen", r_confirm(&b, "k-14", "PW-3/1", "decline", false), CODE(CONFLICT), text);
    s_put_proposal_at("PW-4/1", PSTATE(DECLINED), "answer", true, wz_now_ms() + 60000);
    s_expect("gem-velsen", r_confirm(&b, "k-15", "PW-4/1", "decline", false), CODE(OK), NULL);
}
END_TEST

START_TEST(test_nominate)
{
    req_t b;
    s_register("c-1", "ribw-kam", "K-1", "velsen");
    s_register("c-2", "dock", "K-2", "velsen");
    s_expect("ribw-kam", r_nominate(&b, "n-1", "PW-1", "K-1"), CODE(NOT_FOUND), NULL);
    WzVacancy v = WOONZORG__V1__VACANCY__INIT;
    v.id = "PW-1";
    v.corporation = "pre-wonen";
    v.region = "zkij";
    v.municipality = "velsen";
    v.state = VSTATE(MATCHING);
    v.nominator = "ribw-kam";
    s_put("wz:{zkij}:m:vacancy:PW-1", &v.base);
    s_expect("dock", r_nominate(&b, "n-2", "PW-1", "K-2"), CODE(CONFLICT),
             "vacancy PW-1 is not waiting for a nomination by dock");
    s_expect("ribw-kam", r_nominate(&b, "n-3", "PW-1", "K-2"), CODE(FORBIDDEN),
             "candidate K-2 is not registered by ribw-kam");
    s_expect("ribw-kam", r_nominate(&b, "n-4", "PW-1", "K-9"), CODE(NOT_FOUND), NULL);
    s_expect("gem-velsen", r_nominate(&b, "n-5", "PW-1", "K-1"), CODE(FORBIDDEN), NULL);
    s_expect("ribw-kam", r_nominate(&b, "n-6", "PW-1", "K-1"), CODE(OK), NULL);
    WzEvent *ev = s_last_event();
    ck_assert_int_eq(ev->payload_case, WOONZORG__V1__EVENT__PAYLOAD_CANDIDATE_NOMINATED);
    ck_assert_str_eq(ev->candidate_nominated->candidate_id, "K-1");
    ck_assert_str_eq(ev->candidate_nominated->care_provider, "ribw-kam");
    WZ_FREE_UNPACKED(ev);
}
END_TEST

/* A real decision under s_policy, built as matching stores it (format 2):
 * velsen's candidate K-1, the only one of its bucket, walked and proposed
 * for PW-1. */
typedef struct {
    WzSnapshot snap;
    WzVacancy vacancy;
    WzCandidate cand, key;
    WzCandidate *walked[1];
    WzSnapshotBucket bucket;
    WzSnapshotBucket *buckets[1];
    WzHousehold household, key_household;
    WzDate decided, since, available;
    WzExplanation asked;
    wz_match_result_t r;
} s_decision_t;

static void s_decision(s_decision_t *d)
{
    memset(d, 0, sizeof *d);
    d->decided = (WzDate)WOONZORG__V1__DATE__INIT;
    d->decided.year = 2025, d->decided.month = 6, d->decided.day = 2;
    d->since = d->decided;
    d->since.month = 5;
    d->available = d->decided;
    d->household = (WzHousehold)WOONZORG__V1__HOUSEHOLD__INIT;
    d->household.adults = 1;
    d->vacancy = (WzVacancy)WOONZORG__V1__VACANCY__INIT;
    d->vacancy.id = "PW-1";
    d->vacancy.corporation = "pre-wonen";
    d->vacancy.region = "zkij";
    d->vacancy.municipality = "velsen";
    d->vacancy.neighbourhood = "BU04530101";
    d->vacancy.rooms = 2;
    d->vacancy.floor_area_m2 = 45;
    d->vacancy.rent_cents = 60000;
    d->vacancy.access = WOONZORG__V1__ACCESS__ACCESS_GROUND_FLOOR;
    d->vacancy.available_from = &d->available;
    d->cand = (WzCandidate)WOONZORG__V1__CANDIDATE__INIT;
    d->cand.id = "K-1";
    d->cand.care_provider = "ribw-kam";
    d->cand.region = "zkij";
    d->cand.municipality = "velsen";
    d->cand.group = "bw";
    d->cand.household = &d->household;
    d->cand.age_band = WOONZORG__V1__AGE_BAND__AGE_BAND_ADULT;
    d->cand.income_class = WOONZORG__V1__INCOME_CLASS__INCOME_CLASS_BELOW_LIMIT;
    d->cand.consent = 1;
    d->cand.state = CSTATE(ACTIVE);
    d->cand.urgency_date = &d->since;
    d->cand.urgency_by = "gem-velsen";
    d->key = d->cand; /* the bucket: its attributes without an id */
    d->key.id = "";
    d->key.urgency_date = NULL;
    d->key_household = d->household;
    d->key.household = &d->key_household;
    d->walked[0] = &d->cand;
    d->bucket = (WzSnapshotBucket)WOONZORG__V1__SNAPSHOT_BUCKET__INIT;
    d->bucket.key = &d->key;
    d->bucket.size = 1;
    d->buckets[0] = &d->bucket;
    d->asked = (WzExplanation)WOONZORG__V1__EXPLANATION__INIT;
    d->asked.scheme = "s";
    d->asked.mode = "ranked";
    d->snap = (WzSnapshot)WOONZORG__V1__DECISION_SNAPSHOT__INIT;
    d->snap.format = WZ_MATCH_SNAPSHOT_WALK;
    d->snap.proposal_id = "PW-1/1";
    d->snap.policy_version = "test-1";
    d->snap.vacancy = &d->vacancy;
    d->snap.candidates = d->walked;
    d->snap.n_candidates = 1;
    d->snap.buckets = d->buckets;
    d->snap.n_buckets = 1;
    d->snap.contingent_target = -1;
    d->snap.decided_on = &d->decided;
    d->snap.explanation = &d->asked;
    /* What matching decided: exactly what the rules give. */
    size_t chosen = 9;
    ck_assert_int_eq(wz_match_replay(&s_policy, &d->snap, &d->r, &chosen), 1);
    ck_assert_uint_eq(chosen, 0);
    d->snap.explanation = &d->r.explanation;
    d->snap.chosen = "K-1";
}

static bool s_holds(const uint8_t *bytes, size_t len, const char *text)
{
    size_t n = strlen(text);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(bytes + i, text, n) == 0)
            return true;
    return false;
}

/* Asks party for the replay of PW-1/1: the verdict, and the reply's bytes
 * searched for what the party may not see. */
static WzReplayVerdict *s_replay_as(const char *party, const char *rid, bool shows_k1)
{
    req_t b;
    size_t len = 0;
    uint8_t *bytes = s_call_bytes(party, r_status(&b, rid, KIND(REPLAY), "PW-1/1"), &len);
    WzReply *r = wz_reply_unpack(bytes, len);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->code, CODE(OK));
    ck_assert_int_eq(r->result_case, WOONZORG__V1__REPLY__RESULT_REPLAY);
    /* No candidate attribute, whatever the verdict; the id only for its own
     * municipality. */
    static const char *const attributes[] = {"group", "household", "adults", "age_band",
                                             "income_class", "access_needs", "care_location",
                                             "urgency_date", "summary", "score", "rank", NULL};
    char found[256] = "";
    ck_assert_msg(!wz_test_first_set(&r->base, attributes, found, sizeof found),
                  "the replay shows %s to %s", found, party);
    ck_assert_msg(s_holds(bytes, len, "K-1") == shows_k1,
                  "K-1 %s in the reply to %s", shows_k1 ? "missing" : "named", party);
    ck_assert(!s_holds(bytes, len, "ribw-kam"));
    free(bytes);
    WzReplayVerdict *v = r->replay;
    r->replay = NULL;
    r->result_case = WOONZORG__V1__REPLY__RESULT__NOT_SET;
    WZ_FREE_UNPACKED(r);
    return v;
}

#define OUTCOME(x) WOONZORG__V1__REPLAY_VERDICT__OUTCOME__OUTCOME_##x

START_TEST(test_replay_server_side)
{
    req_t b;
    s_decision_t d;
    s_decision(&d);
    s_put("wz:{zkij}:m:snapshot:PW-1/1", &d.snap.base);
    /* The municipalities supervise the allocation; nobody else replays. */
    s_expect("ribw-kam", r_status(&b, "q-1", KIND(REPLAY), "PW-1/1"), CODE(FORBIDDEN),
             "decisions are replayed for the municipalities of the region");
    s_expect("pre-wonen", r_status(&b, "q-2", KIND(REPLAY), "PW-1/1"), CODE(FORBIDDEN), NULL);
    s_expect("gem-haarlem", r_status(&b, "q-3", KIND(REPLAY), "PW-9/1"), CODE(NOT_FOUND), NULL);

    /* The same decision: the verdict with the counts, for either municipality. */
    WzReplayVerdict *v = s_replay_as("gem-haarlem", "q-4", false);
    ck_assert_int_eq(v->outcome, OUTCOME(SAME));
    ck_assert_str_eq(v->reason, "");
    ck_assert_str_eq(v->decision, "PW-1/1");
    ck_assert_str_eq(v->policy_version, "test-1");
    ck_assert_str_eq(v->replayed_under, "test-1");
    ck_assert_uint_eq(v->format, 2);
    ck_assert_uint_eq(v->walked, 1);
    ck_assert_uint_eq(v->buckets, 1);
    ck_assert_int_eq(v->decided_on->month, 6);
    ck_assert_ptr_nonnull(v->stored);
    ck_assert_ptr_nonnull(v->replayed);
    ck_assert_uint_eq(v->replayed->considered, 1);
    ck_assert_uint_eq(v->replayed->eligible, 1);
    ck_assert_uint_eq(v->replayed->n_filters, WZ_MATCH_RULES);
    ck_assert_str_eq(v->replayed->scheme, "s");
    WZ_FREE_UNPACKED(v);

    /* Tampered in Redis: K-1 listed as proposed before. The rules now
     * propose nobody: a different decision, said without naming anyone. */
    char *tried[] = {"K-1"};
    d.snap.tried = tried;
    d.snap.n_tried = 1;
    s_put("wz:{zkij}:m:snapshot:PW-1/1", &d.snap.base);
    v = s_replay_as("gem-haarlem", "q-5", false);
    ck_assert_int_eq(v->outcome, OUTCOME(DIFFERENT));
    ck_assert_str_eq(v->reason, "the replay proposes nobody, the decision proposed a candidate");
    ck_assert_uint_eq(v->replayed->eligible, 0);
    ck_assert_uint_eq(v->replayed->filters[wz_match_rule_index("already_proposed")]->removed, 1);
    ck_assert_uint_eq(v->stored->eligible, 1);
    WZ_FREE_UNPACKED(v);
    /* A stored count changed: the rule is named. */
    d.snap.n_tried = 0;
    d.r.counts[wz_match_rule_index("household")].removed = 3;
    s_put("wz:{zkij}:m:snapshot:PW-1/1", &d.snap.base);
    v = s_replay_as("gem-haarlem", "q-6", false);
    ck_assert_int_eq(v->outcome, OUTCOME(DIFFERENT));
    ck_assert_str_eq(v->reason, "rule household removed 3 in the decision, 0 in the replay");
    WZ_FREE_UNPACKED(v);
    d.r.counts[wz_match_rule_index("household")].removed = 0;
    /* A walk the rules could not have made names the candidate only to its
     * own municipality. */
    d.household.adults = 6;
    s_put("wz:{zkij}:m:snapshot:PW-1/1", &d.snap.base);
    v = s_replay_as("gem-haarlem", "q-7", false);
    ck_assert_int_eq(v->outcome, OUTCOME(CANNOT_REPLAY));
    ck_assert_str_eq(v->reason, "walked candidate (a candidate) does not fit the dwelling");
    WZ_FREE_UNPACKED(v);
    v = s_replay_as("gem-velsen", "q-8", true);
    ck_assert_str_eq(v->reason, "walked candidate K-1 does not fit the dwelling");
    WZ_FREE_UNPACKED(v);
    d.household.adults = 1;

    /* Decided under another policy version: said so, no verdict. */
    d.snap.policy_version = "test-0";
    s_put("wz:{zkij}:m:snapshot:PW-1/1", &d.snap.base);
    v = s_replay_as("gem-haarlem", "q-9", false);
    ck_assert_int_eq(v->outcome, OUTCOME(CANNOT_REPLAY));
    ck_assert_str_eq(v->reason,
                     "decided under policy test-0, loaded is test-1: a replay needs the same policy");
    ck_assert_str_eq(v->policy_version, "test-0");
    ck_assert_ptr_null(v->replayed);
    WZ_FREE_UNPACKED(v);
    d.snap.policy_version = "test-1";

    /* K-1 erased (matching's purge leaves its id, care provider and
     * municipality): cannot replay, named only to velsen. */
    WzCandidate erased = WOONZORG__V1__CANDIDATE__INIT;
    erased.id = "K-1";
    erased.care_provider = "ribw-kam";
    erased.municipality = "velsen";
    erased.erased = 1;
    d.walked[0] = &erased;
    s_put("wz:{zkij}:m:snapshot:PW-1/1", &d.snap.base);
    v = s_replay_as("gem-haarlem", "q-10", false);
    ck_assert_int_eq(v->outcome, OUTCOME(CANNOT_REPLAY));
    ck_assert_str_eq(v->reason, "the data of 1 of the 1 candidates the decision walked was erased "
                                "(retention period ended or consent withdrawn)");
    ck_assert_uint_eq(v->erased, 1);
    ck_assert_str_eq(v->erased_candidate, "");
    ck_assert_ptr_null(v->replayed);
    WZ_FREE_UNPACKED(v);
    v = s_replay_as("gem-velsen", "q-11", true);
    ck_assert_str_eq(v->reason,
                     "candidate K-1's data was erased (retention period ended or consent withdrawn)");
    ck_assert_str_eq(v->erased_candidate, "K-1");
    WZ_FREE_UNPACKED(v);
}
END_TEST

START_TEST(test_snapshot_and_consent)
{
    req_t b;
    /* Consent: needed to register, an update without it withdraws it. */
    r_register(&b, "c-1", "K-1", "velsen");
    b.candidate.consent = 0;
    s_expect("ribw-kam", &b.req, CODE(INVALID),
             "register_candidate.consent: consent is required before a candidate can be "
             "registered");
    s_register("c-2", "ribw-kam", "K-1", "velsen");
    r_register(&b, "c-3", "K-1", "velsen");
    b.candidate.consent = 0;
    s_expect("ribw-kam", &b.req, CODE(OK), NULL);
    WzEvent *ev = s_last_event();
    ck_assert_int_eq(ev->payload_case, WOONZORG__V1__EVENT__PAYLOAD_CANDIDATE_UPDATED);
    ck_assert(!ev->candidate_updated->candidate->consent);
    WZ_FREE_UNPACKED(ev);
}
END_TEST

START_TEST(test_urgency_extension)
{
    req_t b;
    s_register("c-1", "ribw-kam", "K-1", "velsen");
    r_grant(&b, "g-1", "K-1", 0, 0, 0);
    b.grant.extend = true;
    s_expect("gem-velsen", &b.req, CODE(CONFLICT),
             "candidate K-1 has no urgency in force to extend");
    s_expect("gem-velsen", r_grant(&b, "g-2", "K-1", 0, 0, 0), CODE(OK), NULL);
    r_grant(&b, "g-3", "K-1", 0, 0, 0);
    b.grant.extend = true;
    s_expect("gem-velsen", &b.req, CODE(OK), "urgency of candidate K-1 extended by 4 months");
    WzEvent *ev = s_last_event();
    ck_assert(ev->urgency_granted->extend);
    WZ_FREE_UNPACKED(ev);
    /* Matching recorded the extension: a second one is refused. */
    WzCandidate c = WOONZORG__V1__CANDIDATE__INIT;
    c.id = "K-1";
    c.care_provider = "ribw-kam";
    c.municipality = "velsen";
    c.state = CSTATE(ACTIVE);
    c.extensions = 1;
    s_put("wz:{zkij}:m:candidate:K-1", &c.base);
    r_grant(&b, "g-4", "K-1", 0, 0, 0);
    b.grant.extend = true;
    s_expect("gem-velsen", &b.req, CODE(CONFLICT),
             "the urgency of candidate K-1 was extended once already");
    /* A lapsed candidate may be granted urgency afresh. */
    c.state = CSTATE(LAPSED);
    s_put("wz:{zkij}:m:candidate:K-1", &c.base);
    s_expect("gem-velsen", r_grant(&b, "g-5", "K-1", 0, 0, 0), CODE(OK), NULL);
}
END_TEST

START_TEST(test_redis_down_is_unavailable)
{
    s_publish("p-1", "pre-wonen", "PW-1");
    wz_testenv_kill_redis(env);
    req_t b;
    WzReply *reply = s_call("pre-wonen", r_publish(&b, "p-2", "PW-2"));
    ck_assert_int_eq(reply->code, CODE(UNAVAILABLE));
    ck_assert_str_eq(reply->request_id, "p-2");
    WZ_FREE_UNPACKED(reply);
    s_expect("pre-wonen", r_status(&b, "q-1", KIND(VACANCY), "PW-1"), CODE(UNAVAILABLE), NULL);
    /* Even a retry of a committed request needs storage to find its first reply. */
    s_expect("pre-wonen", r_publish(&b, "p-1", "PW-1"), CODE(UNAVAILABLE), NULL);
}
END_TEST

/* A real ROUTER with CURVE and the ZAP handler: identity from the key. */
START_TEST(test_router_round_trip_with_curve)
{
    wz_keypair_t server, client;
    ck_assert_int_eq(wz_keys_generate(&server), 0);
    ck_assert_int_eq(wz_keys_generate(&client), 0);
    wz_party_t parties[sizeof s_parties / sizeof *s_parties];
    memcpy(parties, s_parties, sizeof parties);
    memcpy(parties[0].public_key, client.public_z85, sizeof parties[0].public_key);
    wz_policy_t policy = s_policy;
    policy.parties = parties;
    rt.policy = &policy;
    wz_intake_t *served = wz_intake_new(&rt, NULL, pub);
    ck_assert_ptr_nonnull(served);

    wz_zap_t *zap = wz_zap_new(ctx, &policy, NULL);
    ck_assert_ptr_nonnull(zap);
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    int mandatory = 1, linger = 0;
    zmq_setsockopt(router, ZMQ_ROUTER_MANDATORY, &mandatory, sizeof mandatory);
    zmq_setsockopt(router, ZMQ_LINGER, &linger, sizeof linger);
    ck_assert_int_eq(wz_zap_server(router, &server), 0);
    ck_assert_int_eq(zmq_bind(router, "tcp://127.0.0.1:*"), 0);
    char endpoint[128];
    size_t size = sizeof endpoint;
    ck_assert_int_eq(zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, endpoint, &size), 0);

    void *dealer = zmq_socket(ctx, ZMQ_DEALER);
    zmq_setsockopt(dealer, ZMQ_LINGER, &linger, sizeof linger);
    ck_assert_int_eq(wz_zap_client(dealer, &client, server.public_z85), 0);
    ck_assert_int_eq(zmq_connect(dealer, endpoint), 0);

    /* A two-frame request is not ours: dropped without a reply. Then a good one. */
    zmq_send(dealer, "x", 1, ZMQ_SNDMORE);
    zmq_send(dealer, "y", 1, 0);
    req_t b;
    r_publish(&b, "net-1", "PW-1");
    ck_assert_int_eq(wz_codec_send(dealer, &b.req.base, 0), 0);

    WzReply *reply = NULL;
    int64_t deadline = wz_mono_ms() + 10000;
    while (!reply && wz_mono_ms() < deadline) {
        zmq_pollitem_t items[] = {{router, 0, ZMQ_POLLIN, 0}, {dealer, 0, ZMQ_POLLIN, 0}};
        zmq_poll(items, 2, 100);
        if (items[0].revents & ZMQ_POLLIN)
            ck_assert_int_eq(wz_intake_on_router(NULL, router, served), 0);
        if (items[1].revents & ZMQ_POLLIN) {
            zmq_msg_t msg;
            zmq_msg_init(&msg);
            ck_assert_int_ge(zmq_msg_recv(&msg, dealer, 0), 0);
            ck_assert(!zmq_msg_more(&msg));
            reply = wz_reply_unpack(zmq_msg_data(&msg), zmq_msg_size(&msg));
            zmq_msg_close(&msg);
            ck_assert_ptr_nonnull(reply);
        }
    }
    ck_assert_ptr_nonnull(reply);
    ck_assert_str_eq(reply->request_id, "net-1");
    ck_assert_int_eq(reply->code, CODE(OK));
    WZ_FREE_UNPACKED(reply);
    /* The party came from the key: the vacancy is pre-wonen's. */
    WzEvent *ev = s_last_event();
    ck_assert_str_eq(ev->actor, "pre-wonen");
    WZ_FREE_UNPACKED(ev);
    ck_assert_int_eq(s_stream_len(), 1);

    zmq_close(dealer);
    zmq_close(router);
    wz_zap_destroy(&zap);
    wz_intake_destroy(&served);
}
END_TEST

int main(void)
{
    TCase *tc = wz_test_case("requests", 60,
                             (const TTest *const[]){test_publish_stores_emits_and_replays,
                                                    test_publish_reads_its_idempotency_record_once,
                                                    test_unknown_party_is_forbidden,
                                                    test_malformed_and_bad_request_id,
                                                    test_invalid_request_is_refused_and_remembered,
                                                    test_audit_goes_elsewhere,
                                                    test_withdraw_vacancy,
                                                    test_register_and_update_candidate,
                                                    test_withdraw_candidate,
                                                    test_grant_urgency,
                                                    test_answer,
                                                    test_sign_lease,
                                                    test_status,
                                                    test_confirm_step,
                                                    test_nominate,
                                                    test_snapshot_and_consent,
                                                    test_replay_server_side,
                                                    test_urgency_extension,
                                                    test_redis_down_is_unavailable,
                                                    test_router_round_trip_with_curve,
                                                    NULL});
    tcase_add_checked_fixture(tc, setup, teardown);
    return wz_test_run("intake", (TCase *const[]){tc, NULL});
}
