/*
 * index_msg.c - the index-partition messages, as tables for the message codec.
 *
 * Compiled into the class and into libvmdedup (index_msg.h has the
 * contract, docs/format.md the layouts). Each message below is one table of
 * rows in wire order (msg_codec.h); the one encoder and validating decoder
 * of msg_codec.c do the work, and the public functions of index_msg.h are
 * thin wrappers around them. Every message is an envelope of version 1:
 *
 *     request   op_id[16] target(bits u8, partition u16) [vm str8] count u32  count x item
 *     reply     count u32 [more u8]  count x item
 *
 * Rules that one row cannot state (a fingerprint cursor inside the
 * partition, the statuses a given method replies, the order of idx_top
 * entries, consistent counters) are the check functions of the tables.
 */
#include "format/index_msg.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "format/msg_codec.h"

int vmd_idx_top_order(uint32_t vm_count_a, const vmd_fp *a, uint32_t vm_count_b, const vmd_fp *b)
{
    if (vm_count_a != vm_count_b)
        return vm_count_a > vm_count_b ? -1 : 1;
    return vmd_fp_cmp(a, b);
}

void vmd_idx_top_req_init(vmd_idx_top_req *r, vmd_idx_target t, uint32_t min_vms, uint32_t max,
                          const vmd_idx_top_item *after)
{
    memset(r, 0, sizeof(*r));
    r->t = t;
    r->min_vms = min_vms;
    r->max = max;
    if (after) {
        r->has_cursor = 1;
        r->cursor_vm_count = after->e.vm_count;
        r->cursor_fp = after->fp;
    }
}

/* A table of rows for a message of struct T: version 1, no bytes after the rows. */
#define IDX_DESC(T, rows, target, chk, dchk)                                                       \
    {                                                                                              \
        rows, VMD_MSG_NROWS(rows), sizeof(T), VMD_IDX_MSG_V, 1, target, chk, dchk                  \
    }
/* Declares table `name` for struct T: its rows (the variadic part), then its descriptor. */
#define IDX_MSG(name, T, target, chk, dchk, ...)                                                   \
    static const vmd_mf name##_rows[] = {__VA_ARGS__};                                             \
    static const vmd_msg_desc name = IDX_DESC(T, name##_rows, target, chk, dchk)
#define TARGET_AT(T, m) ((int32_t)offsetof(T, m))
#define NO_TARGET       (-1)

/* The tables, one row a line. */
/* clang-format off */

/* ---- items ---- */

IDX_MSG(fp_item, vmd_fp, NO_TARGET, NULL, NULL, VMD_MF_SCALAR(VMD_MFK_BYTES, VMD_FP_SIZE));

IDX_MSG(u8_item, uint8_t, NO_TARGET, NULL, NULL, VMD_MF_SCALAR(VMD_MFK_U8, 1));

IDX_MSG(u64_item, uint64_t, NO_TARGET, NULL, NULL, VMD_MF_SCALAR(VMD_MFK_U64, 8));

IDX_MSG(reg_item, vmd_idx_reg_item, NO_TARGET, NULL, NULL,
        VMD_MF_BYTES(vmd_idx_reg_item, fp),
        VMD_MF_U32_IN(vmd_idx_reg_item, chunk_len, 1, VMD_CHUNK_MAX),
        VMD_MF_LOC(vmd_idx_reg_item, loc));

IDX_MSG(reg_result, vmd_idx_reg_result, NO_TARGET, NULL, NULL,
        VMD_MF_U8_IN(vmd_idx_reg_result, status, VMD_IDX_NEW, VMD_IDX_POPULAR),
        VMD_MF_U32(vmd_idx_reg_result, vm_count),
        VMD_MF_WHEN(vmd_idx_reg_result, status, VMD_IDX_POPULAR, 1),
        VMD_MF_LOC(vmd_idx_reg_result, pop));

IDX_MSG(ref_item, vmd_idx_ref_item, NO_TARGET, NULL, NULL,
        VMD_MF_BYTES(vmd_idx_ref_item, fp),
        VMD_MF_I32_IN(vmd_idx_ref_item, delta, VMD_MF_NONZERO,
                      -VMD_IDX_DELTA_MAX, VMD_IDX_DELTA_MAX));

IDX_MSG(mark_item, vmd_idx_mark_item, NO_TARGET, NULL, NULL,
        VMD_MF_BYTES(vmd_idx_mark_item, fp),
        VMD_MF_LOC(vmd_idx_mark_item, pop));

/* An idx_top entry: the index entry's fields without its VM hashes. */
IDX_MSG(top_item, vmd_idx_top_item, NO_TARGET, NULL, NULL,
        VMD_MF_BYTES(vmd_idx_top_item, fp),
        VMD_MF_U32(vmd_idx_top_item, e.vm_count),
        VMD_MF_U32(vmd_idx_top_item, e.chunk_len),
        VMD_MF_U8(vmd_idx_top_item, e.flags),
        VMD_MF_U64(vmd_idx_top_item, e.pop_refs),
        VMD_MF_LOC(vmd_idx_top_item, e.home),
        VMD_MF_STR8(vmd_idx_top_item, e.home_vm, 0),
        VMD_MF_LOC(vmd_idx_top_item, e.pop));

/* ---- requests ---- */

/* op id, target, [VM], then a batch of 1 .. 65,536 items in fp order. */
#define MUTATION_HEAD(T) VMD_MF_BYTES(T, op_id), VMD_MF_TARGET(T, t)
#define BATCH(T, ptr, item)                                                                        \
    VMD_MF_U32(T, count), VMD_MF_ITEMS(T, count, ptr, 1, VMD_IDX_BATCH_MAX, VMD_MF_FP_ORDER, item)

IDX_MSG(register_req, vmd_idx_register_req, TARGET_AT(vmd_idx_register_req, t), NULL, NULL,
        MUTATION_HEAD(vmd_idx_register_req),
        VMD_MF_STR8(vmd_idx_register_req, vm, VMD_MF_VM_ID),
        BATCH(vmd_idx_register_req, items, reg_item));

IDX_MSG(release_req, vmd_idx_release_req, TARGET_AT(vmd_idx_release_req, t), NULL, NULL,
        MUTATION_HEAD(vmd_idx_release_req),
        VMD_MF_STR8(vmd_idx_release_req, vm, VMD_MF_VM_ID),
        BATCH(vmd_idx_release_req, fps, fp_item));

IDX_MSG(unmark_req, vmd_idx_unmark_req, TARGET_AT(vmd_idx_unmark_req, t), NULL, NULL,
        MUTATION_HEAD(vmd_idx_unmark_req),
        BATCH(vmd_idx_unmark_req, fps, fp_item));

IDX_MSG(ref_req, vmd_idx_ref_req, TARGET_AT(vmd_idx_ref_req, t), NULL, NULL,
        MUTATION_HEAD(vmd_idx_ref_req),
        BATCH(vmd_idx_ref_req, items, ref_item));

IDX_MSG(mark_req, vmd_idx_mark_req, TARGET_AT(vmd_idx_mark_req, t), NULL, NULL,
        MUTATION_HEAD(vmd_idx_mark_req),
        BATCH(vmd_idx_mark_req, items, mark_item));

/* A page's cursor names an fp of the partition. */
static int top_req_check(const void *msg, const void *arg)
{
    const vmd_idx_top_req *r = msg;
    (void)arg;
    return !r->has_cursor || vmd_fp_partition(&r->cursor_fp, r->t.bits) == r->t.partition;
}

IDX_MSG(top_req, vmd_idx_top_req, NO_TARGET, top_req_check, NULL,
        VMD_MF_TARGET(vmd_idx_top_req, t),
        VMD_MF_U32(vmd_idx_top_req, min_vms),
        VMD_MF_U32_IN(vmd_idx_top_req, max, 1, VMD_IDX_TOP_MAX),
        VMD_MF_U8_IN(vmd_idx_top_req, has_cursor, 0, 1),
        VMD_MF_WHEN(vmd_idx_top_req, has_cursor, 1, 2),
        VMD_MF_U32(vmd_idx_top_req, cursor_vm_count),
        VMD_MF_BYTES(vmd_idx_top_req, cursor_fp));

IDX_MSG(reply_req, vmd_idx_reply_req, NO_TARGET, NULL, NULL,
        VMD_MF_TARGET(vmd_idx_reply_req, t),
        VMD_MF_BYTES(vmd_idx_reply_req, op_id));

IDX_MSG(stats_req, vmd_idx_stats_req, NO_TARGET, NULL, NULL, VMD_MF_TARGET(vmd_idx_stats_req, t));

/* ---- replies ---- */

#define REPLY_BATCH(T, ptr, item)                                                                  \
    VMD_MF_U32(T, count), VMD_MF_ITEMS(T, count, ptr, 1, VMD_IDX_BATCH_MAX, 0, item)

IDX_MSG(register_reply, vmd_idx_register_reply, NO_TARGET, NULL, NULL,
        REPLY_BATCH(vmd_idx_register_reply, items, reg_result));

/* Every status is one the method replies; arg: its highest (uint8_t). */
static int status_reply_check(const void *msg, const void *arg)
{
    const vmd_idx_status_reply *r = msg;
    uint8_t max = *(const uint8_t *)arg;
    uint32_t i;

    for (i = 0; i < r->count; i++)
        if (r->status[i] > max)
            return 0;
    return 1;
}

IDX_MSG(status_reply, vmd_idx_status_reply, NO_TARGET, status_reply_check, NULL,
        REPLY_BATCH(vmd_idx_status_reply, status, u8_item));

IDX_MSG(ref_reply, vmd_idx_ref_reply, NO_TARGET, NULL, NULL,
        REPLY_BATCH(vmd_idx_ref_reply, pop_refs, u64_item));

/* Decoded entries are valid, in top order without repeats (the class sends them so). */
static int top_reply_check(const void *msg, const void *arg)
{
    const vmd_idx_top_reply *r = msg;
    const vmd_idx_top_item *it = r->items;
    uint32_t i;

    (void)arg;
    for (i = 0; i < r->count; i++) {
        if (vmd_idx_entry_check(&it[i].e))
            return 0;
        if (i > 0 && vmd_idx_top_order(it[i - 1].e.vm_count, &it[i - 1].fp, it[i].e.vm_count,
                                       &it[i].fp) >= 0)
            return 0;
    }
    return 1;
}

IDX_MSG(top_reply, vmd_idx_top_reply, NO_TARGET, NULL, top_reply_check,
        VMD_MF_U32(vmd_idx_top_reply, count),
        VMD_MF_U8_IN(vmd_idx_top_reply, more, 0, 1),
        VMD_MF_ITEMS(vmd_idx_top_reply, count, items, 0, VMD_IDX_TOP_MAX, 0, top_item));

/* Popular parts never exceed the wholes they belong to. */
static int stats_reply_check(const void *msg, const void *arg)
{
    const vmd_idx_counters *c = msg;
    (void)arg;
    return c->popular_entries <= c->entries && c->popular_bytes <= c->bytes;
}

IDX_MSG(stats_reply, vmd_idx_counters, NO_TARGET, NULL, stats_reply_check,
        VMD_MF_U64(vmd_idx_counters, entries),
        VMD_MF_U64(vmd_idx_counters, holdings),
        VMD_MF_U64(vmd_idx_counters, popular_entries),
        VMD_MF_U64(vmd_idx_counters, bytes),
        VMD_MF_U64(vmd_idx_counters, popular_bytes),
        VMD_MF_U64(vmd_idx_counters, popular_refs));

/* clang-format on */

/* ---- the functions of index_msg.h ---- */

/* Defines vmd_idx_<name>_encode and vmd_idx_<name>_decode over table `desc`. */
#define IDX_CODEC(name, T, desc)                                                                   \
    int vmd_idx_##name##_encode(const T *r, uint8_t **out, size_t *outlen)                         \
    {                                                                                              \
        return vmd_msg_encode(&desc, r, NULL, out, outlen);                                        \
    }                                                                                              \
    int vmd_idx_##name##_decode(T *out, const uint8_t *buf, size_t len)                            \
    {                                                                                              \
        return vmd_msg_decode(&desc, out, NULL, buf, len);                                         \
    }

/* Defines vmd_idx_<name>_free for a message that owns an array. */
#define IDX_FREE(name, T, desc)                                                                    \
    void vmd_idx_##name##_free(T *r)                                                               \
    {                                                                                              \
        vmd_msg_free(&desc, r);                                                                    \
    }

IDX_CODEC(register_req, vmd_idx_register_req, register_req)
IDX_CODEC(release_req, vmd_idx_release_req, release_req)
IDX_CODEC(ref_req, vmd_idx_ref_req, ref_req)
IDX_CODEC(mark_req, vmd_idx_mark_req, mark_req)
IDX_CODEC(unmark_req, vmd_idx_unmark_req, unmark_req)
IDX_CODEC(top_req, vmd_idx_top_req, top_req)
IDX_CODEC(stats_req, vmd_idx_stats_req, stats_req)
IDX_CODEC(reply_req, vmd_idx_reply_req, reply_req)
IDX_CODEC(register_reply, vmd_idx_register_reply, register_reply)
IDX_CODEC(ref_reply, vmd_idx_ref_reply, ref_reply)
IDX_CODEC(top_reply, vmd_idx_top_reply, top_reply)
IDX_CODEC(stats_reply, vmd_idx_counters, stats_reply)

IDX_FREE(register_req, vmd_idx_register_req, register_req)
IDX_FREE(release_req, vmd_idx_release_req, release_req)
IDX_FREE(ref_req, vmd_idx_ref_req, ref_req)
IDX_FREE(mark_req, vmd_idx_mark_req, mark_req)
IDX_FREE(unmark_req, vmd_idx_unmark_req, unmark_req)
IDX_FREE(register_reply, vmd_idx_register_reply, register_reply)
IDX_FREE(status_reply, vmd_idx_status_reply, status_reply)
IDX_FREE(ref_reply, vmd_idx_ref_reply, ref_reply)
IDX_FREE(top_reply, vmd_idx_top_reply, top_reply)

/* The status reply also takes the highest status its method replies. */
int vmd_idx_status_reply_encode(const vmd_idx_status_reply *r, uint8_t max_status, uint8_t **out,
                                size_t *outlen)
{
    return vmd_msg_encode(&status_reply, r, &max_status, out, outlen);
}

int vmd_idx_status_reply_decode(vmd_idx_status_reply *out, uint8_t max_status, const uint8_t *buf,
                                size_t len)
{
    return vmd_msg_decode(&status_reply, out, &max_status, buf, len);
}

/* ---- the replies of the mutating methods, by kind ---- */

/* The three reply structs share this layout: a count, then the array. */
typedef struct batch_reply {
    uint32_t count;
    void *items;
} batch_reply;

#define SAME_LAYOUT(T, arr)                                                                        \
    VMD_STATIC_ASSERT(sizeof(T) == sizeof(batch_reply) &&                                          \
                          offsetof(T, count) == offsetof(batch_reply, count) &&                    \
                          offsetof(T, arr) == offsetof(batch_reply, items),                        \
                      #T " is laid out as batch_reply")
SAME_LAYOUT(vmd_idx_register_reply, items);
SAME_LAYOUT(vmd_idx_status_reply, status);
SAME_LAYOUT(vmd_idx_ref_reply, pop_refs);

static const struct {
    const vmd_msg_desc *desc;
    size_t item_size;
} reply_kinds[] = {
    [VMD_IDX_REPLY_REGISTER] = {&register_reply, sizeof(vmd_idx_reg_result)},
    [VMD_IDX_REPLY_STATUS] = {&status_reply, sizeof(uint8_t)},
    [VMD_IDX_REPLY_REF] = {&ref_reply, sizeof(uint64_t)},
};

static const vmd_msg_desc *reply_desc(vmd_idx_reply_kind kind)
{
    return (unsigned)kind < sizeof(reply_kinds) / sizeof(reply_kinds[0]) ? reply_kinds[kind].desc
                                                                         : NULL;
}

size_t vmd_idx_reply_item_size(vmd_idx_reply_kind kind)
{
    return reply_desc(kind) ? reply_kinds[kind].item_size : 0;
}

int vmd_idx_reply_encode(vmd_idx_reply_kind kind, uint8_t max_status, uint32_t count,
                         const void *items, uint8_t **out, size_t *outlen)
{
    const vmd_msg_desc *d = reply_desc(kind);
    batch_reply r;

    if (!d)
        return -EINVAL;
    r.count = count;
    r.items = (void *)items; /* only read */
    return vmd_msg_encode(d, &r, &max_status, out, outlen);
}

int vmd_idx_reply_decode(vmd_idx_reply_kind kind, uint8_t max_status, const uint8_t *buf,
                         size_t len, uint32_t *count, void **items)
{
    const vmd_msg_desc *d = reply_desc(kind);
    batch_reply r;
    int err;

    *count = 0;
    *items = NULL;
    if (!d)
        return -EINVAL;
    err = vmd_msg_decode(d, &r, &max_status, buf, len);
    if (err)
        return err; /* the decoder freed what it had */
    *count = r.count;
    *items = r.items;
    return 0;
}

int vmd_idx_reply_check(vmd_idx_reply_kind kind, uint8_t max_status, const uint8_t *buf, size_t len,
                        uint32_t count)
{
    uint32_t n;
    void *items;
    int err = vmd_idx_reply_decode(kind, max_status, buf, len, &n, &items);

    if (!err && n != count)
        err = -EINVAL;
    free(items);
    return err;
}

/* ---- the requests of the mutating methods, by kind ---- */

/* The five request structs share one of these layouts: with a VM id, or without. */
typedef struct vm_batch_req {
    uint8_t op_id[VMD_OP_ID_SIZE];
    vmd_idx_target t;
    char vm[VMD_VM_ID_MAX + 1];
    uint32_t count;
    void *items;
} vm_batch_req;

typedef struct batch_req {
    uint8_t op_id[VMD_OP_ID_SIZE];
    vmd_idx_target t;
    uint32_t count;
    void *items;
} batch_req;

#define REQ_LAYOUT(T, B, arr)                                                                      \
    VMD_STATIC_ASSERT(sizeof(T) == sizeof(B) && offsetof(T, t) == offsetof(B, t) &&                \
                          offsetof(T, count) == offsetof(B, count) &&                              \
                          offsetof(T, arr) == offsetof(B, items),                                  \
                      #T " is laid out as " #B)
REQ_LAYOUT(vmd_idx_register_req, vm_batch_req, items);
REQ_LAYOUT(vmd_idx_release_req, vm_batch_req, fps);
REQ_LAYOUT(vmd_idx_ref_req, batch_req, items);
REQ_LAYOUT(vmd_idx_mark_req, batch_req, items);
REQ_LAYOUT(vmd_idx_unmark_req, batch_req, fps);

static const struct {
    const vmd_msg_desc *desc;
    int has_vm;
} batch_kinds[] = {
    [VMD_IDX_BATCH_REGISTER] = {&register_req, 1}, [VMD_IDX_BATCH_RELEASE] = {&release_req, 1},
    [VMD_IDX_BATCH_REF] = {&ref_req, 0},           [VMD_IDX_BATCH_MARK] = {&mark_req, 0},
    [VMD_IDX_BATCH_UNMARK] = {&unmark_req, 0},
};

/* A request with a VM id: checked for length here, for its characters by the encoder. */
static int vm_batch_encode(const vmd_msg_desc *d, const uint8_t *op_id, vmd_idx_target t,
                           const char *vm, uint32_t count, const void *items, uint8_t **out,
                           size_t *outlen)
{
    vm_batch_req r;

    if (!vm || strlen(vm) > VMD_VM_ID_MAX)
        return -EINVAL;
    memset(&r, 0, sizeof(r));
    memcpy(r.op_id, op_id, VMD_OP_ID_SIZE);
    r.t = t;
    strcpy(r.vm, vm);
    r.count = count;
    r.items = (void *)items; /* only read */
    return vmd_msg_encode(d, &r, NULL, out, outlen);
}

int vmd_idx_batch_req_encode(vmd_idx_batch_kind kind, const uint8_t *op_id, vmd_idx_target t,
                             const char *vm, uint32_t count, const void *items, uint8_t **out,
                             size_t *outlen)
{
    batch_req r;

    if ((unsigned)kind >= sizeof(batch_kinds) / sizeof(batch_kinds[0]))
        return -EINVAL;
    if (batch_kinds[kind].has_vm)
        return vm_batch_encode(batch_kinds[kind].desc, op_id, t, vm, count, items, out, outlen);
    memcpy(r.op_id, op_id, VMD_OP_ID_SIZE);
    r.t = t;
    r.count = count;
    r.items = (void *)items; /* only read */
    return vmd_msg_encode(batch_kinds[kind].desc, &r, NULL, out, outlen);
}
