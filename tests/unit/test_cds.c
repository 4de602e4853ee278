/*
 * test_cds.c - the common data set without a cluster: the manifest codec, the
 * in-memory table (budget, memory accounting, lookups from several threads),
 * the merge of the partitions' popularity pages, the availability model and
 * the placement hash.
 *
 * Manifest: round trips, every corrupt field and truncation gives -EINVAL
 * (-EPROTO for a newer compat), order across blocks is enforced. Table:
 * vmd_cds_fit() never exceeds the budget, the memory it claims covers what
 * the process really gained, 4 threads find every entry and nothing else.
 * Merge: over random partitions, it yields exactly the global order with
 * tiny pages (many refills), honours min_vms, and refuses pages out of order.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report/avail.h"
#include "cds/cds.h"
#include "cds/cds_select.h"
#include "report/placement.h"
#include "util/u64set.h"
#include "vmd_test.h"
#include "format/cds_manifest.h"

static vmd_cds_header good_header(uint64_t count)
{
    vmd_cds_header h;

    memset(&h, 0, sizeof(h));
    h.version = h.compat = 1;
    h.cds_version = 7;
    h.count = count;
    h.bytes = count * 4096;
    h.time = 1763769600;
    h.threshold = count ? 3 : 0;
    h.entry_size = VMD_CDS_ENTRY_SIZE;
    h.next_id = 100;
    return h;
}

/* Entry i of a valid manifest: vm_count descending in steps, fp ascending within. */
static vmd_cds_entry entry(uint32_t i)
{
    vmd_cds_entry e;

    uint64_t x = i + 1;
    int b;

    memset(&e, 0, sizeof(e));
    e.vm_count = 1000 - i / 10;
    for (b = 0; b < 32; b++) { /* SHA-256-like bytes (splitmix64 of i) */
        if (b % 8 == 0) {
            x += 0x9e3779b97f4a7c15ull;
            x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
            x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
            x ^= x >> 31;
        }
        e.fp[b] = (uint8_t)(x >> (8 * (b % 8)));
    }
    e.fp[0] = (uint8_t)(i % 10); /* ascending within one popularity */
    e.ctr = 1 + i % 99;
    e.slot = i;
    e.raw_len = 4096;
    return e;
}

static void test_header(void)
{
    vmd_cds_header h = good_header(3), d;
    uint8_t buf[VMD_CDS_HEADER_SIZE], bad[VMD_CDS_HEADER_SIZE];
    uint64_t size = VMD_CDS_HEADER_SIZE + 3 * VMD_CDS_ENTRY_SIZE;
    char oid[VMD_CDS_OID_SIZE];

    vmd_cds_oid(oid, 42);
    CU_ASSERT_STRING_EQUAL(oid, "cds.00000042");
    vmd_cds_header_encode(&h, buf);
    CU_ASSERT_EQUAL(memcmp(buf, "VMDS", 4), 0);
    CU_ASSERT_EQUAL(vmd_cds_header_decode(&d, buf, size), 0);
    CU_ASSERT_EQUAL(d.cds_version, 7);
    CU_ASSERT_EQUAL(d.count, 3);
    CU_ASSERT_EQUAL(d.time, 1763769600);
    CU_ASSERT_EQUAL(d.next_id, 100);
    CU_ASSERT_EQUAL(vmd_cds_header_decode(&d, buf, UINT64_MAX), 0);
    CU_ASSERT_EQUAL(vmd_cds_header_decode(&d, buf, size + 1), -EINVAL);
    /* each field broken alone */
    memcpy(bad, buf, sizeof(bad));
    bad[0] = 'X';
    CU_ASSERT_EQUAL(vmd_cds_header_decode(&d, bad, size), -EINVAL);
    memcpy(bad, buf, sizeof(bad));
    bad[4] = 2, bad[5] = 2; /* a newer, incompatible version */
    CU_ASSERT_EQUAL(vmd_cds_header_decode(&d, bad, size), -EPROTO);
    bad[4] = 1, bad[5] = 2; /* compat above version */
    CU_ASSERT_EQUAL(vmd_cds_header_decode(&d, bad, size), -EINVAL);
    memcpy(bad, buf, sizeof(bad));
    bad[6] = 1; /* flags */
    CU_ASSERT_EQUAL(vmd_cds_header_decode(&d, bad, size), -EINVAL);
    memcpy(bad, buf, sizeof(bad));
    bad[60] = 1; /* reserved */
    CU_ASSERT_EQUAL(vmd_cds_header_decode(&d, bad, size), -EINVAL);
    h = good_header(3), h.cds_version = 0;
    vmd_cds_header_encode(&h, bad);
    CU_ASSERT_EQUAL(vmd_cds_header_decode(&d, bad, size), -EINVAL);
    h = good_header(3), h.entry_size = 51;
    vmd_cds_header_encode(&h, bad);
    CU_ASSERT_EQUAL(vmd_cds_header_decode(&d, bad, UINT64_MAX), -EINVAL);
    h = good_header(3), h.bytes = 2; /* fewer bytes than entries */
    vmd_cds_header_encode(&h, bad);
    CU_ASSERT_EQUAL(vmd_cds_header_decode(&d, bad, size), -EINVAL);
    h = good_header(3), h.threshold = 0;
    vmd_cds_header_encode(&h, bad);
    CU_ASSERT_EQUAL(vmd_cds_header_decode(&d, bad, size), -EINVAL);
    h = good_header(3), h.next_id = 1;
    vmd_cds_header_encode(&h, bad);
    CU_ASSERT_EQUAL(vmd_cds_header_decode(&d, bad, size), -EINVAL);
    h = good_header(0), h.bytes = 0; /* an empty manifest is valid */
    vmd_cds_header_encode(&h, bad);
    CU_ASSERT_EQUAL(vmd_cds_header_decode(&d, bad, VMD_CDS_HEADER_SIZE), 0);
    h = good_header(VMD_CDS_MAX_ENTRIES + 1ull);
    vmd_cds_header_encode(&h, bad);
    CU_ASSERT_EQUAL(vmd_cds_header_decode(&d, bad, UINT64_MAX), -EINVAL);
}

static void test_entries(void)
{
    enum { N = 50 };
    vmd_cds_header h = good_header(N);
    vmd_cds_entry in[N], out[N], prev, e;
    uint8_t buf[N * VMD_CDS_ENTRY_SIZE], bad[N * VMD_CDS_ENTRY_SIZE];
    size_t i;

    for (i = 0; i < N; i++) {
        in[i] = entry((uint32_t)i);
        vmd_cds_entry_encode(&in[i], buf + i * VMD_CDS_ENTRY_SIZE);
        CU_ASSERT(i == 0 || vmd_cds_entry_order(&in[i - 1], &in[i]) < 0);
    }
    memset(&prev, 0, sizeof(prev));
    CU_ASSERT_EQUAL(vmd_cds_entries_decode(out, buf, sizeof(buf), N, &h, &prev), 0);
    for (i = 0; i < N; i++) {
        vmd_cds_entry_encode(&out[i], bad);
        CU_ASSERT_EQUAL(memcmp(bad, buf + i * VMD_CDS_ENTRY_SIZE, VMD_CDS_ENTRY_SIZE), 0);
    }
    /* in two blocks: the second continues the order of the first */
    memset(&prev, 0, sizeof(prev));
    CU_ASSERT_EQUAL(vmd_cds_entries_decode(out, buf, 20 * VMD_CDS_ENTRY_SIZE, 20, &h, &prev), 0);
    CU_ASSERT_EQUAL(vmd_cds_entries_decode(out, buf + 20 * VMD_CDS_ENTRY_SIZE,
                                           30 * VMD_CDS_ENTRY_SIZE, 30, &h, &prev),
                    0);
    /* the same block twice is out of order */
    CU_ASSERT_EQUAL(vmd_cds_entries_decode(out, buf + 20 * VMD_CDS_ENTRY_SIZE,
                                           30 * VMD_CDS_ENTRY_SIZE, 30, &h, &prev),
                    -EINVAL);
    /* every truncation */
    for (i = 0; i < sizeof(buf); i += 7) {
        memset(&prev, 0, sizeof(prev));
        CU_ASSERT_EQUAL(vmd_cds_entries_decode(out, buf, i, N, &h, &prev), -EINVAL);
    }
    /* bad fields */
    e = entry(0);
    e.ctr = 0;
    CU_ASSERT_EQUAL(vmd_cds_entry_check(&e, &h), -EINVAL);
    e.ctr = 100; /* not below next_id */
    CU_ASSERT_EQUAL(vmd_cds_entry_check(&e, &h), -EINVAL);
    e = entry(0), e.raw_len = 0;
    CU_ASSERT_EQUAL(vmd_cds_entry_check(&e, &h), -EINVAL);
    e.raw_len = VMD_CDS_CHUNK_MAX + 1;
    CU_ASSERT_EQUAL(vmd_cds_entry_check(&e, &h), -EINVAL);
    e = entry(0), e.vm_count = 0;
    CU_ASSERT_EQUAL(vmd_cds_entry_check(&e, &h), -EINVAL);
    /* a duplicate fingerprint at the same popularity, and a swap, are out of order */
    memcpy(bad, buf, sizeof(bad));
    memcpy(bad + VMD_CDS_ENTRY_SIZE, bad, VMD_CDS_ENTRY_SIZE);
    memset(&prev, 0, sizeof(prev));
    CU_ASSERT_EQUAL(vmd_cds_entries_decode(out, bad, sizeof(bad), N, &h, &prev), -EINVAL);
    memcpy(bad, buf + VMD_CDS_ENTRY_SIZE, VMD_CDS_ENTRY_SIZE);
    memcpy(bad + VMD_CDS_ENTRY_SIZE, buf, VMD_CDS_ENTRY_SIZE);
    memset(&prev, 0, sizeof(prev));
    CU_ASSERT_EQUAL(vmd_cds_entries_decode(out, bad, sizeof(bad), N, &h, &prev), -EINVAL);
    /* a longer entry_size (a later version): the first 52 bytes are read */
    h.entry_size = 60;
    {
        uint8_t wide[3 * 60];
        memset(wide, 0xee, sizeof(wide));
        for (i = 0; i < 3; i++)
            vmd_cds_entry_encode(&in[i], wide + i * 60);
        memset(&prev, 0, sizeof(prev));
        CU_ASSERT_EQUAL(vmd_cds_entries_decode(out, wide, sizeof(wide), 3, &h, &prev), 0);
        for (i = 0; i < 3; i++)
            CU_ASSERT(out[i].vm_count == in[i].vm_count && out[i].slot == in[i].slot &&
                      !memcmp(out[i].fp, in[i].fp, 32));
    }
}

/* ---- the table ---- */

static void test_fit(void)
{
    uint64_t b, n;

    CU_ASSERT_EQUAL(vmd_cds_fit(0), 0);
    CU_ASSERT_EQUAL(vmd_cds_fit(VMD_CDS_TABLE_OVERHEAD), 0);
    for (b = 1024; b < (64ull << 20); b = b * 3 / 2 + 17) {
        n = vmd_cds_fit(b);
        CU_ASSERT(vmd_cds_mem_for(n) <= b || n == 0);
        CU_ASSERT(vmd_cds_mem_for(n + 1) > b);
    }
    /* the default budget holds about 100,000 chunks */
    n = vmd_cds_fit(8u << 20);
    CU_ASSERT(n > 95000 && n < 120000);
    printf("\n    8 MiB budget: %llu entries, %.1f bytes per entry ", (unsigned long long)n,
           (double)vmd_cds_mem_for(n) / (double)n);
}

/* Resident memory of the process, bytes (VmRSS). */
static uint64_t rss(void)
{
    char line[128];
    unsigned long long kb = 0;
    FILE *f = fopen("/proc/self/status", "r");

    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb * 1024;
}

static void test_table_basic(void)
{
    vmd_cds *c;
    vmd_cds_entry e = entry(5);
    vmd_cds_loc loc;

    CU_ASSERT_EQUAL(vmd_cds_new(&c, 3, VMD_CDS_MAX_ENTRIES + 1ull), -EINVAL);
    CU_ASSERT_EQUAL_FATAL(vmd_cds_new(&c, 3, 2), 0);
    CU_ASSERT_EQUAL(vmd_cds_version(c), 3);
    CU_ASSERT_EQUAL(vmd_cds_find(c, e.fp, &loc), 0);
    CU_ASSERT_EQUAL(vmd_cds_add(c, &e), 0);
    CU_ASSERT_EQUAL(vmd_cds_add(c, &e), -EEXIST);
    vmd_cds_thread_online();
    vmd_cds_thread_online(); /* nests */
    CU_ASSERT_EQUAL(vmd_cds_find(c, e.fp, &loc), 1);
    CU_ASSERT_EQUAL(loc.ctr, e.ctr);
    CU_ASSERT_EQUAL(loc.slot, e.slot);
    CU_ASSERT_EQUAL(loc.raw_len, e.raw_len);
    vmd_cds_thread_offline();
    vmd_cds_thread_offline();
    e = entry(6);
    CU_ASSERT_EQUAL(vmd_cds_add(c, &e), 0);
    e = entry(7);
    CU_ASSERT_EQUAL(vmd_cds_add(c, &e), -ENOSPC);
    CU_ASSERT_EQUAL(vmd_cds_count(c), 2);
    CU_ASSERT_EQUAL(vmd_cds_mem(c), vmd_cds_mem_for(2));
    vmd_cds_free(c);
    vmd_cds_free(NULL);
    /* an empty table (no CDS published) */
    CU_ASSERT_EQUAL_FATAL(vmd_cds_new(&c, 0, 0), 0);
    CU_ASSERT_EQUAL(vmd_cds_find(c, e.fp, &loc), 0);
    CU_ASSERT(vmd_cds_mem(c) < 128);
    vmd_cds_free(c);
}

typedef struct reader_arg {
    const vmd_cds *c;
    uint32_t n;
    int bad;
    int t;
} reader_arg;

static void *reader_main(void *p)
{
    reader_arg *a = p;
    vmd_cds_loc loc;
    uint32_t i, r;

    vmd_cds_thread_online();
    for (r = 0; r < 3; r++)
        for (i = 0; i < a->n; i++) {
            uint32_t k = (i * 7919u + (uint32_t)a->t * 104729u) % a->n;
            vmd_cds_entry e = entry(k);
            if (vmd_cds_find(a->c, e.fp, &loc) != 1 || loc.slot != k || loc.ctr != e.ctr)
                a->bad++;
            e.fp[15] ^= 0x5a; /* not in the table */
            if (vmd_cds_find(a->c, e.fp, &loc) != 0)
                a->bad++;
        }
    vmd_cds_thread_offline();
    return NULL;
}

/* 1 when built with AddressSanitizer (gcc and clang spell it differently). */
static int under_sanitizer(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return 1;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return 1;
#endif
#endif
    return 0;
}

static void test_table_threads_budget(void)
{
    const uint64_t budget = 4u << 20;
    uint64_t n = vmd_cds_fit(budget), before, grown, i;
    pthread_t t[4];
    reader_arg a[4];
    struct timespec t0, t1;
    vmd_cds *c;
    int k;

    before = rss();
    CU_ASSERT_EQUAL_FATAL(vmd_cds_new(&c, 1, n), 0);
    for (i = 0; i < n; i++) {
        vmd_cds_entry e = entry((uint32_t)i);
        CU_ASSERT_EQUAL(vmd_cds_add(c, &e), 0);
    }
    grown = rss() - before;
    CU_ASSERT(vmd_cds_mem(c) <= budget);
    /* honest accounting: what the process gained is within what the table claims
       (checked with the real allocator, in the plain build; not under valgrind or
       AddressSanitizer, whose allocators add their own redzones to every block) */
    if (!under_sanitizer() && (!getenv("LD_PRELOAD") || !strstr(getenv("LD_PRELOAD"), "vgpreload")))
        CU_ASSERT(grown <= vmd_cds_mem(c) + (256u << 10));
    printf("\n    %llu entries in %llu bytes claimed, RSS grew %llu ", (unsigned long long)n,
           (unsigned long long)vmd_cds_mem(c), (unsigned long long)grown);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (k = 0; k < 4; k++) {
        a[k] = (reader_arg){c, (uint32_t)n, 0, k};
        pthread_create(&t[k], NULL, reader_main, &a[k]);
    }
    for (k = 0; k < 4; k++) {
        pthread_join(t[k], NULL);
        CU_ASSERT_EQUAL(a[k].bad, 0);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("(4 threads on %ld cores: %.0f ns of wall time per lookup) ",
           sysconf(_SC_NPROCESSORS_ONLN),
           ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) /
               (4.0 * 3 * 2 * (double)n));
    vmd_cds_free(c);
}

/* ---- the merge ---- */

typedef struct fake_index {
    size_t nparts;
    vmd_sel_item **parts; /* each sorted in idx_top order */
    size_t *n;
    int corrupt; /* 1: answer one page out of order */
    uint64_t calls;
} fake_index;

static int item_order(const void *a, const void *b)
{
    const vmd_sel_item *x = a, *y = b;
    return vmd_idx_top_order(x->vm_count, &x->fp, y->vm_count, &y->fp);
}

static int fake_fetch(void *arg, vmd_sel_fetch *f, size_t n)
{
    fake_index *ix = arg;
    size_t i, k, start;

    ix->calls++;
    for (i = 0; i < n; i++) {
        const vmd_sel_item *p = ix->parts[f[i].partition];
        size_t np = ix->n[f[i].partition];
        vmd_idx_top_reply *r = &f[i].reply;

        memset(r, 0, sizeof(*r));
        f[i].rc = 0;
        for (start = 0; f[i].has_cursor && start < np; start++)
            if (vmd_idx_top_order(f[i].cursor_vm_count, &f[i].cursor_fp, p[start].vm_count,
                                  &p[start].fp) < 0)
                break;
        r->items = calloc(f[i].max, sizeof(*r->items));
        for (k = start; k < np && r->count < f[i].max; k++) {
            vmd_idx_top_item *t;
            if (p[k].vm_count < f[i].min_vms)
                break;
            t = &r->items[r->count++];
            t->fp = p[k].fp;
            t->e.vm_count = p[k].vm_count;
            t->e.chunk_len = p[k].chunk_len;
            t->e.home = p[k].home;
            snprintf(t->e.home_vm, sizeof(t->e.home_vm), "vm%u", p[k].home.slot % 5);
        }
        r->more = k < np && p[k].vm_count >= f[i].min_vms;
        if (ix->corrupt && r->count >= 2) {
            vmd_idx_top_item tmp = r->items[0];
            r->items[0] = r->items[1];
            r->items[1] = tmp;
        }
    }
    return 0;
}

static void fake_build(fake_index *ix, size_t nparts, size_t per, unsigned seed)
{
    size_t p, i;

    memset(ix, 0, sizeof(*ix));
    ix->nparts = nparts;
    ix->parts = calloc(nparts, sizeof(*ix->parts));
    ix->n = calloc(nparts, sizeof(*ix->n));
    srand(seed);
    for (p = 0; p < nparts; p++) {
        ix->n[p] = (size_t)rand() % (per + 1);
        ix->parts[p] = calloc(ix->n[p] ? ix->n[p] : 1, sizeof(vmd_sel_item));
        for (i = 0; i < ix->n[p]; i++) {
            vmd_sel_item *e = &ix->parts[p][i];
            int b;
            for (b = 0; b < 32; b++)
                e->fp.b[b] = (uint8_t)rand();
            e->fp.b[0] = (uint8_t)p; /* partition = first byte, as with 8 bits */
            e->vm_count = 1 + (uint32_t)(rand() % 6);
            e->chunk_len = 4096;
            e->home.id = 1ull << 24;
            e->home.slot = (uint32_t)i;
        }
        qsort(ix->parts[p], ix->n[p], sizeof(vmd_sel_item), item_order);
    }
}

static void fake_free(fake_index *ix)
{
    size_t p;

    for (p = 0; p < ix->nparts; p++)
        free(ix->parts[p]);
    free(ix->parts);
    free(ix->n);
}

static void test_merge_order(void)
{
    fake_index ix;
    vmd_sel *m;
    vmd_sel_item it, last;
    size_t total = 0, want = 0, p, i;
    int rc, have = 0, bad = 0;

    fake_build(&ix, 64, 40, 7);
    for (p = 0; p < ix.nparts; p++)
        for (i = 0; i < ix.n[p]; i++)
            want += ix.parts[p][i].vm_count >= 2;
    /* tiny buffers: 4 entries per partition, many refills */
    CU_ASSERT_EQUAL_FATAL(vmd_sel_new(&m, ix.nparts, 2, 1, fake_fetch, &ix), 0);
    CU_ASSERT_EQUAL(vmd_sel_page(m), 4);
    while ((rc = vmd_sel_next(m, &it)) == 1) {
        if (it.vm_count < 2)
            bad++;
        if (have && vmd_idx_top_order(last.vm_count, &last.fp, it.vm_count, &it.fp) >= 0)
            bad++;
        if (strncmp(vmd_sel_vm(m, it.vm), "vm", 2) != 0)
            bad++;
        last = it;
        have = 1;
        total++;
    }
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(total, want);
    CU_ASSERT(vmd_sel_fetches(m) > ix.nparts); /* refills happened */
    vmd_sel_free(m);
    fake_free(&ix);
}

static void test_merge_corrupt(void)
{
    fake_index ix;
    vmd_sel *m;
    vmd_sel_item it;
    int rc;

    CU_ASSERT_EQUAL(vmd_sel_new(&m, 0, 2, 1024, fake_fetch, NULL), -EINVAL);
    fake_build(&ix, 4, 30, 11);
    ix.corrupt = 1;
    CU_ASSERT_EQUAL_FATAL(vmd_sel_new(&m, ix.nparts, 1, 1, fake_fetch, &ix), 0);
    while ((rc = vmd_sel_next(m, &it)) == 1)
        ;
    CU_ASSERT_EQUAL(rc, -EPROTO);
    vmd_sel_free(m);
    fake_free(&ix);
}

/* ---- availability, placement hash, id sets ---- */

static vmd_osdset set2(int a, int b)
{
    vmd_osdset s = {2, {a, b}};
    return s;
}

static void test_avail(void)
{
    double f[2] = {0.01, 0.1}, p[2];
    vmd_osdset s[3] = {set2(0, 1), set2(1, 2), set2(0, 1)};
    vmd_osdset big[30];
    int exact, i;
    uint32_t n;

    CU_ASSERT_EQUAL(vmd_avail_compute(s, 0, f, 2, p, &exact, &n), 0);
    CU_ASSERT_DOUBLE_EQUAL(p[0], 1, 1e-12);
    /* one pair: 1 - f^2 */
    CU_ASSERT_EQUAL(vmd_avail_compute(s, 1, f, 2, p, &exact, &n), 0);
    CU_ASSERT_DOUBLE_EQUAL(p[1], 1 - 0.01, 1e-12);
    CU_ASSERT_EQUAL(exact, 1);
    CU_ASSERT_EQUAL(n, 2);
    /* {0,1} and {1,2} (and a duplicate): lost if 1 fails with 0 or 2:
       P = 1 - [f^2(1-f) * 2 + f^3] */
    CU_ASSERT_EQUAL(vmd_avail_compute(s, 3, f, 2, p, &exact, &n), 0);
    CU_ASSERT_DOUBLE_EQUAL(p[1], 1 - (2 * 0.01 * 0.9 + 0.001), 1e-12);
    CU_ASSERT_EQUAL(n, 3);
    /* more OSDs than the exact limit: the FKG product, below the truth */
    for (i = 0; i < 30; i++)
        big[i] = set2(i, (i + 1) % 30);
    CU_ASSERT_EQUAL(vmd_avail_compute(big, 30, f, 2, p, &exact, &n), 0);
    CU_ASSERT_EQUAL(exact, 0);
    CU_ASSERT_EQUAL(n, 30);
    CU_ASSERT_DOUBLE_EQUAL(p[1], 0.74 /* (1 - 0.01)^30 */, 0.001);
    /* an object no OSD holds is never restorable */
    big[0].n = 0;
    CU_ASSERT_EQUAL(vmd_avail_compute(big, 2, f, 2, p, &exact, &n), 0);
    CU_ASSERT_DOUBLE_EQUAL(p[0], 0, 1e-12);
}

static void test_hash_and_sets(void)
{
    const char *ns = "t1\037c.vm1.0000000001000000";
    vmd_u64set s;
    uint64_t *v = NULL, i;

    /* raw hashes the monitor reported for these names ("osd map ... raw_pgid") */
    CU_ASSERT_EQUAL(vmd_place_hash("foo", 3), 0x7fc1f406u);
    CU_ASSERT_EQUAL(vmd_place_hash(ns, strlen(ns)), 0xa9c1a6a0u);
    vmd_u64set_init(&s);
    for (i = 0; i < 1000; i++)
        CU_ASSERT_EQUAL(vmd_u64set_add(&s, (i * 37) % 500), i < 500 ? 1 : 0);
    CU_ASSERT_EQUAL(s.n, 500);
    CU_ASSERT(vmd_u64set_has(&s, 0));
    CU_ASSERT(!vmd_u64set_has(&s, 500));
    CU_ASSERT_EQUAL(vmd_u64set_sorted(&s, &v), 0);
    for (i = 0; v && i < 500; i++)
        CU_ASSERT_EQUAL(v[i], i);
    free(v);
    vmd_u64set_free(&s);
}

int main(void)
{
    static const vmd_test_case cases[] = {
        {"manifest header: round trip and each corrupt field", test_header},
        {"manifest entries: blocks, order, truncation, bad fields", test_entries},
        {"table: budget fit never exceeds the budget", test_fit},
        {"table: add, find, full, duplicate, empty", test_table_basic},
        {"table: budget honoured, 4 reader threads", test_table_threads_budget},
        {"merge: global order with tiny pages, min_vms", test_merge_order},
        {"merge: a page out of order is refused", test_merge_corrupt},
        {"availability: exact and FKG bound", test_avail},
        {"placement hash and id sets", test_hash_and_sets},
        {NULL, NULL},
    };
    return vmd_test_main("cds", cases);
}
