"""One registry from a name to an attention combiner: fma, mip, sals, at, cam.

Every combiner has the same call form,
``compute(model, x, y=None, *, layers=None, size=None, create_graph=False) -> Attention``
(one forward pass: logits, B x H x W map or None, captured features), so the
distiller, the exporter and the figures never special-case a combiner beyond AT's
pairwise loss. Unknown names fail with the list of known names and a close match;
registering a name twice is an error, not a silent overwrite (timm's registry habit).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

from edgekd.attention.at import at_attention
from edgekd.attention.cam import cam_attention
from edgekd.attention.capture import Attention
from edgekd.attention.maps import fma_attention, mip_attention
from edgekd.attention.saliency import saliency_attention
from edgekd.errors import EdgekdError

__all__ = ["Combiner", "get", "names", "register"]


@dataclass(frozen=True)
class Combiner:
    """A registered combiner.

    ``exportable``: forward-only, so it can be an exported attention head.
    ``gives_map``: ``compute`` returns one map (False for AT, whose loss pairs layers).
    ``needs_capture``: uses forward hooks on stages (False for SALS, which uses an input
    gradient).
    """

    name: str
    compute: Callable[..., Attention]
    summary: str
    exportable: bool
    gives_map: bool = True
    needs_capture: bool = True


_REGISTRY: dict[str, Combiner] = {}


def register(combiner: Combiner) -> Combiner:
    """Add ``combiner`` under its name; EdgekdError if the name is taken."""
    if combiner.name in _REGISTRY:
        raise EdgekdError(
            f"attention combiner {combiner.name!r} is already registered: pick another name"
        )
    _REGISTRY[combiner.name] = combiner
    return combiner


def names() -> list[str]:
    """Registered combiner names, sorted."""
    return sorted(_REGISTRY)


def get(name: str) -> Combiner:
    """The combiner called ``name``; EdgekdError with the known names and a close match."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        close = difflib.get_close_matches(str(name), names(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise EdgekdError(
            f"unknown attention combiner {name!r}{hint}: choose one of {names()}"
        ) from None


register(Combiner("fma", fma_attention, "mean across layers of mean_c|A| maps", True))
register(Combiner("mip", mip_attention, "max across layers of mean_c|A| maps", True))
register(
    Combiner("sals", saliency_attention, "max_c |d z_y / d x| saliency", False, needs_capture=False)
)
register(Combiner("at", at_attention, "Zagoruyko-Komodakis attention transfer", False, False))
register(Combiner("cam", cam_attention, "class activation map of the last stage", True))
