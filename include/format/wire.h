/*
 * wire.h - the byte-level encoding shared by the vmdedup class and its clients.
 *
 * Every message exchanged with a method of the RADOS class `vmdedup`, and every
 * binary structure stored in RADOS, is built from the primitives in this file.
 * They are header-only so that the class (loaded into ceph-osd), the client
 * library and the fuzzers compile exactly the same code.
 *
 * Conventions
 * -----------
 * - Integers are fixed width and little-endian, whatever the host.
 * - Every message starts with an envelope:
 *
 *       offset  size  field
 *       0       1     version   version of the structure that follows
 *       1       1     compat    oldest version a reader must know to decode it
 *       2       4     length    bytes of payload after the envelope (u32 LE)
 *
 *   A reader that knows version V accepts a message when compat <= V. Newer
 *   writers only append fields; an older reader decodes the fields it knows
 *   and ignores the rest of the payload, which `length` lets it skip.
 * - Variable-length fields carry their length in front of them and every
 *   length is checked against what remains before anything is read.
 *
 * Errors
 * ------
 * Cursors are sticky: the first short read or overflowing write sets `err`
 * and every later call is a no-op that returns zero. Callers check `err`
 * once, after decoding a whole structure, which keeps decoders linear and
 * free of per-field error handling, yet never reads past the buffer.
 */
#ifndef VMDEDUP_WIRE_H
#define VMDEDUP_WIRE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define VMD_WIRE_ENVELOPE_SIZE 6

/* A bounded writer over a caller-provided buffer. */
typedef struct vmd_wr {
    uint8_t *buf;
    size_t cap;
    size_t len;
    int err; /* 0, or -EOVERFLOW once a write did not fit */
} vmd_wr;

/* A bounded reader over untrusted bytes. */
typedef struct vmd_rd {
    const uint8_t *buf;
    size_t len;
    size_t off;
    int err; /* 0, or -EINVAL once a read went past the end */
} vmd_rd;

static inline void vmd_wr_init(vmd_wr *w, void *buf, size_t cap)
{
    w->buf = (uint8_t *)buf;
    w->cap = cap;
    w->len = 0;
    w->err = 0;
}

static inline void vmd_rd_init(vmd_rd *r, const void *buf, size_t len)
{
    r->buf = (const uint8_t *)buf;
    r->len = buf ? len : 0;
    r->off = 0;
    r->err = 0;
}

static inline size_t vmd_rd_left(const vmd_rd *r)
{
    return r->err ? 0 : r->len - r->off;
}

/* Reserves n bytes in the writer; NULL (and err set) when they do not fit. */
static inline uint8_t *vmd_wr_reserve(vmd_wr *w, size_t n)
{
    uint8_t *p;
    if (w->err || n > w->cap - w->len) {
        w->err = -EOVERFLOW;
        return NULL;
    }
    p = w->buf + w->len;
    w->len += n;
    return p;
}

/* Consumes n bytes from the reader; NULL (and err set) when fewer remain. */
static inline const uint8_t *vmd_rd_take(vmd_rd *r, size_t n)
{
    const uint8_t *p;
    if (r->err || n > r->len - r->off) {
        r->err = -EINVAL;
        return NULL;
    }
    p = r->buf + r->off;
    r->off += n;
    return p;
}

static inline void vmd_put_u8(vmd_wr *w, uint8_t v)
{
    uint8_t *p = vmd_wr_reserve(w, 1);
    if (p)
        p[0] = v;
}

static inline void vmd_put_u16(vmd_wr *w, uint16_t v)
{
    uint8_t *p = vmd_wr_reserve(w, 2);
    if (p) {
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
    }
}

static inline void vmd_put_u32(vmd_wr *w, uint32_t v)
{
    uint8_t *p = vmd_wr_reserve(w, 4);
    int i;
    if (p)
        for (i = 0; i < 4; i++)
            p[i] = (uint8_t)(v >> (8 * i));
}

static inline void vmd_put_u64(vmd_wr *w, uint64_t v)
{
    uint8_t *p = vmd_wr_reserve(w, 8);
    int i;
    if (p)
        for (i = 0; i < 8; i++)
            p[i] = (uint8_t)(v >> (8 * i));
}

static inline void vmd_put_bytes(vmd_wr *w, const void *src, size_t n)
{
    uint8_t *p = vmd_wr_reserve(w, n);
    if (p && n)
        memcpy(p, src, n);
}

/* A short string: u8 length, then the bytes (no terminating NUL). */
static inline void vmd_put_str8(vmd_wr *w, const char *s)
{
    size_t n = strlen(s);
    if (n > 255) {
        w->err = -EOVERFLOW;
        return;
    }
    vmd_put_u8(w, (uint8_t)n);
    vmd_put_bytes(w, s, n);
}

static inline uint8_t vmd_get_u8(vmd_rd *r)
{
    const uint8_t *p = vmd_rd_take(r, 1);
    return p ? p[0] : 0;
}

static inline uint16_t vmd_get_u16(vmd_rd *r)
{
    const uint8_t *p = vmd_rd_take(r, 2);
    return p ? (uint16_t)(p[0] | (uint16_t)p[1] << 8) : 0;
}

static inline uint32_t vmd_get_u32(vmd_rd *r)
{
    const uint8_t *p = vmd_rd_take(r, 4);
    uint32_t v = 0;
    int i;
    if (p)
        for (i = 3; i >= 0; i--)
            v = v << 8 | p[i];
    return v;
}

static inline uint64_t vmd_get_u64(vmd_rd *r)
{
    const uint8_t *p = vmd_rd_take(r, 8);
    uint64_t v = 0;
    int i;
    if (p)
        for (i = 7; i >= 0; i--)
            v = v << 8 | p[i];
    return v;
}

static inline void vmd_get_bytes(vmd_rd *r, void *dst, size_t n)
{
    const uint8_t *p = vmd_rd_take(r, n);
    if (p && n)
        memcpy(dst, p, n);
}

/*
 * Reads a str8 into dst (capacity cap, always NUL-terminated on success).
 * A string that does not fit, or that holds a NUL byte, is an error.
 */
static inline void vmd_get_str8(vmd_rd *r, char *dst, size_t cap)
{
    uint8_t n = vmd_get_u8(r);
    const uint8_t *p = vmd_rd_take(r, n);
    if (!p)
        return;
    if ((size_t)n >= cap || memchr(p, 0, n)) {
        r->err = -EINVAL;
        return;
    }
    memcpy(dst, p, n);
    dst[n] = 0;
}

/* 1 when the n bytes at p are all zero (reserved fields and padding must be). */
static inline int vmd_all_zero(const uint8_t *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/*
 * Fixed-size object header writer (container, recipe and CDS manifest
 * headers, which begin with a magic instead of an envelope): zeroes the
 * size bytes at out, points w at them and writes the 4-byte magic, version,
 * compat (u8 each) and flags (u16); the caller writes the rest.
 */
static inline void vmd_wr_header(vmd_wr *w, uint8_t *out, size_t size, const char *magic,
                                 uint8_t version, uint8_t compat, uint16_t flags)
{
    memset(out, 0, size);
    vmd_wr_init(w, out, size);
    vmd_put_bytes(w, magic, 4);
    vmd_put_u8(w, version);
    vmd_put_u8(w, compat);
    vmd_put_u16(w, flags);
}

/*
 * Envelope writer: vmd_wr_begin() reserves the 6 bytes and returns the offset
 * where they start; vmd_wr_end() fills in the payload length once the fields
 * are written.
 */
static inline size_t vmd_wr_begin(vmd_wr *w, uint8_t version, uint8_t compat)
{
    size_t at = w->len;
    vmd_put_u8(w, version);
    vmd_put_u8(w, compat);
    vmd_put_u32(w, 0);
    return at;
}

static inline void vmd_wr_end(vmd_wr *w, size_t at)
{
    size_t payload;
    int i;
    if (w->err)
        return;
    payload = w->len - at - VMD_WIRE_ENVELOPE_SIZE;
    if (payload > UINT32_MAX) {
        w->err = -EOVERFLOW;
        return;
    }
    for (i = 0; i < 4; i++)
        w->buf[at + 2 + i] = (uint8_t)(payload >> (8 * i));
}

/*
 * Envelope reader: checks that the structure is one this reader can decode
 * (compat <= known) and that its payload lies inside r; on success `body` is
 * a reader over exactly the payload, r is advanced past it and *version tells
 * which optional fields exist. Returns 0, -EINVAL (truncated or malformed) or
 * -EPROTO (written by a newer, incompatible version).
 */
static inline int vmd_rd_envelope(vmd_rd *r, uint8_t known, uint8_t *version, vmd_rd *body)
{
    uint8_t v, compat;
    uint32_t n;
    const uint8_t *p;

    vmd_rd_init(body, NULL, 0);
    *version = 0;
    v = vmd_get_u8(r);
    compat = vmd_get_u8(r);
    n = vmd_get_u32(r);
    if (r->err)
        return r->err;
    if (v == 0 || compat == 0 || compat > v) {
        r->err = -EINVAL;
        return r->err;
    }
    if (compat > known)
        return -EPROTO;
    p = vmd_rd_take(r, n);
    if (!p)
        return r->err;
    vmd_rd_init(body, p, n);
    *version = v;
    return 0;
}

#endif /* VMDEDUP_WIRE_H */
