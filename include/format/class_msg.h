/*
 * class_msg.h - requests and replies of the methods of the RADOS class `vmdedup`.
 *
 * One type per method message, each with an encoder and a validating decoder.
 * The same code (cls/format/class_msg.c) is compiled into the class, which runs inside
 * ceph-osd, and into libvmdedup, so both sides agree on every byte. The byte
 * layouts are documented in docs/format.md; the primitives are in wire.h.
 *
 * Decoders treat their input as hostile: they return -EINVAL for anything
 * truncated, oversized or inconsistent, -EPROTO for a message of a newer,
 * incompatible version, and never read outside the buffer they are given.
 */
#ifndef VMDEDUP_CLS_OPS_H
#define VMDEDUP_CLS_OPS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The class name given to cls_register() and used by every client call. */
#define VMD_CLS_NAME "vmdedup"

/* Version of the class code: major << 16 | minor << 8 | patch. */
#define VMD_CLS_VERSION ((0u << 16) | (1u << 8) | 0u)

/*
 * Version of the wire format as a whole. A client refuses to work with a
 * class whose wire_compat is above its own VMD_WIRE_VERSION.
 */
#define VMD_WIRE_VERSION 1
#define VMD_WIRE_COMPAT  1

/* vmdedup.version (RD): no input; replies with a vmd_op_version_reply. */
#define VMD_OP_VERSION_REPLY_V 1
#define VMD_OP_NAME_MAX        32

typedef struct vmd_op_version_reply {
    uint32_t class_version;         /* VMD_CLS_VERSION of the running class */
    uint16_t wire_version;          /* VMD_WIRE_VERSION it speaks */
    uint16_t wire_compat;           /* oldest wire version it still accepts */
    char name[VMD_OP_NAME_MAX + 1]; /* class name, "vmdedup" */
} vmd_op_version_reply;

/* Largest encoding of a version reply, for sizing the output buffer. */
#define VMD_OP_VERSION_REPLY_MAX (6 + 4 + 2 + 2 + 1 + VMD_OP_NAME_MAX)

/* Fills *out with this build's version of the class. */
void vmd_op_version_reply_self(vmd_op_version_reply *out);

/*
 * Encodes r into buf (capacity cap); *len receives the bytes written.
 * Returns 0 or -EOVERFLOW.
 */
int vmd_op_version_reply_encode(const vmd_op_version_reply *r, uint8_t *buf, size_t cap,
                                size_t *len);

/* Decodes and validates; returns 0, -EINVAL or -EPROTO. */
int vmd_op_version_reply_decode(vmd_op_version_reply *out, const uint8_t *buf, size_t len);

/* Formats a packed class version as "MAJOR.MINOR.PATCH" into buf. */
void vmd_cls_version_string(uint32_t v, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* VMDEDUP_CLS_OPS_H */
