/*
 * cmd_version.c - `vmdedup version`: the client's version and the class's.
 *
 * Asks the vmdedup class loaded by the OSDs for its version through the
 * store's settings object, so it also proves that the class is deployed and
 * loadable on the OSD that holds that object.
 */
#include "cli/cli.h"
#include "util/json.h"

int vmd_cmd_version(vmd_cli *cli, int argc, char **argv)
{
    vmd_store *store = NULL;
    vmd_class_info info;
    int first, rc;

    rc = vmd_cli_parse(cli, argc, argv, NULL, NULL, NULL, 0, &first);
    if (rc)
        return rc;
    if (first != argc) {
        vmd_cli_error(cli, "version takes no arguments");
        return 2;
    }
    if (vmd_cli_open_store(cli, &store))
        return 1;
    rc = vmd_store_class_info(store, &info);
    vmd_store_close(store);
    if (rc)
        return 1;
    if (cli->format == VMD_OUT_JSON) {
        printf("{\"client\":");
        vmd_json_write_str(stdout, vmd_version());
        printf(",\"class\":{\"name\":");
        vmd_json_write_str(stdout, info.name);
        printf(",\"version\":");
        vmd_json_write_str(stdout, info.version);
        printf(",\"wire_version\":%u,\"wire_compat\":%u,\"compatible\":%s}}\n", info.wire_version,
               info.wire_compat, info.compatible ? "true" : "false");
    } else {
        printf("client  vmdedup %s\n", vmd_version());
        printf("class   %s %s (wire format %u, accepts %u and later): %s\n", info.name,
               info.version, info.wire_version, info.wire_compat,
               info.compatible ? "compatible" : "INCOMPATIBLE");
    }
    if (!info.compatible) {
        vmd_cli_error(cli,
                      "the class on the OSDs speaks wire formats %u..%u, which vmdedup %s "
                      "cannot use: upgrade the older side",
                      info.wire_compat, info.wire_version, vmd_version());
        return 1;
    }
    return 0;
}
