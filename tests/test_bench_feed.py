"""Benching a model that is not edgekd's: how the data set is fed, or latency only.

The decisions of ``plan_feed`` are checked on their own (no runtime); a real ONNX without
edgekd metadata (a small torch classifier exported like an Ultralytics one: input
``images`` 1x3x32x32 NCHW, [0, 1] scaling, softmax output) is then scored on real
PneumoniaMNIST images in onnxruntime and compared with the same images prepared here
independently (PIL) and run through PyTorch.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgekd.benchmarking.feed import feed_images, plan_feed, to_channels
from edgekd.benchmarking.options import FeedOptions, parse_class_map, parse_size
from edgekd.errors import EdgekdError

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "medmnist" / "pneumoniamnist.npz"
CLASSES = ["normal", "pneumonia"]
META = {"class_names": CLASSES, "input_size": [1, 28, 28], "mean": [0.5], "std": [0.5]}


def _plan(model_chw=(3, 32, 32), data_chw=(1, 28, 28), outputs=2, opts=FeedOptions(), meta=None):
    return plan_feed(meta or {}, model_chw, data_chw, outputs, CLASSES, ([0.57], [0.16]), opts, "other (onnx)")


def test_plan_feed_decides_per_model():
    assert _plan(meta=META, model_chw=(1, 28, 28)).mode == "metadata"
    alone = _plan(data_chw=None)
    assert alone.mode == "random" and alone.chw == (3, 32, 32) and "no data set" in alone.notes[0]
    unfit = _plan()  # no option says how: latency only, and the note says which option would feed it
    assert unfit.mode == "random" and "latency and memory only" in unfit.notes[0] and "--channels 3" in unfit.notes[0]
    fed = _plan(opts=FeedOptions(input_size=(32, 32), channels=3))
    assert fed.mode == "options" and fed.resize and fed.convert_channels and fed.columns is None
    assert fed.mean == (0.0,) and fed.std == (1.0,)
    assert "resized 28x28 -> 32x32 (bilinear)" in fed.notes[0] and "0=normal, 1=pneumonia" in fed.notes[0]
    same = _plan(model_chw=(1, 28, 28), opts=FeedOptions(norm="dataset"))
    assert not same.resize and not same.convert_channels and same.mean == (0.57,) and "resized" not in same.notes[0]
    mapped = _plan(opts=FeedOptions(input_size=(32, 32), channels=3, class_map={0: "pneumonia", 1: "0"}))
    assert mapped.columns == (1, 0)
    wide = _plan(model_chw=(1, 28, 28), outputs=1000)
    assert wide.mode == "random" and "--class-map" in wide.notes[0]


@pytest.mark.parametrize("opts, words", [
    (FeedOptions(channels=3), "--input-size 32x32"),  # asked to feed it, but the size does not fit
    (FeedOptions(input_size=(32, 32), channels=3, class_map={0: "cat", 1: "normal"}), "'cat'"),
    (FeedOptions(input_size=(32, 32), channels=3, class_map={0: "normal", 1: "normal"}), "same class"),
    (FeedOptions(input_size=(32, 32), channels=3, class_map={0: "normal"}), "pneumonia without"),
    (FeedOptions(input_size=(32, 32), channels=3, class_map={0: "normal", 5: "pneumonia"}), "outputs 0..1"),
    (FeedOptions(input_size=(32, 32), channels=3, mean=(0.5, 0.5)), "give 1 or 3"),
    (FeedOptions(input_size=(32, 32), channels=3, norm="imagenet", std=(0.2,)), "not both"),
    (FeedOptions(input_size=(32, 32), channels=3, norm="imagnet"), "unknown --norm"),
])
def test_contradictions_are_one_line_errors(opts, words):
    with pytest.raises(EdgekdError) as e:
        _plan(opts=opts)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_dynamic_input_needs_a_size():
    with pytest.raises(EdgekdError, match="dynamic input"):
        _plan(model_chw=(None, None, None), data_chw=None)
    assert _plan(model_chw=(3, None, None), data_chw=None, opts=FeedOptions(input_size=(48, 64))).chw == (3, 48, 64)


def test_option_parsing(tmp_path):
    assert parse_size("32") == (32, 32) and parse_size("48x64") == (48, 64) and parse_size(None) is None
    assert parse_class_map("0=normal, 1=pneumonia") == {0: "normal", 1: "pneumonia"}
    (tmp_path / "names.txt").write_text("pneumonia\nnormal\n")
    (tmp_path / "names.json").write_text(json.dumps({"1": "normal", "0": "pneumonia"}))
    assert parse_class_map(str(tmp_path / "names.txt")) == {0: "pneumonia", 1: "normal"}
    assert parse_class_map(str(tmp_path / "names.json")) == {1: "normal", 0: "pneumonia"}
    for bad in ("0", "32x", "x"):
        with pytest.raises(EdgekdError):
            parse_size(bad)
    for bad in ("a=normal", "0=normal,0=pneumonia", "normal", "0="):
        with pytest.raises(EdgekdError):
            parse_class_map(bad)


def test_feed_images_by_hand():
    rgb = np.zeros((1, 3, 2, 2), np.uint8)
    rgb[0, 0] = 255  # pure red: ITU-R 601 luma 0.299 * 255 = 76.2
    assert to_channels(rgb, 1).tolist() == [[[[76, 76], [76, 76]]]]
    grey = np.arange(4, dtype=np.uint8).reshape(1, 1, 2, 2)
    assert np.array_equal(to_channels(grey, 3), np.repeat(grey, 3, axis=1))
    flat = np.full((2, 1, 28, 28), 255, np.uint8)
    feed = _plan(model_chw=(3, 32, 32), opts=FeedOptions(input_size=(32, 32), channels=3, mean=(0.5,), std=(0.5,)))
    x = feed_images(flat, feed)
    assert x.shape == (2, 3, 32, 32) and x.dtype == np.float32 and np.all(x == 1.0)  # (1 - 0.5) / 0.5


torch = pytest.importorskip("torch")


class Classifier(torch.nn.Module):
    """conv-pool-linear with a softmax output, as Ultralytics exports its classifiers."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(channels, 8, 3, padding=1)
        self.fc = torch.nn.Linear(8, 2)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).mean((2, 3))).softmax(1)


@pytest.fixture(scope="module")
def foreign(tmp_path_factory):
    """(torch model, ONNX without edgekd metadata: input 'images' 1x3x32x32, output 'output0')."""
    torch.manual_seed(0)
    model = Classifier(3).eval()
    path = tmp_path_factory.mktemp("foreign") / "other.onnx"
    torch.onnx.export(model, (torch.zeros(1, 3, 32, 32),), str(path), dynamo=False, opset_version=17,
                      input_names=["images"], output_names=["output0"])
    return model, path


def test_latency_only_without_a_data_set(foreign):
    from edgekd.benchmarking.measure import measure

    rec = measure(foreign[1], threads=1, warmup=0, iters=3)
    assert rec["feed"]["mode"] == "random" and rec["accuracy"] is None and rec["input_shape"] == [1, 3, 32, 32]
    assert rec["name"] == "other (onnx)" and any("latency and memory only" in n for n in rec["notes"])


@pytest.mark.skipif(not DATA.is_file(), reason="PneumoniaMNIST npz not present")
def test_foreign_model_scored_as_asked(foreign):
    from PIL import Image
    from sklearn.metrics import roc_auc_score

    from edgekd.benchmarking.measure import measure

    model, path = foreign
    opts = FeedOptions(input_size=(32, 32), channels=3, class_map={0: "1", 1: "0"})  # output 0 = class 1
    rec = measure(path, threads=1, warmup=0, iters=2, dataset=str(DATA), limit=64, feed=opts.to_json())
    assert rec["feed"]["mode"] == "options" and rec["eval_samples"] == 64

    with np.load(DATA) as npz:  # the same images prepared independently: PIL bilinear, grey repeated, / 255
        images, labels = npz["test_images"][:64], npz["test_labels"][:64].reshape(-1)
    small = np.stack([np.asarray(Image.fromarray(im).resize((32, 32), Image.BILINEAR)) for im in images])
    x = np.repeat(small[:, None].astype(np.float32) / 255.0, 3, axis=1)
    with torch.no_grad():
        probs = model(torch.from_numpy(x)).numpy()[:, [1, 0]]  # data-set class c is output 1 - c
    assert rec["accuracy"] == pytest.approx(float(np.mean(probs.argmax(1) == labels)), abs=1 / 64 + 1e-9)
    # fp32 in two runtimes: scores agree to ~1e-6, so at most a near-tied pair can swap
    assert rec["auc"] == pytest.approx(roc_auc_score(labels, probs[:, 1]), abs=2e-3)


@pytest.mark.skipif(not DATA.is_file(), reason="PneumoniaMNIST npz not present")
def test_cli_benches_an_edgekd_student_beside_a_foreign_model(foreign, tmp_path, monkeypatch):
    import onnx
    from typer.testing import CliRunner

    from edgekd.cli.app import app

    monkeypatch.setenv("EDGEKD_CACHE", str(tmp_path / "cache"))
    torch.manual_seed(1)
    student = tmp_path / "model.onnx"
    torch.onnx.export(Classifier(1).eval(), (torch.zeros(1, 1, 28, 28),), str(student), dynamo=False,
                      opset_version=17, input_names=["input"], output_names=["logits"])
    meta = {**META, "params": 98, "macs": 1, "attention_head": "fma", "layout": "NCHW", "dataset": "pneumoniamnist",
            "edgekd_version": "0", "model": "cnn-small", "method": "fma", "alpha": 0.9, "format": "onnx",
            "quantize": "int8"}
    proto = onnx.load(str(student))
    onnx.helper.set_model_props(proto, {"edgekd": json.dumps(meta)})
    onnx.save(proto, str(student))

    out = tmp_path / "out"
    args = ["bench", str(student), str(foreign[1]), "--dataset", str(DATA), "--input-size", "32", "--channels", "3",
            "--threads", "1", "--iters", "3", "--warmup", "0", "--limit", "32", "--no-peak",
            "--json", str(out / "b.json"), "--md", str(out / "b.md"), "--plot", str(out / "b.png")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = json.loads((out / "b.json").read_text())["rows"]
    assert [r["name"] for r in rows] == ["cnn-small fma+kd (onnx int8, +fma head)", "other (onnx)"]
    assert [r["feed_mode"] for r in rows] == ["metadata", "options"] and rows[1]["accuracy"] is not None
    md = (out / "b.md").read_text()
    assert all(len(line) <= 80 for line in md.splitlines()), md
    assert "resized 28x28 -> 32x32" in " ".join(md.split()) and (out / "b.png").read_bytes()[:4] == b"\x89PNG"

    run = tmp_path / "run"
    run.mkdir()
    result = CliRunner().invoke(app, ["report", str(run), "--bench", str(out / "b.json")])
    assert result.exit_code == 0, result.output
    html = (run / "report.html").read_text()
    assert "other (onnx)" in html and "b.png" in html
    assert CliRunner().invoke(app, ["bench", str(foreign[1]), "--threads", "1", "-t", "1"]).exit_code == 2  # no -t


def test_onnx_runner_feeds_an_nhwc_model(tmp_path):
    """An NHWC ONNX without metadata: the layout is inferred from its shape (with a note) or
    given; the runner still takes NCHW batches and transposes them."""
    from onnx import TensorProto, helper, numpy_helper

    from edgekd.runtime.registry import create_runner

    w = np.arange(48 * 2, dtype=np.float32).reshape(48, 2) / 100
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["images"], ["flat"]), helper.make_node("MatMul", ["flat", "w"], ["out"])],
        "nhwc", [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 4, 4, 3])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 2])], initializer=[numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "nhwc.onnx"
    path.write_bytes(model.SerializeToString())
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4), dtype=np.float32)  # NCHW, batch 2 on a batch-1 model
    want = x.transpose(0, 2, 3, 1).reshape(2, -1) @ w
    with create_runner(path) as runner:
        assert runner.input_shape == (1, 3, 4, 4) and any("NHWC inferred" in n for n in runner.notes)
        np.testing.assert_allclose(runner.run(x)["logits"], want, rtol=1e-5)
        assert runner.num_classes == 2
    with create_runner(path, layout="nhwc") as runner:
        assert runner.input_shape == (1, 3, 4, 4) and not runner.notes
    with create_runner(path, layout="nchw") as runner:  # taken at its word: 4 channels of 4 x 3
        assert runner.input_shape == (1, 4, 4, 3)


def test_multiclass_bench_reports_the_macro_auc_eval_prints(tmp_path):
    import onnxruntime as ort

    from benchmarks.reliability.reliability import tiny_onnx
    from edgekd.benchmarking.data import load_data
    from edgekd.benchmarking.measure import measure
    from edgekd.metrics import classification_report

    path = tiny_onnx(tmp_path / "digits.onnx", edgekd=True)  # 10 classes, 1x8x8, mean/std 0.5
    rec = measure(path, threads=1, warmup=0, iters=1, dataset="digits", limit=120)
    images, labels = load_data("digits", "test")
    x = (images[:120].astype(np.float32) / 255 - 0.5) / 0.5
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    logits = np.concatenate([sess.run(None, {"input": x[i:i + 1]})[0] for i in range(120)])
    want = classification_report(labels[:120], logits)
    assert rec["auc"] is not None and rec["auc"] == pytest.approx(want["auc"], abs=1e-12)
    assert rec["accuracy"] == pytest.approx(want["accuracy"]) and rec["name"] == "digits (onnx)"
