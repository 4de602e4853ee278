/* fuzz_version_reply.c - the version reply decoder, and the version method, on any bytes. */
#include <stdint.h>
#include <stdlib.h>

#include "methods/cls_methods.h"
#include "mem_obj.h"
#include "format/class_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vmd_op_version_reply r;
    uint8_t *out = NULL;
    size_t outlen = 0;
    mem_obj *m;

    (void)vmd_op_version_reply_decode(&r, data, size);
    m = mem_obj_new();
    if (m) {
        (void)mem_obj_call(m, vmd_m_version, data, size, &out, &outlen);
        free(out);
        mem_obj_free(m);
    }
    return 0;
}
