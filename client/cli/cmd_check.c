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
    size_t i;

    if (cli->format == VMD_OUT_JSON) {
        printf("%s{\"vm\":", first ? "" : ",");
        vmd_json_write_str(stdout, vm);
        printf(",\"next_snap\":%u,\"committed\":%zu,\"orphans\":[", r->next_seq, r->committed);
        for (i = 0; i < r->norphans; i++)
            printf("%s{\"snap\":%u,\"recipe\":%s,\"containers\":%" PRIu64 "}", i ? "," : "",
                   r->orphans[i].snap, r->orphans[i].recipe ? "true" : "false",
                   r->orphans[i].containers);
        printf("]}");
        return;
    }
    printf("%s: %zu committed snapshot%s, next %u: ", vm, r->committed,
           r->committed == 1 ? "" : "s", r->next_seq);
    if (!r->norphans) {
        printf("clean\n");
        return;
    }
    printf("%zu interrupted backup%s left objects\n", r->norphans, r->norphans == 1 ? "" : "s");
    for (i = 0; i < r->norphans; i++)
        printf("  snapshot %u (never committed): %s%" PRIu64 " container%s\n", r->orphans[i].snap,
               r->orphans[i].recipe ? "recipe, " : "", r->orphans[i].containers,
               r->orphans[i].containers == 1 ? "" : "s");
}

static int check_one(vmd_cli *cli, vmd_store *store, const char *vm, int first)
{
    vmd_check_report r;

    memset(&r, 0, sizeof(r));
    if (vmd_check(store, vm, &r))
        return 1;
    print_report(cli, vm, &r, first);
    vmd_check_report_free(&r);
    return 0;
}

int vmd_cmd_check(vmd_cli *cli, int argc, char **argv)
{
    vmd_store *store = NULL;
    char **vms = NULL;
    size_t n = 0, i;
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
    } else if ((rc = vmd_vm_list(store, &vms, &n)) == 0) {
        for (i = 0; i < n && !rc; i++)
            rc = check_one(cli, store, vms[i], i == 0);
        vmd_vm_list_free(vms, n);
    } else {
        rc = 1;
    }
    if (cli->format == VMD_OUT_JSON && !rc)
        printf("]\n");
    vmd_store_close(store);
    return rc ? 1 : 0;
}
