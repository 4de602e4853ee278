/*
 * bench_backup_api.c - end-to-end backup and restore throughput and peak RSS (not a test).
 *
 *   bench_backup_api IMAGE VM [OUT]     (CEPH_CONF names the cluster; store initialised)
 *
 * Backs IMAGE up as the next snapshot of VM, prints the snapshot's
 * statistics (MB/s of disk, peak RSS), then restores it to OUT (default
 * IMAGE.restored) and prints the restore's MB/s and the peak RSS so far.
 * Compare OUT with IMAGE yourself (cmp). docs/benchmarks.md has results.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "vmdedup/vmdedup.h"

static void on_error(void *arg, int err, const char *msg)
{
    (void)arg;
    (void)err;
    fprintf(stderr, "error: %s\n", msg);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    vmd_store_opts so;
    vmd_store *s;
    vmd_snap_info i;
    struct rusage ru;
    char out[4096];
    double t;
    int err;

    if (argc < 3) {
        fprintf(stderr, "usage: bench_backup_api IMAGE VM [OUT]\n");
        return 2;
    }
    snprintf(out, sizeof(out), "%s", argc > 3 ? argv[3] : "");
    if (!out[0])
        snprintf(out, sizeof(out), "%s.restored", argv[1]);
    vmd_store_opts_init(&so);
    so.on_error = on_error;
    if (vmd_store_open(&s, &so))
        return 1;
    err = vmd_backup(&i, s, argv[2], argv[1], NULL);
    if (!err) {
        const vmd_snap_stats *st = &i.stats;
        printf("backup  snap %u parent %u: %.1f MB in %.2f s = %.1f MB/s; read %.1f MB, "
               "level1 %.1f MB, level2 %.1f MB, zero %.1f MB, new %.1f MB stored %.1f MB, "
               "%llu containers; peak RSS %.1f MB\n",
               i.snap, i.parent, st->logical_bytes / 1e6, st->seconds,
               st->logical_bytes / 1e6 / st->seconds, st->bytes_read / 1e6, st->level1_bytes / 1e6,
               st->level2_bytes / 1e6, st->zero_bytes / 1e6, st->new_bytes / 1e6,
               st->stored_bytes / 1e6, (unsigned long long)st->containers, st->peak_rss / 1e6);
        t = now();
        err = vmd_restore(s, argv[2], i.snap, out, NULL);
        t = now() - t;
        getrusage(RUSAGE_SELF, &ru);
        if (!err)
            printf("restore snap %u: %.1f MB in %.2f s = %.1f MB/s; peak RSS %.1f MB\n", i.snap,
                   i.size / 1e6, t, i.size / 1e6 / t, ru.ru_maxrss / 1e3);
    }
    vmd_store_close(s);
    return err ? 1 : 0;
}
