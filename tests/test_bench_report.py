"""Comparison rows, ratios to the first row, and the JSON / Markdown / PNG outputs."""

from __future__ import annotations

import json

import pytest

from edgekd.benchmarking.report import build_report, compare, rich_tables, to_markdown, write_json, write_markdown, write_plot
from edgekd.benchmarking.stats import latency_stats


def _record(name: str, p50: float, size: int, notes: list[str] | None = None) -> dict:
    times = [p50 * 0.9, p50, p50 * 1.1]
    return {
        "name": name, "model": f"/m/{name}", "format": "onnx", "runtime": "onnxruntime",
        "runtime_version": "1", "threads": 1, "batch": 1, "size_bytes": size, "iters": 3,
        "latency": latency_stats(times), "throughput_ips": 1 / p50, "rss_peak_mb": 50.0,
        "accuracy": 0.9, "auc": None, "notes": notes or [], "load_ms": 1.0, "first_inference_ms": 1.0,
    }


@pytest.fixture
def report():
    records = [_record("teacher", 0.004, 4_000_000), _record("student", 0.001, 1_000_000, ["fallback used"])]
    machine = {"cpu": "Test CPU", "arch": "x86_64", "cores": {"usable": 2}, "board": None, "python": "3.11"}
    return build_report(records, machine, {"threads": 1, "batch": 1, "iters": 3, "dataset": "d", "split": "test"})


def test_ratios_to_first_row(report):
    ref, student = report["rows"]
    assert ref["speedup"] == pytest.approx(1.0) and ref["size_ratio"] == pytest.approx(1.0)
    assert student["speedup"] == pytest.approx(4.0)
    assert student["p50_ratio"] == pytest.approx(0.25)
    assert student["size_ratio"] == pytest.approx(0.25)
    assert compare([]) == []


def test_markdown_and_table(report):
    md = to_markdown(report)
    assert "| model | runtime |" in md and "4.00x" in md and "student: fallback used" in md
    assert "Test CPU" in md
    table = rich_tables(report)[0]
    assert table.row_count == 2


def test_writers(tmp_path, report):
    write_json(tmp_path / "r.json", report)
    write_markdown(tmp_path / "r.md", report)
    assert write_plot(tmp_path / "r.png", report) is None
    assert json.loads((tmp_path / "r.json").read_text())["rows"][1]["name"] == "student"
    assert (tmp_path / "r.md").read_text().startswith("# edgekd bench")
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_rows_named_from_metadata():
    from edgekd.benchmarking.naming import model_name, unique_names

    teacher = {"model": "resnet20", "role": "teacher", "method": "none", "alpha": None, "attention_head": "none"}
    student = {"model": "cnn-small", "role": "student", "method": "fma", "alpha": 0.9, "format": "onnx",
               "quantize": "int8", "attention_head": "fma"}
    assert model_name(teacher, "runs/teacher/model.pt") == "resnet20 teacher (pt)"
    assert model_name(student, "runs/s/x.onnx") == "cnn-small fma+kd (onnx int8, +fma head)"
    kd = {**student, "method": "none", "alpha": 0.9, "quantize": "none"}
    assert model_name(kd, "a.onnx") == "cnn-small kd (onnx, +fma head)"
    at = {**student, "method": "at", "alpha": 0.0, "attention_head": "none"}
    assert model_name(at, "a.tflite") == "cnn-small at (onnx int8)"  # the metadata's format wins
    assert model_name({}, "zoo/yolov8n-cls.tflite") == "yolov8n-cls (tflite)"
    assert unique_names(["a", "b", "a", "a"]) == ["a", "b", "a #2", "a #3"]


def test_tables_fit_80_columns_with_long_names():
    from rich.console import Console

    long = [_record("cnn-small fma+kd (tflite int8, +fma head) from a very long run name", 0.0000268, 70_000),
            _record("resnet20 teacher (pt)", 0.002564, 3_346_000)]
    long[1]["feed"] = {"mode": "random"}
    rep = build_report(long, {"cpu": "Test CPU", "arch": "x86_64", "cores": {"usable": 2}}, {"threads": 1})
    md = to_markdown(rep)
    assert max(len(line) for line in md.splitlines()) <= 80, md
    assert "| 0.027 |" in md and "0.01x" in md and "| n/a | n/a |" in md  # numbers whole, latency-only marked
    console = Console(width=80, record=True)
    for table in rich_tables(rep):
        console.print(table)
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80 and "2.564" in text and "0.0100x" not in text


def test_report_takes_bench_files_from_anywhere(tmp_path, report):
    from typer.testing import CliRunner

    from edgekd.cli.app import app
    from tests.conftest import assert_one_line_error

    run, elsewhere = tmp_path / "run", tmp_path / "bench"
    run.mkdir()
    elsewhere.mkdir()
    write_plot(elsewhere / "b.png", report)
    write_json(elsewhere / "b.json", {**report, "plot": "b.png"})
    result = CliRunner().invoke(app, ["report", str(run), "--bench", str(elsewhere / "b.json")])
    assert result.exit_code == 0, result.output
    html = (run / "report.html").read_text()
    assert "student: fallback used" in html and "data:image/png;base64," in html
    (elsewhere / "other.json").write_text(json.dumps({"rows": []}))
    for bad in (elsewhere / "other.json", elsewhere / "missing.json"):
        assert_one_line_error(CliRunner().invoke(app, ["report", str(run), "--bench", str(bad)]), "--bench")
