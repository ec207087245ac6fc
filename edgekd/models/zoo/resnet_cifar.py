"""CIFAR-style ResNets (He et al. 2016, section 4.2): depth 6n+2, widths 16/32/64.

ResNet-20/32/56/110 are teachers; ResNet-8 is a student. Stages: stem, layer1..3.
"""

from __future__ import annotations

from torch import nn

from edgekd.models.blocks import BasicBlock, PooledClassifier, conv_bn_relu
from edgekd.models.entries import register_model


class CifarResNet(PooledClassifier):
    def __init__(self, depth: int, in_channels: int, num_classes: int, width: int = 16):
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError("depth must be 6n+2")
        n = (depth - 2) // 6
        widths = [width, width * 2, width * 4]
        self.stem = conv_bn_relu(in_channels, width)
        cin = width
        for i, cout in enumerate(widths):
            blocks = [BasicBlock(cin if j == 0 else cout, cout, (1 if i == 0 else 2) if j == 0 else 1) for j in range(n)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
            cin = cout
        self.stages = ["stem", "layer1", "layer2", "layer3"]
        self._head(cin, num_classes)


def _register(depth: int, role: str) -> None:
    @register_model(f"resnet{depth}", role, f"CIFAR ResNet-{depth} (6n+2, widths 16/32/64)")
    def build(in_channels: int, num_classes: int, width: int = 16):
        return CifarResNet(depth, in_channels, num_classes, width)


for _depth, _role in ((8, "student"), (20, "teacher"), (32, "teacher"), (56, "teacher"), (110, "teacher")):
    _register(_depth, _role)
