/*
 * test_ctr_methods.c - containers: ctr_scrub, ctr_stats and ctr_compact.
 *
 * The methods on an in-memory object with the OSD's transaction semantics:
 * mem_obj_call() drops the writes of a failed call, so "nothing changed" is
 * checked by comparing the object's bytes before and after.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test_ctr.h"

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

/* The end of a test on a container's bytes obj, parsed as c, in object m. */
static void case_free(mem_obj *m, vmd_ctr *c, uint8_t *obj)
{
    mem_obj_free(m);
    vmd_ctr_free(c);
    free(obj);
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
    case_free(m, c, obj);
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
    case_free(m, c, obj);
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
    case_free(m, c, obj);
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

const vmd_test_case vmd_ctr_method_tests[] = {
    {"scrub: clean, corrupt RAW and ZSTD slots", test_scrub_clean_and_corrupt},
    {"scrub: DEAD slots are not verified", test_scrub_skips_dead},
    {"stats: counts and sizes", test_stats},
    {"compact mode 0: marks dead, replay no-op, ESTALE, EINVAL", test_compact_mode0},
    {"compact mode 1: shrinks, keeps slot numbers, replay no-op", test_compact_mode1},
    {"compact: mode 0 then mode 1, everything reclaimed", test_compact_mode0_then_mode1},
    {"methods: missing, malformed and corrupt objects", test_methods_errors},
    {NULL, NULL},
};
