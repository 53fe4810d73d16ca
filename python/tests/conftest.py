"""Shared fixtures of the Python tests: small generated class-structured data, and where the
tests may write (KENYON_TEST_TMP from CTest, else pytest's tmp_path)."""
import os

import numpy as np
import pytest


def make_classes(n_per_class, n_classes, d, seed, noise=0.3):
    """Samples around one random prototype per class (non-negative, like pixels)."""
    rng = np.random.default_rng(seed)
    protos = rng.random((n_classes, d))
    y = np.repeat(np.arange(n_classes), n_per_class)
    X = protos[y] + noise * rng.random((len(y), d))
    order = rng.permutation(len(y))
    return X[order].astype(np.float32), y[order].astype(np.int64)


@pytest.fixture
def data():
    X, y = make_classes(80, 6, 50, seed=1, noise=2.0)  # hard enough that accuracies vary
    return X[:360], y[:360], X[360:], y[360:]


@pytest.fixture
def workdir(tmp_path):
    base = os.environ.get("KENYON_TEST_TMP")
    if not base:
        return tmp_path
    path = os.path.join(base, "python", os.environ.get("PYTEST_CURRENT_TEST", "t").split(" ")[0]
                        .replace("/", "_").replace(":", "_"))
    os.makedirs(path, exist_ok=True)
    return path
