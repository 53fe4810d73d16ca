"""Bad input raises a clear Python exception carrying the C message, and never crashes: wrong
dtype, 1-d or 3-d X, NaN/inf, labels out of range or negative, X/y length mismatch, unknown
parameter, a parameter of the wrong type or out of range, calls out of order, corrupt and
missing model files."""
import numpy as np
import pytest

import kenyon


@pytest.fixture
def lrn():
    lrn = kenyon.Learner("fly", 10, 3, m=100)
    lrn.begin_task([0, 1])
    return lrn


X = np.random.default_rng(0).random((8, 10)).astype(np.float32)
Y = np.array([0, 1] * 4)


@pytest.mark.parametrize("bad, match", [
    (X.astype(np.complex64), "not a real number type"),
    (X.astype(str), "not a real number type"),
    (X.astype(bool), "not a real number type"),
    (np.array([[object()] * 10] * 8), "not a real number type"),
    (X[0], "must be 2-d"),
    (X[None], "must be 2-d"),
    (X[:, :9], "9 features per sample, expected 10"),
])
def test_bad_samples(lrn, bad, match):
    with pytest.raises(ValueError, match=match):
        lrn.partial_fit(bad, Y)
    with pytest.raises(ValueError, match=match):
        lrn.decision_function(bad)
    with pytest.raises(ValueError, match=match):
        lrn.predict(bad)


@pytest.mark.parametrize("value, word", [(np.nan, "NaN"), (np.inf, "infinite"), (-np.inf, "infinite")])
def test_non_finite_samples(lrn, value, word):
    bad = X.copy()
    bad[3, 7] = value
    with pytest.raises(ValueError, match=rf"X\[3, 7\] is {word}"):
        lrn.partial_fit(bad, Y)
    with pytest.raises(ValueError, match=word):
        lrn.predict(bad)


@pytest.mark.parametrize("labels, match", [
    (np.array([0, 1, 0, 1, 0, 1, 0, 2]), "label 2, not a class of the tasks so far"),
    (np.array([0, 1, 0, 1, 0, 1, 0, 7]), "label 7, not a class"),
    (np.array([0, 1, 0, 1, 0, 1, 0, -1]), r"y\[7\] = -1: labels must be in"),
    (np.array([0, 1, 0, 1, 0, 1, 0, 2**40]), "labels must be in"),
    (np.array([0.0, 1.0] * 4), "not an integer type"),
    (np.array([0, 1, 0, 1, 0, 1, 0]), "7 labels for 8 samples"),
    (np.array([[0, 1, 0, 1, 0, 1, 0, 1]]), "must be 1-d"),
])
def test_bad_labels(lrn, labels, match):
    with pytest.raises(ValueError, match=match):
        lrn.partial_fit(X, labels)


def test_unknown_parameter_names_the_options():
    with pytest.raises(ValueError, match=r"unknown parameter 'mm' for method fly "
                                         r"\(its parameters: m, c, k, k_fraction"):
        kenyon.Learner("fly", 10, 3, mm=5)


# A parameter error names the keyword as Python spells it (m=..., k_fraction=...), never the
# command line's option (--m, --k-fraction), for the Learner and for run().
@pytest.mark.parametrize("kw, want", [({"m": 0}, "method fly: m=0 is out of range; accepted: "),
                                      ({"k_fraction": 2.0}, "method fly: k_fraction=2 is out of range"),
                                      ({"k_fraction": 0.5, "mm": 1}, "unknown parameter 'mm'"),
                                      ({"lr": -1.0}, "method fly: lr=-1 is out of range")])
def test_parameter_messages_use_the_python_spelling(kw, want):
    for call in (lambda: kenyon.Learner("fly", 10, 3, **kw),
                 lambda: kenyon.run("fly", X, Y, X, Y, **kw)):
        with pytest.raises(ValueError) as info:
            call()
        msg = str(info.value)
        assert want in msg
        assert "--" not in msg and "k-fraction" not in msg


@pytest.mark.parametrize("kw", [{"m": 3.5}, {"m": "100"}, {"m": True}, {"lr": "fast"},
                                {"lr": [0.1]}])
def test_parameter_of_the_wrong_type(kw):
    with pytest.raises(TypeError, match=f"method fly: {next(iter(kw))} must be"):
        kenyon.Learner("fly", 10, 3, **kw)


@pytest.mark.parametrize("kw, match", [({"m": -5}, "fly"), ({"k_fraction": 2.0}, "k_fraction"),
                                       ({"m": 2**40}, r"m=1099511627776 is out of range; accepted: an integer in \["),
                                       ({"beta": 1.5}, "beta")])
def test_parameter_out_of_range(kw, match):
    with pytest.raises(ValueError, match=match):
        kenyon.Learner("fly", 10, 3, **kw)


def test_unknown_method_and_bad_sizes():
    with pytest.raises(ValueError, match=r"unknown method 'flyy' \(methods: fly, v1"):
        kenyon.Learner("flyy", 10, 3)
    with pytest.raises(ValueError, match="number of classes must be positive"):
        kenyon.Learner("fly", 10, 0)
    with pytest.raises(ValueError, match="dimension d must be positive"):
        kenyon.Learner("fly", 0, 3)
    with pytest.raises(TypeError):
        kenyon.Learner("fly", 10.5, 3)


def test_calls_out_of_order():
    lrn = kenyon.Learner("fly", 10, 3, m=100)
    with pytest.raises(kenyon.StateError, match="no task has begun"):
        lrn.partial_fit(X, Y)
    with pytest.raises(kenyon.StateError, match="no task in progress"):
        lrn.end_task()
    lrn.begin_task([0, 1])
    with pytest.raises(kenyon.StateError, match="has not ended"):
        lrn.begin_task([2])
    with pytest.raises(kenyon.StateError, match="in progress"):
        lrn.save("never-written.safetensors")
    with pytest.raises(ValueError, match=r"class 5 outside \[0, 3\)"):
        kenyon.Learner("fly", 10, 3).begin_task([5])
    with pytest.raises(ValueError, match=r"allowed\[0\] = 9 is not a class"):
        lrn.predict(X, allowed=[9])
    with pytest.raises(kenyon.StateError, match="not initialised"):
        kenyon.Learner.__new__(kenyon.Learner).predict(X)


def test_corrupt_and_missing_model_files(lrn, workdir):
    lrn.end_task()
    good = f"{workdir}/good.safetensors"
    lrn.save(good)
    data = open(good, "rb").read()
    cases = {
        "empty": b"",
        "truncated": data[: len(data) // 2],
        "garbage header": b"\xff" * 8 + data[8:],
        "not json": data[:8] + b"{" * (len(data) - 8),
    }
    for what, blob in cases.items():
        path = f"{workdir}/{what.replace(' ', '_')}.safetensors"
        with open(path, "wb") as f:
            f.write(blob)
        with pytest.raises((kenyon.FormatError, OSError)) as info:
            kenyon.Learner.load(path)
        assert path in str(info.value), what
    # A header that parses but whose parameters disagree with its tensors' shapes.
    text = data.replace(b'"kenyon.param.m":"100"', b'"kenyon.param.m":"101"')
    assert text != data
    path = f"{workdir}/lying.safetensors"
    open(path, "wb").write(text)
    with pytest.raises(kenyon.FormatError):
        kenyon.Learner.load(path)
    assert issubclass(kenyon.FormatError, ValueError) and issubclass(kenyon.FormatError, OSError)
    with pytest.raises(OSError, match="missing.safetensors"):
        kenyon.Learner.load(f"{workdir}/missing.safetensors")
    with pytest.raises(OSError):
        lrn.save(f"{workdir}/no/such/dir/x.safetensors")
