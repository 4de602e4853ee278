/*
 * test_ctr.c - containers through real OSDs: write, read back verified, stats, scrub,
 * compaction, and hostile input that must not hurt any OSD.
 *
 * Runs against the throwaway cluster of ctest's `cluster` fixture (CEPH_CONF).
 * Containers are built with the library's builder, written with the library's
 * vmd_ctr_write into pools vmd.data / vmd.popular under a RADOS namespace of
 * this run's own, and every server-side operation goes through ctr_client.c
 * and the class loaded by the OSDs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rados/librados.h>

#include "rados/cls_call.h"
#include "rados/ctr_client.h"
#include "chunks.h"
#include "cluster.h"
#include "rng.h"
#include "vmd_test.h"
#include "vmd_test_cluster.h"
#include "format/class_msg.h"
#include "format/container.h"
#include "format/container_msg.h"
#include "vmdedup/vmdedup.h"

#define NCHUNKS 16
#define CHUNK   65536
#define VM      "itest-vm"

static vmd_store *store;
static int need_store(void)
{
    char nspace[64];

    if (store)
        return 1;
    if (!vmd_test_have_cluster())
        return 0;
    vmd_test_nspace(nspace, sizeof(nspace), "test-ctr");
    if (vmd_test_store_open(&store, nspace, 0, NULL, NULL) != 0) {
        CU_FAIL("cannot connect to the throwaway cluster");
        return 0;
    }
    return 1;
}

/* ---- data ---- */

static uint64_t rng_state;

static uint64_t rng(void)
{
    return vmd_test_xorshift64(&rng_state);
}

/* Chunk i: even ones text-like (stored ZSTD), odd ones random (stored RAW). */
static void make_chunk(uint8_t *p, size_t n, int i)
{
    static const char *const words[] = {"xen ", "ceph ", "disk ", "block ", "\n"};
    uint64_t s = (uint64_t)i * 0x9e3779b97f4a7c15ull + 1;

    if (i % 2)
        vmd_test_fill_xorshift(p, n, &s);
    else
        vmd_test_fill_words(p, n, words, 5, &s);
}

/* Builds and writes a container of NCHUNKS chunks; returns its size. */
static size_t put_container(int popular, const char *oid, uint64_t id)
{
    vmd_ctr_builder *b = NULL;
    uint8_t *chunk = malloc(CHUNK), *obj = NULL;
    size_t size = 0;
    int i;

    CU_ASSERT_EQUAL_FATAL(vmd_ctr_builder_new(&b, id, popular ? NULL : VM, 0), 0);
    for (i = 0; i < NCHUNKS; i++) {
        make_chunk(chunk, CHUNK, i);
        CU_ASSERT_EQUAL_FATAL(vmd_ctr_builder_add(b, chunk, CHUNK, 3, NULL, NULL), 0);
    }
    CU_ASSERT_EQUAL_FATAL(vmd_ctr_builder_finish(b, &obj, &size), 0);
    CU_ASSERT_EQUAL_FATAL(vmd_ctr_write(store, popular, oid, obj, size), 0);
    vmd_ctr_builder_free(b);
    free(obj);
    free(chunk);
    return size;
}

static void expect_chunk(int popular, const char *oid, uint32_t slot, int expect)
{
    uint8_t *raw = NULL, *want = malloc(CHUNK);
    size_t rawlen = 0;
    int err = vmd_ctr_read_chunk(store, popular, oid, NULL, slot, &raw, &rawlen);

    CU_ASSERT_EQUAL(err, expect);
    if (!err) {
        make_chunk(want, CHUNK, (int)slot);
        CU_ASSERT(rawlen == CHUNK && memcmp(raw, want, CHUNK) == 0);
    }
    free(raw);
    free(want);
}

static uint64_t object_size(int popular, const char *oid)
{
    uint64_t size = 0;
    time_t mtime;
    CU_ASSERT_EQUAL(rados_stat(vmd_ctr_pool(store, popular), oid, &size, &mtime), 0);
    return size;
}

/* ---- tests ---- */

static void test_write_stats_and_read_back(void)
{
    char oid[VMD_CTR_OID_MAX];
    vmd_ctr_stats_reply st;
    vmd_ctr *c = NULL;
    size_t size;
    uint32_t i;

    if (!need_store())
        return;
    CU_ASSERT_EQUAL_FATAL(vmd_ctr_oid(oid, sizeof(oid), VM, 1), 0);
    size = put_container(0, oid, 1);
    CU_ASSERT_EQUAL(vmd_ctr_stats(store, 0, oid, &st), 0);
    CU_ASSERT_EQUAL(st.nslots, NCHUNKS);
    CU_ASSERT_EQUAL(st.live, NCHUNKS);
    CU_ASSERT_EQUAL(st.dead + st.reclaimed, 0);
    CU_ASSERT_EQUAL(st.live_raw, (uint64_t)NCHUNKS * CHUNK);
    CU_ASSERT(st.live_stored < st.live_raw);
    CU_ASSERT_EQUAL(st.object_size, size);
    CU_ASSERT_EQUAL(st.id, 1);
    CU_ASSERT_STRING_EQUAL(st.vm, VM);
    CU_ASSERT_EQUAL(st.flags, VMD_CTR_F_SEALED);

    CU_ASSERT_EQUAL_FATAL(vmd_ctr_load(store, vmd_ctr_pool(store, 0), oid, &c), 0);
    for (i = 0; i < NCHUNKS; i++) {
        uint8_t *raw = NULL, want[CHUNK];
        size_t rawlen;
        CU_ASSERT_EQUAL(c->slots[i].encoding, i % 2 ? VMD_CTR_RAW : VMD_CTR_ZSTD);
        CU_ASSERT_EQUAL(vmd_ctr_read_chunk(store, 0, oid, c, i, &raw, &rawlen), 0);
        make_chunk(want, CHUNK, (int)i);
        CU_ASSERT(rawlen == CHUNK && raw && memcmp(raw, want, CHUNK) == 0);
        free(raw);
    }
    vmd_ctr_free(c);
    expect_chunk(0, oid, NCHUNKS, -ERANGE);
}

static void test_popular_container(void)
{
    char oid[VMD_CTR_OID_MAX];
    vmd_ctr_stats_reply st;

    if (!need_store())
        return;
    CU_ASSERT_EQUAL_FATAL(vmd_ctr_oid(oid, sizeof(oid), NULL, 2), 0);
    put_container(1, oid, 2);
    CU_ASSERT_EQUAL(vmd_ctr_stats(store, 1, oid, &st), 0);
    CU_ASSERT_EQUAL(st.flags, VMD_CTR_F_POPULAR | VMD_CTR_F_SEALED);
    CU_ASSERT_STRING_EQUAL(st.vm, "");
    expect_chunk(1, oid, 4, 0);
    /* not in the data pool */
    CU_ASSERT_EQUAL(vmd_ctr_stats(store, 0, oid, &st), -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(vmd_test_last_error, oid));
}

static void test_scrub_clean_then_corrupt(void)
{
    char oid[VMD_CTR_OID_MAX];
    vmd_ctr_scrub_reply r;
    vmd_ctr *c = NULL;
    uint8_t byte;

    if (!need_store())
        return;
    CU_ASSERT_EQUAL_FATAL(vmd_ctr_oid(oid, sizeof(oid), VM, 3), 0);
    put_container(0, oid, 3);
    CU_ASSERT_EQUAL(vmd_ctr_scrub(store, 0, oid, 100, &r), 0);
    CU_ASSERT_EQUAL(r.nslots, NCHUNKS);
    CU_ASSERT_EQUAL(r.live, NCHUNKS);
    CU_ASSERT_EQUAL(r.nbad, 0);
    vmd_ctr_scrub_reply_clear(&r);

    /* one byte of slot 5 (RAW) and the frame magic of slot 8 (ZSTD) */
    CU_ASSERT_EQUAL_FATAL(vmd_ctr_load(store, vmd_ctr_pool(store, 0), oid, &c), 0);
    byte = 0x5a;
    CU_ASSERT_EQUAL(
        rados_write(vmd_ctr_pool(store, 0), oid, (char *)&byte, 1, c->slots[5].offset + 1000), 0);
    CU_ASSERT_EQUAL(rados_write(vmd_ctr_pool(store, 0), oid, (char *)&byte, 1, c->slots[8].offset),
                    0);
    vmd_ctr_free(c);
    CU_ASSERT_EQUAL(vmd_ctr_scrub(store, 0, oid, 100, &r), 0);
    CU_ASSERT_EQUAL(r.nbad, 2);
    CU_ASSERT_EQUAL_FATAL(r.nlist, 2);
    CU_ASSERT_EQUAL(r.bad[0].slot, 5);
    CU_ASSERT_EQUAL(r.bad[0].reason, VMD_CTR_BAD_HASH);
    CU_ASSERT_EQUAL(r.bad[1].slot, 8);
    CU_ASSERT_EQUAL(r.bad[1].reason, VMD_CTR_BAD_DECOMPRESS);
    vmd_ctr_scrub_reply_clear(&r);
    /* the client's own verification agrees */
    expect_chunk(0, oid, 5, -EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(vmd_test_last_error, "hash mismatch"));
    expect_chunk(0, oid, 8, -EIO);
    expect_chunk(0, oid, 6, 0);
}

static void test_compaction_modes(void)
{
    char oid[VMD_CTR_OID_MAX];
    vmd_ctr_compact_reply r;
    vmd_ctr_stats_reply st;
    vmd_ctr_scrub_reply sr;
    uint8_t bitmap[NCHUNKS / 8];
    uint64_t size0, size1;
    uint32_t i;

    if (!need_store())
        return;
    CU_ASSERT_EQUAL_FATAL(vmd_ctr_oid(oid, sizeof(oid), VM, 4), 0);
    size0 = put_container(0, oid, 4);
    /* mode 0: slots 1, 2 and 3 die, in place */
    memset(bitmap, 0xff, sizeof(bitmap));
    bitmap[0] = 0xf1;
    CU_ASSERT_EQUAL(vmd_ctr_compact(store, 0, oid, VMD_CTR_COMPACT_MARK, bitmap, NCHUNKS, &r), 0);
    CU_ASSERT_EQUAL(r.size_before, size0);
    CU_ASSERT_EQUAL(r.size_after, size0);
    CU_ASSERT_EQUAL(r.dead, 3);
    CU_ASSERT_EQUAL(object_size(0, oid), size0);
    CU_ASSERT_EQUAL(vmd_ctr_stats(store, 0, oid, &st), 0);
    CU_ASSERT_EQUAL(st.dead, 3);
    CU_ASSERT(st.dead_bytes > 0);
    expect_chunk(0, oid, 2, -ENOENT);
    expect_chunk(0, oid, 4, 0);

    /* mode 1: also slot 9; dead bytes go, the object shrinks */
    bitmap[1] = 0xfd;
    CU_ASSERT_EQUAL(vmd_ctr_compact(store, 0, oid, VMD_CTR_COMPACT_FULL, bitmap, NCHUNKS, &r), 0);
    size1 = object_size(0, oid);
    CU_ASSERT_EQUAL(r.size_after, size1);
    CU_ASSERT(size1 < size0 - CHUNK); /* at least slot 3's or 9's random 64 KiB */
    CU_ASSERT_EQUAL(r.reclaimed, 4);
    CU_ASSERT_EQUAL(r.live, NCHUNKS - 4);
    for (i = 0; i < NCHUNKS; i++)
        expect_chunk(0, oid, i, (i >= 1 && i <= 3) || i == 9 ? -ENOENT : 0);

    /* a reclaimed slot marked live: stale */
    bitmap[1] = 0xff;
    CU_ASSERT_EQUAL(vmd_ctr_compact(store, 0, oid, VMD_CTR_COMPACT_FULL, bitmap, NCHUNKS, &r),
                    -ESTALE);
    CU_ASSERT_PTR_NOT_NULL(strstr(vmd_test_last_error, oid));
    /* a bitmap for another number of slots */
    CU_ASSERT_EQUAL(vmd_ctr_compact(store, 0, oid, VMD_CTR_COMPACT_MARK, bitmap, NCHUNKS - 1, &r),
                    -EINVAL);
    CU_ASSERT_EQUAL(object_size(0, oid), size1);
    /* everything goes: an object of header and table, still valid, still scrubbed */
    memset(bitmap, 0, sizeof(bitmap));
    CU_ASSERT_EQUAL(vmd_ctr_compact(store, 0, oid, VMD_CTR_COMPACT_FULL, bitmap, NCHUNKS, &r), 0);
    CU_ASSERT_EQUAL(r.size_after, VMD_CTR_HEADER_SIZE + NCHUNKS * VMD_CTR_SLOT_SIZE);
    CU_ASSERT_EQUAL(r.reclaimed, NCHUNKS);
    CU_ASSERT_EQUAL(vmd_ctr_scrub(store, 0, oid, 1, &sr), 0);
    CU_ASSERT_EQUAL(sr.reclaimed, NCHUNKS);
    vmd_ctr_scrub_reply_clear(&sr);
    CU_ASSERT_EQUAL(vmd_ctr_stats(store, 0, oid, &st), 0);
    CU_ASSERT_EQUAL(st.object_size, VMD_CTR_HEADER_SIZE + NCHUNKS * VMD_CTR_SLOT_SIZE);
    CU_ASSERT_EQUAL(vmd_ctr_compact(store, 0, "c.no-such.0000000000000001", 0, bitmap, NCHUNKS, &r),
                    -ENOENT);
}

static void test_compaction_replay_is_noop(void)
{
    char oid[VMD_CTR_OID_MAX];
    vmd_ctr_compact_req q;
    vmd_ctr_compact_reply r;
    uint8_t bitmap[NCHUNKS / 8], req[64], *out = NULL, op[16];
    size_t len, outlen = 0;
    char opx[16];
    uint64_t size1;
    int n;

    if (!need_store())
        return;
    CU_ASSERT_EQUAL_FATAL(vmd_ctr_oid(oid, sizeof(oid), VM, 5), 0);
    put_container(0, oid, 5);
    memset(bitmap, 0x55, sizeof(bitmap));
    memset(&q, 0, sizeof(q));
    vmd_cls_new_op_id(q.op_id);
    q.mode = VMD_CTR_COMPACT_FULL;
    q.nslots = NCHUNKS;
    q.bitmap = bitmap;
    CU_ASSERT_EQUAL_FATAL(vmd_ctr_compact_req_encode(&q, req, sizeof(req), &len), 0);
    CU_ASSERT_EQUAL(
        vmd_cls_exec(vmd_ctr_pool(store, 0), oid, "ctr_compact", 1, req, len, &out, &outlen), 0);
    CU_ASSERT_EQUAL(vmd_ctr_compact_reply_decode(&r, out, outlen), 0);
    free(out);
    size1 = object_size(0, oid);
    CU_ASSERT(r.size_after == size1 && r.size_before > size1);
    /* the same request again, as RADOS would resend it */
    CU_ASSERT_EQUAL(
        vmd_cls_exec(vmd_ctr_pool(store, 0), oid, "ctr_compact", 1, req, len, &out, &outlen), 0);
    CU_ASSERT_EQUAL(vmd_ctr_compact_reply_decode(&r, out, outlen), 0);
    free(out);
    CU_ASSERT_EQUAL(r.size_before, size1);
    CU_ASSERT_EQUAL(r.size_after, size1);
    CU_ASSERT_EQUAL(object_size(0, oid), size1);
    n = rados_getxattr(vmd_ctr_pool(store, 0), oid, "vmd.op", opx, sizeof(opx));
    CU_ASSERT_EQUAL(n, 16);
    memcpy(op, opx, 16);
    CU_ASSERT(memcmp(op, q.op_id, 16) == 0);
    expect_chunk(0, oid, 0, 0);
    expect_chunk(0, oid, 1, -ENOENT);
}

static void test_empty_container(void)
{
    vmd_ctr_builder *b = NULL;
    vmd_ctr_stats_reply st;
    vmd_ctr_scrub_reply sr;
    vmd_ctr_compact_reply r;
    uint8_t *obj = NULL;
    size_t size;

    if (!need_store())
        return;
    CU_ASSERT_EQUAL_FATAL(vmd_ctr_builder_new(&b, 7, VM, 0), 0);
    CU_ASSERT_EQUAL_FATAL(vmd_ctr_builder_finish(b, &obj, &size), 0);
    vmd_ctr_builder_free(b);
    CU_ASSERT_EQUAL_FATAL(vmd_ctr_write(store, 0, "c." VM ".0000000000000007", obj, size), 0);
    free(obj);
    CU_ASSERT_EQUAL(vmd_ctr_stats(store, 0, "c." VM ".0000000000000007", &st), 0);
    CU_ASSERT_EQUAL(st.nslots, 0);
    CU_ASSERT_EQUAL(st.object_size, VMD_CTR_HEADER_SIZE);
    CU_ASSERT_EQUAL(vmd_ctr_scrub(store, 0, "c." VM ".0000000000000007", 4, &sr), 0);
    CU_ASSERT_EQUAL(sr.nslots, 0);
    vmd_ctr_scrub_reply_clear(&sr);
    CU_ASSERT_EQUAL(
        vmd_ctr_compact(store, 0, "c." VM ".0000000000000007", VMD_CTR_COMPACT_FULL, NULL, 0, &r),
        0);
    CU_ASSERT_EQUAL(r.size_after, VMD_CTR_HEADER_SIZE);
}

static void test_missing_and_corrupt_objects(void)
{
    vmd_ctr_stats_reply st;
    vmd_ctr_scrub_reply sr;
    char junk[1000];
    int i;

    if (!need_store())
        return;
    CU_ASSERT_EQUAL(vmd_ctr_stats(store, 0, "c.none.0000000000000000", &st), -ENOENT);
    CU_ASSERT_EQUAL(vmd_ctr_scrub(store, 0, "c.none.0000000000000000", 1, &sr), -ENOENT);
    for (i = 0; i < (int)sizeof(junk); i++)
        junk[i] = (char)(i * 7);
    CU_ASSERT_EQUAL_FATAL(
        rados_write_full(vmd_ctr_pool(store, 0), "c.junk.0000000000000000", junk, sizeof(junk)), 0);
    CU_ASSERT_EQUAL(vmd_ctr_stats(store, 0, "c.junk.0000000000000000", &st), -EIO);
    CU_ASSERT_EQUAL(vmd_ctr_scrub(store, 0, "c.junk.0000000000000000", 1, &sr), -EIO);
    expect_chunk(0, "c.junk.0000000000000000", 0, -EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(vmd_test_last_error, "magic"));
    /* the library refuses to store what is not a container */
    CU_ASSERT_EQUAL(
        vmd_ctr_write(store, 0, "c.junk.0000000000000001", (uint8_t *)junk, sizeof(junk)), -EINVAL);
}

static void test_inspect(void)
{
    char oid[VMD_CTR_OID_MAX], *text = NULL;
    size_t textlen = 0;
    FILE *f;

    if (!need_store())
        return;
    CU_ASSERT_EQUAL_FATAL(vmd_ctr_oid(oid, sizeof(oid), VM, 1), 0);
    f = open_memstream(&text, &textlen);
    CU_ASSERT_EQUAL(vmd_inspect_ctr(store, vmd_ctr_pool(store, 0), oid, 1, f), 0);
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"nslots\":16"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"encoding\":\"ZSTD\""));
    free(text);
    f = open_memstream(&text, &textlen);
    CU_ASSERT_EQUAL(vmd_inspect_ctr(store, vmd_ctr_pool(store, 0), oid, 0, f), 0);
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "nslots 16"));
    free(text);
}

/* Random bytes, often behind a valid-looking envelope so the decoders' later checks run. */
static size_t hostile_request(uint8_t *buf, size_t cap)
{
    size_t n = rng() % (cap - 6), i;

    for (i = 0; i < n + 6; i++)
        buf[i] = (uint8_t)rng();
    if (rng() % 2) {
        buf[0] = (uint8_t)(1 + rng() % 2);
        buf[1] = 1;
        buf[2] = (uint8_t)n;
        buf[3] = (uint8_t)(n >> 8);
        buf[4] = buf[5] = 0;
    }
    return n + 6;
}

/* A garbage object: random bytes, or a valid container with random bytes changed. */
static void hostile_object(const char *oid, const uint8_t *good, size_t goodlen)
{
    static uint8_t buf[1 << 20];
    size_t n, i;

    if (rng() % 2) {
        n = rng() % 4096;
        for (i = 0; i < n; i++)
            buf[i] = (uint8_t)rng();
    } else {
        n = goodlen - (rng() % 3 == 0 ? rng() % goodlen : 0);
        memcpy(buf, good, n);
        for (i = 0; i < 1 + rng() % 8; i++)
            buf[rng() % (n ? n : 1)] ^= (uint8_t)(1 + rng() % 255);
        if (rng() % 4 == 0 && n >= VMD_CTR_HEADER_SIZE)
            buf[8 + rng() % 40] = (uint8_t)rng(); /* header fields */
    }
    CU_ASSERT_EQUAL(rados_write_full(vmd_ctr_pool(store, 0), oid, (char *)buf, n), 0);
}

static void test_hostile_input_leaves_osds_up(void)
{
    static const char *methods[] = {"ctr_scrub", "ctr_compact", "ctr_stats"};
    vmd_ctr_builder *b = NULL;
    uint8_t req[600], chunk[4096], *good = NULL, *out;
    size_t goodlen = 0, len, outlen;
    char oid[VMD_CTR_OID_MAX], version[256];
    int i, up, total, n, answered = 0;

    if (!need_store())
        return;
    /* a small valid container to start from */
    CU_ASSERT_EQUAL_FATAL(vmd_ctr_builder_new(&b, 6, VM, 0), 0);
    for (i = 0; i < 8; i++) {
        make_chunk(chunk, sizeof(chunk), i);
        CU_ASSERT_EQUAL_FATAL(vmd_ctr_builder_add(b, chunk, sizeof(chunk), 3, NULL, NULL), 0);
    }
    CU_ASSERT_EQUAL_FATAL(vmd_ctr_builder_finish(b, &good, &goodlen), 0);
    vmd_ctr_builder_free(b);
    CU_ASSERT_EQUAL_FATAL(vmd_ctr_oid(oid, sizeof(oid), VM, 6), 0);

    rng_state = 0x1234567;
    for (i = 0; i < 400; i++) {
        const char *m = methods[rng() % 3];
        int write = strcmp(m, "ctr_compact") == 0;
        if (i % 4 == 0)
            hostile_object(oid, good, goodlen);
        else if (i % 4 == 1)
            CU_ASSERT_EQUAL(vmd_ctr_write(store, 0, oid, good, goodlen), 0);
        len = hostile_request(req, sizeof(req));
        out = NULL;
        n = vmd_cls_exec(vmd_ctr_pool(store, 0), oid, m, write, req, len, &out, &outlen);
        CU_ASSERT(n != -ENOTCONN && n != -ETIMEDOUT && n != -EOPNOTSUPP);
        if (n >= 0)
            answered++;
        free(out);
    }
    free(good);
    fprintf(stderr, "\n  hostile calls answered with success: %d of 400\n", answered);
    CU_ASSERT_EQUAL(vmd_test_osds_up(store->cluster, &up, &total), 0);
    CU_ASSERT(total >= 1);
    CU_ASSERT_EQUAL(up, total);
    n = rados_exec(vmd_ctr_pool(store, 0), oid, VMD_CLS_NAME, "version", NULL, 0, version,
                   sizeof(version));
    CU_ASSERT(n > 0);
}

int main(void)
{
    static const vmd_test_case cases[] = {
        {"write, stats, read every chunk back verified", test_write_stats_and_read_back},
        {"popular container in the popular pool", test_popular_container},
        {"scrub: clean, then a corrupt RAW and ZSTD slot", test_scrub_clean_then_corrupt},
        {"compaction modes 0 and 1, ESTALE, EINVAL", test_compaction_modes},
        {"compaction replay through the OSD is a no-op", test_compaction_replay_is_noop},
        {"empty container: stats, scrub, compaction", test_empty_container},
        {"missing and corrupt objects", test_missing_and_corrupt_objects},
        {"inspect: text and JSON", test_inspect},
        {"hostile input leaves every OSD up", test_hostile_input_leaves_osds_up},
        {NULL, NULL},
    };
    int rc = vmd_test_main("containers (cluster)", cases);
    vmd_store_close(store);
    return rc;
}
