"""Setting up a run: data, run folder, seeds, and the final test evaluation.

Shared by ``train`` and ``distill`` so both behave the same way on resume, on an
existing run folder and at the end of training.
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from edgekd.data.registry import get_source, load_split
from edgekd.data.spec import DatasetInfo, stratified_indices
from edgekd.errors import EdgekdError
from edgekd.fileio import atomic_write_json
from edgekd.training.batches import TensorSplit
from edgekd.training.checkpoint import build_model, load_checkpoint, rewrite_model
from edgekd.training.evaluate import evaluate
from edgekd.training.loop import TrainConfig
from edgekd.training.threads import apply_threads


@dataclass
class RunData:
    info: DatasetInfo
    train: TensorSplit
    val: TensorSplit
    test: TensorSplit


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed Python, NumPy and torch; ``deterministic`` turns torch's deterministic algorithms
    on (bitwise-reproducible runs, at the cost measured in benchmarks/determinism/determinism.md) or off.
    Both are set explicitly: the setting is process-wide and outlives a run."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(deterministic, warn_only=True)
    torch.backends.cudnn.benchmark = not deterministic  # cuDNN's autotuner picks kernels by timing


def configure_torch(cfg: TrainConfig) -> None:
    """Everything a run sets in torch before it builds models: threads (when the config
    names a count), seeds and deterministic algorithms."""
    if cfg.threads is not None:
        apply_threads(cfg.threads)
    seed_everything(cfg.seed, cfg.deterministic)


def load_run_data(dataset: str, data_dir: str | None, download: bool = False, label_fraction: float = 1.0,
                  fraction_seed: int = 0) -> RunData:
    """All three splits as tensors; ``label_fraction`` < 1 keeps a stratified subset of train."""
    source = get_source(dataset)
    splits = {s: load_split(dataset, s, data_dir, download, source=source) for s in ("train", "val", "test")}
    if not 0 < label_fraction <= 1:
        raise EdgekdError("--label-fraction must be in (0, 1]")
    if label_fraction < 1:
        keep, _ = stratified_indices(splits["train"].labels, (label_fraction, 1 - label_fraction), fraction_seed)
        splits["train"].images, splits["train"].labels = splits["train"].images[keep], splits["train"].labels[keep]
    info = source.info
    return RunData(info, *(TensorSplit.from_split(splits[s], info) for s in ("train", "val", "test")))


def announce_data(info: DatasetInfo) -> None:
    """Say on stderr how a ``folder:PATH`` set was read (its layout, a validation split carved
    by edgekd), once every check has passed, so a user sees which images train and test."""
    if info.fingerprint:
        print(f"data: {info.source}", file=sys.stderr)


def prepare_out_dir(out: Path, resume: bool, force: bool) -> None:
    """Refuse to overwrite an existing run unless --resume (continue) or --force (start over)."""
    if out.exists() and not out.is_dir():
        raise EdgekdError(f"--out {out} is a file, not a folder; give a folder for the run")
    has_run = (out / "last.pt").exists() or (out / "model.pt").exists()
    if has_run and not (resume or force):
        raise EdgekdError(f"{out} already holds a run; use --resume to continue it, --force to start over, "
                          f"or another --out")
    if resume and not (out / "last.pt").exists():
        raise EdgekdError(f"nothing to resume in {out} (no last.pt); drop --resume to start a new run")
    if force and not resume:
        for name in ("last.pt", "model.pt", "metrics.json", "steps.jsonl"):
            (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def finish(out: Path, data: RunData, device: torch.device, cfg: TrainConfig) -> dict:
    """After training: fit the selected checkpoint's decision rule on the validation split
    (``cfg.calibration``, ``cfg.operating_point``), store it in model.pt and metrics.json, and
    evaluate on the test split, at 0.5 and at the operating point; write test.json."""
    from edgekd.training.decide import fit_rule, split_figures, train_prior

    best = load_checkpoint(out / "model.pt")
    model = build_model(best).to(device)
    rule = fit_rule(model, data.val, train_prior(data.train, data.info.num_classes), best["data"],
                    cfg.operating_point, cfg.calibration, device)
    rewrite_model(out / "model.pt", best, decision=rule.to_dict())
    metrics = json.loads((out / "metrics.json").read_text())
    atomic_write_json(out / "metrics.json", {**metrics, "decision": rule.to_dict()})
    test = evaluate(model, data.test, device=device)
    test["decision"] = split_figures(rule, model, data.test, device)
    result = {"best_epoch": best["best"]["epoch"], "val": best["best"]["val"], "test": test,
              "decision": rule.to_dict()}
    atomic_write_json(out / "test.json", result)
    return result
