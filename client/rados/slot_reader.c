/*
 * slot_reader.c - merging neighbouring container slots into spans, and reading them with aio.
 *
 * A span is (container, pool, offset, length): the bytes of one or more
 * slots, plus the gaps between them (at most VMD_SPAN_GAP each), at most
 * VMD_SPAN_MAX in all. Reading a gap costs less than another round trip
 * to the OSD. A slot that starts before the last span (offsets out of
 * order) simply starts a new span.
 */
#include "rados/slot_reader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rados/ctr_client.h"
#include "util/grow.h"

/* 1 when slot sl of the container can join span sp. */
static int joins(const vmd_span *sp, int popular, uint64_t ctr, const vmd_ctr_slot *sl)
{
    return sp->ctr == ctr && sp->popular == popular && sl->offset >= sp->off &&
           sl->offset <= sp->off + sp->len + VMD_SPAN_GAP &&
           sl->offset + sl->stored_len - sp->off <= VMD_SPAN_MAX;
}

int vmd_slot_reader_add(vmd_slot_reader *sr, int popular, uint64_t ctr, const char *oid,
                        const vmd_ctr_slot *sl)
{
    vmd_span *sp = sr->n ? &sr->spans[sr->n - 1] : NULL;

    if (sp && joins(sp, popular, ctr, sl)) {
        uint64_t end = sl->offset + sl->stored_len;
        if (end > sp->off + sp->len)
            sp->len = (size_t)(end - sp->off);
        return 0;
    }
    if (vmd_grow((void **)&sr->spans, &sr->cap, sr->n + 1, 16, sizeof(*sr->spans)))
        return -ENOMEM;
    sp = &sr->spans[sr->n++];
    memset(sp, 0, sizeof(*sp));
    sp->ctr = ctr;
    sp->popular = popular;
    sp->off = sl->offset;
    sp->len = sl->stored_len;
    snprintf(sp->oid, sizeof(sp->oid), "%s", oid);
    return 0;
}

/* Starts the read of span sp; 0 or an error (then *c is not to be waited for). */
static int start_read(vmd_store *s, vmd_span *sp, rados_completion_t *c)
{
    int err;

    free(sp->buf);
    if (!(sp->buf = malloc(sp->len ? sp->len : 1)))
        return -ENOMEM;
    if (rados_aio_create_completion2(NULL, NULL, c))
        return -ENOMEM;
    err = rados_aio_read(vmd_ctr_pool(s, sp->popular), sp->oid, *c, (char *)sp->buf, sp->len,
                         sp->off);
    if (err)
        rados_aio_release(*c);
    return err;
}

int vmd_slot_reader_read(size_t *failed, vmd_slot_reader *sr, vmd_store *s, size_t first, size_t n)
{
    rados_completion_t c[VMD_SPAN_AIO];
    size_t i, end = first + n;
    int err = 0;

    *failed = 0;
    while (first < end && !err) {
        size_t stop = end - first < VMD_SPAN_AIO ? end : first + VMD_SPAN_AIO, started = first;
        for (i = first; i < stop; i++, started++)
            if ((err = start_read(s, &sr->spans[i], &c[i - first]))) {
                *failed = i;
                break;
            }
        for (i = first; i < started; i++) {
            const vmd_span *sp = &sr->spans[i];
            int rc;
            rados_aio_wait_for_complete(c[i - first]);
            rc = rados_aio_get_return_value(c[i - first]);
            rados_aio_release(c[i - first]);
            if (!err && (rc < 0 || (size_t)rc != sp->len)) {
                err = rc < 0 ? rc : -EIO;
                *failed = i;
            }
        }
        first = stop;
    }
    return err;
}

const vmd_span *vmd_slot_reader_find(vmd_slot_reader *sr, int popular, uint64_t ctr,
                                     const vmd_ctr_slot *sl)
{
    size_t i;

#define SPAN_OF(sp) ((sp)->ctr == ctr && (sp)->popular == popular)
    while (sr->cursor < sr->n && !SPAN_OF(&sr->spans[sr->cursor]))
        sr->cursor++;
    for (i = sr->cursor; i < sr->n && SPAN_OF(&sr->spans[i]); i++)
        if (sl->offset >= sr->spans[i].off &&
            sl->offset + sl->stored_len <= sr->spans[i].off + sr->spans[i].len)
            return &sr->spans[i];
#undef SPAN_OF
    return NULL;
}

void vmd_slot_reader_release(vmd_slot_reader *sr, size_t i)
{
    free(sr->spans[i].buf);
    sr->spans[i].buf = NULL;
}

void vmd_slot_reader_clear(vmd_slot_reader *sr)
{
    size_t i;

    for (i = 0; i < sr->n; i++)
        vmd_slot_reader_release(sr, i);
    sr->n = 0;
    sr->cursor = 0;
}

void vmd_slot_reader_free(vmd_slot_reader *sr)
{
    vmd_slot_reader_clear(sr);
    free(sr->spans);
    memset(sr, 0, sizeof(*sr));
}
