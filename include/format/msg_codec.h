/*
 * msg_codec.h - a table-driven codec for the messages of the class's methods.
 *
 * A message is a C struct plus a table (vmd_msg_desc) whose rows list its
 * wire fields in order: the kind of each field, where it sits in the struct,
 * and the rule its value obeys. One encoder and one validating decoder
 * (cls/format/msg_codec.c) walk any table, so a message's byte layout is
 * written once, in its table, and every message gets the same bounds checks.
 * The tables of the index messages are in cls/format/index_msg.c, those of
 * the container messages in cls/format/container_msg.c; the layouts they
 * encode are in docs/format.md.
 *
 * Kinds of rows (integers little-endian, wire.h):
 *
 *     kind    wire                  struct member            rules (flags)
 *     U8      1 byte                uint8_t                  RANGE [lo, hi]
 *     U16     2 bytes               uint16_t                 RANGE
 *     U32     4 bytes               uint32_t                 RANGE
 *     U64     8 bytes               uint64_t                 RANGE (lo, hi as int64)
 *     I32     4 bytes (two's compl) int32_t                  RANGE, NONZERO
 *     BYTES   n bytes               uint8_t[n], vmd_fp       -
 *     STR8    u8 length + bytes     char[n], NUL-terminated  fits in n - 1 bytes; VM_ID
 *     TARGET  bits u8, part u16     vmd_idx_target           always: bits <= 16, part < 2^bits
 *     LOC     id u64, slot u32      vmd_loc                  -
 *     WHEN    nothing               (a uint8_t member)       the next n rows exist only when
 *                                                            that member equals lo
 *     ITEMS   count x item          T *items + uint32_t cnt  always: lo <= count <= hi;
 *                                                            FP_ORDER
 *
 * An ITEMS row describes an array whose count was sent earlier as a U32 row
 * (count_off names that member) and whose items follow the nested table
 * `item` (which holds no ITEMS row itself). FP_ORDER: each item begins with
 * a vmd_fp; they are strictly ascending and all in the partition of the
 * message's TARGET (target_off).
 *
 * Decoding treats the input as hostile, in this order: the envelope (one,
 * nothing after it; -EPROTO when compat > version) -> each row, checked as
 * soon as it is read -> for ITEMS, the count's bounds and that the input
 * still holds count items of the item's smallest wire size, before the array
 * is allocated -> no payload bytes left when the message's version is the
 * table's own (`exact`; a newer writer may append fields) -> the table's
 * rules that span fields (check, then dec_check). Anything else is -EINVAL.
 * A failed decode leaves nothing allocated and the struct zeroed. Encoding
 * checks the same rules on what it is given (not dec_check: rules only a
 * decoder enforces, for stored state the caller computed itself) and
 * writes exactly the bytes the decoder reads.
 */
#ifndef VMD_MSG_CODEC_H
#define VMD_MSG_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "format/index.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    VMD_MFK_U8,
    VMD_MFK_U16,
    VMD_MFK_U32,
    VMD_MFK_U64,
    VMD_MFK_I32,
    VMD_MFK_BYTES,
    VMD_MFK_STR8,
    VMD_MFK_TARGET,
    VMD_MFK_LOC,
    VMD_MFK_WHEN,
    VMD_MFK_ITEMS,
};

/* Rules of a row. */
#define VMD_MF_RANGE    0x01 /* integer in [lo, hi] */
#define VMD_MF_NONZERO  0x02 /* integer != 0 */
#define VMD_MF_VM_ID    0x04 /* STR8 is a valid VM id (limits.h) */
#define VMD_MF_FP_ORDER 0x08 /* ITEMS: fps strictly ascending, inside the target partition */

typedef struct vmd_msg_desc vmd_msg_desc;

/* One row of a message table. */
typedef struct vmd_mf {
    uint8_t kind;
    uint8_t flags;
    uint32_t off;             /* offset of the member in the struct */
    uint32_t n;               /* BYTES: length; STR8: char array size; WHEN: rows it governs;
                                 ITEMS: size of one item */
    int64_t lo, hi;           /* RANGE and ITEMS: bounds; WHEN: the value */
    uint32_t count_off;       /* ITEMS: offset of the uint32_t count */
    const vmd_msg_desc *item; /* ITEMS: the table of one item */
} vmd_mf;

/* A rule over several fields: 1 when msg obeys it; arg is what the caller passed. */
typedef int (*vmd_msg_check_fn)(const void *msg, const void *arg);

struct vmd_msg_desc {
    const vmd_mf *rows;
    uint32_t nrows;
    uint32_t size;              /* sizeof the struct */
    uint8_t version;            /* envelope version written and understood */
    uint8_t exact;              /* 1: a payload of `version` holds nothing after the rows */
    int32_t target_off;         /* offset of the vmd_idx_target (FP_ORDER), -1: none */
    vmd_msg_check_fn check;     /* encoder and decoder */
    vmd_msg_check_fn dec_check; /* decoder only */
};

/*
 * Row makers. Each checks at compile time that the member has the size its
 * kind reads and writes (a negative array size otherwise).
 */
#define VMD_MF_SIZED(T, m, sz)                                                                     \
    ((uint32_t)(offsetof(T, m) + 0 * sizeof(char[sizeof(((T *)0)->m) == (sz) ? 1 : -1])))
#define VMD_MF_INT(k, T, m, sz, fl, l, h)                                                          \
    {                                                                                              \
        .kind = (k), .flags = (fl), .off = VMD_MF_SIZED(T, m, sz), .lo = (l), .hi = (h)            \
    }

#define VMD_MF_U8(T, m)               VMD_MF_INT(VMD_MFK_U8, T, m, 1, 0, 0, 0)
#define VMD_MF_U8_IN(T, m, l, h)      VMD_MF_INT(VMD_MFK_U8, T, m, 1, VMD_MF_RANGE, l, h)
#define VMD_MF_U16(T, m)              VMD_MF_INT(VMD_MFK_U16, T, m, 2, 0, 0, 0)
#define VMD_MF_U32(T, m)              VMD_MF_INT(VMD_MFK_U32, T, m, 4, 0, 0, 0)
#define VMD_MF_U32_IN(T, m, l, h)     VMD_MF_INT(VMD_MFK_U32, T, m, 4, VMD_MF_RANGE, l, h)
#define VMD_MF_U64(T, m)              VMD_MF_INT(VMD_MFK_U64, T, m, 8, 0, 0, 0)
#define VMD_MF_I32_IN(T, m, fl, l, h) VMD_MF_INT(VMD_MFK_I32, T, m, 4, VMD_MF_RANGE | (fl), l, h)
#define VMD_MF_BYTES(T, m)                                                                         \
    {                                                                                              \
        .kind = VMD_MFK_BYTES, .off = (uint32_t)offsetof(T, m), .n = sizeof(((T *)0)->m)           \
    }
#define VMD_MF_STR8(T, m, fl)                                                                      \
    {                                                                                              \
        .kind = VMD_MFK_STR8, .flags = (fl), .off = (uint32_t)offsetof(T, m),                      \
        .n = sizeof(((T *)0)->m)                                                                   \
    }
#define VMD_MF_TARGET(T, m)                                                                        \
    {                                                                                              \
        .kind = VMD_MFK_TARGET, .off = VMD_MF_SIZED(T, m, sizeof(vmd_idx_target))                  \
    }
#define VMD_MF_LOC(T, m)                                                                           \
    {                                                                                              \
        .kind = VMD_MFK_LOC, .off = VMD_MF_SIZED(T, m, sizeof(vmd_loc))                            \
    }
#define VMD_MF_WHEN(T, m, value, nrows)                                                            \
    {                                                                                              \
        .kind = VMD_MFK_WHEN, .off = VMD_MF_SIZED(T, m, 1), .n = (nrows), .lo = (value)            \
    }
#define VMD_MF_ITEMS(T, cnt, ptr, l, h, fl, desc)                                                  \
    {                                                                                              \
        .kind = VMD_MFK_ITEMS, .flags = (fl), .off = (uint32_t)offsetof(T, ptr),                   \
        .n = sizeof(*((T *)0)->ptr), .lo = (l), .hi = (h), .count_off = VMD_MF_SIZED(T, cnt, 4),   \
        .item = &(desc)                                                                            \
    }
/* A row for an array of plain scalars or fingerprints (item at offset 0). */
#define VMD_MF_SCALAR(k, sz)                                                                       \
    {                                                                                              \
        .kind = (k), .n = (sz)                                                                     \
    }

#define VMD_MSG_NROWS(rows) ((uint32_t)(sizeof(rows) / sizeof((rows)[0])))

/* Encodes msg into a malloc()ed *out (the caller free()s it); 0, -EINVAL or -ENOMEM. */
int vmd_msg_encode(const vmd_msg_desc *d, const void *msg, const void *arg, uint8_t **out,
                   size_t *outlen);

/* Encodes msg into buf (capacity cap); 0, -EINVAL or -EOVERFLOW. */
int vmd_msg_encode_to(const vmd_msg_desc *d, const void *msg, const void *arg, uint8_t *buf,
                      size_t cap, size_t *len);

/* Decodes and validates buf into msg; 0, -EINVAL, -EPROTO or -ENOMEM. */
int vmd_msg_decode(const vmd_msg_desc *d, void *msg, const void *arg, const uint8_t *buf,
                   size_t len);

/* Frees the arrays a decode allocated and zeroes msg (NULL-safe). */
void vmd_msg_free(const vmd_msg_desc *d, void *msg);

#ifdef __cplusplus
}
#endif

#endif /* VMD_MSG_CODEC_H */
