/* Outputs of `kenyon dynamics train`: train_run<i>.csv (per step: |delta|^2, |theta - theta_0|^2,
 * |theta|, theta . theta_0, batch loss), summary.json, and figures: log-log |theta_k - theta_0|^2
 * with the fitted power laws and a Brownian (slope 1) line, and |delta_k|^2 (window means) per
 * run against the eta^2/(S(1-beta^2)) law scaled to the first run. */
#include "dynamics_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/fileio.h"
#include "kenyon/plot.h"

static int write_run_csv(const char *path, const kn_dyn_train_run *run, kn_error *err)
{
    kn_atomic_file af;
    int rc = kn_atomic_open(&af, path, err);
    if (rc)
        return rc;
    fprintf(af.fp, "step,delta_sq,disp_sq,norm,dot_theta0,batch_loss\n");
    for (size_t k = 0; k < run->steps; k++)
        fprintf(af.fp, "%zu,%.10g,%.10g,%.10g,%.10g,%.8g\n", k + 1, run->delta_sq[k],
                run->disp_sq[k], run->norm[k], run->dot[k], run->loss[k]);
    return kn_atomic_commit(&af, err);
}

static int write_projection_csv(const char *path, const kn_dyn_train_run *run, int hk,
                                kn_error *err)
{
    kn_atomic_file af;
    int rc = kn_atomic_open(&af, path, err);
    if (rc)
        return rc;
    fprintf(af.fp, "step");
    for (int j = 0; j < hk; j++)
        fprintf(af.fp, ",position_%d,velocity_%d", j + 1, j + 1);
    fputc('\n', af.fp);
    for (size_t k = 0; k < run->steps; k++) {
        fprintf(af.fp, "%zu", k + 1);
        for (int j = 0; j < hk; j++)
            fprintf(af.fp, ",%.10g,%.10g", run->proj[k * (size_t)hk + j],
                    run->proj_vel[k * (size_t)hk + j]);
        fputc('\n', af.fp);
    }
    return kn_atomic_commit(&af, err);
}

/* Phase portraits of run 1 along the top Hessian eigenvectors over its first 400 steps, each axis
 * scaled by its root mean square over those steps. */
static int plot_projection(const char *path, const kn_dyn_train_result *r, kn_error *err)
{
    const kn_dyn_train_run *run = &r->runs[0];
    int hk = r->hessian_k;
    kn_plot_series ser[8];
    char labels[8][64];
    double *bufs[16] = {0};
    int rc = 0;
    size_t n = run->steps < 400 ? run->steps : 400; /* a few oscillations; more is a blob */
    for (int j = 0; j < hk; j++) {
        double *x = malloc(n * sizeof(double)), *y = malloc(n * sizeof(double));
        bufs[2 * j] = x;
        bufs[2 * j + 1] = y;
        if (!x || !y) {
            rc = kn_fail(err, KN_ENOMEM, "figures: out of memory");
            goto done;
        }
        double sx = 0, sy = 0;
        for (size_t k = 0; k < n; k++) {
            x[k] = run->proj[k * (size_t)hk + j];
            y[k] = run->proj_vel[k * (size_t)hk + j];
            sx += x[k] * x[k];
            sy += y[k] * y[k];
        }
        sx = sqrt(sx / (double)n);
        sy = sqrt(sy / (double)n);
        for (size_t k = 0; k < n; k++) {
            x[k] = sx > 0 ? x[k] / sx : 0;
            y[k] = sy > 0 ? y[k] / sy : 0;
        }
        snprintf(labels[j], sizeof labels[j], "eigenvector %d (h = %.3g)", j + 1,
                 r->hessian_eigenvalues[j]);
        ser[j] = (kn_plot_series){labels[j], x, y, n, NULL, NULL, KN_PLOT_LINE};
    }
    kn_plot_axes ax = {"Top Hessian eigenvectors, run 1, first 400 steps",
                       "position / rms", "velocity / rms", 0, 0, 0, 0, 0, 0};
    rc = kn_plot_lines(path, &ax, ser, (size_t)hk, err);
done:
    for (int i = 0; i < 16; i++)
        free(bufs[i]);
    return rc;
}

static int write_summary(const char *path, const kn_dyn_train_config *c,
                         const kn_dyn_train_result *r, kn_error *err)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return kn_fail(err, KN_ENOMEM, "%s: out of memory", path);
    cJSON *cfg = cJSON_AddObjectToObject(root, "config");
    cJSON_AddNumberToObject(cfg, "hidden", c->hidden);
    cJSON_AddNumberToObject(cfg, "depth", c->depth);
    cJSON_AddNumberToObject(cfg, "n_train", (double)r->n_train);
    cJSON_AddNumberToObject(cfg, "pre_epochs", c->pre_epochs);
    cJSON_AddNumberToObject(cfg, "pre_lr", c->pre.lr);
    cJSON_AddNumberToObject(cfg, "pre_momentum", c->pre.momentum);
    cJSON_AddNumberToObject(cfg, "pre_wd", c->pre.wd);
    cJSON_AddNumberToObject(cfg, "pre_batch", c->pre.batch);
    cJSON_AddNumberToObject(cfg, "steps", (double)c->steps);
    cJSON_AddNumberToObject(cfg, "burn_in", c->burn_in);
    cJSON_AddNumberToObject(cfg, "windows", c->windows);
    cJSON_AddNumberToObject(cfg, "seed", (double)c->seed);
    cJSON_AddNumberToObject(root, "n_params", (double)r->n_params);
    cJSON_AddNumberToObject(root, "pretrain_test_accuracy", r->pre_test_accuracy);
    cJSON_AddNumberToObject(root, "pretrain_train_loss", r->pre_train_loss);
    cJSON_AddNumberToObject(root, "pretrain_seconds", r->pre_seconds);
    cJSON_AddNumberToObject(root, "theta0_norm", r->theta0_norm);
    if (r->hessian_k > 0) {
        cJSON *he = cJSON_AddArrayToObject(root, "hessian_top_eigenvalues");
        for (int j = 0; j < r->hessian_k; j++)
            cJSON_AddItemToArray(he, cJSON_CreateNumber(r->hessian_eigenvalues[j]));
        cJSON_AddNumberToObject(root, "hessian_seconds", r->hessian_seconds);
    }
    cJSON *runs = cJSON_AddArrayToObject(root, "runs");
    for (int i = 0; i < r->n_runs; i++) {
        const kn_dyn_train_run *run = &r->runs[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(runs, o);
        cJSON_AddNumberToObject(o, "lr", run->hp.lr);
        cJSON_AddNumberToObject(o, "batch", run->hp.batch);
        cJSON_AddNumberToObject(o, "momentum", run->hp.momentum);
        cJSON_AddNumberToObject(o, "wd", run->hp.wd);
        cJSON_AddNumberToObject(o, "mean_delta_sq", run->mean_delta_sq);
        cJSON_AddNumberToObject(o, "cv_delta_sq", run->cv);
        cJSON_AddNumberToObject(o, "lr2_over_S_1mb2", run->law);
        cJSON_AddNumberToObject(o, "trace_sigma", run->trace_sigma);
        cJSON_AddNumberToObject(o, "law_absolute", run->law_absolute);
        cJSON_AddNumberToObject(o, "c", run->fit.c);
        cJSON_AddNumberToObject(o, "c_ci95", run->fit.ci95);
        cJSON_AddNumberToObject(o, "c_window_lo", run->fit.x_lo);
        cJSON_AddNumberToObject(o, "c_window_hi", run->fit.x_hi);
        cJSON_AddNumberToObject(o, "test_accuracy", run->test_accuracy);
        cJSON_AddNumberToObject(o, "seconds", run->seconds);
    }
    cJSON_AddNumberToObject(root, "cv_max", r->cv_max);
    cJSON_AddNumberToObject(root, "law_error_max", r->law_error_max);
    cJSON_AddNumberToObject(root, "law_error_measured_trace_max", r->law_error_measured_trace_max);
    cJSON_AddStringToObject(root, "verdict", r->pass ? "PASS" : "FAIL");
    cJSON_AddStringToObject(root, "details", r->verdict);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return kn_fail(err, KN_ENOMEM, "%s: out of memory", path);
    int rc = kn_write_file_atomic(path, text, strlen(text), err);
    free(text);
    return rc;
}

int kn_dyn_train_write_outputs(const char *dir, const kn_dyn_train_config *c,
                               const kn_dyn_train_result *r, int plots, kn_error *err)
{
    int rc = kn_mkdirs(dir, err);
    char path[4096];
    for (int i = 0; i < r->n_runs && rc == 0; i++) {
        snprintf(path, sizeof path, "%s/train_run%d.csv", dir, i + 1);
        rc = write_run_csv(path, &r->runs[i], err);
        if (rc == 0 && r->hessian_k > 0 && r->runs[i].proj) {
            snprintf(path, sizeof path, "%s/train_run%d_hessian_projection.csv", dir, i + 1);
            rc = write_projection_csv(path, &r->runs[i], r->hessian_k, err);
        }
    }
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/summary.json", dir);
        rc = write_summary(path, c, r, err);
    }
    if (rc || !plots || r->n_runs == 0)
        return rc;
    if (r->hessian_k > 0 && r->runs[0].proj) {
        snprintf(path, sizeof path, "%s/hessian_phase_portraits.png", dir);
        if ((rc = plot_projection(path, r, err)))
            return rc;
    }
    /* MSD figure */
    enum { MAXS = 3 * KN_DYN_MAX_RUNS + 1 };
    kn_plot_series ser[MAXS];
    char labels[MAXS][80];
    double *bufs[6 * KN_DYN_MAX_RUNS] = {0};
    size_t ns = 0, nb = 0;
    double *kx = malloc(r->runs[0].steps * sizeof(double));
    if (!kx)
        return kn_fail(err, KN_ENOMEM, "figures: out of memory");
    for (size_t k = 0; k < r->runs[0].steps; k++)
        kx[k] = (double)(k + 1);
    for (int i = 0; i < r->n_runs; i++) {
        const kn_dyn_train_run *run = &r->runs[i];
        snprintf(labels[ns], sizeof labels[0], "lr %g S %g beta %g wd %g", run->hp.lr,
                 run->hp.batch, run->hp.momentum, run->hp.wd);
        ser[ns] = (kn_plot_series){labels[ns], kx, run->disp_sq, run->steps, NULL, NULL,
                                   KN_PLOT_LINE};
        ns++;
        double *fx = malloc(2 * sizeof(double)), *fy = malloc(2 * sizeof(double));
        bufs[nb++] = fx;
        bufs[nb++] = fy;
        if (!fx || !fy) {
            rc = kn_fail(err, KN_ENOMEM, "figures: out of memory");
            goto done;
        }
        fx[0] = run->fit.x_lo;
        fx[1] = run->fit.x_hi;
        for (int j = 0; j < 2; j++)
            fy[j] = exp(run->fit.intercept) * pow(fx[j], run->fit.c);
        snprintf(labels[ns], sizeof labels[0], "fit c = %.3f +- %.3f", run->fit.c, run->fit.ci95);
        ser[ns] = (kn_plot_series){labels[ns], fx, fy, 2, NULL, NULL, KN_PLOT_DASHED};
        ns++;
    }
    double bx[2] = {1, (double)r->runs[0].steps}, by[2];
    by[0] = r->runs[0].disp_sq[0];
    by[1] = by[0] * bx[1];
    ser[ns++] = (kn_plot_series){"Brownian (slope 1)", bx, by, 2, NULL, NULL, KN_PLOT_DASHED};
    kn_plot_axes ax = {"|theta_k - theta_0|^2 after pretraining", "step k", "squared displacement",
                       1, 1, 0, 0, 0, 0};
    snprintf(path, sizeof path, "%s/msd_train.png", dir);
    if ((rc = kn_plot_lines(path, &ax, ser, ns, err)))
        goto done;
    /* speed figure: window means of |delta|^2 per run, and the law scaled to run 1 */
    ns = 0;
    size_t W = 50;
    for (int i = 0; i < r->n_runs; i++) {
        const kn_dyn_train_run *run = &r->runs[i];
        size_t nw = run->steps / W;
        if (nw < 2)
            continue;
        double *x = malloc(nw * sizeof(double)), *y = malloc(nw * sizeof(double));
        double *lx = malloc(2 * sizeof(double)), *ly = malloc(2 * sizeof(double));
        bufs[nb++] = x;
        bufs[nb++] = y;
        bufs[nb++] = lx;
        bufs[nb++] = ly;
        if (!x || !y || !lx || !ly) {
            rc = kn_fail(err, KN_ENOMEM, "figures: out of memory");
            goto done;
        }
        for (size_t w = 0; w < nw; w++) {
            double s = 0;
            for (size_t k = w * W; k < (w + 1) * W; k++)
                s += run->delta_sq[k];
            x[w] = (double)(w * W + W / 2);
            y[w] = s / (double)W;
        }
        lx[0] = 1;
        lx[1] = (double)run->steps;
        ly[0] = ly[1] = r->runs[0].mean_delta_sq * run->law / r->runs[0].law;
        snprintf(labels[ns], sizeof labels[0], "lr %g S %g beta %g", run->hp.lr, run->hp.batch,
                 run->hp.momentum);
        ser[ns] = (kn_plot_series){labels[ns], x, y, nw, NULL, NULL, KN_PLOT_LINE};
        ns++;
        ser[ns++] = (kn_plot_series){i == 0 ? "eta^2/(S(1-beta^2)) law (scaled to run 1)" : NULL,
                                     lx, ly, 2, NULL, NULL, KN_PLOT_DASHED};
    }
    if (ns) {
        kn_plot_axes ax2 = {"Local speed |delta_k|^2 (50-step means)", "step k", "|delta|^2", 0,
                            1, 0, 0, 0, 0};
        snprintf(path, sizeof path, "%s/speed_train.png", dir);
        rc = kn_plot_lines(path, &ax2, ser, ns, err);
    }
done:
    for (size_t i = 0; i < nb; i++)
        free(bufs[i]);
    free(kx);
    return rc;
}
