/* Numeric CSV: one sample per line, fields separated by commas (or semicolons or tabs, taken from
 * the first data line), an optional header line (a first line none of whose fields reads as a
 * number; the data's source text reports it as skipped), blank lines and lines starting with '#'
 * skipped, an optional integer label column. Hand-written:
 * libcsv is not what we need (we need strict numeric checks with line/column messages). */
#include "kenyon/formats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"

/* Parses one field [s, e) (inside a NUL-terminated text) as a double, of any length. Returns 0
 * for a finite number, 1 for text that reads as a number but not a finite one (nan, inf, 1e999),
 * -1 for text that is not a number at all. */
static int parse_number(const char *s, const char *e, double *v)
{
    while (s < e && (*s == ' ' || *s == '\t' || *s == '"'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '"'))
        e--;
    if (s == e)
        return -1;
    /* strtod stops at the separator, a quote or a line end, none of which continues a number;
     * a field it reads whole is a number. */
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    if (end != e)
        return -1;
    return isfinite(*v) ? 0 : 1;
}

/* Copies a field for an error message. */
static void field_text(const char *s, const char *e, char *out, size_t cap)
{
    size_t n = (size_t)(e - s);
    if (n > cap - 1)
        n = cap - 1;
    memcpy(out, s, n);
    out[n] = '\0';
    char *cr = strchr(out, '\r');
    if (cr)
        *cr = '\0';
}

int kn_csv_read(const char *path, int label_column, kn_dataset *out, kn_error *err)
{
    memset(out, 0, sizeof *out);
    kn_in in;
    int rc = kn_in_open(&in, path, err);
    if (rc)
        return rc;
    char *text = NULL;
    size_t len = 0;
    rc = kn_in_read_rest(&in, KN_FORMAT_MAX_BYTES, &text, &len, err);
    kn_in_close(&in);
    if (rc)
        return rc;
    if (memchr(text, '\0', len)) {
        free(text);
        return kn_fail(err, KN_EFORMAT, "%s: contains NUL bytes: not a text (CSV) file", path);
    }
    /* Pass 1: separator, header, columns and rows. */
    char sep = 0;
    size_t cols = 0, rows = 0, line_no = 0;
    int header_line = 0; /* 1-based line number of the header, 0 = none */
    char header_text[48] = "";
    double *vals = NULL;
    size_t nvals = 0, cap = 0;
    char *p = text, *end = text + len;
    while (p < end) {
        char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        line_no++;
        char *s = p, *e = eol;
        p = eol + 1;
        while (s < e && (*s == ' ' || *s == '\t' || *s == '\r'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\r'))
            e--;
        if (s == e || *s == '#')
            continue;
        if (!sep)
            sep = memchr(s, ',', (size_t)(e - s)) ? ','
                  : memchr(s, ';', (size_t)(e - s)) ? ';'
                  : memchr(s, '\t', (size_t)(e - s)) ? '\t' : ',';
        size_t c = 1;
        for (char *q = s; q < e; q++)
            c += *q == sep;
        if (!cols) {
            cols = c;
            if (label_column >= 0 && (size_t)label_column >= cols) {
                rc = kn_fail(err, KN_EINVAL, "%s: label column %d does not exist (line %zu has %zu "
                             "columns)", path, label_column, line_no, cols);
                goto fail;
            }
        } else if (c != cols) {
            rc = kn_fail(err, KN_EFORMAT, "%s: line %zu has %zu columns, expected %zu", path,
                         line_no, c, cols);
            goto fail;
        }
        /* Parse the fields. */
        size_t need;
        if (kn_size_add(nvals, cols, &need)) {
            rc = kn_fail(err, KN_ENOMEM, "%s: too many values", path);
            goto fail;
        }
        if (need > cap) {
            size_t ncap = cap ? cap * 2 : 1024;
            while (ncap < need)
                ncap *= 2;
            double *nv = realloc(vals, ncap * sizeof *nv);
            if (!nv) {
                rc = kn_fail(err, KN_ENOMEM, "%s: out of memory at line %zu", path, line_no);
                goto fail;
            }
            vals = nv;
            cap = ncap;
        }
        char *f = s;
        int bad = -1, numeric_fields = 0;
        char *bad_s = NULL, *bad_e = NULL;
        for (size_t k = 0; k < cols; k++) {
            char *fe = k + 1 < cols ? memchr(f, sep, (size_t)(e - f)) : e;
            int r = parse_number(f, fe, &vals[nvals + k]);
            numeric_fields += r >= 0;
            if (r && bad < 0) {
                bad = (int)k;
                bad_s = f;
                bad_e = fe;
            }
            f = fe + 1;
        }
        if (bad >= 0) {
            /* The first line is a header only when none of its fields reads as a number: a row
             * holding nan or a long number is data, and its bad field an error. */
            if (rows == 0 && !header_line && numeric_fields == 0) {
                header_line = (int)line_no;
                field_text(s, e, header_text, sizeof header_text);
                continue;
            }
            char txt[40];
            field_text(bad_s, bad_e, txt, sizeof txt);
            rc = kn_fail(err, KN_EFORMAT, "%s: line %zu column %d: '%s' is not a finite number",
                         path, line_no, bad + 1, txt);
            goto fail;
        }
        nvals += cols;
        rows++;
    }
    if (rows == 0) {
        rc = kn_fail(err, KN_EFORMAT, "%s: no numeric rows%s", path,
                     header_line ? " (only a header line)" : " (empty)");
        goto fail;
    }
    size_t d = label_column >= 0 ? cols - 1 : cols;
    if (d == 0) {
        rc = kn_fail(err, KN_EFORMAT, "%s: has only the label column, no features", path);
        goto fail;
    }
    rc = kn_dataset_alloc(out, rows, d, 0, err);
    if (rc)
        goto fail;
    int max_label = -1;
    for (size_t r = 0; r < rows; r++) {
        const double *row = vals + r * cols;
        size_t j = 0;
        for (size_t k = 0; k < cols; k++) {
            if ((int)k == label_column) {
                double v = row[k];
                if (v != floor(v) || v < 0 || v > KN_LABEL_MAX) {
                    rc = kn_fail(err, KN_EFORMAT, "%s: data row %zu: label %g is not an integer in "
                                 "0..%d", path, r + 1, v, KN_LABEL_MAX);
                    kn_dataset_free(out);
                    goto fail;
                }
                out->y[r] = (int32_t)v;
                if (out->y[r] > max_label)
                    max_label = out->y[r];
            } else {
                out->x[r * d + j++] = (float)row[k];
            }
        }
    }
    out->n_classes = label_column >= 0 ? max_label + 1 : 0;
    /* The header is the one line dropped: say so where the data's provenance is shown. */
    if (header_line)
        snprintf(out->source, sizeof out->source, "CSV %s (header line %d skipped: %s)", path,
                 header_line, header_text);
    else
        snprintf(out->source, sizeof out->source, "CSV %s", path);
    free(vals);
    free(text);
    return KN_OK;
fail:
    free(vals);
    free(text);
    return rc;
}

int kn_csv_write(const char *path, const kn_dataset *ds, kn_error *err)
{
    kn_out o;
    int rc = kn_out_open(&o, path, 0, err);
    if (rc)
        return rc;
    for (size_t i = 0; rc == KN_OK && i < ds->n; i++) {
        for (size_t j = 0; j < ds->d; j++)
            fprintf(o.af.fp, "%.9g,", (double)ds->x[i * ds->d + j]);
        fprintf(o.af.fp, "%d\n", (int)ds->y[i]);
        if (ferror(o.af.fp))
            rc = kn_fail_path(err, KN_EIO, path, "write failed", errno ? errno : EIO);
    }
    if (rc) {
        kn_out_abort(&o);
        return rc;
    }
    return kn_out_commit(&o, err);
}
