"""Two gloo processes on CPU under torchrun: disjoint shards, and the same result as one process."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest
import torch

from edgekd.training.batches import epoch_order

TOLERANCE = 0.05  # test accuracy, 2 processes vs 1 with the same global batch (BN statistics differ per rank)


def test_epoch_order_shards_are_disjoint_and_cover_the_set():
    shards = [epoch_order(1078, seed=0, epoch=3, rank=r, world=2) for r in range(2)]
    assert len(shards[0]) == len(shards[1]) == 539
    assert not set(shards[0].tolist()) & set(shards[1].tolist())
    assert set(torch.cat(shards).tolist()) == set(range(1078))


def _torchrun(args, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # --standalone: rendezvous on a free port (a fixed --master-port failed when two suites ran at once)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--standalone",
           "-m", "edgekd.cli.app", *args, "--device", "cpu", "--quiet"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)


def test_two_process_training_matches_one_process(trained_digits_run, tmp_path):
    # trained_digits_run: cnn-small, 6 epochs, global batch 32, lr 0.1, seed 0, one process
    out = tmp_path / "ddp"
    proc = _torchrun(["train", "--model", "cnn-small", "--epochs", "6", "--batch-size", "32", "--lr", "0.1",
                      "--seed", "0", "--out", str(out)], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["world"] == {"world_size": 2, "shard_sizes": [539, 539], "overlap": 0}
    two = json.loads((out / "test.json").read_text())["test"]["accuracy"]
    one = json.loads((trained_digits_run / "test.json").read_text())["test"]["accuracy"]
    assert abs(two - one) <= TOLERANCE, (one, two)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["fma", "at", "sals"])
def test_two_process_distillation_with_attention(trained_digits_run, tmp_path, method):
    """DDP documents torch.autograd.grad as unsupported; SALS's double backprop (the student's
    input gradient with create_graph=True) and AT's per-layer capture run here under gloo on
    CPU, and every rank's attention term trains (finite, and it falls)."""
    out = tmp_path / "ddp_distill"
    proc = _torchrun(["distill", "--teacher", str(trained_digits_run / "model.pt"), "--student", "cnn-tiny",
                      "--method", method, "--alpha", "0.5", "--epochs", "2", "--batch-size", "32", "--out", str(out)],
                     tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["world"]["world_size"] == 2
    att = [e["terms"]["att"] for e in metrics["epochs"]]
    assert all(math.isfinite(v) for v in att) and att[-1] < att[0], att
    assert (out / "attention.png").exists()
