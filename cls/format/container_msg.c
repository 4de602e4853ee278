/*
 * container_msg.c - encoders and validating decoders of the container methods' messages.
 *
 * Compiled into the class and into libvmdedup. Layouts are in
 * container_msg.h and docs/format.md. Every decoder reads through a bounded
 * wire.h cursor, checks the envelope (compat <= 1, nothing after it), then
 * every field's range and the message's internal consistency, before it
 * returns 0. A newer writer may append fields: a payload's bytes after the
 * known fields are skipped.
 *
 * Messages of fixed fields are tables for the message codec (msg_codec.h):
 * the scrub request, the compaction reply and the stats request and reply,
 * whose consistency rules are decode-only, as the class computes what it
 * encodes. The scrub reply (its list's length is derived from the request)
 * and the compaction request (its bitmap is borrowed from the input) are
 * written out by hand below.
 */
#include "format/container_msg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "format/msg_codec.h"
#include "format/wire.h"

/* Opens the one envelope of buf: nothing may follow it. */
static int open_envelope(vmd_rd *r, const uint8_t *buf, size_t len, vmd_rd *body)
{
    uint8_t version;
    int err;

    vmd_rd_init(r, buf, len);
    err = vmd_rd_envelope(r, VMD_CTR_OPS_V, &version, body);
    if (err)
        return err;
    return vmd_rd_left(r) ? -EINVAL : 0;
}

/* Finishes an encoding started with vmd_wr_begin. */
static int close_envelope(vmd_wr *w, size_t env, size_t *len)
{
    vmd_wr_end(w, env);
    if (w->err)
        return w->err;
    *len = w->len;
    return 0;
}

static int counts_consistent(uint32_t nslots, uint32_t live, uint32_t dead, uint32_t reclaimed)
{
    return nslots <= VMD_CTR_MAX_SLOTS && (uint64_t)live + dead + reclaimed == nslots;
}

/* A table for struct T: version 1, fields appended by a newer writer skipped. */
#define CTR_DESC(T, rows, dchk)                                                                    \
    {                                                                                              \
        rows, VMD_MSG_NROWS(rows), sizeof(T), VMD_CTR_OPS_V, 0, -1, NULL, dchk                     \
    }

static int scrub_req_check(const void *msg, const void *arg)
{
    (void)arg;
    return ((const vmd_ctr_scrub_req *)msg)->max_bad <= VMD_CTR_SCRUB_MAX;
}

static const vmd_mf scrub_req_rows[] = {VMD_MF_U32(vmd_ctr_scrub_req, max_bad)};
static const vmd_msg_desc scrub_req = CTR_DESC(vmd_ctr_scrub_req, scrub_req_rows, scrub_req_check);

static int compact_reply_check(const void *msg, const void *arg)
{
    const vmd_ctr_compact_reply *r = msg;
    (void)arg;
    return r->size_before <= VMD_CTR_MAX_SIZE && r->size_after <= r->size_before &&
           (uint64_t)r->live + r->dead + r->reclaimed <= VMD_CTR_MAX_SLOTS;
}

static const vmd_mf compact_reply_rows[] = {
    VMD_MF_U64(vmd_ctr_compact_reply, size_before), VMD_MF_U64(vmd_ctr_compact_reply, size_after),
    VMD_MF_U32(vmd_ctr_compact_reply, live),        VMD_MF_U32(vmd_ctr_compact_reply, dead),
    VMD_MF_U32(vmd_ctr_compact_reply, reclaimed),
};
static const vmd_msg_desc compact_reply =
    CTR_DESC(vmd_ctr_compact_reply, compact_reply_rows, compact_reply_check);

/* The stats request has no fields. */
static const vmd_msg_desc stats_req = {NULL, 0, 1, VMD_CTR_OPS_V, 0, -1, NULL, NULL};

/* Slot counts add up, byte counts fit in the object, flags known, VM id empty or valid. */
static int stats_reply_check(const void *msg, const void *arg)
{
    const vmd_ctr_stats_reply *r = msg;
    size_t vmlen = strlen(r->vm);

    (void)arg;
    return counts_consistent(r->nslots, r->live, r->dead, r->reclaimed) &&
           r->object_size <= VMD_CTR_MAX_SIZE && r->live_stored <= r->object_size &&
           r->dead_bytes <= r->object_size - r->live_stored && !(r->flags & ~VMD_CTR_F_KNOWN) &&
           (vmlen == 0 || vmd_ctr_vm_valid(r->vm, vmlen));
}

static const vmd_mf stats_reply_rows[] = {
    VMD_MF_U32(vmd_ctr_stats_reply, nslots),      VMD_MF_U32(vmd_ctr_stats_reply, live),
    VMD_MF_U32(vmd_ctr_stats_reply, dead),        VMD_MF_U32(vmd_ctr_stats_reply, reclaimed),
    VMD_MF_U64(vmd_ctr_stats_reply, live_stored), VMD_MF_U64(vmd_ctr_stats_reply, live_raw),
    VMD_MF_U64(vmd_ctr_stats_reply, dead_bytes),  VMD_MF_U64(vmd_ctr_stats_reply, object_size),
    VMD_MF_U16(vmd_ctr_stats_reply, flags),       VMD_MF_U64(vmd_ctr_stats_reply, id),
    VMD_MF_STR8(vmd_ctr_stats_reply, vm, 0),
};
static const vmd_msg_desc stats_reply =
    CTR_DESC(vmd_ctr_stats_reply, stats_reply_rows, stats_reply_check);

/* ---- ctr_scrub ---- */

int vmd_ctr_scrub_req_encode(const vmd_ctr_scrub_req *r, uint8_t *buf, size_t cap, size_t *len)
{
    return vmd_msg_encode_to(&scrub_req, r, NULL, buf, cap, len);
}

int vmd_ctr_scrub_req_decode(vmd_ctr_scrub_req *out, const uint8_t *buf, size_t len)
{
    return vmd_msg_decode(&scrub_req, out, NULL, buf, len);
}

int vmd_ctr_scrub_reply_encode(const vmd_ctr_scrub_reply *r, uint8_t *buf, size_t cap, size_t *len)
{
    vmd_wr w;
    size_t env;
    uint32_t i;

    if (r->nlist > r->nbad || r->nlist > VMD_CTR_SCRUB_MAX)
        return -EINVAL;
    vmd_wr_init(&w, buf, cap);
    env = vmd_wr_begin(&w, VMD_CTR_OPS_V, 1);
    vmd_put_u32(&w, r->nslots);
    vmd_put_u32(&w, r->live);
    vmd_put_u32(&w, r->dead);
    vmd_put_u32(&w, r->reclaimed);
    vmd_put_u32(&w, r->nbad);
    for (i = 0; i < r->nlist; i++) {
        vmd_put_u32(&w, r->bad[i].slot);
        vmd_put_u8(&w, r->bad[i].reason);
    }
    return close_envelope(&w, env, len);
}

void vmd_ctr_scrub_reply_clear(vmd_ctr_scrub_reply *r)
{
    if (!r)
        return;
    free(r->bad);
    memset(r, 0, sizeof(*r));
}

/* Bad slots are listed in ascending slot order, each a LIVE slot of the table. */
static int decode_bad_list(vmd_ctr_scrub_reply *out, vmd_rd *body)
{
    uint32_t i;

    out->bad = calloc(out->nlist ? out->nlist : 1, sizeof(*out->bad));
    if (!out->bad)
        return -ENOMEM;
    for (i = 0; i < out->nlist; i++) {
        out->bad[i].slot = vmd_get_u32(body);
        out->bad[i].reason = vmd_get_u8(body);
        if (body->err)
            return body->err;
        if (out->bad[i].slot >= out->nslots || out->bad[i].reason < VMD_CTR_BAD_HASH ||
            out->bad[i].reason > VMD_CTR_BAD_LENGTH)
            return -EINVAL;
        if (i && out->bad[i].slot <= out->bad[i - 1].slot)
            return -EINVAL;
    }
    return 0;
}

int vmd_ctr_scrub_reply_decode(vmd_ctr_scrub_reply *out, const uint8_t *buf, size_t len,
                               uint32_t max_bad)
{
    vmd_rd r, body;
    int err;

    memset(out, 0, sizeof(*out));
    if (max_bad > VMD_CTR_SCRUB_MAX)
        return -EINVAL;
    err = open_envelope(&r, buf, len, &body);
    if (err)
        return err;
    out->nslots = vmd_get_u32(&body);
    out->live = vmd_get_u32(&body);
    out->dead = vmd_get_u32(&body);
    out->reclaimed = vmd_get_u32(&body);
    out->nbad = vmd_get_u32(&body);
    if (body.err)
        return body.err;
    if (!counts_consistent(out->nslots, out->live, out->dead, out->reclaimed) ||
        out->nbad > out->live)
        return -EINVAL;
    out->nlist = out->nbad < max_bad ? out->nbad : max_bad;
    if ((size_t)out->nlist * 5 > vmd_rd_left(&body))
        return -EINVAL; /* before allocating: the list must be there */
    err = decode_bad_list(out, &body);
    if (err)
        vmd_ctr_scrub_reply_clear(out);
    return err;
}

/* ---- ctr_compact ---- */

int vmd_ctr_compact_req_encode(const vmd_ctr_compact_req *r, uint8_t *buf, size_t cap, size_t *len)
{
    vmd_wr w;
    size_t env;

    if (r->nslots > VMD_CTR_MAX_SLOTS)
        return -EINVAL;
    vmd_wr_init(&w, buf, cap);
    env = vmd_wr_begin(&w, VMD_CTR_OPS_V, 1);
    vmd_put_bytes(&w, r->op_id, VMD_CTR_OP_ID_SIZE);
    vmd_put_u8(&w, r->mode);
    vmd_put_u32(&w, r->nslots);
    vmd_put_bytes(&w, r->bitmap, ((size_t)r->nslots + 7) / 8);
    return close_envelope(&w, env, len);
}

int vmd_ctr_compact_req_decode(vmd_ctr_compact_req *out, const uint8_t *buf, size_t len)
{
    vmd_rd r, body;
    size_t nbytes;
    int err;

    memset(out, 0, sizeof(*out));
    err = open_envelope(&r, buf, len, &body);
    if (err)
        return err;
    vmd_get_bytes(&body, out->op_id, VMD_CTR_OP_ID_SIZE);
    out->mode = vmd_get_u8(&body);
    out->nslots = vmd_get_u32(&body);
    if (body.err)
        return body.err;
    if (out->mode > VMD_CTR_COMPACT_FULL || out->nslots > VMD_CTR_MAX_SLOTS)
        return -EINVAL;
    nbytes = ((size_t)out->nslots + 7) / 8;
    out->bitmap = vmd_rd_take(&body, nbytes);
    if (body.err)
        return body.err;
    /* bits past the last slot must be clear */
    if (out->nslots % 8 && (out->bitmap[nbytes - 1] >> (out->nslots % 8)))
        return -EINVAL;
    return 0;
}

int vmd_ctr_compact_reply_encode(const vmd_ctr_compact_reply *r, uint8_t *buf, size_t cap,
                                 size_t *len)
{
    return vmd_msg_encode_to(&compact_reply, r, NULL, buf, cap, len);
}

int vmd_ctr_compact_reply_decode(vmd_ctr_compact_reply *out, const uint8_t *buf, size_t len)
{
    return vmd_msg_decode(&compact_reply, out, NULL, buf, len);
}

/* ---- ctr_stats ---- */

int vmd_ctr_stats_req_encode(uint8_t *buf, size_t cap, size_t *len)
{
    uint8_t none = 0;
    return vmd_msg_encode_to(&stats_req, &none, NULL, buf, cap, len);
}

int vmd_ctr_stats_req_decode(const uint8_t *buf, size_t len)
{
    uint8_t none;
    return vmd_msg_decode(&stats_req, &none, NULL, buf, len);
}

int vmd_ctr_stats_reply_encode(const vmd_ctr_stats_reply *r, uint8_t *buf, size_t cap, size_t *len)
{
    return vmd_msg_encode_to(&stats_reply, r, NULL, buf, cap, len);
}

int vmd_ctr_stats_reply_decode(vmd_ctr_stats_reply *out, const uint8_t *buf, size_t len)
{
    return vmd_msg_decode(&stats_reply, out, NULL, buf, len);
}
