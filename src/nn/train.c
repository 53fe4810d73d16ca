/* Training helpers on top of the net: the loss-gradient of a labelled batch and one optimiser
 * step, the building blocks every back-prop baseline repeats. */
#include "nn/nn_internal.h"

#include <math.h>

/* The forward pass and the loss gradient net->dloss of a labelled batch. */
static int forward_loss(kn_net *net, const kn_real *x, const int32_t *y, size_t n,
                        const uint8_t *active, double *loss, kn_error *err)
{
    const kn_real *out;
    int rc = kn_net_forward(net, x, n, &out, err);
    if (rc)
        return rc;
    size_t od = kn_net_out_dim(net);
    if (kn_nn_reserve(&net->dloss, &net->dloss_cap, n * od))
        return kn_fail(err, KN_ENOMEM, "kn_net_loss_grad: out of memory");
    double value = 0;
    rc = kn_loss_cross_entropy(out, n, (int)od, y, active, &value, net->dloss, err);
    if (loss)
        *loss = value;
    /* A diverged network (too large a learning rate) must stop the run, not go on to report
     * chance accuracy. The caller adds the task and the step. */
    if (!rc && !isfinite(value))
        return kn_fail(err, KN_ESTATE, "the training loss is %s: training diverged (a smaller "
                       "learning rate may help)", isnan(value) ? "NaN" : "infinite");
    return rc;
}

int kn_net_loss_grad(kn_net *net, const kn_real *x, const int32_t *y, size_t n,
                     const uint8_t *active, double *loss, kn_error *err)
{
    int rc = forward_loss(net, x, y, n, active, loss, err);
    if (!rc)
        rc = kn_net_backward(net, net->dloss, NULL, err);
    return rc;
}

/* Same bits as zeroing the gradients, kn_net_loss_grad and kn_optim_step, in fewer passes over
 * memory: the backward pass overwrites the gradients (no zeroing) and steps each layer's
 * parameters while its gradient is in cache (kn_net_backward_step). */
int kn_net_train_step(kn_net *net, kn_optim *opt, const kn_real *x, const int32_t *y, size_t n,
                      const uint8_t *active, double *loss, kn_error *err)
{
    if (kn_optim_size(opt) != net->n_params) {
        kn_net_zero_grad(net);
        int rc = kn_net_loss_grad(net, x, y, n, active, loss, err);
        if (rc)
            return rc;
        kn_optim_step(opt, net->params, net->grads);
        return 0;
    }
    int rc = forward_loss(net, x, y, n, active, loss, err);
    if (!rc)
        rc = kn_net_backward_step(net, net->dloss, opt, err);
    return rc;
}
