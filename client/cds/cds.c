/*
 * cds.c - the published common data set: its pointer object, its manifests, and
 * loading it into a host's memory.
 *
 * Objects (meta pool; format in include/format/cds_manifest.h):
 *
 *     vmd.cds      omap  current        published version ("0": none)
 *                        previous       the version published before it
 *                        next_version   the next version an update may take
 *                        next_id        the next popular container id
 *                  lock  vmd.cds.update while `cds update` runs (cds_update.c)
 *     cds.<ver8>   a manifest, complete before `current` names it
 *
 * Readers only ever follow `current`, so a manifest being written (or
 * left behind by a killed update) is never read. A host loads the current
 * manifest once per backup: the header, then blocks of entries, most
 * popular first, until its memory budget is full (vmd_cds_fit); the rest of
 * the object is not even read.
 */
#include "cds/cds.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/u64set.h"

#define CDS_READ_BLOCK (1u << 20) /* manifest bytes read at once */

static const char *ptr_keys[] = {"current", "previous", "next_version", "next_id"};

/* Parses a decimal omap value of vmd.cds. */
static int parse_u64(const char *val, size_t len, uint64_t *out)
{
    char buf[24];
    char *end;

    if (len == 0 || len >= sizeof(buf))
        return -EIO;
    memcpy(buf, val, len);
    buf[len] = '\0';
    if (buf[0] < '0' || buf[0] > '9')
        return -EIO;
    errno = 0;
    *out = strtoull(buf, &end, 10);
    return (*end || errno) ? -EIO : 0;
}

int vmd_cds_ptr_read(vmd_store *s, vmd_cds_ptr *out)
{
    rados_read_op_t op;
    rados_omap_iter_t it = NULL;
    int prval = 0, err, seen = 0;
    char *key, *val;
    size_t len, i;

    memset(out, 0, sizeof(*out));
    out->next_version = 1;
    out->next_id = 1;
    op = rados_create_read_op();
    if (!op)
        return vmd_fail(s, -ENOMEM, "reading %s", VMD_CDS_POINTER);
    rados_read_op_omap_get_vals_by_keys(op, ptr_keys, 4, &it, &prval);
    err = rados_read_op_operate(op, s->meta, VMD_CDS_POINTER, 0);
    if (err == -ENOENT) {
        err = 0;
        goto out;
    }
    if (err < 0 || prval < 0) {
        err = vmd_fail(s, err < 0 ? err : prval, "reading %s in pool %s", VMD_CDS_POINTER,
                       s->meta_pool);
        goto out;
    }
    while (!err && rados_omap_get_next(it, &key, &val, &len) == 0 && key) {
        uint64_t *dst[] = {&out->current, &out->previous, &out->next_version, &out->next_id};
        for (i = 0; i < 4; i++)
            if (strcmp(key, ptr_keys[i]) == 0) {
                if (parse_u64(val, len, dst[i]))
                    err = vmd_fail(s, -EIO, "%s in pool %s: bad %s '%.*s'", VMD_CDS_POINTER,
                                   s->meta_pool, key, (int)(len < 24 ? len : 24), val);
                seen++;
            }
    }
    if (!err && (out->current > VMD_CDS_VERSION_MAX || out->next_version < 1 || out->next_id < 1 ||
                 out->previous > out->current))
        err = vmd_fail(s, -EIO,
                       "%s in pool %s: inconsistent counters (current %" PRIu64
                       ", previous %" PRIu64 ", next_version %" PRIu64 ", next_id %" PRIu64 ")",
                       VMD_CDS_POINTER, s->meta_pool, out->current, out->previous,
                       out->next_version, out->next_id);
    out->complete = seen == 4;
out:
    if (it)
        rados_omap_get_end(it);
    rados_release_read_op(op);
    return err;
}

int vmd_cds_manifest_header(vmd_store *s, uint64_t v, vmd_cds_header *out)
{
    char oid[VMD_CDS_OID_SIZE];
    uint8_t hdr[VMD_CDS_HEADER_SIZE];
    rados_read_op_t op;
    uint64_t size = 0;
    size_t got = 0;
    int prstat = 0, prread = 0, err;

    vmd_cds_oid(oid, v);
    op = rados_create_read_op();
    if (!op)
        return vmd_fail(s, -ENOMEM, "reading CDS manifest %s", oid);
    rados_read_op_stat(op, &size, NULL, &prstat);
    rados_read_op_read(op, 0, sizeof(hdr), (char *)hdr, &got, &prread);
    err = rados_read_op_operate(op, s->meta, oid, 0);
    rados_release_read_op(op);
    if (err == -ENOENT)
        return err;
    if (!err)
        err = prstat < 0 ? prstat : prread;
    if (err < 0)
        return vmd_fail(s, err, "reading CDS manifest %s in pool %s", oid, s->meta_pool);
    if (got != sizeof(hdr))
        return vmd_fail(s, -EIO, "CDS manifest %s in pool %s is corrupt (%" PRIu64 " bytes)", oid,
                        s->meta_pool, size);
    err = vmd_cds_header_decode(out, hdr, size);
    if (err == -EPROTO)
        return vmd_fail(s, -EPROTO,
                        "CDS manifest %s in pool %s was written by a newer vmdedup (compat %u)",
                        oid, s->meta_pool, hdr[5]);
    if (err || out->cds_version != v)
        return vmd_fail(s, -EIO, "CDS manifest %s in pool %s is corrupt (header)", oid,
                        s->meta_pool);
    return 0;
}

int vmd_cds_manifest_each(vmd_store *s, const vmd_cds_header *h, uint64_t limit,
                          vmd_cds_entry_fn fn, void *arg)
{
    size_t per = CDS_READ_BLOCK / h->entry_size, k, i;
    char oid[VMD_CDS_OID_SIZE];
    vmd_cds_entry prev, *ents = NULL;
    uint8_t *buf = NULL;
    uint64_t done = 0;
    int err = 0, got;

    if (limit > h->count)
        limit = h->count;
    if (limit == 0)
        return 0;
    vmd_cds_oid(oid, h->cds_version);
    buf = malloc(per * h->entry_size);
    ents = malloc(per * sizeof(*ents));
    if (!buf || !ents) {
        err = vmd_fail(s, -ENOMEM, "reading CDS manifest %s", oid);
        goto out;
    }
    memset(&prev, 0, sizeof(prev));
    while (!err && done < limit) {
        k = limit - done < per ? (size_t)(limit - done) : per;
        got = rados_read(s->meta, oid, (char *)buf, k * h->entry_size,
                         VMD_CDS_HEADER_SIZE + done * h->entry_size);
        if (got < 0) {
            err = vmd_fail(s, got, "reading CDS manifest %s in pool %s", oid, s->meta_pool);
            break;
        }
        if ((size_t)got != k * h->entry_size ||
            vmd_cds_entries_decode(ents, buf, k * h->entry_size, k, h, &prev)) {
            err = vmd_fail(
                s, -EIO, "CDS manifest %s in pool %s is corrupt (entries %" PRIu64 "..%" PRIu64 ")",
                oid, s->meta_pool, done, done + k - 1);
            break;
        }
        for (i = 0; i < k && !err; i++)
            err = fn(arg, &ents[i]);
        done += k;
    }
out:
    free(buf);
    free(ents);
    return err;
}

/* ---- loading into a host's memory ---- */

typedef struct load_ctx {
    vmd_store *s;
    vmd_cds *c;
    char oid[VMD_CDS_OID_SIZE];
} load_ctx;

static int load_one(void *arg, const vmd_cds_entry *e)
{
    load_ctx *l = arg;
    int err = vmd_cds_add(l->c, e);

    if (err == -EEXIST)
        return vmd_fail(l->s, -EIO, "CDS manifest %s in pool %s is corrupt (a fingerprint twice)",
                        l->oid, l->s->meta_pool);
    if (err)
        return vmd_fail(l->s, err, "loading CDS manifest %s", l->oid);
    return 0;
}

/* One attempt: -ENOENT (without a message) when the manifest vanished meanwhile. */
static int load_current(vmd_store *s, uint64_t budget, vmd_cds **out)
{
    vmd_cds_ptr p;
    vmd_cds_header h;
    load_ctx l;
    uint64_t n;
    int err;

    err = vmd_cds_ptr_read(s, &p);
    if (err)
        return err;
    if (p.current == 0) {
        err = vmd_cds_new(out, 0, 0);
        return err ? vmd_fail(s, err, "allocating an empty CDS table") : 0;
    }
    err = vmd_cds_manifest_header(s, p.current, &h);
    if (err)
        return err;
    n = vmd_cds_fit(budget);
    if (n > h.count)
        n = h.count;
    err = vmd_cds_new(out, h.cds_version, n);
    if (err)
        return vmd_fail(s, err, "allocating a CDS table of %" PRIu64 " entries", n);
    vmd_cds_set_total(*out, h.count);
    l.s = s;
    l.c = *out;
    vmd_cds_oid(l.oid, h.cds_version);
    err = vmd_cds_manifest_each(s, &h, n, load_one, &l);
    if (err) {
        vmd_cds_free(*out);
        *out = NULL;
    }
    return err;
}

int vmd_cds_load(vmd_store *s, uint64_t budget, vmd_cds **out)
{
    int err, attempt;

    *out = NULL;
    if (budget == 0)
        budget = s->cds_budget ? s->cds_budget : VMD_DEFAULT_CDS_BUDGET;
    /* A manifest is deleted two publications after it stopped being current;
       a load that raced with that starts again from the pointer. */
    for (attempt = 0; attempt < 3; attempt++) {
        err = load_current(s, budget, out);
        if (err != -ENOENT)
            return err;
    }
    return vmd_fail(s, -ENOENT, "the CDS manifest kept changing while it was loaded");
}

/* ---- show ---- */

static int count_ctr(void *arg, const vmd_cds_entry *e)
{
    return vmd_u64set_add(arg, e->ctr) < 0 ? -ENOMEM : 0;
}

int vmd_cds_show(vmd_cds_info *out, vmd_store *s)
{
    vmd_cds_ptr p;
    vmd_cds_header h;
    vmd_u64set ctrs;
    vmd_cds *c = NULL;
    int err;

    if (out)
        memset(out, 0, sizeof(*out));
    if (!out || !s)
        return s ? vmd_fail(s, -EINVAL, "vmd_cds_show: out is NULL") : -EINVAL;
    out->budget = s->cds_budget;
    if (s->partition_bits < 0)
        return vmd_fail(s, -ENOENT,
                        "store not initialised: no object %s in pool %s (run vmdedup init)",
                        VMD_STORE_OBJECT, s->meta_pool);
    err = vmd_cds_ptr_read(s, &p);
    if (err || p.current == 0)
        return err;
    err = vmd_cds_manifest_header(s, p.current, &h);
    if (err == -ENOENT)
        return vmd_fail(s, -EIO, "%s names CDS version %" PRIu64 " but its manifest is missing",
                        VMD_CDS_POINTER, p.current);
    if (err)
        return err;
    out->version = h.cds_version;
    out->entries = h.count;
    out->bytes = h.bytes;
    out->threshold = h.threshold;
    out->time = h.time;
    out->mem = vmd_cds_mem_for(h.count);
    vmd_u64set_init(&ctrs);
    err = vmd_cds_manifest_each(s, &h, h.count, count_ctr, &ctrs);
    if (err == -ENOMEM)
        err = vmd_fail(s, err, "counting the containers of CDS version %" PRIu64, h.cds_version);
    out->containers = ctrs.n;
    vmd_u64set_free(&ctrs);
    if (err)
        return err;
    err = vmd_cds_load(s, s->cds_budget, &c);
    if (err)
        return err;
    out->loaded = vmd_cds_count(c);
    out->loaded_mem = vmd_cds_mem(c);
    vmd_cds_free(c);
    return 0;
}
