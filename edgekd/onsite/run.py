"""``classify`` and ``adapt`` on an exported model: one decision per image with its calibrated
probability, and the class prior of a set of unlabelled images. Torch-free."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgekd.decision import DecisionRule, decide, estimate_prior, prior_interval
from edgekd.decision.site import model_rule, site_rule, write_adaptation
from edgekd.errors import EdgekdError
from edgekd.fileio import atomic_write_text
from edgekd.onsite.inputs import SiteImages, model_input, read_inputs
from edgekd.onsite.spec import AdaptSpec, ClassifySpec

__all__ = ["Adaptation", "Classified", "adapt_model", "classify_images"]

#: images per runtime call
BATCH = 64
#: fewer unlabelled images than this give a prior estimate too loose to act on: said in a warning
FEW_IMAGES = 50


@dataclass
class Classified:
    """Decisions on a set of images: ``rows`` (one dict per image: file, decision, its calibrated
    probability, each class's probability, the true class where known), the rule used, the site
    adaptation it used (None), the estimated prior of these images (when asked) and the CSV path."""

    rows: list[dict[str, Any]]
    rule: DecisionRule
    adaptation: dict | None
    estimated_prior: list[float] | None
    csv: Path | None
    skipped: list[tuple[str, str]]


@dataclass
class Adaptation:
    """A site prior estimated from unlabelled images, with its bootstrap interval and record file."""

    prior: list[float]
    interval: list[list[float]]
    train_prior: list[float]
    class_names: list[str]
    n_images: int
    path: Path
    warnings: list[str]


def _load(spec):
    """The model's runner (its metadata checked to be edgekd's)."""
    from edgekd.runtime.registry import create_runner

    runner = create_runner(spec.model, spec.runtime, spec.threads)
    if not runner.metadata.get("input_size"):
        raise EdgekdError(f"{spec.model} carries no edgekd metadata: classify and adapt read models exported by "
                          "edgekd")
    return runner


def _logits(runner, images: SiteImages) -> np.ndarray:
    x = model_input(images.images, runner.metadata)
    parts = [runner.run(x[i:i + BATCH])["logits"] for i in range(0, len(x), BATCH)]
    return np.concatenate(parts).astype(np.float64)


def _images(spec, meta: dict) -> SiteImages:
    return read_inputs(spec.images, meta, spec.dataset, spec.split, spec.data_dir, spec.resize,
                       skip_unreadable=getattr(spec, "skip_unreadable", False))


def classify_images(spec: ClassifySpec) -> Classified:
    """Decide every image of ``spec`` with the model's rule (under the site prior of
    ``<model>.adapt.json`` unless ``spec.adapted`` is False) and write the CSV."""
    spec.check()
    runner = _load(spec)
    rule, adaptation = site_rule(spec.model, runner.metadata, spec.adapted)
    images = _images(spec, runner.metadata)
    logits = _logits(runner, images)
    decisions = decide(rule, logits)
    names = list(rule.class_names)
    rows = []
    for i, name in enumerate(images.names):
        k = int(decisions.predictions[i])
        row = {"image": name, "decision": names[k], "probability": float(decisions.probabilities[i, k])}
        row.update({f"p_{c}": float(decisions.probabilities[i, j]) for j, c in enumerate(names)})
        if images.labels[i] >= 0:
            row["true"] = names[int(images.labels[i])]
        rows.append(row)
    estimated = estimate_prior(rule, logits).tolist() if spec.estimate_prior else None
    out = spec.out or None
    if out is not None:
        atomic_write_text(out, _csv(rows))
    return Classified(rows, rule, adaptation, estimated, out, images.skipped)


def _csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in row.items()} for row in rows)
    return buffer.getvalue()


def adapt_model(spec: AdaptSpec) -> Adaptation:
    """Estimate the class prior of ``spec``'s unlabelled images (EM on the model's calibrated
    probabilities, bootstrap interval) and write it beside the model as ``<model>.adapt.json``."""
    spec.check()
    runner = _load(spec)
    rule = model_rule(runner.metadata, spec.model)
    images = _images(spec, runner.metadata)
    logits = _logits(runner, images)
    prior = estimate_prior(rule, logits, spec.estimator)
    low, high = prior_interval(rule, logits, spec.estimator, n_boot=spec.bootstrap, seed=spec.seed)
    warnings = []
    if len(logits) < FEW_IMAGES:
        warnings.append(f"only {len(logits)} images: the estimate is loose (see its interval); {FEW_IMAGES}+ images "
                        "give a prior worth deciding by")
    source = f"--dataset {spec.dataset} --split {spec.split}" if spec.dataset else " ".join(map(str, spec.images))
    path = write_adaptation(spec.model, rule, prior.tolist(), [low.tolist(), high.tolist()], spec.estimator,
                            len(logits), source[:500])
    return Adaptation(prior.tolist(), [low.tolist(), high.tolist()], list(rule.train_prior), list(rule.class_names),
                      len(logits), path, warnings)
