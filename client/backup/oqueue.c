/*
 * oqueue.c - the ordered bounded queue of the backup pipeline (see oqueue.h).
 *
 * One mutex, two condition variables: workers wait on cv_claim for a free
 * slot, the writer waits on cv_ready for the next item in order. The ring
 * holds only flags; the results themselves are in the caller's slots, so
 * nothing is copied.
 */
#include "backup/oqueue.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

int vmd_oq_init(vmd_oq *q, unsigned window, uint64_t total)
{
    if (window == 0)
        return -EINVAL;
    q->ready = calloc(window, 1);
    if (!q->ready)
        return -ENOMEM;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv_claim, NULL);
    pthread_cond_init(&q->cv_ready, NULL);
    q->total = total;
    q->next_claim = q->next_out = 0;
    q->window = window;
    q->stopped = 0;
    return 0;
}

void vmd_oq_destroy(vmd_oq *q)
{
    if (!q->ready)
        return;
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv_claim);
    pthread_cond_destroy(&q->cv_ready);
    free(q->ready);
    q->ready = NULL;
}

int vmd_oq_claim(vmd_oq *q, uint64_t *idx)
{
    int err = 0;

    pthread_mutex_lock(&q->mu);
    while (!q->stopped && q->next_claim < q->total && q->next_claim >= q->next_out + q->window)
        pthread_cond_wait(&q->cv_claim, &q->mu);
    if (q->stopped)
        err = -ECANCELED;
    else if (q->next_claim >= q->total)
        err = -ENOENT;
    else
        *idx = q->next_claim++;
    pthread_mutex_unlock(&q->mu);
    return err;
}

void vmd_oq_publish(vmd_oq *q, uint64_t idx)
{
    pthread_mutex_lock(&q->mu);
    q->ready[idx % q->window] = 1;
    if (idx == q->next_out)
        pthread_cond_signal(&q->cv_ready);
    pthread_mutex_unlock(&q->mu);
}

static void deadline(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

int vmd_oq_next(vmd_oq *q, uint64_t *idx, int timeout_ms)
{
    struct timespec ts;
    int err = 0;

    if (timeout_ms >= 0)
        deadline(&ts, timeout_ms);
    pthread_mutex_lock(&q->mu);
    for (;;) {
        if (q->stopped) {
            err = -ECANCELED;
            break;
        }
        if (q->next_out >= q->total) {
            err = -ENOENT;
            break;
        }
        if (q->ready[q->next_out % q->window]) {
            *idx = q->next_out;
            break;
        }
        if (timeout_ms < 0) {
            pthread_cond_wait(&q->cv_ready, &q->mu);
        } else if (pthread_cond_timedwait(&q->cv_ready, &q->mu, &ts) == ETIMEDOUT) {
            err = -ETIMEDOUT;
            break;
        }
    }
    pthread_mutex_unlock(&q->mu);
    return err;
}

void vmd_oq_done(vmd_oq *q)
{
    pthread_mutex_lock(&q->mu);
    q->ready[q->next_out % q->window] = 0;
    q->next_out++;
    pthread_cond_broadcast(&q->cv_claim);
    pthread_mutex_unlock(&q->mu);
}

void vmd_oq_stop(vmd_oq *q)
{
    pthread_mutex_lock(&q->mu);
    q->stopped = 1;
    pthread_cond_broadcast(&q->cv_claim);
    pthread_cond_broadcast(&q->cv_ready);
    pthread_mutex_unlock(&q->mu);
}
