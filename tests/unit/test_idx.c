/*
 * test_idx.c - index partitions: formats, message codecs and every method,
 * on the in-memory object (tests/lib/mem_obj.c) that mimics the OSD.
 *
 * Layout of a test: a partition object `m` (bits BITS, partition PART), fps
 * made inside it by fp_make(), one helper per method that encodes a request,
 * runs the method as the OSD would and decodes the reply. Errors are
 * asserted exactly. "State unchanged" is checked by comparing a snapshot of
 * the whole object (header and every omap key and value).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "methods/index_methods.h"
#include "mem_obj.h"
#include "vmd_test.h"
#include "format/index_msg.h"
#include "format/index.h"
#include "format/wire.h"

#define BITS 4
#define PART 5

static const vmd_idx_target T = {BITS, PART};

/* ---- fixtures ---- */

/* A fingerprint in partition PART of 2^BITS whose value grows with n. */
static vmd_fp fp_make(unsigned n)
{
    vmd_fp fp;
    unsigned i;
    for (i = 0; i < VMD_FP_SIZE; i++)
        fp.b[i] = (uint8_t)(n * 31 + i);
    fp.b[0] = (uint8_t)(PART << (8 - BITS));
    fp.b[1] = (uint8_t)(n >> 16);
    fp.b[2] = (uint8_t)(n >> 8);
    fp.b[3] = (uint8_t)n;
    return fp;
}

static void op_next(uint8_t op[VMD_OP_ID_SIZE])
{
    static uint64_t counter;
    uint64_t c = ++counter;
    memset(op, 0xab, VMD_OP_ID_SIZE);
    memcpy(op + 8, &c, sizeof(c));
}

/* The whole committed object as one byte string (header, then key=value...). */
typedef struct snap {
    uint8_t *buf;
    size_t len, cap;
} snap;

static void snap_add(snap *s, const void *p, size_t n)
{
    if (s->len + n > s->cap) {
        s->cap = (s->len + n) * 2 + 64;
        s->buf = realloc(s->buf, s->cap);
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
}

static int snap_visit(void *arg, const char *key, const uint8_t *val, size_t len)
{
    snap *s = arg;
    snap_add(s, key, strlen(key) + 1);
    snap_add(s, &len, sizeof(len));
    snap_add(s, val, len);
    return 0;
}

static snap snapshot(mem_obj *m)
{
    vmd_obj *o = mem_obj_handle(m);
    snap s = {NULL, 0, 0};
    char last[256] = "";
    uint8_t *h = NULL;
    size_t hlen = 0;
    int more = 1;

    if (o->ops->omap_header_get(o->h, &h, &hlen) == 0)
        snap_add(&s, h, hlen);
    free(h);
    while (more) {
        size_t before = s.len;
        more = 0;
        if (o->ops->omap_page(o->h, last, VMD_OMAP_PAGE, snap_visit, &s, &more) != 0)
            break;
        /* the last key written is the next page's start: find it again */
        if (more) {
            size_t off = before, lastoff = before;
            while (off < s.len) {
                size_t klen = strlen((char *)s.buf + off) + 1, vlen;
                lastoff = off;
                memcpy(&vlen, s.buf + off + klen, sizeof(vlen));
                off += klen + sizeof(vlen) + vlen;
            }
            snprintf(last, sizeof(last), "%s", (char *)s.buf + lastoff);
        }
    }
    snap_add(&s, "", 1);
    return s;
}

static int snap_equal(snap *a, snap *b)
{
    int eq = a->len == b->len && memcmp(a->buf, b->buf, a->len) == 0;
    free(a->buf);
    free(b->buf);
    return eq;
}

static int is_mutating(mem_method_fn fn)
{
    return fn == vmd_m_idx_register || fn == vmd_m_idx_release || fn == vmd_m_idx_ref ||
           fn == vmd_m_idx_mark_popular || fn == vmd_m_idx_unmark_popular;
}

/* The stored reply of op_id in partition t (vmdedup.idx_reply). */
static int fetch_reply(mem_obj *m, vmd_idx_target t, const uint8_t *op_id, uint8_t **out,
                       size_t *outlen)
{
    vmd_idx_reply_req req;
    uint8_t *in = NULL;
    size_t inlen;
    int rc;

    req.t = t;
    memcpy(req.op_id, op_id, VMD_OP_ID_SIZE);
    CU_ASSERT_EQUAL_FATAL(vmd_idx_reply_req_encode(&req, &in, &inlen), 0);
    rc = mem_obj_call(m, vmd_m_idx_reply, in, inlen, out, outlen);
    free(in);
    return rc;
}

/*
 * Runs a method as a client does; returns its rc and its reply. A mutating
 * method returns no output: its reply is fetched with idx_reply, using the
 * op id and target at the start of every mutating request (offsets 6, 22).
 */
static int run(mem_obj *m, mem_method_fn fn, const uint8_t *in, size_t len, uint8_t **out,
               size_t *outlen)
{
    vmd_idx_target t;
    int rc = mem_obj_call(m, fn, in, len, out, outlen);

    if (rc != 0 || !is_mutating(fn))
        return rc;
    CU_ASSERT_PTR_NULL(*out);
    CU_ASSERT_EQUAL(*outlen, 0);
    t.bits = in[22];
    t.partition = (uint16_t)(in[23] | in[24] << 8);
    CU_ASSERT_EQUAL(fetch_reply(m, t, in + 6, out, outlen), 0);
    return rc;
}

/* Runs a method whose reply the test does not look at. */
static int run_quiet(mem_obj *m, mem_method_fn fn, const uint8_t *in, size_t len)
{
    uint8_t *out = NULL;
    size_t outlen = 0;
    int rc = run(m, fn, in, len, &out, &outlen);
    free(out);
    return rc;
}

/* ---- one helper per method ---- */

static vmd_idx_reg_item reg_item(unsigned n, uint32_t len, uint64_t ctr, uint32_t slot)
{
    vmd_idx_reg_item it;
    memset(&it, 0, sizeof(it)); /* padding too: tests compare items with memcmp */
    it.fp = fp_make(n);
    it.chunk_len = len;
    it.loc.id = ctr;
    it.loc.slot = slot;
    return it;
}

static int do_register_t(mem_obj *m, const uint8_t *op, vmd_idx_target t, const char *vm,
                         vmd_idx_reg_item *items, uint32_t n, vmd_idx_register_reply *rep)
{
    vmd_idx_register_req req;
    uint8_t *in = NULL, *out = NULL;
    size_t inlen, outlen;
    int rc;

    memset(&req, 0, sizeof(req));
    memcpy(req.op_id, op, VMD_OP_ID_SIZE);
    req.t = t;
    snprintf(req.vm, sizeof(req.vm), "%s", vm);
    req.count = n;
    req.items = items;
    CU_ASSERT_EQUAL_FATAL(vmd_idx_register_req_encode(&req, &in, &inlen), 0);
    rc = run(m, vmd_m_idx_register, in, inlen, &out, &outlen);
    if (rc == 0 && rep)
        CU_ASSERT_EQUAL(vmd_idx_register_reply_decode(rep, out, outlen), 0);
    free(in);
    free(out);
    return rc;
}

static int do_register(mem_obj *m, const char *vm, vmd_idx_reg_item *items, uint32_t n,
                       vmd_idx_register_reply *rep)
{
    uint8_t op[VMD_OP_ID_SIZE];
    op_next(op);
    return do_register_t(m, op, T, vm, items, n, rep);
}

/* Registers fps 0..n-1 (length 4096 + i) for vm. */
static void register_range(mem_obj *m, const char *vm, unsigned first, unsigned n)
{
    vmd_idx_reg_item *items = calloc(n, sizeof(*items));
    unsigned i;
    for (i = 0; i < n; i++)
        items[i] = reg_item(first + i, 4096 + first + i, 7, first + i);
    CU_ASSERT_EQUAL(do_register(m, vm, items, n, NULL), 0);
    free(items);
}

static int do_release(mem_obj *m, const char *vm, vmd_fp *fps, uint32_t n,
                      vmd_idx_status_reply *rep)
{
    vmd_idx_release_req req;
    uint8_t *in = NULL, *out = NULL;
    size_t inlen, outlen;
    int rc;

    memset(&req, 0, sizeof(req));
    op_next(req.op_id);
    req.t = T;
    snprintf(req.vm, sizeof(req.vm), "%s", vm);
    req.count = n;
    req.fps = fps;
    CU_ASSERT_EQUAL_FATAL(vmd_idx_release_req_encode(&req, &in, &inlen), 0);
    rc = run(m, vmd_m_idx_release, in, inlen, &out, &outlen);
    if (rc == 0 && rep)
        CU_ASSERT_EQUAL(vmd_idx_status_reply_decode(rep, VMD_IDX_RELEASE_STATUS_MAX, out, outlen),
                        0);
    free(in);
    free(out);
    return rc;
}

static int do_ref(mem_obj *m, vmd_idx_ref_item *items, uint32_t n, vmd_idx_ref_reply *rep)
{
    vmd_idx_ref_req req;
    uint8_t *in = NULL, *out = NULL;
    size_t inlen, outlen;
    int rc;

    memset(&req, 0, sizeof(req));
    op_next(req.op_id);
    req.t = T;
    req.count = n;
    req.items = items;
    CU_ASSERT_EQUAL_FATAL(vmd_idx_ref_req_encode(&req, &in, &inlen), 0);
    rc = run(m, vmd_m_idx_ref, in, inlen, &out, &outlen);
    if (rc == 0 && rep)
        CU_ASSERT_EQUAL(vmd_idx_ref_reply_decode(rep, out, outlen), 0);
    free(in);
    free(out);
    return rc;
}

static int do_mark(mem_obj *m, vmd_idx_mark_item *items, uint32_t n, vmd_idx_status_reply *rep)
{
    vmd_idx_mark_req req;
    uint8_t *in = NULL, *out = NULL;
    size_t inlen, outlen;
    int rc;

    memset(&req, 0, sizeof(req));
    op_next(req.op_id);
    req.t = T;
    req.count = n;
    req.items = items;
    CU_ASSERT_EQUAL_FATAL(vmd_idx_mark_req_encode(&req, &in, &inlen), 0);
    rc = run(m, vmd_m_idx_mark_popular, in, inlen, &out, &outlen);
    if (rc == 0 && rep)
        CU_ASSERT_EQUAL(vmd_idx_status_reply_decode(rep, VMD_IDX_MARK_STATUS_MAX, out, outlen), 0);
    free(in);
    free(out);
    return rc;
}

static int do_unmark(mem_obj *m, vmd_fp *fps, uint32_t n, vmd_idx_status_reply *rep)
{
    vmd_idx_unmark_req req;
    uint8_t *in = NULL, *out = NULL;
    size_t inlen, outlen;
    int rc;

    memset(&req, 0, sizeof(req));
    op_next(req.op_id);
    req.t = T;
    req.count = n;
    req.fps = fps;
    CU_ASSERT_EQUAL_FATAL(vmd_idx_unmark_req_encode(&req, &in, &inlen), 0);
    rc = run(m, vmd_m_idx_unmark_popular, in, inlen, &out, &outlen);
    if (rc == 0 && rep)
        CU_ASSERT_EQUAL(vmd_idx_status_reply_decode(rep, VMD_IDX_UNMARK_STATUS_MAX, out, outlen),
                        0);
    free(in);
    free(out);
    return rc;
}

static int do_top(mem_obj *m, uint32_t min_vms, uint32_t max, const vmd_idx_top_item *after,
                  vmd_idx_top_reply *rep)
{
    vmd_idx_top_req req;
    uint8_t *in = NULL, *out = NULL;
    size_t inlen, outlen;
    int rc;

    memset(&req, 0, sizeof(req));
    req.t = T;
    req.min_vms = min_vms;
    req.max = max;
    if (after) {
        req.has_cursor = 1;
        req.cursor_vm_count = after->e.vm_count;
        req.cursor_fp = after->fp;
    }
    CU_ASSERT_EQUAL_FATAL(vmd_idx_top_req_encode(&req, &in, &inlen), 0);
    rc = run(m, vmd_m_idx_top, in, inlen, &out, &outlen);
    if (rc == 0)
        CU_ASSERT_EQUAL(vmd_idx_top_reply_decode(rep, out, outlen), 0);
    free(in);
    free(out);
    return rc;
}

static int do_stats_t(mem_obj *m, vmd_idx_target t, vmd_idx_counters *c)
{
    vmd_idx_stats_req req = {t};
    uint8_t *in = NULL, *out = NULL;
    size_t inlen, outlen;
    int rc;

    CU_ASSERT_EQUAL_FATAL(vmd_idx_stats_req_encode(&req, &in, &inlen), 0);
    rc = run(m, vmd_m_idx_stats, in, inlen, &out, &outlen);
    if (rc == 0)
        CU_ASSERT_EQUAL(vmd_idx_stats_reply_decode(c, out, outlen), 0);
    free(in);
    free(out);
    return rc;
}

static vmd_idx_counters stats(mem_obj *m)
{
    vmd_idx_counters c;
    memset(&c, 0, sizeof(c));
    CU_ASSERT_EQUAL(do_stats_t(m, T, &c), 0);
    return c;
}

/* The stored entry of fp n; 0 or the decode / lookup error. */
static int entry_of(mem_obj *m, unsigned n, vmd_idx_entry *e)
{
    vmd_obj *o = mem_obj_handle(m);
    vmd_fp fp = fp_make(n);
    char key[VMD_FP_HEX_SIZE];
    uint8_t *val = NULL;
    size_t len = 0;
    int rc;

    vmd_fp_hex(&fp, key);
    rc = o->ops->omap_get(o->h, key, &val, &len);
    if (rc == 0)
        rc = vmd_idx_entry_decode(e, val, len);
    free(val);
    return rc;
}

/* Sums every stored entry the way the header should. */
typedef struct sums {
    vmd_idx_counters c;
    size_t ops;
} sums;

static int sum_visit(void *arg, const char *key, const uint8_t *val, size_t len)
{
    sums *s = arg;
    vmd_idx_entry e;
    if (key[0] == '~') {
        s->ops++;
        return 0;
    }
    CU_ASSERT_EQUAL_FATAL(vmd_idx_entry_decode(&e, val, len), 0);
    s->c.entries++;
    s->c.holdings += e.vm_count;
    s->c.bytes += e.chunk_len;
    s->c.popular_refs += e.pop_refs;
    if (e.flags & VMD_IDX_ENTRY_POPULAR) {
        s->c.popular_entries++;
        s->c.popular_bytes += e.chunk_len;
    }
    return 0;
}

static void assert_counters_match_entries(mem_obj *m)
{
    vmd_obj *o = mem_obj_handle(m);
    vmd_idx_counters c = stats(m);
    sums s;
    int more = 0;

    memset(&s, 0, sizeof(s));
    /* the partitions of these tests fit in one omap page */
    CU_ASSERT_EQUAL_FATAL(o->ops->omap_page(o->h, "", VMD_OMAP_PAGE, sum_visit, &s, &more), 0);
    CU_ASSERT_FATAL(!more);
    CU_ASSERT_EQUAL(c.entries, s.c.entries);
    CU_ASSERT_EQUAL(c.holdings, s.c.holdings);
    CU_ASSERT_EQUAL(c.popular_entries, s.c.popular_entries);
    CU_ASSERT_EQUAL(c.bytes, s.c.bytes);
    CU_ASSERT_EQUAL(c.popular_bytes, s.c.popular_bytes);
    CU_ASSERT_EQUAL(c.popular_refs, s.c.popular_refs);
}

/* ================= formats ================= */

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

static vmd_idx_entry entry_sample(void)
{
    vmd_idx_entry e;
    memset(&e, 0, sizeof(e));
    e.flags = VMD_IDX_ENTRY_POPULAR;
    e.nvms = 3;
    e.vm_count = 5;
    e.chunk_len = 65536;
    e.pop_refs = 9;
    e.home.id = 0x1122334455667788ull;
    e.home.slot = 77;
    e.pop.id = 42;
    e.pop.slot = 3;
    strcpy(e.home_vm, "vm-one");
    e.vms[0] = 1;
    e.vms[1] = 5;
    e.vms[2] = UINT64_MAX;
    return e;
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
    vmd_put_u8(&w, 1);
    vmd_put_u8(&w, e->flags);
    vmd_put_u16(&w, e->nvms);
    vmd_put_u32(&w, e->vm_count);
    vmd_put_u32(&w, e->chunk_len);
    vmd_put_u64(&w, e->pop_refs);
    vmd_put_u64(&w, e->home.id);
    vmd_put_u32(&w, e->home.slot);
    vmd_put_u64(&w, e->pop.id);
    vmd_put_u32(&w, e->pop.slot);
    vmd_put_str8(&w, e->home_vm);
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

/* ================= message codecs ================= */

/* Every proper prefix of a valid message is refused with -EINVAL. */
typedef int (*decode_fn)(const uint8_t *buf, size_t len);

static int dec_register(const uint8_t *b, size_t l)
{
    vmd_idx_register_req r;
    int rc = vmd_idx_register_req_decode(&r, b, l);
    vmd_idx_register_req_free(&r);
    return rc;
}

static int dec_release(const uint8_t *b, size_t l)
{
    vmd_idx_release_req r;
    int rc = vmd_idx_release_req_decode(&r, b, l);
    vmd_idx_release_req_free(&r);
    return rc;
}

static int dec_ref(const uint8_t *b, size_t l)
{
    vmd_idx_ref_req r;
    int rc = vmd_idx_ref_req_decode(&r, b, l);
    vmd_idx_ref_req_free(&r);
    return rc;
}

static int dec_mark(const uint8_t *b, size_t l)
{
    vmd_idx_mark_req r;
    int rc = vmd_idx_mark_req_decode(&r, b, l);
    vmd_idx_mark_req_free(&r);
    return rc;
}

static int dec_unmark(const uint8_t *b, size_t l)
{
    vmd_idx_unmark_req r;
    int rc = vmd_idx_unmark_req_decode(&r, b, l);
    vmd_idx_unmark_req_free(&r);
    return rc;
}

static int dec_top(const uint8_t *b, size_t l)
{
    vmd_idx_top_req r;
    return vmd_idx_top_req_decode(&r, b, l);
}

static int dec_stats(const uint8_t *b, size_t l)
{
    vmd_idx_stats_req r;
    return vmd_idx_stats_req_decode(&r, b, l);
}

static int dec_reg_reply(const uint8_t *b, size_t l)
{
    vmd_idx_register_reply r;
    int rc = vmd_idx_register_reply_decode(&r, b, l);
    vmd_idx_register_reply_free(&r);
    return rc;
}

static int dec_status_reply(const uint8_t *b, size_t l)
{
    vmd_idx_status_reply r;
    int rc = vmd_idx_status_reply_decode(&r, 3, b, l);
    vmd_idx_status_reply_free(&r);
    return rc;
}

static int dec_ref_reply(const uint8_t *b, size_t l)
{
    vmd_idx_ref_reply r;
    int rc = vmd_idx_ref_reply_decode(&r, b, l);
    vmd_idx_ref_reply_free(&r);
    return rc;
}

static int dec_top_reply(const uint8_t *b, size_t l)
{
    vmd_idx_top_reply r;
    int rc = vmd_idx_top_reply_decode(&r, b, l);
    vmd_idx_top_reply_free(&r);
    return rc;
}

static int dec_stats_reply(const uint8_t *b, size_t l)
{
    vmd_idx_counters c;
    return vmd_idx_stats_reply_decode(&c, b, l);
}

/*
 * The envelope rules on a valid message: every truncation and a byte after
 * it are -EINVAL, bytes left in a v1 payload are -EINVAL, compat 2 is
 * -EPROTO, and a v2 message with an extra field is accepted.
 */
static void check_envelope_rules(decode_fn dec, const uint8_t *msg, size_t len)
{
    uint8_t *b = malloc(len + 1);
    size_t i;
    uint32_t payload = (uint32_t)(len - 6);

    CU_ASSERT_EQUAL(dec(msg, len), 0);
    for (i = 0; i < len; i++)
        CU_ASSERT_EQUAL(dec(msg, i), -EINVAL);
    memcpy(b, msg, len);
    b[len] = 0;
    CU_ASSERT_EQUAL(dec(b, len + 1), -EINVAL); /* after the envelope */
    payload++;
    for (i = 0; i < 4; i++)
        b[2 + i] = (uint8_t)(payload >> (8 * i));
    CU_ASSERT_EQUAL(dec(b, len + 1), -EINVAL); /* v1 with a byte too many */
    b[0] = 2;
    CU_ASSERT_EQUAL(dec(b, len + 1), 0); /* v2: unknown field ignored */
    b[1] = 2;
    CU_ASSERT_EQUAL(dec(b, len + 1), -EPROTO);
    b[0] = 1;
    CU_ASSERT_EQUAL(dec(b, len + 1), -EINVAL); /* compat > version */
    free(b);
}

static void test_requests_round_trip_and_envelope(void)
{
    vmd_idx_reg_item reg[3] = {reg_item(1, 100, 1, 2), reg_item(2, 200, 3, 4),
                               reg_item(9, 300, 5, 6)};
    vmd_fp fps[2] = {fp_make(1), fp_make(2)};
    vmd_idx_ref_item refs[2] = {{fp_make(1), -5}, {fp_make(2), VMD_IDX_DELTA_MAX}};
    vmd_idx_mark_item marks[2] = {{fp_make(1), {10, 1}}, {fp_make(4), {10, 2}}};
    vmd_idx_register_req rr = {{1}, T, "vm-a", 3, reg}, rd;
    vmd_idx_release_req rl = {{2}, T, "vm-b", 2, fps}, rld;
    vmd_idx_ref_req rf = {{3}, T, 2, refs}, rfd;
    vmd_idx_mark_req mk = {{4}, T, 2, marks}, mkd;
    vmd_idx_unmark_req um = {{5}, T, 2, fps}, umd;
    vmd_idx_top_req tp = {T, 2, 100, 1, 7, fp_make(3)}, tpd;
    vmd_idx_stats_req st = {T}, std;
    uint8_t *b;
    size_t n;

    CU_ASSERT_EQUAL_FATAL(vmd_idx_register_req_encode(&rr, &b, &n), 0);
    CU_ASSERT_EQUAL(n, 6 + 16 + 3 + 5 + 4 + 3 * 48);
    CU_ASSERT_EQUAL(vmd_idx_register_req_decode(&rd, b, n), 0);
    CU_ASSERT_STRING_EQUAL(rd.vm, "vm-a");
    CU_ASSERT_EQUAL(rd.count, 3);
    CU_ASSERT_EQUAL(memcmp(rd.items, reg, sizeof(reg)), 0);
    vmd_idx_register_req_free(&rd);
    check_envelope_rules(dec_register, b, n);
    free(b);

    CU_ASSERT_EQUAL_FATAL(vmd_idx_release_req_encode(&rl, &b, &n), 0);
    CU_ASSERT_EQUAL(vmd_idx_release_req_decode(&rld, b, n), 0);
    CU_ASSERT_EQUAL(rld.op_id[0], 2);
    CU_ASSERT_EQUAL(memcmp(rld.fps, fps, sizeof(fps)), 0);
    vmd_idx_release_req_free(&rld);
    check_envelope_rules(dec_release, b, n);
    free(b);

    CU_ASSERT_EQUAL_FATAL(vmd_idx_ref_req_encode(&rf, &b, &n), 0);
    CU_ASSERT_EQUAL(vmd_idx_ref_req_decode(&rfd, b, n), 0);
    CU_ASSERT_EQUAL(rfd.items[0].delta, -5);
    CU_ASSERT_EQUAL(rfd.items[1].delta, VMD_IDX_DELTA_MAX);
    vmd_idx_ref_req_free(&rfd);
    check_envelope_rules(dec_ref, b, n);
    free(b);

    CU_ASSERT_EQUAL_FATAL(vmd_idx_mark_req_encode(&mk, &b, &n), 0);
    CU_ASSERT_EQUAL(vmd_idx_mark_req_decode(&mkd, b, n), 0);
    CU_ASSERT_EQUAL(mkd.items[1].pop.slot, 2);
    vmd_idx_mark_req_free(&mkd);
    check_envelope_rules(dec_mark, b, n);
    free(b);

    CU_ASSERT_EQUAL_FATAL(vmd_idx_unmark_req_encode(&um, &b, &n), 0);
    CU_ASSERT_EQUAL(vmd_idx_unmark_req_decode(&umd, b, n), 0);
    CU_ASSERT_EQUAL(umd.count, 2);
    vmd_idx_unmark_req_free(&umd);
    check_envelope_rules(dec_unmark, b, n);
    free(b);

    CU_ASSERT_EQUAL_FATAL(vmd_idx_top_req_encode(&tp, &b, &n), 0);
    CU_ASSERT_EQUAL(vmd_idx_top_req_decode(&tpd, b, n), 0);
    CU_ASSERT_EQUAL(tpd.cursor_vm_count, 7);
    CU_ASSERT_EQUAL(tpd.max, 100);
    check_envelope_rules(dec_top, b, n);
    free(b);

    CU_ASSERT_EQUAL_FATAL(vmd_idx_stats_req_encode(&st, &b, &n), 0);
    CU_ASSERT_EQUAL(n, 9);
    CU_ASSERT_EQUAL(vmd_idx_stats_req_decode(&std, b, n), 0);
    CU_ASSERT_EQUAL(std.t.partition, PART);
    check_envelope_rules(dec_stats, b, n);
    free(b);
}

static void test_replies_round_trip_and_envelope(void)
{
    vmd_idx_reg_result res[3] = {{0, 1, {0, 0}}, {2, 7, {99, 5}}, {1, 2, {0, 0}}};
    vmd_idx_register_reply rr = {3, res}, rrd;
    uint8_t st[3] = {0, 3, 2};
    vmd_idx_status_reply sr = {3, st}, srd;
    uint64_t refs[2] = {0, UINT64_MAX};
    vmd_idx_ref_reply fr = {2, refs}, frd;
    vmd_idx_top_item items[2];
    vmd_idx_top_reply tr = {2, 1, items}, trd;
    vmd_idx_counters c = {1, 2, 1, 4, 3, 6}, cd;
    uint8_t *b;
    size_t n;

    CU_ASSERT_EQUAL_FATAL(vmd_idx_register_reply_encode(&rr, &b, &n), 0);
    CU_ASSERT_EQUAL(n, 6 + 4 + 5 + 17 + 5);
    CU_ASSERT_EQUAL(vmd_idx_register_reply_decode(&rrd, b, n), 0);
    CU_ASSERT_EQUAL(rrd.items[1].pop.id, 99);
    CU_ASSERT_EQUAL(rrd.items[2].vm_count, 2);
    vmd_idx_register_reply_free(&rrd);
    check_envelope_rules(dec_reg_reply, b, n);
    b[10] = 3; /* unknown status */
    CU_ASSERT_EQUAL(dec_reg_reply(b, n), -EINVAL);
    free(b);

    CU_ASSERT_EQUAL_FATAL(vmd_idx_status_reply_encode(&sr, 3, &b, &n), 0);
    CU_ASSERT_EQUAL(vmd_idx_status_reply_encode(&sr, 2, &b, &n), -EINVAL);
    CU_ASSERT_EQUAL(vmd_idx_status_reply_decode(&srd, 3, b, n), 0);
    CU_ASSERT_EQUAL(srd.status[1], 3);
    vmd_idx_status_reply_free(&srd);
    CU_ASSERT_EQUAL(vmd_idx_status_reply_decode(&srd, 2, b, n), -EINVAL);
    check_envelope_rules(dec_status_reply, b, n);
    free(b);

    CU_ASSERT_EQUAL_FATAL(vmd_idx_ref_reply_encode(&fr, &b, &n), 0);
    CU_ASSERT_EQUAL(vmd_idx_ref_reply_decode(&frd, b, n), 0);
    CU_ASSERT_EQUAL(frd.pop_refs[1], UINT64_MAX);
    vmd_idx_ref_reply_free(&frd);
    check_envelope_rules(dec_ref_reply, b, n);
    free(b);

    memset(items, 0, sizeof(items));
    items[0].fp = fp_make(5);
    items[0].e = entry_sample();
    items[0].e.nvms = 0;
    items[1].fp = fp_make(1);
    items[1].e = items[0].e;
    items[1].e.vm_count = 2;
    items[1].e.home_vm[0] = 0;
    items[1].e.home.id = items[1].e.home.slot = 0;
    CU_ASSERT_EQUAL_FATAL(vmd_idx_top_reply_encode(&tr, &b, &n), 0);
    CU_ASSERT_EQUAL(vmd_idx_top_reply_decode(&trd, b, n), 0);
    CU_ASSERT_EQUAL(trd.count, 2);
    CU_ASSERT_EQUAL(trd.more, 1);
    CU_ASSERT_STRING_EQUAL(trd.items[0].e.home_vm, "vm-one");
    CU_ASSERT_EQUAL(trd.items[1].e.vm_count, 2);
    vmd_idx_top_reply_free(&trd);
    check_envelope_rules(dec_top_reply, b, n);
    free(b);
    /* out of order */
    items[1].e.vm_count = 9;
    CU_ASSERT_EQUAL_FATAL(vmd_idx_top_reply_encode(&tr, &b, &n), 0);
    CU_ASSERT_EQUAL(dec_top_reply(b, n), -EINVAL);
    free(b);

    CU_ASSERT_EQUAL_FATAL(vmd_idx_stats_reply_encode(&c, &b, &n), 0);
    CU_ASSERT_EQUAL(vmd_idx_stats_reply_decode(&cd, b, n), 0);
    CU_ASSERT_EQUAL(memcmp(&c, &cd, sizeof(c)), 0);
    check_envelope_rules(dec_stats_reply, b, n);
    free(b);
}

/* Builds a register request by hand so that rules the encoder enforces can be broken. */
static size_t raw_register(uint8_t *buf, size_t cap, uint8_t bits, uint16_t part, const char *vm,
                           uint32_t count, const vmd_fp *fps, uint32_t nfps, uint32_t chunk_len)
{
    vmd_wr w;
    size_t env;
    uint32_t i;

    vmd_wr_init(&w, buf, cap);
    env = vmd_wr_begin(&w, 1, 1);
    vmd_put_bytes(&w, "0123456789abcdef", 16);
    vmd_put_u8(&w, bits);
    vmd_put_u16(&w, part);
    vmd_put_u8(&w, (uint8_t)strlen(vm));
    vmd_put_bytes(&w, vm, strlen(vm));
    vmd_put_u32(&w, count);
    for (i = 0; i < nfps; i++) {
        vmd_put_bytes(&w, fps[i].b, 32);
        vmd_put_u32(&w, chunk_len);
        vmd_put_u64(&w, 1);
        vmd_put_u32(&w, 2);
    }
    vmd_wr_end(&w, env);
    return w.len;
}

static void test_request_decoders_enforce_limits(void)
{
    uint8_t buf[4096];
    vmd_fp fps[3] = {fp_make(1), fp_make(2), fp_make(3)};
    char vm65[66];
    size_t n;

    n = raw_register(buf, sizeof(buf), BITS, PART, "vm", 3, fps, 3, 4096);
    CU_ASSERT_EQUAL(dec_register(buf, n), 0);
    n = raw_register(buf, sizeof(buf), BITS, PART, "vm", 0, fps, 0, 4096);
    CU_ASSERT_EQUAL(dec_register(buf, n), -EINVAL); /* empty batch */
    n = raw_register(buf, sizeof(buf), BITS, PART, "vm", 65537, fps, 3, 4096);
    CU_ASSERT_EQUAL(dec_register(buf, n), -EINVAL); /* count beyond the limit */
    n = raw_register(buf, sizeof(buf), BITS, PART, "vm", 4, fps, 3, 4096);
    CU_ASSERT_EQUAL(dec_register(buf, n), -EINVAL); /* count beyond the input */
    n = raw_register(buf, sizeof(buf), BITS, PART, "vm", 2, fps, 3, 4096);
    CU_ASSERT_EQUAL(dec_register(buf, n), -EINVAL); /* items left over */
    n = raw_register(buf, sizeof(buf), 17, PART, "vm", 3, fps, 3, 4096);
    CU_ASSERT_EQUAL(dec_register(buf, n), -EINVAL); /* bits > 16 */
    n = raw_register(buf, sizeof(buf), BITS, 16, "vm", 3, fps, 3, 4096);
    CU_ASSERT_EQUAL(dec_register(buf, n), -EINVAL); /* partition >= 2^bits */
    n = raw_register(buf, sizeof(buf), BITS, PART - 1, "vm", 3, fps, 3, 4096);
    CU_ASSERT_EQUAL(dec_register(buf, n), -EINVAL); /* fps outside the partition */
    n = raw_register(buf, sizeof(buf), BITS, PART, "", 3, fps, 3, 4096);
    CU_ASSERT_EQUAL(dec_register(buf, n), -EINVAL); /* empty VM id */
    n = raw_register(buf, sizeof(buf), BITS, PART, "a b", 3, fps, 3, 4096);
    CU_ASSERT_EQUAL(dec_register(buf, n), -EINVAL); /* bad VM id */
    memset(vm65, 'v', 65);
    vm65[65] = 0;
    n = raw_register(buf, sizeof(buf), BITS, PART, vm65, 3, fps, 3, 4096);
    CU_ASSERT_EQUAL(dec_register(buf, n), -EINVAL); /* VM id of 65 bytes */
    vm65[64] = 0;
    n = raw_register(buf, sizeof(buf), BITS, PART, vm65, 3, fps, 3, 4096);
    CU_ASSERT_EQUAL(dec_register(buf, n), 0); /* 64 bytes is fine */
    n = raw_register(buf, sizeof(buf), BITS, PART, "vm", 3, fps, 3, 0);
    CU_ASSERT_EQUAL(dec_register(buf, n), -EINVAL); /* chunk_len 0 */
    n = raw_register(buf, sizeof(buf), BITS, PART, "vm", 3, fps, 3, VMD_CHUNK_MAX + 1);
    CU_ASSERT_EQUAL(dec_register(buf, n), -EINVAL); /* chunk_len above 1 MiB */
    n = raw_register(buf, sizeof(buf), BITS, PART, "vm", 3, fps, 3, VMD_CHUNK_MAX);
    CU_ASSERT_EQUAL(dec_register(buf, n), 0);
    fps[1] = fps[0];
    n = raw_register(buf, sizeof(buf), BITS, PART, "vm", 3, fps, 3, 4096);
    CU_ASSERT_EQUAL(dec_register(buf, n), -EINVAL); /* duplicate fp */
    fps[1] = fps[2];
    fps[2] = fp_make(2);
    n = raw_register(buf, sizeof(buf), BITS, PART, "vm", 3, fps, 3, 4096);
    CU_ASSERT_EQUAL(dec_register(buf, n), -EINVAL); /* descending */
}

static void test_encoders_refuse_invalid_messages(void)
{
    vmd_fp fps[2] = {fp_make(2), fp_make(1)};
    vmd_idx_ref_item refs[1] = {{fp_make(1), 0}};
    vmd_idx_release_req rl = {{0}, T, "vm", 2, fps};
    vmd_idx_unmark_req um = {{0}, T, 0, fps};
    vmd_idx_ref_req rf = {{0}, T, 1, refs};
    vmd_idx_top_req tp = {T, 0, 0, 0, 0, {{0}}};
    vmd_idx_stats_req st = {{3, 8}};
    uint8_t *b = NULL;
    size_t n;

    CU_ASSERT_EQUAL(vmd_idx_release_req_encode(&rl, &b, &n), -EINVAL); /* descending */
    CU_ASSERT_EQUAL(vmd_idx_unmark_req_encode(&um, &b, &n), -EINVAL);  /* empty */
    um.count = VMD_IDX_BATCH_MAX + 1;
    CU_ASSERT_EQUAL(vmd_idx_unmark_req_encode(&um, &b, &n), -EINVAL); /* too many */
    CU_ASSERT_EQUAL(vmd_idx_ref_req_encode(&rf, &b, &n), -EINVAL);    /* delta 0 */
    refs[0].delta = VMD_IDX_DELTA_MAX + 1;
    CU_ASSERT_EQUAL(vmd_idx_ref_req_encode(&rf, &b, &n), -EINVAL);
    refs[0].delta = -VMD_IDX_DELTA_MAX - 1;
    CU_ASSERT_EQUAL(vmd_idx_ref_req_encode(&rf, &b, &n), -EINVAL);
    refs[0].delta = -VMD_IDX_DELTA_MAX;
    CU_ASSERT_EQUAL(vmd_idx_ref_req_encode(&rf, &b, &n), 0);
    free(b);
    CU_ASSERT_EQUAL(vmd_idx_top_req_encode(&tp, &b, &n), -EINVAL); /* max 0 */
    tp.max = VMD_IDX_TOP_MAX + 1;
    CU_ASSERT_EQUAL(vmd_idx_top_req_encode(&tp, &b, &n), -EINVAL);
    tp.max = VMD_IDX_TOP_MAX;
    tp.has_cursor = 1;
    tp.cursor_fp.b[0] = 0xff; /* cursor outside the partition */
    CU_ASSERT_EQUAL(vmd_idx_top_req_encode(&tp, &b, &n), -EINVAL);
    CU_ASSERT_EQUAL(vmd_idx_stats_req_encode(&st, &b, &n), -EINVAL); /* partition 8 of 2^3 */
}

static void test_top_request_decoder_limits(void)
{
    uint8_t buf[64];
    vmd_wr w;
    size_t env;
    uint32_t max;
    uint8_t cursor;

    for (max = 0; max <= 4097; max += 4096) {
        for (cursor = 0; cursor <= 2; cursor++) {
            vmd_wr_init(&w, buf, sizeof(buf));
            env = vmd_wr_begin(&w, 1, 1);
            vmd_put_u8(&w, BITS);
            vmd_put_u16(&w, PART);
            vmd_put_u32(&w, 0);
            vmd_put_u32(&w, max ? max : 0);
            vmd_put_u8(&w, cursor);
            vmd_wr_end(&w, env);
            /* max 4096 without cursor is the only valid one of these */
            CU_ASSERT_EQUAL(dec_top(buf, w.len), max == 4096 && cursor == 0 ? 0 : -EINVAL);
        }
    }
    vmd_wr_init(&w, buf, sizeof(buf));
    env = vmd_wr_begin(&w, 1, 1);
    vmd_put_u8(&w, BITS);
    vmd_put_u16(&w, PART);
    vmd_put_u32(&w, 0);
    vmd_put_u32(&w, 4097);
    vmd_put_u8(&w, 0);
    vmd_wr_end(&w, env);
    CU_ASSERT_EQUAL(dec_top(buf, w.len), -EINVAL);
}

/* ================= methods ================= */

static void test_register_new_known_and_stats(void)
{
    mem_obj *m = mem_obj_new();
    vmd_idx_reg_item items[3] = {reg_item(1, 4096, 10, 0), reg_item(2, 8192, 10, 1),
                                 reg_item(3, 100, 10, 2)};
    vmd_idx_register_reply rep;
    vmd_idx_counters c;
    vmd_idx_entry e;
    vmd_idx_target wrong = {BITS, PART + 1};

    CU_ASSERT_EQUAL(do_stats_t(m, T, &c), -ENOENT); /* no partition yet */
    CU_ASSERT_EQUAL(do_register(m, "vm-a", items, 3, &rep), 0);
    CU_ASSERT_EQUAL(rep.count, 3);
    CU_ASSERT_EQUAL(rep.items[0].status, VMD_IDX_NEW);
    CU_ASSERT_EQUAL(rep.items[2].status, VMD_IDX_NEW);
    CU_ASSERT_EQUAL(rep.items[1].vm_count, 1);
    vmd_idx_register_reply_free(&rep);
    c = stats(m);
    CU_ASSERT_EQUAL(c.entries, 3);
    CU_ASSERT_EQUAL(c.holdings, 3);
    CU_ASSERT_EQUAL(c.bytes, 4096 + 8192 + 100);
    CU_ASSERT_EQUAL(c.popular_entries, 0);
    CU_ASSERT_EQUAL(entry_of(m, 2, &e), 0);
    CU_ASSERT_STRING_EQUAL(e.home_vm, "vm-a");
    CU_ASSERT_EQUAL(e.home.id, 10);
    CU_ASSERT_EQUAL(e.home.slot, 1);
    CU_ASSERT_EQUAL(e.nvms, 1);
    CU_ASSERT_EQUAL(e.vms[0], vmd_vm_hash("vm-a", 4));

    /* the same VM again: KNOWN, counted once */
    CU_ASSERT_EQUAL(do_register(m, "vm-a", items, 3, &rep), 0);
    CU_ASSERT_EQUAL(rep.items[0].status, VMD_IDX_KNOWN);
    CU_ASSERT_EQUAL(rep.items[0].vm_count, 1);
    vmd_idx_register_reply_free(&rep);
    CU_ASSERT_EQUAL(stats(m).holdings, 3);

    /* another VM: KNOWN by 2; a new fp in the same call is NEW */
    items[2] = reg_item(4, 512, 20, 0);
    items[0].loc.id = 20;
    CU_ASSERT_EQUAL(do_register(m, "vm-b", items, 3, &rep), 0);
    CU_ASSERT_EQUAL(rep.items[0].status, VMD_IDX_KNOWN);
    CU_ASSERT_EQUAL(rep.items[0].vm_count, 2);
    CU_ASSERT_EQUAL(rep.items[2].status, VMD_IDX_NEW);
    vmd_idx_register_reply_free(&rep);
    CU_ASSERT_EQUAL(entry_of(m, 1, &e), 0);
    CU_ASSERT_STRING_EQUAL(e.home_vm, "vm-a"); /* home stays with the first VM */
    CU_ASSERT_EQUAL(e.home.id, 10);
    c = stats(m);
    CU_ASSERT_EQUAL(c.entries, 4);
    CU_ASSERT_EQUAL(c.holdings, 6);
    assert_counters_match_entries(m);

    /* another partition, other bits */
    CU_ASSERT_EQUAL(do_stats_t(m, wrong, &c), -EINVAL);
    wrong.bits = BITS + 1;
    wrong.partition = (uint16_t)(PART << 1);
    CU_ASSERT_EQUAL(do_stats_t(m, wrong, &c), -EINVAL);
    mem_obj_free(m);
}

static void test_register_rejects_other_length(void)
{
    mem_obj *m = mem_obj_new();
    vmd_idx_reg_item items[2] = {reg_item(1, 4096, 1, 0), reg_item(2, 4096, 1, 1)};
    snap before, after;

    CU_ASSERT_EQUAL(do_register(m, "vm-a", items, 2, NULL), 0);
    before = snapshot(m);
    items[0] = reg_item(0, 10, 2, 0); /* new: would be NEW */
    items[1].chunk_len = 4097;        /* known with 4096 */
    CU_ASSERT_EQUAL(do_register(m, "vm-b", items, 2, NULL), -EINVAL);
    after = snapshot(m);
    CU_ASSERT_TRUE(snap_equal(&before, &after)); /* nothing of the call applied */
    mem_obj_free(m);
}

static void test_register_with_wrong_bits_is_einval(void)
{
    mem_obj *m = mem_obj_new();
    vmd_idx_reg_item items[1] = {reg_item(1, 4096, 1, 0)};
    vmd_idx_target t5 = {BITS + 1, (uint16_t)(vmd_fp_partition(&items[0].fp, BITS + 1))};
    vmd_idx_target t3 = {BITS - 1, (uint16_t)(PART >> 1)};
    uint8_t op[16];

    CU_ASSERT_EQUAL(do_register(m, "vm-a", items, 1, NULL), 0);
    op_next(op);
    CU_ASSERT_EQUAL(do_register_t(m, op, t5, "vm-a", items, 1, NULL), -EINVAL);
    op_next(op);
    CU_ASSERT_EQUAL(do_register_t(m, op, t3, "vm-a", items, 1, NULL), -EINVAL);
    mem_obj_free(m);
}

static void test_popularity_counting_and_cap(void)
{
    mem_obj *m = mem_obj_new();
    vmd_idx_reg_item it = reg_item(1, 4096, 1, 0);
    vmd_idx_register_reply rep;
    vmd_idx_status_reply st;
    vmd_idx_entry e;
    vmd_fp fp = fp_make(1);
    char vm[16];
    int i;

    /* 17 VMs, each registering twice */
    for (i = 0; i <= 16; i++) {
        snprintf(vm, sizeof(vm), "vm-%02d", i);
        CU_ASSERT_EQUAL(do_register(m, vm, &it, 1, &rep), 0);
        CU_ASSERT_EQUAL(rep.items[0].vm_count, (uint32_t)i + 1);
        CU_ASSERT_EQUAL(rep.items[0].status, i ? VMD_IDX_KNOWN : VMD_IDX_NEW);
        vmd_idx_register_reply_free(&rep);
        /* the same VM again does not count while it is listed; beyond 16
           the list is full and a repeat counts again (an upper estimate) */
        CU_ASSERT_EQUAL(do_register(m, vm, &it, 1, &rep), 0);
        CU_ASSERT_EQUAL(rep.items[0].vm_count, (uint32_t)(i < 16 ? i + 1 : i + 2));
        vmd_idx_register_reply_free(&rep);
    }
    CU_ASSERT_EQUAL(entry_of(m, 1, &e), 0);
    CU_ASSERT_EQUAL(e.nvms, 16);
    CU_ASSERT_EQUAL(e.vm_count, 18); /* 17 VMs, vm-16 counted twice */
    for (i = 1; i < e.nvms; i++)
        CU_ASSERT(e.vms[i - 1] < e.vms[i]);
    assert_counters_match_entries(m);

    /* a listed VM leaves: its hash goes, the count drops */
    CU_ASSERT_EQUAL(do_release(m, "vm-00", &fp, 1, &st), 0);
    CU_ASSERT_EQUAL(st.status[0], VMD_IDX_RELEASED);
    vmd_idx_status_reply_free(&st);
    CU_ASSERT_EQUAL(entry_of(m, 1, &e), 0);
    CU_ASSERT_EQUAL(e.nvms, 15);
    CU_ASSERT_EQUAL(e.vm_count, 17);
    CU_ASSERT_EQUAL(e.home_vm[0], 0); /* vm-00 was home */
    CU_ASSERT_EQUAL(e.home.id, 0);
    /* an unlisted holder (vm-16) may leave while the count exceeds the list */
    CU_ASSERT_EQUAL(do_release(m, "vm-16", &fp, 1, &st), 0);
    CU_ASSERT_EQUAL(st.status[0], VMD_IDX_RELEASED);
    vmd_idx_status_reply_free(&st);
    CU_ASSERT_EQUAL(entry_of(m, 1, &e), 0);
    CU_ASSERT_EQUAL(e.vm_count, 16);
    /* a home-less entry takes the next registering VM's copy as home */
    CU_ASSERT_EQUAL(do_register(m, "vm-01", &it, 1, NULL), 0);
    CU_ASSERT_EQUAL(entry_of(m, 1, &e), 0);
    CU_ASSERT_STRING_EQUAL(e.home_vm, "vm-01");
    assert_counters_match_entries(m);
    mem_obj_free(m);
}

static void test_release_statuses(void)
{
    mem_obj *m = mem_obj_new();
    vmd_idx_status_reply st;
    vmd_fp fps[4] = {fp_make(1), fp_make(2), fp_make(3), fp_make(9)};
    vmd_idx_entry e;
    vmd_idx_counters c;

    register_range(m, "vm-a", 1, 3);
    register_range(m, "vm-b", 1, 1);
    /* fp 1: two holders -> RELEASED; fp 2, 3: last holder -> REMOVED; fp 9: NOT_FOUND */
    CU_ASSERT_EQUAL(do_release(m, "vm-a", fps, 4, &st), 0);
    CU_ASSERT_EQUAL(st.count, 4);
    CU_ASSERT_EQUAL(st.status[0], VMD_IDX_RELEASED);
    CU_ASSERT_EQUAL(st.status[1], VMD_IDX_REMOVED);
    CU_ASSERT_EQUAL(st.status[2], VMD_IDX_REMOVED);
    CU_ASSERT_EQUAL(st.status[3], VMD_IDX_NOT_FOUND);
    vmd_idx_status_reply_free(&st);
    CU_ASSERT_EQUAL(entry_of(m, 2, &e), -ENOENT);
    CU_ASSERT_EQUAL(entry_of(m, 1, &e), 0);
    CU_ASSERT_EQUAL(e.vm_count, 1);
    CU_ASSERT_EQUAL(e.home_vm[0], 0); /* home was in vm-a */
    /* vm-a again: NOT_HOLDER */
    CU_ASSERT_EQUAL(do_release(m, "vm-a", fps, 1, &st), 0);
    CU_ASSERT_EQUAL(st.status[0], VMD_IDX_NOT_HOLDER);
    vmd_idx_status_reply_free(&st);
    c = stats(m);
    CU_ASSERT_EQUAL(c.entries, 1);
    CU_ASSERT_EQUAL(c.holdings, 1);
    CU_ASSERT_EQUAL(c.bytes, 4097);
    assert_counters_match_entries(m);
    mem_obj_free(m);
}

static void test_mark_ref_unmark_flow(void)
{
    mem_obj *m = mem_obj_new();
    vmd_idx_mark_item mk[2] = {{fp_make(1), {500, 1}}, {fp_make(2), {500, 2}}};
    vmd_idx_ref_item rf[2] = {{fp_make(1), 3}, {fp_make(2), 1}};
    vmd_idx_reg_item it[2] = {reg_item(1, 4097, 9, 9), reg_item(2, 4098, 9, 9)};
    vmd_fp fps[2] = {fp_make(1), fp_make(2)};
    vmd_idx_status_reply st;
    vmd_idx_ref_reply rr;
    vmd_idx_register_reply rep;
    vmd_idx_counters c;
    vmd_idx_entry e;
    snap before, after;

    register_range(m, "vm-a", 1, 2);
    /* ref and unmark on entries that are not popular */
    CU_ASSERT_EQUAL(do_ref(m, rf, 2, NULL), -ENOENT);
    CU_ASSERT_EQUAL(do_unmark(m, fps, 2, &st), 0);
    CU_ASSERT_EQUAL(st.status[0], VMD_IDX_NOT_POPULAR);
    vmd_idx_status_reply_free(&st);
    /* mark a missing fp: nothing changes */
    mk[1].fp = fp_make(7);
    before = snapshot(m);
    CU_ASSERT_EQUAL(do_mark(m, mk, 2, NULL), -ENOENT);
    after = snapshot(m);
    CU_ASSERT_TRUE(snap_equal(&before, &after));
    mk[1].fp = fp_make(2);
    CU_ASSERT_EQUAL(do_mark(m, mk, 2, &st), 0);
    CU_ASSERT_EQUAL(st.status[0], VMD_IDX_MARKED);
    CU_ASSERT_EQUAL(st.status[1], VMD_IDX_MARKED);
    vmd_idx_status_reply_free(&st);
    c = stats(m);
    CU_ASSERT_EQUAL(c.popular_entries, 2);
    CU_ASSERT_EQUAL(c.popular_bytes, 4097 + 4098);

    /* register of a popular chunk: POPULAR with the copy's location, one more ref */
    CU_ASSERT_EQUAL(do_register(m, "vm-b", it, 2, &rep), 0);
    CU_ASSERT_EQUAL(rep.items[0].status, VMD_IDX_POPULAR);
    CU_ASSERT_EQUAL(rep.items[0].pop.id, 500);
    CU_ASSERT_EQUAL(rep.items[1].pop.slot, 2);
    CU_ASSERT_EQUAL(rep.items[1].vm_count, 2);
    vmd_idx_register_reply_free(&rep);
    CU_ASSERT_EQUAL(stats(m).popular_refs, 2);

    /* ref: +3 / +1 */
    CU_ASSERT_EQUAL(do_ref(m, rf, 2, &rr), 0);
    CU_ASSERT_EQUAL(rr.pop_refs[0], 4);
    CU_ASSERT_EQUAL(rr.pop_refs[1], 2);
    vmd_idx_ref_reply_free(&rr);
    /* all or nothing: fp 1 could drop by 4, fp 2 not by 3 */
    rf[0].delta = -4;
    rf[1].delta = -3;
    before = snapshot(m);
    CU_ASSERT_EQUAL(do_ref(m, rf, 2, NULL), -ERANGE);
    after = snapshot(m);
    CU_ASSERT_TRUE(snap_equal(&before, &after));

    /* moving a referenced copy, unmarking a referenced copy: EBUSY */
    mk[0].pop.slot = 77;
    CU_ASSERT_EQUAL(do_mark(m, mk, 1, NULL), -EBUSY);
    CU_ASSERT_EQUAL(do_unmark(m, fps, 1, NULL), -EBUSY);
    /* same location: ALREADY */
    mk[0].pop.slot = 1;
    CU_ASSERT_EQUAL(do_mark(m, mk, 2, &st), 0);
    CU_ASSERT_EQUAL(st.status[0], VMD_IDX_ALREADY);
    vmd_idx_status_reply_free(&st);

    /* drop every ref, then move fp 1 and unmark fp 2 */
    rf[0].delta = -4;
    rf[1].delta = -2;
    CU_ASSERT_EQUAL(do_ref(m, rf, 2, &rr), 0);
    CU_ASSERT_EQUAL(rr.pop_refs[0], 0);
    vmd_idx_ref_reply_free(&rr);
    mk[0].pop.slot = 77;
    CU_ASSERT_EQUAL(do_mark(m, mk, 1, &st), 0);
    CU_ASSERT_EQUAL(st.status[0], VMD_IDX_MOVED);
    vmd_idx_status_reply_free(&st);
    CU_ASSERT_EQUAL(entry_of(m, 1, &e), 0);
    CU_ASSERT_EQUAL(e.pop.slot, 77);

    /* a popular entry outlives its holders; unmarking it then removes it */
    CU_ASSERT_EQUAL(do_release(m, "vm-a", fps, 2, &st), 0);
    vmd_idx_status_reply_free(&st);
    CU_ASSERT_EQUAL(do_release(m, "vm-b", fps, 2, &st), 0);
    CU_ASSERT_EQUAL(st.status[0], VMD_IDX_RELEASED); /* popular: kept */
    vmd_idx_status_reply_free(&st);
    CU_ASSERT_EQUAL(entry_of(m, 2, &e), 0);
    CU_ASSERT_EQUAL(e.vm_count, 0);
    register_range(m, "vm-c", 1, 1); /* fp 1 held again */
    CU_ASSERT_EQUAL(do_ref(m, rf, 1, NULL), -ERANGE);
    rf[0].delta = -1;
    CU_ASSERT_EQUAL(do_ref(m, rf, 1, NULL), 0); /* the ref register added */
    CU_ASSERT_EQUAL(do_unmark(m, fps, 2, &st), 0);
    CU_ASSERT_EQUAL(st.status[0], VMD_IDX_UNMARKED);
    CU_ASSERT_EQUAL(st.status[1], VMD_IDX_UNMARK_REMOVED);
    vmd_idx_status_reply_free(&st);
    CU_ASSERT_EQUAL(entry_of(m, 2, &e), -ENOENT);
    CU_ASSERT_EQUAL(do_unmark(m, fps + 1, 1, NULL), -ENOENT);
    c = stats(m);
    CU_ASSERT_EQUAL(c.entries, 1);
    CU_ASSERT_EQUAL(c.popular_entries, 0);
    CU_ASSERT_EQUAL(c.popular_refs, 0);
    assert_counters_match_entries(m);
    mem_obj_free(m);
}

static void test_ref_limits(void)
{
    mem_obj *m = mem_obj_new();
    vmd_idx_mark_item mk = {fp_make(1), {1, 1}};
    vmd_idx_ref_item rf = {fp_make(1), VMD_IDX_DELTA_MAX};
    vmd_idx_ref_reply rr;

    register_range(m, "vm-a", 1, 1);
    CU_ASSERT_EQUAL(do_mark(m, &mk, 1, NULL), 0);
    CU_ASSERT_EQUAL(do_ref(m, &rf, 1, &rr), 0);
    CU_ASSERT_EQUAL(rr.pop_refs[0], 1u << 24);
    vmd_idx_ref_reply_free(&rr);
    rf.delta = -VMD_IDX_DELTA_MAX;
    CU_ASSERT_EQUAL(do_ref(m, &rf, 1, &rr), 0);
    CU_ASSERT_EQUAL(rr.pop_refs[0], 0);
    vmd_idx_ref_reply_free(&rr);
    rf.delta = -1;
    CU_ASSERT_EQUAL(do_ref(m, &rf, 1, NULL), -ERANGE);
    rf.fp = fp_make(2);
    CU_ASSERT_EQUAL(do_ref(m, &rf, 1, NULL), -ENOENT);
    mem_obj_free(m);
}

/* Runs `in` twice with the same bytes: same rc 0, same reply, and the second changes nothing. */
static void check_replay(mem_obj *m, mem_method_fn fn, const uint8_t *in, size_t len)
{
    uint8_t *out1 = NULL, *out2 = NULL;
    size_t len1 = 0, len2 = 0;
    snap before, after;

    CU_ASSERT_EQUAL_FATAL(run(m, fn, in, len, &out1, &len1), 0);
    before = snapshot(m);
    CU_ASSERT_EQUAL(run(m, fn, in, len, &out2, &len2), 0);
    after = snapshot(m);
    CU_ASSERT_TRUE(snap_equal(&before, &after));
    CU_ASSERT_EQUAL(len1, len2);
    CU_ASSERT(len1 == len2 && memcmp(out1, out2, len1) == 0);
    free(out1);
    free(out2);
}

static void test_replay_of_every_mutating_method(void)
{
    mem_obj *m = mem_obj_new();
    vmd_idx_reg_item reg[2] = {reg_item(1, 4097, 1, 1), reg_item(2, 4098, 1, 2)};
    vmd_fp fps[2] = {fp_make(1), fp_make(2)};
    vmd_idx_mark_item mk[2] = {{fp_make(1), {9, 1}}, {fp_make(2), {9, 2}}};
    vmd_idx_ref_item rf[2] = {{fp_make(1), 5}, {fp_make(2), 1}};
    vmd_idx_register_req rr = {{0}, T, "vm-a", 2, reg};
    vmd_idx_release_req rl = {{0}, T, "vm-b", 2, fps};
    vmd_idx_mark_req mq = {{0}, T, 2, mk};
    vmd_idx_ref_req fq = {{0}, T, 2, rf};
    vmd_idx_unmark_req uq = {{0}, T, 2, fps};
    uint8_t *in;
    size_t n;

    op_next(rr.op_id);
    CU_ASSERT_EQUAL_FATAL(vmd_idx_register_req_encode(&rr, &in, &n), 0);
    check_replay(m, vmd_m_idx_register, in, n); /* NEW both times */
    free(in);
    register_range(m, "vm-b", 1, 2);
    op_next(rl.op_id);
    CU_ASSERT_EQUAL_FATAL(vmd_idx_release_req_encode(&rl, &in, &n), 0);
    check_replay(m, vmd_m_idx_release, in, n); /* RELEASED, not NOT_HOLDER */
    free(in);
    op_next(mq.op_id);
    CU_ASSERT_EQUAL_FATAL(vmd_idx_mark_req_encode(&mq, &in, &n), 0);
    check_replay(m, vmd_m_idx_mark_popular, in, n); /* MARKED, not ALREADY */
    free(in);
    op_next(fq.op_id);
    CU_ASSERT_EQUAL_FATAL(vmd_idx_ref_req_encode(&fq, &in, &n), 0);
    check_replay(m, vmd_m_idx_ref, in, n); /* counted once */
    free(in);
    CU_ASSERT_EQUAL(stats(m).popular_refs, 6);
    rf[0].delta = -5;
    rf[1].delta = -1;
    op_next(fq.op_id);
    CU_ASSERT_EQUAL_FATAL(vmd_idx_ref_req_encode(&fq, &in, &n), 0);
    CU_ASSERT_EQUAL(run_quiet(m, vmd_m_idx_ref, in, n), 0);
    free(in);
    op_next(uq.op_id);
    CU_ASSERT_EQUAL_FATAL(vmd_idx_unmark_req_encode(&uq, &in, &n), 0);
    check_replay(m, vmd_m_idx_unmark_popular, in, n); /* UNMARKED, not NOT_POPULAR */
    free(in);
    assert_counters_match_entries(m);
    mem_obj_free(m);
}

static void test_failed_call_records_nothing(void)
{
    mem_obj *m = mem_obj_new();
    vmd_idx_ref_item rf = {fp_make(1), 1};
    vmd_idx_ref_req fq = {{0}, T, 1, &rf};
    vmd_idx_mark_item mk = {fp_make(1), {1, 1}};
    uint8_t *in, *out = NULL;
    size_t n, outlen;

    register_range(m, "vm-a", 1, 1);
    op_next(fq.op_id);
    CU_ASSERT_EQUAL_FATAL(vmd_idx_ref_req_encode(&fq, &in, &n), 0);
    CU_ASSERT_EQUAL(run_quiet(m, vmd_m_idx_ref, in, n), -ENOENT); /* not popular yet */
    CU_ASSERT_EQUAL(do_mark(m, &mk, 1, NULL), 0);
    /* the resend runs afresh, it is not answered with the failure */
    CU_ASSERT_EQUAL(run(m, vmd_m_idx_ref, in, n, &out, &outlen), 0);
    free(out);
    free(in);
    CU_ASSERT_EQUAL(stats(m).popular_refs, 1);
    mem_obj_free(m);
}

static void test_op_ids_evicted_after_16(void)
{
    mem_obj *m = mem_obj_new();
    vmd_idx_reg_item it = reg_item(1, 4097, 1, 1);
    vmd_idx_register_req rr = {{0}, T, "vm-a", 1, &it};
    vmd_idx_register_reply rep;
    uint8_t *in, *out = NULL;
    size_t n, outlen;
    int i;

    op_next(rr.op_id);
    CU_ASSERT_EQUAL_FATAL(vmd_idx_register_req_encode(&rr, &in, &n), 0);
    CU_ASSERT_EQUAL(run_quiet(m, vmd_m_idx_register, in, n), 0);
    /* 15 more ops: the first is still remembered (NEW replayed) */
    for (i = 0; i < 15; i++)
        register_range(m, "vm-b", 10 + i, 1);
    CU_ASSERT_EQUAL(mem_obj_omap_count(m), 16 + 16);
    CU_ASSERT_EQUAL(run(m, vmd_m_idx_register, in, n, &out, &outlen), 0);
    CU_ASSERT_EQUAL(vmd_idx_register_reply_decode(&rep, out, outlen), 0);
    CU_ASSERT_EQUAL(rep.items[0].status, VMD_IDX_NEW);
    vmd_idx_register_reply_free(&rep);
    free(out);
    /* a 17th op evicts it: the same bytes now run afresh (KNOWN) */
    register_range(m, "vm-b", 40, 1);
    CU_ASSERT_EQUAL(mem_obj_omap_count(m), 17 + 16);
    CU_ASSERT_EQUAL(run(m, vmd_m_idx_register, in, n, &out, &outlen), 0);
    CU_ASSERT_EQUAL(vmd_idx_register_reply_decode(&rep, out, outlen), 0);
    CU_ASSERT_EQUAL(rep.items[0].status, VMD_IDX_KNOWN);
    vmd_idx_register_reply_free(&rep);
    free(out);
    CU_ASSERT_EQUAL(mem_obj_omap_count(m), 17 + 16); /* still 16 replies kept */
    free(in);
    mem_obj_free(m);
}

/* Registers fp n for vm_count distinct VMs. */
static void register_held_by(mem_obj *m, unsigned n, unsigned vms)
{
    vmd_idx_reg_item it = reg_item(n, 4096 + n, 1, n);
    char vm[16];
    unsigned i;
    for (i = 0; i < vms; i++) {
        snprintf(vm, sizeof(vm), "vm-%u", i);
        CU_ASSERT_EQUAL(do_register(m, vm, &it, 1, NULL), 0);
    }
}

static void test_top_order_paging_and_cursor(void)
{
    mem_obj *m = mem_obj_new();
    /* fp n held by counts[n] VMs */
    static const unsigned counts[] = {3, 1, 5, 3, 2, 5, 1, 4, 3, 2};
    const unsigned N = sizeof(counts) / sizeof(counts[0]);
    vmd_idx_top_reply page;
    vmd_idx_top_item last, seen[16];
    unsigned i, got = 0, pages = 0;
    int rc;

    CU_ASSERT_EQUAL(do_top(m, 0, 10, NULL, &page), -ENOENT);
    for (i = 0; i < N; i++)
        register_held_by(m, i, counts[i]);
    /* pages of 3, min_vms 2: 8 entries qualify */
    for (;;) {
        rc = do_top(m, 2, 3, pages ? &last : NULL, &page);
        CU_ASSERT_EQUAL_FATAL(rc, 0);
        for (i = 0; i < page.count && got < 16; i++)
            seen[got++] = page.items[i];
        pages++;
        if (page.count)
            last = page.items[page.count - 1];
        if (!page.more) {
            vmd_idx_top_reply_free(&page);
            break;
        }
        CU_ASSERT_EQUAL(page.count, 3);
        vmd_idx_top_reply_free(&page);
    }
    CU_ASSERT_EQUAL(got, 8);
    CU_ASSERT_EQUAL(pages, 3);
    /* 5: fp 2, 5; 4: fp 7; 3: fp 0, 3, 8; 2: fp 4, 9 */
    {
        static const unsigned want[] = {2, 5, 7, 0, 3, 8, 4, 9};
        for (i = 0; i < 8 && i < got; i++) {
            vmd_fp fp = fp_make(want[i]);
            CU_ASSERT_EQUAL(vmd_fp_cmp(&seen[i].fp, &fp), 0);
            CU_ASSERT_EQUAL(seen[i].e.vm_count, counts[want[i]]);
            CU_ASSERT_EQUAL(seen[i].e.chunk_len, 4096 + want[i]);
            CU_ASSERT_STRING_EQUAL(seen[i].e.home_vm, "vm-0");
        }
    }
    /* exactly max entries left: more = 0 */
    CU_ASSERT_EQUAL(do_top(m, 5, 2, NULL, &page), 0);
    CU_ASSERT_EQUAL(page.count, 2);
    CU_ASSERT_EQUAL(page.more, 0);
    vmd_idx_top_reply_free(&page);
    /* nothing that popular */
    CU_ASSERT_EQUAL(do_top(m, 6, 10, NULL, &page), 0);
    CU_ASSERT_EQUAL(page.count, 0);
    CU_ASSERT_EQUAL(page.more, 0);
    vmd_idx_top_reply_free(&page);
    mem_obj_free(m);
}

static void test_top_scans_many_pages(void)
{
    mem_obj *m = mem_obj_new();
    vmd_idx_top_reply page;
    vmd_idx_reg_item it;
    unsigned i, total = 0;
    vmd_idx_top_item last;
    int first = 1;

    register_range(m, "vm-a", 0, 2500); /* > 2 omap pages */
    register_range(m, "vm-b", 1200, 3); /* in the second page: vm_count 2 */
    it = reg_item(2499, 4096 + 2499, 1, 1);
    CU_ASSERT_EQUAL(do_register(m, "vm-c", &it, 1, NULL), 0);
    CU_ASSERT_EQUAL(do_register(m, "vm-d", &it, 1, NULL), 0); /* last entry: 3 */
    CU_ASSERT_EQUAL(do_top(m, 1, 4, NULL, &page), 0);
    CU_ASSERT_EQUAL(page.count, 4);
    CU_ASSERT_EQUAL(page.more, 1);
    CU_ASSERT_EQUAL(page.items[0].e.vm_count, 3);
    CU_ASSERT_EQUAL(page.items[1].e.vm_count, 2);
    CU_ASSERT_EQUAL(page.items[3].e.vm_count, 2);
    vmd_idx_top_reply_free(&page);
    /* pages of 4096 walk all 2500 entries once */
    for (;;) {
        CU_ASSERT_EQUAL_FATAL(do_top(m, 0, VMD_IDX_TOP_MAX, first ? NULL : &last, &page), 0);
        total += page.count;
        if (page.count)
            last = page.items[page.count - 1];
        first = 0;
        i = page.more;
        vmd_idx_top_reply_free(&page);
        if (!i)
            break;
    }
    CU_ASSERT_EQUAL(total, 2500);
    mem_obj_free(m);
}

static void test_full_batch_of_65536(void)
{
    mem_obj *m = mem_obj_new();
    vmd_idx_reg_item *items = calloc(VMD_IDX_BATCH_MAX + 1, sizeof(*items));
    vmd_idx_register_req rr = {{0}, T, "vm-a", VMD_IDX_BATCH_MAX + 1, items};
    vmd_idx_register_reply rep;
    uint8_t *in = NULL;
    size_t n;
    unsigned i;

    for (i = 0; i <= VMD_IDX_BATCH_MAX; i++)
        items[i] = reg_item(i, 4096, 1, i);
    CU_ASSERT_EQUAL(vmd_idx_register_req_encode(&rr, &in, &n), -EINVAL);
    CU_ASSERT_EQUAL(do_register(m, "vm-a", items, VMD_IDX_BATCH_MAX, &rep), 0);
    CU_ASSERT_EQUAL(rep.count, VMD_IDX_BATCH_MAX);
    CU_ASSERT_EQUAL(rep.items[VMD_IDX_BATCH_MAX - 1].status, VMD_IDX_NEW);
    vmd_idx_register_reply_free(&rep);
    CU_ASSERT_EQUAL(stats(m).entries, VMD_IDX_BATCH_MAX);
    CU_ASSERT_EQUAL(do_register(m, "vm-b", items, VMD_IDX_BATCH_MAX, &rep), 0);
    CU_ASSERT_EQUAL(rep.items[4000].status, VMD_IDX_KNOWN);
    CU_ASSERT_EQUAL(rep.items[4000].vm_count, 2);
    vmd_idx_register_reply_free(&rep);
    CU_ASSERT_EQUAL(stats(m).holdings, 2 * VMD_IDX_BATCH_MAX);
    free(items);
    mem_obj_free(m);
}

/* ---- corrupt stored state: -EIO, never a crash ---- */

static const uint8_t *g_header;
static size_t g_header_len;

static int put_header(vmd_obj *o, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen)
{
    (void)in;
    (void)inlen;
    (void)out;
    (void)outlen;
    return o->ops->omap_header_set(o->h, g_header, g_header_len);
}

static void set_header(mem_obj *m, const void *buf, size_t len)
{
    g_header = buf;
    g_header_len = len;
    CU_ASSERT_EQUAL(run_quiet(m, put_header, NULL, 0), 0);
}

static void test_corrupt_state_is_eio(void)
{
    mem_obj *m = mem_obj_new();
    vmd_idx_reg_item it = reg_item(1, 4097, 1, 1);
    vmd_idx_top_reply page;
    vmd_idx_counters c;
    vmd_idx_header h;
    uint8_t hb[VMD_IDX_HEADER_MAX];
    size_t hlen;
    vmd_fp fp = fp_make(1);
    char key[VMD_FP_HEX_SIZE];

    /* garbage header */
    set_header(m, "garbage!", 8);
    CU_ASSERT_EQUAL(do_register(m, "vm-a", &it, 1, NULL), -EIO);
    CU_ASSERT_EQUAL(do_stats_t(m, T, &c), -EIO);
    CU_ASSERT_EQUAL(do_top(m, 0, 5, NULL, &page), -EIO);

    /* an empty header (omap never written) is a fresh partition */
    set_header(m, "", 0);
    CU_ASSERT_EQUAL(do_stats_t(m, T, &c), 0);
    CU_ASSERT_EQUAL(c.entries, 0);
    CU_ASSERT_EQUAL(do_register(m, "vm-a", &it, 1, NULL), 0);

    /* a corrupt entry */
    vmd_fp_hex(&fp, key);
    CU_ASSERT_EQUAL(mem_obj_put_omap(m, key, "\x01\x00", 2), 0);
    CU_ASSERT_EQUAL(do_register(m, "vm-a", &it, 1, NULL), -EIO);
    CU_ASSERT_EQUAL(do_release(m, "vm-a", &fp, 1, NULL), -EIO);
    CU_ASSERT_EQUAL(do_top(m, 0, 5, NULL, &page), -EIO);

    /* a key that is not an entry of this partition */
    mem_obj_free(m);
    m = mem_obj_new();
    register_range(m, "vm-a", 1, 1);
    CU_ASSERT_EQUAL(mem_obj_put_omap(m, "not-hex", "x", 1), 0);
    CU_ASSERT_EQUAL(do_top(m, 0, 5, NULL, &page), -EIO);

    /* counters that cannot hold the entries */
    mem_obj_free(m);
    m = mem_obj_new();
    register_range(m, "vm-a", 1, 2);
    memset(&h, 0, sizeof(h));
    h.bits = BITS;
    h.partition = PART;
    h.c.entries = 1;
    CU_ASSERT_EQUAL(vmd_idx_header_encode(&h, hb, sizeof(hb), &hlen), 0);
    set_header(m, hb, hlen);
    {
        vmd_fp fps[2] = {fp_make(1), fp_make(2)};
        CU_ASSERT_EQUAL(do_release(m, "vm-a", fps, 2, NULL), -EIO);
    }

    /* an op id whose reply is missing */
    {
        vmd_idx_register_req rr = {{0}, T, "vm-a", 1, &it};
        uint8_t *in;
        size_t n;
        h.c.entries = 10;
        h.c.holdings = 10;
        h.c.bytes = 100000;
        h.nops = 1;
        op_next(h.ops[0]);
        memcpy(rr.op_id, h.ops[0], 16);
        CU_ASSERT_EQUAL(vmd_idx_header_encode(&h, hb, sizeof(hb), &hlen), 0);
        set_header(m, hb, hlen);
        CU_ASSERT_EQUAL_FATAL(vmd_idx_register_req_encode(&rr, &in, &n), 0);
        CU_ASSERT_EQUAL(run_quiet(m, vmd_m_idx_register, in, n), -EIO);
        /* and one whose stored reply is garbage */
        {
            char opkey[VMD_IDX_OP_KEY_SIZE];
            vmd_idx_op_key(rr.op_id, opkey);
            CU_ASSERT_EQUAL(mem_obj_put_omap(m, opkey, "zz", 2), 0);
            CU_ASSERT_EQUAL(run_quiet(m, vmd_m_idx_register, in, n), -EIO);
        }
        free(in);
    }
    mem_obj_free(m);
}

static void test_reply_of_unknown_op_is_enoent(void)
{
    mem_obj *m = mem_obj_new();
    uint8_t op[VMD_OP_ID_SIZE], *out = NULL;
    size_t outlen = 0;
    vmd_idx_target other = {BITS, PART + 1};
    uint8_t junk[] = {1, 1, 3, 0, 0, 0, 4, 5, 0};

    op_next(op);
    CU_ASSERT_EQUAL(fetch_reply(m, T, op, &out, &outlen), -ENOENT); /* no partition */
    register_range(m, "vm-a", 1, 1);
    CU_ASSERT_EQUAL(fetch_reply(m, T, op, &out, &outlen), -ENOENT); /* unknown op */
    CU_ASSERT_EQUAL(fetch_reply(m, other, op, &out, &outlen), -EINVAL);
    CU_ASSERT_EQUAL(run_quiet(m, vmd_m_idx_reply, junk, sizeof(junk)), -EINVAL);
    CU_ASSERT_PTR_NULL(out);
    mem_obj_free(m);
}

static void test_malformed_requests_are_einval(void)
{
    mem_obj *m = mem_obj_new();
    static const mem_method_fn fns[] = {
        vmd_m_idx_register,       vmd_m_idx_release, vmd_m_idx_ref,   vmd_m_idx_mark_popular,
        vmd_m_idx_unmark_popular, vmd_m_idx_top,     vmd_m_idx_stats, vmd_m_idx_reply};
    uint8_t newer[] = {2, 2, 0, 0, 0, 0};
    uint8_t junk[] = {1, 1, 3, 0, 0, 0, 4, 5, 6};
    size_t i;

    register_range(m, "vm-a", 1, 1);
    for (i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        CU_ASSERT_EQUAL(run_quiet(m, fns[i], NULL, 0), -EINVAL);
        CU_ASSERT_EQUAL(run_quiet(m, fns[i], junk, 3), -EINVAL);
        CU_ASSERT_EQUAL(run_quiet(m, fns[i], newer, sizeof(newer)), -EPROTO);
    }
    /* junk: a v1 stats request for bits 4, partition 0x0605 -> partition out of range */
    CU_ASSERT_EQUAL(run_quiet(m, vmd_m_idx_stats, junk, sizeof(junk)), -EINVAL);
    mem_obj_free(m);
}

int main(void)
{
    static const vmd_test_case cases[] = {
        {"fp hex, partition, oid, op key", test_fp_hex_and_partition},
        {"VM hash (FNV-1a 64) and VM ids", test_vm_hash_and_ids},
        {"entry round trip", test_entry_round_trip},
        {"entry rejects each broken rule", test_entry_rejects_each_broken_rule},
        {"header round trip and rejects", test_header_round_trip_and_rejects},
        {"requests: round trip and envelope rules", test_requests_round_trip_and_envelope},
        {"replies: round trip and envelope rules", test_replies_round_trip_and_envelope},
        {"request decoders enforce limits", test_request_decoders_enforce_limits},
        {"encoders refuse invalid messages", test_encoders_refuse_invalid_messages},
        {"top request decoder limits", test_top_request_decoder_limits},
        {"register: NEW, KNOWN, stats", test_register_new_known_and_stats},
        {"register: other chunk length is EINVAL", test_register_rejects_other_length},
        {"register: wrong bits is EINVAL", test_register_with_wrong_bits_is_einval},
        {"popularity: counted once, 16 listed", test_popularity_counting_and_cap},
        {"release statuses", test_release_statuses},
        {"mark / ref / unmark flow", test_mark_ref_unmark_flow},
        {"ref limits", test_ref_limits},
        {"replay of every mutating method", test_replay_of_every_mutating_method},
        {"a failed call records nothing", test_failed_call_records_nothing},
        {"op ids evicted after 16", test_op_ids_evicted_after_16},
        {"top: order, paging, cursor", test_top_order_paging_and_cursor},
        {"top: scans many omap pages", test_top_scans_many_pages},
        {"full batch of 65,536", test_full_batch_of_65536},
        {"corrupt state is EIO", test_corrupt_state_is_eio},
        {"reply of an unknown op is ENOENT", test_reply_of_unknown_op_is_enoent},
        {"malformed requests", test_malformed_requests_are_einval},
        {NULL, NULL},
    };
    return vmd_test_main("idx", cases);
}
