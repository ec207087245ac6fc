"""Fold each BatchNorm into the convolution before it, keeping the model's architecture.

The exporters fold BatchNorm into the preceding convolution before they quantize
(onnxruntime's ``quant_pre_process``, the TFLite converter), so the weights that get an int8
grid are the *folded* ones: ``w' = w * gamma / sqrt(var + eps)`` per output channel. Fake
quantisation must act on those same weights, so the model is folded first. The BatchNorm
module stays, as an identity scale plus the folded bias (``weight = 1``, ``running_mean = 0``,
``running_var = 1 - eps``: ``(x - 0) / sqrt(1 - eps + eps) * 1 + b' = x + b'``), so the state
dict still loads into the registry's architecture and every tool reads the checkpoint as before.
Its bias is the folded conv bias and stays trainable; its scale and statistics are frozen, and
:func:`freeze_batchnorm` keeps the modules in eval mode while the rest trains.
"""

from __future__ import annotations

import torch
from torch import nn


def conv_bn_pairs(model: nn.Module) -> list[tuple[nn.Conv2d, nn.BatchNorm2d]]:
    """Every Conv2d directly followed by a BatchNorm2d inside a Sequential."""
    pairs = []
    for module in model.modules():
        if isinstance(module, nn.Sequential):
            children = list(module.children())
            pairs += [(a, b) for a, b in zip(children, children[1:])
                      if isinstance(a, nn.Conv2d) and isinstance(b, nn.BatchNorm2d)]
    return pairs


@torch.no_grad()
def fold_batchnorm(model: nn.Module) -> list[nn.BatchNorm2d]:
    """Fold in place (see the module doc); returns the BatchNorm modules, now identity scales."""
    folded = []
    for conv, bn in conv_bn_pairs(model):
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        bias = bn.bias - bn.running_mean * scale
        if conv.bias is not None:
            bias = bias + conv.bias * scale
            conv.bias.zero_()
        conv.weight.mul_(scale.reshape(-1, 1, 1, 1))
        bn.weight.fill_(1.0)
        bn.bias.copy_(bias)
        bn.running_mean.zero_()
        bn.running_var.fill_(1.0 - bn.eps)
        bn.weight.requires_grad_(False)
        folded.append(bn)
    return folded


def freeze_batchnorm(modules: list[nn.BatchNorm2d]) -> None:
    """Eval mode for the folded BatchNorms (call after ``model.train()``): statistics stay put."""
    for bn in modules:
        bn.eval()
