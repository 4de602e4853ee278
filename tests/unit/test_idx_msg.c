/*
 * test_idx_msg.c - index messages that are well formed: every message of
 * include/format/index_msg.h round trips, and the envelope rules hold on it.
 *
 * A round trip is byte for byte: what decodes re-encodes to the same bytes
 * (the rows of test_idx_msg_codecs.c assert that on every successful
 * decode), and the decoded fields are the ones encoded. The envelope rules,
 * checked on each message of the table and on every hand-built message
 * below: every proper prefix is -EINVAL, and so is a payload cut short but
 * announced as such; a byte after the envelope, or left in a v1 payload, is
 * -EINVAL; a v2 message with an appended field decodes (and re-encodes as
 * v1); compat 2 is -EPROTO; compat above version, version 0 and compat 0
 * are -EINVAL. Malformed payloads are test_idx_msg_bad.c's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test_idx_msg.h"

/* The envelope rules (see the top of the file) on b, a valid message of c. */
static void check_envelope(const idx_codec *c, const uint8_t *b, size_t n)
{
    uint8_t *x = malloc(n + 1), *again = NULL;
    size_t k, len = 0;

    CU_ASSERT_EQUAL(idx_codec_decode(c, b, n), 0);
    for (k = 0; k < n; k++)
        CU_ASSERT_EQUAL(idx_codec_decode(c, b, k), -EINVAL);
    memcpy(x, b, n);
    idx_envelope_set_length(x, n - 1);
    CU_ASSERT_EQUAL(idx_codec_decode(c, x, n - 1), -EINVAL); /* cut short, announced so */
    memcpy(x, b, n);
    x[n] = 0;
    CU_ASSERT_EQUAL(idx_codec_decode(c, x, n + 1), -EINVAL); /* a byte after the envelope */
    idx_envelope_set_length(x, n + 1);
    CU_ASSERT_EQUAL(idx_codec_decode(c, x, n + 1), -EINVAL); /* a v1 payload with a byte left */
    x[0] = 2;
    CU_ASSERT_EQUAL(c->again(x, n + 1, &again, &len), 0); /* v2: appended field skipped */
    CU_ASSERT(len == n && memcmp(again, b, n) == 0);      /* re-encoded as v1 */
    free(again);
    x[1] = 2;
    CU_ASSERT_EQUAL(idx_codec_decode(c, x, n + 1), -EPROTO); /* compat 2: a newer writer */
    x[0] = 1;
    CU_ASSERT_EQUAL(idx_codec_decode(c, x, n + 1), -EINVAL); /* compat above version */
    memcpy(x, b, n);
    x[0] = 0;
    CU_ASSERT_EQUAL(idx_codec_decode(c, x, n), -EINVAL); /* version 0 */
    x[0] = 1;
    x[1] = 0;
    CU_ASSERT_EQUAL(idx_codec_decode(c, x, n), -EINVAL); /* compat 0 */
    CU_ASSERT_EQUAL(idx_codec_decode(c, NULL, 0), -EINVAL);
    free(x);
}

static void test_every_message_round_trips(void)
{
    size_t i, n;
    uint8_t *b;

    for (i = 0; i < idx_ncodecs; i++) {
        CU_ASSERT_EQUAL_FATAL(idx_codecs[i].sample(&b, &n), 0);
        CU_ASSERT_EQUAL(n, idx_codecs[i].size);
        CU_ASSERT_EQUAL(b[0], VMD_IDX_MSG_V);
        CU_ASSERT_EQUAL(b[1], 1);
        check_envelope(&idx_codecs[i], b, n);
        free(b);
    }
}

static void test_request_fields_round_trip(void)
{
    vmd_idx_reg_item reg[3] = {reg_item(1, 100, 1, 2), reg_item(2, 200, 3, 4),
                               reg_item(9, 300, 5, 6)};
    vmd_fp fps[2] = {fp_make(1), fp_make(2)};
    vmd_idx_ref_item refs[2] = {{fp_make(1), -5}, {fp_make(2), VMD_IDX_DELTA_MAX}};
    vmd_idx_mark_item marks[2] = {{fp_make(1), {10, 1}}, {fp_make(4), {10, 2}}};
    vmd_idx_register_req rr = {{1}, T, "vm-a", 3, reg}, rd;
    vmd_idx_release_req rl = {{2}, T, "vm-b", 2, fps}, rld;
    vmd_idx_ref_req rf = {{3}, T, 2, refs}, rfd;
    vmd_idx_mark_req mk = {{4}, T, 2, marks}, mkd;
    vmd_idx_unmark_req um = {{5}, T, 2, fps}, umd;
    vmd_idx_top_req tp = {T, 2, 100, 1, 7, fp_make(3)}, tpd;
    vmd_idx_stats_req st = {T}, std;
    uint8_t *b;
    size_t n;

    CU_ASSERT_EQUAL_FATAL(vmd_idx_register_req_encode(&rr, &b, &n), 0);
    CU_ASSERT_EQUAL(n, 6 + 16 + 3 + 5 + 4 + 3 * 48);
    CU_ASSERT_EQUAL(vmd_idx_register_req_decode(&rd, b, n), 0);
    CU_ASSERT_STRING_EQUAL(rd.vm, "vm-a");
    CU_ASSERT_EQUAL(rd.count, 3);
    CU_ASSERT_EQUAL(memcmp(rd.items, reg, sizeof(reg)), 0);
    vmd_idx_register_req_free(&rd);
    check_envelope(idx_codec_find("register_req"), b, n);
    free(b);

    CU_ASSERT_EQUAL_FATAL(vmd_idx_release_req_encode(&rl, &b, &n), 0);
    CU_ASSERT_EQUAL(vmd_idx_release_req_decode(&rld, b, n), 0);
    CU_ASSERT_EQUAL(rld.op_id[0], 2);
    CU_ASSERT_EQUAL(memcmp(rld.fps, fps, sizeof(fps)), 0);
    vmd_idx_release_req_free(&rld);
    check_envelope(idx_codec_find("release_req"), b, n);
    free(b);

    CU_ASSERT_EQUAL_FATAL(vmd_idx_ref_req_encode(&rf, &b, &n), 0);
    CU_ASSERT_EQUAL(vmd_idx_ref_req_decode(&rfd, b, n), 0);
    CU_ASSERT_EQUAL(rfd.items[0].delta, -5);
    CU_ASSERT_EQUAL(rfd.items[1].delta, VMD_IDX_DELTA_MAX);
    vmd_idx_ref_req_free(&rfd);
    check_envelope(idx_codec_find("ref_req"), b, n);
    free(b);

    CU_ASSERT_EQUAL_FATAL(vmd_idx_mark_req_encode(&mk, &b, &n), 0);
    CU_ASSERT_EQUAL(vmd_idx_mark_req_decode(&mkd, b, n), 0);
    CU_ASSERT_EQUAL(mkd.items[1].pop.slot, 2);
    vmd_idx_mark_req_free(&mkd);
    check_envelope(idx_codec_find("mark_req"), b, n);
    free(b);

    CU_ASSERT_EQUAL_FATAL(vmd_idx_unmark_req_encode(&um, &b, &n), 0);
    CU_ASSERT_EQUAL(vmd_idx_unmark_req_decode(&umd, b, n), 0);
    CU_ASSERT_EQUAL(umd.count, 2);
    vmd_idx_unmark_req_free(&umd);
    check_envelope(idx_codec_find("unmark_req"), b, n);
    free(b);

    CU_ASSERT_EQUAL_FATAL(vmd_idx_top_req_encode(&tp, &b, &n), 0);
    CU_ASSERT_EQUAL(vmd_idx_top_req_decode(&tpd, b, n), 0);
    CU_ASSERT_EQUAL(tpd.cursor_vm_count, 7);
    CU_ASSERT_EQUAL(tpd.max, 100);
    check_envelope(idx_codec_find("top_req"), b, n);
    free(b);

    CU_ASSERT_EQUAL_FATAL(vmd_idx_stats_req_encode(&st, &b, &n), 0);
    CU_ASSERT_EQUAL(n, 9);
    CU_ASSERT_EQUAL(vmd_idx_stats_req_decode(&std, b, n), 0);
    CU_ASSERT_EQUAL(std.t.partition, PART);
    check_envelope(idx_codec_find("stats_req"), b, n);
    free(b);
}

static void test_reply_fields_round_trip(void)
{
    vmd_idx_reg_result res[3] = {{0, 1, {0, 0}}, {2, 7, {99, 5}}, {1, 2, {0, 0}}};
    vmd_idx_register_reply rr = {3, res}, rrd;
    uint8_t st[3] = {0, 3, 2};
    vmd_idx_status_reply sr = {3, st}, srd;
    uint64_t refs[2] = {0, UINT64_MAX};
    vmd_idx_ref_reply fr = {2, refs}, frd;
    vmd_idx_top_item items[2];
    vmd_idx_top_reply tr = {2, 1, items}, trd;
    vmd_idx_counters c = {1, 2, 1, 4, 3, 6}, cd;
    uint8_t *b;
    size_t n;

    CU_ASSERT_EQUAL_FATAL(vmd_idx_register_reply_encode(&rr, &b, &n), 0);
    CU_ASSERT_EQUAL(n, 6 + 4 + 5 + 17 + 5);
    CU_ASSERT_EQUAL(vmd_idx_register_reply_decode(&rrd, b, n), 0);
    CU_ASSERT_EQUAL(rrd.items[1].pop.id, 99);
    CU_ASSERT_EQUAL(rrd.items[2].vm_count, 2);
    vmd_idx_register_reply_free(&rrd);
    check_envelope(idx_codec_find("register_reply"), b, n);
    b[10] = 3; /* unknown status */
    CU_ASSERT_EQUAL(idx_codec_decode(idx_codec_find("register_reply"), b, n), -EINVAL);
    free(b);

    CU_ASSERT_EQUAL_FATAL(vmd_idx_status_reply_encode(&sr, 3, &b, &n), 0);
    CU_ASSERT_EQUAL(vmd_idx_status_reply_encode(&sr, 2, &b, &n), -EINVAL);
    CU_ASSERT_EQUAL(vmd_idx_status_reply_decode(&srd, 3, b, n), 0);
    CU_ASSERT_EQUAL(srd.status[1], 3);
    vmd_idx_status_reply_free(&srd);
    CU_ASSERT_EQUAL(vmd_idx_status_reply_decode(&srd, 2, b, n), -EINVAL);
    check_envelope(idx_codec_find("status_reply"), b, n);
    free(b);

    CU_ASSERT_EQUAL_FATAL(vmd_idx_ref_reply_encode(&fr, &b, &n), 0);
    CU_ASSERT_EQUAL(vmd_idx_ref_reply_decode(&frd, b, n), 0);
    CU_ASSERT_EQUAL(frd.pop_refs[1], UINT64_MAX);
    vmd_idx_ref_reply_free(&frd);
    check_envelope(idx_codec_find("ref_reply"), b, n);
    free(b);

    memset(items, 0, sizeof(items));
    items[0].fp = fp_make(5);
    items[0].e = entry_sample();
    items[0].e.nvms = 0;
    items[1].fp = fp_make(1);
    items[1].e = items[0].e;
    items[1].e.vm_count = 2;
    items[1].e.home_vm[0] = 0;
    items[1].e.home.id = items[1].e.home.slot = 0;
    CU_ASSERT_EQUAL_FATAL(vmd_idx_top_reply_encode(&tr, &b, &n), 0);
    CU_ASSERT_EQUAL(vmd_idx_top_reply_decode(&trd, b, n), 0);
    CU_ASSERT_EQUAL(trd.count, 2);
    CU_ASSERT_EQUAL(trd.more, 1);
    CU_ASSERT_STRING_EQUAL(trd.items[0].e.home_vm, "vm-one");
    CU_ASSERT_EQUAL(trd.items[1].e.vm_count, 2);
    vmd_idx_top_reply_free(&trd);
    check_envelope(idx_codec_find("top_reply"), b, n);
    free(b);
    /* out of order */
    items[1].e.vm_count = 9;
    CU_ASSERT_EQUAL_FATAL(vmd_idx_top_reply_encode(&tr, &b, &n), 0);
    CU_ASSERT_EQUAL(idx_codec_decode(idx_codec_find("top_reply"), b, n), -EINVAL);
    free(b);

    CU_ASSERT_EQUAL_FATAL(vmd_idx_stats_reply_encode(&c, &b, &n), 0);
    CU_ASSERT_EQUAL(vmd_idx_stats_reply_decode(&cd, b, n), 0);
    CU_ASSERT_EQUAL(memcmp(&c, &cd, sizeof(c)), 0);
    check_envelope(idx_codec_find("stats_reply"), b, n);
    free(b);
}

/* The replies of the mutating methods by kind are the typed replies' bytes. */
static void test_reply_kinds(void)
{
    const idx_codec *status = idx_codec_find("status_reply");
    uint8_t *b, *k;
    size_t n, kn;

    CU_ASSERT_EQUAL(vmd_idx_reply_item_size(VMD_IDX_REPLY_REGISTER), sizeof(vmd_idx_reg_result));
    CU_ASSERT_EQUAL(vmd_idx_reply_item_size(VMD_IDX_REPLY_STATUS), 1);
    CU_ASSERT_EQUAL(vmd_idx_reply_item_size(VMD_IDX_REPLY_REF), 8);
    CU_ASSERT_EQUAL(vmd_idx_reply_item_size((vmd_idx_reply_kind)3), 0);

    CU_ASSERT_EQUAL_FATAL(status->sample(&b, &n), 0);
    CU_ASSERT_EQUAL_FATAL(vmd_idx_reply_encode(VMD_IDX_REPLY_STATUS, VMD_IDX_RELEASE_STATUS_MAX, 3,
                                               idx_sample_statuses, &k, &kn),
                          0);
    CU_ASSERT(kn == n && memcmp(k, b, n) == 0); /* the same bytes as the typed encoder */
    CU_ASSERT_EQUAL(vmd_idx_reply_check(VMD_IDX_REPLY_STATUS, VMD_IDX_RELEASE_STATUS_MAX, b, n, 3),
                    0);
    CU_ASSERT_EQUAL(vmd_idx_reply_check(VMD_IDX_REPLY_STATUS, VMD_IDX_RELEASE_STATUS_MAX, b, n, 2),
                    -EINVAL); /* another count */
    CU_ASSERT_EQUAL(vmd_idx_reply_check(VMD_IDX_REPLY_STATUS, VMD_IDX_NOT_FOUND, b, n, 3),
                    -EINVAL); /* a status above what the method replies */
    CU_ASSERT_EQUAL(vmd_idx_reply_check(VMD_IDX_REPLY_REF, 0, b, n, 3), -EINVAL);
    CU_ASSERT_EQUAL(vmd_idx_reply_check((vmd_idx_reply_kind)7, 0, b, n, 3), -EINVAL);
    CU_ASSERT_EQUAL(vmd_idx_reply_encode((vmd_idx_reply_kind)7, 0, 3, idx_sample_statuses, &k, &kn),
                    -EINVAL);
    free(k);
    free(b);
    CU_ASSERT_EQUAL_FATAL(
        vmd_idx_reply_encode(VMD_IDX_REPLY_REF, 0, 2, idx_sample_pop_refs, &b, &n), 0);
    CU_ASSERT_EQUAL(vmd_idx_reply_check(VMD_IDX_REPLY_REF, 0, b, n, 2), 0);
    free(b);
}

const vmd_test_case vmd_idx_msg_tests[] = {
    {"every message round-trips; envelope rules", test_every_message_round_trips},
    {"requests: fields round-trip; envelope rules", test_request_fields_round_trip},
    {"replies: fields round-trip; envelope rules", test_reply_fields_round_trip},
    {"replies by kind", test_reply_kinds},
    {NULL, NULL},
};
