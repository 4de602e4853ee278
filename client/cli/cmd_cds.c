/*
 * cmd_cds.c - `vmdedup cds update|show`: the common data set of popular chunks.
 *
 *     vmdedup cds update [--top PERCENT] [--min-vms N] [--max-bytes B]
 *     vmdedup cds show [--budget B]
 *
 * update selects the chunks held by the most VMs, copies the new ones into
 * popular containers and publishes a new manifest version; show prints the
 * published version and what a host with the budget (--budget, or the
 * global --cds-budget, default 8 MiB) loads of it.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

enum { OPT_TOP = 400, OPT_MIN_VMS, OPT_MAX_BYTES, OPT_BUDGET };

static vmd_cds_update_opts uopts;

static const struct option cds_options[] = {
    {"top", required_argument, NULL, OPT_TOP},
    {"min-vms", required_argument, NULL, OPT_MIN_VMS},
    {"max-bytes", required_argument, NULL, OPT_MAX_BYTES},
    {"budget", required_argument, NULL, OPT_BUDGET},
    {NULL, 0, NULL, 0},
};

static int handle_cds_option(vmd_cli *cli, int opt, const char *arg)
{
    char *end;

    switch (opt) {
    case OPT_TOP:
        uopts.top_percent = strtod(arg, &end);
        if (*arg < '0' || *arg > '9' || *end || !(uopts.top_percent > 0) ||
            uopts.top_percent > 100) {
            vmd_cli_error(cli, "--top wants a percentage above 0 and at most 100, not '%s'", arg);
            return 2;
        }
        return 0;
    case OPT_MIN_VMS:
        uopts.min_vms = vmd_cli_parse_u32(arg);
        if (!uopts.min_vms) {
            vmd_cli_error(cli, "--min-vms wants a positive number of VMs, not '%s'", arg);
            return 2;
        }
        return 0;
    case OPT_MAX_BYTES:
        if (vmd_cli_parse_size(arg, &uopts.max_bytes) || !uopts.max_bytes) {
            vmd_cli_error(cli, "--max-bytes wants a size in bytes (e.g. 64M), not '%s'", arg);
            return 2;
        }
        return 0;
    case OPT_BUDGET:
        return vmd_cli_budget_arg(cli, arg);
    }
    return -1;
}

static void print_time(int64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void info_json(const vmd_cds_info *i, int loaded)
{
    char t[32];

    print_time(i->time, t, sizeof(t));
    printf("{\"version\":%" PRIu64 ",\"entries\":%" PRIu64 ",\"bytes\":%" PRIu64
           ",\"threshold\":%u,\"time\":%" PRId64 ",\"time_utc\":\"%s\",\"containers\":%" PRIu64
           ",\"mem\":%" PRIu64 ",\"mem_per_entry\":%.1f,\"budget\":%" PRIu64,
           i->version, i->entries, i->bytes, i->threshold, i->time, i->version ? t : "",
           i->containers, i->mem, i->entries ? (double)i->mem / (double)i->entries : 0.0,
           i->budget);
    if (loaded)
        printf(",\"loaded\":%" PRIu64 ",\"loaded_mem\":%" PRIu64, i->loaded, i->loaded_mem);
    printf("}");
}

static void info_plain(const vmd_cds_info *i)
{
    char t[32], b1[32], b2[32];

    if (!i->version) {
        printf("no CDS published yet (run vmdedup cds update)\n");
        return;
    }
    print_time(i->time, t, sizeof(t));
    printf("CDS version %" PRIu64 ", written %s\n", i->version, t);
    printf("  %-10s %" PRIu64 " (%s) in %" PRIu64 " popular container%s\n", "chunks", i->entries,
           vmd_cli_bytes(i->bytes, b1, sizeof(b1)), i->containers, i->containers == 1 ? "" : "s");
    printf("  %-10s held by at least %u VMs\n", "threshold", i->threshold);
    printf("  %-10s %s on a host to load it all (%.1f bytes per chunk)\n", "memory",
           vmd_cli_bytes(i->mem, b1, sizeof(b1)),
           i->entries ? (double)i->mem / (double)i->entries : 0.0);
    printf("  %-10s %s: a host loads %" PRIu64 " chunks (%s)\n", "budget",
           vmd_cli_bytes(i->budget, b1, sizeof(b1)), i->loaded,
           vmd_cli_bytes(i->loaded_mem, b2, sizeof(b2)));
}

static int cds_show(vmd_cli *cli, vmd_store *store)
{
    vmd_cds_info info;

    if (vmd_cds_show(&info, store))
        return 1;
    if (cli->format == VMD_OUT_JSON) {
        info_json(&info, 1);
        putchar('\n');
    } else {
        info_plain(&info);
    }
    return 0;
}

static void update_plain(const vmd_cds_update_result *r)
{
    char b1[32], b2[32];

    printf("CDS version %" PRIu64 " published", r->cds.version);
    if (r->previous)
        printf(" (replaces %" PRIu64 ")", r->previous);
    printf(" in %.2f s\n", r->seconds);
    if (r->target == UINT64_MAX)
        printf("  %-10s %" PRIu64 " chunks of %" PRIu64 " unique", "selected", r->selected,
               r->unique_chunks);
    else
        printf("  %-10s %" PRIu64 " of %" PRIu64 " wanted (of %" PRIu64 " unique)", "selected",
               r->selected, r->target, r->unique_chunks);
    printf(", down to %u VMs per chunk\n", r->cds.threshold);
    printf("  %-10s %" PRIu64 " kept, %" PRIu64 " adopted, %" PRIu64 " carried over\n", "unchanged",
           r->kept, r->adopted, r->carried);
    printf("  %-10s %" PRIu64 " chunks (%s) into %" PRIu64 " popular container%s (%s)\n", "copied",
           r->added, vmd_cli_bytes(r->added_bytes, b1, sizeof(b1)), r->containers,
           r->containers == 1 ? "" : "s", vmd_cli_bytes(r->container_bytes, b2, sizeof(b2)));
    if (r->skipped)
        printf("  %-10s %" PRIu64 " chunks whose home copy is gone\n", "skipped", r->skipped);
    printf("  %-10s %" PRIu64 " chunks (%s), %s of host memory to load it all\n", "CDS",
           r->cds.entries, vmd_cli_bytes(r->cds.bytes, b1, sizeof(b1)),
           vmd_cli_bytes(r->cds.mem, b2, sizeof(b2)));
}

static void update_json(const vmd_cds_update_result *r)
{
    printf("{\"previous\":%" PRIu64 ",\"unique_chunks\":%" PRIu64 ",\"target\":", r->previous,
           r->unique_chunks);
    if (r->target == UINT64_MAX)
        printf("null");
    else
        printf("%" PRIu64, r->target);
    printf(",\"selected\":%" PRIu64 ",\"kept\":%" PRIu64 ",\"adopted\":%" PRIu64
           ",\"added\":%" PRIu64 ",\"added_bytes\":%" PRIu64 ",\"carried\":%" PRIu64
           ",\"skipped\":%" PRIu64 ",\"containers_written\":%" PRIu64
           ",\"container_bytes\":%" PRIu64 ",\"seconds\":%.3f,\"cds\":",
           r->selected, r->kept, r->adopted, r->added, r->added_bytes, r->carried, r->skipped,
           r->containers, r->container_bytes, r->seconds);
    info_json(&r->cds, 0);
    printf("}\n");
}

static int cds_update(vmd_cli *cli, vmd_store *store)
{
    vmd_cds_update_result r;
    int rc;

    uopts.progress = vmd_cli_progress(cli);
    uopts.progress_arg = "cds update";
    rc = vmd_cds_update(&r, store, &uopts);
    vmd_cli_progress_end();
    if (rc)
        return 1;
    if (cli->format == VMD_OUT_JSON)
        update_json(&r);
    else if (!cli->quiet)
        update_plain(&r);
    else
        printf("%" PRIu64 "\n", r.cds.version);
    return 0;
}

int vmd_cmd_cds(vmd_cli *cli, int argc, char **argv)
{
    vmd_store *store = NULL;
    const char *what;
    int first, rc;

    rc = vmd_cli_parse(cli, argc, argv, cds_options, "", handle_cds_option, 0, &first);
    if (rc)
        return rc;
    what = first < argc ? argv[first] : "";
    if (first + 1 != argc || (strcmp(what, "update") && strcmp(what, "show"))) {
        vmd_cli_error(cli, "usage: vmdedup cds update [--top PERCENT] [--min-vms N] "
                           "[--max-bytes B] | vmdedup cds show [--budget B]");
        return 2;
    }
    if (strcmp(what, "show") == 0 && (uopts.top_percent || uopts.min_vms || uopts.max_bytes)) {
        vmd_cli_error(cli, "--top, --min-vms and --max-bytes apply to cds update only");
        return 2;
    }
    if (vmd_cli_open_store(cli, &store))
        return 1;
    rc = strcmp(what, "show") == 0 ? cds_show(cli, store) : cds_update(cli, store);
    vmd_store_close(store);
    return rc;
}
