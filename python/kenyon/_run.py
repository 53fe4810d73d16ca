"""kenyon.run(): the class-incremental protocol of `kenyon run` over numpy arrays, through the
same experiment layer."""
import json
import os
import tempfile

from . import _kenyon


def run(method, X_train, y_train, X_test, y_test, classes_per_task=2, seed=1, batch=64,
        shuffle=True, out=None, save=None, load=None, **params):
    """Runs `method` through the class-incremental protocol and returns its results.

    Tasks hold `classes_per_task` classes in label order (the last one the remainder); each
    task's training samples are seen once, in batches of `batch`, shuffled within the task from
    `seed` (shuffle=False: array order); after every task the learner is tested on the test
    samples of every task so far, argmax over all classes seen so far. The number of classes is
    1 + the largest label of either part. The arrays are used as given (no class balancing:
    `kenyon run` on the same arrays with --no-balance gives bit-identical results).

    out: a directory for summary.json and accuracy_matrix.csv (as --out); save: a model file to
    write (as --save); load: a model file to resume from (as --load; then no **params).

    Returns a dict with every field of summary.json (final_accuracy, memory_loss, forgetting,
    bwt, final_accuracy_task_incremental, parameters, protocol, timings, memory, ...), where
    "accuracy_matrix" and "accuracy_matrix_task_incremental" are float64 numpy arrays (T x T,
    NaN above the diagonal), "curve" and "curve_task_incremental" numpy vectors, and these and
    the scalar metrics are the exact doubles of the C run (summary.json's text may round the
    last bit).
    """
    with tempfile.TemporaryDirectory(prefix="kenyon-run-") as tmp:
        out_dir = os.fspath(out) if out is not None else tmp
        (R, R_ti, curve, curve_ti, final, memory_loss, forgetting, bwt, final_ti, ran, n_train,
         n_test, n_classes) = _kenyon.run(
            method, X_train, y_train, X_test, y_test, int(classes_per_task), int(seed),
            int(batch), bool(shuffle), params, out_dir, save, load)
        with open(os.path.join(out_dir, "summary.json")) as f:
            summary = json.load(f)
    summary.update({
        "method": ran,
        "accuracy_matrix": R,
        "accuracy_matrix_task_incremental": R_ti,
        "curve": curve,
        "curve_task_incremental": curve_ti,
        "final_accuracy": final,
        "memory_loss": memory_loss,
        "forgetting": forgetting,
        "bwt": bwt,
        "final_accuracy_task_incremental": final_ti,
        "n_classes": n_classes,
    })
    return summary
