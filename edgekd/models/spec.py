"""The spec of ``edgekd models`` (see :mod:`edgekd.spec`). Torch-free."""

from __future__ import annotations

from dataclasses import dataclass

from edgekd.spec import Spec, option

__all__ = ["ModelsSpec"]


@dataclass(kw_only=True)
class ModelsSpec(Spec):
    """List models: role, parameters and multiply-accumulates at the given input size."""

    command = "models"

    size: int = option(28, "Input size (pixels) for the MACs column.")
    channels: int = option(1, "Input channels.")
    num_classes: int = option(2, "Output classes.")
    role: str | None = option(None, "Show only teacher or student models.", choices=("teacher", "student"))
