/*
 * cds.h - the common data set in a host's memory (internal API of libvmdedup).
 *
 * Level 3 of the backup looks every new chunk up in the published CDS. A
 * host loads the manifest (include/format/cds_manifest.h) once per backup into a
 * liburcu lock-free hash table (cds_lfht, "memb" RCU flavour), which the
 * worker threads then share read-only. A host never loads more than its
 * memory budget: the manifest lists the most popular chunks first, so a
 * smaller budget reads a prefix of it and leaves out the least popular.
 *
 * Memory (vmd_cds_mem, counted honestly): one array of 64-byte nodes (the
 * lfht node, the fingerprint and the location), the table's buckets (16
 * bytes each, a power of two >= half the entries: at most 2 entries per
 * bucket on average), and a fixed VMD_CDS_TABLE_OVERHEAD (8 KiB) for the
 * handle, the lfht's own structure and the page rounding of its mmap()ed
 * buckets. That is 72-80 bytes per entry: the default budget of 8 MiB
 * holds 114,560 chunks (450 MB of data at 4 KiB; tests/unit/test_cds.c).
 *
 * Threads: any number of threads may call vmd_cds_find() at once, each
 * between vmd_cds_thread_online() and vmd_cds_thread_offline() (registers
 * it as an RCU reader; calls nest). Load and free run in one thread while
 * no reader uses the table.
 */
#ifndef VMD_CDS_INT_H
#define VMD_CDS_INT_H

#include <stdint.h>

#include "rados/store_int.h"
#include "format/cds_manifest.h"

#define VMD_CDS_TABLE_OVERHEAD 8192 /* handle, struct cds_lfht, page rounding of the buckets */
#define VMD_CDS_NODE_SIZE      64   /* lfht node 16 + fp 32 + ctr 8 + slot 4 + raw_len 4 */
#define VMD_CDS_BUCKET_SIZE    16   /* one struct cds_lfht_node per bucket */

typedef struct vmd_cds vmd_cds;

/* Where a popular chunk lives: slot `slot` of p.<ctr16> in the popular pool. */
typedef struct vmd_cds_loc {
    uint64_t ctr;
    uint32_t slot;
    uint32_t raw_len;
    uint64_t index; /* the entry's number in the table: 0 .. vmd_cds_count() - 1 */
} vmd_cds_loc;

/*
 * Loads the published CDS, at most budget bytes of host memory (entries
 * beyond the budget, least popular first, are left out; 0: the store's
 * cds_budget option, itself 8 MiB by default); with no CDS published, an
 * empty table (not an error). Errors: -EIO (corrupt manifest, named),
 * -ENOMEM, and what RADOS returns.
 */
int vmd_cds_load(vmd_store *s, uint64_t budget, vmd_cds **out);

/*
 * 1 and *out filled when fp is in the table, else 0. Thread-safe for
 * concurrent readers; the calling thread must be between
 * vmd_cds_thread_online() and vmd_cds_thread_offline().
 */
int vmd_cds_find(const vmd_cds *c, const uint8_t fp[32], vmd_cds_loc *out);

/* The fingerprint of entry index (from vmd_cds_find): 0, or -ERANGE. */
int vmd_cds_fp_at(const vmd_cds *c, uint64_t index, uint8_t fp[32]);

void vmd_cds_thread_online(void);
void vmd_cds_thread_offline(void);

uint64_t vmd_cds_version(const vmd_cds *c); /* 0: none published */
uint64_t vmd_cds_count(const vmd_cds *c);   /* entries loaded */
uint64_t vmd_cds_mem(const vmd_cds *c);     /* bytes of host memory the table takes */
uint64_t vmd_cds_total(const vmd_cds *c);   /* entries the manifest has (>= count) */

void vmd_cds_free(vmd_cds *c); /* NULL-safe */

/* ---- building a table (cds_table.c; used by vmd_cds_load and the tests) ---- */

/* Bytes a table of n entries takes (vmd_cds_mem of a full table of capacity n). */
uint64_t vmd_cds_mem_for(uint64_t n);

/* The most entries a table may hold within budget bytes (0 if not even an empty one fits). */
uint64_t vmd_cds_fit(uint64_t budget);

/*
 * An empty table for at most capacity (<= VMD_CDS_MAX_ENTRIES) entries of
 * manifest version `version`. Returns 0, -EINVAL or -ENOMEM.
 */
int vmd_cds_new(vmd_cds **out, uint64_t version, uint64_t capacity);

/* Adds one entry: 0, -ENOSPC (full), -EEXIST (fp already in the table). */
int vmd_cds_add(vmd_cds *c, const vmd_cds_entry *e);

/* Records how many entries the manifest has (shown by cds show). */
void vmd_cds_set_total(vmd_cds *c, uint64_t total);

/* ---- the pointer object and manifests in RADOS (cds.c; used by update and stats) ---- */

/* The omap of vmd.cds: published version, the one before, and the two counters. */
typedef struct vmd_cds_ptr {
    uint64_t current;      /* 0: none published */
    uint64_t previous;     /* 0: none */
    uint64_t next_version; /* >= 1 */
    uint64_t next_id;      /* >= 1: the next popular container id */
    int complete;          /* every key was present */
} vmd_cds_ptr;

/* Reads vmd.cds (a missing object or key reads as its initial value). 0 or an error. */
int vmd_cds_ptr_read(vmd_store *s, vmd_cds_ptr *out);

/*
 * Reads and validates the header of manifest version v. -ENOENT (no such
 * object) is returned without a message; other failures are reported.
 */
int vmd_cds_manifest_header(vmd_store *s, uint64_t v, vmd_cds_header *out);

typedef int (*vmd_cds_entry_fn)(void *arg, const vmd_cds_entry *e);

/*
 * Calls fn for the first `limit` entries of the manifest whose header is h
 * (most popular first), reading a block at a time. A non-zero return of
 * fn stops the walk and is returned; a corrupt block is -EIO (reported).
 */
int vmd_cds_manifest_each(vmd_store *s, const vmd_cds_header *h, uint64_t limit,
                          vmd_cds_entry_fn fn, void *arg);

#endif /* VMD_CDS_INT_H */
