/*
 * cds_update_copy.c - step 4 of `cds update`: copying the chosen chunks into popular containers.
 *
 * The fresh chunks are sorted by home container (c.<vm>.<id16>, data
 * pool). Each home container's table is loaded once; a chunk whose slot
 * is no longer LIVE with the same fingerprint and length is SKIPPED. The
 * others are read in merged spans (rados/slot_reader.c), one span at a
 * time, verified (SHA-256 after decompression), and their stored bytes
 * appended to the open popular container (p.<id16>, id from next_id),
 * which is written whole when full; its chunks then become COPIED. A
 * chunk in a container never written goes back to TODO.
 */
#define _GNU_SOURCE /* qsort_r */
#include "cds/cds_update.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "rados/ctr_client.h"
#include "rados/slot_reader.h"

static void progress(vmd_cdsu *u, int last)
{
    if (!u->o.progress || (!last && vmd_cdsu_since(&u->shown) < VMD_CDSU_PROGRESS_SECS))
        return;
    clock_gettime(CLOCK_MONOTONIC, &u->shown);
    u->o.progress(u->o.progress_arg, u->copied, u->to_copy);
}

/* Writes the open popular container; its chunks become COPIED. */
static int flush(vmd_cdsu *u)
{
    char oid[VMD_CTR_OID_MAX];
    uint8_t *buf = NULL;
    size_t len = 0, i;
    int err;

    if (!u->b)
        return 0;
    vmd_ctr_oid(oid, sizeof(oid), NULL, u->b_id);
    err = vmd_ctr_builder_finish(u->b, &buf, &len);
    vmd_ctr_builder_free(u->b);
    u->b = NULL;
    if (err)
        return vmd_fail(u->s, err, "finishing popular container %s", oid);
    err = vmd_ctr_write(u->s, 1, oid, buf, len);
    free(buf);
    if (err)
        return err;
    u->r->containers++;
    u->r->container_bytes += len;
    for (i = 0; i < u->npending; i++)
        u->fresh[u->pending[i]].state = VMD_CDSU_COPIED;
    u->npending = 0;
    return vmd_lease_renew(&u->lease, 0);
}

static int open_builder(vmd_cdsu *u)
{
    int err = vmd_cdsu_alloc_id(u, &u->b_id);

    if (err)
        return err;
    err = vmd_ctr_builder_new(&u->b, u->b_id, NULL, u->s->container_size);
    if (err)
        return vmd_fail(u->s, err, "starting popular container %016" PRIx64, u->b_id);
    return 0;
}

/* Appends one verified chunk (its stored bytes) to the open popular container. */
static int add_chunk(vmd_cdsu *u, uint32_t i, const vmd_ctr_slot *sl, const uint8_t *stored)
{
    vmd_cdsu_fresh *f = &u->fresh[i];
    uint32_t slot;
    int err, tries;

    for (tries = 0; tries < 2; tries++) {
        if (!u->b && (err = open_builder(u)) != 0)
            return err;
        err = vmd_ctr_builder_add_encoded(u->b, sl->fp, stored, sl->stored_len, sl->raw_len,
                                          sl->encoding, &slot);
        if (err != -ENOSPC)
            break;
        err = flush(u);
        if (err)
            return err;
        err = -ENOSPC;
    }
    if (err)
        return vmd_fail(u->s, err, "adding a chunk of %u bytes to popular container %016" PRIx64,
                        sl->raw_len, u->b_id);
    f->pop.id = u->b_id;
    f->pop.slot = slot;
    f->state = VMD_CDSU_ADDED;
    u->pending[u->npending++] = i;
    u->copied += f->chunk_len;
    u->r->added++;
    u->r->added_bytes += f->chunk_len;
    progress(u, 0);
    return 0;
}

typedef struct want {
    uint32_t i; /* fresh chunk */
    const vmd_ctr_slot *sl;
} want;

static int cmp_want(const void *a, const void *b)
{
    uint64_t x = ((const want *)a)->sl->offset, y = ((const want *)b)->sl->offset;
    return x < y ? -1 : x > y;
}

/* Copies the wanted slots w[0..n) of container oid, reading them in merged spans one at a time. */
static int copy_spans(vmd_cdsu *u, const char *oid, want *w, size_t n, vmd_slot_reader *sr)
{
    size_t a, k, bad;
    int err = 0, reason;

    qsort(w, n, sizeof(*w), cmp_want);
    for (a = 0; a < n && !err; a++)
        err = vmd_slot_reader_add(sr, 0, u->fresh[w[a].i].home.id, oid, w[a].sl);
    if (err)
        return vmd_fail(u->s, err, "planning reads of container %s", oid);
    for (k = 0, a = 0; k < sr->n && !err; k++) {
        const vmd_span *sp = &sr->spans[k];
        err = vmd_slot_reader_read(&bad, sr, u->s, k, 1);
        if (err)
            return vmd_fail(u->s, err, "reading container %s in pool %s", oid, u->s->data_pool);
        for (; a < n && w[a].sl->offset + w[a].sl->stored_len <= sp->off + sp->len; a++) {
            const uint8_t *stored = sp->buf + (w[a].sl->offset - sp->off);
            err = vmd_ctr_chunk_decode(w[a].sl, stored, u->raw, u->dctx, &reason);
            if (err == -EIO && reason)
                return vmd_fail(u->s, -EIO, "slot %u of container %s: %s",
                                u->fresh[w[a].i].home.slot, oid, vmd_ctr_reason_name(reason));
            if (err)
                return vmd_fail(u->s, err, "verifying a slot of container %s", oid);
            if ((err = add_chunk(u, w[a].i, w[a].sl, stored)))
                return err;
        }
        vmd_slot_reader_release(sr, k);
    }
    return err;
}

/* Copies the chunks idx[0..n) that all live in one home container. */
static int copy_group(vmd_cdsu *u, const uint32_t *idx, size_t n, want *w, vmd_slot_reader *sr)
{
    const vmd_cdsu_fresh *f0 = &u->fresh[idx[0]];
    char oid[VMD_CTR_OID_MAX];
    vmd_ctr *c = NULL;
    uint64_t size;
    size_t k, nw = 0;
    time_t mtime;
    int err;

    if (vmd_ctr_oid(oid, sizeof(oid), vmd_sel_vm(u->sel, f0->vm), f0->home.id))
        return vmd_fail(u->s, -EIO, "index names a bad home VM '%s'", vmd_sel_vm(u->sel, f0->vm));
    err = rados_stat(u->s->data, oid, &size, &mtime);
    if (err == -ENOENT) { /* the home container is gone (its VM's data was collected) */
        for (k = 0; k < n; k++)
            u->fresh[idx[k]].state = VMD_CDSU_SKIPPED;
        u->r->skipped += n;
        return 0;
    }
    if (err < 0)
        return vmd_fail(u->s, err, "stat of container %s in pool %s", oid, u->s->data_pool);
    err = vmd_ctr_load(u->s, u->s->data, oid, &c);
    if (err)
        return err;
    for (k = 0; k < n; k++) {
        vmd_cdsu_fresh *f = &u->fresh[idx[k]];
        const vmd_ctr_slot *sl = f->home.slot < c->hdr.nslots ? &c->slots[f->home.slot] : NULL;
        if (!sl || sl->state != VMD_CTR_LIVE || memcmp(sl->fp, f->fp.b, 32) != 0 ||
            sl->raw_len != f->chunk_len) {
            f->state = VMD_CDSU_SKIPPED; /* no longer there: not copied, not marked */
            u->r->skipped++;
            continue;
        }
        w[nw].i = idx[k];
        w[nw].sl = sl;
        nw++;
    }
    err = nw ? copy_spans(u, oid, w, nw, sr) : 0;
    vmd_slot_reader_clear(sr);
    vmd_ctr_free(c);
    return err;
}

static int cmp_home(const void *a, const void *b, void *arg)
{
    const vmd_cdsu *u = arg;
    const vmd_cdsu_fresh *x = &u->fresh[*(const uint32_t *)a];
    const vmd_cdsu_fresh *y = &u->fresh[*(const uint32_t *)b];

    if (x->vm != y->vm)
        return x->vm < y->vm ? -1 : 1;
    if (x->home.id != y->home.id)
        return x->home.id < y->home.id ? -1 : 1;
    return x->home.slot < y->home.slot ? -1 : x->home.slot > y->home.slot;
}

int vmd_cdsu_copy(vmd_cdsu *u)
{
    vmd_slot_reader sr = {0};
    uint32_t *order = NULL;
    want *w = NULL;
    size_t i, j, k;
    int err = 0;

    if (u->nfresh == 0)
        return 0;
    order = malloc(u->nfresh * sizeof(*order));
    u->pending = malloc(u->nfresh * sizeof(*u->pending));
    w = malloc(u->nfresh * sizeof(*w));
    u->raw = malloc(VMD_CTR_CHUNK_MAX);
    u->dctx = ZSTD_createDCtx();
    if (!order || !u->pending || !w || !u->raw || !u->dctx) {
        err = vmd_fail(u->s, -ENOMEM, "copying %zu chunks", u->nfresh);
        goto out;
    }
    for (i = 0; i < u->nfresh; i++)
        order[i] = (uint32_t)i;
    qsort_r(order, u->nfresh, sizeof(*order), cmp_home, u);
    for (i = 0; i < u->nfresh && !err; i = j) {
        const vmd_cdsu_fresh *f = &u->fresh[order[i]];
        for (j = i + 1; j < u->nfresh; j++) {
            const vmd_cdsu_fresh *g = &u->fresh[order[j]];
            if (g->vm != f->vm || g->home.id != f->home.id)
                break;
        }
        err = copy_group(u, order + i, j - i, w, &sr);
    }
    if (!err)
        err = flush(u);
    progress(u, 1);
out:
    for (k = 0; k < u->npending; k++) /* in a container that was never written */
        u->fresh[u->pending[k]].state = VMD_CDSU_TODO;
    vmd_ctr_builder_free(u->b);
    u->b = NULL;
    ZSTD_freeDCtx(u->dctx);
    u->dctx = NULL;
    free(u->raw);
    u->raw = NULL;
    vmd_slot_reader_free(&sr);
    free(w);
    free(order);
    return err;
}
