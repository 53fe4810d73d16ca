"""kenyon: brain-inspired continual learners (FlyModel and its baselines) from Python.

The C library does the work; this package hands it numpy arrays (float32 C-contiguous samples go
through without a copy, others are converted once) and raises its errors as Python exceptions
carrying the C message: ValueError for bad parameters or data, OSError for files (FormatError,
both an OSError and a ValueError, for a malformed file), MemoryError, and StateError for a call
out of order.

    kenyon.Learner(method, n_features, n_classes, seed=1, **params)   every registered method
    kenyon.methods()                                                   their typed parameters
    kenyon.run(method, X_train, y_train, X_test, y_test, ...)          the class-incremental protocol
    kenyon.datasets.load("mnist20")                                    the arrays the CLI uses
    kenyon.FlyClassifier, kenyon.FlyRidgeClassifier, kenyon.KCEncoder  scikit-learn estimators
"""
from ._kenyon import FormatError, StateError, __version__
from ._learner import Learner, Method, Param, methods
from ._run import run
from . import datasets
from ._estimators import FlyClassifier, FlyRidgeClassifier, KCEncoder

__all__ = [
    "Learner", "Method", "Param", "methods", "run", "datasets",
    "FlyClassifier", "FlyRidgeClassifier", "KCEncoder",
    "FormatError", "StateError", "__version__",
]
