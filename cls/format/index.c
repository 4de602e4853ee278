/*
 * index.c - fingerprints, VM ids, index entries and partition headers on the wire.
 *
 * Compiled into the class (which stores these structures) and into libvmdedup
 * (which names partitions, hashes VM ids and inspects partitions), so both
 * sides agree on every byte. The layouts are drawn in include/format/index.h
 * and specified in docs/format.md. Every decoder validates the whole
 * structure: a reader never acts on an entry that breaks a rule of the format.
 */
#include "format/index.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "format/wire.h"

static const char hex_digits[] = "0123456789abcdef";

int vmd_fp_cmp(const vmd_fp *a, const vmd_fp *b)
{
    return memcmp(a->b, b->b, VMD_FP_SIZE);
}

static void bytes_to_hex(const uint8_t *p, size_t n, char *out)
{
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = hex_digits[p[i] >> 4];
        out[2 * i + 1] = hex_digits[p[i] & 15];
    }
    out[2 * n] = 0;
}

void vmd_fp_hex(const vmd_fp *fp, char out[VMD_FP_HEX_SIZE])
{
    bytes_to_hex(fp->b, VMD_FP_SIZE, out);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int vmd_fp_from_hex(vmd_fp *out, const char *hex)
{
    int i, hi, lo;

    for (i = 0; i < VMD_FP_SIZE; i++) {
        hi = hex_value(hex[2 * i]);
        lo = hi < 0 ? -1 : hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        out->b[i] = (uint8_t)(hi << 4 | lo);
    }
    return hex[2 * VMD_FP_SIZE] == 0 ? 0 : -EINVAL;
}

unsigned vmd_fp_partition(const vmd_fp *fp, unsigned bits)
{
    unsigned top = (unsigned)fp->b[0] << 8 | fp->b[1];
    if (bits == 0)
        return 0;
    return top >> (16 - bits);
}

void vmd_idx_oid(unsigned partition, char out[VMD_IDX_OID_SIZE])
{
    snprintf(out, VMD_IDX_OID_SIZE, "idx.%04x", partition & 0xffffu);
}

void vmd_idx_op_key(const uint8_t op_id[VMD_OP_ID_SIZE], char out[VMD_IDX_OP_KEY_SIZE])
{
    memcpy(out, VMD_IDX_OP_PREFIX, 4);
    bytes_to_hex(op_id, VMD_OP_ID_SIZE, out + 4);
}

uint64_t vmd_vm_hash(const char *vm, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i;
    for (i = 0; i < n; i++) {
        h ^= (uint8_t)vm[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static int vm_char_valid(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '-';
}

int vmd_vm_id_valid(const char *vm, size_t n)
{
    size_t i;
    if (n == 0 || n > VMD_VM_ID_MAX)
        return 0;
    for (i = 0; i < n; i++)
        if (!vm_char_valid(vm[i]))
            return 0;
    return 1;
}

/* ---- index entries ---- */

static int loc_is_zero(const vmd_loc *l)
{
    return l->id == 0 && l->slot == 0;
}

int vmd_idx_entry_check(const vmd_idx_entry *e)
{
    size_t vmlen = strnlen(e->home_vm, sizeof(e->home_vm));
    int popular = (e->flags & VMD_IDX_ENTRY_POPULAR) != 0;
    unsigned i;

    if (e->flags & ~VMD_IDX_ENTRY_POPULAR)
        return -EINVAL; /* unknown flag */
    if (e->nvms > VMD_IDX_MAX_VMS || e->vm_count < e->nvms)
        return -EINVAL;
    for (i = 1; i < e->nvms; i++)
        if (e->vms[i - 1] >= e->vms[i])
            return -EINVAL; /* hashes strictly ascending */
    if (e->chunk_len == 0 || e->chunk_len > VMD_CHUNK_MAX)
        return -EINVAL;
    if (!popular && (e->pop_refs != 0 || !loc_is_zero(&e->pop) || e->vm_count == 0))
        return -EINVAL; /* an unheld, unpopular entry must have been deleted */
    if (vmlen > VMD_VM_ID_MAX)
        return -EINVAL;
    if (vmlen == 0 ? !loc_is_zero(&e->home) : !vmd_vm_id_valid(e->home_vm, vmlen))
        return -EINVAL;
    return 0;
}

size_t vmd_idx_entry_size(const vmd_idx_entry *e)
{
    return VMD_IDX_ENTRY_MIN + strnlen(e->home_vm, sizeof(e->home_vm)) + 8u * e->nvms;
}

void vmd_idx_entry_put_head(vmd_wr *w, const vmd_idx_entry *e)
{
    vmd_put_u8(w, VMD_IDX_ENTRY_V);
    vmd_put_u8(w, e->flags);
    vmd_put_u16(w, e->nvms);
    vmd_put_u32(w, e->vm_count);
    vmd_put_u32(w, e->chunk_len);
    vmd_put_u64(w, e->pop_refs);
    vmd_put_u64(w, e->home.id);
    vmd_put_u32(w, e->home.slot);
    vmd_put_u64(w, e->pop.id);
    vmd_put_u32(w, e->pop.slot);
    vmd_put_str8(w, e->home_vm);
}

int vmd_idx_entry_encode(const vmd_idx_entry *e, uint8_t *buf, size_t cap, size_t *len)
{
    vmd_wr w;
    unsigned i;
    int err = vmd_idx_entry_check(e);

    if (err)
        return err;
    vmd_wr_init(&w, buf, cap);
    vmd_idx_entry_put_head(&w, e);
    for (i = 0; i < e->nvms; i++)
        vmd_put_u64(&w, e->vms[i]);
    if (w.err)
        return w.err;
    *len = w.len;
    return 0;
}

int vmd_idx_entry_decode(vmd_idx_entry *out, const uint8_t *buf, size_t len)
{
    vmd_rd r;
    unsigned i;

    memset(out, 0, sizeof(*out));
    vmd_rd_init(&r, buf, len);
    if (len < 1)
        return -EINVAL;
    if (vmd_get_u8(&r) != VMD_IDX_ENTRY_V)
        return -EPROTO;
    out->flags = vmd_get_u8(&r);
    out->nvms = vmd_get_u16(&r);
    out->vm_count = vmd_get_u32(&r);
    out->chunk_len = vmd_get_u32(&r);
    out->pop_refs = vmd_get_u64(&r);
    out->home.id = vmd_get_u64(&r);
    out->home.slot = vmd_get_u32(&r);
    out->pop.id = vmd_get_u64(&r);
    out->pop.slot = vmd_get_u32(&r);
    vmd_get_str8(&r, out->home_vm, sizeof(out->home_vm));
    if (r.err)
        return r.err;
    if (out->nvms > VMD_IDX_MAX_VMS)
        return -EINVAL;
    for (i = 0; i < out->nvms; i++)
        out->vms[i] = vmd_get_u64(&r);
    if (r.err)
        return r.err;
    if (vmd_rd_left(&r) != 0)
        return -EINVAL; /* no envelope: a v1 entry ends here */
    return vmd_idx_entry_check(out);
}

/* ---- partition headers ---- */

static int header_check(const vmd_idx_header *h)
{
    if (h->bits > VMD_IDX_MAX_BITS || h->partition >= (1u << h->bits))
        return -EINVAL;
    if (h->nops > VMD_IDX_OPS_MAX)
        return -EINVAL;
    if (h->c.popular_entries > h->c.entries || h->c.popular_bytes > h->c.bytes)
        return -EINVAL;
    return 0;
}

int vmd_idx_header_encode(const vmd_idx_header *h, uint8_t *buf, size_t cap, size_t *len)
{
    vmd_wr w;
    size_t env;
    unsigned i;
    int err = header_check(h);

    if (err)
        return err;
    vmd_wr_init(&w, buf, cap);
    env = vmd_wr_begin(&w, VMD_IDX_HEADER_V, 1);
    vmd_put_u8(&w, h->bits);
    vmd_put_u16(&w, h->partition);
    vmd_put_u64(&w, h->c.entries);
    vmd_put_u64(&w, h->c.holdings);
    vmd_put_u64(&w, h->c.popular_entries);
    vmd_put_u64(&w, h->c.bytes);
    vmd_put_u64(&w, h->c.popular_bytes);
    vmd_put_u64(&w, h->c.popular_refs);
    vmd_put_u8(&w, h->nops);
    for (i = 0; i < h->nops; i++)
        vmd_put_bytes(&w, h->ops[i], VMD_OP_ID_SIZE);
    vmd_wr_end(&w, env);
    if (w.err)
        return w.err;
    *len = w.len;
    return 0;
}

int vmd_idx_header_decode(vmd_idx_header *out, const uint8_t *buf, size_t len)
{
    vmd_rd r, body;
    uint8_t version;
    unsigned i;
    int err;

    memset(out, 0, sizeof(*out));
    vmd_rd_init(&r, buf, len);
    err = vmd_rd_envelope(&r, VMD_IDX_HEADER_V, &version, &body);
    if (err)
        return err;
    if (vmd_rd_left(&r) != 0)
        return -EINVAL;
    out->bits = vmd_get_u8(&body);
    out->partition = vmd_get_u16(&body);
    out->c.entries = vmd_get_u64(&body);
    out->c.holdings = vmd_get_u64(&body);
    out->c.popular_entries = vmd_get_u64(&body);
    out->c.bytes = vmd_get_u64(&body);
    out->c.popular_bytes = vmd_get_u64(&body);
    out->c.popular_refs = vmd_get_u64(&body);
    out->nops = vmd_get_u8(&body);
    if (body.err)
        return body.err;
    if (out->nops > VMD_IDX_OPS_MAX)
        return -EINVAL;
    for (i = 0; i < out->nops; i++)
        vmd_get_bytes(&body, out->ops[i], VMD_OP_ID_SIZE);
    if (body.err)
        return body.err;
    if (version == VMD_IDX_HEADER_V && vmd_rd_left(&body) != 0)
        return -EINVAL; /* bytes a v1 header cannot hold */
    return header_check(out);
}
