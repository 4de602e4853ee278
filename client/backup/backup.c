/*
 * backup.c - vmd_backup(): one snapshot of a disk image, deduplicated in levels 1 and 2.
 *
 * The pipeline (docs/architecture.md, "Backup and restore pipeline"):
 *
 *   N workers                                   1 writer (the calling thread)
 *   ---------                                   -----------------------------
 *   claim the next segment (oqueue.h)           take results in segment order
 *   clean per dirty map -> SAME (no read)       pack new chunks into containers
 *   pread, all zero -> ZERO                     (aio write_full, <= 2 in flight)
 *   chunk, fingerprint                          append the record to the recipe,
 *   level 1: same fps as parent's -> SAME       write the segment table entry
 *   level 2: parent's segment at the same       batch index registrations
 *     offset + 2 similar ones (min-hash):       progress, renew the lock
 *     a known fp reuses its location
 *   compress the remaining (new) chunks
 *
 * At most N results exist at once (the ordered queue's window), each
 * one segment buffer that the worker reads into and then packs the new
 * chunks' stored bytes into (add_new); the writer streams containers out in
 * 256 KiB pieces (ctr_writer.c): memory does not depend on the disk, and
 * is about 2 MiB x N + 3 MiB beside librados (docs/benchmarks.md).
 *
 * Commit order: every container written (all aio complete) -> index
 * registrations -> the recipe's header rewritten COMPLETE -> the catalog
 * key snap.N. A crash before the last step leaves no visible snapshot, only
 * objects that vmd_check() reports and gc reclaims.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "snapshot/catalog.h"
#include "cds/cds.h"
#include "chunk/chunker.h"
#include "pack/ctr_writer.h"
#include "read/dirtymap.h"
#include "chunk/fingerprint.h"
#include "rados/idx_client.h"
#include "backup/oqueue.h"
#include "dedup/similar.h"
#include "format/container.h"
#include "format/recipe.h"

#define BK_REG_BATCH   4096         /* new chunks deduplicated within a backup before a spill */
#define BK_REG_MEM     (1u << 20)   /* bytes of items per registration group */
#define BK_REC_BUF     (256u << 10) /* recipe records buffered before a write */
#define BK_TAB_PAGE    4096         /* table entries buffered before a write */
#define BK_SIMILAR     2            /* similar parent segments searched besides the same offset */
#define BK_MAP_MAX     (256u << 20)
#define BK_PROGRESS_MS 250
#define BK_NO_NEW      UINT32_MAX
#define BK_REF_BATCH   16384 /* popular references counted per vmd_idx_ref call */

/* ---- the parent snapshot, read-only during the backup ---- */

typedef struct parent {
    uint32_t snap; /* 0: none */
    vmd_rcp_header hdr;
    vmd_rcp_entry *entries; /* hdr.nsegs */
    vmd_sim_index sim;
} parent;

/* ---- one segment's result, written by a worker, consumed by the writer ---- */

typedef struct new_chunk {
    uint8_t fp[32];
    uint32_t off; /* in nbuf */
    uint32_t stored_len, raw_len;
    uint8_t encoding;
} new_chunk;

typedef struct result {
    int err;
    char msg[256];
    uint8_t kind;
    vmd_rcp_entry entry; /* SAME / ZERO: the table entry */
    uint64_t sig[VMD_RCP_SIG];
    uint32_t n;        /* refs */
    vmd_rcp_ref *refs; /* n; for new chunks ctr/slot are filled by the writer */
    uint32_t *newidx;  /* per ref: index in news, or BK_NO_NEW */
    uint32_t nnew;
    new_chunk *news;
    uint8_t *nbuf; /* stored bytes of the new chunks */
    uint64_t read, l1, l2, l3, zero, chunks;
} result;

/* ---- per-worker scratch ---- */

typedef struct cand_rec {
    uint64_t seg;
    uint32_t holder;
    uint64_t offset;
    uint32_t n;
} cand_rec;

typedef struct worker {
    struct backup *b;
    pthread_t tid;
    vmd_hasher *hasher;
    ZSTD_CCtx *cctx;
    uint8_t *buf;  /* the segment: the nbuf of the result being made (see add_new) */
    uint8_t *zbuf; /* one compressed chunk */
    size_t zcap;
    vmd_chunk *chunks;
    vmd_fp *fps;
    size_t cap; /* chunks a segment can have */
    uint8_t *rbuf;
    size_t rbuf_cap;
    vmd_rcp_ref *prefs; /* refs of the parent records looked at */
    size_t nprefs, prefs_cap;
    uint32_t *hash; /* open addressing over prefs and new chunks: index + 1 */
    size_t hash_cap;
} worker;

/* ---- the whole backup ---- */

typedef struct backup {
    vmd_store *s;
    const char *vm;
    const vmd_backup_opts *o;
    int fd;
    uint64_t size, nsegs;
    vmd_dirtymap *map; /* NULL: no map */
    vmd_chunker chunker;
    parent p;
    uint32_t seq;
    char rcp_oid[VMD_RCP_OID_MAX];
    char cookie[VMD_COOKIE_SIZE];
    int locked;
    unsigned nworkers, window;
    vmd_oq q;
    result *results;
    worker *workers;
    /* writer state */
    vmd_cds *cds;       /* level 3: the common data set, read-only while workers run */
    uint8_t *pop_bits;  /* one bit per CDS entry this snapshot references (set by workers) */
    vmd_ctr_writer *cw; /* containers stream out while they fill (ctr_writer.c) */
    int ctr_open;
    uint64_t ctr_id;
    uint32_t nctr;
    uint8_t *rec;
    size_t rec_len;
    uint64_t rec_off; /* recipe offset of rec[0] */
    uint8_t *tab;
    uint64_t tab_first; /* segment of tab[0] */
    unsigned tab_n;
    vmd_idx_reg_item *reg;
    size_t nreg;
    uint32_t *reg_hash; /* fp -> reg index + 1 (chunks new in this batch) */
    FILE *spill;        /* every new chunk, for the index registration at the end */
    size_t nspilled;
    uint32_t *pcount; /* spilled items per index partition */
    vmd_snap_info info;
    struct timespec t0;
} backup;

/* ======================================================================
 * Helpers
 * ==================================================================== */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t fp_hash(const uint8_t *fp)
{
    uint64_t v;
    memcpy(&v, fp + 8, sizeof(v));
    return v;
}

__attribute__((format(printf, 3, 4))) static int rfail(result *r, int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
    va_end(ap);
    r->err = err;
    return err;
}

/* Reads the record of parent entry e (segment seg, seg_len bytes) into w->prefs (appended). */
static int load_record(worker *w, result *r, uint64_t seg, const vmd_rcp_entry *e, uint32_t seg_len)
{
    backup *b = w->b;
    size_t len = vmd_rcp_record_size(e->nchunks);
    char oid[VMD_RCP_OID_MAX];
    int rc;

    if (len > w->rbuf_cap) {
        uint8_t *nb = realloc(w->rbuf, len);
        if (!nb)
            return rfail(r, -ENOMEM, "reading a parent record");
        w->rbuf = nb;
        w->rbuf_cap = len;
    }
    if (w->nprefs + e->nchunks > w->prefs_cap) {
        size_t cap = w->nprefs + e->nchunks;
        vmd_rcp_ref *np = realloc(w->prefs, cap * sizeof(*np));
        if (!np)
            return rfail(r, -ENOMEM, "reading a parent record");
        w->prefs = np;
        w->prefs_cap = cap;
    }
    vmd_rcp_oid(oid, b->vm, e->holder);
    rc = rados_read(b->s->meta, oid, (char *)w->rbuf, len, e->offset);
    if (rc < 0)
        return rfail(r, rc, "reading the record of segment %llu in recipe %s",
                     (unsigned long long)seg, oid);
    if ((size_t)rc != len || vmd_rcp_record_decode(w->prefs + w->nprefs, w->rbuf, len, seg,
                                                   e->nchunks, e->holder, seg_len))
        return rfail(r, -EIO, "recipe %s is corrupt: bad record of segment %llu at offset %llu",
                     oid, (unsigned long long)seg, (unsigned long long)e->offset);
    w->nprefs += e->nchunks;
    return 0;
}

/* ---- the small per-segment hash of known and new fingerprints ---- */

static int hash_prepare(worker *w, size_t items)
{
    size_t cap = 64;

    while (cap < items * 2)
        cap *= 2;
    if (cap > w->hash_cap) {
        uint32_t *h = realloc(w->hash, cap * sizeof(*h));
        if (!h)
            return -ENOMEM;
        w->hash = h;
        w->hash_cap = cap;
    }
    memset(w->hash, 0, cap * sizeof(*w->hash));
    w->hash_cap = cap;
    return 0;
}

/* Slot of fp in the hash: where it is, or the empty slot where it belongs. */
static size_t hash_find(worker *w, const uint8_t *fp, const uint8_t *(*key)(worker *, uint32_t),
                        uint32_t *found)
{
    size_t mask = w->hash_cap - 1, i = fp_hash(fp) & mask;

    for (; w->hash[i]; i = (i + 1) & mask)
        if (memcmp(key(w, w->hash[i] - 1), fp, 32) == 0) {
            *found = w->hash[i] - 1;
            return i;
        }
    *found = UINT32_MAX;
    return i;
}

/* Hash values: < nprefs are parent refs; nprefs + k is the k-th chunk of this segment. */
static const uint8_t *hkey(worker *w, uint32_t v)
{
    return v < w->nprefs ? w->prefs[v].fp : w->fps[v - w->nprefs].b;
}

/* ======================================================================
 * Worker: one segment
 * ==================================================================== */

static int read_segment(worker *w, result *r, uint64_t seg, uint32_t len)
{
    uint64_t off = seg << VMD_SEGMENT_SHIFT;
    size_t done = 0;

    while (done < len) {
        ssize_t n = pread(w->b->fd, w->buf + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return rfail(r, -errno, "reading image at offset %llu",
                         (unsigned long long)(off + done));
        if (n == 0)
            return rfail(r, -EIO, "short read of image at offset %llu (image shrank?)",
                         (unsigned long long)(off + done));
        done += (size_t)n;
    }
    r->read += len;
    return 0;
}

/* The parent's entry of segment seg when it covers exactly the same bytes, else NULL. */
static const vmd_rcp_entry *parent_entry(const backup *b, uint64_t seg, uint32_t len)
{
    if (!b->p.snap || seg >= b->p.hdr.nsegs || vmd_rcp_seg_len(b->p.hdr.disk_size, seg) != len)
        return NULL;
    return &b->p.entries[seg];
}

static void set_same(result *r, const vmd_rcp_entry *pe)
{
    r->kind = pe->kind == VMD_RCP_ZERO ? VMD_RCP_ZERO : VMD_RCP_SAME;
    r->entry = *pe;
    r->entry.kind = r->kind;
}

/* Level 1 by content: every chunk equals the parent's record at the same offset. */
static int same_as_loaded(worker *w, size_t n, uint32_t len)
{
    size_t i;
    uint32_t off = 0;

    if (w->nprefs != n)
        return 0;
    for (i = 0; i < n; i++) {
        const vmd_rcp_ref *f = &w->prefs[i];
        uint32_t clen = w->chunks[i].len;
        int zero = vmd_is_zero(w->buf + off, clen);
        if (f->raw_len != clen || zero != !!(f->flags & VMD_RCP_REF_ZERO) ||
            (!zero && memcmp(f->fp, w->fps[i].b, 32)))
            return 0;
        off += clen;
    }
    return off == len;
}

/* Loads up to BK_SIMILAR parent segments resembling this one (besides seg itself). */
static int load_similar(worker *w, result *r, uint64_t seg, const vmd_rcp_entry *same)
{
    backup *b = w->b;
    cand_rec seen[BK_SIMILAR + 1];
    uint64_t best[BK_SIMILAR];
    size_t nb, nseen = 0, i, j;
    int err;

    if (same)
        seen[nseen++] = (cand_rec){seg, same->holder, same->offset, same->nchunks};
    nb = vmd_sim_best(&b->p.sim, r->sig, seg, best, BK_SIMILAR);
    for (i = 0; i < nb; i++) {
        const vmd_rcp_entry *e = &b->p.entries[best[i]];
        int dup = 0;
        if (e->kind == VMD_RCP_ZERO)
            continue;
        for (j = 0; j < nseen; j++)
            dup |= seen[j].holder == e->holder && seen[j].offset == e->offset;
        if (dup)
            continue;
        err = load_record(w, r, best[i], e, vmd_rcp_seg_len(b->p.hdr.disk_size, best[i]));
        if (err)
            return err;
        seen[nseen++] = (cand_rec){best[i], e->holder, e->offset, e->nchunks};
    }
    return 0;
}

/*
 * Stores chunk i (at off in the segment) as new, compressed when that is
 * smaller. The segment was read into r->nbuf itself, and the stored bytes of
 * the new chunks are packed at its front as the chunks are visited in
 * order: a chunk's stored bytes never extend past its own raw bytes, so
 * packing never overwrites a chunk not yet visited. One segment buffer per
 * result thus serves for both reading and handing the new bytes to the
 * writer.
 */
static void add_new(worker *w, result *r, size_t i, uint32_t off)
{
    const uint8_t *raw = r->nbuf + off;
    uint32_t len = w->chunks[i].len;
    new_chunk *nc = &r->news[r->nnew];
    size_t at = r->nnew ? r->news[r->nnew - 1].off + r->news[r->nnew - 1].stored_len : 0;
    size_t z = 0;
    int level = w->b->s->zstd_level;

    memcpy(nc->fp, w->fps[i].b, 32);
    nc->off = (uint32_t)at;
    nc->raw_len = len;
    if (level > 0 && len > 1) {
        z = ZSTD_compressCCtx(w->cctx, w->zbuf, len - 1 < w->zcap ? len - 1 : w->zcap, raw, len,
                              level);
        if (ZSTD_isError(z))
            z = 0;
    }
    if (z) {
        memcpy(r->nbuf + at, w->zbuf, z);
        nc->stored_len = (uint32_t)z;
        nc->encoding = VMD_CTR_ZSTD;
    } else {
        memmove(r->nbuf + at, raw, len);
        nc->stored_len = len;
        nc->encoding = VMD_CTR_RAW;
    }
    r->newidx[i] = r->nnew++;
}

/* Ref i repeats ref j < i of the same segment: the same copy, and the same level. */
static void repeat_chunk(result *r, size_t i, size_t j)
{
    const vmd_rcp_ref *g = &r->refs[j];

    if (g->flags & VMD_RCP_REF_POPULAR) {
        r->refs[i].flags = VMD_RCP_REF_POPULAR;
        r->refs[i].ctr = g->ctr;
        r->refs[i].slot = g->slot;
        r->l3 += r->refs[i].raw_len;
    } else {
        r->newidx[i] = r->newidx[j];
        r->l2 += r->refs[i].raw_len;
    }
}

/*
 * Level 3: ref i references the popular copy when its chunk is in the CDS
 * table, and the snapshot's bit for that entry is set (the writer turns the
 * bits into reference counts at commit). Returns 1 when it did.
 */
static int find_popular(worker *w, result *r, size_t i)
{
    backup *b = w->b;
    vmd_rcp_ref *f = &r->refs[i];
    vmd_cds_loc loc;

    if (!b->cds || !vmd_cds_find(b->cds, f->fp, &loc) || loc.raw_len != f->raw_len)
        return 0;
    f->flags = VMD_RCP_REF_POPULAR;
    f->ctr = loc.ctr;
    f->slot = loc.slot;
    __atomic_fetch_or(&b->pop_bits[loc.index >> 3], (uint8_t)(1u << (loc.index & 7)),
                      __ATOMIC_RELAXED);
    r->l3 += f->raw_len;
    return 1;
}

/* Level 2 and new chunks: fills r->refs from the loaded parent refs and the segment. */
static int dedup_chunks(worker *w, result *r, size_t n)
{
    uint32_t off = 0;
    size_t i;
    int err;

    err = hash_prepare(w, w->nprefs + n);
    if (err)
        return rfail(r, err, "allocating the level-2 table");
    for (i = 0; i < w->nprefs; i++) {
        uint32_t found;
        size_t at;
        if (w->prefs[i].flags & VMD_RCP_REF_ZERO)
            continue;
        at = hash_find(w, w->prefs[i].fp, hkey, &found);
        if (found == UINT32_MAX)
            w->hash[at] = (uint32_t)i + 1;
    }
    r->n = (uint32_t)n;
    for (i = 0; i < n; i++) {
        vmd_rcp_ref *f = &r->refs[i];
        uint32_t len = w->chunks[i].len, found;
        size_t at;

        memset(f, 0, sizeof(*f));
        f->raw_len = len;
        r->newidx[i] = BK_NO_NEW;
        if (vmd_is_zero(w->buf + off, len)) {
            f->flags = VMD_RCP_REF_ZERO;
            r->zero += len;
            off += len;
            continue;
        }
        memcpy(f->fp, w->fps[i].b, 32);
        r->chunks++;
        at = hash_find(w, f->fp, hkey, &found);
        if (found != UINT32_MAX && found < w->nprefs) {
            f->ctr = w->prefs[found].ctr;
            f->slot = w->prefs[found].slot;
            f->flags = w->prefs[found].flags & VMD_RCP_REF_POPULAR;
            r->l2 += len;
        } else if (found != UINT32_MAX) {
            repeat_chunk(r, i, found - w->nprefs); /* repeated within the segment */
        } else {
            w->hash[at] = (uint32_t)(w->nprefs + i) + 1;
            if (!find_popular(w, r, i))
                add_new(w, r, i, off);
        }
        off += len;
    }
    return 0;
}

static int chunk_segment(worker *w, result *r, uint64_t seg, uint32_t len, size_t *n)
{
    size_t i;
    uint32_t off = 0;
    int err;

    err = vmd_chunk_segment(&w->b->chunker, w->buf, len, w->chunks, w->cap, n);
    if (err)
        return rfail(r, err, "chunking segment %llu", (unsigned long long)seg);
    for (i = 0; i < *n; i++) {
        if (vmd_is_zero(w->buf + off, w->chunks[i].len))
            memset(&w->fps[i], 0, sizeof(w->fps[i]));
        else if ((err = vmd_sha256(w->hasher, w->buf + off, w->chunks[i].len, &w->fps[i])))
            return rfail(r, err, "fingerprinting segment %llu", (unsigned long long)seg);
        off += w->chunks[i].len;
    }
    return 0;
}

/* The signature of the non-zero chunks. */
static void segment_sig(worker *w, size_t n, uint64_t sig[VMD_RCP_SIG])
{
    uint32_t off = 0;
    size_t i;

    vmd_rcp_sig_init(sig);
    for (i = 0; i < n; i++) {
        if (!vmd_is_zero(w->buf + off, w->chunks[i].len))
            vmd_rcp_sig_add(sig, w->fps[i].b);
        off += w->chunks[i].len;
    }
}

static int process_segment(worker *w, result *r, uint64_t seg)
{
    backup *b = w->b;
    uint32_t len = vmd_rcp_seg_len(b->size, seg);
    const vmd_rcp_entry *pe = parent_entry(b, seg, len);
    size_t n = 0;
    int err;

    w->nprefs = 0;
    if (pe && b->map && !vmd_dirtymap_test(b->map, seg)) {
        set_same(r, pe);
        if (r->kind == VMD_RCP_ZERO)
            r->zero += len;
        else
            r->l1 += len;
        r->chunks += pe->nchunks;
        return 0;
    }
    if ((err = read_segment(w, r, seg, len)))
        return err;
    if (vmd_is_zero(w->buf, len)) {
        r->kind = VMD_RCP_ZERO;
        r->zero += len;
        return 0;
    }
    if ((err = chunk_segment(w, r, seg, len, &n)))
        return err;
    segment_sig(w, n, r->sig);
    if (pe && pe->kind != VMD_RCP_ZERO) {
        if ((err = load_record(w, r, seg, pe, len)))
            return err;
        if (same_as_loaded(w, n, len)) {
            set_same(r, pe);
            r->l1 += len;
            r->chunks += pe->nchunks;
            return 0;
        }
    }
    if (b->p.snap && (err = load_similar(w, r, seg, pe && pe->kind != VMD_RCP_ZERO ? pe : NULL)))
        return err;
    r->kind = VMD_RCP_CHUNKS;
    return dedup_chunks(w, r, n);
}

static void result_reset(result *r)
{
    r->err = 0;
    r->msg[0] = '\0';
    r->kind = VMD_RCP_ZERO;
    memset(&r->entry, 0, sizeof(r->entry));
    memset(r->sig, 0xff, sizeof(r->sig));
    r->n = r->nnew = 0;
    r->read = r->l1 = r->l2 = r->l3 = r->zero = r->chunks = 0;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    backup *b = w->b;
    uint64_t seg;

    vmd_cds_thread_online();
    while (vmd_oq_claim(&b->q, &seg) == 0) {
        result *r = &b->results[seg % b->window];
        result_reset(r);
        w->buf = r->nbuf;
        process_segment(w, r, seg);
        vmd_oq_publish(&b->q, seg);
    }
    vmd_cds_thread_offline();
    return NULL;
}

/* ======================================================================
 * Writer: containers, recipe, index registrations
 * ==================================================================== */

/* Sends the rest of the open container (its last piece, table and header). */
static int seal_container(backup *b)
{
    if (!b->ctr_open)
        return 0;
    b->ctr_open = 0;
    b->info.stats.containers++;
    return vmd_ctr_writer_seal(b->cw);
}

static int new_container(backup *b)
{
    int err;

    if (b->nctr >= (1u << VMD_RCP_CTR_SHIFT))
        return vmd_fail(b->s, -EFBIG, "snapshot %u of VM %s needs more than 2^24 containers",
                        b->seq, b->vm);
    b->ctr_id = ((uint64_t)b->seq << VMD_RCP_CTR_SHIFT) | b->nctr++;
    err = vmd_ctr_writer_open(b->cw, b->ctr_id, b->vm);
    if (err)
        return vmd_fail(b->s, err, "starting container %llu of VM %s",
                        (unsigned long long)b->ctr_id, b->vm);
    b->ctr_open = 1;
    return 0;
}

/*
 * Index registration is multi-stage (the published design's batched
 * detection): the batch of chunks new to this backup only serves to
 * deduplicate repeats within the backup; when it is full it is appended to
 * a spill file (tmpfile(), 56 bytes per new chunk, about 1.4% of the new
 * data) and counted per partition. At the end, once every container is
 * durable, the spill is read back in groups of whole partitions of at most
 * BK_REG_MEM bytes, each group sorted, deduplicated and registered: one
 * class call per partition per backup instead of one per partition per
 * batch, with memory bounded by the group size.
 */
static int spill_reg(backup *b)
{
    size_t i;

    if (!b->nreg)
        return 0;
    if (!b->spill && !(b->spill = tmpfile()))
        return vmd_fail(b->s, -errno, "creating the registration spill file (in $TMPDIR)");
    if (fwrite(b->reg, sizeof(*b->reg), b->nreg, b->spill) != b->nreg)
        return vmd_fail(b->s, -EIO, "writing the registration spill file (in $TMPDIR)");
    for (i = 0; i < b->nreg; i++)
        b->pcount[vmd_fp_partition(&b->reg[i].fp, (unsigned)b->s->partition_bits)]++;
    b->nspilled += b->nreg;
    b->nreg = 0;
    memset(b->reg_hash, 0, 2 * BK_REG_BATCH * sizeof(*b->reg_hash));
    return 0;
}

static int reg_cmp(const void *x, const void *y)
{
    return memcmp(((const vmd_idx_reg_item *)x)->fp.b, ((const vmd_idx_reg_item *)y)->fp.b, 32);
}

/* Reads the spilled items of partitions [lo, hi) into items; *n gets how many (deduplicated). */
static int gather(backup *b, unsigned lo, unsigned hi, vmd_idx_reg_item *items, size_t *n)
{
    size_t got, i, k = 0;

    rewind(b->spill);
    while ((got = fread(b->reg, sizeof(*b->reg), BK_REG_BATCH, b->spill)) > 0)
        for (i = 0; i < got; i++) {
            unsigned p = vmd_fp_partition(&b->reg[i].fp, (unsigned)b->s->partition_bits);
            if (p >= lo && p < hi)
                items[k++] = b->reg[i];
        }
    if (ferror(b->spill))
        return vmd_fail(b->s, -EIO, "reading the registration spill file");
    qsort(items, k, sizeof(*items), reg_cmp);
    for (i = 0, *n = 0; i < k; i++)
        if (*n == 0 || memcmp(items[*n - 1].fp.b, items[i].fp.b, 32))
            items[(*n)++] = items[i];
    return 0;
}

/* Registers every spilled chunk; called once all containers are durable. */
static int register_all(backup *b)
{
    unsigned nparts = 1u << b->s->partition_bits, lo, hi;
    size_t cap = BK_REG_MEM / sizeof(vmd_idx_reg_item), have = 0, n = 0;
    vmd_idx_reg_item *items = NULL;
    vmd_idx_reg_result *res = NULL;
    int err = spill_reg(b);

    for (lo = 0; !err && b->nspilled && lo < nparts; lo = hi) {
        size_t sum = b->pcount[lo];
        for (hi = lo + 1; hi < nparts && sum + b->pcount[hi] <= cap; hi++)
            sum += b->pcount[hi];
        if (!sum)
            continue;
        if (sum > have) {
            free(items);
            free(res);
            items = malloc(sum * sizeof(*items));
            res = malloc(sum * sizeof(*res));
            have = sum;
            if (!items || !res) {
                err = vmd_fail(b->s, -ENOMEM, "registering %zu chunks", sum);
                break;
            }
        }
        err = gather(b, lo, hi, items, &n);
        if (!err)
            err = vmd_idx_register(b->s, b->vm, items, n, res);
    }
    free(items);
    free(res);
    return err;
}

/*
 * One reference more on every popular copy this snapshot references through
 * level 3 (each counted once per snapshot), in batches of BK_REF_BATCH. It
 * runs before the recipe is complete: a crash afterwards leaves counts too
 * high, never too low, so a popular copy in use is never taken for unused.
 */
static int count_popular_refs(backup *b)
{
    uint64_t n = vmd_cds_count(b->cds), i;
    vmd_idx_ref_item *items;
    uint64_t *after;
    size_t k = 0;
    int err = 0;

    if (!b->pop_bits)
        return 0;
    items = malloc(BK_REF_BATCH * sizeof(*items));
    after = malloc(BK_REF_BATCH * sizeof(*after));
    if (!items || !after)
        err = vmd_fail(b->s, -ENOMEM, "counting references to popular chunks");
    for (i = 0; i < n && !err; i++) {
        if (!(b->pop_bits[i >> 3] & (1u << (i & 7))))
            continue;
        vmd_cds_fp_at(b->cds, i, items[k].fp.b);
        items[k++].delta = 1;
        if (k == BK_REF_BATCH) {
            err = vmd_idx_ref(b->s, items, k, after);
            k = 0;
        }
    }
    if (!err && k)
        err = vmd_idx_ref(b->s, items, k, after);
    free(items);
    free(after);
    return err;
}

/* Where a chunk new in this batch already went (NULL when it is not in it). */
static uint32_t *reg_slot(backup *b, const uint8_t *fp, vmd_loc **loc)
{
    size_t mask = 2 * BK_REG_BATCH - 1, i = fp_hash(fp) & mask;

    *loc = NULL;
    for (; b->reg_hash[i]; i = (i + 1) & mask)
        if (!memcmp(b->reg[b->reg_hash[i] - 1].fp.b, fp, 32)) {
            *loc = &b->reg[b->reg_hash[i] - 1].loc;
            break;
        }
    return &b->reg_hash[i];
}

/* Packs one new chunk; *loc gets where it is. */
static int pack_chunk(backup *b, const result *r, const new_chunk *nc, vmd_loc *loc)
{
    vmd_loc *known;
    uint32_t *hslot, slot;
    int err;

    if (b->nreg == BK_REG_BATCH && (err = spill_reg(b)))
        return err;
    hslot = reg_slot(b, nc->fp, &known);
    if (known) {
        *loc = *known;
        return 1; /* written earlier in this backup */
    }
    for (;;) {
        if (!b->ctr_open && (err = new_container(b)))
            return err;
        err = vmd_ctr_writer_add(b->cw, nc->fp, r->nbuf + nc->off, nc->stored_len, nc->raw_len,
                                 nc->encoding, &slot);
        if (err != -ENOSPC)
            break;
        if (vmd_ctr_writer_nslots(b->cw) == 0)
            return vmd_fail(b->s, -EFBIG, "a chunk of %u bytes does not fit a container",
                            nc->raw_len);
        if ((err = seal_container(b)))
            return err;
    }
    if (err == -EINVAL)
        return vmd_fail(b->s, err, "adding a chunk to container %s", vmd_ctr_writer_oid(b->cw));
    if (err)
        return err; /* a write error, already reported */
    loc->id = b->ctr_id;
    loc->slot = slot;
    memset(&b->reg[b->nreg], 0, sizeof(b->reg[0])); /* padding goes to the spill file */
    memcpy(b->reg[b->nreg].fp.b, nc->fp, 32);
    b->reg[b->nreg].chunk_len = nc->raw_len;
    b->reg[b->nreg].loc = *loc;
    *hslot = (uint32_t)++b->nreg;
    b->info.stats.new_bytes += nc->raw_len;
    b->info.stats.stored_bytes += nc->stored_len;
    b->info.stats.new_chunks++;
    return 0;
}

static int write_at(backup *b, const uint8_t *buf, size_t len, uint64_t off)
{
    int err = rados_write(b->s->meta, b->rcp_oid, (const char *)buf, len, off);
    if (err < 0)
        return vmd_fail(b->s, err, "writing recipe %s at offset %llu", b->rcp_oid,
                        (unsigned long long)off);
    return 0;
}

static int flush_records(backup *b)
{
    int err;

    if (!b->rec_len)
        return 0;
    err = write_at(b, b->rec, b->rec_len, b->rec_off);
    b->rec_off += b->rec_len;
    b->rec_len = 0;
    return err;
}

static int flush_table(backup *b)
{
    int err;

    if (!b->tab_n)
        return 0;
    err = write_at(b, b->tab, (size_t)b->tab_n * VMD_RCP_ENTRY_SIZE,
                   vmd_rcp_records_off(b->tab_first));
    b->tab_first += b->tab_n;
    b->tab_n = 0;
    return err;
}

static int add_entry(backup *b, const vmd_rcp_entry *e)
{
    vmd_rcp_entry_encode(e, b->tab + (size_t)b->tab_n * VMD_RCP_ENTRY_SIZE);
    if (++b->tab_n == BK_TAB_PAGE)
        return flush_table(b);
    return 0;
}

/* Appends the record of a CHUNKS segment and returns its entry. */
static int add_record(backup *b, uint64_t seg, const result *r, vmd_rcp_entry *e)
{
    size_t len = vmd_rcp_record_size(r->n);
    int err;

    if (b->rec_len + len > BK_REC_BUF && (err = flush_records(b)))
        return err;
    e->kind = VMD_RCP_CHUNKS;
    e->holder = b->seq;
    e->offset = b->rec_off + b->rec_len;
    e->nchunks = r->n;
    memcpy(e->sig, r->sig, sizeof(e->sig));
    vmd_rcp_record_encode(b->rec + b->rec_len, seg, r->refs, r->n);
    b->rec_len += len;
    return 0;
}

static int consume(backup *b, uint64_t seg, result *r)
{
    vmd_rcp_entry e;
    uint32_t i;
    int err;

    if (r->err)
        return vmd_fail(b->s, r->err, "backup of VM %s: %s", b->vm, r->msg);
    b->info.stats.bytes_read += r->read;
    b->info.stats.level1_bytes += r->l1;
    b->info.stats.level2_bytes += r->l2;
    b->info.stats.level3_bytes += r->l3;
    b->info.stats.zero_bytes += r->zero;
    b->info.stats.chunks += r->chunks;
    if (r->kind != VMD_RCP_CHUNKS) {
        e = r->entry;
        if (r->kind == VMD_RCP_ZERO) {
            memset(&e, 0, sizeof(e));
            memset(e.sig, 0xff, sizeof(e.sig));
        }
        e.kind = r->kind;
        return add_entry(b, &e);
    }
    for (i = 0; i < r->n; i++) {
        vmd_loc loc;
        uint32_t k = r->newidx[i];
        if (k == BK_NO_NEW)
            continue;
        err = pack_chunk(b, r, &r->news[k], &loc);
        if (err < 0)
            return err;
        if (err == 1) {
            b->info.stats.level2_bytes += r->refs[i].raw_len; /* repeated in this backup */
        }
        r->refs[i].ctr = loc.id;
        r->refs[i].slot = loc.slot;
        /* later refs to the same new chunk in this segment */
        for (uint32_t j = i + 1; j < r->n; j++)
            if (r->newidx[j] == k) {
                r->refs[j].ctr = loc.id;
                r->refs[j].slot = loc.slot;
                r->newidx[j] = BK_NO_NEW;
            }
    }
    err = add_record(b, seg, r, &e);
    return err ? err : add_entry(b, &e);
}

static void progress(backup *b, uint64_t seg, double *last)
{
    double t = now_s();
    uint64_t done = (seg + 1) << VMD_SEGMENT_SHIFT;

    if (!b->o->progress || (t - *last < BK_PROGRESS_MS / 1000.0 && seg + 1 < b->nsegs))
        return;
    *last = t;
    b->o->progress(b->o->progress_arg, done > b->size ? b->size : done, b->size);
}

static int run_writer(backup *b)
{
    double last = 0, renewed = now_s();
    uint64_t seg;
    int err = 0;

    for (;;) {
        err = vmd_oq_next(&b->q, &seg, 500);
        if (now_s() - renewed > VMD_CAT_RENEW_SECS) {
            int e = vmd_cat_lock_renew(b->s, b->vm, b->cookie);
            renewed = now_s();
            if (e)
                return e;
        }
        if (err == -ETIMEDOUT)
            continue;
        if (err == -ENOENT)
            return 0;
        if (err)
            return err;
        err = consume(b, seg, &b->results[seg % b->window]);
        vmd_oq_done(&b->q);
        if (err)
            return err;
        progress(b, seg, &last);
    }
}

/* ======================================================================
 * Setup and teardown
 * ==================================================================== */

static int open_image(backup *b, const char *image)
{
    struct stat st;

    b->fd = open(image, O_RDONLY | O_CLOEXEC);
    if (b->fd < 0)
        return vmd_fail(b->s, -errno, "opening image %s", image);
    if (fstat(b->fd, &st) < 0)
        return vmd_fail(b->s, -errno, "stat of image %s", image);
    if (S_ISBLK(st.st_mode)) {
        if (ioctl(b->fd, BLKGETSIZE64, &b->size) < 0)
            return vmd_fail(b->s, -errno, "size of block device %s", image);
    } else if (S_ISREG(st.st_mode)) {
        b->size = (uint64_t)st.st_size;
    } else {
        return vmd_fail(b->s, -EINVAL, "image %s is neither a regular file nor a block device",
                        image);
    }
    if (b->size == 0)
        return vmd_fail(b->s, -EINVAL, "image %s is empty", image);
    if (b->size > VMD_RCP_DISK_MAX)
        return vmd_fail(b->s, -EFBIG, "image %s is larger than 64 TiB", image);
    b->nsegs = vmd_rcp_nsegs(b->size);
    return 0;
}

static int load_dirty_map(backup *b, const char *path)
{
    char msg[256] = "";
    struct stat st;
    uint8_t *data = NULL;
    size_t done = 0;
    int fd, err = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vmd_fail(b->s, -errno, "opening dirty map %s", path);
    if (fstat(fd, &st) < 0 || st.st_size > BK_MAP_MAX) {
        err = vmd_fail(b->s, st.st_size > BK_MAP_MAX ? -EFBIG : -errno, "dirty map %s", path);
        goto out;
    }
    data = malloc((size_t)st.st_size + 1);
    if (!data) {
        err = vmd_fail(b->s, -ENOMEM, "reading dirty map %s", path);
        goto out;
    }
    while (done < (size_t)st.st_size) {
        ssize_t n = read(fd, data + done, (size_t)st.st_size - done);
        if (n <= 0) {
            err = vmd_fail(b->s, n < 0 ? -errno : -EIO, "reading dirty map %s", path);
            goto out;
        }
        done += (size_t)n;
    }
    err = vmd_dirtymap_parse(&b->map, data, done, b->size, msg, sizeof(msg));
    if (err)
        err = vmd_fail(b->s, err, "dirty map %s: %s", path, msg);
out:
    free(data);
    close(fd);
    return err;
}

/* Reads the parent's header and segment table, and indexes its signatures. */
static int load_parent(backup *b, uint32_t snap)
{
    char oid[VMD_RCP_OID_MAX];
    uint8_t hdr[VMD_RCP_HEADER_SIZE], *page = NULL;
    uint64_t size = 0, i;
    time_t mtime;
    int err;

    vmd_rcp_oid(oid, b->vm, snap);
    err = rados_stat(b->s->meta, oid, &size, &mtime);
    if (!err && size >= VMD_RCP_HEADER_SIZE)
        err = rados_read(b->s->meta, oid, (char *)hdr, sizeof(hdr), 0);
    if (err < 0)
        return vmd_fail(b->s, err, "reading recipe %s of the parent snapshot", oid);
    if (size < VMD_RCP_HEADER_SIZE || err != VMD_RCP_HEADER_SIZE ||
        vmd_rcp_header_decode(&b->p.hdr, hdr, size) || !(b->p.hdr.flags & VMD_RCP_F_COMPLETE) ||
        b->p.hdr.snap != snap || strcmp(b->p.hdr.vm, b->vm))
        return vmd_fail(b->s, -EIO, "recipe %s of the parent snapshot is corrupt (header)", oid);
    err = 0;
    b->p.entries = calloc(b->p.hdr.nsegs, sizeof(*b->p.entries));
    page = malloc((size_t)BK_TAB_PAGE * VMD_RCP_ENTRY_SIZE);
    if (!b->p.entries || !page) {
        free(page);
        return vmd_fail(b->s, -ENOMEM, "loading recipe %s", oid);
    }
    for (i = 0; i < b->p.hdr.nsegs && !err; i++) {
        size_t k = i % BK_TAB_PAGE;
        if (k == 0) {
            uint64_t n = b->p.hdr.nsegs - i < BK_TAB_PAGE ? b->p.hdr.nsegs - i : BK_TAB_PAGE;
            int rc = rados_read(b->s->meta, oid, (char *)page, n * VMD_RCP_ENTRY_SIZE,
                                vmd_rcp_records_off(i));
            if (rc < 0 || (uint64_t)rc != n * VMD_RCP_ENTRY_SIZE) {
                err = vmd_fail(b->s, rc < 0 ? rc : -EIO, "reading the table of recipe %s", oid);
                break;
            }
        }
        if (vmd_rcp_entry_decode(&b->p.entries[i], &b->p.hdr, page + k * VMD_RCP_ENTRY_SIZE))
            err = vmd_fail(b->s, -EIO, "recipe %s is corrupt: bad entry of segment %llu", oid,
                           (unsigned long long)i);
        else if (b->p.entries[i].kind != VMD_RCP_ZERO &&
                 vmd_sim_add(&b->p.sim, i, b->p.entries[i].sig))
            err = vmd_fail(b->s, -ENOMEM, "indexing recipe %s", oid);
    }
    free(page);
    if (err)
        return err;
    vmd_sim_finish(&b->p.sim);
    b->p.snap = snap;
    return 0;
}

/* Decides the parent (read-only, before anything is written). */
static int choose_parent(backup *b, uint32_t *parent)
{
    vmd_snap_info pi;
    int err;

    *parent = 0;
    if (b->o->full) {
        if (b->o->dirty_map)
            return vmd_fail(b->s, -EINVAL, "a dirty map needs a parent: not with a full backup");
        return 0;
    }
    if (b->o->parent) {
        err = vmd_snap_get(&pi, b->s, b->vm, b->o->parent);
        if (err)
            return err;
        *parent = b->o->parent;
    } else if ((err = vmd_cat_latest(b->s, b->vm, parent))) {
        return err;
    }
    if (!*parent && b->o->dirty_map)
        return vmd_fail(b->s, -EINVAL,
                        "dirty map %s given, but VM %s has no snapshot to be its parent",
                        b->o->dirty_map, b->vm);
    return 0;
}

static int alloc_results(backup *b)
{
    size_t cap = vmd_chunk_count_max(&b->chunker, VMD_SEGMENT_SIZE);
    unsigned i;

    b->results = calloc(b->window, sizeof(*b->results));
    b->workers = calloc(b->nworkers, sizeof(*b->workers));
    if (!b->results || !b->workers)
        return -ENOMEM;
    for (i = 0; i < b->window; i++) {
        result *r = &b->results[i];
        r->refs = malloc(cap * sizeof(*r->refs));
        r->newidx = malloc(cap * sizeof(*r->newidx));
        r->news = malloc(cap * sizeof(*r->news));
        r->nbuf = malloc(VMD_SEGMENT_SIZE);
        if (!r->refs || !r->newidx || !r->news || !r->nbuf)
            return -ENOMEM;
    }
    for (i = 0; i < b->nworkers; i++) {
        worker *w = &b->workers[i];
        w->b = b;
        w->cap = cap;
        w->zcap = ZSTD_compressBound(b->s->chunk_max);
        w->zbuf = malloc(w->zcap);
        w->chunks = malloc(cap * sizeof(*w->chunks));
        w->fps = malloc(cap * sizeof(*w->fps));
        w->cctx = ZSTD_createCCtx();
        if (!w->zbuf || !w->chunks || !w->fps || !w->cctx || vmd_hasher_new(&w->hasher))
            return -ENOMEM;
    }
    b->rec = malloc(BK_REC_BUF);
    b->tab = malloc((size_t)BK_TAB_PAGE * VMD_RCP_ENTRY_SIZE);
    b->reg = malloc(BK_REG_BATCH * sizeof(*b->reg));
    b->reg_hash = calloc(2 * BK_REG_BATCH, sizeof(*b->reg_hash));
    b->pcount = calloc((size_t)1 << b->s->partition_bits, sizeof(*b->pcount));
    if (!b->rec || !b->tab || !b->reg || !b->reg_hash || !b->pcount)
        return -ENOMEM;
    if (vmd_cds_count(b->cds) &&
        !(b->pop_bits = calloc((size_t)((vmd_cds_count(b->cds) + 7) / 8), 1)))
        return -ENOMEM;
    return vmd_ctr_writer_new(&b->cw, b->s, 0, b->s->container_size);
}

/* The segment buffers and worker scratch: freed as soon as the segments are done. */
static void free_pipeline(backup *b)
{
    unsigned i;

    if (b->results)
        for (i = 0; i < b->window; i++) {
            free(b->results[i].refs);
            free(b->results[i].newidx);
            free(b->results[i].news);
            free(b->results[i].nbuf);
        }
    if (b->workers)
        for (i = 0; i < b->nworkers; i++) {
            worker *w = &b->workers[i];
            free(w->zbuf);
            free(w->chunks);
            free(w->fps);
            free(w->rbuf);
            free(w->prefs);
            free(w->hash);
            ZSTD_freeCCtx(w->cctx);
            vmd_hasher_free(w->hasher);
        }
    free(b->results);
    free(b->workers);
    b->results = NULL;
    b->workers = NULL;
}

static void free_all(backup *b)
{
    free_pipeline(b);
    free(b->rec);
    free(b->tab);
    free(b->reg);
    free(b->reg_hash);
    free(b->pcount);
    if (b->spill)
        fclose(b->spill);
    vmd_ctr_writer_free(b->cw);
    free(b->p.entries);
    free(b->pop_bits);
    vmd_cds_free(b->cds);
    vmd_sim_free(&b->p.sim);
    vmd_dirtymap_free(b->map);
    if (b->fd >= 0)
        close(b->fd);
}

static int write_header(backup *b, int complete)
{
    vmd_rcp_header h;
    uint8_t buf[VMD_RCP_HEADER_SIZE];

    memset(&h, 0, sizeof(h));
    h.version = h.compat = VMD_RCP_VERSION;
    h.flags = complete ? VMD_RCP_F_COMPLETE : 0;
    h.snap = b->seq;
    h.parent = b->p.snap;
    h.disk_size = b->size;
    h.nsegs = b->nsegs;
    h.end = complete ? b->rec_off : 0;
    snprintf(h.vm, sizeof(h.vm), "%s", b->vm);
    vmd_rcp_header_encode(&h, buf);
    if (!complete) {
        int err = rados_write_full(b->s->meta, b->rcp_oid, (const char *)buf, sizeof(buf));
        if (err < 0)
            return vmd_fail(b->s, err, "creating recipe %s in pool %s", b->rcp_oid,
                            b->s->meta_pool);
        return 0;
    }
    return write_at(b, buf, sizeof(buf), 0);
}

/* Runs the workers and the writer; joins the workers whatever happens. */
static int run_pipeline(backup *b)
{
    unsigned i, started = 0;
    int err;

    err = vmd_oq_init(&b->q, b->window, b->nsegs);
    if (err)
        return vmd_fail(b->s, err, "starting the backup pipeline");
    for (i = 0; i < b->nworkers; i++, started++)
        if ((err = -pthread_create(&b->workers[i].tid, NULL, worker_main, &b->workers[i])))
            break;
    if (err)
        err = vmd_fail(b->s, err, "starting worker threads");
    else
        err = run_writer(b);
    if (err)
        vmd_oq_stop(&b->q);
    for (i = 0; i < started; i++)
        pthread_join(b->workers[i].tid, NULL);
    vmd_oq_destroy(&b->q);
    return err;
}

/* Everything after the segments: durable containers, index, recipe, catalog. */
static int commit(backup *b)
{
    struct rusage ru;
    int err;

    free_pipeline(b); /* room for the registrations */
    if ((err = seal_container(b)) || (err = vmd_ctr_writer_flush(b->cw)))
        return err;
    if ((err = register_all(b)) || (err = count_popular_refs(b)))
        return err;
    if ((err = flush_records(b)) || (err = flush_table(b)))
        return err;
    if (b->rec_off < vmd_rcp_records_off(b->nsegs))
        b->rec_off = vmd_rcp_records_off(b->nsegs);
    if ((err = write_header(b, 1)))
        return err;
    if ((err = vmd_cat_lock_renew(b->s, b->vm, b->cookie)))
        return err;
    getrusage(RUSAGE_SELF, &ru);
    b->info.stats.peak_rss = (uint64_t)ru.ru_maxrss * 1024;
    b->info.stats.seconds = now_s() - (double)b->t0.tv_sec - (double)b->t0.tv_nsec / 1e9;
    b->info.time = (int64_t)time(NULL);
    return vmd_cat_commit(b->s, &b->info);
}

static int start(backup *b, uint32_t parent)
{
    vmd_chunk_params cp = {b->s->chunk_min, b->s->chunk_avg, b->s->chunk_max};
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int err;

    if (vmd_chunker_init(&b->chunker, &cp))
        return vmd_fail(b->s, -EINVAL, "store settings: bad chunk sizes %u/%u/%u", cp.min, cp.avg,
                        cp.max);
    b->nworkers = b->o->threads ? b->o->threads : (unsigned)(cores > 0 ? cores : 1);
    if (b->nworkers > 64)
        b->nworkers = 64;
    b->window = b->nworkers; /* the writer drains a result in about a millisecond */
    if (parent && (err = load_parent(b, parent)))
        return err;
    if ((err = vmd_cds_load(b->s, 0, &b->cds)))
        return err;
    if (alloc_results(b))
        return vmd_fail(b->s, -ENOMEM, "allocating the backup pipeline");
    if ((err = vmd_cat_alloc_seq(b->s, b->vm, &b->seq)))
        return err;
    vmd_rcp_oid(b->rcp_oid, b->vm, b->seq);
    b->rec_off = vmd_rcp_records_off(b->nsegs);
    snprintf(b->info.vm, sizeof(b->info.vm), "%s", b->vm);
    b->info.snap = b->seq;
    b->info.parent = parent;
    b->info.size = b->size;
    b->info.stats.logical_bytes = b->size;
    return write_header(b, 0);
}

int vmd_backup(vmd_snap_info *out, vmd_store *s, const char *vm, const char *image,
               const vmd_backup_opts *opts)
{
    vmd_backup_opts dflt;
    backup b;
    uint32_t parent = 0;
    int err;

    if (out)
        memset(out, 0, sizeof(*out));
    if (!s || !image)
        return s ? vmd_fail(s, -EINVAL, "vmd_backup: no image given") : -EINVAL;
    if (!opts) {
        memset(&dflt, 0, sizeof(dflt));
        opts = &dflt;
    }
    memset(&b, 0, sizeof(b));
    b.s = s;
    b.vm = vm;
    b.o = opts;
    b.fd = -1;
    clock_gettime(CLOCK_MONOTONIC, &b.t0);
    vmd_sim_init(&b.p.sim);
    if ((err = vmd_cat_vm_check(s, vm)) || (err = open_image(&b, image)))
        goto out;
    if (opts->dirty_map && (err = load_dirty_map(&b, opts->dirty_map)))
        goto out;
    if ((err = choose_parent(&b, &parent)) || (err = vmd_cat_lock(s, vm, b.cookie)))
        goto out;
    b.locked = 1;
    if ((err = start(&b, parent)) || (err = run_pipeline(&b)) || (err = commit(&b)))
        goto out;
    if (opts->progress)
        opts->progress(opts->progress_arg, b.size, b.size);
    if (out)
        *out = b.info;
out:
    if (b.cw)
        vmd_ctr_writer_flush(b.cw); /* nothing of ours in flight once the lock goes */
    if (b.locked)
        vmd_cat_unlock(s, vm, b.cookie);
    free_all(&b);
    return err;
}
