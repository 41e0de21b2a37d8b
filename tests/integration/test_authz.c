/* test_authz.c - the authorisation matrix of docs/security.md, cell by
 * cell, against the live services: every command a role may not send, sent
 * by that role (correctly formed, about the sender's own region), is
 * FORBIDDEN with the command as field; and the ownership cells that
 * test_badinput's test_forbidden does not cover: reads across
 * municipalities and corporations, and audit reads across regions. Nothing
 * refused is stored or emitted. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "wz_it.h"
#include "wz_testmain.h"

#define ZKIJ "zkij"
#define NO_EXPIRY 600

typedef enum {
    CMD_PUBLISH,
    CMD_WITHDRAW,
    CMD_SIGN,
    CMD_REGISTER,
    CMD_WITHDRAW_CAND,
    CMD_ANSWER,
    CMD_GRANT,
    N_CMD
} cmd_t;

static const char *const s_cmd_field[N_CMD] = {
    "publish_vacancy",    "withdraw_vacancy", "sign_lease",   "register_candidate",
    "withdraw_candidate", "answer",           "grant_urgency"};

/* Sends cmd, well formed and about objects that exist, as client c. */
static WzReply *s_send(wz_client_t *c, cmd_t cmd)
{
    switch (cmd) {
    case CMD_PUBLISH: {
        it_vacancy_t v = it_vacancy("PW-2025-0950");
        return it_publish(c, NULL, &v);
    }
    case CMD_WITHDRAW:
        return it_withdraw(c, NULL, "PW-2025-0900");
    case CMD_SIGN:
        return it_sign(c, NULL, "PW-2025-0900", IT_CONTRACT(REGULAR));
    case CMD_REGISTER: {
        it_candidate_t cand = it_candidate("kam-0950");
        return it_register(c, NULL, &cand);
    }
    case CMD_WITHDRAW_CAND: {
        Woonzorg__V1__IdRef ref = WOONZORG__V1__ID_REF__INIT;
        ref.id = "kam-0900";
        WzRequest req = WOONZORG__V1__REQUEST__INIT;
        req.body_case = WOONZORG__V1__REQUEST__BODY_WITHDRAW_CANDIDATE;
        req.withdraw_candidate = &ref;
        return it_send(c, &req);
    }
    case CMD_ANSWER:
        return it_answer(c, NULL, "PW-2025-0900/1", true, NULL);
    case CMD_GRANT:
        return it_grant(c, NULL, "kam-0901", 2025, 3, 1);
    default:
        return NULL;
    }
}

START_TEST(test_role_matrix)
{
    it_t it;
    it_open(&it, NO_EXPIRY);
    wz_client_t *pre = it_client(&it, "pre-wonen");
    wz_client_t *kam = it_client(&it, "ribw-kam");
    wz_client_t *haarlem = it_client(&it, "gem-haarlem");
    /* Objects for every command to be about: a proposal for kam-0900 on
     * PW-2025-0900, and kam-0901 registered without urgency. */
    it_candidate_t c0 = it_candidate("kam-0900"), c1 = it_candidate("kam-0901");
    WzReply *r = it_register(kam, NULL, &c0);
    it_ok(&r);
    r = it_register(kam, NULL, &c1);
    it_ok(&r);
    r = it_grant(haarlem, NULL, "kam-0900", 2025, 1, 5);
    it_ok(&r);
    it_wait_candidate_state(&it, ZKIJ, "kam-0900", IT_CSTATE(ACTIVE));
    it_vacancy_t v = it_vacancy("PW-2025-0900");
    r = it_publish(pre, NULL, &v);
    it_ok(&r);
    it_wait_vacancy_state(&it, ZKIJ, "PW-2025-0900", IT_VSTATE(OFFERED));
    long long before = it_stream_len(&it, ZKIJ, "intake");

    /* Which role may send which command (docs/security.md). */
    static const bool allowed[3][N_CMD] = {
        /* corporation */ {true, true, true, false, false, false, false},
        /* care provider */ {false, false, false, true, true, true, false},
        /* municipality */ {false, false, false, false, false, false, true},
    };
    wz_client_t *by_role[3] = {pre, kam, haarlem};
    const char *role_name[3] = {"corporation", "care_provider", "municipality"};
    int refused = 0;
    for (int role = 0; role < 3; role++)
        for (int cmd = 0; cmd < N_CMD; cmd++) {
            if (allowed[role][cmd])
                continue;
            r = s_send(by_role[role], (cmd_t)cmd);
            ck_assert_msg(r->code == IT_CODE(FORBIDDEN), "%s sending %s: %s (%s)", role_name[role],
                          s_cmd_field[cmd], it_code_name(r->code), r->message);
            ck_assert_str_eq(r->field, s_cmd_field[cmd]);
            WZ_FREE_UNPACKED(r);
            refused++;
        }
    ck_assert_int_eq(refused, 14);
    ck_assert_int_eq(it_stream_len(&it, ZKIJ, "intake"), before);
    ck_assert(!it_exists(&it, ZKIJ, "vacancy:PW-2025-0950"));
    ck_assert(!it_exists(&it, ZKIJ, "candidate:kam-0950"));
    ck_assert(!it_exists(&it, ZKIJ, "answered:PW-2025-0900/1"));
    WzCandidate *stored = (WzCandidate *)it_load(&it, &woonzorg__v1__candidate__descriptor, ZKIJ,
                                                 "candidate", "kam-0901");
    ck_assert_str_eq(stored->urgency_by, "");
    WZ_FREE_UNPACKED(stored);

    wz_client_destroy(&pre);
    wz_client_destroy(&kam);
    wz_client_destroy(&haarlem);
    it_close(&it);
}
END_TEST

START_TEST(test_read_cells)
{
    it_t it;
    it_open(&it, NO_EXPIRY);
    wz_client_t *pre = it_client(&it, "pre-wonen");
    wz_client_t *ymere = it_client(&it, "ymere");
    wz_client_t *kam = it_client(&it, "ribw-kam");
    wz_client_t *dock = it_client(&it, "dock");
    wz_client_t *haarlem = it_client(&it, "gem-haarlem");
    wz_client_t *velsen = it_client(&it, "gem-velsen");
    wz_client_t *almere = it_client(&it, "gem-almere");
    it_candidate_t c = it_candidate("kam-0910");
    WzReply *r = it_register(kam, NULL, &c);
    it_ok(&r);
    r = it_grant(haarlem, NULL, "kam-0910", 2025, 1, 5);
    it_ok(&r);
    it_wait_candidate_state(&it, ZKIJ, "kam-0910", IT_CSTATE(ACTIVE));
    it_vacancy_t v = it_vacancy("PW-2025-0910");
    r = it_publish(pre, NULL, &v);
    it_ok(&r);
    it_wait_vacancy_state(&it, ZKIJ, "PW-2025-0910", IT_VSTATE(OFFERED));

    /* Allowed reads, as a baseline for the refusals below. */
    r = it_status(kam, IT_KIND(CANDIDATE), "kam-0910");
    it_ok(&r);
    r = it_status(haarlem, IT_KIND(CANDIDATE), "kam-0910");
    it_ok(&r);
    r = it_status(pre, IT_KIND(PROPOSAL), "PW-2025-0910/1");
    it_ok(&r);
    r = it_status(haarlem, IT_KIND(PROPOSAL), "PW-2025-0910/1");
    it_ok(&r);

    /* A municipality reads only its own municipality's candidates and proposals. */
    r = it_status(velsen, IT_KIND(CANDIDATE), "kam-0910");
    it_refused(&r, IT_CODE(FORBIDDEN), "status.id");
    r = it_status(velsen, IT_KIND(PROPOSAL), "PW-2025-0910/1");
    it_refused(&r, IT_CODE(FORBIDDEN), "status.id");
    /* A corporation reads no candidate, and no other corporation's proposal. */
    r = it_status(pre, IT_KIND(CANDIDATE), "kam-0910");
    it_refused(&r, IT_CODE(FORBIDDEN), "status.id");
    r = it_status(ymere, IT_KIND(PROPOSAL), "PW-2025-0910/1");
    it_refused(&r, IT_CODE(FORBIDDEN), "status.id");
    /* A care provider reads no vacancy record, and no other provider's proposal. */
    r = it_status(dock, IT_KIND(VACANCY), "PW-2025-0910");
    it_refused(&r, IT_CODE(FORBIDDEN), "status.id");
    r = it_status(dock, IT_KIND(PROPOSAL), "PW-2025-0910/1");
    it_refused(&r, IT_CODE(FORBIDDEN), "status.id");
    /* Another region's municipality does not even find them: its requests
     * are about its own region only. */
    r = it_status(almere, IT_KIND(CANDIDATE), "kam-0910");
    it_refused(&r, IT_CODE(NOT_FOUND), "status.id");

    /* Audit: a municipality reads its own region's chain only; care
     * providers and corporations read none. */
    wz_client_t *a_almere = it_audit_client(&it, "gem-almere");
    r = it_audit_tail(a_almere, 100);
    {
        ck_assert_int_eq(r->code, IT_CODE(OK));
        ck_assert_int_eq(r->result_case, WOONZORG__V1__REPLY__RESULT_AUDIT);
        ck_assert_str_eq(r->audit->region, "almere");
        for (size_t i = 0; i < r->audit->n_entries; i++) {
            const WzEvent *ev = r->audit->entries[i]->event;
            ck_assert(ev == NULL || strcmp(ev->region, ZKIJ) != 0);
        }
        WZ_FREE_UNPACKED(r);
    }
    wz_client_destroy(&a_almere);
    wz_client_t *a_kam = it_audit_client(&it, "ribw-kam");
    r = it_audit_tail(a_kam, 10);
    it_refused(&r, IT_CODE(FORBIDDEN), "audit");
    wz_client_destroy(&a_kam);

    wz_client_destroy(&pre);
    wz_client_destroy(&ymere);
    wz_client_destroy(&kam);
    wz_client_destroy(&dock);
    wz_client_destroy(&haarlem);
    wz_client_destroy(&velsen);
    wz_client_destroy(&almere);
    it_close(&it);
}
END_TEST

int main(void)
{
    TCase *tc = wz_test_case("matrix", IT_TCASE_TIMEOUT,
                             (const TTest *const[]){test_role_matrix, test_read_cells, NULL});
    return wz_test_run("authz", (TCase *const[]){tc, NULL});
}
