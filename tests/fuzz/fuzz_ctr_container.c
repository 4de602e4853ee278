/*
 * fuzz_ctr_container.c - the container validator and reader on arbitrary and patched objects.
 *
 * Every object that validates must have every LIVE slot readable or
 * rejected with -EIO and a reason; nothing may read outside the object.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_ctr_input.h"
#include "format/container.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vmd_ctr *c = NULL;
    vmd_ctr_fault f;
    uint8_t *obj, *raw;
    size_t len, rawlen;
    uint32_t i;
    int reason, err;

    if (size < 1)
        return 0;
    obj = fuzz_ctr_object(data + 1, size - 1, data[0] & 0x80, &len);
    if (!obj)
        return 0;
    if (vmd_ctr_validate(&c, obj, len, &f) == 0) {
        for (i = 0; i < c->hdr.nslots; i++) {
            err = vmd_ctr_read_slot(obj, len, i, &raw, &rawlen, &f, &reason);
            if (err == 0)
                free(raw);
            else if (err != -ENOENT && !(err == -EIO && reason))
                abort();
        }
        vmd_ctr_free(c);
    } else if (f.check == VMD_CTR_OK) {
        abort(); /* a rejection must name its check */
    }
    free(obj);
    return 0;
}
