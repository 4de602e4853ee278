/*
 * xen.h - the narrow interface between vmdedup and the Xen toolstack.
 *
 * Everything vmdedup needs from Xen goes through a vmd_xen_ops table: list
 * domains, list a domain's disks, pause and unpause. xen_libxl.c implements
 * it with libxenlight; tests implement it with a table of fixed domains, so
 * the logic above it (finding a domain by name, uuid or id; pairing every
 * pause with an unpause) is tested without a hypervisor.
 */
#ifndef VMD_XEN_H
#define VMD_XEN_H

#include <stddef.h>
#include <stdint.h>

#define VMD_XEN_NAME_MAX   64
#define VMD_XEN_TARGET_MAX 256

typedef struct vmd_xen_domain {
    uint32_t domid;
    char uuid[37]; /* canonical 8-4-4-4-12 text */
    char name[VMD_XEN_NAME_MAX];
} vmd_xen_domain;

typedef struct vmd_xen_disk {
    char vdev[16];                   /* guest device, e.g. "xvda" */
    char target[VMD_XEN_TARGET_MAX]; /* backing file or device in dom0, e.g. "/dev/rbd0" */
    int readonly;
} vmd_xen_disk;

typedef struct vmd_xen_ops {
    /* Fills a malloc()ed array of all domains (dom0 included). */
    int (*list_domains)(void *impl, vmd_xen_domain **out, size_t *count);
    /* Fills a malloc()ed array of the domain's disks. */
    int (*list_disks)(void *impl, uint32_t domid, vmd_xen_disk **out, size_t *count);
    int (*pause)(void *impl, uint32_t domid);
    int (*unpause)(void *impl, uint32_t domid);
    void (*close)(void *impl);
} vmd_xen_ops;

/* A connection to a toolstack: an ops table and its state. */
typedef struct vmd_xen {
    const vmd_xen_ops *ops;
    void *impl;
    char err[256]; /* last failure, one line */
} vmd_xen;

/*
 * Connects to the local Xen toolstack through libxenlight. Returns 0, or
 * -ENODEV with "Xen is not running here" in errbuf when there is no
 * hypervisor, or another negative errno.
 */
int vmd_xen_libxl_open(vmd_xen **out, char *errbuf, size_t errlen);

/* Wraps an ops table (used by tests and by other toolstacks). */
int vmd_xen_open_ops(vmd_xen **out, const vmd_xen_ops *ops, void *impl);

void vmd_xen_close(vmd_xen *x);

/*
 * Finds a domain by name, uuid or numeric domain id (in that order of
 * preference: a name that looks like a number still matches by name first).
 * Returns 0, -ENOENT (no such domain) or -EINVAL (empty spec).
 */
int vmd_xen_find_domain(vmd_xen *x, const char *spec, vmd_xen_domain *out);

/*
 * Pauses the domain, calls fn(arg), and unpauses it whatever fn returned, so
 * the domain is never left paused by vmdedup. Returns fn's result, or the
 * pause/unpause error when fn succeeded but unpausing failed.
 */
int vmd_xen_with_paused(vmd_xen *x, uint32_t domid, int (*fn)(void *arg), void *arg);

#endif /* VMD_XEN_H */
