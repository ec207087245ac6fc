"""Building blocks shared by the model families."""

from __future__ import annotations

from torch import nn


def conv_bn_relu(cin: int, cout: int, stride: int = 1, kernel: int = 3, groups: int = 1, act: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
                               nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    """ResNet basic block (two 3x3 convs) with a 1x1 projection shortcut when the shape changes."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.body = nn.Sequential(conv_bn_relu(cin, cout, stride), conv_bn_relu(cout, cout, act=False))
        self.shortcut = nn.Identity() if stride == 1 and cin == cout else conv_bn_relu(cin, cout, stride, 1, act=False)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.body(x) + self.shortcut(x))


class PooledClassifier(nn.Module):
    """A backbone of named stages followed by global average pooling and one Linear (``fc``).

    Subclasses set the stage modules as attributes and list their names in ``stages``;
    ``forward`` runs them in order, so hooks on those names see every stage output.
    """

    stages: list[str]
    classifier = "fc"

    def forward(self, x):
        for name in self.stages:
            x = getattr(self, name)(x)
        return self.fc(self.pool(x).flatten(1))

    def _head(self, channels: int, num_classes: int) -> None:
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
