/* kenyon._kenyon.Learner: one continual learner of the registry (kenyon/learner.h) driven from
 * Python. Samples go to the C library without a copy when they are float32 and C-contiguous;
 * every call into the library releases the GIL. A learner is used by one thread at a time: a
 * second thread calling in while the first computes gets a StateError, not a data race. */
#include "ext.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_PARAMS 64

typedef struct {
    PyObject_HEAD
    kn_learner *l;
    int busy;
} Learner;

static PyTypeObject LearnerType;

/* Claims the learner for one call; raises when it is unset or in use. */
static int claim(Learner *self)
{
    if (!self->l) {
        PyErr_SetString(kpy_StateError, "the Learner was not initialised");
        return -1;
    }
    if (self->busy) {
        PyErr_SetString(kpy_StateError, "the Learner is in use by another thread");
        return -1;
    }
    self->busy = 1;
    return 0;
}

static void release(Learner *self) { self->busy = 0; }

static void learner_dealloc(Learner *self)
{
    kn_learner_free(self->l);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int learner_init(Learner *self, PyObject *args, PyObject *kw)
{
    const char *method;
    Py_ssize_t d, n_classes;
    unsigned long long seed = 1;
    if (self->l) {
        PyErr_SetString(kpy_StateError, "a Learner is initialised once");
        return -1;
    }
    /* Everything after the fixed arguments is a method parameter. */
    static char *fixed[] = {"method", "n_features", "n_classes", "seed", NULL};
    PyObject *params = PyDict_New();
    PyObject *fixed_kw = PyDict_New();
    if (!params || !fixed_kw)
        goto fail;
    if (kw) {
        Py_ssize_t pos = 0;
        PyObject *k, *v;
        while (PyDict_Next(kw, &pos, &k, &v)) {
            int is_fixed = 0;
            for (char **f = fixed; *f; f++)
                if (PyUnicode_Check(k) && PyUnicode_CompareWithASCIIString(k, *f) == 0)
                    is_fixed = 1;
            if (PyDict_SetItem(is_fixed ? fixed_kw : params, k, v) < 0)
                goto fail;
        }
    }
    if (!PyArg_ParseTupleAndKeywords(args, fixed_kw, "snn|K:Learner", fixed, &method, &d,
                                     &n_classes, &seed))
        goto fail;
    const kn_method *m = kn_method_find(method);
    if (!m || d < 1 || n_classes < 1 || n_classes > INT32_MAX) {
        kn_error err;
        kn_learner_info info = {.d = d < 1 ? 0 : (size_t)d,
                                .n_classes = n_classes < 1 || n_classes > INT32_MAX ? 0 : (int)n_classes,
                                .seed = seed};
        kn_learner *tmp = NULL;
        kn_learner_create(method, &info, NULL, 0, &tmp, &err);
        kn_learner_free(tmp);
        kpy_raise(&err);
        goto fail;
    }
    kn_kv ov[MAX_PARAMS];
    char names[MAX_PARAMS][64];
    PyObject *hold = NULL;
    Py_ssize_t n_ov = kpy_overrides(m, params, ov, MAX_PARAMS, names, &hold);
    if (n_ov < 0) {
        Py_XDECREF(hold);
        goto fail;
    }
    kn_learner_info info = {.d = (size_t)d, .n_classes = (int)n_classes, .seed = seed};
    kn_error err;
    kn_error_clear(&err);
    kn_learner *l = NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = kn_learner_create(m->name, &info, ov, (size_t)n_ov, &l, &err);
    Py_END_ALLOW_THREADS
    Py_DECREF(hold);
    if (rc) {
        kpy_raise(&err);
        goto fail;
    }
    self->l = l;
    Py_DECREF(params);
    Py_DECREF(fixed_kw);
    return 0;
fail:
    Py_XDECREF(params);
    Py_XDECREF(fixed_kw);
    return -1;
}

static PyObject *learner_begin_task(Learner *self, PyObject *classes)
{
    PyArrayObject *c = kpy_labels(classes, "classes", -1);
    if (!c || claim(self) < 0) {
        Py_XDECREF(c);
        return NULL;
    }
    kn_error err;
    int rc, n = (int)PyArray_DIM(c, 0);
    kn_learner *l = self->l;
    Py_BEGIN_ALLOW_THREADS
    rc = kn_learner_begin_task(l, l->task + 1, PyArray_DATA(c), n, &err);
    Py_END_ALLOW_THREADS
    release(self);
    Py_DECREF(c);
    if (rc)
        return kpy_raise(&err);
    Py_RETURN_NONE;
}

static PyObject *learner_partial_fit(Learner *self, PyObject *args)
{
    PyObject *xo, *yo;
    if (!PyArg_ParseTuple(args, "OO:partial_fit", &xo, &yo) || claim(self) < 0)
        return NULL;
    PyArrayObject *x = kpy_samples(xo, "X", self->l->info.d);
    PyArrayObject *y = x ? kpy_labels(yo, "y", PyArray_DIM(x, 0)) : NULL;
    if (!y) {
        release(self);
        Py_XDECREF(x);
        return NULL;
    }
    kn_error err;
    int rc;
    kn_learner *l = self->l;
    Py_BEGIN_ALLOW_THREADS
    rc = kn_learner_observe(l, PyArray_DATA(x), PyArray_DATA(y), (size_t)PyArray_DIM(x, 0), &err);
    Py_END_ALLOW_THREADS
    release(self);
    Py_DECREF(x);
    Py_DECREF(y);
    if (rc)
        return kpy_raise(&err);
    Py_RETURN_NONE;
}

static PyObject *learner_end_task(Learner *self, PyObject *noargs)
{
    (void)noargs;
    if (claim(self) < 0)
        return NULL;
    kn_error err;
    int rc;
    kn_learner *l = self->l;
    Py_BEGIN_ALLOW_THREADS
    rc = kn_learner_end_task(l, &err);
    Py_END_ALLOW_THREADS
    release(self);
    if (rc)
        return kpy_raise(&err);
    Py_RETURN_NONE;
}

static PyObject *learner_decision_function(Learner *self, PyObject *xo)
{
    if (claim(self) < 0)
        return NULL;
    PyArrayObject *x = kpy_samples(xo, "X", self->l->info.d);
    if (!x) {
        release(self);
        return NULL;
    }
    npy_intp dims[2] = {PyArray_DIM(x, 0), self->l->info.n_classes};
    PyArrayObject *s = (PyArrayObject *)PyArray_SimpleNew(2, dims, NPY_FLOAT32);
    if (!s) {
        release(self);
        Py_DECREF(x);
        return NULL;
    }
    kn_error err;
    int rc;
    kn_learner *l = self->l;
    Py_BEGIN_ALLOW_THREADS
    rc = kn_learner_predict_scores(l, PyArray_DATA(x), (size_t)dims[0], PyArray_DATA(s), &err);
    Py_END_ALLOW_THREADS
    release(self);
    Py_DECREF(x);
    if (rc) {
        Py_DECREF(s);
        return kpy_raise(&err);
    }
    return (PyObject *)s;
}

static PyObject *learner_predict(Learner *self, PyObject *args, PyObject *kw)
{
    static char *kws[] = {"X", "allowed", NULL};
    PyObject *xo, *ao = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O:predict", kws, &xo, &ao) || claim(self) < 0)
        return NULL;
    kn_learner *l = self->l;
    int C = l->info.n_classes;
    uint8_t *allowed = calloc((size_t)C, 1);
    PyArrayObject *x = NULL, *a = NULL, *out = NULL;
    int32_t *labels = NULL;
    if (!allowed) {
        PyErr_NoMemory();
        goto done;
    }
    if (ao == Py_None) {
        /* The classes of every task begun so far; all classes before the first task. */
        int any = 0;
        for (int c = 0; c < C; c++)
            any |= l->seen[c];
        for (int c = 0; c < C; c++)
            allowed[c] = any ? l->seen[c] : 1;
    } else {
        if (!(a = kpy_labels(ao, "allowed", -1)))
            goto done;
        const int32_t *av = PyArray_DATA(a);
        for (npy_intp i = 0; i < PyArray_DIM(a, 0); i++) {
            if (av[i] >= C) {
                PyErr_Format(PyExc_ValueError, "allowed[%zd] = %d is not a class (the learner "
                             "has %d)", (Py_ssize_t)i, (int)av[i], C);
                goto done;
            }
            allowed[av[i]] = 1;
        }
    }
    if (!(x = kpy_samples(xo, "X", l->info.d)))
        goto done;
    npy_intp n = PyArray_DIM(x, 0);
    if (!(out = (PyArrayObject *)PyArray_SimpleNew(1, &n, NPY_INT64)))
        goto done;
    if (!(labels = malloc((size_t)(n ? n : 1) * sizeof *labels))) {
        PyErr_NoMemory();
        Py_CLEAR(out);
        goto done;
    }
    kn_error err;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = kn_learner_predict_labels(l, PyArray_DATA(x), (size_t)n, allowed, labels, &err);
    Py_END_ALLOW_THREADS
    if (rc) {
        kpy_raise(&err);
        Py_CLEAR(out);
        goto done;
    }
    int64_t *o = PyArray_DATA(out);
    for (npy_intp i = 0; i < n; i++)
        o[i] = labels[i];
done:
    release(self);
    free(labels);
    free(allowed);
    Py_XDECREF(x);
    Py_XDECREF(a);
    return (PyObject *)out;
}

static PyObject *learner_save(Learner *self, PyObject *po)
{
    PyObject *path = NULL;
    if (!PyUnicode_FSConverter(po, &path))
        return NULL;
    if (claim(self) < 0) {
        Py_DECREF(path);
        return NULL;
    }
    kn_error err;
    int rc;
    const char *p = PyBytes_AS_STRING(path);
    kn_learner *l = self->l;
    Py_BEGIN_ALLOW_THREADS
    rc = kn_learner_save(l, p, &err);
    Py_END_ALLOW_THREADS
    release(self);
    Py_DECREF(path);
    if (rc)
        return kpy_raise(&err);
    Py_RETURN_NONE;
}

static PyObject *learner_load(PyObject *cls, PyObject *po)
{
    PyObject *path = NULL;
    if (!PyUnicode_FSConverter(po, &path))
        return NULL;
    kn_error err;
    int rc;
    kn_learner *l = NULL;
    const char *p = PyBytes_AS_STRING(path);
    Py_BEGIN_ALLOW_THREADS
    rc = kn_learner_load(p, &l, &err);
    Py_END_ALLOW_THREADS
    Py_DECREF(path);
    if (rc)
        return kpy_raise(&err);
    Learner *self = (Learner *)((PyTypeObject *)cls)->tp_alloc((PyTypeObject *)cls, 0);
    if (!self) {
        kn_learner_free(l);
        return NULL;
    }
    self->l = l;
    return (PyObject *)self;
}

/* Times kn_learner_observe(X, y) `reps` times from C (for the overhead benchmark: the same call
 * partial_fit makes, without Python around it). Returns the seconds of each call. */
static PyObject *learner_time_observe(Learner *self, PyObject *args)
{
    PyObject *xo, *yo;
    Py_ssize_t reps;
    if (!PyArg_ParseTuple(args, "OOn:_time_observe", &xo, &yo, &reps) || claim(self) < 0)
        return NULL;
    PyArrayObject *x = kpy_samples(xo, "X", self->l->info.d);
    PyArrayObject *y = x ? kpy_labels(yo, "y", PyArray_DIM(x, 0)) : NULL;
    npy_intp n = reps > 0 ? reps : 0;
    PyArrayObject *t = y ? (PyArrayObject *)PyArray_SimpleNew(1, &n, NPY_FLOAT64) : NULL;
    if (!t) {
        release(self);
        Py_XDECREF(x);
        Py_XDECREF(y);
        return NULL;
    }
    kn_error err;
    int rc = 0;
    double *tv = PyArray_DATA(t);
    kn_learner *l = self->l;
    size_t rows = (size_t)PyArray_DIM(x, 0);
    Py_BEGIN_ALLOW_THREADS
    for (npy_intp r = 0; r < n && !rc; r++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        rc = kn_learner_observe(l, PyArray_DATA(x), PyArray_DATA(y), rows, &err);
        clock_gettime(CLOCK_MONOTONIC, &b);
        tv[r] = (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
    }
    Py_END_ALLOW_THREADS
    release(self);
    Py_DECREF(x);
    Py_DECREF(y);
    if (rc) {
        Py_DECREF(t);
        return kpy_raise(&err);
    }
    return (PyObject *)t;
}

static PyObject *get_method(Learner *self, void *c)
{
    (void)c;
    return self->l ? PyUnicode_FromString(self->l->method->name) : (claim(self), NULL);
}

static PyObject *get_int_field(Learner *self, void *which)
{
    if (!self->l)
        return claim(self), NULL;
    const kn_learner *l = self->l;
    switch ((intptr_t)which) {
    case 0: return PyLong_FromSize_t(l->info.d);
    case 1: return PyLong_FromLong(l->info.n_classes);
    case 2: return PyLong_FromUnsignedLongLong(l->info.seed);
    case 3: return PyLong_FromLong(l->task);
    default: return PyBool_FromLong(l->in_task);
    }
}

/* The resolved parameters as text, in the method's order: {python_name: text}. */
static PyObject *get_param_texts(Learner *self, void *c)
{
    (void)c;
    if (!self->l)
        return claim(self), NULL;
    PyObject *d = PyDict_New();
    for (size_t i = 0; d && i < self->l->n_params; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s", self->l->params[i].key);
        for (char *p = name; *p; p++)
            if (*p == '-')
                *p = '_';
        PyObject *v = PyUnicode_FromString(self->l->params[i].value);
        if (!v || PyDict_SetItemString(d, name, v) < 0)
            Py_CLEAR(d);
        Py_XDECREF(v);
    }
    return d;
}

static PyObject *get_seen(Learner *self, void *c)
{
    (void)c;
    if (!self->l)
        return claim(self), NULL;
    PyObject *list = PyList_New(0);
    for (int k = 0; list && k < self->l->info.n_classes; k++)
        if (self->l->seen[k]) {
            PyObject *v = PyLong_FromLong(k);
            if (!v || PyList_Append(list, v) < 0)
                Py_CLEAR(list);
            Py_XDECREF(v);
        }
    return list;
}

static PyMethodDef learner_methods[] = {
    {"begin_task", (PyCFunction)learner_begin_task, METH_O,
     "begin_task(classes): starts the next task, whose labels are `classes`."},
    {"partial_fit", (PyCFunction)learner_partial_fit, METH_VARARGS,
     "partial_fit(X, y): learns from samples X (n x n_features) with labels y of the current task."},
    {"end_task", (PyCFunction)learner_end_task, METH_NOARGS,
     "end_task(): the current task's data are over (consolidation, Fisher, ...)."},
    {"decision_function", (PyCFunction)learner_decision_function, METH_O,
     "decision_function(X) -> float32 (n x n_classes) scores, larger = more likely."},
    {"predict", KPY_FN(learner_predict), METH_VARARGS | METH_KEYWORDS,
     "predict(X, allowed=None) -> int64 labels: argmax of the scores over `allowed` classes "
     "(default: the classes of every task begun so far, or all before the first task)."},
    {"save", (PyCFunction)learner_save, METH_O,
     "save(path): writes the learner as a safetensors file (atomically); not inside a task."},
    {"load", (PyCFunction)learner_load, METH_O | METH_CLASS,
     "Learner.load(path) -> Learner: restores a file written by save or `kenyon run --save`."},
    {"_time_observe", (PyCFunction)learner_time_observe, METH_VARARGS,
     "_time_observe(X, y, reps) -> seconds of each of `reps` C calls observe(X, y) (benchmark)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef learner_getset[] = {
    {"method", (getter)get_method, NULL, "the method's name", NULL},
    {"n_features", (getter)get_int_field, NULL, "input dimension", (void *)0},
    {"n_classes", (getter)get_int_field, NULL, "number of classes", (void *)1},
    {"seed", (getter)get_int_field, NULL, "the seed it was created with", (void *)2},
    {"task", (getter)get_int_field, NULL, "index of the current or last task (-1: none yet)", (void *)3},
    {"in_task", (getter)get_int_field, NULL, "True between begin_task and end_task", (void *)4},
    {"_param_texts", (getter)get_param_texts, NULL, "resolved parameters as text", NULL},
    {"seen_classes", (getter)get_seen, NULL, "classes of every task begun so far", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject LearnerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kenyon._kenyon.Learner",
    .tp_basicsize = sizeof(Learner),
    .tp_dealloc = (destructor)learner_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Learner(method, n_features, n_classes, seed=1, **params): a continual learner.",
    .tp_methods = learner_methods,
    .tp_getset = learner_getset,
    .tp_init = (initproc)learner_init,
    .tp_new = PyType_GenericNew,
};

int kpy_learner_register(PyObject *module)
{
    if (PyType_Ready(&LearnerType) < 0)
        return -1;
    return PyModule_AddObjectRef(module, "Learner", (PyObject *)&LearnerType);
}
