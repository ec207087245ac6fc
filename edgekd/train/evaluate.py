"""Evaluation of a PyTorch model on a split: logits in batches, then accuracy and AUC."""

from __future__ import annotations

import numpy as np
import torch

from edgekd.metrics import classification_report
from edgekd.train.batches import TensorSplit

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
    logits = predict_logits(model, data, batch_size, device)
    report = classification_report(data.y.numpy(), logits)
    report["loss"] = float(torch.nn.functional.cross_entropy(torch.from_numpy(logits), data.y))
    return report
