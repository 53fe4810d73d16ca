"""kenyon.datasets: the named data sets of the CLI as numpy arrays.

load("mnist20") gives the arrays `kenyon run --dataset mnist20` trains and tests on (MNIST
digits 0-9 + Fashion-MNIST 10-19, pixels scaled to [0, 1], every training class sub-sampled to
the smallest), from the files `kenyon data fetch` puts in the data directory (data_dir, else
$KENYON_DATA, else ./data).
"""
from typing import NamedTuple

import numpy as np

from . import _kenyon

NAMES = ("mnist20", "mnist", "fashion", "cifar100")


class Dataset(NamedTuple):
    """A train/test split: float32 samples (n x d), int32 labels, the class count, provenance."""
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    source: str


def load(name, data_dir=None, balance=True, balance_seed=0, features="pixels"):
    """Loads a named data set (mnist20 | mnist | fashion | cifar100) as `kenyon run` does.

    balance=False keeps every training sample (`--no-balance`); balance_seed is
    `--balance-seed`; features is "pixels" or a .npy of features (`--features F.npy`). Raises
    OSError with the C message (which names the missing file and says to run
    `kenyon data fetch`) when the files are not there.
    """
    if name not in NAMES:
        raise ValueError(f"unknown data set {name!r} (known: {', '.join(NAMES)})")
    (xtr, ytr), (xte, yte), n_classes, source = _kenyon.load_dataset(
        name, data_dir, bool(balance), int(balance_seed), str(features))
    return Dataset(xtr, ytr, xte, yte, n_classes, source)
