/* kenyon kana: a KMNIST stand-in. KMNIST (ten hiragana classes written by hand in classical
 * documents) cannot be downloaded on every machine, so kenyon renders the same ten classes from the
 * Japanese fonts installed on the system (brush, handwriting, rounded, gothic and mincho faces)
 * with FreeType, and distorts every sample (random affine map, stroke width, elastic warp, ink
 * contrast, noise) into 28x28 grey images, ink bright on black like KMNIST. Whole font families
 * are held out for the test split, so a classifier cannot pass by recognising a font.
 *
 * Every sample i of a split draws from its own kn_rng_stream(seed, split offset + i): the images
 * are bit-identical for a seed on any number of threads. */
#ifndef KENYON_KANA_H
#define KENYON_KANA_H

#include <stddef.h>
#include <stdint.h>

#include "kenyon/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KN_KANA_CLASSES 10
#define KN_KANA_SIDE 28

/* KMNIST's class order: o, ki, su, tsu, na, ha, ma, ya, re, wo. */
extern const uint32_t kn_kana_codepoints[KN_KANA_CLASSES];
extern const char *const kn_kana_names[KN_KANA_CLASSES];

/* Font families held out for the test split unless the caller names others: one brush, one
 * handwriting, one rounded, one mincho and one gothic family (the Debian package directory names). */
#define KN_KANA_DEFAULT_TEST_FAMILIES "aoyagi-kouzan-t,kiloji,komatuna,sawarabi-mincho,vlgothic"

typedef struct kn_kana_face {
    char *path;    /* font file */
    long index;    /* face index inside the file (.ttc collections hold several) */
    char *family;  /* name of the directory holding the file, e.g. "kouzan-mouhitsu" */
    int is_test;   /* 1: the family is held out for the test split */
} kn_kana_face;

typedef struct kn_kana_fonts {
    kn_kana_face *faces; /* sorted by path then index */
    size_t n;
    size_t n_families, n_test_families;
} kn_kana_fonts;

/* Finds every face under `dirs` (colon-separated directories searched recursively; NULL or "":
 * $KENYON_FONT_DIRS if set, else /usr/share/fonts, /usr/local/share/fonts, ~/.local/share/fonts,
 * ~/.fonts) that has outlines for all ten kana, and marks the faces of `test_families`
 * (comma-separated family names; NULL: KN_KANA_DEFAULT_TEST_FAMILIES) as test faces. When none of
 * the named families is present, every fifth family in name order (at least one) is held out.
 * Fails with a message saying which packages to install when fewer than two families are found. */
int kn_kana_fonts_find(const char *dirs, const char *test_families, kn_kana_fonts *out,
                       kn_error *err);
void kn_kana_fonts_free(kn_kana_fonts *fonts);

/* The glyph outlines of every face and class, loaded once and shared read-only by the threads. */
typedef struct kn_kana_renderer kn_kana_renderer;

int kn_kana_renderer_create(const kn_kana_fonts *fonts, kn_kana_renderer **out, kn_error *err);
void kn_kana_renderer_free(kn_kana_renderer *r);

/* Renders n samples of one split (test = 0: train faces, 1: test faces) into images (n x 28 x 28
 * bytes, row-major) and labels (n bytes, each class n/10 or n/10+1 times, in seeded random order).
 * distortion scales every random deformation (1 = default, 0 = clean centred glyphs).
 * face_of (may be NULL) receives the index into fonts->faces used for each sample.
 * Runs on OpenMP threads; the result does not depend on their number. */
int kn_kana_render_split(const kn_kana_renderer *r, int test, size_t n, uint64_t seed,
                         double distortion, uint8_t *images, uint8_t *labels, uint32_t *face_of,
                         kn_error *err);

typedef struct kn_kana_options {
    size_t n_train, n_test;      /* 60000, 10000 like KMNIST */
    uint64_t seed;               /* 0 */
    double distortion;           /* 1.0 */
    const char *font_dirs;       /* NULL: see kn_kana_fonts_find */
    const char *test_families;   /* NULL: KN_KANA_DEFAULT_TEST_FAMILIES */
    int gzip;                    /* 1: write .gz files like KMNIST's distribution */
} kn_kana_options;

void kn_kana_options_default(kn_kana_options *o);

typedef struct kn_kana_report {
    size_t n_faces, n_train_faces, n_test_faces, n_families, n_test_families;
    double render_seconds;       /* wall time of rendering both splits (not writing) */
} kn_kana_report;

/* Finds fonts, renders both splits and writes KMNIST's file names into out_dir (created if
 * needed): train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz],
 * t10k-labels-idx1-ubyte[.gz], plus fonts.txt listing each face and its split. report may be
 * NULL. */
int kn_kana_generate(const kn_kana_options *o, const char *out_dir, kn_kana_report *report,
                     kn_error *err);

#ifdef __cplusplus
}
#endif
#endif
