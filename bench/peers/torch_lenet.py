#!/usr/bin/python3
"""PyTorch peer of `kenyon features train`: the fly paper's LeNet5 trained the same way (Adam lr
1e-3, StepLR x0.1 every 7 epochs, batch 64, shuffled every epoch, best test accuracy kept) on the
same IDX files, on the CPU with the same number of threads, so the two training times can be
compared. Uses Debian's python3-torch (apt install python3-torch); not needed to build kenyon.

    /usr/bin/python3 bench/peers/torch_lenet.py --pretrain DIR [--epochs 25] [--threads 2]

Prints one line per epoch and a final JSON line with the timings and accuracies.
"""
import argparse
import gzip
import json
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn


def read_idx(path):
    """Reads an unsigned-byte IDX file (plain or .gz) into a numpy array."""
    for candidate in (path, path + ".gz"):
        if os.path.exists(candidate):
            opener = gzip.open if candidate.endswith(".gz") else open
            with opener(candidate, "rb") as f:
                data = f.read()
            break
    else:
        raise SystemExit(f"torch_lenet: {path}[.gz] not found")
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise SystemExit(f"torch_lenet: {path} is not an unsigned-byte IDX file")
    shape = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


class LeNet5(nn.Module):
    def __init__(self, n_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3)
        self.bn1 = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 16, 3)
        self.bn2 = nn.BatchNorm2d(16)
        self.fc1 = nn.Linear(400, 120)
        self.bn3 = nn.BatchNorm1d(120)
        self.fc2 = nn.Linear(120, 84)
        self.bn4 = nn.BatchNorm1d(84)
        self.fc3 = nn.Linear(84, n_classes)
        self.pool = nn.MaxPool2d(2)
        self.relu = nn.ReLU()

    def features(self, x):
        x = self.pool(self.relu(self.bn1(self.conv1(x))))
        x = self.pool(self.relu(self.bn2(self.conv2(x))))
        x = torch.flatten(x, 1)
        x = self.relu(self.bn3(self.fc1(x)))
        return self.relu(self.bn4(self.fc2(x)))

    def forward(self, x):
        return self.fc3(self.features(x))


def accuracy(model, x, y):
    model.eval()
    correct = 0
    with torch.no_grad():
        for s in range(0, len(x), 1024):
            correct += (model(x[s:s + 1024]).argmax(1) == y[s:s + 1024]).sum().item()
    return correct / len(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pretrain", required=True)
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train-limit", type=int, default=0, help="use only the first N images")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    def load(prefix):
        x = read_idx(os.path.join(args.pretrain, f"{prefix}-images-idx3-ubyte"))
        y = read_idx(os.path.join(args.pretrain, f"{prefix}-labels-idx1-ubyte"))
        x = torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1)
        return x, torch.from_numpy(y.astype(np.int64))

    xtr, ytr = load("train")
    xte, yte = load("t10k")
    if args.train_limit:
        xtr, ytr = xtr[:args.train_limit], ytr[:args.train_limit]
    model = LeNet5()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=7, gamma=0.1)
    loss_fn = nn.CrossEntropyLoss()
    best, best_epoch, epoch_seconds = -1.0, 0, []
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        te = time.perf_counter()
        model.train()
        perm = torch.randperm(len(xtr))
        loss_sum, seen = 0.0, 0
        for s in range(0, len(xtr), 64):
            idx = perm[s:s + 64]
            if len(idx) < 2:
                break
            opt.zero_grad()
            loss = loss_fn(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
            seen += len(idx)
        sched.step()
        acc = accuracy(model, xte, yte)
        if acc > best:
            best, best_epoch = acc, epoch + 1
        epoch_seconds.append(time.perf_counter() - te)
        print(f"epoch {epoch + 1:2d}/{args.epochs}  loss {loss_sum / max(seen, 1):.4f}  "
              f"test acc {acc:.4f}  ({epoch_seconds[-1]:.1f} s)", flush=True)
    total = time.perf_counter() - t0
    print(json.dumps({"peer": "pytorch", "torch": torch.__version__, "threads": args.threads,
                      "epochs": args.epochs, "train_images": len(xtr),
                      "best_test_accuracy": best, "best_epoch": best_epoch,
                      "train_seconds": total, "epoch_seconds": epoch_seconds}))


if __name__ == "__main__":
    main()
