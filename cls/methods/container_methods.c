/*
 * container_methods.c - the container methods: vmdedup.ctr_scrub, ctr_compact, ctr_stats.
 *
 * A container object (layout in container.h) holds its own description, so
 * these methods need nothing but the object:
 *
 *     data     header (128) | chunk bytes | slot table (nslots x 56)
 *     xattr    vmd.op       op id (16 bytes) of the last successful ctr_compact
 *
 * Each method goes: decode the request -> validate it -> stat the object ->
 * read the header (128 bytes) and the table, and the chunk bytes only when
 * the method needs them (scrub, full compaction) -> validate the container
 * (corrupt: -EIO and a log line naming the check) -> compute -> write ->
 * encode the reply. Every read is bounded by the 64 MiB object limit, which
 * the header is checked against before anything else is read.
 *
 * Errors: -EINVAL (malformed request, or a bitmap for another number of
 * slots), -EPROTO (newer request version), -ENOENT (no object), -EIO
 * (corrupt container), -ESTALE (a DEAD/RECLAIMED slot marked live), -ENOMEM.
 */
#include "methods/container_methods.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "methods/cls_methods.h"
#include "format/container.h"
#include "format/container_msg.h"

#define VMD_CTR_OP_XATTR "vmd.op"

/* A container as read from the object: its validated description and, if asked for, its data. */
typedef struct loaded {
    vmd_ctr *ctr;
    uint8_t *data; /* bytes [128, table_off) or NULL; data[0] is object offset 128 */
} loaded;

static void loaded_clear(loaded *l)
{
    vmd_ctr_free(l->ctr);
    free(l->data);
    memset(l, 0, sizeof(*l));
}

/*
 * Reads exactly len bytes at off into a new buffer; a short read means
 * corruption. Zero bytes are not read at all: to the OSD a read of length
 * 0 means "to the end of the object".
 */
static int read_exact(vmd_obj *obj, uint64_t off, size_t len, uint8_t **out)
{
    size_t got = 0;
    int err;

    *out = NULL;
    if (len == 0) {
        *out = malloc(1);
        return *out ? 0 : -ENOMEM;
    }
    err = obj->ops->read(obj->h, off, len, out, &got);
    if (err < 0)
        return err;
    if (got != len) {
        free(*out);
        *out = NULL;
        return -EIO;
    }
    return 0;
}

static int corrupt(const char *method, const vmd_ctr_fault *f)
{
    char what[128];

    vmd_ctr_fault_str(f, what, sizeof(what));
    vmd_cls_log(0, "vmdedup.%s: corrupt container: %s", method, what);
    return -EIO;
}

/* Stats the object and reads and validates its header and table (and its data if want_data). */
static int load(vmd_obj *obj, const char *method, int want_data, loaded *out)
{
    uint8_t *hdr = NULL, *table = NULL;
    vmd_ctr_header h;
    vmd_ctr_fault f = {VMD_CTR_OK, UINT32_MAX};
    uint64_t size;
    int err;

    memset(out, 0, sizeof(*out));
    err = obj->ops->stat(obj->h, &size);
    if (err < 0)
        return err;
    if (size < VMD_CTR_HEADER_SIZE || size > VMD_CTR_MAX_SIZE) {
        f.check = size < VMD_CTR_HEADER_SIZE ? VMD_CTR_CHK_TOO_SHORT : VMD_CTR_CHK_TOO_LARGE;
        return corrupt(method, &f);
    }
    err = read_exact(obj, 0, VMD_CTR_HEADER_SIZE, &hdr);
    if (err)
        goto out;
    err = vmd_ctr_header_decode(&h, hdr, &f);
    if (!err)
        err = vmd_ctr_header_check_size(&h, size, &f);
    if (!err)
        err = read_exact(obj, h.table_off, h.table_len, &table);
    if (!err)
        err = vmd_ctr_parse(&out->ctr, hdr, table, h.table_len, size, &f);
    if (!err && want_data)
        err = read_exact(obj, VMD_CTR_HEADER_SIZE, h.table_off - VMD_CTR_HEADER_SIZE, &out->data);
    if (err == -EIO && f.check != VMD_CTR_OK)
        corrupt(method, &f);
    else if (err == -EIO)
        vmd_cls_log(0, "vmdedup.%s: short read of a container of %llu bytes", method,
                    (unsigned long long)size);
out:
    free(hdr);
    free(table);
    if (err)
        loaded_clear(out);
    return err;
}

/* A request that did not decode: logged with the method's name, its error returned. */
static int bad_request(const char *method, size_t inlen, int err)
{
    vmd_cls_log(1, "vmdedup.%s: bad request (%zu bytes): %d", method, inlen, err);
    return err;
}

/* Hands an encoded reply (buf, len) to the caller or frees it on error. */
static int reply(int err, uint8_t *buf, size_t len, uint8_t **out, size_t *outlen)
{
    if (err) {
        free(buf);
        return err;
    }
    *out = buf;
    *outlen = len;
    return 0;
}

static void count_states(const vmd_ctr *c, uint32_t *live, uint32_t *dead, uint32_t *reclaimed)
{
    uint32_t i;

    *live = *dead = *reclaimed = 0;
    for (i = 0; i < c->hdr.nslots; i++) {
        if (c->slots[i].state == VMD_CTR_LIVE)
            (*live)++;
        else if (c->slots[i].state == VMD_CTR_DEAD)
            (*dead)++;
        else
            (*reclaimed)++;
    }
}

/* ---- ctr_scrub ---- */

/* Largest raw_len of a LIVE slot: the one scratch buffer scrub needs. */
static uint32_t max_live_raw(const vmd_ctr *c)
{
    uint32_t i, m = 0;
    for (i = 0; i < c->hdr.nslots; i++)
        if (c->slots[i].state == VMD_CTR_LIVE && c->slots[i].raw_len > m)
            m = c->slots[i].raw_len;
    return m;
}

/* Verifies every LIVE slot of l into r (r->bad has room for max_bad entries). */
static int verify_live_slots(const loaded *l, uint32_t max_bad, vmd_ctr_scrub_reply *r)
{
    const vmd_ctr *c = l->ctr;
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    uint8_t *raw = malloc(max_live_raw(c) + 1);
    uint32_t i;
    int err = 0, reason;

    if (!dctx || !raw) {
        err = -ENOMEM;
        goto out;
    }
    for (i = 0; i < c->hdr.nslots; i++) {
        const vmd_ctr_slot *s = &c->slots[i];
        if (s->state != VMD_CTR_LIVE)
            continue;
        err = vmd_ctr_chunk_decode(s, l->data + (s->offset - VMD_CTR_HEADER_SIZE), raw, dctx,
                                   &reason);
        if (err == -EIO && reason) {
            if (r->nlist < max_bad) {
                r->bad[r->nlist].slot = i;
                r->bad[r->nlist].reason = (uint8_t)reason;
                r->nlist++;
            }
            r->nbad++;
            err = 0;
        }
        if (err)
            goto out;
    }
out:
    ZSTD_freeDCtx(dctx);
    free(raw);
    return err;
}

int vmd_m_ctr_scrub(vmd_obj *obj, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen)
{
    vmd_ctr_scrub_req req;
    vmd_ctr_scrub_reply r;
    loaded l;
    uint8_t *buf = NULL;
    size_t len = 0;
    int err;

    memset(&r, 0, sizeof(r));
    err = vmd_ctr_scrub_req_decode(&req, in, inlen);
    if (err)
        return bad_request("ctr_scrub", inlen, err);
    err = load(obj, "ctr_scrub", 1, &l);
    if (err)
        return err;
    count_states(l.ctr, &r.live, &r.dead, &r.reclaimed);
    r.nslots = l.ctr->hdr.nslots;
    r.bad = calloc(req.max_bad ? req.max_bad : 1, sizeof(*r.bad));
    err = r.bad ? verify_live_slots(&l, req.max_bad, &r) : -ENOMEM;
    if (!err && r.nbad)
        vmd_cls_log(0, "vmdedup.ctr_scrub: %u bad slot(s), first %u (%s)", r.nbad,
                    r.nlist ? r.bad[0].slot : 0,
                    vmd_ctr_reason_name(r.nlist ? r.bad[0].reason : 0));
    if (!err) {
        len = VMD_CTR_SCRUB_REPLY_SIZE(r.nlist);
        buf = malloc(len);
        err = buf ? vmd_ctr_scrub_reply_encode(&r, buf, len, &len) : -ENOMEM;
    }
    vmd_ctr_scrub_reply_clear(&r);
    loaded_clear(&l);
    return reply(err, buf, len, out, outlen);
}

/* ---- ctr_compact ---- */

/*
 * Applies the bitmap to a copy of the table: LIVE slots whose bit is clear
 * become DEAD (mode 0) or RECLAIMED (mode 1); in mode 1 DEAD slots become
 * RECLAIMED too. A set bit on a slot that is not LIVE is -ESTALE: the
 * caller's view of the container is older than the container. *changed is
 * set when any slot's state changes.
 */
static int apply_bitmap(vmd_ctr *c, const vmd_ctr_compact_req *req, int *changed)
{
    uint32_t i;

    *changed = 0;
    for (i = 0; i < c->hdr.nslots; i++) {
        vmd_ctr_slot *s = &c->slots[i];
        int keep = vmd_ctr_bitmap_test(req->bitmap, i);
        if (keep && s->state != VMD_CTR_LIVE) {
            vmd_cls_log(1, "vmdedup.ctr_compact: slot %u marked live but is %s", i,
                        s->state == VMD_CTR_DEAD ? "DEAD" : "RECLAIMED");
            return -ESTALE;
        }
        if (keep)
            continue;
        if (s->state == VMD_CTR_LIVE && req->mode == VMD_CTR_COMPACT_MARK) {
            s->state = VMD_CTR_DEAD;
            *changed = 1;
        } else if (s->state != VMD_CTR_RECLAIMED && req->mode == VMD_CTR_COMPACT_FULL) {
            s->state = VMD_CTR_RECLAIMED;
            s->offset = 0;
            s->stored_len = 0;
            *changed = 1;
        }
    }
    return 0;
}

/* Sum of stored_len of the slots that still have bytes (LIVE and DEAD). */
static uint64_t bytes_present(const vmd_ctr *c)
{
    uint64_t sum = 0;
    uint32_t i;
    for (i = 0; i < c->hdr.nslots; i++)
        if (c->slots[i].state != VMD_CTR_RECLAIMED)
            sum += c->slots[i].stored_len;
    return sum;
}

/* Mode 0: the slot table, rewritten in place (same size, same offset). */
static int write_table(vmd_obj *obj, const vmd_ctr *c)
{
    uint8_t *table = malloc(c->hdr.table_len ? c->hdr.table_len : 1);
    int err;

    if (!table)
        return -ENOMEM;
    vmd_ctr_table_encode(c, table);
    err = obj->ops->write(obj->h, c->hdr.table_off, table, c->hdr.table_len);
    free(table);
    return err < 0 ? err : 0;
}

/*
 * Mode 1: the object rewritten with the bytes of the slots that have any
 * (all LIVE after apply_bitmap), packed in slot order right after the
 * header. Offsets in c are updated; its size becomes the new object's.
 * `data` is the old object's data area (old offsets - 128).
 */
static int write_packed(vmd_obj *obj, vmd_ctr *c, const uint8_t *data)
{
    uint64_t present = bytes_present(c);
    size_t size = VMD_CTR_HEADER_SIZE + (size_t)present + c->hdr.table_len;
    uint8_t *buf = malloc(size);
    size_t at = VMD_CTR_HEADER_SIZE;
    uint32_t i;
    int err;

    if (!buf)
        return -ENOMEM;
    for (i = 0; i < c->hdr.nslots; i++) {
        vmd_ctr_slot *s = &c->slots[i];
        if (s->state == VMD_CTR_RECLAIMED)
            continue;
        memcpy(buf + at, data + (s->offset - VMD_CTR_HEADER_SIZE), s->stored_len);
        s->offset = at;
        at += s->stored_len;
    }
    c->hdr.data_bytes = present;
    c->hdr.table_off = at;
    c->size = size;
    vmd_ctr_header_encode(&c->hdr, buf);
    vmd_ctr_table_encode(c, buf + at);
    err = obj->ops->write_full(obj->h, buf, size);
    free(buf);
    return err < 0 ? err : 0;
}

/* Records the op id in xattr vmd.op unless it is already there (a replay). */
static int record_op(vmd_obj *obj, const uint8_t op_id[VMD_CTR_OP_ID_SIZE])
{
    uint8_t *cur = NULL;
    size_t len = 0;
    int err, same;

    err = obj->ops->getxattr(obj->h, VMD_CTR_OP_XATTR, &cur, &len);
    if (err < 0 && err != -ENODATA && err != -ENOENT)
        return err;
    same = err >= 0 && len == VMD_CTR_OP_ID_SIZE && memcmp(cur, op_id, len) == 0;
    free(cur);
    if (same)
        return 0;
    err = obj->ops->setxattr(obj->h, VMD_CTR_OP_XATTR, op_id, VMD_CTR_OP_ID_SIZE);
    return err < 0 ? err : 0;
}

static int encode_compact_reply(const vmd_ctr *c, uint64_t size_before, uint8_t **buf, size_t *len)
{
    vmd_ctr_compact_reply r;

    r.size_before = size_before;
    r.size_after = c->size;
    count_states(c, &r.live, &r.dead, &r.reclaimed);
    *buf = malloc(VMD_CTR_COMPACT_REPLY_MAX);
    if (!*buf)
        return -ENOMEM;
    return vmd_ctr_compact_reply_encode(&r, *buf, VMD_CTR_COMPACT_REPLY_MAX, len);
}

/*
 * Idempotency: the result is a function of the current table, the bitmap
 * and the mode only. After a compaction every set bit names a LIVE slot and
 * every clear bit a DEAD (mode 0) or RECLAIMED (mode 1) one, so the same
 * call again passes the -ESTALE check and changes no slot: nothing is
 * written (mode 1 also finds the bytes already packed), the stored op id is
 * already this one, and the reply reports the current, unchanged size.
 * A resend that arrives after a *different* compaction killed one of its
 * live slots gets -ESTALE, which is right: its view is outdated. A failed
 * call writes nothing (the OSD discards the transaction).
 */
int vmd_m_ctr_compact(vmd_obj *obj, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen)
{
    vmd_ctr_compact_req req;
    loaded l;
    uint8_t *buf = NULL;
    size_t len = 0;
    uint64_t size_before;
    int err, changed;

    err = vmd_ctr_compact_req_decode(&req, in, inlen);
    if (err)
        return bad_request("ctr_compact", inlen, err);
    err = load(obj, "ctr_compact", req.mode == VMD_CTR_COMPACT_FULL, &l);
    if (err)
        return err;
    size_before = l.ctr->size;
    if (req.nslots != l.ctr->hdr.nslots) {
        vmd_cls_log(1, "vmdedup.ctr_compact: bitmap for %u slots, container has %u", req.nslots,
                    l.ctr->hdr.nslots);
        err = -EINVAL;
        goto out;
    }
    err = apply_bitmap(l.ctr, &req, &changed);
    if (err)
        goto out;
    if (req.mode == VMD_CTR_COMPACT_MARK && changed)
        err = write_table(obj, l.ctr);
    else if (req.mode == VMD_CTR_COMPACT_FULL &&
             (changed || l.ctr->hdr.table_off - VMD_CTR_HEADER_SIZE != bytes_present(l.ctr)))
        err = write_packed(obj, l.ctr, l.data);
    if (!err)
        err = record_op(obj, req.op_id);
    if (!err)
        err = encode_compact_reply(l.ctr, size_before, &buf, &len);
out:
    loaded_clear(&l);
    return reply(err, buf, len, out, outlen);
}

/* ---- ctr_stats ---- */

static void fill_stats(const vmd_ctr *c, vmd_ctr_stats_reply *r)
{
    uint32_t i;

    memset(r, 0, sizeof(*r));
    r->nslots = c->hdr.nslots;
    count_states(c, &r->live, &r->dead, &r->reclaimed);
    for (i = 0; i < c->hdr.nslots; i++) {
        const vmd_ctr_slot *s = &c->slots[i];
        if (s->state == VMD_CTR_LIVE) {
            r->live_stored += s->stored_len;
            r->live_raw += s->raw_len;
        } else if (s->state == VMD_CTR_DEAD) {
            r->dead_bytes += s->stored_len;
        }
    }
    r->object_size = c->size;
    r->flags = c->hdr.flags;
    r->id = c->hdr.id;
    memcpy(r->vm, c->hdr.vm, sizeof(r->vm));
}

int vmd_m_ctr_stats(vmd_obj *obj, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen)
{
    vmd_ctr_stats_reply r;
    loaded l;
    uint8_t *buf = NULL;
    size_t len = 0;
    int err;

    err = vmd_ctr_stats_req_decode(in, inlen);
    if (err)
        return bad_request("ctr_stats", inlen, err);
    err = load(obj, "ctr_stats", 0, &l);
    if (err)
        return err;
    fill_stats(l.ctr, &r);
    loaded_clear(&l);
    buf = malloc(VMD_CTR_STATS_REPLY_MAX);
    err = buf ? vmd_ctr_stats_reply_encode(&r, buf, VMD_CTR_STATS_REPLY_MAX, &len) : -ENOMEM;
    return reply(err, buf, len, out, outlen);
}
