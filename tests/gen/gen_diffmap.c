/*
 * gen_diffmap.c - vmd-gen diffmap: the text dirty map of one image against
 * another, found by comparing them segment by segment.
 * The tool and its formats are described in vmd-gen.c.
 */
#include "vmd-gen.h"

int open_image(const char *path, uint64_t *size)
{
    struct stat st;
    int fd = open(path, O_RDONLY);
    if (fd < 0 || fstat(fd, &st) < 0)
        die("cannot open %s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        die("cannot read %s: %s", path, strerror(EISDIR));
    off_t end = lseek(fd, 0, SEEK_END);
    if (end < 0)
        die("%s is not seekable", path);
    *size = (uint64_t)end;
    return fd;
}

int cmd_diffmap(int argc, char **argv)
{
    if (argc != 4)
        usage_error("diffmap needs OLD.img NEW.img OUT.map");
    const char *a = argv[1], *b = argv[2], *out = argv[3];
    uint64_t sa, sb;
    int fa = open_image(a, &sa), fb = open_image(b, &sb);
    if (sa != sb)
        die("%s has %" PRIu64 " bytes, %s %" PRIu64 ": a dirty map needs equal sizes", a, sa, b,
            sb);
    uint8_t *ba = malloc(SEGMENT), *bb = malloc(SEGMENT);
    if (!ba || !bb)
        die("out of memory");
    char *tmp = malloc(strlen(out) + 8);
    if (!tmp)
        die("out of memory");
    sprintf(tmp, "%s.tmp", out);
    FILE *f = fopen(tmp, "w");
    if (!f)
        die("cannot create %s: %s", tmp, strerror(errno));
    uint64_t nseg = (sa + SEGMENT - 1) / SEGMENT, dirty = 0, ra = 0, rb = 0;
    int have = 0;
    fprintf(f, "# vmd-gen diffmap: segments of 2 MiB where the images differ\n");
    for (uint64_t s = 0; s < nseg; s++) {
        size_t k = sa - s * SEGMENT < SEGMENT ? (size_t)(sa - s * SEGMENT) : SEGMENT;
        xpread(fa, ba, k, s * SEGMENT, a);
        xpread(fb, bb, k, s * SEGMENT, b);
        if (memcmp(ba, bb, k) == 0)
            continue;
        dirty++;
        if (have && s == rb + 1) {
            rb = s;
            continue;
        }
        if (have)
            put_range(f, ra, rb);
        ra = rb = s;
        have = 1;
    }
    if (have)
        put_range(f, ra, rb);
    fprintf(f, "# %" PRIu64 " of %" PRIu64 " segments differ\n", dirty, nseg);
    if (fclose(f) != 0 || rename(tmp, out) != 0)
        die("cannot write %s: %s", out, strerror(errno));
    close(fa);
    close(fb);
    free(ba);
    free(bb);
    free(tmp);
    return 0;
}
