/* `kenyon features train|extract`: the paper's LeNet5 feature extractor (kenyon/features.h).
 * train: fits it on a pretraining set (KMNIST or the kana stand-in) and saves it as safetensors;
 * extract: writes the features of a named data set or of an image file as .npy, through one
 * driver (extract) for both networks: LeNet5's 84-d here, ResNet-18's 512-d in
 * features_resnet.c, chosen by what the model file holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "features_resnet.h"
#include "opts.h"
#include "kenyon/data_load.h"
#include "kenyon/features.h"
#include "kenyon/formats.h"
#include "kenyon/progress.h"

typedef struct train_ui {
    kn_progress bar;
    int quiet, bar_open, epoch, epochs;
} train_ui;

static void ui_batch(void *ctx, size_t done, size_t total)
{
    train_ui *ui = ctx;
    if (ui->quiet)
        return;
    if (!ui->bar_open) {
        char label[64];
        snprintf(label, sizeof label, "epoch %d/%d", ui->epoch + 1, ui->epochs);
        kn_progress_start(&ui->bar, stderr, 0, label, total);
        ui->bar_open = 1;
    }
    kn_progress_update(&ui->bar, done, NULL);
}

static int ui_epoch(void *ctx, int epoch, int epochs, double loss, double train_acc,
                    double test_acc, double seconds)
{
    train_ui *ui = ctx;
    if (ui->bar_open) {
        kn_progress_finish(&ui->bar, NULL);
        ui->bar_open = 0;
    }
    ui->epoch = epoch;
    if (!ui->quiet)
        printf("epoch %2d/%d  loss %.4f  train acc %.4f  test acc %.4f  (%.1f s)\n", epoch,
               epochs, loss, train_acc, test_acc, seconds);
    fflush(stdout);
    return 0;
}

static int cmd_train(int argc, char **argv)
{
    const char *pretrain = NULL, *out = NULL;
    int epochs = 25, batch = 64, quiet = 0;
    uint64_t seed = 0;
    double lr = 1e-3;
    kn_opt opts[] = {
        {"pretrain", KN_OPT_STRING, &pretrain,
         "directory with KMNIST's IDX files (or `kenyon data kana` output)"},
        {"out", KN_OPT_OUT_FILE, &out, "model file to write (safetensors)"},
        {"epochs", KN_OPT_INT, &epochs, "training epochs (the best epoch's weights are kept)"},
        {"batch", KN_OPT_INT, &batch, "mini-batch size"},
        {"lr", KN_OPT_DOUBLE, &lr, "Adam learning rate (x0.1 every 7 epochs)"},
        {"seed", KN_OPT_U64, &seed, "initialisation and shuffling seed"},
        {"quiet", KN_OPT_FLAG, &quiet, "print only the final line"},
        {NULL, 0, NULL, NULL},
    };
    kn_command_spec spec = {
        "features train", "--pretrain DIR --out MODEL [--epochs 25] [--seed N]",
        "Trains the fly paper's LeNet5 (conv 1->6 3x3, BN, ReLU, pool; conv 6->16 3x3, BN, ReLU, "
        "pool; fc 400->120, BN, ReLU; fc 120->84, BN, ReLU; fc 84->10) with Adam, step decay x0.1 "
        "every 7 epochs, batch 64, and keeps the weights with the best test accuracy.",
        opts};
    int r = kn_opts_parse(&spec, argc, argv, NULL, 0, NULL);
    if (r != KN_OPTS_OK)
        return kn_opts_exit_code(r);
    if (!pretrain || !out) {
        fprintf(stderr, "kenyon features train: --pretrain DIR and --out MODEL are required\n");
        return 2;
    }
    kn_error err;
    kn_error_clear(&err);
    kn_split sp;
    if (kn_pretrain_load(pretrain, &sp, &err)) {
        fprintf(stderr, "kenyon features train: %s\n", err.msg);
        return 1;
    }
    if (!quiet)
        printf("pretraining set %s: %zu train / %zu test images\n", pretrain, sp.train.n,
               sp.test.n);
    train_ui ui = {.quiet = quiet, .epochs = epochs};
    kn_lenet5_train_options o;
    kn_lenet5_train_options_default(&o);
    o.epochs = epochs;
    o.batch = batch;
    o.lr = lr;
    o.seed = seed;
    o.on_epoch = ui_epoch;
    o.on_batch = ui_batch;
    o.ctx = &ui;
    kn_net *net = NULL;
    kn_lenet5_result res;
    int rc = kn_lenet5_train(&sp.train, &sp.test, &o, &net, &res, &err);
    if (ui.bar_open)
        kn_progress_finish(&ui.bar, NULL);
    if (!rc) {
        char s_epochs[32], s_seed[32], s_best[32], s_acc[32];
        snprintf(s_epochs, sizeof s_epochs, "%d", epochs);
        snprintf(s_seed, sizeof s_seed, "%llu", (unsigned long long)seed);
        snprintf(s_best, sizeof s_best, "%d", res.best_epoch);
        snprintf(s_acc, sizeof s_acc, "%.6f", res.best_test_acc);
        const char *meta[] = {"pretrain", pretrain, "epochs", s_epochs, "seed", s_seed,
                              "best_epoch", s_best, "test_accuracy", s_acc, NULL, NULL};
        rc = kn_lenet5_save(net, out, meta, &err);
    }
    kn_net_free(net);
    kn_split_free(&sp);
    if (rc) {
        fprintf(stderr, "kenyon features train: %s\n", err.msg);
        return 1;
    }
    printf("best test accuracy %.4f at epoch %d/%d; trained in %.1f s; wrote %s\n",
           res.best_test_acc, res.best_epoch, res.epochs_run, res.train_seconds, out);
    return 0;
}

/* Reads images (any format kenyon reads) into n x 784 floats in [0,1] (uint8 data / 255). */
static int lenet_read_images(const char *path, kn_dataset *ds, int *c, int *h, int *w,
                             kn_error *err)
{
    *c = 1, *h = 28, *w = 28;
    kn_array a;
    int rc = kn_array_read_any(path, &a, err);
    if (rc)
        return rc;
    size_t n = a.ndim ? a.shape[0] : 0, d = n ? a.count / n : 0;
    if (n == 0 || d != KN_LENET5_IN) {
        kn_array_free(&a);
        return kn_fail(err, KN_EFORMAT, "%s: expected n images of 28x28 (784 values each), got "
                       "%zu rows of %zu values", path, n, d);
    }
    rc = kn_dataset_alloc(ds, n, d, 0, err);
    if (!rc) {
        double scale = a.dtype == KN_DT_U8 ? 1.0 / 255.0 : 1.0;
        for (size_t i = 0; i < a.count; i++)
            ds->x[i] = (float)(kn_array_get(&a, i) * scale);
        snprintf(ds->source, sizeof ds->source, "%.250s", path);
    }
    kn_array_free(&a);
    return rc;
}

static int lenet_load(const char *model, void **net, kn_error *err)
{
    kn_net *n = NULL;
    int rc = kn_lenet5_load(model, &n, err);
    *net = n;
    return rc;
}

static void lenet_free(void *net) { kn_net_free(net); }

static int lenet_features(void *net, const kn_dataset *part, int c, int h, int w, int batch,
                          kn_progress *bar, size_t offset, float *out, kn_error *err)
{
    (void)c, (void)h, (void)w, (void)batch, (void)bar, (void)offset;
    if (part->d != KN_LENET5_IN)
        return kn_fail(err, KN_EINVAL, "%s has %zu values per sample; LeNet5 needs 28x28",
                       part->source, part->d);
    return kn_lenet5_features(net, part->x, part->n, out, err);
}

static const kn_cli_extractor lenet5_extractor = {
    "features", KN_LENET5_FEATURES, NULL, lenet_load, lenet_free, lenet_read_images,
    lenet_features};

/* The extract command's work, whichever the network: the rows of a named data set (the chosen
 * parts, file order, no balancing) or of an image file through e, written as .npy (and the
 * labels with a data set). Returns the exit code. */
static int extract(const kn_cli_extractor *e, const char *model, const char *dataset,
                   const char *images, int want_train, int want_test, const char *data_dir,
                   const char *out, const char *labels_out, int batch, int quiet)
{
    kn_error err;
    kn_error_clear(&err);
    void *net = NULL;
    kn_split sp;
    memset(&sp, 0, sizeof sp);
    kn_dataset single;
    memset(&single, 0, sizeof single);
    float *feats = NULL;
    int32_t *labels = NULL;
    int c = 0, h = 0, w = 0;
    int rc = e->load(model, &net, &err);
    if (!rc && dataset) {
        kn_data_options o;
        kn_data_options_default(&o);
        o.data_dir = data_dir;
        o.balance = 0;
        rc = kn_load_dataset(dataset, &o, &sp, &err);
    } else if (!rc) {
        rc = e->read_images(images, &single, &c, &h, &w, &err);
    }
    const kn_dataset *parts[2] = {NULL, NULL};
    size_t rows = 0;
    if (!rc) {
        if (images)
            parts[0] = &single;
        else {
            if (want_train)
                parts[0] = &sp.train;
            if (want_test)
                parts[1] = &sp.test;
        }
        for (int k = 0; k < 2; k++)
            rows += parts[k] ? parts[k]->n : 0;
        feats = malloc((rows ? rows : 1) * e->width * sizeof *feats);
        labels = malloc((rows ? rows : 1) * sizeof *labels);
        if (!feats || !labels)
            rc = kn_fail(&err, KN_ENOMEM, "out of memory for %zu feature rows", rows);
    }
    kn_progress bar;
    int bar_open = 0;
    if (!rc && e->bar) {
        kn_progress_start(&bar, stderr, quiet, e->bar, rows);
        bar_open = 1;
    }
    size_t at = 0;
    for (int k = 0; k < 2 && !rc; k++) {
        if (!parts[k])
            continue;
        rc = e->features(net, parts[k], dataset ? 0 : c, h, w, batch, bar_open ? &bar : NULL,
                         at, feats + at * e->width, &err);
        if (!rc)
            memcpy(labels + at, parts[k]->y, parts[k]->n * sizeof *labels);
        at += parts[k]->n;
    }
    if (bar_open)
        kn_progress_finish(&bar, NULL);
    if (!rc) {
        size_t shape[2] = {rows, e->width};
        rc = kn_npy_write_f32(out, feats, shape, 2, &err);
        if (!rc && labels_out)
            rc = kn_npy_write_i32(labels_out, labels, shape, 1, &err);
    }
    free(feats);
    free(labels);
    if (net)
        e->free_net(net);
    kn_split_free(&sp);
    kn_dataset_free(&single);
    if (rc) {
        fprintf(stderr, "kenyon features extract: %s\n", err.msg);
        return 1;
    }
    printf("wrote %zu x %zu %s to %s\n", rows, e->width, e->wrote, out);
    return 0;
}

static int cmd_extract(int argc, char **argv)
{
    const char *model = NULL, *dataset = NULL, *images = NULL, *out = NULL, *data_dir = NULL;
    const char *split = "all", *labels_out = NULL;
    int batch = 8, quiet = 0;
    kn_opt opts[] = {
        {"model", KN_OPT_STRING, &model,
         "LeNet5 model file (from `kenyon features train`) or a ResNet-18 safetensors file "
         "(torchvision names; scripts/pth_to_safetensors.py converts a .pth)"},
        {"dataset", KN_OPT_STRING, &dataset, "named data set (mnist20, mnist, fashion, cifar100)"},
        {"images", KN_OPT_STRING, &images,
         "or: an image file (IDX/npy, n x 28 x 28; for ResNet-18 also n x 3 x h x w)"},
        {"split", KN_OPT_STRING, &split,
         "with --dataset: train, test, or all (train rows then test rows)"},
        {"data-dir", KN_OPT_STRING, &data_dir, "data directory (default $KENYON_DATA or ./data)"},
        {"out", KN_OPT_OUT_FILE, &out, "output .npy file (n x 84 float32)"},
        {"labels-out", KN_OPT_OUT_FILE, &labels_out,
         "with --dataset: also write the rows' labels (n int32 .npy)"},
        {"batch", KN_OPT_INT, &batch, "ResNet-18: images per batch (about 40 MB each)"},
        {"quiet", KN_OPT_FLAG, &quiet, "ResNet-18: no progress bar"},
        {NULL, 0, NULL, NULL},
    };
    kn_command_spec spec = {
        "features extract", "--model MODEL (--dataset NAME | --images FILE) --out FILE.npy",
        "Writes the 84 post-ReLU outputs of LeNet5's 120->84 layer (evaluation mode) for every "
        "image, or with a ResNet-18 model the 512 globally pooled outputs after the paper's "
        "preprocessing (resize 299, centre crop 299, ImageNet normalisation). With --dataset the "
        "rows follow the data set's file order without class balancing (train rows, then test "
        "rows for --split all).",
        opts};
    int r = kn_opts_parse(&spec, argc, argv, NULL, 0, NULL);
    if (r != KN_OPTS_OK)
        return kn_opts_exit_code(r);
    if (!model || !out || (!dataset) == (!images)) {
        fprintf(stderr, "kenyon features extract: --model, --out and exactly one of --dataset or "
                        "--images are required\n");
        return 2;
    }
    int want_train = !strcmp(split, "train") || !strcmp(split, "all");
    int want_test = !strcmp(split, "test") || !strcmp(split, "all");
    if (labels_out && !dataset) {
        fprintf(stderr, "kenyon features extract: --labels-out needs --dataset\n");
        return 2;
    }
    if (!want_train && !want_test) {
        fprintf(stderr, "kenyon features extract: --split must be train, test or all, got '%s'\n",
                split);
        return 2;
    }
    const int resnet = kn_cli_is_resnet18_file(model);
    if (resnet && (batch < 1 || batch > 256)) {
        fprintf(stderr, "kenyon features extract: --batch must be 1..256, got %d\n", batch);
        return 2;
    }
    return extract(resnet ? &kn_cli_resnet18_extractor : &lenet5_extractor, model, dataset,
                   images, want_train, want_test, data_dir, out, labels_out, batch, quiet);
}

int kn_cmd_features(int argc, char **argv)
{
    static const kn_subcommand verbs[] = {
        {"train", "train the LeNet5 extractor on a pretraining set", cmd_train},
        {"extract", "write 84-d LeNet5 features of a data set as .npy", cmd_extract},
        {NULL, NULL, NULL},
    };
    return kn_dispatch("features", verbs, argc, argv);
}
