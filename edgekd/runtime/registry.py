"""Pick the runner for a model file: by ``--runtime`` name, or by file suffix with ``auto``.

======================  ==========================================================
suffix                  runtime chosen by ``auto``
======================  ==========================================================
``.onnx``               onnxruntime
``.tflite``             litert (ai-edge-litert); tflite-runtime only when ai-edge-litert
                        is absent, with a note the report shows
``.engine``, ``.plan``  tensorrt
``.pt``                 torch (an edgekd checkpoint)
======================  ==========================================================

Bad input fails with a one-line :class:`~edgekd.errors.EdgekdError`: a missing file, an
unknown suffix, a runtime that cannot read that suffix, a runtime not installed
(:class:`~edgekd.errors.MissingDependency`), or a file that is not a model.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edgekd.errors import EdgekdError, MissingDependency
from edgekd.runtime.base import Runner


@dataclass(frozen=True)
class RuntimeSpec:
    """One runtime: its ``--runtime`` name, the module it needs, the suffixes it reads."""

    name: str
    module: str
    dist: str
    extra: str
    suffixes: tuple[str, ...]
    factory: Callable[[], Runner]


def _onnx() -> Runner:
    from edgekd.runtime.onnxruntime_runner import OnnxRuntimeRunner

    return OnnxRuntimeRunner()


def _litert() -> Runner:
    from edgekd.runtime.litert_runner import LiteRTRunner

    return LiteRTRunner("ai_edge_litert")


def _tflite_runtime() -> Runner:
    from edgekd.runtime.litert_runner import LiteRTRunner

    return LiteRTRunner("tflite_runtime")


def _tensorrt() -> Runner:
    from edgekd.runtime.tensorrt_runner import TensorRTRunner

    return TensorRTRunner()


def _torch() -> Runner:
    from edgekd.runtime.torch_runner import TorchRunner

    return TorchRunner()


RUNTIMES: dict[str, RuntimeSpec] = {
    s.name: s
    for s in (
        RuntimeSpec("onnxruntime", "onnxruntime", "onnxruntime", "runtime", (".onnx",), _onnx),
        RuntimeSpec("litert", "ai_edge_litert", "ai-edge-litert", "runtime", (".tflite",), _litert),
        RuntimeSpec("tflite-runtime", "tflite_runtime", "tflite-runtime", "tflite", (".tflite",), _tflite_runtime),
        RuntimeSpec("tensorrt", "tensorrt", "tensorrt", "tensorrt", (".engine", ".plan"), _tensorrt),
        RuntimeSpec("torch", "torch", "torch", "train", (".pt",), _torch),
    )
}
#: ``--runtime`` choices
RUNTIME_CHOICES = ("auto", *RUNTIMES)
#: suffix -> runtimes tried in order by ``auto``
AUTO_ORDER: dict[str, tuple[str, ...]] = {
    ".onnx": ("onnxruntime",),
    ".tflite": ("litert", "tflite-runtime"),
    ".engine": ("tensorrt",),
    ".plan": ("tensorrt",),
    ".pt": ("torch",),
}


def is_installed(name: str) -> bool:
    """Whether the module behind runtime ``name`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(RUNTIMES[name].module) is not None
    except (ImportError, ValueError):
        return False


def resolve_runtime(path: str | Path, runtime: str = "auto") -> tuple[str, list[str]]:
    """The runtime name for ``path`` and any notes a report must show."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in AUTO_ORDER:
        known = ", ".join(sorted(AUTO_ORDER))
        raise EdgekdError(f"{path}: unknown model file type {suffix or '(none)'!r}; expected one of {known}")
    if runtime == "auto":
        candidates = AUTO_ORDER[suffix]
        for i, name in enumerate(candidates):
            if is_installed(name):
                notes = []
                if i > 0:
                    notes.append(f"{name} used because {RUNTIMES[candidates[0]].dist} is not installed")
                return name, notes
        spec = RUNTIMES[candidates[0]]
        raise MissingDependency(spec.dist, spec.extra)
    if runtime not in RUNTIMES:
        raise EdgekdError(f"unknown runtime {runtime!r}: choose one of {', '.join(RUNTIME_CHOICES)}")
    spec = RUNTIMES[runtime]
    if suffix not in spec.suffixes:
        raise EdgekdError(
            f"runtime {runtime} cannot read {suffix} files ({path.name}); it reads {', '.join(spec.suffixes)}"
        )
    if not is_installed(runtime):
        raise MissingDependency(spec.dist, spec.extra)
    return runtime, []


def create_runner(path: str | Path, runtime: str = "auto", threads: int | None = None,
                  layout: str | None = None) -> Runner:
    """Resolve the runtime for ``path``, load the model and return the ready :class:`Runner`.

    ``layout`` ("nchw" / "nhwc") is the input layout of a model whose metadata does not say it.
    """
    path = Path(path)
    if not path.exists():
        raise EdgekdError(f"model file {path} does not exist: check the path")
    if not path.is_file():
        raise EdgekdError(f"{path} is not a file: pass a model file (.onnx, .tflite, .engine, .pt)")
    name, notes = resolve_runtime(path, runtime)
    runner = RUNTIMES[name].factory()
    runner.notes.extend(notes)
    runner.requested_layout = layout
    runner.load(path, threads)
    return runner
