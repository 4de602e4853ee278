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

    rc = vmd_cli_parse(cli, argc, argv, NULL, NULL, NULL, 0, &first);
    if (rc)
        return rc;
    if (first + 1 != argc) {
        vmd_cli_error(cli, "usage: vmdedup inspect OBJECT");
        return 2;
    }
    if (vmd_cli_open_store(cli, &store))
        return 1;
    rc = vmd_store_inspect(stdout, store, argv[first],
                           cli->format == VMD_OUT_JSON ? VMD_FORMAT_JSON : VMD_FORMAT_PLAIN);
    vmd_store_close(store);
    return rc ? 1 : 0;
}
