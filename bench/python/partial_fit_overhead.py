"""How much the Python layer adds to one partial_fit of 64 samples.

The peer is the same C call (kn_learner_observe on the same learner, batch and labels), timed
from C inside the extension (Learner._time_observe), so both sides run in the same process on
the same data, interleaved in rounds so that the machine's load affects both alike. Reported:
the minimum and the median per call over all rounds, and the overhead of Python over C.

    build/python/venv/bin/python bench/python/partial_fit_overhead.py [--data DIR]

On a shared machine the minimum over the interleaved rounds is the figure to quote; the median
shows how much the load moved the calls.

With --data (a directory `kenyon data fetch` filled) the batch is 64 MNIST-20 training images;
without it, 64 random 784-pixel rows (the fly's cost does not depend on the pixel values much).
"""
import argparse
import os
import time

import numpy as np

import kenyon


def batch(data_dir):
    if data_dir:
        ds = kenyon.datasets.load("mnist20", data_dir=data_dir)
        sel = np.isin(ds.y_train, [0, 1])
        return ds.X_train[sel][:64].copy(), ds.y_train[sel][:64].copy(), "MNIST-20 images"
    rng = np.random.default_rng(0)
    return rng.random((64, 784), dtype=np.float32), rng.integers(0, 2, 64), "random rows"


def python_calls(lrn, X, y, reps):
    t = np.empty(reps)
    for r in range(reps):
        a = time.perf_counter()
        lrn.partial_fit(X, y)
        t[r] = time.perf_counter() - a
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("KENYON_DATA"))
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--reps", type=int, default=100)
    args = ap.parse_args()
    X, y, what = batch(args.data)
    print(f"batch: 64 x 784 float32 ({what}); {args.rounds} rounds x {args.reps} calls per side; "
          f"load {os.getloadavg()[0]:.2f}")
    print(f"{'method':10s} {'input':18s} {'C min':>9s} {'Py min':>9s} {'C median':>9s} "
          f"{'Py median':>9s} {'overhead (min)':>15s} {'(median)':>9s}")
    for method in ("fly", "fly-ridge"):
        for label, Xin in (("float32 C-order", X), ("float64 (converted)", X.astype(np.float64))):
            lrn = kenyon.Learner(method, 784, 20, seed=1)
            lrn.begin_task([0, 1])
            lrn.partial_fit(X, y)  # warm up (first-touch of the weights)
            tc, tp = [], []
            for r in range(args.rounds):
                if r % 2:
                    tc.append(lrn._time_observe(X, y, args.reps))
                    tp.append(python_calls(lrn, Xin, y, args.reps))
                else:
                    tp.append(python_calls(lrn, Xin, y, args.reps))
                    tc.append(lrn._time_observe(X, y, args.reps))
            tc, tp = np.concatenate(tc), np.concatenate(tp)
            cmin, pmin, cmed, pmed = tc.min(), tp.min(), np.median(tc), np.median(tp)
            print(f"{method:10s} {label:18s} {cmin * 1e6:7.1f}us {pmin * 1e6:7.1f}us "
                  f"{cmed * 1e6:7.1f}us {pmed * 1e6:7.1f}us {100 * (pmin / cmin - 1):14.2f}% "
                  f"{100 * (pmed / cmed - 1):8.2f}%")
    print(f"load at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
