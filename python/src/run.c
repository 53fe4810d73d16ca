/* The class-incremental protocol and the named data sets from Python: kenyon.run() gives numpy
 * arrays to the same protocol runner `kenyon run` uses (kenyon/protocol.h) and returns the
 * summary.json text with the accuracy matrices; kenyon.datasets.load() returns the arrays the
 * CLI would train and test on (kenyon/datasets.h), handed over without a copy. */
#include "ext.h"

#include <stdlib.h>
#include <string.h>

#include "kenyon/datasets.h"
#include "kenyon/protocol.h"
#include "kenyon/tasks.h"

#define MAX_PARAMS 64

/* A kn_dataset over numpy memory (borrowed: never passed to kn_dataset_free). */
static void borrow(kn_dataset *ds, PyArrayObject *x, PyArrayObject *y)
{
    memset(ds, 0, sizeof *ds);
    ds->n = (size_t)PyArray_DIM(x, 0);
    ds->d = (size_t)PyArray_DIM(x, 1);
    ds->x = PyArray_DATA(x);
    ds->y = PyArray_DATA(y);
    int mx = -1;
    for (size_t i = 0; i < ds->n; i++)
        if (ds->y[i] > mx)
            mx = ds->y[i];
    ds->n_classes = mx + 1;
    snprintf(ds->source, sizeof ds->source, "arrays given to kenyon.run");
}

static PyObject *matrix(const double *v, int T)
{
    npy_intp dims[2] = {T, T};
    PyObject *a = PyArray_SimpleNew(2, dims, NPY_FLOAT64);
    if (a)
        memcpy(PyArray_DATA((PyArrayObject *)a), v, (size_t)T * (size_t)T * sizeof *v);
    return a;
}

/* run(method, X_train, y_train, X_test, y_test, classes_per_task, seed, batch, shuffle, params)
 * -> (summary_json, R, R_task_incremental). */
static PyObject *py_run(PyObject *self, PyObject *args)
{
    (void)self;
    const char *method;
    PyObject *xtro, *ytro, *xteo, *yteo, *params;
    Py_ssize_t cpt, batch;
    unsigned long long seed;
    int shuffle;
    if (!PyArg_ParseTuple(args, "sOOOOnKnpO:run", &method, &xtro, &ytro, &xteo, &yteo, &cpt,
                          &seed, &batch, &shuffle, &params))
        return NULL;
    const kn_method *m = kn_method_find(method);
    if (!m) {
        kn_error err;
        kn_learner *tmp = NULL;
        kn_learner_info info = {.d = 1, .n_classes = 1, .seed = 1};
        kn_learner_create(method, &info, NULL, 0, &tmp, &err);
        kn_learner_free(tmp);
        return kpy_raise(&err);
    }
    if (cpt < 1 || cpt > INT32_MAX || batch < 1) {
        PyErr_Format(PyExc_ValueError, "classes_per_task (%zd) and batch (%zd) must be at least 1",
                     cpt, batch);
        return NULL;
    }
    PyObject *hold = NULL, *result = NULL;
    PyArrayObject *xtr = NULL, *ytr = NULL, *xte = NULL, *yte = NULL;
    kn_kv ov[MAX_PARAMS];
    char names[MAX_PARAMS][64];
    Py_ssize_t n_ov = kpy_overrides(m, params, ov, MAX_PARAMS, names, &hold);
    if (n_ov < 0 || !(xtr = kpy_samples(xtro, "X_train", 0)) ||
        !(ytr = kpy_labels(ytro, "y_train", PyArray_DIM(xtr, 0))) ||
        !(xte = kpy_samples(xteo, "X_test", (size_t)PyArray_DIM(xtr, 1))) ||
        !(yte = kpy_labels(yteo, "y_test", PyArray_DIM(xte, 0))))
        goto done;
    if (PyArray_DIM(xtr, 0) == 0 || PyArray_DIM(xtr, 1) == 0) {
        PyErr_SetString(PyExc_ValueError, "X_train has no samples or no features");
        goto done;
    }
    kn_split sp;
    borrow(&sp.train, xtr, ytr);
    borrow(&sp.test, xte, yte);
    kn_task_stream ts;
    memset(&ts, 0, sizeof ts);
    kn_run_result res;
    memset(&res, 0, sizeof res);
    kn_learner *l = NULL;
    kn_error err;
    kn_error_clear(&err);
    char *json = NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = kn_task_stream_build(&sp, (int)cpt, NULL, &ts, &err);
    int n_classes = sp.train.n_classes > sp.test.n_classes ? sp.train.n_classes : sp.test.n_classes;
    kn_learner_info info = {.d = sp.train.d, .n_classes = n_classes, .seed = seed};
    if (!rc)
        rc = kn_learner_create(m->name, &info, ov, (size_t)n_ov, &l, &err);
    kn_protocol_options po;
    kn_protocol_options_default(&po);
    po.batch = (size_t)batch;
    po.shuffle = shuffle;
    po.seed = seed;
    if (!rc)
        rc = kn_protocol_run(l, &sp, &ts, &po, &res, &err);
    if (!rc) {
        kn_run_info ri = {.method = m->name, .dataset = "user", .data_source = sp.train.source,
                          .seed = seed, .learner = l, .stream = &ts, .batch = (size_t)batch,
                          .shuffle = shuffle, .load_seconds = 0};
        json = kn_results_summary_json(&ri, &res);
        if (!json)
            rc = kn_fail(&err, KN_ENOMEM, "run: out of memory building the summary");
    }
    Py_END_ALLOW_THREADS
    if (rc) {
        kpy_raise(&err);
    } else {
        PyObject *r = matrix(res.acc, res.n_tasks), *rt = matrix(res.acc_ti, res.n_tasks);
        result = r && rt ? Py_BuildValue("(sNN)", json, r, rt) : NULL;
        if (!result) {
            Py_XDECREF(r);
            Py_XDECREF(rt);
        }
    }
    free(json);
    kn_run_result_free(&res);
    kn_learner_free(l);
    kn_task_stream_free(&ts);
done:
    Py_XDECREF(hold);
    Py_XDECREF(xtr);
    Py_XDECREF(ytr);
    Py_XDECREF(xte);
    Py_XDECREF(yte);
    return result;
}

/* Hands a kn_dataset's arrays to numpy (no copy) and clears them from ds. */
static PyObject *take(kn_dataset *ds)
{
    npy_intp xd[2] = {(npy_intp)ds->n, (npy_intp)ds->d}, yd[1] = {(npy_intp)ds->n};
    PyObject *x = kpy_wrap_owned(ds->x, NPY_FLOAT32, 2, xd);
    ds->x = NULL;
    PyObject *y = kpy_wrap_owned(ds->y, NPY_INT32, 1, yd);
    ds->y = NULL;
    if (!x || !y) {
        Py_XDECREF(x);
        Py_XDECREF(y);
        return NULL;
    }
    return Py_BuildValue("(NN)", x, y);
}

/* load_dataset(name, data_dir or None, balance, balance_seed)
 * -> ((X_train, y_train), (X_test, y_test), n_classes, source). */
static PyObject *py_load_dataset(PyObject *self, PyObject *args)
{
    (void)self;
    const char *name;
    PyObject *dir_o;
    int balance;
    unsigned long long bseed;
    if (!PyArg_ParseTuple(args, "sOpK:load_dataset", &name, &dir_o, &balance, &bseed))
        return NULL;
    PyObject *dir = NULL;
    if (dir_o != Py_None && !PyUnicode_FSConverter(dir_o, &dir))
        return NULL;
    kn_data_options o;
    kn_data_options_default(&o);
    o.data_dir = dir ? PyBytes_AS_STRING(dir) : NULL;
    o.balance = balance;
    o.seed = bseed;
    kn_split sp;
    memset(&sp, 0, sizeof sp);
    kn_error err;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = kn_load_dataset(name, &o, &sp, &err);
    Py_END_ALLOW_THREADS
    Py_XDECREF(dir);
    if (rc)
        return kpy_raise(&err);
    int nc = sp.train.n_classes > sp.test.n_classes ? sp.train.n_classes : sp.test.n_classes;
    PyObject *src = PyUnicode_DecodeUTF8(sp.train.source, (Py_ssize_t)strlen(sp.train.source),
                                         "replace");
    PyObject *tr = take(&sp.train), *te = take(&sp.test);
    kn_split_free(&sp);
    if (!tr || !te || !src) {
        Py_XDECREF(tr);
        Py_XDECREF(te);
        Py_XDECREF(src);
        return NULL;
    }
    return Py_BuildValue("(NNiN)", tr, te, nc, src);
}

PyMethodDef kpy_run_methods[] = {
    {"run", py_run, METH_VARARGS,
     "run(method, X_train, y_train, X_test, y_test, classes_per_task, seed, batch, shuffle, "
     "params) -> (summary_json, R, R_task_incremental)"},
    {"load_dataset", py_load_dataset, METH_VARARGS,
     "load_dataset(name, data_dir, balance, balance_seed) -> ((Xtr, ytr), (Xte, yte), "
     "n_classes, source)"},
    {NULL, NULL, 0, NULL},
};
