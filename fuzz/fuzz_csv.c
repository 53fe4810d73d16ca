/* libFuzzer target for the CSV reader: the input bytes are written to a scratch file (the reader
 * takes a path; scratch_file.h) and read back; any crash, leak or sanitizer report is a bug. */
#include <stdint.h>
#include <unistd.h>

#include "kenyon/formats.h"
#include "scratch_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch_write("csv", ".csv", data, size);
    if (!path)
        return 0;
    kn_error err;
    kn_dataset ds;
    for (int label = -1; label < 2; label++)
        if (kn_csv_read(path, label, &ds, &err) == 0)
            kn_dataset_free(&ds);
    kn_array a;
    if (kn_array_read_any(path, &a, &err) == 0)
        kn_array_free(&a);
    unlink(path);
    return 0;
}
