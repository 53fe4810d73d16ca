/* Saving and loading a network's parameters and BatchNorm statistics as safetensors tensors
 * with PyTorch's names and shapes ("<prefix>layer<i>.weight" ...), so a kenyon model opens in
 * Python and a PyTorch state dict can be mapped onto a kenyon net by name. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kenyon/safetensors.h"
#include "nn/nn_internal.h"

#ifdef KN_NN_DOUBLE
#define KN_ST_REAL KN_ST_F64
#else
#define KN_ST_REAL KN_ST_F32
#endif

/* Fills names/shapes/pointers of the (up to 4) tensors of layer i; returns how many. */
static int layer_tensors(const kn_net *net, int i, const char *prefix, char names[4][128],
                         int ndims[4], size_t shapes[4][4], kn_real *ptrs[4])
{
    const kn_layer *L = &net->layers[i];
    kn_real *p = net->params + L->p_off;
    switch (L->kind) {
    case KN_LAYER_DENSE:
        snprintf(names[0], 128, "%slayer%d.weight", prefix, i);
        snprintf(names[1], 128, "%slayer%d.bias", prefix, i);
        ndims[0] = 2;
        shapes[0][0] = L->out_dim;
        shapes[0][1] = L->in_dim;
        ndims[1] = 1;
        shapes[1][0] = L->out_dim;
        ptrs[0] = p;
        ptrs[1] = p + L->w_count;
        return 2;
    case KN_LAYER_CONV2D:
        snprintf(names[0], 128, "%slayer%d.weight", prefix, i);
        snprintf(names[1], 128, "%slayer%d.bias", prefix, i);
        ndims[0] = 4;
        shapes[0][0] = (size_t)L->out_c;
        shapes[0][1] = (size_t)L->in_c;
        shapes[0][2] = shapes[0][3] = (size_t)L->kernel;
        ndims[1] = 1;
        shapes[1][0] = (size_t)L->out_c;
        ptrs[0] = p;
        ptrs[1] = p + L->w_count;
        return 2;
    case KN_LAYER_BATCHNORM: {
        static const char *const what[4] = {"weight", "bias", "running_mean", "running_var"};
        for (int k = 0; k < 4; k++) {
            snprintf(names[k], 128, "%slayer%d.%s", prefix, i, what[k]);
            ndims[k] = 1;
            shapes[k][0] = (size_t)L->in_c;
        }
        ptrs[0] = p;
        ptrs[1] = p + L->in_c;
        ptrs[2] = net->buffers + L->b_off;
        ptrs[3] = net->buffers + L->b_off + L->in_c;
        return 4;
    }
    default:
        return 0;
    }
}

int kn_net_write_tensors(const kn_net *net, const char *prefix, kn_st_writer *w, kn_error *err)
{
    if (!net->built)
        return kn_fail(err, KN_ESTATE, "kn_net_write_tensors: the network is not built");
    for (int i = 0; i < net->n_layers; i++) {
        char names[4][128];
        int ndims[4];
        size_t shapes[4][4];
        kn_real *ptrs[4];
        int k = layer_tensors(net, i, prefix ? prefix : "", names, ndims, shapes, ptrs);
        for (int j = 0; j < k; j++) {
            int rc = kn_st_writer_add(w, names[j], KN_ST_REAL, ndims[j], shapes[j], ptrs[j], err);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int kn_net_read_tensors(kn_net *net, const char *prefix, const kn_st_file *f, kn_error *err)
{
    if (!net->built)
        return kn_fail(err, KN_ESTATE, "kn_net_read_tensors: the network is not built");
    for (int i = 0; i < net->n_layers; i++) {
        char names[4][128];
        int ndims[4];
        size_t shapes[4][4];
        kn_real *ptrs[4];
        int k = layer_tensors(net, i, prefix ? prefix : "", names, ndims, shapes, ptrs);
        for (int j = 0; j < k; j++) {
            const kn_st_tensor *t;
            int rc = kn_st_expect(f, names[j], KN_ST_REAL, ndims[j], shapes[j], &t, err);
            if (rc)
                return rc;
            /* read straight into the layer (from memory or the file), then check */
            rc = kn_st_tensor_read(f, t, ptrs[j], err);
            if (rc)
                return rc;
            for (size_t q = 0; q < t->count; q++)
                if (!isfinite(ptrs[j][q]))
                    return kn_fail(err, KN_EFORMAT, "%s: tensor %s holds a non-finite value at "
                                   "index %zu", f->source, names[j], q);
        }
    }
    return 0;
}
