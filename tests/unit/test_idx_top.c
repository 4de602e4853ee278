/*
 * test_idx_top.c - index partitions: idx_top and the largest batch.
 *
 * The most popular entries in order (VM count, then fingerprint), paged
 * with a cursor, across many omap pages; and a register call of the largest
 * batch the wire allows.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_idx.h"

/* Registers fp n for vm_count distinct VMs. */
static void register_held_by(mem_obj *m, unsigned n, unsigned vms)
{
    vmd_idx_reg_item it = reg_item(n, 4096 + n, 1, n);
    char vm[16];
    unsigned i;
    for (i = 0; i < vms; i++) {
        snprintf(vm, sizeof(vm), "vm-%u", i);
        CU_ASSERT_EQUAL(do_register(m, vm, &it, 1, NULL), 0);
    }
}

static void test_top_order_paging_and_cursor(void)
{
    mem_obj *m = mem_obj_new();
    /* fp n held by counts[n] VMs */
    static const unsigned counts[] = {3, 1, 5, 3, 2, 5, 1, 4, 3, 2};
    const unsigned N = sizeof(counts) / sizeof(counts[0]);
    vmd_idx_top_reply page;
    vmd_idx_top_item last, seen[16];
    unsigned i, got = 0, pages = 0;
    int rc;

    CU_ASSERT_EQUAL(do_top(m, 0, 10, NULL, &page), -ENOENT);
    for (i = 0; i < N; i++)
        register_held_by(m, i, counts[i]);
    /* pages of 3, min_vms 2: 8 entries qualify */
    for (;;) {
        rc = do_top(m, 2, 3, pages ? &last : NULL, &page);
        CU_ASSERT_EQUAL_FATAL(rc, 0);
        for (i = 0; i < page.count && got < 16; i++)
            seen[got++] = page.items[i];
        pages++;
        if (page.count)
            last = page.items[page.count - 1];
        if (!page.more) {
            vmd_idx_top_reply_free(&page);
            break;
        }
        CU_ASSERT_EQUAL(page.count, 3);
        vmd_idx_top_reply_free(&page);
    }
    CU_ASSERT_EQUAL(got, 8);
    CU_ASSERT_EQUAL(pages, 3);
    /* 5: fp 2, 5; 4: fp 7; 3: fp 0, 3, 8; 2: fp 4, 9 */
    {
        static const unsigned want[] = {2, 5, 7, 0, 3, 8, 4, 9};
        for (i = 0; i < 8 && i < got; i++) {
            vmd_fp fp = fp_make(want[i]);
            CU_ASSERT_EQUAL(vmd_fp_cmp(&seen[i].fp, &fp), 0);
            CU_ASSERT_EQUAL(seen[i].e.vm_count, counts[want[i]]);
            CU_ASSERT_EQUAL(seen[i].e.chunk_len, 4096 + want[i]);
            CU_ASSERT_STRING_EQUAL(seen[i].e.home_vm, "vm-0");
        }
    }
    /* exactly max entries left: more = 0 */
    CU_ASSERT_EQUAL(do_top(m, 5, 2, NULL, &page), 0);
    CU_ASSERT_EQUAL(page.count, 2);
    CU_ASSERT_EQUAL(page.more, 0);
    vmd_idx_top_reply_free(&page);
    /* nothing that popular */
    CU_ASSERT_EQUAL(do_top(m, 6, 10, NULL, &page), 0);
    CU_ASSERT_EQUAL(page.count, 0);
    CU_ASSERT_EQUAL(page.more, 0);
    vmd_idx_top_reply_free(&page);
    mem_obj_free(m);
}

static void test_top_scans_many_pages(void)
{
    mem_obj *m = mem_obj_new();
    vmd_idx_top_reply page;
    vmd_idx_reg_item it;
    unsigned i, total = 0;
    vmd_idx_top_item last;
    int first = 1;

    register_range(m, "vm-a", 0, 2500); /* > 2 omap pages */
    register_range(m, "vm-b", 1200, 3); /* in the second page: vm_count 2 */
    it = reg_item(2499, 4096 + 2499, 1, 1);
    CU_ASSERT_EQUAL(do_register(m, "vm-c", &it, 1, NULL), 0);
    CU_ASSERT_EQUAL(do_register(m, "vm-d", &it, 1, NULL), 0); /* last entry: 3 */
    CU_ASSERT_EQUAL(do_top(m, 1, 4, NULL, &page), 0);
    CU_ASSERT_EQUAL(page.count, 4);
    CU_ASSERT_EQUAL(page.more, 1);
    CU_ASSERT_EQUAL(page.items[0].e.vm_count, 3);
    CU_ASSERT_EQUAL(page.items[1].e.vm_count, 2);
    CU_ASSERT_EQUAL(page.items[3].e.vm_count, 2);
    vmd_idx_top_reply_free(&page);
    /* pages of 4096 walk all 2500 entries once */
    for (;;) {
        CU_ASSERT_EQUAL_FATAL(do_top(m, 0, VMD_IDX_TOP_MAX, first ? NULL : &last, &page), 0);
        total += page.count;
        if (page.count)
            last = page.items[page.count - 1];
        first = 0;
        i = page.more;
        vmd_idx_top_reply_free(&page);
        if (!i)
            break;
    }
    CU_ASSERT_EQUAL(total, 2500);
    mem_obj_free(m);
}

static void test_full_batch_of_65536(void)
{
    mem_obj *m = mem_obj_new();
    vmd_idx_reg_item *items = calloc(VMD_IDX_BATCH_MAX + 1, sizeof(*items));
    vmd_idx_register_req rr = {{0}, T, "vm-a", VMD_IDX_BATCH_MAX + 1, items};
    vmd_idx_register_reply rep;
    uint8_t *in = NULL;
    size_t n;
    unsigned i;

    for (i = 0; i <= VMD_IDX_BATCH_MAX; i++)
        items[i] = reg_item(i, 4096, 1, i);
    CU_ASSERT_EQUAL(vmd_idx_register_req_encode(&rr, &in, &n), -EINVAL);
    CU_ASSERT_EQUAL(do_register(m, "vm-a", items, VMD_IDX_BATCH_MAX, &rep), 0);
    CU_ASSERT_EQUAL(rep.count, VMD_IDX_BATCH_MAX);
    CU_ASSERT_EQUAL(rep.items[VMD_IDX_BATCH_MAX - 1].status, VMD_IDX_NEW);
    vmd_idx_register_reply_free(&rep);
    CU_ASSERT_EQUAL(stats(m).entries, VMD_IDX_BATCH_MAX);
    CU_ASSERT_EQUAL(do_register(m, "vm-b", items, VMD_IDX_BATCH_MAX, &rep), 0);
    CU_ASSERT_EQUAL(rep.items[4000].status, VMD_IDX_KNOWN);
    CU_ASSERT_EQUAL(rep.items[4000].vm_count, 2);
    vmd_idx_register_reply_free(&rep);
    CU_ASSERT_EQUAL(stats(m).holdings, 2 * VMD_IDX_BATCH_MAX);
    free(items);
    mem_obj_free(m);
}

const vmd_test_case vmd_idx_top_tests[] = {
    {"top: order, paging, cursor", test_top_order_paging_and_cursor},
    {"top: scans many omap pages", test_top_scans_many_pages},
    {"full batch of 65,536", test_full_batch_of_65536},
    {NULL, NULL},
};
