/*
 * test_idx.h - the program test_idx: index-partition formats, codecs and
 * methods on the in-memory object (tests/lib/mem_obj.c) that mimics the OSD.
 *
 * Layout of a test: a partition object `m` (bits BITS, partition PART), fps
 * made inside it by fp_make(), one helper per method that encodes a request,
 * runs the method as the OSD would and decodes the reply. Errors are
 * asserted exactly. "State unchanged" is checked by comparing a snapshot of
 * the whole object (header and every omap key and value).
 *
 * The program is one executable of several files, one per concept, each
 * with its own CUnit suite (test_idx.c runs them in order); the helpers
 * below (test_idx_fixture.c) are their shared vocabulary.
 */
#ifndef VMD_TEST_IDX_H
#define VMD_TEST_IDX_H

#include <stddef.h>
#include <stdint.h>

#include "cls_call_mem.h"
#include "format/index.h"
#include "format/index_msg.h"
#include "format/wire.h"
#include "mem_obj.h"
#include "methods/index_methods.h"
#include "vmd_test.h"

#define BITS 4
#define PART 5

/* The partition of every test: PART of 2^BITS. */
extern const vmd_idx_target T;

/* A whole committed object as bytes (cls_call_mem.h). */
typedef vmd_test_obj_image snap;

/* A fingerprint in partition PART of 2^BITS whose value grows with n. */
vmd_fp fp_make(unsigned n);

void op_next(uint8_t op[VMD_OP_ID_SIZE]);

/* The whole committed object (header, every key and value), to compare before and after. */
snap snapshot(mem_obj *m);

/* 1 when a and b are the same bytes; frees both. */
int snap_equal(snap *a, snap *b);

/* The stored reply of op_id in partition t (vmdedup.idx_reply). */
int fetch_reply(mem_obj *m, vmd_idx_target t, const uint8_t *op_id, uint8_t **out, size_t *outlen);

/*
 * Runs a method as a client does; returns its rc and its reply. A mutating
 * method returns no output: its reply is fetched with idx_reply, using the
 * op id and target at the start of every mutating request (offsets 6, 22).
 */
int run(mem_obj *m, mem_method_fn fn, const uint8_t *in, size_t len, uint8_t **out, size_t *outlen);

/* Runs a method whose reply the test does not look at. */
int run_quiet(mem_obj *m, mem_method_fn fn, const uint8_t *in, size_t len);

vmd_idx_reg_item reg_item(unsigned n, uint32_t len, uint64_t ctr, uint32_t slot);

/* Registers items for vm in partition t under op id op (NULL: a fresh one). */
int do_register_t(mem_obj *m, const uint8_t *op, vmd_idx_target t, const char *vm,
                  vmd_idx_reg_item *items, uint32_t n, vmd_idx_register_reply *rep);

int do_register(mem_obj *m, const char *vm, vmd_idx_reg_item *items, uint32_t n,
                vmd_idx_register_reply *rep);

/* Registers fps 0..n-1 (length 4096 + i) for vm. */
void register_range(mem_obj *m, const char *vm, unsigned first, unsigned n);

int do_release(mem_obj *m, const char *vm, vmd_fp *fps, uint32_t n, vmd_idx_status_reply *rep);

int do_ref(mem_obj *m, vmd_idx_ref_item *items, uint32_t n, vmd_idx_ref_reply *rep);

int do_mark(mem_obj *m, vmd_idx_mark_item *items, uint32_t n, vmd_idx_status_reply *rep);

int do_unmark(mem_obj *m, vmd_fp *fps, uint32_t n, vmd_idx_status_reply *rep);

int do_top(mem_obj *m, uint32_t min_vms, uint32_t max, const vmd_idx_top_item *after,
           vmd_idx_top_reply *rep);

int do_stats_t(mem_obj *m, vmd_idx_target t, vmd_idx_counters *c);

vmd_idx_counters stats(mem_obj *m);

/* The stored entry of fp n; 0 or the decode / lookup error. */
int entry_of(mem_obj *m, unsigned n, vmd_idx_entry *e);

void assert_counters_match_entries(mem_obj *m);

/* An entry with every field set (popular, 3 of 5 VMs listed). */
vmd_idx_entry entry_sample(void);

/* The suites, in the order test_idx.c runs them. */
extern const vmd_test_case vmd_idx_format_tests[];
extern const vmd_test_case vmd_idx_msg_tests[];
extern const vmd_test_case vmd_idx_msg_bad_tests[];
extern const vmd_test_case vmd_idx_method_tests[];
extern const vmd_test_case vmd_idx_replay_tests[];
extern const vmd_test_case vmd_idx_top_tests[];
extern const vmd_test_case vmd_idx_error_tests[];

#endif /* VMD_TEST_IDX_H */
