"""``none``: the student trained alone on the labels (cross-entropy only, alpha = 0).

With ``alpha > 0`` the Distiller adds Hinton KD to it, like to every method.
"""

from __future__ import annotations

from edgekd.distillation.methods.base import Method
from edgekd.distillation.methods.registry import register_method

__all__ = ["CE"]


@register_method
class CE(Method):
    """Cross-entropy alone: the base method, nothing of its own."""

    name = "none"
    summary = "student trained alone (cross-entropy)"
