/*
 * segment.h - the unit of a disk that the data path works on.
 *
 * A disk is cut into fixed 2 MiB segments: segment s covers the bytes
 * [s * 2 MiB, min((s + 1) * 2 MiB, disk size)), so only the last segment of a
 * disk whose size is not a multiple of 2 MiB is shorter. Dirty maps mark
 * segments (level 1 of the deduplication); chunks never cross a segment
 * boundary, so a segment is chunked, fingerprinted and deduplicated on its
 * own (levels 2 and 3). The size is part of the stored format: recipes
 * describe a disk segment by segment.
 */
#ifndef VMD_SEGMENT_H
#define VMD_SEGMENT_H

#include <stdint.h>

#include "format/limits.h" /* VMD_SEGMENT_SHIFT: the stored formats' segment */

#define VMD_SEGMENT_SIZE (1u << VMD_SEGMENT_SHIFT) /* 2 MiB */

/* Segments of a disk of `size` bytes: ceil(size / 2 MiB). */
static inline uint64_t vmd_segment_count(uint64_t size)
{
    return (size >> VMD_SEGMENT_SHIFT) + ((size & (VMD_SEGMENT_SIZE - 1)) != 0);
}

#endif /* VMD_SEGMENT_H */
