/* LeNet5 model files: safetensors with PyTorch's names and shapes (conv1.weight 6x1x3x3,
 * bn1.weight, bn1.bias, bn1.running_mean, bn1.running_var, ..., fc3.bias), so a PyTorch LeNet5
 * with attributes conv1, bn1, conv2, bn2, fc1, bn3, fc2, bn4, fc3 loads them with
 * load_state_dict(strict=False) (num_batches_tracked is not stored). */
#include <stdio.h>
#include <string.h>

#include "kenyon/features.h"
#include "kenyon/safetensors.h"

_Static_assert(sizeof(kn_real) == sizeof(float), "model files hold float32 weights");

/* One named tensor: a slice of the parameter or buffer vector. */
typedef struct named_slice {
    char name[32];
    int buffer; /* 0: parameters, 1: buffers */
    size_t offset, count;
    int ndim;
    size_t shape[4];
} named_slice;

/* Lists LeNet5's tensors in layer order; returns how many (at most 32). */
static int list_tensors(const kn_net *net, named_slice *t)
{
    int n = 0, conv = 0, fc = 0, bn = 0;
    size_t buf_off = 0;
    int prev_c = 1;
    for (int i = 0; i < kn_net_n_layers(net); i++) {
        kn_layer_kind kind = kn_net_layer_kind(net, i);
        size_t off, count, wcount;
        kn_net_layer_params(net, i, &off, &count, &wcount);
        int c, h, w;
        kn_net_layer_shape(net, i, &c, &h, &w);
        if (kind == KN_LAYER_CONV2D || kind == KN_LAYER_DENSE) {
            size_t out = count - wcount;
            const char *base = kind == KN_LAYER_CONV2D ? "conv" : "fc";
            int idx = kind == KN_LAYER_CONV2D ? ++conv : ++fc;
            named_slice *W = &t[n++], *b = &t[n++];
            memset(W, 0, sizeof *W);
            memset(b, 0, sizeof *b);
            snprintf(W->name, sizeof W->name, "%s%d.weight", base, idx);
            snprintf(b->name, sizeof b->name, "%s%d.bias", base, idx);
            W->offset = off;
            W->count = wcount;
            b->offset = off + wcount;
            b->count = out;
            b->ndim = 1;
            b->shape[0] = out;
            if (kind == KN_LAYER_CONV2D) {
                size_t in_c = (size_t)prev_c, kk = wcount / (out * in_c), k = 1;
                while (k * k < kk)
                    k++;
                W->ndim = 4;
                W->shape[0] = out;
                W->shape[1] = in_c;
                W->shape[2] = k;
                W->shape[3] = k;
            } else {
                W->ndim = 2;
                W->shape[0] = out;
                W->shape[1] = wcount / out;
            }
        } else if (kind == KN_LAYER_BATCHNORM) {
            size_t C = count / 2;
            const char *suffix[4] = {"weight", "bias", "running_mean", "running_var"};
            bn++;
            for (int k = 0; k < 4; k++) {
                named_slice *s = &t[n++];
                memset(s, 0, sizeof *s);
                snprintf(s->name, sizeof s->name, "bn%d.%s", bn, suffix[k]);
                s->buffer = k >= 2;
                s->offset = k < 2 ? off + (size_t)k * C : buf_off + (size_t)(k - 2) * C;
                s->count = C;
                s->ndim = 1;
                s->shape[0] = C;
            }
            buf_off += 2 * C;
        }
        prev_c = c;
    }
    return n;
}

int kn_lenet5_save(kn_net *net, const char *path, const char *const *meta, kn_error *err)
{
    if (kn_net_n_layers(net) != 16 || kn_net_in_dim(net) != KN_LENET5_IN)
        return kn_fail(err, KN_EINVAL, "lenet5 save: the network is not a LeNet5");
    named_slice t[32];
    int n = list_tensors(net, t);
    kn_st_writer w;
    kn_st_writer_init(&w);
    int rc = kn_st_writer_meta(&w, "format", "kenyon-lenet5", err);
    if (!rc)
        rc = kn_st_writer_meta(&w, "architecture",
                               "conv1(1,6,3)-bn1-relu-maxpool2-conv2(6,16,3)-bn2-relu-maxpool2-"
                               "fc1(400,120)-bn3-relu-fc2(120,84)-bn4-relu-fc3(84,C)",
                               err);
    for (int i = 0; meta && meta[i] && meta[i + 1] && !rc; i += 2)
        rc = kn_st_writer_meta(&w, meta[i], meta[i + 1], err);
    const float *params = kn_net_params(net), *buffers = kn_net_buffers(net);
    for (int i = 0; i < n && !rc; i++)
        rc = kn_st_writer_add(&w, t[i].name, KN_ST_F32, t[i].ndim, t[i].shape,
                              (t[i].buffer ? buffers : params) + t[i].offset, err);
    if (!rc)
        rc = kn_st_writer_write(&w, path, err);
    kn_st_writer_free(&w);
    return rc;
}

int kn_lenet5_load(const char *path, kn_net **out, kn_error *err)
{
    *out = NULL;
    kn_st_file f;
    int rc = kn_st_read(path, &f, err);
    if (rc)
        return rc;
    const kn_st_tensor *head;
    rc = kn_st_expect(&f, "fc3.bias", KN_ST_F32, 1, NULL, &head, err);
    if (rc) {
        kn_st_free(&f);
        return rc;
    }
    if (head->shape[0] < 2 || head->shape[0] > 65536) {
        kn_st_free(&f);
        return kn_fail(err, KN_EFORMAT, "%s: fc3.bias has %zu outputs; expected 2..65536", path,
                       head->shape[0]);
    }
    kn_rng rng;
    kn_rng_seed(&rng, 0);
    kn_net *net;
    rc = kn_lenet5_create((int)head->shape[0], &rng, &net, err);
    if (rc) {
        kn_st_free(&f);
        return rc;
    }
    named_slice t[32];
    int n = list_tensors(net, t);
    float *params = kn_net_params(net), *buffers = kn_net_buffers(net);
    for (int i = 0; i < n && !rc; i++) {
        const kn_st_tensor *ten;
        rc = kn_st_expect(&f, t[i].name, KN_ST_F32, t[i].ndim, t[i].shape, &ten, err);
        if (!rc)
            memcpy((t[i].buffer ? buffers : params) + t[i].offset, ten->data,
                   t[i].count * sizeof(float));
    }
    kn_st_free(&f);
    if (rc) {
        kn_net_free(net);
        return rc;
    }
    kn_net_set_training(net, 0);
    *out = net;
    return 0;
}
