/*
 * fuzz_dirtymap.c - the dirty-map parser on any bytes, for any disk size.
 *
 * Input: 8 bytes that choose the disk size (a 56-bit value shifted right by
 * the low 6 bits of the first byte, so small, odd and huge sizes all occur,
 * including 0 and sizes above the 64 TiB limit), then the map itself.
 * Checks: only the documented errors, a one-line NUL-terminated message, no
 * map on error; on success a consistent map (dirty count, iteration, nothing
 * past the last segment), which written back as a text list parses to the
 * same map.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "read/dirtymap.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

/* The dirty segments of m as a text list of ranges; NULL when too long to bother. */
static char *as_list(const vmd_dirtymap *m, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *s = malloc(cap);
    uint64_t a = 0, b;

    if (!s)
        return NULL;
    while (vmd_dirtymap_next(m, a, &a) == 0) {
        for (b = a; vmd_dirtymap_test(m, b + 1); b++)
            ;
        if (cap - n < 64) {
            free(s);
            return NULL;
        }
        n += (size_t)snprintf(s + n, cap - n, "%llu-%llu\n", (unsigned long long)a,
                              (unsigned long long)b);
        a = b + 1;
    }
    *len = n;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vmd_dirtymap *m = NULL, *m2 = NULL;
    uint64_t raw = 0, disk, segs, dirty = 0, s;
    char msg[128];
    char *list;
    size_t len;
    int err;

    if (size < 8)
        return 0;
    memcpy(&raw, data, 8);
    disk = (raw >> 8) >> (raw & 63);
    err = vmd_dirtymap_parse(&m, data + 8, size - 8, disk, msg, sizeof(msg));
    if (err) {
        check(err == -EINVAL || err == -ERANGE || err == -EFBIG || err == -ENOMEM);
        check(m == NULL);
        check(memchr(msg, 0, sizeof(msg)) != NULL);
        check(strchr(msg, '\n') == NULL && msg[0] != 0);
        return 0;
    }
    segs = vmd_dirtymap_segments(m);
    check(segs == (disk + VMD_SEGMENT_SIZE - 1) / VMD_SEGMENT_SIZE);
    check(vmd_dirtymap_disk_size(m) == disk);
    for (s = 0; vmd_dirtymap_next(m, s, &s) == 0; s++) {
        check(s < segs && vmd_dirtymap_test(m, s));
        dirty++;
    }
    check(dirty == vmd_dirtymap_dirty_count(m));
    check(!vmd_dirtymap_test(m, segs));
    if (dirty < 2000 && (list = as_list(m, &len)) != NULL) {
        check(vmd_dirtymap_parse(&m2, list, len, disk, msg, sizeof(msg)) == 0);
        check(vmd_dirtymap_dirty_count(m2) == dirty);
        for (s = 0; vmd_dirtymap_next(m, s, &s) == 0; s++)
            check(vmd_dirtymap_test(m2, s));
        vmd_dirtymap_free(m2);
        free(list);
    }
    vmd_dirtymap_free(m);
    return 0;
}
