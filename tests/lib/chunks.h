/*
 * chunks.h - chunk makers shared by the tests and benchmarks: text-like bytes
 * from a word list (random bytes come from rng.h).
 *
 * Text-like chunks compress (zstd stores them ZSTD), random ones do not (RAW),
 * so container tests mix the two. Each test keeps its own word list: the
 * lists are part of the data the tests were written against.
 */
#ifndef VMD_TEST_CHUNKS_H
#define VMD_TEST_CHUNKS_H

#include <stddef.h>
#include <stdint.h>

/*
 * n bytes of words into p: word k = xorshift64(*s) % nwords, copied whole, the
 * last one cut at n. The same (words, *s) give the same bytes.
 */
void vmd_test_fill_words(uint8_t *p, size_t n, const char *const *words, size_t nwords,
                         uint64_t *s);

#endif /* VMD_TEST_CHUNKS_H */
