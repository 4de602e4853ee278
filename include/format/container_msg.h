/*
 * container_msg.h - requests and replies of the container methods of the class.
 *
 *   vmdedup.ctr_scrub   (RD)  request  max_bad:u32 (<= 4096)
 *                             reply    nslots live dead reclaimed nbad (u32 each)
 *                                      then min(nbad, max_bad) x (slot:u32 reason:u8)
 *   vmdedup.ctr_compact (WR)  request  op_id[16] mode:u8 nslots:u32 bitmap[ceil(nslots/8)]
 *                                      (bit i % 8 of byte i / 8 set: slot i stays live)
 *                             reply    size_before:u64 size_after:u64 live dead reclaimed (u32)
 *   vmdedup.ctr_stats   (RD)  request  empty
 *                             reply    nslots live dead reclaimed (u32)
 *                                      live_stored live_raw dead_bytes object_size (u64)
 *                                      flags:u16 id:u64 vm:str8
 *
 * Each message is wrapped in the envelope of wire.h (all version 1). The
 * same encoders and validating decoders (cls/format/container_msg.c) are compiled into
 * the class and libvmdedup. Decoders return 0, -EINVAL (truncated,
 * oversized, inconsistent, or bytes after a request's envelope) or -EPROTO
 * (newer incompatible version). Layouts: docs/format.md, "Containers".
 */
#ifndef VMDEDUP_CTR_OPS_H
#define VMDEDUP_CTR_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "format/container.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VMD_CTR_OPS_V        1
#define VMD_CTR_SCRUB_MAX    4096           /* most bad slots a scrub reply lists */
#define VMD_CTR_OP_ID_SIZE   VMD_OP_ID_SIZE /* limits.h */
#define VMD_CTR_BITMAP_MAX   (VMD_CTR_MAX_SLOTS / 8)
#define VMD_CTR_COMPACT_MARK 0 /* mode: mark unset LIVE slots DEAD, rewrite the table */
#define VMD_CTR_COMPACT_FULL 1 /* mode: rewrite the object without dead bytes */

/* ---- ctr_scrub ---- */

typedef struct vmd_ctr_scrub_req {
    uint32_t max_bad;
} vmd_ctr_scrub_req;

#define VMD_CTR_SCRUB_REQ_MAX (6 + 4)

typedef struct vmd_ctr_bad {
    uint32_t slot;
    uint8_t reason; /* VMD_CTR_BAD_* */
} vmd_ctr_bad;

typedef struct vmd_ctr_scrub_reply {
    uint32_t nslots, live, dead, reclaimed;
    uint32_t nbad;    /* bad LIVE slots found */
    uint32_t nlist;   /* entries in bad: min(nbad, max_bad) */
    vmd_ctr_bad *bad; /* malloc()ed by the decoder; vmd_ctr_scrub_reply_clear frees it */
} vmd_ctr_scrub_reply;

/* Encoded size of a scrub reply listing nlist bad slots. */
#define VMD_CTR_SCRUB_REPLY_SIZE(nlist) (6 + 5 * 4 + 5 * (size_t)(nlist))

int vmd_ctr_scrub_req_encode(const vmd_ctr_scrub_req *r, uint8_t *buf, size_t cap, size_t *len);
int vmd_ctr_scrub_req_decode(vmd_ctr_scrub_req *out, const uint8_t *buf, size_t len);

/* r->nlist entries of r->bad are encoded; r->nlist must be <= r->nbad and <= 4096. */
int vmd_ctr_scrub_reply_encode(const vmd_ctr_scrub_reply *r, uint8_t *buf, size_t cap, size_t *len);

/* max_bad: what the request asked for (the reply lists min(nbad, max_bad) slots). */
int vmd_ctr_scrub_reply_decode(vmd_ctr_scrub_reply *out, const uint8_t *buf, size_t len,
                               uint32_t max_bad);
void vmd_ctr_scrub_reply_clear(vmd_ctr_scrub_reply *r);

/* ---- ctr_compact ---- */

typedef struct vmd_ctr_compact_req {
    uint8_t op_id[VMD_CTR_OP_ID_SIZE];
    uint8_t mode; /* VMD_CTR_COMPACT_MARK or VMD_CTR_COMPACT_FULL */
    uint32_t nslots;
    const uint8_t *bitmap; /* ceil(nslots/8) bytes; decoded: points into the input buffer */
} vmd_ctr_compact_req;

#define VMD_CTR_COMPACT_REQ_SIZE(nslots) (6 + 16 + 1 + 4 + ((size_t)(nslots) + 7) / 8)

/* 1 when bit `slot` of a compaction bitmap is set (slot stays live). */
static inline int vmd_ctr_bitmap_test(const uint8_t *bitmap, uint32_t slot)
{
    return (bitmap[slot / 8] >> (slot % 8)) & 1;
}

static inline void vmd_ctr_bitmap_set(uint8_t *bitmap, uint32_t slot)
{
    bitmap[slot / 8] |= (uint8_t)(1u << (slot % 8));
}

int vmd_ctr_compact_req_encode(const vmd_ctr_compact_req *r, uint8_t *buf, size_t cap, size_t *len);

/*
 * Checks mode (0 or 1), nslots (<= 65,536), the bitmap's length and that its
 * bits past nslots are 0. out->bitmap points into buf.
 */
int vmd_ctr_compact_req_decode(vmd_ctr_compact_req *out, const uint8_t *buf, size_t len);

typedef struct vmd_ctr_compact_reply {
    uint64_t size_before, size_after;
    uint32_t live, dead, reclaimed;
} vmd_ctr_compact_reply;

#define VMD_CTR_COMPACT_REPLY_MAX (6 + 8 + 8 + 4 * 3)

int vmd_ctr_compact_reply_encode(const vmd_ctr_compact_reply *r, uint8_t *buf, size_t cap,
                                 size_t *len);
int vmd_ctr_compact_reply_decode(vmd_ctr_compact_reply *out, const uint8_t *buf, size_t len);

/* ---- ctr_stats ---- */

#define VMD_CTR_STATS_REQ_MAX 6

int vmd_ctr_stats_req_encode(uint8_t *buf, size_t cap, size_t *len);
int vmd_ctr_stats_req_decode(const uint8_t *buf, size_t len);

typedef struct vmd_ctr_stats_reply {
    uint32_t nslots, live, dead, reclaimed;
    uint64_t live_stored, live_raw, dead_bytes, object_size;
    uint16_t flags;
    uint64_t id;
    char vm[VMD_CTR_VM_MAX + 1];
} vmd_ctr_stats_reply;

#define VMD_CTR_STATS_REPLY_MAX (6 + 4 * 4 + 8 * 4 + 2 + 8 + 1 + VMD_CTR_VM_MAX)

int vmd_ctr_stats_reply_encode(const vmd_ctr_stats_reply *r, uint8_t *buf, size_t cap, size_t *len);

/* Checks live + dead + reclaimed = nslots <= 65,536 and the vm id (empty or valid). */
int vmd_ctr_stats_reply_decode(vmd_ctr_stats_reply *out, const uint8_t *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* VMDEDUP_CTR_OPS_H */
