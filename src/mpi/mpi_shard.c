/* Data-parallel training over MPI ranks (mpi_internal.h): the wrapper learner every sharded
 * method goes through (kn_mpi_wrap_learner, also used by mpi_class_shard.c for ncm and slda),
 * and the sums of fly and fly-ridge. The learner's ops are replaced by the wrapper: observe keeps the samples at this rank's positions of the task
 * order (position p belongs to rank p mod N), encodes them and adds them to this rank's sums;
 * end_task merges the sums of all ranks and applies them to the model every rank holds.
 *
 * fly (beta = 0): the rule adds lr * h to the target row and clips at the ceiling. The
 * increments are non-negative, so clipping once per task, min(c, w + lr * sum h), equals clipping
 * after every sample in exact arithmetic. To make the sum itself exact (and so the same for any
 * number of ranks and any order), each activation is counted in fixed point: an int64 per
 * (cell, class) of round(h * 2^32), summed with an integer reduction, then applied once per task
 * in double. This is a different rounding from the single-process rule's per-sample float
 * additions (on MNIST-20 the weights differ by at most 5e-7, not bit for bit); kenyon run
 * without mpirun keeps the single-process rule unchanged, and every MPI run, 1 rank or many,
 * gives the same bits.
 *
 * fly-ridge: each rank accumulates its shard's G = sum h h^T (upper triangle) and B = sum h y^T
 * in double with the library's own accumulate; end_task reduces them to rank 0 (packed upper
 * triangle + B, one message) and broadcasts the total, so every rank adds the same numbers.
 * Double sums of different groupings differ in the last bits (G by ~1e-10 on MNIST-20 at m 1000,
 * the float weights were identical); the tests bound the weights across rank
 * counts by 1e-6. */
#include <math.h>
#include <mpi.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cl/fly_parts.h"
#include "mpi/mpi_internal.h"

#define SHARD_CHUNK 4096
#define FIXED_ONE 0x1p32 /* fixed-point scale of one activation in the fly counts */

/* ---- The wrapper both families share (fly and fly-ridge here, ncm and slda in
 * mpi_class_shard.c). */

typedef struct shard_wrap {
    kn_mpi_run *mr;
    const kn_learner_ops *inner_ops;
    void *inner_impl;
    const kn_mpi_shard_ops *ops;
    void *state;
    size_t pos; /* samples of the current task observed so far (all ranks) */
} shard_wrap;

/* The learner as its own method sees it. */
static kn_learner inner_view(const kn_learner *l)
{
    const shard_wrap *w = l->impl;
    kn_learner v = *l;
    v.ops = w->inner_ops;
    v.impl = w->inner_impl;
    return v;
}

static int wrap_begin_task(kn_learner *l, int task, const int32_t *classes, int n, kn_error *err)
{
    shard_wrap *w = l->impl;
    w->pos = 0;
    if (!w->inner_ops->begin_task)
        return 0;
    kn_learner v = inner_view(l);
    return w->inner_ops->begin_task(&v, task, classes, n, err);
}

static int wrap_observe(kn_learner *l, const float *x, const int32_t *y, size_t n, kn_error *err)
{
    shard_wrap *w = l->impl;
    int rc = w->ops->observe(w->state, l, x, y, n, w->pos, err);
    w->pos += n;
    return rc;
}

static int wrap_end_task(kn_learner *l, kn_error *err)
{
    shard_wrap *w = l->impl;
    int rc = kn_mpi_exchange(w->mr, 0, NULL, err);
    if (rc)
        return rc;
    if (w->ops->merge(w->state, w->pos) != 0)
        return kn_fail(err, KN_EIO, "MPI training: the reduction of task %d failed", l->task);
    if (!w->inner_ops->end_task)
        return 0;
    kn_learner v = inner_view(l);
    return w->inner_ops->end_task(&v, err);
}

static int wrap_predict(kn_learner *l, const float *x, size_t n, float *scores, kn_error *err)
{
    shard_wrap *w = l->impl;
    kn_learner v = inner_view(l);
    return w->inner_ops->predict_scores(&v, x, n, scores, err);
}

static int wrap_save(const kn_learner *l, const char *path, kn_error *err)
{
    const shard_wrap *w = l->impl;
    kn_learner v = inner_view(l);
    return w->inner_ops->save(&v, path, err);
}

static void wrap_destroy(kn_learner *l)
{
    shard_wrap *w = l->impl;
    if (!w)
        return;
    const kn_learner_ops *ops = w->inner_ops;
    l->impl = w->inner_impl;
    l->ops = ops;
    w->ops->free(w->state);
    free(w);
    if (ops && ops->destroy)
        ops->destroy(l);
}

static const kn_learner_ops wrap_ops = {
    .begin_task = wrap_begin_task,
    .observe = wrap_observe,
    .end_task = wrap_end_task,
    .predict_scores = wrap_predict,
    .save = wrap_save,
    .destroy = wrap_destroy,
};

int kn_mpi_wrap_learner(kn_mpi_run *mr, kn_learner *l, const kn_mpi_shard_ops *ops, void *state,
                        kn_error *err)
{
    shard_wrap *w = calloc(1, sizeof *w);
    if (!w) {
        ops->free(state);
        return kn_fail(err, KN_ENOMEM, "MPI training: out of memory");
    }
    w->mr = mr;
    w->ops = ops;
    w->state = state;
    w->inner_ops = l->ops;
    w->inner_impl = l->impl;
    l->ops = &wrap_ops;
    l->impl = w;
    return 0;
}

int kn_mpi_sum_doubles(const kn_mpi_run *mr, double *v, size_t n)
{
    for (size_t at = 0; at < n; at += KN_MPI_SUM_PIECE) {
        size_t len = n - at < KN_MPI_SUM_PIECE ? n - at : KN_MPI_SUM_PIECE;
        double *p = v + at;
        int ok = mr->rank == 0
                     ? MPI_Reduce(MPI_IN_PLACE, p, (int)len, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD)
                     : MPI_Reduce(p, NULL, (int)len, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
        if (ok != MPI_SUCCESS ||
            MPI_Bcast(p, (int)len, MPI_DOUBLE, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
            return -1;
    }
    return 0;
}

/* ---- fly and fly-ridge. */

typedef struct shard_state {
    kn_mpi_run *mr;
    kn_fly_model *fly;
    kn_fly_ridge *ridge;   /* NULL for fly */
    int64_t *counts;       /* fly: m x C fixed-point sums of the task */
    kn_fly_ridge shard;    /* fly-ridge: this rank's sums of the task */
    double *packed;        /* fly-ridge: upper triangle of G then B, for the reduction */
    size_t n_packed;
    float *xb;             /* this rank's rows of the current batch */
    int32_t *yb;
    size_t cap;
    kn_kc_codes codes;
} shard_state;

int kn_mpi_can_split(const kn_learner *l)
{
    const char *name = l->method->name;
    if (strcmp(name, "fly-ridge") == 0 || strcmp(name, "ncm") == 0 || strcmp(name, "slda") == 0)
        return 1;
    if (strcmp(name, "fly") != 0)
        return 0;
    const char *beta = kn_learner_param(l, "beta");
    return !beta || strtod(beta, NULL) == 0.0;
}

static int add_codes(shard_state *st, const kn_kc_codes *codes, const int32_t *y, kn_error *err)
{
    if (st->ridge)
        return kn_fly_ridge_accumulate(&st->shard, codes, y, err);
    const size_t C = (size_t)st->fly->n_classes;
    for (size_t i = 0; i < codes->n; i++) {
        const int32_t *cells = codes->cells + i * (size_t)codes->k;
        const float *vals = codes->values + i * (size_t)codes->k;
        for (int j = 0; j < codes->nnz[i]; j++)
            st->counts[(size_t)cells[j] * C + (size_t)y[i]] +=
                (int64_t)llrint((double)vals[j] * FIXED_ONE);
    }
    return 0;
}

static int fly_observe(void *state, const kn_learner *l, const float *x, const int32_t *y,
                       size_t n, size_t pos, kn_error *err)
{
    shard_state *st = state;
    const size_t d = l->info.d, N = (size_t)st->mr->size, me = (size_t)st->mr->rank;
    if (pos + n > ((size_t)1 << 31))
        return kn_fail(err, KN_EINVAL, "MPI training: a task of more than 2^31 samples would "
                       "overflow the fixed-point sums");
    int rc = 0;
    size_t kept = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if ((pos + i) % N != me)
            continue;
        memcpy(st->xb + kept * d, x + i * d, d * sizeof *x);
        st->yb[kept++] = y[i];
        if (kept == st->cap || i + N >= n) { /* buffer full, or this rank's last row here */
            rc = kn_kc_encode(&st->fly->enc, st->xb, kept, &st->codes, err);
            if (!rc)
                rc = add_codes(st, &st->codes, st->yb, err);
            kept = 0;
        }
    }
    return rc;
}

/* fly: all ranks' fixed-point sums, then one clipped update per (cell, class). */
static int merge_fly(shard_state *st)
{
    kn_fly_model *f = st->fly;
    const size_t nw = (size_t)f->p.m * (size_t)f->n_classes;
    /* Integer sums are exact: Allreduce gives every rank the same total. Sent in pieces that fit
     * an int count. */
    for (size_t at = 0; at < nw; at += (size_t)1 << 28) {
        size_t len = nw - at < ((size_t)1 << 28) ? nw - at : ((size_t)1 << 28);
        if (MPI_Allreduce(MPI_IN_PLACE, st->counts + at, (int)len, MPI_INT64_T, MPI_SUM,
                          MPI_COMM_WORLD) != MPI_SUCCESS)
            return -1;
    }
    const double lr = f->p.lr, ceil = f->p.ceiling;
    for (size_t q = 0; q < nw; q++) {
        if (!st->counts[q])
            continue;
        double v = (double)f->w[q] + lr * ((double)st->counts[q] / FIXED_ONE);
        f->w[q] = (float)(v > ceil ? ceil : v);
        st->counts[q] = 0;
    }
    return 0;
}

/* fly-ridge: the shards' G (upper triangle) and B summed on rank 0, the total sent to all. */
static int merge_ridge(shard_state *st, size_t n_task)
{
    kn_fly_ridge *r = st->ridge, *s = &st->shard;
    const size_t m = (size_t)r->m, C = (size_t)r->n_classes;
    kn_fly_ridge_flush(s); /* both G are read or written below */
    kn_fly_ridge_flush(r);
    size_t q = 0;
    for (size_t i = 0; i < m; i++)
        for (size_t j = i; j < m; j++)
            st->packed[q++] = s->g[i * m + j];
    memcpy(st->packed + q, s->b, m * C * sizeof *s->b);
    if (kn_mpi_sum_doubles(st->mr, st->packed, st->n_packed) != 0)
        return -1;
    q = 0;
    for (size_t i = 0; i < m; i++)
        for (size_t j = i; j < m; j++)
            r->g[i * m + j] += st->packed[q++];
    for (size_t i = 0; i < m * C; i++)
        r->b[i] += st->packed[q + i];
    memset(s->g, 0, m * m * sizeof *s->g);
    memset(s->b, 0, m * C * sizeof *s->b);
    r->n_seen += n_task;
    if (n_task)
        r->dirty = 1;
    return 0;
}

static int fly_merge(void *state, size_t n_task)
{
    shard_state *st = state;
    return st->ridge ? merge_ridge(st, n_task) : merge_fly(st);
}

static void fly_free(void *state)
{
    shard_state *st = state;
    free(st->counts);
    free(st->packed);
    free(st->xb);
    free(st->yb);
    kn_fly_ridge_free(&st->shard);
    kn_kc_codes_free(&st->codes);
    free(st);
}

static const kn_mpi_shard_ops fly_shard_ops = {
    .observe = fly_observe,
    .merge = fly_merge,
    .free = fly_free,
};

double kn_mpi_shard_bytes(kn_learner *l)
{
    kn_fly_model *fly;
    kn_fly_ridge *ridge;
    kn_error err;
    if (kn_fly_learner_parts(l, &fly, &ridge, &err))
        return 0;
    const double m = fly->p.m, C = l->info.n_classes, k = fly->p.k, d = (double)l->info.d;
    /* The batch rows and their codes (kn_kc_codes: a cell index and a value per winner). */
    double bytes = SHARD_CHUNK * (d * 4 + 4) + SHARD_CHUNK * k * 8 + SHARD_CHUNK * 4;
    if (!ridge) /* the fixed-point counts, and the library's scratch for one piece of them */
        return bytes + m * C * 8 + fmin(m * C, (double)((size_t)1 << 28)) * 8;
    /* The shard's Gram matrix, targets and weights (kn_fly_ridge_init), its buffer of pending
     * codes with their regrouped copy (m^2 / 8 entries of 8 + 5 bytes), the packed reduction
     * buffer, and the library's scratch for one piece of it. */
    const double packed = m * (m + 1) / 2 + m * C;
    return bytes + m * m * 8 + m * m * 13 / 8 + m * C * 12 + packed * 8 +
           fmin(packed, (double)KN_MPI_SUM_PIECE) * 8;
}

int kn_mpi_shard_learner(kn_mpi_run *mr, kn_learner *l, kn_error *err)
{
    kn_fly_model *fly;
    kn_fly_ridge *ridge;
    int rc = kn_fly_learner_parts(l, &fly, &ridge, err);
    if (rc)
        return rc;
    shard_state *st = calloc(1, sizeof *st);
    if (!st)
        return kn_fail(err, KN_ENOMEM, "MPI training: out of memory");
    st->mr = mr;
    st->fly = fly;
    st->ridge = ridge;
    st->cap = SHARD_CHUNK;
    const size_t m = (size_t)fly->p.m, C = (size_t)l->info.n_classes;
    st->xb = malloc(st->cap * l->info.d * sizeof *st->xb);
    st->yb = malloc(st->cap * sizeof *st->yb);
    rc = st->xb && st->yb ? kn_kc_codes_alloc(&st->codes, st->cap, fly->p.k, err)
                          : kn_fail(err, KN_ENOMEM, "MPI training: out of memory for a batch");
    if (!rc && !ridge) {
        st->counts = calloc(m * C, sizeof *st->counts);
        if (!st->counts)
            rc = kn_fail(err, KN_ENOMEM, "MPI training: out of memory for %zu x %zu sums", m, C);
    }
    if (!rc && ridge) {
        rc = kn_fly_ridge_init(&st->shard, ridge->m, ridge->n_classes, ridge->lambda, err);
        st->n_packed = m * (m + 1) / 2 + m * C;
        st->packed = rc ? NULL : malloc(st->n_packed * sizeof *st->packed);
        if (!rc && !st->packed)
            rc = kn_fail(err, KN_ENOMEM, "MPI training: out of memory for the reduction buffer "
                         "(%zu doubles)", st->n_packed);
    }
    if (rc) {
        fly_free(st);
        return rc;
    }
    return kn_mpi_wrap_learner(mr, l, &fly_shard_ops, st, err);
}
