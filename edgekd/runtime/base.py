"""The one interface every inference runtime implements.

A :class:`Runner` takes a float32 **NCHW** batch, already normalised, and returns a
dict of numpy arrays: ``"logits"`` (N, classes) always, ``"attention"`` when the
model has an attention head. Layout (NHWC for TFLite), fixed batch sizes (run a
batch sample by sample), dtypes and output naming are the runner's business, so the
benchmark code never special-cases a runtime.

Lifecycle: ``runner = SomeRunner(); runner.load(path, threads); runner.run(x)``;
``close()`` frees what it can. Runners are created by
:func:`edgekd.runtime.registry.create_runner`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from edgekd.errors import EdgekdError

#: the output names the rest of edgekd relies on
LOGITS = "logits"
ATTENTION = "attention"


class Runner(ABC):
    """Load one model file and run float32 NCHW batches through it."""

    #: runtime name as used by ``--runtime`` (e.g. ``"onnxruntime"``)
    name: str = ""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.threads: int | None = None
        #: artifact metadata (see :mod:`edgekd.runtime.metadata`); {} when there is none
        self.metadata: dict[str, Any] = {}
        #: lines a report must show (e.g. a fallback runtime was used)
        self.notes: list[str] = []
        #: set by ``load``: input shape (NCHW, None = dynamic) and output names
        self._shape: tuple[int | None, ...] = ()
        self._names: list[str] = []
        #: set by ``load``: shape of each output in ``_names`` order (None = dynamic dimension)
        self._out_shapes: list[tuple[int | None, ...]] = []
        #: the input layout the user asked for ("nchw" / "nhwc"), for models whose metadata says none
        self.requested_layout: str | None = None

    @abstractmethod
    def load(self, path: str | Path, threads: int | None = None) -> None:
        """Load the model at ``path`` with ``threads`` CPU threads (None: runtime default)."""

    @abstractmethod
    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Run a float32 NCHW batch; return ``{"logits": ..., "attention": ...}``."""

    @property
    def input_shape(self) -> tuple[int | None, ...]:
        """Model input shape in NCHW order; ``None`` for a dynamic dimension."""
        return self._shape

    @property
    def output_names(self) -> list[str]:
        """Names of the outputs :meth:`run` returns, ``"logits"`` first."""
        return list(self._names)

    @property
    def num_classes(self) -> int | None:
        """Width of the ``logits`` output, else the metadata's class count; None when unknown."""
        if LOGITS in self._names and len(self._out_shapes) == len(self._names):
            shape = self._out_shapes[self._names.index(LOGITS)]
            if len(shape) == 2 and shape[1] is not None:
                return int(shape[1])
        names = self.metadata.get("class_names")
        return len(names) if names else None

    def _input_is_nhwc(self, shape: tuple[int | None, ...]) -> bool:
        """Whether a 4-D input is NHWC: the metadata's ``layout``, else the requested layout,
        else inferred from the shape (a note then says so: a guess the user can override)."""
        if len(shape) != 4:
            return False
        layout = self.metadata.get("layout")
        if layout in ("NCHW", "NHWC"):
            return layout == "NHWC"
        if self.requested_layout:
            return self.requested_layout.upper() == "NHWC"
        size = self.metadata.get("input_size")
        if size:  # [C, H, W]
            return list(shape[1:]) != list(size) and list(shape[1:]) == [size[1], size[2], size[0]]
        nhwc = shape[3] in (1, 3) and shape[1] not in (1, 3)
        if nhwc:
            self.notes.append(f"input layout NHWC inferred from its shape {_fmt_shape(shape)}: --layout to override")
        return nhwc

    @property
    @abstractmethod
    def version(self) -> str:
        """Version string of the runtime library."""

    def _run_one(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Run one checked batch that the model accepts as it is (runners override this)."""
        raise NotImplementedError

    def _run_batched(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Run a checked batch; a model with a fixed batch of 1 runs it image by image."""
        fixed = self._shape[0] if self._shape else None
        if fixed is None or fixed == x.shape[0]:
            return self._run_one(x)
        if fixed == 1:
            return stack_runs([self._run_one(x[i:i + 1]) for i in range(x.shape[0])])
        raise EdgekdError(f"{self.path} has a fixed batch of {fixed} but got {x.shape[0]}: use --batch {fixed} or --batch 1")

    def close(self) -> None:  # noqa: B027 - optional hook, not abstract: most runners hold nothing to release
        """Release the model; the default drops nothing and is safe to call twice."""

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # helpers shared by the runners -------------------------------------------------

    def _check_batch(self, batch: np.ndarray) -> np.ndarray:
        """Validate a batch against :attr:`input_shape`; return it as contiguous float32."""
        arr = np.asarray(batch)
        want = self.input_shape
        if arr.ndim != len(want):
            raise EdgekdError(
                f"{self.name}: input has shape {tuple(arr.shape)} but the model expects {len(want)} dims "
                f"{_fmt_shape(want)} (NCHW)"
            )
        for got, exp in zip(arr.shape[1:], want[1:]):
            if exp is not None and got != exp:
                raise EdgekdError(
                    f"{self.name}: input has shape {tuple(arr.shape)} but the model expects "
                    f"{_fmt_shape(want)} (NCHW): resize or pick the matching data set"
                )
        if arr.shape[0] < 1:
            raise EdgekdError(f"{self.name}: empty batch")
        return np.ascontiguousarray(arr, dtype=np.float32)


def _fmt_shape(shape: tuple[int | None, ...]) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"


def name_outputs(raw_names: list[str], shapes: list[tuple[int, ...]]) -> list[str]:
    """Map a model's raw output names to ``logits`` / ``attention``.

    Names that already are ``logits`` / ``attention`` are kept. Otherwise (converters
    such as litert-torch name outputs ``output_0``...), the first 2-D output is the
    logits and the next output is the attention map; further outputs keep their name.
    """
    if LOGITS in raw_names:
        return list(raw_names)
    names = list(raw_names)
    logits_i = next((i for i, s in enumerate(shapes) if len(s) == 2), 0)
    names[logits_i] = LOGITS
    rest = [i for i in range(len(names)) if i != logits_i]
    if rest and ATTENTION not in raw_names:
        names[rest[0]] = ATTENTION
    return names


def stack_runs(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Concatenate per-sample outputs along the batch axis."""
    if len(parts) == 1:
        return parts[0]
    return {k: np.concatenate([p[k] for p in parts], axis=0) for k in parts[0]}
