/*
 * level3.c - level 3 of the deduplication: chunks of the common data set.
 *
 * Cross-VM deduplication against the most popular chunks of the whole
 * store. The backup loads the published CDS manifest once (cds/cds.c) into
 * a lock-free hash table that all workers read; a chunk that levels 1 and
 * 2 did not find and that the table holds (same length) references the
 * popular copy (ref flag POPULAR, container p.<id16>), and the snapshot's
 * bit for that CDS entry is set (b->pop_bits: one bit per entry, set with
 * an atomic OR by any worker).
 *
 * At commit the bits become reference counts: one idx_ref per popular copy
 * the snapshot found through level 3 (not per chunk, and none for a ref
 * inherited from the parent by levels 1 and 2), before the recipe is
 * complete, so a crash leaves a count too high, never too low.
 */
#include <errno.h>
#include <stdlib.h>

#include "backup/backup_int.h"

/*
 * Level 3: ref i references the popular copy when its chunk is in the CDS
 * table, and the snapshot's bit for that entry is set (the writer turns the
 * bits into reference counts at commit). Returns 1 when it did.
 */
int vmd_l3_find(worker *w, result *r, size_t i)
{
    backup *b = w->b;
    vmd_rcp_ref *f = &r->refs[i];
    vmd_cds_loc loc;

    if (!b->cds || !vmd_cds_find(b->cds, f->fp, &loc) || loc.raw_len != f->raw_len)
        return 0;
    f->flags = VMD_RCP_REF_POPULAR;
    f->ctr = loc.ctr;
    f->slot = loc.slot;
    __atomic_fetch_or(&b->pop_bits[loc.index >> 3], (uint8_t)(1u << (loc.index & 7)),
                      __ATOMIC_RELAXED);
    r->l3 += f->raw_len;
    return 1;
}

/*
 * One reference more on every popular copy this snapshot references through
 * level 3 (each counted once per snapshot), in batches of BK_REF_BATCH. It
 * runs before the recipe is complete: a crash afterwards leaves counts too
 * high, never too low, so a popular copy in use is never taken for unused.
 */
int vmd_l3_count_refs(backup *b)
{
    uint64_t n = vmd_cds_count(b->cds), i;
    vmd_idx_ref_item *items;
    uint64_t *after;
    size_t k = 0;
    int err = 0;

    if (!b->pop_bits)
        return 0;
    items = malloc(BK_REF_BATCH * sizeof(*items));
    after = malloc(BK_REF_BATCH * sizeof(*after));
    if (!items || !after)
        err = vmd_fail(b->s, -ENOMEM, "counting references to popular chunks");
    for (i = 0; i < n && !err; i++) {
        if (!(b->pop_bits[i >> 3] & (1u << (i & 7))))
            continue;
        vmd_cds_fp_at(b->cds, i, items[k].fp.b);
        items[k++].delta = 1;
        if (k == BK_REF_BATCH) {
            err = vmd_idx_ref(b->s, items, k, after);
            k = 0;
        }
    }
    if (!err && k)
        err = vmd_idx_ref(b->s, items, k, after);
    free(items);
    free(after);
    return err;
}
