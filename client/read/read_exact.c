/*
 * read_exact.c - vmd_pread_exact(): all the bytes asked for, or one error.
 *
 * The loop every image and dirty-map reader needs: pread() again after
 * EINTR or a short read; end of file before the last byte is -EIO (the
 * file is shorter than its size said, e.g. an image that shrank).
 */
#include "read/read_exact.h"

#include <errno.h>
#include <sys/types.h>
#include <unistd.h>

int vmd_pread_exact(size_t *done, int fd, void *buf, size_t len, uint64_t off)
{
    size_t got = 0;
    int err = 0;

    while (got < len) {
        ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err = n < 0 ? -errno : -EIO;
            break;
        }
        got += (size_t)n;
    }
    if (done)
        *done = got;
    return err;
}
