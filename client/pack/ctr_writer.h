/*
 * ctr_writer.h - writing containers piece by piece while they are filled
 * (internal API of libvmdedup; the design is at the top of ctr_writer.c).
 *
 * One writer serves one thread and writes a sequence of containers to one
 * pool: open, add chunks until add says -ENOSPC, seal, open the next... and
 * flush before anything may reference them. Writes are asynchronous; a
 * failed write is reported (naming the object) by the call that notices it,
 * and every later call returns the same error.
 */
#ifndef VMD_CTR_WRITER_H
#define VMD_CTR_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "rados/store_int.h"
#include "format/container.h"

#define VMD_CTRW_PIECE    (256u << 10) /* bytes staged before a write is sent */
#define VMD_CTRW_INFLIGHT 4            /* writes in flight (pieces and seals) */

typedef struct vmd_ctr_writer vmd_ctr_writer;

/*
 * A writer of containers of at most target bytes (0 or above 64 MiB:
 * 64 MiB) to the data pool, or the popular pool when popular is 1.
 * Returns 0, -EINVAL (target too small) or -ENOMEM.
 */
int vmd_ctr_writer_new(vmd_ctr_writer **out, vmd_store *s, int popular, size_t target);

/*
 * Starts container id of VM vm (NULL: a popular container, p.<id16>). The
 * previous one must have been sealed. Returns 0 or -EINVAL.
 */
int vmd_ctr_writer_open(vmd_ctr_writer *w, uint64_t id, const char *vm);

/*
 * Adds one chunk already encoded (stored_len bytes, VMD_CTR_RAW or
 * VMD_CTR_ZSTD, raw bytes with SHA-256 fp); *slot_out gets its slot.
 * Returns 0; -ENOSPC (it does not fit: seal and open the next; nothing was
 * added); -EINVAL; or a write error.
 */
int vmd_ctr_writer_add(vmd_ctr_writer *w, const uint8_t fp[VMD_CTR_FP_SIZE], const void *stored,
                       size_t stored_len, size_t raw_len, int encoding, uint32_t *slot_out);

/* Slots of the open container (0 when none is open). */
uint32_t vmd_ctr_writer_nslots(const vmd_ctr_writer *w);

/* Object name of the open (or last) container. */
const char *vmd_ctr_writer_oid(const vmd_ctr_writer *w);

/* Sends the rest of the open container with its header and table. 0 when none is open. */
int vmd_ctr_writer_seal(vmd_ctr_writer *w);

/* Waits for every write in flight. Returns 0 or the first write error. */
int vmd_ctr_writer_flush(vmd_ctr_writer *w);

/* Waits for what is in flight and frees the writer. NULL-safe. */
void vmd_ctr_writer_free(vmd_ctr_writer *w);

#endif /* VMD_CTR_WRITER_H */
