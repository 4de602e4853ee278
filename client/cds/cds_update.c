/*
 * cds_update.c - vmd_cds_update(): build and publish a new version of the common data set.
 *
 * Steps, under the exclusive lock "vmd.cds.update" on vmd.cds (a lease,
 * rados/lock.c: 30 s, renewed every 10 s, so a killed update blocks the
 * next one at most 30 s). Steps 2-3 are in cds_update_select.c, 4 in
 * cds_update_copy.c, 5-8 in cds_update_publish.c (cds_update.h):
 *
 *   1. version   take v = max(current + 1, next_version) and persist
 *                next_version = v + 1 (compare-and-set): every attempt, even
 *                one that dies, has a version of its own.
 *   2. previous  read the published manifest (entries sorted by fp in memory).
 *   3. select    merge the partitions' idx_top pages (cds_select.c, all
 *                partitions' pages fetched in parallel batches) and walk the
 *                whole index most popular first, vm_count >= min_vms, until
 *                `target` chunks (top_percent of the index's unique chunks)
 *                or max_bytes. An entry already POPULAR is kept (if the
 *                previous version lists it) or adopted (marked by an update
 *                that died before publishing); any other needs a copy.
 *   4. copy      group the chunks to copy by home container (c.<vm>.<id16>,
 *                data pool), load each container's table once, read the
 *                needed slots in coalesced spans, verify every chunk
 *                (SHA-256 after decompression) and append its stored bytes
 *                to a popular container (p.<id16>, ids from the counter
 *                next_id, compare-and-set), written when full.
 *   5. mark      vmd_idx_mark_popular for every copied chunk: from now on a
 *                backup registering it gets its popular copy. Only chunks
 *                whose popular container is durable are marked.
 *   6. manifest  write cds.<v>: kept + adopted + copied + the previous
 *                version's entries the walk did not reach (still popular,
 *                still referenced), sorted most popular first.
 *   7. publish   renew the lock, then one compare-and-set on vmd.cds:
 *                current (still the version read in 2) = v, previous = it.
 *   8. tidy      remove cds.<previous of the old current> and the manifests of
 *                attempts that never published (versions between the old
 *                current and v).
 *
 * Interrupted anywhere, an update leaves the published CDS as it was.
 * Before 5 it leaves popular containers nothing references (ids below
 * next_id that no published manifest and no POPULAR index entry names);
 * between 5 and 7 it leaves entries marked popular that the next update
 * adopts when its walk reaches them; before 7 it leaves an unpublished
 * cds.<v> that the next publication removes. Nothing of it is ever read
 * by a backup or restore except through the index, which only names
 * durable copies.
 */
#include "cds/cds_update.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CDS_LOCK "vmd.cds.update"

double vmd_cdsu_since(const struct timespec *t0)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- the counters of vmd.cds ---- */

int vmd_cdsu_ptr_cas(vmd_cdsu *u, const char *key, uint64_t old, uint64_t v, const char *key2,
                     uint64_t v2)
{
    char sold[24], sv[24], sv2[24];
    const char *keys[2] = {key, key2};
    const char *vals[2] = {sv, sv2};
    size_t lens[2];
    rados_write_op_t op;
    int prval = 0, err;

    snprintf(sold, sizeof(sold), "%" PRIu64, old);
    snprintf(sv, sizeof(sv), "%" PRIu64, v);
    snprintf(sv2, sizeof(sv2), "%" PRIu64, v2);
    lens[0] = strlen(sv);
    lens[1] = strlen(sv2);
    op = rados_create_write_op();
    if (!op)
        return vmd_fail(u->s, -ENOMEM, "updating %s", VMD_CDS_POINTER);
    rados_write_op_omap_cmp(op, key, LIBRADOS_CMPXATTR_OP_EQ, sold, strlen(sold), &prval);
    rados_write_op_omap_set(op, keys, vals, lens, key2 ? 2 : 1);
    err = rados_write_op_operate(op, u->s->meta, VMD_CDS_POINTER, NULL, 0);
    rados_release_write_op(op);
    if (err == -ECANCELED || prval == -ECANCELED)
        return vmd_fail(u->s, -ECANCELED,
                        "%s in pool %s: %s changed under the update's lock (another update ran)",
                        VMD_CDS_POINTER, u->s->meta_pool, key);
    if (err < 0)
        return vmd_fail(u->s, err, "updating %s of %s in pool %s", key, VMD_CDS_POINTER,
                        u->s->meta_pool);
    return 0;
}

/* Reads vmd.cds under the lock and writes the keys that are missing (first update). */
static int ptr_init(vmd_cdsu *u)
{
    char v[4][24];
    const char *keys[] = {"current", "previous", "next_version", "next_id"};
    const char *vals[] = {v[0], v[1], v[2], v[3]};
    size_t lens[4];
    rados_write_op_t op;
    int err, i;

    err = vmd_cds_ptr_read(u->s, &u->ptr);
    if (err || u->ptr.complete)
        return err;
    snprintf(v[0], 24, "%" PRIu64, u->ptr.current);
    snprintf(v[1], 24, "%" PRIu64, u->ptr.previous);
    snprintf(v[2], 24, "%" PRIu64, u->ptr.next_version);
    snprintf(v[3], 24, "%" PRIu64, u->ptr.next_id);
    for (i = 0; i < 4; i++)
        lens[i] = strlen(vals[i]);
    op = rados_create_write_op();
    if (!op)
        return vmd_fail(u->s, -ENOMEM, "initialising %s", VMD_CDS_POINTER);
    rados_write_op_omap_set(op, keys, vals, lens, 4);
    err = rados_write_op_operate(op, u->s->meta, VMD_CDS_POINTER, NULL, 0);
    rados_release_write_op(op);
    if (err < 0)
        return vmd_fail(u->s, err, "initialising %s in pool %s", VMD_CDS_POINTER, u->s->meta_pool);
    return 0;
}

static int alloc_version(vmd_cdsu *u)
{
    uint64_t v = u->ptr.current + 1;
    int err;

    if (v < u->ptr.next_version)
        v = u->ptr.next_version;
    if (v > VMD_CDS_VERSION_MAX)
        return vmd_fail(u->s, -ERANGE, "no CDS version left (%u versions)", VMD_CDS_VERSION_MAX);
    err = vmd_cdsu_ptr_cas(u, "next_version", u->ptr.next_version, v + 1, NULL, 0);
    if (err)
        return err;
    u->ptr.next_version = v + 1;
    u->version = v;
    return 0;
}

int vmd_cdsu_alloc_id(vmd_cdsu *u, uint64_t *id)
{
    int err = vmd_cdsu_ptr_cas(u, "next_id", u->ptr.next_id, u->ptr.next_id + 1, NULL, 0);

    if (err)
        return err;
    *id = u->ptr.next_id++;
    return 0;
}

static int check_opts(vmd_store *s, const vmd_cds_update_opts *o)
{
    if (!(o->top_percent >= 0 && o->top_percent <= 100))
        return vmd_fail(s, -EINVAL, "--top wants a percentage from 0 to 100, not %g",
                        o->top_percent);
    if (s->partition_bits < 0)
        return vmd_fail(s, -ENOENT,
                        "store not initialised: no object %s in pool %s (run vmdedup init)",
                        VMD_STORE_OBJECT, s->meta_pool);
    return 0;
}

static void updater_free(vmd_cdsu *u)
{
    vmd_sel_free(u->sel);
    free(u->prev);
    free(u->prev_seen);
    free(u->keep);
    free(u->fresh);
    free(u->pending);
}

int vmd_cds_update(vmd_cds_update_result *out, vmd_store *s, const vmd_cds_update_opts *opts)
{
    vmd_cds_update_result ignored;
    vmd_cds_entry *entries = NULL;
    size_t n = 0;
    vmd_cdsu u;
    int err;

    if (!s)
        return -EINVAL;
    if (!out)
        out = &ignored;
    memset(out, 0, sizeof(*out));
    memset(&u, 0, sizeof(u));
    u.s = s;
    u.r = out;
    if (opts)
        u.o = *opts;
    clock_gettime(CLOCK_MONOTONIC, &u.start);
    u.shown = u.start;
    err = check_opts(s, &u.o);
    if (!err)
        err = vmd_lease_take(&u.lease, s, s->meta, VMD_CDS_POINTER, CDS_LOCK, "cds update");
    if (!err)
        err = ptr_init(&u);
    if (!err)
        err = alloc_version(&u);
    if (!err)
        err = vmd_cdsu_load_previous(&u);
    if (!err)
        err = vmd_cdsu_select(&u);
    if (!err)
        err = vmd_cdsu_copy(&u);
    if (!err)
        err = vmd_cdsu_mark(&u);
    if (!err)
        err = vmd_cdsu_assemble(&u, &entries, &n);
    if (!err)
        err = vmd_cdsu_write_manifest(&u, entries, n);
    if (!err)
        err = vmd_cdsu_publish(&u);
    vmd_lease_drop(&u.lease);
    free(entries);
    updater_free(&u);
    out->seconds = vmd_cdsu_since(&u.start);
    return err;
}
