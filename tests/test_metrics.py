"""The one numpy metrics module (eval, bench, the study, explain): hand-computed values and
scikit-learn's roc_auc_score as the reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from edgekd.errors import EdgekdError
from edgekd.metrics import accuracy, as_probabilities, auc, binary_auc, classification_report, softmax


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


def test_hand_computed_values():
    # class 0 vs rest: positives 0.6, 0.15 against negatives 0.2, 0.1 -> 3 of 4 pairs;
    # class 1: 0.5 against 0.3, 0.2, 0.6 -> 2 of 3; class 2: 0.7 against 0.1, 0.3, 0.25 -> 3 of 3
    y = np.array([0, 1, 2, 0])
    p = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.2, 0.7], [0.15, 0.6, 0.25]])
    assert math.isclose(auc(y, p), (3 / 4 + 2 / 3 + 1) / 3, abs_tol=1e-12)
    assert math.isclose(auc(y, p), roc_auc_score(y, p, multi_class="ovr"), abs_tol=1e-12)
    assert accuracy(y, p) == 0.75 and accuracy(y, [0, 1, 1, 1]) == 0.5  # scores or predicted classes
    assert math.isclose(binary_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 0.75)
    with pytest.raises(EdgekdError):
        accuracy(y, p[:3])


def test_probabilities_are_not_softmaxed_twice():
    y = np.array([0, 1, 2, 0])
    p = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.2, 0.7], [0.15, 0.6, 0.25]])
    assert np.array_equal(as_probabilities(p), p)
    assert classification_report(y, p)["auc"] == auc(y, p)
    # why it matters: a second softmax reorders one-vs-rest scores across samples (class 0 of
    # rows 1 and 0 below: tied at 0.5, then 0.391 against 0.384), so the macro AUC moves
    tie = np.array([[0.5, 0.5, 0.0], [0.5, 0.25, 0.25], [0.2, 0.2, 0.6]])
    assert auc([1, 0, 2], softmax(tie)) > auc([1, 0, 2], tie) == classification_report([1, 0, 2], tie)["auc"]
    logits = np.log(p) + 3.0  # softmax(logits) == p
    np.testing.assert_allclose(as_probabilities(logits), p, rtol=1e-12)


def test_columns_map_outputs_to_classes():
    logits = np.array([[0.0, 2.0], [3.0, 0.0], [0.0, 1.0]])  # a model whose output 0 is class 1
    swapped = classification_report([0, 1, 0], logits, columns=[1, 0])
    assert swapped["accuracy"] == 1.0 and swapped["auc"] == 1.0
    assert classification_report([0, 1, 0], logits)["accuracy"] == 0.0
