/* kenyon._kenyon: the module object, the exceptions, kenyon.methods() and the argument
 * conversions every other file of the extension uses (see ext.h). */
#define KPY_MODULE_FILE
#include "ext.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

PyObject *kpy_FormatError;
PyObject *kpy_StateError;

PyObject *kpy_raise(const kn_error *err)
{
    const char *msg = err && err->msg[0] ? err->msg : "kenyon: unknown error";
    PyObject *type = PyExc_ValueError;
    switch (err ? err->code : KN_EINVAL) {
    case KN_EIO: type = PyExc_OSError; break;
    case KN_EFORMAT: type = kpy_FormatError; break;
    case KN_ENOMEM: type = PyExc_MemoryError; break;
    case KN_ESTATE: type = kpy_StateError; break;
    default: type = PyExc_ValueError; break;
    }
    PyErr_SetString(type, msg);
    return NULL;
}

/* 1 when no value is NaN or infinite: an exponent of all ones marks both. Written as an integer
 * OR-reduction so the compiler vectorises it (a float test with an early exit it would not);
 * partial_fit's overhead over the C call is mostly this pass. */
static int all_finite(const float *v, size_t n)
{
    const uint32_t *b = (const uint32_t *)(const void *)v;
    uint32_t any = 0;
    for (size_t i = 0; i < n; i++)
        any |= (uint32_t)((b[i] & 0x7f800000u) == 0x7f800000u);
    return !any;
}

static int numeric_kind(char kind) { return kind == 'f' || kind == 'i' || kind == 'u'; }

PyArrayObject *kpy_samples(PyObject *obj, const char *what, size_t want_d)
{
    PyArrayObject *a = (PyArrayObject *)PyArray_FROM_O(obj);
    if (!a)
        return NULL;
    char kind = PyArray_DESCR(a)->kind;
    if (!numeric_kind(kind)) {
        PyErr_Format(PyExc_ValueError, "%s: dtype %R is not a real number type (give float32, "
                     "or another integer/float type to convert once)", what, PyArray_DESCR(a));
        Py_DECREF(a);
        return NULL;
    }
    if (PyArray_NDIM(a) != 2) {
        PyErr_Format(PyExc_ValueError, "%s must be 2-d (samples x features), got %d-d", what,
                     PyArray_NDIM(a));
        Py_DECREF(a);
        return NULL;
    }
    if (want_d && (size_t)PyArray_DIM(a, 1) != want_d) {
        PyErr_Format(PyExc_ValueError, "%s has %zd features per sample, expected %zu", what,
                     (Py_ssize_t)PyArray_DIM(a, 1), want_d);
        Py_DECREF(a);
        return NULL;
    }
    PyArrayObject *f = (PyArrayObject *)PyArray_FROM_OTF((PyObject *)a, NPY_FLOAT32,
                                                         NPY_ARRAY_IN_ARRAY | NPY_ARRAY_FORCECAST);
    Py_DECREF(a);
    if (!f)
        return NULL;
    const float *v = PyArray_DATA(f);
    size_t n = (size_t)PyArray_SIZE(f), d = (size_t)PyArray_DIM(f, 1), bad = n;
    Py_BEGIN_ALLOW_THREADS
    if (!all_finite(v, n))
        for (size_t i = 0; i < n; i++)
            if (!isfinite(v[i])) {
                bad = i;
                break;
            }
    Py_END_ALLOW_THREADS
    if (bad < n) {
        PyErr_Format(PyExc_ValueError, "%s[%zu, %zu] is %s: samples must be finite", what,
                     bad / d, bad % d, isnan(v[bad]) ? "NaN" : "infinite");
        Py_DECREF(f);
        return NULL;
    }
    return f;
}

PyArrayObject *kpy_labels(PyObject *obj, const char *what, npy_intp n)
{
    PyArrayObject *a = (PyArrayObject *)PyArray_FROM_O(obj);
    if (!a)
        return NULL;
    char kind = PyArray_DESCR(a)->kind;
    if (kind != 'i' && kind != 'u') {
        PyErr_Format(PyExc_ValueError, "%s: dtype %R is not an integer type (labels are class "
                     "indices 0, 1, ...)", what, PyArray_DESCR(a));
        Py_DECREF(a);
        return NULL;
    }
    if (PyArray_NDIM(a) != 1) {
        PyErr_Format(PyExc_ValueError, "%s must be 1-d, got %d-d", what, PyArray_NDIM(a));
        Py_DECREF(a);
        return NULL;
    }
    if (n >= 0 && PyArray_DIM(a, 0) != n) {
        PyErr_Format(PyExc_ValueError, "%s has %zd labels for %zd samples", what,
                     (Py_ssize_t)PyArray_DIM(a, 0), (Py_ssize_t)n);
        Py_DECREF(a);
        return NULL;
    }
    /* Through int64 so values beyond int32 are seen before the narrowing. */
    PyArrayObject *w = (PyArrayObject *)PyArray_FROM_OTF((PyObject *)a, NPY_INT64,
                                                         NPY_ARRAY_IN_ARRAY | NPY_ARRAY_FORCECAST);
    Py_DECREF(a);
    if (!w)
        return NULL;
    const int64_t *v = PyArray_DATA(w);
    npy_intp len = PyArray_DIM(w, 0);
    PyArrayObject *out = (PyArrayObject *)PyArray_SimpleNew(1, &len, NPY_INT32);
    if (!out) {
        Py_DECREF(w);
        return NULL;
    }
    int32_t *o = PyArray_DATA(out);
    for (npy_intp i = 0; i < len; i++) {
        if (v[i] < 0 || v[i] > INT32_MAX) {
            PyErr_Format(PyExc_ValueError, "%s[%zd] = %lld: labels must be in [0, %d]", what,
                         (Py_ssize_t)i, (long long)v[i], INT32_MAX);
            Py_DECREF(w);
            Py_DECREF(out);
            return NULL;
        }
        o[i] = (int32_t)v[i];
    }
    Py_DECREF(w);
    return out;
}

static void free_capsule(PyObject *cap) { free(PyCapsule_GetPointer(cap, NULL)); }

PyObject *kpy_wrap_owned(void *data, int typenum, int nd, npy_intp *dims)
{
    PyObject *cap = PyCapsule_New(data, NULL, free_capsule);
    if (!cap) {
        free(data);
        return NULL;
    }
    PyObject *a = PyArray_SimpleNewFromData(nd, dims, typenum, data);
    if (!a) {
        Py_DECREF(cap);
        return NULL;
    }
    if (PyArray_SetBaseObject((PyArrayObject *)a, cap) < 0) { /* steals cap */
        Py_DECREF(a);
        return NULL;
    }
    return a;
}

PyObject *kpy_param_text(const char *method, const char *name, const kn_param_spec *p,
                         PyObject *v)
{
    char buf[64];
    if (p->type == KN_PARAM_CHOICE) {
        if (!PyUnicode_Check(v)) {
            PyErr_Format(PyExc_TypeError, "method %s: %s must be a str (one of %s), not %s",
                         method, name, p->choices ? p->choices : "", Py_TYPE(v)->tp_name);
            return NULL;
        }
        return PyUnicode_AsUTF8String(v);
    }
    if (p->type == KN_PARAM_BOOL) {
        if (!PyBool_Check(v) && !PyArray_IsScalar(v, Bool)) {
            PyErr_Format(PyExc_TypeError, "method %s: %s must be a bool, not %s", method, name,
                         Py_TYPE(v)->tp_name);
            return NULL;
        }
        return PyBytes_FromString(PyObject_IsTrue(v) ? "1" : "0");
    }
    if (PyBool_Check(v) || PyArray_IsScalar(v, Bool) ||
        !(PyLong_Check(v) || PyFloat_Check(v) || PyArray_IsScalar(v, Integer) ||
          PyArray_IsScalar(v, Floating))) {
        PyErr_Format(PyExc_TypeError, "method %s: %s must be %s, not %s", method, name,
                     p->type == KN_PARAM_INT ? "an int" : "a number", Py_TYPE(v)->tp_name);
        return NULL;
    }
    if (p->type == KN_PARAM_INT) {
        if (PyFloat_Check(v) || PyArray_IsScalar(v, Floating)) {
            PyErr_Format(PyExc_TypeError, "method %s: %s must be an int, not %s", method, name,
                         Py_TYPE(v)->tp_name);
            return NULL;
        }
        PyObject *i = PyNumber_Index(v);
        if (!i)
            return NULL;
        /* The C check gives the accepted range; text of any size keeps its message exact. */
        PyObject *t = PyObject_Str(i);
        Py_DECREF(i);
        PyObject *b = t ? PyUnicode_AsUTF8String(t) : NULL;
        Py_XDECREF(t);
        return b;
    }
    double x = PyFloat_AsDouble(v);
    if (x == -1.0 && PyErr_Occurred())
        return NULL;
    snprintf(buf, sizeof buf, "%.17g", x);
    return PyBytes_FromString(buf);
}

Py_ssize_t kpy_overrides(const kn_method *m, PyObject *params, kn_kv *ov, Py_ssize_t cap,
                         char names[][64], PyObject **hold)
{
    *hold = PyList_New(0);
    if (!*hold)
        return -1;
    if (!params || params == Py_None)
        return 0;
    if (!PyDict_Check(params)) {
        PyErr_SetString(PyExc_TypeError, "params must be a dict");
        return -1;
    }
    Py_ssize_t pos = 0, n = 0;
    PyObject *key, *value;
    while (PyDict_Next(params, &pos, &key, &value)) {
        if (n == cap) {
            PyErr_Format(PyExc_ValueError, "method %s: too many parameters", m->name);
            return -1;
        }
        const char *k = PyUnicode_Check(key) ? PyUnicode_AsUTF8(key) : NULL;
        if (!k) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "parameter names must be str");
            return -1;
        }
        snprintf(names[n], 64, "%s", k);
        for (char *c = names[n]; *c; c++)
            if (*c == '_')
                *c = '-';
        const kn_param_spec *spec = NULL;
        for (const kn_param_spec *p = m->params; p && p->name; p++)
            if (strcmp(p->name, names[n]) == 0)
                spec = p;
        PyObject *text;
        if (spec) {
            text = kpy_param_text(m->name, k, spec, value);
        } else {
            /* Unknown: the C library names it and lists the method's parameters. */
            PyObject *s = PyObject_Str(value);
            text = s ? PyUnicode_AsUTF8String(s) : NULL;
            Py_XDECREF(s);
        }
        if (!text || PyList_Append(*hold, text) < 0) {
            Py_XDECREF(text);
            return -1;
        }
        Py_DECREF(text);
        ov[n].key = names[n];
        ov[n].value = PyBytes_AS_STRING(text);
        n++;
    }
    /* Checked here with the keyword spelling, so a message names m=..., not the CLI's --m (the
     * learner's own check, later, is the same check and passes). */
    kn_params resolved;
    kn_error err;
    char owner[96];
    snprintf(owner, sizeof owner, "method %s", m->name);
    if (kn_params_resolve_spelled(&resolved, m->params, owner, ov, (size_t)n,
                                  KN_PARAM_SPELL_KEYWORD, &err)) {
        kpy_raise(&err);
        return -1;
    }
    return n;
}

static const char *type_name(kn_param_type t)
{
    switch (t) {
    case KN_PARAM_INT: return "int";
    case KN_PARAM_DOUBLE: return "float";
    case KN_PARAM_BOOL: return "bool";
    default: return "str";
    }
}

/* [(name, summary, [(param, type, default text, help, accepted, choices), ...]), ...] in
 * registry order; `accepted` is the C library's description of the valid values. */
static PyObject *py_methods(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    PyObject *list = PyList_New(0);
    for (const kn_method *const *m = kn_method_list(); list && *m; m++) {
        PyObject *ps = PyList_New(0);
        for (const kn_param_spec *p = (*m)->params; ps && p && p->name; p++) {
            char pyname[64], accepted[256];
            snprintf(pyname, sizeof pyname, "%s", p->name);
            for (char *c = pyname; *c; c++)
                if (*c == '-')
                    *c = '_';
            kn_param_describe(p, accepted, sizeof accepted);
            PyObject *t = Py_BuildValue("(ssssss)", pyname, type_name(p->type),
                                        p->default_value ? p->default_value : "",
                                        p->help ? p->help : "", accepted,
                                        p->choices ? p->choices : "");
            if (!t || PyList_Append(ps, t) < 0)
                Py_CLEAR(ps);
            Py_XDECREF(t);
        }
        PyObject *row = ps ? Py_BuildValue("(ssN)", (*m)->name, (*m)->summary ? (*m)->summary : "",
                                           ps)
                           : NULL;
        if (!row || PyList_Append(list, row) < 0)
            Py_CLEAR(list);
        Py_XDECREF(row);
    }
    return list;
}

static PyMethodDef module_methods[] = {
    {"methods", py_methods, METH_NOARGS,
     "methods() -> [(name, summary, [(param, type, default, help), ...]), ...]"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "kenyon._kenyon",
    "The C half of the kenyon package: learners, the KC encoder, the protocol.", -1,
    module_methods, NULL, NULL, NULL, NULL,
};

static int add_functions(PyObject *mod, PyMethodDef *defs)
{
    for (PyMethodDef *d = defs; d->ml_name; d++) {
        PyObject *f = PyCFunction_NewEx(d, NULL, PyModule_GetNameObject(mod));
        if (!f || PyModule_AddObject(mod, d->ml_name, f) < 0) {
            Py_XDECREF(f);
            return -1;
        }
    }
    return 0;
}

PyMODINIT_FUNC PyInit__kenyon(void)
{
    import_array();
    PyObject *mod = PyModule_Create(&module_def);
    if (!mod)
        return NULL;
    PyObject *bases = PyTuple_Pack(2, PyExc_OSError, PyExc_ValueError);
    kpy_FormatError = bases ? PyErr_NewExceptionWithDoc(
                                  "kenyon.FormatError",
                                  "A file's contents are malformed (an OSError and a ValueError).",
                                  bases, NULL)
                            : NULL;
    Py_XDECREF(bases);
    kpy_StateError = PyErr_NewExceptionWithDoc(
        "kenyon.StateError", "A call out of order, e.g. partial_fit before begin_task.",
        PyExc_RuntimeError, NULL);
    if (!kpy_FormatError || !kpy_StateError ||
        PyModule_AddObjectRef(mod, "FormatError", kpy_FormatError) < 0 ||
        PyModule_AddObjectRef(mod, "StateError", kpy_StateError) < 0 ||
        PyModule_AddStringConstant(mod, "__version__", KENYON_VERSION) < 0 ||
        kpy_learner_register(mod) < 0 || add_functions(mod, kpy_encoder_methods) < 0 ||
        add_functions(mod, kpy_run_methods) < 0) {
        Py_DECREF(mod);
        return NULL;
    }
    return mod;
}
