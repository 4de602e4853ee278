/*
 * vmd_test.h - a few lines of glue around CUnit shared by every test program.
 *
 * Each program lists its tests in a NULL-terminated vmd_test_case array and
 * calls vmd_test_main(), which runs them verbosely, prints CUnit's summary
 * and exits non-zero when any assertion failed or a test could not run.
 */
#ifndef VMD_TEST_H
#define VMD_TEST_H

#include <CUnit/Basic.h>
#include <stdio.h>

typedef struct vmd_test_case {
    const char *name;
    void (*fn)(void);
} vmd_test_case;

static inline int vmd_test_main(const char *suite_name, const vmd_test_case *cases)
{
    CU_pSuite suite;
    unsigned failed, run;
    const vmd_test_case *c;

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    suite = CU_add_suite(suite_name, NULL, NULL);
    if (!suite)
        goto fail;
    for (c = cases; c->name; c++)
        if (!CU_add_test(suite, c->name, c->fn))
            goto fail;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    if (CU_basic_run_tests() != CUE_SUCCESS)
        goto fail;
    failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    run = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    if (run == 0) {
        fprintf(stderr, "%s: no test ran\n", suite_name);
        return 1;
    }
    return failed ? 1 : 0;
fail:
    fprintf(stderr, "%s: CUnit error: %s\n", suite_name, CU_get_error_msg());
    CU_cleanup_registry();
    return 2;
}

#endif /* VMD_TEST_H */
