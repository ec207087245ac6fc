"""Which stages a checkpoint's explanation map is computed from: the exported head's rule
(``edgekd/attention/stages.py``: default stages minus those that are 1 x 1 at the input
size; CAM on the last stage). Explicit ``layers`` are used as given; SALS needs none.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from edgekd.attention import registry
from edgekd.attention.stages import ConstantMapError, map_stages
from edgekd.errors import EdgekdError


def map_layers(model: nn.Module, map_name: str, input_shape: Sequence[int],
               layers: Sequence[str] | None = None, trained: Sequence[str] | None = None) -> list[str] | None:
    """The layers to pass to the registry's ``compute`` for ``map_name`` (None where the
    combiner captures none); ``trained``: the layers the checkpoint was distilled with."""
    if layers:
        return list(layers)
    if not registry.get(map_name).needs_capture:
        return None
    try:
        return map_stages(model, map_name, input_shape, trained)
    except ConstantMapError as exc:
        advice = "use --map fma, mip or sals" if map_name == "cam" else "use --map sals, or pass --layers"
        raise EdgekdError(f"{exc}: {advice}") from None
