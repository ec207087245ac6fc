"""Issue 9: does attention guidance beat KD and AT?  The paired multi-seed study.

Run from the repository root (``EDGEKD_DATA`` defaults to ../shared/data):

    python benchmarks/study.py --list              # the parts, their runs, what is finished
    python benchmarks/study.py --part 1            # one part (<= ~1 h on 2 free cores, see --list)
    python benchmarks/study.py --dataset breastmnist --regime low
    python benchmarks/study.py --report            # aggregate -> benchmarks/study.md, study/results.json, PNGs
    python benchmarks/study.py --all --jobs 2      # everything, two runs at a time (one per core)
    python benchmarks/study.py --quick --jobs 2    # 1 seed, 1 epoch per run, everything -> benchmarks/study/quick/,
                                                   # with the full study's projected time on this machine

Design (decisions written down here, as METHOD.md asks):
- One teacher per data set: ResNet-20, trained once on the study's whole training set
  (with random-shift augmentation), selected on validation.
- Students ``cnn-tiny`` and ``cnn-small``; methods CE (student alone), KD, AT, AT+KD,
  FMA, MIP, SALS, FMA+KD, MIP+KD, SALS+KD.  Every student run, CE included, goes
  through ``edgekd.distill.run.distill`` (CE = method "none", alpha 0), so for one seed
  every method starts from the *same* student initialisation, sees the same batches in
  the same order and, in the low-data regime, the same stratified label subset: the
  comparison is paired by seed.
- Students train without augmentation: the teacher cache (logits, maps, AT's per-layer
  maps) needs identical inputs every epoch.  The committed AT and AT+KD runs were made
  with the live teacher, before the cache learnt AT; the cached form computes the same
  loss up to float32 rounding (tests/test_distill.py), and a rerun uses it.
- Model selection: the best epoch on the validation split, by validation AUC on the
  binary sets (the issue's probe: val accuracy saturates near 0.96 and the test split's
  class balance differs from train/val, so accuracy is a threshold-sensitive, noisy
  selector) and by validation accuracy on MNIST.  The test split is read once per run,
  by the library, after selection.  Nothing in this script selects on test.
- Regimes: ``full`` (all training labels; MNIST: a stratified 10 % subsample, 5,500
  images, to fit the time budget) and ``low`` (10 % of the full regime's fraction,
  stratified, seeded by the run's seed).  The teacher is trained on the whole training set
  (MNIST: a 20 % subsample, 11,000 images, seed 0, 4 epochs; the students' subsets, drawn
  with their own seeds, overlap it only partly).
- Schedules (per data set and regime, see ``PROFILES``) are short to fit ~4 h on 2 cores;
  small training sets get small batches so that every run takes >= ~200 SGD steps.
  Study runs skip the loop's per-epoch curves.png (see ``_no_curve_plots``).
- Statistics (``paired``): per seed the difference method - reference; mean, a
  two-sided 95 % t-interval over seeds (df = n - 1) and a paired bootstrap interval over
  seeds (10,000 resamples, fixed seed).  A method "beats" another only where the
  t-interval excludes zero on the positive side.
- Hyper-parameters (T, alpha, beta, attention loss, layers, size) come from
  ``benchmarks/sweep.py`` (validation AUC on PneumoniaMNIST), copied into ``DEFAULTS``.
- Resume: a run whose folder holds ``test.json`` and whose ``metrics.json`` records the
  same training config and method is skipped; an unfinished run (``last.pt``) resumes;
  a folder holding a run of another config is an error (delete it, or ``--force``).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("EDGEKD_DATA", str(ROOT.parent / "shared" / "data"))

from edgekd.distill.run import DistillConfig, distill  # noqa: E402
from edgekd.train.loop import TrainConfig  # noqa: E402
from edgekd.train.supervised import train_supervised  # noqa: E402

BENCH = ROOT / "benchmarks"
STUDY_DIR = BENCH / "study"

# Chosen by benchmarks/sweep.py (see sweep.md: val AUC, PneumoniaMNIST, cnn-tiny, 2 seeds, 8 epochs);
# they equal the earlier placeholders. AT keeps the official beta = 1000.
DEFAULTS = {"temperature": 4.0, "alpha": 0.9, "beta": {"at": 1000.0, "fma": 1.0, "mip": 1.0, "sals": 1.0},
            "att_loss": "mse", "att_size": None, "layers": "default"}

METHODS = ["ce", "kd", "at", "at+kd", "fma", "mip", "sals", "fma+kd", "mip+kd", "sals+kd"]
ATTENTION = ["fma", "mip", "sals", "fma+kd", "mip+kd", "sals+kd"]
STUDENTS = ["cnn-tiny", "cnn-small"]
TEACHER = "resnet20"

# Published MedMNIST v2 rows (Yang et al. 2023, Table), for reference only.
PUBLISHED = {
    "pneumoniamnist": [("ResNet-18 (28)", 0.854, 0.944), ("ResNet-50 (224)", 0.884, 0.962)],
    "breastmnist": [("ResNet-18 (28)", 0.863, 0.901)],
}

# A profile fixes everything that shapes the runs.  "full" is the study; "quick" (built from it by
# ``quick_profile``) checks the pipeline end to end; tests build their own (digits, 1 epoch).
PROFILES = {
    "full": {
        "root": STUDY_DIR,
        "datasets": {
            "pneumoniamnist": {"binary": True, "seeds": [0, 1, 2, 3, 4], "full_fraction": 1.0,
                               "batch": {"full": 128, "low": 32}, "epochs": {"full": 10, "low": 20},
                               "teacher_epochs": 10, "teacher_batch": 128},
            # teacher v1 (batch 128: 5 steps per epoch, 200 in all) is kept in runs/breastmnist/teacher_v1_batch128
            "breastmnist": {"binary": True, "seeds": [0, 1, 2, 3, 4], "full_fraction": 1.0,
                            "batch": {"full": 32, "low": 8}, "epochs": {"full": 25, "low": 30},
                            "teacher_epochs": 60, "teacher_batch": 32, "teacher_lr": 0.05},
            # MNIST: a stratified 10 % subsample of the 55,000 training images (5,500) to fit the budget
            "mnist": {"binary": False, "seeds": [0, 1, 2], "full_fraction": 0.1,
                      "batch": {"full": 64, "low": 32}, "epochs": {"full": 5, "low": 15},
                      "teacher_epochs": 4, "teacher_batch": 128, "teacher_fraction": 0.2},
        },
        "regimes": {"full": 1.0, "low": 0.1},
        "students": STUDENTS, "methods": METHODS, "teacher": TEACHER, "lr": 0.05, "teacher_lr": 0.1,
    },
}


def quick_profile(full: dict) -> dict:
    """The full study with 1 seed and 1 epoch per run (teachers included), on the same data,
    subsets and batch sizes: a pipeline check, not evidence, whose per-run times project the
    full study's cost on this machine (``projection``)."""
    quick = copy.deepcopy(full)
    quick["root"] = STUDY_DIR / "quick"
    for d in quick["datasets"].values():
        d.update(seeds=d["seeds"][:1], epochs={regime: 1 for regime in d["epochs"]}, teacher_epochs=1)
    return quick


PROFILES["quick"] = quick_profile(PROFILES["full"])


# Parts of the full study, each meant to fit in ~1 h on 2 free cores (see --list for the
# estimate from finished runs).  Teachers are trained by whichever part needs them first.
PARTS = [
    {"dataset": "pneumoniamnist", "regime": "full", "students": ["cnn-tiny"]},
    {"dataset": "pneumoniamnist", "regime": "full", "students": ["cnn-small"]},
    {"dataset": "pneumoniamnist", "regime": "low", "students": STUDENTS},
    {"dataset": "breastmnist", "regime": "full", "students": STUDENTS},
    {"dataset": "breastmnist", "regime": "low", "students": STUDENTS},
    {"dataset": "mnist", "regime": "full", "students": ["cnn-tiny"]},
    {"dataset": "mnist", "regime": "full", "students": ["cnn-small"]},
    {"dataset": "mnist", "regime": "low", "students": STUDENTS},
]


# ----------------------------------------------------------------------------- run specs

def method_config(method: str, defaults: dict = DEFAULTS) -> DistillConfig:
    """The DistillConfig of a study method name (``fma+kd`` = FMA with alpha > 0)."""
    base, _, plus = method.partition("+")
    alpha = defaults["alpha"] if (base == "kd" or plus == "kd") else 0.0
    if base == "ce":
        return DistillConfig(method="none", alpha=0.0, temperature=defaults["temperature"], beta=0.0)
    if base == "kd":
        return DistillConfig(method="kd", alpha=alpha, temperature=defaults["temperature"], beta=0.0)
    layers = defaults.get("layers", "default")
    dcfg = DistillConfig(method=base, alpha=alpha, temperature=defaults["temperature"], beta=defaults["beta"][base],
                         att_loss=defaults["att_loss"], att_size=defaults["att_size"])
    if base in ("fma", "mip") and isinstance(layers, dict):
        dcfg.teacher_layers, dcfg.student_layers = layers.get("teacher"), layers.get("student")
    return dcfg


def teacher_spec(profile: dict, dataset: str) -> dict:
    d = profile["datasets"][dataset]
    cfg = TrainConfig(epochs=d["teacher_epochs"], batch_size=d["teacher_batch"],
                      lr=d.get("teacher_lr", profile["teacher_lr"]),
                      augment=True, seed=0, device="auto", select="auc" if d["binary"] else "accuracy",
                      label_fraction=d.get("teacher_fraction", d["full_fraction"]))
    return {"kind": "teacher", "dataset": dataset, "model": profile["teacher"], "train": cfg,
            "out": profile["root"] / "runs" / dataset / "teacher"}


def student_spec(profile: dict, dataset: str, regime: str, student: str, method: str, seed: int) -> dict:
    d = profile["datasets"][dataset]
    fraction = round(d["full_fraction"] * profile["regimes"][regime], 6)
    batch = d["batch"][regime] if isinstance(d["batch"], dict) else d["batch"]
    cfg = TrainConfig(epochs=d["epochs"][regime], batch_size=batch, lr=profile["lr"], augment=False, seed=seed,
                      device="auto", select="auc" if d["binary"] else "accuracy", label_fraction=fraction)
    key = "full" if fraction == 1.0 else f"{regime}-f{fraction}-s{seed}"
    cache = profile["root"] / "cache" / dataset / key
    return {"kind": "student", "dataset": dataset, "regime": regime, "model": student, "method": method,
            "seed": seed, "train": cfg, "distill": method_config(method, profile.get("defaults", DEFAULTS)),
            "cache": cache, "out": profile["root"] / "runs" / dataset / regime / student / method / f"s{seed}",
            "teacher": profile["root"] / "runs" / dataset / "teacher" / "model.pt"}


def plan(profile: dict, datasets=None, regimes=None, students=None, methods=None) -> list[dict]:
    """Teachers first, then students ordered seed-major (an interrupted part leaves whole seeds)."""
    specs = []
    for ds in profile["datasets"]:
        if datasets and ds not in datasets:
            continue
        specs.append(teacher_spec(profile, ds))
        for regime in profile["regimes"]:
            if regimes and regime not in regimes:
                continue
            for seed in profile["datasets"][ds]["seeds"]:
                for student in profile["students"]:
                    if students and student not in students:
                        continue
                    for method in profile["methods"]:
                        if methods and method not in methods:
                            continue
                        specs.append(student_spec(profile, ds, regime, student, method, seed))
    return specs


def _json_spec(spec: dict) -> dict:
    out = {k: v for k, v in spec.items() if k not in ("train", "distill", "out", "cache", "teacher")}
    out["teacher"] = str(spec.get("teacher")) if spec.get("teacher") else None
    out["train"] = asdict(spec["train"])
    if "distill" in spec:
        out["distill"] = asdict(spec["distill"])
    out["cache"] = str(spec["cache"]) if spec.get("cache") else None
    return out


def run_state(spec: dict) -> str:
    """'done', 'partial' (resumable), 'new', or 'mismatch' (the folder holds another config)."""
    out: Path = spec["out"]
    metrics = out / "metrics.json"
    if not metrics.exists():
        return "partial" if (out / "last.pt").exists() else "new"
    m = json.loads(metrics.read_text())
    same = m.get("config") == asdict(spec["train"]) and m.get("model", {}).get("name") == spec["model"]
    if same and spec["kind"] == "student":
        d, rec = spec["distill"], m.get("distill") or {}
        same = (rec.get("method") == d.method and math.isclose(rec.get("alpha", -1), d.alpha)
                and math.isclose(rec.get("beta", -1), d.beta or 0.0)
                and math.isclose(rec.get("temperature", -1), d.temperature) and rec.get("att_loss") == d.att_loss
                and rec.get("att_size") == d.att_size)
    if not same:
        return "mismatch"
    if (out / "test.json").exists():
        return "done"
    return "partial" if (out / "last.pt").exists() else "new"


def execute(spec: dict, force: bool = False, log=print) -> str:
    """Run one spec unless finished; returns the state it was found in."""
    state = run_state(spec)
    if state == "done" and not force:
        return state
    if state == "mismatch" and not force:
        raise SystemExit(f"{spec['out']} holds a run with another config; delete it or pass --force")
    out: Path = spec["out"]
    out.mkdir(parents=True, exist_ok=True)
    (out / "study_run.json").write_text(json.dumps(_json_spec(spec), indent=1) + "\n")
    resume = state == "partial" and not force
    with _no_curve_plots():
        wall = _train(spec, out, resume, force or state == "mismatch", log, state)
    record = {**_json_spec(spec), "wall_s": round(wall, 2), "resumed": resume}
    (out / "study_run.json").write_text(json.dumps(record, indent=1) + "\n")
    return state


@contextlib.contextmanager
def _no_curve_plots():
    """The loop redraws curves.png after every epoch (~1 s of matplotlib on this machine, as much as a
    small epoch itself); study runs skip it (metrics.json keeps the numbers).  Restored afterwards."""
    import edgekd.train.loop as loop

    saved = loop.plot_curves
    loop.plot_curves = lambda *a, **k: None
    try:
        yield
    finally:
        loop.plot_curves = saved


def _train(spec: dict, out: Path, resume: bool, restart: bool, log=print, state: str = "") -> float:
    """Train one run; returns its wall time in seconds (setup, teacher cache, epochs, test)."""
    t0 = time.perf_counter()
    if spec["kind"] == "teacher":
        train_supervised(spec["model"], spec["dataset"], out, spec["train"], resume=resume, force=restart, quiet=True)
    else:
        teacher = teacher_spec_for(spec)
        distill(teacher, spec["model"], spec["dataset"], out, spec["train"], spec["distill"],
                teacher_cache=spec["cache"], resume=resume, force=restart, quiet=True, figure_images=0)
    wall = time.perf_counter() - t0
    log(f"  {state:>7} -> done  {_rel(out)}  {wall:.0f}s")
    return wall


def teacher_spec_for(spec: dict) -> Path:
    return spec["teacher"]


def run_plan(specs: list[dict], force: bool = False, log=print, jobs: int = 1, threads: int = 1) -> dict:
    """Run the specs (teachers first); ``jobs`` > 1 runs that many at a time, each in its own
    process with ``threads`` torch threads.  Returns {state found: count}."""
    counts: dict[str, int] = {}
    if jobs <= 1:
        for i, spec in enumerate(specs, 1):
            if spec["kind"] == "student" and not teacher_spec_for(spec).exists():
                raise SystemExit(f"teacher for {spec['dataset']} missing: it must come first in the plan")
            state = execute(spec, force, log=lambda s, i=i: log(f"[{i}/{len(specs)}]{s}"))
            counts[state] = counts.get(state, 0) + 1
        return counts
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    finished = 0
    context = multiprocessing.get_context("spawn")  # fork after torch's thread pools start can hang
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_set_threads, initargs=(threads,)) as pool:
        for phase in ("teacher", "student"):  # students read the teachers' checkpoints
            todo = [s for s in specs if s["kind"] == phase]
            for spec in todo:
                if phase == "student" and not teacher_spec_for(spec).exists():
                    raise SystemExit(f"teacher for {spec['dataset']} missing: it must come first in the plan")
            futures = [pool.submit(_execute_quietly, spec, force) for spec in todo]
            for future in as_completed(futures):
                state, line = future.result()
                finished += 1
                counts[state] = counts.get(state, 0) + 1
                if line:
                    log(f"[{finished}/{len(specs)}]{line}")
    return counts


def _set_threads(threads: int) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


def _execute_quietly(spec: dict, force: bool) -> tuple[str, str]:
    """``execute`` in a worker process: its log line comes back to the parent with the state."""
    lines: list[str] = []
    state = execute(spec, force, log=lines.append)
    return state, "\n".join(lines)


# ----------------------------------------------------------------------------- statistics

def t_quantile(df: int, q: float = 0.975) -> float:
    from scipy import stats

    return float(stats.t.ppf(q, df))


def paired(a: list[float], b: list[float], n_boot: int = 10000, seed: int = 0) -> dict:
    """Paired difference a - b over seeds: mean, sd, 95 % t-interval, bootstrap interval, wins."""
    d = np.asarray(a, float) - np.asarray(b, float)
    n = len(d)
    out = {"n": n, "mean": float(d.mean()) if n else float("nan"), "wins": int((d > 0).sum()),
           "losses": int((d < 0).sum())}
    if n < 2:
        out.update(sd=float("nan"), ci=[float("nan")] * 2, boot_ci=[float("nan")] * 2, beats=False, worse=False)
        return out
    sd = float(d.std(ddof=1))
    half = t_quantile(n - 1) * sd / math.sqrt(n)
    rng = np.random.default_rng(seed)
    boots = d[rng.integers(0, n, size=(n_boot, n))].mean(1)
    out.update(sd=sd, ci=[out["mean"] - half, out["mean"] + half],
               boot_ci=[float(np.quantile(boots, 0.025)), float(np.quantile(boots, 0.975))])
    out["beats"] = bool(out["ci"][0] > 0)
    out["worse"] = bool(out["ci"][1] < 0)
    return out


def mean_sd(values: list[float]) -> dict:
    v = np.asarray(values, float)
    return {"mean": float(v.mean()) if len(v) else float("nan"),
            "sd": float(v.std(ddof=1)) if len(v) > 1 else float("nan"), "n": len(v)}


# ----------------------------------------------------------------------------- aggregation

def read_run(out: Path) -> dict | None:
    if not (out / "test.json").exists() or not (out / "metrics.json").exists():
        return None
    test = json.loads((out / "test.json").read_text())
    m = json.loads((out / "metrics.json").read_text())
    times = [e["time_s"] for e in m.get("epochs", [])]
    return {"test_acc": test["test"]["accuracy"], "test_auc": test["test"].get("auc"),
            "val_acc": test["val"]["accuracy"], "val_auc": test["val"].get("auc"), "best_epoch": test["best_epoch"],
            "params": m.get("params"), "macs": m.get("macs"), "s_per_epoch": float(np.mean(times)) if times else None,
            "epochs": len(times), "teacher_test": test.get("teacher", {}).get("test")}


def aggregate(profile: dict) -> dict:
    """Everything finished under the profile's root -> one results dict (see study.json)."""
    root = profile["root"]
    res: dict = {"profile": {k: (str(v) if isinstance(v, Path) else v) for k, v in profile.items()
                             if k not in ("defaults",)},
                 "defaults": profile.get("defaults", DEFAULTS), "datasets": {}}
    for ds, d in profile["datasets"].items():
        t = read_run(root / "runs" / ds / "teacher")
        entry: dict = {"binary": d["binary"], "teacher": t, "groups": {}}
        for regime in profile["regimes"]:
            for student in profile["students"]:
                runs = {}
                for method in profile["methods"]:
                    per_seed = {}
                    for seed in d["seeds"]:
                        r = read_run(root / "runs" / ds / regime / student / method / f"s{seed}")
                        if r:
                            per_seed[seed] = r
                    runs[method] = per_seed
                if not any(runs.values()):
                    continue
                entry["groups"][f"{regime}/{student}"] = summarise(runs, d["seeds"])
        res["datasets"][ds] = entry
    return res


def summarise(runs: dict[str, dict[int, dict]], seeds: list[int]) -> dict:
    out = {}
    for method, per_seed in runs.items():
        if not per_seed:
            out[method] = {"n": 0, "seeds_done": []}
            continue
        rows = list(per_seed.values())
        row = {"n": len(rows), "seeds_done": sorted(per_seed), "seeds_planned": seeds,
               "params": rows[0]["params"], "macs": rows[0]["macs"],
               "s_per_epoch": mean_sd([r["s_per_epoch"] for r in rows])["mean"]}
        for key in ("test_acc", "test_auc", "val_acc", "val_auc"):
            vals = [r[key] for r in rows if r[key] is not None]
            row[key] = mean_sd(vals)
            row[key]["values"] = {s: per_seed[s][key] for s in sorted(per_seed)}
        for ref in ("ce", "kd", "at"):
            if ref == method or not runs.get(ref):
                continue
            common = sorted(set(per_seed) & set(runs[ref]))
            row[f"vs_{ref}"] = {m: paired([per_seed[s][f"test_{m}"] for s in common],
                                          [runs[ref][s][f"test_{m}"] for s in common]) for m in ("acc", "auc")}
            row[f"vs_{ref}"]["seeds"] = common
        out[method] = row
    return out


# ----------------------------------------------------------------------------- targets

def primary(entry: dict) -> str:
    return "auc" if entry["binary"] else "acc"


def targets(res: dict) -> dict:
    """The issue's targets, each met / missed / incomplete; choices made on validation only."""
    out: dict = {}
    tparams = [e["teacher"]["params"] for e in res["datasets"].values() if e.get("teacher")]
    small = {}
    for e in res["datasets"].values():
        for g in e["groups"].values():
            for m in g.values():
                if m.get("params"):
                    small[m["params"]] = True
    if tparams and small:
        ratio = min(small) / tparams[0]
        out["student_le_5pct_params"] = {"status": "met" if ratio <= 0.05 else "missed",
                                         "smallest_student_params": min(small), "teacher_params": tparams[0],
                                         "ratio": ratio}
    beat, recovery, reach = {}, {}, {}
    prof = res["profile"]
    for ds, e in res["datasets"].items():
        key = primary(e)
        planned_seeds = len(prof["datasets"][ds]["seeds"])
        per_regime = {f"{r}/{st}": {"status": "not run"} for r in prof["regimes"] for st in prof["students"]}
        for gname, g in e["groups"].items():
            cands = [m for m in ATTENTION if g.get(m, {}).get("n")]
            if not cands or not g.get("kd", {}).get("n") or not g.get("at", {}).get("n"):
                per_regime[gname] = {"status": "incomplete"}
                continue
            complete = all(g.get(m, {}).get("n") == planned_seeds for m in prof["methods"])
            best = max(cands, key=lambda m: g[m][f"val_{key}"]["mean"])  # chosen on validation
            vk, va = g[best].get("vs_kd", {}).get(key), g[best].get("vs_at", {}).get(key)
            per_regime[gname] = {"best_on_val": best, "metric": key, "vs_kd": vk, "vs_at": va,
                                 "beats_both": bool(vk and va and vk["beats"] and va["beats"]),
                                 "n": g[best]["n"], "complete": complete}
            t = e.get("teacher")
            ce = g.get("ce", {})
            if t and ce.get("n"):
                acc_t, acc_ce, acc_m = t["test_acc"], ce["test_acc"]["mean"], g[best]["test_acc"]["mean"]
                gap = acc_t - acc_ce
                rec = {"method": best, "teacher_acc": acc_t, "alone_acc": acc_ce, "method_acc": acc_m,
                       "recovery": (acc_m - acc_ce) / gap if gap > 0 else None}
                if key == "auc" and t.get("test_auc") is not None:
                    gap_auc = t["test_auc"] - ce["test_auc"]["mean"]
                    rec["recovery_auc"] = ((g[best]["test_auc"]["mean"] - ce["test_auc"]["mean"]) / gap_auc
                                           if gap_auc > 0 else None)
                rec["status"] = ("n/a (student alone >= teacher)" if rec["recovery"] is None
                                 else ("met" if rec["recovery"] >= 0.75 else "missed"))
                if not complete:
                    rec["status"] += " (provisional: not all seeds run)"
                recovery[f"{ds}/{gname}"] = rec
            if ds in PUBLISHED and gname.startswith("full/") and gname.endswith("cnn-small"):
                r18 = PUBLISHED[ds][0]
                row = {"method": best, "acc": g[best]["test_acc"]["mean"], "auc": g[best]["test_auc"]["mean"],
                       "resnet18_28": {"acc": r18[1], "auc": r18[2]}}
                row["status"] = "met" if (row["acc"] >= r18[1] and row["auc"] >= r18[2]) else "missed"
                if not complete:
                    row["status"] += " (provisional: not all seeds run)"
                if len(PUBLISHED[ds]) > 1:
                    r50 = PUBLISHED[ds][1]
                    row["gap_to_resnet50_224"] = {"acc": row["acc"] - r50[1], "auc": row["auc"] - r50[2]}
                reach[ds] = row
        done = [v for v in per_regime.values() if v.get("complete")]
        if any(v["beats_both"] for v in done):
            status = "met"
        elif len(done) == len(per_regime):
            status = "missed"
        else:
            status = (f"incomplete ({len(done)} of {len(per_regime)} regime/student groups complete; "
                      "none met so far)")
        beat[ds] = {"status": status, "regimes": per_regime}
    out["attention_beats_kd_and_at"] = beat
    out["gap_recovery_ge_75pct"] = recovery
    out["small_student_reaches_resnet18_28"] = reach
    return out


# ----------------------------------------------------------------------------- cost

def _run_cost(out: Path) -> tuple[float, float] | None:
    """(wall seconds of the whole run, mean seconds per epoch) of a finished run, else None."""
    record, r = out / "study_run.json", read_run(out)
    if not record.exists() or r is None or not r["s_per_epoch"]:
        return None
    wall = json.loads(record.read_text()).get("wall_s")
    return (float(wall), r["s_per_epoch"]) if wall else None


def projection(quick: dict, full: dict, jobs: int = 2) -> dict:
    """The full study's cost on this machine, from the quick runs: per full run, the matching
    quick run's wall time (setup, teacher cache, one epoch, test) plus (epochs - 1) times its
    seconds per epoch.  ``wall_h`` assumes ``jobs`` runs at a time: the teachers packed
    longest-first, then the students spread evenly (many short runs)."""
    teacher_s, student_s, missing = [], 0.0, 0
    by_dataset: dict[str, float] = {}
    for spec in plan(full):
        rel = spec["out"].relative_to(full["root"])
        if spec["kind"] == "student":
            rel = rel.parent / f"s{quick['datasets'][spec['dataset']]['seeds'][0]}"
        cost = _run_cost(quick["root"] / rel)
        if cost is None:
            missing += 1
            continue
        seconds = cost[0] + (spec["train"].epochs - 1) * cost[1]
        by_dataset[spec["dataset"]] = by_dataset.get(spec["dataset"], 0.0) + seconds
        if spec["kind"] == "teacher":
            teacher_s.append(seconds)
        else:
            student_s += seconds
    lanes = [0.0] * max(jobs, 1)
    for seconds in sorted(teacher_s, reverse=True):
        lanes[lanes.index(min(lanes))] += seconds
    wall = max(lanes) + student_s / max(jobs, 1)
    return {"runs_missing": missing, "jobs": jobs, "cpu_h": (sum(teacher_s) + student_s) / 3600,
            "teachers_h": sum(teacher_s) / 3600, "wall_h": wall / 3600,
            "by_dataset_h": {k: v / 3600 for k, v in by_dataset.items()}}


def cost_markdown(proj: dict, last_run: dict | None) -> list[str]:
    L = ["## Cost on this machine", ""]
    if last_run:
        L.append(f"This --quick run: {last_run['wall_s'] / 60:.1f} min wall for {last_run['runs']} runs "
                 f"(--jobs {last_run['jobs']}, {last_run['threads']} torch thread(s) each, "
                 f"{last_run['cores']} cores, load average {last_run['load_before']:.1f} before it started).")
    L.append(f"Projected full study (from these runs' wall time + (epochs - 1) x their s/epoch): "
             f"{proj['cpu_h']:.2f} h of single-thread run time, teachers {proj['teachers_h']:.2f} h of it; "
             f"about **{proj['wall_h']:.2f} h** wall with --jobs {proj['jobs']}"
             + (f" ({proj['runs_missing']} runs had no quick counterpart)" if proj["runs_missing"] else "") + ".")
    L.append("By data set (single-thread hours): "
             + ", ".join(f"{k} {v:.2f}" for k, v in proj["by_dataset_h"].items()) + ".")
    return L + [""]


# ----------------------------------------------------------------------------- report

def _rel(path) -> str:
    try:
        return str(Path(path).relative_to(ROOT))
    except ValueError:
        return str(path)


def fmt(ms: dict | None, scale: float = 100) -> str:
    if not ms or not ms.get("n"):
        return "-"
    if ms["n"] < 2:
        return f"{ms['mean'] * scale:.1f}"
    return f"{ms['mean'] * scale:.1f} ± {ms['sd'] * scale:.1f}"


def fmt_diff(p: dict | None) -> str:
    if not p or p.get("n", 0) < 2:
        return "-" if not p else f"{p['mean'] * 100:+.2f} (n={p['n']})"
    mark = " **beats**" if p["beats"] else (" worse" if p["worse"] else "")
    return f"{p['mean'] * 100:+.2f} [{p['ci'][0] * 100:+.2f}, {p['ci'][1] * 100:+.2f}] {p['wins']}/{p['n']}{mark}"


def markdown(res: dict, tg: dict, latency: dict, title: str) -> str:
    L = [f"# {title}", "",
         "Generated by `benchmarks/study.py --report` from the run folders under "
         f"`{_rel(res['profile']['root'])}/runs/`. Test metrics of the best-on-validation "
         "epoch, mean ± sd over seeds (in %); Δ = paired difference (method - reference) over seeds, in "
         "points, with the 95 % t-interval and wins/seeds; **beats** = interval above zero. Primary metric: "
         "AUC on the binary sets, accuracy on MNIST. `-` = not run yet. s/epoch and exported p50 (onnxruntime, "
         "batch 1, 1 thread, `edgekd export` + `edgekd bench`) were measured on a 2-core machine shared with "
         "3-4 other jobs (load 7-13): pessimistic.", ""]
    L += ["Defaults used (from `benchmarks/sweep.md`): `" + json.dumps(res["defaults"]) + "`", ""]
    for ds, e in res["datasets"].items():
        key = primary(e)
        L += [f"## {ds}", ""]
        t = e.get("teacher")
        if t:
            L.append(f"Teacher {res['profile']['teacher']}: {t['params']:,} params, {t['macs'] / 1e6:.1f} MMACs, "
                     f"test ACC {t['test_acc'] * 100:.1f}"
                     + (f" / AUC {t['test_auc'] * 100:.1f}" if t["test_auc"] is not None else "")
                     + f", {t['s_per_epoch']:.1f} s/epoch ({t['epochs']} epochs, augmented), exported p50 "
                     f"{latency.get(ds + '/teacher', 'not measured')}.")
        else:
            L.append("Teacher: not trained yet.")
        for name, acc, auc in PUBLISHED.get(ds, []):
            L.append(f"- Published MedMNIST v2 {name}: ACC {acc * 100:.1f} / AUC {auc * 100:.1f}")
        L.append("")
        for gname, g in e["groups"].items():
            regime, student = gname.split("/")
            any_row = next((m for m in g.values() if m.get("params")), {})
            lat = latency.get(f"{ds}/{student}", "not measured")
            L += [f"### {ds} · {regime} · {student} ({any_row.get('params', 0):,} params, "
                  f"{(any_row.get('macs') or 0) / 1e6:.2f} MMACs, exported p50: {lat})", "",
                  f"| method | seeds | test ACC | test AUC | Δ{key.upper()} vs CE | Δ{key.upper()} vs KD | "
                  f"Δ{key.upper()} vs AT | ΔACC vs CE | val {key.upper()} | s/epoch |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
            for method in res["profile"]["methods"]:
                m = g.get(method, {})
                if not m.get("n"):
                    planned = len(res["profile"]["datasets"][ds]["seeds"])
                    L.append(f"| {method} | 0/{planned} | - | - | - | - | - | - | - | - |")
                    continue
                L.append(f"| {method} | {m['n']}/{len(m['seeds_planned'])} | {fmt(m['test_acc'])} | "
                         f"{fmt(m['test_auc'])} | {fmt_diff(m.get('vs_ce', {}).get(key))} | "
                         f"{fmt_diff(m.get('vs_kd', {}).get(key))} | {fmt_diff(m.get('vs_at', {}).get(key))} | "
                         f"{fmt_diff(m.get('vs_ce', {}).get('acc'))} | {fmt(m[f'val_{key}'])} | "
                         f"{m['s_per_epoch']:.1f} |")
            L.append("")
    L += ["## Targets (choices on validation; never on test)", ""]
    p = tg.get("student_le_5pct_params")
    if p:
        L.append(f"- Student <= 5 % of teacher params: **{p['status']}** ({p['smallest_student_params']:,} / "
                 f"{p['teacher_params']:,} = {p['ratio'] * 100:.1f} %).")
    for ds, b in tg.get("attention_beats_kd_and_at", {}).items():
        parts = []
        for gname, v in b["regimes"].items():
            if "best_on_val" not in v:
                parts.append(f"{gname}: {v['status']}")
            else:
                tag = "" if v["complete"] else " [provisional: seeds missing, choice over unequal seed sets]"
                parts.append(f"{gname}: {v['best_on_val']} (n={v['n']}) vs KD {fmt_diff(v['vs_kd'])}, "
                             f"vs AT {fmt_diff(v['vs_at'])}{tag}")
        L.append(f"- Best attention method (picked on val {'AUC' if res['datasets'][ds]['binary'] else 'ACC'}) "
                 f"beats KD and AT in >= 1 regime, {ds}: **{b['status']}**. " + "; ".join(parts))
    for k, v in tg.get("gap_recovery_ge_75pct", {}).items():
        rec = "n/a" if v["recovery"] is None else f"{v['recovery'] * 100:.0f} %"
        extra = (f", AUC recovery {v['recovery_auc'] * 100:.0f} %" if v.get("recovery_auc") is not None else "")
        L.append(f"- Gap recovery (ACC) {k} ({v['method']}): {rec}{extra} -> **{v['status']}** "
                 f"(teacher {v['teacher_acc'] * 100:.1f}, alone {v['alone_acc'] * 100:.1f}, "
                 f"method {v['method_acc'] * 100:.1f}).")
    for ds, v in tg.get("small_student_reaches_resnet18_28", {}).items():
        g50 = v.get("gap_to_resnet50_224")
        L.append(f"- {ds} cnn-small ({v['method']}) vs ResNet-18 (28) ACC {v['resnet18_28']['acc'] * 100:.1f} / "
                 f"AUC {v['resnet18_28']['auc'] * 100:.1f}: ACC {v['acc'] * 100:.1f} / AUC {v['auc'] * 100:.1f} "
                 f"-> **{v['status']}**" + (f"; vs ResNet-50 (224): ACC {g50['acc'] * 100:+.1f}, "
                                            f"AUC {g50['auc'] * 100:+.1f} points" if g50 else ""))
    L.append("")
    return "\n".join(L)


def plot_params(res: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dsets = [ds for ds, e in res["datasets"].items() if e["groups"] or e.get("teacher")]
    if not dsets:
        return
    fig, axes = plt.subplots(1, len(dsets), figsize=(5 * len(dsets), 4), squeeze=False)
    for ax, ds in zip(axes[0], dsets, strict=False):
        e = res["datasets"][ds]
        key = primary(e)
        for gname, g in e["groups"].items():
            regime, student = gname.split("/")
            for i, method in enumerate(["ce", "kd", "at", "fma+kd", "mip+kd", "sals+kd", "fma"]):
                m = g.get(method, {})
                if not m.get("n"):
                    continue
                x = m["params"] * (1 + 0.04 * (i - 3))
                ax.errorbar(x, m[f"test_{key}"]["mean"], yerr=m[f"test_{key}"]["sd"] if m["n"] > 1 else None,
                            fmt="o" if regime == "full" else "s", color=f"C{i}", alpha=0.9 if regime == "full" else 0.5,
                            label=f"{method}" if gname == next(iter(e["groups"])) else None, capsize=2, ms=4)
        t = e.get("teacher")
        if t:
            ax.plot(t["params"], t[f"test_{key}"], "k*", ms=12, label="teacher (resnet20)")
        for name, acc, auc in PUBLISHED.get(ds, []):
            ax.axhline(auc if key == "auc" else acc, ls="--", lw=0.8, color="grey")
            ax.text(ax.get_xlim()[0] if False else 3e3, auc if key == "auc" else acc, name, fontsize=7, color="grey")
        ax.set_xscale("log")
        ax.set_xlabel("parameters")
        ax.set_ylabel(f"test {key.upper()}")
        ax.set_title(f"{ds} (o full, □ 10 % labels)", fontsize=9)
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def attention_figure(profile: dict, path: Path, dataset: str = "pneumoniamnist", regime: str = "full",
                     student: str = "cnn-tiny", seed: int = 0, n: int = 6) -> bool:
    """Teacher vs every student (same test images): FMA maps of the default layers, SALS for SALS runs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from edgekd.distill.distiller import Distiller
    from edgekd.train.checkpoint import build_model, load_checkpoint
    from edgekd.train.run import load_run_data

    root = profile["root"] / "runs" / dataset
    tpath = root / "teacher" / "model.pt"
    runs = [(m, root / regime / student / m / f"s{seed}" / "model.pt") for m in profile["methods"]]
    runs = [(m, p) for m, p in runs if p.exists()]
    if not tpath.exists() or not runs:
        return False
    teacher = build_model(load_checkpoint(tpath)).eval()
    data = load_run_data(dataset, None)
    order = np.argsort(data.test.y.numpy(), kind="stable")
    pick = order[np.linspace(0, len(order) - 1, n).astype(int)]
    x, y = data.test.x[pick], data.test.y[pick]
    cols = [("image", None)]
    t_fma = Distiller(teacher, build_model(load_checkpoint(runs[0][1])), "fma").teacher_targets(x, y)["map"]
    t_sal = Distiller(teacher, build_model(load_checkpoint(runs[0][1])), "sals").teacher_targets(x, y)["map"]
    cols += [("teacher FMA", t_fma), ("teacher SALS", t_sal)]
    for m, p in runs:
        s = build_model(load_checkpoint(p)).eval()
        kind = "sals" if m.startswith("sals") else "fma"
        cols.append((f"{m} ({kind.upper()})", Distiller(teacher, s, kind).student_map(x, y)))
    info = data.info
    img = (x.numpy() * np.array(info.std).reshape(1, -1, 1, 1) + np.array(info.mean).reshape(1, -1, 1, 1))
    fig, axes = plt.subplots(n, len(cols), figsize=(1.3 * len(cols), 1.4 * n), squeeze=False)
    for j, (name, maps) in enumerate(cols):
        for i in range(n):
            ax = axes[i][j]
            if maps is None:
                ax.imshow(img[i, 0], cmap="gray")
                ax.set_ylabel(info.class_names[int(y[i])], fontsize=6)
            else:
                ax.imshow(maps[i].float().numpy(), cmap="jet", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(name, fontsize=6)
    fig.suptitle(f"{dataset} test images, {regime} regime, {student}, seed {seed}: teacher vs each student",
                 fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    del torch
    return True


def export_latency(profile: dict, out_json: Path) -> dict:
    """p50 (ms, batch 1, 1 thread, onnxruntime on this machine) of the exported teacher and students:
    ``edgekd export CKPT --format onnx`` + ``edgekd bench FILE --threads 1 --json``.  Latency depends on
    the architecture only (every method exports the same graph), so one checkpoint per model is enough."""
    from edgekd.cli import app as cli_app

    names = {getattr(c, "name", None) or getattr(getattr(c, "callback", None), "__name__", "")
             for c in getattr(cli_app.app, "registered_commands", [])}
    result = {}
    for ds in profile["datasets"]:
        runs = profile["root"] / "runs" / ds
        for model in ["teacher"] + list(profile["students"]):
            key = f"{ds}/{model}"
            if model == "teacher":
                ckpt = runs / "teacher" / "model.pt"
                ckpt = ckpt if ckpt.exists() else None
            else:
                ckpt = next(iter(sorted(runs.glob(f"*/{model}/*/s*/model.pt"))), None)
            if ckpt is None:
                result[key] = "not measured (no checkpoint yet)"
                continue
            if "export" not in names:
                result[key] = "not measured (edgekd export not in this tree yet)"
                continue
            work = profile["root"] / "export" / ds / model
            work.mkdir(parents=True, exist_ok=True)
            cli = [sys.executable, "-c", "from edgekd.cli.app import main; main()"]
            try:
                subprocess.run(cli + ["export", str(ckpt), "--format", "onnx", "--out", str(work / "model.onnx"),
                                      "--force"], check=True, capture_output=True, text=True, timeout=600)
                subprocess.run(cli + ["bench", str(work / "model.onnx"), "--threads", "1", "--json",
                                      str(work / "bench.json")], check=True, capture_output=True, text=True,
                               timeout=600)
                row = json.loads((work / "bench.json").read_text())["rows"][0]
                result[key] = f"{row['p50_ms']:.3f} ms"
            except (subprocess.SubprocessError, OSError, json.JSONDecodeError, KeyError, IndexError) as exc:
                result[key] = f"not measured (export/bench failed: {type(exc).__name__})"
    out_json.write_text(json.dumps(result, indent=1) + "\n")
    return result


def report(profile: dict, md_path: Path, out_dir: Path, title: str, figures: bool = True, bench: bool = False) -> dict:
    """Write ``md_path`` and, in ``out_dir``, results.json, params.png, attention.png, latency.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    res = aggregate(profile)
    tg = targets(res)
    lat_path = out_dir / "latency.json"
    latency = export_latency(profile, lat_path) if bench else (
        json.loads(lat_path.read_text()) if lat_path.exists() else {})
    res["targets"], res["latency_p50"] = tg, latency
    (out_dir / "results.json").write_text(json.dumps(res, indent=1, default=str) + "\n")
    md = markdown(res, tg, latency, title)
    if profile is PROFILES["quick"]:
        last_path = profile["root"] / "last_run.json"
        last_run = json.loads(last_path.read_text()) if last_path.exists() else None
        res["projection"] = projection(profile, PROFILES["full"], last_run["jobs"] if last_run else 2)
        md += "\n" + "\n".join(cost_markdown(res["projection"], last_run))
        (out_dir / "results.json").write_text(json.dumps(res, indent=1, default=str) + "\n")
    link = os.path.relpath(out_dir, md_path.parent)
    if figures:
        plot_params(res, out_dir / "params.png")
        if attention_figure(profile, out_dir / "attention.png"):
            md += f"\n![attention maps]({link}/attention.png)\n"
        md += f"\n![accuracy vs params]({link}/params.png)\n"
    md_path.write_text(md)
    return res


# ----------------------------------------------------------------------------- CLI

def part_specs(profile: dict, n: int) -> list[dict]:
    p = PARTS[n - 1]
    return plan(profile, [p["dataset"]], [p["regime"]], p["students"])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="1 seed, 1 epoch per run, into benchmarks/study/quick/, with the full study's projected cost")
    ap.add_argument("--part", type=int, help=f"run part N (1..{len(PARTS)}); see --list")
    ap.add_argument("--all", action="store_true", help="run every part in order")
    ap.add_argument("--dataset", nargs="*")
    ap.add_argument("--regime", nargs="*")
    ap.add_argument("--student", nargs="*")
    ap.add_argument("--method", nargs="*")
    ap.add_argument("--teachers", action="store_true", help="train only the teachers (of --dataset, or all)")
    ap.add_argument("--list", action="store_true", help="list parts, run counts and what is finished")
    ap.add_argument("--report", action="store_true", help="aggregate finished runs into JSON/MD/PNG")
    ap.add_argument("--bench", action="store_true", help="with --report: export + bench the students")
    ap.add_argument("--force", action="store_true", help="rerun even finished runs")
    ap.add_argument("--jobs", type=int, default=1,
                    help="runs at a time, each in its own process (2 on a 2-core machine); default 1")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads per process (default 1: on a shared 2-core machine, 2 threads per "
                         "process oversubscribe the cores and ran 5x slower here; run two parts side by side "
                         "instead); 0 = torch's default")
    args = ap.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    profile = PROFILES["quick" if args.quick else "full"]
    md_path = STUDY_DIR / "quick" / "report.md" if args.quick else BENCH / "study.md"
    out_dir = STUDY_DIR / "quick" if args.quick else STUDY_DIR
    title = "Issue 9 study: --quick pipeline check (1 seed, 1 epoch per run: NOT evidence)" if args.quick else \
        "Issue 9 study: does attention guidance beat KD and AT?"
    if args.list:
        for i, p in enumerate(PARTS, 1):
            specs = part_specs(profile, i)
            states = [run_state(s) for s in specs]
            secs = []
            for s in specs:
                if s["kind"] == "teacher":
                    continue
                r = read_run(s["out"])
                if r and r["s_per_epoch"]:
                    secs.append(r["s_per_epoch"] * s["train"].epochs)
            print(f"part {i}: {p['dataset']} {p['regime']} {','.join(p['students'])}: {len(specs)} runs, "
                  f"{states.count('done')} done"
                  + (f", {sum(secs) / 60:.0f} min of training epochs in its finished student runs" if secs else ""))
        return
    t0 = time.perf_counter()
    if args.teachers:
        specs = [s for s in plan(profile, args.dataset) if s["kind"] == "teacher"]
        print(f"{len(specs)} teachers planned", flush=True)
        run_plan(specs, args.force, log=lambda s: print(s, flush=True))
    elif args.quick or args.all or args.part or args.dataset or args.regime or args.student or args.method:
        if args.part:
            specs = part_specs(profile, args.part)
        elif args.all:
            specs = [s for i in range(1, len(PARTS) + 1) for s in part_specs(profile, i)]
        else:
            specs = plan(profile, args.dataset, args.regime, args.student, args.method)
        print(f"{len(specs)} runs planned under {profile['root']}", flush=True)
        load_before = os.getloadavg()[0]
        counts = run_plan(specs, args.force, log=lambda s: print(s, flush=True), jobs=args.jobs,
                          threads=args.threads)
        wall = time.perf_counter() - t0
        print(f"finished in {wall:.0f}s; states found: {counts}", flush=True)
        if args.quick:
            (profile["root"] / "last_run.json").write_text(json.dumps(
                {"wall_s": round(wall, 1), "runs": len(specs), "states": counts, "jobs": args.jobs,
                 "threads": args.threads, "cores": os.cpu_count(), "load_before": load_before}, indent=1) + "\n")
    if args.report or args.quick:
        report(profile, md_path, out_dir, title, bench=args.bench)
        print(f"wrote {md_path} and {out_dir}/results.json", flush=True)


if __name__ == "__main__":
    main()
