"""The numpy metrics used by eval and training against scikit-learn's reference values."""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import roc_auc_score

from edgekd.metrics import auc, binary_auc, classification_report


def test_binary_and_macro_auc_match_scikit_learn():
    rng = np.random.default_rng(0)
    y, scores = rng.integers(0, 2, 300), rng.random(300).round(1)  # rounding makes ties
    assert math.isclose(binary_auc(y, scores), roc_auc_score(y, scores), abs_tol=1e-12)
    y3, p3 = rng.integers(0, 3, 300), rng.dirichlet([1, 1, 1], 300)
    assert math.isclose(auc(y3, p3), roc_auc_score(y3, p3, multi_class="ovr"), abs_tol=1e-12)


def test_single_class_auc_is_nan_and_report_counts():
    assert math.isnan(binary_auc(np.ones(4), np.arange(4.0)))
    report = classification_report(np.array([0, 1, 1]), np.array([[2.0, 0.0], [0.0, 1.0], [1.0, 0.0]]))
    assert report["n"] == 3 and math.isclose(report["accuracy"], 2 / 3) and report["auc"] == 1.0
