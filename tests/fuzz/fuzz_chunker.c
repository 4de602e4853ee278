/*
 * fuzz_chunker.c - the chunker with any parameters on any data.
 *
 * Input: 12 bytes of parameters, then the data (at most one segment). The
 * parameters are taken raw every fourth input (so validation sees anything)
 * and otherwise steered into the valid range (min 64.., avg a power of two,
 * max up to 1 MiB) so that most inputs are chunked.
 * Checks: only -EINVAL / -ERANGE for parameters outside the documented
 * rules and success within them; chunks consecutive, covering the data, all
 * but the last longer than min, none longer than max, no more than
 * vmd_chunk_count_max(); every cut equal to a byte-at-a-time reference of the
 * rule in chunker.h; -ENOSPC with one slot too few.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chunk/chunker.h"
#include "chunker_ref.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

static int valid(const vmd_chunk_params *p)
{
    return p->min >= VMD_CHUNK_MIN_LIMIT && p->max <= VMD_CHUNK_MAX_LIMIT && p->avg != 0 &&
           (p->avg & (p->avg - 1)) == 0 && p->min < p->avg && p->avg < p->max;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vmd_chunk_params p;
    vmd_chunker c;
    vmd_chunk *ch;
    size_t n, cap, i, off;
    uint32_t raw[3];
    int err;

    if (size < 12)
        return 0;
    memcpy(raw, data, 12);
    data += 12;
    size -= 12;
    if (size > VMD_SEGMENT_SIZE)
        size = VMD_SEGMENT_SIZE;
    if ((raw[0] & 3) == 0) {
        p = (vmd_chunk_params){raw[0], raw[1], raw[2]};
    } else {
        p.avg = 1u << (7 + raw[1] % 13);                            /* 128 .. 512 KiB */
        p.min = 64 + raw[0] % (p.avg - 64);                         /* 64 .. avg - 1 */
        p.max = p.avg + 1 + raw[2] % (VMD_CHUNK_MAX_LIMIT - p.avg); /* avg + 1 .. 1 MiB */
    }
    err = vmd_chunker_init(&c, &p);
    if (!valid(&p)) {
        check(err == -EINVAL || err == -ERANGE);
        return 0;
    }
    check(err == 0);

    cap = vmd_chunk_count_max(&c, size);
    ch = malloc((cap + 1) * sizeof(*ch));
    if (!ch)
        return 0;
    check(vmd_chunk_segment(&c, data, size, ch, cap, &n) == 0);
    check(n <= cap && (n == 0) == (size == 0));
    for (i = 0, off = 0; i < n; i++) {
        check(ch[i].off == off && ch[i].len >= 1 && ch[i].len <= c.p.max);
        check(i + 1 == n || ch[i].len > c.p.min);
        check(ch[i].len == vmd_test_reference_cut(&c, data + off, size - off));
        off += ch[i].len;
    }
    check(off == size);
    if (n > 0)
        check(vmd_chunk_segment(&c, data, size, ch, n - 1, &n) == -ENOSPC);
    free(ch);
    return 0;
}
