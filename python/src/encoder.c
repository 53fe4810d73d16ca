/* The Kenyon-cell encoder from Python (kenyon.KCEncoder stands on these): drawing the fixed
 * random projection from a seed, and encoding samples into sparse codes returned as the three
 * arrays of a CSR matrix (indptr, indices, data), the same codes the fly learners train on. */
#include "ext.h"

#include <stdlib.h>
#include <string.h>

#include "kenyon/fly.h"

static int size_arg(Py_ssize_t v, const char *name, int *out)
{
    if (v < 0 || v > INT32_MAX) {
        PyErr_Format(PyExc_ValueError, "%s = %zd is out of range", name, v);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* kc_projection(n_features, m, c, k, seed) -> int32 (m, c) input indices of every cell. */
static PyObject *py_kc_projection(PyObject *self, PyObject *args)
{
    (void)self;
    Py_ssize_t d, m, c, k;
    unsigned long long seed;
    int mi, ci, ki;
    if (!PyArg_ParseTuple(args, "nnnnK:kc_projection", &d, &m, &c, &k, &seed) ||
        size_arg(m, "m", &mi) || size_arg(c, "c", &ci) || size_arg(k, "k", &ki))
        return NULL;
    if (d < 1) {
        PyErr_Format(PyExc_ValueError, "n_features = %zd must be positive", d);
        return NULL;
    }
    const char *bad = kn_kc_encoder_check((size_t)d, mi, ci, ki);
    if (bad) {
        PyErr_SetString(PyExc_ValueError, bad);
        return NULL;
    }
    kn_kc_encoder e;
    kn_error err;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = kn_kc_encoder_init(&e, (size_t)d, mi, ci, ki, seed, &err);
    Py_END_ALLOW_THREADS
    if (rc)
        return kpy_raise(&err);
    npy_intp dims[2] = {mi, ci};
    PyObject *out = PyArray_SimpleNew(2, dims, NPY_INT32);
    if (out)
        memcpy(PyArray_DATA((PyArrayObject *)out), e.inputs, (size_t)mi * (size_t)ci * sizeof(uint32_t));
    kn_kc_encoder_free(&e);
    return out;
}

/* kc_encode(inputs, n_features, k, X) -> (indptr int64, indices int32, data float32). */
static PyObject *py_kc_encode(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *io, *xo;
    Py_ssize_t d, k;
    int ki;
    if (!PyArg_ParseTuple(args, "OnnO:kc_encode", &io, &d, &k, &xo) || size_arg(k, "k", &ki))
        return NULL;
    if (d < 1) {
        PyErr_Format(PyExc_ValueError, "n_features = %zd must be positive", d);
        return NULL;
    }
    PyArrayObject *in = (PyArrayObject *)PyArray_FROM_O(io);
    if (!in)
        return NULL;
    if (PyArray_NDIM(in) != 2 || (PyArray_DESCR(in)->kind != 'i' && PyArray_DESCR(in)->kind != 'u')) {
        PyErr_SetString(PyExc_ValueError, "the projection must be a 2-d (cells x inputs) integer array");
        Py_DECREF(in);
        return NULL;
    }
    /* Through int64 so that no index wraps around into the valid range when narrowed. */
    PyArrayObject *wide = (PyArrayObject *)PyArray_FROM_OTF((PyObject *)in, NPY_INT64,
                                                            NPY_ARRAY_IN_ARRAY | NPY_ARRAY_FORCECAST);
    Py_DECREF(in);
    if (!wide)
        return NULL;
    npy_intp cnt = PyArray_SIZE(wide);
    in = (PyArrayObject *)PyArray_SimpleNew(2, PyArray_DIMS(wide), NPY_UINT32);
    if (!in) {
        Py_DECREF(wide);
        return NULL;
    }
    const int64_t *wv = PyArray_DATA(wide);
    uint32_t *iv = PyArray_DATA(in);
    for (npy_intp i = 0; i < cnt; i++) {
        if (wv[i] < 0 || wv[i] >= d) {
            PyErr_Format(PyExc_ValueError, "projection entry %zd = %lld is not an input index in "
                         "[0, %zd)", (Py_ssize_t)i, (long long)wv[i], d);
            Py_DECREF(wide);
            Py_DECREF(in);
            return NULL;
        }
        iv[i] = (uint32_t)wv[i];
    }
    Py_DECREF(wide);
    PyArrayObject *x = kpy_samples(xo, "X", (size_t)d);
    if (!x) {
        Py_DECREF(in);
        return NULL;
    }
    int m = (int)PyArray_DIM(in, 0), c = (int)PyArray_DIM(in, 1);
    size_t n = (size_t)PyArray_DIM(x, 0);
    kn_kc_encoder e;
    kn_kc_codes codes;
    memset(&codes, 0, sizeof codes);
    kn_error err;
    int rc;
    int64_t *indptr = NULL;
    int32_t *indices = NULL;
    float *data = NULL;
    size_t nnz = 0;
    Py_BEGIN_ALLOW_THREADS
    rc = kn_kc_encoder_init_inputs(&e, (size_t)d, m, c, ki, PyArray_DATA(in), &err);
    if (!rc) {
        rc = kn_kc_codes_alloc(&codes, n ? n : 1, ki, &err);
        if (!rc && n)
            rc = kn_kc_encode(&e, PyArray_DATA(x), n, &codes, &err);
        kn_kc_encoder_free(&e);
    }
    if (!rc) {
        for (size_t i = 0; i < n; i++)
            nnz += (size_t)codes.nnz[i];
        indptr = malloc((n + 1) * sizeof *indptr);
        indices = malloc((nnz ? nnz : 1) * sizeof *indices);
        data = malloc((nnz ? nnz : 1) * sizeof *data);
        if (!indptr || !indices || !data) {
            rc = kn_fail(&err, KN_ENOMEM, "kc_encode: out of memory for %zu codes", nnz);
        } else {
            size_t at = 0;
            indptr[0] = 0;
            for (size_t i = 0; i < n; i++) {
                size_t z = (size_t)codes.nnz[i];
                memcpy(indices + at, codes.cells + i * (size_t)ki, z * sizeof *indices);
                memcpy(data + at, codes.values + i * (size_t)ki, z * sizeof *data);
                at += z;
                indptr[i + 1] = (int64_t)at;
            }
        }
    }
    kn_kc_codes_free(&codes);
    Py_END_ALLOW_THREADS
    Py_DECREF(in);
    Py_DECREF(x);
    if (rc) {
        free(indptr);
        free(indices);
        free(data);
        return kpy_raise(&err);
    }
    npy_intp np1 = (npy_intp)n + 1, nz = (npy_intp)nnz;
    PyObject *a = kpy_wrap_owned(indptr, NPY_INT64, 1, &np1);
    PyObject *b = kpy_wrap_owned(indices, NPY_INT32, 1, &nz);
    PyObject *v = kpy_wrap_owned(data, NPY_FLOAT32, 1, &nz);
    if (!a || !b || !v) {
        Py_XDECREF(a);
        Py_XDECREF(b);
        Py_XDECREF(v);
        return NULL;
    }
    return Py_BuildValue("(NNN)", a, b, v);
}

PyMethodDef kpy_encoder_methods[] = {
    {"kc_projection", py_kc_projection, METH_VARARGS,
     "kc_projection(n_features, m, c, k, seed) -> int32 (m, c): each cell's input indices."},
    {"kc_encode", py_kc_encode, METH_VARARGS,
     "kc_encode(inputs, n_features, k, X) -> (indptr, indices, data) of the CSR codes of X."},
    {NULL, NULL, 0, NULL},
};
