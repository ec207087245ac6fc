"""The decisions a user of the default commands gets: accuracy at 0.5, at each operating point,
after adapting to the test split's class balance (no labels), and calibration, over 2 teacher
draws x 5 student seeds on PneumoniaMNIST and BreastMNIST. Writes decisions.{json,md,png}.

    python benchmarks/decisions/decisions.py --run RUNS       # train the runs below (skips finished ones)
    python benchmarks/decisions/decisions.py --collect RUNS   # val/test logits of every run -> records.jsonl.gz
    python benchmarks/decisions/decisions.py                  # the report, from the committed records

RUNS holds ``<dataset>/teacher<T>`` (``edgekd train --model resnet20 --dataset D --seed T``)
and ``<dataset>/teacher<T>-student<S>`` (``edgekd distill --teacher .../model.pt --seed S
--teacher-cache CACHE``: distill's defaults with the teacher's outputs cached, K = 8 views),
1 thread each (``--run`` makes them; ``EDGEKD`` names the command, default ``edgekd``). The records keep every run's
validation and test logits, so the report (any rule, estimator or interval) is rebuilt
without the weights. Every rule is fitted on the validation split, as edgekd does after
training; adaptation sees the test images, never their labels.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("EDGEKD_DATA", str(Path(__file__).resolve().parents[3] / "shared" / "data"))
from benchmarks._lib.provenance import made_how, rel_path, run_once, write_outputs  # noqa: E402
from benchmarks.study.lib.stats import delta_text, mean_sd, ms_text, paired  # noqa: E402
from edgekd.decision import adapt, decide, fit_decision_rule, prior_interval, probabilities  # noqa: E402
from edgekd.decision.calibration_metrics import ece_interval, expected_calibration_error, reliability_bins  # noqa: E402
from edgekd.decision.fit import DEFAULT_RULE, rule_figures  # noqa: E402
from edgekd.metrics import softmax  # noqa: E402

HERE = Path(__file__).resolve().parent
RECORDS = HERE / "records.jsonl.gz"
DATASETS = ("pneumoniamnist", "breastmnist")
RULES = ("0.5", "accuracy", "youden", "balanced", "youden-shrunk", "accuracy-guarded", "sensitivity=0.95",
         "specificity=0.95")


def run(runs: Path) -> None:
    """Train the runs behind the report into ``runs``: per data set 2 teacher draws with the default
    ``train``, then 5 students per teacher with the default ``distill`` (the teacher's outputs cached)."""
    edgekd = os.environ.get("EDGEKD", "edgekd")
    for ds in DATASETS:
        for t in (0, 1):
            run_once(runs / ds / f"teacher{t}", [edgekd, "train", "--model", "resnet20", "--dataset", ds, "--seed", str(t)])
    for t in (0, 1):
        for ds in ("breastmnist", "pneumoniamnist"):
            for s in range(5):
                run_once(runs / ds / f"teacher{t}-student{s}",
                         [edgekd, "distill", "--teacher", str(runs / ds / f"teacher{t}" / "model.pt"), "--seed", str(s),
                          "--teacher-cache", str(runs / "cache" / f"{ds}-teacher{t}-s{s}")])


def collect(runs: Path) -> None:
    """One record per run folder under ``runs``: its logits on validation and test, and how it was made."""
    import torch

    from edgekd.data.registry import get_source, load_split, positive_class
    from edgekd.training.batches import TensorSplit
    from edgekd.training.checkpoint import build_model, load_checkpoint
    from edgekd.training.evaluate import predict_logits

    torch.set_num_threads(1)
    lines = []
    for ds in DATASETS:
        source = get_source(ds)
        splits = {s: load_split(ds, s, None, source=source) for s in ("train", "val", "test")}
        prior = np.bincount(splits["train"].labels.reshape(-1), minlength=source.info.num_classes)
        lines.append({"kind": "data", "dataset": ds, "class_names": list(source.info.class_names),
                      "positive_class": positive_class(ds, source.info.class_names),
                      "train_prior": (prior / prior.sum()).tolist(),
                      **{f"{s}_labels": splits[s].labels.reshape(-1).tolist() for s in ("val", "test")}})
        for folder in sorted((runs / ds).glob("teacher*")):
            if not (folder / "test.json").is_file():
                continue
            content = load_checkpoint(folder / "model.pt")
            model = build_model(content)
            record = {"kind": "run", "dataset": ds, "run": folder.name, "made": made_how(folder / "model.pt"),
                      "role": "student" if "student" in folder.name else "teacher"}
            for s in ("val", "test"):
                logits = predict_logits(model, TensorSplit.from_split(splits[s], source.info))
                record[f"{s}_logits"] = np.round(logits, 5).tolist()
            lines.append(record)
            print(f"{ds}/{folder.name}: collected", flush=True)
    with gzip.open(RECORDS, "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(line, sort_keys=True) + "\n" for line in lines)
    print(f"wrote {rel_path(RECORDS)} ({len(lines)} lines)")


def read_records() -> tuple[dict, list[dict]]:
    with gzip.open(RECORDS, "rt", encoding="utf-8") as fh:
        lines = [json.loads(line) for line in fh]
    data = {r["dataset"]: r for r in lines if r["kind"] == "data"}
    return data, [r for r in lines if r["kind"] == "run"]


def hindsight_best(labels: np.ndarray, score: np.ndarray) -> float:
    """The best accuracy any threshold on ``score`` reaches (chosen with the test labels)."""
    order = np.argsort(-score, kind="mergesort")
    pos = labels[order] == 1
    correct = np.r_[0, np.cumsum(np.where(pos, 1, -1))] + np.sum(~pos)
    return float(correct.max() / len(pos))


def run_figures(d: dict, run: dict) -> dict:
    """Everything the report reads of one run: each rule's test figures, calibration, adaptation."""
    yv, yt = np.asarray(d["val_labels"]), np.asarray(d["test_labels"])
    zv, zt = np.asarray(run["val_logits"]), np.asarray(run["test_logits"])
    names, prior, pos = d["class_names"], d["train_prior"], d["positive_class"]
    out = {"rules": {}}
    for rule in RULES:
        fitted = fit_decision_rule(yv, zv, names, prior, rule, "temperature", positive_class=pos)
        test = rule_figures(fitted, yt, zt).to_dict()
        out["rules"][rule] = {"threshold": fitted.threshold, "val_accuracy": fitted.validation.accuracy,
                              **{k: test[k] for k in ("accuracy", "balanced_accuracy", "sensitivity", "specificity")}}
        if rule == "0.5":
            out.update(auc=test["auc"], accuracy_at_half=test["accuracy_at_half"], ece_before=test["ece_before"],
                       ece_after=test["ece_after"], nll_before=test["nll_before"], nll_after=test["nll_after"],
                       temperature=fitted.temperature)
            p = probabilities(fitted, zt, adapted=False)
            out["ece_after_interval"] = list(ece_interval(yt, p, seed=0))
            z = zt[:, 1] - zt[:, 0]
            out["hindsight_best"] = hindsight_best((yt == 1).astype(int), z)
            adapted = adapt(fitted, zt)
            out["estimated_prior"] = adapted.deploy_prior[pos]
            out["estimated_prior_interval"] = [float(v[pos]) for v in prior_interval(fitted, zt, seed=0)]
            out["accuracy_adapted"] = float(np.mean(decide(adapted, zt).predictions == yt))
            out["ece_adapted"] = expected_calibration_error(yt, probabilities(adapted, zt))
            out["reliability"] = {"before": reliability_bins(yt, softmax(zt)), "after": reliability_bins(yt, p)}
    out["bcts"] = calibration_figures(yv, zv, yt, zt, names, prior, pos, "bcts")
    out["true_prior"] = float(np.mean(yt == pos))
    return out


def calibration_figures(yv, zv, yt, zt, names, prior, pos, calibration: str) -> dict:
    """Test accuracy of every rule, adapted accuracy and ECE when the rule is fitted with ``calibration``."""
    rules = {}
    for rule in RULES:
        fitted = fit_decision_rule(yv, zv, names, prior, rule, calibration, positive_class=pos)
        rules[rule] = float(np.mean(decide(fitted, zt).predictions == yt))
        if rule == "0.5":
            adapted = adapt(fitted, zt)
            figures = {"ece_after": expected_calibration_error(yt, probabilities(fitted, zt, adapted=False)),
                       "accuracy_adapted": float(np.mean(decide(adapted, zt).predictions == yt)),
                       "ece_adapted": expected_calibration_error(yt, probabilities(adapted, zt))}
    return {"rules": rules, **figures}


def _pooled(bin_lists: list[list[dict]]) -> list[dict]:
    """Reliability bins summed over runs: count-weighted confidence and accuracy per bin."""
    out = []
    for rows in zip(*bin_lists):
        n = sum(r["count"] for r in rows)
        mean = {key: sum(r["count"] * r[key] for r in rows if r["count"]) / n if n else None
                for key in ("confidence", "accuracy")}
        out.append({"lower": rows[0]["lower"], "upper": rows[0]["upper"], "count": n, **mean})
    return out


def summarise(data: dict, runs: list[dict]) -> dict:
    report = {"datasets": {}, "rules": list(RULES), "default_rule": DEFAULT_RULE}
    for ds in DATASETS:
        rows = [(r, run_figures(data[ds], r)) for r in runs if r["dataset"] == ds]
        students = [f for r, f in rows if r["role"] == "student"]
        teachers = [{"run": r["run"], **{k: v for k, v in f.items() if k != "reliability"}}
                    for r, f in rows if r["role"] == "teacher"]
        draws = sorted({r["run"].split("-")[0] for r, _ in rows if r["role"] == "student"})
        entry = {"n_students": len(students), "teachers": teachers, "true_prior": data[ds]["train_prior"],
                 "students": {}, "paired_vs_half": {}, "by_draw": {}}
        if not students:
            report["datasets"][ds] = entry
            continue
        keys = ("auc", "accuracy_at_half", "ece_before", "ece_after", "accuracy_adapted", "ece_adapted",
                "estimated_prior", "hindsight_best")
        entry["students"] = {k: mean_sd([s[k] for s in students]) for k in keys}
        entry["students"]["rules"] = {rule: mean_sd([s["rules"][rule]["accuracy"] for s in students]) for rule in RULES}
        half = [s["rules"]["0.5"]["accuracy"] for s in students]
        for rule in RULES[1:]:
            entry["paired_vs_half"][rule] = paired([s["rules"][rule]["accuracy"] for s in students], half)
        entry["paired_vs_half"]["adapted"] = paired([s["accuracy_adapted"] for s in students], half)
        entry["students"]["bcts"] = {"rules": {r: mean_sd([s["bcts"]["rules"][r] for s in students]) for r in RULES},
                                     **{k: mean_sd([s["bcts"][k] for s in students])
                                        for k in ("ece_after", "accuracy_adapted", "ece_adapted")}}
        entry["paired_bcts"] = {r: paired([s["bcts"]["rules"][r] for s in students],
                                          [s["rules"][r]["accuracy"] for s in students]) for r in RULES}
        entry["paired_bcts"]["adapted"] = paired([s["bcts"]["accuracy_adapted"] for s in students],
                                                 [s["accuracy_adapted"] for s in students])
        for draw in draws:
            picked = [f for r, f in rows if r["role"] == "student" and r["run"].startswith(draw + "-")]
            entry["by_draw"][draw] = {"auc": mean_sd([s["auc"] for s in picked]),
                                      "accuracy": mean_sd([s["rules"]["0.5"]["accuracy"] for s in picked])}
        entry["true_prior"] = students[0]["true_prior"]
        entry["reliability"] = {k: _pooled([s["reliability"][k] for s in students]) for k in ("before", "after")}
        entry["runs_detail"] = [{"run": r["run"], **{k: f[k] for k in (*keys, "ece_after_interval",
                                                                        "estimated_prior_interval")}}
                                for r, f in rows if r["role"] == "student"]
        report["datasets"][ds] = entry
    return report


# --- the report: decisions.md and decisions.png -------------------------------------------

TARGETS = {  # (data set, what, threshold): the targets the decisions must meet
    "pneumoniamnist": "AUC >= 97.3; ACC at the default operating point >= 93.0 with sd <= 1.0; ACC after adapt >= 94.0; "
                      "estimated test prior within 0.03 of the true share",
    "breastmnist": "ACC at the operating point never below ACC at 0.5; ACC >= 86.5 with AUC >= 90.1; ECE reported "
                   "with a bootstrap interval",
}


def _verdicts(ds: str, e: dict, default: str) -> list[str]:
    s = e["students"]
    acc = s["rules"][default]
    out = []
    if ds == "pneumoniamnist":
        prior_err = abs(s["estimated_prior"]["mean"] - e["true_prior"])
        out += [f"AUC {ms_text(s['auc'])} (>= 97.3: {'met' if s['auc']['mean'] >= 0.973 else 'missed'})",
                f"ACC at the default operating point ({default}) {ms_text(acc)} (>= 93.0 with sd <= 1.0: "
                f"{'met' if acc['mean'] >= 0.93 and acc['sd'] <= 0.01 else 'missed'})",
                f"ACC after adapt {ms_text(s['accuracy_adapted'])} (>= 94.0: "
                f"{'met' if s['accuracy_adapted']['mean'] >= 0.94 else 'missed'}; hindsight-best threshold "
                f"{ms_text(s['hindsight_best'])})",
                f"estimated test prior {100 * s['estimated_prior']['mean']:.1f} % vs true {100 * e['true_prior']:.1f} % "
                f"(within 3 points: {'met' if prior_err <= 0.03 else f'missed by {100 * (prior_err - 0.03):.1f}'})",
                f"ECE after adapt {ms_text(s['ece_adapted'], 1, 3)} (<= 0.030: "
                f"{'met' if s['ece_adapted']['mean'] <= 0.03 else 'missed'})"]
    else:
        worse = [r for r, p in e["paired_vs_half"].items() if r == default and p["ci"][1] < 0]
        out += [f"ACC at the default operating point ({default}) {ms_text(acc)} vs at 0.5 "
                f"{ms_text(s['rules']['0.5'])} (never below: {'missed' if worse else 'met'})",
                f"ACC >= 86.5 with AUC >= 90.1: ACC {ms_text(acc)}, AUC {ms_text(s['auc'])} "
                f"({'met' if acc['mean'] >= 0.865 and s['auc']['mean'] >= 0.901 else 'missed'})",
                f"test ECE after temperature {ms_text(s['ece_after'], 1, 3)} (per run with a bootstrap interval below)"]
    return out


def markdown(report: dict) -> str:
    default = report["default_rule"]
    lines = ["# Decisions: operating points, calibration and prior shift, from the default commands", "",
             "Each student: `edgekd distill --teacher T/model.pt --seed S --teacher-cache C` (distill's defaults, "
             "teacher outputs cached for K = 8 augmented views), 5 seeds for each of 2 teachers "
             "(`edgekd train --model resnet20 --dataset D --seed 0|1`), 1 thread each; every rule fitted on the "
             "validation split, as edgekd does after training; adaptation (EM on the calibrated probabilities) "
             "sees the test images without their labels. Rebuild: `python benchmarks/decisions/decisions.py` "
             "(from `records.jsonl.gz`, no weights needed); the runs: `python benchmarks/decisions/decisions.py --run RUNS`.", "",
             f"Default operating point of `train` / `distill`: **{default}**.", ""]
    for ds, e in report["datasets"].items():
        s = e["students"]
        lines += [f"## {ds}", ""]
        if not s:
            lines += ["(no finished runs)", ""]
            continue
        lines += [f"Targets: {TARGETS[ds]}.", ""] + [f"- {v}" for v in _verdicts(ds, e, default)] + [""]
        lines += [f"Students: n = {e['n_students']}; test share of the positive class {100 * e['true_prior']:.1f} %.",
                  "", "| figure | mean ± sd |", "|---|---|"]
        lines += [f"| AUC | {ms_text(s['auc'])} |", f"| ACC at 0.5 (raw arg-max) | {ms_text(s['accuracy_at_half'])} |"]
        lines += [f"| ACC, operating point {r} | {ms_text(v)} |" for r, v in s["rules"].items()]
        lines += [f"| ACC after adapt (EM, prior estimated on the test images) | {ms_text(s['accuracy_adapted'])} |",
                  f"| ACC, hindsight-best threshold (uses the test labels) | {ms_text(s['hindsight_best'])} |",
                  f"| ECE before / after temperature | {ms_text(s['ece_before'], 1, 3)} / {ms_text(s['ece_after'], 1, 3)} |",
                  f"| ECE after adapt | {ms_text(s['ece_adapted'], 1, 3)} |",
                  f"| estimated positive share | {ms_text(s['estimated_prior'])} % |", ""]
        lines += ["Paired differences over the students, each rule minus 0.5 (points, 95 % t-interval):", "",
                  "| rule | Δ ACC | wins / losses |", "|---|---|---|"]
        lines += [f"| {r} | {delta_text(p)} | {p['wins']} / {p['losses']} |" for r, p in e["paired_vs_half"].items()]
        b, pb = s["bcts"], e["paired_bcts"]
        lines += ["", "Calibration: one temperature (the default) against temperature + per-class bias (BCTS, "
                  "`--calibration bcts`), on the same students; Δ: BCTS minus temperature, points, 95 % t-interval:",
                  "", "| figure | temperature | BCTS | Δ |", "|---|---|---|---|"]
        lines += [f"| ACC, operating point {r} | {ms_text(s['rules'][r])} | {ms_text(b['rules'][r])} | {delta_text(pb[r])} |"
                  for r in s["rules"]]
        lines += [f"| ACC after adapt | {ms_text(s['accuracy_adapted'])} | {ms_text(b['accuracy_adapted'])} | "
                  f"{delta_text(pb['adapted'])} |",
                  f"| ECE after calibration | {ms_text(s['ece_after'], 1, 3)} | {ms_text(b['ece_after'], 1, 3)} | |",
                  f"| ECE after adapt | {ms_text(s['ece_adapted'], 1, 3)} | {ms_text(b['ece_adapted'], 1, 3)} | |"]
        lines += ["", "By teacher draw (students' mean ± sd; the variance due to the teacher):", "",
                  "| teacher | students' AUC | students' ACC at 0.5 |", "|---|---|---|"]
        lines += [f"| {d} | {ms_text(v['auc'])} | {ms_text(v['accuracy'])} |" for d, v in e["by_draw"].items()]
        lines += ["", "Per run: ECE after temperature with its bootstrap interval, estimated prior with its interval:",
                  "", "| run | AUC | ACC 0.5 | ECE after [95 %] | estimated share [95 %] |", "|---|---|---|---|---|"]
        for r in e["runs_detail"]:
            lines.append(f"| {r['run']} | {100 * r['auc']:.1f} | {100 * r['accuracy_at_half']:.1f} | "
                         f"{r['ece_after']:.3f} [{r['ece_after_interval'][0]:.3f}, {r['ece_after_interval'][1]:.3f}] | "
                         f"{100 * r['estimated_prior']:.1f} [{100 * r['estimated_prior_interval'][0]:.1f}, "
                         f"{100 * r['estimated_prior_interval'][1]:.1f}] |")
        if e["teachers"]:
            lines += ["", "Teachers: " + "; ".join(f"{t['run']} AUC {100 * t['auc']:.1f}, ACC 0.5 "
                                                   f"{100 * t['accuracy_at_half']:.1f}, {default} "
                                                   f"{100 * t['rules'][default]['accuracy']:.1f}" for t in e["teachers"])]
        lines.append("")
    return "\n".join(lines)


def plot(report: dict, path: Path) -> None:
    """Left: test ACC by operating point per data set (mean ± sd over students). Right: the
    reliability diagram pooled over PneumoniaMNIST's students, before and after temperature."""
    from edgekd.plotting import pyplot, save_png

    plt = pyplot()
    fig, (ax, rel) = plt.subplots(1, 2, figsize=(12, 4.5))
    rules = report["rules"]
    for k, (ds, e) in enumerate(report["datasets"].items()):
        if not e["students"]:
            continue
        means = [100 * e["students"]["rules"][r]["mean"] for r in rules]
        sds = [100 * e["students"]["rules"][r]["sd"] for r in rules]
        ax.errorbar([i + 0.15 * k for i in range(len(rules))], means, yerr=sds, fmt="o", capsize=3, label=ds)
    ax.set_xticks(range(len(rules)), rules, rotation=35, ha="right")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("operating point chosen on validation")
    ax.legend()
    e = report["datasets"].get("pneumoniamnist", {})
    for name, style in (("before", "o--"), ("after", "o-")):
        bins = [b for b in e.get("reliability", {}).get(name, []) if b["count"]]
        rel.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], style, label=f"{name} temperature")
    rel.plot([0.5, 1], [0.5, 1], color="grey", lw=0.8)
    rel.set_xlabel("confidence")
    rel.set_ylabel("accuracy")
    rel.set_title("PneumoniaMNIST test, students pooled")
    rel.legend()
    fig.tight_layout()
    save_png(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="Folder to train the runs into (finished runs are kept).")
    parser.add_argument("--collect", type=Path, help="Folder of runs to read logits from (writes the records).")
    args = parser.parse_args()
    if args.run:
        run(args.run)
    if args.collect:
        collect(args.collect)
    data, runs = read_records()
    write_outputs(HERE / "decisions", summarise(data, runs), markdown, plot)


if __name__ == "__main__":
    main()
