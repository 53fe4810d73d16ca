/* The `fly-apl` learner: fly-ridge on a KC code shaped by APL-like subtractive inhibition.
 *
 * Algorithm: the fly's KC encoder (Shen, Dasgupta & Navlakha 2021; kenyon/fly.h) with each
 * winner's activity lowered by a share --apl of the mean KC activity and renormalised, the
 * winners keeping graded, binary or rank values (kenyon/kc_recode.h: the APL neuron of the
 * mushroom body inhibits the KCs by subtraction as well as by competition; Papadopoulou et al.,
 * Science 2011, and Lin et al., Nat. Neurosci. 2014, describe that feedback), read out by
 * streaming ridge regression to one-hot targets (G = sum h h^T, B = sum h y^T,
 * W = (G + lambda I)^-1 B, as fly-ridge; exact whatever the data order). The defaults (m 3200,
 * c 40, k 20% of m, apl 1, graded, lambda 10) come from a one-seed exploration on MNIST-20
 * pixels (BENCHMARKS.md, one-pass learners); with --apl 0 --value graded --c 10 --k-fraction 0.1
 * the code is fly-ridge's. --lambda gcv chooses lambda at the end of every task by generalised
 * cross-validation (kenyon/ridge.h), which costs one reduction of G to band form per task
 * (about four Cholesky factorisations). At --m 6400 (k 1280) the learner is more accurate than
 * ranpac at M 3200 on MNIST-20 pixels (BENCHMARKS.md, one-pass learners).
 *
 * Model file (safetensors): the common learner metadata (kenyon/learner.h) plus
 *   kc_inputs   I32 [m, c]          the projection
 *   readout     F32 [m, classes]    W of the last solve
 *   gram_upper  F64 [m (m + 1) / 2] upper triangle of G, row by row
 *   target_sums F64 [m, classes]    B
 * with metadata fly.k, fly.n_seen, fly.dirty and fly.lambda (the penalty in use). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl/fly_parts.h"
#include "cl/methods.h"
#include "kenyon/fly.h"
#include "kenyon/kc_recode.h"
#include "kenyon/ridge.h"
#include "kenyon/safetensors.h"

#define CODE_CHUNK 4096
#define CODE_CACHE_BYTES ((size_t)256 << 20)

typedef struct apl_state {
    kn_kc_encoder enc;
    kn_kc_recoder rec;
    kn_fly_ridge rr;
    kn_kc_cache cache;
    kn_kc_codes scratch, work;
    int gcv;
} apl_state;

static const kn_param_spec apl_params[] = {
    KN_PARAM_ROW_INT("m", "3200", 1, 46000, "number of Kenyon cells"),
    KN_PARAM_ROW_INT("c", "40", 1, 1 << 16, "inputs per Kenyon cell (random, binary, fixed)"),
    KN_PARAM_ROW_INT("k", "0", 0, 46000, "winners of the k-WTA (0: use --k-fraction)"),
    KN_PARAM_ROW_REAL("k-fraction", "0.2", 0, 1, KN_PARAM_MIN_OPEN,
                      "winners as a fraction of m (when --k is 0)"),
    KN_PARAM_ROW_REAL("apl", "1", 0, 1000, 0,
                      "APL inhibition: share of the mean KC activity subtracted from the winners"),
    KN_PARAM_ROW_CHOICE("value", "graded", "graded|binary|rank",
                        "what a winning cell carries: its inhibited activity, 1, or its rank"),
    KN_PARAM_ROW_REAL_OR("lambda", "10", 0, 1e12, KN_PARAM_MIN_OPEN, "gcv",
                         "ridge penalty; gcv: chosen per task by generalised cross-validation"),
    KN_PARAM_ROW_END,
};

static int apl_check(const kn_params *p, kn_error *err)
{
    int m, c, k, rc;
    if ((rc = kn_params_int(p, "m", &m, err)) || (rc = kn_params_int(p, "c", &c, err)) ||
        (rc = kn_params_int(p, "k", &k, err)))
        return rc;
    if (k > m)
        return kn_fail(err, KN_EINVAL, "k (winners) cannot exceed m (number of Kenyon cells): "
                       "--k %d, --m %d", k, m);
    return 0;
}

/* Reads the parameters; lambda is 10 until the first GCV choice when --lambda gcv. */
static int read_params(const kn_learner *l, int *m, int *c, int *k, double *apl, int *value,
                       double *lambda, int *gcv, kn_error *err)
{
    double kf;
    int rc;
    if ((rc = kn_learner_param_int(l, "m", m, err)) ||
        (rc = kn_learner_param_int(l, "c", c, err)) ||
        (rc = kn_learner_param_int(l, "k", k, err)) ||
        (rc = kn_learner_param_double(l, "k-fraction", &kf, err)) ||
        (rc = kn_learner_param_double(l, "apl", apl, err)) ||
        (rc = kn_learner_param_choice(l, "value", value, err)))
        return rc;
    if (*k == 0) {
        double kk = floor(kf * *m + 0.5);
        *k = kk < 1 ? 1 : (int)kk;
    }
    const char *v = kn_learner_param(l, "lambda");
    *gcv = v && strcmp(v, "gcv") == 0;
    *lambda = 10;
    if (!*gcv && (rc = kn_learner_param_double(l, "lambda", lambda, err)))
        return rc;
    const char *why = kn_kc_encoder_check(l->info.d, *m, *c, *k);
    if (why)
        return kn_fail(err, KN_EINVAL, "method fly-apl: %s (d=%zu, --m %d, --c %d, k=%d)", why,
                       l->info.d, *m, *c, *k);
    return kn_ridge_check_memory("method fly-apl", "m", (size_t)*m, (size_t)l->info.n_classes,
                                 kn_fly_ridge_buffer_bytes((size_t)*m), FLY_BUFFER_WHAT, err);
}

/* Codes of n samples x into codes (cap >= n): the encoder's, then the variant. */
static int encode(apl_state *s, const float *x, size_t n, kn_kc_codes *codes, kn_error *err)
{
    int rc = kn_kc_encode(&s->enc, x, n, codes, err);
    if (!rc)
        kn_kc_recode(&s->rec, x, codes);
    return rc;
}

static int apl_observe(kn_learner *l, const float *x, const int32_t *y, size_t n, kn_error *err)
{
    apl_state *s = l->impl;
    int rc = 0;
    for (size_t st = 0; !rc && st < n; st += CODE_CHUNK) {
        size_t b = n - st < CODE_CHUNK ? n - st : CODE_CHUNK;
        rc = encode(s, x + st * l->info.d, b, &s->work, err);
        if (!rc)
            rc = kn_fly_ridge_accumulate(&s->rr, &s->work, y + st, err);
    }
    return rc;
}

static int apl_end(kn_learner *l, kn_error *err)
{
    apl_state *s = l->impl;
    kn_fly_ridge *r = &s->rr;
    kn_fly_ridge_flush(r); /* the choice reads G */
    if (s->gcv && r->n_seen > 0) {
        const size_t m = (size_t)r->m;
        if (!r->factor && !(r->factor = calloc(m * m, sizeof *r->factor)))
            return kn_fail(err, KN_ENOMEM, "fly-apl: out of memory for the Cholesky factor");
        kn_ridge_choice ch;
        int rc = kn_ridge_choose_gcv(r->g, r->b, m, (size_t)r->n_classes, (double)r->n_seen,
                                     r->factor, &ch, err);
        if (rc)
            return rc;
        r->lambda = ch.lambda;
        r->dirty = 1;
    }
    return kn_fly_ridge_solve(r, err);
}

static int apl_note(const kn_learner *l, char *buf, size_t cap)
{
    const apl_state *s = l->impl;
    return snprintf(buf, cap, "lambda %g", s->rr.lambda);
}

static int apl_predict(kn_learner *l, const float *x, size_t n, float *scores, kn_error *err)
{
    apl_state *s = l->impl;
    int rc = kn_fly_ridge_solve(&s->rr, err);
    const size_t C = (size_t)l->info.n_classes, k = (size_t)s->enc.k;
    for (size_t st = 0; !rc && st < n; st += CODE_CHUNK) {
        size_t b = n - st < CODE_CHUNK ? n - st : CODE_CHUNK;
        const kn_kc_codes *cached;
        rc = kn_kc_cache_encode(&s->cache, &s->enc, x + st * l->info.d, b, &s->scratch, &cached,
                                err);
        if (rc)
            break;
        /* The cache holds the encoder's codes; the variant is applied to a copy. */
        memcpy(s->work.cells, cached->cells, b * k * sizeof *s->work.cells);
        memcpy(s->work.values, cached->values, b * k * sizeof *s->work.values);
        memcpy(s->work.nnz, cached->nnz, b * sizeof *s->work.nnz);
        s->work.n = b;
        kn_kc_recode(&s->rec, x + st * l->info.d, &s->work);
        kn_kc_scores(&s->work, s->rr.w, (int)C, scores + st * C);
    }
    return rc;
}

static int apl_save(const kn_learner *l, const char *path, kn_error *err)
{
    apl_state *s = l->impl; /* not const: the save flushes the pending codes into G */
    kn_fly_ridge_flush(&s->rr);
    const size_t m = (size_t)s->enc.m, C = (size_t)l->info.n_classes;
    kn_st_writer w;
    kn_st_writer_init(&w);
    double *packed = NULL;
    size_t sh_in[2] = {m, (size_t)s->enc.c}, sh_w[2] = {m, C};
    int rc = kn_learner_write_common(l, &w, err);
    if (!rc)
        rc = kn_st_writer_meta_fmt(&w, "fly.k", err, "%d", s->enc.k);
    if (!rc)
        rc = kn_st_writer_add(&w, "kc_inputs", KN_ST_I32, 2, sh_in, s->enc.inputs, err);
    if (!rc)
        rc = kn_st_writer_add(&w, "readout", KN_ST_F32, 2, sh_w, s->rr.w, err);
    if (!rc)
        rc = kn_fly_ridge_add_tensors(&w, &s->rr, &packed, path, err);
    if (!rc)
        rc = kn_st_writer_write(&w, path, err);
    kn_st_writer_free(&w);
    free(packed);
    return rc;
}

static void apl_destroy(kn_learner *l)
{
    apl_state *s = l->impl;
    if (!s)
        return;
    kn_kc_recoder_free(&s->rec);
    kn_kc_encoder_free(&s->enc);
    kn_fly_ridge_free(&s->rr);
    kn_kc_cache_free(&s->cache);
    kn_kc_codes_free(&s->scratch);
    kn_kc_codes_free(&s->work);
    free(s);
    l->impl = NULL;
}

static const kn_learner_ops apl_ops = {
    .observe = apl_observe,
    .end_task = apl_end,
    .predict_scores = apl_predict,
    .save = apl_save,
    .destroy = apl_destroy,
    .task_note = apl_note,
};

/* The state around an encoder: drawn from the seed (inputs NULL) or given. */
static int build(kn_learner *l, const uint32_t *inputs, const char *source, kn_error *err)
{
    int m, c, k, value, gcv;
    double apl, lambda;
    int rc = read_params(l, &m, &c, &k, &apl, &value, &lambda, &gcv, err);
    if (rc)
        return rc;
    apl_state *s = calloc(1, sizeof *s);
    if (!s)
        return kn_fail(err, KN_ENOMEM, "method fly-apl: out of memory");
    l->impl = s;
    l->ops = &apl_ops; /* destroy copes with a partly built state */
    s->gcv = gcv;
    kn_kc_cache_init(&s->cache, CODE_CACHE_BYTES);
    rc = inputs ? kn_kc_encoder_init_inputs(&s->enc, l->info.d, m, c, k, inputs, err)
                : kn_kc_encoder_init(&s->enc, l->info.d, m, c, k, l->info.seed, err);
    if (rc && inputs) {
        char inner[KN_ERROR_MSG_MAX];
        snprintf(inner, sizeof inner, "%s", err ? err->msg : "");
        return kn_fail(err, KN_EFORMAT, "%s: kc_inputs: %s", source, inner);
    }
    if (!rc)
        rc = kn_kc_recoder_init(&s->rec, &s->enc, apl, (kn_kc_value)value, err);
    if (!rc)
        rc = kn_kc_codes_alloc(&s->work, CODE_CHUNK, k, err);
    if (!rc)
        rc = kn_fly_ridge_init(&s->rr, m, l->info.n_classes, lambda, err);
    return rc;
}

static int apl_create(kn_learner *l, kn_error *err) { return build(l, NULL, NULL, err); }

/* Reads a F32/F64 tensor range straight into dst and checks every value is finite. */
static int apl_load(kn_learner *l, const kn_st_file *f, kn_error *err)
{
    int m, c, k, value, gcv;
    double apl, lambda;
    int rc = read_params(l, &m, &c, &k, &apl, &value, &lambda, &gcv, err);
    if (rc)
        return rc;
    const size_t ms = (size_t)m, C = (size_t)l->info.n_classes;
    size_t sh_in[2] = {ms, (size_t)c}, sh_w[2] = {ms, C};
    const kn_st_tensor *tin, *tw;
    int64_t kfile;
    if ((rc = kn_st_meta_int64(f, "fly.k", &kfile, err)) ||
        (rc = kn_st_expect(f, "kc_inputs", KN_ST_I32, 2, sh_in, &tin, err)) ||
        (rc = kn_st_expect(f, "readout", KN_ST_F32, 2, sh_w, &tw, err)))
        return rc;
    if (kfile != k)
        return kn_fail(err, KN_EFORMAT, "%s: fly.k = %lld disagrees with the parameters (k = %d)",
                       f->source, (long long)kfile, k);
    int32_t *ins = malloc(ms * (size_t)c * sizeof *ins);
    if (!ins)
        return kn_fail(err, KN_ENOMEM, "%s: out of memory for the projection", f->source);
    rc = kn_st_tensor_read(f, tin, ins, err);
    for (size_t i = 0; !rc && i < ms * (size_t)c; i++)
        if (ins[i] < 0)
            rc = kn_fail(err, KN_EFORMAT, "%s: kc_inputs[%zu] = %d is negative", f->source, i,
                         (int)ins[i]);
    if (!rc)
        rc = build(l, (const uint32_t *)ins, f->source, err);
    free(ins);
    if (rc)
        return rc;
    apl_state *s = l->impl;
    rc = kn_fly_read_finite(f, tw, 0, ms * C, s->rr.w, err);
    if (!rc)
        rc = kn_fly_ridge_read_tensors(f, &s->rr, 1, err);
    return rc;
}

const kn_method kn_method_fly_apl = {
    "fly-apl", "fly-ridge on a KC code with APL-like subtractive inhibition (graded/binary/rank)",
    apl_params, apl_create, apl_load, apl_check};
