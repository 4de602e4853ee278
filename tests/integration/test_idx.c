/*
 * test_idx.c - index partitions in real OSDs, through the client wrappers.
 *
 * Runs against the throwaway cluster of ctest's `cluster` fixture (CEPH_CONF).
 * Each run creates its own store (16 partitions) in a fresh RADOS namespace,
 * so runs never see each other's objects. The class is the one the OSDs
 * loaded: every flow here goes through librados, the OSD and its
 * transaction, including the replay of identical request bytes and a few
 * hundred hostile requests after which every OSD must still be up.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rados/cls_call.h"
#include "rados/idx_client.h"
#include "rados/store_int.h"
#include "cluster.h"
#include "rng.h"
#include "vmd_test.h"
#include "vmd_test_cluster.h"
#include "format/class_msg.h"

#define NFP 300

static vmd_store *store;
static uint64_t rng_state;

static uint64_t rng(void)
{
    return vmd_test_xorshift64(&rng_state);
}

static vmd_fp random_fp(void)
{
    vmd_fp fp;
    vmd_test_fill_xorshift_words(fp.b, VMD_FP_SIZE, &rng_state);
    return fp;
}

/* Opens a store of 16 partitions in a namespace of its own; *out NULL on failure. */
static int open_store(vmd_store **out, const char *tag)
{
    vmd_init_opts init = {.partitions = 16};
    char prefix[64], nspace[96];

    *out = NULL;
    if (!vmd_test_have_cluster())
        return -ENOENT;
    snprintf(prefix, sizeof(prefix), "test-idx-%s", tag);
    vmd_test_nspace(nspace, sizeof(nspace), prefix);
    /* expected errors are logged too: the log tells */
    return vmd_test_store_open(out, nspace, 1, &init, "  library");
}

static int need_store(void)
{
    if (!store && open_store(&store, "main") != 0)
        CU_FAIL("cannot open a store on the throwaway cluster");
    return store != NULL;
}

static vmd_fp fps[NFP];

static void make_fps(void)
{
    unsigned i;
    rng_state = 0x1234567887654321ull;
    for (i = 0; i < NFP; i++)
        fps[i] = random_fp();
}

static vmd_idx_reg_item reg(unsigned i, uint64_t ctr)
{
    vmd_idx_reg_item it;
    memset(&it, 0, sizeof(it));
    it.fp = fps[i];
    it.chunk_len = 4096 + i;
    it.loc.id = ctr;
    it.loc.slot = i;
    return it;
}

static vmd_idx_counters stats(void)
{
    vmd_idx_counters c;
    CU_ASSERT_EQUAL(vmd_idx_stats(store, &c), 0);
    return c;
}

static void test_new_known_popular_across_two_vms(void)
{
    vmd_idx_reg_item *items = calloc(NFP, sizeof(*items));
    vmd_idx_reg_result *res = calloc(NFP, sizeof(*res));
    vmd_idx_mark_item mk[10];
    vmd_idx_ref_item rf[10];
    uint8_t st[NFP];
    uint64_t refs[10];
    vmd_idx_counters c;
    unsigned i, popular_bytes = 0;

    if (!need_store())
        goto done;
    make_fps();
    CU_ASSERT_EQUAL(stats().entries, 0);
    /* vm-a: everything NEW (given in random order: results come back per item) */
    for (i = 0; i < NFP; i++)
        items[i] = reg(i, 100);
    CU_ASSERT_EQUAL_FATAL(vmd_idx_register(store, "vm-a", items, NFP, res), 0);
    for (i = 0; i < NFP; i++) {
        CU_ASSERT_EQUAL(res[i].status, VMD_IDX_NEW);
        CU_ASSERT_EQUAL(res[i].vm_count, 1);
    }
    c = stats();
    CU_ASSERT_EQUAL(c.entries, NFP);
    CU_ASSERT_EQUAL(c.holdings, NFP);
    /* vm-b: half of them again, KNOWN by 2 */
    CU_ASSERT_EQUAL_FATAL(vmd_idx_register(store, "vm-b", items, NFP / 2, res), 0);
    for (i = 0; i < NFP / 2; i++) {
        CU_ASSERT_EQUAL(res[i].status, VMD_IDX_KNOWN);
        CU_ASSERT_EQUAL(res[i].vm_count, 2);
    }
    /* vm-a again: counted once */
    CU_ASSERT_EQUAL(vmd_idx_register(store, "vm-a", items, 3, res), 0);
    CU_ASSERT_EQUAL(res[0].vm_count, 2);
    CU_ASSERT_EQUAL(stats().holdings, NFP + NFP / 2);

    /* the first 10 become popular */
    for (i = 0; i < 10; i++) {
        mk[i].fp = fps[i];
        mk[i].pop.id = 7000;
        mk[i].pop.slot = i;
        popular_bytes += 4096 + i;
    }
    CU_ASSERT_EQUAL(vmd_idx_mark_popular(store, mk, 10, st), 0);
    for (i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(st[i], VMD_IDX_MARKED);
    c = stats();
    CU_ASSERT_EQUAL(c.popular_entries, 10);
    CU_ASSERT_EQUAL(c.popular_bytes, popular_bytes);

    /* vm-c: POPULAR with the copy's location */
    CU_ASSERT_EQUAL(vmd_idx_register(store, "vm-c", items, 12, res), 0);
    for (i = 0; i < 10; i++) {
        CU_ASSERT_EQUAL(res[i].status, VMD_IDX_POPULAR);
        CU_ASSERT_EQUAL(res[i].pop.id, 7000);
        CU_ASSERT_EQUAL(res[i].pop.slot, i);
        CU_ASSERT_EQUAL(res[i].vm_count, 3);
    }
    CU_ASSERT_EQUAL(res[10].status, VMD_IDX_KNOWN);
    CU_ASSERT_EQUAL(stats().popular_refs, 10);

    /* refs: +2 each, then exact errors */
    for (i = 0; i < 10; i++) {
        rf[i].fp = fps[i];
        rf[i].delta = 2;
    }
    CU_ASSERT_EQUAL(vmd_idx_ref(store, rf, 10, refs), 0);
    for (i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(refs[i], 3);
    rf[0].delta = -4;
    CU_ASSERT_EQUAL(vmd_idx_ref(store, rf, 1, refs), -ERANGE);
    rf[0].fp = fps[20]; /* not popular */
    rf[0].delta = 1;
    CU_ASSERT_EQUAL(vmd_idx_ref(store, rf, 1, refs), -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(vmd_test_last_error, "idx_ref on idx."));
    mk[0].pop.slot = 99; /* move a referenced copy */
    CU_ASSERT_EQUAL(vmd_idx_mark_popular(store, mk, 1, st), -EBUSY);
    CU_ASSERT_EQUAL(vmd_idx_unmark_popular(store, fps, 1, st), -EBUSY);
    items[5].chunk_len++; /* same fp, other length (alone: partitions apply one by one) */
    CU_ASSERT_EQUAL(vmd_idx_register(store, "vm-d", items + 5, 1, res), -EINVAL);
    items[5].chunk_len--;
    items[1] = items[0]; /* duplicate */
    CU_ASSERT_EQUAL(vmd_idx_register(store, "vm-d", items, 2, res), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(vmd_test_last_error, "twice"));
    items[1] = reg(1, 100);
    CU_ASSERT_EQUAL(vmd_idx_register(store, "bad vm", items, 2, res), -EINVAL);
    CU_ASSERT_EQUAL(stats().popular_refs, 30);

    /* release: vm-b lets go of fps 0..149 */
    CU_ASSERT_EQUAL(vmd_idx_release(store, "vm-b", fps, NFP / 2, st), 0);
    for (i = 0; i < NFP / 2; i++)
        CU_ASSERT_EQUAL(st[i], VMD_IDX_RELEASED);
    CU_ASSERT_EQUAL(vmd_idx_release(store, "vm-b", fps, 1, st), 0);
    CU_ASSERT_EQUAL(st[0], VMD_IDX_NOT_HOLDER);
    /* vm-a lets go of 150..299: the last holder, entries removed */
    CU_ASSERT_EQUAL(vmd_idx_release(store, "vm-a", fps + NFP / 2, NFP - NFP / 2, st), 0);
    for (i = 0; i < NFP - NFP / 2; i++)
        CU_ASSERT_EQUAL(st[i], VMD_IDX_REMOVED);
    c = stats();
    CU_ASSERT_EQUAL(c.entries, NFP / 2);
    CU_ASSERT_EQUAL(c.holdings, NFP / 2 + 12);
done:
    free(items);
    free(res);
}

static int count_item(void *arg, const vmd_idx_top_item *it)
{
    unsigned *n = arg;
    (void)it;
    (*n)++;
    return 0;
}

static void test_top_over_every_partition(void)
{
    vmd_idx_top_reply page;
    unsigned p, total = 0, held2 = 0;

    if (!need_store())
        return;
    for (p = 0; p < 16; p++) {
        CU_ASSERT_EQUAL(vmd_idx_top_each(store, p, 1, count_item, &total), 0);
        CU_ASSERT_EQUAL(vmd_idx_top_each(store, p, 2, count_item, &held2), 0);
    }
    CU_ASSERT_EQUAL(total, NFP / 2);
    CU_ASSERT_EQUAL(held2, 12); /* fps 0..11: vm-a and vm-c (vm-b let go) */
    /* one small page: ordered by vm_count */
    CU_ASSERT_EQUAL(vmd_idx_top_page(store, vmd_fp_partition(&fps[0], 4), 0, 1, NULL, &page), 0);
    CU_ASSERT_EQUAL(page.count, 1);
    vmd_idx_top_reply_free(&page);
    CU_ASSERT_EQUAL(vmd_idx_top_page(store, 3, 0, 0, NULL, &page), -EINVAL);
}

/* The same request bytes twice: the second reply is the first's, nothing changes. */
static void test_replay_of_identical_bytes(void)
{
    vmd_idx_reg_item it[2];
    vmd_idx_register_req req;
    vmd_idx_counters before, after;
    uint8_t *in = NULL, *out1 = NULL, *out2 = NULL;
    size_t inlen, len1 = 0, len2 = 0;
    char oid[VMD_IDX_OID_SIZE];
    vmd_idx_register_reply rep;
    vmd_idx_reply_req rq;
    uint8_t *rin = NULL;
    size_t rinlen = 0;
    unsigned part;

    if (!need_store())
        return;
    memset(&req, 0, sizeof(req));
    memset(it, 0, sizeof(it));
    /* two new fps in one partition, ascending */
    it[0].fp = random_fp();
    it[1].fp = it[0].fp;
    it[1].fp.b[31] ^= 1;
    if (vmd_fp_cmp(&it[0].fp, &it[1].fp) > 0) {
        vmd_fp t = it[0].fp;
        it[0].fp = it[1].fp;
        it[1].fp = t;
    }
    it[0].chunk_len = it[1].chunk_len = 8192;
    part = vmd_fp_partition(&it[0].fp, 4);
    vmd_cls_new_op_id(req.op_id);
    req.t.bits = 4;
    req.t.partition = (uint16_t)part;
    strcpy(req.vm, "vm-replay");
    req.count = 2;
    req.items = it;
    CU_ASSERT_EQUAL_FATAL(vmd_idx_register_req_encode(&req, &in, &inlen), 0);
    vmd_idx_oid(part, oid);
    /* the write returns nothing (an OSD caps write-op output at 64 bytes) ... */
    CU_ASSERT_EQUAL(vmd_cls_exec(store->meta, oid, "idx_register", 1, in, inlen, &out1, &len1), 0);
    CU_ASSERT_EQUAL(len1, 0);
    free(out1);
    out1 = NULL;
    /* ... its reply is read with idx_reply */
    rq.t = req.t;
    memcpy(rq.op_id, req.op_id, VMD_OP_ID_SIZE);
    CU_ASSERT_EQUAL_FATAL(vmd_idx_reply_req_encode(&rq, &rin, &rinlen), 0);
    CU_ASSERT_EQUAL(vmd_cls_exec(store->meta, oid, "idx_reply", 0, rin, rinlen, &out1, &len1), 0);
    before = stats();
    /* the same bytes again: same reply, nothing changes */
    CU_ASSERT_EQUAL(vmd_cls_exec(store->meta, oid, "idx_register", 1, in, inlen, NULL, NULL), 0);
    CU_ASSERT_EQUAL(vmd_cls_exec(store->meta, oid, "idx_reply", 0, rin, rinlen, &out2, &len2), 0);
    after = stats();
    CU_ASSERT_EQUAL(len1, len2);
    CU_ASSERT(len1 == len2 && len1 > 0 && memcmp(out1, out2, len1) == 0);
    CU_ASSERT_EQUAL(memcmp(&before, &after, sizeof(before)), 0);
    CU_ASSERT_EQUAL_FATAL(vmd_idx_register_reply_decode(&rep, out2, len2), 0);
    CU_ASSERT_EQUAL(rep.items[0].status, VMD_IDX_NEW); /* replayed, not KNOWN */
    vmd_idx_register_reply_free(&rep);
    free(rin);
    /* wrong bits against the stored header */
    req.t.bits = 5;
    req.t.partition = (uint16_t)vmd_fp_partition(&it[0].fp, 5);
    free(in);
    CU_ASSERT_EQUAL_FATAL(vmd_idx_register_req_encode(&req, &in, &inlen), 0);
    CU_ASSERT_EQUAL(vmd_cls_exec(store->meta, oid, "idx_register", 1, in, inlen, NULL, NULL),
                    -EINVAL);
    free(in);
    free(out1);
    free(out2);
}

/* More than 65,536 fps of one partition: split into two calls, results in order. */
static void test_batch_split_beyond_65536(void)
{
    const size_t n = VMD_IDX_BATCH_MAX + 1000;
    vmd_idx_reg_item *items = calloc(n, sizeof(*items));
    vmd_idx_reg_result *res = calloc(n, sizeof(*res));
    vmd_store *s = NULL;
    size_t i, bad = 0;

    if (open_store(&s, "split") != 0) {
        CU_FAIL("cannot open a store");
        goto done;
    }
    for (i = 0; i < n; i++) {
        items[i].fp = random_fp();
        items[i].fp.b[0] = 0x00; /* partition 0 of 16 */
        items[i].chunk_len = 4096;
        items[i].loc.slot = (uint32_t)i;
    }
    CU_ASSERT_EQUAL(vmd_idx_register(s, "vm-big", items, n, res), 0);
    for (i = 0; i < n; i++)
        bad += res[i].status != VMD_IDX_NEW;
    CU_ASSERT_EQUAL(bad, 0);
    {
        vmd_idx_counters c;
        CU_ASSERT_EQUAL(vmd_idx_stats(s, &c), 0);
        CU_ASSERT_EQUAL(c.entries, n);
    }
done:
    vmd_store_close(s);
    free(items);
    free(res);
}

#define HOSTILE_PER_METHOD 64

/* A hostile input: random bytes, or a valid request with a few bytes changed or cut. */
static size_t hostile_input(uint8_t *buf, size_t cap, const uint8_t *valid, size_t validlen)
{
    size_t len, i, flips;

    switch (rng() % 4) {
    case 0: /* random bytes */
        len = rng() % 128;
        for (i = 0; i < len; i++)
            buf[i] = (uint8_t)rng();
        return len;
    case 1: /* a random envelope over random bytes */
        len = 6 + rng() % 100;
        for (i = 0; i < len; i++)
            buf[i] = (uint8_t)rng();
        buf[0] = 1;
        buf[1] = 1;
        buf[2] = (uint8_t)(len - 6);
        buf[3] = buf[4] = buf[5] = 0;
        return len;
    case 2: /* a truncated valid request */
        len = validlen ? rng() % validlen : 0;
        memcpy(buf, valid, len);
        return len;
    default: /* a valid request with flipped bytes */
        len = validlen < cap ? validlen : cap;
        memcpy(buf, valid, len);
        flips = 1 + rng() % 4;
        for (i = 0; i < flips && len; i++)
            buf[rng() % len] ^= (uint8_t)(1 + rng() % 255);
        return len;
    }
}

static void test_hostile_inputs_leave_osds_up(void)
{
    static const char *methods[] = {"idx_register",     "idx_release",        "idx_ref",
                                    "idx_mark_popular", "idx_unmark_popular", "idx_top",
                                    "idx_stats"};
    enum { NM = sizeof(methods) / sizeof(methods[0]), N = NM * HOSTILE_PER_METHOD };
    vmd_cls_req *reqs = calloc(N, sizeof(*reqs));
    uint8_t(*bufs)[256] = calloc(N, 256);
    uint8_t *valid[NM] = {NULL};
    size_t validlen[NM] = {0};
    vmd_idx_reg_item it;
    vmd_fp fp;
    vmd_idx_top_req top;
    vmd_idx_stats_req st;
    char oid[VMD_IDX_OID_SIZE];
    unsigned m, i, einval = 0;
    int up, total;
    char out[256];

    if (!need_store())
        goto done;
    rng_state = 0xfeedfacecafebeefull;
    /* a valid request of each method, for partition 3 (the mutation base) */
    memset(&it, 0, sizeof(it));
    fp = random_fp();
    fp.b[0] = 0x30;
    it.fp = fp;
    it.chunk_len = 4096;
    {
        vmd_idx_register_req r = {{1}, {4, 3}, "vm-h", 1, &it};
        vmd_idx_release_req l = {{2}, {4, 3}, "vm-h", 1, &fp};
        vmd_idx_ref_item ri = {fp, 1};
        vmd_idx_ref_req f = {{3}, {4, 3}, 1, &ri};
        vmd_idx_mark_item mi = {fp, {1, 1}};
        vmd_idx_mark_req k = {{4}, {4, 3}, 1, &mi};
        vmd_idx_unmark_req u = {{5}, {4, 3}, 1, &fp};
        memset(&top, 0, sizeof(top));
        top.t.bits = 4;
        top.t.partition = 3;
        top.max = 10;
        st.t = top.t;
        vmd_idx_register_req_encode(&r, &valid[0], &validlen[0]);
        vmd_idx_release_req_encode(&l, &valid[1], &validlen[1]);
        vmd_idx_ref_req_encode(&f, &valid[2], &validlen[2]);
        vmd_idx_mark_req_encode(&k, &valid[3], &validlen[3]);
        vmd_idx_unmark_req_encode(&u, &valid[4], &validlen[4]);
        vmd_idx_top_req_encode(&top, &valid[5], &validlen[5]);
        vmd_idx_stats_req_encode(&st, &valid[6], &validlen[6]);
    }
    vmd_idx_oid(3, oid);
    for (m = 0; m < NM; m++) {
        CU_ASSERT_PTR_NOT_NULL(valid[m]);
        for (i = 0; i < HOSTILE_PER_METHOD; i++) {
            vmd_cls_req *r = &reqs[m * HOSTILE_PER_METHOD + i];
            uint8_t *b = bufs[m * HOSTILE_PER_METHOD + i];
            r->oid = oid;
            r->method = methods[m];
            r->write = m < 5;
            r->in = b;
            r->inlen = hostile_input(b, 256, valid[m], validlen[m]);
        }
    }
    vmd_cls_batch_run(store->meta, reqs, N);
    for (i = 0; i < N; i++) {
        /* every answer is a clean one: success, or a refusal the spec names */
        int rc = reqs[i].rc;
        CU_ASSERT(rc >= 0 || rc == -EINVAL || rc == -EPROTO || rc == -ENOENT || rc == -EBUSY ||
                  rc == -ERANGE);
        einval += rc == -EINVAL || rc == -EPROTO;
        free(reqs[i].out);
    }
    CU_ASSERT(einval > N / 2);
    CU_ASSERT_EQUAL(vmd_test_osds_up(store->cluster, &up, &total), 0);
    CU_ASSERT(total >= 1);
    CU_ASSERT_EQUAL(up, total);
    CU_ASSERT(rados_exec(store->meta, oid, VMD_CLS_NAME, "version", NULL, 0, out, sizeof(out)) > 0);
    CU_ASSERT_EQUAL(vmd_inspect_idx(store, oid, 0, stderr), 0);
done:
    for (m = 0; m < NM; m++)
        free(valid[m]);
    free(reqs);
    free(bufs);
}

static void test_inspect_text_and_json(void)
{
    char oid[VMD_IDX_OID_SIZE], *buf = NULL;
    size_t len = 0;
    FILE *f;

    if (!need_store())
        return;
    vmd_idx_oid(vmd_fp_partition(&fps[0], 4), oid);
    f = open_memstream(&buf, &len);
    CU_ASSERT_EQUAL(vmd_inspect_idx(store, oid, 1, f), 0);
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"header\":{\"bits\":4"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"popular\":true"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"complete\":true}"));
    free(buf);
    buf = NULL;
    f = open_memstream(&buf, &len);
    CU_ASSERT_EQUAL(vmd_inspect_idx(store, oid, 0, f), 0);
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "POPULAR pop"));
    free(buf);
    f = fopen("/dev/null", "w");
    CU_ASSERT_EQUAL(vmd_inspect_idx(store, "idx.ffff", 0, f), -ENOENT);
    fclose(f);
}

int main(void)
{
    static const vmd_test_case cases[] = {
        {"new, known, popular across VMs", test_new_known_popular_across_two_vms},
        {"top over every partition", test_top_over_every_partition},
        {"replay of identical request bytes", test_replay_of_identical_bytes},
        {"inspect: text and JSON", test_inspect_text_and_json},
        {"batches beyond 65,536 are split", test_batch_split_beyond_65536},
        {"hostile inputs leave every OSD up", test_hostile_inputs_leave_osds_up},
        {NULL, NULL},
    };
    int rc = vmd_test_main("idx (cluster)", cases);
    vmd_store_close(store);
    return rc;
}
