"""Fit a model's :class:`~edgekd.decision.record.DecisionRule` on its validation split, with the figures it came from.

The one call after training: calibrate the validation logits (temperature, or temperature
plus per-class bias), pick the binary threshold by the named rule
(:mod:`edgekd.decision.operating_point`), and measure accuracy at 0.5 and at the operating
point, ECE and NLL before and after calibration, AUC and the confusion matrix.
"""

from __future__ import annotations

import numpy as np

from edgekd.decision.apply import decide, positive_log_odds, probabilities
from edgekd.decision.calibration import fit_bcts, fit_temperature
from edgekd.decision.calibration_metrics import expected_calibration_error, nll
from edgekd.decision.numerics import as_labels, as_logits, as_prior
from edgekd.decision.operating_point import canonical_name, follows_prior, select_threshold
from edgekd.decision.rates import decision_metrics
from edgekd.decision.record import DecisionRule, ValidationFigures
from edgekd.errors import EdgekdError
from edgekd.metrics import accuracy, auc, softmax
from edgekd.suggest import unknown

#: how the logits are calibrated: none, one temperature, or temperature + per-class bias (BCTS)
CALIBRATIONS = ("temperature", "bcts", "none")
#: the rule used when none is named (binary); more classes always decide by arg-max. 0.5 with
#: temperature calibration: the only rule never below the raw arg-max on both medical sets with
#: the default commands (benchmarks/decisions/decisions.md); rules that gain on a shifted test
#: split lose where validation and test share one distribution.
DEFAULT_RULE = "0.5"


def _refer_to_prior(bias: np.ndarray, labels: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """BCTS's bias moved so the calibrated probabilities refer to ``prior`` instead of validation's frequencies.

    The fitted bias makes the calibrated probabilities average to the validation split's class
    frequencies; adding ``log(prior / validation frequencies)`` states them under the training
    prior, which is what the record's ``train_prior`` and prior adaptation assume. A no-op for
    stratified splits; skipped when validation lacks a class (no frequency to move from).
    """
    counts = np.bincount(labels, minlength=len(prior))
    if np.any(counts == 0):
        return bias - bias.mean()
    shifted = bias + np.log(prior) - np.log(counts / counts.sum())
    return shifted - shifted.mean()


def fit_decision_rule(labels, logits, class_names, train_prior, rule: str | None = None,
                      calibration: str = "temperature", positive_class: int = 1, seed: int = 0) -> DecisionRule:
    """The decision rule for a model whose validation split gives ``logits`` (N x K) for ``labels``.

    ``train_prior``: class frequencies (or counts) of the training split. ``rule``: a binary
    operating point name (default :data:`DEFAULT_RULE`); for more than two classes only None,
    ``argmax`` or ``0.5`` are accepted. ``positive_class``: the class whose probability the
    threshold cuts and whose recall is the sensitivity (binary). ``seed`` fixes the bootstrap
    of the shrunk and guarded rules.
    """
    z = as_logits(logits, "validation logits")
    k = z.shape[1]
    y = as_labels(labels, z.shape[0], k)
    if len(y) == 0:
        raise EdgekdError("the validation split is empty: a decision rule needs labelled validation samples")
    if len(class_names) != k:
        raise EdgekdError(f"{len(class_names)} class names for a model with {k} outputs: give one name per output")
    prior = as_prior(train_prior, k, "train_prior")
    if calibration not in CALIBRATIONS:
        raise unknown("calibration", calibration, CALIBRATIONS)
    temperature, bias = 1.0, None
    bcts_t, bcts_bias = fit_bcts(y, z)
    bcts_bias = tuple(_refer_to_prior(bcts_bias, y, prior).tolist())
    if calibration == "temperature":
        temperature = fit_temperature(y, z)
    elif calibration == "bcts":
        temperature, bias = bcts_t, bcts_bias
    estimation = {} if calibration == "bcts" else {"estimation_temperature": bcts_t, "estimation_bias": bcts_bias}

    if k == 2:
        if positive_class not in (0, 1):
            raise EdgekdError(f"positive class {positive_class} must be 0 or 1 for a 2-class model")
        name = canonical_name(rule or DEFAULT_RULE)
        draft = DecisionRule(class_names, prior, temperature, bias, 0.5, True, positive_class, name)
        threshold = select_threshold(y, positive_log_odds(draft, z, adapted=False), name, positive_class,
                                     float(prior[positive_class]), seed)
        draft = DecisionRule(class_names, prior, temperature, bias, threshold, follows_prior(name), positive_class, name)
    else:
        if rule not in (None, "argmax", "0.5"):
            raise EdgekdError(f"operating point '{rule}' needs a 2-class model; {k} classes decide by arg-max "
                              "of the calibrated probabilities")
        draft = DecisionRule(class_names, prior, temperature, bias, rule="argmax")

    figures = rule_figures(draft, y, z)
    return DecisionRule(draft.class_names, draft.train_prior, draft.temperature, draft.bias, draft.threshold,
                        draft.threshold_follows_prior, draft.positive_class, draft.rule, None, figures, **estimation)


def rule_figures(rule: DecisionRule, labels, logits) -> ValidationFigures:
    """What ``rule`` achieves on labelled ``logits`` (any split): accuracy of the raw arg-max,
    accuracy, balanced accuracy, sensitivity and specificity at its operating point, AUC, ECE
    and NLL before and after calibration, and the confusion matrix (rows true, columns decided)."""
    z = as_logits(logits, "logits")
    k = z.shape[1]
    y = as_labels(labels, z.shape[0], k)
    calibrated = probabilities(rule, z, adapted=False)
    got = decision_metrics(y, decide(rule, z).predictions, k, rule.positive_class)
    area = auc(y, calibrated)
    return ValidationFigures(
        n=len(y), accuracy_at_half=accuracy(y, z), accuracy=got["accuracy"],
        balanced_accuracy=got["balanced_accuracy"], sensitivity=got.get("sensitivity"),
        specificity=got.get("specificity"), auc=None if np.isnan(area) else area,
        ece_before=expected_calibration_error(y, softmax(z)), ece_after=expected_calibration_error(y, calibrated),
        nll_before=nll(y, z), nll_after=nll(y, np.log(np.maximum(calibrated, 1e-300))),
        confusion=got["confusion"])
