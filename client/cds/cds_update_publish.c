/*
 * cds_update_publish.c - steps 5 to 8 of `cds update`: mark, manifest, publish, tidy.
 *
 * Order is what makes an interrupted update harmless: copies are durable
 * before their index entries are marked POPULAR; marks happen before the
 * manifest cds.<v> is written; the manifest is complete (its entries most
 * popular first, CDS_WRITE_BLOCK bytes per write, the lease renewed
 * between writes) before one compare-and-set on vmd.cds makes it current.
 * Only then are the manifests nobody can be reading removed.
 */
#include "cds/cds_update.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rados/idx_client.h"
#include "util/u64set.h"

#define CDS_WRITE_BLOCK (4u << 20)
#define CDS_TIDY_MAX    1000

/* ---- marking, the manifest, publishing ---- */

/*
 * Test hook: with VMD_CDS_TEST_STALL=<step> in the environment, the update
 * sleeps before that step ("mark" or "publish") so that
 * tests/integration/test_cds.sh can SIGKILL it exactly there.
 */
static void test_stall(const char *step)
{
    const char *e = getenv("VMD_CDS_TEST_STALL");

    if (e && strcmp(e, step) == 0)
        sleep(300);
}

int vmd_cdsu_mark(vmd_cdsu *u)
{
    vmd_idx_mark_item *items;
    uint8_t *status;
    size_t i, n = 0;
    int err;

    test_stall("mark");
    items = malloc((u->nfresh ? u->nfresh : 1) * sizeof(*items));
    status = malloc(u->nfresh ? u->nfresh : 1);
    if (!items || !status) {
        free(items);
        free(status);
        return vmd_fail(u->s, -ENOMEM, "marking %zu chunks popular", u->nfresh);
    }
    for (i = 0; i < u->nfresh; i++)
        if (u->fresh[i].state == VMD_CDSU_COPIED) {
            items[n].fp = u->fresh[i].fp;
            items[n].pop = u->fresh[i].pop;
            n++;
        }
    err = n ? vmd_idx_mark_popular(u->s, items, n, status) : 0;
    free(items);
    free(status);
    return err;
}

static int cmp_order(const void *a, const void *b)
{
    return vmd_cds_entry_order(a, b);
}

/* Everything the new version lists, sorted most popular first. */
int vmd_cdsu_assemble(vmd_cdsu *u, vmd_cds_entry **out, size_t *count)
{
    size_t n = 0, i, cap = u->nkeep + u->nfresh + u->nprev;
    vmd_cds_entry *e = malloc((cap ? cap : 1) * sizeof(*e));

    *out = NULL;
    *count = 0;
    if (!e)
        return vmd_fail(u->s, -ENOMEM, "assembling a CDS of %zu entries", cap);
    for (i = 0; i < u->nkeep; i++)
        e[n++] = u->keep[i];
    for (i = 0; i < u->nfresh; i++) {
        const vmd_cdsu_fresh *f = &u->fresh[i];
        if (f->state != VMD_CDSU_COPIED)
            continue;
        memcpy(e[n].fp, f->fp.b, 32);
        e[n].ctr = f->pop.id;
        e[n].slot = f->pop.slot;
        e[n].raw_len = f->chunk_len;
        e[n].vm_count = f->vm_count;
        n++;
    }
    for (i = 0; i < u->nprev; i++)
        if (!u->prev_seen[i]) {
            e[n++] = u->prev[i];
            u->r->carried++;
        }
    qsort(e, n, sizeof(*e), cmp_order);
    *out = e;
    *count = n;
    return 0;
}

int vmd_cdsu_write_manifest(vmd_cdsu *u, const vmd_cds_entry *e, size_t n)
{
    char oid[VMD_CDS_OID_SIZE];
    vmd_cds_header h;
    vmd_u64set ctrs;
    uint8_t *buf;
    size_t per = CDS_WRITE_BLOCK / VMD_CDS_ENTRY_SIZE, i, k;
    int err = 0;

    memset(&h, 0, sizeof(h));
    h.version = h.compat = VMD_CDS_VERSION;
    h.cds_version = u->version;
    h.count = n;
    h.time = (int64_t)time(NULL);
    h.entry_size = VMD_CDS_ENTRY_SIZE;
    h.next_id = u->ptr.next_id;
    vmd_u64set_init(&ctrs);
    for (i = 0; i < n; i++) {
        h.bytes += e[i].raw_len;
        if (vmd_u64set_add(&ctrs, e[i].ctr) < 0) {
            vmd_u64set_free(&ctrs);
            return vmd_fail(u->s, -ENOMEM, "counting popular containers");
        }
    }
    u->r->cds.containers = ctrs.n;
    vmd_u64set_free(&ctrs);
    if (n && !u->r->cds.threshold)
        u->r->cds.threshold = e[n - 1].vm_count;
    h.threshold = n ? u->r->cds.threshold : 0;
    u->r->cds.version = h.cds_version;
    u->r->cds.entries = h.count;
    u->r->cds.bytes = h.bytes;
    u->r->cds.time = h.time;
    u->r->cds.mem = vmd_cds_mem_for(h.count);
    u->r->cds.budget = u->s->cds_budget;
    vmd_cds_oid(oid, u->version);
    buf = malloc(per * VMD_CDS_ENTRY_SIZE > VMD_CDS_HEADER_SIZE ? per * VMD_CDS_ENTRY_SIZE
                                                                : VMD_CDS_HEADER_SIZE);
    if (!buf)
        return vmd_fail(u->s, -ENOMEM, "writing CDS manifest %s", oid);
    vmd_cds_header_encode(&h, buf);
    err = rados_write_full(u->s->meta, oid, (const char *)buf, VMD_CDS_HEADER_SIZE);
    for (i = 0; !err && i < n; i += k) {
        size_t j;
        k = n - i < per ? n - i : per;
        for (j = 0; j < k; j++)
            vmd_cds_entry_encode(&e[i + j], buf + j * VMD_CDS_ENTRY_SIZE);
        err = rados_write(u->s->meta, oid, (const char *)buf, k * VMD_CDS_ENTRY_SIZE,
                          VMD_CDS_HEADER_SIZE + (uint64_t)i * VMD_CDS_ENTRY_SIZE);
        if (!err)
            err = vmd_lease_renew(&u->lease, 0);
    }
    free(buf);
    if (err < 0)
        return vmd_fail(u->s, err, "writing CDS manifest %s in pool %s", oid, u->s->meta_pool);
    return 0;
}

/* Removes manifests nobody can be reading any more (errors are harmless: leftovers). */
static void tidy(vmd_cdsu *u, uint64_t old_current, uint64_t old_previous)
{
    char oid[VMD_CDS_OID_SIZE];
    uint64_t v, n = 0;

    if (old_previous && old_previous != old_current) {
        vmd_cds_oid(oid, old_previous);
        (void)rados_remove(u->s->meta, oid);
    }
    for (v = old_current + 1; v < u->version && n < CDS_TIDY_MAX; v++, n++) {
        vmd_cds_oid(oid, v);
        (void)rados_remove(u->s->meta, oid);
    }
}

int vmd_cdsu_publish(vmd_cdsu *u)
{
    uint64_t old_current = u->ptr.current, old_previous = u->ptr.previous;
    int err;

    test_stall("publish");
    err = vmd_lease_renew(&u->lease, 1);

    if (!err)
        err = vmd_cdsu_ptr_cas(u, "current", old_current, u->version, "previous", old_current);
    if (err)
        return err;
    tidy(u, old_current, old_previous);
    return 0;
}
