/*
 * mem_obj.c - see mem_obj.h.
 *
 * State is kept twice: `cur` (committed, what reads see) and `next` (the
 * working copy writes go to). A call starts with next = copy of cur; commit
 * swaps them. Omap and xattrs are sorted arrays with binary search: simple,
 * and fast enough for the partition sizes unit tests use.
 */
#include "mem_obj.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct kv {
    char *key;
    uint8_t *val;
    size_t len;
} kv;

typedef struct kvs {
    kv *v;
    size_t n, cap;
} kvs;

typedef struct state {
    int exists;
    uint8_t *data;
    size_t size;
    kvs omap, xattrs;
    uint8_t *hdr;
    size_t hdrlen;
} state;

struct mem_obj {
    state cur, next;
    vmd_obj obj;
};

static uint8_t *dup_bytes(const void *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    if (d && n)
        memcpy(d, p, n);
    return d;
}

static void kvs_clear(kvs *s)
{
    size_t i;
    for (i = 0; i < s->n; i++) {
        free(s->v[i].key);
        free(s->v[i].val);
    }
    free(s->v);
    memset(s, 0, sizeof(*s));
}

static void state_clear(state *s)
{
    free(s->data);
    free(s->hdr);
    kvs_clear(&s->omap);
    kvs_clear(&s->xattrs);
    memset(s, 0, sizeof(*s));
}

static int kvs_copy(kvs *dst, const kvs *src)
{
    size_t i;
    memset(dst, 0, sizeof(*dst));
    if (!src->n)
        return 0;
    dst->v = calloc(src->n, sizeof(kv));
    if (!dst->v)
        return -ENOMEM;
    dst->cap = src->n;
    for (i = 0; i < src->n; i++) {
        dst->v[i].key = strdup(src->v[i].key);
        dst->v[i].val = dup_bytes(src->v[i].val, src->v[i].len);
        dst->v[i].len = src->v[i].len;
        dst->n++;
        if (!dst->v[i].key || !dst->v[i].val)
            return -ENOMEM;
    }
    return 0;
}

static int state_copy(state *dst, const state *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->exists = src->exists;
    dst->size = src->size;
    dst->hdrlen = src->hdrlen;
    dst->data = dup_bytes(src->data, src->size);
    dst->hdr = dup_bytes(src->hdr, src->hdrlen);
    if (!dst->data || !dst->hdr || kvs_copy(&dst->omap, &src->omap) ||
        kvs_copy(&dst->xattrs, &src->xattrs)) {
        state_clear(dst);
        return -ENOMEM;
    }
    return 0;
}

/* Index of key, or -(insertion point) - 1. */
static long kvs_find(const kvs *s, const char *key)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->v[mid].key, key);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(long)lo - 1;
}

static int kvs_set(kvs *s, const char *key, const void *val, size_t len)
{
    long at = kvs_find(s, key);
    uint8_t *v = dup_bytes(val, len);
    size_t pos;

    if (!v)
        return -ENOMEM;
    if (at >= 0) {
        free(s->v[at].val);
        s->v[at].val = v;
        s->v[at].len = len;
        return 0;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        kv *nv = realloc(s->v, cap * sizeof(kv));
        if (!nv) {
            free(v);
            return -ENOMEM;
        }
        s->v = nv;
        s->cap = cap;
    }
    pos = (size_t)(-at - 1);
    memmove(&s->v[pos + 1], &s->v[pos], (s->n - pos) * sizeof(kv));
    s->v[pos].key = strdup(key);
    s->v[pos].val = v;
    s->v[pos].len = len;
    s->n++;
    if (!s->v[pos].key)
        return -ENOMEM;
    return 0;
}

static int kvs_get(const kvs *s, const char *key, uint8_t **val, size_t *len)
{
    long at = kvs_find(s, key);
    if (at < 0)
        return -ENOENT;
    *val = dup_bytes(s->v[at].val, s->v[at].len);
    if (!*val)
        return -ENOMEM;
    *len = s->v[at].len;
    return 0;
}

/* ---- vmd_obj_ops: reads from cur, writes to next ---- */

static int m_stat(void *h, uint64_t *size)
{
    mem_obj *m = h;
    if (!m->cur.exists)
        return -ENOENT;
    *size = m->cur.size;
    return 0;
}

static int m_read(void *h, uint64_t off, size_t len, uint8_t **out, size_t *outlen)
{
    mem_obj *m = h;
    size_t n;
    if (!m->cur.exists)
        return -ENOENT;
    n = off >= m->cur.size ? 0 : m->cur.size - (size_t)off;
    if (n > len)
        n = len;
    *out = dup_bytes(m->cur.data + (n ? off : 0), n);
    if (!*out)
        return -ENOMEM;
    *outlen = n;
    return 0;
}

static int m_write(void *h, uint64_t off, const void *buf, size_t len)
{
    mem_obj *m = h;
    size_t end = (size_t)off + len;
    if (off > (1u << 30) || len > (1u << 30))
        return -EFBIG;
    if (end > m->next.size) {
        uint8_t *d = realloc(m->next.data, end ? end : 1);
        if (!d)
            return -ENOMEM;
        memset(d + m->next.size, 0, end - m->next.size);
        m->next.data = d;
        m->next.size = end;
    }
    if (len)
        memcpy(m->next.data + off, buf, len);
    m->next.exists = 1;
    return 0;
}

static int m_write_full(void *h, const void *buf, size_t len)
{
    mem_obj *m = h;
    m->next.size = 0;
    return m_write(h, 0, buf, len);
}

static int m_truncate(void *h, uint64_t size)
{
    mem_obj *m = h;
    if (size > m->next.size)
        return m_write(h, size, "", 0);
    m->next.size = (size_t)size;
    m->next.exists = 1;
    return 0;
}

static int m_getxattr(void *h, const char *name, uint8_t **val, size_t *len)
{
    mem_obj *m = h;
    int rc;
    if (!m->cur.exists)
        return -ENOENT;
    rc = kvs_get(&m->cur.xattrs, name, val, len);
    return rc == -ENOENT ? -ENODATA : rc;
}

static int m_setxattr(void *h, const char *name, const void *val, size_t len)
{
    mem_obj *m = h;
    m->next.exists = 1;
    return kvs_set(&m->next.xattrs, name, val, len);
}

static int m_omap_get(void *h, const char *key, uint8_t **val, size_t *len)
{
    mem_obj *m = h;
    if (!m->cur.exists)
        return -ENOENT;
    return kvs_get(&m->cur.omap, key, val, len);
}

static int m_omap_get_keys(void *h, const char *const *keys, size_t n, vmd_obj_omap_fn fn,
                           void *arg)
{
    mem_obj *m = h;
    size_t i;
    int rc;
    if (!m->cur.exists)
        return -ENOENT;
    for (i = 0; i < n; i++) {
        long at = kvs_find(&m->cur.omap, keys[i]);
        if (at < 0)
            continue;
        rc = fn(arg, m->cur.omap.v[at].key, m->cur.omap.v[at].val, m->cur.omap.v[at].len);
        if (rc)
            return rc;
    }
    return 0;
}

static int m_omap_set(void *h, const char *const *keys, const uint8_t *const *vals,
                      const size_t *lens, size_t n)
{
    mem_obj *m = h;
    size_t i;
    int rc;
    m->next.exists = 1;
    for (i = 0; i < n; i++) {
        rc = kvs_set(&m->next.omap, keys[i], vals[i], lens[i]);
        if (rc)
            return rc;
    }
    return 0;
}

static int m_omap_remove(void *h, const char *key)
{
    mem_obj *m = h;
    long at = kvs_find(&m->next.omap, key);
    if (at < 0)
        return 0; /* the OSD does not complain about removing a missing key */
    free(m->next.omap.v[at].key);
    free(m->next.omap.v[at].val);
    memmove(&m->next.omap.v[at], &m->next.omap.v[at + 1],
            (m->next.omap.n - (size_t)at - 1) * sizeof(kv));
    m->next.omap.n--;
    return 0;
}

static int m_omap_page(void *h, const char *after, uint64_t max, vmd_obj_omap_fn fn, void *arg,
                       int *more)
{
    mem_obj *m = h;
    long at;
    size_t i, got = 0;
    int rc;

    if (!m->cur.exists)
        return -ENOENT;
    if (max > VMD_OMAP_PAGE)
        max = VMD_OMAP_PAGE;
    at = kvs_find(&m->cur.omap, after ? after : "");
    i = at >= 0 ? (size_t)at + 1 : (size_t)(-at - 1);
    for (; i < m->cur.omap.n && got < max; i++, got++) {
        rc = fn(arg, m->cur.omap.v[i].key, m->cur.omap.v[i].val, m->cur.omap.v[i].len);
        if (rc)
            return rc;
    }
    *more = i < m->cur.omap.n;
    return 0;
}

static int m_header_get(void *h, uint8_t **val, size_t *len)
{
    mem_obj *m = h;
    if (!m->cur.exists)
        return -ENOENT;
    *val = dup_bytes(m->cur.hdr, m->cur.hdrlen);
    if (!*val)
        return -ENOMEM;
    *len = m->cur.hdrlen;
    return 0;
}

static int m_header_set(void *h, const void *val, size_t len)
{
    mem_obj *m = h;
    uint8_t *d = dup_bytes(val, len);
    if (!d)
        return -ENOMEM;
    free(m->next.hdr);
    m->next.hdr = d;
    m->next.hdrlen = len;
    m->next.exists = 1;
    return 0;
}

static const vmd_obj_ops mem_ops = {
    .stat = m_stat,
    .read = m_read,
    .write_full = m_write_full,
    .write = m_write,
    .truncate = m_truncate,
    .getxattr = m_getxattr,
    .setxattr = m_setxattr,
    .omap_get = m_omap_get,
    .omap_get_keys = m_omap_get_keys,
    .omap_set = m_omap_set,
    .omap_remove = m_omap_remove,
    .omap_page = m_omap_page,
    .omap_header_get = m_header_get,
    .omap_header_set = m_header_set,
};

mem_obj *mem_obj_new(void)
{
    mem_obj *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->obj.ops = &mem_ops;
    m->obj.h = m;
    return m;
}

void mem_obj_free(mem_obj *m)
{
    if (!m)
        return;
    state_clear(&m->cur);
    state_clear(&m->next);
    free(m);
}

vmd_obj *mem_obj_handle(mem_obj *m)
{
    return &m->obj;
}

int mem_obj_call(mem_obj *m, mem_method_fn fn, const uint8_t *in, size_t inlen, uint8_t **out,
                 size_t *outlen)
{
    int rc;

    *out = NULL;
    *outlen = 0;
    state_clear(&m->next);
    if (state_copy(&m->next, &m->cur))
        return -ENOMEM;
    rc = fn(&m->obj, in, inlen, out, outlen);
    if (rc >= 0) {
        state tmp = m->cur;
        m->cur = m->next;
        m->next = tmp;
    }
    state_clear(&m->next);
    return rc;
}

int mem_obj_exists(const mem_obj *m)
{
    return m->cur.exists;
}

size_t mem_obj_omap_count(const mem_obj *m)
{
    return m->cur.omap.n;
}

size_t mem_obj_size(const mem_obj *m)
{
    return m->cur.size;
}

const uint8_t *mem_obj_data(const mem_obj *m)
{
    return m->cur.data;
}

int mem_obj_put_data(mem_obj *m, const void *buf, size_t len)
{
    uint8_t *d = dup_bytes(buf, len);
    if (!d)
        return -ENOMEM;
    free(m->cur.data);
    m->cur.data = d;
    m->cur.size = len;
    m->cur.exists = 1;
    return 0;
}

int mem_obj_put_omap(mem_obj *m, const char *key, const void *val, size_t len)
{
    m->cur.exists = 1;
    return kvs_set(&m->cur.omap, key, val, len);
}

int mem_obj_put_header(mem_obj *m, const void *buf, size_t len)
{
    uint8_t *d = dup_bytes(buf, len);
    if (!d)
        return -ENOMEM;
    free(m->cur.hdr);
    m->cur.hdr = d;
    m->cur.hdrlen = len;
    m->cur.exists = 1;
    return 0;
}
