"""Running the study's specs: resume bookkeeping (done / partial / new / mismatch), one run,
and a plan run one at a time or in ``jobs`` worker processes.  A spec that names its round's
``records`` file (plan.py's specs do) is recorded there when it finishes, and a run recorded
there counts as done even when its folder is not on this machine."""

from __future__ import annotations

import contextlib
import json
import math
import time
from dataclasses import asdict
from pathlib import Path

from benchmarks._lib.provenance import ROOT, rel_path
from benchmarks.study.lib import records
from edgekd.distillation.run import distill
from edgekd.training.supervised import train_supervised


def _json_spec(spec: dict) -> dict:
    out = {k: v for k, v in spec.items()
           if k not in ("train", "distill", "out", "cache", "teacher", "records", "runs", "after")}
    teacher = spec.get("teacher")
    out["teacher"] = ([rel_path(t) for t in teacher] if isinstance(teacher, list)
                      else rel_path(teacher) if teacher else None)
    out["train"] = spec["train"].recipe()
    if "distill" in spec:
        out["distill"] = asdict(spec["distill"])
    out["cache"] = rel_path(spec["cache"]) if spec.get("cache") else None
    return out


def _record(spec: dict) -> dict | None:
    """The spec's run in its round's records (None without records or without that run)."""
    if not spec.get("records"):
        return None
    return records.load(spec["records"]).get(records.key_of(spec["out"], spec["runs"]))


#: options added after runs were recorded, with the value that reproduces what those runs did
_ADDED_LATER = {"label_smoothing": 0.0, "operating_point": "0.5", "calibration": "temperature"}


def _recipe(config: dict) -> dict:
    """A recorded training config under today's option names (``views`` became ``cache_views``),
    with the options added since then at the value those runs had."""
    return _ADDED_LATER | {("cache_views" if k == "views" else k): v for k, v in config.items()}


def run_state(spec: dict) -> str:
    """'done', 'partial' (resumable), 'new', or 'mismatch' (the folder, or the run's record when
    the folder is absent, holds another config)."""
    out: Path = spec["out"]
    metrics = out / "metrics.json"
    if metrics.exists():
        m, finished = json.loads(metrics.read_text()), (out / "test.json").exists()
    elif (out / "last.pt").exists():
        return "partial"
    else:
        rec = _record(spec)
        if not rec or "metrics" not in rec:
            return "new"
        m, finished = rec["metrics"], "test" in rec
    same = _recipe(m.get("config") or {}) == spec["train"].recipe() and m.get("model", {}).get("name") == spec["model"]
    if same and spec["kind"] == "student":
        d, rec = spec["distill"], m.get("distill") or {}
        same = (rec.get("method") == d.method and math.isclose(rec.get("alpha", -1), d.alpha)
                and math.isclose(rec.get("beta", -1), d.beta or 0.0)
                and math.isclose(rec.get("temperature", -1), d.temperature) and rec.get("att_loss") == d.att_loss
                and rec.get("att_size") == d.att_size
                and bool(rec.get("logit_standardize")) == bool(getattr(d, "logit_standardize", False)))
    if not same:
        return "mismatch"
    if finished:
        return "done"
    return "partial" if (out / "last.pt").exists() else "new"


def execute(spec: dict, force: bool = False, log=print) -> str:
    """Run one spec unless finished; returns the state it was found in."""
    state = run_state(spec)
    if state == "done" and not force:
        if spec.get("after") and spec["out"].is_dir() and not (spec["out"] / f"{spec['after'].__name__}.json").exists():
            spec["after"](spec)  # a run finished before its round learnt the step after training
        return state
    if state == "mismatch" and not force:
        raise SystemExit(f"{spec['out']} (or its line in {spec.get('records')}) holds a run with another config; "
                         "delete it or pass --force")
    out: Path = spec["out"]
    out.mkdir(parents=True, exist_ok=True)
    (out / "study_run.json").write_text(json.dumps(_json_spec(spec), indent=1) + "\n")
    resume = state == "partial" and not force
    with _no_curve_plots():
        wall = _train(spec, out, resume, force or state == "mismatch", log, state)
    if spec.get("after"):
        spec["after"](spec)  # e.g. the third round's test decisions (v3.decide -> decide.json)
    record = {**_json_spec(spec), "wall_s": round(wall, 2), "resumed": resume}
    (out / "study_run.json").write_text(json.dumps(record, indent=1) + "\n")
    repo_relative_records(out)
    return state


def repo_relative_records(folder: Path) -> int:
    """Rewrite the repository's absolute path as a relative one in the JSON records of a run folder
    (edgekd writes the teacher and cache paths it was given, absolute here): committed results
    must not name this machine's checkout.  Returns how many files changed."""
    prefix, changed = json.dumps(str(ROOT) + "/")[1:-1], 0
    for path in folder.glob("*.json"):
        text = path.read_text()
        if prefix in text:
            path.write_text(text.replace(prefix, ""))
            changed += 1
    return changed


@contextlib.contextmanager
def _no_curve_plots():
    """The loop redraws curves.png after every epoch (~1 s of matplotlib on this machine, as much as a
    small epoch itself); study runs skip it (metrics.json keeps the numbers).  Restored afterwards."""
    import edgekd.training.loop as loop

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
        teacher = spec["teacher"]
        distill(teacher, spec["model"], spec["dataset"], out, spec["train"], spec["distill"],
                teacher_cache=spec["cache"], resume=resume, force=restart, quiet=True, figure_images=0)
    wall = time.perf_counter() - t0
    log(f"  {state:>7} -> done  {rel_path(out)}  {wall:.0f}s")
    return wall


def run_plan(specs: list[dict], force: bool = False, log=print, jobs: int = 1, threads: int = 1,
             force_teachers: bool = False) -> dict:
    """Run the specs (teachers first); ``jobs`` > 1 runs that many at a time, each in its own
    process with ``threads`` torch threads.  ``force`` reruns finished student runs; a
    finished teacher is retrained only with ``force_teachers`` (a new teacher invalidates
    its teacher cache and every student trained from it).  Returns {state found: count}."""
    counts: dict[str, int] = {}

    def forced(spec: dict) -> bool:
        return force and (spec["kind"] == "student" or force_teachers)

    if jobs <= 1:
        for i, spec in enumerate(specs, 1):
            _require_teacher(spec)
            state = execute(spec, forced(spec), log=lambda s, i=i: log(f"[{i}/{len(specs)}]{s}"))
            _record_run(spec, state, forced(spec))
            counts[state] = counts.get(state, 0) + 1
        return counts
    import multiprocessing

    finished = 0
    context = multiprocessing.get_context("spawn")  # fork after torch's thread pools start can hang
    with _workers_end_with_the_parent(), \
            context.Pool(jobs, initializer=_set_threads, initargs=(threads,)) as pool:
        for phase in ("teacher", "student"):  # students read the teachers' checkpoints
            todo = [s for s in specs if s["kind"] == phase]
            for spec in todo:
                _require_teacher(spec)
            tasks = [(i, spec, forced(spec)) for i, spec in enumerate(todo)]
            for i, state, line in pool.imap_unordered(_execute_numbered, tasks):
                _record_run(todo[i], state, forced(todo[i]))
                finished += 1
                counts[state] = counts.get(state, 0) + 1
                if line:
                    log(f"[{finished}/{len(specs)}]{line}")
    return counts


def _record_run(spec: dict, state: str, forced: bool) -> None:
    """Add a run that just finished (or a finished folder not recorded yet) to its round's
    records, in the parent process only, so parallel workers never write the file at once."""
    if not spec.get("records"):
        return
    recorded = _record(spec)
    on_disk = records.read_folder(spec["out"]) if spec["out"].is_dir() else None
    newer = bool(on_disk) and (recorded is None or bool(set(on_disk) - set(recorded)))  # e.g. a decide.json added
    if state != "done" or forced or ((spec["out"] / "test.json").exists() and newer):
        records.update(spec["records"], spec["runs"], [spec["out"]])


def _require_teacher(spec: dict) -> None:
    teachers = spec["teacher"] if isinstance(spec.get("teacher"), list) else [spec.get("teacher")]
    if spec["kind"] == "student" and not all(t.exists() for t in teachers):
        raise SystemExit(f"teacher for {spec['dataset']} missing: it must come first in the plan")


def _set_threads(threads: int) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


def _execute_numbered(task: tuple[int, dict, bool]) -> tuple[int, str, str]:
    """``execute`` in a worker process: the task's number, its state and its log line come back
    to the parent, which alone writes the records."""
    number, spec, force = task
    lines: list[str] = []
    state = execute(spec, force, log=lines.append)
    return number, state, "\n".join(lines)


@contextlib.contextmanager
def _workers_end_with_the_parent():
    """``kill`` (SIGTERM) on the parent becomes SystemExit, so the pool's exit terminates its
    workers too; left to the default handler the parent died alone and its workers went on
    training their current (and one queued) run."""
    import signal

    def stop(signum, frame):
        raise SystemExit(f"stopped by signal {signum}")

    saved = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, saved)
