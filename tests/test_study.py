"""Bookkeeping of benchmarks/study/study.py: resume, aggregation, paired intervals (tiny digits runs)."""

from __future__ import annotations

import gzip
import json
import math
import os
import shutil
from pathlib import Path

import pytest
import torch

from benchmarks._lib import provenance
from benchmarks.study.lib import cost, plan, recipe, records, report, runner, stats


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: one thread avoids oversubscribing a shared machine
    yield
    torch.set_num_threads(threads)


def tiny_profile(root: Path) -> dict:
    return {
        "root": root,
        "datasets": {"digits": {"binary": False, "seeds": [0, 1], "full_fraction": 1.0, "batch": 64,
                                "teacher_epochs": 1, "teacher_batch": 64, "epochs": {"full": 1, "low": 1}}},
        "regimes": {"full": 1.0},
        "students": ["cnn-tiny"], "methods": ["ce", "fma+kd"], "teacher": "cnn-small",
        "lr": 0.05, "teacher_lr": 0.05,
    }


def test_paired_interval_matches_hand_computation():
    a = [0.80, 0.82, 0.85, 0.81, 0.83]
    b = [0.78, 0.80, 0.84, 0.80, 0.80]
    p = stats.paired(a, b)
    # d = .02 .02 .01 .01 .03: mean .018, sd sqrt(280e-6 / 4) = .0083666, t(.975, 4) = 2.776445
    half = 2.776445 * math.sqrt(70e-6) / math.sqrt(5)
    assert p["n"] == 5 and p["wins"] == 5 and p["losses"] == 0
    assert p["mean"] == pytest.approx(0.018)
    assert p["sd"] == pytest.approx(math.sqrt(70e-6))
    assert p["ci"] == pytest.approx([0.018 - half, 0.018 + half], abs=1e-6)
    assert p["beats"] and not p["worse"]
    lo, hi = p["boot_ci"]
    assert 0.01 <= lo <= 0.018 <= hi <= 0.03  # bootstrap of means stays within the range of d
    # a difference whose interval straddles zero does not "beat"
    q = stats.paired([0.5, 0.6, 0.4], [0.5, 0.5, 0.5])
    assert q["mean"] == pytest.approx(0.0) and not q["beats"] and not q["worse"]
    assert stats.paired([0.7], [0.6])["beats"] is False  # one seed: no interval, no claim


def test_method_configs():
    d = plan.DEFAULTS
    ce, kd, at, fk = (plan.method_config(m) for m in ("ce", "kd", "at+kd", "fma+kd"))
    assert (ce.method, ce.alpha, ce.beta) == ("none", 0.0, 0.0)
    assert (kd.method, kd.alpha) == ("kd", d["alpha"])
    assert (at.method, at.alpha, at.beta) == ("at", d["alpha"], d["beta"]["at"])
    assert (fk.method, fk.alpha, fk.beta) == ("fma", d["alpha"], d["beta"]["fma"])
    assert plan.method_config("sals").alpha == 0.0


def test_plan_is_paired_and_low_data_fraction(tmp_path):
    prof = plan.PROFILES["full"]
    specs = plan.plan(prof, ["pneumoniamnist"], ["low"], ["cnn-tiny"])
    assert specs[0]["kind"] == "teacher" and specs[0]["train"].label_fraction == 1.0
    students = specs[1:]
    assert len(students) == 5 * len(plan.METHODS)
    assert {s["train"].label_fraction for s in students} == {0.1}
    assert all(not s["train"].augment for s in students)
    by_seed = {}
    for s in students:
        by_seed.setdefault(s["seed"], set()).add(s["method"])
    assert all(v == set(plan.METHODS) for v in by_seed.values())
    caches = {s["seed"]: s["cache"] for s in students}  # one teacher cache per label subset, AT's included
    assert len(set(caches.values())) == 5 and all(s["cache"] == caches[s["seed"]] for s in students)


def test_v2_profile_augments_with_per_seed_view_caches():
    prof = plan.PROFILES["v2"]
    specs = [s for s in plan.plan(prof, ["pneumoniamnist"], ["full"], ["cnn-small"]) if s["kind"] == "student"]
    assert {s["method"] for s in specs} == set(plan.V2_METHODS)
    assert all(s["train"].augment and s["train"].cache_views == 8 for s in specs)
    assert {s["train"].epochs for s in specs} == {plan.V2_EPOCHS["pneumoniamnist"]["full"]}
    caches = {s["seed"]: s["cache"] for s in specs}  # views are drawn per seed: one cache per seed
    assert len(set(caches.values())) == 5 and all(s["cache"] == caches[s["seed"]] for s in specs)
    assert all("study/v2/" in str(s["out"]) for s in specs)
    # the first recipe keeps its shared full-data cache
    old = [s for s in plan.plan(plan.PROFILES["full"], ["pneumoniamnist"], ["full"], ["cnn-small"])
           if s["kind"] == "student"]
    assert len({s["cache"] for s in old}) == 1 and not any(s["train"].augment for s in old)


def _group(values: dict[str, tuple[list[float], float]]) -> dict:
    """A group summary as stats.summarise gives it: per method test AUC per seed and a val mean."""
    return {m: {"n": len(v), "val_auc": {"mean": val}, "test_auc": {**stats.mean_sd(v), "values": dict(enumerate(v))},
                "test_acc": {**stats.mean_sd(v), "values": dict(enumerate(v))}} for m, (v, val) in values.items()}


def test_recipe_comparison_picks_on_validation_and_computes_gap_recovery():
    teacher = {"test_auc": 0.90, "test_acc": 0.90}
    old = {"datasets": {"breastmnist": {"binary": True, "teacher": teacher, "groups": {"full/cnn-small": _group(
        {"ce": ([0.80, 0.80], 0.8), "kd": ([0.84, 0.86], 0.8), "mip+kd": ([0.85, 0.85], 0.8)})}}}}
    new = {"datasets": {"breastmnist": {"binary": True, "teacher": teacher, "groups": {"full/cnn-small": _group(
        {"ce": ([0.82, 0.82], 0.8), "kd": ([0.90, 0.92], 0.95), "mip+kd": ([0.89, 0.89], 0.90)})}}}}
    g = recipe.compare(old, new)["groups"]["breastmnist full/cnn-small"]
    assert g["pick"] == "kd"  # higher validation AUC, though mip+kd's is chosen nowhere on test
    assert g["recovery_auc"]["vs old alone"] == pytest.approx((0.91 - 0.80) / (0.90 - 0.80))
    assert g["recovery_auc"]["vs new alone"] == pytest.approx((0.91 - 0.82) / (0.90 - 0.82))
    assert g["delta_auc"]["vs old same method"]["mean"] == pytest.approx(0.06)  # paired by seed vs old KD
    assert recipe.recovery(0.9, 0.9, 0.95) is None  # no gap: no recovery
    assert recipe.recovery(0.9, 0.897, 0.95) is None  # a 0.3-point gap: a ratio over noise, not reported
    rows = {r["target"].split(" (")[0]: r for r in recipe.targets({"breastmnist full/cnn-small": g})}
    assert rows["breastmnist full/cnn-small"]["met"] and rows["breastmnist full/cnn-small"]["margin"] == \
        pytest.approx(0.91 - 0.901)
    assert not rows["pneumoniamnist full/cnn-small"]["met"]  # not run: missed, said so
    assert rows["breastmnist full/cnn-small"]["teacher"] == 0.90
    # a missed target says how far its teacher is (the reason when the teacher is itself below it)
    ensemble = {"members": 5, "ensemble_teacher": {"auc": 0.905}, "methods": {
        "kd": {"n": 5, "val_auc": {"mean": 0.93}, "auc": {"ensemble": {"mean": 0.89}}},
        "mip+kd": {"n": 5, "val_auc": {"mean": 0.94}, "auc": {"ensemble": {"mean": 0.88}}}}}
    assert recipe.ensemble_best(ensemble) == ("mip+kd", 0.88)  # picked on validation, not on test
    text = "\n".join(recipe.markdown({"groups": {}, "targets": recipe.targets({}, ensemble)}, plan.PROFILES["v2"]))
    assert "moonshot: test AUC > 91.9: 88.0 -> **missed**, margin -3.9 points; its teacher: 90.5 (itself below" in text


def test_resume_skips_finished_runs_and_aggregates(tmp_path, monkeypatch):
    prof = tiny_profile(tmp_path / "st")
    specs = plan.plan(prof)
    assert len(specs) == 1 + 2 * 2
    counts = runner.run_plan(specs, log=lambda s: None)
    assert counts == {"new": 5}
    for s in specs:
        assert (s["out"] / "test.json").exists() and runner.run_state(s) == "done"
    mtimes = {s["out"]: (s["out"] / "test.json").stat().st_mtime_ns for s in specs}
    # the runner recorded every run it made: collecting the folders again gives the same bytes
    path = records.records_path(prof)
    assert path == tmp_path / "st" / "records.jsonl.gz" and len(records.load(path)) == 5
    recorded = path.read_bytes()
    assert records.collect(prof) == 5 and path.read_bytes() == recorded

    def boom(kind):
        def train(*a, **k):
            raise AssertionError(f"a finished {kind} was trained again")
        return train

    monkeypatch.setattr(runner, "distill", boom("student"))
    monkeypatch.setattr(runner, "train_supervised", boom("teacher"))
    assert runner.run_plan(specs, log=lambda s: None) == {"done": 5}
    assert all((s["out"] / "test.json").stat().st_mtime_ns == mtimes[s["out"]] for s in specs)
    # --force reruns students but spares the teacher (a new one would invalidate its cache) ...
    with pytest.raises(AssertionError, match="finished student was"):
        runner.run_plan(specs, force=True, log=lambda s: None)
    # ... unless the teachers are forced explicitly
    with pytest.raises(AssertionError, match="finished teacher was"):
        runner.run_plan(specs, force=True, force_teachers=True, log=lambda s: None)

    # a changed config is not silently skipped
    changed = plan.student_spec({**prof, "lr": 0.01}, "digits", "full", "cnn-tiny", "fma+kd", 0)
    assert runner.run_state(changed) == "mismatch"
    with pytest.raises(SystemExit):
        runner.execute(changed)

    res = stats.aggregate(prof)
    g = res["datasets"]["digits"]["groups"]["full/cnn-tiny"]
    accs = []
    for seed in (0, 1):
        accs.append(json.loads((tmp_path / "st/runs/digits/full/cnn-tiny/fma+kd" / f"s{seed}" / "test.json")
                               .read_text())["test"]["accuracy"])
    assert g["fma+kd"]["n"] == 2
    assert g["fma+kd"]["test_acc"]["mean"] == pytest.approx(sum(accs) / 2)
    assert g["fma+kd"]["test_acc"]["sd"] == pytest.approx(abs(accs[0] - accs[1]) / math.sqrt(2))
    ce = [g["ce"]["test_acc"]["values"][s] for s in (0, 1)]
    assert g["fma+kd"]["vs_ce"]["acc"]["mean"] == pytest.approx((accs[0] - ce[0] + accs[1] - ce[1]) / 2)
    assert g["fma+kd"]["vs_ce"]["seeds"] == [0, 1]
    assert res["datasets"]["digits"]["teacher"]["params"] > g["fma+kd"]["params"]

    # the committed form: with the run folders gone, the records alone give the same aggregate and resume state
    shutil.rmtree(tmp_path / "st" / "runs")
    assert stats.aggregate(prof) == res
    assert all(runner.run_state(s) == "done" for s in specs) and runner.run_state(changed) == "mismatch"

    # the report renders without crashing, with the targets section
    res = report.report(prof, tmp_path / "r.md", tmp_path / "rep", "t", figures=False)
    text = (tmp_path / "r.md").read_text()
    assert "| fma+kd | 2/2 |" in text and "Targets" in text
    assert json.loads((tmp_path / "rep" / "results.json").read_text())["targets"]


def test_records_keep_each_run_file_unchanged_and_rewrite_stably(tmp_path):
    """One JSONL line per run folder holding its record files as they were; an update replaces one
    run's line and keeps the others (runs whose folders are gone); the same records give the same bytes."""
    runs, path = tmp_path / "runs", tmp_path / "records" / "r.jsonl.gz"
    files = {"a/full/cnn-tiny/kd/s0": {"metrics": {"config": {"epochs": 2}, "epochs": [{"time_s": 0.5}]},
                                      "test": {"test": {"accuracy": 0.75}}, "study_run": {"wall_s": 3.0}},
             "a/teacher": {"metrics": {"params": 10}, "test": {"test": {"accuracy": 0.9, "auc": None}}}}
    for key, rec in files.items():
        (runs / key).mkdir(parents=True)
        for name, content in rec.items():
            (runs / key / f"{name}.json").write_text(json.dumps(content, indent=1))
    (runs / "a" / "teacher" / "model.pt").write_bytes(b"not recorded")
    assert records.update(path, runs, sorted(runs / k for k in files)) == 2
    assert records.load(path) == files
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    assert [json.loads(line)["run"] for line in lines] == sorted(files)  # one line per run, sorted by key
    first = path.read_bytes()
    shutil.rmtree(runs / "a" / "teacher")
    records.write(path, records.load(path))
    assert path.read_bytes() == first  # no timestamp in the file: rebuilt records compare byte for byte
    (runs / "a/full/cnn-tiny/kd/s0/test.json").write_text(json.dumps({"test": {"accuracy": 0.5}}))
    assert records.update(path, runs, [runs / "a/full/cnn-tiny/kd/s0"]) == 1
    after = records.load(path)
    assert after["a/full/cnn-tiny/kd/s0"]["test"] == {"test": {"accuracy": 0.5}}
    assert after["a/teacher"] == files["a/teacher"]  # its folder is gone; its record stays


def test_partial_seed_coverage_pairs_only_common_seeds():
    def run(acc):
        return {"test_acc": acc, "test_auc": acc, "val_acc": acc, "val_auc": acc, "params": 1, "macs": 1,
                "s_per_epoch": 1.0}
    runs = {"ce": {0: run(0.5), 1: run(0.6), 2: run(0.7)}, "kd": {0: run(0.6), 2: run(0.9)}}
    out = stats.summarise(runs, [0, 1, 2])
    assert out["kd"]["vs_ce"]["seeds"] == [0, 2]
    assert out["kd"]["vs_ce"]["acc"]["mean"] == pytest.approx((0.1 + 0.2) / 2)
    assert out["ce"]["n"] == 3 and "vs_ce" not in out["ce"]


def test_parallel_jobs_match_sequential_runs_and_project_the_cost(tmp_path):
    seq, par = tiny_profile(tmp_path / "seq"), tiny_profile(tmp_path / "par")
    assert runner.run_plan(plan.plan(seq), log=lambda s: None) == {"new": 5}
    lines: list[str] = []
    assert runner.run_plan(plan.plan(par), log=lines.append, jobs=2) == {"new": 5}
    assert len(lines) == 5 and lines[0].startswith("[1/5]")
    for spec in plan.plan(par):
        rel = spec["out"].relative_to(par["root"])
        same = json.loads((seq["root"] / rel / "test.json").read_text())["test"]
        assert json.loads((spec["out"] / "test.json").read_text())["test"] == same  # same seeds, same numbers

    # a 3-epoch "full" study projected from the 1-epoch runs of the first seed: per run, the
    # matching run's wall time + 2 more epochs per student, 1 more per teacher
    full = {**par, "root": tmp_path / "full", "datasets": {"digits": {**par["datasets"]["digits"],
                                                                     "epochs": {"full": 3}, "teacher_epochs": 2}}}
    expected = 0.0
    for spec in plan.plan(full):
        run = par["root"] / "runs/digits" / ("teacher" if spec["kind"] == "teacher" else f"full/cnn-tiny/{spec['method']}/s0")
        wall = json.loads((run / "study_run.json").read_text())["wall_s"]
        times = [e["time_s"] for e in json.loads((run / "metrics.json").read_text())["epochs"]]
        expected += wall + (1 if spec["kind"] == "teacher" else 2) * sum(times) / len(times)
    proj = cost.projection(par, full, jobs=2)
    assert proj["runs_missing"] == 0 and proj["cpu_h"] * 3600 == pytest.approx(expected)
    assert proj["teachers_h"] < proj["wall_h"] < proj["cpu_h"]


def _alive_children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (Linux /proc; a zombie counts as ended)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    pids = [int(c) for c in children.read_text().split()] if children.exists() else []
    return [c for c in pids if _running(c)]


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads Linux /proc")
def test_stopping_a_parallel_study_stops_its_workers(tmp_path):
    """``kill`` on a ``--jobs 2`` study ends its worker processes with it (they used to go on
    training their current run, and one queued run, with nobody recording them)."""
    import signal
    import subprocess
    import sys
    import time

    profile = tiny_profile(tmp_path)
    profile["datasets"]["digits"]["teacher_epochs"] = 1000  # still training when the kill comes
    text = json.dumps({**profile, "root": str(tmp_path)})
    script = ("import json; from pathlib import Path; from benchmarks.study.lib import plan, runner\n"
              f"profile = json.loads({text!r}); profile['root'] = Path(profile['root'])\n"
              "runner.run_plan(plan.plan(profile), log=print, jobs=2)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=provenance.ROOT)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while len(_alive_children(parent.pid)) < 2 and time.monotonic() < deadline:  # a worker + resource tracker
            time.sleep(0.5)
        time.sleep(2)
        workers = _alive_children(parent.pid)
        assert len(workers) >= 2, "the study's workers never started"
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(timeout=60) != 0
        deadline = time.monotonic() + 30
        while any(_running(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not [w for w in workers if _running(w)]
    finally:  # a failure must not leave training processes behind
        parent.kill()
        for w in workers:
            if _running(w):
                os.kill(w, signal.SIGKILL)


def test_run_records_name_repository_paths_relatively(tmp_path):
    """Committed study records must not name this checkout's absolute path (edgekd writes the
    teacher and cache paths it is given); paths outside the repository stay as they are."""
    inside = provenance.ROOT / "benchmarks" / "_work" / "study" / "runs" / "t" / "model.pt"
    (tmp_path / "metrics.json").write_text(json.dumps({"teacher": {"checkpoint": str(inside)},
                                                       "teacher_cache": str(tmp_path / "cache")}))
    (tmp_path / "test.json").write_text(json.dumps({"checkpoint": "elsewhere/model.pt"}))
    assert runner.repo_relative_records(tmp_path) == 1
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["teacher"]["checkpoint"] == "benchmarks/_work/study/runs/t/model.pt"
    assert m["teacher_cache"] == str(tmp_path / "cache")
    assert provenance.rel_path(inside) == "benchmarks/_work/study/runs/t/model.pt"


def test_teachers_benchmark_pairs_students_with_the_alone_student_of_their_seed():
    """benchmarks/teachers: students pair with the alone student of the same seed (a variant group
    shares its data set's), the gap recovery is (student - alone) / (teacher - alone), and a teacher
    below the student alone gets no recovery."""
    from benchmarks.teachers import teachers

    def rec(group, role, arch, draw, seed, auc, macs=10):
        return {"group": group, "role": role, "arch": arch, "draw": draw, "seed": seed, "params": 1, "macs": macs,
                "epochs": 30, "epoch_s_median": 2.0,
                "test": {"auc": auc, "accuracy": auc, "ece_after": 0.05, "accuracy_at_half": auc}}

    rows = [rec("breastmnist", "alone", "-", None, 0, 0.80), rec("breastmnist", "alone", "-", None, 1, 0.84),
            rec("breastmnist", "teacher", "wrn16-2", 0, None, 0.92, macs=25),
            rec("breastmnist", "student", "wrn16-2", 0, 0, 0.86), rec("breastmnist", "student", "wrn16-2", 0, 1, 0.88),
            rec("breastmnist-ls", "teacher", "resnet20", 0, None, 0.70),
            rec("breastmnist-ls", "student", "resnet20", 0, 1, 0.80)]
    report = teachers.summarise(rows)
    groups = report["groups"]
    assert list(groups) == ["breastmnist"]
    wrn, smoothed = groups["breastmnist"]["teachers"]["wrn16-2"], groups["breastmnist"]["teachers"][
        "resnet20, label smoothing 0.1"]
    assert wrn["vs_alone"]["auc"]["mean"] == pytest.approx(0.05)  # (0.86 - 0.80 + 0.88 - 0.84) / 2
    assert wrn["gap_recovery"] == pytest.approx(0.05 / (0.92 - 0.82))
    assert smoothed["vs_alone"]["auc"]["mean"] == pytest.approx(-0.04)  # paired with seed 1's alone only
    assert smoothed["gap_recovery"] is None and smoothed["teacher_minus_alone"] < 0
    assert "teacher below alone" in teachers.markdown({"groups": groups})
    # what is left of the grid, with its cost from the records that exist (wrn16-2 t1 is not run)
    assert report["macs_vs_resnet20"] == {"resnet20": 1.0, "wrn16-2": 2.5}
    assert "breastmnist wrn16-2 t1" in report["not_run"] and "wrn16-2 2.5x" in teachers.markdown(report)


def test_teachers_collect_merges_into_the_records_it_finds():
    """A collect on another machine keeps the models it cannot read, replaces the ones it reads
    again in place and appends new ones: a grid can be finished where its earlier runs are gone."""
    from benchmarks.teachers import teachers

    def rec(arch, draw, seed, auc):
        return {"group": "mnist10", "role": "student" if seed is not None else "teacher", "arch": arch,
                "draw": draw, "seed": seed, "test": {"auc": auc}}

    earlier = [rec("resnet20", 0, None, 0.90), rec("resnet20", 0, 0, 0.80), rec("resnet56", 0, None, 0.91)]
    fresh = [rec("resnet18", 0, None, 0.95), rec("resnet20", 0, 0, 0.85)]
    merged = teachers.merge(earlier, fresh)
    assert [(r["arch"], r["seed"], r["test"]["auc"]) for r in merged] == [
        ("resnet20", None, 0.90), ("resnet20", 0, 0.85), ("resnet56", None, 0.91), ("resnet18", None, 0.95)]
    assert teachers.merge(earlier, []) == earlier


# --- the third round (lib/v3.py, lib/v3_report.py) ---------------------------------------------

def test_v3_plan_pairs_methods_draws_and_the_student_alone():
    from benchmarks.study.lib import v3

    screen = v3.plan("screen")
    assert len(screen) == 3 + 3 * 3 * len(v3.METHODS)  # 3 teachers; 3 groups x 3 seeds x every method, draw 0
    grid = v3.plan("grid")
    teachers, students = grid[:6], grid[6:]
    assert all(s["kind"] == "teacher" and s["train"].epochs == 30 for s in teachers)  # `edgekd train` defaults
    assert {s["train"].label_fraction for s in teachers if s["dataset"] == "mnist"} == {0.1}
    # the student alone reads no teacher: one run per seed serves both draws
    assert len(students) == 12 * len(v3.SEEDS) * (1 + (len(v3.GRID_METHODS) - 1) * len(v3.DRAWS))
    assert all(s["draw"] == 0 and s["out"].name.startswith("s") for s in students if s["method"] == "ce")
    # cheapest groups first (so an interrupted grid leaves whole cheap groups), `--epochs auto` per size
    order = list(dict.fromkeys((s["dataset"], s["regime"], s["model"]) for s in students if s["seed"] == 0))
    assert order[0] == ("breastmnist", "low", "cnn-tiny") and order[-1] == ("mnist", "full", "cnn-small")
    epochs = {(s["dataset"], s["regime"]): s["train"].epochs for s in students}
    assert epochs[("breastmnist", "full")] == 300 and epochs[("pneumoniamnist", "full")] == 100
    assert epochs[("mnist", "full")] == 100 and epochs[("mnist", "low")] == 300
    # paired: for one group and seed every method trains with the same recipe (same views, same order)
    by_run: dict = {}
    for s in students:
        by_run.setdefault((s["dataset"], s["regime"], s["model"], s["seed"]), set()).add(
            json.dumps(s["train"].recipe(), sort_keys=True))
    assert all(len(recipes) == 1 for recipes in by_run.values())
    ls = v3.student_spec("breastmnist", "full", "cnn-small", "ls-kd", 0, 1)
    assert ls["distill"].logit_standardize and ls["teacher"].parent.name == "teacher-t1"
    assert ls["cache"] != v3.student_spec("breastmnist", "full", "cnn-small", "kd", 0, 0)["cache"]


def test_runner_reads_older_records_and_tells_logit_standardisation_apart(tmp_path):
    from benchmarks.study.lib import v3

    spec = {**v3.student_spec("breastmnist", "full", "cnn-small", "ls-kd", 0, 0), "out": tmp_path / "run"}
    spec["out"].mkdir()
    recipe_then = {k: v for k, v in spec["train"].recipe().items()
                   if k not in ("label_smoothing", "operating_point", "calibration")}  # options added later
    method = {"method": "kd", "alpha": 0.9, "beta": 0.0, "temperature": 4.0, "att_loss": "mse", "att_size": None}
    (spec["out"] / "test.json").write_text("{}")
    for standardised, state in ((True, "done"), (False, "mismatch")):
        (spec["out"] / "metrics.json").write_text(json.dumps(
            {"config": recipe_then, "model": {"name": "cnn-small"},
             "distill": {**method, "logit_standardize": standardised}}))
        assert runner.run_state(spec) == state


def test_v3_report_pairs_the_student_alone_with_every_draw(tmp_path, monkeypatch):
    from benchmarks.study.lib import v3, v3_report

    monkeypatch.setattr(v3, "PROFILE", {"root": tmp_path, "records": tmp_path / "v3.jsonl.gz"})

    def rec(auc: float, val: float = 0.9, rule: float | None = None) -> dict:
        return {"metrics": {}, "test": {"test": {"accuracy": auc, "auc": auc}, "val": {"accuracy": val, "auc": val}},
                "decide": {} if rule is None else {"accuracy_at_rule": rule}}

    g = "breastmnist/full/cnn-small"
    records.write(tmp_path / "v3.jsonl.gz", {
        "breastmnist/teacher-t0": rec(0.90), "breastmnist/teacher-t1": rec(0.92),
        f"{g}/ce/s0": rec(0.80, rule=0.70), f"{g}/ce/s1": rec(0.82, rule=0.75),
        f"{g}/kd/t0-s0": rec(0.85, rule=0.72), f"{g}/kd/t0-s1": rec(0.87), f"{g}/kd/t1-s0": rec(0.86, rule=0.80),
        f"{g}/kd/t1-s1": rec(0.90),
        f"{g}/dkd/t0-s0": rec(0.81, 0.95), f"{g}/dkd/t0-s1": rec(0.81, 0.95)})
    rep = v3_report.summarise()
    group = rep["groups"]["breastmnist full/cnn-small"]
    kd = group["methods"]["kd"]
    assert kd["n"] == 4 and kd["vs_alone"]["n"] == 4  # each seed's alone run paired with both draws
    assert kd["vs_alone"]["mean"] == pytest.approx((0.05 + 0.05 + 0.06 + 0.08) / 4)
    assert kd["recovery"] == pytest.approx((0.87 - 0.81) / (0.91 - 0.81))  # teachers' mean over the draws used
    assert kd["vs_teacher"]["mean"] == pytest.approx((-0.05 - 0.03 - 0.06 - 0.02) / 4)
    # accuracy at the shipped rule is paired where both runs have it: seed 0 of each draw with alone's seed 0
    assert kd["rule_vs_alone"]["n"] == 2 and kd["rule_vs_alone"]["mean"] == pytest.approx((0.02 + 0.10) / 2)
    assert kd["variance"]["between_draws_sd"] == pytest.approx(math.sqrt(2e-4))  # draw means .86 and .88
    assert kd["variance"]["within_draw_sd"] == pytest.approx(math.sqrt((2e-4 + 8e-4) / 2))
    dkd = group["methods"]["dkd"]
    assert dkd["vs_kd"]["n"] == 2 and dkd["vs_kd"]["mean"] == pytest.approx(-0.05)  # draw 0's KD runs only
    assert dkd["recovery"] == pytest.approx(0.0) and dkd["teacher"] == pytest.approx(0.90)  # draw 0's teacher
    assert group["pick"] == "dkd"  # the best on validation, whatever its test figure
    assert [r["method"] for r in rep["screen"]] == ["dkd"]  # the screen ranks the others against KD, on draw 0
    assert rep["screen"][0]["mean_vs_kd"] == pytest.approx(-0.05)
    assert rep["verdicts"]["kd"]["beats_alone"] == 1 and rep["verdicts"]["dkd"]["beats_alone"] == 0
    pooled = rep["pooled_vs_kd"]["dkd"]  # draw 0's two seeds: .81 - .85, .81 - .87
    assert pooled["primary"]["n"] == 2 and pooled["primary"]["mean"] == pytest.approx(-0.05)
    assert pooled["accuracy_at_rule"]["n"] == 0  # dkd's runs carry no decisions
    md = "\n".join(v3_report.markdown(rep))
    assert "breastmnist full/cnn-small (screen)" in md and "**missed**" in md


def test_v3_maps_pool_the_common_seeds_per_image_and_pair_over_images(tmp_path, monkeypatch):
    from benchmarks.study.lib import v3, v3_report

    monkeypatch.setattr(v3, "PROFILE", {"root": tmp_path, "records": tmp_path / "v3.jsonl.gz"})
    ds, regime, student = v3.MAPS_GROUP
    g = f"{ds}/{regime}/{student}"

    def rec(ins_del: list, random: list, gain: list, acc: float = 0.9) -> dict:
        return {"metrics": {}, "test": {}, "maps": {"ins_del": ins_del, "random": random, "agreement_gain": gain,
                                                    "accuracy": acc}}

    records.write(tmp_path / "v3.jsonl.gz", {
        f"{g}/ce/s0": rec([0.10, 0.20, 0.30], [0.0, 0.0, 0.0], [0.1, 0.1, 0.1]),
        f"{g}/ce/s1": rec([0.30, 0.20, None], [0.0, 0.1, 0.0], [0.3, 0.3, 0.3]),
        f"{g}/kd/t0-s0": rec([0.00, 0.10, 0.10], [0.0, 0.0, 0.0], [0.2, 0.2, 0.2], 0.8),
        f"{g}/kd/t0-s1": rec([0.20, 0.10, 0.30], [0.0, 0.0, 0.0], [0.4, 0.4, 0.4], 1.0),
        f"{g}/kd/t0-s2": rec([0.90, 0.90, 0.90], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]),  # seed 2: kd only, left out
        f"{g}/kd/t1-s0": rec([0.90, 0.90, 0.90], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0])})  # another teacher: left out
    mp = v3_report.maps_summary()
    assert mp["seeds"] == [0, 1] and mp["n"] == 3
    ce, kd = mp["methods"]["ce"], mp["methods"]["kd"]
    # per image over seeds: ce .2 .2 .3 (a missing score is skipped), kd .1 .1 .2
    assert ce["ins_del"] == pytest.approx(0.7 / 3) and kd["ins_del"] == pytest.approx(0.4 / 3)
    assert kd["vs_ce"]["mean"] == pytest.approx(-0.1) and kd["vs_ce"]["n"] == 3
    assert ce["vs_kd"]["mean"] == pytest.approx(0.1)
    assert ce["vs_random"]["mean"] == pytest.approx((0.2 + 0.15 + 0.3) / 3)  # random per image 0 .05 0
    assert kd["agreement_gain"]["mean"] == pytest.approx(0.3) and kd["accuracy"] == pytest.approx(0.9)
    assert "dkd" not in mp["methods"]
    assert "The students' own maps" in "\n".join(v3_report.markdown({**_empty_report(), "maps": mp}))


def _empty_report() -> dict:
    return {"records": "r", "teachers": {}, "groups": {}, "screen": [], "verdicts": {}, "targets": []}


def test_v3_decisions_of_a_run_match_what_training_reported(trained_digits_run, tmp_path):
    from benchmarks.study.lib import v3

    shutil.copy(trained_digits_run / "model.pt", tmp_path / "model.pt")
    v3.decide({"out": tmp_path, "dataset": "digits"})
    got = json.loads((tmp_path / "decide.json").read_text())
    test = json.loads((trained_digits_run / "test.json").read_text())["test"]
    assert got["accuracy_at_half"] == pytest.approx(test["accuracy"], abs=1e-12)  # same model, same split
    assert got["accuracy_at_rule"] == pytest.approx(test["decision"]["accuracy"], abs=1e-12)
    assert got["ece_after"] == pytest.approx(test["decision"]["ece_after"], abs=1e-6)  # float32 logits
    assert got["positive_class"] is None and sum(got["estimated_prior"]) == pytest.approx(1.0)
