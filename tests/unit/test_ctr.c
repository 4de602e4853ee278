/*
 * test_ctr.c - containers: the format, the builder and reader, the messages, and the
 * ctr_* methods on an in-memory object with the OSD's transaction semantics.
 *
 * Containers are built with the builder from three kinds of chunk: text-like
 * (compresses, stored ZSTD), random (does not, stored RAW) and a mix. Every
 * validator check is provoked by patching one field of a valid container.
 * Methods are run through mem_obj_call(), which drops the writes of a failed
 * call, so "nothing changed" is checked by comparing the object's bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "methods/cls_methods.h"
#include "methods/container_methods.h"
#include "mem_obj.h"
#include "vmd_test.h"
#include "format/container.h"
#include "format/container_msg.h"
#include "format/wire.h"

/* ---- data ---- */

static uint64_t rng_state;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void fill_random(uint8_t *p, size_t n, uint64_t seed)
{
    size_t i;
    rng_state = seed * 2654435761u + 1;
    for (i = 0; i < n; i++)
        p[i] = (uint8_t)rng();
}

/* Words from a small vocabulary: compresses several-fold, like logs or text files. */
static void fill_text(uint8_t *p, size_t n, uint64_t seed)
{
    static const char *words[] = {"the ",   "block ", "device ", "xen ",  "backup ",
                                  "chunk ", "of ",    "and ",    "ceph ", "\n"};
    size_t i = 0;
    rng_state = seed * 2654435761u + 7;
    while (i < n) {
        const char *w = words[rng() % 10];
        while (*w && i < n)
            p[i++] = (uint8_t)*w++;
    }
}

enum { TEXT, RANDOM };

/* Builds a container of nchunks chunks of size len (kind per chunk, or alternating if mixed). */
static uint8_t *build(const char *vm, uint64_t id, int nchunks, size_t len, int mixed, int kind,
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
static void expected_chunk(uint8_t *p, size_t len, int i, int mixed, int kind)
{
    int k = mixed ? i % 2 : kind;
    if (k == TEXT)
        fill_text(p, len, (uint64_t)i);
    else
        fill_random(p, len, (uint64_t)i);
}

static void check_all_slots_read_back(const uint8_t *obj, size_t size, int nchunks, size_t len,
                                      int mixed, int kind)
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

static vmd_ctr *parse_ok(const uint8_t *obj, size_t size)
{
    vmd_ctr *c = NULL;
    vmd_ctr_fault f;
    CU_ASSERT_EQUAL_FATAL(vmd_ctr_validate(&c, obj, size, &f), 0);
    CU_ASSERT_EQUAL(f.check, VMD_CTR_OK);
    return c;
}

/* ---- builder and reader ---- */

static void test_builder_compressible(void)
{
    size_t size;
    uint8_t *obj = build("vm-1", 7, 8, 16384, 0, TEXT, &size);
    vmd_ctr *c = parse_ok(obj, size);
    uint32_t i;

    CU_ASSERT_EQUAL(c->hdr.nslots, 8);
    CU_ASSERT_EQUAL(c->hdr.id, 7);
    CU_ASSERT_STRING_EQUAL(c->hdr.vm, "vm-1");
    CU_ASSERT_EQUAL(c->hdr.flags, VMD_CTR_F_SEALED);
    for (i = 0; i < 8; i++) {
        CU_ASSERT_EQUAL(c->slots[i].encoding, VMD_CTR_ZSTD);
        CU_ASSERT(c->slots[i].stored_len < c->slots[i].raw_len / 2);
        CU_ASSERT_EQUAL(c->slots[i].state, VMD_CTR_LIVE);
    }
    CU_ASSERT(size < 8 * 16384 / 2);
    check_all_slots_read_back(obj, size, 8, 16384, 0, TEXT);
    vmd_ctr_free(c);
    free(obj);
}

static void test_builder_incompressible(void)
{
    size_t size;
    uint8_t *obj = build("vm-1", 8, 5, 4096, 0, RANDOM, &size);
    vmd_ctr *c = parse_ok(obj, size);
    uint32_t i;

    for (i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(c->slots[i].encoding, VMD_CTR_RAW);
        CU_ASSERT_EQUAL(c->slots[i].stored_len, 4096);
    }
    CU_ASSERT_EQUAL(size, VMD_CTR_HEADER_SIZE + 5 * 4096 + 5 * VMD_CTR_SLOT_SIZE);
    check_all_slots_read_back(obj, size, 5, 4096, 0, RANDOM);
    vmd_ctr_free(c);
    free(obj);
}

static void test_builder_mixed_and_popular(void)
{
    size_t size;
    uint8_t *obj = build(NULL, 0xabcdef, 6, 65536, 1, 0, &size);
    vmd_ctr *c = parse_ok(obj, size);
    uint32_t i;

    CU_ASSERT_EQUAL(c->hdr.flags, VMD_CTR_F_POPULAR | VMD_CTR_F_SEALED);
    CU_ASSERT_EQUAL(c->hdr.vm_len, 0);
    for (i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(c->slots[i].encoding, i % 2 ? VMD_CTR_RAW : VMD_CTR_ZSTD);
    check_all_slots_read_back(obj, size, 6, 65536, 1, 0);
    vmd_ctr_free(c);
    free(obj);
}

static void test_builder_level0_and_fp(void)
{
    vmd_ctr_builder *b = NULL;
    uint8_t chunk[1000], fp[32], want[32], *obj = NULL;
    uint32_t slot = 99;
    size_t size;
    vmd_ctr *c;

    fill_text(chunk, sizeof(chunk), 1);
    CU_ASSERT_EQUAL_FATAL(vmd_ctr_builder_new(&b, 1, "a", 0), 0);
    CU_ASSERT_EQUAL(vmd_ctr_builder_add(b, chunk, sizeof(chunk), 0, &slot, fp), 0);
    CU_ASSERT_EQUAL(slot, 0);
    CU_ASSERT_EQUAL(vmd_ctr_sha256(chunk, sizeof(chunk), want), 0);
    CU_ASSERT(memcmp(fp, want, 32) == 0);
    CU_ASSERT_EQUAL(vmd_ctr_builder_add(b, chunk, 1, 19, &slot, NULL), 0); /* 1 byte: RAW */
    CU_ASSERT_EQUAL(slot, 1);
    CU_ASSERT_EQUAL(vmd_ctr_builder_finish(b, &obj, &size), 0);
    {
        /* the buffer was handed over: the builder takes nothing more */
        uint8_t *again = NULL;
        size_t againlen = 1;
        CU_ASSERT_EQUAL(vmd_ctr_builder_finish(b, &again, &againlen), -EINVAL);
        CU_ASSERT_PTR_NULL(again);
        CU_ASSERT_EQUAL(vmd_ctr_builder_add(b, chunk, 10, 3, NULL, NULL), -EINVAL);
    }
    c = parse_ok(obj, size);
    CU_ASSERT_EQUAL(c->slots[0].encoding, VMD_CTR_RAW);
    CU_ASSERT_EQUAL(c->slots[1].encoding, VMD_CTR_RAW);
    vmd_ctr_free(c);
    free(obj);
    vmd_ctr_builder_free(b);
}

static void test_builder_limits(void)
{
    vmd_ctr_builder *b = NULL;
    uint8_t *chunk = calloc(1, VMD_CTR_CHUNK_MAX + 1), *obj = NULL;
    size_t before, size;
    uint32_t i;

    CU_ASSERT_EQUAL(vmd_ctr_builder_new(&b, 1, "bad/vm", 0), -EINVAL);
    CU_ASSERT_PTR_NULL(b);
    CU_ASSERT_EQUAL(vmd_ctr_builder_new(&b, 1, "", 0), -EINVAL);
    CU_ASSERT_EQUAL(vmd_ctr_builder_new(&b, 1, "vm", 100), -EINVAL);
    CU_ASSERT_EQUAL_FATAL(vmd_ctr_builder_new(&b, 1, "vm", 128 + 2 * 56 + 10000), 0);
    CU_ASSERT_EQUAL(vmd_ctr_builder_add(b, chunk, 0, 3, NULL, NULL), -EINVAL);
    CU_ASSERT_EQUAL(vmd_ctr_builder_add(b, chunk, VMD_CTR_CHUNK_MAX + 1, 3, NULL, NULL), -EINVAL);
    CU_ASSERT_EQUAL(vmd_ctr_builder_add(b, chunk, 10, 1000, NULL, NULL), -EINVAL);
    fill_random(chunk, 8000, 3);
    CU_ASSERT_EQUAL(vmd_ctr_builder_add(b, chunk, 8000, 3, NULL, NULL), 0);
    before = vmd_ctr_builder_size(b);
    /* random 8000 bytes do not fit in the 2000 left: refused, nothing added */
    CU_ASSERT_EQUAL(vmd_ctr_builder_add(b, chunk, 8000, 3, NULL, NULL), -ENOSPC);
    CU_ASSERT_EQUAL(vmd_ctr_builder_add(b, chunk, 8000, 0, NULL, NULL), -ENOSPC);
    CU_ASSERT_EQUAL(vmd_ctr_builder_size(b), before);
    CU_ASSERT_EQUAL(vmd_ctr_builder_nslots(b), 1);
    /* zeros compress into the room that is left: accepted */
    memset(chunk, 0, 8000);
    CU_ASSERT_EQUAL(vmd_ctr_builder_add(b, chunk, 8000, 3, NULL, NULL), 0);
    CU_ASSERT(vmd_ctr_builder_size(b) <= 128 + 2 * 56 + 10000);
    CU_ASSERT_EQUAL(vmd_ctr_builder_finish(b, &obj, &size), 0);
    vmd_ctr_free(parse_ok(obj, size));
    free(obj);
    vmd_ctr_builder_free(b);

    /* the slot limit: 65,536 one-byte chunks, then no more */
    CU_ASSERT_EQUAL_FATAL(vmd_ctr_builder_new(&b, 2, NULL, 0), 0);
    for (i = 0; i < VMD_CTR_MAX_SLOTS; i++)
        if (vmd_ctr_builder_add(b, &i, 1, 0, NULL, NULL) != 0)
            break;
    CU_ASSERT_EQUAL(i, VMD_CTR_MAX_SLOTS);
    CU_ASSERT_EQUAL(vmd_ctr_builder_add(b, chunk, 1, 0, NULL, NULL), -ENOSPC);
    CU_ASSERT_EQUAL(vmd_ctr_builder_finish(b, &obj, &size), 0);
    vmd_ctr_free(parse_ok(obj, size));
    free(obj);
    vmd_ctr_builder_free(b);
    free(chunk);
}

static void test_empty_container(void)
{
    vmd_ctr_builder *b = NULL;
    uint8_t *obj = NULL;
    size_t size;
    vmd_ctr *c;

    CU_ASSERT_EQUAL_FATAL(vmd_ctr_builder_new(&b, 3, "vm", 0), 0);
    CU_ASSERT_EQUAL(vmd_ctr_builder_finish(b, &obj, &size), 0);
    CU_ASSERT_EQUAL(size, VMD_CTR_HEADER_SIZE);
    c = parse_ok(obj, size);
    CU_ASSERT_EQUAL(c->hdr.nslots, 0);
    vmd_ctr_free(c);
    free(obj);
    vmd_ctr_builder_free(b);
}

static void test_oid_names(void)
{
    char buf[VMD_CTR_OID_MAX], vm[VMD_CTR_VM_MAX + 1];
    uint64_t id = 0;
    int popular = -1;

    CU_ASSERT_EQUAL(vmd_ctr_oid(buf, sizeof(buf), "dom.1:a-b_c", 0x1234), 0);
    CU_ASSERT_STRING_EQUAL(buf, "c.dom.1:a-b_c.0000000000001234");
    CU_ASSERT_EQUAL(vmd_ctr_oid_parse(buf, vm, &id, &popular), 0);
    CU_ASSERT_STRING_EQUAL(vm, "dom.1:a-b_c");
    CU_ASSERT_EQUAL(id, 0x1234);
    CU_ASSERT_EQUAL(popular, 0);
    CU_ASSERT_EQUAL(vmd_ctr_oid(buf, sizeof(buf), NULL, 0xffffffffffffffffull), 0);
    CU_ASSERT_STRING_EQUAL(buf, "p.ffffffffffffffff");
    CU_ASSERT_EQUAL(vmd_ctr_oid_parse(buf, vm, &id, &popular), 0);
    CU_ASSERT_EQUAL(popular, 1);
    CU_ASSERT_EQUAL(id, 0xffffffffffffffffull);
    CU_ASSERT_STRING_EQUAL(vm, "");
    CU_ASSERT_EQUAL(vmd_ctr_oid(buf, sizeof(buf), "a b", 1), -EINVAL);
    CU_ASSERT_EQUAL(vmd_ctr_oid(buf, 5, "vm", 1), -ERANGE);
    CU_ASSERT_EQUAL(vmd_ctr_oid_parse("c.vm.000000000000123", vm, &id, &popular), -EINVAL);
    CU_ASSERT_EQUAL(vmd_ctr_oid_parse("c.vm.000000000000123G", vm, &id, &popular), -EINVAL);
    CU_ASSERT_EQUAL(vmd_ctr_oid_parse("c..0000000000000123", vm, &id, &popular), -EINVAL);
    CU_ASSERT_EQUAL(vmd_ctr_oid_parse("x.vm.0000000000000123", vm, &id, &popular), -EINVAL);
    CU_ASSERT_EQUAL(vmd_ctr_oid_parse("p.00000000000001230", vm, &id, &popular), -EINVAL);
}

/* ---- validator: every check ---- */

/* A valid 4-slot container: RAW, ZSTD, a DEAD RAW and a RECLAIMED slot. */
static uint8_t *base_container(size_t *size)
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

static void put32(uint8_t *p, uint32_t v)
{
    vmd_wr w;
    vmd_wr_init(&w, p, 4);
    vmd_put_u32(&w, v);
}

static void put64(uint8_t *p, uint64_t v)
{
    vmd_wr w;
    vmd_wr_init(&w, p, 8);
    vmd_put_u64(&w, v);
}

static uint64_t table_off_of(const uint8_t *obj)
{
    vmd_rd r;
    vmd_rd_init(&r, obj + 24, 8);
    return vmd_get_u64(&r);
}

/* Expects obj (len) to fail validation at check (and slot). */
static void expect_fault(const uint8_t *obj, size_t len, vmd_ctr_check check, uint32_t slot)
{
    vmd_ctr *c = (vmd_ctr *)1;
    vmd_ctr_fault f;
    CU_ASSERT_EQUAL(vmd_ctr_validate(&c, obj, len, &f), -EIO);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_EQUAL(f.check, check);
    CU_ASSERT_EQUAL(f.slot, slot);
    if (f.check != check)
        fprintf(stderr, "\n  expected check '%s', got '%s'\n", vmd_ctr_check_name(check),
                vmd_ctr_check_name(f.check));
}

/* Copies the base container, applies patch at byte off (n bytes of v LE) and expects check. */
static void expect_patch(size_t off, int n, uint64_t v, vmd_ctr_check check, uint32_t slot)
{
    size_t size;
    uint8_t *obj = base_container(&size);
    if (n == 1)
        obj[off] = (uint8_t)v;
    else if (n == 4)
        put32(obj + off, (uint32_t)v);
    else
        put64(obj + off, v);
    expect_fault(obj, size, check, slot);
    free(obj);
}

static size_t slot_at(int i)
{
    size_t size;
    uint8_t *obj = base_container(&size);
    size_t off = (size_t)table_off_of(obj) + (size_t)i * VMD_CTR_SLOT_SIZE;
    free(obj);
    return off;
}

static void test_validator_header_checks(void)
{
    size_t size;
    uint8_t *obj = base_container(&size), *big;

    expect_fault(obj, 100, VMD_CTR_CHK_TOO_SHORT, UINT32_MAX);
    big = calloc(1, VMD_CTR_MAX_SIZE + 1);
    memcpy(big, obj, size);
    expect_fault(big, VMD_CTR_MAX_SIZE + 1, VMD_CTR_CHK_TOO_LARGE, UINT32_MAX);
    free(big);
    free(obj);
    expect_patch(0, 1, 'X', VMD_CTR_CHK_MAGIC, UINT32_MAX);
    expect_patch(4, 1, 0, VMD_CTR_CHK_VERSION, UINT32_MAX);
    expect_patch(5, 1, 0, VMD_CTR_CHK_VERSION, UINT32_MAX);
    expect_patch(5, 1, 2, VMD_CTR_CHK_VERSION, UINT32_MAX); /* compat > version */
    expect_patch(6, 1, 0x06, VMD_CTR_CHK_FLAGS, UINT32_MAX);
    expect_patch(12, 1, 1, VMD_CTR_CHK_RESERVED, UINT32_MAX);
    expect_patch(36, 1, 1, VMD_CTR_CHK_RESERVED, UINT32_MAX);
    expect_patch(127, 1, 1, VMD_CTR_CHK_RESERVED, UINT32_MAX);
    expect_patch(8, 4, VMD_CTR_MAX_SLOTS + 1, VMD_CTR_CHK_NSLOTS, UINT32_MAX);
    expect_patch(32, 4, 4 * 56 + 1, VMD_CTR_CHK_TABLE_LEN, UINT32_MAX);
    expect_patch(8, 4, 3, VMD_CTR_CHK_TABLE_LEN, UINT32_MAX);
    expect_patch(24, 8, 100, VMD_CTR_CHK_TABLE_OFF, UINT32_MAX);
    expect_patch(24, 8, 0xffffffffffffff00ull, VMD_CTR_CHK_OBJECT_SIZE, UINT32_MAX);
    expect_patch(48, 1, 0, VMD_CTR_CHK_VM, UINT32_MAX);  /* VM container without a VM */
    expect_patch(48, 1, 65, VMD_CTR_CHK_VM, UINT32_MAX); /* longer than 64 */
    expect_patch(49, 1, '/', VMD_CTR_CHK_VM, UINT32_MAX);
    expect_patch(60, 1, 'x', VMD_CTR_CHK_VM, UINT32_MAX); /* padding */
    expect_patch(6, 1, 0x03, VMD_CTR_CHK_VM, UINT32_MAX); /* POPULAR with a VM */
    expect_patch(40, 8, 1, VMD_CTR_CHK_DATA_BYTES, UINT32_MAX);

    /* one byte more than the table ends at */
    obj = base_container(&size);
    big = malloc(size + 1);
    memcpy(big, obj, size);
    big[size] = 0;
    expect_fault(big, size + 1, VMD_CTR_CHK_OBJECT_SIZE, UINT32_MAX);
    free(big);
    free(obj);
}

static void test_validator_slot_checks(void)
{
    size_t s0 = slot_at(0), s1 = slot_at(1), s2 = slot_at(2), s3 = slot_at(3);
    size_t size;
    uint8_t *obj;
    vmd_rd r;
    uint64_t off0;

    expect_patch(s1 + 50, 1, 1, VMD_CTR_CHK_SLOT_RESERVED, 1);
    expect_patch(s1 + 55, 1, 1, VMD_CTR_CHK_SLOT_RESERVED, 1);
    expect_patch(s0 + 49, 1, 3, VMD_CTR_CHK_SLOT_STATE, 0);
    expect_patch(s0 + 48, 1, 2, VMD_CTR_CHK_SLOT_ENCODING, 0);
    expect_patch(s1 + 44, 4, 0, VMD_CTR_CHK_SLOT_RAW_LEN, 1);
    expect_patch(s1 + 44, 4, VMD_CTR_CHUNK_MAX + 1, VMD_CTR_CHK_SLOT_RAW_LEN, 1);
    expect_patch(s1 + 40, 4, 4095, VMD_CTR_CHK_SLOT_RAW_SIZE, 1); /* slot 1 is RAW */
    expect_patch(s3 + 40, 4, 4097, VMD_CTR_CHK_SLOT_RAW_SIZE, 3); /* DEAD RAW too */
    expect_patch(s2 + 32, 8, 128, VMD_CTR_CHK_SLOT_RECLAIMED, 2);
    expect_patch(s2 + 40, 4, 1, VMD_CTR_CHK_SLOT_RECLAIMED, 2);
    expect_patch(s0 + 32, 8, 100, VMD_CTR_CHK_SLOT_BOUNDS, 0);
    expect_patch(s3 + 32, 8, s0 - 10, VMD_CTR_CHK_SLOT_BOUNDS, 3); /* runs into the table */
    expect_patch(s0 + 32, 8, 0xfffffffffffffff0ull, VMD_CTR_CHK_SLOT_BOUNDS, 0);
    expect_patch(s0 + 40, 4, 0, VMD_CTR_CHK_SLOT_BOUNDS, 0); /* ZSTD slot 0 without bytes */

    /* slot 3 moved onto slot 0's bytes */
    obj = base_container(&size);
    vmd_rd_init(&r, obj + s0 + 32, 8);
    off0 = vmd_get_u64(&r);
    put64(obj + s3 + 32, off0 + 1);
    expect_fault(obj, size, VMD_CTR_CHK_SLOT_OVERLAP, 3);
    free(obj);
    CU_ASSERT_STRING_EQUAL(vmd_ctr_check_name(VMD_CTR_CHK_MAGIC), "magic");
    CU_ASSERT_STRING_EQUAL(vmd_ctr_check_name((vmd_ctr_check)999), "unknown check");
}

/* ---- chunk verification ---- */

static void test_chunk_decode_reasons(void)
{
    size_t size;
    uint8_t *obj = build("vm", 1, 2, 8192, 1, 0, &size), *raw = NULL;
    vmd_ctr *c = parse_ok(obj, size);
    vmd_ctr_slot s;
    uint8_t buf[8192];
    size_t rawlen;
    vmd_ctr_fault f;
    int reason;

    /* slot 0 is ZSTD, slot 1 RAW */
    CU_ASSERT_EQUAL(
        vmd_ctr_chunk_decode(&c->slots[0], obj + c->slots[0].offset, buf, NULL, &reason), 0);
    obj[c->slots[1].offset + 100] ^= 1;
    CU_ASSERT_EQUAL(vmd_ctr_read_slot(obj, size, 1, &raw, &rawlen, &f, &reason), -EIO);
    CU_ASSERT_EQUAL(reason, VMD_CTR_BAD_HASH);
    CU_ASSERT_EQUAL(f.check, VMD_CTR_OK);
    CU_ASSERT_PTR_NULL(raw);
    /* a zstd frame with a broken magic number */
    obj[c->slots[0].offset] ^= 0xff;
    CU_ASSERT_EQUAL(
        vmd_ctr_chunk_decode(&c->slots[0], obj + c->slots[0].offset, buf, NULL, &reason), -EIO);
    CU_ASSERT_EQUAL(reason, VMD_CTR_BAD_DECOMPRESS);
    obj[c->slots[0].offset] ^= 0xff;
    /* the frame says 8192 bytes, the slot expects fewer */
    s = c->slots[0];
    s.raw_len = 8000;
    CU_ASSERT_EQUAL(vmd_ctr_chunk_decode(&s, obj + s.offset, buf, NULL, &reason), -EIO);
    CU_ASSERT_EQUAL(reason, VMD_CTR_BAD_LENGTH);
    /* a frame cut short */
    s = c->slots[0];
    s.stored_len -= 3;
    CU_ASSERT_EQUAL(vmd_ctr_chunk_decode(&s, obj + s.offset, buf, NULL, &reason), -EIO);
    CU_ASSERT_EQUAL(reason, VMD_CTR_BAD_DECOMPRESS);
    /* not LIVE, out of range */
    CU_ASSERT_EQUAL(vmd_ctr_read_slot(obj, size, 2, &raw, &rawlen, &f, &reason), -ERANGE);
    vmd_ctr_free(c);
    free(obj);
    obj = base_container(&size);
    CU_ASSERT_EQUAL(vmd_ctr_read_slot(obj, size, 3, &raw, &rawlen, &f, &reason), -ENOENT);
    CU_ASSERT_EQUAL(vmd_ctr_read_slot(obj, size, 2, &raw, &rawlen, &f, &reason), -ENOENT);
    CU_ASSERT_EQUAL(vmd_ctr_read_slot(obj, 100, 0, &raw, &rawlen, &f, &reason), -EIO);
    CU_ASSERT_EQUAL(f.check, VMD_CTR_CHK_TOO_SHORT);
    free(obj);
}

/* ---- messages ---- */

static void test_messages_round_trip(void)
{
    uint8_t buf[256], bitmap[2] = {0x05, 0x01};
    size_t len;
    vmd_ctr_scrub_req sq = {17}, sq2;
    vmd_ctr_bad bad[2] = {{3, 1}, {9, 2}};
    vmd_ctr_scrub_reply sr = {10, 8, 1, 1, 5, 2, bad}, sr2;
    vmd_ctr_compact_req cq, cq2;
    vmd_ctr_compact_reply cr = {1000, 600, 3, 0, 6}, cr2;
    vmd_ctr_stats_reply st, st2;

    CU_ASSERT_EQUAL(vmd_ctr_scrub_req_encode(&sq, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(vmd_ctr_scrub_req_decode(&sq2, buf, len), 0);
    CU_ASSERT_EQUAL(sq2.max_bad, 17);

    CU_ASSERT_EQUAL(vmd_ctr_scrub_reply_encode(&sr, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(len, VMD_CTR_SCRUB_REPLY_SIZE(2));
    CU_ASSERT_EQUAL(vmd_ctr_scrub_reply_decode(&sr2, buf, len, 2), 0);
    CU_ASSERT_EQUAL(sr2.nbad, 5);
    CU_ASSERT_EQUAL(sr2.nlist, 2);
    CU_ASSERT_EQUAL(sr2.bad[1].slot, 9);
    CU_ASSERT_EQUAL(sr2.bad[1].reason, 2);
    vmd_ctr_scrub_reply_clear(&sr2);
    /* asked for 3, got 2 listed of 5: truncated */
    CU_ASSERT_EQUAL(vmd_ctr_scrub_reply_decode(&sr2, buf, len, 3), -EINVAL);
    CU_ASSERT_EQUAL(vmd_ctr_scrub_reply_decode(&sr2, buf, len, 4097), -EINVAL);

    memset(&cq, 0, sizeof(cq));
    memset(cq.op_id, 0xaa, 16);
    cq.mode = 1;
    cq.nslots = 9;
    cq.bitmap = bitmap;
    CU_ASSERT_EQUAL(vmd_ctr_compact_req_encode(&cq, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(len, VMD_CTR_COMPACT_REQ_SIZE(9));
    CU_ASSERT_EQUAL(vmd_ctr_compact_req_decode(&cq2, buf, len), 0);
    CU_ASSERT_EQUAL(cq2.mode, 1);
    CU_ASSERT_EQUAL(cq2.nslots, 9);
    CU_ASSERT(memcmp(cq2.op_id, cq.op_id, 16) == 0);
    CU_ASSERT(vmd_ctr_bitmap_test(cq2.bitmap, 0) && !vmd_ctr_bitmap_test(cq2.bitmap, 1) &&
              vmd_ctr_bitmap_test(cq2.bitmap, 2) && vmd_ctr_bitmap_test(cq2.bitmap, 8));
    bitmap[1] = 0x03; /* bit 9 of 9 slots */
    CU_ASSERT_EQUAL(vmd_ctr_compact_req_encode(&cq, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(vmd_ctr_compact_req_decode(&cq2, buf, len), -EINVAL);

    CU_ASSERT_EQUAL(vmd_ctr_compact_reply_encode(&cr, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(vmd_ctr_compact_reply_decode(&cr2, buf, len), 0);
    CU_ASSERT(cr2.size_before == 1000 && cr2.size_after == 600 && cr2.live == 3 && cr2.dead == 0 &&
              cr2.reclaimed == 6);

    CU_ASSERT_EQUAL(vmd_ctr_stats_req_encode(buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(len, 6);
    CU_ASSERT_EQUAL(vmd_ctr_stats_req_decode(buf, len), 0);
    CU_ASSERT_EQUAL(vmd_ctr_stats_req_decode(buf, 0), -EINVAL);
    memset(&st, 0, sizeof(st));
    st.nslots = 3;
    st.live = 2;
    st.dead = 1;
    st.live_stored = 10;
    st.dead_bytes = 5;
    st.object_size = 500;
    st.flags = VMD_CTR_F_SEALED;
    st.id = 77;
    strcpy(st.vm, "vm-x");
    CU_ASSERT_EQUAL(vmd_ctr_stats_reply_encode(&st, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(vmd_ctr_stats_reply_decode(&st2, buf, len), 0);
    CU_ASSERT(memcmp(&st, &st2, sizeof(st)) == 0);
    st.live = 3; /* counts no longer add up */
    CU_ASSERT_EQUAL(vmd_ctr_stats_reply_encode(&st, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(vmd_ctr_stats_reply_decode(&st2, buf, len), -EINVAL);
}

static void test_messages_malformed(void)
{
    uint8_t buf[64], bitmap[1] = {1};
    size_t len;
    vmd_ctr_scrub_req sq = {4096}, sq2;
    vmd_ctr_compact_req cq, cq2;

    CU_ASSERT_EQUAL(vmd_ctr_scrub_req_encode(&sq, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(vmd_ctr_scrub_req_decode(&sq2, buf, len), 0);
    CU_ASSERT_EQUAL(vmd_ctr_scrub_req_decode(&sq2, buf, len - 1), -EINVAL);
    buf[len] = 0;
    CU_ASSERT_EQUAL(vmd_ctr_scrub_req_decode(&sq2, buf, len + 1), -EINVAL); /* trailing */
    sq.max_bad = 4097;
    CU_ASSERT_EQUAL(vmd_ctr_scrub_req_encode(&sq, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(vmd_ctr_scrub_req_decode(&sq2, buf, len), -EINVAL);
    buf[0] = 2;
    buf[1] = 2; /* version 2, compat 2: not ours */
    CU_ASSERT_EQUAL(vmd_ctr_scrub_req_decode(&sq2, buf, len), -EPROTO);
    CU_ASSERT_EQUAL(vmd_ctr_scrub_req_decode(&sq2, NULL, 0), -EINVAL);

    memset(&cq, 0, sizeof(cq));
    cq.mode = 2;
    cq.nslots = 1;
    cq.bitmap = bitmap;
    CU_ASSERT_EQUAL(vmd_ctr_compact_req_encode(&cq, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(vmd_ctr_compact_req_decode(&cq2, buf, len), -EINVAL);
    cq.mode = 0;
    CU_ASSERT_EQUAL(vmd_ctr_compact_req_encode(&cq, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(vmd_ctr_compact_req_decode(&cq2, buf, len - 1), -EINVAL);
    put32(buf + 6 + 17, VMD_CTR_MAX_SLOTS + 1);
    CU_ASSERT_EQUAL(vmd_ctr_compact_req_decode(&cq2, buf, len), -EINVAL);
    /* version 2 with compat 1: its extra payload is ignored */
    CU_ASSERT_EQUAL(vmd_ctr_compact_req_encode(&cq, buf, sizeof(buf), &len), 0);
    buf[0] = 2;
    buf[len] = 0xee;
    put32(buf + 2, (uint32_t)(len - 6 + 1));
    CU_ASSERT_EQUAL(vmd_ctr_compact_req_decode(&cq2, buf, len + 1), 0);
}

/* ---- methods on an in-memory object ---- */

static mem_obj *obj_with(const uint8_t *data, size_t len)
{
    mem_obj *m = mem_obj_new();
    CU_ASSERT_FATAL(m != NULL);
    CU_ASSERT_EQUAL_FATAL(mem_obj_put_data(m, data, len), 0);
    return m;
}

static int scrub(mem_obj *m, uint32_t max_bad, vmd_ctr_scrub_reply *r)
{
    vmd_ctr_scrub_req q = {max_bad};
    uint8_t req[16], *out = NULL;
    size_t len, outlen;
    int err;

    memset(r, 0, sizeof(*r));
    CU_ASSERT_EQUAL_FATAL(vmd_ctr_scrub_req_encode(&q, req, sizeof(req), &len), 0);
    err = mem_obj_call(m, vmd_m_ctr_scrub, req, len, &out, &outlen);
    if (!err)
        CU_ASSERT_EQUAL(vmd_ctr_scrub_reply_decode(r, out, outlen, max_bad), 0);
    free(out);
    return err;
}

static int compact(mem_obj *m, int mode, uint32_t nslots, const uint8_t *bitmap, uint8_t op,
                   vmd_ctr_compact_reply *r)
{
    vmd_ctr_compact_req q;
    uint8_t *req = malloc(VMD_CTR_COMPACT_REQ_SIZE(nslots)), *out = NULL;
    size_t len, outlen;
    int err;

    memset(&q, 0, sizeof(q));
    memset(q.op_id, op, sizeof(q.op_id));
    q.mode = (uint8_t)mode;
    q.nslots = nslots;
    q.bitmap = bitmap;
    CU_ASSERT_EQUAL_FATAL(
        vmd_ctr_compact_req_encode(&q, req, VMD_CTR_COMPACT_REQ_SIZE(nslots), &len), 0);
    err = mem_obj_call(m, vmd_m_ctr_compact, req, len, &out, &outlen);
    if (!err)
        CU_ASSERT_EQUAL(vmd_ctr_compact_reply_decode(r, out, outlen), 0);
    free(out);
    free(req);
    return err;
}

static int stats(mem_obj *m, vmd_ctr_stats_reply *r)
{
    uint8_t req[8], *out = NULL;
    size_t len, outlen;
    int err;

    CU_ASSERT_EQUAL_FATAL(vmd_ctr_stats_req_encode(req, sizeof(req), &len), 0);
    err = mem_obj_call(m, vmd_m_ctr_stats, req, len, &out, &outlen);
    if (!err)
        CU_ASSERT_EQUAL(vmd_ctr_stats_reply_decode(r, out, outlen), 0);
    free(out);
    return err;
}

/* The object's current bytes, copied (to compare before/after a call). */
static uint8_t *snapshot(const mem_obj *m, size_t *len)
{
    uint8_t *p = malloc(mem_obj_size(m) + 1);
    memcpy(p, mem_obj_data(m), mem_obj_size(m));
    *len = mem_obj_size(m);
    return p;
}

static int unchanged(const mem_obj *m, const uint8_t *snap, size_t len)
{
    return mem_obj_size(m) == len && memcmp(mem_obj_data(m), snap, len) == 0;
}

static void test_scrub_clean_and_corrupt(void)
{
    size_t size;
    uint8_t *obj = build("vm", 1, 6, 8192, 1, 0, &size);
    vmd_ctr *c = parse_ok(obj, size);
    vmd_ctr_scrub_reply r;
    mem_obj *m = obj_with(obj, size);

    CU_ASSERT_EQUAL(scrub(m, 16, &r), 0);
    CU_ASSERT_EQUAL(r.nslots, 6);
    CU_ASSERT_EQUAL(r.live, 6);
    CU_ASSERT_EQUAL(r.nbad, 0);
    vmd_ctr_scrub_reply_clear(&r);
    mem_obj_free(m);

    /* slot 3: RAW, one byte flipped; slot 4: ZSTD frame magic broken; slot 2: ZSTD literal */
    obj[c->slots[3].offset + 4000] ^= 0x40;
    obj[c->slots[4].offset + 1] ^= 0xff;
    m = obj_with(obj, size);
    CU_ASSERT_EQUAL(scrub(m, 16, &r), 0);
    CU_ASSERT_EQUAL(r.nbad, 2);
    CU_ASSERT_EQUAL_FATAL(r.nlist, 2);
    CU_ASSERT_EQUAL(r.bad[0].slot, 3);
    CU_ASSERT_EQUAL(r.bad[0].reason, VMD_CTR_BAD_HASH);
    CU_ASSERT_EQUAL(r.bad[1].slot, 4);
    CU_ASSERT_EQUAL(r.bad[1].reason, VMD_CTR_BAD_DECOMPRESS);
    vmd_ctr_scrub_reply_clear(&r);
    /* the list is cut at max_bad, the count is not */
    CU_ASSERT_EQUAL(scrub(m, 1, &r), 0);
    CU_ASSERT_EQUAL(r.nbad, 2);
    CU_ASSERT_EQUAL(r.nlist, 1);
    vmd_ctr_scrub_reply_clear(&r);
    CU_ASSERT_EQUAL(scrub(m, 0, &r), 0);
    CU_ASSERT_EQUAL(r.nbad, 2);
    CU_ASSERT_EQUAL(r.nlist, 0);
    vmd_ctr_scrub_reply_clear(&r);
    mem_obj_free(m);

    /* a zstd frame whose content decodes to other bytes: hash mismatch */
    obj[c->slots[4].offset + 1] ^= 0xff;
    obj[c->slots[3].offset + 4000] ^= 0x40;
    obj[c->slots[2].offset + c->slots[2].stored_len - 20] ^= 0x01;
    m = obj_with(obj, size);
    CU_ASSERT_EQUAL(scrub(m, 16, &r), 0);
    CU_ASSERT_EQUAL(r.nbad, 1);
    CU_ASSERT_EQUAL(r.bad[0].slot, 2);
    CU_ASSERT(r.bad[0].reason == VMD_CTR_BAD_HASH || r.bad[0].reason == VMD_CTR_BAD_DECOMPRESS);
    vmd_ctr_scrub_reply_clear(&r);
    mem_obj_free(m);
    vmd_ctr_free(c);
    free(obj);
}

static void test_scrub_skips_dead(void)
{
    size_t size;
    uint8_t *obj = base_container(&size);
    vmd_ctr *c = parse_ok(obj, size);
    vmd_ctr_scrub_reply r;
    mem_obj *m;

    obj[c->slots[3].offset] ^= 1; /* slot 3 is DEAD: not verified */
    m = obj_with(obj, size);
    CU_ASSERT_EQUAL(scrub(m, 16, &r), 0);
    CU_ASSERT_EQUAL(r.live, 2);
    CU_ASSERT_EQUAL(r.dead, 1);
    CU_ASSERT_EQUAL(r.reclaimed, 1);
    CU_ASSERT_EQUAL(r.nbad, 0);
    vmd_ctr_scrub_reply_clear(&r);
    mem_obj_free(m);
    vmd_ctr_free(c);
    free(obj);
}

static void test_stats(void)
{
    size_t size;
    uint8_t *obj = base_container(&size);
    vmd_ctr *c = parse_ok(obj, size);
    vmd_ctr_stats_reply r;
    mem_obj *m = obj_with(obj, size);

    CU_ASSERT_EQUAL(stats(m, &r), 0);
    CU_ASSERT_EQUAL(r.nslots, 4);
    CU_ASSERT_EQUAL(r.live, 2);
    CU_ASSERT_EQUAL(r.dead, 1);
    CU_ASSERT_EQUAL(r.reclaimed, 1);
    CU_ASSERT_EQUAL(r.live_stored, c->slots[0].stored_len + c->slots[1].stored_len);
    CU_ASSERT_EQUAL(r.live_raw, 2 * 4096);
    CU_ASSERT_EQUAL(r.dead_bytes, 4096);
    CU_ASSERT_EQUAL(r.object_size, size);
    CU_ASSERT_EQUAL(r.flags, VMD_CTR_F_SEALED);
    CU_ASSERT_EQUAL(r.id, 5);
    CU_ASSERT_STRING_EQUAL(r.vm, "vm");
    mem_obj_free(m);
    vmd_ctr_free(c);
    free(obj);
}

/* Every LIVE slot of the object still reads back verified, with the bytes build() gave it. */
static void check_live_slots(const mem_obj *m, int nchunks, size_t len, int mixed, int kind)
{
    vmd_ctr *c = parse_ok(mem_obj_data(m), mem_obj_size(m));
    uint8_t *want = malloc(len), *raw = NULL;
    size_t rawlen;
    vmd_ctr_fault f;
    int i, reason;

    CU_ASSERT_EQUAL(c->hdr.nslots, (uint32_t)nchunks);
    for (i = 0; i < nchunks; i++) {
        if (c->slots[i].state != VMD_CTR_LIVE)
            continue;
        expected_chunk(want, len, i, mixed, kind);
        CU_ASSERT_EQUAL_FATAL(vmd_ctr_read_slot(mem_obj_data(m), mem_obj_size(m), (uint32_t)i, &raw,
                                                &rawlen, &f, &reason),
                              0);
        CU_ASSERT(rawlen == len && memcmp(raw, want, len) == 0);
        free(raw);
    }
    free(want);
    vmd_ctr_free(c);
}

static uint8_t slot_state(const mem_obj *m, uint32_t slot)
{
    vmd_ctr *c = parse_ok(mem_obj_data(m), mem_obj_size(m));
    uint8_t s = c->slots[slot].state;
    vmd_ctr_free(c);
    return s;
}

static int op_xattr_is(mem_obj *m, uint8_t op)
{
    vmd_obj *o = mem_obj_handle(m);
    uint8_t *val = NULL, want[16];
    size_t len = 0;
    int ok;

    memset(want, op, 16);
    if (o->ops->getxattr(o->h, "vmd.op", &val, &len) != 0)
        return 0;
    ok = len == 16 && memcmp(val, want, 16) == 0;
    free(val);
    return ok;
}

static void test_compact_mode0(void)
{
    size_t size, snaplen;
    uint8_t *obj = build("vm", 1, 10, 8192, 1, 0, &size), *snap;
    uint8_t bitmap[2] = {0xff ^ 0x06, 0x03}; /* slots 1 and 2 go */
    vmd_ctr_compact_reply r;
    mem_obj *m = obj_with(obj, size);

    CU_ASSERT_EQUAL(compact(m, 0, 10, bitmap, 1, &r), 0);
    CU_ASSERT_EQUAL(r.size_before, size);
    CU_ASSERT_EQUAL(r.size_after, size);
    CU_ASSERT_EQUAL(r.live, 8);
    CU_ASSERT_EQUAL(r.dead, 2);
    CU_ASSERT_EQUAL(r.reclaimed, 0);
    CU_ASSERT_EQUAL(mem_obj_size(m), size);
    CU_ASSERT_EQUAL(slot_state(m, 1), VMD_CTR_DEAD);
    CU_ASSERT_EQUAL(slot_state(m, 2), VMD_CTR_DEAD);
    CU_ASSERT_EQUAL(slot_state(m, 3), VMD_CTR_LIVE);
    CU_ASSERT(op_xattr_is(m, 1));
    /* chunk bytes are untouched: only the table changed */
    CU_ASSERT(memcmp(mem_obj_data(m) + 128, obj + 128, table_off_of(obj) - 128) == 0);
    check_live_slots(m, 10, 8192, 1, 0);

    /* replay: no change at all */
    snap = snapshot(m, &snaplen);
    CU_ASSERT_EQUAL(compact(m, 0, 10, bitmap, 1, &r), 0);
    CU_ASSERT(unchanged(m, snap, snaplen));
    CU_ASSERT_EQUAL(r.dead, 2);
    CU_ASSERT_EQUAL(r.size_before, r.size_after);
    free(snap);

    /* marking a DEAD slot live again: stale view, nothing changes */
    snap = snapshot(m, &snaplen);
    bitmap[0] = 0xff;
    CU_ASSERT_EQUAL(compact(m, 0, 10, bitmap, 2, &r), -ESTALE);
    CU_ASSERT(unchanged(m, snap, snaplen));
    CU_ASSERT(op_xattr_is(m, 1));
    /* a bitmap for another number of slots */
    CU_ASSERT_EQUAL(compact(m, 0, 9, bitmap, 2, &r), -EINVAL);
    CU_ASSERT(unchanged(m, snap, snaplen));
    free(snap);
    mem_obj_free(m);
    free(obj);
}

static void test_compact_mode1(void)
{
    size_t size, snaplen;
    uint8_t *obj = build("vm", 1, 10, 8192, 1, 0, &size), *snap;
    uint8_t bitmap[2] = {0xff ^ 0x22, 0x01}; /* slots 1, 5 and 9 go */
    vmd_ctr *before = parse_ok(obj, size), *after;
    vmd_ctr_compact_reply r;
    vmd_ctr_stats_reply st;
    uint64_t gone;
    mem_obj *m = obj_with(obj, size);
    uint32_t i;

    gone = before->slots[1].stored_len + before->slots[5].stored_len + before->slots[9].stored_len;
    CU_ASSERT_EQUAL(compact(m, 1, 10, bitmap, 3, &r), 0);
    CU_ASSERT_EQUAL(r.size_before, size);
    CU_ASSERT_EQUAL(r.size_after, size - gone);
    CU_ASSERT_EQUAL(mem_obj_size(m), size - gone);
    CU_ASSERT_EQUAL(r.live, 7);
    CU_ASSERT_EQUAL(r.reclaimed, 3);
    after = parse_ok(mem_obj_data(m), mem_obj_size(m));
    for (i = 0; i < 10; i++) {
        /* same slot numbers, same fingerprints */
        CU_ASSERT(memcmp(after->slots[i].fp, before->slots[i].fp, 32) == 0);
        CU_ASSERT_EQUAL(after->slots[i].state,
                        (i == 1 || i == 5 || i == 9) ? VMD_CTR_RECLAIMED : VMD_CTR_LIVE);
    }
    vmd_ctr_free(after);
    check_live_slots(m, 10, 8192, 1, 0);
    CU_ASSERT(op_xattr_is(m, 3));

    /* replay: byte for byte the same */
    snap = snapshot(m, &snaplen);
    CU_ASSERT_EQUAL(compact(m, 1, 10, bitmap, 3, &r), 0);
    CU_ASSERT(unchanged(m, snap, snaplen));
    CU_ASSERT_EQUAL(r.size_before, r.size_after);
    CU_ASSERT_EQUAL(compact(m, 1, 10, bitmap, 4, &r), 0); /* another op id, same result */
    CU_ASSERT(unchanged(m, snap, snaplen));
    CU_ASSERT(op_xattr_is(m, 4));
    free(snap);
    CU_ASSERT_EQUAL(stats(m, &st), 0);
    CU_ASSERT_EQUAL(st.dead_bytes, 0);
    CU_ASSERT_EQUAL(st.reclaimed, 3);
    mem_obj_free(m);
    vmd_ctr_free(before);
    free(obj);
}

static void test_compact_mode0_then_mode1(void)
{
    size_t size;
    uint8_t *obj = build(NULL, 9, 4, 4096, 1, 0, &size);
    uint8_t bitmap[1] = {0x0d}; /* slot 1 goes */
    vmd_ctr_compact_reply r;
    mem_obj *m = obj_with(obj, size);

    CU_ASSERT_EQUAL(compact(m, 0, 4, bitmap, 1, &r), 0);
    CU_ASSERT_EQUAL(slot_state(m, 1), VMD_CTR_DEAD);
    CU_ASSERT_EQUAL(compact(m, 1, 4, bitmap, 2, &r), 0);
    CU_ASSERT_EQUAL(slot_state(m, 1), VMD_CTR_RECLAIMED);
    CU_ASSERT_EQUAL(r.size_after, size - 4096); /* slot 1 was RAW */
    CU_ASSERT_EQUAL(r.reclaimed, 1);
    check_live_slots(m, 4, 4096, 1, 0);
    /* RECLAIMED cannot come back */
    bitmap[0] = 0x0f;
    CU_ASSERT_EQUAL(compact(m, 1, 4, bitmap, 3, &r), -ESTALE);
    CU_ASSERT_EQUAL(compact(m, 0, 4, bitmap, 3, &r), -ESTALE);
    /* everything goes */
    bitmap[0] = 0;
    CU_ASSERT_EQUAL(compact(m, 1, 4, bitmap, 4, &r), 0);
    CU_ASSERT_EQUAL(r.size_after, 128 + 4 * 56);
    CU_ASSERT_EQUAL(r.reclaimed, 4);
    vmd_ctr_free(parse_ok(mem_obj_data(m), mem_obj_size(m)));
    mem_obj_free(m);
    free(obj);
}

static void test_methods_errors(void)
{
    size_t size, snaplen;
    uint8_t *obj = build("vm", 1, 3, 4096, 1, 0, &size), *snap, *out = NULL;
    uint8_t bitmap[1] = {0x07}, junk[300];
    vmd_ctr_scrub_reply sr;
    vmd_ctr_stats_reply st;
    vmd_ctr_compact_reply cr;
    size_t outlen;
    mem_obj *m = mem_obj_new();

    /* no object */
    CU_ASSERT_EQUAL(scrub(m, 1, &sr), -ENOENT);
    CU_ASSERT_EQUAL(stats(m, &st), -ENOENT);
    CU_ASSERT_EQUAL(compact(m, 0, 3, bitmap, 1, &cr), -ENOENT);
    CU_ASSERT_FALSE(mem_obj_exists(m));
    mem_obj_free(m);

    /* malformed requests */
    m = obj_with(obj, size);
    snap = snapshot(m, &snaplen);
    CU_ASSERT_EQUAL(mem_obj_call(m, vmd_m_ctr_scrub, NULL, 0, &out, &outlen), -EINVAL);
    CU_ASSERT_EQUAL(
        mem_obj_call(m, vmd_m_ctr_stats, (const uint8_t *)"\1\1\0\0\0\0x", 7, &out, &outlen),
        -EINVAL);
    CU_ASSERT_EQUAL(
        mem_obj_call(m, vmd_m_ctr_stats, (const uint8_t *)"\2\2\0\0\0\0", 6, &out, &outlen),
        -EPROTO);
    CU_ASSERT_EQUAL(
        mem_obj_call(m, vmd_m_ctr_compact, (const uint8_t *)"\1\1\0\0\0\0", 6, &out, &outlen),
        -EINVAL);
    CU_ASSERT(unchanged(m, snap, snaplen));
    free(snap);
    mem_obj_free(m);

    /* garbage objects: corrupt, never a crash, never a write */
    fill_random(junk, sizeof(junk), 11);
    m = obj_with(junk, sizeof(junk));
    CU_ASSERT_EQUAL(scrub(m, 1, &sr), -EIO);
    CU_ASSERT_EQUAL(stats(m, &st), -EIO);
    CU_ASSERT_EQUAL(compact(m, 1, 3, bitmap, 1, &cr), -EIO);
    CU_ASSERT(unchanged(m, junk, sizeof(junk)));
    mem_obj_free(m);
    m = obj_with(junk, 10);
    CU_ASSERT_EQUAL(stats(m, &st), -EIO);
    mem_obj_free(m);
    obj[100] = 1; /* in the zero padding of the vm id */
    m = obj_with(obj, size);
    CU_ASSERT_EQUAL(stats(m, &st), -EIO);
    CU_ASSERT_EQUAL(compact(m, 0, 3, bitmap, 1, &cr), -EIO);
    mem_obj_free(m);
    free(obj);
}

int main(void)
{
    static const vmd_test_case cases[] = {
        {"builder: compressible chunks are stored ZSTD", test_builder_compressible},
        {"builder: incompressible chunks are stored RAW", test_builder_incompressible},
        {"builder: mixed chunks, popular container", test_builder_mixed_and_popular},
        {"builder: level 0 stores RAW; fp is SHA-256", test_builder_level0_and_fp},
        {"builder: size, slot and argument limits", test_builder_limits},
        {"builder: empty container", test_empty_container},
        {"object names", test_oid_names},
        {"validator: every header check", test_validator_header_checks},
        {"validator: every slot check", test_validator_slot_checks},
        {"reader: hash, decompress and length failures", test_chunk_decode_reasons},
        {"messages: round trips", test_messages_round_trip},
        {"messages: malformed and newer versions", test_messages_malformed},
        {"scrub: clean, corrupt RAW and ZSTD slots", test_scrub_clean_and_corrupt},
        {"scrub: DEAD slots are not verified", test_scrub_skips_dead},
        {"stats: counts and sizes", test_stats},
        {"compact mode 0: marks dead, replay no-op, ESTALE, EINVAL", test_compact_mode0},
        {"compact mode 1: shrinks, keeps slot numbers, replay no-op", test_compact_mode1},
        {"compact: mode 0 then mode 1, everything reclaimed", test_compact_mode0_then_mode1},
        {"methods: missing, malformed and corrupt objects", test_methods_errors},
        {NULL, NULL},
    };
    return vmd_test_main("containers", cases);
}
