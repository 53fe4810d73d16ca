"""MNIST-20 from Python: FlyModel against a back-prop baseline, class-incrementally.

Loads the arrays `kenyon run --dataset mnist20` trains on (after `kenyon data fetch`), runs two
methods through the same class-incremental protocol (10 tasks of 2 classes; after each task,
test on every class seen so far), and draws the accuracy curve with matplotlib.

    build/python/venv/bin/python examples/python/mnist20_curve.py --data DIR --out curve.png
"""
import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import kenyon  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None, help="data directory (default $KENYON_DATA or ./data)")
    ap.add_argument("--methods", default="fly,vanilla", help="two or more methods, comma-separated")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="mnist20_curve.png", help="the figure (PNG)")
    args = ap.parse_args()

    ds = kenyon.datasets.load("mnist20", data_dir=args.data)
    print(f"MNIST-20: {len(ds.y_train)} training and {len(ds.y_test)} test samples, "
          f"{ds.X_train.shape[1]} features, {ds.n_classes} classes ({ds.source})")
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=150)
    for method in args.methods.split(","):
        res = kenyon.run(method, ds.X_train, ds.y_train, ds.X_test, ds.y_test,
                         classes_per_task=2, seed=args.seed)
        curve = res["curve"]
        tasks = np.arange(1, len(curve) + 1)
        print(f"{method:10s} final accuracy {res['final_accuracy']:.4f}, memory loss "
              f"{res['memory_loss']:.4f}, trained in {res['timings']['train_seconds']:.1f} s")
        ax.plot(tasks * 2, curve, marker="o", label=f"{method} (final {res['final_accuracy']:.3f})")
    ax.set_xlabel("classes learned so far (2 per task)")
    ax.set_ylabel("accuracy over the classes seen so far")
    ax.set_title(f"MNIST-20, class-incremental, seed {args.seed}")
    ax.set_xticks(np.arange(2, 21, 2))
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
