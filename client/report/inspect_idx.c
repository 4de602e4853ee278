/*
 * inspect_idx.c - `vmdedup inspect` of an index partition: header, entries, recent ops.
 *
 * Reads the object directly (no class call), so it also shows partitions the
 * class would refuse as corrupt: the header through vmd_rados_omap_header(),
 * the omap in pages of 1,024 keys with librados' C read ops. Entries
 * come first in key order, then the `~op.<id>` replies (docs/format.md).
 *
 * Text output, one entry per two lines:
 *
 *     idx.0005: bits 4, partition 0005
 *       entries 3  holdings 4  bytes 12288  popular 1 (4096 bytes, 2 refs)
 *       recent ops (2, oldest first): <32 hex> <32 hex>
 *     <64 hex>  vm_count 2  chunk_len 4096  POPULAR pop 000000000000002a:3 refs 2
 *         home vm-a 0000000000000007:12  vms (2 listed) 0123456789abcdef ...
 *     ~op.<32 hex>  stored reply of 35 bytes
 *
 * JSON output: one object {"oid", "header", "entries": [...], "op_replies": [...]}.
 * Something that does not decode is shown as such ("error") and makes the
 * function return -EIO once everything readable has been printed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rados/idx_client.h"
#include "util/json.h"
#include "rados/store_int.h"

#define KEY_MAX 256  /* longer keys are shown truncated */
#define PAGE    1024 /* keys per omap read: osd_max_omap_entries_per_request */

typedef struct inspect {
    vmd_store *s;
    FILE *f;
    int json;
    const char *oid;
    size_t entries, op_replies, bad;
    int in_ops;     /* the ~op. keys have started */
    int first_item; /* JSON: no comma before the next array item */
} inspect;

static void hex_bytes(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = 0;
}

/* ---- header ---- */

static void header_text(inspect *in, const vmd_idx_header *h)
{
    char op[2 * VMD_OP_ID_SIZE + 1];
    unsigned i;

    fprintf(in->f, "%s: bits %u, partition %04x\n", in->oid, h->bits, h->partition);
    fprintf(in->f,
            "  entries %" PRIu64 "  holdings %" PRIu64 "  bytes %" PRIu64 "  popular %" PRIu64
            " (%" PRIu64 " bytes, %" PRIu64 " refs)\n",
            h->c.entries, h->c.holdings, h->c.bytes, h->c.popular_entries, h->c.popular_bytes,
            h->c.popular_refs);
    fprintf(in->f, "  recent ops (%u, oldest first):", h->nops);
    for (i = 0; i < h->nops; i++) {
        hex_bytes(h->ops[i], VMD_OP_ID_SIZE, op);
        fprintf(in->f, " %s", op);
    }
    fputc('\n', in->f);
}

static void header_json(inspect *in, const vmd_idx_header *h)
{
    char op[2 * VMD_OP_ID_SIZE + 1];
    unsigned i;

    fprintf(in->f,
            "{\"bits\":%u,\"partition\":%u,\"entries\":%" PRIu64 ",\"holdings\":%" PRIu64
            ",\"popular_entries\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"popular_bytes\":%" PRIu64
            ",\"popular_refs\":%" PRIu64 ",\"ops\":[",
            h->bits, h->partition, h->c.entries, h->c.holdings, h->c.popular_entries, h->c.bytes,
            h->c.popular_bytes, h->c.popular_refs);
    for (i = 0; i < h->nops; i++) {
        hex_bytes(h->ops[i], VMD_OP_ID_SIZE, op);
        fprintf(in->f, "%s\"%s\"", i ? "," : "", op);
    }
    fputs("]}", in->f);
}

/* Reads and prints the header; -ENOENT when the object does not exist. */
static int show_header(inspect *in)
{
    vmd_idx_header h;
    uint8_t *buf = NULL;
    size_t len = 0;
    int err = vmd_rados_omap_header(in->s->meta, in->oid, &buf, &len);

    if (err == -ENOENT)
        return vmd_fail(in->s, err, "no index partition %s in pool %s", in->oid, in->s->meta_pool);
    if (err < 0)
        return vmd_fail(in->s, err, "reading the omap header of %s in pool %s", in->oid,
                        in->s->meta_pool);
    if (in->json) {
        fputs("{\"oid\":", in->f);
        vmd_json_write_strn(in->f, in->oid, strlen(in->oid));
        fputs(",\"header\":", in->f);
    }
    if (len == 0) {
        fputs(in->json ? "null" : "", in->f);
        if (!in->json)
            fprintf(in->f, "%s: no header (partition never written)\n", in->oid);
    } else if (vmd_idx_header_decode(&h, buf, len) != 0) {
        in->bad++;
        if (in->json)
            fprintf(in->f, "{\"error\":\"corrupt header of %zu bytes\"}", len);
        else
            fprintf(in->f, "%s: CORRUPT header of %zu bytes\n", in->oid, len);
    } else if (in->json) {
        header_json(in, &h);
    } else {
        header_text(in, &h);
    }
    if (in->json)
        fputs(",\"entries\":[", in->f);
    free(buf);
    return 0;
}

/* ---- entries and stored replies ---- */

static void entry_text(inspect *in, const char *key, const vmd_idx_entry *e)
{
    unsigned i;

    fprintf(in->f, "%s  vm_count %u  chunk_len %u", key, e->vm_count, e->chunk_len);
    if (e->flags & VMD_IDX_ENTRY_POPULAR)
        fprintf(in->f, "  POPULAR pop %016" PRIx64 ":%u refs %" PRIu64, e->pop.id, e->pop.slot,
                e->pop_refs);
    fprintf(in->f, "\n    home ");
    if (e->home_vm[0])
        fprintf(in->f, "%s %016" PRIx64 ":%u", e->home_vm, e->home.id, e->home.slot);
    else
        fprintf(in->f, "-");
    fprintf(in->f, "  vms (%u listed)", e->nvms);
    for (i = 0; i < e->nvms; i++)
        fprintf(in->f, " %016" PRIx64, e->vms[i]);
    fputc('\n', in->f);
}

static void entry_json(inspect *in, const char *key, const vmd_idx_entry *e)
{
    unsigned i;

    fprintf(in->f,
            "{\"fp\":\"%s\",\"flags\":%u,\"popular\":%s,\"vm_count\":%u,\"chunk_len\":%u,"
            "\"pop_refs\":%" PRIu64 ",\"home\":",
            key, e->flags, (e->flags & VMD_IDX_ENTRY_POPULAR) ? "true" : "false", e->vm_count,
            e->chunk_len, e->pop_refs);
    if (e->home_vm[0])
        fprintf(in->f, "{\"vm\":\"%s\",\"id\":%" PRIu64 ",\"slot\":%u}", e->home_vm, e->home.id,
                e->home.slot);
    else
        fputs("null", in->f);
    if (e->flags & VMD_IDX_ENTRY_POPULAR)
        fprintf(in->f, ",\"pop\":{\"id\":%" PRIu64 ",\"slot\":%u}", e->pop.id, e->pop.slot);
    else
        fputs(",\"pop\":null", in->f);
    fputs(",\"vms\":[", in->f);
    for (i = 0; i < e->nvms; i++)
        fprintf(in->f, "%s\"%016" PRIx64 "\"", i ? "," : "", e->vms[i]);
    fputs("]}", in->f);
}

/* JSON: the comma between array items. */
static void json_next_item(inspect *in)
{
    if (!in->first_item)
        fputc(',', in->f);
    in->first_item = 0;
}

static void show_bad_key(inspect *in, const char *key, size_t keylen, size_t vallen,
                         const char *what)
{
    in->bad++;
    if (in->json) {
        json_next_item(in);
        fputs("{\"key\":", in->f);
        vmd_json_write_strn(in->f, key, keylen);
        fprintf(in->f, ",\"error\":\"%s (%zu bytes)\"}", what, vallen);
    } else {
        fprintf(in->f, "%.*s  CORRUPT: %s (%zu bytes)\n", (int)keylen, key, what, vallen);
    }
}

static void show_op_reply(inspect *in, const char *key, size_t keylen, size_t vallen)
{
    if (!in->in_ops && in->json) {
        fputs("],\"op_replies\":[", in->f);
        in->first_item = 1;
    }
    in->in_ops = 1;
    in->op_replies++;
    if (in->json) {
        json_next_item(in);
        fputs("{\"key\":", in->f);
        vmd_json_write_strn(in->f, key, keylen);
        fprintf(in->f, ",\"bytes\":%zu}", vallen);
    } else {
        fprintf(in->f, "%.*s  stored reply of %zu bytes\n", (int)keylen, key, vallen);
    }
}

/* One omap key: an entry, a stored reply, or something that should not be there. */
static void show_key(inspect *in, const char *key, size_t keylen, const char *val, size_t vallen)
{
    char k[VMD_FP_HEX_SIZE];
    vmd_fp fp;
    vmd_idx_entry e;

    if (keylen > 0 && key[0] == '~') {
        show_op_reply(in, key, keylen, vallen);
        return;
    }
    if (keylen != 64 || in->in_ops) {
        show_bad_key(in, key, keylen, vallen, "not an index key");
        return;
    }
    memcpy(k, key, 64);
    k[64] = 0;
    if (vmd_fp_from_hex(&fp, k) != 0) {
        show_bad_key(in, key, keylen, vallen, "not an index key");
        return;
    }
    if (vmd_idx_entry_decode(&e, (const uint8_t *)val, vallen) != 0) {
        show_bad_key(in, key, keylen, vallen, "corrupt entry");
        return;
    }
    in->entries++;
    if (in->json) {
        json_next_item(in);
        entry_json(in, k, &e);
    } else {
        entry_text(in, k, &e);
    }
}

/* Reads one page of at most PAGE keys after `after` (updated) and shows them. */
static int show_page(inspect *in, char *after, int *more)
{
    rados_read_op_t op = rados_create_read_op();
    rados_omap_iter_t it = NULL;
    unsigned char pmore = 0;
    char *key, *val;
    size_t keylen, vallen;
    int prval = 0, err;

    if (!op)
        return vmd_fail(in->s, -ENOMEM, "reading %s", in->oid);
    rados_read_op_omap_get_vals2(op, after, "", PAGE, &it, &pmore, &prval);
    err = rados_read_op_operate(op, in->s->meta, in->oid, 0);
    if (err >= 0 && prval < 0)
        err = prval;
    if (err < 0) {
        err = vmd_fail(in->s, err, "reading the omap of %s in pool %s", in->oid, in->s->meta_pool);
        goto done;
    }
    err = 0;
    while (rados_omap_get_next2(it, &key, &val, &keylen, &vallen) == 0 && key) {
        show_key(in, key, keylen, val, vallen);
        snprintf(after, KEY_MAX, "%.*s", (int)(keylen < KEY_MAX ? keylen : KEY_MAX - 1), key);
    }
    *more = pmore != 0;
done:
    if (it)
        rados_omap_get_end(it);
    rados_release_read_op(op);
    return err;
}

int vmd_inspect_idx(vmd_store *s, const char *oid, int json, FILE *f)
{
    inspect in;
    char after[KEY_MAX] = "";
    uint64_t size;
    time_t mtime;
    int more = 1, err;

    memset(&in, 0, sizeof(in));
    in.s = s;
    in.f = f;
    in.json = json;
    in.oid = oid;
    in.first_item = 1;
    /* the OSD reads an empty omap header of a missing object: ask for the object first */
    err = rados_stat(s->meta, oid, &size, &mtime);
    if (err == -ENOENT)
        return vmd_fail(s, err, "no index partition %s in pool %s", oid, s->meta_pool);
    if (err < 0)
        return vmd_fail(s, err, "stat of %s in pool %s", oid, s->meta_pool);
    err = show_header(&in);
    if (err)
        return err;
    while (!err && more)
        err = show_page(&in, after, &more);
    if (json) {
        if (!in.in_ops)
            fputs("],\"op_replies\":[", f);
        fprintf(f, "],\"complete\":%s}\n", err ? "false" : "true");
    } else if (!err) {
        fprintf(f, "%zu entries, %zu stored replies, %zu corrupt\n", in.entries, in.op_replies,
                in.bad);
    }
    if (!err && in.bad)
        err = vmd_fail(s, -EIO, "index partition %s in pool %s: %zu corrupt item(s)", oid,
                       s->meta_pool, in.bad);
    return err;
}
