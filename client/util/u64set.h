/*
 * u64set.h - a set of 64-bit ids (container ids, OSD sets), open addressing (internal).
 *
 * Used where a walk over many references must count or list the distinct
 * objects they name: the popular containers of a CDS manifest, the
 * containers a snapshot depends on. Memory: 16 bytes per slot, at most
 * half full; grows by doubling. Zero is a valid member.
 */
#ifndef VMD_U64SET_H
#define VMD_U64SET_H

#include <stddef.h>
#include <stdint.h>

typedef struct vmd_u64set {
    uint64_t *keys;
    uint8_t *used;
    size_t cap, n;
} vmd_u64set;

/* An empty set (no allocation until the first add). */
void vmd_u64set_init(vmd_u64set *s);

/* Adds v: 1 when it was new, 0 when present, -ENOMEM. */
int vmd_u64set_add(vmd_u64set *s, uint64_t v);

/* 1 when v is in the set. */
int vmd_u64set_has(const vmd_u64set *s, uint64_t v);

/* The members in ascending order into a malloc()ed array (NULL when empty); -ENOMEM. */
int vmd_u64set_sorted(const vmd_u64set *s, uint64_t **out);

void vmd_u64set_free(vmd_u64set *s);

#endif /* VMD_U64SET_H */
