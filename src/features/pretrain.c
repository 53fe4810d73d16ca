/* Loading a pretraining set for the extractor: KMNIST's four IDX files (plain or .gz) from a
 * directory, as KMNIST distributes them and as `kenyon data kana` writes its stand-in. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "kenyon/features.h"
#include "kenyon/formats.h"

/* Finds dir/name or dir/name.gz. */
static int find_file(const char *dir, const char *name, char *path, size_t size, kn_error *err)
{
    struct stat st;
    snprintf(path, size, "%s/%s", dir, name);
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
        return 0;
    snprintf(path, size, "%s/%s.gz", dir, name);
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
        return 0;
    return kn_fail(err, KN_EIO,
                   "pretraining set: %s/%s[.gz] not found (give a directory with KMNIST's IDX "
                   "files, or make the stand-in with `kenyon data kana --out %s`)",
                   dir, name, dir);
}

static int load_pair(const char *dir, const char *images, const char *labels, kn_dataset *out,
                     kn_error *err)
{
    char xp[4096], yp[4096];
    int rc = find_file(dir, images, xp, sizeof xp, err);
    if (!rc)
        rc = find_file(dir, labels, yp, sizeof yp, err);
    if (!rc)
        rc = kn_load_xy(xp, yp, out, err);
    if (rc)
        return rc;
    if (out->d != KN_LENET5_IN) {
        kn_fail(err, KN_EFORMAT, "pretraining set: %s holds %zu values per image; need 28x28",
                xp, out->d);
        kn_dataset_free(out);
        return KN_EFORMAT;
    }
    if (out->n_classes > KN_LENET5_CLASSES) {
        kn_fail(err, KN_EFORMAT, "pretraining set: %s has labels up to %d; need 0..9", yp,
                out->n_classes - 1);
        kn_dataset_free(out);
        return KN_EFORMAT;
    }
    out->n_classes = KN_LENET5_CLASSES;
    snprintf(out->source, sizeof out->source, "%.200s/%s", dir, images);
    return 0;
}

int kn_pretrain_load(const char *dir, kn_split *out, kn_error *err)
{
    memset(out, 0, sizeof *out);
    if (!dir || !*dir)
        return kn_fail(err, KN_EINVAL, "pretraining set: --pretrain DIR is required");
    int rc = load_pair(dir, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", &out->train, err);
    if (!rc)
        rc = load_pair(dir, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", &out->test, err);
    if (rc)
        kn_split_free(out);
    return rc;
}
