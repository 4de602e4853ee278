/*
 * placement.c - acting sets of objects, computed per placement group (see placement.h).
 *
 * Ceph maps an object to a placement group in two steps, both reproduced
 * here: the raw hash (placement_hash.c) of the name, prefixed by the
 * namespace and a 0x1f byte when the namespace is not empty; the group is
 * the hash folded onto
 * pg_num with ceph_stable_mod (x & mask when that is below pg_num, else
 * x & (mask >> 1)), mask being the next power of two above pg_num minus one.
 * The acting set of a group comes from the monitor ("pg map") and is cached.
 *
 * The monitor's JSON replies are flat and small; the few fields needed are
 * picked out by key (json_num, json_str, json_ints) rather than parsed
 * into a tree.
 */
#include "report/placement.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"
#include "util/u64set.h"

typedef struct pg_ent {
    uint64_t key; /* pool << 32 | ps */
    vmd_osdset set;
} pg_ent;

typedef struct pool_info {
    const char *name;
    rados_ioctx_t io;
    int64_t id;
    uint32_t pg_num, mask, size;
    int verified; /* 1: our hash matched the monitor's; -1: it did not (ask per object) */
} pool_info;

struct vmd_place {
    vmd_store *s;
    pool_info pools[3];
    char nspace[256];
    pg_ent *pgs; /* cache, open addressing on key */
    size_t cap, n;
    uint64_t commands;
};

/* ---- the monitor's JSON ---- */

/* Points just after `"key":` (and spaces) in json, or NULL. */
static const char *json_at(const char *json, const char *key)
{
    char pat[64];
    const char *p;

    snprintf(pat, sizeof(pat), "\"%s\"", key);
    for (p = strstr(json, pat); p; p = strstr(p + 1, pat)) {
        const char *q = p + strlen(pat);
        while (*q == ' ')
            q++;
        if (*q != ':')
            continue;
        q++;
        while (*q == ' ')
            q++;
        return q;
    }
    return NULL;
}

static int json_num(const char *json, const char *key, int64_t *out)
{
    const char *p = json_at(json, key);
    char *end;

    if (!p)
        return -EPROTO;
    *out = strtoll(p, &end, 10);
    return end == p ? -EPROTO : 0;
}

static int json_str(const char *json, const char *key, char *out, size_t cap)
{
    const char *p = json_at(json, key), *q;

    if (!p || *p != '"')
        return -EPROTO;
    q = strchr(p + 1, '"');
    if (!q || (size_t)(q - p - 1) >= cap)
        return -EPROTO;
    memcpy(out, p + 1, (size_t)(q - p - 1));
    out[q - p - 1] = '\0';
    return 0;
}

static int json_ints(const char *json, const char *key, vmd_osdset *out)
{
    const char *p = json_at(json, key);
    char *end;

    out->n = 0;
    if (!p || *p != '[')
        return -EPROTO;
    for (p++;;) {
        long v;
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == ']')
            return 0;
        v = strtol(p, &end, 10);
        if (end == p)
            return -EPROTO;
        if (out->n < VMD_AVAIL_SET_MAX && v >= 0) /* CRUSH_ITEM_NONE is 2^31-1: no OSD there */
            if (v != 0x7fffffff)
                out->osd[out->n++] = (int32_t)v;
        p = end;
    }
}

/* Sends one mon command (a JSON object) and returns its JSON output (malloc()ed). */
static int mon_command(vmd_place *p, const char *cmd, char **json)
{
    const char *cmds[1] = {cmd};
    char *outbuf = NULL, *outs = NULL;
    size_t outlen = 0, outslen = 0;
    int err;

    *json = NULL;
    p->commands++;
    err = rados_mon_command(p->s->cluster, cmds, 1, "", 0, &outbuf, &outlen, &outs, &outslen);
    if (err < 0) {
        err = vmd_fail(p->s, err, "mon command %s: %.*s", cmd, (int)(outslen < 200 ? outslen : 200),
                       outs ? outs : "");
    } else {
        *json = malloc(outlen + 1);
        if (!*json) {
            err = vmd_fail(p->s, -ENOMEM, "mon command %s", cmd);
        } else {
            memcpy(*json, outbuf, outlen);
            (*json)[outlen] = '\0';
            err = 0;
        }
    }
    if (outbuf)
        rados_buffer_free(outbuf);
    if (outs)
        rados_buffer_free(outs);
    return err;
}

static int pool_get(vmd_place *p, pool_info *pi, const char *var, int64_t *v)
{
    char cmd[768], pool[520], *json = NULL;
    int err;

    if (vmd_json_quote(pool, sizeof(pool), pi->name) < 0)
        return vmd_fail(p->s, -ENAMETOOLONG, "osd pool get: pool name %s too long", pi->name);
    snprintf(cmd, sizeof(cmd),
             "{\"prefix\":\"osd pool get\",\"pool\":%s,\"var\":\"%s\","
             "\"format\":\"json\"}",
             pool, var);
    err = mon_command(p, cmd, &json);
    if (err)
        return err;
    if (json_num(json, var, v) || json_num(json, "pool_id", &pi->id) || *v < 1 || *v > (1 << 30))
        err = vmd_fail(p->s, -EPROTO, "osd pool get %s %s: reply not understood", pi->name, var);
    free(json);
    return err;
}

int vmd_place_new(vmd_store *s, vmd_place **out)
{
    const char *names[3] = {s->meta_pool, s->data_pool, s->popular_pool};
    rados_ioctx_t ios[3] = {s->meta, s->data, s->popular};
    vmd_place *p;
    int64_t v;
    int i, err = 0;

    *out = NULL;
    p = calloc(1, sizeof(*p));
    if (!p)
        return vmd_fail(s, -ENOMEM, "placement cache");
    p->s = s;
    if (rados_ioctx_get_namespace(s->data, p->nspace, sizeof(p->nspace)) < 0)
        p->nspace[0] = '\0';
    for (i = 0; i < 3 && !err; i++) {
        pool_info *pi = &p->pools[i];
        pi->name = names[i];
        pi->io = ios[i];
        err = pool_get(p, pi, "pg_num", &v);
        if (!err) {
            pi->pg_num = (uint32_t)v;
            pi->mask = 1;
            while (pi->mask < pi->pg_num)
                pi->mask <<= 1;
            pi->mask -= 1;
            err = pool_get(p, pi, "size", &v);
            pi->size = (uint32_t)v;
        }
    }
    if (err) {
        vmd_place_free(p);
        return err;
    }
    *out = p;
    return 0;
}

uint32_t vmd_place_size(const vmd_place *p, int pool)
{
    return p->pools[pool].size;
}

uint64_t vmd_place_commands(const vmd_place *p)
{
    return p->commands;
}

static uint32_t raw_hash(const vmd_place *p, const char *oid)
{
    char buf[512];
    int n;

    if (!p->nspace[0])
        return vmd_place_hash(oid, strlen(oid));
    n = snprintf(buf, sizeof(buf), "%s\037%s", p->nspace, oid);
    return vmd_place_hash(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static uint32_t stable_mod(uint32_t x, uint32_t b, uint32_t mask)
{
    return (x & mask) < b ? (x & mask) : (x & (mask >> 1));
}

/* "osd map" of one object: its acting set, and its raw hash for the check. */
static int osd_map(vmd_place *p, pool_info *pi, const char *oid, vmd_osdset *set, uint32_t *raw)
{
    char cmd[2048], pool[520], obj[520], ns[520], *json = NULL, rawpg[64], *dot;
    int err;

    /* Names are quoted for JSON: a pool, namespace or object name may hold any byte. */
    if (vmd_json_quote(pool, sizeof(pool), pi->name) < 0 ||
        vmd_json_quote(obj, sizeof(obj), oid) < 0 || vmd_json_quote(ns, sizeof(ns), p->nspace) < 0)
        return vmd_fail(p->s, -ENAMETOOLONG, "osd map %s %s: name too long", pi->name, oid);
    snprintf(cmd, sizeof(cmd),
             "{\"prefix\":\"osd map\",\"pool\":%s,\"object\":%s%s%s,"
             "\"format\":\"json\"}",
             pool, obj, p->nspace[0] ? ",\"nspace\":" : "", p->nspace[0] ? ns : "");
    err = mon_command(p, cmd, &json);
    if (err)
        return err;
    if (json_ints(json, "acting", set) || json_str(json, "raw_pgid", rawpg, sizeof(rawpg)) ||
        !(dot = strchr(rawpg, '.')))
        err = vmd_fail(p->s, -EPROTO, "osd map %s %s: reply not understood", pi->name, oid);
    else
        *raw = (uint32_t)strtoul(dot + 1, NULL, 16);
    free(json);
    return err;
}

static int pg_map(vmd_place *p, pool_info *pi, uint32_t ps, vmd_osdset *set)
{
    char cmd[128], *json = NULL;
    int err;

    snprintf(cmd, sizeof(cmd),
             "{\"prefix\":\"pg map\",\"pgid\":\"%" PRId64 ".%x\","
             "\"format\":\"json\"}",
             pi->id, ps);
    err = mon_command(p, cmd, &json);
    if (err)
        return err;
    if (json_ints(json, "acting", set))
        err = vmd_fail(p->s, -EPROTO, "pg map %" PRId64 ".%x: reply not understood", pi->id, ps);
    free(json);
    return err;
}

static pg_ent *cache_find(vmd_place *p, uint64_t key, int *found)
{
    size_t j;

    *found = 0;
    if ((p->n + 1) * 2 > p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 256, i;
        pg_ent *t = calloc(cap, sizeof(*t));
        if (!t)
            return NULL;
        for (i = 0; i < p->cap; i++) {
            if (!p->pgs[i].key)
                continue;
            for (j = p->pgs[i].key % cap; t[j].key; j = (j + 1) % cap)
                ;
            t[j] = p->pgs[i];
        }
        free(p->pgs);
        p->pgs = t;
        p->cap = cap;
    }
    for (j = key % p->cap; p->pgs[j].key; j = (j + 1) % p->cap)
        if (p->pgs[j].key == key) {
            *found = 1;
            return &p->pgs[j];
        }
    return &p->pgs[j];
}

int vmd_place_acting(vmd_place *p, int pool, const char *oid, vmd_osdset *out, uint64_t *pg)
{
    pool_info *pi = &p->pools[pool];
    uint32_t raw = raw_hash(p, oid), ps, theirs = 0;
    uint64_t key;
    pg_ent *e;
    int found, err, have = 0;

    if (pi->verified == 0) {
        err = osd_map(p, pi, oid, out, &theirs);
        if (err)
            return err;
        pi->verified = theirs == raw ? 1 : -1;
        if (pi->verified < 0) {
            *pg = (uint64_t)pool << 32 | stable_mod(theirs, pi->pg_num, pi->mask);
            return 0;
        }
        have = 1;
    } else if (pi->verified < 0) {
        err = osd_map(p, pi, oid, out, &theirs);
        *pg = (uint64_t)pool << 32 | stable_mod(theirs, pi->pg_num, pi->mask);
        return err;
    }
    ps = stable_mod(raw, pi->pg_num, pi->mask);
    key = ((uint64_t)(pool + 1) << 32) | ps; /* never 0: 0 marks an empty cache slot */
    *pg = (uint64_t)pool << 32 | ps;
    e = cache_find(p, key, &found);
    if (!e)
        return vmd_fail(p->s, -ENOMEM, "placement cache");
    if (found) {
        *out = e->set;
        return 0;
    }
    err = have ? 0 : pg_map(p, pi, ps, out);
    if (err)
        return err;
    e->key = key;
    e->set = *out;
    p->n++;
    return 0;
}

void vmd_place_free(vmd_place *p)
{
    if (!p)
        return;
    free(p->pgs);
    free(p);
}
