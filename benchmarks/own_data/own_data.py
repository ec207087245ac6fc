"""A user's own photos, measured: accuracy against the arrays, memory and time against the estimate, the audit.

Folders built by ``build.py`` (real PneumoniaMNIST / BreastMNIST images written as JPEGs of
random sizes 150..449 px, planted bad files, real colour photographs from skimage.data):

1. **accuracy**: cnn-small trained on the npz arrays and on the JPEG folder read at
   ``--image-size 28`` (default ``--resize shorter-crop``; PneumoniaMNIST also ``stretch``),
   the same seeds and schedule; test AUC per seed, and the npz runs' 95 % seed interval;
2. **cost**: ``edgekd train`` on the 5,856-photo PneumoniaMNIST folder, cnn-small at 28, 64 and
   128 px and resnet8 at 64 px (a fresh image cache each, so decoding counts), 2 epochs: peak RSS of the process
   (``ru_maxrss``) and seconds of epoch 2, against the run's own ``estimate.json``;
3. **audit**: ``edgekd datasets --check`` on the folder with planted bad files: which were found;
4. **colour**: the skimage photos: audit, train, export ONNX, ``classify.py`` on new crops;
   the ``train/ val/`` BreastMNIST variant: what its reports say about the missing test split.

Every run: 1 thread (``--threads 1``), one at a time. Results go to ``own_data.json`` (runs
already there are kept: rerun to fill gaps), ``own_data.md`` and ``own_data.png``.

    .venv/bin/python benchmarks/own_data/build.py
    .venv/bin/python benchmarks/own_data/own_data.py [--only accuracy|cost|audit|colour] [--report]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from build import ROOT, WORK, build  # noqa: E402

RESULTS = HERE / "own_data.json"
EDGEKD = [sys.executable, "-m", "edgekd.cli.app"]
SEEDS = (0, 1, 2)
SCHEDULE = {"pneumoniamnist": 10, "breastmnist": 30}  # epochs: short runs on a shared machine
FOLDER = {"pneumoniamnist": "pneumonia", "breastmnist": "breast"}
COST_RUNS = (("cnn-small", 28), ("cnn-small", 64), ("cnn-small", 128), ("resnet8", 64))
RUNS = WORK / "runs"

MAXRSS = r"""
import resource, runpy, sys
sys.argv = ["edgekd", *sys.argv[1:]]
try:
    runpy.run_module("edgekd.cli.app", run_name="__main__")
except SystemExit as exc:
    code = exc.code or 0
else:
    code = 0
sys.stderr.write(f"\nMAXRSS_BYTES {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}\n")
sys.exit(code)
"""


def load() -> dict:
    return json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}


def save(results: dict) -> None:
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


def rel(path: Path) -> str:
    return os.path.relpath(path, ROOT)


def edgekd(args: list, env: dict | None = None, maxrss: bool = False) -> tuple[subprocess.CompletedProcess, float]:
    cmd = [sys.executable, "-c", MAXRSS, *map(str, args)] if maxrss else [*EDGEKD, *map(str, args)]
    t0 = time.perf_counter()
    base = {"EDGEKD_DATA": str(ROOT.parent / "shared" / "data"), "EDGEKD_CACHE": str(WORK / "cache")}
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env={**os.environ, **base, **(env or {})})
    return proc, time.perf_counter() - t0


def train_args(data: str, out: Path, epochs: int, seed: int, extra: tuple = (), quiet: bool = True,
               model: str = "cnn-small") -> list:
    return ["train", "-m", model, "-d", data, "--epochs", epochs, "--seed", seed, "--threads", "1",
            *(["--quiet"] if quiet else []), "--force", "--out", out, *extra]


def accuracy(results: dict) -> None:
    rows = results.setdefault("accuracy", {})
    for name, epochs in SCHEDULE.items():
        variants = {"npz": (name, ()), "jpeg-shorter-crop": (f"folder:{rel(WORK / FOLDER[name])}", ("--image-size", 28))}
        # stretch undoes the folders' distorted aspect ratios
        variants["jpeg-stretch"] = (variants["jpeg-shorter-crop"][0], ("--image-size", 28, "--resize", "stretch"))
        for variant, (data, extra) in variants.items():
            for seed in SEEDS:
                key = f"{name}/{variant}/seed{seed}"
                if key in rows:
                    continue
                out = RUNS / key.replace("/", "-")
                proc, wall = edgekd(train_args(data, out, epochs, seed, extra))
                if proc.returncode != 0:
                    raise SystemExit(f"{key} failed: {proc.stderr.strip().splitlines()[-1]}")
                test = json.loads((out / "test.json").read_text())["test"]
                rows[key] = {"dataset": name, "variant": variant, "seed": seed, "epochs": epochs,
                             "test_auc": test["auc"], "test_accuracy": test["accuracy"], "wall_s": round(wall, 1)}
                save(results)
                print(key, rows[key])


def cost(results: dict) -> None:
    rows = results.setdefault("cost", {})
    data = f"folder:{rel(WORK / 'pneumonia')}"
    for model, size in COST_RUNS:
        key = f"{model}/{size}px"
        if key in rows:
            continue
        out = RUNS / f"cost-{model}-{size}"
        with tempfile.TemporaryDirectory(prefix="edgekd-cost-cache-") as cache:  # decoding counts in the peak
            proc, wall = edgekd(train_args(data, out, 2, 0, ("--image-size", size), quiet=False, model=model),
                                {"EDGEKD_CACHE": cache}, maxrss=True)
        if proc.returncode != 0:
            raise SystemExit(f"{key} failed: {proc.stderr.strip().splitlines()[-1]}")
        peak = int(proc.stderr.rsplit("MAXRSS_BYTES", 1)[1].split()[0])
        estimate = json.loads((out / "estimate.json").read_text())
        epochs = json.loads((out / "metrics.json").read_text())["epochs"]
        rows[key] = {"size": size, "model": model, "batch": 128, "train_images": 4708, "photos": 5856,
                     "peak_rss_bytes": peak, "estimated_peak_bytes": estimate["peak_bytes"],
                     "estimate_parts": estimate["parts"], "epoch2_s": epochs[-1]["time_s"],
                     "estimated_epoch_s": estimate["epoch_s"], "wall_s": round(wall, 1),
                     "peak_error": estimate["peak_bytes"] / peak - 1,
                     "epoch_error": estimate["epoch_s"] / epochs[-1]["time_s"] - 1}
        save(results)
        print(key, rows[key])


def audit(results: dict, manifest: dict) -> None:
    folder = WORK / "pneumonia_planted"
    report = WORK / "pneumonia_planted-audit.txt"
    proc, wall = edgekd(["datasets", "--check", rel(folder), "--image-size", 64, "--report", rel(report)])
    found = {line.split(": ")[0].strip() for line in report.read_text().splitlines()
             if ": unreadable" in line or ": off-policy" in line}
    planted = {p["path"] for p in manifest["planted"]}
    results["audit"] = {"exit_code": proc.returncode, "planted": sorted(planted), "found": sorted(found),
                        "missed": sorted(planted - found), "false_alarms": sorted(found - planted),
                        "files": 5856 + len(planted), "seconds": round(wall, 1)}
    save(results)
    print(results["audit"])


def colour(results: dict) -> None:
    out = RUNS / "colour"
    folder, new = rel(WORK / "colour"), WORK / "colour_new"
    check, _ = edgekd(["datasets", "--check", folder, "--image-size", 64, "--report", rel(WORK / "colour-audit.txt")])
    proc, wall = edgekd(["train", "-m", "cnn-small", "-d", f"folder:{folder}", "--image-size", 64, "--epochs", 30,
                         "--batch-size", 16, "--threads", "1", "--force", "--out", out])
    if proc.returncode != 0:
        raise SystemExit(f"colour training failed: {proc.stderr.strip().splitlines()[-1]}")
    onnx = out / "student.onnx"
    exported, _ = edgekd(["export", out / "model.pt", "--attention-head", "cam", "--out", onnx, "--force"])
    classify = subprocess.run([sys.executable, "deploy/examples/classify.py", onnx, new, "--threads", "1"],
                              capture_output=True, text=True, cwd=ROOT)
    answers = [line for line in classify.stdout.splitlines() if line.startswith(str(new))]
    right = sum(Path(line.split(": ")[0]).parent.name == line.split(": ")[1] for line in answers)
    meta = json.loads(subprocess.run([sys.executable, "-c", "import json,sys; from edgekd.runtime.metadata import "
                                      "read_metadata; print(json.dumps(read_metadata(sys.argv[1])))", onnx],
                                     capture_output=True, text=True, cwd=ROOT).stdout)
    tv_out = RUNS / "breast-trainval"
    tv, _ = edgekd(["train", "-m", "cnn-small", "-d", f"folder:{rel(WORK / 'breast_trainval')}", "--image-size", 28,
                    "--epochs", 3, "--threads", "1", "--force", "--out", tv_out])
    results["colour"] = {
        "audit_summary": [line for line in check.stdout.splitlines() if line.startswith(("modes", "read as", "layout"))],
        "train_stderr_data_lines": [line for line in proc.stderr.splitlines() if line.startswith(("data:", "estimate"))],
        "test": json.loads((out / "test.json").read_text())["test"], "train_wall_s": round(wall, 1),
        "export_rc": exported.returncode, "preprocess": meta.get("preprocess"), "attention_grid": meta.get("attention_grid"),
        "classify_new": {"right": right, "of": len(answers), "stderr": classify.stderr.strip()},
        "trainval_stdout": tv.stdout.strip().replace(f"{ROOT}/", ""),
        "trainval_test_json": json.loads((tv_out / "test.json").read_text()),
    }
    save(results)
    print(json.dumps(results["colour"], indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("accuracy", "cost", "audit", "colour"))
    parser.add_argument("--report", action="store_true", help="only write own_data.md and own_data.png")
    args = parser.parse_args()
    manifest = build()
    results = load()
    results["manifest"] = {k: v for k, v in manifest.items() if k != "colour"} | {"colour": manifest["colour"]}
    if not args.report:
        steps = {"accuracy": lambda: accuracy(results), "cost": lambda: cost(results),
                 "audit": lambda: audit(results, manifest), "colour": lambda: colour(results)}
        for name, step in steps.items():
            if args.only in (None, name):
                step()
    save(results)
    from report import write_report

    write_report(results, HERE / "own_data.md", HERE / "own_data.png")


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    main()
