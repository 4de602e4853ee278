/*
 * chunker.c - FastCDC-style content-defined chunking (see chunker.h).
 *
 * The gear table: GEAR[i] is the (i+1)-th output of SplitMix64 (Steele,
 * Lea, Flood 2014) started from the state 0x766d646564757000 ("vmdedup\0"
 * as big-endian bytes):
 *
 *     state += 0x9e3779b97f4a7c15;
 *     z = state;
 *     z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
 *     z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
 *     GEAR[i] = z ^ (z >> 31);
 *
 * It is written out below as constants (no start-up code, nothing mutable);
 * test_chunker regenerates it with this recipe and compares. It is part of
 * the stored format: see "Compatibility" in chunker.h.
 *
 * Speed: the scan is one shift, one add, one table load, one AND and one
 * branch per byte, over at most max - min bytes per chunk; the first min
 * bytes of every chunk are never read. No function is called per byte.
 */
#include "chunk/chunker.h"

#include <errno.h>

const uint64_t vmd_chunk_gear[256] = {
    0x7117fa4dbf32cd04ull, 0x23a8b3b4f15fe0c3ull, 0x8304c8a666e76640ull, 0x434604680a4dec2cull,
    0x2b0d38e684a3fc34ull, 0xcecfb9db2c750939ull, 0x859b7d5e716df409ull, 0x465847c9044708ceull,
    0xd7b49aa1f2470189ull, 0x0a619ddb3e37d160ull, 0xa980e6e6e827bfa3ull, 0xbc03ba5bc098f017ull,
    0x3382083ffa330d2bull, 0xf40ea70134a23b2bull, 0x9ab6586f1a5a164cull, 0x83020d0dc3f560cdull,
    0xb7456f15a3e1d641ull, 0xd874e3415c832d81ull, 0xa26f4d8323376000ull, 0x6864d5333da4c706ull,
    0x6f1c8eac1a5d6aaaull, 0x6990abd69d4a4b63ull, 0x116db1c03ea58ab8ull, 0x3c3b16f07b997108ull,
    0x0dbc9cbc88136cceull, 0xb67ccdd251da0106ull, 0xef3725d4ea4e255full, 0xab8bb8444a6d68cfull,
    0x700def0d203b924eull, 0x2d7714e0bbb17699ull, 0x4c3a31730853ea24ull, 0xd9f6e8dcae8dce5aull,
    0x05d109d5f0c5a727ull, 0x8a90d0ccf1e5cba7ull, 0x370b1445510e3d56ull, 0xd81660ecdb023b2aull,
    0x43ea7f20144b8f8full, 0x22a6378c228619b4ull, 0x997768c6bf0cb2b8ull, 0x71742fdaf8266728ull,
    0x8739dfca5bbe4308ull, 0xe37e83af12808d73ull, 0xaf6ce7862876806eull, 0x442b4605b1266e16ull,
    0x0160d72506e99f77ull, 0xcaf3e8489d74ea03ull, 0xa92ab3269a557b2bull, 0x4b6041d52305d6b9ull,
    0xc02d11f6a294b445ull, 0x76103cfb22eb12f7ull, 0xdfaa24408da8829aull, 0x8c50c7eca7fd929bull,
    0xf55318198a0791cfull, 0xe573f07305caccb6ull, 0xe3d1a23e5740d21dull, 0xd031bff5cd8ba20aull,
    0x0081242584368e47ull, 0xa0ecea663024cd8aull, 0x7e0b49ff5e58a6daull, 0xec50da9d05639418ull,
    0xf11bcdeb90a7354eull, 0x5f5aebc0c51c4675ull, 0x7938265ebe7dd980ull, 0xac7e624dfce1f473ull,
    0x4b71923b7c3d1162ull, 0x7d45e61d73e0174eull, 0x766bca0f944a4aefull, 0xb5d36e3bcc66cdccull,
    0x05174f28acbd9a66ull, 0x2456db33397660e6ull, 0x3f3e55d6d6ee58f6ull, 0x7141762f1860fa84ull,
    0x00ced9e40dceab31ull, 0x7c7137c475fb89f7ull, 0x53480e622224fa66ull, 0x9e607e00f7f612bcull,
    0x030851201feaa6f7ull, 0x7da5074ef5e0e728ull, 0x1263a3b97cb5e8ccull, 0xdfa2a1729331927aull,
    0x48f6beb968218c9dull, 0x370d842b791d452cull, 0x6a175cf732368fa4ull, 0x18cd921be522f25dull,
    0x093e8baf3c2461dfull, 0x35266da4c82cb492ull, 0x1db8eb6982e1c08eull, 0x6fc02961577218deull,
    0x6c23df649489f84dull, 0x918f5affe03c1278ull, 0x25d620ea2a94b1ecull, 0x53d6bf185af5763cull,
    0x774d9491728ea0c5ull, 0xa1cccc7a3aec829eull, 0x92be905461361b04ull, 0xabba5c8d21340a02ull,
    0xc0d8a1f0e0cdc1fdull, 0x955e076dea24a5b4ull, 0x8e67312b76118cedull, 0x511092847606bf38ull,
    0x9ebeea7859fabff5ull, 0xf29be52bce4a87ecull, 0xed63b9b94ec99855ull, 0xe87c83dee6dc0af9ull,
    0x1a47835edda69a6eull, 0xf9e0a74a73f2a351ull, 0xac149092b4c9fa6eull, 0xf8b2283ec7b42b3dull,
    0x182b238a3ebae213ull, 0xa01bbf01521744ddull, 0xcc7464fe40ac2261ull, 0x870d5c9846f85012ull,
    0x6498ca78fbba020bull, 0x10a802f0095ec47full, 0x966c9a808d386cb4ull, 0xf822bc02d63397dbull,
    0x11f12311d4cdd16dull, 0x28862db5f5143c85ull, 0x4457ecd5749630e2ull, 0xb01ef6d9d127cf03ull,
    0x6c6660471d1e5843ull, 0x4014dd04bc0d7e4eull, 0xca1b85989eb6b562ull, 0x958bbf242e2b7021ull,
    0x58e6dcf4ad26dd80ull, 0xe387c0301037b306ull, 0x3ece1bae3c92cfa1ull, 0x1ccf0a7e7c4dabcdull,
    0x4838d90057038353ull, 0x04bf4f63f3833420ull, 0x4ab7f4dc7c456a3full, 0x28607285cf1c8a86ull,
    0x716bf302bc0a4d9cull, 0xdec96bbfea11e190ull, 0x9cd05f55fa30297cull, 0x5c05e68626d686a8ull,
    0x4091193b4a0f49ddull, 0x75299311b8cace44ull, 0x771ed88d781f3d92ull, 0x6f64723ed2ddd14dull,
    0xc5bf296ecfd2a98cull, 0xa2129117635e2c0bull, 0x8e5eab40d2bc4498ull, 0xaafb3093d6d3649bull,
    0x06be7c3262a1d6c5ull, 0x0836294c60e3fdf5ull, 0xb8d8d03ac5af8eb9ull, 0x06b7da18656a9eefull,
    0xd4c0323af5bc7777ull, 0xc2d274255b844445ull, 0x6ada8c5027ce7ba1ull, 0x3028e5064a9a616bull,
    0x06b3fe8f59dd03f1ull, 0x7af48c0c64b53e2cull, 0xf5d637a948a5a1a1ull, 0x41e4b8ac6b6e499dull,
    0x17c78fe708e414feull, 0x69a922a4c94d23b0ull, 0xdcc126b8632e067cull, 0xfa3ad70542015a0aull,
    0x8c6008b6c268aec7ull, 0x35a65fb128fe5f27ull, 0x62995cb346f0af69ull, 0x554d2cadcb1c20f6ull,
    0xd1aa95c56d17e955ull, 0x95542ef1e6c075c4ull, 0x74532477a8aac0daull, 0x6922f9af72b5668aull,
    0x02d058c412e16253ull, 0xc75f1bd78413e1d5ull, 0xe84e6a0779b02a41ull, 0x9731bf0640908609ull,
    0x07862189a818496dull, 0x11e698cc140b0354ull, 0x41a35f8f1cb59869ull, 0x7ab45f96cf675ac8ull,
    0x198841d1eb69e9ddull, 0x8a3551b2d2606b09ull, 0x92ed53bdd7004423ull, 0x986df3c0547eb3c6ull,
    0xa968fcb548e10a60ull, 0x5cbcebc9045737d0ull, 0xbee0c250a158dd60ull, 0x8d002cb3cc7cdf09ull,
    0x4b77bedeb1c6a8eaull, 0x375a2927ced82245ull, 0x7b7cd7e8a28d4718ull, 0x11cff5d625a24f51ull,
    0x27d96e6cb4ed4068ull, 0x107144a626676fceull, 0x947d9578abc2ea6aull, 0x5aa4afb63cb94bfdull,
    0xed12ae97945b53eaull, 0x4da0d77817aae95eull, 0x6b9429a9e3203b21ull, 0x3ab23a2d0a9a1337ull,
    0xc38147db16e93e67ull, 0x10aa22eb0d22edccull, 0x6e9a846d41236790ull, 0xa610d9c5e0d67c32ull,
    0xecb63096bb8d62c6ull, 0xb8d48cb70770f679ull, 0x6bafa4ecabddfad1ull, 0x8960a11dfb262d3dull,
    0xa09431cb292d0815ull, 0x5ea71a7de3b86ca3ull, 0xa96b8ffc456465d3ull, 0xa58a8f9fe85034cbull,
    0x453408162349d03full, 0xcc47ec0b7ba45b47ull, 0x1d35ffbbb52dfe43ull, 0x20dfbd9e06f673e9ull,
    0xa719f3c06c41c960ull, 0x6482765950414284ull, 0xabba982326e4f8e7ull, 0x0e193b351c28e055ull,
    0x540e246a67a50455ull, 0x71829fa87319f8a9ull, 0x06e2c0eb4677a729ull, 0x2cad68c8a4e1be1dull,
    0xea2cbfd3821b2d40ull, 0xd8b4f80a9f3df885ull, 0x1def9681f9589636ull, 0x209be73e39511623ull,
    0xcc5104ee6d20612bull, 0x87ee95dbebfe1e85ull, 0xf316dfde30aa1e9eull, 0x2f640cebdeb3f91full,
    0x29948d712dce1509ull, 0x5c77adb52c4c1f71ull, 0x69b8e3ffd0e6e85dull, 0x6204dcfc7114fc61ull,
    0x475442ec13a6a9c7ull, 0x2f06ab5506d59397ull, 0xe990d06f013576e6ull, 0xad8018e849ca5401ull,
    0x2dc522ece99f8edaull, 0x4d3ca3d5f653f8e3ull, 0xa4d14ca9e3f9c9e5ull, 0x9ffe939a0330bb2bull,
    0xe6f45db31d1ae6d2ull, 0x5906b6aa867d3e5full, 0x9671dc4335025380ull, 0x8a544cb49d5e48e6ull,
    0xb463bb45868066f4ull, 0x126f7e670763a5ebull, 0xc605715aad5d6609ull, 0xe162b0b519bbaa3aull,
    0xf756023e373baf83ull, 0x2a0d3ffc2d406ac0ull, 0x70930dd8c96ec559ull, 0xb25df518431c3590ull,
    0x2e2e8aad8b547ca6ull, 0xea67a24af3b36f2aull, 0xeaab9daa61de31beull, 0xc0f3f843d3bfc023ull,
};

/* The mask of the top `bits` bits of a 64-bit word (1 <= bits <= 63). */
static uint64_t top_bits(unsigned bits)
{
    return ~0ull << (64 - bits);
}

int vmd_chunker_init(vmd_chunker *c, const vmd_chunk_params *params)
{
    static const vmd_chunk_params defaults = {VMD_CHUNK_MIN_DEFAULT, VMD_CHUNK_AVG_DEFAULT,
                                              VMD_CHUNK_MAX_DEFAULT};
    const vmd_chunk_params *p = params ? params : &defaults;
    unsigned k;

    if (!c)
        return -EINVAL;
    if (p->min < VMD_CHUNK_MIN_LIMIT || p->max > VMD_CHUNK_MAX_LIMIT)
        return -ERANGE;
    if (p->avg == 0 || (p->avg & (p->avg - 1)) != 0)
        return -EINVAL;
    if (!(p->min < p->avg && p->avg < p->max))
        return -EINVAL;
    k = (unsigned)__builtin_ctz(p->avg); /* 7 <= k <= 19, given the limits */
    c->p = *p;
    c->normal = p->avg - p->avg / 4;
    if (c->normal < p->min)
        c->normal = p->min;
    c->mask_s = top_bits(k + 2);
    c->mask_l = top_bits(k - 2);
    return 0;
}

/*
 * One step of the scan at position i: roll byte i into h, return the cut
 * after it when the mask's bits are all zero. The loops below run it four
 * times per bounds check (the rule is the same as one byte at a time; the
 * unrolling only saves the loop counter's compare and branch).
 */
#define STEP(mask)                                                                                 \
    do {                                                                                           \
        h = (h << 1) + gear[buf[i]];                                                               \
        if (!(h & (mask)))                                                                         \
            return i + 1;                                                                          \
        i++;                                                                                       \
    } while (0)

size_t vmd_chunk_next(const vmd_chunker *c, const uint8_t *buf, size_t len)
{
    const uint64_t *gear = vmd_chunk_gear;
    const uint64_t mask_s = c->mask_s, mask_l = c->mask_l;
    size_t i, end, normal;
    uint64_t h = 0;

    if (len <= c->p.min)
        return len;
    end = len < c->p.max ? len : c->p.max;
    normal = c->normal < end ? c->normal : end;
    i = c->p.min;
    while (i + 4 <= normal) {
        STEP(mask_s);
        STEP(mask_s);
        STEP(mask_s);
        STEP(mask_s);
    }
    while (i < normal)
        STEP(mask_s);
    while (i + 4 <= end) {
        STEP(mask_l);
        STEP(mask_l);
        STEP(mask_l);
        STEP(mask_l);
    }
    while (i < end)
        STEP(mask_l);
    return end;
}

#undef STEP

size_t vmd_chunk_count_max(const vmd_chunker *c, size_t len)
{
    /* every chunk but the last is longer than min */
    return len == 0 ? 0 : (len - 1) / ((size_t)c->p.min + 1) + 1;
}

int vmd_chunk_segment(const vmd_chunker *c, const uint8_t *buf, size_t len, vmd_chunk *out,
                      size_t cap, size_t *n)
{
    size_t off = 0, count = 0, cl;

    if (!c || !n || len > VMD_SEGMENT_SIZE || (!buf && len > 0) || (!out && cap > 0))
        return -EINVAL;
    while (off < len) {
        if (count == cap)
            return -ENOSPC;
        cl = vmd_chunk_next(c, buf + off, len - off);
        out[count].off = (uint32_t)off;
        out[count].len = (uint32_t)cl;
        count++;
        off += cl;
    }
    *n = count;
    return 0;
}
