"""The model registry: a name maps to a builder (as timm's register_model / create_model).

Every model adapts to ``in_channels`` and ``num_classes`` and declares ``stages`` (the
names of its main blocks, in forward order, for attention capture by hooks) and
``classifier`` (the name of its final Linear, used by CAM). ``tv:NAME`` builds any
torchvision classifier. Unknown names fail with the list of names and a close match.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from edgekd.errors import EdgekdError


@dataclass(frozen=True)
class ModelEntry:
    name: str
    role: str  # "teacher" or "student"
    builder: Callable[..., nn.Module]
    description: str


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(name: str, role: str, description: str):
    """Decorator registering ``builder(in_channels, num_classes, **kwargs)`` under ``name``."""

    def wrap(builder):
        if name in _REGISTRY:
            raise ValueError(f"model '{name}' is registered twice")
        _REGISTRY[name] = ModelEntry(name, role, builder, description)
        return builder

    return wrap


def _ensure_loaded() -> None:
    # importing the families fills the registry
    from edgekd.models import cnn, mobilenet, resnet18, resnet_cifar, wrn  # noqa: F401


def model_entries() -> list[ModelEntry]:
    _ensure_loaded()
    return list(_REGISTRY.values())


def create_model(name: str, in_channels: int, num_classes: int, **kwargs) -> nn.Module:
    """Build a registered model (or ``tv:NAME``) and check it declares its stages."""
    _ensure_loaded()
    if name.startswith("tv:"):
        from edgekd.models.tv import torchvision_model

        model = torchvision_model(name[3:], in_channels, num_classes, **kwargs)
    else:
        if name not in _REGISTRY:
            close = difflib.get_close_matches(name, _REGISTRY, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise EdgekdError(f"unknown model '{name}'{hint}; known: {', '.join(_REGISTRY)}, or tv:NAME")
        try:
            model = _REGISTRY[name].builder(in_channels=in_channels, num_classes=num_classes, **kwargs)
        except TypeError as exc:
            raise EdgekdError(f"bad arguments for model '{name}': {exc}") from None
    model.edgekd_name = name
    return model
