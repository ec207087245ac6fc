"""Evaluation of a PyTorch model on a split: logits in batches, then accuracy and AUC."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from edgekd.errors import EdgekdError
from edgekd.metrics import classification_report
from edgekd.training.batches import TensorSplit

#: input values per evaluation batch: 512 images up to 28 x 28 x 3, fewer for larger inputs, so
#: evaluating 128 px photos does not hold a 512-image batch's activations at once
BATCH_VALUES = 512 * 3 * 28 * 28


def eval_batch(data: TensorSplit) -> int:
    per_image = int(np.prod(data.x.shape[1:])) or 1
    return max(8, min(512, BATCH_VALUES // per_image))


@torch.no_grad()
def predict_logits(model: torch.nn.Module, data: TensorSplit, batch_size: int | None = None,
                   device: str | torch.device = "cpu") -> np.ndarray:
    batch_size = batch_size or eval_batch(data)
    was_training = model.training
    model.eval()
    out = []
    for start in range(0, len(data), batch_size):
        xb = data.x[start:start + batch_size].to(device, non_blocking=True)
        out.append(model(xb).float().cpu())
    model.train(was_training)
    return torch.cat(out).numpy()


def evaluate(model: torch.nn.Module, data: TensorSplit, batch_size: int | None = None,
             device: str | torch.device = "cpu") -> dict:
    """``{"accuracy", "auc", "n", "loss"}`` of ``model`` on ``data``."""
    return _report(data.y.numpy(), predict_logits(model, data, batch_size, device))


def _report(labels: np.ndarray, logits: np.ndarray) -> dict:
    report = classification_report(labels, logits)
    report["loss"] = float(torch.nn.functional.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels)))
    return report


def evaluate_checkpoint(checkpoint, dataset: str | None, split: str, data_dir: str | None = None,
                        download: bool = False, device: str = "auto", reliability: str | None = None,
                        options=None) -> dict:
    """``{"checkpoint", "dataset", "split", "accuracy", "auc", "n", "loss", "decision"}`` of a checkpoint on
    ``split`` of ``dataset`` (default: its own), refusing a data set of another shape. ``decision``:
    what its decision rule achieves there (accuracy at 0.5 and at the operating point, balanced
    accuracy, sensitivity, specificity, ECE and NLL before and after calibration, confusion
    matrix; None for a checkpoint without one); ``reliability``: a PNG path for the
    reliability diagram (before / after calibration). A folder:PATH set is read as the checkpoint
    was trained (its stored image size and resize policy) unless ``options`` (a
    :class:`~edgekd.data.options.ReadOptions`) say otherwise."""
    from edgekd.data.registry import get_source, load_split
    from edgekd.decision import DecisionRule, probabilities
    from edgekd.decision.fit import rule_figures
    from edgekd.decision.plots import plot_reliability
    from edgekd.errors import EdgekdError
    from edgekd.metrics import softmax
    from edgekd.training.checkpoint import build_model, load_checkpoint

    content = load_checkpoint(checkpoint)
    name = dataset or content["data"]["name"]
    stored = (content["data"].get("preprocess") or {}) if name.startswith("folder:") else {}
    size, resize = getattr(options, "image_size", None), getattr(options, "resize", None)
    source = get_source(name, size or stored.get("image_size"), resize or stored.get("resize"),
                        getattr(options, "skip_bad", False))
    info = source.info
    if split not in info.splits:
        raise EdgekdError(f"{name} has no {split} split (it has {', '.join(info.splits)}): pass --split "
                          f"{'val' if 'val' in info.splits else 'train'}, or add a {split}/ folder of class folders")
    want = content["data"]
    if (info.channels, info.size) != (want["channels"], want["size"]) or info.num_classes != want["num_classes"]:
        raise EdgekdError(f"{name} has {info.channels}x{info.size}x{info.size} inputs and {info.num_classes} classes, "
                          f"the checkpoint expects {want['channels']}x{want['size']}x{want['size']} and "
                          f"{want['num_classes']}; evaluate on a matching data set")
    data = TensorSplit.from_split(load_split(name, split, data_dir, download, source=source), info)
    dev = resolve_device(device)
    logits = predict_logits(build_model(content).to(dev), data, device=dev)
    labels = data.y.numpy()
    result = {"checkpoint": str(checkpoint), "dataset": name, "split": split, **_report(labels, logits),
              "decision": None}
    if info.preprocess:
        result["preprocess"] = info.preprocess
    if content.get("decision"):
        rule = DecisionRule.from_dict(content["decision"])
        result["decision"] = {"rule": rule.rule, "temperature": rule.temperature, "threshold": rule.threshold,
                              **rule_figures(rule, labels, logits).to_dict()}
        if reliability:
            plot_reliability(labels, {"before (softmax)": softmax(logits),
                                      f"after (T = {rule.temperature:.2f})": probabilities(rule, logits, adapted=False)},
                             reliability, title=f"{Path(checkpoint).name} on {name} {split}")
    return result


def resolve_device(name: str) -> torch.device:
    """``--device``: auto, cpu or cuda, as a torch device (a one-line error for a GPU that is not there)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise EdgekdError("--device cuda was asked for but no CUDA GPU is visible; use --device cpu")
    if name != "cpu" and not name.startswith("cuda"):
        raise EdgekdError(f"unknown device '{name}'; use auto, cpu or cuda")
    return torch.device(name)
