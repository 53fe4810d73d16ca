/* FlyModel and its variants as continual learners (rows of the method registry): `fly` (the
 * paper's rule, V4), the perceptron ablations `v1`, `v2`, `v3`, and `fly-ridge` (streaming ridge
 * readout on the same KC codes). Hyperparameters and their defaults (the paper's MNIST-20
 * settings) are the kn_param_spec tables below; the projection's seed is the run's seed.
 *
 * Model file (safetensors): the common learner metadata (kenyon/learner.h) plus
 *   kc_inputs   I32 [m, c]         the projection: the c input indices of every Kenyon cell
 *   readout     F32 [m, classes]   W, cell-major (fly, v1-v3; fly-ridge: its last solution)
 * and for fly-ridge
 *   gram_upper  F64 [m (m + 1) / 2] upper triangle of G = sum h h^T, row by row
 *   target_sums F64 [m, classes]   B = sum h y^T
 * with metadata fly.n_seen, fly.dirty and fly.lambda (the penalty in use).
 *
 * fly-ridge --lambda auto chooses lambda at the end of every task as RanPAC does (every fifth
 * sample of the task held out, the log grid 1e-8 .. 1e8 scored on it, then the held-out samples
 * join G and B); --lambda gcv chooses it by generalised cross-validation on all data seen, as
 * Fly-CL does (kenyon/ridge.h). The chosen lambda and the times are the task's note. With auto,
 * a prediction made in the middle of a task uses everything seen except the task's held-out
 * samples (they join at the task's end). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cl/fly_parts.h"
#include "cl/methods.h"
#include "kenyon/fly.h"
#include "kenyon/ridge.h"
#include "kenyon/safetensors.h"

#include <time.h>

#define CODE_CHUNK 4096

/* Codes of up to this many bytes of previously predicted inputs are kept (kenyon/fly.h). */
#define CODE_CACHE_BYTES ((size_t)256 << 20)

typedef struct fly_state {
    kn_fly_model fly;   /* encoder + fly/perceptron readout */
    int ridge;          /* 1: fly-ridge */
    kn_fly_ridge rr;
    kn_kc_cache cache;  /* codes of inputs predicted before */
    kn_kc_codes scratch;
    /* fly-ridge's lambda choice: 0 fixed, LAMBDA_AUTO (hold-out), LAMBDA_GCV. */
    int lambda_mode;
    float *hold;       /* held-out codes of the current task, dense (n_hold x m) */
    int32_t *y_hold;
    size_t n_hold, cap_hold, task_count;
    int32_t *y_keep;   /* labels of the kept samples of a chunk */
    double choice_seconds, solve_seconds;
} fly_state;

#define LAMBDA_AUTO 1
#define LAMBDA_GCV 2
#define HOLD_EVERY 5 /* every fifth sample of a task is held out (20%) */

/* Limits: m * c is capped at 2^34 by the encoder and k <= m is the method's cross check; c <= d
 * needs the data and is checked when the learner is built. */
#define KC_MAX_CELLS (1 << 24)
#define COMMON_PARAMS(kfrac)                                                                     \
    KN_PARAM_ROW_INT("m", "3200", 1, KC_MAX_CELLS, "number of Kenyon cells"),                   \
        KN_PARAM_ROW_INT("c", "10", 1, 1 << 16, "inputs per Kenyon cell (random, binary, fixed)"), \
        KN_PARAM_ROW_INT("k", "0", 0, KC_MAX_CELLS, "winners of the k-WTA (0: use --k-fraction)"), \
        KN_PARAM_ROW_REAL("k-fraction", kfrac, 0, 1, KN_PARAM_MIN_OPEN,                         \
                          "winners as a fraction of m (when --k is 0)")
#define LR_ROW(lr, help) KN_PARAM_ROW_REAL("lr", lr, 0, 1e6, KN_PARAM_MIN_OPEN, help)
#define CEILING_ROW(help) KN_PARAM_ROW_REAL("ceiling", "1", 0, 1e30, KN_PARAM_MIN_OPEN, help)

static const kn_param_spec fly_params[] = {
    COMMON_PARAMS("0.05"),
    LR_ROW("0.01", "learning rate"),
    KN_PARAM_ROW_REAL("beta", "0", 0, 1, KN_PARAM_MAX_OPEN,
                      "decay of the target row per sample, in [0, 1)"),
    CEILING_ROW("upper clip of the weights"),
    KN_PARAM_ROW_END,
};
#define PERCEPTRON_PARAMS(lr)                                                                    \
    {COMMON_PARAMS("0.05"), LR_ROW(lr, "learning rate"),                                         \
     CEILING_ROW("weights are clipped to [0, ceiling]"), KN_PARAM_ROW_END}
static const kn_param_spec v1_params[] = PERCEPTRON_PARAMS("0.1");
static const kn_param_spec v2_params[] = PERCEPTRON_PARAMS("2");
static const kn_param_spec v3_params[] = PERCEPTRON_PARAMS("0.001");
/* fly-ridge defaults to 10% winners: on class-balanced MNIST-20 pixels (5 seeds, lambda 10)
 * k 320 gave 0.871 final accuracy against 0.862 for the fly's 5% (k 160); lambda 1-100 moved it
 * by under 0.01. m stops at the ridge solver's limit (46000: its two m x m double matrices would
 * take 34 GB). */
static const kn_param_spec ridge_params[] = {
    KN_PARAM_ROW_INT("m", "3200", 1, 46000, "number of Kenyon cells"),
    KN_PARAM_ROW_INT("c", "10", 1, 1 << 16, "inputs per Kenyon cell (random, binary, fixed)"),
    KN_PARAM_ROW_INT("k", "0", 0, 46000, "winners of the k-WTA (0: use --k-fraction)"),
    KN_PARAM_ROW_REAL("k-fraction", "0.1", 0, 1, KN_PARAM_MIN_OPEN,
                      "winners as a fraction of m (when --k is 0)"),
    KN_PARAM_ROW_REAL_OR("lambda", "10", 0, 1e12, KN_PARAM_MIN_OPEN, "auto|gcv",
                         "ridge penalty in W = (G + lambda I)^-1 B; auto: chosen per task on a "
                         "20% hold-out; gcv: by generalised cross-validation"),
    KN_PARAM_ROW_END,
};

/* The cross check (no data): the winners fit among the cells, and the projection's size. */
static int fly_check(const kn_params *p, kn_error *err)
{
    int m, c, k;
    int rc;
    if ((rc = kn_params_int(p, "m", &m, err)) || (rc = kn_params_int(p, "c", &c, err)) ||
        (rc = kn_params_int(p, "k", &k, err)))
        return rc;
    if (k > m)
        return kn_fail(err, KN_EINVAL, "k (winners) cannot exceed m (number of Kenyon cells): "
                       "--k %d, --m %d", k, m);
    if ((size_t)m * (size_t)c > ((size_t)1 << 34))
        return kn_fail(err, KN_EINVAL, "--m %d x --c %d is too large (at most 2^34)", m, c);
    return 0;
}

static int rule_of(const kn_method *m)
{
    if (m == &kn_method_v1)
        return KN_FLY_RULE_V1;
    if (m == &kn_method_v2)
        return KN_FLY_RULE_V2;
    if (m == &kn_method_v3)
        return KN_FLY_RULE_V3;
    return KN_FLY_RULE_FLY;
}

/* Reads the resolved parameters into p (and lambda for fly-ridge). */
static int read_lambda(const kn_learner *l, double *lambda, int *mode, kn_error *err)
{
    const char *v = kn_learner_param(l, "lambda");
    *mode = 0;
    if (v && (strcmp(v, "auto") == 0 || strcmp(v, "gcv") == 0)) {
        *mode = v[0] == 'a' ? LAMBDA_AUTO : LAMBDA_GCV;
        *lambda = 10; /* until the first choice */
        return 0;
    }
    char *end = NULL;
    *lambda = v ? strtod(v, &end) : NAN;
    if (!v || end == v || *end || !(*lambda > 0) || !isfinite(*lambda))
        return kn_fail(err, KN_EINVAL,
                       "method %s: --lambda must be positive, auto or gcv (got '%s')",
                       l->method->name, v ? v : "");
    return 0;
}

static int read_params(kn_learner *l, kn_fly_params *p, double *lambda, kn_error *err)
{
    const char *mn = l->method->name;
    kn_fly_params_default(p, l->info.d);
    p->rule = (kn_fly_rule)rule_of(l->method);
    p->seed = l->info.seed;
    double kf, lr = 0, beta = 0, ceil = 1;
    int rc;
    if ((rc = kn_learner_param_int(l, "m", &p->m, err)) ||
        (rc = kn_learner_param_int(l, "c", &p->c, err)) ||
        (rc = kn_learner_param_int(l, "k", &p->k, err)) ||
        (rc = kn_learner_param_double(l, "k-fraction", &kf, err)))
        return rc;
    if (p->k < 0)
        return kn_fail(err, KN_EINVAL, "method %s: --k must be >= 1 (or 0 to use --k-fraction)",
                       mn);
    if (p->k == 0) {
        if (!(kf > 0 && kf <= 1))
            return kn_fail(err, KN_EINVAL, "method %s: --k-fraction must be in (0, 1] (got %g)",
                           mn, kf);
        double kk = floor(kf * p->m + 0.5);
        p->k = kk < 1 ? 1 : (int)kk;
    }
    if (l->method == &kn_method_fly_ridge) {
        int mode;
        if ((rc = read_lambda(l, lambda, &mode, err)))
            return rc;
    } else {
        if ((rc = kn_learner_param_double(l, "lr", &lr, err)) ||
            (rc = kn_learner_param_double(l, "ceiling", &ceil, err)))
            return rc;
        if (kn_learner_param(l, "beta") && (rc = kn_learner_param_double(l, "beta", &beta, err)))
            return rc;
        p->lr = (float)lr;
        p->beta = (float)beta;
        p->ceiling = (float)ceil;
    }
    const char *why = kn_fly_params_check(p);
    if (why)
        return kn_fail(err, KN_EINVAL,
                       "method %s: %s (d=%zu, --m %d, --c %d, k=%d, --lr %g, --beta %g, "
                       "--ceiling %g)",
                       mn, why, p->d, p->m, p->c, p->k, lr, beta, ceil);
    return 0;
}

static void fly_destroy(kn_learner *l)
{
    fly_state *s = l->impl;
    if (!s)
        return;
    kn_fly_model_free(&s->fly);
    kn_fly_ridge_free(&s->rr);
    kn_kc_cache_free(&s->cache);
    kn_kc_codes_free(&s->scratch);
    free(s->hold);
    free(s->y_hold);
    free(s->y_keep);
    free(s);
    l->impl = NULL;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Moves every fifth sample of the task (lambda auto) from codes into the dense hold-out buffer
 * and compacts the rest; their labels go to s->y_keep. */
static int hold_out(fly_state *s, kn_kc_codes *codes, const int32_t *y, kn_error *err)
{
    const size_t m = (size_t)s->fly.p.m, k = (size_t)codes->k;
    size_t kept = 0;
    for (size_t i = 0; i < codes->n; i++) {
        if (s->task_count++ % HOLD_EVERY != HOLD_EVERY - 1) {
            if (kept != i) {
                memmove(codes->cells + kept * k, codes->cells + i * k, k * sizeof *codes->cells);
                memmove(codes->values + kept * k, codes->values + i * k,
                        k * sizeof *codes->values);
                codes->nnz[kept] = codes->nnz[i];
            }
            s->y_keep[kept++] = y[i];
            continue;
        }
        if (s->n_hold == s->cap_hold) {
            size_t cap = s->cap_hold ? 2 * s->cap_hold : 256;
            float *nh = realloc(s->hold, cap * m * sizeof *nh);
            if (nh)
                s->hold = nh;
            int32_t *ny = nh ? realloc(s->y_hold, cap * sizeof *ny) : NULL;
            if (!nh || !ny)
                return kn_fail(err, KN_ENOMEM, "fly-ridge: out of memory holding out %zu codes",
                               cap);
            s->y_hold = ny;
            s->cap_hold = cap;
        }
        float *row = s->hold + s->n_hold * m;
        memset(row, 0, m * sizeof *row);
        for (int j = 0; j < codes->nnz[i]; j++)
            row[codes->cells[i * k + (size_t)j]] = codes->values[i * k + (size_t)j];
        s->y_hold[s->n_hold++] = y[i];
    }
    codes->n = kept;
    return 0;
}

static int fly_observe(kn_learner *l, const float *x, const int32_t *y, size_t n, kn_error *err)
{
    fly_state *s = l->impl;
    if (!s->ridge)
        return kn_fly_learn(&s->fly, x, y, n, l->seen, err);
    kn_kc_codes codes;
    size_t cap = n < CODE_CHUNK ? n : CODE_CHUNK;
    int rc = kn_kc_codes_alloc(&codes, cap, s->fly.p.k, err);
    if (!rc && s->lambda_mode == LAMBDA_AUTO && !s->y_keep) {
        s->y_keep = malloc(CODE_CHUNK * sizeof *s->y_keep);
        if (!s->y_keep)
            rc = kn_fail(err, KN_ENOMEM, "fly-ridge: out of memory");
    }
    for (size_t st = 0; !rc && st < n; st += cap) {
        size_t b = n - st < cap ? n - st : cap;
        rc = kn_kc_encode(&s->fly.enc, x + st * l->info.d, b, &codes, err);
        for (size_t i = 0; !rc && i < b; i++)
            if (y[st + i] < 0 || y[st + i] >= l->info.n_classes)
                rc = kn_fail(err, KN_EINVAL, "fly-ridge: label %d of sample %zu outside [0, %d)",
                             (int)y[st + i], st + i, l->info.n_classes);
        if (!rc && s->lambda_mode == LAMBDA_AUTO) {
            rc = hold_out(s, &codes, y + st, err);
            if (!rc)
                rc = kn_fly_ridge_accumulate(&s->rr, &codes, s->y_keep, err);
        } else if (!rc)
            rc = kn_fly_ridge_accumulate(&s->rr, &codes, y + st, err);
    }
    kn_kc_codes_free(&codes);
    return rc;
}

static int fly_begin(kn_learner *l, int task, const int32_t *classes, int n, kn_error *err)
{
    (void)task, (void)classes, (void)n, (void)err;
    fly_state *s = l->impl;
    s->n_hold = 0;
    s->task_count = 0;
    return 0;
}

/* fly-ridge: chooses lambda (auto, gcv) and solves, timing both for the task's note. */
static int fly_end(kn_learner *l, kn_error *err)
{
    fly_state *s = l->impl;
    if (!s->ridge)
        return 0;
    kn_fly_ridge *r = &s->rr;
    const size_t m = (size_t)r->m, C = (size_t)r->n_classes;
    kn_fly_ridge_flush(r); /* the choices read G */
    s->choice_seconds = 0;
    int rc = 0;
    if (s->lambda_mode && !r->factor) {
        r->factor = calloc(m * m, sizeof *r->factor); /* zero: see kenyon/fly.h */
        if (!r->factor)
            return kn_fail(err, KN_ENOMEM, "fly-ridge: out of memory for the Cholesky factor");
    }
    kn_ridge_choice ch = {0};
    if (s->lambda_mode == LAMBDA_AUTO && s->n_hold > 0) {
        rc = kn_ridge_choose_holdout(r->g, r->b, m, C, s->hold, s->y_hold, s->n_hold, l->seen,
                                     r->factor, &ch, err);
        /* The held-out codes join G and B. */
        kn_kc_codes codes;
        if (!rc)
            rc = kn_kc_codes_alloc(&codes, s->n_hold, s->fly.p.k, err);
        if (!rc) {
            const size_t k = (size_t)codes.k;
            for (size_t i = 0; i < s->n_hold; i++) {
                int q = 0;
                for (size_t j = 0; j < m && q < codes.k; j++)
                    if (s->hold[i * m + j] > 0) {
                        codes.cells[i * k + (size_t)q] = (int32_t)j;
                        codes.values[i * k + (size_t)q++] = s->hold[i * m + j];
                    }
                codes.nnz[i] = q;
            }
            codes.n = s->n_hold;
            rc = kn_fly_ridge_accumulate(r, &codes, s->y_hold, err);
            kn_kc_codes_free(&codes);
        }
        s->n_hold = 0;
    } else if (s->lambda_mode == LAMBDA_GCV && r->n_seen > 0) {
        rc = kn_ridge_choose_gcv(r->g, r->b, m, C, (double)r->n_seen, r->factor, &ch, err);
    }
    if (rc)
        return rc;
    if (ch.n_tried) {
        r->lambda = ch.lambda;
        s->choice_seconds = ch.seconds;
        r->dirty = r->n_seen > 0;
    }
    double t0 = now_seconds();
    rc = kn_fly_ridge_solve(r, err);
    s->solve_seconds = now_seconds() - t0;
    return rc;
}

static int fly_note(const kn_learner *l, char *buf, size_t cap)
{
    const fly_state *s = l->impl;
    if (!s->ridge)
        return snprintf(buf, cap, "%s", "");
    return snprintf(buf, cap, "lambda %g (choice %.2f s, solve %.2f s)", s->rr.lambda,
                    s->choice_seconds, s->solve_seconds);
}

static int fly_predict(kn_learner *l, const float *x, size_t n, float *scores, kn_error *err)
{
    fly_state *s = l->impl;
    int rc = s->ridge ? kn_fly_ridge_solve(&s->rr, err) : 0;
    const float *w = s->ridge ? s->rr.w : s->fly.w;
    const size_t C = (size_t)l->info.n_classes;
    for (size_t st = 0; !rc && st < n; st += CODE_CHUNK) {
        size_t b = n - st < CODE_CHUNK ? n - st : CODE_CHUNK;
        const kn_kc_codes *codes;
        rc = kn_kc_cache_encode(&s->cache, &s->fly.enc, x + st * l->info.d, b, &s->scratch,
                                &codes, err);
        if (!rc)
            kn_kc_scores(codes, w, (int)C, scores + st * C);
    }
    return rc;
}

static int fly_save(const kn_learner *l, const char *path, kn_error *err)
{
    fly_state *s = l->impl; /* not const: the save flushes the pending codes into G */
    if (s->ridge)
        kn_fly_ridge_flush(&s->rr);
    const kn_fly_params *p = &s->fly.p;
    const size_t m = (size_t)p->m, C = (size_t)l->info.n_classes;
    kn_st_writer w;
    kn_st_writer_init(&w);
    double *packed = NULL;
    int rc = kn_learner_write_common(l, &w, err);
    size_t sh_in[2] = {m, (size_t)p->c}, sh_w[2] = {m, C};
    if (!rc)
        rc = kn_st_writer_meta_fmt(&w, "fly.k", err, "%d", p->k);
    if (!rc)
        rc = kn_st_writer_add(&w, "kc_inputs", KN_ST_I32, 2, sh_in, s->fly.enc.inputs, err);
    if (!rc)
        rc = kn_st_writer_add(&w, "readout", KN_ST_F32, 2, sh_w, s->ridge ? s->rr.w : s->fly.w,
                              err);
    if (!rc && s->ridge)
        rc = kn_fly_ridge_add_tensors(&w, &s->rr, &packed, path, err);
    if (!rc)
        rc = kn_st_writer_write(&w, path, err);
    free(packed);
    kn_st_writer_free(&w);
    return rc;
}

static const kn_learner_ops fly_ops = {
    .begin_task = fly_begin,
    .observe = fly_observe,
    .end_task = fly_end,
    .predict_scores = fly_predict,
    .save = fly_save,
    .destroy = fly_destroy,
    .task_note = fly_note,
};

static int fly_create(kn_learner *l, kn_error *err)
{
    kn_fly_params p;
    double lambda = 0;
    int rc = read_params(l, &p, &lambda, err);
    if (rc)
        return rc;
    fly_state *s = calloc(1, sizeof *s);
    if (!s)
        return kn_fail(err, KN_ENOMEM, "method %s: out of memory", l->method->name);
    l->impl = s;
    l->ops = &fly_ops; /* destroy handles a partly built state */
    kn_kc_cache_init(&s->cache, CODE_CACHE_BYTES);
    s->ridge = l->method == &kn_method_fly_ridge;
    if (s->ridge && ((rc = read_lambda(l, &lambda, &s->lambda_mode, err)) ||
                     (rc = kn_ridge_check_memory("method fly-ridge", "m", (size_t)p.m,
                                                 (size_t)l->info.n_classes,
                                                 kn_fly_ridge_buffer_bytes((size_t)p.m),
                                                 FLY_BUFFER_WHAT, err))))
        return rc;
    rc = kn_fly_model_init(&s->fly, &p, l->info.n_classes, err);
    if (!rc && s->ridge)
        rc = kn_fly_ridge_init(&s->rr, p.m, l->info.n_classes, lambda, err);
    return rc;
}

int kn_fly_read_finite(const kn_st_file *f, const kn_st_tensor *t, size_t first, size_t n,
                       void *dst, kn_error *err)
{
    const size_t es = kn_st_dtype_size(t->dtype);
    int rc = kn_st_tensor_read_range(f, t, first * es, n * es, dst, err);
    for (size_t i = 0; !rc && i < n; i++) {
        double v = t->dtype == KN_ST_F64 ? ((const double *)dst)[i] : ((const float *)dst)[i];
        if (!isfinite(v))
            rc = kn_fail(err, KN_EFORMAT, "%s: %s[%zu] is not finite", f->source, t->name,
                         first + i);
    }
    return rc;
}

/* The learner's state around a projection read from a file: no random projection is drawn only
 * to be replaced. Every tensor is read once, straight into the array it lives in. */
static int fly_load(kn_learner *l, const kn_st_file *f, kn_error *err)
{
    kn_fly_params p;
    double lambda = 0;
    int rc = read_params(l, &p, &lambda, err);
    if (rc)
        return rc;
    /* Check every tensor's shape against the parameters before allocating anything, so a file
     * cannot make us allocate more than it could possibly describe. */
    const int ridge = l->method == &kn_method_fly_ridge;
    const size_t m = (size_t)p.m, c = (size_t)p.c, C = (size_t)l->info.n_classes;
    size_t sh_in[2] = {m, c}, sh_w[2] = {m, C};
    const kn_st_tensor *tin, *tw;
    int64_t kfile;
    if ((rc = kn_st_meta_int64(f, "fly.k", &kfile, err)) ||
        (rc = kn_st_expect(f, "kc_inputs", KN_ST_I32, 2, sh_in, &tin, err)) ||
        (rc = kn_st_expect(f, "readout", KN_ST_F32, 2, sh_w, &tw, err)))
        return rc;
    if (kfile != p.k)
        return kn_fail(err, KN_EFORMAT, "%s: fly.k = %lld disagrees with the parameters (k = %d)",
                       f->source, (long long)kfile, p.k);
    int32_t *ins = malloc(m * c * sizeof *ins);
    if (!ins)
        return kn_fail(err, KN_ENOMEM, "%s: out of memory for the projection", f->source);
    rc = kn_st_tensor_read(f, tin, ins, err);
    for (size_t i = 0; !rc && i < m * c; i++)
        if (ins[i] < 0)
            rc = kn_fail(err, KN_EFORMAT, "%s: kc_inputs[%zu] = %d is negative", f->source, i,
                         (int)ins[i]);
    fly_state *s = NULL;
    if (!rc) {
        s = calloc(1, sizeof *s);
        if (!s)
            rc = kn_fail(err, KN_ENOMEM, "method %s: out of memory", l->method->name);
    }
    if (!rc) {
        l->impl = s;
        l->ops = &fly_ops; /* destroy handles a partly built state */
        kn_kc_cache_init(&s->cache, CODE_CACHE_BYTES);
        s->ridge = ridge;
        s->fly.p = p;
        s->fly.n_classes = l->info.n_classes;
        rc = kn_kc_encoder_init_inputs(&s->fly.enc, l->info.d, p.m, p.c, p.k,
                                       (const uint32_t *)ins, err);
        if (rc) {
            char inner[KN_ERROR_MSG_MAX];
            snprintf(inner, sizeof inner, "%s", err ? err->msg : "");
            rc = kn_fail(err, KN_EFORMAT, "%s: kc_inputs: %s", f->source, inner);
        }
    }
    free(ins);
    if (!rc && !ridge) {
        s->fly.w = malloc(m * C * sizeof *s->fly.w);
        if (!s->fly.w)
            rc = kn_fail(err, KN_ENOMEM, "FlyModel: out of memory for %d x %d weights", p.m,
                         l->info.n_classes);
    }
    if (!rc && ridge && !(rc = read_lambda(l, &lambda, &s->lambda_mode, err)) &&
        !(rc = kn_ridge_check_memory("method fly-ridge", "m", m, C, kn_fly_ridge_buffer_bytes(m),
                                     FLY_BUFFER_WHAT, err)))
        rc = kn_fly_ridge_init(&s->rr, p.m, l->info.n_classes, lambda, err);
    if (!rc)
        rc = kn_fly_read_finite(f, tw, 0, m * C, ridge ? s->rr.w : s->fly.w, err);
    if (!rc && ridge)
        rc = kn_fly_ridge_read_tensors(f, &s->rr, 0, err);
    return rc;
}

const kn_method kn_method_fly = {"fly", "FlyModel: KC code + partial-freezing associative rule (V4)",
                                 fly_params, fly_create, fly_load, fly_check};
const kn_method kn_method_v1 = {"v1", "classic perceptron on the KC code (paper's V1)", v1_params,
                                fly_create, fly_load, fly_check};
const kn_method kn_method_v2 = {"v2", "perceptron, raise target row on mistakes (paper's V2)",
                                v2_params, fly_create, fly_load, fly_check};
const kn_method kn_method_v3 = {"v3", "always raise target, lower wrong row on mistakes (V3)",
                                v3_params, fly_create, fly_load, fly_check};
const kn_method kn_method_fly_ridge = {"fly-ridge",
                                       "streaming ridge regression readout on the KC code",
                                       ridge_params, fly_create, fly_load, fly_check};

int kn_fly_learner_parts(kn_learner *l, kn_fly_model **fly, kn_fly_ridge **ridge, kn_error *err)
{
    const kn_method *m = l->method;
    if (m != &kn_method_fly && m != &kn_method_v1 && m != &kn_method_v2 && m != &kn_method_v3 &&
        m != &kn_method_fly_ridge)
        return kn_fail(err, KN_EINVAL, "method %s is not a FlyModel learner", m->name);
    fly_state *s = l->impl;
    *fly = &s->fly;
    *ridge = s->ridge ? &s->rr : NULL;
    return 0;
}
