"""The model registry: a name maps to a builder (as timm's register_model / create_model).

Every model adapts to ``in_channels`` and ``num_classes`` and declares ``stages`` (the
names of its main blocks, in forward order, for attention capture by hooks) and
``classifier`` (the name of its final Linear, used by CAM). ``tv:NAME`` builds any
torchvision classifier. Unknown names fail with the list of names and a close match.
"""

from __future__ import annotations

import importlib
import pkgutil

from torch import nn

from edgekd.errors import EdgekdError
from edgekd.models.entries import ROLES, ModelEntry, entries, register_model
from edgekd.suggest import unknown

__all__ = ["ROLES", "ModelEntry", "create_model", "model_entries", "register_model"]


def _ensure_loaded() -> None:
    """Import every family module of ``edgekd.models.zoo`` (each registers its models)."""
    from edgekd.models import zoo

    for module in pkgutil.iter_modules(zoo.__path__):
        importlib.import_module(f"{zoo.__name__}.{module.name}")


def model_entries(role: str | None = None) -> list[ModelEntry]:
    """Registered models in registration order; only those of ``role`` when given (an
    unknown role is the one-line "unknown" error with a close match, not an empty list)."""
    _ensure_loaded()
    if role is not None and role not in ROLES:
        raise unknown("model role", role, ROLES)
    return [e for e in entries().values() if role is None or e.role == role]


def create_model(name: str, in_channels: int, num_classes: int, **kwargs) -> nn.Module:
    """Build a registered model (or ``tv:NAME``) and check it declares its stages."""
    _ensure_loaded()
    if name.startswith("tv:"):
        from edgekd.models.tv import torchvision_model

        model = torchvision_model(name[3:], in_channels, num_classes, **kwargs)
    else:
        if name not in entries():
            raise unknown("model", name, entries(), also=", or tv:NAME")
        try:
            model = entries()[name].builder(in_channels=in_channels, num_classes=num_classes, **kwargs)
        except TypeError as exc:
            raise EdgekdError(f"bad arguments for model '{name}': {exc}") from None
    model.edgekd_name = name
    return model
