"""One spec per command: CLI options -> spec -> saved run -> spec, the same; strict records;
the Python API runs what the CLI runs (train -> distill -> export -> bench, from Python only)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from edgekd.api import BenchSpec, DistillSpec, EvalSpec, ExportSpec, QatSpec, TrainSpec
from edgekd.cli.spec_command import register
from edgekd.errors import EdgekdError
from edgekd.spec.files import write_run_config

SPECS = (TrainSpec, DistillSpec, EvalSpec, ExportSpec, BenchSpec, QatSpec)


def parsed(spec_cls, args: list[str]):
    """The spec a command line parses into (the command's runner only keeps it)."""
    app, seen = typer.Typer(), []
    register(app, spec_cls, seen.append)
    register(app, EvalSpec, seen.append, name="unused")  # two commands: typer keeps the command name
    result = CliRunner().invoke(app, [spec_cls.command, *args])
    assert result.exit_code == 0, result.output
    return seen[0]


def test_cli_options_spec_saved_run_and_back_are_the_same(tmp_path):
    teacher = tmp_path / "t.pt"
    args = ["--teacher", str(teacher), "-t", str(tmp_path / "u.pt"), "--method", "fma", "--alpha", "0.5",
            "--teacher-layers", "layer1,layer3", "--epochs", "7", "--threads", "2", "--no-augment",
            "--model-arg", "width=8", "--batch-size", "64", "--out", str(tmp_path / "run")]
    spec = parsed(DistillSpec, args)
    assert spec.teacher == [teacher, tmp_path / "u.pt"] and spec.epochs == 7 and spec.threads == 2
    assert spec.teacher_layers == ["layer1", "layer3"] and spec.model_kwargs == {"width": 8}
    assert spec.augment is False and spec.alpha == 0.5 and spec.out == tmp_path / "run"
    (tmp_path / "run").mkdir()
    saved = tomllib.loads(write_run_config(spec, tmp_path / "run").read_text())
    assert "out" not in saved and saved["teacher_layers"] == ["layer1", "layer3"]
    assert DistillSpec.from_record(saved, out=tmp_path / "run") == spec
    # and the file replays through --config: the same spec again
    assert parsed(DistillSpec, ["--config", str(tmp_path / "run" / "config.toml"), "--out", str(tmp_path / "run")]
                  ) == spec


@pytest.mark.parametrize("spec_cls", SPECS)
def test_defaults_round_trip_for_every_spec(spec_cls, tmp_path):
    required = {DistillSpec: {"teacher": [tmp_path / "t.pt"]}, EvalSpec: {"checkpoint": tmp_path / "m.pt"},
                ExportSpec: {"checkpoint": tmp_path / "m.pt"}, BenchSpec: {"models": [tmp_path / "m.onnx"]},
                QatSpec: {"run": tmp_path / "run"}}.get(spec_cls, {})
    spec = spec_cls(**required)
    record = spec.record()
    invocation = {o.name: getattr(spec, o.name) for o in spec.options() if not o.cli.record}
    assert spec_cls.from_record(json.loads(json.dumps(record)), **invocation) == spec


def _round_trip(spec) -> None:
    """spec -> record (through JSON) -> spec, the invocation options given back: the same spec."""
    invocation = {o.name: getattr(spec, o.name) for o in spec.options() if not o.cli.record}
    assert type(spec).from_record(json.loads(json.dumps(spec.record())), **invocation) == spec


def test_export_options_spec_record_and_back_are_the_same(tmp_path):
    ckpt, out = tmp_path / "model.pt", tmp_path / "m.tflite"
    spec = parsed(ExportSpec, [str(ckpt), "-f", "tflite", "--attention-head", "mip", "-q", "int8-all",
                               "--calib-dataset", "digits", "--calib-samples", "32", "--calibration", "percentile",
                               "--full-range", "--accept-accuracy-drop", "1.5", "--opset", "17", "--nhwc", "-o", str(out),
                               "--force", "--no-verify", "--data-dir", str(tmp_path), "--parity-samples", "16",
                               "--workspace-mb", "512", "--dla-core", "1", "--verbose"])
    assert (spec.checkpoint, spec.format, spec.head, spec.quantize, spec.accept_drop) == (ckpt, "tflite", "mip",
                                                                                          "int8-all", 1.5)
    assert spec.full_range and spec.no_verify and spec.nhwc and spec.force and spec.verbose and spec.out == out
    _round_trip(spec)
    assert "out" not in spec.record() and spec.record()["accept_drop"] == 1.5
    opts = spec.to_options()  # what the exporter takes: the negated flags turned around
    assert opts.verify is False and opts.reduce_range is False and opts.data_dir == str(tmp_path)
    assert (opts.format, opts.head, opts.calib_samples, opts.dla_core) == ("tflite", "mip", 32, 1)
    default = parsed(ExportSpec, [str(ckpt)])  # format and head are resolved by edgekd.api.export
    assert (default.format, default.head, default.calib_samples, default.workspace_mb) == (None, "auto", 256, 1024)
    with pytest.raises(ValueError, match="resolve"):
        default.to_options()


def test_bench_options_spec_record_and_back_are_the_same(tmp_path):
    a, b, js = tmp_path / "a.onnx", tmp_path / "b.tflite", tmp_path / "r.json"
    spec = parsed(BenchSpec, [str(a), str(b), "-r", "onnxruntime", "--threads", "2", "-b", "4", "--warmup", "0",
                              "-n", "7", "--min-time", "0.5", "-d", "digits", "--split", "val", "--json", str(js),
                              "--limit", "9", "--no-peak", "--timeout", "30", "--input-size", "32", "--channels", "3",
                              "--norm", "imagenet", "--layout", "NHWC", "--class-map", "0=a,1=b", "--label", "A",
                              "--label", "B", "--estimate-prior"])
    assert spec.models == [a, b] and spec.labels == ["A", "B"] and spec.json == js and spec.estimate_prior
    assert (spec.runtime, spec.threads, spec.batch, spec.iters, spec.min_time, spec.peak) == ("onnxruntime", 2, 4, 7,
                                                                                              0.5, False)
    spec.check()
    assert spec.feed().layout == "nhwc" and spec.feed().input_size == (32, 32)
    _round_trip(spec)
    assert "json" not in spec.record() and spec.record()["labels"] == ["A", "B"]
    default = parsed(BenchSpec, [str(a)])
    assert (default.runtime, default.warmup, default.iters, default.peak, default.timeout, default.labels) == (
        "auto", 10, 100, True, 600.0, [])


@pytest.mark.parametrize("spec, words", [
    (BenchSpec(models=[Path("m.onnx")], threads=0), "--threads 0: give at least 1"),
    (BenchSpec(models=[Path("m.onnx")], channels=4), "--channels 4: give at most 3"),
    (BenchSpec(models=[Path("m.onnx")], floor=0.9), "--floor and --matrix-dir go with --all-formats"),
    (BenchSpec(models=[Path("m.onnx")], labels=["a", "b"]), "2 --label for 1 models"),
    (BenchSpec(models=[Path("m.onnx")], norm="imagenet"), "give --dataset too"),
    (QatSpec(run=Path("run"), format="tensorrt"), "--format 'tensorrt': give onnx or tflite"),
    (QatSpec(run=Path("run"), epochs=-1), "--epochs -1: give at least 0"),
])
def test_spec_checks_are_one_line_errors(spec, words):
    with pytest.raises(EdgekdError, match=words):
        spec.check()


def test_records_refuse_unknown_keys_and_wrong_kinds_in_one_line():
    with pytest.raises(EdgekdError, match=r"unknown option 'batch_sise' \(did you mean batch_size\?\)"):
        TrainSpec.from_record({"batch_sise": 3})
    with pytest.raises(EdgekdError, match="lr must be a number"):
        TrainSpec.from_record({"lr": "fast"})
    with pytest.raises(EdgekdError, match="unknown option 'out'"):  # how a run was invoked is not a record
        TrainSpec.from_record({"out": "x"})


def test_choices_come_from_the_registries():
    from edgekd.distillation import methods

    spec = DistillSpec(teacher=[Path("t.pt")], method="mipp")
    with pytest.raises(EdgekdError, match=r"unknown --method value 'mipp' \(did you mean mip\?\)"):
        spec.check()
    method = {o.name: o for o in DistillSpec.options()}["method"]
    assert method.cli.choice_list() == list(methods.METHODS)
    app = typer.Typer()
    register(app, DistillSpec, print)
    register(app, EvalSpec, print, name="unused")
    text = " ".join(CliRunner().invoke(app, ["distill", "--help"]).output.replace("│", " ").split())
    assert "Choices: " + ", ".join(methods.METHODS) in text


def test_api_trains_distills_exports_and_benches_what_the_cli_would(tmp_path):
    import edgekd

    teacher = edgekd.train(edgekd.TrainSpec(model="cnn-small", dataset="digits", epochs=2, batch_size=64,
                                            out=tmp_path / "t", quiet=True, threads=1))
    assert teacher.checkpoint.is_file() and teacher.test["accuracy"] > 0.3 and teacher.spec.threads == 1
    student = edgekd.distill(edgekd.DistillSpec(teacher=[teacher.checkpoint], student="cnn-tiny", epochs=2,
                                                batch_size=64, out=tmp_path / "s", quiet=True, threads=1))
    # the defaults the run resolved: the teacher's data set, the method's alpha and beta
    assert student.spec.dataset == "digits" and student.spec.alpha == 0.9 and student.spec.beta == 1.0
    saved = tomllib.loads((tmp_path / "s" / "config.toml").read_text())
    assert DistillSpec.from_record(saved, out=tmp_path / "s", quiet=True) == student.spec
    metrics = json.loads((tmp_path / "s" / "metrics.json").read_text())
    assert metrics["spec"] == {"command": "distill", "options": saved}
    result = edgekd.evaluate(edgekd.EvalSpec(checkpoint=student.checkpoint))
    assert result.metrics["accuracy"] == pytest.approx(student.test["accuracy"])

    # export -> bench, still from Python only: the ONNX file passes its parity gate, and the benchmark
    # scores it on the same test split as the parity gate did
    exported = edgekd.export(edgekd.ExportSpec(checkpoint=student.checkpoint, out=tmp_path / "s.onnx"))
    assert exported.path == tmp_path / "s.onnx" and exported.path.is_file() and exported.parity["passed"]
    assert exported.notes[0].startswith("attention head ") and "auto" in exported.notes[0]
    report = edgekd.bench(edgekd.BenchSpec(models=[exported.path], dataset="digits", iters=5, warmup=1, peak=False,
                                           threads=1))
    (row,) = report["rows"]
    assert row["p50_ms"] > 0 and 0.1 < row["accuracy"] <= 1  # above chance (10 classes) after 2 epochs
    assert row["accuracy"] == pytest.approx(exported.parity["accuracy_artifact"], abs=1e-9)
    assert row["accuracy"] == pytest.approx(student.test["accuracy"], abs=0.01)  # PyTorch's own figure
