/*
 * test_backup_api.c - backup, restore, listing and check through the public C API.
 *
 * Runs against the throwaway cluster of ctest's `cluster` fixture (CEPH_CONF)
 * in a RADOS namespace of its own. Disk images are generated from a fixed
 * seed into a temporary directory (nothing in git): 1 MiB blocks of random,
 * text-like, zero and repeated content, with a size that is a multiple of
 * neither 2 MiB nor 4 KiB. Every restore is compared byte for byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rados/librados.h>

#include "cluster.h"
#include "rng.h"
#include "chunks.h"
#include "vmd_test.h"
#include "vmd_test_cluster.h"
#include "vmdedup/vmdedup.h"

#define MIB        (1024u * 1024u)
#define IMG_SIZE   (40u * MIB - 3333u)
#define SEG        (2u * MIB)
#define VM         "itest-vm"
#define VM_CORRUPT "itest-corrupt"

static vmd_store *store;
static rados_t cluster;
static rados_ioctx_t meta, data;
static char nspace[64];
static char dir[64];
static uint8_t *img; /* the current image's bytes */

/* ---- data ---- */

static uint64_t rng_state;

static uint64_t rng(void)
{
    return vmd_test_xorshift64(&rng_state);
}

static void fill_text(uint8_t *p, size_t n)
{
    static const char *const words[] = {"the ",  "backup ", "segment ", "chunk ", "of ",
                                        "a ",    "disk ",   "xen ",     "ceph ",  "\n",
                                        "vm42 ", "etc ",    "usr/lib ", "0x1f ",  "daily "};

    vmd_test_fill_words(p, n, words, 15, &rng_state);
}

static void fill_random(uint8_t *p, size_t n)
{
    vmd_test_fill_xorshift(p, n, &rng_state);
}

/* The base image: per 1 MiB block, zero / random / text / a copy of an earlier block. */
static void gen_image(uint8_t *p, size_t size)
{
    size_t off;

    rng_state = 0x5eed1234abcdULL;
    for (off = 0; off < size; off += MIB) {
        size_t n = size - off < MIB ? size - off : MIB;
        unsigned kind = (unsigned)(rng() % 8);
        if (kind < 2)
            memset(p + off, 0, n);
        else if (kind < 4)
            fill_random(p + off, n);
        else if (kind < 7 || off < 4 * MIB)
            fill_text(p + off, n);
        else
            memmove(p + off, p + (rng() % (off / MIB)) * MIB, n);
    }
    memset(p + 6 * MIB, 0, 4 * MIB);    /* two whole zero segments */
    fill_random(p + 10 * MIB, 2 * MIB); /* and a random one after them */
}

static int write_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    int ok;

    if (!f)
        return -1;
    ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* 1 when the file at path holds exactly n bytes equal to p. */
static int file_equals(const char *path, const uint8_t *p, size_t n)
{
    struct stat st;
    uint8_t *buf;
    FILE *f;
    int eq;

    if (stat(path, &st) || (size_t)st.st_size != n)
        return 0;
    buf = malloc(n ? n : 1);
    f = fopen(path, "rb");
    eq = f && buf && fread(buf, 1, n, f) == n && memcmp(buf, p, n) == 0;
    if (f)
        fclose(f);
    free(buf);
    return eq;
}

static void path_of(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

/* ---- setup ---- */

static int need_store(void)
{
    if (store)
        return 1;
    if (!vmd_test_have_cluster())
        return 0;
    vmd_test_nspace(nspace, sizeof(nspace), "test-bk");
    if (vmd_test_store_open(&store, nspace, 1, NULL, NULL) != 0) {
        CU_FAIL("cannot use the throwaway cluster");
        return 0;
    }
    if (vmd_test_rados_connect(&cluster) || rados_ioctx_create(cluster, "vmd.meta", &meta) ||
        rados_ioctx_create(cluster, "vmd.data", &data)) {
        CU_FAIL("cannot open a second librados handle");
        return 0;
    }
    rados_ioctx_set_namespace(meta, nspace);
    rados_ioctx_set_namespace(data, nspace);
    snprintf(dir, sizeof(dir), "/tmp/vmd-bk-XXXXXX");
    if (!mkdtemp(dir)) {
        CU_FAIL("mkdtemp");
        return 0;
    }
    img = malloc(IMG_SIZE);
    gen_image(img, IMG_SIZE);
    return 1;
}

static void cleanup(void)
{
    char cmd[128];

    if (dir[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    free(img);
    if (meta)
        rados_ioctx_destroy(meta);
    if (data)
        rados_ioctx_destroy(data);
    if (cluster)
        rados_shutdown(cluster);
    vmd_store_close(store);
}

static int backup_file(const char *vm, const char *name, const vmd_backup_opts *o,
                       vmd_snap_info *info)
{
    char path[128];

    path_of(path, sizeof(path), name);
    return vmd_backup(info, store, vm, path, o);
}

static int restore_check(const char *vm, uint32_t snap, const uint8_t *want, uint64_t off,
                         uint64_t len)
{
    vmd_restore_opts ro;
    char path[128];
    int err;

    memset(&ro, 0, sizeof(ro));
    ro.offset = off;
    ro.length = len;
    path_of(path, sizeof(path), "out.img");
    err = vmd_restore(store, vm, snap, path, &ro);
    if (err) {
        fprintf(stderr, "restore: %s\n", vmd_test_last_error);
        return err;
    }
    return file_equals(path, want + off, len ? len : IMG_SIZE - off) ? 0 : -EBADMSG;
}

/* ---- tests ---- */

static vmd_snap_info first;

static void test_full_backup_restore(void)
{
    vmd_snap_info got;
    char path[128];
    int err;

    if (!need_store())
        return;
    path_of(path, sizeof(path), "base.img");
    CU_ASSERT_FATAL(write_file(path, img, IMG_SIZE) == 0);
    err = backup_file(VM, "base.img", NULL, &first);
    if (err)
        fprintf(stderr, "backup: %s\n", vmd_test_last_error);
    CU_ASSERT_FATAL(err == 0);
    CU_ASSERT_EQUAL(first.snap, 1);
    CU_ASSERT_EQUAL(first.parent, 0);
    CU_ASSERT_EQUAL(first.size, IMG_SIZE);
    CU_ASSERT_EQUAL(first.stats.bytes_read, IMG_SIZE);
    CU_ASSERT(first.stats.zero_bytes >= 4 * MIB);
    CU_ASSERT(first.stats.new_bytes > 0 && first.stats.new_bytes < IMG_SIZE);
    CU_ASSERT(first.stats.stored_bytes < first.stats.new_bytes); /* text compresses */
    CU_ASSERT(first.stats.containers >= 1);
    CU_ASSERT(first.stats.peak_rss > 0);
    CU_ASSERT_EQUAL(restore_check(VM, 1, img, 0, 0), 0);
    CU_ASSERT_EQUAL(vmd_snap_get(&got, store, VM, 1), 0);
    CU_ASSERT_EQUAL(got.stats.new_bytes, first.stats.new_bytes);
    CU_ASSERT_EQUAL(got.size, IMG_SIZE);
}

/* Changes a few 4 KiB blocks in three segments and inserts bytes into a fourth. */
static void mutate(uint8_t *p)
{
    size_t seg4 = 4 * (size_t)SEG;

    rng_state = 0x77;
    fill_random(p + 1 * SEG + 8192, 4096);
    fill_random(p + 13 * SEG + 100000, 4096);
    fill_random(p + 17 * SEG + 4096 * 100, 300);
    memmove(p + seg4 + 65536 + 100, p + seg4 + 65536, SEG - 65536 - 100);
    fill_random(p + seg4 + 65536, 100);
}

static void test_child_without_map(void)
{
    vmd_snap_info child;
    char path[128];
    int err;

    if (!store || !first.snap)
        return;
    mutate(img);
    path_of(path, sizeof(path), "child.img");
    CU_ASSERT_FATAL(write_file(path, img, IMG_SIZE) == 0);
    err = backup_file(VM, "child.img", NULL, &child);
    if (err)
        fprintf(stderr, "backup: %s\n", vmd_test_last_error);
    CU_ASSERT_FATAL(err == 0);
    CU_ASSERT_EQUAL(child.snap, 2);
    CU_ASSERT_EQUAL(child.parent, 1);
    CU_ASSERT_EQUAL(child.stats.bytes_read, IMG_SIZE);
    CU_ASSERT(child.stats.level1_bytes >= 20 * MIB);
    CU_ASSERT(child.stats.level2_bytes > 0);
    CU_ASSERT(child.stats.new_bytes > 0 && child.stats.new_bytes < 256 * 1024);
    CU_ASSERT_EQUAL(restore_check(VM, 2, img, 0, 0), 0);
}

static void test_child_with_map(void)
{
    vmd_backup_opts o;
    vmd_snap_info child;
    char path[128], map[128];
    FILE *f;
    int err;

    if (!store || !first.snap)
        return;
    fill_random(img + 3 * SEG + 5000, 2000);
    fill_random(img + 19 * SEG + 7, 20);
    path_of(path, sizeof(path), "child.img");
    CU_ASSERT_FATAL(write_file(path, img, IMG_SIZE) == 0);
    path_of(map, sizeof(map), "dirty.txt");
    f = fopen(map, "w");
    CU_ASSERT_FATAL(f != NULL);
    fprintf(f, "# changed since snapshot 2\n3\nbytes %u+20\n", 19 * SEG + 7);
    fclose(f);
    memset(&o, 0, sizeof(o));
    o.dirty_map = map;
    o.threads = 3;
    err = backup_file(VM, "child.img", &o, &child);
    if (err)
        fprintf(stderr, "backup: %s\n", vmd_test_last_error);
    CU_ASSERT_FATAL(err == 0);
    CU_ASSERT_EQUAL(child.snap, 3);
    CU_ASSERT_EQUAL(child.parent, 2);
    CU_ASSERT_EQUAL(child.stats.bytes_read, SEG + (IMG_SIZE - 19 * SEG)); /* 19 is the last */
    CU_ASSERT(child.stats.level1_bytes + child.stats.zero_bytes >= IMG_SIZE - 2 * SEG + 3333);
    CU_ASSERT(child.stats.level1_bytes >= 20 * MIB);
    CU_ASSERT(child.stats.level2_bytes > 0);
    CU_ASSERT(child.stats.new_bytes > 0 && child.stats.new_bytes < 64 * 1024);
    CU_ASSERT_EQUAL(restore_check(VM, 3, img, 0, 0), 0);
}

static void test_old_snapshot_still_restores(void)
{
    uint8_t *base;

    if (!store || !first.snap)
        return;
    base = malloc(IMG_SIZE);
    gen_image(base, IMG_SIZE);
    CU_ASSERT_EQUAL(restore_check(VM, 1, base, 0, 0), 0);
    free(base);
}

static void test_range_restore(void)
{
    if (!store || !first.snap)
        return;
    CU_ASSERT_EQUAL(restore_check(VM, 3, img, 3 * MIB + 17, 5 * MIB + 9), 0);
    CU_ASSERT_EQUAL(restore_check(VM, 3, img, IMG_SIZE - 100, 0), 0);
    CU_ASSERT_EQUAL(restore_check(VM, 3, img, 6 * MIB, 4 * MIB), 0);
    CU_ASSERT_EQUAL(restore_check(VM, 3, img, IMG_SIZE - 10, 11), -ERANGE);
    CU_ASSERT_EQUAL(restore_check(VM, 3, img, IMG_SIZE, 0), -ERANGE);
}

static void test_listing(void)
{
    vmd_snap_list *list = NULL;
    vmd_vm_list *vms = NULL;
    size_t n = 0, i;
    int found = 0;

    if (!store || !first.snap)
        return;
    CU_ASSERT_EQUAL(vmd_snap_list_new(&list, store, VM), 0);
    n = vmd_snap_list_count(list);
    CU_ASSERT_EQUAL(n, 3);
    for (i = 0; i < n; i++) {
        const vmd_snap_info *si = vmd_snap_list_get(list, i);
        CU_ASSERT_EQUAL(si->snap, i + 1);
        CU_ASSERT_EQUAL(si->parent, i);
        CU_ASSERT_STRING_EQUAL(si->vm, VM);
    }
    CU_ASSERT_PTR_NULL(vmd_snap_list_get(list, n));
    vmd_snap_list_free(list);
    CU_ASSERT_EQUAL(vmd_vm_list_new(&vms, store), 0);
    n = vmd_vm_list_count(vms);
    for (i = 0; i < n; i++)
        found |= strcmp(vmd_vm_list_get(vms, i), VM) == 0;
    CU_ASSERT(found);
    CU_ASSERT_PTR_NULL(vmd_vm_list_get(vms, n));
    vmd_vm_list_free(vms);
}

static void test_unknown(void)
{
    vmd_snap_info info;
    vmd_snap_list *list = NULL;
    char path[128];

    if (!store)
        return;
    path_of(path, sizeof(path), "x.img");
    CU_ASSERT_EQUAL(vmd_snap_get(&info, store, "no-such-vm", 1), -ENOENT);
    CU_ASSERT_EQUAL(vmd_snap_get(&info, store, VM, 99), -ENOENT);
    CU_ASSERT_EQUAL(vmd_snap_list_new(&list, store, "no-such-vm"), -ENOENT);
    CU_ASSERT_PTR_NULL(list);
    CU_ASSERT_EQUAL(vmd_restore(store, "no-such-vm", 1, path, NULL), -ENOENT);
    CU_ASSERT_EQUAL(vmd_restore(store, VM, 99, path, NULL), -ENOENT);
    CU_ASSERT_EQUAL(vmd_backup(NULL, store, VM, "/nonexistent/disk.img", NULL), -ENOENT);
    CU_ASSERT_EQUAL(vmd_backup(NULL, store, "bad/vm", path, NULL), -EINVAL);
}

static void test_busy(void)
{
    struct timeval tv = {60, 0};
    int err;

    if (!store || !first.snap)
        return;
    CU_ASSERT_EQUAL_FATAL(
        rados_lock_exclusive(meta, "vm." VM, "vmd.backup", "by-hand", "test", &tv, 0), 0);
    err = backup_file(VM, "child.img", NULL, NULL);
    CU_ASSERT_EQUAL(err, -EBUSY);
    CU_ASSERT(strstr(vmd_test_last_error, "another backup") != NULL);
    CU_ASSERT_EQUAL(rados_unlock(meta, "vm." VM, "vmd.backup", "by-hand"), 0);
}

/* All omap pairs of vm.<vm> as one string, to compare before and after. */
static void catalog_dump(char *out, size_t cap)
{
    rados_read_op_t op = rados_create_read_op();
    rados_omap_iter_t it;
    unsigned char more = 0;
    int prval = 0;
    char *k, *v;
    size_t len, at = 0;

    out[0] = '\0';
    rados_read_op_omap_get_vals2(op, "", "", 1000, &it, &more, &prval);
    if (rados_read_op_operate(op, meta, "vm." VM, 0) == 0) {
        while (rados_omap_get_next(it, &k, &v, &len) == 0 && k && at < cap)
            at += (size_t)snprintf(out + at, cap - at, "%s=%.*s;", k, (int)len, v);
        rados_omap_get_end(it);
    }
    rados_release_read_op(op);
}

static void test_bad_dirty_map(void)
{
    static char before[16384], after[16384];
    vmd_backup_opts o;
    char map[128];
    FILE *f;

    if (!store || !first.snap)
        return;
    catalog_dump(before, sizeof(before));
    path_of(map, sizeof(map), "bad.txt");
    f = fopen(map, "w");
    CU_ASSERT_FATAL(f != NULL);
    fprintf(f, "3\nfoo\n");
    fclose(f);
    memset(&o, 0, sizeof(o));
    o.dirty_map = map;
    CU_ASSERT_EQUAL(backup_file(VM, "child.img", &o, NULL), -EINVAL);
    CU_ASSERT(strstr(vmd_test_last_error, "line 2") != NULL);
    f = fopen(map, "w");
    fprintf(f, "999\n"); /* beyond the disk */
    fclose(f);
    CU_ASSERT_EQUAL(backup_file(VM, "child.img", &o, NULL), -ERANGE);
    f = fopen(map, "w");
    fprintf(f, "3\n");
    fclose(f);
    o.full = 1; /* a map without a parent */
    CU_ASSERT_EQUAL(backup_file(VM, "child.img", &o, NULL), -EINVAL);
    catalog_dump(after, sizeof(after));
    CU_ASSERT_STRING_EQUAL(before, after);
}

static void test_check(void)
{
    vmd_check_report *rep = NULL;
    const vmd_check_orphan *o;
    const char *key = "next_seq", *val = "6";
    size_t len = 1;
    rados_write_op_t op;

    if (!store || !first.snap)
        return;
    CU_ASSERT_EQUAL(vmd_check(&rep, store, VM), 0);
    CU_ASSERT_EQUAL(vmd_check_report_next_seq(rep), 4);
    CU_ASSERT_EQUAL(vmd_check_report_committed(rep), 3);
    CU_ASSERT_EQUAL(vmd_check_report_orphan_count(rep), 0);
    vmd_check_report_free(rep);
    /* What a backup killed after allocating 4 and 5 and writing some objects leaves. */
    op = rados_create_write_op();
    rados_write_op_omap_set(op, &key, &val, &len, 1);
    CU_ASSERT_EQUAL(rados_write_op_operate(op, meta, "vm." VM, NULL, 0), 0);
    rados_release_write_op(op);
    CU_ASSERT_EQUAL(rados_write_full(meta, "r." VM ".00000005", "x", 1), 0);
    CU_ASSERT_EQUAL(rados_write_full(data, "c." VM ".0000000005000000", "x", 1), 0);
    CU_ASSERT_EQUAL(rados_write_full(data, "c." VM ".0000000005000001", "x", 1), 0);
    CU_ASSERT_EQUAL(vmd_check(&rep, store, VM), 0);
    CU_ASSERT_EQUAL(vmd_check_report_next_seq(rep), 6);
    CU_ASSERT_EQUAL_FATAL(vmd_check_report_orphan_count(rep), 1);
    o = vmd_check_report_orphan(rep, 0);
    CU_ASSERT_EQUAL(o->snap, 5);
    CU_ASSERT_EQUAL(o->recipe, 1);
    CU_ASSERT_EQUAL(o->containers, 2);
    CU_ASSERT_PTR_NULL(vmd_check_report_orphan(rep, 1));
    vmd_check_report_free(rep);
    CU_ASSERT_EQUAL(vmd_check(&rep, store, "no-such-vm"), -ENOENT);
    CU_ASSERT_PTR_NULL(rep);
}

static void test_next_backup_after_orphans(void)
{
    vmd_snap_info info;

    if (!store || !first.snap)
        return;
    CU_ASSERT_EQUAL(backup_file(VM, "child.img", NULL, &info), 0);
    CU_ASSERT_EQUAL(info.snap, 6);
    CU_ASSERT_EQUAL(info.parent, 3);
    CU_ASSERT_EQUAL(info.stats.new_bytes, 0);
    CU_ASSERT_EQUAL(restore_check(VM, 6, img, 0, 0), 0);
}

static void test_corrupt_container(void)
{
    vmd_snap_info info;
    char path[128], oid[64];
    uint8_t *buf;
    int n, err;

    if (!store || !first.snap)
        return;
    CU_ASSERT_FATAL(backup_file(VM_CORRUPT, "child.img", NULL, &info) == 0);
    snprintf(oid, sizeof(oid), "c.%s.%016llx", VM_CORRUPT, 1ULL << 24);
    buf = malloc(8 * MIB);
    n = rados_read(data, oid, (char *)buf, 8 * MIB, 0);
    CU_ASSERT_FATAL(n > 4096);
    buf[1000] ^= 0x40; /* a byte of the first chunks' stored bytes */
    CU_ASSERT_EQUAL(rados_write_full(data, oid, (const char *)buf, (size_t)n), 0);
    free(buf);
    path_of(path, sizeof(path), "corrupt.img");
    err = vmd_restore(store, VM_CORRUPT, 1, path, NULL);
    CU_ASSERT_EQUAL(err, -EIO);
    CU_ASSERT(strstr(vmd_test_last_error, oid) != NULL);
    CU_ASSERT(strstr(vmd_test_last_error, "slot") != NULL);
    fprintf(stderr, "    (message: %s)\n", vmd_test_last_error);
}

/* Every public function answers NULL arguments with -EINVAL, without a crash. */
static void test_null_arguments(void)
{
    vmd_snap_info info;
    vmd_class_info ci;
    vmd_cds_info cds;
    vmd_cds_update_result ur;
    vmd_vm_list *vl = (vmd_vm_list *)1;
    vmd_snap_list *sl = (vmd_snap_list *)1;
    vmd_check_report *cr = (vmd_check_report *)1;
    vmd_stats_report *st = (vmd_stats_report *)1;
    char path[128];

    if (!store)
        return;
    path_of(path, sizeof(path), "null.img");
    CU_ASSERT_EQUAL(vmd_store_open(NULL, NULL), -EINVAL);
    CU_ASSERT_EQUAL(vmd_store_init(NULL, NULL), -EINVAL);
    CU_ASSERT_EQUAL(vmd_store_partitions(NULL), -EINVAL);
    CU_ASSERT_EQUAL(vmd_store_class_info(NULL, store), -EINVAL);
    CU_ASSERT_EQUAL(vmd_store_class_info(&ci, NULL), -EINVAL);
    CU_ASSERT_EQUAL(vmd_store_inspect(NULL, store, "vmd.store", VMD_FORMAT_PLAIN), -EINVAL);
    CU_ASSERT_EQUAL(vmd_store_inspect(stdout, NULL, "vmd.store", VMD_FORMAT_PLAIN), -EINVAL);
    CU_ASSERT_EQUAL(vmd_store_inspect(stdout, store, NULL, VMD_FORMAT_PLAIN), -EINVAL);
    CU_ASSERT_EQUAL(vmd_backup(&info, NULL, VM, path, NULL), -EINVAL);
    CU_ASSERT_EQUAL(vmd_backup(&info, store, NULL, path, NULL), -EINVAL);
    CU_ASSERT_EQUAL(vmd_backup(&info, store, VM, NULL, NULL), -EINVAL);
    CU_ASSERT_EQUAL(vmd_restore(NULL, VM, 1, path, NULL), -EINVAL);
    CU_ASSERT_EQUAL(vmd_restore(store, NULL, 1, path, NULL), -EINVAL);
    CU_ASSERT_EQUAL(vmd_restore(store, VM, 1, NULL, NULL), -EINVAL);
    CU_ASSERT_EQUAL(vmd_vm_list_new(NULL, store), -EINVAL);
    CU_ASSERT_EQUAL(vmd_vm_list_new(&vl, NULL), -EINVAL);
    CU_ASSERT_PTR_NULL(vl);
    CU_ASSERT_EQUAL(vmd_snap_list_new(&sl, store, NULL), -EINVAL);
    CU_ASSERT_PTR_NULL(sl);
    CU_ASSERT_EQUAL(vmd_snap_get(NULL, store, VM, 1), -EINVAL);
    CU_ASSERT_EQUAL(vmd_snap_get(&info, store, NULL, 1), -EINVAL);
    CU_ASSERT_EQUAL(vmd_check(&cr, store, NULL), -EINVAL);
    CU_ASSERT_PTR_NULL(cr);
    CU_ASSERT_EQUAL(vmd_cds_show(NULL, store), -EINVAL);
    CU_ASSERT_EQUAL(vmd_cds_show(&cds, NULL), -EINVAL);
    CU_ASSERT_EQUAL(vmd_cds_update(&ur, NULL, NULL), -EINVAL);
    CU_ASSERT_EQUAL(vmd_stats(NULL, store, NULL, NULL), -EINVAL);
    CU_ASSERT_EQUAL(vmd_stats(&st, NULL, NULL, NULL), -EINVAL);
    CU_ASSERT_PTR_NULL(st);
    /* Accessors and _free of NULL handles. */
    CU_ASSERT_EQUAL(vmd_vm_list_count(NULL), 0);
    CU_ASSERT_PTR_NULL(vmd_vm_list_get(NULL, 0));
    CU_ASSERT_EQUAL(vmd_snap_list_count(NULL), 0);
    CU_ASSERT_PTR_NULL(vmd_snap_list_get(NULL, 0));
    CU_ASSERT_EQUAL(vmd_check_report_orphan_count(NULL), 0);
    CU_ASSERT_PTR_NULL(vmd_check_report_orphan(NULL, 0));
    CU_ASSERT_PTR_NULL(vmd_stats_report_store(NULL));
    CU_ASSERT_PTR_NULL(vmd_stats_report_vm(NULL, 0));
    vmd_vm_list_free(NULL);
    vmd_snap_list_free(NULL);
    vmd_check_report_free(NULL);
    vmd_stats_report_free(NULL);
    vmd_store_close(NULL);
    vmd_store_opts_init(NULL);
}

/* Invalid values: bad VM ids, options out of range, names vmdedup does not use. */
static void test_invalid_values(void)
{
    vmd_snap_info info;
    vmd_init_opts io;
    vmd_stats_opts so;
    vmd_cds_update_opts uo;
    vmd_stats_report *st = NULL;
    vmd_check_report *cr = NULL;
    char path[128], long_vm[VMD_VM_ID_MAX + 2];
    FILE *devnull = fopen("/dev/null", "w");

    if (!store || !devnull) {
        if (devnull)
            fclose(devnull);
        return;
    }
    memset(long_vm, 'a', sizeof(long_vm) - 1);
    long_vm[sizeof(long_vm) - 1] = '\0';
    path_of(path, sizeof(path), "base.img");
    CU_ASSERT_EQUAL(vmd_backup(&info, store, "", path, NULL), -EINVAL);
    CU_ASSERT_EQUAL(vmd_backup(&info, store, long_vm, path, NULL), -EINVAL);
    CU_ASSERT_EQUAL(vmd_backup(&info, store, VM, "/dev/null", NULL), -EINVAL); /* not a file */
    CU_ASSERT_EQUAL(vmd_backup(&info, store, VM, dir, NULL), -EINVAL);         /* a directory */
    CU_ASSERT_EQUAL(vmd_snap_get(&info, store, "bad vm", 1), -EINVAL);
    CU_ASSERT_EQUAL(vmd_snap_get(&info, store, VM, 0), -ENOENT);
    CU_ASSERT_EQUAL(vmd_check(&cr, store, "bad/vm"), -EINVAL);
    CU_ASSERT_EQUAL(vmd_stats(&st, store, "no-such-vm", NULL), -ENOENT);
    CU_ASSERT_PTR_NULL(st);
    vmd_stats_opts_init(&so);
    so.osd_failure = 1.5;
    CU_ASSERT_EQUAL(vmd_stats(&st, store, NULL, &so), -EINVAL);
    vmd_cds_update_opts_init(&uo);
    uo.top_percent = 101;
    CU_ASSERT_EQUAL(vmd_cds_update(NULL, store, &uo), -EINVAL);
    vmd_init_opts_init(&io);
    io.partitions = 1000;
    CU_ASSERT_EQUAL(vmd_store_init(store, &io), -EINVAL);
    vmd_init_opts_init(&io);
    io.chunk_avg = 3000;
    CU_ASSERT_EQUAL(vmd_store_init(store, &io), -EINVAL);
    vmd_init_opts_init(&io);
    io.zstd_level = 20;
    CU_ASSERT_EQUAL(vmd_store_init(store, &io), -EINVAL);
    CU_ASSERT_EQUAL(vmd_store_init(store, NULL), -EEXIST);
    CU_ASSERT_EQUAL(vmd_store_inspect(devnull, store, "foo.bar", VMD_FORMAT_PLAIN), -EINVAL);
    CU_ASSERT_EQUAL(vmd_store_inspect(devnull, store, "r." VM ".00000099", VMD_FORMAT_PLAIN),
                    -ENOENT);
    CU_ASSERT_EQUAL(vmd_store_inspect(devnull, store, "vm.no-such-vm", VMD_FORMAT_JSON), -ENOENT);
    fclose(devnull);
}

/* A store whose namespace was never initialised: -ENOENT from everything but init. */
static void test_uninitialised(void)
{
    vmd_store_opts opts;
    vmd_store *s = NULL;
    vmd_snap_info info;
    vmd_class_info ci;
    vmd_cds_info cds;
    vmd_vm_list *vl = NULL;
    vmd_snap_list *sl = NULL;
    vmd_check_report *cr = NULL;
    vmd_stats_report *st = NULL;
    char ns[96], path[128];

    if (!store)
        return;
    snprintf(ns, sizeof(ns), "%s-uninit", nspace);
    vmd_store_opts_init(&opts);
    opts.conf = getenv("CEPH_CONF");
    opts.nspace = ns;
    opts.on_error = vmd_test_on_error;
    CU_ASSERT_EQUAL_FATAL(vmd_store_open(&s, &opts), 0);
    path_of(path, sizeof(path), "base.img");
    CU_ASSERT_EQUAL(vmd_store_partitions(s), -ENOENT);
    CU_ASSERT_EQUAL(vmd_store_class_info(&ci, s), -ENOENT);
    CU_ASSERT_EQUAL(vmd_backup(&info, s, VM, path, NULL), -ENOENT);
    CU_ASSERT(strstr(vmd_test_last_error, "not initialised") != NULL);
    CU_ASSERT_EQUAL(vmd_restore(s, VM, 1, path, NULL), -ENOENT);
    CU_ASSERT_EQUAL(vmd_vm_list_new(&vl, s), -ENOENT);
    CU_ASSERT_EQUAL(vmd_snap_list_new(&sl, s, VM), -ENOENT);
    CU_ASSERT_EQUAL(vmd_snap_get(&info, s, VM, 1), -ENOENT);
    CU_ASSERT_EQUAL(vmd_check(&cr, s, VM), -ENOENT);
    CU_ASSERT_EQUAL(vmd_cds_show(&cds, s), -ENOENT);
    CU_ASSERT_EQUAL(vmd_cds_update(NULL, s, NULL), -ENOENT);
    CU_ASSERT_EQUAL(vmd_stats(&st, s, NULL, NULL), -ENOENT);
    CU_ASSERT_EQUAL(vmd_store_inspect(stdout, s, "vmd.store", VMD_FORMAT_PLAIN), -ENOENT);
    vmd_store_close(s);
    opts.meta_pool = "no-such-pool.meta";
    s = (vmd_store *)1;
    CU_ASSERT_EQUAL(vmd_store_open(&s, &opts), -ENOENT);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT(strstr(vmd_test_last_error, "no-such-pool.meta") != NULL);
}

int main(void)
{
    static const vmd_test_case cases[] = {
        {"full backup, byte-exact restore", test_full_backup_restore},
        {"child without dirty map: levels 1 and 2", test_child_without_map},
        {"child with dirty map: clean segments not read", test_child_with_map},
        {"the first snapshot still restores", test_old_snapshot_still_restores},
        {"range restore", test_range_restore},
        {"listing VMs and snapshots", test_listing},
        {"unknown VM or snapshot: -ENOENT", test_unknown},
        {"concurrent backup of the same VM: -EBUSY", test_busy},
        {"bad dirty map: -EINVAL, catalog unchanged", test_bad_dirty_map},
        {"check reports what interrupted backups left", test_check},
        {"a backup after orphans takes the next number", test_next_backup_after_orphans},
        {"corrupted container byte: restore -EIO naming the object", test_corrupt_container},
        {"NULL arguments: -EINVAL", test_null_arguments},
        {"invalid values: -EINVAL, unknown objects: -ENOENT", test_invalid_values},
        {"a store not initialised: -ENOENT", test_uninitialised},
        {NULL, NULL},
    };
    int rc = vmd_test_main("backup_api", cases);
    cleanup();
    return rc;
}
