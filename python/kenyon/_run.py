"""kenyon.run(): the class-incremental protocol of `kenyon run` over numpy arrays."""
import json

import numpy as np

from . import _kenyon


def run(method, X_train, y_train, X_test, y_test, classes_per_task=2, seed=1, batch=64,
        shuffle=True, **params):
    """Runs `method` through the class-incremental protocol and returns its results.

    Tasks hold `classes_per_task` classes in label order (the last one the remainder); each
    task's training samples are seen once, in batches of `batch`, shuffled within the task from
    `seed` (shuffle=False: array order); after every task the learner is tested on the test
    samples of every task so far, argmax over all classes seen so far. The number of classes is
    1 + the largest label of either part. The arrays are used as given (no class balancing:
    `kenyon run` on the same arrays with --no-balance gives bit-identical results).

    Returns a dict with every field of the CLI's summary.json (final_accuracy, memory_loss,
    forgetting, bwt, final_accuracy_task_incremental, curve, parameters, timings, ...), where
    "accuracy_matrix" and "accuracy_matrix_task_incremental" are float64 numpy arrays
    (T x T, NaN above the diagonal) and "curve", "curve_task_incremental" numpy vectors.
    """
    text, acc, acc_ti = _kenyon.run(method, X_train, y_train, X_test, y_test,
                                    int(classes_per_task), int(seed), int(batch), bool(shuffle),
                                    params)
    out = json.loads(text)
    out["accuracy_matrix"] = acc
    out["accuracy_matrix_task_incremental"] = acc_ti
    out["curve"] = np.asarray(out["curve"], dtype=np.float64)
    out["curve_task_incremental"] = np.asarray(out["curve_task_incremental"], dtype=np.float64)
    return out
