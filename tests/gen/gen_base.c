/*
 * gen_base.c - vmd-gen base: the two-layer layout of a disk (OS extents of
 * the family, VM extents of the seed) and the popular layer of a fleet.
 * The tool and its formats are described in vmd-gen.c.
 */
#include "vmd-gen.h"

typedef struct base_layout {
    rng fam, vm;
    uint64_t fam_key, vm_key;
    uint64_t os_count, sub_count; /* extents started so far: keys of their content */
    int next_is_os;
    uint64_t free_left; /* bytes left in the current free extent */
} base_layout;

/* The next extent from off: its kind, content key and length (not clipped). */
static void next_extent(base_layout *l, uint64_t off, enum gen_kind *kind, uint64_t *key,
                        uint64_t *len)
{
    if (l->free_left == 0) {
        int os = l->next_is_os;
        uint64_t n;
        if (off == 0)
            n = 256; /* the boot area: 1 MiB */
        else if (os)
            n = rng_range(&l->fam, 64, 2048); /* 256 KiB - 8 MiB */
        else
            n = rng_range(&l->fam, 128, 4096); /* 512 KiB - 16 MiB */
        l->next_is_os = !os;
        if (os) {
            *kind = GEN_OS;
            *key = mix(l->fam_key, l->os_count++);
            *len = n * BLOCK;
            return;
        }
        l->free_left = n * BLOCK;
    }
    /* A sub-extent of the free extent, from the VM's generator. */
    uint64_t c = rng_next(&l->vm) % 100;
    uint64_t n;
    if (c < 35) {
        *kind = GEN_TEXT;
        n = rng_range(&l->vm, 16, 512) * BLOCK;
    } else if (c < 60) {
        *kind = GEN_RANDOM;
        n = rng_range(&l->vm, 16, 512) * BLOCK;
    } else if (c < 80 || l->free_left < 4 * MIB) {
        *kind = GEN_ZERO;
        n = rng_range(&l->vm, 1, 256) * BLOCK;
    } else {
        uint64_t hi = l->free_left < 16 * MIB ? l->free_left : 16 * MIB;
        *kind = GEN_ZERO;
        n = rng_range(&l->vm, 4 * MIB / BLOCK, hi / BLOCK) * BLOCK;
    }
    if (n > l->free_left)
        n = l->free_left;
    l->free_left -= n;
    *key = mix(l->vm_key, l->sub_count++);
    *len = n;
}

/* --- popular layer (fleet) ----------------------------------------------- */

/* Uniform in [0, 1) from a key. */
double unit(uint64_t key)
{
    uint64_t s = key;
    return (double)(vmd_test_splitmix64(&s) >> 11) * (1.0 / 9007199254740992.0);
}

int popular_holds(const popular *p, uint64_t r)
{
    double ratio = p->head / (double)r;
    double prob = ratio >= 1 ? 1 : (p->s == 1 ? ratio : pow(ratio, p->s));
    return unit(mix(mix(p->pool_key, r), p->vm_key)) < prob;
}

uint64_t popular_file_len(const popular *p, uint64_t r)
{
    rng lr;
    rng_seed(&lr, mix(p->pool_key ^ 0x6c656eULL /* "len" */, r));
    return rng_range(&lr, 16, 256) * BLOCK;
}

/*
 * Up to n bytes of the VM's popular stream into w; returns how many. Fewer
 * than n only when the stream has ended: no file of the next 2^22 ranks is
 * held by the VM (possible only with a tiny head or a steep exponent).
 */
uint64_t popular_write(writer *w, popular *p, uint64_t n)
{
    uint64_t done = 0;
    while (done < n) {
        if (p->left == 0) {
            uint64_t limit = p->rank + (1ULL << 22);
            if (p->ended)
                break;
            do
                p->rank++;
            while (p->rank < limit && !popular_holds(p, p->rank));
            if (p->rank >= limit) {
                p->ended = 1;
                break;
            }
            p->left = popular_file_len(p, p->rank);
            gen_init(&p->g, GEN_OS, mix(p->pool_key, p->rank));
            p->files++;
        }
        uint64_t k = n - done < p->left ? n - done : p->left;
        writer_gen(w, &p->g, k);
        p->left -= k;
        p->bytes += k;
        done += k;
    }
    return done;
}

/*
 * A base image: the family layer of `family`, the VM layer of `seed`, and, when
 * pop is not NULL, the popular layer on top of the VM layer (see struct popular).
 * With pop NULL the bytes are those `vmd-gen base` has always written.
 */
void write_base(const char *path, uint64_t seed, uint64_t size, const char *family, popular *pop)
{
    base_layout l = {0};
    l.fam_key = mix(FAMILY_DOMAIN, fnv1a(family));
    l.vm_key = mix(VM_DOMAIN, seed);
    rng_seed(&l.fam, mix(l.fam_key, UINT64_MAX));
    rng_seed(&l.vm, mix(l.vm_key, UINT64_MAX));
    l.next_is_os = 1;
    uint64_t tail = size >= 8 * MIB ? (size / 8) & ~(BLOCK - 1) : 0;
    uint64_t body = size - tail;

    writer w;
    writer_open(&w, path);
    gen *g = malloc(sizeof *g);
    if (!g)
        die("out of memory");
    uint64_t off = 0;
    while (off < body) {
        enum gen_kind kind;
        uint64_t key, len;
        next_extent(&l, off, &kind, &key, &len);
        if (len > body - off)
            len = body - off;
        uint64_t done = 0;
        if (pop && (kind == GEN_TEXT || kind == GEN_RANDOM) &&
            rng_next(&pop->pick) % 1000 < pop->permille)
            done = popular_write(&w, pop, len);
        gen_init(g, kind, key);
        writer_gen(&w, g, len - done);
        off += len;
    }
    gen_init(g, GEN_ZERO, 0);
    writer_gen(&w, g, tail);
    writer_close(&w);
    free(g);
}

int cmd_base(int argc, char **argv)
{
    static const struct option opts[] = {{"seed", required_argument, NULL, 's'},
                                         {"size", required_argument, NULL, 'z'},
                                         {"os-family", required_argument, NULL, 'f'},
                                         {NULL, 0, NULL, 0}};
    const char *seed_s = NULL, *size_s = NULL, *family = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            seed_s = optarg;
            break;
        case 'z':
            size_s = optarg;
            break;
        case 'f':
            family = optarg;
            break;
        default:
            usage_error("base: bad option");
        }
    }
    if (!seed_s || !size_s || !family)
        usage_error("base needs --seed, --size and --os-family");
    if (optind + 1 != argc)
        usage_error("base needs exactly one output file");
    uint64_t seed = parse_size("--seed", seed_s);
    uint64_t size = parse_size("--size", size_s);
    if (size == 0)
        usage_error("--size must be above 0");

    write_base(argv[optind], seed, size, family, NULL);
    return 0;
}
