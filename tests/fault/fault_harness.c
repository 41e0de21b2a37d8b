/* fault_harness.c - the delivery guarantees under faults (docs/guarantees.md).
 *
 * One executable, one fault per run (`fault_harness <fault>`, registered as
 * the CTest test fault.<fault>): a private redis-server with an append-only
 * file and the four real services on loopback; parties that register and
 * activate candidates, publish a steady stream of vacancies, answer the
 * proposals that reach their mailboxes and sign the leases; the fault is
 * injected while that runs. At the end everything is checked against what
 * must hold: every vacancy that got an OK reply is stored, matched, audited
 * and announced; every event took effect once (no duplicate events in any
 * stream, mailbox or audit chain); every mailbox reached its party
 * completely, in order and only its own; one open proposal per vacancy and
 * per candidate; every vacancy let, released, withdrawn or offered with a
 * live deadline. It prints one summary line and fails on any loss, duplicate
 * or broken invariant.
 *
 * WZ_FAULT_N overrides the number of vacancies (default 500). */
#include <check.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "wz_audit.h"
#include "wz_client.h"
#include "wz_dead.h"
#include "wz_codec.h"
#include "wz_mailbox.h"
#include "wz_policy.h"
#include "wz_shred.h"
#include "wz_store.h"
#include "wz_testenv.h"
#include "wz_util.h"

#define CODE(x) WOONZORG__V1__CODE__CODE_##x
#define VSTATE(x) WOONZORG__V1__VACANCY_STATE__VACANCY_STATE_##x
#define PSTATE(x) WOONZORG__V1__PROPOSAL_STATE__PROPOSAL_STATE_##x
#define EV(x) WOONZORG__V1__EVENT__PAYLOAD_##x
#define BODY(x) WOONZORG__V1__REQUEST__BODY_##x

#define N_DEFAULT 500
#define CALL_GIVE_UP_MS 90000 /* a request that gets no answer this long fails the test */
#define DRAIN_MS 90000        /* everything settles within this after the last vacancy */
#define FREEZE_MS 30000
#define KEY_MAX 256

static const char *const s_services[] = {"intake", "matching", "notification", "audit"};
static const char *const s_regions[] = {"zkij", "almere"};

/* A set of strings: a list (for iteration) and an open-addressing index. */
typedef struct {
    char **keys;
    size_t n, cap;
    size_t *slots; /* index + 1 into keys, 0 empty */
    size_t n_slots;
} h_set_t;

static size_t h_hash(const char *k)
{
    size_t x = 1469598103934665603ull;
    for (; *k; k++)
        x = (x ^ (unsigned char)*k) * 1099511628211ull;
    return x;
}

static size_t *h_slot(const h_set_t *s, const char *key)
{
    size_t i = h_hash(key) & (s->n_slots - 1);
    while (s->slots[i] && strcmp(s->keys[s->slots[i] - 1], key) != 0)
        i = (i + 1) & (s->n_slots - 1);
    return &s->slots[i];
}

static bool h_set_has(const h_set_t *s, const char *key)
{
    return s->n_slots && *h_slot(s, key) != 0;
}

static bool h_set_add(h_set_t *s, const char *key)
{
    if (h_set_has(s, key))
        return false;
    if (2 * (s->n + 1) > s->n_slots) {
        free(s->slots);
        s->n_slots = s->n_slots ? s->n_slots * 2 : 1024;
        s->slots = calloc(s->n_slots, sizeof *s->slots);
        ck_assert_ptr_nonnull(s->slots);
        for (size_t i = 0; i < s->n; i++)
            *h_slot(s, s->keys[i]) = i + 1;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->keys = realloc(s->keys, s->cap * sizeof *s->keys);
        ck_assert_ptr_nonnull(s->keys);
    }
    s->keys[s->n++] = strdup(key);
    *h_slot(s, key) = s->n;
    return true;
}

static void h_set_free(h_set_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->keys[i]);
    free(s->keys);
    free(s->slots);
    memset(s, 0, sizeof *s);
}

/* --- the parties ----------------------------------------------------------- */

enum { P_PRE, P_YMERE, P_ALLIANTIE, P_KAM, P_DOCK, P_LDH, P_HAARLEM, P_ALMERE, N_PARTIES };
static const char *const s_party[N_PARTIES] = {"pre-wonen", "ymere",      "de-alliantie",
                                               "ribw-kam",  "dock",       "leger-des-heils",
                                               "gem-haarlem", "gem-almere"};

typedef struct {
    char id[40];      /* event id */
    uint64_t seq;
} h_seen_t;

typedef struct {
    wz_client_t *client, *twin; /* twin: a second connection with the same key */
    wz_listener_t *listener;
    bool offline;               /* not listening (fault offline-party) */
    uint64_t last_seq;
    uint64_t received;
    h_seen_t *seen;
    size_t n_seen, cap_seen;
} h_party_t;

typedef struct {
    char id[24];
    int region;
    int corp;       /* party index */
    bool ok;        /* got an OK reply */
} h_vacancy_t;

typedef struct {
    char vacancy[24];
    int corp;
    int tries;
    int64_t next_ms;
} h_sign_t;

typedef struct {
    const char *fault;
    int n;
    unsigned seed;
    wz_testenv_t *env;
    const wz_settings_t *settings;
    wz_store_t *store;
    wz_policy_t *policy;
    wz_shred_t *shred; /* opens sealed audit entries; made once the audit service made its key */
    void *ctx;
    h_party_t parties[N_PARTIES];
    h_vacancy_t *vacancies;
    int published;          /* vacancies with an OK reply */
    int n_candidates;
    h_sign_t *signs;
    size_t n_signs, cap_signs;
    uint64_t requests, duplicates_sent;
    int64_t started_ms;
    /* fault state */
    int step;
    int64_t fault_at_ms;
    bool frozen;
    bool redis_down;
    int poison_injected;
    uint64_t poison_seq;
    char note[512];         /* failures found while running */
    h_set_t announced;      /* vacancies whose VacancyPublished reached the municipality */
    h_set_t proposed;       /* proposals that reached their care provider */
} h_t;

static void h_tick(h_t *h);

static void h_sleep(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int h_progress_pct(const h_t *h)
{
    return (int)(100L * h->published / h->n);
}

static void h_log(const h_t *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void h_log(const h_t *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[fault %s +%.1fs] ", h->fault, (double)(wz_mono_ms() - h->started_ms) / 1000);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* --- requests ---------------------------------------------------------------- */

typedef struct {
    wz_client_t *client;
    WzRequest *req;
    WzReply *reply;
    int rc;
} h_call_t;

static void *h_call_thread(void *arg)
{
    h_call_t *c = arg;
    c->rc = wz_client_call(c->client, c->req, 15000, 1000, &c->reply);
    return NULL;
}

/* Sends req until it gets an answer other than UNAVAILABLE (the same
 * request_id every time: that is what idempotency is for), letting the fault
 * go on meanwhile. In the duplicate-requests fault every request goes twice,
 * and every seventh from two connections at once; all answers must agree. */
static WzReply *h_call(h_t *h, int party, WzRequest *req)
{
    int64_t give_up = wz_mono_ms() + CALL_GIVE_UP_MS;
    bool dup = strcmp(h->fault, "duplicate-requests") == 0;
    h->requests++;
    for (;;) {
        h_tick(h);
        WzReply *r = NULL;
        WzReply *twin_reply = NULL;
        if (dup && h->requests % 7 == 0) {
            h_call_t a = {h->parties[party].client, req, NULL, -1};
            h_call_t b = {h->parties[party].twin, req, NULL, -1};
            pthread_t ta, tb;
            ck_assert_int_eq(pthread_create(&ta, NULL, h_call_thread, &a), 0);
            ck_assert_int_eq(pthread_create(&tb, NULL, h_call_thread, &b), 0);
            pthread_join(ta, NULL);
            pthread_join(tb, NULL);
            r = a.rc == 0 ? a.reply : NULL;
            twin_reply = b.rc == 0 ? b.reply : NULL;
            if (!r) {
                r = twin_reply;
                twin_reply = NULL;
            }
            h->duplicates_sent++;
        } else if (wz_client_call(h->parties[party].client, req, 15000, 1000, &r) != 0) {
            r = NULL;
        }
        if (r && r->code != CODE(UNAVAILABLE)) {
            if (twin_reply && twin_reply->code != CODE(UNAVAILABLE)) {
                ck_assert_msg(twin_reply->code == r->code && strcmp(twin_reply->id, r->id) == 0 &&
                                  strcmp(twin_reply->message, r->message) == 0,
                              "request %s from two connections got different replies: %s / %s",
                              req->request_id, r->message, twin_reply->message);
            }
            WZ_FREE_UNPACKED(twin_reply);
            if (dup) {
                WzReply *again = NULL;
                ck_assert_msg(wz_client_call(h->parties[party].client, req, 15000, 1000, &again) ==
                                  0,
                              "no reply to the repeated request %s", req->request_id);
                ck_assert_msg(again->code == r->code && strcmp(again->id, r->id) == 0 &&
                                  strcmp(again->message, r->message) == 0,
                              "request %s sent again got another reply: '%s' then '%s'",
                              req->request_id, r->message, again->message);
                WZ_FREE_UNPACKED(again);
                h->duplicates_sent++;
            }
            return r;
        }
        WZ_FREE_UNPACKED(r);
        WZ_FREE_UNPACKED(twin_reply);
        ck_assert_msg(wz_mono_ms() < give_up, "request %s: no answer for %d s", req->request_id,
                      CALL_GIVE_UP_MS / 1000);
        h_sleep(100);
    }
}

static void h_register(h_t *h, int care, const char *id, const char *municipality)
{
    WzHousehold hh = WOONZORG__V1__HOUSEHOLD__INIT;
    hh.adults = 1;
    WzCandidate c = WOONZORG__V1__CANDIDATE__INIT;
    c.id = (char *)id;
    c.municipality = (char *)municipality;
    c.group = "beschermd_wonen";
    c.household = &hh;
    c.age_band = WOONZORG__V1__AGE_BAND__AGE_BAND_ADULT;
    c.income_class = WOONZORG__V1__INCOME_CLASS__INCOME_CLASS_BELOW_LIMIT;
    c.consent = true;
    char rid[64];
    snprintf(rid, sizeof rid, "reg-%s", id);
    WzRequest req = WOONZORG__V1__REQUEST__INIT;
    req.request_id = rid;
    req.body_case = BODY(REGISTER_CANDIDATE);
    req.register_candidate = &c;
    WzReply *r = h_call(h, care, &req);
    ck_assert_msg(r->code == CODE(OK), "register %s: %s", id, r->message);
    WZ_FREE_UNPACKED(r);
}

static void h_grant(h_t *h, int municipality, const char *candidate, int day)
{
    WzDate d = WOONZORG__V1__DATE__INIT;
    d.year = 2025;
    d.month = 1 + day / 28 % 12;
    d.day = 1 + day % 28;
    Woonzorg__V1__GrantUrgency g = WOONZORG__V1__GRANT_URGENCY__INIT;
    g.candidate_id = (char *)candidate;
    g.date = &d;
    char rid[64];
    snprintf(rid, sizeof rid, "grant-%s", candidate);
    WzRequest req = WOONZORG__V1__REQUEST__INIT;
    req.request_id = rid;
    req.body_case = BODY(GRANT_URGENCY);
    req.grant_urgency = &g;
    WzReply *r = h_call(h, municipality, &req);
    ck_assert_msg(r->code == CODE(OK), "grant %s: %s", candidate, r->message);
    WZ_FREE_UNPACKED(r);
}

static void h_publish(h_t *h, h_vacancy_t *v)
{
    WzDate from = WOONZORG__V1__DATE__INIT;
    from.year = 2026;
    from.month = 1;
    from.day = 1;
    WzVacancy m = WOONZORG__V1__VACANCY__INIT;
    m.id = v->id;
    m.municipality = v->region == 0 ? "haarlem" : "almere";
    m.neighbourhood = v->region == 0 ? "BU03920101" : "BU00340205";
    char complex[32], address[48];
    snprintf(complex, sizeof complex, "complex-%s", v->id);
    snprintf(address, sizeof address, "Teststraat %s", v->id);
    m.complex = complex;
    m.address = address;
    m.rooms = 2;
    m.floor_area_m2 = 48;
    m.rent_cents = 61250;
    m.access = WOONZORG__V1__ACCESS__ACCESS_GROUND_FLOOR | WOONZORG__V1__ACCESS__ACCESS_NO_STEPS;
    m.available_from = &from;
    char rid[64];
    snprintf(rid, sizeof rid, "pub-%s", v->id);
    WzRequest req = WOONZORG__V1__REQUEST__INIT;
    req.request_id = rid;
    req.body_case = BODY(PUBLISH_VACANCY);
    req.publish_vacancy = &m;
    WzReply *r = h_call(h, v->corp, &req);
    ck_assert_msg(r->code == CODE(OK), "publish %s: %s", v->id, r->message);
    WZ_FREE_UNPACKED(r);
    v->ok = true;
    h->published++;
}

static bool h_decline(const char *proposal)
{
    unsigned x = 2166136261u;
    for (const char *p = proposal; *p; p++)
        x = (x ^ (unsigned char)*p) * 16777619u;
    return x % 5 == 0;
}

static void h_answer(h_t *h, int care, const WzProposal *p)
{
    Woonzorg__V1__Answer a = WOONZORG__V1__ANSWER__INIT;
    a.proposal_id = p->id;
    a.accept = !h_decline(p->id);
    a.reason = a.accept ? "" : "dwelling_unsuitable";
    char rid[96];
    snprintf(rid, sizeof rid, "ans-%s", p->id);
    for (char *c = rid; *c; c++)
        if (*c == '/')
            *c = '.';
    WzRequest req = WOONZORG__V1__REQUEST__INIT;
    req.request_id = rid;
    req.body_case = BODY(ANSWER);
    req.answer = &a;
    WzReply *r = h_call(h, care, &req);
    /* CONFLICT: cancelled or expired meanwhile, which the checks see. */
    ck_assert_msg(r->code == CODE(OK) || r->code == CODE(CONFLICT), "answer %s: %s", p->id,
                  r->message);
    WZ_FREE_UNPACKED(r);
}

static void h_queue_sign(h_t *h, const char *vacancy, int corp)
{
    if (h->n_signs == h->cap_signs) {
        h->cap_signs = h->cap_signs ? h->cap_signs * 2 : 64;
        h->signs = realloc(h->signs, h->cap_signs * sizeof *h->signs);
        ck_assert_ptr_nonnull(h->signs);
    }
    h_sign_t *s = &h->signs[h->n_signs++];
    memset(s, 0, sizeof *s);
    snprintf(s->vacancy, sizeof s->vacancy, "%s", vacancy);
    s->corp = corp;
}

/* Signs the leases whose acceptance matching has recorded; a lease refused
 * as "not accepted" yet is tried again a little later under a new request_id
 * (a refusal is the stored answer of its request_id). */
static void h_signs(h_t *h)
{
    for (size_t i = 0; i < h->n_signs;) {
        h_sign_t *s = &h->signs[i];
        if (wz_mono_ms() < s->next_ms) {
            i++;
            continue;
        }
        Woonzorg__V1__SignLease sl = WOONZORG__V1__SIGN_LEASE__INIT;
        sl.vacancy_id = s->vacancy;
        sl.contract = WOONZORG__V1__CONTRACT_TYPE__CONTRACT_TYPE_THREE_PARTY;
        char rid[64];
        snprintf(rid, sizeof rid, "sign-%s-%d", s->vacancy, s->tries);
        WzRequest req = WOONZORG__V1__REQUEST__INIT;
        req.request_id = rid;
        req.body_case = BODY(SIGN_LEASE);
        req.sign_lease = &sl;
        WzReply *r = h_call(h, s->corp, &req);
        bool done = r->code == CODE(OK) || (r->code == CODE(CONFLICT) &&
                                            strstr(r->message, "already signed") != NULL);
        bool later = r->code == CODE(CONFLICT) && strstr(r->message, "not accepted") != NULL;
        ck_assert_msg(done || later, "sign %s: %s", s->vacancy, r->message);
        WZ_FREE_UNPACKED(r);
        if (done) {
            h->signs[i] = h->signs[--h->n_signs];
            continue;
        }
        s->tries++;
        s->next_ms = wz_mono_ms() + 200;
        i++;
    }
}

/* --- mailboxes ------------------------------------------------------------------ */

static void h_open_listener(h_t *h, int i)
{
    wz_keypair_t kp;
    char server[41], err[256];
    ck_assert_msg(wz_client_keys(h->settings, s_party[i], "notification", &kp, server, err,
                                 sizeof err) == 0,
                  "%s", err);
    h->parties[i].listener =
        wz_listener_new(h->ctx, h->settings->notification.endpoint, server, &kp, 0);
    ck_assert_ptr_nonnull(h->parties[i].listener);
}

static void h_remember(h_party_t *p, const char *event_id, uint64_t seq)
{
    if (p->n_seen == p->cap_seen) {
        p->cap_seen = p->cap_seen ? p->cap_seen * 2 : 256;
        p->seen = realloc(p->seen, p->cap_seen * sizeof *p->seen);
        ck_assert_ptr_nonnull(p->seen);
    }
    h_seen_t *s = &p->seen[p->n_seen++];
    snprintf(s->id, sizeof s->id, "%s", event_id);
    s->seq = seq;
}

/* One delivery: must be the next in sequence and meant for this party; the
 * care provider answers proposals, the corporation signs accepted ones. */
static void h_on_delivery(h_t *h, int i, WzDelivery *d)
{
    h_party_t *p = &h->parties[i];
    ck_assert_msg(d->seq == p->last_seq + 1,
                  "%s received mailbox entry %" PRIu64 " after %" PRIu64 " (out of order or lost)",
                  s_party[i], d->seq, p->last_seq);
    p->last_seq = d->seq;
    p->received++;
    ck_assert_msg(d->event != NULL, "%s: delivery %" PRIu64 " without an event", s_party[i],
                  d->seq);
    wz_recipient_t to[WZ_MAILBOX_MAX_RECIPIENTS];
    size_t n = wz_mailbox_recipients(h->policy, NULL, d->event, to, WZ_MAILBOX_MAX_RECIPIENTS);
    bool mine = false;
    for (size_t k = 0; k < n; k++)
        mine |= strcmp(to[k].party->id, s_party[i]) == 0;
    ck_assert_msg(mine, "%s received %s, which is not meant for it", s_party[i], d->event->id);
    h_remember(p, d->event->id, d->seq);
    const WzEvent *ev = d->event;
    if (ev->payload_case == EV(VACANCY_PUBLISHED) && (i == P_HAARLEM || i == P_ALMERE))
        h_set_add(&h->announced, ev->vacancy_published->vacancy->id);
    /* Causal order: the municipality hears of a vacancy before of what came of it. */
    const char *about = ev->payload_case == EV(VACANCY_RELEASED) ? ev->vacancy_released->vacancy->id
                        : ev->payload_case == EV(PROPOSAL_CREATED)
                            ? ev->proposal_created->proposal->vacancy_id
                            : NULL;
    if (about && (i == P_HAARLEM || i == P_ALMERE) && !h_set_has(&h->announced, about)) {
        size_t used = strlen(h->note);
        snprintf(h->note + used, sizeof h->note - used,
                 "%s heard of %s (%s) before its publication; ", s_party[i], about, d->reason);
    }
    if (ev->payload_case == EV(PROPOSAL_CREATED) && strcmp(d->reason, "proposal") == 0) {
        h_set_add(&h->proposed, ev->proposal_created->proposal->id);
        const WzProposal *pr = ev->proposal_created->proposal;
        ck_assert_str_eq(pr->care_provider, s_party[i]);
        h_answer(h, i, pr);
    } else if (ev->payload_case == EV(PROPOSAL_ANSWERED) && ev->proposal_answered->accepted &&
               strcmp(ev->proposal_answered->proposal->corporation, s_party[i]) == 0) {
        h_queue_sign(h, ev->proposal_answered->proposal->vacancy_id, i);
    }
}

/* Takes what the online mailboxes hold now and acknowledges it after acting
 * on it (so a crash between the two means a resend, never a loss). */
static void h_pump(h_t *h, int wait_ms)
{
    for (int i = 0; i < N_PARTIES; i++) {
        h_party_t *p = &h->parties[i];
        if (p->offline)
            continue;
        uint64_t before = p->last_seq;
        for (int budget = 64; budget > 0; budget--) {
            WzDelivery *d = NULL;
            int rc = wz_listener_next(p->listener, i == 0 ? wait_ms : 0, &d);
            ck_assert_int_ge(rc, 0);
            if (rc == 0)
                break;
            h_on_delivery(h, i, d);
            WZ_FREE_UNPACKED(d);
        }
        if (p->last_seq > before)
            wz_listener_ack(p->listener, p->last_seq);
    }
    h_signs(h);
}

/* --- faults --------------------------------------------------------------------- */

static void h_kill(h_t *h, const char *svc, int sig)
{
    h_log(h, "%s wz-%s", sig == SIGKILL ? "kill -9" : "SIGTERM", svc);
    int64_t start = wz_mono_ms();
    int status = wz_testenv_stop_service(h->env, svc, sig);
    int64_t took = wz_mono_ms() - start;
    size_t used = strlen(h->note);
    if (sig == SIGTERM && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        snprintf(h->note + used, sizeof h->note - used,
                 "wz-%s did not exit 0 on SIGTERM (status %d); ", svc, status);
    /* The grace period, plus what the sanitizers need at exit. */
    else if (sig == SIGTERM && took > h->settings->drain_ms + 3000)
        snprintf(h->note + used, sizeof h->note - used,
                 "wz-%s took %lld ms to exit on SIGTERM (grace %d ms); ", svc, (long long)took,
                 h->settings->drain_ms);
    if (sig == SIGTERM)
        h_log(h, "wz-%s exited after %lld ms", svc, (long long)took);
}

static void h_restart(h_t *h, const char *svc)
{
    h_log(h, "restart wz-%s", svc);
    wz_testenv_start_service(h->env, svc);
}

static int h_jitter(h_t *h, int span)
{
    return (int)(rand_r(&h->seed) % (unsigned)span);
}

static void h_inject_poison(h_t *h)
{
    /* Intake is stopped: nobody else writes its stream, so the poison takes
     * the next sequence like any event would. One entry that is no Event at
     * all, one that is an Event about nothing. */
    char key[KEY_MAX];
    ck_assert_int_eq(wz_store_key(h->store, key, sizeof key, "zkij", "stream:intake"), 0);
    redisReply *r = wz_store_cmd(h->store, "XREVRANGE %s + - COUNT 1", key);
    ck_assert_ptr_nonnull(r);
    uint64_t last = r->elements ? strtoull(r->element[0]->element[0]->str, NULL, 10) : 0;
    freeReplyObject(r);
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0x0f, 0x12, 0x34};
    r = wz_store_cmd(h->store, "XADD %s %llu-0 e %b", key, (unsigned long long)(last + 1), garbage,
                     sizeof garbage);
    ck_assert_msg(r != NULL, "poison XADD: %s", wz_store_errstr(h->store));
    freeReplyObject(r);
    h->poison_injected++;
    h->poison_seq = last + 1;
    h_log(h, "poison injected at %s %llu", key, (unsigned long long)(last + 1));
}

/* Called often (between requests and while draining): moves the fault on. */
static void h_tick(h_t *h)
{
    int pct = h_progress_pct(h);
    int64_t now = wz_mono_ms();
    const char *f = h->fault;
    if (strncmp(f, "kill-", 5) == 0 && strcmp(f, "kill-redis") != 0) {
        /* Each named service (or all four in turn) killed twice at random moments. */
        bool all = strcmp(f, "kill-all") == 0;
        int kills = all ? 8 : 2;
        if (h->step >= kills)
            return;
        if (!h->fault_at_ms)
            h->fault_at_ms = 10 + h_jitter(h, 10);
        if (pct < h->fault_at_ms)
            return;
        const char *svc = all ? s_services[h->step % 4] : f + 5;
        h_kill(h, svc, SIGKILL);
        h_sleep(200 + h_jitter(h, 800));
        h_restart(h, svc);
        h->step++;
        h->fault_at_ms = (h->step + 1) * 80 / (kills + 1) + h_jitter(h, 8);
    } else if (strcmp(f, "kill-redis") == 0) {
        if (h->step == 0 && pct >= 30 + (int)(h->seed % 10)) {
            h_log(h, "kill -9 redis-server");
            wz_testenv_kill_redis(h->env);
            h_sleep(1000);
            h_log(h, "restart redis-server from its append-only file");
            wz_testenv_start_redis(h->env);
            h->step = 1;
        } else if (h->step == 1 && pct >= 70) {
            h_log(h, "kill -9 redis-server again");
            wz_testenv_kill_redis(h->env);
            h_sleep(500);
            wz_testenv_start_redis(h->env);
            h->step = 2;
        }
    } else if (strcmp(f, "sigterm-all") == 0) {
        if (h->step == 0 && pct >= 45) {
            for (int i = 0; i < 4; i++)
                h_kill(h, s_services[i], SIGTERM);
            h_sleep(300);
            for (int i = 0; i < 4; i++)
                h_restart(h, s_services[i]);
            h->step = 1;
        }
    } else if (strcmp(f, "redis-late") == 0) {
        if (h->redis_down && now >= h->fault_at_ms) {
            h_log(h, "start redis-server (5 s after the services)");
            wz_testenv_start_redis(h->env);
            h->redis_down = false;
        }
    } else if (strcmp(f, "freeze-matching") == 0) {
        pid_t pid = wz_testenv_pid(h->env, "matching");
        if (h->step == 0 && pct >= 20) {
            h_log(h, "SIGSTOP wz-matching for %d s", FREEZE_MS / 1000);
            kill(pid, SIGSTOP);
            h->fault_at_ms = now + FREEZE_MS;
            h->step = 1;
        } else if (h->step == 1 && now >= h->fault_at_ms) {
            h_log(h, "SIGCONT wz-matching");
            kill(pid, SIGCONT);
            h->step = 2;
        }
    } else if (strcmp(f, "tiny-hwm") == 0) {
        /* With a high-water mark of 1 and small socket buffers, a consumer
         * that falls behind for a moment makes its producers drop. Freeze
         * the consumers in turn for 300 ms every 4 % of the run. */
        static const char *const consumers[] = {"matching", "notification", "audit"};
        const char *svc = consumers[h->step % 3];
        if (!h->frozen && pct >= 4 * (h->step + 1) && pct < 96) {
            kill(wz_testenv_pid(h->env, svc), SIGSTOP);
            h->frozen = true;
            h->fault_at_ms = now + 300;
        } else if (h->frozen && now >= h->fault_at_ms) {
            kill(wz_testenv_pid(h->env, svc), SIGCONT);
            h->frozen = false;
            h->step++;
        }
    } else if (strcmp(f, "poison") == 0) {
        if (h->step == 0 && pct >= 50) {
            h_kill(h, "intake", SIGTERM);
            h_inject_poison(h);
            h_restart(h, "intake");
            h->step = 1;
        }
    }
}

/* --- the run ---------------------------------------------------------------------- */

/* The test policy's yearly caps and spread limits are sized for the
 * lifecycle tests; a run of hundreds of vacancies in one neighbourhood needs
 * them wider, or most vacancies would just be released. */
static void h_widen_policy(h_t *h)
{
    char path[600];
    snprintf(path, sizeof path, "%s/config/policy.yaml", wz_testenv_dir(h->env));
    char *text = wz_read_file(path, NULL);
    ck_assert_ptr_nonnull(text);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    for (const char *p = text; *p;) {
        const char *caps = strstr(p, "dwellings: ");
        const char *spread = strstr(p, "per_neighbourhood: ");
        const char *hit = caps && (!spread || caps < spread) ? caps : spread;
        if (!hit) {
            fputs(p, f);
            break;
        }
        const char *num = strchr(hit, ' ') + 1;
        fwrite(p, 1, (size_t)(num - p), f);
        fputs("100000", f);
        p = num + strspn(num, "0123456789");
    }
    fclose(f);
    free(text);
}

static void h_open(h_t *h)
{
    bool late = strcmp(h->fault, "redis-late") == 0;
    /* Outboxes are trimmed all the time, so every fault also tests that
     * trimming never takes what a consumer still needs. */
    setenv("WZ_TRIM_INTERVAL_MS", "300", 1);
    if (strcmp(h->fault, "tiny-hwm") == 0) {
        setenv("WZ_PUBSUB_HWM", "1", 1);
        setenv("WZ_PUBSUB_BUFFER", "2048", 1);
    }
    h->env = wz_testenv_new_opts(false, 600, true);
    wz_testenv_write_config(h->env, 600);
    h_widen_policy(h);
    if (late) {
        wz_testenv_kill_redis(h->env);
        h->redis_down = true;
        h->fault_at_ms = wz_mono_ms() + 5000;
    }
    for (int i = 0; i < 4; i++)
        wz_testenv_start_service(h->env, s_services[i]);
    if (late)
        h_log(h, "services started without redis-server");
    h->settings = wz_testenv_settings(h->env);
    h->store = wz_testenv_store(h->env);
    char err[512];
    h->policy = wz_policy_load(h->settings->policy_path, NULL, false, err, sizeof err);
    ck_assert_msg(h->policy != NULL, "%s", err);
    h->ctx = zmq_ctx_new();
    ck_assert_ptr_nonnull(h->ctx);
    for (int i = 0; i < N_PARTIES; i++) {
        wz_keypair_t kp;
        char server[41];
        ck_assert_msg(
            wz_client_keys(h->settings, s_party[i], "intake", &kp, server, err, sizeof err) == 0,
            "%s", err);
        h->parties[i].client = wz_client_new(h->ctx, h->settings->intake.endpoint, server, &kp);
        h->parties[i].twin = wz_client_new(h->ctx, h->settings->intake.endpoint, server, &kp);
        ck_assert(h->parties[i].client && h->parties[i].twin);
        h->parties[i].offline = strcmp(h->fault, "offline-party") == 0 && i == P_DOCK;
        if (!h->parties[i].offline)
            h_open_listener(h, i);
    }
}

static void h_workload(h_t *h)
{
    /* Candidates: 20 % more than vacancies, 70 % in zkij (two care
     * providers), 30 % in almere; all active before the vacancies come. */
    h->n_candidates = h->n + h->n / 5;
    for (int k = 0; k < h->n_candidates; k++) {
        char id[24];
        snprintf(id, sizeof id, "c-%04d", k);
        bool zkij = k % 10 < 7;
        int care = zkij ? (k % 2 ? P_DOCK : P_KAM) : P_LDH;
        h_register(h, care, id, zkij ? "haarlem" : "almere");
        h_grant(h, zkij ? P_HAARLEM : P_ALMERE, id, k);
        if (k % 16 == 0)
            h_pump(h, 0);
    }
    h_log(h, "%d candidates active", h->n_candidates);
    h->vacancies = calloc((size_t)h->n, sizeof *h->vacancies);
    ck_assert_ptr_nonnull(h->vacancies);
    for (int k = 0; k < h->n; k++) {
        h_vacancy_t *v = &h->vacancies[k];
        snprintf(v->id, sizeof v->id, "v-%04d", k);
        v->region = k % 10 < 7 ? 0 : 1;
        v->corp = v->region == 1 ? P_ALLIANTIE : (k % 2 ? P_YMERE : P_PRE);
        h_publish(h, v);
        h_pump(h, 0);
    }
    h_log(h, "%d vacancies published", h->published);
}

/* --- reading the outcome back ------------------------------------------------------- */

typedef struct {
    uint64_t lost, duplicates, proposals, deliveries, events, dead, trimmed;
    char first_problem[512];
} h_result_t;

static void h_problem(h_result_t *res, uint64_t *counter, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void h_problem(h_result_t *res, uint64_t *counter, const char *fmt, ...)
{
    (*counter)++;
    va_list ap;
    va_start(ap, fmt);
    char line[400];
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (*counter <= 5)
        fprintf(stderr, "  problem: %s\n", line);
    if (!res->first_problem[0])
        snprintf(res->first_problem, sizeof res->first_problem, "%s", line);
}

static uint64_t h_last_id(h_t *h, const char *key)
{
    redisReply *r = wz_store_cmd(h->store, "XREVRANGE %s + - COUNT 1", key);
    ck_assert_msg(r != NULL, "redis: %s", wz_store_errstr(h->store));
    uint64_t last = r->elements ? strtoull(r->element[0]->element[0]->str, NULL, 10) : 0;
    freeReplyObject(r);
    return last;
}

static uint64_t h_get_u64(h_t *h, const char *key)
{
    uint64_t v = 0;
    ck_assert_int_ge(wz_store_get_u64(h->store, key, &v), 0);
    return v;
}

/* The (sequence, event) pairs of a stream, decoded. */
typedef void (*h_entry_fn)(h_t *h, void *arg, uint64_t seq, const WzEvent *ev, const char *raw,
                           size_t raw_len);
static void h_each_entry_in(h_t *h, const char *key, const char *field, wz_shred_t *shred,
                            const char *region, h_entry_fn fn, void *arg);

/* Reads the entries of key; those of an audit chain (shred set, region
 * given) through wz_shred_read, as every reader of the chain must: a sealed
 * entry is opened with its candidate's key, and one that cannot be opened
 * (its key erased) is handed on as unreadable (ev NULL). */
static void h_each_entry(h_t *h, const char *key, const char *field, h_entry_fn fn, void *arg)
{
    h_each_entry_in(h, key, field, NULL, NULL, fn, arg);
}

static void h_each_entry_in(h_t *h, const char *key, const char *field, wz_shred_t *shred,
                            const char *region, h_entry_fn fn, void *arg)
{
    uint64_t from = 0;
    for (;;) {
        redisReply *r =
            wz_store_cmd(h->store, "XRANGE %s (%llu-0 + COUNT 500", key, (unsigned long long)from);
        ck_assert_msg(r != NULL, "redis: %s", wz_store_errstr(h->store));
        for (size_t i = 0; i < r->elements; i++) {
            redisReply *e = r->element[i];
            from = strtoull(e->element[0]->str, NULL, 10);
            const char *data = NULL;
            size_t len = 0;
            for (size_t j = 0; j + 1 < e->element[1]->elements; j += 2)
                if (strcmp(e->element[1]->element[j]->str, field) == 0) {
                    data = e->element[1]->element[j + 1]->str;
                    len = e->element[1]->element[j + 1]->len;
                }
            WzEvent *ev = NULL;
            if (data && shred) {
                uint8_t *plain = NULL;
                size_t plain_len = 0;
                int got = wz_shred_read(shred, h->store, region, (const uint8_t *)data, len, &plain,
                                        &plain_len);
                ck_assert_msg(got >= 0, "redis: %s", wz_store_errstr(h->store));
                if (got == 0)
                    ev = wz_event_unpack(plain, plain_len);
                free(plain);
            } else if (data) {
                ev = wz_event_unpack((const uint8_t *)data, len);
            }
            fn(h, arg, from, ev, data, len);
            WZ_FREE_UNPACKED(ev);
        }
        size_t n = r->elements;
        freeReplyObject(r);
        if (n < 500)
            return;
    }
}

typedef struct {
    h_result_t *res;
    h_set_t ids;      /* event ids of every stream event */
    h_set_t effects;  /* "<type>:<subject>" of every event that must happen once */
    h_set_t vacancies_published;
    h_set_t proposals_created;
    h_set_t expected;  /* "<party> <event id>" for every mailbox entry an event must make */
    h_set_t chained;   /* event ids in the audit chains */
    const char *stream;
} h_scan_t;

static void h_on_stream_entry(h_t *h, void *arg, uint64_t seq, const WzEvent *ev, const char *raw,
                              size_t raw_len)
{
    (void)raw;
    (void)raw_len;
    h_scan_t *s = arg;
    (void)seq;
    s->res->events++;
    h_set_add(&s->ids, ev->id);
    wz_recipient_t to[WZ_MAILBOX_MAX_RECIPIENTS];
    size_t n_to = wz_mailbox_recipients(h->policy, NULL, ev, to, WZ_MAILBOX_MAX_RECIPIENTS);
    for (size_t k = 0; k < n_to; k++) {
        char pair[160];
        snprintf(pair, sizeof pair, "%s %s", to[k].party->id, ev->id);
        h_set_add(&s->expected, pair);
    }
    char effect[160] = "";
    switch (ev->payload_case) {
    case EV(VACANCY_PUBLISHED):
        snprintf(effect, sizeof effect, "published:%s", ev->vacancy_published->vacancy->id);
        h_set_add(&s->vacancies_published, ev->vacancy_published->vacancy->id);
        break;
    case EV(CANDIDATE_REGISTERED):
        snprintf(effect, sizeof effect, "registered:%s", ev->candidate_registered->candidate->id);
        break;
    case EV(URGENCY_GRANTED):
        snprintf(effect, sizeof effect, "urgency:%s", ev->urgency_granted->candidate_id);
        break;
    case EV(PROPOSAL_ANSWERED):
        snprintf(effect, sizeof effect, "answered:%s", ev->proposal_answered->proposal->id);
        break;
    case EV(LEASE_SIGNED):
        snprintf(effect, sizeof effect, "signed:%s", ev->lease_signed->vacancy_id);
        break;
    case EV(PROPOSAL_CREATED):
        snprintf(effect, sizeof effect, "proposal:%s", ev->proposal_created->proposal->id);
        h_set_add(&s->proposals_created, ev->proposal_created->proposal->id);
        s->res->proposals++;
        break;
    case EV(PROPOSAL_EXPIRED):
        snprintf(effect, sizeof effect, "expired:%s", ev->proposal_expired->proposal->id);
        break;
    case EV(VACANCY_RELEASED):
        snprintf(effect, sizeof effect, "released:%s", ev->vacancy_released->vacancy->id);
        break;
    case EV(VACANCY_LET):
        snprintf(effect, sizeof effect, "let:%s", ev->vacancy_let->vacancy->id);
        break;
    default:
        break;
    }
    if (effect[0] && !h_set_add(&s->effects, effect))
        h_problem(s->res, &s->res->duplicates, "%s holds %s twice (event %s)", s->stream, effect,
                  ev->id);
}

/* An audit entry: each event chained once, and its effects counted. */
static void h_on_chain_entry(h_t *h, void *arg, uint64_t seq, const WzEvent *ev, const char *raw,
                             size_t raw_len)
{
    h_scan_t *s = arg;
    if (!ev || !ev->id) {
        h_problem(s->res, &s->res->lost, "audit entry %" PRIu64 " unreadable", seq);
        return;
    }
    if (!h_set_add(&s->chained, ev->id)) {
        h_problem(s->res, &s->res->duplicates, "audit chains %s twice", ev->id);
        return;
    }
    h_on_stream_entry(h, arg, seq, ev, raw, raw_len);
}

/* What is left of an outbox stream: every event in it is in the audit chain. */
static void h_on_outbox_entry(h_t *h, void *arg, uint64_t seq, const WzEvent *ev, const char *raw,
                              size_t raw_len)
{
    (void)raw;
    (void)raw_len;
    h_scan_t *s = arg;
    if (!ev) {
        /* Only the poison fault writes unreadable entries. */
        if (!h->poison_injected)
            h_problem(s->res, &s->res->lost, "%s entry %" PRIu64 " unreadable", s->stream, seq);
        return;
    }
    if (!h_set_has(&s->chained, ev->id))
        h_problem(s->res, &s->res->lost, "event %s not in the audit chain", ev->id);
}

/* Everything is through: every consumer at the end of every stream, every
 * online mailbox read to its end, no lease left to sign, every vacancy done. */
static bool h_settled(h_t *h, char *why, size_t whylen)
{
    static const char *const edges[][2] = {{"matching", "intake"},     {"notification", "intake"},
                                           {"notification", "matching"}, {"audit", "intake"},
                                           {"audit", "matching"},        {"audit", "notification"}};
    char key[KEY_MAX];
    for (int r = 0; r < 2; r++)
        for (size_t e = 0; e < sizeof edges / sizeof edges[0]; e++) {
            wz_store_key(h->store, key, sizeof key, s_regions[r], "stream:%s", edges[e][1]);
            uint64_t last = h_last_id(h, key);
            wz_store_key(h->store, key, sizeof key, s_regions[r], "cursor:%s:%s", edges[e][0],
                         edges[e][1]);
            uint64_t cursor = h_get_u64(h, key);
            if (cursor < last) {
                snprintf(why, whylen, "%s is at %" PRIu64 " of %s/%s's %" PRIu64, edges[e][0],
                         cursor, edges[e][1], s_regions[r], last);
                return false;
            }
        }
    for (int i = 0; i < N_PARTIES; i++) {
        const wz_party_t *party = wz_policy_party(h->policy, s_party[i]);
        wz_store_key(h->store, key, sizeof key, party->region, "mailbox:%s", s_party[i]);
        uint64_t last = h_last_id(h, key);
        if (!h->parties[i].offline && h->parties[i].last_seq < last) {
            snprintf(why, whylen, "%s has read %" PRIu64 " of %" PRIu64, s_party[i],
                     h->parties[i].last_seq, last);
            return false;
        }
    }
    if (h->n_signs) {
        snprintf(why, whylen, "%zu leases to sign", h->n_signs);
        return false;
    }
    for (int k = 0; k < h->n; k++) {
        wz_store_key(h->store, key, sizeof key, s_regions[h->vacancies[k].region], "m:vacancy:%s",
                     h->vacancies[k].id);
        uint8_t *data = NULL;
        size_t len = 0;
        int found = wz_store_get_bytes(h->store, key, &data, &len);
        ck_assert_int_ge(found, 0);
        WzVacancy *v = found ? wz_vacancy_unpack(data, len) : NULL;
        free(data);
        int state = v ? (int)v->state : 0;
        WZ_FREE_UNPACKED(v);
        bool offline_wait = state == VSTATE(OFFERED) && strcmp(h->fault, "offline-party") == 0 &&
                            h->parties[P_DOCK].offline;
        if (state != VSTATE(LET) && state != VSTATE(RELEASED) && state != VSTATE(WITHDRAWN) &&
            !offline_wait) {
            snprintf(why, whylen, "vacancy %s in state %d", h->vacancies[k].id, state);
            return false;
        }
    }
    return true;
}

/* Returns true when settled; otherwise says why (the checks then show what is missing). */
static bool h_drain(h_t *h, char *why, size_t whylen)
{
    int64_t give_up = wz_mono_ms() + DRAIN_MS;
    int stable = 0;
    bool offline_joined = false;
    for (;;) {
        h_tick(h);
        h_pump(h, 100);
        bool settled = h_settled(h, why, whylen);
        if (settled && h->parties[P_DOCK].offline && !offline_joined) {
            /* The offline party connects at the end and must get everything. */
            h_log(h, "dock connects after being offline the whole run");
            h->parties[P_DOCK].offline = false;
            h_open_listener(h, P_DOCK);
            offline_joined = true;
            stable = 0;
            continue;
        }
        /* Acks make NotificationDelivered events; wait until those settle too. */
        stable = settled ? stable + 1 : 0;
        if (stable >= 3)
            return true;
        if (wz_mono_ms() >= give_up)
            return false;
    }
}

static h_result_t h_check(h_t *h)
{
    h_result_t res;
    memset(&res, 0, sizeof res);
    h_scan_t scan;
    memset(&scan, 0, sizeof scan);
    scan.res = &res;
    char key[KEY_MAX];
    if (!h->shred) {
        char err[512];
        h->shred = wz_shred_new(h->settings->keys_dir, false, err, sizeof err);
        ck_assert_msg(h->shred != NULL, "%s", err);
    }
    int64_t now = wz_now_ms();
    for (int r = 0; r < 2; r++) {
        const char *region = s_regions[r];
        /* The audit chain is never trimmed: it holds every event of every
         * producer, each once, intact. It is what the effects are read from;
         * the outbox streams may be trimmed below every consumer's cursor. */
        uint64_t checked = 0, bad = 0;
        char why[256] = "";
        int v = wz_audit_verify(h->store, region, &checked, &bad, why, sizeof why);
        if (v != 0)
            h_problem(&res, &res.lost, "audit chain of %s broken at %" PRIu64 ": %s", region, bad,
                      why);
        wz_store_key(h->store, key, sizeof key, region, "audit");
        scan.stream = "audit";
        h_each_entry_in(h, key, "e", h->shred, region, h_on_chain_entry, &scan);
        static const char *const producers[] = {"intake", "matching", "notification"};
        for (int p = 0; p < 3; p++) {
            wz_store_key(h->store, key, sizeof key, region, "stream:%s", producers[p]);
            scan.stream = producers[p];
            h_each_entry(h, key, "e", h_on_outbox_entry, &scan);
            redisReply *len = wz_store_cmd(h->store, "XLEN %s", key);
            ck_assert_ptr_nonnull(len);
            res.trimmed += h_last_id(h, key) - (uint64_t)len->integer;
            freeReplyObject(len);
        }

        /* Proposals: one open per vacancy and per candidate. */
        wz_store_key(h->store, key, sizeof key, region, "proposal:*");
        redisReply *keys = wz_store_cmd(h->store, "KEYS %s", key);
        ck_assert_ptr_nonnull(keys);
        h_set_t open_v = {0}, open_c = {0};
        for (size_t i = 0; i < keys->elements; i++) {
            uint8_t *data = NULL;
            size_t len = 0;
            ck_assert_int_eq(wz_store_get_bytes(h->store, keys->element[i]->str, &data, &len), 1);
            WzProposal *p = wz_proposal_unpack(data, len);
            free(data);
            ck_assert_ptr_nonnull(p);
            if (!h_set_has(&scan.proposals_created, p->id))
                h_problem(&res, &res.lost, "proposal %s stored without ProposalCreated", p->id);
            if (p->state == PSTATE(SENT) || p->state == PSTATE(ACCEPTED)) {
                if (!h_set_add(&open_v, p->vacancy_id))
                    h_problem(&res, &res.duplicates, "vacancy %s has two open proposals",
                              p->vacancy_id);
                if (!h_set_add(&open_c, p->candidate_id))
                    h_problem(&res, &res.duplicates, "candidate %s has two open proposals",
                              p->candidate_id);
            }
            WZ_FREE_UNPACKED(p);
        }
        freeReplyObject(keys);
        h_set_free(&open_v);
        h_set_free(&open_c);
    }

    /* Every vacancy with an OK reply: stored, published once, in its end state. */
    for (int k = 0; k < h->n; k++) {
        const h_vacancy_t *hv = &h->vacancies[k];
        if (!hv->ok)
            continue;
        const char *region = s_regions[hv->region];
        if (!h_set_has(&scan.vacancies_published, hv->id))
            h_problem(&res, &res.lost, "vacancy %s: OK reply but no VacancyPublished", hv->id);
        wz_store_key(h->store, key, sizeof key, region, "m:vacancy:%s", hv->id);
        uint8_t *data = NULL;
        size_t len = 0;
        int found = wz_store_get_bytes(h->store, key, &data, &len);
        WzVacancy *v = found > 0 ? wz_vacancy_unpack(data, len) : NULL;
        free(data);
        if (!v) {
            h_problem(&res, &res.lost, "vacancy %s unknown to matching", hv->id);
            continue;
        }
        if (v->state == VSTATE(OFFERED)) {
            wz_store_key(h->store, key, sizeof key, region, "deadlines");
            redisReply *sc = wz_store_cmd(h->store, "ZSCORE %s %s", key, v->proposal_id);
            bool live = sc && sc->type == REDIS_REPLY_STRING && strtoll(sc->str, NULL, 10) > now;
            if (sc)
                freeReplyObject(sc);
            if (!live)
                h_problem(&res, &res.lost, "vacancy %s offered without a live deadline", hv->id);
        } else if (v->state != VSTATE(LET) && v->state != VSTATE(RELEASED) &&
                   v->state != VSTATE(WITHDRAWN)) {
            h_problem(&res, &res.lost, "vacancy %s ends in state %d", hv->id, (int)v->state);
        }
        WZ_FREE_UNPACKED(v);
    }

    /* Mailboxes: each party got its whole mailbox, each event once. */
    for (int i = 0; i < N_PARTIES; i++) {
        const h_party_t *p = &h->parties[i];
        const wz_party_t *party = wz_policy_party(h->policy, s_party[i]);
        wz_store_key(h->store, key, sizeof key, party->region, "mailbox:%s", s_party[i]);
        uint64_t last = h_last_id(h, key);
        if (p->last_seq != last)
            h_problem(&res, &res.lost, "%s read %" PRIu64 " of its %" PRIu64 " entries", s_party[i],
                      p->last_seq, last);
        res.deliveries += p->received;
        h_set_t ids = {0};
        for (size_t k = 0; k < p->n_seen; k++)
            if (!h_set_add(&ids, p->seen[k].id))
                h_problem(&res, &res.duplicates, "%s got event %s twice (entry %" PRIu64 ")",
                          s_party[i], p->seen[k].id, p->seen[k].seq);
        /* Every event this party must get, it got. */
        size_t plen = strlen(s_party[i]);
        for (size_t k = 0; k < scan.expected.n; k++) {
            const char *pair = scan.expected.keys[k];
            if (strncmp(pair, s_party[i], plen) == 0 && pair[plen] == ' ' &&
                !h_set_has(&ids, pair + plen + 1))
                h_problem(&res, &res.lost, "%s never received %s", s_party[i], pair + plen + 1);
        }
        h_set_free(&ids);
    }
    /* Every proposal reached its care provider, every vacancy its municipality. */
    for (size_t i = 0; i < scan.proposals_created.n; i++)
        if (!h_set_has(&h->proposed, scan.proposals_created.keys[i]))
            h_problem(&res, &res.lost, "proposal %s never reached its care provider",
                      scan.proposals_created.keys[i]);
    for (int k = 0; k < h->n; k++)
        if (h->vacancies[k].ok && !h_set_has(&h->announced, h->vacancies[k].id))
            h_problem(&res, &res.lost, "vacancy %s never reached its municipality",
                      h->vacancies[k].id);
    h_set_free(&scan.ids);
    h_set_free(&scan.effects);
    h_set_free(&scan.vacancies_published);
    h_set_free(&scan.proposals_created);
    h_set_free(&scan.expected);
    h_set_free(&scan.chained);
    return res;
}

/* Runs wzctl with args (operator commands) and returns its exit status;
 * its output goes into out. */
static int h_wzctl(h_t *h, const char *args, char *out, size_t outlen)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/wzctl -c %s %s 2>&1", WZ_BUILD_DIR, wz_testenv_config(h->env),
             args);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t used = fread(out, 1, outlen - 1, p);
    out[used] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

typedef struct {
    uint64_t seq;
    const char *const *consumers;
    int n[3];
} h_noted_t;

/* Counts the chain's EventDeadLettered entries for the poison, per consumer. */
static void h_on_dead_lettered(h_t *h, void *arg, uint64_t seq, const WzEvent *ev,
                               const char *raw, size_t raw_len)
{
    (void)h;
    (void)seq;
    (void)raw;
    (void)raw_len;
    h_noted_t *noted = arg;
    if (ev && ev->payload_case == EV(EVENT_DEAD_LETTERED) &&
        ev->event_dead_lettered->seq == noted->seq)
        for (int c = 0; c < 3; c++)
            noted->n[c] += strcmp(ev->event_dead_lettered->consumer, noted->consumers[c]) == 0;
}

/* The poison: set aside once by each consumer, with its audit entry; the
 * rest flowed (the general checks); wzctl lists it and a replay request is
 * used up while the unreadable letter stays. */
static void h_check_poison(h_t *h, h_result_t *res)
{
    static const char *const consumers[] = {"matching", "notification", "audit"};
    for (int c = 0; c < 3; c++) {
        wz_dead_letter_t *all = NULL;
        size_t n = 0;
        ck_assert_int_eq(wz_dead_list(h->store, "zkij", consumers[c], &all, &n), 0);
        if (n != 1 || all[0].seq != h->poison_seq || strcmp(all[0].producer, "intake") != 0)
            h_problem(res, &res->lost, "%s holds %zu dead letters, expected the poison intake:%llu",
                      consumers[c], n, (unsigned long long)h->poison_seq);
        res->dead += n;
        free(all);
    }
    /* One EventDeadLettered per consumer in the audit chain. */
    char key[KEY_MAX];
    wz_store_key(h->store, key, sizeof key, "zkij", "audit");
    h_noted_t noted = {h->poison_seq, consumers, {0}};
    h_each_entry_in(h, key, "e", h->shred, "zkij", h_on_dead_lettered, &noted);
    for (int c = 0; c < 3; c++)
        if (noted.n[c] != 1)
            h_problem(res, &res->lost, "audit holds %d entries for %s's dead letter", noted.n[c],
                      consumers[c]);
    char out[8192], args[256], want[128];
    ck_assert_int_eq(h_wzctl(h, "dead-letters list", out, sizeof out), 0);
    snprintf(want, sizeof want, "zkij matching intake:%llu", (unsigned long long)h->poison_seq);
    ck_assert_msg(strstr(out, want) && strstr(out, "3 dead letters"), "wzctl dead-letters list: %s",
                  out);
    snprintf(args, sizeof args, "dead-letters replay zkij matching intake:%llu",
             (unsigned long long)h->poison_seq);
    ck_assert_msg(h_wzctl(h, args, out, sizeof out) == 0, "wzctl %s: %s", args, out);
    ck_assert_msg(h_wzctl(h, "dead-letters replay zkij matching intake:999999", out, sizeof out) ==
                      1,
                  "a replay of an unknown dead letter is not refused: %s", out);
    wz_dead_replay_key(h->store, "zkij", "matching", key, sizeof key);
    int64_t deadline = wz_mono_ms() + 15000;
    for (;;) {
        redisReply *n = wz_store_cmd(h->store, "SCARD %s", key);
        ck_assert_ptr_nonnull(n);
        long long left = n->integer;
        freeReplyObject(n);
        if (left == 0)
            break;
        ck_assert_msg(wz_mono_ms() < deadline, "matching did not take up the replay request");
        h_sleep(100);
    }
    wz_dead_letter_t *all = NULL;
    size_t n = 0;
    ck_assert_int_eq(wz_dead_list(h->store, "zkij", "matching", &all, &n), 0);
    ck_assert_msg(n == 1, "an unreadable dead letter vanished on replay");
    free(all);
}

/* How often the consumers found a gap in what reached them over PUB/SUB. */
static int h_count_gaps(h_t *h)
{
    int gaps = 0;
    for (int i = 1; i < 4; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s.log", wz_testenv_dir(h->env), s_services[i]);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        char line[4096];
        while (fgets(line, sizeof line, f))
            gaps += strstr(line, "\"gap, catching up from redis\"") != NULL;
        fclose(f);
    }
    return gaps;
}

static void h_close(h_t *h)
{
    for (int i = 0; i < N_PARTIES; i++) {
        wz_client_destroy(&h->parties[i].client);
        wz_client_destroy(&h->parties[i].twin);
        wz_listener_destroy(&h->parties[i].listener);
        free(h->parties[i].seen);
    }
    zmq_ctx_term(h->ctx);
    int unclean = wz_testenv_stop_all(h->env);
    const char *dir = wz_testenv_dir(h->env);
    if (unclean)
        fprintf(stderr, "logs kept in %s\n", dir);
    else
        wz_testenv_destroy(&h->env);
    wz_policy_destroy(&h->policy);
    wz_shred_destroy(&h->shred);
    free(h->vacancies);
    free(h->signs);
    h_set_free(&h->announced);
    h_set_free(&h->proposed);
    ck_assert_msg(unclean == 0, "%d service(s) did not exit 0 on SIGTERM at the end", unclean);
}

static const char *s_fault = "none";

START_TEST(test_fault)
{
    h_t h;
    memset(&h, 0, sizeof h);
    h.fault = s_fault;
    h.n = getenv("WZ_FAULT_N") ? atoi(getenv("WZ_FAULT_N")) : N_DEFAULT;
    h.seed = getenv("WZ_FAULT_SEED") ? (unsigned)atoi(getenv("WZ_FAULT_SEED"))
                                     : (unsigned)time(NULL) ^ (unsigned)getpid();
    h.started_ms = wz_mono_ms();
    h_log(&h, "N=%d seed=%u", h.n, h.seed);
    h_open(&h);
    h_workload(&h);
    char why[256] = "";
    bool settled = h_drain(&h, why, sizeof why);
    if (!settled)
        h_log(&h, "not settled after %d s: %s", DRAIN_MS / 1000, why);
    h_result_t res = h_check(&h);
    if (h.poison_injected)
        h_check_poison(&h, &res);
    int gaps = h_count_gaps(&h);
    printf("fault=%s published=%d proposals=%" PRIu64 " deliveries=%" PRIu64 " lost=%" PRIu64
           " duplicate_effects=%" PRIu64 " events=%" PRIu64 " requests=%" PRIu64
           " gaps=%d dead_letters=%" PRIu64 " trimmed=%" PRIu64 " seconds=%.0f\n",
           h.fault, h.published, res.proposals, res.deliveries, res.lost, res.duplicates,
           res.events, h.requests, gaps, res.dead, res.trimmed,
           (double)(wz_mono_ms() - h.started_ms) / 1000);
    fflush(stdout);
    ck_assert_msg(h.note[0] == '\0', "%s", h.note);
    ck_assert_msg(settled, "not settled after %d s: %s (%s)", DRAIN_MS / 1000, why,
                  res.first_problem);
    ck_assert_msg(res.lost == 0 && res.duplicates == 0, "fault %s: %s", h.fault,
                  res.first_problem);
    ck_assert_int_eq(h.published, h.n);
    ck_assert_msg(res.trimmed > 0, "no outbox was ever trimmed");
    if (strcmp(h.fault, "tiny-hwm") == 0)
        ck_assert_msg(gaps > 0, "tiny-hwm: no publication was dropped, the fault was not injected");
    h_close(&h);
}
END_TEST

int main(int argc, char **argv)
{
    if (argc > 1)
        s_fault = argv[1];
    Suite *s = suite_create("fault");
    TCase *tc = tcase_create(s_fault);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_fault);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
