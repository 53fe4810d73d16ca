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

/* Band colours live in cmap0 slots after the palette, with transparency; the slot after that is
 * fully transparent and used to measure text by laying it out invisibly. */
enum { COL_BAND = COL_SERIES + N_SERIES_COLOURS, COL_INVISIBLE };
/* PLplot starts with 16 cmap0 slots; everything above must fit in them. */
_Static_assert(COL_INVISIBLE < 16, "cmap0 has 16 slots");

/* Page margins (fractions of the page) that titles and legends keep clear of the image edge. */
#define EDGE 0.015

/* Where the last plot placed its title and legend (see kn_plot_last_layout). */
static kn_plot_layout last_layout;

static struct {
    int active;
    kn_atomic_file file;
    PLINT stream;
} current;

static void draw_title(const char *title);

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
    plscol0a(COL_INVISIBLE, 255, 255, 255, 0.0);
    plscolbga(255, 255, 255, 1.0);
    plsetopt("aa", "1");
    plinit();
    plfontld(1);
    plfont(1);
    plwidth(1.0);
    current.active = 1;
    memset(&last_layout, 0, sizeof last_layout);
    return KN_OK;
}

void kn_plot_title(const char *title)
{
    if (current.active)
        draw_title(title);
}

int kn_plot_last_layout(kn_plot_layout *out)
{
    *out = last_layout;
    return last_layout.has_title || last_layout.has_legend;
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

/* Rows of a legend of n entries in ncol columns (filled column by column). */
static int legend_rows(int n, int ncol) { return (n + ncol - 1) / ncol; }

/* Width and height, as fractions of the page, of a legend laid out at character scale `scale`
 * in ncol columns with symbol/line samples plot_w (page fraction) wide. PLplot measures the text with the
 * driver's own font metrics; the legend is laid out in the fully transparent colour on a
 * full-page viewport, so nothing shows. The current viewport and window are restored. */
static void measure_legend(const char *const *labels, const PLINT *opts, int n, double scale,
                           double plot_w, int ncol, double *w, double *h)
{
    PLFLT vx0, vx1, vy0, vy1, wx0, wx1, wy0, wy1;
    plgvpd(&vx0, &vx1, &vy0, &vy1);
    plgvpw(&wx0, &wx1, &wy0, &wy1);
    plvpor(0, 1, 0, 1);
    plwind(0, 1, 0, 1);
    PLINT *tc = malloc(sizeof(PLINT) * (size_t)n);
    PLINT *none = malloc(sizeof(PLINT) * (size_t)n);
    *w = *h = 0;
    if (tc && none) {
        for (int i = 0; i < n; i++) {
            tc[i] = COL_INVISIBLE;
            none[i] = PL_LEGEND_NONE;
        }
        (void)opts; /* samples are drawn in a box of plot_w whatever their kind */
        PLFLT lw, lh;
        plschr(0, 1.0);
        pllegend(&lw, &lh, 0, PL_POSITION_LEFT | PL_POSITION_TOP | PL_POSITION_INSIDE |
                 PL_POSITION_VIEWPORT, 0, 0, plot_w, COL_INVISIBLE, COL_INVISIBLE, 1,
                 legend_rows(n, ncol), ncol, n, none, 0.3, scale, 2.0, 0.0, tc, labels, NULL,
                 NULL, NULL, NULL, NULL, NULL,
                 NULL, NULL, NULL, NULL, NULL);
        *w = lw;
        *h = lh;
    }
    free(tc);
    free(none);
    if (vx1 > vx0 && vy1 > vy0 && wx1 != wx0 && wy1 != wy0) { /* there was a viewport */
        plvpor(vx0, vx1, vy0, vy1);
        plwind(wx0, wx1, wy0, wy1);
    }
}

/* Width of one line of text as a fraction of the page. A legend's width is its margins plus the
 * text, so the text's own width is that of the text written twice minus that of it once (the
 * driver does not report an empty string's length, so the margins cannot be measured alone). */
static double measure_text(const char *text, double scale)
{
    size_t n = strlen(text);
    char *twice = malloc(2 * n + 1);
    if (!twice)
        return 1.0; /* unknown: assume the widest, so callers shrink rather than overflow */
    memcpy(twice, text, n);
    memcpy(twice + n, text, n + 1);
    const char *labels[1] = {text};
    const PLINT opts[1] = {PL_LEGEND_NONE};
    double w1, w2, h;
    measure_legend(labels, opts, 1, scale, 0, 1, &w1, &h);
    labels[0] = twice;
    measure_legend(labels, opts, 1, scale, 0, 1, &w2, &h);
    free(twice);
    return w2 - w1;
}

/* Title above the current viewport, centred on it when it fits, else moved (and if need be set
 * smaller) so that it stays inside the page. Records its box in last_layout. */
static void draw_title(const char *title)
{
    if (!title || !*title)
        return;
    PLFLT vx0, vx1, vy0, vy1;
    plgvpd(&vx0, &vx1, &vy0, &vy1);
    double scale = 1.2, w = measure_text(title, scale);
    const double room = 1 - 2 * EDGE;
    for (int i = 0; i < 4 && w > room; i++) { /* the margins do not scale: iterate */
        scale *= room / w * 0.98;
        w = measure_text(title, scale);
    }
    double centre = 0.5 * (vx0 + vx1);
    if (centre - w / 2 < EDGE)
        centre = EDGE + w / 2;
    if (centre + w / 2 > 1 - EDGE)
        centre = 1 - EDGE - w / 2;
    PLFLT def, ht;
    plcol0(COL_FG);
    plschr(0, scale);
    plgchr(&def, &ht); /* character height in mm */
    PLFLT px0, px1, py0, py1;
    plgspa(&px0, &px1, &py0, &py1);
    double line = ht / (py1 - py0); /* one character height as a fraction of the page */
    plmtex("t", 1.5, (centre - vx0) / (vx1 - vx0), 0.5, title);
    plschr(0, 1.0);
    last_layout.has_title = 1;
    last_layout.title = (kn_plot_box){centre - w / 2, centre + w / 2, vy1 + 1.0 * line,
                                      vy1 + 2.7 * line};
}

/* Room a legend needs on the right of the plot: the legend's scale, columns and page width.
 * Labels are set smaller (down to 0.55) when they would take more than 40% of the page's width
 * or 78% of its height; a legend still too tall at that size (many methods in one figure) is
 * laid out in two columns instead, which may take up to half the page's width. */
#define LEGEND_SAMPLE 0.05 /* page fraction of a line/symbol sample */
#define LEGEND_GAP 0.012   /* page fraction between the plot frame and the legend */
static void fit_legend(const char *const *labels, const PLINT *opts, int n, int ncol,
                       double max_w, double max_h, double *scale, double *w, double *h)
{
    double sc = 0.8;
    measure_legend(labels, opts, n, sc, LEGEND_SAMPLE, ncol, w, h);
    double shrink = fmin(*w > max_w ? max_w / *w : 1, *h > max_h ? max_h / *h : 1);
    if (shrink < 1) {
        sc = fmax(0.55, sc * shrink);
        measure_legend(labels, opts, n, sc, LEGEND_SAMPLE, ncol, w, h);
    }
    *scale = sc;
}

static void legend_room(const char *const *labels, const PLINT *opts, int n, double *scale,
                        double *width, int *ncol)
{
    const double max_h = 0.78;
    double w, h;
    *ncol = 1;
    fit_legend(labels, opts, n, 1, 0.40, max_h, scale, &w, &h);
    if (h > max_h && n > 1) {
        *ncol = 2;
        fit_legend(labels, opts, n, 2, 0.50, max_h, scale, &w, &h);
    }
    *width = w;
}

/* Labels at 1, 2 and 5 (and, below one decade, every integer) times powers of ten between lo and
 * hi (log10 units) on the bottom (vertical 0) or left (1) axis of the current viewport. */
static void log_labels(double lo, double hi, int vertical)
{
    static const int dense[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, sparse[3] = {1, 2, 5};
    const int *mant = hi - lo < 1.0 ? dense : sparse;
    int nm = hi - lo < 1.0 ? 9 : 3;
    for (int e = (int)floor(lo) - 1; e <= (int)ceil(hi); e++)
        for (int m = 0; m < nm; m++) {
            double v = mant[m] * pow(10.0, e), lv = log10(v);
            if (lv < lo || lv > hi)
                continue;
            char text[32];
            snprintf(text, sizeof text, "%g", v);
            double pos = (lv - lo) / (hi - lo);
            if (vertical)
                plmtex("lv", 0.5, pos, 1.0, text);
            else
                plmtex("b", 1.5, pos, 0.5, text);
        }
}

static void draw_frame(const kn_plot_axes *a, double x0, double x1, double y0, double y1,
                       double vp_right)
{
    plvpor(0.10, vp_right, 0.12, 0.90);
    plwind(x0, x1, y0, y1);
    /* A log axis spanning less than about two decades gets at most two PLplot labels (it labels
     * powers of ten only): label 1, 2 and 5 times powers of ten ourselves instead. */
    int few_x = a->logx && x1 - x0 < 2.0, few_y = a->logy && y1 - y0 < 2.0;
    char xopt[16] = "bcst", yopt[16] = "bcstv";
    if (!few_x)
        strcat(xopt, "n");
    if (!few_y)
        strcat(yopt, "n");
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
    if (few_x)
        log_labels(x0, x1, 0);
    if (few_y)
        log_labels(y0, y1, 1);
    plschr(0, 1.0);
    pllab(a->xlabel ? a->xlabel : "", a->ylabel ? a->ylabel : "", "");
    draw_title(a->title);
}

/* Draws the legend outside the viewport on its right, at the scale legend_room chose. */
static void draw_legend(const char *const *labels, const PLINT *colours, const PLINT *styles,
                        const PLINT *opts, const char *const *marks, int n, double scale,
                        int ncol)
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
            symbols[i] = marks[i];
        }
        PLFLT vx0, vx1, vy0, vy1;
        plgvpd(&vx0, &vx1, &vy0, &vy1);
        double vw = vx1 - vx0, vh = vy1 - vy0;
        plschr(0, 1.0);
        /* Offsets and sample width are in units of the viewport: convert from the page. */
        pllegend(&w, &h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
                 PL_POSITION_RIGHT | PL_POSITION_OUTSIDE | PL_POSITION_VIEWPORT,
                 LEGEND_GAP / vw, 0.0, LEGEND_SAMPLE / vw, COL_BG, COL_FG, 1,
                 legend_rows(n, ncol), ncol, n, opts, 0.3, scale, 2.0, 0.0, text_colours, labels, colours, box_patterns, box_scales,
                 box_widths, colours, styles, line_widths, colours, sym_scales, sym_numbers,
                 symbols);
        plschr(0, 1.0);
        double cy = 0.5 * (vy0 + vy1);
        last_layout.has_legend = 1;
        last_layout.legend = (kn_plot_box){vx1 + LEGEND_GAP, vx1 + LEGEND_GAP + w * vw,
                                           cy - 0.5 * h * vh, cy + 0.5 * h * vh};
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

static int has_marker(kn_plot_style st)
{
    return st == KN_PLOT_POINTS || st == KN_PLOT_LINE_POINTS || st == KN_PLOT_OPEN_CIRCLES ||
           st == KN_PLOT_CROSSES || st == KN_PLOT_LINE_CIRCLES;
}

/* Marker glyphs, all Unicode drawn by the cairo driver's font (a filled dot, an open circle and a
 * diagonal cross), so that two marker series at the same points stay distinguishable. */
const char *kn_plot_marker_glyph(kn_plot_style st)
{
    switch (st) {
    case KN_PLOT_OPEN_CIRCLES:
    case KN_PLOT_LINE_CIRCLES: return "\u25cb";
    case KN_PLOT_CROSSES: return "\u00d7";
    case KN_PLOT_POINTS:
    case KN_PLOT_LINE_POINTS: return "\u2022";
    default: return NULL;
    }
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
    for (size_t i = 0; i < n_series; i++)
        if (series[i].n > maxn)
            maxn = series[i].n;
    double *px = malloc(sizeof(double) * (2 * maxn + 1));
    double *py = malloc(sizeof(double) * (2 * maxn + 1));
    if (!px || !py) {
        free(px);
        free(py);
        return kn_fail(err, KN_ENOMEM, "%s: out of memory", path);
    }
    PLINT *colours = malloc(sizeof(PLINT) * (n_series + 1));
    PLINT *styles = malloc(sizeof(PLINT) * (n_series + 1));
    PLINT *opts = malloc(sizeof(PLINT) * (n_series + 1));
    const char **labels = malloc(sizeof(char *) * (n_series + 1));
    const char **symbols = malloc(sizeof(char *) * (n_series + 1));
    if (!colours || !styles || !opts || !labels || !symbols) {
        rc = kn_fail(err, KN_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    int li = 0;
    for (size_t i = 0; i < n_series; i++) {
        const kn_plot_series *s = &series[i];
        if (!s->label)
            continue;
        colours[li] = series_colour(chosen, i);
        styles[li] = s->style == KN_PLOT_DASHED ? 2 : 1;
        opts[li] = !has_marker(s->style)         ? PL_LEGEND_LINE
                   : s->style == KN_PLOT_LINE_POINTS || s->style == KN_PLOT_LINE_CIRCLES
                       ? PL_LEGEND_LINE | PL_LEGEND_SYMBOL
                       : PL_LEGEND_SYMBOL;
        symbols[li] = has_marker(s->style) ? kn_plot_marker_glyph(s->style) : "";
        labels[li++] = s->label;
    }
    rc = kn_plot_begin(path, 1000, 640, err);
    if (rc)
        goto done;
    pladv(0);
    double legend_scale = 0.8, legend_w = 0;
    int legend_cols = 1;
    if (li)
        legend_room(labels, opts, li, &legend_scale, &legend_w, &legend_cols);
    draw_frame(axes, x0, x1, y0, y1, li ? 1 - EDGE - legend_w - LEGEND_GAP : 0.95);

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
        if ((s->style == KN_PLOT_LINE || s->style == KN_PLOT_DASHED ||
             s->style == KN_PLOT_LINE_POINTS || s->style == KN_PLOT_LINE_CIRCLES) && m > 1)
            plline((PLINT)m, px, py);
        plwidth(1.0);
        pllsty(1);
        if (has_marker(s->style)) {
            plschr(0, s->style == KN_PLOT_POINTS || s->style == KN_PLOT_LINE_POINTS ? 1.0 : 0.85);
            plstring((PLINT)m, px, py, kn_plot_marker_glyph(s->style));
            plschr(0, 1.0);
        }
    }
    draw_legend(labels, colours, styles, opts, symbols, li, legend_scale, legend_cols);
    rc = kn_plot_end(err);
done:
    free(colours);
    free(styles);
    free(opts);
    free(labels);
    free(symbols);
    free(px);
    free(py);
    return rc;
}

int kn_plot_bars(const char *path, const kn_plot_axes *axes, const char *const *labels,
                 const double *values, const double *errs, size_t n, kn_error *err)
{
    return kn_plot_bars_coloured(path, axes, labels, values, errs, NULL, n, err);
}

int kn_plot_bars_coloured(const char *path, const kn_plot_axes *axes, const char *const *labels,
                          const double *values, const double *errs, const size_t *colours,
                          size_t n, kn_error *err)
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
    /* Labels wider than their bar's slot (about 9 px a character here, 850 px of plot) are
     * set on two alternating lines so neighbours do not run into each other; when even two
     * lines are too narrow (many bars: a benchmark of 19 methods), they are set vertically
     * below the axis, the page grows downwards to hold them (about 10 px a character; the plot
     * keeps its 461 px of height), and the values above the bars (the report's table has them)
     * are left out. */
    size_t widest = 0;
    for (size_t i = 0; labels && i < n; i++)
        if (labels[i] && strlen(labels[i]) > widest)
            widest = strlen(labels[i]);
    const double slot = 850.0 / (double)n;
    const int vertical = (double)widest * 9.0 > 2.0 * slot;
    const int stagger = !vertical && (double)widest * 9.0 > slot;
    const double label_px = vertical ? 65.0 + 10.0 * (double)widest : 0.0;
    const int height = vertical ? (int)(64.0 + 461.0 + label_px) : 640;
    const double bottom = vertical ? label_px / height : 0.18, top = bottom + 461.0 / height;
    rc = kn_plot_begin(path, 1000, height, err);
    if (rc)
        return rc;
    pladv(0);
    plvpor(0.10, 0.95, bottom, vertical ? top : 0.90);
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
        plcol0(series_colour(colours, i));
        plfill(4, bx, by);
        plcol0(COL_FG);
        plline(4, bx, by);
        if (errs && isfinite(errs[i]) && errs[i] > 0) {
            double x = (double)i, lo = values[i] - errs[i], hi = values[i] + errs[i];
            plwidth(1.5);
            plerry(1, &x, &lo, &hi);
            plwidth(1.0);
        }
        if (vertical)
            continue;
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
    for (size_t i = 0; i < n; i++) {
        const char *text = labels && labels[i] ? labels[i] : "";
        if (vertical)
            plmtex("bv", 0.7, ((double)i + 0.5) / (double)n, 1.0, text);
        else
            plmtex("b", stagger && i % 2 ? 2.4 : 1.3, ((double)i + 0.5) / (double)n, 0.5, text);
    }
    plschr(0, 1.0);
    pllab("", axes->ylabel ? axes->ylabel : "", "");
    /* below the labels: vertical ones take about 0.62 character heights per character */
    const double xlab = vertical ? 1.6 + 0.62 * 0.9 * (double)widest : stagger ? 4.0 : 3.2;
    plmtex("b", xlab, 0.5, 0.5, axes->xlabel ? axes->xlabel : "");
    draw_title(axes->title);
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
    draw_title(axes->title);

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
