/* Tests for the benchmark (src/bench) on tiny generated data: the outputs hold the computed
 * numbers, the cache resumes and invalidates exactly what a change affects, bad options fail. */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>

#include "kenyon/bench.h"
#include "kenyon/rng.h"

/* 4 classes of separated Gaussian blobs in 16 dimensions (non-negative, like pixels). */
static void make_split(kn_split *sp, float shift_one_value)
{
    kn_error err;
    const size_t per_train = 40, per_test = 20, d = 16;
    assert_int_equal(kn_dataset_alloc(&sp->train, 4 * per_train, d, 4, &err), KN_OK);
    assert_int_equal(kn_dataset_alloc(&sp->test, 4 * per_test, d, 4, &err), KN_OK);
    kn_rng r;
    kn_rng_seed(&r, 99);
    kn_dataset *parts[2] = {&sp->train, &sp->test};
    for (int k = 0; k < 2; k++) {
        kn_dataset *ds = parts[k];
        for (size_t i = 0; i < ds->n; i++) {
            int c = (int)(i % 4);
            ds->y[i] = c;
            for (size_t j = 0; j < d; j++) {
                double centre = (j / 4 == (size_t)c) ? 1.0 : 0.1;
                double v = centre + 0.1 * kn_rng_normal(&r);
                ds->x[i * d + j] = (float)(v < 0 ? 0 : v);
            }
        }
        snprintf(ds->source, sizeof ds->source, "synthetic blobs");
    }
    sp->train.x[0] += shift_one_value;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

/* Counts results.csv rows with cached == want (last column). */
static int count_cached(const char *dir, int want)
{
    char *csv = slurp(kt_path(dir, "results.csv"));
    assert_non_null(csv);
    int n = 0;
    for (char *line = strtok(csv, "\n"); line; line = strtok(NULL, "\n")) {
        char *last = strrchr(line, ',');
        if (last && strcmp(last + 1, want ? "1" : "0") == 0)
            n++;
    }
    free(csv);
    return n;
}

static void options(kn_bench_options *o, const char *dir, const char *seeds)
{
    kn_bench_options_default(o);
    o->methods = "fly,v1";
    o->seeds = seeds;
    o->out_dir = dir;
    o->log = NULL;
}

static void test_outputs_hold_the_computed_numbers(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("bench");
    kn_split sp = {0};
    make_split(&sp, 0);
    kn_bench_options o;
    options(&o, dir, "1,2");
    kn_error err;
    assert_int_equal(kn_bench_run_split(&o, &sp, "synthetic blobs", "raw", &err), KN_OK);

    /* results.csv: header + 2 methods x 2 seeds x 2 tasks. */
    char *csv = slurp(kt_path(dir, "results.csv"));
    assert_non_null(csv);
    int lines = 0;
    double fly_final_sum = 0;
    int fly_final_n = 0;
    for (char *line = strtok(csv, "\n"); line; line = strtok(NULL, "\n"), lines++) {
        char method[32];
        int seed, task, classes;
        double acc;
        if (sscanf(line, "%31[^,],%d,%d,%d,%lf", method, &seed, &task, &classes, &acc) == 5 &&
            strcmp(method, "fly") == 0 && task == 2) {
            fly_final_sum += acc;
            fly_final_n++;
        }
    }
    free(csv);
    assert_int_equal(lines, 1 + 2 * 2 * 2);
    assert_int_equal(fly_final_n, 2);

    /* The report's fly row shows the mean of the per-seed final accuracies (4 classes is the
     * last task here, the report's second column). */
    char *md = slurp(kt_path(dir, "report.md"));
    assert_non_null(md);
    char *row = strstr(md, "| fly | 2 |");
    assert_non_null(row);
    char expect[32];
    snprintf(expect, sizeof expect, "%.3f ±", fly_final_sum / 2);
    char *eol = strchr(row, '\n');
    assert_non_null(eol);
    *eol = '\0';
    assert_non_null(strstr(row, expect));
    *eol = '\n';
    assert_non_null(strstr(md, "synthetic blobs"));
    assert_non_null(strstr(md, "*0.998*")); /* the paper's FlyModel column, labelled */
    free(md);
    /* Blobs this separated are learned: the fly's final accuracy is far above chance (0.25). */
    assert_true(fly_final_sum / 2 > 0.8);

    char *js = slurp(kt_path(dir, "summary.json"));
    assert_non_null(js);
    assert_non_null(strstr(js, "\"memory_loss\""));
    free(js);
    const char *files[] = {"accuracy_vs_classes.png", "accuracy_vs_classes.svg",
                           "memory_loss.png", "accuracy_matrix_fly.png", "accuracy_matrix_v1.svg"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        FILE *f = fopen(kt_path(dir, files[i]), "rb");
        assert_non_null(f);
        fclose(f);
    }
    kn_split_free(&sp);
}

static void test_cache_resumes_and_invalidates_exactly(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("bench-cache");
    kn_split sp = {0};
    make_split(&sp, 0);
    kn_bench_options o;
    options(&o, dir, "1,2");
    kn_error err;
    assert_int_equal(kn_bench_run_split(&o, &sp, "s", "raw", &err), KN_OK);
    assert_int_equal(count_cached(dir, 1), 0);
    /* Same settings: everything from the cache. */
    assert_int_equal(kn_bench_run_split(&o, &sp, "s", "raw", &err), KN_OK);
    assert_int_equal(count_cached(dir, 1), 2 * 2 * 2);
    /* A new seed: only its runs are computed. */
    options(&o, dir, "1,3");
    assert_int_equal(kn_bench_run_split(&o, &sp, "s", "raw", &err), KN_OK);
    assert_int_equal(count_cached(dir, 1), 2 * 2);
    assert_int_equal(count_cached(dir, 0), 2 * 2);
    /* Different features label: nothing reused. */
    assert_int_equal(kn_bench_run_split(&o, &sp, "s", "other features", &err), KN_OK);
    assert_int_equal(count_cached(dir, 1), 0);
    /* One changed value in the data: nothing reused. */
    kn_split_free(&sp);
    make_split(&sp, 0.5f);
    assert_int_equal(kn_bench_run_split(&o, &sp, "s", "raw", &err), KN_OK);
    assert_int_equal(count_cached(dir, 1), 0);
    /* A corrupt cache file is recomputed, not trusted. */
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "for f in '%s'/cache/fly-seed1-*.json; do echo '{\"key\":' > \"$f\"; done",
             dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(kn_bench_run_split(&o, &sp, "s", "raw", &err), KN_OK);
    assert_int_equal(count_cached(dir, 1), 3 * 2);
    kn_split_free(&sp);
}

static void test_bad_options(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("bench-bad");
    kn_split sp = {0};
    make_split(&sp, 0);
    kn_bench_options o;
    kn_error err;
    options(&o, dir, "1,1");
    assert_int_equal(kn_bench_run_split(&o, &sp, "s", "raw", &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "twice"));
    options(&o, dir, "1,x");
    assert_int_equal(kn_bench_run_split(&o, &sp, "s", "raw", &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "'x'"));
    options(&o, dir, "1");
    o.methods = "fly,nosuch";
    assert_int_equal(kn_bench_run_split(&o, &sp, "s", "raw", &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "nosuch"));
    o.methods = "fly,";
    assert_int_equal(kn_bench_run_split(&o, &sp, "s", "raw", &err), KN_EINVAL);
    kn_split_free(&sp);

    options(&o, dir, "1");
    o.data_dir = kt_path(dir, "no-data-here");
    assert_int_not_equal(kn_bench_mnist20(&o, &err), KN_OK);
    assert_non_null(strstr(err.msg, "kenyon data fetch"));
    o.features = "features.csv";
    assert_int_equal(kn_bench_mnist20(&o, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "features.csv"));
}

/* Entries of a directory other than . and .. (0 if it does not exist). */
static int count_entries(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

/* "fly:k=1" is fly with --k 1: a row of its own (labelled by the item), its own cache entry and
 * plot, the paper's FlyModel columns, and a result that differs from the default fly's. */
static void test_method_settings(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("bench-settings");
    kn_split sp = {0};
    make_split(&sp, 0);
    kn_bench_options o;
    options(&o, dir, "1");
    o.methods = "fly,fly:k=1:lr=0.5";
    kn_error err;
    assert_int_equal(kn_bench_run_split(&o, &sp, "s", "raw", &err), KN_OK);
    char *md = slurp(kt_path(dir, "report.md"));
    assert_non_null(md);
    char *plain = strstr(md, "| fly | 1 |"), *set = strstr(md, "| fly:k=1:lr=0.5 | 1 |");
    assert_non_null(plain);
    assert_non_null(set);
    char *eol = strchr(set, '\n');
    assert_non_null(eol);
    *eol = '\0';
    assert_non_null(strstr(set, "*0.998*"));
    /* the two rows' accuracy cells differ (one winner of 16 KCs cannot match the default) */
    assert_false(strncmp(plain + strlen("| fly | 1 |"), set + strlen("| fly:k=1:lr=0.5 | 1 |"),
                         40) == 0);
    *eol = '\n';
    free(md);
    FILE *f = fopen(kt_path(dir, "accuracy_matrix_fly_k_1_lr_0.5.png"), "rb");
    assert_non_null(f);
    fclose(f);
    /* Settings are checked before anything runs: nothing is computed for a bad last item. */
    const char *dir2 = kt_scratch_dir("bench-settings-bad");
    options(&o, dir2, "1");
    const char *bad[] = {"fly,fly:nosuch=1", "fly,fly:k", "fly,fly:=3", "fly,fly:k=",
                         "fly,fly:k=-5"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        o.methods = bad[i];
        assert_int_equal(kn_bench_run_split(&o, &sp, "s", "raw", &err), KN_EINVAL);
        assert_null(fopen(kt_path(dir2, "results.csv"), "rb"));
        assert_int_equal(count_entries(kt_path(dir2, "cache")), 0);
    }
    kn_split_free(&sp);
}

/* The paper's columns appear only in the paper's setting (MNIST-20, 2 classes per task in label
 * order, pixels or LeNet5 features); report.html carries the same table and every figure. */
static void test_paper_columns_only_in_the_paper_setting(void **state)
{
    (void)state;
    kn_split sp = {0};
    make_split(&sp, 0);
    struct {
        const char *dataset, *order, *features;
        int cpt, paper;
    } cases[] = {
        {"mnist20", "label", "pixels", 2, 1}, {"mnist20", "label", "lenet", 2, 1},
        {"mnist20", "label", "pixels", 1, 0}, {"mnist20", "random", "pixels", 2, 0},
        {"fashion", "label", "pixels", 2, 0}, {NULL, "label", "pixels", 2, 0},
        {"mnist20", "label", "feat.npy", 2, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char tag[32];
        snprintf(tag, sizeof tag, "bench-paper%zu", i);
        const char *dir = kt_scratch_dir(tag);
        kn_bench_options o;
        options(&o, dir, "1");
        o.dataset = cases[i].dataset;
        o.class_order = cases[i].order;
        o.features = cases[i].features;
        o.classes_per_task = cases[i].cpt;
        kn_error err;
        assert_int_equal(kn_bench_run_split(&o, &sp, "synthetic blobs", "raw", &err), KN_OK);
        char *md = slurp(kt_path(dir, "report.md"));
        char *js = slurp(kt_path(dir, "summary.json"));
        char *html = slurp(kt_path(dir, "report.html"));
        assert_non_null(md);
        assert_non_null(js);
        assert_non_null(html);
        if (cases[i].paper) {
            assert_non_null(strstr(md, "*paper*"));
            assert_non_null(strstr(js, "\"paper\""));
            assert_non_null(strstr(html, "<em>paper</em>"));
        } else {
            assert_null(strstr(md, "*paper*"));
            assert_null(strstr(js, "\"paper\""));
            assert_null(strstr(html, "<em>paper</em>"));
        }
        /* The page: a table row per method, every figure inline with its ids made unique. */
        assert_non_null(strstr(html, "<td>fly</td>"));
        assert_non_null(strstr(html, "<td>v1</td>"));
        int svgs = 0;
        for (const char *p = html; (p = strstr(p, "<svg")); p++)
            svgs++;
        assert_int_equal(svgs, 4); /* accuracy, memory loss, two matrices */
        assert_null(strstr(html, " id=\"glyph"));
        assert_non_null(strstr(html, " id=\"f3-glyph"));
        assert_null(strstr(html, "<script"));
        free(md);
        free(js);
        free(html);
    }
    kn_split_free(&sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outputs_hold_the_computed_numbers),
        cmocka_unit_test(test_cache_resumes_and_invalidates_exactly),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_method_settings),
        cmocka_unit_test(test_paper_columns_only_in_the_paper_setting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
