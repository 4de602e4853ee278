/*
 * vmdedup.h - libvmdedup, the C API a Xen toolstack links to back up VM disks into Ceph.
 *
 * Conventions (see docs/api.md)
 * -----------------------------
 * - Every type is opaque and carries the prefix vmd_. Functions are
 *   vmd_<noun>_<verb>.
 * - Functions return 0 (or a count) on success and a negative errno on
 *   failure. The errors a function expects are listed with it; anything else
 *   is a generic failure.
 * - Results come back through out-parameters, which come first and are
 *   named out. What a function allocates belongs to the caller and is
 *   released with the matching _free/_close, which accepts NULL.
 * - A NULL options pointer means defaults.
 * - Every failure is also described in one human-readable line passed to
 *   the error callback of the handle (vmd_store_opts.on_error), naming the
 *   object, pool or file and the errno text. Without a callback the message
 *   is dropped; the return code is always set.
 * - A vmd_store may be used by several threads at once.
 */
#ifndef VMDEDUP_VMDEDUP_H
#define VMDEDUP_VMDEDUP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VMD_VERSION_MAJOR 0
#define VMD_VERSION_MINOR 1
#define VMD_VERSION_PATCH 0

/* The library's version as "MAJOR.MINOR.PATCH" (static storage). */
const char *vmd_version(void);

/* Called with one line describing a failure; err is the negative errno returned. */
typedef void (*vmd_error_fn)(void *arg, int err, const char *msg);

/* How to reach the cluster and where the store lives. Fields left NULL take defaults. */
typedef struct vmd_store_opts {
    const char *conf;         /* ceph.conf; NULL: $CEPH_CONF, then /etc/ceph/$cluster.conf */
    const char *cluster;      /* cluster name; NULL: "ceph" */
    const char *id;           /* client id without "client."; NULL: "admin" */
    const char *keyring;      /* keyring path; NULL: as configured */
    const char *meta_pool;    /* NULL: "vmd.meta" (catalogs, recipes, index, CDS manifest) */
    const char *data_pool;    /* NULL: "vmd.data" (containers of each VM) */
    const char *popular_pool; /* NULL: "vmd.popular" (popular chunks, higher replication) */
    const char *nspace;       /* RADOS namespace of the tenant; NULL: the default namespace */
    vmd_error_fn on_error;    /* NULL: messages are dropped */
    void *error_arg;
} vmd_store_opts;

#define VMD_DEFAULT_META_POOL    "vmd.meta"
#define VMD_DEFAULT_DATA_POOL    "vmd.data"
#define VMD_DEFAULT_POPULAR_POOL "vmd.popular"

/* Sets every field of opts to its default (all NULL). */
void vmd_store_opts_init(vmd_store_opts *opts);

/* A connection to the cluster and the three pools of a store. */
typedef struct vmd_store vmd_store;

/*
 * Connects to the cluster and opens the pools named by opts.
 * Errors: -ENOENT (a pool does not exist), -ETIMEDOUT/-ENOTCONN (no
 * cluster), -EACCES/-EPERM (refused by cephx), -ENOMEM.
 */
int vmd_store_open(vmd_store **out, const vmd_store_opts *opts);

/* Disconnects and frees the store; NULL is ignored. */
void vmd_store_close(vmd_store *store);

/* Settings fixed when a store is initialised. */
typedef struct vmd_init_opts {
    unsigned partitions; /* index partitions, a power of two 1..65536; 0: 4096 */
} vmd_init_opts;

#define VMD_DEFAULT_PARTITIONS 4096

/*
 * Creates the store's settings object (vmd.store in the meta pool) so the
 * store can be used; opts NULL means defaults. The pools must exist
 * (ceph-conf/vmd-pools creates them).
 * Errors: -EEXIST (already initialised), -EINVAL (bad option).
 */
int vmd_store_init(vmd_store *store, const vmd_init_opts *opts);

/* Number of index partitions of an initialised store; -ENOENT if not initialised. */
int vmd_store_partitions(vmd_store *store);

/* What the vmdedup class loaded by the OSDs reports about itself. */
typedef struct vmd_class_info {
    char name[33];         /* "vmdedup" */
    char version[16];      /* class code version, "MAJOR.MINOR.PATCH" */
    unsigned wire_version; /* wire format the class speaks */
    unsigned wire_compat;  /* oldest wire format it accepts */
    int compatible;        /* 1 when this library can talk to it */
} vmd_class_info;

/*
 * Asks the class, through the OSD holding the store's settings object, for
 * its version. Errors: -ENOENT (store not initialised), -EOPNOTSUPP (the
 * OSDs do not have the class: see docs/admin.md), -EIO (the class failed
 * to load in the OSD), -EPROTO (reply not understood).
 */
int vmd_store_class_info(vmd_store *store, vmd_class_info *out);

/* Output formats of the functions that describe objects. */
typedef enum vmd_format { VMD_FORMAT_PLAIN = 0, VMD_FORMAT_JSON = 1 } vmd_format;

/*
 * Decodes one object of the store and writes a readable description (or one
 * JSON object) to out: an index partition (idx.*, meta pool), a container
 * (c.*, data pool; p.*, popular pool), or the settings (vmd.store).
 * Errors: -ENOENT (no such object), -EINVAL (a name vmdedup does not use),
 * -EIO (the object is corrupt: what could be decoded is printed first).
 */
int vmd_store_inspect(vmd_store *store, const char *oid, vmd_format fmt, FILE *out);

#ifdef __cplusplus
}
#endif

#endif /* VMDEDUP_VMDEDUP_H */
