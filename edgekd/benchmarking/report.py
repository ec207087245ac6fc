"""Turn benchmark records into one comparison: terminal tables, JSON, Markdown (the PNG: :mod:`.plot`).

The first record is the reference row: every row gets ``p50_ratio`` (its p50 / the
reference p50), ``speedup`` (reference p50 / its p50) and ``size_ratio`` (its size /
the reference size). Rows are named from each model's metadata
(:mod:`edgekd.benchmarking.naming`). What people read is split into a speed table and a
size / memory / accuracy table, each no wider than 80 columns (long names are
shortened; the JSON keeps everything). Notes (fallback runtimes, how a model without
metadata was fed, latency-only rows) are carried to every output, never dropped.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edgekd.benchmarking.naming import unique_names
from edgekd.benchmarking.plot import write_plot
from edgekd.fileio import atomic_write_json, atomic_write_text

__all__ = ["build_report", "compare", "markdown_table", "rich_tables", "to_markdown", "write_json",
           "write_markdown", "write_plot"]

#: columns of the comparison: (row key, header, format)
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("name", "model", "{}"),
    ("runtime", "runtime", "{}"),
    ("size_mb", "size MB", "{:.3f}"),
    ("p50_ms", "p50 ms", "{:.3f}"),
    ("p90_ms", "p90 ms", "{:.3f}"),
    ("p99_ms", "p99 ms", "{:.3f}"),
    ("throughput_ips", "img/s", "{:.1f}"),
    ("rss_peak_mb", "peak RSS MB", "{:.1f}"),
    ("accuracy", "accuracy", "{:.4f}"),
    ("auc", "AUC", "{:.4f}"),
    ("speedup", "speed-up", "{:.2f}x"),
    ("size_ratio", "size ratio", "{:.3f}"),
    ("peak_fraction", "of peak", "{:.1%}"),
)

#: the tables people read (terminal and Markdown): two of them, so each fits 80 columns
SPEED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("name", "model", "{}"),
    ("p50_ms", "p50 ms", "{:.3f}"),
    ("p99_ms", "p99 ms", "{:.3f}"),
    ("speedup", "speed-up", "{:.2f}x"),
    ("throughput_ips", "img/s", "{:.0f}"),
)
QUALITY_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("name", "model", "{}"),
    ("size_kib", "KiB", "{:.0f}"),
    ("rss_peak_mb", "RSS MB", "{:.0f}"),
    ("accuracy", "acc", "{:.4f}"),
    ("auc", "AUC", "{:.4f}"),
)
#: the decision table, shown when a model carries a decision rule (edgekd distill / train fit one);
#: balanced accuracy and the full record are in the JSON
DECISION_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("name", "model", "{}"),
    ("decision_rule", "point", "{}"),
    ("decision_accuracy", "acc", "{:.3f}"),
    ("sensitivity", "sens", "{:.3f}"),
    ("specificity", "spec", "{:.3f}"),
    ("ece_after", "ECE", "{:.3f}"),
)
#: added to the decision table with --estimate-prior: the positive (or first) class's estimated
#: share, and the accuracy the rule reaches adapted to it
PRIOR_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("estimated_share", "prior", "{:.1%}"),
    ("accuracy_at_estimated_prior", "adapted", "{:.3f}"),
)
DETAIL_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("name", "model", "{}"),
    ("runtime", "runtime", "{}"),
    ("load_ms", "load ms", "{:.1f}"),
    ("first_inference_ms", "1st ms", "{:.2f}"),
    ("peak_fraction", "of peak", "{:.1%}"),
)
#: the width every table people read must fit in; longer model names are shortened with "…"
WIDTH = 80
#: what an accuracy cell says for a row timed on random input only
LATENCY_ONLY = "n/a"


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b not in (None, 0) else None


def compare(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One flat row per record, with ratios to the first record."""
    rows = []
    for rec, name in zip(records, unique_names([rec["name"] for rec in records])):
        lat = rec["latency"]
        rows.append({
            "name": name,
            "model": rec["model"],
            "format": rec["format"],
            "runtime": rec["runtime"],
            "runtime_version": rec.get("runtime_version"),
            "threads": rec.get("threads"),
            "batch": rec.get("batch"),
            "size_mb": rec["size_bytes"] / 1e6,
            "size_kib": rec["size_bytes"] / 1024,
            "feed_mode": (rec.get("feed") or {}).get("mode"),
            "p50_ms": lat["p50_ms"],
            "p90_ms": lat["p90_ms"],
            "p99_ms": lat["p99_ms"],
            "mean_ms": lat["mean_ms"],
            "std_ms": lat["std_ms"],
            "outliers": lat["outliers"]["count"],
            "iters": rec.get("iters"),
            "throughput_ips": rec["throughput_ips"],
            "load_ms": rec.get("load_ms"),
            "first_inference_ms": rec.get("first_inference_ms"),
            "rss_peak_mb": rec.get("rss_peak_mb"),
            "accuracy": rec.get("accuracy"),
            "auc": rec.get("auc"),
            "achieved_gflops": rec.get("achieved_gflops"),
            "peak_fraction": rec.get("peak_fraction"),
            "notes": list(rec.get("notes", [])),
            **_decision_row(rec.get("decision")),
        })
    if rows:
        ref = rows[0]
        for row in rows:
            row["p50_ratio"] = _ratio(row["p50_ms"], ref["p50_ms"])
            row["speedup"] = _ratio(ref["p50_ms"], row["p50_ms"])
            row["size_ratio"] = _ratio(row["size_mb"], ref["size_mb"])
            row["rss_ratio"] = _ratio(row["rss_peak_mb"], ref["rss_peak_mb"])
    return rows


def _decision_row(decision: dict[str, Any] | None) -> dict[str, Any]:
    """The decision cells of one row (empty without a decision rule)."""
    if not decision:
        return {}
    rule = decision["rule"]
    if decision.get("threshold") is not None and rule != "0.5":
        rule += f" {decision['threshold']:.2f}"
    if decision.get("adapted_to"):
        rule += " site"
    row = {"decision_rule": rule, "decision_accuracy": decision.get("accuracy"),
           "balanced_accuracy": decision.get("balanced_accuracy"), "sensitivity": decision.get("sensitivity"),
           "specificity": decision.get("specificity"), "ece_before": decision.get("ece_before"),
           "ece_after": decision.get("ece_after"),
           "accuracy_at_estimated_prior": decision.get("accuracy_at_estimated_prior")}
    prior = decision.get("estimated_prior")
    if prior is not None:
        row["estimated_prior"] = prior
        row["estimated_share"] = prior[decision.get("positive_class") or 0] if len(prior) == 2 else None
    return row


def decision_columns(rows: Sequence[dict[str, Any]]) -> tuple[tuple[str, str, str], ...] | None:
    """The decision table's columns for these rows; None when no row carries a decision rule."""
    if not any(row.get("decision_rule") for row in rows):
        return None
    return DECISION_COLUMNS + (PRIOR_COLUMNS if any("estimated_prior" in row for row in rows) else ())


def build_report(records: Sequence[dict[str, Any]], machine: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """The whole result: machine, settings, comparison rows and the full records."""
    import edgekd

    return {
        "edgekd_version": edgekd.__version__,
        "machine": machine,
        "settings": settings,
        "rows": compare(records),
        "records": list(records),
    }


def _cell(row: dict[str, Any], key: str, fmt: str) -> str:
    value = row.get(key)
    return "-" if value is None else fmt.format(value)


def _notes(rows: Sequence[dict[str, Any]]) -> list[str]:
    return [f"{row['name']}: {note}" for row in rows for note in row.get("notes", [])]


def _machine_line(machine: dict[str, Any]) -> str:
    cores = machine.get("cores", {}) or {}
    board = f"{machine['board']}, " if machine.get("board") else ""
    return f"{board}{machine.get('cpu', '?')} ({machine.get('arch', '?')}, {cores.get('usable', '?')} cores usable)"


def _cells(row: dict[str, Any], columns: Sequence[tuple[str, str, str]]) -> list[str]:
    cells = []
    for key, _, fmt in columns:
        if key in ("accuracy", "auc") and row.get("feed_mode") == "random":
            cells.append(LATENCY_ONLY)
        else:
            cells.append(_cell(row, key, fmt))
    return cells


def _fitted(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str, str]]) -> tuple[list[str], list[list[str]]]:
    """Headers and cells with the model names shortened so that the padded table fits :data:`WIDTH`."""
    headers = [h for _, h, _ in columns]
    body = [_cells(row, columns) for row in rows]
    rest = sum(max([len(headers[i])] + [len(r[i]) for r in body]) for i in range(1, len(columns)))
    room = max(WIDTH - rest - 3 * (len(columns) - 1) - 4, 12)
    for r in body:
        if len(r[0]) > room:
            r[0] = r[0][:room - 1] + "…"
    return headers, body


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str, str]]) -> list[str]:
    """A Markdown table (model name left, numbers right) whose every line fits :data:`WIDTH`."""
    headers, body = _fitted(rows, columns)
    rule = "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|"
    return ["| " + " | ".join(headers) + " |", rule] + ["| " + " | ".join(cells) + " |" for cells in body]


def rich_tables(report: dict[str, Any]) -> list[Any]:
    """Two :class:`rich.table.Table` (speed; size, memory and accuracy) that fit 80 columns;
    the JSON and Markdown outputs hold every column."""
    from rich import box
    from rich.table import Table

    tables = []
    shown = [("edgekd bench: speed", SPEED_COLUMNS), ("size, memory, accuracy", QUALITY_COLUMNS)]
    decisions = decision_columns(report["rows"])
    if decisions:
        shown.append(("decisions at the shipped operating point", decisions))
    for title, columns in shown:
        headers, body = _fitted(report["rows"], columns)
        table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
        for i, header in enumerate(headers):
            table.add_column(header, overflow="fold") if i == 0 else table.add_column(header, justify="right",
                                                                                       no_wrap=True)
        for cells in body:
            table.add_row(*cells)
        tables.append(table)
    tables[-1].caption = _machine_line(report["machine"])
    return tables


def _decision_section(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The decision table and what its columns mean; nothing when no row carries a decision rule."""
    columns = decision_columns(rows)
    if columns is None:
        return []
    legend = ("Decisions: each model's shipped rule (point: temperature and operating point fitted on validation, "
              "'site': under the site prior of <model>.adapt.json); sens / spec of the positive class; ECE of the "
              "calibrated probabilities, 15 bins; prior: the positive share estimated from the images (no labels), "
              "adapted: the accuracy under it.")
    return [*markdown_table(rows, columns), "", *textwrap.wrap(legend, WIDTH), ""]


def to_markdown(report: dict[str, Any]) -> str:
    """The comparison as a Markdown document: speed, then size / memory / accuracy, then details."""
    rows, s = report["rows"], report["settings"]
    data = f"{s.get('dataset')}/{s.get('split')}" if s.get("dataset") else "none (random input)"
    lines = [
        "# edgekd bench",
        "",
        *textwrap.wrap(f"Machine: {_machine_line(report['machine'])}, Python {report['machine'].get('python', '?')}",
                       WIDTH),
        "",
        *textwrap.wrap(f"Settings: threads={s.get('threads')}, batch={s.get('batch')}, warmup={s.get('warmup')}, "
                       f"iters={s.get('iters')}, min_time={s.get('min_time')}, data={data}", WIDTH,
                       break_on_hyphens=False),
        "",
        *markdown_table(rows, SPEED_COLUMNS),
        "",
        *markdown_table(rows, QUALITY_COLUMNS),
        "",
        *markdown_table(rows, DETAIL_COLUMNS),
        "",
        *_decision_section(rows),
        *textwrap.wrap("Speed-up is the first row's p50 / the row's p50. Latency per run of one batch; outliers "
                       f"(1.5 IQR) are kept. {LATENCY_ONLY}: timed on random input only (see the notes). Every "
                       "column: the JSON report.", WIDTH),
    ]
    notes = _notes(rows)
    if notes:
        lines += ["", "Notes:", ""] + [textwrap.fill(n, WIDTH, initial_indent="- ", subsequent_indent="  ")
                                       for n in notes]
    if any(rec.get("profile") for rec in report["records"]):
        lines += ["", *profile_sections(report)]
    return "\n".join(lines) + "\n"


def profile_sections(report: dict[str, Any]) -> list[str]:
    """One per-op table per profiled model (``bench --profile``), slowest ops first."""
    from edgekd.benchmarking.profile import profile_lines

    lines: list[str] = []
    for row, rec in zip(report["rows"], report["records"]):
        if rec.get("profile"):
            peak = (rec.get("peak") or {}).get("gflops")
            lines += [f"## Profile: {row['name']}", "", *profile_lines(rec["profile"], peak), ""]
    return lines


def write_json(path: str | Path, report: dict[str, Any]) -> None:
    atomic_write_json(path, report)


def write_markdown(path: str | Path, report: dict[str, Any]) -> None:
    atomic_write_text(path, to_markdown(report))
