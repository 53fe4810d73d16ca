/* The ResNet-18 feature cache (kn_resnet18_features_cached, kenyon/resnet18.h): CIFAR-100's
 * 60,000 images take 9-12 hours through the network on two cores, so the features of each part
 * are stored as .npy beside the LeNet5 cache, keyed by digests of the weight file, of the data
 * file and of the preprocessing (feature_hash.h), and checked before they are trusted. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kenyon/fileio.h"
#include "kenyon/formats.h"
#include "kenyon/resnet18.h"

#include "feature_hash.h"

#define CHUNK (1u << 20) /* a multiple of 8: streamed digests equal one-call digests */

/* Digest of a file's bytes and length, read a chunk at a time. */
static int hash_file(const char *path, uint64_t *h, kn_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return kn_fail(err, KN_EIO, "%s: cannot open", path);
    unsigned char *buf = malloc(CHUNK);
    if (!buf) {
        fclose(f);
        return kn_fail(err, KN_ENOMEM, "out of memory");
    }
    uint64_t total = 0;
    int rc = KN_OK;
    for (;;) {
        size_t got = 0;
        while (got < CHUNK) {
            size_t r = fread(buf + got, 1, CHUNK - got, f);
            if (r == 0)
                break;
            got += r;
        }
        *h = kn_feature_hash_bytes(*h, buf, got);
        total += got;
        if (got < CHUNK)
            break;
    }
    if (ferror(f))
        rc = kn_fail(err, KN_EIO, "%s: read error after %" PRIu64 " bytes", path, total);
    *h = kn_feature_hash_u64(*h, total);
    free(buf);
    fclose(f);
    return rc;
}

/* The cached features of a part if the file is there and sound, else NULL (with a note why a
 * file that is there is not used). */
static float *load_cached(const char *path, size_t rows, FILE *log)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return NULL;
    kn_npy a;
    kn_error e;
    kn_error_clear(&e);
    if (kn_npy_read(path, &a, &e) != 0) {
        if (log)
            fprintf(log, "resnet18: cached features unreadable (%s); extracting again\n", e.msg);
        return NULL;
    }
    float *x = NULL;
    if (a.dtype == KN_DT_F32 && a.ndim == 2 && a.shape[0] == rows &&
        a.shape[1] == KN_RESNET18_FEATURES) {
        x = a.data;
        for (size_t i = 0; x && i < a.count; i++)
            if (!isfinite(x[i]))
                x = NULL;
        if (x)
            a.data = NULL; /* ownership moves to the caller */
    }
    if (!x && log)
        fprintf(log, "resnet18: %s is not %zu x %d finite float32 features; extracting again\n",
                path, rows, KN_RESNET18_FEATURES);
    kn_npy_free(&a);
    return x;
}

typedef struct part_progress {
    const kn_resnet18_cache_options *o;
    size_t offset, total;
} part_progress;

static void on_batch(void *ctx, size_t done, size_t total)
{
    (void)total;
    part_progress *p = ctx;
    if (p->o->progress)
        p->o->progress(p->o->ctx, p->offset + done, p->total);
}

int kn_resnet18_features_cached(const kn_resnet18_cache_options *o, const char *model_path,
                                const char *const data_paths[2], kn_split *split,
                                size_t *extracted, kn_error *err)
{
    if (extracted)
        *extracted = 0;
    if (!o->cache_dir || !*o->cache_dir)
        return kn_fail(err, KN_EINVAL, "resnet18 cache: no cache directory given");
    kn_dataset *parts[2] = {&split->train, &split->test};
    static const char *const names[2] = {"train", "test"};
    for (int k = 0; k < 2; k++)
        if (parts[k]->d != 3 * 32 * 32)
            return kn_fail(err, KN_EINVAL, "%s: %zu values per image; ResNet-18 features of a "
                           "CIFAR part need its 3 x 32 x 32 images", data_paths[k], parts[k]->d);
    uint64_t wkey = kn_feature_hash_bytes(KN_FEATURE_HASH_INIT, KN_RESNET18_PREPROCESS_VERSION,
                                          strlen(KN_RESNET18_PREPROCESS_VERSION));
    int rc = hash_file(model_path, &wkey, err);
    if (rc)
        return rc;
    rc = kn_mkdirs(o->cache_dir, err);
    if (rc)
        return rc;
    char path[2][4200];
    float *feats[2] = {NULL, NULL};
    size_t to_do = 0;
    for (int k = 0; k < 2 && !rc; k++) {
        uint64_t dkey = KN_FEATURE_HASH_INIT;
        rc = hash_file(data_paths[k], &dkey, err);
        if (rc)
            break;
        if (snprintf(path[k], sizeof path[k], "%s/resnet18-%016" PRIx64 "-%016" PRIx64 "-%s.npy",
                     o->cache_dir, wkey, dkey, names[k]) >= (int)sizeof path[k]) {
            rc = kn_fail(err, KN_EINVAL, "cache directory name too long: %.100s...",
                         o->cache_dir);
            break;
        }
        feats[k] = load_cached(path[k], parts[k]->n, o->log);
        if (feats[k] && o->log)
            fprintf(o->log, "resnet18: reusing cached %s features %s\n", names[k], path[k]);
        if (!feats[k])
            to_do += parts[k]->n;
    }
    kn_resnet18 *net = NULL;
    if (!rc && to_do)
        rc = kn_resnet18_load(model_path, &net, err);
    size_t done = 0;
    for (int k = 0; k < 2 && !rc; k++) {
        if (feats[k])
            continue;
        if (o->log) {
            fprintf(o->log, "resnet18: extracting the %s features (%zu image%s; cached as "
                            "%s)\n", names[k], parts[k]->n, parts[k]->n == 1 ? "" : "s",
                    path[k]);
            fflush(o->log);
        }
        feats[k] = malloc((parts[k]->n ? parts[k]->n : 1) * KN_RESNET18_FEATURES *
                          sizeof *feats[k]);
        if (!feats[k]) {
            rc = kn_fail(err, KN_ENOMEM, "out of memory for %zu feature rows", parts[k]->n);
            break;
        }
        part_progress pp = {o, done, to_do};
        rc = kn_resnet18_features_images(net, parts[k]->x, parts[k]->n, 3, 32, 32, o->batch,
                                         feats[k], on_batch, &pp, err);
        size_t shape[2] = {parts[k]->n, KN_RESNET18_FEATURES};
        if (!rc)
            rc = kn_npy_write_f32(path[k], feats[k], shape, 2, err);
        done += parts[k]->n;
    }
    kn_resnet18_free(net);
    if (rc) {
        free(feats[0]);
        free(feats[1]);
        return rc;
    }
    for (int k = 0; k < 2; k++) {
        free(parts[k]->x);
        parts[k]->x = feats[k];
        parts[k]->d = KN_RESNET18_FEATURES;
        parts[k]->channels = parts[k]->height = parts[k]->width = 0;
        size_t len = strlen(parts[k]->source);
        snprintf(parts[k]->source + len, sizeof parts[k]->source - len, " -> ResNet-18 features");
    }
    if (extracted)
        *extracted = done;
    return KN_OK;
}
