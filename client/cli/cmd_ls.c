/*
 * cmd_ls.c - `vmdedup ls [VM]`: the VMs of the store, or the snapshots of one.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <time.h>

#include "cli/cli.h"
#include "util/json.h"

static int list_vms(vmd_cli *cli, vmd_store *store)
{
    vmd_vm_list *vms = NULL;
    size_t n, i;

    if (vmd_vm_list_new(&vms, store))
        return 1;
    n = vmd_vm_list_count(vms);
    if (cli->format == VMD_OUT_JSON) {
        printf("[");
        for (i = 0; i < n; i++) {
            if (i)
                printf(",");
            vmd_json_write_str(stdout, vmd_vm_list_get(vms, i));
        }
        printf("]\n");
    } else {
        for (i = 0; i < n; i++)
            printf("%s\n", vmd_vm_list_get(vms, i));
    }
    vmd_vm_list_free(vms);
    return 0;
}

static int list_snaps(vmd_cli *cli, vmd_store *store, const char *vm)
{
    vmd_snap_list *snaps = NULL;
    size_t n, i;
    char size[32], stored[32];

    if (vmd_snap_list_new(&snaps, store, vm))
        return 1;
    n = vmd_snap_list_count(snaps);
    if (cli->format == VMD_OUT_JSON) {
        printf("[");
        for (i = 0; i < n; i++) {
            if (i)
                printf(",");
            vmd_cli_snap_json(stdout, vmd_snap_list_get(snaps, i));
        }
        printf("]\n");
    } else {
        printf("%6s %6s  %-20s %12s %12s\n", "SNAP", "PARENT", "TIME (UTC)", "SIZE", "STORED");
        for (i = 0; i < n; i++) {
            const vmd_snap_info *si = vmd_snap_list_get(snaps, i);
            char when[32];
            time_t t = (time_t)si->time;
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
            printf("%6u %6u  %-20s %12s %12s\n", si->snap, si->parent, when,
                   vmd_cli_bytes(si->size, size, sizeof(size)),
                   vmd_cli_bytes(si->stats.stored_bytes, stored, sizeof(stored)));
        }
    }
    vmd_snap_list_free(snaps);
    return 0;
}

int vmd_cmd_ls(vmd_cli *cli, int argc, char **argv)
{
    vmd_store *store = NULL;
    int first, rc;

    rc = vmd_cli_parse(cli, argc, argv, NULL, NULL, NULL, 0, &first);
    if (rc)
        return rc;
    if (first + 1 < argc) {
        vmd_cli_error(cli, "usage: vmdedup ls [VM]");
        return 2;
    }
    if (vmd_cli_open_store(cli, &store))
        return 1;
    rc = first == argc ? list_vms(cli, store) : list_snaps(cli, store, argv[first]);
    vmd_store_close(store);
    return rc;
}
