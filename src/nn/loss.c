/* Losses: log-softmax + negative log-likelihood (cross-entropy) with an optional mask of
 * active outputs, soft-target cross-entropy for distillation, and mean squared error. Means
 * over the batch, as PyTorch's default reduction; sums in double. */
#include <math.h>

#include "nn/nn_internal.h"

/* log-sum-exp over the active entries of one row (with max subtraction). */
static double row_logsumexp(const kn_real *z, int n_out, const uint8_t *active, double scale,
                            double *max_out)
{
    double mx = -INFINITY;
    for (int c = 0; c < n_out; c++)
        if ((!active || active[c]) && z[c] * scale > mx)
            mx = z[c] * scale;
    double s = 0;
    for (int c = 0; c < n_out; c++)
        if (!active || active[c])
            s += exp(z[c] * scale - mx);
    *max_out = mx;
    return mx + log(s);
}

void kn_log_softmax(const kn_real *logits, size_t n, int n_out, const uint8_t *active,
                    kn_real *out)
{
    for (size_t r = 0; r < n; r++) {
        const kn_real *z = logits + r * (size_t)n_out;
        double mx;
        double lse = row_logsumexp(z, n_out, active, 1.0, &mx);
        for (int c = 0; c < n_out; c++)
            out[r * (size_t)n_out + (size_t)c] =
                (!active || active[c]) ? (kn_real)(z[c] - lse) : (kn_real)-INFINITY;
    }
}

static int check_mask(int n_out, const uint8_t *active, const char *what, kn_error *err)
{
    if (n_out <= 0)
        return kn_fail(err, KN_EINVAL, "%s: n_out %d must be positive", what, n_out);
    if (active) {
        int any = 0;
        for (int c = 0; c < n_out; c++)
            any |= active[c] != 0;
        if (!any)
            return kn_fail(err, KN_EINVAL, "%s: the mask of active outputs is empty", what);
    }
    return 0;
}

int kn_loss_cross_entropy(const kn_real *logits, size_t n, int n_out, const int32_t *y,
                          const uint8_t *active, double *loss, kn_real *dlogits, kn_error *err)
{
    int rc = check_mask(n_out, active, "kn_loss_cross_entropy", err);
    if (rc)
        return rc;
    if (n == 0)
        return kn_fail(err, KN_EINVAL, "kn_loss_cross_entropy: empty batch");
    for (size_t r = 0; r < n; r++)
        if (y[r] < 0 || y[r] >= n_out || (active && !active[y[r]]))
            return kn_fail(err, KN_EINVAL, "kn_loss_cross_entropy: label %d of row %zu is %s",
                           (int)y[r], r,
                           (y[r] < 0 || y[r] >= n_out) ? "out of range" : "not an active output");
    double total = 0;
    const double inv_n = 1.0 / (double)n;
    for (size_t r = 0; r < n; r++) {
        const kn_real *z = logits + r * (size_t)n_out;
        double mx;
        double lse = row_logsumexp(z, n_out, active, 1.0, &mx);
        total += lse - z[y[r]];
        if (dlogits) {
            kn_real *d = dlogits + r * (size_t)n_out;
            for (int c = 0; c < n_out; c++) {
                if (active && !active[c]) {
                    d[c] = 0;
                    continue;
                }
                double p = exp(z[c] - lse);
                d[c] = (kn_real)((p - (c == y[r] ? 1.0 : 0.0)) * inv_n);
            }
        }
    }
    if (loss)
        *loss = total * inv_n;
    return 0;
}

int kn_loss_soft_cross_entropy(const kn_real *logits, const kn_real *target, size_t n,
                               int n_out, double temperature, const uint8_t *active,
                               double *loss, kn_real *dlogits, kn_error *err)
{
    int rc = check_mask(n_out, active, "kn_loss_soft_cross_entropy", err);
    if (rc)
        return rc;
    if (n == 0)
        return kn_fail(err, KN_EINVAL, "kn_loss_soft_cross_entropy: empty batch");
    if (!(temperature > 0))
        return kn_fail(err, KN_EINVAL, "kn_loss_soft_cross_entropy: temperature %g must be "
                       "positive", temperature);
    const double inv_t = 1.0 / temperature, inv_n = 1.0 / (double)n;
    double total = 0;
    for (size_t r = 0; r < n; r++) {
        const kn_real *z = logits + r * (size_t)n_out, *t = target + r * (size_t)n_out;
        double mx;
        double lse = row_logsumexp(z, n_out, active, inv_t, &mx);
        for (int c = 0; c < n_out; c++) {
            if (active && !active[c]) {
                if (dlogits)
                    dlogits[r * (size_t)n_out + (size_t)c] = 0;
                continue;
            }
            double logp = z[c] * inv_t - lse;
            total -= t[c] * logp;
            if (dlogits)
                dlogits[r * (size_t)n_out + (size_t)c] =
                    (kn_real)((exp(logp) - t[c]) * inv_t * inv_n);
        }
    }
    if (loss)
        *loss = total * inv_n;
    return 0;
}

double kn_loss_mse(const kn_real *pred, const kn_real *target, size_t n_elems, kn_real *dpred)
{
    if (n_elems == 0)
        return 0;
    double s = 0;
    const double inv = 1.0 / (double)n_elems;
    for (size_t i = 0; i < n_elems; i++) {
        double d = (double)pred[i] - (double)target[i];
        s += d * d;
        if (dpred)
            dpred[i] = (kn_real)(2.0 * d * inv);
    }
    return s * inv;
}
