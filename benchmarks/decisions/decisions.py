"""The decisions a user of the default commands gets: accuracy at 0.5, at each operating point,
after adapting to the test split's class balance (no labels), and calibration, over 2 teacher
draws x 5 student seeds on PneumoniaMNIST and BreastMNIST. Writes decisions.{json,md,png}.

    python benchmarks/decisions/decisions.py --collect RUNS   # val/test logits of every run -> records.jsonl.gz
    python benchmarks/decisions/decisions.py                  # the report, from the committed records

RUNS holds ``<dataset>/teacher<T>`` (``edgekd train --model resnet20 --dataset D --seed T``)
and ``<dataset>/teacher<T>-student<S>`` (``edgekd distill --teacher .../model.pt --seed S
--teacher-cache CACHE``: distill's defaults with the teacher's outputs cached, K = 8 views),
1 thread each (``benchmarks/decisions/run.sh`` makes them). The records keep every run's
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
from benchmarks._lib.outputs import write_outputs  # noqa: E402
from benchmarks._lib.provenance import made_how, rel_path  # noqa: E402
from benchmarks.decisions.decisions_report import markdown, plot  # noqa: E402
from benchmarks.study.lib.stats import mean_sd, paired  # noqa: E402
from edgekd.decision import adapt, decide, fit_decision_rule, prior_interval, probabilities  # noqa: E402
from edgekd.decision.calibration_metrics import ece_interval, expected_calibration_error, reliability_bins  # noqa: E402
from edgekd.decision.fit import DEFAULT_RULE, rule_figures  # noqa: E402
from edgekd.metrics import softmax  # noqa: E402

HERE = Path(__file__).resolve().parent
RECORDS = HERE / "records.jsonl.gz"
DATASETS = ("pneumoniamnist", "breastmnist")
RULES = ("0.5", "accuracy", "youden", "balanced", "youden-shrunk", "accuracy-guarded", "sensitivity=0.95",
         "specificity=0.95")


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
    out["true_prior"] = float(np.mean(yt == pos))
    return out


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collect", type=Path, help="Folder of runs to read logits from (writes the records).")
    args = parser.parse_args()
    if args.collect:
        collect(args.collect)
    data, runs = read_records()
    write_outputs(HERE / "decisions", summarise(data, runs), markdown, plot)


if __name__ == "__main__":
    main()
