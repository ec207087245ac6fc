"""``cam``: the student's class activation map against the teacher's, for the true class.

Not in METHOD.md: added to test whether matching the map the student
*exports* (its CAM head, ``edgekd/attention/cam.py``) keeps that map faithful, while
FMA / MIP matching gives students maps below random on ins−del
(benchmarks/faithfulness/faithfulness.md). A CAM is the student's own class evidence (its spatial
mean plus the bias is the logit), so pulling it towards the teacher's cannot detach
the map from the decision the way a feature-magnitude map can. Both maps are made for
the training label ``y`` at the last stage (the ``last`` layer rule), resized to the
attention size and min-max normalised; the shared loss is in ``maps.py``.
"""

from __future__ import annotations

from edgekd.distillation.methods.maps import MapMethod
from edgekd.distillation.methods.registry import register_method

__all__ = ["CAMMatch"]


@register_method
class CAMMatch(MapMethod):
    """CAM attention distillation (default beta = 1, as the other map methods)."""

    name = "cam"
    summary = "class activation map of the true class (the exported CAM head's map)"
