/*
 * catalog.c - snapshot catalogs, the VM list, the backup lock, and the
 * listing and consistency-check calls of the public API.
 *
 * Layout (catalog.h, docs/format.md "Snapshots: catalog and recipes"): a
 * VM's catalog is the omap of `vm.<vm>`, one plain-text line per committed
 * snapshot under `snap.<8 digits>` (keys sort numerically), plus
 * `next_seq`. Omap reads are paged (an OSD answers at most 1024 keys per
 * request), so a VM may have any number of snapshots.
 *
 * Concurrency: a backup holds the exclusive lock "vmd.backup" on `vm.<vm>`
 * as a lease (rados/lock.c: 30 s, renewed every 10 s), so a killed client's
 * lock lapses by itself and no operator has to break it. The number a backup
 * allocates (`next_seq`, persisted before any data is written) is never
 * given out again, so even a backup that lost its lock cannot collide with
 * another one's objects.
 */
#include "snapshot/catalog.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rados/cls_call.h"
#include "util/grow.h"
#include "format/container.h"
#include "format/index.h"

#define OMAP_PAGE 512

int vmd_cat_vm_check(vmd_store *s, const char *vm)
{
    if (!vm || !vmd_vm_id_valid(vm, strlen(vm)))
        return vmd_fail(s, -EINVAL, "bad VM id '%s' (1-64 characters of A-Z a-z 0-9 . _ : -)",
                        vm ? vm : "(null)");
    if (s->partition_bits < 0)
        return vmd_fail(s, -ENOENT,
                        "store not initialised: no object %s in pool %s (run vmdedup init)",
                        VMD_STORE_OBJECT, s->meta_pool);
    return 0;
}

void vmd_cat_oid(char out[VMD_CAT_OID_MAX], const char *vm)
{
    snprintf(out, VMD_CAT_OID_MAX, "vm.%s", vm);
}

void vmd_rcp_oid(char out[VMD_RCP_OID_MAX], const char *vm, uint32_t snap)
{
    snprintf(out, VMD_RCP_OID_MAX, "r.%s.%08u", vm, snap);
}

/* ---- paged omap reads ---- */

typedef int (*omap_fn)(void *arg, const char *key, const char *val, size_t len);

/* Calls fn for every key of oid starting with prefix, in key order. -ENOENT: no object. */
static int omap_each(vmd_store *s, const char *oid, const char *prefix, omap_fn fn, void *arg)
{
    char after[128] = "";
    unsigned char more = 1;
    int err = 0;

    while (!err && more) {
        rados_read_op_t op = rados_create_read_op();
        rados_omap_iter_t it = NULL;
        int prval = 0;
        char *key, *val;
        size_t len;

        if (!op)
            return -ENOMEM;
        more = 0;
        rados_read_op_omap_get_vals2(op, after, prefix, OMAP_PAGE, &it, &more, &prval);
        err = rados_read_op_operate(op, s->meta, oid, 0);
        if (!err && prval < 0)
            err = prval;
        while (!err && it && rados_omap_get_next(it, &key, &val, &len) == 0 && key) {
            snprintf(after, sizeof(after), "%s", key);
            err = fn(arg, key, val, len);
        }
        if (it)
            rados_omap_get_end(it);
        rados_release_read_op(op);
    }
    return err;
}

int vmd_cat_omap_each(vmd_store *s, const char *oid, const char *prefix, vmd_cat_omap_fn fn,
                      void *arg)
{
    return omap_each(s, oid, prefix, fn, arg);
}

/* Reads one omap value of oid into buf (NUL-terminated). -ENOENT: no object or no key. */
static int omap_get(vmd_store *s, const char *oid, const char *key, char *buf, size_t cap)
{
    rados_read_op_t op = rados_create_read_op();
    rados_omap_iter_t it = NULL;
    const char *keys[] = {key};
    int prval = 0, err;
    char *k, *v;
    size_t len;

    if (!op)
        return -ENOMEM;
    rados_read_op_omap_get_vals_by_keys(op, keys, 1, &it, &prval);
    err = rados_read_op_operate(op, s->meta, oid, 0);
    if (!err && prval < 0)
        err = prval;
    if (!err) {
        err = -ENOENT;
        if (rados_omap_get_next(it, &k, &v, &len) == 0 && k) {
            if (len >= cap)
                len = cap - 1;
            memcpy(buf, v, len);
            buf[len] = '\0';
            err = 0;
        }
    }
    if (it)
        rados_omap_get_end(it);
    rados_release_read_op(op);
    return err;
}

static int omap_set1(vmd_store *s, const char *oid, const char *key, const char *val)
{
    rados_write_op_t op = rados_create_write_op();
    size_t len = strlen(val);
    int err;

    if (!op)
        return -ENOMEM;
    rados_write_op_omap_set(op, &key, &val, &len, 1);
    err = rados_write_op_operate(op, s->meta, oid, NULL, 0);
    rados_release_write_op(op);
    return err;
}

/* ---- the catalog line ---- */

void vmd_cat_format(const vmd_snap_info *i, char *buf, size_t cap)
{
    const vmd_snap_stats *t = &i->stats;

    snprintf(buf, cap,
             "parent=%u time=%" PRId64 " size=%" PRIu64 " logical=%" PRIu64 " read=%" PRIu64
             " l1=%" PRIu64 " l2=%" PRIu64 " l3=%" PRIu64 " zero=%" PRIu64 " new=%" PRIu64
             " stored=%" PRIu64 " chunks=%" PRIu64 " new_chunks=%" PRIu64 " containers=%" PRIu64
             " seconds=%.3f rss=%" PRIu64,
             i->parent, i->time, i->size, t->logical_bytes, t->bytes_read, t->level1_bytes,
             t->level2_bytes, t->level3_bytes, t->zero_bytes, t->new_bytes, t->stored_bytes,
             t->chunks, t->new_chunks, t->containers, t->seconds, t->peak_rss);
}

/* Stores one "key=value" token of a catalog line; unknown keys are skipped (newer writers). */
static int parse_token(vmd_snap_info *o, const char *tok)
{
    static const struct {
        const char *key;
        size_t off;
    } u64s[] = {
        {"size", offsetof(vmd_snap_info, size)},
        {"logical", offsetof(vmd_snap_info, stats.logical_bytes)},
        {"read", offsetof(vmd_snap_info, stats.bytes_read)},
        {"l1", offsetof(vmd_snap_info, stats.level1_bytes)},
        {"l2", offsetof(vmd_snap_info, stats.level2_bytes)},
        {"l3", offsetof(vmd_snap_info, stats.level3_bytes)},
        {"zero", offsetof(vmd_snap_info, stats.zero_bytes)},
        {"new", offsetof(vmd_snap_info, stats.new_bytes)},
        {"stored", offsetof(vmd_snap_info, stats.stored_bytes)},
        {"chunks", offsetof(vmd_snap_info, stats.chunks)},
        {"new_chunks", offsetof(vmd_snap_info, stats.new_chunks)},
        {"containers", offsetof(vmd_snap_info, stats.containers)},
        {"rss", offsetof(vmd_snap_info, stats.peak_rss)},
    };
    const char *eq = strchr(tok, '=');
    size_t klen, i;
    char *end;

    if (!eq || eq == tok || !eq[1])
        return -EIO;
    klen = (size_t)(eq - tok);
    if (klen == 6 && !strncmp(tok, "parent", 6)) {
        unsigned long v = strtoul(eq + 1, &end, 10);
        o->parent = (uint32_t)v;
        return *end || v > VMD_SEQ_MAX ? -EIO : 0;
    }
    if (klen == 4 && !strncmp(tok, "time", 4)) {
        o->time = strtoll(eq + 1, &end, 10);
        return *end ? -EIO : 0;
    }
    if (klen == 7 && !strncmp(tok, "seconds", 7)) {
        o->stats.seconds = strtod(eq + 1, &end);
        return *end ? -EIO : 0;
    }
    for (i = 0; i < sizeof(u64s) / sizeof(u64s[0]); i++)
        if (strlen(u64s[i].key) == klen && !strncmp(tok, u64s[i].key, klen)) {
            *(uint64_t *)((char *)o + u64s[i].off) = strtoull(eq + 1, &end, 10);
            return *end ? -EIO : 0;
        }
    return 0;
}

int vmd_cat_parse(vmd_snap_info *out, const char *line, size_t len)
{
    char buf[512], *tok, *save = NULL;
    int err = 0;

    if (len >= sizeof(buf))
        return -EIO;
    memcpy(buf, line, len);
    buf[len] = '\0';
    for (tok = strtok_r(buf, " ", &save); tok && !err; tok = strtok_r(NULL, " ", &save))
        err = parse_token(out, tok);
    return err;
}

/* 1 and *snap when key is "snap.<8 digits>". */
static int snap_key(const char *key, uint32_t *snap)
{
    char *end;
    unsigned long v;

    if (strncmp(key, "snap.", 5) != 0 || strlen(key) != 13)
        return 0;
    v = strtoul(key + 5, &end, 10);
    if (*end || v < 1 || v > VMD_SEQ_MAX)
        return 0;
    *snap = (uint32_t)v;
    return 1;
}

/* ---- lock and sequence numbers ---- */

_Static_assert(VMD_CAT_OID_MAX <= VMD_LEASE_OID_MAX, "a catalog name fits a lease");

int vmd_cat_lock(vmd_lease *out, vmd_store *s, const char *vm)
{
    char oid[VMD_CAT_OID_MAX], what[16 + VMD_VM_ID_MAX];

    vmd_cat_oid(oid, vm);
    snprintf(what, sizeof(what), "backup of VM %s", vm);
    return vmd_lease_take(out, s, s->meta, oid, VMD_CAT_LOCK, what);
}

int vmd_cat_alloc_seq(vmd_store *s, const char *vm, uint32_t *seq)
{
    char oid[VMD_CAT_OID_MAX], key[VMD_CAT_OID_MAX], val[32];
    unsigned long next = 1;
    int err;

    vmd_cat_oid(oid, vm);
    err = omap_get(s, oid, "next_seq", val, sizeof(val));
    if (err && err != -ENOENT)
        return vmd_fail(s, err, "reading next_seq of %s in pool %s", oid, s->meta_pool);
    if (!err) {
        char *end;
        next = strtoul(val, &end, 10);
        if (*end || next < 1 || next > VMD_SEQ_MAX)
            return vmd_fail(s, -EIO, "catalog %s: bad next_seq '%s'", oid, val);
    }
    snprintf(val, sizeof(val), "%lu", next + 1);
    err = omap_set1(s, oid, "next_seq", val);
    if (err)
        return vmd_fail(s, err, "writing next_seq of %s in pool %s", oid, s->meta_pool);
    snprintf(key, sizeof(key), "vm.%s", vm);
    err = omap_set1(s, VMD_VMS_OBJECT, key, "");
    if (err)
        return vmd_fail(s, err, "adding VM %s to %s in pool %s", vm, VMD_VMS_OBJECT, s->meta_pool);
    *seq = (uint32_t)next;
    return 0;
}

static int latest_fn(void *arg, const char *key, const char *val, size_t len)
{
    uint32_t snap;

    (void)val;
    (void)len;
    if (snap_key(key, &snap))
        *(uint32_t *)arg = snap;
    return 0;
}

int vmd_cat_latest(vmd_store *s, const char *vm, uint32_t *snap)
{
    char oid[VMD_CAT_OID_MAX];
    int err;

    *snap = 0;
    vmd_cat_oid(oid, vm);
    err = omap_each(s, oid, "snap.", latest_fn, snap);
    if (err == -ENOENT)
        return 0;
    if (err)
        return vmd_fail(s, err, "reading catalog %s in pool %s", oid, s->meta_pool);
    return 0;
}

int vmd_cat_commit(vmd_store *s, const vmd_snap_info *info)
{
    char oid[VMD_CAT_OID_MAX], key[16], line[512];
    int err;

    vmd_cat_oid(oid, info->vm);
    snprintf(key, sizeof(key), "snap.%08u", info->snap);
    vmd_cat_format(info, line, sizeof(line));
    err = omap_set1(s, oid, key, line);
    if (err)
        return vmd_fail(s, err, "committing snapshot %u: writing %s of %s in pool %s", info->snap,
                        key, oid, s->meta_pool);
    return 0;
}

/* ---- public listing ---- */

struct vmd_vm_list {
    char **v;
    size_t n, cap;
};

static int vms_fn(void *arg, const char *key, const char *val, size_t len)
{
    vmd_vm_list *l = arg;

    (void)val;
    (void)len;
    if (strncmp(key, "vm.", 3) != 0)
        return 0;
    if (vmd_grow((void **)&l->v, &l->cap, l->n + 1, 16, sizeof(*l->v)))
        return -ENOMEM;
    if (!(l->v[l->n] = strdup(key + 3)))
        return -ENOMEM;
    l->n++;
    return 0;
}

int vmd_vm_list_new(vmd_vm_list **out, vmd_store *s)
{
    vmd_vm_list *l;
    int err;

    if (out)
        *out = NULL;
    if (!out || !s)
        return s ? vmd_fail(s, -EINVAL, "vmd_vm_list_new: out is NULL") : -EINVAL;
    if (s->partition_bits < 0)
        return vmd_fail(s, -ENOENT, "store not initialised: no object %s in pool %s",
                        VMD_STORE_OBJECT, s->meta_pool);
    if (!(l = calloc(1, sizeof(*l))))
        return vmd_fail(s, -ENOMEM, "listing VMs");
    err = omap_each(s, VMD_VMS_OBJECT, "vm.", vms_fn, l);
    if (err == -ENOENT)
        err = 0; /* no backup yet */
    if (err) {
        vmd_vm_list_free(l);
        return vmd_fail(s, err, "listing VMs (%s in pool %s)", VMD_VMS_OBJECT, s->meta_pool);
    }
    *out = l;
    return 0;
}

size_t vmd_vm_list_count(const vmd_vm_list *l)
{
    return l ? l->n : 0;
}

const char *vmd_vm_list_get(const vmd_vm_list *l, size_t i)
{
    return l && i < l->n ? l->v[i] : NULL;
}

void vmd_vm_list_free(vmd_vm_list *l)
{
    size_t i;

    if (!l)
        return;
    for (i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    free(l);
}

struct vmd_snap_list {
    const char *vm;
    vmd_snap_info *v;
    size_t n, cap;
};

static int snaps_fn(void *arg, const char *key, const char *val, size_t len)
{
    vmd_snap_list *l = arg;
    vmd_snap_info *i;
    uint32_t snap;

    if (!snap_key(key, &snap))
        return 0;
    if (vmd_grow((void **)&l->v, &l->cap, l->n + 1, 16, sizeof(*l->v)))
        return -ENOMEM;
    i = &l->v[l->n];
    memset(i, 0, sizeof(*i));
    snprintf(i->vm, sizeof(i->vm), "%s", l->vm);
    i->snap = snap;
    if (vmd_cat_parse(i, val, len))
        return -EIO;
    l->n++;
    return 0;
}

int vmd_snap_list_new(vmd_snap_list **out, vmd_store *s, const char *vm)
{
    char oid[VMD_CAT_OID_MAX];
    vmd_snap_list *l;
    int err;

    if (out)
        *out = NULL;
    if (!out || !s)
        return s ? vmd_fail(s, -EINVAL, "vmd_snap_list_new: out is NULL") : -EINVAL;
    err = vmd_cat_vm_check(s, vm);
    if (err)
        return err;
    if (!(l = calloc(1, sizeof(*l))))
        return vmd_fail(s, -ENOMEM, "listing the snapshots of %s", vm);
    l->vm = vm;
    vmd_cat_oid(oid, vm);
    err = omap_each(s, oid, "snap.", snaps_fn, l);
    l->vm = NULL; /* the caller's string: not kept */
    if (err) {
        vmd_snap_list_free(l);
        if (err == -ENOENT)
            return vmd_fail(s, err, "unknown VM %s (no catalog %s in pool %s)", vm, oid,
                            s->meta_pool);
        if (err == -EIO)
            return vmd_fail(s, err, "catalog %s in pool %s has an unreadable entry", oid,
                            s->meta_pool);
        return vmd_fail(s, err, "reading catalog %s in pool %s", oid, s->meta_pool);
    }
    *out = l;
    return 0;
}

size_t vmd_snap_list_count(const vmd_snap_list *l)
{
    return l ? l->n : 0;
}

const vmd_snap_info *vmd_snap_list_get(const vmd_snap_list *l, size_t i)
{
    return l && i < l->n ? &l->v[i] : NULL;
}

void vmd_snap_list_free(vmd_snap_list *l)
{
    if (!l)
        return;
    free(l->v);
    free(l);
}

int vmd_snap_get(vmd_snap_info *out, vmd_store *s, const char *vm, uint32_t snap)
{
    char oid[VMD_CAT_OID_MAX], key[16], line[512];
    int err;

    if (out)
        memset(out, 0, sizeof(*out));
    if (!out || !s)
        return s ? vmd_fail(s, -EINVAL, "vmd_snap_get: out is NULL") : -EINVAL;
    err = vmd_cat_vm_check(s, vm);
    if (err)
        return err;
    vmd_cat_oid(oid, vm);
    snprintf(key, sizeof(key), "snap.%08u", snap);
    err = snap < 1 || snap > VMD_SEQ_MAX ? -ENOENT : omap_get(s, oid, key, line, sizeof(line));
    if (err == -ENOENT)
        return vmd_fail(s, err, "VM %s has no snapshot %u (catalog %s in pool %s)", vm, snap, oid,
                        s->meta_pool);
    if (err)
        return vmd_fail(s, err, "reading %s of catalog %s in pool %s", key, oid, s->meta_pool);
    snprintf(out->vm, sizeof(out->vm), "%s", vm);
    out->snap = snap;
    if (vmd_cat_parse(out, line, strlen(line)))
        return vmd_fail(s, -EIO, "catalog %s: unreadable entry %s", oid, key);
    return 0;
}

/* ---- consistency check ---- */

struct vmd_check_report {
    uint32_t next_seq;         /* the VM's next snapshot number */
    size_t committed;          /* committed snapshots */
    size_t norphans;           /* uncommitted numbers that left objects */
    vmd_check_orphan *orphans; /* ascending by snap */
};

typedef struct check_ctx {
    vmd_store *s;
    const char *vm;
    uint32_t next_seq;
    uint8_t *committed; /* bitmap of next_seq bits */
    vmd_check_report *r;
} check_ctx;

static int check_snaps_fn(void *arg, const char *key, const char *val, size_t len)
{
    check_ctx *c = arg;
    uint32_t snap;

    (void)val;
    (void)len;
    if (snap_key(key, &snap) && snap < c->next_seq) {
        c->committed[snap / 8] |= (uint8_t)(1u << (snap % 8));
        c->r->committed++;
    }
    return 0;
}

/* The orphan record of snap, added when missing. NULL: out of memory. */
static vmd_check_orphan *orphan_of(vmd_check_report *r, uint32_t snap)
{
    vmd_check_orphan *o;
    size_t i;

    for (i = 0; i < r->norphans; i++)
        if (r->orphans[i].snap == snap)
            return &r->orphans[i];
    o = realloc(r->orphans, (r->norphans + 1) * sizeof(*o));
    if (!o)
        return NULL;
    r->orphans = o;
    o = &o[r->norphans++];
    memset(o, 0, sizeof(*o));
    o->snap = snap;
    return o;
}

/* The snapshot an object of this VM belongs to, or 0 when it is not one of its own. */
static uint32_t object_snap(const check_ctx *c, const char *name, int data)
{
    size_t vl = strlen(c->vm);
    char vm[VMD_CTR_VM_MAX + 1], *end;
    uint64_t id;
    int popular;
    unsigned long v;

    if (data) {
        if (vmd_ctr_oid_parse(name, vm, &id, &popular) || popular || strcmp(vm, c->vm))
            return 0;
        return (uint32_t)(id >> 24);
    }
    if (strncmp(name, "r.", 2) || strncmp(name + 2, c->vm, vl) || name[2 + vl] != '.' ||
        strlen(name + 3 + vl) != 8)
        return 0;
    v = strtoul(name + 3 + vl, &end, 10);
    return *end ? 0 : (uint32_t)v;
}

static int check_pool(check_ctx *c, rados_ioctx_t io, int data)
{
    rados_list_ctx_t lc;
    const char *name;
    int err;

    err = rados_nobjects_list_open(io, &lc);
    if (err < 0)
        return err;
    while ((err = rados_nobjects_list_next(lc, &name, NULL, NULL)) == 0) {
        uint32_t snap = object_snap(c, name, data);
        vmd_check_orphan *o;
        if (snap < 1 || snap >= c->next_seq || (c->committed[snap / 8] & (1u << (snap % 8))))
            continue;
        if (!(o = orphan_of(c->r, snap))) {
            err = -ENOMEM;
            break;
        }
        if (data)
            o->containers++;
        else
            o->recipe = 1;
    }
    rados_nobjects_list_close(lc);
    return err == -ENOENT ? 0 : err;
}

static int orphan_cmp(const void *a, const void *b)
{
    const vmd_check_orphan *x = a, *y = b;
    return x->snap < y->snap ? -1 : x->snap > y->snap;
}

/* Fills out (zeroed) for VM vm, whose id is valid. */
static int check_vm(vmd_store *s, const char *vm, vmd_check_report *out)
{
    check_ctx c = {s, vm, 0, NULL, out};
    char oid[VMD_CAT_OID_MAX], val[32];
    int err;

    vmd_cat_oid(oid, vm);
    err = omap_get(s, oid, "next_seq", val, sizeof(val));
    if (err == -ENOENT)
        return vmd_fail(s, err, "unknown VM %s (no catalog %s in pool %s)", vm, oid, s->meta_pool);
    if (err)
        return vmd_fail(s, err, "reading catalog %s in pool %s", oid, s->meta_pool);
    c.next_seq = (uint32_t)strtoul(val, NULL, 10);
    if (c.next_seq < 1 || c.next_seq > VMD_SEQ_MAX + 1)
        return vmd_fail(s, -EIO, "catalog %s: bad next_seq '%s'", oid, val);
    out->next_seq = c.next_seq;
    c.committed = calloc(c.next_seq / 8 + 1, 1);
    if (!c.committed)
        return vmd_fail(s, -ENOMEM, "checking VM %s", vm);
    err = omap_each(s, oid, "snap.", check_snaps_fn, &c);
    if (err)
        err = vmd_fail(s, err, "reading catalog %s in pool %s", oid, s->meta_pool);
    if (!err && (err = check_pool(&c, s->meta, 0)))
        err = vmd_fail(s, err, "listing objects of pool %s", s->meta_pool);
    if (!err && (err = check_pool(&c, s->data, 1)))
        err = vmd_fail(s, err, "listing objects of pool %s", s->data_pool);
    free(c.committed);
    if (err)
        return err;
    if (out->norphans > 1)
        qsort(out->orphans, out->norphans, sizeof(*out->orphans), orphan_cmp);
    return 0;
}

int vmd_check(vmd_check_report **out, vmd_store *s, const char *vm)
{
    vmd_check_report *r;
    int err;

    if (out)
        *out = NULL;
    if (!out || !s)
        return s ? vmd_fail(s, -EINVAL, "vmd_check: out is NULL") : -EINVAL;
    if ((err = vmd_cat_vm_check(s, vm)))
        return err;
    if (!(r = calloc(1, sizeof(*r))))
        return vmd_fail(s, -ENOMEM, "checking VM %s", vm);
    if ((err = check_vm(s, vm, r))) {
        vmd_check_report_free(r);
        return err;
    }
    *out = r;
    return 0;
}

uint32_t vmd_check_report_next_seq(const vmd_check_report *r)
{
    return r ? r->next_seq : 0;
}

size_t vmd_check_report_committed(const vmd_check_report *r)
{
    return r ? r->committed : 0;
}

size_t vmd_check_report_orphan_count(const vmd_check_report *r)
{
    return r ? r->norphans : 0;
}

const vmd_check_orphan *vmd_check_report_orphan(const vmd_check_report *r, size_t i)
{
    return r && i < r->norphans ? &r->orphans[i] : NULL;
}

void vmd_check_report_free(vmd_check_report *r)
{
    if (!r)
        return;
    free(r->orphans);
    free(r);
}
