/*
 * version_method.c - vmdedup.version: which class and wire versions run in this OSD.
 *
 * Clients call it before anything else to refuse an incompatible class early.
 * It takes no input and touches no state.
 */
#include <errno.h>
#include <stdlib.h>

#include "methods/cls_methods.h"
#include "format/class_msg.h"

int vmd_m_version(vmd_obj *obj, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen)
{
    vmd_op_version_reply reply;
    uint8_t *buf;
    int err;

    (void)obj;
    (void)in;
    if (inlen != 0) {
        vmd_cls_log(1, "vmdedup.version: expected no input, got %zu bytes", inlen);
        return -EINVAL;
    }
    buf = malloc(VMD_OP_VERSION_REPLY_MAX);
    if (!buf)
        return -ENOMEM;
    vmd_op_version_reply_self(&reply);
    err = vmd_op_version_reply_encode(&reply, buf, VMD_OP_VERSION_REPLY_MAX, outlen);
    if (err) {
        free(buf);
        return err;
    }
    *out = buf;
    return 0;
}
