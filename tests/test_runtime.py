"""Runners on real exported models: parity with PyTorch, metadata, batch handling, bad inputs,
and the child-process benchmark end to end (onnxruntime and LiteRT, no mocks).

A small seeded conv net with an attention output is exported once per session to ONNX
(dynamo exporter, dynamic batch; legacy exporter, fixed batch 1) and to TFLite with
litert-torch (batch 1; an NHWC-input variant too). Timings are never asserted.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from edgekd.attention.cam import cam_map, class_maps
from edgekd.benchmarking.child import measure_in_child
from edgekd.benchmarking.measure import measure
from edgekd.errors import EdgekdError, MissingDependency
from edgekd.runtime.attention import attention_map, output_kind, resize
from edgekd.runtime.metadata import embed_tflite_metadata, read_metadata, sidecar_path
from edgekd.runtime.registry import create_runner, resolve_runtime

torch = pytest.importorskip("torch")
nn = torch.nn

DATA = Path("/work/shared/data/medmnist/pneumoniamnist.npz")
META = {
    "class_names": ["normal", "pneumonia"], "input_size": [1, 28, 28], "mean": [0.5], "std": [0.5],
    "params": 0, "macs": 0, "attention_head": "fma", "layout": "NCHW", "dataset": "pneumoniamnist",
    "edgekd_version": "0.1.0",
}
RECORD_KEYS = {
    "model", "name", "format", "size_bytes", "runtime", "runtime_version", "notes", "threads", "batch",
    "input_shape", "outputs", "params", "macs", "attention_head", "metadata", "load_ms", "first_inference_ms",
    "warmup", "iters", "min_time", "latency", "throughput_ips", "rss_baseline_mb", "rss_load_mb", "rss_peak_mb",
    "rss_peak_eval_mb", "dataset", "split", "accuracy", "auc", "eval_samples", "peak", "achieved_gflops",
    "peak_fraction", "pid", "python", "timestamp", "feed", "profile", "decision",
}


class TinyNet(nn.Module):
    """conv-conv-pool-linear with a spatial attention map as second output."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(1, 8, 3, padding=1)
        self.c2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.fc = nn.Linear(16, 2)

    def forward(self, x):
        f = torch.relu(self.c2(torch.relu(self.c1(x))))
        return self.fc(f.mean((2, 3))), f.pow(2).mean(1, keepdim=True)


def _onnx_with_meta(path: Path, meta: dict) -> None:
    import onnx

    model = onnx.load(str(path))
    onnx.helper.set_model_props(model, {"edgekd": json.dumps(meta)})
    onnx.save(model, str(path))


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory):
    """(torch model, {name: path}) for the exported variants."""
    litert_torch = pytest.importorskip("litert_torch")
    out = tmp_path_factory.mktemp("artifacts")
    torch.manual_seed(0)
    model = TinyNet().eval()
    meta = {**META, "params": sum(p.numel() for p in model.parameters()), "macs": 290_000}
    sample = torch.randn(1, 1, 28, 28)
    names = dict(input_names=["input"], output_names=["logits", "attention"])
    paths = {"onnx": out / "dyn.onnx", "onnx_b1": out / "b1.onnx", "tflite": out / "m.tflite",
             "nhwc": out / "nhwc.tflite"}
    torch.onnx.export(model, (sample,), str(paths["onnx"]), dynamo=True, external_data=False,
                      dynamic_shapes={"x": {0: torch.export.Dim("batch")}}, **names)
    _onnx_with_meta(paths["onnx"], meta)
    torch.onnx.export(model, (sample,), str(paths["onnx_b1"]), dynamo=False, opset_version=17, **names)
    _onnx_with_meta(paths["onnx_b1"], meta)
    litert_torch.convert(model, (sample,)).export(str(paths["tflite"]))
    paths["tflite"].write_bytes(embed_tflite_metadata(paths["tflite"].read_bytes(), meta))
    nhwc_model = litert_torch.to_channel_last_io(model, args=[0])
    litert_torch.convert(nhwc_model, (sample.permute(0, 2, 3, 1),)).export(str(paths["nhwc"]))
    sidecar_path(paths["nhwc"]).write_text(json.dumps({**meta, "layout": "NHWC"}))
    return model, paths


def _torch_out(model, x: np.ndarray) -> dict[str, np.ndarray]:
    with torch.no_grad():
        logits, att = model(torch.from_numpy(x))
    return {"logits": logits.numpy(), "attention": att.numpy()}


@pytest.mark.parametrize("kind", ["onnx", "onnx_b1", "tflite", "nhwc"])
def test_runner_matches_torch(artifacts, kind):
    model, paths = artifacts
    x = np.random.default_rng(1).standard_normal((3, 1, 28, 28), dtype=np.float32)
    with create_runner(paths[kind], threads=1) as runner:
        assert runner.output_names == ["logits", "attention"]
        assert tuple(runner.input_shape[1:]) == (1, 28, 28)
        got = runner.run(x)
    want = _torch_out(model, x)
    for key in ("logits", "attention"):
        assert got[key].shape == want[key].shape
        np.testing.assert_allclose(got[key], want[key], atol=1e-4, rtol=0)


def test_runtime_choice_and_metadata(artifacts):
    _, paths = artifacts
    assert resolve_runtime(paths["onnx"]) == ("onnxruntime", [])
    assert resolve_runtime(paths["tflite"], "auto") == ("litert", [])
    with create_runner(paths["onnx"]) as r:
        assert r.name == "onnxruntime" and r.metadata["class_names"] == META["class_names"]
    assert read_metadata(paths["onnx"])["attention_head"] == "fma"
    assert read_metadata(paths["tflite"])["input_size"] == [1, 28, 28]  # embedded flatbuffer entry
    assert read_metadata(paths["nhwc"])["layout"] == "NHWC"  # sidecar


def _one_line_error(exc_info) -> str:
    msg = str(exc_info.value)
    assert msg and "\n" not in msg
    return msg


def test_tflite_runtime_fallback_is_noted(monkeypatch, artifacts):
    from edgekd.runtime import registry

    _, paths = artifacts
    monkeypatch.setattr(registry, "is_installed", lambda name: name != "litert")
    name, notes = resolve_runtime(paths["tflite"])
    assert name == "tflite-runtime" and "ai-edge-litert is not installed" in notes[0]
    monkeypatch.setattr(registry, "is_installed", lambda name: False)
    with pytest.raises(MissingDependency):
        resolve_runtime(paths["tflite"])


def test_bad_inputs(tmp_path, artifacts):
    _, paths = artifacts
    with pytest.raises(EdgekdError) as e:
        create_runner(tmp_path / "missing.onnx")
    assert "does not exist" in _one_line_error(e)
    (tmp_path / "model.bin").write_bytes(b"\0" * 16)
    with pytest.raises(EdgekdError) as e:
        create_runner(tmp_path / "model.bin")
    assert "unknown model file type" in _one_line_error(e)
    for suffix in (".onnx", ".tflite"):
        fake = tmp_path / f"notes{suffix}"
        fake.write_text("these are my notes, not a model\n")
        with pytest.raises(EdgekdError) as e:
            create_runner(fake)
        assert "not a valid" in _one_line_error(e)
    engine = tmp_path / "m.engine"
    engine.write_bytes(b"\0" * 16)
    with pytest.raises(MissingDependency) as e:  # TensorRT cannot be installed here
        create_runner(engine, "tensorrt")
    assert "tensorrt" in _one_line_error(e)
    with pytest.raises(EdgekdError) as e:
        create_runner(paths["onnx"], "tensorrt")
    assert "cannot read .onnx" in _one_line_error(e)
    with pytest.raises(EdgekdError) as e:
        create_runner(paths["onnx"], "nope")
    _one_line_error(e)


def test_wrong_input_shape(artifacts):
    _, paths = artifacts
    with create_runner(paths["onnx"]) as runner, pytest.raises(EdgekdError) as e:
        runner.run(np.zeros((1, 3, 28, 28), np.float32))
    _one_line_error(e)


def test_measure_rejects_mismatched_data_before_timing(tmp_path, artifacts):
    _, paths = artifacts
    npz = tmp_path / "rgb.npz"
    np.savez(npz, test_images=np.zeros((4, 32, 32, 3), np.uint8), test_labels=np.zeros((4, 1), np.int64))
    with pytest.raises(EdgekdError) as e:
        measure(paths["onnx"], dataset=str(npz), iters=1, warmup=0)
    assert "expects input 1x28x28" in _one_line_error(e) and "3x32x32" in str(e.value)


@pytest.mark.skipif(not DATA.is_file(), reason="PneumoniaMNIST npz not present")
@pytest.mark.parametrize("kind", ["onnx", "tflite"])
def test_child_bench_end_to_end(artifacts, kind, tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEKD_CACHE", str(tmp_path))  # the child inherits it
    _, paths = artifacts
    spec = {"model": str(paths[kind]), "threads": 1, "batch": 2, "warmup": 1, "iters": 5,
            "dataset": str(DATA), "split": "test", "limit": 40, "peak": kind == "onnx"}
    rec = measure_in_child(spec, timeout=120)
    assert set(rec) == RECORD_KEYS
    assert rec["runtime"] == ("onnxruntime" if kind == "onnx" else "litert")
    assert rec["iters"] == 5 and rec["latency"]["count"] == 5
    assert rec["latency"]["p50_ms"] > 0 and rec["throughput_ips"] > 0
    assert rec["rss_peak_mb"] > 0 and rec["rss_peak_eval_mb"] >= rec["rss_peak_mb"]
    assert 0.0 <= rec["accuracy"] <= 1.0 and 0.0 <= rec["auc"] <= 1.0 and rec["eval_samples"] == 40
    assert rec["input_shape"] == [2, 1, 28, 28] and rec["outputs"] == ["logits", "attention"]
    assert rec["size_bytes"] == paths[kind].stat().st_size and rec["pid"] > 0
    if kind == "onnx":
        assert rec["peak"]["gflops"] > 0 and rec["achieved_gflops"] > 0 and rec["peak_fraction"] > 0
    json.dumps(rec)  # plain JSON


def test_child_errors_are_one_line(tmp_path, artifacts):
    with pytest.raises(EdgekdError) as e:
        measure_in_child({"model": str(tmp_path / "gone.onnx"), "iters": 1}, timeout=60)
    assert "does not exist" in _one_line_error(e)
    _, paths = artifacts
    with pytest.raises(EdgekdError) as e:
        measure_in_child({"model": str(paths["onnx"]), "iters": 1, "warmup": 0, "min_time": 30}, timeout=3)
    assert "timed out" in _one_line_error(e)


@pytest.mark.skipif(not DATA.is_file(), reason="PneumoniaMNIST npz not present")
def test_cli_bench_writes_reports(tmp_path, artifacts, monkeypatch):
    import typer
    from typer.testing import CliRunner

    from edgekd.api import BenchSpec
    from edgekd.cli.bench import bench
    from edgekd.cli.spec_command import register
    from tests.conftest import assert_one_line_error

    monkeypatch.setenv("EDGEKD_CACHE", str(tmp_path / "cache"))
    _, paths = artifacts
    app = typer.Typer()
    register(app, BenchSpec, bench)
    app.command("noop")(lambda: None)  # two commands, so "bench" is a subcommand as in edgekd's app
    out = tmp_path / "out"
    args = ["bench", str(paths["onnx"]), str(paths["tflite"]), "--threads", "1", "--iters", "3",
            "--warmup", "1", "--dataset", str(DATA), "--limit", "16", "--no-peak",
            "--json", str(out / "r.json"), "--md", str(out / "r.md"), "--plot", str(out / "r.png")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "r.json").read_text())
    assert [r["runtime"] for r in report["rows"]] == ["onnxruntime", "litert"]
    assert report["rows"][0]["speedup"] == pytest.approx(1.0)
    assert (out / "r.md").is_file() and (out / "r.png").stat().st_size > 0

    bad = CliRunner().invoke(app, ["bench", str(paths["onnx"]), "--dataset", str(_rgb_npz(tmp_path))])
    assert_one_line_error(bad, "expects input")


def _rgb_npz(tmp_path: Path) -> Path:
    npz = tmp_path / "rgb32.npz"
    np.savez(npz, test_images=np.zeros((2, 32, 32, 3), np.uint8), test_labels=np.zeros(2, np.int64))
    return npz


def test_sidecar_wins_for_tflite(tmp_path, artifacts):
    _, paths = artifacts
    copy = tmp_path / "copy.tflite"
    shutil.copy(paths["tflite"], copy)
    sidecar_path(copy).write_text(json.dumps({**META, "dataset": "from-sidecar"}))
    assert read_metadata(copy)["dataset"] == "from-sidecar"


def test_torch_runner_on_an_edgekd_checkpoint(tmp_path):
    """The .pt path through edgekd.training.checkpoint (edgekd's own modules: an ImportError fails)."""
    from edgekd.models import registry
    from edgekd.training import checkpoint
    torch.manual_seed(0)
    model = registry.create_model("cnn-tiny", 1, 2).eval()
    data = {"name": "pneumoniamnist", "channels": 1, "num_classes": 2, "size": 28,
            "class_names": ["normal", "pneumonia"], "mean": [0.5], "std": [0.5]}
    path = tmp_path / "model.pt"
    checkpoint.save_checkpoint(path, {"model": {"name": "cnn-tiny", "kwargs": {}}, "data": data,
                                      "state_dict": model.state_dict(), "params": 1, "macs": 1})
    x = np.random.default_rng(2).standard_normal((2, 1, 28, 28), dtype=np.float32)
    with create_runner(path, threads=1) as runner:
        assert runner.name == "torch" and runner.input_shape == (None, 1, 28, 28)
        got = runner.run(x)
    with torch.no_grad():
        want = model(torch.from_numpy(x))
    want = want[0] if isinstance(want, (tuple, list)) else want
    np.testing.assert_allclose(got["logits"], want.numpy(), atol=1e-5)
    rec = measure_in_child({"model": str(path), "threads": 1, "warmup": 0, "iters": 2}, timeout=120)
    assert rec["runtime"] == "torch" and rec["rss_peak_mb"] > 0 and rec["metadata"]["dataset"] == "pneumoniamnist"


# --- the host side of the attention head (edgekd/runtime/attention.py): the numpy resize and
# normalisation a device uses to draw a CAM head's class maps must give PyTorch's map.
# Tolerance: both sides compute in float32 (the numpy resize in float64); the bilinear weights
# are summed in a different order, so a few float32 ulps of a [0, 1] map (1e-6).
MAP_TOL = 1e-6



@pytest.mark.parametrize("src, dst", [((4, 4), (28, 28)), ((7, 5), (32, 30)), ((8, 8), (3, 5)), ((1, 1), (6, 6))])
def test_resize_matches_torch_bilinear(src, dst):
    maps = torch.randn(3, *src, generator=torch.Generator().manual_seed(1))
    want = torch.nn.functional.interpolate(maps[:, None], size=dst, mode="bilinear", align_corners=False)[:, 0].numpy()
    assert np.abs(resize(maps.numpy(), dst) - want).max() <= MAP_TOL * max(1.0, np.abs(want).max())


def test_drawn_class_maps_equal_pytorch_cam():
    gen = torch.Generator().manual_seed(0)
    features, weight = torch.randn(5, 16, 4, 4, generator=gen), torch.randn(3, 16, generator=gen)
    logits = torch.randn(5, 3, generator=gen)
    raw = class_maps(features, weight)
    assert raw.shape == (5, 3, 4, 4)
    meta = {"attention_output": "class-maps", "input_size": [1, 28, 28]}
    drawn = attention_map({"logits": logits.numpy(), "attention": raw.numpy()}, meta)
    want = cam_map(features, weight, (28, 28), logits=logits).numpy()
    assert drawn.shape == (5, 28, 28) and drawn.dtype == np.float32
    assert np.abs(drawn - want).max() <= MAP_TOL
    # the class drawn is the predicted one: another target gives another map
    other = cam_map(features, weight, (28, 28), target=(logits.argmax(1) + 1) % 3).numpy()
    assert np.abs(drawn - other).max() > 0.1


def test_plain_maps_pass_through_and_bad_metadata_is_refused():
    att = np.random.default_rng(0).random((2, 1, 8, 8), dtype=np.float32)
    assert output_kind({}) == "map"
    np.testing.assert_array_equal(attention_map({"logits": np.zeros((2, 3)), "attention": att}, {}), att[:, 0])
    with pytest.raises(EdgekdError, match="attention_output"):
        output_kind({"attention_output": "heatmap"})
    with pytest.raises(EdgekdError, match="does not match the logits"):
        attention_map({"logits": np.zeros((2, 3)), "attention": att}, {"attention_output": "class-maps",
                                                                       "input_size": [1, 8, 8]})
