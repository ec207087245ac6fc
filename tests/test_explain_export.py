"""Exported attention heads: the ONNX / TFLite map equals the PyTorch map, and explaining an
export needs no torch.

The exporter (edgekd/exporters) is not committed yet, so the artifacts are made here the way
edgekd/runtime/metadata.py specifies: input ``input``, outputs ``logits`` and ``attention``
(B x 1 x H x W), the edgekd JSON in ONNX ``metadata_props`` / a TFLite sidecar. The head is
computed from the same stages as a checkpoint's explanation (edgekd.explain.layers).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from edgekd.explain.backends import ArtifactBackend, CheckpointBackend
from edgekd.explain.run import explain
from edgekd.training.loop import TrainConfig
from tests.conftest import needs_shared
from tests.test_explain import assert_one_line_error, invoke, train_once

ROOT = Path(__file__).resolve().parent.parent
pytestmark = needs_shared


class Head(nn.Module):
    """logits, or (logits, attention B x 1 x H x W) with the registry's map over ``layers``."""

    def __init__(self, model: nn.Module, kind: str, input_size):
        super().__init__()
        from edgekd.explain.layers import map_layers

        self.model, self.kind = model.eval(), kind
        self.layers = map_layers(model, kind, input_size) if kind != "none" else None

    def forward(self, input):  # noqa: A002 - the exported input is named "input"
        if self.kind == "none":
            return self.model(input)
        from edgekd.attention import registry
        from edgekd.attention.compute import attention

        att = attention(registry.get(self.kind), self.model, input, layers=self.layers)
        return att.logits, att.map.unsqueeze(1)


def _head_and_meta(ckpt: Path, kind: str):
    from edgekd.training.checkpoint import artifact_metadata, build_model, load_checkpoint

    content = load_checkpoint(ckpt)
    meta = {**artifact_metadata(content), "attention_head": kind, "layout": "NCHW"}
    return Head(build_model(content), kind, meta["input_size"]).eval(), meta


def export_onnx(ckpt: Path, kind: str, path: Path) -> Path:
    import onnx

    from edgekd.runtime.metadata import METADATA_KEY, metadata_json

    head, meta = _head_and_meta(ckpt, kind)
    x = torch.rand(2, *meta["input_size"])
    names = ["logits"] if kind == "none" else ["logits", "attention"]
    torch.onnx.export(head, (x,), str(path), input_names=["input"], output_names=names, dynamo=True,
                      dynamic_shapes=({0: torch.export.Dim("batch")},), verbose=False)
    model = onnx.load(str(path))
    onnx.helper.set_model_props(model, {METADATA_KEY: metadata_json(meta)})
    onnx.save(model, str(path))
    return path


def export_tflite(ckpt: Path, kind: str, path: Path) -> Path:
    litert_torch = pytest.importorskip("litert_torch")
    from edgekd.runtime.metadata import metadata_json, sidecar_path

    os.environ.setdefault("LITERT_TORCH_SHOW_PROGRESS", "n")
    head, meta = _head_and_meta(ckpt, kind)
    edge = litert_torch.convert(head, sample_kwargs={"input": torch.rand(1, *meta["input_size"])})
    path.write_bytes(bytes(edge.model_content()))
    sidecar_path(path).write_text(metadata_json(meta))
    return path


@pytest.fixture(scope="session")
def pneumonia_tiny(tmp_path_factory) -> Path:
    return train_once(tmp_path_factory, "explain_pneumonia_tiny", "cnn-tiny", "pneumoniamnist",
                      TrainConfig(epochs=1, batch_size=64, lr=0.05, label_fraction=0.3))


@pytest.fixture(scope="session")
def exported(pneumonia_tiny, tmp_path_factory):
    """A factory: (kind, format) -> the exported pneumonia student, made once."""
    folder, made = tmp_path_factory.mktemp("exports"), {}

    def get(kind: str, fmt: str = "onnx") -> Path:
        if (kind, fmt) not in made:
            path = folder / f"student_{kind}.{fmt}"
            made[kind, fmt] = (export_onnx if fmt == "onnx" else export_tflite)(pneumonia_tiny, kind, path)
        return made[kind, fmt]

    return get


@pytest.fixture(scope="session")
def xray_batch():
    from edgekd.data.registry import dataset_info, load_split
    from edgekd.explain.images import normalise

    info = dataset_info("pneumoniamnist")
    test = load_split("pneumoniamnist", "test")
    return normalise(test.images[:64], info.mean, info.std)


def _assert_same_explanation(artifact: Path, ckpt: Path, kind: str, x: np.ndarray) -> None:
    art, pt = ArtifactBackend(artifact), CheckpointBackend(ckpt)
    assert art.resolve_map(None) == "head" and art.resolve_map(kind) == "head"
    probs_a, maps_a = art.explain(x, "head")
    probs_t, maps_t = pt.explain(x, kind)
    assert maps_a.shape == maps_t.shape == (len(x), 28, 28)
    np.testing.assert_allclose(maps_a, maps_t, atol=1e-4, rtol=0)
    np.testing.assert_allclose(probs_a, probs_t, atol=1e-5, rtol=0)
    assert maps_t.max() > 0.99 and np.isfinite(maps_a).all()


@pytest.mark.parametrize("kind", ["fma", "mip", "cam"])
def test_onnx_head_map_equals_the_pytorch_map(kind, exported, pneumonia_tiny, xray_batch):
    _assert_same_explanation(exported(kind), pneumonia_tiny, kind, xray_batch)


def test_tflite_head_map_equals_the_pytorch_map(exported, pneumonia_tiny, xray_batch):
    _assert_same_explanation(exported("fma", "tflite"), pneumonia_tiny, "fma", xray_batch[:16])


def test_explaining_the_export_gives_the_checkpoints_explanation(exported, pneumonia_tiny, tmp_path):
    onnx_res = explain(exported("mip"), ["pneumoniamnist"], None, tmp_path / "onnx", n=6)
    pt_res = explain(pneumonia_tiny, ["pneumoniamnist"], "mip", tmp_path / "pt", n=6)
    assert onnx_res["source"] == "artifact" and onnx_res["map"] == "head" and onnx_res["head"] == "mip"
    assert onnx_res["map_label"] == "MIP (exported head)" and onnx_res["runtime"].startswith("onnxruntime")
    for a, b in zip(onnx_res["images"], pt_res["images"], strict=True):
        assert a["file"] == b["file"] and a["predicted_class"] == b["predicted_class"]
        assert a["probability"] == pytest.approx(b["probability"], abs=1e-5)
        for key in ("min", "max", "mean", "std"):
            assert a["map_stats"][key] == pytest.approx(b["map_stats"][key], abs=1e-4)
        assert (tmp_path / "onnx" / a["file"]).stat().st_size > 8_000


def test_export_bad_map_choices_are_one_line_errors(exported, tmp_path):
    fma = exported("fma")
    assert_one_line_error(invoke("explain", fma, "pneumoniamnist", "--map", "sals", "--out", tmp_path),
                          "'fma' attention head", "--map head")
    assert_one_line_error(invoke("explain", fma, "pneumoniamnist", "--layers", "block0", "--out", tmp_path),
                          "checkpoints only")
    assert_one_line_error(invoke("explain", exported("none"), "pneumoniamnist", "--out", tmp_path),
                          "no attention output", "--attention-head")
    assert_one_line_error(invoke("explain", fma, "digits", "--out", tmp_path), "1x28x28")
    result = invoke("explain", fma, "pneumoniamnist", "--map", "fma", "--n", "2", "--out", tmp_path / "ok")
    assert result.exit_code == 0 and "FMA (exported head)" in result.output, result.output


SCRIPT = textwrap.dedent(
    """
    import sys
    for name in ("torch", "onnx", "litert_torch"):  # absent on a device
        sys.modules[name] = None
    import json
    from typer.testing import CliRunner
    from edgekd.cli.app import app
    out, image, models = sys.argv[1], sys.argv[2], sys.argv[3:]
    for i, model in enumerate(models):
        r = CliRunner().invoke(app, ["explain", model, image, "pneumoniamnist", "--n", "2", "--out", f"{out}/{i}"])
        assert r.exit_code == 0, r.output
        data = json.load(open(f"{out}/{i}/explain.json"))
        assert data["n"] == 3 and data["map"] == "head", data
    loaded = sorted(m for m in sys.modules if m.split(".")[0] == "torch" and sys.modules[m] is not None)
    print("TORCH_FREE", loaded)
    """
)


def test_explaining_an_export_never_imports_torch(exported, tmp_path):
    from PIL import Image

    from edgekd.data.registry import load_split

    image = tmp_path / "xray.png"
    Image.fromarray(load_split("pneumoniamnist", "test").images[5, 0]).save(image)  # the model's 28 px: no --resize
    models = [str(exported("cam"))]
    try:
        models.append(str(exported("fma", "tflite")))
    except pytest.skip.Exception:
        pass
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "out"), str(image), *models],
                          capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "TORCH_FREE []" in proc.stdout
    assert json.loads((tmp_path / "out" / "0" / "explain.json").read_text())["head"] == "cam"
