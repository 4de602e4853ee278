/*
 * index_msg.c - encoders and validating decoders of the index-partition messages.
 *
 * Compiled into the class and into libvmdedup (see idx_ops.h for the
 * contract, docs/format.md for the layouts). Every message is
 *
 *     envelope(v1) | fields ... | count:u32 | count x item
 *
 * Decoders follow one line: open the envelope -> read the fixed fields ->
 * read and bound the count (it must fit in what remains of the input before
 * anything is allocated, so a short hostile message never costs more than
 * its own size) -> read the items -> close the envelope (no bytes left in a
 * v1 payload) -> check the rules that span items (ascending fps inside the
 * partition). A failed decode leaves nothing allocated.
 */
#include "format/index_msg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "format/wire.h"

/* Bytes one item of each message takes on the wire. */
#define REG_ITEM_WIRE    (VMD_FP_SIZE + 4 + 8 + 4)
#define REF_ITEM_WIRE    (VMD_FP_SIZE + 4)
#define MARK_ITEM_WIRE   (VMD_FP_SIZE + 8 + 4)
#define REG_RESULT_MIN   (1 + 4)
#define REG_RESULT_MAX   (1 + 4 + 8 + 4)
#define TOP_ITEM_MIN     (VMD_FP_SIZE + 4 + 4 + 1 + 8 + 8 + 4 + 1 + 8 + 4)
#define TOP_ITEM_MAX     (TOP_ITEM_MIN + VMD_VM_ID_MAX)
#define TARGET_WIRE      3
#define VM_WIRE_MAX      (1 + VMD_VM_ID_MAX)
#define REQ_FIXED_MAX    (VMD_WIRE_ENVELOPE_SIZE + VMD_OP_ID_SIZE + TARGET_WIRE + VM_WIRE_MAX + 4)
#define REPLY_FIXED_MAX  (VMD_WIRE_ENVELOPE_SIZE + 4 + 1)
#define STATS_REPLY_SIZE (VMD_WIRE_ENVELOPE_SIZE + 6 * 8)

int vmd_idx_top_order(uint32_t vm_count_a, const vmd_fp *a, uint32_t vm_count_b, const vmd_fp *b)
{
    if (vm_count_a != vm_count_b)
        return vm_count_a > vm_count_b ? -1 : 1;
    return vmd_fp_cmp(a, b);
}

/* ---- shared checks ---- */

static int target_valid(const vmd_idx_target *t)
{
    return t->bits <= VMD_IDX_MAX_BITS && t->partition < (1u << t->bits);
}

static int batch_count_valid(uint32_t n)
{
    return n >= 1 && n <= VMD_IDX_BATCH_MAX;
}

/*
 * Checks n fingerprints found at the start of items of `stride` bytes: strictly
 * ascending and all in partition t.
 */
static int fps_valid(const vmd_idx_target *t, const void *items, size_t stride, uint32_t n)
{
    const uint8_t *p = items;
    const vmd_fp *prev = NULL;
    uint32_t i;

    for (i = 0; i < n; i++, p += stride) {
        const vmd_fp *fp = (const vmd_fp *)p;
        if (vmd_fp_partition(fp, t->bits) != t->partition)
            return 0;
        if (prev && vmd_fp_cmp(prev, fp) >= 0)
            return 0;
        prev = fp;
    }
    return 1;
}

static int vm_valid(const char *vm)
{
    return vmd_vm_id_valid(vm, strnlen(vm, VMD_VM_ID_MAX + 1));
}

/* ---- encoding helpers ---- */

static int wr_open(vmd_wr *w, size_t cap, size_t *env)
{
    uint8_t *buf = malloc(cap ? cap : 1);
    if (!buf)
        return -ENOMEM;
    vmd_wr_init(w, buf, cap);
    *env = vmd_wr_begin(w, VMD_IDX_MSG_V, 1);
    return 0;
}

static int wr_close(vmd_wr *w, size_t env, uint8_t **out, size_t *outlen)
{
    int err;

    vmd_wr_end(w, env);
    if (w->err) {
        err = w->err;
        free(w->buf);
        return err;
    }
    *out = w->buf;
    *outlen = w->len;
    return 0;
}

static void put_target(vmd_wr *w, const vmd_idx_target *t)
{
    vmd_put_u8(w, t->bits);
    vmd_put_u16(w, t->partition);
}

static void put_loc(vmd_wr *w, const vmd_loc *l)
{
    vmd_put_u64(w, l->id);
    vmd_put_u32(w, l->slot);
}

/* ---- decoding helpers ---- */

/* Opens the single envelope that must make up buf. */
static int rd_open(vmd_rd *body, uint8_t *version, const uint8_t *buf, size_t len)
{
    vmd_rd r;
    int err;

    vmd_rd_init(&r, buf, len);
    err = vmd_rd_envelope(&r, VMD_IDX_MSG_V, version, body);
    if (err)
        return err;
    return vmd_rd_left(&r) == 0 ? 0 : -EINVAL;
}

/* Ends a decode: no short read, and nothing left over in a v1 payload. */
static int rd_close(const vmd_rd *body, uint8_t version)
{
    if (body->err)
        return body->err;
    if (version == VMD_IDX_MSG_V && vmd_rd_left(body) != 0)
        return -EINVAL;
    return 0;
}

static void get_target(vmd_rd *r, vmd_idx_target *t)
{
    t->bits = vmd_get_u8(r);
    t->partition = vmd_get_u16(r);
}

static void get_loc(vmd_rd *r, vmd_loc *l)
{
    l->id = vmd_get_u64(r);
    l->slot = vmd_get_u32(r);
}

/*
 * Reads a count in [lo, hi] whose items (at least item_min bytes each) fit in
 * what remains; returns 0 or -EINVAL.
 */
static int get_count(vmd_rd *r, uint32_t lo, uint32_t hi, size_t item_min, uint32_t *count)
{
    *count = vmd_get_u32(r);
    if (r->err)
        return r->err;
    if (*count < lo || *count > hi || (uint64_t)*count * item_min > vmd_rd_left(r))
        return -EINVAL;
    return 0;
}

/* calloc of n elements, never NULL for n = 0 on success. */
static void *alloc_items(uint32_t n, size_t size)
{
    return calloc(n ? n : 1, size);
}

/* Reads the op id, target and (when vm != NULL) VM of a mutating request. */
static int get_mutation_head(vmd_rd *r, uint8_t *op_id, vmd_idx_target *t, char *vm)
{
    vmd_get_bytes(r, op_id, VMD_OP_ID_SIZE);
    get_target(r, t);
    if (vm)
        vmd_get_str8(r, vm, VMD_VM_ID_MAX + 1);
    if (r->err)
        return r->err;
    if (!target_valid(t) || (vm && !vm_valid(vm)))
        return -EINVAL;
    return 0;
}

static void put_mutation_head(vmd_wr *w, const uint8_t *op_id, const vmd_idx_target *t,
                              const char *vm)
{
    vmd_put_bytes(w, op_id, VMD_OP_ID_SIZE);
    put_target(w, t);
    if (vm)
        vmd_put_str8(w, vm);
}

static void get_fp(vmd_rd *r, vmd_fp *fp)
{
    vmd_get_bytes(r, fp->b, VMD_FP_SIZE);
}

/* ---- idx_register ---- */

static int reg_item_valid(const vmd_idx_reg_item *it)
{
    return it->chunk_len >= 1 && it->chunk_len <= VMD_CHUNK_MAX;
}

static int register_req_valid(const vmd_idx_register_req *r)
{
    uint32_t i;
    if (!target_valid(&r->t) || !vm_valid(r->vm) || !batch_count_valid(r->count))
        return 0;
    for (i = 0; i < r->count; i++)
        if (!reg_item_valid(&r->items[i]))
            return 0;
    return fps_valid(&r->t, r->items, sizeof(r->items[0]), r->count);
}

int vmd_idx_register_req_encode(const vmd_idx_register_req *r, uint8_t **out, size_t *outlen)
{
    vmd_wr w;
    size_t env;
    uint32_t i;
    int err;

    if (!register_req_valid(r))
        return -EINVAL;
    err = wr_open(&w, REQ_FIXED_MAX + (size_t)r->count * REG_ITEM_WIRE, &env);
    if (err)
        return err;
    put_mutation_head(&w, r->op_id, &r->t, r->vm);
    vmd_put_u32(&w, r->count);
    for (i = 0; i < r->count; i++) {
        vmd_put_bytes(&w, r->items[i].fp.b, VMD_FP_SIZE);
        vmd_put_u32(&w, r->items[i].chunk_len);
        put_loc(&w, &r->items[i].loc);
    }
    return wr_close(&w, env, out, outlen);
}

int vmd_idx_register_req_decode(vmd_idx_register_req *out, const uint8_t *buf, size_t len)
{
    vmd_rd body;
    uint8_t version;
    uint32_t i;
    int err;

    memset(out, 0, sizeof(*out));
    err = rd_open(&body, &version, buf, len);
    if (!err)
        err = get_mutation_head(&body, out->op_id, &out->t, out->vm);
    if (!err)
        err = get_count(&body, 1, VMD_IDX_BATCH_MAX, REG_ITEM_WIRE, &out->count);
    if (err)
        goto error;
    out->items = alloc_items(out->count, sizeof(*out->items));
    if (!out->items) {
        err = -ENOMEM;
        goto error;
    }
    for (i = 0; i < out->count; i++) {
        get_fp(&body, &out->items[i].fp);
        out->items[i].chunk_len = vmd_get_u32(&body);
        get_loc(&body, &out->items[i].loc);
    }
    err = rd_close(&body, version);
    if (!err && !register_req_valid(out))
        err = -EINVAL;
    if (!err)
        return 0;
error:
    vmd_idx_register_req_free(out);
    return err;
}

void vmd_idx_register_req_free(vmd_idx_register_req *r)
{
    if (!r)
        return;
    free(r->items);
    memset(r, 0, sizeof(*r));
}

static int reg_result_valid(const vmd_idx_reg_result *x)
{
    return x->status <= VMD_IDX_POPULAR;
}

int vmd_idx_register_reply_encode(const vmd_idx_register_reply *r, uint8_t **out, size_t *outlen)
{
    vmd_wr w;
    size_t env;
    uint32_t i;
    int err;

    if (!batch_count_valid(r->count))
        return -EINVAL;
    for (i = 0; i < r->count; i++)
        if (!reg_result_valid(&r->items[i]))
            return -EINVAL;
    err = wr_open(&w, REPLY_FIXED_MAX + (size_t)r->count * REG_RESULT_MAX, &env);
    if (err)
        return err;
    vmd_put_u32(&w, r->count);
    for (i = 0; i < r->count; i++) {
        vmd_put_u8(&w, r->items[i].status);
        vmd_put_u32(&w, r->items[i].vm_count);
        if (r->items[i].status == VMD_IDX_POPULAR)
            put_loc(&w, &r->items[i].pop);
    }
    return wr_close(&w, env, out, outlen);
}

int vmd_idx_register_reply_decode(vmd_idx_register_reply *out, const uint8_t *buf, size_t len)
{
    vmd_rd body;
    uint8_t version;
    uint32_t i;
    int err;

    memset(out, 0, sizeof(*out));
    err = rd_open(&body, &version, buf, len);
    if (!err)
        err = get_count(&body, 1, VMD_IDX_BATCH_MAX, REG_RESULT_MIN, &out->count);
    if (err)
        goto error;
    out->items = alloc_items(out->count, sizeof(*out->items));
    if (!out->items) {
        err = -ENOMEM;
        goto error;
    }
    for (i = 0; i < out->count && !body.err; i++) {
        vmd_idx_reg_result *x = &out->items[i];
        x->status = vmd_get_u8(&body);
        x->vm_count = vmd_get_u32(&body);
        if (!reg_result_valid(x)) {
            err = -EINVAL;
            goto error;
        }
        if (x->status == VMD_IDX_POPULAR)
            get_loc(&body, &x->pop);
    }
    err = rd_close(&body, version);
    if (!err)
        return 0;
error:
    vmd_idx_register_reply_free(out);
    return err;
}

void vmd_idx_register_reply_free(vmd_idx_register_reply *r)
{
    if (!r)
        return;
    free(r->items);
    memset(r, 0, sizeof(*r));
}

/* ---- requests that are a list of fps: idx_release (with a VM), idx_unmark_popular ---- */

static int encode_fps_req(const uint8_t *op_id, const vmd_idx_target *t, const char *vm,
                          uint32_t count, const vmd_fp *fps, uint8_t **out, size_t *outlen)
{
    vmd_wr w;
    size_t env;
    uint32_t i;
    int err;

    if (!target_valid(t) || (vm && !vm_valid(vm)) || !batch_count_valid(count) ||
        !fps_valid(t, fps, sizeof(fps[0]), count))
        return -EINVAL;
    err = wr_open(&w, REQ_FIXED_MAX + (size_t)count * VMD_FP_SIZE, &env);
    if (err)
        return err;
    put_mutation_head(&w, op_id, t, vm);
    vmd_put_u32(&w, count);
    for (i = 0; i < count; i++)
        vmd_put_bytes(&w, fps[i].b, VMD_FP_SIZE);
    return wr_close(&w, env, out, outlen);
}

static int decode_fps_req(uint8_t *op_id, vmd_idx_target *t, char *vm, uint32_t *count,
                          vmd_fp **fps, const uint8_t *buf, size_t len)
{
    vmd_rd body;
    uint8_t version;
    uint32_t i;
    int err;

    *fps = NULL;
    err = rd_open(&body, &version, buf, len);
    if (!err)
        err = get_mutation_head(&body, op_id, t, vm);
    if (!err)
        err = get_count(&body, 1, VMD_IDX_BATCH_MAX, VMD_FP_SIZE, count);
    if (err)
        return err;
    *fps = alloc_items(*count, sizeof(**fps));
    if (!*fps)
        return -ENOMEM;
    for (i = 0; i < *count; i++)
        get_fp(&body, &(*fps)[i]);
    err = rd_close(&body, version);
    if (!err && !fps_valid(t, *fps, sizeof(**fps), *count))
        err = -EINVAL;
    return err;
}

int vmd_idx_release_req_encode(const vmd_idx_release_req *r, uint8_t **out, size_t *outlen)
{
    return encode_fps_req(r->op_id, &r->t, r->vm, r->count, r->fps, out, outlen);
}

int vmd_idx_release_req_decode(vmd_idx_release_req *out, const uint8_t *buf, size_t len)
{
    int err;

    memset(out, 0, sizeof(*out));
    err = decode_fps_req(out->op_id, &out->t, out->vm, &out->count, &out->fps, buf, len);
    if (err)
        vmd_idx_release_req_free(out);
    return err;
}

void vmd_idx_release_req_free(vmd_idx_release_req *r)
{
    if (!r)
        return;
    free(r->fps);
    memset(r, 0, sizeof(*r));
}

int vmd_idx_unmark_req_encode(const vmd_idx_unmark_req *r, uint8_t **out, size_t *outlen)
{
    return encode_fps_req(r->op_id, &r->t, NULL, r->count, r->fps, out, outlen);
}

int vmd_idx_unmark_req_decode(vmd_idx_unmark_req *out, const uint8_t *buf, size_t len)
{
    int err;

    memset(out, 0, sizeof(*out));
    err = decode_fps_req(out->op_id, &out->t, NULL, &out->count, &out->fps, buf, len);
    if (err)
        vmd_idx_unmark_req_free(out);
    return err;
}

void vmd_idx_unmark_req_free(vmd_idx_unmark_req *r)
{
    if (!r)
        return;
    free(r->fps);
    memset(r, 0, sizeof(*r));
}

/* ---- status replies: idx_release, idx_mark_popular, idx_unmark_popular ---- */

int vmd_idx_status_reply_encode(const vmd_idx_status_reply *r, uint8_t max_status, uint8_t **out,
                                size_t *outlen)
{
    vmd_wr w;
    size_t env;
    uint32_t i;
    int err;

    if (!batch_count_valid(r->count))
        return -EINVAL;
    for (i = 0; i < r->count; i++)
        if (r->status[i] > max_status)
            return -EINVAL;
    err = wr_open(&w, REPLY_FIXED_MAX + r->count, &env);
    if (err)
        return err;
    vmd_put_u32(&w, r->count);
    vmd_put_bytes(&w, r->status, r->count);
    return wr_close(&w, env, out, outlen);
}

int vmd_idx_status_reply_decode(vmd_idx_status_reply *out, uint8_t max_status, const uint8_t *buf,
                                size_t len)
{
    vmd_rd body;
    uint8_t version;
    uint32_t i;
    int err;

    memset(out, 0, sizeof(*out));
    err = rd_open(&body, &version, buf, len);
    if (!err)
        err = get_count(&body, 1, VMD_IDX_BATCH_MAX, 1, &out->count);
    if (err)
        goto error;
    out->status = alloc_items(out->count, 1);
    if (!out->status) {
        err = -ENOMEM;
        goto error;
    }
    vmd_get_bytes(&body, out->status, out->count);
    err = rd_close(&body, version);
    for (i = 0; !err && i < out->count; i++)
        if (out->status[i] > max_status)
            err = -EINVAL;
    if (!err)
        return 0;
error:
    vmd_idx_status_reply_free(out);
    return err;
}

void vmd_idx_status_reply_free(vmd_idx_status_reply *r)
{
    if (!r)
        return;
    free(r->status);
    memset(r, 0, sizeof(*r));
}

/* ---- idx_ref ---- */

static int delta_valid(int32_t d)
{
    return d != 0 && d >= -VMD_IDX_DELTA_MAX && d <= VMD_IDX_DELTA_MAX;
}

static int ref_req_valid(const vmd_idx_ref_req *r)
{
    uint32_t i;
    if (!target_valid(&r->t) || !batch_count_valid(r->count))
        return 0;
    for (i = 0; i < r->count; i++)
        if (!delta_valid(r->items[i].delta))
            return 0;
    return fps_valid(&r->t, r->items, sizeof(r->items[0]), r->count);
}

int vmd_idx_ref_req_encode(const vmd_idx_ref_req *r, uint8_t **out, size_t *outlen)
{
    vmd_wr w;
    size_t env;
    uint32_t i;
    int err;

    if (!ref_req_valid(r))
        return -EINVAL;
    err = wr_open(&w, REQ_FIXED_MAX + (size_t)r->count * REF_ITEM_WIRE, &env);
    if (err)
        return err;
    put_mutation_head(&w, r->op_id, &r->t, NULL);
    vmd_put_u32(&w, r->count);
    for (i = 0; i < r->count; i++) {
        vmd_put_bytes(&w, r->items[i].fp.b, VMD_FP_SIZE);
        vmd_put_u32(&w, (uint32_t)r->items[i].delta);
    }
    return wr_close(&w, env, out, outlen);
}

int vmd_idx_ref_req_decode(vmd_idx_ref_req *out, const uint8_t *buf, size_t len)
{
    vmd_rd body;
    uint8_t version;
    uint32_t i;
    int err;

    memset(out, 0, sizeof(*out));
    err = rd_open(&body, &version, buf, len);
    if (!err)
        err = get_mutation_head(&body, out->op_id, &out->t, NULL);
    if (!err)
        err = get_count(&body, 1, VMD_IDX_BATCH_MAX, REF_ITEM_WIRE, &out->count);
    if (err)
        goto error;
    out->items = alloc_items(out->count, sizeof(*out->items));
    if (!out->items) {
        err = -ENOMEM;
        goto error;
    }
    for (i = 0; i < out->count; i++) {
        get_fp(&body, &out->items[i].fp);
        out->items[i].delta = (int32_t)vmd_get_u32(&body);
    }
    err = rd_close(&body, version);
    if (!err && !ref_req_valid(out))
        err = -EINVAL;
    if (!err)
        return 0;
error:
    vmd_idx_ref_req_free(out);
    return err;
}

void vmd_idx_ref_req_free(vmd_idx_ref_req *r)
{
    if (!r)
        return;
    free(r->items);
    memset(r, 0, sizeof(*r));
}

int vmd_idx_ref_reply_encode(const vmd_idx_ref_reply *r, uint8_t **out, size_t *outlen)
{
    vmd_wr w;
    size_t env;
    uint32_t i;
    int err;

    if (!batch_count_valid(r->count))
        return -EINVAL;
    err = wr_open(&w, REPLY_FIXED_MAX + (size_t)r->count * 8, &env);
    if (err)
        return err;
    vmd_put_u32(&w, r->count);
    for (i = 0; i < r->count; i++)
        vmd_put_u64(&w, r->pop_refs[i]);
    return wr_close(&w, env, out, outlen);
}

int vmd_idx_ref_reply_decode(vmd_idx_ref_reply *out, const uint8_t *buf, size_t len)
{
    vmd_rd body;
    uint8_t version;
    uint32_t i;
    int err;

    memset(out, 0, sizeof(*out));
    err = rd_open(&body, &version, buf, len);
    if (!err)
        err = get_count(&body, 1, VMD_IDX_BATCH_MAX, 8, &out->count);
    if (err)
        goto error;
    out->pop_refs = alloc_items(out->count, sizeof(uint64_t));
    if (!out->pop_refs) {
        err = -ENOMEM;
        goto error;
    }
    for (i = 0; i < out->count; i++)
        out->pop_refs[i] = vmd_get_u64(&body);
    err = rd_close(&body, version);
    if (!err)
        return 0;
error:
    vmd_idx_ref_reply_free(out);
    return err;
}

void vmd_idx_ref_reply_free(vmd_idx_ref_reply *r)
{
    if (!r)
        return;
    free(r->pop_refs);
    memset(r, 0, sizeof(*r));
}

/* ---- idx_mark_popular ---- */

static int mark_req_valid(const vmd_idx_mark_req *r)
{
    return target_valid(&r->t) && batch_count_valid(r->count) &&
           fps_valid(&r->t, r->items, sizeof(r->items[0]), r->count);
}

int vmd_idx_mark_req_encode(const vmd_idx_mark_req *r, uint8_t **out, size_t *outlen)
{
    vmd_wr w;
    size_t env;
    uint32_t i;
    int err;

    if (!mark_req_valid(r))
        return -EINVAL;
    err = wr_open(&w, REQ_FIXED_MAX + (size_t)r->count * MARK_ITEM_WIRE, &env);
    if (err)
        return err;
    put_mutation_head(&w, r->op_id, &r->t, NULL);
    vmd_put_u32(&w, r->count);
    for (i = 0; i < r->count; i++) {
        vmd_put_bytes(&w, r->items[i].fp.b, VMD_FP_SIZE);
        put_loc(&w, &r->items[i].pop);
    }
    return wr_close(&w, env, out, outlen);
}

int vmd_idx_mark_req_decode(vmd_idx_mark_req *out, const uint8_t *buf, size_t len)
{
    vmd_rd body;
    uint8_t version;
    uint32_t i;
    int err;

    memset(out, 0, sizeof(*out));
    err = rd_open(&body, &version, buf, len);
    if (!err)
        err = get_mutation_head(&body, out->op_id, &out->t, NULL);
    if (!err)
        err = get_count(&body, 1, VMD_IDX_BATCH_MAX, MARK_ITEM_WIRE, &out->count);
    if (err)
        goto error;
    out->items = alloc_items(out->count, sizeof(*out->items));
    if (!out->items) {
        err = -ENOMEM;
        goto error;
    }
    for (i = 0; i < out->count; i++) {
        get_fp(&body, &out->items[i].fp);
        get_loc(&body, &out->items[i].pop);
    }
    err = rd_close(&body, version);
    if (!err && !mark_req_valid(out))
        err = -EINVAL;
    if (!err)
        return 0;
error:
    vmd_idx_mark_req_free(out);
    return err;
}

void vmd_idx_mark_req_free(vmd_idx_mark_req *r)
{
    if (!r)
        return;
    free(r->items);
    memset(r, 0, sizeof(*r));
}

/* ---- idx_top ---- */

static int top_req_valid(const vmd_idx_top_req *r)
{
    if (!target_valid(&r->t) || r->max < 1 || r->max > VMD_IDX_TOP_MAX || r->has_cursor > 1)
        return 0;
    return !r->has_cursor || vmd_fp_partition(&r->cursor_fp, r->t.bits) == r->t.partition;
}

int vmd_idx_top_req_encode(const vmd_idx_top_req *r, uint8_t **out, size_t *outlen)
{
    vmd_wr w;
    size_t env;
    int err;

    if (!top_req_valid(r))
        return -EINVAL;
    err = wr_open(&w, VMD_WIRE_ENVELOPE_SIZE + TARGET_WIRE + 4 + 4 + 1 + 4 + VMD_FP_SIZE, &env);
    if (err)
        return err;
    put_target(&w, &r->t);
    vmd_put_u32(&w, r->min_vms);
    vmd_put_u32(&w, r->max);
    vmd_put_u8(&w, r->has_cursor);
    if (r->has_cursor) {
        vmd_put_u32(&w, r->cursor_vm_count);
        vmd_put_bytes(&w, r->cursor_fp.b, VMD_FP_SIZE);
    }
    return wr_close(&w, env, out, outlen);
}

int vmd_idx_top_req_decode(vmd_idx_top_req *out, const uint8_t *buf, size_t len)
{
    vmd_rd body;
    uint8_t version;
    int err;

    memset(out, 0, sizeof(*out));
    err = rd_open(&body, &version, buf, len);
    if (err)
        return err;
    get_target(&body, &out->t);
    out->min_vms = vmd_get_u32(&body);
    out->max = vmd_get_u32(&body);
    out->has_cursor = vmd_get_u8(&body);
    if (out->has_cursor == 1) {
        out->cursor_vm_count = vmd_get_u32(&body);
        get_fp(&body, &out->cursor_fp);
    }
    err = rd_close(&body, version);
    if (!err && !top_req_valid(out))
        err = -EINVAL;
    return err;
}

int vmd_idx_top_reply_encode(const vmd_idx_top_reply *r, uint8_t **out, size_t *outlen)
{
    vmd_wr w;
    size_t env;
    uint32_t i;
    int err;

    if (r->count > VMD_IDX_TOP_MAX || r->more > 1)
        return -EINVAL;
    err = wr_open(&w, REPLY_FIXED_MAX + (size_t)r->count * TOP_ITEM_MAX, &env);
    if (err)
        return err;
    vmd_put_u32(&w, r->count);
    vmd_put_u8(&w, r->more);
    for (i = 0; i < r->count; i++) {
        const vmd_idx_entry *e = &r->items[i].e;
        vmd_put_bytes(&w, r->items[i].fp.b, VMD_FP_SIZE);
        vmd_put_u32(&w, e->vm_count);
        vmd_put_u32(&w, e->chunk_len);
        vmd_put_u8(&w, e->flags);
        vmd_put_u64(&w, e->pop_refs);
        put_loc(&w, &e->home);
        vmd_put_str8(&w, e->home_vm);
        put_loc(&w, &e->pop);
    }
    return wr_close(&w, env, out, outlen);
}

static void get_top_item(vmd_rd *r, vmd_idx_top_item *it)
{
    vmd_idx_entry *e = &it->e;
    get_fp(r, &it->fp);
    e->vm_count = vmd_get_u32(r);
    e->chunk_len = vmd_get_u32(r);
    e->flags = vmd_get_u8(r);
    e->pop_refs = vmd_get_u64(r);
    get_loc(r, &e->home);
    vmd_get_str8(r, e->home_vm, sizeof(e->home_vm));
    get_loc(r, &e->pop);
}

/* Items are valid entries, in top order without repeats. */
static int top_items_valid(const vmd_idx_top_item *items, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; i++) {
        if (vmd_idx_entry_check(&items[i].e))
            return 0;
        if (i > 0 && vmd_idx_top_order(items[i - 1].e.vm_count, &items[i - 1].fp,
                                       items[i].e.vm_count, &items[i].fp) >= 0)
            return 0;
    }
    return 1;
}

int vmd_idx_top_reply_decode(vmd_idx_top_reply *out, const uint8_t *buf, size_t len)
{
    vmd_rd body;
    uint8_t version;
    uint32_t i;
    int err;

    memset(out, 0, sizeof(*out));
    err = rd_open(&body, &version, buf, len);
    if (!err)
        err = get_count(&body, 0, VMD_IDX_TOP_MAX, TOP_ITEM_MIN, &out->count);
    if (err)
        goto error;
    out->more = vmd_get_u8(&body);
    out->items = alloc_items(out->count, sizeof(*out->items));
    if (!out->items) {
        err = -ENOMEM;
        goto error;
    }
    for (i = 0; i < out->count && !body.err; i++)
        get_top_item(&body, &out->items[i]);
    err = rd_close(&body, version);
    if (!err && (out->more > 1 || !top_items_valid(out->items, out->count)))
        err = -EINVAL;
    if (!err)
        return 0;
error:
    vmd_idx_top_reply_free(out);
    return err;
}

void vmd_idx_top_reply_free(vmd_idx_top_reply *r)
{
    if (!r)
        return;
    free(r->items);
    memset(r, 0, sizeof(*r));
}

/* ---- idx_reply ---- */

int vmd_idx_reply_req_encode(const vmd_idx_reply_req *r, uint8_t **out, size_t *outlen)
{
    vmd_wr w;
    size_t env;
    int err;

    if (!target_valid(&r->t))
        return -EINVAL;
    err = wr_open(&w, VMD_WIRE_ENVELOPE_SIZE + TARGET_WIRE + VMD_OP_ID_SIZE, &env);
    if (err)
        return err;
    put_target(&w, &r->t);
    vmd_put_bytes(&w, r->op_id, VMD_OP_ID_SIZE);
    return wr_close(&w, env, out, outlen);
}

int vmd_idx_reply_req_decode(vmd_idx_reply_req *out, const uint8_t *buf, size_t len)
{
    vmd_rd body;
    uint8_t version;
    int err;

    memset(out, 0, sizeof(*out));
    err = rd_open(&body, &version, buf, len);
    if (err)
        return err;
    get_target(&body, &out->t);
    vmd_get_bytes(&body, out->op_id, VMD_OP_ID_SIZE);
    err = rd_close(&body, version);
    if (!err && !target_valid(&out->t))
        err = -EINVAL;
    return err;
}

/* ---- idx_stats ---- */

int vmd_idx_stats_req_encode(const vmd_idx_stats_req *r, uint8_t **out, size_t *outlen)
{
    vmd_wr w;
    size_t env;
    int err;

    if (!target_valid(&r->t))
        return -EINVAL;
    err = wr_open(&w, VMD_WIRE_ENVELOPE_SIZE + TARGET_WIRE, &env);
    if (err)
        return err;
    put_target(&w, &r->t);
    return wr_close(&w, env, out, outlen);
}

int vmd_idx_stats_req_decode(vmd_idx_stats_req *out, const uint8_t *buf, size_t len)
{
    vmd_rd body;
    uint8_t version;
    int err;

    memset(out, 0, sizeof(*out));
    err = rd_open(&body, &version, buf, len);
    if (err)
        return err;
    get_target(&body, &out->t);
    err = rd_close(&body, version);
    if (!err && !target_valid(&out->t))
        err = -EINVAL;
    return err;
}

int vmd_idx_stats_reply_encode(const vmd_idx_counters *c, uint8_t **out, size_t *outlen)
{
    vmd_wr w;
    size_t env;
    int err;

    err = wr_open(&w, STATS_REPLY_SIZE, &env);
    if (err)
        return err;
    vmd_put_u64(&w, c->entries);
    vmd_put_u64(&w, c->holdings);
    vmd_put_u64(&w, c->popular_entries);
    vmd_put_u64(&w, c->bytes);
    vmd_put_u64(&w, c->popular_bytes);
    vmd_put_u64(&w, c->popular_refs);
    return wr_close(&w, env, out, outlen);
}

int vmd_idx_stats_reply_decode(vmd_idx_counters *out, const uint8_t *buf, size_t len)
{
    vmd_rd body;
    uint8_t version;
    int err;

    memset(out, 0, sizeof(*out));
    err = rd_open(&body, &version, buf, len);
    if (err)
        return err;
    out->entries = vmd_get_u64(&body);
    out->holdings = vmd_get_u64(&body);
    out->popular_entries = vmd_get_u64(&body);
    out->bytes = vmd_get_u64(&body);
    out->popular_bytes = vmd_get_u64(&body);
    out->popular_refs = vmd_get_u64(&body);
    err = rd_close(&body, version);
    if (!err && (out->popular_entries > out->entries || out->popular_bytes > out->bytes))
        err = -EINVAL;
    return err;
}
