/*
 * test_recipe.c - the recipe codec, the min-hash similarity index and the ordered queue.
 *
 * Recipe: every structure round-trips; every truncation of a record fails;
 * each corrupt field gives its exact errno. Similarity: the best segments
 * are the ones sharing most signature values, ties to the nearest. Ordered
 * queue: results come back in order with several producers, the window
 * bounds what is claimed, and stop wakes everyone.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "backup/oqueue.h"
#include "dedup/similar.h"
#include "vmd_test.h"
#include "format/recipe.h"

#define MIB (1024u * 1024u)

static vmd_rcp_header good_header(void)
{
    vmd_rcp_header h;

    memset(&h, 0, sizeof(h));
    h.version = h.compat = 1;
    h.flags = VMD_RCP_F_COMPLETE;
    h.snap = 3;
    h.parent = 2;
    h.disk_size = 5 * MIB + 123; /* 3 segments, the last 1 MiB + 123 */
    h.nsegs = 3;
    h.end = vmd_rcp_records_off(3) + vmd_rcp_record_size(2);
    strcpy(h.vm, "vm-42");
    return h;
}

static void test_sizes(void)
{
    CU_ASSERT_EQUAL(vmd_rcp_nsegs(1), 1);
    CU_ASSERT_EQUAL(vmd_rcp_nsegs(2 * MIB), 1);
    CU_ASSERT_EQUAL(vmd_rcp_nsegs(2 * MIB + 1), 2);
    CU_ASSERT_EQUAL(vmd_rcp_seg_len(5 * MIB + 123, 0), 2 * MIB);
    CU_ASSERT_EQUAL(vmd_rcp_seg_len(5 * MIB + 123, 2), MIB + 123);
    CU_ASSERT_EQUAL(vmd_rcp_seg_len(5 * MIB + 123, 3), 0);
    CU_ASSERT_EQUAL(vmd_rcp_seg_len(5 * MIB, UINT64_MAX), 0);
    CU_ASSERT_EQUAL(vmd_rcp_records_off(3), 128 + 3 * 56);
    CU_ASSERT_EQUAL(vmd_rcp_record_size(2), 12 + 2 * 49);
}

static void test_header_round_trip(void)
{
    vmd_rcp_header h = good_header(), d;
    uint8_t buf[VMD_RCP_HEADER_SIZE];

    vmd_rcp_header_encode(&h, buf);
    CU_ASSERT_EQUAL(memcmp(buf, "VMDR", 4), 0);
    CU_ASSERT_EQUAL(vmd_rcp_header_decode(&d, buf, h.end), 0);
    CU_ASSERT_EQUAL(d.snap, 3);
    CU_ASSERT_EQUAL(d.parent, 2);
    CU_ASSERT_EQUAL(d.disk_size, h.disk_size);
    CU_ASSERT_EQUAL(d.nsegs, 3);
    CU_ASSERT_EQUAL(d.end, h.end);
    CU_ASSERT_STRING_EQUAL(d.vm, "vm-42");
    CU_ASSERT_EQUAL(vmd_rcp_header_decode(&d, buf, UINT64_MAX), 0);
    /* an incomplete header has end 0 */
    h.flags = 0;
    h.end = 0;
    vmd_rcp_header_encode(&h, buf);
    CU_ASSERT_EQUAL(vmd_rcp_header_decode(&d, buf, 999), 0);
}

/* Decodes the good header with byte `at` replaced by v. */
static int header_with(size_t at, uint8_t v)
{
    vmd_rcp_header h = good_header(), d;
    uint8_t buf[VMD_RCP_HEADER_SIZE];

    vmd_rcp_header_encode(&h, buf);
    buf[at] = v;
    return vmd_rcp_header_decode(&d, buf, h.end);
}

static void test_header_corrupt(void)
{
    vmd_rcp_header h = good_header(), d;
    uint8_t buf[VMD_RCP_HEADER_SIZE];

    CU_ASSERT_EQUAL(header_with(0, 'X'), -EINVAL);  /* magic */
    CU_ASSERT_EQUAL(header_with(4, 0), -EINVAL);    /* version 0 */
    CU_ASSERT_EQUAL(header_with(5, 0), -EINVAL);    /* compat 0 */
    CU_ASSERT_EQUAL(header_with(4, 2), 0);          /* a newer, compatible writer */
    CU_ASSERT_EQUAL(header_with(6, 2), -EINVAL);    /* unknown flag */
    CU_ASSERT_EQUAL(header_with(8, 0), -EINVAL);    /* snap 0 */
    CU_ASSERT_EQUAL(header_with(12, 3), -EINVAL);   /* parent == snap */
    CU_ASSERT_EQUAL(header_with(24, 4), -EINVAL);   /* nsegs wrong */
    CU_ASSERT_EQUAL(header_with(32, 0), -EINVAL);   /* end != object size */
    CU_ASSERT_EQUAL(header_with(40, 1), -EINVAL);   /* reserved */
    CU_ASSERT_EQUAL(header_with(48, 0), -EINVAL);   /* empty vm */
    CU_ASSERT_EQUAL(header_with(48, 65), -EINVAL);  /* vm too long */
    CU_ASSERT_EQUAL(header_with(50, '/'), -EINVAL); /* bad vm character */
    CU_ASSERT_EQUAL(header_with(60, 'x'), -EINVAL); /* vm padding */
    CU_ASSERT_EQUAL(header_with(127, 1), -EINVAL);  /* reserved tail */
    /* compat above what this reader knows: -EPROTO */
    vmd_rcp_header_encode(&h, buf);
    buf[4] = 2;
    buf[5] = 2;
    CU_ASSERT_EQUAL(vmd_rcp_header_decode(&d, buf, h.end), -EPROTO);
    /* disk size 0 or above 64 TiB */
    h.disk_size = 0;
    h.nsegs = 0;
    vmd_rcp_header_encode(&h, buf);
    CU_ASSERT_EQUAL(vmd_rcp_header_decode(&d, buf, UINT64_MAX), -EINVAL);
    h = good_header();
    h.disk_size = VMD_RCP_DISK_MAX + 1;
    h.nsegs = vmd_rcp_nsegs(h.disk_size);
    vmd_rcp_header_encode(&h, buf);
    CU_ASSERT_EQUAL(vmd_rcp_header_decode(&d, buf, UINT64_MAX), -EINVAL);
    /* complete with end before the records */
    h = good_header();
    h.end = 100;
    vmd_rcp_header_encode(&h, buf);
    CU_ASSERT_EQUAL(vmd_rcp_header_decode(&d, buf, UINT64_MAX), -EINVAL);
    /* incomplete with an end */
    h = good_header();
    h.flags = 0;
    vmd_rcp_header_encode(&h, buf);
    CU_ASSERT_EQUAL(vmd_rcp_header_decode(&d, buf, UINT64_MAX), -EINVAL);
}

static vmd_rcp_entry chunks_entry(void)
{
    vmd_rcp_entry e = {VMD_RCP_CHUNKS, 3, 0, 2, {1, 2, 3, UINT64_MAX}};

    e.offset = vmd_rcp_records_off(3);
    return e;
}

static int entry_rt(const vmd_rcp_entry *e, vmd_rcp_entry *d)
{
    vmd_rcp_header h = good_header();
    uint8_t buf[VMD_RCP_ENTRY_SIZE];

    vmd_rcp_entry_encode(e, buf);
    return vmd_rcp_entry_decode(d, &h, buf);
}

static void test_entries(void)
{
    vmd_rcp_entry e = chunks_entry(), d;
    vmd_rcp_entry zero = {VMD_RCP_ZERO, 0, 0, 0, {UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX}};
    vmd_rcp_entry same = {VMD_RCP_SAME, 1, 5000, 7, {9, 10, 11, 12}};
    vmd_rcp_header h = good_header();
    uint8_t buf[VMD_RCP_ENTRY_SIZE];

    CU_ASSERT_EQUAL(entry_rt(&e, &d), 0);
    CU_ASSERT(d.kind == e.kind && d.holder == e.holder && d.offset == e.offset &&
              d.nchunks == e.nchunks && memcmp(d.sig, e.sig, sizeof(e.sig)) == 0);
    CU_ASSERT_EQUAL(entry_rt(&zero, &d), 0);
    CU_ASSERT_EQUAL(entry_rt(&same, &d), 0);
    CU_ASSERT_EQUAL(d.holder, 1);
    CU_ASSERT_EQUAL(d.offset, 5000);
    /* corrupt fields */
    d = e, d.kind = 3;
    CU_ASSERT_EQUAL(entry_rt(&d, &d), -EINVAL);
    d = e, d.holder = 2; /* CHUNKS must be held by this snapshot */
    CU_ASSERT_EQUAL(entry_rt(&d, &d), -EINVAL);
    d = e, d.offset = 128; /* inside the table */
    CU_ASSERT_EQUAL(entry_rt(&d, &d), -EINVAL);
    d = e, d.nchunks = 3; /* record runs past end */
    CU_ASSERT_EQUAL(entry_rt(&d, &d), -EINVAL);
    d = e, d.nchunks = 0;
    CU_ASSERT_EQUAL(entry_rt(&d, &d), -EINVAL);
    d = e, d.sig[0] = 5; /* not ascending */
    CU_ASSERT_EQUAL(entry_rt(&d, &d), -EINVAL);
    d = same, d.holder = 3; /* SAME must point to an older snapshot */
    CU_ASSERT_EQUAL(entry_rt(&d, &d), -EINVAL);
    d = same, d.holder = 0;
    CU_ASSERT_EQUAL(entry_rt(&d, &d), -EINVAL);
    d = same, d.nchunks = VMD_RCP_MAX_CHUNKS + 1;
    CU_ASSERT_EQUAL(entry_rt(&d, &d), -EINVAL);
    d = zero, d.nchunks = 1;
    CU_ASSERT_EQUAL(entry_rt(&d, &d), -EINVAL);
    d = zero, d.sig[3] = 7;
    CU_ASSERT_EQUAL(entry_rt(&d, &d), -EINVAL);
    /* reserved bytes */
    vmd_rcp_entry_encode(&e, buf);
    buf[2] = 1;
    CU_ASSERT_EQUAL(vmd_rcp_entry_decode(&d, &h, buf), -EINVAL);
    vmd_rcp_entry_encode(&e, buf);
    buf[21] = 1;
    CU_ASSERT_EQUAL(vmd_rcp_entry_decode(&d, &h, buf), -EINVAL);
}

static void two_refs(vmd_rcp_ref *r)
{
    memset(r, 0, 2 * sizeof(*r));
    memset(r[0].fp, 0xab, 32);
    r[0].ctr = (2ull << 24) | 5;
    r[0].slot = 17;
    r[0].raw_len = 1 * MIB;
    r[1].flags = VMD_RCP_REF_ZERO;
    r[1].raw_len = 123;
}

static void test_record_round_trip(void)
{
    vmd_rcp_ref r[2], d[2];
    uint8_t buf[12 + 2 * 49];
    size_t cut;

    two_refs(r);
    vmd_rcp_record_encode(buf, 2, r, 2);
    CU_ASSERT_EQUAL(vmd_rcp_record_decode(d, buf, sizeof(buf), 2, 2, 3, MIB + 123), 0);
    CU_ASSERT_EQUAL(memcmp(d[0].fp, r[0].fp, 32), 0);
    CU_ASSERT_EQUAL(d[0].ctr, r[0].ctr);
    CU_ASSERT_EQUAL(d[0].slot, 17);
    CU_ASSERT_EQUAL(d[1].flags, VMD_RCP_REF_ZERO);
    for (cut = 0; cut < sizeof(buf); cut++)
        CU_ASSERT_EQUAL(vmd_rcp_record_decode(d, buf, cut, 2, 2, 3, MIB + 123), -EINVAL);
}

/* Decodes the two-ref record after fn changed a ref. */
static int record_with(void (*fn)(vmd_rcp_ref *r), uint64_t seg, uint32_t holder, uint32_t len)
{
    vmd_rcp_ref r[2], d[2];
    uint8_t buf[12 + 2 * 49];

    two_refs(r);
    if (fn)
        fn(r);
    vmd_rcp_record_encode(buf, 2, r, 2);
    return vmd_rcp_record_decode(d, buf, sizeof(buf), seg, 2, holder, len);
}

static void bad_flag(vmd_rcp_ref *r)
{
    r[0].flags = 4; /* no such flag */
}
static void zero_and_popular(vmd_rcp_ref *r)
{
    r[0].flags = VMD_RCP_REF_ZERO | VMD_RCP_REF_POPULAR;
}
static void popular_ref(vmd_rcp_ref *r)
{
    r[0].flags = VMD_RCP_REF_POPULAR;
    r[0].ctr = 9ull << 40; /* popular ids are not tied to snapshots */
}
static void zero_with_ctr(vmd_rcp_ref *r)
{
    r[1].ctr = 1ull << 24;
}
static void zero_with_fp(vmd_rcp_ref *r)
{
    r[1].fp[31] = 1;
}
static void no_ctr(vmd_rcp_ref *r)
{
    r[0].ctr = 5; /* snapshot 0 */
}
static void young_ctr(vmd_rcp_ref *r)
{
    r[0].ctr = 4ull << 24; /* a younger snapshot's container */
}
static void long_chunk(vmd_rcp_ref *r)
{
    r[0].raw_len = MIB + 1;
}
static void empty_chunk(vmd_rcp_ref *r)
{
    r[1].raw_len = 0;
}

static void test_record_corrupt(void)
{
    CU_ASSERT_EQUAL(record_with(NULL, 2, 3, MIB + 123), 0);
    CU_ASSERT_EQUAL(record_with(NULL, 1, 3, MIB + 123), -EINVAL); /* other segment */
    CU_ASSERT_EQUAL(record_with(NULL, 2, 3, MIB + 124), -EINVAL); /* lengths != segment */
    CU_ASSERT_EQUAL(record_with(NULL, 2, 1, MIB + 123), -EINVAL); /* ctr of snap 2 in snap 1 */
    CU_ASSERT_EQUAL(record_with(bad_flag, 2, 3, MIB + 123), -EINVAL);
    CU_ASSERT_EQUAL(record_with(zero_and_popular, 2, 3, MIB + 123), -EINVAL);
    CU_ASSERT_EQUAL(record_with(popular_ref, 2, 3, MIB + 123), 0);
    CU_ASSERT_EQUAL(record_with(zero_with_ctr, 2, 3, MIB + 123), -EINVAL);
    CU_ASSERT_EQUAL(record_with(zero_with_fp, 2, 3, MIB + 123), -EINVAL);
    CU_ASSERT_EQUAL(record_with(no_ctr, 2, 3, MIB + 123), -EINVAL);
    CU_ASSERT_EQUAL(record_with(young_ctr, 2, 3, MIB + 123), -EINVAL);
    CU_ASSERT_EQUAL(record_with(long_chunk, 2, 3, 2 * MIB + 124), -EINVAL);
    CU_ASSERT_EQUAL(record_with(empty_chunk, 2, 3, MIB), -EINVAL);
}

static void test_record_count_mismatch(void)
{
    vmd_rcp_ref r[2], d[2];
    uint8_t buf[12 + 2 * 49];

    two_refs(r);
    vmd_rcp_record_encode(buf, 2, r, 2);
    buf[8] = 1; /* says 1 ref, the buffer holds 2 */
    CU_ASSERT_EQUAL(vmd_rcp_record_decode(d, buf, sizeof(buf), 2, 2, 3, MIB + 123), -EINVAL);
    CU_ASSERT_EQUAL(vmd_rcp_record_decode(d, buf, sizeof(buf), 2, 0, 3, MIB + 123), -EINVAL);
}

static void fp_with_prefix(uint8_t *fp, uint64_t v)
{
    int i;

    memset(fp, 0x77, 32);
    for (i = 0; i < 8; i++)
        fp[i] = (uint8_t)(v >> (8 * i));
}

static void test_signature(void)
{
    uint64_t sig[VMD_RCP_SIG];
    uint64_t vals[] = {50, 7, 90, 7, 3, 60, 1000};
    uint8_t fp[32];
    size_t i;

    vmd_rcp_sig_init(sig);
    CU_ASSERT_EQUAL(sig[0], UINT64_MAX);
    for (i = 0; i < 2; i++) {
        fp_with_prefix(fp, vals[i]);
        vmd_rcp_sig_add(sig, fp);
    }
    CU_ASSERT_EQUAL(sig[0], 7);
    CU_ASSERT_EQUAL(sig[1], 50);
    CU_ASSERT_EQUAL(sig[2], UINT64_MAX);
    for (; i < sizeof(vals) / sizeof(vals[0]); i++) {
        fp_with_prefix(fp, vals[i]);
        vmd_rcp_sig_add(sig, fp);
    }
    CU_ASSERT_EQUAL(sig[0], 3);
    CU_ASSERT_EQUAL(sig[1], 7); /* duplicates counted once */
    CU_ASSERT_EQUAL(sig[2], 50);
    CU_ASSERT_EQUAL(sig[3], 60);
}

static void test_similar(void)
{
    vmd_sim_index ix;
    uint64_t a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 9, 10}, c[4] = {1, 20, 30, 40};
    uint64_t none[4] = {UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX};
    uint64_t q[4] = {1, 2, 3, 50}, out[4];
    size_t n, s;

    vmd_sim_init(&ix);
    CU_ASSERT_EQUAL(vmd_sim_add(&ix, 10, a), 0);
    CU_ASSERT_EQUAL(vmd_sim_add(&ix, 20, b), 0);
    CU_ASSERT_EQUAL(vmd_sim_add(&ix, 30, c), 0);
    CU_ASSERT_EQUAL(vmd_sim_add(&ix, 40, none), 0);
    vmd_sim_finish(&ix);
    CU_ASSERT_EQUAL(ix.n, 12);
    n = vmd_sim_best(&ix, q, 99, out, 2);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(out[0], 10);          /* 3 shared values */
    CU_ASSERT_EQUAL(out[1], 20);          /* 2 shared */
    n = vmd_sim_best(&ix, q, 10, out, 4); /* the same offset is excluded */
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(out[0], 20);
    CU_ASSERT_EQUAL(out[1], 30);
    CU_ASSERT_EQUAL(vmd_sim_best(&ix, none, 1, out, 2), 0);
    vmd_sim_free(&ix);
    /* ties go to the nearest segment; a run of identical signatures is bounded */
    vmd_sim_init(&ix);
    for (s = 0; s < 100; s++)
        CU_ASSERT_EQUAL(vmd_sim_add(&ix, s, a), 0);
    vmd_sim_finish(&ix);
    n = vmd_sim_best(&ix, a, 5, out, 2);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(out[0], 4);
    CU_ASSERT_EQUAL(out[1], 6);
    vmd_sim_free(&ix);
}

/* ---- ordered queue ---- */

#define OQ_ITEMS  2000
#define OQ_WINDOW 4

static vmd_oq oq;
static uint64_t slots[OQ_WINDOW];
static uint64_t max_ahead;
static pthread_mutex_t ahead_mu = PTHREAD_MUTEX_INITIALIZER;

static void *producer(void *arg)
{
    uint64_t i;

    (void)arg;
    while (vmd_oq_claim(&oq, &i) == 0) {
        pthread_mutex_lock(&ahead_mu);
        if (i - oq.next_out > max_ahead)
            max_ahead = i - oq.next_out;
        pthread_mutex_unlock(&ahead_mu);
        if (i % 7 == 0)
            sched_yield();
        slots[i % OQ_WINDOW] = i * 3;
        vmd_oq_publish(&oq, i);
    }
    return NULL;
}

static void test_oqueue_order(void)
{
    pthread_t t[3];
    uint64_t i, want = 0;
    int k, ok = 1, err;

    CU_ASSERT_EQUAL_FATAL(vmd_oq_init(&oq, OQ_WINDOW, OQ_ITEMS), 0);
    for (k = 0; k < 3; k++)
        pthread_create(&t[k], NULL, producer, NULL);
    while ((err = vmd_oq_next(&oq, &i, -1)) == 0) {
        ok &= i == want && slots[i % OQ_WINDOW] == i * 3;
        want++;
        vmd_oq_done(&oq);
    }
    CU_ASSERT_EQUAL(err, -ENOENT);
    CU_ASSERT(ok);
    CU_ASSERT_EQUAL(want, OQ_ITEMS);
    for (k = 0; k < 3; k++)
        pthread_join(t[k], NULL);
    CU_ASSERT(max_ahead < OQ_WINDOW);
    vmd_oq_destroy(&oq);
}

static void test_oqueue_stop_timeout(void)
{
    pthread_t t;
    uint64_t i;

    CU_ASSERT_EQUAL(vmd_oq_init(&oq, 0, 1), -EINVAL);
    CU_ASSERT_EQUAL_FATAL(vmd_oq_init(&oq, 2, 10), 0);
    CU_ASSERT_EQUAL(vmd_oq_next(&oq, &i, 10), -ETIMEDOUT); /* nothing published */
    CU_ASSERT_EQUAL(vmd_oq_claim(&oq, &i), 0);
    CU_ASSERT_EQUAL(vmd_oq_claim(&oq, &i), 0);
    /* a third claim would block on the full window until stop */
    pthread_create(&t, NULL, producer, NULL);
    vmd_oq_stop(&oq);
    pthread_join(t, NULL);
    CU_ASSERT_EQUAL(vmd_oq_next(&oq, &i, -1), -ECANCELED);
    CU_ASSERT_EQUAL(vmd_oq_claim(&oq, &i), -ECANCELED);
    vmd_oq_destroy(&oq);
}

int main(void)
{
    static const vmd_test_case cases[] = {
        {"segment sizes and offsets", test_sizes},
        {"header round trip", test_header_round_trip},
        {"header corrupt fields", test_header_corrupt},
        {"table entries: round trip and corrupt fields", test_entries},
        {"record round trip, every truncation fails", test_record_round_trip},
        {"record corrupt fields", test_record_corrupt},
        {"record count mismatch", test_record_count_mismatch},
        {"min-hash signature", test_signature},
        {"similar segments", test_similar},
        {"ordered queue: order and window", test_oqueue_order},
        {"ordered queue: timeout and stop", test_oqueue_stop_timeout},
        {NULL, NULL},
    };
    return vmd_test_main("recipe", cases);
}
