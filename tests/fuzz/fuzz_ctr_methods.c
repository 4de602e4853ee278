/*
 * fuzz_ctr_methods.c - ctr_scrub, ctr_compact and ctr_stats on a mem_obj holding a fuzzed
 * container, with well-formed requests chosen by the input (and, for bit 6 of the selector,
 * the input's tail as a raw request).
 *
 * Selector byte: bits 0-1 method (0 scrub, 1 compact, 2 stats, 3 compact then scrub),
 * bit 2 compaction mode, bit 3 bitmap for one slot too many, bit 6 raw request,
 * bit 7 raw object; the next byte is the compaction bitmap's pattern.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_ctr_input.h"
#include "methods/container_methods.h"
#include "mem_obj.h"
#include "format/container_msg.h"

static void call(mem_obj *m, mem_method_fn fn, const uint8_t *req, size_t len)
{
    uint8_t *out = NULL;
    size_t outlen = 0;
    (void)mem_obj_call(m, fn, req, len, &out, &outlen);
    free(out);
}

static void compact(mem_obj *m, uint8_t sel, uint8_t pattern)
{
    vmd_ctr *c = NULL;
    vmd_ctr_fault f;
    vmd_ctr_compact_req q;
    uint8_t *bitmap, *req;
    uint32_t n = 0, i;
    size_t len;

    if (vmd_ctr_validate(&c, mem_obj_data(m), mem_obj_size(m), &f) == 0)
        n = c->hdr.nslots;
    vmd_ctr_free(c);
    n += (sel >> 3) & 1;
    if (n > VMD_CTR_MAX_SLOTS)
        n = VMD_CTR_MAX_SLOTS;
    bitmap = calloc(1, n / 8 + 1);
    req = malloc(VMD_CTR_COMPACT_REQ_SIZE(n));
    if (!bitmap || !req)
        goto out;
    for (i = 0; i < n; i++)
        if ((pattern >> (i % 8)) & 1)
            vmd_ctr_bitmap_set(bitmap, i);
    memset(&q, 0, sizeof(q));
    q.op_id[0] = pattern;
    q.mode = (sel >> 2) & 1;
    q.nslots = n;
    q.bitmap = bitmap;
    if (vmd_ctr_compact_req_encode(&q, req, VMD_CTR_COMPACT_REQ_SIZE(n), &len) == 0) {
        call(m, vmd_m_ctr_compact, req, len);
        call(m, vmd_m_ctr_compact, req, len); /* a replay */
    }
out:
    free(bitmap);
    free(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t req[16], *obj;
    vmd_ctr_scrub_req sq = {8};
    size_t len, objlen;
    mem_obj *m;
    uint8_t sel;

    if (size < 2)
        return 0;
    sel = data[0];
    m = mem_obj_new();
    obj = fuzz_ctr_object(data + 2, size - 2, sel & 0x80, &objlen);
    if (!m || !obj || mem_obj_put_data(m, obj, objlen) != 0)
        goto out;
    if (sel & 0x40) {
        call(m, vmd_m_ctr_scrub, data + 2, size - 2);
        call(m, vmd_m_ctr_compact, data + 2, size - 2);
        call(m, vmd_m_ctr_stats, data + 2, size - 2);
        goto out;
    }
    switch (sel & 3) {
    case 1:
        compact(m, sel, data[1]);
        break;
    case 2:
        if (vmd_ctr_stats_req_encode(req, sizeof(req), &len) == 0)
            call(m, vmd_m_ctr_stats, req, len);
        break;
    case 3:
        compact(m, sel, data[1]);
        /* fall through */
    default:
        if (vmd_ctr_scrub_req_encode(&sq, req, sizeof(req), &len) == 0)
            call(m, vmd_m_ctr_scrub, req, len);
    }
out:
    free(obj);
    mem_obj_free(m);
    return 0;
}
