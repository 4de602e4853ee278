/*
 * timing.h - the two clocks the benchmarks read, in seconds as a double.
 *
 *   vmd_test_wall()        CLOCK_MONOTONIC: elapsed time, for work that waits
 *                          on the cluster (class calls, backups)
 *   vmd_test_thread_cpu()  CLOCK_THREAD_CPUTIME_ID: CPU time of the calling
 *                          thread, for CPU-bound loops on a shared machine
 *                          (time the thread spends preempted does not count,
 *                          as `openssl speed` counts user time)
 */
#ifndef VMD_TEST_TIMING_H
#define VMD_TEST_TIMING_H

double vmd_test_wall(void);
double vmd_test_thread_cpu(void);

#endif /* VMD_TEST_TIMING_H */
