/* libFuzzer target for the CIFAR-10/100 binary reader: the input bytes are written to a scratch
 * file (the reader takes a path; scratch_file.h) and read back; any crash, leak or sanitizer
 * report is a bug. */
#include <stdint.h>
#include <unistd.h>

#include "kenyon/formats.h"
#include "scratch_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch_write("cifar", ".bin", data, size);
    if (!path)
        return 0;
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
