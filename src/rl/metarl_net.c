/* The meta-RL network: LSTM + softmax policy head + value head on one flat parameter vector, and
 * the advantage actor-critic loss with its gradient (back-propagated through the LSTM over the
 * whole episode). Uses only kn_real, the LSTM and the core, so the gradient-check test can compile
 * it in double precision (KN_NN_DOUBLE) together with src/nn/lstm.c. */
#include "kenyon/metarl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int kn_metarl_input_size(const kn_metarl_net_config *c)
{
    return c->n_actions + 1 + c->n_obs + (c->time_input ? 1 : 0);
}

void kn_metarl_net_free(kn_metarl_net *net)
{
    if (!net)
        return;
    kn_lstm_free(&net->lstm);
    free(net->params);
    free(net->grads);
    free(net->logits);
    free(net->value);
    free(net->input);
    free(net->dh);
    memset(net, 0, sizeof *net);
}

int kn_metarl_net_create(kn_metarl_net *net, const kn_metarl_net_config *cfg, size_t batch,
                         size_t max_steps, kn_rng *rng, kn_error *err)
{
    memset(net, 0, sizeof *net);
    if (cfg->hidden < 1 || cfg->hidden > 4096)
        return kn_fail(err, KN_EINVAL, "metarl net: hidden units %d not in [1, 4096]",
                       cfg->hidden);
    if (cfg->n_actions < 2 || cfg->n_actions > 64)
        return kn_fail(err, KN_EINVAL, "metarl net: actions %d not in [2, 64]", cfg->n_actions);
    if (cfg->n_obs < 0 || cfg->n_obs > 64)
        return kn_fail(err, KN_EINVAL, "metarl net: observation inputs %d not in [0, 64]",
                       cfg->n_obs);
    if (batch < 1 || batch > 4096 || max_steps < 1 || max_steps > 100000)
        return kn_fail(err, KN_EINVAL, "metarl net: batch %zu not in [1, 4096] or steps %zu not "
                       "in [1, 100000]", batch, max_steps);
    net->cfg = *cfg;
    net->cfg.time_input = cfg->time_input ? 1 : 0;
    net->in = kn_metarl_input_size(&net->cfg);
    const size_t H = (size_t)cfg->hidden, A = (size_t)cfg->n_actions;
    size_t n_lstm = kn_lstm_n_params(net->in, cfg->hidden);
    net->off_policy_w = n_lstm;
    net->off_policy_b = net->off_policy_w + A * H;
    net->off_value_w = net->off_policy_b + A;
    net->off_value_b = net->off_value_w + H;
    net->n_params = net->off_value_b + 1;
    net->batch = batch;
    net->max_steps = max_steps;
    int rc = kn_lstm_create(&net->lstm, net->in, cfg->hidden, batch, max_steps, err);
    if (rc)
        return rc;
    net->params = calloc(net->n_params, sizeof(kn_real));
    net->grads = calloc(net->n_params, sizeof(kn_real));
    net->logits = calloc(max_steps * batch * A, sizeof(kn_real));
    net->value = calloc(max_steps * batch, sizeof(kn_real));
    net->input = calloc(batch * (size_t)net->in, sizeof(kn_real));
    net->dh = calloc(max_steps * batch * H, sizeof(kn_real));
    if (!net->params || !net->grads || !net->logits || !net->value || !net->input || !net->dh) {
        kn_metarl_net_free(net);
        return kn_fail(err, KN_ENOMEM, "metarl net: out of memory");
    }
    if (rng) {
        kn_lstm_init_params(net->in, cfg->hidden, net->params, rng);
        for (size_t i = 0; i < A * H; i++)
            net->params[net->off_policy_w + i] = (kn_real)((2.0 * kn_rng_uniform(rng) - 1.0) * 0.01);
        double bound = 1.0 / sqrt((double)H);
        for (size_t i = 0; i < H; i++)
            net->params[net->off_value_w + i] =
                (kn_real)((2.0 * kn_rng_uniform(rng) - 1.0) * bound);
    }
    kn_metarl_net_reset(net);
    return 0;
}

void kn_metarl_net_reset(kn_metarl_net *net) { kn_lstm_reset(&net->lstm); }

size_t kn_metarl_net_steps(const kn_metarl_net *net) { return net->lstm.steps; }

int kn_metarl_net_step(kn_metarl_net *net, const kn_real *x, kn_error *err)
{
    size_t t = net->lstm.steps;
    const kn_real *h;
    int rc = kn_lstm_step(&net->lstm, net->params, x, &h, err);
    if (rc)
        return rc;
    const size_t n = net->batch, H = (size_t)net->cfg.hidden, A = (size_t)net->cfg.n_actions;
    const kn_real *Wp = net->params + net->off_policy_w, *bp = net->params + net->off_policy_b;
    const kn_real *wv = net->params + net->off_value_w, *bv = net->params + net->off_value_b;
    for (size_t r = 0; r < n; r++) {
        const kn_real *hr = h + r * H;
        kn_real *lg = net->logits + (t * n + r) * A;
        for (size_t a = 0; a < A; a++) {
            double s = bp[a];
            for (size_t j = 0; j < H; j++)
                s += (double)Wp[a * H + j] * hr[j];
            lg[a] = (kn_real)s;
        }
        double v = bv[0];
        for (size_t j = 0; j < H; j++)
            v += (double)wv[j] * hr[j];
        net->value[t * n + r] = (kn_real)v;
    }
    return 0;
}

void kn_metarl_make_input(const kn_metarl_net_config *c, int prev_action, double prev_reward,
                          int prev_state, int t, int n_trials, kn_real *row)
{
    int k = 0;
    for (int a = 0; a < c->n_actions; a++)
        row[k++] = (kn_real)(a == prev_action);
    row[k++] = (kn_real)prev_reward;
    for (int s = 0; s < c->n_obs; s++)
        row[k++] = (kn_real)(s == prev_state);
    if (c->time_input)
        row[k++] = (kn_real)(n_trials > 0 ? (double)t / n_trials : 0.0);
}

int kn_metarl_net_a2c(kn_metarl_net *net, const kn_a2c_coefs *co, const int *actions,
                      const kn_real *rewards, const kn_real *fixed_adv, int want_grad,
                      kn_a2c_parts *parts, kn_error *err)
{
    const size_t T = net->lstm.steps, n = net->batch;
    const size_t H = (size_t)net->cfg.hidden, A = (size_t)net->cfg.n_actions;
    if (T == 0)
        return kn_fail(err, KN_ESTATE, "metarl a2c: no steps recorded since the reset");
    for (size_t i = 0; i < T * n; i++)
        if (actions[i] < 0 || (size_t)actions[i] >= A)
            return kn_fail(err, KN_EINVAL, "metarl a2c: action %d at step %zu row %zu not in "
                           "[0, %zu)", actions[i], i / n, i % n, A);
    if (want_grad) {
        memset(net->grads, 0, net->n_params * sizeof(kn_real));
        memset(net->dh, 0, T * n * H * sizeof(kn_real));
    }
    const kn_real *Wp = net->params + net->off_policy_w;
    const kn_real *wv = net->params + net->off_value_w;
    kn_real *dWp = net->grads + net->off_policy_w, *dbp = net->grads + net->off_policy_b;
    kn_real *dwv = net->grads + net->off_value_w, *dbv = net->grads + net->off_value_b;
    double pol = 0, val = 0, ent = 0;
    double logp[64], pr[64], dlg[64];
    for (size_t r = 0; r < n; r++) {
        double R = 0.0;
        for (size_t t = T; t-- > 0;) {
            size_t i = t * n + r;
            R = (double)rewards[i] + co->gamma * R;
            const kn_real *lg = net->logits + i * A;
            double mx = lg[0];
            for (size_t a = 1; a < A; a++)
                mx = lg[a] > mx ? lg[a] : mx;
            double z = 0;
            for (size_t a = 0; a < A; a++)
                z += exp((double)lg[a] - mx);
            double lz = mx + log(z), H_t = 0;
            for (size_t a = 0; a < A; a++) {
                logp[a] = (double)lg[a] - lz;
                pr[a] = exp(logp[a]);
                H_t -= pr[a] * logp[a];
            }
            double V = net->value[i], adv = fixed_adv ? (double)fixed_adv[i] : R - V;
            int act = actions[i];
            pol += -logp[act] * adv;
            val += 0.5 * (R - V) * (R - V);
            ent += H_t;
            if (!want_grad)
                continue;
            double inv_n = 1.0 / (double)n;
            for (size_t a = 0; a < A; a++)
                dlg[a] = inv_n * ((pr[a] - (a == (size_t)act)) * adv +
                                  co->entropy_coef * pr[a] * (logp[a] + H_t));
            double dV = -inv_n * co->value_coef * (R - V);
            const kn_real *h = kn_lstm_hidden(&net->lstm, t) + r * H;
            kn_real *dh = net->dh + i * H;
            for (size_t a = 0; a < A; a++) {
                dbp[a] += (kn_real)dlg[a];
                for (size_t j = 0; j < H; j++) {
                    dWp[a * H + j] += (kn_real)(dlg[a] * h[j]);
                    dh[j] += (kn_real)(dlg[a] * Wp[a * H + j]);
                }
            }
            dbv[0] += (kn_real)dV;
            for (size_t j = 0; j < H; j++) {
                dwv[j] += (kn_real)(dV * h[j]);
                dh[j] += (kn_real)(dV * wv[j]);
            }
        }
    }
    double inv_n = 1.0 / (double)n;
    kn_a2c_parts p;
    p.policy = pol * inv_n;
    p.value = val * inv_n;
    p.entropy = ent * inv_n;
    p.total = p.policy + co->value_coef * p.value - co->entropy_coef * p.entropy;
    if (parts)
        *parts = p;
    if (want_grad) {
        int rc = kn_lstm_backward(&net->lstm, net->params, net->dh, net->grads, NULL, err);
        if (rc)
            return rc;
    }
    return 0;
}

uint64_t kn_metarl_net_checksum(const kn_metarl_net *net)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    const unsigned char *b = (const unsigned char *)net->params;
    for (size_t i = 0; i < net->n_params * sizeof(kn_real); i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}
