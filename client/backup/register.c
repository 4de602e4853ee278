/*
 * register.c - the index registration of a backup's new chunks (multi-stage, batched).
 *
 * The published design separates duplicate detection from the backup: a
 * host accumulates detection requests partitioned by fingerprint, and each
 * index partition is compared against all requests for it in one pass.
 * Here:
 *
 *   batch   the last BK_REG_BATCH new chunks (b->reg, with an open-addressing
 *           table b->reg_hash of twice the size): a chunk written earlier
 *           in this batch is referenced, not written again;
 *   spill   a full batch is appended to a spill file (tmpfile(), one
 *           vmd_idx_reg_item of 56 bytes per new chunk, about 1.4% of the
 *           new data) and counted per partition (b->pcount);
 *   groups  at the end, once every container is durable, the spill is read
 *           back in groups of whole partitions of at most BK_REG_MEM bytes,
 *           each group sorted, deduplicated and registered with
 *           vmd_idx_register: one class call per partition per backup.
 *
 * Memory is bounded by the batch and the group size, not by the disk.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/backup_int.h"

/* Appends the batch to the spill file and counts it per partition. */
static int spill_reg(backup *b)
{
    size_t i;

    if (!b->nreg)
        return 0;
    if (!b->spill && !(b->spill = tmpfile()))
        return vmd_fail(b->s, -errno, "creating the registration spill file (in $TMPDIR)");
    if (fwrite(b->reg, sizeof(*b->reg), b->nreg, b->spill) != b->nreg)
        return vmd_fail(b->s, -EIO, "writing the registration spill file (in $TMPDIR)");
    for (i = 0; i < b->nreg; i++)
        b->pcount[vmd_fp_partition(&b->reg[i].fp, (unsigned)b->s->partition_bits)]++;
    b->nspilled += b->nreg;
    b->nreg = 0;
    memset(b->reg_hash, 0, 2 * BK_REG_BATCH * sizeof(*b->reg_hash));
    return 0;
}

/* Where a chunk new in this batch already went (NULL when it is not in it). */
static uint32_t *reg_slot(backup *b, const uint8_t *fp, vmd_loc **loc)
{
    size_t mask = 2 * BK_REG_BATCH - 1, i = vmd_bk_fp_hash(fp) & mask;

    *loc = NULL;
    for (; b->reg_hash[i]; i = (i + 1) & mask)
        if (!memcmp(b->reg[b->reg_hash[i] - 1].fp.b, fp, 32)) {
            *loc = &b->reg[b->reg_hash[i] - 1].loc;
            break;
        }
    return &b->reg_hash[i];
}

int vmd_reg_lookup(backup *b, const uint8_t *fp, vmd_loc **loc, uint32_t **hslot)
{
    int err;

    if (b->nreg == BK_REG_BATCH && (err = spill_reg(b)))
        return err;
    *hslot = reg_slot(b, fp, loc);
    return 0;
}

void vmd_reg_add(backup *b, uint32_t *hslot, const new_chunk *nc, const vmd_loc *loc)
{
    memset(&b->reg[b->nreg], 0, sizeof(b->reg[0])); /* padding goes to the spill file */
    memcpy(b->reg[b->nreg].fp.b, nc->fp, 32);
    b->reg[b->nreg].chunk_len = nc->raw_len;
    b->reg[b->nreg].loc = *loc;
    *hslot = (uint32_t)++b->nreg;
}

static int reg_cmp(const void *x, const void *y)
{
    return memcmp(((const vmd_idx_reg_item *)x)->fp.b, ((const vmd_idx_reg_item *)y)->fp.b, 32);
}

/* Reads the spilled items of partitions [lo, hi) into items; *n gets how many (deduplicated). */
static int gather(backup *b, unsigned lo, unsigned hi, vmd_idx_reg_item *items, size_t *n)
{
    size_t got, i, k = 0;

    rewind(b->spill);
    while ((got = fread(b->reg, sizeof(*b->reg), BK_REG_BATCH, b->spill)) > 0)
        for (i = 0; i < got; i++) {
            unsigned p = vmd_fp_partition(&b->reg[i].fp, (unsigned)b->s->partition_bits);
            if (p >= lo && p < hi)
                items[k++] = b->reg[i];
        }
    if (ferror(b->spill))
        return vmd_fail(b->s, -EIO, "reading the registration spill file");
    qsort(items, k, sizeof(*items), reg_cmp);
    for (i = 0, *n = 0; i < k; i++)
        if (*n == 0 || memcmp(items[*n - 1].fp.b, items[i].fp.b, 32))
            items[(*n)++] = items[i];
    return 0;
}

int vmd_reg_all(backup *b)
{
    unsigned nparts = 1u << b->s->partition_bits, lo, hi;
    size_t cap = BK_REG_MEM / sizeof(vmd_idx_reg_item), have = 0, n = 0;
    vmd_idx_reg_item *items = NULL;
    vmd_idx_reg_result *res = NULL;
    int err = spill_reg(b);

    for (lo = 0; !err && b->nspilled && lo < nparts; lo = hi) {
        size_t sum = b->pcount[lo];
        for (hi = lo + 1; hi < nparts && sum + b->pcount[hi] <= cap; hi++)
            sum += b->pcount[hi];
        if (!sum)
            continue;
        if (sum > have) {
            free(items);
            free(res);
            items = malloc(sum * sizeof(*items));
            res = malloc(sum * sizeof(*res));
            have = sum;
            if (!items || !res) {
                err = vmd_fail(b->s, -ENOMEM, "registering %zu chunks", sum);
                break;
            }
        }
        err = gather(b, lo, hi, items, &n);
        if (!err)
            err = vmd_idx_register(b->s, b->vm, items, n, res);
    }
    free(items);
    free(res);
    return err;
}
