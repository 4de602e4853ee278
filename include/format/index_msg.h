/*
 * index_msg.h - requests and replies of the index-partition methods of the class.
 *
 * One type per message of vmdedup.idx_register, idx_release, idx_ref,
 * idx_mark_popular, idx_unmark_popular, idx_top, idx_stats and idx_reply
 * (which returns the stored reply of a mutating call), each with an
 * encoder and a validating decoder (cls/format/index_msg.c, compiled into the class
 * and into libvmdedup). Byte layouts: docs/format.md, "Methods on partitions".
 *
 * Every message is one envelope (wire.h) of version 1. Decoders treat their
 * input as hostile and check, before anything is allocated beyond what the
 * input can justify:
 *   - the envelope (-EPROTO for compat > 1; -EINVAL for bytes after it, or
 *     for a v1 payload with bytes left over);
 *   - bits <= 16 and partition < 2^bits;
 *   - 1 <= count <= 65,536 items (top: 1 <= max <= 4,096), and that the
 *     input really holds count items;
 *   - fingerprints strictly ascending and all inside the partition;
 *   - per-item limits (VM id, chunk length, deltas, statuses).
 * Anything else is -EINVAL. Encoders check the same rules on what they are
 * given (-EINVAL) and allocate their output: *out is malloc()ed, the caller
 * free()s it. Decoded messages own arrays; release them with the type's
 * _free function (NULL-safe, and safe on a message whose decode failed).
 */
#ifndef VMDEDUP_IDX_OPS_H
#define VMDEDUP_IDX_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "format/index.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VMD_IDX_MSG_V     1
#define VMD_IDX_DELTA_MAX (1 << 24) /* |delta| of idx_ref */

/* vmd_idx_target (the partition a request is for) is in index.h. */

/* ---- idx_register ---- */

enum { VMD_IDX_NEW = 0, VMD_IDX_KNOWN = 1, VMD_IDX_POPULAR = 2 };

typedef struct vmd_idx_reg_item {
    vmd_fp fp;
    uint32_t chunk_len; /* 1 .. 1 MiB */
    vmd_loc loc;        /* where the VM keeps (or will keep) the chunk */
} vmd_idx_reg_item;

typedef struct vmd_idx_register_req {
    uint8_t op_id[VMD_OP_ID_SIZE];
    vmd_idx_target t;
    char vm[VMD_VM_ID_MAX + 1];
    uint32_t count;
    vmd_idx_reg_item *items;
} vmd_idx_register_req;

typedef struct vmd_idx_reg_result {
    uint8_t status;    /* VMD_IDX_NEW, _KNOWN or _POPULAR */
    uint32_t vm_count; /* VMs holding the chunk, this one included */
    vmd_loc pop;       /* the popular copy (status POPULAR only) */
} vmd_idx_reg_result;

typedef struct vmd_idx_register_reply {
    uint32_t count;
    vmd_idx_reg_result *items;
} vmd_idx_register_reply;

/* ---- idx_release and idx_unmark_popular: a VM (or none) and fps ---- */

enum {
    VMD_IDX_RELEASED = 0,
    VMD_IDX_REMOVED = 1,
    VMD_IDX_NOT_FOUND = 2,
    VMD_IDX_NOT_HOLDER = 3,
};

typedef struct vmd_idx_release_req {
    uint8_t op_id[VMD_OP_ID_SIZE];
    vmd_idx_target t;
    char vm[VMD_VM_ID_MAX + 1];
    uint32_t count;
    vmd_fp *fps;
} vmd_idx_release_req;

enum { VMD_IDX_UNMARKED = 0, VMD_IDX_NOT_POPULAR = 1, VMD_IDX_UNMARK_REMOVED = 2 };

typedef struct vmd_idx_unmark_req {
    uint8_t op_id[VMD_OP_ID_SIZE];
    vmd_idx_target t;
    uint32_t count;
    vmd_fp *fps;
} vmd_idx_unmark_req;

/* ---- idx_ref ---- */

typedef struct vmd_idx_ref_item {
    vmd_fp fp;
    int32_t delta; /* != 0, |delta| <= 2^24 */
} vmd_idx_ref_item;

typedef struct vmd_idx_ref_req {
    uint8_t op_id[VMD_OP_ID_SIZE];
    vmd_idx_target t;
    uint32_t count;
    vmd_idx_ref_item *items;
} vmd_idx_ref_req;

typedef struct vmd_idx_ref_reply {
    uint32_t count;
    uint64_t *pop_refs; /* after the change */
} vmd_idx_ref_reply;

/* ---- idx_mark_popular ---- */

enum { VMD_IDX_MARKED = 0, VMD_IDX_ALREADY = 1, VMD_IDX_MOVED = 2 };

typedef struct vmd_idx_mark_item {
    vmd_fp fp;
    vmd_loc pop; /* the popular copy */
} vmd_idx_mark_item;

typedef struct vmd_idx_mark_req {
    uint8_t op_id[VMD_OP_ID_SIZE];
    vmd_idx_target t;
    uint32_t count;
    vmd_idx_mark_item *items;
} vmd_idx_mark_req;

/* The reply of idx_release, idx_mark_popular and idx_unmark_popular: one status per fp. */
typedef struct vmd_idx_status_reply {
    uint32_t count;
    uint8_t *status;
} vmd_idx_status_reply;

/* Highest status each method replies. */
#define VMD_IDX_RELEASE_STATUS_MAX VMD_IDX_NOT_HOLDER
#define VMD_IDX_MARK_STATUS_MAX    VMD_IDX_MOVED
#define VMD_IDX_UNMARK_STATUS_MAX  VMD_IDX_UNMARK_REMOVED

/* ---- idx_top ---- */

typedef struct vmd_idx_top_req {
    vmd_idx_target t;
    uint32_t min_vms; /* only entries with vm_count >= min_vms */
    uint32_t max;     /* 1 .. 4,096 entries per page */
    uint8_t has_cursor;
    uint32_t cursor_vm_count; /* the last entry of the previous page */
    vmd_fp cursor_fp;
} vmd_idx_top_req;

typedef struct vmd_idx_top_item {
    vmd_fp fp;
    vmd_idx_entry e; /* nvms = 0: the reply does not carry VM hashes */
} vmd_idx_top_item;

typedef struct vmd_idx_top_reply {
    uint32_t count;
    uint8_t more; /* 1: entries remain after the last one */
    vmd_idx_top_item *items;
} vmd_idx_top_reply;

/* ---- idx_reply: the stored reply of a mutating call ---- */

typedef struct vmd_idx_reply_req {
    vmd_idx_target t;
    uint8_t op_id[VMD_OP_ID_SIZE];
} vmd_idx_reply_req;

/* ---- idx_stats ---- */

typedef struct vmd_idx_stats_req {
    vmd_idx_target t;
} vmd_idx_stats_req;

/*
 * Fills r to ask for the page of at most max entries with vm_count >= min_vms
 * of partition t that follows entry `after` in top order (NULL: the first page).
 */
void vmd_idx_top_req_init(vmd_idx_top_req *r, vmd_idx_target t, uint32_t min_vms, uint32_t max,
                          const vmd_idx_top_item *after);

/* Order of idx_top: vm_count descending, then fp ascending (<0, 0, >0 like memcmp). */
int vmd_idx_top_order(uint32_t vm_count_a, const vmd_fp *a, uint32_t vm_count_b, const vmd_fp *b);

/* Encoders: *out malloc()ed, *outlen its length. 0, -EINVAL or -ENOMEM. */
int vmd_idx_register_req_encode(const vmd_idx_register_req *r, uint8_t **out, size_t *outlen);
int vmd_idx_release_req_encode(const vmd_idx_release_req *r, uint8_t **out, size_t *outlen);
int vmd_idx_ref_req_encode(const vmd_idx_ref_req *r, uint8_t **out, size_t *outlen);
int vmd_idx_mark_req_encode(const vmd_idx_mark_req *r, uint8_t **out, size_t *outlen);
int vmd_idx_unmark_req_encode(const vmd_idx_unmark_req *r, uint8_t **out, size_t *outlen);
int vmd_idx_top_req_encode(const vmd_idx_top_req *r, uint8_t **out, size_t *outlen);
int vmd_idx_stats_req_encode(const vmd_idx_stats_req *r, uint8_t **out, size_t *outlen);
int vmd_idx_reply_req_encode(const vmd_idx_reply_req *r, uint8_t **out, size_t *outlen);

int vmd_idx_register_reply_encode(const vmd_idx_register_reply *r, uint8_t **out, size_t *outlen);
int vmd_idx_status_reply_encode(const vmd_idx_status_reply *r, uint8_t max_status, uint8_t **out,
                                size_t *outlen);
int vmd_idx_ref_reply_encode(const vmd_idx_ref_reply *r, uint8_t **out, size_t *outlen);
int vmd_idx_top_reply_encode(const vmd_idx_top_reply *r, uint8_t **out, size_t *outlen);
int vmd_idx_stats_reply_encode(const vmd_idx_counters *c, uint8_t **out, size_t *outlen);

/* Decoders: 0, -EINVAL, -EPROTO or -ENOMEM. */
int vmd_idx_register_req_decode(vmd_idx_register_req *out, const uint8_t *buf, size_t len);
int vmd_idx_release_req_decode(vmd_idx_release_req *out, const uint8_t *buf, size_t len);
int vmd_idx_ref_req_decode(vmd_idx_ref_req *out, const uint8_t *buf, size_t len);
int vmd_idx_mark_req_decode(vmd_idx_mark_req *out, const uint8_t *buf, size_t len);
int vmd_idx_unmark_req_decode(vmd_idx_unmark_req *out, const uint8_t *buf, size_t len);
int vmd_idx_top_req_decode(vmd_idx_top_req *out, const uint8_t *buf, size_t len);
int vmd_idx_stats_req_decode(vmd_idx_stats_req *out, const uint8_t *buf, size_t len);
int vmd_idx_reply_req_decode(vmd_idx_reply_req *out, const uint8_t *buf, size_t len);

int vmd_idx_register_reply_decode(vmd_idx_register_reply *out, const uint8_t *buf, size_t len);
int vmd_idx_status_reply_decode(vmd_idx_status_reply *out, uint8_t max_status, const uint8_t *buf,
                                size_t len);
int vmd_idx_ref_reply_decode(vmd_idx_ref_reply *out, const uint8_t *buf, size_t len);
int vmd_idx_top_reply_decode(vmd_idx_top_reply *out, const uint8_t *buf, size_t len);
int vmd_idx_stats_reply_decode(vmd_idx_counters *out, const uint8_t *buf, size_t len);

/*
 * The replies of the mutating methods by kind, for code that handles them
 * alike (the class stores them under their op id and checks a stored one
 * before a replay). Items are vmd_idx_reg_result (REGISTER), uint8_t
 * statuses (STATUS, at most max_status) or uint64_t pop_refs (REF).
 */
typedef enum vmd_idx_reply_kind {
    VMD_IDX_REPLY_REGISTER,
    VMD_IDX_REPLY_STATUS,
    VMD_IDX_REPLY_REF,
} vmd_idx_reply_kind;

/* Bytes of one item of a reply of that kind. */
size_t vmd_idx_reply_item_size(vmd_idx_reply_kind kind);

/* Encodes count items as a reply of that kind; as the encoders above. */
int vmd_idx_reply_encode(vmd_idx_reply_kind kind, uint8_t max_status, uint32_t count,
                         const void *items, uint8_t **out, size_t *outlen);

/*
 * Decodes a reply of that kind: *count items of vmd_idx_reply_item_size(kind)
 * bytes in *items (malloc()ed, the caller free()s it; NULL on error). As the
 * decoders.
 */
int vmd_idx_reply_decode(vmd_idx_reply_kind kind, uint8_t max_status, const uint8_t *buf,
                         size_t len, uint32_t *count, void **items);

/* 0 when buf decodes as a reply of that kind with exactly count items, else as the decoders. */
int vmd_idx_reply_check(vmd_idx_reply_kind kind, uint8_t max_status, const uint8_t *buf, size_t len,
                        uint32_t count);

/*
 * The requests of the mutating methods by kind, for code that sends them
 * alike (the client's batches, the tests' method helpers): an op id, the
 * target, the VM id (REGISTER and RELEASE; NULL for the others), and count
 * items of the method's item type: vmd_idx_reg_item (REGISTER), vmd_fp
 * (RELEASE, UNMARK), vmd_idx_ref_item (REF) or vmd_idx_mark_item (MARK).
 * As the typed encoders; a VM id missing or longer than VMD_VM_ID_MAX is
 * -EINVAL.
 */
typedef enum vmd_idx_batch_kind {
    VMD_IDX_BATCH_REGISTER,
    VMD_IDX_BATCH_RELEASE,
    VMD_IDX_BATCH_REF,
    VMD_IDX_BATCH_MARK,
    VMD_IDX_BATCH_UNMARK,
} vmd_idx_batch_kind;

int vmd_idx_batch_req_encode(vmd_idx_batch_kind kind, const uint8_t *op_id, vmd_idx_target t,
                             const char *vm, uint32_t count, const void *items, uint8_t **out,
                             size_t *outlen);

/* Release what a decoder allocated (NULL-safe; the struct is reset). */
void vmd_idx_register_req_free(vmd_idx_register_req *r);
void vmd_idx_release_req_free(vmd_idx_release_req *r);
void vmd_idx_ref_req_free(vmd_idx_ref_req *r);
void vmd_idx_mark_req_free(vmd_idx_mark_req *r);
void vmd_idx_unmark_req_free(vmd_idx_unmark_req *r);
void vmd_idx_register_reply_free(vmd_idx_register_reply *r);
void vmd_idx_status_reply_free(vmd_idx_status_reply *r);
void vmd_idx_ref_reply_free(vmd_idx_ref_reply *r);
void vmd_idx_top_reply_free(vmd_idx_top_reply *r);

#ifdef __cplusplus
}
#endif

#endif /* VMDEDUP_IDX_OPS_H */
