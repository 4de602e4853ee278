/*
 * cds_manifest.c - encoder and validating decoder of the common data set manifest.
 *
 * Layout: include/format/cds_manifest.h and docs/format.md ("Common data set").
 * Only the client reads and writes manifests (the class never sees them), so
 * the codec lives in the client library; it is pure (no I/O, no
 * allocation), so the unit tests and the fuzzer run it on any bytes.
 *
 * Every decoder checks each field before it is used and refuses anything
 * it does not know (flags, reserved bytes) so that a later version that
 * uses them must raise compat.
 */
#include "format/cds_manifest.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "format/wire.h"

void vmd_cds_oid(char out[VMD_CDS_OID_SIZE], uint64_t v)
{
    snprintf(out, VMD_CDS_OID_SIZE, "cds.%08llu",
             (unsigned long long)(v > VMD_CDS_VERSION_MAX ? VMD_CDS_VERSION_MAX : v));
}

int vmd_cds_entry_order(const vmd_cds_entry *a, const vmd_cds_entry *b)
{
    if (a->vm_count != b->vm_count)
        return a->vm_count > b->vm_count ? -1 : 1;
    return memcmp(a->fp, b->fp, 32);
}

void vmd_cds_header_encode(const vmd_cds_header *h, uint8_t out[VMD_CDS_HEADER_SIZE])
{
    vmd_wr w;

    vmd_wr_header(&w, out, VMD_CDS_HEADER_SIZE, VMD_CDS_MAGIC, h->version, h->compat, h->flags);
    vmd_put_u64(&w, h->cds_version);
    vmd_put_u64(&w, h->count);
    vmd_put_u64(&w, h->bytes);
    vmd_put_u64(&w, (uint64_t)h->time);
    vmd_put_u32(&w, h->threshold);
    vmd_put_u32(&w, h->entry_size);
    vmd_put_u64(&w, h->next_id);
    vmd_put_u64(&w, 0);
}

/* Checks the decoded fields against each other and the object size. */
static int header_check(const vmd_cds_header *h, uint64_t object_size)
{
    if (h->flags)
        return -EINVAL;
    if (h->cds_version < 1 || h->cds_version > VMD_CDS_VERSION_MAX)
        return -EINVAL;
    if (h->count > VMD_CDS_MAX_ENTRIES)
        return -EINVAL;
    if (h->entry_size < VMD_CDS_ENTRY_SIZE || h->entry_size > VMD_CDS_ENTRY_MAX)
        return -EINVAL;
    if (h->bytes < h->count || h->bytes > h->count * (uint64_t)VMD_CDS_CHUNK_MAX)
        return -EINVAL;
    if ((h->count == 0) != (h->threshold == 0))
        return -EINVAL;
    if (h->count && h->next_id < 2)
        return -EINVAL;
    if (object_size != UINT64_MAX &&
        object_size != VMD_CDS_HEADER_SIZE + h->count * (uint64_t)h->entry_size)
        return -EINVAL;
    return 0;
}

int vmd_cds_header_decode(vmd_cds_header *out, const uint8_t in[VMD_CDS_HEADER_SIZE],
                          uint64_t object_size)
{
    vmd_rd r;
    uint64_t reserved;

    memset(out, 0, sizeof(*out));
    if (memcmp(in, VMD_CDS_MAGIC, 4) != 0)
        return -EINVAL;
    vmd_rd_init(&r, in + 4, VMD_CDS_HEADER_SIZE - 4);
    out->version = vmd_get_u8(&r);
    out->compat = vmd_get_u8(&r);
    out->flags = vmd_get_u16(&r);
    out->cds_version = vmd_get_u64(&r);
    out->count = vmd_get_u64(&r);
    out->bytes = vmd_get_u64(&r);
    out->time = (int64_t)vmd_get_u64(&r);
    out->threshold = vmd_get_u32(&r);
    out->entry_size = vmd_get_u32(&r);
    out->next_id = vmd_get_u64(&r);
    reserved = vmd_get_u64(&r);
    if (r.err || out->version == 0 || out->compat == 0 || out->compat > out->version)
        return -EINVAL;
    if (out->compat > VMD_CDS_VERSION)
        return -EPROTO;
    if (reserved)
        return -EINVAL;
    return header_check(out, object_size);
}

void vmd_cds_entry_encode(const vmd_cds_entry *e, uint8_t out[VMD_CDS_ENTRY_SIZE])
{
    vmd_wr w;

    vmd_wr_init(&w, out, VMD_CDS_ENTRY_SIZE);
    vmd_put_bytes(&w, e->fp, 32);
    vmd_put_u64(&w, e->ctr);
    vmd_put_u32(&w, e->slot);
    vmd_put_u32(&w, e->raw_len);
    vmd_put_u32(&w, e->vm_count);
}

int vmd_cds_entry_check(const vmd_cds_entry *e, const vmd_cds_header *h)
{
    if (e->ctr < 1 || e->ctr >= h->next_id)
        return -EINVAL;
    if (e->raw_len < 1 || e->raw_len > VMD_CDS_CHUNK_MAX)
        return -EINVAL;
    if (e->vm_count < 1)
        return -EINVAL;
    return 0;
}

int vmd_cds_entries_decode(vmd_cds_entry *out, const uint8_t *buf, size_t len, size_t n,
                           const vmd_cds_header *h, vmd_cds_entry *prev)
{
    size_t i;
    vmd_rd r;

    if (h->entry_size < VMD_CDS_ENTRY_SIZE || h->entry_size > VMD_CDS_ENTRY_MAX ||
        n > VMD_CDS_MAX_ENTRIES || len != n * (size_t)h->entry_size)
        return -EINVAL;
    for (i = 0; i < n; i++) {
        vmd_cds_entry *e = &out[i];

        vmd_rd_init(&r, buf + i * h->entry_size, VMD_CDS_ENTRY_SIZE);
        vmd_get_bytes(&r, e->fp, 32);
        e->ctr = vmd_get_u64(&r);
        e->slot = vmd_get_u32(&r);
        e->raw_len = vmd_get_u32(&r);
        e->vm_count = vmd_get_u32(&r);
        if (r.err || vmd_cds_entry_check(e, h))
            return -EINVAL;
        if (prev->vm_count && vmd_cds_entry_order(prev, e) >= 0)
            return -EINVAL;
        *prev = *e;
    }
    return 0;
}
