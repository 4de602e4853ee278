/*
 * oqueue.h - a bounded queue that hands work out in any order and back in order.
 *
 * The backup pipeline has N workers that each take the next segment, and
 * one writer that must consume the results in segment order (containers
 * and the recipe are laid out in disk order). Items are numbered 0..total-1;
 * their results live in a caller-owned ring of `window` slots (item i in
 * slot i % window). A worker may claim item i only while i < consumed +
 * window, so at most `window` results exist at once whatever the disk size,
 * and a slow writer stalls the workers instead of growing memory.
 *
 *   worker:  while (vmd_oq_claim(q, &i) == 0) { fill slot i % window; vmd_oq_publish(q, i); }
 *   writer:  while (vmd_oq_next(q, &i, ms) == 0) { use slot i % window; vmd_oq_done(q); }
 *
 * vmd_oq_stop() wakes everyone and makes every later call return
 * -ECANCELED (an error in any thread ends the pipeline).
 */
#ifndef VMD_OQUEUE_H
#define VMD_OQUEUE_H

#include <pthread.h>
#include <stdint.h>

typedef struct vmd_oq {
    pthread_mutex_t mu;
    pthread_cond_t cv_claim; /* a slot became free */
    pthread_cond_t cv_ready; /* an item was published */
    uint64_t total;
    uint64_t next_claim; /* next item a worker gets */
    uint64_t next_out;   /* next item the writer consumes */
    unsigned window;
    uint8_t *ready; /* per slot: the item in it is published */
    int stopped;
} vmd_oq;

/* 0, -EINVAL (window 0) or -ENOMEM. */
int vmd_oq_init(vmd_oq *q, unsigned window, uint64_t total);
void vmd_oq_destroy(vmd_oq *q);

/* Worker: *idx = the next item. 0; -ENOENT (all claimed); -ECANCELED (stopped). Blocks for room. */
int vmd_oq_claim(vmd_oq *q, uint64_t *idx);

/* Worker: the result of item idx is in its slot. */
void vmd_oq_publish(vmd_oq *q, uint64_t idx);

/*
 * Writer: waits up to timeout_ms (< 0: forever) for the next item in order.
 * 0 (*idx set); -ENOENT (all consumed); -ECANCELED; -ETIMEDOUT.
 */
int vmd_oq_next(vmd_oq *q, uint64_t *idx, int timeout_ms);

/* Writer: finished with the item vmd_oq_next returned; its slot is free. */
void vmd_oq_done(vmd_oq *q);

/* Ends the pipeline: every waiting and later call returns -ECANCELED. */
void vmd_oq_stop(vmd_oq *q);

#endif /* VMD_OQUEUE_H */
