/* libFuzzer target for the data-set cache's readers (kenyon/dataset_cache.h): the input bytes are
 * written to a temporary file and read back as a cache file (float32 or byte-per-value parts,
 * format 1 or 2) with the key its header names, so the fuzzer reaches the size and content
 * checks. An input that starts with the status index's magic "KNSRCST1" is also tried as the
 * sources' status index of an empty data directory (only compared, never parsed; only those
 * inputs, as a mismatch rewrites and syncs the index, which would slow every run 50-fold). Any
 * crash, leak or sanitizer report is a bug. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kenyon/dataset_cache.h"

static const char *scratch_path(void)
{
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/kenyon-fuzz-dscache-%ld.bin", (long)getpid());
    return path;
}

static void fuzz_status_index(const uint8_t *data, size_t size)
{
    char dir[96], cache[128], index[160];
    snprintf(dir, sizeof dir, "/tmp/kenyon-fuzz-dscache-dir-%ld", (long)getpid());
    snprintf(cache, sizeof cache, "%s/cache", dir);
    snprintf(index, sizeof index, "%s/sources.stat", cache);
    mkdir(dir, 0700);
    mkdir(cache, 0700);
    FILE *f = fopen(index, "wb");
    if (!f)
        return;
    if (size)
        fwrite(data, 1, size, f);
    fclose(f);
    uint64_t digest;
    kn_error err;
    (void)kn_dataset_cache_sources_digest(dir, 1, &digest, &err);
    unlink(index);
    rmdir(cache);
    rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = scratch_path();
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    if (size)
        fwrite(data, 1, size, f);
    fclose(f);
    uint64_t key = 0;
    if (size >= 24)
        memcpy(&key, data + 16, 8);
    kn_error err;
    kn_split sp;
    if (kn_dataset_cache_read(path, key, &sp, &err) == 0)
        kn_split_free(&sp);
    unlink(path);
    if (size >= 8 && memcmp(data, "KNSRCST1", 8) == 0)
        fuzz_status_index(data, size);
    return 0;
}
