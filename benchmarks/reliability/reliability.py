"""Every bad input and fault edgekd must answer with one line: ``python benchmarks/reliability/reliability.py``.

Builds a work folder (a small digits teacher, checkpoints crafted to run code, damaged
checkpoint / npz / ONNX / TFLite files, image folders that are empty or do not fit), runs
each case as a real ``python -m edgekd.cli.app`` process with a time limit, and writes
``reliability.md`` / ``.json`` beside this file: command, exit code, message, and whether
the answer is clean (exit code 2, one ``error:`` line on stderr, no traceback, no hang, no
code run from a file). The builders are shared with tests/test_reliability.py and test_fuzz.py.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = ROOT.parent / "shared" / "data"
CORRUPTIONS = ("truncate", "flip", "zero-header", "zero-block", "random", "empty")
#: stderr lines that are progress, not part of an error (bench prints one per model)
PROGRESS = re.compile(r"^(bench \S+ \.\.\.$|note[ :])")


# --- running the real CLI -----------------------------------------------------------

def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("EDGEKD_DATA", str(SHARED_DATA))
    env.setdefault("EDGEKD_CACHE", str(ROOT / ".pytest_edgekd_cache"))
    env["COLUMNS"] = "1000"  # progress lines unwrapped: one line each
    return env


def cli_command(*args) -> list[str]:
    return [sys.executable, "-m", "edgekd.cli.app", *map(str, args)]


def run_cli(*args, timeout: float = 120.0) -> dict:
    """Run ``edgekd ARGS`` in a child process: {"rc" (None on timeout), "stdout", "stderr", "seconds"}."""
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cli_command(*args), capture_output=True, text=True, timeout=timeout, env=cli_env(),
                           stdin=subprocess.DEVNULL, cwd=ROOT)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as exc:
        text = [b.decode(errors="replace") if isinstance(b, bytes) else (b or "") for b in (exc.stdout, exc.stderr)]
        rc, out, err = None, *text
    return {"rc": rc, "stdout": out, "stderr": err, "seconds": round(time.perf_counter() - t0, 2)}


def problem(rc: int | None, stdout: str, stderr: str) -> str:
    """Why an answer is not a clean one-line error ("" when it is)."""
    if rc is None:
        return "timed out"
    if "Traceback" in stdout + stderr:
        return "traceback"
    if rc != 2:
        return f"exit code {rc}"
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip() and not PROGRESS.match(ln.strip())]
    if len(lines) != 1 or not lines[0].startswith("error: "):
        return f"{len(lines)} stderr lines: {' | '.join(lines)[:200]}"
    return ""


# --- crafted and corrupted files ------------------------------------------------------

class CodeOnLoad:
    """Unpickling it runs ``exec(code)``: how a malicious checkpoint takes over a machine."""

    def __init__(self, code: str):
        self.code = code

    def __reduce__(self):
        return (exec, (self.code,))


def evil_checkpoint(path: Path, marker: Path, where: str = "outer") -> Path:
    """A checkpoint that creates ``marker`` when unpickled: in the outer file, in a payload
    with a correct SHA-256, or as a whole pickled module (``where``: outer, payload, module)."""
    import torch

    from edgekd.fileio import sha256_bytes

    code = CodeOnLoad(f"open({str(marker)!r}, 'w').write('code ran')")
    if where == "outer":
        torch.save({"format": "edgekd-checkpoint/1", "payload": code}, path)
    elif where == "payload":
        buf = io.BytesIO()
        torch.save({"model": {"name": "cnn-tiny"}, "state_dict": code}, buf)
        payload = buf.getvalue()
        torch.save({"format": "edgekd-checkpoint/1", "sha256": sha256_bytes(payload), "payload": payload}, path)
    else:
        torch.save({"format": "edgekd-checkpoint/1", "payload": torch.nn.Linear(2, 2), "hook": code}, path)
    return path


def corrupt(data: bytes, kind: str, rng: random.Random) -> bytes:
    """``data`` damaged as copies get damaged: cut short, bits flipped, a block zeroed, replaced, emptied."""
    b = bytearray(data)
    if kind == "truncate":
        return bytes(b[: rng.randrange(1, max(2, len(b)))])
    if kind == "flip":
        for i in [rng.randrange(len(b)) for _ in range(rng.randint(1, 16))]:
            b[i] ^= 1 << rng.randrange(8)
    elif kind in ("zero-header", "zero-block"):
        start = 0 if kind == "zero-header" else rng.randrange(len(b))
        n = rng.choice((4, 16, 64, 512)) if kind == "zero-header" else rng.randint(1, 4096)
        b[start:start + n] = bytes(len(b[start:start + n]))
    elif kind == "random":
        return rng.randbytes(rng.randint(1, 4096))
    elif kind == "empty":
        return b""
    else:
        raise ValueError(kind)
    return bytes(b)


def tiny_onnx(path: Path, chw=(1, 8, 8), classes: int = 10, seed: int = 0, edgekd: bool = False) -> Path:
    """A valid one-layer ONNX classifier (Flatten + Gemm), input ``input`` [1, C, H, W], output ``logits``;
    with ``edgekd``, the metadata an edgekd export carries (a data set that does not fit it is refused;
    a model without it is benched on random input instead)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    n = int(np.prod(chw))
    w = np.random.default_rng(seed).standard_normal((classes, n)).astype(np.float32) * 0.1
    nodes = [helper.make_node("Flatten", ["input"], ["flat"]), helper.make_node("Gemm", ["flat", "w"], ["logits"],
                                                                               transB=1)]
    graph = helper.make_graph(
        nodes,
        "tiny", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, *chw])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, classes])], [numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    if edgekd:
        meta = {"class_names": [str(i) for i in range(classes)], "input_size": list(chw), "mean": [0.5] * chw[0],
                "std": [0.5] * chw[0], "params": classes * n, "macs": classes * n, "attention_head": "none",
                "layout": "NCHW", "dataset": "digits", "edgekd_version": "0"}
        helper.set_model_props(model, {"edgekd": json.dumps(meta)})
    onnx.save(model, str(path))
    return path


def tiny_tflite(path: Path, chw=(1, 8, 8), classes: int = 10, seed: int = 0) -> Path:
    """A valid one-op TFLite classifier (FULLY_CONNECTED), built with LiteRT's flatbuffer schema."""
    from ai_edge_litert import schema_py_generated as s
    from ai_edge_litert.tools import flatbuffer_utils

    n = int(np.prod(chw))
    w = np.random.default_rng(seed).standard_normal((classes, n)).astype(np.float32) * 0.1
    code = s.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = s.BuiltinOperator.FULLY_CONNECTED
    code.version = 1
    weights = s.BufferT()
    weights.data = np.frombuffer(w.tobytes(), np.uint8)

    def tensor(name, shape, buffer):
        t = s.TensorT()
        t.name, t.shape, t.type, t.buffer = name, list(shape), s.TensorType.FLOAT32, buffer
        return t

    op = s.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0, 1, -1], [2]
    op.builtinOptionsType, op.builtinOptions = s.BuiltinOptions.FullyConnectedOptions, s.FullyConnectedOptionsT()
    graph = s.SubGraphT()
    graph.tensors = [tensor("input", (1, *chw), 0), tensor("w", (classes, n), 1), tensor("logits", (1, classes), 0)]
    graph.operators, graph.inputs, graph.outputs, graph.name = [op], [0], [2], "main"
    model = s.ModelT()
    model.version, model.operatorCodes, model.buffers, model.subgraphs = 3, [code], [s.BufferT(), weights], [graph]
    path.write_bytes(bytes(flatbuffer_utils.convert_object_to_bytearray(model)))
    return path


def image_folder(root: Path, classes=("a", "b", "c"), per_class: int = 10, size: int = 8, channels: int = 1,
                 seed: int = 0) -> Path:
    """``root/<class>/<i>.png`` random images (grey or RGB), for ``folder:`` data sets."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    shape = (size, size) if channels == 1 else (size, size, 3)
    for c in classes:
        (root / c).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(root / c / f"{i}.png")
    return root


# --- the cases --------------------------------------------------------------------------

def build_files(w: Path) -> Path:
    """Every crafted, damaged or mismatched file the cases read, under ``w``; returns the teacher checkpoint."""
    from edgekd.training.loop import TrainConfig
    from edgekd.training.supervised import train_supervised

    rng, cfg = random.Random(0), TrainConfig(epochs=1, batch_size=64, seed=0, device="cpu")
    train_supervised("cnn-tiny", "digits", w / "teacher", cfg, quiet=True)  # a real checkpoint, in seconds
    teacher = w / "teacher" / "model.pt"
    good = teacher.read_bytes()
    for name, where in (("evil.pt", "outer"), ("evil_payload.pt", "payload"), ("evil_module.pt", "module")):
        evil_checkpoint(w / name, w / "MARKER", where)
    for kind in ("truncate", "flip", "zero-header", "empty"):
        (w / f"{kind}.pt").write_bytes(corrupt(good, kind, rng))
    onnx_bytes, tflite_bytes = tiny_onnx(w / "m.onnx", edgekd=True).read_bytes(), tiny_tflite(w / "m.tflite").read_bytes()
    (w / "trunc.onnx").write_bytes(corrupt(onnx_bytes, "truncate", rng))
    (w / "zero.tflite").write_bytes(corrupt(tflite_bytes, "zero-header", rng))
    (w / "checkpoint.onnx").write_bytes(good)
    (w / "model_onnx.pt").write_bytes(onnx_bytes)
    tiny_onnx(w / "rgb32.onnx", chw=(3, 32, 32), edgekd=True)
    np.savez(w / "labels.npz", test_images=np.zeros((4, 1, 8, 8), np.uint8), test_labels=np.array([0, 1, 12, 3]))
    (w / "trunc.npz").write_bytes(corrupt((w / "labels.npz").read_bytes(), "truncate", rng))
    src = SHARED_DATA / "medmnist" / "pneumoniamnist.npz"
    (w / "data" / "medmnist").mkdir(parents=True)
    (w / "data" / "medmnist" / "pneumoniamnist.npz").write_bytes(src.read_bytes()[:200_000] if src.is_file() else b"PK")
    for c in ("a", "b"):
        (w / "empty" / c).mkdir(parents=True)
    (w / "no_classes").mkdir()
    image_folder(w / "rgb", channels=3, size=16)
    image_folder(w / "grey3", classes=("x", "y", "z"))
    image_folder(w / "one_each", classes=("x", "y"), per_class=1)
    image_folder(w / "bad_image", classes=("x", "y"))
    (w / "bad_image" / "x" / "9.png").write_bytes(b"not a png")
    for split in ("train", "val", "test"):
        image_folder(w / "splits" / split, classes=("x", "y") + (("z",) if split == "val" else ()), per_class=2)
    image_folder(w / "train_dev" / "train", classes=("x", "y"))  # train/ + val/ is a layout; train/ + dev/ is not
    image_folder(w / "train_dev" / "dev", classes=("x", "y"), per_class=2)
    image_folder(w / "test_among_classes", classes=("x", "y", "test"))
    image_folder(w / "one_class", classes=("x",), per_class=12)
    image_folder(w / "grey_and_colour", classes=("x", "y"), per_class=12)
    image_folder(w / "grey_and_colour", classes=("y",), per_class=12, channels=3)
    (w / "a_file").write_text("not a folder")
    shutil.copytree(teacher.parent, w / "run_tiny")
    (w / "run_garbage").mkdir()
    (w / "run_garbage" / "last.pt").write_bytes(corrupt(good, "truncate", rng))
    (w / "exists.onnx").write_bytes(b"an earlier export")
    return teacher


def build_cases(w: Path) -> list[tuple[str, str, list]]:
    """(group, case, argv) for every fault; builds the files they need under ``w``."""
    t, q, b = build_files(w), ["--epochs", "1", "--quiet", "--device", "cpu"], ["--iters", "1", "--no-peak"]

    def train(*args, model="cnn-tiny"):
        return ["train", "--model", model, *args, *q]

    def folder(name):
        return ["--dataset", f"folder:{w / name}"]

    cases = {
        "safe loading": [
            ("eval: checkpoint that runs code when unpickled", ["eval", w / "evil.pt"]),
            ("eval: code in a payload with a valid SHA-256", ["eval", w / "evil_payload.pt"]),
            ("eval: pickled nn.Module + code", ["eval", w / "evil_module.pt"]),
            ("distill --teacher: code-running checkpoint", ["distill", "--teacher", w / "evil.pt", "--out", w / "d0",
                                                            *q]),
            ("bench: code-running .pt (torch runner)", ["bench", w / "evil.pt", *b])],
        "corrupt checkpoint": [
            ("eval: truncated", ["eval", w / "truncate.pt"]), ("eval: flipped bits", ["eval", w / "flip.pt"]),
            ("eval: zeroed header", ["eval", w / "zero-header.pt"]), ("eval: empty file", ["eval", w / "empty.pt"]),
            ("eval: a folder instead of a file", ["eval", w / "empty"]),
            ("eval: ONNX bytes named .pt", ["eval", w / "model_onnx.pt"]),
            ("distill --teacher: truncated", ["distill", "--teacher", w / "truncate.pt", "--out", w / "d1", *q])],
        "resume": [
            ("train --resume: truncated last.pt", train("--out", w / "run_garbage", "--resume")),
            ("train --resume with another --model", train("--out", w / "run_tiny", "--resume", model="cnn-small")),
            ("train --resume with another --optimizer", train("--optimizer", "adamw", "--out", w / "run_tiny",
                                                             "--resume"))],
        "training guard": [
            ("train: loss becomes NaN (--lr 1e12)", train("--lr", "1e12", "--out", w / "o1")),
            ("train: --model-arg width=0", train("--model-arg", "width=0", "--out", w / "o2", model="cnn")),
            ("train: --out is a file", train("--out", w / "a_file")),
            ("train: --device cuda without a GPU", ["train", "--device", "cuda", "--out", w / "o3"])],
        "data": [
            ("train: folder: set that is an empty folder", train(*folder("no_classes"), "--out", w / "o4")),
            ("train: folder: class folders without images", train(*folder("empty"), "--out", w / "o5")),
            ("train: folder: too few images for val/test", train(*folder("one_each"), "--out", w / "o6")),
            ("train: folder: an unreadable image", train(*folder("bad_image"), "--out", w / "o7")),
            ("train: folder: train/ and dev/ split folders", train(*folder("train_dev"), "--out", w / "o10")),
            ("train: folder: test/ among class folders", train(*folder("test_among_classes"), "--out", w / "o11")),
            ("train: folder: one class", train(*folder("one_class"), "--out", w / "o12")),
            ("train: folder: grey and colour images mixed", train(*folder("grey_and_colour"), "--out", w / "o13")),
            ("train: folder: val has a class train lacks", train(*folder("splits"), "--out",
                                                                                     w / "o8")),
            ("train: corrupted MedMNIST npz (md5)", train("--dataset", "pneumoniamnist", "--data-dir", w / "data",
                                                         "--out", w / "o9"))],
        "mismatch": [
            ("distill: 1x8x8 teacher on a 3x16x16 folder: set", ["distill", "--teacher", t, *folder("rgb"), "--out",
                                                                 w / "d2", *q]),
            ("distill: 10-class teacher on a 3-class folder: set", ["distill", "--teacher", t, *folder("grey3"),
                                                                    "--out", w / "d3", *q]),
            ("eval: checkpoint on a data set of another shape", ["eval", t, *folder("rgb")]),
            ("eval --json into a folder", ["eval", t, "--json", w / "empty"])],
        "bench": [
            ("bench: missing model file", ["bench", w / "missing.onnx"]),
            ("bench: unknown model suffix", ["bench", w / "labels.npz"]),
            ("bench: checkpoint bytes named .onnx", ["bench", w / "checkpoint.onnx", *b]),
            ("bench: truncated ONNX", ["bench", w / "trunc.onnx", *b]),
            ("bench: TFLite with a zeroed header", ["bench", w / "zero.tflite", *b]),
            ("bench: 3x32x32 model on digits (1x8x8)", ["bench", w / "rgb32.onnx", "--dataset", "digits", *b]),
            ("bench: npz labels outside the model's classes", ["bench", w / "m.onnx", "--dataset", w / "labels.npz",
                                                              *b]),
            ("bench: truncated npz", ["bench", w / "m.onnx", "--dataset", w / "trunc.npz", *b])],
        "export": [
            ("export: code-running checkpoint", ["export", w / "evil.pt", "--out", w / "e1.onnx"]),
            ("export: truncated checkpoint", ["export", w / "truncate.pt", "--out", w / "e2.onnx"]),
            ("export: existing output without --force", ["export", t, "--out", w / "exists.onnx"])],
    }
    return [(group, case, argv) for group, rows in cases.items() for case, argv in rows]


def run_all(w: Path, timeout: float = 120.0) -> list[dict]:
    rows = []
    for group, case, argv in build_cases(w):
        res = run_cli(*argv, timeout=timeout)
        why = problem(res["rc"], res["stdout"], res["stderr"])
        if (w / "MARKER").exists():
            why = "CODE RAN: marker file created"
        shown = " ".join(str(a).replace(str(w), "$WORK") for a in argv)
        errors = [ln.strip() for ln in res["stderr"].splitlines() if ln.strip().startswith("error: ")]
        msg = (errors or res["stderr"].strip().splitlines() or [""])[-1][:300].replace(str(w), "$WORK")
        rows.append({"group": group, "case": case, "command": f"edgekd {shown}", "exit_code": res["rc"],
                     "message": msg, "clean": not why, "problem": why, "seconds": res["seconds"]})
        print(f"[{'ok' if not why else 'FAIL'}] {case}: {rows[-1]['message'][:100]}", flush=True)
    return rows


def write_report(rows: list[dict], md: Path, js: Path) -> None:
    clean = sum(r["clean"] for r in rows)
    js.write_text(json.dumps({"cases": len(rows), "clean": clean, "python": sys.version.split()[0],
                              "rows": rows}, indent=2) + "\n")
    lines = ["# edgekd reliability: bad inputs and faults", "",
             f"Generated by `python benchmarks/reliability/reliability.py` (each case a real `python -m edgekd.cli.app` process, "
             f"`$WORK` a fresh temporary folder). **{clean} of {len(rows)} cases clean**: exit code 2, exactly one "
             f"`error:` line on stderr, no traceback, no hang, no code run from a file.", "",
             "| # | group | case | command | exit | message | clean |", "|---|---|---|---|---|---|---|"]
    for i, r in enumerate(rows, 1):
        cells = [str(i), r["group"], r["case"], f"`{r['command']}`", str(r["exit_code"]),
                 r["message"].replace("|", "\\|"), "yes" if r["clean"] else f"**no**: {r['problem']}"]
        lines.append("| " + " | ".join(c.replace("\n", " ") for c in cells) + " |")
    md.write_text("\n".join(lines) + "\n")


def main() -> int:
    sys.path.insert(0, str(ROOT))
    os.environ.update({k: v for k, v in cli_env().items() if k.startswith("EDGEKD_")})
    here = Path(__file__).resolve().parent
    with tempfile.TemporaryDirectory(prefix="edgekd-reliability-") as tmp:
        rows = run_all(Path(tmp))
    write_report(rows, here / "reliability.md", here / "reliability.json")
    print(f"{sum(r['clean'] for r in rows)}/{len(rows)} clean -> {here / 'reliability.md'}")
    return 0 if all(r["clean"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
