/* wz_testmain.c - see wz_testmain.h. */
#include "wz_testmain.h"

#include <stdlib.h>

TCase *wz_test_case(const char *name, double timeout_s, const TTest *const tests[])
{
    TCase *tc = tcase_create(name);
    if (timeout_s > 0)
        tcase_set_timeout(tc, timeout_s);
    for (size_t i = 0; tests[i]; i++)
        tcase_add_test(tc, tests[i]);
    return tc;
}

int wz_test_run(const char *suite_name, TCase *const cases[])
{
    Suite *s = suite_create(suite_name);
    for (size_t i = 0; cases[i]; i++)
        suite_add_tcase(s, cases[i]);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
