/* The figure kinds of kenyon/plot_figures.h (multi-panel lines and scatters, grouped bars,
 * diverging heat maps), drawn with PLplot directly inside kn_plot_begin / kn_plot_end, which own
 * the stream, the fonts, the atomic file and the colour-blind-safe qualitative palette of the
 * basic plots (cmap0 slots 3..12); cmap1 holds the diverging map, set here. */
#include "kenyon/plot_figures.h"

#include <math.h>
#include <plplot/plplot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cmap0 as kn_plot_begin sets it (plot.c: background, foreground, grid grey, then the series
 * palette in slots 3..12); these figures only draw their grey darker. */
enum { C_BG = 0, C_FG = 1, C_GREY = 2, C_SERIES = 3 };

static void set_colours(void) { plscol0a(C_GREY, 150, 150, 150, 1.0); }

static PLINT colour_of(const size_t *colours, size_t i)
{
    return (PLINT)(C_SERIES + (colours ? colours[i] : i) % KN_PLOT_N_COLOURS);
}

/* Data range of the panel's series (finite points only), padded by 5%; axes limits win. */
static void panel_range(const kn_figure_panel *p, double *x0, double *x1, double *y0, double *y1)
{
    double a = HUGE_VAL, b = -HUGE_VAL, c = HUGE_VAL, d = -HUGE_VAL;
    for (size_t s = 0; s < p->n_series; s++)
        for (size_t i = 0; i < p->series[s].n; i++) {
            double x = p->series[s].x[i], y = p->series[s].y[i];
            if (!isfinite(x) || !isfinite(y))
                continue;
            a = fmin(a, x);
            b = fmax(b, x);
            c = fmin(c, y);
            d = fmax(d, y);
        }
    if (!(a <= b)) {
        a = c = 0.0;
        b = d = 1.0;
    }
    if (p->identity_line) { /* y = x needs the same range on both axes to read */
        double lo = fmin(a, c), hi = fmax(b, d);
        a = c = lo;
        b = d = hi;
    }
    if (p->zero_line) {
        c = fmin(c, 0.0);
        d = fmax(d, 0.0);
    }
    double px = b > a ? 0.05 * (b - a) : 0.5, py = d > c ? 0.05 * (d - c) : 0.5;
    *x0 = a - px;
    *x1 = b + px;
    *y0 = c - py;
    *y1 = d + py;
    if (p->axes.xmin != 0.0 || p->axes.xmax != 0.0) {
        *x0 = p->axes.xmin;
        *x1 = p->axes.xmax;
    }
    if (p->axes.ymin != 0.0 || p->axes.ymax != 0.0) {
        *y0 = p->axes.ymin;
        *y1 = p->axes.ymax;
    }
}

static void draw_points(const kn_plot_series *s)
{
    PLFLT *x = malloc(s->n * sizeof *x), *y = malloc(s->n * sizeof *y);
    if (!x || !y) {
        free(x);
        free(y);
        return; /* a plot without this series beats none; allocation of a few KB */
    }
    size_t m = 0;
    for (size_t i = 0; i < s->n; i++)
        if (isfinite(s->x[i]) && isfinite(s->y[i])) {
            x[m] = s->x[i];
            y[m] = s->y[i];
            m++;
        }
    if (m > 0) {
        plstring((PLINT)m, x, y, kn_plot_marker_glyph(s->style));
    }
    free(x);
    free(y);
}

/* Draws a polyline, broken at non-finite points. */
static void draw_line(const kn_plot_series *s)
{
    size_t i = 0;
    while (i < s->n) {
        while (i < s->n && !(isfinite(s->x[i]) && isfinite(s->y[i])))
            i++;
        size_t start = i;
        while (i < s->n && isfinite(s->x[i]) && isfinite(s->y[i]))
            i++;
        size_t len = i - start;
        if (len >= 2) {
            PLFLT *x = malloc(len * sizeof *x), *y = malloc(len * sizeof *y);
            if (x && y) {
                for (size_t k = 0; k < len; k++) {
                    x[k] = s->x[start + k];
                    y[k] = s->y[start + k];
                }
                plline((PLINT)len, x, y);
            }
            free(x);
            free(y);
        }
    }
}

static int is_points(kn_plot_style st)
{
    return st == KN_PLOT_POINTS || st == KN_PLOT_OPEN_CIRCLES || st == KN_PLOT_CROSSES;
}

static void draw_panel_legend(const kn_figure_panel *p)
{
    size_t n = 0;
    for (size_t s = 0; s < p->n_series; s++)
        n += p->series[s].label != NULL;
    if (!n || p->legend == KN_LEGEND_NONE)
        return;
    PLINT *opt = calloc(n, sizeof *opt), *tc = calloc(n, sizeof *tc), *lc = calloc(n, sizeof *lc);
    PLINT *ls = calloc(n, sizeof *ls), *sn = calloc(n, sizeof *sn);
    PLFLT *lw = calloc(n, sizeof *lw), *ss = calloc(n, sizeof *ss);
    const char **text = calloc(n, sizeof *text), **sym = calloc(n, sizeof *sym);
    if (opt && tc && lc && ls && sn && lw && ss && text && sym) {
        size_t k = 0;
        for (size_t s = 0; s < p->n_series; s++) {
            if (!p->series[s].label)
                continue;
            kn_plot_style st = p->series[s].style;
            opt[k] = is_points(st) ? PL_LEGEND_SYMBOL
                     : st == KN_PLOT_LINE_POINTS || st == KN_PLOT_LINE_CIRCLES
                         ? PL_LEGEND_LINE | PL_LEGEND_SYMBOL
                         : PL_LEGEND_LINE;
            tc[k] = C_FG;
            lc[k] = colour_of(p->colours, s);
            ls[k] = st == KN_PLOT_DASHED ? 2 : 1;
            lw[k] = 2.0;
            ss[k] = 0.7;
            sn[k] = 1;
            sym[k] = kn_plot_marker_glyph(st) ? kn_plot_marker_glyph(st) : "";
            text[k] = p->series[s].label;
            k++;
        }
        PLINT pos = PL_POSITION_INSIDE | PL_POSITION_VIEWPORT;
        switch (p->legend) {
        case KN_LEGEND_TOP_LEFT: pos |= PL_POSITION_TOP | PL_POSITION_LEFT; break;
        case KN_LEGEND_TOP_RIGHT: pos |= PL_POSITION_TOP | PL_POSITION_RIGHT; break;
        case KN_LEGEND_BOTTOM_LEFT: pos |= PL_POSITION_BOTTOM | PL_POSITION_LEFT; break;
        default: pos |= PL_POSITION_BOTTOM | PL_POSITION_RIGHT; break;
        }
        PLFLT w, h;
        pllegend(&w, &h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX, pos, 0.02, 0.03, 0.07,
                 C_BG, C_GREY, 1, 0, 0, (PLINT)n, opt, 0.6, 0.62, 1.6, 0.0, tc, text, NULL, NULL,
                 NULL, NULL, lc, ls, lw, lc, ss, sn, sym);
    }
    free(opt);
    free(tc);
    free(lc);
    free(ls);
    free(sn);
    free(lw);
    free(ss);
    free(text);
    free(sym);
}

/* The page title, centred in the band from y = from to the top of the page; set smaller when
 * long so that it fits the page width (about 0.0105 of the page per character at scale 1.2 on
 * a 1000-pixel-wide page, scaled by the page's aspect). */
static void page_title(const char *title, double from)
{
    plvpor(0.0, 1.0, from, 1.0);
    plwind(0, 1, 0, 1);
    PLFLT xmin, xmax, ymin, ymax, def_ht, ht;
    plgspa(&xmin, &xmax, &ymin, &ymax); /* page size in mm */
    double scale = 1.2;
    plschr(0, scale);
    plgchr(&def_ht, &ht); /* character height in mm at this scale */
    /* a proportional font's average advance is about 0.75 of the character height (measured on
     * the cairo driver's sans font); keep 4% of the width free */
    double need = (double)strlen(title) * 0.75 * ht, width_mm = xmax - xmin;
    if (need > 0.96 * width_mm)
        scale *= 0.96 * width_mm / need;
    plcol0(C_FG);
    plschr(0, scale);
    plptex(0.5, 0.45, 1.0, 0.0, 0.5, title);
    plschr(0, 1.0);
}

static void draw_panel(const kn_figure_panel *p, double vx0, double vx1, double vy0, double vy1)
{
    double x0, x1, y0, y1;
    panel_range(p, &x0, &x1, &y0, &y1);
    plvpor(vx0, vx1, vy0, vy1);
    plwind(x0, x1, y0, y1);
    plcol0(C_FG);
    plwidth(1.0);
    plschr(0, 0.8);
    plbox("bcnst", 0, 0, "bcnstv", 0, 0);
    plschr(0, 0.85);
    if (p->axes.xlabel)
        plmtex("b", 2.6, 0.5, 0.5, p->axes.xlabel);
    if (p->axes.ylabel)
        plmtex("l", 3.6, 0.5, 0.5, p->axes.ylabel);
    plschr(0, 0.95);
    if (p->axes.title)
        plmtex("t", 0.8, 0.5, 0.5, p->axes.title);
    plschr(0, 1.0);
    plcol0(C_GREY);
    if (p->zero_line) {
        PLFLT zx[2] = {x0, x1}, zy[2] = {0, 0};
        plline(2, zx, zy);
    }
    if (p->identity_line) {
        double lo = fmax(x0, y0), hi = fmin(x1, y1);
        PLFLT ix[2] = {lo, hi}, iy[2] = {lo, hi};
        pllsty(2);
        plline(2, ix, iy);
        pllsty(1);
    }
    for (size_t s = 0; s < p->n_series; s++) {
        const kn_plot_series *se = &p->series[s];
        plcol0(colour_of(p->colours, s));
        plwidth(2.0);
        pllsty(se->style == KN_PLOT_DASHED ? 2 : 1);
        if (!is_points(se->style))
            draw_line(se);
        pllsty(1);
        if (is_points(se->style) || se->style == KN_PLOT_LINE_POINTS ||
            se->style == KN_PLOT_LINE_CIRCLES) {
            plschr(0, 0.8);
            draw_points(se);
            plschr(0, 1.0);
        }
    }
    plwidth(1.0);
    draw_panel_legend(p);
}

int kn_figure_panels(const char *path, const char *title, const kn_figure_panel *panels,
                     size_t n, int columns, int width, int height, kn_error *err)
{
    if (n < 1 || columns < 1)
        return kn_fail(err, KN_EINVAL, "%s: a figure needs at least one panel and one column",
                       path);
    for (size_t i = 0; i < n; i++)
        for (size_t s = 0; s < panels[i].n_series; s++)
            if (!panels[i].series[s].x || !panels[i].series[s].y)
                return kn_fail(err, KN_EINVAL, "%s: panel %zu series %zu has no data", path,
                               i + 1, s + 1);
    int rc = kn_plot_begin(path, width, height, err);
    if (rc)
        return rc;
    set_colours();
    pladv(0);
    int cols = columns < (int)n ? columns : (int)n;
    int rows = (int)((n + (size_t)cols - 1) / (size_t)cols);
    double top = title ? 0.89 : 0.97, bottom = 0.03;
    double cell_w = 1.0 / cols, cell_h = (top - bottom) / rows;
    for (size_t i = 0; i < n; i++) {
        int r = (int)(i / (size_t)cols), c = (int)(i % (size_t)cols);
        double cx0 = c * cell_w, cy1 = top - r * cell_h;
        /* room for the y label and ticks on the left, x label below, panel title above */
        draw_panel(&panels[i], cx0 + 0.085 * (cols > 1 ? 1.6 : 1.0) * cell_w + 0.02,
                   cx0 + cell_w - 0.02, cy1 - cell_h + 0.085, cy1 - 0.05);
    }
    if (title)
        page_title(title, top);
    return kn_plot_end(err);
}

int kn_figure_grouped_bars(const char *path, const char *title, const char *ylabel, double ymin,
                           double ymax, const char *const *group_labels, size_t n_groups,
                           const char *const *bar_labels, size_t n_bars,
                           const kn_bar_panel *panels, size_t n_panels, kn_error *err)
{
    if (n_groups < 1 || n_bars < 1 || n_panels < 1 || n_bars > KN_PLOT_N_COLOURS)
        return kn_fail(err, KN_EINVAL, "%s: grouped bars need groups, 1..%d bars and panels",
                       path, KN_PLOT_N_COLOURS);
    if (!(ymax > ymin))
        return kn_fail(err, KN_EINVAL, "%s: y range [%g, %g] is empty", path, ymin, ymax);
    int rc = kn_plot_begin(path, n_panels > 1 ? (int)(260 + 300 * n_panels) : 760, 600, err);
    if (rc)
        return rc;
    set_colours();
    pladv(0);
    const double top = title ? 0.72 : 0.80, bottom = 0.12, left = 0.09, right = 0.98;
    const double pw = (right - left) / n_panels;
    const double bw = 0.8 / n_bars; /* bars fill 80% of each group's unit width */
    for (size_t k = 0; k < n_panels; k++) {
        plvpor(left + k * pw + 0.01, left + (k + 1) * pw - 0.01, bottom, top);
        plwind(-0.5, n_groups - 0.5, ymin, ymax);
        plcol0(C_FG);
        plschr(0, 0.8);
        plbox("bc", 0, 0, k == 0 ? "bcnstv" : "bcst", 0, 0);
        plschr(0, 0.85);
        for (size_t g = 0; g < n_groups; g++)
            plmtex("b", 1.4, (g + 0.5) / n_groups, 0.5, group_labels[g]);
        if (k == 0 && ylabel)
            plmtex("l", 3.4, 0.5, 0.5, ylabel);
        plschr(0, 0.95);
        if (panels[k].title)
            plmtex("t", 0.8, 0.5, 0.5, panels[k].title);
        plschr(0, 1.0);
        for (size_t g = 0; g < n_groups; g++)
            for (size_t b = 0; b < n_bars; b++) {
                double v = panels[k].values[g * n_bars + b];
                if (!isfinite(v))
                    continue;
                double xl = g - 0.4 + b * bw, xr = xl + 0.92 * bw;
                double lo = fmax(ymin, fmin(0.0, v)), hi = fmin(ymax, fmax(0.0, v));
                if (ymin > 0)
                    lo = ymin;
                PLFLT fx[4] = {xl, xr, xr, xl}, fy[4] = {lo, lo, hi, hi};
                plcol0((PLINT)(C_SERIES + b));
                plfill(4, fx, fy);
                if (panels[k].errs && isfinite(panels[k].errs[g * n_bars + b])) {
                    double e = panels[k].errs[g * n_bars + b], xm = 0.5 * (xl + xr);
                    PLFLT ex[2] = {xm, xm}, ey[2] = {fmax(ymin, v - e), fmin(ymax, v + e)};
                    plcol0(C_FG);
                    plline(2, ex, ey);
                }
            }
    }
    /* one legend for the bar colours, centred in a band between the panels and the title */
    plvpor(left, right, top + 0.075, top + 0.14);
    plwind(0, 1, 0, 1);
    PLINT opt[KN_PLOT_N_COLOURS], tc[KN_PLOT_N_COLOURS], bc[KN_PLOT_N_COLOURS],
        bp[KN_PLOT_N_COLOURS];
    PLFLT bs[KN_PLOT_N_COLOURS], bl[KN_PLOT_N_COLOURS];
    for (size_t b = 0; b < n_bars; b++) {
        opt[b] = PL_LEGEND_COLOR_BOX;
        tc[b] = C_FG;
        bc[b] = (PLINT)(C_SERIES + b);
        bp[b] = 0;
        bs[b] = 0.9;
        bl[b] = 1.0;
    }
    PLFLT w, h;
    pllegend(&w, &h, 0, PL_POSITION_TOP | PL_POSITION_INSIDE | PL_POSITION_VIEWPORT, 0.0, 0.0,
             0.04, C_BG, C_BG, 1, 1, (PLINT)n_bars,
             (PLINT)n_bars, opt, 0.5, 0.8, 1.5, 0.0, tc, bar_labels, bc, bp, bs, bl, NULL, NULL,
             NULL, NULL, NULL, NULL, NULL);
    if (title)
        page_title(title, top + 0.15);
    return kn_plot_end(err);
}

/* Blue (negative) - white (zero) - red (positive), as ColorBrewer's RdBu, in cmap1. */
static void set_diverging(void)
{
    PLFLT pos[5] = {0.0, 0.25, 0.5, 0.75, 1.0};
    PLFLT r[5] = {33 / 255.0, 146 / 255.0, 1.0, 239 / 255.0, 178 / 255.0};
    PLFLT g[5] = {102 / 255.0, 197 / 255.0, 1.0, 138 / 255.0, 24 / 255.0};
    PLFLT b[5] = {172 / 255.0, 222 / 255.0, 1.0, 98 / 255.0, 43 / 255.0};
    plscmap1n(256);
    plscmap1l(1, 5, pos, r, g, b, NULL);
}

int kn_figure_heatmap_diverging(const char *path, const kn_plot_axes *axes, const kn_heatmap *hm,
                                kn_error *err)
{
    if (!hm || !hm->z || hm->rows < 1 || hm->cols < 1)
        return kn_fail(err, KN_EINVAL, "%s: empty heat map", path);
    double m = fmax(fabs(hm->zmin), fabs(hm->zmax));
    if (hm->zmin == hm->zmax) {
        m = 0.0;
        for (size_t i = 0; i < hm->rows * hm->cols; i++)
            if (isfinite(hm->z[i]))
                m = fmax(m, fabs(hm->z[i]));
    }
    if (!(m > 0.0))
        m = 1.0;
    int rc = kn_plot_begin(path, 900, 760, err);
    if (rc)
        return rc;
    set_colours();
    set_diverging();
    pladv(0);
    const double R = (double)hm->rows, Cn = (double)hm->cols;
    plvpor(0.11, 0.80, 0.10, 0.90);
    plwind(-0.5, Cn - 0.5, hm->flip_y ? R - 0.5 : -0.5, hm->flip_y ? -0.5 : R - 0.5);
    for (size_t r = 0; r < hm->rows; r++)
        for (size_t c = 0; c < hm->cols; c++) {
            double v = hm->z[r * hm->cols + c];
            if (!isfinite(v))
                continue;
            double f = 0.5 + 0.5 * fmax(-1.0, fmin(1.0, v / m));
            plcol1(f);
            PLFLT fx[4] = {c - 0.5, c + 0.5, c + 0.5, c - 0.5};
            PLFLT fy[4] = {r - 0.5, r - 0.5, r + 0.5, r + 0.5};
            plfill(4, fx, fy);
        }
    plcol0(C_FG);
    plschr(0, 0.85);
    plbox("bcnst", 0, 0, "bcnstv", 0, 0);
    plschr(0, 1.0);
    if (axes && axes->xlabel)
        plmtex("b", 2.8, 0.5, 0.5, axes->xlabel);
    if (axes && axes->ylabel)
        plmtex("l", 4.0, 0.5, 0.5, axes->ylabel);
    if (axes && axes->title)
        kn_plot_title(axes->title);
    /* colour bar: a column of shades from -m to m at the right */
    plvpor(0.85, 0.88, 0.10, 0.90);
    plwind(0, 1, -m, m);
    const int steps = 128;
    for (int i = 0; i < steps; i++) {
        double a = -m + 2 * m * i / steps, b = -m + 2 * m * (i + 1) / steps;
        plcol1((i + 0.5) / steps);
        PLFLT fx[4] = {0, 1, 1, 0}, fy[4] = {a, a, b, b};
        plfill(4, fx, fy);
    }
    plcol0(C_FG);
    plschr(0, 0.8);
    plbox("bc", 0, 0, "bcmstv", 0, 0);
    plschr(0, 0.9);
    if (hm->zlabel)
        plmtex("r", 5.0, 0.5, 0.5, hm->zlabel);
    plschr(0, 1.0);
    return kn_plot_end(err);
}
