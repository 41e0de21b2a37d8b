/* test_canary.c - recognisable personal strings, put by parties into every
 * free-text field they can send (a parked candidate's reason, a decline
 * note, and, refused, into ids, dates-as-text and reasons that are not the
 * policy's), must appear in no log line of any service and in no metric of
 * any /metrics page, nor in plain in any audit entry (those payloads are
 * sealed per candidate). test_erasure: erasing a candidate (withdrawn, or
 * consent withdrawn) destroys its key, the chain still verifies. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "wz_it.h"
#include "wz_testhttp.h"
#include "wz_testmain.h"

#define ZKIJ "zkij"
#define NO_EXPIRY 600
#define CANARY "Kanarie"

static const char *const s_services[] = {"intake", "matching", "notification", "audit"};

static bool s_contains(const char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return true;
    return false;
}

/* Fails when any entry of the region's audit stream holds needle in plain. */
static void s_not_in_audit(it_t *it, const char *needle)
{
    char key[IT_KEY_MAX];
    it_key(it, key, ZKIJ, "audit");
    redisReply *r = wz_store_cmd(it->store, "XRANGE %s - +", key);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_ge(r->elements, 1);
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *fields = r->element[i]->element[1];
        for (size_t k = 0; k < fields->elements; k++) {
            const redisReply *f = fields->element[k];
            ck_assert_msg(!s_contains(f->str, f->len, needle), "audit entry %s holds '%s' in plain",
                          r->element[i]->element[0]->str, needle);
        }
    }
    freeReplyObject(r);
}

/* Fails when any service's log or metrics hold the canary. */
static void s_no_canary(it_t *it)
{
    for (size_t i = 0; i < 4; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s.log", wz_testenv_dir(it->env), s_services[i]);
        FILE *f = fopen(path, "r");
        ck_assert_ptr_nonnull(f);
        char line[8192];
        int lineno = 0;
        while (fgets(line, sizeof line, f)) {
            lineno++;
            ck_assert_msg(strstr(line, CANARY) == NULL, "%s.log:%d holds the canary: %s",
                          s_services[i], lineno, line);
        }
        fclose(f);
        static char body[1 << 17];
        int status = wz_test_http_get_addr(wz_settings_http(it->settings, s_services[i]),
                                           "/metrics", body, sizeof body, IT_CALL_MS);
        ck_assert_int_eq(status, 200);
        ck_assert_msg(strstr(body, CANARY) == NULL, "%s /metrics holds the canary", s_services[i]);
    }
}

/* A registration of candidate c, parked until 2099 for reason (free text a
 * care provider may write). Filled in place: it points into itself. */
typedef struct {
    WzHousehold household;
    WzDate until;
    WzCandidate cand;
    WzRequest req;
} s_parked_t;

static void s_parked(s_parked_t *p, const it_candidate_t *c, const char *reason)
{
    woonzorg__v1__household__init(&p->household);
    p->household.adults = 1;
    woonzorg__v1__date__init(&p->until);
    p->until.year = 2099;
    p->until.month = 1;
    p->until.day = 1;
    woonzorg__v1__candidate__init(&p->cand);
    p->cand.id = (char *)c->id;
    p->cand.municipality = (char *)c->municipality;
    p->cand.group = (char *)c->group;
    p->cand.household = &p->household;
    p->cand.age_band = c->age_band;
    p->cand.income_class = c->income;
    p->cand.consent = true;
    p->cand.parked_until = &p->until;
    p->cand.park_reason = (char *)reason;
    woonzorg__v1__request__init(&p->req);
    p->req.body_case = WOONZORG__V1__REQUEST__BODY_REGISTER_CANDIDATE;
    p->req.register_candidate = &p->cand;
}

START_TEST(test_canary_nowhere)
{
    it_t it;
    it_open(&it, NO_EXPIRY);
    wz_client_t *kam = it_client(&it, "ribw-kam");
    wz_client_t *haarlem = it_client(&it, "gem-haarlem");
    wz_client_t *pre = it_client(&it, "pre-wonen");

    /* A parked candidate, with a personal reason as free text. */
    it_candidate_t c0 = it_candidate("kam-0970");
    s_parked_t parked;
    s_parked(&parked, &c0, "Jan " CANARY " (BSN 123456782) is opgenomen");
    WzReply *r = it_send(kam, &parked.req);
    it_ok(&r);

    /* An active one gets a proposal, declined with a personal note. */
    it_candidate_t c = it_candidate("kam-0971");
    r = it_register(kam, NULL, &c);
    it_ok(&r);
    r = it_grant(haarlem, NULL, "kam-0971", 2025, 1, 5);
    it_ok(&r);
    it_wait_candidate_state(&it, ZKIJ, "kam-0971", IT_CSTATE(ACTIVE));
    it_vacancy_t v = it_vacancy("PW-2025-0970");
    r = it_publish(pre, NULL, &v);
    it_ok(&r);
    it_wait_vacancy_state(&it, ZKIJ, "PW-2025-0970", IT_VSTATE(OFFERED));
    r = it_answer(kam, NULL, "PW-2025-0970/1", false,
                  "client_refuses: mevrouw " CANARY " woont liever bij haar zus");
    it_ok(&r);
    WzProposal *p = NULL;
    int64_t deadline = wz_mono_ms() + IT_WAIT_MS;
    for (;;) {
        p = it_proposal(&it, ZKIJ, "PW-2025-0970/1");
        bool done = p->state == IT_PSTATE(DECLINED);
        WZ_FREE_UNPACKED(p);
        if (done)
            break;
        ck_assert_msg(wz_mono_ms() < deadline, "the decline was not applied");
        zmq_poll(NULL, 0, 50);
    }

    /* Refused input carrying the canary: the refusal goes back to the
     * sender, not into any log. */
    r = it_answer(kam, NULL, "PW-2025-0970/1", false, CANARY " Pietersen");
    ck_assert_int_ne(r->code, IT_CODE(OK));
    WZ_FREE_UNPACKED(r);
    it_candidate_t bad = it_candidate("Jan " CANARY);
    r = it_register(kam, NULL, &bad);
    it_refused(&r, IT_CODE(INVALID), "register_candidate.id");
    r = it_status(haarlem, IT_KIND(CANDIDATE), CANARY " 123456782");
    ck_assert_int_ne(r->code, IT_CODE(OK));
    WZ_FREE_UNPACKED(r);
    WzRequest odd = WOONZORG__V1__REQUEST__INIT;
    odd.body_case = WOONZORG__V1__REQUEST__BODY_STATUS;
    Woonzorg__V1__StatusQuery q = WOONZORG__V1__STATUS_QUERY__INIT;
    q.kind = IT_KIND(VACANCY);
    q.id = "PW-2025-0970";
    odd.status = &q;
    odd.request_id = "Jan " CANARY " as request id";
    r = NULL;
    ck_assert_int_eq(wz_client_call(pre, &odd, IT_CALL_MS, 1000, &r), 0);
    it_refused(&r, IT_CODE(INVALID), "request_id");

    /* Everything above has been through every service (the decline was
     * applied by matching, delivered by notification, chained by audit). */
    wz_listener_t *mail = it_listener(&it, "pre-wonen");
    wz_listener_destroy(&mail);
    static const int chained[] = {IT_EV(CANDIDATE_REGISTERED), IT_EV(PROPOSAL_ANSWERED)};
    it_wait_audit_order(&it, "gem-haarlem", chained, 2);
    s_no_canary(&it);
    s_not_in_audit(&it, CANARY);

    wz_client_destroy(&kam);
    wz_client_destroy(&haarlem);
    wz_client_destroy(&pre);
    it_close(&it);
}
END_TEST

/* The audit entries about a candidate, as a municipality reads them. */
static void s_audit_about(it_t *it, const char *candidate, int *readable, int *erased)
{
    wz_client_t *a = it_audit_client(it, "gem-haarlem");
    WzReply *r = it_audit_tail(a, 1000);
    ck_assert_int_eq(r->code, IT_CODE(OK));
    *readable = *erased = 0;
    char key[IT_KEY_MAX];
    it_key(it, key, ZKIJ, "audit");
    for (size_t i = 0; i < r->audit->n_entries; i++) {
        const WzAuditEntry *e = r->audit->entries[i];
        if (e->erased) {
            ck_assert_ptr_null(e->event);
            (*erased)++;
        } else if (e->event && e->event->payload_case == IT_EV(CANDIDATE_REGISTERED) &&
                   !strcmp(e->event->candidate_registered->candidate->id, candidate)) {
            /* Opened with the candidate's key (the parked date came out of
             * the sealed payload), then cut down for the municipality: the
             * park reason is the candidate's business (wz_minimise). */
            const WzCandidate *seen = e->event->candidate_registered->candidate;
            ck_assert_ptr_nonnull(seen->parked_until);
            ck_assert_int_eq(seen->parked_until->year, 2099);
            ck_assert_str_eq(seen->park_reason, "");
            (*readable)++;
        }
    }
    WZ_FREE_UNPACKED(r);
    wz_client_destroy(&a);
}

START_TEST(test_erasure)
{
    it_t it;
    it_open(&it, NO_EXPIRY);
    wz_client_t *kam = it_client(&it, "ribw-kam");
    it_candidate_t c = it_candidate("kam-0980");
    s_parked_t parked;
    s_parked(&parked, &c, "opgenomen, " CANARY);
    WzReply *r = it_send(kam, &parked.req);
    it_ok(&r);
    static const int registered[] = {IT_EV(CANDIDATE_REGISTERED)};
    it_wait_audit_order(&it, "gem-haarlem", registered, 1);

    /* Sealed in Redis, readable through audit while the key exists. */
    ck_assert(it_exists(&it, ZKIJ, "audit:key:kam-0980"));
    s_not_in_audit(&it, CANARY);
    int readable = 0, erased = 0;
    s_audit_about(&it, "kam-0980", &readable, &erased);
    ck_assert_int_eq(readable, 1);
    ck_assert_int_eq(erased, 0);

    /* Consent withdrawn: an update without consent. The key goes. */
    parked.cand.consent = false;
    r = it_send(kam, &parked.req);
    it_ok(&r);
    int64_t deadline = wz_mono_ms() + IT_WAIT_MS;
    while (it_exists(&it, ZKIJ, "audit:key:kam-0980")) {
        ck_assert_msg(wz_mono_ms() < deadline, "the candidate key was not destroyed");
        zmq_poll(NULL, 0, 50);
    }
    s_audit_about(&it, "kam-0980", &readable, &erased);
    ck_assert_int_eq(readable, 0);
    ck_assert_int_ge(erased, 2); /* the registration and the update */

    /* The chain still verifies, entries and hashes untouched. */
    it_verify_intact(&it, ZKIJ, "after erasure");

    wz_client_destroy(&kam);
    it_close(&it);
}
END_TEST

int main(void)
{
    TCase *tc = wz_test_case("canary", IT_TCASE_TIMEOUT,
                             (const TTest *const[]){test_canary_nowhere, test_erasure, NULL});
    return wz_test_run("canary", (TCase *const[]){tc, NULL});
}
