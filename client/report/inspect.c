/*
 * inspect.c - `vmdedup inspect OBJECT`: any object of a store, decoded.
 *
 * The object's name says what it is and where it lives (docs/format.md):
 *
 *     vmd.store      meta pool     settings (omap of plain text)
 *     idx.<pppp>     meta pool     index partition  -> inspect_idx.c
 *     c.<vm>.<id16>  data pool     VM container     -> inspect_ctr.c
 *     p.<id16>       popular pool  popular container -> inspect_ctr.c
 */
#include <errno.h>
#include <string.h>

#include "rados/ctr_client.h"
#include "rados/idx_client.h"
#include "util/json.h"
#include "rados/store_int.h"

/* Prints the settings omap of vmd.store (values are plain text). */
static int inspect_settings(vmd_store *s, int json, FILE *f)
{
    rados_read_op_t op = rados_create_read_op();
    rados_omap_iter_t it = NULL;
    unsigned char more = 0;
    int prval = 0, err, first = 1;
    char *key, *val;
    size_t len;

    if (!op)
        return vmd_fail(s, -ENOMEM, "allocating read op for %s", VMD_STORE_OBJECT);
    rados_read_op_omap_get_vals2(op, "", "", 64, &it, &more, &prval);
    err = rados_read_op_operate(op, s->meta, VMD_STORE_OBJECT, 0);
    if (err < 0 || prval < 0) {
        err = err < 0 ? err : prval;
        vmd_fail(s, err, "reading %s in pool %s", VMD_STORE_OBJECT, s->meta_pool);
        goto out;
    }
    fprintf(f,
            json ? "{\"object\":\"%s\",\"kind\":\"settings\",\"settings\":{"
                 : "object  %s (store settings, pool %s)\n",
            VMD_STORE_OBJECT, s->meta_pool);
    while (rados_omap_get_next(it, &key, &val, &len) == 0 && key) {
        if (json) {
            char v[256];
            snprintf(v, sizeof(v), "%.*s", (int)(len < 255 ? len : 255), val);
            fprintf(f, "%s\"%s\":", first ? "" : ",", key);
            vmd_json_write_str(f, v);
        } else {
            fprintf(f, "  %-16s %.*s\n", key, (int)len, val);
        }
        first = 0;
    }
    if (json)
        fprintf(f, "}}\n");
out:
    if (it)
        rados_omap_get_end(it);
    rados_release_read_op(op);
    return err;
}

static int has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

int vmd_store_inspect(FILE *out, vmd_store *s, const char *oid, vmd_format fmt)
{
    int json = fmt == VMD_FORMAT_JSON;

    if (!out || !s)
        return s ? vmd_fail(s, -EINVAL, "inspect: no output stream") : -EINVAL;
    if (!oid || !*oid)
        return vmd_fail(s, -EINVAL, "inspect: no object name");
    if (strcmp(oid, VMD_STORE_OBJECT) == 0)
        return inspect_settings(s, json, out);
    if (has_prefix(oid, "idx."))
        return vmd_inspect_idx(s, oid, json, out);
    if (has_prefix(oid, "c."))
        return vmd_inspect_ctr(s, s->data, oid, json, out);
    if (has_prefix(oid, "p."))
        return vmd_inspect_ctr(s, s->popular, oid, json, out);
    return vmd_fail(s, -EINVAL,
                    "inspect: %s is not a vmdedup object (expected vmd.store, idx.*, c.*, p.*)",
                    oid);
}
