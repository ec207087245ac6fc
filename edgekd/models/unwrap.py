"""The plain model inside training wrappers (DDP, DataParallel, torch.compile): where its
stages, hooks and weights live. Used by training, attention capture and export alike."""

from __future__ import annotations

from torch import nn

__all__ = ["unwrap"]


def unwrap(model: nn.Module) -> nn.Module:
    """The plain model inside DDP / DataParallel (``.module``) and ``torch.compile``
    (``._orig_mod``) wrappers, in any nesting; hooks and stage names live there."""
    wrappers = (nn.parallel.DistributedDataParallel, nn.DataParallel)
    while True:
        inner = getattr(model, "_orig_mod", None)
        if isinstance(inner, nn.Module):
            model = inner
        elif isinstance(model, wrappers):
            model = model.module
        else:
            return model
