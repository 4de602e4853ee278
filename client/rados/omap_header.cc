/*
 * omap_header.cc - reading an object's omap header from C.
 *
 * librados' C API has no call for the omap header (only the C++ API has
 * IoCtx::omap_get_header), yet `vmdedup inspect` must show the header of an
 * index partition. This one function bridges that gap, in the same way
 * cls_call.cc does for class calls: no exception escapes into C.
 */
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <new>

#include <rados/librados.hpp>

#include "rados/idx_client.h"

extern "C" int vmd_rados_omap_header(rados_ioctx_t io, const char *oid, uint8_t **out,
                                     size_t *outlen)
{
    try {
        librados::IoCtx ioctx;
        librados::IoCtx::from_rados_ioctx_t(io, ioctx);
        librados::bufferlist bl;
        int r = ioctx.omap_get_header(oid, &bl);
        if (r < 0)
            return r;
        size_t n = bl.length();
        uint8_t *buf = static_cast<uint8_t *>(std::malloc(n ? n : 1));
        if (!buf)
            return -ENOMEM;
        if (n)
            bl.begin().copy(n, reinterpret_cast<char *>(buf));
        *out = buf;
        *outlen = n;
        return 0;
    } catch (const std::bad_alloc &) {
        return -ENOMEM;
    } catch (...) {
        return -EIO;
    }
}
