/* CIFAR-10/100 binary files: fixed-size records, <label> (CIFAR-10) or <coarse> <fine>
 * (CIFAR-100) then 3072 bytes of pixels (1024 red, 1024 green, 1024 blue, each 32x32 row-major).
 * Hand-written: the format is a fixed record with no library. */
#include "kenyon/formats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"

#define CIFAR_PIXELS 3072

int kn_cifar_read(const char *path, int cifar100, kn_dataset *out, kn_error *err)
{
    memset(out, 0, sizeof *out);
    const size_t rec = CIFAR_PIXELS + (cifar100 ? 2 : 1);
    const char *flavour = cifar100 ? "CIFAR-100" : "CIFAR-10";
    kn_in in;
    int rc = kn_in_open(&in, path, err);
    if (rc)
        return rc;
    char *bytes = NULL;
    size_t len = 0;
    rc = kn_in_read_rest(&in, KN_FORMAT_MAX_BYTES, &bytes, &len, err);
    kn_in_close(&in);
    if (rc)
        return rc;
    if (len % rec != 0) {
        const size_t other = CIFAR_PIXELS + (cifar100 ? 1 : 2);
        if (len % other == 0)
            rc = kn_fail(err, KN_EFORMAT,
                         "%s: %zu bytes is not a whole number of %zu-byte %s records but is one of "
                         "%zu-byte %s records: wrong flavour?",
                         path, len, rec, flavour, other, cifar100 ? "CIFAR-10" : "CIFAR-100");
        else
            rc = kn_fail(err, KN_EFORMAT,
                         "%s: truncated: %zu bytes is not a whole number of %zu-byte %s records "
                         "(the last record has %zu bytes)",
                         path, len, rec, flavour, len % rec);
        free(bytes);
        return rc;
    }
    size_t n = len / rec;
    const unsigned char *p = (const unsigned char *)bytes;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *r = p + i * rec;
        if (cifar100 ? (r[0] >= 20 || r[1] >= 100) : r[0] >= 10) {
            rc = kn_fail(err, KN_EFORMAT,
                         "%s: record %zu (byte %zu): %s label %d is out of range (0..%d)", path, i,
                         i * rec + (cifar100 && r[0] < 20 ? 1 : 0),
                         cifar100 ? (r[0] >= 20 ? "coarse" : "fine") : "the",
                         cifar100 && r[0] < 20 ? r[1] : r[0],
                         cifar100 ? (r[0] >= 20 ? 19 : 99) : 9);
            free(bytes);
            return rc;
        }
    }
    rc = kn_dataset_alloc(out, n, CIFAR_PIXELS, cifar100 ? 100 : 10, err);
    if (rc) {
        free(bytes);
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        const unsigned char *r = p + i * rec;
        out->y[i] = cifar100 ? r[1] : r[0];
        const unsigned char *px = r + (cifar100 ? 2 : 1);
        float *x = out->x + i * CIFAR_PIXELS;
        for (size_t j = 0; j < CIFAR_PIXELS; j++)
            x[j] = (float)px[j] / 255.0f;
    }
    out->channels = 3;
    out->height = 32;
    out->width = 32;
    snprintf(out->source, sizeof out->source, "%s binary %s", flavour, path);
    free(bytes);
    return KN_OK;
}

int kn_cifar_write(const char *path, int cifar100, const kn_dataset *ds, kn_error *err)
{
    if (ds->d != CIFAR_PIXELS)
        return kn_fail(err, KN_EINVAL, "%s: CIFAR rows need 3072 values, the data set has %zu",
                       path, ds->d);
    kn_out o;
    int rc = kn_out_open(&o, path, 0, err);
    if (rc)
        return rc;
    unsigned char rec[CIFAR_PIXELS + 2];
    size_t head = cifar100 ? 2 : 1;
    for (size_t i = 0; rc == KN_OK && i < ds->n; i++) {
        int y = ds->y[i];
        if (y < 0 || y >= (cifar100 ? 100 : 10)) {
            rc = kn_fail(err, KN_EINVAL, "%s: sample %zu has label %d, outside the %s range",
                         path, i, y, cifar100 ? "CIFAR-100" : "CIFAR-10");
            break;
        }
        if (cifar100) {
            rec[0] = (unsigned char)(y / 5);
            rec[1] = (unsigned char)y;
        } else {
            rec[0] = (unsigned char)y;
        }
        for (size_t j = 0; j < CIFAR_PIXELS; j++) {
            float v = ds->x[i * CIFAR_PIXELS + j] * 255.0f;
            rec[head + j] = (unsigned char)(v <= 0 ? 0 : v >= 255 ? 255 : lrintf(v));
        }
        rc = kn_out_write(&o, rec, head + CIFAR_PIXELS, err);
    }
    if (rc) {
        kn_out_abort(&o);
        return rc;
    }
    return kn_out_commit(&o, err);
}
