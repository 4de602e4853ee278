/*
 * vmdedup.h - libvmdedup, the C API a Xen toolstack links to back up VM disks into Ceph.
 *
 * Conventions (see docs/api.md)
 * -----------------------------
 * - Names carry the prefix vmd_. Functions are vmd_<noun>_<verb>; the
 *   operations on a store's snapshots are plain verbs (vmd_backup,
 *   vmd_restore, vmd_check, vmd_stats).
 * - Functions return 0 (or a count) on success and a negative errno on
 *   failure. Each function lists the errors a caller may want to act on;
 *   anything else (a librados or system error passed through) is a generic
 *   failure. A NULL where a handle, a name or an out-parameter is required
 *   is -EINVAL, never a crash.
 * - Results come back through out-parameters, which come first and are
 *   named out. On failure *out is NULL (handles) or zeroed (records).
 * - Two kinds of types:
 *   - opaque handles for what the library allocates and owns: vmd_store,
 *     vmd_vm_list, vmd_snap_list, vmd_check_report, vmd_stats_report. They
 *     are read through accessor functions (which return 0 or NULL for a
 *     NULL handle or an index out of range; a pointer they return lives as
 *     long as the handle) and released with their _close or _free, which
 *     accepts NULL;
 *   - open structs for plain values the caller holds: options records,
 *     each with an _init function that sets its defaults (a NULL options
 *     pointer means the same defaults), and result records of numbers and
 *     fixed-size strings that a function fills in the caller's storage
 *     (vmd_class_info, vmd_snap_info, vmd_cds_info, ...). Fields may be
 *     added while the version is 0.x: always _init an options record.
 * - Every failure is also described in one human-readable line passed to
 *   the error callback of the handle (vmd_store_opts.on_error), naming the
 *   object, pool or file and the errno text. Without a callback (or
 *   without a store to carry one) the message is dropped; the return code
 *   is always set.
 * - A vmd_store may be used by several threads at once. The other handles
 *   are not changed after they are returned, so several threads may read
 *   one.
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

/* ---------------------------------------------------------------------------
 * The store: a connection to the cluster and the three pools of a store
 * ------------------------------------------------------------------------- */

/* How to reach the cluster and where the store lives. Fields left NULL or 0 take defaults. */
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
    uint64_t cds_budget; /* host memory for the common data set, bytes; 0: VMD_DEFAULT_CDS_BUDGET */
    unsigned timeout;    /* seconds to wait for the monitors when connecting and for each
                            monitor or OSD operation; 0: connecting waits 30 s (unless the
                            ceph.conf says otherwise), operations wait as long as it takes */
} vmd_store_opts;

/* 8 MiB: 114,560 popular chunks (450 MB of data at 4 KiB) in a 35 MB backup (docs/decisions.md) */
#define VMD_DEFAULT_CDS_BUDGET (8u << 20)

#define VMD_DEFAULT_META_POOL    "vmd.meta"
#define VMD_DEFAULT_DATA_POOL    "vmd.data"
#define VMD_DEFAULT_POPULAR_POOL "vmd.popular"

/* Sets every field of opts to its default (all NULL and 0); NULL is ignored. */
void vmd_store_opts_init(vmd_store_opts *opts);

/* A connection to the cluster and the three pools of a store (opaque). */
typedef struct vmd_store vmd_store;

/*
 * Connects to the cluster, opens the pools named by opts (NULL: defaults)
 * and reads the store's settings. A store that is not initialised opens
 * too, so that vmd_store_init() can run; every other operation on it is
 * -ENOENT. Close *out with vmd_store_close().
 * Errors: -EINVAL (out is NULL), -ENOENT (the ceph.conf or a pool does not
 * exist), -ETIMEDOUT (no monitor answered in time), -EACCES/-EPERM
 * (refused by cephx), -EIO (the settings object is corrupt).
 */
int vmd_store_open(vmd_store **out, const vmd_store_opts *opts);

/* Disconnects and frees the store; NULL is ignored. */
void vmd_store_close(vmd_store *store);

/* Settings fixed when a store is initialised. */
typedef struct vmd_init_opts {
    unsigned partitions; /* index partitions, a power of two 1..65536; 0: VMD_DEFAULT_PARTITIONS */
    unsigned chunk_avg;  /* average chunk, a power of two 1 KiB..64 KiB; 0: VMD_DEFAULT_CHUNK_AVG.
                            The minimum is half of it, the maximum four times it */
    int zstd_level;      /* per-chunk zstd level 1..19; 0: VMD_DEFAULT_ZSTD_LEVEL; -1: store raw */
} vmd_init_opts;

#define VMD_DEFAULT_PARTITIONS 4096
#define VMD_DEFAULT_CHUNK_AVG  4096
#define VMD_DEFAULT_ZSTD_LEVEL 1 /* measured on OS images: docs/decisions.md */

/* Sets every field of opts to its default (0: the defaults above); NULL is ignored. */
void vmd_init_opts_init(vmd_init_opts *opts);

/*
 * Creates the store's settings object (vmd.store in the meta pool) so the
 * store can be used; opts NULL means defaults. The pools must exist
 * (ceph-conf/vmd-pools creates them). The settings are fixed for the
 * store's life (docs/decisions.md gives the measurements behind the
 * defaults).
 * Errors: -EINVAL (store is NULL, or an option out of range: nothing is
 * written), -EEXIST (already initialised).
 */
int vmd_store_init(vmd_store *store, const vmd_init_opts *opts);

/*
 * Number of index partitions of an initialised store.
 * Errors: -EINVAL (store is NULL), -ENOENT (not initialised).
 */
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
 * its version.
 * Errors: -EINVAL (a NULL argument), -ENOENT (store not initialised),
 * -EOPNOTSUPP (the OSDs do not have the class: see docs/admin.md), -EIO
 * (the class failed to load in the OSD), -EPROTO (reply not understood),
 * -ETIMEDOUT (no answer within vmd_store_opts.timeout).
 */
int vmd_store_class_info(vmd_class_info *out, vmd_store *store);

/* Output formats of the functions that describe objects. */
typedef enum vmd_format { VMD_FORMAT_PLAIN = 0, VMD_FORMAT_JSON = 1 } vmd_format;

/*
 * Decodes one object of the store and writes a readable description (or one
 * JSON object and a newline) to the stream out. Every kind of object the
 * store has (docs/format.md): the settings vmd.store, the VM list vmd.vms,
 * the CDS pointer vmd.cds and its manifests cds.<ver8>, index partitions
 * idx.<pppp> (meta pool), catalogs vm.<vm> and recipes r.<vm>.<seq8> (meta
 * pool), containers c.<vm>.<id16> (data pool) and popular containers
 * p.<id16> (popular pool).
 * Errors: -EINVAL (a NULL argument, or a name vmdedup does not use),
 * -ENOENT (no such object), -EIO (the object is corrupt: what could be
 * decoded is written first).
 */
int vmd_store_inspect(FILE *out, vmd_store *store, const char *oid, vmd_format fmt);

/* ---------------------------------------------------------------------------
 * Snapshots: backup, restore, listing
 * ------------------------------------------------------------------------- */

/*
 * Progress of a long operation: done and total in bytes of the disk. Called
 * from the calling thread, at most a few times per second, and once at the end.
 */
typedef void (*vmd_progress_fn)(void *arg, uint64_t done, uint64_t total);

#define VMD_VM_ID_MAX 64 /* bytes of [A-Za-z0-9._:-] */

/* What one snapshot cost and saved. Bytes are of the disk (uncompressed) unless named stored. */
typedef struct vmd_snap_stats {
    uint64_t logical_bytes; /* size of the disk */
    uint64_t bytes_read;    /* read from the image (clean segments are not read) */
    uint64_t level1_bytes;  /* segments inherited whole from the parent */
    uint64_t level2_bytes;  /* chunks found in the parent's segment or similar ones */
    uint64_t level3_bytes;  /* chunks found in the common data set (popular copies) */
    uint64_t zero_bytes;    /* all-zero chunks and segments, stored as holes */
    uint64_t new_bytes;     /* chunks written, before compression */
    uint64_t stored_bytes;  /* chunks written, as stored (zstd where it saves space) */
    uint64_t chunks;        /* chunks in the snapshot (holes excluded) */
    uint64_t new_chunks;    /* of which written by this snapshot */
    uint64_t containers;    /* containers written */
    double seconds;         /* wall-clock time of the backup */
    uint64_t peak_rss;      /* peak resident memory of the process, bytes */
} vmd_snap_stats;

/* One committed snapshot of a VM, as its catalog entry records it. */
typedef struct vmd_snap_info {
    char vm[VMD_VM_ID_MAX + 1];
    uint32_t snap;   /* sequence number within the VM, from 1 */
    uint32_t parent; /* 0: none (a full backup) */
    int64_t time;    /* commit time, seconds since the epoch (UTC) */
    uint64_t size;   /* disk size in bytes */
    vmd_snap_stats stats;
} vmd_snap_info;

typedef struct vmd_backup_opts {
    const char *dirty_map; /* file of the segments changed since the parent (docs/dirty-maps.md) */
    uint32_t parent;       /* parent snapshot; 0: the VM's latest */
    int full;              /* 1: no parent, every segment is read and compared with nothing */
    unsigned threads;      /* worker threads; 0: one per core */
    vmd_progress_fn progress;
    void *progress_arg;
} vmd_backup_opts;

/* Sets every field of opts to its default (all 0 and NULL); NULL is ignored. */
void vmd_backup_opts_init(vmd_backup_opts *opts);

/*
 * Backs up the disk image (a file or block device) as the next snapshot of
 * VM vm, creating the VM on its first backup; out (may be NULL) receives the
 * committed snapshot. The snapshot is visible only once everything it
 * references is durable (catalog entry written last); a crash at any point
 * leaves earlier snapshots intact. Nothing is written before the VM id, the
 * image, the dirty map and the parent are checked.
 * Errors: -EINVAL (store, vm or image NULL, bad VM id, image neither a file
 * nor a block device or empty, malformed dirty map, dirty map without a
 * parent), -ERANGE (dirty map that does not fit the disk: a segment or
 * block beyond it, a bitmap of another length), -ENOENT (no image or dirty
 * map file, parent snapshot unknown, store not initialised), -EBUSY
 * (another backup of this VM runs), -EFBIG (image over 64 TiB), -EIO
 * (short read of the image, corrupt parent recipe).
 */
int vmd_backup(vmd_snap_info *out, vmd_store *store, const char *vm, const char *image,
               const vmd_backup_opts *opts);

typedef struct vmd_restore_opts {
    uint64_t offset;  /* first byte of the disk to restore */
    uint64_t length;  /* bytes from offset; 0: to the end of the disk */
    unsigned threads; /* 0: 4 */
    vmd_progress_fn progress;
    void *progress_arg;
} vmd_restore_opts;

/* Sets every field of opts to its default (all 0 and NULL); NULL is ignored. */
void vmd_restore_opts_init(vmd_restore_opts *opts);

/*
 * Writes snapshot snap of VM vm (or the range opts gives) to path: a
 * regular file (created or truncated; sparse where the snapshot has holes)
 * or a block device. Every chunk's SHA-256 is verified.
 * Errors: -EINVAL (store, vm or path NULL, bad VM id), -ENOENT (unknown VM
 * or snapshot, store not initialised), -ERANGE (range beyond the disk),
 * -EIO (a chunk does not match its fingerprint, or an object it needs is
 * missing or corrupt: the message names the object and slot).
 */
int vmd_restore(vmd_store *store, const char *vm, uint32_t snap, const char *path,
                const vmd_restore_opts *opts);

/* The VMs of a store, sorted by id (opaque; vmd_vm_list_new, vmd_vm_list_free). */
typedef struct vmd_vm_list vmd_vm_list;

/*
 * Lists the VMs that have had a backup. Free *out with vmd_vm_list_free().
 * Errors: -EINVAL (a NULL argument), -ENOENT (store not initialised).
 */
int vmd_vm_list_new(vmd_vm_list **out, vmd_store *store);
size_t vmd_vm_list_count(const vmd_vm_list *list);
const char *vmd_vm_list_get(const vmd_vm_list *list, size_t i); /* NULL: i out of range */
void vmd_vm_list_free(vmd_vm_list *list);

/* The committed snapshots of a VM, oldest first (opaque). */
typedef struct vmd_snap_list vmd_snap_list;

/*
 * Lists the committed snapshots of VM vm. Free *out with vmd_snap_list_free().
 * Errors: -EINVAL (a NULL argument, bad VM id), -ENOENT (unknown VM, store
 * not initialised), -EIO (an unreadable catalog entry).
 */
int vmd_snap_list_new(vmd_snap_list **out, vmd_store *store, const char *vm);
size_t vmd_snap_list_count(const vmd_snap_list *list);
const vmd_snap_info *vmd_snap_list_get(const vmd_snap_list *list, size_t i); /* NULL: i too big */
void vmd_snap_list_free(vmd_snap_list *list);

/*
 * One committed snapshot.
 * Errors: -EINVAL (a NULL argument, bad VM id), -ENOENT (unknown VM or
 * snapshot, store not initialised), -EIO (an unreadable catalog entry).
 */
int vmd_snap_get(vmd_snap_info *out, vmd_store *store, const char *vm, uint32_t snap);

/* What an interrupted backup left: a snapshot number allocated but never committed. */
typedef struct vmd_check_orphan {
    uint32_t snap;       /* the uncommitted snapshot number */
    int recipe;          /* 1: its recipe object r.<vm>.<snap8> exists */
    uint64_t containers; /* its container objects c.<vm>.<id16> (id >> 24 == snap) */
} vmd_check_orphan;

/* The result of vmd_check() (opaque). */
typedef struct vmd_check_report vmd_check_report;

/*
 * Finds what interrupted backups of VM vm left behind: snapshot numbers
 * below the VM's next number without a catalog entry whose recipe or
 * containers exist (listing the meta and data pools' objects of the
 * namespace). Reports only; reclaiming them is garbage collection's job.
 * Free *out with vmd_check_report_free().
 * Errors: -EINVAL (a NULL argument, bad VM id), -ENOENT (unknown VM, store
 * not initialised), -EIO (corrupt catalog).
 */
int vmd_check(vmd_check_report **out, vmd_store *store, const char *vm);
uint32_t vmd_check_report_next_seq(const vmd_check_report *r);   /* the VM's next number */
size_t vmd_check_report_committed(const vmd_check_report *r);    /* committed snapshots */
size_t vmd_check_report_orphan_count(const vmd_check_report *r); /* numbers that left objects */
/* The i-th of them, ascending by snap; NULL when i is out of range. */
const vmd_check_orphan *vmd_check_report_orphan(const vmd_check_report *r, size_t i);
void vmd_check_report_free(vmd_check_report *r);

/* ---------------------------------------------------------------------------
 * The common data set (level 3): popular chunks, stored once with extra replication
 * ------------------------------------------------------------------------- */

/* The published CDS, as its manifest says (docs/format.md, "Common data set"). */
typedef struct vmd_cds_info {
    uint64_t version;    /* 0: no CDS published yet (every other field 0 but budget) */
    uint64_t entries;    /* popular chunks */
    uint64_t bytes;      /* their uncompressed bytes */
    uint32_t threshold;  /* VMs holding the least popular chunk the selection took */
    int64_t time;        /* when it was written, seconds since the epoch (UTC) */
    uint64_t containers; /* popular containers its chunks are in */
    uint64_t mem;        /* host memory to load all of it, bytes */
    uint64_t budget;     /* the host budget these figures assume (vmd_store_opts.cds_budget) */
    uint64_t loaded;     /* entries a host with that budget loads (the most popular) */
    uint64_t loaded_mem; /* memory they take, bytes (<= budget) */
} vmd_cds_info;

/*
 * Describes the published CDS, and what a host with the store's budget
 * loads of it (by loading it). No CDS yet is not an error: version 0.
 * Errors: -EINVAL (a NULL argument), -ENOENT (store not initialised), -EIO
 * (corrupt or missing manifest).
 */
int vmd_cds_show(vmd_cds_info *out, vmd_store *store);

typedef struct vmd_cds_update_opts {
    double top_percent;       /* take the top_percent % of unique chunks, most popular first;
                                 0: 1.5 (the published figure), or no limit when min_vms is set */
    uint32_t min_vms;         /* only chunks held by at least this many VMs; 0: 2 (never fewer) */
    uint64_t max_bytes;       /* the CDS holds at most this many bytes of chunks; 0: no limit */
    vmd_progress_fn progress; /* bytes copied into popular containers, of those to copy */
    void *progress_arg;
} vmd_cds_update_opts;

/* Sets every field of opts to its default (all 0 and NULL); NULL is ignored. */
void vmd_cds_update_opts_init(vmd_cds_update_opts *opts);

typedef struct vmd_cds_update_result {
    vmd_cds_info cds;         /* the version published (loaded/loaded_mem not filled) */
    uint64_t previous;        /* the version it replaces (0: none) */
    uint64_t unique_chunks;   /* index entries (the base of top_percent) */
    uint64_t target;          /* chunks the selection wanted (top_percent of unique_chunks;
                                 UINT64_MAX: no percentage limit) */
    uint64_t selected;        /* chunks the selection took, most popular first */
    uint64_t kept;            /* of which already in the previous version */
    uint64_t adopted;         /* already popular but not published (an interrupted update) */
    uint64_t added;           /* copied now into popular containers */
    uint64_t added_bytes;     /* their uncompressed bytes */
    uint64_t carried;         /* entries of the previous version no longer selected, kept */
    uint64_t skipped;         /* chunks whose home copy was gone (not added) */
    uint64_t containers;      /* popular containers written */
    uint64_t container_bytes; /* their size (compressed chunks and tables) */
    double seconds;
} vmd_cds_update_result;

/*
 * Builds a new version of the CDS from the popularity the index counted:
 * takes the chunks held by the most VMs (opts), copies each one not yet
 * popular once from a VM container that holds it into popular containers
 * (p.<id16>, popular pool), marks them popular in the index, writes the
 * new manifest and publishes it; out (may be NULL) receives what it did.
 * Chunks already popular stay. Safe to interrupt: a version is used only
 * once published; an interrupted update leaves unreferenced popular
 * containers and an unpublished manifest, which are reclaimable
 * (docs/admin.md).
 * Errors: -EINVAL (store NULL, top_percent outside 0..100), -ENOENT (store
 * not initialised), -EBUSY (another update runs: its lock lapses within
 * 30 s if it was killed), -EIO (a chunk failed verification: the message
 * names container and slot), -ECANCELED (another update published first).
 */
int vmd_cds_update(vmd_cds_update_result *out, vmd_store *store, const vmd_cds_update_opts *opts);

/* ---------------------------------------------------------------------------
 * Statistics: what each level saved, and the availability VM-centric packing buys
 * ------------------------------------------------------------------------- */

/* Bytes summed over committed snapshots (bytes of the disk unless named stored). */
typedef struct vmd_usage {
    uint64_t snapshots;
    uint64_t logical_bytes; /* disk bytes of all snapshots */
    uint64_t level1_bytes;  /* saved by level 1 (unchanged segments) */
    uint64_t level2_bytes;  /* saved by level 2 (inner-VM, similar segments) */
    uint64_t level3_bytes;  /* saved by level 3 (the common data set) */
    uint64_t zero_bytes;    /* all-zero chunks, stored as holes */
    uint64_t new_bytes;     /* written into VM containers, uncompressed */
    uint64_t stored_bytes;  /* written into VM containers, as stored (compressed) */
} vmd_usage;

/* P(a snapshot is restorable) when each OSD fails independently with probability f. */
typedef struct vmd_avail {
    double f;
    double with_popular; /* popular pool at its real size */
    double data_size;    /* as if the popular pool had the data pool's size */
} vmd_avail;

#define VMD_AVAIL_F_MAX 5 /* failure probabilities reported: the option's, then 0.001 .. 0.1 */

/* The figures of one VM. */
typedef struct vmd_vm_stats {
    char vm[VMD_VM_ID_MAX + 1];
    vmd_usage u;
    uint32_t latest;  /* the snapshot the availability is of (0: none) */
    uint64_t objects; /* objects it references (recipes, containers, popular containers) */
    uint64_t osds;    /* distinct OSDs holding them */
    int exact;        /* 1: exact over the OSDs' failure states; 0: FKG lower bound */
    vmd_avail avail[VMD_AVAIL_F_MAX]; /* navail of them (vmd_store_stats), when latest != 0 */
} vmd_vm_stats;

/* The figures of the store (or of the VM named), summed over the VMs reported. */
typedef struct vmd_store_stats {
    vmd_usage total;         /* every VM listed (all VMs when no VM was named) */
    uint64_t unique_chunks;  /* index entries */
    uint64_t unique_bytes;   /* their bytes: what perfect global dedup stores */
    uint64_t popular_chunks; /* index entries marked popular */
    uint64_t popular_bytes;  /* their bytes, stored once more in the popular pool */
    uint64_t cds_version;    /* published CDS (0: none) */
    double global_fraction;  /* of the bytes perfect global dedup saves, the share saved
                                (zero chunks left out of both; see docs/admin.md); -1 when
                                one VM was named (the index is the store's) */
    uint32_t data_size, popular_size, meta_size; /* the pools' replication sizes */
    size_t navail;                               /* failure probabilities in avail[] */
    vmd_avail avail[VMD_AVAIL_F_MAX];            /* all latest snapshots restorable at once */
} vmd_store_stats;

typedef struct vmd_stats_opts {
    double osd_failure; /* per-OSD failure probability of the first avail[] row; 0: 0.01 */
    int no_avail;       /* 1: skip availability (no recipe reads, no mon commands) */
} vmd_stats_opts;

/* Sets every field of opts to its default (all 0); NULL is ignored. */
void vmd_stats_opts_init(vmd_stats_opts *opts);

/* The result of vmd_stats() (opaque). */
typedef struct vmd_stats_report vmd_stats_report;

/*
 * Statistics of VM vm (NULL: every VM): bytes per level from the catalogs,
 * the index's unique bytes and the availability of each VM's latest
 * snapshot from the real placement of the objects it references (mon
 * command "osd map"). Free *out with vmd_stats_report_free().
 * Errors: -EINVAL (out or store NULL, bad VM id, osd_failure outside
 * [0, 1)), -ENOENT (store not initialised, unknown VM).
 */
int vmd_stats(vmd_stats_report **out, vmd_store *store, const char *vm, const vmd_stats_opts *opts);
const vmd_store_stats *vmd_stats_report_store(const vmd_stats_report *r); /* the totals */
size_t vmd_stats_report_vm_count(const vmd_stats_report *r);
/* The i-th VM, sorted by id; NULL when i is out of range. */
const vmd_vm_stats *vmd_stats_report_vm(const vmd_stats_report *r, size_t i);
void vmd_stats_report_free(vmd_stats_report *r);

#ifdef __cplusplus
}
#endif

#endif /* VMDEDUP_VMDEDUP_H */
