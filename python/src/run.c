/* The class-incremental protocol and the named data sets from Python, through the experiment
 * layer (kenyon/experiment.h) that `kenyon run` uses: kenyon.run() gives it numpy arrays as an
 * in-memory split and returns the exact accuracy matrices (summary.json, written by the layer
 * to the directory the caller names, holds the rest); kenyon.datasets.load() returns the arrays
 * the layer would train and test on for a named data set, handed over without a copy. */
#include "ext.h"

#include <stdlib.h>
#include <string.h>

#include "kenyon/experiment.h"

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
    snprintf(ds->source, sizeof ds->source, "numpy arrays given to kenyon.run");
}

static PyObject *matrix(const double *v, int T)
{
    npy_intp dims[2] = {T, T};
    PyObject *a = PyArray_SimpleNew(2, dims, NPY_FLOAT64);
    if (a)
        memcpy(PyArray_DATA((PyArrayObject *)a), v, (size_t)T * (size_t)T * sizeof *v);
    return a;
}

static PyObject *vector(const double *v, int T)
{
    npy_intp dims[1] = {T};
    PyObject *a = PyArray_SimpleNew(1, dims, NPY_FLOAT64);
    if (a)
        memcpy(PyArray_DATA((PyArrayObject *)a), v, (size_t)T * sizeof *v);
    return a;
}

/* An optional path argument (None or str/PathLike) as a new bytes object or NULL (*ok = 0 on
 * a conversion error). */
static PyObject *opt_path(PyObject *o, int *ok)
{
    PyObject *b = NULL;
    *ok = 1;
    if (o != Py_None && !PyUnicode_FSConverter(o, &b))
        *ok = 0;
    return b;
}

/* run(method, X_train, y_train, X_test, y_test, classes_per_task, seed, batch, shuffle, params,
 *     out_dir, save_model, load_model)
 * -> (R, R_task_incremental, curve, curve_task_incremental, final_accuracy, memory_loss,
 *     forgetting, bwt, final_accuracy_task_incremental, method) with every double exact. */
static PyObject *py_run(PyObject *self, PyObject *args)
{
    (void)self;
    const char *method;
    PyObject *xtro, *ytro, *xteo, *yteo, *params, *outo, *saveo, *loado;
    Py_ssize_t cpt, batch;
    unsigned long long seed;
    int shuffle;
    if (!PyArg_ParseTuple(args, "sOOOOnKnpOOOO:run", &method, &xtro, &ytro, &xteo, &yteo, &cpt,
                          &seed, &batch, &shuffle, &params, &outo, &saveo, &loado))
        return NULL;
    kn_experiment_spec s;
    kn_experiment_spec_default(&s);
    s.method = method;
    s.seed = seed;
    s.classes_per_task = cpt > INT32_MAX ? INT32_MAX : cpt < 0 ? 0 : (int)cpt;
    s.batch = batch < 0 ? 0 : (size_t)batch;
    s.shuffle = shuffle;
    const kn_method *m = kn_method_find(method);
    PyObject *hold = NULL, *result = NULL, *out = NULL, *save = NULL, *load = NULL;
    PyArrayObject *xtr = NULL, *ytr = NULL, *xte = NULL, *yte = NULL;
    kn_kv ov[MAX_PARAMS];
    char names[MAX_PARAMS][64];
    Py_ssize_t n_ov = 0;
    kn_error err;
    kn_error_clear(&err);
    int ok1, ok2, ok3;
    out = opt_path(outo, &ok1);
    save = opt_path(saveo, &ok2);
    load = opt_path(loado, &ok3);
    if (!ok1 || !ok2 || !ok3)
        goto done;
    if (m && (n_ov = kpy_overrides(m, params, ov, MAX_PARAMS, names, &hold)) < 0)
        goto done;
    s.params = ov;
    s.n_params = (size_t)n_ov;
    s.out_dir = out ? PyBytes_AS_STRING(out) : NULL;
    s.save_model = save ? PyBytes_AS_STRING(save) : NULL;
    s.load_model = load ? PyBytes_AS_STRING(load) : NULL;
    /* The spec's own check first (method, parameters, protocol), before touching the arrays. */
    s.source = KN_SOURCE_ARRAYS;
    kn_split sp;
    memset(&sp, 0, sizeof sp);
    s.arrays = &sp;
    s.arrays_label = "numpy arrays given to kenyon.run";
    if (kn_experiment_check(&s, &err)) {
        kpy_raise(&err);
        goto done;
    }
    if (!(xtr = kpy_samples(xtro, "X_train", 0)) ||
        !(ytr = kpy_labels(ytro, "y_train", PyArray_DIM(xtr, 0))) ||
        !(xte = kpy_samples(xteo, "X_test", (size_t)PyArray_DIM(xtr, 1))) ||
        !(yte = kpy_labels(yteo, "y_test", PyArray_DIM(xte, 0))))
        goto done;
    if (PyArray_DIM(xtr, 0) == 0 || PyArray_DIM(xtr, 1) == 0) {
        PyErr_SetString(PyExc_ValueError, "X_train has no samples or no features");
        goto done;
    }
    borrow(&sp.train, xtr, ytr);
    borrow(&sp.test, xte, yte);
    kn_experiment_result res;
    memset(&res, 0, sizeof res);
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = kn_experiment_run(&s, NULL, &res, &err);
    Py_END_ALLOW_THREADS
    if (rc) {
        kpy_raise(&err);
        goto done;
    }
    const kn_run_result *r = &res.run;
    PyObject *R = matrix(r->acc, r->n_tasks), *Rt = matrix(r->acc_ti, r->n_tasks);
    PyObject *c = vector(r->curve, r->n_tasks), *ct = vector(r->curve_ti, r->n_tasks);
    if (R && Rt && c && ct)
        result = Py_BuildValue("(NNNNdddddsnnn)", R, Rt, c, ct, r->final_accuracy,
                               r->memory_loss, r->forgetting, r->bwt, r->final_accuracy_ti,
                               res.method, (Py_ssize_t)res.n_train, (Py_ssize_t)res.n_test,
                               (Py_ssize_t)res.n_classes);
    if (!result) {
        Py_XDECREF(R);
        Py_XDECREF(Rt);
        Py_XDECREF(c);
        Py_XDECREF(ct);
    }
    kn_experiment_result_free(&res);
done:
    Py_XDECREF(hold);
    Py_XDECREF(out);
    Py_XDECREF(save);
    Py_XDECREF(load);
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

/* load_dataset(name, data_dir or None, balance, balance_seed, features)
 * -> ((X_train, y_train), (X_test, y_test), n_classes, source). */
static PyObject *py_load_dataset(PyObject *self, PyObject *args)
{
    (void)self;
    const char *name, *features;
    PyObject *dir_o;
    int balance;
    unsigned long long bseed;
    if (!PyArg_ParseTuple(args, "sOpKs:load_dataset", &name, &dir_o, &balance, &bseed, &features))
        return NULL;
    int ok;
    PyObject *dir = opt_path(dir_o, &ok);
    if (!ok)
        return NULL;
    kn_experiment_spec s;
    kn_experiment_spec_default(&s);
    s.source = KN_SOURCE_NAMED;
    s.dataset = name;
    s.data_dir = dir ? PyBytes_AS_STRING(dir) : NULL;
    s.balance = balance;
    s.balance_seed = bseed;
    s.features = features;
    kn_split sp;
    memset(&sp, 0, sizeof sp);
    kn_error err;
    int rc;
    char label[600] = "";
    Py_BEGIN_ALLOW_THREADS
    rc = kn_experiment_check(&s, &err) ? err.code
                                       : kn_experiment_load_data(&s, NULL, &sp, label,
                                                                 sizeof label, &err);
    Py_END_ALLOW_THREADS
    Py_XDECREF(dir);
    if (rc)
        return kpy_raise(&err);
    int nc = kn_experiment_n_classes(&sp);
    PyObject *src = PyUnicode_FromFormat("%s; features: %s", sp.train.source, label);
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
     "params, out_dir, save_model, load_model) -> (R, R_ti, curve, curve_ti, final, memory_loss, "
     "forgetting, bwt, final_ti, method, n_train, n_test, n_classes)"},
    {"load_dataset", py_load_dataset, METH_VARARGS,
     "load_dataset(name, data_dir, balance, balance_seed, features) -> ((Xtr, ytr), (Xte, yte), "
     "n_classes, source)"},
    {NULL, NULL, 0, NULL},
};
