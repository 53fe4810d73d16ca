/* libFuzzer target for the IDX (plain and gzip) reader: the input bytes are written to a temporary file (the
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
        snprintf(path, sizeof path, "/tmp/kenyon-fuzz-idx-%ld", (long)getpid());
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
    kn_idx a;
    if (kn_idx_read(path, &a, &err) == 0)
        kn_idx_free(&a);
    unlink(path);
    return 0;
}
