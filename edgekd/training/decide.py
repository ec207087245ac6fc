"""The decision rule of a trained model: fitted on its validation split after training (and by
``edgekd calibrate`` on any checkpoint), stored in ``model.pt``, reported on the test split.

The rule (:mod:`edgekd.decision`) is a temperature (with a per-class bias for ``bcts``), the
class prior of the training split, and for two classes a threshold chosen on validation by a
named operating point. It travels with the model: export writes it into the artifact's
metadata, and the device side decides with it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from edgekd.data.registry import positive_class
from edgekd.decision import DecisionRule, fit_decision_rule
from edgekd.decision.fit import rule_figures
from edgekd.errors import EdgekdError
from edgekd.training.batches import TensorSplit
from edgekd.training.evaluate import predict_logits

__all__ = ["calibrate_checkpoint", "fit_rule", "rule_of", "split_figures", "train_prior"]


def train_prior(train: TensorSplit, num_classes: int) -> np.ndarray:
    """The class frequencies of the training split (the prior the model learned under)."""
    counts = np.bincount(train.y.numpy(), minlength=num_classes).astype(np.float64)
    return counts / counts.sum()


def fit_rule(model: torch.nn.Module, val: TensorSplit, prior: np.ndarray, data: dict, operating_point: str,
             calibration: str, device: torch.device | str = "cpu") -> DecisionRule:
    """The decision rule of ``model`` fitted on ``val`` (``data``: the checkpoint's data record)."""
    logits = predict_logits(model, val, device=device)
    names = list(data["class_names"])
    positive = positive_class(data["name"], names)
    return fit_decision_rule(val.y.numpy(), logits, names, prior, operating_point, calibration,
                             positive_class=positive if len(names) == 2 else 1)


def split_figures(rule: DecisionRule, model: torch.nn.Module, split: TensorSplit,
                  device: torch.device | str = "cpu") -> dict:
    """What ``rule`` achieves on a labelled split, as a plain dict (test.json, eval)."""
    return rule_figures(rule, split.y.numpy(), predict_logits(model, split, device=device)).to_dict()


def rule_of(content: dict, where: str | Path = "the checkpoint") -> DecisionRule:
    """The decision rule stored in a checkpoint; a one-line error when it has none."""
    record = content.get("decision")
    if not record:
        raise EdgekdError(f"{where} has no decision rule (made before edgekd calibrated its models): add one with "
                          f"edgekd calibrate {where}")
    return DecisionRule.from_dict(record)


def calibrate_checkpoint(checkpoint: str | Path, operating_point: str, calibration: str,
                         data_dir: str | None = None, download: bool = False, device: str = "auto") -> DecisionRule:
    """Fit a checkpoint's decision rule again on its data set's validation split (another
    operating point or calibration, or a model made before rules existed) and store it in the
    file, written atomically; returns the rule."""
    from edgekd.data.registry import get_source, load_split
    from edgekd.training.checkpoint import build_model, load_checkpoint, rewrite_model
    from edgekd.training.evaluate import resolve_device

    content = load_checkpoint(checkpoint)
    name = content["data"]["name"]
    source = get_source(name)
    val = TensorSplit.from_split(load_split(name, "val", data_dir, download, source=source), source.info)
    train_labels = load_split(name, "train", data_dir, download, source=source).labels
    prior = np.bincount(np.asarray(train_labels).reshape(-1), minlength=source.info.num_classes).astype(np.float64)
    dev = resolve_device(device)
    rule = fit_rule(build_model(content).to(dev), val, prior / prior.sum(), content["data"], operating_point,
                    calibration, dev)
    rewrite_model(checkpoint, content, decision=rule.to_dict())
    return rule
