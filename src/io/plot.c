/* Plots through PLplot's cairo driver: line charts with error bands, bar charts with error bars,
 * heat maps, and raw stream access (kn_plot_begin/end). See kenyon/plot.h.
 * PLplot writes to a temporary made by kn_atomic_open that is fsynced and renamed into place when
 * the plot is complete, so a failed plot never leaves a partial file. */
#include "kenyon/plot.h"

#include "kenyon/fileio.h"

#include <math.h>
#include <plplot/plplot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* cmap0: 0 background (white), 1 foreground (near black), 2 light grid grey, then series colours
 * (a colour-blind-friendly qualitative palette). */
enum { COL_BG = 0, COL_FG = 1, COL_GRID = 2, COL_SERIES = 3, N_SERIES_COLOURS = KN_PLOT_N_COLOURS };
static const int palette[COL_SERIES + N_SERIES_COLOURS][3] = {
    {255, 255, 255}, {20, 20, 20},    {200, 200, 200}, {0, 114, 178},   {213, 94, 0},
    {0, 158, 115},   {204, 121, 167}, {230, 159, 0},   {86, 180, 233},  {120, 120, 120},
    {0, 0, 0},       {153, 0, 0},     {102, 51, 153},
};

/* Band colours live in cmap0 slots after the palette, with transparency. */
enum { COL_BAND = COL_SERIES + N_SERIES_COLOURS };

static struct {
    int active;
    kn_atomic_file file;
    PLINT stream;
} current;

static const char *device_for(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (!dot)
        return NULL;
    if (strcmp(dot, ".png") == 0)
        return "pngcairo";
    if (strcmp(dot, ".svg") == 0)
        return "svgcairo";
    if (strcmp(dot, ".pdf") == 0)
        return "pdfcairo";
    return NULL;
}

int kn_plot_begin(const char *path, int width, int height, kn_error *err)
{
    if (current.active)
        return kn_fail(err, KN_ESTATE, "%s: another plot is still open", path);
    const char *dev = device_for(path);
    if (!dev)
        return kn_fail(err, KN_EINVAL, "%s: plot format must be .png, .svg or .pdf", path);
    if (width < 100 || height < 100 || width > 10000 || height > 10000)
        return kn_fail(err, KN_EINVAL, "%s: plot size %dx%d out of range", path, width, height);
    /* The temporary is created exclusively by kn_atomic_open; PLplot then writes into it by name
     * and kn_plot_end fsyncs and renames it like any other output. */
    int rc = kn_atomic_open(&current.file, path, err);
    if (rc)
        return rc;

    plmkstrm(&current.stream);
    plsdev(dev);
    plsfnam(current.file.temp_path);
    plspage(0, 0, width, height, 0, 0);
    for (int i = 0; i < COL_BAND; i++)
        plscol0a(i, palette[i][0], palette[i][1], palette[i][2], 1.0);
    plscolbga(255, 255, 255, 1.0);
    plsetopt("aa", "1");
    plinit();
    plfontld(1);
    plfont(1);
    plwidth(1.0);
    current.active = 1;
    return KN_OK;
}

int kn_plot_end(kn_error *err)
{
    if (!current.active)
        return kn_fail(err, KN_ESTATE, "no plot is open");
    plend1();
    current.active = 0;
    return kn_atomic_commit(&current.file, err);
}

static double tx(double v, int logged) { return logged ? log10(v) : v; }

/* cmap0 slot of series i: the caller's colour for it, else the i-th palette colour. */
static PLINT series_colour(const size_t *colours, size_t i)
{
    size_t k = colours ? colours[i] : i;
    return COL_SERIES + (PLINT)(k % N_SERIES_COLOURS);
}

static int range_of(const kn_plot_series *s, size_t ns, const kn_plot_axes *a, double *x0,
                    double *x1, double *y0, double *y1)
{
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (size_t i = 0; i < ns; i++)
        for (size_t j = 0; j < s[i].n; j++) {
            double x = s[i].x[j], y = s[i].y[j];
            double lo = s[i].y_lo ? s[i].y_lo[j] : y, hi = s[i].y_hi ? s[i].y_hi[j] : y;
            if (!isfinite(x) || !isfinite(y) || (a->logx && x <= 0) || (a->logy && y <= 0))
                continue;
            x = tx(x, a->logx);
            xlo = fmin(xlo, x);
            xhi = fmax(xhi, x);
            if (isfinite(lo) && (!a->logy || lo > 0))
                ylo = fmin(ylo, tx(lo, a->logy));
            if (isfinite(hi) && (!a->logy || hi > 0))
                yhi = fmax(yhi, tx(hi, a->logy));
            ylo = fmin(ylo, tx(y, a->logy));
            yhi = fmax(yhi, tx(y, a->logy));
        }
    if (!(xlo <= xhi) || !(ylo <= yhi))
        return -1;
    if (a->xmin != 0 || a->xmax != 0) {
        xlo = tx(a->xmin, a->logx);
        xhi = tx(a->xmax, a->logx);
    } else {
        /* A little room so markers at the ends are not cut by the frame. */
        double pad = (xhi - xlo) * 0.02;
        xlo -= pad;
        xhi += pad;
    }
    if (a->ymin != 0 || a->ymax != 0) {
        ylo = tx(a->ymin, a->logy);
        yhi = tx(a->ymax, a->logy);
    } else {
        double pad = (yhi - ylo) * 0.05;
        if (pad == 0)
            pad = fabs(yhi) * 0.05 + 1e-9;
        ylo -= pad;
        yhi += pad;
    }
    if (xlo == xhi) {
        xlo -= 0.5;
        xhi += 0.5;
    }
    *x0 = xlo;
    *x1 = xhi;
    *y0 = ylo;
    *y1 = yhi;
    return 0;
}

static void draw_frame(const kn_plot_axes *a, double x0, double x1, double y0, double y1,
                       double vp_right)
{
    plvpor(0.10, vp_right, 0.12, 0.90);
    plwind(x0, x1, y0, y1);
    char xopt[16] = "bcnst", yopt[16] = "bcnstv";
    if (a->logx)
        strcat(xopt, "l");
    if (a->logy)
        strcat(yopt, "l");
    plcol0(COL_GRID);
    plwidth(0.5);
    plbox("g", 0, 0, "g", 0, 0);
    plwidth(1.0);
    plcol0(COL_FG);
    plschr(0, 0.9);
    plbox(xopt, 0, 0, yopt, 0, 0);
    plschr(0, 1.0);
    pllab(a->xlabel ? a->xlabel : "", a->ylabel ? a->ylabel : "", "");
    plschr(0, 1.2);
    plmtex("t", 1.5, 0.5, 0.5, a->title ? a->title : "");
    plschr(0, 1.0);
}

static void draw_legend(const char *const *labels, const PLINT *colours, const PLINT *styles,
                        const PLINT *opts, int n)
{
    if (n == 0)
        return;
    PLFLT w, h;
    PLINT *text_colours = malloc(sizeof(PLINT) * (size_t)n);
    PLFLT *line_widths = malloc(sizeof(PLFLT) * (size_t)n);
    PLINT *box_patterns = calloc((size_t)n, sizeof(PLINT));
    PLFLT *box_scales = malloc(sizeof(PLFLT) * (size_t)n);
    PLFLT *box_widths = malloc(sizeof(PLFLT) * (size_t)n);
    PLFLT *sym_scales = malloc(sizeof(PLFLT) * (size_t)n);
    PLINT *sym_numbers = malloc(sizeof(PLINT) * (size_t)n);
    const char **symbols = malloc(sizeof(char *) * (size_t)n);
    if (text_colours && line_widths && box_patterns && box_scales && box_widths && sym_scales &&
        sym_numbers && symbols) {
        for (int i = 0; i < n; i++) {
            text_colours[i] = COL_FG;
            line_widths[i] = 2.0;
            box_scales[i] = 0.8;
            box_widths[i] = 1.0;
            sym_scales[i] = 1.0;
            sym_numbers[i] = 1;
            symbols[i] = "#(728)";
        }
        plschr(0, 0.8);
        pllegend(&w, &h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
                 PL_POSITION_RIGHT | PL_POSITION_OUTSIDE | PL_POSITION_VIEWPORT, 0.02, 0.0, 0.08,
                 COL_BG, COL_FG, 1, 0, 0, n, opts, 0.8, 1.0, 2.0, 0.0, text_colours, labels,
                 colours, box_patterns, box_scales, box_widths, colours, styles, line_widths,
                 colours, sym_scales, sym_numbers, symbols);
        plschr(0, 1.0);
    }
    free(text_colours);
    free(line_widths);
    free(box_patterns);
    free(box_scales);
    free(box_widths);
    free(sym_scales);
    free(sym_numbers);
    free(symbols);
}

static int check_axes(const char *path, const kn_plot_axes *a, kn_error *err)
{
    if (!a)
        return kn_fail(err, KN_EINVAL, "%s: plot axes missing", path);
    return KN_OK;
}

int kn_plot_lines(const char *path, const kn_plot_axes *axes, const kn_plot_series *series,
                  size_t n_series, kn_error *err)
{
    return kn_plot_lines_coloured(path, axes, series, NULL, n_series, err);
}

int kn_plot_lines_coloured(const char *path, const kn_plot_axes *axes,
                           const kn_plot_series *series, const size_t *chosen, size_t n_series,
                           kn_error *err)
{
    int rc = check_axes(path, axes, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < n_series; i++)
        if (!series[i].x || !series[i].y || (!series[i].y_lo != !series[i].y_hi))
            return kn_fail(err, KN_EINVAL, "%s: series %zu needs x, y and both or no band", path,
                           i);
    double x0, x1, y0, y1;
    if (range_of(series, n_series, axes, &x0, &x1, &y0, &y1) != 0)
        return kn_fail(err, KN_EINVAL, "%s: nothing finite to plot", path);
    size_t maxn = 0;
    int n_legend = 0;
    for (size_t i = 0; i < n_series; i++) {
        if (series[i].n > maxn)
            maxn = series[i].n;
        n_legend += series[i].label != NULL;
    }
    double *px = malloc(sizeof(double) * (2 * maxn + 1));
    double *py = malloc(sizeof(double) * (2 * maxn + 1));
    if (!px || !py) {
        free(px);
        free(py);
        return kn_fail(err, KN_ENOMEM, "%s: out of memory", path);
    }
    rc = kn_plot_begin(path, 1000, 640, err);
    if (rc) {
        free(px);
        free(py);
        return rc;
    }
    pladv(0);
    draw_frame(axes, x0, x1, y0, y1, n_legend ? 0.74 : 0.95);

    /* Bands first, so lines stay on top. */
    for (size_t i = 0; i < n_series; i++) {
        const kn_plot_series *s = &series[i];
        if (!s->y_lo || s->n < 2)
            continue;
        const int *c = palette[series_colour(chosen, i)];
        plscol0a(COL_BAND, c[0], c[1], c[2], 0.22);
        plcol0(COL_BAND);
        size_t m = 0;
        for (size_t j = 0; j < s->n; j++) {
            px[m] = tx(s->x[j], axes->logx);
            py[m++] = tx(s->y_hi[j], axes->logy);
        }
        for (size_t j = s->n; j-- > 0;) {
            px[m] = tx(s->x[j], axes->logx);
            py[m++] = tx(s->y_lo[j], axes->logy);
        }
        plfill((PLINT)m, px, py);
    }
    PLINT *colours = malloc(sizeof(PLINT) * (n_series + 1));
    PLINT *styles = malloc(sizeof(PLINT) * (n_series + 1));
    PLINT *opts = malloc(sizeof(PLINT) * (n_series + 1));
    const char **labels = malloc(sizeof(char *) * (n_series + 1));
    int li = 0;
    for (size_t i = 0; i < n_series; i++) {
        const kn_plot_series *s = &series[i];
        size_t m = 0;
        for (size_t j = 0; j < s->n; j++) {
            if ((axes->logx && s->x[j] <= 0) || (axes->logy && s->y[j] <= 0) ||
                !isfinite(s->y[j]))
                continue;
            px[m] = tx(s->x[j], axes->logx);
            py[m++] = tx(s->y[j], axes->logy);
        }
        plcol0(series_colour(chosen, i));
        pllsty(s->style == KN_PLOT_DASHED ? 2 : 1);
        plwidth(2.0);
        if (s->style != KN_PLOT_POINTS && m > 1)
            plline((PLINT)m, px, py);
        plwidth(1.0);
        pllsty(1);
        if (s->style == KN_PLOT_POINTS || s->style == KN_PLOT_LINE_POINTS)
            plstring((PLINT)m, px, py, "#(728)");
        if (s->label && colours && styles && opts && labels) {
            colours[li] = series_colour(chosen, i);
            styles[li] = s->style == KN_PLOT_DASHED ? 2 : 1;
            opts[li] = s->style == KN_PLOT_POINTS ? PL_LEGEND_SYMBOL
                       : s->style == KN_PLOT_LINE_POINTS ? PL_LEGEND_LINE | PL_LEGEND_SYMBOL
                                                         : PL_LEGEND_LINE;
            labels[li++] = s->label;
        }
    }
    if (colours && styles && opts && labels)
        draw_legend(labels, colours, styles, opts, li);
    free(colours);
    free(styles);
    free(opts);
    free(labels);
    free(px);
    free(py);
    return kn_plot_end(err);
}

int kn_plot_bars(const char *path, const kn_plot_axes *axes, const char *const *labels,
                 const double *values, const double *errs, size_t n, kn_error *err)
{
    int rc = check_axes(path, axes, err);
    if (rc)
        return rc;
    if (n == 0)
        return kn_fail(err, KN_EINVAL, "%s: no bars to plot", path);
    double ylo = 0, yhi = 0;
    for (size_t i = 0; i < n; i++) {
        double e = errs && isfinite(errs[i]) ? errs[i] : 0;
        if (!isfinite(values[i]))
            continue;
        ylo = fmin(ylo, values[i] - e);
        yhi = fmax(yhi, values[i] + e);
    }
    if (axes->ymin != 0 || axes->ymax != 0) {
        ylo = axes->ymin;
        yhi = axes->ymax;
    } else {
        double pad = (yhi - ylo) * 0.08;
        yhi += pad > 0 ? pad : 1;
        if (ylo < 0)
            ylo -= pad;
    }
    rc = kn_plot_begin(path, 1000, 640, err);
    if (rc)
        return rc;
    pladv(0);
    plvpor(0.10, 0.95, 0.18, 0.90);
    plwind(-0.5, (double)n - 0.5, ylo, yhi);
    plcol0(COL_GRID);
    plwidth(0.5);
    plbox("", 0, 0, "g", 0, 0);
    plwidth(1.0);
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(values[i]))
            continue;
        double bx[4] = {(double)i - 0.35, (double)i - 0.35, (double)i + 0.35, (double)i + 0.35};
        double by[4] = {0, values[i], values[i], 0};
        plcol0(series_colour(NULL, i));
        plfill(4, bx, by);
        plcol0(COL_FG);
        plline(4, bx, by);
        if (errs && isfinite(errs[i]) && errs[i] > 0) {
            double x = (double)i, lo = values[i] - errs[i], hi = values[i] + errs[i];
            plwidth(1.5);
            plerry(1, &x, &lo, &hi);
            plwidth(1.0);
        }
        char text[32];
        snprintf(text, sizeof text, "%.3g", values[i]);
        plschr(0, 0.75);
        double ty = (values[i] >= 0 ? values[i] + (errs && isfinite(errs[i]) ? errs[i] : 0) : 0);
        plptex((double)i, ty + (yhi - ylo) * 0.03, 1, 0, 0.5, text);
        plschr(0, 1.0);
    }
    plcol0(COL_FG);
    plschr(0, 0.9);
    plbox("bc", 0, 0, "bcnstv", 0, 0);
    /* Labels wider than their bar's slot (about 9 px a character here, 850 px of plot) are
     * set on two alternating lines so neighbours do not run into each other. */
    size_t widest = 0;
    for (size_t i = 0; labels && i < n; i++)
        if (labels[i] && strlen(labels[i]) > widest)
            widest = strlen(labels[i]);
    const int stagger = (double)widest * 9.0 > 850.0 / (double)n;
    for (size_t i = 0; i < n; i++)
        plmtex("b", stagger && i % 2 ? 2.4 : 1.3, ((double)i + 0.5) / (double)n, 0.5,
               labels && labels[i] ? labels[i] : "");
    plschr(0, 1.0);
    pllab("", axes->ylabel ? axes->ylabel : "", "");
    plmtex("b", stagger ? 4.0 : 3.2, 0.5, 0.5, axes->xlabel ? axes->xlabel : "");
    plschr(0, 1.2);
    plmtex("t", 1.5, 0.5, 0.5, axes->title ? axes->title : "");
    plschr(0, 1.0);
    return kn_plot_end(err);
}

/* A perceptually ordered blue-to-yellow map for cmap1. */
static void set_heat_colours(void)
{
    PLFLT pos[5] = {0.0, 0.25, 0.5, 0.75, 1.0};
    PLFLT r[5] = {0.27, 0.23, 0.13, 0.37, 0.99};
    PLFLT g[5] = {0.00, 0.32, 0.57, 0.79, 0.91};
    PLFLT b[5] = {0.33, 0.55, 0.55, 0.38, 0.14};
    plscmap1n(256);
    plscmap1l(1, 5, pos, r, g, b, NULL);
}

int kn_plot_heatmap(const char *path, const kn_plot_axes *axes, const kn_heatmap *hm,
                    kn_error *err)
{
    int rc = check_axes(path, axes, err);
    if (rc)
        return rc;
    if (!hm || !hm->z || hm->rows == 0 || hm->cols == 0)
        return kn_fail(err, KN_EINVAL, "%s: empty heat map", path);
    double zmin = hm->zmin, zmax = hm->zmax;
    if (zmin == zmax) {
        zmin = INFINITY;
        zmax = -INFINITY;
        for (size_t i = 0; i < hm->rows * hm->cols; i++)
            if (isfinite(hm->z[i])) {
                zmin = fmin(zmin, hm->z[i]);
                zmax = fmax(zmax, hm->z[i]);
            }
        if (!(zmin <= zmax))
            return kn_fail(err, KN_EINVAL, "%s: heat map has no finite values", path);
        if (zmin == zmax)
            zmax = zmin + 1;
    }
    rc = kn_plot_begin(path, 900, 760, err);
    if (rc)
        return rc;
    set_heat_colours();
    pladv(0);
    plvpor(0.12, 0.80, 0.12, 0.88);
    double R = (double)hm->rows, C = (double)hm->cols;
    if (hm->flip_y)
        plwind(-0.5, C - 0.5, R - 0.5, -0.5);
    else
        plwind(-0.5, C - 0.5, -0.5, R - 0.5);
    for (size_t r = 0; r < hm->rows; r++)
        for (size_t c = 0; c < hm->cols; c++) {
            double v = hm->z[r * hm->cols + c];
            if (!isfinite(v))
                continue;
            double f = (v - zmin) / (zmax - zmin);
            f = f < 0 ? 0 : f > 1 ? 1 : f;
            plcol1(f);
            double bx[4] = {c - 0.5, c - 0.5, c + 0.5, c + 0.5};
            double by[4] = {r - 0.5, r + 0.5, r + 0.5, r - 0.5};
            plfill(4, bx, by);
            if (hm->annotate) {
                char text[16];
                snprintf(text, sizeof text, "%.2f", v);
                plcol0(f > 0.6 ? COL_FG : COL_BG);
                plschr(0, hm->cols > 12 ? 0.45 : 0.7);
                plptex((double)c, (double)r + 0.15, 1, 0, 0.5, text);
                plschr(0, 1.0);
            }
        }
    plcol0(COL_FG);
    plschr(0, 0.9);
    /* Integer ticks; shifted labels when one_based. */
    plbox("bc", 0, 0, "bc", 0, 0);
    size_t xstep = hm->cols > 25 ? (hm->cols + 19) / 20 : 1;
    size_t ystep = hm->rows > 25 ? (hm->rows + 19) / 20 : 1;
    for (size_t c = 0; c < hm->cols; c += xstep) {
        char t[16];
        snprintf(t, sizeof t, "%zu", c + (hm->one_based ? 1 : 0));
        plmtex("b", 1.2, ((double)c + 0.5) / C, 0.5, t);
    }
    for (size_t r = 0; r < hm->rows; r += ystep) {
        char t[16];
        snprintf(t, sizeof t, "%zu", r + (hm->one_based ? 1 : 0));
        double pos = ((double)r + 0.5) / R;
        plmtex("lv", 0.8, hm->flip_y ? 1.0 - pos : pos, 1.0, t);
    }
    plschr(0, 1.0);
    pllab(axes->xlabel ? axes->xlabel : "", axes->ylabel ? axes->ylabel : "", "");
    plschr(0, 1.2);
    plmtex("t", 1.5, 0.5, 0.5, axes->title ? axes->title : "");
    plschr(0, 1.0);

    /* Colour bar: a column of thin cells beside the map, with its own axis. */
    plvpor(0.85, 0.88, 0.12, 0.88);
    plwind(0, 1, zmin, zmax);
    const int steps = 128;
    for (int i = 0; i < steps; i++) {
        double a = zmin + (zmax - zmin) * i / steps, b = zmin + (zmax - zmin) * (i + 1) / steps;
        plcol1((i + 0.5) / steps);
        double bx[4] = {0, 0, 1, 1}, by[4] = {a, b, b, a};
        plfill(4, bx, by);
    }
    plcol0(COL_FG);
    plschr(0, 0.8);
    plbox("bc", 0, 0, "bcmstv", 0, 0);
    if (hm->zlabel)
        plmtex("r", 5.0, 0.5, 0.5, hm->zlabel);
    plschr(0, 1.0);
    return kn_plot_end(err);
}
