"""CAM, class activation maps (Zhou, Khosla, Lapedriza, Oliva, Torralba, CVPR 2016).

For a network whose classifier is a linear layer on the global-average-pooled output
``F`` (B x C x h x w) of its last stage, the map of class ``c`` is
``M_c = sum_k w[c, k] * F_k`` (weights of the classifier row ``c``).

Choices, following Zhou et al.'s definition and reference code (``returnCAM``):
- no ReLU: the raw weighted sum, then min-max normalisation (negative evidence ends
  near 0 after normalisation instead of being clipped);
- the classifier bias is left out (it is constant over space);
- class ``c``: the given target, else the predicted class (argmax of the logits).
The map is resized to the input size (bilinear, align_corners=False) *before* the
per-sample min-max normalisation, so the exported map spans exactly [0, 1] as FMA /
MIP do (Zhou's code normalises first, then upsamples).

Why: CAM is forward-only (one gather and one weighted sum), so any student, including
a SALS-trained one, can export it as its attention head. The code obeys the same
export rules as ``maps.py`` (explicit sizes, amin / amax, no data-dependent Python).
The identity ``mean_hw(M_c) + b_c = z_c`` (the logit) holds for the unresized,
unnormalised map from :func:`class_activation`.
"""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn import functional as F

from edgekd.attention.maps import minmax, resize
from edgekd.errors import EdgekdError
from edgekd.models.unwrap import unwrap

__all__ = ["cam_map", "class_activation", "class_maps", "classifier_of"]


def classifier_of(model: nn.Module) -> nn.Linear:
    """The final ``nn.Linear`` named by ``model.classifier`` (EdgekdError otherwise)."""
    inner = unwrap(model)
    name = getattr(inner, "classifier", None)
    layer = None
    if isinstance(name, str):
        try:
            layer = inner.get_submodule(name)
        except AttributeError:
            layer = None
    if not isinstance(layer, nn.Linear):
        raise EdgekdError(
            f"{type(inner).__name__}.classifier must name its final nn.Linear for CAM "
            f"(got {name!r}): set it, or pick another attention head (fma, mip)"
        )
    return layer


def class_activation(features: Tensor, weight: Tensor, target: Tensor) -> Tensor:
    """Raw CAM ``sum_k weight[target, k] * features[:, k]``: B x h x w, no resize or norm."""
    _check_shapes(features, weight)
    w = weight.float()[target.long()]  # B x C: one classifier row per sample
    return (features.float() * w[:, :, None, None]).sum(dim=1)


def _check_shapes(features: Tensor, weight: Tensor) -> None:
    """EdgekdError unless ``features`` is B x C x H x W and ``weight`` K x C."""
    if features.dim() != 4 or weight.dim() != 2 or features.shape[1] != weight.shape[1]:
        raise EdgekdError(
            f"CAM needs B x C x H x W features and a K x C classifier weight, got "
            f"{tuple(features.shape)} and {tuple(weight.shape)}: capture the last stage"
        )


def class_maps(features: Tensor, weight: Tensor) -> Tensor:
    """Raw CAM of every class at the stage's own resolution: B x K x h x w.

    One 1 x 1 convolution with the classifier weight, so an exported attention head costs
    a single graph op; the host picks the predicted class, resizes and normalises only
    when it draws the map (:func:`edgekd.runtime.attention.attention_map`)."""
    _check_shapes(features, weight)
    return F.conv2d(features, weight.to(features.dtype)[:, :, None, None])


def cam_map(
    features: Tensor,
    weight: Tensor,
    size: tuple[int, int],
    *,
    logits: Tensor | None = None,
    target: Tensor | None = None,
) -> Tensor:
    """Normalised CAM of ``target`` (else of ``logits.argmax(1)``), resized to ``size``."""
    if target is None:
        if logits is None:
            raise EdgekdError("CAM needs a target class or the logits to pick one: pass either")
        target = logits.argmax(dim=1)
    return minmax(resize(class_activation(features, weight, target), size))
