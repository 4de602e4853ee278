/*
 * fingerprint.h - SHA-256 fingerprints of chunks, and all-zero detection.
 *
 * A chunk's fingerprint is the SHA-256 of its uncompressed bytes (vmd_fp,
 * include/format/index.h; vmd_fp_hex() there formats it as 64 lowercase
 * hex digits, the form used in omap keys and messages).
 *
 * A vmd_hasher holds one OpenSSL EVP_MD_CTX and the SHA-256 implementation
 * fetched once when it is created, so hashing a chunk allocates nothing and
 * takes no lock (a fresh context per chunk would cost a fetch each time).
 * It is not thread-safe: give each worker thread its own, and keep it for
 * the worker's life.
 *
 * Zero detection is separate and cheap: a zero segment or chunk is stored
 * as "zero" rather than hashed and written (sparse and freshly allocated
 * disks are mostly zeros). vmd_is_zero() reads 64 bytes per step as eight
 * 64-bit words, ORs them and stops at the first non-zero block.
 */
#ifndef VMD_FINGERPRINT_H
#define VMD_FINGERPRINT_H

#include <stddef.h>
#include <stdint.h>

#include "chunk/chunker.h"
#include "format/index.h"

typedef struct vmd_hasher vmd_hasher;

/* Creates a hasher (*out, freed with vmd_hasher_free). Errors: -ENOMEM, -EIO (no SHA-256). */
int vmd_hasher_new(vmd_hasher **out);

/* Frees h; NULL is ignored. */
void vmd_hasher_free(vmd_hasher *h);

/* *out = SHA-256 of data[0..len). Errors: -EINVAL (NULL data with len > 0), -EIO (OpenSSL). */
int vmd_sha256(vmd_hasher *h, const void *data, size_t len, vmd_fp *out);

/*
 * out[i] = SHA-256 of seg[chunks[i].off .. + chunks[i].len) for i < n: the
 * fingerprints of all chunks of a segment, as vmd_chunk_segment() cut it.
 * Errors: as vmd_sha256(); on error out[] is partly written.
 */
int vmd_fingerprint_chunks(vmd_hasher *h, const uint8_t *seg, const vmd_chunk *chunks, size_t n,
                           vmd_fp *out);

/* 1 when buf[0..len) is all zero bytes (also for len == 0), else 0. For chunks and segments. */
int vmd_is_zero(const void *buf, size_t len);

#endif /* VMD_FINGERPRINT_H */
