/*
 * lock.c - leases: librados exclusive locks with a duration, renewed while held.
 *
 * Taking: rados_lock_exclusive() with a duration of VMD_LEASE_SECS and a
 * fresh cookie; -EBUSY or -EEXIST from the OSD means another holder.
 * Renewing: the same call with LIBRADOS_LOCK_FLAG_RENEW and our cookie,
 * which fails when the lock lapsed and someone else took it. The lock's
 * description ("vmdedup <what>") shows in `rados lock info`.
 */
#include "rados/lock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "rados/cls_call.h"

static double since(const struct timespec *t0)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static int lock_call(vmd_lease *l, uint8_t flags)
{
    struct timeval tv = {VMD_LEASE_SECS, 0};
    char desc[8 + VMD_LEASE_WHAT_MAX];

    snprintf(desc, sizeof(desc), "vmdedup %s", l->what);
    return rados_lock_exclusive(l->io, l->oid, l->name, l->cookie, desc, &tv, flags);
}

int vmd_lease_take(vmd_lease *l, vmd_store *s, rados_ioctx_t io, const char *oid, const char *name,
                   const char *what)
{
    uint8_t id[16];
    int err, i;

    memset(l, 0, sizeof(*l));
    l->s = s;
    l->io = io;
    l->name = name;
    snprintf(l->oid, sizeof(l->oid), "%s", oid);
    snprintf(l->what, sizeof(l->what), "%s", what);
    vmd_cls_new_op_id(id);
    for (i = 0; i < 16; i++)
        snprintf(l->cookie + 2 * i, 3, "%02x", id[i]);
    err = lock_call(l, 0);
    if (err == -EBUSY || err == -EEXIST)
        return vmd_fail(s, -EBUSY,
                        "another %s holds lock %s on %s in pool %s (if it was killed, its lock "
                        "lapses within %d s)",
                        l->what, name, l->oid, s->meta_pool, VMD_LEASE_SECS);
    if (err < 0)
        return vmd_fail(s, err, "locking %s in pool %s", l->oid, s->meta_pool);
    l->held = 1;
    clock_gettime(CLOCK_MONOTONIC, &l->renewed);
    return 0;
}

int vmd_lease_renew(vmd_lease *l, int force)
{
    int err;

    if (!force && since(&l->renewed) < VMD_LEASE_RENEW_SECS)
        return 0;
    err = lock_call(l, LIBRADOS_LOCK_FLAG_RENEW);
    if (err == -EBUSY || err == -EEXIST)
        return vmd_fail(l->s, -EBUSY, "lock %s on %s was lost to another %s", l->name, l->oid,
                        l->what);
    if (err < 0)
        return vmd_fail(l->s, err, "renewing lock %s on %s", l->name, l->oid);
    clock_gettime(CLOCK_MONOTONIC, &l->renewed);
    return 0;
}

void vmd_lease_drop(vmd_lease *l)
{
    if (l->held)
        rados_unlock(l->io, l->oid, l->name, l->cookie);
    l->held = 0;
}
