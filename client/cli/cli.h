/*
 * cli.h - what every verb of the vmdedup command shares.
 *
 * The command is built only on the public API (vmdedup/vmdedup.h). Options
 * follow rados(8) and rbd(8): -c/--conf, --id, --keyring, --cluster, pool
 * overrides, --namespace, --format plain|json, -q. Global options may appear
 * before or after the verb.
 */
#ifndef VMD_CLI_H
#define VMD_CLI_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "vmdedup/vmdedup.h"

typedef enum { VMD_OUT_PLAIN, VMD_OUT_JSON } vmd_out_format;

typedef struct vmd_cli {
    vmd_store_opts store;
    vmd_out_format format;
    int quiet;
    const char *prog;
} vmd_cli;

/* A verb: its name, one line of help, and its entry point. */
typedef struct vmd_cmd {
    const char *name;
    const char *args;
    const char *help;
    int (*run)(vmd_cli *cli, int argc, char **argv);
} vmd_cmd;

/*
 * Parses argv (from argv[0] = the verb) against the global options plus the
 * verb's own (extra, may be NULL; handle_extra gets each of them and returns
 * 0, 2 for a usage error it reported, or -1 for an option it does not take).
 * With stop_at_verb, parsing stops at the first positional argument (used by
 * main() to find the verb). On return *first is the index of the first
 * positional argument. Returns 0, or 2 on a usage error (already reported).
 */
int vmd_cli_parse(vmd_cli *cli, int argc, char **argv, const struct option *extra,
                  const char *extra_short, int (*handle_extra)(vmd_cli *, int opt, const char *),
                  int stop_at_verb, int *first);

/*
 * vmd_cli_parse() for a verb that takes exactly nargs positional arguments
 * (its options as there); any other number prints `usage` as the error.
 * Returns 0, or 2 on a usage error (already reported).
 */
int vmd_cli_parse_args(vmd_cli *cli, int argc, char **argv, const struct option *extra,
                       const char *extra_short,
                       int (*handle_extra)(vmd_cli *, int opt, const char *), int nargs,
                       const char *usage, int *first);

/* Prints "vmdedup: error: MSG" on stderr. */
void vmd_cli_error(const vmd_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The library's error callback: prints the message through vmd_cli_error(). */
void vmd_cli_on_error(void *arg, int err, const char *msg);

/* Opens the store the options describe; reports failures. */
int vmd_cli_open_store(vmd_cli *cli, vmd_store **out);

/*
 * A verb on one snapshot: checks the snapshot number arg into *snap, then
 * opens the store into *out. Returns 0, 2 (not a snapshot number) or 1 (no
 * store), each failure reported.
 */
int vmd_cli_open_snap(vmd_cli *cli, const char *arg, uint32_t *snap, vmd_store **out);

/* A positive 32-bit number (snapshot, thread count), or 0 when s is not one. */
uint32_t vmd_cli_parse_u32(const char *s);

/*
 * Option and argument checks shared by the verbs: each stores the value and
 * returns 0, or reports the bad text and returns 2 (a usage error).
 * Threads: 1..256. Snapshot: a positive 32-bit number.
 */
int vmd_cli_threads_arg(const vmd_cli *cli, const char *arg, unsigned *out);
int vmd_cli_snap_arg(const vmd_cli *cli, const char *arg, uint32_t *out);

/* --cds-budget (and `cds show --budget`): a size above 0 into cli->store.cds_budget; 0 or 2. */
int vmd_cli_budget_arg(vmd_cli *cli, const char *arg);

/* "1.50 GiB" into buf; returns buf. */
const char *vmd_cli_bytes(uint64_t n, char *buf, size_t cap);

/* Parses "123", "0x10", "4M", "2GiB" into bytes: 0, -EINVAL or -ERANGE. */
int vmd_cli_parse_size(const char *s, uint64_t *out);

/* A snapshot as text (several lines) or as one JSON object (no newline). */
void vmd_cli_snap_plain(FILE *f, const vmd_snap_info *s);
void vmd_cli_snap_json(FILE *f, const vmd_snap_info *s);

/* A snapshot on stdout as --format asks: one JSON object and a newline, or text. */
void vmd_cli_snap_print(const vmd_cli *cli, const vmd_snap_info *s);

/*
 * A progress callback drawing a bar with the rate and the time left on
 * stderr, or NULL when stderr is not a terminal, -q or --format json was given. Its argument is the
 * label ("backup", "restore"). vmd_cli_progress_end() finishes the line if a bar was drawn.
 */
vmd_progress_fn vmd_cli_progress(const vmd_cli *cli);
void vmd_cli_progress_end(void);

int vmd_cmd_backup(vmd_cli *cli, int argc, char **argv);
int vmd_cmd_check(vmd_cli *cli, int argc, char **argv);
int vmd_cmd_restore(vmd_cli *cli, int argc, char **argv);
int vmd_cmd_ls(vmd_cli *cli, int argc, char **argv);
int vmd_cmd_info(vmd_cli *cli, int argc, char **argv);
int vmd_cmd_version(vmd_cli *cli, int argc, char **argv);
int vmd_cmd_init(vmd_cli *cli, int argc, char **argv);
int vmd_cmd_inspect(vmd_cli *cli, int argc, char **argv);
int vmd_cmd_xen(vmd_cli *cli, int argc, char **argv);
int vmd_cmd_cds(vmd_cli *cli, int argc, char **argv);
int vmd_cmd_stats(vmd_cli *cli, int argc, char **argv);

#endif /* VMD_CLI_H */
