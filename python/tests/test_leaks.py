"""10,000 calls through every entry point of the extension, with the arrays freed in between,
must not grow the resident set: a leak of one array or one learner per call would add hundreds
of megabytes. Error paths are included (each raises and is caught)."""
import gc
import os

import numpy as np
import pytest

import kenyon

CALLS = 10_000


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def one_round(rng, i):
    X = rng.random((32, 100))  # float64: converted on every call
    y = rng.integers(0, 2, 32)
    lrn = kenyon.Learner("fly", 100, 3, seed=i, m=64, c=5)
    lrn.begin_task([0, 1])
    lrn.partial_fit(X, y)
    lrn.partial_fit(X.astype(np.float32), y.astype(np.int32))
    lrn.decision_function(X)
    lrn.predict(X, allowed=[0, 1])
    X[0, 0] = np.nan
    with pytest.raises(ValueError):
        lrn.partial_fit(X, y)
    with pytest.raises(ValueError):
        lrn.partial_fit(X[:, :5], y)
    with pytest.raises(TypeError):
        kenyon.Learner("fly", 100, 3, m="x")
    lrn.end_task()
    ind, cells, vals = kenyon._kenyon.kc_encode(np.zeros((8, 2), np.int32) + [0, 1], 100, 2,
                                                 X[1:])


def test_no_growth_over_many_calls():
    rng = np.random.default_rng(0)
    for i in range(500):  # warm up allocator pools and lazily built tables
        one_round(rng, i)
    gc.collect()
    before = rss_bytes()
    for i in range(CALLS):
        one_round(rng, i)
    gc.collect()
    grown = rss_bytes() - before
    # One leaked 32 x 100 float64 array per call would be 256 MB; allow allocator noise.
    assert grown < 8 << 20, f"resident set grew by {grown / 2**20:.1f} MB over {CALLS} calls"
