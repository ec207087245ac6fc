"""Distillation methods: one file per method, one table from name to method class.

Each method implements :class:`~edgekd.distillation.methods.base.Method` (what it needs from
the teacher, its loss terms); the Distiller adds CE and KD and never names a method.
Adding a method: one new file here with a ``Method`` subclass, its test, and one entry
in ``_CLASSES`` below. A name registered twice is an error.
"""

from __future__ import annotations

from edgekd.distillation.config import DEFAULT_METHOD
from edgekd.distillation.methods.at import AT
from edgekd.distillation.methods.base import Method, MethodOptions
from edgekd.distillation.methods.cam import CAMMatch
from edgekd.distillation.methods.ce import CE
from edgekd.distillation.methods.fma import FMA
from edgekd.distillation.methods.kd import KD
from edgekd.distillation.methods.mip import MIP
from edgekd.distillation.methods.sals import SALS
from edgekd.errors import EdgekdError
from edgekd.suggest import unknown

__all__ = ["DEFAULT", "METHODS", "Method", "MethodOptions", "get", "register"]

_CLASSES: list[type[Method]] = [CE, KD, AT, FMA, MIP, SALS, CAMMatch]
_REGISTRY: dict[str, type[Method]] = {}


def register(cls: type[Method]) -> type[Method]:
    """Add a method class under its ``name``; EdgekdError if the name is taken."""
    if cls.name in _REGISTRY:
        raise EdgekdError(f"distillation method {cls.name!r} is already registered: pick another name")
    _REGISTRY[cls.name] = cls
    return cls


for _cls in _CLASSES:
    register(_cls)

METHODS: tuple[str, ...] = tuple(_REGISTRY)
DEFAULT = DEFAULT_METHOD  # the method distill and the Distiller use when none is named


def get(name: str) -> type[Method]:
    """The method class called ``name``; the one-line "unknown" error with a close match."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise unknown("distillation method", name, list(_REGISTRY)) from None
