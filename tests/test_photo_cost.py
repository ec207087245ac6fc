"""Cost before it happens: the estimate, the refusal with a size that fits, and decoding that
never holds full-size copies (peak RSS of a real child process decoding real large JPEGs)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import torch
from conftest import ROOT, assert_one_line_error, needs_shared
from photo_files import CLASSES, photo_folder, save_jpeg, xrays
from typer.testing import CliRunner

from edgekd.cli.app import app
from edgekd.data.registry import get_source
from edgekd.models.registry import create_model
from edgekd.training.cost import HEADROOM, available_memory, estimate_cost

runner = CliRunner()
pytestmark = needs_shared


def test_a_run_that_cannot_fit_is_refused_with_an_image_size_that_does(tmp_path):
    root = photo_folder(tmp_path / "set", {"train": 6, "val": 2, "test": 2})
    out = tmp_path / "run"
    result = runner.invoke(app, ["train", "-m", "resnet20", "-d", f"folder:{root}", "--image-size", "1024",
                                 "--batch-size", "512", "--quiet", "--out", str(out)])
    assert_one_line_error(result, "this run would need about", "estimate, at 1024x1024", "activations")
    size = int(re.search(r"pass --image-size (\d+)", result.output).group(1))
    assert 8 <= size < 1024 and size % 8 == 0
    assert not out.exists()  # refused before the run folder (and before any image was decoded)
    info = get_source(f"folder:{root}", size).info
    model = create_model("resnet20", info.channels, info.num_classes)
    fits = estimate_cost(info, info.splits["train"], 512, model, probe=False)
    assert fits.extra <= HEADROOM * available_memory() * 1.05  # the size named fits (5 %: other processes move)


def test_the_estimate_is_said_saved_and_grows_with_the_image_size(tmp_path):
    root = photo_folder(tmp_path / "set", {"train": 8, "val": 2, "test": 2})
    out = tmp_path / "run"
    result = runner.invoke(app, ["train", "-m", "cnn-tiny", "-d", f"folder:{root}", "--image-size", "32", "--epochs",
                                 "1", "--batch-size", "8", "--device", "cpu", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert re.search(r"estimate: peak memory about .* available; about [\d.]+ s per epoch", result.output)
    saved = json.loads((out / "estimate.json").read_text())
    assert saved["image_size"] == 32 and saved["epoch_s"] > 0 and "estimate" in saved["what"]
    info = {s: get_source(f"folder:{root}", s).info for s in (32, 64)}
    model = create_model("cnn-tiny", 1, 2)
    parts = {s: estimate_cost(info[s], 16, 8, model, probe=False).parts for s in (32, 64)}
    assert parts[64]["data"] == 4 * parts[32]["data"]  # float32 tensors: 4x the pixels
    assert parts[64]["activations"] > parts[32]["activations"]
    torch.manual_seed(0)
    before = torch.rand(3)
    torch.manual_seed(0)
    estimate_cost(info[32], 16, 8, model, probe=True)  # the probe leaves the seeded RNG where it was
    assert torch.equal(torch.rand(3), before)


CHILD = r"""
import resource, sys
from edgekd.data.folder import FolderSource
source = FolderSource(sys.argv[1], 64, quiet=True)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
decoded = source.decoded()
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(after - before, sum(a.nbytes for a in decoded.images.values()))
"""


def test_decoding_large_photos_never_holds_their_full_size_copies(tmp_path):
    """24 real 2400 x 1800 JPEGs: 311 MB decoded at full size, 0.3 MB at 64 px. Read one at a
    time into the 64 px array, the peak grows by a few decoded photos at most."""
    root = tmp_path / "big"
    pixels, _ = xrays("test")
    for i in range(24):
        save_jpeg(pixels[i], root / CLASSES[i % 2] / f"{i}.jpg", (2400, 1800), colour=True)  # 12 a class
    full = 24 * 2400 * 1800 * 3
    proc = subprocess.run([sys.executable, "-c", CHILD, str(root)], capture_output=True, text=True, cwd=ROOT,
                          env={"EDGEKD_CACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    growth, kept = (int(v) for v in proc.stdout.split())
    assert kept == 24 * 3 * 64 * 64
    assert growth < full / 4, f"peak grew {growth / 2**20:.0f} MB while decoding {full / 2**20:.0f} MB of photos"
