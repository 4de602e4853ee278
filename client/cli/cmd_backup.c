/*
 * cmd_backup.c - `vmdedup backup VM IMAGE`: one disk snapshot into the store.
 *
 *     vmdedup backup VM IMAGE [--dirty-map FILE] [--parent SNAP | --full] [--threads N]
 *
 * Prints the new snapshot and what each deduplication level saved; with
 * --format json, one JSON object (keys as in vmd_snap_info). The snapshot
 * exists only when this command succeeds.
 */
#include "cli/cli.h"

enum { OPT_DIRTY = 300, OPT_PARENT, OPT_FULL, OPT_THREADS };

static vmd_backup_opts bopts;

static const struct option backup_options[] = {
    {"dirty-map", required_argument, NULL, OPT_DIRTY},
    {"parent", required_argument, NULL, OPT_PARENT},
    {"full", no_argument, NULL, OPT_FULL},
    {"threads", required_argument, NULL, OPT_THREADS},
    {NULL, 0, NULL, 0},
};

static int handle_backup_option(vmd_cli *cli, int opt, const char *arg)
{
    switch (opt) {
    case OPT_DIRTY:
        bopts.dirty_map = arg;
        return 0;
    case OPT_FULL:
        bopts.full = 1;
        return 0;
    case OPT_PARENT:
        bopts.parent = vmd_cli_parse_u32(arg);
        if (!bopts.parent) {
            vmd_cli_error(cli, "--parent wants a snapshot number, not '%s'", arg);
            return 2;
        }
        return 0;
    case OPT_THREADS:
        return vmd_cli_threads_arg(cli, arg, &bopts.threads);
    }
    return -1;
}

int vmd_cmd_backup(vmd_cli *cli, int argc, char **argv)
{
    vmd_store *store = NULL;
    vmd_snap_info info;
    int first, rc;

    rc = vmd_cli_parse_args(cli, argc, argv, backup_options, "", handle_backup_option, 2,
                            "usage: vmdedup backup VM IMAGE [--dirty-map FILE] "
                            "[--parent SNAP | --full] [--threads N]",
                            &first);
    if (rc)
        return rc;
    if (bopts.full && (bopts.parent || bopts.dirty_map)) {
        vmd_cli_error(cli, "--full takes no parent and no dirty map");
        return 2;
    }
    if (vmd_cli_open_store(cli, &store))
        return 1;
    bopts.progress = vmd_cli_progress(cli);
    bopts.progress_arg = "backup ";
    rc = vmd_backup(&info, store, argv[first], argv[first + 1], &bopts);
    vmd_cli_progress_end();
    vmd_store_close(store);
    if (rc)
        return 1;
    if (cli->quiet && cli->format != VMD_OUT_JSON)
        printf("%u\n", info.snap);
    else
        vmd_cli_snap_print(cli, &info);
    return 0;
}
