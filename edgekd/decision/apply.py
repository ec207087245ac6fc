"""Apply a :class:`~edgekd.decision.record.DecisionRule` to raw logits: calibrated probabilities and one decision per row.

Steps, all in log space so that any finite logits give finite results:

1. calibrate: ``z / T + b`` and log-softmax (probabilities under the training prior);
2. adapt, when the rule has a deployment prior: add ``log(pi_new / pi_train)`` per class and
   renormalise (Saerens et al. 2002: the posterior under a new prior, the class-conditional
   densities unchanged);
3. decide: two classes by the threshold on the positive class's probability (on the adapted
   probability when ``threshold_follows_prior``, else on the unadapted one, as the record's
   docstring explains); more classes by arg-max of the adapted probabilities.

numpy only: this runs on the device.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from edgekd.decision.calibration import calibrated_logits
from edgekd.decision.numerics import as_logits, as_prior, log_prior_ratio, log_softmax, logit
from edgekd.decision.record import DecisionRule
from edgekd.errors import EdgekdError


@dataclass(frozen=True)
class Decisions:
    """``probabilities`` N x K (calibrated, adapted where the rule has a deployment prior),
    ``predictions`` N class indices, ``positive_probability`` N for two classes (else None)."""

    probabilities: np.ndarray
    predictions: np.ndarray
    positive_probability: np.ndarray | None


def _checked(rule: DecisionRule, logits) -> np.ndarray:
    z = as_logits(logits)
    if z.shape[1] != rule.num_classes:
        raise EdgekdError(f"the model gives {z.shape[1]} outputs but its decision rule has {rule.num_classes} "
                          "classes: use the rule fitted for this model")
    return z


def log_probabilities(rule: DecisionRule, logits, adapted: bool = True) -> np.ndarray:
    """Calibrated log-probabilities N x K; under the deployment prior when ``adapted`` and the rule has one."""
    lp = log_softmax(calibrated_logits(_checked(rule, logits), rule.temperature, rule.bias))
    if adapted and rule.deploy_prior is not None:
        lp = log_softmax(lp + log_prior_ratio(np.asarray(rule.deploy_prior), np.asarray(rule.train_prior)))
    return lp


def probabilities(rule: DecisionRule, logits, adapted: bool = True) -> np.ndarray:
    """Calibrated probabilities N x K (see :func:`log_probabilities`)."""
    return np.exp(log_probabilities(rule, logits, adapted))


def positive_log_odds(rule: DecisionRule, logits, adapted: bool = True) -> np.ndarray:
    """log(p_pos / p_neg) of the calibrated probabilities of a 2-class rule: the score its threshold cuts."""
    if not rule.binary:
        raise EdgekdError(f"a positive-class score needs a 2-class rule, this one has {rule.num_classes} classes")
    lp = log_probabilities(rule, logits, adapted)
    pos = rule.positive_class
    return lp[:, pos] - lp[:, 1 - pos]


def decide(rule: DecisionRule, logits) -> Decisions:
    """Calibrated (and adapted) probabilities and one class per row, as the rule says."""
    z = _checked(rule, logits)
    lp = log_probabilities(rule, z, adapted=True)
    probs = np.exp(lp)
    if not rule.binary:
        return Decisions(probs, lp.argmax(axis=1), None)
    pos = rule.positive_class
    score = lp[:, pos] - lp[:, 1 - pos]
    if not rule.threshold_follows_prior:
        score = positive_log_odds(rule, z, adapted=False)
    predictions = np.where(score >= logit(rule.threshold), pos, 1 - pos)
    return Decisions(probs, predictions, probs[:, pos])


def with_prior(rule: DecisionRule, deploy_prior) -> DecisionRule:
    """The same rule adapted to a site whose class prior is ``deploy_prior`` (None: back to the training prior)."""
    prior = None if deploy_prior is None else tuple(as_prior(deploy_prior, rule.num_classes, "deploy_prior").tolist())
    return replace(rule, deploy_prior=prior)
