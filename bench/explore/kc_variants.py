#!/usr/bin/env python3
"""Exploring KC-code variants for a ridge readout, in numpy (issue 21's fly-accuracy work).

What it computes: for a KC code (c random binary inputs per cell, min-max scaled input, the k
strongest cells, APL-like subtraction of a share of the mean activity, graded values) the final
accuracy a streaming ridge readout reaches after the last task. Because the readout is exact
(G and B are sums), that state is the joint ridge solution on all training data, so it is computed
directly, once per setting, instead of running the protocol. The accuracy is the protocol's: the
mean over tasks (classes 2t, 2t+1) of the test accuracy, argmax over all classes. The projection
is drawn by numpy, so a setting's number differs from `kenyon run`'s by the projection's spread
(about 0.002-0.003 at one seed).

Used to choose fly-apl's settings (BENCHMARKS.md, "fly-apl with more winners and a smaller
penalty"); the chosen settings were then measured with `kenyon run` over 5 seeds.

    PYTHONPATH=build/python python3 bench/explore/kc_variants.py --data-dir DIR \\
        --m 3200 --k-fraction 0.4 --c 20 --lambdas 1,3,10 [--value graded|binary|sqrt|square]
        [--norm max|std] [--with-inputs] [--ensemble N] [--seed S] [--dataset mnist20|fashion]
"""
import argparse
import time

import numpy as np
import scipy.linalg as sl

import kenyon.datasets


def minmax(x):
    lo = x.min(1, keepdims=True)
    hi = x.max(1, keepdims=True)
    return (x - lo) / np.maximum(hi - lo, 1e-12)


def projection(m, c, d, seed):
    rng = np.random.default_rng(seed)
    r = np.zeros((m, d), np.float32)
    for i in range(m):
        r[i, rng.choice(d, c, replace=False)] = 1
    return r


def kc_code(x, r, k, apl, value, norm):
    """Dense n x m matrix of the code (zeros off the winners)."""
    h = minmax(x) @ r.T
    win = np.argpartition(-h, k - 1, axis=1)[:, :k]
    hv = np.take_along_axis(h, win, 1)
    mean = h.mean(1, keepdims=True)
    if norm == "max":  # fly-apl's: the strongest winner is 1
        u = (hv - apl * mean) / (hv.max(1, keepdims=True) - apl * mean)
    else:  # "std": scaled by the spread of the sample's activity instead
        u = (hv - apl * mean) / h.std(1, keepdims=True)
    u = np.maximum(u, 0)
    if value == "binary":
        u = (u > 0).astype(u.dtype)
    elif value == "sqrt":
        u = np.sqrt(u)
    elif value == "square":
        u = u * u
    code = np.zeros((x.shape[0], r.shape[0]), np.float64)
    np.put_along_axis(code, win, u, 1)
    return code


def task_accuracy(scores, y):
    pred = scores.argmax(1)
    tasks = y // 2
    return float(np.mean([np.mean(pred[tasks == t] == y[tasks == t]) for t in np.unique(tasks)]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--dataset", default="mnist20")
    ap.add_argument("--m", type=int, default=3200)
    ap.add_argument("--c", type=int, default=40)
    ap.add_argument("--k-fraction", type=float, default=0.2)
    ap.add_argument("--apl", type=float, default=1.0)
    ap.add_argument("--value", default="graded", choices=["graded", "binary", "sqrt", "square"])
    ap.add_argument("--norm", default="max", choices=["max", "std"])
    ap.add_argument("--lambdas", default="10")
    ap.add_argument("--with-inputs", action="store_true", help="append the pixels to the code")
    ap.add_argument("--ensemble", type=int, default=1, help="sum the scores of N projections")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    ds = kenyon.datasets.load(a.dataset, data_dir=a.data_dir)
    n_classes = ds.n_classes
    lambdas = [float(v) for v in a.lambdas.split(",")]
    k = max(1, int(round(a.k_fraction * a.m)))
    t0 = time.time()
    total = [0.0] * len(lambdas)
    for member in range(a.ensemble):
        r = projection(a.m, a.c, ds.X_train.shape[1], a.seed + 1000 * member)
        htr = kc_code(ds.X_train, r, k, a.apl, a.value, a.norm)
        hte = kc_code(ds.X_test, r, k, a.apl, a.value, a.norm)
        if a.with_inputs:
            htr = np.hstack([htr, ds.X_train])
            hte = np.hstack([hte, ds.X_test])
        g = htr.T @ htr
        b = htr.T @ np.eye(n_classes)[ds.y_train]
        for j, lam in enumerate(lambdas):
            w = sl.solve(g + lam * np.eye(g.shape[0]), b, assume_a="pos")
            total[j] = total[j] + hte @ w
    accs = " ".join(f"lambda {lam:g}: {task_accuracy(s, ds.y_test):.4f}"
                    for lam, s in zip(lambdas, total))
    print(f"{a.dataset} m {a.m} c {a.c} k {k} apl {a.apl:g} {a.value} norm {a.norm}"
          f"{' +inputs' if a.with_inputs else ''} ensemble {a.ensemble} seed {a.seed}: {accs}"
          f" ({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
