/*
 * cls_main.c - registration of the RADOS object class `vmdedup` and its methods.
 *
 * The OSD dlopen()s libcls_vmdedup.so and calls __cls_init(), which registers
 * the class and one C entry point per method. Each entry point here is a
 * thin adapter that follows the same line for every method:
 *
 *     decode the request (cls_ops.c) -> validate -> read the object's state
 *     -> compute -> write the new state -> encode the reply
 *
 * The logic itself lives in separate C files with no OSD dependency so that
 * it is unit-tested natively; object access goes through cls_shim.h.
 *
 * Methods
 * -------
 *   version   RD   no input; replies vmd_op_version_reply (class and wire versions)
 *
 * A method never aborts: malformed input is answered with -EINVAL (logged at
 * level 1 with the method's name), an incompatible request with -EPROTO.
 */
#include <errno.h>
#include <string.h>

#include "cls_api.h"
#include "vmdedup/cls_ops.h"

/* Hands a reply to the OSD, which takes ownership of the cls_alloc()ed copy. */
static int reply_copy(const uint8_t *buf, size_t len, char **out, int *outlen)
{
    char *p;

    if (len > INT32_MAX)
        return -EOVERFLOW;
    p = cls_alloc(len ? len : 1);
    if (!p)
        return -ENOMEM;
    if (len)
        memcpy(p, buf, len);
    *out = p;
    *outlen = (int)len;
    return 0;
}

/* vmdedup.version: tells a client which class and wire versions run here. */
static int method_version(cls_method_context_t ctx, char *in, int inlen, char **out, int *outlen)
{
    vmd_op_version_reply reply;
    uint8_t buf[VMD_OP_VERSION_REPLY_MAX];
    size_t len = 0;
    int err;

    (void)ctx;
    (void)in;
    if (inlen != 0) {
        cls_log(1, "vmdedup.version: expected no input, got %d bytes", inlen);
        return -EINVAL;
    }
    vmd_op_version_reply_self(&reply);
    err = vmd_op_version_reply_encode(&reply, buf, sizeof(buf), &len);
    if (err)
        return err;
    return reply_copy(buf, len, out, outlen);
}

static const struct {
    const char *name;
    int flags;
    cls_method_call_t fn;
} methods[] = {
    {"version", CLS_METHOD_RD, method_version},
};

void __cls_init(void)
{
    cls_handle_t h_class;
    cls_method_handle_t h_method;
    size_t i;

    cls_log(0, "loading cls_vmdedup (class version %u.%u.%u, wire %u)",
            (VMD_CLS_VERSION >> 16) & 0xffu, (VMD_CLS_VERSION >> 8) & 0xffu,
            VMD_CLS_VERSION & 0xffu, VMD_WIRE_VERSION);
    if (cls_register(VMD_CLS_NAME, &h_class) != 1) {
        cls_log(0, "vmdedup: cls_register failed");
        return;
    }
    for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (cls_register_method(h_class, methods[i].name, methods[i].flags, methods[i].fn,
                                &h_method) != 1)
            cls_log(0, "vmdedup: registering method %s failed", methods[i].name);
}
