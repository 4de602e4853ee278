/*
 * cls_main.c - registration of the RADOS object class `vmdedup` with the OSD.
 *
 * The OSD dlopen()s libcls_vmdedup.so and calls __cls_init(), which registers
 * the class and one C entry point per method. Each entry point is generated
 * by METHOD() below: it wraps the OSD context in a vmd_obj, runs the method's
 * logic (cls_methods.h, OSD-independent and unit-tested natively), and hands
 * the malloc()ed reply to the OSD in cls_alloc()ed memory. Every method's
 * logic follows the same line:
 *
 *     decode the request (cls_ops.c) -> validate all of it -> read the object's
 *     state -> compute the new state in memory -> write it -> encode the reply
 *
 * so that a request is applied fully or not at all. Malformed input gets
 * -EINVAL (logged with the method's name), an incompatible version -EPROTO;
 * nothing aborts. The table of methods, their flags and their messages is in
 * docs/format.md.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osd/cls_api.h"
#include "methods/cls_methods.h"
#include "methods/container_methods.h"
#include "methods/index_methods.h"
#include "format/class_msg.h"

void vmd_cls_log(int level, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cls_log(level, "<cls> vmdedup: %s", msg);
}

/* Runs one method's logic in the OSD and hands its reply over. */
static int run_method(vmd_method_fn fn, cls_method_context_t ctx, char *in, int inlen, char **out,
                      int *outlen)
{
    vmd_obj obj = {&vmd_obj_osd_ops, ctx};
    uint8_t *reply = NULL;
    size_t len = 0;
    char *p;
    int rc;

    if (inlen < 0)
        return -EINVAL;
    rc = fn(&obj, (const uint8_t *)in, (size_t)inlen, &reply, &len);
    if (rc < 0 || !reply) {
        free(reply);
        return rc;
    }
    if (len > INT32_MAX) {
        free(reply);
        return -EOVERFLOW;
    }
    p = cls_alloc(len ? len : 1);
    if (!p) {
        free(reply);
        return -ENOMEM;
    }
    memcpy(p, reply, len);
    free(reply);
    *out = p;
    *outlen = (int)len;
    return rc;
}

#define METHOD(name)                                                                               \
    static int cls_##name(cls_method_context_t ctx, char *in, int inlen, char **out, int *outlen)  \
    {                                                                                              \
        return run_method(vmd_m_##name, ctx, in, inlen, out, outlen);                              \
    }

METHOD(version)
/* index partitions */
METHOD(idx_register)
METHOD(idx_release)
METHOD(idx_ref)
METHOD(idx_mark_popular)
METHOD(idx_unmark_popular)
METHOD(idx_top)
METHOD(idx_stats)
METHOD(idx_reply)
/* containers */
METHOD(ctr_scrub)
METHOD(ctr_compact)
METHOD(ctr_stats)

static const struct {
    const char *name;
    int flags;
    cls_method_call_t fn;
} methods[] = {
    {"version", CLS_METHOD_RD, cls_version},
    /* index partitions */
    {"idx_register", CLS_METHOD_RD | CLS_METHOD_WR, cls_idx_register},
    {"idx_release", CLS_METHOD_RD | CLS_METHOD_WR, cls_idx_release},
    {"idx_ref", CLS_METHOD_RD | CLS_METHOD_WR, cls_idx_ref},
    {"idx_mark_popular", CLS_METHOD_RD | CLS_METHOD_WR, cls_idx_mark_popular},
    {"idx_unmark_popular", CLS_METHOD_RD | CLS_METHOD_WR, cls_idx_unmark_popular},
    {"idx_top", CLS_METHOD_RD, cls_idx_top},
    {"idx_stats", CLS_METHOD_RD, cls_idx_stats},
    {"idx_reply", CLS_METHOD_RD, cls_idx_reply},
    /* containers */
    {"ctr_scrub", CLS_METHOD_RD, cls_ctr_scrub},
    {"ctr_compact", CLS_METHOD_RD | CLS_METHOD_WR, cls_ctr_compact},
    {"ctr_stats", CLS_METHOD_RD, cls_ctr_stats},
};

void __cls_init(void)
{
    cls_handle_t h_class;
    cls_method_handle_t h_method;
    size_t i;

    cls_log(0, "<cls> loading vmdedup (class version %u.%u.%u, wire format %u)",
            (VMD_CLS_VERSION >> 16) & 0xffu, (VMD_CLS_VERSION >> 8) & 0xffu,
            VMD_CLS_VERSION & 0xffu, VMD_WIRE_VERSION);
    if (cls_register(VMD_CLS_NAME, &h_class) != 1) {
        cls_log(0, "<cls> vmdedup: cls_register failed");
        return;
    }
    for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (cls_register_method(h_class, methods[i].name, methods[i].flags, methods[i].fn,
                                &h_method) != 1)
            cls_log(0, "<cls> vmdedup: registering method %s failed", methods[i].name);
}
