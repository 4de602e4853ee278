/*
 * cls_methods.h - the logic of every method of the class, OSD-independent.
 *
 * A method's logic takes the object it runs on (cls_obj.h) and the raw
 * request, and returns a reply in a malloc()ed buffer (or none). cls_main.c
 * adapts each to the OSD's C method signature; unit tests and fuzzers call
 * them on an in-memory object. The return value is 0 (or a count) or the
 * negative errno the client receives; on error the OSD discards the writes.
 */
#ifndef VMD_CLS_METHODS_H
#define VMD_CLS_METHODS_H

#include <stddef.h>
#include <stdint.h>

#include "methods/cls_obj.h"

typedef int (*vmd_method_fn)(vmd_obj *obj, const uint8_t *in, size_t inlen, uint8_t **out,
                             size_t *outlen);

/* Log through the OSD (cls_log) or, natively, nowhere; level 0 = error. */
void vmd_cls_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* vmdedup.version (RD): no input; reply vmd_op_version_reply. */
int vmd_m_version(vmd_obj *obj, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen);

#endif /* VMD_CLS_METHODS_H */
