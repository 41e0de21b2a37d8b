/* test_badinput.c - bad input against the real services: malformed bytes,
 * requests without a body, missing and out-of-range fields, unknown ids,
 * parties acting on what is not theirs, and keys nobody configured. Each
 * refusal must carry its stable code and field, store nothing, emit no event,
 * and leave the service answering the next correct request. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wz_it.h"
#include "wz_testmain.h"
#include "wz_keys.h"

#define ZKIJ "zkij"
#define NO_EXPIRY 600

/* The intake outbox did not grow and the vacancy was not stored. */
static void s_nothing_stored(it_t *it, long long stream_before, const char *vacancy)
{
    ck_assert_int_eq(it_stream_len(it, ZKIJ, "intake"), stream_before);
    if (vacancy) {
        char suffix[128];
        snprintf(suffix, sizeof suffix, "vacancy:%s", vacancy);
        ck_assert_msg(!it_exists(it, ZKIJ, suffix), "%s was stored", suffix);
        snprintf(suffix, sizeof suffix, "m:vacancy:%s", vacancy);
        ck_assert_msg(!it_exists(it, ZKIJ, suffix), "%s was stored", suffix);
    }
}

/* A correct publication still works: the service keeps serving. */
static void s_still_serves(it_t *it, wz_client_t *corp, const char *id)
{
    long long before = it_stream_len(it, ZKIJ, "intake");
    it_vacancy_t v = it_vacancy(id);
    WzReply *r = it_publish(corp, NULL, &v);
    it_ok(&r);
    ck_assert_int_eq(it_stream_len(it, ZKIJ, "intake"), before + 1);
}

START_TEST(test_malformed_bytes)
{
    it_t it;
    it_open(&it, NO_EXPIRY);
    wz_client_t *corp = it_client(&it, "pre-wonen");
    wz_client_t *audit = it_audit_client(&it, "gem-haarlem");
    long long before = it_stream_len(&it, ZKIJ, "intake");

    /* A length-delimited field that claims 16 bytes and carries 1; a lone
     * varint that never ends; and plain text. */
    static const uint8_t truncated[] = {0x0a, 0x10, 'a'};
    static const uint8_t endless[] = {0x08, 0xff, 0xff, 0xff};
    static const char text[] = "PUBLISH PW-2025-0142 please";
    struct {
        const void *data;
        size_t len;
    } junk[] = {{truncated, sizeof truncated}, {endless, sizeof endless}, {text, sizeof text - 1}};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        WzReply *r = NULL;
        ck_assert_int_eq(wz_client_call_raw(corp, junk[i].data, junk[i].len, IT_CALL_MS, &r), 0);
        it_refused(&r, IT_CODE(MALFORMED), "");
        ck_assert_int_eq(wz_client_call_raw(audit, junk[i].data, junk[i].len, IT_CALL_MS, &r), 0);
        it_refused(&r, IT_CODE(MALFORMED), "");
    }
    s_nothing_stored(&it, before, NULL);
    s_still_serves(&it, corp, "PW-2025-0142");

    /* Audit still answers as well. */
    WzReply *r = it_audit_tail(audit, 5);
    it_ok(&r);

    wz_client_destroy(&corp);
    wz_client_destroy(&audit);
    it_close(&it);
}
END_TEST

START_TEST(test_unknown_type)
{
    it_t it;
    it_open(&it, NO_EXPIRY);
    wz_client_t *corp = it_client(&it, "pre-wonen");
    wz_client_t *muni = it_client(&it, "gem-haarlem");
    wz_client_t *audit = it_audit_client(&it, "gem-haarlem");
    long long before = it_stream_len(&it, ZKIJ, "intake");

    /* No body at all. */
    WzRequest req = WOONZORG__V1__REQUEST__INIT;
    req.request_id = "no-body-1";
    WzReply *r = it_send(corp, &req);
    ck_assert_str_eq(r->request_id, "no-body-1");
    it_refused(&r, IT_CODE(UNKNOWN_TYPE), "");
    r = it_send(audit, &req);
    it_refused(&r, IT_CODE(UNKNOWN_TYPE), "");

    /* A body the endpoint does not serve: audit queries to intake, a
     * publication to audit. */
    Woonzorg__V1__AuditQuery q = WOONZORG__V1__AUDIT_QUERY__INIT;
    q.last = 5;
    WzRequest aq = WOONZORG__V1__REQUEST__INIT;
    aq.body_case = WOONZORG__V1__REQUEST__BODY_AUDIT;
    aq.audit = &q;
    r = it_send(muni, &aq);
    ck_assert_int_eq(r->code, IT_CODE(UNKNOWN_TYPE));
    WZ_FREE_UNPACKED(r);
    wz_client_t *corp_audit = it_audit_client(&it, "pre-wonen");
    it_vacancy_t v = it_vacancy("PW-2025-0200");
    r = it_publish(corp_audit, NULL, &v);
    it_refused(&r, IT_CODE(UNKNOWN_TYPE), "");
    s_nothing_stored(&it, before, "PW-2025-0200");
    s_still_serves(&it, corp, "PW-2025-0200");

    wz_client_destroy(&corp_audit);
    wz_client_destroy(&corp);
    wz_client_destroy(&muni);
    wz_client_destroy(&audit);
    it_close(&it);
}
END_TEST

START_TEST(test_invalid_fields)
{
    it_t it;
    it_open(&it, NO_EXPIRY);
    wz_client_t *corp = it_client(&it, "pre-wonen");
    wz_client_t *care = it_client(&it, "ribw-kam");
    wz_client_t *muni = it_client(&it, "gem-haarlem");
    long long before = it_stream_len(&it, ZKIJ, "intake");

    struct {
        it_vacancy_t v;
        const char *field;
    } vac[12];
    size_t n = 0;
    for (size_t i = 0; i < sizeof vac / sizeof vac[0]; i++)
        vac[i].v = it_vacancy("PW-2025-0300");
    vac[n].v.municipality = "";
    vac[n++].field = "publish_vacancy.municipality";
    vac[n].v.municipality = "amsterdam";
    vac[n++].field = "publish_vacancy.municipality";
    vac[n].v.neighbourhood = "";
    vac[n++].field = "publish_vacancy.neighbourhood";
    vac[n].v.neighbourhood = "BU04530102"; /* IJmuiden, not Haarlem */
    vac[n++].field = "publish_vacancy.neighbourhood";
    vac[n].v.rent_cents = 0;
    vac[n++].field = "publish_vacancy.rent_cents";
    vac[n].v.rent_cents = 900000;
    vac[n++].field = "publish_vacancy.rent_cents";
    vac[n].v.rooms = 0;
    vac[n++].field = "publish_vacancy.rooms";
    vac[n].v.rooms = 40;
    vac[n++].field = "publish_vacancy.rooms";
    vac[n].v.area_m2 = 4000;
    vac[n++].field = "publish_vacancy.floor_area_m2";
    vac[n].v.address = "";
    vac[n++].field = "publish_vacancy.address";
    vac[n].v.access = 64;
    vac[n++].field = "publish_vacancy.access";
    vac[n].v.id = "PW 2025/0300";
    vac[n++].field = "publish_vacancy.id";
    for (size_t i = 0; i < n; i++) {
        WzReply *r = it_publish(corp, NULL, &vac[i].v);
        it_refused(&r, IT_CODE(INVALID), vac[i].field);
    }
    s_nothing_stored(&it, before, "PW-2025-0300");

    /* A vacancy without its availability date. */
    WzVacancy bare = WOONZORG__V1__VACANCY__INIT;
    bare.id = "PW-2025-0300";
    bare.municipality = "haarlem";
    bare.neighbourhood = "BU03920101";
    bare.complex = "vijfhoek-3";
    bare.address = "Kruisstraat 12";
    bare.rooms = 2;
    bare.floor_area_m2 = 48;
    bare.rent_cents = 61250;
    WzRequest req = WOONZORG__V1__REQUEST__INIT;
    req.body_case = WOONZORG__V1__REQUEST__BODY_PUBLISH_VACANCY;
    req.publish_vacancy = &bare;
    WzReply *r = it_send(corp, &req);
    it_refused(&r, IT_CODE(INVALID), "publish_vacancy.available_from");

    /* Candidates. */
    it_candidate_t c = it_candidate("kam-0300");
    c.consent = false;
    r = it_register(care, NULL, &c);
    it_refused(&r, IT_CODE(INVALID), "register_candidate.consent");
    c = it_candidate("kam-0300");
    c.adults = 0;
    r = it_register(care, NULL, &c);
    it_refused(&r, IT_CODE(INVALID), "register_candidate.household.adults");
    c = it_candidate("kam-0300");
    c.group = "vip";
    r = it_register(care, NULL, &c);
    it_refused(&r, IT_CODE(INVALID), "register_candidate.group");
    c = it_candidate("kam-0300");
    c.age_band = 0;
    r = it_register(care, NULL, &c);
    it_refused(&r, IT_CODE(INVALID), "register_candidate.age_band");
    c = it_candidate("kam-0300");
    c.income = 7;
    r = it_register(care, NULL, &c);
    it_refused(&r, IT_CODE(INVALID), "register_candidate.income_class");
    ck_assert(!it_exists(&it, ZKIJ, "candidate:kam-0300"));

    /* Answers, leases, grants, request ids. */
    r = it_answer(care, NULL, "", true, NULL);
    it_refused(&r, IT_CODE(INVALID), "answer.proposal_id");
    r = it_sign(corp, NULL, "PW-2025-0300", 0);
    it_refused(&r, IT_CODE(INVALID), "sign_lease.contract");
    r = it_sign(corp, NULL, "PW-2025-0300", 99);
    it_refused(&r, IT_CODE(INVALID), "sign_lease.contract");
    c = it_candidate("kam-0301");
    r = it_register(care, NULL, &c);
    it_ok(&r);
    long long after_register = it_stream_len(&it, ZKIJ, "intake");
    ck_assert_int_eq(after_register, before + 1);
    r = it_grant(muni, NULL, "kam-0301", 2025, 2, 30);
    it_refused(&r, IT_CODE(INVALID), "grant_urgency.date");
    it_vacancy_t ok = it_vacancy("PW-2025-0300");
    r = it_publish(corp, "not a valid id!", &ok);
    it_refused(&r, IT_CODE(INVALID), "request_id");
    r = it_status(corp, 9, "PW-2025-0300");
    it_refused(&r, IT_CODE(INVALID), "status.kind");
    s_nothing_stored(&it, after_register, "PW-2025-0300");

    /* The same requests, corrected, go through. */
    r = it_grant(muni, NULL, "kam-0301", 2025, 2, 28);
    it_ok(&r);
    s_still_serves(&it, corp, "PW-2025-0300");

    wz_client_destroy(&corp);
    wz_client_destroy(&care);
    wz_client_destroy(&muni);
    it_close(&it);
}
END_TEST

START_TEST(test_unknown_ids)
{
    it_t it;
    it_open(&it, NO_EXPIRY);
    wz_client_t *corp = it_client(&it, "pre-wonen");
    wz_client_t *care = it_client(&it, "ribw-kam");
    wz_client_t *muni = it_client(&it, "gem-haarlem");
    long long before = it_stream_len(&it, ZKIJ, "intake");

    WzReply *r = it_withdraw(corp, NULL, "PW-1999-0001");
    it_refused(&r, IT_CODE(NOT_FOUND), "withdraw_vacancy.id");
    r = it_sign(corp, NULL, "PW-1999-0001", IT_CONTRACT(REGULAR));
    it_refused(&r, IT_CODE(NOT_FOUND), "sign_lease.vacancy_id");
    r = it_answer(care, NULL, "PW-1999-0001/1", true, NULL);
    it_refused(&r, IT_CODE(NOT_FOUND), "answer.proposal_id");
    r = it_grant(muni, NULL, "kam-9999", 2025, 1, 1);
    it_refused(&r, IT_CODE(NOT_FOUND), "grant_urgency.candidate_id");
    Woonzorg__V1__IdRef ref = WOONZORG__V1__ID_REF__INIT;
    ref.id = "kam-9999";
    WzRequest wc = WOONZORG__V1__REQUEST__INIT;
    wc.body_case = WOONZORG__V1__REQUEST__BODY_WITHDRAW_CANDIDATE;
    wc.withdraw_candidate = &ref;
    r = it_send(care, &wc);
    it_refused(&r, IT_CODE(NOT_FOUND), "withdraw_candidate.id");
    r = it_status(corp, IT_KIND(VACANCY), "PW-1999-0001");
    it_refused(&r, IT_CODE(NOT_FOUND), "status.id");
    r = it_status(care, IT_KIND(CANDIDATE), "kam-9999");
    it_refused(&r, IT_CODE(NOT_FOUND), "status.id");
    r = it_status(muni, IT_KIND(PROPOSAL), "PW-1999-0001/1");
    it_refused(&r, IT_CODE(NOT_FOUND), "status.id");
    s_nothing_stored(&it, before, "PW-1999-0001");
    ck_assert(!it_exists(&it, ZKIJ, "proposal:PW-1999-0001/1"));
    ck_assert(!it_exists(&it, ZKIJ, "answered:PW-1999-0001/1"));
    ck_assert(!it_exists(&it, ZKIJ, "signed:PW-1999-0001"));
    s_still_serves(&it, corp, "PW-1999-0001");

    wz_client_destroy(&corp);
    wz_client_destroy(&care);
    wz_client_destroy(&muni);
    it_close(&it);
}
END_TEST

START_TEST(test_forbidden)
{
    it_t it;
    it_open(&it, NO_EXPIRY);
    wz_client_t *pre = it_client(&it, "pre-wonen");
    wz_client_t *ymere = it_client(&it, "ymere");
    wz_client_t *kam = it_client(&it, "ribw-kam");
    wz_client_t *dock = it_client(&it, "dock");
    wz_client_t *haarlem = it_client(&it, "gem-haarlem");
    wz_client_t *velsen = it_client(&it, "gem-velsen");
    wz_listener_t *kam_mail = it_listener(&it, "ribw-kam");

    /* A Haarlem candidate of RIBW K/AM, registered but without urgency yet. */
    it_candidate_t c = it_candidate("kam-0400");
    WzReply *r = it_register(kam, NULL, &c);
    it_ok(&r);
    long long before = it_stream_len(&it, ZKIJ, "intake");

    /* Another municipality may not grant this candidate urgency. */
    r = it_grant(velsen, NULL, "kam-0400", 2025, 1, 15);
    it_refused(&r, IT_CODE(FORBIDDEN), "grant_urgency.candidate_id");
    /* Another care provider may not update, withdraw or look at it. */
    r = it_register(dock, NULL, &c);
    it_refused(&r, IT_CODE(FORBIDDEN), "register_candidate.id");
    Woonzorg__V1__IdRef ref = WOONZORG__V1__ID_REF__INIT;
    ref.id = "kam-0400";
    WzRequest wc = WOONZORG__V1__REQUEST__INIT;
    wc.body_case = WOONZORG__V1__REQUEST__BODY_WITHDRAW_CANDIDATE;
    wc.withdraw_candidate = &ref;
    r = it_send(dock, &wc);
    it_refused(&r, IT_CODE(FORBIDDEN), "withdraw_candidate.id");
    r = it_status(dock, IT_KIND(CANDIDATE), "kam-0400");
    it_refused(&r, IT_CODE(FORBIDDEN), "status.id");
    /* Roles: a care provider does not publish, a corporation does not grant. */
    it_vacancy_t v = it_vacancy("PW-2025-0400");
    r = it_publish(kam, NULL, &v);
    it_refused(&r, IT_CODE(FORBIDDEN), "publish_vacancy");
    r = it_grant(pre, NULL, "kam-0400", 2025, 1, 15);
    it_refused(&r, IT_CODE(FORBIDDEN), "grant_urgency");
    /* A corporation publishes only in its own region. */
    it_vacancy_t almere = it_vacancy("PW-2025-0401");
    almere.municipality = "almere";
    almere.neighbourhood = "BU00340205";
    r = it_publish(pre, NULL, &almere);
    it_refused(&r, IT_CODE(FORBIDDEN), "publish_vacancy.municipality");
    s_nothing_stored(&it, before, "PW-2025-0400");
    s_nothing_stored(&it, before, "PW-2025-0401");
    WzCandidate *stored = (WzCandidate *)it_load(&it, &woonzorg__v1__candidate__descriptor, ZKIJ,
                                                 "candidate", "kam-0400");
    ck_assert_ptr_nonnull(stored);
    ck_assert_str_eq(stored->care_provider, "ribw-kam");
    ck_assert_str_eq(stored->urgency_by, "");
    WZ_FREE_UNPACKED(stored);

    /* The rightful municipality can; then Pré Wonen publishes and the
     * candidate is proposed. */
    r = it_grant(haarlem, NULL, "kam-0400", 2025, 1, 15);
    it_ok(&r);
    it_expect_drop(kam_mail, "ribw-kam", IT_EV(URGENCY_GRANTED), "urgency");
    r = it_publish(pre, NULL, &v);
    it_ok(&r);
    WzDelivery *d = it_expect(kam_mail, "ribw-kam", IT_EV(PROPOSAL_CREATED), "proposal");
    WZ_FREE_UNPACKED(d);
    before = it_stream_len(&it, ZKIJ, "intake");

    /* Another corporation may not withdraw it, sign it or see it. */
    r = it_withdraw(ymere, NULL, "PW-2025-0400");
    it_refused(&r, IT_CODE(FORBIDDEN), "withdraw_vacancy.id");
    r = it_sign(ymere, NULL, "PW-2025-0400", IT_CONTRACT(REGULAR));
    it_refused(&r, IT_CODE(FORBIDDEN), "sign_lease.vacancy_id");
    r = it_status(ymere, IT_KIND(VACANCY), "PW-2025-0400");
    it_refused(&r, IT_CODE(FORBIDDEN), "status.id");
    /* Another care provider may not answer the proposal. */
    r = it_answer(dock, NULL, "PW-2025-0400/1", true, NULL);
    it_refused(&r, IT_CODE(FORBIDDEN), "answer.proposal_id");
    r = it_status(dock, IT_KIND(PROPOSAL), "PW-2025-0400/1");
    it_refused(&r, IT_CODE(FORBIDDEN), "status.id");
    /* Only municipalities read the audit log. */
    wz_client_t *pre_audit = it_audit_client(&it, "pre-wonen");
    r = it_audit_tail(pre_audit, 10);
    it_refused(&r, IT_CODE(FORBIDDEN), "audit");
    wz_client_destroy(&pre_audit);

    ck_assert_int_eq(it_stream_len(&it, ZKIJ, "intake"), before);
    ck_assert(!it_exists(&it, ZKIJ, "answered:PW-2025-0400/1"));
    WzVacancy *vac = it_m_vacancy(&it, ZKIJ, "PW-2025-0400");
    ck_assert_int_eq(vac->state, IT_VSTATE(OFFERED));
    WZ_FREE_UNPACKED(vac);
    WzProposal *p = it_proposal(&it, ZKIJ, "PW-2025-0400/1");
    ck_assert_int_eq(p->state, IT_PSTATE(SENT));
    WZ_FREE_UNPACKED(p);

    /* The rightful care provider answers. */
    r = it_answer(kam, NULL, "PW-2025-0400/1", true, NULL);
    it_ok(&r);
    it_wait_vacancy_state(&it, ZKIJ, "PW-2025-0400", IT_VSTATE(ACCEPTED));

    wz_listener_destroy(&kam_mail);
    wz_client_destroy(&pre);
    wz_client_destroy(&ymere);
    wz_client_destroy(&kam);
    wz_client_destroy(&dock);
    wz_client_destroy(&haarlem);
    wz_client_destroy(&velsen);
    it_close(&it);
}
END_TEST

START_TEST(test_unknown_key)
{
    it_t it;
    it_open(&it, NO_EXPIRY);
    /* A well-formed key pair that no party in the policy has. */
    wz_keypair_t stranger;
    ck_assert_int_eq(wz_keys_generate(&stranger), 0);
    char server[41], err[256];
    ck_assert_int_eq(wz_keys_read_public(it.settings->keys_dir, "intake", server, err, sizeof err),
                     0);
    wz_client_t *c = wz_client_new(it.ctx, it.settings->intake.endpoint, server, &stranger);
    ck_assert_ptr_nonnull(c);
    long long before = it_stream_len(&it, ZKIJ, "intake");
    it_vacancy_t v = it_vacancy("XX-2025-0001");
    WzVacancy vac = WOONZORG__V1__VACANCY__INIT;
    vac.id = (char *)v.id;
    WzRequest req = WOONZORG__V1__REQUEST__INIT;
    req.body_case = WOONZORG__V1__REQUEST__BODY_PUBLISH_VACANCY;
    req.publish_vacancy = &vac;
    WzReply *r = NULL;
    /* The CURVE handshake is refused, so no request ever reaches intake. */
    ck_assert_int_eq(wz_client_call(c, &req, 1500, 500, &r), -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    ck_assert_ptr_null(r);
    wz_client_destroy(&c);
    s_nothing_stored(&it, before, "XX-2025-0001");

    wz_client_t *corp = it_client(&it, "pre-wonen");
    s_still_serves(&it, corp, "PW-2025-0500");
    wz_client_destroy(&corp);
    it_close(&it);
}
END_TEST

int main(void)
{
    /* One case per test: a failure names its case. */
    TCase *const cases[] = {
        wz_test_case("malformed", IT_TCASE_TIMEOUT,
                     (const TTest *const[]){test_malformed_bytes, NULL}),
        wz_test_case("unknown_type", IT_TCASE_TIMEOUT,
                     (const TTest *const[]){test_unknown_type, NULL}),
        wz_test_case("invalid", IT_TCASE_TIMEOUT,
                     (const TTest *const[]){test_invalid_fields, NULL}),
        wz_test_case("not_found", IT_TCASE_TIMEOUT, (const TTest *const[]){test_unknown_ids, NULL}),
        wz_test_case("forbidden", IT_TCASE_TIMEOUT, (const TTest *const[]){test_forbidden, NULL}),
        wz_test_case("unknown_key", IT_TCASE_TIMEOUT,
                     (const TTest *const[]){test_unknown_key, NULL}),
        NULL};
    return wz_test_run("badinput", cases);
}
