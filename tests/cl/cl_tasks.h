/* Task splits for the learner tests of tests/cl/: a learner made for small data, the samples of
 * one task gathered in stored or shuffled order, and a whole stream of two-class tasks fed in
 * batches. Header-only (static inline) because tests/CMakeLists.txt builds each test from one
 * file plus tests/support; include it after test_support.h. A failing learner call fails the test
 * with the learner's message. */
#ifndef KENYON_TESTS_CL_TASKS_H
#define KENYON_TESTS_CL_TASKS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/learner.h"
#include "kenyon/rng.h"

/* Creates `method` for d inputs and n_classes classes with the given seed and options. */
static inline kn_learner *cl_make(const char *method, size_t d, int n_classes, uint64_t seed,
                                  const kn_kv *ov, size_t nov)
{
    kn_learner_info info = {.d = d, .n_classes = n_classes, .seed = seed};
    kn_learner *l = NULL;
    kn_error err;
    if (kn_learner_create(method, &info, ov, nov, &l, &err))
        fail_msg("create %s: %s", method, err.msg);
    return l;
}

/* Copies the rows of x (n x d, labels y) whose label is one of cls[0..ncls) into xb/yb (room for
 * n rows), in stored order, or in an order drawn from r when r is not NULL; returns their count. */
static inline size_t cl_task_gather(const float *x, const int32_t *y, size_t n, size_t d,
                                    const int32_t *cls, int ncls, kn_rng *r, float *xb,
                                    int32_t *yb)
{
    size_t *idx = malloc((n ? n : 1) * sizeof *idx), m = 0;
    if (!idx)
        fail_msg("out of memory gathering a task of %zu samples", n);
    for (size_t s = 0; s < n; s++)
        for (int c = 0; c < ncls; c++)
            if (y[s] == cls[c]) {
                idx[m++] = s;
                break;
            }
    if (r)
        kn_rng_shuffle(r, idx, m, sizeof idx[0]);
    for (size_t i = 0; i < m; i++) {
        memcpy(xb + i * d, x + idx[i] * d, d * sizeof(float));
        yb[i] = y[idx[i]];
    }
    free(idx);
    return m;
}

/* Trains l on task t, whose classes are cls[0] and cls[1], with the rows x (n x d, labels y) in
 * stored order, observed in batches of `batch`. */
static inline void cl_train_task(kn_learner *l, int t, const int32_t cls[2], const float *x,
                                 const int32_t *y, size_t n, size_t d, size_t batch)
{
    kn_error err;
    if (kn_learner_begin_task(l, t, cls, 2, &err))
        fail_msg("begin_task %d: %s", t, err.msg);
    for (size_t st = 0; st < n; st += batch) {
        size_t b = n - st < batch ? n - st : batch;
        if (kn_learner_observe(l, x + st * d, y + st, b, &err))
            fail_msg("observe: %s", err.msg);
    }
    if (kn_learner_end_task(l, &err))
        fail_msg("end_task %d: %s", t, err.msg);
}

/* Streams x/y (n x d) as n_tasks tasks of two classes: position ti of the stream is task
 * torder[ti], i.e. classes 2 torder[ti] and 2 torder[ti] + 1. The samples of each task come in an
 * order drawn from `seed` (0: as stored; one generator over the whole stream) and are observed in
 * batches of `batch`. */
static inline void cl_stream_tasks(kn_learner *l, const float *x, const int32_t *y, size_t n,
                                   size_t d, const int *torder, int n_tasks, uint64_t seed,
                                   size_t batch)
{
    kn_rng r;
    kn_rng_seed(&r, seed);
    float *xb = malloc((n ? n : 1) * d * sizeof *xb);
    int32_t *yb = malloc((n ? n : 1) * sizeof *yb);
    if (!xb || !yb)
        fail_msg("out of memory for a stream of %zu samples", n);
    for (int ti = 0; ti < n_tasks; ti++) {
        int32_t cls[2] = {2 * torder[ti], 2 * torder[ti] + 1};
        size_t m = cl_task_gather(x, y, n, d, cls, 2, seed ? &r : NULL, xb, yb);
        cl_train_task(l, ti, cls, xb, yb, m, d, batch);
    }
    free(xb);
    free(yb);
}

#endif
