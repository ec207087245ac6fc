"""Which student for which latency budget: test accuracy / AUC against exported p50 and file
size for edgekd's student zoo, each trained alone and distilled with `edgekd distill`'s
default recipe, beside a torchvision MobileNetV3-small trained on the same data.
Writes benchmarks/pareto/pareto.{json,md,png}.

Two phases, so the training can run on a busy machine and the timing on a quiet one:

    python benchmarks/pareto/pareto.py --train      # teachers + every student (resumable)
    python benchmarks/pareto/pareto.py --measure    # export (ONNX + TFLite, no head) and time them

Recipe (1 seed, recorded per model in the JSON): a resnet20 teacher, ``--teacher-epochs``;
students ``--epochs`` each, alone (`edgekd train`) and distilled (`edgekd distill` with
its defaults: MIP + KD, live teacher, augmentation on); MNIST on the study's stratified 10 % of its labels
for every model, PneumoniaMNIST on all. Latency: `edgekd bench`'s child process, batch 1,
1 thread, onnxruntime and LiteRT, each model exported without an attention head (the same
graph for every model, so the comparison is the backbone's). Accuracy / AUC: the
checkpoint's test metrics (the exports pass the fp32 parity gate, 1e-4 on the logits).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks._lib.provenance import (  # noqa: E402
    describe,
    made_how,
    write_outputs,  # noqa: E402
)

HERE = Path(__file__).resolve().parent
WORK = HERE.parent / "_work" / "pareto"
ZOO = ("cnn-tiny", "cnn-small", "mobilenetv2", "resnet8", "wrn16-1")
REFERENCE = "tv:mobilenet_v3_small"
DATASETS = {"pneumoniamnist": ("auc", 1.0), "mnist": ("accuracy", 0.1)}  # primary metric, label fraction
BUDGETS_MS = (0.05, 0.2, 1.0)
RUNTIMES = {"onnx": "onnxruntime", "tflite": "LiteRT"}


def runs(dataset: str) -> list[tuple[str, str, str]]:
    """(run name, model, kind) of every student on ``dataset``."""
    out = [(f"{m} alone", m, "alone") for m in ZOO] + [(f"{m} distilled", m, "distilled") for m in ZOO]
    return out + [("MobileNetV3-small (torchvision) alone", REFERENCE, "alone")]


def folder(dataset: str, name: str) -> Path:
    return WORK / dataset / name.replace(" ", "_").replace(":", "-").replace("(", "").replace(")", "")


def train(args: argparse.Namespace) -> None:
    from edgekd.distillation.run import DistillConfig, distill
    from edgekd.training.loop import TrainConfig
    from edgekd.training.supervised import train_supervised

    for dataset in args.datasets:
        fraction = DATASETS[dataset][1]
        teacher = folder(dataset, "teacher")
        if not (teacher / "model.pt").is_file():
            print(f"{dataset}: teacher resnet20", flush=True)
            train_supervised("resnet20", dataset, teacher, TrainConfig(epochs=args.teacher_epochs, seed=0,
                                                                       label_fraction=fraction), force=True, quiet=True)
        for name, model, kind in runs(dataset):
            out = folder(dataset, name)
            if (out / "model.pt").is_file():
                continue
            print(f"{dataset}: {name}", flush=True)
            cfg = TrainConfig(epochs=args.epochs, seed=0, label_fraction=fraction)
            if kind == "alone":
                train_supervised(model, dataset, out, cfg, force=True, quiet=True)
            else:
                distill(teacher / "model.pt", model, dataset, out, cfg, DistillConfig(), force=True, quiet=True,
                        figure_images=0)


def measure(args: argparse.Namespace) -> dict:
    from edgekd.benchmarking.child import measure_in_child
    from edgekd.exporters.exporter import ExportOptions, export
    from edgekd.training.checkpoint import load_checkpoint

    results: dict = {}
    for dataset in args.datasets:
        metric, fraction = DATASETS[dataset]
        rows = {}
        for name, model, kind in runs(dataset):
            ckpt = folder(dataset, name) / "model.pt"
            content = load_checkpoint(ckpt)
            test = json.loads((ckpt.parent / "test.json").read_text())["test"]
            row = {"model": model, "kind": kind, "made": made_how(ckpt), "params": content.get("params"),
                   "accuracy": test.get("accuracy"), "auc": test.get("auc"), "label_fraction": fraction}
            for fmt, runtime in RUNTIMES.items():
                out = ckpt.with_name(f"model.{fmt}")
                try:
                    export(ckpt, ExportOptions(format=fmt, head="none", out=out, force=True))
                    rec = measure_in_child({"model": str(out), "runtime": "auto", "threads": 1, "batch": 1,
                                            "warmup": 20, "iters": 100, "min_time": args.min_time, "peak": False})
                    row[runtime] = {"p50_ms": rec["latency"]["p50_ms"], "size_bytes": rec["size_bytes"]}
                except Exception as exc:  # a model a runtime cannot take is a finding, not a crash
                    row[runtime] = {"error": str(exc).splitlines()[0]}
                print(f"  {dataset} {name} {runtime}: {row[runtime]}", flush=True)
            row["made"]["checkpoint"] = str(ckpt.relative_to(HERE.parents[1]))
            rows[name] = row
        t_ckpt = folder(dataset, "teacher") / "model.pt"
        teacher = {**made_how(t_ckpt), "checkpoint": str(t_ckpt.relative_to(HERE.parents[1])),
                   "accuracy": json.loads((t_ckpt.parent / "test.json").read_text())["test"]["accuracy"]}
        results[dataset] = {"metric": metric, "teacher": teacher, "rows": rows, "picks": picks(rows, metric)}
    return results


def picks(rows: dict, metric: str) -> dict:
    """Per budget and runtime: the run with the best ``metric`` whose p50 fits the budget."""
    out = {}
    for runtime in RUNTIMES.values():
        for budget in BUDGETS_MS:
            fits = [(r[metric], n) for n, r in rows.items()
                    if r.get(runtime, {}).get("p50_ms") is not None and r[runtime]["p50_ms"] <= budget]
            out[f"{runtime} <= {budget:g} ms"] = max(fits)[1] if fits else None
    return out


def markdown(report: dict) -> str:
    lines = ["# Accuracy against latency: which student for which budget (this machine)", "",
             f"CPU: {report['machine'].get('cpu')}; batch 1, 1 thread, each model in its own process "
             "(`edgekd bench`'s child), exported without an attention head. One seed; recipe per model in "
             "pareto.json. Generated by benchmarks/pareto/pareto.py.", ""]
    for dataset, res in report["results"].items():
        metric = res["metric"]
        teacher = res.get("teacher")
        lines += [f"## {dataset} (primary metric: {metric})", "",
                  f"Teacher: {describe(teacher)}, test accuracy {teacher['accuracy']:.4f}." if teacher else "", "",
                  "| model | params | epochs | test acc | test AUC | onnxruntime p50 ms | LiteRT p50 ms | ONNX KiB |",
                  "|---|---|---|---|---|---|---|---|"]
        for name, r in res["rows"].items():
            ort, lite = r.get("onnxruntime", {}), r.get("LiteRT", {})
            cell = lambda d: f"{d['p50_ms']:.3f}" if "p50_ms" in d else "failed"  # noqa: E731
            auc = f"{r['auc']:.4f}" if r.get("auc") is not None else "-"
            size = f"{ort['size_bytes'] / 1024:.0f}" if "size_bytes" in ort else "-"
            lines.append(f"| {name} | {r['params']:,} | {r['made']['epochs']} | {r['accuracy']:.4f} | {auc} | "
                         f"{cell(ort)} | {cell(lite)} | "
                         f"{size} |")
        lines += ["", "Best " + metric + " within a latency budget:", ""]
        lines += [f"- {budget}: {pick or 'none fits'}" for budget, pick in res["picks"].items()]
        lines.append("")
    return "\n".join(lines)


def plot(report: dict, path: Path) -> None:
    from edgekd.plotting import pyplot

    plt = pyplot()
    fig, axes = plt.subplots(1, len(report["results"]), figsize=(6.5 * len(report["results"]), 5), squeeze=False)
    for ax, (dataset, res) in zip(axes[0], report["results"].items()):
        metric = res["metric"]
        for name, r in res["rows"].items():
            p50 = r.get("onnxruntime", {}).get("p50_ms")
            if p50 is None:
                continue
            marker = {"alone": "o", "distilled": "*"}[r["kind"]] if not r["model"].startswith("tv:") else "s"
            ax.scatter(p50, r[metric], marker=marker, s=60 if marker != "*" else 120)
            ax.annotate(name.replace(" (torchvision)", ""), (p50, r[metric]), fontsize=7, xytext=(4, 2),
                        textcoords="offset points")
        for budget in BUDGETS_MS:
            ax.axvline(budget, color="grey", lw=0.6, ls="--")
        ax.set_xscale("log")
        ax.set_xlabel("onnxruntime p50, ms (batch 1, 1 thread; log)")
        ax.set_ylabel(f"test {metric}")
        ax.set_title(f"{dataset}: o alone, * distilled, square torchvision")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", action="store_true", help="train teachers and students (resumable)")
    parser.add_argument("--measure", action="store_true", help="export and time them; write the report")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--teacher-epochs", type=int, default=10)
    parser.add_argument("--min-time", type=float, default=0.5)
    parser.add_argument("--datasets", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    parser.add_argument("--out", type=Path, default=HERE / "pareto")
    args = parser.parse_args()
    if not (args.train or args.measure):
        parser.error("give --train, --measure or both")
    if args.train:
        train(args)
    if args.measure:
        from edgekd.benchmarking.machine import machine_info

        report = {"machine": machine_info(), "results": measure(args)}  # epochs per model: rows' "made"
        write_outputs(args.out, report, markdown, plot)


if __name__ == "__main__":
    main()
