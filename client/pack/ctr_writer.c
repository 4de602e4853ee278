/*
 * ctr_writer.c - containers written while they are filled (the backup's writer side).
 *
 * A container is at most container_size bytes (4 MiB by default). Building
 * it whole in memory and then handing it to librados (which copies it) costs
 * that size once for the container being filled and once more for each
 * container in flight. The writer instead streams: chunk bytes are staged
 * in one piece buffer (VMD_CTRW_PIECE bytes) that is sent with an
 * asynchronous write as soon as it is full, and the header and slot table,
 * which depend on everything before them, are written last:
 *
 *     object:  | header (zeros) | chunk bytes ...            | slot table |
 *     ops:       write_full(piece 0)  write(piece 1) ...  seal op: write(last piece +
 *                                                          table) + write(header at 0)
 *
 * The seal is one RADOS write op, so its header and table appear together.
 * Until it applies, the object starts with 128 zero bytes: no reader takes
 * it for a container (the magic check fails) and nothing references it,
 * because the backup commits its recipe only after every write of every
 * container has completed (vmd_ctr_writer_flush). A client killed mid-way
 * leaves an unreferenced object that `vmdedup check` reports.
 *
 * Memory: one piece buffer, the slot table of the open container, and at
 * most VMD_CTRW_INFLIGHT writes in flight, each a copy librados owns until
 * it completes (the C API copies the caller's buffer before returning).
 * That is 1.25 MiB with the defaults, against 12 MiB for whole
 * containers with two in flight.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pack/ctr_writer.h"
#include "util/grow.h"

struct vmd_ctr_writer {
    vmd_store *s;
    rados_ioctx_t io;
    const char *pool;
    size_t target;
    vmd_ctr_header hdr; /* of the open container */
    char oid[VMD_CTR_OID_MAX];
    int open;
    /* the open container */
    vmd_ctr_slot *slots;
    uint32_t nslots;
    size_t slots_cap;
    uint64_t data_len;  /* chunk bytes so far (object offset 128 + data_len is the end) */
    uint8_t *piece;     /* VMD_CTRW_PIECE bytes: object bytes [piece_off, piece_off + piece_len) */
    uint64_t piece_off; /* 0 for the first piece, which starts with the header's place */
    size_t piece_len;
    int sent; /* a piece of the open container was sent (write_full done) */
    /* writes in flight, oldest first */
    struct vmd_ctrw_flight {
        rados_completion_t c;
        char oid[VMD_CTR_OID_MAX];
    } fl[VMD_CTRW_INFLIGHT];
    unsigned nfl;
    int err; /* first failure of a completed write, sticky */
};

int vmd_ctr_writer_new(vmd_ctr_writer **out, vmd_store *s, int popular, size_t target)
{
    vmd_ctr_writer *w;

    *out = NULL;
    if (target == 0 || target > VMD_CTR_MAX_SIZE)
        target = VMD_CTR_MAX_SIZE;
    if (target < VMD_CTR_HEADER_SIZE + VMD_CTR_SLOT_SIZE + 1)
        return -EINVAL;
    w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->piece = malloc(VMD_CTRW_PIECE);
    if (!w->piece) {
        free(w);
        return -ENOMEM;
    }
    w->s = s;
    w->io = popular ? s->popular : s->data;
    w->pool = popular ? s->popular_pool : s->data_pool;
    w->target = target;
    *out = w;
    return 0;
}

/* Waits for the oldest write in flight; its failure becomes the writer's error. */
static int wait_oldest(vmd_ctr_writer *w)
{
    struct vmd_ctrw_flight *f = &w->fl[0];
    int rv;

    rados_aio_wait_for_complete(f->c);
    rv = rados_aio_get_return_value(f->c);
    rados_aio_release(f->c);
    if (rv < 0 && !w->err)
        w->err = vmd_fail(w->s, rv, "writing container %s to pool %s", f->oid, w->pool);
    memmove(&w->fl[0], &w->fl[1], (w->nfl - 1) * sizeof(w->fl[0]));
    w->nfl--;
    return w->err;
}

/* A slot in the flight list for a write to the open container. */
static int take_flight(vmd_ctr_writer *w, rados_completion_t *c)
{
    int err;

    if (w->nfl == VMD_CTRW_INFLIGHT && (err = wait_oldest(w)))
        return err;
    err = rados_aio_create_completion2(NULL, NULL, c);
    if (err)
        return vmd_fail(w->s, err, "writing container %s: creating an aio completion", w->oid);
    return 0;
}

static void add_flight(vmd_ctr_writer *w, rados_completion_t c)
{
    w->fl[w->nfl].c = c;
    memcpy(w->fl[w->nfl].oid, w->oid, sizeof(w->oid));
    w->nfl++;
}

/* Sends the staged piece: write_full for the first one (it replaces any leftover), then writes. */
static int send_piece(vmd_ctr_writer *w)
{
    rados_completion_t c;
    int err;

    if (!w->piece_len)
        return 0;
    if ((err = take_flight(w, &c)))
        return err;
    if (!w->sent)
        err = rados_aio_write_full(w->io, w->oid, c, (const char *)w->piece, w->piece_len);
    else
        err = rados_aio_write(w->io, w->oid, c, (const char *)w->piece, w->piece_len, w->piece_off);
    if (err) {
        rados_aio_release(c);
        return vmd_fail(w->s, err, "writing container %s to pool %s", w->oid, w->pool);
    }
    add_flight(w, c);
    w->sent = 1;
    w->piece_off += w->piece_len;
    w->piece_len = 0;
    return 0;
}

int vmd_ctr_writer_open(vmd_ctr_writer *w, uint64_t id, const char *vm)
{
    int err;

    if (w->open)
        return -EINVAL;
    if (vm && !vmd_ctr_vm_valid(vm, strlen(vm)))
        return -EINVAL;
    if ((err = vmd_ctr_oid(w->oid, sizeof(w->oid), vm, id)))
        return err;
    memset(&w->hdr, 0, sizeof(w->hdr));
    w->hdr.version = VMD_CTR_VERSION;
    w->hdr.compat = VMD_CTR_VERSION;
    w->hdr.id = id;
    w->hdr.flags = vm ? 0 : VMD_CTR_F_POPULAR;
    if (vm) {
        w->hdr.vm_len = (uint8_t)strlen(vm);
        memcpy(w->hdr.vm, vm, w->hdr.vm_len);
    }
    w->nslots = 0;
    w->data_len = 0;
    w->piece_off = 0;
    memset(w->piece, 0, VMD_CTR_HEADER_SIZE); /* the header's place until the seal */
    w->piece_len = VMD_CTR_HEADER_SIZE;
    w->sent = 0;
    w->open = 1;
    return 0;
}

const char *vmd_ctr_writer_oid(const vmd_ctr_writer *w)
{
    return w->oid;
}

uint32_t vmd_ctr_writer_nslots(const vmd_ctr_writer *w)
{
    return w->open ? w->nslots : 0;
}

_Static_assert(VMD_CTR_MAX_SLOTS >= 256 && (VMD_CTR_MAX_SLOTS & (VMD_CTR_MAX_SLOTS - 1)) == 0,
               "doubling from 256 slots must stop exactly at VMD_CTR_MAX_SLOTS");

/* Room for one more slot (nslots < VMD_CTR_MAX_SLOTS, a power of two: doubling stops there). */
static int reserve_slot(vmd_ctr_writer *w)
{
    return vmd_grow((void **)&w->slots, &w->slots_cap, (size_t)w->nslots + 1, 256,
                    sizeof(*w->slots));
}

/* Copies len bytes into the piece buffer, sending it each time it fills. */
static int stage(vmd_ctr_writer *w, const uint8_t *p, size_t len)
{
    int err;

    while (len) {
        size_t n = VMD_CTRW_PIECE - w->piece_len;
        if (n > len)
            n = len;
        memcpy(w->piece + w->piece_len, p, n);
        w->piece_len += n;
        p += n;
        len -= n;
        if (w->piece_len == VMD_CTRW_PIECE && (err = send_piece(w)))
            return err;
    }
    return 0;
}

int vmd_ctr_writer_add(vmd_ctr_writer *w, const uint8_t fp[VMD_CTR_FP_SIZE], const void *stored,
                       size_t stored_len, size_t raw_len, int encoding, uint32_t *slot_out)
{
    uint64_t base;
    vmd_ctr_slot *s;
    int err;

    if (!w->open || raw_len < 1 || raw_len > VMD_CTR_CHUNK_MAX || stored_len < 1)
        return -EINVAL;
    if ((encoding != VMD_CTR_RAW && encoding != VMD_CTR_ZSTD) ||
        (encoding == VMD_CTR_RAW && stored_len != raw_len))
        return -EINVAL;
    if (w->err)
        return w->err;
    base = VMD_CTR_HEADER_SIZE + w->data_len + (uint64_t)(w->nslots + 1) * VMD_CTR_SLOT_SIZE;
    if (w->nslots >= VMD_CTR_MAX_SLOTS || base >= w->target || stored_len > w->target - base)
        return -ENOSPC;
    if ((err = reserve_slot(w)))
        return vmd_fail(w->s, err, "adding a chunk to container %s", w->oid);
    if ((err = stage(w, stored, stored_len)))
        return err;
    s = &w->slots[w->nslots];
    memset(s, 0, sizeof(*s));
    memcpy(s->fp, fp, VMD_CTR_FP_SIZE);
    s->offset = VMD_CTR_HEADER_SIZE + w->data_len;
    s->stored_len = (uint32_t)stored_len;
    s->raw_len = (uint32_t)raw_len;
    s->encoding = (uint8_t)encoding;
    s->state = VMD_CTR_LIVE;
    w->data_len += stored_len;
    if (slot_out)
        *slot_out = w->nslots;
    w->nslots++;
    return 0;
}

/* Header and table of the open container, checked by the same validator readers use. */
static int encode_tail(vmd_ctr_writer *w, uint8_t hdr[VMD_CTR_HEADER_SIZE], uint8_t **table)
{
    vmd_ctr_header *h = &w->hdr;
    vmd_ctr *chk = NULL;
    vmd_ctr_fault f;
    size_t tlen = (size_t)w->nslots * VMD_CTR_SLOT_SIZE;
    uint32_t i;
    char what[128];

    h->flags |= VMD_CTR_F_SEALED;
    h->nslots = w->nslots;
    h->table_off = VMD_CTR_HEADER_SIZE + w->data_len;
    h->table_len = (uint32_t)tlen;
    h->data_bytes = w->data_len;
    vmd_ctr_header_encode(h, hdr);
    if (!(*table = malloc(tlen ? tlen : 1)))
        return vmd_fail(w->s, -ENOMEM, "sealing container %s", w->oid);
    for (i = 0; i < w->nslots; i++)
        vmd_ctr_slot_encode(&w->slots[i], *table + (size_t)i * VMD_CTR_SLOT_SIZE);
    if (vmd_ctr_parse(&chk, hdr, *table, tlen, h->table_off + tlen, &f)) {
        vmd_ctr_fault_str(&f, what, sizeof(what));
        free(*table);
        *table = NULL;
        return vmd_fail(w->s, -EIO, "built container %s does not validate (%s)", w->oid, what);
    }
    vmd_ctr_free(chk);
    return 0;
}

/* The seal op: the last piece and the table, then the header, in one atomic write op. */
static int send_seal(vmd_ctr_writer *w, const uint8_t *hdr, const uint8_t *table, size_t tlen)
{
    rados_write_op_t op;
    rados_completion_t c;
    int err;

    if ((err = take_flight(w, &c)))
        return err;
    if (!(op = rados_create_write_op())) {
        rados_aio_release(c);
        return vmd_fail(w->s, -ENOMEM, "sealing container %s", w->oid);
    }
    if (!w->sent) {
        memcpy(w->piece, hdr, VMD_CTR_HEADER_SIZE);
        rados_write_op_write_full(op, (const char *)w->piece, w->piece_len);
    } else {
        if (w->piece_len)
            rados_write_op_write(op, (const char *)w->piece, w->piece_len, w->piece_off);
        rados_write_op_write(op, (const char *)hdr, VMD_CTR_HEADER_SIZE, 0);
    }
    if (tlen)
        rados_write_op_write(op, (const char *)table, tlen, w->piece_off + w->piece_len);
    err = rados_aio_write_op_operate(op, w->io, c, w->oid, NULL, 0);
    rados_release_write_op(op);
    if (err) {
        rados_aio_release(c);
        return vmd_fail(w->s, err, "sealing container %s in pool %s", w->oid, w->pool);
    }
    add_flight(w, c);
    return 0;
}

int vmd_ctr_writer_seal(vmd_ctr_writer *w)
{
    uint8_t hdr[VMD_CTR_HEADER_SIZE], *table = NULL;
    int err;

    if (!w->open)
        return 0;
    w->open = 0;
    if (w->err)
        return w->err;
    if ((err = encode_tail(w, hdr, &table)))
        return err;
    err = send_seal(w, hdr, table, (size_t)w->nslots * VMD_CTR_SLOT_SIZE);
    free(table); /* librados copied it */
    w->piece_len = 0;
    return err;
}

int vmd_ctr_writer_flush(vmd_ctr_writer *w)
{
    while (w->nfl)
        wait_oldest(w);
    return w->err;
}

void vmd_ctr_writer_free(vmd_ctr_writer *w)
{
    if (!w)
        return;
    while (w->nfl)
        wait_oldest(w);
    free(w->slots);
    free(w->piece);
    free(w);
}
