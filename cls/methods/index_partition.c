/*
 * index_partition.c - the state of an index partition, read once and written
 * once per call, and the one driver of every mutating index method.
 *
 * The object's keys, the line every mutating call follows and the
 * vmd_idx_mutation a method supplies are described in index_partition.h.
 * Here: the partition header and its counters (every entry contributes to
 * the sums; a header whose sums cannot hold an entry is corrupt: -EIO), the
 * ring of the last 16 op ids with their stored replies, the lookup of the
 * entries a request names (omap_get_keys in pages of at most
 * VMD_OMAP_PAGE), and the final write: one omap_set of the changed entries
 * plus the reply, the removals, the header.
 *
 * Idempotency. A resend of a call carries the same op id. While that id is
 * among the partition's last 16, nothing changes and idx_reply returns the
 * original reply (checked here to decode before it is vouched for: -EIO
 * otherwise); each method's comment argues why a resend older than that is
 * harmless or cannot happen (clients resend only within seconds). Stored
 * state that fails validation is never "repaired": the call fails with -EIO
 * and a log line naming the key. Nothing here aborts.
 */
#include "methods/index_partition.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "methods/cls_methods.h"

/* call_begin() found the op id: the stored reply stands. */
#define REPLAYED 1

const void *vmd_idx_call_item(const vmd_idx_call *c, uint32_t i)
{
    return c->items + (size_t)i * c->stride;
}

const vmd_fp *vmd_idx_call_fp(const vmd_idx_call *c, uint32_t i)
{
    return (const vmd_fp *)vmd_idx_call_item(c, i);
}

static void call_free(vmd_idx_call *c)
{
    free(c->e);
    free(c->found);
    free(c->action);
    c->e = NULL;
    c->found = c->action = NULL;
}

/* ---- partition header ---- */

/*
 * Reads and validates the header into *h. A partition without one (missing
 * object, or an omap never written) gets a fresh header for t when `create`
 * (mutating methods), else -ENOENT. A header for other bits or another
 * partition is the caller's mistake: -EINVAL.
 */
int vmd_idx_header_load(vmd_obj *obj, const char *method, const vmd_idx_target *t, int create,
                        vmd_idx_header *h, int *fresh)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int err;

    memset(h, 0, sizeof(*h));
    *fresh = 0;
    err = obj->ops->omap_header_get(obj->h, &buf, &len);
    if (err == -ENOENT && !create)
        return err;
    if (err == -ENOENT || (err == 0 && len == 0)) {
        *fresh = err == -ENOENT ? 1 : 2;
        h->bits = t->bits;
        h->partition = t->partition;
        free(buf);
        return 0;
    }
    if (err < 0) {
        vmd_cls_log(0, "%s: reading the partition header: error %d", method, err);
        return err;
    }
    err = vmd_idx_header_decode(h, buf, len);
    free(buf);
    if (err) {
        vmd_cls_log(0, "%s: corrupt partition header (%zu bytes, error %d)", method, len, err);
        return -EIO;
    }
    if (h->bits != t->bits || h->partition != t->partition) {
        vmd_cls_log(1,
                    "%s: request for bits %u partition %04x, object holds bits %u partition %04x",
                    method, t->bits, t->partition, h->bits, h->partition);
        return -EINVAL;
    }
    return 0;
}

static int header_store(vmd_obj *obj, const char *method, const vmd_idx_header *h)
{
    uint8_t buf[VMD_IDX_HEADER_MAX];
    size_t len;
    int err = vmd_idx_header_encode(h, buf, sizeof(buf), &len);

    if (err) {
        vmd_cls_log(0, "%s: encoding the partition header: error %d", method, err);
        return -EIO;
    }
    return obj->ops->omap_header_set(obj->h, buf, len);
}

/* ---- counters: every entry contributes to the header's sums ---- */

static void counters_add(vmd_idx_counters *c, const vmd_idx_entry *e)
{
    int popular = (e->flags & VMD_IDX_ENTRY_POPULAR) != 0;
    c->entries++;
    c->holdings += e->vm_count;
    c->bytes += e->chunk_len;
    c->popular_refs += e->pop_refs;
    if (popular) {
        c->popular_entries++;
        c->popular_bytes += e->chunk_len;
    }
}

/* Takes e's contribution out; -EIO when the header's sums cannot hold it (corruption). */
static int counters_sub(vmd_idx_counters *c, const vmd_idx_entry *e, const char *method)
{
    int popular = (e->flags & VMD_IDX_ENTRY_POPULAR) != 0;

    if (c->entries < 1 || c->holdings < e->vm_count || c->bytes < e->chunk_len ||
        c->popular_refs < e->pop_refs ||
        (popular && (c->popular_entries < 1 || c->popular_bytes < e->chunk_len))) {
        vmd_cls_log(0, "%s: partition header counters are below the entries they sum", method);
        return -EIO;
    }
    c->entries--;
    c->holdings -= e->vm_count;
    c->bytes -= e->chunk_len;
    c->popular_refs -= e->pop_refs;
    if (popular) {
        c->popular_entries--;
        c->popular_bytes -= e->chunk_len;
    }
    return 0;
}

/* ---- op ids ---- */

int vmd_idx_op_find(const vmd_idx_header *h, const uint8_t *op_id)
{
    unsigned i;
    for (i = 0; i < h->nops; i++)
        if (memcmp(h->ops[i], op_id, VMD_OP_ID_SIZE) == 0)
            return (int)i;
    return -1;
}

/*
 * A resend of a recent op: checks that its stored reply is there and valid
 * (-EIO otherwise) for idx_reply to return, and changes nothing.
 */
static int op_replay(const vmd_idx_call *c, const uint8_t *op_id)
{
    char key[VMD_IDX_OP_KEY_SIZE];
    uint8_t *buf = NULL;
    size_t len = 0;
    int err;

    vmd_idx_op_key(op_id, key);
    err = c->obj->ops->omap_get(c->obj->h, key, &buf, &len);
    if (err == 0 && vmd_idx_reply_check(c->m->reply, c->m->max_status, buf, len, c->n) != 0)
        err = -EIO;
    if (err) {
        vmd_cls_log(0, "%s: op %s is recorded but its reply is %s (error %d)", c->m->method, key,
                    err == -EIO ? "corrupt" : "unreadable", err);
        free(buf);
        return -EIO;
    }
    vmd_cls_log(5, "%s: replay of op %s", c->m->method, key);
    free(buf);
    return REPLAYED;
}

/* ---- reading the entries a request names ---- */

typedef struct lookup_page {
    vmd_idx_call *c;
    uint32_t first, n; /* the items this page asked for */
} lookup_page;

/* omap_get_keys callback: decodes the value into the entry of the matching item. */
static int lookup_one(void *arg, const char *key, const uint8_t *val, size_t len)
{
    lookup_page *pg = arg;
    vmd_idx_call *c = pg->c;
    uint32_t lo = pg->first, hi = pg->first + pg->n;
    vmd_fp fp;

    if (vmd_fp_from_hex(&fp, key) != 0) {
        vmd_cls_log(0, "%s: lookup returned key '%.80s'", c->m->method, key);
        return -EIO;
    }
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int cmp = vmd_fp_cmp(vmd_idx_call_fp(c, mid), &fp);
        if (cmp == 0) {
            if (vmd_idx_entry_decode(&c->e[mid], val, len) != 0) {
                vmd_cls_log(0, "%s: corrupt index entry %s (%zu bytes)", c->m->method, key, len);
                return -EIO;
            }
            c->found[mid] = 1;
            return 0;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    vmd_cls_log(0, "%s: lookup returned key %s that was not asked for", c->m->method, key);
    return -EIO;
}

/* Looks up items [first, first + n) in one omap_get_keys call. */
static int lookup_page_run(vmd_idx_call *c, uint32_t first, uint32_t n,
                           char (*hex)[VMD_FP_HEX_SIZE], const char **keys)
{
    lookup_page pg = {c, first, n};
    uint32_t i;
    int err;

    for (i = 0; i < n; i++) {
        vmd_fp_hex(vmd_idx_call_fp(c, first + i), hex[i]);
        keys[i] = hex[i];
    }
    err = c->obj->ops->omap_get_keys(c->obj->h, keys, n, lookup_one, &pg);
    return err == -ENOENT ? 0 : err;
}

/* Fills c->e / c->found for every item, reading at most VMD_OMAP_PAGE keys per request. */
static int lookup_entries(vmd_idx_call *c)
{
    char(*hex)[VMD_FP_HEX_SIZE] = NULL;
    const char **keys = NULL;
    uint32_t first, n;
    int err = 0;

    if (c->fresh == 1)
        return 0; /* no object: no entries */
    hex = malloc(VMD_OMAP_PAGE * sizeof(*hex));
    keys = malloc(VMD_OMAP_PAGE * sizeof(*keys));
    if (!hex || !keys) {
        err = -ENOMEM;
        goto done;
    }
    for (first = 0; first < c->n && !err; first += n) {
        n = c->n - first < VMD_OMAP_PAGE ? c->n - first : VMD_OMAP_PAGE;
        err = lookup_page_run(c, first, n, hex, keys);
    }
    if (err && err != -EIO && err != -ENOMEM)
        vmd_cls_log(0, "%s: reading index entries: error %d", c->m->method, err);
done:
    free(hex);
    free(keys);
    return err;
}

/*
 * Starts a mutating call on the request described by bt: header, replay
 * check, entries. Returns 0 (go on), REPLAYED (a resend of a recent op:
 * change nothing), or a negative errno.
 */
static int call_begin(vmd_idx_call *c, vmd_obj *obj, const vmd_idx_mutation *m, const void *req,
                      const vmd_idx_batch *bt)
{
    int err;

    c->obj = obj;
    c->m = m;
    c->req = req;
    c->vm = bt->vm;
    c->vm_hash = bt->vm ? vmd_vm_hash(bt->vm, strlen(bt->vm)) : 0;
    c->items = bt->items;
    c->stride = bt->stride;
    c->n = bt->count;
    err = vmd_idx_header_load(obj, m->method, bt->t, 1, &c->h, &c->fresh);
    if (err)
        return err;
    if (vmd_idx_op_find(&c->h, bt->op_id) >= 0)
        return op_replay(c, bt->op_id);
    c->e = calloc(c->n, sizeof(*c->e));
    c->found = calloc(c->n, 1);
    c->action = calloc(c->n, 1);
    if (!c->e || !c->found || !c->action)
        return -ENOMEM;
    return lookup_entries(c);
}

/* ---- writing the result ---- */

/* Sums the bytes of the entries to PUT, for one arena. */
static size_t put_bytes(const vmd_idx_call *c, uint32_t *nput)
{
    size_t total = 0;
    uint32_t i;

    *nput = 0;
    for (i = 0; i < c->n; i++)
        if (c->action[i] == VMD_IDX_PUT) {
            total += vmd_idx_entry_size(&c->e[i]);
            (*nput)++;
        }
    return total;
}

/* One omap_set: every PUT entry, and the reply under ~op.<op_id>. */
static int write_entries(vmd_idx_call *c, const char *op_key, const uint8_t *reply, size_t replylen)
{
    uint32_t nput, i, k = 0;
    size_t arena_len = put_bytes(c, &nput), used = 0, len;
    char(*hex)[VMD_FP_HEX_SIZE] = malloc(((size_t)nput + 1) * sizeof(*hex));
    const char **keys = malloc(((size_t)nput + 1) * sizeof(*keys));
    const uint8_t **vals = malloc(((size_t)nput + 1) * sizeof(*vals));
    size_t *lens = malloc(((size_t)nput + 1) * sizeof(*lens));
    uint8_t *arena = malloc(arena_len ? arena_len : 1);
    int err = 0;

    if (!hex || !keys || !vals || !lens || !arena) {
        err = -ENOMEM;
        goto done;
    }
    for (i = 0; i < c->n && !err; i++) {
        if (c->action[i] != VMD_IDX_PUT)
            continue;
        err = vmd_idx_entry_encode(&c->e[i], arena + used, arena_len - used, &len);
        if (err) {
            vmd_cls_log(0, "%s: new entry fails validation (error %d)", c->m->method, err);
            err = -EIO;
            break;
        }
        vmd_fp_hex(vmd_idx_call_fp(c, i), hex[k]);
        keys[k] = hex[k];
        vals[k] = arena + used;
        lens[k] = len;
        used += len;
        k++;
    }
    keys[k] = op_key;
    vals[k] = reply;
    lens[k] = replylen;
    if (!err)
        err = c->obj->ops->omap_set(c->obj->h, keys, vals, lens, (size_t)k + 1);
done:
    free(hex);
    free(keys);
    free(vals);
    free(lens);
    free(arena);
    return err;
}

static int remove_entries(vmd_idx_call *c)
{
    char hex[VMD_FP_HEX_SIZE];
    uint32_t i;
    int err;

    for (i = 0; i < c->n; i++) {
        if (c->action[i] != VMD_IDX_DEL)
            continue;
        vmd_fp_hex(vmd_idx_call_fp(c, i), hex);
        err = c->obj->ops->omap_remove(c->obj->h, hex);
        if (err)
            return err;
    }
    return 0;
}

/* Records op_id as the newest op, dropping (and removing the reply of) the oldest of 16. */
static int remember_op(vmd_idx_call *c, const uint8_t *op_id)
{
    vmd_idx_header *h = &c->h;
    char key[VMD_IDX_OP_KEY_SIZE];
    int err;

    if (h->nops == VMD_IDX_OPS_MAX) {
        vmd_idx_op_key(h->ops[0], key);
        err = c->obj->ops->omap_remove(c->obj->h, key);
        if (err)
            return err;
        memmove(h->ops[0], h->ops[1], (VMD_IDX_OPS_MAX - 1) * VMD_OP_ID_SIZE);
        h->nops--;
    }
    memcpy(h->ops[h->nops++], op_id, VMD_OP_ID_SIZE);
    return 0;
}

/* Writes everything the call changed, the reply for replays, and the header. */
static int call_commit(vmd_idx_call *c, const uint8_t *op_id, const uint8_t *reply, size_t replylen)
{
    char op_key[VMD_IDX_OP_KEY_SIZE];
    int err;

    vmd_idx_op_key(op_id, op_key);
    err = remember_op(c, op_id);
    if (!err)
        err = write_entries(c, op_key, reply, replylen);
    if (!err)
        err = remove_entries(c);
    if (!err)
        err = header_store(c->obj, c->m->method, &c->h);
    if (err && err != -EIO)
        vmd_cls_log(0, "%s: writing the partition: error %d", c->m->method, err);
    return err;
}

/* Replaces e's contribution to the counters by its new value (after the caller changed it). */
int vmd_idx_call_account(vmd_idx_call *c, uint32_t i, const vmd_idx_entry *old)
{
    int err = 0;
    if (c->found[i])
        err = counters_sub(&c->h.c, old, c->m->method);
    if (!err && c->action[i] != VMD_IDX_DEL)
        counters_add(&c->h.c, &c->e[i]);
    return err;
}

int vmd_idx_bad_request(const char *method, int err, size_t inlen)
{
    vmd_cls_log(1, "%s: malformed request (%zu bytes): error %d", method, inlen, err);
    return err;
}

/* ---- the driver of every mutating method ---- */

/* Applies every item, encodes the reply and writes the partition. */
static int call_run(vmd_idx_call *c, const uint8_t *op_id)
{
    size_t size = vmd_idx_reply_item_size(c->m->reply);
    uint8_t *items = calloc(c->n ? c->n : 1, size), *reply = NULL;
    size_t replylen = 0;
    uint32_t i;
    int err = items ? 0 : -ENOMEM;

    for (i = 0; i < c->n && !err; i++)
        err = c->m->apply(c, i, items + (size_t)i * size);
    if (!err)
        err = vmd_idx_reply_encode(c->m->reply, c->m->max_status, c->n, items, &reply, &replylen);
    if (!err)
        err = call_commit(c, op_id, reply, replylen);
    free(items);
    free(reply);
    return err;
}

/*
 * No output: the reply is stored under ~op.<op_id> (an OSD fails a write op
 * whose output exceeds osd_max_write_op_reply_len, 64 bytes by default);
 * idx_reply returns it.
 */
int vmd_idx_mutate(vmd_obj *obj, const vmd_idx_mutation *m, const uint8_t *in, size_t inlen,
                   uint8_t **out, size_t *outlen)
{
    vmd_idx_call c;
    vmd_idx_batch bt;
    void *req = calloc(1, m->req->size);
    int err;

    (void)out;
    (void)outlen;
    if (!req)
        return -ENOMEM;
    memset(&c, 0, sizeof(c));
    err = m->req->decode(req, in, inlen, &bt);
    if (err)
        err = vmd_idx_bad_request(m->method, err, inlen);
    else
        err = call_begin(&c, obj, m, req, &bt);
    if (!err && m->validate)
        err = m->validate(&c);
    if (!err)
        err = call_run(&c, bt.op_id);
    call_free(&c);
    m->req->release(req);
    free(req);
    return err < 0 ? err : 0;
}
