/* wz_testmain.h - what every test program's main does with Check: a case
 * of tests with a timeout, a suite of cases, run, exit status. */
#ifndef WZ_TESTMAIN_H_INCLUDED
#define WZ_TESTMAIN_H_INCLUDED

#include <check.h>

/* A case named name of tests (NULL-terminated), run in that order, each
 * with timeout_s seconds (0: Check's default, CK_DEFAULT_TIMEOUT). */
TCase *wz_test_case(const char *name, double timeout_s, const TTest *const tests[]);

/* Runs the suite suite_name of cases (NULL-terminated, taken) and returns
 * the exit status for main: EXIT_SUCCESS when every test passed. */
int wz_test_run(const char *suite_name, TCase *const cases[]);

#endif
