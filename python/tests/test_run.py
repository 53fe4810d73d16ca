"""kenyon.run against `kenyon run` on the same arrays and seed: bit-identical accuracy matrices
for fly and fly-ridge, within 1e-6 for vanilla; model files that go both ways between
Learner.save/load and `kenyon run --save/--load`; kenyon.datasets.load."""
import json
import os
import subprocess

import numpy as np
import pytest

import kenyon
from conftest import make_classes

CLI = os.environ.get("KENYON")
needs_cli = pytest.mark.skipif(not CLI, reason="KENYON (the built CLI) is not set; CTest sets it")


def write_split(workdir, Xtr, ytr, Xte, yte):
    paths = {}
    for name, a in [("train-x", Xtr), ("train-y", ytr), ("test-x", Xte), ("test-y", yte)]:
        paths[name] = os.path.join(workdir, name + ".npy")
        np.save(paths[name], a)
    return [f"--{k}={v}" for k, v in paths.items()]


def cli(*args):
    r = subprocess.run([CLI, "run", "--quiet", *args], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r


def cli_matrix(workdir, files, *args):
    out = os.path.join(workdir, "out")
    cli(*files, "--no-balance", f"--out={out}", *args)
    with open(os.path.join(out, "summary.json")) as f:
        s = json.load(f)
    return s, np.array([[np.nan if v is None else v for v in row] for row in s["accuracy_matrix"]])


@needs_cli
@pytest.mark.parametrize("method, params, tol", [
    ("fly", {"m": 600}, 0.0),
    ("fly-ridge", {"m": 300}, 0.0),
    ("vanilla", {}, 1e-6),
])
def test_run_matches_the_cli(method, params, tol, data, workdir):
    files = write_split(workdir, *data)
    seed = 7
    flags = [f"--{k}={v}" for k, v in params.items()]
    summary, R_cli = cli_matrix(workdir, files, f"--method={method}", f"--seed={seed}",
                                "--classes-per-task=2", *flags)
    res = kenyon.run(method, *data, classes_per_task=2, seed=seed,
                     out=os.path.join(workdir, "py"), **params)
    R = res["accuracy_matrix"]
    assert R.shape == (3, 3) and np.isnan(R[0, 1]) and np.all(np.isfinite(np.tril(R)))
    if tol == 0:
        # summary.json prints doubles with cJSON, which may drop the last bit; an accuracy is
        # count / n, so recover the CLI's counts and compare the doubles exactly.
        Xte, yte = data[2], data[3]
        for i, j in zip(*np.tril_indices(3)):
            n = np.isin(yte, [2 * j, 2 * j + 1]).sum()
            count = round(R_cli[i, j] * n)
            assert abs(R_cli[i, j] - count / n) < 1e-15
            assert R[i, j] == count / n, (i, j)
        # Both summary.json files come from the same printer: equal doubles print equal text.
        with open(os.path.join(workdir, "py", "summary.json")) as f:
            mine = json.load(f)
        for key in ["final_accuracy", "memory_loss", "forgetting", "bwt", "curve",
                    "accuracy_matrix", "accuracy_matrix_task_incremental"]:
            assert mine[key] == summary[key], key
    else:
        np.testing.assert_allclose(R, R_cli, atol=tol, rtol=0)
    for key in ["final_accuracy", "memory_loss", "forgetting", "bwt",
                "final_accuracy_task_incremental"]:
        assert abs(res[key] - summary[key]) <= max(tol, 1e-15), key
    assert res["parameters"] == summary["parameters"]
    if method != "vanilla":  # one pass of back-prop on 360 samples learns little
        assert res["final_accuracy"] > 0.5  # chance is 1/6 on these separable classes


def test_run_metrics_follow_their_definitions(data):
    res = kenyon.run("fly", *data, classes_per_task=3, seed=2, m=400)
    R = res["accuracy_matrix"]
    T = R.shape[0]
    assert T == 2
    assert res["curve"][-1] == pytest.approx(np.mean(R[T - 1]))
    assert res["memory_loss"] == pytest.approx(np.mean([R[j, j] - R[T - 1, j] for j in range(T)]))
    assert res["bwt"] == pytest.approx(np.mean([R[T - 1, j] - R[j, j] for j in range(T - 1)]))
    other = kenyon.run("fly", *data, classes_per_task=3, seed=2, shuffle=False, m=400)
    assert other["protocol"]["shuffle_within_task"] is False


def test_run_rejects_bad_arguments(data):
    Xtr, ytr, Xte, yte = data
    with pytest.raises(ValueError, match="X_test has 49 features per sample, expected 50"):
        kenyon.run("fly", Xtr, ytr, Xte[:, 1:], yte)
    with pytest.raises(ValueError, match="y_train has"):
        kenyon.run("fly", Xtr, ytr[1:], Xte, yte)
    with pytest.raises(ValueError, match="classes-per-task: 0 must be at least 1"):
        kenyon.run("fly", *data, classes_per_task=0)
    with pytest.raises(ValueError, match="unknown parameter 'bogus' for method fly"):
        kenyon.run("fly", *data, bogus=1)
    with pytest.raises(ValueError, match="unknown method"):
        kenyon.run("nope", *data)


@needs_cli
def test_model_files_go_both_ways(data, workdir):
    Xtr, ytr, Xte, yte = data
    files = write_split(workdir, *data)
    # CLI -> Python: a model trained by `kenyon run --save` predicts the same in Python as a
    # learner trained the same way from Python.
    saved = os.path.join(workdir, "cli.safetensors")
    cli(*files, "--no-balance", "--method=fly", "--m=500", "--seed=3", f"--save={saved}")
    lrn = kenyon.Learner.load(saved)
    assert lrn.method == "fly" and lrn.task == 2 and lrn.n_features == 50
    res = kenyon.run("fly", *data, seed=3, m=500)
    per_task = [np.mean(lrn.predict(Xte[np.isin(yte, c)]) == yte[np.isin(yte, c)])
                for c in ([0, 1], [2, 3], [4, 5])]
    assert per_task == res["accuracy_matrix"][2].tolist()
    # Python -> CLI: a model saved from Python resumes in `kenyon run --load` on the next task.
    first = kenyon.Learner("fly", 50, 6, seed=3, m=500)
    sel = np.isin(ytr, [0, 1])
    first.begin_task([0, 1])
    first.partial_fit(Xtr[sel], ytr[sel])
    first.end_task()
    mine = os.path.join(workdir, "python.safetensors")
    first.save(mine)
    out = os.path.join(workdir, "resumed")
    cli(*files, "--no-balance", "--method=fly", f"--load={mine}", f"--out={out}",
        f"--save={os.path.join(workdir, 'resumed.safetensors')}")
    with open(os.path.join(out, "summary.json")) as f:
        s = json.load(f)
    R = s["accuracy_matrix"]
    assert R[0] == [None, None, None]  # task 0 was trained in Python
    assert None not in R[1][:2] and None not in R[2]
    back = kenyon.Learner.load(os.path.join(workdir, "resumed.safetensors"))
    assert back.task == 2 and back.seen_classes == list(range(6))


def test_datasets_load_tells_how_to_fetch(workdir):
    with pytest.raises(OSError, match="kenyon data fetch"):
        kenyon.datasets.load("mnist20", data_dir=workdir)
    with pytest.raises(ValueError, match="unknown data set"):
        kenyon.datasets.load("mnist21")


@pytest.mark.skipif(not os.environ.get("KENYON_DATA"), reason="KENYON_DATA not set")
def test_datasets_load_mnist20():
    ds = kenyon.datasets.load("mnist20")
    assert ds.n_classes == 20 and ds.X_train.dtype == np.float32 and ds.X_train.shape[1] == 784
    counts = np.bincount(ds.y_train, minlength=20)
    assert np.all(counts == counts[0])  # balanced, as the CLI trains
    assert 0.0 <= ds.X_train.min() and ds.X_train.max() <= 1.0
