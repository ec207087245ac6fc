"""edgekd report: one self-contained HTML page per run folder (the browser test is test_report_browser.py)."""

from __future__ import annotations

import base64
import json
import re
import shutil
import struct
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgekd.cli.app import app
from edgekd.explain.report import build_report, write_report
from tests.conftest import assert_one_line_error

runner = CliRunner()
HOSTILE = '<script>alert("x")</script><img src="https://evil.example/t.png">'


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def bench_json() -> dict:
    """A report in the format ``edgekd bench --json`` writes, from two hand-made records."""
    from edgekd.benchmarking.report import build_report as bench_report

    def record(name: str, runtime: str, p50: float) -> dict:
        lat = {"p50_ms": p50, "p90_ms": p50 * 1.2, "p99_ms": p50 * 1.5, "mean_ms": p50, "std_ms": 0.01,
               "outliers": {"count": 0}, "count": 100}
        return {"name": name, "model": f"{name}.x", "format": runtime, "runtime": runtime, "size_bytes": 25_000,
                "latency": lat, "throughput_ips": 1000 / p50, "accuracy": 0.91, "auc": 0.95,
                "notes": ["a note the report must show"] if runtime == "litert" else []}

    return bench_report([record("student", "onnxruntime", 0.21), record("student-tfl", "litert", 0.17)],
                        {"cpu": "Test CPU", "arch": "x86_64", "cores": {"usable": 2}}, {"threads": 1, "batch": 1})


PARITY = {"runtime": "onnxruntime", "runtime_version": "1.0", "quantize": "none", "samples": 64,
          "max_abs_logits": 2.1e-06, "max_abs_attention": 3.3e-07, "top1_agreement": 1.0, "passed": True,
          "failures": [], "tolerances": {"none": {"logits": 1e-4, "attention": 1e-4}}}


def make_report_run(tmp_path_factory) -> Path:
    """A distill run folder with everything a report can show, built once per session."""
    from edgekd.distillation.run import DistillConfig, distill
    from edgekd.explain.run import explain
    from edgekd.explain.study import attention_agreement
    from edgekd.training.loop import TrainConfig
    from edgekd.training.supervised import train_supervised

    base = tmp_path_factory.getbasetemp() / "report_run"
    run = base / "student"
    if (run / "bench.json").exists():
        return run
    train_supervised("cnn-tiny", "digits", base / "teacher", TrainConfig(epochs=2, batch_size=32, lr=0.1),
                     quiet=True, force=True)
    distill(base / "teacher" / "model.pt", "cnn-tiny", "digits", run, TrainConfig(epochs=2, batch_size=64),
            DistillConfig(method="mip"), quiet=True, force=True, figure_images=3)
    explain(run / "model.pt", ["digits"], "cam", run / "explain", n=4)
    attention_agreement(base / "teacher" / "model.pt", [run / "model.pt"], maps=["mip"], out=run / "agreement",
                        limit=60, quiet=True)
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["config"]["note"] = HOSTILE  # a value a user controls: must be shown as text, never run
    (run / "metrics.json").write_text(json.dumps(metrics))
    (run / "student.onnx.parity.json").write_text(json.dumps(PARITY))
    (run / "bench.json").write_text(json.dumps(bench_json()))
    return run


@pytest.fixture(scope="session")
def report_run(tmp_path_factory) -> Path:
    return make_report_run(tmp_path_factory)


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def embedded_images(html: str) -> list[bytes]:
    return [base64.b64decode(b) for b in re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)]


def test_report_shows_every_part_of_a_run(report_run, tmp_path):
    path = write_report(report_run, tmp_path / "r.html")
    html = path.read_text(encoding="utf-8")
    for anchor in ("overview", "results", "curves", "epochs", "config", "attention", "explain", "agreement",
                   "parity", "bench", "files"):
        assert f'<section id="{anchor}">' in html, anchor
    # curves, attention grid, 4 overlays, faithfulness + curves figures; every one a real PNG
    images = embedded_images(html)
    assert len(images) == html.count("<img ") == 8
    assert all(min(png_size(img)) > 50 for img in images)
    assert "cnn-tiny" in html and "mip" in html and "teacher cnn-tiny" in html
    assert "max_abs_attention" in html and "3.3e-07" in html  # parity table
    assert "student-tfl" in html and "a note the report must show" in html and "Test CPU" in html  # bench
    assert 'class="best"' in html and "r − r_shuffled with teacher" in html and "ins−del" in html
    assert html.count('<tr class="best">') == 1


def test_report_is_self_contained_and_escapes_run_values(report_run):
    html = build_report(report_run)
    assert "default-src 'none'" in html and "img-src data:" in html
    assert not re.search(r'(src|href)\s*=\s*"(?!data:)', html)  # no file, http or relative resource
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert html.count("<script>") == 1 and "evil.example/t.png\">" not in html


def test_partial_and_broken_run_folders_still_report(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "test.json").write_text(json.dumps({"best_epoch": 3, "val": {"accuracy": 0.5}, "test": {"accuracy": 0.75,
                                                                                                   "auc": None}}))
    (run / "bad.parity.json").write_text("{not json")
    (run / "fake.png").write_bytes(b"GIF89a")
    html = build_report(run)
    assert "0.7500" in html and "bad.parity.json could not be read" in html and "fake.png is not a PNG" in html
    assert embedded_images(html) == []
    metrics = {"model": {"name": "cnn-tiny"}, "data": "digits", "best": {"epoch": 1}, "epochs": [
        {"epoch": e, "train_loss": 1.0 / e, "terms": {"ce": 1.0 / e}, "train_accuracy": 0.5, "lr": 0.1,
         "val": {"accuracy": 0.5 + e / 10, "auc": 0.9, "loss": 1.0}} for e in (1, 2)]}
    (run / "metrics.json").write_text(json.dumps(metrics))
    html = build_report(run)
    assert "drawn from metrics.json" in html and len(embedded_images(html)) == 1


def test_report_command(report_run, tmp_path):
    run = tmp_path / "copy"
    shutil.copytree(report_run, run)
    result = invoke("report", run)
    assert result.exit_code == 0, result.output
    assert f"report: {run / 'report.html'}" in result.output and "self-contained" in result.output
    assert (run / "report.html").stat().st_size > 20_000
    result = invoke("report", run, "--out", tmp_path / "elsewhere" / "r.html")
    assert result.exit_code == 0 and (tmp_path / "elsewhere" / "r.html").is_file()


def test_report_bad_inputs(report_run, tmp_path):
    assert_one_line_error(invoke("report", tmp_path / "missing"), "does not exist")
    (tmp_path / "empty").mkdir()
    assert_one_line_error(invoke("report", tmp_path / "empty"), "holds no edgekd run")
    assert_one_line_error(invoke("report", report_run / "metrics.json"), "not a run folder")
    assert_one_line_error(invoke("report", report_run, "--out", tmp_path), "is a folder")
