/*
 * test_chunker.c - content-defined chunking (client/chunk/chunker.c).
 *
 * The chunker decides every chunk boundary a store ever holds, so these
 * tests pin its output (the gear table and the boundaries of a fixed
 * buffer), check the stated rule against a plain reference implementation,
 * and check the properties deduplication relies on: sizes within bounds, a
 * mean near the target, and boundaries that resynchronise after an edit.
 * All data comes from a seeded SplitMix64 generator.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chunk/chunker.h"
#include "chunker_ref.h"
#include "rng.h"
#include "vmd_test.h"

static uint8_t *random_buf(size_t len, uint64_t seed)
{
    uint8_t *b = malloc(len ? len : 1);
    uint64_t s = seed;

    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    vmd_test_fill_splitmix(b, len, &s);
    return b;
}

/* Chunks buf with c; returns a malloc'd array and its count, asserting success. */
static vmd_chunk *chunk_all(const vmd_chunker *c, const uint8_t *buf, size_t len, size_t *n)
{
    size_t cap = vmd_chunk_count_max(c, len);
    vmd_chunk *out = malloc((cap ? cap : 1) * sizeof(*out));

    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT_EQUAL_FATAL(vmd_chunk_segment(c, buf, len, out, cap, n), 0);
    return out;
}

/* The invariants of vmd_chunk_segment's output. */
static void check_invariants(const vmd_chunker *c, const vmd_chunk *ch, size_t n, size_t len)
{
    size_t i, off = 0;

    for (i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(ch[i].off, off);
        CU_ASSERT(ch[i].len >= 1);
        CU_ASSERT(ch[i].len <= c->p.max);
        if (i + 1 < n)
            CU_ASSERT(ch[i].len > c->p.min);
        off += ch[i].len;
    }
    CU_ASSERT_EQUAL(off, len);
    CU_ASSERT(n <= vmd_chunk_count_max(c, len));
}

static void test_gear_table_recipe(void)
{
    uint64_t s = 0x766d646564757000ull; /* "vmdedup\0" */
    int i;

    for (i = 0; i < 256; i++)
        CU_ASSERT_EQUAL(vmd_chunk_gear[i], vmd_test_splitmix64(&s));
    CU_ASSERT_EQUAL(vmd_chunk_gear[0], 0x7117fa4dbf32cd04ull);
    CU_ASSERT_EQUAL(vmd_chunk_gear[255], 0xc0f3f843d3bfc023ull);
}

static void test_params_validation(void)
{
    vmd_chunker c;
    vmd_chunk_params p;

    CU_ASSERT_EQUAL(vmd_chunker_init(&c, NULL), 0);
    CU_ASSERT_EQUAL(c.p.min, 2048);
    CU_ASSERT_EQUAL(c.p.avg, 4096);
    CU_ASSERT_EQUAL(c.p.max, 16384);
    CU_ASSERT_EQUAL(c.normal, 3072);
    CU_ASSERT_EQUAL(c.mask_s, 0xfffc000000000000ull); /* 14 bits */
    CU_ASSERT_EQUAL(c.mask_l, 0xffc0000000000000ull); /* 10 bits */
    CU_ASSERT_EQUAL(vmd_chunker_init(NULL, NULL), -EINVAL);

    p = (vmd_chunk_params){2048, 6000, 16384}; /* avg not a power of two */
    CU_ASSERT_EQUAL(vmd_chunker_init(&c, &p), -EINVAL);
    p = (vmd_chunk_params){4096, 4096, 16384}; /* min == avg */
    CU_ASSERT_EQUAL(vmd_chunker_init(&c, &p), -EINVAL);
    p = (vmd_chunk_params){8192, 4096, 16384}; /* min > avg */
    CU_ASSERT_EQUAL(vmd_chunker_init(&c, &p), -EINVAL);
    p = (vmd_chunk_params){2048, 16384, 16384}; /* avg == max */
    CU_ASSERT_EQUAL(vmd_chunker_init(&c, &p), -EINVAL);
    p = (vmd_chunk_params){2048, 0, 16384};
    CU_ASSERT_EQUAL(vmd_chunker_init(&c, &p), -EINVAL);
    p = (vmd_chunk_params){63, 4096, 16384}; /* min below the gear window */
    CU_ASSERT_EQUAL(vmd_chunker_init(&c, &p), -ERANGE);
    p = (vmd_chunk_params){2048, 4096, VMD_CHUNK_MAX_LIMIT + 1};
    CU_ASSERT_EQUAL(vmd_chunker_init(&c, &p), -ERANGE);

    /* the extremes that are allowed */
    p = (vmd_chunk_params){64, 128, VMD_CHUNK_MAX_LIMIT};
    CU_ASSERT_EQUAL(vmd_chunker_init(&c, &p), 0);
    CU_ASSERT_EQUAL(c.normal, 96);
    p = (vmd_chunk_params){VMD_CHUNK_MAX_LIMIT - 2, 524288, VMD_CHUNK_MAX_LIMIT}; /* min > avg */
    CU_ASSERT_EQUAL(vmd_chunker_init(&c, &p), -EINVAL);
    p = (vmd_chunk_params){262144, 524288, VMD_CHUNK_MAX_LIMIT};
    CU_ASSERT_EQUAL(vmd_chunker_init(&c, &p), 0);
    p = (vmd_chunk_params){7000, 8192, 65536}; /* min above avg - avg/4: normal = min */
    CU_ASSERT_EQUAL(vmd_chunker_init(&c, &p), 0);
    CU_ASSERT_EQUAL(c.normal, 7000);
}

/* FNV-1a over the chunk lengths: a compact pin of a whole chunking. */
static uint64_t lengths_hash(const vmd_chunk *ch, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= ch[i].len;
        h *= 0x100000001b3ull;
    }
    return h;
}

static void test_deterministic_and_pinned(void)
{
    vmd_chunker c;
    uint8_t *b = random_buf(VMD_SEGMENT_SIZE, 42);
    vmd_chunk *x, *y;
    size_t nx, ny;

    CU_ASSERT_EQUAL_FATAL(vmd_chunker_init(&c, NULL), 0);
    x = chunk_all(&c, b, VMD_SEGMENT_SIZE, &nx);
    y = chunk_all(&c, b, VMD_SEGMENT_SIZE, &ny);
    CU_ASSERT_EQUAL_FATAL(nx, ny);
    CU_ASSERT(memcmp(x, y, nx * sizeof(*x)) == 0);
    check_invariants(&c, x, nx, VMD_SEGMENT_SIZE);
    /*
     * The boundaries of this segment under the defaults. If this changes,
     * every store's chunks change: see "Compatibility" in chunker.h.
     */
    CU_ASSERT_EQUAL(nx, 520);
    CU_ASSERT_EQUAL(x[0].len, 2415);
    CU_ASSERT_EQUAL(x[1].len, 3361);
    CU_ASSERT_EQUAL(x[2].len, 5702);
    CU_ASSERT_EQUAL(lengths_hash(x, nx), 0x77b97d119e872209ull);
    free(x);
    free(y);
    free(b);
}

static void test_matches_reference(void)
{
    static const vmd_chunk_params ps[] = {
        {2048, 4096, 16384}, {64, 128, 1024}, {4096, 8192, 65536}, {1000, 1024, 1100}};
    uint8_t *b = random_buf(1 << 20, 7);
    vmd_chunker c;
    size_t i, off, cut;

    for (i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
        CU_ASSERT_EQUAL_FATAL(vmd_chunker_init(&c, &ps[i]), 0);
        for (off = 0; off < (1 << 20); off += cut) {
            cut = vmd_chunk_next(&c, b + off, (1 << 20) - off);
            CU_ASSERT_EQUAL_FATAL(cut, vmd_test_reference_cut(&c, b + off, (1 << 20) - off));
        }
    }
    free(b);
}

static void test_bounds_on_random_data(void)
{
    static const vmd_chunk_params ps[] = {
        {2048, 4096, 16384}, {64, 128, 256}, {4096, 8192, 65536}, {65536, 131072, 1048576}};
    uint8_t *b = random_buf(VMD_SEGMENT_SIZE, 1);
    vmd_chunker c;
    vmd_chunk *ch;
    size_t i, n, len;

    for (i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
        CU_ASSERT_EQUAL_FATAL(vmd_chunker_init(&c, &ps[i]), 0);
        for (len = VMD_SEGMENT_SIZE; len > 0; len = len * 5 / 8) {
            ch = chunk_all(&c, b, len, &n);
            check_invariants(&c, ch, n, len);
            free(ch);
        }
    }
    free(b);
}

/* Mean chunk size over 32 MiB of random data, within 25% of avg. */
static void check_mean(const vmd_chunk_params *p, double *mean)
{
    const size_t segs = 16;
    uint8_t *b = random_buf(VMD_SEGMENT_SIZE * segs, 99);
    vmd_chunker c;
    vmd_chunk *ch;
    size_t s, n, total = 0;

    CU_ASSERT_EQUAL_FATAL(vmd_chunker_init(&c, p), 0);
    for (s = 0; s < segs; s++) {
        ch = chunk_all(&c, b + s * VMD_SEGMENT_SIZE, VMD_SEGMENT_SIZE, &n);
        total += n;
        free(ch);
    }
    *mean = (double)(VMD_SEGMENT_SIZE * segs) / (double)total;
    CU_ASSERT(*mean > 0.75 * p->avg);
    CU_ASSERT(*mean < 1.25 * p->avg);
    free(b);
}

static void test_mean_near_target(void)
{
    static const vmd_chunk_params ps[] = {
        {2048, 4096, 16384}, {1024, 4096, 16384}, {4096, 8192, 65536}, {512, 1024, 8192}};
    double mean;
    size_t i;

    for (i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
        check_mean(&ps[i], &mean);
        printf("\n    min %u avg %u max %u: mean %.0f", ps[i].min, ps[i].avg, ps[i].max, mean);
    }
    printf("\n   ");
}

/*
 * Chunks of a and of b (an edited a) that are not found, as (offset from the
 * end, length), in the other: an insert or delete of a few bytes in the
 * middle must leave all but a few chunks around the edit unchanged.
 */
static size_t changed_chunks(const vmd_chunker *c, const uint8_t *a, size_t alen, const uint8_t *b,
                             size_t blen, size_t edit_at)
{
    vmd_chunk *x, *y;
    size_t nx, ny, i, j, changed = 0;

    x = chunk_all(c, a, alen, &nx);
    y = chunk_all(c, b, blen, &ny);
    /* before the edit: identical chunks, at identical offsets */
    for (i = 0; i < nx && i < ny && x[i].off + x[i].len <= edit_at; i++)
        CU_ASSERT(x[i].off == y[i].off && x[i].len == y[i].len);
    /* from the end: identical chunks while both sides agree */
    for (i = nx, j = ny; i > 0 && j > 0; i--, j--)
        if (x[i - 1].len != y[j - 1].len ||
            memcmp(a + x[i - 1].off, b + y[j - 1].off, x[i - 1].len) != 0)
            break;
    /* the chunks of a in between the common prefix and suffix */
    for (size_t k = 0; k < i; k++)
        if (x[k].off + x[k].len > edit_at)
            changed++;
    CU_ASSERT(nx - changed > nx * 9 / 10);
    free(x);
    free(y);
    return changed;
}

static void test_resynchronises_after_edit(void)
{
    const size_t len = VMD_SEGMENT_SIZE - 64;
    uint8_t *a = random_buf(len, 5), *b = malloc(len + 64);
    vmd_chunker c;
    size_t mid = len / 2 + 1234, changed;
    static const size_t deltas[] = {1, 3, 17};

    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL_FATAL(vmd_chunker_init(&c, NULL), 0);
    for (size_t d = 0; d < 3; d++) {
        /* insert deltas[d] bytes at mid */
        memcpy(b, a, mid);
        memset(b + mid, 0xa5, deltas[d]);
        memcpy(b + mid + deltas[d], a + mid, len - mid);
        changed = changed_chunks(&c, a, len, b, len + deltas[d], mid);
        CU_ASSERT(changed <= 3);
        /* delete deltas[d] bytes at mid */
        memcpy(b, a, mid);
        memcpy(b + mid, a + mid + deltas[d], len - mid - deltas[d]);
        changed = changed_chunks(&c, a, len, b, len - deltas[d], mid);
        CU_ASSERT(changed <= 3);
    }
    free(a);
    free(b);
}

static void test_short_and_exact_sizes(void)
{
    uint8_t *b = random_buf(65536, 3);
    vmd_chunker c;
    vmd_chunk ch[64];
    size_t n = 99, len;

    CU_ASSERT_EQUAL_FATAL(vmd_chunker_init(&c, NULL), 0);
    /* empty: no chunk */
    CU_ASSERT_EQUAL(vmd_chunk_segment(&c, b, 0, ch, 64, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(vmd_chunk_segment(&c, NULL, 0, NULL, 0, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(vmd_chunk_next(&c, b, 0), 0);
    CU_ASSERT_EQUAL(vmd_chunk_count_max(&c, 0), 0);
    /* up to min bytes, and min + 1: one chunk */
    for (len = 1; len <= c.p.min + 1; len += (len < 10 || len > c.p.min - 2) ? 1 : 511) {
        CU_ASSERT_EQUAL(vmd_chunk_segment(&c, b, len, ch, 64, &n), 0);
        CU_ASSERT_EQUAL(n, 1);
        CU_ASSERT_EQUAL(ch[0].off, 0);
        CU_ASSERT_EQUAL(ch[0].len, len);
        CU_ASSERT_EQUAL(vmd_chunk_count_max(&c, len), 1);
    }
    /* the bound is tight: (min + 1) * k bytes may be k chunks of min + 1 */
    CU_ASSERT_EQUAL(vmd_chunk_count_max(&c, 2 * (c.p.min + 1)), 2);
    CU_ASSERT_EQUAL(vmd_chunk_count_max(&c, 2 * (c.p.min + 1) + 1), 3);
    /* a cap that is too small */
    CU_ASSERT_EQUAL(vmd_chunk_segment(&c, b, 65536, ch, 1, &n), -ENOSPC);
    CU_ASSERT_EQUAL(vmd_chunk_segment(&c, b, 65536, ch, 0, &n), -ENOSPC);
    /* bad arguments */
    CU_ASSERT_EQUAL(vmd_chunk_segment(&c, NULL, 10, ch, 64, &n), -EINVAL);
    CU_ASSERT_EQUAL(vmd_chunk_segment(&c, b, 10, ch, 64, NULL), -EINVAL);
    CU_ASSERT_EQUAL(vmd_chunk_segment(&c, b, 10, NULL, 64, &n), -EINVAL);
    CU_ASSERT_EQUAL(vmd_chunk_segment(&c, b, (size_t)VMD_SEGMENT_SIZE + 1, ch, 64, &n), -EINVAL);
    free(b);
}

/* Zeros hash to one constant: every chunk of a zero run has the same length. */
static void test_uniform_data(void)
{
    uint8_t *z = calloc(1, VMD_SEGMENT_SIZE), *f = malloc(VMD_SEGMENT_SIZE);
    vmd_chunker c;
    vmd_chunk *ch;
    size_t n, i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(z);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    memset(f, 0xff, VMD_SEGMENT_SIZE);
    CU_ASSERT_EQUAL_FATAL(vmd_chunker_init(&c, NULL), 0);
    ch = chunk_all(&c, z, VMD_SEGMENT_SIZE, &n);
    check_invariants(&c, ch, n, VMD_SEGMENT_SIZE);
    for (i = 1; i + 1 < n; i++)
        CU_ASSERT_EQUAL(ch[i].len, ch[0].len);
    printf("\n    zeros: %zu chunks of %u bytes\n   ", n, ch[0].len);
    free(ch);
    ch = chunk_all(&c, f, VMD_SEGMENT_SIZE, &n);
    check_invariants(&c, ch, n, VMD_SEGMENT_SIZE);
    for (i = 1; i + 1 < n; i++)
        CU_ASSERT_EQUAL(ch[i].len, ch[0].len);
    free(ch);
    /* zeros never cut: exactly k * max bytes are k chunks of max, one more byte one more chunk */
    ch = chunk_all(&c, z, 8 * c.p.max, &n);
    CU_ASSERT_EQUAL(n, 8);
    for (i = 0; i < n; i++)
        CU_ASSERT_EQUAL(ch[i].len, c.p.max);
    free(ch);
    ch = chunk_all(&c, z, 8 * c.p.max + 1, &n);
    CU_ASSERT_EQUAL(n, 9);
    CU_ASSERT_EQUAL(ch[8].len, 1);
    free(ch);
    ch = chunk_all(&c, z, VMD_SEGMENT_SIZE, &n);
    CU_ASSERT_EQUAL(n, VMD_SEGMENT_SIZE / c.p.max);
    free(ch);
    free(z);
    free(f);
}

int main(void)
{
    static const vmd_test_case cases[] = {
        {"the gear table follows its recipe", test_gear_table_recipe},
        {"parameter validation", test_params_validation},
        {"deterministic, pinned boundaries", test_deterministic_and_pinned},
        {"the cut rule matches the reference", test_matches_reference},
        {"min/max bounds on random data", test_bounds_on_random_data},
        {"mean chunk size near avg", test_mean_near_target},
        {"resynchronisation after insert/delete", test_resynchronises_after_edit},
        {"short buffers and exact sizes", test_short_and_exact_sizes},
        {"uniform data", test_uniform_data},
        {NULL, NULL},
    };
    return vmd_test_main("chunker", cases);
}
