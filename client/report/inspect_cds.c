/*
 * inspect_cds.c - `vmdedup inspect vmd.cds` and `vmdedup inspect cds.<ver8>`.
 *
 * The pointer vmd.cds (docs/format.md, "Pointer object") is an omap of
 * plain decimal text: current, previous, next_version, next_id. A manifest
 * cds.<ver8> is a 64-byte header and entries of entry_size bytes, most
 * popular first; it is read with the same validating reader the backup
 * uses (cds.c), so a manifest that a host would refuse shows as an error
 * after the entries that decoded. Text output:
 *
 *     CDS pointer vmd.cds (pool vmd.meta): current 2 previous 1 next_version 3 next_id 4
 *     CDS manifest cds.00000002: version 2, 3 entries, 12288 bytes, threshold 2
 *       written 2026-11-21T23:59:59Z, entry_size 52, next_id 4, format 1 compat 1
 *       <fp 64 hex>  p.0000000000000001 slot 0  raw 4096  vms 3
 *
 * JSON: {"object":"vmd.cds","kind":"cds_pointer","current",..} and
 * {"object","kind":"cds_manifest","header":{...},"entries":[{"fp","ctr":
 * "<16 hex>","slot","raw_len","vm_count"}]}, plus "error" after a failure.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cds/cds.h"
#include "report/inspect.h"
#include "util/json.h"

int vmd_inspect_cds_pointer(vmd_store *s, int json, FILE *f)
{
    vmd_cds_ptr p;
    uint64_t size;
    time_t mtime;
    int err;

    err = rados_stat(s->meta, VMD_CDS_POINTER, &size, &mtime);
    if (err < 0)
        return vmd_fail(s, err, "inspect: CDS pointer %s in pool %s", VMD_CDS_POINTER,
                        s->meta_pool);
    if ((err = vmd_cds_ptr_read(s, &p)))
        return err;
    if (json)
        fprintf(f,
                "{\"object\":\"%s\",\"kind\":\"cds_pointer\",\"current\":%" PRIu64
                ",\"previous\":%" PRIu64 ",\"next_version\":%" PRIu64 ",\"next_id\":%" PRIu64
                ",\"complete\":%s}\n",
                VMD_CDS_POINTER, p.current, p.previous, p.next_version, p.next_id,
                p.complete ? "true" : "false");
    else
        fprintf(f,
                "CDS pointer %s (pool %s): current %" PRIu64 " previous %" PRIu64
                " next_version %" PRIu64 " next_id %" PRIu64 "%s\n",
                VMD_CDS_POINTER, s->meta_pool, p.current, p.previous, p.next_version, p.next_id,
                p.complete ? "" : " (some keys missing: initial values shown)");
    return 0;
}

typedef struct minspect {
    FILE *f;
    int json;
    uint64_t n;
} minspect;

static int entry_out(void *arg, const vmd_cds_entry *e)
{
    minspect *m = arg;

    if (m->json) {
        fprintf(m->f, "%s{\"fp\":\"", m->n ? "," : "");
        vmd_inspect_hex(m->f, e->fp, sizeof(e->fp));
        fprintf(m->f,
                "\",\"ctr\":\"%016" PRIx64 "\",\"slot\":%" PRIu32 ",\"raw_len\":%" PRIu32
                ",\"vm_count\":%" PRIu32 "}",
                e->ctr, e->slot, e->raw_len, e->vm_count);
    } else {
        fputs("  ", m->f);
        vmd_inspect_hex(m->f, e->fp, sizeof(e->fp));
        fprintf(m->f, "  p.%016" PRIx64 " slot %" PRIu32 "  raw %" PRIu32 "  vms %" PRIu32 "\n",
                e->ctr, e->slot, e->raw_len, e->vm_count);
    }
    m->n++;
    return 0;
}

static void header_out(const vmd_cds_header *h, const char *oid, int json, FILE *f)
{
    if (json) {
        fprintf(f, "{\"object\":\"%s\",\"kind\":\"cds_manifest\",\"header\":{", oid);
        fprintf(f,
                "\"version\":%u,\"compat\":%u,\"flags\":%u,\"cds_version\":%" PRIu64
                ",\"count\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"time\":%" PRId64
                ",\"threshold\":%" PRIu32 ",\"entry_size\":%" PRIu32 ",\"next_id\":%" PRIu64
                "},\"entries\":[",
                h->version, h->compat, h->flags, h->cds_version, h->count, h->bytes, h->time,
                h->threshold, h->entry_size, h->next_id);
        return;
    }
    fprintf(f,
            "CDS manifest %s: version %" PRIu64 ", %" PRIu64 " entries, %" PRIu64
            " bytes, threshold %" PRIu32 "\n  written ",
            oid, h->cds_version, h->count, h->bytes, h->threshold);
    vmd_inspect_time(f, h->time);
    fprintf(f, ", entry_size %" PRIu32 ", next_id %" PRIu64 ", format %u compat %u\n",
            h->entry_size, h->next_id, h->version, h->compat);
}

int vmd_inspect_cds_manifest(vmd_store *s, const char *oid, int json, FILE *f)
{
    vmd_cds_header h;
    minspect m = {f, json, 0};
    char *end;
    unsigned long long v;
    int err;

    v = strtoull(oid + 4, &end, 10);
    if (strlen(oid) != 12 || *end || v < 1 || v > VMD_CDS_VERSION_MAX)
        return vmd_fail(s, -EINVAL, "inspect: %s is not a CDS manifest name (cds.<8 digits>)", oid);
    err = vmd_cds_manifest_header(s, v, &h);
    if (err == -ENOENT)
        return vmd_fail(s, err, "inspect: CDS manifest %s in pool %s", oid, s->meta_pool);
    if (err)
        return err == -EPROTO || err == -EINVAL ? -EIO : err; /* reported by the reader */
    header_out(&h, oid, json, f);
    err = vmd_cds_manifest_each(s, &h, h.count, entry_out, &m);
    if (json) {
        fputc(']', f);
        if (err)
            fprintf(f, ",\"error\":\"entry %" PRIu64 " and after do not decode\"", m.n);
        fprintf(f, "}\n");
    } else if (err) {
        fprintf(f, "  error: entry %" PRIu64 " and after do not decode\n", m.n);
    }
    return err;
}
