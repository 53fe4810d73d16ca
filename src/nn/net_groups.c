/* Loss gradients of several labelled groups of rows in one pass (kn_net_group_grads in
 * kenyon/nn.h): what GEM needs for the memories of every past task. The result equals, bit for
 * bit, one kn_net_zero_grad + kn_net_loss_grad per group in order, with each group's gradient
 * written to its own row of the caller's matrix; BatchNorm in training mode normalises every
 * group by its own statistics and updates the running statistics group by group, as the
 * separate calls do.
 *
 * Why it is faster: the products whose rows do not interact (every dense layer's forward and
 * input gradient) run once over all groups, as one tall GEMM instead of one short GEMM per
 * group; only the weight gradients (a sum over a group's rows) stay per group. That is exact
 * only on a backend whose per-row results do not depend on the number of rows: OpenBLAS (its
 * sgemm never splits the inner dimension, which was checked on this code's shapes) but not
 * oneDNN (it blocks the inner dimension by the matrix size). On oneDNN, or when asked, the
 * groups are processed one at a time, which is still exact and saves the per-group copies of
 * the gradient vector. The gradients are written straight into the caller's rows (no copy of
 * the net's gradient vector), and the pass leaves the net's own forward state alone.
 *
 * Only nets of dense, relu and batchnorm layers are supported (GEM's MLP). The layer kernels are
 * the net's own (kn_dense_*, kn_bn_*), called on this file's buffers, so the arithmetic is
 * the same code as kn_net_loss_grad's. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"

/* Rows processed together. It bounds the workspace (about 5 x rows x the widest layer floats:
 * 34 MB for GEM at H 3200, about what the net's own buffers for one 256-row memory held more
 * than for a 64-row batch), while a product of 512 rows is already tall enough to be cheap to
 * pack (bench/bench_gem_grads measures the pass). */
#define GROUP_CHUNK_ROWS 512

struct kn_net_group_ws {
    kn_real *input;          /* the chunk's rows, copied together */
    size_t input_cap;
    kn_real **act;           /* per layer: its output (NULL for relu: in place) */
    size_t *act_cap;
    kn_real *aux;            /* BatchNorm's normalised values when not written in place */
    size_t aux_cap;
    double *inv_std;         /* BatchNorm: groups x channels, per layer in turn */
    size_t inv_cap;
    kn_real *gbuf[2];
    size_t gbuf_cap[2];
    kn_real *dloss;
    size_t dloss_cap;
    int n_layers;
};

kn_net_group_ws *kn_net_group_ws_create(void) { return calloc(1, sizeof(kn_net_group_ws)); }

void kn_net_group_ws_free(kn_net_group_ws *ws)
{
    if (!ws)
        return;
    free(ws->input);
    for (int i = 0; i < ws->n_layers; i++)
        free(ws->act[i]);
    free(ws->act);
    free(ws->act_cap);
    free(ws->aux);
    free(ws->inv_std);
    free(ws->gbuf[0]);
    free(ws->gbuf[1]);
    free(ws->dloss);
    free(ws);
}

static int ws_layers(kn_net_group_ws *ws, int n_layers)
{
    if (ws->n_layers == n_layers)
        return 0;
    if (ws->n_layers) /* a workspace serves one net */
        return -1;
    ws->act = calloc((size_t)n_layers, sizeof *ws->act);
    ws->act_cap = calloc((size_t)n_layers, sizeof *ws->act_cap);
    if (!ws->act || !ws->act_cap) {
        free(ws->act);
        free(ws->act_cap);
        ws->act = NULL;
        ws->act_cap = NULL;
        return -1;
    }
    ws->n_layers = n_layers;
    return 0;
}

/* A copy of a BatchNorm layer record whose state points at group g's slice of the buffers, for
 * the net's BatchNorm kernels. The capacity is set so the kernel never reallocates. */
static kn_layer bn_view(const kn_layer *L, kn_real *out, kn_real *aux, double *inv_std,
                        size_t rows)
{
    kn_layer v = *L;
    v.out = out;
    v.out_cap = rows * L->out_dim;
    v.aux = aux;
    v.aux_cap = rows * L->out_dim;
    v.inv_std = inv_std;
    v.bn_was_training = 1;
    return v;
}

/* One chunk of groups (rows[0..ng), total N rows, x packed). joint: products over all rows. */
static int chunk_grads(kn_net *net, kn_net_group_ws *ws, const int32_t *y, const size_t *rows,
                       int ng, size_t N, int joint, kn_real *grads, size_t ld, kn_error *err)
{
    const int nl = net->n_layers;
    const int training = net->training;
    const char *what = "kn_net_group_grads";
    /* ---- forward */
    const kn_real *cur = ws->input;
    size_t inv_used = 0;
    for (int i = 0; i < nl; i++) {
        kn_layer *L = &net->layers[i];
        const kn_real *p = net->params + L->p_off;
        if (L->kind == KN_LAYER_RELU) {
            kn_real *o = (kn_real *)cur; /* in place: the input is this pass's own buffer */
            if (i == 0)
                return kn_fail(err, KN_EINVAL, "%s: a relu first layer is not supported", what);
            size_t m = N * L->out_dim;
            for (size_t k = 0; k < m; k++)
                o[k] = o[k] > 0 ? o[k] : 0;
            continue;
        }
        if (kn_nn_reserve(&ws->act[i], &ws->act_cap[i], N * L->out_dim))
            return kn_fail(err, KN_ENOMEM, "%s: out of memory at layer %d", what, i);
        if (L->kind == KN_LAYER_DENSE) {
            if (joint) {
                kn_dense_forward(cur, N, L->in_dim, L->out_dim, p, p + L->w_count, ws->act[i]);
            } else {
                size_t r0 = 0;
                for (int g = 0; g < ng; r0 += rows[g], g++)
                    kn_dense_forward(cur + r0 * L->in_dim, rows[g], L->in_dim, L->out_dim, p,
                                     p + L->w_count, ws->act[i] + r0 * L->out_dim);
            }
        } else { /* batchnorm: the normalised values overwrite a dense output (used only here) */
            kn_real *aux = (kn_real *)cur;
            if (i == 0 || net->layers[i - 1].kind != KN_LAYER_DENSE) {
                if (kn_nn_reserve(&ws->aux, &ws->aux_cap, N * L->out_dim))
                    return kn_fail(err, KN_ENOMEM, "%s: out of memory at layer %d", what, i);
                aux = ws->aux;
            }
            size_t need = inv_used + (size_t)ng * (size_t)L->in_c;
            if (need > ws->inv_cap) {
                double *q = realloc(ws->inv_std, need * sizeof *q);
                if (!q)
                    return kn_fail(err, KN_ENOMEM, "%s: out of memory at layer %d", what, i);
                ws->inv_std = q;
                ws->inv_cap = need;
            }
            size_t r0 = 0;
            for (int g = 0; g < ng; r0 += rows[g], g++) {
                kn_layer v = bn_view(L, ws->act[i] + r0 * L->out_dim, aux + r0 * L->out_dim,
                                     ws->inv_std + inv_used + (size_t)g * (size_t)L->in_c,
                                     rows[g]);
                if (kn_bn_forward(&v, p, net->buffers, training, cur + r0 * L->in_dim, rows[g]))
                    return kn_fail(err, KN_ENOMEM, "%s: out of memory at layer %d", what, i);
            }
            inv_used = need;
        }
        cur = ws->act[i];
    }
    /* ---- loss per group (the mean over the group's rows, as a separate call takes it) */
    const size_t od = kn_net_out_dim(net);
    if (kn_nn_reserve(&ws->dloss, &ws->dloss_cap, N * od))
        return kn_fail(err, KN_ENOMEM, "%s: out of memory", what);
    size_t r0 = 0;
    for (int g = 0; g < ng; r0 += rows[g], g++) {
        double value = 0;
        int rc = kn_loss_cross_entropy(cur + r0 * od, rows[g], (int)od, y + r0, NULL, &value,
                                       ws->dloss + r0 * od, err);
        if (rc)
            return rc;
        if (!isfinite(value))
            return kn_fail(err, KN_ESTATE, "the training loss is %s: training diverged (a "
                           "smaller learning rate may help)", isnan(value) ? "NaN" : "infinite");
    }
    /* ---- backward: gradients straight into the groups' rows */
    size_t maxd = net->in_dim;
    for (int i = 0; i < nl; i++)
        if (net->layers[i].out_dim > maxd)
            maxd = net->layers[i].out_dim;
    for (int b = 0; b < 2; b++)
        if (kn_nn_reserve(&ws->gbuf[b], &ws->gbuf_cap[b], N * maxd))
            return kn_fail(err, KN_ENOMEM, "%s: out of memory", what);
    for (int g = 0; g < ng; g++)
        memset(grads + (size_t)g * ld, 0, net->n_params * sizeof(kn_real));
    const kn_real *dy = ws->dloss;
    int which = 0;
    for (int i = nl - 1; i >= 0; i--) {
        kn_layer *L = &net->layers[i];
        const kn_real *p = net->params + L->p_off;
        /* the layer's input: the last non-relu output before it (relus work in place) */
        const kn_real *x = ws->input;
        for (int j = i - 1; j >= 0; j--)
            if (net->layers[j].kind != KN_LAYER_RELU) {
                x = ws->act[j];
                break;
            }
        kn_real *dx = i ? ws->gbuf[which] : NULL;
        if (L->kind == KN_LAYER_RELU) {
            kn_real *d = (kn_real *)dy; /* in place, on this pass's own gradient buffer */
            size_t m = N * L->out_dim;
            for (size_t k = 0; k < m; k++)
                d[k] = x[k] > 0 ? d[k] : 0;
            continue;
        }
        if (L->kind == KN_LAYER_DENSE) {
            r0 = 0;
            for (int g = 0; g < ng; r0 += rows[g], g++) {
                kn_real *gw = grads + (size_t)g * ld + L->p_off;
                kn_dense_backward(x + r0 * L->in_dim, dy + r0 * L->out_dim, rows[g], L->in_dim,
                                  L->out_dim, p, gw, gw + L->w_count,
                                  joint || !dx ? NULL : dx + r0 * L->in_dim);
            }
            if (joint && dx)
                kn_dense_backward(x, dy, N, L->in_dim, L->out_dim, p, NULL, NULL, dx);
        } else { /* batchnorm, with the per-group normalised values and scales of the forward */
            kn_real *aux = (i > 0 && net->layers[i - 1].kind == KN_LAYER_DENSE)
                               ? ws->act[i - 1] : ws->aux;
            inv_used -= (size_t)ng * (size_t)L->in_c;
            r0 = 0;
            for (int g = 0; g < ng; r0 += rows[g], g++) {
                kn_layer v = bn_view(L, ws->act[i] + r0 * L->out_dim, aux + r0 * L->out_dim,
                                     ws->inv_std + inv_used + (size_t)g * (size_t)L->in_c,
                                     rows[g]);
                v.bn_was_training = training;
                kn_bn_backward(&v, p, grads + (size_t)g * ld + L->p_off, dy + r0 * L->out_dim,
                               rows[g], dx ? dx + r0 * L->in_dim : NULL);
            }
        }
        dy = dx;
        which ^= 1;
    }
    return 0;
}

int kn_net_group_grads(kn_net *net, kn_net_group_ws *ws, const kn_real *const *x,
                       const int32_t *const *y, const size_t *rows, int n_groups, int joint,
                       kn_real *grads, size_t ld, kn_error *err)
{
    const char *what = "kn_net_group_grads";
    if (!net->built)
        return kn_fail(err, KN_ESTATE, "%s: call kn_net_build first", what);
    if (n_groups < 0 || ld < net->n_params)
        return kn_fail(err, KN_EINVAL, "%s: %d groups, row stride %zu (needs >= %zu)", what,
                       n_groups, ld, net->n_params);
    for (int i = 0; i < net->n_layers; i++) {
        kn_layer_kind k = net->layers[i].kind;
        if (k != KN_LAYER_DENSE && k != KN_LAYER_RELU && k != KN_LAYER_BATCHNORM)
            return kn_fail(err, KN_EINVAL, "%s: layer %d is not dense, relu or batchnorm", what,
                           i);
    }
    if (net->n_layers && net->layers[0].kind == KN_LAYER_RELU)
        return kn_fail(err, KN_EINVAL, "%s: a relu first layer is not supported", what);
    if (ws_layers(ws, net->n_layers))
        return kn_fail(err, KN_ENOMEM, "%s: out of memory (or a workspace of another net)", what);
    /* Rows of the whole backend must not depend on the row count to join groups. */
    if (kn_gemm_backend_used() != KN_GEMM_OPENBLAS)
        joint = 0;
    const size_t d = net->in_dim;
    size_t maxd = d; /* the widest layer bounds the rows of one product (int dimensions) */
    for (int i = 0; i < net->n_layers; i++)
        if (net->layers[i].out_dim > maxd)
            maxd = net->layers[i].out_dim;
    int32_t *ybuf = NULL;
    size_t ycap = 0;
    int rc = 0;
    for (int g0 = 0; g0 < n_groups && !rc;) {
        /* empty groups get a zero gradient, as a zero_grad with nothing added would give */
        if (rows[g0] == 0) {
            memset(grads + (size_t)g0 * ld, 0, net->n_params * sizeof(kn_real));
            g0++;
            continue;
        }
        int g1 = g0;
        size_t N = 0;
        while (g1 < n_groups && rows[g1] > 0 &&
               (g1 == g0 || (joint && N + rows[g1] <= GROUP_CHUNK_ROWS))) {
            if (rows[g1] > (size_t)INT32_MAX / (maxd ? maxd : 1) - N) {
                free(ybuf);
                return kn_fail(err, KN_EINVAL, "%s: group %d has too many rows", what, g1);
            }
            N += rows[g1];
            g1++;
        }
        if (kn_nn_reserve(&ws->input, &ws->input_cap, N * d))
            rc = kn_fail(err, KN_ENOMEM, "%s: out of memory for %zu rows", what, N);
        if (!rc && N > ycap) {
            int32_t *q = realloc(ybuf, N * sizeof *q);
            if (!q)
                rc = kn_fail(err, KN_ENOMEM, "%s: out of memory for %zu labels", what, N);
            else {
                ybuf = q;
                ycap = N;
            }
        }
        size_t r0 = 0;
        for (int g = g0; !rc && g < g1; r0 += rows[g], g++) {
            memcpy(ws->input + r0 * d, x[g], rows[g] * d * sizeof(kn_real));
            memcpy(ybuf + r0, y[g], rows[g] * sizeof(int32_t));
        }
        if (!rc)
            rc = chunk_grads(net, ws, ybuf, rows + g0, g1 - g0, N, joint,
                             grads + (size_t)g0 * ld, ld, err);
        g0 = g1;
    }
    free(ybuf);
    return rc;
}
