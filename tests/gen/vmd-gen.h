/*
 * vmd-gen.h - what the files of vmd-gen share (vmd-gen.c describes the tool):
 * sizes, error exits, the keyed generators, block content, the sparse writer,
 * and each subcommand's entry point. The generators are deterministic: the
 * same key gives the same bytes on every machine and in every build.
 */
#ifndef VMD_GEN_H
#define VMD_GEN_H

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "rng.h" /* tests/lib: vmd_test_splitmix64 */

#define KIB       1024ULL
#define MIB       (1024ULL * KIB)
#define BLOCK     (4 * KIB)  /* filesystem block: unit of layout and of writes */
#define SEGMENT   (2 * MIB)  /* segment of the dirty map */
#define CBT_UNIT  (64 * KIB) /* one bit of a CBT bitmap */
#define IOBUF     (1 * MIB)  /* streaming buffer */
#define HOLE      (64 * KIB) /* zero pieces this large are skipped (sparse output) */
#define ZSCAN     (64 * KIB) /* granularity of the parent's zero-run scan */
#define MAX_RUNS  (1 << 16)  /* zero runs of the parent remembered for "fill" */
#define MAX_EDITS 100000

/* Key domains: the first word mixed into a key, so streams of different uses never meet. */
#define FAMILY_DOMAIN 0x66616d696c79ULL   /* "family" */
#define VM_DOMAIN     0x766d7365656400ULL /* "vmseed" */
#define POOL_DOMAIN   0x706f6f6cULL       /* "pool" */
#define UPDATE_DOMAIN 0x757064617465ULL   /* "update" */

extern const char *prog;

/* One line "vmd-gen: error: ..." on stderr, exit 1. */
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* The message and the usage on stderr, exit 2. */
void usage_error(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* --- PRNG: SplitMix64 for keys, xoshiro256** for streams (gen_content.c) --- */

/* One 64-bit key from two, order-sensitive. */
uint64_t mix(uint64_t a, uint64_t b);

uint64_t fnv1a(const char *str);

typedef struct rng {
    uint64_t s[4];
} rng;

void rng_seed(rng *r, uint64_t key);

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [lo, hi] (hi - lo well below 2^64: the modulo bias is negligible). */
uint64_t rng_range(rng *r, uint64_t lo, uint64_t hi);

/* --- content: split-independent streams of 4 KiB blocks (gen_content.c) --- */

enum gen_kind { GEN_ZERO, GEN_TEXT, GEN_RANDOM, GEN_OS };

typedef struct gen {
    enum gen_kind kind;
    rng r;
    uint8_t blk[BLOCK];
    size_t pos;     /* next byte of blk to hand out; BLOCK: empty */
    char carry[32]; /* text: rest of a word that did not fit the last block */
    size_t carry_pos, carry_len;
    unsigned line_len; /* text: characters on the current line */
} gen;

void gen_init(gen *g, enum gen_kind kind, uint64_t key);

/* The next n bytes of the stream; the same whatever the sizes of the calls. */
void gen_fill(gen *g, uint8_t *p, size_t n);

int all_zero(const uint8_t *p, size_t n);

/* --- output: a buffered, sparse writer (gen_content.c) --- */

typedef struct writer {
    int fd;
    const char *path;
    int sparse;   /* regular file: zero pieces become holes */
    uint64_t off; /* bytes handed to the writer so far */
    uint8_t *buf; /* IOBUF bytes; flushed at multiples of IOBUF, so pieces are aligned */
    size_t len;
} writer;

void xwrite(int fd, const void *p, size_t n, const char *path);

void writer_open(writer *w, const char *path);

/* Room for at most n more bytes at the end of the buffer: a pointer and its size. */
uint8_t *writer_space(writer *w, size_t *n);

void writer_commit(writer *w, size_t n);

void writer_gen(writer *w, gen *g, uint64_t n);

void writer_close(writer *w);

uint64_t parse_size(const char *what, const char *s);

/* --- base and the popular layer of a fleet (gen_base.c) --- */

/*
 * The popular layer of one VM of a fleet: a pool of "popular files" shared by
 * the whole fleet, ranked 1, 2, 3...; file r is 64 KiB - 1 MiB long and its
 * content (OS-like blocks) derives from (pool key, r) only. VM v holds file r
 * with probability min(1, (head / r)^s), decided by a hash of (pool, r, v): the
 * first `head` files are in every VM, file 10 x head in a tenth of them, and
 * so on (Zipf-like popularity). The VM's included files, in rank order, form
 * one stream; a fraction `permille` of the VM's text and random sub-extents
 * (drawn by an rng of its own, so the base layout is unchanged) take the next
 * bytes of that stream instead of their own data. Files and sub-extents are
 * whole 4 KiB blocks, so a popular block is at a 4 KiB boundary in every VM.
 */
typedef struct popular {
    rng pick;          /* which sub-extents are popular */
    uint64_t pool_key; /* content and lengths of the files */
    uint64_t vm_key;   /* inclusion decisions of this VM */
    double head, s;
    unsigned permille;
    uint64_t rank, left; /* current file; bytes of it still to write */
    int ended;           /* no more files (see popular_write) */
    gen g;               /* content of the current file */
    uint64_t files, bytes;
} popular;

/* Uniform in [0, 1) from a key. */
double unit(uint64_t key);

int popular_holds(const popular *p, uint64_t r);

uint64_t popular_file_len(const popular *p, uint64_t r);

/*
 * Up to n bytes of the VM's popular stream into w; returns how many. Fewer
 * than n only when the stream has ended: no file of the next 2^22 ranks is
 * held by the VM (possible only with a tiny head or a steep exponent).
 */
uint64_t popular_write(writer *w, popular *p, uint64_t n);

/*
 * A base image: the family layer of `family`, the VM layer of `seed`, and, when
 * pop is not NULL, the popular layer on top of the VM layer (see struct popular).
 * With pop NULL the bytes are those `vmd-gen base` has always written.
 */
void write_base(const char *path, uint64_t seed, uint64_t size, const char *family, popular *pop);

/* --- mutate (gen_mutate.c) --- */

/*
 * The next snapshot of the image `in`, written to `out`, its text dirty map to
 * `map` and, if cbt is not NULL, its CBT map to `cbt` (see the file comment).
 * With upd not NULL (fleet), fill edits carry, each with probability 1/2, a
 * piece of a shared update instead of data unique to the VM: the j-th fill edit
 * of the disk (in disk order) gets the stream (update key, j), the same in
 * every VM given the same key. With upd NULL the output is what `vmd-gen
 * mutate` has always written.
 */
typedef struct update {
    uint64_t key; /* fleet, family and snapshot number */
} update;

void mutate_image(const char *in, const char *out, const char *map, const char *cbt, uint64_t seed,
                  double rate, int verbose, const update *upd);

void xpread(int fd, void *p, size_t n, uint64_t off, const char *path);

void put_range(FILE *f, uint64_t a, uint64_t b);

/* --- the other files --- */

char *path_join(const char *dir, const char *name);

int open_image(const char *path, uint64_t *size);

/* The subcommands: argv[0] is the subcommand's name; return the exit status. */
int cmd_base(int argc, char **argv);
int cmd_mutate(int argc, char **argv);
int cmd_fleet(int argc, char **argv);
int cmd_diffmap(int argc, char **argv);
int cmd_stats(int argc, char **argv);

#endif /* VMD_GEN_H */
