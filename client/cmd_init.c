/*
 * cmd_init.c - `vmdedup init`: make existing pools into a vmdedup store.
 *
 * The pools themselves are created by ceph-conf/vmd-pools (pool creation
 * needs mon caps an ordinary client should not have).
 */
#include "cli.h"

int vmd_cmd_init(vmd_cli *cli, int argc, char **argv)
{
    vmd_store *store = NULL;
    int first, rc;

    rc = vmd_cli_parse(cli, argc, argv, NULL, NULL, NULL, 0, &first);
    if (rc)
        return rc;
    if (first != argc) {
        vmd_cli_error(cli, "init takes no arguments");
        return 2;
    }
    if (vmd_cli_open_store(cli, &store))
        return 1;
    rc = vmd_store_init(store);
    vmd_store_close(store);
    if (rc)
        return 1;
    if (cli->format == VMD_OUT_JSON)
        printf("{\"initialised\":true}\n");
    else if (!cli->quiet)
        printf("store initialised\n");
    return 0;
}
