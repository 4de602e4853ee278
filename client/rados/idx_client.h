/*
 * idx_client.h - the global fingerprint index, seen from the backup path (internal API).
 *
 * Callers hand over fingerprints in any order and of any partitions; these
 * functions sort them, group them by partition (store->partition_bits),
 * split groups beyond 65,536, give every call a fresh op id, run all calls
 * in parallel (vmd_cls_batch_run on the meta pool) and scatter the results
 * back so that out[i] belongs to in[i]. Duplicate fingerprints in one call
 * are refused (-EINVAL): the class needs strictly ascending batches, and a
 * duplicate has no single meaning (register once or twice?).
 *
 * Atomicity: each partition's call is all-or-nothing, the whole function is
 * not. When one partition fails, the others may have applied; the error
 * returned is the first failed partition's (in partition order), reported
 * through vmd_fail() with the object and method. Transient errors are
 * already retried with the same bytes (same op id) by cls_call.
 *
 * Errors every function may return: -EINVAL (bad VM id, chunk length,
 * delta, duplicate fingerprint), -ENOENT (store not initialised; for ref,
 * mark and unmark also: an fp without entry or not popular), -EBUSY, -ERANGE
 * (see docs/format.md), -EPROTO (reply not understood), -ESTALE (the call
 * applied, but 16 later calls on the partition evicted its reply before it
 * was read), -ENOMEM, and what RADOS returns.
 */
#ifndef VMD_IDX_CLIENT_H
#define VMD_IDX_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <rados/librados.h>

#include "format/index_msg.h"
#include "vmdedup/vmdedup.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Compare-and-register n chunks of VM vm: out[i] is the result of items[i]. */
int vmd_idx_register(vmd_store *s, const char *vm, const vmd_idx_reg_item *items, size_t n,
                     vmd_idx_reg_result *out);

/* VM vm no longer holds fps[0..n): status[i] is VMD_IDX_RELEASED, _REMOVED, ... */
int vmd_idx_release(vmd_store *s, const char *vm, const vmd_fp *fps, size_t n, uint8_t *status);

/* Changes reference counts of popular copies; pop_refs[i] is items[i]'s count after. */
int vmd_idx_ref(vmd_store *s, const vmd_idx_ref_item *items, size_t n, uint64_t *pop_refs);

/* Records popular copies; status[i] is VMD_IDX_MARKED, _ALREADY or _MOVED. */
int vmd_idx_mark_popular(vmd_store *s, const vmd_idx_mark_item *items, size_t n, uint8_t *status);

/* Forgets unreferenced popular copies; status[i] is VMD_IDX_UNMARKED, ... */
int vmd_idx_unmark_popular(vmd_store *s, const vmd_fp *fps, size_t n, uint8_t *status);

/*
 * One page of partition `partition`'s most popular entries (vm_count >=
 * min_vms, at most max of them, strictly after `after` or from the top when
 * NULL). A partition that does not exist yet is an empty page. *out is
 * released with vmd_idx_top_reply_free().
 */
int vmd_idx_top_page(vmd_store *s, unsigned partition, uint32_t min_vms, uint32_t max,
                     const vmd_idx_top_item *after, vmd_idx_top_reply *out);

/* Called for each entry by vmd_idx_top_each(); non-zero stops the walk and is returned. */
typedef int (*vmd_idx_top_fn)(void *arg, const vmd_idx_top_item *item);

/* Every entry of a partition with vm_count >= min_vms, most popular first, page by page. */
int vmd_idx_top_each(vmd_store *s, unsigned partition, uint32_t min_vms, vmd_idx_top_fn fn,
                     void *arg);

/* The counters of every partition, summed (partitions not created yet count as empty). */
int vmd_idx_stats(vmd_store *s, vmd_idx_counters *out);

/*
 * Prints index partition `oid` (header, entries, recent ops) as text, or as
 * one JSON object when json != 0. Errors: -ENOENT (no such partition), -EIO
 * (corrupt header or entries: what is readable is printed first).
 */
int vmd_inspect_idx(vmd_store *s, const char *oid, int json, FILE *f);

/* The omap header of oid in a malloc()ed buffer (librados' C API cannot read it). */
int vmd_rados_omap_header(rados_ioctx_t io, const char *oid, uint8_t **out, size_t *outlen);

#ifdef __cplusplus
}
#endif

#endif /* VMD_IDX_CLIENT_H */
