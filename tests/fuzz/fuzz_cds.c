/*
 * fuzz_cds.c - the CDS manifest decoders on arbitrary bytes.
 *
 * The input is a manifest: a header (64 bytes) and entries. The header is
 * decoded against the input's size and without it; whatever decodes must
 * re-encode to the same bytes. The entries are then decoded in two blocks
 * (the second continuing the order of the first), and every entry that
 * decodes must re-encode to its bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/cds_manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vmd_cds_header h;
    vmd_cds_entry prev, *e;
    uint8_t hbuf[VMD_CDS_HEADER_SIZE], ebuf[VMD_CDS_ENTRY_SIZE];
    size_t n, half, i;

    if (size < VMD_CDS_HEADER_SIZE)
        return 0;
    (void)vmd_cds_header_decode(&h, data, size);
    if (vmd_cds_header_decode(&h, data, UINT64_MAX) != 0)
        return 0;
    vmd_cds_header_encode(&h, hbuf);
    if (memcmp(hbuf, data, VMD_CDS_HEADER_SIZE) != 0)
        abort();
    n = (size - VMD_CDS_HEADER_SIZE) / h.entry_size;
    if (n == 0 || n > 4096)
        return 0;
    e = malloc(n * sizeof(*e));
    if (!e)
        return 0;
    memset(&prev, 0, sizeof(prev));
    half = n / 2;
    if (vmd_cds_entries_decode(e, data + VMD_CDS_HEADER_SIZE, half * h.entry_size, half, &h,
                               &prev) == 0 &&
        vmd_cds_entries_decode(e + half, data + VMD_CDS_HEADER_SIZE + half * h.entry_size,
                               (n - half) * h.entry_size, n - half, &h, &prev) == 0) {
        for (i = 0; i < n; i++) {
            vmd_cds_entry_encode(&e[i], ebuf);
            if (memcmp(ebuf, data + VMD_CDS_HEADER_SIZE + i * h.entry_size, VMD_CDS_ENTRY_SIZE))
                abort();
            if (i && vmd_cds_entry_order(&e[i - 1], &e[i]) >= 0)
                abort();
        }
    }
    free(e);
    return 0;
}
