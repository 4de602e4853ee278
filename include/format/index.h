/*
 * index.h - the global fingerprint index: partitions, entries, partition headers.
 *
 * The index maps the SHA-256 fingerprint of every chunk a store holds to an
 * index entry: which VMs hold the chunk (its popularity), where the first of
 * them keeps it (`home`) and, once the chunk belongs to the common data set,
 * where its popular copy lives (`pop`) and how many references that copy has.
 *
 * It is split by fingerprint value into 2^k partitions (k = partition_bits,
 * 0..16). The partition of fp is the top k bits of fp[0..1]:
 *
 *     p = (fp[0] << 8 | fp[1]) >> (16 - k)          object "idx.%04x" of p
 *
 * Each partition is one RADOS object in the meta pool, holding
 *
 *     omap header          the partition header (envelope v1, below)
 *     omap "<64 hex>"      one index entry per fingerprint (version byte, no envelope)
 *     omap "~op.<32 hex>"  the encoded reply of one of the last 16 mutating calls
 *
 * `~` sorts after every hex digit, so a key-ordered scan sees entries first.
 *
 * Index entry (all integers little-endian):
 *
 *     offset size  field
 *     0      1     version    1
 *     1      1     flags      bit 0 POPULAR
 *     2      2     nvms       VM hashes listed (<= 16)
 *     4      4     vm_count   VMs holding the chunk (>= nvms)
 *     8      4     chunk_len  1 .. 1 MiB
 *     12     8     pop_refs   references to the popular copy (0 unless POPULAR)
 *     20     12    home       (id u64, slot u32): where home_vm keeps the chunk
 *     32     12    pop        (id u64, slot u32): the popular copy (0 unless POPULAR)
 *     44     1+n   home_vm    str8, a VM id, or empty (then home is 0)
 *     ...    8*nvms vms       FNV-1a 64 hashes of holding VM ids, strictly ascending
 *
 * Partition header (envelope v1): bits u8, partition u16, then the counters
 * entries, holdings, popular_entries, bytes, popular_bytes, popular_refs (u64
 * each), nops u8 (<= 16) and nops op ids of 16 bytes, oldest first.
 *
 * The encoders and validating decoders live in cls/format/index.c, compiled into
 * the class and into libvmdedup. Decoders return -EINVAL for anything
 * truncated, oversized or inconsistent and -EPROTO for an unknown version;
 * the class turns either into -EIO when it reads stored state. See
 * docs/format.md, "Index partitions".
 */
#ifndef VMDEDUP_INDEX_H
#define VMDEDUP_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "format/limits.h"

#ifdef __cplusplus
extern "C" {
#endif

/* VMD_FP_SIZE, VMD_OP_ID_SIZE, VMD_VM_ID_MAX, VMD_CHUNK_MAX, VMD_IDX_MAX_BITS: limits.h */
#define VMD_FP_HEX_SIZE     65     /* 64 lowercase hex digits + NUL */
#define VMD_IDX_MAX_VMS     16     /* VM hashes an entry lists */
#define VMD_IDX_BATCH_MAX   65536  /* items per index call */
#define VMD_IDX_TOP_MAX     4096   /* entries per idx_top page */
#define VMD_IDX_OPS_MAX     16     /* recent op ids a partition remembers */
#define VMD_IDX_OID_SIZE    9      /* "idx.ffff" + NUL */
#define VMD_IDX_OP_PREFIX   "~op." /* omap key prefix of stored replies */
#define VMD_IDX_OP_KEY_SIZE 37     /* "~op." + 32 hex + NUL */

#define VMD_IDX_ENTRY_V       1
#define VMD_IDX_ENTRY_POPULAR 0x01
#define VMD_IDX_ENTRY_MIN     45
#define VMD_IDX_ENTRY_MAX     (VMD_IDX_ENTRY_MIN + VMD_VM_ID_MAX + 8 * VMD_IDX_MAX_VMS)

#define VMD_IDX_HEADER_V   1
#define VMD_IDX_HEADER_MAX (6 + 1 + 2 + 6 * 8 + 1 + VMD_IDX_OPS_MAX * VMD_OP_ID_SIZE)

/* A fingerprint: the SHA-256 of a chunk's uncompressed bytes. */
typedef struct vmd_fp {
    uint8_t b[VMD_FP_SIZE];
} vmd_fp;

/* Where a chunk is stored: a container and a slot in its table. */
typedef struct vmd_loc {
    uint64_t id;
    uint32_t slot;
} vmd_loc;

/* Which partition a request is for; checked against the stored header. */
typedef struct vmd_idx_target {
    uint8_t bits;       /* k of the store, 0..16 */
    uint16_t partition; /* < 2^bits; every fp of the request lies in it */
} vmd_idx_target;

/* One index entry, decoded. */
typedef struct vmd_idx_entry {
    uint8_t flags;                   /* VMD_IDX_ENTRY_POPULAR */
    uint16_t nvms;                   /* hashes in vms[] */
    uint32_t vm_count;               /* VMs holding the chunk; exact while <= VMD_IDX_MAX_VMS */
    uint32_t chunk_len;              /* uncompressed length */
    uint64_t pop_refs;               /* references to the popular copy */
    vmd_loc home;                    /* the chunk in a container of home_vm */
    vmd_loc pop;                     /* the popular copy */
    char home_vm[VMD_VM_ID_MAX + 1]; /* "" = no home */
    uint64_t vms[VMD_IDX_MAX_VMS];   /* FNV-1a 64 of holder VM ids, ascending */
} vmd_idx_entry;

/* The counters of a partition header (also the reply of idx_stats). */
typedef struct vmd_idx_counters {
    uint64_t entries;         /* index entries */
    uint64_t holdings;        /* sum of vm_count */
    uint64_t popular_entries; /* entries marked POPULAR */
    uint64_t bytes;           /* sum of chunk_len */
    uint64_t popular_bytes;   /* sum of chunk_len over POPULAR entries */
    uint64_t popular_refs;    /* sum of pop_refs */
} vmd_idx_counters;

/* A partition header, decoded. */
typedef struct vmd_idx_header {
    uint8_t bits;       /* k of the store */
    uint16_t partition; /* p, < 2^bits */
    vmd_idx_counters c;
    uint8_t nops;                                 /* op ids kept, <= 16 */
    uint8_t ops[VMD_IDX_OPS_MAX][VMD_OP_ID_SIZE]; /* oldest first */
} vmd_idx_header;

/* memcmp order of two fingerprints (= order of their hex keys). */
int vmd_fp_cmp(const vmd_fp *a, const vmd_fp *b);

/* 64 lowercase hex digits of fp, NUL-terminated. */
void vmd_fp_hex(const vmd_fp *fp, char out[VMD_FP_HEX_SIZE]);

/* Parses exactly 64 lowercase hex digits (NUL-terminated); 0 or -EINVAL. */
int vmd_fp_from_hex(vmd_fp *out, const char *hex);

/* The partition of fp among 2^bits (bits <= 16). */
unsigned vmd_fp_partition(const vmd_fp *fp, unsigned bits);

/* The object name of a partition: "idx.%04x". */
void vmd_idx_oid(unsigned partition, char out[VMD_IDX_OID_SIZE]);

/* The omap key holding the reply of op_id: "~op." + 32 lowercase hex digits. */
void vmd_idx_op_key(const uint8_t op_id[VMD_OP_ID_SIZE], char out[VMD_IDX_OP_KEY_SIZE]);

/* FNV-1a 64 of n bytes: the hash an entry stores for a VM id. */
uint64_t vmd_vm_hash(const char *vm, size_t n);

/* Bytes vmd_idx_entry_encode() writes for e. */
size_t vmd_idx_entry_size(const vmd_idx_entry *e);

/*
 * Encodes e into buf (capacity cap, VMD_IDX_ENTRY_MAX always suffices).
 * *len receives the bytes written. Returns 0, -EINVAL (e is not valid) or
 * -EOVERFLOW.
 */
int vmd_idx_entry_encode(const vmd_idx_entry *e, uint8_t *buf, size_t cap, size_t *len);

/*
 * Writes e's version and fields up to its home VM to w, unchecked: the part
 * of vmd_idx_entry_encode() before the VM hashes, for tests that build
 * entries the encoder would refuse.
 */
struct vmd_wr;
void vmd_idx_entry_put_head(struct vmd_wr *w, const vmd_idx_entry *e);

/* Decodes and validates one entry; 0, -EINVAL or -EPROTO (unknown version). */
int vmd_idx_entry_decode(vmd_idx_entry *out, const uint8_t *buf, size_t len);

/* 0 when e satisfies every rule of the format, else -EINVAL. */
int vmd_idx_entry_check(const vmd_idx_entry *e);

/* Encodes h (cap >= VMD_IDX_HEADER_MAX suffices); 0, -EINVAL or -EOVERFLOW. */
int vmd_idx_header_encode(const vmd_idx_header *h, uint8_t *buf, size_t cap, size_t *len);

/* Decodes and validates a partition header; 0, -EINVAL or -EPROTO. */
int vmd_idx_header_decode(vmd_idx_header *out, const uint8_t *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* VMDEDUP_INDEX_H */
