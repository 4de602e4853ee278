/*
 * writer.c - the ordered writer of a backup (the caller's thread).
 *
 * It takes the workers' results in segment order (oqueue.h) and for each:
 *
 *   - adds the stats of the segment to the snapshot's;
 *   - SAME / ZERO: appends the table entry;
 *   - CHUNKS: packs each new chunk into the VM's open container through the
 *     streaming container writer (pack/ctr_writer.c: 256 KiB pieces sent
 *     with aio as they fill; sealed at the target size), unless this
 *     backup wrote it already (register.c); fills the refs' locations,
 *     appends the record and then the table entry.
 *
 * Recipe r.<vm>.<snap> layout while it is written: the 128-byte header
 * (not COMPLETE until commit), the table (56 bytes per segment, written a
 * page of BK_TAB_PAGE entries at a time), then the records, appended
 * through a BK_REC_BUF buffer from offset vmd_rcp_records_off(nsegs).
 * Container ids are (snapshot << 24) | n. The writer also reports
 * progress and renews the VM's lock.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "backup/backup_int.h"
#include "read/segment.h"

int vmd_bk_seal(backup *b)
{
    if (!b->ctr_open)
        return 0;
    b->ctr_open = 0;
    b->info.stats.containers++;
    return vmd_ctr_writer_seal(b->cw);
}

static int new_container(backup *b)
{
    int err;

    if (b->nctr >= (1u << VMD_RCP_CTR_SHIFT))
        return vmd_fail(b->s, -EFBIG, "snapshot %u of VM %s needs more than 2^24 containers",
                        b->seq, b->vm);
    b->ctr_id = ((uint64_t)b->seq << VMD_RCP_CTR_SHIFT) | b->nctr++;
    err = vmd_ctr_writer_open(b->cw, b->ctr_id, b->vm);
    if (err)
        return vmd_fail(b->s, err, "starting container %llu of VM %s",
                        (unsigned long long)b->ctr_id, b->vm);
    b->ctr_open = 1;
    return 0;
}

/* Packs one new chunk; *loc gets where it is. */
static int pack_chunk(backup *b, const result *r, const new_chunk *nc, vmd_loc *loc)
{
    vmd_loc *known;
    uint32_t *hslot, slot;
    int err;

    if ((err = vmd_reg_lookup(b, nc->fp, &known, &hslot)))
        return err;
    if (known) {
        *loc = *known;
        return 1; /* written earlier in this backup */
    }
    for (;;) {
        if (!b->ctr_open && (err = new_container(b)))
            return err;
        err = vmd_ctr_writer_add(b->cw, nc->fp, r->nbuf + nc->off, nc->stored_len, nc->raw_len,
                                 nc->encoding, &slot);
        if (err != -ENOSPC)
            break;
        if (vmd_ctr_writer_nslots(b->cw) == 0)
            return vmd_fail(b->s, -EFBIG, "a chunk of %u bytes does not fit a container",
                            nc->raw_len);
        if ((err = vmd_bk_seal(b)))
            return err;
    }
    if (err == -EINVAL)
        return vmd_fail(b->s, err, "adding a chunk to container %s", vmd_ctr_writer_oid(b->cw));
    if (err)
        return err; /* a write error, already reported */
    loc->id = b->ctr_id;
    loc->slot = slot;
    vmd_reg_add(b, hslot, nc, loc);
    b->info.stats.new_bytes += nc->raw_len;
    b->info.stats.stored_bytes += nc->stored_len;
    b->info.stats.new_chunks++;
    return 0;
}

static int write_at(backup *b, const uint8_t *buf, size_t len, uint64_t off)
{
    int err = rados_write(b->s->meta, b->rcp_oid, (const char *)buf, len, off);
    if (err < 0)
        return vmd_fail(b->s, err, "writing recipe %s at offset %llu", b->rcp_oid,
                        (unsigned long long)off);
    return 0;
}

static int flush_records(backup *b)
{
    int err;

    if (!b->rec_len)
        return 0;
    err = write_at(b, b->rec, b->rec_len, b->rec_off);
    b->rec_off += b->rec_len;
    b->rec_len = 0;
    return err;
}

static int flush_table(backup *b)
{
    int err;

    if (!b->tab_n)
        return 0;
    err = write_at(b, b->tab, (size_t)b->tab_n * VMD_RCP_ENTRY_SIZE,
                   vmd_rcp_records_off(b->tab_first));
    b->tab_first += b->tab_n;
    b->tab_n = 0;
    return err;
}

int vmd_bk_flush_recipe(backup *b)
{
    int err = flush_records(b);

    return err ? err : flush_table(b);
}

static int add_entry(backup *b, const vmd_rcp_entry *e)
{
    vmd_rcp_entry_encode(e, b->tab + (size_t)b->tab_n * VMD_RCP_ENTRY_SIZE);
    if (++b->tab_n == BK_TAB_PAGE)
        return flush_table(b);
    return 0;
}

/* Appends the record of a CHUNKS segment and returns its entry. */
static int add_record(backup *b, uint64_t seg, const result *r, vmd_rcp_entry *e)
{
    size_t len = vmd_rcp_record_size(r->n);
    int err;

    if (b->rec_len + len > BK_REC_BUF && (err = flush_records(b)))
        return err;
    e->kind = VMD_RCP_CHUNKS;
    e->holder = b->seq;
    e->offset = b->rec_off + b->rec_len;
    e->nchunks = r->n;
    memcpy(e->sig, r->sig, sizeof(e->sig));
    vmd_rcp_record_encode(b->rec + b->rec_len, seg, r->refs, r->n);
    b->rec_len += len;
    return 0;
}

static int consume(backup *b, uint64_t seg, result *r)
{
    vmd_rcp_entry e;
    uint32_t i;
    int err;

    if (r->err)
        return vmd_fail(b->s, r->err, "backup of VM %s: %s", b->vm, r->msg);
    b->info.stats.bytes_read += r->read;
    b->info.stats.level1_bytes += r->l1;
    b->info.stats.level2_bytes += r->l2;
    b->info.stats.level3_bytes += r->l3;
    b->info.stats.zero_bytes += r->zero;
    b->info.stats.chunks += r->chunks;
    if (r->kind != VMD_RCP_CHUNKS) {
        e = r->entry;
        if (r->kind == VMD_RCP_ZERO) {
            memset(&e, 0, sizeof(e));
            memset(e.sig, 0xff, sizeof(e.sig));
        }
        e.kind = r->kind;
        return add_entry(b, &e);
    }
    for (i = 0; i < r->n; i++) {
        vmd_loc loc;
        uint32_t k = r->newidx[i];
        if (k == BK_NO_NEW)
            continue;
        err = pack_chunk(b, r, &r->news[k], &loc);
        if (err < 0)
            return err;
        if (err == 1) {
            b->info.stats.level2_bytes += r->refs[i].raw_len; /* repeated in this backup */
        }
        r->refs[i].ctr = loc.id;
        r->refs[i].slot = loc.slot;
        /* later refs to the same new chunk in this segment */
        for (uint32_t j = i + 1; j < r->n; j++)
            if (r->newidx[j] == k) {
                r->refs[j].ctr = loc.id;
                r->refs[j].slot = loc.slot;
                r->newidx[j] = BK_NO_NEW;
            }
    }
    err = add_record(b, seg, r, &e);
    return err ? err : add_entry(b, &e);
}

static void progress(backup *b, uint64_t seg, double *last)
{
    double t = vmd_bk_now();
    uint64_t done = (seg + 1) << VMD_SEGMENT_SHIFT;

    if (!b->o->progress || (t - *last < BK_PROGRESS_MS / 1000.0 && seg + 1 < b->nsegs))
        return;
    *last = t;
    b->o->progress(b->o->progress_arg, done > b->size ? b->size : done, b->size);
}

int vmd_bk_run_writer(backup *b)
{
    double last = 0;
    uint64_t seg;
    int err = 0, renew;

    for (;;) {
        err = vmd_oq_next(&b->q, &seg, 500);
        if ((renew = vmd_lease_renew(&b->lease, 0)))
            return renew;
        if (err == -ETIMEDOUT)
            continue;
        if (err == -ENOENT)
            return 0;
        if (err)
            return err;
        err = consume(b, seg, &b->results[seg % b->window]);
        vmd_oq_done(&b->q);
        if (err)
            return err;
        progress(b, seg, &last);
    }
}

int vmd_bk_write_header(backup *b, int complete)
{
    vmd_rcp_header h;
    uint8_t buf[VMD_RCP_HEADER_SIZE];

    memset(&h, 0, sizeof(h));
    h.version = h.compat = VMD_RCP_VERSION;
    h.flags = complete ? VMD_RCP_F_COMPLETE : 0;
    h.snap = b->seq;
    h.parent = b->p.snap;
    h.disk_size = b->size;
    h.nsegs = b->nsegs;
    h.end = complete ? b->rec_off : 0;
    snprintf(h.vm, sizeof(h.vm), "%s", b->vm);
    vmd_rcp_header_encode(&h, buf);
    if (!complete) {
        int err = rados_write_full(b->s->meta, b->rcp_oid, (const char *)buf, sizeof(buf));
        if (err < 0)
            return vmd_fail(b->s, err, "creating recipe %s in pool %s", b->rcp_oid,
                            b->s->meta_pool);
        return 0;
    }
    return write_at(b, buf, sizeof(buf), 0);
}
