/* `kenyon data kana`: renders the KMNIST stand-in (ten hiragana classes from the installed
 * Japanese fonts, whole font families held out for test) as IDX files; see kenyon/kana.h. */
#include <stdio.h>

#include "commands.h"
#include "opts.h"
#include "kenyon/kana.h"

int kn_cmd_data_kana(int argc, char **argv)
{
    const char *out = NULL, *fonts = NULL, *test_fonts = KN_KANA_DEFAULT_TEST_FAMILIES;
    int n_train = 60000, n_test = 10000, plain = 0;
    uint64_t seed = 0;
    double distortion = 1.0;
    kn_opt opts[] = {
        {"out", KN_OPT_OUT_DIR, &out, "output directory (created if needed)"},
        {"seed", KN_OPT_U64, &seed, "random seed of every distortion"},
        {"train", KN_OPT_INT, &n_train, "training images (from the training font families)"},
        {"test", KN_OPT_INT, &n_test, "test images (from the held-out font families)"},
        {"distortion", KN_OPT_DOUBLE, &distortion,
         "scale of affine, stroke, elastic and noise variation (0 = clean glyphs)"},
        {"fonts", KN_OPT_STRING, &fonts,
         "colon-separated font directories (default $KENYON_FONT_DIRS or the system's)"},
        {"test-fonts", KN_OPT_STRING, &test_fonts,
         "comma-separated font families (directory names) held out for the test split"},
        {"plain", KN_OPT_FLAG, &plain, "write uncompressed IDX instead of .gz"},
        {NULL, 0, NULL, NULL},
    };
    kn_command_spec spec = {
        "data kana", "--out DIR [--seed N] [--train 60000 --test 10000]",
        "Renders a KMNIST stand-in: the ten KMNIST hiragana (o ki su tsu na ha ma ya re wo) from "
        "the installed Japanese fonts with FreeType, randomly distorted (affine map, stroke width, "
        "elastic warp, ink and noise) into 28x28 grey images, whole font families held out for "
        "the test split. Writes KMNIST's IDX file names and fonts.txt (each face and its split).",
        opts};
    int r = kn_opts_parse(&spec, argc, argv, NULL, 0, NULL);
    if (r != KN_OPTS_OK)
        return kn_opts_exit_code(r);
    if (!out) {
        fprintf(stderr, "kenyon data kana: --out DIR is required\n");
        return 2;
    }
    if (n_train < 10 || n_test < 10) {
        fprintf(stderr, "kenyon data kana: --train and --test must be at least 10 (got %d, %d)\n",
                n_train, n_test);
        return 2;
    }
    kn_kana_options o;
    kn_kana_options_default(&o);
    o.n_train = (size_t)n_train;
    o.n_test = (size_t)n_test;
    o.seed = seed;
    o.distortion = distortion;
    o.font_dirs = fonts;
    o.test_families = test_fonts;
    o.gzip = !plain;
    kn_kana_report rep;
    kn_error err;
    kn_error_clear(&err);
    if (kn_kana_generate(&o, out, &rep, &err)) {
        fprintf(stderr, "kenyon data kana: %s\n", err.msg);
        return 1;
    }
    double total = (double)(o.n_train + o.n_test);
    printf("kana: %zu faces from %zu font families (%zu families, %zu faces held out for test)\n",
           rep.n_faces, rep.n_families, rep.n_test_families, rep.n_test_faces);
    printf("kana: rendered %zu train + %zu test images in %.2f s (%.0f images/s); wrote %s\n",
           o.n_train, o.n_test, rep.render_seconds,
           rep.render_seconds > 0 ? total / rep.render_seconds : 0.0, out);
    return 0;
}
