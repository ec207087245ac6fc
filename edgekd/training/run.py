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

from edgekd.data.options import ReadOptions as DataOptions
from edgekd.data.registry import get_source, load_split
from edgekd.data.spec import DatasetInfo, stratified_indices
from edgekd.errors import EdgekdError
from edgekd.fileio import atomic_write_json, atomic_write_text
from edgekd.training.batches import TensorSplit
from edgekd.training.checkpoint import build_model, load_checkpoint, rewrite_model
from edgekd.training.evaluate import evaluate
from edgekd.training.loop import TrainConfig
from edgekd.training.out_dir import check_out_dir, prepare_out_dir, run_folder  # noqa: F401 - the run folder's rules
from edgekd.training.threads import apply_threads


@dataclass
class RunData:
    info: DatasetInfo
    train: TensorSplit
    val: TensorSplit
    test: TensorSplit | None  # None: the set has no test split (a train/ + val/ folder)
    source: object = None  # the data source (a folder set's split files are written with the run)


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


def open_source(dataset: str, options: DataOptions | None = None, quiet: bool = False):
    """The data source, its facts known (a folder set scanned) but no image decoded yet."""
    options = options or DataOptions()
    return get_source(dataset, options.image_size, options.resize, options.skip_bad, quiet)


def train_count(info: DatasetInfo, label_fraction: float) -> int:
    """Training images a run uses (after ``--label-fraction``), from the data set's facts."""
    n = info.splits.get("train", 0)
    return max(1, round(n * label_fraction)) if n else 0


def load_run_data(dataset: str, data_dir: str | None, download: bool = False, label_fraction: float = 1.0,
                  fraction_seed: int = 0, options: DataOptions | None = None, quiet: bool = False,
                  source=None) -> RunData:
    """Every split as tensors (test None when the set has none); ``label_fraction`` < 1 keeps a
    stratified subset of train. Each split's uint8 images become float32 one at a time."""
    if not 0 < label_fraction <= 1:
        raise EdgekdError("--label-fraction must be in (0, 1]")
    source = source or open_source(dataset, options, quiet)
    names = [s for s in ("train", "val", "test") if s in source.info.splits or not source.info.splits]
    tensors = {}
    for s in names:
        split = load_split(dataset, s, data_dir, download, source=source)
        if s == "train" and label_fraction < 1:
            keep, _ = stratified_indices(split.labels, (label_fraction, 1 - label_fraction), fraction_seed)
            split.images, split.labels = split.images[keep], split.labels[keep]
        tensors[s] = TensorSplit.from_split(split, source.info)
    return RunData(source.info, tensors["train"], tensors["val"], tensors.get("test"), source)


def announce_data(data: RunData | DatasetInfo) -> None:
    """Say on stderr how a ``folder:PATH`` set was read (its layout, how validation and test were
    chosen, the preprocessing), once every check has passed, so a user sees which images train and test."""
    info = data.info if isinstance(data, RunData) else data
    if info.fingerprint:
        print(f"data: {info.source}", file=sys.stderr)
    if not info.has_test:
        print(f"data: {NO_TEST}", file=sys.stderr)


NO_TEST = ("no test split: the figures reported are on validation, which also picked the best epoch, so they "
           "overstate accuracy on new images; add a test/ folder for an unbiased test figure")


def write_split_files(out: Path, data: RunData) -> None:
    """``splits.csv`` in the run folder: every image of a folder set with its label and split, so
    what was used for validation and test is on record (the split edgekd carved included)."""
    decoded = getattr(data.source, "decoded", None)
    if decoded is None:
        return
    d, scan = decoded(), data.source.scan
    lines = ["path,label,split"]
    for s, files in d.files.items():
        lines += [f"{_csv_field(scan.rel(f))},{_csv_field(scan.classes[int(lab)])},{s}"
                  for f, lab in zip(files, d.labels[s])]
    atomic_write_text(out / "splits.csv", "\n".join(lines) + "\n")


def _csv_field(text: str) -> str:
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if any(c in text for c in ',"\n') else text


def finish(out: Path, data: RunData, device: torch.device, cfg: TrainConfig) -> dict:
    """After training: fit the selected checkpoint's decision rule on the validation split
    (``cfg.calibration``, ``cfg.operating_point``), store it in model.pt and metrics.json, and
    evaluate on the test split, at 0.5 and at the operating point; write test.json. Without a
    test split, ``test`` is None and ``no_test`` says why (validation is never called test)."""
    from edgekd.training.decide import fit_rule, split_figures, train_prior

    best = load_checkpoint(out / "model.pt")
    model = build_model(best).to(device)
    rule = fit_rule(model, data.val, train_prior(data.train, data.info.num_classes), best["data"],
                    cfg.operating_point, cfg.calibration, device)
    rewrite_model(out / "model.pt", best, decision=rule.to_dict())
    metrics = json.loads((out / "metrics.json").read_text())
    atomic_write_json(out / "metrics.json", {**metrics, "decision": rule.to_dict()})
    result = {"best_epoch": best["best"]["epoch"], "val": best["best"]["val"], "test": None,
              "decision": rule.to_dict()}
    if data.test is not None:
        result["test"] = evaluate(model, data.test, device=device)
        result["test"]["decision"] = split_figures(rule, model, data.test, device)
    else:
        result["no_test"] = NO_TEST
    atomic_write_json(out / "test.json", result)
    return result
