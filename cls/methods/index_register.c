/*
 * index_register.c - the methods that change who holds a chunk and how often
 * its popular copy is referenced: idx_register, idx_release, idx_ref.
 *
 * Each is a vmd_idx_mutation run by the driver of index_partition.c (which
 * also describes the partition object): here are only what a method decides
 * per item. An entry lists the FNV-1a hashes of the first 16 VMs that hold
 * its chunk, ascending, and counts every holder in vm_count (an upper
 * estimate once the list is full, docs/format.md); `home` is where one of
 * them keeps the chunk, cleared when that VM releases it and taken by the
 * next VM that registers it.
 */
#include "methods/index_methods.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "methods/cls_methods.h"
#include "methods/index_partition.h"

/* ---- holders of an entry ---- */

static int holder_index(const vmd_idx_entry *e, uint64_t hv)
{
    unsigned i;
    for (i = 0; i < e->nvms; i++)
        if (e->vms[i] == hv)
            return (int)i;
    return -1;
}

/* Adds VM hash hv to the holders; returns 1 when the entry changed. */
static int holder_add(vmd_idx_entry *e, uint64_t hv)
{
    unsigned i;

    if (holder_index(e, hv) >= 0)
        return 0;
    if (e->nvms < VMD_IDX_MAX_VMS) {
        for (i = e->nvms; i > 0 && e->vms[i - 1] > hv; i--)
            e->vms[i] = e->vms[i - 1];
        e->vms[i] = hv;
        e->nvms++;
    }
    /* With a full list only the count is kept: an upper estimate (docs/format.md). */
    if (e->vm_count < UINT32_MAX)
        e->vm_count++;
    return 1;
}

/* Removes VM hash hv from the holders; returns 1 if it held the chunk (or may have). */
static int holder_remove(vmd_idx_entry *e, uint64_t hv)
{
    int at = holder_index(e, hv);

    if (at >= 0) {
        memmove(&e->vms[at], &e->vms[at + 1], (e->nvms - (unsigned)at - 1) * sizeof(e->vms[0]));
        e->nvms--;
        e->vm_count--;
        return 1;
    }
    if (e->vm_count > e->nvms) {
        e->vm_count--; /* an unlisted holder beyond the first 16 */
        return 1;
    }
    return 0;
}

static void home_set(vmd_idx_entry *e, const char *vm, const vmd_loc *loc)
{
    e->home = *loc;
    snprintf(e->home_vm, sizeof(e->home_vm), "%s", vm);
}

static void home_clear(vmd_idx_entry *e)
{
    memset(&e->home, 0, sizeof(e->home));
    e->home_vm[0] = 0;
}
/* ---- vmdedup.idx_register ---- */

/* Every known fp must have the stored length, and a popular one room for one more ref. */
static int register_validate(const vmd_idx_call *c)
{
    const vmd_idx_register_req *req = c->req;
    char hex[VMD_FP_HEX_SIZE];
    uint32_t i;

    for (i = 0; i < c->n; i++) {
        if (!c->found[i])
            continue;
        if (c->e[i].chunk_len != req->items[i].chunk_len) {
            vmd_fp_hex(&req->items[i].fp, hex);
            vmd_cls_log(1, "%s: %s registered with length %u, stored with %u", c->m->method, hex,
                        req->items[i].chunk_len, c->e[i].chunk_len);
            return -EINVAL;
        }
        if (vmd_idx_is_popular(&c->e[i]) && c->e[i].pop_refs == UINT64_MAX)
            return -ERANGE;
    }
    return 0;
}

/* The VM registers item i: a new entry, or one more holder (and reference) of a known one. */
static int register_one(vmd_idx_call *c, uint32_t i, void *out)
{
    const vmd_idx_reg_item *it = &((const vmd_idx_register_req *)c->req)->items[i];
    vmd_idx_reg_result *res = out;
    vmd_idx_entry *e = &c->e[i], old = *e;
    int changed;

    if (!c->found[i]) {
        memset(e, 0, sizeof(*e));
        e->chunk_len = it->chunk_len;
        holder_add(e, c->vm_hash);
        home_set(e, c->vm, &it->loc);
        c->action[i] = VMD_IDX_PUT;
        res->status = VMD_IDX_NEW;
        res->vm_count = e->vm_count;
        return vmd_idx_call_account(c, i, &old);
    }
    changed = holder_add(e, c->vm_hash);
    if (e->home_vm[0] == 0) {
        home_set(e, c->vm, &it->loc); /* the previous home was released */
        changed = 1;
    }
    res->status = VMD_IDX_KNOWN;
    if (vmd_idx_is_popular(e)) {
        e->pop_refs++;
        changed = 1;
        res->status = VMD_IDX_POPULAR;
        res->pop = e->pop;
    }
    res->vm_count = e->vm_count;
    c->action[i] = changed ? VMD_IDX_PUT : VMD_IDX_KEEP;
    return vmd_idx_call_account(c, i, &old);
}

VMD_IDX_REQUEST(register, register_req, items, r->vm);

/* Fields: method, variant, request, reply kind, highest status, validate, apply. */
static const vmd_idx_mutation idx_register = {
    "idx_register",    0,           &register_request, VMD_IDX_REPLY_REGISTER, 0,
    register_validate, register_one};

/*
 * Idempotency: a resend with the same op id while it is among the last 16 is
 * answered from ~op.<id>. Beyond that, a resend of a register is harmless for
 * NEW and KNOWN fps (the VM is already a holder: nothing changes, the reply
 * says KNOWN) and would only add one reference to a POPULAR copy, which the
 * garbage collector's recount corrects; clients resend within seconds, long
 * before 16 other calls reach the same partition.
 */
int vmd_m_idx_register(vmd_obj *obj, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen)
{
    return vmd_idx_mutate(obj, &idx_register, in, inlen, out, outlen);
}

/* ---- vmdedup.idx_release ---- */

/* The VM no longer holds item i; an entry nobody holds and that is not popular goes. */
static int release_one(vmd_idx_call *c, uint32_t i, void *out)
{
    vmd_idx_entry *e = &c->e[i], old = *e;
    uint8_t *status = out;

    if (!c->found[i]) {
        *status = VMD_IDX_NOT_FOUND;
        return 0;
    }
    if (!holder_remove(e, c->vm_hash)) {
        *status = VMD_IDX_NOT_HOLDER;
        return 0;
    }
    if (strcmp(e->home_vm, c->vm) == 0)
        home_clear(e);
    *status = VMD_IDX_RELEASED;
    c->action[i] = VMD_IDX_PUT;
    if (e->vm_count == 0 && !vmd_idx_is_popular(e)) {
        *status = VMD_IDX_REMOVED;
        c->action[i] = VMD_IDX_DEL;
    }
    return vmd_idx_call_account(c, i, &old);
}

VMD_IDX_REQUEST(release, release_req, fps, r->vm);

static const vmd_idx_mutation idx_release = {
    "idx_release", 0,          &release_request, VMD_IDX_REPLY_STATUS, VMD_IDX_RELEASE_STATUS_MAX,
    NULL,          release_one};

/*
 * Idempotency: a resend within the last 16 ops gets the stored reply. An
 * older resend finds the VM no longer a holder and changes nothing
 * (NOT_HOLDER or NOT_FOUND), except for an entry whose holder list overflowed,
 * where the count is an estimate anyway.
 */
int vmd_m_idx_release(vmd_obj *obj, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen)
{
    return vmd_idx_mutate(obj, &idx_release, in, inlen, out, outlen);
}

/* ---- vmdedup.idx_ref ---- */

/* Every fp exists and is POPULAR (-ENOENT), and no count leaves [0, 2^64) (-ERANGE). */
static int ref_validate(const vmd_idx_call *c)
{
    const vmd_idx_ref_req *req = c->req;
    uint32_t i;

    for (i = 0; i < c->n; i++) {
        const vmd_idx_entry *e = &c->e[i];
        int32_t d = req->items[i].delta;
        if (!c->found[i] || !vmd_idx_is_popular(e))
            return -ENOENT;
        if (d < 0 && (uint64_t)(-(int64_t)d) > e->pop_refs)
            return -ERANGE;
        if (d > 0 && e->pop_refs > UINT64_MAX - (uint64_t)d)
            return -ERANGE;
    }
    return 0;
}

/* Adds item i's delta to the popular copy's references; the reply is the new count. */
static int ref_one(vmd_idx_call *c, uint32_t i, void *out)
{
    const vmd_idx_ref_req *req = c->req;
    vmd_idx_entry old = c->e[i];

    c->e[i].pop_refs += (uint64_t)(int64_t)req->items[i].delta;
    c->action[i] = VMD_IDX_PUT;
    *(uint64_t *)out = c->e[i].pop_refs;
    return vmd_idx_call_account(c, i, &old);
}

VMD_IDX_REQUEST(ref, ref_req, items, NULL);

static const vmd_idx_mutation idx_ref = {"idx_ref",    0,      &ref_request, VMD_IDX_REPLY_REF, 0,
                                         ref_validate, ref_one};

/*
 * Idempotency: ref is not idempotent by itself (a delta applied twice counts
 * twice), so it relies on the op id: a resend within the last 16 ops of the
 * partition returns the stored reply and changes nothing. Clients resend only
 * on a timeout or connection fault, within seconds of the original.
 */
int vmd_m_idx_ref(vmd_obj *obj, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen)
{
    return vmd_idx_mutate(obj, &idx_ref, in, inlen, out, outlen);
}
