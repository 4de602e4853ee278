/*
 * index_methods.c - the methods of an index partition: register, release, ref,
 * mark/unmark popular, top, stats.
 *
 * Object: idx.<pppp> in the meta pool (docs/format.md, "Index partitions").
 *
 *     omap header          vmd_idx_header: bits, partition, counters, last 16 op ids
 *     omap "<64 hex>"      vmd_idx_entry of that fingerprint
 *     omap "~op.<32 hex>"  the encoded reply of a recent mutating call
 *
 * Every mutating method runs the same line (struct idx_call):
 *
 *     decode the request (idx_ops.c; -EINVAL/-EPROTO, nothing touched)
 *  -> read the header (corrupt: -EIO; other bits/partition: -EINVAL)
 *  -> op id among the header's last 16? return the stored reply, change nothing
 *  -> read the entries of the request's fps (omap_get_keys, pages of <= 1024)
 *  -> validate every item against them (the whole call fails or none of it)
 *  -> compute each entry's new value and the new counters, in memory
 *  -> encode the reply
 *  -> write: one omap_set (changed entries + "~op.<id>" = reply), removals
 *     (deleted entries, the evicted oldest op), the new header.
 *
 * A mutating method returns no output: an OSD fails a write op whose output
 * exceeds osd_max_write_op_reply_len (64 bytes by default), and a register
 * reply takes up to 1.1 MB. The client fetches the stored reply with the
 * read method idx_reply right after the call.
 *
 * The OSD applies a method's writes only when it returns >= 0, and a method
 * never sees its own writes, so the state is read once and written once.
 * Stored state that fails validation is never "repaired": the call fails
 * with -EIO and a log line naming the key. Nothing here aborts.
 *
 * Idempotency. A resend of a call carries the same op id. While that id is
 * among the partition's last 16, nothing changes and idx_reply returns the
 * original reply; each method's comment argues why a resend older than that is
 * harmless or cannot happen (clients resend only within seconds).
 */
#include "methods/index_methods.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "methods/cls_methods.h"
#include "format/index_msg.h"
#include "format/index.h"

/* What commit does with an item's entry. */
enum { KEEP = 0, PUT = 1, DEL = 2 };

/* call_begin() found the op id: the stored reply is in *out. */
#define REPLAYED 1

/* Stops an omap walk without an error. */
#define WALK_STOP 1

/* Checks a stored reply before it is replayed: 0 when it decodes with count items. */
typedef int (*reply_check_fn)(const uint8_t *buf, size_t len, uint32_t count);

/* One mutating call on a partition: the request's fps and the entries they name. */
typedef struct idx_call {
    vmd_obj *obj;
    const char *method;
    vmd_idx_header h;
    int fresh;            /* the object has no header yet */
    const uint8_t *items; /* request items; each begins with its vmd_fp */
    size_t stride;        /* bytes per item */
    uint32_t n;           /* items */
    vmd_idx_entry *e;     /* per item: the entry (read, then changed in place) */
    uint8_t *found;       /* per item: 1 when the entry existed */
    uint8_t *action;      /* per item: KEEP, PUT or DEL */
} idx_call;

static const vmd_fp *call_fp(const idx_call *c, uint32_t i)
{
    return (const vmd_fp *)(c->items + (size_t)i * c->stride);
}

static void call_free(idx_call *c)
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
static int header_load(vmd_obj *obj, const char *method, const vmd_idx_target *t, int create,
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

static int op_find(const vmd_idx_header *h, const uint8_t *op_id)
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
static int op_replay(const idx_call *c, const uint8_t *op_id, reply_check_fn check, uint32_t count)
{
    char key[VMD_IDX_OP_KEY_SIZE];
    uint8_t *buf = NULL;
    size_t len = 0;
    int err;

    vmd_idx_op_key(op_id, key);
    err = c->obj->ops->omap_get(c->obj->h, key, &buf, &len);
    if (err == 0 && check(buf, len, count) != 0)
        err = -EIO;
    if (err) {
        vmd_cls_log(0, "%s: op %s is recorded but its reply is %s (error %d)", c->method, key,
                    err == -EIO ? "corrupt" : "unreadable", err);
        free(buf);
        return -EIO;
    }
    vmd_cls_log(5, "%s: replay of op %s", c->method, key);
    free(buf);
    return REPLAYED;
}

/* ---- reading the entries a request names ---- */

typedef struct lookup_page {
    idx_call *c;
    uint32_t first, n; /* the items this page asked for */
} lookup_page;

/* omap_get_keys callback: decodes the value into the entry of the matching item. */
static int lookup_one(void *arg, const char *key, const uint8_t *val, size_t len)
{
    lookup_page *pg = arg;
    idx_call *c = pg->c;
    uint32_t lo = pg->first, hi = pg->first + pg->n;
    vmd_fp fp;

    if (vmd_fp_from_hex(&fp, key) != 0) {
        vmd_cls_log(0, "%s: lookup returned key '%.80s'", c->method, key);
        return -EIO;
    }
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int cmp = vmd_fp_cmp(call_fp(c, mid), &fp);
        if (cmp == 0) {
            if (vmd_idx_entry_decode(&c->e[mid], val, len) != 0) {
                vmd_cls_log(0, "%s: corrupt index entry %s (%zu bytes)", c->method, key, len);
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
    vmd_cls_log(0, "%s: lookup returned key %s that was not asked for", c->method, key);
    return -EIO;
}

/* Looks up items [first, first + n) in one omap_get_keys call. */
static int lookup_page_run(idx_call *c, uint32_t first, uint32_t n, char (*hex)[VMD_FP_HEX_SIZE],
                           const char **keys)
{
    lookup_page pg = {c, first, n};
    uint32_t i;
    int err;

    for (i = 0; i < n; i++) {
        vmd_fp_hex(call_fp(c, first + i), hex[i]);
        keys[i] = hex[i];
    }
    err = c->obj->ops->omap_get_keys(c->obj->h, keys, n, lookup_one, &pg);
    return err == -ENOENT ? 0 : err;
}

/* Fills c->e / c->found for every item, reading at most VMD_OMAP_PAGE keys per request. */
static int lookup_entries(idx_call *c)
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
        vmd_cls_log(0, "%s: reading index entries: error %d", c->method, err);
done:
    free(hex);
    free(keys);
    return err;
}

/*
 * Starts a mutating call: header, replay check, entries. Returns 0 (go on),
 * REPLAYED (a resend of a recent op: change nothing), or a negative errno.
 */
static int call_begin(idx_call *c, vmd_obj *obj, const char *method, const vmd_idx_target *t,
                      const uint8_t *op_id, const void *items, size_t stride, uint32_t n,
                      reply_check_fn check)
{
    int err;

    memset(c, 0, sizeof(*c));
    c->obj = obj;
    c->method = method;
    c->items = items;
    c->stride = stride;
    c->n = n;
    err = header_load(obj, method, t, 1, &c->h, &c->fresh);
    if (err)
        return err;
    if (op_find(&c->h, op_id) >= 0)
        return op_replay(c, op_id, check, n);
    c->e = calloc(n, sizeof(*c->e));
    c->found = calloc(n, 1);
    c->action = calloc(n, 1);
    if (!c->e || !c->found || !c->action)
        return -ENOMEM;
    return lookup_entries(c);
}

/* ---- writing the result ---- */

/* Sums the bytes of the entries to PUT, for one arena. */
static size_t put_bytes(const idx_call *c, uint32_t *nput)
{
    size_t total = 0;
    uint32_t i;

    *nput = 0;
    for (i = 0; i < c->n; i++)
        if (c->action[i] == PUT) {
            total += vmd_idx_entry_size(&c->e[i]);
            (*nput)++;
        }
    return total;
}

/* One omap_set: every PUT entry, and the reply under ~op.<op_id>. */
static int write_entries(idx_call *c, const char *op_key, const uint8_t *reply, size_t replylen)
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
        if (c->action[i] != PUT)
            continue;
        err = vmd_idx_entry_encode(&c->e[i], arena + used, arena_len - used, &len);
        if (err) {
            vmd_cls_log(0, "%s: new entry fails validation (error %d)", c->method, err);
            err = -EIO;
            break;
        }
        vmd_fp_hex(call_fp(c, i), hex[k]);
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

static int remove_entries(idx_call *c)
{
    char hex[VMD_FP_HEX_SIZE];
    uint32_t i;
    int err;

    for (i = 0; i < c->n; i++) {
        if (c->action[i] != DEL)
            continue;
        vmd_fp_hex(call_fp(c, i), hex);
        err = c->obj->ops->omap_remove(c->obj->h, hex);
        if (err)
            return err;
    }
    return 0;
}

/* Records op_id as the newest op, dropping (and removing the reply of) the oldest of 16. */
static int remember_op(idx_call *c, const uint8_t *op_id)
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
static int call_commit(idx_call *c, const uint8_t *op_id, const uint8_t *reply, size_t replylen)
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
        err = header_store(c->obj, c->method, &c->h);
    if (err && err != -EIO)
        vmd_cls_log(0, "%s: writing the partition: error %d", c->method, err);
    return err;
}

/* Replaces e's contribution to the counters by its new value (after the caller changed it). */
static int call_account(idx_call *c, uint32_t i, const vmd_idx_entry *old)
{
    int err = 0;
    if (c->found[i])
        err = counters_sub(&c->h.c, old, c->method);
    if (!err && c->action[i] != DEL)
        counters_add(&c->h.c, &c->e[i]);
    return err;
}

/*
 * Ends a mutating method: everything freed. No output: the reply is stored
 * under ~op.<op_id> (an OSD fails a write op whose output exceeds
 * osd_max_write_op_reply_len, 64 bytes by default); idx_reply returns it.
 */
static int call_end(idx_call *c, int err, uint8_t *reply)
{
    call_free(c);
    free(reply);
    return err < 0 ? err : 0;
}

static int bad_request(const char *method, int err, size_t inlen)
{
    vmd_cls_log(1, "%s: malformed request (%zu bytes): error %d", method, inlen, err);
    return err;
}

/* ---- holders of an entry ---- */

static int holder_index(const vmd_idx_entry *e, uint64_t hv)
{
    unsigned i;
    for (i = 0; i < e->nvms; i++)
        if (e->vms[i] == hv)
            return (int)i;
    return -1;
}

/* Adds VM hash hv to the holders; returns 1 when the entry changed. */
static int holder_add(vmd_idx_entry *e, uint64_t hv)
{
    unsigned i;

    if (holder_index(e, hv) >= 0)
        return 0;
    if (e->nvms < VMD_IDX_MAX_VMS) {
        for (i = e->nvms; i > 0 && e->vms[i - 1] > hv; i--)
            e->vms[i] = e->vms[i - 1];
        e->vms[i] = hv;
        e->nvms++;
    }
    /* With a full list only the count is kept: an upper estimate (docs/format.md). */
    if (e->vm_count < UINT32_MAX)
        e->vm_count++;
    return 1;
}

/* Removes VM hash hv from the holders; returns 1 if it held the chunk (or may have). */
static int holder_remove(vmd_idx_entry *e, uint64_t hv)
{
    int at = holder_index(e, hv);

    if (at >= 0) {
        memmove(&e->vms[at], &e->vms[at + 1], (e->nvms - (unsigned)at - 1) * sizeof(e->vms[0]));
        e->nvms--;
        e->vm_count--;
        return 1;
    }
    if (e->vm_count > e->nvms) {
        e->vm_count--; /* an unlisted holder beyond the first 16 */
        return 1;
    }
    return 0;
}

static void home_set(vmd_idx_entry *e, const char *vm, const vmd_loc *loc)
{
    e->home = *loc;
    snprintf(e->home_vm, sizeof(e->home_vm), "%s", vm);
}

static void home_clear(vmd_idx_entry *e)
{
    memset(&e->home, 0, sizeof(e->home));
    e->home_vm[0] = 0;
}

static int is_popular(const vmd_idx_entry *e)
{
    return (e->flags & VMD_IDX_ENTRY_POPULAR) != 0;
}

/* ---- vmdedup.idx_register ---- */

static int check_register_reply(const uint8_t *buf, size_t len, uint32_t count)
{
    vmd_idx_register_reply r;
    int err = vmd_idx_register_reply_decode(&r, buf, len);
    if (!err && r.count != count)
        err = -EINVAL;
    vmd_idx_register_reply_free(&r);
    return err;
}

/* Every known fp must have the stored length, and a popular one room for one more ref. */
static int register_validate(const idx_call *c, const vmd_idx_register_req *req)
{
    uint32_t i;
    char hex[VMD_FP_HEX_SIZE];

    for (i = 0; i < c->n; i++) {
        if (!c->found[i])
            continue;
        if (c->e[i].chunk_len != req->items[i].chunk_len) {
            vmd_fp_hex(&req->items[i].fp, hex);
            vmd_cls_log(1, "%s: %s registered with length %u, stored with %u", c->method, hex,
                        req->items[i].chunk_len, c->e[i].chunk_len);
            return -EINVAL;
        }
        if (is_popular(&c->e[i]) && c->e[i].pop_refs == UINT64_MAX)
            return -ERANGE;
    }
    return 0;
}

/* Applies one registration to item i; fills its result. */
static void register_one(idx_call *c, uint32_t i, const vmd_idx_register_req *req, uint64_t hv,
                         vmd_idx_reg_result *res)
{
    vmd_idx_entry *e = &c->e[i];
    const vmd_idx_reg_item *it = &req->items[i];
    int changed;

    if (!c->found[i]) {
        memset(e, 0, sizeof(*e));
        e->chunk_len = it->chunk_len;
        holder_add(e, hv);
        home_set(e, req->vm, &it->loc);
        c->action[i] = PUT;
        res->status = VMD_IDX_NEW;
        res->vm_count = e->vm_count;
        return;
    }
    changed = holder_add(e, hv);
    if (e->home_vm[0] == 0) {
        home_set(e, req->vm, &it->loc); /* the previous home was released */
        changed = 1;
    }
    res->status = VMD_IDX_KNOWN;
    if (is_popular(e)) {
        e->pop_refs++;
        changed = 1;
        res->status = VMD_IDX_POPULAR;
        res->pop = e->pop;
    }
    res->vm_count = e->vm_count;
    c->action[i] = changed ? PUT : KEEP;
}

/*
 * Idempotency: a resend with the same op id while it is among the last 16 is
 * answered from ~op.<id>. Beyond that, a resend of a register is harmless for
 * NEW and KNOWN fps (the VM is already a holder: nothing changes, the reply
 * says KNOWN) and would only add one reference to a POPULAR copy, which the
 * garbage collector's recount corrects; clients resend within seconds, long
 * before 16 other calls reach the same partition.
 */
int vmd_m_idx_register(vmd_obj *obj, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen)
{
    static const char method[] = "idx_register";
    vmd_idx_register_req req;
    vmd_idx_register_reply rep = {0, NULL};
    uint8_t *reply = NULL;
    size_t replylen = 0;
    idx_call c;
    vmd_idx_entry old;
    uint64_t hv;
    uint32_t i;
    int err;

    (void)out; /* the reply is stored; idx_reply returns it */
    (void)outlen;
    err = vmd_idx_register_req_decode(&req, in, inlen);
    if (err)
        return bad_request(method, err, inlen);
    err = call_begin(&c, obj, method, &req.t, req.op_id, req.items, sizeof(req.items[0]), req.count,
                     check_register_reply);
    if (!err)
        err = register_validate(&c, &req);
    if (err)
        goto done;
    rep.count = req.count;
    rep.items = calloc(req.count, sizeof(*rep.items));
    if (!rep.items) {
        err = -ENOMEM;
        goto done;
    }
    hv = vmd_vm_hash(req.vm, strlen(req.vm));
    for (i = 0; i < c.n && !err; i++) {
        old = c.e[i];
        register_one(&c, i, &req, hv, &rep.items[i]);
        err = call_account(&c, i, &old);
    }
    if (!err)
        err = vmd_idx_register_reply_encode(&rep, &reply, &replylen);
    if (!err)
        err = call_commit(&c, req.op_id, reply, replylen);
done:
    vmd_idx_register_reply_free(&rep);
    vmd_idx_register_req_free(&req);
    return call_end(&c, err, reply);
}

/* ---- vmdedup.idx_release ---- */

static int check_release_reply(const uint8_t *buf, size_t len, uint32_t count)
{
    vmd_idx_status_reply r;
    int err = vmd_idx_status_reply_decode(&r, VMD_IDX_RELEASE_STATUS_MAX, buf, len);
    if (!err && r.count != count)
        err = -EINVAL;
    vmd_idx_status_reply_free(&r);
    return err;
}

static uint8_t release_one(idx_call *c, uint32_t i, const char *vm, uint64_t hv)
{
    vmd_idx_entry *e = &c->e[i];

    if (!c->found[i])
        return VMD_IDX_NOT_FOUND;
    if (!holder_remove(e, hv))
        return VMD_IDX_NOT_HOLDER;
    if (strcmp(e->home_vm, vm) == 0)
        home_clear(e);
    if (e->vm_count == 0 && !is_popular(e)) {
        c->action[i] = DEL;
        return VMD_IDX_REMOVED;
    }
    c->action[i] = PUT;
    return VMD_IDX_RELEASED;
}

/*
 * Idempotency: a resend within the last 16 ops gets the stored reply. An
 * older resend finds the VM no longer a holder and changes nothing
 * (NOT_HOLDER or NOT_FOUND), except for an entry whose holder list overflowed,
 * where the count is an estimate anyway.
 */
int vmd_m_idx_release(vmd_obj *obj, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen)
{
    static const char method[] = "idx_release";
    vmd_idx_release_req req;
    vmd_idx_status_reply rep = {0, NULL};
    uint8_t *reply = NULL;
    size_t replylen = 0;
    idx_call c;
    vmd_idx_entry old;
    uint64_t hv;
    uint32_t i;
    int err;

    (void)out; /* the reply is stored; idx_reply returns it */
    (void)outlen;
    err = vmd_idx_release_req_decode(&req, in, inlen);
    if (err)
        return bad_request(method, err, inlen);
    err = call_begin(&c, obj, method, &req.t, req.op_id, req.fps, sizeof(req.fps[0]), req.count,
                     check_release_reply);
    if (err)
        goto done;
    rep.count = req.count;
    rep.status = calloc(req.count, 1);
    if (!rep.status) {
        err = -ENOMEM;
        goto done;
    }
    hv = vmd_vm_hash(req.vm, strlen(req.vm));
    for (i = 0; i < c.n && !err; i++) {
        old = c.e[i];
        rep.status[i] = release_one(&c, i, req.vm, hv);
        if (c.action[i] != KEEP)
            err = call_account(&c, i, &old);
    }
    if (!err)
        err = vmd_idx_status_reply_encode(&rep, VMD_IDX_RELEASE_STATUS_MAX, &reply, &replylen);
    if (!err)
        err = call_commit(&c, req.op_id, reply, replylen);
done:
    vmd_idx_status_reply_free(&rep);
    vmd_idx_release_req_free(&req);
    return call_end(&c, err, reply);
}

/* ---- vmdedup.idx_ref ---- */

static int check_ref_reply(const uint8_t *buf, size_t len, uint32_t count)
{
    vmd_idx_ref_reply r;
    int err = vmd_idx_ref_reply_decode(&r, buf, len);
    if (!err && r.count != count)
        err = -EINVAL;
    vmd_idx_ref_reply_free(&r);
    return err;
}

/* Every fp exists and is POPULAR (-ENOENT), and no count leaves [0, 2^64) (-ERANGE). */
static int ref_validate(const idx_call *c, const vmd_idx_ref_req *req)
{
    uint32_t i;

    for (i = 0; i < c->n; i++) {
        const vmd_idx_entry *e = &c->e[i];
        int32_t d = req->items[i].delta;
        if (!c->found[i] || !is_popular(e))
            return -ENOENT;
        if (d < 0 && (uint64_t)(-(int64_t)d) > e->pop_refs)
            return -ERANGE;
        if (d > 0 && e->pop_refs > UINT64_MAX - (uint64_t)d)
            return -ERANGE;
    }
    return 0;
}

/*
 * Idempotency: ref is not idempotent by itself (a delta applied twice counts
 * twice), so it relies on the op id: a resend within the last 16 ops of the
 * partition returns the stored reply and changes nothing. Clients resend only
 * on a timeout or connection fault, within seconds of the original.
 */
int vmd_m_idx_ref(vmd_obj *obj, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen)
{
    static const char method[] = "idx_ref";
    vmd_idx_ref_req req;
    vmd_idx_ref_reply rep = {0, NULL};
    uint8_t *reply = NULL;
    size_t replylen = 0;
    idx_call c;
    vmd_idx_entry old;
    uint32_t i;
    int err;

    (void)out; /* the reply is stored; idx_reply returns it */
    (void)outlen;
    err = vmd_idx_ref_req_decode(&req, in, inlen);
    if (err)
        return bad_request(method, err, inlen);
    err = call_begin(&c, obj, method, &req.t, req.op_id, req.items, sizeof(req.items[0]), req.count,
                     check_ref_reply);
    if (!err)
        err = ref_validate(&c, &req);
    if (err)
        goto done;
    rep.count = req.count;
    rep.pop_refs = calloc(req.count, sizeof(uint64_t));
    if (!rep.pop_refs) {
        err = -ENOMEM;
        goto done;
    }
    for (i = 0; i < c.n && !err; i++) {
        old = c.e[i];
        c.e[i].pop_refs += (uint64_t)(int64_t)req.items[i].delta;
        c.action[i] = PUT;
        rep.pop_refs[i] = c.e[i].pop_refs;
        err = call_account(&c, i, &old);
    }
    if (!err)
        err = vmd_idx_ref_reply_encode(&rep, &reply, &replylen);
    if (!err)
        err = call_commit(&c, req.op_id, reply, replylen);
done:
    vmd_idx_ref_reply_free(&rep);
    vmd_idx_ref_req_free(&req);
    return call_end(&c, err, reply);
}

/* ---- vmdedup.idx_mark_popular ---- */

static int check_mark_reply(const uint8_t *buf, size_t len, uint32_t count)
{
    vmd_idx_status_reply r;
    int err = vmd_idx_status_reply_decode(&r, VMD_IDX_MARK_STATUS_MAX, buf, len);
    if (!err && r.count != count)
        err = -EINVAL;
    vmd_idx_status_reply_free(&r);
    return err;
}

static int loc_equal(const vmd_loc *a, const vmd_loc *b)
{
    return a->id == b->id && a->slot == b->slot;
}

/* Every fp exists (-ENOENT); a referenced popular copy cannot move (-EBUSY). */
static int mark_validate(const idx_call *c, const vmd_idx_mark_req *req)
{
    uint32_t i;

    for (i = 0; i < c->n; i++) {
        const vmd_idx_entry *e = &c->e[i];
        if (!c->found[i])
            return -ENOENT;
        if (is_popular(e) && !loc_equal(&e->pop, &req->items[i].pop) && e->pop_refs != 0)
            return -EBUSY;
    }
    return 0;
}

static uint8_t mark_one(idx_call *c, uint32_t i, const vmd_loc *pop)
{
    vmd_idx_entry *e = &c->e[i];
    uint8_t status = VMD_IDX_MARKED;

    if (is_popular(e)) {
        if (loc_equal(&e->pop, pop))
            return VMD_IDX_ALREADY;
        status = VMD_IDX_MOVED;
    }
    e->flags |= VMD_IDX_ENTRY_POPULAR;
    e->pop = *pop;
    c->action[i] = PUT;
    return status;
}

/*
 * Idempotency: marking is idempotent by construction (a resend finds the
 * entries popular at the same location: ALREADY, nothing changes); the op id
 * also returns the original reply (MARKED / MOVED) to a resend.
 */
int vmd_m_idx_mark_popular(vmd_obj *obj, const uint8_t *in, size_t inlen, uint8_t **out,
                           size_t *outlen)
{
    static const char method[] = "idx_mark_popular";
    vmd_idx_mark_req req;
    vmd_idx_status_reply rep = {0, NULL};
    uint8_t *reply = NULL;
    size_t replylen = 0;
    idx_call c;
    vmd_idx_entry old;
    uint32_t i;
    int err;

    (void)out; /* the reply is stored; idx_reply returns it */
    (void)outlen;
    err = vmd_idx_mark_req_decode(&req, in, inlen);
    if (err)
        return bad_request(method, err, inlen);
    err = call_begin(&c, obj, method, &req.t, req.op_id, req.items, sizeof(req.items[0]), req.count,
                     check_mark_reply);
    if (!err)
        err = mark_validate(&c, &req);
    if (err)
        goto done;
    rep.count = req.count;
    rep.status = calloc(req.count, 1);
    if (!rep.status) {
        err = -ENOMEM;
        goto done;
    }
    for (i = 0; i < c.n && !err; i++) {
        old = c.e[i];
        rep.status[i] = mark_one(&c, i, &req.items[i].pop);
        if (c.action[i] != KEEP)
            err = call_account(&c, i, &old);
    }
    if (!err)
        err = vmd_idx_status_reply_encode(&rep, VMD_IDX_MARK_STATUS_MAX, &reply, &replylen);
    if (!err)
        err = call_commit(&c, req.op_id, reply, replylen);
done:
    vmd_idx_status_reply_free(&rep);
    vmd_idx_mark_req_free(&req);
    return call_end(&c, err, reply);
}

/* ---- vmdedup.idx_unmark_popular ---- */

static int check_unmark_reply(const uint8_t *buf, size_t len, uint32_t count)
{
    vmd_idx_status_reply r;
    int err = vmd_idx_status_reply_decode(&r, VMD_IDX_UNMARK_STATUS_MAX, buf, len);
    if (!err && r.count != count)
        err = -EINVAL;
    vmd_idx_status_reply_free(&r);
    return err;
}

/* Every fp exists (-ENOENT); a popular one has no references left (-EBUSY). */
static int unmark_validate(const idx_call *c)
{
    uint32_t i;

    for (i = 0; i < c->n; i++) {
        if (!c->found[i])
            return -ENOENT;
        if (is_popular(&c->e[i]) && c->e[i].pop_refs != 0)
            return -EBUSY;
    }
    return 0;
}

static uint8_t unmark_one(idx_call *c, uint32_t i)
{
    vmd_idx_entry *e = &c->e[i];

    if (!is_popular(e))
        return VMD_IDX_NOT_POPULAR;
    e->flags &= (uint8_t)~VMD_IDX_ENTRY_POPULAR;
    memset(&e->pop, 0, sizeof(e->pop));
    if (e->vm_count == 0) {
        c->action[i] = DEL;
        return VMD_IDX_UNMARK_REMOVED;
    }
    c->action[i] = PUT;
    return VMD_IDX_UNMARKED;
}

/*
 * Idempotency: a resend within the last 16 ops gets the stored reply. An
 * older resend finds the entries not popular (NOT_POPULAR, nothing changes)
 * or deleted (-ENOENT, nothing changes).
 */
int vmd_m_idx_unmark_popular(vmd_obj *obj, const uint8_t *in, size_t inlen, uint8_t **out,
                             size_t *outlen)
{
    static const char method[] = "idx_unmark_popular";
    vmd_idx_unmark_req req;
    vmd_idx_status_reply rep = {0, NULL};
    uint8_t *reply = NULL;
    size_t replylen = 0;
    idx_call c;
    vmd_idx_entry old;
    uint32_t i;
    int err;

    (void)out; /* the reply is stored; idx_reply returns it */
    (void)outlen;
    err = vmd_idx_unmark_req_decode(&req, in, inlen);
    if (err)
        return bad_request(method, err, inlen);
    err = call_begin(&c, obj, method, &req.t, req.op_id, req.fps, sizeof(req.fps[0]), req.count,
                     check_unmark_reply);
    if (!err)
        err = unmark_validate(&c);
    if (err)
        goto done;
    rep.count = req.count;
    rep.status = calloc(req.count, 1);
    if (!rep.status) {
        err = -ENOMEM;
        goto done;
    }
    for (i = 0; i < c.n && !err; i++) {
        old = c.e[i];
        rep.status[i] = unmark_one(&c, i);
        if (c.action[i] != KEEP)
            err = call_account(&c, i, &old);
    }
    if (!err)
        err = vmd_idx_status_reply_encode(&rep, VMD_IDX_UNMARK_STATUS_MAX, &reply, &replylen);
    if (!err)
        err = call_commit(&c, req.op_id, reply, replylen);
done:
    vmd_idx_status_reply_free(&rep);
    vmd_idx_unmark_req_free(&req);
    return call_end(&c, err, reply);
}

/* ---- vmdedup.idx_top: a bounded heap over one scan of the partition ---- */

/*
 * The heap keeps the best `cap` entries seen so far (cap = max + 1: one more
 * than the page, to know whether more follow). Its root is the worst of them
 * in top order, so a better entry replaces the root: O(N log K) for N
 * entries and a page of K.
 */
typedef struct top_scan {
    const char *method;
    const vmd_idx_top_req *req;
    vmd_idx_top_item *heap;
    uint32_t size, cap;
    char last[VMD_FP_HEX_SIZE]; /* last key seen, where the next page starts */
    int done;                   /* reached the ~op. keys */
} top_scan;

static int top_before(const vmd_idx_top_item *a, const vmd_idx_top_item *b)
{
    return vmd_idx_top_order(a->e.vm_count, &a->fp, b->e.vm_count, &b->fp) < 0;
}

static void heap_swap(vmd_idx_top_item *a, vmd_idx_top_item *b)
{
    vmd_idx_top_item t = *a;
    *a = *b;
    *b = t;
}

static void heap_sift_up(top_scan *s, uint32_t i)
{
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!top_before(&s->heap[parent], &s->heap[i]))
            break;
        heap_swap(&s->heap[parent], &s->heap[i]);
        i = parent;
    }
}

static void heap_sift_down(top_scan *s, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, worst = i;
        if (l < s->size && top_before(&s->heap[worst], &s->heap[l]))
            worst = l;
        if (r < s->size && top_before(&s->heap[worst], &s->heap[r]))
            worst = r;
        if (worst == i)
            return;
        heap_swap(&s->heap[i], &s->heap[worst]);
        i = worst;
    }
}

static void heap_offer(top_scan *s, const vmd_idx_top_item *it)
{
    if (s->size < s->cap) {
        s->heap[s->size] = *it;
        heap_sift_up(s, s->size++);
    } else if (top_before(it, &s->heap[0])) {
        s->heap[0] = *it;
        heap_sift_down(s, 0);
    }
}

/* An entry belongs on the page: popular enough and strictly after the cursor. */
static int top_wanted(const vmd_idx_top_req *req, const vmd_idx_top_item *it)
{
    if (it->e.vm_count < req->min_vms)
        return 0;
    return !req->has_cursor ||
           vmd_idx_top_order(req->cursor_vm_count, &req->cursor_fp, it->e.vm_count, &it->fp) < 0;
}

/* omap_page callback: one key of the partition. */
static int top_visit(void *arg, const char *key, const uint8_t *val, size_t len)
{
    top_scan *s = arg;
    vmd_idx_top_item it;

    if (key[0] == '~') {
        s->done = 1; /* ~op.* keys sort after every entry */
        return WALK_STOP;
    }
    if (vmd_fp_from_hex(&it.fp, key) != 0 ||
        vmd_fp_partition(&it.fp, s->req->t.bits) != s->req->t.partition) {
        vmd_cls_log(0, "%s: key '%.80s' is not an entry of this partition", s->method, key);
        return -EIO;
    }
    if (vmd_idx_entry_decode(&it.e, val, len) != 0) {
        vmd_cls_log(0, "%s: corrupt index entry %s (%zu bytes)", s->method, key, len);
        return -EIO;
    }
    memcpy(s->last, key, VMD_FP_HEX_SIZE);
    it.e.nvms = 0; /* the reply carries no VM hashes */
    if (top_wanted(s->req, &it))
        heap_offer(s, &it);
    return 0;
}

static int top_cmp(const void *a, const void *b)
{
    const vmd_idx_top_item *x = a, *y = b;
    return vmd_idx_top_order(x->e.vm_count, &x->fp, y->e.vm_count, &y->fp);
}

/* Walks every entry, a page of at most VMD_OMAP_PAGE keys per omap read. */
static int top_scan_all(vmd_obj *obj, top_scan *s)
{
    int more = 1, err = 0;

    s->last[0] = 0;
    while (more && !s->done && !err) {
        more = 0;
        err = obj->ops->omap_page(obj->h, s->last, VMD_OMAP_PAGE, top_visit, s, &more);
    }
    if (err == WALK_STOP)
        err = 0;
    if (err && err != -EIO && err != -ENOENT) /* -ENOENT: no object, no entries */
        vmd_cls_log(0, "%s: reading the partition: error %d", s->method, err);
    return err;
}

/* Reads only; no idempotency concern. */
int vmd_m_idx_top(vmd_obj *obj, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen)
{
    static const char method[] = "idx_top";
    vmd_idx_top_req req;
    vmd_idx_top_reply rep = {0, 0, NULL};
    vmd_idx_header h;
    top_scan s;
    int fresh, err;

    err = vmd_idx_top_req_decode(&req, in, inlen);
    if (err)
        return bad_request(method, err, inlen);
    err = header_load(obj, method, &req.t, 0, &h, &fresh);
    if (err)
        return err;
    memset(&s, 0, sizeof(s));
    s.method = method;
    s.req = &req;
    s.cap = req.max + 1;
    s.heap = malloc(s.cap * sizeof(*s.heap));
    if (!s.heap)
        return -ENOMEM;
    err = top_scan_all(obj, &s);
    if (!err) {
        qsort(s.heap, s.size, sizeof(*s.heap), top_cmp);
        rep.count = s.size < req.max ? s.size : req.max;
        rep.more = s.size > req.max;
        rep.items = s.heap;
        err = vmd_idx_top_reply_encode(&rep, out, outlen);
    }
    free(s.heap);
    return err;
}

/* ---- vmdedup.idx_reply ---- */

/*
 * Returns the stored reply of a recent mutating call, byte for byte: the
 * same for the original and for every resend. -ENOENT when the op is not
 * among the partition's last 16 (evicted, or it never succeeded). Reads only.
 */
int vmd_m_idx_reply(vmd_obj *obj, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen)
{
    static const char method[] = "idx_reply";
    vmd_idx_reply_req req;
    vmd_idx_header h;
    char key[VMD_IDX_OP_KEY_SIZE];
    int fresh, err;

    err = vmd_idx_reply_req_decode(&req, in, inlen);
    if (err)
        return bad_request(method, err, inlen);
    err = header_load(obj, method, &req.t, 0, &h, &fresh);
    if (err)
        return err;
    if (op_find(&h, req.op_id) < 0)
        return -ENOENT;
    vmd_idx_op_key(req.op_id, key);
    err = obj->ops->omap_get(obj->h, key, out, outlen);
    if (err) {
        vmd_cls_log(0, "%s: op %s is recorded but its reply is unreadable (error %d)", method, key,
                    err);
        return -EIO;
    }
    return 0;
}

/* ---- vmdedup.idx_stats ---- */

/* Reads only; no idempotency concern. */
int vmd_m_idx_stats(vmd_obj *obj, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen)
{
    static const char method[] = "idx_stats";
    vmd_idx_stats_req req;
    vmd_idx_header h;
    int fresh, err;

    err = vmd_idx_stats_req_decode(&req, in, inlen);
    if (err)
        return bad_request(method, err, inlen);
    err = header_load(obj, method, &req.t, 0, &h, &fresh);
    if (err)
        return err;
    return vmd_idx_stats_reply_encode(&h.c, out, outlen);
}
