/* safetensors read/write (see kenyon/safetensors.h). Written here because no Debian package
 * provides a C implementation; the JSON header goes through cJSON. The format: u64 LE header
 * length N, N bytes of JSON {"name": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]},
 * "__metadata__": {"key": "text"}}, then the tensor bytes (offsets relative to their start).
 * Validation follows the reference implementation: offsets must tile the byte buffer exactly
 * (sorted, no gaps, no overlap), and each range must equal shape x dtype size. */
#include "kenyon/safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kenyon/fileio.h"
#include "kenyon/params.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "kenyon's safetensors code assumes a little-endian host"
#endif

static const char *const dtype_names[] = {"F32", "F64", "I32", "I64", "U8"};
static const size_t dtype_sizes[] = {4, 8, 4, 8, 1};
#define N_DTYPES 5

const char *kn_st_dtype_name(kn_st_dtype t)
{
    return (unsigned)t < N_DTYPES ? dtype_names[t] : "?";
}

size_t kn_st_dtype_size(kn_st_dtype t) { return (unsigned)t < N_DTYPES ? dtype_sizes[t] : 0; }

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

void kn_st_free(kn_st_file *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_tensors; i++)
        free(f->tensors[i].name);
    free(f->tensors);
    for (size_t i = 0; i < f->n_meta; i++) {
        free(f->meta_keys[i]);
        free(f->meta_values[i]);
    }
    free(f->meta_keys);
    free(f->meta_values);
    free(f->buffer);
    if (f->stream)
        fclose(f->stream);
    memset(f, 0, sizeof *f);
}

/* A JSON number that is a whole number in [0, 2^53]. */
static int json_uint(const cJSON *j, uint64_t *out)
{
    if (!cJSON_IsNumber(j))
        return -1;
    double v = j->valuedouble;
    if (!(v >= 0) || v > 9007199254740992.0 || floor(v) != v)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static int cmp_by_offset(const void *a, const void *b)
{
    const size_t *x = a, *y = b; /* [begin, index] pairs */
    return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : (x[1] < y[1] ? -1 : x[1] > y[1]);
}

/* Parses and validates a file of len bytes whose first `have` bytes are in `bytes` (at least the
 * length prefix and the header). with_data: the whole file is in bytes, and every tensor is
 * copied to its own aligned place; else only the layout is kept (data NULL, file_offset set)
 * and kn_st_tensor_read reads the bytes from the file later. */
static int parse_layout(const unsigned char *bytes, size_t have, size_t len, int with_data,
                        const char *name, kn_st_file *out, kn_error *err)
{
    memset(out, 0, sizeof *out);
    snprintf(out->source, sizeof out->source, "%s", name ? name : "(memory)");
    const char *src = out->source;
    if (len < 8)
        return kn_fail(err, KN_EFORMAT, "%s: %zu bytes, too short for a safetensors header", src,
                       len);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | bytes[i];
    if (hlen > KN_ST_MAX_HEADER)
        return kn_fail(err, KN_EFORMAT, "%s: header length %" PRIu64 " exceeds the %u-byte limit",
                       src, hlen, KN_ST_MAX_HEADER);
    if (hlen > len - 8)
        return kn_fail(err, KN_EFORMAT,
                       "%s: header length %" PRIu64 " runs past the end of the file (%zu bytes)",
                       src, hlen, len);
    if (hlen > have - 8)
        return kn_fail(err, KN_EFORMAT, "%s: header of %" PRIu64 " bytes could not be read",
                       src, hlen);
    if (hlen < 2)
        return kn_fail(err, KN_EFORMAT, "%s: header of %" PRIu64 " bytes cannot be a JSON object",
                       src, hlen);
    const char *hdr = (const char *)bytes + 8;
    if (hdr[0] != '{')
        return kn_fail(err, KN_EFORMAT, "%s: header at offset 8 does not start with '{'", src);
    for (uint64_t i = 0; i < hlen; i++)
        if (hdr[i] == '\0')
            return kn_fail(err, KN_EFORMAT, "%s: NUL byte in the header at offset %" PRIu64, src,
                           8 + i);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(hdr, (size_t)hlen, &end, 0);
    if (!root || !cJSON_IsObject(root)) {
        size_t off = end && end >= hdr ? (size_t)(end - hdr) : 0;
        cJSON_Delete(root);
        return kn_fail(err, KN_EFORMAT, "%s: header is not a valid JSON object (near offset %zu)",
                       src, 8 + off);
    }
    /* Only trailing spaces (the format's alignment padding) may follow the JSON. */
    for (const char *p = end; p && p < hdr + hlen; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            cJSON_Delete(root);
            return kn_fail(err, KN_EFORMAT, "%s: unexpected bytes after the JSON header at offset %zu",
                           src, (size_t)(8 + (p - hdr)));
        }
    size_t buf_len = len - 8 - (size_t)hlen;
    const unsigned char *buf = with_data ? bytes + 8 + hlen : NULL;
    int rc = 0;
    size_t n_entries = 0;
    for (cJSON *e = root->child; e; e = e->next)
        n_entries++;
    size_t *order = NULL;
    if (n_entries) {
        out->tensors = calloc(n_entries, sizeof *out->tensors);
        order = calloc(n_entries, 2 * sizeof *order);
        if (!out->tensors || !order) {
            rc = kn_fail(err, KN_ENOMEM, "%s: out of memory for %zu header entries", src,
                         n_entries);
            goto fail;
        }
    }
    for (cJSON *e = root->child; e; e = e->next) {
        const char *key = e->string ? e->string : "";
        /* Duplicate keys: cJSON keeps both; the format forbids them. */
        for (cJSON *p = root->child; p != e; p = p->next)
            if (p->string && strcmp(p->string, key) == 0) {
                rc = kn_fail(err, KN_EFORMAT, "%s: header names '%s' twice", src, key);
                goto fail;
            }
        if (strcmp(key, "__metadata__") == 0) {
            if (!cJSON_IsObject(e)) {
                rc = kn_fail(err, KN_EFORMAT, "%s: __metadata__ is not an object", src);
                goto fail;
            }
            size_t nm = 0;
            for (cJSON *m = e->child; m; m = m->next)
                nm++;
            if (nm) {
                out->meta_keys = calloc(nm, sizeof(char *));
                out->meta_values = calloc(nm, sizeof(char *));
                if (!out->meta_keys || !out->meta_values) {
                    rc = kn_fail(err, KN_ENOMEM, "%s: out of memory for metadata", src);
                    goto fail;
                }
            }
            for (cJSON *m = e->child; m; m = m->next) {
                if (!cJSON_IsString(m)) {
                    rc = kn_fail(err, KN_EFORMAT, "%s: __metadata__ value of '%s' is not a string",
                                 src, m->string ? m->string : "");
                    goto fail;
                }
                for (size_t i = 0; i < out->n_meta; i++)
                    if (strcmp(out->meta_keys[i], m->string) == 0) {
                        rc = kn_fail(err, KN_EFORMAT, "%s: __metadata__ names '%s' twice", src,
                                     m->string);
                        goto fail;
                    }
                out->meta_keys[out->n_meta] = dup_str(m->string);
                out->meta_values[out->n_meta] = dup_str(m->valuestring);
                out->n_meta++;
                if (!out->meta_keys[out->n_meta - 1] || !out->meta_values[out->n_meta - 1]) {
                    rc = kn_fail(err, KN_ENOMEM, "%s: out of memory for metadata", src);
                    goto fail;
                }
            }
            continue;
        }
        if (!cJSON_IsObject(e)) {
            rc = kn_fail(err, KN_EFORMAT, "%s: header entry '%s' is not an object", src, key);
            goto fail;
        }
        kn_st_tensor *t = &out->tensors[out->n_tensors];
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
        const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
        const cJSON *of = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
        if (!cJSON_IsString(dt)) {
            rc = kn_fail(err, KN_EFORMAT, "%s: tensor '%s' has no string dtype", src, key);
            goto fail;
        }
        int found = -1;
        for (int i = 0; i < N_DTYPES; i++)
            if (strcmp(dt->valuestring, dtype_names[i]) == 0)
                found = i;
        if (found < 0) {
            rc = kn_fail(err, KN_EFORMAT,
                         "%s: tensor '%s' has dtype '%.32s' (kenyon reads F32, F64, I32, I64, U8)",
                         src, key, dt->valuestring);
            goto fail;
        }
        t->dtype = (kn_st_dtype)found;
        if (!cJSON_IsArray(sh)) {
            rc = kn_fail(err, KN_EFORMAT, "%s: tensor '%s' has no shape array", src, key);
            goto fail;
        }
        int nd = cJSON_GetArraySize(sh);
        if (nd > KN_ST_MAX_DIMS) {
            rc = kn_fail(err, KN_EFORMAT, "%s: tensor '%s' has %d dimensions (at most %d)", src,
                         key, nd, KN_ST_MAX_DIMS);
            goto fail;
        }
        t->ndim = nd;
        size_t count = 1;
        int i = 0;
        for (const cJSON *s = sh->child; s; s = s->next, i++) {
            uint64_t v;
            if (json_uint(s, &v) || v > SIZE_MAX) {
                rc = kn_fail(err, KN_EFORMAT,
                             "%s: tensor '%s' shape[%d] is not a non-negative integer", src, key,
                             i);
                goto fail;
            }
            t->shape[i] = (size_t)v;
            if (kn_size_mul(count, (size_t)v, &count)) {
                rc = kn_fail(err, KN_EFORMAT, "%s: tensor '%s' shape overflows", src, key);
                goto fail;
            }
        }
        t->count = count;
        if (kn_size_mul(count, dtype_sizes[found], &t->nbytes)) {
            rc = kn_fail(err, KN_EFORMAT, "%s: tensor '%s' size overflows", src, key);
            goto fail;
        }
        uint64_t b, en;
        if (!cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2 || json_uint(of->child, &b) ||
            json_uint(of->child->next, &en)) {
            rc = kn_fail(err, KN_EFORMAT,
                         "%s: tensor '%s' needs data_offsets [begin, end] of two integers", src,
                         key);
            goto fail;
        }
        if (b > en || en > buf_len) {
            rc = kn_fail(err, KN_EFORMAT,
                         "%s: tensor '%s' data_offsets [%" PRIu64 ", %" PRIu64
                         "] outside the %zu-byte data buffer (file truncated?)",
                         src, key, b, en, buf_len);
            goto fail;
        }
        if (en - b != t->nbytes) {
            rc = kn_fail(err, KN_EFORMAT,
                         "%s: tensor '%s' spans %" PRIu64 " bytes but shape x %s needs %zu", src,
                         key, en - b, dtype_names[found], t->nbytes);
            goto fail;
        }
        t->name = dup_str(key);
        if (!t->name) {
            rc = kn_fail(err, KN_ENOMEM, "%s: out of memory", src);
            goto fail;
        }
        order[2 * out->n_tensors] = (size_t)b;
        order[2 * out->n_tensors + 1] = out->n_tensors;
        out->n_tensors++;
    }
    /* The ranges must tile [0, buf_len) exactly. */
    if (out->n_tensors)
        qsort(order, out->n_tensors, 2 * sizeof *order, cmp_by_offset);
    size_t pos = 0;
    for (size_t i = 0; i < out->n_tensors; i++) {
        const kn_st_tensor *t = &out->tensors[order[2 * i + 1]];
        if (order[2 * i] != pos) {
            rc = kn_fail(err, KN_EFORMAT,
                         "%s: tensor '%s' starts at data offset %zu, expected %zu (%s)", src,
                         t->name, order[2 * i], pos, order[2 * i] > pos ? "gap" : "overlap");
            goto fail;
        }
        pos += t->nbytes;
    }
    if (pos != buf_len) {
        rc = kn_fail(err, KN_EFORMAT, "%s: %zu trailing bytes after the last tensor (at offset %zu)",
                     src, buf_len - pos, (size_t)(8 + hlen + pos));
        goto fail;
    }
    /* Copy every tensor to its own 8-byte-aligned place (in the file a tensor may start at any
     * offset, e.g. after a 3-byte U8 tensor), so the data can be read as their dtype. */
    size_t total = 0;
    for (size_t i = 0; with_data && i < out->n_tensors; i++) {
        size_t nb = out->tensors[order[2 * i + 1]].nbytes;
        if (kn_size_add(total, (nb + 7) & ~(size_t)7, &total)) {
            rc = kn_fail(err, KN_EFORMAT, "%s: tensor sizes overflow", src);
            goto fail;
        }
    }
    out->buffer = with_data ? malloc(total ? total : 8) : NULL;
    kn_st_tensor *sorted = out->n_tensors ? calloc(out->n_tensors, sizeof *sorted) : NULL;
    if ((with_data && !out->buffer) || (out->n_tensors && !sorted)) {
        free(sorted);
        rc = kn_fail(err, KN_ENOMEM, "%s: out of memory for %zu bytes of tensors", src, total);
        goto fail;
    }
    size_t at = 0;
    for (size_t i = 0; i < out->n_tensors; i++) {
        sorted[i] = out->tensors[order[2 * i + 1]];
        unsigned char *dst = with_data ? (unsigned char *)out->buffer + at : NULL;
        if (with_data && sorted[i].nbytes)
            memcpy(dst, buf + order[2 * i], sorted[i].nbytes);
        sorted[i].data = dst;
        sorted[i].file_offset = 8 + (size_t)hlen + order[2 * i];
        at += (sorted[i].nbytes + 7) & ~(size_t)7;
    }
    free(out->tensors);
    out->tensors = sorted;
    free(order);
    cJSON_Delete(root);
    return 0;
fail:
    free(order);
    cJSON_Delete(root);
    {
        char keep[256];
        memcpy(keep, out->source, sizeof keep);
        kn_st_free(out);
        memcpy(out->source, keep, sizeof keep);
    }
    return rc;
}

int kn_st_parse(const unsigned char *bytes, size_t len, const char *name, kn_st_file *out,
                kn_error *err)
{
    return parse_layout(bytes, len, len, 1, name, out, err);
}

/* Files larger than this are not read (a 20000 x 20000 double matrix is 3.2 GB). */
#define KN_ST_MAX_FILE ((size_t)1 << 40)

int kn_st_open(const char *path, kn_st_file *out, kn_error *err)
{
    memset(out, 0, sizeof *out);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return kn_fail(err, KN_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    unsigned char prefix[8];
    unsigned char *hdr = NULL;
    int rc = 0;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = kn_fail(err, KN_EIO, "%s: not a regular file", path);
        goto fail;
    }
    if ((uint64_t)st.st_size > KN_ST_MAX_FILE) {
        rc = kn_fail(err, KN_EFORMAT, "%s: %lld bytes is too large for a model file", path,
                     (long long)st.st_size);
        goto fail;
    }
    size_t len = (size_t)st.st_size;
    size_t got = fread(prefix, 1, sizeof prefix, fp);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0 && got == 8; i--)
        hlen = (hlen << 8) | prefix[i];
    /* Read the header only when its length is plausible; parse_layout gives the messages. */
    size_t have = got;
    if (got == 8 && hlen <= KN_ST_MAX_HEADER && hlen <= len - 8) {
        hdr = malloc(8 + (size_t)hlen + 1);
        if (!hdr) {
            rc = kn_fail(err, KN_ENOMEM, "%s: out of memory for the header", path);
            goto fail;
        }
        memcpy(hdr, prefix, 8);
        have = 8 + fread(hdr + 8, 1, (size_t)hlen, fp);
    }
    rc = parse_layout(hdr ? hdr : prefix, have, got < 8 ? got : len, 0, path, out, err);
    free(hdr);
    hdr = NULL;
    if (rc)
        goto fail;
    out->stream = fp;
    return 0;
fail:
    free(hdr);
    fclose(fp);
    return rc;
}

int kn_st_tensor_read_range(const kn_st_file *f, const kn_st_tensor *t, size_t offset,
                            size_t n, void *dst, kn_error *err)
{
    if (offset > t->nbytes || n > t->nbytes - offset)
        return kn_fail(err, KN_EINVAL, "%s: tensor '%s': bytes [%zu, %zu) outside its %zu",
                       f->source, t->name, offset, offset + n, t->nbytes);
    if (n == 0)
        return 0;
    if (t->data) {
        memcpy(dst, (const unsigned char *)t->data + offset, n);
        return 0;
    }
    FILE *fp = f->stream;
    if (!fp)
        return kn_fail(err, KN_ESTATE, "%s: tensor '%s' has no data (file closed)", f->source,
                       t->name);
    if (fseeko(fp, (off_t)(t->file_offset + offset), SEEK_SET) != 0 || fread(dst, 1, n, fp) != n)
        return kn_fail(err, KN_EIO, "%s: tensor '%s': cannot read %zu bytes at offset %zu%s",
                       f->source, t->name, n, t->file_offset + offset,
                       ferror(fp) ? "" : " (file shortened while reading?)");
    return 0;
}

int kn_st_tensor_read(const kn_st_file *f, const kn_st_tensor *t, void *dst, kn_error *err)
{
    return kn_st_tensor_read_range(f, t, 0, t->nbytes, dst, err);
}

int kn_st_read(const char *path, kn_st_file *out, kn_error *err)
{
    /* The layout first, then every tensor straight into its aligned place: the file's bytes are
     * held once, not once as read and again as copied. */
    int rc = kn_st_open(path, out, err);
    if (rc)
        return rc;
    size_t total = 0;
    for (size_t i = 0; i < out->n_tensors; i++)
        if (kn_size_add(total, (out->tensors[i].nbytes + 7) & ~(size_t)7, &total)) {
            kn_st_free(out);
            return kn_fail(err, KN_EFORMAT, "%s: tensor sizes overflow", path);
        }
    out->buffer = malloc(total ? total : 8);
    if (!out->buffer) {
        kn_st_free(out);
        return kn_fail(err, KN_ENOMEM, "%s: out of memory for %zu bytes of tensors", path, total);
    }
    size_t at = 0;
    for (size_t i = 0; i < out->n_tensors && !rc; i++) {
        kn_st_tensor *t = &out->tensors[i];
        unsigned char *dst = (unsigned char *)out->buffer + at;
        rc = kn_st_tensor_read(out, t, dst, err);
        t->data = dst;
        at += (t->nbytes + 7) & ~(size_t)7;
    }
    fclose(out->stream);
    out->stream = NULL;
    if (rc)
        kn_st_free(out);
    return rc;
}

const kn_st_tensor *kn_st_find(const kn_st_file *f, const char *name)
{
    for (size_t i = 0; i < f->n_tensors; i++)
        if (strcmp(f->tensors[i].name, name) == 0)
            return &f->tensors[i];
    return NULL;
}

static void shape_str(char *buf, size_t cap, int ndim, const size_t *shape)
{
    size_t used = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%zu", i ? ", " : "", shape[i]);
    if (used < cap)
        snprintf(buf + used, cap - used, "]");
}

int kn_st_expect(const kn_st_file *f, const char *name, kn_st_dtype dtype, int ndim,
                 const size_t *shape, const kn_st_tensor **out, kn_error *err)
{
    *out = NULL;
    const kn_st_tensor *t = kn_st_find(f, name);
    if (!t)
        return kn_fail(err, KN_EFORMAT, "%s: tensor '%s' is missing", f->source, name);
    if (t->dtype != dtype)
        return kn_fail(err, KN_EFORMAT, "%s: tensor '%s' has dtype %s, expected %s", f->source,
                       name, kn_st_dtype_name(t->dtype), kn_st_dtype_name(dtype));
    int bad = t->ndim != ndim;
    for (int i = 0; !bad && shape && i < ndim; i++)
        bad = t->shape[i] != shape[i];
    if (bad) {
        char got[128], want[128];
        shape_str(got, sizeof got, t->ndim, t->shape);
        if (shape)
            shape_str(want, sizeof want, ndim, shape);
        else
            snprintf(want, sizeof want, "%d dimensions", ndim);
        return kn_fail(err, KN_EFORMAT, "%s: tensor '%s' has shape %s, expected %s", f->source,
                       name, got, want);
    }
    *out = t;
    return 0;
}

const char *kn_st_meta(const kn_st_file *f, const char *key)
{
    for (size_t i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta_keys[i], key) == 0)
            return f->meta_values[i];
    return NULL;
}

static int meta_get(const kn_st_file *f, const char *key, const char **v, kn_error *err)
{
    *v = kn_st_meta(f, key);
    if (!*v)
        return kn_fail(err, KN_EFORMAT, "%s: metadata '%s' is missing", f->source, key);
    return 0;
}

int kn_st_meta_int64(const kn_st_file *f, const char *key, int64_t *out, kn_error *err)
{
    const char *v;
    int rc = meta_get(f, key, &v, err);
    if (rc)
        return rc;
    kn_num_status st = kn_parse_i64(v, out);
    if (st != KN_NUM_OK)
        return kn_fail(err, KN_EFORMAT, "%s: metadata '%s' = '%.64s' is %s", f->source, key, v,
                       st == KN_NUM_RANGE ? "out of range for a 64-bit integer"
                                          : "not an integer");
    return 0;
}

int kn_st_meta_uint64(const kn_st_file *f, const char *key, uint64_t *out, kn_error *err)
{
    const char *v;
    int rc = meta_get(f, key, &v, err);
    if (rc)
        return rc;
    kn_num_status st = kn_parse_u64(v, out);
    if (st != KN_NUM_OK)
        return kn_fail(err, KN_EFORMAT, "%s: metadata '%s' = '%.64s' is %s", f->source, key, v,
                       st == KN_NUM_RANGE ? "out of range for a non-negative 64-bit integer"
                                          : "not a non-negative integer");
    return 0;
}

int kn_st_meta_double(const kn_st_file *f, const char *key, double *out, kn_error *err)
{
    const char *v;
    int rc = meta_get(f, key, &v, err);
    if (rc)
        return rc;
    kn_num_status st = kn_parse_f64(v, out);
    if (st != KN_NUM_OK)
        return kn_fail(err, KN_EFORMAT, "%s: metadata '%s' = '%.64s' is %s", f->source, key, v,
                       st == KN_NUM_RANGE ? "out of range for a double" : "not a number");
    return 0;
}

/* ---- writer ---- */

void kn_st_writer_init(kn_st_writer *w) { memset(w, 0, sizeof *w); }

void kn_st_writer_free(kn_st_writer *w)
{
    for (size_t i = 0; i < w->n_tensors; i++)
        free(w->tensors[i].name);
    free(w->tensors);
    for (size_t i = 0; i < w->n_meta; i++) {
        free(w->meta_keys[i]);
        free(w->meta_values[i]);
    }
    free(w->meta_keys);
    free(w->meta_values);
    memset(w, 0, sizeof *w);
}

int kn_st_writer_add(kn_st_writer *w, const char *name, kn_st_dtype dtype, int ndim,
                     const size_t *shape, const void *data, kn_error *err)
{
    int rc = 0;
    if (!name || !*name || strcmp(name, "__metadata__") == 0)
        rc = kn_fail(err, KN_EINVAL, "safetensors: invalid tensor name '%s'", name ? name : "");
    else if ((unsigned)dtype >= N_DTYPES)
        rc = kn_fail(err, KN_EINVAL, "safetensors: tensor '%s' has an invalid dtype", name);
    else if (ndim < 0 || ndim > KN_ST_MAX_DIMS)
        rc = kn_fail(err, KN_EINVAL, "safetensors: tensor '%s' has %d dimensions", name, ndim);
    for (size_t i = 0; !rc && i < w->n_tensors; i++)
        if (strcmp(w->tensors[i].name, name) == 0)
            rc = kn_fail(err, KN_EINVAL, "safetensors: tensor '%s' added twice", name);
    kn_st_tensor t = {0};
    if (!rc) {
        t.dtype = dtype;
        t.ndim = ndim;
        size_t count = 1;
        for (int i = 0; i < ndim; i++) {
            t.shape[i] = shape[i];
            if (kn_size_mul(count, shape[i], &count))
                rc = kn_fail(err, KN_EINVAL, "safetensors: tensor '%s' size overflows", name);
        }
        t.count = count;
        if (!rc && kn_size_mul(count, dtype_sizes[dtype], &t.nbytes))
            rc = kn_fail(err, KN_EINVAL, "safetensors: tensor '%s' size overflows", name);
        if (!rc && t.nbytes && !data)
            rc = kn_fail(err, KN_EINVAL, "safetensors: tensor '%s' has no data", name);
        t.data = data;
    }
    if (!rc && w->n_tensors == w->cap_tensors) {
        size_t nc = w->cap_tensors ? 2 * w->cap_tensors : 8;
        kn_st_tensor *nt = realloc(w->tensors, nc * sizeof *nt);
        if (!nt)
            rc = kn_fail(err, KN_ENOMEM, "safetensors: out of memory");
        else {
            w->tensors = nt;
            w->cap_tensors = nc;
        }
    }
    if (!rc) {
        t.name = dup_str(name);
        if (!t.name)
            rc = kn_fail(err, KN_ENOMEM, "safetensors: out of memory");
    }
    if (rc) {
        w->failed = 1;
        return rc;
    }
    w->tensors[w->n_tensors++] = t;
    return 0;
}

int kn_st_writer_meta(kn_st_writer *w, const char *key, const char *value, kn_error *err)
{
    int rc = 0;
    if (!key || !value)
        rc = kn_fail(err, KN_EINVAL, "safetensors: metadata needs a key and a value");
    for (size_t i = 0; !rc && i < w->n_meta; i++)
        if (strcmp(w->meta_keys[i], key) == 0)
            rc = kn_fail(err, KN_EINVAL, "safetensors: metadata '%s' set twice", key);
    if (!rc && w->n_meta == w->cap_meta) {
        size_t nc = w->cap_meta ? 2 * w->cap_meta : 16;
        char **nk = realloc(w->meta_keys, nc * sizeof *nk);
        if (nk)
            w->meta_keys = nk;
        char **nv = nk ? realloc(w->meta_values, nc * sizeof *nv) : NULL;
        if (nv)
            w->meta_values = nv;
        if (!nk || !nv)
            rc = kn_fail(err, KN_ENOMEM, "safetensors: out of memory");
        else
            w->cap_meta = nc;
    }
    if (!rc) {
        char *k = dup_str(key), *v = dup_str(value);
        if (!k || !v) {
            free(k);
            free(v);
            rc = kn_fail(err, KN_ENOMEM, "safetensors: out of memory");
        } else {
            w->meta_keys[w->n_meta] = k;
            w->meta_values[w->n_meta] = v;
            w->n_meta++;
        }
    }
    if (rc)
        w->failed = 1;
    return rc;
}

int kn_st_writer_meta_fmt(kn_st_writer *w, const char *key, kn_error *err, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return kn_st_writer_meta(w, key, buf, err);
}

int kn_st_writer_serialize(const kn_st_writer *w, unsigned char **bytes, size_t *len,
                           kn_error *err)
{
    *bytes = NULL;
    *len = 0;
    if (w->failed)
        return kn_fail(err, KN_ESTATE, "safetensors: an earlier add failed; not writing");
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return kn_fail(err, KN_ENOMEM, "safetensors: out of memory");
    int rc = 0;
    if (w->n_meta) {
        cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
        for (size_t i = 0; meta && i < w->n_meta; i++)
            if (!cJSON_AddStringToObject(meta, w->meta_keys[i], w->meta_values[i]))
                meta = NULL;
        if (!meta)
            rc = kn_fail(err, KN_ENOMEM, "safetensors: out of memory");
    }
    size_t off = 0;
    for (size_t i = 0; !rc && i < w->n_tensors; i++) {
        const kn_st_tensor *t = &w->tensors[i];
        cJSON *e = cJSON_AddObjectToObject(root, t->name);
        cJSON *sh = e ? cJSON_AddArrayToObject(e, "shape") : NULL;
        cJSON *of = sh ? cJSON_AddArrayToObject(e, "data_offsets") : NULL;
        int ok = of && cJSON_AddStringToObject(e, "dtype", dtype_names[t->dtype]);
        for (int d = 0; ok && d < t->ndim; d++)
            ok = cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)t->shape[d]));
        ok = ok && cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off)) &&
             cJSON_AddItemToArray(of, cJSON_CreateNumber((double)(off + t->nbytes)));
        if (!ok)
            rc = kn_fail(err, KN_ENOMEM, "safetensors: out of memory");
        off += t->nbytes;
    }
    char *json = rc ? NULL : cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (rc)
        return rc;
    if (!json)
        return kn_fail(err, KN_ENOMEM, "safetensors: out of memory");
    size_t jl = strlen(json);
    size_t hl = (jl + 7) & ~(size_t)7; /* pad with spaces so the data start 8-byte aligned */
    size_t total = 8 + hl + off;
    unsigned char *b = malloc(total ? total : 1);
    if (!b) {
        free(json);
        return kn_fail(err, KN_ENOMEM, "safetensors: out of memory for %zu bytes", total);
    }
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(b + 8, json, jl);
    memset(b + 8 + jl, ' ', hl - jl);
    free(json);
    size_t pos = 8 + hl;
    for (size_t i = 0; i < w->n_tensors; i++) {
        if (w->tensors[i].nbytes)
            memcpy(b + pos, w->tensors[i].data, w->tensors[i].nbytes);
        pos += w->tensors[i].nbytes;
    }
    *bytes = b;
    *len = total;
    return 0;
}

int kn_st_writer_write(const kn_st_writer *w, const char *path, kn_error *err)
{
    unsigned char *b;
    size_t n;
    int rc = kn_st_writer_serialize(w, &b, &n, err);
    if (rc)
        return rc;
    rc = kn_write_file_atomic(path, b, n, err);
    free(b);
    return rc;
}
