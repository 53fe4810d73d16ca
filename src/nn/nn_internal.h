/* Private definitions of the network core: the layer record, the net, the gemm switch between
 * float (the backend layer) and double (KN_NN_DOUBLE, used by the double-precision gradient-check build) and small
 * buffer helpers shared by the nn source files. */
#ifndef KENYON_NN_INTERNAL_H
#define KENYON_NN_INTERNAL_H

#include <cblas.h>
#include <stddef.h>
#include <stdint.h>

#include "kenyon/gemm.h"
#include "kenyon/nn.h"

/* OpenBLAS's cblas.h pulls in <complex.h>, whose macro I clashes with ordinary names. */
#ifdef I
#undef I
#endif

#ifdef KN_NN_DOUBLE
#define KN_GEMM cblas_dgemm
#define KN_GEMM_DENSE cblas_dgemm
#else
#define KN_GEMM kn_sgemm /* the backend layer: OpenBLAS or oneDNN (kenyon/gemm.h) */
#define KN_GEMM_DENSE kn_sgemm_tuned /* the same, backend chosen per shape (dense layers) */
#endif

typedef struct kn_layer {
    kn_layer_kind kind;
    int in_c, in_h, in_w;
    int out_c, out_h, out_w;
    size_t in_dim, out_dim;
    int kernel, stride, pad;       /* conv / pool */
    size_t p_off, p_count, w_count; /* slice of the flat parameter vector */
    size_t b_off;                  /* BatchNorm: running mean at b_off, running var at b_off+C */
    /* State of the last forward (kept for backward). */
    kn_real *out;                  /* n x out_dim */
    size_t out_cap;
    kn_real *aux;                  /* BN: xhat (n x out_dim); conv: im2col columns */
    size_t aux_cap;
    kn_real *aux2;                 /* conv: gemm output / output-gradient scratch */
    size_t aux2_cap;
    kn_real *aux3;                 /* conv: column-gradient scratch */
    size_t aux3_cap;
    double *inv_std;               /* BN: 1/sqrt(var + eps) per channel used in the forward */
    int bn_was_training;           /* BN: mode of the last forward */
    int32_t *argmax;               /* maxpool: input index (within the sample) per output */
    size_t argmax_cap;
} kn_layer;

struct kn_net {
    kn_layer *layers;
    int n_layers, cap_layers;
    int in_c, in_h, in_w;
    size_t in_dim;
    kn_real *params, *grads, *buffers;
    size_t n_params, n_buffers;
    int built, training;
    kn_real *input;   /* copy of the last forward's input */
    size_t input_cap;
    size_t n;         /* rows of the last forward; 0 = none */
    kn_real *gbuf[2]; /* ping-pong gradient buffers for backward */
    size_t gbuf_cap;
    kn_real *sq[2];   /* sqgrad scratch */
    size_t sq_cap;
    kn_real *dloss;   /* kn_net_loss_grad: gradient of the loss w.r.t. the output */
    size_t dloss_cap;
};

#define KN_BN_EPS 1e-5
#define KN_BN_MOMENTUM 0.1

/* Grows *buf to hold at least `count` elements (keeps no contents). 0 ok, -1 on failure.
 * Defined in buffer.c, below net.c and the layer files. */
int kn_nn_reserve(kn_real **buf, size_t *cap, size_t count);

/* Layer kernels used by net.c (layer_*.c; the dense kernels are public, in kenyon/nn.h). `x` is
 * the layer input (n rows); L->out has been reserved for n rows by the caller. They return 0, or -1 if a scratch allocation failed. */
int kn_conv_forward(kn_layer *L, const kn_real *params, const kn_real *x, size_t n);
int kn_conv_backward(kn_layer *L, const kn_real *params, kn_real *grads, const kn_real *dy,
                     size_t n, kn_real *dx);
int kn_bn_forward(kn_layer *L, const kn_real *params, kn_real *buffers, int training,
                  const kn_real *x, size_t n);
void kn_bn_backward(const kn_layer *L, const kn_real *params, kn_real *grads,
                    const kn_real *dy, size_t n, kn_real *dx);
int kn_pool_forward(kn_layer *L, const kn_real *x, size_t n);
void kn_pool_backward(const kn_layer *L, const kn_real *dy, size_t n, kn_real *dx);

/* The optimiser in pieces (optim.c), for a backward pass that steps each layer's parameters as
 * soon as their gradient is complete, while it is still in cache: kn_optim_step equals
 * kn_optim_step_begin followed by kn_optim_step_range over [0, kn_optim_size) in any partition
 * (the updates are elementwise), bit for bit. */
size_t kn_optim_size(const kn_optim *o);
void kn_optim_step_begin(kn_optim *o);
void kn_optim_step_range(kn_optim *o, kn_real *params, const kn_real *grads, size_t off,
                         size_t count);

/* SGD with momentum folded into a weight-gradient GEMM (layer_dense.c). The step computes
 * b = momentum m + g, then p -= lr b and m = b. On a range [off, off + count) handed to
 * kn_optim_momentum_fold the buffer instead keeps momentum * b ("pre-multiplied"), so a GEMM with
 * beta 1 writes b = (momentum m) + g straight into it: no gradient vector written and read back
 * (10 MB for a 3200 x 784 layer) and no beta pass over C. momentum * b is rounded once, whether
 * stored now or computed at the next step, so the parameters come out bit-identical.
 * kn_optim_momentum_fold registers the range (once; it converts the buffer there) and returns m,
 * indexed like the parameters, or NULL when the optimiser is not SGD with momentum or the range
 * overlaps another; kn_optim_step_range knows the registered ranges and steps them exactly as
 * before. kn_optim_folded_step_range finishes the step after such a GEMM (weight decay, the
 * update, m = momentum b); call it after kn_optim_step_begin, like kn_optim_step_range. */
kn_real *kn_optim_momentum_fold(kn_optim *o, size_t off, size_t count);
void kn_optim_folded_step_range(kn_optim *o, kn_real *params, size_t off, size_t count);

/* The dense layer's backward pass fused with the optimiser step (layer_dense.c): dx (if wanted)
 * from the weights before the step, then dW (overwritten, not accumulated) in blocks of rows
 * (one block when the BLAS runs more than one thread),
 * each block stepped while it is in cache, then db (overwritten) and its step. `p_off` is the
 * layer's offset in the flat `params` / `grads` vectors the optimiser runs over. The gradients
 * left in `grads` and the parameters after the step are bit-identical to zeroing the gradients,
 * kn_dense_backward and one kn_optim_step over the whole vector, except that with SGD with
 * momentum on OpenBLAS the weight gradient is not stored (kn_optim_momentum_fold). */
void kn_dense_backward_step(const kn_real *x, const kn_real *dy, size_t n, size_t in, size_t out,
                            kn_real *params, kn_real *grads, size_t p_off, kn_optim *opt,
                            kn_real *dx);

/* The backward pass of net.c with the optimiser step fused in (every parameter of every layer is
 * stepped once, after its gradient is complete and its input gradient taken): the gradients are
 * overwritten, so no zeroing is needed first. Used by kn_net_train_step. */
int kn_net_backward_step(kn_net *net, const kn_real *dout, kn_optim *opt, kn_error *err);

#endif
