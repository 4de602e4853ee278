/*
 * test_ctr_format.c - containers: the builder, the reader and the validator.
 *
 * Containers built from text-like (stored ZSTD), random (RAW) and mixed
 * chunks read back byte for byte; every validator check is provoked by
 * patching one field of a valid container; every reason a chunk fails to
 * decode is named.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test_ctr.h"

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

const vmd_test_case vmd_ctr_format_tests[] = {
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
    {NULL, NULL},
};
