/* Meta-RL model files: the network's parameters as named safetensors tensors (PyTorch nn.LSTM /
 * nn.Linear names and shapes) with the task, net configuration and training facts in
 * __metadata__, so a saved model is tested on the task it was trained for. */
#include "kenyon/metarl.h"

#include <stdio.h>
#include <string.h>

#include "kenyon/safetensors.h"

_Static_assert(sizeof(kn_real) == 4, "meta-RL model files store float32 parameters");

#define METARL_FORMAT "kenyon-metarl"
#define METARL_VERSION "1"

typedef struct tensor_slot {
    const char *name;
    size_t offset;
    int ndim;
    size_t shape[2];
} tensor_slot;

/* Tensor names, shapes and offsets in the flat vector for a net of config c (input size in);
 * the same layout kn_metarl_net_create makes. */
static int net_slots(const kn_metarl_net_config *c, int in, tensor_slot slots[8])
{
    const size_t H = (size_t)c->hidden, A = (size_t)c->n_actions, I = (size_t)in;
    const size_t G = 4 * H, pw = G * I + G * H + 2 * G;
    tensor_slot s[8] = {
        {"lstm.weight_ih_l0", 0, 2, {G, I}},
        {"lstm.weight_hh_l0", G * I, 2, {G, H}},
        {"lstm.bias_ih_l0", G * I + G * H, 1, {G, 0}},
        {"lstm.bias_hh_l0", G * I + G * H + G, 1, {G, 0}},
        {"policy.weight", pw, 2, {A, H}},
        {"policy.bias", pw + A * H, 1, {A, 0}},
        {"value.weight", pw + A * H + A, 2, {1, H}},
        {"value.bias", pw + A * H + A + H, 1, {1, 0}},
    };
    memcpy(slots, s, sizeof s);
    return 8;
}

int kn_metarl_save(const char *path, const kn_metarl_net *net, const kn_bandit_task_params *task,
                   const kn_metarl_config *tc, long episodes_trained, double train_seconds,
                   kn_error *err)
{
    kn_st_writer w;
    kn_st_writer_init(&w);
    tensor_slot slots[8];
    int n = net_slots(&net->cfg, net->in, slots), rc = 0;
    if (slots[4].offset != net->off_policy_w || slots[7].offset != net->off_value_b)
        return kn_fail(err, KN_ESTATE, "metarl save: parameter layout mismatch (internal error)");
    for (int i = 0; i < n && !rc; i++)
        rc = kn_st_writer_add(&w, slots[i].name, KN_ST_F32, slots[i].ndim, slots[i].shape,
                              net->params + slots[i].offset, err);
#define META(key, ...)                                                                         \
    do {                                                                                       \
        if (!rc)                                                                               \
            rc = kn_st_writer_meta_fmt(&w, key, err, __VA_ARGS__);                             \
    } while (0)
    META("format", "%s", METARL_FORMAT);
    META("format_version", "%s", METARL_VERSION);
    META("task", "%s", kn_bandit_task_kind_name(task->kind));
    META("trials", "%d", task->n_trials);
    META("common_prob", "%.17g", task->common_prob);
    META("reward_high", "%.17g", task->reward_high);
    META("reward_low", "%.17g", task->reward_low);
    META("switch_prob", "%.17g", task->switch_prob);
    META("bait_total", "%.17g", task->bait_total);
    META("hidden", "%d", net->cfg.hidden);
    META("actions", "%d", net->cfg.n_actions);
    META("observations", "%d", net->cfg.n_obs);
    META("time_input", "%d", net->cfg.time_input);
    META("episodes_trained", "%ld", episodes_trained);
    META("train_seconds", "%.3f", train_seconds);
    if (tc) {
        META("seed", "%llu", (unsigned long long)tc->seed);
        META("batch", "%d", tc->batch);
        META("lr", "%.17g", tc->lr);
        META("lr_end", "%.17g", tc->lr_end);
        META("rms_alpha", "%.17g", tc->rms_alpha);
        META("rms_eps", "%.17g", tc->rms_eps);
        META("grad_clip", "%.17g", tc->grad_clip);
        META("gamma", "%.17g", tc->coefs.gamma);
        META("value_coef", "%.17g", tc->coefs.value_coef);
        META("entropy_coef", "%.17g", tc->coefs.entropy_coef);
    }
    META("parameter_checksum", "%016llx", (unsigned long long)kn_metarl_net_checksum(net));
#undef META
    if (!rc)
        rc = kn_st_writer_write(&w, path, err);
    kn_st_writer_free(&w);
    return rc;
}

static int meta_int(const kn_st_file *f, const char *key, long lo, long hi, int *out,
                    kn_error *err)
{
    int64_t v;
    int rc = kn_st_meta_int64(f, key, &v, err);
    if (rc)
        return rc;
    if (v < lo || v > hi)
        return kn_fail(err, KN_EFORMAT, "%s: metadata %s = %lld not in [%ld, %ld]", f->source, key,
                       (long long)v, lo, hi);
    *out = (int)v;
    return 0;
}

static int meta_prob(const kn_st_file *f, const char *key, double *out, kn_error *err)
{
    int rc = kn_st_meta_double(f, key, out, err);
    if (!rc && !(*out >= 0.0 && *out <= 1.0))
        return kn_fail(err, KN_EFORMAT, "%s: metadata %s = %g not in [0, 1]", f->source, key,
                       *out);
    return rc;
}

int kn_metarl_load(const char *path, kn_metarl_net *net, kn_bandit_task_params *task, size_t batch,
                   kn_error *err)
{
    memset(net, 0, sizeof *net);
    kn_st_file f;
    int rc = kn_st_read(path, &f, err);
    if (rc)
        return rc;
    const char *fmt = kn_st_meta(&f, "format");
    if (!fmt || strcmp(fmt, METARL_FORMAT) != 0) {
        rc = kn_fail(err, KN_EFORMAT, "%s: not a kenyon meta-RL model (metadata format is '%s', "
                     "expected '%s')", path, fmt ? fmt : "missing", METARL_FORMAT);
        goto done;
    }
    const char *kind = kn_st_meta(&f, "task");
    int k = kn_bandit_task_kind_parse(kind);
    if (k < 0) {
        rc = kn_fail(err, KN_EFORMAT, "%s: metadata task '%s' is not a known task", path,
                     kind ? kind : "missing");
        goto done;
    }
    kn_bandit_task_params_default(task, (kn_bandit_task_kind)k);
    kn_metarl_net_config c = {0};
    rc = meta_int(&f, "trials", 1, 100000, &task->n_trials, err);
    if (!rc)
        rc = meta_prob(&f, "common_prob", &task->common_prob, err);
    if (!rc)
        rc = meta_prob(&f, "reward_high", &task->reward_high, err);
    if (!rc)
        rc = meta_prob(&f, "reward_low", &task->reward_low, err);
    if (!rc)
        rc = meta_prob(&f, "switch_prob", &task->switch_prob, err);
    if (!rc)
        rc = meta_prob(&f, "bait_total", &task->bait_total, err);
    if (!rc)
        rc = meta_int(&f, "hidden", 1, 4096, &c.hidden, err);
    if (!rc)
        rc = meta_int(&f, "actions", 2, 2, &c.n_actions, err);
    if (!rc)
        rc = meta_int(&f, "observations", 0, 64, &c.n_obs, err);
    if (!rc)
        rc = meta_int(&f, "time_input", 0, 1, &c.time_input, err);
    if (rc)
        goto done;
    const char *bad = kn_bandit_task_params_check(task);
    if (bad) {
        rc = kn_fail(err, KN_EFORMAT, "%s: task metadata: %s", path, bad);
        goto done;
    }
    if ((task->kind == KN_BANDIT_TASK_TWOSTEP) != (c.n_obs == 2)) {
        rc = kn_fail(err, KN_EFORMAT, "%s: metadata observations = %d does not fit task %s", path,
                     c.n_obs, kind);
        goto done;
    }
    /* Every tensor must be present with its shape before anything is allocated, so a file
     * cannot make the loader reserve memory its contents do not back. */
    tensor_slot slots[8];
    const kn_st_tensor *found[8];
    int n = net_slots(&c, kn_metarl_input_size(&c), slots);
    for (int i = 0; i < n && !rc; i++)
        rc = kn_st_expect(&f, slots[i].name, KN_ST_F32, slots[i].ndim, slots[i].shape, &found[i],
                          err);
    if (!rc)
        rc = kn_metarl_net_create(net, &c, batch, (size_t)task->n_trials, NULL, err);
    if (rc)
        goto done;
    for (int i = 0; i < n; i++)
        memcpy(net->params + slots[i].offset, found[i]->data, found[i]->nbytes);
done:
    kn_st_free(&f);
    return rc;
}
