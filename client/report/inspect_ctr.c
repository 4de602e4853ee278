/*
 * inspect_ctr.c - `vmdedup inspect` of a container: header and slot table, for people or jq.
 *
 * Reads the header and the table only (vmd_ctr_load, fully validated) and
 * prints them. Text output:
 *
 *     container c.vm1.00000000000000a0: 1048760 bytes
 *       version 1 compat 1 flags 0x2 (SEALED) id 0x00000000000000a0 vm vm1
 *       nslots 3 table_off 1048592 table_len 168 data_bytes 1048464
 *       slot state     enc  offset      stored      raw         fp
 *       0    LIVE      zstd 128         1234        4096        9f86d081...
 *
 * JSON output (json != 0): one object
 *     {"oid":..,"size":..,"version":..,"compat":..,"flags":..,"popular":..,"sealed":..,
 *      "id":"<16 hex>","vm":..,"nslots":..,"table_off":..,"table_len":..,"data_bytes":..,
 *      "slots":[{"slot":0,"state":"LIVE","encoding":"ZSTD","offset":..,"stored_len":..,
 *                "raw_len":..,"fp":"<64 hex>"},...]}
 */
#include <inttypes.h>
#include <stdio.h>

#include "rados/ctr_client.h"
#include "report/inspect.h"
#include "util/json.h"

static const char *state_name(uint8_t state)
{
    return state == VMD_CTR_LIVE ? "LIVE" : state == VMD_CTR_DEAD ? "DEAD" : "RECLAIMED";
}

static const char *encoding_name(uint8_t encoding)
{
    return encoding == VMD_CTR_RAW ? "RAW" : "ZSTD";
}

static void print_text(const vmd_ctr *c, const char *oid, FILE *f)
{
    const vmd_ctr_header *h = &c->hdr;
    uint32_t i;

    fprintf(f, "container %s: %" PRIu64 " bytes\n", oid, c->size);
    fprintf(f, "  version %u compat %u flags 0x%x (%s%s) id 0x%016" PRIx64 " vm %s\n", h->version,
            h->compat, h->flags, h->flags & VMD_CTR_F_POPULAR ? "POPULAR " : "",
            h->flags & VMD_CTR_F_SEALED ? "SEALED" : "", h->id, h->vm_len ? h->vm : "-");
    fprintf(f,
            "  nslots %" PRIu32 " table_off %" PRIu64 " table_len %" PRIu32 " data_bytes %" PRIu64
            "\n",
            h->nslots, h->table_off, h->table_len, h->data_bytes);
    fprintf(f, "  %-6s %-9s %-4s %-11s %-11s %-11s %s\n", "slot", "state", "enc", "offset",
            "stored", "raw", "fp");
    for (i = 0; i < h->nslots; i++) {
        const vmd_ctr_slot *s = &c->slots[i];
        fprintf(f, "  %-6" PRIu32 " %-9s %-4s %-11" PRIu64 " %-11" PRIu32 " %-11" PRIu32 " ", i,
                state_name(s->state), s->encoding == VMD_CTR_RAW ? "raw" : "zstd", s->offset,
                s->stored_len, s->raw_len);
        vmd_inspect_hex(f, s->fp, VMD_CTR_FP_SIZE);
        fputc('\n', f);
    }
}

static void print_json(const vmd_ctr *c, const char *oid, FILE *f)
{
    const vmd_ctr_header *h = &c->hdr;
    uint32_t i;

    fputs("{\"oid\":", f);
    vmd_json_write_str(f, oid);
    fprintf(f,
            ",\"size\":%" PRIu64 ",\"version\":%u,\"compat\":%u,\"flags\":%u,\"popular\":%s,"
            "\"sealed\":%s,\"id\":\"%016" PRIx64 "\",\"vm\":",
            c->size, h->version, h->compat, h->flags,
            h->flags & VMD_CTR_F_POPULAR ? "true" : "false",
            h->flags & VMD_CTR_F_SEALED ? "true" : "false", h->id);
    vmd_json_write_str(f, h->vm);
    fprintf(f,
            ",\"nslots\":%" PRIu32 ",\"table_off\":%" PRIu64 ",\"table_len\":%" PRIu32
            ",\"data_bytes\":%" PRIu64 ",\"slots\":[",
            h->nslots, h->table_off, h->table_len, h->data_bytes);
    for (i = 0; i < h->nslots; i++) {
        const vmd_ctr_slot *s = &c->slots[i];
        fprintf(f,
                "%s{\"slot\":%" PRIu32 ",\"state\":\"%s\",\"encoding\":\"%s\",\"offset\":%" PRIu64
                ",\"stored_len\":%" PRIu32 ",\"raw_len\":%" PRIu32 ",\"fp\":\"",
                i ? "," : "", i, state_name(s->state), encoding_name(s->encoding), s->offset,
                s->stored_len, s->raw_len);
        vmd_inspect_hex(f, s->fp, VMD_CTR_FP_SIZE);
        fputs("\"}", f);
    }
    fputs("]}\n", f);
}

int vmd_inspect_ctr(vmd_store *s, rados_ioctx_t io, const char *oid, int json, FILE *f)
{
    vmd_ctr *c = NULL;
    int err;

    err = vmd_ctr_load(s, io, oid, &c);
    if (err) {
        if (json) {
            fputs("{\"oid\":", f);
            vmd_json_write_str(f, oid);
            fprintf(f, ",\"error\":%d}\n", err);
        }
        return err;
    }
    if (json)
        print_json(c, oid, f);
    else
        print_text(c, oid, f);
    vmd_ctr_free(c);
    return 0;
}
