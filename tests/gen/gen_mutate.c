/*
 * gen_mutate.c - vmd-gen mutate: the next snapshot of a parent image, a plan
 * of non-overlapping edits applied in one streaming pass, and its dirty maps
 * (text list and CBT bitmap).
 * The tool and its formats are described in vmd-gen.c.
 */
#include "vmd-gen.h"

enum edit_kind { ED_OVERWRITE, ED_INSERT, ED_DELETE, ED_FILL, ED_ZERO, ED_KINDS };
static const char *const edit_names[] = {"overwrite", "insert", "delete", "fill", "zero"};

typedef struct edit {
    uint64_t start, len; /* bytes of the disk the edit replaces */
    uint64_t at, k;      /* insert/delete: K bytes at byte `at` of the disk */
    enum edit_kind kind;
    uint64_t key; /* of the new data */
    int text;     /* new data is text (else random) */
    int shared;   /* fleet: new data is a piece of a shared update (OS-like) */
} edit;

typedef struct run {
    uint64_t start, len;
} run;

void xpread(int fd, void *p, size_t n, uint64_t off, const char *path)
{
    uint8_t *c = p;
    while (n > 0) {
        ssize_t r = pread(fd, c, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            die("cannot read %s: %s", path, strerror(errno));
        if (r == 0)
            die("cannot read %s: unexpected end of file at byte %" PRIu64, path, off);
        c += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
}

/* Zero runs of the parent, in whole ZSCAN pieces, at least ZSCAN long (at most MAX_RUNS). */
static run *scan_zero_runs(int fd, const char *path, uint64_t size, uint8_t *buf, size_t *count)
{
    run *runs = malloc(MAX_RUNS * sizeof *runs);
    size_t n = 0;
    int open_run = 0;
    if (!runs)
        die("out of memory");
    for (uint64_t off = 0; off + ZSCAN <= size; off += IOBUF) {
        size_t k = size - off < IOBUF ? (size_t)(size - off) : IOBUF;
        k -= k % ZSCAN;
        xpread(fd, buf, k, off, path);
        for (size_t i = 0; i < k; i += ZSCAN) {
            if (all_zero(buf + i, ZSCAN)) {
                if (open_run) {
                    runs[n - 1].len += ZSCAN;
                } else if (n < MAX_RUNS) {
                    runs[n++] = (run){off + i, ZSCAN};
                    open_run = 1;
                }
            } else {
                open_run = 0;
            }
        }
    }
    *count = n;
    return runs;
}

/* Inserts e into the sorted array unless it overlaps an edit there; 1 if inserted. */
static int plan_add(edit *plan, size_t *n, const edit *e)
{
    size_t lo = 0, hi = *n;
    while (lo < hi) { /* first edit starting at or after e */
        size_t mid = (lo + hi) / 2;
        if (plan[mid].start < e->start)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < *n && plan[lo].start < e->start + e->len)
        return 0;
    if (lo > 0 && plan[lo - 1].start + plan[lo - 1].len > e->start)
        return 0;
    memmove(plan + lo + 1, plan + lo, (*n - lo) * sizeof *plan);
    plan[lo] = *e;
    (*n)++;
    return 1;
}

/* A 4 KiB-aligned start for len bytes in [lo, lo + room) (room >= len). */
static uint64_t place(rng *r, uint64_t lo, uint64_t room, uint64_t len)
{
    uint64_t slots = (room - len) / BLOCK;
    return lo + rng_range(r, 0, slots) * BLOCK;
}

/* A length of lo..hi blocks, at most maxlen and room bytes. */
static uint64_t draw_len(rng *r, uint64_t lo, uint64_t hi, uint64_t maxlen, uint64_t room)
{
    uint64_t len = rng_range(r, lo, hi) * BLOCK;
    if (len > maxlen)
        len = maxlen;
    return len < room ? len : room;
}

/*
 * One candidate edit of kind k, at most maxlen bytes long, or 0 if the disk
 * has no room for it.
 */
static int draw_edit(rng *r, enum edit_kind k, uint64_t size, uint64_t maxlen, const run *runs,
                     size_t nruns, edit *e)
{
    uint64_t len;
    memset(e, 0, sizeof *e);
    e->kind = k;
    switch (k) {
    case ED_OVERWRITE:
        len = draw_len(r, 1, 256, maxlen, size); /* 4 KiB - 1 MiB */
        e->start = place(r, 0, size, len);
        e->len = len;
        break;
    case ED_ZERO:
        len = draw_len(r, 16, 512, maxlen, size); /* 64 KiB - 2 MiB */
        e->start = place(r, 0, size, len);
        e->len = len;
        break;
    case ED_INSERT:
    case ED_DELETE: {
        len = draw_len(r, 16, 256, maxlen, size); /* window: 64 KiB - 1 MiB */
        if (len < 2)
            return 0;
        e->start = place(r, 0, size, len);
        e->len = len;
        uint64_t kmax = len / 4 < 16 * KIB ? len / 4 : 16 * KIB;
        e->k = rng_range(r, 1, kmax ? kmax : 1);
        e->at = e->start + rng_range(r, 0, len - e->k - 1);
        break;
    }
    case ED_FILL: {
        if (nruns == 0)
            return 0;
        const run *z = &runs[rng_range(r, 0, nruns - 1)];
        len = draw_len(r, 1, 256, maxlen, z->len); /* 4 KiB - 1 MiB */
        e->start = place(r, z->start, z->len, len);
        e->len = len;
        break;
    }
    default:
        return 0;
    }
    if (e->start + e->len > size)
        return 0;
    e->text = (rng_next(r) % 10) < 6;
    return 1;
}

/* First and last byte + 1 of the disk an edit changes. */
static void edit_dirty(const edit *e, uint64_t *from, uint64_t *to)
{
    *from = (e->kind == ED_INSERT || e->kind == ED_DELETE) ? e->at : e->start;
    *to = e->start + e->len;
}

/* Copies [off, off + n) of the parent to the writer. */
static void copy_parent(writer *w, int fd, const char *path, uint64_t off, uint64_t n)
{
    while (n > 0) {
        size_t k = n < IOBUF ? (size_t)n : IOBUF;
        uint8_t *dst = writer_space(w, &k);
        xpread(fd, dst, k, off, path);
        writer_commit(w, k);
        off += k;
        n -= k;
    }
}

void put_range(FILE *f, uint64_t a, uint64_t b)
{
    if (a == b)
        fprintf(f, "%" PRIu64 "\n", a);
    else
        fprintf(f, "%" PRIu64 "-%" PRIu64 "\n", a, b);
}

static void write_segment_map(const char *path, const edit *plan, size_t n, uint64_t size,
                              uint64_t seed, double rate, uint64_t changed)
{
    FILE *f = fopen(path, "w");
    if (!f)
        die("cannot create %s: %s", path, strerror(errno));
    fprintf(f,
            "# vmd-gen mutate --seed %" PRIu64 " --rate %g: %zu edits, %" PRIu64
            " bytes changed\n# disk of %" PRIu64 " bytes, %" PRIu64 " segments of 2 MiB\n",
            seed, rate, n, changed, size, (uint64_t)((size + SEGMENT - 1) / SEGMENT));
    int have = 0;
    uint64_t a = 0, b = 0; /* pending range of segments */
    for (size_t i = 0; i < n; i++) {
        uint64_t from, to;
        edit_dirty(&plan[i], &from, &to);
        uint64_t s = from / SEGMENT, t = (to - 1) / SEGMENT;
        if (have && s <= b + 1) {
            if (t > b)
                b = t;
            continue;
        }
        if (have)
            put_range(f, a, b);
        a = s;
        b = t;
        have = 1;
    }
    if (have)
        put_range(f, a, b);
    if (fclose(f) != 0)
        die("cannot write %s: %s", path, strerror(errno));
}

static void write_cbt_map(const char *path, const edit *plan, size_t n, uint64_t size)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint64_t blocks = (size + CBT_UNIT - 1) / CBT_UNIT;
    size_t bytes = (size_t)((blocks + 7) / 8);
    uint8_t *bm = calloc(bytes + 2, 1);
    if (!bm)
        die("out of memory");
    for (size_t i = 0; i < n; i++) {
        uint64_t from, to;
        edit_dirty(&plan[i], &from, &to);
        for (uint64_t b = from / CBT_UNIT; b <= (to - 1) / CBT_UNIT; b++)
            bm[b / 8] |= (uint8_t)(1u << (b % 8));
    }
    FILE *f = fopen(path, "w");
    if (!f)
        die("cannot create %s: %s", path, strerror(errno));
    fputs("cbt:\n", f);
    int col = 0;
    for (size_t i = 0; i < bytes; i += 3) {
        uint32_t v = (uint32_t)bm[i] << 16 | (uint32_t)bm[i + 1] << 8 | bm[i + 2];
        char q[4] = {b64[v >> 18 & 63], b64[v >> 12 & 63], b64[v >> 6 & 63], b64[v & 63]};
        if (bytes - i < 3)
            q[3] = '=';
        if (bytes - i < 2)
            q[2] = '=';
        fwrite(q, 1, 4, f);
        col += 4;
        if (col == 76) {
            fputc('\n', f);
            col = 0;
        }
    }
    if (col)
        fputc('\n', f);
    free(bm);
    if (fclose(f) != 0)
        die("cannot write %s: %s", path, strerror(errno));
}

void mutate_image(const char *in, const char *out, const char *map, const char *cbt, uint64_t seed,
                  double rate, int verbose, const update *upd)
{
    int fd = open(in, O_RDONLY);
    struct stat st, ost;
    if (fd < 0 || fstat(fd, &st) < 0)
        die("cannot open %s: %s", in, strerror(errno));
    if (S_ISDIR(st.st_mode))
        die("cannot read %s: %s", in, strerror(EISDIR));
    off_t end_off = lseek(fd, 0, SEEK_END);
    if (end_off <= 0)
        die("%s is empty or not seekable", in);
    uint64_t size = (uint64_t)end_off;
    if (stat(out, &ost) == 0 && ost.st_dev == st.st_dev && ost.st_ino == st.st_ino)
        die("--out %s is the parent image", out);

    uint8_t *buf = malloc(IOBUF);
    edit *plan = malloc(MAX_EDITS * sizeof *plan);
    if (!buf || !plan)
        die("out of memory");
    size_t nruns;
    run *runs = scan_zero_runs(fd, in, size, buf, &nruns);

    /* The plan: one edit of each kind, then random kinds until rate of the disk is covered. */
    rng r;
    rng_seed(&r, mix(0x6d7574617465ULL /* "mutate" */, seed));
    size_t n = 0;
    uint64_t budget = (uint64_t)(rate * (double)size), changed = 0, attempts = 0;
    /* Edits no longer than the budget (but at least 64 KiB), so small disks keep near R. */
    uint64_t maxlen = budget / BLOCK * BLOCK < 16 * BLOCK ? 16 * BLOCK : budget / BLOCK * BLOCK;
    for (int k = 0; budget > 0 && k < ED_KINDS; k++) {
        for (int tries = 0; tries < 50; tries++) {
            edit e;
            if (draw_edit(&r, (enum edit_kind)k, size, maxlen, runs, nruns, &e) &&
                plan_add(plan, &n, &e)) {
                uint64_t from, to;
                edit_dirty(&e, &from, &to);
                changed += to - from;
                break;
            }
        }
    }
    while (changed < budget && n < MAX_EDITS && attempts < 1000 + 10 * (uint64_t)n) {
        static const enum edit_kind kinds[20] = {
            ED_OVERWRITE, ED_OVERWRITE, ED_OVERWRITE, ED_OVERWRITE, ED_OVERWRITE,
            ED_OVERWRITE, ED_OVERWRITE, ED_OVERWRITE, ED_INSERT,    ED_INSERT,
            ED_INSERT,    ED_DELETE,    ED_DELETE,    ED_DELETE,    ED_FILL,
            ED_FILL,      ED_FILL,      ED_ZERO,      ED_ZERO,      ED_ZERO};
        edit e;
        attempts++;
        if (!draw_edit(&r, kinds[rng_next(&r) % 20], size, maxlen, runs, nruns, &e))
            continue;
        if (!plan_add(plan, &n, &e))
            continue;
        uint64_t from, to;
        edit_dirty(&e, &from, &to);
        changed += to - from;
    }
    free(runs);
    /* Keys of the new data, in disk order: independent of the order of drawing. */
    for (size_t i = 0; i < n; i++)
        plan[i].key = mix(mix(seed, 0x6e6577ULL /* "new" */), i);
    if (upd) { /* shared updates: own rng, so the plan above is that of mutate */
        rng ur;
        uint64_t j = 0;
        rng_seed(&ur, mix(UPDATE_DOMAIN, seed));
        for (size_t i = 0; i < n; i++) {
            if (plan[i].kind != ED_FILL)
                continue;
            if (rng_next(&ur) % 2 == 0) {
                plan[i].shared = 1;
                plan[i].key = mix(upd->key, j);
            }
            j++;
        }
    }

    writer w;
    writer_open(&w, out);
    gen *g = malloc(sizeof *g);
    if (!g)
        die("out of memory");
    uint64_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        const edit *e = &plan[i];
        enum gen_kind nk = e->shared ? GEN_OS : e->text ? GEN_TEXT : GEN_RANDOM;
        if (verbose)
            fprintf(stderr, "%-9s %12" PRIu64 " +%-8" PRIu64 " at %12" PRIu64 " k %6" PRIu64 "\n",
                    edit_names[e->kind], e->start, e->len, e->at, e->k);
        copy_parent(&w, fd, in, pos, e->start - pos);
        switch (e->kind) {
        case ED_OVERWRITE:
        case ED_FILL:
            gen_init(g, nk, e->key);
            writer_gen(&w, g, e->len);
            break;
        case ED_ZERO:
            gen_init(g, GEN_ZERO, 0);
            writer_gen(&w, g, e->len);
            break;
        case ED_INSERT: /* parent[start, at) new(k) parent[at, end - k) */
            copy_parent(&w, fd, in, e->start, e->at - e->start);
            gen_init(g, nk, e->key);
            writer_gen(&w, g, e->k);
            copy_parent(&w, fd, in, e->at, e->start + e->len - e->k - e->at);
            break;
        case ED_DELETE: /* parent[start, at) parent[at + k, end) new(k) */
            copy_parent(&w, fd, in, e->start, e->at - e->start);
            copy_parent(&w, fd, in, e->at + e->k, e->start + e->len - e->at - e->k);
            gen_init(g, nk, e->key);
            writer_gen(&w, g, e->k);
            break;
        default:
            break;
        }
        pos = e->start + e->len;
    }
    copy_parent(&w, fd, in, pos, size - pos);
    writer_close(&w);
    close(fd);

    write_segment_map(map, plan, n, size, seed, rate, changed);
    if (cbt)
        write_cbt_map(cbt, plan, n, size);
    if (verbose)
        fprintf(stderr, "%zu edits, %" PRIu64 " of %" PRIu64 " bytes changed\n", n, changed, size);
    free(g);
    free(plan);
    free(buf);
}

int cmd_mutate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"seed", required_argument, NULL, 's'},    {"in", required_argument, NULL, 'i'},
        {"out", required_argument, NULL, 'o'},     {"dirty-map", required_argument, NULL, 'd'},
        {"cbt-map", required_argument, NULL, 'c'}, {"rate", required_argument, NULL, 'r'},
        {"verbose", no_argument, NULL, 'v'},       {NULL, 0, NULL, 0}};
    const char *seed_s = NULL, *in = NULL, *out = NULL, *map = NULL, *cbt = NULL;
    double rate = 0.02;
    int verbose = 0, c;
    char *end;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            seed_s = optarg;
            break;
        case 'i':
            in = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'd':
            map = optarg;
            break;
        case 'c':
            cbt = optarg;
            break;
        case 'v':
            verbose = 1;
            break;
        case 'r':
            rate = strtod(optarg, &end);
            if (*end || end == optarg || !(rate >= 0 && rate <= 1))
                usage_error("--rate: a fraction from 0 to 1, not '%s'", optarg);
            break;
        default:
            usage_error("mutate: bad option");
        }
    }
    if (!seed_s || !in || !out || !map)
        usage_error("mutate needs --seed, --in, --out and --dirty-map");
    if (optind != argc)
        usage_error("mutate: unexpected argument '%s'", argv[optind]);
    uint64_t seed = parse_size("--seed", seed_s);
    mutate_image(in, out, map, cbt, seed, rate, verbose, NULL);
    return 0;
}
