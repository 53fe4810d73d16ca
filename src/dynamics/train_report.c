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

#include <plplot/plplot.h>

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

/* Phase portraits of run 1 along the top Hessian eigenvectors over its first 400 steps, one
 * panel per eigenvector (overlaid they were unreadable), each axis scaled by its root mean
 * square over those steps. Raw PLplot panels through kn_plot_begin/end. */
static int plot_projection(const char *path, const kn_dyn_train_result *r, kn_error *err)
{
    const kn_dyn_train_run *run = &r->runs[0];
    int hk = r->hessian_k;
    size_t n = run->steps < 400 ? run->steps : 400; /* a few oscillations; more is a blob */
    double *x = malloc(n * sizeof(double)), *y = malloc(n * sizeof(double));
    if (!x || !y) {
        free(x);
        free(y);
        return kn_fail(err, KN_ENOMEM, "figures: out of memory");
    }
    int cols = hk < 4 ? hk : 4, rows = (hk + cols - 1) / cols;
    int rc = kn_plot_begin(path, 360 * cols + 80, 380 * rows + 90, err);
    if (rc) {
        free(x);
        free(y);
        return rc;
    }
    pladv(0);
    for (int j = 0; j < hk; j++) {
        double sx = 0, sy = 0, lim = 0;
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
            lim = fmax(lim, fmax(fabs(x[k]), fabs(y[k])));
        }
        lim = lim > 0 ? lim * 1.05 : 1;
        int cx = j % cols, cy = j / cols;
        double w = 0.97 / cols, h = 0.82 / rows, x0 = 0.02 + cx * w, y1 = 0.86 - cy * h;
        plvpor(x0 + 0.17 * w, x0 + 0.95 * w, y1 - 0.80 * h, y1 - 0.10 * h);
        plwind(-lim, lim, -lim, lim);
        plcol0(2);
        plbox("g", 0, 0, "g", 0, 0);
        plcol0(1);
        plschr(0, 0.7);
        plbox("bcnst", 0, 0, "bcnstv", 0, 0);
        char t[64];
        snprintf(t, sizeof t, "eigenvector %d (h = %.3g)", j + 1, r->hessian_eigenvalues[j]);
        plmtex("t", 0.8, 0.5, 0.5, t);
        plmtex("b", 2.8, 0.5, 0.5, "position / rms");
        plmtex("l", 3.6, 0.5, 0.5, "velocity / rms");
        plschr(0, 1.0);
        plcol0(3 + j % 10);
        plwidth(1.5);
        plline((PLINT)n, x, y);
        plwidth(1);
    }
    free(x);
    free(y);
    plcol0(1);
    plvpor(0.05, 0.95, 0.86, 0.90);
    plwind(0, 1, 0, 1);
    char title[96];
    snprintf(title, sizeof title, "Phase space along the top Hessian eigenvectors, run 1, first "
             "%zu steps", n);
    kn_plot_title(title);
    return kn_plot_end(err);
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
        cJSON_AddNumberToObject(o, "trace_sigma_se", run->trace_sigma_se);
        cJSON_AddNumberToObject(o, "speed_over_law", run->mean_delta_sq / run->law_absolute);
        cJSON_AddNumberToObject(o, "loss_decline", run->loss_decline);
        cJSON_AddNumberToObject(o, "loss_decline_se", run->loss_decline_se);
        cJSON_AddBoolToObject(o, "converged", run->converged);
        cJSON_AddNumberToObject(o, "replicates", run->replicates);
        cJSON *cw = cJSON_AddArrayToObject(o, "c_windows");
        for (int w = 0; w < KN_DYN_C_WINDOWS; w++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddItemToArray(cw, e);
            cJSON_AddNumberToObject(e, "lo", run->c_window[w][0]);
            cJSON_AddNumberToObject(e, "hi", run->c_window[w][1]);
            cJSON_AddNumberToObject(e, "c_mean", run->c_mean[w]);
            cJSON_AddNumberToObject(e, "c_ci95_replicates", run->c_ci95[w]);
            cJSON *reps = cJSON_AddArrayToObject(e, "c_per_replicate");
            for (int q = 0; q < run->replicates; q++)
                cJSON_AddItemToArray(reps, cJSON_CreateNumber(run->c_rep[q][w]));
        }
    }
    cJSON_AddNumberToObject(root, "cv_max", r->cv_max);
    cJSON_AddNumberToObject(root, "law_error_max", r->law_error_max);
    cJSON_AddNumberToObject(root, "law_error_measured_trace_max", r->law_error_measured_trace_max);
    cJSON_AddNumberToObject(root, "law_abs_error_max", r->law_abs_error_max);
    cJSON_AddNumberToObject(root, "law_tolerance", r->law_tolerance);
    cJSON_AddBoolToObject(root, "converged", r->converged);
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

/* Which hyperparameter differs between the runs (the sweep): "lr", "batch", "momentum", "wd",
 * or NULL if none or several do. */
static const char *varied(const kn_dyn_train_result *r, double *values)
{
    const char *names[4] = {"lr", "batch", "momentum", "wd"};
    int which = -1;
    for (int h = 0; h < 4; h++) {
        int differs = 0;
        for (int i = 0; i < r->n_runs; i++) {
            const kn_sgd_hparams *p = &r->runs[i].hp, *q = &r->runs[0].hp;
            double a = h == 0 ? p->lr : h == 1 ? p->batch : h == 2 ? p->momentum : p->wd;
            double b = h == 0 ? q->lr : h == 1 ? q->batch : h == 2 ? q->momentum : q->wd;
            differs |= a != b;
            values[i] = a;
        }
        if (differs) {
            if (which >= 0)
                return NULL;
            which = h;
        }
    }
    if (which < 0)
        return NULL;
    for (int i = 0; i < r->n_runs; i++) {
        const kn_sgd_hparams *p = &r->runs[i].hp;
        values[i] = which == 0 ? p->lr : which == 1 ? p->batch : which == 2 ? p->momentum : p->wd;
    }
    return names[which];
}

/* The exponent c (replicate mean, 95% band) on each window against the swept hyperparameter, as
 * in the paper's figure of c against lr, batch size, momentum and weight decay. */
static int plot_exponents(const char *dir, const kn_dyn_train_result *r, kn_error *err)
{
    double values[KN_DYN_MAX_RUNS];
    const char *name = varied(r, values);
    if (!name || r->n_runs < 2)
        return 0;
    int order[KN_DYN_MAX_RUNS];
    for (int i = 0; i < r->n_runs; i++)
        order[i] = i;
    for (int i = 1; i < r->n_runs; i++)
        for (int j = i; j > 0 && values[order[j]] < values[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    double x[KN_DYN_MAX_RUNS], y[KN_DYN_C_WINDOWS][KN_DYN_MAX_RUNS];
    double lo[KN_DYN_C_WINDOWS][KN_DYN_MAX_RUNS], hi[KN_DYN_C_WINDOWS][KN_DYN_MAX_RUNS];
    int positive = 1;
    for (int j = 0; j < r->n_runs; j++) {
        const kn_dyn_train_run *run = &r->runs[order[j]];
        x[j] = values[order[j]];
        positive &= x[j] > 0;
        for (int w = 0; w < KN_DYN_C_WINDOWS; w++) {
            y[w][j] = run->c_mean[w];
            lo[w][j] = run->c_mean[w] - run->c_ci95[w];
            hi[w][j] = run->c_mean[w] + run->c_ci95[w];
        }
    }
    const kn_dyn_train_run *r0 = &r->runs[0];
    char labels[KN_DYN_C_WINDOWS][64];
    const char *what[KN_DYN_C_WINDOWS] = {"whole", "early", "late"};
    kn_plot_series ser[KN_DYN_C_WINDOWS + 1];
    for (int w = 0; w < KN_DYN_C_WINDOWS; w++) {
        snprintf(labels[w], sizeof labels[w], "%s window [%g, %g]", what[w], r0->c_window[w][0],
                 r0->c_window[w][1]);
        ser[w] = (kn_plot_series){labels[w], x, y[w], (size_t)r->n_runs, lo[w], hi[w],
                                  KN_PLOT_LINE_POINTS};
    }
    double bx[2] = {x[0], x[r->n_runs - 1]}, by[2] = {1, 1};
    ser[KN_DYN_C_WINDOWS] = (kn_plot_series){"c = 1 (Brownian)", bx, by, 2, NULL, NULL,
                                             KN_PLOT_DASHED};
    char title[128], xl[32];
    snprintf(title, sizeof title, "Exponent c of |theta_k - theta_0|^2 ~ k^c against %s "
             "(mean and 95%% band over %d replicates)", name, r0->replicates);
    snprintf(xl, sizeof xl, "%s", name);
    kn_plot_axes ax = {title, xl, "exponent c", positive && (name[0] == 'l' || name[0] == 'b'),
                       0, 0, 0, 0, 0};
    char path[4096];
    snprintf(path, sizeof path, "%s/exponent_c.png", dir);
    return kn_plot_lines(path, &ax, ser, KN_DYN_C_WINDOWS + 1, err);
}

/* Three panels over the continuation, one line per run: the test loss, |theta_k| and
 * theta_k . theta_0 / |theta_0|^2 (the paper's evidence that the network keeps moving while
 * its test performance stays flat). Raw PLplot panels through kn_plot_begin/end. */
static int plot_continuation(const char *dir, const kn_dyn_train_result *r, kn_error *err)
{
    if (r->n_runs == 0 || !r->runs[0].test_loss || r->runs[0].n_test_points < 2)
        return 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/continuation.png", dir);
    int rc = kn_plot_begin(path, 1500, 520, err);
    if (rc)
        return rc;
    pladv(0);
    double n0 = r->theta0_norm * r->theta0_norm;
    for (int panel = 0; panel < 3; panel++) {
        double xmax = 0, ymin = INFINITY, ymax = -INFINITY;
        for (int i = 0; i < r->n_runs; i++) {
            const kn_dyn_train_run *run = &r->runs[i];
            xmax = fmax(xmax, (double)run->steps);
            size_t n = panel == 0 ? run->n_test_points : run->steps;
            for (size_t k = 0; k < n; k++) {
                double v = panel == 0 ? run->test_loss[k] : panel == 1 ? run->norm[k]
                                                                       : run->dot[k] / n0;
                ymin = fmin(ymin, v);
                ymax = fmax(ymax, v);
            }
        }
        if (!(ymin <= ymax))
            continue;
        double pad = (ymax - ymin) * 0.08 + 1e-12 * fabs(ymax);
        double x0 = 0.06 + panel * 0.325;
        plvpor(x0, x0 + 0.25, 0.20, 0.78);
        plwind(0, xmax, ymin - pad, ymax + pad);
        plcol0(2);
        plbox("g", 0, 0, "g", 0, 0);
        plcol0(1);
        plschr(0, 0.8);
        plbox("bcnst", 0, 0, "bcnstv", 0, 0);
        const char *titles[3] = {"test loss", "|theta_k|", "theta_k . theta_0 / |theta_0|^2"};
        plmtex("t", 1.0, 0.5, 0.5, titles[panel]);
        plmtex("b", 2.8, 0.5, 0.5, "continuation step k");
        plschr(0, 1.0);
        for (int i = 0; i < r->n_runs; i++) {
            const kn_dyn_train_run *run = &r->runs[i];
            size_t n = panel == 0 ? run->n_test_points : run->steps;
            double *xs = malloc(n * sizeof(double)), *ys = malloc(n * sizeof(double));
            if (!xs || !ys) {
                free(xs);
                free(ys);
                kn_plot_end(err);
                return kn_fail(err, KN_ENOMEM, "%s: out of memory", path);
            }
            for (size_t k = 0; k < n; k++) {
                xs[k] = panel == 0 ? run->test_step[k] : (double)(k + 1);
                ys[k] = panel == 0 ? run->test_loss[k] : panel == 1 ? run->norm[k]
                                                                    : run->dot[k] / n0;
            }
            plcol0(3 + i % 10);
            plwidth(1.8);
            plline((PLINT)n, xs, ys);
            plwidth(1);
            free(xs);
            free(ys);
        }
    }
    /* run key under the panels */
    plvpor(0.06, 0.96, 0.01, 0.09);
    plwind(0, 1, 0, 1);
    plschr(0, 0.8);
    for (int i = 0; i < r->n_runs; i++) {
        const kn_dyn_train_run *run = &r->runs[i];
        char t[96];
        snprintf(t, sizeof t, "run %d: lr %g S %g beta %g wd %g", i + 1, run->hp.lr,
                 run->hp.batch, run->hp.momentum, run->hp.wd);
        plcol0(3 + i % 10);
        double pos = (i % 3) * 0.34;
        plmtex("t", -1.0 - 1.5 * (i / 3), pos, 0.0, t);
    }
    plschr(0, 1.0);
    plcol0(1);
    plvpor(0.06, 0.96, 0.82, 0.86);
    plwind(0, 1, 0, 1);
    kn_plot_title("Continuation after pretraining: test performance flat while the parameters "
                  "keep moving");
    return kn_plot_end(err);
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
    size_t colours[MAXS];
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
        colours[ns] = (size_t)i;
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
        snprintf(labels[ns], sizeof labels[0], "fit c = %.3f +- %.3f (%d replicates)",
                 run->c_mean[0], run->c_ci95[0], run->replicates);
        ser[ns] = (kn_plot_series){labels[ns], fx, fy, 2, NULL, NULL, KN_PLOT_DASHED};
        colours[ns] = (size_t)i;
        ns++;
    }
    double bx[2] = {1, (double)r->runs[0].steps}, by[2];
    by[0] = r->runs[0].disp_sq[0];
    by[1] = by[0] * bx[1];
    colours[ns] = 6;
    ser[ns++] = (kn_plot_series){"Brownian (slope 1)", bx, by, 2, NULL, NULL, KN_PLOT_DASHED};
    kn_plot_axes ax = {"|theta_k - theta_0|^2 after pretraining", "step k", "squared displacement",
                       1, 1, 0, 0, 0, 0};
    snprintf(path, sizeof path, "%s/msd_train.png", dir);
    if ((rc = kn_plot_lines_coloured(path, &ax, ser, colours, ns, err)))
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
        ly[0] = ly[1] = run->law_absolute; /* the law with this run's own measured tr Sigma */
        snprintf(labels[ns], sizeof labels[0], "lr %g S %g beta %g", run->hp.lr, run->hp.batch,
                 run->hp.momentum);
        ser[ns] = (kn_plot_series){labels[ns], x, y, nw, NULL, NULL, KN_PLOT_LINE};
        colours[ns] = (size_t)i;
        ns++;
        colours[ns] = (size_t)i;
        ser[ns++] = (kn_plot_series){i == 0 ? "law eta^2 tr Sigma / (S (1-beta^2)), own tr Sigma"
                                            : NULL,
                                     lx, ly, 2, NULL, NULL, KN_PLOT_DASHED};
    }
    if (ns) {
        kn_plot_axes ax2 = {"Local speed |delta_k|^2 (50-step means)", "step k", "|delta|^2", 0,
                            1, 0, 0, 0, 0};
        snprintf(path, sizeof path, "%s/speed_train.png", dir);
        rc = kn_plot_lines_coloured(path, &ax2, ser, colours, ns, err);
    }
    if (rc == 0)
        rc = plot_exponents(dir, r, err);
    if (rc == 0)
        rc = plot_continuation(dir, r, err);
done:
    for (size_t i = 0; i < nb; i++)
        free(bufs[i]);
    free(kx);
    return rc;
}
