/*
 * index_popular.c - the common data set's side of an index partition:
 * idx_mark_popular and idx_unmark_popular (record or forget where a popular
 * copy lives), idx_top (the most popular entries, a page at a time),
 * idx_stats (the counters) and idx_reply (the stored reply of a mutating
 * call).
 *
 * Marking and unmarking are one vmd_idx_mutation in two directions, run by
 * the driver of index_partition.c (which describes the partition object):
 * both require every fp to exist (-ENOENT) and refuse to touch a popular
 * copy that still has references (-EBUSY) unless marking leaves it where it
 * is. The read methods change nothing and have no idempotency concern.
 */
#include "methods/index_methods.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "methods/cls_methods.h"
#include "methods/index_partition.h"

/* Stops an omap walk without an error. */
#define WALK_STOP 1

/* ---- vmdedup.idx_mark_popular and idx_unmark_popular ---- */

enum { MARK = 1, UNMARK = 0 };

static int loc_equal(const vmd_loc *a, const vmd_loc *b)
{
    return a->id == b->id && a->slot == b->slot;
}

/* Where item i asks for the popular copy (marking only). */
static const vmd_loc *mark_pop(const vmd_idx_call *c, uint32_t i)
{
    return &((const vmd_idx_mark_item *)vmd_idx_call_item(c, i))->pop;
}

/* Every fp exists (-ENOENT); a referenced popular copy neither moves nor goes (-EBUSY). */
static int popular_validate(const vmd_idx_call *c)
{
    uint32_t i;

    for (i = 0; i < c->n; i++) {
        const vmd_idx_entry *e = &c->e[i];
        if (!c->found[i])
            return -ENOENT;
        if (vmd_idx_is_popular(e) && e->pop_refs != 0 &&
            (c->m->variant == UNMARK || !loc_equal(&e->pop, mark_pop(c, i))))
            return -EBUSY;
    }
    return 0;
}

/* Marks entry e popular at pop: MARKED, MOVED (from another copy) or ALREADY (no change). */
static uint8_t mark_entry(vmd_idx_entry *e, const vmd_loc *pop, uint8_t *action)
{
    uint8_t status = VMD_IDX_MARKED;

    if (vmd_idx_is_popular(e)) {
        if (loc_equal(&e->pop, pop))
            return VMD_IDX_ALREADY;
        status = VMD_IDX_MOVED;
    }
    e->flags |= VMD_IDX_ENTRY_POPULAR;
    e->pop = *pop;
    *action = VMD_IDX_PUT;
    return status;
}

/* Forgets e's popular copy: UNMARKED, UNMARK_REMOVED (nobody holds it) or NOT_POPULAR. */
static uint8_t unmark_entry(vmd_idx_entry *e, uint8_t *action)
{
    if (!vmd_idx_is_popular(e))
        return VMD_IDX_NOT_POPULAR;
    e->flags &= (uint8_t)~VMD_IDX_ENTRY_POPULAR;
    memset(&e->pop, 0, sizeof(e->pop));
    *action = e->vm_count == 0 ? VMD_IDX_DEL : VMD_IDX_PUT;
    return e->vm_count == 0 ? VMD_IDX_UNMARK_REMOVED : VMD_IDX_UNMARKED;
}

static int popular_one(vmd_idx_call *c, uint32_t i, void *out)
{
    vmd_idx_entry old = c->e[i];
    uint8_t *status = out;

    if (c->m->variant == MARK)
        *status = mark_entry(&c->e[i], mark_pop(c, i), &c->action[i]);
    else
        *status = unmark_entry(&c->e[i], &c->action[i]);
    return c->action[i] == VMD_IDX_KEEP ? 0 : vmd_idx_call_account(c, i, &old);
}

VMD_IDX_REQUEST(mark, mark_req, items, NULL);
VMD_IDX_REQUEST(unmark, unmark_req, fps, NULL);

/* One mutation in two directions: method, direction, request, reply, validate, apply. */
static const vmd_idx_mutation idx_mark = {
    "idx_mark_popular", MARK,       &mark_request, VMD_IDX_REPLY_STATUS, VMD_IDX_MARK_STATUS_MAX,
    popular_validate,   popular_one};

static const vmd_idx_mutation idx_unmark = {
    "idx_unmark_popular",      UNMARK,           &unmark_request, VMD_IDX_REPLY_STATUS,
    VMD_IDX_UNMARK_STATUS_MAX, popular_validate, popular_one};

/*
 * Idempotency: marking is idempotent by construction (a resend finds the
 * entries popular at the same location: ALREADY, nothing changes); the op id
 * also returns the original reply (MARKED / MOVED) to a resend.
 */
int vmd_m_idx_mark_popular(vmd_obj *obj, const uint8_t *in, size_t inlen, uint8_t **out,
                           size_t *outlen)
{
    return vmd_idx_mutate(obj, &idx_mark, in, inlen, out, outlen);
}

/*
 * Idempotency: a resend within the last 16 ops gets the stored reply. An
 * older resend finds the entries not popular (NOT_POPULAR, nothing changes)
 * or deleted (-ENOENT, nothing changes).
 */
int vmd_m_idx_unmark_popular(vmd_obj *obj, const uint8_t *in, size_t inlen, uint8_t **out,
                             size_t *outlen)
{
    return vmd_idx_mutate(obj, &idx_unmark, in, inlen, out, outlen);
}

/* ---- the read methods ---- */

/*
 * Starts a read method: err is what decoding its request returned; then the
 * header of partition t into *h (-ENOENT when the partition has none).
 */
static int read_begin(vmd_obj *obj, const char *method, int err, size_t inlen,
                      const vmd_idx_target *t, vmd_idx_header *h)
{
    int fresh;

    if (err)
        return vmd_idx_bad_request(method, err, inlen);
    return vmd_idx_header_load(obj, method, t, 0, h, &fresh);
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
    int err;

    err = read_begin(obj, method, vmd_idx_top_req_decode(&req, in, inlen), inlen, &req.t, &h);
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
    int err;

    err = read_begin(obj, method, vmd_idx_reply_req_decode(&req, in, inlen), inlen, &req.t, &h);
    if (err)
        return err;
    if (vmd_idx_op_find(&h, req.op_id) < 0)
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
    vmd_idx_stats_req req;
    vmd_idx_header h;
    int err;

    err =
        read_begin(obj, "idx_stats", vmd_idx_stats_req_decode(&req, in, inlen), inlen, &req.t, &h);
    return err ? err : vmd_idx_stats_reply_encode(&h.c, out, outlen);
}
