/*
 * cli.c - option parsing, error reporting and JSON output for the vmdedup command.
 */
#include "cli/cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_ID = 256,
    OPT_KEYRING,
    OPT_CLUSTER,
    OPT_META_POOL,
    OPT_DATA_POOL,
    OPT_POPULAR_POOL,
    OPT_NAMESPACE,
    OPT_FORMAT,
    OPT_CDS_BUDGET,
};

static const struct option global_opts[] = {
    {"conf", required_argument, NULL, 'c'},
    {"id", required_argument, NULL, OPT_ID},
    {"user", required_argument, NULL, OPT_ID},
    {"keyring", required_argument, NULL, OPT_KEYRING},
    {"cluster", required_argument, NULL, OPT_CLUSTER},
    {"pool", required_argument, NULL, 'p'},
    {"meta-pool", required_argument, NULL, OPT_META_POOL},
    {"data-pool", required_argument, NULL, OPT_DATA_POOL},
    {"popular-pool", required_argument, NULL, OPT_POPULAR_POOL},
    {"namespace", required_argument, NULL, OPT_NAMESPACE},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"cds-budget", required_argument, NULL, OPT_CDS_BUDGET},
    {"quiet", no_argument, NULL, 'q'},
    {NULL, 0, NULL, 0},
};

#define GLOBAL_SHORT "c:p:q"
#define MAX_OPTS     64

void vmd_cli_error(const vmd_cli *cli, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: error: ", cli && cli->prog ? cli->prog : "vmdedup");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void vmd_cli_on_error(void *arg, int err, const char *msg)
{
    (void)err;
    vmd_cli_error(arg, "%s", msg);
}

/*
 * -p/--pool sets the meta pool and derives the two others from its prefix:
 * "-p tenant1.meta" gives tenant1.data and tenant1.popular. Explicit
 * --data-pool/--popular-pool win.
 */
static int set_pool_prefix(vmd_cli *cli, const char *arg)
{
    static char data[256], popular[256];
    const char *dot = strrchr(arg, '.');
    size_t plen = dot ? (size_t)(dot - arg) : strlen(arg);

    if (plen == 0 || plen > 200)
        return -1;
    snprintf(data, sizeof(data), "%.*s.data", (int)plen, arg);
    snprintf(popular, sizeof(popular), "%.*s.popular", (int)plen, arg);
    cli->store.meta_pool = arg;
    if (!cli->store.data_pool)
        cli->store.data_pool = data;
    if (!cli->store.popular_pool)
        cli->store.popular_pool = popular;
    return 0;
}

int vmd_cli_budget_arg(vmd_cli *cli, const char *arg)
{
    uint64_t v;

    if (vmd_cli_parse_size(arg, &v) || v == 0) {
        vmd_cli_error(cli, "--cds-budget wants a size in bytes (e.g. 8M), not '%s'", arg);
        return 2;
    }
    cli->store.cds_budget = v;
    return 0;
}

/* The field of the store's options that option opt sets to its value as given, or NULL. */
static const char **store_field(vmd_cli *cli, int opt)
{
    switch (opt) {
    case 'c':
        return &cli->store.conf;
    case OPT_KEYRING:
        return &cli->store.keyring;
    case OPT_CLUSTER:
        return &cli->store.cluster;
    case OPT_META_POOL:
        return &cli->store.meta_pool;
    case OPT_DATA_POOL:
        return &cli->store.data_pool;
    case OPT_POPULAR_POOL:
        return &cli->store.popular_pool;
    case OPT_NAMESPACE:
        return &cli->store.nspace;
    }
    return NULL;
}

static int handle_global(vmd_cli *cli, int opt, const char *arg)
{
    const char **field = store_field(cli, opt);

    if (field) {
        *field = arg;
        return 0;
    }
    switch (opt) {
    case OPT_ID:
        cli->store.id = strncmp(arg, "client.", 7) == 0 ? arg + 7 : arg;
        return 0;
    case 'p':
        if (set_pool_prefix(cli, arg)) {
            vmd_cli_error(cli, "bad pool name '%s'", arg);
            return 2;
        }
        return 0;
    case OPT_FORMAT:
        if (strcmp(arg, "plain") == 0)
            cli->format = VMD_OUT_PLAIN;
        else if (strcmp(arg, "json") == 0 || strcmp(arg, "json-pretty") == 0)
            cli->format = VMD_OUT_JSON;
        else {
            vmd_cli_error(cli, "unknown format '%s' (plain or json)", arg);
            return 2;
        }
        return 0;
    case 'q':
        cli->quiet = 1;
        return 0;
    case OPT_CDS_BUDGET:
        return vmd_cli_budget_arg(cli, arg);
    }
    return -1; /* not a global option */
}

int vmd_cli_parse(vmd_cli *cli, int argc, char **argv, const struct option *extra,
                  const char *extra_short, int (*handle_extra)(vmd_cli *, int opt, const char *),
                  int stop_at_verb, int *first)
{
    struct option all[MAX_OPTS];
    char shortopts[64];
    size_t n = 0, i;
    int opt, rc;

    for (i = 0; global_opts[i].name; i++)
        all[n++] = global_opts[i];
    for (i = 0; extra && extra[i].name && n < MAX_OPTS - 1; i++)
        all[n++] = extra[i];
    memset(&all[n], 0, sizeof(all[n]));
    /* Leading ':' reports a missing value apart from an unknown option. Without
       '+', options may follow positional arguments, as in rbd. */
    snprintf(shortopts, sizeof(shortopts), "%s:" GLOBAL_SHORT "%s", stop_at_verb ? "+" : "",
             extra_short ? extra_short : "");
    /* 0, not 1: glibc then also resets its permutation state, which the
       verb's second parse of argv would otherwise inherit from main's. */
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, shortopts, all, NULL)) != -1) {
        if (opt == '?') {
            vmd_cli_error(cli, "unknown option '%s'", argv[optind - 1]);
            return 2;
        }
        if (opt == ':') {
            vmd_cli_error(cli, "option '%s' needs a value", argv[optind - 1]);
            return 2;
        }
        rc = handle_global(cli, opt, optarg);
        if (rc == -1)
            rc = handle_extra ? handle_extra(cli, opt, optarg) : -1;
        if (rc == -1) {
            vmd_cli_error(cli, "option '%s' does not apply here", argv[optind - 1]);
            return 2;
        }
        if (rc)
            return rc;
    }
    *first = optind;
    return 0;
}

int vmd_cli_parse_args(vmd_cli *cli, int argc, char **argv, const struct option *extra,
                       const char *extra_short,
                       int (*handle_extra)(vmd_cli *, int opt, const char *), int nargs,
                       const char *usage, int *first)
{
    int rc = vmd_cli_parse(cli, argc, argv, extra, extra_short, handle_extra, 0, first);

    if (rc)
        return rc;
    if (*first + nargs != argc) {
        vmd_cli_error(cli, "%s", usage);
        return 2;
    }
    return 0;
}

int vmd_cli_open_store(vmd_cli *cli, vmd_store **out)
{
    cli->store.on_error = vmd_cli_on_error;
    cli->store.error_arg = cli;
    return vmd_store_open(out, &cli->store) ? 1 : 0;
}

int vmd_cli_open_snap(vmd_cli *cli, const char *arg, uint32_t *snap, vmd_store **out)
{
    if (vmd_cli_snap_arg(cli, arg, snap))
        return 2;
    return vmd_cli_open_store(cli, out);
}
