"""A plain CNN student whose width and depth are arguments.

``depth`` conv-BN-ReLU blocks; block i has ``width * 2**i`` channels and halves the
resolution from the second block on (never below 1 px). ``cnn-tiny`` (a few thousand
params) and ``cnn-small`` (tens of thousands) are the study's two student sizes.
"""

from __future__ import annotations

from edgekd.models.blocks import PooledClassifier, conv_bn_relu
from edgekd.models.entries import register_model


class PlainCNN(PooledClassifier):
    def __init__(self, in_channels: int, num_classes: int, width: int = 8, depth: int = 3):
        super().__init__()
        if depth < 1 or width < 1:
            raise ValueError("width and depth must be >= 1")
        cin = in_channels
        self.stages = []
        for i in range(depth):
            cout = width * 2 ** i
            setattr(self, f"block{i}", conv_bn_relu(cin, cout, stride=1 if i == 0 else 2))
            self.stages.append(f"block{i}")
            cin = cout
        self._head(cin, num_classes)


@register_model("cnn", "student", "plain CNN, width= and depth= arguments")
def cnn(in_channels: int, num_classes: int, width: int = 8, depth: int = 3):
    return PlainCNN(in_channels, num_classes, width, depth)


@register_model("cnn-tiny", "student", "plain CNN width 8, depth 3 (a few thousand params)")
def cnn_tiny(in_channels: int, num_classes: int):
    return PlainCNN(in_channels, num_classes, 8, 3)


@register_model("cnn-small", "student", "plain CNN width 12, depth 4 (tens of thousands of params)")
def cnn_small(in_channels: int, num_classes: int):
    return PlainCNN(in_channels, num_classes, 12, 4)
