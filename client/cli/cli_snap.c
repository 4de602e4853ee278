/*
 * cli_snap.c - how the command reads and shows snapshots, sizes and progress.
 *
 * Shared by backup, info, restore and ls: the checks of numeric arguments
 * (snapshot numbers, thread counts, sizes), and the output, so that the same
 * snapshot looks the same everywhere, in plain text and in JSON (the JSON
 * keys are the field names of vmd_snap_info and vmd_snap_stats).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/json.h"

const char *vmd_cli_bytes(uint64_t n, char *buf, size_t cap)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)n;
    int u = 0;

    while (v >= 1024 && u < 5) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, cap, "%" PRIu64 " B", n);
    else
        snprintf(buf, cap, "%.2f %s", v, units[u]);
    return buf;
}

int vmd_cli_parse_size(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    int shift = 0;

    if (!s || *s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno)
        return -ERANGE;
    switch (*end) {
    case 0:
        break;
    case 'K':
    case 'k':
        shift = 10;
        end++;
        break;
    case 'M':
    case 'm':
        shift = 20;
        end++;
        break;
    case 'G':
    case 'g':
        shift = 30;
        end++;
        break;
    case 'T':
    case 't':
        shift = 40;
        end++;
        break;
    default:
        return -EINVAL;
    }
    if (*end == 'i' && shift)
        end++;
    if (*end == 'B' && shift)
        end++;
    if (*end)
        return -EINVAL;
    if (shift && v > (UINT64_MAX >> shift))
        return -ERANGE;
    *out = (uint64_t)v << shift;
    return 0;
}

uint32_t vmd_cli_parse_u32(const char *s)
{
    char *end;
    unsigned long v;

    if (!s || *s < '0' || *s > '9')
        return 0;
    v = strtoul(s, &end, 10);
    if (*end || v == 0 || v > UINT32_MAX)
        return 0;
    return (uint32_t)v;
}

int vmd_cli_threads_arg(const vmd_cli *cli, const char *arg, unsigned *out)
{
    uint32_t v = vmd_cli_parse_u32(arg);

    if (!v || v > 256) {
        vmd_cli_error(cli, "--threads wants a number from 1 to 256, not '%s'", arg);
        return 2;
    }
    *out = v;
    return 0;
}

int vmd_cli_snap_arg(const vmd_cli *cli, const char *arg, uint32_t *out)
{
    uint32_t v = vmd_cli_parse_u32(arg);

    if (!v) {
        vmd_cli_error(cli, "'%s' is not a snapshot number", arg);
        return 2;
    }
    *out = v;
    return 0;
}

static void print_time(FILE *f, int64_t t)
{
    char buf[32];
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    fputs(buf, f);
}

void vmd_cli_snap_json(FILE *f, const vmd_snap_info *s)
{
    const vmd_snap_stats *st = &s->stats;

    fprintf(f, "{\"vm\":");
    vmd_json_write_str(f, s->vm);
    fprintf(f, ",\"snap\":%u,\"parent\":%u,\"time\":%" PRId64 ",\"time_utc\":\"", s->snap,
            s->parent, s->time);
    print_time(f, s->time);
    fprintf(f,
            "\",\"size\":%" PRIu64 ",\"stats\":{\"logical_bytes\":%" PRIu64
            ",\"bytes_read\":%" PRIu64 ",\"level1_bytes\":%" PRIu64 ",\"level2_bytes\":%" PRIu64
            ",\"level3_bytes\":%" PRIu64 ",\"zero_bytes\":%" PRIu64 ",\"new_bytes\":%" PRIu64
            ",\"stored_bytes\":%" PRIu64 ",\"chunks\":%" PRIu64 ",\"new_chunks\":%" PRIu64
            ",\"containers\":%" PRIu64 ",\"seconds\":%.3f,\"peak_rss\":%" PRIu64 "}}",
            s->size, st->logical_bytes, st->bytes_read, st->level1_bytes, st->level2_bytes,
            st->level3_bytes, st->zero_bytes, st->new_bytes, st->stored_bytes, st->chunks,
            st->new_chunks, st->containers, st->seconds, st->peak_rss);
}

/* "12.34 MiB (5.6%)": n and its share of the disk. */
static void print_share(FILE *f, const char *label, uint64_t n, uint64_t of)
{
    char b[32];
    fprintf(f, "  %-14s %12s", label, vmd_cli_bytes(n, b, sizeof(b)));
    if (of)
        fprintf(f, "  (%5.1f%%)", 100.0 * (double)n / (double)of);
    fputc('\n', f);
}

void vmd_cli_snap_plain(FILE *f, const vmd_snap_info *s)
{
    const vmd_snap_stats *st = &s->stats;
    uint64_t disk = st->logical_bytes ? st->logical_bytes : s->size;
    char b[32];

    fprintf(f, "snapshot %u of %s", s->snap, s->vm);
    if (s->parent)
        fprintf(f, " (parent %u)", s->parent);
    else
        fprintf(f, " (full)");
    fprintf(f, ", ");
    print_time(f, s->time);
    fputc('\n', f);
    fprintf(f, "  %-14s %12s\n", "disk", vmd_cli_bytes(disk, b, sizeof(b)));
    print_share(f, "read", st->bytes_read, disk);
    print_share(f, "level 1", st->level1_bytes, disk);
    print_share(f, "level 2", st->level2_bytes, disk);
    print_share(f, "level 3 (CDS)", st->level3_bytes, disk);
    print_share(f, "zero", st->zero_bytes, disk);
    print_share(f, "new", st->new_bytes, disk);
    print_share(f, "stored (zstd)", st->stored_bytes, disk);
    if (st->stored_bytes)
        fprintf(f, "  %-14s %11.2fx\n", "compression",
                (double)st->new_bytes / (double)st->stored_bytes);
    fprintf(f, "  %-14s %12" PRIu64 "  (%" PRIu64 " new, in %" PRIu64 " containers)\n", "chunks",
            st->chunks, st->new_chunks, st->containers);
    if (st->seconds > 0)
        fprintf(f, "  %-14s %11.2fs  (%.1f MB/s of disk, peak RSS %s)\n", "time", st->seconds,
                (double)disk / 1e6 / st->seconds, vmd_cli_bytes(st->peak_rss, b, sizeof(b)));
}

/* ---- progress bar on a terminal ---- */

typedef struct progress {
    struct timespec start;
    int shown;
} progress;

static progress bar;

void vmd_cli_snap_print(const vmd_cli *cli, const vmd_snap_info *s)
{
    if (cli->format == VMD_OUT_JSON) {
        vmd_cli_snap_json(stdout, s);
        putchar('\n');
    } else {
        vmd_cli_snap_plain(stdout, s);
    }
}

static double elapsed(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* "1:05" or "2:01:05", or "--:--" while there is no rate to go by. */
static const char *eta_text(double secs_left, char *buf, size_t cap)
{
    unsigned long t;

    if (!(secs_left >= 0) || secs_left > 359999)
        return "--:--";
    t = (unsigned long)(secs_left + 0.5);
    if (t >= 3600)
        snprintf(buf, cap, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, cap, "%lu:%02lu", t / 60, t % 60);
    return buf;
}

/*
 * One line, redrawn in place:
 *     backup  [#########                     ]  30% 12.00 MiB / 40.00 MiB   85.3 MB/s ETA 0:01
 * The rate is over the whole run so far; the ETA is what is left at that rate.
 */
static void draw_progress(void *arg, uint64_t done, uint64_t total)
{
    const char *what = arg;
    double secs = elapsed(&bar.start);
    double rate = secs > 0 ? (double)done / secs : 0; /* bytes per second */
    int width = 30, fill = total ? (int)((double)done / (double)total * width) : width;
    char d[32], t[32], e[32];

    if (fill > width)
        fill = width;
    fprintf(stderr, "\r%s [%.*s%*s] %3d%% %s / %s %6.1f MB/s ETA %s ", what, fill,
            "##############################", width - fill, "",
            total ? (int)(100.0 * (double)done / (double)total) : 100,
            vmd_cli_bytes(done, d, sizeof(d)), vmd_cli_bytes(total, t, sizeof(t)), rate / 1e6,
            done >= total ? "0:00"
            : rate > 0    ? eta_text((double)(total - done) / rate, e, sizeof(e))
                          : "--:--");
    bar.shown = 1;
    if (total && done >= total)
        fputc('\n', stderr), bar.shown = 0;
    fflush(stderr);
}

vmd_progress_fn vmd_cli_progress(const vmd_cli *cli)
{
    if (cli->quiet || cli->format == VMD_OUT_JSON || !isatty(STDERR_FILENO))
        return NULL;
    clock_gettime(CLOCK_MONOTONIC, &bar.start);
    bar.shown = 0;
    return draw_progress;
}

void vmd_cli_progress_end(void)
{
    if (bar.shown) {
        fputc('\n', stderr);
        bar.shown = 0;
    }
}
