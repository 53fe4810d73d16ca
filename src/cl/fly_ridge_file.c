/* The streaming-ridge part of a fly learner's model file (src/cl/fly_parts.h), shared by
 * fly-ridge (src/cl/fly_methods.c) and fly-apl (src/cl/fly_apl.c):
 *   gram_upper  F64 [m (m + 1) / 2]  upper triangle of G = sum h h^T, row by row
 *   target_sums F64 [m, classes]     B = sum h y^T
 * with metadata fly.n_seen, fly.dirty and fly.lambda (the penalty in use). */
#include <math.h>
#include <stdlib.h>

#include "cl/fly_parts.h"

int kn_fly_ridge_add_tensors(kn_st_writer *w, const kn_fly_ridge *r, double **packed,
                             const char *path, kn_error *err)
{
    const size_t m = (size_t)r->m, np = m * (m + 1) / 2;
    *packed = malloc(np * sizeof **packed);
    if (!*packed)
        return kn_fail(err, KN_ENOMEM, "%s: out of memory packing the Gram matrix", path);
    for (size_t i = 0, q = 0; i < m; i++)
        for (size_t j = i; j < m; j++)
            (*packed)[q++] = r->g[i * m + j];
    size_t sh_g[1] = {np}, sh_b[2] = {m, (size_t)r->n_classes};
    int rc = kn_st_writer_add(w, "gram_upper", KN_ST_F64, 1, sh_g, *packed, err);
    if (!rc)
        rc = kn_st_writer_add(w, "target_sums", KN_ST_F64, 2, sh_b, r->b, err);
    if (!rc)
        rc = kn_st_writer_meta_fmt(w, "fly.n_seen", err, "%zu", r->n_seen);
    if (!rc)
        rc = kn_st_writer_meta_fmt(w, "fly.dirty", err, "%d", r->dirty);
    if (!rc)
        rc = kn_st_writer_meta_fmt(w, "fly.lambda", err, "%.17g", r->lambda);
    return rc;
}

int kn_fly_ridge_read_tensors(const kn_st_file *f, kn_fly_ridge *r, int lambda_required,
                              kn_error *err)
{
    const size_t m = (size_t)r->m, C = (size_t)r->n_classes;
    size_t sh_g[1] = {m * (m + 1) / 2}, sh_b[2] = {m, C};
    const kn_st_tensor *tg, *tb;
    int64_t dirty;
    uint64_t n_seen;
    int rc;
    if ((rc = kn_st_expect(f, "gram_upper", KN_ST_F64, 1, sh_g, &tg, err)) ||
        (rc = kn_st_expect(f, "target_sums", KN_ST_F64, 2, sh_b, &tb, err)) ||
        (rc = kn_st_meta_uint64(f, "fly.n_seen", &n_seen, err)) ||
        (rc = kn_st_meta_int64(f, "fly.dirty", &dirty, err)))
        return rc;
    if (dirty != 0 && dirty != 1)
        return kn_fail(err, KN_EFORMAT, "%s: fly.dirty = %lld is not 0 or 1", f->source,
                       (long long)dirty);
    /* fly-ridge files from before lambda could be chosen have no fly.lambda: the parameter's. */
    double lambda = r->lambda;
    if ((lambda_required || kn_st_meta(f, "fly.lambda")) &&
        (rc = kn_st_meta_double(f, "fly.lambda", &lambda, err)))
        return rc;
    if (!(lambda > 0) || !isfinite(lambda))
        return kn_fail(err, KN_EFORMAT, "%s: fly.lambda = %g is not a positive number",
                       f->source, lambda);
    /* The packed upper triangle, row by row, into the upper part of each row of G. */
    for (size_t i = 0, q = 0; !rc && i < m; q += m - i, i++) {
        rc = kn_fly_read_finite(f, tg, q, m - i, r->g + i * m + i, err);
        /* G is a sum of outer products: its diagonal cannot be negative. */
        if (!rc && r->g[i * m + i] < 0)
            rc = kn_fail(err, KN_EFORMAT, "%s: gram_upper diagonal %zu = %g is negative",
                         f->source, i, r->g[i * m + i]);
    }
    if (!rc)
        rc = kn_fly_read_finite(f, tb, 0, m * C, r->b, err);
    r->n_seen = (size_t)n_seen;
    r->dirty = dirty != 0;
    r->lambda = lambda;
    return rc;
}
