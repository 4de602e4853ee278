/*
 * test_ctr.c - containers: the format, the builder and reader, the messages, and the
 * ctr_* methods on an in-memory object with the OSD's transaction semantics.
 *
 * The tests live in one file per concept (test_ctr.h lists them); this file
 * runs their suites in one program, in the order below, so that ctest knows
 * one test `test_ctr`.
 */
#include "test_ctr.h"

int main(void)
{
    static const vmd_test_suite suites[] = {
        {"containers: format", vmd_ctr_format_tests},
        {"containers: messages", vmd_ctr_msg_tests},
        {"containers: methods", vmd_ctr_method_tests},
        {NULL, NULL},
    };
    return vmd_test_run("containers", suites);
}
