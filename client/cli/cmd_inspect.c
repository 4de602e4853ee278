/*
 * cmd_inspect.c - `vmdedup inspect OBJECT`: decode any object of the store.
 *
 * What can be decoded, and how names map to pools, is in client/report/inspect.c
 * and docs/format.md.
 */
#include "cli/cli.h"

int vmd_cmd_inspect(vmd_cli *cli, int argc, char **argv)
{
    vmd_store *store = NULL;
    int first, rc;

    rc = vmd_cli_parse_args(cli, argc, argv, NULL, NULL, NULL, 1, "usage: vmdedup inspect OBJECT",
                            &first);
    if (rc)
        return rc;
    if (vmd_cli_open_store(cli, &store))
        return 1;
    rc = vmd_store_inspect(stdout, store, argv[first],
                           cli->format == VMD_OUT_JSON ? VMD_FORMAT_JSON : VMD_FORMAT_PLAIN);
    vmd_store_close(store);
    return rc ? 1 : 0;
}
