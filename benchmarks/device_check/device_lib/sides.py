"""The device commands, run the same way by the x86 venv and by the emulated arm64 venv.

A :class:`Side` is one machine's python and environment. :func:`run_side` runs on it, on
the same files and inputs: ``infer.py`` (every output on the whole test split),
``edgekd bench`` (one child process per model, accuracy on the test split),
``deploy/examples/classify.py`` on one image per model, and ``edgekd explain`` on the models
with a head. Each step's wall time is kept -- under emulation it says how long the check
took, never how fast a Raspberry Pi is.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

INFER = Path(__file__).with_name("infer.py")


@dataclass
class Side:
    """``name`` (x86_64 or the qemu CPU), its venv's python, the environment its commands get."""

    name: str
    python: Path
    env: dict[str, str]

    @property
    def edgekd(self) -> Path:
        return self.python.parent / "edgekd"


def _step(cmd: list[str], side: Side, log: Path) -> tuple[subprocess.CompletedProcess, float]:
    start = time.perf_counter()
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=side.env)
    seconds = time.perf_counter() - start
    with log.open("a") as f:
        f.write(f"$ {' '.join(map(str, cmd))}\n[rc {proc.returncode}, {seconds:.1f} s]\n{proc.stdout}{proc.stderr}\n")
    return proc, seconds


def _last_line(proc: subprocess.CompletedProcess) -> str:
    lines = [line for line in (proc.stderr + proc.stdout).strip().splitlines() if line.strip()]
    return lines[-1].strip()[:300] if lines else f"exit code {proc.returncode}"


def run_side(side: Side, models: list[Path], images: Path, image: Path, repo: Path, dataset: str, out: Path) -> dict:
    """Run every device command on ``side``; outputs under ``out``, a record of what happened returned."""
    shutil.rmtree(out, ignore_errors=True)  # nothing stale from an earlier run is compared
    out.mkdir(parents=True)
    log = out / "commands.log"
    log.write_text("")
    record: dict = {"seconds": {}, "errors": []}

    proc, record["seconds"]["infer"] = _step([side.python, INFER, images, out / "outputs.npz", *models], side, log)
    if proc.returncode != 0:
        record["errors"].append(f"infer.py: {_last_line(proc)}")

    bench_json = out / "bench.json"
    proc, record["seconds"]["bench"] = _step(
        [side.edgekd, "bench", *models, "--dataset", dataset, "--threads", "1", "--warmup", "2", "--iters", "20",
         "--no-peak", "--json", bench_json], side, log)
    if proc.returncode == 0:
        report = json.loads(bench_json.read_text())
        record["bench"] = {Path(r["model"]).name: {"accuracy": r.get("accuracy"), "runtime": r.get("runtime")}
                           for r in report["records"]}
    else:
        record["errors"].append(f"edgekd bench: {_last_line(proc)}")

    record["classify"], record["seconds"]["classify"] = {}, 0.0
    for model in models:
        overlay = out / f"overlay_{model.name}.png"
        proc, seconds = _step([side.python, repo / "deploy" / "examples" / "classify.py", model, image, "--out", overlay,
                               "--threads", "1"], side, log)
        record["seconds"]["classify"] += seconds
        record["classify"][model.name] = {"rc": proc.returncode, "line": proc.stdout.strip().splitlines()[0]
                                          if proc.returncode == 0 and proc.stdout.strip() else _last_line(proc),
                                          "overlay": str(overlay) if overlay.exists() else None}

    record["explain"], record["seconds"]["explain"] = {}, 0.0
    for model in (m for m in models if "int8" not in m.name):
        folder = out / f"explain_{model.name}"
        proc, seconds = _step([side.edgekd, "explain", model, dataset, "--n", "4", "--out", folder], side, log)
        record["seconds"]["explain"] += seconds
        result = {"rc": proc.returncode}
        if proc.returncode == 0:
            result["images"] = json.loads((folder / "explain.json").read_text())["images"]
        else:
            result["error"] = _last_line(proc)
        record["explain"][model.name] = result
    return record
