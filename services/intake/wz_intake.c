/* wz_intake.c - party requests: authenticate, deduplicate, validate, decide
 * against the stored state, and commit state + event + stored reply in one
 * optimistic transaction (see wz_intake.h and docs/architecture.md). */
#include "wz_intake.h"

#include "wz_server.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "wz_calendar.h"
#include "wz_codec.h"
#include "wz_match.h"
#include "wz_minimise.h"
#include "wz_util.h"
#include "wz_validate.h"
#include "wz_zap.h"

/* A candidate's records are purged after its retention period, or at once
 * when consent is withdrawn (docs/security.md); the reply says so. */
#define CANDIDATE_NOT_FOUND                                                                        \
    "candidate %s not found: never registered, or its records were erased (consent "               \
    "withdrawn, or the retention period after housing or withdrawal ended)"
#define KEY_MAX 256
#define COMMIT_ATTEMPTS 5
#define RECV_BUDGET 64
#define MAX_REQUEST_ID 64 /* as wz_validate accepts */

#define CODE(x) WOONZORG__V1__CODE__CODE_##x
#define VSTATE(x) WOONZORG__V1__VACANCY_STATE__VACANCY_STATE_##x
#define CSTATE(x) WOONZORG__V1__CANDIDATE_STATE__CANDIDATE_STATE_##x
#define PSTATE(x) WOONZORG__V1__PROPOSAL_STATE__PROPOSAL_STATE_##x
#define BODY(x) WOONZORG__V1__REQUEST__BODY_##x
#define PAYLOAD(x) WOONZORG__V1__EVENT__PAYLOAD_##x

struct wz_intake_t {
    wz_store_t *store;
    const wz_policy_t *policy;
    wz_log_t *log;
    wz_pub_t *pub;
    void *router;
    int idem_ttl_s;
    wz_metrics_t *metrics; /* borrowed from the runtime */
};

/* What one request is about: fixed before any state is read. The request is
 * ours (unpacked by us), so deciders may lend its sub-messages to events. */
typedef struct {
    WzRequest *req;
    const wz_party_t *party;
    const char *region;
} s_ctx_t;

/* The reply under construction; its strings point into this struct or the request. */
typedef struct {
    WzReply reply;
    const char *request_id;
    char message[320];
    char field[96];
    char id[128];
    char error[200];         /* why storage failed, for the log only */
    ProtobufCMessage *owned; /* the result message, freed once packed */
} s_out_t;

/* --- names for messages and logs --------------------------------------- */

static const char *s_type_name(const WzRequest *req)
{
    switch (req->body_case) {
    case BODY(PUBLISH_VACANCY):
        return "publish_vacancy";
    case BODY(WITHDRAW_VACANCY):
        return "withdraw_vacancy";
    case BODY(REGISTER_CANDIDATE):
        return "register_candidate";
    case BODY(WITHDRAW_CANDIDATE):
        return "withdraw_candidate";
    case BODY(GRANT_URGENCY):
        return "grant_urgency";
    case BODY(ANSWER):
        return "answer";
    case BODY(SIGN_LEASE):
        return "sign_lease";
    case BODY(STATUS):
        return "status";
    case BODY(AUDIT):
        return "audit";
    case BODY(CONFIRM_STEP):
        return "confirm_step";
    case BODY(NOMINATE):
        return "nominate";
    default:
        return "none";
    }
}

static const char *s_code_name(WzCode code)
{
    switch (code) {
    case CODE(OK):
        return "ok";
    case CODE(MALFORMED):
        return "malformed";
    case CODE(UNKNOWN_TYPE):
        return "unknown_type";
    case CODE(INVALID):
        return "invalid";
    case CODE(NOT_FOUND):
        return "not_found";
    case CODE(FORBIDDEN):
        return "forbidden";
    case CODE(CONFLICT):
        return "conflict";
    case CODE(UNAVAILABLE):
        return "unavailable";
    default:
        return "unknown";
    }
}

static const char *s_vacancy_state(int state)
{
    static const char *const names[] = {"unspecified", "open", "matching", "offered",
                                        "accepted",    "let",  "released", "withdrawn"};
    return state >= 0 && state < (int)(sizeof names / sizeof *names) ? names[state] : "unknown";
}

static const char *s_candidate_state(int state)
{
    static const char *const names[] = {"unspecified", "registered", "active",   "proposed",
                                        "housed",      "withdrawn",  "lapsed"};
    return state >= 0 && state < (int)(sizeof names / sizeof *names) ? names[state] : "unknown";
}

static const char *s_proposal_state(int state)
{
    static const char *const names[] = {"unspecified", "sent",      "accepted", "declined",
                                        "expired",     "cancelled", "let"};
    return state >= 0 && state < (int)(sizeof names / sizeof *names) ? names[state] : "unknown";
}

/* --- the reply ----------------------------------------------------------- */

static void s_out_init(s_out_t *o, const char *request_id)
{
    WzReply init = WOONZORG__V1__REPLY__INIT;
    o->reply = init;
    o->request_id = request_id ? request_id : "";
    o->message[0] = o->field[0] = o->id[0] = o->error[0] = '\0';
    o->owned = NULL;
    o->reply.request_id = (char *)o->request_id;
    o->reply.message = o->message;
    o->reply.field = o->field;
    o->reply.id = o->id;
}

static void s_out_clear(s_out_t *o)
{
    WZ_FREE_UNPACKED(o->owned);
    s_out_init(o, o->request_id);
}

/* Sets an error verdict; returns 0 because a refusal is a decision too. */
static int s_fail(s_out_t *o, WzCode code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int s_fail(s_out_t *o, WzCode code, const char *field, const char *fmt, ...)
{
    s_out_clear(o);
    o->reply.code = code;
    wz_strlcpy(o->field, field, sizeof o->field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->message, sizeof o->message, fmt, ap);
    va_end(ap);
    return 0;
}

static void s_ok(s_out_t *o, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_ok(s_out_t *o, const char *id, const char *fmt, ...)
{
    o->reply.code = CODE(OK);
    wz_strlcpy(o->id, id, sizeof o->id);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->message, sizeof o->message, fmt, ap);
    va_end(ap);
}

/* why goes to the log line of the request, not to the client. */
static int s_unavailable(s_out_t *o, const char *why)
{
    s_fail(o, CODE(UNAVAILABLE), "", "storage is unavailable; retry with the same request_id");
    wz_strlcpy(o->error, why && *why ? why : "storage failed", sizeof o->error);
    return 0;
}

static uint8_t *s_pack(const s_out_t *o, size_t *len)
{
    return wz_codec_pack(&o->reply.base, len);
}

/* --- store helpers ------------------------------------------------------- */

static int s_key(wz_intake_t *self, char key[KEY_MAX], const char *region, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int s_key(wz_intake_t *self, char key[KEY_MAX], const char *region, const char *fmt, ...)
{
    char suffix[KEY_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(suffix, sizeof suffix, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof suffix) return -1;
    return wz_store_key(self->store, key, KEY_MAX, region, "%s", suffix);
}

/* Reads and unpacks a record, watching it first when inside a transaction.
 * 1 found, 0 absent, -1 storage failure (an unreadable record counts as one). */
static int s_load(wz_intake_t *self, wz_txn_t *txn, const char *key,
                  const ProtobufCMessageDescriptor *desc, void *out)
{
    ProtobufCMessage **msg = out;
    *msg = NULL;
    if (txn && wz_txn_watch(txn, key) != 0) return -1;
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = wz_store_get_bytes(self->store, key, &data, &len);
    if (rc <= 0) return rc;
    *msg = wz_codec_unpack(desc, data, len);
    free(data);
    if (!*msg) {
        wz_log(self->log, WZ_LOG_ERROR, "stored record unreadable", "key", key, NULL);
        return -1;
    }
    return 1;
}

/* 1 if key exists, 0 if not, -1 on failure; watched when inside a transaction. */
static int s_exists(wz_intake_t *self, wz_txn_t *txn, const char *key)
{
    if (txn && wz_txn_watch(txn, key) != 0) return -1;
    redisReply *r = wz_store_cmd(self->store, "EXISTS %s", key);
    if (!r) return -1;
    int rc = r->type == REDIS_REPLY_INTEGER && r->integer > 0 ? 1 : 0;
    freeReplyObject(r);
    return rc;
}

static int s_put(wz_txn_t *txn, const char *key, const ProtobufCMessage *m)
{
    size_t len = 0;
    uint8_t *bytes = wz_codec_pack(m, &len);
    if (!bytes) return -1;
    int rc = wz_txn_cmd(txn, "SET %s %b", key, bytes, len);
    free(bytes);
    return rc;
}

static int s_emit(wz_txn_t *txn, const s_ctx_t *c, WzEvent *ev)
{
    ev->actor = (char *)c->party->id;
    return wz_txn_emit(txn, ev) > 0 ? 0 : -1;
}

static bool s_urgency_granted(const WzCandidate *cand)
{
    return (cand->urgency_by && cand->urgency_by[0]) ||
           (cand->urgency_date && wz_date_valid(cand->urgency_date));
}

/* --- deciders: read (watched), decide, queue writes and the event --------
 * Each returns 0 with the verdict in o (writes queued only for OK), or -1
 * when storage failed (nothing decided). */

typedef int (*s_decide_fn)(wz_intake_t *self, wz_txn_t *txn, const s_ctx_t *c, s_out_t *o);

static int s_publish_vacancy(wz_intake_t *self, wz_txn_t *txn, const s_ctx_t *c, s_out_t *o)
{
    WzVacancy *v = c->req->publish_vacancy;
    char key[KEY_MAX];
    if (s_key(self, key, c->region, "vacancy:%s", v->id) != 0) return -1;
    int found = s_exists(self, txn, key);
    if (found < 0) return -1;
    if (found)
        return s_fail(o, CODE(CONFLICT), "publish_vacancy.id", "vacancy %s was already published",
                      v->id);
    /* The suite, not the client, says whose and where the dwelling is. */
    WzVacancy saved = *v;
    v->corporation = (char *)c->party->id;
    v->region = (char *)c->region;
    v->state = VSTATE(OPEN);
    v->proposal_id = (char *)"";
    Woonzorg__V1__VacancyPublished body = WOONZORG__V1__VACANCY_PUBLISHED__INIT;
    body.vacancy = v;
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.payload_case = PAYLOAD(VACANCY_PUBLISHED);
    ev.vacancy_published = &body;
    int rc = s_put(txn, key, &v->base) == 0 && s_emit(txn, c, &ev) == 0 ? 0 : -1;
    *v = saved;
    if (rc == 0) s_ok(o, v->id, "vacancy %s published", v->id);
    return rc;
}

static int s_withdraw_vacancy(wz_intake_t *self, wz_txn_t *txn, const s_ctx_t *c, s_out_t *o)
{
    const char *id = c->req->withdraw_vacancy->id;
    char key[KEY_MAX], mkey[KEY_MAX], signed_key[KEY_MAX];
    if (s_key(self, key, c->region, "vacancy:%s", id) != 0 ||
        s_key(self, mkey, c->region, "m:vacancy:%s", id) != 0 ||
        s_key(self, signed_key, c->region, "signed:%s", id) != 0)
        return -1;
    WzVacancy *v = NULL, *m = NULL;
    int rc = -1;
    int found = s_load(self, txn, key, &woonzorg__v1__vacancy__descriptor, &v);
    if (found < 0) goto out;
    if (!found) {
        rc = s_fail(o, CODE(NOT_FOUND), "withdraw_vacancy.id", "vacancy %s not found", id);
        goto out;
    }
    if (strcmp(v->corporation, c->party->id) != 0) {
        rc = s_fail(o, CODE(FORBIDDEN), "withdraw_vacancy.id",
                    "vacancy %s belongs to another corporation", id);
        goto out;
    }
    if (v->state == VSTATE(WITHDRAWN)) {
        rc = s_fail(o, CODE(CONFLICT), "withdraw_vacancy.id", "vacancy %s was already withdrawn",
                    id);
        goto out;
    }
    if (s_load(self, txn, mkey, &woonzorg__v1__vacancy__descriptor, &m) < 0) goto out;
    if (m && (m->state == VSTATE(LET) || m->state == VSTATE(WITHDRAWN))) {
        rc = s_fail(o, CODE(CONFLICT), "withdraw_vacancy.id", "vacancy %s is %s", id,
                    s_vacancy_state(m->state));
        goto out;
    }
    int lease = s_exists(self, txn, signed_key);
    if (lease < 0) goto out;
    if (lease) {
        rc = s_fail(o, CODE(CONFLICT), "withdraw_vacancy.id",
                    "the lease of vacancy %s was already signed", id);
        goto out;
    }
    v->state = VSTATE(WITHDRAWN);
    Woonzorg__V1__VacancyWithdrawn body = WOONZORG__V1__VACANCY_WITHDRAWN__INIT;
    body.vacancy_id = v->id;
    body.corporation = v->corporation;
    body.municipality = v->municipality;
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.payload_case = PAYLOAD(VACANCY_WITHDRAWN);
    ev.vacancy_withdrawn = &body;
    if (s_put(txn, key, &v->base) != 0 || s_emit(txn, c, &ev) != 0) goto out;
    s_ok(o, id, "vacancy %s withdrawn", id);
    rc = 0;
out:
    WZ_FREE_UNPACKED(v);
    WZ_FREE_UNPACKED(m);
    return rc;
}

static int s_register_candidate(wz_intake_t *self, wz_txn_t *txn, const s_ctx_t *c, s_out_t *o)
{
    WzCandidate *cand = c->req->register_candidate;
    char key[KEY_MAX], mkey[KEY_MAX];
    if (s_key(self, key, c->region, "candidate:%s", cand->id) != 0 ||
        s_key(self, mkey, c->region, "m:candidate:%s", cand->id) != 0)
        return -1;
    WzCandidate *old = NULL, *m = NULL;
    int rc = -1;
    int found = s_load(self, txn, key, &woonzorg__v1__candidate__descriptor, &old);
    if (found < 0) goto out;
    WzCandidate saved = *cand;
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    Woonzorg__V1__CandidateRegistered registered = WOONZORG__V1__CANDIDATE_REGISTERED__INIT;
    Woonzorg__V1__CandidateUpdated updated = WOONZORG__V1__CANDIDATE_UPDATED__INIT;
    if (!found) {
        /* Consent comes first; an update without it withdraws it (matching
         * then cancels any open proposal at once). */
        if (!cand->consent) {
            rc = s_fail(o, CODE(INVALID), "register_candidate.consent",
                        "register_candidate.consent: consent is required before a candidate can "
                        "be registered");
            goto out;
        }
        cand->state = CSTATE(REGISTERED);
        cand->urgency_date = NULL; /* urgency is the municipality's to grant */
        cand->urgency_by = (char *)"";
        registered.candidate = cand;
        ev.payload_case = PAYLOAD(CANDIDATE_REGISTERED);
        ev.candidate_registered = &registered;
    } else {
        /* Say no more than "not yours": the record is another provider's. */
        if (strcmp(old->care_provider, c->party->id) != 0) {
            rc = s_fail(o, CODE(FORBIDDEN), "register_candidate.id",
                        "candidate %s is not registered by %s", cand->id, c->party->id);
            goto out;
        }
        if (s_load(self, txn, mkey, &woonzorg__v1__candidate__descriptor, &m) < 0) goto out;
        bool ended = old->state == CSTATE(WITHDRAWN) ||
                     (m && (m->state == CSTATE(HOUSED) || m->state == CSTATE(WITHDRAWN)));
        if (ended && !cand->consent) {
            /* Consent can be withdrawn at any time: the candidate's records
             * are then erased at once (matching purges them), not after the
             * retention period. Nothing else of the update is taken. */
            old->consent = false;
            updated.candidate = old;
            ev.payload_case = PAYLOAD(CANDIDATE_UPDATED);
            ev.candidate_updated = &updated;
            rc = s_put(txn, key, &old->base) == 0 && s_emit(txn, c, &ev) == 0 ? 0 : -1;
            if (rc == 0) s_ok(o, cand->id, "candidate %s: consent withdrawn", cand->id);
            goto out;
        }
        if (old->state == CSTATE(WITHDRAWN)) {
            rc = s_fail(o, CODE(CONFLICT), "register_candidate.id", "candidate %s was withdrawn",
                        cand->id);
            goto out;
        }
        if (m && (m->state == CSTATE(HOUSED) || m->state == CSTATE(WITHDRAWN))) {
            rc = s_fail(o, CODE(CONFLICT), "register_candidate.id", "candidate %s is %s", cand->id,
                        s_candidate_state(m->state));
            goto out;
        }
        /* The urgency was granted by one municipality for this candidate;
         * moving the candidate elsewhere would carry it over unasked. */
        if (s_urgency_granted(old) && strcmp(old->municipality, cand->municipality) != 0) {
            rc = s_fail(o, CODE(CONFLICT), "register_candidate.municipality",
                        "the municipality of candidate %s cannot change after urgency was "
                        "granted",
                        cand->id);
            goto out;
        }
        cand->state = old->state;
        cand->urgency_date = old->urgency_date;
        cand->urgency_by = old->urgency_by;
        updated.candidate = cand;
        ev.payload_case = PAYLOAD(CANDIDATE_UPDATED);
        ev.candidate_updated = &updated;
    }
    cand->care_provider = (char *)c->party->id;
    cand->region = (char *)c->region;
    rc = s_put(txn, key, &cand->base) == 0 && s_emit(txn, c, &ev) == 0 ? 0 : -1;
    *cand = saved;
    if (rc == 0) s_ok(o, cand->id, "candidate %s %s", cand->id, found ? "updated" : "registered");
out:
    WZ_FREE_UNPACKED(old);
    WZ_FREE_UNPACKED(m);
    return rc;
}

static int s_withdraw_candidate(wz_intake_t *self, wz_txn_t *txn, const s_ctx_t *c, s_out_t *o)
{
    const char *id = c->req->withdraw_candidate->id;
    char key[KEY_MAX], mkey[KEY_MAX];
    if (s_key(self, key, c->region, "candidate:%s", id) != 0 ||
        s_key(self, mkey, c->region, "m:candidate:%s", id) != 0)
        return -1;
    WzCandidate *cand = NULL, *m = NULL;
    int rc = -1;
    int found = s_load(self, txn, key, &woonzorg__v1__candidate__descriptor, &cand);
    if (found < 0) goto out;
    if (!found) {
        rc = s_fail(o, CODE(NOT_FOUND), "withdraw_candidate.id", CANDIDATE_NOT_FOUND, id);
        goto out;
    }
    if (strcmp(cand->care_provider, c->party->id) != 0) {
        rc = s_fail(o, CODE(FORBIDDEN), "withdraw_candidate.id",
                    "candidate %s is not registered by %s", id, c->party->id);
        goto out;
    }
    if (cand->state == CSTATE(WITHDRAWN)) {
        rc = s_fail(o, CODE(CONFLICT), "withdraw_candidate.id",
                    "candidate %s was already withdrawn", id);
        goto out;
    }
    if (s_load(self, txn, mkey, &woonzorg__v1__candidate__descriptor, &m) < 0) goto out;
    if (m && (m->state == CSTATE(HOUSED) || m->state == CSTATE(WITHDRAWN))) {
        rc = s_fail(o, CODE(CONFLICT), "withdraw_candidate.id", "candidate %s is %s", id,
                    s_candidate_state(m->state));
        goto out;
    }
    cand->state = CSTATE(WITHDRAWN);
    Woonzorg__V1__CandidateWithdrawn body = WOONZORG__V1__CANDIDATE_WITHDRAWN__INIT;
    body.candidate_id = cand->id;
    body.care_provider = cand->care_provider;
    body.municipality = cand->municipality;
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.payload_case = PAYLOAD(CANDIDATE_WITHDRAWN);
    ev.candidate_withdrawn = &body;
    if (s_put(txn, key, &cand->base) != 0 || s_emit(txn, c, &ev) != 0) goto out;
    s_ok(o, id, "candidate %s withdrawn", id);
    rc = 0;
out:
    WZ_FREE_UNPACKED(cand);
    WZ_FREE_UNPACKED(m);
    return rc;
}

static int s_grant_urgency(wz_intake_t *self, wz_txn_t *txn, const s_ctx_t *c, s_out_t *o)
{
    const Woonzorg__V1__GrantUrgency *g = c->req->grant_urgency;
    const char *id = g->candidate_id;
    char key[KEY_MAX], mkey[KEY_MAX];
    if (s_key(self, key, c->region, "candidate:%s", id) != 0 ||
        s_key(self, mkey, c->region, "m:candidate:%s", id) != 0)
        return -1;
    WzCandidate *cand = NULL, *m = NULL;
    int rc = -1;
    int found = s_load(self, txn, key, &woonzorg__v1__candidate__descriptor, &cand);
    if (found < 0) goto out;
    if (!found) {
        rc = s_fail(o, CODE(NOT_FOUND), "grant_urgency.candidate_id", CANDIDATE_NOT_FOUND, id);
        goto out;
    }
    if (strcmp(cand->municipality, c->party->municipality) != 0) {
        rc = s_fail(o, CODE(FORBIDDEN), "grant_urgency.candidate_id",
                    "%s may only grant urgency to candidates of %s", c->party->id,
                    c->party->municipality);
        goto out;
    }
    if (s_load(self, txn, mkey, &woonzorg__v1__candidate__descriptor, &m) < 0) goto out;
    int state = cand->state == CSTATE(WITHDRAWN) ? (int)cand->state : m ? (int)m->state : -1;
    if (state == CSTATE(WITHDRAWN) || state == CSTATE(HOUSED)) {
        rc = s_fail(o, CODE(CONFLICT), "grant_urgency.candidate_id", "candidate %s is %s", id,
                    s_candidate_state(state));
        goto out;
    }
    if (g->extend) {
        const wz_scheme_t *sc = wz_policy_candidate_scheme(
            self->policy, c->region, cand->group, cand->care_provider, wz_day_of_ms(wz_now_ms()));
        if (!s_urgency_granted(cand) || state == CSTATE(LAPSED)) {
            rc = s_fail(o, CODE(CONFLICT), "grant_urgency.extend",
                        "candidate %s has no urgency in force to extend", id);
            goto out;
        }
        if (!sc || sc->extension_months == 0) {
            rc = s_fail(o, CODE(CONFLICT), "grant_urgency.extend",
                        "the scheme of candidate %s allows no extension", id);
            goto out;
        }
        if (m && m->extensions > 0) {
            rc = s_fail(o, CODE(CONFLICT), "grant_urgency.extend",
                        "the urgency of candidate %s was extended once already", id);
            goto out;
        }
        Woonzorg__V1__UrgencyGranted ext = WOONZORG__V1__URGENCY_GRANTED__INIT;
        ext.candidate_id = cand->id;
        ext.care_provider = cand->care_provider;
        ext.municipality = cand->municipality;
        ext.date = cand->urgency_date;
        ext.extend = true;
        WzEvent xev = WOONZORG__V1__EVENT__INIT;
        xev.payload_case = PAYLOAD(URGENCY_GRANTED);
        xev.urgency_granted = &ext;
        if (s_emit(txn, c, &xev) != 0) goto out;
        s_ok(o, id, "urgency of candidate %s extended by %d months", id, sc->extension_months);
        rc = 0;
        goto out;
    }
    if (s_urgency_granted(cand) && state != CSTATE(LAPSED)) {
        char when[11] = "";
        if (cand->urgency_date) wz_date_format(cand->urgency_date, when);
        rc = s_fail(o, CODE(CONFLICT), "grant_urgency.candidate_id",
                    "urgency for candidate %s was already granted on %s", id, when);
        goto out;
    }
    WzDate date = WOONZORG__V1__DATE__INIT;
    if (g->date && (g->date->year || g->date->month || g->date->day)) {
        if (!wz_date_valid(g->date)) {
            rc = s_fail(o, CODE(INVALID), "grant_urgency.date",
                        "grant_urgency.date is not a calendar date");
            goto out;
        }
        date.year = g->date->year;
        date.month = g->date->month;
        date.day = g->date->day;
    } else {
        wz_date_today(&date);
    }
    WzCandidate saved = *cand;
    cand->urgency_date = &date;
    cand->urgency_by = (char *)c->party->id;
    int put = s_put(txn, key, &cand->base);
    *cand = saved;
    Woonzorg__V1__UrgencyGranted body = WOONZORG__V1__URGENCY_GRANTED__INIT;
    body.candidate_id = cand->id;
    body.care_provider = cand->care_provider;
    body.municipality = cand->municipality;
    body.date = &date;
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.payload_case = PAYLOAD(URGENCY_GRANTED);
    ev.urgency_granted = &body;
    if (put != 0 || s_emit(txn, c, &ev) != 0) goto out;
    char when[11];
    wz_date_format(&date, when);
    s_ok(o, id, "urgency granted to candidate %s from %s", id, when);
    rc = 0;
out:
    WZ_FREE_UNPACKED(cand);
    WZ_FREE_UNPACKED(m);
    return rc;
}

static int s_answer(wz_intake_t *self, wz_txn_t *txn, const s_ctx_t *c, s_out_t *o)
{
    const Woonzorg__V1__Answer *a = c->req->answer;
    const char *id = a->proposal_id;
    char key[KEY_MAX], marker[KEY_MAX];
    if (s_key(self, key, c->region, "proposal:%s", id) != 0 ||
        s_key(self, marker, c->region, "answered:%s", id) != 0)
        return -1;
    WzProposal *p = NULL;
    int rc = -1;
    int found = s_load(self, txn, key, &woonzorg__v1__proposal__descriptor, &p);
    if (found < 0) goto out;
    if (!found) {
        rc = s_fail(o, CODE(NOT_FOUND), "answer.proposal_id", "proposal %s not found", id);
        goto out;
    }
    if (strcmp(p->care_provider, c->party->id) != 0) {
        rc = s_fail(o, CODE(FORBIDDEN), "answer.proposal_id", "proposal %s was not made to %s", id,
                    c->party->id);
        goto out;
    }
    if (p->state != PSTATE(SENT)) {
        rc = s_fail(o, CODE(CONFLICT), "answer.proposal_id", "proposal %s is %s", id,
                    s_proposal_state(p->state));
        goto out;
    }
    if (p->deadline_ms > 0 && wz_now_ms() > p->deadline_ms) {
        rc = s_fail(o, CODE(CONFLICT), "answer.proposal_id", "the answer deadline has passed");
        goto out;
    }
    int answered = s_exists(self, txn, marker);
    if (answered < 0) goto out;
    if (answered) {
        rc =
            s_fail(o, CODE(CONFLICT), "answer.proposal_id", "proposal %s was already answered", id);
        goto out;
    }
    Woonzorg__V1__ProposalAnswered body = WOONZORG__V1__PROPOSAL_ANSWERED__INIT;
    body.proposal = p;
    body.accepted = a->accept;
    body.reason = a->reason;
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.payload_case = PAYLOAD(PROPOSAL_ANSWERED);
    ev.proposal_answered = &body;
    if (wz_txn_cmd(txn, "SET %s %s", marker, a->accept ? "accepted" : "declined") != 0 ||
        s_emit(txn, c, &ev) != 0)
        goto out;
    s_ok(o, id, "proposal %s %s", id, a->accept ? "accepted" : "declined");
    rc = 0;
out:
    WZ_FREE_UNPACKED(p);
    return rc;
}

static int s_sign_lease(wz_intake_t *self, wz_txn_t *txn, const s_ctx_t *c, s_out_t *o)
{
    const Woonzorg__V1__SignLease *s = c->req->sign_lease;
    const char *id = s->vacancy_id;
    char key[KEY_MAX], mkey[KEY_MAX], marker[KEY_MAX];
    if (s_key(self, key, c->region, "vacancy:%s", id) != 0 ||
        s_key(self, mkey, c->region, "m:vacancy:%s", id) != 0 ||
        s_key(self, marker, c->region, "signed:%s", id) != 0)
        return -1;
    WzVacancy *v = NULL, *m = NULL;
    int rc = -1;
    int found = s_load(self, txn, key, &woonzorg__v1__vacancy__descriptor, &v);
    if (found < 0) goto out;
    if (!found) {
        rc = s_fail(o, CODE(NOT_FOUND), "sign_lease.vacancy_id", "vacancy %s not found", id);
        goto out;
    }
    if (strcmp(v->corporation, c->party->id) != 0) {
        rc = s_fail(o, CODE(FORBIDDEN), "sign_lease.vacancy_id",
                    "vacancy %s belongs to another corporation", id);
        goto out;
    }
    if (s_load(self, txn, mkey, &woonzorg__v1__vacancy__descriptor, &m) < 0) goto out;
    int state = v->state == VSTATE(WITHDRAWN) || !m ? (int)v->state : (int)m->state;
    if (state != VSTATE(ACCEPTED)) {
        rc = s_fail(o, CODE(CONFLICT), "sign_lease.vacancy_id", "vacancy %s is %s, not accepted",
                    id, s_vacancy_state(state));
        goto out;
    }
    if (m && m->proposal_id[0]) {
        /* The lease is the route's last step: earlier steps come first. */
        char pkey[KEY_MAX];
        WzProposal *p = NULL;
        if (s_key(self, pkey, c->region, "proposal:%s", m->proposal_id) != 0 ||
            s_load(self, txn, pkey, &woonzorg__v1__proposal__descriptor, &p) < 0)
            goto out;
        const wz_scheme_t *sc = p ? wz_policy_scheme(self->policy, p->scheme) : NULL;
        int idx = sc ? wz_scheme_step(sc, p->step) : -1;
        if (idx >= 0 && sc->route[idx].action != WZ_STEP_SIGN) {
            rc = s_fail(o, CODE(CONFLICT), "sign_lease.vacancy_id",
                        "proposal %s is at step '%s' (the %s confirms it with confirm_step); the "
                        "lease comes after",
                        p->id, p->step, wz_role_name(sc->route[idx].role));
            WZ_FREE_UNPACKED(p);
            goto out;
        }
        WZ_FREE_UNPACKED(p);
    }
    int signed_already = s_exists(self, txn, marker);
    if (signed_already < 0) goto out;
    if (signed_already) {
        rc = s_fail(o, CODE(CONFLICT), "sign_lease.vacancy_id",
                    "the lease of vacancy %s was already signed", id);
        goto out;
    }
    Woonzorg__V1__LeaseSigned body = WOONZORG__V1__LEASE_SIGNED__INIT;
    body.vacancy_id = v->id;
    body.corporation = v->corporation;
    body.contract = s->contract;
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.payload_case = PAYLOAD(LEASE_SIGNED);
    ev.lease_signed = &body;
    if (wz_txn_cmd(txn, "SET %s %d", marker, (int)s->contract) != 0 || s_emit(txn, c, &ev) != 0)
        goto out;
    s_ok(o, id, "lease of vacancy %s signed", id);
    rc = 0;
out:
    WZ_FREE_UNPACKED(v);
    WZ_FREE_UNPACKED(m);
    return rc;
}

/* --- status: reads only, no transaction, never stored ------------------- */

static int s_status_vacancy(wz_intake_t *self, const s_ctx_t *c, const char *id, s_out_t *o)
{
    char key[KEY_MAX], mkey[KEY_MAX];
    if (s_key(self, key, c->region, "vacancy:%s", id) != 0 ||
        s_key(self, mkey, c->region, "m:vacancy:%s", id) != 0)
        return -1;
    WzVacancy *v = NULL, *m = NULL;
    int rc = -1;
    int found = s_load(self, NULL, key, &woonzorg__v1__vacancy__descriptor, &v);
    if (found < 0) goto out;
    if (!found) {
        rc = s_fail(o, CODE(NOT_FOUND), "status.id", "vacancy %s not found", id);
        goto out;
    }
    bool own = c->party->role == WZ_ROLE_CORPORATION && strcmp(v->corporation, c->party->id) == 0;
    if (!own && c->party->role != WZ_ROLE_MUNICIPALITY) {
        rc = s_fail(o, CODE(FORBIDDEN), "status.id", "vacancy %s is not visible to %s", id,
                    c->party->id);
        goto out;
    }
    if (s_load(self, NULL, mkey, &woonzorg__v1__vacancy__descriptor, &m) < 0) goto out;
    /* Matching owns the lifecycle; a withdrawal it has not seen yet still counts. */
    if (m && v->state != VSTATE(WITHDRAWN)) {
        v->state = m->state;
        char *t = v->proposal_id;
        v->proposal_id = m->proposal_id;
        m->proposal_id = t;
    }
    s_ok(o, id, "vacancy %s is %s", id, s_vacancy_state(v->state));
    o->reply.result_case = WOONZORG__V1__REPLY__RESULT_VACANCY;
    o->reply.vacancy = v;
    o->owned = &v->base;
    v = NULL;
    rc = 0;
out:
    WZ_FREE_UNPACKED(v);
    WZ_FREE_UNPACKED(m);
    return rc;
}

static int s_status_candidate(wz_intake_t *self, const s_ctx_t *c, const char *id, s_out_t *o)
{
    char key[KEY_MAX], mkey[KEY_MAX];
    if (s_key(self, key, c->region, "candidate:%s", id) != 0 ||
        s_key(self, mkey, c->region, "m:candidate:%s", id) != 0)
        return -1;
    WzCandidate *cand = NULL, *m = NULL;
    int rc = -1;
    int found = s_load(self, NULL, key, &woonzorg__v1__candidate__descriptor, &cand);
    if (found < 0) goto out;
    if (!found) {
        rc = s_fail(o, CODE(NOT_FOUND), "status.id", CANDIDATE_NOT_FOUND, id);
        goto out;
    }
    const wz_party_t *p = c->party;
    bool own = p->role == WZ_ROLE_CARE_PROVIDER && strcmp(cand->care_provider, p->id) == 0;
    bool theirs =
        p->role == WZ_ROLE_MUNICIPALITY && strcmp(cand->municipality, p->municipality) == 0;
    if (!own && !theirs) {
        rc =
            s_fail(o, CODE(FORBIDDEN), "status.id", "candidate %s is not visible to %s", id, p->id);
        goto out;
    }
    if (s_load(self, NULL, mkey, &woonzorg__v1__candidate__descriptor, &m) < 0) goto out;
    if (m && cand->state != CSTATE(WITHDRAWN)) cand->state = m->state;
    wz_minimise_candidate(cand, p);
    s_ok(o, id, "candidate %s is %s", id, s_candidate_state(cand->state));
    o->reply.result_case = WOONZORG__V1__REPLY__RESULT_CANDIDATE;
    o->reply.candidate = cand;
    o->owned = &cand->base;
    cand = NULL;
    rc = 0;
out:
    WZ_FREE_UNPACKED(cand);
    WZ_FREE_UNPACKED(m);
    return rc;
}

static int s_status_proposal(wz_intake_t *self, const s_ctx_t *c, const char *id, s_out_t *o)
{
    char key[KEY_MAX];
    if (s_key(self, key, c->region, "proposal:%s", id) != 0) return -1;
    WzProposal *prop = NULL;
    int found = s_load(self, NULL, key, &woonzorg__v1__proposal__descriptor, &prop);
    if (found < 0) return -1;
    if (!found) return s_fail(o, CODE(NOT_FOUND), "status.id", "proposal %s not found", id);
    const wz_party_t *p = c->party;
    bool allowed =
        (p->role == WZ_ROLE_CARE_PROVIDER && strcmp(prop->care_provider, p->id) == 0) ||
        (p->role == WZ_ROLE_CORPORATION && strcmp(prop->corporation, p->id) == 0) ||
        (p->role == WZ_ROLE_MUNICIPALITY && strcmp(prop->municipality, p->municipality) == 0);
    if (!allowed) {
        WZ_FREE_UNPACKED(prop);
        return s_fail(o, CODE(FORBIDDEN), "status.id", "proposal %s is not visible to %s", id,
                      p->id);
    }
    wz_minimise_proposal(prop, p, false);
    s_ok(o, id, "proposal %s is %s", id, s_proposal_state(prop->state));
    o->reply.result_case = WOONZORG__V1__REPLY__RESULT_PROPOSAL;
    o->reply.proposal = prop;
    o->owned = &prop->base;
    return 0;
}

/* The party of the proposal's current route step confirms it or turns it
 * down; the municipality gives its verdict on a refusal (step "decline").
 * Anything else is an invalid transition, refused with what is expected. */
static int s_confirm_step(wz_intake_t *self, wz_txn_t *txn, const s_ctx_t *c, s_out_t *o)
{
    const Woonzorg__V1__ConfirmStep *cs = c->req->confirm_step;
    const char *id = cs->proposal_id;
    const char *fld = "confirm_step.proposal_id";
    char key[KEY_MAX], marker[KEY_MAX];
    if (s_key(self, key, c->region, "proposal:%s", id) != 0 ||
        s_key(self, marker, c->region, "confirmed:%s:%s", id, cs->step) != 0)
        return -1;
    if (wz_txn_watch(txn, key) != 0) return -1;
    WzProposal *p = NULL;
    int rc = -1;
    int found = s_load(self, txn, key, &woonzorg__v1__proposal__descriptor, &p);
    if (found < 0) goto out;
    if (!found) {
        rc = s_fail(o, CODE(NOT_FOUND), fld, "proposal %s not found", id);
        goto out;
    }
    const wz_scheme_t *scheme = wz_policy_scheme(self->policy, p->scheme);
    const wz_party_t *me = c->party;
    if (strcmp(cs->step, "decline") == 0) {
        if (me->role != WZ_ROLE_MUNICIPALITY || strcmp(p->municipality, me->municipality) != 0) {
            rc = s_fail(o, CODE(FORBIDDEN), fld,
                        "only the municipality of the candidate (%s) confirms its refusals",
                        p->municipality);
            goto out;
        }
        /* Until verdict_due_ms (none on proposals from before it existed);
         * the verdict must be accepted by then, matching keeps to that. */
        bool late = p->verdict_due_ms > 0 && wz_now_ms() > p->verdict_due_ms;
        if (p->state == PSTATE(DECLINED) && p->verdict_due_ms > 0 &&
            (late || !p->refusal_pending)) {
            char due[25];
            wz_time_format(p->verdict_due_ms, due);
            rc = s_fail(o, CODE(CONFLICT), fld,
                        "the verdict on the refusal of proposal %s was due by %s; none came in "
                        "time, so the refusal does not count",
                        id, due);
            goto out;
        }
        if (p->state != PSTATE(DECLINED) || !p->refusal_pending) {
            rc = s_fail(o, CODE(CONFLICT), fld, "proposal %s has no refusal waiting for a verdict",
                        id);
            goto out;
        }
    } else {
        int idx = scheme ? wz_scheme_step(scheme, cs->step) : -1;
        if (idx < 0) {
            rc = s_fail(o, CODE(INVALID), "confirm_step.step",
                        "the route of proposal %s has no step '%s'", id, cs->step);
            goto out;
        }
        const wz_step_t *st = &scheme->route[idx];
        if (st->action != WZ_STEP_CONFIRM) {
            rc = s_fail(o, CODE(CONFLICT), "confirm_step.step",
                        "step '%s' is completed by %s, not by confirm_step", st->id,
                        st->action == WZ_STEP_ANSWER ? "answer" : "sign_lease");
            goto out;
        }
        if (me->role != st->role) {
            rc = s_fail(o, CODE(FORBIDDEN), "confirm_step.step", "step '%s' is for the %s",
                        st->id, wz_role_name(st->role));
            goto out;
        }
        bool mine = (me->role == WZ_ROLE_CORPORATION && strcmp(p->corporation, me->id) == 0) ||
                    (me->role == WZ_ROLE_CARE_PROVIDER && strcmp(p->care_provider, me->id) == 0) ||
                    (me->role == WZ_ROLE_MUNICIPALITY &&
                     strcmp(p->municipality, me->municipality) == 0);
        if (!mine) {
            rc = s_fail(o, CODE(FORBIDDEN), fld, "proposal %s is not %s's to confirm", id, me->id);
            goto out;
        }
        if (p->state != PSTATE(ACCEPTED) || strcmp(p->step, cs->step) != 0) {
            rc = s_fail(o, CODE(CONFLICT), "confirm_step.step",
                        "proposal %s is %s at step '%s', not at '%s'", id,
                        s_proposal_state(p->state), p->step, cs->step);
            goto out;
        }
        if (p->deadline_ms > 0 && wz_now_ms() > p->deadline_ms) {
            rc = s_fail(o, CODE(CONFLICT), fld, "the deadline of step '%s' has passed", cs->step);
            goto out;
        }
    }
    int done = s_exists(self, txn, marker);
    if (done < 0) goto out;
    if (done) {
        rc = s_fail(o, CODE(CONFLICT), fld, "step '%s' of proposal %s was already confirmed",
                    cs->step, id);
        goto out;
    }
    Woonzorg__V1__StepConfirmed body = WOONZORG__V1__STEP_CONFIRMED__INIT;
    body.proposal = p;
    body.step = cs->step;
    body.ok = cs->ok;
    body.reason = cs->reason;
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.payload_case = PAYLOAD(STEP_CONFIRMED);
    ev.step_confirmed = &body;
    if (wz_txn_cmd(txn, "SET %s %s", marker, cs->ok ? "ok" : "no") != 0 ||
        s_emit(txn, c, &ev) != 0)
        goto out;
    s_ok(o, id, "step '%s' of proposal %s %s", cs->step, id,
         cs->ok ? "confirmed" : "turned down");
    rc = 0;
out:
    WZ_FREE_UNPACKED(p);
    return rc;
}

#define VERDICT(x) WOONZORG__V1__REPLAY_VERDICT__OUTCOME__OUTCOME_##x

/* What differs between the stored decision and its replay, in words that
 * name no candidate (the viewer may not know them); "" when nothing does. */
static void s_difference(const WzSnapshot *snap, const char *now, const WzExplanation *then,
                         const WzExplanation *again, char *out, size_t size)
{
    *out = '\0';
    if (!then) {
        snprintf(out, size, "the snapshot holds no stored explanation to compare with");
        return;
    }
    if (strcmp(now, snap->chosen) != 0) {
        snprintf(out, size, "%s",
                 !*now           ? "the replay proposes nobody, the decision proposed a candidate"
                 : !*snap->chosen ? "the replay proposes a candidate, the decision proposed nobody"
                                  : "the replay proposes another candidate");
        return;
    }
    if (then->n_filters != again->n_filters) {
        snprintf(out, size, "the replay applies %zu rules, the decision %zu", again->n_filters,
                 then->n_filters);
        return;
    }
    for (size_t i = 0; i < then->n_filters; i++)
        if (then->filters[i]->removed != again->filters[i]->removed) {
            snprintf(out, size, "rule %s removed %u in the decision, %u in the replay",
                     then->filters[i]->rule, then->filters[i]->removed,
                     again->filters[i]->removed);
            return;
        }
    if (then->eligible != again->eligible || then->not_examined != again->not_examined)
        snprintf(out, size,
                 "%u eligible and %u not examined in the decision, %u and %u in the replay",
                 then->eligible, then->not_examined, again->eligible, again->not_examined);
    else if (strcmp(then->summary, again->summary) != 0)
        snprintf(out, size, "the explanation of the chosen candidate differs (urgency or fit)");
}

static bool s_id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.';
}

/* Replaces every occurrence of id (as a whole word) in text (of size bytes)
 * by "(a candidate)"; cuts the text before one that does not fit. */
static void s_anonymise(char *text, size_t size, const char *id)
{
    static const char anon[] = "(a candidate)";
    size_t n = strlen(id);
    if (!n) return;
    for (char *at = strstr(text, id); at; at = strstr(at, id)) {
        if ((at > text && s_id_char(at[-1])) || s_id_char(at[n])) {
            at += n;
            continue;
        }
        size_t tail = strlen(at + n);
        if ((size_t)(at - text) + sizeof anon + tail > size) {
            *at = '\0';
            return;
        }
        memmove(at + sizeof anon - 1, at + n, tail + 1);
        memcpy(at, anon, sizeof anon - 1);
        at += sizeof anon - 1;
    }
}

/* Why a snapshot cannot be replayed may name a walked candidate or the
 * nominee ("walked candidate X is out of rank order"): the viewer reads "(a
 * candidate)" unless it may see X (a nominee not in the walk: never). */
static void s_unname(char *reason, size_t size, const WzSnapshot *snap, const wz_party_t *viewer)
{
    bool nominee_known = false;
    for (size_t i = 0; i < snap->n_candidates; i++) {
        const WzCandidate *cand = snap->candidates[i];
        bool known = wz_minimise_knows(cand, viewer);
        if (snap->nominee && strcmp(cand->id, snap->nominee) == 0) nominee_known = known;
        if (!known) s_anonymise(reason, size, cand->id);
    }
    if (snap->nominee && !nominee_known) s_anonymise(reason, size, snap->nominee);
}

/* Replays decision id (a proposal or release, "<vacancy>/<round>") under the
 * loaded policy and answers the verdict. The snapshot holds the attributes of
 * every candidate the decision walked, so it never leaves the suite: the
 * reply carries the outcome and the counts (minimised for the viewer), and
 * names an erased candidate only to the municipality of its urgency. */
static int s_status_replay(wz_intake_t *self, const s_ctx_t *c, const char *id, s_out_t *o)
{
    if (c->party->role != WZ_ROLE_MUNICIPALITY)
        return s_fail(o, CODE(FORBIDDEN), "status.kind",
                      "decisions are replayed for the municipalities of the region");
    char key[KEY_MAX];
    if (s_key(self, key, c->region, "m:snapshot:%s", id) != 0) return -1;
    WzSnapshot *snap = NULL;
    int found = s_load(self, NULL, key, &woonzorg__v1__decision_snapshot__descriptor, &snap);
    if (found < 0) return -1;
    if (!found) return s_fail(o, CODE(NOT_FOUND), "status.id", "no decision %s", id);

    WzReplayVerdict v = WOONZORG__V1__REPLAY_VERDICT__INIT;
    v.decision = (char *)id;
    v.policy_version = snap->policy_version;
    v.replayed_under = (char *)self->policy->version;
    v.stored = snap->explanation;
    v.format = snap->format;
    v.walked = (uint32_t)snap->n_candidates;
    v.buckets = (uint32_t)snap->n_buckets;
    v.inactive = snap->inactive;
    v.tried = (uint32_t)snap->n_tried;
    v.decided_on = snap->decided_on;
    char reason[400] = "";
    const char *erased_id = NULL;
    for (size_t i = 0; i < snap->n_candidates; i++) {
        const WzCandidate *cand = snap->candidates[i];
        if (!cand->erased) continue;
        v.erased++;
        if (!erased_id && wz_minimise_knows(cand, c->party)) erased_id = cand->id;
    }
    wz_match_result_t r;
    size_t chosen = 0;
    if (v.erased) {
        v.outcome = VERDICT(CANNOT_REPLAY);
        v.erased_candidate = (char *)(erased_id ? erased_id : "");
        if (erased_id && v.erased == 1)
            snprintf(reason, sizeof reason,
                     "candidate %s's data was erased (retention period ended or consent "
                     "withdrawn)",
                     erased_id);
        else
            snprintf(reason, sizeof reason,
                     "the data of %u of the %zu candidates the decision walked was erased "
                     "(retention period ended or consent withdrawn)",
                     v.erased, snap->n_candidates);
    } else {
        int picked = wz_match_replay(self->policy, snap, &r, &chosen);
        if (picked < 0) {
            v.outcome = VERDICT(CANNOT_REPLAY);
            wz_strlcpy(reason, r.summary, sizeof reason);
            s_unname(reason, sizeof reason, snap, c->party);
        } else {
            v.replayed = &r.explanation;
            s_difference(snap, picked ? snap->candidates[chosen]->id : "", snap->explanation,
                         &r.explanation, reason, sizeof reason);
            v.outcome = *reason ? VERDICT(DIFFERENT) : VERDICT(SAME);
        }
    }
    v.reason = reason;
    WzReplayVerdict *owned = (WzReplayVerdict *)wz_codec_clone(&v.base);
    WZ_FREE_UNPACKED(snap);
    if (!owned) return -1;
    wz_minimise_verdict(owned, c->party);
    if (owned->outcome == VERDICT(SAME))
        s_ok(o, id, "decision %s replayed under policy %s: the same decision", id,
             self->policy->version);
    else if (owned->outcome == VERDICT(DIFFERENT))
        s_ok(o, id, "decision %s replayed under policy %s: DIFFERENT: %s", id,
             self->policy->version, owned->reason);
    else
        s_ok(o, id, "decision %s cannot be replayed: %s", id, owned->reason);
    o->reply.result_case = WOONZORG__V1__REPLY__RESULT_REPLAY;
    o->reply.replay = owned;
    o->owned = &owned->base;
    return 0;
}

/* Nominate mode: the care provider asked for a vacancy nominates one of its
 * own candidates; matching checks eligibility and answers with a proposal or
 * a NominationRefused (with the explanation). */
static int s_nominate(wz_intake_t *self, wz_txn_t *txn, const s_ctx_t *c, s_out_t *o)
{
    const Woonzorg__V1__Nominate *n = c->req->nominate;
    char vkey[KEY_MAX], ckey[KEY_MAX];
    if (s_key(self, vkey, c->region, "m:vacancy:%s", n->vacancy_id) != 0 ||
        s_key(self, ckey, c->region, "candidate:%s", n->candidate_id) != 0)
        return -1;
    if (wz_txn_watch(txn, vkey) != 0) return -1;
    WzVacancy *v = NULL;
    WzCandidate *cand = NULL;
    int rc = -1;
    int found = s_load(self, txn, vkey, &woonzorg__v1__vacancy__descriptor, &v);
    if (found < 0) goto out;
    if (!found) {
        rc = s_fail(o, CODE(NOT_FOUND), "nominate.vacancy_id", "vacancy %s not found",
                    n->vacancy_id);
        goto out;
    }
    if (v->state != VSTATE(MATCHING) || !v->nominator || strcmp(v->nominator, c->party->id) != 0) {
        rc = s_fail(o, CODE(CONFLICT), "nominate.vacancy_id",
                    "vacancy %s is not waiting for a nomination by %s", n->vacancy_id,
                    c->party->id);
        goto out;
    }
    found = s_load(self, txn, ckey, &woonzorg__v1__candidate__descriptor, &cand);
    if (found < 0) goto out;
    if (!found || strcmp(cand->care_provider, c->party->id) != 0) {
        rc = s_fail(o, found ? CODE(FORBIDDEN) : CODE(NOT_FOUND), "nominate.candidate_id",
                    "candidate %s is not registered by %s", n->candidate_id, c->party->id);
        goto out;
    }
    Woonzorg__V1__CandidateNominated body = WOONZORG__V1__CANDIDATE_NOMINATED__INIT;
    body.vacancy_id = n->vacancy_id;
    body.candidate_id = n->candidate_id;
    body.care_provider = (char *)c->party->id;
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.payload_case = PAYLOAD(CANDIDATE_NOMINATED);
    ev.candidate_nominated = &body;
    if (s_emit(txn, c, &ev) != 0) goto out;
    s_ok(o, n->vacancy_id, "candidate %s nominated for vacancy %s; matching checks eligibility",
         n->candidate_id, n->vacancy_id);
    rc = 0;
out:
    WZ_FREE_UNPACKED(v);
    WZ_FREE_UNPACKED(cand);
    return rc;
}

static int s_status(wz_intake_t *self, const s_ctx_t *c, s_out_t *o)
{
    const Woonzorg__V1__StatusQuery *q = c->req->status;
    switch (q->kind) {
    case WOONZORG__V1__STATUS_QUERY__KIND__KIND_VACANCY:
        return s_status_vacancy(self, c, q->id, o);
    case WOONZORG__V1__STATUS_QUERY__KIND__KIND_CANDIDATE:
        return s_status_candidate(self, c, q->id, o);
    case WOONZORG__V1__STATUS_QUERY__KIND__KIND_PROPOSAL:
        return s_status_proposal(self, c, q->id, o);
    case WOONZORG__V1__STATUS_QUERY__KIND__KIND_REPLAY:
        return s_status_replay(self, c, q->id, o);
    default:
        return s_fail(o, CODE(INVALID), "status.kind",
                      "status.kind must be vacancy, candidate or proposal");
    }
}

/* --- the request pipeline ------------------------------------------------- */

/* Which role may send a mutating request (validation says so too; the
 * decisions below rely on it, so it is checked here as well). */
static bool s_role_allowed(const WzRequest *req, wz_role_t role)
{
    switch (req->body_case) {
    case BODY(PUBLISH_VACANCY):
    case BODY(WITHDRAW_VACANCY):
    case BODY(SIGN_LEASE):
        return role == WZ_ROLE_CORPORATION;
    case BODY(REGISTER_CANDIDATE):
    case BODY(WITHDRAW_CANDIDATE):
    case BODY(ANSWER):
    case BODY(NOMINATE):
        return role == WZ_ROLE_CARE_PROVIDER;
    case BODY(GRANT_URGENCY):
        return role == WZ_ROLE_MUNICIPALITY;
    default:
        return true;
    }
}

static s_decide_fn s_decider(const WzRequest *req)
{
    switch (req->body_case) {
    case BODY(PUBLISH_VACANCY):
        return s_publish_vacancy;
    case BODY(WITHDRAW_VACANCY):
        return s_withdraw_vacancy;
    case BODY(REGISTER_CANDIDATE):
        return s_register_candidate;
    case BODY(WITHDRAW_CANDIDATE):
        return s_withdraw_candidate;
    case BODY(GRANT_URGENCY):
        return s_grant_urgency;
    case BODY(ANSWER):
        return s_answer;
    case BODY(SIGN_LEASE):
        return s_sign_lease;
    case BODY(CONFIRM_STEP):
        return s_confirm_step;
    case BODY(NOMINATE):
        return s_nominate;
    default:
        return NULL;
    }
}

/* Decides a mutating request in a transaction and commits the effect, the
 * event and the stored reply together. Sets *bytes on a commit or when the
 * request turned out to be answered already; leaves o as UNAVAILABLE when
 * storage failed. Returns -1 on OOM only. */
static int s_mutate(wz_intake_t *self, const s_ctx_t *c, s_decide_fn decide, const char *idem,
                    s_out_t *o, uint8_t **bytes, size_t *len, bool *replayed)
{
    const char *why = NULL;
    for (int attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
        wz_txn_t *txn = wz_txn_begin(self->store, self->pub, c->region);
        if (!txn) {
            why = wz_store_errstr(self->store);
            break;
        }
        uint8_t *stored = NULL;
        size_t stored_len = 0;
        /* Again under WATCH: a retry racing the first attempt must not act twice. */
        int found = wz_txn_watch(txn, idem) == 0
                        ? wz_store_get_bytes(self->store, idem, &stored, &stored_len)
                        : -1;
        if (found != 0) {
            wz_txn_destroy(&txn);
            if (found > 0) {
                *bytes = stored;
                *len = stored_len;
                *replayed = true;
                return 0;
            }
            why = wz_store_errstr(self->store);
            break;
        }
        s_out_clear(o);
        if (decide(self, txn, c, o) != 0) {
            wz_txn_destroy(&txn);
            why = wz_store_errstr(self->store);
            break;
        }
        size_t packed_len = 0;
        uint8_t *packed = s_pack(o, &packed_len);
        if (!packed) {
            wz_txn_destroy(&txn);
            return -1;
        }
        if (wz_txn_cmd(txn, "SET %s %b EX %d", idem, packed, packed_len, self->idem_ttl_s) != 0) {
            free(packed);
            wz_txn_destroy(&txn);
            why = "cannot queue the stored reply";
            break;
        }
        int committed = wz_txn_commit(txn);
        wz_txn_destroy(&txn);
        if (committed == 0) {
            *bytes = packed;
            *len = packed_len;
            return 0;
        }
        free(packed);
        if (committed < 0) {
            why = wz_store_errstr(self->store);
            break;
        }
        why = "concurrent changes; gave up after retries";
    }
    return s_unavailable(o, why);
}

/* Everything after authentication and a readable request_id. Sets *bytes
 * when the reply is already packed (replays and commits); otherwise o holds
 * the reply. Returns -1 on OOM only. */
static int s_dispatch(wz_intake_t *self, const s_ctx_t *c, s_out_t *o, uint8_t **bytes, size_t *len,
                      bool *replayed)
{
    const WzRequest *req = c->req;
    char idem[KEY_MAX];
    if (s_key(self, idem, c->region, "idem:%s:%s", c->party->id, req->request_id) != 0)
        return s_fail(o, CODE(INVALID), "request_id", "request_id is too long");
    wz_verdict_t verdict;
    memset(&verdict, 0, sizeof verdict);
    bool valid = req->body_case != BODY(AUDIT) &&
                 wz_validate_request(req, self->policy, c->party, &verdict) == 0 &&
                 s_role_allowed(req, c->party->role);
    /* A valid command looks for its stored reply under WATCH in s_mutate
     * anyway; reading it here too would cost every publish one more Redis
     * round trip (docs/performance.md). Validation is pure, so deciding
     * first changes no answer. */
    if (valid && req->body_case != BODY(STATUS) && s_decider(req))
        return s_mutate(self, c, s_decider(req), idem, o, bytes, len, replayed);
    uint8_t *stored = NULL;
    size_t stored_len = 0;
    int found = wz_store_get_bytes(self->store, idem, &stored, &stored_len);
    if (found < 0) {
        return s_unavailable(o, wz_store_errstr(self->store));
    }
    if (found > 0) {
        *bytes = stored;
        *len = stored_len;
        *replayed = true;
        return 0;
    }
    memset(&verdict, 0, sizeof verdict);
    if (req->body_case == BODY(AUDIT)) {
        s_fail(o, CODE(UNKNOWN_TYPE), "audit", "audit queries go to the audit endpoint");
    } else if (wz_validate_request(req, self->policy, c->party, &verdict) != 0) {
        s_fail(o, verdict.code == CODE(OK) ? CODE(INVALID) : verdict.code, verdict.field, "%s",
               verdict.message);
    } else if (!s_role_allowed(req, c->party->role)) {
        s_fail(o, CODE(FORBIDDEN), s_type_name(req), "a %s may not send %s",
               wz_role_name(c->party->role), s_type_name(req));
    } else if (req->body_case == BODY(STATUS)) {
        if (s_status(self, c, o) != 0) s_unavailable(o, wz_store_errstr(self->store));
        return 0;
    } else if (s_decider(req)) {
        return s_mutate(self, c, s_decider(req), idem, o, bytes, len, replayed);
    } else {
        s_fail(o, CODE(UNKNOWN_TYPE), "", "the request has no body intake serves");
    }
    /* Refused before any state was read: stored as well, so that a retry of
     * this request_id gets this answer even if the rules change meanwhile. */
    *bytes = s_pack(o, len);
    if (!*bytes) return -1;
    redisReply *r =
        wz_store_cmd(self->store, "SET %s %b EX %d NX", idem, *bytes, *len, self->idem_ttl_s);
    if (r) freeReplyObject(r);
    return 0;
}

int wz_intake_handle(wz_intake_t *self, const char *party_id, const void *data, size_t len,
                     uint8_t **reply, size_t *reply_len)
{
    WzRequest *req = wz_request_unpack(data, len);
    const wz_party_t *party = party_id ? wz_policy_party(self->policy, party_id) : NULL;
    s_out_t o;
    s_out_init(&o, req ? req->request_id : NULL);
    uint8_t *bytes = NULL;
    size_t n = 0;
    bool replayed = false;
    int rc = 0;
    if (!party)
        s_fail(&o, CODE(FORBIDDEN), "", "the client key belongs to no configured party");
    else if (!req)
        s_fail(&o, CODE(MALFORMED), "", "request is not a woonzorg.v1.Request");
    else if (!wz_id_valid(req->request_id, MAX_REQUEST_ID))
        s_fail(&o, CODE(INVALID), "request_id",
               "request_id must be 1 to %d characters of A-Z a-z 0-9 . _ -", MAX_REQUEST_ID);
    else {
        s_ctx_t c = {req, party, party->region};
        wz_log_context(self->log, "request_id", req->request_id);
        rc = s_dispatch(self, &c, &o, &bytes, &n, &replayed);
    }
    if (rc == 0 && !bytes) bytes = s_pack(&o, &n);

    WzCode code = o.reply.code;
    if (replayed) {
        WzReply *first = wz_reply_unpack(bytes, n);
        code = first ? first->code : code;
        WZ_FREE_UNPACKED(first);
    }
    bool id_ok = req && wz_id_valid(req->request_id, MAX_REQUEST_ID);
    wz_log(self->log, code == CODE(UNAVAILABLE) ? WZ_LOG_WARN : WZ_LOG_INFO, "request",
           "request_id", id_ok ? req->request_id : "", "party", party_id ? party_id : "", "type",
           req ? s_type_name(req) : "unreadable", "code", s_code_name(code),
           replayed     ? "replayed"
           : o.error[0] ? "error"
                        : NULL,
           replayed ? "true" : o.error, NULL);
    wz_log_context(self->log, NULL, NULL);
    wz_metrics_add(self->metrics, WZ_M_REQUESTS, req ? s_type_name(req) : "unreadable",
                   s_code_name(code), 1);
    WZ_FREE_UNPACKED(o.owned);
    WZ_FREE_UNPACKED(req);
    if (!bytes) return -1;
    *reply = bytes;
    *reply_len = n;
    return 0;
}

/* --- construction and the socket ----------------------------------------- */

/* A reload hands over the new policy; requests from then on use its rules. */
static void s_on_reload(void *arg, const wz_policy_t *policy)
{
    wz_intake_t *self = arg;
    self->policy = policy;
}

wz_intake_t *wz_intake_new(wz_runtime_t *rt, void *router, wz_pub_t *pub)
{
    wz_intake_t *self = calloc(1, sizeof *self);
    if (!self) return NULL;
    self->store = rt->store;
    self->policy = rt->policy;
    self->log = rt->log;
    self->pub = pub;
    self->router = router;
    self->idem_ttl_s = rt->settings.idempotency_ttl_s > 0 ? rt->settings.idempotency_ttl_s : 86400;
    self->metrics = rt->metrics;
    if (wz_runtime_on_reload(rt, s_on_reload, self) != 0) {
        free(self);
        return NULL;
    }
    return self;
}

void wz_intake_destroy(wz_intake_t **self_p)
{
    if (!self_p || !*self_p) return;
    free(*self_p);
    *self_p = NULL;
}

/* Answers one [routing id][payload] message. */
static void s_serve(void *arg, void *router, zmq_msg_t *routing, zmq_msg_t *payload)
{
    wz_intake_t *self = arg;
    uint8_t *reply = NULL;
    size_t len = 0;
    if (wz_intake_handle(self, wz_zap_party(payload), zmq_msg_data(payload), zmq_msg_size(payload),
                        &reply, &len) != 0) {
        wz_log(self->log, WZ_LOG_ERROR, "out of memory; request dropped", NULL);
        return;
    }
    if (wz_server_send(router, routing, reply, len) != 0)
        wz_log(self->log, WZ_LOG_INFO, "reply not delivered", "error", zmq_strerror(errno), NULL);
    free(reply);
}

int wz_intake_on_router(wz_loop_t *loop, void *socket, void *arg)
{
    (void)loop;
    wz_intake_t *self = arg;
    wz_server_drain(socket, RECV_BUDGET, s_serve, self, self->log);
    return 0;
}
