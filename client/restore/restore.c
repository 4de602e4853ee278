/*
 * restore.c - vmd_restore(): rebuild a snapshot (or a byte range of it) into a file or device.
 *
 * N threads (default 4: restore waits on the network more than on the CPU)
 * each take the next segment of the range and
 *
 *   1. look up its entry in the recipe's segment table (read a page of
 *      entries at a time under a mutex; entries are 56 bytes);
 *   2. ZERO: nothing to write in a regular file (it was truncated to the
 *      range's size, so the hole reads as zeros); zeros on a block device;
 *   3. SAME / CHUNKS: read the chunk record from the holder's recipe (one
 *      hop: the backup resolved SAME to the snapshot holding the record);
 *   4. group the chunk references by container, load each container's slot
 *      table through a small per-thread LRU cache, coalesce neighbouring
 *      slots into ranges and read all ranges with librados aio in parallel;
 *   5. decompress and verify every chunk against its SHA-256 (a slot whose
 *      fingerprint or length differs from the reference, or that fails
 *      verification, is -EIO naming the container and slot);
 *   6. pwrite the part of the segment inside the range at its place.
 *
 * The output of a range restore is the range alone: byte `offset` of the
 * disk is byte 0 of the output (as `rbd export` with an offset would give).
 * Memory per thread: one segment buffer, one record, the ranges of one
 * segment's chunks and VMD_RS_CACHE container tables.
 */
#define _GNU_SOURCE /* qsort_r */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "snapshot/catalog.h"
#include "snapshot/recipe_reader.h"
#include "rados/ctr_client.h"
#include "rados/slot_reader.h"
#include "read/segment.h"
#include "util/grow.h"
#include "format/container.h"
#include "format/recipe.h"

#define RS_THREADS 4
#define RS_CACHE   8    /* container tables per thread */
#define RS_PAGE    1024 /* table entries read at once */

typedef struct restore restore;

typedef struct cache_ent {
    uint64_t id;
    int popular; /* p.<id16> in the popular pool, else c.<vm>.<id16> in the data pool */
    vmd_ctr *ctr;
    uint64_t used;
} cache_ent;

typedef struct rworker {
    restore *r;
    pthread_t tid;
    uint8_t *seg;
    vmd_rcp_records recs; /* the segment's refs */
    uint32_t *order;      /* non-zero refs by (pool, container, slot) */
    size_t order_cap;
    vmd_ctr_slot *planned; /* planned[k]: the slot of ref order[k], checked against the recipe */
    size_t planned_cap;
    vmd_slot_reader reads; /* the segment's chunks, merged into spans */
    cache_ent cache[RS_CACHE];
    uint64_t tick;
    ZSTD_DCtx *dctx;
} rworker;

struct restore {
    vmd_store *s;
    const char *vm;
    uint32_t snap;
    vmd_rcp_reader rcp; /* its table is read under mu */
    int fd, blockdev;
    uint64_t off, len; /* the range */
    uint64_t first, last;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t next; /* next segment to hand out */
    uint64_t done_bytes;
    unsigned running;
    int err;
    char msg[320];
};

/* Records the first failure (message reported by the calling thread) and stops the others. */
__attribute__((format(printf, 3, 4))) static int rs_fail(restore *r, int err, const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&r->mu);
    if (!r->err) {
        va_start(ap, fmt);
        vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
        va_end(ap);
        r->err = err;
    }
    pthread_mutex_unlock(&r->mu);
    return err;
}

/* Takes the next segment and its table entry. 1: got one; 0: none left or stopped; < 0 error. */
static int next_segment(restore *r, uint64_t *seg, vmd_rcp_entry *e)
{
    char msg[VMD_RCP_MSG_MAX];
    int rc;

    pthread_mutex_lock(&r->mu);
    if (r->err || r->next > r->last) {
        pthread_mutex_unlock(&r->mu);
        return 0;
    }
    *seg = r->next++;
    rc = vmd_rcp_reader_entry(e, msg, &r->rcp, *seg);
    pthread_mutex_unlock(&r->mu);
    if (rc < 0)
        return rs_fail(r, rc, "%s", msg);
    return 1;
}

/* ---- records and container tables ---- */

/* Loads the refs of segment seg (entry e) into w->recs, and room for their order. */
static int load_record(rworker *w, uint64_t seg, const vmd_rcp_entry *e)
{
    char msg[VMD_RCP_MSG_MAX];
    int err;

    w->recs.n = 0;
    err = vmd_rcp_reader_record(&w->recs, msg, &w->r->rcp, seg, e);
    if (err)
        return rs_fail(w->r, err, "%s", msg);
    if (vmd_grow((void **)&w->order, &w->order_cap, e->nchunks, 256, sizeof(*w->order)) ||
        vmd_grow((void **)&w->planned, &w->planned_cap, e->nchunks, 256, sizeof(*w->planned)))
        return rs_fail(w->r, -ENOMEM, "restoring segment %llu", (unsigned long long)seg);
    return 0;
}

/* 1 when ref f names a popular container (level 3). */
static int ref_popular(const vmd_rcp_ref *f)
{
    return (f->flags & VMD_RCP_REF_POPULAR) != 0;
}

/* The object name of the container ref f names. */
static void ref_oid(const rworker *w, const vmd_rcp_ref *f, char oid[VMD_CTR_OID_MAX])
{
    vmd_ctr_oid(oid, VMD_CTR_OID_MAX, ref_popular(f) ? NULL : w->r->vm, f->ctr);
}

static int cached_ctr(rworker *w, const vmd_rcp_ref *f, const vmd_ctr **out)
{
    uint64_t id = f->ctr;
    int popular = ref_popular(f);
    restore *r = w->r;
    cache_ent *victim = &w->cache[0];
    char oid[VMD_CTR_OID_MAX];
    int i, err;

    for (i = 0; i < RS_CACHE; i++) {
        if (w->cache[i].ctr && w->cache[i].id == id && w->cache[i].popular == popular) {
            w->cache[i].used = ++w->tick;
            *out = w->cache[i].ctr;
            return 0;
        }
        if (!w->cache[i].ctr || w->cache[i].used < victim->used)
            victim = &w->cache[i];
    }
    ref_oid(w, f, oid);
    vmd_ctr_free(victim->ctr);
    victim->ctr = NULL;
    err = vmd_ctr_load(r->s, vmd_ctr_pool(r->s, popular), oid, &victim->ctr);
    if (err)
        return rs_fail(r, err == -ENOENT ? -EIO : err, "loading container %s (%s)", oid,
                       err == -ENOENT ? "missing" : strerror(-err));
    victim->id = id;
    victim->popular = popular;
    victim->used = ++w->tick;
    *out = victim->ctr;
    return 0;
}

/* ---- reading the chunks of one segment ---- */

static int order_cmp(const void *a, const void *b, void *arg)
{
    const rworker *w = arg;
    const vmd_rcp_ref *x = &w->recs.refs[*(const uint32_t *)a];
    const vmd_rcp_ref *y = &w->recs.refs[*(const uint32_t *)b];

    if (ref_popular(x) != ref_popular(y))
        return ref_popular(x) - ref_popular(y);
    if (x->ctr != y->ctr)
        return x->ctr < y->ctr ? -1 : 1;
    if (x->slot != y->slot)
        return x->slot < y->slot ? -1 : 1;
    return 0;
}

/* Checks ref i against its container's slot. */
static int check_slot(rworker *w, const vmd_ctr *c, const vmd_rcp_ref *f, const char *oid)
{
    const vmd_ctr_slot *sl;

    if (f->slot >= c->hdr.nslots)
        return rs_fail(w->r, -EIO, "container %s has no slot %u (%u slots)", oid, f->slot,
                       c->hdr.nslots);
    sl = &c->slots[f->slot];
    if (sl->state != VMD_CTR_LIVE || sl->raw_len != f->raw_len || memcmp(sl->fp, f->fp, 32))
        return rs_fail(w->r, -EIO,
                       "slot %u of container %s is not the chunk the recipe names "
                       "(state, length or fingerprint differ)",
                       f->slot, oid);
    return 0;
}

/* Plans the reads of the sorted non-zero refs, checking each against its slot. */
static int plan_reads(rworker *w, uint32_t nref)
{
    char oid[VMD_CTR_OID_MAX];
    uint32_t k;
    int err;

    for (k = 0; k < nref; k++) {
        const vmd_rcp_ref *f = &w->recs.refs[w->order[k]];
        const vmd_ctr *c = NULL;
        if ((err = cached_ctr(w, f, &c)))
            return err;
        ref_oid(w, f, oid);
        if ((err = check_slot(w, c, f, oid)))
            return err;
        /* From here on the chunk is what the recipe says: its length and fingerprint
           come from the recipe, only where it lies from the table checked above. The
           table is not read again (the cache may evict and reload it, and a reloaded
           table is not the one that was checked). */
        w->planned[k] = c->slots[f->slot];
        w->planned[k].raw_len = f->raw_len;
        memcpy(w->planned[k].fp, f->fp, sizeof(w->planned[k].fp));
        if (vmd_slot_reader_add(&w->reads, ref_popular(f), f->ctr, oid, &w->planned[k]))
            return rs_fail(w->r, -ENOMEM, "planning reads of container %s", oid);
    }
    return 0;
}

/* Reads the planned spans. */
static int read_spans(rworker *w)
{
    size_t bad;
    int err = vmd_slot_reader_read(&bad, &w->reads, w->r->s, 0, w->reads.n);

    if (err) {
        const vmd_span *sp = &w->reads.spans[bad];
        return rs_fail(w->r, err, "reading %zu bytes at %llu of container %s", sp->len,
                       (unsigned long long)sp->off, sp->oid);
    }
    return 0;
}

/*
 * Test hook: with VMD_RESTORE_TEST_STALL=decode in the environment, restore
 * sleeps (once, 5 s) between reading a segment's chunks and decoding them, so
 * that tests/integration/test_restore_faults.sh can change a container there.
 */
static void test_stall(void)
{
    static int stalled;
    const char *e = getenv("VMD_RESTORE_TEST_STALL");

    if (e && strcmp(e, "decode") == 0 && !__atomic_exchange_n(&stalled, 1, __ATOMIC_SEQ_CST))
        sleep(5);
}

/*
 * Decodes and verifies every non-zero ref into the segment buffer (seg_len
 * bytes), from the slots planned and checked against the recipe: each chunk
 * is verified against the recipe's fingerprint and length.
 */
static int decode_chunks(rworker *w, uint32_t nref, const uint32_t *pos, uint32_t seg_len)
{
    uint32_t k;
    int err;

    test_stall();
    for (k = 0; k < nref; k++) {
        const vmd_rcp_ref *f = &w->recs.refs[w->order[k]];
        const vmd_ctr_slot *sl = &w->planned[k];
        const vmd_span *sp;
        int reason = 0;
        if (pos[w->order[k]] > seg_len || sl->raw_len > seg_len - pos[w->order[k]])
            return rs_fail(w->r, -EIO, "internal: chunk %u of the segment ends past it",
                           w->order[k]);
        if (!(sp = vmd_slot_reader_find(&w->reads, ref_popular(f), f->ctr, sl)))
            return rs_fail(w->r, -EIO, "internal: no read covers slot %u", f->slot);
        err = vmd_ctr_chunk_decode(sl, sp->buf + (sl->offset - sp->off), w->seg + pos[w->order[k]],
                                   w->dctx, &reason);
        if (err)
            return rs_fail(w->r, err,
                           "slot %u of container %s fails verification (%s): the stored chunk "
                           "does not match its SHA-256",
                           f->slot, sp->oid, reason ? vmd_ctr_reason_name(reason) : strerror(-err));
    }
    return 0;
}

/* Fills w->seg with the segment described by e. */
static int build_segment(rworker *w, uint64_t seg, const vmd_rcp_entry *e)
{
    uint32_t *pos, i, nref = 0, off = 0;
    const vmd_rcp_ref *refs;
    int err;

    if ((err = load_record(w, seg, e)))
        return err;
    refs = w->recs.refs;
    pos = malloc(e->nchunks * sizeof(*pos));
    if (!pos)
        return rs_fail(w->r, -ENOMEM, "restoring segment %llu", (unsigned long long)seg);
    for (i = 0; i < e->nchunks; i++) {
        pos[i] = off;
        if (refs[i].flags & VMD_RCP_REF_ZERO)
            memset(w->seg + off, 0, refs[i].raw_len);
        else
            w->order[nref++] = i;
        off += refs[i].raw_len;
    }
    qsort_r(w->order, nref, sizeof(*w->order), order_cmp, w);
    err = plan_reads(w, nref);
    if (!err)
        err = read_spans(w);
    if (!err)
        err = decode_chunks(w, nref, pos, off);
    vmd_slot_reader_clear(&w->reads);
    free(pos);
    return err;
}

static int write_out(rworker *w, uint64_t seg, const uint8_t *buf, uint32_t seg_len)
{
    restore *r = w->r;
    uint64_t start = seg << VMD_SEGMENT_SHIFT, a = start, z = start + seg_len;
    size_t done = 0, n;

    if (a < r->off)
        a = r->off;
    if (z > r->off + r->len)
        z = r->off + r->len;
    n = (size_t)(z - a);
    while (done < n) {
        ssize_t k = pwrite(r->fd, buf + (a - start) + done, n - done, (off_t)(a - r->off + done));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return rs_fail(r, k < 0 ? -errno : -EIO, "writing the output at offset %llu",
                           (unsigned long long)(a - r->off + done));
        done += (size_t)k;
    }
    return 0;
}

static void *rworker_main(void *arg)
{
    rworker *w = arg;
    restore *r = w->r;
    vmd_rcp_entry e;
    uint64_t seg;

    while (next_segment(r, &seg, &e) == 1) {
        uint32_t seg_len = vmd_rcp_seg_len(r->rcp.hdr.disk_size, seg);
        int err = 0;
        if (e.kind == VMD_RCP_ZERO) {
            if (r->blockdev) {
                memset(w->seg, 0, seg_len);
                err = write_out(w, seg, w->seg, seg_len);
            }
        } else if (!(err = build_segment(w, seg, &e))) {
            err = write_out(w, seg, w->seg, seg_len);
        }
        if (err)
            break;
        pthread_mutex_lock(&r->mu);
        r->done_bytes += seg_len;
        pthread_mutex_unlock(&r->mu);
    }
    pthread_mutex_lock(&r->mu);
    r->running--;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* ---- setup ---- */

static int open_output(restore *r, const char *path)
{
    struct stat st;

    r->fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (r->fd < 0)
        return vmd_fail(r->s, -errno, "opening output %s", path);
    if (fstat(r->fd, &st) < 0)
        return vmd_fail(r->s, -errno, "stat of output %s", path);
    r->blockdev = S_ISBLK(st.st_mode);
    if (!r->blockdev && (ftruncate(r->fd, 0) < 0 || ftruncate(r->fd, (off_t)r->len) < 0))
        return vmd_fail(r->s, -errno, "truncating output %s", path);
    return 0;
}

static int set_range(restore *r, const vmd_restore_opts *o)
{
    uint64_t size = r->rcp.hdr.disk_size;

    r->off = o->offset;
    r->len = o->length ? o->length : (o->offset < size ? size - o->offset : 0);
    if (r->off >= size || r->len > size - r->off || r->len == 0)
        return vmd_fail(r->s, -ERANGE,
                        "range %llu+%llu is beyond snapshot %u of VM %s (%llu bytes)",
                        (unsigned long long)o->offset, (unsigned long long)o->length, r->snap,
                        r->vm, (unsigned long long)size);
    r->first = r->off >> VMD_SEGMENT_SHIFT;
    r->last = (r->off + r->len - 1) >> VMD_SEGMENT_SHIFT;
    r->next = r->first;
    return 0;
}

/* Waits for the workers, reporting progress from this (the calling) thread. */
static void wait_workers(restore *r, const vmd_restore_opts *o)
{
    struct timespec ts;

    pthread_mutex_lock(&r->mu);
    while (r->running) {
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 250000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&r->cv, &r->mu, &ts);
        if (o->progress && r->running) {
            uint64_t d = r->done_bytes;
            pthread_mutex_unlock(&r->mu);
            o->progress(o->progress_arg, d > r->len ? r->len : d, r->len);
            pthread_mutex_lock(&r->mu);
        }
    }
    pthread_mutex_unlock(&r->mu);
}

static void free_worker(rworker *w)
{
    int i;

    free(w->seg);
    vmd_rcp_records_free(&w->recs);
    free(w->order);
    free(w->planned);
    vmd_slot_reader_free(&w->reads);
    for (i = 0; i < RS_CACHE; i++)
        vmd_ctr_free(w->cache[i].ctr);
    ZSTD_freeDCtx(w->dctx);
}

static int run_workers(restore *r, const vmd_restore_opts *o)
{
    unsigned n = o->threads ? o->threads : RS_THREADS, i, started = 0;
    rworker *ws;
    int err = 0;

    if (n > 64)
        n = 64;
    ws = calloc(n, sizeof(*ws));
    if (!ws)
        return vmd_fail(r->s, -ENOMEM, "starting restore threads");
    for (i = 0; i < n; i++) {
        ws[i].r = r;
        ws[i].seg = malloc(VMD_SEGMENT_SIZE);
        ws[i].dctx = ZSTD_createDCtx();
        if (!ws[i].seg || !ws[i].dctx)
            err = -ENOMEM;
    }
    r->running = 0;
    for (i = 0; i < n && !err; i++) {
        pthread_mutex_lock(&r->mu);
        r->running++;
        pthread_mutex_unlock(&r->mu);
        if ((err = -pthread_create(&ws[i].tid, NULL, rworker_main, &ws[i]))) {
            pthread_mutex_lock(&r->mu);
            r->running--;
            pthread_mutex_unlock(&r->mu);
            break;
        }
        started++;
    }
    if (err)
        rs_fail(r, err, "starting restore threads");
    wait_workers(r, o);
    for (i = 0; i < started; i++)
        pthread_join(ws[i].tid, NULL);
    for (i = 0; i < n; i++)
        free_worker(&ws[i]);
    free(ws);
    if (r->err)
        return vmd_fail(r->s, r->err, "restoring snapshot %u of VM %s: %s", r->snap, r->vm, r->msg);
    return 0;
}

int vmd_restore(vmd_store *s, const char *vm, uint32_t snap, const char *path,
                const vmd_restore_opts *opts)
{
    vmd_restore_opts dflt;
    vmd_snap_info info;
    restore r;
    int err;

    if (!s || !path)
        return s ? vmd_fail(s, -EINVAL, "vmd_restore: no output path given") : -EINVAL;
    if (!opts) {
        memset(&dflt, 0, sizeof(dflt));
        opts = &dflt;
    }
    memset(&r, 0, sizeof(r));
    r.s = s;
    r.vm = vm;
    r.snap = snap;
    r.fd = -1;
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.cv, NULL);
    if ((err = vmd_snap_get(&info, s, vm, snap)) ||
        (err = vmd_rcp_reader_open(&r.rcp, s, vm, snap, RS_PAGE)) || (err = set_range(&r, opts)) ||
        (err = open_output(&r, path)))
        goto out;
    if ((err = run_workers(&r, opts)))
        goto out;
    if (!r.blockdev && fsync(r.fd) < 0 && errno != EINVAL) {
        err = vmd_fail(s, -errno, "syncing output %s", path);
        goto out;
    }
    if (opts->progress)
        opts->progress(opts->progress_arg, r.len, r.len);
out:
    if (r.fd >= 0 && close(r.fd) < 0 && !err)
        err = vmd_fail(s, -errno, "closing output %s", path);
    vmd_rcp_reader_close(&r.rcp);
    pthread_mutex_destroy(&r.mu);
    pthread_cond_destroy(&r.cv);
    return err;
}
