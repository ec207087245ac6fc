"""Run :func:`edgekd.benchmarking.measure.measure` for one model in a fresh Python process.

Each model gets its own interpreter, so its peak RSS, its runtime's thread pools and
any crash are its own. The spec and the result travel as JSON files in a temporary
folder (stdout stays free for the runtime's own chatter). The child is killed after
``timeout`` seconds. Every failure comes back as a one-line :class:`EdgekdError`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import edgekd
from edgekd.errors import EdgekdError
from edgekd.fileio import atomic_write_json

#: default wall-clock limit for one model, in seconds
DEFAULT_TIMEOUT = 600.0


def _child_env() -> dict[str, str]:
    """The parent's environment with edgekd's folder first on PYTHONPATH."""
    env = dict(os.environ)
    root = str(Path(edgekd.__file__).resolve().parent.parent)
    old = env.get("PYTHONPATH")
    env["PYTHONPATH"] = root + (os.pathsep + old if old else "")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


def measure_in_child(spec: dict[str, Any], timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
    """Run ``measure(**spec)`` in a child process and return its record.

    ``spec`` must be JSON-able (paths as strings). Raises :class:`EdgekdError` with one
    line on a user error inside the child, a crash, or a timeout.
    """
    model = spec.get("model", "?")
    with tempfile.TemporaryDirectory(prefix="edgekd-bench-") as tmp:
        spec_path, result_path = Path(tmp) / "spec.json", Path(tmp) / "result.json"
        atomic_write_json(spec_path, spec)
        cmd = [sys.executable, "-m", "edgekd.benchmarking.worker", str(spec_path), str(result_path)]
        try:
            proc = subprocess.run(
                cmd, env=_child_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            raise EdgekdError(
                f"benchmark of {model} timed out after {timeout:.0f} s: lower --iters / --min-time or raise the timeout"
            ) from None
        if not result_path.is_file():
            why = f"exit code {proc.returncode}" if proc.returncode >= 0 else f"killed by signal {-proc.returncode}"
            raise EdgekdError(f"benchmark of {model} crashed ({why}): {_last_line(proc.stderr)}")
        try:
            result = json.loads(result_path.read_text(encoding="utf-8"))
        except ValueError:
            raise EdgekdError(f"benchmark of {model} wrote an unreadable result: rerun it") from None
    if not result.get("ok"):
        error = str(result.get("error", "unknown error"))
        if result.get("kind") == "internal":
            error = f"benchmark of {model} failed: {error}"
        raise EdgekdError(error)
    return result["record"]
