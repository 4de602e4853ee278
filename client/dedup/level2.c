/*
 * level2.c - level 2 of the deduplication: chunks the parent snapshot already holds.
 *
 * Similarity-guided inner-VM deduplication: the chunks of a changed
 * segment are looked up among the refs of the parent's record at the
 * same offset (loaded by level 1) and of up to BK_SIMILAR parent segments
 * with the most similar min-hash signatures (similar.c: the smallest
 * fingerprint prefixes of each segment). A hit references the location
 * the parent's ref names (container + slot, possibly of an older snapshot
 * of the VM; a popular copy stays popular). Repeats within the segment are
 * found too.
 *
 * The lookup table is per worker: open addressing over the loaded parent
 * refs (values 1..nprefs) and this segment's chunks (nprefs + k + 1),
 * sized to at least twice the items, keyed by 8 bytes of the fingerprint.
 * A chunk found nowhere goes on to level 3, then is new.
 */
#include <errno.h>
#include <string.h>

#include "backup/backup_int.h"
#include "util/grow.h"

/* Empties the table, sized for `items` (at least twice, a power of two). */
static int hash_prepare(worker *w, size_t items)
{
    size_t cap = 64;

    while (cap < items * 2)
        cap *= 2;
    if (cap > w->hash_cap) {
        size_t have = w->hash_cap;
        if (vmd_grow((void **)&w->hash, &have, cap, cap, sizeof(*w->hash)))
            return -ENOMEM;
    }
    memset(w->hash, 0, cap * sizeof(*w->hash));
    w->hash_cap = cap;
    return 0;
}

/* Slot of fp in the hash: where it is, or the empty slot where it belongs. */
static size_t hash_find(worker *w, const uint8_t *fp, const uint8_t *(*key)(worker *, uint32_t),
                        uint32_t *found)
{
    size_t mask = w->hash_cap - 1, i = vmd_bk_fp_hash(fp) & mask;

    for (; w->hash[i]; i = (i + 1) & mask)
        if (memcmp(key(w, w->hash[i] - 1), fp, 32) == 0) {
            *found = w->hash[i] - 1;
            return i;
        }
    *found = UINT32_MAX;
    return i;
}

/* Hash values: < nprefs are parent refs; nprefs + k is the k-th chunk of this segment. */
static const uint8_t *hkey(worker *w, uint32_t v)
{
    return v < w->prefs.n ? w->prefs.refs[v].fp : w->fps[v - w->prefs.n].b;
}

/* A parent record already loaded for this segment. */
typedef struct cand_rec {
    uint64_t seg;
    uint32_t holder;
    uint64_t offset;
    uint32_t n;
} cand_rec;

int vmd_l2_load_similar(worker *w, result *r, uint64_t seg, const vmd_rcp_entry *same)
{
    backup *b = w->b;
    cand_rec seen[BK_SIMILAR + 1];
    uint64_t best[BK_SIMILAR];
    size_t nb, nseen = 0, i, j;
    int err;

    if (same)
        seen[nseen++] = (cand_rec){seg, same->holder, same->offset, same->nchunks};
    nb = vmd_sim_best(&b->p.sim, r->sig, seg, best, BK_SIMILAR);
    for (i = 0; i < nb; i++) {
        const vmd_rcp_entry *e = &b->p.entries[best[i]];
        int dup = 0;
        if (e->kind == VMD_RCP_ZERO)
            continue;
        for (j = 0; j < nseen; j++)
            dup |= seen[j].holder == e->holder && seen[j].offset == e->offset;
        if (dup)
            continue;
        err = vmd_bk_parent_record(w, r, best[i], e);
        if (err)
            return err;
        seen[nseen++] = (cand_rec){best[i], e->holder, e->offset, e->nchunks};
    }
    return 0;
}

/* Ref i repeats ref j < i of the same segment: the same copy, and the same level. */
static void repeat_chunk(result *r, size_t i, size_t j)
{
    const vmd_rcp_ref *g = &r->refs[j];

    if (g->flags & VMD_RCP_REF_POPULAR) {
        r->refs[i].flags = VMD_RCP_REF_POPULAR;
        r->refs[i].ctr = g->ctr;
        r->refs[i].slot = g->slot;
        r->l3 += r->refs[i].raw_len;
    } else {
        r->newidx[i] = r->newidx[j];
        r->l2 += r->refs[i].raw_len;
    }
}

int vmd_l2_dedup(worker *w, result *r, size_t n)
{
    uint32_t off = 0;
    size_t i;
    int err;

    err = hash_prepare(w, w->prefs.n + n);
    if (err)
        return vmd_bk_fail(r, err, "allocating the level-2 table");
    for (i = 0; i < w->prefs.n; i++) {
        uint32_t found;
        size_t at;
        if (w->prefs.refs[i].flags & VMD_RCP_REF_ZERO)
            continue;
        at = hash_find(w, w->prefs.refs[i].fp, hkey, &found);
        if (found == UINT32_MAX)
            w->hash[at] = (uint32_t)i + 1;
    }
    r->n = (uint32_t)n;
    for (i = 0; i < n; i++) {
        vmd_rcp_ref *f = &r->refs[i];
        uint32_t len = w->chunks[i].len, found;
        size_t at;

        memset(f, 0, sizeof(*f));
        f->raw_len = len;
        r->newidx[i] = BK_NO_NEW;
        if (vmd_is_zero(w->buf + off, len)) {
            f->flags = VMD_RCP_REF_ZERO;
            r->zero += len;
            off += len;
            continue;
        }
        memcpy(f->fp, w->fps[i].b, 32);
        r->chunks++;
        at = hash_find(w, f->fp, hkey, &found);
        if (found != UINT32_MAX && found < w->prefs.n) {
            f->ctr = w->prefs.refs[found].ctr;
            f->slot = w->prefs.refs[found].slot;
            f->flags = w->prefs.refs[found].flags & VMD_RCP_REF_POPULAR;
            r->l2 += len;
        } else if (found != UINT32_MAX) {
            repeat_chunk(r, i, found - w->prefs.n); /* repeated within the segment */
        } else {
            w->hash[at] = (uint32_t)(w->prefs.n + i) + 1;
            if (!vmd_l3_find(w, r, i))
                vmd_bk_add_new(w, r, i, off);
        }
        off += len;
    }
    return 0;
}
