/*
 * recipe_reader.c - one reader of recipes for backup (the parent), restore and stats.
 *
 * Opening: stat + read of the 128-byte header, decoded and checked against
 * the snapshot asked for (COMPLETE, same number, same VM). A recipe of a
 * committed snapshot that is missing is -EIO, like one that is corrupt:
 * the catalog says it exists.
 *
 * Entries: the table starts at byte 128, 56 bytes per segment; the reader
 * keeps one page of page_max entries and reads the next page when a
 * segment outside it is asked for (sequential walks read each page once).
 *
 * Records: an entry gives (holder, offset, nchunks); the record is
 * vmd_rcp_record_size(nchunks) bytes at that offset of recipe
 * r.<vm>.<holder>, decoded into refs appended to a vmd_rcp_records.
 */
#include "snapshot/recipe_reader.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rados/read_exact.h"
#include "util/grow.h"

int vmd_rcp_reader_open(vmd_rcp_reader *r, vmd_store *s, const char *vm, uint32_t snap,
                        size_t page_max)
{
    uint8_t hdr[VMD_RCP_HEADER_SIZE];
    uint64_t size = 0;
    time_t mtime;
    int err;

    memset(r, 0, sizeof(*r));
    r->s = s;
    r->snap = snap;
    r->page_max = page_max ? page_max : 1;
    r->page_first = UINT64_MAX;
    snprintf(r->vm, sizeof(r->vm), "%s", vm);
    vmd_rcp_oid(r->oid, vm, snap);
    err = rados_stat(s->meta, r->oid, &size, &mtime);
    if (!err && size >= VMD_RCP_HEADER_SIZE)
        err = vmd_rados_read_exact(s->meta, r->oid, hdr, sizeof(hdr), 0);
    if (err < 0)
        return vmd_fail(s, err == -ENOENT ? -EIO : err,
                        "reading recipe %s of committed snapshot %u in pool %s", r->oid, snap,
                        s->meta_pool);
    if (size < VMD_RCP_HEADER_SIZE || vmd_rcp_header_decode(&r->hdr, hdr, size) ||
        !(r->hdr.flags & VMD_RCP_F_COMPLETE) || r->hdr.snap != snap || strcmp(r->hdr.vm, vm))
        return vmd_fail(s, -EIO, "recipe %s in pool %s is corrupt or incomplete (header)", r->oid,
                        s->meta_pool);
    r->page = malloc(r->page_max * VMD_RCP_ENTRY_SIZE);
    if (!r->page)
        return vmd_fail(s, -ENOMEM, "reading recipe %s", r->oid);
    return 0;
}

/* Loads the page that starts at segment first. */
static int load_page(vmd_rcp_reader *r, uint64_t first)
{
    uint64_t left = r->hdr.nsegs - first;
    size_t n = left < r->page_max ? (size_t)left : r->page_max;
    int err;

    r->page_first = UINT64_MAX;
    err = vmd_rados_read_exact(r->s->meta, r->oid, r->page, n * VMD_RCP_ENTRY_SIZE,
                               vmd_rcp_records_off(first));
    if (!err)
        r->page_first = first;
    return err;
}

int vmd_rcp_reader_entry(vmd_rcp_entry *out, char msg[VMD_RCP_MSG_MAX], vmd_rcp_reader *r,
                         uint64_t seg)
{
    int err;

    if (seg >= r->hdr.nsegs) {
        snprintf(msg, VMD_RCP_MSG_MAX, "recipe %s has no segment %" PRIu64, r->oid, seg);
        return -EIO;
    }
    if (r->page_first == UINT64_MAX || seg < r->page_first || seg >= r->page_first + r->page_max) {
        err = load_page(r, seg);
        if (err) {
            snprintf(msg, VMD_RCP_MSG_MAX,
                     "recipe %s: cannot read the table entry of segment %" PRIu64 " (%s)", r->oid,
                     seg, strerror(-err));
            return -EIO;
        }
    }
    if (vmd_rcp_entry_decode(out, &r->hdr, r->page + (seg - r->page_first) * VMD_RCP_ENTRY_SIZE)) {
        snprintf(msg, VMD_RCP_MSG_MAX, "recipe %s: corrupt table entry of segment %" PRIu64, r->oid,
                 seg);
        return -EIO;
    }
    return 0;
}

int vmd_rcp_reader_record(vmd_rcp_records *rs, char msg[VMD_RCP_MSG_MAX], const vmd_rcp_reader *r,
                          uint64_t seg, const vmd_rcp_entry *e)
{
    size_t len = vmd_rcp_record_size(e->nchunks);
    char oid[VMD_RCP_OID_MAX];
    int err;

    if (vmd_grow((void **)&rs->buf, &rs->buf_cap, len, 4096, 1) ||
        vmd_grow((void **)&rs->refs, &rs->cap, rs->n + e->nchunks, 256, sizeof(*rs->refs))) {
        snprintf(msg, VMD_RCP_MSG_MAX, "reading a record of %u chunks", e->nchunks);
        return -ENOMEM;
    }
    vmd_rcp_oid(oid, r->vm, e->holder);
    err = vmd_rados_read_exact(r->s->meta, oid, rs->buf, len, e->offset);
    if (err == -ENOENT || err == -EIO) {
        snprintf(msg, VMD_RCP_MSG_MAX,
                 "recipe %s is %s: no record of segment %" PRIu64 " at offset %" PRIu64, oid,
                 err == -ENOENT ? "missing" : "truncated", seg, e->offset);
        return -EIO;
    }
    if (err) {
        snprintf(msg, VMD_RCP_MSG_MAX, "reading the record of segment %" PRIu64 " from %s", seg,
                 oid);
        return err;
    }
    if (vmd_rcp_record_decode(rs->refs + rs->n, rs->buf, len, seg, e->nchunks, e->holder,
                              vmd_rcp_seg_len(r->hdr.disk_size, seg))) {
        snprintf(msg, VMD_RCP_MSG_MAX,
                 "recipe %s is corrupt: bad record of segment %" PRIu64 " at offset %" PRIu64, oid,
                 seg, e->offset);
        return -EIO;
    }
    rs->n += e->nchunks;
    return 0;
}

void vmd_rcp_reader_close(vmd_rcp_reader *r)
{
    free(r->page);
    r->page = NULL;
}

void vmd_rcp_records_free(vmd_rcp_records *rs)
{
    free(rs->refs);
    free(rs->buf);
    memset(rs, 0, sizeof(*rs));
}
