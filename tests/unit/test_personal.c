/* Unit tests of wz_personal: which events carry a candidate's personal data
 * and which erase it. */
#include <check.h>
#include <stdbool.h>
#include <stdlib.h>

#include "wz_personal.h"
#include "wz_testmain.h"

START_TEST(test_which_events)
{
    /* Attributes and free text are sealed; withdrawal, consent withdrawn and
     * a purge erase; the purge itself is chained in plain (no attributes). */
    WzCandidate c = WOONZORG__V1__CANDIDATE__INIT;
    c.id = "kam-1";
    c.consent = true;
    Woonzorg__V1__CandidateUpdated upd = WOONZORG__V1__CANDIDATE_UPDATED__INIT;
    upd.candidate = &c;
    WzEvent ev = WOONZORG__V1__EVENT__INIT;
    ev.payload_case = WOONZORG__V1__EVENT__PAYLOAD_CANDIDATE_UPDATED;
    ev.candidate_updated = &upd;
    ck_assert_str_eq(wz_personal_subject(&ev), "kam-1");
    ck_assert_ptr_null(wz_personal_erases(&ev));
    c.consent = false;
    ck_assert_str_eq(wz_personal_erases(&ev), "kam-1");
    Woonzorg__V1__CandidatePurged purged = WOONZORG__V1__CANDIDATE_PURGED__INIT;
    purged.candidate_id = "kam-2";
    purged.reason = "retention";
    WzEvent pe = WOONZORG__V1__EVENT__INIT;
    pe.payload_case = WOONZORG__V1__EVENT__PAYLOAD_CANDIDATE_PURGED;
    pe.candidate_purged = &purged;
    ck_assert_ptr_null(wz_personal_subject(&pe));
    ck_assert_str_eq(wz_personal_erases(&pe), "kam-2");
    purged.candidate_id = "";
    ck_assert_ptr_null(wz_personal_erases(&pe));
    /* A provider's withdrawal erases; an answer carries the provider's words
     * about the candidate of its proposal. */
    Woonzorg__V1__CandidateWithdrawn wd = WOONZORG__V1__CANDIDATE_WITHDRAWN__INIT;
    wd.candidate_id = "kam-3";
    WzEvent we = WOONZORG__V1__EVENT__INIT;
    we.payload_case = WOONZORG__V1__EVENT__PAYLOAD_CANDIDATE_WITHDRAWN;
    we.candidate_withdrawn = &wd;
    ck_assert_str_eq(wz_personal_erases(&we), "kam-3");
    ck_assert_ptr_null(wz_personal_subject(&we));
    WzProposal prop = WOONZORG__V1__PROPOSAL__INIT;
    prop.candidate_id = "kam-4";
    Woonzorg__V1__ProposalAnswered ans = WOONZORG__V1__PROPOSAL_ANSWERED__INIT;
    ans.proposal = &prop;
    WzEvent ae = WOONZORG__V1__EVENT__INIT;
    ae.payload_case = WOONZORG__V1__EVENT__PAYLOAD_PROPOSAL_ANSWERED;
    ae.proposal_answered = &ans;
    ck_assert_str_eq(wz_personal_subject(&ae), "kam-4");
    ck_assert_ptr_null(wz_personal_erases(&ae));
}
END_TEST

int main(void)
{
    TCase *tc = wz_test_case("core", 0, (const TTest *const[]){test_which_events, NULL});
    return wz_test_run("wz_personal", (TCase *const[]){tc, NULL});
}
