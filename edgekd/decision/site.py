"""The decision rule of an exported model, and the site's class prior beside it.

The rule travels inside the model file (its edgekd metadata, ``decision``). ``edgekd adapt``
writes the prior it estimated for a site to ``<model>.adapt.json``, tied to the model file by
its SHA-256; ``classify`` and ``bench`` then decide under that prior and say so. Torch-free.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edgekd.decision import DecisionRule, with_prior
from edgekd.errors import EdgekdError
from edgekd.fileio import atomic_write_json, file_digest

__all__ = ["adaptation_path", "model_rule", "read_adaptation", "site_rule", "write_adaptation"]

SCHEMA = 1


def adaptation_path(model: str | Path) -> Path:
    """``<model>.adapt.json``: the site prior ``edgekd adapt`` estimated for this model file."""
    model = Path(model)
    return model.with_name(model.name + ".adapt.json")


def model_rule(meta: dict[str, Any], where: str | Path) -> DecisionRule:
    """The decision rule in a model's metadata; a one-line error when it has none."""
    record = meta.get("decision")
    if not record:
        raise EdgekdError(f"{where} carries no decision rule (no calibration): calibrate its checkpoint (edgekd "
                          "calibrate MODEL.pt) and export it again")
    return DecisionRule.from_dict(record)


def read_adaptation(model: str | Path) -> dict[str, Any] | None:
    """The adaptation record beside ``model`` (None when there is none); refused when it was made
    for another version of the file."""
    path = adaptation_path(model)
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise EdgekdError(f"{path} is not valid JSON: delete it or run edgekd adapt again") from None
    if record.get("schema") != SCHEMA or record.get("model_sha256") != file_digest(model):
        raise EdgekdError(f"{path} was written for another version of {Path(model).name}: delete it or run edgekd "
                          "adapt again")
    return record


def site_rule(model: str | Path, meta: dict[str, Any], adapted: bool = True) -> tuple[DecisionRule, dict | None]:
    """The rule ``model`` decides by here: its own, under the site prior of ``<model>.adapt.json``
    when there is one and ``adapted``; and that adaptation record (None when not used)."""
    rule = model_rule(meta, model)
    record = read_adaptation(model) if adapted else None
    return (with_prior(rule, record["prior"]), record) if record else (rule, None)


def write_adaptation(model: str | Path, rule: DecisionRule, prior: list[float], interval: list[list[float]],
                     method: str, n_images: int, source: str) -> Path:
    """Write ``<model>.adapt.json`` atomically; returns its path."""
    path = adaptation_path(model)
    atomic_write_json(path, {"schema": SCHEMA, "model": Path(model).name, "model_sha256": file_digest(model),
                             "class_names": list(rule.class_names), "train_prior": list(rule.train_prior),
                             "prior": [float(v) for v in prior], "interval": interval, "estimator": method,
                             "n_images": n_images, "images": source})
    return path
