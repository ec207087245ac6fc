"""The study's design as data: methods, students, profiles (full and quick), parts, and the
run specs they expand to.  See ``benchmarks/study/study.py`` for the decisions behind them."""

from __future__ import annotations

import copy

from benchmarks._lib.provenance import ROOT
from benchmarks.study.lib.records import records_path, runs_dir
from edgekd.distillation.run import DistillConfig
from edgekd.training.loop import TrainConfig

BENCH = ROOT / "benchmarks"
STUDY_DIR = BENCH / "study"  # the committed outputs: reports, figures, records/
RECORDS_DIR = STUDY_DIR / "records"  # one file of run records per round (records.py)
WORK_DIR = BENCH / "_work" / "study"  # the run folders, teacher caches and exports (git-ignored)

# Chosen by benchmarks/sweep/sweep.py (see sweep.md: val AUC, PneumoniaMNIST, cnn-tiny, 2 seeds, 8 epochs);
# they equal the earlier placeholders, except AT's beta: 10 (stage D) instead of the official 1000.
DEFAULTS = {"temperature": 4.0, "alpha": 0.9, "beta": {"at": 10.0, "fma": 1.0, "mip": 1.0, "sals": 1.0},
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
        "root": WORK_DIR,
        "records": RECORDS_DIR / "v1.jsonl.gz",
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
    quick.update(root=WORK_DIR / "quick", records=RECORDS_DIR / "quick.jsonl.gz")
    for d in quick["datasets"].values():
        d.update(seeds=d["seeds"][:1], epochs={regime: 1 for regime in d["epochs"]}, teacher_epochs=1)
    return quick


PROFILES["quick"] = quick_profile(PROFILES["full"])

# The second recipe ("v2"): augmentation on (2 px shifts) with the K-view teacher cache, so the student
# trains on exactly the views whose teacher outputs it reads, and 100 epochs everywhere
# (benchmarks/schedules/schedules.md: 100 beat 10 and 30 on validation on all three sets; `--epochs auto` now
# gives the sets up to 1,000 images 300, which finished after these runs had started, so BreastMNIST
# and the 10 % regimes here are one step short of the default); KD and edgekd's default (MIP + KD), and the
# student alone under the same recipe where there was time. Same data, subsets, batches, seeds and
# teacher recipe as the study; its own teachers (the study's weights were not kept), under
# benchmarks/_work/study/v2/ (records: records/v2.jsonl.gz).
V2_EPOCHS = {ds: {"full": 100, "low": 100} for ds in ("pneumoniamnist", "breastmnist", "mnist")}
V2_METHODS = ["kd", "mip+kd", "ce"]


def v2_profile(full: dict) -> dict:
    """The study's design under the second recipe (``V2_EPOCHS``, ``V2_METHODS``, augmentation)."""
    v2 = copy.deepcopy(full)
    v2.update(root=WORK_DIR / "v2", records=RECORDS_DIR / "v2.jsonl.gz", methods=list(V2_METHODS), augment=True,
              views=8)
    for ds, d in v2["datasets"].items():
        d["epochs"] = dict(V2_EPOCHS[ds])
    return v2


PROFILES["v2"] = v2_profile(PROFILES["full"])


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


def teacher_spec(profile: dict, dataset: str, seed: int = 0) -> dict:
    """The study's teacher (seed 0, folder ``teacher``); other seeds (``teacher-s<seed>``) are the
    members of an ensemble teacher (benchmarks/ensemble/ensemble.py)."""
    d = profile["datasets"][dataset]
    cfg = TrainConfig(epochs=d["teacher_epochs"], batch_size=d["teacher_batch"],
                      lr=d.get("teacher_lr", profile["teacher_lr"]),
                      augment=True, seed=seed, device="auto", select="auc" if d["binary"] else "accuracy",
                      label_fraction=d.get("teacher_fraction", d["full_fraction"]))
    return {"kind": "teacher", "dataset": dataset, "model": profile["teacher"], "train": cfg,
            "out": profile["root"] / "runs" / dataset / ("teacher" if seed == 0 else f"teacher-s{seed}"),
            **_bookkeeping(profile)}


def student_spec(profile: dict, dataset: str, regime: str, student: str, method: str, seed: int) -> dict:
    d = profile["datasets"][dataset]
    fraction = round(d["full_fraction"] * profile["regimes"][regime], 6)
    batch = d["batch"][regime] if isinstance(d["batch"], dict) else d["batch"]
    augment = profile.get("augment", False)
    cfg = TrainConfig(epochs=d["epochs"][regime], batch_size=batch, lr=profile["lr"], augment=augment, seed=seed,
                      device="auto", select="auc" if d["binary"] else "accuracy", label_fraction=fraction,
                      cache_views=profile.get("views") if augment else None)
    key = "full" if fraction == 1.0 else f"{regime}-f{fraction}"
    key += f"-s{seed}" if (augment or fraction != 1.0) else ""  # augmented views are drawn per seed
    cache = profile["root"] / "cache" / dataset / key
    return {"kind": "student", "dataset": dataset, "regime": regime, "model": student, "method": method,
            "seed": seed, "train": cfg, "distill": method_config(method, profile.get("defaults", DEFAULTS)),
            "cache": cache, "out": profile["root"] / "runs" / dataset / regime / student / method / f"s{seed}",
            "teacher": profile["root"] / "runs" / dataset / "teacher" / "model.pt", **_bookkeeping(profile)}


def _bookkeeping(profile: dict) -> dict:
    """Where a spec's finished run is recorded (records.py): the round's file and runs folder."""
    return {"records": records_path(profile), "runs": runs_dir(profile)}


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


def part_specs(profile: dict, n: int) -> list[dict]:
    p = PARTS[n - 1]
    return plan(profile, [p["dataset"]], [p["regime"]], p["students"])

