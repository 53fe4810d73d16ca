/* kenyon/dataset_cache.h: a cached copy of an assembled named data set (MNIST-20, MNIST,
 * Fashion-MNIST), so that runs after the first read one flat file instead of decompressing and
 * assembling the sources again (for FlyModel, loading was half of a whole run).
 *
 * The cache file lives in <data dir>/cache/ and is named after the data set, the balancing
 * choice and a key: a digest of every source file the data set can come from (name, size and
 * CRC-32 of its bytes) and of the balancing seed. A changed, added or removed source gives a new
 * key, so a stale copy is never read. The digest is kept in <data dir>/cache/sources.stat with
 * the files' status (size, times, inode), so later runs stat the sources instead of reading
 * them; a file whose status changed in any way is read and hashed again. The file holds a fixed
 * header and then the arrays (train x, train y, test x, test y) in this machine's byte order,
 * features as one byte per value when they are all exactly byte / 255 (image pixels), float32
 * otherwise; it is written to a temporary name, synced and renamed, so a reader never sees a
 * partial file. A file that fails any check is ignored (and rebuilt), never trusted.
 *
 * kn_load_dataset goes through the cache for the data sets above; KENYON_DATA_CACHE=0 in the
 * environment turns it off (no read, no write). */
#ifndef KENYON_DATASET_CACHE_H
#define KENYON_DATASET_CACHE_H

#include <stdint.h>

#include "kenyon/samples.h"
#include "kenyon/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The key of data set `name` in dir for the given balancing, from the sources' digest. */
int kn_dataset_cache_key(const char *dir, const char *name, int balance, uint64_t seed,
                         uint64_t *key, kn_error *err);

/* The digest of the source files under dir (names, sizes, CRC-32 of their bytes). With use_index
 * it is taken from <dir>/cache/sources.stat when the files' status equals the status recorded
 * there, and recorded after hashing (only when every file is at least 2 s old, so a change in
 * the same clock tick cannot hide); without, the bytes are always hashed. */
int kn_dataset_cache_sources_digest(const char *dir, int use_index, uint64_t *digest,
                                    kn_error *err);

/* 1 when each of the count values is b / 255.0f for a byte b, bit for bit: the cache stores such
 * features as bytes. */
int kn_dataset_cache_bytes_exact(const float *x, size_t count);

/* The cache file's path for (dir, name, balance, key) into out (cap bytes). */
int kn_dataset_cache_path(const char *dir, const char *name, int balance, uint64_t key,
                          char *out, size_t cap, kn_error *err);

/* Reads a cache file written with `key`. 0 and a filled sp; or an error naming the file and
 * what is wrong (bad magic, other key, sizes that do not match the file, labels out of range). */
int kn_dataset_cache_read(const char *path, uint64_t key, kn_split *sp, kn_error *err);

/* Writes sp to path atomically (temporary file, fsync, rename); creates the directory. */
int kn_dataset_cache_write(const char *path, uint64_t key, const kn_split *sp, kn_error *err);

/* 1 unless KENYON_DATA_CACHE=0. */
int kn_dataset_cache_enabled(void);

#ifdef __cplusplus
}
#endif
#endif
