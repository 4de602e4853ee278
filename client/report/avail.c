/*
 * avail.c - restorability under independent OSD failures (see avail.h for the model).
 *
 * Exact case: the OSDs of all sets are numbered 0..u-1 and each set
 * becomes a bit mask. A mask that contains another is dropped (whenever
 * the smaller set keeps a live OSD, so does the larger), so only minimal
 * sets are tested. Every state of failed OSDs is then checked once and
 * counted by its number of failures: P(f) = sum_k count[k] f^k (1-f)^(u-k).
 */
#include "report/avail.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

/* The distinct OSDs of all sets, sorted, into *osds (malloc()ed). */
static int union_of(const vmd_osdset *sets, size_t nsets, int32_t **osds, uint32_t *n)
{
    size_t total = 0, i, k = 0;
    uint32_t j;
    int32_t *all;

    for (i = 0; i < nsets; i++)
        total += sets[i].n;
    all = malloc((total ? total : 1) * sizeof(*all));
    if (!all)
        return -ENOMEM;
    for (i = 0; i < nsets; i++)
        for (j = 0; j < sets[i].n; j++)
            all[k++] = sets[i].osd[j];
    qsort(all, k, sizeof(*all), cmp_i32);
    for (i = 0, j = 0; i < k; i++)
        if (j == 0 || all[j - 1] != all[i])
            all[j++] = all[i];
    *osds = all;
    *n = j;
    return 0;
}

static uint32_t mask_of(const vmd_osdset *s, const int32_t *osds, uint32_t u)
{
    uint32_t m = 0, j;

    for (j = 0; j < s->n; j++) {
        const int32_t *p = bsearch(&s->osd[j], osds, u, sizeof(*osds), cmp_i32);
        if (p)
            m |= 1u << (p - osds);
    }
    return m;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int exact(const vmd_osdset *sets, size_t nsets, const int32_t *osds, uint32_t u,
                 const double *f, size_t nf, double *out)
{
    uint32_t *masks = malloc(nsets * sizeof(*masks)), s, k;
    double count[VMD_AVAIL_EXACT_OSDS + 1];
    size_t m = 0, i, j;

    if (!masks)
        return -ENOMEM;
    for (i = 0; i < nsets; i++)
        masks[i] = mask_of(&sets[i], osds, u);
    qsort(masks, nsets, sizeof(*masks), cmp_u32);
    /* keep the minimal masks: drop duplicates and supersets of a kept one */
    for (i = 0; i < nsets; i++) {
        int redundant = 0;
        for (j = 0; j < m && !redundant; j++)
            redundant = (masks[j] & masks[i]) == masks[j];
        if (!redundant)
            masks[m++] = masks[i];
    }
    memset(count, 0, sizeof(count));
    for (s = 0; s < (1u << u); s++) {
        int ok = 1;
        for (j = 0; j < m && ok; j++)
            ok = (masks[j] & ~s) != 0;
        if (ok)
            count[__builtin_popcount(s)] += 1;
    }
    for (i = 0; i < nf; i++) {
        double p = 0;
        for (k = 0; k <= u; k++)
            if (count[k] > 0)
                p += count[k] * pow(f[i], k) * pow(1 - f[i], u - k);
        out[i] = p > 1 ? 1 : p;
    }
    free(masks);
    return 0;
}

static int cmp_set(const void *a, const void *b)
{
    const vmd_osdset *x = a, *y = b;
    if (x->n != y->n)
        return x->n < y->n ? -1 : 1;
    return memcmp(x->osd, y->osd, x->n * sizeof(x->osd[0]));
}

/* prod over distinct sets of (1 - f^|S|): the FKG lower bound. */
static int bound(const vmd_osdset *sets, size_t nsets, const double *f, size_t nf, double *out)
{
    vmd_osdset *d = malloc(nsets * sizeof(*d));
    size_t i, k;

    if (!d)
        return -ENOMEM;
    for (i = 0; i < nsets; i++) {
        d[i] = sets[i];
        qsort(d[i].osd, d[i].n, sizeof(d[i].osd[0]), cmp_i32);
    }
    qsort(d, nsets, sizeof(*d), cmp_set);
    for (k = 0; k < nf; k++)
        out[k] = 1;
    for (i = 0; i < nsets; i++) {
        if (i && cmp_set(&d[i - 1], &d[i]) == 0)
            continue;
        for (k = 0; k < nf; k++)
            out[k] *= 1 - pow(f[k], d[i].n);
    }
    free(d);
    return 0;
}

int vmd_avail_compute(const vmd_osdset *sets, size_t nsets, const double *f, size_t nf, double *out,
                      int *is_exact, uint32_t *nosds)
{
    int32_t *osds = NULL;
    uint32_t u = 0;
    size_t i;
    int err;

    *is_exact = 1;
    if (nosds)
        *nosds = 0;
    for (i = 0; i < nf; i++)
        out[i] = 1;
    if (nsets == 0)
        return 0;
    for (i = 0; i < nsets; i++)
        if (sets[i].n == 0) { /* an object no OSD holds */
            for (i = 0; i < nf; i++)
                out[i] = 0;
            return 0;
        }
    err = union_of(sets, nsets, &osds, &u);
    if (err)
        return err;
    if (nosds)
        *nosds = u;
    if (u <= VMD_AVAIL_EXACT_OSDS) {
        err = exact(sets, nsets, osds, u, f, nf, out);
    } else {
        *is_exact = 0;
        err = bound(sets, nsets, f, nf, out);
    }
    free(osds);
    return err;
}
