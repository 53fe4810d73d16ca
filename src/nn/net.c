/* Sequential networks: building layer by layer, the flat parameter / gradient / buffer vectors,
 * PyTorch-default initialisation, and the batched forward and backward passes that dispatch to
 * the layer kernels (each in its own layer_*.c file; ReLU and flatten are a line each, here).
 * Calls go one way: net.c -> layer_*.c -> buffer.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"

int kn_net_create(kn_net **out, int in_c, int in_h, int in_w, kn_error *err)
{
    *out = NULL;
    if (in_c <= 0 || in_h <= 0 || in_w <= 0)
        return kn_fail(err, KN_EINVAL, "kn_net_create: input shape %d x %d x %d must be positive",
                       in_c, in_h, in_w);
    kn_net *net = calloc(1, sizeof *net);
    if (!net)
        return kn_fail(err, KN_ENOMEM, "kn_net_create: out of memory");
    net->in_c = in_c;
    net->in_h = in_h;
    net->in_w = in_w;
    net->in_dim = (size_t)in_c * (size_t)in_h * (size_t)in_w;
    net->training = 1;
    *out = net;
    return 0;
}

static void layer_free_state(kn_layer *L)
{
    free(L->out);
    free(L->aux);
    free(L->aux2);
    free(L->aux3);
    free(L->inv_std);
    free(L->argmax);
    L->out = L->aux = L->aux2 = L->aux3 = NULL;
    L->inv_std = NULL;
    L->argmax = NULL;
    L->out_cap = L->aux_cap = L->aux2_cap = L->aux3_cap = L->argmax_cap = 0;
}

void kn_net_free(kn_net *net)
{
    if (!net)
        return;
    for (int i = 0; i < net->n_layers; i++)
        layer_free_state(&net->layers[i]);
    free(net->layers);
    free(net->params);
    free(net->grads);
    free(net->buffers);
    free(net->input);
    free(net->gbuf[0]); /* gbuf[1], sq[1] point into these */
    free(net->sq[0]);
    free(net->dloss);
    free(net);
}

/* Appends a layer whose input is the current output shape; returns it or NULL. */
static kn_layer *push_layer(kn_net *net, kn_layer_kind kind, const char *what, kn_error *err)
{
    if (net->built) {
        kn_fail(err, KN_ESTATE, "%s: the network is already built", what);
        return NULL;
    }
    if (net->n_layers == net->cap_layers) {
        int cap = net->cap_layers ? 2 * net->cap_layers : 8;
        kn_layer *p = realloc(net->layers, (size_t)cap * sizeof *p);
        if (!p) {
            kn_fail(err, KN_ENOMEM, "%s: out of memory", what);
            return NULL;
        }
        net->layers = p;
        net->cap_layers = cap;
    }
    kn_layer *L = &net->layers[net->n_layers];
    memset(L, 0, sizeof *L);
    L->kind = kind;
    if (net->n_layers == 0) {
        L->in_c = net->in_c;
        L->in_h = net->in_h;
        L->in_w = net->in_w;
    } else {
        const kn_layer *P = &net->layers[net->n_layers - 1];
        L->in_c = P->out_c;
        L->in_h = P->out_h;
        L->in_w = P->out_w;
    }
    L->in_dim = (size_t)L->in_c * (size_t)L->in_h * (size_t)L->in_w;
    L->out_c = L->in_c;
    L->out_h = L->in_h;
    L->out_w = L->in_w;
    L->out_dim = L->in_dim;
    return L;
}

static size_t net_param_total(const kn_net *net)
{
    size_t t = 0;
    for (int i = 0; i < net->n_layers; i++)
        t += net->layers[i].p_count;
    return t;
}

int kn_net_add_dense(kn_net *net, int out_features, kn_error *err)
{
    if (out_features <= 0)
        return kn_fail(err, KN_EINVAL, "kn_net_add_dense: out_features %d must be positive",
                       out_features);
    kn_layer *L = push_layer(net, KN_LAYER_DENSE, "kn_net_add_dense", err);
    if (!L)
        return err ? err->code : KN_EINVAL;
    L->out_c = out_features;
    L->out_h = L->out_w = 1;
    L->out_dim = (size_t)out_features;
    L->w_count = L->out_dim * L->in_dim;
    L->p_count = L->w_count + L->out_dim;
    L->p_off = net_param_total(net);
    net->n_layers++;
    return 0;
}

int kn_net_add_relu(kn_net *net, kn_error *err)
{
    kn_layer *L = push_layer(net, KN_LAYER_RELU, "kn_net_add_relu", err);
    if (!L)
        return err ? err->code : KN_EINVAL;
    L->p_off = net_param_total(net);
    net->n_layers++;
    return 0;
}

int kn_net_add_flatten(kn_net *net, kn_error *err)
{
    kn_layer *L = push_layer(net, KN_LAYER_FLATTEN, "kn_net_add_flatten", err);
    if (!L)
        return err ? err->code : KN_EINVAL;
    L->out_c = (int)L->in_dim;
    L->out_h = L->out_w = 1;
    L->p_off = net_param_total(net);
    net->n_layers++;
    return 0;
}

int kn_net_add_batchnorm(kn_net *net, kn_error *err)
{
    kn_layer *L = push_layer(net, KN_LAYER_BATCHNORM, "kn_net_add_batchnorm", err);
    if (!L)
        return err ? err->code : KN_EINVAL;
    L->w_count = (size_t)L->in_c;
    L->p_count = 2 * (size_t)L->in_c;
    L->p_off = net_param_total(net);
    size_t b = 0;
    for (int i = 0; i < net->n_layers; i++)
        if (net->layers[i].kind == KN_LAYER_BATCHNORM)
            b += 2 * (size_t)net->layers[i].in_c;
    L->b_off = b;
    net->n_layers++;
    return 0;
}

int kn_net_add_conv2d(kn_net *net, int out_c, int kernel, int stride, int pad, kn_error *err)
{
    if (out_c <= 0 || kernel <= 0 || stride <= 0 || pad < 0)
        return kn_fail(err, KN_EINVAL,
                       "kn_net_add_conv2d: out_c %d, kernel %d, stride %d must be positive and "
                       "pad %d non-negative", out_c, kernel, stride, pad);
    kn_layer *L = push_layer(net, KN_LAYER_CONV2D, "kn_net_add_conv2d", err);
    if (!L)
        return err ? err->code : KN_EINVAL;
    int oh = (L->in_h + 2 * pad - kernel);
    int ow = (L->in_w + 2 * pad - kernel);
    if (oh < 0 || ow < 0)
        return kn_fail(err, KN_EINVAL, "kn_net_add_conv2d: kernel %d larger than the padded "
                       "input %d x %d", kernel, L->in_h + 2 * pad, L->in_w + 2 * pad);
    L->kernel = kernel;
    L->stride = stride;
    L->pad = pad;
    L->out_c = out_c;
    L->out_h = oh / stride + 1;
    L->out_w = ow / stride + 1;
    L->out_dim = (size_t)out_c * (size_t)L->out_h * (size_t)L->out_w;
    L->w_count = (size_t)out_c * (size_t)L->in_c * (size_t)kernel * (size_t)kernel;
    L->p_count = L->w_count + (size_t)out_c;
    L->p_off = net_param_total(net);
    net->n_layers++;
    return 0;
}

int kn_net_add_maxpool2d(kn_net *net, int kernel, int stride, kn_error *err)
{
    if (kernel <= 0 || stride <= 0)
        return kn_fail(err, KN_EINVAL, "kn_net_add_maxpool2d: kernel %d and stride %d must be "
                       "positive", kernel, stride);
    kn_layer *L = push_layer(net, KN_LAYER_MAXPOOL2D, "kn_net_add_maxpool2d", err);
    if (!L)
        return err ? err->code : KN_EINVAL;
    if (kernel > L->in_h || kernel > L->in_w)
        return kn_fail(err, KN_EINVAL, "kn_net_add_maxpool2d: kernel %d larger than the input "
                       "%d x %d", kernel, L->in_h, L->in_w);
    L->kernel = kernel;
    L->stride = stride;
    L->out_h = (L->in_h - kernel) / stride + 1;
    L->out_w = (L->in_w - kernel) / stride + 1;
    L->out_dim = (size_t)L->out_c * (size_t)L->out_h * (size_t)L->out_w;
    L->p_off = net_param_total(net);
    net->n_layers++;
    return 0;
}

void kn_fill_uniform(kn_real *v, size_t n, double bound, kn_rng *rng)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (kn_real)((2.0 * kn_rng_uniform(rng) - 1.0) * bound);
}

/* Draws the initial parameters. zero_grads: also clear the gradients (a re-initialised net's are
 * stale); a net just built has calloc'd ones, and writing them would make 4 bytes per parameter
 * resident before any training (a model loaded for prediction would hold them for nothing). */
static void reset_parameters(kn_net *net, kn_rng *rng, int zero_grads)
{
    for (int i = 0; i < net->n_layers; i++) {
        kn_layer *L = &net->layers[i];
        kn_real *p = net->params + L->p_off;
        if (L->kind == KN_LAYER_DENSE || L->kind == KN_LAYER_CONV2D) {
            /* kaiming_uniform_(a = sqrt(5)): gain sqrt(2 / (1 + 5)), bound gain sqrt(3 / fan_in)
             * = 1 / sqrt(fan_in); the bias uses the same bound. */
            size_t fan_in = L->w_count / (size_t)L->out_c;
            double bound = 1.0 / sqrt((double)fan_in);
            kn_fill_uniform(p, L->w_count, bound, rng);
            kn_fill_uniform(p + L->w_count, L->p_count - L->w_count, bound, rng);
        } else if (L->kind == KN_LAYER_BATCHNORM) {
            for (int c = 0; c < L->in_c; c++) {
                p[c] = 1;
                p[L->in_c + c] = 0;
                net->buffers[L->b_off + (size_t)c] = 0;
                net->buffers[L->b_off + (size_t)L->in_c + (size_t)c] = 1;
            }
        }
    }
    if (zero_grads && net->n_params)
        memset(net->grads, 0, net->n_params * sizeof(kn_real));
}

void kn_net_reset_parameters(kn_net *net, kn_rng *rng) { reset_parameters(net, rng, 1); }

int kn_net_build(kn_net *net, kn_rng *rng, kn_error *err)
{
    if (net->built)
        return kn_fail(err, KN_ESTATE, "kn_net_build: already built");
    if (net->n_layers == 0)
        return kn_fail(err, KN_EINVAL, "kn_net_build: the network has no layers");
    net->n_params = net_param_total(net);
    net->n_buffers = 0;
    for (int i = 0; i < net->n_layers; i++)
        if (net->layers[i].kind == KN_LAYER_BATCHNORM)
            net->n_buffers += 2 * (size_t)net->layers[i].in_c;
    net->params = calloc(net->n_params ? net->n_params : 1, sizeof(kn_real));
    net->grads = calloc(net->n_params ? net->n_params : 1, sizeof(kn_real));
    net->buffers = calloc(net->n_buffers ? net->n_buffers : 1, sizeof(kn_real));
    if (!net->params || !net->grads || !net->buffers)
        return kn_fail(err, KN_ENOMEM, "kn_net_build: out of memory for %zu parameters",
                       net->n_params);
    net->built = 1;
    reset_parameters(net, rng, 0);
    return 0;
}

int kn_net_clone(const kn_net *src, kn_net **out, kn_error *err)
{
    *out = NULL;
    if (!src->built)
        return kn_fail(err, KN_ESTATE, "kn_net_clone: the source network is not built");
    kn_net *net = calloc(1, sizeof *net);
    if (!net)
        return kn_fail(err, KN_ENOMEM, "kn_net_clone: out of memory");
    net->in_c = src->in_c;
    net->in_h = src->in_h;
    net->in_w = src->in_w;
    net->in_dim = src->in_dim;
    net->training = src->training;
    net->n_params = src->n_params;
    net->n_buffers = src->n_buffers;
    net->layers = malloc((size_t)src->n_layers * sizeof *net->layers);
    net->params = malloc((net->n_params ? net->n_params : 1) * sizeof(kn_real));
    net->grads = calloc(net->n_params ? net->n_params : 1, sizeof(kn_real));
    net->buffers = malloc((net->n_buffers ? net->n_buffers : 1) * sizeof(kn_real));
    if (!net->layers || !net->params || !net->grads || !net->buffers) {
        free(net->layers);
        net->layers = NULL;
        kn_net_free(net);
        return kn_fail(err, KN_ENOMEM, "kn_net_clone: out of memory");
    }
    net->n_layers = net->cap_layers = src->n_layers;
    for (int i = 0; i < src->n_layers; i++) {
        net->layers[i] = src->layers[i];
        net->layers[i].out = net->layers[i].aux = net->layers[i].aux2 = NULL;
        net->layers[i].aux3 = NULL;
        net->layers[i].inv_std = NULL;
        net->layers[i].argmax = NULL;
        net->layers[i].out_cap = net->layers[i].aux_cap = net->layers[i].aux2_cap = 0;
        net->layers[i].aux3_cap = net->layers[i].argmax_cap = 0;
    }
    memcpy(net->params, src->params, net->n_params * sizeof(kn_real));
    memcpy(net->buffers, src->buffers, net->n_buffers * sizeof(kn_real));
    net->built = 1;
    *out = net;
    return 0;
}

void kn_net_set_training(kn_net *net, int training) { net->training = training != 0; }
int kn_net_is_training(const kn_net *net) { return net->training; }
size_t kn_net_in_dim(const kn_net *net) { return net->in_dim; }
size_t kn_net_out_dim(const kn_net *net)
{
    return net->n_layers ? net->layers[net->n_layers - 1].out_dim : net->in_dim;
}
size_t kn_net_n_params(const kn_net *net) { return net->n_params; }
kn_real *kn_net_params(kn_net *net) { return net->params; }
kn_real *kn_net_grads(kn_net *net) { return net->grads; }
const kn_real *kn_net_params_const(const kn_net *net) { return net->params; }
size_t kn_net_n_buffers(const kn_net *net) { return net->n_buffers; }
kn_real *kn_net_buffers(kn_net *net) { return net->buffers; }
int kn_net_n_layers(const kn_net *net) { return net->n_layers; }
kn_layer_kind kn_net_layer_kind(const kn_net *net, int i) { return net->layers[i].kind; }

void kn_net_zero_grad(kn_net *net)
{
    if (net->n_params)
        memset(net->grads, 0, net->n_params * sizeof(kn_real));
}

void kn_net_layer_params(const kn_net *net, int i, size_t *offset, size_t *count,
                         size_t *weight_count)
{
    const kn_layer *L = &net->layers[i];
    if (offset)
        *offset = L->p_off;
    if (count)
        *count = L->p_count;
    if (weight_count)
        *weight_count = L->w_count;
}

void kn_net_layer_shape(const kn_net *net, int i, int *c, int *h, int *w)
{
    const kn_layer *L = &net->layers[i];
    if (c)
        *c = L->out_c;
    if (h)
        *h = L->out_h;
    if (w)
        *w = L->out_w;
}

/* ---- forward / backward */

int kn_net_forward(kn_net *net, const kn_real *x, size_t n, const kn_real **out, kn_error *err)
{
    if (!net->built)
        return kn_fail(err, KN_ESTATE, "kn_net_forward: call kn_net_build first");
    if (n == 0 || n > (size_t)INT32_MAX / (net->in_dim ? net->in_dim : 1))
        return kn_fail(err, KN_EINVAL, "kn_net_forward: batch size %zu out of range", n);
    net->n = 0;
    if (kn_nn_reserve(&net->input, &net->input_cap, n * net->in_dim))
        return kn_fail(err, KN_ENOMEM, "kn_net_forward: out of memory for a batch of %zu", n);
    memcpy(net->input, x, n * net->in_dim * sizeof(kn_real));
    const kn_real *cur = net->input;
    for (int i = 0; i < net->n_layers; i++) {
        kn_layer *L = &net->layers[i];
        if ((size_t)INT32_MAX / L->out_dim < n ||
            kn_nn_reserve(&L->out, &L->out_cap, n * L->out_dim))
            return kn_fail(err, KN_ENOMEM, "kn_net_forward: out of memory at layer %d", i);
        const kn_real *p = net->params + L->p_off;
        int rc = 0;
        switch (L->kind) {
        case KN_LAYER_DENSE:
            kn_dense_forward(cur, n, L->in_dim, L->out_dim, p, p + L->w_count, L->out);
            break;
        case KN_LAYER_RELU: {
            size_t m = n * L->out_dim;
            for (size_t k = 0; k < m; k++)
                L->out[k] = cur[k] > 0 ? cur[k] : 0;
            break;
        }
        case KN_LAYER_FLATTEN:
            memcpy(L->out, cur, n * L->out_dim * sizeof(kn_real));
            break;
        case KN_LAYER_BATCHNORM:
            rc = kn_bn_forward(L, p, net->buffers, net->training, cur, n);
            break;
        case KN_LAYER_CONV2D:
            rc = kn_conv_forward(L, p, cur, n);
            break;
        case KN_LAYER_MAXPOOL2D:
            rc = kn_pool_forward(L, cur, n);
            break;
        }
        if (rc)
            return kn_fail(err, KN_ENOMEM, "kn_net_forward: out of memory at layer %d", i);
        cur = L->out;
    }
    net->n = n;
    if (out)
        *out = cur;
    return 0;
}

static size_t net_max_dim(const kn_net *net)
{
    size_t m = net->in_dim;
    for (int i = 0; i < net->n_layers; i++)
        if (net->layers[i].out_dim > m)
            m = net->layers[i].out_dim;
    return m;
}

/* dx = dy where the ReLU's output is positive, else 0. Separate, with restrict, so that the
 * compiler vectorises it (in the walk below it cannot rule out aliasing). */
static void relu_backward(const kn_real *restrict y, const kn_real *restrict dy, size_t m,
                          kn_real *restrict dx)
{
    for (size_t k = 0; k < m; k++) {
        kn_real d = dy[k]; /* loaded unconditionally: a conditional load is not vectorised */
        dx[k] = y[k] > 0 ? d : 0;
    }
}

/* Shared walk of backward, backward_sqgrad and backward_step: `accum` selects squared-gradient
 * accumulation; `opt` overwrites the gradients and steps each layer's parameters once its
 * gradient and input gradient are done. */
static int net_backward_impl(kn_net *net, const kn_real *dout, kn_real *dx,
                             const kn_real *row_weight, kn_real *accum, kn_optim *opt,
                             const char *what, kn_error *err)
{
    size_t n = net->n;
    if (n == 0)
        return kn_fail(err, KN_ESTATE, "%s: no forward pass to differentiate", what);
    size_t maxd = net_max_dim(net);
    /* gbuf[1] and sq[1] point into the second half of the buffers owned by gbuf[0] / sq[0]. */
    if (kn_nn_reserve(&net->gbuf[0], &net->gbuf_cap, 2 * n * maxd))
        return kn_fail(err, KN_ENOMEM, "%s: out of memory", what);
    net->gbuf[1] = net->gbuf[0] + n * maxd;
    if (accum) {
        if (kn_nn_reserve(&net->sq[0], &net->sq_cap, 2 * n * maxd))
            return kn_fail(err, KN_ENOMEM, "%s: out of memory", what);
        net->sq[1] = net->sq[0] + n * maxd;
    }
    if (opt)
        kn_optim_step_begin(opt);
    const kn_real *dy = dout;
    int which = 0;
    for (int i = net->n_layers - 1; i >= 0; i--) {
        kn_layer *L = &net->layers[i];
        const kn_real *x = i ? net->layers[i - 1].out : net->input;
        kn_real *g = net->grads + L->p_off;
        kn_real *dxi;
        if (i == 0)
            dxi = dx; /* may be NULL: the input gradient is then not computed */
        else
            dxi = net->gbuf[which];
        /* The fused step overwrites the gradients: the dense layer writes its own, the others
         * accumulate onto a zeroed range and are stepped after their backward. */
        const int step_after = opt && L->kind != KN_LAYER_DENSE && L->p_count > 0;
        if (step_after)
            memset(g, 0, L->p_count * sizeof(kn_real));
        switch (L->kind) {
        case KN_LAYER_DENSE:
            if (accum) {
                /* accum_W[o][j] += sum_r w_r dy[r][o]^2 x[r][j]^2; accum_b[o] += sum_r w_r dy^2 */
                kn_real *dy2 = net->sq[0], *x2 = net->sq[1];
                kn_real *aw = accum + L->p_off, *ab = aw + L->w_count;
                for (size_t r = 0; r < n; r++) {
                    kn_real w = row_weight ? row_weight[r] : 1;
                    for (size_t o = 0; o < L->out_dim; o++) {
                        kn_real v = dy[r * L->out_dim + o];
                        dy2[r * L->out_dim + o] = w * v * v;
                        ab[o] += w * v * v;
                    }
                    for (size_t j = 0; j < L->in_dim; j++) {
                        kn_real v = x[r * L->in_dim + j];
                        x2[r * L->in_dim + j] = v * v;
                    }
                }
                KN_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)L->out_dim, (int)L->in_dim,
                        (int)n, 1, dy2, (int)L->out_dim, x2, (int)L->in_dim, 1, aw,
                        (int)L->in_dim);
                kn_dense_backward(x, dy, n, L->in_dim, L->out_dim, net->params + L->p_off, NULL,
                                  NULL, dxi);
            } else if (opt) {
                kn_dense_backward_step(x, dy, n, L->in_dim, L->out_dim, net->params, net->grads,
                                       L->p_off, opt, dxi);
            } else {
                kn_dense_backward(x, dy, n, L->in_dim, L->out_dim, net->params + L->p_off, g,
                                  g + L->w_count, dxi);
            }
            break;
        case KN_LAYER_RELU:
            if (dxi)
                relu_backward(L->out, dy, n * L->out_dim, dxi);
            break;
        case KN_LAYER_FLATTEN:
            if (dxi)
                memcpy(dxi, dy, n * L->out_dim * sizeof(kn_real));
            break;
        case KN_LAYER_BATCHNORM:
            if (accum)
                return kn_fail(err, KN_EINVAL, "%s: layer %d (batchnorm) is not supported", what,
                               i);
            kn_bn_backward(L, net->params + L->p_off, g, dy, n, dxi);
            break;
        case KN_LAYER_CONV2D:
            if (accum)
                return kn_fail(err, KN_EINVAL, "%s: layer %d (conv2d) is not supported", what, i);
            if (kn_conv_backward(L, net->params + L->p_off, g, dy, n, dxi))
                return kn_fail(err, KN_ENOMEM, "%s: out of memory at layer %d", what, i);
            break;
        case KN_LAYER_MAXPOOL2D:
            if (accum)
                return kn_fail(err, KN_EINVAL, "%s: layer %d (maxpool) is not supported", what, i);
            if (dxi)
                kn_pool_backward(L, dy, n, dxi);
            break;
        }
        if (step_after)
            kn_optim_step_range(opt, net->params, net->grads, L->p_off, L->p_count);
        dy = dxi;
        which ^= 1;
    }
    return 0;
}

int kn_net_backward(kn_net *net, const kn_real *dout, kn_real *dx, kn_error *err)
{
    return net_backward_impl(net, dout, dx, NULL, NULL, NULL, "kn_net_backward", err);
}

int kn_net_backward_step(kn_net *net, const kn_real *dout, kn_optim *opt, kn_error *err)
{
    return net_backward_impl(net, dout, NULL, NULL, NULL, opt, "kn_net_backward_step", err);
}

int kn_net_backward_sqgrad(kn_net *net, const kn_real *dout, const kn_real *row_weight,
                           kn_real *accum, kn_error *err)
{
    return net_backward_impl(net, dout, NULL, row_weight, accum, NULL, "kn_net_backward_sqgrad",
                             err);
}

int kn_net_predict(kn_net *net, const kn_real *x, size_t n, kn_real *out, kn_error *err)
{
    const size_t chunk = 1024;
    size_t od = kn_net_out_dim(net);
    for (size_t s = 0; s < n; s += chunk) {
        size_t m = n - s < chunk ? n - s : chunk;
        const kn_real *y;
        int rc = kn_net_forward(net, x + s * net->in_dim, m, &y, err);
        if (rc)
            return rc;
        memcpy(out + s * od, y, m * od * sizeof(kn_real));
    }
    return 0;
}

double kn_vec_dot(const kn_real *a, const kn_real *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * (double)b[i];
    return s;
}
