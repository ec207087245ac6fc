"""ResNet-18 adapted to 28-32 px inputs: 3x3 stem, no max-pool (as MedMNIST's ResNet-18 (28))."""

from __future__ import annotations

from torch import nn

from edgekd.models.blocks import BasicBlock, PooledClassifier, conv_bn_relu
from edgekd.models.entries import register_model


class SmallInputResNet18(PooledClassifier):
    def __init__(self, in_channels: int, num_classes: int, width: int = 64):
        super().__init__()
        self.stem = conv_bn_relu(in_channels, width)
        cin = width
        for i in range(4):
            cout = width * 2 ** i
            stride = 1 if i == 0 else 2
            setattr(self, f"layer{i + 1}", nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout)))
            cin = cout
        self.stages = ["stem", "layer1", "layer2", "layer3", "layer4"]
        self._head(cin, num_classes)


@register_model("resnet18", "teacher", "ResNet-18 for 28-32 px: 3x3 stem, no max-pool")
def resnet18(in_channels: int, num_classes: int, width: int = 64):
    return SmallInputResNet18(in_channels, num_classes, width)
