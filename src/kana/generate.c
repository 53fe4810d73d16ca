/* `kenyon data kana` in library form: find the fonts, render the train split from the training
 * families and the test split from the held-out families, and write them under KMNIST's file names
 * (IDX, optionally gzip) with a fonts.txt manifest saying which face went to which split. */
#include "kana_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/fileio.h"
#include "kenyon/formats.h"
#include "kenyon/progress.h"

void kn_kana_options_default(kn_kana_options *o)
{
    memset(o, 0, sizeof *o);
    o->n_train = 60000;
    o->n_test = 10000;
    o->seed = 0;
    o->distortion = 1.0;
    o->gzip = 1;
}

static int write_split(const char *dir, const char *prefix, const uint8_t *images,
                       const uint8_t *labels, size_t n, int gzip, kn_error *err)
{
    char path[4096];
    kn_idx arr;
    memset(&arr, 0, sizeof arr);
    arr.dtype = KN_DT_U8;
    arr.ndim = 3;
    arr.shape[0] = n;
    arr.shape[1] = KN_KANA_SIDE;
    arr.shape[2] = KN_KANA_SIDE;
    arr.count = n * KN_KANA_SIDE * KN_KANA_SIDE;
    arr.data = (void *)images;
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte%s", dir, prefix, gzip ? ".gz" : "");
    int rc = kn_idx_write(path, &arr, gzip, err);
    if (rc)
        return rc;
    arr.ndim = 1;
    arr.shape[1] = arr.shape[2] = 0;
    arr.count = n;
    arr.data = (void *)labels;
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte%s", dir, prefix, gzip ? ".gz" : "");
    return kn_idx_write(path, &arr, gzip, err);
}

static int write_manifest(const char *dir, const kn_kana_options *o, const kn_kana_fonts *f,
                          const uint32_t *face_train, const uint32_t *face_test, kn_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/fonts.txt", dir);
    size_t *count = calloc(f->n ? f->n : 1, sizeof *count);
    if (!count)
        return kn_fail(err, KN_ENOMEM, "kana: out of memory");
    for (size_t i = 0; i < o->n_train; i++)
        count[face_train[i]]++;
    for (size_t i = 0; i < o->n_test; i++)
        count[face_test[i]]++;
    kn_atomic_file af;
    int rc = kn_atomic_open(&af, path, err);
    if (rc) {
        free(count);
        return rc;
    }
    fprintf(af.fp,
            "# kenyon kana stand-in for KMNIST: seed %llu, distortion %g, %zu train / %zu test\n"
            "# classes: 0 o, 1 ki, 2 su, 3 tsu, 4 na, 5 ha, 6 ma, 7 ya, 8 re, 9 wo\n"
            "# split\tfamily\tsamples\tface_index\tpath\n",
            (unsigned long long)o->seed, o->distortion, o->n_train, o->n_test);
    for (size_t i = 0; i < f->n; i++)
        fprintf(af.fp, "%s\t%s\t%zu\t%ld\t%s\n", f->faces[i].is_test ? "test" : "train",
                f->faces[i].family, count[i], f->faces[i].index, f->faces[i].path);
    free(count);
    return kn_atomic_commit(&af, err);
}

int kn_kana_generate(const kn_kana_options *o, const char *out_dir, kn_kana_report *report,
                     kn_error *err)
{
    if (!out_dir || !*out_dir)
        return kn_fail(err, KN_EINVAL, "kana: --out directory is required");
    if (o->n_train < KN_KANA_CLASSES || o->n_test < KN_KANA_CLASSES)
        return kn_fail(err, KN_EINVAL, "kana: --train and --test must be at least %d (got %zu, %zu)",
                       KN_KANA_CLASSES, o->n_train, o->n_test);
    if (o->n_train > 10000000 || o->n_test > 10000000)
        return kn_fail(err, KN_EINVAL, "kana: at most 10000000 samples per split (got %zu, %zu)",
                       o->n_train, o->n_test);
    kn_kana_fonts fonts;
    int rc = kn_kana_fonts_find(o->font_dirs, o->test_families, &fonts, err);
    if (rc)
        return rc;
    kn_kana_renderer *r = NULL;
    uint8_t *img_train = NULL, *img_test = NULL, *lab_train = NULL, *lab_test = NULL;
    uint32_t *face_train = NULL, *face_test = NULL;
    rc = kn_kana_renderer_create(&fonts, &r, err);
    if (rc)
        goto done;
    const size_t px = KN_KANA_SIDE * KN_KANA_SIDE;
    img_train = malloc(o->n_train * px);
    img_test = malloc(o->n_test * px);
    lab_train = malloc(o->n_train);
    lab_test = malloc(o->n_test);
    face_train = malloc(o->n_train * sizeof *face_train);
    face_test = malloc(o->n_test * sizeof *face_test);
    if (!img_train || !img_test || !lab_train || !lab_test || !face_train || !face_test) {
        rc = kn_fail(err, KN_ENOMEM, "kana: out of memory for %zu + %zu images", o->n_train,
                     o->n_test);
        goto done;
    }
    double t0 = kn_seconds();
    rc = kn_kana_render_split(r, 0, o->n_train, o->seed, o->distortion, img_train, lab_train,
                              face_train, err);
    if (!rc)
        rc = kn_kana_render_split(r, 1, o->n_test, o->seed, o->distortion, img_test, lab_test,
                                  face_test, err);
    double t1 = kn_seconds();
    if (rc)
        goto done;
    rc = kn_mkdirs(out_dir, err);
    if (!rc)
        rc = write_split(out_dir, "train", img_train, lab_train, o->n_train, o->gzip, err);
    if (!rc)
        rc = write_split(out_dir, "t10k", img_test, lab_test, o->n_test, o->gzip, err);
    if (!rc)
        rc = write_manifest(out_dir, o, &fonts, face_train, face_test, err);
    if (!rc && report) {
        memset(report, 0, sizeof *report);
        report->n_faces = fonts.n;
        for (size_t i = 0; i < fonts.n; i++)
            report->n_test_faces += fonts.faces[i].is_test != 0;
        report->n_train_faces = fonts.n - report->n_test_faces;
        report->n_families = fonts.n_families;
        report->n_test_families = fonts.n_test_families;
        report->render_seconds = t1 - t0;
    }
done:
    free(img_train);
    free(img_test);
    free(lab_train);
    free(lab_test);
    free(face_train);
    free(face_test);
    kn_kana_renderer_free(r);
    kn_kana_fonts_free(&fonts);
    return rc;
}
