"""The device side in a separate virtual environment with `pip install -e ".[runtime]"` and no torch.

Runs tests/torch_free_runtime.sh: real ONNX and TFLite exports benchmarked (with accuracy on
PneumoniaMNIST), explained and classified by an edgekd that cannot import torch, and every
command that needs a host-only package refused in one line naming the extra. The first run builds .venv-runtime.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, needs_shared


@needs_shared
@pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "edgekd").exists(), reason="needs the project's .venv (just setup)")
@pytest.mark.skipif(shutil.which("python3") is None, reason="python3 not on PATH")
def test_bench_runs_without_torch():
    proc = subprocess.run(["bash", str(ROOT / "tests" / "torch_free_runtime.sh")], capture_output=True, text=True,
                          timeout=1200, cwd=ROOT)
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    assert "torch-free bench: 2 models" in proc.stdout
    assert "torch-free explain and classify: overlays written" in proc.stdout
    assert "torch-free missing packages: one error line each" in proc.stdout
    assert Path(ROOT / ".venv-runtime" / ".installed").exists()
