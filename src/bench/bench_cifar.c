/* `kenyon bench cifar100`: the fly paper's second table (Shen, Dasgupta & Navlakha 2021), split
 * CIFAR-100 on 512-d features of an ImageNet-pretrained ResNet-18. This file holds the setting:
 * the preset (25 tasks of 4 classes in label order; every method's settings, under the user's
 * own M:key=value), the published numbers, and the data path: CIFAR-100's binary files for the
 * labels and the images, the features either extracted here from a weight file (cached,
 * kenyon/resnet18.h) or given as .npy files, then the benchmark of bench_run.c on them. Every
 * option and every file is checked before any work, and a missing file is named with what to
 * put there. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench/bench_internal.h"
#include "kenyon/data_load.h"
#include "kenyon/formats.h"
#include "kenyon/progress.h"
#include "kenyon/resnet18.h"
#include "kenyon/tasks.h"

#define CIFAR_CLASSES_PER_TASK 4
/* --quick leaves out the methods that cost minutes even on 16 images per class at the paper's
 * widths: offline (10 epochs of a 20000-unit MLP after every task), fly-ridge (a 20000 x 20000
 * solve per task), GEM (its 24 stored-task gradients at width 3200 cost about two minutes a
 * seed even there) and BI-R. Naming them in --methods runs them. */
#define CIFAR_QUICK_METHODS "fly,v1,v2,v3,vanilla,ewc"

/* The default method list of the set; its address tells "not chosen by the user" apart. */
static const char cifar_methods[] = KN_BENCH_DEFAULT_METHODS;

/* The paper's CIFAR-100 settings per method (reference: the paper's settings table and the
 * baselines as configured in its notebooks). Where the paper gives nothing, the choice is said:
 * - fly-ridge (not in the paper) takes FlyModel's KC code (m 20000, c 64, top 1%) and its own
 *   default lambda;
 * - GEM keeps kenyon's default width 3200: the paper names no width for CIFAR-100, and at 20000
 *   units its 25 tasks' stored gradients (one per past task, 0.4 G parameters each) would not
 *   fit in memory;
 * - BI-R takes the learning rate 1e-4 of its authors' CIFAR-100 runs, the rest as for MNIST-20.
 * The k-WTA's top 1% is k-fraction 0.01 (200 of 20000 cells). */
typedef struct preset_row {
    const char *method;
    kn_kv kv[BENCH_PRESET_MAX];
} preset_row;

#define KC_CODE {"m", "20000"}, {"c", "64"}, {"k-fraction", "0.01"}
static const preset_row cifar_presets[] = {
    {"fly", {KC_CODE, {"lr", "0.2"}}},
    {"v1", {KC_CODE, {"lr", "0.5"}}},
    {"v2", {KC_CODE, {"lr", "0.2"}}},
    {"v3", {KC_CODE, {"lr", "0.01"}}},
    {"fly-ridge", {KC_CODE}},
    {"vanilla", {{"hidden", "20000"}, {"lr", "0.001"}, {"momentum", "0.9"}}},
    {"offline", {{"hidden", "20000"}, {"lr", "0.001"}, {"momentum", "0.9"}, {"epochs", "10"}}},
    {"ewc", {{"hidden", "20000"}, {"lambda", "1"}, {"lr", "0.001"}, {"n-memories", "10"},
             {"momentum", "0.9"}}},
    {"gem", {{"hidden", "3200"}, {"lr", "0.001"}, {"momentum", "0.9"}, {"n-memories", "256"},
             {"margin", "0.5"}}},
    {"bir", {{"lr", "0.0001"}}},
    {NULL, {{NULL, NULL}}},
};

static const bench_paper_row cifar_paper_rows[] = {
    {"offline", "Offline", {.541}, NAN},
    {"fly", "FlyModel", {.414}, NAN},
    {"gem", "GEM", {.262}, NAN},
    {NULL, NULL, {0}, NAN},
};
static const int cifar_paper_at[1] = {100};
static const bench_paper_table cifar_table = {
    "Shen, Dasgupta & Navlakha 2021: final accuracy over the 100 classes, 512-d features of an "
    "ImageNet-pretrained ResNet-18",
    "Shen, Dasgupta & Navlakha 2021, CIFAR-100 on ImageNet ResNet-18 features, mean of 5 seeds",
    1, cifar_paper_at, 0, cifar_paper_rows};

static int is_cifar(const kn_bench_options *o)
{
    return o->dataset && strcmp(o->dataset, "cifar100") == 0;
}

static int ends_with_npy(const char *s)
{
    size_t n = strlen(s);
    return n > 4 && strcmp(s + n - 4, ".npy") == 0;
}

void kn_bench_options_preset(kn_bench_options *o)
{
    if (!is_cifar(o))
        return;
    o->classes_per_task = CIFAR_CLASSES_PER_TASK;
    o->features = NULL; /* ResNet-18 features, from --model or the feature files */
    o->methods = cifar_methods;
    /* 16 training images a class: a task of 4 classes is exactly one batch of 64. */
    o->quick_train_per_class = 16;
    o->quick_test_per_class = 10;
}

const bench_paper_table *bench_cifar_paper_table(void) { return &cifar_table; }

int bench_cifar_is_paper_setting(const kn_bench_options *o, int classes_per_task)
{
    const char *order = o->class_order ? o->class_order : "label";
    return is_cifar(o) && classes_per_task == CIFAR_CLASSES_PER_TASK &&
           strcmp(order, "label") == 0 && (!o->features || ends_with_npy(o->features));
}

static const preset_row *preset_of(const kn_bench_options *o, const char *method)
{
    if (!is_cifar(o))
        return NULL;
    for (const preset_row *p = cifar_presets; p->method; p++)
        if (strcmp(p->method, method) == 0)
            return p;
    return NULL;
}

size_t bench_preset_fill(const kn_bench_options *o, const char *method, kn_kv *kv, size_t n,
                         size_t max)
{
    const preset_row *p = preset_of(o, method);
    const size_t given = n;
    for (size_t i = 0; p && i < BENCH_PRESET_MAX && p->kv[i].key && n < max; i++) {
        int user_set = 0;
        for (size_t j = 0; j < given; j++)
            user_set |= strcmp(kv[j].key, p->kv[i].key) == 0;
        if (!user_set)
            kv[n++] = p->kv[i];
    }
    return n;
}

void bench_preset_describe(FILE *f, const kn_bench_options *o)
{
    if (!is_cifar(o))
        return;
    fprintf(f, "- Settings: the fly paper's CIFAR-100 settings unless the method's row label "
               "says otherwise (FlyModel and V1-V3 on 20000 Kenyon cells of 64 inputs, top 1%%; "
               "GEM's width 3200 and fly-ridge are kenyon's choices, the paper gives none):\n");
    for (const preset_row *p = cifar_presets; p->method; p++) {
        fprintf(f, "  - %s:", p->method);
        for (int i = 0; i < BENCH_PRESET_MAX && p->kv[i].key; i++)
            fprintf(f, "%s %s %s", i ? "," : "", p->kv[i].key, p->kv[i].value);
        fprintf(f, ".\n");
    }
}

int bench_cifar_takes(const kn_bench_options *o)
{
    return is_cifar(o) || o->cifar_dir || o->model || o->features_train || o->features_test;
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Where the data come from, every path resolved. */
typedef struct cifar_paths {
    char dir[4096], train[4200], test[4200];
    char model[4200];          /* "" when the features come from elsewhere */
    char cache[4200];
    const char *features;      /* NULL (ResNet-18), "pixels" or a combined FILE.npy */
} cifar_paths;

static int resolve(const kn_bench_options *o, cifar_paths *p, kn_error *err)
{
    memset(p, 0, sizeof *p);
    const char *data_dir = o->data_dir && *o->data_dir ? o->data_dir : kn_data_dir_default();
    const int files = o->features_train || o->features_test;
    p->features = o->features;
    if (files && !(o->features_train && o->features_test))
        return kn_fail(err, KN_EINVAL, "--features-train and --features-test go together "
                       "(missing --%s)", o->features_train ? "features-test" : "features-train");
    if ((files ? 1 : 0) + (o->model ? 1 : 0) + (o->features ? 1 : 0) > 1)
        return kn_fail(err, KN_EINVAL, "give one source of features: --model, "
                       "--features-train/--features-test, or --features");
    if (o->features && strcmp(o->features, "pixels") != 0 && !ends_with_npy(o->features))
        return kn_fail(err, KN_EINVAL, "--features %s: cifar100 takes pixels or FILE.npy (its "
                       "train rows then test rows); the paper's ResNet-18 features come from "
                       "--model or --features-train/--features-test", o->features);
    int n = o->cifar_dir ? snprintf(p->dir, sizeof p->dir, "%s", o->cifar_dir)
                         : snprintf(p->dir, sizeof p->dir, "%s/cifar-100-binary", data_dir);
    if (n < 0 || (size_t)n >= sizeof p->dir)
        return kn_fail(err, KN_EINVAL, "--cifar: directory name too long");
    snprintf(p->train, sizeof p->train, "%s/train.bin", p->dir);
    snprintf(p->test, sizeof p->test, "%s/test.bin", p->dir);
    if (!files && !o->features) {
        if (o->model)
            snprintf(p->model, sizeof p->model, "%s", o->model);
        else
            snprintf(p->model, sizeof p->model, "%s/resnet18.safetensors", data_dir);
    }
    snprintf(p->cache, sizeof p->cache, "%s/cache", data_dir);
    return KN_OK;
}

/* Every input file must be there before anything runs; the message says what goes where. */
static int check_present(const kn_bench_options *o, const cifar_paths *p, kn_error *err)
{
    char msg[KN_ERROR_MSG_MAX] = "";
    size_t len = 0;
    if (!is_file(p->train) || !is_file(p->test))
        len += (size_t)snprintf(msg + len, sizeof msg - len,
                                "CIFAR-100 not found: put train.bin and test.bin of its binary "
                                "version (cifar-100-binary.tar.gz, unpacked) in %s/%s",
                                p->dir, o->cifar_dir ? "" : " (or name their folder with --cifar)");
    const char *ft[2] = {o->features_train, o->features_test};
    for (int k = 0; k < 2 && len < sizeof msg; k++)
        if (ft[k] && !is_file(ft[k]))
            len += (size_t)snprintf(msg + len, sizeof msg - len, "%s--features-%s %s: no such "
                                    "file", len ? "; " : "", k ? "test" : "train", ft[k]);
    if (len < sizeof msg && p->features && strcmp(p->features, "pixels") != 0 &&
        !is_file(p->features))
        len += (size_t)snprintf(msg + len, sizeof msg - len, "%s--features %s: no such file",
                                len ? "; " : "", p->features);
    if (len < sizeof msg && p->model[0] && !is_file(p->model))
        len += (size_t)snprintf(msg + len, sizeof msg - len,
                                "%sResNet-18 weights not found: put them at %s (from "
                                "torchvision's resnet18 .pth: python3 "
                                "scripts/pth_to_safetensors.py IN.pth %s)%s, or give features "
                                "with --features-train F.npy --features-test F.npy",
                                len ? "; " : "", p->model, p->model,
                                o->model ? "" : " or name them with --model");
    if (!len)
        return KN_OK;
    return kn_fail(err, KN_EIO, "%s", msg);
}

/* Copies rows [offset, offset + part->n) of a 2-d feature array into part, checking them. */
static int take_rows(const kn_array *a, const char *path, size_t offset, kn_dataset *part,
                     kn_error *err)
{
    const size_t d = a->shape[1];
    float *x = malloc((part->n ? part->n : 1) * d * sizeof *x);
    if (!x)
        return kn_fail(err, KN_ENOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < part->n * d; i++) {
        double v = kn_array_get(a, offset * d + i);
        if (!isfinite(v)) {
            free(x);
            return kn_fail(err, KN_EFORMAT, "%s: row %zu, column %zu is not finite", path,
                           offset + i / d, i % d);
        }
        x[i] = (float)v;
    }
    free(part->x);
    part->x = x;
    part->d = d;
    part->channels = part->height = part->width = 0;
    return KN_OK;
}

static int read_2d(const char *path, kn_array *a, kn_error *err)
{
    int rc = kn_array_read_any(path, a, err);
    if (rc)
        return rc;
    if (a->ndim != 2 || a->shape[1] == 0) {
        kn_array_free(a);
        return kn_fail(err, KN_EFORMAT, "%s: expected a 2-d array (one row of features per "
                       "image), got %d dimensions", path, a->ndim);
    }
    return KN_OK;
}

/* --features-train / --features-test: one file per part, rows in the CIFAR file's order. */
static int apply_part_files(const kn_bench_options *o, const cifar_paths *p, kn_split *sp,
                            kn_error *err)
{
    const char *files[2] = {o->features_train, o->features_test};
    const char *bins[2] = {p->train, p->test};
    kn_dataset *parts[2] = {&sp->train, &sp->test};
    size_t d = 0;
    for (int k = 0; k < 2; k++) {
        kn_array a;
        int rc = read_2d(files[k], &a, err);
        if (rc)
            return rc;
        if (a.shape[0] != parts[k]->n) {
            rc = kn_fail(err, KN_EINVAL, "--features-%s %s has %zu rows, but %s has %zu images: "
                         "it must have one row per image, in the file's order",
                         k ? "test" : "train", files[k], a.shape[0], bins[k], parts[k]->n);
        } else if (k && a.shape[1] != d) {
            rc = kn_fail(err, KN_EINVAL, "--features-test %s has %zu columns, --features-train "
                         "%s has %zu: both must hold the same features", files[1], a.shape[1],
                         files[0], d);
        }
        d = a.shape[1];
        if (!rc)
            rc = take_rows(&a, files[k], 0, parts[k], err);
        kn_array_free(&a);
        if (rc)
            return rc;
    }
    return KN_OK;
}

/* --features FILE.npy: train rows then test rows in one file. */
static int apply_combined_file(const char *path, const cifar_paths *p, kn_split *sp,
                               kn_error *err)
{
    kn_array a;
    int rc = read_2d(path, &a, err);
    if (rc)
        return rc;
    if (a.shape[0] != sp->train.n + sp->test.n)
        rc = kn_fail(err, KN_EINVAL, "--features %s has %zu rows, but %s and %s have %zu + %zu "
                     "images: it must have a row per image, train rows then test rows",
                     path, a.shape[0], p->train, p->test, sp->train.n, sp->test.n);
    if (!rc)
        rc = take_rows(&a, path, 0, &sp->train, err);
    if (!rc)
        rc = take_rows(&a, path, sp->train.n, &sp->test, err);
    kn_array_free(&a);
    return rc;
}

static void extraction_progress(void *ctx, size_t done, size_t total)
{
    kn_progress *bar = ctx;
    bar->total = total;
    kn_progress_update(bar, done, NULL);
}

static int apply_model(const kn_bench_options *o, const cifar_paths *p, kn_split *sp,
                       char *label, size_t label_size, kn_error *err)
{
    kn_progress bar;
    kn_progress_start(&bar, stderr, !o->progress, "resnet18 features",
                      sp->train.n + sp->test.n);
    kn_resnet18_cache_options co = {p->cache, 8, o->log, extraction_progress, &bar};
    const char *const bins[2] = {p->train, p->test};
    size_t extracted = 0;
    int rc = kn_resnet18_features_cached(&co, p->model, bins, sp, &extracted, err);
    kn_progress_finish(&bar, rc ? "stopped" : NULL);
    /* The label is part of every run's cache key: it names the weights, not whether they were
     * just run (the log says that), so a second benchmark finds the first one's runs. */
    snprintf(label, label_size,
             "ResNet-18 (%.300s), 512-d average-pool output after resize 299, centre crop 299, "
             "ImageNet normalisation",
             p->model);
    if (!rc && o->log)
        fprintf(o->log, "resnet18: %zu images run through the network, %zu from the cache\n",
                extracted, sp->train.n + sp->test.n - extracted);
    return rc;
}

int bench_cifar_run(const kn_bench_options *o, kn_error *err)
{
    if (!is_cifar(o))
        return kn_fail(err, KN_EINVAL, "--cifar, --model, --features-train and --features-test "
                       "are options of `kenyon bench cifar100`");
    if (o->train_x || o->train_y || o->test_x || o->test_y)
        return kn_fail(err, KN_EINVAL, "--train-x/--train-y/--test-x/--test-y are for your own "
                       "data; not with the named set cifar100");
    if (o->features && strcmp(o->features, "lenet") == 0)
        return kn_fail(err, KN_EINVAL, "--features lenet: LeNet5 takes 28 x 28 grey images; "
                       "CIFAR-100's are 3 x 32 x 32 (the paper used ResNet-18 features: --model)");
    kn_bench_options c = *o;
    if (c.quick && c.methods == cifar_methods)
        c.methods = CIFAR_QUICK_METHODS;
    cifar_paths p;
    int rc = resolve(o, &p, err);
    if (!rc)
        rc = kn_bench_run_split(&c, NULL, NULL, NULL, err); /* methods, settings, seeds */
    if (!rc)
        rc = check_present(o, &p, err);
    if (rc)
        return rc;
    kn_split sp;
    memset(&sp, 0, sizeof sp);
    double t0 = kn_seconds();
    rc = kn_cifar_read(p.train, 1, &sp.train, err);
    if (!rc)
        rc = kn_cifar_read(p.test, 1, &sp.test, err);
    char label[600];
    if (!rc) {
        /* 1 + the largest label present (100 in CIFAR-100 itself; fewer in a small set). */
        int n_classes = 0;
        for (int k = 0; k < 2; k++) {
            const kn_dataset *ds = k ? &sp.test : &sp.train;
            for (size_t i = 0; i < ds->n; i++)
                n_classes = ds->y[i] >= n_classes ? ds->y[i] + 1 : n_classes;
        }
        sp.train.n_classes = sp.test.n_classes = n_classes;
        snprintf(sp.train.source, sizeof sp.train.source, "CIFAR-100 binary (%.200s)", p.dir);
        snprintf(sp.test.source, sizeof sp.test.source, "CIFAR-100 binary (%.200s)", p.dir);
        if (p.model[0])
            rc = apply_model(o, &p, &sp, label, sizeof label, err);
        else if (o->features_train) {
            rc = apply_part_files(o, &p, &sp, err);
            snprintf(label, sizeof label, "features from %.250s (train) and %.250s (test)",
                     o->features_train, o->features_test);
        } else if (p.features && strcmp(p.features, "pixels") != 0) {
            rc = apply_combined_file(p.features, &p, &sp, err);
            snprintf(label, sizeof label, "features from %.500s", p.features);
        } else {
            snprintf(label, sizeof label, "pixels (raw inputs, images scaled to [0,1])");
        }
    }
    if (!rc && o->balance)
        rc = kn_dataset_balance(&sp.train, 0, err);
    if (!rc && o->quick)
        rc = kn_dataset_keep_first_per_class(&sp.train, o->quick_train_per_class, err);
    if (!rc && o->quick)
        rc = kn_dataset_keep_first_per_class(&sp.test, o->quick_test_per_class, err);
    if (!rc && o->log)
        fprintf(o->log, "data: %s, loaded in %.1f s%s\n", sp.train.source, kn_seconds() - t0,
                o->quick ? " (quick: a subset of every class)" : "");
    if (!rc)
        rc = kn_bench_run_split(&c, &sp, sp.train.source, label, err);
    kn_split_free(&sp);
    return rc;
}
