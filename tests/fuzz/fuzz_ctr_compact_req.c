/* fuzz_ctr_compact_req.c - the ctr_compact request decoder of ctr_ops.c on any bytes (re-encoded
 * when accepted). */
#include <stdint.h>
#include <stdlib.h>

#include "format/container_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vmd_ctr_compact_req r;
    uint8_t *buf;
    size_t len;

    if (vmd_ctr_compact_req_decode(&r, data, size) != 0)
        return 0;
    buf = malloc(VMD_CTR_COMPACT_REQ_SIZE(r.nslots));
    if (!buf || vmd_ctr_compact_req_encode(&r, buf, VMD_CTR_COMPACT_REQ_SIZE(r.nslots), &len))
        abort();
    free(buf);
    return 0;
}
