/*
 * index_methods.h - the index-partition methods of the class.
 *
 * Logic: index_register.c (register, release, ref), index_popular.c
 * (mark/unmark popular, top, reply, stats), over index_partition.c (the
 * partition's state and the driver of every mutating method).
 *
 * Each takes the partition object and the raw request. Read methods return
 * their encoded reply (index_msg.h) in a malloc()ed buffer; mutating methods
 * return no output (an OSD refuses write ops whose output exceeds
 * osd_max_write_op_reply_len, 64 bytes): they store their reply under
 * ~op.<op_id>, where idx_reply fetches it. See cls_methods.h for
 * the uniform signature and docs/format.md, "Methods on partitions", for
 * what each one does. Errors: -EINVAL (malformed request, wrong bits or
 * partition, inconsistent chunk length), -EPROTO (newer request version),
 * -ENOENT (missing entry or partition), -EBUSY, -ERANGE, -EIO (corrupt
 * stored state, logged), -ENOMEM.
 */
#ifndef VMD_M_IDX_H
#define VMD_M_IDX_H

#include <stddef.h>
#include <stdint.h>

#include "methods/cls_obj.h"

/* vmdedup.idx_register (WR): compare-and-register a batch of fingerprints. */
int vmd_m_idx_register(vmd_obj *obj, const uint8_t *in, size_t inlen, uint8_t **out,
                       size_t *outlen);

/* vmdedup.idx_release (WR): a VM no longer holds these chunks. */
int vmd_m_idx_release(vmd_obj *obj, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen);

/* vmdedup.idx_ref (WR): change reference counts of popular copies, all or nothing. */
int vmd_m_idx_ref(vmd_obj *obj, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen);

/* vmdedup.idx_mark_popular (WR): record where the popular copies of chunks are. */
int vmd_m_idx_mark_popular(vmd_obj *obj, const uint8_t *in, size_t inlen, uint8_t **out,
                           size_t *outlen);

/* vmdedup.idx_unmark_popular (WR): forget unreferenced popular copies. */
int vmd_m_idx_unmark_popular(vmd_obj *obj, const uint8_t *in, size_t inlen, uint8_t **out,
                             size_t *outlen);

/* vmdedup.idx_top (RD): the most popular entries, a page at a time. */
int vmd_m_idx_top(vmd_obj *obj, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen);

/* vmdedup.idx_reply (RD): the stored reply of one of the last 16 mutating calls. */
int vmd_m_idx_reply(vmd_obj *obj, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen);

/* vmdedup.idx_stats (RD): the partition's counters. */
int vmd_m_idx_stats(vmd_obj *obj, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen);

#endif /* VMD_M_IDX_H */
