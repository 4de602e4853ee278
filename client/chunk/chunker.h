/*
 * chunker.h - content-defined chunking of a segment (FastCDC style).
 *
 * A dirty 2 MiB segment is cut into variable-size chunks whose boundaries
 * depend on the content only, so that inserting or deleting bytes moves the
 * boundaries near the edit and nowhere else: the chunks after it are found
 * again, with the same fingerprints, and deduplicate.
 *
 * The cut rule (Xia et al., "FastCDC", USENIX ATC 2016) with the published
 * system's sizes as defaults (min 2 KiB, avg 4 KiB, max 16 KiB):
 *
 *     skip the first `min` bytes of the chunk (no boundary can be there);
 *     h = 0; for each following byte b:  h = (h << 1) + GEAR[b]
 *     before `normal` bytes:  cut after b when (h & MASK_S) == 0   (hard)
 *     from `normal` bytes on: cut after b when (h & MASK_L) == 0   (easy)
 *     cut at `max` bytes, or at the end of the segment.
 *
 * With avg = 2^k, MASK_S is the top k+2 bits of the 64-bit hash and MASK_L the
 * top k-2 bits ("normalized chunking", level 2): cuts before `normal` are 4x
 * rarer and after it 4x more frequent than 1 in avg, which pulls the sizes
 * towards `normal` and keeps few chunks near min or max. The top bits are the
 * ones that depend on the most bytes (bit j of h depends on the last j+1
 * bytes), so the boundary decision looks at a window of up to 64 bytes.
 * normal = max(min, avg - avg/4): measured on random data this puts the mean
 * chunk size within a few percent of avg for the defaults (the skipped
 * prefix and the easy mask otherwise push it ~20% above avg).
 *
 * Compatibility: GEAR (a table of 256 64-bit values, chunker.c), the masks,
 * `normal` and the rule above decide every boundary and therefore every
 * fingerprint a store holds. Changing any of them, or a store's min/avg/max,
 * makes new backups share no chunk with old ones. test_chunker pins the table
 * and the boundaries of a fixed buffer.
 *
 * A vmd_chunker is a small value (no allocation): initialise it once per store
 * and share it read-only between threads.
 */
#ifndef VMD_CHUNKER_H
#define VMD_CHUNKER_H

#include <stddef.h>
#include <stdint.h>

#include "format/limits.h"
#include "read/segment.h"

#define VMD_CHUNK_MIN_DEFAULT 2048u
#define VMD_CHUNK_AVG_DEFAULT 4096u
#define VMD_CHUNK_MAX_DEFAULT 16384u
#define VMD_CHUNK_MIN_LIMIT   64u                       /* min >= 64: the gear hash's window */
#define VMD_CHUNK_MAX_LIMIT   ((unsigned)VMD_CHUNK_MAX) /* max <= 1 MiB (format/limits.h) */

/* A store's chunk-size parameters, in bytes. */
typedef struct vmd_chunk_params {
    uint32_t min; /* no boundary before min bytes */
    uint32_t avg; /* target mean size, a power of two */
    uint32_t max; /* a boundary at max bytes at the latest */
} vmd_chunk_params;

/* A validated chunker: the parameters and the masks derived from them. */
typedef struct vmd_chunker {
    vmd_chunk_params p;
    uint32_t normal; /* hard mask before this size, easy mask from it on */
    uint64_t mask_s; /* top log2(avg)+2 bits */
    uint64_t mask_l; /* top log2(avg)-2 bits */
} vmd_chunker;

/* One chunk of a segment: bytes [off, off + len) of the buffer. */
typedef struct vmd_chunk {
    uint32_t off;
    uint32_t len;
} vmd_chunk;

/*
 * Validates params (NULL = the defaults) and fills *c.
 * Errors: -EINVAL (avg not a power of two, or not min < avg < max),
 *         -ERANGE (min < VMD_CHUNK_MIN_LIMIT or max > VMD_CHUNK_MAX_LIMIT).
 */
int vmd_chunker_init(vmd_chunker *c, const vmd_chunk_params *params);

/*
 * Length of the first chunk of buf[0..len): len itself when len <= min,
 * otherwise a content-defined cut in (min, min(len, max)].
 * Returns 0 only for len == 0.
 */
size_t vmd_chunk_next(const vmd_chunker *c, const uint8_t *buf, size_t len);

/* An upper bound of the chunks a buffer of len bytes can have (for sizing `out`). */
size_t vmd_chunk_count_max(const vmd_chunker *c, size_t len);

/*
 * Cuts buf[0..len) (one segment, len <= VMD_SEGMENT_SIZE) into chunks without
 * copying: out[0..*n) are consecutive, cover the buffer exactly, all but the
 * last are longer than min, none is longer than max. An empty buffer has no
 * chunk. out holds cap entries (vmd_chunk_count_max() is always enough).
 * Errors: -EINVAL (len > VMD_SEGMENT_SIZE, or NULL buf with len > 0),
 *         -ENOSPC (more than cap chunks; *n and out are then unspecified).
 */
int vmd_chunk_segment(const vmd_chunker *c, const uint8_t *buf, size_t len, vmd_chunk *out,
                      size_t cap, size_t *n);

/* The gear table (exposed for the test that pins it). */
extern const uint64_t vmd_chunk_gear[256];

#endif /* VMD_CHUNKER_H */
