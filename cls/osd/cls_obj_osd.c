/*
 * cls_obj_osd.c - vmd_obj_ops implemented by the OSD, through the C++ shim.
 *
 * The handle h is the method's cls_method_context_t.
 */
#include "methods/cls_obj.h"
#include "osd/cls_shim.h"

static int osd_omap_page(void *h, const char *after, uint64_t max, vmd_obj_omap_fn fn, void *arg,
                         int *more)
{
    return vmd_cls_omap_page(h, after, max, fn, arg, more);
}

static int osd_omap_get_keys(void *h, const char *const *keys, size_t n, vmd_obj_omap_fn fn,
                             void *arg)
{
    return vmd_cls_omap_get_keys(h, keys, n, fn, arg);
}

const vmd_obj_ops vmd_obj_osd_ops = {
    .stat = vmd_cls_stat,
    .read = vmd_cls_read,
    .write_full = vmd_cls_write_full,
    .write = vmd_cls_write,
    .truncate = vmd_cls_truncate,
    .getxattr = vmd_cls_getxattr,
    .setxattr = vmd_cls_setxattr,
    .omap_get = vmd_cls_omap_get,
    .omap_get_keys = osd_omap_get_keys,
    .omap_set = vmd_cls_omap_set_many,
    .omap_remove = vmd_cls_omap_remove,
    .omap_page = osd_omap_page,
    .omap_header_get = vmd_cls_omap_header_get,
    .omap_header_set = vmd_cls_omap_header_set,
};
