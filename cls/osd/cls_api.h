/*
 * cls_api.h - the parts of the OSD's object-class interface the vmdedup class uses.
 *
 * ceph-osd exports a small C API (cls_register, cls_register_method, cls_alloc,
 * cls_log, ...). Ceph declares it in an internal header that Debian does not
 * ship, and the public <rados/objclass.h> is C++ only, so the C declarations
 * are repeated here, matching the symbols ceph-osd 16.x exports with C
 * linkage. Every other object operation (write, omap, stat, ...) exists only
 * as C++ and is reached through the shim declared in cls_shim.h.
 *
 * Symbols resolve against ceph-osd when the OSD dlopen()s the class.
 */
#ifndef VMD_CLS_API_H
#define VMD_CLS_API_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef void *cls_handle_t;
typedef void *cls_method_handle_t;
typedef void *cls_method_context_t;

/*
 * A C method: `in` holds the request (inlen bytes, owned by the OSD); a
 * reply is returned through *out (allocated with cls_alloc; the OSD takes
 * ownership and frees it) and *outlen. A negative return is the errno the
 * client receives.
 */
typedef int (*cls_method_call_t)(cls_method_context_t ctx, char *in, int inlen, char **out,
                                 int *outlen);

#define CLS_METHOD_RD 0x1 /* method reads the object */
#define CLS_METHOD_WR 0x2 /* method writes the object */

/* Both return 1 on success. */
extern int cls_register(const char *name, cls_handle_t *handle);
extern int cls_register_method(cls_handle_t hclass, const char *method, int flags,
                               cls_method_call_t class_call, cls_method_handle_t *handle);

extern void *cls_alloc(size_t size);
extern void cls_free(void *p);
extern int cls_log(int level, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* The entry point the OSD calls after dlopen(); the only exported symbol. */
void __cls_init(void) __attribute__((visibility("default")));

#ifdef __cplusplus
}
#endif

#endif /* VMD_CLS_API_H */
