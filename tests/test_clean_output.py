"""Clean output: no LiteRT INFO line on stderr, plain progress lines in logs, a warning for coarse maps."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from typer.testing import CliRunner

from edgekd.cli.app import app
from edgekd.runtime.attention import coarse_grid_note
from edgekd.runtime.quiet import filtered_stderr

runner = CliRunner()
INFO = "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."


def run(args: list, **kw) -> subprocess.CompletedProcess:
    """A command in its own process, stderr a pipe (not a terminal), as in a log or CI."""
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, cwd=ROOT, timeout=300,
                          **kw)


def test_filtered_stderr_drops_only_the_runtime_info_line(capfd):
    with filtered_stderr():
        os.write(2, f"{INFO}\nW: a real warning stays\n".encode())
    assert capfd.readouterr().err == "W: a real warning stays\n"


@pytest.fixture(scope="module")
def tiny_cam_tflite(tmp_path_factory) -> Path:
    """cnn-tiny on digits (8 x 8 inputs; last stage 2 x 2) exported to TFLite with a CAM head."""
    from edgekd.training.loop import TrainConfig
    from edgekd.training.supervised import train_supervised

    out = tmp_path_factory.mktemp("tiny_cam")
    train_supervised("cnn-tiny", "digits", out, TrainConfig(epochs=2, batch_size=32, lr=0.1, seed=0), quiet=True)
    result = runner.invoke(app, ["export", str(out / "model.pt"), "--format", "tflite", "--attention-head", "cam",
                                 "--out", str(out / "m.tflite")])
    assert result.exit_code == 0, result.output
    assert "warning: the attention map is a 2x2 grid at 8x8 inputs (coarser than 4x4)" in " ".join(result.output.split())
    return out / "m.tflite"


def test_device_commands_print_no_runtime_info_line(tiny_cam_tflite, tmp_path):
    explained = run(["-m", "edgekd.cli.app", "explain", tiny_cam_tflite, "digits", "--n", "2", "--out", tmp_path / "e"])
    assert explained.returncode == 0, explained.stderr
    assert "INFO:" not in explained.stderr
    assert "warning: the attention map is a 2x2 grid" in explained.stderr  # the coarse map, said where it is shown
    assert "inputs of 32x32 give an 8x8 grid" in explained.stderr
    bench = run(["-m", "edgekd.cli.app", "bench", tiny_cam_tflite, "--dataset", "digits", "--iters", "2", "--warmup",
                 "1", "--no-peak"])
    assert bench.returncode == 0, bench.stderr
    assert "INFO:" not in bench.stderr
    meta = json.loads(Path(str(tiny_cam_tflite) + ".json").read_text())
    assert meta["attention_grid"] == [2, 2]
    notes = json.loads(Path(str(tiny_cam_tflite) + ".parity.json").read_text())["notes"]
    assert any("2x2 grid" in n for n in notes)


def test_coarse_grid_note_names_the_size_that_gives_a_finer_grid():
    assert coarse_grid_note([4, 4], [3, 32, 32]) is None
    note = coarse_grid_note([2, 2], [1, 16, 16])
    assert "2x2 grid at 16x16 inputs" in note and "inputs of 64x64 give an 8x8 grid (--image-size 64" in note


def test_progress_becomes_plain_lines_when_stderr_is_not_a_terminal(tmp_path):
    # work shorter than MIN_GAP_S prints nothing: set it to 0 so a fast machine still shows the lines
    args = ["train", "-m", "cnn-tiny", "-d", "digits", "--epochs", "2", "--batch-size", "64", "--threads", "1", "--out",
            str(tmp_path / "run")]
    proc = run(["-c", "import sys, edgekd.progress as p; p.MIN_GAP_S = 0.0; from edgekd.cli.app import main; "
                f"sys.argv = ['edgekd', *{args!r}]; main()"])
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stderr and "\r" not in proc.stderr  # no cursor control, no colour codes
    lines = [line for line in proc.stderr.splitlines() if line.startswith("train: ")]
    assert lines and all(re.match(r"train: \d+/\d+ \(\d+%\), [\d.,]+ batch/s, elapsed \d+:\d\d:\d\d", x) for x in lines)
    assert re.match(r"train: (\d+)/\1 \(100%\)", lines[-1])  # the last line says it finished
    assert len(lines) <= 11  # a line per tenth at most, and the last
