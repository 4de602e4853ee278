/*
 * test_idx_msg.h - the index messages as the tests of test_idx see them: one
 * table row per message of include/format/index_msg.h (test_idx_msg_codecs.c).
 *
 * A row names the message, encodes one valid sample of it, and decodes any
 * bytes with the message's decoder, re-encoding what decodes (a decode that
 * succeeds must give back the very same bytes). Two files use the table:
 * test_idx_msg.c (round trips and the envelope rules) and
 * test_idx_msg_bad.c (malformed input, limits, encoders that refuse).
 *
 * The samples are made of sample_fp() fingerprints (partition PART of 2^BITS,
 * value n in the last byte), so that a test may patch a byte of a sample at an
 * offset that docs/format.md ("Methods on partitions") gives.
 */
#ifndef VMD_TEST_IDX_MSG_H
#define VMD_TEST_IDX_MSG_H

#include "test_idx.h"

typedef struct idx_codec {
    const char *name;
    /* Encodes the valid sample; *out is malloc()ed. */
    int (*sample)(uint8_t **out, size_t *len);
    /* Decodes b; on success *out (malloc()ed) is the re-encoding. Returns the decoder's rc. */
    int (*again)(const uint8_t *b, size_t n, uint8_t **out, size_t *len);
    size_t size; /* bytes of the sample */
} idx_codec;

extern const idx_codec idx_codecs[];
extern const size_t idx_ncodecs;

/* The row of message `name` ("register_req", "top_reply", ...). */
const idx_codec *idx_codec_find(const char *name);

/* The decoder's result on b; a success must re-encode to b itself (asserted). */
int idx_codec_decode(const idx_codec *c, const uint8_t *b, size_t n);

/* Decodes c's sample with byte `at` set to v (or the u32 at `at` when wide). */
int idx_codec_patched(const idx_codec *c, size_t at, uint32_t v, int wide);

/* Sets the envelope's payload length of the n bytes at b to n - 6. */
void idx_envelope_set_length(uint8_t *b, size_t n);

/* A fingerprint of partition PART of 2^BITS: zero but for its first byte and n in its last. */
vmd_fp sample_fp(uint8_t n);

/* Arrays the samples are made of, for tests that build messages around them. */
extern vmd_fp idx_sample_fps[2];
extern uint8_t idx_sample_statuses[3];
extern uint64_t idx_sample_pop_refs[2];
extern vmd_idx_top_item idx_sample_top_items[2];

#endif /* VMD_TEST_IDX_MSG_H */
