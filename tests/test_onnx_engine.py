"""ONNX -> TensorRT engine on the device, without torch (edgekd/exporters/onnx_engine.py).

TensorRT cannot be installed here: the build runs against the stand-in of
tests/trt_standin.py (it records the builder calls). The ONNX, its metadata, the
calibration images and the torch-free process are real.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from typer.testing import CliRunner

from edgekd.cli.app import app
from edgekd.exporters.exporter import ExportOptions, export
from tests.conftest import ROOT, assert_one_line_error
from tests.trt_standin import install

runner = CliRunner()


@pytest.fixture(scope="module")
def student_onnx(trained_digits_run, tmp_path_factory):
    """The digits student exported as float32 ONNX with an FMA head and a dynamic batch."""
    out = tmp_path_factory.mktemp("onnx_engine") / "student.onnx"
    export(trained_digits_run / "model.pt", ExportOptions(format="onnx", head="fma", dynamic_batch=True, out=out))
    return out


@pytest.fixture()
def fakes(monkeypatch):
    calls: list = []
    return calls, install(calls, monkeypatch.setitem)


# The device: torch (and the host-only packages) cannot be imported; the TensorRT stand-in
# is installed; the CLI builds an int8 engine from the ONNX with calibration images read
# from a folder of PNG files.
DEVICE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    for name in ("torch", "torchvision", "litert_torch", "matplotlib", "onnxscript"):
        sys.modules[name] = None
    from tests.trt_standin import install
    calls = []
    cudart = install(calls, lambda mapping, key, value: mapping.__setitem__(key, value))
    from edgekd.cli.app import app
    try:
        app(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code or 0
    loaded = sorted(m for m in sys.modules if m.split(".")[0] == "torch" and sys.modules[m] is not None)
    shape = calls and next(c for c in calls if c[0] == "profile.set_shape")
    print("RESULT", json.dumps({"code": code, "torch": loaded, "profile": shape,
                                "copied": [c.tolist() for c in cudart.copied]}))
    """
)


def test_engine_from_onnx_on_a_torch_free_device(student_onnx, tmp_path):
    from PIL import Image

    from edgekd.data.registry import load_split
    from edgekd.data.spec import preprocess

    calib = tmp_path / "calib"
    calib.mkdir()
    digits = load_split("digits", "test", None).images[:8]
    for i, img in enumerate(digits):
        Image.fromarray(img[0]).save(calib / f"{i}.png")
    out = tmp_path / "student-int8.engine"
    args = ["export", str(student_onnx), "--quantize", "int8", "--calib-dataset", str(calib),
            "--calib-samples", "8", "--dynamic-batch", "--no-verify", "--out", str(out)]
    proc = subprocess.run([sys.executable, "-c", DEVICE_SCRIPT, *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line is not None, (proc.stdout[-2000:], proc.stderr[-2000:])
    result = json.loads(line[len("RESULT "):])
    assert result["code"] == 0, proc.stderr[-2000:]
    assert result["torch"] == []  # the whole route ran with torch unimportable
    assert result["profile"] == ["profile.set_shape", "input", [1, 1, 8, 8], [32, 1, 8, 8], [32, 1, 8, 8]]
    meta = json.loads(out.with_name(out.name + ".json").read_text())
    # calibration: the PNG files, preprocessed with the ONNX's own normalisation, 8 in one batch
    expected = preprocess(digits, meta["mean"], meta["std"])
    assert np.array_equal(np.asarray(result["copied"][0], np.float32).reshape(8, 1, 8, 8), expected)
    assert out.read_bytes() == b"fake-engine"
    assert meta["format"] == "tensorrt" and meta["quantize"] == "int8" and meta["attention_head"] == "fma"
    assert meta["source_onnx"] == "student.onnx" and len(meta["source_onnx_sha256"]) == 64
    assert meta["class_names"] == [str(i) for i in range(10)] and meta["outputs"] == ["logits", "attention"]
    parity = json.loads(out.with_name(out.name + ".parity.json").read_text())
    assert parity["verified"] is False and any("calibration images from" in n for n in parity["notes"])


def test_engine_head_layers_pinned_and_gate_needs_the_gpu(student_onnx, tmp_path, fakes, monkeypatch):
    """fp16 pins the attention head's layers to float32; the gate then runs the engine, which
    needs TensorRT's runtime and a GPU: without them it fails in one line and leaves nothing."""
    calls, _ = fakes
    for name in ("cuda", "cuda.bindings", "cuda.bindings.runtime", "cuda.cudart"):  # cuda-python absent
        monkeypatch.setitem(sys.modules, name, None)
    out = tmp_path / "e.engine"
    result = runner.invoke(app, ["export", str(student_onnx), "--quantize", "fp16", "--out", str(out)])
    assert_one_line_error(result, "cuda-python")
    flags = next(c[1] for c in calls if c[0] == "build_serialized_network")
    assert "BuilderFlag.FP16" in flags and "BuilderFlag.OBEY_PRECISION_CONSTRAINTS" in flags
    pinned = {c[1] for c in calls if c[0] == "set_output_type"}
    assert pinned and not any("conv" in name.lower() for name in pinned)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("extra", "words"), [
    (["--format", "onnx"], ["only become a TensorRT engine"]),
    (["--attention-head", "cam"], ["drop --attention-head"]),
    (["--opset", "17"], ["drop it for an .onnx input"]),
])
def test_engine_requests_that_make_no_sense_are_refused(student_onnx, tmp_path, fakes, extra, words):
    result = runner.invoke(app, ["export", str(student_onnx), "--out", str(tmp_path / "e.engine"), *extra])
    assert_one_line_error(result, *words)
    assert list(tmp_path.iterdir()) == []


def test_engine_sources_that_cannot_work_are_refused(trained_digits_run, tmp_path, fakes):
    import onnx
    from onnx import TensorProto, helper

    fixed = tmp_path / "fixed.onnx"
    export(trained_digits_run / "model.pt", ExportOptions(format="onnx", out=fixed, verify=False))
    result = runner.invoke(app, ["export", str(fixed), "--dynamic-batch", "--out", str(tmp_path / "a.engine")])
    assert_one_line_error(result, "fixed batch of 1")
    int8 = tmp_path / "int8.onnx"
    export(trained_digits_run / "model.pt", ExportOptions(format="onnx", quantize="dynamic", out=int8, verify=False))
    result = runner.invoke(app, ["export", str(int8), "--out", str(tmp_path / "b.engine")])
    assert_one_line_error(result, "float32 export")
    foreign = tmp_path / "foreign.onnx"
    graph = helper.make_graph([helper.make_node("Relu", ["input"], ["logits"])], "g",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 4])])
    onnx.save(helper.make_model(graph), foreign)
    result = runner.invoke(app, ["export", str(foreign), "--out", str(tmp_path / "c.engine")])
    assert_one_line_error(result, "no edgekd metadata")
    assert not list(tmp_path.glob("*.engine*"))


def test_missing_tensorrt_is_one_line_pointing_to_the_device(student_onnx, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    result = runner.invoke(app, ["export", str(student_onnx), "--out", str(tmp_path / "e.engine")])
    assert_one_line_error(result, "deploy/jetson/")
