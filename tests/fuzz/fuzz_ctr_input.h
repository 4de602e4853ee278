/*
 * fuzz_ctr_input.h - turns fuzz input into a container object for the container fuzzers.
 *
 * Random bytes almost never pass a container's header checks, so half of
 * the inputs are recipes instead: a valid container is built from the
 * input (chunk count, sizes and kinds: text-like chunks end up ZSTD,
 * random ones RAW) and then patched at input-chosen offsets. That reaches
 * the slot checks, the overlap check and the decompressor with corrupt
 * frames. Layout of a recipe (after the selector byte, bit 7 clear):
 *
 *     nchunks u8 (1..8) | kinds u8 (bit i: chunk i random) | len u8 (x 64 bytes)
 *     | (offset u16 LE, xor u8) * n  patches
 */
#ifndef VMD_FUZZ_CTR_INPUT_H
#define VMD_FUZZ_CTR_INPUT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/container.h"

static inline void fuzz_fill(uint8_t *p, size_t n, unsigned seed, int random)
{
    uint32_t x = seed * 2654435761u + 1;
    size_t i;
    for (i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = random ? (uint8_t)x : (uint8_t)("abcd efgh\n"[x % 4 + (i % 7 == 0) * 4]);
    }
}

/* A malloc()ed object from the input (after the selector byte); NULL if none. */
static inline uint8_t *fuzz_ctr_object(const uint8_t *data, size_t size, int raw, size_t *len)
{
    vmd_ctr_builder *b = NULL;
    uint8_t chunk[256 * 64], *obj = NULL;
    unsigned n, i, clen;
    size_t k;

    *len = 0;
    if (raw) {
        obj = malloc(size ? size : 1);
        if (obj && size)
            memcpy(obj, data, size);
        *len = size;
        return obj;
    }
    if (size < 3)
        return NULL;
    n = data[0] % 8 + 1;
    clen = (data[2] + 1u) * 64u;
    if (vmd_ctr_builder_new(&b, 42, (data[1] & 0x80) ? NULL : "fuzz-vm", 256 * 1024) != 0)
        return NULL;
    for (i = 0; i < n; i++) {
        fuzz_fill(chunk, clen, i, (data[1] >> i) & 1);
        if (vmd_ctr_builder_add(b, chunk, clen, 1, NULL, NULL) != 0)
            break;
    }
    if (vmd_ctr_builder_finish(b, &obj, len) != 0)
        obj = NULL;
    vmd_ctr_builder_free(b);
    for (k = 3; obj && k + 3 <= size; k += 3) {
        size_t off = (size_t)(data[k] | data[k + 1] << 8) % *len;
        obj[off] ^= data[k + 2];
    }
    return obj;
}

#endif /* VMD_FUZZ_CTR_INPUT_H */
