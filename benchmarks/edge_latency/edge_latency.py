"""Edge latency: teacher vs student, fp32 vs int8, with vs without attention head, in PyTorch
eager, onnxruntime and LiteRT, at 1 and 2 threads and batch 1 and 32, each model measured
by edgekd bench in its own child process. Writes benchmarks/edge_latency/edge_latency.{json,md,png}.

Targets: student >= 10x lower p50 than the teacher in the same runtime; exported
student >= 3x faster than the same student in PyTorch eager at batch 1; the attention head
adds <= 10 % to p50; the torch-free bench process of the student <= 100 MB peak RSS; two
repeated runs agree within 10 % on p50. Run it on a quiet machine:

    python benchmarks/edge_latency/edge_latency.py [--teacher T.pt --student S.pt] [--min-time 1.0]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks._lib.provenance import (  # noqa: E402
    describe,
    made_how,
    write_outputs,  # noqa: E402
)
from edgekd.benchmarking.child import measure_in_child
from edgekd.benchmarking.data import load_data, save_shared
from edgekd.benchmarking.machine import machine_info
from edgekd.exporters.exporter import ExportOptions, export

HERE = Path(__file__).resolve().parent
DATASET = "pneumoniamnist"


def make_models(work: Path, teacher: Path | None, student: Path | None) -> tuple[Path, Path]:
    """Briefly trained teacher (resnet20, 3 epochs) and student (cnn-small, `edgekd distill`'s
    default method, 3 epochs), unless given; the report records how each was made (made_how)."""
    from edgekd.distillation.run import DistillConfig, distill
    from edgekd.training.loop import TrainConfig
    from edgekd.training.supervised import train_supervised

    if teacher is None:
        train_supervised("resnet20", DATASET, work / "teacher", TrainConfig(epochs=3, seed=0), quiet=True)
        teacher = work / "teacher" / "model.pt"
    if student is None:
        distill(teacher, "cnn-small", DATASET, work / "student", TrainConfig(epochs=3, seed=0),
                DistillConfig(), quiet=True, figure_images=0)
        student = work / "student" / "model.pt"
    return teacher, student


def artifacts(work: Path, teacher: Path, student: Path) -> dict[str, Path]:
    """name -> file; .pt files run in PyTorch eager through the torch runner."""
    files = {"teacher eager": teacher, "student eager": student}
    plan = [("teacher onnx", teacher, "onnx", "none", "none"), ("student onnx", student, "onnx", "none", "none"),
            ("student onnx int8", student, "onnx", "none", "int8"), ("student onnx +cam head", student, "onnx", "cam", "none"),
            ("student onnx +fma head", student, "onnx", "fma", "none"),
            ("teacher tflite", teacher, "tflite", "none", "none"), ("student tflite", student, "tflite", "none", "none"),
            ("student tflite int8", student, "tflite", "none", "int8"),
            ("student tflite +cam head", student, "tflite", "cam", "none"),
            ("student tflite +fma head", student, "tflite", "fma", "none")]
    for name, ckpt, fmt, head, quant in plan:
        out = work / (name.replace(" ", "_").replace("+", "") + (".onnx" if fmt == "onnx" else ".tflite"))
        export(ckpt, ExportOptions(format=fmt, head=head, quantize=quant, out=out, force=True))
        files[name] = out
    return files


def measure(files: dict[str, Path], shared: dict, threads: int, batch: int, min_time: float, accuracy: bool) -> dict:
    rows = {}
    for name, path in files.items():
        spec = {"model": str(path), "runtime": "auto", "threads": threads, "batch": batch, "warmup": 20,
                "iters": 100, "min_time": min_time, "dataset": DATASET if accuracy else None, "split": "test",
                "shared_data": shared if accuracy else None, "peak": False}
        rec = measure_in_child(spec, timeout=900)
        rows[name] = {k: rec.get(k) for k in ("runtime", "size_bytes", "params", "macs", "load_ms", "first_inference_ms",
                                              "throughput_ips", "rss_peak_mb", "accuracy", "auc")}
        rows[name]["latency"] = rec["latency"]
        print(f"  {name:28s} t{threads} b{batch}: p50 {rec['latency']['p50_ms']:.3f} ms, rss {rec['rss_peak_mb']:.0f} MB")
    return rows


def draw_cost(model: Path, reps: int = 2000) -> float:
    """Median microseconds the host takes to draw a cam head's map for one image (pick the
    predicted class, bilinear resize, min-max: edgekd.runtime.attention), paid only when a
    map is shown, not per inference."""
    import time

    import numpy as np

    from edgekd.runtime.attention import attention_map
    from edgekd.runtime.registry import create_runner

    with create_runner(model, threads=1) as runner:
        c, h, w = runner.metadata["input_size"]
        outputs = runner.run(np.zeros((1, c, h, w), dtype=np.float32))
        times = []
        for _ in range(reps):
            t0 = time.perf_counter_ns()
            attention_map(outputs, runner.metadata)
            times.append(time.perf_counter_ns() - t0)
    return float(np.median(times) / 1e3)


def targets(results: dict) -> dict:
    base = results["t1_b1"]
    p50 = {k: v["latency"]["p50_ms"] for k, v in base.items()}
    out = {}
    for rt, (t, s) in {"eager": ("teacher eager", "student eager"), "onnxruntime": ("teacher onnx", "student onnx"),
                       "litert": ("teacher tflite", "student tflite")}.items():
        out[f"student >= 10x lower p50 than teacher ({rt})"] = (p50[t] / p50[s], p50[t] / p50[s] >= 10)
    for name in ("student onnx", "student tflite"):
        out[f"{name} >= 3x faster than student eager (batch 1)"] = (p50["student eager"] / p50[name],
                                                                   p50["student eager"] / p50[name] >= 3)
    for head in ("cam", "fma"):  # cam: the default exported head (one graph op); fma: the in-graph map
        for fmt in ("onnx", "tflite"):
            extra = p50[f"student {fmt} +{head} head"] / p50[f"student {fmt}"] - 1
            out[f"{head} head adds <= 10 % to p50 ({fmt})"] = (100 * extra, extra <= 0.10)
    for name in ("student onnx", "student tflite"):
        rss = base[name]["rss_peak_mb"]
        out[f"torch-free bench process <= 100 MB peak RSS ({name})"] = (rss, rss <= 100)
    worst = max(abs(results["t1_b1_repeat"][k]["latency"]["p50_ms"] / p50[k] - 1) for k in p50)
    out["two repeated runs agree within 10 % on p50 (worst model)"] = (100 * worst, worst <= 0.10)
    return {k: {"value": round(v, 3), "met": bool(m)} for k, (v, m) in out.items()}


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = ["# Edge latency (this machine)", "",
             f"CPU: {m.get('cpu')} ({m['cores'].get('usable')} usable cores); data {DATASET} test split; "
             f"each model in its own process, {report['min_time']} s of timed runs after 20 warm-up runs. "
             "TFLite files are batch-1: batch 32 runs them image by image. "
             "Generated by benchmarks/edge_latency/edge_latency.py.", ""]
    if report.get("models"):
        lines += [f"Models: teacher {describe(report['models']['teacher'])}; student "
                  f"{describe(report['models']['student'])}.", ""]
    for key, rows in report["results"].items():
        if key == "t1_b1_repeat":
            continue
        lines += [f"## {key.replace('_', ', ').replace('t', 'threads ', 1).replace('b', 'batch ', 1)}", "",
                  "| model | runtime | size KiB | p50 ms | p90 ms | p99 ms | img/s | peak RSS MB | accuracy | AUC |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for name, r in rows.items():
            lat = r["latency"]
            acc = f"{r['accuracy']:.4f}" if r.get("accuracy") is not None else "-"
            auc = f"{r['auc']:.4f}" if r.get("auc") is not None else "-"
            lines.append(f"| {name} | {r['runtime']} | {r['size_bytes'] / 1024:.0f} | {lat['p50_ms']:.3f} | "
                         f"{lat['p90_ms']:.3f} | {lat['p99_ms']:.3f} | {r['throughput_ips']:.0f} | "
                         f"{r['rss_peak_mb']:.0f} | {acc} | {auc} |")
        lines.append("")
    if "cam_draw_us" in report:
        lines += [f"Drawing a cam head's map on the host (numpy: predicted class, bilinear resize, min-max) takes "
                  f"{report['cam_draw_us']:.0f} µs per image, paid only when a map is shown.", ""]
    lines += ["## Targets", "", "| target | value | met |", "|---|---|---|"]
    lines += [f"| {k} | {v['value']} | {'yes' if v['met'] else 'MISSED'} |" for k, v in report["targets"].items()]
    return "\n".join(lines) + "\n"


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    for ax, key in zip(axes, ("t1_b1", "t2_b32")):
        rows = report["results"][key]
        names = list(rows)
        ax.barh(names, [rows[n]["latency"]["p50_ms"] for n in names], color="tab:blue")
        ax.set_xscale("log")
        ax.set_xlabel("p50 latency, ms (log scale)")
        ax.set_title(key.replace("t", "threads ", 1).replace("_b", ", batch "))
        ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--teacher", type=Path)
    parser.add_argument("--student", type=Path)
    parser.add_argument("--min-time", type=float, default=1.0)
    parser.add_argument("--out", type=Path, default=HERE / "edge_latency")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="edgekd_latency_"))
    teacher, student = make_models(work, args.teacher, args.student)
    files = artifacts(work, teacher, student)
    images, labels = load_data(DATASET, "test")
    shared = save_shared(images, labels, work)
    results = {}
    for threads in (1, 2):
        for batch in (1, 32):
            print(f"threads {threads}, batch {batch}")
            results[f"t{threads}_b{batch}"] = measure(files, shared, threads, batch, args.min_time,
                                                      accuracy=(threads, batch) == (1, 1))
    print("repeat: threads 1, batch 1")
    results["t1_b1_repeat"] = measure(files, shared, 1, 1, args.min_time, accuracy=False)
    report = {"machine": machine_info(), "min_time": args.min_time, "results": results,
              "models": {"teacher": made_how(teacher), "student": made_how(student)}}
    report["targets"] = targets(results)
    report["cam_draw_us"] = draw_cost(files["student onnx +cam head"])
    write_outputs(args.out, report, markdown, plot)


if __name__ == "__main__":
    main()
