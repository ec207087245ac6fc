"""The class prior of an unlabelled deployment set, estimated from the model's outputs, and decisions under it.

Estimators (all assume label shift: the classes' frequencies change, what each class looks
like does not):

- ``em``: Saerens, Latinne & Decaestecker (Neural Computation 2002). Alternates adapting
  the calibrated posteriors to the current prior estimate and re-estimating the prior as
  their mean; the maximum-likelihood prior. It is only as good as the calibration: run it
  on a rule fitted with ``calibration="bcts"`` for Alexandari et al.'s (ICML 2020) EM+BCTS.
- ``bbse``: black-box shift estimation, Lipton, Wang & Smola (ICML 2018). Solves
  ``C w = mu`` where ``C`` is the validation joint frequency of (decision, true class) and
  ``mu`` the deployment frequency of decisions, then clips the prior to the simplex. It
  needs no calibration, only the rule's validation confusion matrix (stored in the record).

:func:`estimate_prior` runs one on a :class:`~edgekd.decision.record.DecisionRule` and raw
logits; :func:`prior_interval` gives a bootstrap interval (over the deployment images; for
``bbse`` also over the validation counts, resampled per class); :func:`adapt` returns the
rule with the estimate as its deployment prior, whose decisions :func:`~edgekd.decision.apply.decide` makes.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from edgekd.decision.apply import decide, log_probabilities, with_prior
from edgekd.decision.bootstrap import interval_tails, resample_indices
from edgekd.decision.numerics import as_logits, as_prior, log_prior_ratio, log_softmax
from edgekd.decision.record import DecisionRule
from edgekd.errors import EdgekdError
from edgekd.suggest import unknown

ESTIMATORS = ("em", "bbse")
DEFAULT_ESTIMATOR = "em"


def em_prior(log_probabilities: np.ndarray, source_prior, max_iter: int = 10000, tol: float = 1e-9) -> np.ndarray:
    """Maximum-likelihood prior of a set whose calibrated log-probabilities (under ``source_prior``) are given."""
    lp = np.asarray(log_probabilities, dtype=np.float64)
    if lp.ndim != 2 or lp.shape[0] == 0:
        raise EdgekdError("prior estimation needs at least one image's outputs (an N x K array)")
    source = as_prior(source_prior, lp.shape[1], "source prior")
    q = source.copy()
    for _ in range(max_iter):
        q_new = np.exp(log_softmax(lp + log_prior_ratio(q, source))).mean(axis=0)
        done = np.max(np.abs(q_new - q)) < tol
        q = q_new
        if done:
            break
    return q / q.sum()


def bbse_prior(confusion, predictions) -> np.ndarray:
    """Black-box shift estimate from validation ``confusion`` counts (rows true, columns decided)
    and the classes decided on the deployment set; clipped to the simplex."""
    cm = np.asarray(confusion, dtype=np.float64)
    k = cm.shape[0]
    d = np.asarray(predictions).reshape(-1).astype(np.int64)
    if cm.ndim != 2 or cm.shape != (k, k) or cm.sum() <= 0:
        raise EdgekdError("black-box shift estimation needs the validation confusion matrix (K x K counts)")
    if d.size == 0:
        raise EdgekdError("prior estimation needs at least one image's outputs")
    joint = cm.T / cm.sum()                                   # joint[i, j] = P(decided i, true j)
    source = joint.sum(axis=0)
    mu = np.bincount(d, minlength=k)[:k] / d.size
    w = np.linalg.lstsq(joint, mu, rcond=None)[0]             # importance weights q_j / p_j
    q = np.maximum(w, 0.0) * source
    return q / q.sum() if q.sum() > 0 else source


def _estimator(rule: DecisionRule, logits: np.ndarray, method: str):
    """A function of row indices -> estimated prior, for one method on one set of logits."""
    base = with_prior(rule, None)
    if method == "em":  # on the estimation calibration (BCTS) where the rule has one
        if rule.estimation_temperature is not None:
            base = replace(base, temperature=rule.estimation_temperature, bias=rule.estimation_bias)
        lp = log_probabilities(base, logits, adapted=False)
        return lambda idx, cm=None: em_prior(lp[idx], rule.train_prior)
    if method == "bbse":
        if rule.validation is None:
            raise EdgekdError("bbse needs the validation confusion matrix in the decision rule: refit the rule "
                              "with fit_decision_rule")
        decided = decide(base, logits).predictions
        confusion = np.asarray(rule.validation.confusion)
        return lambda idx, cm=None: bbse_prior(confusion if cm is None else cm, decided[idx])
    raise unknown("prior estimator", method, ESTIMATORS)


def estimate_prior(rule: DecisionRule, logits, method: str = DEFAULT_ESTIMATOR) -> np.ndarray:
    """The class prior of the images whose raw ``logits`` are given, by ``method`` (``em`` or ``bbse``)."""
    z = as_logits(logits)
    if z.shape[0] == 0:
        raise EdgekdError("prior estimation needs at least one image")
    return _estimator(rule, z, method)(np.arange(z.shape[0]))


def prior_interval(rule: DecisionRule, logits, method: str = DEFAULT_ESTIMATOR, n_boot: int = 200,
                   level: float = 0.95, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per-class bootstrap percentile interval ``(low, high)`` of :func:`estimate_prior`."""
    z = as_logits(logits)
    estimate = _estimator(rule, z, method)
    rng = np.random.default_rng(seed + 1)
    values = []
    for idx in resample_indices(z.shape[0], n_boot, seed):
        cm = None
        if method == "bbse":
            counts = np.asarray(rule.validation.confusion)
            cm = np.stack([rng.multinomial(r.sum(), r / r.sum()) if r.sum() else r for r in counts])
        values.append(estimate(idx, cm))
    low, high = np.quantile(np.asarray(values), interval_tails(level), axis=0)
    return low, high


def adapt(rule: DecisionRule, logits, method: str = DEFAULT_ESTIMATOR) -> DecisionRule:
    """``rule`` with the prior estimated from ``logits`` as its deployment prior."""
    return with_prior(rule, estimate_prior(rule, logits, method))
