/*
 * xen_libxl.c - the vmd_xen_ops interface implemented with libxenlight.
 *
 * Xen 4.17's libxl, with the 4.13 API (pause/unpause take an ao_how, NULL
 * meaning synchronous). On a machine without a hypervisor libxl_ctx_alloc()
 * fails cleanly, which is reported as -ENODEV "Xen is not running here".
 * libxl's pause is reference-counted, so vmd_xen_with_paused() pairs every
 * pause with exactly one unpause.
 */
#define LIBXL_API_VERSION 0x041300

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxl.h>
#include <libxl_utils.h>
#include <xentoollog.h>

#include "xen.h"

typedef struct libxl_impl {
    libxl_ctx *ctx;
    xentoollog_logger_stdiostream *log;
} libxl_impl;

static int lx_errno(int rc)
{
    return rc == ERROR_NOMEM ? -ENOMEM : rc == ERROR_INVAL ? -EINVAL : -EIO;
}

static int lx_list_domains(void *impl, vmd_xen_domain **out, size_t *count)
{
    libxl_impl *li = impl;
    libxl_dominfo *info;
    vmd_xen_domain *doms;
    int n, i;

    info = libxl_list_domain(li->ctx, &n);
    if (!info)
        return -EIO;
    doms = calloc(n > 0 ? (size_t)n : 1, sizeof(*doms));
    if (!doms) {
        libxl_dominfo_list_free(info, n);
        return -ENOMEM;
    }
    for (i = 0; i < n; i++) {
        char *name = libxl_domid_to_name(li->ctx, info[i].domid);
        doms[i].domid = info[i].domid;
        snprintf(doms[i].uuid, sizeof(doms[i].uuid), LIBXL_UUID_FMT,
                 LIBXL_UUID_BYTES(info[i].uuid));
        snprintf(doms[i].name, sizeof(doms[i].name), "%s", name ? name : "");
        free(name);
    }
    libxl_dominfo_list_free(info, n);
    *out = doms;
    *count = (size_t)n;
    return 0;
}

static int lx_list_disks(void *impl, uint32_t domid, vmd_xen_disk **out, size_t *count)
{
    libxl_impl *li = impl;
    libxl_device_disk *disks;
    vmd_xen_disk *res;
    int n, i;

    disks = libxl_device_disk_list(li->ctx, domid, &n);
    if (!disks && n != 0)
        return -EIO;
    res = calloc(n > 0 ? (size_t)n : 1, sizeof(*res));
    if (!res) {
        libxl_device_disk_list_free(disks, n);
        return -ENOMEM;
    }
    for (i = 0; i < n; i++) {
        snprintf(res[i].vdev, sizeof(res[i].vdev), "%s", disks[i].vdev ? disks[i].vdev : "");
        snprintf(res[i].target, sizeof(res[i].target), "%s",
                 disks[i].pdev_path ? disks[i].pdev_path : "");
        res[i].readonly = !disks[i].readwrite;
    }
    libxl_device_disk_list_free(disks, n);
    *out = res;
    *count = (size_t)n;
    return 0;
}

static int lx_pause(void *impl, uint32_t domid)
{
    libxl_impl *li = impl;
    int rc = libxl_domain_pause(li->ctx, domid, NULL);
    return rc ? lx_errno(rc) : 0;
}

static int lx_unpause(void *impl, uint32_t domid)
{
    libxl_impl *li = impl;
    int rc = libxl_domain_unpause(li->ctx, domid, NULL);
    return rc ? lx_errno(rc) : 0;
}

static void lx_close(void *impl)
{
    libxl_impl *li = impl;
    if (!li)
        return;
    if (li->ctx)
        libxl_ctx_free(li->ctx);
    if (li->log)
        xtl_logger_destroy((xentoollog_logger *)li->log);
    free(li);
}

static const vmd_xen_ops libxl_ops = {
    .list_domains = lx_list_domains,
    .list_disks = lx_list_disks,
    .pause = lx_pause,
    .unpause = lx_unpause,
    .close = lx_close,
};

int vmd_xen_libxl_open(vmd_xen **out, char *errbuf, size_t errlen)
{
    libxl_impl *li;
    int rc, err;

    *out = NULL;
    li = calloc(1, sizeof(*li));
    if (!li)
        return -ENOMEM;
    /* libxl's own messages only above "error", so a missing hypervisor gives
       our one-line message rather than a screenful. */
    li->log = xtl_createlogger_stdiostream(stderr, XTL_CRITICAL, 0);
    rc = libxl_ctx_alloc(&li->ctx, LIBXL_VERSION, 0, (xentoollog_logger *)li->log);
    if (rc) {
        li->ctx = NULL;
        lx_close(li);
        snprintf(errbuf, errlen, "Xen is not running here (libxl_ctx_alloc failed: %d)", rc);
        return -ENODEV;
    }
    err = vmd_xen_open_ops(out, &libxl_ops, li);
    if (err)
        lx_close(li);
    return err;
}
