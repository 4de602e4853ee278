/*
 * cmd_info.c - `vmdedup info VM SNAP`: one snapshot and its statistics.
 */
#include "cli/cli.h"

int vmd_cmd_info(vmd_cli *cli, int argc, char **argv)
{
    vmd_store *store = NULL;
    vmd_snap_info info;
    uint32_t snap;
    int first, rc;

    rc = vmd_cli_parse_args(cli, argc, argv, NULL, NULL, NULL, 2, "usage: vmdedup info VM SNAP",
                            &first);
    if (rc)
        return rc;
    rc = vmd_cli_open_snap(cli, argv[first + 1], &snap, &store);
    if (rc)
        return rc;
    rc = vmd_snap_get(&info, store, argv[first], snap);
    vmd_store_close(store);
    if (rc)
        return 1;
    vmd_cli_snap_print(cli, &info);
    return 0;
}
