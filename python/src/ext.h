/* Shared declarations of the kenyon._kenyon extension: error translation (kn_error -> Python
 * exception carrying the C message), argument checks that turn Python objects into the arrays
 * the C library takes (float32 C-contiguous samples without a copy when they already are, int32
 * labels), and the pieces each file registers in the module. */
#ifndef KENYON_PY_EXT_H
#define KENYON_PY_EXT_H

#include <Python.h>

#define PY_ARRAY_UNIQUE_SYMBOL kenyon_ARRAY_API
#ifndef KPY_MODULE_FILE
#define NO_IMPORT_ARRAY
#endif
#include <numpy/arrayobject.h>

#include <stdint.h>

#include "kenyon/error.h"
#include "kenyon/learner.h"

/* Exception types of the module (set up in module.c). */
extern PyObject *kpy_FormatError; /* a malformed file: subclass of OSError and ValueError */
extern PyObject *kpy_StateError;  /* a call out of order (e.g. partial_fit before begin_task) */

/* Raises the exception that fits err->code (ValueError, OSError, FormatError, MemoryError,
 * StateError) with err->msg; returns NULL for `return kpy_raise(&err);`. */
PyObject *kpy_raise(const kn_error *err);

/* Samples: obj as a 2-d float32 C-contiguous array (a new reference; the same buffer when obj
 * already is one, else one converted copy). Raises ValueError naming `what` for a non-numeric
 * dtype, a shape that is not 2-d, a width other than want_d (0: any) or non-finite values. */
PyArrayObject *kpy_samples(PyObject *obj, const char *what, size_t want_d);

/* Labels: obj as a 1-d int32 C-contiguous array of n entries (n < 0: any length), every entry in
 * [0, INT32_MAX]. Raises ValueError for a non-integer dtype, a wrong shape or length, or a
 * negative label. */
PyArrayObject *kpy_labels(PyObject *obj, const char *what, npy_intp n);

/* A float32 array (n x d) wrapping memory malloc'd by the C library; the array frees it. */
PyObject *kpy_wrap_owned(void *data, int typenum, int nd, npy_intp *dims);

/* Converts a Python keyword value to the text the parameter row p takes (int -> INT, int or
 * float -> DOUBLE, bool -> BOOL, str -> CHOICE); raises TypeError for a value of the wrong type.
 * Ranges are left to the C check, whose message says what is accepted. Returns a new bytes
 * object holding the text, or NULL. */
PyObject *kpy_param_text(const char *method, const char *name, const kn_param_spec *p,
                         PyObject *v);

/* Builds kn_kv overrides from a dict of keyword parameters (python names use '_' for '-').
 * keys/values point into *hold (a new list keeping the texts alive). The values are checked
 * against the method's table, and a message names the parameter as Python spells it (m=...,
 * k_fraction=...; an unknown keyword lists the method's keywords). Returns the count or -1. */
Py_ssize_t kpy_overrides(const kn_method *m, PyObject *params, kn_kv *ov, Py_ssize_t cap,
                         char names[][64], PyObject **hold);

/* Registration of the parts. */
int kpy_learner_register(PyObject *module);
extern PyMethodDef kpy_encoder_methods[];
extern PyMethodDef kpy_run_methods[];

#define KPY_FN(f) ((PyCFunction)(void (*)(void))(f))

#endif
