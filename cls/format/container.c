/*
 * container.c - the container format: encode, decode, validate, build, read.
 *
 * See container.h for the byte layout and docs/format.md ("Containers") for
 * the rules. Compiled into the class (which validates, scrubs and compacts
 * containers inside the OSD) and into libvmdedup (which builds them for
 * backup and reads chunks for restore), so both apply the same checks.
 *
 * Validation runs in three steps, each usable alone by a reader that has
 * only part of the object: the header by itself, the header against the
 * object size, then the table (each slot, then overlap and data_bytes).
 * Overlap is found by sorting the LIVE/DEAD slots by offset (a bounded array
 * of at most 65,536 indexes) and comparing neighbours.
 *
 * Memory: the builder's object buffer is its target (<= 64 MiB), allocated
 * once and handed over by finish, plus its slot array (<= 65,536 entries); decompression writes
 * into a caller buffer of exactly raw_len bytes, so a hostile frame cannot make it allocate or
 * write more.
 */
#include "format/container.h"
#include "format/index.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <zstd_errors.h>

#include "format/wire.h"

/* ---- check names ---- */

static const char *const check_names[VMD_CTR_CHK_COUNT] = {
    [VMD_CTR_OK] = "ok",
    [VMD_CTR_CHK_TOO_SHORT] = "object shorter than header",
    [VMD_CTR_CHK_TOO_LARGE] = "object above 64 MiB",
    [VMD_CTR_CHK_MAGIC] = "magic",
    [VMD_CTR_CHK_VERSION] = "version/compat",
    [VMD_CTR_CHK_FLAGS] = "unknown flags",
    [VMD_CTR_CHK_RESERVED] = "header reserved bytes",
    [VMD_CTR_CHK_NSLOTS] = "nslots above 65536",
    [VMD_CTR_CHK_TABLE_LEN] = "table_len != nslots * 56",
    [VMD_CTR_CHK_TABLE_OFF] = "table_off < 128",
    [VMD_CTR_CHK_OBJECT_SIZE] = "table_off + table_len != object size",
    [VMD_CTR_CHK_VM] = "vm id",
    [VMD_CTR_CHK_SLOT_RESERVED] = "slot reserved bytes",
    [VMD_CTR_CHK_SLOT_STATE] = "slot state",
    [VMD_CTR_CHK_SLOT_ENCODING] = "slot encoding",
    [VMD_CTR_CHK_SLOT_RAW_LEN] = "slot raw_len",
    [VMD_CTR_CHK_SLOT_RAW_SIZE] = "RAW slot stored_len != raw_len",
    [VMD_CTR_CHK_SLOT_RECLAIMED] = "RECLAIMED slot with bytes",
    [VMD_CTR_CHK_SLOT_BOUNDS] = "slot outside the data area",
    [VMD_CTR_CHK_SLOT_OVERLAP] = "slots overlap",
    [VMD_CTR_CHK_DATA_BYTES] = "data_bytes",
};

const char *vmd_ctr_check_name(vmd_ctr_check check)
{
    if ((unsigned)check >= VMD_CTR_CHK_COUNT)
        return "unknown check";
    return check_names[check];
}

void vmd_ctr_fault_str(const vmd_ctr_fault *f, char *buf, size_t cap)
{
    if (f->slot != UINT32_MAX)
        snprintf(buf, cap, "check '%s' failed at slot %" PRIu32, vmd_ctr_check_name(f->check),
                 f->slot);
    else
        snprintf(buf, cap, "check '%s' failed", vmd_ctr_check_name(f->check));
}

const char *vmd_ctr_reason_name(int reason)
{
    switch (reason) {
    case VMD_CTR_BAD_HASH:
        return "hash mismatch";
    case VMD_CTR_BAD_DECOMPRESS:
        return "decompression failed";
    case VMD_CTR_BAD_LENGTH:
        return "length mismatch";
    default:
        return "unknown reason";
    }
}

/* Records a failed check and returns -EIO, so callers write `return fail(f, ...)`. */
static int fail(vmd_ctr_fault *f, vmd_ctr_check check, uint32_t slot)
{
    f->check = check;
    f->slot = slot;
    return -EIO;
}

static void fault_clear(vmd_ctr_fault *f)
{
    f->check = VMD_CTR_OK;
    f->slot = UINT32_MAX;
}

/* ---- names ---- */

int vmd_ctr_vm_valid(const char *vm, size_t n)
{
    return vmd_vm_id_valid(vm, n); /* one rule for VM ids everywhere (index.h) */
}

int vmd_ctr_oid(char *buf, size_t cap, const char *vm, uint64_t id)
{
    int n;

    if (vm && !vmd_ctr_vm_valid(vm, strlen(vm)))
        return -EINVAL;
    if (vm)
        n = snprintf(buf, cap, "c.%s.%016" PRIx64, vm, id);
    else
        n = snprintf(buf, cap, "p.%016" PRIx64, id);
    if (n < 0 || (size_t)n >= cap)
        return -ERANGE;
    return 0;
}

/* Parses exactly 16 lowercase hex digits. */
static int parse_id16(const char *s, uint64_t *id)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < 16; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9')
            v = v << 4 | (uint64_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = v << 4 | (uint64_t)(c - 'a' + 10);
        else
            return -EINVAL;
    }
    if (s[16] != 0)
        return -EINVAL;
    *id = v;
    return 0;
}

int vmd_ctr_oid_parse(const char *oid, char *vm, uint64_t *id, int *popular)
{
    size_t n = strlen(oid), vmlen;

    vm[0] = 0;
    if (n == 2 + 16 && oid[0] == 'p' && oid[1] == '.') {
        *popular = 1;
        return parse_id16(oid + 2, id);
    }
    if (n < 2 + 1 + 1 + 16 || oid[0] != 'c' || oid[1] != '.' || oid[n - 17] != '.')
        return -EINVAL;
    vmlen = n - 2 - 17;
    if (!vmd_ctr_vm_valid(oid + 2, vmlen))
        return -EINVAL;
    memcpy(vm, oid + 2, vmlen);
    vm[vmlen] = 0;
    *popular = 0;
    return parse_id16(oid + n - 16, id);
}

/* ---- header and slot encoding ---- */

void vmd_ctr_header_encode(const vmd_ctr_header *h, uint8_t out[VMD_CTR_HEADER_SIZE])
{
    vmd_wr w;

    vmd_wr_header(&w, out, VMD_CTR_HEADER_SIZE, VMD_CTR_MAGIC, h->version, h->compat, h->flags);
    vmd_put_u32(&w, h->nslots);
    vmd_put_u32(&w, 0);
    vmd_put_u64(&w, h->id);
    vmd_put_u64(&w, h->table_off);
    vmd_put_u32(&w, h->table_len);
    vmd_put_u32(&w, 0);
    vmd_put_u64(&w, h->data_bytes);
    vmd_put_u8(&w, h->vm_len);
    vmd_put_bytes(&w, h->vm, h->vm_len <= VMD_CTR_VM_MAX ? h->vm_len : VMD_CTR_VM_MAX);
    /* the rest (vm padding, reserved) stays zero */
}

void vmd_ctr_slot_encode(const vmd_ctr_slot *s, uint8_t out[VMD_CTR_SLOT_SIZE])
{
    vmd_wr w;

    memset(out, 0, VMD_CTR_SLOT_SIZE);
    vmd_wr_init(&w, out, VMD_CTR_SLOT_SIZE);
    vmd_put_bytes(&w, s->fp, VMD_CTR_FP_SIZE);
    vmd_put_u64(&w, s->offset);
    vmd_put_u32(&w, s->stored_len);
    vmd_put_u32(&w, s->raw_len);
    vmd_put_u8(&w, s->encoding);
    vmd_put_u8(&w, s->state);
}

/* The VM id field: popular containers have none, VM containers a valid one, zero padding. */
static int check_vm(const vmd_ctr_header *h, const uint8_t *field)
{
    int popular = (h->flags & VMD_CTR_F_POPULAR) != 0;

    if (h->vm_len > VMD_CTR_VM_MAX)
        return 0;
    if (popular != (h->vm_len == 0))
        return 0;
    if (!popular && !vmd_ctr_vm_valid((const char *)field, h->vm_len))
        return 0;
    return vmd_all_zero(field + h->vm_len, VMD_CTR_VM_MAX - h->vm_len);
}

int vmd_ctr_header_decode(vmd_ctr_header *out, const uint8_t in[VMD_CTR_HEADER_SIZE],
                          vmd_ctr_fault *f)
{
    vmd_rd r;
    const uint8_t *vm;
    uint32_t reserved12, reserved36;

    memset(out, 0, sizeof(*out));
    fault_clear(f);
    if (memcmp(in, VMD_CTR_MAGIC, 4) != 0)
        return fail(f, VMD_CTR_CHK_MAGIC, UINT32_MAX);
    vmd_rd_init(&r, in + 4, VMD_CTR_HEADER_SIZE - 4);
    out->version = vmd_get_u8(&r);
    out->compat = vmd_get_u8(&r);
    out->flags = vmd_get_u16(&r);
    out->nslots = vmd_get_u32(&r);
    reserved12 = vmd_get_u32(&r);
    out->id = vmd_get_u64(&r);
    out->table_off = vmd_get_u64(&r);
    out->table_len = vmd_get_u32(&r);
    reserved36 = vmd_get_u32(&r);
    out->data_bytes = vmd_get_u64(&r);
    out->vm_len = vmd_get_u8(&r);
    vm = vmd_rd_take(&r, VMD_CTR_VM_MAX);
    if (out->version == 0 || out->compat == 0 || out->compat > out->version ||
        out->compat > VMD_CTR_VERSION)
        return fail(f, VMD_CTR_CHK_VERSION, UINT32_MAX);
    if (out->flags & ~VMD_CTR_F_KNOWN)
        return fail(f, VMD_CTR_CHK_FLAGS, UINT32_MAX);
    if (reserved12 || reserved36 || !vmd_all_zero(in + 113, 15))
        return fail(f, VMD_CTR_CHK_RESERVED, UINT32_MAX);
    if (out->nslots > VMD_CTR_MAX_SLOTS)
        return fail(f, VMD_CTR_CHK_NSLOTS, UINT32_MAX);
    if ((uint64_t)out->table_len != (uint64_t)out->nslots * VMD_CTR_SLOT_SIZE)
        return fail(f, VMD_CTR_CHK_TABLE_LEN, UINT32_MAX);
    if (out->table_off < VMD_CTR_HEADER_SIZE)
        return fail(f, VMD_CTR_CHK_TABLE_OFF, UINT32_MAX);
    if (!check_vm(out, vm))
        return fail(f, VMD_CTR_CHK_VM, UINT32_MAX);
    memcpy(out->vm, vm, out->vm_len);
    out->vm[out->vm_len] = 0;
    return 0;
}

int vmd_ctr_header_check_size(const vmd_ctr_header *h, uint64_t object_size, vmd_ctr_fault *f)
{
    fault_clear(f);
    if (object_size < VMD_CTR_HEADER_SIZE)
        return fail(f, VMD_CTR_CHK_TOO_SHORT, UINT32_MAX);
    if (object_size > VMD_CTR_MAX_SIZE)
        return fail(f, VMD_CTR_CHK_TOO_LARGE, UINT32_MAX);
    /* table_off is at most 2^64-1: compare without overflowing */
    if (h->table_off > object_size || object_size - h->table_off != h->table_len)
        return fail(f, VMD_CTR_CHK_OBJECT_SIZE, UINT32_MAX);
    return 0;
}

int vmd_ctr_slot_decode(vmd_ctr_slot *out, const vmd_ctr_header *h, uint32_t slot,
                        const uint8_t in[VMD_CTR_SLOT_SIZE], vmd_ctr_fault *f)
{
    vmd_rd r;

    fault_clear(f);
    vmd_rd_init(&r, in, VMD_CTR_SLOT_SIZE);
    vmd_get_bytes(&r, out->fp, VMD_CTR_FP_SIZE);
    out->offset = vmd_get_u64(&r);
    out->stored_len = vmd_get_u32(&r);
    out->raw_len = vmd_get_u32(&r);
    out->encoding = vmd_get_u8(&r);
    out->state = vmd_get_u8(&r);
    if (!vmd_all_zero(in + 50, 6))
        return fail(f, VMD_CTR_CHK_SLOT_RESERVED, slot);
    if (out->state > VMD_CTR_RECLAIMED)
        return fail(f, VMD_CTR_CHK_SLOT_STATE, slot);
    if (out->encoding > VMD_CTR_ZSTD)
        return fail(f, VMD_CTR_CHK_SLOT_ENCODING, slot);
    if (out->raw_len < 1 || out->raw_len > VMD_CTR_CHUNK_MAX)
        return fail(f, VMD_CTR_CHK_SLOT_RAW_LEN, slot);
    if (out->state == VMD_CTR_RECLAIMED) {
        if (out->offset != 0 || out->stored_len != 0)
            return fail(f, VMD_CTR_CHK_SLOT_RECLAIMED, slot);
        return 0;
    }
    if (out->encoding == VMD_CTR_RAW && out->stored_len != out->raw_len)
        return fail(f, VMD_CTR_CHK_SLOT_RAW_SIZE, slot);
    if (out->stored_len == 0 || out->offset < VMD_CTR_HEADER_SIZE || out->offset > h->table_off ||
        h->table_off - out->offset < out->stored_len)
        return fail(f, VMD_CTR_CHK_SLOT_BOUNDS, slot);
    return 0;
}

/* ---- the whole table ---- */

/* Merge sort of idx[0..n) by slot offset (stable, no global state, tmp holds n). */
static void sort_by_offset(const vmd_ctr_slot *slots, uint32_t *idx, uint32_t *tmp, size_t n)
{
    size_t width, i;

    for (width = 1; width < n; width *= 2) {
        for (i = 0; i < n; i += 2 * width) {
            size_t lo = i, mid = i + width < n ? i + width : n;
            size_t hi = i + 2 * width < n ? i + 2 * width : n;
            size_t a = lo, b = mid, k = lo;
            while (a < mid && b < hi)
                tmp[k++] = slots[idx[b]].offset < slots[idx[a]].offset ? idx[b++] : idx[a++];
            while (a < mid)
                tmp[k++] = idx[a++];
            while (b < hi)
                tmp[k++] = idx[b++];
        }
        memcpy(idx, tmp, n * sizeof(*idx));
    }
}

/* LIVE/DEAD slots must not share bytes; their stored bytes must add up to data_bytes. */
static int check_layout(const vmd_ctr *c, vmd_ctr_fault *f)
{
    uint32_t *idx = NULL, *tmp = NULL;
    size_t n = 0, i;
    uint64_t sum = 0;
    int err = 0;

    if (c->hdr.nslots) {
        idx = malloc(c->hdr.nslots * sizeof(*idx));
        tmp = malloc(c->hdr.nslots * sizeof(*tmp));
        if (!idx || !tmp) {
            err = -ENOMEM;
            goto out;
        }
    }
    for (i = 0; i < c->hdr.nslots; i++)
        if (c->slots[i].state != VMD_CTR_RECLAIMED) {
            idx[n++] = (uint32_t)i;
            sum += c->slots[i].stored_len;
        }
    sort_by_offset(c->slots, idx, tmp, n);
    for (i = 1; i < n; i++) {
        const vmd_ctr_slot *prev = &c->slots[idx[i - 1]];
        if (prev->offset + prev->stored_len > c->slots[idx[i]].offset) {
            err = fail(f, VMD_CTR_CHK_SLOT_OVERLAP, idx[i]);
            goto out;
        }
    }
    if (sum != c->hdr.data_bytes)
        err = fail(f, VMD_CTR_CHK_DATA_BYTES, UINT32_MAX);
out:
    free(idx);
    free(tmp);
    return err;
}

void vmd_ctr_free(vmd_ctr *c)
{
    if (!c)
        return;
    free(c->slots);
    free(c);
}

int vmd_ctr_parse(vmd_ctr **out, const uint8_t hdr[VMD_CTR_HEADER_SIZE], const uint8_t *table,
                  size_t table_len, uint64_t object_size, vmd_ctr_fault *f)
{
    vmd_ctr *c;
    uint32_t i;
    int err;

    *out = NULL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->size = object_size;
    err = vmd_ctr_header_decode(&c->hdr, hdr, f);
    if (!err)
        err = vmd_ctr_header_check_size(&c->hdr, object_size, f);
    if (!err && table_len != c->hdr.table_len)
        err = fail(f, VMD_CTR_CHK_OBJECT_SIZE, UINT32_MAX);
    if (err)
        goto out;
    c->slots = calloc(c->hdr.nslots ? c->hdr.nslots : 1, sizeof(*c->slots));
    if (!c->slots) {
        err = -ENOMEM;
        goto out;
    }
    for (i = 0; i < c->hdr.nslots && !err; i++)
        err =
            vmd_ctr_slot_decode(&c->slots[i], &c->hdr, i, table + (size_t)i * VMD_CTR_SLOT_SIZE, f);
    if (!err)
        err = check_layout(c, f);
out:
    if (err)
        vmd_ctr_free(c);
    else
        *out = c;
    return err;
}

int vmd_ctr_validate(vmd_ctr **out, const uint8_t *obj, size_t len, vmd_ctr_fault *f)
{
    vmd_ctr_header h;
    int err;

    *out = NULL;
    fault_clear(f);
    if (len < VMD_CTR_HEADER_SIZE)
        return fail(f, VMD_CTR_CHK_TOO_SHORT, UINT32_MAX);
    if (len > VMD_CTR_MAX_SIZE)
        return fail(f, VMD_CTR_CHK_TOO_LARGE, UINT32_MAX);
    err = vmd_ctr_header_decode(&h, obj, f);
    if (!err)
        err = vmd_ctr_header_check_size(&h, len, f);
    if (err)
        return err;
    return vmd_ctr_parse(out, obj, obj + h.table_off, h.table_len, len, f);
}

void vmd_ctr_table_encode(const vmd_ctr *c, uint8_t *out)
{
    uint32_t i;
    for (i = 0; i < c->hdr.nslots; i++)
        vmd_ctr_slot_encode(&c->slots[i], out + (size_t)i * VMD_CTR_SLOT_SIZE);
}

/* ---- chunks ---- */

int vmd_ctr_sha256(const void *buf, size_t len, uint8_t out[VMD_CTR_FP_SIZE])
{
    unsigned int n = 0;

    if (EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL) != 1 || n != VMD_CTR_FP_SIZE)
        return -EIO;
    return 0;
}

/* Decompresses exactly one zstd frame of raw_len bytes into raw; 0 or a VMD_CTR_BAD_* reason. */
static int zstd_expand(const vmd_ctr_slot *slot, const uint8_t *stored, uint8_t *raw,
                       ZSTD_DCtx *dctx)
{
    unsigned long long content;
    size_t frame, got;

    frame = ZSTD_findFrameCompressedSize(stored, slot->stored_len);
    if (ZSTD_isError(frame) || frame != slot->stored_len)
        return VMD_CTR_BAD_DECOMPRESS;
    content = ZSTD_getFrameContentSize(stored, slot->stored_len);
    if (content == ZSTD_CONTENTSIZE_ERROR)
        return VMD_CTR_BAD_DECOMPRESS;
    if (content != ZSTD_CONTENTSIZE_UNKNOWN && content != slot->raw_len)
        return VMD_CTR_BAD_LENGTH;
    got = ZSTD_decompressDCtx(dctx, raw, slot->raw_len, stored, slot->stored_len);
    if (ZSTD_isError(got))
        return ZSTD_getErrorCode(got) == ZSTD_error_dstSize_tooSmall ? VMD_CTR_BAD_LENGTH
                                                                     : VMD_CTR_BAD_DECOMPRESS;
    return got == slot->raw_len ? 0 : VMD_CTR_BAD_LENGTH;
}

int vmd_ctr_chunk_decode(const vmd_ctr_slot *slot, const uint8_t *stored, uint8_t *raw,
                         ZSTD_DCtx *dctx, int *reason)
{
    ZSTD_DCtx *own = NULL;
    uint8_t fp[VMD_CTR_FP_SIZE];
    int err = 0;

    *reason = 0;
    if (slot->encoding == VMD_CTR_RAW) {
        if (slot->stored_len != slot->raw_len) {
            *reason = VMD_CTR_BAD_LENGTH;
            return -EIO;
        }
        memcpy(raw, stored, slot->raw_len);
    } else {
        if (!dctx && !(dctx = own = ZSTD_createDCtx()))
            return -ENOMEM;
        *reason = zstd_expand(slot, stored, raw, dctx);
        if (*reason) {
            err = -EIO;
            goto out;
        }
    }
    err = vmd_ctr_sha256(raw, slot->raw_len, fp);
    if (!err && memcmp(fp, slot->fp, VMD_CTR_FP_SIZE) != 0) {
        *reason = VMD_CTR_BAD_HASH;
        err = -EIO;
    }
out:
    ZSTD_freeDCtx(own);
    return err;
}

int vmd_ctr_read_slot(const uint8_t *obj, size_t len, uint32_t slot, uint8_t **raw, size_t *rawlen,
                      vmd_ctr_fault *f, int *reason)
{
    vmd_ctr *c = NULL;
    const vmd_ctr_slot *s;
    uint8_t *buf = NULL;
    int err;

    *raw = NULL;
    *rawlen = 0;
    *reason = 0;
    err = vmd_ctr_validate(&c, obj, len, f);
    if (err)
        return err;
    if (slot >= c->hdr.nslots) {
        err = -ERANGE;
        goto out;
    }
    s = &c->slots[slot];
    if (s->state != VMD_CTR_LIVE) {
        err = -ENOENT;
        goto out;
    }
    buf = malloc(s->raw_len);
    if (!buf) {
        err = -ENOMEM;
        goto out;
    }
    err = vmd_ctr_chunk_decode(s, obj + s->offset, buf, NULL, reason);
    if (!err) {
        *raw = buf;
        *rawlen = s->raw_len;
        buf = NULL;
    }
out:
    free(buf);
    vmd_ctr_free(c);
    return err;
}

/* ---- builder ---- */

struct vmd_ctr_builder {
    vmd_ctr_header hdr;
    size_t target;       /* largest object allowed */
    uint8_t *buf;        /* the object being laid out: `target` bytes, allocated by the first add */
    size_t data_len;     /* chunk bytes at buf + 128 */
    int finished;        /* buf was handed over by vmd_ctr_builder_finish */
    vmd_ctr_slot *slots; /* nslots used, slots_cap allocated */
    uint32_t nslots, slots_cap;
    ZSTD_CCtx *cctx;
};

int vmd_ctr_builder_new(vmd_ctr_builder **out, uint64_t id, const char *vm, size_t target)
{
    vmd_ctr_builder *b;

    *out = NULL;
    if (vm && !vmd_ctr_vm_valid(vm, strlen(vm)))
        return -EINVAL;
    if (target == 0 || target > VMD_CTR_MAX_SIZE)
        target = VMD_CTR_MAX_SIZE;
    if (target < VMD_CTR_HEADER_SIZE + VMD_CTR_SLOT_SIZE + 1)
        return -EINVAL;
    b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    b->hdr.version = VMD_CTR_VERSION;
    b->hdr.compat = VMD_CTR_VERSION;
    b->hdr.id = id;
    b->hdr.flags = vm ? 0 : VMD_CTR_F_POPULAR;
    if (vm) {
        b->hdr.vm_len = (uint8_t)strlen(vm);
        memcpy(b->hdr.vm, vm, b->hdr.vm_len);
    }
    b->target = target;
    *out = b;
    return 0;
}

void vmd_ctr_builder_free(vmd_ctr_builder *b)
{
    if (!b)
        return;
    free(b->buf);
    free(b->slots);
    ZSTD_freeCCtx(b->cctx);
    free(b);
}

uint32_t vmd_ctr_builder_nslots(const vmd_ctr_builder *b)
{
    return b->nslots;
}

size_t vmd_ctr_builder_size(const vmd_ctr_builder *b)
{
    return VMD_CTR_HEADER_SIZE + b->data_len + (size_t)b->nslots * VMD_CTR_SLOT_SIZE;
}

/*
 * Makes room for one more slot. The object buffer is allocated once, at its
 * full target size: header, data and table always fit in it by
 * construction (add refuses what would not), and untouched pages cost no
 * memory, so no chunk is ever copied twice and finish copies nothing.
 */
static int builder_reserve(vmd_ctr_builder *b)
{
    if (!b->buf && !(b->buf = malloc(b->target)))
        return -ENOMEM;
    if (b->nslots == b->slots_cap) {
        uint32_t cap = b->slots_cap ? b->slots_cap * 2 : 64;
        vmd_ctr_slot *s = realloc(b->slots, cap * sizeof(*s));
        if (!s)
            return -ENOMEM;
        b->slots = s;
        b->slots_cap = cap;
    }
    return 0;
}

/*
 * Stores raw at the end of the data as one zstd frame when that is smaller
 * (compressing into at most len - 1 bytes: a frame that does not fit is not
 * worth it), else as is. *stored_len and *encoding describe the result.
 */
static int builder_store(vmd_ctr_builder *b, const void *raw, size_t len, int level,
                         size_t *stored_len, uint8_t *encoding)
{
    uint8_t *dst = b->buf + VMD_CTR_HEADER_SIZE + b->data_len;
    size_t n;

    if (level != 0 && len > 1) {
        if (!b->cctx && !(b->cctx = ZSTD_createCCtx()))
            return -ENOMEM;
        n = ZSTD_compressCCtx(b->cctx, dst, len - 1, raw, len, level);
        if (!ZSTD_isError(n)) {
            *stored_len = n;
            *encoding = VMD_CTR_ZSTD;
            return 0;
        }
    }
    memcpy(dst, raw, len);
    *stored_len = len;
    *encoding = VMD_CTR_RAW;
    return 0;
}

int vmd_ctr_builder_add(vmd_ctr_builder *b, const void *raw, size_t len, int zstd_level,
                        uint32_t *slot_out, uint8_t *fp_out)
{
    vmd_ctr_slot *s;
    size_t stored = 0, base, room;
    uint8_t encoding = VMD_CTR_RAW;
    int err;

    if (b->finished || len < 1 || len > VMD_CTR_CHUNK_MAX)
        return -EINVAL;
    if (zstd_level < ZSTD_minCLevel() || zstd_level > ZSTD_maxCLevel())
        return -EINVAL;
    if (b->nslots >= VMD_CTR_MAX_SLOTS)
        return -ENOSPC;
    /* The object with one more slot and no chunk bytes yet; room is what is left for them. */
    base = vmd_ctr_builder_size(b) + VMD_CTR_SLOT_SIZE;
    if (base >= b->target)
        return -ENOSPC;
    room = b->target - base;
    err = builder_reserve(b);
    if (err)
        return err;
    if (len > room) {
        /* RAW would not fit: only a frame of at most `room` bytes can. */
        size_t n;
        if (zstd_level == 0)
            return -ENOSPC;
        if (!b->cctx && !(b->cctx = ZSTD_createCCtx()))
            return -ENOMEM;
        n = ZSTD_compressCCtx(b->cctx, b->buf + VMD_CTR_HEADER_SIZE + b->data_len, room, raw, len,
                              zstd_level);
        if (ZSTD_isError(n))
            return -ENOSPC;
        stored = n;
        encoding = VMD_CTR_ZSTD;
    } else {
        err = builder_store(b, raw, len, zstd_level, &stored, &encoding);
        if (err)
            return err;
    }
    s = &b->slots[b->nslots];
    memset(s, 0, sizeof(*s));
    err = vmd_ctr_sha256(raw, len, s->fp);
    if (err)
        return err;
    s->offset = VMD_CTR_HEADER_SIZE + b->data_len;
    s->stored_len = (uint32_t)stored;
    s->raw_len = (uint32_t)len;
    s->encoding = encoding;
    s->state = VMD_CTR_LIVE;
    b->data_len += stored;
    if (slot_out)
        *slot_out = b->nslots;
    if (fp_out)
        memcpy(fp_out, s->fp, VMD_CTR_FP_SIZE);
    b->nslots++;
    return 0;
}

int vmd_ctr_builder_add_encoded(vmd_ctr_builder *b, const uint8_t fp[VMD_CTR_FP_SIZE],
                                const void *stored, size_t stored_len, size_t raw_len, int encoding,
                                uint32_t *slot_out)
{
    vmd_ctr_slot *s;
    size_t base;
    int err;

    if (b->finished || raw_len < 1 || raw_len > VMD_CTR_CHUNK_MAX || stored_len < 1)
        return -EINVAL;
    if (encoding != VMD_CTR_RAW && encoding != VMD_CTR_ZSTD)
        return -EINVAL;
    if (encoding == VMD_CTR_RAW && stored_len != raw_len)
        return -EINVAL;
    if (b->nslots >= VMD_CTR_MAX_SLOTS)
        return -ENOSPC;
    base = vmd_ctr_builder_size(b) + VMD_CTR_SLOT_SIZE;
    if (base >= b->target || stored_len > b->target - base)
        return -ENOSPC;
    err = builder_reserve(b);
    if (err)
        return err;
    memcpy(b->buf + VMD_CTR_HEADER_SIZE + b->data_len, stored, stored_len);
    s = &b->slots[b->nslots];
    memset(s, 0, sizeof(*s));
    memcpy(s->fp, fp, VMD_CTR_FP_SIZE);
    s->offset = VMD_CTR_HEADER_SIZE + b->data_len;
    s->stored_len = (uint32_t)stored_len;
    s->raw_len = (uint32_t)raw_len;
    s->encoding = (uint8_t)encoding;
    s->state = VMD_CTR_LIVE;
    b->data_len += stored_len;
    if (slot_out)
        *slot_out = b->nslots;
    b->nslots++;
    return 0;
}

int vmd_ctr_builder_finish(vmd_ctr_builder *b, uint8_t **out, size_t *outlen)
{
    size_t size = vmd_ctr_builder_size(b);
    vmd_ctr_header h = b->hdr;
    uint32_t i;

    *out = NULL;
    *outlen = 0;
    if (b->finished)
        return -EINVAL;
    if (!b->buf && !(b->buf = malloc(size)))
        return -ENOMEM;
    h.flags |= VMD_CTR_F_SEALED;
    h.nslots = b->nslots;
    h.table_off = VMD_CTR_HEADER_SIZE + b->data_len;
    h.table_len = b->nslots * VMD_CTR_SLOT_SIZE;
    h.data_bytes = b->data_len;
    vmd_ctr_header_encode(&h, b->buf);
    for (i = 0; i < b->nslots; i++)
        vmd_ctr_slot_encode(&b->slots[i], b->buf + h.table_off + (size_t)i * VMD_CTR_SLOT_SIZE);
    *out = b->buf;
    *outlen = size;
    b->buf = NULL;
    b->finished = 1;
    return 0;
}
