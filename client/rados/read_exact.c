/*
 * read_exact.c - vmd_rados_read_exact(): the whole byte range of an object, or an error.
 *
 * rados_read() stops at the end of the object and returns the count it
 * read; a count short of the range means the object is shorter than the
 * format that named the range says, which readers treat as corruption
 * (-EIO). Large ranges go out in pieces of VMD_RADOS_READ_MAX.
 */
#include "rados/read_exact.h"

#include <errno.h>

int vmd_rados_read_exact(rados_ioctx_t io, const char *oid, uint8_t *buf, size_t len, uint64_t off)
{
    size_t done = 0;

    while (done < len) {
        size_t n = len - done < VMD_RADOS_READ_MAX ? len - done : VMD_RADOS_READ_MAX;
        int rc = rados_read(io, oid, (char *)buf + done, n, off + done);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return -EIO;
        done += (size_t)rc;
    }
    return 0;
}
