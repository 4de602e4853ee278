/*
 * avail.h - the probability that everything a snapshot references survives OSD failures.
 *
 * A snapshot is restorable when every object it references keeps at least
 * one live replica. Each OSD fails independently with probability f; an
 * object is lost when every OSD of its acting set failed. With the sets
 * S_1..S_m of the objects (one per placement group in practice):
 *
 *   exact        over the union U of their OSDs when |U| <= VMD_AVAIL_EXACT_OSDS:
 *                sum over failure states F of U with no S_j inside F of
 *                f^|F| (1-f)^(|U|-|F|), computed once per number of failed OSDs
 *                so that any number of f cost one enumeration;
 *   lower bound  otherwise: prod_j (1 - f^|S_j|) over the distinct sets. The
 *                events "S_j keeps a replica" are increasing in the set of
 *                live OSDs, so by the FKG (Harris) inequality they are
 *                positively correlated and the product never overestimates.
 *
 * Pure code (no I/O), unit-tested in tests/unit/test_cds.c.
 */
#ifndef VMD_AVAIL_H
#define VMD_AVAIL_H

#include <stddef.h>
#include <stdint.h>

#define VMD_AVAIL_EXACT_OSDS 20 /* 2^20 failure states */
#define VMD_AVAIL_SET_MAX    16 /* OSDs in one acting set */

typedef struct vmd_osdset {
    uint32_t n;
    int32_t osd[VMD_AVAIL_SET_MAX];
} vmd_osdset;

/*
 * P(every set keeps a live OSD) for each f[i] into out[i]. *exact is 1
 * when enumerated exactly, 0 for the FKG lower bound; *nosds (may be NULL)
 * receives |U|. No sets: probability 1. An empty set (an object with no OSD)
 * can never be read: probability 0. Returns 0 or -ENOMEM.
 */
int vmd_avail_compute(const vmd_osdset *sets, size_t nsets, const double *f, size_t nf, double *out,
                      int *exact, uint32_t *nosds);

#endif /* VMD_AVAIL_H */
