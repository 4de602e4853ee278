/*
 * test_dirtymap.c - dirty maps: text lists and CBT bitmaps (client/read/dirtymap.c).
 *
 * Every format feature, the detection rule between the two formats, and
 * every error with its exact errno and message (line numbers for lists), on
 * disk sizes that are and are not multiples of a segment or of a 64 KiB
 * block. CBT bitmaps come from a seeded generator and a base64 encoder here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "read/dirtymap.h"
#include "rng.h"
#include "vmd_test.h"

#define MiB (1ull << 20)

/* Parses text for a disk of size bytes, asserting success. */
static vmd_dirtymap *ok(const char *text, uint64_t size)
{
    vmd_dirtymap *m = NULL;
    char msg[256];
    int err = vmd_dirtymap_parse(&m, text, strlen(text), size, msg, sizeof(msg));

    if (err)
        printf("\n    unexpected error %d: %s\n", err, msg);
    CU_ASSERT_EQUAL_FATAL(err, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    return m;
}

/* Asserts that parsing fails with err and a message that contains want. */
static void bad(const char *text, uint64_t size, int err, const char *want)
{
    vmd_dirtymap *m = (vmd_dirtymap *)&m; /* must stay untouched */
    char msg[256];
    int got = vmd_dirtymap_parse(&m, text, strlen(text), size, msg, sizeof(msg));

    CU_ASSERT_EQUAL(got, err);
    CU_ASSERT(m == (vmd_dirtymap *)&m);
    if (got == 0) {
        vmd_dirtymap_free(m);
        msg[0] = 0;
    }
    CU_ASSERT(strchr(msg, '\n') == NULL);
    if (!strstr(msg, want) || got != err)
        printf("\n    input \"%.40s\": got %d \"%s\", wanted %d \"%s\"\n", text, got, msg, err,
               want);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, want));
}

/* The dirty segments of m as a string "0,5,6" (for compact assertions). */
static const char *dirty_list(const vmd_dirtymap *m, char *buf, size_t len)
{
    uint64_t s = 0;
    size_t n = 0;

    buf[0] = 0;
    while (vmd_dirtymap_next(m, s, &s) == 0) {
        n += (size_t)snprintf(buf + n, len - n, "%s%llu", n ? "," : "", (unsigned long long)s);
        s++;
    }
    return buf;
}

static void check_list(const char *text, uint64_t size, const char *want)
{
    char buf[512];
    vmd_dirtymap *m = ok(text, size);

    CU_ASSERT_EQUAL(vmd_dirtymap_format_of(m), VMD_DIRTYMAP_LIST);
    CU_ASSERT_STRING_EQUAL(dirty_list(m, buf, sizeof(buf)), want);
    vmd_dirtymap_free(m);
}

static void test_text_list(void)
{
    vmd_dirtymap *m;

    check_list("0\n5\n", 16 * MiB, "0,5");
    check_list("3-5\n1\n", 16 * MiB, "1,3,4,5");
    check_list("0x2 - 0x3\n7-7", 16 * MiB, "2,3,7"); /* no final newline */
    check_list("# header\n\n  \t\n4 # trailing comment\n#2\n", 16 * MiB, "4");
    check_list("1\r\n2\r\n", 16 * MiB, "1,2");
    check_list("bytes 0+1\n", 16 * MiB, "0");
    check_list("bytes 0x1fffff+2\n", 16 * MiB, "0,1");      /* crosses a boundary */
    check_list("bytes 4194304 + 2097152\n", 16 * MiB, "2"); /* exactly one segment */
    check_list("bytes 100+0\n", 16 * MiB, "");              /* empty range: nothing */
    check_list("bytes\t0X10+0x10", 16 * MiB, "0");
    check_list("", 16 * MiB, "");
    check_list("\n\n# nothing changed\n", 16 * MiB, "");
    check_list("5\n5\n4-6\n", 16 * MiB, "4,5,6"); /* overlaps are fine */
    check_list("0-63\n64\n", 130 * MiB,
               "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,"
               "22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,"
               "41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,"
               "60,61,62,63,64");

    m = ok("1-2\n7\n", 16 * MiB);
    CU_ASSERT_EQUAL(vmd_dirtymap_disk_size(m), 16 * MiB);
    CU_ASSERT_EQUAL(vmd_dirtymap_segments(m), 8);
    CU_ASSERT_EQUAL(vmd_dirtymap_dirty_count(m), 3);
    CU_ASSERT_EQUAL(vmd_dirtymap_test(m, 0), 0);
    CU_ASSERT_EQUAL(vmd_dirtymap_test(m, 1), 1);
    CU_ASSERT_EQUAL(vmd_dirtymap_test(m, 7), 1);
    CU_ASSERT_EQUAL(vmd_dirtymap_test(m, 8), 0); /* beyond: clean */
    vmd_dirtymap_free(m);
    vmd_dirtymap_free(NULL);
}

/* A disk of 5 MiB + 123 bytes: 3 segments, the last one 1 MiB + 123 bytes long. */
static void test_text_list_odd_disk_size(void)
{
    const uint64_t size = 5 * MiB + 123;

    check_list("2\n", size, "2");
    check_list("0-2\n", size, "0,1,2");
    check_list("bytes 5242880+123\n", size, "2");
    check_list("bytes 5243002+1\n", size, "2"); /* the very last byte */
    bad("3\n", size, -ERANGE, "line 1: segment 3 is beyond the disk (3 segments)");
    bad("1-3\n", size, -ERANGE, "line 1: range 1-3 is beyond the disk (3 segments)");
    bad("bytes 5242880+124\n", size, -ERANGE,
        "line 1: bytes 5242880+124 end beyond the disk (5243003 bytes)");
    bad("bytes 5243004+0\n", size, -ERANGE, "line 1: bytes 5243004+0 end beyond the disk");
    check_list("bytes 5243003+0\n", size, ""); /* empty, at the very end */
    /* one byte disk: one segment */
    check_list("0", 1, "0");
    check_list("bytes 0+1", 1, "0");
    bad("bytes 1+1", 1, -ERANGE, "line 1:");
}

static void test_text_list_errors(void)
{
    const uint64_t size = 16 * MiB; /* 8 segments */

    bad("1\n2\nfoo bar\n", size, -EINVAL,
        "line 3: expected a segment N, a range N-M or \"bytes OFFSET+LENGTH\", found \"foo\"");
    bad("1\n\n# c\n 7 x\n", size, -EINVAL, "line 4: unexpected \"x\" after the item");
    bad("1 2\n", size, -EINVAL, "line 1: unexpected \"2\" after the item");
    bad("12abc\n", size, -EINVAL, "line 1: unexpected \"abc\" after the item");
    bad("0x\n", size, -EINVAL, "line 1: expected a segment index, found \"0x\"");
    bad("0x1g\n", size, -EINVAL, "line 1: unexpected \"g\" after the item");
    bad("5-\n", size, -EINVAL,
        "line 1: expected the last segment of the range after \"-\", found end of line");
    bad("5-x\n", size, -EINVAL,
        "line 1: expected the last segment of the range after \"-\", "
        "found \"x\"");
    bad("6-5\n", size, -EINVAL, "line 1: range 6-5 ends before it starts");
    bad("-5\n", size, -EINVAL, "line 1: expected a segment N");
    bad("bytes\n", size, -EINVAL,
        "line 1: expected a byte offset after \"bytes\", found end of line");
    bad("bytes 10\n", size, -EINVAL,
        "line 1: expected \"+LENGTH\" after the offset, found end of line");
    bad("bytes 10-20\n", size, -EINVAL,
        "line 1: expected \"+LENGTH\" after the offset, found \"-20\"");
    bad("bytes 10+\n", size, -EINVAL,
        "line 1: expected a byte length after \"+\", found end of line");
    bad("bytes 10+5 6\n", size, -EINVAL, "line 1: unexpected \"6\" after the item");
    bad("1\nsegment 4\n", size, -EINVAL, "line 2: expected a segment N");
    bad("1\n2\n\x01\n", size, -EINVAL,
        "line 3: expected a segment N, a range N-M or \"bytes "
        "OFFSET+LENGTH\", found \"?\"");
    bad("1\n#\n2;\n", size, -EINVAL, "line 3: unexpected \";\" after the item");
    bad("1\n2\n3\n4\n5\n6\n7\n8\n", size, -ERANGE,
        "line 8: segment 8 is beyond the disk (8 segments)");
    bad("0\n0-8\n", size, -ERANGE, "line 2: range 0-8 is beyond the disk (8 segments)");
    bad("0\n18446744073709551616\n", size, -ERANGE, "line 2: a segment index is above 2^64-1");
    bad("0\n18446744073709551615\n", size, -ERANGE,
        "line 2: segment 18446744073709551615 is beyond");
    bad("0\n0x10000000000000000\n", size, -ERANGE, "line 2: a segment index is above 2^64-1");
    bad("bytes 18446744073709551615+1\n", size, -ERANGE,
        "line 1: bytes 18446744073709551615+1 end beyond the disk");
    bad("bytes 0+99999999999999999999\n", size, -ERANGE,
        "line 1: a byte length after \"+\" is above 2^64-1");

    /* an error is reported with or without a message buffer, and a short one is cut */
    {
        vmd_dirtymap *m = NULL;
        char small[8];
        const char *t = "1\nx y\n";
        CU_ASSERT_EQUAL(vmd_dirtymap_parse(&m, t, strlen(t), size, NULL, 0), -EINVAL);
        CU_ASSERT_EQUAL(vmd_dirtymap_parse(&m, t, strlen(t), size, small, sizeof(small)), -EINVAL);
        CU_ASSERT_STRING_EQUAL(small, "line 2:");
        CU_ASSERT_PTR_NULL(m);
    }
}

/* ---- CBT bitmaps ---- */

static char *base64(const uint8_t *b, size_t n, size_t wrap)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc(n / 3 * 4 + 8 + (wrap ? n / wrap * 2 + 2 : 0) + 1);
    size_t i, o = 0, col = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    for (i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16 | (i + 1 < n ? (uint32_t)b[i + 1] << 8 : 0) |
                     (i + 2 < n ? b[i + 2] : 0);
        out[o++] = al[v >> 18 & 63];
        out[o++] = al[v >> 12 & 63];
        out[o++] = i + 1 < n ? al[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? al[v & 63] : '=';
        col += 4;
        if (wrap && col >= wrap) {
            out[o++] = '\n';
            col = 0;
        }
    }
    out[o] = 0;
    return out;
}

static char *concat(const char *a, const char *b)
{
    char *s = malloc(strlen(a) + strlen(b) + 1);

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    strcpy(s, a);
    strcat(s, b);
    return s;
}

/* A random CBT bitmap for a disk of size bytes, with density 1/2^sparse per byte. */
static uint8_t *random_cbt(uint64_t size, uint64_t seed, int sparse, size_t *nbytes)
{
    uint64_t nblocks = (size + 65535) / 65536, s = seed;
    size_t n = (size_t)((nblocks + 7) / 8), i;
    uint8_t *b = calloc(1, n + 1);

    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    for (i = 0; i < n; i++)
        if ((vmd_test_splitmix64(&s) & ((1u << sparse) - 1)) == 0)
            b[i] = (uint8_t)(1u << (vmd_test_splitmix64(&s) % 8));
    if (nblocks % 8) /* no bits past the last block */
        b[n - 1] &= (uint8_t)((1u << (nblocks % 8)) - 1);
    *nbytes = n;
    return b;
}

/* Checks m against the bitmap: segment s is dirty iff a block in it is. */
static void check_cbt_map(const vmd_dirtymap *m, const uint8_t *b, uint64_t size)
{
    uint64_t nblocks = (size + 65535) / 65536, blk, dirty = 0;
    uint64_t nsegs = (size + 2 * MiB - 1) / (2 * MiB), seg;

    CU_ASSERT_EQUAL(vmd_dirtymap_segments(m), nsegs);
    for (seg = 0; seg < nsegs; seg++) {
        int want = 0;
        for (blk = seg * 32; blk < (seg + 1) * 32 && blk < nblocks; blk++)
            want |= (b[blk / 8] >> (blk % 8)) & 1;
        CU_ASSERT_EQUAL(vmd_dirtymap_test(m, seg), want);
        dirty += (uint64_t)want;
    }
    CU_ASSERT_EQUAL(vmd_dirtymap_dirty_count(m), dirty);
}

static void test_cbt_bitmap(void)
{
    /* multiples of 2 MiB and of 64 KiB, neither, one block, a byte */
    static const uint64_t sizes[] = {64 * MiB,        10 * MiB + 1, 10 * MiB + 65536 * 3,
                                     1000 * MiB + 17, 65536,        1,
                                     2 * MiB - 1,     7 * 65536,    9 * 65536};
    size_t i, n;

    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        for (int form = 0; form < 5; form++) {
            uint8_t *b = random_cbt(sizes[i], 100 + i, form % 3 ? 3 : 0, &n);
            char *plain = base64(b, n, form >= 2 ? 76 : 0), *text;
            vmd_dirtymap *m;

            if (form == 1)
                text = concat("cbt:", plain);
            else if (form == 3)
                text = concat("\n  cbt:\n", plain);
            else if (form == 4)
                text = concat("cbt: ", plain);
            else
                text = concat("", plain);
            m = ok(text, sizes[i]);
            CU_ASSERT_EQUAL(vmd_dirtymap_format_of(m), VMD_DIRTYMAP_CBT);
            check_cbt_map(m, b, sizes[i]);
            vmd_dirtymap_free(m);
            free(text);
            free(plain);
            free(b);
        }
    }
}

static void test_cbt_exact_bits(void)
{
    /* 10 MiB + 1 byte: 161 blocks, 21 bytes, 6 segments (the last: block 160 only) */
    uint8_t b[21] = {0};
    char *t;
    vmd_dirtymap *m;
    char buf[64];

    b[0] = 0x01;          /* block 0 -> segment 0 */
    b[12] = 0x80;         /* block 103 -> segment 3 */
    b[20] = 0x01;         /* block 160 -> segment 5 */
    t = base64(b, 21, 0); /* 28 characters, no padding */
    m = ok(t, 10 * MiB + 1);
    CU_ASSERT_STRING_EQUAL(dirty_list(m, buf, sizeof(buf)), "0,3,5");
    vmd_dirtymap_free(m);
    free(t);

    /* a bit for block 161 (past the disk) */
    b[20] = 0x02;
    t = base64(b, 21, 0);
    bad(t, 10 * MiB + 1, -ERANGE,
        "CBT bitmap marks block 161, beyond the disk (161 blocks of 64 KiB)");
    free(t);
    b[20] = 0x80;
    t = base64(b, 21, 0);
    bad(t, 10 * MiB + 1, -ERANGE, "marks block 167, beyond the disk");
    free(t);

    /* all set: every segment */
    memset(b, 0xff, sizeof(b));
    b[20] = 0x01;
    t = base64(b, 21, 0);
    m = ok(t, 10 * MiB + 1);
    CU_ASSERT_STRING_EQUAL(dirty_list(m, buf, sizeof(buf)), "0,1,2,3,4,5");
    vmd_dirtymap_free(m);
    free(t);

    /* the detection rule: digits alone are a list unless prefixed */
    /* "1234" decodes to 3 bytes d7 6d f8 = blocks 0,1,2,4,6,7,... of a 24-block disk */
    bad("1234", 24 * 65536, -ERANGE, "line 1: segment 1234 is beyond the disk (1 segments)");
    m = ok("cbt:1234", 24 * 65536);
    CU_ASSERT_EQUAL(vmd_dirtymap_format_of(m), VMD_DIRTYMAP_CBT);
    CU_ASSERT_STRING_EQUAL(dirty_list(m, buf, sizeof(buf)), "0");
    vmd_dirtymap_free(m);
    /* no block of the bitmap is dirty */
    m = ok("AAAA", 24 * 65536);
    CU_ASSERT_EQUAL(vmd_dirtymap_format_of(m), VMD_DIRTYMAP_CBT);
    CU_ASSERT_EQUAL(vmd_dirtymap_dirty_count(m), 0);
    vmd_dirtymap_free(m);
}

static void test_cbt_errors(void)
{
    const uint64_t size = 2 * MiB; /* 32 blocks: 4 bytes, "AAAAAA==" */

    bad("AAAAAA==", 3 * MiB, -ERANGE,
        "CBT bitmap has 4 bytes, a disk of 3145728 bytes needs 6 (48 blocks of 64 KiB, one bit "
        "each)");
    bad("AAAA", size, -ERANGE, "CBT bitmap has 3 bytes, a disk of 2097152 bytes needs 4");
    bad("cbt:", size, -ERANGE, "CBT bitmap has 0 bytes");
    bad("cbt:AAAAAAA", size, -EINVAL,
        "bad base64 in CBT bitmap: 7 characters, not a multiple of 4");
    bad("AAAAAA=A", size, -EINVAL, "bad base64 in CBT bitmap: data after padding at offset 7");
    bad("cbt:AAAA*A==", size, -EINVAL, "bad base64 in CBT bitmap: character 0x2a at offset 8");
    bad("cbt:AAAAA===", size, -EINVAL, "bad base64 in CBT bitmap: 3 padding characters");
    bad("AAAAAB==", size, -EINVAL,
        "bad base64 in CBT bitmap: non-zero bits in the padded last group");
    bad("cbt:AAAAAAB=", 40 * 65536, -EINVAL, "non-zero bits in the padded last group");
    bad("notbase64", size, -EINVAL, "not a multiple of 4");
    bad("AAAA\nAA==\n#comment\n", size, -EINVAL, "character 0x23 at offset 10");
    /* whitespace anywhere is fine */
    {
        vmd_dirtymap *m = ok("cbt:\r\n A A\tA A\n AA==  \n", size);
        CU_ASSERT_EQUAL(vmd_dirtymap_dirty_count(m), 0);
        vmd_dirtymap_free(m);
        m = ok("AAAAAA==\n\n", size);
        vmd_dirtymap_free(m);
        m = ok("/////w==", size); /* all 32 blocks */
        CU_ASSERT_EQUAL(vmd_dirtymap_dirty_count(m), 1);
        vmd_dirtymap_free(m);
    }
}

static void test_sizes_and_all(void)
{
    vmd_dirtymap *m = NULL;
    char buf[64];
    uint64_t s;

    bad("0\n", 0, -EINVAL, "disk size is 0");
    bad("0\n", VMD_DIRTYMAP_DISK_MAX + 1, -EFBIG,
        "disk size 70368744177665 bytes is above the limit of 70368744177664 (64 TiB)");
    CU_ASSERT_EQUAL(vmd_dirtymap_parse(NULL, "0", 1, MiB, buf, sizeof(buf)), -EINVAL);
    CU_ASSERT_EQUAL(vmd_dirtymap_parse(&m, NULL, 1, MiB, buf, sizeof(buf)), -EINVAL);
    CU_ASSERT_EQUAL(vmd_dirtymap_new_all(&m, 0), -EINVAL);
    CU_ASSERT_EQUAL(vmd_dirtymap_new_all(&m, VMD_DIRTYMAP_DISK_MAX + 1), -EFBIG);
    CU_ASSERT_EQUAL(vmd_dirtymap_new_all(NULL, MiB), -EINVAL);

    /* the largest disk: 2^25 segments in a 4 MiB bitmap */
    m = ok("bytes 0x3fffffffffff+1\n0\n", VMD_DIRTYMAP_DISK_MAX);
    CU_ASSERT_EQUAL(vmd_dirtymap_segments(m), 1ull << 25);
    CU_ASSERT_STRING_EQUAL(dirty_list(m, buf, sizeof(buf)), "0,33554431");
    vmd_dirtymap_free(m);

    CU_ASSERT_EQUAL_FATAL(vmd_dirtymap_new_all(&m, 129 * MiB + 1), 0);
    CU_ASSERT_EQUAL(vmd_dirtymap_format_of(m), VMD_DIRTYMAP_ALL);
    CU_ASSERT_EQUAL(vmd_dirtymap_segments(m), 65);
    CU_ASSERT_EQUAL(vmd_dirtymap_dirty_count(m), 65);
    for (s = 0; s < 65; s++)
        CU_ASSERT_EQUAL(vmd_dirtymap_test(m, s), 1);
    CU_ASSERT_EQUAL(vmd_dirtymap_test(m, 65), 0);
    CU_ASSERT_EQUAL(vmd_dirtymap_next(m, 64, &s), 0);
    CU_ASSERT_EQUAL(s, 64);
    CU_ASSERT_EQUAL(vmd_dirtymap_next(m, 65, &s), -ENOENT);
    vmd_dirtymap_free(m);

    m = ok("3\n130\n", 300 * MiB);
    CU_ASSERT_EQUAL(vmd_dirtymap_next(m, 0, &s), 0);
    CU_ASSERT_EQUAL(s, 3);
    CU_ASSERT_EQUAL(vmd_dirtymap_next(m, 4, &s), 0);
    CU_ASSERT_EQUAL(s, 130);
    CU_ASSERT_EQUAL(vmd_dirtymap_next(m, 131, &s), -ENOENT);
    vmd_dirtymap_free(m);
}

int main(void)
{
    static const vmd_test_case cases[] = {
        {"text list", test_text_list},
        {"text list, odd disk sizes", test_text_list_odd_disk_size},
        {"text list errors with line numbers", test_text_list_errors},
        {"CBT bitmaps, every size and form", test_cbt_bitmap},
        {"CBT exact bits and detection", test_cbt_exact_bits},
        {"CBT errors", test_cbt_errors},
        {"disk sizes and all-dirty maps", test_sizes_and_all},
        {NULL, NULL},
    };
    return vmd_test_main("dirtymap", cases);
}
