/* LSTM layer: step-by-step forward over a batch of sequences with a full record, and
 * back-propagation through time; see kenyon/lstm.h. Products go through BLAS gemm (KN_GEMM is
 * sgemm or dgemm, following kn_real). */
#include "kenyon/lstm.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

size_t kn_lstm_n_params(int in, int hidden)
{
    size_t H = (size_t)hidden;
    return 4 * H * ((size_t)in + H) + 8 * H;
}

void kn_lstm_init_params(int in, int hidden, kn_real *params, kn_rng *rng)
{
    /* Drawn here rather than with kn_fill_uniform so that this file stands alone in the
     * double-precision gradient-check build. */
    double bound = 1.0 / sqrt((double)hidden);
    size_t n = kn_lstm_n_params(in, hidden);
    for (size_t i = 0; i < n; i++)
        params[i] = (kn_real)((2.0 * kn_rng_uniform(rng) - 1.0) * bound);
}

void kn_lstm_free(kn_lstm *l)
{
    if (!l)
        return;
    free(l->x);
    free(l->gates);
    free(l->c);
    free(l->h);
    free(l->tanh_c);
    free(l->dz);
    free(l->dh_next);
    free(l->dc_next);
    free(l->dh_t);
    memset(l, 0, sizeof *l);
}

static kn_real *alloc_reals(size_t a, size_t b, size_t c, int *failed)
{
    if (b && a > SIZE_MAX / b)
        goto fail;
    size_t ab = a * b;
    if (c && ab > SIZE_MAX / c)
        goto fail;
    size_t n = ab * c;
    if (n > SIZE_MAX / sizeof(kn_real))
        goto fail;
    kn_real *p = calloc(n ? n : 1, sizeof(kn_real));
    if (!p)
        goto fail;
    return p;
fail:
    *failed = 1;
    return NULL;
}

int kn_lstm_create(kn_lstm *l, int in, int hidden, size_t batch, size_t max_steps,
                   kn_error *err)
{
    memset(l, 0, sizeof *l);
    if (in < 1 || in > 1 << 20)
        return kn_fail(err, KN_EINVAL, "lstm: input size %d not in [1, 2^20]", in);
    if (hidden < 1 || hidden > 1 << 16)
        return kn_fail(err, KN_EINVAL, "lstm: hidden size %d not in [1, 65536]", hidden);
    if (batch < 1 || max_steps < 1)
        return kn_fail(err, KN_EINVAL, "lstm: batch (%zu) and max_steps (%zu) must be >= 1",
                       batch, max_steps);
    size_t H = (size_t)hidden;
    int failed = 0;
    l->x = alloc_reals(max_steps, batch, (size_t)in, &failed);
    l->gates = alloc_reals(max_steps, batch, 4 * H, &failed);
    l->c = alloc_reals(max_steps + 1, batch, H, &failed);
    l->h = alloc_reals(max_steps + 1, batch, H, &failed);
    l->tanh_c = alloc_reals(max_steps, batch, H, &failed);
    l->dz = alloc_reals(max_steps, batch, 4 * H, &failed);
    l->dh_next = alloc_reals(batch, H, 1, &failed);
    l->dc_next = alloc_reals(batch, H, 1, &failed);
    l->dh_t = alloc_reals(batch, H, 1, &failed);
    if (failed) {
        kn_lstm_free(l);
        return kn_fail(err, KN_ENOMEM, "lstm: out of memory for %zu steps x %zu sequences x %d "
                                       "units", max_steps, batch, hidden);
    }
    l->in = in;
    l->hidden = hidden;
    l->batch = batch;
    l->max_steps = max_steps;
    return 0;
}

void kn_lstm_reset(kn_lstm *l)
{
    size_t nh = l->batch * (size_t)l->hidden;
    memset(l->c, 0, nh * sizeof(kn_real));
    memset(l->h, 0, nh * sizeof(kn_real));
    l->steps = 0;
}

static inline kn_real sigmoid(kn_real z) { return (kn_real)(1.0 / (1.0 + exp(-(double)z))); }

int kn_lstm_step(kn_lstm *l, const kn_real *params, const kn_real *x, const kn_real **h_out,
                 kn_error *err)
{
    if (l->steps >= l->max_steps)
        return kn_fail(err, KN_ESTATE, "lstm: step %zu exceeds the %zu steps allocated",
                       l->steps + 1, l->max_steps);
    const size_t n = l->batch, I = (size_t)l->in, H = (size_t)l->hidden, G = 4 * H;
    const size_t t = l->steps;
    const kn_real *W_ih = params, *W_hh = W_ih + G * I, *b_ih = W_hh + G * H, *b_hh = b_ih + G;
    kn_real *xt = l->x + t * n * I, *z = l->gates + t * n * G;
    const kn_real *h_prev = l->h + t * n * H, *c_prev = l->c + t * n * H;
    kn_real *h_new = l->h + (t + 1) * n * H, *c_new = l->c + (t + 1) * n * H;
    kn_real *tc = l->tanh_c + t * n * H;
    memcpy(xt, x, n * I * sizeof(kn_real));
    for (size_t r = 0; r < n; r++)
        for (size_t k = 0; k < G; k++)
            z[r * G + k] = b_ih[k] + b_hh[k];
    KN_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)G, (int)I, 1, xt, (int)I, W_ih,
            (int)I, 1, z, (int)G);
    KN_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)G, (int)H, 1, h_prev, (int)H,
            W_hh, (int)H, 1, z, (int)G);
    for (size_t r = 0; r < n; r++) {
        kn_real *zr = z + r * G;
        for (size_t j = 0; j < H; j++) {
            kn_real ig = sigmoid(zr[j]), fg = sigmoid(zr[H + j]);
            kn_real gg = (kn_real)tanh((double)zr[2 * H + j]), og = sigmoid(zr[3 * H + j]);
            zr[j] = ig;
            zr[H + j] = fg;
            zr[2 * H + j] = gg;
            zr[3 * H + j] = og;
            kn_real c = fg * c_prev[r * H + j] + ig * gg;
            kn_real thc = (kn_real)tanh((double)c);
            c_new[r * H + j] = c;
            tc[r * H + j] = thc;
            h_new[r * H + j] = og * thc;
        }
    }
    l->steps++;
    if (h_out)
        *h_out = h_new;
    return 0;
}

const kn_real *kn_lstm_hidden(const kn_lstm *l, size_t t)
{
    return l->h + (t + 1) * l->batch * (size_t)l->hidden;
}

int kn_lstm_backward(kn_lstm *l, const kn_real *params, const kn_real *dh, kn_real *grads,
                     kn_real *dx, kn_error *err)
{
    if (l->steps == 0)
        return kn_fail(err, KN_ESTATE, "lstm: backward without any forward step");
    const size_t n = l->batch, I = (size_t)l->in, H = (size_t)l->hidden, G = 4 * H;
    const size_t T = l->steps;
    const kn_real *W_ih = params, *W_hh = W_ih + G * I;
    kn_real *dW_ih = grads, *dW_hh = dW_ih + G * I, *db_ih = dW_hh + G * H, *db_hh = db_ih + G;
    memset(l->dh_next, 0, n * H * sizeof(kn_real));
    memset(l->dc_next, 0, n * H * sizeof(kn_real));
    for (size_t t = T; t-- > 0;) {
        const kn_real *gates = l->gates + t * n * G, *tc = l->tanh_c + t * n * H;
        const kn_real *c_prev = l->c + t * n * H;
        kn_real *dz = l->dz + t * n * G;
        for (size_t r = 0; r < n; r++) {
            const kn_real *gr = gates + r * G;
            kn_real *dzr = dz + r * G;
            for (size_t j = 0; j < H; j++) {
                size_t rj = r * H + j;
                kn_real ig = gr[j], fg = gr[H + j], gg = gr[2 * H + j], og = gr[3 * H + j];
                kn_real dht = dh[t * n * H + rj] + l->dh_next[rj];
                kn_real th = tc[rj];
                kn_real dct = l->dc_next[rj] + dht * og * (1 - th * th);
                dzr[j] = dct * gg * ig * (1 - ig);
                dzr[H + j] = dct * c_prev[rj] * fg * (1 - fg);
                dzr[2 * H + j] = dct * ig * (1 - gg * gg);
                dzr[3 * H + j] = dht * th * og * (1 - og);
                l->dc_next[rj] = dct * fg;
            }
        }
        /* dh_{t-1} = dz_t W_hh */
        KN_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)H, (int)G, 1, dz, (int)G,
                W_hh, (int)H, 0, l->dh_next, (int)H);
    }
    /* Weight gradients over all steps at once: dW_ih += dZ^T X, dW_hh += dZ^T H_prev. */
    const int rows = (int)(T * n);
    KN_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)G, (int)I, rows, 1, l->dz, (int)G, l->x,
            (int)I, 1, dW_ih, (int)I);
    KN_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)G, (int)H, rows, 1, l->dz, (int)G, l->h,
            (int)H, 1, dW_hh, (int)H);
    for (size_t r = 0; r < T * n; r++) {
        const kn_real *dzr = l->dz + r * G;
        for (size_t k = 0; k < G; k++) {
            db_ih[k] += dzr[k];
            db_hh[k] += dzr[k];
        }
    }
    if (dx)
        KN_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, (int)I, (int)G, 1, l->dz, (int)G,
                W_ih, (int)I, 0, dx, (int)I);
    return 0;
}
