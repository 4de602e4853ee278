/*
 * test_idx_msg_bad.c - index messages that are not well formed: every kind
 * of malformed input is refused with its exact error, and the encoders
 * refuse what the decoders would refuse.
 *
 * Most cases patch one field of a valid sample of test_idx_msg_codecs.c at
 * its offset in the layouts of docs/format.md ("Methods on partitions"):
 * targets and partitions, VM ids, counts (out of range, beyond the input,
 * items left over), chunk lengths, deltas, fingerprint order and partition,
 * statuses, flags, the order of idx_top entries, inconsistent counters.
 * Others build a message by hand (a register request, an idx_top request)
 * to break rules an encoder enforces. ASan and valgrind runs check that no
 * decode reads outside its input or leaks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test_idx_msg.h"

/* Offsets in a mutating request: envelope 6, op id 16, then the target. */
#define AT_BITS 22
#define AT_PART 23
#define AT_VM   25

static void test_targets(void)
{
    static const char *const reqs[] = {"register_req", "release_req", "ref_req", "mark_req",
                                       "unmark_req"};
    size_t i;

    for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
        const idx_codec *c = idx_codec_find(reqs[i]);
        CU_ASSERT_EQUAL(idx_codec_patched(c, AT_BITS, 17, 0), -EINVAL); /* bits > 16 */
        CU_ASSERT_EQUAL(idx_codec_patched(c, AT_PART, 16, 0), -EINVAL); /* partition >= 2^bits */
        CU_ASSERT_EQUAL(idx_codec_patched(c, AT_PART, PART - 1, 0),
                        -EINVAL); /* idx_sample_fps of another one */
    }
    CU_ASSERT_EQUAL(idx_codec_patched(idx_codec_find("stats_req"), 6, 17, 0), -EINVAL);
    CU_ASSERT_EQUAL(idx_codec_patched(idx_codec_find("reply_req"), 7, 16, 0), -EINVAL);
    CU_ASSERT_EQUAL(idx_codec_patched(idx_codec_find("top_req"), 6, 3, 0),
                    -EINVAL); /* cursor outside partition */
}

static void test_vm_ids(void)
{
    const idx_codec *c = idx_codec_find("register_req");

    CU_ASSERT_EQUAL(idx_codec_patched(c, AT_VM + 1, ' ', 0), -EINVAL); /* not [A-Za-z0-9._:-] */
    CU_ASSERT_EQUAL(idx_codec_patched(c, AT_VM + 1, 0, 0), -EINVAL);   /* a NUL inside */
    CU_ASSERT_EQUAL(idx_codec_patched(c, AT_VM, 0, 0), -EINVAL);       /* empty (and misaligned) */
    CU_ASSERT_EQUAL(idx_codec_patched(idx_codec_find("release_req"), AT_VM + 3, '/', 0), -EINVAL);
}

static void test_vm_id_length_limit(void)
{
    vmd_idx_release_req r = {{0}, T, "", 2, idx_sample_fps}, d;
    uint8_t *b;
    size_t n;

    memset(r.vm, 'v', VMD_VM_ID_MAX);
    r.vm[VMD_VM_ID_MAX] = 0;
    CU_ASSERT_EQUAL_FATAL(vmd_idx_release_req_encode(&r, &b, &n), 0); /* 64 bytes: fine */
    CU_ASSERT_EQUAL(vmd_idx_release_req_decode(&d, b, n), 0);
    CU_ASSERT_EQUAL(strlen(d.vm), VMD_VM_ID_MAX);
    vmd_idx_release_req_free(&d);
    b[AT_VM] = VMD_VM_ID_MAX + 1; /* claims 65 bytes */
    CU_ASSERT_EQUAL(vmd_idx_release_req_decode(&d, b, n), -EINVAL);
    free(b);
    r.vm[2] = '*';
    CU_ASSERT_EQUAL(vmd_idx_release_req_encode(&r, &b, &n), -EINVAL);
    r.vm[0] = 0;
    CU_ASSERT_EQUAL(vmd_idx_release_req_encode(&r, &b, &n), -EINVAL);
}

static void test_counts(void)
{
    /* offset of the count: after "vm-a" (register) and "vm.b:1_-" (release) */
    static const struct {
        const char *name;
        size_t at;
        uint32_t lo, hi;
    } cases[] = {
        {"register_req", 30, 1, VMD_IDX_BATCH_MAX}, {"release_req", 34, 1, VMD_IDX_BATCH_MAX},
        {"ref_req", 25, 1, VMD_IDX_BATCH_MAX},      {"mark_req", 25, 1, VMD_IDX_BATCH_MAX},
        {"unmark_req", 25, 1, VMD_IDX_BATCH_MAX},   {"register_reply", 6, 1, VMD_IDX_BATCH_MAX},
        {"status_reply", 6, 1, VMD_IDX_BATCH_MAX},  {"ref_reply", 6, 1, VMD_IDX_BATCH_MAX},
        {"top_reply", 6, 0, VMD_IDX_TOP_MAX},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const idx_codec *c = idx_codec_find(cases[i].name);
        if (cases[i].lo)
            CU_ASSERT_EQUAL(idx_codec_patched(c, cases[i].at, 0, 1), -EINVAL); /* empty batch */
        CU_ASSERT_EQUAL(idx_codec_patched(c, cases[i].at, cases[i].hi + 1, 1), -EINVAL);
        CU_ASSERT_EQUAL(idx_codec_patched(c, cases[i].at, cases[i].hi, 1),
                        -EINVAL); /* beyond the input */
        CU_ASSERT_EQUAL(idx_codec_patched(c, cases[i].at, UINT32_MAX, 1), -EINVAL);
        CU_ASSERT_EQUAL(idx_codec_patched(c, cases[i].at, 1, 1), -EINVAL); /* items left over */
    }
}

static void test_item_rules(void)
{
    const idx_codec *reg = idx_codec_find("register_req"), *ref = idx_codec_find("ref_req");
    const size_t reg_item0 = 34, ref_item0 = 29;

    /* chunk_len: 1 .. 1 MiB */
    CU_ASSERT_EQUAL(idx_codec_patched(reg, reg_item0 + 32, 0, 1), -EINVAL);
    CU_ASSERT_EQUAL(idx_codec_patched(reg, reg_item0 + 32, VMD_CHUNK_MAX + 1, 1), -EINVAL);
    CU_ASSERT_EQUAL(idx_codec_patched(reg, reg_item0 + 32, VMD_CHUNK_MAX, 1), 0);
    /* delta: != 0, |delta| <= 2^24 */
    CU_ASSERT_EQUAL(idx_codec_patched(ref, ref_item0 + 32, 0, 1), -EINVAL);
    CU_ASSERT_EQUAL(idx_codec_patched(ref, ref_item0 + 32, VMD_IDX_DELTA_MAX + 1, 1), -EINVAL);
    CU_ASSERT_EQUAL(idx_codec_patched(ref, ref_item0 + 32, (uint32_t) - (VMD_IDX_DELTA_MAX + 1), 1),
                    -EINVAL);
    CU_ASSERT_EQUAL(idx_codec_patched(ref, ref_item0 + 32, (uint32_t)-1, 1), 0);
    /* idx_sample_fps: strictly ascending (item 1's last byte made equal to, then below, item 0's)
     */
    CU_ASSERT_EQUAL(idx_codec_patched(reg, reg_item0 + 48 + 31, 1, 0), -EINVAL);
    CU_ASSERT_EQUAL(idx_codec_patched(reg, reg_item0 + 48 + 31, 0, 0), -EINVAL);
    CU_ASSERT_EQUAL(idx_codec_patched(idx_codec_find("unmark_req"), 29 + 32 + 31, 1, 0), -EINVAL);
    CU_ASSERT_EQUAL(idx_codec_patched(idx_codec_find("mark_req"), 29, 0x60, 0),
                    -EINVAL); /* another partition */
}

static void test_reply_rules(void)
{
    const idx_codec *reg = idx_codec_find("register_reply"), *top = idx_codec_find("top_reply");

    CU_ASSERT_EQUAL(idx_codec_patched(reg, 10, VMD_IDX_POPULAR + 1, 0),
                    -EINVAL); /* unknown status */
    CU_ASSERT_EQUAL(idx_codec_patched(reg, 15, VMD_IDX_NEW, 0),
                    -EINVAL); /* NEW, yet a loc follows */
    CU_ASSERT_EQUAL(
        idx_codec_patched(idx_codec_find("status_reply"), 10, VMD_IDX_RELEASE_STATUS_MAX + 1, 0),
        -EINVAL);
    CU_ASSERT_EQUAL(idx_codec_patched(top, 10, 2, 0), -EINVAL); /* more: 0 or 1 */
    CU_ASSERT_EQUAL(idx_codec_patched(top, 11 + 32, 1, 1),
                    -EINVAL); /* vm_count below the next one */
    CU_ASSERT_EQUAL(idx_codec_patched(top, 11 + 36, 0, 1), -EINVAL); /* chunk_len 0: not an entry */
    CU_ASSERT_EQUAL(idx_codec_patched(top, 11 + 64, '?', 0), -EINVAL); /* home_vm "vm?a" */
    CU_ASSERT_EQUAL(idx_codec_patched(idx_codec_find("stats_reply"), 6 + 16, 11, 0),
                    -EINVAL); /* popular > all */
    CU_ASSERT_EQUAL(idx_codec_patched(idx_codec_find("stats_reply"), 6 + 25, 0, 0),
                    -EINVAL); /* bytes < popular */
}

static void test_top_request_rules(void)
{
    const idx_codec *c = idx_codec_find("top_req");

    CU_ASSERT_EQUAL(idx_codec_patched(c, 13, 0, 1), -EINVAL); /* max 0 */
    CU_ASSERT_EQUAL(idx_codec_patched(c, 13, VMD_IDX_TOP_MAX + 1, 1),
                    -EINVAL); /* max above a page */
    CU_ASSERT_EQUAL(idx_codec_patched(c, 13, VMD_IDX_TOP_MAX, 1), 0);
    CU_ASSERT_EQUAL(idx_codec_patched(c, 17, 2, 0), -EINVAL); /* has_cursor: 0 or 1 */
    CU_ASSERT_EQUAL(idx_codec_patched(c, 17, 0, 0), -EINVAL); /* no cursor, yet its bytes follow */
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
    const idx_codec *reg = idx_codec_find("register_req");
    size_t n;

    n = raw_register(buf, sizeof(buf), BITS, PART, "vm", 3, fps, 3, 4096);
    CU_ASSERT_EQUAL(idx_codec_decode(reg, buf, n), 0);
    n = raw_register(buf, sizeof(buf), BITS, PART, "vm", 0, fps, 0, 4096);
    CU_ASSERT_EQUAL(idx_codec_decode(reg, buf, n), -EINVAL); /* empty batch */
    n = raw_register(buf, sizeof(buf), BITS, PART, "vm", 65537, fps, 3, 4096);
    CU_ASSERT_EQUAL(idx_codec_decode(reg, buf, n), -EINVAL); /* count beyond the limit */
    n = raw_register(buf, sizeof(buf), BITS, PART, "vm", 4, fps, 3, 4096);
    CU_ASSERT_EQUAL(idx_codec_decode(reg, buf, n), -EINVAL); /* count beyond the input */
    n = raw_register(buf, sizeof(buf), BITS, PART, "vm", 2, fps, 3, 4096);
    CU_ASSERT_EQUAL(idx_codec_decode(reg, buf, n), -EINVAL); /* items left over */
    n = raw_register(buf, sizeof(buf), 17, PART, "vm", 3, fps, 3, 4096);
    CU_ASSERT_EQUAL(idx_codec_decode(reg, buf, n), -EINVAL); /* bits > 16 */
    n = raw_register(buf, sizeof(buf), BITS, 16, "vm", 3, fps, 3, 4096);
    CU_ASSERT_EQUAL(idx_codec_decode(reg, buf, n), -EINVAL); /* partition >= 2^bits */
    n = raw_register(buf, sizeof(buf), BITS, PART - 1, "vm", 3, fps, 3, 4096);
    CU_ASSERT_EQUAL(idx_codec_decode(reg, buf, n), -EINVAL); /* fps outside the partition */
    n = raw_register(buf, sizeof(buf), BITS, PART, "", 3, fps, 3, 4096);
    CU_ASSERT_EQUAL(idx_codec_decode(reg, buf, n), -EINVAL); /* empty VM id */
    n = raw_register(buf, sizeof(buf), BITS, PART, "a b", 3, fps, 3, 4096);
    CU_ASSERT_EQUAL(idx_codec_decode(reg, buf, n), -EINVAL); /* bad VM id */
    memset(vm65, 'v', 65);
    vm65[65] = 0;
    n = raw_register(buf, sizeof(buf), BITS, PART, vm65, 3, fps, 3, 4096);
    CU_ASSERT_EQUAL(idx_codec_decode(reg, buf, n), -EINVAL); /* VM id of 65 bytes */
    vm65[64] = 0;
    n = raw_register(buf, sizeof(buf), BITS, PART, vm65, 3, fps, 3, 4096);
    CU_ASSERT_EQUAL(idx_codec_decode(reg, buf, n), 0); /* 64 bytes is fine */
    n = raw_register(buf, sizeof(buf), BITS, PART, "vm", 3, fps, 3, 0);
    CU_ASSERT_EQUAL(idx_codec_decode(reg, buf, n), -EINVAL); /* chunk_len 0 */
    n = raw_register(buf, sizeof(buf), BITS, PART, "vm", 3, fps, 3, VMD_CHUNK_MAX + 1);
    CU_ASSERT_EQUAL(idx_codec_decode(reg, buf, n), -EINVAL); /* chunk_len above 1 MiB */
    n = raw_register(buf, sizeof(buf), BITS, PART, "vm", 3, fps, 3, VMD_CHUNK_MAX);
    CU_ASSERT_EQUAL(idx_codec_decode(reg, buf, n), 0);
    fps[1] = fps[0];
    n = raw_register(buf, sizeof(buf), BITS, PART, "vm", 3, fps, 3, 4096);
    CU_ASSERT_EQUAL(idx_codec_decode(reg, buf, n), -EINVAL); /* duplicate fp */
    fps[1] = fps[2];
    fps[2] = fp_make(2);
    n = raw_register(buf, sizeof(buf), BITS, PART, "vm", 3, fps, 3, 4096);
    CU_ASSERT_EQUAL(idx_codec_decode(reg, buf, n), -EINVAL); /* descending */
}

static void test_top_request_decoder_limits(void)
{
    uint8_t buf[64];
    vmd_wr w;
    size_t env;
    uint32_t max;
    uint8_t cursor;
    const idx_codec *top = idx_codec_find("top_req");

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
            CU_ASSERT_EQUAL(idx_codec_decode(top, buf, w.len),
                            max == 4096 && cursor == 0 ? 0 : -EINVAL);
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
    CU_ASSERT_EQUAL(idx_codec_decode(top, buf, w.len), -EINVAL);
}

static void test_encoders_refuse_invalid_batches_and_pages(void)
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

/* The encoders refuse what the decoders refuse. */
static void test_encoders_refuse_each_kind(void)
{
    vmd_idx_reg_item bad_len[1] = {{sample_fp(1), 0, {0, 0}}};
    vmd_fp descending[2] = {sample_fp(2), sample_fp(1)};
    vmd_idx_ref_item zero[1] = {{sample_fp(1), 0}};
    vmd_idx_reg_result bad_status[1] = {{VMD_IDX_POPULAR + 1, 1, {0, 0}}};
    uint8_t st[1] = {VMD_IDX_MOVED};
    vmd_idx_register_req rr = {{0}, T, "vm", 1, bad_len};
    vmd_idx_release_req rl = {{0}, T, "vm", 2, descending};
    vmd_idx_ref_req rf = {{0}, T, 1, zero};
    vmd_idx_unmark_req um = {{0}, {17, 0}, 1, idx_sample_fps};
    vmd_idx_top_req tp = {T, 0, 10, 2, 0, {{0}}};
    vmd_idx_register_reply rp = {1, bad_status};
    vmd_idx_status_reply sp = {1, st};
    vmd_idx_top_reply tr = {VMD_IDX_TOP_MAX + 1, 0, idx_sample_top_items};
    uint8_t *b = NULL;
    size_t n;

    CU_ASSERT_EQUAL(vmd_idx_register_req_encode(&rr, &b, &n), -EINVAL);
    CU_ASSERT_EQUAL(vmd_idx_release_req_encode(&rl, &b, &n), -EINVAL);
    CU_ASSERT_EQUAL(vmd_idx_ref_req_encode(&rf, &b, &n), -EINVAL);
    CU_ASSERT_EQUAL(vmd_idx_unmark_req_encode(&um, &b, &n), -EINVAL);
    CU_ASSERT_EQUAL(vmd_idx_top_req_encode(&tp, &b, &n), -EINVAL);
    CU_ASSERT_EQUAL(vmd_idx_register_reply_encode(&rp, &b, &n), -EINVAL);
    CU_ASSERT_EQUAL(vmd_idx_status_reply_encode(&sp, VMD_IDX_RELEASE_STATUS_MAX, &b, &n), 0);
    free(b);
    CU_ASSERT_EQUAL(vmd_idx_status_reply_encode(&sp, VMD_IDX_MOVED - 1, &b, &n), -EINVAL);
    CU_ASSERT_EQUAL(vmd_idx_top_reply_encode(&tr, &b, &n), -EINVAL);
    um.t = T;
    um.count = 0;
    CU_ASSERT_EQUAL(vmd_idx_unmark_req_encode(&um, &b, &n), -EINVAL);
}

/* A hostile count never costs an allocation its input cannot justify. */
static void test_huge_counts_fail_before_allocating(void)
{
    uint8_t buf[64];
    vmd_idx_ref_reply r;
    vmd_wr w;
    size_t env;

    vmd_wr_init(&w, buf, sizeof(buf));
    env = vmd_wr_begin(&w, 1, 1);
    vmd_put_u32(&w, VMD_IDX_BATCH_MAX); /* 512 KiB of items announced, 8 bytes given */
    vmd_put_u64(&w, 1);
    vmd_wr_end(&w, env);
    CU_ASSERT_EQUAL(vmd_idx_ref_reply_decode(&r, buf, w.len), -EINVAL);
    CU_ASSERT_PTR_NULL(r.pop_refs); /* nothing allocated, the struct zeroed */
    CU_ASSERT_EQUAL(r.count, 0);
    vmd_idx_ref_reply_free(&r);
    vmd_idx_ref_reply_free(NULL);
}

const vmd_test_case vmd_idx_msg_bad_tests[] = {
    {"targets and partitions", test_targets},
    {"VM ids", test_vm_ids},
    {"VM id length limit", test_vm_id_length_limit},
    {"counts: range, input, leftovers", test_counts},
    {"item rules: length, delta, fp order", test_item_rules},
    {"reply rules: status, more, top order, counters", test_reply_rules},
    {"top request rules", test_top_request_rules},
    {"register request decoder limits", test_request_decoders_enforce_limits},
    {"top request decoder limits", test_top_request_decoder_limits},
    {"encoders refuse invalid batches and pages", test_encoders_refuse_invalid_batches_and_pages},
    {"encoders refuse each kind of invalid message", test_encoders_refuse_each_kind},
    {"huge counts fail before allocating", test_huge_counts_fail_before_allocating},
    {NULL, NULL},
};
