"""kenyon.Learner for every registered method: the task life cycle, scores and predictions of the
right shape, predict(allowed=...), save/load and pickle giving the same scores, and
kenyon.methods() describing every method with typed defaults."""
import pickle

import numpy as np
import pytest

import kenyon
from conftest import make_classes

ALL = list(kenyon.methods())
# Small settings so every method trains in well under a second on 40-feature data.
SMALL = {"fly": {"m": 200}, "v1": {"m": 200}, "v2": {"m": 200}, "v3": {"m": 200},
         "fly-ridge": {"m": 200}}


def test_methods_lists_the_registry_with_typed_defaults():
    ms = kenyon.methods()
    for name in ["fly", "v1", "v2", "v3", "fly-ridge", "vanilla", "offline", "ewc", "gem", "bir"]:
        assert name in ms
    fly = {p.name: p for p in ms["fly"].params}
    assert fly["m"].type is int and fly["m"].default == 3200
    assert fly["k_fraction"].type is float and fly["k_fraction"].default == 0.05
    for m in ms.values():
        for p in m.params:
            # a number parameter that also takes words may default to one of them
            assert isinstance(p.default, p.type) or p.default in p.choices, (m.name, p)


@pytest.mark.parametrize("method", ALL)
def test_life_cycle_and_round_trip(method, workdir):
    X, y = make_classes(30, 4, 40, seed=3)
    lrn = kenyon.Learner(method, 40, 4, seed=2, **SMALL.get(method, {}))
    assert lrn.task == -1 and not lrn.in_task
    for task, classes in enumerate([[0, 1], [2, 3]]):
        lrn.begin_task(classes)
        assert lrn.task == task and lrn.in_task
        sel = np.isin(y, classes)
        for s in range(0, int(sel.sum()), 16):
            lrn.partial_fit(X[sel][s:s + 16], y[sel][s:s + 16])
        lrn.end_task()
    assert lrn.seen_classes == [0, 1, 2, 3]
    scores = lrn.decision_function(X)
    assert scores.shape == (len(X), 4) and scores.dtype == np.float32
    pred = lrn.predict(X)
    assert np.array_equal(pred, np.argmax(scores, axis=1))
    only = lrn.predict(X, allowed=[2, 3])
    assert set(np.unique(only)) <= {2, 3}
    assert np.array_equal(only, 2 + np.argmax(scores[:, 2:], axis=1))
    path = f"{workdir}/{method}.safetensors"
    lrn.save(path)
    back = kenyon.Learner.load(path)
    assert isinstance(back, kenyon.Learner)
    assert back.method == method and back.task == 1 and back.params == lrn.params
    assert np.array_equal(back.decision_function(X), scores)
    again = pickle.loads(pickle.dumps(lrn))
    assert np.array_equal(again.decision_function(X), scores)


def test_params_are_typed_and_overrides_apply():
    lrn = kenyon.Learner("fly", 30, 3, m=500, k_fraction=0.1, lr=0.5)
    p = lrn.params
    assert p["m"] == 500 and p["k_fraction"] == 0.1 and p["lr"] == 0.5 and p["c"] == 10
    assert isinstance(p["m"], int) and isinstance(p["lr"], float)


def test_converted_input_gives_the_same_result_as_float32():
    X, y = make_classes(20, 2, 30, seed=5)
    a = kenyon.Learner("fly", 30, 2, m=300)
    b = kenyon.Learner("fly", 30, 2, m=300)
    for lrn in (a, b):
        lrn.begin_task([0, 1])
    a.partial_fit(X, y)
    b.partial_fit(np.asfortranarray(X.astype(np.float64)), y.astype(np.uint8))
    assert np.array_equal(a.decision_function(X), b.decision_function(X[:, :].copy(order="F")))


def test_same_seed_same_model_other_seed_other_projection():
    X, y = make_classes(20, 2, 30, seed=6)
    out = []
    for seed in (4, 4, 5):
        lrn = kenyon.Learner("fly", 30, 2, seed=seed, m=300)
        lrn.begin_task([0, 1])
        lrn.partial_fit(X, y)
        out.append(lrn.decision_function(X))
    assert np.array_equal(out[0], out[1])
    assert not np.array_equal(out[0], out[2])


def test_bool_and_choice_parameters():
    ms = kenyon.methods()
    mode = {p.name: p for p in ms["ewc"].params}["mode"]
    assert mode.type is str and mode.choices == ("offline", "online")
    lrn = kenyon.Learner("ewc", 20, 2, mode="online")
    assert lrn.params["mode"] == "online"
    with pytest.raises(ValueError, match="one of offline, online"):
        kenyon.Learner("ewc", 20, 2, mode="sometimes")
    with pytest.raises(TypeError, match="must be a str"):
        kenyon.Learner("ewc", 20, 2, mode=1)
    gating = {p.name: p for p in ms["bir"].params}["gating"]
    assert gating.type is bool and gating.default is True
    assert kenyon.Learner("bir", 20, 2, gating=False).params["gating"] is False
    with pytest.raises(TypeError, match="must be a bool"):
        kenyon.Learner("bir", 20, 2, gating=1)


def test_threads_each_with_a_learner_match_the_sequential_result():
    import threading
    X, y = make_classes(40, 2, 60, seed=8)

    def train(seed):
        lrn = kenyon.Learner("fly", 60, 2, seed=seed, m=400)
        lrn.begin_task([0, 1])
        for s in range(0, len(X), 8):
            lrn.partial_fit(X[s:s + 8], y[s:s + 8])
        return lrn.decision_function(X)

    want = [train(s) for s in range(4)]
    got = [None] * 4
    threads = [threading.Thread(target=lambda i=i: got.__setitem__(i, train(i))) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for w, g in zip(want, got):
        assert np.array_equal(w, g)


def test_one_learner_shared_by_threads_never_races():
    import threading
    X, y = make_classes(200, 2, 60, seed=9)
    lrn = kenyon.Learner("fly", 60, 2, m=400)
    lrn.begin_task([0, 1])
    lrn.partial_fit(X, y)
    want = lrn.decision_function(X)
    outcomes = []

    def call():
        for _ in range(20):
            try:
                outcomes.append(np.array_equal(lrn.decision_function(X), want))
            except kenyon.StateError as e:  # the other thread holds it: refused, not raced
                assert "in use by another thread" in str(e)
                outcomes.append(True)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 60 and all(outcomes)
