/*
 * vmd_test.h - a few lines of glue around CUnit shared by every test program.
 *
 * Each program lists its tests in a NULL-terminated vmd_test_case array and
 * calls vmd_test_main(), which runs them verbosely, prints CUnit's summary
 * and exits non-zero when any assertion failed or a test could not run. A
 * program split over several files gives each file a suite and runs them
 * all with vmd_test_run().
 */
#ifndef VMD_TEST_H
#define VMD_TEST_H

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct vmd_test_case {
    const char *name;
    void (*fn)(void);
} vmd_test_case;

/* One CUnit suite: a name and its NULL-terminated cases. */
typedef struct vmd_test_suite {
    const char *name;
    const vmd_test_case *cases;
} vmd_test_suite;

/*
 * Runs the suites of a NULL-terminated array in order (a program split into
 * several files, one suite each), verbosely; prints CUnit's summary. Returns
 * 0 when all passed, 1 when an assertion failed or no test ran, 2 on a CUnit
 * error. prog names the program in error messages.
 */
static inline int vmd_test_run(const char *prog, const vmd_test_suite *suites)
{
    CU_pSuite suite;
    unsigned failed, run;
    const vmd_test_suite *s;
    const vmd_test_case *c;

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    for (s = suites; s->name; s++) {
        suite = CU_add_suite(s->name, NULL, NULL);
        if (!suite)
            goto fail;
        for (c = s->cases; c->name; c++)
            if (!CU_add_test(suite, c->name, c->fn))
                goto fail;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    if (CU_basic_run_tests() != CUE_SUCCESS)
        goto fail;
    failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    run = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    if (run == 0) {
        fprintf(stderr, "%s: no test ran\n", prog);
        return 1;
    }
    return failed ? 1 : 0;
fail:
    fprintf(stderr, "%s: CUnit error: %s\n", prog, CU_get_error_msg());
    CU_cleanup_registry();
    return 2;
}

/* A program of one suite. */
static inline int vmd_test_main(const char *suite_name, const vmd_test_case *cases)
{
    const vmd_test_suite suites[] = {{suite_name, cases}, {NULL, NULL}};

    return vmd_test_run(suite_name, suites);
}

/*
 * Integration tests: 1 when CEPH_CONF names the throwaway cluster; otherwise
 * fails the running test (there is no silent skip) and returns 0.
 */
static inline int vmd_test_have_cluster(void)
{
    if (getenv("CEPH_CONF"))
        return 1;
    CU_FAIL("CEPH_CONF is not set: integration tests need the throwaway cluster");
    return 0;
}

#endif /* VMD_TEST_H */
