/*
 * recipe_reader.h - reading a committed snapshot's recipe (internal).
 *
 * A recipe `r.<vm>.<snap>` (meta pool; format in include/format/recipe.h)
 * is a 128-byte header, a table of one 56-byte entry per 2 MiB segment,
 * then the chunk records of the segments this snapshot holds. An entry
 * names the snapshot holding its segment's record (`holder`, possibly an
 * ancestor: level 1) and where that record lies in the holder's recipe.
 *
 * Backup (its parent), restore and stats all read a recipe the same way:
 * open it (header checked: COMPLETE, the snapshot and VM asked for), walk
 * its table a page of entries at a time, and load records on demand.
 *
 *   vmd_rcp_reader    one open recipe: header + the current page of entries.
 *                     Used by one thread at a time (restore shares it under
 *                     its own mutex).
 *   vmd_rcp_records   a record buffer and the refs decoded from it; one per
 *                     thread. Records are appended, so a backup worker can
 *                     hold the records of several parent segments at once.
 *
 * vmd_rcp_reader_open() runs on the caller's thread and reports failures
 * through the store's error callback. The entry and record readers may run
 * on worker threads: they report nothing, and put a one-line message in
 * the caller's buffer instead.
 */
#ifndef VMD_RECIPE_READER_H
#define VMD_RECIPE_READER_H

#include <stddef.h>
#include <stdint.h>

#include "snapshot/catalog.h"
#include "format/recipe.h"

#define VMD_RCP_MSG_MAX 256 /* a message of the entry and record readers */

typedef struct vmd_rcp_reader {
    vmd_store *s;
    char vm[VMD_VM_ID_MAX + 1];
    uint32_t snap;
    char oid[VMD_RCP_OID_MAX];
    vmd_rcp_header hdr;
    uint8_t *page;       /* page_max entries from page_first */
    size_t page_max;     /* entries per page read */
    uint64_t page_first; /* UINT64_MAX: no page loaded */
} vmd_rcp_reader;

typedef struct vmd_rcp_records {
    vmd_rcp_ref *refs; /* n decoded refs */
    size_t n, cap;
    uint8_t *buf; /* one encoded record */
    size_t buf_cap;
} vmd_rcp_records;

/*
 * Opens the recipe of committed snapshot snap of vm: reads and checks its
 * header, and reads the table page_max entries at a time from then on.
 * Errors (reported): -EIO when the recipe is missing, truncated, corrupt,
 * incomplete or another snapshot's; -ENOMEM; librados errors.
 * vmd_rcp_reader_close() is safe after a failure.
 */
int vmd_rcp_reader_open(vmd_rcp_reader *r, vmd_store *s, const char *vm, uint32_t snap,
                        size_t page_max);

/*
 * The table entry of segment seg (< hdr.nsegs), read through the page.
 * 0 or -EIO (unreadable or corrupt; msg says which).
 */
int vmd_rcp_reader_entry(vmd_rcp_entry *out, char msg[VMD_RCP_MSG_MAX], vmd_rcp_reader *r,
                         uint64_t seg);

/*
 * Appends to rs the refs of the record of segment seg, which entry e
 * (SAME or CHUNKS) places in its holder's recipe. Thread-safe for distinct
 * rs. 0; -ENOMEM; -EIO (record missing, short or corrupt); librados
 * errors. msg says what failed.
 */
int vmd_rcp_reader_record(vmd_rcp_records *rs, char msg[VMD_RCP_MSG_MAX], const vmd_rcp_reader *r,
                          uint64_t seg, const vmd_rcp_entry *e);

void vmd_rcp_reader_close(vmd_rcp_reader *r);
void vmd_rcp_records_free(vmd_rcp_records *rs);

#endif /* VMD_RECIPE_READER_H */
