/*
 * ctr_client.h - containers from the client's side (internal API of libvmdedup).
 *
 * A container lives in the data pool (`c.<vm>.<id16>`) or the popular pool
 * (`p.<id16>`); `popular` selects the pool. The server-side operations
 * (stats, scrub, compaction) are calls of the class's ctr_* methods; write
 * and read move a built container and single verified chunks for the
 * backup and restore paths. Format: include/format/container.h.
 *
 * Every function returns 0 or a negative errno and describes a failure in
 * one line (naming the object) through the store's error callback.
 * Errors common to all: -ENOENT (no such object), -EIO (corrupt container,
 * or a chunk that fails verification), -EOPNOTSUPP (class not loaded),
 * -ENOMEM, and whatever librados returns.
 */
#ifndef VMD_CTR_CLIENT_H
#define VMD_CTR_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <rados/librados.h>

#include "rados/store_int.h"
#include "format/container.h"
#include "format/container_msg.h"

/* The I/O context of the pool that holds containers of this kind. */
rados_ioctx_t vmd_ctr_pool(vmd_store *s, int popular);

/* vmdedup.ctr_stats of one container. */
int vmd_ctr_stats(vmd_store *s, int popular, const char *oid, vmd_ctr_stats_reply *out);

/*
 * vmdedup.ctr_scrub: verifies every LIVE slot in the OSD. out lists up to
 * max_bad (<= 4096) bad slots; release it with vmd_ctr_scrub_reply_clear.
 * Bad slots are not an error: check out->nbad.
 */
int vmd_ctr_scrub(vmd_store *s, int popular, const char *oid, uint32_t max_bad,
                  vmd_ctr_scrub_reply *out);

/*
 * vmdedup.ctr_compact with a fresh op id: slots whose bit is clear in
 * bitmap (ceil(nslots/8) bytes) stop being live; mode VMD_CTR_COMPACT_MARK
 * marks them DEAD, VMD_CTR_COMPACT_FULL rewrites the object without their
 * bytes. Errors: -EINVAL (nslots is not the container's), -ESTALE (a set
 * bit names a slot that is no longer LIVE).
 */
int vmd_ctr_compact(vmd_store *s, int popular, const char *oid, int mode, const uint8_t *bitmap,
                    uint32_t nslots, vmd_ctr_compact_reply *out);

/*
 * Stores a finished container (vmd_ctr_builder_finish) with write_full,
 * after validating it. -EINVAL when buf is not a valid container.
 */
int vmd_ctr_write(vmd_store *s, int popular, const char *oid, const uint8_t *buf, size_t len);

/*
 * Reads and validates a container's header and table (not its chunk
 * bytes) from pool io. *out is freed with vmd_ctr_free.
 */
int vmd_ctr_load(vmd_store *s, rados_ioctx_t io, const char *oid, vmd_ctr **out);

/*
 * Reads one LIVE slot's chunk, decompressed and verified against its
 * SHA-256. ctr is the container's table from vmd_ctr_load (NULL: loaded
 * for this call). *raw (malloc()ed, caller frees) gets raw_len bytes.
 * Errors also: -ERANGE (no such slot), -ENOENT (slot not LIVE).
 */
int vmd_ctr_read_chunk(vmd_store *s, int popular, const char *oid, const vmd_ctr *ctr,
                       uint32_t slot, uint8_t **raw, size_t *rawlen);

/*
 * Prints a container's header and slot table to f, readably or (json != 0)
 * as one JSON object. A corrupt container prints what failed and returns -EIO.
 */
int vmd_inspect_ctr(vmd_store *s, rados_ioctx_t io, const char *oid, int json, FILE *f);

#endif /* VMD_CTR_CLIENT_H */
