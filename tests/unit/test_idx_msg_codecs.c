/*
 * test_idx_msg_codecs.c - one row per index message for the message tests
 * of test_idx (the table and its helpers are described in test_idx_msg.h).
 *
 * Each row's two functions come from one macro: _sample encodes a valid
 * message built from the sample arrays below, _again decodes any bytes and
 * re-encodes what decoded. The status reply, whose codec also takes the
 * highest status its method replies, has its two functions written out.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test_idx_msg.h"

/* ---- the samples ---- */

#define SAMPLE_FP(n)                                                                               \
    {                                                                                              \
        {                                                                                          \
            [0] = PART << (8 - BITS), [VMD_FP_SIZE - 1] = (n)                                      \
        }                                                                                          \
    }

vmd_fp sample_fp(uint8_t n)
{
    vmd_fp fp = SAMPLE_FP(n);
    return fp;
}

vmd_fp idx_sample_fps[2] = {SAMPLE_FP(1), SAMPLE_FP(2)};
uint8_t idx_sample_statuses[3] = {VMD_IDX_RELEASED, VMD_IDX_NOT_HOLDER, VMD_IDX_REMOVED};
uint64_t idx_sample_pop_refs[2] = {0, UINT64_MAX};
vmd_idx_top_item idx_sample_top_items[2] = {
    {SAMPLE_FP(1),
     {.flags = VMD_IDX_ENTRY_POPULAR,
      .vm_count = 5,
      .chunk_len = 4096,
      .pop_refs = 2,
      .home = {3, 0},
      .pop = {9, 0},
      .home_vm = "vm-a"}},
    {SAMPLE_FP(2), {.vm_count = 4, .chunk_len = 4096}},
};

static vmd_idx_reg_item reg_items[2] = {{SAMPLE_FP(1), 4096, {100, 0}},
                                        {SAMPLE_FP(2), 8192, {101, 1}}};
static vmd_idx_ref_item ref_items[2] = {{SAMPLE_FP(1), VMD_IDX_DELTA_MAX},
                                        {SAMPLE_FP(2), -VMD_IDX_DELTA_MAX}};
static vmd_idx_mark_item mark_items[2] = {{SAMPLE_FP(1), {1000, 0}}, {SAMPLE_FP(2), {1001, 0}}};
static vmd_idx_reg_result reg_results[2] = {{VMD_IDX_NEW, 1, {0, 0}}, {VMD_IDX_POPULAR, 3, {7, 8}}};

/* ---- a sample, and decode -> encode of any bytes, per message ---- */

static void no_release(void *m)
{
    (void)m;
}

/* name##_sample encodes the message `sample` (of type TYPE); name##_again as test_idx_msg.h. */
#define CODEC(name, TYPE, release, sample)                                                         \
    static int name##_sample(uint8_t **out, size_t *len)                                           \
    {                                                                                              \
        TYPE m = sample;                                                                           \
        return vmd_idx_##name##_encode(&m, out, len);                                              \
    }                                                                                              \
    static int name##_again(const uint8_t *b, size_t n, uint8_t **out, size_t *len)                \
    {                                                                                              \
        TYPE m;                                                                                    \
        int rc = vmd_idx_##name##_decode(&m, b, n);                                                \
        if (rc == 0)                                                                               \
            CU_ASSERT_EQUAL(vmd_idx_##name##_encode(&m, out, len), 0);                             \
        release(&m);                                                                               \
        return rc;                                                                                 \
    }

/* clang-format off */
CODEC(register_req, vmd_idx_register_req, vmd_idx_register_req_free,
      ((vmd_idx_register_req){{1}, T, "vm-a", 2, reg_items}))
CODEC(release_req, vmd_idx_release_req, vmd_idx_release_req_free,
      ((vmd_idx_release_req){{2}, T, "vm.b:1_-", 2, idx_sample_fps}))
CODEC(ref_req, vmd_idx_ref_req, vmd_idx_ref_req_free, ((vmd_idx_ref_req){{3}, T, 2, ref_items}))
CODEC(mark_req, vmd_idx_mark_req, vmd_idx_mark_req_free,
      ((vmd_idx_mark_req){{4}, T, 2, mark_items}))
CODEC(unmark_req, vmd_idx_unmark_req, vmd_idx_unmark_req_free,
      ((vmd_idx_unmark_req){{5}, T, 2, idx_sample_fps}))
CODEC(top_req, vmd_idx_top_req, no_release,
      ((vmd_idx_top_req){T, 2, 100, 1, 7, {{PART << 4, 1}}}))
CODEC(stats_req, vmd_idx_stats_req, no_release, ((vmd_idx_stats_req){T}))
CODEC(reply_req, vmd_idx_reply_req, no_release, ((vmd_idx_reply_req){T, {6, 6}}))
CODEC(register_reply, vmd_idx_register_reply, vmd_idx_register_reply_free,
      ((vmd_idx_register_reply){2, reg_results}))
CODEC(ref_reply, vmd_idx_ref_reply, vmd_idx_ref_reply_free,
      ((vmd_idx_ref_reply){2, idx_sample_pop_refs}))
CODEC(top_reply, vmd_idx_top_reply, vmd_idx_top_reply_free,
      ((vmd_idx_top_reply){2, 1, idx_sample_top_items}))
CODEC(stats_reply, vmd_idx_counters, no_release,
      ((vmd_idx_counters){10, 12, 2, 4096, 100, 7}))
/* clang-format on */

static int status_reply_sample(uint8_t **out, size_t *len)
{
    vmd_idx_status_reply m = {3, idx_sample_statuses};
    return vmd_idx_status_reply_encode(&m, VMD_IDX_RELEASE_STATUS_MAX, out, len);
}

static int status_reply_again(const uint8_t *b, size_t n, uint8_t **out, size_t *len)
{
    vmd_idx_status_reply m;
    int rc = vmd_idx_status_reply_decode(&m, VMD_IDX_RELEASE_STATUS_MAX, b, n);
    if (rc == 0)
        CU_ASSERT_EQUAL(vmd_idx_status_reply_encode(&m, VMD_IDX_RELEASE_STATUS_MAX, out, len), 0);
    vmd_idx_status_reply_free(&m);
    return rc;
}

/* ---- the table ---- */

#define C(name, size)                                                                              \
    {                                                                                              \
#name, name##_sample, name##_again, size                                                   \
    }

const idx_codec idx_codecs[] = {
    C(register_req, 6 + 16 + 3 + 1 + 4 + 4 + 2 * 48),
    C(release_req, 6 + 16 + 3 + 1 + 8 + 4 + 2 * 32),
    C(ref_req, 6 + 16 + 3 + 4 + 2 * 36),
    C(mark_req, 6 + 16 + 3 + 4 + 2 * 44),
    C(unmark_req, 6 + 16 + 3 + 4 + 2 * 32),
    C(top_req, 6 + 3 + 4 + 4 + 1 + 4 + 32),
    C(stats_req, 6 + 3),
    C(reply_req, 6 + 3 + 16),
    C(register_reply, 6 + 4 + 5 + 17),
    C(status_reply, 6 + 4 + 3),
    C(ref_reply, 6 + 4 + 2 * 8),
    C(top_reply, 6 + 4 + 1 + 2 * 74 + 4),
    C(stats_reply, 6 + 6 * 8),
};
const size_t idx_ncodecs = sizeof(idx_codecs) / sizeof(idx_codecs[0]);

const idx_codec *idx_codec_find(const char *name)
{
    size_t i;
    for (i = 0; i < idx_ncodecs; i++)
        if (strcmp(idx_codecs[i].name, name) == 0)
            return &idx_codecs[i];
    CU_FAIL_FATAL("no such index message");
    return NULL;
}

/* ---- decoding and patching ---- */

int idx_codec_decode(const idx_codec *c, const uint8_t *b, size_t n)
{
    uint8_t *again = NULL;
    size_t len = 0;
    int rc = c->again(b, n, &again, &len);

    if (rc == 0 && again) {
        CU_ASSERT_EQUAL(len, n);
        CU_ASSERT(len == n && memcmp(again, b, n) == 0);
    }
    free(again);
    return rc;
}

int idx_codec_patched(const idx_codec *c, size_t at, uint32_t v, int wide)
{
    uint8_t *b;
    size_t n;
    int rc, i;

    CU_ASSERT_EQUAL_FATAL(c->sample(&b, &n), 0);
    if (wide)
        for (i = 0; i < 4; i++)
            b[at + i] = (uint8_t)(v >> (8 * i));
    else
        b[at] = (uint8_t)v;
    rc = idx_codec_decode(c, b, n);
    free(b);
    return rc;
}

void idx_envelope_set_length(uint8_t *b, size_t n)
{
    uint32_t payload = (uint32_t)(n - VMD_WIRE_ENVELOPE_SIZE);
    int i;
    for (i = 0; i < 4; i++)
        b[2 + i] = (uint8_t)(payload >> (8 * i));
}
