"""Any torchvision classifier as ``tv:NAME`` (random init; hub weights cannot be fetched offline).

The first convolution is rebuilt for ``in_channels`` and the classifier for
``num_classes``. Stages: ``layer1..4`` for ResNet-like models, else the children of
``features``; ``classifier`` is the last Linear.
"""

from __future__ import annotations

from torch import nn

from edgekd.errors import EdgekdError


def _replace(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, child, new)


def torchvision_model(name: str, in_channels: int, num_classes: int, **kwargs) -> nn.Module:
    import torchvision.models as tvm

    if name not in tvm.list_models(module=tvm):
        raise EdgekdError(f"unknown torchvision classifier '{name}'; see torchvision.models.list_models()")
    model = tvm.get_model(name, weights=None, num_classes=num_classes, **kwargs)
    convs = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    first_name, first = convs[0]
    if first.in_channels != in_channels:
        _replace(model, first_name, nn.Conv2d(in_channels, first.out_channels, first.kernel_size, first.stride,
                                              first.padding, first.dilation, first.groups, first.bias is not None))
    return TorchvisionClassifier(model)


class TorchvisionClassifier(nn.Module):
    """Wraps a torchvision model so ``stages`` / ``classifier`` never clash with its own attributes."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net
        names = dict(net.named_children())
        if all(f"layer{i}" in names for i in range(1, 5)):
            stages = [f"layer{i}" for i in range(1, 5)]
        elif "features" in names:
            stages = [f"features.{n}" for n, _ in net.features.named_children()]
        else:
            stages = [n for n, m in net.named_children() if any(isinstance(x, nn.Conv2d) for x in m.modules())]
        self.stages = [f"net.{s}" for s in stages]
        self.classifier = "net." + [n for n, m in net.named_modules() if isinstance(m, nn.Linear)][-1]

    def forward(self, x):
        return self.net(x)
