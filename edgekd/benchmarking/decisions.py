"""What a model's shipped decision rule achieves on the images bench evaluated it on.

An edgekd model carries its validated rule (temperature, operating point, training prior) in
its metadata; with ``<model>.adapt.json`` beside it (``edgekd adapt``) it decides under the
site's prior, as ``edgekd classify`` does. Bench reports, next to the raw arg-max accuracy and
AUC: accuracy, balanced accuracy, sensitivity and specificity at that operating point, and ECE
(15 bins) before and after calibration. With ``--estimate-prior`` it also estimates the class
prior of the images from the model's calibrated probabilities (no labels used) and the
accuracy the rule would reach adapted to it. Torch-free.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgekd.decision import estimate_prior, with_prior
from edgekd.decision.fit import rule_figures
from edgekd.decision.site import site_rule

__all__ = ["decision_figures"]


def decision_figures(meta: dict[str, Any], model: str | Path, logits: np.ndarray, labels: np.ndarray | None,
                     estimate: bool = False) -> dict[str, Any] | None:
    """The rule's figures on ``logits`` (None for a model without a decision rule); without
    ``labels`` only the estimated prior (when ``estimate``)."""
    if not meta.get("decision"):
        return None
    rule, adaptation = site_rule(model, meta)
    out: dict[str, Any] = {"rule": rule.rule, "threshold": rule.threshold, "temperature": rule.temperature,
                           "class_names": list(rule.class_names), "train_prior": list(rule.train_prior),
                           "positive_class": rule.positive_class,
                           "adapted_to": None if adaptation is None else list(adaptation["prior"])}
    if labels is not None and len(labels):
        figures = rule_figures(rule, labels, logits)
        out.update({"accuracy": figures.accuracy, "balanced_accuracy": figures.balanced_accuracy,
                    "sensitivity": figures.sensitivity, "specificity": figures.specificity,
                    "ece_before": figures.ece_before, "ece_after": figures.ece_after,
                    "confusion": [list(row) for row in figures.confusion], "n": figures.n})
    if estimate:
        prior = estimate_prior(rule, logits)
        out["estimated_prior"] = [float(p) for p in prior]
        if labels is not None and len(labels):
            out["accuracy_at_estimated_prior"] = rule_figures(with_prior(rule, prior), labels, logits).accuracy
    return out
