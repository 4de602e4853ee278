/*
 * dirtymap.h - which 2 MiB segments of a disk changed since the parent snapshot.
 *
 * Level 1 of the deduplication: a segment the hypervisor did not write since
 * the parent snapshot is not read at all, its recipe entry says "same as
 * parent". The hypervisor (or the toolstack) describes what changed in one of
 * two formats, told apart automatically (full specification with examples:
 * docs/dirty-maps.md):
 *
 *   text list   one item per line: a segment index "N", an inclusive segment
 *               range "N-M", or a byte range "bytes OFFSET+LENGTH"; numbers
 *               decimal or 0x hex; "#" starts a comment; blank lines ignored.
 *   CBT bitmap  XenServer changed-block tracking: one bit per 64 KiB block,
 *               bit i%8 of byte i/8 is block i (LSB first), exactly
 *               ceil(ceil(size / 64 KiB) / 8) bytes, base64-encoded;
 *               optionally preceded by "cbt:"; whitespace anywhere.
 *
 * Whatever the input, the result is a bitmap of ceil(size / 2 MiB) bits, one
 * per segment: a segment is dirty when any byte of it is. Memory is that
 * bitmap and nothing else (a CBT bitmap is folded while it is decoded), so it
 * is bounded by the disk size: 4 MiB for the largest disk accepted,
 * VMD_DIRTYMAP_DISK_MAX (64 TiB).
 *
 * Parsing validates everything and either returns a complete map or an
 * error with nothing allocated: the caller has not touched the store yet.
 * The map is immutable after parsing; any number of threads may read it.
 */
#ifndef VMD_DIRTYMAP_H
#define VMD_DIRTYMAP_H

#include <stddef.h>
#include <stdint.h>

#include "read/segment.h"

#define VMD_DIRTYMAP_DISK_MAX VMD_DISK_MAX /* 64 TiB (format/limits.h) */
#define VMD_CBT_BLOCK_SHIFT   16
#define VMD_CBT_BLOCK_SIZE    (1u << VMD_CBT_BLOCK_SHIFT) /* 64 KiB */

typedef enum vmd_dirtymap_format {
    VMD_DIRTYMAP_LIST = 1, /* parsed from a text list */
    VMD_DIRTYMAP_CBT = 2,  /* parsed from a base64 changed-block bitmap */
    VMD_DIRTYMAP_ALL = 3,  /* no map: every segment dirty (vmd_dirtymap_new_all) */
} vmd_dirtymap_format;

typedef struct vmd_dirtymap vmd_dirtymap;

/*
 * Parses a dirty map of `len` bytes (need not be NUL-terminated) for a disk
 * of disk_size bytes into *out (freed with vmd_dirtymap_free). On error *out
 * is untouched and a one-line message without trailing newline (text lists:
 * starting with "line N: ") is written to msg when msglen > 0.
 * Errors:
 *   -EINVAL  malformed text list line; bad base64; disk_size 0; NULL arguments
 *   -ERANGE  a segment, segment range or byte range beyond the disk, or a
 *            number above 2^64-1; a CBT bitmap whose length does not match the
 *            disk, or with a bit set for a block beyond its end
 *   -EFBIG   disk_size above VMD_DIRTYMAP_DISK_MAX
 *   -ENOMEM
 */
int vmd_dirtymap_parse(vmd_dirtymap **out, const void *data, size_t len, uint64_t disk_size,
                       char *msg, size_t msglen);

/* A map with every segment dirty (a first backup, or no map given). Errors: as above. */
int vmd_dirtymap_new_all(vmd_dirtymap **out, uint64_t disk_size);

/* Frees m; NULL is ignored. */
void vmd_dirtymap_free(vmd_dirtymap *m);

/* The disk size, segment count, number of dirty segments and input format of m. */
uint64_t vmd_dirtymap_disk_size(const vmd_dirtymap *m);
uint64_t vmd_dirtymap_segments(const vmd_dirtymap *m);
uint64_t vmd_dirtymap_dirty_count(const vmd_dirtymap *m);
vmd_dirtymap_format vmd_dirtymap_format_of(const vmd_dirtymap *m);

/* 1 when segment seg is dirty, 0 when clean or seg >= vmd_dirtymap_segments(m). */
int vmd_dirtymap_test(const vmd_dirtymap *m, uint64_t seg);

/* *seg = the first dirty segment >= from; 0, or -ENOENT when there is none. */
int vmd_dirtymap_next(const vmd_dirtymap *m, uint64_t from, uint64_t *seg);

#endif /* VMD_DIRTYMAP_H */
