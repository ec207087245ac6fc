"""A MobileNetV2-style student for small inputs (Sandler et al. 2018), width multiplier as argument.

Inverted residual blocks (expand 1x1, depthwise 3x3, project 1x1, residual when shapes
match); fewer and narrower stages than ImageNet's MobileNetV2, and stride 1 in the stem.
"""

from __future__ import annotations

from torch import nn

from edgekd.models.blocks import PooledClassifier, conv_bn_relu
from edgekd.models.entries import register_model

# (expansion, channels, repeats, stride) per stage
CONFIG = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 2, 2), (6, 64, 2, 2)]


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        layers = [] if expand == 1 else [conv_bn_relu(cin, hidden, kernel=1)]
        layers += [conv_bn_relu(hidden, hidden, stride, groups=hidden), conv_bn_relu(hidden, cout, kernel=1, act=False)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


class MobileNetV2Small(PooledClassifier):
    def __init__(self, in_channels: int, num_classes: int, width_mult: float = 0.5):
        super().__init__()

        def ch(c: int) -> int:
            return max(8, int(round(c * width_mult / 8)) * 8)

        self.stem = conv_bn_relu(in_channels, ch(32))
        cin = ch(32)
        self.stages = ["stem"]
        for i, (t, c, n, s) in enumerate(CONFIG):
            blocks = [InvertedResidual(cin if j == 0 else ch(c), ch(c), s if j == 0 else 1, t) for j in range(n)]
            setattr(self, f"stage{i + 1}", nn.Sequential(*blocks))
            self.stages.append(f"stage{i + 1}")
            cin = ch(c)
        self.head_conv = conv_bn_relu(cin, ch(256), kernel=1)
        self.stages.append("head_conv")
        self._head(ch(256), num_classes)


@register_model("mobilenetv2", "student", "MobileNetV2-style for small inputs, width_mult= argument")
def mobilenetv2(in_channels: int, num_classes: int, width_mult: float = 0.5):
    return MobileNetV2Small(in_channels, num_classes, width_mult)
