"""Attention maps for distillation and for exported attention heads.

``capture`` (ATCam, forward hooks), ``maps`` (FMA, MIP), ``saliency`` (SALS), ``at``
(attention transfer baseline), ``cam`` (class activation maps), behind one ``registry``.
"""

from __future__ import annotations

from edgekd.attention.at import at_loss, at_map
from edgekd.attention.cam import cam_map, class_activation, classifier_of
from edgekd.attention.capture import (
    ATCam,
    Attention,
    at_default_layers,
    default_layers,
    run_with_features,
    unwrap,
)
from edgekd.attention.maps import fma, minmax, mip
from edgekd.attention.registry import Combiner, get, names, register
from edgekd.attention.saliency import saliency

__all__ = [
    "ATCam",
    "Attention",
    "Combiner",
    "at_default_layers",
    "at_loss",
    "at_map",
    "cam_map",
    "class_activation",
    "classifier_of",
    "default_layers",
    "fma",
    "get",
    "minmax",
    "mip",
    "names",
    "register",
    "run_with_features",
    "saliency",
    "unwrap",
]
