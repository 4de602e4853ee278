/*
 * xen.c - toolstack-independent logic over the vmd_xen_ops interface.
 *
 * Nothing here talks to Xen directly; see xen_libxl.c for libxenlight.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xen.h"

int vmd_xen_open_ops(vmd_xen **out, const vmd_xen_ops *ops, void *impl)
{
    vmd_xen *x = calloc(1, sizeof(*x));
    *out = NULL;
    if (!x)
        return -ENOMEM;
    x->ops = ops;
    x->impl = impl;
    *out = x;
    return 0;
}

void vmd_xen_close(vmd_xen *x)
{
    if (!x)
        return;
    if (x->ops && x->ops->close)
        x->ops->close(x->impl);
    free(x);
}

/* Parses a whole string as a domain id; -1 when it is not one. */
static long parse_domid(const char *s)
{
    char *end;
    long v;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v > 0x7fff0)
        return -1;
    return v;
}

int vmd_xen_find_domain(vmd_xen *x, const char *spec, vmd_xen_domain *out)
{
    vmd_xen_domain *doms = NULL, *hit = NULL;
    size_t n = 0, i;
    long domid;
    int err;

    if (!spec || !*spec) {
        snprintf(x->err, sizeof(x->err), "empty domain name");
        return -EINVAL;
    }
    err = x->ops->list_domains(x->impl, &doms, &n);
    if (err)
        return err;
    for (i = 0; i < n && !hit; i++)
        if (strcmp(doms[i].name, spec) == 0)
            hit = &doms[i];
    for (i = 0; i < n && !hit; i++)
        if (strcasecmp(doms[i].uuid, spec) == 0)
            hit = &doms[i];
    domid = parse_domid(spec);
    for (i = 0; i < n && !hit && domid >= 0; i++)
        if (doms[i].domid == (uint32_t)domid)
            hit = &doms[i];
    if (hit)
        *out = *hit;
    else
        snprintf(x->err, sizeof(x->err), "no Xen domain named %s", spec);
    free(doms);
    return hit ? 0 : -ENOENT;
}

int vmd_xen_with_paused(vmd_xen *x, uint32_t domid, int (*fn)(void *arg), void *arg)
{
    int err, uerr;

    err = x->ops->pause(x->impl, domid);
    if (err) {
        snprintf(x->err, sizeof(x->err), "pausing domain %u failed (%d)", domid, err);
        return err;
    }
    err = fn(arg);
    uerr = x->ops->unpause(x->impl, domid);
    if (uerr) {
        snprintf(x->err, sizeof(x->err), "unpausing domain %u failed (%d)", domid, uerr);
        if (!err)
            err = uerr;
    }
    return err;
}
