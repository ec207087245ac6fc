"""Each operating-point rule meets its contract on the validation split it was chosen on (real logits)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import needs_shared
from decision_models import trained_logits

from edgekd.decision import decide, fit_decision_rule
from edgekd.decision.apply import positive_log_odds
from edgekd.decision.numerics import logit
from edgekd.decision.operating_point import canonical_name, follows_prior, parse_rule
from edgekd.decision.rates import confusion_matrix, decision_metrics
from edgekd.errors import EdgekdError

pytestmark = needs_shared
BINARY = ("pneumoniamnist", "breastmnist")


def _fit(dataset, rule, positive_class=1, calibration="temperature"):
    m = trained_logits(dataset)
    r = fit_decision_rule(m.val.labels, m.val.logits, m.class_names, m.train_prior, rule, calibration, positive_class)
    return m, r


def _all_cuts(rule, m):
    """(sensitivity, specificity, accuracy) at every threshold that cuts the validation scores differently."""
    pos = m.val.labels == rule.positive_class
    s = positive_log_odds(rule, m.val.logits, adapted=False)
    cuts = np.r_[np.unique(s), np.inf]
    out = [(np.mean(s[pos] >= c), np.mean(s[~pos] < c), np.mean((s >= c) == pos)) for c in cuts]
    return np.array(out)


def _rates(rule, m):
    got = decision_metrics(m.val.labels, decide(rule, m.val.logits).predictions, 2, rule.positive_class)
    return got["sensitivity"], got["specificity"], got["accuracy"]


@pytest.mark.parametrize("dataset", BINARY)
@pytest.mark.parametrize("positive_class", [1, 0])
def test_rate_rules_meet_their_target_and_are_the_tightest_that_do(dataset, positive_class):
    for kind, col, other in (("sensitivity", 0, 1), ("specificity", 1, 0)):
        m, r = _fit(dataset, f"{kind}=0.95", positive_class)
        got = _rates(r, m)
        assert got[col] >= 0.95, (kind, got)
        cuts = _all_cuts(r, m)
        feasible = cuts[cuts[:, col] >= 0.95 - 1e-12]
        assert got[other] == pytest.approx(feasible[:, other].max())     # the best other rate among those that qualify
        assert r.validation.sensitivity == pytest.approx(got[0]) and r.validation.specificity == pytest.approx(got[1])


@pytest.mark.parametrize("dataset", BINARY)
def test_youden_and_accuracy_are_optimal_on_validation(dataset):
    m, youden = _fit(dataset, "youden")
    sens, spec, _ = _rates(youden, m)
    cuts = _all_cuts(youden, m)
    assert sens + spec == pytest.approx((cuts[:, 0] + cuts[:, 1]).max())
    m, best = _fit(dataset, "accuracy")
    assert _rates(best, m)[2] == pytest.approx(cuts[:, 2].max()) == pytest.approx(best.validation.accuracy)


@pytest.mark.parametrize("dataset", BINARY)
def test_prior_rules_and_the_robust_rules_stay_where_they_should(dataset):
    m, half = _fit(dataset, "0.5")
    assert half.threshold == 0.5 and half.threshold_follows_prior
    _, balanced = _fit(dataset, "balanced")
    assert balanced.threshold == pytest.approx(m.train_prior[1]) and not balanced.threshold_follows_prior
    _, youden = _fit(dataset, "youden")
    _, shrunk = _fit(dataset, "youden-shrunk")
    lo, hi = sorted([logit(balanced.threshold), logit(youden.threshold)])
    assert lo - 1e-9 <= logit(shrunk.threshold) <= hi + 1e-9          # between the anchor and Youden's threshold
    _, accuracy = _fit(dataset, "accuracy")
    _, guarded = _fit(dataset, "accuracy-guarded")
    assert guarded.threshold in (0.5, accuracy.threshold)
    assert _fit(dataset, "youden-shrunk")[1] == shrunk                  # seeded bootstrap: deterministic


def test_rule_names_are_parsed_strictly():
    assert parse_rule("Sensitivity=0.9") == ("sensitivity", 0.9)
    assert canonical_name("specificity=0.950") == "specificity=0.95"
    assert follows_prior("0.5") and follows_prior("accuracy-guarded") and not follows_prior("youden")
    with pytest.raises(EdgekdError, match="did you mean youden"):
        parse_rule("yuden")
    with pytest.raises(EdgekdError, match=r"sensitivity must be a number in \(0, 1\]"):
        parse_rule("sensitivity=1.5")


def test_multiclass_decides_by_argmax_and_refuses_binary_rules():
    m = trained_logits("digits")
    r = fit_decision_rule(m.val.labels, m.val.logits, m.class_names, m.train_prior)
    assert r.rule == "argmax" and r.threshold is None and r.validation.sensitivity is None
    assert np.array_equal(decide(r, m.val.logits).predictions, m.val.logits.argmax(axis=1))  # T keeps the arg-max
    with pytest.raises(EdgekdError, match="needs a 2-class model"):
        fit_decision_rule(m.val.labels, m.val.logits, m.class_names, m.train_prior, "youden")


def test_rules_needing_both_classes_say_so():
    m = trained_logits("pneumoniamnist")
    only_pos = m.val.labels == 1
    with pytest.raises(EdgekdError, match="needs both classes"):
        fit_decision_rule(m.val.labels[only_pos], m.val.logits[only_pos], m.class_names, m.train_prior, "youden")


def test_rates_by_hand():
    labels = np.array([1, 1, 1, 0, 0, 2])
    decided = np.array([1, 0, 1, 0, 1, 2])
    assert confusion_matrix(labels, decided, 3).tolist() == [[1, 1, 0], [1, 2, 0], [0, 0, 1]]
    got = decision_metrics(labels[:5], decided[:5], 2, positive_class=1)
    assert got["sensitivity"] == pytest.approx(2 / 3) and got["specificity"] == pytest.approx(1 / 2)
    assert got["balanced_accuracy"] == pytest.approx((2 / 3 + 1 / 2) / 2) and got["accuracy"] == pytest.approx(3 / 5)
