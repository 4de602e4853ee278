/*
 * cls_obj.h - the one object a class method works on, behind an ops table.
 *
 * Class logic (index partitions, containers) never calls the OSD directly: it
 * takes a vmd_obj, whose ops are the OSD's (cls_obj_osd.c, through the C++
 * shim) inside ceph-osd, and an in-memory object (tests/lib/mem_obj.c) in
 * unit tests and fuzzers. The logic is thereby tested natively, and the same
 * code runs in the OSD.
 *
 * Contract of every op: 0 (or a count) on success, negative errno on failure;
 * -ENOENT for a missing object or key. Buffers returned through uint8_t **
 * come from malloc() and are freed by the caller with free(). As in the OSD,
 * a method does not see its own writes: read everything first, write last.
 */
#ifndef VMD_CLS_OBJ_H
#define VMD_CLS_OBJ_H

#include <stddef.h>
#include <stdint.h>

/* Called for each key of an omap page; non-zero stops the walk and is returned. */
typedef int (*vmd_obj_omap_fn)(void *arg, const char *key, const uint8_t *val, size_t len);

typedef struct vmd_obj_ops {
    int (*stat)(void *h, uint64_t *size);
    int (*read)(void *h, uint64_t off, size_t len, uint8_t **out, size_t *outlen);
    int (*write_full)(void *h, const void *buf, size_t len);
    int (*write)(void *h, uint64_t off, const void *buf, size_t len);
    int (*truncate)(void *h, uint64_t size);
    int (*getxattr)(void *h, const char *name, uint8_t **val, size_t *len);
    int (*setxattr)(void *h, const char *name, const void *val, size_t len);
    int (*omap_get)(void *h, const char *key, uint8_t **val, size_t *len);
    /* Looks up n keys at once; fn is called for each key that exists. */
    int (*omap_get_keys)(void *h, const char *const *keys, size_t n, vmd_obj_omap_fn fn, void *arg);
    int (*omap_set)(void *h, const char *const *keys, const uint8_t *const *vals,
                    const size_t *lens, size_t n);
    int (*omap_remove)(void *h, const char *key);
    /* At most max keys strictly after `after` ("" = from the start), in order. */
    int (*omap_page)(void *h, const char *after, uint64_t max, vmd_obj_omap_fn fn, void *arg,
                     int *more);
    int (*omap_header_get)(void *h, uint8_t **val, size_t *len);
    int (*omap_header_set)(void *h, const void *val, size_t len);
} vmd_obj_ops;

typedef struct vmd_obj {
    const vmd_obj_ops *ops;
    void *h; /* cls_method_context_t in the OSD */
} vmd_obj;

/* The OSD's implementation (cls_obj_osd.c); h is the method's context. */
extern const vmd_obj_ops vmd_obj_osd_ops;

/* Largest omap page the OSD serves per request (osd_max_omap_entries_per_request). */
#define VMD_OMAP_PAGE 1024

#endif /* VMD_CLS_OBJ_H */
