/*
 * cmd_stats.c - `vmdedup stats [VM]`: bytes saved by each level, the figure of merit
 * against perfect global deduplication, and the availability of the latest snapshots.
 *
 *     vmdedup stats [VM] [--osd-failure F] [--no-availability]
 *
 * Availability is P(a snapshot is restorable) when every OSD fails
 * independently with probability F (default 0.01; a few others follow),
 * computed from the real placement of the objects the latest snapshot of
 * each VM references, with the popular pool's real size and as if it had
 * the data pool's size (docs/admin.md, "Availability").
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/json.h"

enum { OPT_OSD_FAILURE = 500, OPT_NO_AVAIL };

static vmd_stats_opts sopts;

static const struct option stats_options[] = {
    {"osd-failure", required_argument, NULL, OPT_OSD_FAILURE},
    {"no-availability", no_argument, NULL, OPT_NO_AVAIL},
    {NULL, 0, NULL, 0},
};

static int handle_stats_option(vmd_cli *cli, int opt, const char *arg)
{
    char *end;

    switch (opt) {
    case OPT_OSD_FAILURE:
        sopts.osd_failure = strtod(arg, &end);
        if (*arg < '0' || *arg > '9' || *end || !(sopts.osd_failure > 0) ||
            sopts.osd_failure >= 1) {
            vmd_cli_error(cli, "--osd-failure wants a probability above 0 and below 1, not '%s'",
                          arg);
            return 2;
        }
        return 0;
    case OPT_NO_AVAIL:
        sopts.no_avail = 1;
        return 0;
    }
    return -1;
}

static void usage_json(const vmd_usage *u)
{
    printf("{\"snapshots\":%" PRIu64 ",\"logical_bytes\":%" PRIu64 ",\"level1_bytes\":%" PRIu64
           ",\"level2_bytes\":%" PRIu64 ",\"level3_bytes\":%" PRIu64 ",\"zero_bytes\":%" PRIu64
           ",\"new_bytes\":%" PRIu64 ",\"stored_bytes\":%" PRIu64 "}",
           u->snapshots, u->logical_bytes, u->level1_bytes, u->level2_bytes, u->level3_bytes,
           u->zero_bytes, u->new_bytes, u->stored_bytes);
}

static void avail_json(const vmd_avail *a, size_t n)
{
    size_t i;

    printf("[");
    for (i = 0; i < n; i++)
        printf("%s{\"f\":%g,\"with_popular\":%.9f,\"data_size\":%.9f}", i ? "," : "", a[i].f,
               a[i].with_popular, a[i].data_size);
    printf("]");
}

static void stats_json(const vmd_stats_report *r)
{
    const vmd_store_stats *st = vmd_stats_report_store(r);
    size_t nvms = vmd_stats_report_vm_count(r), i;

    printf("{\"total\":");
    usage_json(&st->total);
    printf(",\"unique_chunks\":%" PRIu64 ",\"unique_bytes\":%" PRIu64 ",\"popular_chunks\":%" PRIu64
           ",\"popular_bytes\":%" PRIu64 ",\"cds_version\":%" PRIu64 ",\"global_fraction\":",
           st->unique_chunks, st->unique_bytes, st->popular_chunks, st->popular_bytes,
           st->cds_version);
    if (st->global_fraction < 0)
        printf("null");
    else
        printf("%.6f", st->global_fraction);
    printf(",\"pools\":{\"meta_size\":%u,\"data_size\":%u,\"popular_size\":%u},\"availability\":",
           st->meta_size, st->data_size, st->popular_size);
    avail_json(st->avail, st->navail);
    printf(",\"vms\":[");
    for (i = 0; i < nvms; i++) {
        const vmd_vm_stats *v = vmd_stats_report_vm(r, i);
        printf("%s{\"vm\":", i ? "," : "");
        vmd_json_write_str(stdout, v->vm);
        printf(",\"usage\":");
        usage_json(&v->u);
        printf(",\"latest\":%u,\"objects\":%" PRIu64 ",\"osds\":%" PRIu64 ",\"exact\":%s,"
               "\"availability\":",
               v->latest, v->objects, v->osds, v->exact ? "true" : "false");
        avail_json(v->avail, v->latest ? st->navail : 0);
        printf("}");
    }
    printf("]}\n");
}

static void share(const char *label, uint64_t n, uint64_t of)
{
    char b[32];

    printf("  %-14s %12s", label, vmd_cli_bytes(n, b, sizeof(b)));
    if (of)
        printf("  (%5.1f%%)", 100.0 * (double)n / (double)of);
    putchar('\n');
}

static void usage_plain(const vmd_usage *u)
{
    share("logical", u->logical_bytes, 0);
    share("level 1", u->level1_bytes, u->logical_bytes);
    share("level 2", u->level2_bytes, u->logical_bytes);
    share("level 3", u->level3_bytes, u->logical_bytes);
    share("zero", u->zero_bytes, u->logical_bytes);
    share("new (dedup)", u->new_bytes, u->logical_bytes);
    share("stored (zstd)", u->stored_bytes, u->logical_bytes);
    if (u->stored_bytes)
        printf("  %-14s %11.2fx\n", "compression", (double)u->new_bytes / (double)u->stored_bytes);
}

static void stats_plain(const vmd_stats_report *r)
{
    const vmd_store_stats *st = vmd_stats_report_store(r);
    size_t nvms = vmd_stats_report_vm_count(r), i, k;
    char b1[32], b2[32];

    printf("%zu VM%s, %" PRIu64 " snapshot%s\n", nvms, nvms == 1 ? "" : "s", st->total.snapshots,
           st->total.snapshots == 1 ? "" : "s");
    usage_plain(&st->total);
    printf("  %-13s %12s in %" PRIu64 " chunks (what perfect global dedup stores)\n", "unique",
           vmd_cli_bytes(st->unique_bytes, b1, sizeof(b1)), st->unique_chunks);
    printf("  %-13s %12s in %" PRIu64 " chunks (CDS version %" PRIu64 ")\n", "popular",
           vmd_cli_bytes(st->popular_bytes, b2, sizeof(b2)), st->popular_chunks, st->cds_version);
    if (st->global_fraction >= 0)
        printf("  %-13s %11.1f%% of what perfect global dedup saves\n", "figure",
               100.0 * st->global_fraction);
    if (st->navail) {
        printf("availability of the latest snapshots (pool sizes: meta %u, data %u, popular %u)\n",
               st->meta_size, st->data_size, st->popular_size);
        printf("  %-8s %-22s %-22s\n", "P(OSD)", "popular pool at size", "at the data size");
        for (k = 0; k < st->navail; k++)
            printf("  %-8g %-22.9f %-22.9f\n", st->avail[k].f, st->avail[k].with_popular,
                   st->avail[k].data_size);
    }
    for (i = 0; i < nvms; i++) {
        const vmd_vm_stats *v = vmd_stats_report_vm(r, i);
        printf("%s: %" PRIu64 " snapshot%s, stored %s of %s\n", v->vm, v->u.snapshots,
               v->u.snapshots == 1 ? "" : "s", vmd_cli_bytes(v->u.stored_bytes, b1, sizeof(b1)),
               vmd_cli_bytes(v->u.logical_bytes, b2, sizeof(b2)));
        if (nvms == 1)
            usage_plain(&v->u);
        if (st->navail && v->latest)
            printf("  snapshot %u: %" PRIu64 " objects on %" PRIu64
                   " OSDs, P(restorable) at P(OSD)=%g: %.9f (%.9f at the data size)%s\n",
                   v->latest, v->objects, v->osds, v->avail[0].f, v->avail[0].with_popular,
                   v->avail[0].data_size, v->exact ? "" : " (lower bound)");
    }
}

int vmd_cmd_stats(vmd_cli *cli, int argc, char **argv)
{
    vmd_store *store = NULL;
    vmd_stats_report *st = NULL;
    int first, rc;

    rc = vmd_cli_parse(cli, argc, argv, stats_options, "", handle_stats_option, 0, &first);
    if (rc)
        return rc;
    if (first + 1 < argc) {
        vmd_cli_error(cli, "usage: vmdedup stats [VM] [--osd-failure F] [--no-availability]");
        return 2;
    }
    if (vmd_cli_open_store(cli, &store))
        return 1;
    rc = vmd_stats(&st, store, first < argc ? argv[first] : NULL, &sopts);
    vmd_store_close(store);
    if (rc)
        return 1;
    if (cli->format == VMD_OUT_JSON)
        stats_json(st);
    else
        stats_plain(st);
    vmd_stats_report_free(st);
    return 0;
}
