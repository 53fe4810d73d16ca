/* kenyon figure kinds beyond the basic plots of kenyon/plot.h, for the figures papers show:
 * several panels on one page (lines and scatters, each with its own title and legend, optional
 * y = x and y = 0 reference lines), grouped bar charts (bars of a few conditions side by side in
 * each group, one panel per agent), and heat maps of signed values on a diverging colour map
 * (blue below zero, white at zero, red above) centred on zero. Files are written atomically
 * through kn_plot_begin / kn_plot_end (the format follows the extension). Every title, legend
 * and tick label stays inside the page. */
#ifndef KENYON_PLOT_FIGURES_H
#define KENYON_PLOT_FIGURES_H

#include <stddef.h>

#include "kenyon/error.h"
#include "kenyon/plot.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where a panel's legend goes: inside the plot area, in a corner. */
typedef enum {
    KN_LEGEND_NONE = 0,
    KN_LEGEND_TOP_LEFT,
    KN_LEGEND_TOP_RIGHT,
    KN_LEGEND_BOTTOM_LEFT,
    KN_LEGEND_BOTTOM_RIGHT,
} kn_legend_corner;

/* One panel: its axes (title = panel title; both limits 0 = from the data), its series (lines,
 * points, or both, as in kenyon/plot.h; bands are not drawn here), their palette colours
 * (colours[i] of series i modulo KN_PLOT_N_COLOURS; NULL = by position). */
typedef struct kn_figure_panel {
    kn_plot_axes axes;
    const kn_plot_series *series;
    size_t n_series;
    const size_t *colours;
    int identity_line; /* dashed grey y = x */
    int zero_line;     /* thin grey y = 0 */
    kn_legend_corner legend;
} kn_figure_panel;

/* n panels in a grid of `columns` columns (rows as needed) on a width x height page, with an
 * overall title (may be NULL). */
int kn_figure_panels(const char *path, const char *title, const kn_figure_panel *panels,
                     size_t n, int columns, int width, int height, kn_error *err);

/* One panel of grouped bars: values and errs (may be NULL) are n_groups x n_bars (row-major);
 * NaN values are left out. */
typedef struct kn_bar_panel {
    const char *title;
    const double *values, *errs;
} kn_bar_panel;

/* Panels side by side sharing the y axis [ymin, ymax]; in each, one cluster per group
 * (group_labels under it) of n_bars bars coloured by bar (bar_labels in one legend). */
int kn_figure_grouped_bars(const char *path, const char *title, const char *ylabel, double ymin,
                           double ymax, const char *const *group_labels, size_t n_groups,
                           const char *const *bar_labels, size_t n_bars,
                           const kn_bar_panel *panels, size_t n_panels, kn_error *err);

/* A heat map as kn_plot_heatmap, on a diverging colour map symmetric about zero: the colour
 * range is [-m, m] with m = max(|zmin|, |zmax|) (or the data's largest |z| when zmin == zmax). */
int kn_figure_heatmap_diverging(const char *path, const kn_plot_axes *axes, const kn_heatmap *hm,
                                kn_error *err);

#ifdef __cplusplus
}
#endif
#endif
