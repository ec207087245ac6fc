"""edgekd.runtime, edgekd.benchmarking and the bench command import and run with torch blocked.

That is the promise to a Raspberry Pi where only numpy, onnxruntime, ai-edge-litert,
typer, rich and psutil are installed. The subprocess sets ``sys.modules['torch'] = None``
(any ``import torch`` then fails; onnx, litert-torch and matplotlib are blocked too), imports
every module of both packages, and benchmarks a tiny ONNX model built here with onnx.helper.

Also the device side in its own virtual environment (``pip install -e ".[runtime]"``, no torch):
tests/torch_free_runtime.sh exports, benches, explains and classifies there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT, needs_shared

SCRIPT = textwrap.dedent(
    """
    import sys
    for name in ("torch", "onnx", "litert_torch", "matplotlib"):  # absent on a Raspberry Pi
        sys.modules[name] = None
    import importlib, pkgutil
    import edgekd.benchmarking, edgekd.runtime
    for pkg in (edgekd.runtime, edgekd.benchmarking):
        for info in pkgutil.iter_modules(pkg.__path__):
            importlib.import_module(f"{pkg.__name__}.{info.name}")
    import edgekd.cli.bench, edgekd.model_files, edgekd.exporters.formats  # the one model-file table, torch-free
    import edgekd.api.bench, edgekd.api.printing, edgekd.cli.export_cmd  # bench, and export of an .onnx on a Jetson
    from edgekd.api import BenchSpec, ExportSpec
    assert BenchSpec(models=[sys.argv[1]]).record()["iters"] == 100 and ExportSpec(checkpoint="m.onnx").format is None
    from edgekd.benchmarking.measure import measure
    from edgekd.benchmarking.report import write_plot
    rec = measure(sys.argv[1], threads=1, warmup=1, iters=3, peak=True)
    assert rec["latency"]["count"] == 3 and rec["outputs"] == ["logits"], rec
    assert rec["metadata"]["dataset"] == "tiny", rec["metadata"]  # read through onnxruntime, not onnx
    assert rec["peak"]["backend"] == "numpy" and rec["achieved_gflops"] > 0, rec
    assert "matplotlib is not installed" in write_plot("x.png", {"rows": []})
    other = measure(sys.argv[2], threads=1, warmup=0, iters=2)  # no edgekd metadata, no data: latency only
    assert other["feed"]["mode"] == "random" and other["name"] == "other (onnx)", other["name"]
    import edgekd
    report = edgekd.bench(BenchSpec(models=[sys.argv[1]], threads=1, iters=2, warmup=0, peak=False))
    assert [r["runtime"] for r in report["rows"]] == ["onnxruntime"], report["rows"]
    loaded = sorted(m for m in sys.modules if m.split(".")[0] == "torch" and sys.modules[m] is not None)
    print("TORCH_FREE", loaded)
    """
)


def _tiny_onnx(path: Path, meta: bool = True) -> None:
    """logits = flatten(input) @ ones(16, 2), dynamic batch, with edgekd metadata (or without)."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((16, 2), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["input"], ["flat"]), helper.make_node("MatMul", ["flat", "w"], ["logits"])],
        "tiny", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["n", 1, 4, 4])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", 2])], initializer=[w],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    props = {"class_names": ["a", "b"], "input_size": [1, 4, 4], "mean": [0.5], "std": [0.5], "params": 32,
            "macs": 32, "attention_head": "none", "layout": "NCHW", "dataset": "tiny", "edgekd_version": "0"}
    if meta:
        helper.set_model_props(model, {"edgekd": json.dumps(props)})
    path.write_bytes(model.SerializeToString())


def test_runtime_and_bench_import_without_torch(tmp_path):
    model = tmp_path / "tiny.onnx"
    _tiny_onnx(model)
    _tiny_onnx(tmp_path / "other.onnx", meta=False)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EDGEKD_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(model), str(tmp_path / "other.onnx")],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "TORCH_FREE []" in proc.stdout


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
