/*
 * vmd-gen.c - deterministic, seeded generator of VM disk images and of the
 * dirty maps of their next snapshots, for the backup/restore tests and the
 * benchmarks. No dependency beyond libc.
 *
 *   vmd-gen base --seed S --size BYTES --os-family F OUT.img
 *   vmd-gen mutate --seed S --in PARENT.img --out CHILD.img --dirty-map CHILD.map
 *                  [--cbt-map CHILD.cbt] [--rate R]
 *   vmd-gen fleet --seed S --size BYTES [--vms N] [--snaps K] [--families F,...]
 *                 [--rate R] [--popular P] [--zipf E] [--zipf-head H] OUTDIR
 *   vmd-gen diffmap OLD.img NEW.img OUT.map
 *   vmd-gen stats FLEETDIR
 *
 * Sizes take a K, M, G or T suffix (binary: 1K = 1024); any size is fine, it
 * need not be a multiple of 2 MiB or 4 KiB. The same arguments always give the
 * same bytes (the output depends on nothing else: not the time, not the
 * buffer sizes, not the machine). Output files are written sparse where they
 * hold zeros (64 KiB pieces); the content is what counts, compare with cmp.
 * Memory is bounded (a few MiB) whatever the image size: both subcommands
 * stream.
 *
 * Randomness: SplitMix64 turns a key (seed, family, extent number...) into
 * the 256-bit state of a xoshiro256** generator; every extent of content has
 * its own generator, so content depends only on its key and its position in
 * the extent.
 *
 * base - the layout of the disk comes in two layers:
 *   1. the family layer, from F only: from offset 0, alternating OS extents
 *      (256 KiB - 8 MiB; the first one is 1 MiB at offset 0, the "boot area")
 *      and free extents (512 KiB - 16 MiB). The content of the n-th OS extent
 *      is derived from (F, n): two VMs of one family hold the same OS bytes at
 *      the same offsets, whatever their seed and size. OS content is a mix per
 *      4 KiB block of text, "binary" (random bytes with half of them zero),
 *      random and zero blocks.
 *   2. the VM layer, from S: each free extent is cut into sub-extents of text
 *      (compressible: words, numbers, lines; 64 KiB - 2 MiB), random data
 *      (incompressible; 64 KiB - 2 MiB), small zero runs (4 KiB - 1 MiB) and
 *      large zero runs (4 - 16 MiB, where the extent has room). Text and random
 *      data are unique to the VM.
 *   Images of 8 MiB or more end with a zero tail of size/8 (unused space at
 *   the end of a disk); from 16 MiB on it holds at least one whole 2 MiB
 *   segment, so every such image has a zero segment.
 *
 * mutate - the next snapshot of PARENT: a plan of non-overlapping edits,
 *   derived from S and the parent (its size and where its zero runs are), then
 *   one streaming pass that copies the parent and applies them:
 *     overwrite  4 KiB - 1 MiB at a 4 KiB boundary replaced by new data
 *     insert     in a window of 64 KiB - 1 MiB, K bytes (1 - 16 KiB, any
 *                count) of new data inserted at any byte; the rest of the
 *                window shifts right and its last K bytes fall off (a file
 *                rewritten in place inside a filesystem: the disk size stays)
 *     delete     in such a window, K bytes removed at any byte; the rest
 *                shifts left and K bytes of new data fill the window's end
 *     fill       new data (4 KiB - 1 MiB) written into a zero run of the parent
 *     zero       64 KiB - 2 MiB at a 4 KiB boundary zeroed
 *   R (default 0.02) is the fraction of the disk to change: one edit of each
 *   kind (when the disk has room for it), then edits of random kinds until R
 *   of the disk is covered. R = 0 gives an identical copy and an empty map.
 *   New data is text or random, unique to (S, edit number).
 *   The dirty map (docs/dirty-maps.md, text list: segment numbers and ranges
 *   N-M of 2 MiB segments) marks every segment holding a changed byte.
 *   --cbt-map writes the same changes as a XenServer CBT bitmap (1 bit per
 *   64 KiB block, least significant bit first, base64 after a "cbt:" line,
 *   wrapped at 76 columns); it takes size / 512 KiB bytes of memory.
 *   --verbose lists the edits on stderr.
 *
 * fleet - N VMs (default 4) x K snapshots (default 4) into OUTDIR, the input
 *   of the side-by-side benchmark (docs/datasets.md):
 *     OUTDIR/vmNN/1.img          snapshot 1: `base` of family F[v mod count]
 *                                (default debian,ubuntu,centos) and seed
 *                                mix(S, v), plus the popular layer (below)
 *     OUTDIR/vmNN/K.img, K.map   snapshot K >= 2: `mutate` of K-1 with seed
 *                                mix(mix(S, v), K) and rate R (default 0.02),
 *                                plus shared updates (below), and its map
 *     OUTDIR/fleet.list          "VM SNAP IMAGE MAP" per snapshot in backup
 *                                order (every snapshot 1, then every 2, ...)
 *   Popular layer: a pool of files (64 KiB - 1 MiB of OS-like blocks) shared by
 *   the fleet, ranked 1, 2, ...; VM v holds file r with probability
 *   min(1, (H / r)^E) (E default 1, H by default a quarter of the files one VM
 *   takes), so the first H files are in every VM and the tail in few: a
 *   Zipf-like popularity. A fraction P (default 0.5) of the VM's text and
 *   random sub-extents take the next bytes of the VM's included files, in rank
 *   order, at 4 KiB boundaries (struct popular).
 *   Shared updates ("new files" churn): each fill edit (new data in a zero run)
 *   of a later snapshot is, with probability 1/2, a piece of update j of
 *   snapshot K of the family (j = its rank among the fill edits), the same
 *   bytes in every VM of the family; the others are unique to the VM.
 *   A VM's images are made one after the other, streaming: memory stays that
 *   of base and mutate.
 *
 * diffmap - the text dirty map (2 MiB segments) of NEW against OLD, found by
 *   comparing them segment by segment: for images edited by other tools
 *   (tests/gen/vmd-osimg). Both must have the same size.
 *
 * stats - reference figures of a fleet directory (its fleet.list), as
 *   key=value lines: logical bytes, non-zero bytes, perfect dedup (unique
 *   non-zero 4 KiB blocks of the fleet x 4 KiB), per-VM dedup (sum over VMs of
 *   their unique non-zero blocks), dirty-segment-only bytes (snapshots without a
 *   map whole, the others' marked segments; and the same without zero blocks),
 *   and how many blocks are held by 1, 2, ... VMs. Blocks are told apart by a
 *   128-bit hash (hash128) in an open-addressing table of 24-byte entries, at
 *   most 70% full (10 - 20 MiB per GiB of unique data); images are streamed.
 *
 * Exit status: 0 success; 1 error, one line "vmd-gen: error: ..." on stderr;
 * 2 usage.
 *
 * Files: this one (usage, errors, the subcommand switch), gen_content.c (the
 * generators: keys, streams, block content, the sparse writer, sizes), and
 * one file per subcommand: gen_base.c (with the popular layer of fleets),
 * gen_mutate.c, gen_fleet.c, gen_diffmap.c, gen_stats.c; vmd-gen.h joins them.
 */
#include "vmd-gen.h"

const char *prog = "vmd-gen";

void die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: error: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

#define USAGE                                                                                      \
    "usage: %s base --seed S --size BYTES --os-family F OUT.img\n"                                 \
    "       %s mutate --seed S --in PARENT.img --out CHILD.img --dirty-map CHILD.map\n"            \
    "                 [--cbt-map FILE] [--rate R] [--verbose]\n"                                   \
    "       %s fleet --seed S --size BYTES [--vms N] [--snaps K] [--families F1,F2,...]\n"         \
    "                [--rate R] [--popular P] [--zipf E] [--zipf-head H] [--verbose] OUTDIR\n"     \
    "       %s diffmap OLD.img NEW.img OUT.map\n"                                                  \
    "       %s stats FLEETDIR\n"

void usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n" USAGE, prog, prog, prog, prog, prog);
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage_error("a subcommand is needed");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        printf(USAGE, prog, prog, prog, prog, prog);
        return 0;
    }
    if (strcmp(argv[1], "base") == 0)
        return cmd_base(argc - 1, argv + 1);
    if (strcmp(argv[1], "mutate") == 0)
        return cmd_mutate(argc - 1, argv + 1);
    if (strcmp(argv[1], "fleet") == 0)
        return cmd_fleet(argc - 1, argv + 1);
    if (strcmp(argv[1], "diffmap") == 0)
        return cmd_diffmap(argc - 1, argv + 1);
    if (strcmp(argv[1], "stats") == 0)
        return cmd_stats(argc - 1, argv + 1);
    usage_error("unknown subcommand '%s'", argv[1]);
}
