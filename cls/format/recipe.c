/*
 * recipe.c - encoder and validating decoder of snapshot recipes.
 *
 * The layout is described in include/format/recipe.h and docs/format.md
 * ("Snapshots: catalog and recipes"). Everything here is pure: the backup
 * writer encodes table entries and records into its own buffers, restore
 * and the level-1/2 lookups decode what they read from RADOS. Every decoder
 * checks each field before it is used, so a corrupt or hostile recipe gives
 * -EINVAL (or -EPROTO for a newer incompatible version), never a wild read
 * or an unbounded allocation.
 */
#include "format/recipe.h"

#include <errno.h>
#include <string.h>

#include "format/index.h"
#include "format/wire.h"

uint64_t vmd_rcp_nsegs(uint64_t disk_size)
{
    uint64_t mask = (1ull << VMD_RCP_SEG_SHIFT) - 1;
    return (disk_size >> VMD_RCP_SEG_SHIFT) + ((disk_size & mask) != 0);
}

uint32_t vmd_rcp_seg_len(uint64_t disk_size, uint64_t seg)
{
    uint64_t start, left;

    if (seg >= (UINT64_MAX >> VMD_RCP_SEG_SHIFT))
        return 0;
    start = seg << VMD_RCP_SEG_SHIFT;
    if (start >= disk_size)
        return 0;
    left = disk_size - start;
    return left < (1u << VMD_RCP_SEG_SHIFT) ? (uint32_t)left : (1u << VMD_RCP_SEG_SHIFT);
}

void vmd_rcp_header_encode(const vmd_rcp_header *h, uint8_t out[VMD_RCP_HEADER_SIZE])
{
    size_t vm_len = strlen(h->vm);
    vmd_wr w;

    vmd_wr_header(&w, out, VMD_RCP_HEADER_SIZE, VMD_RCP_MAGIC, h->version, h->compat, h->flags);
    vmd_put_u32(&w, h->snap);
    vmd_put_u32(&w, h->parent);
    vmd_put_u64(&w, h->disk_size);
    vmd_put_u64(&w, h->nsegs);
    vmd_put_u64(&w, h->end);
    vmd_put_u64(&w, 0);
    vmd_put_u8(&w, (uint8_t)vm_len);
    vmd_put_bytes(&w, h->vm, vm_len);
}

/* Checks the fields of a decoded header against each other and the object size. */
static int header_check(const vmd_rcp_header *h, uint64_t object_size)
{
    if (h->flags & ~VMD_RCP_F_COMPLETE)
        return -EINVAL;
    if (h->snap < 1 || h->parent >= h->snap)
        return -EINVAL;
    if (h->disk_size < 1 || h->disk_size > VMD_RCP_DISK_MAX)
        return -EINVAL;
    if (h->nsegs != vmd_rcp_nsegs(h->disk_size))
        return -EINVAL;
    if (!(h->flags & VMD_RCP_F_COMPLETE))
        return h->end == 0 ? 0 : -EINVAL;
    if (h->end < vmd_rcp_records_off(h->nsegs))
        return -EINVAL;
    if (object_size != UINT64_MAX && h->end != object_size)
        return -EINVAL;
    return 0;
}

int vmd_rcp_header_decode(vmd_rcp_header *out, const uint8_t in[VMD_RCP_HEADER_SIZE],
                          uint64_t object_size)
{
    vmd_rd r;
    uint8_t magic[4], vm_len;

    memset(out, 0, sizeof(*out));
    vmd_rd_init(&r, in, VMD_RCP_HEADER_SIZE);
    vmd_get_bytes(&r, magic, 4);
    if (memcmp(magic, VMD_RCP_MAGIC, 4) != 0)
        return -EINVAL;
    out->version = vmd_get_u8(&r);
    out->compat = vmd_get_u8(&r);
    if (out->version < 1 || out->compat < 1 || out->compat > out->version)
        return -EINVAL;
    if (out->compat > VMD_RCP_VERSION)
        return -EPROTO;
    out->flags = vmd_get_u16(&r);
    out->snap = vmd_get_u32(&r);
    out->parent = vmd_get_u32(&r);
    out->disk_size = vmd_get_u64(&r);
    out->nsegs = vmd_get_u64(&r);
    out->end = vmd_get_u64(&r);
    if (vmd_get_u64(&r) != 0)
        return -EINVAL;
    vm_len = vmd_get_u8(&r);
    if (vm_len > VMD_RCP_VM_MAX || !vmd_vm_id_valid((const char *)in + 49, vm_len) ||
        !vmd_all_zero(in + 49 + vm_len, VMD_RCP_HEADER_SIZE - 49 - vm_len))
        return -EINVAL;
    memcpy(out->vm, in + 49, vm_len);
    out->vm[vm_len] = '\0';
    return header_check(out, object_size);
}

void vmd_rcp_entry_encode(const vmd_rcp_entry *e, uint8_t out[VMD_RCP_ENTRY_SIZE])
{
    vmd_wr w;
    int i;

    memset(out, 0, VMD_RCP_ENTRY_SIZE);
    vmd_wr_init(&w, out, VMD_RCP_ENTRY_SIZE);
    vmd_put_u8(&w, e->kind);
    vmd_put_bytes(&w, "\0\0\0", 3);
    vmd_put_u32(&w, e->holder);
    vmd_put_u64(&w, e->offset);
    vmd_put_u32(&w, e->nchunks);
    vmd_put_u32(&w, 0);
    for (i = 0; i < VMD_RCP_SIG; i++)
        vmd_put_u64(&w, e->sig[i]);
}

/* The checks of one decoded entry that depend on its kind. */
static int entry_check(const vmd_rcp_entry *e, const vmd_rcp_header *h)
{
    int i;

    for (i = 1; i < VMD_RCP_SIG; i++)
        if (e->sig[i] < e->sig[i - 1])
            return -EINVAL;
    switch (e->kind) {
    case VMD_RCP_ZERO:
        if (e->holder || e->offset || e->nchunks)
            return -EINVAL;
        for (i = 0; i < VMD_RCP_SIG; i++)
            if (e->sig[i] != UINT64_MAX)
                return -EINVAL;
        return 0;
    case VMD_RCP_SAME:
        if (e->holder < 1 || e->holder >= h->snap)
            return -EINVAL;
        if (e->offset < VMD_RCP_HEADER_SIZE + VMD_RCP_ENTRY_SIZE)
            return -EINVAL;
        break;
    case VMD_RCP_CHUNKS:
        if (e->holder != h->snap || e->offset < vmd_rcp_records_off(h->nsegs))
            return -EINVAL;
        if ((h->flags & VMD_RCP_F_COMPLETE) &&
            (e->offset > h->end || e->nchunks > VMD_RCP_MAX_CHUNKS ||
             vmd_rcp_record_size(e->nchunks) > h->end - e->offset))
            return -EINVAL;
        break;
    default:
        return -EINVAL;
    }
    if (e->nchunks < 1 || e->nchunks > VMD_RCP_MAX_CHUNKS)
        return -EINVAL;
    return 0;
}

int vmd_rcp_entry_decode(vmd_rcp_entry *out, const vmd_rcp_header *h,
                         const uint8_t in[VMD_RCP_ENTRY_SIZE])
{
    vmd_rd r;
    int i;

    memset(out, 0, sizeof(*out));
    vmd_rd_init(&r, in, VMD_RCP_ENTRY_SIZE);
    out->kind = vmd_get_u8(&r);
    if (!vmd_all_zero(in + 1, 3) || !vmd_all_zero(in + 20, 4))
        return -EINVAL;
    vmd_rd_take(&r, 3);
    out->holder = vmd_get_u32(&r);
    out->offset = vmd_get_u64(&r);
    out->nchunks = vmd_get_u32(&r);
    vmd_get_u32(&r);
    for (i = 0; i < VMD_RCP_SIG; i++)
        out->sig[i] = vmd_get_u64(&r);
    return entry_check(out, h);
}

void vmd_rcp_record_encode(uint8_t *out, uint64_t seg, const vmd_rcp_ref *refs, uint32_t n)
{
    vmd_wr w;
    uint32_t i;

    vmd_wr_init(&w, out, vmd_rcp_record_size(n));
    vmd_put_u64(&w, seg);
    vmd_put_u32(&w, n);
    for (i = 0; i < n; i++) {
        vmd_put_bytes(&w, refs[i].fp, 32);
        vmd_put_u64(&w, refs[i].ctr);
        vmd_put_u32(&w, refs[i].slot);
        vmd_put_u32(&w, refs[i].raw_len);
        vmd_put_u8(&w, refs[i].flags);
    }
}

/* Checks one ref of the record held by snapshot holder. */
static int ref_check(const vmd_rcp_ref *f, uint32_t holder)
{
    uint64_t owner = f->ctr >> VMD_RCP_CTR_SHIFT;

    if (f->flags & ~(VMD_RCP_REF_ZERO | VMD_RCP_REF_POPULAR) ||
        f->flags == (VMD_RCP_REF_ZERO | VMD_RCP_REF_POPULAR))
        return -EINVAL;
    if (f->raw_len < 1 || f->raw_len > VMD_RCP_CHUNK_MAX)
        return -EINVAL;
    if (f->flags & VMD_RCP_REF_ZERO)
        return (f->ctr || f->slot || !vmd_all_zero(f->fp, 32)) ? -EINVAL : 0;
    if (f->flags & VMD_RCP_REF_POPULAR)
        return 0; /* popular ids are the CDS's own sequence (any u64) */
    if (owner < 1 || owner > holder)
        return -EINVAL;
    return 0;
}

int vmd_rcp_record_decode(vmd_rcp_ref *refs, const uint8_t *buf, size_t len, uint64_t seg,
                          uint32_t n, uint32_t holder, uint32_t seg_len)
{
    uint64_t total = 0;
    vmd_rd r;
    uint32_t i;
    int err;

    if (n < 1 || n > VMD_RCP_MAX_CHUNKS || len != vmd_rcp_record_size(n))
        return -EINVAL;
    vmd_rd_init(&r, buf, len);
    if (vmd_get_u64(&r) != seg || vmd_get_u32(&r) != n)
        return -EINVAL;
    for (i = 0; i < n; i++) {
        vmd_rcp_ref *f = &refs[i];
        vmd_get_bytes(&r, f->fp, 32);
        f->ctr = vmd_get_u64(&r);
        f->slot = vmd_get_u32(&r);
        f->raw_len = vmd_get_u32(&r);
        f->flags = vmd_get_u8(&r);
        err = ref_check(f, holder);
        if (err)
            return err;
        total += f->raw_len;
    }
    if (r.err || total != seg_len)
        return -EINVAL;
    return 0;
}

static uint64_t fp_prefix(const uint8_t *fp)
{
    uint64_t v = 0;
    int i;

    for (i = 7; i >= 0; i--)
        v = v << 8 | fp[i];
    return v;
}

void vmd_rcp_sig_init(uint64_t sig[VMD_RCP_SIG])
{
    int j;

    for (j = 0; j < VMD_RCP_SIG; j++)
        sig[j] = UINT64_MAX;
}

void vmd_rcp_sig_add(uint64_t sig[VMD_RCP_SIG], const uint8_t fp[VMD_FP_SIZE])
{
    uint64_t v = fp_prefix(fp);
    int j, k;

    if (v >= sig[VMD_RCP_SIG - 1])
        return;
    for (j = 0; j < VMD_RCP_SIG && sig[j] < v; j++)
        ;
    if (sig[j] == v)
        return; /* values stay distinct */
    for (k = VMD_RCP_SIG - 1; k > j; k--)
        sig[k] = sig[k - 1];
    sig[j] = v;
}
