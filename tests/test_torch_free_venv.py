"""The device side in a separate virtual environment with `pip install -e ".[runtime]"` and no torch.

Runs tests/torch_free_runtime.sh: real ONNX and TFLite exports benchmarked (with accuracy on
PneumoniaMNIST) by an edgekd that cannot import torch. The first run builds .venv-runtime.
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
    assert Path(ROOT / ".venv-runtime" / ".installed").exists()
