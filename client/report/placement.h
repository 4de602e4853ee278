/*
 * placement.h - where RADOS places the store's objects: acting OSD sets (internal API).
 *
 * The availability figures of `vmdedup stats` use the cluster's real
 * placement. Asking the monitor for every object ("osd map") would cost a
 * round trip per container, so the placement group of an object is
 * computed here as Ceph does (rjenkins hash of "<namespace>\037<name>",
 * folded onto pg_num with ceph_stable_mod) and the monitor is asked once
 * per placement group ("pg map"). The first object of each pool is also
 * asked with "osd map" and its raw hash compared with ours: a pool whose
 * hash differs (a non-default object_hash) falls back to one "osd map" per
 * object. Mon commands need only `mon 'allow r'`.
 */
#ifndef VMD_PLACEMENT_H
#define VMD_PLACEMENT_H

#include <stddef.h>
#include <stdint.h>

#include "report/avail.h"
#include "rados/store_int.h"

enum { VMD_POOL_META = 0, VMD_POOL_DATA = 1, VMD_POOL_POPULAR = 2 };

typedef struct vmd_place vmd_place;

/* Reads pg_num and size of the store's three pools. Errors are reported. */
int vmd_place_new(vmd_store *s, vmd_place **out);

/* The replication size of a pool (VMD_POOL_*). */
uint32_t vmd_place_size(const vmd_place *p, int pool);

/*
 * The acting set of object oid in pool (VMD_POOL_*), and a key naming its
 * placement group (pool << 32 | ps) so callers can count each group once.
 */
int vmd_place_acting(vmd_place *p, int pool, const char *oid, vmd_osdset *out, uint64_t *pg);

/* Mon commands sent so far (for the tests: one per placement group). */
uint64_t vmd_place_commands(const vmd_place *p);

void vmd_place_free(vmd_place *p);

/* Ceph's rjenkins string hash (ceph_str_hash_rjenkins); exposed for the tests. */
uint32_t vmd_place_hash(const char *s, size_t len);

#endif /* VMD_PLACEMENT_H */
