"""``fma``: the student's FMA map against the teacher's (METHOD.md, "The three combiners").

The map is ``edgekd.attention.maps.fma`` of the stages the ``first-last`` layer rule
picks (or the given layers); see ``maps.py`` in this package for the shared loss.
"""

from __future__ import annotations

from edgekd.distillation.methods.maps import MapMethod
from edgekd.distillation.methods.registry import register_method

__all__ = ["FMA"]


@register_method
class FMA(MapMethod):
    """FMA attention distillation (default beta = 1)."""

    name = "fma"
    summary = "feature map accumulation: mean across layers of mean_c|A|"
