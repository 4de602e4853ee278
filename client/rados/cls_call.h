/*
 * cls_call.h - calling methods of the vmdedup class from the client.
 *
 * librados' C API cannot return the output of a write method (rados_exec
 * sends a read op; rados_write_op_exec has no output buffer), so these calls
 * go through librados' C++ API with OPERATION_RETURNVEC (cls_call.cc, the
 * only C++ in the library).
 *
 * Retries: a call failing with -ETIMEDOUT, -EAGAIN or -ENOTCONN is resent
 * with the same request bytes, so the same op id: the class's idempotency
 * makes the resend safe. At most VMD_CLS_RETRIES resends.
 *
 * Buffers returned through uint8_t ** are malloc()ed; free() them.
 */
#ifndef VMD_CLS_CALL_H
#define VMD_CLS_CALL_H

#include <stddef.h>
#include <stdint.h>

#include <rados/librados.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VMD_CLS_RETRIES  3
#define VMD_CLS_INFLIGHT 32 /* concurrent calls a batch keeps in flight */

/* One synchronous call: returns the method's result (>= 0) or a negative errno. */
int vmd_cls_exec(rados_ioctx_t io, const char *oid, const char *method, int write,
                 const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen);

/*
 * A batch of calls to many objects, run with at most VMD_CLS_INFLIGHT in
 * flight. Fill calls[i].{oid, method, write, in, inlen}; vmd_cls_batch_run()
 * sets calls[i].{rc, out, outlen} for every call and returns 0, or the first
 * negative rc (in index order) when any call failed. The caller frees each
 * calls[i].out.
 */
typedef struct vmd_cls_req {
    const char *oid;
    const char *method;
    int write;
    const uint8_t *in;
    size_t inlen;
    int rc;
    uint8_t *out;
    size_t outlen;
} vmd_cls_req;

int vmd_cls_batch_run(rados_ioctx_t io, vmd_cls_req *calls, size_t n);

/* Fills 16 bytes with a fresh operation id: 8 random bytes per process + a counter. */
void vmd_cls_new_op_id(uint8_t out[16]);

#ifdef __cplusplus
}
#endif

#endif /* VMD_CLS_CALL_H */
