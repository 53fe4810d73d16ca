/* kenyon file helpers: whole-file reads with size limits, and atomic writes (temporary file in the
 * same directory, fsync, rename) so that no command ever leaves a partial output behind. */
#ifndef KENYON_FILEIO_H
#define KENYON_FILEIO_H

#include <stdio.h>
#include <stddef.h>

#include "kenyon/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads all of `path` into a malloc'd buffer (NUL-terminated for convenience; *len excludes it).
 * Fails with a message naming the path if it is missing, a directory, or larger than max_bytes. */
int kn_read_file(const char *path, size_t max_bytes, unsigned char **data, size_t *len,
                 kn_error *err);

/* An output file that appears under its final name only when committed. */
typedef struct kn_atomic_file {
    FILE *fp;          /* write through this */
    char *final_path;  /* owned */
    char *temp_path;   /* owned */
} kn_atomic_file;

int kn_atomic_open(kn_atomic_file *af, const char *path, kn_error *err);
/* Flushes, fsyncs and renames into place; closes in every case. */
int kn_atomic_commit(kn_atomic_file *af, kn_error *err);
/* Closes and deletes the temporary; safe to call after commit or on a zeroed struct. */
void kn_atomic_abort(kn_atomic_file *af);
/* Writes a whole buffer atomically. */
int kn_write_file_atomic(const char *path, const void *data, size_t len, kn_error *err);

/* mkdir -p; fails with a message if a component exists and is not a directory. */
int kn_mkdirs(const char *path, kn_error *err);

/* Overflow-checked size arithmetic: returns 0 and sets *out, or -1 on overflow. */
int kn_size_mul(size_t a, size_t b, size_t *out);
int kn_size_add(size_t a, size_t b, size_t *out);

#ifdef __cplusplus
}
#endif
#endif
