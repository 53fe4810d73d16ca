/* libFuzzer target for the NumPy .npy reader: the input bytes are written to a scratch file (the
 * reader takes a path; scratch_file.h) and read back; any crash, leak or sanitizer report is a
 * bug. */
#include <stdint.h>
#include <unistd.h>

#include "kenyon/formats.h"
#include "scratch_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch_write("npy", ".npy", data, size);
    if (!path)
        return 0;
    kn_error err;
    kn_npy a;
    if (kn_npy_read(path, &a, &err) == 0)
        kn_npy_free(&a);
    unlink(path);
    return 0;
}
