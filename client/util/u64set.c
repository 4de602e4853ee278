/*
 * u64set.c - a set of 64-bit ids with open addressing and linear probing (see u64set.h).
 */
#include "util/u64set.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void vmd_u64set_init(vmd_u64set *s)
{
    memset(s, 0, sizeof(*s));
}

static size_t slot_of(uint64_t v, size_t cap)
{
    v ^= v >> 33;
    v *= 0xff51afd7ed558ccdull;
    v ^= v >> 33;
    return (size_t)v & (cap - 1);
}

static int grow(vmd_u64set *s)
{
    size_t cap = s->cap ? s->cap * 2 : 64, i, j;
    uint64_t *keys = malloc(cap * sizeof(*keys));
    uint8_t *used = calloc(cap, 1);

    if (!keys || !used) {
        free(keys);
        free(used);
        return -ENOMEM;
    }
    for (i = 0; i < s->cap; i++) {
        if (!s->used[i])
            continue;
        for (j = slot_of(s->keys[i], cap); used[j]; j = (j + 1) & (cap - 1))
            ;
        used[j] = 1;
        keys[j] = s->keys[i];
    }
    free(s->keys);
    free(s->used);
    s->keys = keys;
    s->used = used;
    s->cap = cap;
    return 0;
}

int vmd_u64set_has(const vmd_u64set *s, uint64_t v)
{
    size_t j;

    if (!s->cap)
        return 0;
    for (j = slot_of(v, s->cap); s->used[j]; j = (j + 1) & (s->cap - 1))
        if (s->keys[j] == v)
            return 1;
    return 0;
}

int vmd_u64set_add(vmd_u64set *s, uint64_t v)
{
    size_t j;

    if (vmd_u64set_has(s, v))
        return 0;
    if ((s->n + 1) * 2 > s->cap && grow(s))
        return -ENOMEM;
    for (j = slot_of(v, s->cap); s->used[j]; j = (j + 1) & (s->cap - 1))
        ;
    s->used[j] = 1;
    s->keys[j] = v;
    s->n++;
    return 1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int vmd_u64set_sorted(const vmd_u64set *s, uint64_t **out)
{
    size_t i, k = 0;

    *out = NULL;
    if (!s->n)
        return 0;
    *out = malloc(s->n * sizeof(**out));
    if (!*out)
        return -ENOMEM;
    for (i = 0; i < s->cap; i++)
        if (s->used[i])
            (*out)[k++] = s->keys[i];
    qsort(*out, k, sizeof(**out), cmp_u64);
    return 0;
}

void vmd_u64set_free(vmd_u64set *s)
{
    free(s->keys);
    free(s->used);
    memset(s, 0, sizeof(*s));
}
