/*
 * main.c - the vmdedup command: finds the verb and hands over to it.
 *
 *     vmdedup [GLOBAL OPTIONS] VERB [ARGS] [OPTIONS]
 *
 * Exit codes: 0 success, 1 failure (one line on stderr says what failed),
 * 2 usage error.
 */
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const vmd_cmd commands[] = {
    {"backup", "VM IMAGE", "back up a disk image as the VM's next snapshot", vmd_cmd_backup},
    {"restore", "VM SNAP OUT", "restore a snapshot (or --offset/--length range) to OUT",
     vmd_cmd_restore},
    {"ls", "[VM]", "list the VMs, or the snapshots of VM", vmd_cmd_ls},
    {"check", "[VM]", "report what interrupted backups left behind", vmd_cmd_check},
    {"cds", "update|show", "build or show the common data set of popular chunks", vmd_cmd_cds},
    {"stats", "[VM]", "bytes saved by each level, dedup figure of merit, availability",
     vmd_cmd_stats},
    {"info", "VM SNAP", "show one snapshot and what each level saved", vmd_cmd_info},
    {"init", "[--partitions N] [--chunk-avg B] [--zstd-level L|none]",
     "initialise a store in existing pools (settings fixed for its life)", vmd_cmd_init},
    {"inspect", "OBJECT",
     "decode any object of the store (r.*, vm.*, cds.*, idx.*, c.*, p.*, vmd.*)", vmd_cmd_inspect},
    {"version", "", "show the client version and the class version the OSDs run", vmd_cmd_version},
    {"xen", "ls", "list Xen domains and their disks (libxenlight)", vmd_cmd_xen},
};

static void usage(FILE *f)
{
    size_t i;

    fprintf(f, "usage: vmdedup [options] <verb> [args]\n       vmdedup help [VERB]\n\nverbs:\n");
    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-8s %-17s %s\n", commands[i].name, commands[i].args, commands[i].help);
    fprintf(f, "\noptions:\n"
               "  -c, --conf FILE        ceph.conf (default: $CEPH_CONF, /etc/ceph/ceph.conf)\n"
               "  --id, --user ID        client id (default: admin)\n"
               "  --keyring FILE         keyring\n"
               "  --cluster NAME         cluster name (default: ceph)\n"
               "  -p, --pool META        meta pool; data and popular pools follow its prefix\n"
               "  --meta-pool, --data-pool, --popular-pool POOL\n"
               "                         pools (default: vmd.meta, vmd.data, vmd.popular)\n"
               "  --namespace NS         RADOS namespace of the tenant\n"
               "  --format plain|json    output format (default: plain)\n"
               "  --cds-budget BYTES     host memory for the common data set (default: 8M)\n"
               "  -q, --quiet            no progress output\n"
               "  -h, --help             this help\n");
}

static const vmd_cmd *find_verb(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(name, commands[i].name) == 0)
            return &commands[i];
    return NULL;
}

/* `vmdedup help [VERB]`: the whole usage, or one verb's. */
static int help(vmd_cli *cli, int argc, char **argv)
{
    const vmd_cmd *c;

    if (argc < 2) {
        usage(stdout);
        return 0;
    }
    if (argc > 2 || !(c = find_verb(argv[1]))) {
        vmd_cli_error(cli, "help wants one verb (see vmdedup --help), not '%s'", argv[1]);
        return 2;
    }
    printf("usage: vmdedup [options] %s %s\n  %s\n", c->name, c->args, c->help);
    return 0;
}

/*
 * -h or --help anywhere before "--" asks for the usage. The word "help" is
 * special only in the verb's place (main() below): elsewhere it is an
 * argument like any other, so a VM or a file may be called help.
 */
static int wants_help(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    const vmd_cmd *c;
    vmd_cli cli;
    int first, rc;

    memset(&cli, 0, sizeof(cli));
    cli.prog = "vmdedup";
    /* Two malloc arenas instead of one per thread: a 1 GiB full backup peaked at
       55 MB instead of 68 MB, at the same speed. A fixed mmap threshold keeps
       every buffer of 256 KiB or more (segments, librados' copies of container
       pieces) out of the heaps, so freeing one returns it at once instead of
       leaving a hole (about 1 MB less at peak). Set here, not in the library:
       a toolstack's malloc is its own business (docs/benchmarks.md). */
    mallopt(M_ARENA_MAX, 2);
    mallopt(M_MMAP_THRESHOLD, 256 << 10);
    if (wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    rc = vmd_cli_parse(&cli, argc, argv, NULL, NULL, NULL, 1, &first);
    if (rc)
        return rc;
    if (first >= argc) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[first], "help") == 0)
        return help(&cli, argc - first, argv + first);
    if ((c = find_verb(argv[first])))
        return c->run(&cli, argc - first, argv + first);
    vmd_cli_error(&cli, "unknown verb '%s' (see vmdedup --help)", argv[first]);
    return 2;
}
