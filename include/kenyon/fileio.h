/* kenyon file helpers: whole-file reads with size limits, atomic writes (a temporary created
 * exclusively in the target's directory, fsync, rename, fsync of the directory) so that no
 * command ever leaves a partial output behind, output-path checks made before any work starts,
 * and output sets that appear all together or not at all.
 *
 * Temporaries are named "<final name>.tmp.<pid>.<6 random characters>" and created with
 * O_CREAT|O_EXCL (mkstemp), so a symlink planted at a predictable name is never followed. When a
 * file is opened for writing, temporaries of the same final name left by a process that no longer
 * exists (a run killed with SIGKILL) are removed. */
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

/* Creates the temporary for `path` (see the top of this file). */
int kn_atomic_open(kn_atomic_file *af, const char *path, kn_error *err);
/* Flushes, fsyncs and renames into place, then fsyncs the directory; closes in every case and
 * deletes the temporary on failure. Errors name the file and the reason (strerror: "No space
 * left on device", ...). Inside an output set (below) the rename is deferred to the set's
 * commit. */
int kn_atomic_commit(kn_atomic_file *af, kn_error *err);
/* Closes and deletes the temporary; safe to call after commit or on a zeroed struct. */
void kn_atomic_abort(kn_atomic_file *af);
/* Writes a whole buffer atomically. */
int kn_write_file_atomic(const char *path, const void *data, size_t len, kn_error *err);

/* Output sets: between kn_output_set_begin and kn_output_set_commit, every atomic file is
 * written, flushed and fsynced under its temporary name but renamed into place only by
 * kn_output_set_commit, after every file of the set was written. So a run whose model save fails
 * (disk full, read-only folder) leaves none of its result files, not some. kn_output_set_abort
 * deletes the temporaries. One set at a time per process (the CLI writes from one thread). */
int kn_output_set_begin(kn_error *err);
int kn_output_set_commit(kn_error *err);
void kn_output_set_abort(void);

/* Checks, before any work starts, that `dir` can serve as an output directory: not empty, not an
 * existing non-directory, and (existing or to be created) in a place where files can be created
 * (a probe file is created and removed). `option` names the option in the message ("--out"). */
int kn_check_output_dir(const char *dir, const char *option, kn_error *err);
/* The same for an output file: not empty, not a directory, its directory existing and writable. */
int kn_check_output_file(const char *path, const char *option, kn_error *err);

/* Removes temporaries of `path` ("<path>.tmp.<pid>[.XXXXXX]") whose process is gone; returns how
 * many were removed. kn_atomic_open calls it; exposed for tests and for writers that do not go
 * through kn_atomic_open. */
int kn_remove_stale_temporaries(const char *path);

/* Fails with "<path>: <what>: <strerror(errnum)>", shortening the middle of a long path so the
 * reason always fits in the message. */
int kn_fail_path(kn_error *err, int code, const char *path, const char *what, int errnum);

/* mkdir -p; fails with a message if a component exists and is not a directory. */
int kn_mkdirs(const char *path, kn_error *err);

/* Overflow-checked size arithmetic: returns 0 and sets *out, or -1 on overflow. */
int kn_size_mul(size_t a, size_t b, size_t *out);
int kn_size_add(size_t a, size_t b, size_t *out);

#ifdef __cplusplus
}
#endif
#endif
