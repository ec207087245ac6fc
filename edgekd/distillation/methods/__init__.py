"""Distillation methods: one file per method, found by importing every file of this package.

Each method implements :class:`~edgekd.distillation.methods.base.Method` (what it needs from
the teacher, its loss terms) and registers itself with
:func:`~edgekd.distillation.methods.registry.register_method`; the Distiller adds CE and KD
and never names a method. Adding a method: one new file here and its test (docs/architecture.md).
"""

from __future__ import annotations

import importlib
import pkgutil

from edgekd.distillation import DEFAULT_METHOD
from edgekd.distillation.methods.base import Method, MethodOptions
from edgekd.distillation.methods.registry import register_method, registered
from edgekd.suggest import unknown

__all__ = ["DEFAULT", "METHODS", "Method", "MethodOptions", "get", "register_method"]

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")

#: the registered names: CE alone and KD first, then the methods with a term of their own
METHODS: tuple[str, ...] = tuple(sorted(registered(), key=lambda n: (registered()[n].default_beta > 0,
                                                                     registered()[n].default_alpha > 0, n)))
DEFAULT = DEFAULT_METHOD  # the method distill and the Distiller use when none is named


def get(name: str) -> type[Method]:
    """The method class called ``name``; the one-line "unknown" error with a close match."""
    try:
        return registered()[name]
    except (KeyError, TypeError):
        raise unknown("distillation method", name, METHODS) from None
