/* libFuzzer target for the safetensors reader (src/io/safetensors.c): from memory, and through a
 * temporary file both the header-only reader with per-tensor reads (kn_st_open,
 * kn_st_tensor_read) and the learner loader on top of it (kn_learner_load: metadata,
 * parameters, tensor checks). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "kenyon/learner.h"
#include "kenyon/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kn_st_file f;
    kn_error err;
    if (kn_st_parse(data, size, "fuzz", &f, &err) == 0) {
        for (size_t i = 0; i < f.n_tensors; i++)
            (void)kn_st_find(&f, f.tensors[i].name);
        (void)kn_st_meta(&f, "kenyon.method");
    }
    kn_st_free(&f);
    char path[] = "/tmp/fuzz_safetensors_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 0;
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    close(fd);
    if (kn_st_open(path, &f, &err) == 0) {
        for (size_t i = 0; i < f.n_tensors; i++) {
            void *buf = malloc(f.tensors[i].nbytes + 1);
            if (buf)
                (void)kn_st_tensor_read(&f, &f.tensors[i], buf, &err);
            free(buf);
        }
    }
    kn_st_free(&f);
    kn_learner *l = NULL;
    if (kn_learner_load(path, &l, &err) == 0)
        kn_learner_free(l);
    unlink(path);
    return 0;
}
