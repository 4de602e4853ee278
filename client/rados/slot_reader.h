/*
 * slot_reader.h - reading the stored bytes of many container slots in few reads (internal).
 *
 * Restore (the chunks of a segment) and `cds update` (the chunks to copy
 * into popular containers) both know, from a container's slot table, where
 * each wanted chunk's stored bytes lie, and read neighbouring slots of one
 * container together: slots are merged into spans while the next slot
 * starts at most VMD_SPAN_GAP bytes after the span's end and the span stays
 * within VMD_SPAN_MAX bytes. Spans are read with librados aio, at most
 * VMD_SPAN_AIO in flight.
 *
 *   add slots (grouped by container, ascending offsets) -> spans
 *   read spans [first, first + n)                       -> span.buf
 *   find the span of a slot (in the order they were added), decode it
 *   clear (buffers freed, plan emptied) and start again
 *
 * Nothing here reports through the store's error callback: restore runs it
 * on worker threads. Callers name the object (span.oid) in their message.
 */
#ifndef VMD_SLOT_READER_H
#define VMD_SLOT_READER_H

#include <stddef.h>
#include <stdint.h>

#include "rados/store_int.h"
#include "format/container.h"

#define VMD_SPAN_GAP (64u << 10) /* slots closer than this are read together */
#define VMD_SPAN_MAX (4u << 20)  /* one read covers at most this */
#define VMD_SPAN_AIO 32          /* reads in flight */

/* One coalesced read of container ctr (popular pool or data pool). */
typedef struct vmd_span {
    uint64_t ctr;
    int popular;
    uint64_t off;
    size_t len;
    uint8_t *buf; /* len bytes once read; NULL before */
    char oid[VMD_CTR_OID_MAX];
} vmd_span;

typedef struct vmd_slot_reader {
    vmd_span *spans;
    size_t n, cap;
    size_t cursor; /* first span of the container vmd_slot_reader_find looked at last */
} vmd_slot_reader;

/*
 * Adds slot sl of container ctr (object oid; popular selects the pool):
 * it joins the last span when that is of the same container and near
 * enough, else starts a span. 0 or -ENOMEM.
 */
int vmd_slot_reader_add(vmd_slot_reader *sr, int popular, uint64_t ctr, const char *oid,
                        const vmd_ctr_slot *sl);

/*
 * Reads spans [first, first + n). 0, or the error of the first span that
 * failed (*failed gets its index): -ENOMEM, librados errors, -EIO when the
 * object is shorter than the span.
 */
int vmd_slot_reader_read(size_t *failed, vmd_slot_reader *sr, vmd_store *s, size_t first, size_t n);

/*
 * The span holding slot sl of container ctr, or NULL. Lookups must come
 * in the order the slots were added (containers are searched forward).
 */
const vmd_span *vmd_slot_reader_find(vmd_slot_reader *sr, int popular, uint64_t ctr,
                                     const vmd_ctr_slot *sl);

/* Frees span i's buffer (done with it). */
void vmd_slot_reader_release(vmd_slot_reader *sr, size_t i);

/* Frees every span's buffer and empties the plan (the array is kept for reuse). */
void vmd_slot_reader_clear(vmd_slot_reader *sr);

void vmd_slot_reader_free(vmd_slot_reader *sr);

#endif /* VMD_SLOT_READER_H */
