/*
 * idx_client.c - batched calls of the index-partition methods (see idx_client.h).
 *
 * A batch call goes through four steps, the same for every mutating method:
 *
 *   order    sort the indices 0..n-1 of the caller's items by fingerprint
 *            (the items stay where they are); a duplicate is -EINVAL;
 *   split    cut the sorted order into parts: one per partition, and a new
 *            part every 65,536 items (VMD_IDX_BATCH_MAX);
 *   run      encode each part with a fresh op id (items gathered in order)
 *            and run every part at once with vmd_cls_batch_run(); then,
 *            as an OSD cannot return more than 64 bytes from a write op,
 *            fetch every part's stored reply with idx_reply (a second,
 *            read-only batch);
 *   scatter  decode each reply and copy result j of a part to
 *            out[order[first + j]], the caller's position of that item.
 *
 * What differs between methods is only how a part is encoded and how a reply
 * decodes into a flat array of results: the codecs by kind of index_msg.h do
 * both, and a table of idx_kind names each method's kinds. Input items are
 * the wire types of index_msg.h, each beginning with its vmd_fp.
 */
#include "rados/idx_client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rados/cls_call.h"
#include "rados/store_int.h"
#include "util/grow.h"

/* One method as the batch machinery sees it (the codecs by kind of index_msg.h). */
typedef struct idx_kind {
    const char *method;
    size_t in_size;             /* bytes of one input item (a wire item type, vmd_fp first) */
    vmd_idx_batch_kind request; /* how a part is encoded */
    vmd_idx_reply_kind reply;   /* how its reply decodes into a flat array of results */
    uint8_t max_status;         /* the highest status of a STATUS reply */
} idx_kind;

/* One call of a batch: items order[first .. first + count) of one partition. */
typedef struct idx_part {
    unsigned partition;
    size_t first;
    uint32_t count;
    char oid[VMD_IDX_OID_SIZE];
    uint8_t op_id[VMD_OP_ID_SIZE];
    uint8_t *in; /* the request, then the idx_reply request */
    size_t inlen;
} idx_part;

/* ---- the methods ---- */

/* clang-format off */
static const idx_kind KIND_REGISTER = {"idx_register", sizeof(vmd_idx_reg_item),
                                       VMD_IDX_BATCH_REGISTER, VMD_IDX_REPLY_REGISTER, 0};
static const idx_kind KIND_RELEASE = {"idx_release", sizeof(vmd_fp), VMD_IDX_BATCH_RELEASE,
                                      VMD_IDX_REPLY_STATUS, VMD_IDX_RELEASE_STATUS_MAX};
static const idx_kind KIND_REF = {"idx_ref", sizeof(vmd_idx_ref_item), VMD_IDX_BATCH_REF,
                                  VMD_IDX_REPLY_REF, 0};
static const idx_kind KIND_MARK = {"idx_mark_popular", sizeof(vmd_idx_mark_item),
                                   VMD_IDX_BATCH_MARK, VMD_IDX_REPLY_STATUS,
                                   VMD_IDX_MARK_STATUS_MAX};
static const idx_kind KIND_UNMARK = {"idx_unmark_popular", sizeof(vmd_fp), VMD_IDX_BATCH_UNMARK,
                                     VMD_IDX_REPLY_STATUS, VMD_IDX_UNMARK_STATUS_MAX};
/* clang-format on */

/* ---- order ---- */

/* An item's fp and its position in the caller's array, for sorting. */
typedef struct sort_key {
    const vmd_fp *fp;
    size_t at;
} sort_key;

static const vmd_fp *item_fp(const void *items, size_t size, size_t i)
{
    return (const vmd_fp *)((const uint8_t *)items + i * size);
}

static int by_fp(const void *a, const void *b)
{
    return vmd_fp_cmp(((const sort_key *)a)->fp, ((const sort_key *)b)->fp);
}

/* *out: the indices of items sorted by fp (malloc()ed); a duplicate fp is -EINVAL. */
static int order_items(vmd_store *s, const idx_kind *k, const void *items, size_t n, size_t **out)
{
    sort_key *keys = malloc(n * sizeof(*keys));
    size_t *order = malloc(n * sizeof(*order));
    char hex[VMD_FP_HEX_SIZE];
    size_t i;
    int err = 0;

    *out = NULL;
    if (!keys || !order) {
        err = vmd_fail(s, -ENOMEM, "%s: sorting %zu fingerprints", k->method, n);
        goto done;
    }
    for (i = 0; i < n; i++) {
        keys[i].fp = item_fp(items, k->in_size, i);
        keys[i].at = i;
    }
    qsort(keys, n, sizeof(*keys), by_fp);
    for (i = 0; i < n; i++) {
        if (i > 0 && by_fp(&keys[i - 1], &keys[i]) == 0) {
            vmd_fp_hex(keys[i].fp, hex);
            err = vmd_fail(s, -EINVAL, "%s: fingerprint %s given twice", k->method, hex);
            goto done;
        }
        order[i] = keys[i].at;
    }
    *out = order;
    order = NULL;
done:
    free(keys);
    free(order);
    return err;
}

/* ---- split ---- */

/* Cuts the sorted order into parts; *parts is malloc()ed, *nparts its length. */
static int split_parts(vmd_store *s, const idx_kind *k, const void *items, const size_t *order,
                       size_t n, idx_part **parts, size_t *nparts)
{
    unsigned bits = (unsigned)s->partition_bits;
    idx_part *p = NULL;
    size_t i, np = 0, cap = 0;

    for (i = 0; i < n; i++) {
        unsigned part = vmd_fp_partition(item_fp(items, k->in_size, order[i]), bits);
        if (np && p[np - 1].partition == part && p[np - 1].count < VMD_IDX_BATCH_MAX) {
            p[np - 1].count++;
            continue;
        }
        if (vmd_grow((void **)&p, &cap, np + 1, 16, sizeof(*p))) {
            free(p);
            return vmd_fail(s, -ENOMEM, "%s: splitting %zu fingerprints", k->method, n);
        }
        memset(&p[np], 0, sizeof(p[np]));
        p[np].partition = part;
        p[np].first = i;
        p[np].count = 1;
        vmd_idx_oid(part, p[np].oid);
        np++;
    }
    *parts = p;
    *nparts = np;
    return 0;
}

/* ---- run ---- */

/* Gathers a part's items in fp order into one buffer and encodes them with a fresh op id. */
static int encode_part(vmd_store *s, const idx_kind *k, const char *vm, const void *items,
                       const size_t *order, idx_part *p)
{
    vmd_idx_target t = {(uint8_t)s->partition_bits, (uint16_t)p->partition};
    uint8_t *buf = malloc((size_t)p->count * k->in_size);
    uint32_t j;
    int err;

    if (!buf)
        return vmd_fail(s, -ENOMEM, "%s: encoding a request for %s", k->method, p->oid);
    for (j = 0; j < p->count; j++)
        memcpy(buf + (size_t)j * k->in_size,
               (const uint8_t *)items + order[p->first + j] * k->in_size, k->in_size);
    vmd_cls_new_op_id(p->op_id);
    err = vmd_idx_batch_req_encode(k->request, p->op_id, t, vm, p->count, buf, &p->in, &p->inlen);
    free(buf);
    if (err == -EINVAL)
        return vmd_fail(s, err, "%s: invalid request for %s (VM id, chunk length or delta)",
                        k->method, p->oid);
    if (err)
        return vmd_fail(s, err, "%s: encoding a request for %s", k->method, p->oid);
    return 0;
}

/* Decodes a part's reply and copies each result to the caller's position. */
static int scatter_part(vmd_store *s, const idx_kind *k, const size_t *order, const idx_part *p,
                        const vmd_cls_req *r, void *out)
{
    void *results = NULL;
    uint32_t count = 0, j;
    size_t size = vmd_idx_reply_item_size(k->reply);
    int err = vmd_idx_reply_decode(k->reply, k->max_status, r->out, r->outlen, &count, &results);

    if (!err && count != p->count)
        err = -EINVAL;
    if (err) {
        free(results);
        return vmd_fail(s, -EPROTO, "%s on %s in pool %s: reply of %zu bytes not understood",
                        k->method, p->oid, s->meta_pool, r->outlen);
    }
    for (j = 0; j < count; j++)
        memcpy((uint8_t *)out + order[p->first + j] * size, (const uint8_t *)results + j * size,
               size);
    free(results);
    return 0;
}

/*
 * The result of one call of a batch: its rc, or the batch's when the batch
 * failed as a whole (out of memory) before this call produced anything.
 */
static int call_rc(const vmd_cls_req *r, int batch_rc)
{
    if (r->rc >= 0 && !r->out)
        return batch_rc < 0 ? batch_rc : -EIO;
    return r->rc;
}

/*
 * Replaces each part's request by the idx_reply request for its op id, and
 * resets its call: the second round of a batch fetches the stored replies.
 */
static int reply_requests(vmd_store *s, const idx_kind *k, idx_part *parts, size_t nparts,
                          vmd_cls_req *reqs)
{
    vmd_idx_reply_req req;
    size_t i;
    int err;

    for (i = 0; i < nparts; i++) {
        free(parts[i].in);
        parts[i].in = NULL;
        free(reqs[i].out);
        req.t.bits = (uint8_t)s->partition_bits;
        req.t.partition = (uint16_t)parts[i].partition;
        memcpy(req.op_id, parts[i].op_id, VMD_OP_ID_SIZE);
        err = vmd_idx_reply_req_encode(&req, &parts[i].in, &parts[i].inlen);
        if (err)
            return vmd_fail(s, err, "%s: encoding idx_reply for %s", k->method, parts[i].oid);
        reqs[i] =
            (vmd_cls_req){parts[i].oid, "idx_reply", 0, parts[i].in, parts[i].inlen, 0, NULL, 0};
    }
    return 0;
}

static int need_partitions(vmd_store *s, const char *method)
{
    if (s->partition_bits < 0)
        return vmd_fail(s, -ENOENT,
                        "%s: store not initialised (no %s in pool %s; run vmdedup init)", method,
                        VMD_STORE_OBJECT, s->meta_pool);
    return 0;
}

/* The four steps for one batch of any mutating method (see the top of the file). */
static int idx_batch(vmd_store *s, const idx_kind *k, const char *vm, const void *items, size_t n,
                     void *out)
{
    size_t *order = NULL, nparts = 0, i;
    idx_part *parts = NULL;
    vmd_cls_req *reqs = NULL;
    int err, brc;

    if (n == 0)
        return 0;
    err = need_partitions(s, k->method);
    if (!err)
        err = order_items(s, k, items, n, &order);
    if (!err)
        err = split_parts(s, k, items, order, n, &parts, &nparts);
    if (err)
        goto done;
    reqs = calloc(nparts, sizeof(*reqs));
    if (!reqs) {
        err = vmd_fail(s, -ENOMEM, "%s: %zu calls", k->method, nparts);
        goto done;
    }
    for (i = 0; i < nparts && !err; i++) {
        err = encode_part(s, k, vm, items, order, &parts[i]);
        reqs[i] =
            (vmd_cls_req){parts[i].oid, k->method, 1, parts[i].in, parts[i].inlen, 0, NULL, 0};
    }
    if (err)
        goto done;
    brc = vmd_cls_batch_run(s->meta, reqs, nparts);
    for (i = 0; i < nparts && !err; i++)
        if (reqs[i].rc < 0 || (brc < 0 && reqs[i].rc == 0 && !reqs[i].out))
            err = vmd_fail(s, reqs[i].rc < 0 ? reqs[i].rc : brc,
                           "%s on %s in pool %s (%u fingerprints)", k->method, parts[i].oid,
                           s->meta_pool, parts[i].count);
    /* round two: the replies the calls stored (a write op cannot return them) */
    if (!err)
        err = reply_requests(s, k, parts, nparts, reqs);
    if (err)
        goto done;
    brc = vmd_cls_batch_run(s->meta, reqs, nparts);
    for (i = 0; i < nparts && !err; i++) {
        int rc = call_rc(&reqs[i], brc);
        if (rc == -ENOENT)
            err = vmd_fail(s, -ESTALE,
                           "%s on %s in pool %s: the reply was evicted by 16 later calls "
                           "before it could be read; the call did apply",
                           k->method, parts[i].oid, s->meta_pool);
        else if (rc < 0)
            err = vmd_fail(s, rc, "idx_reply for %s on %s in pool %s", k->method, parts[i].oid,
                           s->meta_pool);
    }
    for (i = 0; i < nparts && !err; i++)
        err = scatter_part(s, k, order, &parts[i], &reqs[i], out);
done:
    for (i = 0; reqs && i < nparts; i++)
        free(reqs[i].out);
    for (i = 0; parts && i < nparts; i++)
        free(parts[i].in);
    free(reqs);
    free(parts);
    free(order);
    return err;
}

int vmd_idx_register(vmd_store *s, const char *vm, const vmd_idx_reg_item *items, size_t n,
                     vmd_idx_reg_result *out)
{
    if (!vm)
        return vmd_fail(s, -EINVAL, "idx_register: no VM id");
    return idx_batch(s, &KIND_REGISTER, vm, items, n, out);
}

int vmd_idx_release(vmd_store *s, const char *vm, const vmd_fp *fps, size_t n, uint8_t *status)
{
    if (!vm)
        return vmd_fail(s, -EINVAL, "idx_release: no VM id");
    return idx_batch(s, &KIND_RELEASE, vm, fps, n, status);
}

int vmd_idx_ref(vmd_store *s, const vmd_idx_ref_item *items, size_t n, uint64_t *pop_refs)
{
    return idx_batch(s, &KIND_REF, NULL, items, n, pop_refs);
}

int vmd_idx_mark_popular(vmd_store *s, const vmd_idx_mark_item *items, size_t n, uint8_t *status)
{
    return idx_batch(s, &KIND_MARK, NULL, items, n, status);
}

int vmd_idx_unmark_popular(vmd_store *s, const vmd_fp *fps, size_t n, uint8_t *status)
{
    return idx_batch(s, &KIND_UNMARK, NULL, fps, n, status);
}

/* ---- idx_top ---- */

int vmd_idx_top_page(vmd_store *s, unsigned partition, uint32_t min_vms, uint32_t max,
                     const vmd_idx_top_item *after, vmd_idx_top_reply *out)
{
    vmd_idx_target t = {(uint8_t)s->partition_bits, (uint16_t)partition};
    vmd_idx_top_req req;
    char oid[VMD_IDX_OID_SIZE];
    uint8_t *in = NULL, *reply = NULL;
    size_t inlen = 0, replylen = 0;
    int err;

    memset(out, 0, sizeof(*out));
    err = need_partitions(s, "idx_top");
    if (err)
        return err;
    vmd_idx_oid(partition, oid);
    vmd_idx_top_req_init(&req, t, min_vms, max, after);
    err = vmd_idx_top_req_encode(&req, &in, &inlen);
    if (err)
        return vmd_fail(s, err, "idx_top on %s: invalid request (partition of %d bits, max %u)",
                        oid, s->partition_bits, max);
    err = vmd_cls_exec(s->meta, oid, "idx_top", 0, in, inlen, &reply, &replylen);
    if (err == -ENOENT) {
        err = 0; /* no partition object yet: nothing registered there */
    } else if (err < 0) {
        err = vmd_fail(s, err, "idx_top on %s in pool %s", oid, s->meta_pool);
    } else if (vmd_idx_top_reply_decode(out, reply, replylen) != 0) {
        err = vmd_fail(s, -EPROTO, "idx_top on %s in pool %s: reply of %zu bytes not understood",
                       oid, s->meta_pool, replylen);
    } else {
        err = 0;
    }
    free(in);
    free(reply);
    return err;
}

int vmd_idx_top_each(vmd_store *s, unsigned partition, uint32_t min_vms, vmd_idx_top_fn fn,
                     void *arg)
{
    vmd_idx_top_reply page;
    vmd_idx_top_item cursor;
    int have_cursor = 0, more = 1, err = 0;
    uint32_t i;

    while (more && !err) {
        err = vmd_idx_top_page(s, partition, min_vms, VMD_IDX_TOP_MAX, have_cursor ? &cursor : NULL,
                               &page);
        if (err)
            break;
        for (i = 0; i < page.count && !err; i++)
            err = fn(arg, &page.items[i]);
        if (page.count) {
            cursor = page.items[page.count - 1];
            have_cursor = 1;
        }
        more = page.more && page.count > 0;
        vmd_idx_top_reply_free(&page);
    }
    return err;
}

/* ---- idx_stats ---- */

static void counters_sum(vmd_idx_counters *sum, const vmd_idx_counters *c)
{
    sum->entries += c->entries;
    sum->holdings += c->holdings;
    sum->popular_entries += c->popular_entries;
    sum->bytes += c->bytes;
    sum->popular_bytes += c->popular_bytes;
    sum->popular_refs += c->popular_refs;
}

/* Encodes the stats request of every partition; oids[p] names partition p. */
static int stats_requests(vmd_store *s, size_t nparts, char (*oids)[VMD_IDX_OID_SIZE],
                          vmd_cls_req *reqs)
{
    vmd_idx_stats_req req;
    uint8_t *in;
    size_t p, inlen;
    int err;

    for (p = 0; p < nparts; p++) {
        req.t.bits = (uint8_t)s->partition_bits;
        req.t.partition = (uint16_t)p;
        err = vmd_idx_stats_req_encode(&req, &in, &inlen);
        if (err)
            return vmd_fail(s, err, "idx_stats: encoding the request for partition %zu", p);
        vmd_idx_oid((unsigned)p, oids[p]);
        reqs[p] = (vmd_cls_req){oids[p], "idx_stats", 0, in, inlen, 0, NULL, 0};
    }
    return 0;
}

int vmd_idx_stats(vmd_store *s, vmd_idx_counters *out)
{
    size_t nparts, p;
    char(*oids)[VMD_IDX_OID_SIZE] = NULL;
    vmd_cls_req *reqs = NULL;
    vmd_idx_counters c;
    int err, brc;

    memset(out, 0, sizeof(*out));
    err = need_partitions(s, "idx_stats");
    if (err)
        return err;
    nparts = (size_t)1 << s->partition_bits;
    oids = calloc(nparts, sizeof(*oids));
    reqs = calloc(nparts, sizeof(*reqs));
    if (!oids || !reqs) {
        err = vmd_fail(s, -ENOMEM, "idx_stats: %zu partitions", nparts);
        goto done;
    }
    err = stats_requests(s, nparts, oids, reqs);
    if (err)
        goto done;
    brc = vmd_cls_batch_run(s->meta, reqs, nparts);
    for (p = 0; p < nparts && !err; p++) {
        int rc = call_rc(&reqs[p], brc);
        if (rc == -ENOENT)
            continue; /* partition not created yet: empty */
        if (rc < 0)
            err = vmd_fail(s, rc, "idx_stats on %s in pool %s", oids[p], s->meta_pool);
        else if (vmd_idx_stats_reply_decode(&c, reqs[p].out, reqs[p].outlen) != 0)
            err = vmd_fail(s, -EPROTO, "idx_stats on %s in pool %s: reply not understood", oids[p],
                           s->meta_pool);
        else
            counters_sum(out, &c);
    }
done:
    for (p = 0; reqs && p < nparts; p++) {
        free((void *)reqs[p].in);
        free(reqs[p].out);
    }
    free(reqs);
    free(oids);
    return err;
}
