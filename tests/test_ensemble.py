"""Ensemble teachers: two real digits teachers as one (mean logits and maps), live and cached; the
ensemble benchmark's students pair with the v2 study's single-teacher runs, and the study's runner
distils from several member teachers."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
import torch
from typer.testing import CliRunner

from benchmarks.ensemble import ensemble
from benchmarks.study.lib import plan, runner
from edgekd.attention import registry
from edgekd.attention.compute import attention, rule_layers
from edgekd.attention.maps import minmax
from edgekd.cli.app import app
from edgekd.distillation.cache import TeacherCache
from edgekd.distillation.distiller import Distiller
from edgekd.distillation.run import DistillConfig, distill
from edgekd.distillation.teachers import ensemble_sha256, load_teacher
from edgekd.errors import EdgekdError
from edgekd.models.registry import create_model
from edgekd.training.augment import Views
from edgekd.training.checkpoint import load_checkpoint
from edgekd.training.loop import TrainConfig
from edgekd.training.run import load_run_data
from edgekd.training.supervised import train_supervised
from tests.conftest import assert_one_line_error

FAST = dict(epochs=2, batch_size=64, lr=0.05, seed=0, augment=False)
# Logits: the ensemble's are torch.stack(...).mean(0) of the same fp32 member logits, so they
# equal (a + b) / 2 up to one rounding (~6e-8 relative); 1e-6 leaves room for other kernels.
LOGIT_TOL = 1e-6


@pytest.fixture(scope="module")
def teachers(trained_digits_run, tmp_path_factory):
    """Two real digits teachers of different architectures and stage shapes: cnn-small (the
    shared fixture) and a plain 3-stage cnn trained here (4 epochs, ~2 s on one thread)."""
    out = tmp_path_factory.mktemp("second_teacher")
    train_supervised("cnn", "digits", out, TrainConfig(epochs=4, batch_size=32, lr=0.1, seed=1, augment=False),
                     quiet=True)
    return trained_digits_run / "model.pt", out / "model.pt"


def test_ensemble_logits_and_maps_are_the_members_means(teachers):
    data = load_run_data("digits", None)
    teacher = load_teacher(list(teachers), data.info)
    a, b = teacher.members
    x, y = data.val.x[:64], data.val.y[:64]
    with torch.no_grad():
        za, zb, ze = a(x), b(x), teacher.model(x)
    assert torch.allclose(ze, (za + zb) / 2, rtol=0, atol=LOGIT_TOL)
    assert not torch.allclose(za, zb, atol=1e-2)  # two different teachers: the mean is a real mix
    for kind in ("fma", "mip", "sals"):
        combiner = registry.get(kind)
        with torch.no_grad():
            att = attention(combiner, teacher.model, x, y)
            ma = attention(combiner, a, x, y, layers=rule_layers(combiner, a)).map
            mb = attention(combiner, b, x, y, layers=rule_layers(combiner, b)).map
        expected = minmax((ma + mb) / 2)
        assert att.map.shape == (64, 8, 8)
        assert torch.allclose(att.map, expected, rtol=0, atol=1e-6), kind
        assert att.map.amin() == 0 and att.map.amax() > 0.999  # renormalised to [0, 1] per sample
        assert torch.allclose(att.logits, ze, rtol=0, atol=LOGIT_TOL)
    # the distiller's teacher targets (what the cache stores) are the same numbers
    student = create_model("cnn-tiny", 1, 10)
    targets = Distiller(teacher.model, student, "fma").teacher_targets(x, y)
    assert torch.allclose(targets["logits"], ze, rtol=0, atol=LOGIT_TOL)
    assert torch.allclose(targets["map"], minmax((combiner_map(a, x, y) + combiner_map(b, x, y)) / 2), atol=1e-6)


def combiner_map(model, x, y):
    combiner = registry.get("fma")
    with torch.no_grad():
        return attention(combiner, model, x, y, layers=rule_layers(combiner, model)).map


def test_ensemble_distills_live_and_cached_and_records_every_member(teachers, tmp_path):
    a, b = teachers
    cfg = TrainConfig(**FAST)
    live = distill([a, b], "cnn-tiny", "digits", tmp_path / "live", cfg, DistillConfig(method="fma"), quiet=True,
                   figure_images=2)
    cached = distill([a, b], "cnn-tiny", "digits", tmp_path / "cached", cfg, DistillConfig(method="fma"),
                     teacher_cache=tmp_path / "cache", quiet=True, figure_images=0)
    assert live["test"]["accuracy"] >= 0.5 and abs(live["test"]["accuracy"] - cached["test"]["accuracy"]) <= 0.02
    record = load_checkpoint(tmp_path / "cached" / "model.pt")["distill"]["teacher"]
    shas = [load_checkpoint(p)["checkpoint_sha256"] for p in (a, b)]
    assert record["model"] == "ensemble(cnn-small+cnn)" and record["sha256"] == ensemble_sha256(shas)
    assert [m["sha256"] for m in record["members"]] == shas
    assert [m["model"] for m in record["members"]] == ["cnn-small", "cnn"]
    members_acc = [m["test"]["accuracy"] for m in record["members"]]
    assert min(members_acc) >= 0.8 and record["test"]["accuracy"] >= min(members_acc) - 0.02
    assert record["test"]["n"] == 360 and record["val"]["n"] == 359
    assert json.loads((tmp_path / "cached" / "test.json").read_text())["teacher"]["members"][1]["test"] == \
        record["members"][1]["test"]
    assert (tmp_path / "live" / "attention.png").stat().st_size > 2000
    # the cache holds the ensemble's mean logits, not one member's
    data = load_run_data("digits", None)
    teacher = load_teacher([a, b], data.info)
    student = create_model("cnn-tiny", 1, 10)
    cache = TeacherCache.open_or_build(tmp_path / "cache", Distiller(teacher.model, student, "fma"), data.train,
                                       json.loads((tmp_path / "cache" / "cache.json").read_text()), views=Views(None, 0),
                                       quiet=True)
    idx = torch.arange(0, 100)
    with torch.no_grad():
        mean = (teacher.members[0](data.train.x[idx]) + teacher.members[1](data.train.x[idx])) / 2
    assert torch.allclose(cache.lookup(idx)["logits"], mean, rtol=0, atol=1e-5)  # batch 256 vs 100: sum order


def test_a_cache_for_one_teacher_is_stale_for_the_ensemble(teachers, tmp_path):
    a, b = teachers
    cfg = TrainConfig(**{**FAST, "epochs": 1})
    distill(a, "cnn-tiny", "digits", tmp_path / "one", cfg, DistillConfig(method="kd"),
            teacher_cache=tmp_path / "cache", quiet=True, figure_images=0)
    with pytest.raises(EdgekdError, match="stale: its teacher_sha256 differs"):
        distill([a, b], "cnn-tiny", "digits", tmp_path / "two", cfg, DistillConfig(method="kd"),
                teacher_cache=tmp_path / "cache", quiet=True, figure_images=0)
    with pytest.raises(EdgekdError, match="stale: its teacher_sha256 differs"):  # order is part of the fingerprint
        distill([b, a], "cnn-tiny", "digits", tmp_path / "two", cfg, DistillConfig(method="kd"),
                teacher_cache=tmp_path / "cache", quiet=True, figure_images=0)
    assert not (tmp_path / "two").exists()  # a refused run leaves no folder behind


def test_ensemble_through_the_cli_and_its_errors(teachers, tmp_path):
    a, b = teachers
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(app, [str(v) for v in args])

    res = invoke("distill", "--teacher", a, "--teacher", b, "--student", "cnn-tiny", "--method", "kd", "--epochs", 1,
                 "--no-augment", "--out", tmp_path / "run", "--quiet")
    assert res.exit_code == 0, res.output
    assert "teacher ensemble(cnn-small+cnn): test accuracy" in res.output
    assert res.output.count("  member ") == 2 and str(b) in res.output
    assert_one_line_error(invoke("distill", "-t", a, "-t", b, "--method", "at", "--epochs", 1, "--no-augment",
                                 "--out", tmp_path / "at"), "--method at", "ensemble of 2 teachers")
    assert_one_line_error(invoke("distill", "-t", a, "-t", a, "--epochs", 1, "--out", tmp_path / "twice"),
                          "given twice")
    assert_one_line_error(invoke("distill", "-t", a, "-t", b, "--teacher-layers", "stem", "--epochs", 1,
                                 "--no-augment", "--out", tmp_path / "layers"), "unknown layer", "members.0.block0")
    assert not any((tmp_path / n).exists() for n in ("at", "twice", "layers"))


def test_members_must_agree(teachers, tmp_path):
    """A member for another data set (here mnist's checkpoint record, built by an import) is refused
    by name, before any training."""
    from edgekd.training.outside import import_torchvision

    a, _ = teachers
    content = load_checkpoint(a)
    torch.save({k[len("net."):]: v for k, v in create_model("tv:resnet18", 1, 10).state_dict().items()},
               tmp_path / "w.pt")
    import_torchvision("resnet18", tmp_path / "w.pt", tmp_path / "other.pt", classes=[str(i) for i in range(10)],
                       mean=content["data"]["mean"], std=content["data"]["std"], size=8)
    with pytest.raises(EdgekdError, match=r"ensemble member .*other.pt has data set imported but .* has digits"):
        distill([a, tmp_path / "other.pt"], "cnn-tiny", "digits", tmp_path / "run", TrainConfig(**FAST),
                DistillConfig(method="kd"), quiet=True)


def test_ensemble_students_differ_from_the_single_teacher_runs_only_in_the_teacher():
    specs = ensemble.student_specs(3, [0, 1])
    assert [(s["seed"], s["method"]) for s in specs] == [(0, "kd-ens3"), (0, "mip+kd-ens3"),
                                                         (1, "kd-ens3"), (1, "mip+kd-ens3")]
    members = [s["out"] / "model.pt" for s in ensemble.member_specs(3)]
    assert len(set(members)) == 3 and members[0] == plan.PROFILES["v2"]["root"] / "runs/breastmnist/teacher/model.pt"
    for spec in specs:
        single = plan.student_spec(plan.PROFILES["v2"], "breastmnist", "full", "cnn-small",
                                   spec["method"].removesuffix("-ens3"), spec["seed"])
        assert spec["teacher"] == members
        assert asdict(spec["train"]) == asdict(single["train"]) and spec["distill"] == single["distill"]
        assert spec["out"] != single["out"] and spec["cache"] != single["cache"]  # never reuse the single teacher's cache
        assert spec["out"].parent.name == spec["method"]


def test_runner_distils_from_member_teachers(tmp_path):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        prof = {"root": tmp_path, "datasets": {"digits": {"binary": False, "seeds": [0], "full_fraction": 1.0,
                                                          "batch": 64, "teacher_epochs": 1, "teacher_batch": 64,
                                                          "epochs": {"full": 1}}},
                "regimes": {"full": 1.0}, "students": ["cnn-tiny"], "methods": ["kd"], "teacher": "cnn-small",
                "lr": 0.05, "teacher_lr": 0.05}
        members = [plan.teacher_spec(prof, "digits", seed) for seed in (0, 1)]
        assert [m["out"].name for m in members] == ["teacher", "teacher-s1"]
        student = plan.student_spec(prof, "digits", "full", "cnn-tiny", "kd", 0)
        student["teacher"] = [m["out"] / "model.pt" for m in members]
        assert runner.run_plan(members + [student], log=lambda s: None) == {"new": 3}
    finally:
        torch.set_num_threads(threads)
    seeds = [json.loads((m["out"] / "metrics.json").read_text())["config"]["seed"] for m in members]
    assert seeds == [0, 1]
    record = json.loads((student["out"] / "test.json").read_text())["teacher"]
    assert len(record["members"]) == 2 and record["model"].startswith("ensemble(")
    assert len(json.loads((student["out"] / "study_run.json").read_text())["teacher"]) == 2


@pytest.mark.parametrize("best, verdicts", [(0.905, ("met", "missed")), (0.925, ("met", "met")),
                                            (0.880, ("missed", "missed"))])
def test_report_marks_the_targets(best, verdicts):
    ms = {"mean": best, "sd": 0.01, "n": 5}
    row = {"n": 5, "val_auc": ms, "auc": {"single": ms, "ensemble": ms, "delta": {"n": 1, "mean": 0.0}},
           "acc": {"single": ms, "ensemble": ms, "delta": {"n": 1, "mean": 0.0}}}
    res = {"members": 5, "seeds": [0, 1, 2, 3, 4], "teachers": [], "old_alone_auc": 0.85,
           "recipe": {"teacher_epochs": 60, "epochs": 100, "views": 8},
           "ensemble_teacher": {"auc": 0.92, "accuracy": 0.88}, "methods": {"kd": row}}
    lines = [ln for ln in ensemble.markdown(res).splitlines() if ln.startswith("- ") and "AUC" in ln]
    assert len(lines) == 2 and all(f"{100 * best:.1f}" in ln for ln in lines)
    assert [ln.endswith("**met**") or "**met**," in ln for ln in lines] == [v == "met" for v in verdicts]
