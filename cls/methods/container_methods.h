/*
 * container_methods.h - the container methods of the class (logic in m_ctr.c).
 *
 * Each has the uniform signature of cls_methods.h. Messages: ctr_ops.h;
 * the container format: container.h; rules: docs/format.md, "Containers".
 */
#ifndef VMD_M_CTR_H
#define VMD_M_CTR_H

#include <stddef.h>
#include <stdint.h>

#include "methods/cls_obj.h"

/* vmdedup.ctr_scrub (RD): verifies every LIVE slot; reply vmd_ctr_scrub_reply. */
int vmd_m_ctr_scrub(vmd_obj *obj, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen);

/* vmdedup.ctr_compact (WR): marks slots dead or rewrites without them; reply
 * vmd_ctr_compact_reply. */
int vmd_m_ctr_compact(vmd_obj *obj, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen);

/* vmdedup.ctr_stats (RD): counts and sizes from the header and table; reply
 * vmd_ctr_stats_reply. */
int vmd_m_ctr_stats(vmd_obj *obj, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen);

#endif /* VMD_M_CTR_H */
