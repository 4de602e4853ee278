/*
 * test_idx_msg.c - index partitions: the request and reply codecs.
 *
 * Every message of include/format/index_msg.h round trips; every proper
 * prefix, a wrong version and trailing bytes are refused (the envelope
 * rules); decoders enforce the limits and encoders refuse what a decoder
 * would refuse.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_idx.h"

/* Every proper prefix of a valid message is refused with -EINVAL. */
typedef int (*decode_fn)(const uint8_t *buf, size_t len);

static int dec_register(const uint8_t *b, size_t l)
{
    vmd_idx_register_req r;
    int rc = vmd_idx_register_req_decode(&r, b, l);
    vmd_idx_register_req_free(&r);
    return rc;
}

static int dec_release(const uint8_t *b, size_t l)
{
    vmd_idx_release_req r;
    int rc = vmd_idx_release_req_decode(&r, b, l);
    vmd_idx_release_req_free(&r);
    return rc;
}

static int dec_ref(const uint8_t *b, size_t l)
{
    vmd_idx_ref_req r;
    int rc = vmd_idx_ref_req_decode(&r, b, l);
    vmd_idx_ref_req_free(&r);
    return rc;
}

static int dec_mark(const uint8_t *b, size_t l)
{
    vmd_idx_mark_req r;
    int rc = vmd_idx_mark_req_decode(&r, b, l);
    vmd_idx_mark_req_free(&r);
    return rc;
}

static int dec_unmark(const uint8_t *b, size_t l)
{
    vmd_idx_unmark_req r;
    int rc = vmd_idx_unmark_req_decode(&r, b, l);
    vmd_idx_unmark_req_free(&r);
    return rc;
}

static int dec_top(const uint8_t *b, size_t l)
{
    vmd_idx_top_req r;
    return vmd_idx_top_req_decode(&r, b, l);
}

static int dec_stats(const uint8_t *b, size_t l)
{
    vmd_idx_stats_req r;
    return vmd_idx_stats_req_decode(&r, b, l);
}

static int dec_reg_reply(const uint8_t *b, size_t l)
{
    vmd_idx_register_reply r;
    int rc = vmd_idx_register_reply_decode(&r, b, l);
    vmd_idx_register_reply_free(&r);
    return rc;
}

static int dec_status_reply(const uint8_t *b, size_t l)
{
    vmd_idx_status_reply r;
    int rc = vmd_idx_status_reply_decode(&r, 3, b, l);
    vmd_idx_status_reply_free(&r);
    return rc;
}

static int dec_ref_reply(const uint8_t *b, size_t l)
{
    vmd_idx_ref_reply r;
    int rc = vmd_idx_ref_reply_decode(&r, b, l);
    vmd_idx_ref_reply_free(&r);
    return rc;
}

static int dec_top_reply(const uint8_t *b, size_t l)
{
    vmd_idx_top_reply r;
    int rc = vmd_idx_top_reply_decode(&r, b, l);
    vmd_idx_top_reply_free(&r);
    return rc;
}

static int dec_stats_reply(const uint8_t *b, size_t l)
{
    vmd_idx_counters c;
    return vmd_idx_stats_reply_decode(&c, b, l);
}

/*
 * The envelope rules on a valid message: every truncation and a byte after
 * it are -EINVAL, bytes left in a v1 payload are -EINVAL, compat 2 is
 * -EPROTO, and a v2 message with an extra field is accepted.
 */
static void check_envelope_rules(decode_fn dec, const uint8_t *msg, size_t len)
{
    uint8_t *b = malloc(len + 1);
    size_t i;
    uint32_t payload = (uint32_t)(len - 6);

    CU_ASSERT_EQUAL(dec(msg, len), 0);
    for (i = 0; i < len; i++)
        CU_ASSERT_EQUAL(dec(msg, i), -EINVAL);
    memcpy(b, msg, len);
    b[len] = 0;
    CU_ASSERT_EQUAL(dec(b, len + 1), -EINVAL); /* after the envelope */
    payload++;
    for (i = 0; i < 4; i++)
        b[2 + i] = (uint8_t)(payload >> (8 * i));
    CU_ASSERT_EQUAL(dec(b, len + 1), -EINVAL); /* v1 with a byte too many */
    b[0] = 2;
    CU_ASSERT_EQUAL(dec(b, len + 1), 0); /* v2: unknown field ignored */
    b[1] = 2;
    CU_ASSERT_EQUAL(dec(b, len + 1), -EPROTO);
    b[0] = 1;
    CU_ASSERT_EQUAL(dec(b, len + 1), -EINVAL); /* compat > version */
    free(b);
}

static void test_requests_round_trip_and_envelope(void)
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
    check_envelope_rules(dec_register, b, n);
    free(b);

    CU_ASSERT_EQUAL_FATAL(vmd_idx_release_req_encode(&rl, &b, &n), 0);
    CU_ASSERT_EQUAL(vmd_idx_release_req_decode(&rld, b, n), 0);
    CU_ASSERT_EQUAL(rld.op_id[0], 2);
    CU_ASSERT_EQUAL(memcmp(rld.fps, fps, sizeof(fps)), 0);
    vmd_idx_release_req_free(&rld);
    check_envelope_rules(dec_release, b, n);
    free(b);

    CU_ASSERT_EQUAL_FATAL(vmd_idx_ref_req_encode(&rf, &b, &n), 0);
    CU_ASSERT_EQUAL(vmd_idx_ref_req_decode(&rfd, b, n), 0);
    CU_ASSERT_EQUAL(rfd.items[0].delta, -5);
    CU_ASSERT_EQUAL(rfd.items[1].delta, VMD_IDX_DELTA_MAX);
    vmd_idx_ref_req_free(&rfd);
    check_envelope_rules(dec_ref, b, n);
    free(b);

    CU_ASSERT_EQUAL_FATAL(vmd_idx_mark_req_encode(&mk, &b, &n), 0);
    CU_ASSERT_EQUAL(vmd_idx_mark_req_decode(&mkd, b, n), 0);
    CU_ASSERT_EQUAL(mkd.items[1].pop.slot, 2);
    vmd_idx_mark_req_free(&mkd);
    check_envelope_rules(dec_mark, b, n);
    free(b);

    CU_ASSERT_EQUAL_FATAL(vmd_idx_unmark_req_encode(&um, &b, &n), 0);
    CU_ASSERT_EQUAL(vmd_idx_unmark_req_decode(&umd, b, n), 0);
    CU_ASSERT_EQUAL(umd.count, 2);
    vmd_idx_unmark_req_free(&umd);
    check_envelope_rules(dec_unmark, b, n);
    free(b);

    CU_ASSERT_EQUAL_FATAL(vmd_idx_top_req_encode(&tp, &b, &n), 0);
    CU_ASSERT_EQUAL(vmd_idx_top_req_decode(&tpd, b, n), 0);
    CU_ASSERT_EQUAL(tpd.cursor_vm_count, 7);
    CU_ASSERT_EQUAL(tpd.max, 100);
    check_envelope_rules(dec_top, b, n);
    free(b);

    CU_ASSERT_EQUAL_FATAL(vmd_idx_stats_req_encode(&st, &b, &n), 0);
    CU_ASSERT_EQUAL(n, 9);
    CU_ASSERT_EQUAL(vmd_idx_stats_req_decode(&std, b, n), 0);
    CU_ASSERT_EQUAL(std.t.partition, PART);
    check_envelope_rules(dec_stats, b, n);
    free(b);
}

static void test_replies_round_trip_and_envelope(void)
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
    check_envelope_rules(dec_reg_reply, b, n);
    b[10] = 3; /* unknown status */
    CU_ASSERT_EQUAL(dec_reg_reply(b, n), -EINVAL);
    free(b);

    CU_ASSERT_EQUAL_FATAL(vmd_idx_status_reply_encode(&sr, 3, &b, &n), 0);
    CU_ASSERT_EQUAL(vmd_idx_status_reply_encode(&sr, 2, &b, &n), -EINVAL);
    CU_ASSERT_EQUAL(vmd_idx_status_reply_decode(&srd, 3, b, n), 0);
    CU_ASSERT_EQUAL(srd.status[1], 3);
    vmd_idx_status_reply_free(&srd);
    CU_ASSERT_EQUAL(vmd_idx_status_reply_decode(&srd, 2, b, n), -EINVAL);
    check_envelope_rules(dec_status_reply, b, n);
    free(b);

    CU_ASSERT_EQUAL_FATAL(vmd_idx_ref_reply_encode(&fr, &b, &n), 0);
    CU_ASSERT_EQUAL(vmd_idx_ref_reply_decode(&frd, b, n), 0);
    CU_ASSERT_EQUAL(frd.pop_refs[1], UINT64_MAX);
    vmd_idx_ref_reply_free(&frd);
    check_envelope_rules(dec_ref_reply, b, n);
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
    check_envelope_rules(dec_top_reply, b, n);
    free(b);
    /* out of order */
    items[1].e.vm_count = 9;
    CU_ASSERT_EQUAL_FATAL(vmd_idx_top_reply_encode(&tr, &b, &n), 0);
    CU_ASSERT_EQUAL(dec_top_reply(b, n), -EINVAL);
    free(b);

    CU_ASSERT_EQUAL_FATAL(vmd_idx_stats_reply_encode(&c, &b, &n), 0);
    CU_ASSERT_EQUAL(vmd_idx_stats_reply_decode(&cd, b, n), 0);
    CU_ASSERT_EQUAL(memcmp(&c, &cd, sizeof(c)), 0);
    check_envelope_rules(dec_stats_reply, b, n);
    free(b);
}

/* Builds a register request by hand so that rules the encoder enforces can be broken. */
static size_t raw_register(uint8_t *buf, size_t cap, uint8_t bits, uint16_t part, const char *vm,
                           uint32_t count, const vmd_fp *fps, uint32_t nfps, uint32_t chunk_len)
{
    vmd_wr w;
    size_t env;
    uint32_t i;

    vmd_wr_init(&w, buf, cap);
    env = vmd_wr_begin(&w, 1, 1);
    vmd_put_bytes(&w, "0123456789abcdef", 16);
    vmd_put_u8(&w, bits);
    vmd_put_u16(&w, part);
    vmd_put_u8(&w, (uint8_t)strlen(vm));
    vmd_put_bytes(&w, vm, strlen(vm));
    vmd_put_u32(&w, count);
    for (i = 0; i < nfps; i++) {
        vmd_put_bytes(&w, fps[i].b, 32);
        vmd_put_u32(&w, chunk_len);
        vmd_put_u64(&w, 1);
        vmd_put_u32(&w, 2);
    }
    vmd_wr_end(&w, env);
    return w.len;
}

static void test_request_decoders_enforce_limits(void)
{
    uint8_t buf[4096];
    vmd_fp fps[3] = {fp_make(1), fp_make(2), fp_make(3)};
    char vm65[66];
    size_t n;

    n = raw_register(buf, sizeof(buf), BITS, PART, "vm", 3, fps, 3, 4096);
    CU_ASSERT_EQUAL(dec_register(buf, n), 0);
    n = raw_register(buf, sizeof(buf), BITS, PART, "vm", 0, fps, 0, 4096);
    CU_ASSERT_EQUAL(dec_register(buf, n), -EINVAL); /* empty batch */
    n = raw_register(buf, sizeof(buf), BITS, PART, "vm", 65537, fps, 3, 4096);
    CU_ASSERT_EQUAL(dec_register(buf, n), -EINVAL); /* count beyond the limit */
    n = raw_register(buf, sizeof(buf), BITS, PART, "vm", 4, fps, 3, 4096);
    CU_ASSERT_EQUAL(dec_register(buf, n), -EINVAL); /* count beyond the input */
    n = raw_register(buf, sizeof(buf), BITS, PART, "vm", 2, fps, 3, 4096);
    CU_ASSERT_EQUAL(dec_register(buf, n), -EINVAL); /* items left over */
    n = raw_register(buf, sizeof(buf), 17, PART, "vm", 3, fps, 3, 4096);
    CU_ASSERT_EQUAL(dec_register(buf, n), -EINVAL); /* bits > 16 */
    n = raw_register(buf, sizeof(buf), BITS, 16, "vm", 3, fps, 3, 4096);
    CU_ASSERT_EQUAL(dec_register(buf, n), -EINVAL); /* partition >= 2^bits */
    n = raw_register(buf, sizeof(buf), BITS, PART - 1, "vm", 3, fps, 3, 4096);
    CU_ASSERT_EQUAL(dec_register(buf, n), -EINVAL); /* fps outside the partition */
    n = raw_register(buf, sizeof(buf), BITS, PART, "", 3, fps, 3, 4096);
    CU_ASSERT_EQUAL(dec_register(buf, n), -EINVAL); /* empty VM id */
    n = raw_register(buf, sizeof(buf), BITS, PART, "a b", 3, fps, 3, 4096);
    CU_ASSERT_EQUAL(dec_register(buf, n), -EINVAL); /* bad VM id */
    memset(vm65, 'v', 65);
    vm65[65] = 0;
    n = raw_register(buf, sizeof(buf), BITS, PART, vm65, 3, fps, 3, 4096);
    CU_ASSERT_EQUAL(dec_register(buf, n), -EINVAL); /* VM id of 65 bytes */
    vm65[64] = 0;
    n = raw_register(buf, sizeof(buf), BITS, PART, vm65, 3, fps, 3, 4096);
    CU_ASSERT_EQUAL(dec_register(buf, n), 0); /* 64 bytes is fine */
    n = raw_register(buf, sizeof(buf), BITS, PART, "vm", 3, fps, 3, 0);
    CU_ASSERT_EQUAL(dec_register(buf, n), -EINVAL); /* chunk_len 0 */
    n = raw_register(buf, sizeof(buf), BITS, PART, "vm", 3, fps, 3, VMD_CHUNK_MAX + 1);
    CU_ASSERT_EQUAL(dec_register(buf, n), -EINVAL); /* chunk_len above 1 MiB */
    n = raw_register(buf, sizeof(buf), BITS, PART, "vm", 3, fps, 3, VMD_CHUNK_MAX);
    CU_ASSERT_EQUAL(dec_register(buf, n), 0);
    fps[1] = fps[0];
    n = raw_register(buf, sizeof(buf), BITS, PART, "vm", 3, fps, 3, 4096);
    CU_ASSERT_EQUAL(dec_register(buf, n), -EINVAL); /* duplicate fp */
    fps[1] = fps[2];
    fps[2] = fp_make(2);
    n = raw_register(buf, sizeof(buf), BITS, PART, "vm", 3, fps, 3, 4096);
    CU_ASSERT_EQUAL(dec_register(buf, n), -EINVAL); /* descending */
}

static void test_encoders_refuse_invalid_messages(void)
{
    vmd_fp fps[2] = {fp_make(2), fp_make(1)};
    vmd_idx_ref_item refs[1] = {{fp_make(1), 0}};
    vmd_idx_release_req rl = {{0}, T, "vm", 2, fps};
    vmd_idx_unmark_req um = {{0}, T, 0, fps};
    vmd_idx_ref_req rf = {{0}, T, 1, refs};
    vmd_idx_top_req tp = {T, 0, 0, 0, 0, {{0}}};
    vmd_idx_stats_req st = {{3, 8}};
    uint8_t *b = NULL;
    size_t n;

    CU_ASSERT_EQUAL(vmd_idx_release_req_encode(&rl, &b, &n), -EINVAL); /* descending */
    CU_ASSERT_EQUAL(vmd_idx_unmark_req_encode(&um, &b, &n), -EINVAL);  /* empty */
    um.count = VMD_IDX_BATCH_MAX + 1;
    CU_ASSERT_EQUAL(vmd_idx_unmark_req_encode(&um, &b, &n), -EINVAL); /* too many */
    CU_ASSERT_EQUAL(vmd_idx_ref_req_encode(&rf, &b, &n), -EINVAL);    /* delta 0 */
    refs[0].delta = VMD_IDX_DELTA_MAX + 1;
    CU_ASSERT_EQUAL(vmd_idx_ref_req_encode(&rf, &b, &n), -EINVAL);
    refs[0].delta = -VMD_IDX_DELTA_MAX - 1;
    CU_ASSERT_EQUAL(vmd_idx_ref_req_encode(&rf, &b, &n), -EINVAL);
    refs[0].delta = -VMD_IDX_DELTA_MAX;
    CU_ASSERT_EQUAL(vmd_idx_ref_req_encode(&rf, &b, &n), 0);
    free(b);
    CU_ASSERT_EQUAL(vmd_idx_top_req_encode(&tp, &b, &n), -EINVAL); /* max 0 */
    tp.max = VMD_IDX_TOP_MAX + 1;
    CU_ASSERT_EQUAL(vmd_idx_top_req_encode(&tp, &b, &n), -EINVAL);
    tp.max = VMD_IDX_TOP_MAX;
    tp.has_cursor = 1;
    tp.cursor_fp.b[0] = 0xff; /* cursor outside the partition */
    CU_ASSERT_EQUAL(vmd_idx_top_req_encode(&tp, &b, &n), -EINVAL);
    CU_ASSERT_EQUAL(vmd_idx_stats_req_encode(&st, &b, &n), -EINVAL); /* partition 8 of 2^3 */
}

static void test_top_request_decoder_limits(void)
{
    uint8_t buf[64];
    vmd_wr w;
    size_t env;
    uint32_t max;
    uint8_t cursor;

    for (max = 0; max <= 4097; max += 4096) {
        for (cursor = 0; cursor <= 2; cursor++) {
            vmd_wr_init(&w, buf, sizeof(buf));
            env = vmd_wr_begin(&w, 1, 1);
            vmd_put_u8(&w, BITS);
            vmd_put_u16(&w, PART);
            vmd_put_u32(&w, 0);
            vmd_put_u32(&w, max ? max : 0);
            vmd_put_u8(&w, cursor);
            vmd_wr_end(&w, env);
            /* max 4096 without cursor is the only valid one of these */
            CU_ASSERT_EQUAL(dec_top(buf, w.len), max == 4096 && cursor == 0 ? 0 : -EINVAL);
        }
    }
    vmd_wr_init(&w, buf, sizeof(buf));
    env = vmd_wr_begin(&w, 1, 1);
    vmd_put_u8(&w, BITS);
    vmd_put_u16(&w, PART);
    vmd_put_u32(&w, 0);
    vmd_put_u32(&w, 4097);
    vmd_put_u8(&w, 0);
    vmd_wr_end(&w, env);
    CU_ASSERT_EQUAL(dec_top(buf, w.len), -EINVAL);
}

const vmd_test_case vmd_idx_msg_tests[] = {
    {"requests: round trip and envelope rules", test_requests_round_trip_and_envelope},
    {"replies: round trip and envelope rules", test_replies_round_trip_and_envelope},
    {"request decoders enforce limits", test_request_decoders_enforce_limits},
    {"encoders refuse invalid messages", test_encoders_refuse_invalid_messages},
    {"top request decoder limits", test_top_request_decoder_limits},
    {NULL, NULL},
};
