/*
 * test_ctr_fixture.c - the chunks and containers every part of test_ctr
 * builds, and the helpers that patch them (declared in test_ctr.h).
 *
 * Chunk i of a container is text-like (compresses, stored ZSTD) or random
 * (does not, stored RAW), from a seed derived from i, so a test can build a
 * container and later recompute any chunk to compare with what it reads.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test_ctr.h"

/* ---- data ---- */

void fill_random(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t s = seed * 2654435761u + 1;
    vmd_test_fill_xorshift(p, n, &s);
}

/* Words from a small vocabulary: compresses several-fold, like logs or text files. */
void fill_text(uint8_t *p, size_t n, uint64_t seed)
{
    static const char *const words[] = {"the ",   "block ", "device ", "xen ",  "backup ",
                                        "chunk ", "of ",    "and ",    "ceph ", "\n"};
    uint64_t s = seed * 2654435761u + 7;
    vmd_test_fill_words(p, n, words, 10, &s);
}

/* Builds a container of nchunks chunks of size len (kind per chunk, or alternating if mixed). */
uint8_t *build(const char *vm, uint64_t id, int nchunks, size_t len, int mixed, int kind,
               size_t *size)
{
    vmd_ctr_builder *b = NULL;
    uint8_t *chunk = malloc(len), *out = NULL;
    int i;

    CU_ASSERT_FATAL(chunk != NULL);
    CU_ASSERT_EQUAL_FATAL(vmd_ctr_builder_new(&b, id, vm, 0), 0);
    for (i = 0; i < nchunks; i++) {
        int k = mixed ? i % 2 : kind;
        if (k == TEXT)
            fill_text(chunk, len, (uint64_t)i);
        else
            fill_random(chunk, len, (uint64_t)i);
        CU_ASSERT_EQUAL_FATAL(vmd_ctr_builder_add(b, chunk, len, 3, NULL, NULL), 0);
    }
    CU_ASSERT_EQUAL_FATAL(vmd_ctr_builder_finish(b, &out, size), 0);
    vmd_ctr_builder_free(b);
    free(chunk);
    return out;
}

/* Expected raw bytes of chunk i as build() made them. */
void expected_chunk(uint8_t *p, size_t len, int i, int mixed, int kind)
{
    int k = mixed ? i % 2 : kind;
    if (k == TEXT)
        fill_text(p, len, (uint64_t)i);
    else
        fill_random(p, len, (uint64_t)i);
}

void check_all_slots_read_back(const uint8_t *obj, size_t size, int nchunks, size_t len, int mixed,
                               int kind)
{
    uint8_t *want = malloc(len), *raw = NULL;
    size_t rawlen = 0;
    vmd_ctr_fault f;
    int i, reason;

    for (i = 0; i < nchunks; i++) {
        expected_chunk(want, len, i, mixed, kind);
        CU_ASSERT_EQUAL_FATAL(vmd_ctr_read_slot(obj, size, (uint32_t)i, &raw, &rawlen, &f, &reason),
                              0);
        CU_ASSERT_EQUAL(rawlen, len);
        CU_ASSERT(memcmp(raw, want, len) == 0);
        free(raw);
    }
    free(want);
}

vmd_ctr *parse_ok(const uint8_t *obj, size_t size)
{
    vmd_ctr *c = NULL;
    vmd_ctr_fault f;
    CU_ASSERT_EQUAL_FATAL(vmd_ctr_validate(&c, obj, size, &f), 0);
    CU_ASSERT_EQUAL(f.check, VMD_CTR_OK);
    return c;
}

/* ---- patching a valid container ---- */

/* A valid 4-slot container: RAW, ZSTD, a DEAD RAW and a RECLAIMED slot. */
uint8_t *base_container(size_t *size)
{
    uint8_t *obj = build("vm", 5, 4, 4096, 1, 0, size);
    vmd_ctr *c = parse_ok(obj, *size);
    /* slot 3 (RAW) DEAD, slot 2 (ZSTD) RECLAIMED: data_bytes loses slot 2's bytes */
    c->slots[3].state = VMD_CTR_DEAD;
    c->hdr.data_bytes -= c->slots[2].stored_len;
    c->slots[2].state = VMD_CTR_RECLAIMED;
    c->slots[2].offset = 0;
    c->slots[2].stored_len = 0;
    vmd_ctr_table_encode(c, obj + c->hdr.table_off);
    vmd_ctr_header_encode(&c->hdr, obj);
    vmd_ctr_free(c);
    vmd_ctr_free(parse_ok(obj, *size));
    return obj;
}

void put32(uint8_t *p, uint32_t v)
{
    vmd_wr w;
    vmd_wr_init(&w, p, 4);
    vmd_put_u32(&w, v);
}

void put64(uint8_t *p, uint64_t v)
{
    vmd_wr w;
    vmd_wr_init(&w, p, 8);
    vmd_put_u64(&w, v);
}

uint64_t table_off_of(const uint8_t *obj)
{
    vmd_rd r;
    vmd_rd_init(&r, obj + 24, 8);
    return vmd_get_u64(&r);
}
