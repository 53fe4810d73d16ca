"""The extension's promise about memory: float32 C-contiguous samples reach the C library
without a copy; other dtypes and layouts are converted once."""
import tracemalloc

import numpy as np

import kenyon


def peak_bytes_of(fn):
    """Peak traced allocation during fn() (numpy reports its array buffers to tracemalloc)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def test_float32_c_contiguous_is_not_copied():
    rng = np.random.default_rng(0)
    X = rng.random((4000, 500), dtype=np.float32)  # 8 MB
    y = rng.integers(0, 2, len(X))
    lrn = kenyon.Learner("fly", 500, 2, m=200)
    lrn.begin_task([0, 1])
    lrn.partial_fit(X[:10], y[:10])
    nbytes = X.nbytes
    no_copy = peak_bytes_of(lambda: lrn.partial_fit(X, y))
    assert no_copy < nbytes / 8, no_copy
    X64 = X.astype(np.float64)
    converted = peak_bytes_of(lambda: lrn.partial_fit(X64, y))
    assert converted >= nbytes  # one float32 copy of the float64 input
    Xf = np.asfortranarray(X)
    assert peak_bytes_of(lambda: lrn.decision_function(Xf)) >= nbytes
    assert peak_bytes_of(lambda: lrn.decision_function(X)) < nbytes / 4
