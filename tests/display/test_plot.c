/* Tests for src/display/plot.c: each plot kind writes a valid PNG/SVG/PDF, bad arguments fail cleanly
 * and leave no file behind, and every title and legend lies inside the image (checked on the
 * glyphs the cairo driver actually placed in the SVG, and on the reported layout). */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kenyon/plot.h"

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int starts_with_bytes(const char *path, const void *magic, size_t n)
{
    unsigned char buf[16];
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t got = fread(buf, 1, n, f);
    fclose(f);
    return got == n && memcmp(buf, magic, n) == 0;
}

static const unsigned char png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

static void test_lines_png_svg_pdf(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("plot");
    double x[20], y1[20], y2[20], lo[20], hi[20];
    for (int i = 0; i < 20; i++) {
        x[i] = i + 1;
        y1[i] = 1.0 / (i + 1);
        y2[i] = 0.5 + 0.02 * i;
        lo[i] = y2[i] - 0.05;
        hi[i] = y2[i] + 0.05;
    }
    kn_plot_series s[2] = {
        {.label = "decay", .x = x, .y = y1, .n = 20, .style = KN_PLOT_LINE_POINTS},
        {.label = "rise +- band", .x = x, .y = y2, .n = 20, .y_lo = lo, .y_hi = hi},
    };
    kn_plot_axes ax = {.title = "Test", .xlabel = "classes", .ylabel = "accuracy"};
    kn_error err;
    const char *png = kt_path(dir, "lines.png");
    assert_int_equal(kn_plot_lines(png, &ax, s, 2, &err), KN_OK);
    assert_true(starts_with_bytes(png, png_magic, 8));
    assert_true(file_size(png) > 5000);
    const char *svg = kt_path(dir, "lines.svg");
    assert_int_equal(kn_plot_lines(svg, &ax, s, 2, &err), KN_OK);
    assert_true(starts_with_bytes(svg, "<?xml", 5));
    const char *pdf = kt_path(dir, "lines.pdf");
    ax.logx = ax.logy = 1;
    assert_int_equal(kn_plot_lines(pdf, &ax, s, 2, &err), KN_OK);
    assert_true(starts_with_bytes(pdf, "%PDF", 4));
}

/* Occurrences of needle in the file's first MB; -1 if it cannot be read. */
static int count_of(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    int c = 0;
    for (const char *p = strstr(buf, needle); p; p = strstr(p + 1, needle))
        c++;
    return c;
}

static int file_contains(const char *path, const char *needle) { return count_of(path, needle) > 0; }

/* Series take the palette by position unless colours are given: both series in colour 0 leave
 * the second palette colour (213, 94, 0) out of the drawing. */
static void test_lines_chosen_colours(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("plot-colours");
    double x[3] = {1, 2, 3}, y1[3] = {0.1, 0.2, 0.3}, y2[3] = {0.3, 0.2, 0.1};
    kn_plot_series s[2] = {
        {.label = "a", .x = x, .y = y1, .n = 3, .style = KN_PLOT_LINE},
        {.label = "a variant", .x = x, .y = y2, .n = 3, .style = KN_PLOT_DASHED},
    };
    kn_plot_axes ax = {.title = "colours", .xlabel = "x", .ylabel = "y"};
    kn_error err;
    const char *second = "rgb(83.529412%,36.862745%,0%)";
    const char *by_position = kt_path(dir, "position.svg");
    assert_int_equal(kn_plot_lines(by_position, &ax, s, 2, &err), KN_OK);
    assert_true(file_contains(by_position, second));
    const size_t same[2] = {0, 0};
    const char *chosen = kt_path(dir, "chosen.svg");
    assert_int_equal(kn_plot_lines_coloured(chosen, &ax, s, same, 2, &err), KN_OK);
    assert_false(file_contains(chosen, second));
    assert_true(file_contains(chosen, "rgb(0%,44.705882%,69.803922%)")); /* colour 0 */
}

static int glyphs_inside(const char *path, double *min_x, double *max_x);

/* A LINE_CIRCLES series (how a bench figure tells apart two methods of one colour) is a line
 * with an open circle at every point and in its legend entry: four glyphs more than the plain
 * line, and more paths (the line) than the circles alone. */
static void test_line_with_circles(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("plot-circles");
    double x[3] = {1, 2, 3}, y[3] = {0.1, 0.2, 0.3}, lo, hi;
    kn_plot_axes ax = {.title = "circles", .xlabel = "x", .ylabel = "y"};
    const kn_plot_style styles[4] = {KN_PLOT_LINE, KN_PLOT_LINE_CIRCLES, KN_PLOT_OPEN_CIRCLES,
                                     KN_PLOT_POINTS};
    int glyphs[4], paths[4];
    kn_error err;
    for (int i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof name, "style%d.svg", i);
        const char *path = kt_path(dir, name);
        kn_plot_series s = {.label = "er", .x = x, .y = y, .n = 3, .style = styles[i]};
        assert_int_equal(kn_plot_lines(path, &ax, &s, 1, &err), KN_OK);
        glyphs[i] = glyphs_inside(path, &lo, &hi);
        paths[i] = count_of(path, "<path");
        assert_true(glyphs[i] > 0 && paths[i] > 0);
    }
    assert_int_equal(glyphs[1], glyphs[0] + 4);
    assert_int_equal(glyphs[2], glyphs[1]);
    assert_true(paths[1] > paths[2]);
    /* Filled dots are font glyphs like the circles: one per point and one in the legend. */
    assert_int_equal(glyphs[3], glyphs[2]);
}

static void test_marker_glyphs_are_distinct(void **state)
{
    (void)state;
    const char *dot = kn_plot_marker_glyph(KN_PLOT_POINTS);
    const char *circle = kn_plot_marker_glyph(KN_PLOT_OPEN_CIRCLES);
    const char *cross = kn_plot_marker_glyph(KN_PLOT_CROSSES);
    assert_non_null(dot);
    assert_non_null(circle);
    assert_non_null(cross);
    assert_string_not_equal(dot, circle);
    assert_string_not_equal(dot, cross);
    assert_string_not_equal(circle, cross);
    assert_string_equal(kn_plot_marker_glyph(KN_PLOT_LINE_POINTS), dot);
    assert_string_equal(kn_plot_marker_glyph(KN_PLOT_LINE_CIRCLES), circle);
    assert_null(kn_plot_marker_glyph(KN_PLOT_LINE));
    assert_null(kn_plot_marker_glyph(KN_PLOT_DASHED));
}

static void test_bars_and_heatmap(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("plot2");
    const char *labels[3] = {"fly", "ewc", "vanilla"};
    double v[3] = {0.07, 0.27, 0.86}, e[3] = {0.01, 0.03, 0.02};
    kn_plot_axes ax = {.title = "Memory loss", .xlabel = "method", .ylabel = "memory loss"};
    kn_error err;
    const char *bars = kt_path(dir, "bars.png");
    assert_int_equal(kn_plot_bars(bars, &ax, labels, v, e, 3, &err), KN_OK);
    assert_true(starts_with_bytes(bars, png_magic, 8));

    double z[16];
    for (int i = 0; i < 16; i++)
        z[i] = (i % 4) <= (i / 4) ? 1.0 - 0.1 * (i % 4) : NAN;
    kn_heatmap hm = {.z = z, .rows = 4, .cols = 4, .zmin = 0, .zmax = 1, .zlabel = "accuracy",
                     .annotate = 1, .flip_y = 1, .one_based = 1};
    const char *heat = kt_path(dir, "heat.png");
    assert_int_equal(kn_plot_heatmap(heat, &ax, &hm, &err), KN_OK);
    assert_true(file_size(heat) > 3000);
}

/* Every glyph the cairo SVG surface placed (<use ... x= y=>) lies inside the page, with room
 * for the glyph itself on the right (a glyph's x is its left edge). Returns the number of
 * glyphs, or -1 if one is outside (printed). */
static int glyphs_inside(const char *path, double *min_x, double *max_x)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    static char buf[1 << 22];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    double W = 0, H = 0;
    const char *svg = strstr(buf, "<svg");
    if (!svg || sscanf(strstr(svg, "width=\"") + 7, "%lf", &W) != 1 ||
        sscanf(strstr(svg, "height=\"") + 8, "%lf", &H) != 1 || W <= 0 || H <= 0)
        return -1;
    int count = 0, bad = 0;
    *min_x = INFINITY;
    *max_x = -INFINITY;
    for (const char *p = strstr(buf, "<use "); p; p = strstr(p + 1, "<use ")) {
        const char *end = strchr(p, '>');
        const char *xs = strstr(p, " x=\""), *ys = strstr(p, " y=\"");
        if (!end || !xs || !ys || xs > end || ys > end)
            continue;
        double x = atof(xs + 4), y = atof(ys + 4);
        count++;
        *min_x = fmin(*min_x, x);
        *max_x = fmax(*max_x, x);
        if (x < 0 || x > W - 6 || y < 6 || y > H) {
            if (!bad)
                fprintf(stderr, "%s: glyph at (%g, %g) outside %gx%g\n", path, x, y, W, H);
            bad = 1;
        }
    }
    return bad ? -1 : count;
}

static void assert_box_inside(const kn_plot_box *b)
{
    assert_true(b->x0 >= 0 && b->x1 <= 1 && b->y0 >= 0 && b->y1 <= 1);
    assert_true(b->x0 < b->x1 && b->y0 < b->y1);
}

/* Long and short titles and legend labels, on every plot kind: nothing leaves the page. Today's
 * figures have titles up to ~110 characters and legend labels up to ~45. */
static void test_titles_and_legends_inside_image(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("plot-layout");
    double x[10], y[10];
    for (int i = 0; i < 10; i++) {
        x[i] = i + 1;
        y[i] = (i + 1) * (i + 1);
    }
    /* (the long texts are named first: clang warns of concatenated literals in a list) */
    static const char long_title[] =
        "Mean squared displacement |theta_k - theta_0|^2 of SGD with momentum and weight decay "
        "against the exact Ornstein-Uhlenbeck theory, 200 replicas";
    static const char long_label[] =
        "a legend label that is really much too long to fit in the room beside the plot";
    const char *titles[3] = {
        "Short",
        "Fashion-MNIST pixels: average accuracy after each task, 5 seeds, class-incremental",
        long_title,
    };
    const char *labels[3] = {"a", "eta^2 tr Sigma / (S (1-beta^2)), fixed constant", long_label};
    kn_error err;
    for (int t = 0; t < 3; t++)
        for (int l = 0; l < 3; l++) {
            kn_plot_series s[2] = {
                {.label = labels[l], .x = x, .y = y, .n = 10, .style = KN_PLOT_LINE},
                {.label = "simulated", .x = x, .y = y, .n = 10, .style = KN_PLOT_OPEN_CIRCLES},
            };
            kn_plot_axes ax = {.title = titles[t], .xlabel = "step", .ylabel = "MSD",
                               .logx = 1, .logy = 1};
            char name[32];
            snprintf(name, sizeof name, "lines_%d_%d.svg", t, l);
            const char *path = kt_path(dir, name);
            assert_int_equal(kn_plot_lines(path, &ax, s, 2, &err), KN_OK);
            double lo, hi;
            assert_true(glyphs_inside(path, &lo, &hi) > 20);
            kn_plot_layout lay;
            assert_int_equal(kn_plot_last_layout(&lay), 1);
            assert_true(lay.has_title && lay.has_legend);
            assert_box_inside(&lay.title);
            assert_box_inside(&lay.legend);
            /* the legend sits right of the plot, not over the title */
            assert_true(lay.legend.y1 < lay.title.y0);
        }
    const char *bl[3] = {"fly", "ewc", "vanilla"};
    double v[3] = {0.1, 0.5, 0.9};
    for (int t = 0; t < 3; t++) {
        kn_plot_axes ax = {.title = titles[t], .xlabel = "method", .ylabel = "accuracy"};
        char name[32];
        snprintf(name, sizeof name, "bars_%d.svg", t);
        const char *path = kt_path(dir, name);
        assert_int_equal(kn_plot_bars(path, &ax, bl, v, NULL, 3, &err), KN_OK);
        double lo, hi;
        assert_true(glyphs_inside(path, &lo, &hi) > 5);
        kn_plot_layout lay;
        assert_int_equal(kn_plot_last_layout(&lay), 1);
        assert_box_inside(&lay.title);
        double z[4] = {0, 1, 2, 3};
        kn_heatmap hm = {.z = z, .rows = 2, .cols = 2, .zlabel = "value"};
        snprintf(name, sizeof name, "heat_%d.svg", t);
        path = kt_path(dir, name);
        assert_int_equal(kn_plot_heatmap(path, &ax, &hm, &err), KN_OK);
        assert_true(glyphs_inside(path, &lo, &hi) > 5);
        assert_int_equal(kn_plot_last_layout(&lay), 1);
        assert_box_inside(&lay.title);
    }
}

static int labels_in_band(const char *path, double y0, double y1);

/* A benchmark of 19 methods (kenyon bench with the one-pass learners): the legend, set in two
 * columns when one is too tall, stays inside the page and below the title, and every bar's
 * label stays on the page. */
static void test_many_series_legend_fits(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("plot-many");
    static const char *names[19] = {
        "fly", "fly-ridge", "v1", "v2", "v3", "vanilla", "offline", "ewc", "gem", "bir", "ncm",
        "slda", "er", "fly-apl", "fly-ridge:lambda=auto", "ranpac:M=3200", "fly-apl:m=6400",
        "fly-ridge:lambda=gcv", "ranpac"};
    double x[10], y[19][10];
    kn_plot_series s[19];
    for (int j = 0; j < 19; j++) {
        for (int i = 0; i < 10; i++) {
            x[i] = 2 * (i + 1);
            y[j][i] = 1.0 - 0.04 * j * i / 9.0;
        }
        s[j] = (kn_plot_series){.label = names[j], .x = x, .y = y[j], .n = 10,
                                .style = j % 2 ? KN_PLOT_DASHED : KN_PLOT_LINE_POINTS};
    }
    kn_plot_axes ax = {.title = "MNIST-20, pixels: accuracy over the classes trained so far",
                       .xlabel = "number of classes trained", .ylabel = "accuracy"};
    for (int n = 12; n <= 19; n += 7) {
        char name[32];
        snprintf(name, sizeof name, "many_%d.svg", n);
        const char *path = kt_path(dir, name);
        kn_error err;
        assert_int_equal(kn_plot_lines(path, &ax, s, (size_t)n, &err), KN_OK);
        double lo, hi;
        assert_true(glyphs_inside(path, &lo, &hi) > 20);
        kn_plot_layout lay;
        assert_int_equal(kn_plot_last_layout(&lay), 1);
        assert_box_inside(&lay.title);
        assert_box_inside(&lay.legend);
        assert_true(lay.legend.y1 < lay.title.y0);
    }
    /* The memory-loss bars of the same benchmark: labels set vertically on a taller page. */
    double v[19], e[19];
    for (int j = 0; j < 19; j++) {
        v[j] = 0.05 + 0.04 * j;
        e[j] = 0.01;
    }
    const char *path = kt_path(dir, "many_bars.svg");
    kn_error err;
    assert_int_equal(kn_plot_bars(path, &ax, names, v, e, 19, &err), KN_OK);
    double lo, hi;
    assert_true(glyphs_inside(path, &lo, &hi) > 100);
    kn_plot_layout lay;
    assert_int_equal(kn_plot_last_layout(&lay), 1);
    assert_box_inside(&lay.title);
    /* 19 separate labels between the axis and the axis title (the plot keeps 461 units of
     * height, 64 above it; labels of up to 21 characters take about 210 below the axis, and the
     * lowest y tick label sits on the axis): run together on one or two lines, they would be
     * fewer groups */
    const double axis_y = 64 + 461;
    assert_int_equal(labels_in_band(path, axis_y + 15, axis_y + 215), 19);
}

/* Groups of glyphs (tick labels) in the band y0 < y < y1 of an SVG page: glyphs closer than 25
 * units in x belong to one label. */
static int labels_in_band(const char *path, double y0, double y1)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    static char buf[1 << 22];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    double xs[512];
    int m = 0;
    for (const char *p = strstr(buf, "<use "); p && m < 512; p = strstr(p + 1, "<use ")) {
        const char *xs_ = strstr(p, " x=\""), *ys = strstr(p, " y=\""), *end = strchr(p, '>');
        if (!xs_ || !ys || !end || xs_ > end || ys > end)
            continue;
        double y = atof(ys + 4);
        if (y > y0 && y < y1)
            xs[m++] = atof(xs_ + 4);
    }
    for (int i = 1; i < m; i++) /* insertion sort */
        for (int j = i; j > 0 && xs[j] < xs[j - 1]; j--) {
            double t = xs[j];
            xs[j] = xs[j - 1];
            xs[j - 1] = t;
        }
    int groups = m > 0;
    for (int i = 1; i < m; i++)
        groups += xs[i] - xs[i - 1] > 25;
    return groups;
}

/* A log axis spanning about one decade still gets several labelled ticks (PLplot alone labels
 * only powers of ten: one or two labels). */
static void test_short_log_axis_has_several_labels(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("plot-logticks");
    double x[5] = {1e-5, 2e-5, 4e-5, 8e-5, 1.6e-4}, y[5] = {2, 3, 4, 5, 6};
    kn_plot_series s = {.label = "a", .x = x, .y = y, .n = 5, .style = KN_PLOT_LINE};
    kn_plot_axes ax = {.title = "t", .xlabel = "x", .ylabel = "y", .logx = 1, .logy = 1};
    kn_error err;
    const char *path = kt_path(dir, "log.svg");
    assert_int_equal(kn_plot_lines(path, &ax, &s, 1, &err), KN_OK);
    /* x tick labels sit between the frame (12% from the bottom of 640) and the axis label */
    int n = labels_in_band(path, 640 * (1 - 0.12) + 5, 640 * (1 - 0.12) + 40);
    assert_true(n >= 4);
}

static void test_bad_arguments_leave_no_file(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("plot3");
    double x[2] = {1, 2}, y[2] = {NAN, NAN};
    kn_plot_series s = {.label = "nan", .x = x, .y = y, .n = 2};
    kn_plot_axes ax = {.title = "t"};
    kn_error err;
    const char *p = kt_path(dir, "nan.png");
    assert_int_equal(kn_plot_lines(p, &ax, &s, 1, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "nan.png"));
    assert_int_equal(file_size(p), -1);
    const char *bad = kt_path(dir, "plot.jpg");
    double ok[2] = {1, 2};
    s.y = ok;
    assert_int_equal(kn_plot_lines(bad, &ax, &s, 1, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, ".png"));
    assert_int_equal(kn_plot_lines(kt_path(dir, "no/such/dir/x.png"), &ax, &s, 1, &err), KN_EIO);
    assert_int_equal(kn_plot_end(&err), KN_ESTATE);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s')\"", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_png_svg_pdf),
        cmocka_unit_test(test_lines_chosen_colours),
        cmocka_unit_test(test_line_with_circles),
        cmocka_unit_test(test_marker_glyphs_are_distinct),
        cmocka_unit_test(test_bars_and_heatmap),
        cmocka_unit_test(test_titles_and_legends_inside_image),
        cmocka_unit_test(test_many_series_legend_fits),
        cmocka_unit_test(test_short_log_axis_has_several_labels),
        cmocka_unit_test(test_bad_arguments_leave_no_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
