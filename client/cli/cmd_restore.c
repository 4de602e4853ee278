/*
 * cmd_restore.c - `vmdedup restore VM SNAP OUT`: a snapshot back to a file or device.
 *
 *     vmdedup restore VM SNAP OUT [--offset O --length L] [--threads N]
 *
 * OUT receives the whole disk, or with --offset/--length only that range
 * (the range alone, from OUT's first byte, as `rbd export` does). Every
 * chunk is verified against its SHA-256.
 */
#include <inttypes.h>

#include "cli/cli.h"
#include "util/json.h"

enum { OPT_OFFSET = 320, OPT_LENGTH, OPT_THREADS };

static vmd_restore_opts ropts;

static const struct option restore_options[] = {
    {"offset", required_argument, NULL, OPT_OFFSET},
    {"length", required_argument, NULL, OPT_LENGTH},
    {"threads", required_argument, NULL, OPT_THREADS},
    {NULL, 0, NULL, 0},
};

static int handle_restore_option(vmd_cli *cli, int opt, const char *arg)
{
    uint64_t *dst = opt == OPT_OFFSET ? &ropts.offset : &ropts.length;

    switch (opt) {
    case OPT_OFFSET:
    case OPT_LENGTH:
        if (vmd_cli_parse_size(arg, dst)) {
            vmd_cli_error(cli, "--%s wants a byte count (e.g. 4096, 2M, 1GiB), not '%s'",
                          opt == OPT_OFFSET ? "offset" : "length", arg);
            return 2;
        }
        return 0;
    case OPT_THREADS:
        return vmd_cli_threads_arg(cli, arg, &ropts.threads);
    }
    return -1;
}

int vmd_cmd_restore(vmd_cli *cli, int argc, char **argv)
{
    vmd_store *store = NULL;
    uint32_t snap;
    int first, rc;

    rc = vmd_cli_parse_args(cli, argc, argv, restore_options, "", handle_restore_option, 3,
                            "usage: vmdedup restore VM SNAP OUT [--offset O --length L]", &first);
    if (rc)
        return rc;
    rc = vmd_cli_open_snap(cli, argv[first + 1], &snap, &store);
    if (rc)
        return rc;
    ropts.progress = vmd_cli_progress(cli);
    ropts.progress_arg = "restore";
    rc = vmd_restore(store, argv[first], snap, argv[first + 2], &ropts);
    vmd_cli_progress_end();
    vmd_store_close(store);
    if (rc)
        return 1;
    if (cli->format == VMD_OUT_JSON) {
        printf("{\"vm\":");
        vmd_json_write_str(stdout, argv[first]);
        printf(",\"snap\":%u,\"out\":", snap);
        vmd_json_write_str(stdout, argv[first + 2]);
        printf(",\"offset\":%" PRIu64 ",\"length\":%" PRIu64 ",\"verified\":true}\n", ropts.offset,
               ropts.length);
    } else if (!cli->quiet) {
        printf("restored snapshot %u of %s to %s (every chunk verified)\n", snap, argv[first],
               argv[first + 2]);
    }
    return 0;
}
