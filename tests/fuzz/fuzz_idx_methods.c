/*
 * fuzz_idx_methods.c - every index method on a populated in-memory partition.
 *
 * Each input is a sequence of calls on one fresh partition (bits 1,
 * partition 0) that starts with 48 entries: 16 popular with references,
 * held by up to 20 VMs, and idx_reply is asked for the op's reply after
 * each mutating call. A call is either raw (selector byte with bit 7
 * clear: method, u8 length, that many request bytes) or structured (bit 7
 * set: the following bytes pick fps from a pool of 64, VMs, lengths, deltas,
 * locations and an op id from a small set, so that valid requests, replays
 * and conflicts are common). After every call the oracle checks that the
 * header's counters equal the sums over the stored entries and that no key
 * outside the format exists; a mismatch aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "methods/index_methods.h"
#include "cls_call_mem.h"
#include "mem_obj.h"
#include "format/index_msg.h"
#include "format/index.h"

#define POOL 64

static const vmd_idx_target T = {1, 0};
static const mem_method_fn methods[] = {
    vmd_m_idx_register,       vmd_m_idx_release, vmd_m_idx_ref,   vmd_m_idx_mark_popular,
    vmd_m_idx_unmark_popular, vmd_m_idx_top,     vmd_m_idx_stats, vmd_m_idx_reply};
#define NMETHODS (sizeof(methods) / sizeof(methods[0]))

/* fp i of the pool: ascending with i, all in partition 0 of 2 (top bit clear). */
static vmd_fp pool_fp(unsigned i)
{
    vmd_fp fp;
    memset(fp.b, 0x5a, sizeof(fp.b));
    fp.b[0] = (uint8_t)(i & 0x7f);
    fp.b[31] = (uint8_t)i;
    return fp;
}

typedef struct cursor {
    const uint8_t *p;
    size_t n;
} cursor;

static uint8_t take(cursor *c)
{
    if (!c->n)
        return 0;
    c->n--;
    return *c->p++;
}

/* Picks up to 8 distinct pool indices in ascending order. */
static unsigned pick(cursor *c, unsigned *idx)
{
    unsigned n = 1 + take(c) % 8, k = 0, i;
    uint8_t used[POOL] = {0};
    for (i = 0; i < n; i++)
        used[take(c) % POOL] = 1;
    for (i = 0; i < POOL; i++)
        if (used[i])
            idx[k++] = i;
    return k;
}

static void op_id(cursor *c, uint8_t *op)
{
    memset(op, 0, VMD_OP_ID_SIZE);
    op[0] = take(c) % 24; /* a small set: replays and evictions happen */
}

static const char *vm_name(uint8_t b)
{
    static char name[16];
    snprintf(name, sizeof(name), "vm-%u", b % 20);
    return name;
}

/* Builds a valid-looking request for method sel from the input; NULL when none. */
static uint8_t *structured(cursor *c, unsigned sel, size_t *len)
{
    unsigned idx[8], n = pick(c, idx), i;
    uint8_t *out = NULL;
    int err = -1;

    if (sel == 0) {
        vmd_idx_reg_item it[8];
        vmd_idx_register_req r = {{0}, T, "", n, it};
        op_id(c, r.op_id);
        snprintf(r.vm, sizeof(r.vm), "%s", vm_name(take(c)));
        for (i = 0; i < n; i++) {
            memset(&it[i], 0, sizeof(it[i]));
            it[i].fp = pool_fp(idx[i]);
            it[i].chunk_len = take(c) < 240 ? 4096 + idx[i] : 1 + take(c);
            it[i].loc.id = take(c);
        }
        err = vmd_idx_register_req_encode(&r, &out, len);
    } else if (sel == 1 || sel == 4) {
        vmd_fp fps[8];
        vmd_idx_release_req r = {{0}, T, "", n, fps};
        vmd_idx_unmark_req u = {{0}, T, n, fps};
        op_id(c, r.op_id);
        memcpy(u.op_id, r.op_id, VMD_OP_ID_SIZE);
        snprintf(r.vm, sizeof(r.vm), "%s", vm_name(take(c)));
        for (i = 0; i < n; i++)
            fps[i] = pool_fp(idx[i]);
        err = sel == 1 ? vmd_idx_release_req_encode(&r, &out, len)
                       : vmd_idx_unmark_req_encode(&u, &out, len);
    } else if (sel == 2) {
        vmd_idx_ref_item it[8];
        vmd_idx_ref_req r = {{0}, T, n, it};
        op_id(c, r.op_id);
        for (i = 0; i < n; i++) {
            it[i].fp = pool_fp(idx[i]);
            it[i].delta = (int8_t)take(c);
            if (!it[i].delta)
                it[i].delta = 1;
        }
        err = vmd_idx_ref_req_encode(&r, &out, len);
    } else if (sel == 3) {
        vmd_idx_mark_item it[8];
        vmd_idx_mark_req r = {{0}, T, n, it};
        op_id(c, r.op_id);
        for (i = 0; i < n; i++) {
            it[i].fp = pool_fp(idx[i]);
            it[i].pop.id = take(c) % 3;
            it[i].pop.slot = idx[i];
        }
        err = vmd_idx_mark_req_encode(&r, &out, len);
    } else if (sel == 5) {
        vmd_idx_top_req r;
        memset(&r, 0, sizeof(r));
        r.t = T;
        r.min_vms = take(c) % 4;
        r.max = 1 + take(c) % 16;
        r.has_cursor = take(c) & 1;
        r.cursor_vm_count = take(c) % 8;
        r.cursor_fp = pool_fp(take(c) % POOL);
        err = vmd_idx_top_req_encode(&r, &out, len);
    } else if (sel == 6) {
        vmd_idx_stats_req r = {T};
        err = vmd_idx_stats_req_encode(&r, &out, len);
    } else {
        vmd_idx_reply_req r;
        r.t = T;
        op_id(c, r.op_id);
        err = vmd_idx_reply_req_encode(&r, &out, len);
    }
    if (err) {
        free(out);
        return NULL;
    }
    return out;
}

/* ---- the oracle ---- */

static void check_invariants(mem_obj *m)
{
    vmd_obj *o = mem_obj_handle(m);
    vmd_idx_header h;
    uint8_t *hb = NULL;
    size_t hlen = 0;
    vmd_test_idx_sums s;

    if (o->ops->omap_header_get(o->h, &hb, &hlen) != 0)
        abort(); /* populated before the input runs */
    if (vmd_idx_header_decode(&h, hb, hlen) != 0)
        abort();
    free(hb);
    if (vmd_test_idx_sum(m, &s) != 0 || s.bad)
        abort();
    if (memcmp(&s.c, &h.c, sizeof(s.c)) != 0)
        abort();
    if (mem_obj_omap_count(m) != h.c.entries + h.nops)
        abort(); /* one stored reply per remembered op, nothing else */
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Entry i of the starting partition; adds it to *c. */
static void start_entry(unsigned i, vmd_idx_entry *e, vmd_idx_counters *c)
{
    char vm[16];
    unsigned v;

    memset(e, 0, sizeof(*e));
    e->chunk_len = 4096 + i;
    for (v = 0; v < 20; v++) {
        if (v && i % (v + 1))
            continue;
        snprintf(vm, sizeof(vm), "vm-%u", v);
        if (e->nvms < VMD_IDX_MAX_VMS)
            e->vms[e->nvms++] = vmd_vm_hash(vm, strlen(vm));
        e->vm_count++;
    }
    qsort(e->vms, e->nvms, sizeof(e->vms[0]), cmp_u64);
    strcpy(e->home_vm, "vm-0");
    if (i % 3 == 0) {
        e->flags = VMD_IDX_ENTRY_POPULAR;
        e->pop.id = 1;
        e->pop.slot = i / 3;
        e->pop_refs = i ? i / 3 : 5;
        c->popular_entries++;
        c->popular_bytes += e->chunk_len;
        c->popular_refs += e->pop_refs;
    }
    c->entries++;
    c->holdings += e->vm_count;
    c->bytes += e->chunk_len;
}

/*
 * 48 entries written directly (no method call, so each input starts fast):
 * fp i held by vm-0 and every vm-v (v < 20) with (v + 1) | i, so some lists
 * overflow 16; every third entry popular with references.
 */
static void populate(mem_obj *m)
{
    vmd_idx_header h;
    vmd_idx_entry e;
    uint8_t val[VMD_IDX_ENTRY_MAX], hdr[VMD_IDX_HEADER_MAX];
    char key[VMD_FP_HEX_SIZE];
    size_t len, hlen;
    unsigned i;

    memset(&h, 0, sizeof(h));
    h.bits = T.bits;
    h.partition = T.partition;
    for (i = 0; i < 48; i++) {
        vmd_fp fp = pool_fp(i);
        start_entry(i, &e, &h.c);
        if (vmd_idx_entry_encode(&e, val, sizeof(val), &len) != 0)
            abort();
        vmd_fp_hex(&fp, key);
        mem_obj_put_omap(m, key, val, len);
    }
    if (vmd_idx_header_encode(&h, hdr, sizeof(hdr), &hlen) != 0)
        abort();
    mem_obj_put_header(m, hdr, hlen);
}

/*
 * After a mutating call that succeeded, its reply must be readable with
 * idx_reply (op id at offset 6 and target at 22 of every mutating request).
 */
static void check_reply_stored(mem_obj *m, int rc, const uint8_t *req, size_t len)
{
    uint8_t *out = NULL;
    size_t outlen = 0;

    if (rc != 0 || len < 25)
        return;
    /* the method accepted this target, so idx_reply must too */
    if (vmd_test_idx_reply_of(m, req, len, &out, &outlen) != 0 || outlen < 10)
        abort();
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cursor c = {data, size};
    mem_obj *m = mem_obj_new();
    int calls = 0;

    if (!m)
        return 0;
    populate(m);
    check_invariants(m);
    while (c.n && calls++ < 64) {
        uint8_t sel = take(&c);
        unsigned method = (sel & 0x7f) % NMETHODS;
        uint8_t *in = NULL;
        const uint8_t *req;
        size_t len = 0;
        int rc;

        if (sel & 0x80) {
            in = structured(&c, method, &len);
            req = in;
        } else {
            len = take(&c);
            if (len > c.n)
                len = c.n;
            req = c.p;
            c.p += len;
            c.n -= len;
        }
        if (req || len == 0) {
            rc = vmd_test_call(m, methods[method], req, len);
            check_invariants(m);
            if (method < 5)
                check_reply_stored(m, rc, req, len);
        }
        free(in);
    }
    mem_obj_free(m);
    return 0;
}
