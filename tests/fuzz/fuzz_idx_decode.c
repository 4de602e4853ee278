/*
 * fuzz_idx_decode.c - one libFuzzer target per index decoder, chosen at build time.
 *
 * Built once per decoder with -DFUZZ_IDX_<NAME> (tests/fuzz/CMakeLists.txt).
 * Any bytes go to the decoder; what decodes must re-encode, the re-encoding
 * must decode again and encode to the same bytes (encoder and decoder agree
 * on everything they accept). A violation aborts, which libFuzzer reports.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/index_msg.h"
#include "format/index.h"

/* Aborts unless encoding a and b gave the same bytes. */
static void same_bytes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    if (alen != blen || memcmp(a, b, alen) != 0)
        abort();
}

/* decode -> encode -> decode -> encode, for message types with malloc()ing encoders. */
#define ROUND_TRIP(type, decode, encode, release)                                                  \
    do {                                                                                           \
        type m1, m2;                                                                               \
        uint8_t *e1 = NULL, *e2 = NULL;                                                            \
        size_t l1 = 0, l2 = 0;                                                                     \
        if (decode(&m1, data, size) == 0) {                                                        \
            if (encode(&m1, &e1, &l1) != 0)                                                        \
                abort();                                                                           \
            if (decode(&m2, e1, l1) != 0 || encode(&m2, &e2, &l2) != 0)                            \
                abort();                                                                           \
            same_bytes(e1, l1, e2, l2);                                                            \
            release(&m2);                                                                          \
            free(e1);                                                                              \
            free(e2);                                                                              \
        }                                                                                          \
        release(&m1);                                                                              \
    } while (0)

static void no_release(void *p)
{
    (void)p;
}

static int status_decode(vmd_idx_status_reply *r, const uint8_t *b, size_t l)
{
    return vmd_idx_status_reply_decode(r, VMD_IDX_RELEASE_STATUS_MAX, b, l);
}

static int status_encode(const vmd_idx_status_reply *r, uint8_t **o, size_t *l)
{
    return vmd_idx_status_reply_encode(r, VMD_IDX_RELEASE_STATUS_MAX, o, l);
}

static void fuzz_entry(const uint8_t *data, size_t size)
{
    vmd_idx_entry e, e2;
    uint8_t b1[VMD_IDX_ENTRY_MAX], b2[VMD_IDX_ENTRY_MAX];
    size_t l1, l2;

    if (vmd_idx_entry_decode(&e, data, size) != 0)
        return;
    if (vmd_idx_entry_encode(&e, b1, sizeof(b1), &l1) != 0 || l1 != size ||
        memcmp(b1, data, size) != 0)
        abort(); /* no envelope: a valid entry has exactly one encoding */
    if (vmd_idx_entry_decode(&e2, b1, l1) != 0 || vmd_idx_entry_encode(&e2, b2, sizeof(b2), &l2))
        abort();
    same_bytes(b1, l1, b2, l2);
}

static void fuzz_header(const uint8_t *data, size_t size)
{
    vmd_idx_header h, h2;
    uint8_t b1[VMD_IDX_HEADER_MAX], b2[VMD_IDX_HEADER_MAX];
    size_t l1, l2;

    if (vmd_idx_header_decode(&h, data, size) != 0)
        return;
    if (vmd_idx_header_encode(&h, b1, sizeof(b1), &l1) != 0)
        abort();
    if (vmd_idx_header_decode(&h2, b1, l1) != 0 || vmd_idx_header_encode(&h2, b2, sizeof(b2), &l2))
        abort();
    same_bytes(b1, l1, b2, l2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
#if defined(FUZZ_IDX_REGISTER_REQ)
    ROUND_TRIP(vmd_idx_register_req, vmd_idx_register_req_decode, vmd_idx_register_req_encode,
               vmd_idx_register_req_free);
#elif defined(FUZZ_IDX_RELEASE_REQ)
    ROUND_TRIP(vmd_idx_release_req, vmd_idx_release_req_decode, vmd_idx_release_req_encode,
               vmd_idx_release_req_free);
#elif defined(FUZZ_IDX_REF_REQ)
    ROUND_TRIP(vmd_idx_ref_req, vmd_idx_ref_req_decode, vmd_idx_ref_req_encode,
               vmd_idx_ref_req_free);
#elif defined(FUZZ_IDX_MARK_REQ)
    ROUND_TRIP(vmd_idx_mark_req, vmd_idx_mark_req_decode, vmd_idx_mark_req_encode,
               vmd_idx_mark_req_free);
#elif defined(FUZZ_IDX_UNMARK_REQ)
    ROUND_TRIP(vmd_idx_unmark_req, vmd_idx_unmark_req_decode, vmd_idx_unmark_req_encode,
               vmd_idx_unmark_req_free);
#elif defined(FUZZ_IDX_TOP_REQ)
    ROUND_TRIP(vmd_idx_top_req, vmd_idx_top_req_decode, vmd_idx_top_req_encode, no_release);
#elif defined(FUZZ_IDX_STATS_REQ)
    ROUND_TRIP(vmd_idx_stats_req, vmd_idx_stats_req_decode, vmd_idx_stats_req_encode, no_release);
#elif defined(FUZZ_IDX_REPLY_REQ)
    ROUND_TRIP(vmd_idx_reply_req, vmd_idx_reply_req_decode, vmd_idx_reply_req_encode, no_release);
#elif defined(FUZZ_IDX_REGISTER_REPLY)
    ROUND_TRIP(vmd_idx_register_reply, vmd_idx_register_reply_decode, vmd_idx_register_reply_encode,
               vmd_idx_register_reply_free);
#elif defined(FUZZ_IDX_STATUS_REPLY)
    ROUND_TRIP(vmd_idx_status_reply, status_decode, status_encode, vmd_idx_status_reply_free);
#elif defined(FUZZ_IDX_REF_REPLY)
    ROUND_TRIP(vmd_idx_ref_reply, vmd_idx_ref_reply_decode, vmd_idx_ref_reply_encode,
               vmd_idx_ref_reply_free);
#elif defined(FUZZ_IDX_TOP_REPLY)
    ROUND_TRIP(vmd_idx_top_reply, vmd_idx_top_reply_decode, vmd_idx_top_reply_encode,
               vmd_idx_top_reply_free);
#elif defined(FUZZ_IDX_STATS_REPLY)
    ROUND_TRIP(vmd_idx_counters, vmd_idx_stats_reply_decode, vmd_idx_stats_reply_encode,
               no_release);
#elif defined(FUZZ_IDX_ENTRY)
    fuzz_entry(data, size);
#elif defined(FUZZ_IDX_HEADER)
    fuzz_header(data, size);
#else
#error "build with -DFUZZ_IDX_<decoder>"
#endif
    (void)no_release;
    (void)status_decode;
    (void)status_encode;
    (void)fuzz_entry;
    (void)fuzz_header;
    return 0;
}
