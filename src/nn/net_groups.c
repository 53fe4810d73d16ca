/* Loss gradients of several labelled groups of rows in one call (kn_net_group_grads in
 * kenyon/nn.h): what GEM needs for the memories of every past task. The result equals, bit for
 * bit, one kn_net_zero_grad + kn_net_loss_grad per group in order, with each group's gradient
 * written to its own row of the caller's matrix; BatchNorm in training mode normalises every
 * group by its own statistics and updates the running statistics group by group, as the
 * separate calls do.
 *
 * What it saves: the gradients are written straight into the caller's rows (GEM used to copy
 * the net's 51 MB gradient vector once per past task), the workspace is kept between calls, and
 * the net's own forward state is left alone (its buffers stay sized for the current batch).
 *
 * What it does not do, and why: run the row-wise products (every dense layer's forward and
 * input gradient) once over all groups as one tall GEMM. That was built and measured: on this
 * code's GEM shapes it saved no CPU time (the 256-row products already run near the sgemm rate),
 * and it is not bit-identical in general, because OpenBLAS computes a row of an edge tile (a
 * row count that is not a multiple of its 16-row kernel) with another kernel, and oneDNN blocks
 * the inner dimension by the matrix size. So each group goes through its own products, the
 * same calls kn_net_loss_grad makes.
 *
 * Only nets of dense, relu and batchnorm layers are supported (GEM's MLP). The layer kernels are
 * the net's own (kn_dense_*, kn_bn_*), called on this file's buffers, so the arithmetic is the
 * same code as kn_net_loss_grad's. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"

struct kn_net_group_ws {
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

/* The rows in[0..N) split into ng consecutive groups of rows[g] rows (kn_net_group_grads passes
 * one group at a time; see the top comment), group g's gradient into grads + g ld. */
static int group_pass(kn_net *net, kn_net_group_ws *ws, const kn_real *in, const int32_t *y,
                      const size_t *rows, int ng, size_t N, kn_real *grads, size_t ld,
                      kn_error *err)
{
    const int nl = net->n_layers;
    const int training = net->training;
    const char *what = "kn_net_group_grads";
    /* ---- forward */
    const kn_real *cur = in;
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
            size_t r0 = 0;
            for (int g = 0; g < ng; r0 += rows[g], g++)
                kn_dense_forward(cur + r0 * L->in_dim, rows[g], L->in_dim, L->out_dim, p,
                                 p + L->w_count, ws->act[i] + r0 * L->out_dim);
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
        const kn_real *x = in;
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
                                  dx ? dx + r0 * L->in_dim : NULL);
            }
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
                       const int32_t *const *y, const size_t *rows, int n_groups,
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
    const size_t d = net->in_dim;
    size_t maxd = d; /* the widest layer bounds the rows of one product (int dimensions) */
    for (int i = 0; i < net->n_layers; i++)
        if (net->layers[i].out_dim > maxd)
            maxd = net->layers[i].out_dim;
    int rc = 0;
    for (int g = 0; g < n_groups && !rc; g++) {
        /* an empty group gets a zero gradient, as a zero_grad with nothing added would give */
        if (rows[g] == 0) {
            memset(grads + (size_t)g * ld, 0, net->n_params * sizeof(kn_real));
            continue;
        }
        if (rows[g] > (size_t)INT32_MAX / (maxd ? maxd : 1))
            return kn_fail(err, KN_EINVAL, "%s: group %d has too many rows (%zu)", what, g,
                           rows[g]);
        rc = group_pass(net, ws, x[g], y[g], rows + g, 1, rows[g], grads + (size_t)g * ld, ld,
                        err);
    }
    return rc;
}
