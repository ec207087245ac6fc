"""``kd``: Hinton, Vinyals, Dean 2015 knowledge distillation.

The KD term itself (``T^2 * KL``, ``edgekd/losses/kd.py``) is the Distiller's, since every
method combines with it through alpha; this method only sets the default alpha = 0.9
(T = 4), as RepDistiller trains KD. It needs the teacher's logits and nothing else.
"""

from __future__ import annotations

from edgekd.distillation.methods.base import Method
from edgekd.distillation.methods.registry import register_method

__all__ = ["KD"]


@register_method
class KD(Method):
    """Hinton KD: CE + KD with alpha = 0.9 by default."""

    name = "kd"
    summary = "Hinton KD on the teacher's softened logits"
    default_alpha = 0.9
