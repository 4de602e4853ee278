/*
 * cls_shim.cc - the C++ side of the vmdedup class: thin extern "C" wrappers
 * over the OSD's cls_cxx_* object operations (see cls_shim.h).
 *
 * This is the only C++ in the class. It holds no logic: each wrapper copies
 * between plain buffers and bufferlists and forwards one call. Exceptions
 * must never unwind into C code or into the OSD's call path, so every
 * wrapper catches them.
 *
 * Ceph's public <rados/objclass.h> declares only a few cls_cxx_* calls; the
 * others below are declared with the exact signatures ceph-osd 16.x exports
 * (checked with `nm -D --defined-only /usr/bin/ceph-osd | c++filt`).
 */
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <new>
#include <set>
#include <string>

#include <rados/objclass.h>

#include "osd/cls_shim.h"

using ceph::bufferlist;

extern int cls_cxx_write_full(cls_method_context_t hctx, bufferlist *bl);
extern int cls_cxx_truncate(cls_method_context_t hctx, int ofs);
extern int cls_cxx_map_get_vals(cls_method_context_t hctx, const std::string &start_after,
                                const std::string &filter_prefix, uint64_t max_to_get,
                                std::map<std::string, bufferlist> *vals, bool *more);
extern int cls_cxx_map_set_vals(cls_method_context_t hctx,
                                const std::map<std::string, bufferlist> *map);
extern int cls_cxx_map_get_vals_by_keys(cls_method_context_t hctx,
                                        const std::set<std::string> &keys,
                                        std::map<std::string, bufferlist> *map);
extern int cls_cxx_map_remove_key(cls_method_context_t hctx, const std::string &key);
extern int cls_cxx_map_read_header(cls_method_context_t hctx, bufferlist *outbl);
extern int cls_cxx_map_write_header(cls_method_context_t hctx, bufferlist *inbl);

namespace
{

/*
 * The end of a call that read into bl: its error r as it is, or bl copied
 * into a new malloc()ed buffer (never NULL on success).
 */
int copy_out(int r, bufferlist &bl, uint8_t **out, size_t *outlen)
{
    if (r < 0)
        return r;
    size_t n = bl.length();
    uint8_t *p = static_cast<uint8_t *>(std::malloc(n ? n : 1));
    if (!p)
        return -ENOMEM;
    if (n)
        bl.begin().copy(n, reinterpret_cast<char *>(p));
    *out = p;
    *outlen = n;
    return 0;
}

/* Calls fn on each key and value of vals in key order; stops at its first non-zero result. */
int each_val(std::map<std::string, bufferlist> &vals, vmd_cls_omap_fn fn, void *arg)
{
    for (auto &kv : vals) {
        bufferlist &bl = kv.second;
        int rc =
            fn(arg, kv.first.c_str(), reinterpret_cast<const uint8_t *>(bl.c_str()), bl.length());
        if (rc)
            return rc;
    }
    return 0;
}

bufferlist wrap(const void *buf, size_t len)
{
    bufferlist bl;
    if (len)
        bl.append(static_cast<const char *>(buf), len);
    return bl;
}

} // namespace

/* Runs the body, turning any C++ exception into an errno (variadic: bodies hold commas). */
#define SHIM_GUARD(...)                                                                            \
    try {                                                                                          \
        __VA_ARGS__                                                                                \
    } catch (const std::bad_alloc &) {                                                             \
        return -ENOMEM;                                                                            \
    } catch (...) {                                                                                \
        return -EIO;                                                                               \
    }

extern "C" int vmd_cls_stat(cls_method_context_t h, uint64_t *size)
{
    SHIM_GUARD({
        uint64_t sz = 0;
        time_t mtime = 0;
        int r = cls_cxx_stat(h, &sz, &mtime);
        if (r < 0)
            return r;
        *size = sz;
        return 0;
    })
}

extern "C" int vmd_cls_create(cls_method_context_t h, int exclusive)
{
    SHIM_GUARD({ return cls_cxx_create(h, exclusive != 0); })
}

extern "C" int vmd_cls_remove(cls_method_context_t h)
{
    SHIM_GUARD({ return cls_cxx_remove(h); })
}

extern "C" int vmd_cls_read(cls_method_context_t h, uint64_t off, size_t len, uint8_t **out,
                            size_t *outlen)
{
    if (off > INT32_MAX || len > INT32_MAX)
        return -EINVAL;
    SHIM_GUARD({
        bufferlist bl;
        int r = cls_cxx_read(h, static_cast<int>(off), static_cast<int>(len), &bl);
        return copy_out(r, bl, out, outlen);
    })
}

extern "C" int vmd_cls_write_full(cls_method_context_t h, const void *buf, size_t len)
{
    if (len > INT32_MAX)
        return -EINVAL;
    SHIM_GUARD({
        bufferlist bl = wrap(buf, len);
        return cls_cxx_write_full(h, &bl);
    })
}

extern "C" int vmd_cls_write(cls_method_context_t h, uint64_t off, const void *buf, size_t len)
{
    if (off > INT32_MAX || len > INT32_MAX)
        return -EINVAL;
    SHIM_GUARD({
        bufferlist bl = wrap(buf, len);
        return cls_cxx_write(h, static_cast<int>(off), static_cast<int>(len), &bl);
    })
}

extern "C" int vmd_cls_truncate(cls_method_context_t h, uint64_t size)
{
    if (size > INT32_MAX)
        return -EINVAL;
    SHIM_GUARD({ return cls_cxx_truncate(h, static_cast<int>(size)); })
}

extern "C" int vmd_cls_omap_get(cls_method_context_t h, const char *key, uint8_t **val, size_t *len)
{
    SHIM_GUARD({
        bufferlist bl;
        int r = cls_cxx_map_get_val(h, std::string(key), &bl);
        return copy_out(r, bl, val, len);
    })
}

extern "C" int vmd_cls_omap_set(cls_method_context_t h, const char *key, const void *val,
                                size_t len)
{
    SHIM_GUARD({
        bufferlist bl = wrap(val, len);
        return cls_cxx_map_set_val(h, std::string(key), &bl);
    })
}

extern "C" int vmd_cls_omap_remove(cls_method_context_t h, const char *key)
{
    SHIM_GUARD({ return cls_cxx_map_remove_key(h, std::string(key)); })
}

extern "C" int vmd_cls_omap_page(cls_method_context_t h, const char *after, uint64_t max,
                                 vmd_cls_omap_fn fn, void *arg, int *more)
{
    SHIM_GUARD({
        std::map<std::string, bufferlist> vals;
        bool m = false;
        int r =
            cls_cxx_map_get_vals(h, std::string(after ? after : ""), std::string(), max, &vals, &m);
        if (r < 0)
            return r;
        r = each_val(vals, fn, arg);
        if (r == 0)
            *more = m ? 1 : 0;
        return r;
    })
}

extern "C" int vmd_cls_omap_header_get(cls_method_context_t h, uint8_t **val, size_t *len)
{
    SHIM_GUARD({
        bufferlist bl;
        int r = cls_cxx_map_read_header(h, &bl);
        return copy_out(r, bl, val, len);
    })
}

extern "C" int vmd_cls_omap_header_set(cls_method_context_t h, const void *val, size_t len)
{
    SHIM_GUARD({
        bufferlist bl = wrap(val, len);
        return cls_cxx_map_write_header(h, &bl);
    })
}

extern "C" int vmd_cls_omap_set_many(cls_method_context_t h, const char *const *keys,
                                     const uint8_t *const *vals, const size_t *lens, size_t n)
{
    SHIM_GUARD({
        std::map<std::string, bufferlist> m;
        for (size_t i = 0; i < n; i++)
            m[std::string(keys[i])] = wrap(vals[i], lens[i]);
        return cls_cxx_map_set_vals(h, &m);
    })
}

extern "C" int vmd_cls_omap_get_keys(cls_method_context_t h, const char *const *keys, size_t n,
                                     vmd_cls_omap_fn fn, void *arg)
{
    SHIM_GUARD({
        std::set<std::string> want;
        std::map<std::string, bufferlist> vals;
        for (size_t i = 0; i < n; i++)
            want.insert(std::string(keys[i]));
        int r = cls_cxx_map_get_vals_by_keys(h, want, &vals);
        if (r < 0)
            return r;
        return each_val(vals, fn, arg);
    })
}

extern "C" int vmd_cls_getxattr(cls_method_context_t h, const char *name, uint8_t **val,
                                size_t *len)
{
    SHIM_GUARD({
        bufferlist bl;
        int r = cls_cxx_getxattr(h, name, &bl);
        return copy_out(r, bl, val, len);
    })
}

extern "C" int vmd_cls_setxattr(cls_method_context_t h, const char *name, const void *val,
                                size_t len)
{
    SHIM_GUARD({
        bufferlist bl = wrap(val, len);
        return cls_cxx_setxattr(h, name, &bl);
    })
}
