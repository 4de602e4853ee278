/*
 * mem_obj.h - an in-memory RADOS object for unit tests and fuzzers of class logic.
 *
 * It implements vmd_obj_ops with the OSD's transaction semantics, so tests
 * catch the mistakes the OSD would punish:
 *   - reads see the state before the call, never the call's own writes;
 *   - mem_obj_call() applies the writes only when the method returns >= 0,
 *     and discards them on error, as the OSD discards a failed op's transaction;
 *   - omap pages are capped at VMD_OMAP_PAGE keys, as osd_max_omap_entries_per_request.
 * This is a stand-in for one object inside one OSD, not for librados.
 */
#ifndef VMD_MEM_OBJ_H
#define VMD_MEM_OBJ_H

#include <stddef.h>
#include <stdint.h>

#include "methods/cls_obj.h"

typedef struct mem_obj mem_obj;

/* A new, non-existent object (NULL on allocation failure). */
mem_obj *mem_obj_new(void);
void mem_obj_free(mem_obj *m);

/* The vmd_obj that class logic receives (valid until mem_obj_free). */
vmd_obj *mem_obj_handle(mem_obj *m);

/* Runs fn as the OSD would: commits its writes iff it returns >= 0. *out is the reply. */
typedef int (*mem_method_fn)(vmd_obj *obj, const uint8_t *in, size_t inlen, uint8_t **out,
                             size_t *outlen);
int mem_obj_call(mem_obj *m, mem_method_fn fn, const uint8_t *in, size_t inlen, uint8_t **out,
                 size_t *outlen);

/* Inspection for assertions (committed state). */
int mem_obj_exists(const mem_obj *m);
size_t mem_obj_omap_count(const mem_obj *m);
size_t mem_obj_size(const mem_obj *m);
const uint8_t *mem_obj_data(const mem_obj *m);

/* Direct writes of committed state, to set up corrupt objects in tests. */
int mem_obj_put_data(mem_obj *m, const void *buf, size_t len);
int mem_obj_put_omap(mem_obj *m, const char *key, const void *val, size_t len);
int mem_obj_put_header(mem_obj *m, const void *buf, size_t len);

#endif /* VMD_MEM_OBJ_H */
