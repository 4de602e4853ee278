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
#include "rados/ctr_client.h"
#include "read/segment.h"
#include "format/container.h"
#include "format/recipe.h"

#define RS_THREADS  4
#define RS_CACHE    8           /* container tables per thread */
#define RS_GAP      (64u << 10) /* slots closer than this are read together */
#define RS_SPAN_MAX (4u << 20)  /* one read covers at most this */
#define RS_AIO      32          /* reads in flight per thread */
#define RS_PAGE     1024        /* table entries read at once */

typedef struct restore restore;

typedef struct cache_ent {
    uint64_t id;
    int popular; /* p.<id16> in the popular pool, else c.<vm>.<id16> in the data pool */
    vmd_ctr *ctr;
    uint64_t used;
} cache_ent;

/* One coalesced read: slots [first, last] of refs sorted by (container, offset). */
typedef struct span {
    uint64_t ctr;
    int popular;
    uint64_t off;
    size_t len;
    uint8_t *buf;
    rados_completion_t c;
    char oid[VMD_CTR_OID_MAX];
} span;

typedef struct rworker {
    restore *r;
    pthread_t tid;
    uint8_t *seg;
    uint8_t *rec;
    size_t rec_cap;
    vmd_rcp_ref *refs;
    uint32_t *order;
    size_t refs_cap;
    span *spans;
    size_t spans_cap;
    cache_ent cache[RS_CACHE];
    uint64_t tick;
    ZSTD_DCtx *dctx;
} rworker;

struct restore {
    vmd_store *s;
    const char *vm;
    uint32_t snap;
    vmd_rcp_header hdr;
    char oid[VMD_RCP_OID_MAX];
    int fd, blockdev;
    uint64_t off, len; /* the range */
    uint64_t first, last;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t next;       /* next segment to hand out */
    uint8_t *page;       /* RS_PAGE entries starting at page_first */
    uint64_t page_first; /* UINT64_MAX: none loaded */
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
    int rc = 1;

    pthread_mutex_lock(&r->mu);
    if (r->err || r->next > r->last) {
        pthread_mutex_unlock(&r->mu);
        return 0;
    }
    *seg = r->next++;
    if (r->page_first == UINT64_MAX || *seg < r->page_first || *seg >= r->page_first + RS_PAGE) {
        uint64_t n = r->hdr.nsegs - *seg < RS_PAGE ? r->hdr.nsegs - *seg : RS_PAGE;
        int got = rados_read(r->s->meta, r->oid, (char *)r->page, n * VMD_RCP_ENTRY_SIZE,
                             vmd_rcp_records_off(*seg));
        r->page_first = *seg;
        if (got < 0 || (uint64_t)got != n * VMD_RCP_ENTRY_SIZE) {
            r->page_first = UINT64_MAX;
            rc = got < 0 ? got : -EIO;
        }
    }
    if (rc == 1 &&
        vmd_rcp_entry_decode(e, &r->hdr, r->page + (*seg - r->page_first) * VMD_RCP_ENTRY_SIZE))
        rc = -EINVAL;
    pthread_mutex_unlock(&r->mu);
    if (rc < 0)
        return rs_fail(r, -EIO, "recipe %s: %s of segment %llu", r->oid,
                       rc == -EINVAL ? "corrupt table entry" : "cannot read the table entry",
                       (unsigned long long)*seg);
    return rc;
}

/* ---- records and container tables ---- */

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    void *np;

    if (need <= *cap)
        return 0;
    np = realloc(*p, need * size);
    if (!np)
        return -ENOMEM;
    *p = np;
    *cap = need;
    return 0;
}

static int load_record(rworker *w, uint64_t seg, const vmd_rcp_entry *e, uint32_t seg_len)
{
    restore *r = w->r;
    size_t len = vmd_rcp_record_size(e->nchunks), refs_cap = w->refs_cap;
    char oid[VMD_RCP_OID_MAX];
    int got;

    if (grow((void **)&w->rec, &w->rec_cap, len, 1) ||
        grow((void **)&w->refs, &refs_cap, e->nchunks, sizeof(*w->refs)) ||
        grow((void **)&w->order, &w->refs_cap, e->nchunks, sizeof(*w->order)))
        return rs_fail(r, -ENOMEM, "restoring segment %llu", (unsigned long long)seg);
    vmd_rcp_oid(oid, r->vm, e->holder);
    got = rados_read(r->s->meta, oid, (char *)w->rec, len, e->offset);
    if (got < 0)
        return rs_fail(r, got == -ENOENT ? -EIO : got, "reading the record of segment %llu from %s",
                       (unsigned long long)seg, oid);
    if ((size_t)got != len ||
        vmd_rcp_record_decode(w->refs, w->rec, len, seg, e->nchunks, e->holder, seg_len))
        return rs_fail(r, -EIO, "recipe %s is corrupt: bad record of segment %llu at offset %llu",
                       oid, (unsigned long long)seg, (unsigned long long)e->offset);
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
    const vmd_rcp_ref *x = &w->refs[*(const uint32_t *)a];
    const vmd_rcp_ref *y = &w->refs[*(const uint32_t *)b];

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

/* Extends the last span with slot sl of container ctr, or starts a new one. */
static int add_span(rworker *w, size_t *ns, const vmd_rcp_ref *f, const vmd_ctr_slot *sl,
                    const char *oid)
{
    span *sp = *ns ? &w->spans[*ns - 1] : NULL;
    size_t cap = w->spans_cap;

    if (sp && sp->ctr == f->ctr && sp->popular == ref_popular(f) && sl->offset >= sp->off &&
        sl->offset <= sp->off + sp->len + RS_GAP &&
        sl->offset + sl->stored_len - sp->off <= RS_SPAN_MAX) {
        uint64_t end = sl->offset + sl->stored_len;
        if (end > sp->off + sp->len)
            sp->len = (size_t)(end - sp->off);
        return 0;
    }
    if (grow((void **)&w->spans, &cap, *ns + 1, sizeof(*w->spans)))
        return rs_fail(w->r, -ENOMEM, "planning reads of container %s", oid);
    w->spans_cap = cap;
    sp = &w->spans[(*ns)++];
    memset(sp, 0, sizeof(*sp));
    sp->ctr = f->ctr;
    sp->popular = ref_popular(f);
    sp->off = sl->offset;
    sp->len = sl->stored_len;
    snprintf(sp->oid, sizeof(sp->oid), "%s", oid);
    return 0;
}

/* Builds the reads of the sorted non-zero refs, checking each against its slot. */
static int plan_spans(rworker *w, uint32_t nref, size_t *nspans)
{
    char oid[VMD_CTR_OID_MAX];
    uint32_t k;
    int err;

    *nspans = 0;
    for (k = 0; k < nref; k++) {
        const vmd_rcp_ref *f = &w->refs[w->order[k]];
        const vmd_ctr *c;
        if ((err = cached_ctr(w, f, &c)))
            return err;
        ref_oid(w, f, oid);
        if ((err = check_slot(w, c, f, oid)) ||
            (err = add_span(w, nspans, f, &c->slots[f->slot], oid)))
            return err;
    }
    return 0;
}

/* Reads spans with at most RS_AIO in flight. */
static int read_spans(rworker *w, size_t ns)
{
    size_t i, first = 0;
    int err = 0;

    for (i = 0; i < ns; i++)
        w->spans[i].buf = NULL;
    while (first < ns && !err) {
        size_t end = first + RS_AIO < ns ? first + RS_AIO : ns, started = first;
        for (i = first; i < end; i++, started++) {
            span *sp = &w->spans[i];
            if (!(sp->buf = malloc(sp->len)) || rados_aio_create_completion2(NULL, NULL, &sp->c)) {
                err = rs_fail(w->r, -ENOMEM, "reading container %s", sp->oid);
                break;
            }
            err = rados_aio_read(vmd_ctr_pool(w->r->s, sp->popular), sp->oid, sp->c,
                                 (char *)sp->buf, sp->len, sp->off);
            if (err) {
                rados_aio_release(sp->c);
                err = rs_fail(w->r, err, "reading container %s", sp->oid);
                break;
            }
        }
        for (i = first; i < started; i++) {
            span *sp = &w->spans[i];
            int rc;
            rados_aio_wait_for_complete(sp->c);
            rc = rados_aio_get_return_value(sp->c);
            rados_aio_release(sp->c);
            if (!err && (rc < 0 || (size_t)rc != sp->len))
                err = rs_fail(w->r, rc < 0 ? rc : -EIO, "reading %zu bytes at %llu of container %s",
                              sp->len, (unsigned long long)sp->off, sp->oid);
        }
        first = end;
    }
    return err;
}

/* The span holding slot sl of container ctr, searching from group (the container's first). */
static span *find_span(rworker *w, size_t ns, size_t *group, const vmd_rcp_ref *f,
                       const vmd_ctr_slot *sl)
{
    size_t i;

#define SPAN_OF_F(sp) ((sp)->ctr == f->ctr && (sp)->popular == ref_popular(f))
    while (*group < ns && !SPAN_OF_F(&w->spans[*group]))
        (*group)++;
    for (i = *group; i < ns && SPAN_OF_F(&w->spans[i]); i++)
        if (sl->offset >= w->spans[i].off &&
            sl->offset + sl->stored_len <= w->spans[i].off + w->spans[i].len)
            return &w->spans[i];
#undef SPAN_OF_F
    return NULL;
}

/* Decodes and verifies every non-zero ref into the segment buffer. */
static int decode_chunks(rworker *w, uint32_t nref, const uint32_t *pos, size_t ns)
{
    size_t group = 0;
    uint32_t k;
    int err;

    for (k = 0; k < nref; k++) {
        const vmd_rcp_ref *f = &w->refs[w->order[k]];
        const vmd_ctr *c;
        const vmd_ctr_slot *sl;
        span *sp;
        int reason = 0;
        if ((err = cached_ctr(w, f, &c)))
            return err;
        sl = &c->slots[f->slot];
        if (!(sp = find_span(w, ns, &group, f, sl)))
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

static void free_spans(rworker *w, size_t ns)
{
    size_t i;

    for (i = 0; i < ns; i++) {
        free(w->spans[i].buf);
        w->spans[i].buf = NULL;
    }
}

/* Fills w->seg with the segment described by e. */
static int build_segment(rworker *w, uint64_t seg, const vmd_rcp_entry *e, uint32_t seg_len)
{
    uint32_t *pos, i, nref = 0, off = 0;
    size_t ns = 0;
    int err;

    if ((err = load_record(w, seg, e, seg_len)))
        return err;
    pos = malloc(e->nchunks * sizeof(*pos));
    if (!pos)
        return rs_fail(w->r, -ENOMEM, "restoring segment %llu", (unsigned long long)seg);
    for (i = 0; i < e->nchunks; i++) {
        pos[i] = off;
        if (w->refs[i].flags & VMD_RCP_REF_ZERO)
            memset(w->seg + off, 0, w->refs[i].raw_len);
        else
            w->order[nref++] = i;
        off += w->refs[i].raw_len;
    }
    qsort_r(w->order, nref, sizeof(*w->order), order_cmp, w);
    err = plan_spans(w, nref, &ns);
    if (!err)
        err = read_spans(w, ns);
    if (!err)
        err = decode_chunks(w, nref, pos, ns);
    free_spans(w, ns);
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
        uint32_t seg_len = vmd_rcp_seg_len(r->hdr.disk_size, seg);
        int err = 0;
        if (e.kind == VMD_RCP_ZERO) {
            if (r->blockdev) {
                memset(w->seg, 0, seg_len);
                err = write_out(w, seg, w->seg, seg_len);
            }
        } else if (!(err = build_segment(w, seg, &e, seg_len))) {
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

static int open_recipe(restore *r)
{
    uint8_t hdr[VMD_RCP_HEADER_SIZE];
    uint64_t size = 0;
    time_t mtime;
    int err;

    vmd_rcp_oid(r->oid, r->vm, r->snap);
    err = rados_stat(r->s->meta, r->oid, &size, &mtime);
    if (!err && size >= VMD_RCP_HEADER_SIZE)
        err = rados_read(r->s->meta, r->oid, (char *)hdr, sizeof(hdr), 0);
    if (err < 0)
        return vmd_fail(r->s, err == -ENOENT ? -EIO : err,
                        "reading recipe %s of committed snapshot %u", r->oid, r->snap);
    if (size < VMD_RCP_HEADER_SIZE || err != VMD_RCP_HEADER_SIZE ||
        vmd_rcp_header_decode(&r->hdr, hdr, size) || !(r->hdr.flags & VMD_RCP_F_COMPLETE) ||
        r->hdr.snap != r->snap || strcmp(r->hdr.vm, r->vm))
        return vmd_fail(r->s, -EIO, "recipe %s is corrupt (header)", r->oid);
    return 0;
}

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
    uint64_t size = r->hdr.disk_size;

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
    free(w->rec);
    free(w->refs);
    free(w->order);
    free(w->spans);
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
    r.page_first = UINT64_MAX;
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.cv, NULL);
    if ((err = vmd_snap_get(&info, s, vm, snap)) || (err = open_recipe(&r)) ||
        (err = set_range(&r, opts)) || (err = open_output(&r, path)))
        goto out;
    r.page = malloc((size_t)RS_PAGE * VMD_RCP_ENTRY_SIZE);
    if (!r.page) {
        err = vmd_fail(s, -ENOMEM, "restoring snapshot %u of VM %s", snap, vm);
        goto out;
    }
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
    free(r.page);
    pthread_mutex_destroy(&r.mu);
    pthread_cond_destroy(&r.cv);
    return err;
}
