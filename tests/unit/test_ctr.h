/*
 * test_ctr.h - the program test_ctr: containers, the format, the builder and
 * reader, the messages, and the ctr_* methods on an in-memory object with the
 * OSD's transaction semantics.
 *
 * Containers are built with the builder from three kinds of chunk: text-like
 * (compresses, stored ZSTD), random (does not, stored RAW) and a mix. One
 * executable of several files, one CUnit suite each (test_ctr.c runs them in
 * order); test_ctr_fixture.c holds what they share.
 */
#ifndef VMD_TEST_CTR_H
#define VMD_TEST_CTR_H

#include <stddef.h>
#include <stdint.h>

#include "chunks.h"
#include "format/container.h"
#include "format/container_msg.h"
#include "format/wire.h"
#include "mem_obj.h"
#include "methods/cls_methods.h"
#include "methods/container_methods.h"
#include "rng.h"
#include "vmd_test.h"

/* The kind of every chunk of a container that is not mixed. */
enum { TEXT, RANDOM };

void fill_random(uint8_t *p, size_t n, uint64_t seed);

/* Words from a small vocabulary: compresses several-fold, like logs or text files. */
void fill_text(uint8_t *p, size_t n, uint64_t seed);

/* Builds a container of nchunks chunks of size len (kind per chunk, or alternating if mixed). */
uint8_t *build(const char *vm, uint64_t id, int nchunks, size_t len, int mixed, int kind,
               size_t *size);

/* Expected raw bytes of chunk i as build() made them. */
void expected_chunk(uint8_t *p, size_t len, int i, int mixed, int kind);

void check_all_slots_read_back(const uint8_t *obj, size_t size, int nchunks, size_t len, int mixed,
                               int kind);

vmd_ctr *parse_ok(const uint8_t *obj, size_t size);

/* A valid 4-slot container: RAW, ZSTD, a DEAD RAW and a RECLAIMED slot. */
uint8_t *base_container(size_t *size);

void put32(uint8_t *p, uint32_t v);

void put64(uint8_t *p, uint64_t v);

uint64_t table_off_of(const uint8_t *obj);

/* The suites, in the order test_ctr.c runs them. */
extern const vmd_test_case vmd_ctr_format_tests[];
extern const vmd_test_case vmd_ctr_msg_tests[];
extern const vmd_test_case vmd_ctr_method_tests[];

#endif /* VMD_TEST_CTR_H */
