/*
 * test_idx_fixture.c - the partition, fingerprints and one helper per method
 * that every part of test_idx uses (declared in test_idx.h).
 *
 * Each helper encodes a request, runs the method as the OSD would
 * (mem_obj_call: writes commit only on success), fetches the stored reply of
 * a mutating method with idx_reply as a client does, and decodes it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_idx.h"

const vmd_idx_target T = {BITS, PART};

/* ---- fixtures ---- */

/* A fingerprint in partition PART of 2^BITS whose value grows with n. */
vmd_fp fp_make(unsigned n)
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

void op_next(uint8_t op[VMD_OP_ID_SIZE])
{
    static uint64_t counter;
    uint64_t c = ++counter;
    memset(op, 0xab, VMD_OP_ID_SIZE);
    memcpy(op + 8, &c, sizeof(c));
}

/* The whole committed object (header, every key and value), to compare before and after. */
snap snapshot(mem_obj *m)
{
    snap s;
    CU_ASSERT_EQUAL_FATAL(vmd_test_obj_image_get(m, &s), 0);
    return s;
}

/* 1 when a and b are the same bytes; frees both. */
int snap_equal(snap *a, snap *b)
{
    return vmd_test_obj_image_equal(a, b);
}

/* The stored reply of op_id in partition t (vmdedup.idx_reply). */
int fetch_reply(mem_obj *m, vmd_idx_target t, const uint8_t *op_id, uint8_t **out, size_t *outlen)
{
    return vmd_test_idx_reply(m, t, op_id, out, outlen);
}

/*
 * Runs a method as a client does; returns its rc and its reply. A mutating
 * method returns no output: its reply is fetched with idx_reply, using the
 * op id and target at the start of every mutating request (offsets 6, 22).
 */
int run(mem_obj *m, mem_method_fn fn, const uint8_t *in, size_t len, uint8_t **out, size_t *outlen)
{
    int rc = mem_obj_call(m, fn, in, len, out, outlen);

    if (rc != 0 || !vmd_test_idx_mutating(fn))
        return rc;
    CU_ASSERT_PTR_NULL(*out);
    CU_ASSERT_EQUAL(*outlen, 0);
    CU_ASSERT_EQUAL(vmd_test_idx_reply_of(m, in, len, out, outlen), 0);
    return rc;
}

/* Runs a method whose reply the test does not look at. */
int run_quiet(mem_obj *m, mem_method_fn fn, const uint8_t *in, size_t len)
{
    uint8_t *out = NULL;
    size_t outlen = 0;
    int rc = run(m, fn, in, len, &out, &outlen);
    free(out);
    return rc;
}

/* ---- one helper per method ---- */

vmd_idx_reg_item reg_item(unsigned n, uint32_t len, uint64_t ctr, uint32_t slot)
{
    vmd_idx_reg_item it;
    memset(&it, 0, sizeof(it)); /* padding too: tests compare items with memcmp */
    it.fp = fp_make(n);
    it.chunk_len = len;
    it.loc.id = ctr;
    it.loc.slot = slot;
    return it;
}

/* A mutating method as the helpers call it: its request and reply by kind (index_msg.h). */
typedef struct batch_method {
    mem_method_fn fn;
    vmd_idx_batch_kind request;
    vmd_idx_reply_kind reply;
    uint8_t max_status; /* of a STATUS reply */
} batch_method;

static const batch_method REGISTER = {vmd_m_idx_register, VMD_IDX_BATCH_REGISTER,
                                      VMD_IDX_REPLY_REGISTER, 0};
static const batch_method RELEASE = {vmd_m_idx_release, VMD_IDX_BATCH_RELEASE, VMD_IDX_REPLY_STATUS,
                                     VMD_IDX_RELEASE_STATUS_MAX};
static const batch_method REF = {vmd_m_idx_ref, VMD_IDX_BATCH_REF, VMD_IDX_REPLY_REF, 0};
static const batch_method MARK = {vmd_m_idx_mark_popular, VMD_IDX_BATCH_MARK, VMD_IDX_REPLY_STATUS,
                                  VMD_IDX_MARK_STATUS_MAX};
static const batch_method UNMARK = {vmd_m_idx_unmark_popular, VMD_IDX_BATCH_UNMARK,
                                    VMD_IDX_REPLY_STATUS, VMD_IDX_UNMARK_STATUS_MAX};

/*
 * Runs method bm with op id op (a fresh one when NULL) on n items for target
 * t (and vm). When the call succeeds and count is given, its reply decodes
 * into *count results in *results (malloc()ed); else *results stays NULL.
 */
static int do_batch(mem_obj *m, const batch_method *bm, const uint8_t *op, vmd_idx_target t,
                    const char *vm, const void *items, uint32_t n, uint32_t *count, void **results)
{
    uint8_t fresh[VMD_OP_ID_SIZE], *in = NULL, *out = NULL;
    size_t inlen = 0, outlen = 0;
    int rc;

    *results = NULL;
    if (!op) {
        op_next(fresh);
        op = fresh;
    }
    CU_ASSERT_EQUAL_FATAL(vmd_idx_batch_req_encode(bm->request, op, t, vm, n, items, &in, &inlen),
                          0);
    rc = run(m, bm->fn, in, inlen, &out, &outlen);
    if (rc == 0 && count)
        CU_ASSERT_EQUAL(
            vmd_idx_reply_decode(bm->reply, bm->max_status, out, outlen, count, results), 0);
    free(in);
    free(out);
    return rc;
}

int do_register_t(mem_obj *m, const uint8_t *op, vmd_idx_target t, const char *vm,
                  vmd_idx_reg_item *items, uint32_t n, vmd_idx_register_reply *rep)
{
    void *res;
    int rc = do_batch(m, &REGISTER, op, t, vm, items, n, rep ? &rep->count : NULL, &res);
    if (rep && rc == 0)
        rep->items = res;
    return rc;
}

int do_register(mem_obj *m, const char *vm, vmd_idx_reg_item *items, uint32_t n,
                vmd_idx_register_reply *rep)
{
    return do_register_t(m, NULL, T, vm, items, n, rep);
}

/* Registers fps 0..n-1 (length 4096 + i) for vm. */
void register_range(mem_obj *m, const char *vm, unsigned first, unsigned n)
{
    vmd_idx_reg_item *items = calloc(n, sizeof(*items));
    unsigned i;
    for (i = 0; i < n; i++)
        items[i] = reg_item(first + i, 4096 + first + i, 7, first + i);
    CU_ASSERT_EQUAL(do_register(m, vm, items, n, NULL), 0);
    free(items);
}

/* The three methods that reply a status per fingerprint. */
static int do_status(mem_obj *m, const batch_method *bm, const char *vm, const void *items,
                     uint32_t n, vmd_idx_status_reply *rep)
{
    void *res;
    int rc = do_batch(m, bm, NULL, T, vm, items, n, rep ? &rep->count : NULL, &res);
    if (rep && rc == 0)
        rep->status = res;
    return rc;
}

int do_release(mem_obj *m, const char *vm, vmd_fp *fps, uint32_t n, vmd_idx_status_reply *rep)
{
    return do_status(m, &RELEASE, vm, fps, n, rep);
}

int do_ref(mem_obj *m, vmd_idx_ref_item *items, uint32_t n, vmd_idx_ref_reply *rep)
{
    void *res;
    int rc = do_batch(m, &REF, NULL, T, NULL, items, n, rep ? &rep->count : NULL, &res);
    if (rep && rc == 0)
        rep->pop_refs = res;
    return rc;
}

int do_mark(mem_obj *m, vmd_idx_mark_item *items, uint32_t n, vmd_idx_status_reply *rep)
{
    return do_status(m, &MARK, NULL, items, n, rep);
}

int do_unmark(mem_obj *m, vmd_fp *fps, uint32_t n, vmd_idx_status_reply *rep)
{
    return do_status(m, &UNMARK, NULL, fps, n, rep);
}

int do_top(mem_obj *m, uint32_t min_vms, uint32_t max, const vmd_idx_top_item *after,
           vmd_idx_top_reply *rep)
{
    vmd_idx_top_req req;
    uint8_t *in = NULL, *out = NULL;
    size_t inlen, outlen;
    int rc;

    vmd_idx_top_req_init(&req, T, min_vms, max, after);
    CU_ASSERT_EQUAL_FATAL(vmd_idx_top_req_encode(&req, &in, &inlen), 0);
    rc = run(m, vmd_m_idx_top, in, inlen, &out, &outlen);
    if (rc == 0)
        CU_ASSERT_EQUAL(vmd_idx_top_reply_decode(rep, out, outlen), 0);
    free(in);
    free(out);
    return rc;
}

int do_stats_t(mem_obj *m, vmd_idx_target t, vmd_idx_counters *c)
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

vmd_idx_counters stats(mem_obj *m)
{
    vmd_idx_counters c;
    memset(&c, 0, sizeof(c));
    CU_ASSERT_EQUAL(do_stats_t(m, T, &c), 0);
    return c;
}

/* The stored entry of fp n; 0 or the decode / lookup error. */
int entry_of(mem_obj *m, unsigned n, vmd_idx_entry *e)
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

void assert_counters_match_entries(mem_obj *m)
{
    vmd_idx_counters c = stats(m);
    vmd_test_idx_sums s;

    /* the partitions of these tests fit in one omap page (else -EFBIG) */
    CU_ASSERT_EQUAL_FATAL(vmd_test_idx_sum(m, &s), 0);
    CU_ASSERT_EQUAL_FATAL(s.bad, 0); /* every entry decodes */
    CU_ASSERT_EQUAL(c.entries, s.c.entries);
    CU_ASSERT_EQUAL(c.holdings, s.c.holdings);
    CU_ASSERT_EQUAL(c.popular_entries, s.c.popular_entries);
    CU_ASSERT_EQUAL(c.bytes, s.c.bytes);
    CU_ASSERT_EQUAL(c.popular_bytes, s.c.popular_bytes);
    CU_ASSERT_EQUAL(c.popular_refs, s.c.popular_refs);
}

/* An entry with every field set (popular, 3 of 5 VMs listed). */
vmd_idx_entry entry_sample(void)
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
