/*
 * inspect.c - `vmdedup inspect OBJECT`: any object of a store, decoded.
 *
 * The object's name says what it is and where it lives (docs/format.md);
 * each kind has its describer:
 *
 *     vmd.store      meta pool     settings (omap of plain text)  here
 *     vmd.vms        meta pool     the VM list                    inspect_catalog.c
 *     vm.<vm>        meta pool     a VM's catalog                 inspect_catalog.c
 *     r.<vm>.<seq8>  meta pool     a snapshot's recipe            inspect_recipe.c
 *     vmd.cds        meta pool     the CDS pointer                inspect_cds.c
 *     cds.<ver8>     meta pool     a CDS manifest                 inspect_cds.c
 *     idx.<pppp>     meta pool     an index partition             inspect_idx.c
 *     c.<vm>.<id16>  data pool     a VM container                 inspect_ctr.c
 *     p.<id16>       popular pool  a popular container            inspect_ctr.c
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "format/cds_manifest.h"
#include "rados/ctr_client.h"
#include "rados/idx_client.h"
#include "report/inspect.h"
#include "snapshot/catalog.h"
#include "util/json.h"
#include "rados/store_int.h"

void vmd_inspect_hex(FILE *f, const uint8_t *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        fprintf(f, "%02x", p[i]);
}

void vmd_inspect_time(FILE *f, int64_t t)
{
    char buf[32];
    time_t tt = (time_t)t;
    struct tm tm;

    if (!gmtime_r(&tt, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, sizeof(buf), "%" PRId64, t);
    fputs(buf, f);
}

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
    if (strcmp(oid, VMD_VMS_OBJECT) == 0)
        return vmd_inspect_vms(s, json, out);
    if (strcmp(oid, VMD_CDS_POINTER) == 0)
        return vmd_inspect_cds_pointer(s, json, out);
    if (has_prefix(oid, "cds."))
        return vmd_inspect_cds_manifest(s, oid, json, out);
    if (has_prefix(oid, "vm.") && oid[3])
        return vmd_inspect_catalog(s, oid, json, out);
    if (has_prefix(oid, "r."))
        return vmd_inspect_recipe(s, oid, json, out);
    if (has_prefix(oid, "idx."))
        return vmd_inspect_idx(s, oid, json, out);
    if (has_prefix(oid, "c."))
        return vmd_inspect_ctr(s, s->data, oid, json, out);
    if (has_prefix(oid, "p."))
        return vmd_inspect_ctr(s, s->popular, oid, json, out);
    return vmd_fail(s, -EINVAL,
                    "inspect: %s is not a vmdedup object (expected vmd.store, vmd.vms, vmd.cds, "
                    "cds.*, vm.*, r.*, idx.*, c.*, p.*)",
                    oid);
}
