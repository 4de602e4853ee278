/*
 * test_ctr_msg.c - containers: the messages of the ctr_* methods.
 *
 * Requests and replies of scrub, compact and stats round trip; malformed
 * ones are -EINVAL and a newer version is -EPROTO, with trailing bytes of a
 * newer compatible version accepted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test_ctr.h"

/* ---- messages ---- */

static void test_messages_round_trip(void)
{
    uint8_t buf[256], bitmap[2] = {0x05, 0x01};
    size_t len;
    vmd_ctr_scrub_req sq = {17}, sq2;
    vmd_ctr_bad bad[2] = {{3, 1}, {9, 2}};
    vmd_ctr_scrub_reply sr = {10, 8, 1, 1, 5, 2, bad}, sr2;
    vmd_ctr_compact_req cq, cq2;
    vmd_ctr_compact_reply cr = {1000, 600, 3, 0, 6}, cr2;
    vmd_ctr_stats_reply st, st2;

    CU_ASSERT_EQUAL(vmd_ctr_scrub_req_encode(&sq, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(vmd_ctr_scrub_req_decode(&sq2, buf, len), 0);
    CU_ASSERT_EQUAL(sq2.max_bad, 17);

    CU_ASSERT_EQUAL(vmd_ctr_scrub_reply_encode(&sr, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(len, VMD_CTR_SCRUB_REPLY_SIZE(2));
    CU_ASSERT_EQUAL(vmd_ctr_scrub_reply_decode(&sr2, buf, len, 2), 0);
    CU_ASSERT_EQUAL(sr2.nbad, 5);
    CU_ASSERT_EQUAL(sr2.nlist, 2);
    CU_ASSERT_EQUAL(sr2.bad[1].slot, 9);
    CU_ASSERT_EQUAL(sr2.bad[1].reason, 2);
    vmd_ctr_scrub_reply_clear(&sr2);
    /* asked for 3, got 2 listed of 5: truncated */
    CU_ASSERT_EQUAL(vmd_ctr_scrub_reply_decode(&sr2, buf, len, 3), -EINVAL);
    CU_ASSERT_EQUAL(vmd_ctr_scrub_reply_decode(&sr2, buf, len, 4097), -EINVAL);

    memset(&cq, 0, sizeof(cq));
    memset(cq.op_id, 0xaa, 16);
    cq.mode = 1;
    cq.nslots = 9;
    cq.bitmap = bitmap;
    CU_ASSERT_EQUAL(vmd_ctr_compact_req_encode(&cq, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(len, VMD_CTR_COMPACT_REQ_SIZE(9));
    CU_ASSERT_EQUAL(vmd_ctr_compact_req_decode(&cq2, buf, len), 0);
    CU_ASSERT_EQUAL(cq2.mode, 1);
    CU_ASSERT_EQUAL(cq2.nslots, 9);
    CU_ASSERT(memcmp(cq2.op_id, cq.op_id, 16) == 0);
    CU_ASSERT(vmd_ctr_bitmap_test(cq2.bitmap, 0) && !vmd_ctr_bitmap_test(cq2.bitmap, 1) &&
              vmd_ctr_bitmap_test(cq2.bitmap, 2) && vmd_ctr_bitmap_test(cq2.bitmap, 8));
    bitmap[1] = 0x03; /* bit 9 of 9 slots */
    CU_ASSERT_EQUAL(vmd_ctr_compact_req_encode(&cq, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(vmd_ctr_compact_req_decode(&cq2, buf, len), -EINVAL);

    CU_ASSERT_EQUAL(vmd_ctr_compact_reply_encode(&cr, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(vmd_ctr_compact_reply_decode(&cr2, buf, len), 0);
    CU_ASSERT(cr2.size_before == 1000 && cr2.size_after == 600 && cr2.live == 3 && cr2.dead == 0 &&
              cr2.reclaimed == 6);

    CU_ASSERT_EQUAL(vmd_ctr_stats_req_encode(buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(len, 6);
    CU_ASSERT_EQUAL(vmd_ctr_stats_req_decode(buf, len), 0);
    CU_ASSERT_EQUAL(vmd_ctr_stats_req_decode(buf, 0), -EINVAL);
    memset(&st, 0, sizeof(st));
    st.nslots = 3;
    st.live = 2;
    st.dead = 1;
    st.live_stored = 10;
    st.dead_bytes = 5;
    st.object_size = 500;
    st.flags = VMD_CTR_F_SEALED;
    st.id = 77;
    strcpy(st.vm, "vm-x");
    CU_ASSERT_EQUAL(vmd_ctr_stats_reply_encode(&st, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(vmd_ctr_stats_reply_decode(&st2, buf, len), 0);
    CU_ASSERT(memcmp(&st, &st2, sizeof(st)) == 0);
    st.live = 3; /* counts no longer add up */
    CU_ASSERT_EQUAL(vmd_ctr_stats_reply_encode(&st, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(vmd_ctr_stats_reply_decode(&st2, buf, len), -EINVAL);
}

static void test_messages_malformed(void)
{
    uint8_t buf[64], bitmap[1] = {1};
    size_t len;
    vmd_ctr_scrub_req sq = {4096}, sq2;
    vmd_ctr_compact_req cq, cq2;

    CU_ASSERT_EQUAL(vmd_ctr_scrub_req_encode(&sq, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(vmd_ctr_scrub_req_decode(&sq2, buf, len), 0);
    CU_ASSERT_EQUAL(vmd_ctr_scrub_req_decode(&sq2, buf, len - 1), -EINVAL);
    buf[len] = 0;
    CU_ASSERT_EQUAL(vmd_ctr_scrub_req_decode(&sq2, buf, len + 1), -EINVAL); /* trailing */
    sq.max_bad = 4097;
    CU_ASSERT_EQUAL(vmd_ctr_scrub_req_encode(&sq, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(vmd_ctr_scrub_req_decode(&sq2, buf, len), -EINVAL);
    buf[0] = 2;
    buf[1] = 2; /* version 2, compat 2: not ours */
    CU_ASSERT_EQUAL(vmd_ctr_scrub_req_decode(&sq2, buf, len), -EPROTO);
    CU_ASSERT_EQUAL(vmd_ctr_scrub_req_decode(&sq2, NULL, 0), -EINVAL);

    memset(&cq, 0, sizeof(cq));
    cq.mode = 2;
    cq.nslots = 1;
    cq.bitmap = bitmap;
    CU_ASSERT_EQUAL(vmd_ctr_compact_req_encode(&cq, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(vmd_ctr_compact_req_decode(&cq2, buf, len), -EINVAL);
    cq.mode = 0;
    CU_ASSERT_EQUAL(vmd_ctr_compact_req_encode(&cq, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(vmd_ctr_compact_req_decode(&cq2, buf, len - 1), -EINVAL);
    put32(buf + 6 + 17, VMD_CTR_MAX_SLOTS + 1);
    CU_ASSERT_EQUAL(vmd_ctr_compact_req_decode(&cq2, buf, len), -EINVAL);
    /* version 2 with compat 1: its extra payload is ignored */
    CU_ASSERT_EQUAL(vmd_ctr_compact_req_encode(&cq, buf, sizeof(buf), &len), 0);
    buf[0] = 2;
    buf[len] = 0xee;
    put32(buf + 2, (uint32_t)(len - 6 + 1));
    CU_ASSERT_EQUAL(vmd_ctr_compact_req_decode(&cq2, buf, len + 1), 0);
}

const vmd_test_case vmd_ctr_msg_tests[] = {
    {"messages: round trips", test_messages_round_trip},
    {"messages: malformed and newer versions", test_messages_malformed},
    {NULL, NULL},
};
