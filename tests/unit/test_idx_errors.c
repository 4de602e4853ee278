/*
 * test_idx_errors.c - index partitions: corrupt state and malformed input.
 *
 * A corrupt header or entry makes every method answer -EIO (with a log
 * line, never a crash), an unknown op's reply is -ENOENT, and malformed
 * requests are -EINVAL (a newer wire version -EPROTO).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_idx.h"

/* ---- corrupt stored state: -EIO, never a crash ---- */

static void set_header(mem_obj *m, const void *buf, size_t len)
{
    CU_ASSERT_EQUAL(mem_obj_put_header(m, buf, len), 0);
}

static void test_corrupt_state_is_eio(void)
{
    mem_obj *m = mem_obj_new();
    vmd_idx_reg_item it = reg_item(1, 4097, 1, 1);
    vmd_idx_top_reply page;
    vmd_idx_counters c;
    vmd_idx_header h;
    uint8_t hb[VMD_IDX_HEADER_MAX];
    size_t hlen;
    vmd_fp fp = fp_make(1);
    char key[VMD_FP_HEX_SIZE];

    /* garbage header */
    set_header(m, "garbage!", 8);
    CU_ASSERT_EQUAL(do_register(m, "vm-a", &it, 1, NULL), -EIO);
    CU_ASSERT_EQUAL(do_stats_t(m, T, &c), -EIO);
    CU_ASSERT_EQUAL(do_top(m, 0, 5, NULL, &page), -EIO);

    /* an empty header (omap never written) is a fresh partition */
    set_header(m, "", 0);
    CU_ASSERT_EQUAL(do_stats_t(m, T, &c), 0);
    CU_ASSERT_EQUAL(c.entries, 0);
    CU_ASSERT_EQUAL(do_register(m, "vm-a", &it, 1, NULL), 0);

    /* a corrupt entry */
    vmd_fp_hex(&fp, key);
    CU_ASSERT_EQUAL(mem_obj_put_omap(m, key, "\x01\x00", 2), 0);
    CU_ASSERT_EQUAL(do_register(m, "vm-a", &it, 1, NULL), -EIO);
    CU_ASSERT_EQUAL(do_release(m, "vm-a", &fp, 1, NULL), -EIO);
    CU_ASSERT_EQUAL(do_top(m, 0, 5, NULL, &page), -EIO);

    /* a key that is not an entry of this partition */
    mem_obj_free(m);
    m = mem_obj_new();
    register_range(m, "vm-a", 1, 1);
    CU_ASSERT_EQUAL(mem_obj_put_omap(m, "not-hex", "x", 1), 0);
    CU_ASSERT_EQUAL(do_top(m, 0, 5, NULL, &page), -EIO);

    /* counters that cannot hold the entries */
    mem_obj_free(m);
    m = mem_obj_new();
    register_range(m, "vm-a", 1, 2);
    memset(&h, 0, sizeof(h));
    h.bits = BITS;
    h.partition = PART;
    h.c.entries = 1;
    CU_ASSERT_EQUAL(vmd_idx_header_encode(&h, hb, sizeof(hb), &hlen), 0);
    set_header(m, hb, hlen);
    {
        vmd_fp fps[2] = {fp_make(1), fp_make(2)};
        CU_ASSERT_EQUAL(do_release(m, "vm-a", fps, 2, NULL), -EIO);
    }

    /* an op id whose reply is missing */
    {
        vmd_idx_register_req rr = {{0}, T, "vm-a", 1, &it};
        uint8_t *in;
        size_t n;
        h.c.entries = 10;
        h.c.holdings = 10;
        h.c.bytes = 100000;
        h.nops = 1;
        op_next(h.ops[0]);
        memcpy(rr.op_id, h.ops[0], 16);
        CU_ASSERT_EQUAL(vmd_idx_header_encode(&h, hb, sizeof(hb), &hlen), 0);
        set_header(m, hb, hlen);
        CU_ASSERT_EQUAL_FATAL(vmd_idx_register_req_encode(&rr, &in, &n), 0);
        CU_ASSERT_EQUAL(run_quiet(m, vmd_m_idx_register, in, n), -EIO);
        /* and one whose stored reply is garbage */
        {
            char opkey[VMD_IDX_OP_KEY_SIZE];
            vmd_idx_op_key(rr.op_id, opkey);
            CU_ASSERT_EQUAL(mem_obj_put_omap(m, opkey, "zz", 2), 0);
            CU_ASSERT_EQUAL(run_quiet(m, vmd_m_idx_register, in, n), -EIO);
        }
        free(in);
    }
    mem_obj_free(m);
}

static void test_reply_of_unknown_op_is_enoent(void)
{
    mem_obj *m = mem_obj_new();
    uint8_t op[VMD_OP_ID_SIZE], *out = NULL;
    size_t outlen = 0;
    vmd_idx_target other = {BITS, PART + 1};
    uint8_t junk[] = {1, 1, 3, 0, 0, 0, 4, 5, 0};

    op_next(op);
    CU_ASSERT_EQUAL(fetch_reply(m, T, op, &out, &outlen), -ENOENT); /* no partition */
    register_range(m, "vm-a", 1, 1);
    CU_ASSERT_EQUAL(fetch_reply(m, T, op, &out, &outlen), -ENOENT); /* unknown op */
    CU_ASSERT_EQUAL(fetch_reply(m, other, op, &out, &outlen), -EINVAL);
    CU_ASSERT_EQUAL(run_quiet(m, vmd_m_idx_reply, junk, sizeof(junk)), -EINVAL);
    CU_ASSERT_PTR_NULL(out);
    mem_obj_free(m);
}

static void test_malformed_requests_are_einval(void)
{
    mem_obj *m = mem_obj_new();
    static const mem_method_fn fns[] = {
        vmd_m_idx_register,       vmd_m_idx_release, vmd_m_idx_ref,   vmd_m_idx_mark_popular,
        vmd_m_idx_unmark_popular, vmd_m_idx_top,     vmd_m_idx_stats, vmd_m_idx_reply};
    uint8_t newer[] = {2, 2, 0, 0, 0, 0};
    uint8_t junk[] = {1, 1, 3, 0, 0, 0, 4, 5, 6};
    size_t i;

    register_range(m, "vm-a", 1, 1);
    for (i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        CU_ASSERT_EQUAL(run_quiet(m, fns[i], NULL, 0), -EINVAL);
        CU_ASSERT_EQUAL(run_quiet(m, fns[i], junk, 3), -EINVAL);
        CU_ASSERT_EQUAL(run_quiet(m, fns[i], newer, sizeof(newer)), -EPROTO);
    }
    /* junk: a v1 stats request for bits 4, partition 0x0605 -> partition out of range */
    CU_ASSERT_EQUAL(run_quiet(m, vmd_m_idx_stats, junk, sizeof(junk)), -EINVAL);
    mem_obj_free(m);
}

const vmd_test_case vmd_idx_error_tests[] = {
    {"corrupt state is EIO", test_corrupt_state_is_eio},
    {"reply of an unknown op is ENOENT", test_reply_of_unknown_op_is_enoent},
    {"malformed requests", test_malformed_requests_are_einval},
    {NULL, NULL},
};
