/*
 * gen_content.c - the generators of vmd-gen: keys (SplitMix64), streams
 * (xoshiro256**), block content (text, random, OS-like, zero), the sparse
 * writer, and size arguments.
 * The tool and its formats are described in vmd-gen.c.
 */
#include "vmd-gen.h"

/* One 64-bit key from two, order-sensitive. */
uint64_t mix(uint64_t a, uint64_t b)
{
    uint64_t s = a ^ 0x6a09e667f3bcc908ULL;
    uint64_t x = vmd_test_splitmix64(&s);
    s = x ^ b;
    return vmd_test_splitmix64(&s);
}

uint64_t fnv1a(const char *str)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *str; str++) {
        h ^= (unsigned char)*str;
        h *= 0x100000001b3ULL;
    }
    return h;
}

void rng_seed(rng *r, uint64_t key)
{
    uint64_t s = key;
    for (int i = 0; i < 4; i++)
        r->s[i] = vmd_test_splitmix64(&s);
}

/* Uniform in [lo, hi] (hi - lo well below 2^64: the modulo bias is negligible). */
uint64_t rng_range(rng *r, uint64_t lo, uint64_t hi)
{
    if (hi <= lo)
        return lo;
    return lo + rng_next(r) % (hi - lo + 1);
}

/* --- content generators: split-independent streams of 4 KiB blocks ------ */

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

void gen_init(gen *g, enum gen_kind kind, uint64_t key)
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
void gen_fill(gen *g, uint8_t *p, size_t n)
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

void xwrite(int fd, const void *p, size_t n, const char *path)
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

int all_zero(const uint8_t *p, size_t n)
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

void writer_open(writer *w, const char *path)
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
uint8_t *writer_space(writer *w, size_t *n)
{
    if (w->len == IOBUF)
        writer_flush(w);
    if (*n > IOBUF - w->len)
        *n = IOBUF - w->len;
    return w->buf + w->len;
}

void writer_commit(writer *w, size_t n)
{
    w->len += n;
    w->off += n;
}

void writer_gen(writer *w, gen *g, uint64_t n)
{
    while (n > 0) {
        size_t k = n < IOBUF ? (size_t)n : IOBUF;
        uint8_t *dst = writer_space(w, &k);
        gen_fill(g, dst, k);
        writer_commit(w, k);
        n -= k;
    }
}

void writer_close(writer *w)
{
    writer_flush(w);
    if (w->sparse && ftruncate(w->fd, (off_t)w->off) < 0)
        die("cannot set the size of %s: %s", w->path, strerror(errno));
    if (close(w->fd) < 0)
        die("cannot write %s: %s", w->path, strerror(errno));
    free(w->buf);
}

/* --- argument parsing ---------------------------------------------------- */

uint64_t parse_size(const char *what, const char *s)
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
