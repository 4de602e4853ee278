/*
 * catalog.h - the per-VM catalog of snapshots and the list of VMs (internal).
 *
 * Object `vm.<vm>` (meta pool) is a VM's catalog. Its omap holds
 *
 *     snap.<8 digits>   one plain-text line per committed snapshot
 *                       ("parent=3 time=... size=... logical=... ...")
 *     next_seq          the next snapshot number, allocated when a backup starts
 *
 * and the object carries the exclusive lock "vmd.backup" while a backup of
 * the VM runs. Object `vmd.vms` lists the VMs: omap key `vm.<vm>` each.
 * A snapshot exists exactly when its snap.N key does: writing it is the
 * commit, done after its containers and recipe are durable.
 */
#ifndef VMD_CATALOG_H
#define VMD_CATALOG_H

#include <stdint.h>

#include "rados/lock.h"
#include "rados/store_int.h"

#define VMD_VMS_OBJECT  "vmd.vms"
#define VMD_CAT_LOCK    "vmd.backup"
#define VMD_SEQ_MAX     99999999u /* 8 digits in object names and keys */
#define VMD_CAT_OID_MAX (3 + VMD_VM_ID_MAX + 1)
#define VMD_RCP_OID_MAX (2 + VMD_VM_ID_MAX + 1 + 8 + 1)

/* Validates vm (one message on failure): 0 or -EINVAL. */
int vmd_cat_vm_check(vmd_store *s, const char *vm);

void vmd_cat_oid(char out[VMD_CAT_OID_MAX], const char *vm);
void vmd_rcp_oid(char out[VMD_RCP_OID_MAX], const char *vm, uint32_t snap);

/*
 * Takes the VM's backup lock (a lease, rados/lock.h: renew it with
 * vmd_lease_renew, release it with vmd_lease_drop). -EBUSY when another
 * backup holds it.
 */
int vmd_cat_lock(vmd_lease *out, vmd_store *s, const char *vm);

/* Allocates the next snapshot number (persisted before returning) and lists the VM. */
int vmd_cat_alloc_seq(vmd_store *s, const char *vm, uint32_t *seq);

/* The latest committed snapshot (0 when none, also for an unknown VM). */
int vmd_cat_latest(vmd_store *s, const char *vm, uint32_t *snap);

/* Writes snap.N: the commit. */
int vmd_cat_commit(vmd_store *s, const vmd_snap_info *info);

/*
 * Calls fn for every omap key of oid (meta pool) starting with prefix, in key
 * order, paged; a non-zero return of fn stops the walk and is returned.
 * -ENOENT: no such object. Reports nothing (the caller names the object).
 */
typedef int (*vmd_cat_omap_fn)(void *arg, const char *key, const char *val, size_t len);
int vmd_cat_omap_each(vmd_store *s, const char *oid, const char *prefix, vmd_cat_omap_fn fn,
                      void *arg);

/* Formats / parses the plain-text catalog line. parse: 0 or -EIO. */
void vmd_cat_format(const vmd_snap_info *info, char *buf, size_t cap);
int vmd_cat_parse(vmd_snap_info *out, const char *line, size_t len);

#endif /* VMD_CATALOG_H */
