/*
 * vmd-gen.c - deterministic, seeded generator of VM disk images and of the
 * dirty maps of their next snapshots, for the backup/restore tests and the
 * benchmarks. No dependency beyond libc.
 *
 *   vmd-gen base --seed S --size BYTES --os-family F OUT.img
 *   vmd-gen mutate --seed S --in PARENT.img --out CHILD.img --dirty-map CHILD.map
 *                  [--cbt-map CHILD.cbt] [--rate R]
 *
 * Sizes take a K, M, G or T suffix (binary: 1K = 1024); any size is fine, it
 * need not be a multiple of 2 MiB or 4 KiB. The same arguments always give the
 * same bytes (the output depends on nothing else: not the time, not the
 * buffer sizes, not the machine). Output files are written sparse where they
 * hold zeros (64 KiB pieces); the content is what counts, compare with cmp.
 * Memory is bounded (a few MiB) whatever the image size: both subcommands
 * stream.
 *
 * Randomness: SplitMix64 turns a key (seed, family, extent number...) into
 * the 256-bit state of a xoshiro256** generator; every extent of content has
 * its own generator, so content depends only on its key and its position in
 * the extent.
 *
 * base - the layout of the disk comes in two layers:
 *   1. the family layer, from F only: from offset 0, alternating OS extents
 *      (256 KiB - 8 MiB; the first one is 1 MiB at offset 0, the "boot area")
 *      and free extents (512 KiB - 16 MiB). The content of the n-th OS extent
 *      is derived from (F, n): two VMs of one family hold the same OS bytes at
 *      the same offsets, whatever their seed and size. OS content is a mix per
 *      4 KiB block of text, "binary" (random bytes with half of them zero),
 *      random and zero blocks.
 *   2. the VM layer, from S: each free extent is cut into sub-extents of text
 *      (compressible: words, numbers, lines; 64 KiB - 2 MiB), random data
 *      (incompressible; 64 KiB - 2 MiB), small zero runs (4 KiB - 1 MiB) and
 *      large zero runs (4 - 16 MiB, where the extent has room). Text and random
 *      data are unique to the VM.
 *   Images of 8 MiB or more end with a zero tail of size/8 (unused space at
 *   the end of a disk); from 16 MiB on it holds at least one whole 2 MiB
 *   segment, so every such image has a zero segment.
 *
 * mutate - the next snapshot of PARENT: a plan of non-overlapping edits,
 *   derived from S and the parent (its size and where its zero runs are), then
 *   one streaming pass that copies the parent and applies them:
 *     overwrite  4 KiB - 1 MiB at a 4 KiB boundary replaced by new data
 *     insert     in a window of 64 KiB - 1 MiB, K bytes (1 - 16 KiB, any
 *                count) of new data inserted at any byte; the rest of the
 *                window shifts right and its last K bytes fall off (a file
 *                rewritten in place inside a filesystem: the disk size stays)
 *     delete     in such a window, K bytes removed at any byte; the rest
 *                shifts left and K bytes of new data fill the window's end
 *     fill       new data (4 KiB - 1 MiB) written into a zero run of the parent
 *     zero       64 KiB - 2 MiB at a 4 KiB boundary zeroed
 *   R (default 0.02) is the fraction of the disk to change: one edit of each
 *   kind (when the disk has room for it), then edits of random kinds until R
 *   of the disk is covered. R = 0 gives an identical copy and an empty map.
 *   New data is text or random, unique to (S, edit number).
 *   The dirty map (docs/dirty-maps.md, text list: segment numbers and ranges
 *   N-M of 2 MiB segments) marks every segment holding a changed byte.
 *   --cbt-map writes the same changes as a XenServer CBT bitmap (1 bit per
 *   64 KiB block, least significant bit first, base64 after a "cbt:" line,
 *   wrapped at 76 columns); it takes size / 512 KiB bytes of memory.
 *   --verbose lists the edits on stderr.
 *
 * Exit status: 0 success; 1 error, one line "vmd-gen: error: ..." on stderr;
 * 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define KIB       1024ULL
#define MIB       (1024ULL * KIB)
#define BLOCK     (4 * KIB)  /* filesystem block: unit of layout and of writes */
#define SEGMENT   (2 * MIB)  /* segment of the dirty map */
#define CBT_UNIT  (64 * KIB) /* one bit of a CBT bitmap */
#define IOBUF     (1 * MIB)  /* streaming buffer */
#define HOLE      (64 * KIB) /* zero pieces this large are skipped (sparse output) */
#define ZSCAN     (64 * KIB) /* granularity of the parent's zero-run scan */
#define MAX_RUNS  (1 << 16)  /* zero runs of the parent remembered for "fill" */
#define MAX_EDITS 100000

static const char *prog = "vmd-gen";

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: error: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void usage_error(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr,
            "\nusage: %s base --seed S --size BYTES --os-family F OUT.img\n"
            "       %s mutate --seed S --in PARENT.img --out CHILD.img "
            "--dirty-map CHILD.map [--cbt-map FILE] [--rate R] [--verbose]\n",
            prog, prog);
    exit(2);
}

/* --- PRNG: SplitMix64 for keys, xoshiro256** for streams ---------------- */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* One 64-bit key from two, order-sensitive. */
static uint64_t mix(uint64_t a, uint64_t b)
{
    uint64_t s = a ^ 0x6a09e667f3bcc908ULL;
    uint64_t x = splitmix64(&s);
    s = x ^ b;
    return splitmix64(&s);
}

static uint64_t fnv1a(const char *str)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *str; str++) {
        h ^= (unsigned char)*str;
        h *= 0x100000001b3ULL;
    }
    return h;
}

typedef struct rng {
    uint64_t s[4];
} rng;

static void rng_seed(rng *r, uint64_t key)
{
    uint64_t s = key;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&s);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [lo, hi] (hi - lo well below 2^64: the modulo bias is negligible). */
static uint64_t rng_range(rng *r, uint64_t lo, uint64_t hi)
{
    if (hi <= lo)
        return lo;
    return lo + rng_next(r) % (hi - lo + 1);
}

/* --- content generators: split-independent streams of 4 KiB blocks ------ */

enum gen_kind { GEN_ZERO, GEN_TEXT, GEN_RANDOM, GEN_OS };

static const char *const words[] = {
    "the",       "of",       "and",       "to",       "in",      "is",      "for",       "on",
    "with",      "by",       "from",      "at",       "as",      "be",      "this",      "that",
    "not",       "or",       "are",       "an",       "if",      "usr",     "lib",       "bin",
    "etc",       "var",      "log",       "share",    "local",   "include", "kernel",    "module",
    "systemd",   "service",  "unit",      "daemon",   "started", "stopped", "failed",    "error",
    "warning",   "info",     "debug",     "config",   "option",  "value",   "default",   "enabled",
    "disabled",  "true",     "false",     "none",     "auto",    "static",  "dynamic",   "network",
    "interface", "address",  "gateway",   "netmask",  "dns",     "host",    "port",      "user",
    "group",     "root",     "home",      "mount",    "device",  "disk",    "partition", "block",
    "inode",     "file",     "directory", "path",     "size",    "package", "version",   "install",
    "remove",    "upgrade",  "depends",   "provides", "x86_64",  "amd64",   "linux",     "debian",
    "ubuntu",    "centos",   "xen",       "return",   "int",     "char",    "void",      "struct",
    "const",     "static",   "if",        "else",     "while",   "for",     "switch",    "case",
    "break",     "function", "local",     "echo",     "export",  "then",    "fi",        "done",
    "GET",       "POST",     "HTTP/1.1",  "200",      "404",     "500",     "request",   "response",
    "session",   "client",   "server",    "timeout",  "retry",   "connect", "=",         "==",
    "{",         "}",        "(",         ")",        ";",       "#",       "//",        "/*",
    "*/",        "->",       "::",        "[",        "]",       "<",       ">",         ":",
    ",",         ".",        "-",         "alpha",    "beta",    "gamma",   "delta",     "data",
    "cache",     "buffer",   "queue",     "thread",   "process", "memory",  "cpu",       "time",
    "date",      "Jan",      "Feb",       "Mar",      "Apr",     "May",     "Jun",       "Jul",
    "Aug",       "Sep",      "Oct",       "Nov",      "Dec",     "Mon",     "Tue",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

typedef struct gen {
    enum gen_kind kind;
    rng r;
    uint8_t blk[BLOCK];
    size_t pos;     /* next byte of blk to hand out; BLOCK: empty */
    char carry[32]; /* text: rest of a word that did not fit the last block */
    size_t carry_pos, carry_len;
    unsigned line_len; /* text: characters on the current line */
} gen;

static void gen_init(gen *g, enum gen_kind kind, uint64_t key)
{
    g->kind = kind;
    rng_seed(&g->r, key);
    g->pos = BLOCK;
    g->carry_pos = 0;
    g->carry_len = 0;
    g->line_len = 0;
}

static void fill_random(rng *r, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = rng_next(r);
        memcpy(p + i, &v, n - i < 8 ? n - i : 8);
    }
}

/* Text: words and numbers, separated by spaces, lines of 40-100 characters. */
static void fill_text(gen *g, uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (g->carry_len == 0) { /* the next word and its separator into carry */
            uint64_t v = rng_next(&g->r);
            size_t len = 0;
            if ((v & 7) == 0) { /* a number: unique per stream, less compressible */
                char digits[8];
                size_t d = 0;
                uint64_t x = (v >> 8) % 1000000;
                do {
                    digits[d++] = (char)('0' + x % 10);
                    x /= 10;
                } while (x);
                while (d)
                    g->carry[len++] = digits[--d];
            } else {
                const char *w = words[(v >> 8) % NWORDS];
                len = strlen(w);
                memcpy(g->carry, w, len);
            }
            int newline = g->line_len > 40 + (v >> 58);
            g->carry[len++] = newline ? '\n' : ' ';
            g->line_len = newline ? 0 : g->line_len + (unsigned)len;
            g->carry_len = len;
            g->carry_pos = 0;
        }
        size_t k = g->carry_len < n - i ? g->carry_len : n - i;
        memcpy(p + i, g->carry + g->carry_pos, k);
        g->carry_pos += k;
        g->carry_len -= k;
        i += k;
    }
}

static void gen_block(gen *g)
{
    switch (g->kind) {
    case GEN_ZERO:
        memset(g->blk, 0, BLOCK);
        break;
    case GEN_TEXT:
        fill_text(g, g->blk, BLOCK);
        break;
    case GEN_RANDOM:
        fill_random(&g->r, g->blk, BLOCK);
        break;
    case GEN_OS: {
        uint64_t c = rng_next(&g->r) % 100;
        if (c < 45) {
            fill_text(g, g->blk, BLOCK);
        } else if (c < 80) { /* binary-like: half the bytes zero */
            fill_random(&g->r, g->blk, BLOCK);
            for (size_t i = 0; i < BLOCK; i += 8) {
                uint64_t m = rng_next(&g->r);
                for (int b = 0; b < 8; b++)
                    if (m & (1ULL << (b * 8)))
                        g->blk[i + b] = 0;
            }
        } else if (c < 92) {
            fill_random(&g->r, g->blk, BLOCK);
        } else {
            memset(g->blk, 0, BLOCK);
        }
        break;
    }
    }
    g->pos = 0;
}

/* The next n bytes of the stream; the same whatever the sizes of the calls. */
static void gen_fill(gen *g, uint8_t *p, size_t n)
{
    if (g->kind == GEN_ZERO) {
        memset(p, 0, n);
        return;
    }
    while (n > 0) {
        if (g->pos == BLOCK)
            gen_block(g);
        size_t k = BLOCK - g->pos < n ? BLOCK - g->pos : n;
        memcpy(p, g->blk + g->pos, k);
        g->pos += k;
        p += k;
        n -= k;
    }
}

/* --- output: a buffered, sparse writer ---------------------------------- */

typedef struct writer {
    int fd;
    const char *path;
    int sparse;   /* regular file: zero pieces become holes */
    uint64_t off; /* bytes handed to the writer so far */
    uint8_t *buf; /* IOBUF bytes; flushed at multiples of IOBUF, so pieces are aligned */
    size_t len;
} writer;

static void xwrite(int fd, const void *p, size_t n, const char *path)
{
    const uint8_t *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            die("cannot write %s: %s", path, strerror(errno));
        c += w;
        n -= (size_t)w;
    }
}

static int all_zero(const uint8_t *p, size_t n)
{
    static const uint8_t zero[HOLE];
    while (n > 0) {
        size_t k = n < HOLE ? n : HOLE;
        if (memcmp(p, zero, k) != 0)
            return 0;
        p += k;
        n -= k;
    }
    return 1;
}

static void writer_open(writer *w, const char *path)
{
    struct stat st;
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (w->fd < 0)
        die("cannot create %s: %s", path, strerror(errno));
    w->path = path;
    w->sparse = fstat(w->fd, &st) == 0 && S_ISREG(st.st_mode);
    w->off = 0;
    w->len = 0;
    w->buf = malloc(IOBUF);
    if (!w->buf)
        die("out of memory");
}

static void writer_flush(writer *w)
{
    for (size_t i = 0; i < w->len; i += HOLE) {
        size_t k = w->len - i < HOLE ? w->len - i : HOLE;
        if (w->sparse && all_zero(w->buf + i, k)) {
            if (lseek(w->fd, (off_t)k, SEEK_CUR) < 0)
                die("cannot seek in %s: %s", w->path, strerror(errno));
        } else {
            xwrite(w->fd, w->buf + i, k, w->path);
        }
    }
    w->len = 0;
}

/* Room for at most n more bytes at the end of the buffer: a pointer and its size. */
static uint8_t *writer_space(writer *w, size_t *n)
{
    if (w->len == IOBUF)
        writer_flush(w);
    if (*n > IOBUF - w->len)
        *n = IOBUF - w->len;
    return w->buf + w->len;
}

static void writer_commit(writer *w, size_t n)
{
    w->len += n;
    w->off += n;
}

static void writer_gen(writer *w, gen *g, uint64_t n)
{
    while (n > 0) {
        size_t k = n < IOBUF ? (size_t)n : IOBUF;
        uint8_t *dst = writer_space(w, &k);
        gen_fill(g, dst, k);
        writer_commit(w, k);
        n -= k;
    }
}

static void writer_close(writer *w)
{
    writer_flush(w);
    if (w->sparse && ftruncate(w->fd, (off_t)w->off) < 0)
        die("cannot set the size of %s: %s", w->path, strerror(errno));
    if (close(w->fd) < 0)
        die("cannot write %s: %s", w->path, strerror(errno));
    free(w->buf);
}

/* --- argument parsing ---------------------------------------------------- */

static uint64_t parse_size(const char *what, const char *s)
{
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9')
        usage_error("%s: not a size: '%s'", what, s);
    unsigned long long v = strtoull(s, &end, 0);
    uint64_t mul = 1;
    if (errno)
        usage_error("%s: not a size: '%s'", what, s);
    switch (*end) {
    case 'k':
    case 'K':
        mul = KIB;
        end++;
        break;
    case 'm':
    case 'M':
        mul = MIB;
        end++;
        break;
    case 'g':
    case 'G':
        mul = 1024 * MIB;
        end++;
        break;
    case 't':
    case 'T':
        mul = 1024 * 1024 * MIB;
        end++;
        break;
    default:
        break;
    }
    if (mul > 1 && (*end == 'i' || *end == 'I') && (end[1] == 'b' || end[1] == 'B'))
        end += 2;
    if (*end != '\0' || (mul > 1 && v > UINT64_MAX / mul))
        usage_error("%s: not a size: '%s'", what, s);
    return v * mul;
}

/* --- base ---------------------------------------------------------------- */

#define FAMILY_DOMAIN 0x66616d696c79ULL   /* "family" */
#define VM_DOMAIN     0x766d7365656400ULL /* "vmseed" */

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

static int cmd_base(int argc, char **argv)
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

    base_layout l = {0};
    l.fam_key = mix(FAMILY_DOMAIN, fnv1a(family));
    l.vm_key = mix(VM_DOMAIN, seed);
    rng_seed(&l.fam, mix(l.fam_key, UINT64_MAX));
    rng_seed(&l.vm, mix(l.vm_key, UINT64_MAX));
    l.next_is_os = 1;
    uint64_t tail = size >= 8 * MIB ? (size / 8) & ~(BLOCK - 1) : 0;
    uint64_t body = size - tail;

    writer w;
    writer_open(&w, argv[optind]);
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
        gen_init(g, kind, key);
        writer_gen(&w, g, len);
        off += len;
    }
    gen_init(g, GEN_ZERO, 0);
    writer_gen(&w, g, tail);
    writer_close(&w);
    free(g);
    return 0;
}

/* --- mutate -------------------------------------------------------------- */

enum edit_kind { ED_OVERWRITE, ED_INSERT, ED_DELETE, ED_FILL, ED_ZERO, ED_KINDS };
static const char *const edit_names[] = {"overwrite", "insert", "delete", "fill", "zero"};

typedef struct edit {
    uint64_t start, len; /* bytes of the disk the edit replaces */
    uint64_t at, k;      /* insert/delete: K bytes at byte `at` of the disk */
    enum edit_kind kind;
    uint64_t key; /* of the new data */
    int text;     /* new data is text (else random) */
} edit;

typedef struct run {
    uint64_t start, len;
} run;

static void xpread(int fd, void *p, size_t n, uint64_t off, const char *path)
{
    uint8_t *c = p;
    while (n > 0) {
        ssize_t r = pread(fd, c, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            die("cannot read %s: %s", path, strerror(errno));
        if (r == 0)
            die("cannot read %s: unexpected end of file at byte %" PRIu64, path, off);
        c += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
}

/* Zero runs of the parent, in whole ZSCAN pieces, at least ZSCAN long (at most MAX_RUNS). */
static run *scan_zero_runs(int fd, const char *path, uint64_t size, uint8_t *buf, size_t *count)
{
    run *runs = malloc(MAX_RUNS * sizeof *runs);
    size_t n = 0;
    int open_run = 0;
    if (!runs)
        die("out of memory");
    for (uint64_t off = 0; off + ZSCAN <= size; off += IOBUF) {
        size_t k = size - off < IOBUF ? (size_t)(size - off) : IOBUF;
        k -= k % ZSCAN;
        xpread(fd, buf, k, off, path);
        for (size_t i = 0; i < k; i += ZSCAN) {
            if (all_zero(buf + i, ZSCAN)) {
                if (open_run) {
                    runs[n - 1].len += ZSCAN;
                } else if (n < MAX_RUNS) {
                    runs[n++] = (run){off + i, ZSCAN};
                    open_run = 1;
                }
            } else {
                open_run = 0;
            }
        }
    }
    *count = n;
    return runs;
}

/* Inserts e into the sorted array unless it overlaps an edit there; 1 if inserted. */
static int plan_add(edit *plan, size_t *n, const edit *e)
{
    size_t lo = 0, hi = *n;
    while (lo < hi) { /* first edit starting at or after e */
        size_t mid = (lo + hi) / 2;
        if (plan[mid].start < e->start)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < *n && plan[lo].start < e->start + e->len)
        return 0;
    if (lo > 0 && plan[lo - 1].start + plan[lo - 1].len > e->start)
        return 0;
    memmove(plan + lo + 1, plan + lo, (*n - lo) * sizeof *plan);
    plan[lo] = *e;
    (*n)++;
    return 1;
}

/* A 4 KiB-aligned start for len bytes in [lo, lo + room) (room >= len). */
static uint64_t place(rng *r, uint64_t lo, uint64_t room, uint64_t len)
{
    uint64_t slots = (room - len) / BLOCK;
    return lo + rng_range(r, 0, slots) * BLOCK;
}

/* A length of lo..hi blocks, at most maxlen and room bytes. */
static uint64_t draw_len(rng *r, uint64_t lo, uint64_t hi, uint64_t maxlen, uint64_t room)
{
    uint64_t len = rng_range(r, lo, hi) * BLOCK;
    if (len > maxlen)
        len = maxlen;
    return len < room ? len : room;
}

/*
 * One candidate edit of kind k, at most maxlen bytes long, or 0 if the disk
 * has no room for it.
 */
static int draw_edit(rng *r, enum edit_kind k, uint64_t size, uint64_t maxlen, const run *runs,
                     size_t nruns, edit *e)
{
    uint64_t len;
    memset(e, 0, sizeof *e);
    e->kind = k;
    switch (k) {
    case ED_OVERWRITE:
        len = draw_len(r, 1, 256, maxlen, size); /* 4 KiB - 1 MiB */
        e->start = place(r, 0, size, len);
        e->len = len;
        break;
    case ED_ZERO:
        len = draw_len(r, 16, 512, maxlen, size); /* 64 KiB - 2 MiB */
        e->start = place(r, 0, size, len);
        e->len = len;
        break;
    case ED_INSERT:
    case ED_DELETE: {
        len = draw_len(r, 16, 256, maxlen, size); /* window: 64 KiB - 1 MiB */
        if (len < 2)
            return 0;
        e->start = place(r, 0, size, len);
        e->len = len;
        uint64_t kmax = len / 4 < 16 * KIB ? len / 4 : 16 * KIB;
        e->k = rng_range(r, 1, kmax ? kmax : 1);
        e->at = e->start + rng_range(r, 0, len - e->k - 1);
        break;
    }
    case ED_FILL: {
        if (nruns == 0)
            return 0;
        const run *z = &runs[rng_range(r, 0, nruns - 1)];
        len = draw_len(r, 1, 256, maxlen, z->len); /* 4 KiB - 1 MiB */
        e->start = place(r, z->start, z->len, len);
        e->len = len;
        break;
    }
    default:
        return 0;
    }
    if (e->start + e->len > size)
        return 0;
    e->text = (rng_next(r) % 10) < 6;
    return 1;
}

/* First and last byte + 1 of the disk an edit changes. */
static void edit_dirty(const edit *e, uint64_t *from, uint64_t *to)
{
    *from = (e->kind == ED_INSERT || e->kind == ED_DELETE) ? e->at : e->start;
    *to = e->start + e->len;
}

/* Copies [off, off + n) of the parent to the writer. */
static void copy_parent(writer *w, int fd, const char *path, uint64_t off, uint64_t n)
{
    while (n > 0) {
        size_t k = n < IOBUF ? (size_t)n : IOBUF;
        uint8_t *dst = writer_space(w, &k);
        xpread(fd, dst, k, off, path);
        writer_commit(w, k);
        off += k;
        n -= k;
    }
}

static void put_range(FILE *f, uint64_t a, uint64_t b)
{
    if (a == b)
        fprintf(f, "%" PRIu64 "\n", a);
    else
        fprintf(f, "%" PRIu64 "-%" PRIu64 "\n", a, b);
}

static void write_segment_map(const char *path, const edit *plan, size_t n, uint64_t size,
                              uint64_t seed, double rate, uint64_t changed)
{
    FILE *f = fopen(path, "w");
    if (!f)
        die("cannot create %s: %s", path, strerror(errno));
    fprintf(f,
            "# vmd-gen mutate --seed %" PRIu64 " --rate %g: %zu edits, %" PRIu64
            " bytes changed\n# disk of %" PRIu64 " bytes, %" PRIu64 " segments of 2 MiB\n",
            seed, rate, n, changed, size, (uint64_t)((size + SEGMENT - 1) / SEGMENT));
    int have = 0;
    uint64_t a = 0, b = 0; /* pending range of segments */
    for (size_t i = 0; i < n; i++) {
        uint64_t from, to;
        edit_dirty(&plan[i], &from, &to);
        uint64_t s = from / SEGMENT, t = (to - 1) / SEGMENT;
        if (have && s <= b + 1) {
            if (t > b)
                b = t;
            continue;
        }
        if (have)
            put_range(f, a, b);
        a = s;
        b = t;
        have = 1;
    }
    if (have)
        put_range(f, a, b);
    if (fclose(f) != 0)
        die("cannot write %s: %s", path, strerror(errno));
}

static void write_cbt_map(const char *path, const edit *plan, size_t n, uint64_t size)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint64_t blocks = (size + CBT_UNIT - 1) / CBT_UNIT;
    size_t bytes = (size_t)((blocks + 7) / 8);
    uint8_t *bm = calloc(bytes + 2, 1);
    if (!bm)
        die("out of memory");
    for (size_t i = 0; i < n; i++) {
        uint64_t from, to;
        edit_dirty(&plan[i], &from, &to);
        for (uint64_t b = from / CBT_UNIT; b <= (to - 1) / CBT_UNIT; b++)
            bm[b / 8] |= (uint8_t)(1u << (b % 8));
    }
    FILE *f = fopen(path, "w");
    if (!f)
        die("cannot create %s: %s", path, strerror(errno));
    fputs("cbt:\n", f);
    int col = 0;
    for (size_t i = 0; i < bytes; i += 3) {
        uint32_t v = (uint32_t)bm[i] << 16 | (uint32_t)bm[i + 1] << 8 | bm[i + 2];
        char q[4] = {b64[v >> 18 & 63], b64[v >> 12 & 63], b64[v >> 6 & 63], b64[v & 63]};
        if (bytes - i < 3)
            q[3] = '=';
        if (bytes - i < 2)
            q[2] = '=';
        fwrite(q, 1, 4, f);
        col += 4;
        if (col == 76) {
            fputc('\n', f);
            col = 0;
        }
    }
    if (col)
        fputc('\n', f);
    free(bm);
    if (fclose(f) != 0)
        die("cannot write %s: %s", path, strerror(errno));
}

static int cmd_mutate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"seed", required_argument, NULL, 's'},    {"in", required_argument, NULL, 'i'},
        {"out", required_argument, NULL, 'o'},     {"dirty-map", required_argument, NULL, 'd'},
        {"cbt-map", required_argument, NULL, 'c'}, {"rate", required_argument, NULL, 'r'},
        {"verbose", no_argument, NULL, 'v'},       {NULL, 0, NULL, 0}};
    const char *seed_s = NULL, *in = NULL, *out = NULL, *map = NULL, *cbt = NULL;
    double rate = 0.02;
    int verbose = 0, c;
    char *end;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            seed_s = optarg;
            break;
        case 'i':
            in = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'd':
            map = optarg;
            break;
        case 'c':
            cbt = optarg;
            break;
        case 'v':
            verbose = 1;
            break;
        case 'r':
            rate = strtod(optarg, &end);
            if (*end || end == optarg || !(rate >= 0 && rate <= 1))
                usage_error("--rate: a fraction from 0 to 1, not '%s'", optarg);
            break;
        default:
            usage_error("mutate: bad option");
        }
    }
    if (!seed_s || !in || !out || !map)
        usage_error("mutate needs --seed, --in, --out and --dirty-map");
    if (optind != argc)
        usage_error("mutate: unexpected argument '%s'", argv[optind]);
    uint64_t seed = parse_size("--seed", seed_s);

    int fd = open(in, O_RDONLY);
    struct stat st, ost;
    if (fd < 0 || fstat(fd, &st) < 0)
        die("cannot open %s: %s", in, strerror(errno));
    if (S_ISDIR(st.st_mode))
        die("cannot read %s: %s", in, strerror(EISDIR));
    off_t end_off = lseek(fd, 0, SEEK_END);
    if (end_off <= 0)
        die("%s is empty or not seekable", in);
    uint64_t size = (uint64_t)end_off;
    if (stat(out, &ost) == 0 && ost.st_dev == st.st_dev && ost.st_ino == st.st_ino)
        die("--out %s is the parent image", out);

    uint8_t *buf = malloc(IOBUF);
    edit *plan = malloc(MAX_EDITS * sizeof *plan);
    if (!buf || !plan)
        die("out of memory");
    size_t nruns;
    run *runs = scan_zero_runs(fd, in, size, buf, &nruns);

    /* The plan: one edit of each kind, then random kinds until rate of the disk is covered. */
    rng r;
    rng_seed(&r, mix(0x6d7574617465ULL /* "mutate" */, seed));
    size_t n = 0;
    uint64_t budget = (uint64_t)(rate * (double)size), changed = 0, attempts = 0;
    /* Edits no longer than the budget (but at least 64 KiB), so small disks keep near R. */
    uint64_t maxlen = budget / BLOCK * BLOCK < 16 * BLOCK ? 16 * BLOCK : budget / BLOCK * BLOCK;
    for (int k = 0; budget > 0 && k < ED_KINDS; k++) {
        for (int tries = 0; tries < 50; tries++) {
            edit e;
            if (draw_edit(&r, (enum edit_kind)k, size, maxlen, runs, nruns, &e) &&
                plan_add(plan, &n, &e)) {
                uint64_t from, to;
                edit_dirty(&e, &from, &to);
                changed += to - from;
                break;
            }
        }
    }
    while (changed < budget && n < MAX_EDITS && attempts < 1000 + 10 * (uint64_t)n) {
        static const enum edit_kind kinds[20] = {
            ED_OVERWRITE, ED_OVERWRITE, ED_OVERWRITE, ED_OVERWRITE, ED_OVERWRITE,
            ED_OVERWRITE, ED_OVERWRITE, ED_OVERWRITE, ED_INSERT,    ED_INSERT,
            ED_INSERT,    ED_DELETE,    ED_DELETE,    ED_DELETE,    ED_FILL,
            ED_FILL,      ED_FILL,      ED_ZERO,      ED_ZERO,      ED_ZERO};
        edit e;
        attempts++;
        if (!draw_edit(&r, kinds[rng_next(&r) % 20], size, maxlen, runs, nruns, &e))
            continue;
        if (!plan_add(plan, &n, &e))
            continue;
        uint64_t from, to;
        edit_dirty(&e, &from, &to);
        changed += to - from;
    }
    free(runs);
    /* Keys of the new data, in disk order: independent of the order of drawing. */
    for (size_t i = 0; i < n; i++)
        plan[i].key = mix(mix(seed, 0x6e6577ULL /* "new" */), i);

    writer w;
    writer_open(&w, out);
    gen *g = malloc(sizeof *g);
    if (!g)
        die("out of memory");
    uint64_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        const edit *e = &plan[i];
        enum gen_kind nk = e->text ? GEN_TEXT : GEN_RANDOM;
        if (verbose)
            fprintf(stderr, "%-9s %12" PRIu64 " +%-8" PRIu64 " at %12" PRIu64 " k %6" PRIu64 "\n",
                    edit_names[e->kind], e->start, e->len, e->at, e->k);
        copy_parent(&w, fd, in, pos, e->start - pos);
        switch (e->kind) {
        case ED_OVERWRITE:
        case ED_FILL:
            gen_init(g, nk, e->key);
            writer_gen(&w, g, e->len);
            break;
        case ED_ZERO:
            gen_init(g, GEN_ZERO, 0);
            writer_gen(&w, g, e->len);
            break;
        case ED_INSERT: /* parent[start, at) new(k) parent[at, end - k) */
            copy_parent(&w, fd, in, e->start, e->at - e->start);
            gen_init(g, nk, e->key);
            writer_gen(&w, g, e->k);
            copy_parent(&w, fd, in, e->at, e->start + e->len - e->k - e->at);
            break;
        case ED_DELETE: /* parent[start, at) parent[at + k, end) new(k) */
            copy_parent(&w, fd, in, e->start, e->at - e->start);
            copy_parent(&w, fd, in, e->at + e->k, e->start + e->len - e->at - e->k);
            gen_init(g, nk, e->key);
            writer_gen(&w, g, e->k);
            break;
        default:
            break;
        }
        pos = e->start + e->len;
    }
    copy_parent(&w, fd, in, pos, size - pos);
    writer_close(&w);
    close(fd);

    write_segment_map(map, plan, n, size, seed, rate, changed);
    if (cbt)
        write_cbt_map(cbt, plan, n, size);
    if (verbose)
        fprintf(stderr, "%zu edits, %" PRIu64 " of %" PRIu64 " bytes changed\n", n, changed, size);
    free(g);
    free(plan);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage_error("a subcommand is needed");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        printf("usage: %s base --seed S --size BYTES --os-family F OUT.img\n"
               "       %s mutate --seed S --in PARENT.img --out CHILD.img --dirty-map CHILD.map"
               " [--cbt-map FILE] [--rate R] [--verbose]\n",
               prog, prog);
        return 0;
    }
    if (strcmp(argv[1], "base") == 0)
        return cmd_base(argc - 1, argv + 1);
    if (strcmp(argv[1], "mutate") == 0)
        return cmd_mutate(argc - 1, argv + 1);
    usage_error("unknown subcommand '%s'", argv[1]);
}
