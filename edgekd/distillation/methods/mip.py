"""``mip``: the student's MIP map against the teacher's (METHOD.md, "The three combiners").

The map is ``edgekd.attention.maps.mip`` of the stages the ``first-last`` layer rule
picks (or the given layers); see ``maps.py`` in this package for the shared loss.
"""

from __future__ import annotations

from edgekd.distillation.methods.maps import MapMethod

__all__ = ["MIP"]


class MIP(MapMethod):
    """MIP attention distillation (default beta = 1)."""

    name = "mip"
    summary = "maximum intensity projection: max across layers of mean_c|A|"
