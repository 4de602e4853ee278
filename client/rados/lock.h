/*
 * lock.h - a lease on a RADOS object: the exclusive lock that lapses by itself (internal).
 *
 * Two things in vmdedup run alone: the backup of one VM (lock "vmd.backup"
 * on its catalog `vm.<vm>`) and `cds update` (lock "vmd.cds.update" on
 * `vmd.cds`). Both take a librados exclusive lock with a duration of
 * VMD_LEASE_SECS and renew it every VMD_LEASE_RENEW_SECS while they work,
 * so a killed holder blocks the next one at most VMD_LEASE_SECS and no
 * operator ever has to break a lock. The cookie is a fresh random id per
 * holder, so a renewal fails (-EBUSY) once another holder took the lock.
 *
 * A vmd_lease is the holder's side: where the lock is, its cookie, and when
 * it was last renewed. It is used by one thread.
 */
#ifndef VMD_LOCK_H
#define VMD_LOCK_H

#include <time.h>

#include "rados/store_int.h"

#define VMD_LEASE_SECS       30 /* a killed holder blocks the next one at most this long */
#define VMD_LEASE_RENEW_SECS 10
#define VMD_LEASE_OID_MAX    96
#define VMD_LEASE_WHAT_MAX   96
#define VMD_COOKIE_SIZE      33 /* 16 random bytes in hex */

typedef struct vmd_lease {
    vmd_store *s;
    rados_ioctx_t io;
    char oid[VMD_LEASE_OID_MAX];   /* the locked object */
    const char *name;              /* the lock's name, e.g. "vmd.backup" */
    char what[VMD_LEASE_WHAT_MAX]; /* who holds it, for messages: "backup of VM x" */
    char cookie[VMD_COOKIE_SIZE];
    int held;
    struct timespec renewed; /* CLOCK_MONOTONIC */
} vmd_lease;

/*
 * Takes lock `name` on object oid of pool io for a holder described by
 * `what` (a phrase: "backup of VM x", "cds update"). l is filled in
 * whatever happens, so vmd_lease_drop(l) is always safe. -EBUSY when
 * another holder has it (the message says when it lapses); librados errors.
 */
int vmd_lease_take(vmd_lease *l, vmd_store *s, rados_ioctx_t io, const char *oid, const char *name,
                   const char *what);

/*
 * Renews the lease when VMD_LEASE_RENEW_SECS have passed since it was
 * taken or last renewed, or always when force. -EBUSY when it was lost to
 * another holder; librados errors.
 */
int vmd_lease_renew(vmd_lease *l, int force);

/* Releases the lock if held (errors ignored: it lapses anyway). */
void vmd_lease_drop(vmd_lease *l);

#endif /* VMD_LOCK_H */
