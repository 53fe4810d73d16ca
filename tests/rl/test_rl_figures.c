/* Tests of the figure kinds the RL reports use (kenyon/plot_figures.h): the diverging heat map
 * colours negative cells blue, positive red and zero white on a scale centred on zero (read back
 * from the SVG's fills); multi-panel and grouped-bar figures are written; bad input is refused
 * with a message and leaves no file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kenyon/plot_figures.h"
#include "test_support.h"

/* Counts the SVG fills that are clearly blue (b > r + 15%), clearly red (r > b + 15%) and white. */
static void count_fills(const char *svg, int *blue, int *red, int *white)
{
    *blue = *red = *white = 0;
    for (const char *p = strstr(svg, "fill:rgb("); p; p = strstr(p + 1, "fill:rgb(")) {
        double r, g, b;
        if (sscanf(p, "fill:rgb(%lf%%,%lf%%,%lf%%)", &r, &g, &b) != 3)
            continue;
        *blue += b > r + 15.0;
        *red += r > b + 15.0;
        *white += r > 99.0 && g > 99.0 && b > 99.0;
    }
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && st.st_size > 0;
}

static void test_diverging_heatmap_signs(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("figures");
    kn_plot_axes ax = {"signed", "column", "row", 0, 0, 0, 0, 0, 0};
    kn_error err;
    /* one negative, one zero, one positive cell */
    double z1[3] = {-1.0, 0.0, 1.0};
    kn_heatmap h1 = {z1, 1, 3, 0, 0, "z", 0, 0, 0};
    const char *p1 = kt_path(dir, "signed.svg");
    assert_int_equal(kn_figure_heatmap_diverging(p1, &ax, &h1, &err), 0);
    /* all positive: no blue cell; the colour bar is the same in both */
    double z2[3] = {0.2, 0.6, 1.0};
    kn_heatmap h2 = {z2, 1, 3, 0, 0, "z", 0, 0, 0};
    const char *p2 = kt_path(dir, "positive.svg");
    assert_int_equal(kn_figure_heatmap_diverging(p2, &ax, &h2, &err), 0);
    char *s1 = kt_read_file(p1, NULL), *s2 = kt_read_file(p2, NULL);
    int b1, r1, w1, b2, r2, w2;
    count_fills(s1, &b1, &r1, &w1);
    count_fills(s2, &b2, &r2, &w2);
    printf("signed: %d blue, %d red, %d white; positive: %d blue, %d red, %d white\n", b1, r1, w1,
           b2, r2, w2);
    assert_true(b1 > 0 && r1 > 0);
    assert_int_equal(b1, b2 + 1); /* the -1 cell is blue, nothing else changed colour side */
    assert_int_equal(r2, r1 + 2); /* 0.2 and 0.6 are red where -1 and 0 were not */
    assert_true(w1 >= w2 + 1);    /* the 0 cell is white */
    free(s1);
    free(s2);
}

static void test_panels_and_bars_are_written(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("figures2");
    kn_error err;
    double x[4] = {1, 2, 3, 4}, y[4] = {1, 4, 9, 16}, y2[4] = {2, 3, 5, 7};
    kn_plot_series s[2] = {{"squares", x, y, 4, NULL, NULL, KN_PLOT_LINE_POINTS},
                           {"primes", x, y2, 4, NULL, NULL, KN_PLOT_POINTS}};
    kn_figure_panel p[2];
    memset(p, 0, sizeof p);
    p[0].axes.title = "lines";
    p[0].series = s;
    p[0].n_series = 2;
    p[0].legend = KN_LEGEND_TOP_LEFT;
    p[1].axes.title = "scatter";
    p[1].series = s + 1;
    p[1].n_series = 1;
    p[1].identity_line = 1;
    const char *pp = kt_path(dir, "panels.png");
    assert_int_equal(kn_figure_panels(pp, "two panels", p, 2, 2, 1000, 500, &err), 0);
    assert_true(exists(pp));

    const char *groups[2] = {"rewarded", "unrewarded"}, *bars[2] = {"common", "uncommon"};
    double v[4] = {0.9, 0.6, 0.5, 0.8}, e[4] = {0.01, 0.02, 0.02, 0.01};
    kn_bar_panel bp[2] = {{"agent A", v, e}, {"agent B", v, NULL}};
    const char *pb = kt_path(dir, "bars.png");
    assert_int_equal(kn_figure_grouped_bars(pb, "stay", "P(stay)", 0, 1, groups, 2, bars, 2, bp,
                                            2, &err), 0);
    assert_true(exists(pb));

    /* refused, with no file left behind */
    const char *bad = kt_path(dir, "bad.png");
    assert_int_equal(kn_figure_grouped_bars(bad, "stay", "P", 1, 0, groups, 2, bars, 2, bp, 2,
                                            &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "y range"));
    assert_int_equal(kn_figure_panels(bad, NULL, p, 0, 1, 800, 600, &err), KN_EINVAL);
    kn_plot_series broken = {"none", NULL, y, 4, NULL, NULL, KN_PLOT_LINE};
    p[0].series = &broken;
    p[0].n_series = 1;
    assert_int_equal(kn_figure_panels(bad, NULL, p, 1, 1, 800, 600, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "panel 1 series 1"));
    kn_heatmap empty = {NULL, 0, 0, 0, 0, NULL, 0, 0, 0};
    assert_int_equal(kn_figure_heatmap_diverging(bad, NULL, &empty, &err), KN_EINVAL);
    assert_false(exists(bad));
    assert_int_equal(kn_figure_panels(kt_path(dir, "x.gif"), NULL, p + 1, 1, 1, 800, 600, &err),
                     KN_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_diverging_heatmap_signs),
        cmocka_unit_test(test_panels_and_bars_are_written),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
