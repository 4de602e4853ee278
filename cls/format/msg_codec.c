/*
 * msg_codec.c - one encoder and one validating decoder for every message table.
 *
 * See msg_codec.h for the kinds of rows and the order of the checks. A
 * message is the envelope of wire.h around its rows:
 *
 *     version u8 | compat u8 (1) | length u32 | row 0 | row 1 | ... (items inline)
 *
 * Each walk below is a loop over a table's rows with a switch on the kind;
 * a WHEN row makes the walk skip the rows it governs when its condition is
 * false, in every walk alike, so the encoder writes exactly what the decoder
 * reads. The rule of a row is checked by one function, row_valid(), on the
 * values the caller gives (encoding) or right after they are read
 * (decoding).
 *
 * Bounds. Every ITEMS row has a count range. Before its array is allocated
 * the decoder checks the count against that range and against the input:
 * count x (smallest wire size of an item) must not exceed the bytes left.
 * So a decode allocates at most hi items and never more than its input can
 * justify. Nothing recurses beyond one level (items hold no ITEMS rows).
 */
#include "format/msg_codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "format/wire.h"

/* Typed access to a member at offset `off` of the struct at `base`. */
#define AT(type, base, off)  ((type *)((uint8_t *)(base) + (off)))
#define CAT(type, base, off) ((const type *)((const uint8_t *)(base) + (off)))

/*
 * The array pointer of an ITEMS row. Its member is a T * for the item type
 * T, so it is copied out (and in) as bytes, not read through a uint8_t *
 * lvalue of another pointer type.
 */
static uint8_t *items_of(const vmd_mf *f, const void *base)
{
    uint8_t *p;
    memcpy(&p, CAT(uint8_t, base, f->off), sizeof(p));
    return p;
}

static void items_set(const vmd_mf *f, void *base, uint8_t *p)
{
    memcpy(AT(uint8_t, base, f->off), &p, sizeof(p));
}

/*
 * The fewest wire bytes of a row: all of them for fixed-size kinds, the
 * length byte of a STR8; 0 for WHEN and ITEMS (their rows are counted apart).
 */
static size_t row_min_size(const vmd_mf *f)
{
    static const uint8_t fixed[] = {
        [VMD_MFK_U8] = 1,  [VMD_MFK_U16] = 2,  [VMD_MFK_U32] = 4,    [VMD_MFK_U64] = 8,
        [VMD_MFK_I32] = 4, [VMD_MFK_STR8] = 1, [VMD_MFK_TARGET] = 3, [VMD_MFK_LOC] = 8 + 4,
    };
    if (f->kind == VMD_MFK_BYTES)
        return f->n;
    return f->kind < sizeof(fixed) ? fixed[f->kind] : 0;
}

/* Rows that a WHEN row at f skips, given the struct it reads. */
static uint32_t rows_skipped(const vmd_mf *f, const void *base)
{
    if (f->kind != VMD_MFK_WHEN)
        return 0;
    return *CAT(uint8_t, base, f->off) == (uint64_t)f->lo ? 0 : f->n;
}

/* The value of an integer row, widened; signed rows are sign-extended. */
static int64_t row_int(const vmd_mf *f, const void *base)
{
    switch (f->kind) {
    case VMD_MFK_U8:
        return *CAT(uint8_t, base, f->off);
    case VMD_MFK_U16:
        return *CAT(uint16_t, base, f->off);
    case VMD_MFK_U32:
        return *CAT(uint32_t, base, f->off);
    case VMD_MFK_I32:
        return *CAT(int32_t, base, f->off);
    default: /* U64: ranges above INT64_MAX are not expressible; compare as unsigned */
        return (int64_t)*CAT(uint64_t, base, f->off);
    }
}

static int int_valid(const vmd_mf *f, const void *base)
{
    int64_t v = row_int(f, base);

    if ((f->flags & VMD_MF_NONZERO) && v == 0)
        return 0;
    if (!(f->flags & VMD_MF_RANGE))
        return 1;
    if (f->kind == VMD_MFK_U64)
        return (uint64_t)v >= (uint64_t)f->lo && (uint64_t)v <= (uint64_t)f->hi;
    return v >= f->lo && v <= f->hi;
}

static int target_valid(const vmd_idx_target *t)
{
    return t->bits <= VMD_IDX_MAX_BITS && t->partition < (1u << t->bits);
}

static int str_valid(const vmd_mf *f, const void *base)
{
    const char *s = CAT(char, base, f->off);
    size_t n = strnlen(s, f->n);

    if (n >= f->n || n > 255)
        return 0;
    return !(f->flags & VMD_MF_VM_ID) || vmd_vm_id_valid(s, n);
}

/*
 * The fps that begin the count items at `items` (stride bytes apart): strictly
 * ascending and all in the partition of the message's target.
 */
static int fp_order_valid(const vmd_msg_desc *d, const void *msg, const void *items, size_t stride,
                          uint32_t count)
{
    const vmd_idx_target *t;
    const uint8_t *p = items;
    const vmd_fp *prev = NULL;
    uint32_t i;

    if (d->target_off < 0)
        return 0;
    t = CAT(vmd_idx_target, msg, d->target_off);
    for (i = 0; i < count; i++, p += stride) {
        const vmd_fp *fp = (const vmd_fp *)p;
        if (vmd_fp_partition(fp, t->bits) != t->partition)
            return 0;
        if (prev && vmd_fp_cmp(prev, fp) >= 0)
            return 0;
        prev = fp;
    }
    return 1;
}

/* The rule of one row (for ITEMS, the count's range only). */
static int row_valid(const vmd_mf *f, const void *base)
{
    switch (f->kind) {
    case VMD_MFK_U8:
    case VMD_MFK_U16:
    case VMD_MFK_U32:
    case VMD_MFK_U64:
    case VMD_MFK_I32:
        return int_valid(f, base);
    case VMD_MFK_STR8:
        return str_valid(f, base);
    case VMD_MFK_TARGET:
        return target_valid(CAT(vmd_idx_target, base, f->off));
    case VMD_MFK_ITEMS: {
        uint32_t count = *CAT(uint32_t, base, f->count_off);
        return count >= f->lo && count <= f->hi;
    }
    default:
        return 1;
    }
}

/* ---- encoding ---- */

/* Checks every row of table d over the struct at base; msg is the whole message. */
static int rows_check(const vmd_msg_desc *top, const vmd_msg_desc *d, const void *base,
                      const void *msg)
{
    uint32_t i, k;

    for (i = 0; i < d->nrows; i++) {
        const vmd_mf *f = &d->rows[i];
        if (!row_valid(f, base))
            return 0;
        if (f->kind == VMD_MFK_ITEMS) {
            const uint8_t *items = items_of(f, base);
            uint32_t count = *CAT(uint32_t, base, f->count_off);
            for (k = 0; k < count; k++)
                if (!rows_check(top, f->item, items + (size_t)k * f->n, msg))
                    return 0;
            if ((f->flags & VMD_MF_FP_ORDER) && !fp_order_valid(top, msg, items, f->n, count))
                return 0;
        }
        i += rows_skipped(f, base);
    }
    return 1;
}

/* Wire bytes of the rows of d over the struct at base. */
static size_t rows_size(const vmd_msg_desc *d, const void *base)
{
    size_t total = 0;
    uint32_t i, k;

    for (i = 0; i < d->nrows; i++) {
        const vmd_mf *f = &d->rows[i];
        total += row_min_size(f);
        if (f->kind == VMD_MFK_STR8)
            total += strnlen(CAT(char, base, f->off), f->n);
        if (f->kind == VMD_MFK_ITEMS) {
            const uint8_t *items = items_of(f, base);
            uint32_t count = *CAT(uint32_t, base, f->count_off);
            for (k = 0; k < count; k++)
                total += rows_size(f->item, items + (size_t)k * f->n);
        }
        i += rows_skipped(f, base);
    }
    return total;
}

static void row_put(vmd_wr *w, const vmd_mf *f, const void *base)
{
    switch (f->kind) {
    case VMD_MFK_U8:
        vmd_put_u8(w, *CAT(uint8_t, base, f->off));
        break;
    case VMD_MFK_U16:
        vmd_put_u16(w, *CAT(uint16_t, base, f->off));
        break;
    case VMD_MFK_U32:
        vmd_put_u32(w, *CAT(uint32_t, base, f->off));
        break;
    case VMD_MFK_I32:
        vmd_put_u32(w, (uint32_t)*CAT(int32_t, base, f->off));
        break;
    case VMD_MFK_U64:
        vmd_put_u64(w, *CAT(uint64_t, base, f->off));
        break;
    case VMD_MFK_BYTES:
        vmd_put_bytes(w, CAT(uint8_t, base, f->off), f->n);
        break;
    case VMD_MFK_STR8:
        vmd_put_str8(w, CAT(char, base, f->off));
        break;
    case VMD_MFK_TARGET:
        vmd_put_u8(w, CAT(vmd_idx_target, base, f->off)->bits);
        vmd_put_u16(w, CAT(vmd_idx_target, base, f->off)->partition);
        break;
    case VMD_MFK_LOC:
        vmd_put_u64(w, CAT(vmd_loc, base, f->off)->id);
        vmd_put_u32(w, CAT(vmd_loc, base, f->off)->slot);
        break;
    default: /* WHEN writes nothing; ITEMS is walked by rows_put */
        break;
    }
}

static void rows_put(vmd_wr *w, const vmd_msg_desc *d, const void *base)
{
    uint32_t i, k;

    for (i = 0; i < d->nrows; i++) {
        const vmd_mf *f = &d->rows[i];
        if (f->kind == VMD_MFK_ITEMS) {
            const uint8_t *items = items_of(f, base);
            uint32_t count = *CAT(uint32_t, base, f->count_off);
            for (k = 0; k < count; k++)
                rows_put(w, f->item, items + (size_t)k * f->n);
        } else
            row_put(w, f, base);
        i += rows_skipped(f, base);
    }
}

/* Validates msg and returns its encoded size (envelope included) in *size. */
static int encode_prepare(const vmd_msg_desc *d, const void *msg, const void *arg, size_t *size)
{
    if (!rows_check(d, d, msg, msg) || (d->check && !d->check(msg, arg)))
        return -EINVAL;
    *size = VMD_WIRE_ENVELOPE_SIZE + rows_size(d, msg);
    return 0;
}

static int encode_into(const vmd_msg_desc *d, const void *msg, uint8_t *buf, size_t cap,
                       size_t *len)
{
    vmd_wr w;
    size_t env;

    vmd_wr_init(&w, buf, cap);
    env = vmd_wr_begin(&w, d->version, 1);
    rows_put(&w, d, msg);
    vmd_wr_end(&w, env);
    if (w.err)
        return w.err;
    *len = w.len;
    return 0;
}

int vmd_msg_encode_to(const vmd_msg_desc *d, const void *msg, const void *arg, uint8_t *buf,
                      size_t cap, size_t *len)
{
    size_t size;
    int err = encode_prepare(d, msg, arg, &size);

    if (err)
        return err;
    return size > cap ? -EOVERFLOW : encode_into(d, msg, buf, cap, len);
}

int vmd_msg_encode(const vmd_msg_desc *d, const void *msg, const void *arg, uint8_t **out,
                   size_t *outlen)
{
    size_t size;
    uint8_t *buf;
    int err = encode_prepare(d, msg, arg, &size);

    if (err)
        return err;
    buf = malloc(size);
    if (!buf)
        return -ENOMEM;
    err = encode_into(d, msg, buf, size, outlen);
    if (err) {
        free(buf);
        return err;
    }
    *out = buf;
    return 0;
}

/* ---- decoding ---- */

/* The fewest wire bytes one item of table d takes (rows under a WHEN may be absent). */
static size_t item_min_size(const vmd_msg_desc *d)
{
    size_t total = 0;
    uint32_t i;

    for (i = 0; i < d->nrows; i++) {
        total += row_min_size(&d->rows[i]);
        if (d->rows[i].kind == VMD_MFK_WHEN)
            i += d->rows[i].n;
    }
    return total;
}

static void row_get(vmd_rd *r, const vmd_mf *f, void *base)
{
    switch (f->kind) {
    case VMD_MFK_U8:
        *AT(uint8_t, base, f->off) = vmd_get_u8(r);
        break;
    case VMD_MFK_U16:
        *AT(uint16_t, base, f->off) = vmd_get_u16(r);
        break;
    case VMD_MFK_U32:
        *AT(uint32_t, base, f->off) = vmd_get_u32(r);
        break;
    case VMD_MFK_I32:
        *AT(int32_t, base, f->off) = (int32_t)vmd_get_u32(r);
        break;
    case VMD_MFK_U64:
        *AT(uint64_t, base, f->off) = vmd_get_u64(r);
        break;
    case VMD_MFK_BYTES:
        vmd_get_bytes(r, AT(uint8_t, base, f->off), f->n);
        break;
    case VMD_MFK_STR8:
        vmd_get_str8(r, AT(char, base, f->off), f->n);
        break;
    case VMD_MFK_TARGET:
        AT(vmd_idx_target, base, f->off)->bits = vmd_get_u8(r);
        AT(vmd_idx_target, base, f->off)->partition = vmd_get_u16(r);
        break;
    case VMD_MFK_LOC:
        AT(vmd_loc, base, f->off)->id = vmd_get_u64(r);
        AT(vmd_loc, base, f->off)->slot = vmd_get_u32(r);
        break;
    default: /* WHEN reads nothing; ITEMS is read by items_get */
        break;
    }
}

static int rows_get(vmd_rd *r, const vmd_msg_desc *top, const vmd_msg_desc *d, void *base,
                    const void *msg);

/*
 * Reads the array of ITEMS row f: bounds its count (range, then what the
 * input holds) before allocating, then reads and checks every item.
 */
static int items_get(vmd_rd *r, const vmd_msg_desc *top, const vmd_mf *f, void *base,
                     const void *msg)
{
    uint32_t count = *CAT(uint32_t, base, f->count_off), k;
    uint8_t *items;
    int err;

    if ((uint64_t)count * item_min_size(f->item) > vmd_rd_left(r))
        return -EINVAL;
    items = calloc(count ? count : 1, f->n);
    if (!items)
        return -ENOMEM;
    items_set(f, base, items);
    for (k = 0; k < count; k++) {
        err = rows_get(r, top, f->item, items + (size_t)k * f->n, msg);
        if (err)
            return err;
    }
    if ((f->flags & VMD_MF_FP_ORDER) && !fp_order_valid(top, msg, items, f->n, count))
        return -EINVAL;
    return 0;
}

/* Reads and checks the rows of table d into the struct at base; msg is the whole message. */
static int rows_get(vmd_rd *r, const vmd_msg_desc *top, const vmd_msg_desc *d, void *base,
                    const void *msg)
{
    uint32_t i;
    int err;

    for (i = 0; i < d->nrows; i++) {
        const vmd_mf *f = &d->rows[i];
        row_get(r, f, base);
        if (r->err)
            return r->err;
        if (!row_valid(f, base))
            return -EINVAL;
        if (f->kind == VMD_MFK_ITEMS) {
            err = items_get(r, top, f, base, msg);
            if (err)
                return err;
        }
        i += rows_skipped(f, base);
    }
    return 0;
}

int vmd_msg_decode(const vmd_msg_desc *d, void *msg, const void *arg, const uint8_t *buf,
                   size_t len)
{
    vmd_rd r, body;
    uint8_t version;
    int err;

    memset(msg, 0, d->size);
    vmd_rd_init(&r, buf, len);
    err = vmd_rd_envelope(&r, d->version, &version, &body);
    if (!err && vmd_rd_left(&r) != 0)
        err = -EINVAL; /* one message, nothing after it */
    if (!err)
        err = rows_get(&body, d, d, msg, msg);
    if (!err && d->exact && version == d->version && vmd_rd_left(&body) != 0)
        err = -EINVAL; /* a payload of our own version holds only the rows */
    if (!err && ((d->check && !d->check(msg, arg)) || (d->dec_check && !d->dec_check(msg, arg))))
        err = -EINVAL;
    if (err)
        vmd_msg_free(d, msg);
    return err;
}

void vmd_msg_free(const vmd_msg_desc *d, void *msg)
{
    uint32_t i;

    if (!msg)
        return;
    for (i = 0; i < d->nrows; i++)
        if (d->rows[i].kind == VMD_MFK_ITEMS)
            free(items_of(&d->rows[i], msg));
    memset(msg, 0, d->size);
}
