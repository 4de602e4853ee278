/* timing.c - the clocks of timing.h. */
#include "timing.h"

#include <time.h>

static double seconds(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double vmd_test_wall(void)
{
    return seconds(CLOCK_MONOTONIC);
}

double vmd_test_thread_cpu(void)
{
    return seconds(CLOCK_THREAD_CPUTIME_ID);
}
