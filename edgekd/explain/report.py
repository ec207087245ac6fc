"""``edgekd report``: one self-contained HTML page that documents a run folder.

What it shows, each section only when its files are there: overview and configuration
(``metrics.json``), test results (``test.json``, with the teacher's for a distill run),
training curves (``curves.png``, else drawn from ``metrics.json``), the per-epoch
metrics table (the selected epoch highlighted), attention grids (``attention*.png``),
explanations (``explain.json`` and its overlays) and attention agreement
(``agreement.json`` and its figures) found up to two folders deep, export parity
tables (``*.parity.json``), benchmark tables (any JSON written by ``edgekd bench
--json`` inside the run folder, and the files given with ``--bench``, each with the
PNG its ``--plot`` wrote), remaining figures, and the list of files. A file that cannot be read gives a
note on the page, not a failed report: a partial run is still worth documenting.

Torch-free; matplotlib is needed only to draw missing curves. See :mod:`edgekd.explain.html`
for why the page needs no network.
"""

from __future__ import annotations

import datetime as _dt
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edgekd import __version__
from edgekd.errors import EdgekdError
from edgekd.explain.html import esc, figure, fmt, json_tables, kv_table, note, page, table
from edgekd.fileio import atomic_write_text

MAX_JSON_BYTES = 20_000_000
MAX_OVERLAYS = 24


class _Run:
    """The run folder's files, read once; ``used`` tracks figures already placed."""

    def __init__(self, root: Path):
        self.root = root
        self.notes: list[str] = []
        self.used: set[Path] = set()
        self.files = sorted(p for p in _walk(root, 2) if p.is_file())

    def json(self, path: Path) -> Any:
        try:
            if path.stat().st_size > MAX_JSON_BYTES:
                raise ValueError(f"larger than {MAX_JSON_BYTES // 1_000_000} MB")
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            self.notes.append(f"{self.rel(path)} could not be read ({str(exc).splitlines()[0][:120]})")
            return None

    def png(self, path: Path, caption: str, width: int | None = None) -> str:
        self.used.add(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            self.notes.append(f"{self.rel(path)} could not be read ({exc.strerror})")
            return ""
        if not data.startswith(b"\x89PNG"):
            self.notes.append(f"{self.rel(path)} is not a PNG file; left out")
            return ""
        return figure(data, caption, width)

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:  # a file given from outside the run folder (report --bench)
            return str(path)

    def named(self, pattern: str) -> list[Path]:
        return [p for p in self.files if p.match(pattern)]


def _walk(root: Path, depth: int):
    for p in sorted(root.iterdir()):
        yield p
        if p.is_dir() and depth > 1 and not p.is_symlink():
            yield from _walk(p, depth - 1)


def _section(title: str, body: str, anchor: str) -> str:
    return f'<section id="{anchor}"><h2>{esc(title)}</h2>{body}</section>' if body else ""


def _overview(run: _Run, metrics: dict | None, test: dict | None) -> str:
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


def _config(metrics: dict) -> str:
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


def _results(test: dict) -> str:
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


def _epochs(metrics: dict) -> str:
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


def _curves(run: _Run, metrics: dict | None) -> str:
    path = run.root / "curves.png"
    if path.is_file():
        return run.png(path, "training curves (curves.png)")
    epochs = (metrics or {}).get("epochs")
    if not epochs:
        return ""
    try:
        from edgekd.train.plots import plot_curves

        with tempfile.TemporaryDirectory() as tmp:
            plot_curves(epochs, Path(tmp) / "c.png", title="training curves (drawn from metrics.json)")
            return figure((Path(tmp) / "c.png").read_bytes(), "training curves, drawn from metrics.json")
    except Exception as exc:  # a missing matplotlib or an odd history must not cost the whole report
        run.notes.append(f"training curves could not be drawn ({type(exc).__name__}: {str(exc)[:100]})")
        return ""


def _explanations(run: _Run) -> str:
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


def _agreement(run: _Run) -> str:
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


def _is_bench(data: Any) -> bool:
    return isinstance(data, dict) and "rows" in data and "machine" in data


def _bench(run: _Run, data: dict, path: Path) -> str:
    from edgekd.bench.report import COLUMNS

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


def _given_bench(run: _Run, paths: Sequence[str | Path]) -> list[str]:
    """Sections for the ``--bench`` files; a file that is not a bench JSON is a one-line error."""
    inside, parts = {p.resolve() for p in run.files}, []
    for path in map(Path, paths):
        if not _is_bench(run.json(path) if path.is_file() else None):
            raise EdgekdError(f"--bench {path} is missing or not a report of edgekd bench --json: give the file it wrote")
        if path.resolve() not in inside:  # one inside the run folder is shown already
            parts.append(_bench(run, run.json(path), path.resolve()))
    return parts


def build_report(run_dir: str | Path, bench: Sequence[str | Path] = ()) -> str:
    """The HTML text of the report of ``run_dir`` (EdgekdError when it holds no run);
    ``bench``: benchmark JSON files from elsewhere to show beside the run's own."""
    root = Path(run_dir)
    if root.is_file():
        raise EdgekdError(f"{root} is a file, not a run folder: give the --out folder of train or distill")
    if not root.is_dir():
        raise EdgekdError(f"run folder {root} does not exist: give the --out folder of train or distill")
    run = _Run(root)
    given = _given_bench(run, bench)
    metrics = run.json(root / "metrics.json") if (root / "metrics.json").is_file() else None
    test = run.json(root / "test.json") if (root / "test.json").is_file() else None
    metrics = metrics if isinstance(metrics, dict) else None
    test = test if isinstance(test, dict) else None
    parity, found = [], []
    for path in run.files:
        if path.name.endswith(".parity.json"):
            data = run.json(path)
            if data is not None:
                parity.append(f"<h3>{esc(run.rel(path))}</h3>" + json_tables(data))
        elif path.suffix == ".json" and path.name not in ("metrics.json", "test.json", "explain.json",
                                                          "agreement.json"):
            data = run.json(path)
            if _is_bench(data):
                found.append(_bench(run, data, path))
    attention = "".join(run.png(p, run.rel(p)) for p in run.named("attention*.png") if p.parent == root)
    sections = [
        _section("Test results", _results(test) if test else "", "results"),
        _section("Training curves", _curves(run, metrics), "curves"),
        _section("Metrics per epoch", _epochs(metrics) if metrics else "", "epochs"),
        _section("Configuration", _config(metrics) if metrics else "", "config"),
        _section("Attention maps", attention, "attention"),
        _section("Explanations", _explanations(run), "explain"),
        _section("Attention agreement and faithfulness", _agreement(run), "agreement"),
        _section("Export parity", "".join(parity), "parity"),
        _section("Benchmarks", "".join(found + given), "bench"),
    ]
    if not metrics and not test and not any(sections):
        raise EdgekdError(f"{root} holds no edgekd run (no metrics.json, test.json, figures, parity or bench "
                          "JSON): give the --out folder of train or distill")
    others = [p for p in run.files if p.suffix == ".png" and p not in run.used]
    sections.append(_section("Other figures", "".join(run.png(p, run.rel(p), 540) for p in others), "figures"))
    sections.append(_section("Files", table(("file", "bytes"), [(run.rel(p), p.stat().st_size) for p in run.files]),
                             "files"))
    stamp = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    model = ((metrics or {}).get("model") or {}).get("name", "")
    head = (f"<header><h1>edgekd run report: {esc(root.name)}</h1><p class=\"meta\">{esc(model)} "
            f"generated {esc(stamp)} by edgekd {esc(__version__)}</p></header>")
    warnings = "".join(note(n) for n in run.notes)
    overview = _section("Overview", _overview(run, metrics, test), "overview")
    return page(f"edgekd report: {root.name}", [head, warnings, overview, *sections])


def write_report(run_dir: str | Path, out: str | Path | None = None, bench: Sequence[str | Path] = ()) -> Path:
    """Write the report (default ``RUN_DIR/report.html``) atomically; returns its path."""
    html_text = build_report(run_dir, bench)
    target = Path(out) if out else Path(run_dir) / "report.html"
    if target.is_dir():
        raise EdgekdError(f"--out {target} is a folder: give a file name such as {target}/report.html")
    atomic_write_text(target, html_text)
    return target
