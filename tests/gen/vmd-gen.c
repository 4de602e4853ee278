/*
 * vmd-gen.c - deterministic, seeded generator of VM disk images and of the
 * dirty maps of their next snapshots, for the backup/restore tests and the
 * benchmarks. No dependency beyond libc.
 *
 *   vmd-gen base --seed S --size BYTES --os-family F OUT.img
 *   vmd-gen mutate --seed S --in PARENT.img --out CHILD.img --dirty-map CHILD.map
 *                  [--cbt-map CHILD.cbt] [--rate R]
 *   vmd-gen fleet --seed S --size BYTES [--vms N] [--snaps K] [--families F,...]
 *                 [--rate R] [--popular P] [--zipf E] [--zipf-head H] OUTDIR
 *   vmd-gen diffmap OLD.img NEW.img OUT.map
 *   vmd-gen stats FLEETDIR
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
 * fleet - N VMs (default 4) x K snapshots (default 4) into OUTDIR, the input
 *   of the side-by-side benchmark (docs/datasets.md):
 *     OUTDIR/vmNN/1.img          snapshot 1: `base` of family F[v mod count]
 *                                (default debian,ubuntu,centos) and seed
 *                                mix(S, v), plus the popular layer (below)
 *     OUTDIR/vmNN/K.img, K.map   snapshot K >= 2: `mutate` of K-1 with seed
 *                                mix(mix(S, v), K) and rate R (default 0.02),
 *                                plus shared updates (below), and its map
 *     OUTDIR/fleet.list          "VM SNAP IMAGE MAP" per snapshot in backup
 *                                order (every snapshot 1, then every 2, ...)
 *   Popular layer: a pool of files (64 KiB - 1 MiB of OS-like blocks) shared by
 *   the fleet, ranked 1, 2, ...; VM v holds file r with probability
 *   min(1, (H / r)^E) (E default 1, H by default a quarter of the files one VM
 *   takes), so the first H files are in every VM and the tail in few: a
 *   Zipf-like popularity. A fraction P (default 0.5) of the VM's text and
 *   random sub-extents take the next bytes of the VM's included files, in rank
 *   order, at 4 KiB boundaries (struct popular).
 *   Shared updates ("new files" churn): each fill edit (new data in a zero run)
 *   of a later snapshot is, with probability 1/2, a piece of update j of
 *   snapshot K of the family (j = its rank among the fill edits), the same
 *   bytes in every VM of the family; the others are unique to the VM.
 *   A VM's images are made one after the other, streaming: memory stays that
 *   of base and mutate.
 *
 * diffmap - the text dirty map (2 MiB segments) of NEW against OLD, found by
 *   comparing them segment by segment: for images edited by other tools
 *   (tests/gen/vmd-osimg). Both must have the same size.
 *
 * stats - reference figures of a fleet directory (its fleet.list), as
 *   key=value lines: logical bytes, non-zero bytes, perfect dedup (unique
 *   non-zero 4 KiB blocks of the fleet x 4 KiB), per-VM dedup (sum over VMs of
 *   their unique non-zero blocks), dirty-segment-only bytes (snapshots without a
 *   map whole, the others' marked segments; and the same without zero blocks),
 *   and how many blocks are held by 1, 2, ... VMs. Blocks are told apart by a
 *   128-bit hash (hash128) in an open-addressing table of 24-byte entries, at
 *   most 70% full (10 - 20 MiB per GiB of unique data); images are streamed.
 *
 * Exit status: 0 success; 1 error, one line "vmd-gen: error: ..." on stderr;
 * 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
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

#define USAGE                                                                                      \
    "usage: %s base --seed S --size BYTES --os-family F OUT.img\n"                                 \
    "       %s mutate --seed S --in PARENT.img --out CHILD.img --dirty-map CHILD.map\n"            \
    "                 [--cbt-map FILE] [--rate R] [--verbose]\n"                                   \
    "       %s fleet --seed S --size BYTES [--vms N] [--snaps K] [--families F1,F2,...]\n"         \
    "                [--rate R] [--popular P] [--zipf E] [--zipf-head H] [--verbose] OUTDIR\n"     \
    "       %s diffmap OLD.img NEW.img OUT.map\n"                                                  \
    "       %s stats FLEETDIR\n"

static void usage_error(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n" USAGE, prog, prog, prog, prog, prog);
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

/* --- popular layer (fleet) ----------------------------------------------- */

#define POOL_DOMAIN   0x706f6f6cULL     /* "pool" */
#define UPDATE_DOMAIN 0x757064617465ULL /* "update" */

/*
 * The popular layer of one VM of a fleet: a pool of "popular files" shared by
 * the whole fleet, ranked 1, 2, 3...; file r is 64 KiB - 1 MiB long and its
 * content (OS-like blocks) derives from (pool key, r) only. VM v holds file r
 * with probability min(1, (head / r)^s), decided by a hash of (pool, r, v): the
 * first `head` files are in every VM, file 10 x head in a tenth of them, and
 * so on (Zipf-like popularity). The VM's included files, in rank order, form
 * one stream; a fraction `permille` of the VM's text and random sub-extents
 * (drawn by an rng of its own, so the base layout is unchanged) take the next
 * bytes of that stream instead of their own data. Files and sub-extents are
 * whole 4 KiB blocks, so a popular block is at a 4 KiB boundary in every VM.
 */
typedef struct popular {
    rng pick;          /* which sub-extents are popular */
    uint64_t pool_key; /* content and lengths of the files */
    uint64_t vm_key;   /* inclusion decisions of this VM */
    double head, s;
    unsigned permille;
    uint64_t rank, left; /* current file; bytes of it still to write */
    int ended;           /* no more files (see popular_write) */
    gen g;               /* content of the current file */
    uint64_t files, bytes;
} popular;

/* Uniform in [0, 1) from a key. */
static double unit(uint64_t key)
{
    uint64_t s = key;
    return (double)(splitmix64(&s) >> 11) * (1.0 / 9007199254740992.0);
}

static int popular_holds(const popular *p, uint64_t r)
{
    double ratio = p->head / (double)r;
    double prob = ratio >= 1 ? 1 : (p->s == 1 ? ratio : pow(ratio, p->s));
    return unit(mix(mix(p->pool_key, r), p->vm_key)) < prob;
}

static uint64_t popular_file_len(const popular *p, uint64_t r)
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
static uint64_t popular_write(writer *w, popular *p, uint64_t n)
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
static void write_base(const char *path, uint64_t seed, uint64_t size, const char *family,
                       popular *pop)
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

    write_base(argv[optind], seed, size, family, NULL);
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
    int shared;   /* fleet: new data is a piece of a shared update (OS-like) */
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

/*
 * The next snapshot of the image `in`, written to `out`, its text dirty map to
 * `map` and, if cbt is not NULL, its CBT map to `cbt` (see the file comment).
 * With upd not NULL (fleet), fill edits carry, each with probability 1/2, a
 * piece of a shared update instead of data unique to the VM: the j-th fill edit
 * of the disk (in disk order) gets the stream (update key, j), the same in
 * every VM given the same key. With upd NULL the output is what `vmd-gen
 * mutate` has always written.
 */
typedef struct update {
    uint64_t key; /* fleet, family and snapshot number */
} update;

static void mutate_image(const char *in, const char *out, const char *map, const char *cbt,
                         uint64_t seed, double rate, int verbose, const update *upd)
{
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
    if (upd) { /* shared updates: own rng, so the plan above is that of mutate */
        rng ur;
        uint64_t j = 0;
        rng_seed(&ur, mix(UPDATE_DOMAIN, seed));
        for (size_t i = 0; i < n; i++) {
            if (plan[i].kind != ED_FILL)
                continue;
            if (rng_next(&ur) % 2 == 0) {
                plan[i].shared = 1;
                plan[i].key = mix(upd->key, j);
            }
            j++;
        }
    }

    writer w;
    writer_open(&w, out);
    gen *g = malloc(sizeof *g);
    if (!g)
        die("out of memory");
    uint64_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        const edit *e = &plan[i];
        enum gen_kind nk = e->shared ? GEN_OS : e->text ? GEN_TEXT : GEN_RANDOM;
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
    mutate_image(in, out, map, cbt, seed, rate, verbose, NULL);
    return 0;
}

/* --- fleet --------------------------------------------------------------- */

/* mkdir that accepts an existing directory. */
static void make_dir(const char *path)
{
    struct stat st;
    if (mkdir(path, 0755) == 0 || (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
        return;
    die("cannot create directory %s: %s", path, strerror(errno));
}

static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (!p)
        die("out of memory");
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int cmd_fleet(int argc, char **argv)
{
    static const struct option opts[] = {{"seed", required_argument, NULL, 's'},
                                         {"vms", required_argument, NULL, 'n'},
                                         {"snaps", required_argument, NULL, 'k'},
                                         {"size", required_argument, NULL, 'z'},
                                         {"families", required_argument, NULL, 'f'},
                                         {"rate", required_argument, NULL, 'r'},
                                         {"popular", required_argument, NULL, 'p'},
                                         {"zipf", required_argument, NULL, 'e'},
                                         {"zipf-head", required_argument, NULL, 'h'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {NULL, 0, NULL, 0}};
    const char *seed_s = NULL, *size_s = NULL, *families = "debian,ubuntu,centos";
    uint64_t vms = 4, snaps = 4, head = 0;
    double rate = 0.02, popular_f = 0.5, zipf = 1.0;
    int verbose = 0, c;
    char *end;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            seed_s = optarg;
            break;
        case 'n':
            vms = parse_size("--vms", optarg);
            break;
        case 'k':
            snaps = parse_size("--snaps", optarg);
            break;
        case 'z':
            size_s = optarg;
            break;
        case 'f':
            families = optarg;
            break;
        case 'h':
            head = parse_size("--zipf-head", optarg);
            break;
        case 'v':
            verbose = 1;
            break;
        case 'r':
        case 'p':
        case 'e': {
            double v = strtod(optarg, &end);
            if (*end || end == optarg || !(v >= 0 && v <= (c == 'e' ? 8 : 1)))
                usage_error("--%s: %s, not '%s'",
                            c == 'r'   ? "rate"
                            : c == 'p' ? "popular"
                                       : "zipf",
                            c == 'e' ? "an exponent from 0 to 8" : "a fraction from 0 to 1",
                            optarg);
            if (c == 'r')
                rate = v;
            else if (c == 'p')
                popular_f = v;
            else
                zipf = v;
            break;
        }
        default:
            usage_error("fleet: bad option");
        }
    }
    if (!seed_s || !size_s)
        usage_error("fleet needs --seed and --size");
    if (optind + 1 != argc)
        usage_error("fleet needs exactly one output directory");
    if (vms < 1 || vms > 999)
        usage_error("--vms: from 1 to 999");
    if (snaps < 1 || snaps > 9999)
        usage_error("--snaps: from 1 to 9999");
    uint64_t seed = parse_size("--seed", seed_s);
    uint64_t size = parse_size("--size", size_s);
    if (size == 0)
        usage_error("--size must be above 0");
    if (head == 0) { /* a quarter of what one VM takes from the pool, see docs/datasets.md */
        double demand = popular_f * 0.27 * (double)size * 7 / 8 / (136.0 * BLOCK);
        head = demand / 4 > 2 ? (uint64_t)(demand / 4) : 2;
    }
    /* The families, comma-separated; VM v has family v mod count. */
    char *fams = strdup(families);
    char *fam[64];
    size_t nfam = 0;
    if (!fams)
        die("out of memory");
    for (char *t = strtok(fams, ","); t && nfam < 64; t = strtok(NULL, ","))
        fam[nfam++] = t;
    if (nfam == 0)
        usage_error("--families: at least one name");

    const char *dir = argv[optind];
    make_dir(dir);
    int width = vms > 99 ? 3 : 2;
    for (uint64_t v = 0; v < vms; v++) {
        char name[32], file[64];
        snprintf(name, sizeof name, "vm%0*" PRIu64, width, v + 1);
        char *vdir = path_join(dir, name);
        make_dir(vdir);
        const char *family = fam[v % nfam];
        uint64_t vseed = mix(seed, v + 1);
        popular *p = calloc(1, sizeof *p);
        if (!p)
            die("out of memory");
        rng_seed(&p->pick, mix(mix(POOL_DOMAIN + 1, seed), v + 1));
        p->pool_key = mix(POOL_DOMAIN, seed);
        p->vm_key = mix(VM_DOMAIN + 1, v + 1);
        p->head = (double)head;
        p->s = zipf;
        p->permille = (unsigned)(popular_f * 1000 + 0.5);
        snprintf(file, sizeof file, "%s/1.img", name);
        char *img = path_join(dir, file);
        write_base(img, vseed, size, family, p);
        if (verbose)
            fprintf(stderr,
                    "%s: family %s, %" PRIu64 " popular files (%" PRIu64
                    " bytes), deepest rank %" PRIu64 " (head %" PRIu64 ")\n",
                    name, family, p->files, p->bytes, p->rank, head);
        free(p);
        for (uint64_t k = 2; k <= snaps; k++) {
            char *prev = img, *map;
            update u = {mix(mix(mix(UPDATE_DOMAIN, seed), fnv1a(family)), k)};
            snprintf(file, sizeof file, "%s/%" PRIu64 ".img", name, k);
            img = path_join(dir, file);
            snprintf(file, sizeof file, "%s/%" PRIu64 ".map", name, k);
            map = path_join(dir, file);
            mutate_image(prev, img, map, NULL, mix(vseed, k), rate, verbose, &u);
            free(prev);
            free(map);
        }
        free(img);
        free(vdir);
    }

    /* The list, in backup order: every VM's snapshot 1, then every snapshot 2... */
    char *list = path_join(dir, "fleet.list");
    FILE *f = fopen(list, "w");
    if (!f)
        die("cannot create %s: %s", list, strerror(errno));
    fprintf(f,
            "# vmd-gen fleet --seed %" PRIu64 " --vms %" PRIu64 " --snaps %" PRIu64
            " --size %" PRIu64
            " --families %s --rate %g --popular %g --zipf %g --zipf-head %" PRIu64
            "\n# VM SNAP IMAGE MAP (relative to this directory; - = no map)\n",
            seed, vms, snaps, size, families, rate, popular_f, zipf, head);
    for (uint64_t k = 1; k <= snaps; k++)
        for (uint64_t v = 0; v < vms; v++) {
            fprintf(f, "vm%0*" PRIu64 " %" PRIu64 " vm%0*" PRIu64 "/%" PRIu64 ".img ", width, v + 1,
                    k, width, v + 1, k);
            if (k == 1)
                fputs("-\n", f);
            else
                fprintf(f, "vm%0*" PRIu64 "/%" PRIu64 ".map\n", width, v + 1, k);
        }
    if (fclose(f) != 0)
        die("cannot write %s: %s", list, strerror(errno));
    free(list);
    free(fams);
    return 0;
}

/* --- diffmap ------------------------------------------------------------- */

static int open_image(const char *path, uint64_t *size)
{
    struct stat st;
    int fd = open(path, O_RDONLY);
    if (fd < 0 || fstat(fd, &st) < 0)
        die("cannot open %s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        die("cannot read %s: %s", path, strerror(EISDIR));
    off_t end = lseek(fd, 0, SEEK_END);
    if (end < 0)
        die("%s is not seekable", path);
    *size = (uint64_t)end;
    return fd;
}

static int cmd_diffmap(int argc, char **argv)
{
    if (argc != 4)
        usage_error("diffmap needs OLD.img NEW.img OUT.map");
    const char *a = argv[1], *b = argv[2], *out = argv[3];
    uint64_t sa, sb;
    int fa = open_image(a, &sa), fb = open_image(b, &sb);
    if (sa != sb)
        die("%s has %" PRIu64 " bytes, %s %" PRIu64 ": a dirty map needs equal sizes", a, sa, b,
            sb);
    uint8_t *ba = malloc(SEGMENT), *bb = malloc(SEGMENT);
    if (!ba || !bb)
        die("out of memory");
    char *tmp = malloc(strlen(out) + 8);
    if (!tmp)
        die("out of memory");
    sprintf(tmp, "%s.tmp", out);
    FILE *f = fopen(tmp, "w");
    if (!f)
        die("cannot create %s: %s", tmp, strerror(errno));
    uint64_t nseg = (sa + SEGMENT - 1) / SEGMENT, dirty = 0, ra = 0, rb = 0;
    int have = 0;
    fprintf(f, "# vmd-gen diffmap: segments of 2 MiB where the images differ\n");
    for (uint64_t s = 0; s < nseg; s++) {
        size_t k = sa - s * SEGMENT < SEGMENT ? (size_t)(sa - s * SEGMENT) : SEGMENT;
        xpread(fa, ba, k, s * SEGMENT, a);
        xpread(fb, bb, k, s * SEGMENT, b);
        if (memcmp(ba, bb, k) == 0)
            continue;
        dirty++;
        if (have && s == rb + 1) {
            rb = s;
            continue;
        }
        if (have)
            put_range(f, ra, rb);
        ra = rb = s;
        have = 1;
    }
    if (have)
        put_range(f, ra, rb);
    fprintf(f, "# %" PRIu64 " of %" PRIu64 " segments differ\n", dirty, nseg);
    if (fclose(f) != 0 || rename(tmp, out) != 0)
        die("cannot write %s: %s", out, strerror(errno));
    close(fa);
    close(fb);
    free(ba);
    free(bb);
    free(tmp);
    return 0;
}

/* --- stats --------------------------------------------------------------- */

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
    out[0] = splitmix64(&s1);
    out[1] = splitmix64(&s2) | 1; /* never {0, 0}: that marks a free slot */
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

static int cmd_stats(int argc, char **argv)
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

int main(int argc, char **argv)
{
    if (argc < 2)
        usage_error("a subcommand is needed");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        printf(USAGE, prog, prog, prog, prog, prog);
        return 0;
    }
    if (strcmp(argv[1], "base") == 0)
        return cmd_base(argc - 1, argv + 1);
    if (strcmp(argv[1], "mutate") == 0)
        return cmd_mutate(argc - 1, argv + 1);
    if (strcmp(argv[1], "fleet") == 0)
        return cmd_fleet(argc - 1, argv + 1);
    if (strcmp(argv[1], "diffmap") == 0)
        return cmd_diffmap(argc - 1, argv + 1);
    if (strcmp(argv[1], "stats") == 0)
        return cmd_stats(argc - 1, argv + 1);
    usage_error("unknown subcommand '%s'", argv[1]);
}
