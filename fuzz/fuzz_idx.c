/* libFuzzer target for the IDX (plain and gzip) reader: the input bytes are written to a scratch
 * file (the reader takes a path; scratch_file.h) and read back; any crash, leak or sanitizer
 * report is a bug. */
#include <stdint.h>
#include <unistd.h>

#include "kenyon/formats.h"
#include "scratch_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch_write("idx", "", data, size);
    if (!path)
        return 0;
    kn_error err;
    kn_idx a;
    if (kn_idx_read(path, &a, &err) == 0)
        kn_idx_free(&a);
    unlink(path);
    return 0;
}
