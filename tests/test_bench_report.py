"""Comparison rows, ratios to the first row, and the JSON / Markdown / PNG outputs."""

from __future__ import annotations

import json

import pytest

from edgekd.bench.report import build_report, compare, rich_tables, to_markdown, write_json, write_markdown, write_plot
from edgekd.bench.stats import latency_stats


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
