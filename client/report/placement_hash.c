/*
 * placement_hash.c - Ceph's default object hash (rjenkins), for placement.c.
 *
 * Bob Jenkins' 1996 "lookup2" hash, as Ceph's object_hash "rjenkins": the
 * input is consumed 12 bytes at a time into three 32-bit words (little-
 * endian) that are mixed; the length goes into c before the last, partial
 * block. Pure code, so the unit tests check it against hashes the monitor
 * reported.
 */
#include <stddef.h>
#include <stdint.h>

#include "report/placement.h"

#define MIX(a, b, c)                                                                               \
    do {                                                                                           \
        a -= b, a -= c, a ^= c >> 13;                                                              \
        b -= c, b -= a, b ^= a << 8;                                                               \
        c -= a, c -= b, c ^= b >> 13;                                                              \
        a -= b, a -= c, a ^= c >> 12;                                                              \
        b -= c, b -= a, b ^= a << 16;                                                              \
        c -= a, c -= b, c ^= b >> 5;                                                               \
        a -= b, a -= c, a ^= c >> 3;                                                               \
        b -= c, b -= a, b ^= a << 10;                                                              \
        c -= a, c -= b, c ^= b >> 15;                                                              \
    } while (0)

static uint32_t le32(const unsigned char *k)
{
    return k[0] | (uint32_t)k[1] << 8 | (uint32_t)k[2] << 16 | (uint32_t)k[3] << 24;
}

uint32_t vmd_place_hash(const char *s, size_t length)
{
    const unsigned char *k = (const unsigned char *)s;
    uint32_t a = 0x9e3779b9, b = a, c = 0;
    size_t len = length;

    for (; len >= 12; k += 12, len -= 12) {
        a += le32(k);
        b += le32(k + 4);
        c += le32(k + 8);
        MIX(a, b, c);
    }
    c += (uint32_t)length;
    /* the last 0..11 bytes; c's low byte holds the length */
    switch (len) {
    case 11:
        c += (uint32_t)k[10] << 24; /* fall through */
    case 10:
        c += (uint32_t)k[9] << 16; /* fall through */
    case 9:
        c += (uint32_t)k[8] << 8; /* fall through */
    case 8:
        b += (uint32_t)k[7] << 24; /* fall through */
    case 7:
        b += (uint32_t)k[6] << 16; /* fall through */
    case 6:
        b += (uint32_t)k[5] << 8; /* fall through */
    case 5:
        b += k[4]; /* fall through */
    case 4:
        a += (uint32_t)k[3] << 24; /* fall through */
    case 3:
        a += (uint32_t)k[2] << 16; /* fall through */
    case 2:
        a += (uint32_t)k[1] << 8; /* fall through */
    case 1:
        a += k[0];
    }
    MIX(a, b, c);
    return c;
}
