"""Run one registered combiner on a model: one forward pass, logits, map, features.

The registry row (``edgekd/attention/registry.py``) says which stages to capture when
none are given (its layer rule) and which pure function turns them into the map; this
module is the only place that reads those declarations, so the distillation methods, the
explain commands and the exported attention head never special-case a combiner.

A model made of several models (a teacher ensemble, ``edgekd/distillation/ensemble.py``) may
answer for itself: when it has ``combined_rule_layers`` / ``combined_attention``, these
are used instead of capturing its stages directly (one check each, here only).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from edgekd.attention.capture import Attention, at_default_layers, default_layers, run_with_features, stages_of
from edgekd.attention.registry import Combiner
from edgekd.models.unwrap import unwrap

__all__ = ["attention", "combiner_map", "rule_layers"]


def rule_layers(combiner: Combiner, model: nn.Module) -> list[str]:
    """The stages ``combiner`` captures from ``model`` by default (its layer rule)."""
    combined = getattr(unwrap(model), "combined_rule_layers", None)
    if combined is not None:
        return combined(combiner)
    if combiner.layers == "first-last":
        return default_layers(model)
    if combiner.layers == "after-first":
        return at_default_layers(model)
    if combiner.layers == "last":
        return stages_of(model)[-1:]
    return []


def combiner_map(combiner: Combiner, model: nn.Module, features: Sequence[Tensor], size: tuple[int, int],
                 logits: Tensor, target: Tensor | None = None) -> Tensor:
    """The B x H x W map of a capture combiner from the ``features`` it captured; the
    classifier's weight and the target class (else the prediction) for those that use them."""
    fn = combiner.fn()
    if combiner.classifier:
        from edgekd.attention.cam import classifier_of

        return fn(features[-1], classifier_of(model).weight, size, logits=logits, target=target)
    return fn(features, size)


def attention(combiner: Combiner, model: nn.Module, x: Tensor, y: Tensor | None = None, *,
              layers: Sequence[str] | None = None, size: Sequence[int] | None = None,
              create_graph: bool = False) -> Attention:
    """Forward ``model`` on ``x`` once and return its logits, the combiner's map (None for
    per-layer combiners) and the captured features.

    ``layers`` overrides the layer rule (a ``last`` rule keeps the last entry); ``size``
    is the map's H x W (default: the input's); ``y`` is the target class where the map
    depends on one (else the prediction). ``create_graph`` keeps an input-gradient map
    differentiable (double backprop); capture maps follow the caller's grad mode.
    """
    hw = (int(size[0]), int(size[1])) if size is not None else (x.shape[-2], x.shape[-1])
    combined = getattr(unwrap(model), "combined_attention", None)
    if combined is not None:
        return combined(combiner, x, y, layers=layers, size=hw, create_graph=create_graph)
    if not combiner.needs_capture:
        m, logits = combiner.fn()(model, x, y, create_graph=create_graph, size=hw)
        return Attention(logits, m, [])
    layers = list(layers) if layers is not None else rule_layers(combiner, model)
    if combiner.layers == "last":
        layers = layers[-1:]
    logits, features = run_with_features(model, x, layers)
    if not combiner.gives_map:
        return Attention(logits, None, features)
    return Attention(logits, combiner_map(combiner, model, features, hw, logits, y), features)
