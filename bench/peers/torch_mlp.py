#!/usr/bin/python3
"""PyTorch peer of bench/bench_mlp.c: one training pass of the Vanilla MLP (784 -> 3200 ReLU -> 20,
SGD lr 1e-3 momentum 0.9, batch 64, cross-entropy) over synthetic MNIST-20-sized data, with the
same thread count and the same FLOP count (4 d H + 6 H C per sample). Each pass reports wall and
process CPU seconds, as bench_mlp does.

    /usr/bin/python3 bench/peers/torch_mlp.py [--threads N] [--n SAMPLES] [--hidden H] [--repeats R]

Needs Debian's python3-torch (apt install python3-torch); not part of kenyon's set-up."""
import argparse
import json
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n", type=int, default=14800)
    ap.add_argument("--hidden", type=int, default=3200)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    d, C, batch = 784, 20, 64
    g = torch.Generator().manual_seed(1)
    x = torch.rand(a.n, d, generator=g)
    y = torch.arange(a.n) % C
    best = best_cpu = float("inf")
    for r in range(a.repeats):
        torch.manual_seed(2)
        net = torch.nn.Sequential(torch.nn.Linear(d, a.hidden), torch.nn.ReLU(),
                                  torch.nn.Linear(a.hidden, C))
        opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9)
        loss_fn = torch.nn.CrossEntropyLoss()
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(0, a.n, batch):
            opt.zero_grad()
            loss = loss_fn(net(x[i:i + batch]), y[i:i + batch])
            loss.backward()
            opt.step()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        best, best_cpu = min(best, dt), min(best_cpu, dc)
        print(f"torch pass {r + 1}: {dt:.3f} s, {dc:.3f} CPU s (last loss {loss.item():.4f})")
    flops = a.n * (4.0 * d * a.hidden + 6.0 * a.hidden * C)
    print(json.dumps({"impl": "torch " + torch.__version__, "threads": a.threads, "n": a.n,
                      "hidden": a.hidden, "seconds": round(best, 4),
                      "cpu_seconds": round(best_cpu, 4),
                      "gflops": round(flops / best / 1e9, 2)}))


if __name__ == "__main__":
    main()
