/* kenyon LSTM layer on the network core (kn_real, flat parameter and gradient vectors): a batch of
 * n sequences stepped one time step at a time (so an agent can choose its next input from the
 * last output), then back-propagated through all the steps since the last reset.
 *
 * Parameters (PyTorch nn.LSTM layout and gate order i, f, g, o, so weights can be exchanged):
 *   weight_ih (4H x in), weight_hh (4H x H), bias_ih (4H), bias_hh (4H), contiguous in that order.
 *   z = W_ih x + b_ih + W_hh h + b_hh;  i, f, o = sigmoid;  g = tanh
 *   c' = f * c + i * g;  h' = o * tanh(c')
 * The initial state is zero after kn_lstm_reset.
 *
 * Like the rest of the core, this file compiles with kn_real = double when KN_NN_DOUBLE is
 * defined, which the finite-difference gradient checks use. */
#ifndef KENYON_LSTM_H
#define KENYON_LSTM_H

#include <stddef.h>

#include "kenyon/error.h"
#include "kenyon/nn.h"
#include "kenyon/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kn_lstm {
    int in, hidden;
    size_t batch, max_steps;  /* capacity */
    size_t steps;             /* steps taken since the last reset */
    /* Forward record, per step t (0-based), each n rows: */
    kn_real *x;               /* max_steps x n x in */
    kn_real *gates;           /* max_steps x n x 4H: i, f, g, o after their nonlinearities */
    kn_real *c;               /* (max_steps + 1) x n x H; c[0] = initial state */
    kn_real *h;               /* (max_steps + 1) x n x H; h[0] = initial state */
    kn_real *tanh_c;          /* max_steps x n x H */
    /* Backward scratch. */
    kn_real *dz;              /* max_steps x n x 4H */
    kn_real *dh_next, *dc_next, *dh_t; /* n x H each */
} kn_lstm;

/* Number of parameters: 4H (in + H) + 8H. */
size_t kn_lstm_n_params(int in, int hidden);
/* PyTorch default initialisation: every parameter U(-1/sqrt(H), 1/sqrt(H)), in layout order. */
void kn_lstm_init_params(int in, int hidden, kn_real *params, kn_rng *rng);

/* Allocates the record for up to max_steps steps of `batch` sequences. */
int kn_lstm_create(kn_lstm *l, int in, int hidden, size_t batch, size_t max_steps,
                   kn_error *err);
void kn_lstm_free(kn_lstm *l);
/* Zero state; forgets the record. */
void kn_lstm_reset(kn_lstm *l);

/* One step on x (batch x in). *h_out (may be NULL) points at the new hidden state (batch x H),
 * valid until the next reset. Fails if max_steps steps have been taken. */
int kn_lstm_step(kn_lstm *l, const kn_real *params, const kn_real *x, const kn_real **h_out,
                 kn_error *err);
/* Hidden state after step t (0-based; t < steps). */
const kn_real *kn_lstm_hidden(const kn_lstm *l, size_t t);

/* Back-propagation through time over all steps since the reset. dh is steps x batch x H: the
 * gradient of the loss with respect to each step's output h_t (from whatever read it).
 * ADDS the parameter gradient into grads; writes dLoss/dx (steps x batch x in) into dx unless
 * dx is NULL. */
int kn_lstm_backward(kn_lstm *l, const kn_real *params, const kn_real *dh, kn_real *grads,
                     kn_real *dx, kn_error *err);

#ifdef __cplusplus
}
#endif
#endif
