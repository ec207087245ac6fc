"""The sections of ``edgekd report``'s page, one function each: overview, configuration,
test results, per-epoch metrics, training curves, explanations, attention agreement and
benchmarks. Each takes what :class:`~edgekd.explain.run_folder.RunFolder` read and returns
HTML ("" when there is nothing to show); :mod:`edgekd.explain.report` puts them in order.

Torch-free; matplotlib is needed only to draw missing curves.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edgekd.errors import EdgekdError
from edgekd.explain.html import esc, figure, fmt, json_tables, kv_table, note, table
from edgekd.explain.run_folder import RunFolder

MAX_OVERLAYS = 24
#: the run's own JSON files, each with its own section (never a bench report)
OWN_JSON = ("metrics.json", "test.json", "explain.json", "agreement.json")


def overview(run: RunFolder, metrics: dict | None, test: dict | None) -> str:
    m = metrics or {}
    model = m.get("model") or {}
    best = m.get("best") or {}
    distill = m.get("distill") or {}
    rows = [("run folder", str(run.root)), ("kind", "distill" if distill else ("train" if metrics else "-")),
            ("model", model.get("name")), ("model arguments", model.get("kwargs") or None),
            ("data set", m.get("data")), ("parameters", m.get("params")), ("multiply-accumulates", m.get("macs")),
            ("epochs run", len(m.get("epochs") or []) or None), ("selected epoch (validation)", best.get("epoch")),
            ("selected on", (m.get("config") or {}).get("select"))]
    if distill:
        teacher = distill.get("teacher") or {}
        rows += [("method", distill.get("method")), ("teacher", teacher.get("model")),
                 ("teacher checkpoint", teacher.get("checkpoint"))]
    if test and isinstance(test.get("test"), dict):
        rows.append(("test accuracy", test["test"].get("accuracy")))
        if test["test"].get("auc") is not None:
            rows.append(("test AUC", test["test"].get("auc")))
    return table(("item", "value"), [r for r in rows if r[1] is not None])


def config(metrics: dict) -> str:
    parts = []
    if metrics.get("config"):
        parts.append("<h3>training</h3>" + kv_table(metrics["config"]))
    if metrics.get("distill"):
        parts.append("<h3>distillation</h3>" + kv_table(metrics["distill"]))
    other = {k: v for k, v in metrics.items()
             if k not in ("config", "distill", "epochs", "best", "model", "data", "params", "macs")}
    if other:
        parts.append("<h3>other</h3>" + kv_table(other))
    return "".join(parts)


def results(test: dict) -> str:
    rows = []
    for split in ("val", "test"):
        if isinstance(test.get(split), dict):
            rows.append(("student" if test.get("teacher") else "model", split, test[split]))
    teacher = test.get("teacher")
    if isinstance(teacher, dict):
        for split in ("val", "test"):
            if isinstance(teacher.get(split), dict):
                rows.append((f"teacher {teacher.get('model', '')}".strip(), split, teacher[split]))
    body = table(("model", "split", "accuracy", "AUC", "loss", "n"),
                 [(who, split, r.get("accuracy"), r.get("auc"), r.get("loss"), r.get("n")) for who, split, r in rows])
    if test.get("best_epoch") is not None:
        epoch = esc(test["best_epoch"])
        body = f'<p class="meta">The model of epoch {epoch} (best on validation) is tested.</p>' + body
    return body


def epochs(metrics: dict) -> str:
    epochs = [e for e in metrics.get("epochs") or [] if isinstance(e, dict)]
    if not epochs:
        return ""
    terms = list(dict.fromkeys(t for e in epochs for t in (e.get("terms") or {})))
    best = (metrics.get("best") or {}).get("epoch")
    headers = ["epoch", "train loss", *terms, "train acc", "val acc", "val AUC", "val loss", "lr", "time s"]
    rows = [[e.get("epoch"), e.get("train_loss"), *((e.get("terms") or {}).get(t) for t in terms),
             e.get("train_accuracy"), (e.get("val") or {}).get("accuracy"), (e.get("val") or {}).get("auc"),
             (e.get("val") or {}).get("loss"), e.get("lr"), e.get("time_s")] for e in epochs]
    marks = ["best" if e.get("epoch") == best else "" for e in epochs]
    return '<p class="meta">Highlighted: the epoch selected on validation.</p>' + table(headers, rows, marks)


def curves(run: RunFolder, metrics: dict | None) -> str:
    path = run.root / "curves.png"
    if path.is_file():
        return run.png(path, "training curves (curves.png)")
    epochs = (metrics or {}).get("epochs")
    if not epochs:
        return ""
    try:
        from edgekd.training.plots import plot_curves

        with tempfile.TemporaryDirectory() as tmp:
            plot_curves(epochs, Path(tmp) / "c.png", title="training curves (drawn from metrics.json)")
            return figure((Path(tmp) / "c.png").read_bytes(), "training curves, drawn from metrics.json")
    except Exception as exc:  # a missing matplotlib or an odd history must not cost the whole report
        run.notes.append(f"training curves could not be drawn ({type(exc).__name__}: {str(exc)[:100]})")
        return ""


def explanations(run: RunFolder) -> str:
    parts = []
    for path in run.named("explain.json"):
        data = run.json(path)
        if not isinstance(data, dict) or not isinstance(data.get("images"), list):
            continue
        parts.append(f"<h3>{esc(run.rel(path))}: {esc(data.get('map_label', data.get('map')))} of "
                     f"{esc(Path(str(data.get('model', '?'))).name)}</h3>")
        rows = [(r.get("file"), r.get("source"), r.get("predicted_class"), r.get("probability"), r.get("true_class"),
                 (r.get("map_stats") or {}).get("area_ge_0.5")) for r in data["images"]]
        parts.append(table(("overlay", "input", "predicted", "probability", "true", "map area >= 0.5"), rows))
        for i, r in enumerate(data["images"]):
            png = path.parent / str(r.get("file", ""))
            if i >= MAX_OVERLAYS:
                run.used.add(png)
            elif png.is_file():
                parts.append(run.png(png, f"{r.get('file')}: {r.get('predicted_class')} "
                                          f"(p = {fmt(r.get('probability'))})", 420))
    return "".join(parts)


def agreement(run: RunFolder) -> str:
    parts = []
    for path in run.named("agreement.json"):
        data = run.json(path)
        if not isinstance(data, dict) or "teacher" not in data or "maps" not in data.get("teacher", {}):
            continue
        rows = []
        for m in [data["teacher"], *data.get("students", [])]:
            for name, rec in m["maps"].items():
                vs = rec.get("vs") or {}
                gain = ((m.get("agreement") or {}).get(name) or {}).get("gain") or {}
                rows.append((m.get("label"), name, m.get("accuracy"), (rec.get("ins_del") or {}).get("mean"),
                             (vs.get("random") or {}).get("mean"), (vs.get("centre") or {}).get("mean"),
                             gain.get("mean")))
        parts.append(f"<h3>{esc(run.rel(path))}: {esc(data.get('dataset'))} {esc(data.get('split'))} "
                     f"(n = {esc(data.get('n'))}, fill {esc(data.get('fill'))})</h3>")
        parts.append(table(("model", "map", "accuracy", "ins−del", "− random", "− centre",
                            "r − r_shuffled with teacher"), rows))
        for name in ("faithfulness.png", "curves.png"):
            if (path.parent / name).is_file():
                parts.append(run.png(path.parent / name, run.rel(path.parent / name), 540))
    return "".join(parts)


def is_bench(data: Any) -> bool:
    return isinstance(data, dict) and "rows" in data and "machine" in data


def bench_table(run: RunFolder, data: dict, path: Path) -> str:
    from edgekd.benchmarking.report import COLUMNS

    rows = [r for r in data.get("rows") or [] if isinstance(r, dict)]
    machine = data.get("machine") or {}
    body = (f"<h3>{esc(run.rel(path))}</h3><p class=\"meta\">machine: {esc(machine.get('cpu', '?'))} "
            f"({esc(machine.get('arch', '?'))}); settings: {esc(fmt(data.get('settings') or {}))}</p>")
    body += table([h for _, h, _ in COLUMNS], [[r.get(k) for k, _, _ in COLUMNS] for r in rows])
    plot = data.get("plot")
    if isinstance(plot, str) and (path.parent / plot).is_file():
        body += run.png(path.parent / plot, plot, 900)
    notes = [f"{r.get('name')}: {n}" for r in rows for n in r.get("notes") or []]
    return body + "".join(note(n) for n in notes)


def given_bench(run: RunFolder, paths: Sequence[str | Path]) -> list[str]:
    """Sections for the ``--bench`` files; a file that is not a bench JSON is a one-line error."""
    inside, parts = {p.resolve() for p in run.files}, []
    for path in map(Path, paths):
        if not is_bench(run.json(path) if path.is_file() else None):
            raise EdgekdError(f"--bench {path} is missing or not a report of edgekd bench --json: give the file it wrote")
        if path.resolve() not in inside:  # one inside the run folder is shown already
            parts.append(bench_table(run, run.json(path), path.resolve()))
    return parts


def parity(run: RunFolder) -> str:
    """Every ``*.parity.json`` of the run as tables."""
    parts = []
    for path in run.files:
        data = run.json(path) if path.name.endswith(".parity.json") else None
        if data is not None:
            parts.append(f"<h3>{esc(run.rel(path))}</h3>" + json_tables(data))
    return "".join(parts)


def found_bench(run: RunFolder) -> list[str]:
    """A section for each ``edgekd bench --json`` report inside the run folder."""
    parts = []
    for path in run.files:
        if path.suffix == ".json" and not path.name.endswith(".parity.json") and path.name not in OWN_JSON:
            data = run.json(path)
            if is_bench(data):
                parts.append(bench_table(run, data, path))
    return parts
