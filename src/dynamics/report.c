/* Outputs of `kenyon dynamics linreg`: one CSV per recorded series (check<N>_<name>.csv),
 * summary.json (configuration, verdicts, named numbers) and the figures: stationary speed vs
 * eta^2/(S(1-beta^2)), per-mode variances, mean trajectories with variance bands, phase-space
 * portraits and spectra, the 2-D toy's density with Psi and L contours (raw PLplot through
 * kn_plot_begin/end), and the log-log MSD with its fit and the Brownian line. */
#include "dynamics_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <plplot/plplot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/fileio.h"
#include "kenyon/plot.h"

static const char *join(char *buf, size_t size, const char *dir, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
    return buf;
}

static int write_csv(const char *path, const kn_dyn_series *s, kn_error *err)
{
    kn_atomic_file af;
    int rc = kn_atomic_open(&af, path, err);
    if (rc)
        return rc;
    fprintf(af.fp, "%s\n", s->header);
    const double *cols[5] = {s->x, s->y, s->y2, s->y3, s->y4};
    for (size_t i = 0; i < s->n; i++) {
        for (int c = 0; c < 5 && cols[c]; c++)
            fprintf(af.fp, c ? ",%.10g" : "%.10g", cols[c][i]);
        fputc('\n', af.fp);
    }
    return kn_atomic_commit(&af, err);
}

static const kn_dyn_series *find(const kn_dyn_result *r, const char *name)
{
    for (size_t i = 0; i < r->n_series; i++)
        if (strcmp(r->series[i].name, name) == 0)
            return &r->series[i];
    return NULL;
}

static int write_json(const char *path, const kn_dyn_config *c, const kn_dyn_result *res,
                      size_t n, kn_error *err)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return kn_fail(err, KN_ENOMEM, "%s: out of memory", path);
    cJSON *cfg = cJSON_AddObjectToObject(root, "config");
    cJSON_AddNumberToObject(cfg, "dim", c->problem.dim);
    cJSON_AddStringToObject(cfg, "spectrum", kn_spectrum_name(c->problem.spectrum));
    cJSON_AddNumberToObject(cfg, "h_min", c->problem.h_min);
    cJSON_AddNumberToObject(cfg, "h_max", c->problem.h_max);
    cJSON_AddNumberToObject(cfg, "noise", c->problem.noise);
    cJSON_AddBoolToObject(cfg, "sigma_commutes_with_H", c->problem.commute);
    cJSON_AddNumberToObject(cfg, "lr", c->hp.lr);
    cJSON_AddNumberToObject(cfg, "momentum", c->hp.momentum);
    cJSON_AddNumberToObject(cfg, "wd", c->hp.wd);
    cJSON_AddNumberToObject(cfg, "batch", c->hp.batch);
    cJSON_AddNumberToObject(cfg, "steps", (double)c->steps);
    cJSON_AddNumberToObject(cfg, "replicas", c->replicas);
    cJSON_AddNumberToObject(cfg, "seed", (double)c->seed);
    cJSON *arr = cJSON_AddArrayToObject(root, "checks");
    int all = 1;
    for (size_t i = 0; i < n; i++) {
        const kn_dyn_result *r = &res[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(arr, o);
        cJSON_AddNumberToObject(o, "check", r->check);
        cJSON_AddStringToObject(o, "title", r->title);
        cJSON_AddStringToObject(o, "verdict",
                                r->pass == 1 ? "PASS" : r->pass == 0 ? "FAIL" : "REPORT");
        cJSON_AddStringToObject(o, "details", r->verdict);
        cJSON_AddNumberToObject(o, "seconds", r->seconds);
        cJSON *v = cJSON_AddObjectToObject(o, "values");
        for (int k = 0; k < r->n_values; k++)
            cJSON_AddNumberToObject(v, r->keys[k], r->values[k]);
        all &= r->pass != 0;
    }
    cJSON_AddBoolToObject(root, "all_passed", all);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return kn_fail(err, KN_ENOMEM, "%s: out of memory", path);
    int rc = kn_write_file_atomic(path, text, strlen(text), err);
    free(text);
    return rc;
}

/* ---- figures ------------------------------------------------------------------------------ */

static int plot_speed(const char *path, const kn_dyn_result *r, kn_error *err)
{
    const kn_dyn_series *s = find(r, "speed");
    if (!s)
        return 0;
    /* x = eta^2/(S(1-beta^2)); law = tr Sigma x (a line through the origin). */
    double tr = s->y3[0] > 0 ? s->x[0] / s->y3[0] : 0;
    double lx[2] = {INFINITY, 0}, ly[2];
    for (size_t i = 0; i < s->n; i++) {
        lx[0] = fmin(lx[0], s->y3[i]);
        lx[1] = fmax(lx[1], s->y3[i]);
    }
    lx[0] /= 1.5;
    lx[1] *= 1.5;
    ly[0] = tr * lx[0];
    ly[1] = tr * lx[1];
    kn_plot_series ser[3] = {
        {"eta^2 tr Sigma / (S (1-beta^2))", lx, ly, 2, NULL, NULL, KN_PLOT_LINE},
        {"simulated", s->y3, s->y, s->n, NULL, NULL, KN_PLOT_POINTS},
        {"exact discrete theory", s->y3, s->y2, s->n, NULL, NULL, KN_PLOT_POINTS},
    };
    kn_plot_axes ax = {"Stationary local speed (check 1)", "eta^2 / (S (1 - beta^2))",
                       "E |delta|^2", 1, 1, 0, 0, 0, 0};
    return kn_plot_lines(path, &ax, ser, 3, err);
}

static int plot_stationary(const char *path, const kn_dyn_result *r, kn_error *err)
{
    const kn_dyn_series *a = find(r, "var_position"), *v = find(r, "var_velocity");
    if (!a || !v)
        return 0;
    kn_plot_series ser[4] = {
        {"Var position, simulated", a->x, a->y, a->n, NULL, NULL, KN_PLOT_POINTS},
        {"Var position, theory", a->x, a->y2, a->n, NULL, NULL, KN_PLOT_LINE},
        {"Var velocity, simulated", v->x, v->y, v->n, NULL, NULL, KN_PLOT_POINTS},
        {"Var velocity, theory", v->x, v->y2, v->n, NULL, NULL, KN_PLOT_LINE},
    };
    kn_plot_axes ax = {"Per-mode stationary variances (check 2)", "Hessian eigenvalue h",
                       "variance", 1, 1, 0, 0, 0, 0};
    return kn_plot_lines(path, &ax, ser, 4, err);
}

static int plot_transient(const char *path, const kn_dyn_result *r, kn_error *err)
{
    kn_plot_series ser[6];
    double *bands[6] = {0};
    size_t ns = 0;
    int rc = 0;
    for (size_t i = 0; i < r->n_series && ns < 6; i++) {
        const kn_dyn_series *s = &r->series[i];
        if (strstr(s->name, "_mean") == NULL)
            continue;
        double *lo = malloc(s->n * sizeof(double)), *hi = malloc(s->n * sizeof(double));
        if (!lo || !hi) {
            free(lo);
            free(hi);
            rc = kn_fail(err, KN_ENOMEM, "%s: out of memory", path);
            goto done;
        }
        for (size_t t = 0; t < s->n; t++) {
            lo[t] = s->y2[t] - 2 * s->y3[t];
            hi[t] = s->y2[t] + 2 * s->y3[t];
        }
        bands[ns] = lo;
        bands[ns + 1] = hi;
        ser[ns] = (kn_plot_series){s->name, s->x, s->y2, s->n, lo, hi, KN_PLOT_LINE};
        ser[ns + 1] = (kn_plot_series){NULL, s->x, s->y, s->n, NULL, NULL, KN_PLOT_DASHED};
        ns += 2;
    }
    if (ns) {
        kn_plot_axes ax = {"Off-minimum start: closed form +-2 sd, replica mean (dashed)",
                           "step", "position offset", 0, 0, 0, 0, 0, 0};
        rc = kn_plot_lines(path, &ax, ser, ns, err);
    }
done:
    for (size_t i = 0; i < 6; i++)
        free(bands[i]);
    return rc;
}

static int plot_phase(const char *path, const kn_dyn_result *r, kn_error *err)
{
    const char *names[3] = {"phase_k0.2", "phase_k100", "phase_k400"};
    const char *labels[3] = {"k = 0.2 k_onset (overdamped)", "k = 100 k_onset",
                             "k = 400 k_onset"};
    kn_plot_series ser[6];
    double *buf[12] = {0};
    size_t ns = 0;
    int rc = 0;
    for (int j = 0; j < 3; j++) {
        const kn_dyn_series *s = find(r, names[j]);
        if (!s || s->n == 0)
            continue;
        /* normalise each mode by its start offset and its largest mean speed */
        double a0 = fabs(s->y2[0]) > 0 ? fabs(s->y2[0]) : 1, vmax = 0;
        for (size_t t = 0; t < s->n; t++)
            vmax = fmax(vmax, fabs(s->y3[t]));
        if (vmax == 0)
            vmax = 1;
        double *x = malloc(s->n * sizeof(double)), *y = malloc(s->n * sizeof(double));
        double *mx = malloc(s->n * sizeof(double)), *my = malloc(s->n * sizeof(double));
        buf[4 * j] = x;
        buf[4 * j + 1] = y;
        buf[4 * j + 2] = mx;
        buf[4 * j + 3] = my;
        if (!x || !y || !mx || !my) {
            rc = kn_fail(err, KN_ENOMEM, "%s: out of memory", path);
            goto done;
        }
        for (size_t t = 0; t < s->n; t++) {
            x[t] = s->x[t] / a0;
            y[t] = s->y[t] / vmax;
            mx[t] = s->y2[t] / a0;
            my[t] = s->y3[t] / vmax;
        }
        ser[ns++] = (kn_plot_series){labels[j], mx, my, s->n, NULL, NULL, KN_PLOT_LINE};
        if (j > 0) /* the overdamped mode's noisy run hides the others */
            ser[ns++] = (kn_plot_series){NULL, x, y, s->n, NULL, NULL, KN_PLOT_DASHED};
    }
    if (ns) {
        kn_plot_axes ax = {"Phase space: mean (solid), one run (dashed)", "position / a0",
                           "velocity / max |mean velocity|",
                           0, 0, 0, 0, 0, 0};
        rc = kn_plot_lines(path, &ax, ser, ns, err);
    }
done:
    for (int i = 0; i < 12; i++)
        free(buf[i]);
    return rc;
}

static int plot_spectra(const char *path, const kn_dyn_result *r, kn_error *err)
{
    kn_plot_series ser[8];
    size_t ns = 0;
    for (size_t i = 0; i < r->n_series && ns < 8; i++) {
        const kn_dyn_series *s = &r->series[i];
        if (strncmp(s->name, "psd_", 4) != 0 || s->n < 2)
            continue;
        ser[ns++] = (kn_plot_series){s->name, s->x + 1, s->y + 1, s->n - 1, NULL, NULL,
                                     KN_PLOT_LINE};
    }
    if (!ns)
        return 0;
    kn_plot_axes ax = {"Welch spectra of each mode's position (check 4)", "cycles per step",
                       "power", 1, 1, 0, 0, 0, 0};
    return kn_plot_lines(path, &ax, ser, ns, err);
}

/* Density as shaded cells, Psi contours (solid) and L contours (dashed) at the levels that hold
 * 39%, 86% and 99% of a Gaussian (quadratic form 0.5, 2, 4.6 in units of Psi). */
static int plot_toy(const char *path, const kn_dyn_result *r, kn_error *err)
{
    const kn_dyn_series *s = find(r, "density");
    if (!s)
        return 0;
    size_t nb = (size_t)llround(sqrt((double)s->n));
    if (nb * nb != s->n || nb < 2)
        return 0;
    PLFLT **z, **psi, **L;
    plAlloc2dGrid(&z, (PLINT)nb, (PLINT)nb);
    plAlloc2dGrid(&psi, (PLINT)nb, (PLINT)nb);
    plAlloc2dGrid(&L, (PLINT)nb, (PLINT)nb);
    double zmax = 0;
    for (size_t by = 0; by < nb; by++)
        for (size_t bx = 0; bx < nb; bx++) {
            size_t i = by * nb + bx;
            z[bx][by] = s->y2[i];
            psi[bx][by] = s->y3[i];
            L[bx][by] = s->y4[i];
            zmax = fmax(zmax, s->y2[i]);
        }
    double x0 = s->x[0], x1 = s->x[nb - 1], y0 = s->y[0], y1 = s->y[s->n - 1];
    int rc = kn_plot_begin(path, 900, 860, err);
    if (rc == 0) {
        plenv(x0, x1, y0, y1, 1, 0);
        pllab("theta_1", "theta_2",
              "2-D toy: SGD density, Psi contours (solid), L contours (dashed)");
        PLFLT clevel[24];
        for (int i = 0; i < 24; i++)
            clevel[i] = zmax * (i + 0.5) / 24;
        PLFLT shade_edges[25];
        for (int i = 0; i < 25; i++)
            shade_edges[i] = zmax * i / 24.0;
        plscmap1n(64);
        PLFLT pos[2] = {0, 1}, rr[2] = {1, 0.1}, gg[2] = {1, 0.3}, bb[2] = {1, 0.6};
        plscmap1l(1, 2, pos, rr, gg, bb, NULL);
        plshades((PLFLT_MATRIX)z, (PLINT)nb, (PLINT)nb, NULL, x0, x1, y0, y1, shade_edges, 25, 0,
                 0, 0, plfill, 1, NULL, NULL);
        (void)clevel;
        PLcGrid grid;
        PLFLT *gx = malloc(nb * sizeof(PLFLT)), *gy = malloc(nb * sizeof(PLFLT));
        if (gx && gy) {
            for (size_t i = 0; i < nb; i++) {
                gx[i] = s->x[i];
                gy[i] = s->y[i * nb];
            }
            grid.xg = gx;
            grid.yg = gy;
            grid.nx = (PLINT)nb;
            grid.ny = (PLINT)nb;
            /* Psi contours at levels 0.5, 2, 4.6 (Gaussian mass 39%, 86%, 99%) */
            PLFLT lev[3] = {0.5, 2.0, 4.6};
            plcol0(1);
            plwidth(2);
            pllsty(1);
            plcont((PLFLT_MATRIX)psi, (PLINT)nb, (PLINT)nb, 1, (PLINT)nb, 1, (PLINT)nb, lev, 3,
                   pltr1, &grid);
            /* L contours: the check rescales L to Psi's determinant, so equal levels enclose
             * equal areas and only the orientation and shape differ. */
            plcol0(4);
            pllsty(2);
            plcont((PLFLT_MATRIX)L, (PLINT)nb, (PLINT)nb, 1, (PLINT)nb, 1, (PLINT)nb, lev, 3,
                   pltr1, &grid);
            pllsty(1);
        }
        free(gx);
        free(gy);
        rc = kn_plot_end(err);
    }
    plFree2dGrid(z, (PLINT)nb, (PLINT)nb);
    plFree2dGrid(psi, (PLINT)nb, (PLINT)nb);
    plFree2dGrid(L, (PLINT)nb, (PLINT)nb);
    return rc;
}

/* Check 6: each setting's replica mean (open circles at ~30 log-spaced steps) over its exact
 * theory curve (line, same colour), log-log, with a slope-1 (Brownian) guide; the legend names
 * each setting with its fitted c on the main window. */
static int plot_msd(const char *path, const kn_dyn_result *r, kn_error *err)
{
    enum { MAXS = 8, NPTS = 30 };
    const kn_dyn_series *ms[MAXS];
    size_t nm = 0;
    for (size_t i = 0; i < r->n_series && nm < MAXS; i++)
        if (strncmp(r->series[i].name, "msd_", 4) == 0 && r->series[i].n >= 10)
            ms[nm++] = &r->series[i];
    if (!nm)
        return 0;
    static const char *const names[][2] = {
        {"msd_given", "given settings"},           {"msd_lr_half", "lr / 2"},
        {"msd_batch_x4", "batch x 4"},             {"msd_momentum", "momentum varied"},
        {"msd_broad_wd_b100", "broad spectrum + wd, S 100"},
        {"msd_broad_wd_b1000", "broad spectrum + wd, S 1000"},
    };
    kn_plot_series ser[2 * MAXS + 1];
    size_t colours[2 * MAXS + 1];
    char labels[MAXS][96];
    double px[MAXS][NPTS], py[MAXS][NPTS];
    size_t ns = 0;
    double xmax = 1, ymin = INFINITY;
    for (size_t j = 0; j < nm; j++) {
        const kn_dyn_series *s = ms[j];
        const char *label = s->name + 4;
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
            if (strcmp(names[k][0], s->name) == 0)
                label = names[k][1];
        char key[48];
        snprintf(key, sizeof key, "c_%s", s->name + 4);
        double cval = NAN;
        for (int k = 0; k < r->n_values; k++)
            if (strcmp(r->keys[k], key) == 0)
                cval = r->values[k];
        snprintf(labels[j], sizeof labels[j], "%s: c = %.2f", label, cval);
        size_t m = 0;
        double last = 0;
        for (int q = 0; q < NPTS; q++) {
            size_t t = (size_t)llround(pow((double)s->n, (double)q / (NPTS - 1))) - 1;
            if (t >= s->n || (m && (double)t == last))
                continue;
            px[j][m] = s->x[t];
            py[j][m++] = s->y[t];
            last = (double)t;
        }
        ser[ns] = (kn_plot_series){labels[j], px[j], py[j], m, NULL, NULL, KN_PLOT_OPEN_CIRCLES};
        colours[ns++] = j;
        ser[ns] = (kn_plot_series){NULL, s->x, s->y2, s->n, NULL, NULL, KN_PLOT_LINE};
        colours[ns++] = j;
        xmax = fmax(xmax, s->x[s->n - 1]);
        ymin = fmin(ymin, s->y2[0]);
    }
    double bx[2] = {1, xmax}, by[2] = {ymin, ymin * xmax};
    ser[ns] = (kn_plot_series){"slope 1 (Brownian)", bx, by, 2, NULL, NULL, KN_PLOT_DASHED};
    colours[ns++] = 6; /* grey */
    kn_plot_axes ax = {"MSD |theta_k - theta_0|^2: replicas (circles) on the exact theory (lines), "
                       "check 6",
                       "step k", "mean squared displacement", 1, 1, 0, 0, 0, 0};
    return kn_plot_lines_coloured(path, &ax, ser, colours, ns, err);
}

int kn_dyn_write_outputs(const char *dir, const kn_dyn_config *c, const kn_dyn_result *results,
                         size_t n, int plots, kn_error *err)
{
    int rc = kn_mkdirs(dir, err);
    if (rc)
        return rc;
    char path[4096], name[128];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < results[i].n_series; j++) {
            snprintf(name, sizeof name, "check%d_%s.csv", results[i].check,
                     results[i].series[j].name);
            if ((rc = write_csv(join(path, sizeof path, dir, name), &results[i].series[j], err)))
                return rc;
        }
    if ((rc = write_json(join(path, sizeof path, dir, "summary.json"), c, results, n, err)))
        return rc;
    if (!plots)
        return 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const kn_dyn_result *r = &results[i];
        switch (r->check) {
        case 1: rc = plot_speed(join(path, sizeof path, dir, "speed.png"), r, err); break;
        case 2: rc = plot_stationary(join(path, sizeof path, dir, "stationary.png"), r, err); break;
        case 3: rc = plot_transient(join(path, sizeof path, dir, "transient.png"), r, err); break;
        case 4:
            rc = plot_phase(join(path, sizeof path, dir, "phase_portraits.png"), r, err);
            if (rc == 0)
                rc = plot_spectra(join(path, sizeof path, dir, "spectra.png"), r, err);
            break;
        case 5: rc = plot_toy(join(path, sizeof path, dir, "toy2d_density.png"), r, err); break;
        case 6: rc = plot_msd(join(path, sizeof path, dir, "msd.png"), r, err); break;
        default: break;
        }
    }
    return rc;
}
