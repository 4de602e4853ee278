/*
 * container.h - containers: the objects that hold the chunks of one VM (or popular chunks).
 *
 * A container is written once by the client (write_full) and later changed
 * only by the class (compaction). It describes itself: header, chunk bytes,
 * then a table of fixed-size slots at the end. References name a slot, never
 * a byte offset, so compaction may move bytes without breaking them.
 *
 *     0          128                               table_off          object size
 *     | header   | chunk bytes (stored encodings)   | slot table        |
 *
 * Header (128 bytes, little-endian):
 *
 *     0   magic "VMDC"     24  table_off u64      48  vm_len u8
 *     4   version u8 (1)   32  table_len u32      49  vm[64], zero-padded
 *     5   compat u8 (1)    36  reserved u32 = 0   113 reserved[15] = 0
 *     6   flags u16 (bit 0 POPULAR, bit 1 SEALED)
 *     8   nslots u32       40  data_bytes u64 (live + dead bytes present)
 *     12  reserved u32 = 0
 *     16  id u64
 *
 * Slot (56 bytes; the slot number is its index in the table):
 *
 *     0   fp[32]   SHA-256 of the uncompressed chunk
 *     32  offset u64, 40 stored_len u32, 44 raw_len u32 (1 .. 1 MiB)
 *     48  encoding u8 (0 RAW, 1 ZSTD), 49 state u8 (0 LIVE, 1 DEAD, 2 RECLAIMED)
 *     50  reserved[6] = 0
 *
 * Everything here is compiled into both the class and libvmdedup
 * (cls/format/container.c). Every reader validates before it trusts: a header,
 * a table and every slot are checked (docs/format.md, "Validity") and a
 * failure names the check (vmd_ctr_fault), so that corruption can be logged
 * precisely. Nothing in this file aborts or allocates without a bound.
 */
#ifndef VMDEDUP_CONTAINER_H
#define VMDEDUP_CONTAINER_H

#include <stddef.h>
#include <stdint.h>

#include <zstd.h>

#include "format/limits.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VMD_CTR_MAGIC       "VMDC"
#define VMD_CTR_VERSION     1
#define VMD_CTR_HEADER_SIZE 128
#define VMD_CTR_SLOT_SIZE   56
#define VMD_CTR_MAX_SIZE    (64u << 20) /* whole object */
#define VMD_CTR_MAX_SLOTS   65536u
#define VMD_CTR_CHUNK_MAX   ((unsigned)VMD_CHUNK_MAX) /* uncompressed chunk (limits.h) */
#define VMD_CTR_VM_MAX      VMD_VM_ID_MAX             /* limits.h */
#define VMD_CTR_FP_SIZE     VMD_FP_SIZE               /* limits.h */

#define VMD_CTR_F_POPULAR 0x1u
#define VMD_CTR_F_SEALED  0x2u
#define VMD_CTR_F_KNOWN   (VMD_CTR_F_POPULAR | VMD_CTR_F_SEALED)

enum { VMD_CTR_RAW = 0, VMD_CTR_ZSTD = 1 };
enum { VMD_CTR_LIVE = 0, VMD_CTR_DEAD = 1, VMD_CTR_RECLAIMED = 2 };

/* Why a stored chunk failed verification (also the scrub reply's reason codes). */
enum {
    VMD_CTR_BAD_HASH = 1,       /* SHA-256 of the raw bytes differs from fp */
    VMD_CTR_BAD_DECOMPRESS = 2, /* not one valid zstd frame */
    VMD_CTR_BAD_LENGTH = 3,     /* decompressed length differs from raw_len */
};

typedef struct vmd_ctr_header {
    uint8_t version;
    uint8_t compat;
    uint16_t flags;
    uint32_t nslots;
    uint64_t id;
    uint64_t table_off;
    uint32_t table_len;
    uint64_t data_bytes;
    uint8_t vm_len;
    char vm[VMD_CTR_VM_MAX + 1]; /* NUL-terminated; "" for popular containers */
} vmd_ctr_header;

typedef struct vmd_ctr_slot {
    uint8_t fp[VMD_CTR_FP_SIZE];
    uint64_t offset;
    uint32_t stored_len;
    uint32_t raw_len;
    uint8_t encoding;
    uint8_t state;
} vmd_ctr_slot;

/* The checks of a container, in the order the validator runs them. */
typedef enum vmd_ctr_check {
    VMD_CTR_OK = 0,
    VMD_CTR_CHK_TOO_SHORT,      /* object smaller than the header */
    VMD_CTR_CHK_TOO_LARGE,      /* object above 64 MiB */
    VMD_CTR_CHK_MAGIC,          /* not "VMDC" */
    VMD_CTR_CHK_VERSION,        /* version 0, compat 0, compat > version or compat > 1 */
    VMD_CTR_CHK_FLAGS,          /* unknown flag bits */
    VMD_CTR_CHK_RESERVED,       /* a reserved header byte is not 0 */
    VMD_CTR_CHK_NSLOTS,         /* more than 65,536 slots */
    VMD_CTR_CHK_TABLE_LEN,      /* table_len != nslots * 56 */
    VMD_CTR_CHK_TABLE_OFF,      /* table_off < 128 */
    VMD_CTR_CHK_OBJECT_SIZE,    /* table_off + table_len != object size */
    VMD_CTR_CHK_VM,             /* vm_len/vm bytes invalid or inconsistent with POPULAR */
    VMD_CTR_CHK_SLOT_RESERVED,  /* a reserved slot byte is not 0 */
    VMD_CTR_CHK_SLOT_STATE,     /* state not LIVE, DEAD or RECLAIMED */
    VMD_CTR_CHK_SLOT_ENCODING,  /* encoding not RAW or ZSTD */
    VMD_CTR_CHK_SLOT_RAW_LEN,   /* raw_len not in 1 .. 1 MiB */
    VMD_CTR_CHK_SLOT_RAW_SIZE,  /* RAW slot with stored_len != raw_len */
    VMD_CTR_CHK_SLOT_RECLAIMED, /* RECLAIMED slot with offset or stored_len != 0 */
    VMD_CTR_CHK_SLOT_BOUNDS,    /* LIVE/DEAD bytes empty or outside [128, table_off) */
    VMD_CTR_CHK_SLOT_OVERLAP,   /* two LIVE/DEAD slots share bytes */
    VMD_CTR_CHK_DATA_BYTES,     /* data_bytes != sum of stored_len of LIVE/DEAD slots */
    VMD_CTR_CHK_COUNT
} vmd_ctr_check;

/* Where validation failed: the check and, for slot checks, the slot (else UINT32_MAX). */
typedef struct vmd_ctr_fault {
    vmd_ctr_check check;
    uint32_t slot;
} vmd_ctr_fault;

/* A short constant name of a check ("magic", "slot overlap", ...). */
const char *vmd_ctr_check_name(vmd_ctr_check check);

/* "check 'slot bounds' at slot 7" (or without the slot) into buf. */
void vmd_ctr_fault_str(const vmd_ctr_fault *f, char *buf, size_t cap);

/* A short name of a verification reason (VMD_CTR_BAD_*). */
const char *vmd_ctr_reason_name(int reason);

/* ---- encoding ---- */

/* Encodes h into out; the caller must have filled every field consistently. */
void vmd_ctr_header_encode(const vmd_ctr_header *h, uint8_t out[VMD_CTR_HEADER_SIZE]);
void vmd_ctr_slot_encode(const vmd_ctr_slot *s, uint8_t out[VMD_CTR_SLOT_SIZE]);

/*
 * Decodes and checks a header on its own (magic, version, flags, reserved,
 * nslots, table_len, table_off, vm). Returns 0, or -EIO with *f set.
 */
int vmd_ctr_header_decode(vmd_ctr_header *out, const uint8_t in[VMD_CTR_HEADER_SIZE],
                          vmd_ctr_fault *f);

/* Checks a decoded header against the size of its object. Returns 0 or -EIO (*f set). */
int vmd_ctr_header_check_size(const vmd_ctr_header *h, uint64_t object_size, vmd_ctr_fault *f);

/*
 * Decodes slot number `slot` and checks it alone against its header
 * (reserved, state, encoding, lengths, bounds). Returns 0 or -EIO (*f set).
 */
int vmd_ctr_slot_decode(vmd_ctr_slot *out, const vmd_ctr_header *h, uint32_t slot,
                        const uint8_t in[VMD_CTR_SLOT_SIZE], vmd_ctr_fault *f);

/* ---- a validated container (header and table) ---- */

typedef struct vmd_ctr {
    vmd_ctr_header hdr;
    uint64_t size;       /* object size */
    vmd_ctr_slot *slots; /* hdr.nslots entries */
} vmd_ctr;

/*
 * Decodes a header and its table (`table` holds table_len bytes) and runs
 * every check, the slots' overlap and data_bytes included. On success *out
 * is a new vmd_ctr (free with vmd_ctr_free). Returns 0, -EIO (corrupt, *f
 * names the check) or -ENOMEM.
 */
int vmd_ctr_parse(vmd_ctr **out, const uint8_t hdr[VMD_CTR_HEADER_SIZE], const uint8_t *table,
                  size_t table_len, uint64_t object_size, vmd_ctr_fault *f);

/* The full validator on a whole object's bytes: vmd_ctr_parse of obj. */
int vmd_ctr_validate(vmd_ctr **out, const uint8_t *obj, size_t len, vmd_ctr_fault *f);

void vmd_ctr_free(vmd_ctr *c);

/* Re-encodes the table of c (hdr.nslots * 56 bytes) into out. */
void vmd_ctr_table_encode(const vmd_ctr *c, uint8_t *out);

/* ---- chunks ---- */

/* SHA-256 through OpenSSL's EVP interface. Returns 0 or -EIO. */
int vmd_ctr_sha256(const void *buf, size_t len, uint8_t out[VMD_CTR_FP_SIZE]);

/*
 * Turns one slot's stored bytes (slot->stored_len of them) back into its
 * raw bytes and verifies them: decompresses a ZSTD slot into at most
 * raw_len bytes, then compares the SHA-256 with slot->fp. raw must hold
 * slot->raw_len bytes. dctx may be NULL (one is made for the call).
 * Returns 0; -EIO with *reason = VMD_CTR_BAD_* when the chunk is bad;
 * -ENOMEM.
 */
int vmd_ctr_chunk_decode(const vmd_ctr_slot *slot, const uint8_t *stored, uint8_t *raw,
                         ZSTD_DCtx *dctx, int *reason);

/*
 * Reads one LIVE slot out of a whole container in memory: validates the
 * container, then extracts and verifies the slot. *raw (malloc()ed, the
 * caller frees it) receives raw_len bytes. Returns 0; -ERANGE (no such
 * slot); -ENOENT (slot not LIVE); -EIO (corrupt container: *f set, f->check
 * VMD_CTR_OK and *reason set when the chunk itself is bad); -ENOMEM.
 */
int vmd_ctr_read_slot(const uint8_t *obj, size_t len, uint32_t slot, uint8_t **raw, size_t *rawlen,
                      vmd_ctr_fault *f, int *reason);

/* ---- names ---- */

/* 1 when vm (n bytes) is a valid VM id: 1..64 bytes of [A-Za-z0-9._:-]. */
int vmd_ctr_vm_valid(const char *vm, size_t n);

/* Longest object name: "c." + 64 + "." + 16 hex digits + NUL. */
#define VMD_CTR_OID_MAX (2 + VMD_CTR_VM_MAX + 1 + 16 + 1)

/*
 * Writes the object name of container id: "c.<vm>.<id16>", or "p.<id16>"
 * when vm is NULL (popular). Returns 0, -EINVAL (bad vm id) or -ERANGE.
 */
int vmd_ctr_oid(char *buf, size_t cap, const char *vm, uint64_t id);

/*
 * Parses an object name made by vmd_ctr_oid. vm (capacity VMD_CTR_VM_MAX+1)
 * receives the VM id, "" for a popular container. Returns 0 or -EINVAL.
 */
int vmd_ctr_oid_parse(const char *oid, char *vm, uint64_t *id, int *popular);

/* ---- builder ---- */

typedef struct vmd_ctr_builder vmd_ctr_builder;

/*
 * Starts a container of VM vm (NULL: a popular container) whose object may
 * not exceed target bytes (0 or above 64 MiB: 64 MiB). Returns 0, -EINVAL
 * (bad vm id, target below one header and slot) or -ENOMEM.
 */
int vmd_ctr_builder_new(vmd_ctr_builder **out, uint64_t id, const char *vm, size_t target);

/*
 * Adds one chunk of raw bytes (1 .. 1 MiB). It is stored ZSTD at level
 * zstd_level when that is smaller, else RAW; zstd_level 0 stores RAW
 * always. *slot_out (may be NULL) gets its slot number, fp_out (may be
 * NULL) its SHA-256. Returns 0; -EINVAL (bad length or level); -ENOSPC
 * (the object would exceed the target, 64 MiB or 65,536 slots: nothing was
 * added, finish this container); -ENOMEM; -EIO (hashing failed). The
 * first add allocates the whole target (pages are touched only as used).
 */
int vmd_ctr_builder_add(vmd_ctr_builder *b, const void *raw, size_t len, int zstd_level,
                        uint32_t *slot_out, uint8_t *fp_out);

/*
 * Adds one chunk the caller has already encoded (the backup's worker
 * threads compress and hash in parallel; the single writer only packs):
 * stored_len bytes of encoding VMD_CTR_RAW (stored_len = raw_len) or
 * VMD_CTR_ZSTD, whose raw bytes have SHA-256 fp. The caller vouches for fp
 * and the frame; restore verifies both. Returns 0; -EINVAL (bad lengths or
 * encoding); -ENOSPC (does not fit: finish this container); -ENOMEM.
 */
int vmd_ctr_builder_add_encoded(vmd_ctr_builder *b, const uint8_t fp[VMD_CTR_FP_SIZE],
                                const void *stored, size_t stored_len, size_t raw_len, int encoding,
                                uint32_t *slot_out);

/* Slots added so far, and the size the object would have if finished now. */
uint32_t vmd_ctr_builder_nslots(const vmd_ctr_builder *b);
size_t vmd_ctr_builder_size(const vmd_ctr_builder *b);

/*
 * Lays out the finished, SEALED container in one malloc()ed buffer ready
 * for write_full and hands it over (the caller frees it; it is the
 * builder's own buffer, so nothing is copied). Afterwards the builder only
 * accepts vmd_ctr_builder_free: add and finish return -EINVAL.
 * Returns 0, -EINVAL or -ENOMEM.
 */
int vmd_ctr_builder_finish(vmd_ctr_builder *b, uint8_t **out, size_t *outlen);

void vmd_ctr_builder_free(vmd_ctr_builder *b);

#ifdef __cplusplus
}
#endif

#endif /* VMDEDUP_CONTAINER_H */
