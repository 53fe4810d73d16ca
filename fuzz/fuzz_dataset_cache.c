/* libFuzzer target for the data-set cache reader (kenyon/dataset_cache.h): the input bytes are
 * written to a temporary file and read back as a cache file with the key its header names (so the
 * fuzzer reaches the size and content checks); any crash, leak or sanitizer report is a bug. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kenyon/dataset_cache.h"

static const char *scratch_path(void)
{
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/kenyon-fuzz-dscache-%ld.bin", (long)getpid());
    return path;
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
    return 0;
}
