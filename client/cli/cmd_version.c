/*
 * cmd_version.c - `vmdedup version`: the client's version, and the class's where it answers.
 *
 *     client: vmdedup 0.1.0
 *     class: vmdedup 0.1.0 (wire format 1, accepts 1 and later): compatible
 *
 * The class is asked through the store's settings object, so its answer also
 * proves that the class is deployed and loadable on the OSD holding that
 * object. Without a cluster, a pool or an initialised store the second line
 * says why instead ("class: not reachable (<the library's message>)") and
 * the command still succeeds: the client's version is always worth
 * printing. The store is opened with a timeout of VERSION_TIMEOUT seconds
 * so that a missing cluster does not hold the command for librados' 30 s.
 * Exit 1 only when the class answers with a wire format this client cannot
 * use.
 *
 * JSON: {"client":"0.1.0","class":{"name":..,"version":..,"wire_version":..,
 * "wire_compat":..,"compatible":true}}, or {"client":"0.1.0","class":null,
 * "class_error":"<why>"}.
 */
#include <string.h>

#include "cli/cli.h"
#include "util/json.h"

#define VERSION_TIMEOUT 5   /* seconds: connecting, and the class call */
#define WHY_MAX         512 /* bytes of the reason the class did not answer */

/* The last message of the library, kept instead of printed. */
static void keep_error(void *arg, int err, const char *msg)
{
    (void)err;
    snprintf(arg, WHY_MAX, "%s", msg);
}

/* Fills info from the class; 0, or a negative errno with why set. */
static int ask_class(vmd_cli *cli, vmd_class_info *info, char why[WHY_MAX])
{
    vmd_store *store = NULL;
    int err;

    cli->store.on_error = keep_error;
    cli->store.error_arg = why;
    if (!cli->store.timeout)
        cli->store.timeout = VERSION_TIMEOUT;
    err = vmd_store_open(&store, &cli->store);
    if (!err)
        err = vmd_store_class_info(info, store);
    vmd_store_close(store);
    if (err && !why[0])
        snprintf(why, WHY_MAX, "%s", strerror(-err));
    return err;
}

static void print_json(const vmd_class_info *info, int err, const char *why)
{
    printf("{\"client\":");
    vmd_json_write_str(stdout, vmd_version());
    if (err) {
        printf(",\"class\":null,\"class_error\":");
        vmd_json_write_str(stdout, why);
        printf("}\n");
        return;
    }
    printf(",\"class\":{\"name\":");
    vmd_json_write_str(stdout, info->name);
    printf(",\"version\":");
    vmd_json_write_str(stdout, info->version);
    printf(",\"wire_version\":%u,\"wire_compat\":%u,\"compatible\":%s}}\n", info->wire_version,
           info->wire_compat, info->compatible ? "true" : "false");
}

static void print_plain(const vmd_class_info *info, int err, const char *why)
{
    printf("client: vmdedup %s\n", vmd_version());
    if (err)
        printf("class: not reachable (%s)\n", why);
    else
        printf("class: %s %s (wire format %u, accepts %u and later): %s\n", info->name,
               info->version, info->wire_version, info->wire_compat,
               info->compatible ? "compatible" : "INCOMPATIBLE");
}

int vmd_cmd_version(vmd_cli *cli, int argc, char **argv)
{
    vmd_class_info info;
    char why[WHY_MAX] = "";
    int first, rc, err;

    rc = vmd_cli_parse_args(cli, argc, argv, NULL, NULL, NULL, 0, "version takes no arguments",
                            &first);
    if (rc)
        return rc;
    err = ask_class(cli, &info, why);
    if (cli->format == VMD_OUT_JSON)
        print_json(&info, err, why);
    else
        print_plain(&info, err, why);
    fflush(stdout);
    if (!err && !info.compatible) {
        vmd_cli_error(cli,
                      "the class on the OSDs speaks wire formats %u..%u, which vmdedup %s "
                      "cannot use: upgrade the older side",
                      info.wire_compat, info.wire_version, vmd_version());
        return 1;
    }
    return 0;
}
