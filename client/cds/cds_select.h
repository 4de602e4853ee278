/*
 * cds_select.h - the most popular chunks of the whole index, in order (internal API).
 *
 * The class's idx_top lists one partition's entries by popularity (vm_count
 * descending, then fp ascending), a page at a time. The common data set
 * wants the same order over the whole index. This merge keeps a small
 * buffer of each partition's next entries and a heap of the partitions by
 * their next entry, so it yields entries in exactly the global order while
 * holding at most `mem` bytes of buffered entries, whatever the index size.
 *
 * Pages are fetched through a callback that gets every refill due at the
 * same moment in one call, so that the caller can run them in parallel (the
 * library sends them as one batch of class calls; the unit tests answer
 * from memory). When one partition runs dry, every partition whose buffer
 * is down to a quarter is topped up in the same batch.
 */
#ifndef VMD_CDS_SELECT_H
#define VMD_CDS_SELECT_H

#include <stddef.h>
#include <stdint.h>

#include "format/index_msg.h"

#define VMD_SEL_NO_VM UINT32_MAX /* an entry without a home VM */

/* One index entry, as the merge yields it (home VM interned). */
typedef struct vmd_sel_item {
    vmd_fp fp;
    uint32_t vm_count;
    uint32_t chunk_len;
    uint8_t flags; /* VMD_IDX_ENTRY_POPULAR */
    uint32_t vm;   /* home VM: vmd_sel_vm(), or VMD_SEL_NO_VM */
    vmd_loc home;
    vmd_loc pop;
} vmd_sel_item;

/* One page to fetch: the fetcher fills reply (and rc: 0, or a negative errno). */
typedef struct vmd_sel_fetch {
    uint32_t partition;
    uint32_t min_vms;
    uint32_t max; /* 1 .. VMD_IDX_TOP_MAX */
    int has_cursor;
    uint32_t cursor_vm_count; /* the last entry already received from this partition */
    vmd_fp cursor_fp;
    vmd_idx_top_reply reply; /* freed by the merge */
    int rc;
} vmd_sel_fetch;

/* Fetches n pages (in any order, in parallel if it likes); 0 or a negative errno. */
typedef int (*vmd_sel_fetch_fn)(void *arg, vmd_sel_fetch *f, size_t n);

typedef struct vmd_sel vmd_sel;

/*
 * A merge over nparts partitions of the entries with vm_count >= min_vms,
 * buffering at most mem bytes of entries (at least 4 per partition).
 * Returns 0, -EINVAL or -ENOMEM.
 */
int vmd_sel_new(vmd_sel **out, size_t nparts, uint32_t min_vms, size_t mem, vmd_sel_fetch_fn fn,
                void *arg);

/*
 * The next entry in global order: 1 and *out filled, 0 when every
 * partition is exhausted, or the fetcher's error (a page that does not
 * follow its cursor in order is -EPROTO).
 */
int vmd_sel_next(vmd_sel *m, vmd_sel_item *out);

/* The VM id interned as vm (valid until vmd_sel_free). */
const char *vmd_sel_vm(const vmd_sel *m, uint32_t vm);

/* Entries per partition buffer, and the pages fetched so far. */
uint32_t vmd_sel_page(const vmd_sel *m);
uint64_t vmd_sel_fetches(const vmd_sel *m);

void vmd_sel_free(vmd_sel *m);

#endif /* VMD_CDS_SELECT_H */
