/*
 * cls_call.cc - class method calls through librados' C++ API (see cls_call.h).
 *
 * Thin: it builds one ObjectWriteOperation or ObjectReadOperation holding one
 * exec, runs it asynchronously, and copies the output back into a malloc()ed
 * buffer. No exception escapes into C.
 */
#include "rados/cls_call.h"

#include <array>
#include <atomic>
#include <ctime>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include <sys/random.h>
#include <unistd.h>

#include <rados/librados.hpp>

#include "format/class_msg.h"

namespace
{

struct pending {
    librados::AioCompletion *c = nullptr;
    librados::bufferlist in, out;
    int prval = 0;
};

int start(librados::IoCtx &ioctx, vmd_cls_req &r, pending &p)
{
    p.in.clear();
    p.out.clear();
    p.prval = 0;
    if (r.inlen)
        p.in.append(reinterpret_cast<const char *>(r.in), r.inlen);
    p.c = librados::Rados::aio_create_completion();
    if (!p.c)
        return -ENOMEM;
    if (r.write) {
        librados::ObjectWriteOperation op;
        op.exec(VMD_CLS_NAME, r.method, p.in, &p.out, &p.prval);
        return ioctx.aio_operate(r.oid, p.c, &op, librados::OPERATION_RETURNVEC);
    }
    librados::ObjectReadOperation op;
    op.exec(VMD_CLS_NAME, r.method, p.in, &p.out, &p.prval);
    return ioctx.aio_operate(r.oid, p.c, &op, nullptr);
}

bool retryable(int rc)
{
    return rc == -ETIMEDOUT || rc == -EAGAIN || rc == -ENOTCONN;
}

/* Waits for p and stores the result in r; returns r.rc. */
int finish(vmd_cls_req &r, pending &p)
{
    p.c->wait_for_complete();
    int rc = p.c->get_return_value();
    p.c->release();
    p.c = nullptr;
    if (rc >= 0 && p.prval < 0)
        rc = p.prval;
    r.rc = rc;
    r.out = nullptr;
    r.outlen = 0;
    if (rc < 0)
        return rc;
    size_t n = p.out.length();
    uint8_t *buf = static_cast<uint8_t *>(std::malloc(n ? n : 1));
    if (!buf) {
        r.rc = -ENOMEM;
        return r.rc;
    }
    if (n)
        p.out.begin().copy(n, reinterpret_cast<char *>(buf));
    r.out = buf;
    r.outlen = n;
    return rc;
}

/* Runs one call to completion with retries. */
int run_one(librados::IoCtx &ioctx, vmd_cls_req &r, pending &p)
{
    int rc = 0;
    for (int attempt = 0; attempt <= VMD_CLS_RETRIES; attempt++) {
        rc = start(ioctx, r, p);
        if (rc < 0) {
            if (p.c) {
                p.c->release();
                p.c = nullptr;
            }
            r.rc = rc;
        } else {
            rc = finish(r, p);
        }
        if (!retryable(rc))
            break;
    }
    return rc;
}

} // namespace

extern "C" int vmd_cls_exec(rados_ioctx_t io, const char *oid, const char *method, int write,
                            const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen)
{
    vmd_cls_req r = {oid, method, write, in, inlen, 0, nullptr, 0};
    int rc = vmd_cls_batch_run(io, &r, 1);
    if (rc < 0)
        return rc;
    if (out) {
        *out = r.out;
        *outlen = r.outlen;
    } else {
        std::free(r.out);
    }
    return r.rc;
}

extern "C" int vmd_cls_batch_run(rados_ioctx_t io, vmd_cls_req *calls, size_t n)
{
    try {
        librados::IoCtx ioctx;
        librados::IoCtx::from_rados_ioctx_t(io, ioctx);
        std::vector<pending> slots(VMD_CLS_INFLIGHT);
        std::vector<size_t> owner(VMD_CLS_INFLIGHT, SIZE_MAX);
        size_t next = 0, active = 0;
        int first_err = 0;

        for (size_t i = 0; i < n; i++) {
            calls[i].rc = 0;
            calls[i].out = nullptr;
            calls[i].outlen = 0;
        }
        /* Fill the window, then replace each finished call with the next one. */
        while (next < n || active > 0) {
            for (size_t s = 0; s < slots.size() && next < n; s++) {
                if (owner[s] != SIZE_MAX)
                    continue;
                int rc = start(ioctx, calls[next], slots[s]);
                if (rc < 0) {
                    if (slots[s].c) {
                        slots[s].c->release();
                        slots[s].c = nullptr;
                    }
                    calls[next].rc = rc;
                    next++;
                    continue;
                }
                owner[s] = next++;
                active++;
            }
            for (size_t s = 0; s < slots.size(); s++) {
                if (owner[s] == SIZE_MAX)
                    continue;
                vmd_cls_req &r = calls[owner[s]];
                if (retryable(finish(r, slots[s])))
                    run_one(ioctx, r, slots[s]);
                owner[s] = SIZE_MAX;
                active--;
                break; /* refill the window before waiting on the next */
            }
        }
        for (size_t i = 0; i < n; i++)
            if (calls[i].rc < 0 && !first_err)
                first_err = calls[i].rc;
        return first_err;
    } catch (const std::bad_alloc &) {
        return -ENOMEM;
    } catch (...) {
        return -EIO;
    }
}

/* 8 random bytes chosen once per process (C++ static initialisation is thread-safe). */
static const std::array<uint8_t, 8> &process_id()
{
    static const std::array<uint8_t, 8> id = [] {
        std::array<uint8_t, 8> r{};
        if (getrandom(r.data(), r.size(), 0) != static_cast<ssize_t>(r.size())) {
            uint64_t t =
                static_cast<uint64_t>(time(nullptr)) ^ (static_cast<uint64_t>(getpid()) << 32);
            std::memcpy(r.data(), &t, r.size());
        }
        return r;
    }();
    return id;
}

extern "C" void vmd_cls_new_op_id(uint8_t out[16])
{
    static std::atomic<uint64_t> counter{0};
    uint64_t c = ++counter;
    std::memcpy(out, process_id().data(), 8);
    for (int i = 0; i < 8; i++)
        out[8 + i] = static_cast<uint8_t>(c >> (8 * i));
}
