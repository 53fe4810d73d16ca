/* Format detection and format-independent loading of x/y files (IDX, npy, CSV); see
 * kenyon/formats.h. */
#include "kenyon/formats.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* What a gzip file holds, from its first decompressed bytes: .npy (read through zlib like the
 * plain file), CSV text, or else IDX (whose reader names a bad magic). */
static kn_file_kind gzip_kind(const char *path)
{
    if (ends_with(path, ".csv.gz"))
        return KN_FILE_CSV;
    gzFile gz = gzopen(path, "rb");
    unsigned char h[6] = {0};
    int got = gz ? gzread(gz, h, sizeof h) : 0;
    if (gz)
        gzclose(gz);
    if (got == 6 && memcmp(h, "\x93NUMPY", 6) == 0)
        return KN_FILE_NPY;
    if (ends_with(path, ".npy.gz"))
        return KN_FILE_NPY; /* the npy reader names what is wrong with the magic */
    return KN_FILE_IDX_GZ;
}

const char *kn_file_kind_name(kn_file_kind k)
{
    switch (k) {
    case KN_FILE_IDX: return "IDX";
    case KN_FILE_IDX_GZ: return "IDX (gzip)";
    case KN_FILE_NPY: return "NumPy .npy";
    case KN_FILE_CIFAR10: return "CIFAR-10 binary";
    case KN_FILE_CIFAR100: return "CIFAR-100 binary";
    case KN_FILE_CSV: return "CSV";
    default: return "unknown";
    }
}

int kn_file_kind_detect(const char *path, kn_file_kind *kind, kn_error *err)
{
    *kind = KN_FILE_UNKNOWN;
    struct stat st;
    if (stat(path, &st) != 0)
        return kn_fail(err, KN_EIO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return kn_fail(err, KN_EIO, "%s: is a directory, expected a file", path);
    /* Detection reads the first bytes and the reader then opens the file again: a pipe
     * (--train-x <(cat x.npy)) or a device would lose them. */
    if (!S_ISREG(st.st_mode))
        return kn_fail(err, KN_EIO, "%s: is a %s; a regular file is needed (save the stream to a "
                       "file first)", path, S_ISFIFO(st.st_mode) ? "pipe" : "device or special file");
    if (st.st_size == 0)
        return kn_fail(err, KN_EFORMAT, "%s: is empty (0 bytes)", path);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return kn_fail(err, KN_EIO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char h[8] = {0};
    size_t got = fread(h, 1, sizeof h, fp);
    fclose(fp);
    if (got >= 6 && memcmp(h, "\x93NUMPY", 6) == 0)
        *kind = KN_FILE_NPY;
    else if (got >= 2 && h[0] == 0x1f && h[1] == 0x8b)
        *kind = gzip_kind(path);
    else if (got >= 4 && h[0] == 0 && h[1] == 0 &&
             (h[2] == 0x08 || h[2] == 0x09 || (h[2] >= 0x0B && h[2] <= 0x0E)))
        *kind = KN_FILE_IDX;
    else if (ends_with(path, ".bin")) {
        long long size = (long long)st.st_size;
        int m10 = size % 3073 == 0, m100 = size % 3074 == 0;
        if (m10 && m100)
            *kind = strstr(path, "batch") ? KN_FILE_CIFAR10 : KN_FILE_CIFAR100;
        else if (m100)
            *kind = KN_FILE_CIFAR100;
        else if (m10)
            *kind = KN_FILE_CIFAR10;
        else
            return kn_fail(err, KN_EFORMAT,
                           "%s: a .bin file of %lld bytes is neither whole 3073-byte CIFAR-10 nor "
                           "3074-byte CIFAR-100 records (truncated?)",
                           path, size);
    } else if (ends_with(path, ".npy"))
        *kind = KN_FILE_NPY; /* the npy reader names what is wrong with the magic */
    else if ((got >= 4 && h[0] == 0 && h[1] == 0) || strstr(path, "idx") || strstr(path, "ubyte"))
        *kind = KN_FILE_IDX; /* the IDX reader names the bad magic or type code */
    else if (ends_with(path, ".csv") || ends_with(path, ".txt") || !memchr(h, 0, got))
        *kind = KN_FILE_CSV;
    else
        return kn_fail(err, KN_EFORMAT,
                       "%s: unrecognised format: the first bytes %02x %02x %02x %02x are not a "
                       ".npy magic, gzip, IDX (00 00 type ndim) or text; CIFAR files must end in "
                       ".bin",
                       path, h[0], h[1], h[2], h[3]);
    return KN_OK;
}

static int csv_to_array(const char *path, kn_array *out, kn_error *err)
{
    kn_dataset ds;
    int rc = kn_csv_read(path, -1, &ds, err);
    if (rc)
        return rc;
    memset(out, 0, sizeof *out);
    out->dtype = KN_DT_F64;
    out->count = ds.n * ds.d;
    out->ndim = ds.d == 1 ? 1 : 2;
    out->shape[0] = ds.n;
    out->shape[1] = ds.d;
    double *v = malloc((out->count ? out->count : 1) * sizeof *v);
    if (!v) {
        kn_dataset_free(&ds);
        return kn_fail(err, KN_ENOMEM, "%s: out of memory", path);
    }
    /* CSV values were parsed as doubles and stored as floats: labels and pixel values are
     * integers well inside float precision, so nothing is lost for them. */
    for (size_t i = 0; i < out->count; i++)
        v[i] = ds.x[i];
    out->data = v;
    /* kn_csv_read reports a skipped header in the source text: carry it over. */
    const char *skipped = strstr(ds.source, " (header line ");
    if (skipped) {
        size_t n = strlen(skipped + 2);
        snprintf(out->note, sizeof out->note, "%.*s", (int)(n ? n - 1 : 0), skipped + 2);
    }
    kn_dataset_free(&ds);
    return KN_OK;
}

int kn_array_read_any(const char *path, kn_array *out, kn_error *err)
{
    memset(out, 0, sizeof *out);
    kn_file_kind kind;
    int rc = kn_file_kind_detect(path, &kind, err);
    if (rc)
        return rc;
    switch (kind) {
    case KN_FILE_NPY: return kn_npy_read(path, out, err);
    case KN_FILE_IDX:
    case KN_FILE_IDX_GZ: return kn_idx_read(path, out, err);
    case KN_FILE_CSV: return csv_to_array(path, out, err);
    default:
        return kn_fail(err, KN_EFORMAT, "%s: a %s file holds x and y together; give it as a data "
                       "set, not as an x or y array", path, kn_file_kind_name(kind));
    }
}

int kn_load_xy(const char *x_path, const char *y_path, kn_dataset *out, kn_error *err)
{
    memset(out, 0, sizeof *out);
    kn_array xa, ya;
    int rc = kn_array_read_any(x_path, &xa, err);
    if (rc)
        return rc;
    rc = kn_array_read_any(y_path, &ya, err);
    if (rc) {
        kn_array_free(&xa);
        return rc;
    }
    size_t n = xa.ndim >= 1 ? xa.shape[0] : 0;
    size_t d = n ? xa.count / n : 0;
    if (n == 0 || d == 0) {
        rc = kn_fail(err, KN_EFORMAT, "%s: holds no samples (shape has a zero or no first "
                     "dimension)", x_path);
        goto done;
    }
    size_t ny = ya.ndim >= 1 ? ya.shape[0] : 0;
    if (!(ya.ndim == 1 || (ya.ndim == 2 && ya.shape[1] == 1))) {
        rc = kn_fail(err, KN_EFORMAT, "%s: labels must have shape (n) or (n, 1), this has %d "
                     "dimensions%s", y_path, ya.ndim, ya.ndim == 2 ? " with more than one column" : "");
        goto done;
    }
    if (ny != n) {
        rc = kn_fail(err, KN_EFORMAT, "x/y length mismatch: %s has %zu samples but %s has %zu "
                     "labels", x_path, n, y_path, ny);
        goto done;
    }
    rc = kn_dataset_alloc(out, n, d, 0, err);
    if (rc)
        goto done;
    int max_label = -1;
    for (size_t i = 0; i < n; i++) {
        double v = kn_array_get(&ya, i);
        if (!(v == floor(v)) || v < 0 || v > KN_LABEL_MAX) {
            rc = kn_fail(err, KN_EFORMAT, "%s: label %zu is %g, not an integer in 0..%d", y_path, i,
                         v, KN_LABEL_MAX);
            kn_dataset_free(out);
            goto done;
        }
        out->y[i] = (int32_t)v;
        if (out->y[i] > max_label)
            max_label = out->y[i];
    }
    out->n_classes = max_label + 1;
    if (xa.dtype == KN_DT_U8) {
        const unsigned char *b = xa.data;
        for (size_t i = 0; i < xa.count; i++)
            out->x[i] = (float)b[i] / 255.0f;
        if (xa.ndim == 3) {
            out->channels = 1;
            out->height = xa.shape[1];
            out->width = xa.shape[2];
        } else if (xa.ndim == 4 && (xa.shape[1] == 1 || xa.shape[1] == 3)) {
            out->channels = xa.shape[1];
            out->height = xa.shape[2];
            out->width = xa.shape[3];
        }
    } else {
        for (size_t i = 0; i < xa.count; i++) {
            double v = kn_array_get(&xa, i);
            if (!isfinite(v)) {
                rc = kn_fail(err, KN_EFORMAT, "%s: value %zu (sample %zu) is not finite", x_path,
                             i, i / d);
                kn_dataset_free(out);
                goto done;
            }
            out->x[i] = (float)v;
        }
    }
    /* Long paths keep their ends (the file names) in the 256-byte source. */
    char src[512];
    size_t xl = strlen(x_path), yl = strlen(y_path);
    snprintf(src, sizeof src, "%s%s%s%.96s%s + %s%s%s%.96s%s", xl > 48 ? "..." : "",
             x_path + (xl > 48 ? xl - 45 : 0), xa.note[0] ? " (" : "", xa.note,
             xa.note[0] ? ")" : "", yl > 48 ? "..." : "", y_path + (yl > 48 ? yl - 45 : 0),
             ya.note[0] ? " (" : "", ya.note, ya.note[0] ? ")" : "");
    size_t sl = strlen(src) < sizeof out->source ? strlen(src) : sizeof out->source - 1;
    memcpy(out->source, src, sl);
    out->source[sl] = '\0';
done:
    kn_array_free(&xa);
    kn_array_free(&ya);
    return rc;
}
