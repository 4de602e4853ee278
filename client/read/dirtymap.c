/*
 * dirtymap.c - parsing dirty maps into segment bitmaps (see dirtymap.h and
 * docs/dirty-maps.md for the formats).
 *
 * In memory a map is its header and ceil(segments / 64) 64-bit words; bit
 * s % 64 of word s / 64 is segment s. Bits past the last segment stay zero.
 *
 * Format detection, in this order:
 *   1. the first non-whitespace text is "cbt:"            -> CBT bitmap
 *   2. the first non-blank line is one unbroken run of base64 characters
 *      [A-Za-z0-9+/=], not a plain number (decimal, or 0x and hex digits),
 *      not the word "bytes", and, when it starts with a digit, at least 8
 *      characters long                                    -> CBT bitmap
 *   3. anything else (also an empty input)                -> text list
 * A list line never starts with a letter other than "bytes", so a bitmap
 * starting with one is never misread; a bitmap starting with a digit is
 * recognised when its first line has 8 or more characters (any disk above
 * 1.5 MiB), while a short typo in a list ("12abc") stays a list and its error
 * names the line. A tool that can write "cbt:" should: with it, nothing is
 * guessed.
 *
 * A CBT bitmap is decoded in two passes over the input: the first checks the
 * alphabet and the padding and counts the bytes, so a length that does not
 * fit the disk is refused before anything is allocated; the second folds
 * every decoded byte into the segment bitmap (32 blocks of 64 KiB, i.e. 4
 * bitmap bytes, per 2 MiB segment) without keeping the decoded bytes.
 */
#include "read/dirtymap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vmd_dirtymap {
    uint64_t disk_size;
    uint64_t nsegs;
    uint64_t ndirty;
    vmd_dirtymap_format format;
    uint64_t bits[]; /* ceil(nsegs / 64) words */
};

/* Bitmap bytes per segment: 2 MiB / 64 KiB = 32 blocks = 4 bytes. */
#define CBT_BYTES_PER_SEG_SHIFT (VMD_SEGMENT_SHIFT - VMD_CBT_BLOCK_SHIFT - 3)

typedef unsigned long long ull;

static int fail(char *msg, size_t msglen, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *msg, size_t msglen, int err, const char *fmt, ...)
{
    va_list ap;

    if (msg && msglen > 0) {
        va_start(ap, fmt);
        vsnprintf(msg, msglen, fmt, ap);
        va_end(ap);
    }
    return err;
}

static int map_alloc(vmd_dirtymap **out, uint64_t disk_size, vmd_dirtymap_format format, char *msg,
                     size_t msglen)
{
    vmd_dirtymap *m;
    uint64_t nsegs;

    if (disk_size == 0)
        return fail(msg, msglen, -EINVAL, "disk size is 0");
    if (disk_size > VMD_DIRTYMAP_DISK_MAX)
        return fail(msg, msglen, -EFBIG, "disk size %llu bytes is above the limit of %llu (64 TiB)",
                    (ull)disk_size, (ull)VMD_DIRTYMAP_DISK_MAX);
    nsegs = vmd_segment_count(disk_size);
    m = calloc(1, sizeof(*m) + (size_t)((nsegs + 63) / 64) * sizeof(uint64_t));
    if (!m)
        return fail(msg, msglen, -ENOMEM, "out of memory for a map of %llu segments", (ull)nsegs);
    m->disk_size = disk_size;
    m->nsegs = nsegs;
    m->format = format;
    *out = m;
    return 0;
}

/* Marks segments first..last (inclusive, last < nsegs) dirty. */
static void set_range(vmd_dirtymap *m, uint64_t first, uint64_t last)
{
    uint64_t w = first / 64, lw = last / 64;
    uint64_t lo = ~0ull << (first % 64), hi = ~0ull >> (63 - last % 64);

    if (w == lw) {
        m->bits[w] |= lo & hi;
        return;
    }
    m->bits[w++] |= lo;
    while (w < lw)
        m->bits[w++] = ~0ull;
    m->bits[lw] |= hi;
}

static void count_dirty(vmd_dirtymap *m)
{
    uint64_t i, n = 0;

    for (i = 0; i < (m->nsegs + 63) / 64; i++)
        n += (uint64_t)__builtin_popcountll(m->bits[i]);
    m->ndirty = n;
}

/* ---- text lists --------------------------------------------------------- */

static int is_blank(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static int is_space(int c)
{
    return is_blank(c) || c == '\n';
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int hex_val(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static const char *skip_blanks(const char *p, const char *end)
{
    while (p < end && is_blank((unsigned char)*p))
        p++;
    return p;
}

/* Up to 24 printable characters of the token at p, for messages. */
static void excerpt(const char *p, const char *end, char out[32])
{
    size_t n = 0;

    if (p >= end || *p == '\n') {
        snprintf(out, 32, "end of line");
        return;
    }
    out[n++] = '"';
    while (p < end && n < 25 && !is_space((unsigned char)*p) && *p != '#') {
        unsigned char c = (unsigned char)*p++;
        out[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (n == 1) /* the token is a comment or a blank: show the character itself */
        out[n++] = *p == '#' ? '#' : ' ';
    out[n++] = '"';
    out[n] = 0;
}

/*
 * A number at *pp: decimal, or 0x/0X and hex digits. Advances *pp past it.
 * 0, -EINVAL (no number here) or -ERANGE (above 2^64-1).
 */
static int parse_num(const char **pp, const char *end, uint64_t *v)
{
    const char *p = *pp;
    uint64_t x = 0;
    int d;

    if (p >= end || !is_digit((unsigned char)*p))
        return -EINVAL;
    if (p + 1 < end && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        p += 2;
        if (p >= end || hex_val((unsigned char)*p) < 0)
            return -EINVAL;
        for (; p < end && (d = hex_val((unsigned char)*p)) >= 0; p++) {
            if (x > (UINT64_MAX >> 4))
                return -ERANGE;
            x = x << 4 | (uint64_t)d;
        }
    } else {
        for (; p < end && is_digit((unsigned char)*p); p++) {
            d = *p - '0';
            if (x > (UINT64_MAX - (uint64_t)d) / 10)
                return -ERANGE;
            x = x * 10 + (uint64_t)d;
        }
    }
    *pp = p;
    *v = x;
    return 0;
}

/* Parses a number for line `line`, or fails with a message naming what was expected. */
static int line_num(const char **pp, const char *end, uint64_t *v, unsigned long line,
                    const char *what, char *msg, size_t msglen)
{
    char ex[32];
    int err = parse_num(pp, end, v);

    if (err == -ERANGE)
        return fail(msg, msglen, -ERANGE, "line %lu: %s is above 2^64-1", line, what);
    if (err) {
        excerpt(*pp, end, ex);
        return fail(msg, msglen, -EINVAL, "line %lu: expected %s, found %s", line, what, ex);
    }
    return 0;
}

/*
 * One line [p, end) without its newline: the syntax of the whole line first
 * (so "12abc" is a syntax error, not segment 12), then the disk's bounds.
 * Marks the segments of the item. 0 or an error.
 */
static int parse_line(vmd_dirtymap *m, const char *p, const char *end, unsigned long line,
                      char *msg, size_t msglen)
{
    uint64_t a, b;
    int bytes = 0, err;
    char ex[32];

    p = skip_blanks(p, end);
    if (p == end || *p == '#')
        return 0;
    if (end - p >= 5 && memcmp(p, "bytes", 5) == 0 && (end - p == 5 || is_blank(p[5]))) {
        bytes = 1;
        p = skip_blanks(p + 5, end);
        if ((err = line_num(&p, end, &a, line, "a byte offset after \"bytes\"", msg, msglen)))
            return err;
        p = skip_blanks(p, end);
        if (p == end || *p != '+') {
            excerpt(p, end, ex);
            return fail(msg, msglen, -EINVAL,
                        "line %lu: expected \"+LENGTH\" after the offset, found %s", line, ex);
        }
        p = skip_blanks(p + 1, end);
        if ((err = line_num(&p, end, &b, line, "a byte length after \"+\"", msg, msglen)))
            return err;
    } else if (is_digit((unsigned char)*p)) {
        if ((err = line_num(&p, end, &a, line, "a segment index", msg, msglen)))
            return err;
        b = a;
        p = skip_blanks(p, end);
        if (p < end && *p == '-') {
            p = skip_blanks(p + 1, end);
            if ((err = line_num(&p, end, &b, line, "the last segment of the range after \"-\"", msg,
                                msglen)))
                return err;
        }
    } else {
        excerpt(p, end, ex);
        return fail(msg, msglen, -EINVAL,
                    "line %lu: expected a segment N, a range N-M or \"bytes OFFSET+LENGTH\", "
                    "found %s",
                    line, ex);
    }
    p = skip_blanks(p, end);
    if (p < end && *p != '#') {
        excerpt(p, end, ex);
        return fail(msg, msglen, -EINVAL, "line %lu: unexpected %s after the item", line, ex);
    }

    if (bytes) {
        if (b > UINT64_MAX - a || a + b > m->disk_size)
            return fail(msg, msglen, -ERANGE,
                        "line %lu: bytes %llu+%llu end beyond the disk (%llu bytes)", line, (ull)a,
                        (ull)b, (ull)m->disk_size);
        if (b > 0)
            set_range(m, a >> VMD_SEGMENT_SHIFT, (a + b - 1) >> VMD_SEGMENT_SHIFT);
        return 0;
    }
    if (b < a)
        return fail(msg, msglen, -EINVAL, "line %lu: range %llu-%llu ends before it starts", line,
                    (ull)a, (ull)b);
    if (b >= m->nsegs) {
        if (a == b)
            return fail(msg, msglen, -ERANGE,
                        "line %lu: segment %llu is beyond the disk (%llu segments)", line, (ull)a,
                        (ull)m->nsegs);
        return fail(msg, msglen, -ERANGE,
                    "line %lu: range %llu-%llu is beyond the disk (%llu segments)", line, (ull)a,
                    (ull)b, (ull)m->nsegs);
    }
    set_range(m, a, b);
    return 0;
}

static int parse_list(vmd_dirtymap *m, const char *p, const char *end, char *msg, size_t msglen)
{
    unsigned long line = 1;
    const char *nl;
    int err;

    while (p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            nl = end;
        if ((err = parse_line(m, p, nl, line, msg, msglen)))
            return err;
        p = nl + 1;
        line++;
    }
    return 0;
}

/* ---- CBT bitmaps --------------------------------------------------------- */

/* The value of a base64 character, or -1. */
static int b64_val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Pass 1: the alphabet, the padding and the decoded length of [p, end). */
static int cbt_measure(const char *start, const char *p, const char *end, uint64_t *bytes,
                       char *msg, size_t msglen)
{
    uint64_t n = 0, pads = 0;
    unsigned char c;

    for (; p < end; p++) {
        c = (unsigned char)*p;
        if (is_space(c))
            continue;
        if (c != '=' && b64_val(c) < 0)
            return fail(msg, msglen, -EINVAL,
                        "bad base64 in CBT bitmap: character 0x%02x at offset %zu", c,
                        (size_t)(p - start));
        if (c == '=')
            pads++;
        else if (pads > 0)
            return fail(msg, msglen, -EINVAL,
                        "bad base64 in CBT bitmap: data after padding at offset %zu",
                        (size_t)(p - start));
        n++;
    }
    if (n % 4 != 0)
        return fail(msg, msglen, -EINVAL,
                    "bad base64 in CBT bitmap: %llu characters, not a multiple of 4", (ull)n);
    if (pads > 2)
        return fail(msg, msglen, -EINVAL, "bad base64 in CBT bitmap: %llu padding characters",
                    (ull)pads);
    *bytes = n / 4 * 3 - pads;
    return 0;
}

/* Folds bitmap byte k (value v) into m. */
static int cbt_byte(vmd_dirtymap *m, uint64_t k, unsigned v, uint64_t nblocks, char *msg,
                    size_t msglen)
{
    if (!v)
        return 0;
    if (k == (nblocks - 1) / 8 && nblocks % 8 && (v >> (nblocks % 8)))
        return fail(msg, msglen, -ERANGE,
                    "CBT bitmap marks block %llu, beyond the disk (%llu blocks of 64 KiB)",
                    (ull)(k * 8 + nblocks % 8 + (unsigned)__builtin_ctz(v >> (nblocks % 8))),
                    (ull)nblocks);
    m->bits[(k >> CBT_BYTES_PER_SEG_SHIFT) / 64] |= 1ull << ((k >> CBT_BYTES_PER_SEG_SHIFT) % 64);
    return 0;
}

/* Pass 2: decodes [p, end) (validated by cbt_measure) into m. */
static int cbt_decode(vmd_dirtymap *m, const char *p, const char *end, uint64_t nblocks, char *msg,
                      size_t msglen)
{
    unsigned q[4], nq = 0, pads = 0;
    uint64_t k = 0;
    unsigned char c;
    int err, i, nout;

    for (; p < end; p++) {
        c = (unsigned char)*p;
        if (is_space(c))
            continue;
        if (c == '=') {
            q[nq++] = 0;
            pads++;
        } else {
            q[nq++] = (unsigned)b64_val(c);
        }
        if (nq < 4)
            continue;
        nq = 0;
        if ((pads == 2 && (q[1] & 0x0f)) || (pads == 1 && (q[2] & 0x03)))
            return fail(msg, msglen, -EINVAL,
                        "bad base64 in CBT bitmap: non-zero bits in the padded last group");
        unsigned bytes[3] = {(q[0] << 2 | q[1] >> 4) & 0xff, (q[1] << 4 | q[2] >> 2) & 0xff,
                             (q[2] << 6 | q[3]) & 0xff};
        nout = 3 - (int)pads;
        for (i = 0; i < nout; i++, k++)
            if ((err = cbt_byte(m, k, bytes[i], nblocks, msg, msglen)))
                return err;
    }
    return 0;
}

static int parse_cbt(vmd_dirtymap *m, const char *start, const char *p, const char *end, char *msg,
                     size_t msglen)
{
    uint64_t nblocks = (m->disk_size + VMD_CBT_BLOCK_SIZE - 1) >> VMD_CBT_BLOCK_SHIFT;
    uint64_t want = (nblocks + 7) / 8, have = 0;
    int err;

    if ((err = cbt_measure(start, p, end, &have, msg, msglen)))
        return err;
    if (have != want)
        return fail(msg, msglen, -ERANGE,
                    "CBT bitmap has %llu bytes, a disk of %llu bytes needs %llu (%llu blocks of "
                    "64 KiB, one bit each)",
                    (ull)have, (ull)m->disk_size, (ull)want, (ull)nblocks);
    return cbt_decode(m, p, end, nblocks, msg, msglen);
}

/* ---- detection and the API ------------------------------------------------ */

/* 1 when [p, end) is a plain number: decimal digits, or 0x/0X and hex digits. */
static int is_plain_number(const char *p, const char *end)
{
    int hex = end - p >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X');

    if (hex)
        p += 2;
    if (p == end)
        return 0;
    for (; p < end; p++)
        if (hex ? hex_val((unsigned char)*p) < 0 : !is_digit((unsigned char)*p))
            return 0;
    return 1;
}

/*
 * VMD_DIRTYMAP_CBT or _LIST for the input [p, end) (see the top of the file);
 * *body is where the CBT base64 text starts.
 */
static vmd_dirtymap_format detect(const char *p, const char *end, const char **body)
{
    const char *q, *e;

    while (p < end && is_space((unsigned char)*p))
        p++;
    *body = p;
    if (end - p >= 4 && memcmp(p, "cbt:", 4) == 0) {
        *body = p + 4;
        return VMD_DIRTYMAP_CBT;
    }
    e = memchr(p, '\n', (size_t)(end - p));
    if (!e)
        e = end;
    while (e > p && is_blank((unsigned char)e[-1]))
        e--;
    if (e == p)
        return VMD_DIRTYMAP_LIST; /* empty input */
    for (q = p; q < e; q++)
        if (*q != '=' && b64_val((unsigned char)*q) < 0)
            return VMD_DIRTYMAP_LIST;
    if (is_plain_number(p, e) || (e - p == 5 && memcmp(p, "bytes", 5) == 0))
        return VMD_DIRTYMAP_LIST;
    if (is_digit((unsigned char)*p) && e - p < 8)
        return VMD_DIRTYMAP_LIST; /* a short typo of a list item, such as "12abc" */
    return VMD_DIRTYMAP_CBT;
}

int vmd_dirtymap_parse(vmd_dirtymap **out, const void *data, size_t len, uint64_t disk_size,
                       char *msg, size_t msglen)
{
    const char *start = data, *end, *body;
    vmd_dirtymap *m = NULL;
    vmd_dirtymap_format fmt;
    int err;

    if (msg && msglen > 0)
        msg[0] = 0;
    if (!out || (!data && len > 0))
        return fail(msg, msglen, -EINVAL, "no dirty map given");
    if (!start)
        start = "";
    end = start + len;
    fmt = detect(start, end, &body);
    if ((err = map_alloc(&m, disk_size, fmt, msg, msglen)))
        return err;
    if (fmt == VMD_DIRTYMAP_CBT)
        err = parse_cbt(m, start, body, end, msg, msglen);
    else
        err = parse_list(m, start, end, msg, msglen);
    if (err) {
        vmd_dirtymap_free(m);
        return err;
    }
    count_dirty(m);
    *out = m;
    return 0;
}

int vmd_dirtymap_new_all(vmd_dirtymap **out, uint64_t disk_size)
{
    vmd_dirtymap *m = NULL;
    int err;

    if (!out)
        return -EINVAL;
    if ((err = map_alloc(&m, disk_size, VMD_DIRTYMAP_ALL, NULL, 0)))
        return err;
    set_range(m, 0, m->nsegs - 1);
    m->ndirty = m->nsegs;
    *out = m;
    return 0;
}

void vmd_dirtymap_free(vmd_dirtymap *m)
{
    free(m);
}

uint64_t vmd_dirtymap_disk_size(const vmd_dirtymap *m)
{
    return m->disk_size;
}

uint64_t vmd_dirtymap_segments(const vmd_dirtymap *m)
{
    return m->nsegs;
}

uint64_t vmd_dirtymap_dirty_count(const vmd_dirtymap *m)
{
    return m->ndirty;
}

vmd_dirtymap_format vmd_dirtymap_format_of(const vmd_dirtymap *m)
{
    return m->format;
}

int vmd_dirtymap_test(const vmd_dirtymap *m, uint64_t seg)
{
    if (seg >= m->nsegs)
        return 0;
    return (int)((m->bits[seg / 64] >> (seg % 64)) & 1);
}

int vmd_dirtymap_next(const vmd_dirtymap *m, uint64_t from, uint64_t *seg)
{
    uint64_t w, word;

    if (from >= m->nsegs)
        return -ENOENT;
    w = from / 64;
    word = m->bits[w] & (~0ull << (from % 64));
    for (;;) {
        if (word) {
            *seg = w * 64 + (uint64_t)__builtin_ctzll(word);
            return 0; /* bits past nsegs are never set */
        }
        if (++w >= (m->nsegs + 63) / 64)
            return -ENOENT;
        word = m->bits[w];
    }
}
