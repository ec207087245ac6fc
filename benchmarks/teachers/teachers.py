"""Which teacher to distill from: teacher architectures x data sets x draws, and the student each yields.

Every teacher is made by ``edgekd train --model ARCH --dataset DS --seed DRAW`` with its defaults
(30 epochs, cosine, 2-px shifts, selection on validation, temperature + the 0.5 operating point),
every student by ``edgekd distill --teacher T --seed S`` with its defaults (cnn-small, MIP + KD,
``--epochs auto``) plus a teacher cache; the same-recipe student alone is distill's own
``--baseline`` (method none, the same seed and augmented views), trained once per data set and
seed. One thread per run. ``GRID`` below is the plan; ``benchmarks/teachers/teachers.md`` says
which part of it ran.

    python benchmarks/teachers/teachers.py --run RUNS            # train the grid into RUNS (hours)
    python benchmarks/teachers/teachers.py --collect RUNS [--also DIR]
    python benchmarks/teachers/teachers.py                       # tables and plot from the records

``--collect`` reads every finished run folder (checkpoints, test.json, metrics.json) into
``records.jsonl.gz`` (one line per model: figures recomputed from the checkpoint on the test
split with edgekd's decision rule, cost, provenance); ``--also`` adds run folders of the
decisions benchmark (``<ds>/teacher<T>`` and ``<ds>/teacher<T>-student<S>``, resnet20). Records
of models not in the folders read are kept, so a grid can be finished on another machine; a
model read again replaces its record.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import os
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks._lib.provenance import made_how, rel_path, run_once, write_outputs  # noqa: E402
from benchmarks.study.lib.stats import delta_text, mean_sd, ms_text, paired  # noqa: E402
from edgekd.fileio import atomic_write_bytes  # noqa: E402

HERE = Path(__file__).resolve().parent
RUN_NAME = re.compile(r"(.+)-t(\d+)(?:-s(\d+))?")  # <arch>-t<draw> (teacher), <arch>-t<draw>-s<seed> (student)
ALONE_NAME = re.compile(r"alone-s(\d+)")
DECISIONS_NAME = re.compile(r"teacher(\d+)(?:-student(\d+))?")  # the decisions benchmark's run folders
RECORDS = HERE / "records.jsonl.gz"
#: group -> (data set, label fraction, student seeds); MNIST at 10 % of its labels
GROUPS = {"breastmnist": ("breastmnist", 1.0, (0, 1)), "pneumoniamnist": ("pneumoniamnist", 1.0, (0, 1, 2)),
          "mnist10": ("mnist", 0.1, (0,))}
#: teacher recipes beside the default, as run-folder groups: (the group they join, row label, extra train options);
#: their students are compared with that group's student alone (distill has no label smoothing by default)
VARIANTS = {"breastmnist-ls": ("breastmnist", "label smoothing 0.1", ["--label-smoothing", "0.1"]),
            "breastmnist-auto": ("breastmnist", "--epochs auto (300)", ["--epochs", "auto"])}
ARCHS = ("resnet20", "resnet56", "wrn16-2", "resnet18")
#: (group, teacher architecture, draw), cheapest and most telling first
GRID = [(g, a, t) for g in GROUPS for a in ARCHS for t in (0, 1)] + [(v, "resnet20", t) for v in VARIANTS for t in (0, 1)]


def base_group(group: str) -> str:
    return VARIANTS[group][0] if group in VARIANTS else group


def run(runs: Path) -> None:
    """Train the grid into ``runs`` (skipping finished runs): teacher, then its students; the
    first teacher of a group also trains the student alone (``--baseline on``)."""
    edgekd = os.environ.get("EDGEKD", "edgekd")
    for group, arch, draw in GRID:
        ds, fraction, seeds = GROUPS[base_group(group)]
        common = ["--label-fraction", str(fraction)] if fraction < 1 else []
        teacher = runs / group / f"{arch}-t{draw}"
        run_once(teacher, [edgekd, "train", "--model", arch, "--dataset", ds, "--seed", str(draw), *common,
                        *(VARIANTS[group][2] if group in VARIANTS else [])])
        for seed in seeds:
            first = arch == ARCHS[0] and draw == 0 and group in GROUPS
            run_once(runs / group / f"{arch}-t{draw}-s{seed}",
                  [edgekd, "distill", "--teacher", str(teacher / "model.pt"), "--seed", str(seed), *common,
                   "--baseline", "on" if first else "off",
                   "--teacher-cache", str(runs / "cache" / f"{group}-{arch}-t{draw}-s{seed}")])


# ----------------------------------------------------------------------------- collect

def collect(runs: Path, also: Path | None) -> None:
    """One record per finished model under ``runs`` (and the decisions runs in ``also``)."""
    import torch

    torch.set_num_threads(1)
    found = []  # (group, role, arch, draw, seed, folder, run root)
    for group in [*GROUPS, *VARIANTS]:
        for folder in sorted(f for f in (runs / group).glob("*") if f.is_dir()):
            teacher, alone = RUN_NAME.fullmatch(folder.name), ALONE_NAME.fullmatch(folder.name)
            if alone:  # the student alone trained directly (distill --method none: what --baseline runs)
                found.append((group, "alone", "-", None, int(alone[1]), folder, runs))
            if not teacher:
                continue
            arch, draw, seed = teacher[1], int(teacher[2]), teacher[3] and int(teacher[3])
            found.append((group, "student" if seed is not None else "teacher", arch, draw, seed, folder, runs))
            if (folder / "baseline" / "test.json").is_file():
                found.append((group, "alone", "-", None, seed, folder / "baseline", runs))
    for folder in sorted(also.glob("pneumoniamnist/teacher*")) if also else []:
        if m := DECISIONS_NAME.fullmatch(folder.name):
            found.append(("pneumoniamnist", "student" if m[2] else "teacher", "resnet20", int(m[1]),
                          m[2] and int(m[2]), folder, also))
    lines = [_record(*f) for f in found if (f[-2] / "test.json").is_file()]
    merged = merge(read_records() if RECORDS.is_file() else [], lines)
    text = "".join(json.dumps(line, sort_keys=True) + "\n" for line in merged)
    atomic_write_bytes(RECORDS, gzip.compress(text.encode("utf-8"), mtime=0))  # no time stamp: same records, same bytes
    print(f"wrote {rel_path(RECORDS)} ({len(lines)} models read, {len(merged) - len(lines)} earlier records kept)")


def merge(earlier: list[dict], fresh: list[dict]) -> list[dict]:
    """The records after a collect: a model read again replaces its earlier line in place, models
    not read keep theirs (their run folders may be on another machine), new models come last."""
    by_model = {_identity(r): r for r in fresh}
    return [by_model.pop(_identity(r), r) for r in earlier] + list(by_model.values())


def _identity(record: dict) -> tuple:
    """Which model a record is."""
    return record["group"], record["role"], record["arch"], record["draw"], record["seed"]


@functools.cache
def _data(ds: str):
    """A data set's facts, its splits and its training prior, read once for every model of it."""
    from edgekd.data.registry import get_source, load_split

    source = get_source(ds)
    splits = {s: load_split(ds, s, None, source=source) for s in ("train", "val", "test")}
    y = {s: d.labels.reshape(-1) for s, d in splits.items()}
    prior = np.bincount(y["train"], minlength=source.info.num_classes)  # a stratified label fraction keeps these
    return source.info, splits, y, prior


def _record(group: str, role: str, arch: str, draw: int | None, seed: int | None, folder: Path, root: Path) -> dict:
    """The test figures of one model, recomputed from its checkpoint with edgekd's default decision
    rule fitted on validation (so runs made before rules were stored read the same), and its cost."""
    from edgekd.data.registry import positive_class
    from edgekd.decision.fit import DEFAULT_RULE, fit_decision_rule, rule_figures
    from edgekd.metrics import auc, softmax
    from edgekd.training.batches import TensorSplit
    from edgekd.training.checkpoint import build_model, load_checkpoint
    from edgekd.training.evaluate import predict_logits

    ds, fraction, _ = GROUPS[base_group(group)]
    content = load_checkpoint(folder / "model.pt")
    info, splits, y, prior = _data(ds)
    model = build_model(content)
    z = {s: predict_logits(model, TensorSplit.from_split(splits[s], info)) for s in ("val", "test")}
    names = list(info.class_names)
    rule = fit_decision_rule(y["val"], z["val"], names, prior, DEFAULT_RULE, "temperature",
                             positive_class=positive_class(ds, names))
    test = rule_figures(rule, y["test"], z["test"]).to_dict()
    metrics = json.loads((folder / "metrics.json").read_text())
    times = sorted(e["time_s"] for e in metrics["epochs"])
    made = made_how(folder / "model.pt")
    made["checkpoint"] = str(folder.relative_to(root) / "model.pt")  # relative to the run root
    return {"group": group, "dataset": ds, "label_fraction": fraction, "role": role, "arch": made["model"] if
            role == "teacher" else arch, "draw": draw, "seed": seed, "made": made,
            "label_smoothing": (content.get("config") or {}).get("label_smoothing", 0.0),
            "params": content.get("params"), "macs": content.get("macs"), "epochs": len(times),
            "epoch_s_median": times[len(times) // 2], "val_auc_at_best": content["best"]["val"].get("auc"),
            "test": {"accuracy": test["accuracy"], "accuracy_at_half": test["accuracy_at_half"],
                     "balanced_accuracy": test["balanced_accuracy"], "ece_before": test["ece_before"],
                     "ece_after": test["ece_after"], "nll_after": test["nll_after"],
                     "auc": float(auc(y["test"], softmax(z["test"]))), "n": test["n"]}}


# ----------------------------------------------------------------------------- report

def read_records() -> list[dict]:
    with gzip.open(RECORDS, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def primary(group: str) -> str:
    """The metric a group's comparisons use: AUC on the two-class sets (what the checkpoint is
    selected on), accuracy on MNIST."""
    return "accuracy" if GROUPS[group][0] == "mnist" else "auc"


def summarise(records: list[dict]) -> dict:
    """Per data set and teacher (architecture, recipe): the teachers, their students, and the
    students against the same-recipe student alone of the same seed (paired), with the gap recovery."""
    done = {(r["group"], r["arch"], r["draw"]) for r in records if r["role"] == "teacher"}
    report = {"groups": {}, "made": {"threads": 1, "records": rel_path(RECORDS)},
              "not_run": [f"{g} {a} t{t}" for g, a, t in GRID if (g, a, t) not in done],
              "macs_vs_resnet20": _macs_ratios(records)}
    for group in GROUPS:
        rows = [r for r in records if base_group(r["group"]) == group]
        if not rows:
            continue
        metric = primary(group)
        alone = {r["seed"]: r for r in rows if r["role"] == "alone"}
        entry = {"metric": metric, "alone": _figures(list(alone.values())), "teachers": {}}
        for variant, arch in dict.fromkeys((r["group"], r["arch"]) for r in rows if r["role"] == "teacher"):
            mine = [r for r in rows if r["group"] == variant and r["arch"] == arch]
            label = arch if variant == group else f"{arch}, {VARIANTS[variant][1]}"
            entry["teachers"][label] = _teacher_entry(mine, alone, metric)
        report["groups"][group] = entry
    return report


def _macs_ratios(records: list[dict]) -> dict[str, float]:
    """Each teacher architecture's multiply-accumulates per image as a multiple of resnet20's
    (from any record of it: the input size is 28 x 28 everywhere), what the cost of a run not made yet follows."""
    macs = {r["arch"]: r["macs"] for r in records if r["role"] == "teacher" and r.get("macs")}
    return {a: macs[a] / macs["resnet20"] for a in ARCHS if a in macs} if "resnet20" in macs else {}


def _teacher_entry(rows: list[dict], alone: dict[int, dict], metric: str) -> dict:
    teachers = sorted((r for r in rows if r["role"] == "teacher"), key=lambda r: r["draw"])
    students = [r for r in rows if r["role"] == "student"]
    e = {"draws": len(teachers), "params": teachers[0]["params"], "macs": teachers[0]["macs"],
         "train_minutes": [t["epochs"] * t["epoch_s_median"] / 60 for t in teachers],
         "teacher": _figures(teachers), "student": _figures(students), "n_students": len(students),
         "per_draw": {t["draw"]: {"teacher": t["test"][metric], "students": [
             s["test"][metric] for s in students if s["draw"] == t["draw"]]} for t in teachers}}
    pairs = [(s, alone[s["seed"]]) for s in students if s["seed"] in alone]
    if pairs:
        e["vs_alone"] = {m: paired([s["test"][m] for s, _ in pairs], [a["test"][m] for _, a in pairs])
                         for m in ("accuracy", "auc")}
        gap = np.mean([t["test"][metric] for t in teachers]) - np.mean([a["test"][metric] for _, a in pairs])
        e["teacher_minus_alone"] = float(gap)
        e["gap_recovery"] = float(e["vs_alone"][metric]["mean"] / gap) if gap > 0 else None
    per_draw = [v["students"] for v in e["per_draw"].values() if len(v["students"]) > 1]
    if len(per_draw) > 1:  # how much of the students' spread is the teacher draw's, how much the seed's
        e["spread"] = {"between_draws_sd": float(np.std([np.mean(v) for v in per_draw], ddof=1)),
                       "within_draw_sd": float(np.sqrt(np.mean([np.var(v, ddof=1) for v in per_draw])))}
    by_draw = {d: v["teacher"] for d, v in e["per_draw"].items()}
    e["student_minus_teacher"] = paired([s["test"][metric] for s in students], [by_draw[s["draw"]] for s in students])
    return e


def _figures(rows: list[dict]) -> dict:
    return {m: mean_sd([r["test"][m] for r in rows]) for m in ("accuracy", "auc", "ece_after", "accuracy_at_half")}


def _recovery(t: dict) -> str:
    if t.get("gap_recovery") is not None:
        return f"{100 * t['gap_recovery']:.0f} %"
    return "teacher below alone" if "teacher_minus_alone" in t else "-"


def markdown(report: dict) -> str:
    lines = ["# Teachers: which one to distill from", "",
             "Generated by `benchmarks/teachers/teachers.py` from `records.jsonl.gz` (one line per model; rerun the "
             "grid with `--run`, then `--collect`). Teachers: `edgekd train --model ARCH --seed DRAW` with its "
             "defaults (30 epochs); students: `edgekd distill --teacher T --seed S` with its defaults (cnn-small, "
             "MIP + KD, `--epochs auto`, K = 8 cached views); 'alone': distill's `--baseline` (the student with the "
             "same recipe, seed and views, no teacher). Test figures at the shipped decision (temperature, 0.5), "
             "recomputed from each checkpoint. One thread per run, two runs at a time on a 2-core x86 machine "
             "(minutes are that machine's, with a neighbour). Mean ± sd; [95 % t-interval] of paired differences "
             "(student minus the alone student of the same seed). PneumoniaMNIST's resnet20 teachers and their 10 "
             "students are the decisions benchmark's runs (`--also`); its student alone was trained directly with what "
             "`--baseline` runs (`distill --method none --alpha 0 --beta 0 --cache-views 8`).", ""]
    if report.get("not_run"):
        missing = dict.fromkeys(name.split()[1] for name in report["not_run"])
        cost = ", ".join(f"{a} {report['macs_vs_resnet20'][a]:.1f}x" for a in missing
                         if a in report.get("macs_vs_resnet20", {}))
        lines += ["Not run yet" + (f" (MACs per image against resnet20's: {cost})" if cost else "") + ": "
                  + ", ".join(report["not_run"]) + ".", ""]
    for group, e in report["groups"].items():
        metric = e["metric"].upper() if e["metric"] == "auc" else "ACC"
        lines += [f"## {group}", "",
                  f"Student alone (same recipe): ACC {ms_text(e['alone']['accuracy'])}, AUC {ms_text(e['alone']['auc'])} "
                  f"({e['alone']['accuracy']['n']} seed{'s' * (e['alone']['accuracy']['n'] != 1)}). "
                  f"Comparisons on {metric}.", "",
                  "| teacher | params | train min | draws | teacher ACC | teacher AUC | teacher ECE | student ACC | "
                  "student AUC | student ECE | student − alone ACC | student − alone AUC | gap recovery | "
                  "student − teacher |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for arch, t in e["teachers"].items():
            va = t.get("vs_alone", {})
            lines.append(
                f"| {arch} | {t['params'] / 1e6:.2f} M | {np.mean(t['train_minutes']):.0f} | {t['draws']} | "
                f"{ms_text(t['teacher']['accuracy'])} | {ms_text(t['teacher']['auc'])} | "
                f"{ms_text(t['teacher']['ece_after'], 1, 3)} | "
                f"{ms_text(t['student']['accuracy'])} | {ms_text(t['student']['auc'])} | "
                f"{ms_text(t['student']['ece_after'], 1, 3)} | {delta_text(va.get('accuracy'))} | "
                f"{delta_text(va.get('auc'))} | {_recovery(t)} | "
                f"{delta_text(t['student_minus_teacher'])} |")
        lines += ["", "Per teacher draw (" + metric + ", teacher -> its students): " + "; ".join(
            f"{arch} t{d}: {100 * v['teacher']:.1f} -> " + ", ".join(f"{100 * s:.1f}" for s in v["students"])
            for arch, t in e["teachers"].items() for d, v in t["per_draw"].items()), ""]
        lines += [f"Spread of {arch}'s students ({metric}): between teacher draws sd "
                  f"{100 * t['spread']['between_draws_sd']:.2f}, within a draw (seeds) sd "
                  f"{100 * t['spread']['within_draw_sd']:.2f}." for arch, t in e["teachers"].items() if "spread" in t]
        lines += [""] if any("spread" in t for t in e["teachers"].values()) else []
    return "\n".join(lines)


def plot(report: dict, path: Path) -> None:
    """Per group: each teacher draw's test metric (x) against its students' (y), the student
    alone as a horizontal band: a teacher worth learning from lifts its students above it."""
    from edgekd.plotting import pyplot, save_png

    plt = pyplot()
    groups = list(report["groups"].items())
    fig, axes = plt.subplots(1, len(groups), figsize=(4.5 * len(groups), 4), squeeze=False)
    labels = dict.fromkeys(arch for _, e in groups for arch in sorted(e["teachers"]))
    colour = {arch: f"C{i}" for i, arch in enumerate(labels)}  # one colour per teacher in every panel
    for ax, (group, e) in zip(axes[0], groups):
        a = e["alone"][e["metric"]]
        if a["n"]:
            ax.axhspan(100 * (a["mean"] - (a["sd"] if a["sd"] == a["sd"] else 0)),
                       100 * (a["mean"] + (a["sd"] if a["sd"] == a["sd"] else 0)), color="grey", alpha=0.25)
            ax.axhline(100 * a["mean"], color="grey", lw=1, label="student alone")
        for arch, t in e["teachers"].items():
            points = [(100 * v["teacher"], 100 * s) for v in t["per_draw"].values() for s in v["students"]]
            if points:
                ax.plot(*zip(*points), "o", color=colour[arch], label=arch)
        lo, hi = ax.get_xlim()
        ax.plot([lo, hi], [lo, hi], color="black", lw=0.6, ls=":")
        ax.set_xlabel(f"teacher test {e['metric']} (%)")
        ax.set_ylabel(f"student test {e['metric']} (%)")
        ax.set_title(group)
        ax.legend(fontsize=7)
    fig.tight_layout()
    save_png(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="Train the grid into this folder first.")
    parser.add_argument("--collect", type=Path, help="Folder of runs to read (writes the records).")
    parser.add_argument("--also", type=Path, help="The decisions benchmark's run folder (resnet20 teachers).")
    args = parser.parse_args()
    if args.run:
        run(args.run)
    if args.collect or args.run:
        collect(args.collect or args.run, args.also)
    write_outputs(HERE / "teachers", summarise(read_records()), markdown, plot)


if __name__ == "__main__":
    main()
