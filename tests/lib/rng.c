/*
 * rng.c - SplitMix64 and xorshift64 and the fills built on them (rng.h).
 *
 * Outputs go into buffers with memcpy of the host's uint64_t: the data sets
 * were made on little-endian machines and the tests that pin bytes (chunk
 * boundaries, vmd-gen's images) assume that byte order.
 */
#include "rng.h"

#include <string.h>

uint64_t vmd_test_splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t vmd_test_xorshift64(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* 8 bytes per output of next, then one output per byte of a tail shorter than 8. */
static void fill_words(uint8_t *p, size_t len, uint64_t *s, uint64_t (*next)(uint64_t *))
{
    size_t i;

    for (i = 0; i + 8 <= len; i += 8) {
        uint64_t v = next(s);
        memcpy(p + i, &v, 8);
    }
    for (; i < len; i++)
        p[i] = (uint8_t)next(s);
}

void vmd_test_fill_splitmix(uint8_t *p, size_t len, uint64_t *s)
{
    fill_words(p, len, s, vmd_test_splitmix64);
}

void vmd_test_fill_xorshift(uint8_t *p, size_t len, uint64_t *s)
{
    size_t i;

    for (i = 0; i < len; i++)
        p[i] = (uint8_t)vmd_test_xorshift64(s);
}

void vmd_test_fill_xorshift_words(uint8_t *p, size_t len, uint64_t *s)
{
    fill_words(p, len, s, vmd_test_xorshift64);
}
