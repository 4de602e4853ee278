/*
 * inspect_catalog.c - `vmdedup inspect vm.<vm>` and `vmdedup inspect vmd.vms`.
 *
 * A catalog (docs/format.md, "Catalog") is the omap of vm.<vm>: next_seq,
 * and one plain-text line of key=value tokens per committed snapshot under
 * snap.<8 digits>. Each line is checked with the catalog's own parser
 * (vmd_cat_parse) and shown as it is in text, or as a JSON object whose keys
 * are the line's tokens (every value a number). The VM list vmd.vms has one
 * key vm.<vm> per VM. Text output:
 *
 *     catalog vm.vm1 (pool vmd.meta): 2 snapshots, next_seq 3
 *       snap 1  2026-11-21T23:59:59Z  parent=0 time=1763769599 size=41939707 ...
 *     VM list vmd.vms (pool vmd.meta): 2 VMs
 *       vm1
 *
 * JSON: {"object","kind":"catalog","vm","next_seq","snapshots":[{"snap":1,
 * "parent":0,"time":..,...}]} and {"object":"vmd.vms",
 * "kind":"vm_list","vms":[..]}; "error" names the first unreadable entry.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report/inspect.h"
#include "snapshot/catalog.h"
#include "util/json.h"

#define LINE_MAX_ 512 /* a catalog line is far shorter (vmd_cat_format) */

typedef struct cinspect {
    vmd_store *s;
    FILE *f;
    int json;
    size_t snaps; /* snapshots, or VMs in the VM list */
    char next_seq[32];
    char error[128];
} cinspect;

/* A catalog line "k=v k=v ..." as JSON members ",\"k\":v" (values are numbers). */
static void line_json(FILE *f, const char *line)
{
    const char *p = line;

    while (*p) {
        const char *eq = strchr(p, '='), *end = strchr(p, ' ');
        if (!end)
            end = p + strlen(p);
        if (eq && eq < end) {
            fputc(',', f);
            vmd_json_write_strn(f, p, (size_t)(eq - p));
            fprintf(f, ":%.*s", (int)(end - eq - 1), eq + 1);
        }
        p = *end ? end + 1 : end;
    }
}

static int snap_fn(void *arg, const char *key, const char *val, size_t len)
{
    cinspect *c = arg;
    char line[LINE_MAX_];
    vmd_snap_info info;
    char *end;
    unsigned long snap = strtoul(key + 5, &end, 10);

    memset(&info, 0, sizeof(info));
    if (*end || len >= sizeof(line) || vmd_cat_parse(&info, val, len)) {
        snprintf(c->error, sizeof(c->error), "unreadable entry %.32s", key);
        return -EIO;
    }
    memcpy(line, val, len);
    line[len] = '\0';
    if (c->json) {
        fprintf(c->f, "%s{\"snap\":%lu", c->snaps ? "," : "", snap);
        line_json(c->f, line);
        fputc('}', c->f);
    } else {
        fprintf(c->f, "  snap %lu  ", snap);
        vmd_inspect_time(c->f, info.time);
        fprintf(c->f, "  %s\n", line);
    }
    c->snaps++;
    return 0;
}

static int next_seq_fn(void *arg, const char *key, const char *val, size_t len)
{
    cinspect *c = arg;

    if (strcmp(key, "next_seq") == 0)
        snprintf(c->next_seq, sizeof(c->next_seq), "%.*s", (int)(len < 31 ? len : 31), val);
    return 0;
}

/* Sets c up; -ENOENT (reported) when oid does not exist in the meta pool. */
static int start(cinspect *c, vmd_store *s, int json, FILE *f, const char *oid, const char *what)
{
    uint64_t size;
    time_t mtime;
    int err = rados_stat(s->meta, oid, &size, &mtime);

    memset(c, 0, sizeof(*c));
    c->s = s;
    c->f = f;
    c->json = json;
    return err < 0 ? vmd_fail(s, err, "inspect: %s %s in pool %s", what, oid, s->meta_pool) : 0;
}

int vmd_inspect_catalog(vmd_store *s, const char *oid, int json, FILE *f)
{
    cinspect c;
    int err;

    if ((err = start(&c, s, json, f, oid, "catalog")))
        return err;
    err = vmd_cat_omap_each(s, oid, "next_seq", next_seq_fn, &c);
    if (err)
        return vmd_fail(s, err, "reading catalog %s in pool %s", oid, s->meta_pool);
    if (json) {
        fprintf(f, "{\"object\":");
        vmd_json_write_str(f, oid);
        fprintf(f, ",\"kind\":\"catalog\",\"vm\":");
        vmd_json_write_str(f, oid + 3);
        fprintf(f, ",\"next_seq\":%s,\"snapshots\":[", c.next_seq[0] ? c.next_seq : "null");
    } else {
        fprintf(f, "catalog %s (pool %s), next_seq %s\n", oid, s->meta_pool,
                c.next_seq[0] ? c.next_seq : "(none)");
    }
    err = vmd_cat_omap_each(s, oid, "snap.", snap_fn, &c);
    if (json) {
        fputc(']', f);
        if (c.error[0]) {
            fprintf(f, ",\"error\":");
            vmd_json_write_str(f, c.error);
        }
        fprintf(f, "}\n");
    } else {
        fprintf(f, "  %zu snapshot%s%s%s\n", c.snaps, c.snaps == 1 ? "" : "s",
                c.error[0] ? ", then " : "", c.error);
    }
    if (c.error[0])
        return vmd_fail(s, -EIO, "catalog %s in pool %s is corrupt: %s", oid, s->meta_pool,
                        c.error);
    if (err)
        return vmd_fail(s, err, "reading catalog %s in pool %s", oid, s->meta_pool);
    return 0;
}

static int vm_fn(void *arg, const char *key, const char *val, size_t len)
{
    cinspect *c = arg;

    (void)val;
    (void)len;
    if (c->json) {
        fputs(c->snaps ? "," : "", c->f);
        vmd_json_write_str(c->f, key + 3);
    } else {
        fprintf(c->f, "  %s\n", key + 3);
    }
    c->snaps++;
    return 0;
}

int vmd_inspect_vms(vmd_store *s, int json, FILE *f)
{
    cinspect c;
    int err;

    if ((err = start(&c, s, json, f, VMD_VMS_OBJECT, "VM list")))
        return err;
    if (json)
        fprintf(f, "{\"object\":\"%s\",\"kind\":\"vm_list\",\"vms\":[", VMD_VMS_OBJECT);
    else
        fprintf(f, "VM list %s (pool %s)\n", VMD_VMS_OBJECT, s->meta_pool);
    err = vmd_cat_omap_each(s, VMD_VMS_OBJECT, "vm.", vm_fn, &c);
    if (json)
        fprintf(f, "]}\n");
    else if (!err)
        fprintf(f, "  %zu VM%s\n", c.snaps, c.snaps == 1 ? "" : "s");
    if (err)
        return vmd_fail(s, err, "inspect: VM list %s in pool %s", VMD_VMS_OBJECT, s->meta_pool);
    return 0;
}
