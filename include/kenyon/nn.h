/* kenyon network core: sequential networks of layers with batched forward/backward, one flat
 * parameter vector and one flat gradient vector per network, losses, and optimisers that act on
 * flat vectors. Everything the back-prop baselines (Vanilla, Offline, EWC, GEM), the LeNet5
 * feature extractor, BI-R and the meta-RL network build on.
 *
 * Conventions (PyTorch-compatible so weights can be compared and exchanged):
 * - Activations are row-major batches: n samples x (c*h*w), each sample in CHW order.
 * - Dense weights are (out x in) row-major followed by the bias (out); conv weights are
 *   (out_c x in_c x k x k) followed by the bias (out_c); BatchNorm has weight (gamma) then bias
 *   (beta), with running mean/var in a separate flat "buffer" vector (not trained).
 * - Parameters of layer i are a contiguous slice of the flat vector, layers in order.
 * - kn_net_backward ACCUMULATES into the gradient vector (like loss.backward()); call
 *   kn_net_zero_grad first. It may be called several times after one forward (different douts).
 * - Losses use mean reduction over the batch (PyTorch default) and WRITE their input gradient.
 * - Initialisation = PyTorch defaults: Kaiming-uniform weights with a = sqrt(5) (bound
 *   1/sqrt(fan_in)), biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)), BatchNorm gamma 1, beta 0.
 *
 * kn_real is float. Defining KN_NN_DOUBLE before including this header makes it double: the
 * gradient-check tests compile the nn sources a second time that way (see tests/nn/), so the
 * finite-difference checks run in double precision against the very same code. */
#ifndef KENYON_NN_H
#define KENYON_NN_H

#include <stddef.h>
#include <stdint.h>

#include "kenyon/error.h"
#include "kenyon/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef KN_NN_DOUBLE
typedef double kn_real;
#else
typedef float kn_real;
#endif

/* ------------------------------------------------------------------ networks */

typedef enum {
    KN_LAYER_DENSE,
    KN_LAYER_RELU,
    KN_LAYER_BATCHNORM, /* BatchNorm1d on vectors (h = w = 1), BatchNorm2d on c x h x w */
    KN_LAYER_CONV2D,
    KN_LAYER_MAXPOOL2D,
    KN_LAYER_FLATTEN,   /* shape change only (c x h x w -> c*h*w x 1 x 1) */
} kn_layer_kind;

typedef struct kn_net kn_net;

/* A network whose input is c x h x w per sample (a plain vector: c = d, h = w = 1). */
int kn_net_create(kn_net **out, int in_c, int in_h, int in_w, kn_error *err);
void kn_net_free(kn_net *net);

/* Layers, in order. A dense layer accepts any input shape (flattened implicitly). */
int kn_net_add_dense(kn_net *net, int out_features, kn_error *err);
int kn_net_add_relu(kn_net *net, kn_error *err);
/* eps 1e-5, momentum 0.1 as PyTorch; running var uses the unbiased batch variance. */
int kn_net_add_batchnorm(kn_net *net, kn_error *err);
int kn_net_add_conv2d(kn_net *net, int out_c, int kernel, int stride, int pad, kn_error *err);
int kn_net_add_maxpool2d(kn_net *net, int kernel, int stride, kn_error *err);
int kn_net_add_flatten(kn_net *net, kn_error *err);

/* After the last layer: allocates the flat vectors and initialises them from rng (PyTorch
 * defaults, layer by layer, weight then bias). Must be called once before forward. */
int kn_net_build(kn_net *net, kn_rng *rng, kn_error *err);
/* Re-initialises parameters and buffers (as a freshly built net), zeroes the gradient. */
void kn_net_reset_parameters(kn_net *net, kn_rng *rng);

/* Deep copy (parameters, buffers, mode; not the activations of the last forward). */
int kn_net_clone(const kn_net *src, kn_net **out, kn_error *err);

/* Mode: training (BatchNorm uses batch statistics and updates running ones) or evaluation. */
void kn_net_set_training(kn_net *net, int training);
int kn_net_is_training(const kn_net *net);

/* Sizes and flat vectors. */
size_t kn_net_in_dim(const kn_net *net);
size_t kn_net_out_dim(const kn_net *net);
size_t kn_net_n_params(const kn_net *net);
kn_real *kn_net_params(kn_net *net);
kn_real *kn_net_grads(kn_net *net);
const kn_real *kn_net_params_const(const kn_net *net);
/* Non-trained state (BatchNorm running mean then running var, per BN layer in order). */
size_t kn_net_n_buffers(const kn_net *net);
kn_real *kn_net_buffers(kn_net *net);
void kn_net_zero_grad(kn_net *net);

/* Layer introspection (for save/load, EWC/GEM bookkeeping, printing). */
int kn_net_n_layers(const kn_net *net);
kn_layer_kind kn_net_layer_kind(const kn_net *net, int i);
/* Slice of the flat parameter vector owned by layer i (count 0 for parameter-free layers);
 * for dense/conv the weight comes first (weight_count entries), then the bias. */
void kn_net_layer_params(const kn_net *net, int i, size_t *offset, size_t *count,
                         size_t *weight_count);
/* Output shape of layer i (c x h x w). */
void kn_net_layer_shape(const kn_net *net, int i, int *c, int *h, int *w);

/* Forward pass on n samples (n x in_dim). Copies x; keeps what backward needs. *out points at
 * the net's own n x out_dim output buffer, valid until the next forward. */
int kn_net_forward(kn_net *net, const kn_real *x, size_t n, const kn_real **out, kn_error *err);
/* Backward pass for the batch of the last forward: dout is n x out_dim (dLoss/dOutput). Adds
 * the parameter gradient into kn_net_grads; writes dLoss/dInput into dx (n x in_dim) unless
 * dx is NULL. Does not change the saved forward state, so it can be called again. */
int kn_net_backward(kn_net *net, const kn_real *dout, kn_real *dx, kn_error *err);
/* Per-sample squared gradients (diagonal Fisher building block): for the last forward's
 * batch, accum[p] += sum_r row_weight[r] * (d loss_r / d theta_p)^2 where dout row r is the
 * gradient of sample r's own loss. Only nets of dense, relu and flatten layers (EWC's MLP);
 * computed with one sgemm per dense layer, no per-sample loop. accum has n_params entries. */
int kn_net_backward_sqgrad(kn_net *net, const kn_real *dout, const kn_real *row_weight,
                           kn_real *accum, kn_error *err);

/* Forward of a large set in chunks of at most 1024 rows, writing n x out_dim into the caller's
 * out. Uses the current mode (call kn_net_set_training(net, 0) first to predict). */
int kn_net_predict(kn_net *net, const kn_real *x, size_t n, kn_real *out, kn_error *err);

/* One training step on a labelled batch: zero_grad, forward, cross-entropy over the active
 * outputs (NULL = all), backward, optimiser step. *loss (may be NULL) gets the batch loss.
 * Uses the net's current mode (set training first). The backward pass overwrites the gradients
 * instead of zeroing and accumulating, and steps each layer's parameters as soon as their
 * gradient is complete (while it is in cache): the parameters, the gradient vector and the
 * optimiser state come out bit-identical to the four steps done one after the other. One
 * exception: with SGD with momentum (on the OpenBLAS backend) the dense layers' weight
 * gradients go straight into the momentum buffer and are not stored in the gradient vector
 * (its entries there are left as they were); the parameters and the optimiser state are still
 * bit-identical. */
struct kn_optim;
int kn_net_train_step(kn_net *net, struct kn_optim *opt, const kn_real *x, const int32_t *y,
                      size_t n, const uint8_t *active, double *loss, kn_error *err);
/* Forward + cross-entropy + backward without the step: adds the batch gradient to the net's
 * gradient vector (call kn_net_zero_grad first when needed). */
int kn_net_loss_grad(kn_net *net, const kn_real *x, const int32_t *y, size_t n,
                     const uint8_t *active, double *loss, kn_error *err);

/* Loss gradients of n_groups labelled groups (group g: rows[g] rows at x[g], labels y[g]) in
 * one call: row g of grads (stride ld >= kn_net_n_params) gets exactly what kn_net_zero_grad +
 * kn_net_loss_grad on group g alone would leave in the net's gradient vector, in group order
 * (BatchNorm in training mode uses each group's own statistics and updates the running
 * statistics group after group). A group of 0 rows gets a zero row. The gradients go straight
 * into grads (no copy of the net's gradient vector per group); the net's gradient vector and
 * its layers' forward state are not touched. Only nets of dense, relu and batchnorm layers (not
 * starting with relu). ws: from kn_net_group_ws_create, kept between calls for one net (its
 * buffers are reused), freed with kn_net_group_ws_free. */
typedef struct kn_net_group_ws kn_net_group_ws;
kn_net_group_ws *kn_net_group_ws_create(void); /* NULL when out of memory */
void kn_net_group_ws_free(kn_net_group_ws *ws);
int kn_net_group_grads(kn_net *net, kn_net_group_ws *ws, const kn_real *const *x,
                       const int32_t *const *y, const size_t *rows, int n_groups,
                       kn_real *grads, size_t ld, kn_error *err);

/* Frees the buffers the forward and backward passes keep between calls (they grow to the
 * largest batch seen, e.g. kn_net_predict's 1,024-row chunks); the next pass allocates what it
 * needs again. Parameters, gradients and statistics are kept, so results do not change; a
 * backward now needs a new forward first. */
void kn_net_release_buffers(kn_net *net);

/* Model files (safetensors, kenyon/safetensors.h). Tensors are named "<prefix>layer<i>.weight",
 * "<prefix>layer<i>.bias" (dense/conv: PyTorch shapes [out, in] / [out, in, k, k]; BatchNorm:
 * weight, bias, running_mean, running_var), float32. The writer borrows the net's storage until
 * it is written. Loading needs a net built with the same architecture; every tensor's shape is
 * checked and non-finite values are rejected, naming the tensor. */
struct kn_st_writer;
struct kn_st_file;
int kn_net_write_tensors(const kn_net *net, const char *prefix, struct kn_st_writer *w,
                         kn_error *err);
int kn_net_read_tensors(kn_net *net, const char *prefix, const struct kn_st_file *f,
                        kn_error *err);

/* ------------------------------------------------------------------ layer kernels
 * The same kernels the net uses, callable on caller-owned storage (LSTM, VAE heads...).
 * All are batched; products go through BLAS gemm. */

/* y (n x out) = x (n x in) W^T + b;  W is out x in row-major; b may be NULL. */
void kn_dense_forward(const kn_real *x, size_t n, size_t in, size_t out, const kn_real *W,
                      const kn_real *b, kn_real *y);
/* Adds dW += dy^T x, db += column sums of dy (db may be NULL); dx = dy W (dx may be NULL). */
void kn_dense_backward(const kn_real *x, const kn_real *dy, size_t n, size_t in, size_t out,
                       const kn_real *W, kn_real *dW, kn_real *db, kn_real *dx);

/* ------------------------------------------------------------------ losses */

/* Row-wise log-softmax over the outputs with active[c] != 0 (active NULL = all); inactive
 * entries of out are set to -INFINITY. */
void kn_log_softmax(const kn_real *logits, size_t n, int n_out, const uint8_t *active,
                    kn_real *out);
/* Mean over rows of -log softmax(logits)[y] restricted to the active outputs (cross-entropy =
 * log-softmax + NLL). dlogits (may be NULL) gets (softmax - onehot(y)) / n on active outputs
 * and 0 elsewhere. Fails (naming the row) if a label is out of range or inactive. */
int kn_loss_cross_entropy(const kn_real *logits, size_t n, int n_out, const int32_t *y,
                          const uint8_t *active, double *loss, kn_real *dlogits, kn_error *err);
/* Distillation: mean over rows of -sum_c target[c] log softmax(logits / T)[c] over the active
 * outputs (targets are probabilities, n x n_out, 0 on inactive outputs). dlogits gets
 * (softmax(logits/T) - target) / (T n). */
int kn_loss_soft_cross_entropy(const kn_real *logits, const kn_real *target, size_t n,
                               int n_out, double temperature, const uint8_t *active,
                               double *loss, kn_real *dlogits, kn_error *err);
/* Mean squared error over all n_elems entries; dpred (may be NULL) = 2 (pred - target) / n_elems. */
double kn_loss_mse(const kn_real *pred, const kn_real *target, size_t n_elems, kn_real *dpred);

/* ------------------------------------------------------------------ optimisers
 * They update a flat parameter vector from a flat gradient vector of the same length. */

typedef enum { KN_OPTIM_SGD, KN_OPTIM_ADAM, KN_OPTIM_RMSPROP } kn_optim_kind;

typedef struct kn_optim_config {
    kn_optim_kind kind;
    double lr;
    double weight_decay; /* L2 added to the gradient (PyTorch form, all three) */
    double momentum;     /* SGD: b = momentum b + g + wd theta; theta -= lr b (first b = g) */
    double beta1, beta2; /* Adam (0.9, 0.999), bias-corrected */
    double alpha;        /* RMSProp smoothing (0.99): v = alpha v + (1 - alpha) g^2 */
    double eps;          /* Adam / RMSProp (1e-8) */
} kn_optim_config;

/* SGD with the given lr and momentum, no weight decay; other fields at PyTorch defaults. */
kn_optim_config kn_optim_sgd(double lr, double momentum);
kn_optim_config kn_optim_adam(double lr);
kn_optim_config kn_optim_rmsprop(double lr);

typedef struct kn_optim kn_optim;
int kn_optim_create(const kn_optim_config *cfg, size_t n_params, kn_optim **out, kn_error *err);
void kn_optim_free(kn_optim *opt);
/* One update: params -= step(grads). */
void kn_optim_step(kn_optim *opt, kn_real *params, const kn_real *grads);
/* Forgets momentum / moments (as a newly created optimiser). */
void kn_optim_reset(kn_optim *opt);
void kn_optim_set_lr(kn_optim *opt, double lr);
double kn_optim_lr(const kn_optim *opt);

/* Step schedule: base_lr * gamma^floor(epoch / step_size) (PyTorch StepLR). */
double kn_step_lr(double base_lr, double gamma, int step_size, int epoch);

/* ------------------------------------------------------------------ helpers */

/* Uniform(-bound, bound) fill from rng (as float/double), in order. */
void kn_fill_uniform(kn_real *v, size_t n, double bound, kn_rng *rng);
/* Dot product and squared norm accumulated in double. */
double kn_vec_dot(const kn_real *a, const kn_real *b, size_t n);

#ifdef __cplusplus
}
#endif
#endif
