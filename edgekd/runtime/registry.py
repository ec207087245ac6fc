"""Pick the runner for a model file: by ``--runtime`` name, or by file suffix with ``auto``.

Which runtime reads which suffix, what installs it and the order ``auto`` tries them in
come from the one model-file table, :mod:`edgekd.model_files` (see its runtime table).

Bad input fails with a one-line :class:`~edgekd.errors.EdgekdError`: a missing file, an
unknown suffix, a runtime that cannot read that suffix, a runtime not installed
(:class:`~edgekd.errors.MissingDependency`), or a file that is not a model.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from edgekd.errors import EdgekdError
from edgekd.model_files import AUTO_ORDER, RUNTIMES, RuntimeSpec, installed, missing, suffix_list
from edgekd.runtime.base import Runner
from edgekd.suggest import unknown

__all__ = ["AUTO_ORDER", "RUNTIMES", "RUNTIME_CHOICES", "RuntimeSpec", "check_runtime", "create_runner",
           "is_installed", "resolve_runtime"]

#: ``--runtime`` choices
RUNTIME_CHOICES = ("auto", *RUNTIMES)


def is_installed(name: str) -> bool:
    """Whether the module behind runtime ``name`` can be imported (without importing it)."""
    return installed(RUNTIMES[name].module)


def check_runtime(runtime: str) -> str:
    """``runtime`` when it is a ``--runtime`` choice; otherwise a one-line error with a close match."""
    if runtime not in RUNTIME_CHOICES:
        raise unknown("runtime", runtime, RUNTIME_CHOICES)
    return runtime


def resolve_runtime(path: str | Path, runtime: str = "auto") -> tuple[str, list[str]]:
    """The runtime name for ``path`` and any notes a report must show."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in AUTO_ORDER:
        raise EdgekdError(f"{path}: unknown model file type {suffix or '(none)'!r}; expected one of {suffix_list()}")
    if check_runtime(runtime) == "auto":
        candidates = AUTO_ORDER[suffix]
        for i, name in enumerate(candidates):
            if is_installed(name):
                notes = []
                if i > 0:
                    notes.append(f"{name} used because {RUNTIMES[candidates[0]].dist} is not installed")
                return name, notes
        raise missing(candidates[0])
    spec = RUNTIMES[runtime]
    if suffix not in spec.suffixes:
        raise EdgekdError(
            f"runtime {runtime} cannot read {suffix} files ({path.name}); it reads {suffix_list(spec.suffixes)}"
        )
    if not is_installed(runtime):
        raise missing(runtime)
    return runtime, []


def _runner(spec: RuntimeSpec) -> Runner:
    """A new, unloaded runner of the class the table names for ``spec``."""
    module, cls = spec.runner.split(":")
    return getattr(importlib.import_module(module), cls)()


def create_runner(path: str | Path, runtime: str = "auto", threads: int | None = None,
                  layout: str | None = None) -> Runner:
    """Resolve the runtime for ``path``, load the model and return the ready :class:`Runner`.

    ``layout`` ("nchw" / "nhwc") is the input layout of a model whose metadata does not say it.
    """
    path = Path(path)
    if not path.exists():
        raise EdgekdError(f"model file {path} does not exist: check the path")
    if not path.is_file():
        raise EdgekdError(f"{path} is not a file: pass a model file ({suffix_list()})")
    name, notes = resolve_runtime(path, runtime)
    runner = _runner(RUNTIMES[name])
    runner.notes.extend(notes)
    runner.requested_layout = layout
    runner.load(path, threads)
    return runner
