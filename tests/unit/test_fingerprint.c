/*
 * test_fingerprint.c - SHA-256 fingerprints and zero detection (client/chunk/fingerprint.c).
 *
 * Known answers from FIPS 180-4's examples, the fingerprints of a chunked
 * segment against one-shot digests, and zero detection at every length,
 * alignment and position of a stray non-zero byte.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "chunk/fingerprint.h"
#include "rng.h"
#include "vmd_test.h"

static void check_sha(vmd_hasher *h, const void *data, size_t len, const char *hex)
{
    char got[VMD_FP_HEX_SIZE];
    vmd_fp fp;

    CU_ASSERT_EQUAL_FATAL(vmd_sha256(h, data, len, &fp), 0);
    vmd_fp_hex(&fp, got);
    CU_ASSERT_STRING_EQUAL(got, hex);
}

static void test_known_vectors(void)
{
    static const char abc448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    vmd_hasher *h = NULL;
    char *million = malloc(1000000);

    CU_ASSERT_PTR_NOT_NULL_FATAL(million);
    memset(million, 'a', 1000000);
    CU_ASSERT_EQUAL_FATAL(vmd_hasher_new(&h), 0);
    check_sha(h, "", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_sha(h, NULL, 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_sha(h, "abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    check_sha(h, abc448, strlen(abc448),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    check_sha(h, million, 1000000,
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* the context is reused: the same answer again after other work */
    check_sha(h, "abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    vmd_hasher_free(h);
    vmd_hasher_free(NULL);
    free(million);
}

static void test_bad_arguments(void)
{
    vmd_hasher *h = NULL;
    vmd_fp fp;

    CU_ASSERT_EQUAL(vmd_hasher_new(NULL), -EINVAL);
    CU_ASSERT_EQUAL_FATAL(vmd_hasher_new(&h), 0);
    CU_ASSERT_EQUAL(vmd_sha256(h, NULL, 1, &fp), -EINVAL);
    CU_ASSERT_EQUAL(vmd_sha256(h, "x", 1, NULL), -EINVAL);
    CU_ASSERT_EQUAL(vmd_sha256(NULL, "x", 1, &fp), -EINVAL);
    CU_ASSERT_EQUAL(vmd_fingerprint_chunks(h, NULL, NULL, 0, NULL), 0);
    CU_ASSERT_EQUAL(vmd_fingerprint_chunks(h, NULL, NULL, 1, &fp), -EINVAL);
    vmd_hasher_free(h);
}

/* The fingerprints of a chunked segment are the one-shot SHA-256 of each chunk. */
static void test_segment_fingerprints(void)
{
    uint8_t *seg = malloc(VMD_SEGMENT_SIZE);
    uint64_t s = 11;
    vmd_chunker c;
    vmd_chunk *ch;
    vmd_fp *fps, want;
    vmd_hasher *h = NULL;
    size_t i, n, cap;
    unsigned int wl;

    CU_ASSERT_PTR_NOT_NULL_FATAL(seg);
    vmd_test_fill_splitmix(seg, VMD_SEGMENT_SIZE, &s);
    CU_ASSERT_EQUAL_FATAL(vmd_chunker_init(&c, NULL), 0);
    cap = vmd_chunk_count_max(&c, VMD_SEGMENT_SIZE);
    ch = malloc(cap * sizeof(*ch));
    fps = malloc(cap * sizeof(*fps));
    CU_ASSERT_PTR_NOT_NULL_FATAL(ch);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fps);
    CU_ASSERT_EQUAL_FATAL(vmd_chunk_segment(&c, seg, VMD_SEGMENT_SIZE, ch, cap, &n), 0);
    CU_ASSERT_EQUAL_FATAL(vmd_hasher_new(&h), 0);
    CU_ASSERT_EQUAL_FATAL(vmd_fingerprint_chunks(h, seg, ch, n, fps), 0);
    for (i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(EVP_Digest(seg + ch[i].off, ch[i].len, want.b, &wl, EVP_sha256(), NULL), 1);
        CU_ASSERT(memcmp(fps[i].b, want.b, VMD_FP_SIZE) == 0);
    }
    /* distinct random chunks, distinct fingerprints */
    for (i = 1; i < n; i++)
        CU_ASSERT(memcmp(fps[i].b, fps[i - 1].b, VMD_FP_SIZE) != 0);
    vmd_hasher_free(h);
    free(fps);
    free(ch);
    free(seg);
}

static void test_zero_detection(void)
{
    uint8_t *buf = calloc(1, 512 + 16);
    uint8_t *seg = calloc(1, VMD_SEGMENT_SIZE);
    size_t align, len, pos;

    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(seg);
    CU_ASSERT_EQUAL(vmd_is_zero(NULL, 0), 1);
    for (align = 0; align < 8; align++)
        for (len = 0; len <= 512; len += (len < 140 ? 1 : 37)) {
            uint8_t *p = buf + align;
            CU_ASSERT_EQUAL(vmd_is_zero(p, len), 1);
            for (pos = 0; pos < len; pos++) {
                p[pos] = (uint8_t)(1u << (pos % 8));
                CU_ASSERT_EQUAL(vmd_is_zero(p, len), 0);
                p[pos] = 0;
            }
            /* a non-zero byte just outside is not seen */
            p[len] = 0xff;
            CU_ASSERT_EQUAL(vmd_is_zero(p, len), 1);
            p[len] = 0;
            if (align > 0) {
                p[-1] = 0xff;
                CU_ASSERT_EQUAL(vmd_is_zero(p, len), 1);
                p[-1] = 0;
            }
        }
    /* whole segments */
    CU_ASSERT_EQUAL(vmd_is_zero(seg, VMD_SEGMENT_SIZE), 1);
    seg[VMD_SEGMENT_SIZE - 1] = 1;
    CU_ASSERT_EQUAL(vmd_is_zero(seg, VMD_SEGMENT_SIZE), 0);
    seg[VMD_SEGMENT_SIZE - 1] = 0;
    seg[VMD_SEGMENT_SIZE / 2 + 3] = 0x80;
    CU_ASSERT_EQUAL(vmd_is_zero(seg, VMD_SEGMENT_SIZE), 0);
    CU_ASSERT_EQUAL(vmd_is_zero(seg, VMD_SEGMENT_SIZE / 2 + 3), 1);
    free(seg);
    free(buf);
}

int main(void)
{
    static const vmd_test_case cases[] = {
        {"SHA-256 known answers", test_known_vectors},
        {"bad arguments", test_bad_arguments},
        {"fingerprints of a chunked segment", test_segment_fingerprints},
        {"zero detection", test_zero_detection},
        {NULL, NULL},
    };
    return vmd_test_main("fingerprint", cases);
}
