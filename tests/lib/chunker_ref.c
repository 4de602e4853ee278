/*
 * chunker_ref.c - vmd_test_reference_cut() restates the gear-hash rule of
 * chunk/chunker.h with no shortcut: start hashing at min, cut where the hash
 * has zeros under the strict mask (k + 2 bits, before the normal size) or
 * the loose one (k - 2 bits, after it), k = log2(avg), and never go past max.
 */
#include "chunker_ref.h"

size_t vmd_test_reference_cut(const vmd_chunker *c, const uint8_t *b, size_t len)
{
    unsigned k = 0;
    uint64_t h = 0, ms, ml;
    size_t i, normal;

    while ((1u << k) < c->p.avg)
        k++;
    ms = ~0ull << (64 - (k + 2));
    ml = ~0ull << (64 - (k - 2));
    normal = c->p.avg - c->p.avg / 4 > c->p.min ? c->p.avg - c->p.avg / 4 : c->p.min;
    if (len <= c->p.min)
        return len;
    for (i = c->p.min; i < len && i < c->p.max; i++) {
        h = 2 * h + vmd_chunk_gear[b[i]];
        if ((h & (i < normal ? ms : ml)) == 0)
            return i + 1;
    }
    return i;
}
