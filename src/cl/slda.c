/* The `slda` learner: streaming linear discriminant analysis (Hayes & Kanan, "Lifelong machine
 * learning with deep streaming linear discriminant analysis", CVPR Workshops 2020).
 *
 * State: per class the sum of its samples and their count, and the pooled within-class scatter
 * S = sum_i (x_i - mu_{y_i})(x_i - mu_{y_i})^T, all in double. The paper updates S one sample at
 * a time (Welford). We add a batch's samples of one class at once with the exact merge of two
 * groups (Chan, Golub & LeVeque): S += S_batch + n_a n_b / (n_a + n_b) (mu_a - m_b)(mu_a - m_b)^T,
 * where S_batch is the batch's scatter about its own mean m_b. For a batch of one sample this is
 * the per-sample Welford step; for any batch it gives the same S in exact arithmetic, so after
 * any stream (any sample or task order, any batching) the state is the offline one.
 *
 * Prediction (the paper's): Sigma = S / N, Lambda = ((1 - eps) Sigma + eps I)^-1 with shrinkage
 * eps (default 1e-4), score_c = mu_c^T Lambda x - 1/2 mu_c^T Lambda mu_c. Lambda mu_c is obtained
 * by a Cholesky solve (LAPACK) when predictions are needed after new data. Note: the authors'
 * code scales the Welford step by the total count rather than the class count, which makes its
 * S differ slightly from the pooled scatter; we keep the exact pooled scatter so the streaming
 * model equals offline LDA.
 *
 * Model file (safetensors): the common learner metadata (kenyon/learner.h) plus
 *   class_sums   F64 [classes, d]   sum of the samples of each class
 *   class_counts F64 [classes]      number of samples of each class
 *   scatter      F64 [d, d]         S (symmetric; the upper triangle is read) */
#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cl/class_sums.h"
#include "cl/methods.h"
#include "kenyon/safetensors.h"

typedef struct slda_state {
    kn_class_model base; /* first: class sums, and the scatter S (d x d, row-major, upper
                          * triangle maintained) in base.scatter (class_sums.h) */
    double shrinkage;
    double *z;       /* scratch: batch rows of one class, centred (cap x d) */
    size_t z_cap;
    double *work;    /* d x d: the factor */
    double *wt;      /* d x C: Lambda mu_c (column c) */
    double *bias;    /* C: -1/2 mu_c^T Lambda mu_c */
    double *diff;    /* d */
    int dirty;
} slda_state;

static const kn_param_spec slda_params[] = {
    KN_PARAM_ROW_REAL("shrinkage", "1e-4", 0, 1, KN_PARAM_MIN_OPEN,
                      "eps in Lambda = ((1 - eps) Sigma + eps I)^-1"),
    KN_PARAM_ROW_END,
};

static int slda_observe(kn_learner *l, const float *x, const int32_t *y, size_t n, kn_error *err)
{
    slda_state *s = l->impl;
    const size_t d = l->info.d;
    const int C = l->info.n_classes;
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= C)
            return kn_fail(err, KN_EINVAL, "slda: label %d of sample %zu outside [0, %d)",
                           (int)y[i], i, C);
    if (n > s->z_cap) {
        double *z = realloc(s->z, n * d * sizeof *z);
        if (!z)
            return kn_fail(err, KN_ENOMEM, "slda: out of memory for a batch of %zu", n);
        s->z = z;
        s->z_cap = n;
    }
    for (int c = 0; c < C; c++) {
        size_t nb = 0;
        for (size_t i = 0; i < n; i++)
            if (y[i] == c) {
                for (size_t j = 0; j < d; j++)
                    s->z[nb * d + j] = x[i * d + j];
                nb++;
            }
        if (!nb)
            continue;
        /* Batch mean m_b (in diff), then centre the rows. */
        double *mb = s->diff;
        memset(mb, 0, d * sizeof *mb);
        for (size_t r = 0; r < nb; r++)
            for (size_t j = 0; j < d; j++)
                mb[j] += s->z[r * d + j];
        double *sum = s->base.cs.sums + (size_t)c * d;
        const double na = s->base.cs.counts[c], nbd = (double)nb;
        for (size_t j = 0; j < d; j++) {
            double bsum = mb[j];
            mb[j] = bsum / nbd;
            for (size_t r = 0; r < nb; r++)
                s->z[r * d + j] -= mb[j];
            /* mb becomes mu_a - m_b (needed only when the class had samples before). */
            double mu_a = na > 0 ? sum[j] / na : 0;
            sum[j] += bsum;
            mb[j] = mu_a - mb[j];
        }
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)nb, 1.0, s->z, (int)d,
                    1.0, s->base.scatter, (int)d);
        if (na > 0)
            cblas_dsyr(CblasRowMajor, CblasUpper, (int)d, na * nbd / (na + nbd), mb, 1,
                       s->base.scatter, (int)d);
        s->base.cs.counts[c] = na + nbd;
    }
    if (n)
        s->base.dirty = 1;
    return 0;
}

static int slda_refresh(kn_learner *l, kn_error *err)
{
    slda_state *s = l->impl;
    if (!s->base.dirty)
        return 0;
    const size_t d = l->info.d, C = (size_t)l->info.n_classes;
    const kn_class_sums *cs = &s->base.cs;
    double N = 0;
    for (size_t c = 0; c < C; c++)
        N += cs->counts[c];
    const double eps = s->shrinkage, scale = N > 0 ? (1 - eps) / N : 0;
    for (size_t i = 0; i < d; i++) {
        for (size_t j = i; j < d; j++)
            s->work[i * d + j] = scale * s->base.scatter[i * d + j];
        s->work[i * d + i] += eps;
    }
    for (size_t c = 0; c < C; c++)
        for (size_t j = 0; j < d; j++)
            s->wt[j * C + c] = kn_class_sums_mean(cs, c, j);
    lapack_int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', (lapack_int)d, s->work,
                                     (lapack_int)d);
    if (info == 0)
        info = LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'U', (lapack_int)d, (lapack_int)C, s->work,
                              (lapack_int)d, s->wt, (lapack_int)C);
    if (info != 0)
        return kn_fail(err, KN_EINVAL,
                       "slda: the shrunk covariance is not positive definite (LAPACK info %d); "
                       "raise --shrinkage (now %g)",
                       (int)info, eps);
    for (size_t c = 0; c < C; c++) {
        double q = 0;
        for (size_t j = 0; j < d; j++)
            q += kn_class_sums_mean(cs, c, j) * s->wt[j * C + c];
        s->bias[c] = -0.5 * q;
    }
    s->base.dirty = 0;
    return 0;
}

static int slda_predict(kn_learner *l, const float *x, size_t n, float *scores, kn_error *err)
{
    slda_state *s = l->impl;
    int rc = slda_refresh(l, err);
    if (rc)
        return rc;
    const size_t d = l->info.d, C = (size_t)l->info.n_classes;
    for (size_t i = 0; i < n; i++) {
        float *si = scores + i * C;
        for (size_t c = 0; c < C; c++) {
            if (!(s->base.cs.counts[c] > 0)) {
                si[c] = -FLT_MAX;
                continue;
            }
            double v = s->bias[c];
            for (size_t j = 0; j < d; j++)
                v += (double)x[i * d + j] * s->wt[j * C + c];
            si[c] = (float)v;
        }
    }
    return 0;
}

static int slda_save(const kn_learner *l, const char *path, kn_error *err)
{
    const slda_state *s = l->impl;
    const size_t d = l->info.d;
    size_t sh_g[2] = {d, d};
    kn_st_writer w;
    kn_st_writer_init(&w);
    int rc = kn_learner_write_common(l, &w, err);
    if (!rc)
        rc = kn_class_sums_write(&s->base.cs, &w, err);
    if (!rc)
        rc = kn_st_writer_add(&w, "scatter", KN_ST_F64, 2, sh_g, s->base.scatter, err);
    if (!rc)
        rc = kn_st_writer_write(&w, path, err);
    kn_st_writer_free(&w);
    return rc;
}

static void slda_destroy(kn_learner *l)
{
    slda_state *s = l->impl;
    if (!s)
        return;
    kn_class_sums_free(&s->base.cs);
    free(s->base.scatter);
    free(s->z);
    free(s->work);
    free(s->wt);
    free(s->bias);
    free(s->diff);
    free(s);
    l->impl = NULL;
}

static const kn_learner_ops slda_ops = {
    .observe = slda_observe,
    .predict_scores = slda_predict,
    .save = slda_save,
    .destroy = slda_destroy,
};

static int slda_create(kn_learner *l, kn_error *err)
{
    const size_t C = (size_t)l->info.n_classes, d = l->info.d;
    double eps;
    int rc = kn_learner_param_double(l, "shrinkage", &eps, err);
    if (rc)
        return rc;
    if (!(eps > 0 && eps <= 1))
        return kn_fail(err, KN_EINVAL, "method slda: --shrinkage must be in (0, 1] (got %g)",
                       eps);
    if (d == 0 || d > 46000)
        return kn_fail(err, KN_EINVAL,
                       "method slda: d=%zu is out of range for a dense d x d covariance", d);
    slda_state *s = calloc(1, sizeof *s);
    if (!s)
        return kn_fail(err, KN_ENOMEM, "method slda: out of memory");
    l->impl = s;
    l->ops = &slda_ops;
    s->shrinkage = eps;
    int sums_rc = kn_class_sums_alloc(&s->base.cs, C, d);
    s->base.scatter = calloc(d * d, sizeof *s->base.scatter);
    s->work = calloc(d * d, sizeof *s->work);
    s->wt = calloc(d * C, sizeof *s->wt);
    s->bias = calloc(C, sizeof *s->bias);
    s->diff = calloc(d, sizeof *s->diff);
    if (sums_rc || !s->base.scatter || !s->work || !s->wt || !s->bias || !s->diff)
        return kn_fail(err, KN_ENOMEM, "method slda: out of memory for a %zu x %zu covariance",
                       d, d);
    s->base.dirty = 1;
    return 0;
}

static int slda_load(kn_learner *l, const kn_st_file *f, kn_error *err)
{
    const size_t C = (size_t)l->info.n_classes, d = l->info.d;
    size_t sh_g[2] = {d, d};
    const kn_st_tensor *ts, *tc, *tg;
    int rc = kn_class_sums_expect(f, C, d, &ts, &tc, err);
    if (!rc)
        rc = kn_st_expect(f, "scatter", KN_ST_F64, 2, sh_g, &tg, err);
    /* Shapes checked: the tensors are read straight into the state, then checked there. */
    if (!rc)
        rc = slda_create(l, err);
    if (rc)
        return rc;
    slda_state *s = l->impl;
    if ((rc = kn_class_sums_read(f, ts, tc, &s->base.cs, err)) ||
        (rc = kn_st_tensor_read(f, tg, s->base.scatter, err)))
        return rc;
    for (size_t q = 0; q < d * d; q++)
        if (!isfinite(s->base.scatter[q]))
            return kn_fail(err, KN_EFORMAT, "%s: scatter[%zu] is not finite", f->source, q);
    return 0;
}

const kn_method kn_method_slda = {
    "slda", "streaming LDA: class means + shared covariance, shrinkage (Hayes & Kanan 2020)",
    slda_params, slda_create, slda_load, NULL};
