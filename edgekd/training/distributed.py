"""What the training loop needs from torch.distributed, and nothing when it is not in use.

Under ``torchrun`` (env RANK / WORLD_SIZE set) the process group is created with NCCL
on GPUs and gloo on CPU; each rank trains on a disjoint stride of the epoch order,
metrics are all-reduced, and only rank 0 writes files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as td


@dataclass(frozen=True)
class Context:
    rank: int = 0
    world: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def context() -> Context:
    if td.is_available() and td.is_initialized():
        return Context(td.get_rank(), td.get_world_size())
    return Context()


def init_from_env(device: torch.device) -> Context:
    """Join the process group when launched by torchrun; a no-op in a plain process."""
    if "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1 and not td.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        td.init_process_group(backend)
        if device.type == "cuda":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    return context()


def local_device(device: torch.device) -> torch.device:
    if device.type == "cuda" and "LOCAL_RANK" in os.environ:
        return torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    return device


def wrap(model: torch.nn.Module, device: torch.device, compile: bool = False) -> torch.nn.Module:
    """The model as trained: channels_last on GPUs, DDP under torchrun, torch.compile when asked."""
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    if context().world > 1:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if compile:
        model = torch.compile(model)
    return model


def pin(data, device: torch.device):
    """Pinned host memory for the in-memory data set, so copies to the GPU can be non-blocking."""
    if device.type == "cuda":
        data.x, data.y = data.x.pin_memory(), data.y.pin_memory()
    return data




def mean_dict(values: dict[str, float]) -> dict[str, float]:
    ctx = context()
    if ctx.world == 1 or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64)
    td.all_reduce(t)
    return {k: float(v) / ctx.world for k, v in zip(keys, t)}


def barrier() -> None:
    if context().world > 1:
        td.barrier()


def shard_summary(order: torch.Tensor) -> dict:
    """How one epoch's samples were split over ranks: sizes, and samples seen by more than one rank.

    Only the padding that DistributedSampler also adds (so every rank gets as many) may overlap.
    """
    ctx = context()
    if ctx.world == 1:
        return {"world_size": 1, "shard_sizes": [len(order)], "overlap": 0}
    gathered = [torch.empty_like(order) for _ in range(ctx.world)]
    td.all_gather(gathered, order)
    sizes = [len(g) for g in gathered]
    flat = torch.cat(gathered)
    return {"world_size": ctx.world, "shard_sizes": sizes, "overlap": int(len(flat) - len(torch.unique(flat)))}
