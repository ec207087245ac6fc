"""edgekd export: the format table, the attention head, and real exports in the real runtimes.

No mocks: every export below is a real torch.onnx / litert-torch conversion of a trained
student, checked by the parity gate in onnxruntime / ai-edge-litert. The digits student
of conftest (cnn-small, 8x8) has a 1x1 last stage, so its CAM is refused; the CAM exports
use a cnn-tiny trained on digits (last stage 2x2). TFLite conversions take several
seconds each, so the default set covers every format, head and quantization mode at
least once and the rest of the matrix is marked slow. The export matrix on
PneumoniaMNIST is benchmarks/export_matrix/export_matrix.py.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from edgekd.attention import registry
from edgekd.attention.capture import default_layers
from edgekd.attention.compute import attention
from edgekd.errors import EdgekdError
from edgekd.exporters import formats
from edgekd.exporters.exporter import ExportOptions, default_output, export
from edgekd.exporters.head import ExportHead, head_layers
from edgekd.runtime.attention import attention_map
from edgekd.runtime.metadata import read_metadata, sidecar_path
from edgekd.runtime.registry import create_runner
from edgekd.training.checkpoint import build_model, load_checkpoint

REFERENCE = {name: functools.partial(attention, registry.get(name)) for name in ("fma", "mip", "cam")}


@pytest.fixture(scope="session")
def tiny_digits_run(tmp_path_factory) -> Path:
    """cnn-tiny on digits (a few seconds): stages 8x8, 4x4, 2x2, so every map and the CAM exist."""
    from edgekd.training.loop import TrainConfig
    from edgekd.training.supervised import train_supervised

    out = tmp_path_factory.mktemp("tiny_digits_run")
    train_supervised("cnn-tiny", "digits", out, TrainConfig(epochs=6, batch_size=32, lr=0.1, seed=0), quiet=True)
    return out


def images(ckpt: Path, n: int = 16) -> np.ndarray:
    from edgekd.exporters.data import test_images

    content = load_checkpoint(ckpt)
    from edgekd.training.checkpoint import artifact_metadata

    return test_images(artifact_metadata(content))[0][:n]


# --- the table and option validation (no work done) ---------------------------------

def test_format_table_is_the_single_source():
    rows = {r["format"]: r for r in formats.export_formats()}
    assert set(rows) == {"onnx", "tflite", "tensorrt"}
    assert rows["tflite"]["dynamic_batch"] is False and "NHWC" in rows["tflite"]["layouts"]
    assert rows["tensorrt"]["needs_gpu"] and "dynamic" not in rows["tensorrt"]["quantize"]
    assert formats.format_for_suffix(".tflite").name == "tflite"
    assert formats.validate("onnx", "int8", "fma", True, False, 8).suffix == ".onnx"


@pytest.mark.parametrize("kwargs, words", [
    (dict(fmt="onxx"), "did you mean onnx"),
    (dict(fmt="tflite", dynamic_batch=True), "fixed batch of 1"),
    (dict(fmt="onnx", nhwc=True), "NHWC"),
    (dict(fmt="onnx", quantize="int8", calib_samples=0), "calibration images"),
    (dict(fmt="onnx", quantize="int4"), "int4"),
    (dict(fmt="onnx", head="sals"), "sals"),
    (dict(fmt="tensorrt", quantize="dynamic", check_installed=False), "does not support"),
    (dict(fmt="tflite", opset=17), "--opset"),
    (dict(fmt="tensorrt"), "deploy/jetson/"),
])
def test_validate_refuses_unsupported_combinations(kwargs, words):
    with pytest.raises(EdgekdError, match=words.replace("(", r"\(")) as info:
        formats.validate(**kwargs)
    assert "\n" not in str(info.value)


def test_default_output_name(tmp_path):
    ckpt = tmp_path / "run" / "model.pt"
    assert default_output(ckpt, ExportOptions()) == tmp_path / "run" / "model.onnx"
    opts = ExportOptions(format="tflite", head="fma", quantize="int8", nhwc=True)
    assert default_output(ckpt, opts).name == "model-fma-int8-nhwc.tflite"


# --- the attention head -------------------------------------------------------------

def test_head_drops_1x1_stages_and_refuses_a_constant_cam(trained_digits_run):
    model = build_model(load_checkpoint(trained_digits_run / "model.pt"))
    assert default_layers(model) == ["block0", "block3"]  # block3 is 1x1 at 8x8 inputs
    assert head_layers(model, "fma", (1, 8, 8)) == ["block0"]
    with pytest.raises(EdgekdError, match="CAM of this model is constant"):
        head_layers(model, "cam", (1, 8, 8))


@pytest.mark.parametrize("head", ["fma", "mip", "cam"])
def test_head_equals_the_attention_functions(tiny_digits_run, head):
    ckpt = tiny_digits_run / "model.pt"
    model = build_model(load_checkpoint(ckpt))
    x = torch.from_numpy(images(ckpt, 8))
    with ExportHead(model, head, (1, 8, 8)) as wrapper, torch.no_grad():
        logits, attention = wrapper(x)
        assert wrapper.layers == (default_layers(model) if head != "cam" else [model.stages[-1]])
    with torch.no_grad():
        ref = REFERENCE[head](model, x)
    assert torch.equal(logits, ref.logits)
    if head == "cam":  # raw class maps; drawn on the host as PyTorch's CAM (float32 summation order: 1e-6)
        assert attention.shape == (8, logits.shape[1], *ref.features[-1].shape[-2:])
        drawn = attention_map({"logits": logits.numpy(), "attention": attention.numpy()},
                              {"attention_output": wrapper.attention_output, "input_size": [1, 8, 8]})
        assert np.abs(drawn - ref.map.numpy()).max() <= 1e-6
    else:
        assert attention.shape == (8, 1, 8, 8) and attention.min() >= 0 and attention.max() <= 1
        assert torch.equal(attention[:, 0], ref.map)
    assert not model._forward_hooks and not any(m._forward_hooks for m in model.modules())  # hooks removed


# --- real exports, parity in the real runtimes --------------------------------------

DEFAULT = [  # (format, head, quantize, extra options): every format / head / mode at least once
    ("onnx", "fma", "none", {"dynamic_batch": True}),
    ("onnx", "mip", "fp16", {}),
    ("onnx", "fma", "int8", {}),
    ("onnx", "none", "dynamic", {}),
    ("tflite", "fma", "none", {}),
    ("tflite", "mip", "int8", {"nhwc": True}),
    ("tflite", "none", "fp16", {}),
    ("tflite", "fma", "dynamic", {}),
]
SLOW = [(f, h, q, {}) for f in ("onnx", "tflite") for h in ("none", "fma", "mip") for q in formats.QUANTIZE_MODES
        if (f, h, q) not in {(d[0], d[1], d[2]) for d in DEFAULT}]
CAM = [("onnx", "cam", "none", {}), ("tflite", "cam", "none", {})]
CAM_SLOW = [(f, "cam", q, {}) for f in ("onnx", "tflite") for q in ("fp16", "int8", "dynamic")]


def check_export(ckpt: Path, out: Path, fmt: str, head: str, quantize: str, extra: dict) -> None:
    opts = ExportOptions(format=fmt, head=head, quantize=quantize, out=out, calib_samples=64, **extra)
    result = export(ckpt, opts)
    assert result.path == out and out.is_file()
    assert result.parity["passed"], result.parity["failures"]
    assert result.parity["runtime"] == formats.get_format(fmt).runtime
    if quantize in ("none", "fp16"):
        assert result.parity["top1_agreement"] == 1.0
    # metadata round-trips through edgekd/runtime/metadata.py
    meta = read_metadata(out)
    assert meta["attention_head"] == head and meta["quantize"] == quantize
    assert meta["layout"] == ("NHWC" if extra.get("nhwc") else "NCHW")
    assert meta == result.metadata
    if fmt == "tflite":
        assert json.loads(sidecar_path(out).read_text()) == meta
        sidecar_path(out).unlink()
        assert read_metadata(out) == meta  # the embedded copy
    saved = json.loads(out.with_name(out.name + ".parity.json").read_text())
    assert saved["verified"] and saved["passed"] and saved["bytes"] == out.stat().st_size
    # the artifact's attention output equals the PyTorch map (float modes: within the gate's tolerance)
    if head != "none":
        model = build_model(load_checkpoint(ckpt))
        x = images(ckpt, 8)
        with create_runner(out) as runner:
            got = runner.run(x)
        with torch.no_grad():
            ref = REFERENCE[head](model, torch.from_numpy(x), layers=result.metadata["attention_layers"])
        if head == "cam":  # raw class maps of every class at the last stage's resolution, one graph op
            stage = ref.features[-1]
            assert got["attention"].shape == (8, got["logits"].shape[1], *stage.shape[-2:])
        else:
            assert got["attention"].shape == (8, 1, *x.shape[-2:])
        drawn = attention_map(got, meta)
        assert drawn.shape == (8, *x.shape[-2:])
        diff = np.abs(drawn - ref.map.numpy())
        if quantize in ("none", "fp16"):
            assert diff.max() <= {"none": 1e-4, "fp16": 5e-2}[quantize]
        else:  # int8 maps are reported, not gated; a CAM may follow a flipped prediction
            assert diff.mean() <= 0.1 and drawn.min() >= -0.01 and drawn.max() <= 1.01
        if quantize != "int8":  # a constant image: min-max's eps must survive export (0, not 0/0 = NaN)
            with create_runner(out) as runner:
                flat = attention_map(runner.run(np.zeros_like(x[:2])), meta)
            assert np.isfinite(flat).all()
            if result.metadata["attention_layers"] == ["block0"]:  # first stage: constant in, constant out
                assert np.abs(flat).max() == 0.0
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(".")]
    assert not leftovers  # no temporary files


@pytest.mark.parametrize("fmt, head, quantize, extra", DEFAULT, ids=lambda v: v if isinstance(v, str) else "")
def test_export_passes_parity(trained_digits_run, tmp_path, fmt, head, quantize, extra):
    check_export(trained_digits_run / "model.pt", tmp_path / f"m{formats.get_format(fmt).suffix}",
                 fmt, head, quantize, extra)


@pytest.mark.slow
@pytest.mark.parametrize("fmt, head, quantize, extra", SLOW, ids=lambda v: v if isinstance(v, str) else "")
def test_export_passes_parity_full_matrix(trained_digits_run, tmp_path, fmt, head, quantize, extra):
    check_export(trained_digits_run / "model.pt", tmp_path / f"m{formats.get_format(fmt).suffix}",
                 fmt, head, quantize, extra)


@pytest.mark.parametrize("fmt, head, quantize, extra", CAM + [pytest.param(*c, marks=pytest.mark.slow)
                                                             for c in CAM_SLOW],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_cam_export_passes_parity(tiny_digits_run, tmp_path, fmt, head, quantize, extra):
    check_export(tiny_digits_run / "model.pt", tmp_path / f"m{formats.get_format(fmt).suffix}",
                 fmt, head, quantize, extra)


def test_failed_gate_leaves_only_its_record_and_no_verify_warns(trained_digits_run, tmp_path, monkeypatch):
    from edgekd.exporters import verify

    ckpt, out = trained_digits_run / "model.pt", tmp_path / "q.onnx"
    monkeypatch.setitem(verify.TOLERANCES, "dynamic", verify.Tolerance(None, None, 1.01, None))  # unreachable
    with pytest.raises(EdgekdError, match="parity check failed") as info:
        export(ckpt, ExportOptions(quantize="dynamic", out=out))
    assert "\n" not in str(info.value)
    assert [p.name for p in tmp_path.iterdir()] == ["q.onnx.refused.parity.json"]  # no artifact, no temporary file
    assert json.loads((tmp_path / "q.onnx.refused.parity.json").read_text())["refused"] is True
    result = export(ckpt, ExportOptions(quantize="dynamic", out=out, verify=False))
    assert result.parity is None and out.is_file()
    assert json.loads((tmp_path / "q.onnx.parity.json").read_text())["verified"] is False
    assert not (tmp_path / "q.onnx.refused.parity.json").exists()  # the refusal no longer describes q.onnx
    with pytest.raises(EdgekdError, match="already exists"):
        export(ckpt, ExportOptions(quantize="dynamic", out=out, verify=False))
