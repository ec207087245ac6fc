"""``bench --all-formats``: every cell reported (ok, refused by the gate, failed), the run going
on past the bad ones, and the device half benchmarking a folder without torch.

A cnn-tiny trained for one epoch on digits and calibrated on a single image is refused in
``int8-all`` (every layer int8: the gate measured ~70 % agreement), while its float export
passes; a truncated .onnx dropped in the folder fails to load. All three are real files run
in the real runtimes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgekd.exporters.matrix import export_matrix
from tests.conftest import assert_one_line_error


@pytest.fixture(scope="module")
def matrix_folder(tmp_path_factory) -> Path:
    from edgekd.training.loop import TrainConfig
    from edgekd.training.supervised import train_supervised

    root = tmp_path_factory.mktemp("matrix")
    run = root / "tiny"
    train_supervised("cnn-tiny", "digits", run, TrainConfig(epochs=1, batch_size=32, seed=0, device="cpu"), quiet=True)
    folder = root / "cells"
    manifest = export_matrix(run / "model.pt", folder, fmts=("onnx",), heads=("none",), modes=("none", "int8-all"),
                             calib_samples=1)
    assert [c["status"] for c in manifest["cells"]] == ["ok", "refused"]
    (folder / "broken.onnx").write_bytes(b"not an onnx model")
    return folder


def test_all_formats_reports_every_cell_and_goes_on(matrix_folder, tmp_path):
    from edgekd.cli.app import app

    md, js, png = tmp_path / "m.md", tmp_path / "m.json", tmp_path / "m.png"
    result = CliRunner().invoke(app, ["bench", "--all-formats", str(matrix_folder), "--threads", "1", "--iters", "5",
                                      "--warmup", "1", "--no-peak", "--floor", "99.5", "--md", str(md), "--json",
                                      str(js), "--plot", str(png)])
    assert result.exit_code == 0, result.output
    rows = {r["file"]: r for r in json.loads(js.read_text())["models"][0]["rows"]}
    assert set(rows) == {"model-onnx-none-none.onnx", "model-onnx-int8-all-none.onnx", "broken.onnx"}
    ok, refused, broken = rows["model-onnx-none-none.onnx"], rows["model-onnx-int8-all-none.onnx"], rows["broken.onnx"]
    assert ok["status"] == "ok" and ok["p50_ms"] > 0 and 0 <= ok["accuracy"] <= 1 and ok["agreement"] == 1.0
    assert ok["below_floor"] == (ok["accuracy"] < 0.995)
    assert refused["status"] == "refused" and refused.get("p50_ms") is None
    assert "top-1 agreement" in refused["status_text"] and refused["agreement"] < 0.99  # by how much
    assert broken["status"] == "failed" and "not a valid ONNX model" in broken["status_text"]
    text = md.read_text()
    assert "refused: top-1 agreement" in text and "failed: benchmark" in text and "below floor" in text
    assert "1 ok, 1 refused by the parity gate, 1 failed" in text
    assert png.stat().st_size > 0


def test_the_device_half_benchmarks_a_folder_without_torch(matrix_folder):
    code = ("import sys; from pathlib import Path; from edgekd.benchmarking.matrix import bench_folder; "
            f"r = bench_folder(Path({str(matrix_folder)!r}), {{'threads': 1, 'iters': 3, 'warmup': 0}}); "
            "assert [x['status'] for x in r['rows']].count('ok') == 1, r; "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.parametrize("args, words", [
    (["--floor", "0.9"], "--all-formats"),
    (["--matrix-dir", "cells"], "--all-formats"),
    (["--all-formats", "--floor", "120"], "not an accuracy"),
    (["--all-formats", "--runtime", "onnxruntime"], "--runtime"),
])
def test_all_formats_options_fail_in_one_line(matrix_folder, args, words):
    from edgekd.cli.app import app

    target = str(matrix_folder / "model-onnx-none-none.onnx") if "--all-formats" not in args else str(matrix_folder)
    assert_one_line_error(CliRunner().invoke(app, ["bench", target, *args]), words)


def test_all_formats_takes_checkpoints_or_folders_only(matrix_folder):
    from edgekd.cli.app import app

    result = CliRunner().invoke(app, ["bench", "--all-formats", str(matrix_folder / "model-onnx-none-none.onnx")])
    assert_one_line_error(result, "checkpoints (.pt)", "folders")


@pytest.mark.slow
def test_all_formats_from_a_checkpoint_exports_and_benchmarks_every_cell(trained_digits_run, tmp_path):
    """The whole matrix from a checkpoint through the CLI (every format x quantization x head)."""
    from edgekd.cli.app import app
    from edgekd.exporters.matrix import plan

    folder, js = tmp_path / "cells", tmp_path / "m.json"
    result = CliRunner().invoke(app, ["bench", "--all-formats", str(trained_digits_run / "model.pt"), "--matrix-dir",
                                      str(folder), "--threads", "1", "--iters", "5", "--warmup", "1", "--no-peak",
                                      "--json", str(js)])
    assert result.exit_code == 0, result.output
    rows = json.loads(js.read_text())["models"][0]["rows"]
    assert len(rows) == len(plan(("onnx", "tflite"), ("none",))) and (folder / "matrix.json").is_file()
    assert all(r["status"] in ("ok", "refused", "failed") for r in rows)
    assert all(r.get("p50_ms") for r in rows if r["status"] == "ok")
