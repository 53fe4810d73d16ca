/* Byte streams for the data readers and writers: an input that reads plain or gzip files alike
 * (zlib's gzread detects the format), tracks the offset for error messages and grows buffers only
 * as data actually arrives (so a header promising terabytes cannot make us allocate them); and an
 * output that writes plain or gzip bytes into an atomic file. */
#ifndef KENYON_DATA_STREAM_H
#define KENYON_DATA_STREAM_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <zlib.h>

#include "kenyon/error.h"
#include "kenyon/fileio.h"

typedef struct kn_in {
    gzFile gz;
    const char *path;
    long long file_size;  /* on disk */
    int compressed;       /* gzip content */
    size_t offset;        /* bytes delivered so far (decompressed) */
} kn_in;

/* Opens path for reading; fails naming the file if it is missing, a directory or empty. */
int kn_in_open(kn_in *in, const char *path, kn_error *err);
/* Reads up to n bytes; *got < n only at end of data. Corrupt gzip data is an error. */
int kn_in_read(kn_in *in, void *buf, size_t n, size_t *got, kn_error *err);
/* Reads exactly n bytes or fails with "truncated ... <what>" naming the offset. */
int kn_in_read_exact(kn_in *in, void *buf, size_t n, const char *what, kn_error *err);
/* Reads exactly n bytes into a new buffer grown as data arrives. */
int kn_in_read_alloc(kn_in *in, size_t n, void **out, const char *what, kn_error *err);
/* Reads everything that is left (at most max bytes) into a new NUL-terminated buffer. */
int kn_in_read_rest(kn_in *in, size_t max, char **out, size_t *len, kn_error *err);
/* Fails if any byte is left ("N trailing bytes after <what>"). */
int kn_in_expect_end(kn_in *in, const char *what, kn_error *err);
void kn_in_close(kn_in *in);

typedef struct kn_out {
    kn_atomic_file af;
    int gzip;
    z_stream zs;
    int zs_ready;
    const char *path;
} kn_out;

int kn_out_open(kn_out *o, const char *path, int gzip, kn_error *err);
int kn_out_write(kn_out *o, const void *data, size_t n, kn_error *err);
/* Finishes the gzip stream and commits the file; closes in every case. */
int kn_out_commit(kn_out *o, kn_error *err);
void kn_out_abort(kn_out *o);

#endif
