"""SALS: gradient saliency maps (Simonyan, Vedaldi, Zisserman 2014) as attention maps.

``M = max_c |d z_y / d x|``: for each pixel the largest absolute gradient, over input
channels, of the target-class logit. The target is the given label (the true class
during training) or, without labels, the predicted class (inference, figures). The map
is resized to the requested size when it differs from the input's (bilinear,
align_corners=False) and min-max normalised per sample to [0, 1] like FMA / MIP.

Teacher: a plain gradient (``create_graph=False``); the teacher's parameters are frozen,
so only the input receives a gradient and nothing accumulates in ``.grad``.
Student: ``create_graph=True`` keeps the map differentiable with respect to the
student's parameters (double backprop), so the attention loss can train it.

Gradients are taken with ``torch.autograd.grad`` on a fresh leaf copy of ``x``, so no
``.grad`` is written anywhere, and inside ``torch.enable_grad()`` so the map also works
when the caller is under ``torch.no_grad()``. SALS has no forward-only form and cannot
be an exported attention head.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from edgekd.attention.maps import minmax, resize

__all__ = ["saliency"]


def saliency(
    model: nn.Module,
    x: Tensor,
    y: Tensor | None = None,
    *,
    create_graph: bool = False,
    size: tuple[int, int] | None = None,
) -> tuple[Tensor, Tensor]:
    """(normalised B x H x W saliency map, logits) from one forward pass of ``model``.

    With ``create_graph=False`` both outputs are detached; with ``create_graph=True``
    both stay attached to the graph (the logits can feed CE / KD of the same step).
    """
    with torch.enable_grad():
        x_in = x.detach().requires_grad_(True)
        logits = model(x_in)
        target = y if y is not None else logits.detach().argmax(dim=1)
        score = logits.gather(1, target.long().view(-1, 1)).sum()
        (grad,) = torch.autograd.grad(score, x_in, create_graph=create_graph)
        m = grad.float().abs().amax(dim=1)
        if size is not None and tuple(size) != tuple(m.shape[-2:]):
            m = resize(m, size)
        m = minmax(m)
    if not create_graph:
        return m.detach(), logits.detach()
    return m, logits
