/*
 * cls_call_mem.h - calling class methods on the in-memory object (mem_obj.h),
 * and looking at what they left, for the unit tests and fuzzers of the
 * class's index and container logic.
 *
 *   vmd_test_call           a method whose reply the caller does not read
 *   vmd_test_idx_reply*     the reply a mutating index method stored under
 *                           its op id, fetched with idx_reply as a client does
 *                           (a Pacific OSD returns no output from a write)
 *   vmd_test_idx_sum        the counters a partition's header should hold,
 *                           summed over its stored entries: the oracle of
 *                           test_idx and fuzz_idx_methods
 *   vmd_test_obj_image      the whole committed object as one byte string,
 *                           to check that a refused call changed nothing
 *
 * Results are returned, never asserted: CUnit tests assert on them, fuzzers
 * abort on them. A request the fixture itself cannot encode aborts.
 */
#ifndef VMD_TEST_CLS_CALL_MEM_H
#define VMD_TEST_CLS_CALL_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "format/index.h"
#include "format/index_msg.h"
#include "mem_obj.h"

/* Runs fn on m as the OSD would and frees its reply; returns the method's result. */
int vmd_test_call(mem_obj *m, mem_method_fn fn, const uint8_t *in, size_t inlen);

/* 1 when fn is an index method that writes (register, release, ref, mark, unmark). */
int vmd_test_idx_mutating(mem_method_fn fn);

/*
 * idx_reply for op_id in partition t: its result, and the stored reply in *out.
 * Aborts when t is no valid target (the request would not even encode).
 */
int vmd_test_idx_reply(mem_obj *m, vmd_idx_target t, const uint8_t *op_id, uint8_t **out,
                       size_t *outlen);

/*
 * The stored reply of the mutating request req, whose op id is at offset 6 and
 * target at 22 in every mutating request. -EINVAL when req is too short.
 */
int vmd_test_idx_reply_of(mem_obj *m, const uint8_t *req, size_t len, uint8_t **out,
                          size_t *outlen);

/* What a partition's header should count, summed over its omap. */
typedef struct vmd_test_idx_sums {
    vmd_idx_counters c;
    size_t ops; /* stored replies (keys under VMD_IDX_OP_PREFIX) */
    int bad;    /* keys that are neither a fingerprint nor an op, or entries that do not decode */
} vmd_test_idx_sums;

/*
 * Sums the first omap page of m into *s (the partitions of the tests fit in
 * one). Returns 0, -EFBIG when more keys follow, or the omap's error.
 */
int vmd_test_idx_sum(mem_obj *m, vmd_test_idx_sums *s);

/* The committed object as bytes: data, header, then each key, value length and value. */
typedef struct vmd_test_obj_image {
    uint8_t *buf;
    size_t len, cap;
} vmd_test_obj_image;

/* Fills *img (freed by vmd_test_obj_image_free); -ENOMEM or the omap's error. */
int vmd_test_obj_image_get(mem_obj *m, vmd_test_obj_image *img);
void vmd_test_obj_image_free(vmd_test_obj_image *img);

/* 1 when the two images are the same bytes; frees both. */
int vmd_test_obj_image_equal(vmd_test_obj_image *a, vmd_test_obj_image *b);

#endif /* VMD_TEST_CLS_CALL_MEM_H */
