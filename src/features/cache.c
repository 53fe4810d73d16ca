/* `--features lenet`: a trained extractor and the features it produced, cached on disk and keyed
 * by what produced them, so every run after the first reuses them. The model key hashes the
 * pretraining files' bytes, the seed and the epochs; the feature key hashes the model key and
 * the data set's values and labels (the digest of feature_hash.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kenyon/data_load.h"
#include "kenyon/features.h"
#include "kenyon/fileio.h"
#include "kenyon/formats.h"
#include "kenyon/kana.h"

#include "feature_hash.h"

#define HASH_INIT KN_FEATURE_HASH_INIT
#define hash_bytes kn_feature_hash_bytes
#define hash_u64 kn_feature_hash_u64

void kn_feature_cache_options_default(kn_feature_cache_options *o)
{
    memset(o, 0, sizeof *o);
    o->epochs = 25;
}

/* snprintf into a path buffer; 0 if it fit. */
#define PATH_FMT(buf, ...) (snprintf(buf, sizeof buf, __VA_ARGS__) >= (int)sizeof buf ? -1 : 0)

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int has_idx(const char *dir, const char *name)
{
    char p[4096];
    if (PATH_FMT(p, "%s/%s", dir, name) == 0 && file_exists(p))
        return 1;
    return PATH_FMT(p, "%s/%s.gz", dir, name) == 0 && file_exists(p);
}

static const char *const pretrain_files[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                              "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

/* Hash of the four pretraining files' bytes (whichever of plain/.gz exists). */
static int hash_pretrain(const char *dir, uint64_t *h, kn_error *err)
{
    for (int k = 0; k < 4; k++) {
        char p[4096];
        if (PATH_FMT(p, "%s/%s", dir, pretrain_files[k]) || !file_exists(p))
            if (PATH_FMT(p, "%s/%s.gz", dir, pretrain_files[k]))
                return kn_fail(err, KN_EINVAL, "pretraining directory name too long: %.100s...", dir);
        unsigned char *data;
        size_t len;
        int rc = kn_read_file(p, KN_FORMAT_MAX_BYTES, &data, &len, err);
        if (rc)
            return rc;
        *h = hash_u64(hash_bytes(*h, data, len), len);
        free(data);
    }
    return 0;
}

static uint64_t hash_dataset(uint64_t h, const kn_dataset *ds)
{
    h = hash_u64(h, ds->n);
    h = hash_u64(h, ds->d);
    h = hash_bytes(h, ds->x, ds->n * ds->d * sizeof *ds->x);
    return hash_bytes(h, ds->y, ds->n * sizeof *ds->y);
}

static void say(const kn_feature_cache_options *o, const char *fmt, const char *arg)
{
    if (o->log) {
        fprintf(o->log, fmt, arg);
        fflush(o->log);
    }
}

static int log_epoch(void *ctx, int epoch, int epochs, double loss, double tr, double te,
                     double s)
{
    FILE *log = ctx;
    if (log) {
        fprintf(log, "lenet5: epoch %d/%d loss %.4f train acc %.4f test acc %.4f (%.1f s)\n",
                epoch, epochs, loss, tr, te, s);
        fflush(log); /* the log may be a pipe or a file: show each epoch as it ends */
    }
    return 0;
}

/* Finds or trains the extractor; *model_key identifies it. */
static int get_model(const kn_feature_cache_options *o, const char *data_dir, const char *cache,
                     kn_net **net, uint64_t *model_key, kn_error *err)
{
    char pretrain[4096];
    if (o->pretrain_dir && *o->pretrain_dir) {
        if (PATH_FMT(pretrain, "%s", o->pretrain_dir))
            return kn_fail(err, KN_EINVAL, "pretraining directory name too long");
    } else {
        if (PATH_FMT(pretrain, "%s/kmnist", data_dir))
            return kn_fail(err, KN_EINVAL, "data directory name too long");
        if (!has_idx(pretrain, pretrain_files[0])) {
            if (PATH_FMT(pretrain, "%s/kana", data_dir))
                return kn_fail(err, KN_EINVAL, "data directory name too long");
            int complete = 1;
            for (int k = 0; k < 4; k++)
                complete &= has_idx(pretrain, pretrain_files[k]);
            if (!complete) {
                say(o, "lenet5: no KMNIST in the data directory; rendering the kana stand-in "
                       "into %s\n", pretrain);
                kn_kana_options ko;
                kn_kana_options_default(&ko);
                int rc = kn_kana_generate(&ko, pretrain, NULL, err);
                if (rc)
                    return rc;
            }
        }
    }
    uint64_t h = hash_bytes(HASH_INIT, "kenyon-lenet5-v1", 16);
    int rc = hash_pretrain(pretrain, &h, err);
    if (rc)
        return rc;
    h = hash_u64(hash_u64(h, o->seed), (uint64_t)o->epochs);
    *model_key = h;
    char path[4096];
    if (PATH_FMT(path, "%s/lenet5-%016" PRIx64 ".safetensors", cache, h))
        return kn_fail(err, KN_EINVAL, "cache directory name too long");
    if (file_exists(path)) {
        say(o, "lenet5: reusing cached extractor %s\n", path);
        return kn_lenet5_load(path, net, err);
    }
    say(o, "lenet5: training the extractor on %s", pretrain);
    say(o, " (it will be cached as %s)\n", path);
    kn_split sp;
    rc = kn_pretrain_load(pretrain, &sp, err);
    if (rc)
        return rc;
    kn_lenet5_train_options to;
    kn_lenet5_train_options_default(&to);
    to.epochs = o->epochs;
    to.seed = o->seed;
    to.on_epoch = log_epoch;
    to.ctx = o->log;
    kn_lenet5_result res;
    rc = kn_lenet5_train(&sp.train, &sp.test, &to, net, &res, err);
    kn_split_free(&sp);
    if (rc)
        return rc;
    char s_seed[32], s_epochs[32], s_acc[32], s_best[32];
    snprintf(s_seed, sizeof s_seed, "%" PRIu64, o->seed);
    snprintf(s_epochs, sizeof s_epochs, "%d", o->epochs);
    snprintf(s_acc, sizeof s_acc, "%.6f", res.best_test_acc);
    snprintf(s_best, sizeof s_best, "%d", res.best_epoch);
    const char *meta[] = {"pretrain", pretrain, "seed", s_seed, "epochs", s_epochs,
                          "test_accuracy", s_acc, "best_epoch", s_best, NULL, NULL};
    rc = kn_lenet5_save(*net, path, meta, err);
    if (!rc)
        say(o, "lenet5: saved the extractor to %s\n", path);
    return rc;
}

/* Replaces part's x by its features, from the cache file when it matches. */
static int featurise(const kn_feature_cache_options *o, kn_net *net, const char *path,
                     kn_dataset *part, kn_error *err)
{
    float *feats = NULL;
    if (file_exists(path)) {
        kn_npy a;
        if (kn_npy_read(path, &a, err) == 0) {
            if (a.dtype == KN_DT_F32 && a.ndim == 2 && a.shape[0] == part->n &&
                a.shape[1] == KN_LENET5_FEATURES) {
                feats = a.data; /* take ownership */
                a.data = NULL;
                say(o, "lenet5: reusing cached features %s\n", path);
            }
            kn_npy_free(&a);
        }
    }
    if (!feats) {
        feats = malloc((part->n ? part->n : 1) * KN_LENET5_FEATURES * sizeof *feats);
        if (!feats)
            return kn_fail(err, KN_ENOMEM, "lenet5: out of memory for %zu feature rows", part->n);
        int rc = kn_lenet5_features(net, part->x, part->n, feats, err);
        size_t shape[2] = {part->n, KN_LENET5_FEATURES};
        if (!rc)
            rc = kn_npy_write_f32(path, feats, shape, 2, err);
        if (rc) {
            free(feats);
            return rc;
        }
    }
    free(part->x);
    part->x = feats;
    part->d = KN_LENET5_FEATURES;
    part->channels = part->height = part->width = 0;
    size_t len = strlen(part->source);
    snprintf(part->source + len, sizeof part->source - len, " -> LeNet5 features");
    return 0;
}

int kn_features_lenet_cached(const kn_feature_cache_options *o, kn_split *split, kn_error *err)
{
    if (split->train.d != KN_LENET5_IN || split->test.d != KN_LENET5_IN)
        return kn_fail(err, KN_EINVAL,
                       "--features lenet needs 28x28 grey images (784 values); '%s' has %zu",
                       split->train.source, split->train.d);
    if (o->epochs < 1)
        return kn_fail(err, KN_EINVAL, "--features lenet: epochs must be >= 1, got %d", o->epochs);
    const char *data_dir = o->data_dir && *o->data_dir ? o->data_dir : kn_data_dir_default();
    char cache[4096];
    int rc;
    if (o->cache_dir && *o->cache_dir)
        rc = PATH_FMT(cache, "%s", o->cache_dir);
    else
        rc = PATH_FMT(cache, "%s/cache", data_dir);
    if (rc)
        return kn_fail(err, KN_EINVAL, "cache directory name too long");
    rc = kn_mkdirs(cache, err);
    if (rc)
        return rc;
    kn_net *net = NULL;
    uint64_t model_key = 0;
    rc = get_model(o, data_dir, cache, &net, &model_key, err);
    if (rc)
        return rc;
    for (int part = 0; part < 2 && !rc; part++) {
        kn_dataset *ds = part ? &split->test : &split->train;
        uint64_t key = hash_dataset(hash_u64(HASH_INIT, model_key), ds);
        char path[4096];
        if (PATH_FMT(path, "%s/features-%016" PRIx64 "-%016" PRIx64 "-%s.npy", cache, model_key,
                     key, part ? "test" : "train"))
            rc = kn_fail(err, KN_EINVAL, "cache directory name too long");
        else
            rc = featurise(o, net, path, ds, err);
    }
    kn_net_free(net);
    return rc;
}
