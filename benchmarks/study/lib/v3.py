"""The study's third round ("v3"): the product's own recipe, two teacher draws, the new methods.

Design (written down before the runs, as METHOD.md asks):
- Teachers: what ``edgekd train --model resnet20 --dataset D --seed DRAW`` makes with its defaults
  (30 epochs, augmentation, selection on validation; MNIST with ``--label-fraction 0.1``, the
  study's "full" MNIST regime), two draws (seeds 0 and 1) per data set: ``teacher-t<draw>``.
- Students: what ``edgekd distill`` makes with its defaults (``--epochs auto``: 300 epochs up to
  1,000 training images, 100 up to 10,000; batch 128; augmentation with the 8-view teacher
  cache; temperature calibration; the 0.5 operating point), only the method varied.  The views
  are a pure function of the seed, so for one seed every method and both teacher draws see the
  same images in the same order: comparisons are paired by (draw, seed).
- The student alone (``ce``) does not read its teacher, so it is trained once per seed and
  paired with both draws' students.
- Two stages, to spend the 2 cores where it pays: ``screen`` runs every method on three cheap
  groups (one per data set) with 3 seeds and the first teacher draw; ``grid`` runs the student
  alone, KD and the methods the screen keeps (:data:`GRID_METHODS`) on the 12 groups with both
  draws, the cheap groups first (``--list`` shows what is finished and what is not).
- After each run the study adds its test decisions (``decide.json``: accuracy at 0.5 and at the
  model's operating point, ECE before and after temperature, and after ``edgekd adapt``'s prior
  estimate on the unlabelled test images), so the report carries the decision columns.
- The maps (``--v3 maps``): in one group (:data:`MAPS_GROUP`) every student's exported CAM is
  scored for faithfulness (insertion − deletion) on the same test images, so the methods' maps are
  compared paired by image as well as by seed.
- Runs made earlier with the same recipe and teachers (``benchmarks/teachers``, the decisions
  runs) were copied in rather than retrained; their records say where from
  (``study_run.imported``). Retrained from this design they come out bit for bit the same
  (checked on BreastMNIST: the screen's MIP + KD and alone runs of seed 0 equal the teachers
  benchmark's to the last digit of test AUC and best epoch).
"""

from __future__ import annotations

import json

from benchmarks._lib.provenance import rel_path
from benchmarks.study.lib.plan import RECORDS_DIR, STUDENTS, WORK_DIR
from benchmarks.study.lib.records import records_path, runs_dir, update
from edgekd.distillation.run import DistillConfig
from edgekd.training.loop import TrainConfig
from edgekd.training.schedule import auto_epochs

#: data set -> (training images of the full split, the study's "full" fraction, binary)
DATASETS = {"pneumoniamnist": (4708, 1.0, True), "breastmnist": (546, 1.0, True), "mnist": (55000, 0.1, False)}
REGIMES = {"full": 1.0, "low": 0.1}
DRAWS = (0, 1)
SEEDS = (0, 1, 2)

#: the methods, as ``edgekd distill`` options (T = 4 throughout, KD weight 0.9 where KD is on)
METHODS = {
    "ce": DistillConfig(method="none", alpha=0.0, beta=0.0),  # the student alone, same recipe and views
    "kd": DistillConfig(method="kd", alpha=0.9, beta=0.0),
    "dkd": DistillConfig(method="dkd", alpha=0.0, beta=1.0),  # mdistiller's CE + DKD (1, 8)
    "ls-kd": DistillConfig(method="kd", alpha=0.9, beta=0.0, logit_standardize=True),
    "mip+kd": DistillConfig(method="mip", alpha=0.9, beta=1.0),  # edgekd's default
    "cam-cos+kd": DistillConfig(method="cam", alpha=0.9, beta=1.0, att_loss="cosine"),  # e2KD-style
}
SCREEN_GROUPS = (("breastmnist", "full", "cnn-small"), ("pneumoniamnist", "low", "cnn-small"),
                 ("mnist", "low", "cnn-tiny"))
#: kept by the screen (benchmarks/study/study.md, "Third round"): the student alone, KD and the two methods
#: with the best mean paired difference to KD over the screen's groups (cam-cos+kd +0.31, dkd +0.23 points;
#: mip+kd -0.18 and worse than KD on MNIST 1 %, ls-kd -1.93 and worse in 2 of 3 groups), and edgekd's
#: default (mip+kd) whatever the screen said: it is what ships, so every group compares it with KD
GRID_METHODS = ("ce", "kd", "cam-cos+kd", "dkd", "mip+kd")

PROFILE = {"root": WORK_DIR / "v3", "records": RECORDS_DIR / "v3.jsonl.gz"}


def n_train(dataset: str, regime: str) -> int:
    total, fraction, _ = DATASETS[dataset]
    return round(total * fraction * REGIMES[regime])


def teacher_spec(dataset: str, draw: int) -> dict:
    _, fraction, _ = DATASETS[dataset]
    cfg = TrainConfig(seed=draw, threads=1, label_fraction=fraction)
    return {"kind": "teacher", "dataset": dataset, "model": "resnet20", "train": cfg,
            "out": PROFILE["root"] / "runs" / dataset / f"teacher-t{draw}", **_bookkeeping(), "after": None}


def student_spec(dataset: str, regime: str, student: str, method: str, seed: int, draw: int) -> dict:
    _, fraction, _ = DATASETS[dataset]
    cfg = TrainConfig(epochs=auto_epochs(n_train(dataset, regime)), seed=seed, threads=1, cache_views=8,
                      label_fraction=round(fraction * REGIMES[regime], 6))
    draw = 0 if method == "ce" else draw  # the student alone reads no teacher: one run per seed
    run = f"s{seed}" if method == "ce" else f"t{draw}-s{seed}"
    return {"kind": "student", "dataset": dataset, "regime": regime, "model": student, "method": method,
            "seed": seed, "draw": draw, "train": cfg, "distill": METHODS[method],
            "cache": PROFILE["root"] / "cache" / dataset / f"t{draw}" / f"{regime}-s{seed}",
            "out": PROFILE["root"] / "runs" / dataset / regime / student / method / run,
            "teacher": teacher_spec(dataset, draw)["out"] / "model.pt", **_bookkeeping()}


def _bookkeeping() -> dict:
    return {"records": records_path(PROFILE), "runs": runs_dir(PROFILE), "after": decide}


def groups() -> list[tuple[str, str, str]]:
    """The 12 groups, cheapest first (training images x epochs, then the student's size)."""
    every = [(ds, regime, student) for ds in DATASETS for regime in REGIMES for student in STUDENTS]
    return sorted(every, key=lambda g: (n_train(g[0], g[1]) * auto_epochs(n_train(g[0], g[1])),
                                        STUDENTS.index(g[2])))


def plan(stage: str, methods=None, draws=None, seeds=None, datasets=None, regimes=None, students=None) -> list[dict]:
    """Teachers, then students seed-major (an interrupted stage leaves whole seeds); the other
    arguments narrow the stage to those methods, draws, seeds and groups."""
    chosen = [g for g in (SCREEN_GROUPS if stage == "screen" else groups())
              if (not datasets or g[0] in datasets) and (not regimes or g[1] in regimes)
              and (not students or g[2] in students)]
    names = list(methods or (METHODS if stage == "screen" else GRID_METHODS))
    draws = list(draws if draws is not None else ((0,) if stage == "screen" else DRAWS))
    specs = [teacher_spec(ds, d) for ds in dict.fromkeys(g[0] for g in chosen) for d in draws]
    seen = set()
    for seed in seeds or SEEDS:
        for draw in draws:
            for ds, regime, student in chosen:
                for method in names:
                    spec = student_spec(ds, regime, student, method, seed, draw)
                    if spec["out"] not in seen:
                        seen.add(spec["out"])
                        specs.append(spec)
    return specs


def decide(spec: dict) -> None:
    """Write ``decide.json`` in a finished run folder: the test split's decisions under the rule the
    model ships with (fitted on validation with edgekd's defaults when the checkpoint predates
    stored rules), calibration before and after temperature, and both again after adapting the
    rule to the test images' estimated class prior (what ``edgekd adapt`` does)."""
    import numpy as np
    import torch

    from edgekd.data.registry import get_source, load_split, positive_class
    from edgekd.decision import DecisionRule, adapt, fit_decision_rule, probabilities
    from edgekd.decision import decide as apply_rule
    from edgekd.decision.calibration_metrics import expected_calibration_error
    from edgekd.metrics import softmax
    from edgekd.training.batches import TensorSplit
    from edgekd.training.checkpoint import build_model, load_checkpoint
    from edgekd.training.evaluate import predict_logits

    torch.set_num_threads(1)
    content = load_checkpoint(spec["out"] / "model.pt")
    model, source = build_model(content), get_source(spec["dataset"])
    names = list(source.info.class_names)
    pos = positive_class(spec["dataset"], names) if len(names) == 2 else None

    def split(name: str):
        data = load_split(spec["dataset"], name, None, source=source)
        return np.asarray(data.labels).reshape(-1), predict_logits(model, TensorSplit.from_split(data, source.info))

    labels, logits = split("test")
    if "decision" in content:
        rule, fitted_here = DecisionRule.from_dict(content["decision"]), False
    else:
        y_train = np.asarray(load_split(spec["dataset"], "train", None, source=source).labels).reshape(-1)
        prior = np.bincount(y_train, minlength=len(names)) / len(y_train)
        rule, fitted_here = fit_decision_rule(*split("val"), names, prior.tolist(), "0.5", "temperature",
                                              positive_class=pos), True
    adapted = adapt(rule, logits)
    true_prior = np.bincount(labels, minlength=logits.shape[1]) / len(labels)
    figures = {"rule": rule.rule, "rule_fitted_here": fitted_here, "positive_class": pos,
               "accuracy_at_half": float(np.mean(logits.argmax(1) == labels)),
               "accuracy_at_rule": float(np.mean(apply_rule(rule, logits).predictions == labels)),
               "accuracy_adapted": float(np.mean(apply_rule(adapted, logits).predictions == labels)),
               "ece_before": expected_calibration_error(labels, softmax(logits)),
               "ece_after": expected_calibration_error(labels, probabilities(rule, logits, adapted=False)),
               "ece_adapted": expected_calibration_error(labels, probabilities(adapted, logits)),
               "estimated_prior": [float(v) for v in adapted.deploy_prior], "true_prior": true_prior.tolist()}
    (spec["out"] / "decide.json").write_text(json.dumps(figures, indent=1) + "\n")


#: where the students' own maps are scored (the exported CAM: insertion − deletion, as
#: ``edgekd attention-agreement`` does): the group the decisions benchmark ships, on the first 300
#: test images with the blur fill (the faithfulness benchmark's choice for PneumoniaMNIST)
MAPS_GROUP = ("pneumoniamnist", "full", "cnn-small")
MAPS_METHODS = ("ce", "kd", "mip+kd", "cam-cos+kd", "dkd")
MAPS_IMAGES = 300


def maps(draw: int = 0, seeds=SEEDS) -> int:
    """Score the CAM of every finished student of :data:`MAPS_GROUP` with teacher ``draw`` and
    write ``maps.json`` beside each (per image: the CAM's ins−del, the random control's, and the
    agreement gain with the teacher's CAM), which its record then carries.  Returns how many."""
    from edgekd.explain.study import attention_agreement

    dataset, regime, student = MAPS_GROUP
    specs = [student_spec(dataset, regime, student, m, s, draw) for s in seeds for m in MAPS_METHODS]
    specs = [s for s in specs if (s["out"] / "test.json").is_file()]
    if not specs:
        return 0
    teacher = teacher_spec(dataset, draw)["out"] / "model.pt"
    work = PROFILE["root"] / "maps"
    result = attention_agreement(teacher, [s["out"] / "model.pt" for s in specs], maps=["cam"],
                                 out=work / f"t{draw}", limit=MAPS_IMAGES, fill="blur", cache_dir=work / "cache")
    for spec, rec in zip(specs, result["students"], strict=True):
        if "cam" not in rec["maps"]:
            raise SystemExit(f"{spec['out']}: no CAM to score ({rec['unavailable'].get('cam')})")
        figures = {"teacher": rel_path(teacher), "n": result["n"], "fill": result["fill"], "map": "cam",
                   "accuracy": rec["accuracy"], "ins_del": rec["maps"]["cam"]["per_image"],
                   "random": rec["controls"]["random"]["per_image"],
                   "agreement_gain": rec["agreement"]["cam"]["per_image"]}
        (spec["out"] / "maps.json").write_text(json.dumps(figures) + "\n")
    return update(records_path(PROFILE), runs_dir(PROFILE), [s["out"] for s in specs])


def listing(specs: list[dict]) -> str:
    """What a stage has finished: per group and method, runs done / planned."""
    from benchmarks.study.lib.runner import run_state

    rows: dict[tuple, list[int]] = {}
    for spec in specs:
        key = (spec["dataset"], spec.get("regime", "-"), spec["model"], spec.get("method", "teacher"))
        done = rows.setdefault(key, [0, 0])
        done[0] += run_state(spec) == "done"
        done[1] += 1
    return "\n".join(f"{' '.join(k)}: {d}/{n}" for k, (d, n) in rows.items())
