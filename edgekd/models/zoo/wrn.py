"""Wide ResNets (Zagoruyko and Komodakis 2016): WRN-d-k, pre-activation blocks.

Registered as teachers ``wrn40-2``, ``wrn28-4`` and ``wrn16-2``, and the student ``wrn16-1``;
``wrn`` takes ``depth`` and ``widen`` as arguments. Stages: stem, block1..3 (block3
ends with the final BN-ReLU so its output is what the classifier pools).
"""

from __future__ import annotations

from torch import nn

from edgekd.models.blocks import PooledClassifier
from edgekd.models.entries import register_model


class PreActBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(cin), nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=False)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.shortcut = None if cin == cout and stride == 1 else nn.Conv2d(cin, cout, 1, stride, bias=False)

    def forward(self, x):
        o = self.relu(self.bn1(x))
        y = self.conv2(self.relu(self.bn2(self.conv1(o))))
        return y + (x if self.shortcut is None else self.shortcut(o))


class WideResNet(PooledClassifier):
    def __init__(self, depth: int, widen: int, in_channels: int, num_classes: int):
        super().__init__()
        if (depth - 4) % 6:
            raise ValueError("WRN depth must be 6n+4")
        n = (depth - 4) // 6
        widths = [16, 16 * widen, 32 * widen, 64 * widen]
        self.stem = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
        for i in range(3):
            blocks: list[nn.Module] = [PreActBlock(widths[i] if j == 0 else widths[i + 1], widths[i + 1],
                                                  (1 if i == 0 else 2) if j == 0 else 1) for j in range(n)]
            if i == 2:
                blocks += [nn.BatchNorm2d(widths[3]), nn.ReLU(inplace=True)]
            setattr(self, f"block{i + 1}", nn.Sequential(*blocks))
        self.stages = ["stem", "block1", "block2", "block3"]
        self._head(widths[3], num_classes)


@register_model("wrn", "teacher", "WRN-d-k with depth= and widen= arguments")
def wrn(in_channels: int, num_classes: int, depth: int = 16, widen: int = 2):
    return WideResNet(depth, widen, in_channels, num_classes)


def _register(depth: int, widen: int, role: str) -> None:
    @register_model(f"wrn{depth}-{widen}", role, f"WRN-{depth}-{widen}")
    def build(in_channels: int, num_classes: int):
        return WideResNet(depth, widen, in_channels, num_classes)


for _d, _k, _role in ((40, 2, "teacher"), (28, 4, "teacher"), (16, 2, "teacher"), (16, 1, "student")):
    _register(_d, _k, _role)
