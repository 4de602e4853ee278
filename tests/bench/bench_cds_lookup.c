/*
 * bench_cds_lookup.c - what a level-3 lookup costs: vmd_cds_find() on the host's
 * CDS table (client/cds/cds_table.c, the liburcu lock-free hash table a backup's
 * workers share) at the table sizes of a CDS sweep (tests/bench/bench_cds.sh).
 *
 *     bench_cds_lookup [-n N1,N2,...] [-t T1,T2,...] [-q lookups] [-r repeats] [-s seed]
 *
 * For each size N (default 1000,10000,114560: the last is a full table at the
 * default 8 MiB budget) a table of capacity N is filled with N random
 * fingerprints (SplitMix64 bytes, as uniform as SHA-256 output), as
 * vmd_cds_load() fills it. Then, for each thread count T (default 1,2), T
 * threads (registered as RCU readers, as backup workers are) each look up
 * `lookups` fingerprints (default 2,000,000) from a pre-shuffled query array:
 *   hit   fingerprints of the table, in random order (every lookup must find
 *         its entry, with the right location)
 *   miss  random fingerprints not in the table (every lookup must miss): what
 *         most chunks of a backup pay, since level 3 only sees the chunks that
 *         levels 1 and 2 did not find
 * The figure is CPU time of the looking-up thread per lookup (ns,
 * CLOCK_THREAD_CPUTIME_ID, so time the thread spends preempted on a shared
 * machine is not counted), averaged over the T threads, best of `repeats`
 * (default 9) runs, the runs of all (T, hit/miss) interleaved. The query arrays (256 Ki
 * fingerprints each, 8 MiB) are read sequentially, cycled; the table is probed at random.
 *
 * Output: one line per (N, T), key=value, for the script to parse:
 *     n=N mem=BYTES threads=T hit_ns=X miss_ns=Y
 * Exit 1 if a lookup gave a wrong answer, 2 on bad arguments.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "timing.h"
#include "cds/cds.h"
#include "rng.h"

#define QUERIES    (1u << 18) /* fingerprints per query array */
#define MAX_SIZES  32
#define MAX_THREAD 64

static void random_fp(uint8_t fp[32], uint64_t *s)
{
    vmd_test_fill_splitmix(fp, 32, s);
}

typedef struct job {
    const vmd_cds *c;
    const uint8_t (*q)[32]; /* QUERIES fingerprints */
    const uint32_t *want;   /* hit: the entry index of each query; NULL: every query misses */
    uint64_t lookups;
    uint32_t start; /* first query: threads do not walk the array in step */
    double seconds; /* CPU of the loop */
    uint64_t wrong;
    uint64_t sink;
} job;

static void *run_job(void *p)
{
    job *j = p;
    vmd_cds_loc loc;
    uint64_t k, wrong = 0, sink = 0;
    uint32_t i = j->start;
    double t0;

    vmd_cds_thread_online();
    t0 = vmd_test_thread_cpu();
    for (k = 0; k < j->lookups; k++) {
        int got = vmd_cds_find(j->c, j->q[i], &loc);
        if (j->want) {
            if (got != 1 || loc.index != j->want[i])
                wrong++;
            sink += loc.slot;
        } else if (got != 0) {
            wrong++;
        }
        if (++i == QUERIES)
            i = 0;
    }
    j->seconds = vmd_test_thread_cpu() - t0;
    vmd_cds_thread_offline();
    j->wrong = wrong;
    j->sink = sink;
    return NULL;
}

/* One run: ns of thread CPU per lookup, averaged over the threads; lowers *best to it. */
static void measure(const vmd_cds *c, const uint8_t (*q)[32], const uint32_t *want, int threads,
                    uint64_t lookups, double *best, uint64_t *wrong)
{
    pthread_t t[MAX_THREAD];
    job j[MAX_THREAD];
    double sum = 0;
    int k;

    for (k = 0; k < threads; k++) {
        j[k] = (job){c, q, want, lookups, (uint32_t)((uint64_t)k * QUERIES / threads), 0, 0, 0};
        if (pthread_create(&t[k], NULL, run_job, &j[k])) {
            perror("bench_cds_lookup: pthread_create");
            exit(1);
        }
    }
    for (k = 0; k < threads; k++) {
        pthread_join(t[k], NULL);
        *wrong += j[k].wrong;
        sum += j[k].seconds;
    }
    sum = sum / threads / (double)lookups * 1e9;
    if (*best < 0 || sum < *best)
        *best = sum;
}

/* A comma-separated list of positive numbers into out (at most max): the count, 0 if bad. */
static int parse_list(const char *s, uint64_t *out, int max)
{
    int n = 0;

    while (*s) {
        char *end;
        unsigned long long v;
        if (n == max || *s < '0' || *s > '9')
            return 0;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || v == 0 || (*end && *end != ','))
            return 0;
        out[n++] = v;
        s = *end ? end + 1 : end;
    }
    return n;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_cds_lookup [-n N1,N2,...] [-t T1,T2,...] [-q lookups] "
                    "[-r repeats] [-s seed]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    uint64_t sizes[MAX_SIZES] = {1000, 10000, 114560}, threads[MAX_SIZES] = {1, 2};
    uint64_t lookups = 2000000, seed = 1, wrong = 0, v;
    int nsizes = 3, nthreads = 2, repeats = 9, opt, a, b, r;
    double hit[MAX_SIZES], miss[MAX_SIZES];
    uint8_t(*hitq)[32], (*missq)[32];
    uint32_t *want;

    while ((opt = getopt(argc, argv, "n:t:q:r:s:h")) != -1) {
        switch (opt) {
        case 'n':
            nsizes = parse_list(optarg, sizes, MAX_SIZES);
            for (a = 0; a < nsizes; a++)
                if (sizes[a] > VMD_CDS_MAX_ENTRIES)
                    nsizes = 0;
            if (!nsizes) {
                fprintf(stderr, "bench_cds_lookup: -n wants sizes from 1 to %u, not '%s'\n",
                        VMD_CDS_MAX_ENTRIES, optarg);
                return 2;
            }
            break;
        case 't':
            nthreads = parse_list(optarg, threads, MAX_SIZES);
            for (a = 0; a < nthreads; a++)
                if (threads[a] > MAX_THREAD)
                    nthreads = 0;
            if (!nthreads) {
                fprintf(stderr, "bench_cds_lookup: -t wants thread counts from 1 to %d, not '%s'\n",
                        MAX_THREAD, optarg);
                return 2;
            }
            break;
        case 'q':
        case 'r':
        case 's':
            if (parse_list(optarg, &v, 1) != 1) {
                fprintf(stderr, "bench_cds_lookup: -%c wants a positive number, not '%s'\n", opt,
                        optarg);
                return 2;
            }
            if (opt == 'q')
                lookups = v;
            else if (opt == 'r')
                repeats = v > 1000 ? 1000 : (int)v;
            else
                seed = v;
            break;
        default:
            usage();
        }
    }
    if (optind != argc)
        usage();

    hitq = malloc(QUERIES * sizeof(*hitq));
    missq = malloc(QUERIES * sizeof(*missq));
    want = malloc(QUERIES * sizeof(*want));
    if (!hitq || !missq || !want) {
        fprintf(stderr, "bench_cds_lookup: out of memory\n");
        return 1;
    }
    for (a = 0; a < nsizes; a++) {
        uint64_t n = sizes[a], s = seed, i, found = 0;
        vmd_cds_entry *e = calloc(n, sizeof(*e));
        vmd_cds *c;
        vmd_cds_loc loc;

        if (!e || vmd_cds_new(&c, 1, n)) {
            fprintf(stderr, "bench_cds_lookup: no memory for a table of %llu entries\n",
                    (unsigned long long)n);
            return 1;
        }
        for (i = 0; i < n; i++) {
            random_fp(e[i].fp, &s);
            e[i].ctr = 1 + i / 1000;
            e[i].slot = (uint32_t)(i % 1000);
            e[i].raw_len = 4096;
            e[i].vm_count = 2;
            if (vmd_cds_add(c, &e[i])) {
                fprintf(stderr, "bench_cds_lookup: adding entry %llu failed\n",
                        (unsigned long long)i);
                return 1;
            }
        }
        /* queries: hits in random order (with the index each must return), then misses */
        for (i = 0; i < QUERIES; i++) {
            uint64_t k = vmd_test_splitmix64(&s) % n;
            memcpy(hitq[i], e[k].fp, 32);
            random_fp(missq[i], &s);
            want[i] = (uint32_t)k; /* entries are numbered in the order they were added */
            found += (uint64_t)vmd_cds_find(c, missq[i], &loc); /* 2^-256: never, but checked */
        }
        if (found) {
            fprintf(stderr, "bench_cds_lookup: a random fingerprint is in the table\n");
            return 1;
        }
        /* the runs of every configuration interleaved, so that a burst of load from
           elsewhere on the machine does not spoil all the runs of one of them */
        for (b = 0; b < nthreads; b++)
            hit[b] = miss[b] = -1;
        for (r = 0; r < repeats; r++)
            for (b = 0; b < nthreads; b++) {
                measure(c, (const uint8_t(*)[32])hitq, want, (int)threads[b], lookups, &hit[b],
                        &wrong);
                measure(c, (const uint8_t(*)[32])missq, NULL, (int)threads[b], lookups, &miss[b],
                        &wrong);
            }
        for (b = 0; b < nthreads; b++)
            printf("n=%llu mem=%llu threads=%d hit_ns=%.1f miss_ns=%.1f\n", (unsigned long long)n,
                   (unsigned long long)vmd_cds_mem(c), (int)threads[b], hit[b], miss[b]);
        fflush(stdout);
        vmd_cds_free(c);
        free(e);
    }
    free(hitq);
    free(missq);
    free(want);
    if (wrong) {
        fprintf(stderr, "bench_cds_lookup: %llu lookups gave a wrong answer\n",
                (unsigned long long)wrong);
        return 1;
    }
    return 0;
}
