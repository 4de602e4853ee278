/*
 * test_xen.c - the plugin's logic over a toolstack with fixed domains.
 *
 * The toolstack here is a table of three domains implementing vmd_xen_ops;
 * libxenlight itself is exercised by xen_libxl.c on a real Xen host.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmd_test.h"
#include "xen.h"

typedef struct fake_xen {
    int paused[8]; /* pause depth per domid, as libxl counts it */
    int pauses, unpauses;
    int fail_pause;
} fake_xen;

static const vmd_xen_domain fake_domains[] = {
    {0, "00000000-0000-0000-0000-000000000000", "Domain-0"},
    {3, "6f1c2d3e-1111-4222-8333-444455556666", "web1"},
    {7, "7a7a7a7a-aaaa-4bbb-8ccc-dddddddddddd", "3"}, /* a name that looks like a domid */
};

static int fake_list_domains(void *impl, vmd_xen_domain **out, size_t *count)
{
    (void)impl;
    *out = malloc(sizeof(fake_domains));
    if (!*out)
        return -ENOMEM;
    memcpy(*out, fake_domains, sizeof(fake_domains));
    *count = sizeof(fake_domains) / sizeof(fake_domains[0]);
    return 0;
}

static int fake_list_disks(void *impl, uint32_t domid, vmd_xen_disk **out, size_t *count)
{
    (void)impl;
    (void)domid;
    *out = NULL;
    *count = 0;
    return 0;
}

static int fake_pause(void *impl, uint32_t domid)
{
    fake_xen *f = impl;
    if (f->fail_pause)
        return -EIO;
    f->paused[domid]++;
    f->pauses++;
    return 0;
}

static int fake_unpause(void *impl, uint32_t domid)
{
    fake_xen *f = impl;
    f->paused[domid]--;
    f->unpauses++;
    return 0;
}

static const vmd_xen_ops fake_ops = {fake_list_domains, fake_list_disks, fake_pause, fake_unpause,
                                     NULL};

static void test_find_by_name_uuid_and_domid(void)
{
    fake_xen f = {0};
    vmd_xen *x;
    vmd_xen_domain d;

    CU_ASSERT_EQUAL_FATAL(vmd_xen_open_ops(&x, &fake_ops, &f), 0);
    CU_ASSERT_EQUAL(vmd_xen_find_domain(x, "web1", &d), 0);
    CU_ASSERT_EQUAL(d.domid, 3);
    CU_ASSERT_EQUAL(vmd_xen_find_domain(x, "6F1C2D3E-1111-4222-8333-444455556666", &d), 0);
    CU_ASSERT_STRING_EQUAL(d.name, "web1");
    /* "3" is the name of domain 7: a name wins over a domain id. */
    CU_ASSERT_EQUAL(vmd_xen_find_domain(x, "3", &d), 0);
    CU_ASSERT_EQUAL(d.domid, 7);
    CU_ASSERT_EQUAL(vmd_xen_find_domain(x, "0", &d), 0);
    CU_ASSERT_STRING_EQUAL(d.name, "Domain-0");
    vmd_xen_close(x);
}

static void test_find_unknown_and_empty(void)
{
    fake_xen f = {0};
    vmd_xen *x;
    vmd_xen_domain d;

    CU_ASSERT_EQUAL_FATAL(vmd_xen_open_ops(&x, &fake_ops, &f), 0);
    CU_ASSERT_EQUAL(vmd_xen_find_domain(x, "db9", &d), -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(x->err, "db9"));
    CU_ASSERT_EQUAL(vmd_xen_find_domain(x, "", &d), -EINVAL);
    CU_ASSERT_EQUAL(vmd_xen_find_domain(x, "12abc", &d), -ENOENT);
    vmd_xen_close(x);
}

static int body_ok(void *arg)
{
    fake_xen *f = arg;
    return f->paused[3] == 1 ? 0 : -EFAULT; /* runs while paused */
}

static int body_fails(void *arg)
{
    (void)arg;
    return -ENOSPC;
}

static void test_with_paused_always_unpauses(void)
{
    fake_xen f = {0};
    vmd_xen *x;

    CU_ASSERT_EQUAL_FATAL(vmd_xen_open_ops(&x, &fake_ops, &f), 0);
    CU_ASSERT_EQUAL(vmd_xen_with_paused(x, 3, body_ok, &f), 0);
    CU_ASSERT_EQUAL(f.paused[3], 0);
    CU_ASSERT_EQUAL(vmd_xen_with_paused(x, 3, body_fails, &f), -ENOSPC);
    CU_ASSERT_EQUAL(f.paused[3], 0);
    CU_ASSERT_EQUAL(f.pauses, 2);
    CU_ASSERT_EQUAL(f.unpauses, 2);
    vmd_xen_close(x);
}

static void test_with_paused_pause_failure_runs_nothing(void)
{
    fake_xen f = {0};
    vmd_xen *x;

    f.fail_pause = 1;
    CU_ASSERT_EQUAL_FATAL(vmd_xen_open_ops(&x, &fake_ops, &f), 0);
    CU_ASSERT_EQUAL(vmd_xen_with_paused(x, 3, body_fails, &f), -EIO);
    CU_ASSERT_EQUAL(f.unpauses, 0);
    vmd_xen_close(x);
}

/* 1 when this process runs in a Xen control domain (dom0). */
static int in_dom0(void)
{
    char caps[128] = "";
    FILE *f = fopen("/proc/xen/capabilities", "r");
    if (!f)
        return 0;
    if (!fgets(caps, sizeof(caps), f))
        caps[0] = 0;
    fclose(f);
    return strstr(caps, "control_d") != NULL;
}

static void test_libxl_open_matches_the_machine(void)
{
    vmd_xen *x = NULL;
    char err[256] = "";

    if (in_dom0()) {
        CU_ASSERT_EQUAL(vmd_xen_libxl_open(&x, err, sizeof(err)), 0);
        CU_ASSERT_PTR_NOT_NULL(x);
        vmd_xen_close(x);
        return;
    }
    /* No hypervisor: the real libxl must say so in one line, not crash. */
    CU_ASSERT_EQUAL(vmd_xen_libxl_open(&x, err, sizeof(err)), -ENODEV);
    CU_ASSERT_PTR_NULL(x);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "Xen is not running here"));
}

int main(void)
{
    static const vmd_test_case cases[] = {
        {"find by name, uuid and domid", test_find_by_name_uuid_and_domid},
        {"find unknown and empty", test_find_unknown_and_empty},
        {"with_paused always unpauses", test_with_paused_always_unpauses},
        {"with_paused: pause failure runs nothing", test_with_paused_pause_failure_runs_nothing},
        {"libxl open matches the machine", test_libxl_open_matches_the_machine},
        {NULL, NULL},
    };
    return vmd_test_main("xen", cases);
}
