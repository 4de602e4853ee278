/*
 * fuzz_idx_decode.c - one libFuzzer target per index decoder, chosen at build time.
 *
 * Built once per decoder with -DFUZZ_IDX=<name> (tests/fuzz/CMakeLists.txt),
 * a name of the table at the end, which holds one round-trip function per
 * decoder, each made by a macro. Any bytes go to the decoder; what decodes
 * must re-encode, the re-encoding must decode again and encode to the same
 * bytes (encoder and decoder agree on everything they accept). A violation
 * aborts, which libFuzzer reports.
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

/* The round trip above of message `name`, whose encoder malloc()s its output. */
#define ROUND_TRIP(name, type, decode, encode, release)                                            \
    static void name##_round_trip(const uint8_t *data, size_t size)                                \
    {                                                                                              \
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
    }
#define IDX_ROUND_TRIP(name, type, release)                                                        \
    ROUND_TRIP(name, type, vmd_idx_##name##_decode, vmd_idx_##name##_encode, release)

/*
 * The same for a stored record encoded into a buffer of max bytes; exact: the
 * record has no envelope, so a valid one has exactly one encoding, its input.
 */
#define STORED_ROUND_TRIP(name, type, max, exact)                                                  \
    static void name##_round_trip(const uint8_t *data, size_t size)                                \
    {                                                                                              \
        type m1, m2;                                                                               \
        uint8_t b1[max], b2[max];                                                                  \
        size_t l1, l2;                                                                             \
        if (vmd_idx_##name##_decode(&m1, data, size) != 0)                                         \
            return;                                                                                \
        if (vmd_idx_##name##_encode(&m1, b1, sizeof(b1), &l1) != 0)                                \
            abort();                                                                               \
        if ((exact) && (l1 != size || memcmp(b1, data, size) != 0))                                \
            abort();                                                                               \
        if (vmd_idx_##name##_decode(&m2, b1, l1) != 0 ||                                           \
            vmd_idx_##name##_encode(&m2, b2, sizeof(b2), &l2) != 0)                                \
            abort();                                                                               \
        same_bytes(b1, l1, b2, l2);                                                                \
    }

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

/* clang-format off */
IDX_ROUND_TRIP(register_req, vmd_idx_register_req, vmd_idx_register_req_free)
IDX_ROUND_TRIP(release_req, vmd_idx_release_req, vmd_idx_release_req_free)
IDX_ROUND_TRIP(ref_req, vmd_idx_ref_req, vmd_idx_ref_req_free)
IDX_ROUND_TRIP(mark_req, vmd_idx_mark_req, vmd_idx_mark_req_free)
IDX_ROUND_TRIP(unmark_req, vmd_idx_unmark_req, vmd_idx_unmark_req_free)
IDX_ROUND_TRIP(top_req, vmd_idx_top_req, no_release)
IDX_ROUND_TRIP(stats_req, vmd_idx_stats_req, no_release)
IDX_ROUND_TRIP(reply_req, vmd_idx_reply_req, no_release)
IDX_ROUND_TRIP(register_reply, vmd_idx_register_reply, vmd_idx_register_reply_free)
ROUND_TRIP(status_reply, vmd_idx_status_reply, status_decode, status_encode,
           vmd_idx_status_reply_free)
IDX_ROUND_TRIP(ref_reply, vmd_idx_ref_reply, vmd_idx_ref_reply_free)
IDX_ROUND_TRIP(top_reply, vmd_idx_top_reply, vmd_idx_top_reply_free)
IDX_ROUND_TRIP(stats_reply, vmd_idx_counters, no_release)
STORED_ROUND_TRIP(entry, vmd_idx_entry, VMD_IDX_ENTRY_MAX, 1)
STORED_ROUND_TRIP(header, vmd_idx_header, VMD_IDX_HEADER_MAX, 0)
/* clang-format on */

#define T(name)                                                                                    \
    {                                                                                              \
#name, name##_round_trip                                                                   \
    }

static const struct {
    const char *name;
    void (*run)(const uint8_t *data, size_t size);
} targets[] = {
    T(register_req), T(release_req), T(ref_req),     T(mark_req),       T(unmark_req),
    T(top_req),      T(stats_req),   T(reply_req),   T(register_reply), T(status_reply),
    T(ref_reply),    T(top_reply),   T(stats_reply), T(entry),          T(header),
};

#ifndef FUZZ_IDX
#error "build with -DFUZZ_IDX=<decoder> (a name of the table above)"
#endif
#define NAME_OF(x) #x
#define NAME(x)    NAME_OF(x)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static void (*run)(const uint8_t *data, size_t size);
    size_t i;

    for (i = 0; !run && i < sizeof(targets) / sizeof(targets[0]); i++)
        if (strcmp(targets[i].name, NAME(FUZZ_IDX)) == 0)
            run = targets[i].run;
    if (!run)
        abort(); /* FUZZ_IDX names no decoder */
    run(data, size);
    return 0;
}
