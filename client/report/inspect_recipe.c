/*
 * inspect_recipe.c - `vmdedup inspect r.<vm>.<seq8>`: a snapshot's recipe, decoded.
 *
 * A recipe (docs/format.md, "Recipe") is a 128-byte header, a table of one
 * 56-byte entry per 2 MiB segment, and the chunk records of the segments
 * whose entry is CHUNKS with this snapshot as holder. This reads the object
 * directly, a page of table entries at a time and each record when its
 * entry comes, so it also shows a recipe an interrupted backup left (no
 * COMPLETE flag) and prints everything up to the first thing that does not
 * decode. Text output:
 *
 *     recipe r.vm1.00000002: 1234 bytes, COMPLETE
 *       version 1 compat 1 flags 0x1 snap 2 parent 1 vm vm1
 *       disk_size 41939707 nsegs 20 end 1234
 *       seg 0  CHUNKS  holder 2 offset 1248 nchunks 3  sig 0123456789abcdef ...
 *         <fp 64 hex>  ctr 0000000002000000 slot 0  raw 4096
 *         <fp 64 hex>  popular p.0000000000000001 slot 7  raw 4096
 *         zero  raw 8192
 *       seg 1  SAME  holder 1 offset 1248 nchunks 3  sig ...
 *       seg 2  ZERO
 *
 * JSON: {"object","kind":"recipe","size","header":{...},"segments":[{"seg",
 * "kind","holder","offset","nchunks","sig":[4 x "<16 hex>"],"refs":[{"fp",
 * "ctr":"<16 hex>","slot","raw_len","flag":null|"ZERO"|"POPULAR"}]}]}, plus
 * "error" when something did not decode.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "format/recipe.h"
#include "report/inspect.h"
#include "util/json.h"

#define TABLE_PAGE 1024 /* entries read at once */

typedef struct rinspect {
    vmd_store *s;
    FILE *f;
    int json;
    const char *oid;
    vmd_rcp_header h;
    uint8_t *page;     /* TABLE_PAGE entries */
    vmd_rcp_ref *refs; /* VMD_RCP_MAX_CHUNKS */
    uint8_t *rec;      /* one record */
    char error[160];   /* what did not decode ("" while all did) */
} rinspect;

static const char *kind_name(uint8_t kind)
{
    return kind == VMD_RCP_ZERO ? "ZERO" : kind == VMD_RCP_SAME ? "SAME" : "CHUNKS";
}

static void header_out(rinspect *r, uint64_t size)
{
    const vmd_rcp_header *h = &r->h;
    int complete = (h->flags & VMD_RCP_F_COMPLETE) != 0;

    if (r->json) {
        fprintf(r->f,
                ",\"header\":{\"version\":%u,\"compat\":%u,\"flags\":%u,\"complete\":%s,"
                "\"snap\":%" PRIu32 ",\"parent\":%" PRIu32 ",\"vm\":",
                h->version, h->compat, h->flags, complete ? "true" : "false", h->snap, h->parent);
        vmd_json_write_str(r->f, h->vm);
        fprintf(r->f,
                ",\"disk_size\":%" PRIu64 ",\"nsegs\":%" PRIu64 ",\"end\":%" PRIu64
                "},\"segments\":[",
                h->disk_size, h->nsegs, h->end);
        return;
    }
    fprintf(r->f, "recipe %s: %" PRIu64 " bytes, %s\n", r->oid, size,
            complete ? "COMPLETE" : "INCOMPLETE (left by an interrupted backup)");
    fprintf(r->f, "  version %u compat %u flags 0x%x snap %" PRIu32 " parent %" PRIu32 " vm %s\n",
            h->version, h->compat, h->flags, h->snap, h->parent, h->vm);
    fprintf(r->f, "  disk_size %" PRIu64 " nsegs %" PRIu64 " end %" PRIu64 "\n", h->disk_size,
            h->nsegs, h->end);
}

static void ref_out(rinspect *r, const vmd_rcp_ref *x, int first)
{
    const char *flag = x->flags & VMD_RCP_REF_ZERO      ? "ZERO"
                       : x->flags & VMD_RCP_REF_POPULAR ? "POPULAR"
                                                        : NULL;

    if (r->json) {
        fprintf(r->f, "%s{\"fp\":\"", first ? "" : ",");
        vmd_inspect_hex(r->f, x->fp, sizeof(x->fp));
        fprintf(r->f, "\",\"ctr\":\"%016" PRIx64 "\",\"slot\":%" PRIu32 ",\"raw_len\":%" PRIu32,
                x->ctr, x->slot, x->raw_len);
        fprintf(r->f, flag ? ",\"flag\":\"%s\"}" : ",\"flag\":null}", flag);
        return;
    }
    if (x->flags & VMD_RCP_REF_ZERO) {
        fprintf(r->f, "    zero  raw %" PRIu32 "\n", x->raw_len);
        return;
    }
    fputs("    ", r->f);
    vmd_inspect_hex(r->f, x->fp, sizeof(x->fp));
    if (x->flags & VMD_RCP_REF_POPULAR)
        fprintf(r->f, "  popular p.%016" PRIx64, x->ctr);
    else
        fprintf(r->f, "  ctr %016" PRIx64, x->ctr);
    fprintf(r->f, " slot %" PRIu32 "  raw %" PRIu32 "\n", x->slot, x->raw_len);
}

/* Reads, decodes and prints the record of segment seg that this recipe holds. */
static int record_out(rinspect *r, uint64_t seg, const vmd_rcp_entry *e)
{
    uint64_t len = vmd_rcp_record_size(e->nchunks);
    uint32_t i;
    int n;

    n = rados_read(r->s->meta, r->oid, (char *)r->rec, len, e->offset);
    if (n < 0)
        return vmd_fail(r->s, n, "reading the record of segment %" PRIu64 " of recipe %s", seg,
                        r->oid);
    if ((uint64_t)n != len ||
        vmd_rcp_record_decode(r->refs, r->rec, len, seg, e->nchunks, e->holder,
                              vmd_rcp_seg_len(r->h.disk_size, seg))) {
        snprintf(r->error, sizeof(r->error), "the record of segment %" PRIu64 " does not decode",
                 seg);
        return -EIO;
    }
    if (r->json)
        fprintf(r->f, ",\"refs\":[");
    for (i = 0; i < e->nchunks; i++)
        ref_out(r, &r->refs[i], i == 0);
    if (r->json)
        fputc(']', r->f);
    return 0;
}

static int entry_out(rinspect *r, uint64_t seg, const vmd_rcp_entry *e)
{
    int i, err = 0;

    if (r->json) {
        fprintf(r->f, "%s{\"seg\":%" PRIu64 ",\"kind\":\"%s\"", seg ? "," : "", seg,
                kind_name(e->kind));
        if (e->kind != VMD_RCP_ZERO) {
            fprintf(r->f,
                    ",\"holder\":%" PRIu32 ",\"offset\":%" PRIu64 ",\"nchunks\":%" PRIu32
                    ",\"sig\":[",
                    e->holder, e->offset, e->nchunks);
            for (i = 0; i < VMD_RCP_SIG; i++)
                fprintf(r->f, "%s\"%016" PRIx64 "\"", i ? "," : "", e->sig[i]);
            fputc(']', r->f);
        }
    } else if (e->kind == VMD_RCP_ZERO) {
        fprintf(r->f, "  seg %" PRIu64 "  ZERO\n", seg);
    } else {
        fprintf(r->f,
                "  seg %" PRIu64 "  %s  holder %" PRIu32 " offset %" PRIu64 " nchunks %" PRIu32
                "  sig",
                seg, kind_name(e->kind), e->holder, e->offset, e->nchunks);
        for (i = 0; i < VMD_RCP_SIG; i++)
            fprintf(r->f, " %016" PRIx64, e->sig[i]);
        fputc('\n', r->f);
    }
    if (e->kind == VMD_RCP_CHUNKS && e->holder == r->h.snap)
        err = record_out(r, seg, e);
    if (r->json)
        fputc('}', r->f);
    return err;
}

/* Walks the table a page at a time; stops at the first entry that does not decode. */
static int table_out(rinspect *r)
{
    vmd_rcp_entry e;
    uint64_t seg, n = 0;
    int rc, err = 0;

    for (seg = 0; seg < r->h.nsegs && !err; seg++) {
        size_t k = (size_t)(seg % TABLE_PAGE);
        if (k == 0) {
            n = r->h.nsegs - seg < TABLE_PAGE ? r->h.nsegs - seg : TABLE_PAGE;
            rc = rados_read(r->s->meta, r->oid, (char *)r->page, n * VMD_RCP_ENTRY_SIZE,
                            vmd_rcp_records_off(seg));
            if (rc < 0)
                return vmd_fail(r->s, rc, "reading the table of recipe %s", r->oid);
            if ((uint64_t)rc != n * VMD_RCP_ENTRY_SIZE) {
                snprintf(r->error, sizeof(r->error), "the table ends at segment %" PRIu64,
                         seg + (uint64_t)rc / VMD_RCP_ENTRY_SIZE);
                return -EIO;
            }
        }
        if (vmd_rcp_entry_decode(&e, &r->h, r->page + k * VMD_RCP_ENTRY_SIZE)) {
            snprintf(r->error, sizeof(r->error), "the entry of segment %" PRIu64 " does not decode",
                     seg);
            return -EIO;
        }
        err = entry_out(r, seg, &e);
    }
    return err;
}

/* Reads the size and the header; -EIO with r->error set when the header does not decode. */
static int header_in(rinspect *r, uint64_t *size)
{
    uint8_t hdr[VMD_RCP_HEADER_SIZE];
    time_t mtime;
    int n;

    n = rados_stat(r->s->meta, r->oid, size, &mtime);
    if (n < 0)
        return vmd_fail(r->s, n, "inspect: recipe %s in pool %s", r->oid, r->s->meta_pool);
    n = *size < sizeof(hdr) ? 0 : rados_read(r->s->meta, r->oid, (char *)hdr, sizeof(hdr), 0);
    if (n < 0)
        return vmd_fail(r->s, n, "reading recipe %s", r->oid);
    if (n != (int)sizeof(hdr) || vmd_rcp_header_decode(&r->h, hdr, *size)) {
        snprintf(r->error, sizeof(r->error), "the header does not decode (%" PRIu64 " bytes)",
                 *size);
        return -EIO;
    }
    return 0;
}

int vmd_inspect_recipe(vmd_store *s, const char *oid, int json, FILE *f)
{
    rinspect r;
    uint64_t size = 0;
    int err;

    memset(&r, 0, sizeof(r));
    r.s = s;
    r.f = f;
    r.json = json;
    r.oid = oid;
    err = header_in(&r, &size);
    if (err && !r.error[0])
        return err; /* not found, or not readable: nothing to print */
    if (json) {
        fprintf(f, "{\"object\":");
        vmd_json_write_str(f, oid);
        fprintf(f, ",\"kind\":\"recipe\",\"size\":%" PRIu64, size);
    } else if (err) {
        fprintf(f, "recipe %s: %" PRIu64 " bytes\n", oid, size);
    }
    if (!err) {
        header_out(&r, size);
        r.page = malloc((size_t)TABLE_PAGE * VMD_RCP_ENTRY_SIZE);
        r.refs = malloc(VMD_RCP_MAX_CHUNKS * sizeof(*r.refs));
        r.rec = malloc(vmd_rcp_record_size(VMD_RCP_MAX_CHUNKS));
        err = r.page && r.refs && r.rec ? table_out(&r)
                                        : vmd_fail(s, -ENOMEM, "inspecting recipe %s", oid);
        if (json)
            fputc(']', f);
    }
    if (json && r.error[0]) {
        fprintf(f, ",\"error\":");
        vmd_json_write_str(f, r.error);
    }
    if (json)
        fprintf(f, "}\n");
    else if (r.error[0])
        fprintf(f, "  error: %s\n", r.error);
    free(r.page);
    free(r.refs);
    free(r.rec);
    if (r.error[0])
        return vmd_fail(s, -EIO, "recipe %s in pool %s is corrupt: %s", oid, s->meta_pool, r.error);
    return err;
}
