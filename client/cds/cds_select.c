/*
 * cds_select.c - a k-way merge of the partitions' idx_top pages into one global order.
 *
 * State per partition p (all partitions' buffers in one array, `page`
 * entries each):
 *
 *     buf[p][head .. n)   entries received and not yet yielded, in order
 *     last[p]             the last entry received (the cursor of the next page)
 *     more[p]             the class said entries remain after last[p]
 *
 * A binary heap holds the partitions with a buffered entry, keyed by that
 * entry (vm_count descending, then fp ascending, as vmd_idx_top_order).
 * vmd_sel_next() takes the top partition's head; when that empties a
 * partition that has more, it refills it before the partition may compete
 * again (its next entry may beat every other head), and tops up in the same
 * batch every partition whose buffer is down to a quarter, so that the
 * round trips are shared. Refilled partitions keep their place in the heap:
 * new entries go to the tail, the head does not change.
 *
 * Every page is checked: its entries must be strictly after the cursor and
 * in order, and honour min_vms (-EPROTO otherwise), so a misbehaving
 * partition cannot make the merge yield entries out of order or twice.
 *
 * Home VM ids are interned (each id stored once, entries carry a u32), so a
 * buffered entry is 80 bytes whatever the VM id's length.
 */
#include "cds/cds_select.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/grow.h"

#define SEL_MIN_PAGE 4

typedef struct vm_names {
    char (*names)[VMD_VM_ID_MAX + 1];
    uint32_t n;
    size_t cap;
    uint32_t *slots; /* name index + 1, 0 = empty; open addressing */
    uint32_t nslots;
} vm_names;

struct vmd_sel {
    size_t nparts;
    uint32_t min_vms, page;
    vmd_sel_item *bufs; /* nparts * page */
    uint32_t *head, *n;
    uint8_t *more, *has_last;
    vmd_sel_item *last;
    uint32_t *heap; /* partitions with head < n */
    size_t hn;
    vmd_sel_fetch *fetch; /* one per partition at most, reused */
    vmd_sel_fetch_fn fn;
    void *arg;
    uint64_t fetches;
    vm_names vms;
    int started;
};

/* ---- interned VM ids ---- */

static int names_grow_slots(vm_names *v)
{
    uint32_t ns = v->nslots ? v->nslots * 2 : 64, i, j;
    uint32_t *slots = calloc(ns, sizeof(*slots));

    if (!slots)
        return -ENOMEM;
    for (i = 0; i < v->n; i++) {
        j = (uint32_t)vmd_vm_hash(v->names[i], strlen(v->names[i])) & (ns - 1);
        while (slots[j])
            j = (j + 1) & (ns - 1);
        slots[j] = i + 1;
    }
    free(v->slots);
    v->slots = slots;
    v->nslots = ns;
    return 0;
}

/* The index of vm (len bytes, already a valid id) in v, adding it if new. */
static int names_intern(vm_names *v, const char *vm, uint32_t *out)
{
    size_t len = strlen(vm);
    uint32_t j;

    if ((v->n + 1) * 2 > v->nslots && names_grow_slots(v))
        return -ENOMEM;
    j = (uint32_t)vmd_vm_hash(vm, len) & (v->nslots - 1);
    for (; v->slots[j]; j = (j + 1) & (v->nslots - 1))
        if (strcmp(v->names[v->slots[j] - 1], vm) == 0) {
            *out = v->slots[j] - 1;
            return 0;
        }
    if (vmd_grow((void **)&v->names, &v->cap, (size_t)v->n + 1, 16, sizeof(*v->names)))
        return -ENOMEM;
    memcpy(v->names[v->n], vm, len + 1);
    v->slots[j] = v->n + 1;
    *out = v->n++;
    return 0;
}

/* ---- heap of partitions by their head entry ---- */

static const vmd_sel_item *head_of(const vmd_sel *m, uint32_t p)
{
    return &m->bufs[(size_t)p * m->page + m->head[p]];
}

static int before(const vmd_sel *m, uint32_t a, uint32_t b)
{
    const vmd_sel_item *x = head_of(m, a), *y = head_of(m, b);
    return vmd_idx_top_order(x->vm_count, &x->fp, y->vm_count, &y->fp) < 0;
}

static void sift_down(vmd_sel *m, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, best = i;
        uint32_t t;
        if (l < m->hn && before(m, m->heap[l], m->heap[best]))
            best = l;
        if (r < m->hn && before(m, m->heap[r], m->heap[best]))
            best = r;
        if (best == i)
            return;
        t = m->heap[i];
        m->heap[i] = m->heap[best];
        m->heap[best] = t;
        i = best;
    }
}

static void sift_up(vmd_sel *m, size_t i)
{
    while (i > 0) {
        size_t up = (i - 1) / 2;
        uint32_t t;
        if (!before(m, m->heap[i], m->heap[up]))
            return;
        t = m->heap[i];
        m->heap[i] = m->heap[up];
        m->heap[up] = t;
        i = up;
    }
}

static void heap_push(vmd_sel *m, uint32_t p)
{
    m->heap[m->hn] = p;
    sift_up(m, m->hn++);
}

static void heap_pop(vmd_sel *m)
{
    m->heap[0] = m->heap[--m->hn];
    if (m->hn)
        sift_down(m, 0);
}

/* ---- pages ---- */

int vmd_sel_new(vmd_sel **out, size_t nparts, uint32_t min_vms, size_t mem, vmd_sel_fetch_fn fn,
                void *arg)
{
    vmd_sel *m;
    size_t page;

    *out = NULL;
    if (nparts < 1 || nparts > ((size_t)1 << VMD_IDX_MAX_BITS) || !fn)
        return -EINVAL;
    page = mem / (nparts * sizeof(vmd_sel_item));
    if (page < SEL_MIN_PAGE)
        page = SEL_MIN_PAGE;
    if (page > VMD_IDX_TOP_MAX)
        page = VMD_IDX_TOP_MAX;
    m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->nparts = nparts;
    m->min_vms = min_vms;
    m->page = (uint32_t)page;
    m->fn = fn;
    m->arg = arg;
    m->bufs = malloc(nparts * page * sizeof(*m->bufs));
    m->head = calloc(nparts, sizeof(*m->head));
    m->n = calloc(nparts, sizeof(*m->n));
    m->more = malloc(nparts);
    m->has_last = calloc(nparts, 1);
    m->last = calloc(nparts, sizeof(*m->last));
    m->heap = malloc(nparts * sizeof(*m->heap));
    m->fetch = calloc(nparts, sizeof(*m->fetch));
    if (!m->bufs || !m->head || !m->n || !m->more || !m->has_last || !m->last || !m->heap ||
        !m->fetch) {
        vmd_sel_free(m);
        return -ENOMEM;
    }
    memset(m->more, 1, nparts);
    *out = m;
    return 0;
}

/* Appends a page's entries to partition p's buffer after checking their order. */
static int take_page(vmd_sel *m, uint32_t p, const vmd_idx_top_reply *r, uint32_t max)
{
    vmd_sel_item *buf = &m->bufs[(size_t)p * m->page];
    uint32_t i;
    int err;

    if (r->count > max)
        return -EPROTO;
    for (i = 0; i < r->count; i++) {
        const vmd_idx_top_item *t = &r->items[i];
        vmd_sel_item *e = &buf[m->n[p]];

        if (t->e.vm_count < m->min_vms ||
            (m->has_last[p] &&
             vmd_idx_top_order(m->last[p].vm_count, &m->last[p].fp, t->e.vm_count, &t->fp) >= 0))
            return -EPROTO;
        e->fp = t->fp;
        e->vm_count = t->e.vm_count;
        e->chunk_len = t->e.chunk_len;
        e->flags = t->e.flags;
        e->home = t->e.home;
        e->pop = t->e.pop;
        e->vm = VMD_SEL_NO_VM;
        if (t->e.home_vm[0]) {
            err = names_intern(&m->vms, t->e.home_vm, &e->vm);
            if (err)
                return err;
        }
        m->last[p] = *e;
        m->has_last[p] = 1;
        m->n[p]++;
    }
    m->more[p] = r->more && r->count > 0;
    return 0;
}

/* Moves partition p's unread entries to the front of its buffer. */
static void compact(vmd_sel *m, uint32_t p)
{
    vmd_sel_item *buf = &m->bufs[(size_t)p * m->page];

    if (m->head[p] == 0)
        return;
    memmove(buf, buf + m->head[p], (m->n[p] - m->head[p]) * sizeof(*buf));
    m->n[p] -= m->head[p];
    m->head[p] = 0;
}

/*
 * Fetches pages for partition `must` (when not UINT32_MAX) and every other
 * partition with more entries whose buffer is down to a quarter (all of
 * them on the first call).
 */
static int refill(vmd_sel *m, uint32_t must)
{
    size_t k = 0, i;
    uint32_t p;
    int err = 0;

    for (p = 0; p < m->nparts; p++) {
        vmd_sel_fetch *f;
        if (!m->more[p] || (p != must && m->n[p] - m->head[p] > m->page / 4))
            continue;
        compact(m, p);
        f = &m->fetch[k++];
        memset(f, 0, sizeof(*f));
        f->partition = p;
        f->min_vms = m->min_vms;
        f->max = m->page - m->n[p];
        f->has_cursor = m->has_last[p];
        f->cursor_vm_count = m->last[p].vm_count;
        f->cursor_fp = m->last[p].fp;
    }
    if (k == 0)
        return 0;
    m->fetches += k;
    err = m->fn(m->arg, m->fetch, k);
    for (i = 0; i < k; i++) {
        vmd_sel_fetch *f = &m->fetch[i];
        if (!err && f->rc)
            err = f->rc;
        if (!err)
            err = take_page(m, f->partition, &f->reply, f->max);
        vmd_idx_top_reply_free(&f->reply);
    }
    return err;
}

int vmd_sel_next(vmd_sel *m, vmd_sel_item *out)
{
    uint32_t p;
    int err;

    if (!m->started) {
        m->started = 1;
        err = refill(m, UINT32_MAX);
        if (err)
            return err;
        for (p = 0; p < m->nparts; p++)
            if (m->head[p] < m->n[p])
                heap_push(m, p);
    }
    if (m->hn == 0)
        return 0;
    p = m->heap[0];
    *out = *head_of(m, p);
    m->head[p]++;
    if (m->head[p] < m->n[p]) {
        sift_down(m, 0);
        return 1;
    }
    heap_pop(m);
    if (m->more[p]) {
        err = refill(m, p);
        if (err)
            return err;
        if (m->head[p] < m->n[p])
            heap_push(m, p);
    }
    return 1;
}

const char *vmd_sel_vm(const vmd_sel *m, uint32_t vm)
{
    return vm < m->vms.n ? m->vms.names[vm] : "";
}

uint32_t vmd_sel_page(const vmd_sel *m)
{
    return m->page;
}

uint64_t vmd_sel_fetches(const vmd_sel *m)
{
    return m->fetches;
}

void vmd_sel_free(vmd_sel *m)
{
    if (!m)
        return;
    free(m->bufs);
    free(m->head);
    free(m->n);
    free(m->more);
    free(m->has_last);
    free(m->last);
    free(m->heap);
    free(m->fetch);
    free(m->vms.names);
    free(m->vms.slots);
    free(m);
}
