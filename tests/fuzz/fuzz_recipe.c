/*
 * fuzz_recipe.c - the recipe decoders on arbitrary bytes.
 *
 * The input is split into a header (128 bytes), a table entry (56 bytes)
 * and a record (the rest); the record is decoded as every plausible
 * (segment, count, holder, length) the first bytes choose. Whatever decodes
 * must re-encode to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/recipe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vmd_rcp_header h;
    vmd_rcp_entry e;
    uint8_t hbuf[VMD_RCP_HEADER_SIZE], ebuf[VMD_RCP_ENTRY_SIZE];
    const uint8_t *rec;
    size_t rlen;
    uint32_t n;

    if (size < VMD_RCP_HEADER_SIZE + VMD_RCP_ENTRY_SIZE + 4)
        return 0;
    if (vmd_rcp_header_decode(&h, data, UINT64_MAX) == 0) {
        vmd_rcp_header_encode(&h, hbuf);
        if (memcmp(hbuf, data, 4) != 0 || memcmp(hbuf + 6, data + 6, VMD_RCP_HEADER_SIZE - 6))
            abort();
        if (vmd_rcp_entry_decode(&e, &h, data + VMD_RCP_HEADER_SIZE) == 0) {
            vmd_rcp_entry_encode(&e, ebuf);
            if (memcmp(ebuf, data + VMD_RCP_HEADER_SIZE, VMD_RCP_ENTRY_SIZE))
                abort();
        }
    }
    rec = data + VMD_RCP_HEADER_SIZE + VMD_RCP_ENTRY_SIZE;
    rlen = size - VMD_RCP_HEADER_SIZE - VMD_RCP_ENTRY_SIZE;
    n = (uint32_t)((rlen - 12) / VMD_RCP_REF_SIZE);
    if (n >= 1 && n <= 4096) {
        vmd_rcp_ref *refs = malloc(n * sizeof(*refs));
        uint32_t holder = data[VMD_RCP_HEADER_SIZE + 4] | 1u;
        uint64_t seg = rec[0];
        uint32_t len = 0, i;
        uint8_t *again;
        for (i = 0; i < n; i++)
            len += rec[12 + (size_t)i * VMD_RCP_REF_SIZE + 44] |
                   (uint32_t)rec[12 + (size_t)i * VMD_RCP_REF_SIZE + 45] << 8 |
                   (uint32_t)rec[12 + (size_t)i * VMD_RCP_REF_SIZE + 46] << 16;
        if (refs &&
            vmd_rcp_record_decode(refs, rec, vmd_rcp_record_size(n), seg, n, holder, len) == 0) {
            again = malloc(vmd_rcp_record_size(n));
            vmd_rcp_record_encode(again, seg, refs, n);
            if (memcmp(again, rec, vmd_rcp_record_size(n)))
                abort();
            free(again);
        }
        free(refs);
    }
    return 0;
}
