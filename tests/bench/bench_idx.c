/*
 * bench_idx.c - cost of one idx_register call against a partition of N entries.
 *
 * Not a test: a measurement for docs/benchmarks.md. Against the cluster of
 * $CEPH_CONF, for each N it creates a store of ONE partition (so every fp
 * lands in it) in a namespace of its own, fills it with N random entries in
 * batches of 65,536, then for each batch size B times REPS calls of
 * vmd_idx_register() with B new random fps (one class call each: B <= 65,536
 * and one partition). After each timed call the B fps are released again
 * (untimed), so every call sees a partition of exactly N entries. Prints one
 * row per (N, B): the median wall time and fingerprints per second.
 *
 *     bench_idx [-n 10000,100000,1000000] [-b 1024,16384,65536] [-r 5]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "rng.h"
#include "timing.h"
#include "rados/idx_client.h"

#define MAX_LIST 16
#define MAX_REPS 31

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static void random_items(vmd_idx_reg_item *items, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        vmd_test_fill_xorshift_words(items[i].fp.b, VMD_FP_SIZE, &rng_state);
        items[i].chunk_len = 4096;
        items[i].loc.id = 1;
        items[i].loc.slot = (uint32_t)i;
    }
}

static int parse_list(const char *s, size_t *out, int max)
{
    int n = 0;
    char *end;
    while (*s && n < max) {
        out[n++] = strtoull(s, &end, 10);
        if (end == s)
            return -1;
        s = *end == ',' ? end + 1 : end;
    }
    return n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int open_store(size_t n, vmd_store **out)
{
    vmd_init_opts init = {.partitions = 1};
    char nspace[64];

    snprintf(nspace, sizeof(nspace), "bench-idx-%d-%zu", (int)getpid(), n);
    return vmd_test_store_open(out, nspace, 1, &init, "bench_idx");
}

/* Fills the partition with n entries, 65,536 per call; prints the rate of each call. */
static int populate(vmd_store *s, size_t n, vmd_idx_reg_item *items, vmd_idx_reg_result *res)
{
    size_t done = 0, b;
    double t;
    int err;

    while (done < n) {
        b = n - done < VMD_IDX_BATCH_MAX ? n - done : VMD_IDX_BATCH_MAX;
        random_items(items, b);
        t = vmd_test_wall();
        err = vmd_idx_register(s, "bench-fill", items, b, res);
        if (err)
            return err;
        t = vmd_test_wall() - t;
        done += b;
        fprintf(stderr, "  fill: %zu entries (+%zu in %.3f s, %.0f fp/s)\n", done, b, t,
                (double)b / t);
    }
    return 0;
}

/* Times reps calls of b new fps; each call's fps are released again afterwards. */
static int measure(vmd_store *s, size_t b, int reps, vmd_idx_reg_item *items,
                   vmd_idx_reg_result *res, uint8_t *st, vmd_fp *fps, double *secs)
{
    size_t i;
    int r, err;
    double t;

    for (r = 0; r < reps; r++) {
        random_items(items, b);
        t = vmd_test_wall();
        err = vmd_idx_register(s, "bench", items, b, res);
        secs[r] = vmd_test_wall() - t;
        if (err)
            return err;
        for (i = 0; i < b; i++)
            fps[i] = items[i].fp;
        err = vmd_idx_release(s, "bench", fps, b, st);
        if (err)
            return err;
    }
    return 0;
}

int main(int argc, char **argv)
{
    size_t ns[MAX_LIST] = {10000, 100000, 1000000}, bs[MAX_LIST] = {1024, 16384, 65536};
    int nn = 3, nb = 3, reps = 5, opt, i, j, r, err = 0;
    vmd_idx_reg_item *items = calloc(VMD_IDX_BATCH_MAX, sizeof(*items));
    vmd_idx_reg_result *res = calloc(VMD_IDX_BATCH_MAX, sizeof(*res));
    vmd_fp *fps = calloc(VMD_IDX_BATCH_MAX, sizeof(*fps));
    uint8_t *st = calloc(VMD_IDX_BATCH_MAX, 1);
    double secs[MAX_REPS];

    while ((opt = getopt(argc, argv, "n:b:r:")) != -1) {
        if (opt == 'n')
            nn = parse_list(optarg, ns, MAX_LIST);
        else if (opt == 'b')
            nb = parse_list(optarg, bs, MAX_LIST);
        else if (opt == 'r')
            reps = atoi(optarg);
        else
            nn = -1;
    }
    for (j = 0; j < nb && nn > 0; j++)
        if (bs[j] < 1 || bs[j] > VMD_IDX_BATCH_MAX)
            nn = -1;
    if (nn <= 0 || nb <= 0 || reps < 1 || reps > MAX_REPS) {
        fprintf(stderr, "usage: bench_idx [-n N,N..] [-b B,B..(<= 65536)] [-r REPS (1..%d)]\n",
                MAX_REPS);
        return 2;
    }
    if (!items || !res || !fps || !st)
        return 1;
    printf("| N entries | B new fps | median s | fps/s (median) | all samples (s) |\n");
    printf("|---:|---:|---:|---:|---|\n");
    fflush(stdout);
    for (i = 0; i < nn && !err; i++) {
        vmd_store *s = NULL;
        err = open_store(ns[i], &s);
        if (!err)
            err = populate(s, ns[i], items, res);
        for (j = 0; j < nb && !err; j++) {
            err = measure(s, bs[j], reps, items, res, st, fps, secs);
            if (err)
                break;
            printf("| %zu | %zu |", ns[i], bs[j]);
            qsort(secs, (size_t)reps, sizeof(double), cmp_double);
            printf(" %.4f | %.0f |", secs[reps / 2], (double)bs[j] / secs[reps / 2]);
            for (r = 0; r < reps; r++)
                printf(" %.4f", secs[r]);
            printf(" |\n");
            fflush(stdout);
        }
        vmd_store_close(s);
    }
    free(items);
    free(res);
    free(fps);
    free(st);
    return err ? 1 : 0;
}
