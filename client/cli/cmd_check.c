/*
 * cmd_check.c - `vmdedup check [VM]`: what interrupted backups left behind.
 *
 * A backup killed before its commit leaves a snapshot number that was
 * allocated but never entered in the catalog, and possibly its recipe and
 * some containers. Committed snapshots are never affected; this verb lists
 * the leftovers (reclaiming them is garbage collection's job). Exit 0 when
 * the check ran, whatever it found.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/json.h"

static void print_report(vmd_cli *cli, const char *vm, const vmd_check_report *r, int first)
{
    size_t committed = vmd_check_report_committed(r), n = vmd_check_report_orphan_count(r), i;
    uint32_t next = vmd_check_report_next_seq(r);
    const vmd_check_orphan *o;

    if (cli->format == VMD_OUT_JSON) {
        printf("%s{\"vm\":", first ? "" : ",");
        vmd_json_write_str(stdout, vm);
        printf(",\"next_snap\":%u,\"committed\":%zu,\"orphans\":[", next, committed);
        for (i = 0; i < n; i++) {
            o = vmd_check_report_orphan(r, i);
            printf("%s{\"snap\":%u,\"recipe\":%s,\"containers\":%" PRIu64 "}", i ? "," : "",
                   o->snap, o->recipe ? "true" : "false", o->containers);
        }
        printf("]}");
        return;
    }
    printf("%s: %zu committed snapshot%s, next %u: ", vm, committed, committed == 1 ? "" : "s",
           next);
    if (!n) {
        printf("clean\n");
        return;
    }
    printf("%zu interrupted backup%s left objects\n", n, n == 1 ? "" : "s");
    for (i = 0; i < n; i++) {
        o = vmd_check_report_orphan(r, i);
        printf("  snapshot %u (never committed): %s%" PRIu64 " container%s\n", o->snap,
               o->recipe ? "recipe, " : "", o->containers, o->containers == 1 ? "" : "s");
    }
}

static int check_one(vmd_cli *cli, vmd_store *store, const char *vm, int first)
{
    vmd_check_report *r = NULL;

    if (vmd_check(&r, store, vm))
        return 1;
    print_report(cli, vm, r, first);
    vmd_check_report_free(r);
    return 0;
}

int vmd_cmd_check(vmd_cli *cli, int argc, char **argv)
{
    vmd_store *store = NULL;
    vmd_vm_list *vms = NULL;
    size_t i;
    int first, rc;

    rc = vmd_cli_parse(cli, argc, argv, NULL, NULL, NULL, 0, &first);
    if (rc)
        return rc;
    if (first + 1 < argc) {
        vmd_cli_error(cli, "usage: vmdedup check [VM]");
        return 2;
    }
    if (vmd_cli_open_store(cli, &store))
        return 1;
    if (cli->format == VMD_OUT_JSON)
        printf("[");
    if (first + 1 == argc) {
        rc = check_one(cli, store, argv[first], 1);
    } else if ((rc = vmd_vm_list_new(&vms, store)) == 0) {
        for (i = 0; i < vmd_vm_list_count(vms) && !rc; i++)
            rc = check_one(cli, store, vmd_vm_list_get(vms, i), i == 0);
        vmd_vm_list_free(vms);
    } else {
        rc = 1;
    }
    if (cli->format == VMD_OUT_JSON && !rc)
        printf("]\n");
    vmd_store_close(store);
    return rc ? 1 : 0;
}
