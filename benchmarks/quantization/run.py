"""int8 worth shipping? The named int8 schemes against float32 in onnxruntime and LiteRT (speed,
size, parity), their per-op profiles, quantisation-aware distillation on three data sets, and the
``bench --all-formats`` matrix time. Writes benchmarks/quantization/quantization.{json,md,png} and
benchmarks/quantization/profiles.md.

Models: a resnet20 teacher and a cnn-small student distilled from it on PneumoniaMNIST (given,
or trained briefly here as benchmarks/edge_latency.py trains them), and for the QAT rows one
distilled student per data set (PneumoniaMNIST, BreastMNIST, MNIST with 10 % of the labels),
given as ``--qat-run DATASET=RUN`` or distilled briefly here. Timing: interleaved rounds
(benchmarks/quantization/timing.py), 1 thread. On a quiet machine::

    python benchmarks/quantization/run.py [--teacher T.pt --student S.pt] \\
        [--qat-run pneumoniamnist=RUN --qat-run breastmnist=RUN --qat-run mnist=RUN] [--rounds 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.outputs import write_outputs  # noqa: E402
from benchmarks.provenance import made_how, rel_path  # noqa: E402

from benchmarks.quantization import exports, qat_rows, report, timing  # noqa: E402
from edgekd.benchmarking.machine import machine_info  # noqa: E402
from edgekd.benchmarking.profile import profile_lines, profile_model  # noqa: E402
from edgekd.fileio import atomic_write_text  # noqa: E402
from edgekd.int8_schemes import scheme_names  # noqa: E402

HERE = Path(__file__).resolve().parent
PROFILED = ("none", "int8", "int8-all")


def profiles(files: dict, peak: float, out: Path) -> dict:
    """Batch-1 profiles of float32, int8 and int8-all per model and format; one section each of
    ``out`` (profiles.md)."""
    result, sections = {}, ["# Per-op profiles (batch 1, 1 thread)", ""]
    for key, rec in files.items():
        role, fmt, q = key.split(" ")[:3]
        if q not in PROFILED or rec["dynamic_batch"]:
            continue
        print(f"  profile {key}", flush=True)
        prof = profile_model(rec["path"], "onnxruntime" if fmt == "onnx" else "litert", threads=1, runs=300)
        result[key] = prof
        sections += [f"## {key.replace(' ', '-')}", "", *profile_lines(prof, peak), ""]
    atomic_write_text(out, "\n".join(sections))
    return result


def ratios(timed: dict) -> dict:
    out = {}
    for role in ("student", "teacher"):
        for fmt in ("onnx", "tflite"):
            for q in scheme_names(fmt):
                for b in (1, 32):
                    key, ref = f"{role} {fmt} {q} b{b}", f"{role} {fmt} none b{b}"
                    if key in timed["p50"] and ref in timed["p50"]:
                        out[key] = timing.ratio(timed, key, ref)
    return out


def matrix_time(student: Path, work: Path) -> dict:
    """``bench --all-formats`` on the student, timed end to end (export + benchmark of every cell)."""
    from edgekd.benchmarking.matrix import bench_folder
    from edgekd.exporters.matrix import export_matrix

    t0 = time.perf_counter()
    manifest = export_matrix(student, work / "matrix")
    t1 = time.perf_counter()
    result = bench_folder(work / "matrix", {"threads": 1, "batch": 1, "warmup": 10, "iters": 100, "peak": False})
    seconds = time.perf_counter() - t0
    rows = result["rows"]
    slowest = sorted(manifest["cells"], key=lambda c: -c["seconds"])[:3]
    return {"seconds": seconds, "export_seconds": t1 - t0, "cells": len(rows),
            **{s: sum(r["status"] == s for r in rows) for s in ("ok", "refused", "failed")},
            "why": f"exports take {t1 - t0:.0f} s (slowest cells: "
                   + ", ".join(f"{c['format']} {c['quantize']} {c['head']} {c['seconds']:.0f} s" for c in slowest)
                   + f"), benchmarks {seconds - (t1 - t0):.0f} s, each in a fresh process"}


def qat_part(args: argparse.Namespace, work: Path, teacher: Path) -> dict:
    """The QAT rows: every data set's student, and the PneumoniaMNIST teacher in int8-all ONNX."""
    given = dict(s.split("=", 1) for s in args.qat_run)
    rows, runs = [], {}
    for dataset in qat_rows.DATASETS:
        print(f"qat {dataset}", flush=True)
        run = Path(given[dataset]) if dataset in given else qat_rows.make_run(dataset, work / "qat")
        rows += qat_rows.rows_for(dataset, run, work / "qat" / dataset, args.qat_epochs)
        runs[dataset] = made_how(run / "model.pt")
    print("qat pneumoniamnist teacher (int8-all, onnx)", flush=True)
    rows += qat_rows.rows_for("pneumoniamnist", Path(teacher).parent, work / "qat" / "teacher", args.qat_epochs,
                              ("int8-all",), ("onnx",), model="teacher")
    for rec in runs.values():
        rec["checkpoint"] = Path(rec["checkpoint"]).parent.name + "/" + Path(rec["checkpoint"]).name
    return {"qat": rows, "qat_epochs": args.qat_epochs, "qat_runs": runs}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--teacher", type=Path)
    ap.add_argument("--student", type=Path)
    ap.add_argument("--qat-run", action="append", default=[], metavar="DATASET=RUN",
                    help="a distilled student's run folder per data set (default: distilled briefly here)")
    ap.add_argument("--qat-epochs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=0.5)
    ap.add_argument("--skip-qat", action="store_true")
    ap.add_argument("--skip-matrix", action="store_true")
    ap.add_argument("--work", type=Path, help="folder for exported files (default: a temporary one)")
    ap.add_argument("--out", type=Path, default=HERE / "quantization")
    ap.add_argument("--render", action="store_true", help="only rewrite the .md and .png (and the targets) from "
                    "the existing .json")
    ap.add_argument("--qat-only", action="store_true", help="redo only the QAT rows of the existing .json "
                    "(needs --teacher and --qat-run for every data set)")
    args = ap.parse_args()
    if args.render or args.qat_only:
        import json

        rep = json.loads(args.out.with_suffix(".json").read_text())
        if args.qat_only:
            work = args.work or Path(tempfile.mkdtemp(prefix="edgekd_quant_"))
            rep.update(qat_part(args, work, args.teacher))
        rep["targets"] = report.targets(rep)
        write_outputs(args.out, rep, report.markdown, report.plot)
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="edgekd_quant_"))
    from benchmarks.edge_latency import make_models

    teacher, student = make_models(work, args.teacher, args.student)
    print("exports", flush=True)
    files = {**exports.export_all(student, work / "student", "student"),
             **exports.export_all(teacher, work / "teacher", "teacher")}
    print("peak", flush=True)
    peak = timing.peak()
    print("timing", flush=True)
    timed = timing.rounds(exports.timing_plan(files), args.rounds, args.min_time)
    rep = {"machine": machine_info(), "peak": peak, "timing": timed, "exports": files,
           "latency": {k: timing.summary(timed, k) for k in timed["p50"]}, "ratios": ratios(timed),
           "models": {"student": made_how(student), "teacher": made_how(teacher)}}
    from edgekd.training.checkpoint import load_checkpoint

    rep["models"]["student"]["macs"] = load_checkpoint(student).get("macs")
    print("profiles", flush=True)
    rep["profiles"] = profiles(files, peak["gflops"], args.out.parent / "profiles.md")
    if not args.skip_qat:
        rep.update(qat_part(args, work, teacher))
    if not args.skip_matrix:
        print("matrix", flush=True)
        rep["matrix"] = matrix_time(student, work)
    rep["targets"] = report.targets(rep)
    for rec in rep["models"].values():  # no paths of this machine
        rec["checkpoint"] = rel_path(rec["checkpoint"]) if not Path(rec["checkpoint"]).is_absolute() else \
            Path(rec["checkpoint"]).parent.name + "/" + Path(rec["checkpoint"]).name
    for rec in files.values():
        rec["path"] = Path(rec["path"]).name
    write_outputs(args.out, rep, report.markdown, report.plot)


if __name__ == "__main__":
    main()
