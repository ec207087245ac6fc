"""The small hyper-parameter sweep behind the study's defaults.

PneumoniaMNIST, student ``cnn-tiny``, all training labels, the study's ResNet-20 teacher
(``benchmarks/_work/study/runs/pneumoniamnist/teacher``) through the teacher cache, no
augmentation, seeds 0 and 1, 8 epochs (the study trains 20), model selection and the
sweep's choice both on **validation AUC**; the test split is never read for a choice
(the library writes test.json, the sweep ignores it).

One factor at a time, in stages (a later stage uses the earlier stages' choices):
  A  KD: T in {2, 4, 8} at alpha 0.9, and alpha 0.5 at T 4 (CE alone as reference).
  B  attention alone (alpha 0): beta in {1, 10, 100} for FMA, MIP and SALS.
  C  FMA at its stage-B beta: attention loss bce / dice (vs mse), all stages captured
     (vs the default first + last), attention size 14 (vs the 28 px input).
  D  AT alone (alpha 0): beta in {10, 100, 1000}; the official 1000 (METHOD.md) is the
     default.  (Added after the study's first pass, once the teacher cache learnt AT: a
     baseline left at an untuned weight would flatter the attention methods.)

Choice rule: the highest mean validation AUC over the seeds; where a stage has a
literature default (T 4, alpha 0.9, mse, default layers, input size), the default is
kept unless the best config beats it by more than the standard error of a difference
(pooled between-seed sd x sqrt(2 / seeds)), i.e. unless the sweep can tell them apart.

    python benchmarks/sweep/sweep.py --stage ab --seeds 0      # two processes side by side
    python benchmarks/sweep/sweep.py --stage ab --seeds 1
    python benchmarks/sweep/sweep.py --stage c                  # needs stage B
    python benchmarks/sweep/sweep.py --stage d --jobs 2
    python benchmarks/sweep/sweep.py --report                   # -> benchmarks/sweep/sweep.md / sweep.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from benchmarks._lib.provenance import rel_path  # noqa: E402
from benchmarks.study.lib.plan import PROFILES  # noqa: E402
from benchmarks.study.lib.runner import run_plan  # noqa: E402
from edgekd.distillation.run import DistillConfig  # noqa: E402
from edgekd.training.loop import TrainConfig  # noqa: E402

RUNS = HERE.parent / "_work" / "sweep"
DATASET, STUDENT, EPOCHS, SEEDS = "pneumoniamnist", "cnn-tiny", 8, [0, 1]
FULL = PROFILES["full"]
TEACHER = FULL["root"] / "runs" / DATASET / "teacher" / "model.pt"
CACHE = FULL["root"] / "cache" / DATASET / "full"


def stage_ab() -> dict[str, DistillConfig]:
    c = {"ce": DistillConfig(method="none", alpha=0.0, beta=0.0)}
    for t in (2.0, 4.0, 8.0):
        c[f"kd_T{t:g}_a0.9"] = DistillConfig(method="kd", alpha=0.9, temperature=t, beta=0.0)
    c["kd_T4_a0.5"] = DistillConfig(method="kd", alpha=0.5, temperature=4.0, beta=0.0)
    for m in ("fma", "mip", "sals"):
        for b in (1.0, 10.0, 100.0):
            c[f"{m}_b{b:g}"] = DistillConfig(method=m, alpha=0.0, beta=b)
    return c


def stage_c(beta: float) -> dict[str, DistillConfig]:
    from edgekd.models.registry import create_model

    t_stages = list(create_model("resnet20", 1, 2).stages)
    s_stages = list(create_model(STUDENT, 1, 2).stages)
    c = {}
    for loss in ("bce", "dice"):
        c[f"fma_b{beta:g}_{loss}"] = DistillConfig(method="fma", alpha=0.0, beta=beta, att_loss=loss)
    c[f"fma_b{beta:g}_all-stages"] = DistillConfig(method="fma", alpha=0.0, beta=beta, teacher_layers=t_stages,
                                                   student_layers=s_stages)
    c[f"fma_b{beta:g}_size14"] = DistillConfig(method="fma", alpha=0.0, beta=beta, att_size=14)
    return c


def stage_d() -> dict[str, DistillConfig]:
    return {f"at_b{b:g}": DistillConfig(method="at", alpha=0.0, beta=b) for b in (10.0, 100.0, 1000.0)}


def spec(name: str, dcfg: DistillConfig, seed: int) -> dict:
    cfg = TrainConfig(epochs=EPOCHS, batch_size=128, lr=FULL["lr"], augment=False, seed=seed, device="auto",
                      select="auc")
    return {"kind": "student", "dataset": DATASET, "regime": "full", "model": STUDENT, "method": name,
            "seed": seed, "train": cfg, "distill": dcfg, "cache": CACHE, "teacher": TEACHER,
            "out": RUNS / name / f"s{seed}"}


def val_auc(name: str) -> dict[int, float]:
    out = {}
    for seed in SEEDS:
        m = RUNS / name / f"s{seed}" / "metrics.json"
        if (RUNS / name / f"s{seed}" / "test.json").exists() and m.exists():
            out[seed] = json.loads(m.read_text())["best"]["val"]["auc"]  # validation only
    return out


def choose(names: list[str], default: str | None) -> dict:
    rows = {n: val_auc(n) for n in names}
    rows = {n: v for n, v in rows.items() if v}
    if not rows:
        return {"choice": default, "reason": "no finished runs"}
    means = {n: float(np.mean(list(v.values()))) for n, v in rows.items()}
    sds = [np.std(list(v.values()), ddof=1) for v in rows.values() if len(v) > 1]
    pooled = float(np.sqrt(np.mean(np.square(sds)))) if sds else float("nan")
    se_diff = pooled * math.sqrt(2 / len(SEEDS)) if sds else float("nan")
    best = max(means, key=means.get)
    choice, reason = best, "highest mean val AUC"
    if default in means and best != default and not (means[best] - means[default] > se_diff):
        choice, reason = default, (f"default kept: best ({best}) is within one SE of a difference "
                                   f"({(means[best] - means[default]) * 100:.2f} <= {se_diff * 100:.2f} points)")
    return {"choice": choice, "reason": reason, "best": best, "means": means, "pooled_sd": pooled,
            "se_diff": se_diff, "values": rows}


def decide() -> dict:
    d: dict = {}
    kd = [n for n in stage_ab() if n.startswith("kd_")]
    d["kd"] = choose(kd, "kd_T4_a0.9")
    for m in ("fma", "mip", "sals"):
        d[m] = choose([n for n in stage_ab() if n.startswith(m + "_")], None)
    fma_beta = float(d["fma"]["choice"].split("_b")[1]) if d["fma"].get("choice") else 1.0
    base = f"fma_b{fma_beta:g}"
    d["fma_variants"] = choose([base] + list(stage_c(fma_beta)), base)
    d["at"] = choose(list(stage_d()), "at_b1000")
    return d


def defaults_from(d: dict) -> dict:
    kd = d["kd"]["choice"] or "kd_T4_a0.9"
    t, a = kd.split("_")[1][1:], kd.split("_")[2][1:]
    out = {"temperature": float(t), "alpha": float(a), "beta": {"at": 1000.0}, "att_loss": "mse", "att_size": None,
           "layers": "default"}
    for m in ("fma", "mip", "sals"):
        out["beta"][m] = float(d[m]["choice"].split("_b")[1]) if d[m].get("choice") else 1.0
    if d.get("at", {}).get("choice"):
        out["beta"]["at"] = float(d["at"]["choice"].split("_b")[1])
    v = d["fma_variants"].get("choice") or ""
    if v.endswith("_bce") or v.endswith("_dice"):
        out["att_loss"] = v.rsplit("_", 1)[1]
    elif v.endswith("_size14"):
        out["att_size"] = 14
    elif v.endswith("_all-stages"):
        out["layers"] = "all stages (FMA/MIP)"
    return out


def report() -> None:
    d = decide()
    chosen = defaults_from(d)
    ce = val_auc("ce")
    table = {}
    for stage, names in (("A/B", list(stage_ab())), ("C", list(stage_c(chosen["beta"]["fma"]))),
                         ("D", list(stage_d()))):
        for n in names:
            v = val_auc(n)
            if v:
                times = []
                for seed in v:
                    m = json.loads((RUNS / n / f"s{seed}" / "metrics.json").read_text())
                    times += [e["time_s"] for e in m["epochs"]]
                table[n] = {"stage": stage, "val_auc": v, "mean": float(np.mean(list(v.values()))),
                            "vs_ce": (float(np.mean([v[s] - ce[s] for s in v if s in ce])) if ce else None),
                            "s_per_epoch": float(np.mean(times))}
    out = {"setup": {"dataset": DATASET, "student": STUDENT, "epochs": EPOCHS, "seeds": SEEDS, "teacher": rel_path(TEACHER),
                     "selection": "val AUC (model and choice)", "augment": False, "teacher_cache": True},
           "runs": table, "decisions": d, "chosen_defaults": chosen}
    (HERE / "sweep.json").write_text(json.dumps(out, indent=1, default=str) + "\n")
    L = ["# Hyper-parameter sweep for the study's defaults (PneumoniaMNIST, validation AUC)", "",
         f"Generated by `benchmarks/sweep/sweep.py --report`. Student {STUDENT}, teacher ResNet-20 (cached), "
         f"{EPOCHS} epochs, seeds {SEEDS}, no augmentation; model selection and every choice on **validation** "
         "AUC (test never read). One factor at a time; see the docstring for the stages and the choice rule. "
         "Two seeds and 524 validation images: differences under ~0.5 AUC points are within noise, so "
         "these are defensible defaults, not optima.", "",
         "| config | stage | val AUC seed 0 | seed 1 | mean | Δ vs CE (paired) | s/epoch |",
         "|---|---|---|---|---|---|---|"]
    for n, r in table.items():
        vals = [f"{r['val_auc'].get(s, float('nan')) * 100:.2f}" for s in SEEDS]
        dce = f"{r['vs_ce'] * 100:+.2f}" if r["vs_ce"] is not None else "-"
        L.append(f"| {n} | {r['stage']} | {' | '.join(vals)} | {r['mean'] * 100:.2f} | {dce} "
                 f"| {r['s_per_epoch']:.1f} |")
    L += ["", "## Decisions", ""]
    for k, v in d.items():
        L.append(f"- {k}: **{v.get('choice')}** ({v.get('reason')}; pooled seed sd "
                 f"{v.get('pooled_sd', float('nan')) * 100:.2f} points)")
    edge = [m for m in ("fma", "mip", "sals") if chosen["beta"][m] == 1.0]
    if edge:
        L += ["", f"Caveat: for {', '.join(edge)} the chosen beta = 1 is the *lowest* value tried, and validation "
              "AUC falls as beta grows; at beta = 1 the attention-only students are within noise of CE (column "
              "Δ vs CE). The attention term helps nothing measurable at this weight on this set; a lower beta would "
              "only move further toward CE. KD (any T in 2-8, alpha 0.5-0.9) is the only clear gain over CE here."]
    L += ["", "## Chosen defaults (used by benchmarks/study/study.py `DEFAULTS`)", "", "```json",
          json.dumps(chosen, indent=1), "```", ""]
    (HERE / "sweep.md").write_text("\n".join(L))
    print("\n".join(L))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stage", choices=["ab", "c", "d"])
    ap.add_argument("--jobs", type=int, default=1, help="runs at a time, each in its own process")
    ap.add_argument("--seeds", type=int, nargs="*", default=SEEDS)
    ap.add_argument("--report", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    if args.stage:
        if not TEACHER.exists():
            raise SystemExit(f"train the teacher first: python benchmarks/study/study.py --teachers --dataset {DATASET}")
        if args.stage == "ab":
            configs = stage_ab()
        elif args.stage == "d":
            configs = stage_d()
        else:
            beta = defaults_from(decide())["beta"]["fma"]
            configs = stage_c(beta)
        specs = [spec(n, c, s) for s in args.seeds for n, c in configs.items()]
        run_plan(specs, log=lambda s: print(s, flush=True), jobs=args.jobs, threads=args.threads)
    if args.report:
        report()


if __name__ == "__main__":
    main()
