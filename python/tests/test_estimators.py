"""The scikit-learn estimators beyond sklearn's generic checks: FlyClassifier is the fly learner
(same scores as kenyon.Learner("fly") with the same settings), learns class-incrementally through
partial_fit, KCEncoder's CSR codes are the KC codes (at most k winners per row, largest 1), and
make_pipeline(KCEncoder(), RidgeClassifier()) works."""
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import RidgeClassifier
from sklearn.pipeline import make_pipeline

import kenyon


def test_fly_classifier_is_the_fly_learner(data):
    Xtr, ytr, Xte, yte = data
    clf = kenyon.FlyClassifier(m=500, random_state=4).fit(Xtr, ytr)
    lrn = kenyon.Learner("fly", 50, 6, seed=4, m=500)
    lrn.begin_task(range(6))
    lrn.partial_fit(Xtr, ytr)
    lrn.end_task()
    assert np.array_equal(clf.decision_function(Xte), lrn.decision_function(Xte))
    assert clf.score(Xte, yte) > 0.5  # chance 1/6


def test_partial_fit_is_class_incremental_with_any_labels(data):
    Xtr, ytr, Xte, yte = data
    names = np.array(["a", "b", "c", "d", "e", "f"])
    clf = kenyon.FlyRidgeClassifier(m=300, random_state=1)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(Xtr, names[ytr])
    seen = []
    for task in ([0, 1], [2, 3], [4, 5]):
        sel = np.isin(ytr, task)
        clf.partial_fit(Xtr[sel], names[ytr[sel]], classes=names)
        seen += task
        pred = clf.predict(Xte)
        assert set(pred) <= set(names[seen])  # only classes trained so far are predicted
    assert clf.score(Xte, names[yte]) > 0.5
    with pytest.raises(ValueError, match="is not in classes"):
        clf.partial_fit(Xtr[:3], np.array(["z", "a", "b"]))
    with pytest.raises(ValueError, match="differ from those of the first call"):
        clf.partial_fit(Xtr[:3], names[ytr[:3]], classes=names[:3])
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(Xtr[:3, :10], names[ytr[:3]])


def test_get_set_params_and_random_state(data):
    Xtr, ytr, Xte, _ = data
    clf = kenyon.FlyClassifier(m=400)
    assert clf.get_params()["m"] == 400 and clf.get_params()["random_state"] is None
    a = clf.set_params(random_state=3).fit(Xtr, ytr).decision_function(Xte)
    b = kenyon.FlyClassifier(m=400, random_state=3).fit(Xtr, ytr).decision_function(Xte)
    c = kenyon.FlyClassifier(m=400, random_state=5).fit(Xtr, ytr).decision_function(Xte)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    ridge = kenyon.FlyRidgeClassifier(m=200, alpha=3.0)
    assert ridge.fit(Xtr, ytr).learner_.params["lambda"] == 3.0


def test_kc_encoder_codes(data):
    Xtr, ytr, Xte, yte = data
    enc = kenyon.KCEncoder(m=400, k=20, random_state=2).fit(Xtr)
    Z = enc.transform(Xte)
    assert sp.isspmatrix_csr(Z) and Z.shape == (len(Xte), 400) and Z.dtype == np.float32
    nnz = np.diff(Z.indptr)
    assert nnz.max() <= 20 and nnz.min() > 0
    assert np.allclose(Z.max(axis=1).toarray().ravel(), 1.0)
    assert np.array_equal(enc.projection_, kenyon.KCEncoder(m=400, k=20, random_state=2)
                          .fit(Xtr).projection_)
    const = np.ones((2, 50), dtype=np.float32)
    assert enc.transform(const).nnz == 0  # a constant sample has no active cell


def test_pipeline_with_ridge_classifier(data):
    Xtr, ytr, Xte, yte = data
    pipe = make_pipeline(kenyon.KCEncoder(m=1000), RidgeClassifier()).fit(Xtr, ytr)
    assert pipe.score(Xte, yte) > 0.5
