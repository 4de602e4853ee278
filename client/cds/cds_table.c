/*
 * cds_table.c - the common data set as a lock-free hash table shared by backup workers.
 *
 * The table is a liburcu cds_lfht of fixed size: no automatic resize (no
 * resize worker thread, no memory that grows behind the budget's back),
 * built by one thread, then only read. Its memory is three allocations, all
 * counted by vmd_cds_mem():
 *
 *     vmd_cds      the handle
 *     nodes[cap]   64 bytes each:  | lfht node (16) | fp (32) | ctr (8) | slot (4) | raw_len (4) |
 *     buckets      allocated by cds_lfht_new: 16 bytes x nbuckets, nbuckets the
 *                  smallest power of two >= cap / 2 (load factor 1..2)
 *
 * The hash of a fingerprint is its bytes 8..15: SHA-256 output is already
 * uniform, so nothing is gained by hashing it again (bytes 0..1 are skipped
 * because they also choose the index partition).
 *
 * RCU flavour "memb" (liburcu-memb): readers are cheap (no signal, no
 * memory barrier on the read side with sys_membarrier) and only need to be
 * registered, which is what vmd_cds_thread_online() does. Registration is
 * counted per thread so that online/offline pairs nest (a backup worker and
 * the table's own load/free may both register the same thread).
 */
#include "cds/cds.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <urcu/urcu-memb.h>

#include <urcu/rculfhash.h>

typedef struct cds_node {
    struct cds_lfht_node node;
    uint8_t fp[32];
    uint64_t ctr;
    uint32_t slot;
    uint32_t raw_len;
} cds_node;

_Static_assert(sizeof(cds_node) == VMD_CDS_NODE_SIZE, "cds_node is 64 bytes");
_Static_assert(sizeof(struct cds_lfht_node) == VMD_CDS_BUCKET_SIZE, "lfht bucket is 16 bytes");

struct vmd_cds {
    struct cds_lfht *ht; /* NULL for an empty table */
    cds_node *nodes;
    uint64_t cap, count, total;
    uint64_t nbuckets;
    uint64_t version;
};

static __thread unsigned online_depth;

void vmd_cds_thread_online(void)
{
    if (online_depth++ == 0)
        urcu_memb_register_thread();
}

void vmd_cds_thread_offline(void)
{
    if (online_depth && --online_depth == 0)
        urcu_memb_unregister_thread();
}

/* Buckets for cap entries: the smallest power of two >= cap / 2 (1 at least). */
static uint64_t buckets_for(uint64_t cap)
{
    uint64_t n = 1;

    while (n * 2 < cap)
        n *= 2;
    return n;
}

uint64_t vmd_cds_mem_for(uint64_t n)
{
    if (n == 0) /* no hash table at all, only the handle */
        return sizeof(struct vmd_cds);
    return VMD_CDS_TABLE_OVERHEAD + n * VMD_CDS_NODE_SIZE + buckets_for(n) * VMD_CDS_BUCKET_SIZE;
}

uint64_t vmd_cds_fit(uint64_t budget)
{
    uint64_t lo = 0, hi = VMD_CDS_MAX_ENTRIES;

    /* mem_for is non-decreasing: the largest n with mem_for(n) <= budget */
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo + 1) / 2;
        if (vmd_cds_mem_for(mid) <= budget)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

int vmd_cds_new(vmd_cds **out, uint64_t version, uint64_t capacity)
{
    vmd_cds *c;

    *out = NULL;
    if (capacity > VMD_CDS_MAX_ENTRIES)
        return -EINVAL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->version = version;
    c->cap = capacity;
    if (capacity) {
        c->nbuckets = buckets_for(capacity);
        c->nodes = malloc(capacity * sizeof(cds_node));
        c->ht =
            cds_lfht_new_flavor(c->nbuckets, c->nbuckets, c->nbuckets, 0, &urcu_memb_flavor, NULL);
        if (!c->nodes || !c->ht) {
            vmd_cds_free(c);
            return -ENOMEM;
        }
    }
    *out = c;
    return 0;
}

static unsigned long fp_hash(const uint8_t fp[32])
{
    uint64_t h;

    memcpy(&h, fp + 8, sizeof(h));
    return (unsigned long)h;
}

static int node_match(struct cds_lfht_node *node, const void *key)
{
    const cds_node *n = caa_container_of(node, cds_node, node);
    return memcmp(n->fp, key, 32) == 0;
}

int vmd_cds_add(vmd_cds *c, const vmd_cds_entry *e)
{
    struct cds_lfht_node *got;
    cds_node *n;

    if (c->count >= c->cap)
        return -ENOSPC;
    n = &c->nodes[c->count];
    cds_lfht_node_init(&n->node);
    memcpy(n->fp, e->fp, 32);
    n->ctr = e->ctr;
    n->slot = e->slot;
    n->raw_len = e->raw_len;
    vmd_cds_thread_online();
    urcu_memb_read_lock();
    got = cds_lfht_add_unique(c->ht, fp_hash(e->fp), node_match, e->fp, &n->node);
    urcu_memb_read_unlock();
    vmd_cds_thread_offline();
    if (got != &n->node)
        return -EEXIST;
    c->count++;
    if (c->total < c->count)
        c->total = c->count;
    return 0;
}

int vmd_cds_find(const vmd_cds *c, const uint8_t fp[32], vmd_cds_loc *out)
{
    struct cds_lfht_iter it;
    struct cds_lfht_node *node;
    const cds_node *n;
    int temp = 0, found = 0;

    if (!c || !c->ht || c->count == 0)
        return 0;
    if (online_depth == 0) { /* a caller that did not register: correct, only slower */
        vmd_cds_thread_online();
        temp = 1;
    }
    urcu_memb_read_lock();
    cds_lfht_lookup(c->ht, fp_hash(fp), node_match, fp, &it);
    node = cds_lfht_iter_get_node(&it);
    if (node) {
        n = caa_container_of(node, cds_node, node);
        out->ctr = n->ctr;
        out->slot = n->slot;
        out->raw_len = n->raw_len;
        out->index = (uint64_t)(n - c->nodes);
        found = 1;
    }
    urcu_memb_read_unlock();
    if (temp)
        vmd_cds_thread_offline();
    return found;
}

int vmd_cds_fp_at(const vmd_cds *c, uint64_t index, uint8_t fp[32])
{
    if (!c || index >= c->count)
        return -ERANGE;
    memcpy(fp, c->nodes[index].fp, 32);
    return 0;
}

uint64_t vmd_cds_version(const vmd_cds *c)
{
    return c ? c->version : 0;
}

uint64_t vmd_cds_count(const vmd_cds *c)
{
    return c ? c->count : 0;
}

uint64_t vmd_cds_total(const vmd_cds *c)
{
    return c ? c->total : 0;
}

void vmd_cds_set_total(vmd_cds *c, uint64_t total)
{
    c->total = total;
}

uint64_t vmd_cds_mem(const vmd_cds *c)
{
    return c ? vmd_cds_mem_for(c->cap) : 0;
}

/*
 * cds_lfht_destroy() refuses a table that still holds nodes, so every node
 * is unlinked first; no reader may be left (the caller's contract), and a
 * grace period is waited for anyway before the nodes' memory goes.
 */
void vmd_cds_free(vmd_cds *c)
{
    struct cds_lfht_iter it;
    struct cds_lfht_node *node;

    if (!c)
        return;
    if (c->ht) {
        vmd_cds_thread_online();
        urcu_memb_read_lock();
        cds_lfht_first(c->ht, &it);
        while ((node = cds_lfht_iter_get_node(&it)) != NULL) {
            (void)cds_lfht_del(c->ht, node);
            cds_lfht_next(c->ht, &it);
        }
        urcu_memb_read_unlock();
        urcu_memb_synchronize_rcu();
        (void)cds_lfht_destroy(c->ht, NULL);
        vmd_cds_thread_offline();
    }
    free(c->nodes);
    free(c);
}
