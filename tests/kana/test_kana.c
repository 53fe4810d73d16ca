/* Tests of the kana stand-in: the class table, font discovery and its errors, reproducibility
 * across thread counts, balanced labels, held-out test families, image sanity, the IDX files
 * written by kn_kana_generate, and that the rendered classes are separable (nearest centroid
 * from training fonts on held-out fonts). Tests that need fonts skip when none are installed
 * (scripts/setup.sh installs them). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "test_support.h"
#include "kenyon/formats.h"
#include "kenyon/kana.h"

#define PX (KN_KANA_SIDE * KN_KANA_SIDE)

static kn_kana_fonts g_fonts;
static kn_kana_renderer *g_renderer;
static int g_have_fonts;

static int setup(void **state)
{
    (void)state;
    kn_error err;
    g_have_fonts = kn_kana_fonts_find(NULL, NULL, &g_fonts, &err) == 0;
    if (g_have_fonts && kn_kana_renderer_create(&g_fonts, &g_renderer, &err) != 0) {
        print_error("renderer: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kn_kana_renderer_free(g_renderer);
    kn_kana_fonts_free(&g_fonts);
    return 0;
}

#define NEED_FONTS()                                                                              \
    do {                                                                                          \
        if (!g_have_fonts)                                                                        \
            skip();                                                                               \
    } while (0)

static void test_class_table(void **state)
{
    (void)state;
    /* KMNIST's order: o ki su tsu na ha ma ya re wo. */
    static const uint32_t expected[10] = {0x304A, 0x304D, 0x3059, 0x3064, 0x306A,
                                          0x306F, 0x307E, 0x3084, 0x308C, 0x3092};
    for (int c = 0; c < KN_KANA_CLASSES; c++)
        assert_int_equal(kn_kana_codepoints[c], expected[c]);
    assert_string_equal(kn_kana_names[0], "o");
    assert_string_equal(kn_kana_names[3], "tsu");
    assert_string_equal(kn_kana_names[9], "wo");
}

static void test_missing_font_dir(void **state)
{
    (void)state;
    kn_kana_fonts f;
    kn_error err;
    kn_error_clear(&err);
    int rc = kn_kana_fonts_find("/nonexistent/kenyon-fonts", NULL, &f, &err);
    assert_int_equal(rc, KN_EINVAL);
    assert_non_null(strstr(err.msg, "/nonexistent/kenyon-fonts"));
    assert_non_null(strstr(err.msg, "install"));
    assert_null(f.faces);
}

static void test_fonts_split(void **state)
{
    (void)state;
    NEED_FONTS();
    assert_true(g_fonts.n_families >= 2);
    assert_true(g_fonts.n_test_families >= 1);
    assert_true(g_fonts.n_test_families < g_fonts.n_families);
    /* A family is either wholly train or wholly test. */
    for (size_t i = 0; i < g_fonts.n; i++)
        for (size_t j = 0; j < g_fonts.n; j++)
            if (!strcmp(g_fonts.faces[i].family, g_fonts.faces[j].family))
                assert_int_equal(g_fonts.faces[i].is_test, g_fonts.faces[j].is_test);
}

static void test_named_test_family(void **state)
{
    (void)state;
    NEED_FONTS();
    /* Hold out the first family found: exactly its faces become test faces. */
    const char *fam = g_fonts.faces[0].family;
    kn_kana_fonts f;
    kn_error err;
    assert_int_equal(kn_kana_fonts_find(NULL, fam, &f, &err), 0);
    assert_int_equal(f.n_test_families, 1);
    for (size_t i = 0; i < f.n; i++)
        assert_int_equal(f.faces[i].is_test, !strcmp(f.faces[i].family, fam));
    kn_kana_fonts_free(&f);
}

static void render(int test, size_t n, uint64_t seed, double distortion, uint8_t *img,
                   uint8_t *lab, uint32_t *face)
{
    kn_error err;
    int rc = kn_kana_render_split(g_renderer, test, n, seed, distortion, img, lab, face, &err);
    if (rc)
        print_error("render: %s\n", err.msg);
    assert_int_equal(rc, 0);
}

static void test_reproducible_across_threads(void **state)
{
    (void)state;
    NEED_FONTS();
    size_t n = 300;
    uint8_t *a = malloc(n * PX), *b = malloc(n * PX), *c = malloc(n * PX);
    uint8_t la[300], lb[300], lc[300];
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
#ifdef _OPENMP
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
#endif
    render(0, n, 7, 1.0, a, la, NULL);
#ifdef _OPENMP
    omp_set_num_threads(3);
#endif
    render(0, n, 7, 1.0, b, lb, NULL);
#ifdef _OPENMP
    omp_set_num_threads(saved);
#endif
    assert_memory_equal(a, b, n * PX);
    assert_memory_equal(la, lb, n);
    render(0, n, 8, 1.0, c, lc, NULL);
    assert_true(memcmp(a, c, n * PX) != 0);
    free(a);
    free(b);
    free(c);
}

static void test_labels_balanced_and_faces_split(void **state)
{
    (void)state;
    NEED_FONTS();
    size_t n = 105;
    uint8_t *img = malloc(n * PX), lab[105];
    uint32_t face[105];
    assert_non_null(img);
    for (int test = 0; test < 2; test++) {
        render(test, n, 3, 1.0, img, lab, face);
        int counts[KN_KANA_CLASSES] = {0};
        for (size_t i = 0; i < n; i++) {
            assert_true(lab[i] < KN_KANA_CLASSES);
            counts[lab[i]]++;
            assert_true(face[i] < g_fonts.n);
            assert_int_equal(g_fonts.faces[face[i]].is_test, test);
        }
        for (int c = 0; c < KN_KANA_CLASSES; c++)
            assert_true(counts[c] == 10 || counts[c] == 11);
        /* Labels are shuffled, not 0 1 2 ... 9 0 1 ... */
        int in_order = 1;
        for (size_t i = 0; i < n; i++)
            in_order &= lab[i] == i % KN_KANA_CLASSES;
        assert_false(in_order);
    }
    free(img);
}

/* Clean glyphs: ink present, centred, clear of the border. */
static void test_clean_glyphs_centred(void **state)
{
    (void)state;
    NEED_FONTS();
    size_t n = 50;
    uint8_t *img = malloc(n * PX), lab[50];
    assert_non_null(img);
    render(0, n, 1, 0.0, img, lab, NULL);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = img + i * PX;
        double mass = 0, mx = 0, my = 0, border = 0;
        int maxv = 0;
        for (int y = 0; y < KN_KANA_SIDE; y++)
            for (int x = 0; x < KN_KANA_SIDE; x++) {
                double v = p[y * KN_KANA_SIDE + x];
                mass += v;
                mx += v * x;
                my += v * y;
                if (v > maxv)
                    maxv = (int)v;
                if (x == 0 || y == 0 || x == KN_KANA_SIDE - 1 || y == KN_KANA_SIDE - 1)
                    border += v;
            }
        assert_true(maxv >= 200);
        assert_true(mass > 255.0 * 20);   /* at least ~20 pixels of ink */
        assert_true(mass < 255.0 * 500);  /* not a filled square */
        assert_true(border == 0.0);       /* glyph box is 88% of the frame */
        assert_true(fabs(mx / mass - 13.5) < 5.0);
        assert_true(fabs(my / mass - 13.5) < 5.0);
    }
    free(img);
}

/* Nearest class centroid learned on training fonts, tested on held-out fonts: well above the
 * 10% of chance, so the classes carry their shape across fonts. */
static void test_classes_separable(void **state)
{
    (void)state;
    NEED_FONTS();
    size_t ntr = 2000, nte = 500;
    uint8_t *tr = malloc(ntr * PX), *te = malloc(nte * PX), *ltr = malloc(ntr), *lte = malloc(nte);
    double *cent = calloc(KN_KANA_CLASSES * PX, sizeof *cent);
    assert_non_null(tr);
    assert_non_null(te);
    assert_non_null(ltr);
    assert_non_null(lte);
    assert_non_null(cent);
    render(0, ntr, 11, 0.5, tr, ltr, NULL);
    render(1, nte, 11, 0.5, te, lte, NULL);
    int cnt[KN_KANA_CLASSES] = {0};
    for (size_t i = 0; i < ntr; i++) {
        cnt[ltr[i]]++;
        for (int k = 0; k < PX; k++)
            cent[ltr[i] * PX + k] += tr[i * PX + k];
    }
    for (int c = 0; c < KN_KANA_CLASSES; c++)
        for (int k = 0; k < PX; k++)
            cent[c * PX + k] /= cnt[c];
    size_t correct = 0;
    for (size_t i = 0; i < nte; i++) {
        int best = 0;
        double bd = INFINITY;
        for (int c = 0; c < KN_KANA_CLASSES; c++) {
            double d = 0;
            for (int k = 0; k < PX; k++) {
                double e = te[i * PX + k] - cent[c * PX + k];
                d += e * e;
            }
            if (d < bd) {
                bd = d;
                best = c;
            }
        }
        correct += best == lte[i];
    }
    double acc = (double)correct / (double)nte;
    print_message("nearest-centroid accuracy on held-out fonts: %.3f\n", acc);
    assert_true(acc > 0.6);
    free(tr);
    free(te);
    free(ltr);
    free(lte);
    free(cent);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    NEED_FONTS();
    uint8_t img[PX], lab[1];
    kn_error err;
    assert_int_equal(kn_kana_render_split(g_renderer, 0, 1, 0, -1.0, img, lab, NULL, &err),
                     KN_EINVAL);
    assert_non_null(strstr(err.msg, "distortion"));
    assert_int_equal(kn_kana_render_split(g_renderer, 2, 1, 0, 1.0, img, lab, NULL, &err),
                     KN_EINVAL);
    assert_non_null(strstr(err.msg, "split"));
    kn_kana_options o;
    kn_kana_options_default(&o);
    o.n_train = 5;
    assert_int_equal(kn_kana_generate(&o, kt_scratch_dir("kana-bad"), NULL, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "--train"));
}

static void test_generate_writes_idx(void **state)
{
    (void)state;
    NEED_FONTS();
    const char *dir = kt_scratch_dir("kana-gen");
    kn_kana_options o;
    kn_kana_options_default(&o);
    o.n_train = 40;
    o.n_test = 20;
    o.seed = 5;
    kn_kana_report rep;
    kn_error err;
    int rc = kn_kana_generate(&o, dir, &rep, &err);
    if (rc)
        print_error("generate: %s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(rep.n_faces, g_fonts.n);
    assert_int_equal(rep.n_train_faces + rep.n_test_faces, rep.n_faces);
    kn_idx a;
    assert_int_equal(kn_idx_read(kt_path(dir, "train-images-idx3-ubyte.gz"), &a, &err), 0);
    assert_int_equal(a.dtype, KN_DT_U8);
    assert_int_equal(a.ndim, 3);
    assert_int_equal(a.shape[0], 40);
    assert_int_equal(a.shape[1], 28);
    assert_int_equal(a.shape[2], 28);
    /* Same bytes as rendering directly with the same seed. */
    uint8_t *img = malloc(40 * PX), lab[40];
    assert_non_null(img);
    render(0, 40, 5, 1.0, img, lab, NULL);
    assert_memory_equal(a.data, img, 40 * PX);
    kn_idx_free(&a);
    assert_int_equal(kn_idx_read(kt_path(dir, "t10k-labels-idx1-ubyte.gz"), &a, &err), 0);
    assert_int_equal(a.ndim, 1);
    assert_int_equal(a.shape[0], 20);
    kn_idx_free(&a);
    struct stat st;
    assert_int_equal(stat(kt_path(dir, "fonts.txt"), &st), 0);
    assert_true(st.st_size > 0);
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_class_table),
        cmocka_unit_test(test_missing_font_dir),
        cmocka_unit_test(test_fonts_split),
        cmocka_unit_test(test_named_test_family),
        cmocka_unit_test(test_reproducible_across_threads),
        cmocka_unit_test(test_labels_balanced_and_faces_split),
        cmocka_unit_test(test_clean_glyphs_centred),
        cmocka_unit_test(test_classes_separable),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_generate_writes_idx),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
