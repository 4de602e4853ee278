/*
 * cds_update_select.c - steps 2 and 3 of `cds update`: the previous version, and the walk.
 *
 * The previous version's entries are loaded and sorted by fingerprint
 * (binary search; prev_seen marks those the walk reaches). The walk merges
 * the partitions' idx_top pages (cds_select.c; this file fetches a batch
 * of pages with parallel class calls and renews the lease) and takes
 * entries most popular first:
 *
 *   POPULAR with a copy   kept (listed by the previous version) or adopted
 *                         (marked by an update that died): u->keep
 *   not POPULAR           to copy from its home container: u->fresh
 *
 * until `target` chunks (top_percent of the index's unique chunks),
 * max_bytes, or the end of the entries held by >= min_vms VMs.
 */
#include "cds/cds_update.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "rados/cls_call.h"
#include "rados/idx_client.h"
#include "util/grow.h"

#define CDS_DEFAULT_TOP 1.5
#define CDS_MIN_VMS     2
#define CDS_MERGE_MEM   (8u << 20) /* partition pages buffered by the merge */

/* ---- the previous version ---- */

static int cmp_fp(const void *a, const void *b)
{
    return memcmp(((const vmd_cds_entry *)a)->fp, ((const vmd_cds_entry *)b)->fp, 32);
}

static int prev_add(void *arg, const vmd_cds_entry *e)
{
    vmd_cdsu *u = arg;

    if (vmd_grow((void **)&u->prev, &u->prev_cap, u->nprev + 1, 256, sizeof(*u->prev)))
        return -ENOMEM;
    u->prev[u->nprev++] = *e;
    return 0;
}

int vmd_cdsu_load_previous(vmd_cdsu *u)
{
    vmd_cds_header h;
    int err;

    if (u->ptr.current == 0)
        return 0;
    err = vmd_cds_manifest_header(u->s, u->ptr.current, &h);
    if (err == -ENOENT)
        return vmd_fail(u->s, -EIO, "%s names CDS version %" PRIu64 " but its manifest is missing",
                        VMD_CDS_POINTER, u->ptr.current);
    if (err)
        return err;
    err = vmd_cds_manifest_each(u->s, &h, h.count, prev_add, u);
    if (err == -ENOMEM)
        return vmd_fail(u->s, err, "loading CDS version %" PRIu64, h.cds_version);
    if (err)
        return err;
    qsort(u->prev, u->nprev, sizeof(*u->prev), cmp_fp);
    u->prev_seen = calloc(u->nprev ? u->nprev : 1, 1);
    if (!u->prev_seen)
        return vmd_fail(u->s, -ENOMEM, "loading CDS version %" PRIu64, h.cds_version);
    u->bytes = h.bytes;
    u->r->previous = h.cds_version;
    return 0;
}

/* bsearch() order of the previous version's entries: by fingerprint (key: its 32 bytes). */
static int prev_cmp(const void *key, const void *entry)
{
    return memcmp(key, ((const vmd_cds_entry *)entry)->fp, 32);
}

/* Index of fp in the previous version (sorted by fingerprint), or -1. */
static long prev_find(const vmd_cdsu *u, const vmd_fp *fp)
{
    const vmd_cds_entry *e = NULL;

    if (u->nprev)
        e = bsearch(fp->b, u->prev, u->nprev, sizeof(*u->prev), prev_cmp);
    return e ? (long)(e - u->prev) : -1;
}

/* ---- selection ---- */

/* The merge's page fetcher: one batch of idx_top class calls, run in parallel. */
static int fetch_pages(void *arg, vmd_sel_fetch *f, size_t n)
{
    vmd_cdsu *u = arg;
    vmd_store *s = u->s;
    vmd_cls_req *reqs = calloc(n, sizeof(*reqs));
    char(*oids)[VMD_IDX_OID_SIZE] = calloc(n, sizeof(*oids));
    vmd_idx_top_req req;
    uint8_t *in;
    size_t inlen, i;
    int err = 0;

    if (!reqs || !oids) {
        err = vmd_fail(s, -ENOMEM, "idx_top: %zu calls", n);
        goto out;
    }
    for (i = 0; i < n && !err; i++) {
        memset(&req, 0, sizeof(req));
        req.t.bits = (uint8_t)s->partition_bits;
        req.t.partition = (uint16_t)f[i].partition;
        req.min_vms = f[i].min_vms;
        req.max = f[i].max;
        req.has_cursor = (uint8_t)f[i].has_cursor;
        req.cursor_vm_count = f[i].cursor_vm_count;
        req.cursor_fp = f[i].cursor_fp;
        err = vmd_idx_top_req_encode(&req, &in, &inlen);
        if (err) {
            err =
                vmd_fail(s, err, "idx_top: encoding the request for partition %u", f[i].partition);
            break;
        }
        vmd_idx_oid(f[i].partition, oids[i]);
        reqs[i] = (vmd_cls_req){oids[i], "idx_top", 0, in, inlen, 0, NULL, 0};
    }
    if (!err)
        (void)vmd_cls_batch_run(s->meta, reqs, n);
    for (i = 0; i < n && !err; i++) {
        memset(&f[i].reply, 0, sizeof(f[i].reply));
        if (reqs[i].rc == -ENOENT)
            continue; /* no partition object yet: nothing registered there */
        if (reqs[i].rc < 0)
            err = vmd_fail(s, reqs[i].rc, "idx_top on %s in pool %s", oids[i], s->meta_pool);
        else if (vmd_idx_top_reply_decode(&f[i].reply, reqs[i].out, reqs[i].outlen))
            err = vmd_fail(s, -EPROTO, "idx_top on %s in pool %s: reply not understood", oids[i],
                           s->meta_pool);
    }
    if (!err)
        err = vmd_lease_renew(&u->lease, 0);
out:
    for (i = 0; reqs && i < n; i++) {
        free((void *)reqs[i].in);
        free(reqs[i].out);
    }
    free(reqs);
    free(oids);
    return err;
}

/* The chunks the selection wants: top_percent of unique chunks (rounded up). */
static uint64_t target_of(const vmd_cds_update_opts *o, uint64_t unique)
{
    double pct = o->top_percent;
    double t;

    if (pct == 0 && o->min_vms)
        return UINT64_MAX;
    if (pct == 0)
        pct = CDS_DEFAULT_TOP;
    t = (double)unique * pct / 100.0;
    if (t >= (double)VMD_CDS_MAX_ENTRIES)
        return VMD_CDS_MAX_ENTRIES;
    return (uint64_t)t + ((double)(uint64_t)t < t); /* rounded up */
}

/* Takes one entry of the walk; 1 when the walk must stop (max_bytes reached). */
static int take(vmd_cdsu *u, const vmd_sel_item *it)
{
    long k = prev_find(u, &it->fp);

    if (it->flags & VMD_IDX_ENTRY_POPULAR) {
        vmd_cds_entry *e;
        if (it->pop.id < 1) { /* a popular entry without a copy: not ours to fix */
            u->r->skipped++;
            return 0;
        }
        if (vmd_grow((void **)&u->keep, &u->keep_cap, u->nkeep + 1, 256, sizeof(*u->keep)))
            return -ENOMEM;
        e = &u->keep[u->nkeep++];
        memcpy(e->fp, it->fp.b, 32);
        e->ctr = it->pop.id;
        e->slot = it->pop.slot;
        e->raw_len = it->chunk_len;
        e->vm_count = it->vm_count;
        if (it->pop.id > u->max_pop_id)
            u->max_pop_id = it->pop.id;
        if (k >= 0) {
            u->prev_seen[k] = 1;
            u->r->kept++;
        } else {
            u->r->adopted++;
            u->bytes += it->chunk_len;
        }
    } else {
        vmd_cdsu_fresh *f;
        if (u->o.max_bytes && u->bytes + it->chunk_len > u->o.max_bytes)
            return 1;
        if (it->vm == VMD_SEL_NO_VM) {
            u->r->skipped++;
            return 0;
        }
        if (vmd_grow((void **)&u->fresh, &u->fresh_cap, u->nfresh + 1, 256, sizeof(*u->fresh)))
            return -ENOMEM;
        f = &u->fresh[u->nfresh++];
        memset(f, 0, sizeof(*f));
        f->fp = it->fp;
        f->vm_count = it->vm_count;
        f->chunk_len = it->chunk_len;
        f->vm = it->vm;
        f->home = it->home;
        if (k >= 0)
            u->prev_seen[k] = 1; /* listed, but no longer popular: copied again */
        u->bytes += it->chunk_len;
        u->to_copy += it->chunk_len;
    }
    u->r->selected++;
    u->r->cds.threshold = it->vm_count;
    return 0;
}

int vmd_cdsu_select(vmd_cdsu *u)
{
    vmd_idx_counters c;
    vmd_sel_item it;
    uint32_t min_vms = u->o.min_vms > CDS_MIN_VMS ? u->o.min_vms : CDS_MIN_VMS;
    size_t nparts = (size_t)1 << u->s->partition_bits;
    int err, rc;

    err = vmd_idx_stats(u->s, &c);
    if (err)
        return err;
    u->r->unique_chunks = c.entries;
    u->r->target = target_of(&u->o, c.entries);
    err = vmd_sel_new(&u->sel, nparts, min_vms, CDS_MERGE_MEM, fetch_pages, u);
    if (err)
        return vmd_fail(u->s, err, "starting the walk over %zu index partitions", nparts);
    while (u->r->selected < u->r->target && u->nkeep + u->nfresh + u->nprev < VMD_CDS_MAX_ENTRIES) {
        rc = vmd_sel_next(u->sel, &it);
        if (rc == -EPROTO)
            return vmd_fail(u->s, rc, "idx_top pages out of order (a partition is corrupt?)");
        if (rc < 0)
            return rc; /* reported by the fetcher */
        if (rc == 0)
            break;
        rc = take(u, &it);
        if (rc < 0)
            return vmd_fail(u->s, rc, "selecting the CDS (%" PRIu64 " chunks)", u->r->selected);
        if (rc)
            break;
    }
    /* ids the index already names (adopted) are never handed out again */
    if (u->max_pop_id >= u->ptr.next_id) {
        err = vmd_cdsu_ptr_cas(u, "next_id", u->ptr.next_id, u->max_pop_id + 1, NULL, 0);
        if (err)
            return err;
        u->ptr.next_id = u->max_pop_id + 1;
    }
    return 0;
}
