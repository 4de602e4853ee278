/*
 * backup_int.h - the state of one backup, shared by the files of its stages (internal).
 *
 * One vmd_backup() call is one `backup`. Its stages, one file each:
 *
 *   backup/backup.c     checks, lock, parent, pipeline start, commit
 *   backup/worker.c     a worker: read, chunk, fingerprint a segment, then
 *                       the levels; compress the new chunks
 *   dedup/level1.c      same as the parent (dirty map or equal chunk list)
 *   dedup/level2.c      the parent's segment at the same offset and the
 *                       similar ones (min-hash, dedup/similar.c)
 *   dedup/level3.c      the common data set, and its reference counts
 *   backup/writer.c     the ordered writer: containers, recipe records, table
 *   backup/register.c   new chunks: within-backup dedup, spill, index registration
 *
 * Data flow: a worker fills the `result` of segment seg (slot seg % window
 * of b->results) and publishes it; the writer consumes results in segment
 * order. A result's nbuf is the segment buffer: read into, then the stored
 * bytes of its new chunks packed at its front (worker.c, vmd_bk_add_new).
 * Workers only read `backup` (the parent, the CDS table) except for the
 * CDS bits, set atomically; everything else of `backup` is the writer's.
 */
#ifndef VMD_BACKUP_INT_H
#define VMD_BACKUP_INT_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <zstd.h>

#include "backup/oqueue.h"
#include "cds/cds.h"
#include "chunk/chunker.h"
#include "chunk/fingerprint.h"
#include "dedup/similar.h"
#include "pack/ctr_writer.h"
#include "rados/idx_client.h"
#include "rados/lock.h"
#include "read/dirtymap.h"
#include "snapshot/recipe_reader.h"
#include "format/container.h"
#include "format/recipe.h"

#define BK_REG_BATCH   4096         /* new chunks deduplicated within a backup before a spill */
#define BK_REG_MEM     (1u << 20)   /* bytes of items per registration group */
#define BK_REC_BUF     (256u << 10) /* recipe records buffered before a write */
#define BK_TAB_PAGE    4096         /* table entries buffered before a write, or read at once */
#define BK_SIMILAR     2            /* similar parent segments searched besides the same offset */
#define BK_PROGRESS_MS 250
#define BK_NO_NEW      UINT32_MAX
#define BK_REF_BATCH   16384 /* popular references counted per vmd_idx_ref call */

/* ---- the parent snapshot, read-only during the backup ---- */

typedef struct parent {
    uint32_t snap;          /* 0: none */
    vmd_rcp_reader rcp;     /* its recipe: header, and records read on demand */
    vmd_rcp_entry *entries; /* rcp.hdr.nsegs */
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

typedef struct worker {
    struct backup *b;
    pthread_t tid;
    vmd_hasher *hasher;
    ZSTD_CCtx *cctx;
    uint8_t *buf;  /* the segment: the nbuf of the result being made (see vmd_bk_add_new) */
    uint8_t *zbuf; /* one compressed chunk */
    size_t zcap;
    vmd_chunk *chunks;
    vmd_fp *fps;
    size_t cap;            /* chunks a segment can have */
    vmd_rcp_records prefs; /* refs of the parent records looked at (levels 1 and 2) */
    uint32_t *hash;        /* open addressing over prefs and new chunks: index + 1 */
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
    vmd_lease lease; /* the VM's backup lock */
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

/* Seconds on the monotonic clock. */
static inline double vmd_bk_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The hash of a fingerprint for open addressing (SHA-256 bytes are uniform). */
static inline uint64_t vmd_bk_fp_hash(const uint8_t *fp)
{
    uint64_t v;
    memcpy(&v, fp + 8, sizeof(v));
    return v;
}

/* worker.c */

/* Records a worker's failure in its result (reported by the writer); returns err. */
int vmd_bk_fail(result *r, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Appends to w->prefs the record of parent entry e (segment seg). */
int vmd_bk_parent_record(worker *w, result *r, uint64_t seg, const vmd_rcp_entry *e);
/* Chunk i (at off in the segment) is new: compressed when smaller, packed into r->nbuf. */
void vmd_bk_add_new(worker *w, result *r, size_t i, uint32_t off);
void *vmd_bk_worker_main(void *arg);

/* dedup/level1.c */

/* The parent's entry of segment seg when it covers exactly the same bytes, else NULL. */
const vmd_rcp_entry *vmd_l1_parent_entry(const backup *b, uint64_t seg, uint32_t len);
/* 1 (r filled) when the dirty map says segment seg is clean: SAME, not read. */
int vmd_l1_clean(const backup *b, result *r, uint64_t seg, const vmd_rcp_entry *pe, uint32_t len);
/* After chunking: 1 (r filled) when the n chunks equal the parent's record, 0, or an error. */
int vmd_l1_same(worker *w, result *r, uint64_t seg, const vmd_rcp_entry *pe, size_t n,
                uint32_t len);

/* dedup/level2.c */

/* Loads the records of up to BK_SIMILAR parent segments resembling seg (besides `same`). */
int vmd_l2_load_similar(worker *w, result *r, uint64_t seg, const vmd_rcp_entry *same);
/* Fills r->refs for the n chunks: known from the loaded parent refs, level 3, or new. */
int vmd_l2_dedup(worker *w, result *r, size_t n);

/* dedup/level3.c */

/* 1 when ref i's chunk is in the common data set (ref set to its popular copy). */
int vmd_l3_find(worker *w, result *r, size_t i);
/* At commit: one reference more on every popular copy the snapshot found. */
int vmd_l3_count_refs(backup *b);

/* backup/register.c */

/* Where a chunk new in this batch went (*loc NULL when it is not in it); *hslot for vmd_reg_add. */
int vmd_reg_lookup(backup *b, const uint8_t *fp, vmd_loc **loc, uint32_t **hslot);
/* Records a chunk just packed at loc (hslot from vmd_reg_lookup). */
void vmd_reg_add(backup *b, uint32_t *hslot, const new_chunk *nc, const vmd_loc *loc);
/* Registers every new chunk with the index; once all containers are durable. */
int vmd_reg_all(backup *b);

/* backup/writer.c */

/* Consumes the results in segment order until all are written (renews the lock). */
int vmd_bk_run_writer(backup *b);
/* Sends the rest of the open container (its last piece, table and header). */
int vmd_bk_seal(backup *b);
/* Writes the buffered recipe records and table entries. */
int vmd_bk_flush_recipe(backup *b);
/* Writes the recipe's header: a new object (complete = 0), or COMPLETE over it. */
int vmd_bk_write_header(backup *b, int complete);

#endif /* VMD_BACKUP_INT_H */
