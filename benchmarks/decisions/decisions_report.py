"""decisions.md and decisions.png from the summary :mod:`decisions` computes."""

from __future__ import annotations

from pathlib import Path

TARGETS = {  # (data set, what, threshold): the targets the decisions must meet
    "pneumoniamnist": "AUC >= 97.3; ACC at the default operating point >= 93.0 with sd <= 1.0; ACC after adapt >= 94.0; "
                      "estimated test prior within 0.03 of the true share",
    "breastmnist": "ACC at the operating point never below ACC at 0.5; ACC >= 86.5 with AUC >= 90.1; ECE reported "
                   "with a bootstrap interval",
}


def _ms(x: dict, scale: float = 100, digits: int = 1) -> str:
    if not x or x.get("n", 0) == 0:
        return "-"
    sd = "" if x["sd"] != x["sd"] else f" ± {scale * x['sd']:.{digits}f}"
    return f"{scale * x['mean']:.{digits}f}{sd}"


def _delta(p: dict) -> str:
    lo, hi = p["ci"]
    return f"{100 * p['mean']:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]"


def _verdicts(ds: str, e: dict, default: str) -> list[str]:
    s = e["students"]
    acc = s["rules"][default]
    out = []
    if ds == "pneumoniamnist":
        prior_err = abs(s["estimated_prior"]["mean"] - e["true_prior"])
        out += [f"AUC {_ms(s['auc'])} (>= 97.3: {'met' if s['auc']['mean'] >= 0.973 else 'missed'})",
                f"ACC at the default operating point ({default}) {_ms(acc)} (>= 93.0 with sd <= 1.0: "
                f"{'met' if acc['mean'] >= 0.93 and acc['sd'] <= 0.01 else 'missed'})",
                f"ACC after adapt {_ms(s['accuracy_adapted'])} (>= 94.0: "
                f"{'met' if s['accuracy_adapted']['mean'] >= 0.94 else 'missed'}; hindsight-best threshold "
                f"{_ms(s['hindsight_best'])})",
                f"estimated test prior {100 * s['estimated_prior']['mean']:.1f} % vs true {100 * e['true_prior']:.1f} % "
                f"(within 3 points: {'met' if prior_err <= 0.03 else f'missed by {100 * (prior_err - 0.03):.1f}'})",
                f"ECE after adapt {_ms(s['ece_adapted'], 1, 3)} (<= 0.030: "
                f"{'met' if s['ece_adapted']['mean'] <= 0.03 else 'missed'})"]
    else:
        worse = [r for r, p in e["paired_vs_half"].items() if r == default and p["ci"][1] < 0]
        out += [f"ACC at the default operating point ({default}) {_ms(acc)} vs at 0.5 "
                f"{_ms(s['rules']['0.5'])} (never below: {'missed' if worse else 'met'})",
                f"ACC >= 86.5 with AUC >= 90.1: ACC {_ms(acc)}, AUC {_ms(s['auc'])} "
                f"({'met' if acc['mean'] >= 0.865 and s['auc']['mean'] >= 0.901 else 'missed'})",
                f"test ECE after temperature {_ms(s['ece_after'], 1, 3)} (per run with a bootstrap interval below)"]
    return out


def markdown(report: dict) -> str:
    default = report["default_rule"]
    lines = ["# Decisions: operating points, calibration and prior shift, from the default commands", "",
             "Each student: `edgekd distill --teacher T/model.pt --seed S --teacher-cache C` (distill's defaults, "
             "teacher outputs cached for K = 8 augmented views), 5 seeds for each of 2 teachers "
             "(`edgekd train --model resnet20 --dataset D --seed 0|1`), 1 thread each; every rule fitted on the "
             "validation split, as edgekd does after training; adaptation (EM on the calibrated probabilities) "
             "sees the test images without their labels. Rebuild: `python benchmarks/decisions/decisions.py` "
             "(from `records.jsonl.gz`, no weights needed); the runs: `benchmarks/decisions/run.sh`.", "",
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
        lines += [f"| AUC | {_ms(s['auc'])} |", f"| ACC at 0.5 (raw arg-max) | {_ms(s['accuracy_at_half'])} |"]
        lines += [f"| ACC, operating point {r} | {_ms(v)} |" for r, v in s["rules"].items()]
        lines += [f"| ACC after adapt (EM, prior estimated on the test images) | {_ms(s['accuracy_adapted'])} |",
                  f"| ACC, hindsight-best threshold (uses the test labels) | {_ms(s['hindsight_best'])} |",
                  f"| ECE before / after temperature | {_ms(s['ece_before'], 1, 3)} / {_ms(s['ece_after'], 1, 3)} |",
                  f"| ECE after adapt | {_ms(s['ece_adapted'], 1, 3)} |",
                  f"| estimated positive share | {_ms(s['estimated_prior'])} % |", ""]
        lines += ["Paired differences over the students, each rule minus 0.5 (points, 95 % t-interval):", "",
                  "| rule | Δ ACC | wins / losses |", "|---|---|---|"]
        lines += [f"| {r} | {_delta(p)} | {p['wins']} / {p['losses']} |" for r, p in e["paired_vs_half"].items()]
        lines += ["", "By teacher draw (students' mean ± sd; the variance due to the teacher):", "",
                  "| teacher | students' AUC | students' ACC at 0.5 |", "|---|---|---|"]
        lines += [f"| {d} | {_ms(v['auc'])} | {_ms(v['accuracy'])} |" for d, v in e["by_draw"].items()]
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
    from edgekd.fileio import atomic_path
    from edgekd.plotting import pyplot

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
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
