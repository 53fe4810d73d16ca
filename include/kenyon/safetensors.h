/* kenyon model files: safetensors (an 8-byte little-endian header length, a JSON header naming
 * each tensor's dtype, shape and byte range, then the raw little-endian tensor bytes), so Python
 * users can open kenyon models with the `safetensors` package. Every model file in kenyon (fly,
 * nn baselines, feature extractor, meta-RL network) is read and written through this module.
 *
 * Reading is strict: the header length, JSON, dtypes, shapes and offsets are all validated (no
 * overlaps, no holes, sizes equal to shape x dtype size), so a truncated or altered file fails
 * with a message naming the file and the tensor or offset at fault. */
#ifndef KENYON_SAFETENSORS_H
#define KENYON_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kenyon/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    KN_ST_F32 = 0,
    KN_ST_F64,
    KN_ST_I32,
    KN_ST_I64,
    KN_ST_U8,
} kn_st_dtype;

#define KN_ST_MAX_DIMS 8
/* Header larger than this is rejected (the reference implementation uses the same 100 MB cap). */
#define KN_ST_MAX_HEADER (100u * 1000u * 1000u)

/* "F32", "F64", "I32", "I64", "U8". */
const char *kn_st_dtype_name(kn_st_dtype t);
size_t kn_st_dtype_size(kn_st_dtype t);

typedef struct kn_st_tensor {
    char *name;                   /* owned */
    kn_st_dtype dtype;
    int ndim;                     /* 0 = scalar */
    size_t shape[KN_ST_MAX_DIMS];
    size_t count;                 /* product of shape */
    size_t nbytes;                /* count * dtype size */
    const void *data;             /* the tensor's bytes (an 8-byte-aligned copy owned by the file);
                                     NULL for a file opened with kn_st_open */
    size_t file_offset;           /* where those bytes are in the file (reading only) */
} kn_st_tensor;

typedef struct kn_st_file {
    kn_st_tensor *tensors;        /* in file (offset) order */
    size_t n_tensors;
    char **meta_keys, **meta_values; /* __metadata__ (owned strings) */
    size_t n_meta;
    void *buffer;                 /* owned: the tensor bytes (kn_st_read, kn_st_parse) */
    FILE *stream;                 /* owned: the open file (kn_st_open); NULL otherwise */
    char source[256];             /* path, for error messages */
} kn_st_file;

/* Reads and validates `path`. On failure *out is left empty (safe to free). */
int kn_st_read(const char *path, kn_st_file *out, kn_error *err);
/* Validates `path`'s header and layout like kn_st_read but reads no tensor bytes: data is NULL
 * and kn_st_tensor_read copies a tensor from the file (kept open until kn_st_free) straight to
 * its destination, so a model is held in memory once, in the object it is loaded into. */
int kn_st_open(const char *path, kn_st_file *out, kn_error *err);
/* Copies tensor t's bytes (t->nbytes, little-endian as stored) to dst, from memory or from the
 * file; the _range form copies n bytes from byte offset `offset` of the tensor. */
int kn_st_tensor_read(const kn_st_file *f, const kn_st_tensor *t, void *dst, kn_error *err);
int kn_st_tensor_read_range(const kn_st_file *f, const kn_st_tensor *t, size_t offset,
                            size_t n, void *dst, kn_error *err);
/* Same, from bytes in memory; `name` is used in error messages. */
int kn_st_parse(const unsigned char *bytes, size_t len, const char *name, kn_st_file *out,
                kn_error *err);
void kn_st_free(kn_st_file *f);

/* The tensor named `name` or NULL. */
const kn_st_tensor *kn_st_find(const kn_st_file *f, const char *name);
/* The tensor named `name`, required to have dtype and ndim and (if shape != NULL) that shape;
 * otherwise fails with a message naming the file, the tensor and what was expected. */
int kn_st_expect(const kn_st_file *f, const char *name, kn_st_dtype dtype, int ndim,
                 const size_t *shape, const kn_st_tensor **out, kn_error *err);
/* Metadata value for key, or NULL. */
const char *kn_st_meta(const kn_st_file *f, const char *key);
/* Metadata parsed as a number; fails naming the key when missing or malformed. */
int kn_st_meta_int64(const kn_st_file *f, const char *key, int64_t *out, kn_error *err);
int kn_st_meta_uint64(const kn_st_file *f, const char *key, uint64_t *out, kn_error *err);
int kn_st_meta_double(const kn_st_file *f, const char *key, double *out, kn_error *err);

/* Writer: collect tensors (data borrowed until write) and metadata, then write atomically. */
typedef struct kn_st_writer {
    kn_st_tensor *tensors;
    size_t n_tensors, cap_tensors;
    char **meta_keys, **meta_values;
    size_t n_meta, cap_meta;
    int failed;                    /* an add failed: write refuses */
} kn_st_writer;

void kn_st_writer_init(kn_st_writer *w);
int kn_st_writer_add(kn_st_writer *w, const char *name, kn_st_dtype dtype, int ndim,
                     const size_t *shape, const void *data, kn_error *err);
int kn_st_writer_meta(kn_st_writer *w, const char *key, const char *value, kn_error *err);
int kn_st_writer_meta_fmt(kn_st_writer *w, const char *key, kn_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Serialises to a malloc'd buffer. */
int kn_st_writer_serialize(const kn_st_writer *w, unsigned char **bytes, size_t *len,
                           kn_error *err);
int kn_st_writer_write(const kn_st_writer *w, const char *path, kn_error *err);
void kn_st_writer_free(kn_st_writer *w);

#ifdef __cplusplus
}
#endif
#endif
