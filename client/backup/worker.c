/*
 * worker.c - a backup worker: one segment from the image to a result.
 *
 * A worker claims the next segment from the ordered queue (oqueue.h) and
 * fills its result slot:
 *
 *   clean by the dirty map         -> SAME, not read        (level 1)
 *   pread; all zero                -> ZERO
 *   chunk (FastCDC) + SHA-256, signature of the non-zero chunks
 *   chunk list equal to the parent's -> SAME                (level 1)
 *   parent records at the same offset and of similar segments
 *   each chunk: known to the parent (level 2), in the CDS (level 3), or new
 *   new chunks compressed (zstd, kept when smaller)
 *
 * Layout of a result's buffer (nbuf): the segment is read into it, then the
 * stored bytes of the new chunks are packed at its front in chunk order;
 * news[k].off says where chunk k's bytes start. A chunk's stored bytes are
 * never longer than its raw bytes, so packing never overwrites a chunk not
 * yet visited. A worker's failure goes into the result (r->err, r->msg)
 * and is reported by the writer, on the caller's thread.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/backup_int.h"
#include "read/read_exact.h"
#include "read/segment.h"

int vmd_bk_fail(result *r, int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
    va_end(ap);
    r->err = err;
    return err;
}

int vmd_bk_parent_record(worker *w, result *r, uint64_t seg, const vmd_rcp_entry *e)
{
    char msg[VMD_RCP_MSG_MAX];
    int err = vmd_rcp_reader_record(&w->prefs, msg, &w->b->p.rcp, seg, e);

    return err ? vmd_bk_fail(r, err, "%s", msg) : 0;
}

/* Reads segment seg (len bytes) of the image into w->buf. */
static int read_segment(worker *w, result *r, uint64_t seg, uint32_t len)
{
    uint64_t off = seg << VMD_SEGMENT_SHIFT;
    size_t done = 0;
    int err = vmd_pread_exact(&done, w->b->fd, w->buf, len, off);

    if (err == -EIO)
        return vmd_bk_fail(r, err, "short read of image at offset %llu (image shrank?)",
                           (unsigned long long)(off + done));
    if (err)
        return vmd_bk_fail(r, err, "reading image at offset %llu",
                           (unsigned long long)(off + done));
    r->read += len;
    return 0;
}

/*
 * Stores chunk i (at off in the segment) as new, compressed when that is
 * smaller. The segment was read into r->nbuf itself, and the stored bytes of
 * the new chunks are packed at its front as the chunks are visited in
 * order: a chunk's stored bytes never extend past its own raw bytes, so
 * packing never overwrites a chunk not yet visited. One segment buffer per
 * result thus serves for both reading and handing the new bytes to the
 * writer.
 */
void vmd_bk_add_new(worker *w, result *r, size_t i, uint32_t off)
{
    const uint8_t *raw = r->nbuf + off;
    uint32_t len = w->chunks[i].len;
    new_chunk *nc = &r->news[r->nnew];
    size_t at = r->nnew ? r->news[r->nnew - 1].off + r->news[r->nnew - 1].stored_len : 0;
    size_t z = 0;
    int level = w->b->s->zstd_level;

    memcpy(nc->fp, w->fps[i].b, 32);
    nc->off = (uint32_t)at;
    nc->raw_len = len;
    if (level > 0 && len > 1) {
        z = ZSTD_compressCCtx(w->cctx, w->zbuf, len - 1 < w->zcap ? len - 1 : w->zcap, raw, len,
                              level);
        if (ZSTD_isError(z))
            z = 0;
    }
    if (z) {
        memcpy(r->nbuf + at, w->zbuf, z);
        nc->stored_len = (uint32_t)z;
        nc->encoding = VMD_CTR_ZSTD;
    } else {
        memmove(r->nbuf + at, raw, len);
        nc->stored_len = len;
        nc->encoding = VMD_CTR_RAW;
    }
    r->newidx[i] = r->nnew++;
}

static int chunk_segment(worker *w, result *r, uint64_t seg, uint32_t len, size_t *n)
{
    size_t i;
    uint32_t off = 0;
    int err;

    err = vmd_chunk_segment(&w->b->chunker, w->buf, len, w->chunks, w->cap, n);
    if (err)
        return vmd_bk_fail(r, err, "chunking segment %llu", (unsigned long long)seg);
    for (i = 0; i < *n; i++) {
        if (vmd_is_zero(w->buf + off, w->chunks[i].len))
            memset(&w->fps[i], 0, sizeof(w->fps[i]));
        else if ((err = vmd_sha256(w->hasher, w->buf + off, w->chunks[i].len, &w->fps[i])))
            return vmd_bk_fail(r, err, "fingerprinting segment %llu", (unsigned long long)seg);
        off += w->chunks[i].len;
    }
    return 0;
}

/* The signature of the non-zero chunks. */
static void segment_sig(worker *w, size_t n, uint64_t sig[VMD_RCP_SIG])
{
    uint32_t off = 0;
    size_t i;

    vmd_rcp_sig_init(sig);
    for (i = 0; i < n; i++) {
        if (!vmd_is_zero(w->buf + off, w->chunks[i].len))
            vmd_rcp_sig_add(sig, w->fps[i].b);
        off += w->chunks[i].len;
    }
}

/* One segment: the stages in the order of the file's top comment. */
static int process_segment(worker *w, result *r, uint64_t seg)
{
    backup *b = w->b;
    uint32_t len = vmd_rcp_seg_len(b->size, seg);
    const vmd_rcp_entry *pe = vmd_l1_parent_entry(b, seg, len);
    size_t n = 0;
    int err;

    w->prefs.n = 0;
    if (vmd_l1_clean(b, r, seg, pe, len))
        return 0;
    if ((err = read_segment(w, r, seg, len)))
        return err;
    if (vmd_is_zero(w->buf, len)) {
        r->kind = VMD_RCP_ZERO;
        r->zero += len;
        return 0;
    }
    if ((err = chunk_segment(w, r, seg, len, &n)))
        return err;
    segment_sig(w, n, r->sig);
    if ((err = vmd_l1_same(w, r, seg, pe, n, len)))
        return err < 0 ? err : 0;
    if (b->p.snap &&
        (err = vmd_l2_load_similar(w, r, seg, pe && pe->kind != VMD_RCP_ZERO ? pe : NULL)))
        return err;
    r->kind = VMD_RCP_CHUNKS;
    return vmd_l2_dedup(w, r, n);
}

static void result_reset(result *r)
{
    r->err = 0;
    r->msg[0] = '\0';
    r->kind = VMD_RCP_ZERO;
    memset(&r->entry, 0, sizeof(r->entry));
    memset(r->sig, 0xff, sizeof(r->sig));
    r->n = r->nnew = 0;
    r->read = r->l1 = r->l2 = r->l3 = r->zero = r->chunks = 0;
}

void *vmd_bk_worker_main(void *arg)
{
    worker *w = arg;
    backup *b = w->b;
    uint64_t seg;

    vmd_cds_thread_online();
    while (vmd_oq_claim(&b->q, &seg) == 0) {
        result *r = &b->results[seg % b->window];
        result_reset(r);
        w->buf = r->nbuf;
        process_segment(w, r, seg);
        vmd_oq_publish(&b->q, seg);
    }
    vmd_cds_thread_offline();
    return NULL;
}
