/* Tests for src/display/plot.c: each plot kind writes a valid PNG/SVG/PDF, bad arguments fail cleanly
 * and leave no file behind. */
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

static int file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, needle) != NULL;
}

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
        cmocka_unit_test(test_bars_and_heatmap),
        cmocka_unit_test(test_bad_arguments_leave_no_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
