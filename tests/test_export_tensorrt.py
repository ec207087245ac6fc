"""The TensorRT exporter against a stand-in ``tensorrt`` module (the only fake in the export tests).

TensorRT cannot be installed on these machines (its wheels fetch libraries from another
index at install time) and there is no GPU. The stand-in (tests/trt_standin.py) follows the TensorRT 10
builder API (Builder, OnnxParser, BuilderConfig, optimization profiles, an
IInt8EntropyCalibrator2 base class) and records every call; a stand-in
``cuda.bindings.runtime`` keeps "device memory" so the int8 calibrator's copies can be
checked byte for byte. What it cannot check is TensorRT itself: the real build and the
engine's parity gate (TensorRTRunner) must run on a Jetson (deploy/jetson/). The ONNX
the engine is built from is real and passes the float32 gate in onnxruntime here.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from edgekd.errors import EdgekdError
from edgekd.exporters.exporter import ExportOptions, export
from tests.trt_standin import install


@pytest.fixture()
def fakes(monkeypatch):
    calls: list = []
    cudart = install(calls, monkeypatch.setitem)
    return calls, cudart


def test_int8_engine_build_calls_and_sidecar(trained_digits_run, tmp_path, fakes):
    calls, cudart = fakes
    out = tmp_path / "m.engine"
    opts = ExportOptions(format="tensorrt", head="fma", quantize="int8", calib_samples=20, dynamic_batch=True,
                         max_batch=8, workspace_mb=256, dla_core=1, out=out, verify=False)
    result = export(trained_digits_run / "model.pt", opts)
    assert out.read_bytes() == b"fake-engine"
    names = [c[0] for c in calls]
    assert ("parse", ["input"], ["logits", "attention"]) in calls
    assert ("create_network", 0) in calls
    assert ("set_memory_pool_limit", "MemoryPoolType.WORKSPACE", 256 << 20) in calls
    assert ("profile.set_shape", "input", (1, 1, 8, 8), (8, 1, 8, 8), (8, 1, 8, 8)) in calls
    flags = next(c[1] for c in calls if c[0] == "build_serialized_network")
    assert {"BuilderFlag.INT8", "BuilderFlag.FP16", "BuilderFlag.GPU_FALLBACK",
            "BuilderFlag.OBEY_PRECISION_CONSTRAINTS"} <= set(flags)
    assert ("config.default_device_type", "DeviceType.DLA") in calls and ("config.DLA_core", 1) in calls
    assert "set_calibration_profile" in names and "IInt8EntropyCalibrator2.__init__" in names
    # the head's layers are pinned to float32; the backbone's are not
    pinned = {c[1] for c in calls if c[0] == "set_output_type"}
    assert pinned and not any("conv" in name.lower() for name in pinned)
    # the calibrator fed real, preprocessed training images, 8 at a time (20 -> 2 full batches)
    assert [c[1] for c in calls if c[0] == "calibration_batch"] == [8, 8]
    from edgekd.exporters.data import calibration_images

    expected = calibration_images("digits", 20, result.metadata)
    assert np.array_equal(cudart.copied[0].reshape(8, 1, 8, 8), expected[:8])
    assert not cudart.mem  # device memory freed
    side = json.loads((tmp_path / "m.engine.json").read_text())
    assert side["tensorrt_version"] == "10.3.0-fake" and side["gpu"] == "Orin (fake)"
    assert side["attention_head"] == "fma" and side["precision"] == "int8" and side["dla_core"] == 1
    assert json.loads((tmp_path / "m.engine.parity.json").read_text())["verified"] is False


def test_engine_gate_runs_the_onnx_source_first(trained_digits_run, tmp_path, fakes, monkeypatch):
    """With the gate on, the ONNX source is checked in onnxruntime before the build; the engine's
    own check needs TensorRT's runtime and a GPU, which the stand-in does not provide."""
    calls, _ = fakes
    for name in ("cuda", "cuda.bindings", "cuda.bindings.runtime", "cuda.cudart"):  # cuda-python absent
        monkeypatch.setitem(sys.modules, name, None)
    out = tmp_path / "m.plan"
    with pytest.raises(EdgekdError) as info:
        export(trained_digits_run / "model.pt", ExportOptions(format="tensorrt", quantize="fp16", out=out))
    assert "build_serialized_network" in [c[0] for c in calls]  # built after the ONNX gate passed
    assert "\n" not in str(info.value) and list(tmp_path.iterdir()) == []


def test_missing_tensorrt_points_to_the_device(trained_digits_run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    with pytest.raises(EdgekdError, match="deploy/jetson/"):
        export(trained_digits_run / "model.pt", ExportOptions(format="tensorrt", out=tmp_path / "m.engine"))
    assert list(tmp_path.iterdir()) == []
