/*
 * read_exact.h - reading exactly n bytes of a file or device (internal).
 *
 * pread() may return fewer bytes than asked (a signal, a pipe-like device,
 * a file that shrank under us) or fail with EINTR; every reader of an image
 * or a dirty map wants all the bytes or one error. vmd_pread_exact() is
 * that loop, once.
 */
#ifndef VMD_READ_EXACT_H
#define VMD_READ_EXACT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Reads len bytes at offset off of fd into buf, retrying after EINTR and
 * after short reads. 0; -errno of a failed pread; -EIO at end of file
 * before len bytes. *done (may be NULL) gets the bytes read before the
 * failure, so a message can name the offset that failed.
 */
int vmd_pread_exact(size_t *done, int fd, void *buf, size_t len, uint64_t off);

#endif /* VMD_READ_EXACT_H */
