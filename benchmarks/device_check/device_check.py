"""edgekd's device side (bench, explain, classify.py) run on arm64 and checked against x86.

    python benchmarks/device_check/device_check.py                         # Cortex-A76 (Pi 5), then Cortex-A72 (Pi 4)
    python benchmarks/device_check/device_check.py --cpu cortex-a76 --json /tmp/c.json --md /tmp/c.md
    python benchmarks/device_check/device_check.py --fresh                 # rebuild the cache folder from nothing

Needs root on x86_64 Debian 12 with network to Debian's mirror (the one in the host's apt
sources) and PyPI; no binfmt_misc, and the host's dpkg state is never touched. Steps:

1. x86: students trained, distilled and exported by edgekd's CLI (device_lib/host.py); edgekd
   built as a wheel; the PneumoniaMNIST test split saved as the shared inputs.
2. A Raspberry Pi OS-like (bookworm) arm64 userland in ``benchmarks/_work/arm64/`` (git-ignored),
   run by qemu-user (device_lib/userland.py); ``edgekd[runtime]`` installed into an arm64 venv by
   the emulated python's own pip, aarch64 wheels from PyPI.
3. The same device commands on x86 and, per CPU, under emulation (device_lib/sides.py); outputs
   compared (device_lib/report.py). Exit 1 when any check fails.

Timings under emulation are how long the check took, not how fast a Raspberry Pi is.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.device_check.device_lib import host, report  # noqa: E402
from benchmarks.device_check.device_lib.report import compare_all, compare_commands, problems_of  # noqa: E402
from benchmarks.device_check.device_lib.sides import Side, run_side  # noqa: E402
from benchmarks.device_check.device_lib.userland import (  # noqa: E402
    CPUS,  # noqa: E402
    Userland,
    folder_mb,
)

#: `edgekd explain` draws its overlays with Pillow, so it must work on a [runtime] install; False
#: would record an explain failure instead of failing the check.
EXPLAIN_REQUIRED = True


def say(message: str) -> None:
    print(f"[device-check {time.strftime('%H:%M:%S')}] {message}", flush=True)


def check_cpu(userland: Userland, cpu: str, inputs: dict, ref: dict, out: Path, explain_required: bool) -> dict:
    """Everything on one emulated CPU: cpuinfo, install (first time), the commands, the comparison."""
    start = time.perf_counter()
    userland.set_cpu(cpu)
    if userland.needs_install():
        say(f"{cpu}: installing edgekd[runtime] with the arm64 pip (minutes under emulation)")
    userland.build_venv(inputs["wheel"], cpu)
    say(f"{cpu}: running infer.py, edgekd bench, classify.py, edgekd explain under qemu")
    side = Side(cpu, userland.python, userland.env(cpu, EDGEKD_DATA=str(inputs["data"]), OMP_NUM_THREADS="1"))
    dev = run_side(side, inputs["models"], inputs["images"], inputs["image"], ROOT, host.DATASET, out / cpu)
    models = compare_all(ref["outputs"], dict(np.load(out / cpu / "outputs.npz"))) if not dev["errors"] else []
    result = {
        "cpu": cpu, "board": CPUS[cpu].board,
        "cpuinfo_features": next(line.split(":", 1)[1].strip() for line in
                                 (userland.rootfs / "proc" / "cpuinfo").read_text().splitlines() if line.startswith("Features")),
        "versions": userland.venv_versions(cpu), "venv_mb": round(folder_mb(userland.venv), 1),
        "install": json.loads(userland.install_log.read_text()),
        "seconds": {k: round(v, 1) for k, v in dev["seconds"].items()}, "wall_s": round(time.perf_counter() - start, 1),
        "errors": dev["errors"], "models": models, **compare_commands(ref["record"], dev),
    }
    result["problems"] = problems_of(result, explain_required)
    return {**result, "passed": not result["problems"]}


def report_only(json_path: Path, md_path: Path, runs: Path, explain_required: bool) -> int:
    """Compare the outputs an earlier run saved again and rewrite its report (no emulation)."""
    record = json.loads(json_path.read_text())
    ref = dict(np.load(runs / "x86_64" / "outputs.npz"))
    install = json.loads((runs.parent / "install.json").read_text())
    for cpu in record["cpus"]:
        cpu.pop("install_s", None)  # records written before install.json kept the install time
        cpu["install"] = install
        cpu.setdefault("errors", [p for p in cpu["problems"] if p.startswith(("infer.py:", "edgekd bench:"))])
        cpu["models"] = compare_all(ref, dict(np.load(runs / cpu["cpu"] / "outputs.npz")))
        cpu["problems"] = problems_of(cpu, explain_required)
        cpu["passed"] = not cpu["problems"]
    record.update(explain_required=explain_required, passed=all(c["passed"] for c in record["cpus"]))
    json_path.write_text(json.dumps(record, indent=2) + "\n")
    md_path.write_text(report.markdown(record))
    return 0 if record["passed"] else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", action="append", choices=sorted(CPUS), help="qemu CPU (repeatable; default: both)")
    parser.add_argument("--work", type=Path, default=ROOT / "benchmarks" / "_work" / "arm64", help="cache folder")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data", help="data root (PneumoniaMNIST)")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "device_check" / "device_check.json")
    parser.add_argument("--md", type=Path, default=ROOT / "benchmarks" / "device_check" / "device_check.md")
    parser.add_argument("--fresh", action="store_true", help="delete the cache folder first")
    parser.add_argument("--require-explain", action="store_true", default=EXPLAIN_REQUIRED,
                        help="fail when edgekd explain fails on arm64 (default: record it)")
    parser.add_argument("--report-only", action="store_true",
                        help="compare the outputs saved by the last run again and rewrite --json and --md")
    args = parser.parse_args(argv)
    if args.report_only:
        return report_only(args.json, args.md, args.work / "runs", args.require_explain)
    cpus = args.cpu or ["cortex-a76", "cortex-a72"]
    if not (args.data / "medmnist" / f"{host.DATASET}.npz").is_file():
        print(f"error: {args.data}/medmnist/{host.DATASET}.npz is missing: pass --data with the shared data root",
              file=sys.stderr)
        return 2
    if args.fresh:
        shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    venv = Path(sys.executable).parent
    say("x86: students (edgekd train / distill / export), the edgekd wheel, the inputs")
    models, gates = host.make_students(venv / "edgekd", args.work / "students", args.data)
    images, image = host.write_inputs(args.work / "inputs", args.data)
    userland = Userland(args.work, ROOT)
    wheel = host.build_wheel(Path(sys.executable), ROOT, args.work / "wheel") if userland.needs_install() else None
    inputs = {"models": models, "images": images, "image": image, "data": args.data.resolve(), "wheel": wheel}
    say("arm64 userland: private apt state, dpkg -x, qemu-aarch64-static")
    userland.build_rootfs()
    say("x86: the reference run of the same commands")
    x86 = Side("x86_64", Path(sys.executable), {"PATH": f"{venv}:/usr/bin:/bin", "HOME": str(args.work / "home"),
                                                 "EDGEKD_DATA": str(inputs["data"]), "OMP_NUM_THREADS": "1"})
    ref_record = run_side(x86, models, images, image, ROOT, host.DATASET, args.work / "runs" / "x86_64")
    if ref_record["errors"]:
        print(f"error: the x86 reference run failed: {ref_record['errors'][0]}", file=sys.stderr)
        return 2
    ref = {"record": ref_record, "outputs": dict(np.load(args.work / "runs" / "x86_64" / "outputs.npz"))}
    results = [check_cpu(userland, cpu, inputs, ref, args.work / "runs", args.require_explain) for cpu in cpus]
    record = {
        "note": "Timings under qemu emulation are how long this check took on an x86_64 host; they are not device timings.",
        "host": {"machine": platform.machine(), "cpu": report.host_cpu(), "python": platform.python_version()},
        "qemu": userland.qemu_version(), "dataset": host.DATASET, "n_inputs": int(len(np.load(images)["images"])),
        "students": {m.name: {"bytes": m.stat().st_size, "x86_gate": gates[m.name]} for m in models},
        "explain_required": args.require_explain,
        "x86_versions": report.x86_versions(), "rootfs_mb": round(folder_mb(userland.rootfs), 1),
        "total_s": round(time.perf_counter() - start, 1), "cpus": results, "passed": all(r["passed"] for r in results),
    }
    args.json.write_text(json.dumps(record, indent=2) + "\n")
    args.md.write_text(report.markdown(record))
    for r in results:
        say(f"{r['cpu']}: {'PASS' if r['passed'] else 'FAIL'}" + "".join(f"\n  - {p}" for p in r["problems"]))
    say(f"report: {args.md} and {args.json}")
    return 0 if record["passed"] else 1


def run(argv: list[str] | None = None) -> int:
    """main() with a failed setup step (network, apt, pip, the x86 export) as one ``error:`` line."""
    try:
        return main(argv)
    except (RuntimeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(run())
