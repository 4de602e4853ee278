/*
 * test_idx_methods.c - index partitions: register, release, mark, ref and unmark.
 *
 * The methods that count holders and popular references, on one in-memory
 * partition each: statuses, counters against the stored entries, and state
 * left unchanged by every refused call.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_idx.h"

static void test_register_new_known_and_stats(void)
{
    mem_obj *m = mem_obj_new();
    vmd_idx_reg_item items[3] = {reg_item(1, 4096, 10, 0), reg_item(2, 8192, 10, 1),
                                 reg_item(3, 100, 10, 2)};
    vmd_idx_register_reply rep;
    vmd_idx_counters c;
    vmd_idx_entry e;
    vmd_idx_target wrong = {BITS, PART + 1};

    CU_ASSERT_EQUAL(do_stats_t(m, T, &c), -ENOENT); /* no partition yet */
    CU_ASSERT_EQUAL(do_register(m, "vm-a", items, 3, &rep), 0);
    CU_ASSERT_EQUAL(rep.count, 3);
    CU_ASSERT_EQUAL(rep.items[0].status, VMD_IDX_NEW);
    CU_ASSERT_EQUAL(rep.items[2].status, VMD_IDX_NEW);
    CU_ASSERT_EQUAL(rep.items[1].vm_count, 1);
    vmd_idx_register_reply_free(&rep);
    c = stats(m);
    CU_ASSERT_EQUAL(c.entries, 3);
    CU_ASSERT_EQUAL(c.holdings, 3);
    CU_ASSERT_EQUAL(c.bytes, 4096 + 8192 + 100);
    CU_ASSERT_EQUAL(c.popular_entries, 0);
    CU_ASSERT_EQUAL(entry_of(m, 2, &e), 0);
    CU_ASSERT_STRING_EQUAL(e.home_vm, "vm-a");
    CU_ASSERT_EQUAL(e.home.id, 10);
    CU_ASSERT_EQUAL(e.home.slot, 1);
    CU_ASSERT_EQUAL(e.nvms, 1);
    CU_ASSERT_EQUAL(e.vms[0], vmd_vm_hash("vm-a", 4));

    /* the same VM again: KNOWN, counted once */
    CU_ASSERT_EQUAL(do_register(m, "vm-a", items, 3, &rep), 0);
    CU_ASSERT_EQUAL(rep.items[0].status, VMD_IDX_KNOWN);
    CU_ASSERT_EQUAL(rep.items[0].vm_count, 1);
    vmd_idx_register_reply_free(&rep);
    CU_ASSERT_EQUAL(stats(m).holdings, 3);

    /* another VM: KNOWN by 2; a new fp in the same call is NEW */
    items[2] = reg_item(4, 512, 20, 0);
    items[0].loc.id = 20;
    CU_ASSERT_EQUAL(do_register(m, "vm-b", items, 3, &rep), 0);
    CU_ASSERT_EQUAL(rep.items[0].status, VMD_IDX_KNOWN);
    CU_ASSERT_EQUAL(rep.items[0].vm_count, 2);
    CU_ASSERT_EQUAL(rep.items[2].status, VMD_IDX_NEW);
    vmd_idx_register_reply_free(&rep);
    CU_ASSERT_EQUAL(entry_of(m, 1, &e), 0);
    CU_ASSERT_STRING_EQUAL(e.home_vm, "vm-a"); /* home stays with the first VM */
    CU_ASSERT_EQUAL(e.home.id, 10);
    c = stats(m);
    CU_ASSERT_EQUAL(c.entries, 4);
    CU_ASSERT_EQUAL(c.holdings, 6);
    assert_counters_match_entries(m);

    /* another partition, other bits */
    CU_ASSERT_EQUAL(do_stats_t(m, wrong, &c), -EINVAL);
    wrong.bits = BITS + 1;
    wrong.partition = (uint16_t)(PART << 1);
    CU_ASSERT_EQUAL(do_stats_t(m, wrong, &c), -EINVAL);
    mem_obj_free(m);
}

static void test_register_rejects_other_length(void)
{
    mem_obj *m = mem_obj_new();
    vmd_idx_reg_item items[2] = {reg_item(1, 4096, 1, 0), reg_item(2, 4096, 1, 1)};
    snap before, after;

    CU_ASSERT_EQUAL(do_register(m, "vm-a", items, 2, NULL), 0);
    before = snapshot(m);
    items[0] = reg_item(0, 10, 2, 0); /* new: would be NEW */
    items[1].chunk_len = 4097;        /* known with 4096 */
    CU_ASSERT_EQUAL(do_register(m, "vm-b", items, 2, NULL), -EINVAL);
    after = snapshot(m);
    CU_ASSERT_TRUE(snap_equal(&before, &after)); /* nothing of the call applied */
    mem_obj_free(m);
}

static void test_register_with_wrong_bits_is_einval(void)
{
    mem_obj *m = mem_obj_new();
    vmd_idx_reg_item items[1] = {reg_item(1, 4096, 1, 0)};
    vmd_idx_target t5 = {BITS + 1, (uint16_t)(vmd_fp_partition(&items[0].fp, BITS + 1))};
    vmd_idx_target t3 = {BITS - 1, (uint16_t)(PART >> 1)};
    uint8_t op[16];

    CU_ASSERT_EQUAL(do_register(m, "vm-a", items, 1, NULL), 0);
    op_next(op);
    CU_ASSERT_EQUAL(do_register_t(m, op, t5, "vm-a", items, 1, NULL), -EINVAL);
    op_next(op);
    CU_ASSERT_EQUAL(do_register_t(m, op, t3, "vm-a", items, 1, NULL), -EINVAL);
    mem_obj_free(m);
}

static void test_popularity_counting_and_cap(void)
{
    mem_obj *m = mem_obj_new();
    vmd_idx_reg_item it = reg_item(1, 4096, 1, 0);
    vmd_idx_register_reply rep;
    vmd_idx_status_reply st;
    vmd_idx_entry e;
    vmd_fp fp = fp_make(1);
    char vm[16];
    int i;

    /* 17 VMs, each registering twice */
    for (i = 0; i <= 16; i++) {
        snprintf(vm, sizeof(vm), "vm-%02d", i);
        CU_ASSERT_EQUAL(do_register(m, vm, &it, 1, &rep), 0);
        CU_ASSERT_EQUAL(rep.items[0].vm_count, (uint32_t)i + 1);
        CU_ASSERT_EQUAL(rep.items[0].status, i ? VMD_IDX_KNOWN : VMD_IDX_NEW);
        vmd_idx_register_reply_free(&rep);
        /* the same VM again does not count while it is listed; beyond 16
           the list is full and a repeat counts again (an upper estimate) */
        CU_ASSERT_EQUAL(do_register(m, vm, &it, 1, &rep), 0);
        CU_ASSERT_EQUAL(rep.items[0].vm_count, (uint32_t)(i < 16 ? i + 1 : i + 2));
        vmd_idx_register_reply_free(&rep);
    }
    CU_ASSERT_EQUAL(entry_of(m, 1, &e), 0);
    CU_ASSERT_EQUAL(e.nvms, 16);
    CU_ASSERT_EQUAL(e.vm_count, 18); /* 17 VMs, vm-16 counted twice */
    for (i = 1; i < e.nvms; i++)
        CU_ASSERT(e.vms[i - 1] < e.vms[i]);
    assert_counters_match_entries(m);

    /* a listed VM leaves: its hash goes, the count drops */
    CU_ASSERT_EQUAL(do_release(m, "vm-00", &fp, 1, &st), 0);
    CU_ASSERT_EQUAL(st.status[0], VMD_IDX_RELEASED);
    vmd_idx_status_reply_free(&st);
    CU_ASSERT_EQUAL(entry_of(m, 1, &e), 0);
    CU_ASSERT_EQUAL(e.nvms, 15);
    CU_ASSERT_EQUAL(e.vm_count, 17);
    CU_ASSERT_EQUAL(e.home_vm[0], 0); /* vm-00 was home */
    CU_ASSERT_EQUAL(e.home.id, 0);
    /* an unlisted holder (vm-16) may leave while the count exceeds the list */
    CU_ASSERT_EQUAL(do_release(m, "vm-16", &fp, 1, &st), 0);
    CU_ASSERT_EQUAL(st.status[0], VMD_IDX_RELEASED);
    vmd_idx_status_reply_free(&st);
    CU_ASSERT_EQUAL(entry_of(m, 1, &e), 0);
    CU_ASSERT_EQUAL(e.vm_count, 16);
    /* a home-less entry takes the next registering VM's copy as home */
    CU_ASSERT_EQUAL(do_register(m, "vm-01", &it, 1, NULL), 0);
    CU_ASSERT_EQUAL(entry_of(m, 1, &e), 0);
    CU_ASSERT_STRING_EQUAL(e.home_vm, "vm-01");
    assert_counters_match_entries(m);
    mem_obj_free(m);
}

static void test_release_statuses(void)
{
    mem_obj *m = mem_obj_new();
    vmd_idx_status_reply st;
    vmd_fp fps[4] = {fp_make(1), fp_make(2), fp_make(3), fp_make(9)};
    vmd_idx_entry e;
    vmd_idx_counters c;

    register_range(m, "vm-a", 1, 3);
    register_range(m, "vm-b", 1, 1);
    /* fp 1: two holders -> RELEASED; fp 2, 3: last holder -> REMOVED; fp 9: NOT_FOUND */
    CU_ASSERT_EQUAL(do_release(m, "vm-a", fps, 4, &st), 0);
    CU_ASSERT_EQUAL(st.count, 4);
    CU_ASSERT_EQUAL(st.status[0], VMD_IDX_RELEASED);
    CU_ASSERT_EQUAL(st.status[1], VMD_IDX_REMOVED);
    CU_ASSERT_EQUAL(st.status[2], VMD_IDX_REMOVED);
    CU_ASSERT_EQUAL(st.status[3], VMD_IDX_NOT_FOUND);
    vmd_idx_status_reply_free(&st);
    CU_ASSERT_EQUAL(entry_of(m, 2, &e), -ENOENT);
    CU_ASSERT_EQUAL(entry_of(m, 1, &e), 0);
    CU_ASSERT_EQUAL(e.vm_count, 1);
    CU_ASSERT_EQUAL(e.home_vm[0], 0); /* home was in vm-a */
    /* vm-a again: NOT_HOLDER */
    CU_ASSERT_EQUAL(do_release(m, "vm-a", fps, 1, &st), 0);
    CU_ASSERT_EQUAL(st.status[0], VMD_IDX_NOT_HOLDER);
    vmd_idx_status_reply_free(&st);
    c = stats(m);
    CU_ASSERT_EQUAL(c.entries, 1);
    CU_ASSERT_EQUAL(c.holdings, 1);
    CU_ASSERT_EQUAL(c.bytes, 4097);
    assert_counters_match_entries(m);
    mem_obj_free(m);
}

static void test_mark_ref_unmark_flow(void)
{
    mem_obj *m = mem_obj_new();
    vmd_idx_mark_item mk[2] = {{fp_make(1), {500, 1}}, {fp_make(2), {500, 2}}};
    vmd_idx_ref_item rf[2] = {{fp_make(1), 3}, {fp_make(2), 1}};
    vmd_idx_reg_item it[2] = {reg_item(1, 4097, 9, 9), reg_item(2, 4098, 9, 9)};
    vmd_fp fps[2] = {fp_make(1), fp_make(2)};
    vmd_idx_status_reply st;
    vmd_idx_ref_reply rr;
    vmd_idx_register_reply rep;
    vmd_idx_counters c;
    vmd_idx_entry e;
    snap before, after;

    register_range(m, "vm-a", 1, 2);
    /* ref and unmark on entries that are not popular */
    CU_ASSERT_EQUAL(do_ref(m, rf, 2, NULL), -ENOENT);
    CU_ASSERT_EQUAL(do_unmark(m, fps, 2, &st), 0);
    CU_ASSERT_EQUAL(st.status[0], VMD_IDX_NOT_POPULAR);
    vmd_idx_status_reply_free(&st);
    /* mark a missing fp: nothing changes */
    mk[1].fp = fp_make(7);
    before = snapshot(m);
    CU_ASSERT_EQUAL(do_mark(m, mk, 2, NULL), -ENOENT);
    after = snapshot(m);
    CU_ASSERT_TRUE(snap_equal(&before, &after));
    mk[1].fp = fp_make(2);
    CU_ASSERT_EQUAL(do_mark(m, mk, 2, &st), 0);
    CU_ASSERT_EQUAL(st.status[0], VMD_IDX_MARKED);
    CU_ASSERT_EQUAL(st.status[1], VMD_IDX_MARKED);
    vmd_idx_status_reply_free(&st);
    c = stats(m);
    CU_ASSERT_EQUAL(c.popular_entries, 2);
    CU_ASSERT_EQUAL(c.popular_bytes, 4097 + 4098);

    /* register of a popular chunk: POPULAR with the copy's location, one more ref */
    CU_ASSERT_EQUAL(do_register(m, "vm-b", it, 2, &rep), 0);
    CU_ASSERT_EQUAL(rep.items[0].status, VMD_IDX_POPULAR);
    CU_ASSERT_EQUAL(rep.items[0].pop.id, 500);
    CU_ASSERT_EQUAL(rep.items[1].pop.slot, 2);
    CU_ASSERT_EQUAL(rep.items[1].vm_count, 2);
    vmd_idx_register_reply_free(&rep);
    CU_ASSERT_EQUAL(stats(m).popular_refs, 2);

    /* ref: +3 / +1 */
    CU_ASSERT_EQUAL(do_ref(m, rf, 2, &rr), 0);
    CU_ASSERT_EQUAL(rr.pop_refs[0], 4);
    CU_ASSERT_EQUAL(rr.pop_refs[1], 2);
    vmd_idx_ref_reply_free(&rr);
    /* all or nothing: fp 1 could drop by 4, fp 2 not by 3 */
    rf[0].delta = -4;
    rf[1].delta = -3;
    before = snapshot(m);
    CU_ASSERT_EQUAL(do_ref(m, rf, 2, NULL), -ERANGE);
    after = snapshot(m);
    CU_ASSERT_TRUE(snap_equal(&before, &after));

    /* moving a referenced copy, unmarking a referenced copy: EBUSY */
    mk[0].pop.slot = 77;
    CU_ASSERT_EQUAL(do_mark(m, mk, 1, NULL), -EBUSY);
    CU_ASSERT_EQUAL(do_unmark(m, fps, 1, NULL), -EBUSY);
    /* same location: ALREADY */
    mk[0].pop.slot = 1;
    CU_ASSERT_EQUAL(do_mark(m, mk, 2, &st), 0);
    CU_ASSERT_EQUAL(st.status[0], VMD_IDX_ALREADY);
    vmd_idx_status_reply_free(&st);

    /* drop every ref, then move fp 1 and unmark fp 2 */
    rf[0].delta = -4;
    rf[1].delta = -2;
    CU_ASSERT_EQUAL(do_ref(m, rf, 2, &rr), 0);
    CU_ASSERT_EQUAL(rr.pop_refs[0], 0);
    vmd_idx_ref_reply_free(&rr);
    mk[0].pop.slot = 77;
    CU_ASSERT_EQUAL(do_mark(m, mk, 1, &st), 0);
    CU_ASSERT_EQUAL(st.status[0], VMD_IDX_MOVED);
    vmd_idx_status_reply_free(&st);
    CU_ASSERT_EQUAL(entry_of(m, 1, &e), 0);
    CU_ASSERT_EQUAL(e.pop.slot, 77);

    /* a popular entry outlives its holders; unmarking it then removes it */
    CU_ASSERT_EQUAL(do_release(m, "vm-a", fps, 2, &st), 0);
    vmd_idx_status_reply_free(&st);
    CU_ASSERT_EQUAL(do_release(m, "vm-b", fps, 2, &st), 0);
    CU_ASSERT_EQUAL(st.status[0], VMD_IDX_RELEASED); /* popular: kept */
    vmd_idx_status_reply_free(&st);
    CU_ASSERT_EQUAL(entry_of(m, 2, &e), 0);
    CU_ASSERT_EQUAL(e.vm_count, 0);
    register_range(m, "vm-c", 1, 1); /* fp 1 held again */
    CU_ASSERT_EQUAL(do_ref(m, rf, 1, NULL), -ERANGE);
    rf[0].delta = -1;
    CU_ASSERT_EQUAL(do_ref(m, rf, 1, NULL), 0); /* the ref register added */
    CU_ASSERT_EQUAL(do_unmark(m, fps, 2, &st), 0);
    CU_ASSERT_EQUAL(st.status[0], VMD_IDX_UNMARKED);
    CU_ASSERT_EQUAL(st.status[1], VMD_IDX_UNMARK_REMOVED);
    vmd_idx_status_reply_free(&st);
    CU_ASSERT_EQUAL(entry_of(m, 2, &e), -ENOENT);
    CU_ASSERT_EQUAL(do_unmark(m, fps + 1, 1, NULL), -ENOENT);
    c = stats(m);
    CU_ASSERT_EQUAL(c.entries, 1);
    CU_ASSERT_EQUAL(c.popular_entries, 0);
    CU_ASSERT_EQUAL(c.popular_refs, 0);
    assert_counters_match_entries(m);
    mem_obj_free(m);
}

static void test_ref_limits(void)
{
    mem_obj *m = mem_obj_new();
    vmd_idx_mark_item mk = {fp_make(1), {1, 1}};
    vmd_idx_ref_item rf = {fp_make(1), VMD_IDX_DELTA_MAX};
    vmd_idx_ref_reply rr;

    register_range(m, "vm-a", 1, 1);
    CU_ASSERT_EQUAL(do_mark(m, &mk, 1, NULL), 0);
    CU_ASSERT_EQUAL(do_ref(m, &rf, 1, &rr), 0);
    CU_ASSERT_EQUAL(rr.pop_refs[0], 1u << 24);
    vmd_idx_ref_reply_free(&rr);
    rf.delta = -VMD_IDX_DELTA_MAX;
    CU_ASSERT_EQUAL(do_ref(m, &rf, 1, &rr), 0);
    CU_ASSERT_EQUAL(rr.pop_refs[0], 0);
    vmd_idx_ref_reply_free(&rr);
    rf.delta = -1;
    CU_ASSERT_EQUAL(do_ref(m, &rf, 1, NULL), -ERANGE);
    rf.fp = fp_make(2);
    CU_ASSERT_EQUAL(do_ref(m, &rf, 1, NULL), -ENOENT);
    mem_obj_free(m);
}

const vmd_test_case vmd_idx_method_tests[] = {
    {"register: NEW, KNOWN, stats", test_register_new_known_and_stats},
    {"register: other chunk length is EINVAL", test_register_rejects_other_length},
    {"register: wrong bits is EINVAL", test_register_with_wrong_bits_is_einval},
    {"popularity: counted once, 16 listed", test_popularity_counting_and_cap},
    {"release statuses", test_release_statuses},
    {"mark / ref / unmark flow", test_mark_ref_unmark_flow},
    {"ref limits", test_ref_limits},
    {NULL, NULL},
};
