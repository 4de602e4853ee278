/*
 * read_exact.h - reading exactly n bytes of a RADOS object (internal).
 *
 * rados_read() returns how many bytes it read, which is fewer than asked
 * at the end of the object; and one OSD read is best kept to a bounded
 * size. Recipes, container tables and container slots are all read with
 * vmd_rados_read_exact(): the bytes asked for, or an error.
 */
#ifndef VMD_RADOS_READ_EXACT_H
#define VMD_RADOS_READ_EXACT_H

#include <stddef.h>
#include <stdint.h>

#include <rados/librados.h>

/* Bytes asked of one rados_read() at most. */
#define VMD_RADOS_READ_MAX (16u << 20)

/*
 * Reads len bytes at off of object oid in pool io into buf, in reads of
 * at most VMD_RADOS_READ_MAX. 0; the librados error (-ENOENT: no object);
 * -EIO when the object ends before off + len. Reports nothing: callers
 * name the object in their own message (some run in worker threads).
 */
int vmd_rados_read_exact(rados_ioctx_t io, const char *oid, uint8_t *buf, size_t len, uint64_t off);

#endif /* VMD_RADOS_READ_EXACT_H */
