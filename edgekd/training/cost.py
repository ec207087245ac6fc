"""What a run will cost, said before it starts: peak memory and time per epoch, both estimates.

Memory (host RAM, bytes), the sum of

- the process as it is now (Python, torch, the models: measured, ``psutil``);
- the data: every split as float32 tensors, plus, while a split is converted, its uint8
  copy and two float32 temporaries (:func:`edgekd.data.spec.preprocess`);
- the optimiser: weights, gradients and momentum (3 x the parameters, float32);
- activations kept for the backward pass: ``ACTIVATION_BASE`` + ``ACTIVATION_FACTOR`` x
  batch x the bytes of every leaf module's output for one image (counted by forward hooks),
  and a frozen teacher's forward (no gradients: ``TEACHER_FACTOR`` x the same count of the
  teacher).

The two factors were measured on this machine (``benchmarks/own_data/``: peak RSS of real
runs against this count, across models, sizes and batches), so the estimate is stated as
one. Time per epoch comes from a probe: a few real training steps of the model (and the
teacher's forward) at the run's batch size (or, when a step there would take long, at batch
32, scaled) on the run's device and threads, times the steps of an epoch, plus the
validation pass. The probe runs on a copy of the model inside
``torch.random.fork_rng``, so seeded runs stay bitwise the same.

A run whose estimate exceeds the memory available is refused with the ``--image-size``
that would fit (data and activations grow with the square of the size).
"""

from __future__ import annotations

import copy
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from edgekd.data.spec import DatasetInfo
from edgekd.errors import EdgekdError

# benchmarks/own_data/activation_memory.json: peak-RSS growth of 3 real SGD steps (1 thread) against
# batch x leaf-output bytes: 0.9-1.4 for models whose activations dominate (resnet8/20, mobilenetv2,
# cnn-small at 128 px), more for tiny ones where a fixed ~60 MB (autograd, allocator) dominates
ACTIVATION_FACTOR = 1.0
ACTIVATION_BASE = 64 * 1024 ** 2
TEACHER_FACTOR = 0.35  # a no-grad teacher forward keeps a fraction of its outputs alive at once (max measured 0.34)
HEADROOM = 0.9  # refuse when the estimate exceeds this share of the available memory
PROBE_BATCH = 32
PROBE_STEPS = 2  # timed, after one warm-up step
FULL_PROBE_S = 10.0  # probe at the run's own batch when a step there is expected to take at most this
GB = 1024 ** 3


@dataclass
class Cost:
    """An estimate: peak RSS (bytes) and its parts, seconds per epoch, memory available."""

    parts: dict[str, int]
    available: int
    epoch_s: float | None
    image_size: int
    per_pixel2: float  # bytes that grow with image_size ** 2 (data and activations), per pixel ** 2
    notes: list[str] = field(default_factory=list)

    @property
    def peak(self) -> int:
        return int(sum(self.parts.values()))

    @property
    def extra(self) -> int:
        """Bytes the run still has to allocate (the peak less what the process holds now)."""
        return self.peak - self.parts.get("process", 0)

    def fitting_size(self) -> int | None:
        """The largest image size (a multiple of 8) whose estimate fits the available memory."""
        fixed = self.extra - self.per_pixel2 * self.image_size ** 2
        room = HEADROOM * self.available - fixed
        if room <= 0 or self.per_pixel2 <= 0:
            return None
        size = int(math.sqrt(room / self.per_pixel2)) // 8 * 8
        return size if size >= 8 else None

    def line(self) -> str:
        parts = ", ".join(f"{k} {size_text(v)}" for k, v in self.parts.items())
        time_s = f"; about {seconds_text(self.epoch_s)} per epoch" if self.epoch_s is not None else ""
        return (f"estimate: peak memory about {size_text(self.peak)} ({parts}) of {size_text(self.available)} "
                f"available{time_s}")

    def to_dict(self) -> dict:
        return {"peak_bytes": self.peak, "parts": self.parts, "available_bytes": self.available,
                "epoch_s": self.epoch_s, "image_size": self.image_size}


def size_text(n: float) -> str:
    return f"{n / GB:.1f} GB" if n >= GB else f"{n / 1024 ** 2:.0f} MB"


def seconds_text(s: float) -> str:
    return f"{s:.0f} s" if s >= 10 else f"{s:.1f} s"


def leaf_output_bytes(model: torch.nn.Module, shape: tuple[int, int, int], device: torch.device) -> int:
    """Bytes of every leaf module's output for one image (forward hooks, no gradients)."""
    total = 0

    def hook(_module, _inputs, output):
        nonlocal total
        for t in output if isinstance(output, (tuple, list)) else (output,):
            if isinstance(t, torch.Tensor):
                total += t.numel() * t.element_size()

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, *shape, device=device))
    finally:
        for h in handles:
            h.remove()
    return total


def data_bytes(info: DatasetInfo, n_train: int) -> int:
    """float32 tensors of every split, plus the largest split's uint8 copy and two temporaries."""
    per_image = info.channels * info.size * info.size
    counts = [n_train] + [n for s, n in info.splits.items() if s != "train"]
    return int(sum(counts) * per_image * 4 + max(counts) * per_image * (1 + 2 * 4))


def _steps(model: torch.nn.Module, teacher: torch.nn.Module | None, shape: tuple[int, int, int], b: int,
           classes: int, device: torch.device) -> float:
    """The fastest of PROBE_STEPS training steps at batch ``b`` after one warm-up step, in seconds."""
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    x = torch.randn(b, *shape, device=device)
    y = torch.randint(0, classes, (b,), device=device)
    times = []
    for _ in range(PROBE_STEPS + 1):
        t0 = time.perf_counter()
        if teacher is not None:
            with torch.no_grad():
                teacher(x)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return min(times[1:])


def _probe(model: torch.nn.Module, teacher: torch.nn.Module | None, shape: tuple[int, int, int], batch: int,
           classes: int, device: torch.device) -> float:
    """Seconds of one training step at ``batch`` (forward and backward, the teacher's forward):
    timed at the run's batch when that takes at most FULL_PROBE_S a step (per-image cost grows
    with the batch once activations outgrow the caches: 1.5x from 32 to 128 at 128 px),
    else scaled from batch PROBE_BATCH."""
    b = max(1, min(batch, PROBE_BATCH))
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        probe = copy.deepcopy(model).to(device).train()
        small = _steps(probe, teacher, shape, b, classes, device)
        if b == batch or small * batch / b > FULL_PROBE_S:
            return small * batch / b
        return _steps(probe, teacher, shape, batch, classes, device)


def available_memory() -> int:
    import psutil

    return int(psutil.virtual_memory().available)


def estimate_cost(info: DatasetInfo, n_train: int, batch_size: int, model: torch.nn.Module,
                  teacher: torch.nn.Module | None = None, device: torch.device | None = None,
                  probe: bool = True) -> Cost:
    """The estimate for training ``model`` (and distilling from ``teacher``) on ``info``'s splits."""
    import psutil

    device = device or torch.device("cpu")
    shape = info.input_shape
    parts = {"process": int(psutil.Process().memory_info().rss), "data": data_bytes(info, n_train)}
    params = sum(p.numel() for p in model.parameters())
    parts["weights"] = params * 4 * 3
    on_host = device.type == "cpu"  # on a GPU, activations live in device memory
    act = leaf_output_bytes(copy.deepcopy(model).to(device), shape, device)
    t_act = leaf_output_bytes(teacher, shape, device) if teacher is not None else 0
    if on_host:
        parts["activations"] = int(ACTIVATION_BASE + ACTIVATION_FACTOR * batch_size * act)
        if teacher is not None:
            parts["teacher"] = int(TEACHER_FACTOR * batch_size * t_act)
    grows = parts["data"] + parts.get("activations", ACTIVATION_BASE) - ACTIVATION_BASE + parts.get("teacher", 0)
    available = available_memory()
    epoch_s = None
    if probe and sum(parts.values()) - parts["process"] <= HEADROOM * available:  # never probe what cannot fit
        step = _probe(model, teacher, shape, batch_size, info.num_classes, device)
        n_val = info.splits.get("val", 0)
        epoch_s = math.ceil(n_train / batch_size) * step + n_val * step / batch_size / 3
    return Cost(parts, available, epoch_s, info.size, grows / info.size ** 2)


def check_cost(cost: Cost, info: DatasetInfo) -> Cost:
    """Refuse a run whose estimate does not fit the memory available (the estimate is said
    later, with :func:`say_cost`, once the data has loaded: a missing file is one line)."""
    if cost.extra > HEADROOM * cost.available:
        if info.preprocess:
            size = cost.fitting_size()
            fix = (f"pass --image-size {size} (or a smaller --batch-size)" if size
                   else "use a smaller --batch-size or free memory")
        else:
            fix = f"{info.name} is stored at {info.size} px: use a smaller --batch-size or free memory"
        raise EdgekdError(f"this run would need about {size_text(cost.peak)} of memory (estimate, at "
                          f"{info.size}x{info.size}: " + ", ".join(f"{k} {size_text(v)}" for k, v in cost.parts.items())
                          + f") but {size_text(cost.available)} is available: {fix}")
    return cost


def say_cost(cost: Cost | None, out: Path | None = None, quiet: bool = False) -> None:
    """The estimate on stderr (unless ``quiet``) and in ``out/estimate.json`` (so it can be held
    against what the run measured: metrics.json's seconds per epoch)."""
    if cost is None:
        return
    if out is not None:
        from edgekd.fileio import atomic_write_json

        atomic_write_json(out / "estimate.json", {"what": "an estimate (edgekd/training/cost.py), before the run",
                                                  **cost.to_dict()})
    if not quiet:
        sys.stderr.write(cost.line() + "\n")
