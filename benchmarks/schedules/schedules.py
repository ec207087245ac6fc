"""Patient schedules: test AUC / accuracy of a distilled student against the
length of its schedule (10 -> 300 epochs), for KD and edgekd's default (MIP + KD), with
consistent augmentation read from the K-view teacher cache; and the schedule validation
picks per data-set size. Writes benchmarks/schedules/schedules.{json,md,png}.

    OMP_NUM_THREADS=1 python benchmarks/schedules/schedules.py [--teacher pneumoniamnist=PATH ...]
    python benchmarks/schedules/schedules.py --from-json   # rebuild .md and .png from schedules.json

Recipe (recorded per run in the JSON): each run is one ``edgekd distill`` with its defaults
(augmentation on: shifts of 2 px, K = 8 cached views, cosine schedule over the run's own
epochs, SGD lr 0.05, batch 128 except BreastMNIST's 32, best epoch on validation) and only
``--epochs`` and ``--method`` changed. The student is the one the study's second recipe targets per data
set (cnn-small on the medical sets, cnn-tiny on MNIST's 10 % subsample). Teachers: ResNet-20
trained by this script (recipes in TEACHERS) unless ``--teacher DATASET=model.pt`` names one;
its own recipe is read back from the checkpoint either way. Runs finished in ``--work`` are
kept, so the script resumes; the report is rewritten after every run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks._lib.provenance import (  # noqa: E402
    made_how,
    rel_path,
    write_outputs,  # noqa: E402
)

HERE = Path(__file__).resolve().parent
EPOCHS = (10, 30, 100, 300)
METHODS = {"kd": "KD", "mip": "MIP + KD (default)"}
# data set -> (student, batch, label fraction, primary metric, teacher TrainConfig overrides)
DATASETS = {
    "breastmnist": ("cnn-small", 32, 1.0, "auc", {"epochs": 60, "batch_size": 32, "lr": 0.05}),
    "pneumoniamnist": ("cnn-small", 128, 1.0, "auc", {"epochs": 10}),
    "mnist": ("cnn-tiny", 128, 0.1, "accuracy", {"epochs": 10}),
}


def teacher_for(ds: str, work: Path, given: dict[str, Path]) -> Path:
    """The teacher checkpoint of ``ds``: the given one, else a ResNet-20 trained here once."""
    from edgekd.training.loop import TrainConfig
    from edgekd.training.supervised import train_supervised

    if ds in given:
        return given[ds]
    out = work / ds / "teacher"
    if not (out / "model.pt").is_file():
        _, _, fraction, _, recipe = DATASETS[ds]
        print(f"{ds}: teacher resnet20 {recipe}", flush=True)
        train_supervised("resnet20", ds, out, TrainConfig(seed=0, label_fraction=fraction, **recipe),
                         force=True, quiet=True)
    return out / "model.pt"


def run_one(ds: str, method: str, epochs: int, seed: int, teacher: Path, work: Path) -> dict:
    """One distillation (kept if finished); its validation / test metrics and wall time."""
    from edgekd.distillation.run import DistillConfig, distill
    from edgekd.training.loop import TrainConfig

    student, batch, fraction, _, _ = DATASETS[ds]
    out = work / ds / f"{method}-e{epochs}-s{seed}"
    timing = out / "wall.json"
    if not (out / "test.json").is_file():
        print(f"{ds}: {student} {method} {epochs} epochs seed {seed}", flush=True)
        start = time.perf_counter()
        distill(teacher, student, ds, out, TrainConfig(epochs=epochs, batch_size=batch, seed=seed,
                                                        label_fraction=fraction),
                DistillConfig(method=method), teacher_cache=work / ds / f"cache-s{seed}", force=True, quiet=True,
                figure_images=0)
        timing.write_text(json.dumps({"seconds": time.perf_counter() - start}))
    metrics = json.loads((out / "metrics.json").read_text())
    test = json.loads((out / "test.json").read_text())
    return {"method": method, "epochs": epochs, "seed": seed, "made": made_how(out / "model.pt"),
            "best_epoch": metrics["best"]["epoch"], "val": metrics["best"]["val"], "test": test["test"],
            "seconds": json.loads(timing.read_text())["seconds"] if timing.is_file() else None,
            "n_train": _n_train(out / "model.pt", fraction)}


def _n_train(checkpoint: Path, fraction: float) -> int:
    """Training images the run used (the split's size times the label fraction, as sampled)."""
    from edgekd.training.checkpoint import load_checkpoint

    return round(load_checkpoint(checkpoint)["data"]["splits"]["train"] * fraction)


def picks(rows: list[dict], metric: str) -> dict:
    """Per method: the schedule with the best mean validation ``metric`` over seeds."""
    out = {}
    for method in METHODS:
        by_epochs: dict[int, list[float]] = {}
        for r in rows:
            if r["method"] == method:
                by_epochs.setdefault(r["epochs"], []).append(r["val"][metric])
        if by_epochs:
            best = max(by_epochs, key=lambda e: (sum(by_epochs[e]) / len(by_epochs[e]), -e))
            out[method] = {"epochs": best, "val": sum(by_epochs[best]) / len(by_epochs[best])}
    return out


def paired_longer(rows: list[dict], metric: str) -> list[dict]:
    """Per method and each pair of consecutive schedule lengths run with >= 2 common seeds: the
    longer minus the shorter, paired by seed (test and validation ``metric``, 95 % t-interval)."""
    from benchmarks.study.lib.stats import paired

    out = []
    for method in METHODS:
        by = {(r["epochs"], r["seed"]): r for r in rows if r["method"] == method}
        lengths = sorted({e for e, _ in by})
        for short, long in zip(lengths, lengths[1:]):
            seeds = sorted(s for e, s in by if e == long and (short, s) in by)
            if len(seeds) < 2:
                continue
            diff = {split: paired([by[long, s][split][metric] for s in seeds], [by[short, s][split][metric]
                                                                                  for s in seeds])
                    for split in ("test", "val")}
            out.append({"method": method, "shorter": short, "longer": long, "seeds": seeds, **diff})
    return out


def markdown(report: dict) -> str:
    lines = ["# Patient schedules: test metric against schedule length", "",
             "Generated by `benchmarks/schedules/schedules.py`. Each row is one `edgekd distill` with its defaults (augmentation "
             "on, K = 8 cached teacher views, cosine over the run's epochs, best epoch on validation); only `--epochs` "
             f"and `--method` change. {report['threads']} thread(s) per run; seeds listed per row.", ""]
    for ds, d in report["datasets"].items():
        m = d["metric"]
        lines += [f"## {ds} ({d['student']}, {d['n_train']} training images, primary metric {m})", "",
                  f"Teacher: {d['teacher']['model']} ({d['teacher']['epochs']} epochs), test accuracy "
                  f"{d['teacher']['test']['accuracy']:.4f}, AUC {d['teacher']['test']['auc']:.4f}.", "",
                  "| method | epochs | seed | best epoch | val " + m + " | test accuracy | test AUC | wall s |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in sorted(d["rows"], key=lambda r: (r["method"], r["epochs"], r["seed"])):
            wall = f"{r['seconds']:.0f}" if r["seconds"] is not None else "-"
            lines.append(f"| {METHODS[r['method']]} | {r['epochs']} | {r['seed']} | {r['best_epoch']} | "
                         f"{r['val'][m]:.4f} | {r['test']['accuracy']:.4f} | {r['test']['auc']:.4f} | {wall} |")
        lines += ["", "Validation picks: " + "; ".join(f"{METHODS[k]} {v['epochs']} epochs (val {m} {v['val']:.4f})"
                                                      for k, v in d["picks"].items())]
        for p in d.get("paired", []):
            t, v = p["test"], p["val"]
            lines.append(f"Paired over seeds {', '.join(map(str, p['seeds']))}, {METHODS[p['method']]} {p['longer']} − "
                         f"{p['shorter']} epochs: test {m} {t['mean']:+.4f} [{t['ci'][0]:+.4f}, {t['ci'][1]:+.4f}] "
                         f"({t['wins']}/{t['n']} seeds up), val {m} {v['mean']:+.4f} [{v['ci'][0]:+.4f}, "
                         f"{v['ci'][1]:+.4f}].")
        missing = sorted(set(report["planned_epochs"]) - {r["epochs"] for r in d["rows"]})
        if missing:
            lines.append(f"Not run: {', '.join(map(str, missing))} epochs.")
        lines.append("")
    return "\n".join(lines) + "\n"


def plot(report: dict, path: Path) -> None:
    from edgekd.plotting import pyplot

    plt = pyplot()
    names = list(report["datasets"])
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.4), squeeze=False)
    for ax, ds in zip(axes[0], names):
        d = report["datasets"][ds]
        m = d["metric"]
        for method, label in METHODS.items():
            pts: dict[int, list[float]] = {}
            for r in d["rows"]:
                if r["method"] == method:
                    pts.setdefault(r["epochs"], []).append(r["test"][m])
            xs = sorted(pts)
            if xs:
                ax.plot(xs, [sum(pts[x]) / len(pts[x]) for x in xs], marker="o", label=label)
        ax.axhline(d["teacher"]["test"][m], color="grey", ls="--", lw=1, label="teacher")
        ax.set_xscale("log")
        ax.set_xlabel("epochs (cosine schedule length)")
        ax.set_ylabel(f"test {m}")
        ax.set_title(f"{ds} ({d['student']})", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    import os

    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--epochs", nargs="+", type=int, default=list(EPOCHS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--teacher", action="append", default=[], metavar="DATASET=PATH")
    parser.add_argument("--work", type=Path, default=HERE.parent / "_work" / "schedules")
    parser.add_argument("--report-only", action="store_true", help="Rewrite the report from the finished runs "
                        "(nothing is trained; planned runs that did not finish are listed as not run).")
    parser.add_argument("--from-json", action="store_true", help="Rewrite schedules.md and .png from the committed "
                        "schedules.json alone (its rows are the runs' records; nothing is read from --work).")
    args = parser.parse_args()
    if args.from_json:
        write_outputs(HERE / "schedules", json.loads((HERE / "schedules.json").read_text()), markdown, plot)
        return
    os.environ.setdefault("EDGEKD_DATA", str(HERE.parents[2] / "shared" / "data"))
    given = {k: Path(v) for k, v in (t.split("=", 1) for t in args.teacher)}
    import torch

    report: dict = {"threads": torch.get_num_threads(), "planned_epochs": sorted(args.epochs), "datasets": {}}
    for epochs in sorted(args.epochs):  # every data set's short runs first: a partial report is still a curve
        for ds in args.datasets:
            teacher = teacher_for(ds, args.work, given)
            student, _, _, metric, _ = DATASETS[ds]
            made = made_how(teacher)
            t_test = json.loads((teacher.parent / "test.json").read_text())["test"]
            d = report["datasets"].setdefault(ds, {"student": student, "metric": metric, "rows": [],
                                                   "teacher": {**made, "checkpoint": rel_path(teacher), "test": t_test}})
            for seed in args.seeds:
                for method in METHODS:
                    if args.report_only and not (args.work / ds / f"{method}-e{epochs}-s{seed}" / "test.json").is_file():
                        continue
                    row = run_one(ds, method, epochs, seed, teacher, args.work)
                    row["made"]["checkpoint"] = rel_path(row["made"]["checkpoint"])
                    d["rows"].append(row)
                    d["n_train"] = row["n_train"]
                    d["picks"] = picks(d["rows"], metric)
                    d["paired"] = paired_longer(d["rows"], metric)
                    write_outputs(HERE / "schedules", report, markdown, plot)


if __name__ == "__main__":
    main()
