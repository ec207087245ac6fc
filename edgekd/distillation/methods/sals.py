"""``sals``: saliency maps (Simonyan et al. 2014) as attention, ``max_c |d z_y / d x|``.

The teacher's map is a plain input gradient; the student's keeps ``create_graph=True``
(double backprop) so the map loss trains it (``edgekd/attention/saliency.py``). No stage
is captured. See ``maps.py`` in this package for the shared loss.
"""

from __future__ import annotations

from edgekd.distillation.methods.maps import MapMethod
from edgekd.distillation.methods.registry import register_method

__all__ = ["SALS"]


@register_method
class SALS(MapMethod):
    """Saliency-map attention distillation (default beta = 1)."""

    name = "sals"
    double_backprop = True
    summary = "saliency: max over channels of |d z_y / d x|, double backprop for the student"
