"""FlyClassifier against scikit-learn's streaming learners, class-incremental, in one run.

MNIST-20 as `kenyon run` uses it (kenyon.datasets.load), 10 tasks of 2 classes in label order;
every learner sees each task's training samples once, in the same seeded within-task order, in
partial_fit batches of 64 (all 20 classes named on the first call). After the last task each is
tested on the whole test set. Learners: kenyon's FlyClassifier and FlyRidgeClassifier (defaults),
scikit-learn's Perceptron and SGDClassifier (hinge loss; defaults otherwise), both with
partial_fit. Training time is the minimum over --repeats runs (the machine is shared); accuracy
is the same in every repeat (fixed seeds).

Reported accuracy is kenyon's final accuracy (mean over the 10 tasks of the per-task test
accuracy, argmax over all 20 classes) and the plain accuracy over all test samples.

    build/python/venv/bin/python bench/python/streaming_vs_sklearn.py --data DIR
"""
import argparse
import os
import time

import numpy as np
from sklearn.linear_model import Perceptron, SGDClassifier

import kenyon


def learners():
    return {
        "kenyon FlyClassifier": lambda: kenyon.FlyClassifier(random_state=1),
        "kenyon FlyRidgeClassifier": lambda: kenyon.FlyRidgeClassifier(random_state=1),
        "sklearn Perceptron": lambda: Perceptron(random_state=1),
        "sklearn SGDClassifier": lambda: SGDClassifier(random_state=1),
    }


def stream(ds, batch, seed):
    """(X, y) batches: tasks of 2 classes in label order, shuffled within each task."""
    rng = np.random.default_rng(seed)
    for t in range(ds.n_classes // 2):
        idx = np.flatnonzero(np.isin(ds.y_train, [2 * t, 2 * t + 1]))
        idx = idx[rng.permutation(len(idx))]
        for s in range(0, len(idx), batch):
            b = idx[s:s + batch]
            yield ds.X_train[b], ds.y_train[b]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("KENYON_DATA"))
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    ds = kenyon.datasets.load("mnist20", data_dir=args.data)
    batches = list(stream(ds, args.batch, seed=1))
    classes = np.arange(ds.n_classes)
    print(f"MNIST-20: {len(ds.y_train)} train / {len(ds.y_test)} test, {len(batches)} batches of "
          f"{args.batch}; load {os.getloadavg()[0]:.2f}")
    print(f"{'learner':28s} {'train s (min)':>13s} {'final acc':>9s} {'all-sample acc':>14s}")
    for name, make in learners().items():
        times = []
        for _ in range(args.repeats):
            clf = make()
            t0 = time.perf_counter()
            for X, y in batches:
                clf.partial_fit(X, y, classes=classes)
            times.append(time.perf_counter() - t0)
        pred = clf.predict(ds.X_test)
        per_task = [np.mean(pred[m] == ds.y_test[m]) for m in
                    (np.isin(ds.y_test, [2 * t, 2 * t + 1]) for t in range(ds.n_classes // 2))]
        print(f"{name:28s} {min(times):13.2f} {np.mean(per_task):9.4f} "
              f"{np.mean(pred == ds.y_test):14.4f}")
    print(f"load at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
