/*
 * cls_shim.h - C access to the OSD's C++-only object operations.
 *
 * Each function wraps one cls_cxx_* call of ceph-osd and converts between
 * plain buffers and ceph::bufferlist. They never throw (C++ exceptions are
 * caught and turned into -ENOMEM or -EIO) and return what the OSD returned:
 * 0 or a positive count on success, a negative errno on failure.
 *
 * Buffers returned through uint8_t ** are allocated with malloc(); the
 * caller frees them with free(). Remember that within one method call a
 * read does not see what the same call wrote.
 */
#ifndef VMD_CLS_SHIM_H
#define VMD_CLS_SHIM_H

#include <stddef.h>
#include <stdint.h>

#include "osd/cls_api.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef int (*vmd_cls_omap_fn)(void *arg, const char *key, const uint8_t *val, size_t len);

/* Size of the object's data; -ENOENT when the object does not exist. */
int vmd_cls_stat(cls_method_context_t h, uint64_t *size);

/* Creates the object (exclusive: -EEXIST if it exists). */
int vmd_cls_create(cls_method_context_t h, int exclusive);

int vmd_cls_remove(cls_method_context_t h);

/* Reads up to len bytes at off into a new buffer. */
int vmd_cls_read(cls_method_context_t h, uint64_t off, size_t len, uint8_t **out, size_t *outlen);

/* Replaces the whole data of the object. */
int vmd_cls_write_full(cls_method_context_t h, const void *buf, size_t len);

/* Writes len bytes at off. */
int vmd_cls_write(cls_method_context_t h, uint64_t off, const void *buf, size_t len);

int vmd_cls_truncate(cls_method_context_t h, uint64_t size);

/* One omap value; -ENOENT when the key is absent. */
int vmd_cls_omap_get(cls_method_context_t h, const char *key, uint8_t **val, size_t *len);

int vmd_cls_omap_set(cls_method_context_t h, const char *key, const void *val, size_t len);

int vmd_cls_omap_remove(cls_method_context_t h, const char *key);

/* Sets n keys in one operation. */
int vmd_cls_omap_set_many(cls_method_context_t h, const char *const *keys,
                          const uint8_t *const *vals, const size_t *lens, size_t n);

/* Looks up n keys in one operation; fn is called for each key that exists, in key order. */
int vmd_cls_omap_get_keys(cls_method_context_t h, const char *const *keys, size_t n,
                          vmd_cls_omap_fn fn, void *arg);

/* An extended attribute; -ENODATA/-ENOENT when absent. */
int vmd_cls_getxattr(cls_method_context_t h, const char *name, uint8_t **val, size_t *len);
int vmd_cls_setxattr(cls_method_context_t h, const char *name, const void *val, size_t len);

/*
 * Pages through omap: calls fn for at most max keys strictly after `after`
 * (NULL or "" for the first page), in key order. *more is set when keys
 * remain. fn returning non-zero stops the walk and becomes the return value.
 */
int vmd_cls_omap_page(cls_method_context_t h, const char *after, uint64_t max, vmd_cls_omap_fn fn,
                      void *arg, int *more);

/* The omap header (a value stored beside the keys); empty if never set. */
int vmd_cls_omap_header_get(cls_method_context_t h, uint8_t **val, size_t *len);
int vmd_cls_omap_header_set(cls_method_context_t h, const void *val, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* VMD_CLS_SHIM_H */
