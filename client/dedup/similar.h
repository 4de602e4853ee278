/*
 * similar.h - finding a parent's segments that resemble a new one (level 2).
 *
 * Each segment of a recipe carries a min-hash signature: the 4 smallest
 * first-8-byte values of its chunk fingerprints (include/format/recipe.h).
 * Two segments sharing many chunks are likely to share some of these
 * values (Broder's min-wise estimate of their resemblance), so the parent
 * segments whose signatures share the most values with a new segment's are
 * the best places to look for its chunks besides the segment at the same
 * offset.
 *
 * The index is a sorted array of (value, segment) pairs built once per
 * backup from the parent's segment table: 16 bytes per value, at most 4
 * values per segment, so 64 bytes per 2 MiB of disk (32 MB per TiB).
 * Lookups are binary searches; an index is read-only after
 * vmd_sim_finish() and may be shared by threads.
 */
#ifndef VMD_SIMILAR_H
#define VMD_SIMILAR_H

#include <stddef.h>
#include <stdint.h>

#include "format/recipe.h"

/* At most this many segments sharing one value are considered (identical segments). */
#define VMD_SIM_RUN_MAX 8

typedef struct vmd_sim_pair {
    uint64_t value;
    uint64_t seg;
} vmd_sim_pair;

typedef struct vmd_sim_index {
    vmd_sim_pair *pairs;
    size_t n, cap;
} vmd_sim_index;

void vmd_sim_init(vmd_sim_index *ix);

/* Adds the signature of segment seg (UINT64_MAX values are skipped). 0 or -ENOMEM. */
int vmd_sim_add(vmd_sim_index *ix, uint64_t seg, const uint64_t sig[VMD_RCP_SIG]);

/* Sorts the pairs; call once after the last add. */
void vmd_sim_finish(vmd_sim_index *ix);

/*
 * Up to max segments (other than exclude) sharing the most signature values
 * with sig, best first; ties go to the segment nearest exclude, then the
 * lower one. Returns how many were written to out.
 */
size_t vmd_sim_best(const vmd_sim_index *ix, const uint64_t sig[VMD_RCP_SIG], uint64_t exclude,
                    uint64_t *out, size_t max);

void vmd_sim_free(vmd_sim_index *ix);

#endif /* VMD_SIMILAR_H */
