/* Data-parallel training of ncm and slda over MPI ranks (mpi_internal.h), in the wrapper that
 * fly shares (mpi_shard.c, kn_mpi_wrap_learner). As for fly, the sample at position p of a
 * task's training order belongs to rank p mod N; each rank sums its shard, and one reduction at
 * the end of the task merges the sums of all ranks into the model every rank holds.
 *
 * What a rank sums, per task, in double:
 *   ncm:  per class the sum of its samples and their count;
 *   slda: per class the sum of y = x - mu_c and the count, and the pooled moment sum of y y^T
 *         (upper triangle), where mu_c is the class's mean before the task (0 for a class not
 *         seen yet): the same shift on every rank, so shifted sums add across ranks. Shifting by
 *         the old mean keeps the moment sum small (no cancellation of a large mean) and makes the
 *         merge with the model exact: for each class, the pooled within-class scatter of old and
 *         new samples is S_old + sum y y^T - s_c s_c^T / (n_old + n_new), with s_c the sum of the
 *         class's y; the class sum grows by s_c + n_new mu_c.
 * The reduction goes to rank 0 and the total is broadcast (one message of C d + C (+ d (d+1)/2
 * for slda) doubles), so every rank adds the same numbers. Double sums of different groupings
 * differ in their last bits, so 1, 2 and 4 ranks agree with each other and with the
 * single-process learner (whose slda merges each batch with Chan's update) to about 1e-12
 * relative, not bit for bit; the tests bound it by 1e-6 and require the same accuracy matrix and
 * predictions. The single-process learners are unchanged. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cl/class_sums.h"
#include "mpi/mpi_internal.h"

#define CLASS_CHUNK 1024 /* rows of the shifted batch given to one dsyrk */

typedef struct class_shard {
    kn_mpi_run *mr;
    kn_class_model *model;
    size_t C, d;
    double *packed; /* the task's sums: C x d class sums, C counts, then (slda) the moment sum
                     * of y y^T as a d x d upper triangle, packed row by row */
    size_t n_packed;
    double *moment; /* slda: d x d (upper) moment sum of this rank's shard */
    double *shift;  /* slda: C x d class means before the task */
    double *yb;     /* slda: shifted rows waiting for the next dsyrk (CLASS_CHUNK x d) */
    size_t kept;
} class_shard;

static void update_shifts(class_shard *st)
{
    if (!st->shift)
        return;
    for (size_t c = 0; c < st->C; c++)
        for (size_t j = 0; j < st->d; j++)
            st->shift[c * st->d + j] = kn_class_sums_mean(&st->model->cs, c, j);
}

static void flush_moment(class_shard *st)
{
    if (!st->kept)
        return;
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)st->d, (int)st->kept, 1.0, st->yb,
                (int)st->d, 1.0, st->moment, (int)st->d);
    st->kept = 0;
}

static int class_observe(void *state, const kn_learner *l, const float *x, const int32_t *y,
                         size_t n, size_t pos, kn_error *err)
{
    class_shard *st = state;
    const size_t d = st->d, N = (size_t)st->mr->size, me = (size_t)st->mr->rank;
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0 || (size_t)y[i] >= st->C)
            return kn_fail(err, KN_EINVAL, "%s: label %d of sample %zu outside [0, %zu)",
                           l->method->name, (int)y[i], i, st->C);
    double *sums = st->packed, *counts = st->packed + st->C * d;
    for (size_t i = 0; i < n; i++) {
        if ((pos + i) % N != me)
            continue;
        const size_t c = (size_t)y[i];
        const float *xi = x + i * d;
        double *row = sums + c * d;
        if (st->shift) {
            const double *mu = st->shift + c * d;
            double *yi = st->yb + st->kept * d;
            for (size_t j = 0; j < d; j++) {
                yi[j] = (double)xi[j] - mu[j];
                row[j] += yi[j];
            }
            if (++st->kept == CLASS_CHUNK)
                flush_moment(st);
        } else {
            for (size_t j = 0; j < d; j++)
                row[j] += xi[j];
        }
        counts[c] += 1;
    }
    flush_moment(st);
    return 0;
}

/* Sums of all ranks (on rank 0, then broadcast), added to the model. */
static int class_merge(void *state, size_t n_task)
{
    (void)n_task; /* the class counts are summed with the rest */
    class_shard *st = state;
    const size_t C = st->C, d = st->d;
    if (st->moment) { /* pack the upper triangle after the sums and counts */
        double *p = st->packed + C * d + C;
        for (size_t i = 0; i < d; i++)
            for (size_t j = i; j < d; j++)
                *p++ = st->moment[i * d + j];
    }
    if (kn_mpi_sum_doubles(st->mr, st->packed, st->n_packed) != 0)
        return -1;
    kn_class_model *m = st->model;
    const double *sums = st->packed, *counts = st->packed + C * d;
    if (st->moment) {
        const double *p = st->packed + C * d + C;
        for (size_t i = 0; i < d; i++)
            for (size_t j = i; j < d; j++)
                m->scatter[i * d + j] += *p++;
    }
    int changed = 0;
    for (size_t c = 0; c < C; c++) {
        if (!(counts[c] > 0))
            continue;
        const double total = m->cs.counts[c] + counts[c];
        if (st->moment)
            cblas_dsyr(CblasRowMajor, CblasUpper, (int)d, -1.0 / total, sums + c * d, 1,
                       m->scatter, (int)d);
        double *row = m->cs.sums + c * d;
        for (size_t j = 0; j < d; j++)
            row[j] += st->shift ? sums[c * d + j] + counts[c] * st->shift[c * d + j]
                                : sums[c * d + j];
        m->cs.counts[c] = total;
        changed = 1;
    }
    if (changed)
        m->dirty = 1;
    memset(st->packed, 0, st->n_packed * sizeof *st->packed);
    if (st->moment)
        memset(st->moment, 0, d * d * sizeof *st->moment);
    update_shifts(st);
    return 0;
}

static void class_free(void *state)
{
    class_shard *st = state;
    free(st->packed);
    free(st->moment);
    free(st->shift);
    free(st->yb);
    free(st);
}

static const kn_mpi_shard_ops class_shard_ops = {
    .observe = class_observe,
    .merge = class_merge,
    .free = class_free,
};

size_t kn_mpi_class_reduction_doubles(size_t C, size_t d, int with_scatter)
{
    return C * d + C + (with_scatter ? d * (d + 1) / 2 : 0);
}

double kn_mpi_class_shard_bytes(kn_learner *l)
{
    kn_class_model *model;
    kn_error err;
    if (kn_class_learner_parts(l, &model, &err))
        return 0;
    const size_t C = model->cs.n_classes, d = model->cs.d;
    const int slda = model->scatter != NULL;
    const double packed = (double)kn_mpi_class_reduction_doubles(C, d, slda);
    /* The reduction buffer and the library's scratch for one piece of it; for slda the moment
     * sum, the shifts and the shifted rows. */
    double bytes = packed * 8 + fmin(packed, (double)KN_MPI_SUM_PIECE) * 8;
    if (slda)
        bytes += ((double)d * d + (double)C * d + (double)CLASS_CHUNK * d) * 8;
    return bytes;
}

int kn_mpi_class_shard_learner(kn_mpi_run *mr, kn_learner *l, kn_error *err)
{
    kn_class_model *model;
    int rc = kn_class_learner_parts(l, &model, err);
    if (rc)
        return rc;
    class_shard *st = calloc(1, sizeof *st);
    if (!st)
        return kn_fail(err, KN_ENOMEM, "MPI training: out of memory");
    st->mr = mr;
    st->model = model;
    st->C = model->cs.n_classes;
    st->d = model->cs.d;
    const size_t C = st->C, d = st->d;
    const int slda = model->scatter != NULL;
    st->n_packed = kn_mpi_class_reduction_doubles(C, d, slda);
    st->packed = calloc(st->n_packed, sizeof *st->packed);
    if (!st->packed)
        rc = kn_fail(err, KN_ENOMEM, "MPI training: out of memory for the reduction buffer "
                     "(%zu doubles)", st->n_packed);
    if (!rc && slda) {
        st->moment = calloc(d * d, sizeof *st->moment);
        st->shift = calloc(C * d, sizeof *st->shift);
        st->yb = malloc(CLASS_CHUNK * d * sizeof *st->yb);
        if (!st->moment || !st->shift || !st->yb)
            rc = kn_fail(err, KN_ENOMEM, "MPI training: out of memory for a %zu x %zu moment "
                         "sum", d, d);
        else
            update_shifts(st); /* a model resumed with --load starts from its means */
    }
    if (rc) {
        class_free(st);
        return rc;
    }
    return kn_mpi_wrap_learner(mr, l, &class_shard_ops, st, err);
}
