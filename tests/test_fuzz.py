"""Fuzzed loaders: damaged checkpoints, npz, ONNX and TFLite files never crash edgekd.

Seeded corruptions (truncation at a random offset, flipped bits, a zeroed header or
block, random bytes, an empty file, a file of another type under the expected
extension) are fed to ``eval``, ``distill --teacher``, ``bench`` and, once it exists,
``export``. Each answer must be exit code 2 with one ``error:`` line and no traceback,
within 60 s. The one exception is a file that is still valid after the damage (a flipped
bit inside a weight of an ONNX/TFLite model, which has no checksum): edgekd may run it,
and the test then checks independently that the file really is a loadable model.
Checkpoints carry a SHA-256, so every damaged checkpoint is refused.

The loaders themselves get hundreds of cases in-process (fast); the CLI gets 6-8 per
file type by default and many more with ``-m slow``.
"""

from __future__ import annotations

import io
import random
import warnings

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from benchmarks.reliability.reliability import CORRUPTIONS, corrupt, problem, tiny_onnx, tiny_tflite
from edgekd.cli.app import app
from edgekd.errors import EdgekdError
from edgekd.fileio import sha256_bytes
from edgekd.training.checkpoint import load_checkpoint, load_model, save_checkpoint, save_model

DEFAULT_CASES = 8
SLOW_CASES = 40


def digits_checkpoint(path, envelope: bool = False):
    """A complete edgekd model.pt of an (untrained) cnn-tiny for digits, as train writes it
    (``envelope``: in last.pt's format, the format model.pt had before edgekd-model/2)."""
    from edgekd.data.digits import DigitsSource
    from edgekd.models.registry import create_model

    torch.manual_seed(0)
    model = create_model("cnn-tiny", 1, 10)
    state = {"kind": "train", "model": {"name": "cnn-tiny", "kwargs": {}}, "data": DigitsSource.info.to_dict(),
             "state_dict": model.state_dict(), "best": {"epoch": 1, "score": 0.1}, "params": 1, "macs": 1}
    (save_checkpoint if envelope else save_model)(path, state)
    return path


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    """Valid files to damage: a checkpoint, an npz of digits-shaped data, an ONNX and a TFLite model."""
    d = tmp_path_factory.mktemp("originals")
    npz = d / "digits.npz"
    rng = np.random.default_rng(0)
    np.savez(npz, test_images=rng.integers(0, 256, (16, 1, 8, 8), dtype=np.uint8), test_labels=np.arange(16) % 10)
    return {"checkpoint": digits_checkpoint(d / "model.pt"), "envelope": digits_checkpoint(d / "last.pt", True),
            "npz": npz, "onnx": tiny_onnx(d / "m.onnx"),
            "tflite": tiny_tflite(d / "m.tflite")}


def damaged(originals, kind: str, i: int, folder) -> tuple:
    """The i-th seeded corruption of file type ``kind``: (path, corruption name)."""
    rng = random.Random(f"{kind}-{i}")
    suffix = {"checkpoint": ".pt", "npz": ".npz", "onnx": ".onnx", "tflite": ".tflite"}[kind]
    how = (*CORRUPTIONS, "wrong-type")[i % (len(CORRUPTIONS) + 1)]
    if how == "wrong-type":  # another valid format under this extension
        other = rng.choice([k for k in originals if k != kind])
        data = originals[other].read_bytes()
    else:
        data = corrupt(originals[kind].read_bytes(), how, rng)
    path = folder / f"{kind}-{i}-{how}{suffix}"
    path.write_bytes(data)
    return path, how


def still_valid(kind: str, path) -> bool:
    """Independent check that a damaged file is nevertheless a complete, loadable file of its type."""
    try:
        if kind == "checkpoint":
            load_checkpoint(path)
        elif kind == "npz":
            with np.load(path, allow_pickle=False) as f:
                [f[k] for k in f.files]
        elif kind == "onnx":
            import onnxruntime as ort

            ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        else:
            from ai_edge_litert.interpreter import Interpreter

            Interpreter(model_path=str(path)).allocate_tensors()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not valid"
        return False


def commands(kind: str, path, originals, out) -> list[list]:
    """The edgekd commands that read a file of this type."""
    bench = ["--iters", "1", "--warmup", "0", "--no-peak", "--timeout", "45"]
    if kind == "checkpoint":
        cmds = [["eval", path], ["distill", "--teacher", path, "--out", out / "d", "--epochs", "1", "--quiet",
                                 "--device", "cpu"], ["export", path, "--out", out / "e.onnx", "--no-verify"]]
        return cmds
    if kind == "npz":
        return [["bench", originals["onnx"], "--dataset", path, *bench]]
    return [["bench", path, *bench], ["bench", path, "--dataset", "digits", *bench]]


def check_case(kind: str, i: int, originals, tmp_path) -> None:
    path, how = damaged(originals, kind, i, tmp_path)
    for args in commands(kind, path, originals, tmp_path / f"out-{i}"):
        result = CliRunner(env={"COLUMNS": "1000"}).invoke(app, [str(a) for a in args])
        if result.exit_code == 0 and still_valid(kind, path):
            continue  # damage that left a valid model (e.g. a flipped bit in a weight): running it is right
        why = problem(result.exit_code, result.stdout, result.stderr)
        assert not why, f"{how} {path.name} -> edgekd {args[0]}: {why}\n{result.exception!r}\n{result.output[-600:]}"


# --- the CLI, a few cases per type (bounded: 60 s each) -------------------------------------

@pytest.mark.timeout(60, func_only=True)
@pytest.mark.parametrize("i", range(DEFAULT_CASES))
@pytest.mark.parametrize("kind", ["checkpoint", "npz", "onnx", "tflite"])
def test_damaged_file_is_a_one_line_error(kind, i, originals, tmp_path):
    check_case(kind, i, originals, tmp_path)


@pytest.mark.slow
@pytest.mark.timeout(60 * SLOW_CASES, func_only=True)
@pytest.mark.parametrize("kind", ["checkpoint", "npz", "onnx", "tflite"])
def test_many_damaged_files_are_one_line_errors(kind, originals, tmp_path):
    for i in range(DEFAULT_CASES, DEFAULT_CASES + SLOW_CASES):
        check_case(kind, i, originals, tmp_path)


# --- the loaders, hundreds of cases in-process ----------------------------------------------

def _only_edgekd_errors(load, blobs) -> int:
    """Call ``load`` on each damaged blob; anything but success or EdgekdError fails. Returns the refusals."""
    refused = 0
    for name, blob in blobs:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # a warning would be a second line on the user's terminal
                load(blob)
        except EdgekdError as exc:
            assert "\n" not in str(exc).strip(), f"{name}: multi-line error {exc}"
            refused += 1
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"{name}: {type(exc).__name__}: {exc}")
    return refused


def _blobs(original, n, tag):
    data = original.read_bytes()
    for i in range(n):
        rng = random.Random(f"{tag}-{i}")
        how = CORRUPTIONS[i % len(CORRUPTIONS)]
        yield f"{how}-{i}", corrupt(data, how, rng)


@pytest.mark.parametrize("kind", ["checkpoint", "envelope"])
def test_checkpoint_loader_refuses_every_damaged_file(originals, tmp_path, kind):
    path, want = tmp_path / "c.pt", load_checkpoint(originals[kind])["checkpoint_sha256"]

    def load(blob):
        path.write_bytes(blob)
        load_model(path)
        # damage outside the payload (zip padding, an unused header field) may leave it readable: then the
        # SHA-256 proves the weights and settings are exactly the original ones
        assert load_checkpoint(path)["checkpoint_sha256"] == want

    assert _only_edgekd_errors(load, _blobs(originals[kind], 300, "ckpt")) >= 280


def _with_payload(path, content) -> None:
    buf = io.BytesIO()
    torch.save(content, buf)
    payload = buf.getvalue()
    torch.save({"format": "edgekd-checkpoint/1", "sha256": sha256_bytes(payload), "payload": payload}, path)


def test_checkpoint_with_a_valid_hash_but_malformed_content_is_refused(originals, tmp_path):
    """A payload that hashes right but lacks or mistypes what rebuilding a model reads."""
    good = load_checkpoint(originals["checkpoint"])
    good.pop("checkpoint_sha256")
    weights = good["state_dict"]
    variants = [[], "text", {"model": "cnn-tiny", "state_dict": weights},
                {**good, "model": {"name": 3}}, {**good, "model": {"name": "no-such-model"}},
                {**good, "model": {"name": "cnn", "kwargs": {"width": 0}}},
                {**good, "model": {"name": "cnn", "kwargs": {"bogus": 1}}},
                {**good, "data": {**good["data"], "channels": "1"}}, {**good, "data": {**good["data"], "size": -8}},
                {**good, "data": {**good["data"], "channels": 3}}, {**good, "data": {**good["data"], "num_classes": 7}},
                {**good, "state_dict": {"x": 1}}, {**good, "state_dict": {**weights, "extra": torch.zeros(1)}},
                {**good, "state_dict": {k: v[..., :1] if v.ndim else v for k, v in weights.items()}}]
    path = tmp_path / "c.pt"

    def load(content):
        _with_payload(path, content)
        load_model(path)

    assert _only_edgekd_errors(load, [(str(i), v) for i, v in enumerate(variants)]) == len(variants)


def test_npz_and_metadata_readers_refuse_damaged_files(originals, tmp_path):
    """Each damaged file is refused with one line, or read as exactly what the intact file holds
    (damage outside what the reader reads, e.g. in an artifact's weights). Either way nothing
    wrong is returned; the refusal counts show the readers check (npz: a checksum per array)."""
    from edgekd.benchmarking.data import load_data
    from edgekd.runtime.metadata import read_metadata

    def same(a, b) -> bool:
        if isinstance(a, tuple):
            return all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))
        return a == b

    counts = {}
    for kind, read in (("npz", lambda p: load_data(str(p), "test")), ("onnx", read_metadata),
                       ("tflite", read_metadata)):
        path = tmp_path / f"x{originals[kind].suffix}"
        expected = read(originals[kind])

        def load(blob, path=path, read=read, expected=expected):
            path.write_bytes(blob)
            assert same(read(path), expected), "a damaged file was read as different content"

        counts[kind] = _only_edgekd_errors(load, _blobs(originals[kind], 120, kind))
    # npz: every corruption lands in the arrays (all refused but at most a harmless one); the
    # artifacts: the metadata is a small part of the file, so most damage is elsewhere
    assert counts["npz"] >= 115 and counts["onnx"] > 0 and counts["tflite"] > 0, counts
