/*
 * recipe.h - the recipe of a snapshot: how to rebuild a disk from chunks.
 *
 * One object `r.<vm>.<seq8>` in the meta pool per snapshot (seq8 = the
 * snapshot number as 8 decimal digits). It is written front to back while
 * the backup runs, and its header is rewritten last with the COMPLETE flag,
 * so a reader knows a finished recipe from what an interrupted backup left.
 *
 *     0        128                         records_off                 end
 *     | header | segment table             | chunk records              |
 *     |        | nsegs x 56 bytes          | one per CHUNKS segment     |
 *
 * The table has a fixed size (the disk size is known when the backup
 * starts), so entries are written while records are appended: the writer
 * never holds more than a page of either. A reader fetches one entry and
 * one record per segment: memory does not depend on the disk size.
 *
 * Header (little-endian):
 *
 *     0   magic "VMDR"       16  disk_size u64     48  vm_len u8
 *     4   version u8 (1)     24  nsegs u64         49  vm[64], zero-padded
 *     5   compat u8 (1)      32  end u64           113 reserved[15] = 0
 *     6   flags u16 (bit 0 COMPLETE)
 *     8   snap u32           40  reserved u64 = 0
 *     12  parent u32 (0: none)
 *
 *   end is the object size once COMPLETE, 0 before.
 *
 * Segment table entry (56 bytes, entry i = segment i):
 *
 *     0   kind u8: 0 ZERO (a hole), 1 SAME (as in an older snapshot),
 *                  2 CHUNKS (the record is in this recipe)
 *     1   reserved[3] = 0
 *     4   holder u32   the snapshot whose recipe holds the record: this
 *                      snapshot for CHUNKS, an older one for SAME, 0 for ZERO
 *     8   offset u64   where the record starts in the holder's recipe
 *     16  nchunks u32  chunk references in that record (1 .. 65,536)
 *     20  reserved u32 = 0
 *     24  sig[4] u64   min-hash signature: the 4 smallest first-8-byte
 *                      values (LE) of the segment's chunk fingerprints,
 *                      ascending; UINT64_MAX where there are fewer chunks
 *
 *   A SAME entry is resolved at backup time to the snapshot that holds the
 *   chunks, so restore needs one hop. ZERO: holder, offset, nchunks 0, sig
 *   all UINT64_MAX.
 *
 * Chunk record (12 + 49 x nchunks bytes):
 *
 *     0   seg u64 (the segment it describes)   8   nchunks u32
 *     12  nchunks x ref:  fp[32]  ctr u64  slot u32  raw_len u32  flags u8
 *
 *   ref flags bit 0 ZERO: an all-zero chunk, not stored (fp, ctr, slot 0).
 *   bit 1 POPULAR: the chunk is slot `slot` of the popular container
 *   p.<ctr16> in the popular pool (level 3, the common data set).
 *   Otherwise the chunk is slot `slot` of container c.<vm>.<ctr16>, whose id
 *   is (snapshot << 24 | n): a snapshot never references containers of
 *   younger snapshots. The raw_len of the refs add up to the segment length.
 *   At most one flag is set.
 *
 * Decoders validate everything and return -EINVAL (malformed), -EPROTO
 * (written by a newer, incompatible version); the client reports either as
 * a corrupt recipe. Pure code: no I/O, no allocation (fuzzed by
 * tests/fuzz/fuzz_recipe.c).
 */
#ifndef VMDEDUP_RECIPE_H
#define VMDEDUP_RECIPE_H

#include <stddef.h>
#include <stdint.h>

#include "format/limits.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VMD_RCP_MAGIC       "VMDR"
#define VMD_RCP_VERSION     1
#define VMD_RCP_HEADER_SIZE 128
#define VMD_RCP_ENTRY_SIZE  56
#define VMD_RCP_REC_HEAD    12
#define VMD_RCP_REF_SIZE    49
#define VMD_RCP_SIG         4
#define VMD_RCP_MAX_CHUNKS  65536u
#define VMD_RCP_DISK_MAX    VMD_DISK_MAX              /* 64 TiB (limits.h) */
#define VMD_RCP_SEG_SHIFT   VMD_SEGMENT_SHIFT         /* 2 MiB segments (limits.h) */
#define VMD_RCP_CHUNK_MAX   ((unsigned)VMD_CHUNK_MAX) /* limits.h */
#define VMD_RCP_VM_MAX      VMD_VM_ID_MAX             /* limits.h */
#define VMD_RCP_CTR_SHIFT   24                        /* container id = snapshot << 24 | n */

#define VMD_RCP_F_COMPLETE  0x1u
#define VMD_RCP_REF_ZERO    0x1u
#define VMD_RCP_REF_POPULAR 0x2u

enum { VMD_RCP_ZERO = 0, VMD_RCP_SAME = 1, VMD_RCP_CHUNKS = 2 };

typedef struct vmd_rcp_header {
    uint8_t version;
    uint8_t compat;
    uint16_t flags;
    uint32_t snap;
    uint32_t parent;
    uint64_t disk_size;
    uint64_t nsegs;
    uint64_t end;
    char vm[VMD_RCP_VM_MAX + 1]; /* NUL-terminated */
} vmd_rcp_header;

typedef struct vmd_rcp_entry {
    uint8_t kind;
    uint32_t holder;
    uint64_t offset;
    uint32_t nchunks;
    uint64_t sig[VMD_RCP_SIG];
} vmd_rcp_entry;

typedef struct vmd_rcp_ref {
    uint8_t fp[VMD_FP_SIZE];
    uint64_t ctr;
    uint32_t slot;
    uint32_t raw_len;
    uint8_t flags;
} vmd_rcp_ref;

/* Offset of the first record: 128 + nsegs * 56. */
static inline uint64_t vmd_rcp_records_off(uint64_t nsegs)
{
    return VMD_RCP_HEADER_SIZE + nsegs * VMD_RCP_ENTRY_SIZE;
}

/* Bytes of a record of n refs. */
static inline uint64_t vmd_rcp_record_size(uint32_t n)
{
    return VMD_RCP_REC_HEAD + (uint64_t)n * VMD_RCP_REF_SIZE;
}

/* Length of segment seg of a disk of disk_size bytes (0 beyond the end). */
uint32_t vmd_rcp_seg_len(uint64_t disk_size, uint64_t seg);

/* Segments of a disk: ceil(disk_size / 2 MiB). */
uint64_t vmd_rcp_nsegs(uint64_t disk_size);

/* Encodes h into out (the caller filled a valid header). */
void vmd_rcp_header_encode(const vmd_rcp_header *h, uint8_t out[VMD_RCP_HEADER_SIZE]);

/*
 * Decodes and checks a header. object_size: the object's size, checked
 * against end when the header is COMPLETE (pass UINT64_MAX to skip).
 * Returns 0, -EINVAL or -EPROTO.
 */
int vmd_rcp_header_decode(vmd_rcp_header *out, const uint8_t in[VMD_RCP_HEADER_SIZE],
                          uint64_t object_size);

void vmd_rcp_entry_encode(const vmd_rcp_entry *e, uint8_t out[VMD_RCP_ENTRY_SIZE]);

/* Decodes entry seg of the recipe h and checks it against h. 0 or -EINVAL. */
int vmd_rcp_entry_decode(vmd_rcp_entry *out, const vmd_rcp_header *h,
                         const uint8_t in[VMD_RCP_ENTRY_SIZE]);

/* Encodes a record of n refs into out (vmd_rcp_record_size(n) bytes). */
void vmd_rcp_record_encode(uint8_t *out, uint64_t seg, const vmd_rcp_ref *refs, uint32_t n);

/*
 * Decodes the record of segment seg (of seg_len bytes) held by the recipe
 * of snapshot holder, expecting n refs: buf must be exactly
 * vmd_rcp_record_size(n) bytes. refs receives n entries. 0 or -EINVAL.
 */
int vmd_rcp_record_decode(vmd_rcp_ref *refs, const uint8_t *buf, size_t len, uint64_t seg,
                          uint32_t n, uint32_t holder, uint32_t seg_len);

/* Signatures: start empty (all UINT64_MAX), then add each non-zero chunk's fingerprint. */
void vmd_rcp_sig_init(uint64_t sig[VMD_RCP_SIG]);
void vmd_rcp_sig_add(uint64_t sig[VMD_RCP_SIG], const uint8_t fp[VMD_FP_SIZE]);

#ifdef __cplusplus
}
#endif

#endif /* VMDEDUP_RECIPE_H */
