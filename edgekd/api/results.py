"""What the Python API returns: plain result objects, the same figures the CLI prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgekd.spec import Spec

__all__ = ["EvalResult", "QatResult", "RunResult"]


@dataclass(frozen=True)
class RunResult:
    """A finished ``train`` or ``distill`` run.

    ``spec``: the spec as the run resolved it (thread count, epochs, distill's data set, alpha
    and beta), the one saved in ``out/config.toml``; ``val``: the selected epoch's validation
    metrics; ``test``: the test split's (None for a set without one: never validation's under
    another name); ``teacher``: the teacher's record (``distill``); ``baseline``: the same-recipe
    student alone and the gap recovery (``distill --baseline``)."""

    out: Path
    spec: Spec
    best_epoch: int
    val: dict[str, Any]
    test: dict[str, Any] | None
    params: int
    macs: int
    teacher: dict[str, Any] | None = None
    baseline: dict[str, Any] | None = None  # distill: the student alone and the gap recovery (baseline.json)

    @property
    def checkpoint(self) -> Path:
        """The selected weights: ``out/model.pt``."""
        return self.out / "model.pt"


@dataclass(frozen=True)
class EvalResult:
    """A checkpoint's figures on one split of a data set (``metrics["decision"]``: at its
    operating point; ``reliability``: the diagram PNG, None without a decision rule)."""

    checkpoint: Path
    dataset: str
    split: str
    metrics: dict[str, Any] = field(default_factory=dict)
    reliability: Path | None = None


@dataclass(frozen=True)
class QatResult:
    """A finished ``qat`` run: ``out`` (model.pt, metrics.json, the int8 file) and ``metrics``, the
    content of its metrics.json (before / after figures, every epoch, ``exports`` by format)."""

    out: Path
    metrics: dict[str, Any]

    @property
    def checkpoint(self) -> Path:
        """The fine-tuned weights, on the format's int8 grid: ``out/model.pt``."""
        return self.out / "model.pt"

    @property
    def failed(self) -> dict[str, dict[str, Any]]:
        """The exports the parity gate refused or that failed, by format (empty when all passed)."""
        return {f: r for f, r in self.metrics["exports"].items() if r["status"] != "ok"}
