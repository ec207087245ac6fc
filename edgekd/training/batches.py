"""In-memory batching for the small data sets edgekd trains on.

All supported sets fit in memory, so a split becomes two tensors and each epoch is a
permutation drawn from a generator seeded by (seed, epoch): the order of any epoch can
be recreated on resume, and under DDP each rank takes a disjoint stride of the same
permutation (what DistributedSampler does).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from edgekd.data.spec import DatasetInfo, Split, preprocess


@dataclass
class TensorSplit:
    """Normalised images (float32 N x C x H x W) and labels (int64 N) on the CPU."""

    x: torch.Tensor
    y: torch.Tensor

    @classmethod
    def from_split(cls, split: Split, info: DatasetInfo) -> TensorSplit:
        x = torch.from_numpy(preprocess(split.images, info.mean, info.std))
        return cls(x, torch.from_numpy(split.labels.astype(np.int64)))

    def __len__(self) -> int:
        return int(self.y.shape[0])


def epoch_order(n: int, seed: int, epoch: int, rank: int = 0, world: int = 1) -> torch.Tensor:
    """The shuffled sample order of one epoch for one rank (padded so every rank gets as many)."""
    g = torch.Generator().manual_seed(seed * 100_003 + epoch)
    order = torch.randperm(n, generator=g)
    if world > 1:
        per_rank = -(-n // world)
        order = torch.cat([order, order[: per_rank * world - n]])
        order = order[rank::world]
    return order


def batches(order: torch.Tensor, batch_size: int) -> Iterator[torch.Tensor]:
    for start in range(0, len(order), batch_size):
        yield order[start:start + batch_size]
