"""The table the model families register into: a name maps to a builder (timm's
``register_model``). It imports no family, so families import it without a cycle;
``edgekd.models.registry`` fills it by importing ``edgekd.models.zoo`` and builds models.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from edgekd.errors import EdgekdError

__all__ = ["ROLES", "ModelEntry", "entries", "register_model"]

ROLES = ("teacher", "student")


@dataclass(frozen=True)
class ModelEntry:
    name: str
    role: str  # one of ROLES
    builder: Callable[..., nn.Module]
    description: str


_ENTRIES: dict[str, ModelEntry] = {}


def register_model(name: str, role: str, description: str):
    """Decorator registering ``builder(in_channels, num_classes, **kwargs)`` under ``name``;
    EdgekdError when the name is taken or the role unknown."""

    def wrap(builder):
        if name in _ENTRIES:
            raise EdgekdError(f"model {name!r} is already registered: pick another name")
        if role not in ROLES:
            raise EdgekdError(f"model {name!r}: role must be one of {', '.join(ROLES)}, got {role!r}")
        _ENTRIES[name] = ModelEntry(name, role, builder, description)
        return builder

    return wrap


def entries() -> dict[str, ModelEntry]:
    """The registered entries by name (filled by importing ``edgekd.models.zoo``)."""
    return _ENTRIES
