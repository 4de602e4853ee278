/*
 * limits.h - the limits that the class, the client and the stored formats share.
 *
 * Each limit is defined here once. A format that has its own name for one
 * (VMD_CTR_CHUNK_MAX, VMD_RCP_VM_MAX, ...) defines that name as this one, and
 * a copy that cannot include this header (the installed vmdedup/vmdedup.h
 * repeats VMD_VM_ID_MAX for the library's users) is tied to it by a
 * _Static_assert in a file that sees both (client/rados/store_int.h). So a
 * limit changes in one place, or the build fails.
 *
 *     limit              value     what it bounds
 *     VMD_FP_SIZE        32        a fingerprint: the SHA-256 of a chunk's bytes
 *     VMD_OP_ID_SIZE     16        the operation id of a mutating class call
 *     VMD_VM_ID_MAX      64        bytes of a VM id (the rule: vmd_vm_id_valid)
 *     VMD_CHUNK_MAX      1 MiB     a chunk's uncompressed length: chunker maximum,
 *                                  index entries, container slots, recipe refs,
 *                                  CDS manifest entries
 *     VMD_SEGMENT_SHIFT  21        2 MiB segments: the unit of dirty maps and recipes
 *     VMD_DISK_MAX       64 TiB    a disk: recipes, dirty maps
 *     VMD_IDX_MAX_BITS   16        at most 2^16 index partitions
 *
 * Changing any of them changes the stored format or the wire: see
 * docs/format.md before you do.
 */
#ifndef VMD_FORMAT_LIMITS_H
#define VMD_FORMAT_LIMITS_H

#include <stddef.h>

#ifdef __cplusplus
#define VMD_STATIC_ASSERT static_assert /* for the C++ shims that include format headers */
extern "C" {
#else
#define VMD_STATIC_ASSERT _Static_assert
#endif

#define VMD_FP_SIZE       32           /* SHA-256 */
#define VMD_OP_ID_SIZE    16           /* operation id of a mutating call */
#define VMD_VM_ID_MAX     64           /* bytes of a VM id */
#define VMD_CHUNK_MAX     1048576      /* uncompressed chunk length, 1 MiB */
#define VMD_SEGMENT_SHIFT 21           /* 2 MiB segments */
#define VMD_DISK_MAX      (1ull << 46) /* 64 TiB */
#define VMD_IDX_MAX_BITS  16           /* at most 2^16 index partitions */

VMD_STATIC_ASSERT(VMD_CHUNK_MAX <= (1 << VMD_SEGMENT_SHIFT), "a chunk never crosses a segment");
VMD_STATIC_ASSERT(VMD_VM_ID_MAX <= 255, "a VM id is sent as a str8");

/*
 * The VM-id rule: 1 when vm[0..n) is a valid VM id, 1..VMD_VM_ID_MAX bytes of
 * [A-Za-z0-9._:-] (safe in object names, omap keys and xattrs). The one
 * implementation is in cls/format/index.c.
 */
int vmd_vm_id_valid(const char *vm, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* VMD_FORMAT_LIMITS_H */
