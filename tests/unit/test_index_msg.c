/*
 * test_index_msg.c - the table-driven codec of the index messages.
 *
 * Every message round-trips (decode of an encoding gives the struct back,
 * and re-encoding gives the same bytes), and every kind of malformed input
 * is refused with its exact error: envelope faults, truncation, bytes left
 * over, counts out of range or beyond the input, bad targets, VM ids,
 * chunk lengths, deltas, statuses, flags, fingerprint order and partition,
 * top order, inconsistent counters. Byte offsets below follow the layouts of
 * docs/format.md ("Methods on partitions"). ASan and valgrind runs check
 * that no decode reads outside its input or leaks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmd_test.h"
#include "format/index_msg.h"
#include "format/wire.h"

#define BITS 4
#define PART 5

static const vmd_idx_target T = {BITS, PART};

/* A fingerprint of partition PART (of 2^BITS), ordered by n. */
static vmd_fp fp_make(uint8_t n)
{
    vmd_fp fp;
    memset(&fp, 0, sizeof(fp));
    fp.b[0] = PART << 4;
    fp.b[31] = n;
    return fp;
}

/* ---- one valid sample of each message, and a decode -> encode of any bytes ---- */

static vmd_idx_reg_item reg_items[2];
static vmd_fp fps[2];
static vmd_idx_ref_item ref_items[2];
static vmd_idx_mark_item mark_items[2];
static vmd_idx_reg_result reg_results[2] = {{VMD_IDX_NEW, 1, {0, 0}}, {VMD_IDX_POPULAR, 3, {7, 8}}};
static uint8_t statuses[3] = {VMD_IDX_RELEASED, VMD_IDX_NOT_HOLDER, VMD_IDX_REMOVED};
static uint64_t pop_refs[2] = {0, UINT64_MAX};
static vmd_idx_top_item top_items[2];

static void samples_init(void)
{
    int i;
    for (i = 0; i < 2; i++) {
        fps[i] = fp_make((uint8_t)(i + 1));
        reg_items[i].fp = fps[i];
        reg_items[i].chunk_len = 4096u << i;
        reg_items[i].loc.id = 100 + i;
        reg_items[i].loc.slot = (uint32_t)i;
        ref_items[i].fp = fps[i];
        ref_items[i].delta = i ? -VMD_IDX_DELTA_MAX : VMD_IDX_DELTA_MAX;
        mark_items[i].fp = fps[i];
        mark_items[i].pop.id = 1000 + i;
        memset(&top_items[i], 0, sizeof(top_items[i]));
        top_items[i].fp = fps[i];
        top_items[i].e.vm_count = 5 - (uint32_t)i;
        top_items[i].e.chunk_len = 4096;
    }
    top_items[0].e.flags = VMD_IDX_ENTRY_POPULAR;
    top_items[0].e.pop_refs = 2;
    top_items[0].e.pop.id = 9;
    strcpy(top_items[0].e.home_vm, "vm-a");
    top_items[0].e.home.id = 3;
}

#define CODEC(name, TYPE, sample_init)                                                             \
    static int name##_sample(uint8_t **out, size_t *len)                                           \
    {                                                                                              \
        TYPE m = sample_init;                                                                      \
        return vmd_idx_##name##_encode(&m, out, len);                                              \
    }

CODEC(register_req, vmd_idx_register_req, ((vmd_idx_register_req){{1}, T, "vm-a", 2, reg_items}))
CODEC(release_req, vmd_idx_release_req, ((vmd_idx_release_req){{2}, T, "vm.b:1_-", 2, fps}))
CODEC(ref_req, vmd_idx_ref_req, ((vmd_idx_ref_req){{3}, T, 2, ref_items}))
CODEC(mark_req, vmd_idx_mark_req, ((vmd_idx_mark_req){{4}, T, 2, mark_items}))
CODEC(unmark_req, vmd_idx_unmark_req, ((vmd_idx_unmark_req){{5}, T, 2, fps}))
CODEC(top_req, vmd_idx_top_req, ((vmd_idx_top_req){T, 2, 100, 1, 7, {{PART << 4, 1}}}))
CODEC(stats_req, vmd_idx_stats_req, ((vmd_idx_stats_req){T}))
CODEC(reply_req, vmd_idx_reply_req, ((vmd_idx_reply_req){T, {6, 6}}))
CODEC(register_reply, vmd_idx_register_reply, ((vmd_idx_register_reply){2, reg_results}))
CODEC(ref_reply, vmd_idx_ref_reply, ((vmd_idx_ref_reply){2, pop_refs}))
CODEC(top_reply, vmd_idx_top_reply, ((vmd_idx_top_reply){2, 1, top_items}))
CODEC(stats_reply, vmd_idx_counters, ((vmd_idx_counters){10, 12, 2, 4096, 100, 7}))

static int status_reply_sample(uint8_t **out, size_t *len)
{
    vmd_idx_status_reply m = {3, statuses};
    return vmd_idx_status_reply_encode(&m, VMD_IDX_RELEASE_STATUS_MAX, out, len);
}

/* decode(bytes) -> encode: returns the decoder's result; *out is the re-encoding. */
#define AGAIN(name, TYPE, release)                                                                 \
    static int name##_again(const uint8_t *b, size_t n, uint8_t **out, size_t *len)                \
    {                                                                                              \
        TYPE m;                                                                                    \
        int rc = vmd_idx_##name##_decode(&m, b, n);                                                \
        if (rc == 0)                                                                               \
            CU_ASSERT_EQUAL(vmd_idx_##name##_encode(&m, out, len), 0);                             \
        release(&m);                                                                               \
        return rc;                                                                                 \
    }

static void no_release(void *m)
{
    (void)m;
}

AGAIN(register_req, vmd_idx_register_req, vmd_idx_register_req_free)
AGAIN(release_req, vmd_idx_release_req, vmd_idx_release_req_free)
AGAIN(ref_req, vmd_idx_ref_req, vmd_idx_ref_req_free)
AGAIN(mark_req, vmd_idx_mark_req, vmd_idx_mark_req_free)
AGAIN(unmark_req, vmd_idx_unmark_req, vmd_idx_unmark_req_free)
AGAIN(top_req, vmd_idx_top_req, no_release)
AGAIN(stats_req, vmd_idx_stats_req, no_release)
AGAIN(reply_req, vmd_idx_reply_req, no_release)
AGAIN(register_reply, vmd_idx_register_reply, vmd_idx_register_reply_free)
AGAIN(ref_reply, vmd_idx_ref_reply, vmd_idx_ref_reply_free)
AGAIN(top_reply, vmd_idx_top_reply, vmd_idx_top_reply_free)
AGAIN(stats_reply, vmd_idx_counters, no_release)

static int status_reply_again(const uint8_t *b, size_t n, uint8_t **out, size_t *len)
{
    vmd_idx_status_reply m;
    int rc = vmd_idx_status_reply_decode(&m, VMD_IDX_RELEASE_STATUS_MAX, b, n);
    if (rc == 0)
        CU_ASSERT_EQUAL(vmd_idx_status_reply_encode(&m, VMD_IDX_RELEASE_STATUS_MAX, out, len), 0);
    vmd_idx_status_reply_free(&m);
    return rc;
}

typedef struct codec {
    const char *name;
    int (*sample)(uint8_t **out, size_t *len);
    int (*again)(const uint8_t *b, size_t n, uint8_t **out, size_t *len);
    size_t size; /* bytes of the sample */
} codec;

#define C(name, size)                                                                              \
    {                                                                                              \
#name, name##_sample, name##_again, size                                                   \
    }

static const codec codecs[] = {
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
#define NCODECS (sizeof(codecs) / sizeof(codecs[0]))

/* The decoder's result on b; a success must re-encode to b itself. */
static int decode_rc(const codec *c, const uint8_t *b, size_t n)
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

/* Sets the envelope's payload length of b to n - 6. */
static void fix_length(uint8_t *b, size_t n)
{
    uint32_t payload = (uint32_t)(n - VMD_WIRE_ENVELOPE_SIZE);
    int i;
    for (i = 0; i < 4; i++)
        b[2 + i] = (uint8_t)(payload >> (8 * i));
}

/* ---- tests over every message ---- */

static void test_every_message_round_trips(void)
{
    size_t i, n;
    uint8_t *b;

    for (i = 0; i < NCODECS; i++) {
        CU_ASSERT_EQUAL_FATAL(codecs[i].sample(&b, &n), 0);
        CU_ASSERT_EQUAL(n, codecs[i].size);
        CU_ASSERT_EQUAL(b[0], VMD_IDX_MSG_V);
        CU_ASSERT_EQUAL(b[1], 1);
        CU_ASSERT_EQUAL(decode_rc(&codecs[i], b, n), 0);
        free(b);
    }
}

static void test_every_truncation_is_refused(void)
{
    size_t i, k, n;
    uint8_t *b;

    for (i = 0; i < NCODECS; i++) {
        CU_ASSERT_EQUAL_FATAL(codecs[i].sample(&b, &n), 0);
        for (k = 0; k < n; k++)
            CU_ASSERT_EQUAL(decode_rc(&codecs[i], b, k), -EINVAL);
        /* a payload cut short but announced as such */
        fix_length(b, n - 1);
        CU_ASSERT_EQUAL(decode_rc(&codecs[i], b, n - 1), -EINVAL);
        free(b);
    }
}

static void test_envelope_faults(void)
{
    size_t i, n;
    uint8_t *b, *x;

    for (i = 0; i < NCODECS; i++) {
        const codec *c = &codecs[i];
        CU_ASSERT_EQUAL_FATAL(c->sample(&b, &n), 0);
        x = malloc(n + 1);
        memcpy(x, b, n);
        x[n] = 0;
        CU_ASSERT_EQUAL(decode_rc(c, x, n + 1), -EINVAL); /* a byte after the envelope */
        fix_length(x, n + 1);
        CU_ASSERT_EQUAL(decode_rc(c, x, n + 1), -EINVAL); /* a v1 payload with a byte left */
        x[0] = 2;
        {
            uint8_t *again = NULL;
            size_t len = 0;
            CU_ASSERT_EQUAL(c->again(x, n + 1, &again, &len), 0); /* v2: appended field skipped */
            CU_ASSERT(len == n && memcmp(again, b, n) == 0);      /* re-encoded as v1 */
            free(again);
        }
        x[1] = 2;
        CU_ASSERT_EQUAL(decode_rc(c, x, n + 1), -EPROTO); /* compat 2: a newer writer */
        x[0] = 1;
        CU_ASSERT_EQUAL(decode_rc(c, x, n + 1), -EINVAL); /* compat above version */
        memcpy(x, b, n);
        x[0] = 0;
        CU_ASSERT_EQUAL(decode_rc(c, x, n), -EINVAL); /* version 0 */
        x[0] = 1;
        x[1] = 0;
        CU_ASSERT_EQUAL(decode_rc(c, x, n), -EINVAL); /* compat 0 */
        CU_ASSERT_EQUAL(decode_rc(c, NULL, 0), -EINVAL);
        free(x);
        free(b);
    }
}

/* ---- per-field rules, by patching a valid sample ---- */

/* Decodes sample c with byte `at` set to v (or the u32 at `at` when wide). */
static int patched(const codec *c, size_t at, uint32_t v, int wide)
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
    rc = decode_rc(c, b, n);
    free(b);
    return rc;
}

static const codec *find(const char *name)
{
    size_t i;
    for (i = 0; i < NCODECS; i++)
        if (strcmp(codecs[i].name, name) == 0)
            return &codecs[i];
    return NULL;
}

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
        const codec *c = find(reqs[i]);
        CU_ASSERT_EQUAL(patched(c, AT_BITS, 17, 0), -EINVAL);       /* bits > 16 */
        CU_ASSERT_EQUAL(patched(c, AT_PART, 16, 0), -EINVAL);       /* partition >= 2^bits */
        CU_ASSERT_EQUAL(patched(c, AT_PART, PART - 1, 0), -EINVAL); /* fps of another one */
    }
    CU_ASSERT_EQUAL(patched(find("stats_req"), 6, 17, 0), -EINVAL);
    CU_ASSERT_EQUAL(patched(find("reply_req"), 7, 16, 0), -EINVAL);
    CU_ASSERT_EQUAL(patched(find("top_req"), 6, 3, 0), -EINVAL); /* cursor outside partition */
}

static void test_vm_ids(void)
{
    const codec *c = find("register_req");

    CU_ASSERT_EQUAL(patched(c, AT_VM + 1, ' ', 0), -EINVAL); /* not [A-Za-z0-9._:-] */
    CU_ASSERT_EQUAL(patched(c, AT_VM + 1, 0, 0), -EINVAL);   /* a NUL inside */
    CU_ASSERT_EQUAL(patched(c, AT_VM, 0, 0), -EINVAL);       /* empty (and misaligned) */
    CU_ASSERT_EQUAL(patched(find("release_req"), AT_VM + 3, '/', 0), -EINVAL);
}

static void test_vm_id_length_limit(void)
{
    vmd_idx_release_req r = {{0}, T, "", 2, fps}, d;
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
        const codec *c = find(cases[i].name);
        if (cases[i].lo)
            CU_ASSERT_EQUAL(patched(c, cases[i].at, 0, 1), -EINVAL); /* empty batch */
        CU_ASSERT_EQUAL(patched(c, cases[i].at, cases[i].hi + 1, 1), -EINVAL);
        CU_ASSERT_EQUAL(patched(c, cases[i].at, cases[i].hi, 1), -EINVAL); /* beyond the input */
        CU_ASSERT_EQUAL(patched(c, cases[i].at, UINT32_MAX, 1), -EINVAL);
        CU_ASSERT_EQUAL(patched(c, cases[i].at, 1, 1), -EINVAL); /* items left over */
    }
}

static void test_item_rules(void)
{
    const codec *reg = find("register_req"), *ref = find("ref_req");
    const size_t reg_item0 = 34, ref_item0 = 29;

    /* chunk_len: 1 .. 1 MiB */
    CU_ASSERT_EQUAL(patched(reg, reg_item0 + 32, 0, 1), -EINVAL);
    CU_ASSERT_EQUAL(patched(reg, reg_item0 + 32, VMD_CHUNK_MAX + 1, 1), -EINVAL);
    CU_ASSERT_EQUAL(patched(reg, reg_item0 + 32, VMD_CHUNK_MAX, 1), 0);
    /* delta: != 0, |delta| <= 2^24 */
    CU_ASSERT_EQUAL(patched(ref, ref_item0 + 32, 0, 1), -EINVAL);
    CU_ASSERT_EQUAL(patched(ref, ref_item0 + 32, VMD_IDX_DELTA_MAX + 1, 1), -EINVAL);
    CU_ASSERT_EQUAL(patched(ref, ref_item0 + 32, (uint32_t) - (VMD_IDX_DELTA_MAX + 1), 1), -EINVAL);
    CU_ASSERT_EQUAL(patched(ref, ref_item0 + 32, (uint32_t)-1, 1), 0);
    /* fps: strictly ascending (item 1's last byte made equal to, then below, item 0's) */
    CU_ASSERT_EQUAL(patched(reg, reg_item0 + 48 + 31, 1, 0), -EINVAL);
    CU_ASSERT_EQUAL(patched(reg, reg_item0 + 48 + 31, 0, 0), -EINVAL);
    CU_ASSERT_EQUAL(patched(find("unmark_req"), 29 + 32 + 31, 1, 0), -EINVAL);
    CU_ASSERT_EQUAL(patched(find("mark_req"), 29, 0x60, 0), -EINVAL); /* another partition */
}

static void test_reply_rules(void)
{
    const codec *reg = find("register_reply"), *top = find("top_reply");

    CU_ASSERT_EQUAL(patched(reg, 10, VMD_IDX_POPULAR + 1, 0), -EINVAL); /* unknown status */
    CU_ASSERT_EQUAL(patched(reg, 15, VMD_IDX_NEW, 0), -EINVAL);         /* NEW, yet a loc follows */
    CU_ASSERT_EQUAL(patched(find("status_reply"), 10, VMD_IDX_RELEASE_STATUS_MAX + 1, 0), -EINVAL);
    CU_ASSERT_EQUAL(patched(top, 10, 2, 0), -EINVAL);        /* more: 0 or 1 */
    CU_ASSERT_EQUAL(patched(top, 11 + 32, 1, 1), -EINVAL);   /* vm_count below the next one */
    CU_ASSERT_EQUAL(patched(top, 11 + 36, 0, 1), -EINVAL);   /* chunk_len 0: not an entry */
    CU_ASSERT_EQUAL(patched(top, 11 + 64, '?', 0), -EINVAL); /* home_vm "vm?a" */
    CU_ASSERT_EQUAL(patched(find("stats_reply"), 6 + 16, 11, 0), -EINVAL); /* popular > all */
    CU_ASSERT_EQUAL(patched(find("stats_reply"), 6 + 25, 0, 0), -EINVAL);  /* bytes < popular */
}

static void test_top_request_rules(void)
{
    const codec *c = find("top_req");

    CU_ASSERT_EQUAL(patched(c, 13, 0, 1), -EINVAL);                   /* max 0 */
    CU_ASSERT_EQUAL(patched(c, 13, VMD_IDX_TOP_MAX + 1, 1), -EINVAL); /* max above a page */
    CU_ASSERT_EQUAL(patched(c, 13, VMD_IDX_TOP_MAX, 1), 0);
    CU_ASSERT_EQUAL(patched(c, 17, 2, 0), -EINVAL); /* has_cursor: 0 or 1 */
    CU_ASSERT_EQUAL(patched(c, 17, 0, 0), -EINVAL); /* no cursor, yet its bytes follow */
}

/* The encoders refuse what the decoders refuse. */
static void test_encoders_refuse_invalid_messages(void)
{
    vmd_idx_reg_item bad_len[1] = {{fp_make(1), 0, {0, 0}}};
    vmd_fp descending[2] = {fp_make(2), fp_make(1)};
    vmd_idx_ref_item zero[1] = {{fp_make(1), 0}};
    vmd_idx_reg_result bad_status[1] = {{VMD_IDX_POPULAR + 1, 1, {0, 0}}};
    uint8_t st[1] = {VMD_IDX_MOVED};
    vmd_idx_register_req rr = {{0}, T, "vm", 1, bad_len};
    vmd_idx_release_req rl = {{0}, T, "vm", 2, descending};
    vmd_idx_ref_req rf = {{0}, T, 1, zero};
    vmd_idx_unmark_req um = {{0}, {17, 0}, 1, fps};
    vmd_idx_top_req tp = {T, 0, 10, 2, 0, {{0}}};
    vmd_idx_register_reply rp = {1, bad_status};
    vmd_idx_status_reply sp = {1, st};
    vmd_idx_top_reply tr = {VMD_IDX_TOP_MAX + 1, 0, top_items};
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

static void test_reply_kinds(void)
{
    uint8_t *b, *k;
    size_t n, kn;

    CU_ASSERT_EQUAL(vmd_idx_reply_item_size(VMD_IDX_REPLY_REGISTER), sizeof(vmd_idx_reg_result));
    CU_ASSERT_EQUAL(vmd_idx_reply_item_size(VMD_IDX_REPLY_STATUS), 1);
    CU_ASSERT_EQUAL(vmd_idx_reply_item_size(VMD_IDX_REPLY_REF), 8);
    CU_ASSERT_EQUAL(vmd_idx_reply_item_size((vmd_idx_reply_kind)3), 0);

    CU_ASSERT_EQUAL_FATAL(status_reply_sample(&b, &n), 0);
    CU_ASSERT_EQUAL_FATAL(vmd_idx_reply_encode(VMD_IDX_REPLY_STATUS, VMD_IDX_RELEASE_STATUS_MAX, 3,
                                               statuses, &k, &kn),
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
    CU_ASSERT_EQUAL(vmd_idx_reply_encode((vmd_idx_reply_kind)7, 0, 3, statuses, &k, &kn), -EINVAL);
    free(k);
    free(b);
    CU_ASSERT_EQUAL_FATAL(vmd_idx_reply_encode(VMD_IDX_REPLY_REF, 0, 2, pop_refs, &b, &n), 0);
    CU_ASSERT_EQUAL(vmd_idx_reply_check(VMD_IDX_REPLY_REF, 0, b, n, 2), 0);
    free(b);
}

int main(void)
{
    static const vmd_test_case cases[] = {
        {"every message round-trips", test_every_message_round_trips},
        {"every truncation is refused", test_every_truncation_is_refused},
        {"envelope faults", test_envelope_faults},
        {"targets and partitions", test_targets},
        {"VM ids", test_vm_ids},
        {"VM id length limit", test_vm_id_length_limit},
        {"counts: range, input, leftovers", test_counts},
        {"item rules: length, delta, fp order", test_item_rules},
        {"reply rules: status, more, top order, counters", test_reply_rules},
        {"top request rules", test_top_request_rules},
        {"encoders refuse invalid messages", test_encoders_refuse_invalid_messages},
        {"huge counts fail before allocating", test_huge_counts_fail_before_allocating},
        {"replies by kind", test_reply_kinds},
        {NULL, NULL},
    };
    samples_init();
    return vmd_test_main("index messages", cases);
}
