/*
 * bench_ctr.c - how fast containers are built (SHA-256 + zstd) and scrubbed in the OSD.
 *
 *   bench_ctr [--mib N] [--chunk BYTES] [--scrub-runs N]
 *
 * Part 1, no cluster: feeds N MiB (default 256) of text-like and of random
 * data, in chunks of BYTES (default 16384), through the container builder
 * (4 MiB containers) at zstd levels 0 (RAW: SHA-256 and copy only), 1, 3
 * and 6, on one thread, and prints MB/s of raw input per core and the
 * stored/raw ratio. The data is generated before the clock starts.
 *
 * Part 2, only when CEPH_CONF is set: writes one 4 MiB container of each
 * kind to the data pool (namespace "bench-ctr") and times `ctr_scrub`
 * through the OSD (--scrub-runs calls, default 20): MB/s of raw bytes
 * verified and ms per call. The client and the OSD share this machine.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster.h"
#include "rng.h"
#include "timing.h"
#include "rados/ctr_client.h"
#include "format/container.h"
#include "vmdedup/vmdedup.h"

#define CTR_TARGET (4u << 20)

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rng(void)
{
    return vmd_test_xorshift64(&rng_state);
}

/* Log-like lines: compresses about 3-4x with zstd, like system logs or text files. */
static void fill_text(uint8_t *p, size_t n)
{
    static const char *words[] = {"kernel:", "xen-blkback", "device", "xvda", "sector",
                                  "ceph",    "osd",         "write",  "read", "ok"};
    size_t at = 0;
    char line[160];

    while (at < n) {
        int len =
            snprintf(line, sizeof(line), "2024-05-%02u 12:%02u:%02u host%u %s %s %s%u %u\n",
                     (unsigned)(rng() % 28 + 1), (unsigned)(rng() % 60), (unsigned)(rng() % 60),
                     (unsigned)(rng() % 16), words[rng() % 10], words[rng() % 10],
                     words[rng() % 10], (unsigned)(rng() % 8), (unsigned)(rng() % 100000));
        size_t k = (size_t)len < n - at ? (size_t)len : n - at;
        memcpy(p + at, line, k);
        at += k;
    }
}

static void fill_random(uint8_t *p, size_t n)
{
    vmd_test_fill_xorshift_words(p, n, &rng_state);
}

/* Builds containers from all of data; returns seconds taken and the stored/raw ratio. */
static int build_all(const uint8_t *data, size_t len, size_t chunk, int level, double *secs,
                     double *ratio)
{
    vmd_ctr_builder *b = NULL;
    uint8_t *obj;
    size_t at = 0, objlen, stored = 0;
    double t0 = vmd_test_wall();
    int err = 0;

    while (at < len && !err) {
        err = vmd_ctr_builder_new(&b, 1, "bench", CTR_TARGET);
        while (!err && at < len) {
            size_t n = len - at < chunk ? len - at : chunk;
            err = vmd_ctr_builder_add(b, data + at, n, level, NULL, NULL);
            if (err == -ENOSPC) {
                err = 0;
                break;
            }
            at += n;
        }
        if (!err && !(err = vmd_ctr_builder_finish(b, &obj, &objlen))) {
            stored += objlen;
            free(obj);
        }
        vmd_ctr_builder_free(b);
        b = NULL;
    }
    *secs = vmd_test_wall() - t0;
    *ratio = (double)stored / (double)len;
    return err;
}

/* SHA-256 alone over the same chunks: the floor of the builder's cost. */
static double sha_only(const uint8_t *data, size_t len, size_t chunk)
{
    uint8_t fp[VMD_CTR_FP_SIZE];
    size_t at;
    double t0 = vmd_test_wall();

    for (at = 0; at < len; at += chunk)
        if (vmd_ctr_sha256(data + at, len - at < chunk ? len - at : chunk, fp) != 0)
            return 0;
    return (double)len / 1e6 / (vmd_test_wall() - t0);
}

static int bench_builder(size_t mib, size_t chunk)
{
    static const int levels[] = {0, 1, 3, 6};
    static const char *kinds[] = {"text-like", "random"};
    size_t len = mib << 20;
    uint8_t *data = malloc(len);
    double secs, ratio;
    int k, l, err = 0;

    if (!data)
        return -ENOMEM;
    printf("| data | zstd level | MB/s per core | stored/raw |\n");
    printf("|------|-----------:|--------------:|-----------:|\n");
    for (k = 0; k < 2 && !err; k++) {
        if (k == 0)
            fill_text(data, len);
        else
            fill_random(data, len);
        printf("| %s | SHA-256 alone (no builder) | %.0f | - |\n", kinds[k],
               sha_only(data, len, chunk));
        for (l = 0; l < 4 && !err; l++) {
            err = build_all(data, len, chunk, levels[l], &secs, &ratio);
            printf("| %s | %d%s | %.0f | %.3f |\n", kinds[k], levels[l],
                   levels[l] ? "" : " (RAW, SHA-256 only)", (double)len / 1e6 / secs, ratio);
            fflush(stdout);
        }
    }
    free(data);
    return err;
}

/* One 4 MiB container of the given kind in the data pool; *raw gets its raw bytes. */
static int put_container(vmd_store *s, const char *oid, int random, size_t chunk, size_t *raw,
                         size_t *size)
{
    vmd_ctr_builder *b = NULL;
    uint8_t *buf = malloc(chunk), *obj = NULL;
    int err;

    *raw = 0;
    err = buf ? vmd_ctr_builder_new(&b, 1, "bench", CTR_TARGET) : -ENOMEM;
    while (!err) {
        if (random)
            fill_random(buf, chunk);
        else
            fill_text(buf, chunk);
        err = vmd_ctr_builder_add(b, buf, chunk, 3, NULL, NULL);
        if (!err)
            *raw += chunk;
    }
    if (err == -ENOSPC)
        err = vmd_ctr_builder_finish(b, &obj, size);
    if (!err)
        err = vmd_ctr_write(s, 0, oid, obj, *size);
    free(obj);
    free(buf);
    vmd_ctr_builder_free(b);
    return err;
}

static int bench_scrub(size_t chunk, int runs)
{
    vmd_store *s = NULL;
    vmd_ctr_scrub_reply r;
    int kind, i, err;

    err = vmd_test_store_open(&s, "bench-ctr", 0, NULL, "bench_ctr");
    if (err)
        return err;
    printf("\n| container (4 MiB target, level 3) | object bytes | raw bytes | scrub MB/s (raw) "
           "| ms per scrub |\n");
    printf("|---|---:|---:|---:|---:|\n");
    for (kind = 0; kind < 2 && !err; kind++) {
        const char *oid = kind ? "c.bench.0000000000000002" : "c.bench.0000000000000001";
        size_t raw, size;
        double t0, secs;

        err = put_container(s, oid, kind, chunk, &raw, &size);
        t0 = vmd_test_wall();
        /* call 0 is a warm-up (it loads the object into the OSD's cache) and is not timed */
        for (i = 0; i <= runs && !err; i++) {
            if (i == 1)
                t0 = vmd_test_wall();
            err = vmd_ctr_scrub(s, 0, oid, 16, &r);
            if (!err && r.nbad)
                err = -EIO;
            vmd_ctr_scrub_reply_clear(&r);
        }
        secs = vmd_test_wall() - t0;
        if (!err)
            printf("| %s | %zu | %zu | %.0f | %.2f |\n", kind ? "random" : "text-like", size, raw,
                   (double)raw * runs / 1e6 / secs, secs * 1e3 / runs);
    }
    vmd_store_close(s);
    return err;
}

int main(int argc, char **argv)
{
    size_t mib = 256, chunk = 16384;
    int runs = 20, i, err;

    for (i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--mib"))
            mib = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--chunk"))
            chunk = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--scrub-runs"))
            runs = atoi(argv[i + 1]);
    }
    if (!mib || !chunk || chunk > VMD_CTR_CHUNK_MAX || runs < 1) {
        fprintf(stderr, "usage: bench_ctr [--mib N] [--chunk 1..1048576] [--scrub-runs >=1]\n");
        return 2;
    }
    printf("builder: %zu MiB per row, %zu-byte chunks, 4 MiB containers, one thread\n\n", mib,
           chunk);
    err = bench_builder(mib, chunk);
    if (!err && getenv("CEPH_CONF"))
        err = bench_scrub(chunk, runs);
    if (err)
        fprintf(stderr, "bench_ctr: %s\n", strerror(-err));
    return err ? 1 : 0;
}
