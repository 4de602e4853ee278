/*
 * rng.h - the seeded generators of test data, one definition for every test,
 * fuzzer, benchmark and for vmd-gen.
 *
 * Two generators, each a pure function of a 64-bit state the caller owns (no
 * hidden global, so two streams never disturb each other):
 *   splitmix64  Vigna's SplitMix64: the state advances by the golden-ratio
 *               constant and the output is a mix of it. Used where the data
 *               must look like SHA-256 output (random fingerprints, random
 *               chunks) and to expand a key into other seeds (vmd-gen).
 *   xorshift64  Marsaglia's xorshift with shifts 13, 7, 17: the state is the
 *               output. A zero state stays zero; seed with anything else.
 * The fill functions write what the tests of each data set were written
 * against, so the same seed gives the same bytes as before they moved here:
 *   vmd_test_fill_splitmix  8 bytes per output (host order), then the low
 *                           byte of one output per byte of a tail under 8
 *   vmd_test_fill_xorshift  the low byte of one output per byte
 *   vmd_test_fill_xorshift_words  as fill_splitmix, with xorshift64
 */
#ifndef VMD_TEST_RNG_H
#define VMD_TEST_RNG_H

#include <stddef.h>
#include <stdint.h>

/* The next SplitMix64 output; advances *s. */
uint64_t vmd_test_splitmix64(uint64_t *s);

/* The next xorshift64 (13, 7, 17) output, which is also the new *s. */
uint64_t vmd_test_xorshift64(uint64_t *s);

/* len bytes of SplitMix64 output from *s into p (8 per output, then 1 per output). */
void vmd_test_fill_splitmix(uint8_t *p, size_t len, uint64_t *s);

/* len bytes into p, each the low byte of one xorshift64 output from *s. */
void vmd_test_fill_xorshift(uint8_t *p, size_t len, uint64_t *s);

/* len bytes into p, 8 per xorshift64 output, a tail of len % 8 one per output. */
void vmd_test_fill_xorshift_words(uint8_t *p, size_t len, uint64_t *s);

#endif /* VMD_TEST_RNG_H */
