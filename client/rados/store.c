/*
 * store.c - connecting to the cluster and opening a store's pools.
 *
 * A store is addressed by a ceph.conf (or librados' own search for one), a
 * client id and three pool names, plus an optional RADOS namespace for the
 * tenant. Its settings object `vmd.store` in the meta pool marks the store as
 * initialised; it is an omap of plain text values, readable with
 * `rados -p vmd.meta listomapvals vmd.store`:
 *
 *     format          "1"                 layout version of the store
 *     created         "2026-11-21T23:59:59Z"
 *     creator         "vmdedup 0.1.0"
 *     partition_bits  "12"                k: the index has 2^k partitions
 *     chunk_min       "2048"              content-defined chunking (client/chunk/chunker.h)
 *     chunk_avg       "4096"
 *     chunk_max       "16384"
 *     container_size  "4194304"           target size of a VM container object
 *     zstd_level      "1"                 per-chunk compression (docs/decisions.md)
 *
 * The chunking settings decide every fingerprint, so they are fixed for the
 * life of the store. A store written before they existed reads the defaults.
 *
 * vmd_store_open() reads the settings when they exist; an uninitialised store
 * opens too (so that init can run) but refuses every other operation.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rados/store_int.h"
#include "format/class_msg.h"
#include "format/container.h"

const char *vmd_version(void)
{
#define VMD_STR2(x) #x
#define VMD_STR(x)  VMD_STR2(x)
    return VMD_STR(VMD_VERSION_MAJOR) "." VMD_STR(VMD_VERSION_MINOR) "." VMD_STR(VMD_VERSION_PATCH);
}

static int open_pool(vmd_store *s, const char *pool, const char *nspace, rados_ioctx_t *out)
{
    int err = rados_ioctx_create(s->cluster, pool, out);
    if (err < 0) {
        *out = NULL;
        if (err == -ENOENT)
            return vmd_fail(s, err,
                            "pool %s does not exist (create the pools with "
                            "ceph-conf/vmd-pools)",
                            pool);
        return vmd_fail(s, err, "opening pool %s", pool);
    }
    if (nspace)
        rados_ioctx_set_namespace(*out, nspace);
    return 0;
}

/*
 * An explicit timeout (vmd_store_opts.timeout) bounds connecting and every
 * monitor and OSD operation; set after the ceph.conf is read, so it wins.
 */
static int set_timeout(vmd_store *s, unsigned seconds)
{
    static const char *const keys[] = {"client_mount_timeout", "rados_mon_op_timeout",
                                       "rados_osd_op_timeout"};
    char val[16];
    size_t i;
    int err;

    snprintf(val, sizeof(val), "%u", seconds);
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if ((err = rados_conf_set(s->cluster, keys[i], val)) < 0)
            return vmd_fail(s, err, "setting %s to %s", keys[i], val);
    return 0;
}

static int connect_cluster(vmd_store *s, const vmd_store_opts *o)
{
    char name[128];
    int err;

    snprintf(name, sizeof(name), "client.%s", o->id ? o->id : "admin");
    err = rados_create2(&s->cluster, o->cluster ? o->cluster : "ceph", name, 0);
    if (err < 0) {
        s->cluster = NULL;
        return vmd_fail(s, err, "creating cluster handle for %s", name);
    }
    /* A missing cluster should fail in seconds, not librados' default 5 minutes;
       a value in the ceph.conf read below still wins. */
    rados_conf_set(s->cluster, "client_mount_timeout", "30");
    err = rados_conf_read_file(s->cluster, o->conf);
    if (err < 0)
        return vmd_fail(s, err, "reading ceph config %s",
                        o->conf ? o->conf : "($CEPH_CONF or /etc/ceph/ceph.conf)");
    err = rados_conf_parse_env(s->cluster, NULL);
    if (err < 0)
        return vmd_fail(s, err, "parsing CEPH_ARGS");
    if (o->timeout && (err = set_timeout(s, o->timeout)))
        return err;
    if (o->keyring) {
        err = rados_conf_set(s->cluster, "keyring", o->keyring);
        if (err < 0)
            return vmd_fail(s, err, "setting keyring %s", o->keyring);
    }
    err = rados_connect(s->cluster);
    if (err < 0)
        return vmd_fail(s, err, "connecting to the cluster as %s (config %s)", name,
                        o->conf ? o->conf : "default");
    return 0;
}

static char *dup_or(const char *s, const char *dflt)
{
    return strdup(s ? s : dflt);
}

/* One numeric setting of vmd.store: its key, range and where it goes. */
typedef struct setting {
    const char *key;
    long min, max;
    size_t off; /* offset of an int or uint32_t field in vmd_store */
    int is_int;
} setting;

static const setting settings[] = {
    {"partition_bits", 0, VMD_MAX_PARTITION_BITS, offsetof(vmd_store, partition_bits), 1},
    {"chunk_min", 64, VMD_CHUNK_MAX, offsetof(vmd_store, chunk_min), 0},
    {"chunk_avg", 128, VMD_CHUNK_MAX, offsetof(vmd_store, chunk_avg), 0},
    {"chunk_max", 256, VMD_CHUNK_MAX, offsetof(vmd_store, chunk_max), 0},
    {"container_size", 65536, VMD_CTR_MAX_SIZE, offsetof(vmd_store, container_size), 0},
    {"zstd_level", 0, 19, offsetof(vmd_store, zstd_level), 1},
};
#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

static void set_defaults(vmd_store *s)
{
    s->partition_bits = -1;
    s->chunk_min = 2048;
    s->chunk_avg = 4096;
    s->chunk_max = 16384;
    s->container_size = VMD_DEFAULT_CONTAINER_SIZE;
    s->zstd_level = VMD_DEFAULT_ZSTD_LEVEL;
}

/* Parses the value of one omap key of vmd.store into its field (unknown keys are ignored). */
static int apply_setting(vmd_store *s, const char *key, const char *val, size_t len)
{
    char buf[16] = "";
    char *end;
    size_t i;
    long v;

    for (i = 0; i < NSETTINGS; i++) {
        if (strcmp(key, settings[i].key) != 0)
            continue;
        if (len > 0 && len < sizeof(buf))
            memcpy(buf, val, len);
        v = strtol(buf, &end, 10);
        if (len == 0 || len >= sizeof(buf) || *end || v < settings[i].min || v > settings[i].max)
            return vmd_fail(s, -EIO, "settings %s: bad %s '%.*s'", VMD_STORE_OBJECT, key,
                            (int)(len < 32 ? len : 32), val);
        if (settings[i].is_int)
            *(int *)((char *)s + settings[i].off) = (int)v;
        else
            *(uint32_t *)((char *)s + settings[i].off) = (uint32_t)v;
    }
    return 0;
}

/* Reads the settings from vmd.store; partition_bits stays -1 when the store is not initialised. */
static int load_settings(vmd_store *s)
{
    rados_read_op_t op;
    rados_omap_iter_t it = NULL;
    const char *keys[NSETTINGS];
    int prval = 0, err;
    char *key, *val;
    size_t len, i;

    set_defaults(s);
    for (i = 0; i < NSETTINGS; i++)
        keys[i] = settings[i].key;
    op = rados_create_read_op();
    if (!op)
        return vmd_fail(s, -ENOMEM, "allocating read op for %s", VMD_STORE_OBJECT);
    rados_read_op_omap_get_vals_by_keys(op, keys, NSETTINGS, &it, &prval);
    err = rados_read_op_operate(op, s->meta, VMD_STORE_OBJECT, 0);
    if (err == -ENOENT) {
        err = 0; /* not initialised: only init may run */
    } else if (err < 0 || prval < 0) {
        err = vmd_fail(s, err < 0 ? err : prval, "reading settings %s in pool %s", VMD_STORE_OBJECT,
                       s->meta_pool);
    } else {
        while (!err && rados_omap_get_next(it, &key, &val, &len) == 0 && key)
            err = apply_setting(s, key, val, len);
        if (!err && s->partition_bits < 0)
            err = vmd_fail(s, -EIO, "settings %s in pool %s lack partition_bits", VMD_STORE_OBJECT,
                           s->meta_pool);
        if (!err && !(s->chunk_min < s->chunk_avg && s->chunk_avg < s->chunk_max))
            err = vmd_fail(s, -EIO, "settings %s: chunk sizes %u/%u/%u are not min < avg < max",
                           VMD_STORE_OBJECT, s->chunk_min, s->chunk_avg, s->chunk_max);
    }
    if (it)
        rados_omap_get_end(it);
    rados_release_read_op(op);
    return err;
}

int vmd_store_partitions(vmd_store *s)
{
    if (!s)
        return -EINVAL;
    if (s->partition_bits < 0)
        return vmd_fail(s, -ENOENT,
                        "store not initialised: no object %s in pool %s (run vmdedup init)",
                        VMD_STORE_OBJECT, s->meta_pool);
    return 1 << s->partition_bits;
}

int vmd_store_open(vmd_store **out, const vmd_store_opts *opts)
{
    vmd_store_opts dflt;
    vmd_store *s;
    int err;

    if (!out)
        return vmd_fail_cb(opts ? opts->on_error : NULL, opts ? opts->error_arg : NULL, -EINVAL,
                           "vmd_store_open: out is NULL");
    *out = NULL;
    if (!opts) {
        vmd_store_opts_init(&dflt);
        opts = &dflt;
    }
    s = calloc(1, sizeof(*s));
    if (!s)
        return vmd_fail_cb(opts->on_error, opts->error_arg, -ENOMEM, "allocating store");
    s->on_error = opts->on_error;
    s->error_arg = opts->error_arg;
    s->cds_budget = opts->cds_budget ? opts->cds_budget : VMD_DEFAULT_CDS_BUDGET;
    s->meta_pool = dup_or(opts->meta_pool, VMD_DEFAULT_META_POOL);
    s->data_pool = dup_or(opts->data_pool, VMD_DEFAULT_DATA_POOL);
    s->popular_pool = dup_or(opts->popular_pool, VMD_DEFAULT_POPULAR_POOL);
    if (!s->meta_pool || !s->data_pool || !s->popular_pool) {
        err = vmd_fail(s, -ENOMEM, "allocating store");
        goto error;
    }
    err = connect_cluster(s, opts);
    if (err)
        goto error;
    err = open_pool(s, s->meta_pool, opts->nspace, &s->meta);
    if (!err)
        err = open_pool(s, s->data_pool, opts->nspace, &s->data);
    if (!err)
        err = open_pool(s, s->popular_pool, opts->nspace, &s->popular);
    if (!err)
        err = load_settings(s);
    if (err)
        goto error;
    *out = s;
    return 0;

error:
    vmd_store_close(s);
    return err;
}

void vmd_store_close(vmd_store *s)
{
    if (!s)
        return;
    if (s->meta)
        rados_ioctx_destroy(s->meta);
    if (s->data)
        rados_ioctx_destroy(s->data);
    if (s->popular)
        rados_ioctx_destroy(s->popular);
    if (s->cluster)
        rados_shutdown(s->cluster);
    free(s->meta_pool);
    free(s->data_pool);
    free(s->popular_pool);
    free(s);
}

/* k such that 2^k = n, or -1 when n is not a power of two in range. */
static int log2_exact(unsigned n)
{
    int k;
    for (k = 0; k <= VMD_MAX_PARTITION_BITS; k++)
        if ((1u << k) == n)
            return k;
    return -1;
}

int vmd_store_init(vmd_store *s, const vmd_init_opts *opts)
{
    char format[16], created[32], creator[32], bits[8], cmin[16], cavg[16], cmax[16], csize[16],
        zlevel[8];
    const char *keys[] = {"format",    "created",   "creator",        "partition_bits", "chunk_min",
                          "chunk_avg", "chunk_max", "container_size", "zstd_level"};
    const char *vals[] = {format, created, creator, bits, cmin, cavg, cmax, csize, zlevel};
    size_t lens[9];
    rados_write_op_t op;
    time_t now = time(NULL);
    unsigned partitions = opts && opts->partitions ? opts->partitions : VMD_DEFAULT_PARTITIONS;
    int k = log2_exact(partitions);
    struct tm tm;
    int err, i;

    unsigned avg = opts && opts->chunk_avg ? opts->chunk_avg : VMD_DEFAULT_CHUNK_AVG;
    int level = !opts || opts->zstd_level == 0 ? VMD_DEFAULT_ZSTD_LEVEL
                : opts->zstd_level < 0         ? 0
                                               : opts->zstd_level;

    if (!s)
        return -EINVAL;
    if (k < 0)
        return vmd_fail(s, -EINVAL, "partitions must be a power of two from 1 to %u, not %u",
                        1u << VMD_MAX_PARTITION_BITS, partitions);
    if (avg < 1024 || avg > 65536 || (avg & (avg - 1)))
        return vmd_fail(s, -EINVAL, "chunk_avg must be a power of two from 1024 to 65536, not %u",
                        avg);
    if (level > 19 || (opts && opts->zstd_level < -1))
        return vmd_fail(s, -EINVAL, "zstd level must be from 1 to 19 (or none), not %d",
                        opts->zstd_level);
    snprintf(bits, sizeof(bits), "%d", k);
    snprintf(format, sizeof(format), "%d", VMD_STORE_FORMAT);
    gmtime_r(&now, &tm);
    strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(creator, sizeof(creator), "vmdedup %s", vmd_version());
    snprintf(cmin, sizeof(cmin), "%u", avg / 2);
    snprintf(cavg, sizeof(cavg), "%u", avg);
    snprintf(cmax, sizeof(cmax), "%u", avg * 4);
    snprintf(csize, sizeof(csize), "%u", VMD_DEFAULT_CONTAINER_SIZE);
    snprintf(zlevel, sizeof(zlevel), "%d", level);
    for (i = 0; i < 9; i++)
        lens[i] = strlen(vals[i]);

    op = rados_create_write_op();
    if (!op)
        return vmd_fail(s, -ENOMEM, "allocating write op for %s", VMD_STORE_OBJECT);
    rados_write_op_create(op, LIBRADOS_CREATE_EXCLUSIVE, NULL);
    rados_write_op_omap_set(op, keys, vals, lens, 9);
    err = rados_write_op_operate(op, s->meta, VMD_STORE_OBJECT, NULL, 0);
    rados_release_write_op(op);
    if (err == -EEXIST)
        return vmd_fail(s, err, "store already initialised (object %s in pool %s exists)",
                        VMD_STORE_OBJECT, s->meta_pool);
    if (err < 0)
        return vmd_fail(s, err, "writing %s in pool %s", VMD_STORE_OBJECT, s->meta_pool);
    set_defaults(s);
    s->partition_bits = k;
    s->chunk_min = avg / 2;
    s->chunk_avg = avg;
    s->chunk_max = avg * 4;
    s->zstd_level = level;
    return 0;
}

int vmd_store_class_info(vmd_class_info *out, vmd_store *s)
{
    char buf[VMD_OP_VERSION_REPLY_MAX + 64];
    vmd_op_version_reply reply;
    int n, err;

    if (out)
        memset(out, 0, sizeof(*out));
    if (!out || !s)
        return s ? vmd_fail(s, -EINVAL, "vmd_store_class_info: out is NULL") : -EINVAL;
    n = rados_exec(s->meta, VMD_STORE_OBJECT, VMD_CLS_NAME, "version", NULL, 0, buf, sizeof(buf));
    if (n == -ENOENT)
        return vmd_fail(s, n, "store not initialised: no object %s in pool %s (run vmdedup init)",
                        VMD_STORE_OBJECT, s->meta_pool);
    if (n == -EOPNOTSUPP)
        return vmd_fail(s, n, "class %s is not available on the OSDs (see docs/admin.md)",
                        VMD_CLS_NAME);
    if (n < 0)
        return vmd_fail(s, n, "calling %s.version on %s in pool %s", VMD_CLS_NAME, VMD_STORE_OBJECT,
                        s->meta_pool);
    err = vmd_op_version_reply_decode(&reply, (const uint8_t *)buf, (size_t)n);
    if (err)
        return vmd_fail(s, -EPROTO, "decoding %s.version reply (%d bytes)", VMD_CLS_NAME, n);
    snprintf(out->name, sizeof(out->name), "%s", reply.name);
    vmd_cls_version_string(reply.class_version, out->version, sizeof(out->version));
    out->wire_version = reply.wire_version;
    out->wire_compat = reply.wire_compat;
    out->compatible =
        reply.wire_compat <= VMD_WIRE_VERSION && VMD_WIRE_COMPAT <= reply.wire_version;
    return 0;
}
