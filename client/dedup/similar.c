/*
 * similar.c - min-hash similarity index over a parent's segment signatures.
 *
 * See similar.h. A lookup collects, for each of the new segment's (up to 4)
 * signature values, the segments whose signature holds it (at most
 * VMD_SIM_RUN_MAX per value, so a disk of identical segments cannot make a
 * lookup slow), counts the hits per segment in a small array and picks the
 * best ones. Everything is bounded by 4 x VMD_SIM_RUN_MAX candidates.
 */
#include "dedup/similar.h"

#include <errno.h>
#include <stdlib.h>

#include "util/grow.h"

void vmd_sim_init(vmd_sim_index *ix)
{
    ix->pairs = NULL;
    ix->n = ix->cap = 0;
}

int vmd_sim_add(vmd_sim_index *ix, uint64_t seg, const uint64_t sig[VMD_RCP_SIG])
{
    int i;

    for (i = 0; i < VMD_RCP_SIG; i++) {
        if (sig[i] == UINT64_MAX)
            continue;
        if (vmd_grow((void **)&ix->pairs, &ix->cap, ix->n + 1, 256, sizeof(*ix->pairs)))
            return -ENOMEM;
        ix->pairs[ix->n].value = sig[i];
        ix->pairs[ix->n].seg = seg;
        ix->n++;
    }
    return 0;
}

static int pair_cmp(const void *a, const void *b)
{
    const vmd_sim_pair *x = a, *y = b;

    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    if (x->seg != y->seg)
        return x->seg < y->seg ? -1 : 1;
    return 0;
}

void vmd_sim_finish(vmd_sim_index *ix)
{
    if (ix->n > 1)
        qsort(ix->pairs, ix->n, sizeof(*ix->pairs), pair_cmp);
}

/* Index of the first pair with value >= v. */
static size_t lower_bound(const vmd_sim_index *ix, uint64_t v)
{
    size_t lo = 0, hi = ix->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->pairs[mid].value < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

typedef struct cand {
    uint64_t seg;
    unsigned hits;
} cand;

static uint64_t dist(uint64_t a, uint64_t b)
{
    return a > b ? a - b : b - a;
}

/* 1 when candidate a ranks before b. */
static int better(const cand *a, const cand *b, uint64_t near)
{
    if (a->hits != b->hits)
        return a->hits > b->hits;
    if (dist(a->seg, near) != dist(b->seg, near))
        return dist(a->seg, near) < dist(b->seg, near);
    return a->seg < b->seg;
}

static void count_hit(cand *c, size_t *nc, uint64_t seg)
{
    size_t i;

    for (i = 0; i < *nc; i++)
        if (c[i].seg == seg) {
            c[i].hits++;
            return;
        }
    c[*nc].seg = seg;
    c[*nc].hits = 1;
    (*nc)++;
}

size_t vmd_sim_best(const vmd_sim_index *ix, const uint64_t sig[VMD_RCP_SIG], uint64_t exclude,
                    uint64_t *out, size_t max)
{
    cand c[VMD_RCP_SIG * VMD_SIM_RUN_MAX];
    size_t nc = 0, nout = 0, i, j;
    int k;

    for (k = 0; k < VMD_RCP_SIG; k++) {
        size_t at, run = 0;
        if (sig[k] == UINT64_MAX || (k > 0 && sig[k] == sig[k - 1]))
            continue;
        for (at = lower_bound(ix, sig[k]);
             at < ix->n && ix->pairs[at].value == sig[k] && run < VMD_SIM_RUN_MAX; at++, run++)
            if (ix->pairs[at].seg != exclude)
                count_hit(c, &nc, ix->pairs[at].seg);
    }
    /* Selection of the best `max`: nc is at most 32. */
    for (i = 0; i < max && i < nc; i++) {
        size_t best = i;
        cand t;
        for (j = i + 1; j < nc; j++)
            if (better(&c[j], &c[best], exclude))
                best = j;
        t = c[i];
        c[i] = c[best];
        c[best] = t;
        out[nout++] = c[i].seg;
    }
    return nout;
}

void vmd_sim_free(vmd_sim_index *ix)
{
    free(ix->pairs);
    vmd_sim_init(ix);
}
