/*
 * cmd_xen.c - `vmdedup xen ls`: the Xen domains of this host and their disks.
 *
 * Goes through the plugin's narrow toolstack interface (plugin/xen.h). On a
 * machine without a hypervisor it fails with "Xen is not running here".
 */
#include <stdlib.h>
#include <string.h>

#include "xen.h"
#include "cli/cli.h"
#include "util/json.h"

static int print_domains(vmd_cli *cli, vmd_xen *x)
{
    vmd_xen_domain *doms = NULL;
    size_t n = 0, i, j;
    int err;

    err = x->ops->list_domains(x->impl, &doms, &n);
    if (err) {
        vmd_cli_error(cli, "listing Xen domains failed (%d)", err);
        return 1;
    }
    if (cli->format == VMD_OUT_JSON)
        printf("[");
    for (i = 0; i < n; i++) {
        vmd_xen_disk *disks = NULL;
        size_t nd = 0;
        if (x->ops->list_disks(x->impl, doms[i].domid, &disks, &nd))
            nd = 0;
        if (cli->format == VMD_OUT_JSON) {
            printf("%s{\"domid\":%u,\"uuid\":", i ? "," : "", doms[i].domid);
            vmd_json_write_str(stdout, doms[i].uuid);
            printf(",\"name\":");
            vmd_json_write_str(stdout, doms[i].name);
            printf(",\"disks\":[");
            for (j = 0; j < nd; j++) {
                printf("%s{\"vdev\":", j ? "," : "");
                vmd_json_write_str(stdout, disks[j].vdev);
                printf(",\"target\":");
                vmd_json_write_str(stdout, disks[j].target);
                printf(",\"readonly\":%s}", disks[j].readonly ? "true" : "false");
            }
            printf("]}");
        } else {
            printf("%5u  %s  %s\n", doms[i].domid, doms[i].uuid, doms[i].name);
            for (j = 0; j < nd; j++)
                printf("       %-6s %s%s\n", disks[j].vdev, disks[j].target,
                       disks[j].readonly ? " (ro)" : "");
        }
        free(disks);
    }
    if (cli->format == VMD_OUT_JSON)
        printf("]\n");
    free(doms);
    return 0;
}

int vmd_cmd_xen(vmd_cli *cli, int argc, char **argv)
{
    vmd_xen *x = NULL;
    char err[256] = "";
    int first, rc;

    rc = vmd_cli_parse(cli, argc, argv, NULL, NULL, NULL, 0, &first);
    if (rc)
        return rc;
    if (first >= argc || strcmp(argv[first], "ls") != 0 || first + 1 != argc) {
        vmd_cli_error(cli, "usage: vmdedup xen ls");
        return 2;
    }
    if (vmd_xen_libxl_open(&x, err, sizeof(err))) {
        vmd_cli_error(cli, "%s", err[0] ? err : "cannot connect to the Xen toolstack");
        return 1;
    }
    rc = print_domains(cli, x);
    vmd_xen_close(x);
    return rc;
}
