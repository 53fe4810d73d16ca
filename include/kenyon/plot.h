/* kenyon plots (PLplot, cairo driver): line charts with error bands, bar charts with error bars,
 * heat maps. The format follows the file extension (.png, .svg, .pdf); files are written
 * atomically. For figures these do not cover, kn_plot_begin/kn_plot_end open a PLplot stream on a
 * file so callers can draw with PLplot directly in between. PLplot keeps global state: plot from
 * one thread at a time. */
#ifndef KENYON_PLOT_H
#define KENYON_PLOT_H

#include <stddef.h>

#include "kenyon/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kn_plot_axes {
    const char *title;
    const char *xlabel;
    const char *ylabel;
    int logx, logy;             /* log10 axes (values must be > 0) */
    double xmin, xmax;          /* both 0: automatic */
    double ymin, ymax;          /* both 0: automatic */
} kn_plot_axes;

/* Series colours before they repeat (series i gets colour i mod this). */
#define KN_PLOT_N_COLOURS 10

/* LINE, DASHED: lines; POINTS: filled dots; LINE_POINTS: both; OPEN_CIRCLES, CROSSES: larger
 * hollow markers that stay visible when drawn over (or under) another series' dots;
 * LINE_CIRCLES: a line with open circles, told apart from a LINE_POINTS series of one colour. */
typedef enum {
    KN_PLOT_LINE,
    KN_PLOT_POINTS,
    KN_PLOT_LINE_POINTS,
    KN_PLOT_DASHED,
    KN_PLOT_OPEN_CIRCLES,
    KN_PLOT_CROSSES,
    KN_PLOT_LINE_CIRCLES
} kn_plot_style;

typedef struct kn_plot_series {
    const char *label;       /* legend text; NULL: not in the legend */
    const double *x, *y;
    size_t n;
    const double *y_lo, *y_hi; /* optional shaded band (both or neither) */
    kn_plot_style style;
} kn_plot_series;

/* The PLplot string (for plstring, inside kn_plot_begin/end) that draws a style's marker: an
 * open circle, a diagonal cross, or a filled dot; NULL for LINE and DASHED, which have none. */
const char *kn_plot_marker_glyph(kn_plot_style style);

int kn_plot_lines(const char *path, const kn_plot_axes *axes, const kn_plot_series *series,
                  size_t n_series, kn_error *err);
/* The same with chosen colours: colours[i] is the palette index of series i (taken modulo
 * KN_PLOT_N_COLOURS), e.g. to draw variants of one method in its colour; colours NULL = by
 * position, as kn_plot_lines. */
int kn_plot_lines_coloured(const char *path, const kn_plot_axes *axes,
                           const kn_plot_series *series, const size_t *colours, size_t n_series,
                           kn_error *err);

/* One bar per label with optional symmetric error bars (errs may be NULL). */
int kn_plot_bars(const char *path, const kn_plot_axes *axes, const char *const *labels,
                 const double *values, const double *errs, size_t n, kn_error *err);
/* The same with chosen colours (colours[i]: palette index of bar i, as kn_plot_lines_coloured;
 * NULL = by position). */
int kn_plot_bars_coloured(const char *path, const kn_plot_axes *axes, const char *const *labels,
                          const double *values, const double *errs, const size_t *colours,
                          size_t n, kn_error *err);

/* z is rows x cols, row-major; row r is drawn at y = r (top to bottom when flip_y), column c at
 * x = c. NaN cells are left blank. zmin == zmax: range from the data. Cell values are printed
 * inside the cells when annotate != 0 (for small matrices). Tick labels are 1-based when
 * one_based. */
typedef struct kn_heatmap {
    const double *z;
    size_t rows, cols;
    double zmin, zmax;
    const char *zlabel;   /* colour bar label */
    int annotate;
    int flip_y;
    int one_based;
} kn_heatmap;

int kn_plot_heatmap(const char *path, const kn_plot_axes *axes, const kn_heatmap *hm,
                    kn_error *err);

/* Raw access: opens a PLplot stream writing to `path` (width x height pixels), with kenyon's
 * colours and fonts; the caller draws with PLplot (plenv, plline, ...) and then calls
 * kn_plot_end, which finishes the stream and moves the file into place. */
int kn_plot_begin(const char *path, int width, int height, kn_error *err);
int kn_plot_end(kn_error *err);
/* Inside kn_plot_begin/end: the title above the current viewport, centred on it when it fits,
 * else shifted and if need be set smaller so that it lies inside the page (as every kn_plot_*
 * title is placed). */
void kn_plot_title(const char *title);

/* Layout: every kn_plot_* figure keeps its title and legend inside the page: the plot area
 * shrinks to make room for the legend on its right, long labels are set smaller, and a title
 * wider than its plot is moved or set smaller. kn_plot_last_layout reports where the last plot
 * (or the current raw one) put them, as fractions of the page (x from the left, y from the
 * bottom), so tests and callers can verify it. Returns 1 if there was a title or a legend. */
typedef struct kn_plot_box {
    double x0, x1, y0, y1;
} kn_plot_box;
typedef struct kn_plot_layout {
    int has_title, has_legend;
    kn_plot_box title, legend;
} kn_plot_layout;
int kn_plot_last_layout(kn_plot_layout *out);

#ifdef __cplusplus
}
#endif
#endif
