/*
 * bench_chunk.c - single-thread throughput of chunking and fingerprinting,
 * against `openssl speed -evp sha256` on the same machine in the same run.
 *
 *     bench_chunk [-m MiB] [-r repeats] [-S seconds]
 *
 * Two data sets of MiB (default 256) MiB each, generated from a fixed seed:
 *   random   SplitMix64 output (incompressible, every chunk unique)
 *   mix      64 KiB runs: 40% text-like (words, spaces, newlines),
 *            30% zeros, 30% random - a plausible guest disk
 * and five measurements on each, segment by segment (2 MiB), best of
 * `repeats` runs, in CPU time of the thread (as openssl speed counts):
 *   sha256 16K     vmd_sha256 over 16 KiB blocks (in-process openssl figure)
 *   chunk          vmd_chunk_segment only
 *   sha256         vmd_fingerprint_chunks over the chunks found before
 *   chunk+sha256   both, as the backup does for a dirty segment
 *   +zero-skip     chunk+sha256, but all-zero segments and chunks are
 *                  detected (vmd_is_zero) and not hashed
 * Figures are MB/s (10^6 bytes/s, as openssl prints them). The reference is
 * `openssl speed -evp sha256 -bytes 16384 -seconds S` (default 3), run via
 * popen; the ratio chunk+sha256 / openssl is the figure the project tracks
 * (target >= 0.8). Then the chunk-size statistics of the defaults and the
 * effect of small edits on the chunks of a segment (dedup behaviour).
 * Results and the machine go into docs/benchmarks.md.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chunk/chunker.h"
#include "chunk/fingerprint.h"
#include "rng.h"
#include "timing.h"

#define MB 1e6

/* Text-like bytes: words from a small vocabulary (Zipf-ish), spaces, newlines. */
static void fill_text(uint8_t *p, size_t len, uint64_t *s)
{
    static const char *words[] = {
        "the",     "of",     "and",     "to",      "in",       "a",       "is",       "that",
        "for",     "it",     "as",      "with",    "was",      "on",      "be",       "by",
        "kernel",  "module", "return",  "struct",  "include",  "static",  "const",    "error",
        "config",  "server", "request", "data",    "user",     "value",   "function", "file",
        "package", "system", "version", "library", "document", "storage", "backup",   "segment"};
    size_t i = 0, n, k;
    uint64_t r;

    while (i < len) {
        r = vmd_test_splitmix64(s);
        k = (r & 0xff) < 160 ? (r >> 8) % 16 : (r >> 8) % 40; /* frequent words more often */
        n = strlen(words[k]);
        if (n > len - i)
            n = len - i;
        memcpy(p + i, words[k], n);
        i += n;
        if (i < len)
            p[i++] = ((r >> 40) % 12 == 0) ? '\n' : ' ';
    }
}

static void fill_mix(uint8_t *p, size_t len, uint64_t *s)
{
    const size_t run = 65536;
    size_t off, n;
    unsigned kind;

    for (off = 0; off < len; off += n) {
        n = len - off < run ? len - off : run;
        kind = (unsigned)(vmd_test_splitmix64(s) % 10);
        if (kind < 4)
            fill_text(p + off, n, s);
        else if (kind < 7)
            memset(p + off, 0, n);
        else
            vmd_test_fill_splitmix(p + off, n, s);
    }
}

typedef struct bench {
    const vmd_chunker *c;
    vmd_hasher *h;
    vmd_chunk *ch; /* per segment, precomputed for the sha256-only pass */
    size_t *nch;   /* chunks per segment */
    size_t cap;    /* chunks per segment at most */
    vmd_fp *fps;   /* one segment's fingerprints */
    uint8_t sink;  /* keeps results alive */
    size_t zero_segs, zero_chunks;
} bench;

enum mode { SHA16K, CHUNK, SHA, BOTH, SKIP, NMODES };
static const char *mode_name[] = {"sha256 16K", "chunk", "sha256", "chunk+sha256", "+zero-skip"};

static int run(bench *b, enum mode m, const uint8_t *data, size_t len)
{
    size_t s, nseg = len / VMD_SEGMENT_SIZE, n, i;
    const uint8_t *seg;
    vmd_chunk *ch;
    int err;

    b->zero_segs = b->zero_chunks = 0;
    if (m == SHA16K) { /* what openssl speed measures: 16 KiB blocks */
        for (i = 0; i + 16384 <= len; i += 16384)
            if ((err = vmd_sha256(b->h, data + i, 16384, &b->fps[0])))
                return err;
        b->sink ^= b->fps[0].b[0];
        return 0;
    }
    for (s = 0; s < nseg; s++) {
        seg = data + s * VMD_SEGMENT_SIZE;
        ch = b->ch + s * b->cap;
        if (m == SKIP && vmd_is_zero(seg, VMD_SEGMENT_SIZE)) {
            b->zero_segs++;
            continue;
        }
        if (m != SHA) {
            if ((err = vmd_chunk_segment(b->c, seg, VMD_SEGMENT_SIZE, ch, b->cap, &n)))
                return err;
            b->nch[s] = n;
        }
        n = b->nch[s];
        if (m == CHUNK) {
            b->sink ^= (uint8_t)n;
            continue;
        }
        if (m == SKIP) {
            for (i = 0; i < n; i++) {
                if (vmd_is_zero(seg + ch[i].off, ch[i].len)) {
                    b->zero_chunks++;
                    continue;
                }
                if ((err = vmd_sha256(b->h, seg + ch[i].off, ch[i].len, &b->fps[i])))
                    return err;
            }
        } else if ((err = vmd_fingerprint_chunks(b->h, seg, ch, n, b->fps))) {
            return err;
        }
        b->sink ^= b->fps[0].b[0];
    }
    return 0;
}

/* Best MB/s of `reps` runs. */
static double measure(bench *b, enum mode m, const uint8_t *data, size_t len, int reps)
{
    double best = 0, t;
    int r, err;

    for (r = 0; r < reps; r++) {
        t = vmd_test_thread_cpu();
        if ((err = run(b, m, data, len))) {
            fprintf(stderr, "bench_chunk: %s failed: %s\n", mode_name[m], strerror(-err));
            exit(1);
        }
        t = vmd_test_thread_cpu() - t;
        if ((double)len / t / MB > best)
            best = (double)len / t / MB;
    }
    return best;
}

/* `openssl speed -evp sha256` for 16 KiB blocks, in MB/s; 0 when it cannot run. */
static double openssl_speed(int seconds, char *cmd, size_t cmdlen)
{
    char line[512];
    double last = 0, v[6];
    FILE *f;

    snprintf(cmd, cmdlen, "openssl speed -evp sha256 -bytes 16384 -seconds %d 2>/dev/null",
             seconds);
    f = popen(cmd, "r");
    if (!f)
        return 0;
    /* the result line: "sha256  <k/s>..." with one column per block size ('k' = 1000 B/s) */
    while (fgets(line, sizeof(line), f)) {
        int n;
        if (strncmp(line, "sha256", 6) != 0 && strncmp(line, "SHA256", 6) != 0)
            continue;
        n = sscanf(line + 6, " %lfk %lfk %lfk %lfk %lfk %lfk", &v[0], &v[1], &v[2], &v[3], &v[4],
                   &v[5]);
        if (n >= 1)
            last = v[n - 1] * 1000 / MB;
    }
    pclose(f);
    return last;
}

static void print_loadavg(const char *when)
{
    char line[128] = "?";
    FILE *f = fopen("/proc/loadavg", "r");

    if (f) {
        if (!fgets(line, sizeof(line), f))
            line[0] = 0;
        fclose(f);
    }
    printf("load average %s: %s", when, line);
}

static void cpu_model(char *out, size_t len)
{
    char line[256];
    FILE *f = fopen("/proc/cpuinfo", "r");

    snprintf(out, len, "unknown");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "model name", 10) == 0) {
            char *p = strchr(line, ':');
            if (p) {
                p += 1 + strspn(p + 1, " \t");
                p[strcspn(p, "\n")] = 0;
                snprintf(out, len, "%s", p);
            }
            break;
        }
    fclose(f);
}

/* Chunk-size statistics of the defaults on `len` bytes. */
static void size_stats(const vmd_chunker *c, const uint8_t *data, size_t len, vmd_chunk *ch,
                       size_t cap, const char *name)
{
    size_t s, i, n, total = 0, at_max = 0, small = 0, last = 0;
    double sum = 0, sum2 = 0, mean, sd;

    for (s = 0; s < len / VMD_SEGMENT_SIZE; s++) {
        vmd_chunk_segment(c, data + s * VMD_SEGMENT_SIZE, VMD_SEGMENT_SIZE, ch, cap, &n);
        for (i = 0; i < n; i++) {
            if (i + 1 == n) {
                last++;
                continue; /* the segment's tail is cut by the boundary, not the content */
            }
            total++;
            sum += ch[i].len;
            sum2 += (double)ch[i].len * ch[i].len;
            at_max += ch[i].len == c->p.max;
            small += ch[i].len < c->normal;
        }
    }
    mean = sum / (double)total;
    sd = sqrt(sum2 / (double)total - mean * mean);
    printf("  %-7s chunks %zu (+%zu segment tails), mean %.0f B, sd %.0f B, "
           "%.1f%% < normal (%u B), %.1f%% at max\n",
           name, total, last, mean, sd, 100.0 * (double)small / (double)total, c->normal,
           100.0 * (double)at_max / (double)total);
}

/*
 * Dedup behaviour: for `trials` random segments, apply an edit and count the
 * chunks of the edited segment whose (offset-independent) content is not a
 * chunk of the original - what a backup would have to store anew.
 */
static void edit_stats(const vmd_chunker *c, size_t trials, int kind, const char *what)
{
    uint8_t *a = malloc(VMD_SEGMENT_SIZE), *b = malloc(VMD_SEGMENT_SIZE + 4096);
    size_t cap = vmd_chunk_count_max(c, VMD_SEGMENT_SIZE + 4096);
    vmd_chunk *x = malloc(cap * sizeof(*x)), *y = malloc(cap * sizeof(*y));
    size_t t, i, j, nx, ny, blen, new_chunks = 0, new_bytes = 0;
    uint64_t s = 1000 + (uint64_t)kind;

    if (!a || !b || !x || !y) {
        fprintf(stderr, "bench_chunk: out of memory\n");
        exit(1);
    }
    for (t = 0; t < trials; t++) {
        size_t at = (size_t)(vmd_test_splitmix64(&s) % (VMD_SEGMENT_SIZE - 8192));
        vmd_test_fill_splitmix(a, VMD_SEGMENT_SIZE, &s);
        if (kind == 0) { /* overwrite one aligned 4 KiB block in place */
            at &= ~(size_t)4095;
            memcpy(b, a, VMD_SEGMENT_SIZE);
            vmd_test_fill_splitmix(b + at, 4096, &s);
            blen = VMD_SEGMENT_SIZE;
        } else if (kind == 1) { /* insert 100 bytes */
            memcpy(b, a, at);
            vmd_test_fill_splitmix(b + at, 100, &s);
            memcpy(b + at + 100, a + at, VMD_SEGMENT_SIZE - at);
            blen = VMD_SEGMENT_SIZE + 100;
        } else { /* delete 100 bytes */
            memcpy(b, a, at);
            memcpy(b + at, a + at + 100, VMD_SEGMENT_SIZE - at - 100);
            blen = VMD_SEGMENT_SIZE - 100;
        }
        vmd_chunk_segment(c, a, VMD_SEGMENT_SIZE, x, cap, &nx);
        vmd_chunk_segment(c, b, blen > VMD_SEGMENT_SIZE ? VMD_SEGMENT_SIZE : blen, y, cap, &ny);
        /* chunks of b not in a: a match is at most 100 bytes away (the edit's shift) */
        for (i = 0, j = 0; j < ny; j++) {
            int found = 0;
            while (i < nx && x[i].off + 100 < y[j].off)
                i++;
            for (size_t k = i; k < nx && x[k].off <= y[j].off + 100 && !found; k++)
                found = x[k].len == y[j].len && memcmp(a + x[k].off, b + y[j].off, y[j].len) == 0;
            if (!found) {
                new_chunks++;
                new_bytes += y[j].len;
            }
        }
    }
    printf("  %-28s %.2f new chunks, %.1f KiB new per edited segment\n", what,
           (double)new_chunks / (double)trials, (double)new_bytes / 1024.0 / (double)trials);
    free(a);
    free(b);
    free(x);
    free(y);
}

int main(int argc, char **argv)
{
    size_t mib = 256, len, nseg;
    int reps = 5, secs = 3, opt;
    uint8_t *data[2];
    const char *set_name[2] = {"random", "mix"};
    double r[2][NMODES], ossl;
    char cmd[128], cpu[128];
    vmd_chunker c;
    bench b = {0};
    uint64_t seed = 0x62656e6368ull; /* "bench" */

    while ((opt = getopt(argc, argv, "m:r:S:")) != -1) {
        if (opt == 'm')
            mib = (size_t)atol(optarg);
        else if (opt == 'r')
            reps = atoi(optarg);
        else if (opt == 'S')
            secs = atoi(optarg);
        else {
            fprintf(stderr, "usage: bench_chunk [-m MiB] [-r repeats] [-S openssl-seconds]\n");
            return 2;
        }
    }
    if (mib < 2 || reps < 1 || secs < 1) {
        fprintf(stderr, "bench_chunk: -m >= 2, -r >= 1, -S >= 1\n");
        return 2;
    }
    mib &= ~(size_t)1;
    len = mib << 20;
    nseg = len / VMD_SEGMENT_SIZE;
    if (vmd_chunker_init(&c, NULL) || vmd_hasher_new(&b.h)) {
        fprintf(stderr, "bench_chunk: cannot set up the chunker or SHA-256\n");
        return 1;
    }
    b.c = &c;
    b.cap = vmd_chunk_count_max(&c, VMD_SEGMENT_SIZE);
    b.ch = malloc(nseg * b.cap * sizeof(*b.ch));
    b.nch = calloc(nseg, sizeof(*b.nch));
    b.fps = malloc(b.cap * sizeof(*b.fps));
    data[0] = malloc(len);
    data[1] = malloc(len);
    if (!b.ch || !b.nch || !b.fps || !data[0] || !data[1]) {
        fprintf(stderr, "bench_chunk: out of memory\n");
        return 1;
    }
    vmd_test_fill_splitmix(data[0], len, &seed);
    fill_mix(data[1], len, &seed);

    cpu_model(cpu, sizeof(cpu));
    printf("bench_chunk: %zu MiB per data set, best of %d, 1 thread; %ld CPUs: %s\n", mib, reps,
           sysconf(_SC_NPROCESSORS_ONLN), cpu);
    print_loadavg("before");
    printf("chunker: min %u avg %u max %u (normal %u), segments of %u bytes\n\n", c.p.min, c.p.avg,
           c.p.max, c.normal, VMD_SEGMENT_SIZE);

    for (int d = 0; d < 2; d++) {
        for (int m = SHA16K; m < NMODES; m++) {
            if (m == SHA) /* the chunks of this set, for the sha256-only pass */
                run(&b, CHUNK, data[d], len);
            r[d][m] = measure(&b, (enum mode)m, data[d], len, reps);
        }
        if (d == 1)
            printf("  (mix: %zu of %zu segments all zero, %zu zero chunks skipped)\n", b.zero_segs,
                   nseg, b.zero_chunks);
    }
    ossl = openssl_speed(secs, cmd, sizeof(cmd));

    printf("%-14s %10s %10s\n", "MB/s", set_name[0], set_name[1]);
    for (int m = SHA16K; m < NMODES; m++)
        printf("%-14s %10.0f %10.0f\n", mode_name[m], r[0][m], r[1][m]);
    if (ossl > 0) {
        printf("%-14s %10.0f            (%s)\n", "openssl 16K", ossl, cmd);
        printf("\nratio chunk+sha256 / openssl: random %.2f, mix %.2f (target >= 0.80); "
               "mix with zero-skip %.2f\n",
               r[0][BOTH] / ossl, r[1][BOTH] / ossl, r[1][SKIP] / ossl);
        printf("ratio chunk+sha256 / in-process sha256 16K (random): %.2f\n",
               r[0][BOTH] / r[0][SHA16K]);
    } else {
        printf("openssl speed did not run (%s)\n", cmd);
    }

    print_loadavg("after");
    printf("\nchunk sizes (defaults):\n");
    size_stats(&c, data[0], len, b.ch, b.cap, "random");
    size_stats(&c, data[1], len, b.ch, b.cap, "mix");
    printf("\nedits of one random 2 MiB segment (averages over 200 segments):\n");
    edit_stats(&c, 200, 0, "overwrite 4 KiB in place:");
    edit_stats(&c, 200, 1, "insert 100 bytes:");
    edit_stats(&c, 200, 2, "delete 100 bytes:");

    printf("\n(sink %u)\n", b.sink);
    vmd_hasher_free(b.h);
    free(b.ch);
    free(b.nch);
    free(b.fps);
    free(data[0]);
    free(data[1]);
    return 0;
}
