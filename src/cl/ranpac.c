/* The `ranpac` learner: the closed-form stage of RanPAC (McDonnell, Gong, Parvaneh, Abbasnejad &
 * van den Hengel, "RanPAC: random projections and pre-trained models for continual learning",
 * NeurIPS 2023) on the given features x (d): a fixed dense Gaussian projection P (d x M, entries
 * N(0, 1), default M 10000), h = ReLU(x P), streaming G = sum h h^T and B = sum h y^T (one-hot
 * y), readout W = (G + lambda I)^-1 B.
 *
 * lambda "auto" (the default) is RanPAC's choice, made at the end of every task: every fifth
 * training sample of the task is held out, each lambda of the log grid 10^-8 ... 10^8 is fitted
 * on everything else seen so far and scored on the held-out 20% (kenyon/ridge.h), and then the
 * held-out samples join G and B, so the final readout is the ridge solution on all data seen at
 * the chosen lambda. (The authors fit the grid on the current task's data alone; fitting on all
 * data but the held-out part scores the readout that will actually be used.) A number instead of
 * "auto" fixes lambda. A prediction in the middle of a task uses everything seen except the
 * task's held-out samples.
 *
 * G and B are summed in double (the authors' code sums in float32). G is added a block of
 * samples at a time with dsyrk into the lower triangle of the column-major M x M array, i.e. the
 * upper triangle of the row-major array kenyon/ridge.h expects. Memory: G and one Cholesky
 * factor (2 M^2 doubles: 1.6 GB at M 10000, 6.4 GB at M 20000); a clear error names the need
 * when the machine has less.
 *
 * Model file (safetensors): the common learner metadata (kenyon/learner.h) plus
 *   projection  F32 [d, M]            P
 *   gram_upper  F64 [M (M + 1) / 2]   upper triangle of G, row by row
 *   target_sums F64 [M, classes]      B
 *   readout     F32 [M, classes]      W of the last solve
 * with metadata ranpac.lambda (the lambda in use), ranpac.n_seen and ranpac.dirty. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cl/methods.h"
#include "kenyon/ridge.h"
#include "kenyon/rng.h"
#include "kenyon/safetensors.h"

#define BLOCK 256      /* samples per dsyrk */
#define PRED_CHUNK 512 /* samples per prediction block */
#define HOLD_EVERY 5   /* every fifth sample of a task is held out (20%) */
#define PROJ_STREAM 0x72616e70ull

typedef struct ranpac_state {
    size_t M;
    int auto_lambda;
    double lambda;
    float *proj;      /* d x M */
    double *g;        /* M x M */
    double *b;        /* M x C */
    float *w;         /* M x C */
    double *factor;   /* M x M workspace */
    double *rhs;      /* M x C workspace */
    float *xb;        /* BLOCK x d: rows waiting to be added */
    size_t nb;
    int32_t yb[BLOCK];
    float *hf;        /* BLOCK x M float features */
    double *hd;       /* BLOCK x M double features */
    float *x_hold;    /* held-out rows of the current task */
    int32_t *y_hold;
    size_t n_hold, cap_hold, task_count;
    size_t n_seen;
    int dirty;
    double last_choice_seconds, last_solve_seconds;
} ranpac_state;

static const kn_param_spec ranpac_params[] = {
    KN_PARAM_ROW_INT("M", "10000", 1, 46000,
                     "random features (columns of the Gaussian projection)"),
    KN_PARAM_ROW_REAL_OR("lambda", "auto", 0, 1e12, KN_PARAM_MIN_OPEN, "auto",
                         "ridge penalty, or auto: chosen per task on a held-out 20% "
                         "(log grid 1e-8 .. 1e8)"),
    KN_PARAM_ROW_END,
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* hf = ReLU(x P) for n rows. */
static void features(const ranpac_state *s, size_t d, const float *x, size_t n, float *hf)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)s->M, (int)d, 1.0f, x,
                (int)d, s->proj, (int)s->M, 0.0f, hf, (int)s->M);
    for (size_t q = 0; q < n * s->M; q++)
        if (!(hf[q] > 0))
            hf[q] = 0;
}

/* Adds the waiting rows to G and B. */
static void flush(kn_learner *l)
{
    ranpac_state *s = l->impl;
    if (!s->nb)
        return;
    const size_t M = s->M, C = (size_t)l->info.n_classes;
    features(s, l->info.d, s->xb, s->nb, s->hf);
    for (size_t q = 0; q < s->nb * M; q++)
        s->hd[q] = s->hf[q];
    cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, (int)M, (int)s->nb, 1.0, s->hd, (int)M,
                1.0, s->g, (int)M);
    for (size_t r = 0; r < s->nb; r++) {
        const double *h = s->hd + r * M;
        const size_t c = (size_t)s->yb[r];
        for (size_t j = 0; j < M; j++)
            s->b[j * C + c] += h[j];
    }
    s->n_seen += s->nb;
    s->nb = 0;
    s->dirty = 1;
}

static void add_row(kn_learner *l, const float *x, int32_t y)
{
    ranpac_state *s = l->impl;
    memcpy(s->xb + s->nb * l->info.d, x, l->info.d * sizeof *x);
    s->yb[s->nb++] = y;
    if (s->nb == BLOCK)
        flush(l);
}

static int ranpac_begin(kn_learner *l, int task, const int32_t *classes, int n, kn_error *err)
{
    (void)task;
    (void)classes;
    (void)n;
    (void)err;
    ranpac_state *s = l->impl;
    s->n_hold = 0;
    s->task_count = 0;
    return 0;
}

static int ranpac_observe(kn_learner *l, const float *x, const int32_t *y, size_t n,
                          kn_error *err)
{
    ranpac_state *s = l->impl;
    const size_t d = l->info.d;
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= l->info.n_classes)
            return kn_fail(err, KN_EINVAL, "ranpac: label %d of sample %zu outside [0, %d)",
                           (int)y[i], i, l->info.n_classes);
    for (size_t i = 0; i < n; i++) {
        int hold = s->auto_lambda && s->task_count++ % HOLD_EVERY == HOLD_EVERY - 1;
        if (!hold) {
            add_row(l, x + i * d, y[i]);
            continue;
        }
        if (s->n_hold == s->cap_hold) {
            size_t cap = s->cap_hold ? 2 * s->cap_hold : 1024;
            float *nx = realloc(s->x_hold, cap * d * sizeof *nx);
            if (nx)
                s->x_hold = nx;
            int32_t *ny = nx ? realloc(s->y_hold, cap * sizeof *ny) : NULL;
            if (!nx || !ny)
                return kn_fail(err, KN_ENOMEM, "ranpac: out of memory holding out %zu samples",
                               cap);
            s->y_hold = ny;
            s->cap_hold = cap;
        }
        memcpy(s->x_hold + s->n_hold * d, x + i * d, d * sizeof *x);
        s->y_hold[s->n_hold++] = y[i];
    }
    return 0;
}

static int solve(kn_learner *l, kn_error *err)
{
    ranpac_state *s = l->impl;
    flush(l);
    if (!s->dirty)
        return 0;
    double t0 = now_seconds();
    int rc = kn_ridge_solve(s->g, s->b, s->M, (size_t)l->info.n_classes, s->lambda, s->factor,
                            s->rhs, s->w, err);
    s->last_solve_seconds = now_seconds() - t0;
    if (!rc)
        s->dirty = 0;
    return rc;
}

static int ranpac_end(kn_learner *l, kn_error *err)
{
    ranpac_state *s = l->impl;
    const size_t d = l->info.d, M = s->M;
    flush(l);
    s->last_choice_seconds = 0;
    if (s->auto_lambda && s->n_hold > 0) {
        float *hh = malloc(s->n_hold * M * sizeof *hh);
        if (!hh)
            return kn_fail(err, KN_ENOMEM,
                           "ranpac: out of memory for the features of %zu held-out samples",
                           s->n_hold);
        features(s, d, s->x_hold, s->n_hold, hh);
        kn_ridge_choice ch;
        int rc = kn_ridge_choose_holdout(s->g, s->b, M, (size_t)l->info.n_classes, hh,
                                         s->y_hold, s->n_hold, l->seen, s->factor, &ch, err);
        free(hh);
        if (rc)
            return rc;
        s->lambda = ch.lambda;
        s->last_choice_seconds = ch.seconds;
        for (size_t i = 0; i < s->n_hold; i++)
            add_row(l, s->x_hold + i * d, s->y_hold[i]);
        s->n_hold = 0;
    }
    s->dirty = 1;
    return solve(l, err);
}

static int ranpac_predict(kn_learner *l, const float *x, size_t n, float *scores, kn_error *err)
{
    ranpac_state *s = l->impl;
    int rc = solve(l, err);
    if (rc)
        return rc;
    const size_t d = l->info.d, C = (size_t)l->info.n_classes;
    float *h = malloc((n < PRED_CHUNK ? n : PRED_CHUNK) * s->M * sizeof *h + 1);
    if (!h)
        return kn_fail(err, KN_ENOMEM, "ranpac: out of memory for prediction features");
    for (size_t st = 0; st < n; st += PRED_CHUNK) {
        size_t bsz = n - st < PRED_CHUNK ? n - st : PRED_CHUNK;
        features(s, d, x + st * d, bsz, h);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)bsz, (int)C, (int)s->M, 1.0f,
                    h, (int)s->M, s->w, (int)C, 0.0f, scores + st * C, (int)C);
    }
    free(h);
    return 0;
}

static int ranpac_note(const kn_learner *l, char *buf, size_t cap)
{
    const ranpac_state *s = l->impl;
    return snprintf(buf, cap, "lambda %g (choice %.2f s, solve %.2f s)", s->lambda,
                    s->last_choice_seconds, s->last_solve_seconds);
}

static int ranpac_save(const kn_learner *l, const char *path, kn_error *err)
{
    const ranpac_state *s = l->impl;
    const size_t M = s->M, C = (size_t)l->info.n_classes, d = l->info.d;
    if (s->nb)
        return kn_fail(err, KN_ESTATE, "ranpac: internal: rows not added before save");
    size_t np = M * (M + 1) / 2, q = 0;
    double *packed = malloc(np * sizeof *packed);
    if (!packed)
        return kn_fail(err, KN_ENOMEM, "%s: out of memory packing the Gram matrix", path);
    /* Column-major lower = row-major upper: row i of the upper triangle is g[i*M + j], j >= i. */
    for (size_t i = 0; i < M; i++)
        for (size_t j = i; j < M; j++)
            packed[q++] = s->g[i * M + j];
    kn_st_writer w;
    kn_st_writer_init(&w);
    size_t sh_p[2] = {d, M}, sh_g[1] = {np}, sh_b[2] = {M, C};
    int rc = kn_learner_write_common(l, &w, err);
    if (!rc)
        rc = kn_st_writer_add(&w, "projection", KN_ST_F32, 2, sh_p, s->proj, err);
    if (!rc)
        rc = kn_st_writer_add(&w, "gram_upper", KN_ST_F64, 1, sh_g, packed, err);
    if (!rc)
        rc = kn_st_writer_add(&w, "target_sums", KN_ST_F64, 2, sh_b, s->b, err);
    if (!rc)
        rc = kn_st_writer_add(&w, "readout", KN_ST_F32, 2, sh_b, s->w, err);
    if (!rc)
        rc = kn_st_writer_meta_fmt(&w, "ranpac.lambda", err, "%.17g", s->lambda);
    if (!rc)
        rc = kn_st_writer_meta_fmt(&w, "ranpac.n_seen", err, "%zu", s->n_seen);
    if (!rc)
        rc = kn_st_writer_meta_fmt(&w, "ranpac.dirty", err, "%d", s->dirty);
    if (!rc)
        rc = kn_st_writer_write(&w, path, err);
    kn_st_writer_free(&w);
    free(packed);
    return rc;
}

static void ranpac_destroy(kn_learner *l)
{
    ranpac_state *s = l->impl;
    if (!s)
        return;
    free(s->proj);
    free(s->g);
    free(s->b);
    free(s->w);
    free(s->factor);
    free(s->rhs);
    free(s->xb);
    free(s->hf);
    free(s->hd);
    free(s->x_hold);
    free(s->y_hold);
    free(s);
    l->impl = NULL;
}

static const kn_learner_ops ranpac_ops = {
    .begin_task = ranpac_begin,
    .observe = ranpac_observe,
    .end_task = ranpac_end,
    .predict_scores = ranpac_predict,
    .save = ranpac_save,
    .destroy = ranpac_destroy,
    .task_note = ranpac_note,
};

/* Reads --lambda: "auto" or a positive number. */
static int read_lambda(const kn_learner *l, int *is_auto, double *lambda, kn_error *err)
{
    const char *v = kn_learner_param(l, "lambda");
    *is_auto = 0;
    *lambda = 10;
    if (v && strcmp(v, "auto") == 0) {
        *is_auto = 1;
        return 0;
    }
    char *end = NULL;
    double x = v ? strtod(v, &end) : NAN;
    if (!v || end == v || *end || !(x > 0) || !isfinite(x))
        return kn_fail(err, KN_EINVAL,
                       "method %s: --lambda must be a positive number or auto (got '%s')",
                       l->method->name, v ? v : "");
    *lambda = x;
    return 0;
}

/* Allocates the state; draw: also draws the projection (not when a file provides it). */
static int ranpac_build(kn_learner *l, int draw, kn_error *err)
{
    int M, rc;
    if ((rc = kn_learner_param_int(l, "M", &M, err)))
        return rc;
    int is_auto;
    double lambda;
    if ((rc = read_lambda(l, &is_auto, &lambda, err)))
        return rc;
    if (M < 1)
        return kn_fail(err, KN_EINVAL, "method ranpac: --M must be at least 1 (got %d)", M);
    const size_t C = (size_t)l->info.n_classes, d = l->info.d, Ms = (size_t)M;
    if ((rc = kn_ridge_check_memory("method ranpac", "M", Ms, C, 0, NULL, err)))
        return rc;
    ranpac_state *s = calloc(1, sizeof *s);
    if (!s)
        return kn_fail(err, KN_ENOMEM, "method ranpac: out of memory");
    l->impl = s;
    l->ops = &ranpac_ops;
    s->M = Ms;
    s->auto_lambda = is_auto;
    s->lambda = lambda;
    s->proj = malloc(d * Ms * sizeof *s->proj);
    s->g = calloc(Ms * Ms, sizeof *s->g);
    s->factor = malloc(Ms * Ms * sizeof *s->factor);
    s->b = calloc(Ms * C, sizeof *s->b);
    s->w = calloc(Ms * C, sizeof *s->w);
    s->rhs = malloc(Ms * C * sizeof *s->rhs);
    s->xb = malloc(BLOCK * d * sizeof *s->xb);
    s->hf = malloc(BLOCK * Ms * sizeof *s->hf);
    s->hd = malloc(BLOCK * Ms * sizeof *s->hd);
    if (!s->proj || !s->g || !s->factor || !s->b || !s->w || !s->rhs || !s->xb || !s->hf ||
        !s->hd)
        return kn_fail(err, KN_ENOMEM,
                       "method ranpac: out of memory for M=%d (needs about %.1f GB)", M,
                       kn_ridge_bytes(Ms, C) / 1e9);
    if (draw) {
        kn_rng rng;
        kn_rng_stream(&rng, l->info.seed, PROJ_STREAM);
        for (size_t q = 0; q < d * Ms; q++)
            s->proj[q] = (float)kn_rng_normal(&rng);
    }
    return 0;
}

static int ranpac_create(kn_learner *l, kn_error *err) { return ranpac_build(l, 1, err); }

static int ranpac_load(kn_learner *l, const kn_st_file *f, kn_error *err)
{
    const char *path = f->source;
    int M, rc;
    if ((rc = kn_learner_param_int(l, "M", &M, err)))
        return rc;
    if (M < 1)
        return kn_fail(err, KN_EINVAL, "%s: --M must be at least 1 (got %d)", path, M);
    const size_t C = (size_t)l->info.n_classes, d = l->info.d, Ms = (size_t)M;
    size_t sh_p[2] = {d, Ms}, sh_g[1] = {Ms * (Ms + 1) / 2}, sh_b[2] = {Ms, C};
    const kn_st_tensor *tp, *tg, *tb, *tw;
    double lambda;
    uint64_t n_seen;
    int64_t dirty;
    if ((rc = kn_st_expect(f, "projection", KN_ST_F32, 2, sh_p, &tp, err)) ||
        (rc = kn_st_expect(f, "gram_upper", KN_ST_F64, 1, sh_g, &tg, err)) ||
        (rc = kn_st_expect(f, "target_sums", KN_ST_F64, 2, sh_b, &tb, err)) ||
        (rc = kn_st_expect(f, "readout", KN_ST_F32, 2, sh_b, &tw, err)) ||
        (rc = kn_st_meta_double(f, "ranpac.lambda", &lambda, err)) ||
        (rc = kn_st_meta_uint64(f, "ranpac.n_seen", &n_seen, err)) ||
        (rc = kn_st_meta_int64(f, "ranpac.dirty", &dirty, err)))
        goto done;
    if (!(lambda > 0) || !isfinite(lambda)) {
        rc = kn_fail(err, KN_EFORMAT, "%s: ranpac.lambda = %g is not a positive number", path,
                     lambda);
        goto done;
    }
    /* Shapes checked: every tensor is read once, straight into the state, and checked there. */
    if ((rc = ranpac_build(l, 0, err)))
        goto done;
    ranpac_state *s = l->impl;
    if ((rc = kn_st_tensor_read(f, tp, s->proj, err)) ||
        (rc = kn_st_tensor_read(f, tb, s->b, err)) || (rc = kn_st_tensor_read(f, tw, s->w, err)))
        goto done;
    /* The packed upper triangle, row by row, into the upper part of each row of G. */
    for (size_t i = 0, q = 0; !rc && i < Ms; q += Ms - i, i++)
        rc = kn_st_tensor_read_range(f, tg, q * sizeof(double), (Ms - i) * sizeof(double),
                                     s->g + i * Ms + i, err);
    if (rc)
        goto done;
    for (size_t q = 0; q < d * Ms; q++)
        if (!isfinite(s->proj[q])) {
            rc = kn_fail(err, KN_EFORMAT, "%s: projection[%zu] is not finite", path, q);
            goto done;
        }
    for (size_t i = 0; i < Ms; i++)
        for (size_t j = i; j < Ms; j++)
            if (!isfinite(s->g[i * Ms + j])) {
                rc = kn_fail(err, KN_EFORMAT, "%s: gram_upper holds a non-finite value (row %zu)",
                             path, i);
                goto done;
            }
    for (size_t q = 0; q < Ms * C; q++)
        if (!isfinite(s->b[q]) || !isfinite(s->w[q])) {
            rc = kn_fail(err, KN_EFORMAT, "%s: target_sums or readout [%zu] is not finite", path,
                         q);
            goto done;
        }
    s->lambda = lambda;
    s->n_seen = (size_t)n_seen;
    s->dirty = dirty != 0;
done:
    return rc;
}

const kn_method kn_method_ranpac = {
    "ranpac", "RanPAC: Gaussian projection + ReLU + streaming ridge, lambda per task",
    ranpac_params, ranpac_create, ranpac_load, NULL};
