/*
 * class_msg.c - encoders and decoders of the vmdedup class's method messages.
 *
 * Compiled twice: into libcls_vmdedup.so (the OSD side) and into libvmdedup
 * (the client side), so that a request is decoded by exactly the code that
 * encoded it. Layouts are in docs/format.md; see cls_ops.h for the contract.
 */
#include "format/class_msg.h"

#include <stdio.h>
#include <string.h>

#include "format/wire.h"

void vmd_op_version_reply_self(vmd_op_version_reply *out)
{
    memset(out, 0, sizeof(*out));
    out->class_version = VMD_CLS_VERSION;
    out->wire_version = VMD_WIRE_VERSION;
    out->wire_compat = VMD_WIRE_COMPAT;
    memcpy(out->name, VMD_CLS_NAME, sizeof(VMD_CLS_NAME));
}

int vmd_op_version_reply_encode(const vmd_op_version_reply *r, uint8_t *buf, size_t cap,
                                size_t *len)
{
    vmd_wr w;
    size_t env;

    vmd_wr_init(&w, buf, cap);
    env = vmd_wr_begin(&w, VMD_OP_VERSION_REPLY_V, 1);
    vmd_put_u32(&w, r->class_version);
    vmd_put_u16(&w, r->wire_version);
    vmd_put_u16(&w, r->wire_compat);
    vmd_put_str8(&w, r->name);
    vmd_wr_end(&w, env);
    if (w.err)
        return w.err;
    *len = w.len;
    return 0;
}

int vmd_op_version_reply_decode(vmd_op_version_reply *out, const uint8_t *buf, size_t len)
{
    vmd_rd r, body;
    uint8_t version;
    int err;

    memset(out, 0, sizeof(*out));
    vmd_rd_init(&r, buf, len);
    err = vmd_rd_envelope(&r, VMD_OP_VERSION_REPLY_V, &version, &body);
    if (err)
        return err;
    if (vmd_rd_left(&r) != 0)
        return -EINVAL; /* one reply, nothing after it */
    out->class_version = vmd_get_u32(&body);
    out->wire_version = vmd_get_u16(&body);
    out->wire_compat = vmd_get_u16(&body);
    vmd_get_str8(&body, out->name, sizeof(out->name));
    if (body.err)
        return body.err;
    if (out->wire_compat == 0 || out->wire_compat > out->wire_version)
        return -EINVAL;
    return 0;
}

void vmd_cls_version_string(uint32_t v, char *buf, size_t cap)
{
    snprintf(buf, cap, "%u.%u.%u", (v >> 16) & 0xffu, (v >> 8) & 0xffu, v & 0xffu);
}
