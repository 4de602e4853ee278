/*
 * test_idx.c - index partitions: formats, message codecs and every method,
 * on the in-memory object (tests/lib/mem_obj.c) that mimics the OSD.
 *
 * The tests live in one file per concept (test_idx.h lists them); this file
 * runs their suites in one program, in the order below, so that ctest knows
 * one test `test_idx`.
 */
#include "test_idx.h"

int main(void)
{
    static const vmd_test_suite suites[] = {
        {"idx: formats", vmd_idx_format_tests},
        {"idx: messages, round trips", vmd_idx_msg_tests},
        {"idx: messages, malformed", vmd_idx_msg_bad_tests},
        {"idx: methods", vmd_idx_method_tests},
        {"idx: replays and op ids", vmd_idx_replay_tests},
        {"idx: top and large batches", vmd_idx_top_tests},
        {"idx: corrupt state and malformed input", vmd_idx_error_tests},
        {NULL, NULL},
    };
    return vmd_test_run("idx", suites);
}
