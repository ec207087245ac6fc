"""``mip``: the student's MIP map against the teacher's (METHOD.md, "The three combiners").

The map is ``edgekd.attention.maps.mip`` of the stages the ``first-last`` layer rule
picks (or the given layers); see ``maps.py`` in this package for the shared loss.
"""

from __future__ import annotations

from edgekd.distillation.methods.maps import MapMethod
from edgekd.distillation.methods.registry import register_method

__all__ = ["MIP"]


@register_method
class MIP(MapMethod):
    """MIP attention distillation (default beta = 1)."""

    name = "mip"
    summary = "maximum intensity projection: max across layers of mean_c|A|"
