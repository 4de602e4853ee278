/*
 * test_idx_replay.c - index partitions: op ids, replays and stored replies.
 *
 * A client may resend a mutating request: the same bytes get the same reply
 * and change nothing; a failed call records nothing; a partition keeps the
 * replies of its last 16 ops.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_idx.h"

/* Runs `in` twice with the same bytes: same rc 0, same reply, and the second changes nothing. */
static void check_replay(mem_obj *m, mem_method_fn fn, const uint8_t *in, size_t len)
{
    uint8_t *out1 = NULL, *out2 = NULL;
    size_t len1 = 0, len2 = 0;
    snap before, after;

    CU_ASSERT_EQUAL_FATAL(run(m, fn, in, len, &out1, &len1), 0);
    before = snapshot(m);
    CU_ASSERT_EQUAL(run(m, fn, in, len, &out2, &len2), 0);
    after = snapshot(m);
    CU_ASSERT_TRUE(snap_equal(&before, &after));
    CU_ASSERT_EQUAL(len1, len2);
    CU_ASSERT(len1 == len2 && memcmp(out1, out2, len1) == 0);
    free(out1);
    free(out2);
}

static void test_replay_of_every_mutating_method(void)
{
    mem_obj *m = mem_obj_new();
    vmd_idx_reg_item reg[2] = {reg_item(1, 4097, 1, 1), reg_item(2, 4098, 1, 2)};
    vmd_fp fps[2] = {fp_make(1), fp_make(2)};
    vmd_idx_mark_item mk[2] = {{fp_make(1), {9, 1}}, {fp_make(2), {9, 2}}};
    vmd_idx_ref_item rf[2] = {{fp_make(1), 5}, {fp_make(2), 1}};
    vmd_idx_register_req rr = {{0}, T, "vm-a", 2, reg};
    vmd_idx_release_req rl = {{0}, T, "vm-b", 2, fps};
    vmd_idx_mark_req mq = {{0}, T, 2, mk};
    vmd_idx_ref_req fq = {{0}, T, 2, rf};
    vmd_idx_unmark_req uq = {{0}, T, 2, fps};
    uint8_t *in;
    size_t n;

    op_next(rr.op_id);
    CU_ASSERT_EQUAL_FATAL(vmd_idx_register_req_encode(&rr, &in, &n), 0);
    check_replay(m, vmd_m_idx_register, in, n); /* NEW both times */
    free(in);
    register_range(m, "vm-b", 1, 2);
    op_next(rl.op_id);
    CU_ASSERT_EQUAL_FATAL(vmd_idx_release_req_encode(&rl, &in, &n), 0);
    check_replay(m, vmd_m_idx_release, in, n); /* RELEASED, not NOT_HOLDER */
    free(in);
    op_next(mq.op_id);
    CU_ASSERT_EQUAL_FATAL(vmd_idx_mark_req_encode(&mq, &in, &n), 0);
    check_replay(m, vmd_m_idx_mark_popular, in, n); /* MARKED, not ALREADY */
    free(in);
    op_next(fq.op_id);
    CU_ASSERT_EQUAL_FATAL(vmd_idx_ref_req_encode(&fq, &in, &n), 0);
    check_replay(m, vmd_m_idx_ref, in, n); /* counted once */
    free(in);
    CU_ASSERT_EQUAL(stats(m).popular_refs, 6);
    rf[0].delta = -5;
    rf[1].delta = -1;
    op_next(fq.op_id);
    CU_ASSERT_EQUAL_FATAL(vmd_idx_ref_req_encode(&fq, &in, &n), 0);
    CU_ASSERT_EQUAL(run_quiet(m, vmd_m_idx_ref, in, n), 0);
    free(in);
    op_next(uq.op_id);
    CU_ASSERT_EQUAL_FATAL(vmd_idx_unmark_req_encode(&uq, &in, &n), 0);
    check_replay(m, vmd_m_idx_unmark_popular, in, n); /* UNMARKED, not NOT_POPULAR */
    free(in);
    assert_counters_match_entries(m);
    mem_obj_free(m);
}

static void test_failed_call_records_nothing(void)
{
    mem_obj *m = mem_obj_new();
    vmd_idx_ref_item rf = {fp_make(1), 1};
    vmd_idx_ref_req fq = {{0}, T, 1, &rf};
    vmd_idx_mark_item mk = {fp_make(1), {1, 1}};
    uint8_t *in, *out = NULL;
    size_t n, outlen;

    register_range(m, "vm-a", 1, 1);
    op_next(fq.op_id);
    CU_ASSERT_EQUAL_FATAL(vmd_idx_ref_req_encode(&fq, &in, &n), 0);
    CU_ASSERT_EQUAL(run_quiet(m, vmd_m_idx_ref, in, n), -ENOENT); /* not popular yet */
    CU_ASSERT_EQUAL(do_mark(m, &mk, 1, NULL), 0);
    /* the resend runs afresh, it is not answered with the failure */
    CU_ASSERT_EQUAL(run(m, vmd_m_idx_ref, in, n, &out, &outlen), 0);
    free(out);
    free(in);
    CU_ASSERT_EQUAL(stats(m).popular_refs, 1);
    mem_obj_free(m);
}

static void test_op_ids_evicted_after_16(void)
{
    mem_obj *m = mem_obj_new();
    vmd_idx_reg_item it = reg_item(1, 4097, 1, 1);
    vmd_idx_register_req rr = {{0}, T, "vm-a", 1, &it};
    vmd_idx_register_reply rep;
    uint8_t *in, *out = NULL;
    size_t n, outlen;
    int i;

    op_next(rr.op_id);
    CU_ASSERT_EQUAL_FATAL(vmd_idx_register_req_encode(&rr, &in, &n), 0);
    CU_ASSERT_EQUAL(run_quiet(m, vmd_m_idx_register, in, n), 0);
    /* 15 more ops: the first is still remembered (NEW replayed) */
    for (i = 0; i < 15; i++)
        register_range(m, "vm-b", 10 + i, 1);
    CU_ASSERT_EQUAL(mem_obj_omap_count(m), 16 + 16);
    CU_ASSERT_EQUAL(run(m, vmd_m_idx_register, in, n, &out, &outlen), 0);
    CU_ASSERT_EQUAL(vmd_idx_register_reply_decode(&rep, out, outlen), 0);
    CU_ASSERT_EQUAL(rep.items[0].status, VMD_IDX_NEW);
    vmd_idx_register_reply_free(&rep);
    free(out);
    /* a 17th op evicts it: the same bytes now run afresh (KNOWN) */
    register_range(m, "vm-b", 40, 1);
    CU_ASSERT_EQUAL(mem_obj_omap_count(m), 17 + 16);
    CU_ASSERT_EQUAL(run(m, vmd_m_idx_register, in, n, &out, &outlen), 0);
    CU_ASSERT_EQUAL(vmd_idx_register_reply_decode(&rep, out, outlen), 0);
    CU_ASSERT_EQUAL(rep.items[0].status, VMD_IDX_KNOWN);
    vmd_idx_register_reply_free(&rep);
    free(out);
    CU_ASSERT_EQUAL(mem_obj_omap_count(m), 17 + 16); /* still 16 replies kept */
    free(in);
    mem_obj_free(m);
}

const vmd_test_case vmd_idx_replay_tests[] = {
    {"replay of every mutating method", test_replay_of_every_mutating_method},
    {"a failed call records nothing", test_failed_call_records_nothing},
    {"op ids evicted after 16", test_op_ids_evicted_after_16},
    {NULL, NULL},
};
