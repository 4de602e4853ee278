/*
 * gen_fleet.c - vmd-gen fleet: N VMs x K snapshots, built from base and
 * mutate one image after the other, and fleet.list.
 * The tool and its formats are described in vmd-gen.c.
 */
#include "vmd-gen.h"

/* mkdir that accepts an existing directory. */
static void make_dir(const char *path)
{
    struct stat st;
    if (mkdir(path, 0755) == 0 || (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
        return;
    die("cannot create directory %s: %s", path, strerror(errno));
}

char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (!p)
        die("out of memory");
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

int cmd_fleet(int argc, char **argv)
{
    static const struct option opts[] = {{"seed", required_argument, NULL, 's'},
                                         {"vms", required_argument, NULL, 'n'},
                                         {"snaps", required_argument, NULL, 'k'},
                                         {"size", required_argument, NULL, 'z'},
                                         {"families", required_argument, NULL, 'f'},
                                         {"rate", required_argument, NULL, 'r'},
                                         {"popular", required_argument, NULL, 'p'},
                                         {"zipf", required_argument, NULL, 'e'},
                                         {"zipf-head", required_argument, NULL, 'h'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {NULL, 0, NULL, 0}};
    const char *seed_s = NULL, *size_s = NULL, *families = "debian,ubuntu,centos";
    uint64_t vms = 4, snaps = 4, head = 0;
    double rate = 0.02, popular_f = 0.5, zipf = 1.0;
    int verbose = 0, c;
    char *end;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            seed_s = optarg;
            break;
        case 'n':
            vms = parse_size("--vms", optarg);
            break;
        case 'k':
            snaps = parse_size("--snaps", optarg);
            break;
        case 'z':
            size_s = optarg;
            break;
        case 'f':
            families = optarg;
            break;
        case 'h':
            head = parse_size("--zipf-head", optarg);
            break;
        case 'v':
            verbose = 1;
            break;
        case 'r':
        case 'p':
        case 'e': {
            double v = strtod(optarg, &end);
            if (*end || end == optarg || !(v >= 0 && v <= (c == 'e' ? 8 : 1)))
                usage_error("--%s: %s, not '%s'",
                            c == 'r'   ? "rate"
                            : c == 'p' ? "popular"
                                       : "zipf",
                            c == 'e' ? "an exponent from 0 to 8" : "a fraction from 0 to 1",
                            optarg);
            if (c == 'r')
                rate = v;
            else if (c == 'p')
                popular_f = v;
            else
                zipf = v;
            break;
        }
        default:
            usage_error("fleet: bad option");
        }
    }
    if (!seed_s || !size_s)
        usage_error("fleet needs --seed and --size");
    if (optind + 1 != argc)
        usage_error("fleet needs exactly one output directory");
    if (vms < 1 || vms > 999)
        usage_error("--vms: from 1 to 999");
    if (snaps < 1 || snaps > 9999)
        usage_error("--snaps: from 1 to 9999");
    uint64_t seed = parse_size("--seed", seed_s);
    uint64_t size = parse_size("--size", size_s);
    if (size == 0)
        usage_error("--size must be above 0");
    if (head == 0) { /* a quarter of what one VM takes from the pool, see docs/datasets.md */
        double demand = popular_f * 0.27 * (double)size * 7 / 8 / (136.0 * BLOCK);
        head = demand / 4 > 2 ? (uint64_t)(demand / 4) : 2;
    }
    /* The families, comma-separated; VM v has family v mod count. */
    char *fams = strdup(families);
    char *fam[64];
    size_t nfam = 0;
    if (!fams)
        die("out of memory");
    for (char *t = strtok(fams, ","); t && nfam < 64; t = strtok(NULL, ","))
        fam[nfam++] = t;
    if (nfam == 0)
        usage_error("--families: at least one name");

    const char *dir = argv[optind];
    make_dir(dir);
    int width = vms > 99 ? 3 : 2;
    for (uint64_t v = 0; v < vms; v++) {
        char name[32], file[64];
        snprintf(name, sizeof name, "vm%0*" PRIu64, width, v + 1);
        char *vdir = path_join(dir, name);
        make_dir(vdir);
        const char *family = fam[v % nfam];
        uint64_t vseed = mix(seed, v + 1);
        popular *p = calloc(1, sizeof *p);
        if (!p)
            die("out of memory");
        rng_seed(&p->pick, mix(mix(POOL_DOMAIN + 1, seed), v + 1));
        p->pool_key = mix(POOL_DOMAIN, seed);
        p->vm_key = mix(VM_DOMAIN + 1, v + 1);
        p->head = (double)head;
        p->s = zipf;
        p->permille = (unsigned)(popular_f * 1000 + 0.5);
        snprintf(file, sizeof file, "%s/1.img", name);
        char *img = path_join(dir, file);
        write_base(img, vseed, size, family, p);
        if (verbose)
            fprintf(stderr,
                    "%s: family %s, %" PRIu64 " popular files (%" PRIu64
                    " bytes), deepest rank %" PRIu64 " (head %" PRIu64 ")\n",
                    name, family, p->files, p->bytes, p->rank, head);
        free(p);
        for (uint64_t k = 2; k <= snaps; k++) {
            char *prev = img, *map;
            update u = {mix(mix(mix(UPDATE_DOMAIN, seed), fnv1a(family)), k)};
            snprintf(file, sizeof file, "%s/%" PRIu64 ".img", name, k);
            img = path_join(dir, file);
            snprintf(file, sizeof file, "%s/%" PRIu64 ".map", name, k);
            map = path_join(dir, file);
            mutate_image(prev, img, map, NULL, mix(vseed, k), rate, verbose, &u);
            free(prev);
            free(map);
        }
        free(img);
        free(vdir);
    }

    /* The list, in backup order: every VM's snapshot 1, then every snapshot 2... */
    char *list = path_join(dir, "fleet.list");
    FILE *f = fopen(list, "w");
    if (!f)
        die("cannot create %s: %s", list, strerror(errno));
    fprintf(f,
            "# vmd-gen fleet --seed %" PRIu64 " --vms %" PRIu64 " --snaps %" PRIu64
            " --size %" PRIu64
            " --families %s --rate %g --popular %g --zipf %g --zipf-head %" PRIu64
            "\n# VM SNAP IMAGE MAP (relative to this directory; - = no map)\n",
            seed, vms, snaps, size, families, rate, popular_f, zipf, head);
    for (uint64_t k = 1; k <= snaps; k++)
        for (uint64_t v = 0; v < vms; v++) {
            fprintf(f, "vm%0*" PRIu64 " %" PRIu64 " vm%0*" PRIu64 "/%" PRIu64 ".img ", width, v + 1,
                    k, width, v + 1, k);
            if (k == 1)
                fputs("-\n", f);
            else
                fprintf(f, "vm%0*" PRIu64 "/%" PRIu64 ".map\n", width, v + 1, k);
        }
    if (fclose(f) != 0)
        die("cannot write %s: %s", list, strerror(errno));
    free(list);
    free(fams);
    return 0;
}
