/*
 * ctr_client.c - client side of containers: class calls, write, verified reads.
 *
 * The ctr_* calls encode a request (ctr_ops.c), run it through cls_call.h
 * (a read op for stats and scrub, a write op with RETURNVEC for compaction,
 * whose op id makes the library's resends safe) and decode the reply.
 *
 * Reading a chunk does not fetch the whole container: one read op stats
 * the object and reads its 128-byte header, a second read fetches the slot
 * table; both are validated with the same code the class uses. Then only
 * the slot's stored bytes are read, decompressed and checked against the
 * fingerprint. A restore reading many chunks of one container loads the
 * table once (vmd_ctr_load) and passes it to each vmd_ctr_read_chunk.
 */
#include "rados/ctr_client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rados/cls_call.h"
#include "rados/read_exact.h"

rados_ioctx_t vmd_ctr_pool(vmd_store *s, int popular)
{
    return popular ? s->popular : s->data;
}

static const char *pool_name(vmd_store *s, int popular)
{
    return popular ? s->popular_pool : s->data_pool;
}

/* Reports a corrupt container, naming the failed check. */
static int fail_corrupt(vmd_store *s, const char *oid, const vmd_ctr_fault *f)
{
    char what[128];

    vmd_ctr_fault_str(f, what, sizeof(what));
    return vmd_fail(s, -EIO, "container %s is corrupt (%s)", oid, what);
}

int vmd_ctr_stats(vmd_store *s, int popular, const char *oid, vmd_ctr_stats_reply *out)
{
    uint8_t req[VMD_CTR_STATS_REQ_MAX], *rep = NULL;
    size_t reqlen = 0, replen = 0;
    int err;

    memset(out, 0, sizeof(*out));
    err = vmd_ctr_stats_req_encode(req, sizeof(req), &reqlen);
    if (!err)
        err =
            vmd_cls_exec(vmd_ctr_pool(s, popular), oid, "ctr_stats", 0, req, reqlen, &rep, &replen);
    if (err < 0) {
        err = vmd_fail(s, err, "ctr_stats of container %s in pool %s", oid, pool_name(s, popular));
        goto out;
    }
    err = vmd_ctr_stats_reply_decode(out, rep, replen);
    if (err)
        err = vmd_fail(s, -EPROTO, "ctr_stats of container %s: reply not understood", oid);
out:
    free(rep);
    return err;
}

int vmd_ctr_scrub(vmd_store *s, int popular, const char *oid, uint32_t max_bad,
                  vmd_ctr_scrub_reply *out)
{
    vmd_ctr_scrub_req r = {max_bad};
    uint8_t req[VMD_CTR_SCRUB_REQ_MAX], *rep = NULL;
    size_t reqlen = 0, replen = 0;
    int err;

    memset(out, 0, sizeof(*out));
    if (max_bad > VMD_CTR_SCRUB_MAX)
        return vmd_fail(s, -EINVAL, "scrub of %s: max_bad %u above %u", oid, max_bad,
                        VMD_CTR_SCRUB_MAX);
    err = vmd_ctr_scrub_req_encode(&r, req, sizeof(req), &reqlen);
    if (!err)
        err =
            vmd_cls_exec(vmd_ctr_pool(s, popular), oid, "ctr_scrub", 0, req, reqlen, &rep, &replen);
    if (err < 0) {
        err = vmd_fail(s, err, "ctr_scrub of container %s in pool %s", oid, pool_name(s, popular));
        goto out;
    }
    err = vmd_ctr_scrub_reply_decode(out, rep, replen, max_bad);
    if (err)
        err = vmd_fail(s, err == -ENOMEM ? err : -EPROTO,
                       "ctr_scrub of container %s: reply not understood", oid);
out:
    free(rep);
    return err;
}

int vmd_ctr_compact(vmd_store *s, int popular, const char *oid, int mode, const uint8_t *bitmap,
                    uint32_t nslots, vmd_ctr_compact_reply *out)
{
    vmd_ctr_compact_req r;
    uint8_t *req = NULL, *rep = NULL;
    size_t reqlen = 0, replen = 0;
    int err;

    memset(out, 0, sizeof(*out));
    if ((mode != VMD_CTR_COMPACT_MARK && mode != VMD_CTR_COMPACT_FULL) ||
        nslots > VMD_CTR_MAX_SLOTS)
        return vmd_fail(s, -EINVAL, "compaction of %s: mode %d or %u slots invalid", oid, mode,
                        nslots);
    vmd_cls_new_op_id(r.op_id);
    r.mode = (uint8_t)mode;
    r.nslots = nslots;
    r.bitmap = bitmap;
    req = malloc(VMD_CTR_COMPACT_REQ_SIZE(nslots));
    if (!req)
        return vmd_fail(s, -ENOMEM, "compaction of %s", oid);
    err = vmd_ctr_compact_req_encode(&r, req, VMD_CTR_COMPACT_REQ_SIZE(nslots), &reqlen);
    if (!err)
        err = vmd_cls_exec(vmd_ctr_pool(s, popular), oid, "ctr_compact", 1, req, reqlen, &rep,
                           &replen);
    if (err < 0) {
        err = vmd_fail(s, err, "ctr_compact (mode %d) of container %s in pool %s", mode, oid,
                       pool_name(s, popular));
        goto out;
    }
    err = vmd_ctr_compact_reply_decode(out, rep, replen);
    if (err)
        err = vmd_fail(s, -EPROTO, "ctr_compact of container %s: reply not understood", oid);
out:
    free(req);
    free(rep);
    return err;
}

int vmd_ctr_write(vmd_store *s, int popular, const char *oid, const uint8_t *buf, size_t len)
{
    vmd_ctr *c = NULL;
    vmd_ctr_fault f;
    int err;

    if (vmd_ctr_validate(&c, buf, len, &f) != 0) {
        char what[128];
        vmd_ctr_fault_str(&f, what, sizeof(what));
        return vmd_fail(s, -EINVAL, "refusing to write container %s (%s)", oid, what);
    }
    vmd_ctr_free(c);
    err = rados_write_full(vmd_ctr_pool(s, popular), oid, (const char *)buf, len);
    if (err < 0)
        return vmd_fail(s, err, "writing container %s (%zu bytes) to pool %s", oid, len,
                        pool_name(s, popular));
    return 0;
}

/* One read op: the object's size and its first 128 bytes. */
static int read_head(rados_ioctx_t io, const char *oid, uint64_t *size, uint8_t *hdr, size_t *got)
{
    rados_read_op_t op = rados_create_read_op();
    int stat_rv = 0, read_rv = 0, err;
    time_t mtime;

    if (!op)
        return -ENOMEM;
    rados_read_op_stat(op, size, &mtime, &stat_rv);
    rados_read_op_read(op, 0, VMD_CTR_HEADER_SIZE, (char *)hdr, got, &read_rv);
    err = rados_read_op_operate(op, io, oid, 0);
    rados_release_read_op(op);
    if (err >= 0 && stat_rv < 0)
        err = stat_rv;
    if (err >= 0 && read_rv < 0)
        err = read_rv;
    return err < 0 ? err : 0;
}

int vmd_ctr_load(vmd_store *s, rados_ioctx_t io, const char *oid, vmd_ctr **out)
{
    uint8_t hdr[VMD_CTR_HEADER_SIZE], *table = NULL;
    vmd_ctr_header h;
    vmd_ctr_fault f = {VMD_CTR_OK, UINT32_MAX};
    uint64_t size = 0;
    size_t got = 0;
    int err;

    *out = NULL;
    err = read_head(io, oid, &size, hdr, &got);
    if (err)
        return vmd_fail(s, err, "reading container %s", oid);
    if (size < VMD_CTR_HEADER_SIZE || got != VMD_CTR_HEADER_SIZE)
        f.check = VMD_CTR_CHK_TOO_SHORT;
    else if (size > VMD_CTR_MAX_SIZE)
        f.check = VMD_CTR_CHK_TOO_LARGE;
    if (f.check != VMD_CTR_OK)
        return fail_corrupt(s, oid, &f);
    if (vmd_ctr_header_decode(&h, hdr, &f) || vmd_ctr_header_check_size(&h, size, &f))
        return fail_corrupt(s, oid, &f);
    table = malloc(h.table_len ? h.table_len : 1);
    if (!table)
        return vmd_fail(s, -ENOMEM, "reading the table of container %s", oid);
    err = vmd_rados_read_exact(io, oid, table, h.table_len, h.table_off);
    if (err) {
        err = vmd_fail(s, err, "reading the table of container %s", oid);
        goto out;
    }
    err = vmd_ctr_parse(out, hdr, table, h.table_len, size, &f);
    if (err == -EIO)
        err = fail_corrupt(s, oid, &f);
    else if (err)
        err = vmd_fail(s, err, "parsing container %s", oid);
out:
    free(table);
    return err;
}

/* Reads and verifies slot `slot` of a loaded container. */
static int read_slot(vmd_store *s, int popular, const char *oid, const vmd_ctr *c, uint32_t slot,
                     uint8_t **raw, size_t *rawlen)
{
    const vmd_ctr_slot *sl;
    uint8_t *stored = NULL, *buf = NULL;
    int err, reason = 0;

    if (slot >= c->hdr.nslots)
        return vmd_fail(s, -ERANGE, "container %s has no slot %u (%u slots)", oid, slot,
                        c->hdr.nslots);
    sl = &c->slots[slot];
    if (sl->state != VMD_CTR_LIVE)
        return vmd_fail(s, -ENOENT, "slot %u of container %s is not live", slot, oid);
    stored = malloc(sl->stored_len);
    buf = malloc(sl->raw_len);
    if (!stored || !buf) {
        err = vmd_fail(s, -ENOMEM, "reading slot %u of container %s", slot, oid);
        goto out;
    }
    err = vmd_rados_read_exact(vmd_ctr_pool(s, popular), oid, stored, sl->stored_len, sl->offset);
    if (err) {
        err = vmd_fail(s, err, "reading slot %u of container %s", slot, oid);
        goto out;
    }
    err = vmd_ctr_chunk_decode(sl, stored, buf, NULL, &reason);
    if (err == -EIO && reason)
        err = vmd_fail(s, -EIO, "slot %u of container %s: %s", slot, oid,
                       vmd_ctr_reason_name(reason));
    else if (err)
        err = vmd_fail(s, err, "verifying slot %u of container %s", slot, oid);
    if (!err) {
        *raw = buf;
        *rawlen = sl->raw_len;
        buf = NULL;
    }
out:
    free(stored);
    free(buf);
    return err;
}

int vmd_ctr_read_chunk(vmd_store *s, int popular, const char *oid, const vmd_ctr *ctr,
                       uint32_t slot, uint8_t **raw, size_t *rawlen)
{
    vmd_ctr *own = NULL;
    int err;

    *raw = NULL;
    *rawlen = 0;
    if (!ctr) {
        err = vmd_ctr_load(s, vmd_ctr_pool(s, popular), oid, &own);
        if (err)
            return err;
        ctr = own;
    }
    err = read_slot(s, popular, oid, ctr, slot, raw, rawlen);
    vmd_ctr_free(own);
    return err;
}
