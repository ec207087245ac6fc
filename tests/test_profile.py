"""``bench --profile`` on real exported models in the real runtimes: onnxruntime's profiler and
LiteRT's one-op-at-a-time timing, the fast-path counts, and the CLI table.

The digits student of conftest is exported in float32 and int8; what the profile says is
checked against what the files are (int8 kernels only in the int8 file, XNNPACK taking every
op of a model it supports, the convolutions' MACs adding up to the model's own count).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgekd.benchmarking.profile import kind, profile_model
from edgekd.exporters.exporter import ExportOptions, export
from edgekd.runtime.metadata import read_metadata
from tests.conftest import assert_one_line_error


@pytest.fixture(scope="module")
def exported(trained_digits_run, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("profiled")
    files = {}
    for fmt, quantize in (("onnx", "none"), ("onnx", "int8"), ("tflite", "int8")):
        path = out / f"{quantize}.{fmt}"
        export(trained_digits_run / "model.pt", ExportOptions(format=fmt, quantize=quantize, head="none", out=path))
        files[f"{fmt} {quantize}"] = path
    return files


def test_kinds_cover_both_runtimes_spellings():
    assert kind("QLinearConv") == kind("CONV_2D") == kind("DEPTHWISE_CONV_2D") == "compute"
    assert kind("DequantizeLinear") == kind("QUANTIZE") == "quantize"
    assert kind("Transpose") == kind("PAD") == kind("ReorderOutput") == "layout"


def test_onnx_profile_separates_int8_kernels_from_float_ones(exported):
    fp32 = profile_model(exported["onnx none"], "onnxruntime", threads=1, runs=20)
    int8 = profile_model(exported["onnx int8"], "onnxruntime", threads=1, runs=20)
    for prof in (fp32, int8):
        s = prof["summary"]
        assert s["ops"] == len(prof["ops"]) == sum(v["ops"] for v in s["by_kind"].values())
        assert s["run_us"] > 0 and all(op["us"] is not None and op["us"] >= 0 for op in prof["ops"])
        assert sum(s["paths"].values()) == s["compute_ops"]
    assert fp32["summary"]["int8_compute_ops"] == 0 and "quantize" not in fp32["summary"]["by_kind"]
    assert int8["summary"]["int8_compute_ops"] >= 1 and "quantize" in int8["summary"]["by_kind"]
    assert {op["op"] for op in int8["ops"] if op["path"] == "int8"} <= {"QLinearConv", "QGemm", "QLinearAdd"}


def test_litert_profile_times_every_op_and_counts_what_xnnpack_took(exported):
    prof = profile_model(exported["tflite int8"], "litert", threads=1, runs=20)
    s = prof["summary"]
    assert s["delegated_ops"] == s["ops"] and s["partitions"] == 1  # XNNPACK takes this whole model
    assert all(op["us"] > 0 for op in prof["ops"])
    paths = [op["path"] for op in prof["ops"] if op["op"] in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    assert paths[0] == "float" and set(paths[1:]) == {"int8"}  # the int8 scheme keeps the first conv float
    macs = sum(op["macs"] or 0 for op in prof["ops"])
    assert macs == read_metadata(exported["tflite int8"])["macs"]  # every conv and fc counted, once


def test_bench_profile_prints_and_records_the_tables(exported, tmp_path):
    from edgekd.cli.app import app

    md = tmp_path / "b.md"
    result = CliRunner().invoke(app, ["bench", str(exported["onnx int8"]), str(exported["tflite int8"]),
                                      "--threads", "1", "--iters", "5", "--warmup", "1", "--no-peak", "--profile",
                                      "--md", str(md)])
    assert result.exit_code == 0, result.output
    text = md.read_text()
    assert text.count("## Profile:") == 2 and "QLinearConv" in text and "XNNPACK took" in text
    assert "compute ops on the int8 path" in result.output


def test_bench_profile_refuses_a_runtime_without_a_profiler(trained_digits_run):
    from edgekd.cli.app import app

    result = CliRunner().invoke(app, ["bench", str(trained_digits_run / "model.pt"), "--profile", "--iters", "1"])
    assert_one_line_error(result, "--profile", "torch")
