/*
 * test_idx_format.c - index partitions: fingerprints, VM ids, the entry and the header.
 *
 * The stored formats of include/format/index.h: hex and partition of a
 * fingerprint, object and op-key names, VM hashes, and the entry and header
 * codecs, each checked by a round trip and by one broken rule at a time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_idx.h"

static void test_fp_hex_and_partition(void)
{
    vmd_fp fp, back;
    char hex[VMD_FP_HEX_SIZE], oid[VMD_IDX_OID_SIZE], key[VMD_IDX_OP_KEY_SIZE];
    uint8_t op[VMD_OP_ID_SIZE];
    unsigned i;

    for (i = 0; i < VMD_FP_SIZE; i++)
        fp.b[i] = (uint8_t)(0xf0 + i);
    vmd_fp_hex(&fp, hex);
    CU_ASSERT_EQUAL(strlen(hex), 64);
    CU_ASSERT_EQUAL(strncmp(hex, "f0f1f2", 6), 0);
    CU_ASSERT_EQUAL(vmd_fp_from_hex(&back, hex), 0);
    CU_ASSERT_EQUAL(vmd_fp_cmp(&fp, &back), 0);
    hex[5] = 'F';
    CU_ASSERT_EQUAL(vmd_fp_from_hex(&back, hex), -EINVAL); /* uppercase */
    hex[5] = '2';
    hex[63] = 0;
    CU_ASSERT_EQUAL(vmd_fp_from_hex(&back, hex), -EINVAL); /* short */
    CU_ASSERT_EQUAL(vmd_fp_from_hex(&back, "zz"), -EINVAL);
    {
        char longer[70];
        vmd_fp_hex(&fp, longer);
        strcat(longer, "00");
        CU_ASSERT_EQUAL(vmd_fp_from_hex(&back, longer), -EINVAL);
    }

    fp.b[0] = 0xab;
    fp.b[1] = 0xcd;
    CU_ASSERT_EQUAL(vmd_fp_partition(&fp, 0), 0);
    CU_ASSERT_EQUAL(vmd_fp_partition(&fp, 1), 1);
    CU_ASSERT_EQUAL(vmd_fp_partition(&fp, 4), 0xa);
    CU_ASSERT_EQUAL(vmd_fp_partition(&fp, 12), 0xabc);
    CU_ASSERT_EQUAL(vmd_fp_partition(&fp, 16), 0xabcd);
    vmd_idx_oid(0xabc, oid);
    CU_ASSERT_STRING_EQUAL(oid, "idx.0abc");
    vmd_idx_oid(0, oid);
    CU_ASSERT_STRING_EQUAL(oid, "idx.0000");
    vmd_idx_oid(0xffff, oid);
    CU_ASSERT_STRING_EQUAL(oid, "idx.ffff");
    for (i = 0; i < VMD_OP_ID_SIZE; i++)
        op[i] = (uint8_t)i;
    vmd_idx_op_key(op, key);
    CU_ASSERT_STRING_EQUAL(key, "~op.000102030405060708090a0b0c0d0e0f");
}

static void test_vm_hash_and_ids(void)
{
    char big[80];

    /* FNV-1a 64 reference values */
    CU_ASSERT_EQUAL(vmd_vm_hash("", 0), 0xcbf29ce484222325ull);
    CU_ASSERT_EQUAL(vmd_vm_hash("a", 1), 0xaf63dc4c8601ec8cull);
    CU_ASSERT_EQUAL(vmd_vm_hash("foobar", 6), 0x85944171f73967e8ull);

    CU_ASSERT_TRUE(vmd_vm_id_valid("vm-1", 4));
    CU_ASSERT_TRUE(vmd_vm_id_valid("6f1e:Ab_c.d-9", 13));
    CU_ASSERT_FALSE(vmd_vm_id_valid("", 0));
    CU_ASSERT_FALSE(vmd_vm_id_valid("a b", 3));
    CU_ASSERT_FALSE(vmd_vm_id_valid("a/b", 3));
    CU_ASSERT_FALSE(vmd_vm_id_valid("a\0b", 3));
    memset(big, 'v', sizeof(big));
    CU_ASSERT_TRUE(vmd_vm_id_valid(big, 64));
    CU_ASSERT_FALSE(vmd_vm_id_valid(big, 65));
}

static void test_entry_round_trip(void)
{
    vmd_idx_entry e = entry_sample(), d;
    uint8_t buf[VMD_IDX_ENTRY_MAX];
    size_t len, i;

    CU_ASSERT_EQUAL(vmd_idx_entry_encode(&e, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(len, vmd_idx_entry_size(&e));
    CU_ASSERT_EQUAL(len, 45 + 6 + 3 * 8);
    CU_ASSERT_EQUAL(buf[0], 1);
    CU_ASSERT_EQUAL(buf[44], 6); /* home_vm length at offset 44 */
    CU_ASSERT_EQUAL(vmd_idx_entry_decode(&d, buf, len), 0);
    CU_ASSERT_EQUAL(memcmp(&d.home, &e.home, sizeof(e.home)), 0);
    CU_ASSERT_EQUAL(d.vm_count, 5);
    CU_ASSERT_EQUAL(d.pop_refs, 9);
    CU_ASSERT_EQUAL(d.vms[2], UINT64_MAX);
    CU_ASSERT_STRING_EQUAL(d.home_vm, "vm-one");
    for (i = 0; i < len; i++)
        CU_ASSERT_EQUAL(vmd_idx_entry_decode(&d, buf, i), -EINVAL);
    buf[len] = 0;
    CU_ASSERT_EQUAL(vmd_idx_entry_decode(&d, buf, len + 1), -EINVAL); /* trailing byte */
    buf[0] = 2;
    CU_ASSERT_EQUAL(vmd_idx_entry_decode(&d, buf, len), -EPROTO);

    /* the largest entry fits VMD_IDX_ENTRY_MAX */
    e.nvms = 16;
    e.vm_count = 16;
    for (i = 0; i < 16; i++)
        e.vms[i] = i * 3;
    memset(e.home_vm, 'h', 64);
    e.home_vm[64] = 0;
    CU_ASSERT_EQUAL(vmd_idx_entry_encode(&e, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(len, VMD_IDX_ENTRY_MAX);
}

/* Encodes e without validation (to feed bad entries to the decoder). */
static size_t entry_raw(const vmd_idx_entry *e, uint8_t *buf, size_t cap)
{
    vmd_wr w;
    unsigned i;
    vmd_wr_init(&w, buf, cap);
    vmd_idx_entry_put_head(&w, e);
    for (i = 0; i < e->nvms; i++) /* beyond the array (nvms > 16): ascending fillers */
        vmd_put_u64(&w, i < VMD_IDX_MAX_VMS ? e->vms[i] : UINT64_MAX - 32 + i);
    return w.len;
}

static void test_entry_rejects_each_broken_rule(void)
{
    uint8_t buf[512];
    vmd_idx_entry e, d;
    size_t len, out;

#define EXPECT_BAD(mutate)                                                                         \
    do {                                                                                           \
        e = entry_sample();                                                                        \
        mutate;                                                                                    \
        len = entry_raw(&e, buf, sizeof(buf));                                                     \
        CU_ASSERT_EQUAL(vmd_idx_entry_decode(&d, buf, len), -EINVAL);                              \
        CU_ASSERT_EQUAL(vmd_idx_entry_encode(&e, buf, sizeof(buf), &out), -EINVAL);                \
    } while (0)

    EXPECT_BAD(e.flags = 2);
    EXPECT_BAD(e.vm_count = 2);      /* below nvms */
    EXPECT_BAD(e.vms[1] = e.vms[0]); /* not strictly ascending */
    EXPECT_BAD(e.chunk_len = 0);
    EXPECT_BAD(e.chunk_len = VMD_CHUNK_MAX + 1);
    EXPECT_BAD((e.flags = 0, e.pop.id = 0, e.pop.slot = 0)); /* refs without popular copy */
    EXPECT_BAD((e.flags = 0, e.pop_refs = 0));               /* pop location, not popular */
    EXPECT_BAD((e.flags = 0, e.pop_refs = 0, e.pop.id = 0, e.pop.slot = 0, e.nvms = 0,
                e.vm_count = 0));   /* unheld and not popular */
    EXPECT_BAD(e.home_vm[0] = 0);   /* home without a VM */
    EXPECT_BAD(e.home_vm[2] = '/'); /* bad VM id */
#undef EXPECT_BAD
    /* more than 16 hashes */
    e = entry_sample();
    e.nvms = 17;
    e.vm_count = 17;
    len = entry_raw(&e, buf, sizeof(buf));
    CU_ASSERT_EQUAL(vmd_idx_entry_decode(&d, buf, len), -EINVAL);
    /* a popular entry with no holders is fine */
    e = entry_sample();
    e.nvms = 0;
    e.vm_count = 0;
    CU_ASSERT_EQUAL(vmd_idx_entry_encode(&e, buf, sizeof(buf), &out), 0);
    CU_ASSERT_EQUAL(vmd_idx_entry_decode(&d, buf, out), 0);
    CU_ASSERT_EQUAL(vmd_idx_entry_encode(&e, buf, 10, &out), -EOVERFLOW);
}

static void test_header_round_trip_and_rejects(void)
{
    vmd_idx_header h, d;
    uint8_t buf[VMD_IDX_HEADER_MAX + 8];
    size_t len, i;

    memset(&h, 0, sizeof(h));
    h.bits = 12;
    h.partition = 0xabc;
    h.c.entries = 10;
    h.c.holdings = 30;
    h.c.popular_entries = 2;
    h.c.bytes = 40960;
    h.c.popular_bytes = 8192;
    h.c.popular_refs = 77;
    h.nops = 16;
    for (i = 0; i < 16; i++)
        memset(h.ops[i], (int)i, VMD_OP_ID_SIZE);
    CU_ASSERT_EQUAL(vmd_idx_header_encode(&h, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(len, VMD_IDX_HEADER_MAX);
    CU_ASSERT_EQUAL(vmd_idx_header_decode(&d, buf, len), 0);
    CU_ASSERT_EQUAL(memcmp(&h, &d, sizeof(h)), 0);
    for (i = 0; i < len; i++)
        CU_ASSERT_EQUAL(vmd_idx_header_decode(&d, buf, i), -EINVAL);
    buf[len] = 0;
    CU_ASSERT_EQUAL(vmd_idx_header_decode(&d, buf, len + 1), -EINVAL);
    buf[1] = 2; /* compat 2 */
    buf[0] = 2;
    CU_ASSERT_EQUAL(vmd_idx_header_decode(&d, buf, len), -EPROTO);

    h.nops = 17;
    CU_ASSERT_EQUAL(vmd_idx_header_encode(&h, buf, sizeof(buf), &len), -EINVAL);
    h.nops = 0;
    h.partition = 0x1000; /* >= 2^12 */
    CU_ASSERT_EQUAL(vmd_idx_header_encode(&h, buf, sizeof(buf), &len), -EINVAL);
    h.partition = 1;
    h.c.popular_entries = 11;
    CU_ASSERT_EQUAL(vmd_idx_header_encode(&h, buf, sizeof(buf), &len), -EINVAL);
    h.c.popular_entries = 1;
    CU_ASSERT_EQUAL(vmd_idx_header_encode(&h, buf, sizeof(buf), &len), 0);
    buf[6] = 17; /* bits */
    CU_ASSERT_EQUAL(vmd_idx_header_decode(&d, buf, len), -EINVAL);
    buf[6] = 12;
    buf[6 + 3 + 48] = 17; /* nops */
    CU_ASSERT_EQUAL(vmd_idx_header_decode(&d, buf, len), -EINVAL);
}

const vmd_test_case vmd_idx_format_tests[] = {
    {"fp hex, partition, oid, op key", test_fp_hex_and_partition},
    {"VM hash (FNV-1a 64) and VM ids", test_vm_hash_and_ids},
    {"entry round trip", test_entry_round_trip},
    {"entry rejects each broken rule", test_entry_rejects_each_broken_rule},
    {"header round trip and rejects", test_header_round_trip_and_rejects},
    {NULL, NULL},
};
