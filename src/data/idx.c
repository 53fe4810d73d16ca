/* IDX files (the MNIST format): magic 0x00 0x00 <type> <ndim>, ndim big-endian uint32 dimensions,
 * then the values big-endian in C order. Plain or gzip. Hand-written: no Debian library reads IDX,
 * and the format is a dozen lines. */
#include "kenyon/formats.h"

#include <stdlib.h>
#include <string.h>

#include "stream.h"

static int idx_code_to_dtype(int code, kn_dtype *t)
{
    switch (code) {
    case 0x08: *t = KN_DT_U8; return 0;
    case 0x09: *t = KN_DT_I8; return 0;
    case 0x0B: *t = KN_DT_I16; return 0;
    case 0x0C: *t = KN_DT_I32; return 0;
    case 0x0D: *t = KN_DT_F32; return 0;
    case 0x0E: *t = KN_DT_F64; return 0;
    default: return -1;
    }
}

static int idx_dtype_to_code(kn_dtype t)
{
    switch (t) {
    case KN_DT_U8: return 0x08;
    case KN_DT_I8: return 0x09;
    case KN_DT_I16: return 0x0B;
    case KN_DT_I32: return 0x0C;
    case KN_DT_F32: return 0x0D;
    case KN_DT_F64: return 0x0E;
    default: return -1;
    }
}

/* Reverses the bytes of every element: big-endian file <-> little-endian host. A no-op when the
 * host is big-endian (checked at run time, so no configuration is needed). */
static void swap_to_from_big_endian(void *data, size_t count, size_t esize)
{
    const uint16_t probe = 1;
    if (esize == 1 || *(const unsigned char *)&probe == 0)
        return;
    unsigned char *p = data;
    for (size_t i = 0; i < count; i++, p += esize)
        for (size_t a = 0, b = esize - 1; a < b; a++, b--) {
            unsigned char t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}

int kn_idx_read(const char *path, kn_idx *out, kn_error *err)
{
    memset(out, 0, sizeof *out);
    kn_in in;
    int rc = kn_in_open(&in, path, err);
    if (rc)
        return rc;
    unsigned char head[4];
    size_t got;
    rc = kn_in_read(&in, head, 4, &got, err);
    if (rc)
        goto fail;
    if (got < 4) {
        rc = kn_fail(err, KN_EFORMAT, "%s: too short for an IDX header (%zu bytes, need 4)", path,
                     got);
        goto fail;
    }
    if (head[0] != 0 || head[1] != 0) {
        rc = kn_fail(err, KN_EFORMAT,
                     "%s: not an IDX file: magic bytes are 0x%02x 0x%02x, expected 0x00 0x00", path,
                     head[0], head[1]);
        goto fail;
    }
    if (idx_code_to_dtype(head[2], &out->dtype)) {
        rc = kn_fail(err, KN_EFORMAT,
                     "%s: unknown IDX type code 0x%02x at byte 2 (expected 0x08 0x09 0x0B 0x0C "
                     "0x0D or 0x0E)",
                     path, head[2]);
        goto fail;
    }
    int ndim = head[3];
    if (ndim < 1 || ndim > KN_FORMAT_MAX_DIMS) {
        rc = kn_fail(err, KN_EFORMAT, "%s: IDX header at byte 3 gives %d dimensions (supported: 1..%d)",
                     path, ndim, KN_FORMAT_MAX_DIMS);
        goto fail;
    }
    unsigned char dims[4 * KN_FORMAT_MAX_DIMS];
    rc = kn_in_read_exact(&in, dims, 4 * (size_t)ndim, "the IDX dimension list", err);
    if (rc)
        goto fail;
    out->ndim = ndim;
    size_t count = 1, esize = kn_dtype_size(out->dtype), bytes;
    for (int i = 0; i < ndim; i++) {
        const unsigned char *d = dims + 4 * i;
        out->shape[i] = ((size_t)d[0] << 24) | ((size_t)d[1] << 16) | ((size_t)d[2] << 8) | d[3];
        if (kn_size_mul(count, out->shape[i], &count) || kn_size_mul(count, esize, &bytes) ||
            bytes > KN_FORMAT_MAX_BYTES) {
            char shape[256];
            size_t k = 0;
            for (int j = 0; j < ndim && k < sizeof shape - 16; j++)
                k += (size_t)snprintf(shape + k, sizeof shape - k, "%s%zu", j ? " x " : "",
                                      ((size_t)dims[4 * j] << 24) | ((size_t)dims[4 * j + 1] << 16) |
                                          ((size_t)dims[4 * j + 2] << 8) | dims[4 * j + 3]);
            rc = kn_fail(err, KN_EFORMAT,
                         "%s: IDX dimensions %s (%s) overflow or exceed the %zu-byte limit", path,
                         shape, kn_dtype_name(out->dtype), (size_t)KN_FORMAT_MAX_BYTES);
            goto fail;
        }
    }
    out->count = count;
    if (count == 0) {
        out->data = malloc(1);
        if (!out->data) {
            rc = kn_fail(err, KN_ENOMEM, "%s: out of memory", path);
            goto fail;
        }
    } else {
        rc = kn_in_read_alloc(&in, count * esize, &out->data, "the IDX data", err);
        if (rc)
            goto fail;
    }
    rc = kn_in_expect_end(&in, "the IDX data", err);
    if (rc)
        goto fail;
    kn_in_close(&in);
    swap_to_from_big_endian(out->data, count, esize);
    return KN_OK;
fail:
    kn_in_close(&in);
    kn_array_free(out);
    return rc;
}

int kn_idx_write(const char *path, const kn_idx *arr, int gzip, kn_error *err)
{
    int code = idx_dtype_to_code(arr->dtype);
    if (code < 0)
        return kn_fail(err, KN_EINVAL, "%s: IDX cannot store %s values", path,
                       kn_dtype_name(arr->dtype));
    if (arr->ndim < 1 || arr->ndim > KN_FORMAT_MAX_DIMS)
        return kn_fail(err, KN_EINVAL, "%s: IDX needs 1..%d dimensions, got %d", path,
                       KN_FORMAT_MAX_DIMS, arr->ndim);
    unsigned char head[4 + 4 * KN_FORMAT_MAX_DIMS] = {0, 0, (unsigned char)code,
                                                      (unsigned char)arr->ndim};
    size_t count = 1;
    for (int i = 0; i < arr->ndim; i++) {
        if (arr->shape[i] > 0xFFFFFFFFu)
            return kn_fail(err, KN_EINVAL, "%s: dimension %d (%zu) does not fit IDX's 32 bits",
                           path, i, arr->shape[i]);
        if (kn_size_mul(count, arr->shape[i], &count))
            return kn_fail(err, KN_EINVAL, "%s: shape overflows", path);
        uint32_t d = (uint32_t)arr->shape[i];
        head[4 + 4 * i] = (unsigned char)(d >> 24);
        head[5 + 4 * i] = (unsigned char)(d >> 16);
        head[6 + 4 * i] = (unsigned char)(d >> 8);
        head[7 + 4 * i] = (unsigned char)d;
    }
    if (count != arr->count)
        return kn_fail(err, KN_EINVAL, "%s: array count %zu does not match its shape (%zu)", path,
                       arr->count, count);
    kn_out o;
    int rc = kn_out_open(&o, path, gzip, err);
    if (rc)
        return rc;
    rc = kn_out_write(&o, head, 4 + 4 * (size_t)arr->ndim, err);
    size_t esize = kn_dtype_size(arr->dtype);
    /* Convert to big-endian in blocks so the caller's array stays untouched. */
    unsigned char block[1 << 16];
    size_t per = sizeof block / esize;
    for (size_t i = 0; rc == KN_OK && i < count; i += per) {
        size_t m = count - i < per ? count - i : per;
        memcpy(block, (const unsigned char *)arr->data + i * esize, m * esize);
        swap_to_from_big_endian(block, m, esize);
        rc = kn_out_write(&o, block, m * esize, err);
    }
    if (rc) {
        kn_out_abort(&o);
        return rc;
    }
    return kn_out_commit(&o, err);
}
