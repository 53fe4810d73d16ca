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

/* Viewport of panel i in a grid of cols x rows panels filling the page below a figure title. */
static void panel_viewport(int i, int cols, int rows)
{
    int cx = i % cols, cy = i / cols;
    double w = 0.97 / cols, h = 0.84 / rows;
    double x0 = 0.02 + cx * w, y1 = 0.86 - cy * h;
    plvpor(x0 + 0.16 * w, x0 + 0.95 * w, y1 - 0.80 * h, y1 - 0.10 * h);
}

/* The series' "k<mult>" suffix as a number (k / k_on), or NAN. */
static double series_mult(const char *name, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(name, prefix, n) == 0 ? atof(name + n) : NAN;
}

/* Check 4, phase portraits: one panel per mode (sorted by k / k_on), the closed-form mean
 * (solid) and, for the stationary modes, one simulated run (dashed); axes normalised by the start
 * offset and the largest mean velocity. */
static int plot_phase(const char *path, const kn_dyn_result *r, kn_error *err)
{
    enum { MAXP = 8 };
    const kn_dyn_series *ph[MAXP];
    int n = 0;
    for (size_t i = 0; i < r->n_series && n < MAXP; i++)
        if (strncmp(r->series[i].name, "phase_k", 7) == 0 && r->series[i].n > 1)
            ph[n++] = &r->series[i];
    if (!n)
        return 0;
    for (int i = 1; i < n; i++) /* by k / k_on */
        for (int j = i; j > 0 && series_mult(ph[j]->name, "phase_k") <
                                     series_mult(ph[j - 1]->name, "phase_k"); j--) {
            const kn_dyn_series *t = ph[j];
            ph[j] = ph[j - 1];
            ph[j - 1] = t;
        }
    int cols = n <= 3 ? n : 3, rows = (n + cols - 1) / cols;
    int rc = kn_plot_begin(path, 400 * cols + 100, 380 * rows + 80, err);
    if (rc)
        return rc;
    pladv(0);
    size_t m = ph[0]->n;
    double *x = malloc(m * sizeof(double) * 4);
    if (!x) {
        kn_plot_end(err);
        return kn_fail(err, KN_ENOMEM, "%s: out of memory", path);
    }
    for (int i = 0; i < n; i++) {
        const kn_dyn_series *s = ph[i];
        size_t T = s->n < m ? s->n : m;
        double a0 = fabs(s->y2[0]) > 0 ? fabs(s->y2[0]) : 1, vmax = 0;
        for (size_t t = 0; t < T; t++)
            vmax = fmax(vmax, fabs(s->y3[t]));
        if (vmax == 0)
            vmax = 1;
        double *px = x, *py = x + m, *mx = x + 2 * m, *my = x + 3 * m, lo = 0, hi = 0;
        int has_run = 0;
        for (size_t t = 0; t < T; t++) {
            px[t] = s->x[t] / a0;
            py[t] = s->y[t] / vmax;
            mx[t] = s->y2[t] / a0;
            my[t] = s->y3[t] / vmax;
            has_run |= s->x[t] != s->y2[t];
            lo = fmin(lo, fmin(mx[t], my[t]));
            hi = fmax(hi, fmax(mx[t], my[t]));
        }
        double lim = fmax(1.05, fmax(fabs(lo), fabs(hi)) * 1.05);
        panel_viewport(i, cols, rows);
        plwind(-lim, lim, -lim, lim);
        plcol0(2);
        plbox("g", 0, 0, "g", 0, 0);
        plcol0(1);
        plschr(0, 0.65);
        plbox("bcnst", 0, 0, "bcnstv", 0, 0);
        double mult = series_mult(s->name, "phase_k");
        char t[64];
        snprintf(t, sizeof t, "k = %g x onset (%s)", mult, mult > 1 ? "underdamped" : "overdamped");
        plmtex("t", 0.8, 0.5, 0.5, t);
        plmtex("b", 2.8, 0.5, 0.5, "position / a0");
        plmtex("l", 4.0, 0.5, 0.5, "velocity / max |mean v|");
        plschr(0, 1.0);
        if (has_run) {
            plcol0(3 + 6);
            pllsty(2);
            plline((PLINT)T, px, py);
            pllsty(1);
        }
        plcol0(3);
        plwidth(2);
        plline((PLINT)T, mx, my);
        plwidth(1);
    }
    free(x);
    plvpor(0.05, 0.95, 0.86, 0.90);
    plwind(0, 1, 0, 1);
    kn_plot_title("Phase space per mode (check 4): closed-form mean (solid), one simulated run "
                  "(dashed, grey)");
    return kn_plot_end(err);
}

/* Check 4, spectra: one panel per frequency-tested mode: the Welch spectrum of its position with
 * the theory's damped frequency eta Omega / (2 pi) as a vertical line. */
static int plot_spectra(const char *path, const kn_dyn_result *r, kn_error *err)
{
    enum { MAXP = 6 };
    const kn_dyn_series *ps[MAXP];
    int n = 0;
    for (size_t i = 0; i < r->n_series && n < MAXP; i++)
        if (strncmp(r->series[i].name, "psd_k", 5) == 0 && r->series[i].n > 4 &&
            r->series[i].y2)
            ps[n++] = &r->series[i];
    if (!n)
        return 0;
    int cols = n, rows = 1;
    int rc = kn_plot_begin(path, 420 * cols + 100, 480, err);
    if (rc)
        return rc;
    pladv(0);
    for (int i = 0; i < n; i++) {
        const kn_dyn_series *s = ps[i];
        double f = s->y2[0], xmax = f > 0 ? 3 * f : s->x[s->n - 1];
        double *lx = malloc(s->n * sizeof(double)), *ly = malloc(s->n * sizeof(double));
        if (!lx || !ly) {
            free(lx);
            free(ly);
            kn_plot_end(err);
            return kn_fail(err, KN_ENOMEM, "%s: out of memory", path);
        }
        size_t m = 0;
        double ylo = INFINITY, yhi = -INFINITY;
        for (size_t j = 1; j < s->n && s->x[j] <= xmax; j++)
            if (s->y[j] > 0) {
                lx[m] = s->x[j];
                ly[m] = log10(s->y[j]);
                ylo = fmin(ylo, ly[m]);
                yhi = fmax(yhi, ly[m]);
                m++;
            }
        if (m > 1) {
            panel_viewport(i, cols, rows);
            plwind(0, xmax, ylo - 0.2, yhi + 0.3);
            plcol0(2);
            plbox("g", 0, 0, "g", 0, 0);
            plcol0(1);
            plschr(0, 0.65);
            plbox("bcnst", 0, 0, "bcnstvl", 0, 0);
            char t[64];
            snprintf(t, sizeof t, "k = %g x onset", series_mult(s->name, "psd_k"));
            plmtex("t", 0.8, 0.5, 0.5, t);
            plmtex("b", 2.8, 0.5, 0.5, "cycles per step");
            plmtex("l", 4.0, 0.5, 0.5, "power");
            plschr(0, 1.0);
            plcol0(3);
            plwidth(1.5);
            plline((PLINT)m, lx, ly);
            plwidth(1);
            if (f > 0) {
                double vx[2] = {f, f}, vy[2] = {ylo - 0.2, yhi + 0.3};
                plcol0(4);
                pllsty(2);
                plwidth(2);
                plline(2, vx, vy);
                pllsty(1);
                plwidth(1);
            }
        }
        free(lx);
        free(ly);
    }
    plvpor(0.05, 0.95, 0.86, 0.90);
    plwind(0, 1, 0, 1);
    kn_plot_title("Welch spectra of each mode's position (check 4); dashed: theory eta Omega / "
                  "(2 pi)");
    return kn_plot_end(err);
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
