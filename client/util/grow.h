/*
 * grow.h - the one way the library grows an array (internal).
 *
 * An array is a pointer, a capacity in elements and (kept by the caller) a
 * count. vmd_grow() makes room for `need` elements: the first allocation
 * holds `first`, and every later one doubles until `need` fits, so n
 * appends cost O(n) copies in all. On failure nothing changes, so the
 * caller still owns a valid array and frees it as usual.
 */
#ifndef VMD_GROW_H
#define VMD_GROW_H

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

/*
 * Makes the array *p of *cap elements of `size` bytes hold at least need:
 * capacity `first` at the start, doubled until it suffices. 0 or -ENOMEM
 * (then *p and *cap are unchanged).
 */
static inline int vmd_grow(void **p, size_t *cap, size_t need, size_t first, size_t size)
{
    size_t n = *cap ? *cap : first;
    void *q;

    if (need <= *cap)
        return 0;
    if (n == 0)
        n = 1;
    while (n < need)
        n *= 2;
    q = realloc(*p, n * size);
    if (!q)
        return -ENOMEM;
    *p = q;
    *cap = n;
    return 0;
}

#endif /* VMD_GROW_H */
