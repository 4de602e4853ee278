/*
 * bench_zstd.c - which zstd level should a store use? Ratio against speed on
 * the unique chunks of real disk images, in one run, beside
 * `openssl speed -evp sha256` on the same machine.
 *
 *     bench_zstd [-l 1,3,...] [-S seconds] IMAGE...
 *
 * Levels -7..-1 are zstd's fast levels (`zstd --fast=N`), 1..19 the usual ones.
 *
 * Every image is read segment by segment (2 MiB) and chunked with the
 * store defaults (FastCDC 2/4/16 KiB) and SHA-256, as a backup does; all-zero
 * chunks are holes and skipped. A chunk whose fingerprint was seen before
 * (in any image: the deduplicated data a store actually compresses) is
 * skipped too. Every first occurrence is compressed at each level asked for,
 * with the backup's rule: stored compressed only when that is smaller,
 * otherwise raw.
 *
 * Per level it prints the bytes stored for the unique chunks (and their
 * share of the raw unique bytes), the compression speed in MB/s of raw input
 * per core (thread CPU time, as openssl counts), and the per-core speed of
 * the whole worker step for new data, chunk + SHA-256 + compress, as a
 * ratio of `openssl speed -evp sha256 -bytes 16384` - the figure the
 * pipeline's target is stated in (docs/benchmarks.md).
 *
 * Memory: a set of 16-byte fingerprint prefixes (24 bytes a slot at a load
 * of at most 1/2), so a few hundred MB for tens of GiB of unique data; the
 * data itself is streamed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "timing.h"
#include "chunk/chunker.h"
#include "chunk/fingerprint.h"
#include "read/segment.h"

#define MAX_LEVELS 16
#define MB         1e6

typedef struct fpset {
    uint8_t (*keys)[16];
    uint8_t *used;
    size_t cap, n;
} fpset;

typedef struct level_stat {
    int level;
    uint64_t stored;
    double cpu;
} level_stat;

static int fpset_grow(fpset *s)
{
    fpset n = {0};
    size_t i;

    n.cap = s->cap ? 2 * s->cap : (1u << 20);
    n.keys = malloc(n.cap * sizeof(*n.keys));
    n.used = calloc(n.cap, 1);
    if (!n.keys || !n.used) {
        free(n.keys);
        free(n.used);
        return -ENOMEM;
    }
    for (i = 0; i < s->cap; i++)
        if (s->used[i]) {
            size_t h;
            memcpy(&h, s->keys[i], sizeof(h));
            for (h &= n.cap - 1; n.used[h]; h = (h + 1) & (n.cap - 1))
                ;
            n.used[h] = 1;
            memcpy(n.keys[h], s->keys[i], 16);
        }
    n.n = s->n;
    free(s->keys);
    free(s->used);
    *s = n;
    return 0;
}

/* 1 when fp was new (and is now in the set), 0 when seen before, -ENOMEM. */
static int fpset_add(fpset *s, const uint8_t *fp)
{
    size_t h;

    if (2 * (s->n + 1) > s->cap && fpset_grow(s))
        return -ENOMEM;
    memcpy(&h, fp, sizeof(h));
    for (h &= s->cap - 1; s->used[h]; h = (h + 1) & (s->cap - 1))
        if (!memcmp(s->keys[h], fp, 16))
            return 0;
    s->used[h] = 1;
    memcpy(s->keys[h], fp, 16);
    s->n++;
    return 1;
}

static double openssl_sha256(int seconds)
{
    char cmd[128], line[512];
    double v = 0, last = 0;
    FILE *p;

    snprintf(cmd, sizeof(cmd), "openssl speed -evp sha256 -bytes 16384 -seconds %d 2>/dev/null",
             seconds);
    if (!(p = popen(cmd, "r")))
        return 0;
    while (fgets(line, sizeof(line), p))
        if (!strncmp(line, "sha256", 6) || !strncmp(line, "SHA256", 6)) {
            char *k = strrchr(line, ' ');
            if (k && sscanf(k, "%lfk", &last) == 1)
                v = last * 1000.0; /* openssl prints 1000s of bytes per second */
        }
    pclose(p);
    return v;
}

static int parse_levels(const char *s, level_stat *out, int *n)
{
    char *end;

    *n = 0;
    while (*s) {
        long v = strtol(s, &end, 10);
        if (end == s || v < -7 || v > 19 || v == 0 || *n == MAX_LEVELS)
            return -EINVAL;
        out[(*n)++].level = (int)v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -EINVAL;
    }
    return *n ? 0 : -EINVAL;
}

typedef struct totals {
    uint64_t logical, zero, dup, unique;
    double cpu_chunk_sha;
} totals;

static int scan_image(const char *path, vmd_chunker *ck, vmd_hasher *hs, fpset *set,
                      ZSTD_CCtx *cctx, level_stat *lv, int nlv, totals *t)
{
    size_t cap = vmd_chunk_count_max(ck, VMD_SEGMENT_SIZE), n, i;
    uint8_t *seg = malloc(VMD_SEGMENT_SIZE), *z = malloc(ZSTD_compressBound(16384));
    vmd_chunk *chunks = malloc(cap * sizeof(*chunks));
    int fd = open(path, O_RDONLY), err = 0;
    ssize_t got;

    if (fd < 0 || !seg || !z || !chunks) {
        err = fd < 0 ? -errno : -ENOMEM;
        fprintf(stderr, "bench_zstd: %s: %s\n", path, strerror(-err));
        goto out;
    }
    while ((got = read(fd, seg, VMD_SEGMENT_SIZE)) > 0) {
        uint32_t off = 0;
        double t0 = vmd_test_thread_cpu();
        t->logical += (uint64_t)got;
        if (vmd_chunk_segment(ck, seg, (uint32_t)got, chunks, cap, &n)) {
            err = -EIO;
            break;
        }
        for (i = 0; i < n; off += chunks[i].len, i++) {
            vmd_fp fp;
            int k, fresh;
            if (vmd_is_zero(seg + off, chunks[i].len)) {
                t->zero += chunks[i].len;
                continue;
            }
            if (vmd_sha256(hs, seg + off, chunks[i].len, &fp)) {
                err = -EIO;
                goto out;
            }
            t->cpu_chunk_sha += vmd_test_thread_cpu() - t0;
            if ((fresh = fpset_add(set, fp.b)) < 0) {
                err = fresh;
                goto out;
            }
            if (!fresh) {
                t->dup += chunks[i].len;
                t0 = vmd_test_thread_cpu();
                continue;
            }
            t->unique += chunks[i].len;
            for (k = 0; k < nlv; k++) {
                double c0 = vmd_test_thread_cpu();
                size_t r = ZSTD_compressCCtx(cctx, z, chunks[i].len - 1, seg + off, chunks[i].len,
                                             lv[k].level);
                lv[k].cpu += vmd_test_thread_cpu() - c0;
                lv[k].stored += ZSTD_isError(r) || r == 0 ? chunks[i].len : r;
            }
            t0 = vmd_test_thread_cpu();
        }
        t->cpu_chunk_sha += vmd_test_thread_cpu() - t0;
    }
    if (got < 0) {
        err = -errno;
        fprintf(stderr, "bench_zstd: reading %s: %s\n", path, strerror(errno));
    }
out:
    if (fd >= 0)
        close(fd);
    free(seg);
    free(z);
    free(chunks);
    return err;
}

int main(int argc, char **argv)
{
    level_stat lv[MAX_LEVELS];
    vmd_chunk_params cp = {2048, 4096, 16384};
    vmd_chunker ck;
    vmd_hasher *hs = NULL;
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    fpset set = {0};
    totals t = {0};
    int nlv = 0, seconds = 3, opt, k, i, err = 0;
    double ossl;

    memset(lv, 0, sizeof(lv));
    parse_levels("1,2,3,5,7,9,12,15,19", lv, &nlv);
    while ((opt = getopt(argc, argv, "l:S:")) != -1) {
        if (opt == 'l' && !parse_levels(optarg, lv, &nlv))
            continue;
        if (opt == 'S' && (seconds = atoi(optarg)) > 0)
            continue;
        fprintf(stderr, "usage: bench_zstd [-l 1,3,...] [-S seconds] IMAGE...\n");
        return 2;
    }
    if (optind == argc) {
        fprintf(stderr, "usage: bench_zstd [-l 1,3,...] [-S seconds] IMAGE...\n");
        return 2;
    }
    if (!cctx || vmd_chunker_init(&ck, &cp) || vmd_hasher_new(&hs)) {
        fprintf(stderr, "bench_zstd: setting up: out of memory\n");
        return 1;
    }
    for (i = optind; i < argc && !err; i++)
        err = scan_image(argv[i], &ck, hs, &set, cctx, lv, nlv, &t);
    vmd_hasher_free(hs);
    ZSTD_freeCCtx(cctx);
    free(set.keys);
    free(set.used);
    if (err)
        return 1;
    ossl = openssl_sha256(seconds);
    printf("images %d, logical %.1f MiB, zero %.1f MiB, duplicate %.1f MiB, unique %.1f MiB "
           "(%zu chunks)\n",
           argc - optind, t.logical / 1048576.0, t.zero / 1048576.0, t.dup / 1048576.0,
           t.unique / 1048576.0, set.n);
    printf("chunk+sha256 %.0f MB/s per core; openssl speed -evp sha256 (16 KiB) %.0f MB/s\n\n",
           t.cpu_chunk_sha > 0 ? (t.logical - t.zero) / MB / t.cpu_chunk_sha : 0, ossl / MB);
    printf("| level | stored (MiB) | stored / unique | compress MB/s per core | "
           "chunk+sha256+compress MB/s per core | vs openssl sha256 |\n");
    printf("|---:|---:|---:|---:|---:|---:|\n");
    printf("| none | %.1f | 1.000 | - | %.0f | %.2f |\n", t.unique / 1048576.0,
           (t.logical - t.zero) / MB / t.cpu_chunk_sha,
           ossl > 0 ? (t.logical - t.zero) / t.cpu_chunk_sha / ossl : 0);
    for (k = 0; k < nlv; k++) {
        /* new data: every byte is chunked and hashed, every byte compressed */
        double per_byte_sha = t.cpu_chunk_sha / (double)(t.logical - t.zero);
        double per_byte_z = lv[k].cpu / (double)t.unique;
        double rate = 1.0 / (per_byte_sha + per_byte_z);
        printf("| %d | %.1f | %.3f | %.0f | %.0f | %.2f |\n", lv[k].level, lv[k].stored / 1048576.0,
               (double)lv[k].stored / (double)t.unique, t.unique / MB / lv[k].cpu, rate / MB,
               ossl > 0 ? rate / ossl : 0);
    }
    return 0;
}
