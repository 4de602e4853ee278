/*
 * gen_stats.c - vmd-gen stats: reference figures of a fleet directory
 * (logical, perfect dedup, per-VM dedup, dirty segments, block popularity).
 * The tool and its formats are described in vmd-gen.c.
 */
#include "vmd-gen.h"

/*
 * 128-bit hash of a block: two 64-bit lanes of different shape over the
 * 8-byte words (xor-multiply-rotate and add-multiply-xorshift), crossed and
 * finalised. Not cryptographic; it only has to tell the blocks of a
 * generated or real fleet apart: a chance collision at 2^-128 per pair is
 * far below anything that shows in the figures.
 */
static void hash128(const uint8_t *p, size_t n, uint64_t out[2])
{
    uint64_t h1 = 0x243f6a8885a308d3ULL ^ n, h2 = 0x13198a2e03707344ULL + n;
    for (size_t i = 0; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h1 = rotl((h1 ^ w) * 0x9e3779b97f4a7c15ULL, 31);
        h2 = (h2 + w) * 0xc2b2ae3d27d4eb4fULL;
        h2 ^= h2 >> 29;
    }
    uint64_t s1 = h1 ^ rotl(h2, 17), s2 = h2 + rotl(h1, 41);
    out[0] = vmd_test_splitmix64(&s1);
    out[1] = vmd_test_splitmix64(&s2) | 1; /* never {0, 0}: that marks a free slot */
}

typedef struct bentry {
    uint64_t h[2];
    uint32_t last_vm; /* the last VM that held the block */
    uint32_t vms;     /* how many VMs hold it */
} bentry;

typedef struct bset {
    bentry *e;
    uint64_t cap, n; /* cap: a power of two */
} bset;

static void bset_grow(bset *s)
{
    uint64_t ncap = s->cap ? s->cap * 2 : 1 << 16;
    bentry *ne = calloc(ncap, sizeof *ne);
    if (!ne)
        die("out of memory (a block table of %" PRIu64 " entries)", ncap);
    for (uint64_t i = 0; i < s->cap; i++) {
        if (s->e[i].h[1] == 0)
            continue;
        uint64_t j = s->e[i].h[0] & (ncap - 1);
        while (ne[j].h[1] != 0)
            j = (j + 1) & (ncap - 1);
        ne[j] = s->e[i];
    }
    free(s->e);
    s->e = ne;
    s->cap = ncap;
}

/* Counts block h of VM vm: a new block, or one more VM for a known block. */
static void bset_add(bset *s, const uint64_t h[2], uint32_t vm)
{
    if ((s->n + 1) * 10 > s->cap * 7)
        bset_grow(s);
    uint64_t j = h[0] & (s->cap - 1);
    while (s->e[j].h[1] != 0) {
        if (s->e[j].h[0] == h[0] && s->e[j].h[1] == h[1]) {
            if (s->e[j].last_vm != vm) {
                s->e[j].last_vm = vm;
                s->e[j].vms++;
            }
            return;
        }
        j = (j + 1) & (s->cap - 1);
    }
    s->e[j].h[0] = h[0];
    s->e[j].h[1] = h[1];
    s->e[j].last_vm = vm;
    s->e[j].vms = 1;
    s->n++;
}

typedef struct snap {
    char vm[128], image[1024], map[1024];
    uint64_t num;
    size_t line;
} snap;

static int snap_cmp(const void *pa, const void *pb)
{
    const snap *a = pa, *b = pb;
    int c = strcmp(a->vm, b->vm);
    if (c)
        return c;
    if (a->num != b->num)
        return a->num < b->num ? -1 : 1;
    return a->line < b->line ? -1 : a->line > b->line;
}

/* Marks in dirty[] the segments a text-list map names (N, N-M, bytes OFF+LEN). */
static void read_segment_map(const char *path, uint64_t size, uint8_t *dirty)
{
    FILE *f = fopen(path, "r");
    char line[512];
    size_t ln = 0;
    uint64_t nseg = (size + SEGMENT - 1) / SEGMENT;
    if (!f)
        die("cannot open %s: %s", path, strerror(errno));
    while (fgets(line, sizeof line, f)) {
        char *p = line, *e;
        uint64_t a, b;
        ln++;
        p[strcspn(p, "#\r\n")] = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            continue;
        if (strncmp(p, "bytes", 5) == 0) {
            uint64_t off = strtoull(p + 5, &e, 0), len;
            while (*e == ' ' || *e == '\t' || *e == '+')
                e++;
            len = strtoull(e, &e, 0);
            if (len == 0)
                continue;
            a = off / SEGMENT;
            b = (off + len - 1) / SEGMENT;
        } else {
            a = b = strtoull(p, &e, 0);
            while (*e == ' ' || *e == '\t')
                e++;
            if (*e == '-')
                b = strtoull(e + 1, &e, 0);
        }
        while (*e == ' ' || *e == '\t')
            e++;
        if (e == p || *e != '\0' || b < a || b >= nseg)
            die("%s: line %zu: not a segment or range of a disk of %" PRIu64 " segments", path, ln,
                nseg);
        for (uint64_t s = a; s <= b; s++)
            dirty[s] = 1;
    }
    fclose(f);
}

int cmd_stats(int argc, char **argv)
{
    if (argc != 2)
        usage_error("stats needs the fleet directory");
    const char *dir = argv[1];
    char *listp = path_join(dir, "fleet.list");
    FILE *lf = fopen(listp, "r");
    if (!lf)
        die("cannot open %s: %s", listp, strerror(errno));
    snap *snaps = NULL;
    size_t n = 0, cap = 0, ln = 0;
    char line[4096];
    while (fgets(line, sizeof line, lf)) {
        ln++;
        if (line[0] == '#' || line[strspn(line, " \t\r\n")] == '\0')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            snaps = realloc(snaps, cap * sizeof *snaps);
            if (!snaps)
                die("out of memory");
        }
        snap *s = &snaps[n];
        if (sscanf(line, "%127s %" SCNu64 " %1023s %1023s", s->vm, &s->num, s->image, s->map) != 4)
            die("%s: line %zu: expected VM SNAP IMAGE MAP", listp, ln);
        s->line = ln;
        n++;
    }
    fclose(lf);
    if (n == 0)
        die("%s lists no snapshot", listp);
    qsort(snaps, n, sizeof *snaps, snap_cmp); /* VM by VM: counts VMs per block */

    bset set = {0};
    uint8_t *buf = malloc(IOBUF);
    if (!buf)
        die("out of memory");
    uint64_t logical = 0, first = 0, nonzero = 0, dirty_bytes = 0, dirty_nonzero = 0;
    uint32_t vm = 0;
    for (size_t i = 0; i < n; i++) {
        const snap *s = &snaps[i];
        if (i > 0 && strcmp(s->vm, snaps[i - 1].vm) != 0)
            vm++;
        char *img = path_join(dir, s->image);
        uint64_t size;
        int fd = open_image(img, &size);
        uint64_t nseg = (size + SEGMENT - 1) / SEGMENT;
        uint8_t *dirty = malloc(nseg ? nseg : 1);
        if (!dirty)
            die("out of memory");
        int full = strcmp(s->map, "-") == 0;
        memset(dirty, full, nseg);
        if (!full) {
            char *mp = path_join(dir, s->map);
            read_segment_map(mp, size, dirty);
            free(mp);
        }
        logical += size;
        if (full)
            first += size;
        for (uint64_t g = 0; g < nseg; g++)
            if (dirty[g])
                dirty_bytes += size - g * SEGMENT < SEGMENT ? size - g * SEGMENT : SEGMENT;
        for (uint64_t off = 0; off < size; off += IOBUF) {
            size_t k = size - off < IOBUF ? (size_t)(size - off) : IOBUF;
            xpread(fd, buf, k, off, img);
            if (k % BLOCK) { /* the last, partial block: padded with zeros */
                size_t pad = BLOCK - k % BLOCK;
                memset(buf + k, 0, pad);
                k += pad;
            }
            for (size_t b = 0; b < k; b += BLOCK) {
                uint64_t at = off + b, h[2];
                uint64_t len = size - at < BLOCK ? size - at : BLOCK;
                if (all_zero(buf + b, BLOCK))
                    continue;
                nonzero += len;
                if (dirty[at / SEGMENT])
                    dirty_nonzero += len;
                hash128(buf + b, BLOCK, h);
                bset_add(&set, h, vm);
            }
        }
        close(fd);
        free(dirty);
        free(img);
    }
    uint32_t nvms = vm + 1;
    uint64_t per_vm = 0, *held = calloc(nvms + 1, sizeof *held);
    if (!held)
        die("out of memory");
    for (uint64_t i = 0; i < set.cap; i++) {
        if (set.e[i].h[1] == 0)
            continue;
        per_vm += set.e[i].vms;
        held[set.e[i].vms < nvms ? set.e[i].vms : nvms]++;
    }
    printf("snapshots=%zu\nvms=%" PRIu32 "\nblock=%" PRIu64 "\n", n, nvms, (uint64_t)BLOCK);
    printf("logical_bytes=%" PRIu64 "\nfirst_snapshot_bytes=%" PRIu64 "\n", logical, first);
    printf("nonzero_bytes=%" PRIu64 "\n", nonzero);
    printf("perfect_dedup_bytes=%" PRIu64 "\n", (uint64_t)(set.n * BLOCK));
    printf("per_vm_dedup_bytes=%" PRIu64 "\n", (uint64_t)(per_vm * BLOCK));
    printf("dirty_segment_bytes=%" PRIu64 "\n", dirty_bytes);
    printf("dirty_segment_nonzero_bytes=%" PRIu64 "\n", dirty_nonzero);
    printf("unique_blocks=%" PRIu64 "\nheld_by_vms=", set.n);
    for (uint32_t k = 1; k <= nvms; k++)
        printf("%s%" PRIu32 ":%" PRIu64, k > 1 ? "," : "", k, held[k]);
    printf("\n");
    free(held);
    free(set.e);
    free(buf);
    free(snaps);
    free(listp);
    return 0;
}
