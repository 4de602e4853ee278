/*
 * test_wire.c - the shared wire primitives and the class's message codecs.
 *
 * Every decoder must reject every truncation of a valid message, garbage
 * envelopes and messages of a newer incompatible version, without reading
 * outside its buffer (ASan and valgrind runs check the latter).
 */
#include <stdlib.h>
#include <string.h>

#include "vmd_test.h"
#include "format/class_msg.h"
#include "format/wire.h"

static void test_integers_are_little_endian(void)
{
    uint8_t buf[15];
    vmd_wr w;
    vmd_rd r;

    vmd_wr_init(&w, buf, sizeof(buf));
    vmd_put_u8(&w, 0x01);
    vmd_put_u16(&w, 0x0302);
    vmd_put_u32(&w, 0x07060504);
    vmd_put_u64(&w, 0x0f0e0d0c0b0a0908ull);
    CU_ASSERT_EQUAL(w.err, 0);
    CU_ASSERT_EQUAL(w.len, 15);
    for (int i = 0; i < 15; i++)
        CU_ASSERT_EQUAL(buf[i], i + 1);

    vmd_rd_init(&r, buf, sizeof(buf));
    CU_ASSERT_EQUAL(vmd_get_u8(&r), 0x01);
    CU_ASSERT_EQUAL(vmd_get_u16(&r), 0x0302);
    CU_ASSERT_EQUAL(vmd_get_u32(&r), 0x07060504u);
    CU_ASSERT_EQUAL(vmd_get_u64(&r), 0x0f0e0d0c0b0a0908ull);
    CU_ASSERT_EQUAL(r.err, 0);
    CU_ASSERT_EQUAL(vmd_rd_left(&r), 0);
}

static void test_writer_overflow_is_sticky(void)
{
    uint8_t buf[5];
    vmd_wr w;

    vmd_wr_init(&w, buf, sizeof(buf));
    vmd_put_u32(&w, 1);
    vmd_put_u16(&w, 2); /* does not fit */
    CU_ASSERT_EQUAL(w.err, -EOVERFLOW);
    vmd_put_u8(&w, 3); /* would fit, but the writer has failed */
    CU_ASSERT_EQUAL(w.err, -EOVERFLOW);
    CU_ASSERT_EQUAL(w.len, 4);
}

static void test_reader_short_read_is_sticky(void)
{
    uint8_t buf[3] = {1, 2, 3};
    vmd_rd r;

    vmd_rd_init(&r, buf, sizeof(buf));
    CU_ASSERT_EQUAL(vmd_get_u32(&r), 0);
    CU_ASSERT_EQUAL(r.err, -EINVAL);
    CU_ASSERT_EQUAL(vmd_get_u8(&r), 0); /* no read after a failure */
    CU_ASSERT_EQUAL(vmd_rd_left(&r), 0);
}

static void test_str8_rejects_overlong_and_nul(void)
{
    uint8_t buf[8] = {5, 'a', 'b', 'c', 'd', 'e'};
    char small[4], big[16];
    vmd_rd r;

    vmd_rd_init(&r, buf, 6);
    vmd_get_str8(&r, small, sizeof(small));
    CU_ASSERT_EQUAL(r.err, -EINVAL);

    vmd_rd_init(&r, buf, 6);
    vmd_get_str8(&r, big, sizeof(big));
    CU_ASSERT_EQUAL(r.err, 0);
    CU_ASSERT_STRING_EQUAL(big, "abcde");

    buf[3] = 0;
    vmd_rd_init(&r, buf, 6);
    vmd_get_str8(&r, big, sizeof(big));
    CU_ASSERT_EQUAL(r.err, -EINVAL);
}

static void test_envelope_skips_unknown_trailing_fields(void)
{
    uint8_t buf[32];
    uint8_t version;
    vmd_wr w;
    vmd_rd r, body;
    size_t at;

    /* A version-3 writer, compatible with version-1 readers, adds a field. */
    vmd_wr_init(&w, buf, sizeof(buf));
    at = vmd_wr_begin(&w, 3, 1);
    vmd_put_u32(&w, 42);
    vmd_put_u64(&w, 7); /* field unknown to a version-1 reader */
    vmd_wr_end(&w, at);
    vmd_put_u8(&w, 0xAB); /* next item after the structure */
    CU_ASSERT_EQUAL(w.err, 0);

    vmd_rd_init(&r, buf, w.len);
    CU_ASSERT_EQUAL(vmd_rd_envelope(&r, 1, &version, &body), 0);
    CU_ASSERT_EQUAL(version, 3);
    CU_ASSERT_EQUAL(vmd_get_u32(&body), 42);
    CU_ASSERT_EQUAL(body.err, 0);
    CU_ASSERT_EQUAL(vmd_get_u8(&r), 0xAB); /* r resumes after the payload */
}

static void test_envelope_rejects_incompatible_and_garbage(void)
{
    uint8_t newer[] = {4, 2, 0, 0, 0, 0};       /* compat 2 > known 1 */
    uint8_t zero[] = {0, 0, 0, 0, 0, 0};        /* version 0 never exists */
    uint8_t inverted[] = {1, 2, 0, 0, 0, 0};    /* compat above version */
    uint8_t long_len[] = {1, 1, 9, 0, 0, 0, 1}; /* payload beyond the buffer */
    uint8_t version;
    vmd_rd r, body;

    vmd_rd_init(&r, newer, sizeof(newer));
    CU_ASSERT_EQUAL(vmd_rd_envelope(&r, 1, &version, &body), -EPROTO);
    vmd_rd_init(&r, zero, sizeof(zero));
    CU_ASSERT_EQUAL(vmd_rd_envelope(&r, 1, &version, &body), -EINVAL);
    vmd_rd_init(&r, inverted, sizeof(inverted));
    CU_ASSERT_EQUAL(vmd_rd_envelope(&r, 1, &version, &body), -EINVAL);
    vmd_rd_init(&r, long_len, sizeof(long_len));
    CU_ASSERT_EQUAL(vmd_rd_envelope(&r, 1, &version, &body), -EINVAL);
}

static void test_version_reply_round_trip(void)
{
    vmd_op_version_reply in, out;
    uint8_t buf[VMD_OP_VERSION_REPLY_MAX];
    size_t len = 0;

    vmd_op_version_reply_self(&in);
    CU_ASSERT_EQUAL(vmd_op_version_reply_encode(&in, buf, sizeof(buf), &len), 0);
    CU_ASSERT(len > VMD_WIRE_ENVELOPE_SIZE && len <= sizeof(buf));
    CU_ASSERT_EQUAL(vmd_op_version_reply_decode(&out, buf, len), 0);
    CU_ASSERT_STRING_EQUAL(out.name, "vmdedup");
    CU_ASSERT_EQUAL(out.class_version, VMD_CLS_VERSION);
    CU_ASSERT_EQUAL(out.wire_version, VMD_WIRE_VERSION);
    CU_ASSERT_EQUAL(out.wire_compat, VMD_WIRE_COMPAT);
}

static void test_version_reply_every_truncation_fails(void)
{
    vmd_op_version_reply in, out;
    uint8_t buf[VMD_OP_VERSION_REPLY_MAX];
    size_t len = 0, cut;

    vmd_op_version_reply_self(&in);
    CU_ASSERT_EQUAL_FATAL(vmd_op_version_reply_encode(&in, buf, sizeof(buf), &len), 0);
    for (cut = 0; cut < len; cut++) {
        /* A heap copy of exactly `cut` bytes, so ASan catches any overread. */
        uint8_t *p = malloc(cut ? cut : 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        memcpy(p, buf, cut);
        CU_ASSERT_EQUAL(vmd_op_version_reply_decode(&out, p, cut), -EINVAL);
        free(p);
    }
}

static void test_version_reply_rejects_trailing_bytes_and_bad_compat(void)
{
    vmd_op_version_reply in, out;
    uint8_t buf[VMD_OP_VERSION_REPLY_MAX + 1];
    size_t len = 0;

    vmd_op_version_reply_self(&in);
    CU_ASSERT_EQUAL_FATAL(vmd_op_version_reply_encode(&in, buf, sizeof(buf), &len), 0);
    buf[len] = 0;
    CU_ASSERT_EQUAL(vmd_op_version_reply_decode(&out, buf, len + 1), -EINVAL);

    in.wire_compat = 5; /* claims to accept only formats newer than it speaks */
    CU_ASSERT_EQUAL_FATAL(vmd_op_version_reply_encode(&in, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(vmd_op_version_reply_decode(&out, buf, len), -EINVAL);
}

static void test_version_reply_encode_overflow(void)
{
    vmd_op_version_reply in;
    uint8_t buf[8];
    size_t len = 0;

    vmd_op_version_reply_self(&in);
    CU_ASSERT_EQUAL(vmd_op_version_reply_encode(&in, buf, sizeof(buf), &len), -EOVERFLOW);
}

static void test_version_string(void)
{
    char s[16];
    vmd_cls_version_string((1u << 16) | (12u << 8) | 3u, s, sizeof(s));
    CU_ASSERT_STRING_EQUAL(s, "1.12.3");
}

int main(void)
{
    static const vmd_test_case cases[] = {
        {"integers are little-endian", test_integers_are_little_endian},
        {"writer overflow is sticky", test_writer_overflow_is_sticky},
        {"reader short read is sticky", test_reader_short_read_is_sticky},
        {"str8 rejects overlong and NUL", test_str8_rejects_overlong_and_nul},
        {"envelope skips unknown trailing fields", test_envelope_skips_unknown_trailing_fields},
        {"envelope rejects incompatible and garbage",
         test_envelope_rejects_incompatible_and_garbage},
        {"version reply round trip", test_version_reply_round_trip},
        {"version reply: every truncation fails", test_version_reply_every_truncation_fails},
        {"version reply: trailing bytes, bad compat",
         test_version_reply_rejects_trailing_bytes_and_bad_compat},
        {"version reply: encode overflow", test_version_reply_encode_overflow},
        {"version string", test_version_string},
        {NULL, NULL},
    };
    return vmd_test_main("wire", cases);
}
