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

The folder is read by :mod:`edgekd.explain.run_folder`, each section is drawn by
:mod:`edgekd.explain.report_sections`; this module puts them in order and writes the page.
Torch-free; matplotlib is needed only to draw missing curves. See :mod:`edgekd.explain.html`
for why the page needs no network.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from pathlib import Path

from edgekd import __version__
from edgekd.errors import EdgekdError
from edgekd.explain import report_sections as part
from edgekd.explain.html import esc, note, page, table
from edgekd.explain.run_folder import RunFolder
from edgekd.fileio import atomic_write_text


def _section(title: str, body: str, anchor: str) -> str:
    return f'<section id="{anchor}"><h2>{esc(title)}</h2>{body}</section>' if body else ""


def build_report(run_dir: str | Path, bench: Sequence[str | Path] = ()) -> str:
    """The HTML text of the report of ``run_dir`` (EdgekdError when it holds no run);
    ``bench``: benchmark JSON files from elsewhere to show beside the run's own."""
    root = Path(run_dir)
    if root.is_file():
        raise EdgekdError(f"{root} is a file, not a run folder: give the --out folder of train or distill")
    if not root.is_dir():
        raise EdgekdError(f"run folder {root} does not exist: give the --out folder of train or distill")
    run = RunFolder(root)
    given = part.given_bench(run, bench)
    metrics = run.json(root / "metrics.json") if (root / "metrics.json").is_file() else None
    test = run.json(root / "test.json") if (root / "test.json").is_file() else None
    metrics = metrics if isinstance(metrics, dict) else None
    test = test if isinstance(test, dict) else None
    attention = "".join(run.png(p, run.rel(p)) for p in run.named("attention*.png") if p.parent == root)
    sections = [
        _section("Test results", part.results(test) if test else "", "results"),
        _section("Training curves", part.curves(run, metrics), "curves"),
        _section("Metrics per epoch", part.epochs(metrics) if metrics else "", "epochs"),
        _section("Configuration", part.config(metrics) if metrics else "", "config"),
        _section("Attention maps", attention, "attention"),
        _section("Explanations", part.explanations(run), "explain"),
        _section("Attention agreement and faithfulness", part.agreement(run), "agreement"),
        _section("Export parity", part.parity(run), "parity"),
        _section("Benchmarks", "".join(part.found_bench(run) + given), "bench"),
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
    overview = _section("Overview", part.overview(run, metrics, test), "overview")
    return page(f"edgekd report: {root.name}", [head, warnings, overview, *sections])


def write_report(run_dir: str | Path, out: str | Path | None = None, bench: Sequence[str | Path] = ()) -> Path:
    """Write the report (default ``RUN_DIR/report.html``) atomically; returns its path."""
    html_text = build_report(run_dir, bench)
    target = Path(out) if out else Path(run_dir) / "report.html"
    if target.is_dir():
        raise EdgekdError(f"--out {target} is a folder: give a file name such as {target}/report.html")
    atomic_write_text(target, html_text)
    return target
