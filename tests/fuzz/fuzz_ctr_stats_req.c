/* fuzz_ctr_stats_req.c - the ctr_stats request decoder of ctr_ops.c on any bytes (re-encoded when
 * accepted). */
#include <stdint.h>
#include <stdlib.h>

#include "format/container_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t buf[VMD_CTR_STATS_REQ_MAX];
    size_t len;

    if (vmd_ctr_stats_req_decode(data, size) == 0 &&
        vmd_ctr_stats_req_encode(buf, sizeof(buf), &len) != 0)
        abort();
    return 0;
}
