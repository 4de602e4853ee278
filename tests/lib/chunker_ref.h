/*
 * chunker_ref.h - the chunker's cut rule written out plainly, the reference
 * that test_chunker and fuzz_chunker compare client/chunk/chunker.c with.
 *
 * Kept apart from the fixtures library: it needs the chunker's gear table,
 * so only programs that link chunker.c compile it (add chunker_ref.c to
 * their sources).
 */
#ifndef VMD_TEST_CHUNKER_REF_H
#define VMD_TEST_CHUNKER_REF_H

#include <stddef.h>
#include <stdint.h>

#include "chunk/chunker.h"

/*
 * The length of the first chunk of b[0..len) under c's parameters, by the rule
 * of chunk/chunker.h taken one byte at a time.
 */
size_t vmd_test_reference_cut(const vmd_chunker *c, const uint8_t *b, size_t len);

#endif /* VMD_TEST_CHUNKER_REF_H */
