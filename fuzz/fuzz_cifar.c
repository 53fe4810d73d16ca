/* libFuzzer target for the CIFAR-10/100 binary reader: the input bytes are written to a temporary file (the
 * reader takes a path) and read back; any crash, leak or sanitizer report is a bug. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "kenyon/formats.h"

static const char *scratch_path(void)
{
    static char path[64];
    if (!path[0]) {
        snprintf(path, sizeof path, "/tmp/kenyon-fuzz-cifar-%ld.bin", (long)getpid());
    }
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
    kn_error err;
    kn_dataset ds;
    for (int c100 = 0; c100 < 2; c100++)
        if (kn_cifar_read(path, c100, &ds, &err) == 0)
            kn_dataset_free(&ds);
    kn_file_kind kind;
    (void)kn_file_kind_detect(path, &kind, &err);
    unlink(path);
    return 0;
}
