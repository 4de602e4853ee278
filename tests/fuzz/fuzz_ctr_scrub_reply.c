/* fuzz_ctr_scrub_reply.c - the ctr_scrub reply decoder of ctr_ops.c on any bytes (re-encoded when
 * accepted). */
#include <stdint.h>
#include <stdlib.h>

#include "format/container_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vmd_ctr_scrub_reply r;
    uint8_t *buf;
    size_t len;
    uint32_t max_bad;

    if (size < 2)
        return 0;
    max_bad = (uint32_t)(data[0] | data[1] << 8) % (VMD_CTR_SCRUB_MAX + 2);
    if (vmd_ctr_scrub_reply_decode(&r, data + 2, size - 2, max_bad) != 0)
        return 0;
    buf = malloc(VMD_CTR_SCRUB_REPLY_SIZE(r.nlist));
    if (!buf || vmd_ctr_scrub_reply_encode(&r, buf, VMD_CTR_SCRUB_REPLY_SIZE(r.nlist), &len))
        abort();
    free(buf);
    vmd_ctr_scrub_reply_clear(&r);
    return 0;
}
