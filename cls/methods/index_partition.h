/*
 * index_partition.h - reading and writing an index partition, for the index methods.
 *
 * Shared by the methods in index_register.c (register, release, ref) and
 * index_popular.c (mark/unmark popular, top, stats, reply); implemented in
 * index_partition.c. Not part of the class's interface (index_methods.h).
 *
 * Object idx.<pppp> in the meta pool (docs/format.md, "Index partitions"):
 *
 *     omap header          vmd_idx_header: bits, partition, counters, last 16 op ids
 *     omap "<64 hex>"      vmd_idx_entry of that fingerprint
 *     omap "~op.<32 hex>"  the encoded reply of a recent mutating call
 *
 * A mutating method is a vmd_idx_mutation: its request decoder, how it
 * validates and applies each item, and the kind of its reply. One driver,
 * vmd_idx_mutate(), runs every one of them the same way:
 *
 *     decode the request (index_msg.c; -EINVAL/-EPROTO, nothing touched)
 *  -> read the header (corrupt: -EIO; other bits/partition: -EINVAL)
 *  -> op id among the header's last 16? the stored reply stands, change nothing
 *  -> read the entries of the request's fps (omap_get_keys, pages of <= 1024)
 *  -> validate every item against them (the whole call fails or none of it)
 *  -> apply each item: the entry's new value, the counters, the reply item
 *  -> encode the reply
 *  -> write: one omap_set (changed entries + "~op.<id>" = reply), removals
 *     (deleted entries, the evicted oldest op), the new header.
 *
 * The OSD applies a method's writes only when it returns >= 0, and a method
 * never sees its own writes, so the state is read once and written once.
 */
#ifndef VMD_INDEX_PARTITION_H
#define VMD_INDEX_PARTITION_H

#include <stddef.h>
#include <stdint.h>

#include "format/index.h"
#include "format/index_msg.h"
#include "methods/cls_obj.h"

/* What the commit does with an item's entry. */
enum { VMD_IDX_KEEP = 0, VMD_IDX_PUT = 1, VMD_IDX_DEL = 2 };

typedef struct vmd_idx_mutation vmd_idx_mutation;

/* One mutating call on a partition: the request's fps and the entries they name. */
typedef struct vmd_idx_call {
    vmd_obj *obj;
    const vmd_idx_mutation *m;
    const void *req;  /* the decoded request */
    const char *vm;   /* the VM the request names, or NULL */
    uint64_t vm_hash; /* vmd_vm_hash of vm */
    vmd_idx_header h;
    int fresh;            /* the object has no header yet (1: no object, 2: empty omap) */
    const uint8_t *items; /* request items; each begins with its vmd_fp */
    size_t stride;        /* bytes per item */
    uint32_t n;           /* items */
    vmd_idx_entry *e;     /* per item: the entry (read, then changed in place) */
    uint8_t *found;       /* per item: 1 when the entry existed */
    uint8_t *action;      /* per item: VMD_IDX_KEEP, _PUT or _DEL */
} vmd_idx_call;

/* What a mutating request holds for the driver: its op id, target and items. */
typedef struct vmd_idx_batch {
    const uint8_t *op_id;
    const vmd_idx_target *t;
    const char *vm;    /* the VM it names (register, release), or NULL */
    const void *items; /* each begins with its vmd_fp */
    size_t stride;
    uint32_t count;
} vmd_idx_batch;

/* A mutating request type: its size, decoder (describing it in *b) and release. */
typedef struct vmd_idx_request {
    size_t size;
    int (*decode)(void *req, const uint8_t *in, size_t inlen, vmd_idx_batch *b);
    void (*release)(void *req);
} vmd_idx_request;

struct vmd_idx_mutation {
    const char *method;
    int variant;                /* a constant of the method's own (index_popular.c: direction) */
    const vmd_idx_request *req; /* what it takes (VMD_IDX_REQUEST) */
    vmd_idx_reply_kind reply;   /* what it replies */
    uint8_t max_status;         /* STATUS replies: the highest status the method replies */
    /* Checks every item against its entry before anything changes; NULL: nothing to check. */
    int (*validate)(const vmd_idx_call *c);
    /*
     * Applies item i: changes c->e[i], sets c->action[i], accounts the change
     * (vmd_idx_call_account) and fills the reply item. 0 or -EIO.
     */
    int (*apply)(vmd_idx_call *c, uint32_t i, void *reply_item);
};

/*
 * Runs a mutating method from its raw request (see the top of this file).
 * No output: *out and *outlen are left alone; the reply is stored for idx_reply.
 */
int vmd_idx_mutate(vmd_obj *obj, const vmd_idx_mutation *m, const uint8_t *in, size_t inlen,
                   uint8_t **out, size_t *outlen);

/* The fingerprint that begins item i of the request. */
const vmd_fp *vmd_idx_call_fp(const vmd_idx_call *c, uint32_t i);

/* The request's item i (stride bytes each). */
const void *vmd_idx_call_item(const vmd_idx_call *c, uint32_t i);

/* Replaces the contribution of item i's entry (old value: old) to the counters; 0 or -EIO. */
int vmd_idx_call_account(vmd_idx_call *c, uint32_t i, const vmd_idx_entry *old);

/*
 * Reads and validates a partition header into *h. A partition without one
 * gets a fresh header for t when `create` (mutating methods), else -ENOENT.
 * Corrupt: -EIO (logged). For other bits or another partition: -EINVAL.
 */
int vmd_idx_header_load(vmd_obj *obj, const char *method, const vmd_idx_target *t, int create,
                        vmd_idx_header *h, int *fresh);

/* Index of op_id among the header's recent ops, or -1. */
int vmd_idx_op_find(const vmd_idx_header *h, const uint8_t *op_id);

/* Logs a request that failed to decode and returns err. */
int vmd_idx_bad_request(const char *method, int err, size_t inlen);

static inline int vmd_idx_is_popular(const vmd_idx_entry *e)
{
    return (e->flags & VMD_IDX_ENTRY_POPULAR) != 0;
}

/*
 * Defines `static const vmd_idx_request prefix##_request` for request type
 * vmd_idx_<msg> (decoded by vmd_idx_<msg>_decode, freed by vmd_idx_<msg>_free)
 * whose items are the array r->arr and whose VM is the expression vm_of (of
 * r; NULL for none).
 */
#define VMD_IDX_REQUEST(prefix, msg, arr, vm_of)                                                   \
    static int prefix##_decode(void *req, const uint8_t *in, size_t inlen, vmd_idx_batch *b)       \
    {                                                                                              \
        vmd_idx_##msg *r = req;                                                                    \
        int err = vmd_idx_##msg##_decode(r, in, inlen);                                            \
        b->op_id = r->op_id;                                                                       \
        b->t = &r->t;                                                                              \
        b->vm = vm_of;                                                                             \
        b->items = r->arr;                                                                         \
        b->stride = sizeof(r->arr[0]);                                                             \
        b->count = r->count;                                                                       \
        return err;                                                                                \
    }                                                                                              \
    static void prefix##_release(void *req)                                                        \
    {                                                                                              \
        vmd_idx_##msg##_free(req);                                                                 \
    }                                                                                              \
    static const vmd_idx_request prefix##_request = {sizeof(vmd_idx_##msg), prefix##_decode,       \
                                                     prefix##_release}

#endif /* VMD_INDEX_PARTITION_H */
