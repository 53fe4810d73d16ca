/* The `ncm` learner: nearest class mean on the raw inputs (the classic prototype baseline; e.g.
 * Mensink et al., "Distance-based image classification", TPAMI 2013, and the NCM rows of the
 * RanPAC and SLDA papers). It keeps, per class, the sum of its samples (double) and their count;
 * a sample's score for class c is -||x - mu_c||^2, so the argmax is the nearest mean
 * (Euclidean). Sums are order-free: any order of samples and tasks gives the same means (up to
 * rounding of the double sums). Classes without samples score -FLT_MAX.
 *
 * Model file (safetensors): the common learner metadata (kenyon/learner.h) plus
 *   class_sums   F64 [classes, d]   sum of the samples of each class
 *   class_counts F64 [classes]      number of samples of each class */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "cl/class_sums.h"
#include "cl/methods.h"
#include "kenyon/safetensors.h"

typedef struct ncm_state {
    kn_class_model base; /* first: the class sums (class_sums.h); scatter stays NULL */
    double *means;       /* C x d, rebuilt when dirty */
    double *norms;       /* C: ||mu_c||^2 */
} ncm_state;

static const kn_param_spec ncm_params[] = {
    KN_PARAM_ROW_END,
};

static int ncm_observe(kn_learner *l, const float *x, const int32_t *y, size_t n, kn_error *err)
{
    ncm_state *s = l->impl;
    const size_t d = l->info.d;
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= l->info.n_classes)
            return kn_fail(err, KN_EINVAL, "ncm: label %d of sample %zu outside [0, %d)",
                           (int)y[i], i, l->info.n_classes);
    kn_class_sums *cs = &s->base.cs;
    for (size_t i = 0; i < n; i++) {
        double *row = cs->sums + (size_t)y[i] * d;
        const float *xi = x + i * d;
        for (size_t j = 0; j < d; j++)
            row[j] += xi[j];
        cs->counts[y[i]] += 1;
    }
    if (n)
        s->base.dirty = 1;
    return 0;
}

static void ncm_refresh(ncm_state *s, size_t C, size_t d)
{
    if (!s->base.dirty)
        return;
    for (size_t c = 0; c < C; c++) {
        double nrm = 0;
        for (size_t j = 0; j < d; j++) {
            double v = kn_class_sums_mean(&s->base.cs, c, j);
            s->means[c * d + j] = v;
            nrm += v * v;
        }
        s->norms[c] = nrm;
    }
    s->base.dirty = 0;
}

static int ncm_predict(kn_learner *l, const float *x, size_t n, float *scores, kn_error *err)
{
    (void)err;
    ncm_state *s = l->impl;
    const size_t d = l->info.d, C = (size_t)l->info.n_classes;
    ncm_refresh(s, C, d);
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * d;
        double xx = 0;
        for (size_t j = 0; j < d; j++)
            xx += (double)xi[j] * xi[j];
        for (size_t c = 0; c < C; c++) {
            if (!(s->base.cs.counts[c] > 0)) {
                scores[i * C + c] = -FLT_MAX;
                continue;
            }
            const double *mu = s->means + c * d;
            double dot = 0;
            for (size_t j = 0; j < d; j++)
                dot += xi[j] * mu[j];
            double dist = xx - 2 * dot + s->norms[c];
            scores[i * C + c] = (float)-(dist > 0 ? dist : 0);
        }
    }
    return 0;
}

static int ncm_save(const kn_learner *l, const char *path, kn_error *err)
{
    const ncm_state *s = l->impl;
    kn_st_writer w;
    kn_st_writer_init(&w);
    int rc = kn_learner_write_common(l, &w, err);
    if (!rc)
        rc = kn_class_sums_write(&s->base.cs, &w, err);
    if (!rc)
        rc = kn_st_writer_write(&w, path, err);
    kn_st_writer_free(&w);
    return rc;
}

static void ncm_destroy(kn_learner *l)
{
    ncm_state *s = l->impl;
    if (!s)
        return;
    kn_class_sums_free(&s->base.cs);
    free(s->means);
    free(s->norms);
    free(s);
    l->impl = NULL;
}

static const kn_learner_ops ncm_ops = {
    .observe = ncm_observe,
    .predict_scores = ncm_predict,
    .save = ncm_save,
    .destroy = ncm_destroy,
};

static int ncm_create(kn_learner *l, kn_error *err)
{
    const size_t C = (size_t)l->info.n_classes, d = l->info.d;
    if (d == 0 || d > ((size_t)1 << 40) / (C ? C : 1))
        return kn_fail(err, KN_EINVAL, "method ncm: d=%zu x %zu classes is out of range", d, C);
    ncm_state *s = calloc(1, sizeof *s);
    if (!s)
        return kn_fail(err, KN_ENOMEM, "method ncm: out of memory");
    l->impl = s;
    l->ops = &ncm_ops;
    int sums_rc = kn_class_sums_alloc(&s->base.cs, C, d);
    s->means = calloc(C * d, sizeof *s->means);
    s->norms = calloc(C, sizeof *s->norms);
    if (sums_rc || !s->means || !s->norms)
        return kn_fail(err, KN_ENOMEM, "method ncm: out of memory for %zu x %zu class sums", C,
                       d);
    s->base.dirty = 1;
    return 0;
}

static int ncm_load(kn_learner *l, const kn_st_file *f, kn_error *err)
{
    const kn_st_tensor *ts, *tc;
    int rc = kn_class_sums_expect(f, (size_t)l->info.n_classes, l->info.d, &ts, &tc, err);
    /* Shapes checked: the tensors are read straight into the state, then checked there. */
    if (!rc)
        rc = ncm_create(l, err);
    if (!rc)
        rc = kn_class_sums_read(f, ts, tc, &((ncm_state *)l->impl)->base.cs, err);
    return rc;
}

const kn_method kn_method_ncm = {"ncm", "nearest class mean on the inputs (Euclidean)",
                                 ncm_params, ncm_create, ncm_load, NULL};
