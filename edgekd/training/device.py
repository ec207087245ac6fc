"""``--device``: auto, cpu or cuda, as a torch device (a one-line error for a GPU that is not there)."""

from __future__ import annotations

import torch

from edgekd.errors import EdgekdError

__all__ = ["resolve_device"]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise EdgekdError("--device cuda was asked for but no CUDA GPU is visible; use --device cpu")
    if name != "cpu" and not name.startswith("cuda"):
        raise EdgekdError(f"unknown device '{name}'; use auto, cpu or cuda")
    return torch.device(name)
