/* wz_it.h - what every integration test does: start the suite (private
 * redis-server and the four real service binaries, tests/support), act as
 * parties over the real CURVE endpoints, wait for deliveries with deadlines,
 * and read the services' state back from Redis (keys per docs/architecture.md).
 *
 * Header-only (static inline) so each tests/integration/test_*.c stays one
 * executable; every helper fails the running Check test on a broken
 * expectation and frees what it allocated. */
#ifndef WZ_IT_H_INCLUDED
#define WZ_IT_H_INCLUDED

#include <check.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "wz_client.h"
#include "wz_codec.h"
#include "wz_store.h"
#include "wz_testenv.h"
#include "wz_util.h"

/* Long enough for a sanitizer build on a busy 2-core machine; a passing
 * test never waits this long. */
#define IT_WAIT_MS 10000
#define IT_CALL_MS 5000
#define IT_TCASE_TIMEOUT 60
#define IT_KEY_MAX 256

#define IT_CODE(x) WOONZORG__V1__CODE__CODE_##x
#define IT_VSTATE(x) WOONZORG__V1__VACANCY_STATE__VACANCY_STATE_##x
#define IT_CSTATE(x) WOONZORG__V1__CANDIDATE_STATE__CANDIDATE_STATE_##x
#define IT_PSTATE(x) WOONZORG__V1__PROPOSAL_STATE__PROPOSAL_STATE_##x
#define IT_EV(x) WOONZORG__V1__EVENT__PAYLOAD_##x
#define IT_ACCESS(x) WOONZORG__V1__ACCESS__ACCESS_##x
#define IT_AGE(x) WOONZORG__V1__AGE_BAND__AGE_BAND_##x
#define IT_INCOME(x) WOONZORG__V1__INCOME_CLASS__INCOME_CLASS_##x
#define IT_CONTRACT(x) WOONZORG__V1__CONTRACT_TYPE__CONTRACT_TYPE_##x
#define IT_KIND(x) WOONZORG__V1__STATUS_QUERY__KIND__KIND_##x

typedef struct {
    wz_testenv_t *env;
    void *ctx;
    const wz_settings_t *settings;
    wz_store_t *store;
} it_t;

/* --- the suite ------------------------------------------------------------ */

static inline void it_open(it_t *it, int answer_seconds)
{
    memset(it, 0, sizeof *it);
    it->env = wz_testenv_new(true, answer_seconds);
    it->settings = wz_testenv_settings(it->env);
    it->store = wz_testenv_store(it->env);
    it->ctx = zmq_ctx_new();
    ck_assert_ptr_nonnull(it->ctx);
}

/* Stops the services with SIGTERM and requires each to exit 0 (a sanitizer
 * finding at exit makes that fail), then removes everything. Clients and
 * listeners must be destroyed before. */
static inline void it_close(it_t *it)
{
    int unclean = wz_testenv_stop_all(it->env);
    zmq_ctx_term(it->ctx);
    it->ctx = NULL;
    const char *dir = wz_testenv_dir(it->env);
    ck_assert_msg(unclean == 0,
                  "%d service(s) did not exit cleanly on SIGTERM (logs in %s; "
                  "set WZ_KEEP_TEST_DIR=1 to keep them)",
                  unclean, dir);
    wz_testenv_destroy(&it->env);
}

/* --- programs --------------------------------------------------------------- */

#define IT_WZCTL_ARGS 16

/* Runs argv (NULL-terminated, argv[0] a path) for up to timeout_ms; returns
 * its exit status, with what it printed (stdout and stderr, cut to
 * outlen - 1 bytes) in out. Fails the test when it did not exit by itself. */
static inline int it_run(it_t *it, char *const argv[], char *out, size_t outlen, int timeout_ms)
{
    char log[700];
    snprintf(log, sizeof log, "%s/run-%d.out", wz_testenv_dir(it->env), (int)getpid());
    unlink(log);
    pid_t pid = wz_proc_spawn(argv, log);
    ck_assert_int_gt(pid, 0);
    int status = wz_proc_wait(pid, timeout_ms);
    size_t n = 0;
    char *text = wz_read_file(log, &n);
    n = n < outlen - 1 ? n : outlen - 1;
    if (text)
        memcpy(out, text, n);
    out[text ? n : 0] = '\0';
    free(text);
    ck_assert_msg(WIFEXITED(status), "%s did not exit: %s", argv[0], out);
    return WEXITSTATUS(status);
}

/* `wzctl -c <the suite's config>` with the arguments that follow, up to the
 * first NULL; otherwise as it_run, with 60 s. */
static inline int it_wzctl(it_t *it, char *out, size_t outlen, ...)
{
    char *argv[IT_WZCTL_ARGS + 4] = {WZ_BUILD_DIR "/wzctl", "-c",
                                     (char *)wz_testenv_config(it->env)};
    int argc = 3;
    va_list ap;
    va_start(ap, outlen);
    for (char *a; (a = va_arg(ap, char *)) != NULL;) {
        ck_assert_int_lt(argc, IT_WZCTL_ARGS + 3);
        argv[argc++] = a;
    }
    va_end(ap);
    argv[argc] = NULL;
    return it_run(it, argv, out, outlen, 60000);
}

/* `wzctl audit verify` must find the region's chain intact; after says when
 * (for the failure message). */
static inline void it_verify_intact(it_t *it, const char *region, const char *after)
{
    char out[4096];
    int rc = it_wzctl(it, out, sizeof out, "audit", "verify", "--region", region, NULL);
    ck_assert_msg(rc == 0 && strstr(out, "intact"), "verify %s: exit %d, %s", after, rc, out);
}

/* --- parties ----------------------------------------------------------------- */

static inline wz_client_t *it_client_of(it_t *it, const char *party, const char *service,
                                        const char *endpoint)
{
    wz_keypair_t kp;
    char server[41], err[256];
    ck_assert_msg(wz_client_keys(it->settings, party, service, &kp, server, err, sizeof err) == 0,
                  "keys of %s for %s: %s", party, service, err);
    wz_client_t *c = wz_client_new(it->ctx, endpoint, server, &kp);
    ck_assert_msg(c != NULL, "cannot connect %s to %s at %s", party, service, endpoint);
    return c;
}

/* A party's request socket on intake. */
static inline wz_client_t *it_client(it_t *it, const char *party)
{
    return it_client_of(it, party, "intake", it->settings->intake.endpoint);
}

/* A party's request socket on audit. */
static inline wz_client_t *it_audit_client(it_t *it, const char *party)
{
    return it_client_of(it, party, "audit", it->settings->audit.endpoint);
}

/* A party's mailbox on notification, from the beginning. */
static inline wz_listener_t *it_listener(it_t *it, const char *party)
{
    wz_keypair_t kp;
    char server[41], err[256];
    ck_assert_msg(
        wz_client_keys(it->settings, party, "notification", &kp, server, err, sizeof err) == 0,
        "keys of %s for notification: %s", party, err);
    wz_listener_t *l =
        wz_listener_new(it->ctx, it->settings->notification.endpoint, server, &kp, 0);
    ck_assert_msg(l != NULL, "cannot open the mailbox of %s", party);
    return l;
}

/* --- requests ----------------------------------------------------------------- */

/* Sends req (request_id as set, or a random one) and returns the reply;
 * fails the test when none comes. */
static inline WzReply *it_send(wz_client_t *c, WzRequest *req)
{
    WzReply *r = NULL;
    ck_assert_msg(wz_client_call(c, req, IT_CALL_MS, 1000, &r) == 0 && r != NULL,
                  "no reply within %d ms", IT_CALL_MS);
    return r;
}

static inline const char *it_code_name(int code)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&woonzorg__v1__code__descriptor, code);
    return v ? v->name : "?";
}

/* Requires an OK reply; frees it. */
static inline void it_ok(WzReply **r)
{
    ck_assert_ptr_nonnull(*r);
    ck_assert_msg((*r)->code == IT_CODE(OK), "expected OK, got %s (%s): %s",
                  it_code_name((*r)->code), (*r)->field, (*r)->message);
    WZ_FREE_UNPACKED(*r);
}

/* Requires a refusal with code and field ("" for none) and a message; an
 * INVALID message must name the field it refuses. Frees the reply. */
static inline void it_refused(WzReply **r, int code, const char *field)
{
    ck_assert_ptr_nonnull(*r);
    ck_assert_msg((int)(*r)->code == code, "expected %s, got %s (%s): %s", it_code_name(code),
                  it_code_name((*r)->code), (*r)->field, (*r)->message);
    ck_assert_str_eq((*r)->field, field);
    ck_assert_msg((*r)->message && (*r)->message[0], "a refusal without a message");
    if (field[0] && code == IT_CODE(INVALID))
        ck_assert_msg(strstr((*r)->message, field) != NULL ||
                          strstr((*r)->message,
                                 strrchr(field, '.') ? strrchr(field, '.') + 1 : field) != NULL,
                      "message '%s' does not name the field %s", (*r)->message, field);
    WZ_FREE_UNPACKED(*r);
}

typedef struct {
    const char *id, *municipality, *neighbourhood, *complex, *address;
    uint32_t rooms, area_m2;
    int64_t rent_cents;
    uint32_t access;
} it_vacancy_t;

/* A small ground-floor flat in the Haarlem Vijfhoek that fits one person
 * below the income limit; tests change what they need. */
static inline it_vacancy_t it_vacancy(const char *id)
{
    it_vacancy_t v = {id,
                      "haarlem",
                      "BU03920101",
                      "vijfhoek-3",
                      "Kruisstraat 12",
                      2,
                      48,
                      61250,
                      IT_ACCESS(GROUND_FLOOR) | IT_ACCESS(NO_STEPS)};
    return v;
}

static inline WzReply *it_publish(wz_client_t *c, const char *rid, const it_vacancy_t *in)
{
    WzDate from = WOONZORG__V1__DATE__INIT;
    from.year = 2025;
    from.month = 12;
    from.day = 1;
    WzVacancy v = WOONZORG__V1__VACANCY__INIT;
    v.id = (char *)in->id;
    v.municipality = (char *)in->municipality;
    v.neighbourhood = (char *)in->neighbourhood;
    v.complex = (char *)in->complex;
    v.address = (char *)in->address;
    v.rooms = in->rooms;
    v.floor_area_m2 = in->area_m2;
    v.rent_cents = in->rent_cents;
    v.access = in->access;
    v.available_from = &from;
    WzRequest req = WOONZORG__V1__REQUEST__INIT;
    req.request_id = (char *)(rid ? rid : "");
    req.body_case = WOONZORG__V1__REQUEST__BODY_PUBLISH_VACANCY;
    req.publish_vacancy = &v;
    return it_send(c, &req);
}

typedef struct {
    const char *id, *municipality, *group;
    uint32_t adults, children;
    int age_band, income;
    uint32_t access_needs;
    bool consent;
} it_candidate_t;

/* One adult below the income limit, in beschermd wonen, urgency from Haarlem,
 * acceptable anywhere in the region. */
static inline it_candidate_t it_candidate(const char *id)
{
    it_candidate_t c = {
        id, "haarlem", "beschermd_wonen", 1, 0, IT_AGE(ADULT), IT_INCOME(BELOW_LIMIT), 0, true};
    return c;
}

static inline WzReply *it_register(wz_client_t *c, const char *rid, const it_candidate_t *in)
{
    WzHousehold h = WOONZORG__V1__HOUSEHOLD__INIT;
    h.adults = in->adults;
    h.children = in->children;
    WzCandidate cand = WOONZORG__V1__CANDIDATE__INIT;
    cand.id = (char *)in->id;
    cand.municipality = (char *)in->municipality;
    cand.group = (char *)in->group;
    cand.household = &h;
    cand.age_band = in->age_band;
    cand.income_class = in->income;
    cand.access_needs = in->access_needs;
    cand.consent = in->consent;
    WzRequest req = WOONZORG__V1__REQUEST__INIT;
    req.request_id = (char *)(rid ? rid : "");
    req.body_case = WOONZORG__V1__REQUEST__BODY_REGISTER_CANDIDATE;
    req.register_candidate = &cand;
    return it_send(c, &req);
}

static inline WzReply *it_grant(wz_client_t *c, const char *rid, const char *candidate, int year,
                                int month, int day)
{
    WzDate d = WOONZORG__V1__DATE__INIT;
    d.year = year;
    d.month = month;
    d.day = day;
    Woonzorg__V1__GrantUrgency g = WOONZORG__V1__GRANT_URGENCY__INIT;
    g.candidate_id = (char *)candidate;
    g.date = &d;
    WzRequest req = WOONZORG__V1__REQUEST__INIT;
    req.request_id = (char *)(rid ? rid : "");
    req.body_case = WOONZORG__V1__REQUEST__BODY_GRANT_URGENCY;
    req.grant_urgency = &g;
    return it_send(c, &req);
}

static inline WzReply *it_answer(wz_client_t *c, const char *rid, const char *proposal, bool accept,
                                 const char *reason)
{
    Woonzorg__V1__Answer a = WOONZORG__V1__ANSWER__INIT;
    a.proposal_id = (char *)proposal;
    a.accept = accept;
    a.reason = (char *)(reason ? reason : "");
    WzRequest req = WOONZORG__V1__REQUEST__INIT;
    req.request_id = (char *)(rid ? rid : "");
    req.body_case = WOONZORG__V1__REQUEST__BODY_ANSWER;
    req.answer = &a;
    return it_send(c, &req);
}

static inline WzReply *it_sign(wz_client_t *c, const char *rid, const char *vacancy, int contract)
{
    Woonzorg__V1__SignLease s = WOONZORG__V1__SIGN_LEASE__INIT;
    s.vacancy_id = (char *)vacancy;
    s.contract = contract;
    WzRequest req = WOONZORG__V1__REQUEST__INIT;
    req.request_id = (char *)(rid ? rid : "");
    req.body_case = WOONZORG__V1__REQUEST__BODY_SIGN_LEASE;
    req.sign_lease = &s;
    return it_send(c, &req);
}

static inline WzReply *it_withdraw(wz_client_t *c, const char *rid, const char *vacancy)
{
    Woonzorg__V1__IdRef ref = WOONZORG__V1__ID_REF__INIT;
    ref.id = (char *)vacancy;
    WzRequest req = WOONZORG__V1__REQUEST__INIT;
    req.request_id = (char *)(rid ? rid : "");
    req.body_case = WOONZORG__V1__REQUEST__BODY_WITHDRAW_VACANCY;
    req.withdraw_vacancy = &ref;
    return it_send(c, &req);
}

static inline WzReply *it_status(wz_client_t *c, int kind, const char *id)
{
    Woonzorg__V1__StatusQuery q = WOONZORG__V1__STATUS_QUERY__INIT;
    q.kind = kind;
    q.id = (char *)id;
    WzRequest req = WOONZORG__V1__REQUEST__INIT;
    req.body_case = WOONZORG__V1__REQUEST__BODY_STATUS;
    req.status = &q;
    return it_send(c, &req);
}

/* The last `last` audit entries of the caller's region (oldest first). */
static inline WzReply *it_audit_tail(wz_client_t *audit, uint32_t last)
{
    Woonzorg__V1__AuditQuery q = WOONZORG__V1__AUDIT_QUERY__INIT;
    q.last = last;
    WzRequest req = WOONZORG__V1__REQUEST__INIT;
    req.body_case = WOONZORG__V1__REQUEST__BODY_AUDIT;
    req.audit = &q;
    return it_send(audit, &req);
}

/* --- deliveries ------------------------------------------------------------- */

static inline const char *it_event_name(int payload)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(
        &woonzorg__v1__event__descriptor, (unsigned)payload);
    return f ? f->name : "none";
}

/* Waits for the party's next delivery, requires its event type and reason,
 * acknowledges it and returns it (caller frees with WZ_FREE_UNPACKED). */
static inline WzDelivery *it_expect(wz_listener_t *l, const char *party, int payload,
                                    const char *reason)
{
    WzDelivery *d = NULL;
    int rc = wz_listener_next(l, IT_WAIT_MS, &d);
    ck_assert_msg(rc == 1, "%s: expected %s (%s) within %d ms, got %s", party,
                  it_event_name(payload), reason, IT_WAIT_MS, rc == 0 ? "nothing" : "an error");
    ck_assert_ptr_nonnull(d->event);
    ck_assert_msg((int)d->event->payload_case == payload && strcmp(d->reason, reason) == 0,
                  "%s: expected %s (%s) as delivery %" PRIu64 ", got %s (%s)", party,
                  it_event_name(payload), reason, d->seq, it_event_name(d->event->payload_case),
                  d->reason);
    ck_assert_int_eq(wz_listener_ack(l, d->seq), 0);
    return d;
}

/* it_expect for deliveries whose content the test does not look at. */
static inline void it_expect_drop(wz_listener_t *l, const char *party, int payload,
                                  const char *reason)
{
    WzDelivery *d = it_expect(l, party, payload, reason);
    WZ_FREE_UNPACKED(d);
}

/* Requires that nothing more is delivered to the party within ms. Only used
 * after a later event that the party would have received first has already
 * been seen elsewhere, so the short wait confirms an absence. */
static inline void it_expect_nothing(wz_listener_t *l, const char *party, int ms)
{
    WzDelivery *d = NULL;
    int rc = wz_listener_next(l, ms, &d);
    ck_assert_msg(rc == 0, "%s: expected no delivery, got %s (%s)", party,
                  d && d->event ? it_event_name(d->event->payload_case) : "?", d ? d->reason : "?");
}

/* --- Redis state ------------------------------------------------------------ */

static inline void it_key(it_t *it, char out[IT_KEY_MAX], const char *region, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static inline void it_key(it_t *it, char out[IT_KEY_MAX], const char *region, const char *fmt, ...)
{
    char suffix[IT_KEY_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(suffix, sizeof suffix, fmt, ap);
    va_end(ap);
    ck_assert_int_eq(wz_store_key(it->store, out, IT_KEY_MAX, region, "%s", suffix), 0);
}

/* The record at "<prefix>{region}:<kind>:<id>" unpacked, or NULL when absent. */
static inline ProtobufCMessage *it_load(it_t *it, const ProtobufCMessageDescriptor *desc,
                                        const char *region, const char *kind, const char *id)
{
    char key[IT_KEY_MAX];
    it_key(it, key, region, "%s:%s", kind, id);
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = wz_store_get_bytes(it->store, key, &data, &len);
    ck_assert_msg(rc >= 0, "redis: %s", wz_store_errstr(it->store));
    if (rc == 0)
        return NULL;
    ProtobufCMessage *m = wz_codec_unpack(desc, data, len);
    free(data);
    ck_assert_msg(m != NULL, "%s does not hold a %s", key, desc->name);
    return m;
}

/* Matching's view of a vacancy (state, current proposal). */
static inline WzVacancy *it_m_vacancy(it_t *it, const char *region, const char *id)
{
    return (WzVacancy *)it_load(it, &woonzorg__v1__vacancy__descriptor, region, "m:vacancy", id);
}

static inline WzCandidate *it_m_candidate(it_t *it, const char *region, const char *id)
{
    return (WzCandidate *)it_load(it, &woonzorg__v1__candidate__descriptor, region, "m:candidate",
                                  id);
}

static inline WzProposal *it_proposal(it_t *it, const char *region, const char *id)
{
    return (WzProposal *)it_load(it, &woonzorg__v1__proposal__descriptor, region, "proposal", id);
}

static inline bool it_exists(it_t *it, const char *region, const char *suffix)
{
    char key[IT_KEY_MAX];
    it_key(it, key, region, "%s", suffix);
    redisReply *r = wz_store_cmd(it->store, "EXISTS %s", key);
    ck_assert_msg(r != NULL, "redis: %s", wz_store_errstr(it->store));
    bool found = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
    freeReplyObject(r);
    return found;
}

/* The string at "<prefix>{region}:<suffix>" into out ("" when absent). */
static inline void it_get_str(it_t *it, const char *region, const char *suffix, char *out,
                              size_t outlen)
{
    char key[IT_KEY_MAX];
    it_key(it, key, region, "%s", suffix);
    redisReply *r = wz_store_cmd(it->store, "GET %s", key);
    ck_assert_msg(r != NULL, "redis: %s", wz_store_errstr(it->store));
    snprintf(out, outlen, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
}

/* XLEN / SCARD / ZCARD of a region key. */
static inline long long it_count(it_t *it, const char *cmd, const char *region, const char *suffix)
{
    char key[IT_KEY_MAX];
    it_key(it, key, region, "%s", suffix);
    redisReply *r = wz_store_cmd(it->store, "%s %s", cmd, key);
    ck_assert_msg(r != NULL, "redis: %s", wz_store_errstr(it->store));
    ck_assert_int_eq(r->type, REDIS_REPLY_INTEGER);
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

static inline long long it_stream_len(it_t *it, const char *region, const char *service)
{
    char suffix[64];
    snprintf(suffix, sizeof suffix, "stream:%s", service);
    return it_count(it, "XLEN", region, suffix);
}

/* Polls matching's view until the vacancy is in state (or fails the test). */
static inline void it_wait_vacancy_state(it_t *it, const char *region, const char *id, int state)
{
    int64_t deadline = wz_mono_ms() + IT_WAIT_MS;
    int last = -1;
    for (;;) {
        WzVacancy *v = it_m_vacancy(it, region, id);
        last = v ? (int)v->state : -1;
        WZ_FREE_UNPACKED(v);
        if (last == state)
            return;
        ck_assert_msg(wz_mono_ms() < deadline, "vacancy %s: expected state %d, still %d", id, state,
                      last);
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Polls matching's view until the candidate is in state (or fails the test). */
static inline void it_wait_candidate_state(it_t *it, const char *region, const char *id, int state)
{
    int64_t deadline = wz_mono_ms() + IT_WAIT_MS;
    int last = -1;
    for (;;) {
        WzCandidate *c = it_m_candidate(it, region, id);
        last = c ? (int)c->state : -1;
        WZ_FREE_UNPACKED(c);
        if (last == state)
            return;
        ck_assert_msg(wz_mono_ms() < deadline, "candidate %s: expected state %d, still %d", id,
                      state, last);
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Proposals of the region in state SENT or ACCEPTED for the candidate. */
static inline int it_open_proposals_of(it_t *it, const char *region, const char *candidate)
{
    char pattern[IT_KEY_MAX];
    it_key(it, pattern, region, "proposal:*");
    redisReply *keys = wz_store_cmd(it->store, "KEYS %s", pattern);
    ck_assert_ptr_nonnull(keys);
    int open = 0;
    for (size_t i = 0; i < keys->elements; i++) {
        uint8_t *data = NULL;
        size_t len = 0;
        ck_assert_int_eq(wz_store_get_bytes(it->store, keys->element[i]->str, &data, &len), 1);
        WzProposal *p = wz_proposal_unpack(data, len);
        free(data);
        ck_assert_ptr_nonnull(p);
        if (strcmp(p->candidate_id, candidate) == 0 &&
            (p->state == IT_PSTATE(SENT) || p->state == IT_PSTATE(ACCEPTED)))
            open++;
        WZ_FREE_UNPACKED(p);
    }
    freeReplyObject(keys);
    return open;
}

/* Waits until every one of the n event types appears in the region's audit
 * log, as read by municipality over the audit endpoint, in this order
 * (other events may come between). */
static inline void it_wait_audit_order(it_t *it, const char *municipality, const int *types,
                                       size_t n)
{
    wz_client_t *audit = it_audit_client(it, municipality);
    int64_t deadline = wz_mono_ms() + IT_WAIT_MS;
    size_t matched = 0;
    char seen[1024];
    for (;;) {
        WzReply *r = it_audit_tail(audit, 1000);
        ck_assert_msg(r->code == IT_CODE(OK), "audit tail refused: %s", r->message);
        ck_assert_int_eq(r->result_case, WOONZORG__V1__REPLY__RESULT_AUDIT);
        matched = 0;
        seen[0] = '\0';
        uint64_t prev_seq = 0;
        for (size_t i = 0; i < r->audit->n_entries; i++) {
            const WzAuditEntry *e = r->audit->entries[i];
            ck_assert_msg(e->seq > prev_seq, "audit entries out of sequence");
            prev_seq = e->seq;
            ck_assert_int_eq(e->hash.len, 32);
            ck_assert_int_eq(e->prev_hash.len, 32);
            if (i > 0)
                ck_assert_msg(memcmp(e->prev_hash.data, r->audit->entries[i - 1]->hash.data, 32) ==
                                  0,
                              "audit entry %" PRIu64 " does not link to its predecessor", e->seq);
            int t = e->event ? (int)e->event->payload_case : 0;
            size_t used = strlen(seen);
            snprintf(seen + used, sizeof seen - used, "%s%s", used ? " " : "", it_event_name(t));
            if (matched < n && t == types[matched])
                matched++;
        }
        WZ_FREE_UNPACKED(r);
        if (matched == n)
            break;
        ck_assert_msg(wz_mono_ms() < deadline,
                      "audit log lacks step %zu (%s) in order; it holds: %s", matched,
                      it_event_name(types[matched]), seen);
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    wz_client_destroy(&audit);
}

#endif
