"""Distillation methods: one file per method, one table from name to method class.

Each method implements :class:`~edgekd.distill.methods.base.Method` (what it needs from
the teacher, its loss terms); the Distiller adds CE and KD and never names a method.
Adding a method: one new file here with a ``Method`` subclass, its test, and one entry
in ``_CLASSES`` below. A name registered twice is an error.
"""

from __future__ import annotations

from edgekd.distill.methods.at import AT
from edgekd.distill.methods.base import Method, MethodOptions
from edgekd.distill.methods.cam import CAMMatch
from edgekd.distill.methods.ce import CE
from edgekd.distill.methods.fma import FMA
from edgekd.distill.methods.kd import KD
from edgekd.distill.methods.mip import MIP
from edgekd.distill.methods.sals import SALS
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
DEFAULT = "mip"  # the method the CLI, DistillConfig and the Distiller use when none is named (benchmarks/study/study.md)


def get(name: str) -> type[Method]:
    """The method class called ``name``; the one-line "unknown" error with a close match."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise unknown("distillation method", name, list(_REGISTRY)) from None
