"""The moonshot: BreastMNIST cnn-small distilled from an ensemble of teachers.

BreastMNIST (546 training images) is the one set where the v2 study's student stays far from
the published ResNet-18 (28) row (test AUC 90.1), and its single teacher is itself only 86.3:
a teacher trained on 546 images varies a lot with its seed.  An ensemble teacher (``edgekd
distill --teacher a.pt --teacher b.pt ...``: mean of the members' logits and maps) is cached
like one teacher, so it costs nothing at student time.  This script

1. trains ``--members`` ResNet-20 teachers with the study's teacher recipe, differing only in
   seed (seed 0 is the v2 study's own teacher, ``benchmarks/_work/study/v2/runs/breastmnist/teacher``);
2. distils cnn-small from the ensemble under the v2 recipe (augmentation, K = 8 cached views,
   100 epochs, every choice on validation), KD and MIP + KD, the study's 5 seeds;
3. compares them, paired by seed, with the same students distilled from the seed-0 teacher
   alone (the v2 study's runs), and marks the targets: AUC >= 90.1 (ResNet-18 (28)),
   moonshot > 91.9 (Google AutoML Vision).

    python benchmarks/ensemble/ensemble.py --teachers --jobs 2   # the members (~5 min each on one core)
    python benchmarks/ensemble/ensemble.py --jobs 2              # the students, then the report
    python benchmarks/ensemble/ensemble.py --report-only

Runs are skipped when finished (the study's runner); results go to ``benchmarks/ensemble/ensemble.{md,json,png}``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from benchmarks._lib.provenance import rel_path  # noqa: E402
from benchmarks.study.lib import recipe  # noqa: E402
from benchmarks.study.lib.plan import PROFILES, student_spec, teacher_spec  # noqa: E402
from benchmarks.study.lib.runner import run_plan  # noqa: E402
from benchmarks.study.lib.stats import mean_sd, ms_text, paired, row_of  # noqa: E402

DATASET, REGIME, STUDENT = "breastmnist", "full", "cnn-small"
METHODS = ["kd", "mip+kd"]
TARGET_LABELS = ("target: ResNet-18 (28) 90.1", "moonshot: AutoML Vision 91.9")
V2 = PROFILES["v2"]
OLD = PROFILES["full"]


def member_specs(members: int) -> list[dict]:
    return [teacher_spec(V2, DATASET, seed) for seed in range(members)]


def ensemble_name(members: int) -> str:
    return f"ens{members}"


def student_specs(members: int, seeds: list[int]) -> list[dict]:
    """The v2 study's student specs with the ensemble as teacher, in their own folders and caches
    (``<method>-ens<N>``, cache ``ens<N>-...``: a cache records its teacher's hash and refuses
    another, so the single teacher's caches could not be reused anyway)."""
    teachers = [s["out"] / "model.pt" for s in member_specs(members)]
    specs = []
    for seed in seeds:
        for method in METHODS:
            spec = student_spec(V2, DATASET, REGIME, STUDENT, method, seed)
            name = ensemble_name(members)
            spec.update(teacher=teachers, out=spec["out"].parent.parent / f"{method}-{name}" / f"s{seed}",
                        cache=spec["cache"].parent / f"{name}-{spec['cache'].name}", method=f"{method}-{name}")
            specs.append(spec)
    return specs


def single_teacher_run(method: str, seed: int) -> dict | None:
    return row_of(V2, V2["root"] / "runs" / DATASET / REGIME / STUDENT / method / f"s{seed}")


def collect(members: int, seeds: list[int]) -> dict:
    """Teachers (each member and the ensemble), students (single teacher vs ensemble, paired by seed)."""
    teachers = []
    for spec in member_specs(members):
        t = row_of(V2, spec["out"])
        if t:
            teachers.append({"seed": spec["train"].seed, "path": rel_path(spec["out"] / "model.pt"),
                             "test_auc": t["test_auc"], "test_acc": t["test_acc"], "val_auc": t["val_auc"]})
    alone = [row_of(OLD, OLD["root"] / "runs" / DATASET / REGIME / STUDENT / "ce" / f"s{s}") for s in seeds]
    alone_auc = mean_sd([r["test_auc"] for r in alone if r])["mean"]
    res = {"dataset": DATASET, "regime": REGIME, "student": STUDENT, "members": members, "seeds": seeds,
           "recipe": {"epochs": V2["datasets"][DATASET]["epochs"][REGIME], "augment": True, "views": V2["views"],
                      "teacher_epochs": V2["datasets"][DATASET]["teacher_epochs"], "threads": 1},
           "teachers": teachers, "ensemble_teacher": None, "old_alone_auc": alone_auc, "methods": {}}
    for method in METHODS:
        single, ens = {}, {}
        for spec in student_specs(members, seeds):
            if spec["method"] != f"{method}-{ensemble_name(members)}":
                continue
            r, s = row_of(V2, spec["out"]), single_teacher_run(method, spec["seed"])
            if r:
                ens[spec["seed"]] = r
                res["ensemble_teacher"] = res["ensemble_teacher"] or r["teacher_test"]
            if s:
                single[spec["seed"]] = s
        common = sorted(set(single) & set(ens))
        row = {"n": len(ens), "seeds_paired": common, "val_auc": mean_sd([ens[s]["val_auc"] for s in sorted(ens)]),
               "test_auc_by_seed": {s: {"single": single[s]["test_auc"], "ensemble": ens[s]["test_auc"]}
                                    for s in common}}
        for metric in ("auc", "acc"):
            key = f"test_{metric}"
            row[metric] = {"single": mean_sd([single[s][key] for s in sorted(single)]),
                           "ensemble": mean_sd([ens[s][key] for s in sorted(ens)]),
                           "delta": paired([ens[s][key] for s in common], [single[s][key] for s in common])}
        res["methods"][method] = row
    return res


def markdown(res: dict) -> str:
    n = res["members"]
    L = [f"# BreastMNIST cnn-small from an ensemble of {n} teachers", "",
         f"Teachers: ResNet-20 with the study's teacher recipe ({res['recipe']['teacher_epochs']} epochs, "
         "augmentation, picked on validation AUC), seeds 0..{} (seed 0 is the v2 study's teacher). Students: "
         "cnn-small under the v2 recipe ({} epochs, augmentation with K = {} cached teacher views), seeds {}, "
         "1 torch thread; the ensemble is the mean of the members' logits (and maps at the common size), "
         "cached like one teacher. Made by `python benchmarks/ensemble/ensemble.py`.".format(
             n - 1, res["recipe"]["epochs"], res["recipe"]["views"], ", ".join(map(str, res["seeds"]))), "",
         "## Teachers (test set, 156 images)", "", "| teacher | val AUC | test AUC | test ACC |", "|---|---|---|---|"]
    for t in res["teachers"]:
        L.append(f"| seed {t['seed']} | {100 * t['val_auc']:.1f} | {100 * t['test_auc']:.1f} | {100 * t['test_acc']:.1f} |")
    e = res["ensemble_teacher"]
    if e:
        L.append(f"| **ensemble of {n}** | | **{100 * e['auc']:.1f}** | {100 * e['accuracy']:.1f} |")
    L += ["", "## Students (test AUC / ACC, mean ± sd over seeds; Δ = ensemble − single teacher, paired by seed, "
          "95 % t-interval)", "",
          "| method | n | single teacher AUC | ensemble AUC | Δ AUC | single ACC | ensemble ACC | Δ ACC |",
          "|---|---|---|---|---|---|---|---|"]
    ms, delta = ms_text, recipe.delta_text
    for method, row in res["methods"].items():
        cells = [f"{ms(row[m]['single'])} | {ms(row[m]['ensemble'])} | {delta(row[m]['delta'])}" for m in ("auc", "acc")]
        L.append(f"| {method.upper()} | {row['n']} | {cells[0]} | {cells[1]} |")
    L += ["", "## Targets (the ensemble student picked on validation AUC)", ""]
    rows = [t for t in recipe.targets({}, res) if "ensemble" in t["target"]]  # the study's own verdicts
    for t in rows:
        shown = "no ensemble student yet" if t["measured"] is None else f"{100 * t['measured']:.1f}"
        margin = "" if t["margin"] is None else f", margin {100 * t['margin']:+.1f} points"
        L.append(f"- {t['target']}: {shown} -> **{'met' if t['met'] else 'missed'}**{margin}")
    best = recipe.ensemble_best(res)
    if e and res["teachers"]:
        members = [100 * t["test_auc"] for t in res["teachers"]]
        L.append(f"- The ensemble teacher itself: test AUC {100 * e['auc']:.1f} (members {min(members):.1f} to "
                 f"{max(members):.1f}): the students' means come close to it, not above it")
    if best and e:
        alone = res["old_alone_auc"]
        rec = recipe.recovery(e["auc"], alone, best[1])
        L.append(f"- Gap recovery of the best ({best[0].upper()}) against the ensemble teacher (alone = the study's "
                 f"cnn-small trained alone, {100 * alone:.1f}): " + (f"{100 * rec:.0f} %" if rec is not None
                                                                      else "n/a (no gap)"))
    return "\n".join(L) + "\n"


def plot(res: dict, path: Path) -> None:
    """ensemble.png: each seed's student test AUC from the single teacher and from the ensemble
    (a line per seed), beside both teachers and the targets."""
    from edgekd.plotting import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    for i, row in enumerate(res["methods"].values()):
        for pair in row["test_auc_by_seed"].values():
            ax.plot([2 * i, 2 * i + 1], [100 * pair["single"], 100 * pair["ensemble"]], color=f"C{i}", marker="o",
                    alpha=0.7)
    single_teacher = next((t for t in res["teachers"] if t["seed"] == 0), None)
    lines = [(TARGET_LABELS[0], 90.1, ":"), (TARGET_LABELS[1], 91.9, "-.")]
    if single_teacher:
        lines.append(("single teacher (seed 0)", 100 * single_teacher["test_auc"], "--"))
    if res["ensemble_teacher"]:
        lines.append((f"ensemble of {res['members']}", 100 * res["ensemble_teacher"]["auc"], "-"))
    for label, y, style in lines:
        ax.axhline(y, color="grey", ls=style, lw=1, label=label)
    names = [m.upper() for m in res["methods"]]
    ax.set_xticks(range(2 * len(names)), [f"{n}\n{who}" for n in names for who in ("single", "ensemble")], fontsize=8)
    ax.set_ylabel("student test AUC (%)")
    ax.set_title(f"BreastMNIST {res['student']}: single teacher vs ensemble, paired by seed", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--members", type=int, default=5, help="teachers in the ensemble (seeds 0..N-1); default 5")
    ap.add_argument("--teachers", action="store_true", help="train only the members")
    ap.add_argument("--report-only", action="store_true", help="only rewrite ensemble.{md,json} from finished runs")
    ap.add_argument("--jobs", type=int, default=1, help="runs at a time, each in its own process (1 thread each)")
    args = ap.parse_args(argv)
    seeds = V2["datasets"][DATASET]["seeds"]
    if not args.report_only:
        specs = member_specs(args.members) if args.teachers else member_specs(args.members) + student_specs(
            args.members, seeds)
        run_plan(specs, log=lambda s: print(s, flush=True), jobs=args.jobs, threads=1)
    if args.teachers:
        return
    res = collect(args.members, seeds)
    (HERE / "ensemble.json").write_text(json.dumps(res, indent=1) + "\n")
    (HERE / "ensemble.md").write_text(markdown(res) + "\n![paired students](ensemble.png)\n")
    plot(res, HERE / "ensemble.png")
    print(markdown(res))


if __name__ == "__main__":
    main()
