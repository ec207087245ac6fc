"""The one table of attention combiners: fma, mip, sals, at, cam (torch-free).

Each row declares what the rest of edgekd reads instead of naming combiners:

- ``layers``, the layer rule: which stages are captured when none are given.
  ``first-last`` (METHOD.md's default: first and last k stages), ``after-first`` (AT:
  every stage after the stem), ``last`` (CAM: the stage the classifier pools), or
  ``input-gradient`` (SALS: no capture, the map is a gradient with respect to the input).
- ``exportable``: forward-only, so it can be an exported attention head. The export
  heads (``edgekd.exporters.formats.HEADS``) are ``none`` plus the exportable rows.
- ``function``: ``"module:name"`` of the pure function that makes the map, imported only
  when used (this table stays importable without torch). For capture rules it is
  ``(features, size) -> B x H x W map``; a row with ``classifier`` set also takes the
  classifier weight and the target class (CAM); ``input-gradient`` rows take the model.
  Empty for AT, which gives per-layer maps, not one (its loss pairs layers).

``edgekd.attention.compute.attention(row, model, x)`` runs a row on a model. Unknown names fail with the list of
known names and a close match; registering a name twice is an error, not a silent
overwrite (timm's registry habit).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edgekd.errors import EdgekdError
from edgekd.suggest import unknown

__all__ = ["LAYER_RULES", "Combiner", "exportable_names", "get", "map_names", "names", "register"]

LAYER_RULES = ("first-last", "after-first", "last", "input-gradient")


@dataclass(frozen=True)
class Combiner:
    """One registered combiner (see the module docstring for each field)."""

    name: str
    summary: str
    layers: str
    exportable: bool
    function: str = ""
    classifier: bool = False

    def __post_init__(self) -> None:
        if self.layers not in LAYER_RULES:
            raise EdgekdError(f"combiner {self.name!r}: unknown layer rule {self.layers!r}; use one of {LAYER_RULES}")

    @property
    def needs_capture(self) -> bool:
        """Whether the map is made from stage outputs captured by forward hooks."""
        return self.layers != "input-gradient"

    @property
    def gives_map(self) -> bool:
        """Whether it makes one B x H x W map (False for AT's per-layer maps)."""
        return bool(self.function)

    def fn(self) -> Callable[..., Any]:
        """The map function named by ``function``."""
        module, _, attr = self.function.partition(":")
        return getattr(importlib.import_module(module), attr)


_REGISTRY: dict[str, Combiner] = {}


def register(combiner: Combiner) -> Combiner:
    """Add ``combiner`` under its name; EdgekdError if the name is taken."""
    if combiner.name in _REGISTRY:
        raise EdgekdError(f"attention combiner {combiner.name!r} is already registered: pick another name")
    _REGISTRY[combiner.name] = combiner
    return combiner


def names() -> list[str]:
    """Registered combiner names, sorted."""
    return sorted(_REGISTRY)


def exportable_names() -> list[str]:
    """Names of the combiners that can be an exported attention head, in table order."""
    return [c.name for c in _REGISTRY.values() if c.exportable]


def map_names() -> list[str]:
    """Names of the combiners that make one B x H x W map, in table order."""
    return [c.name for c in _REGISTRY.values() if c.gives_map]


def get(name: str) -> Combiner:
    """The combiner called ``name``; EdgekdError with the known names and a close match."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise unknown("attention combiner", name, names()) from None


register(Combiner("fma", "mean across layers of mean_c|A| maps", "first-last", True, "edgekd.attention.maps:fma"))
register(Combiner("mip", "max across layers of mean_c|A| maps", "first-last", True, "edgekd.attention.maps:mip"))
register(Combiner("cam", "class activation map of the last stage", "last", True, "edgekd.attention.cam:cam_map",
                  classifier=True))
register(Combiner("sals", "max_c |d z_y / d x| saliency", "input-gradient", False,
                  "edgekd.attention.saliency:saliency"))
register(Combiner("at", "Zagoruyko-Komodakis attention transfer", "after-first", False))
