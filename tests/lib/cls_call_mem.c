/*
 * cls_call_mem.c - method calls on the in-memory object and the views of its
 * state that tests compare (cls_call_mem.h).
 *
 * The object image walks the omap a page at a time, restarting after the
 * last key of each page, as a client pages through a real object.
 */
#include "cls_call_mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "methods/index_methods.h"

int vmd_test_call(mem_obj *m, mem_method_fn fn, const uint8_t *in, size_t inlen)
{
    uint8_t *out = NULL;
    size_t outlen = 0;
    int rc = mem_obj_call(m, fn, in, inlen, &out, &outlen);

    free(out);
    return rc;
}

int vmd_test_idx_mutating(mem_method_fn fn)
{
    return fn == vmd_m_idx_register || fn == vmd_m_idx_release || fn == vmd_m_idx_ref ||
           fn == vmd_m_idx_mark_popular || fn == vmd_m_idx_unmark_popular;
}

int vmd_test_idx_reply(mem_obj *m, vmd_idx_target t, const uint8_t *op_id, uint8_t **out,
                       size_t *outlen)
{
    vmd_idx_reply_req req;
    uint8_t *in = NULL;
    size_t inlen = 0;
    int rc;

    req.t = t;
    memcpy(req.op_id, op_id, VMD_OP_ID_SIZE);
    if (vmd_idx_reply_req_encode(&req, &in, &inlen) != 0) {
        fprintf(stderr, "vmd_test_idx_reply: target %u/%u does not encode\n", t.bits, t.partition);
        abort(); /* a broken test, not a result */
    }
    rc = mem_obj_call(m, vmd_m_idx_reply, in, inlen, out, outlen);
    free(in);
    return rc;
}

int vmd_test_idx_reply_of(mem_obj *m, const uint8_t *req, size_t len, uint8_t **out, size_t *outlen)
{
    vmd_idx_target t;

    if (len < 25)
        return -EINVAL;
    t.bits = req[22];
    t.partition = (uint16_t)(req[23] | req[24] << 8);
    return vmd_test_idx_reply(m, t, req + 6, out, outlen);
}

static int sum_visit(void *arg, const char *key, const uint8_t *val, size_t len)
{
    vmd_test_idx_sums *s = arg;
    vmd_idx_entry e;
    vmd_fp fp;

    if (strncmp(key, VMD_IDX_OP_PREFIX, strlen(VMD_IDX_OP_PREFIX)) == 0) {
        s->ops++;
        return 0;
    }
    if (vmd_fp_from_hex(&fp, key) != 0 || vmd_idx_entry_decode(&e, val, len) != 0) {
        s->bad++;
        return 0;
    }
    s->c.entries++;
    s->c.holdings += e.vm_count;
    s->c.bytes += e.chunk_len;
    s->c.popular_refs += e.pop_refs;
    if (e.flags & VMD_IDX_ENTRY_POPULAR) {
        s->c.popular_entries++;
        s->c.popular_bytes += e.chunk_len;
    }
    return 0;
}

int vmd_test_idx_sum(mem_obj *m, vmd_test_idx_sums *s)
{
    vmd_obj *o = mem_obj_handle(m);
    int more = 0, rc;

    memset(s, 0, sizeof(*s));
    rc = o->ops->omap_page(o->h, "", VMD_OMAP_PAGE, sum_visit, s, &more);
    if (rc == 0 && more)
        rc = -EFBIG;
    return rc;
}

/* Appends n bytes to img; -ENOMEM (img unchanged) when it cannot grow. */
static int image_add(vmd_test_obj_image *img, const void *p, size_t n)
{
    if (img->len + n > img->cap) {
        size_t cap = (img->len + n) * 2 + 64;
        uint8_t *buf = realloc(img->buf, cap);
        if (!buf)
            return -ENOMEM;
        img->buf = buf;
        img->cap = cap;
    }
    if (n)
        memcpy(img->buf + img->len, p, n);
    img->len += n;
    return 0;
}

typedef struct image_walk {
    vmd_test_obj_image *img;
    char last[256]; /* the last key seen: where the next page starts */
    int err;
} image_walk;

static int image_visit(void *arg, const char *key, const uint8_t *val, size_t len)
{
    image_walk *w = arg;

    if (image_add(w->img, key, strlen(key) + 1) || image_add(w->img, &len, sizeof(len)) ||
        image_add(w->img, val, len))
        w->err = -ENOMEM;
    snprintf(w->last, sizeof(w->last), "%s", key);
    return 0;
}

int vmd_test_obj_image_get(mem_obj *m, vmd_test_obj_image *img)
{
    vmd_obj *o = mem_obj_handle(m);
    image_walk w = {img, "", 0};
    uint8_t *h = NULL;
    size_t hlen = 0;
    int more = 1, rc = 0;

    memset(img, 0, sizeof(*img));
    w.err = image_add(img, mem_obj_data(m), mem_obj_size(m));
    if (!w.err && o->ops->omap_header_get(o->h, &h, &hlen) == 0)
        w.err = image_add(img, h, hlen);
    free(h);
    while (more && !w.err && !rc) {
        more = 0;
        rc = o->ops->omap_page(o->h, w.last, VMD_OMAP_PAGE, image_visit, &w, &more);
    }
    if (!rc && !w.err)
        rc = image_add(img, "", 1);
    if (rc || w.err) {
        vmd_test_obj_image_free(img);
        return rc ? rc : w.err;
    }
    return 0;
}

void vmd_test_obj_image_free(vmd_test_obj_image *img)
{
    free(img->buf);
    memset(img, 0, sizeof(*img));
}

int vmd_test_obj_image_equal(vmd_test_obj_image *a, vmd_test_obj_image *b)
{
    int eq = a->len == b->len && (a->len == 0 || memcmp(a->buf, b->buf, a->len) == 0);

    vmd_test_obj_image_free(a);
    vmd_test_obj_image_free(b);
    return eq;
}
