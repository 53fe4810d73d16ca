"""scikit-learn's own estimator checks for FlyClassifier, FlyRidgeClassifier and KCEncoder.

Checks are skipped only through the estimators' documented tags (_more_tags), the reasons
beside them in kenyon/_estimators.py. Both classifiers declare `poor_score`, and list
check_classifiers_classes in `_xfail_checks`: the KC encoder min-max scales every sample on
its own, so the checks' 2-feature blobs keep only which feature is larger. KCEncoder declares
`preserves_dtype = [float32]`: its codes are float32 whatever the input. A smaller m keeps the
checks quick; the estimators are otherwise at their defaults."""
import pytest
from sklearn.utils.estimator_checks import check_estimator

import kenyon


@pytest.mark.parametrize("est", [
    kenyon.FlyClassifier(m=800),
    kenyon.FlyRidgeClassifier(m=400),
    kenyon.KCEncoder(m=800),
], ids=lambda e: type(e).__name__)
def test_check_estimator(est):
    check_estimator(est)
