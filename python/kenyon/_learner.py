"""kenyon.Learner and kenyon.methods(): the low-level API over the C learner interface.

A Learner is one continual learner of the registry (fly, v1-v3, fly-ridge, vanilla, offline, ewc,
gem, bir, ...): begin_task(classes), partial_fit(X, y), end_task(), decision_function(X),
predict(X, allowed=None), save(path), Learner.load(path). Its files are the same safetensors
files `kenyon run --save` writes and `kenyon run --load` reads. Learners pickle (through that
file format) when no task is in progress.
"""
import os
import tempfile
from typing import NamedTuple

from . import _kenyon

_TYPES = {"int": int, "float": float, "bool": bool, "str": str}


class Param(NamedTuple):
    """One hyperparameter of a method: its keyword name, Python type, default, help, what the
    C library accepts ("an integer in [1, 1048576]") and the words allowed: for a choice, its
    values; for a number that also takes words (fly-ridge's lambda: auto, gcv), those words."""
    name: str
    type: type
    default: object
    help: str
    accepted: str
    choices: tuple


class Method(NamedTuple):
    """A registered method: its name, one-line summary and parameters (in declaration order)."""
    name: str
    summary: str
    params: tuple


def _typed(type_name, text):
    if type_name == "bool":
        return text.strip().lower() in ("1", "true", "yes", "on")
    if type_name == "float":
        # A number parameter may also take words (fly-ridge's lambda: a number, auto or gcv).
        try:
            return float(text)
        except ValueError:
            return text
    return _TYPES[type_name](text)


def methods():
    """Every registered method as {name: Method}, in the registry's order."""
    out = {}
    for name, summary, params in _kenyon.methods():
        out[name] = Method(name, summary, tuple(
            Param(p, _TYPES[t], _typed(t, d), h, acc, tuple(c.split("|")) if c else ())
            for p, t, d, h, acc, c in params))
    return out


def _from_bytes(data):
    fd, path = tempfile.mkstemp(suffix=".safetensors")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return Learner.load(path)
    finally:
        os.unlink(path)


class Learner(_kenyon.Learner):
    """Learner(method, n_features, n_classes, seed=1, **params): a continual learner.

    `params` are the method's hyperparameters (kenyon.methods()[method].params), with '_' for
    the '-' of the CLI's names (k_fraction for --k-fraction): ints, floats, bools, and strs for
    choices. An unknown name raises ValueError listing the method's parameters; a value of the
    wrong type raises TypeError; a value out of range raises ValueError with the C library's
    message, which says what is accepted.

    Tasks are begun in order: begin_task(classes) starts task `task + 1`. partial_fit(X, y)
    takes X of shape (n, n_features) and integer labels of the current and earlier tasks.
    predict(X, allowed=None) restricts the argmax to `allowed` classes (default: the classes
    of every task begun so far).
    """

    @property
    def params(self):
        """The resolved hyperparameters {name: typed value}, defaults included."""
        spec = {p.name: p.type.__name__ for p in methods()[self.method].params}
        return {k: _typed(spec.get(k, "str"), v) for k, v in self._param_texts.items()}

    def __repr__(self):
        return (f"kenyon.Learner({self.method!r}, n_features={self.n_features}, "
                f"n_classes={self.n_classes}, seed={self.seed}, task={self.task})")

    def __reduce__(self):
        fd, path = tempfile.mkstemp(suffix=".safetensors")
        os.close(fd)
        try:
            self.save(path)
            with open(path, "rb") as f:
                data = f.read()
        finally:
            os.unlink(path)
        return (_from_bytes, (data,))
