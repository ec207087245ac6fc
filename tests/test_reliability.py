"""Reliability through the real CLI: no code from files, atomic writes, kill-and-resume, determinism, guards.

Complements test_train.py / test_cli.py (which cover the library-level guards): here
every fault goes through ``edgekd`` itself (Typer's CliRunner, or a child process where a
process must die) and must end as exit code 2 with one ``error:`` line on stderr. The
crafted files come from ``benchmarks/reliability/reliability.py``, whose report lists the same cases.
"""

from __future__ import annotations

import errno
import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from benchmarks.reliability import reliability as rel
from edgekd.cli.app import app
from edgekd.fileio import atomic_path
from edgekd.training import supervised
from edgekd.training.checkpoint import load_checkpoint

QUICK = ["--epochs", "1", "--quiet", "--device", "cpu"]


def invoke(*args):
    return CliRunner(env={"COLUMNS": "1000"}).invoke(app, [str(a) for a in args])  # no wrapped progress lines


def assert_clean(result, *words):
    """Exit code 2, one ``error:`` line on stderr (bench progress lines aside), no traceback."""
    why = rel.problem(result.exit_code, result.stdout, result.stderr)
    assert not why, f"{why}\nexception: {result.exception!r}\n{result.output}"
    for w in words:
        assert w in result.stderr, result.stderr


def _unsafe_load(path, where):
    """What ``torch.load(weights_only=False)`` would do with the file: run its code."""
    if where == "payload":
        outer = torch.load(path, weights_only=True)
        return torch.load(io.BytesIO(outer["payload"]), weights_only=False)
    return torch.load(path, weights_only=False)


# --- 1. no code from a file ---------------------------------------------------------------

@pytest.mark.parametrize("where", ["outer", "payload", "module"])
def test_code_running_checkpoint_is_refused_by_every_command(tmp_path, where):
    marker = tmp_path / "MARKER"
    evil = rel.evil_checkpoint(tmp_path / "evil.pt", marker, where)
    commands = [["eval", evil], ["distill", "--teacher", evil, "--out", tmp_path / "d", *QUICK]]
    if where == "outer":  # the torch runner of bench reads checkpoints too (in a child process)
        commands.append(["bench", evil, "--iters", "1", "--no-peak", "--timeout", "60"])
    commands.append(["export", evil, "--out", tmp_path / "e.onnx"])
    for args in commands:
        assert_clean(invoke(*args), "refused", "evil.pt")
        assert not marker.exists(), f"{args[0]} ran code from the checkpoint"
    _unsafe_load(evil, where)  # the crafted file is a live exploit: unpickled unsafely, it runs
    assert marker.read_text() == "code ran"


# --- 2. atomic writes -----------------------------------------------------------------------

def test_exception_inside_atomic_path_keeps_the_old_file(tmp_path):
    target = tmp_path / "last.pt"
    target.write_bytes(b"complete old file")
    for name in ("last.pt", "new.pt"):
        with pytest.raises(OSError):
            with atomic_path(tmp_path / name) as tmp:
                tmp.write_bytes(b"half of the new")
                raise OSError(errno.ENOSPC, "No space left on device")
    assert target.read_bytes() == b"complete old file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]  # no temp file, no new.pt


CHILD_MID_WRITE = """
import sys, time
from edgekd.fileio import atomic_path, atomic_write_bytes
atomic_write_bytes(sys.argv[1], b"old" * 1000)
with atomic_path(sys.argv[1]) as tmp:
    with open(tmp, "wb") as f:
        f.write(b"new" * 500)
        f.flush()
        print("mid-write", flush=True)
        time.sleep(120)
"""

CHILD_SAVE_LOOP = """
import sys, torch
from edgekd.training.checkpoint import save_checkpoint
data = {"name": "x", "channels": 1, "size": 8, "num_classes": 2, "class_names": ["a", "b"], "mean": [0.], "std": [1.]}
w = torch.arange(2_000_000, dtype=torch.float64)
for i in range(1, 10**6):
    save_checkpoint(sys.argv[1], {"i": i, "model": {"name": "cnn-tiny"}, "data": data, "state_dict": {"w": w + i}})
    print(i, flush=True)
"""


def _start(script, *args):
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)], env=rel.cli_env(), cwd=rel.ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def test_child_killed_during_a_write_never_leaves_a_half_file(tmp_path):
    target = tmp_path / "model.pt"
    proc = _start(CHILD_MID_WRITE, target)
    try:
        assert proc.stdout.readline().strip() == "mid-write"
    finally:
        proc.kill()
        proc.wait(30)
    assert target.read_bytes() == b"old" * 1000  # the half-written temp file never took the real name

    proc = _start(CHILD_SAVE_LOOP, target)
    try:
        first = int(proc.stdout.readline())
        time.sleep(0.3)  # kill somewhere inside a later save
    finally:
        proc.kill()
        proc.wait(30)
    saved = load_checkpoint(target)  # complete and passes its SHA-256
    assert saved["i"] >= first
    assert torch.equal(saved["state_dict"]["w"], torch.arange(2_000_000, dtype=torch.float64) + saved["i"])
    leftovers = [p.name for p in tmp_path.iterdir() if p != target]
    assert all(p.startswith(".model.pt.") and ".tmp" in p for p in leftovers), leftovers


def test_disk_full_while_saving_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    import edgekd.training.checkpoint as checkpoint

    real, writes = checkpoint.atomic_write_bytes, []

    def failing_write(path, data):
        writes.append(Path(path).name)
        if writes.count("last.pt") == 2:  # epoch 2's last.pt: the disk fills up half-way
            with atomic_path(path) as tmp:
                tmp.write_bytes(data[: len(data) // 2])
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr(checkpoint, "atomic_write_bytes", failing_write)
    out = tmp_path / "run"
    assert_clean(invoke("train", "--model", "cnn-tiny", "--epochs", "2", "--batch-size", "128", "--out", out,
                        "--quiet", "--device", "cpu"), "No space left on device")
    assert load_checkpoint(out / "last.pt")["epoch"] == 1
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # the temp file was removed


def test_export_never_overwrites_without_force_nor_leaves_half_a_file(tmp_path, trained_digits_run, monkeypatch):
    import edgekd.exporters.onnx_export as onnx_export

    checkpoint, out = trained_digits_run / "model.pt", tmp_path / "student.onnx"
    out.write_bytes(b"an earlier export")
    assert_clean(invoke("export", checkpoint, "--out", out), "--force")
    assert out.read_bytes() == b"an earlier export"

    def half_then_disk_full(wrapper, path, meta, **kwargs):
        Path(path).write_bytes(b"half of an ONNX file")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(onnx_export, "export_onnx", half_then_disk_full)
    assert_clean(invoke("export", checkpoint, "--out", out, "--force"), "No space left on device")
    assert out.read_bytes() == b"an earlier export"  # the old artifact survives a failed --force
    assert [p.name for p in tmp_path.iterdir()] == ["student.onnx"]
    monkeypatch.undo()
    result = invoke("export", checkpoint, "--out", out, "--force")
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:20] != b"an earlier export"[:20]


# --- 3./4. kill -9 mid-epoch, resume, and same seed -> same numbers ---------------------

def _comparable(out):
    """Everything a run reports except wall-clock times; plus its final weights."""
    metrics = json.loads((out / "metrics.json").read_text())
    for epoch in metrics["epochs"]:
        epoch.pop("time_s")
    weights = load_checkpoint(out / "last.pt")["state_dict"]
    return metrics, json.loads((out / "test.json").read_text()), (out / "steps.jsonl").read_text(), weights


def _assert_same_run(a, b):
    ma, ta, sa, wa = _comparable(a)
    mb, tb, sb, wb = _comparable(b)
    assert ma == mb and ta == tb and sa == sb
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def _kill_during_second_epoch(args, out, deadline_s=300.0):
    """Start ``edgekd ARGS``, wait until epoch 1 is saved, SIGKILL it early in epoch 2."""
    proc = subprocess.Popen(rel.cli_command(*args), env=rel.cli_env(), cwd=rel.ROOT, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + deadline_s
        while not (out / "curves.png").exists():  # the last file an epoch writes, after last.pt
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < end, "epoch 1 did not finish in time"
            time.sleep(0.05)
        epoch_s = json.loads((out / "metrics.json").read_text())["epochs"][0]["time_s"]
        time.sleep(0.25 * epoch_s)
        assert proc.poll() is None, "the run ended before it could be killed"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(60)
    assert proc.returncode == -signal.SIGKILL
    return load_checkpoint(out / "last.pt")["epoch"]


@pytest.mark.parametrize("command", ["train", "distill"])
def test_sigkill_mid_epoch_then_resume_equals_an_uninterrupted_run(tmp_path, trained_digits_run, command):
    epochs = 3
    common = ["--epochs", epochs, "--batch-size", "16", "--label-fraction", "0.5", "--seed", "1", "--quiet",
              "--device", "cpu"]
    head = (["train", "--model", "cnn-tiny"] if command == "train" else
            ["distill", "--teacher", trained_digits_run / "model.pt", "--student", "cnn-tiny", "--method", "fma"])
    ref = rel.run_cli(*head, *common, "--out", tmp_path / "ref", timeout=600)
    assert ref["rc"] == 0, ref["stderr"]
    killed_at = _kill_during_second_epoch([*head, *common, "--out", tmp_path / "run"], tmp_path / "run")
    assert 1 <= killed_at < epochs
    resumed = rel.run_cli(*head, *common, "--out", tmp_path / "run", "--resume", timeout=600)
    assert resumed["rc"] == 0, resumed["stderr"]
    _assert_same_run(tmp_path / "ref", tmp_path / "run")


def test_same_seed_same_train_metrics(tmp_path):
    for name in ("a", "b"):
        result = invoke("train", "--model", "cnn-tiny", "--epochs", "2", "--batch-size", "64", "--seed", "5",
                        "--label-fraction", "0.5", "--out", tmp_path / name, "--quiet", "--device", "cpu")
        assert result.exit_code == 0, result.output
    _assert_same_run(tmp_path / "a", tmp_path / "b")


@pytest.mark.parametrize("method", ["none", "kd", "at", "fma", "mip", "sals"])
def test_same_seed_same_distill_terms(tmp_path, trained_digits_run, method):
    from edgekd.distillation.run import DistillConfig, distill
    from edgekd.training.loop import TrainConfig

    for name in ("a", "b"):
        cfg = TrainConfig(epochs=1, batch_size=64, seed=2, device="cpu", label_fraction=0.3)
        distill(trained_digits_run / "model.pt", "cnn-tiny", "digits", tmp_path / name, cfg, DistillConfig(method=method),
                quiet=True, figure_images=0)
    _assert_same_run(tmp_path / "a", tmp_path / "b")
    terms = json.loads((tmp_path / "a" / "metrics.json").read_text())["epochs"][0]["terms"]
    assert "ce" in terms and (method in ("none", "kd") or len(terms) >= 2)


# --- 5. guards ------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_loss_names_the_step_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch, bad):
    out, calls, seen = tmp_path / "run", [], {}
    steps_per_epoch = -(-1078 // 128)  # digits train split at --batch-size 128

    def cross_entropy(logits, y, **options):
        calls.append(1)
        loss = torch.nn.functional.cross_entropy(logits, y, **options)
        if len(calls) == steps_per_epoch + 3:
            seen["last.pt"] = (out / "last.pt").read_bytes()  # epoch 1's checkpoint, as the fault happens
            return loss * bad
        return loss

    monkeypatch.setattr(supervised, "F", SimpleNamespace(cross_entropy=cross_entropy))
    args = ["train", "--model", "cnn-tiny", "--epochs", "2", "--out", out, "--quiet", "--device", "cpu"]
    assert_clean(invoke(*args), f"epoch 2, step {steps_per_epoch + 3}", f"ce={bad}", "--resume")
    assert (out / "last.pt").read_bytes() == seen["last.pt"]
    assert load_checkpoint(out / "last.pt")["epoch"] == 1
    monkeypatch.undo()
    assert invoke(*args, "--resume").exit_code == 0  # the kept checkpoint is a usable one


def test_mismatched_teacher_data_and_model_files(tmp_path, trained_digits_run):
    teacher = trained_digits_run / "model.pt"
    rgb, grey3 = rel.image_folder(tmp_path / "rgb", channels=3, size=16), rel.image_folder(tmp_path / "grey3")
    assert_clean(invoke("distill", "--teacher", teacher, "--dataset", f"folder:{rgb}", "--out", tmp_path / "d1",
                        *QUICK), "1x8x8", "3x16x16")
    assert_clean(invoke("distill", "--teacher", teacher, "--dataset", f"folder:{grey3}", "--out", tmp_path / "d2",
                        *QUICK), "10 classes", "has 3")
    assert_clean(invoke("eval", teacher, "--dataset", f"folder:{rgb}"), "3 classes")
    assert not (tmp_path / "d1").exists() and not (tmp_path / "d2").exists()  # refused before any folder is made


def test_bench_refuses_a_model_that_does_not_fit_the_data(tmp_path):
    rgb = rel.tiny_onnx(tmp_path / "rgb32.onnx", chw=(3, 32, 32), edgekd=True)
    digits = rel.tiny_onnx(tmp_path / "digits.onnx", edgekd=True)
    npz = tmp_path / "labels.npz"
    np.savez(npz, test_images=np.zeros((4, 1, 8, 8), np.uint8), test_labels=np.array([0, 1, 12, 3]))
    fast = ["--iters", "1", "--warmup", "0", "--no-peak", "--timeout", "60"]
    assert_clean(invoke("bench", rgb, "--dataset", "digits", *fast), "expects input 3x32x32", "1x8x8")
    assert_clean(invoke("bench", digits, "--dataset", npz, *fast), "label 12", "10 classes")
    # without edgekd metadata nothing says the model was meant for these images: timed on random input,
    # with a note; asked to feed it anyway, the misfit is refused
    foreign = rel.tiny_onnx(tmp_path / "foreign.onnx", chw=(3, 32, 32))
    result = invoke("bench", foreign, "--dataset", "digits", *fast)
    assert result.exit_code == 0 and "latency and memory only" in result.output and "--channels 3" in result.output
    assert_clean(invoke("bench", foreign, "--dataset", "digits", "--channels", "3", *fast), "--input-size 32x32")


def test_every_reported_case_is_clean_in_process(tmp_path, monkeypatch):
    """The cases of benchmarks/reliability/reliability.md, through CliRunner: none may raise or print twice."""
    monkeypatch.setenv("EDGEKD_CACHE", str(tmp_path / "cache"))
    failures = []
    for _group, case, argv in rel.build_cases(tmp_path):
        if argv[0] == "bench":
            argv = [*argv, "--timeout", "60"]
        result = invoke(*argv)
        why = rel.problem(result.exit_code, result.stdout, result.stderr)
        if why or (tmp_path / "MARKER").exists():
            failures.append(f"{case}: {why or 'marker created'}: {result.exception!r} {result.output[-300:]}")
    assert not failures, "\n".join(failures)
