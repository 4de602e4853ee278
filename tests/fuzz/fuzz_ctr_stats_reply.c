/* fuzz_ctr_stats_reply.c - the ctr_stats reply decoder of ctr_ops.c on any bytes (re-encoded when
 * accepted). */
#include <stdint.h>
#include <stdlib.h>

#include "format/container_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vmd_ctr_stats_reply r;
    uint8_t buf[VMD_CTR_STATS_REPLY_MAX];
    size_t len;

    if (vmd_ctr_stats_reply_decode(&r, data, size) == 0 &&
        vmd_ctr_stats_reply_encode(&r, buf, sizeof(buf), &len) != 0)
        abort();
    return 0;
}
