/*
 * cds_update.c - vmd_cds_update(): build and publish a new version of the common data set.
 *
 * Steps, under the exclusive lock "vmd.cds.update" on vmd.cds (30 s,
 * renewed every 10 s, so a killed update blocks the next one at most 30 s):
 *
 *   1. version   take v = max(current + 1, next_version) and persist
 *                next_version = v + 1 (compare-and-set): every attempt, even
 *                one that dies, has a version of its own.
 *   2. previous  read the published manifest (entries sorted by fp in memory).
 *   3. select    merge the partitions' idx_top pages (cds_select.c, all
 *                partitions' pages fetched in parallel batches) and walk the
 *                whole index most popular first, vm_count >= min_vms, until
 *                `target` chunks (top_percent of the index's unique chunks)
 *                or max_bytes. An entry already POPULAR is kept (if the
 *                previous version lists it) or adopted (marked by an update
 *                that died before publishing); any other needs a copy.
 *   4. copy      group the chunks to copy by home container (c.<vm>.<id16>,
 *                data pool), load each container's table once, read the
 *                needed slots in coalesced spans, verify every chunk
 *                (SHA-256 after decompression) and append its stored bytes
 *                to a popular container (p.<id16>, ids from the counter
 *                next_id, compare-and-set), written when full.
 *   5. mark      vmd_idx_mark_popular for every copied chunk: from now on a
 *                backup registering it gets its popular copy. Only chunks
 *                whose popular container is durable are marked.
 *   6. manifest  write cds.<v>: kept + adopted + copied + the previous
 *                version's entries the walk did not reach (still popular,
 *                still referenced), sorted most popular first.
 *   7. publish   renew the lock, then one compare-and-set on vmd.cds:
 *                current (still the version read in 2) = v, previous = it.
 *   8. tidy      remove cds.<previous of the old current> and the manifests of
 *                attempts that never published (versions between the old
 *                current and v).
 *
 * Interrupted anywhere, an update leaves the published CDS as it was.
 * Before 5 it leaves popular containers nothing references (ids below
 * next_id that no published manifest and no POPULAR index entry names);
 * between 5 and 7 it leaves entries marked popular that the next update
 * adopts when its walk reaches them; before 7 it leaves an unpublished
 * cds.<v> that the next publication removes. Nothing of it is ever read
 * by a backup or restore except through the index, which only names
 * durable copies.
 */
#define _GNU_SOURCE /* qsort_r */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "cds/cds.h"
#include "cds/cds_select.h"
#include "rados/cls_call.h"
#include "rados/ctr_client.h"
#include "rados/idx_client.h"
#include "util/u64set.h"

#define CDS_LOCK          "vmd.cds.update"
#define CDS_LOCK_SECS     30
#define CDS_RENEW_SECS    10
#define CDS_DEFAULT_TOP   1.5
#define CDS_MIN_VMS       2
#define CDS_MERGE_MEM     (8u << 20) /* partition pages buffered by the merge */
#define CDS_GAP           (64u << 10)
#define CDS_SPAN_MAX      (4u << 20)
#define CDS_WRITE_BLOCK   (4u << 20)
#define CDS_TIDY_MAX      1000
#define CDS_PROGRESS_SECS 0.2

/* A chunk to copy into the CDS. */
typedef struct fresh_chunk {
    vmd_fp fp;
    uint32_t vm_count;
    uint32_t chunk_len;
    uint32_t vm; /* home VM, interned by the merge */
    vmd_loc home;
    vmd_loc pop;   /* its copy, once added to a popular container */
    uint8_t state; /* 0 to copy, 1 added (container not yet written), 2 copied, 3 skipped */
} fresh_chunk;

enum { FRESH_TODO, FRESH_ADDED, FRESH_COPIED, FRESH_SKIPPED };

typedef struct updater {
    vmd_store *s;
    vmd_cds_update_opts o;
    vmd_cds_update_result *r;
    char cookie[VMD_OP_ID_SIZE * 2 + 1];
    int locked;
    struct timespec renewed, start, shown;
    vmd_cds_ptr ptr;  /* as read under the lock; counters advanced as allocated */
    uint64_t version; /* being built */
    /* the previous version, sorted by fp */
    vmd_cds_entry *prev;
    size_t nprev, prev_cap;
    uint8_t *prev_seen;
    /* the selection */
    vmd_sel *sel;
    vmd_cds_entry *keep; /* walked, already popular */
    size_t nkeep, keep_cap;
    fresh_chunk *fresh;
    size_t nfresh, fresh_cap;
    uint64_t bytes; /* of the manifest being built (for max_bytes) */
    uint64_t max_pop_id;
    /* copying */
    vmd_ctr_builder *b;
    uint64_t b_id;
    uint32_t *pending; /* fresh chunks in the open builder */
    size_t npending;
    uint8_t *raw;
    ZSTD_DCtx *dctx;
    uint64_t to_copy, copied;
} updater;

static double since(const struct timespec *t0)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- the lock and the counters of vmd.cds ---- */

static int lock_take(updater *u)
{
    struct timeval tv = {CDS_LOCK_SECS, 0};
    uint8_t id[VMD_OP_ID_SIZE];
    int err, i;

    vmd_cls_new_op_id(id);
    for (i = 0; i < VMD_OP_ID_SIZE; i++)
        snprintf(u->cookie + 2 * i, 3, "%02x", id[i]);
    err = rados_lock_exclusive(u->s->meta, VMD_CDS_POINTER, CDS_LOCK, u->cookie,
                               "vmdedup cds update", &tv, 0);
    if (err == -EBUSY || err == -EEXIST)
        return vmd_fail(u->s, -EBUSY,
                        "another cds update holds lock %s on %s in pool %s (if it was killed, "
                        "its lock lapses within %d s)",
                        CDS_LOCK, VMD_CDS_POINTER, u->s->meta_pool, CDS_LOCK_SECS);
    if (err < 0)
        return vmd_fail(u->s, err, "locking %s in pool %s", VMD_CDS_POINTER, u->s->meta_pool);
    u->locked = 1;
    clock_gettime(CLOCK_MONOTONIC, &u->renewed);
    return 0;
}

/* Renews the lock when CDS_RENEW_SECS have passed (always when force). */
static int lock_tick(updater *u, int force)
{
    struct timeval tv = {CDS_LOCK_SECS, 0};
    int err;

    if (!force && since(&u->renewed) < CDS_RENEW_SECS)
        return 0;
    err = rados_lock_exclusive(u->s->meta, VMD_CDS_POINTER, CDS_LOCK, u->cookie,
                               "vmdedup cds update", &tv, LIBRADOS_LOCK_FLAG_RENEW);
    if (err == -EBUSY || err == -EEXIST)
        return vmd_fail(u->s, -EBUSY, "cds update lock %s on %s was lost to another update",
                        CDS_LOCK, VMD_CDS_POINTER);
    if (err < 0)
        return vmd_fail(u->s, err, "renewing lock %s on %s", CDS_LOCK, VMD_CDS_POINTER);
    clock_gettime(CLOCK_MONOTONIC, &u->renewed);
    return 0;
}

static void lock_drop(updater *u)
{
    if (u->locked)
        rados_unlock(u->s->meta, VMD_CDS_POINTER, CDS_LOCK, u->cookie);
    u->locked = 0;
}

/*
 * One atomic write on vmd.cds: when `key` still holds old, sets it to v
 * (and key2 to v2 when key2 is not NULL). -ECANCELED when key changed.
 */
static int ptr_cas(updater *u, const char *key, uint64_t old, uint64_t v, const char *key2,
                   uint64_t v2)
{
    char sold[24], sv[24], sv2[24];
    const char *keys[2] = {key, key2};
    const char *vals[2] = {sv, sv2};
    size_t lens[2];
    rados_write_op_t op;
    int prval = 0, err;

    snprintf(sold, sizeof(sold), "%" PRIu64, old);
    snprintf(sv, sizeof(sv), "%" PRIu64, v);
    snprintf(sv2, sizeof(sv2), "%" PRIu64, v2);
    lens[0] = strlen(sv);
    lens[1] = strlen(sv2);
    op = rados_create_write_op();
    if (!op)
        return vmd_fail(u->s, -ENOMEM, "updating %s", VMD_CDS_POINTER);
    rados_write_op_omap_cmp(op, key, LIBRADOS_CMPXATTR_OP_EQ, sold, strlen(sold), &prval);
    rados_write_op_omap_set(op, keys, vals, lens, key2 ? 2 : 1);
    err = rados_write_op_operate(op, u->s->meta, VMD_CDS_POINTER, NULL, 0);
    rados_release_write_op(op);
    if (err == -ECANCELED || prval == -ECANCELED)
        return vmd_fail(u->s, -ECANCELED,
                        "%s in pool %s: %s changed under the update's lock (another update ran)",
                        VMD_CDS_POINTER, u->s->meta_pool, key);
    if (err < 0)
        return vmd_fail(u->s, err, "updating %s of %s in pool %s", key, VMD_CDS_POINTER,
                        u->s->meta_pool);
    return 0;
}

/* Reads vmd.cds under the lock and writes the keys that are missing (first update). */
static int ptr_init(updater *u)
{
    char v[4][24];
    const char *keys[] = {"current", "previous", "next_version", "next_id"};
    const char *vals[] = {v[0], v[1], v[2], v[3]};
    size_t lens[4];
    rados_write_op_t op;
    int err, i;

    err = vmd_cds_ptr_read(u->s, &u->ptr);
    if (err || u->ptr.complete)
        return err;
    snprintf(v[0], 24, "%" PRIu64, u->ptr.current);
    snprintf(v[1], 24, "%" PRIu64, u->ptr.previous);
    snprintf(v[2], 24, "%" PRIu64, u->ptr.next_version);
    snprintf(v[3], 24, "%" PRIu64, u->ptr.next_id);
    for (i = 0; i < 4; i++)
        lens[i] = strlen(vals[i]);
    op = rados_create_write_op();
    if (!op)
        return vmd_fail(u->s, -ENOMEM, "initialising %s", VMD_CDS_POINTER);
    rados_write_op_omap_set(op, keys, vals, lens, 4);
    err = rados_write_op_operate(op, u->s->meta, VMD_CDS_POINTER, NULL, 0);
    rados_release_write_op(op);
    if (err < 0)
        return vmd_fail(u->s, err, "initialising %s in pool %s", VMD_CDS_POINTER, u->s->meta_pool);
    return 0;
}

static int alloc_version(updater *u)
{
    uint64_t v = u->ptr.current + 1;
    int err;

    if (v < u->ptr.next_version)
        v = u->ptr.next_version;
    if (v > VMD_CDS_VERSION_MAX)
        return vmd_fail(u->s, -ERANGE, "no CDS version left (%u versions)", VMD_CDS_VERSION_MAX);
    err = ptr_cas(u, "next_version", u->ptr.next_version, v + 1, NULL, 0);
    if (err)
        return err;
    u->ptr.next_version = v + 1;
    u->version = v;
    return 0;
}

/* The next popular container id (persisted before it is used). */
static int alloc_id(updater *u, uint64_t *id)
{
    int err = ptr_cas(u, "next_id", u->ptr.next_id, u->ptr.next_id + 1, NULL, 0);

    if (err)
        return err;
    *id = u->ptr.next_id++;
    return 0;
}

/* ---- the previous version ---- */

static int cmp_fp(const void *a, const void *b)
{
    return memcmp(((const vmd_cds_entry *)a)->fp, ((const vmd_cds_entry *)b)->fp, 32);
}

static int prev_add(void *arg, const vmd_cds_entry *e)
{
    updater *u = arg;

    if (vmd_grow((void **)&u->prev, &u->prev_cap, u->nprev + 1, 256, sizeof(*u->prev)))
        return -ENOMEM;
    u->prev[u->nprev++] = *e;
    return 0;
}

static int load_previous(updater *u)
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

/* Index of fp in the previous version, or -1. */
static long prev_find(const updater *u, const vmd_fp *fp)
{
    size_t lo = 0, hi = u->nprev;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(u->prev[mid].fp, fp->b, 32);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* ---- selection ---- */

/* The merge's page fetcher: one batch of idx_top class calls, run in parallel. */
static int fetch_pages(void *arg, vmd_sel_fetch *f, size_t n)
{
    updater *u = arg;
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
        err = lock_tick(u, 0);
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
static int take(updater *u, const vmd_sel_item *it)
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
        fresh_chunk *f;
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

static int select_chunks(updater *u)
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
        err = ptr_cas(u, "next_id", u->ptr.next_id, u->max_pop_id + 1, NULL, 0);
        if (err)
            return err;
        u->ptr.next_id = u->max_pop_id + 1;
    }
    return 0;
}

/* ---- copying ---- */

static void progress(updater *u, int last)
{
    if (!u->o.progress || (!last && since(&u->shown) < CDS_PROGRESS_SECS))
        return;
    clock_gettime(CLOCK_MONOTONIC, &u->shown);
    u->o.progress(u->o.progress_arg, u->copied, u->to_copy);
}

/* Writes the open popular container; its chunks become COPIED. */
static int flush(updater *u)
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
        u->fresh[u->pending[i]].state = FRESH_COPIED;
    u->npending = 0;
    return lock_tick(u, 0);
}

static int open_builder(updater *u)
{
    int err = alloc_id(u, &u->b_id);

    if (err)
        return err;
    err = vmd_ctr_builder_new(&u->b, u->b_id, NULL, u->s->container_size);
    if (err)
        return vmd_fail(u->s, err, "starting popular container %016" PRIx64, u->b_id);
    return 0;
}

/* Appends one verified chunk (its stored bytes) to the open popular container. */
static int add_chunk(updater *u, uint32_t i, const vmd_ctr_slot *sl, const uint8_t *stored)
{
    fresh_chunk *f = &u->fresh[i];
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
    f->state = FRESH_ADDED;
    u->pending[u->npending++] = i;
    u->copied += f->chunk_len;
    u->r->added++;
    u->r->added_bytes += f->chunk_len;
    progress(u, 0);
    return 0;
}

static int read_exact(rados_ioctx_t io, const char *oid, uint64_t off, uint8_t *buf, size_t len)
{
    size_t done = 0;

    while (done < len) {
        int rc = rados_read(io, oid, (char *)buf + done, len - done, off + done);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return -EIO;
        done += (size_t)rc;
    }
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

/* Copies the wanted slots w[0..n) of container oid, reading them in coalesced spans. */
static int copy_spans(updater *u, const char *oid, want *w, size_t n, uint8_t *span)
{
    size_t a = 0, b, k;
    int err, reason;

    qsort(w, n, sizeof(*w), cmp_want);
    while (a < n) {
        uint64_t start = w[a].sl->offset, end = start + w[a].sl->stored_len;
        for (b = a + 1; b < n; b++) {
            uint64_t e = w[b].sl->offset + w[b].sl->stored_len;
            if (w[b].sl->offset > end + CDS_GAP || e - start > CDS_SPAN_MAX)
                break;
            if (e > end)
                end = e;
        }
        err = read_exact(u->s->data, oid, start, span, (size_t)(end - start));
        if (err)
            return vmd_fail(u->s, err, "reading container %s in pool %s", oid, u->s->data_pool);
        for (k = a; k < b; k++) {
            const uint8_t *stored = span + (w[k].sl->offset - start);
            err = vmd_ctr_chunk_decode(w[k].sl, stored, u->raw, u->dctx, &reason);
            if (err == -EIO && reason)
                return vmd_fail(u->s, -EIO, "slot %u of container %s: %s",
                                u->fresh[w[k].i].home.slot, oid, vmd_ctr_reason_name(reason));
            if (err)
                return vmd_fail(u->s, err, "verifying a slot of container %s", oid);
            err = add_chunk(u, w[k].i, w[k].sl, stored);
            if (err)
                return err;
        }
        a = b;
    }
    return 0;
}

/* Copies the chunks idx[0..n) that all live in one home container. */
static int copy_group(updater *u, const uint32_t *idx, size_t n, want *w, uint8_t *span)
{
    const fresh_chunk *f0 = &u->fresh[idx[0]];
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
            u->fresh[idx[k]].state = FRESH_SKIPPED;
        u->r->skipped += n;
        return 0;
    }
    if (err < 0)
        return vmd_fail(u->s, err, "stat of container %s in pool %s", oid, u->s->data_pool);
    err = vmd_ctr_load(u->s, u->s->data, oid, &c);
    if (err)
        return err;
    for (k = 0; k < n; k++) {
        fresh_chunk *f = &u->fresh[idx[k]];
        const vmd_ctr_slot *sl = f->home.slot < c->hdr.nslots ? &c->slots[f->home.slot] : NULL;
        if (!sl || sl->state != VMD_CTR_LIVE || memcmp(sl->fp, f->fp.b, 32) != 0 ||
            sl->raw_len != f->chunk_len) {
            f->state = FRESH_SKIPPED; /* no longer there: not copied, not marked */
            u->r->skipped++;
            continue;
        }
        w[nw].i = idx[k];
        w[nw].sl = sl;
        nw++;
    }
    err = nw ? copy_spans(u, oid, w, nw, span) : 0;
    vmd_ctr_free(c);
    return err;
}

static int cmp_home(const void *a, const void *b, void *arg)
{
    const updater *u = arg;
    const fresh_chunk *x = &u->fresh[*(const uint32_t *)a];
    const fresh_chunk *y = &u->fresh[*(const uint32_t *)b];

    if (x->vm != y->vm)
        return x->vm < y->vm ? -1 : 1;
    if (x->home.id != y->home.id)
        return x->home.id < y->home.id ? -1 : 1;
    return x->home.slot < y->home.slot ? -1 : x->home.slot > y->home.slot;
}

static int copy_chunks(updater *u)
{
    uint32_t *order = NULL;
    uint8_t *span = NULL;
    want *w = NULL;
    size_t i, j, k;
    int err = 0;

    if (u->nfresh == 0)
        return 0;
    order = malloc(u->nfresh * sizeof(*order));
    u->pending = malloc(u->nfresh * sizeof(*u->pending));
    w = malloc(u->nfresh * sizeof(*w));
    span = malloc(CDS_SPAN_MAX + VMD_CTR_CHUNK_MAX + CDS_GAP);
    u->raw = malloc(VMD_CTR_CHUNK_MAX);
    u->dctx = ZSTD_createDCtx();
    if (!order || !u->pending || !w || !span || !u->raw || !u->dctx) {
        err = vmd_fail(u->s, -ENOMEM, "copying %zu chunks", u->nfresh);
        goto out;
    }
    for (i = 0; i < u->nfresh; i++)
        order[i] = (uint32_t)i;
    qsort_r(order, u->nfresh, sizeof(*order), cmp_home, u);
    for (i = 0; i < u->nfresh && !err; i = j) {
        const fresh_chunk *f = &u->fresh[order[i]];
        for (j = i + 1; j < u->nfresh; j++) {
            const fresh_chunk *g = &u->fresh[order[j]];
            if (g->vm != f->vm || g->home.id != f->home.id)
                break;
        }
        err = copy_group(u, order + i, j - i, w, span);
    }
    if (!err)
        err = flush(u);
    progress(u, 1);
out:
    for (k = 0; k < u->npending; k++) /* in a container that was never written */
        u->fresh[u->pending[k]].state = FRESH_TODO;
    vmd_ctr_builder_free(u->b);
    u->b = NULL;
    ZSTD_freeDCtx(u->dctx);
    u->dctx = NULL;
    free(u->raw);
    u->raw = NULL;
    free(span);
    free(w);
    free(order);
    return err;
}

/* ---- marking, the manifest, publishing ---- */

/*
 * Test hook: with VMD_CDS_TEST_STALL=<step> in the environment, the update
 * sleeps before that step ("mark" or "publish") so that
 * tests/integration/test_cds.sh can SIGKILL it exactly there.
 */
static void test_stall(const char *step)
{
    const char *e = getenv("VMD_CDS_TEST_STALL");

    if (e && strcmp(e, step) == 0)
        sleep(300);
}

static int mark_copied(updater *u)
{
    vmd_idx_mark_item *items;
    uint8_t *status;
    size_t i, n = 0;
    int err;

    test_stall("mark");
    items = malloc((u->nfresh ? u->nfresh : 1) * sizeof(*items));
    status = malloc(u->nfresh ? u->nfresh : 1);
    if (!items || !status) {
        free(items);
        free(status);
        return vmd_fail(u->s, -ENOMEM, "marking %zu chunks popular", u->nfresh);
    }
    for (i = 0; i < u->nfresh; i++)
        if (u->fresh[i].state == FRESH_COPIED) {
            items[n].fp = u->fresh[i].fp;
            items[n].pop = u->fresh[i].pop;
            n++;
        }
    err = n ? vmd_idx_mark_popular(u->s, items, n, status) : 0;
    free(items);
    free(status);
    return err;
}

static int cmp_order(const void *a, const void *b)
{
    return vmd_cds_entry_order(a, b);
}

/* Everything the new version lists, sorted most popular first. */
static int assemble(updater *u, vmd_cds_entry **out, size_t *count)
{
    size_t n = 0, i, cap = u->nkeep + u->nfresh + u->nprev;
    vmd_cds_entry *e = malloc((cap ? cap : 1) * sizeof(*e));

    *out = NULL;
    *count = 0;
    if (!e)
        return vmd_fail(u->s, -ENOMEM, "assembling a CDS of %zu entries", cap);
    for (i = 0; i < u->nkeep; i++)
        e[n++] = u->keep[i];
    for (i = 0; i < u->nfresh; i++) {
        const fresh_chunk *f = &u->fresh[i];
        if (f->state != FRESH_COPIED)
            continue;
        memcpy(e[n].fp, f->fp.b, 32);
        e[n].ctr = f->pop.id;
        e[n].slot = f->pop.slot;
        e[n].raw_len = f->chunk_len;
        e[n].vm_count = f->vm_count;
        n++;
    }
    for (i = 0; i < u->nprev; i++)
        if (!u->prev_seen[i]) {
            e[n++] = u->prev[i];
            u->r->carried++;
        }
    qsort(e, n, sizeof(*e), cmp_order);
    *out = e;
    *count = n;
    return 0;
}

static int write_manifest(updater *u, const vmd_cds_entry *e, size_t n)
{
    char oid[VMD_CDS_OID_SIZE];
    vmd_cds_header h;
    vmd_u64set ctrs;
    uint8_t *buf;
    size_t per = CDS_WRITE_BLOCK / VMD_CDS_ENTRY_SIZE, i, k;
    int err = 0;

    memset(&h, 0, sizeof(h));
    h.version = h.compat = VMD_CDS_VERSION;
    h.cds_version = u->version;
    h.count = n;
    h.time = (int64_t)time(NULL);
    h.entry_size = VMD_CDS_ENTRY_SIZE;
    h.next_id = u->ptr.next_id;
    vmd_u64set_init(&ctrs);
    for (i = 0; i < n; i++) {
        h.bytes += e[i].raw_len;
        if (vmd_u64set_add(&ctrs, e[i].ctr) < 0) {
            vmd_u64set_free(&ctrs);
            return vmd_fail(u->s, -ENOMEM, "counting popular containers");
        }
    }
    u->r->cds.containers = ctrs.n;
    vmd_u64set_free(&ctrs);
    if (n && !u->r->cds.threshold)
        u->r->cds.threshold = e[n - 1].vm_count;
    h.threshold = n ? u->r->cds.threshold : 0;
    u->r->cds.version = h.cds_version;
    u->r->cds.entries = h.count;
    u->r->cds.bytes = h.bytes;
    u->r->cds.time = h.time;
    u->r->cds.mem = vmd_cds_mem_for(h.count);
    u->r->cds.budget = u->s->cds_budget;
    vmd_cds_oid(oid, u->version);
    buf = malloc(per * VMD_CDS_ENTRY_SIZE > VMD_CDS_HEADER_SIZE ? per * VMD_CDS_ENTRY_SIZE
                                                                : VMD_CDS_HEADER_SIZE);
    if (!buf)
        return vmd_fail(u->s, -ENOMEM, "writing CDS manifest %s", oid);
    vmd_cds_header_encode(&h, buf);
    err = rados_write_full(u->s->meta, oid, (const char *)buf, VMD_CDS_HEADER_SIZE);
    for (i = 0; !err && i < n; i += k) {
        size_t j;
        k = n - i < per ? n - i : per;
        for (j = 0; j < k; j++)
            vmd_cds_entry_encode(&e[i + j], buf + j * VMD_CDS_ENTRY_SIZE);
        err = rados_write(u->s->meta, oid, (const char *)buf, k * VMD_CDS_ENTRY_SIZE,
                          VMD_CDS_HEADER_SIZE + (uint64_t)i * VMD_CDS_ENTRY_SIZE);
        if (!err)
            err = lock_tick(u, 0);
    }
    free(buf);
    if (err < 0)
        return vmd_fail(u->s, err, "writing CDS manifest %s in pool %s", oid, u->s->meta_pool);
    return 0;
}

/* Removes manifests nobody can be reading any more (errors are harmless: leftovers). */
static void tidy(updater *u, uint64_t old_current, uint64_t old_previous)
{
    char oid[VMD_CDS_OID_SIZE];
    uint64_t v, n = 0;

    if (old_previous && old_previous != old_current) {
        vmd_cds_oid(oid, old_previous);
        (void)rados_remove(u->s->meta, oid);
    }
    for (v = old_current + 1; v < u->version && n < CDS_TIDY_MAX; v++, n++) {
        vmd_cds_oid(oid, v);
        (void)rados_remove(u->s->meta, oid);
    }
}

static int publish(updater *u)
{
    uint64_t old_current = u->ptr.current, old_previous = u->ptr.previous;
    int err;

    test_stall("publish");
    err = lock_tick(u, 1);

    if (!err)
        err = ptr_cas(u, "current", old_current, u->version, "previous", old_current);
    if (err)
        return err;
    tidy(u, old_current, old_previous);
    return 0;
}

static int check_opts(vmd_store *s, const vmd_cds_update_opts *o)
{
    if (!(o->top_percent >= 0 && o->top_percent <= 100))
        return vmd_fail(s, -EINVAL, "--top wants a percentage from 0 to 100, not %g",
                        o->top_percent);
    if (s->partition_bits < 0)
        return vmd_fail(s, -ENOENT,
                        "store not initialised: no object %s in pool %s (run vmdedup init)",
                        VMD_STORE_OBJECT, s->meta_pool);
    return 0;
}

static void updater_free(updater *u)
{
    vmd_sel_free(u->sel);
    free(u->prev);
    free(u->prev_seen);
    free(u->keep);
    free(u->fresh);
    free(u->pending);
}

int vmd_cds_update(vmd_cds_update_result *out, vmd_store *s, const vmd_cds_update_opts *opts)
{
    vmd_cds_update_result ignored;
    vmd_cds_entry *entries = NULL;
    size_t n = 0;
    updater u;
    int err;

    if (!s)
        return -EINVAL;
    if (!out)
        out = &ignored;
    memset(out, 0, sizeof(*out));
    memset(&u, 0, sizeof(u));
    u.s = s;
    u.r = out;
    if (opts)
        u.o = *opts;
    clock_gettime(CLOCK_MONOTONIC, &u.start);
    u.shown = u.start;
    err = check_opts(s, &u.o);
    if (!err)
        err = lock_take(&u);
    if (!err)
        err = ptr_init(&u);
    if (!err)
        err = alloc_version(&u);
    if (!err)
        err = load_previous(&u);
    if (!err)
        err = select_chunks(&u);
    if (!err)
        err = copy_chunks(&u);
    if (!err)
        err = mark_copied(&u);
    if (!err)
        err = assemble(&u, &entries, &n);
    if (!err)
        err = write_manifest(&u, entries, n);
    if (!err)
        err = publish(&u);
    lock_drop(&u);
    free(entries);
    updater_free(&u);
    out->seconds = since(&u.start);
    return err;
}
