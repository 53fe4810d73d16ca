/* NumPy .npy files, versions 1.0, 2.0 and 3.0: magic "\x93NUMPY", version, header length (u16 for
 * 1.0, u32 for 2.0/3.0), then a Python dict literal {'descr': '<f4', 'fortran_order': False,
 * 'shape': (n, d), } padded with spaces to a multiple of 64 bytes, then the data. Hand-written:
 * Debian has no C library for .npy, and the header is a tiny, fixed grammar. */
#include "kenyon/formats.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"

#define NPY_MAX_HEADER (1u << 20)

static int host_is_little_endian(void)
{
    const uint16_t probe = 1;
    return *(const unsigned char *)&probe == 1;
}

static void swap_elements(void *data, size_t count, size_t esize)
{
    unsigned char *p = data;
    for (size_t i = 0; i < count; i++, p += esize)
        for (size_t a = 0, b = esize - 1; a < b; a++, b--) {
            unsigned char t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}

/* Finds 'key' (single or double quotes) in the dict text and returns the position after the
 * colon that follows it, or NULL. */
static const char *find_key(const char *h, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = h; (p = strpbrk(p, "'\"")) != NULL; p++) {
        char q = *p;
        if (strncmp(p + 1, key, kl) == 0 && p[1 + kl] == q) {
            const char *c = p + 2 + kl;
            while (isspace((unsigned char)*c))
                c++;
            if (*c == ':')
                return c + 1;
        }
    }
    return NULL;
}

static int parse_descr(const char *path, const char *v, kn_dtype *t, int *swap, kn_error *err)
{
    while (isspace((unsigned char)*v))
        v++;
    char q = *v;
    if (q != '\'' && q != '"')
        return kn_fail(err, KN_EFORMAT, "%s: npy header 'descr' is not a string (structured "
                       "dtypes are not supported)", path);
    const char *s = v + 1, *e = strchr(s, q);
    if (!e || e - s > 16)
        return kn_fail(err, KN_EFORMAT, "%s: npy header 'descr' string is malformed", path);
    char d[20];
    memcpy(d, s, (size_t)(e - s));
    d[e - s] = '\0';
    char order = d[0];
    const char *code = d + 1;
    if (order != '<' && order != '>' && order != '|' && order != '=')
        return kn_fail(err, KN_EFORMAT, "%s: npy dtype '%s' has no byte-order mark", path, d);
    if (!strcmp(code, "u1") || !strcmp(code, "b1"))
        *t = KN_DT_U8;
    else if (!strcmp(code, "i1"))
        *t = KN_DT_I8;
    else if (!strcmp(code, "i2"))
        *t = KN_DT_I16;
    else if (!strcmp(code, "i4"))
        *t = KN_DT_I32;
    else if (!strcmp(code, "i8"))
        *t = KN_DT_I64;
    else if (!strcmp(code, "f4"))
        *t = KN_DT_F32;
    else if (!strcmp(code, "f8"))
        *t = KN_DT_F64;
    else
        return kn_fail(err, KN_EFORMAT,
                       "%s: npy dtype '%s' is not supported (supported: u1 b1 i1 i2 i4 i8 f4 f8)",
                       path, d);
    int file_little = order == '<' || (order == '=' && host_is_little_endian()) || order == '|';
    *swap = kn_dtype_size(*t) > 1 && file_little != host_is_little_endian();
    return KN_OK;
}

static int parse_shape(const char *path, const char *v, kn_array *a, kn_error *err)
{
    while (isspace((unsigned char)*v))
        v++;
    if (*v != '(')
        return kn_fail(err, KN_EFORMAT, "%s: npy header 'shape' is not a tuple", path);
    v++;
    a->ndim = 0;
    for (;;) {
        while (isspace((unsigned char)*v))
            v++;
        if (*v == ')')
            break;
        if (!isdigit((unsigned char)*v))
            return kn_fail(err, KN_EFORMAT, "%s: npy header 'shape' has a non-integer entry near "
                           "\"%.12s\"", path, v);
        if (a->ndim == KN_FORMAT_MAX_DIMS)
            return kn_fail(err, KN_EFORMAT, "%s: npy shape has more than %d dimensions", path,
                           KN_FORMAT_MAX_DIMS);
        errno = 0;
        char *end;
        unsigned long long x = strtoull(v, &end, 10);
        if (errno || x > (unsigned long long)(size_t)-1)
            return kn_fail(err, KN_EFORMAT, "%s: npy shape entry %d is too large", path, a->ndim);
        a->shape[a->ndim++] = (size_t)x;
        v = end;
        while (isspace((unsigned char)*v))
            v++;
        if (*v == ',')
            v++;
        else if (*v != ')')
            return kn_fail(err, KN_EFORMAT, "%s: npy header 'shape' tuple is malformed", path);
    }
    return KN_OK;
}

int kn_npy_read(const char *path, kn_npy *out, kn_error *err)
{
    memset(out, 0, sizeof *out);
    kn_in in;
    int rc = kn_in_open(&in, path, err);
    if (rc)
        return rc;
    char *header = NULL;
    unsigned char pre[12];
    size_t got;
    rc = kn_in_read(&in, pre, 10, &got, err);
    if (rc)
        goto fail;
    if (got < 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        if (got >= 6 && memcmp(pre, "\x93NUMPY", 6) == 0)
            rc = kn_fail(err, KN_EFORMAT, "%s: truncated npy preamble (%zu bytes)", path, got);
        else
            rc = kn_fail(err, KN_EFORMAT, "%s: not a .npy file: the first 6 bytes are not "
                         "\\x93NUMPY", path);
        goto fail;
    }
    int major = pre[6];
    size_t hlen;
    if (major == 1) {
        hlen = (size_t)pre[8] | ((size_t)pre[9] << 8);
    } else if (major == 2 || major == 3) {
        rc = kn_in_read_exact(&in, pre + 10, 2, "the npy header length", err);
        if (rc)
            goto fail;
        hlen = (size_t)pre[8] | ((size_t)pre[9] << 8) | ((size_t)pre[10] << 16) |
               ((size_t)pre[11] << 24);
    } else {
        rc = kn_fail(err, KN_EFORMAT, "%s: npy format version %d.%d is not supported (1-3)", path,
                     major, pre[7]);
        goto fail;
    }
    if (hlen == 0 || hlen > NPY_MAX_HEADER) {
        rc = kn_fail(err, KN_EFORMAT, "%s: npy header length %zu is out of range (1..%u)", path,
                     hlen, NPY_MAX_HEADER);
        goto fail;
    }
    header = malloc(hlen + 1);
    if (!header) {
        rc = kn_fail(err, KN_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    rc = kn_in_read_exact(&in, header, hlen, "the npy header", err);
    if (rc)
        goto fail;
    header[hlen] = '\0';
    if (strlen(header) != hlen) {
        rc = kn_fail(err, KN_EFORMAT, "%s: npy header contains a NUL byte", path);
        goto fail;
    }
    const char *d = find_key(header, "descr"), *f = find_key(header, "fortran_order"),
               *s = find_key(header, "shape");
    if (!d || !f || !s) {
        rc = kn_fail(err, KN_EFORMAT, "%s: npy header lacks '%s'", path,
                     !d ? "descr" : !f ? "fortran_order" : "shape");
        goto fail;
    }
    int swap = 0;
    rc = parse_descr(path, d, &out->dtype, &swap, err);
    if (rc)
        goto fail;
    while (isspace((unsigned char)*f))
        f++;
    if (strncmp(f, "True", 4) == 0) {
        rc = kn_fail(err, KN_EFORMAT, "%s: Fortran-order npy arrays are not supported (save "
                     "with np.ascontiguousarray)", path);
        goto fail;
    }
    if (strncmp(f, "False", 5) != 0) {
        rc = kn_fail(err, KN_EFORMAT, "%s: npy header 'fortran_order' is neither True nor False",
                     path);
        goto fail;
    }
    rc = parse_shape(path, s, out, err);
    if (rc)
        goto fail;
    size_t count = 1, bytes, esize = kn_dtype_size(out->dtype);
    for (int i = 0; i < out->ndim; i++)
        if (kn_size_mul(count, out->shape[i], &count)) {
            rc = kn_fail(err, KN_EFORMAT, "%s: npy shape overflows (dimension %d)", path, i);
            goto fail;
        }
    if (kn_size_mul(count, esize, &bytes) || bytes > KN_FORMAT_MAX_BYTES) {
        rc = kn_fail(err, KN_EFORMAT, "%s: npy data of %zu %s values overflows or exceeds the "
                     "%zu-byte limit", path, count, kn_dtype_name(out->dtype),
                     (size_t)KN_FORMAT_MAX_BYTES);
        goto fail;
    }
    out->count = count;
    if (bytes == 0) {
        out->data = malloc(1);
        if (!out->data) {
            rc = kn_fail(err, KN_ENOMEM, "%s: out of memory", path);
            goto fail;
        }
    } else {
        rc = kn_in_read_alloc(&in, bytes, &out->data, "the npy data", err);
        if (rc)
            goto fail;
    }
    rc = kn_in_expect_end(&in, "the npy data", err);
    if (rc)
        goto fail;
    if (swap)
        swap_elements(out->data, count, esize);
    free(header);
    kn_in_close(&in);
    return KN_OK;
fail:
    free(header);
    kn_in_close(&in);
    kn_array_free(out);
    return rc;
}

static const char *npy_descr(kn_dtype t)
{
    switch (t) {
    case KN_DT_U8: return "|u1";
    case KN_DT_I8: return "|i1";
    case KN_DT_I16: return "<i2";
    case KN_DT_I32: return "<i4";
    case KN_DT_I64: return "<i8";
    case KN_DT_F32: return "<f4";
    case KN_DT_F64: return "<f8";
    }
    return NULL;
}

int kn_npy_write(const char *path, kn_dtype dtype, const void *data, const size_t *shape,
                 int ndim, kn_error *err)
{
    const char *descr = npy_descr(dtype);
    if (!descr)
        return kn_fail(err, KN_EINVAL, "%s: unknown dtype %d", path, (int)dtype);
    if (ndim < 0 || ndim > KN_FORMAT_MAX_DIMS)
        return kn_fail(err, KN_EINVAL, "%s: npy needs 0..%d dimensions, got %d", path,
                       KN_FORMAT_MAX_DIMS, ndim);
    char dict[64 + 24 * KN_FORMAT_MAX_DIMS];
    size_t k = (size_t)snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, "
                                "'shape': (", descr);
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (kn_size_mul(count, shape[i], &count))
            return kn_fail(err, KN_EINVAL, "%s: shape overflows", path);
        k += (size_t)snprintf(dict + k, sizeof dict - k, "%zu%s", shape[i],
                              ndim == 1 ? "," : i + 1 < ndim ? ", " : "");
    }
    k += (size_t)snprintf(dict + k, sizeof dict - k, "), }");
    /* Preamble (10 bytes for v1, 12 for v2) + dict + spaces + '\n' is a multiple of 64. */
    int major = 10 + k + 1 <= 65535 ? 1 : 2;
    size_t pre = major == 1 ? 10 : 12;
    size_t total = (pre + k + 1 + 63) / 64 * 64;
    size_t hlen = total - pre;
    unsigned char head[12 + sizeof dict + 64];
    memcpy(head, "\x93NUMPY", 6);
    head[6] = (unsigned char)major;
    head[7] = 0;
    head[8] = (unsigned char)(hlen & 0xFF);
    head[9] = (unsigned char)((hlen >> 8) & 0xFF);
    if (major == 2) {
        head[10] = (unsigned char)((hlen >> 16) & 0xFF);
        head[11] = (unsigned char)((hlen >> 24) & 0xFF);
    }
    memcpy(head + pre, dict, k);
    memset(head + pre + k, ' ', hlen - k - 1);
    head[total - 1] = '\n';
    kn_out o;
    int rc = kn_out_open(&o, path, 0, err);
    if (rc)
        return rc;
    rc = kn_out_write(&o, head, total, err);
    size_t esize = kn_dtype_size(dtype);
    if (rc == KN_OK && host_is_little_endian()) {
        rc = kn_out_write(&o, data, count * esize, err);
    } else if (rc == KN_OK) {
        unsigned char block[1 << 16];
        size_t per = sizeof block / esize;
        for (size_t i = 0; rc == KN_OK && i < count; i += per) {
            size_t m = count - i < per ? count - i : per;
            memcpy(block, (const unsigned char *)data + i * esize, m * esize);
            if (esize > 1)
                swap_elements(block, m, esize);
            rc = kn_out_write(&o, block, m * esize, err);
        }
    }
    if (rc) {
        kn_out_abort(&o);
        return rc;
    }
    return kn_out_commit(&o, err);
}

int kn_npy_write_f32(const char *path, const float *data, const size_t *shape, int ndim,
                     kn_error *err)
{
    return kn_npy_write(path, KN_DT_F32, data, shape, ndim, err);
}

int kn_npy_write_i32(const char *path, const int32_t *data, const size_t *shape, int ndim,
                     kn_error *err)
{
    return kn_npy_write(path, KN_DT_I32, data, shape, ndim, err);
}

int kn_npy_write_u8(const char *path, const uint8_t *data, const size_t *shape, int ndim,
                    kn_error *err)
{
    return kn_npy_write(path, KN_DT_U8, data, shape, ndim, err);
}
