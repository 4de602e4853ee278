/*
 * level1.c - level 1 of the deduplication: a segment the same as the parent's.
 *
 * The first and cheapest level of the published multi-level design: a
 * segment that did not change since the parent snapshot is referenced
 * whole. Its table entry is the parent's (kind SAME; holder, offset and
 * nchunks name the record in the snapshot that holds it, so restore makes
 * one hop however many snapshots inherited it). Two ways to know:
 *
 *   - the dirty map says the segment is clean: it is not even read
 *     (vmd_l1_clean);
 *   - without a map, or for a dirty segment, its chunk list (lengths,
 *     fingerprints, zero chunks) equals the parent's record at the same
 *     offset (vmd_l1_same). That record is loaded into w->prefs, where
 *     level 2 finds it when the lists differ.
 *
 * Only a parent segment of exactly the same length counts (the disk may
 * have grown or shrunk). A parent ZERO segment stays ZERO.
 */
#include <string.h>

#include "backup/backup_int.h"

/* The parent's entry of segment seg when it covers exactly the same bytes, else NULL. */
const vmd_rcp_entry *vmd_l1_parent_entry(const backup *b, uint64_t seg, uint32_t len)
{
    if (!b->p.snap || seg >= b->p.rcp.hdr.nsegs ||
        vmd_rcp_seg_len(b->p.rcp.hdr.disk_size, seg) != len)
        return NULL;
    return &b->p.entries[seg];
}

static void set_same(result *r, const vmd_rcp_entry *pe)
{
    r->kind = pe->kind == VMD_RCP_ZERO ? VMD_RCP_ZERO : VMD_RCP_SAME;
    r->entry = *pe;
    r->entry.kind = r->kind;
}

int vmd_l1_clean(const backup *b, result *r, uint64_t seg, const vmd_rcp_entry *pe, uint32_t len)
{
    if (!pe || !b->map || vmd_dirtymap_test(b->map, seg))
        return 0;
    set_same(r, pe);
    if (r->kind == VMD_RCP_ZERO)
        r->zero += len;
    else
        r->l1 += len;
    r->chunks += pe->nchunks;
    return 1;
}

/* Level 1 by content: every chunk equals the parent's record at the same offset. */
static int same_as_loaded(worker *w, size_t n, uint32_t len)
{
    size_t i;
    uint32_t off = 0;

    if (w->prefs.n != n)
        return 0;
    for (i = 0; i < n; i++) {
        const vmd_rcp_ref *f = &w->prefs.refs[i];
        uint32_t clen = w->chunks[i].len;
        int zero = vmd_is_zero(w->buf + off, clen);
        if (f->raw_len != clen || zero != !!(f->flags & VMD_RCP_REF_ZERO) ||
            (!zero && memcmp(f->fp, w->fps[i].b, 32)))
            return 0;
        off += clen;
    }
    return off == len;
}

int vmd_l1_same(worker *w, result *r, uint64_t seg, const vmd_rcp_entry *pe, size_t n, uint32_t len)
{
    int err;

    if (!pe || pe->kind == VMD_RCP_ZERO)
        return 0;
    if ((err = vmd_bk_parent_record(w, r, seg, pe)))
        return err;
    if (!same_as_loaded(w, n, len))
        return 0;
    set_same(r, pe);
    r->l1 += len;
    r->chunks += pe->nchunks;
    return 1;
}
