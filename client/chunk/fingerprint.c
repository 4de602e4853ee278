/*
 * fingerprint.c - SHA-256 through OpenSSL's EVP interface, and zero detection.
 *
 * The hasher fetches SHA-256 explicitly (EVP_MD_fetch) once: with the
 * implicit EVP_sha256() OpenSSL 3 looks the implementation up on every
 * EVP_DigestInit_ex, which costs a lock and a hash-table probe per chunk.
 * Re-initialising a context with the digest it already has only resets the
 * SHA-256 state.
 */
#include "chunk/fingerprint.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

struct vmd_hasher {
    EVP_MD *md;
    EVP_MD_CTX *ctx;
};

int vmd_hasher_new(vmd_hasher **out)
{
    vmd_hasher *h;
    int err = -ENOMEM;

    if (!out)
        return -EINVAL;
    h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!h->md) {
        err = -EIO;
        goto error;
    }
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx)
        goto error;
    *out = h;
    return 0;
error:
    vmd_hasher_free(h);
    return err;
}

void vmd_hasher_free(vmd_hasher *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx);
    EVP_MD_free(h->md);
    free(h);
}

int vmd_sha256(vmd_hasher *h, const void *data, size_t len, vmd_fp *out)
{
    unsigned int n = 0;

    if (!h || !out || (!data && len > 0))
        return -EINVAL;
    if (EVP_DigestInit_ex(h->ctx, h->md, NULL) != 1 ||
        (len > 0 && EVP_DigestUpdate(h->ctx, data, len) != 1) ||
        EVP_DigestFinal_ex(h->ctx, out->b, &n) != 1 || n != VMD_FP_SIZE)
        return -EIO;
    return 0;
}

int vmd_fingerprint_chunks(vmd_hasher *h, const uint8_t *seg, const vmd_chunk *chunks, size_t n,
                           vmd_fp *out)
{
    size_t i;
    int err;

    if (n > 0 && (!seg || !chunks || !out))
        return -EINVAL;
    for (i = 0; i < n; i++) {
        err = vmd_sha256(h, seg + chunks[i].off, chunks[i].len, &out[i]);
        if (err)
            return err;
    }
    return 0;
}

/* An unaligned 64-bit load (compiles to one mov). */
static inline uint64_t load64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

int vmd_is_zero(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    uint64_t acc = 0;

    for (; len >= 64; p += 64, len -= 64) {
        acc = load64(p) | load64(p + 8) | load64(p + 16) | load64(p + 24) | load64(p + 32) |
              load64(p + 40) | load64(p + 48) | load64(p + 56);
        if (acc)
            return 0;
    }
    for (; len >= 8; p += 8, len -= 8)
        acc |= load64(p);
    for (; len > 0; p++, len--)
        acc |= *p;
    return acc == 0;
}
