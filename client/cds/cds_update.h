/*
 * cds_update.h - the stages of `cds update`, shared by its files (internal).
 *
 * vmd_cds_update() (cds_update.c) runs the steps listed there, under the
 * lease "vmd.cds.update" on vmd.cds. One vmd_cdsu (the updater) carries
 * everything between the steps:
 *
 *   ptr, version       the pointer object as read under the lock, and the
 *                      version being built (cds_update.c)
 *   prev, prev_seen    the published version, sorted by fp, and which of
 *                      its entries the walk reached (cds_update_select.c)
 *   keep, fresh        the walk's result: entries already POPULAR, and the
 *                      chunks to copy (cds_update_select.c)
 *   b, pending         the popular container being filled, and the fresh
 *                      chunks in it (cds_update_copy.c)
 *
 * The manifest and the publication are cds_update_publish.c.
 */
#ifndef VMD_CDS_UPDATE_H
#define VMD_CDS_UPDATE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <zstd.h>

#include "cds/cds.h"
#include "cds/cds_select.h"
#include "rados/lock.h"
#include "format/container.h"

#define VMD_CDSU_PROGRESS_SECS 0.2

/* A chunk to copy into the CDS. */
typedef struct vmd_cdsu_fresh {
    vmd_fp fp;
    uint32_t vm_count;
    uint32_t chunk_len;
    uint32_t vm; /* home VM, interned by the merge */
    vmd_loc home;
    vmd_loc pop;   /* its copy, once added to a popular container */
    uint8_t state; /* VMD_CDSU_TODO ... */
} vmd_cdsu_fresh;

enum {
    VMD_CDSU_TODO,    /* to copy */
    VMD_CDSU_ADDED,   /* added to a popular container not yet written */
    VMD_CDSU_COPIED,  /* its popular container is durable */
    VMD_CDSU_SKIPPED, /* its home copy is gone or changed: not copied, not marked */
};

typedef struct vmd_cdsu {
    vmd_store *s;
    vmd_cds_update_opts o;
    vmd_cds_update_result *r;
    vmd_lease lease;
    struct timespec start, shown;
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
    vmd_cdsu_fresh *fresh;
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
} vmd_cdsu;

/* Seconds since t0 (CLOCK_MONOTONIC). */
double vmd_cdsu_since(const struct timespec *t0);

/* cds_update.c: the pointer object vmd.cds. */

/*
 * One atomic write on vmd.cds: when `key` still holds old, sets it to v
 * (and key2 to v2 when key2 is not NULL). -ECANCELED when key changed.
 */
int vmd_cdsu_ptr_cas(vmd_cdsu *u, const char *key, uint64_t old, uint64_t v, const char *key2,
                     uint64_t v2);
/* The next popular container id (persisted before it is used). */
int vmd_cdsu_alloc_id(vmd_cdsu *u, uint64_t *id);

/* cds_update_select.c: steps 2 and 3. */
int vmd_cdsu_load_previous(vmd_cdsu *u);
int vmd_cdsu_select(vmd_cdsu *u);

/* cds_update_copy.c: step 4. */
int vmd_cdsu_copy(vmd_cdsu *u);

/* cds_update_publish.c: steps 5 to 8. */
int vmd_cdsu_mark(vmd_cdsu *u);
int vmd_cdsu_assemble(vmd_cdsu *u, vmd_cds_entry **out, size_t *count);
int vmd_cdsu_write_manifest(vmd_cdsu *u, const vmd_cds_entry *e, size_t n);
int vmd_cdsu_publish(vmd_cdsu *u);

#endif /* VMD_CDS_UPDATE_H */
