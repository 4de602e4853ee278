/*
 * backup.c - vmd_backup(): one snapshot of a disk image, deduplicated in three levels.
 *
 * This file is the orchestration; each stage has a file of its own
 * (backup_int.h lists them, and holds the state they share):
 *
 *   N workers (worker.c)                          1 writer (writer.c, the calling thread)
 *   --------------------                          ---------------------------------------
 *   claim the next segment (oqueue.h)             take results in segment order
 *   level 1: clean per dirty map -> SAME          pack new chunks into containers
 *   pread, all zero -> ZERO                       (streamed, 256 KiB aio pieces)
 *   chunk, fingerprint                            append the record to the recipe,
 *   level 1: same fps as parent's -> SAME         write the segment table entry
 *   level 2: parent's segment at the same         batch, spill and register the new
 *     offset + 2 similar ones (min-hash)            chunks with the index (register.c)
 *   level 3: the common data set                  progress, renew the lock
 *   compress the remaining (new) chunks
 *
 * Before anything is written: the VM id, the image, the dirty map and the
 * parent are checked, so a bad argument leaves the store as it was. Then
 * the VM's lock is taken, the parent's recipe table loaded and its
 * signatures indexed (level 2), the CDS loaded (level 3), the snapshot
 * number allocated and the recipe header written (not COMPLETE).
 *
 * At most N results exist at once (the ordered queue's window), each one
 * segment buffer, and containers stream out as they fill: memory does not
 * depend on the disk, and is about 2 MiB x N + 3 MiB beside librados
 * (docs/benchmarks.md).
 *
 * Commit order: every container written (all aio complete) -> index
 * registrations -> references on popular copies (level 3) -> the recipe's
 * records and table, then its header rewritten COMPLETE -> lock renewed ->
 * the catalog key snap.N. A crash before the last step leaves no visible
 * snapshot, only objects that vmd_check() reports and gc reclaims.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup/backup_int.h"
#include "read/read_exact.h"
#include "read/segment.h"
#include "snapshot/catalog.h"

#define BK_MAP_MAX (256u << 20)

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
    size_t len;
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
    len = (size_t)st.st_size;
    if ((err = vmd_pread_exact(NULL, fd, data, len, 0))) {
        err = vmd_fail(b->s, err, "reading dirty map %s", path);
        goto out;
    }
    err = vmd_dirtymap_parse(&b->map, data, len, b->size, msg, sizeof(msg));
    if (err)
        err = vmd_fail(b->s, err, "dirty map %s: %s", path, msg);
out:
    free(data);
    close(fd);
    return err;
}

/* Opens the parent's recipe, loads its segment table and indexes its signatures. */
static int load_parent(backup *b, uint32_t snap)
{
    vmd_rcp_reader *r = &b->p.rcp;
    char msg[VMD_RCP_MSG_MAX];
    uint64_t i;
    int err;

    if ((err = vmd_rcp_reader_open(r, b->s, b->vm, snap, BK_TAB_PAGE)))
        return err;
    b->p.entries = calloc(r->hdr.nsegs, sizeof(*b->p.entries));
    if (!b->p.entries)
        return vmd_fail(b->s, -ENOMEM, "loading recipe %s", r->oid);
    for (i = 0; i < r->hdr.nsegs; i++) {
        if ((err = vmd_rcp_reader_entry(&b->p.entries[i], msg, r, i)))
            return vmd_fail(b->s, err, "%s", msg);
        if (b->p.entries[i].kind != VMD_RCP_ZERO && vmd_sim_add(&b->p.sim, i, b->p.entries[i].sig))
            return vmd_fail(b->s, -ENOMEM, "indexing recipe %s", r->oid);
    }
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
            vmd_rcp_records_free(&w->prefs);
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
    vmd_rcp_reader_close(&b->p.rcp);
    free(b->pop_bits);
    vmd_cds_free(b->cds);
    vmd_sim_free(&b->p.sim);
    vmd_dirtymap_free(b->map);
    if (b->fd >= 0)
        close(b->fd);
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
        if ((err = -pthread_create(&b->workers[i].tid, NULL, vmd_bk_worker_main, &b->workers[i])))
            break;
    if (err)
        err = vmd_fail(b->s, err, "starting worker threads");
    else
        err = vmd_bk_run_writer(b);
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
    if ((err = vmd_bk_seal(b)) || (err = vmd_ctr_writer_flush(b->cw)))
        return err;
    if ((err = vmd_reg_all(b)) || (err = vmd_l3_count_refs(b)))
        return err;
    if ((err = vmd_bk_flush_recipe(b)))
        return err;
    if (b->rec_off < vmd_rcp_records_off(b->nsegs))
        b->rec_off = vmd_rcp_records_off(b->nsegs);
    if ((err = vmd_bk_write_header(b, 1)))
        return err;
    if ((err = vmd_lease_renew(&b->lease, 1)))
        return err;
    getrusage(RUSAGE_SELF, &ru);
    b->info.stats.peak_rss = (uint64_t)ru.ru_maxrss * 1024;
    b->info.stats.seconds = vmd_bk_now() - (double)b->t0.tv_sec - (double)b->t0.tv_nsec / 1e9;
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
    return vmd_bk_write_header(b, 0);
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
    if ((err = choose_parent(&b, &parent)) || (err = vmd_cat_lock(&b.lease, s, vm)))
        goto out;
    if ((err = start(&b, parent)) || (err = run_pipeline(&b)) || (err = commit(&b)))
        goto out;
    if (opts->progress)
        opts->progress(opts->progress_arg, b.size, b.size);
    if (out)
        *out = b.info;
out:
    if (b.cw)
        vmd_ctr_writer_flush(b.cw); /* nothing of ours in flight once the lock goes */
    vmd_lease_drop(&b.lease);
    free_all(&b);
    return err;
}
