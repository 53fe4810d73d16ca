/* kenyon file formats: readers and writers for IDX (plain or gzip, every type code), NumPy .npy
 * (versions 1-3), CIFAR-10/100 binary and numeric CSV, plus kn_load_xy which reads x and y files
 * of any of these formats. Every reader checks its input and fails with a message naming the file
 * and what is wrong at which offset/line; none trusts a size field before checking it against the
 * bytes actually present. Values are stored in native byte order after reading. */
#ifndef KENYON_FORMATS_H
#define KENYON_FORMATS_H

#include <stddef.h>
#include <stdint.h>

#include "kenyon/samples.h"
#include "kenyon/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Upper bound on what a reader will load (bytes after decompression). */
#define KN_FORMAT_MAX_BYTES ((size_t)1 << 34)
#define KN_FORMAT_MAX_DIMS 16
/* Labels must lie in [0, KN_LABEL_MAX]. */
#define KN_LABEL_MAX 65535

/* ---- element types shared by IDX and npy ---- */
typedef enum kn_dtype {
    KN_DT_U8 = 0, KN_DT_I8, KN_DT_I16, KN_DT_I32, KN_DT_I64, KN_DT_F32, KN_DT_F64
} kn_dtype;

size_t kn_dtype_size(kn_dtype t);
const char *kn_dtype_name(kn_dtype t); /* "uint8", "int32", "float32", ... */

/* An n-dimensional array as read from a file: native-endian values, C order. */
typedef struct kn_array {
    kn_dtype dtype;
    int ndim;
    size_t shape[KN_FORMAT_MAX_DIMS];
    size_t count;  /* product of shape (1 for ndim 0) */
    void *data;    /* count * kn_dtype_size(dtype) bytes, owned */
} kn_array;

void kn_array_free(kn_array *a);
/* Element i converted to double. */
double kn_array_get(const kn_array *a, size_t i);

/* ---- IDX (LeCun): magic 0 0 type ndim, ndim big-endian u32 dims, big-endian data ---- */
/* Type codes: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64. (No i64 in IDX.) */
typedef kn_array kn_idx;
#define kn_idx_free kn_array_free

/* Reads plain or gzip-compressed IDX (detected from the content, not the name). */
int kn_idx_read(const char *path, kn_idx *out, kn_error *err);
/* Writes arr (dtype must not be I64) as IDX; gzip != 0 compresses. Atomic. */
int kn_idx_write(const char *path, const kn_idx *arr, int gzip, kn_error *err);

/* ---- NumPy .npy v1-v3: u1 i1 i2 i4 i8 f4 f8, either endianness, C order ---- */
typedef kn_array kn_npy;
#define kn_npy_free kn_array_free

int kn_npy_read(const char *path, kn_npy *out, kn_error *err);
/* Writes a C-order array (version 1.0 header, or 2.0 if the header would not fit). Atomic. */
int kn_npy_write(const char *path, kn_dtype dtype, const void *data, const size_t *shape,
                 int ndim, kn_error *err);
int kn_npy_write_f32(const char *path, const float *data, const size_t *shape, int ndim,
                     kn_error *err);
int kn_npy_write_i32(const char *path, const int32_t *data, const size_t *shape, int ndim,
                     kn_error *err);
int kn_npy_write_u8(const char *path, const uint8_t *data, const size_t *shape, int ndim,
                    kn_error *err);

/* ---- CIFAR binary: records of <label> [<fine label>] 3072 bytes (3x32x32, channel-major) ---- */
/* cifar100 = 0: CIFAR-10 (3073-byte records, 10 classes); 1: CIFAR-100 (3074-byte records,
 * coarse then fine label; the fine label, 100 classes, is used). x = byte / 255. */
int kn_cifar_read(const char *path, int cifar100, kn_dataset *out, kn_error *err);
/* Writes ds (x in [0,1], 3x32x32) back as CIFAR binary; coarse labels (cifar100) are written as
 * fine / 5 (a stand-in: the dataset does not keep them). For tests and conversion. Atomic. */
int kn_cifar_write(const char *path, int cifar100, const kn_dataset *ds, kn_error *err);

/* ---- CSV: numeric, comma (or semicolon/tab) separated, optional header line ---- */
/* label_column: 0-based column holding an integer label, -1 for none (then y = 0 and
 * n_classes = 0); the other columns are x. Every row must have the same number of columns. */
int kn_csv_read(const char *path, int label_column, kn_dataset *out, kn_error *err);
/* Writes ds as CSV with the label in the last column (label_column = d). Atomic. */
int kn_csv_write(const char *path, const kn_dataset *ds, kn_error *err);

/* ---- any format ---- */
typedef enum kn_file_kind {
    KN_FILE_UNKNOWN = 0, KN_FILE_IDX, KN_FILE_IDX_GZ, KN_FILE_NPY, KN_FILE_CIFAR10,
    KN_FILE_CIFAR100, KN_FILE_CSV
} kn_file_kind;

/* Guesses a file's format from its first bytes (npy magic, gzip magic, IDX magic), then its name
 * and size (.bin with a size that is a multiple of 3073 or 3074 bytes: CIFAR), else CSV. */
int kn_file_kind_detect(const char *path, kn_file_kind *kind, kn_error *err);
const char *kn_file_kind_name(kn_file_kind k);

/* Reads a numeric array from an IDX, npy or CSV (all columns) file. */
int kn_array_read_any(const char *path, kn_array *out, kn_error *err);

/* Reads samples from x_path (first dimension = samples; the rest flattened; uint8 data scaled to
 * [0,1], an n x h x w uint8 array also keeps its image shape) and integer labels from y_path
 * (n values, shape n or n x 1). Checks that the counts match and labels are integers in
 * [0, KN_LABEL_MAX]; n_classes = 1 + the largest label. */
int kn_load_xy(const char *x_path, const char *y_path, kn_dataset *out, kn_error *err);

#ifdef __cplusplus
}
#endif
#endif
