/* Shared by the fuzz targets whose loaders take a path, not bytes (learner models, LeNet5 and
 * meta-RL model files): the input is written whole to a scratch file named per process, so
 * parallel fuzzing jobs do not overwrite each other's input. A header of static functions, so each
 * target stays one self-contained translation unit. */
#ifndef KENYON_FUZZ_SCRATCH_FILE_H
#define KENYON_FUZZ_SCRATCH_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

/* Writes data[0..size) to /tmp/kenyon-fuzz-<tag>-<pid><suffix> (suffix e.g. ".safetensors", or
 * "") and returns its path, or NULL if the file cannot be written whole (the caller then skips
 * the input). The path stays valid until the next call; the caller unlinks the file when done. */
static const char *fuzz_scratch_write(const char *tag, const char *suffix, const uint8_t *data,
                                      size_t size)
{
    static char path[128];
    if (snprintf(path, sizeof path, "/tmp/kenyon-fuzz-%s-%ld%s", tag, (long)getpid(),
                 suffix) >= (int)sizeof path)
        return NULL;
    FILE *f = fopen(path, "wb");
    if (!f)
        return NULL;
    int ok = fwrite(data, 1, size, f) == size;
    ok &= fclose(f) == 0;
    if (!ok) {
        unlink(path);
        return NULL;
    }
    return path;
}

#endif
