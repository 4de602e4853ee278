/*
 * cds_manifest.h - the common data set (CDS) manifest: the popular chunks a host deduplicates
 * against.
 *
 * Level 3 of the backup deduplicates a VM's chunks against the most popular
 * chunks of the whole store (held by the most VMs). `vmdedup cds update`
 * copies each of them once into popular containers (`p.<id16>`, popular
 * pool, higher replication), marks their index entries POPULAR and
 * publishes a new version of the manifest, which hosts load into memory.
 *
 * Objects (meta pool, in the store's namespace):
 *
 *     vmd.cds         omap, plain text: `current` (the published version, decimal),
 *                     `previous` (the version published before it), `next_version`,
 *                     `next_id` (the next popular container id); the update lock
 *     cds.<ver8>      one manifest version (ver8: 8 decimal digits), written
 *                     completely before `current` names it
 *
 * Publishing is one atomic omap compare-and-set on vmd.cds (`current` must
 * still hold the version the update started from), so a reader sees either
 * the old or the new manifest, never a half-written one. A manifest is
 * never changed after it is written.
 *
 * Manifest object (all integers little-endian):
 *
 *     0          64                                         64 + count * entry_size
 *     | header   | entries, most popular first               |
 *
 * Header (64 bytes):
 *
 *     0   magic "VMDS"     16  count u64          40  threshold u32
 *     4   version u8 (1)   24  bytes u64          44  entry_size u32 (>= 52)
 *     5   compat u8 (1)    32  time i64           48  next_id u64
 *     6   flags u16 (0)                           56  reserved u64 = 0
 *     8   cds_version u64 (>= 1)
 *
 *   count      entries (<= VMD_CDS_MAX_ENTRIES)
 *   bytes      sum of raw_len over the entries
 *   time       when the version was written, seconds since the epoch (UTC)
 *   threshold  the popularity (VMs holding a chunk) of the least popular
 *              chunk the selection took; 0 for an empty manifest
 *   entry_size bytes per entry; a later version may append fields to an
 *              entry (a reader decodes the first 52 and skips the rest)
 *   next_id    popular container ids below it had been handed out when the
 *              version was written (ids of its entries are all below it)
 *
 * Entry (52 bytes in version 1):
 *
 *     0   fp[32]      SHA-256 of the uncompressed chunk
 *     32  ctr u64     popular container id (>= 1): object p.<ctr as 16 hex>
 *     40  slot u32    slot in that container
 *     44  raw_len u32 uncompressed length, 1 .. 1 MiB
 *     48  vm_count u32 VMs holding the chunk when it was selected (>= 1)
 *
 *   Entries are sorted by vm_count descending, then fp ascending (the order
 *   of the class's idx_top), strictly: no fingerprint appears twice within
 *   one popularity, and the loader refuses a fingerprint seen twice at all.
 *   Most popular first lets a host with a small memory budget read only a
 *   prefix of the object and keep the chunks that matter most.
 *
 * The codec is pure (no I/O, no allocation: the caller gives the buffers)
 * and validates every field; it is fuzzed by tests/fuzz/fuzz_cds.c.
 * Decoders return -EINVAL (malformed) or -EPROTO (compat above what this
 * reader knows). See docs/format.md, "Common data set".
 */
#ifndef VMDEDUP_CDS_H
#define VMDEDUP_CDS_H

#include <stddef.h>
#include <stdint.h>

#include "format/limits.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VMD_CDS_MAGIC       "VMDS"
#define VMD_CDS_VERSION     1
#define VMD_CDS_HEADER_SIZE 64
#define VMD_CDS_ENTRY_SIZE  52                        /* of version 1 */
#define VMD_CDS_ENTRY_MAX   4096                      /* largest entry_size a reader accepts */
#define VMD_CDS_MAX_ENTRIES (1u << 24)                /* 16.7 M chunks, 64 GiB at 4 KiB */
#define VMD_CDS_CHUNK_MAX   ((unsigned)VMD_CHUNK_MAX) /* limits.h */
#define VMD_CDS_VERSION_MAX 99999999u                 /* 8 digits in object names */
#define VMD_CDS_POINTER     "vmd.cds"
#define VMD_CDS_OID_SIZE    13 /* "cds." + 8 digits + NUL */

typedef struct vmd_cds_header {
    uint8_t version;
    uint8_t compat;
    uint16_t flags;
    uint64_t cds_version;
    uint64_t count;
    uint64_t bytes;
    int64_t time;
    uint32_t threshold;
    uint32_t entry_size;
    uint64_t next_id;
} vmd_cds_header;

typedef struct vmd_cds_entry {
    uint8_t fp[VMD_FP_SIZE];
    uint64_t ctr;
    uint32_t slot;
    uint32_t raw_len;
    uint32_t vm_count;
} vmd_cds_entry;

/* The object name of manifest version v: "cds.%08u". */
void vmd_cds_oid(char out[VMD_CDS_OID_SIZE], uint64_t v);

/* Manifest order: vm_count descending, then fp ascending (<0, 0, >0 like memcmp). */
int vmd_cds_entry_order(const vmd_cds_entry *a, const vmd_cds_entry *b);

/* Encodes h (every field as given; version 1 writes compat 1). */
void vmd_cds_header_encode(const vmd_cds_header *h, uint8_t out[VMD_CDS_HEADER_SIZE]);

/*
 * Decodes and checks a header: magic, version/compat, flags, reserved,
 * cds_version 1 .. 99,999,999, count <= VMD_CDS_MAX_ENTRIES, entry_size
 * (52 .. 4096), bytes <= count * 1 MiB and >= count, threshold 0 exactly
 * when count is 0, and next_id >= 2 unless empty. object_size (UINT64_MAX
 * to skip) must be 64 + count * entry_size. 0, -EINVAL or -EPROTO.
 */
int vmd_cds_header_decode(vmd_cds_header *out, const uint8_t in[VMD_CDS_HEADER_SIZE],
                          uint64_t object_size);

/* Encodes one entry into VMD_CDS_ENTRY_SIZE bytes. */
void vmd_cds_entry_encode(const vmd_cds_entry *e, uint8_t out[VMD_CDS_ENTRY_SIZE]);

/*
 * Decodes n entries of h->entry_size bytes each from buf (len must be
 * exactly n * entry_size) into out, checking each (vmd_cds_entry_check) and
 * that they follow each other in manifest order, strictly. prev is the last
 * entry of the block before (vm_count 0: this block starts the manifest);
 * it is updated to the last entry decoded, so blocks can be read one after
 * the other. 0 or -EINVAL.
 */
int vmd_cds_entries_decode(vmd_cds_entry *out, const uint8_t *buf, size_t len, size_t n,
                           const vmd_cds_header *h, vmd_cds_entry *prev);

/* 0 when e is a valid entry (ctr 1 .. h->next_id - 1, raw_len 1 .. 1 MiB, vm_count >= 1). */
int vmd_cds_entry_check(const vmd_cds_entry *e, const vmd_cds_header *h);

#ifdef __cplusplus
}
#endif

#endif /* VMDEDUP_CDS_H */
