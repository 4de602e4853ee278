/*
 * stats.c - vmd_stats(): what each level saved, how close to perfect global dedup
 * the store is, and how available VM-centric packing keeps the snapshots.
 *
 * Bytes come from the catalogs (one line per committed snapshot: logical,
 * level 1/2/3, zero, new, stored) summed per VM and over the store. The
 * index partitions' counters give the unique bytes (what perfect global
 * deduplication would store) and the popular bytes (stored once more in the
 * popular pool). The figure of merit of the published design is
 *
 *     global_fraction = (L - Z - S) / (L - Z - U)
 *
 * L logical bytes, Z all-zero bytes, S bytes actually stored uncompressed
 * (new bytes of every snapshot + popular copies), U unique bytes. Zero
 * chunks are left out of both sides: every scheme stores them as holes, so
 * counting them would flatter any scheme alike. Clamped to [0, 1] (U can
 * include chunks of a backup that died after registering them); 1 when
 * there is nothing to deduplicate (L - Z = U).
 *
 * Availability: for the latest snapshot of each VM, the objects it needs
 * (its recipe and the recipes holding its SAME records in the meta pool,
 * the VM containers c.<vm>.<id16> and the popular containers p.<id16> its
 * records name) are placed on OSDs (placement.c, one mon command per
 * placement group), and avail.c computes P(restorable) for several per-OSD
 * failure probabilities: with the popular pool's real size, and as if it
 * had the data pool's size (each popular acting set cut to its first
 * data-size OSDs: the primary and the replicas CRUSH would pick first).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report/avail.h"
#include "snapshot/catalog.h"
#include "cds/cds.h"
#include "rados/idx_client.h"
#include "report/placement.h"
#include "snapshot/recipe_reader.h"
#include "util/grow.h"
#include "util/u64set.h"
#include "format/container.h"
#include "format/recipe.h"

#define ST_PAGE      1024 /* recipe table entries read at once */
#define ST_DEFAULT_F 0.01

static const double f_table[] = {0.001, 0.01, 0.05, 0.1};

/* The objects one snapshot depends on. */
typedef struct snap_refs {
    vmd_u64set recipes; /* snapshot numbers */
    vmd_u64set data;    /* container ids of the VM */
    vmd_u64set popular; /* popular container ids */
} snap_refs;

/* Acting sets gathered for one availability figure, each placement group once. */
typedef struct set_acc {
    vmd_osdset *v;
    size_t n, cap;
    vmd_u64set pgs;
} set_acc;

/* ---- bytes from the catalogs ---- */

static void add_usage(vmd_usage *u, const vmd_snap_info *i)
{
    u->snapshots++;
    u->logical_bytes += i->stats.logical_bytes;
    u->level1_bytes += i->stats.level1_bytes;
    u->level2_bytes += i->stats.level2_bytes;
    u->level3_bytes += i->stats.level3_bytes;
    u->zero_bytes += i->stats.zero_bytes;
    u->new_bytes += i->stats.new_bytes;
    u->stored_bytes += i->stats.stored_bytes;
}

static void sum_usage(vmd_usage *t, const vmd_usage *u)
{
    t->snapshots += u->snapshots;
    t->logical_bytes += u->logical_bytes;
    t->level1_bytes += u->level1_bytes;
    t->level2_bytes += u->level2_bytes;
    t->level3_bytes += u->level3_bytes;
    t->zero_bytes += u->zero_bytes;
    t->new_bytes += u->new_bytes;
    t->stored_bytes += u->stored_bytes;
}

static int vm_usage(vmd_store *s, vmd_vm_stats *v)
{
    vmd_snap_list *list = NULL;
    size_t n, i;
    int err = vmd_snap_list_new(&list, s, v->vm);

    if (err)
        return err;
    n = vmd_snap_list_count(list);
    for (i = 0; i < n; i++)
        add_usage(&v->u, vmd_snap_list_get(list, i));
    v->latest = n ? vmd_snap_list_get(list, n - 1)->snap : 0;
    vmd_snap_list_free(list);
    return 0;
}

/* ---- the objects a snapshot references ---- */

/* Adds the recipe and containers the record of segment seg (entry e) names. */
static int record_refs(vmd_rcp_records *rs, const vmd_rcp_reader *r, uint64_t seg,
                       const vmd_rcp_entry *e, snap_refs *out)
{
    char msg[VMD_RCP_MSG_MAX];
    size_t i;
    int err;

    rs->n = 0;
    if ((err = vmd_rcp_reader_record(rs, msg, r, seg, e)))
        return vmd_fail(r->s, err, "%s", msg);
    if (vmd_u64set_add(&out->recipes, e->holder) < 0)
        return vmd_fail(r->s, -ENOMEM, "listing recipes");
    for (i = 0; i < rs->n; i++) {
        const vmd_rcp_ref *f = &rs->refs[i];
        vmd_u64set *set = (f->flags & VMD_RCP_REF_POPULAR) ? &out->popular : &out->data;
        if (f->flags & VMD_RCP_REF_ZERO)
            continue;
        if (vmd_u64set_add(set, f->ctr) < 0)
            return vmd_fail(r->s, -ENOMEM, "listing containers");
    }
    return 0;
}

static int snapshot_refs(vmd_store *s, const char *vm, uint32_t snap, snap_refs *out)
{
    char msg[VMD_RCP_MSG_MAX];
    vmd_rcp_reader r;
    vmd_rcp_records rs;
    vmd_rcp_entry e;
    uint64_t seg;
    int err;

    memset(&rs, 0, sizeof(rs));
    err = vmd_rcp_reader_open(&r, s, vm, snap, ST_PAGE);
    if (!err && vmd_u64set_add(&out->recipes, snap) < 0)
        err = vmd_fail(s, -ENOMEM, "listing recipes");
    for (seg = 0; !err && seg < r.hdr.nsegs; seg++) {
        if ((err = vmd_rcp_reader_entry(&e, msg, &r, seg)))
            err = vmd_fail(s, err, "%s", msg);
        else if (e.kind != VMD_RCP_ZERO)
            err = record_refs(&rs, &r, seg, &e, out);
    }
    vmd_rcp_reader_close(&r);
    vmd_rcp_records_free(&rs);
    return err;
}

/* ---- acting sets ---- */

static int acc_add(set_acc *a, const vmd_osdset *set, uint64_t pg)
{
    int fresh = vmd_u64set_add(&a->pgs, pg);

    if (fresh <= 0)
        return fresh;
    if (vmd_grow((void **)&a->v, &a->cap, a->n + 1, 64, sizeof(*a->v)))
        return -ENOMEM;
    a->v[a->n++] = *set;
    return 0;
}

static void acc_free(set_acc *a)
{
    free(a->v);
    vmd_u64set_free(&a->pgs);
    memset(a, 0, sizeof(*a));
}

/*
 * Places every object of r and adds its acting set to real and to datasz
 * (popular sets cut to the data pool's size there); both optional pairs
 * (global ones) get the same.
 */
static int place_refs(vmd_store *s, vmd_place *pl, const char *vm, const snap_refs *r,
                      set_acc *acc[4], uint64_t *objects)
{
    const vmd_u64set *sets[3] = {&r->recipes, &r->data, &r->popular};
    const int pools[3] = {VMD_POOL_META, VMD_POOL_DATA, VMD_POOL_POPULAR};
    uint32_t data_size = vmd_place_size(pl, VMD_POOL_DATA);
    char oid[VMD_CTR_OID_MAX + VMD_RCP_OID_MAX];
    uint64_t *ids = NULL, pg;
    vmd_osdset set, cut;
    size_t i, j, k;
    int err = 0;

    for (i = 0; i < 3 && !err; i++) {
        if (vmd_u64set_sorted(sets[i], &ids))
            return vmd_fail(s, -ENOMEM, "listing objects");
        for (j = 0; j < sets[i]->n && !err; j++) {
            if (pools[i] == VMD_POOL_META)
                vmd_rcp_oid(oid, vm, (uint32_t)ids[j]);
            else
                vmd_ctr_oid(oid, sizeof(oid), pools[i] == VMD_POOL_DATA ? vm : NULL, ids[j]);
            err = vmd_place_acting(pl, pools[i], oid, &set, &pg);
            if (err)
                break;
            cut = set;
            if (pools[i] == VMD_POOL_POPULAR && cut.n > data_size)
                cut.n = data_size;
            for (k = 0; k < 4 && !err; k++)
                if (acc[k] && acc_add(acc[k], (k % 2) ? &cut : &set, pg) < 0)
                    err = vmd_fail(s, -ENOMEM, "collecting acting sets");
            (*objects)++;
        }
        free(ids);
        ids = NULL;
    }
    return err;
}

static int fill_avail(const set_acc *real, const set_acc *cut, const double *f, size_t nf,
                      vmd_avail *out, int *exact, uint64_t *osds)
{
    double pr[VMD_AVAIL_F_MAX], pc[VMD_AVAIL_F_MAX];
    uint32_t n = 0;
    int e1 = 1, e2 = 1, err;
    size_t i;

    err = vmd_avail_compute(real->v, real->n, f, nf, pr, &e1, &n);
    if (!err)
        err = vmd_avail_compute(cut->v, cut->n, f, nf, pc, &e2, NULL);
    if (err)
        return err;
    for (i = 0; i < nf; i++) {
        out[i].f = f[i];
        out[i].with_popular = pr[i];
        out[i].data_size = pc[i];
    }
    if (exact)
        *exact = e1 && e2;
    if (osds)
        *osds = n;
    return 0;
}

/* ---- the whole ---- */

static size_t failure_list(const vmd_stats_opts *o, double *f)
{
    size_t n = 0, i;

    f[n++] = o && o->osd_failure > 0 ? o->osd_failure : ST_DEFAULT_F;
    for (i = 0; i < sizeof(f_table) / sizeof(f_table[0]) && n < VMD_AVAIL_F_MAX; i++)
        if (f_table[i] != f[0])
            f[n++] = f_table[i];
    return n;
}

static int vm_avail(vmd_store *s, vmd_place *pl, vmd_vm_stats *v, set_acc *all_real,
                    set_acc *all_cut, const double *f, size_t nf)
{
    snap_refs r;
    set_acc real, cut;
    set_acc *acc[4] = {&real, &cut, all_real, all_cut};
    int err;

    memset(&r, 0, sizeof(r));
    memset(&real, 0, sizeof(real));
    memset(&cut, 0, sizeof(cut));
    err = snapshot_refs(s, v->vm, v->latest, &r);
    if (!err)
        err = place_refs(s, pl, v->vm, &r, acc, &v->objects);
    if (!err && fill_avail(&real, &cut, f, nf, v->avail, &v->exact, &v->osds))
        err = vmd_fail(s, -ENOMEM, "computing the availability of %s", v->vm);
    vmd_u64set_free(&r.recipes);
    vmd_u64set_free(&r.data);
    vmd_u64set_free(&r.popular);
    acc_free(&real);
    acc_free(&cut);
    return err;
}

static int cmp_vm(const void *a, const void *b)
{
    return strcmp(((const vmd_vm_stats *)a)->vm, ((const vmd_vm_stats *)b)->vm);
}

/* What vmd_stats() returns: the totals, and the figures of each VM. */
struct vmd_stats_report {
    vmd_store_stats store;
    size_t nvms;
    vmd_vm_stats *vms; /* sorted by VM id */
};

/* The VMs to report: vm alone, or every VM of the store. */
static int list_vms(vmd_store *s, const char *vm, vmd_stats_report *st)
{
    vmd_vm_list *names = NULL;
    size_t n, i;
    int err;

    if (vm) {
        err = vmd_cat_vm_check(s, vm);
        if (err)
            return err;
        st->vms = calloc(1, sizeof(*st->vms));
        if (!st->vms)
            return vmd_fail(s, -ENOMEM, "stats of %s", vm);
        snprintf(st->vms[0].vm, sizeof(st->vms[0].vm), "%s", vm);
        st->nvms = 1;
        return 0;
    }
    err = vmd_vm_list_new(&names, s);
    if (err)
        return err;
    n = vmd_vm_list_count(names);
    st->vms = calloc(n ? n : 1, sizeof(*st->vms));
    if (!st->vms) {
        vmd_vm_list_free(names);
        return vmd_fail(s, -ENOMEM, "stats of %zu VMs", n);
    }
    for (i = 0; i < n; i++)
        snprintf(st->vms[i].vm, sizeof(st->vms[i].vm), "%s", vmd_vm_list_get(names, i));
    st->nvms = n;
    vmd_vm_list_free(names);
    qsort(st->vms, st->nvms, sizeof(*st->vms), cmp_vm);
    return 0;
}

static void global_fraction(vmd_store_stats *st)
{
    double l = (double)st->total.logical_bytes - (double)st->total.zero_bytes;
    double stored = (double)st->total.new_bytes + (double)st->popular_bytes;
    double best = l - (double)st->unique_bytes;
    double f;

    if (best <= 0) {
        st->global_fraction = 1;
        return;
    }
    f = (l - stored) / best;
    st->global_fraction = f < 0 ? 0 : f > 1 ? 1 : f;
}

int vmd_stats(vmd_stats_report **out, vmd_store *s, const char *vm, const vmd_stats_opts *opts)
{
    vmd_stats_report *r;
    vmd_store_stats *st;
    vmd_idx_counters c;
    vmd_cds_ptr p;
    vmd_place *pl = NULL;
    set_acc all_real, all_cut;
    double f[VMD_AVAIL_F_MAX];
    size_t i;
    int err;

    if (out)
        *out = NULL;
    if (!out || !s)
        return s ? vmd_fail(s, -EINVAL, "vmd_stats: out is NULL") : -EINVAL;
    if (opts && !(opts->osd_failure >= 0 && opts->osd_failure < 1))
        return vmd_fail(s, -EINVAL, "the OSD failure probability must be in [0, 1), not %g",
                        opts->osd_failure);
    if (s->partition_bits < 0)
        return vmd_fail(s, -ENOENT,
                        "store not initialised: no object %s in pool %s (run vmdedup init)",
                        VMD_STORE_OBJECT, s->meta_pool);
    r = calloc(1, sizeof(*r));
    if (!r)
        return vmd_fail(s, -ENOMEM, "stats");
    st = &r->store;
    memset(&all_real, 0, sizeof(all_real));
    memset(&all_cut, 0, sizeof(all_cut));
    err = list_vms(s, vm, r);
    for (i = 0; !err && i < r->nvms; i++) {
        err = vm_usage(s, &r->vms[i]);
        sum_usage(&st->total, &r->vms[i].u);
    }
    if (!err)
        err = vmd_idx_stats(s, &c);
    if (!err) {
        st->unique_chunks = c.entries;
        st->unique_bytes = c.bytes;
        st->popular_chunks = c.popular_entries;
        st->popular_bytes = c.popular_bytes;
        if (vm)
            st->global_fraction = -1; /* the index is the store's: no per-VM figure */
        else
            global_fraction(st);
        err = vmd_cds_ptr_read(s, &p);
        st->cds_version = p.current;
    }
    if (!err && !(opts && opts->no_avail)) {
        st->navail = failure_list(opts, f);
        err = vmd_place_new(s, &pl);
        if (!err) {
            st->meta_size = vmd_place_size(pl, VMD_POOL_META);
            st->data_size = vmd_place_size(pl, VMD_POOL_DATA);
            st->popular_size = vmd_place_size(pl, VMD_POOL_POPULAR);
        }
        for (i = 0; !err && i < r->nvms; i++)
            if (r->vms[i].latest)
                err = vm_avail(s, pl, &r->vms[i], &all_real, &all_cut, f, st->navail);
        if (!err && fill_avail(&all_real, &all_cut, f, st->navail, st->avail, NULL, NULL))
            err = vmd_fail(s, -ENOMEM, "computing the availability of the store");
    }
    vmd_place_free(pl);
    acc_free(&all_real);
    acc_free(&all_cut);
    if (err) {
        vmd_stats_report_free(r);
        return err;
    }
    *out = r;
    return 0;
}

const vmd_store_stats *vmd_stats_report_store(const vmd_stats_report *r)
{
    return r ? &r->store : NULL;
}

size_t vmd_stats_report_vm_count(const vmd_stats_report *r)
{
    return r ? r->nvms : 0;
}

const vmd_vm_stats *vmd_stats_report_vm(const vmd_stats_report *r, size_t i)
{
    return r && i < r->nvms ? &r->vms[i] : NULL;
}

void vmd_stats_report_free(vmd_stats_report *r)
{
    if (!r)
        return;
    free(r->vms);
    free(r);
}
