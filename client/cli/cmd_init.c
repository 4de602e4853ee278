/*
 * cmd_init.c - `vmdedup init`: make existing pools into a vmdedup store.
 *
 * The pools themselves are created by ceph-conf/vmd-pools (pool creation
 * needs mon caps an ordinary client should not have).
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static vmd_init_opts init_opts;

static const struct option init_options[] = {
    {"partitions", required_argument, NULL, 'P'},
    {"chunk-avg", required_argument, NULL, 'A'},
    {"zstd-level", required_argument, NULL, 'Z'},
    {NULL, 0, NULL, 0},
};

static int handle_init_option(vmd_cli *cli, int opt, const char *arg)
{
    char *end;
    unsigned long v;

    if (opt == 'A') {
        v = strtoul(arg, &end, 10);
        if (*arg == 0 || *end || v < 1024 || v > 65536 || (v & (v - 1))) {
            vmd_cli_error(cli, "--chunk-avg wants a power of two from 1024 to 65536, not '%s'",
                          arg);
            return 2;
        }
        init_opts.chunk_avg = (unsigned)v;
        return 0;
    }
    if (opt == 'Z') {
        v = strtoul(arg, &end, 10);
        if (!strcmp(arg, "none")) {
            init_opts.zstd_level = -1;
            return 0;
        }
        if (*arg == 0 || *end || v < 1 || v > 19) {
            vmd_cli_error(cli, "--zstd-level wants 1 to 19 or 'none', not '%s'", arg);
            return 2;
        }
        init_opts.zstd_level = (int)v;
        return 0;
    }
    if (opt != 'P')
        return -1;
    v = strtoul(arg, &end, 10);
    if (*arg == 0 || *end || v == 0 || v > 65536) {
        vmd_cli_error(cli, "--partitions wants a power of two from 1 to 65536, not '%s'", arg);
        return 2;
    }
    init_opts.partitions = (unsigned)v;
    return 0;
}

int vmd_cmd_init(vmd_cli *cli, int argc, char **argv)
{
    vmd_store *store = NULL;
    int first, rc;

    rc = vmd_cli_parse_args(cli, argc, argv, init_options, "", handle_init_option, 0,
                            "init takes no arguments", &first);
    if (rc)
        return rc;
    if (vmd_cli_open_store(cli, &store))
        return 1;
    rc = vmd_store_init(store, &init_opts);
    vmd_store_close(store);
    if (rc)
        return 1;
    if (cli->format == VMD_OUT_JSON)
        printf("{\"initialised\":true,\"partitions\":%u}\n",
               init_opts.partitions ? init_opts.partitions : VMD_DEFAULT_PARTITIONS);
    else if (!cli->quiet)
        printf("store initialised with %u index partitions\n",
               init_opts.partitions ? init_opts.partitions : VMD_DEFAULT_PARTITIONS);
    return 0;
}
