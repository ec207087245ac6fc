"""The table of distillation methods: a name maps to a :class:`~edgekd.distillation.methods.base.Method`
class. Each method file registers its class with ``@register_method``; a name registered twice is
an error, never a silent overwrite. ``edgekd.distillation.methods`` imports every file of the
package, so a new method is one new file (and its test)."""

from __future__ import annotations

from edgekd.errors import EdgekdError

__all__ = ["register_method", "registered"]

_REGISTRY: dict[str, type] = {}


def register_method(cls: type) -> type:
    """Class decorator: add ``cls`` under ``cls.name``; EdgekdError if the name is taken."""
    if cls.name in _REGISTRY:
        raise EdgekdError(f"distillation method {cls.name!r} is already registered: pick another name")
    _REGISTRY[cls.name] = cls
    return cls


def registered() -> dict[str, type]:
    """The registered method classes by name, in registration order."""
    return _REGISTRY
