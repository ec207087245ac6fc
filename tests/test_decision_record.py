"""The decision record: exact round trip, strict refusal, how threshold and prior compose, numerics, no torch."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import needs_shared
from decision_models import trained_logits

from edgekd.decision import DecisionRule, decide, estimate_prior, fit_decision_rule, probabilities, with_prior
from edgekd.decision.apply import positive_log_odds
from edgekd.decision.numerics import logit
from edgekd.errors import EdgekdError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pneumonia():
    m = trained_logits("pneumoniamnist")
    return m, fit_decision_rule(m.val.labels, m.val.logits, m.class_names, m.train_prior, "youden", "bcts")


@needs_shared
def test_round_trip_is_exact_through_dict_and_json(pneumonia):
    _, rule = pneumonia
    assert DecisionRule.from_dict(rule.to_dict()) == rule
    text = rule.to_json()
    assert json.loads(text)["rule"] == "youden" and "\n" not in text     # one string for an ONNX metadata value
    assert DecisionRule.from_json(text) == rule
    adapted = with_prior(rule, [0.4, 0.6])
    assert DecisionRule.from_json(adapted.to_json()) == adapted and adapted.deploy_prior == (0.4, 0.6)


@needs_shared
@pytest.mark.parametrize("where", ["top", "validation"])
def test_unknown_or_missing_keys_are_one_line_errors(pneumonia, where):
    _, rule = pneumonia
    d = rule.to_dict()
    target = d if where == "top" else d["validation"]
    target["colour"] = "blue"
    with pytest.raises(EdgekdError, match="unknown key\\(s\\) colour") as err:
        DecisionRule.from_dict(d)
    assert "\n" not in str(err.value)
    del target["colour"]
    del target["accuracy" if where == "validation" else "temperature"]
    with pytest.raises(EdgekdError, match="missing key\\(s\\)"):
        DecisionRule.from_dict(d)


@needs_shared
def test_bad_values_and_a_newer_schema_are_refused(pneumonia):
    _, rule = pneumonia
    cases = {"schema": 99, "threshold": 1.0, "rule": 5, "temperature": -1.0, "train_prior": [1.0, 0.0, 0.0],
             "positive_class": 2, "bias": [0.0]}
    for key, value in cases.items():
        d = rule.to_dict()
        d[key] = value
        with pytest.raises(EdgekdError) as err:
            DecisionRule.from_dict(d)
        assert "\n" not in str(err.value), key
    for key, value in {"n": "many", "ece_after": "low", "confusion": [[1, 2]]}.items():
        d = rule.to_dict()
        d["validation"][key] = value
        with pytest.raises(EdgekdError, match="validation"):
            DecisionRule.from_dict(d)
    with pytest.raises(EdgekdError, match="not valid JSON"):
        DecisionRule.from_json("{not json")
    with pytest.raises(EdgekdError, match="arg-max"):
        DecisionRule(("a", "b", "c"), (1, 1, 1), threshold=0.5)


@needs_shared
def test_cost_rules_move_with_the_prior_and_rate_rules_keep_their_rates(pneumonia):
    m, youden = pneumonia
    z = m.test.logits
    half = replace(youden, rule="0.5", threshold=0.5, threshold_follows_prior=True)
    for q in ([0.5, 0.5], [0.8, 0.2]):
        adapted = with_prior(half, q)
        # the threshold on the adapted probability = the unadapted log-odds against a shifted threshold
        shift = np.log(q[1] / q[0]) - np.log(m.train_prior[1] / m.train_prior[0])
        expected = positive_log_odds(half, z, adapted=False) + shift >= logit(0.5)
        assert np.array_equal(decide(adapted, z).predictions == 1, expected)
        assert decide(adapted, z).predictions.mean() < decide(half, z).predictions.mean()   # fewer positives expected
        kept = with_prior(youden, q)
        assert np.array_equal(decide(kept, z).predictions, decide(youden, z).predictions)  # rates kept
        assert not np.allclose(probabilities(kept, z), probabilities(youden, z))           # probabilities adapt
    assert np.array_equal(decide(with_prior(half, m.train_prior), z).predictions, decide(half, z).predictions)


@needs_shared
def test_multiclass_adaptation_is_the_argmax_of_reweighted_probabilities():
    m = trained_logits("digits")
    rule = fit_decision_rule(m.val.labels, m.val.logits, m.class_names, m.train_prior)
    q = np.arange(1, 11) / 55
    p = probabilities(rule, m.test.logits) * q / np.asarray(rule.train_prior)
    assert np.array_equal(decide(with_prior(rule, q), m.test.logits).predictions, p.argmax(axis=1))


def test_extreme_logits_give_finite_probabilities_decisions_and_priors():
    rng = np.random.default_rng(0)
    z = rng.choice([-1e4, 0.0, 1e4], size=(50, 2))
    y = (z[:, 1] > z[:, 0]).astype(int)
    y[:5] = 1 - y[:5]                                                    # a few confident mistakes
    rule = fit_decision_rule(y, z, ("a", "b"), (0.5, 0.5), "youden", "bcts")
    for r in (rule, with_prior(rule, (0.9, 0.1))):
        got = decide(r, z)
        assert np.all(np.isfinite(got.probabilities)) and np.allclose(got.probabilities.sum(axis=1), 1.0)
    for method in ("em", "bbse"):
        est = estimate_prior(rule, z, method)
        assert np.all(np.isfinite(est)) and est.sum() == pytest.approx(1.0)
    assert np.isfinite(rule.validation.nll_before) and np.isfinite(rule.validation.nll_after)


def test_logits_that_do_not_fit_the_rule_are_refused():
    rule = DecisionRule(("a", "b", "c"), (1, 1, 1))
    with pytest.raises(EdgekdError, match="3 classes"):
        decide(rule, np.zeros((4, 2)))
    with pytest.raises(EdgekdError, match="NaN"):
        decide(rule, np.full((4, 3), np.nan))


def test_the_decision_package_runs_without_torch_scipy_sklearn_or_matplotlib():
    script = textwrap.dedent("""
        import sys
        for name in ("torch", "scipy", "sklearn", "matplotlib"):
            sys.modules[name] = None
        import importlib, pkgutil
        import edgekd.decision as pkg
        for info in pkgutil.iter_modules(pkg.__path__):
            importlib.import_module(f"edgekd.decision.{info.name}")
        import numpy as np
        from edgekd.decision import fit_decision_rule, decide, adapt, DecisionRule
        rng = np.random.default_rng(0)
        y = rng.integers(0, 2, 300)
        z = np.stack([-(y - 0.5) * 3 + rng.normal(size=300), (y - 0.5) * 3 + rng.normal(size=300)], 1)
        rule = DecisionRule.from_json(fit_decision_rule(y, z, ("a", "b"), (0.5, 0.5), "accuracy-guarded").to_json())
        got = decide(adapt(rule, z[y == 1]), z)
        from edgekd.decision.plots import plot_reliability
        try:
            plot_reliability(y, {"x": got.probabilities}, "x.png")
        except Exception as exc:
            assert "matplotlib is not installed" in str(exc), exc
        print("OK", got.predictions.shape)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0 and "OK (300,)" in out.stdout, out.stderr
