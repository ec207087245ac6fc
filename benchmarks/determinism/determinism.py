"""What ``--deterministic`` costs: one distillation epoch with torch's deterministic
algorithms on and off (``edgekd distill --deterministic`` / ``--no-deterministic``).

A teacher is trained quickly with the CLI (or given with ``--teacher``); then each
repetition runs one epoch of ``edgekd distill`` (the default method, a cnn-small student,
``--threads 1``) once in each mode, in a fresh process each time and in alternating order
(deterministic first on even repetitions, last on odd ones), so drift in the machine's load
falls on both modes alike. The epoch time is the run's own ``time_s`` for epoch 1 (training
plus validation; process start-up, data loading and the final test are not counted).
Reported: the median epoch per mode, their ratio, the median of the per-repetition ratios,
and whether the runs of each mode gave identical metrics. Writes benchmarks/determinism/determinism.json
and .md. Timing wants a quiet machine.

    python benchmarks/determinism/determinism.py [--reps 7] [--dataset pneumoniamnist] [--teacher model.pt]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MODES = {"deterministic": "--deterministic", "non-deterministic": "--no-deterministic"}


def edgekd(*args: str) -> float:
    """Run one edgekd command in a fresh process; its CPU seconds (user + system). Stops
    with the command's message when it fails."""
    cmd = [sys.executable, "-m", "edgekd.cli.app", *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr[-2000:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def one_epoch(teacher: Path, dataset: str, student: str, threads: int, mode: str, out: Path) -> dict:
    """One distillation epoch in ``mode``: its wall time, the whole process's CPU time, and
    the validation metrics."""
    cpu_s = edgekd("distill", "--teacher", str(teacher), "--dataset", dataset, "--student", student, "--epochs", "1",
           "--threads", str(threads), MODES[mode], "--out", str(out), "--force", "--quiet")
    epoch = json.loads((out / "metrics.json").read_text())["epochs"][0]
    return {"time_s": epoch["time_s"], "process_cpu_s": cpu_s, "val": epoch["val"], "train_loss": epoch["train_loss"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7, help="repetitions of each mode (interleaved)")
    parser.add_argument("--dataset", default="pneumoniamnist")
    parser.add_argument("--student", default="cnn-small")
    parser.add_argument("--teacher", type=Path, help="a teacher checkpoint (default: train one for the run)")
    parser.add_argument("--teacher-model", default="resnet20")
    parser.add_argument("--teacher-epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, default=HERE / "determinism.json")
    parser.add_argument("--md", type=Path, default=HERE / "determinism.md")
    args = parser.parse_args()
    if args.reps < 1:
        parser.error("--reps must be at least 1")

    load_before = os.getloadavg()
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="edgekd-determinism-") as tmp:
        work = Path(tmp)
        teacher = args.teacher
        if teacher is None:
            teacher = work / "teacher" / "model.pt"
            print(f"training a {args.teacher_model} teacher ({args.teacher_epochs} epochs)...", file=sys.stderr)
            edgekd("train", "--model", args.teacher_model, "--dataset", args.dataset, "--epochs",
                   str(args.teacher_epochs), "--threads", str(args.threads), "--out", str(teacher.parent), "--quiet")
        runs: dict[str, list[dict]] = {mode: [] for mode in MODES}
        for rep in range(args.reps):
            order = list(MODES) if rep % 2 == 0 else list(reversed(MODES))
            for mode in order:
                result = one_epoch(teacher, args.dataset, args.student, args.threads, mode, work / mode)
                runs[mode].append(result)
                print(f"rep {rep + 1}/{args.reps} {mode}: epoch {result['time_s']:.2f} s, process CPU "
                      f"{result['process_cpu_s']:.2f} s", file=sys.stderr)

    import torch

    medians = {mode: statistics.median(r["time_s"] for r in rs) for mode, rs in runs.items()}
    paired = [d["time_s"] / n["time_s"] for d, n in zip(runs["deterministic"], runs["non-deterministic"])]
    cpu = {mode: statistics.median(r["process_cpu_s"] for r in rs) for mode, rs in runs.items()}
    cpu_paired = [d["process_cpu_s"] - n["process_cpu_s"] for d, n in zip(runs["deterministic"], runs["non-deterministic"])]
    identical = {mode: all(r["val"] == rs[0]["val"] and r["train_loss"] == rs[0]["train_loss"] for r in rs)
                 for mode, rs in runs.items()}
    report = {
        "what": f"one edgekd distill epoch ({args.student} student, default method, {args.threads} thread(s)) on "
                f"{args.dataset}, --deterministic vs --no-deterministic, fresh process per run, interleaved",
        "teacher": str(args.teacher) if args.teacher else f"{args.teacher_model}, {args.teacher_epochs} epochs",
        "reps": args.reps, "median_epoch_s": medians,
        "ratio_of_medians": medians["deterministic"] / medians["non-deterministic"],
        "median_paired_ratio": statistics.median(paired), "paired_ratios": paired,
        "identical_metrics_across_reps": identical,
        "deterministic_equals_non_deterministic": runs["deterministic"][0]["val"] == runs["non-deterministic"][0]["val"],
        "median_process_cpu_s": cpu, "median_paired_cpu_difference_s": statistics.median(cpu_paired),
        "process_cpu_s": {mode: [r["process_cpu_s"] for r in rs] for mode, rs in runs.items()},
        "epoch_s": {mode: [r["time_s"] for r in rs] for mode, rs in runs.items()},
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(),
                    "torch": torch.__version__, "python": platform.python_version(),
                    "load_average_before": load_before, "load_average_after": os.getloadavg()},
        "wall_s": time.time() - started,
    }
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    args.md.write_text(markdown(report))
    print(f"deterministic / non-deterministic epoch: {report['ratio_of_medians']:.3f}x "
          f"(median paired {report['median_paired_ratio']:.3f}x) -> {args.md}", file=sys.stderr)


def markdown(r: dict) -> str:
    m = r["machine"]
    det, non = r["median_epoch_s"]["deterministic"], r["median_epoch_s"]["non-deterministic"]
    rows = "\n".join(f"| {mode} | {r['median_epoch_s'][mode]:.2f} | {', '.join(f'{t:.2f}' for t in times)} | "
                     f"{r['median_process_cpu_s'][mode]:.2f} | {'yes' if r['identical_metrics_across_reps'][mode] else 'no'} |"
                     for mode, times in r["epoch_s"].items())
    cpu_diff, epoch_cpu = r["median_paired_cpu_difference_s"], r["median_process_cpu_s"]["non-deterministic"]
    return f"""# What `--deterministic` costs

`python benchmarks/determinism/determinism.py --reps {r['reps']}`: {r['what']}. Teacher: {r['teacher']}.
Epoch time is the run's own epoch 1 (training and validation).

| mode | median epoch (s) | each repetition (s) | median process CPU (s) | same metrics in every repetition |
|---|---|---|---|---|
{rows}

**Deterministic / non-deterministic: {det / non:.3f}x** (ratio of the medians; median of the
{r['reps']} paired ratios {r['median_paired_ratio']:.3f}x, range {min(r['paired_ratios']):.3f}-{max(r['paired_ratios']):.3f}x).
CPU time, which a busy machine disturbs less than wall time (one thread): the deterministic
process used a median {cpu_diff:+.2f} s more CPU than its non-deterministic pair, with the
same start-up, data loading and final test around the one epoch (non-deterministic process:
{epoch_cpu:.2f} s CPU in all). Deterministic and non-deterministic runs gave
{'the same' if r['deterministic_equals_non_deterministic'] else 'different'} validation metrics.

Machine: {m['platform']}, {m['cpus']} CPUs, torch {m['torch']}, Python {m['python']}; load average
before {', '.join(f'{x:.2f}' for x in m['load_average_before'])}, after
{', '.join(f'{x:.2f}' for x in m['load_average_after'])}. **Caveat:** this machine is shared with other
engineers' jobs and may have been busy while measuring (see the load averages); the numbers are a
first reading, to be rerun on a quiet machine (`--reps N` for more repetitions). Wall time {r['wall_s']:.0f} s.
"""


if __name__ == "__main__":
    main()
