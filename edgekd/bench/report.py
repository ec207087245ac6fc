"""Turn benchmark records into one comparison: terminal table, JSON, Markdown, PNG chart.

The first record is the reference row: every row gets ``p50_ratio`` (its p50 / the
reference p50), ``speedup`` (reference p50 / its p50) and ``size_ratio`` (its size /
the reference size). Notes (fallback runtimes, ignored options) are carried to every
output, never dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edgekd.fileio import atomic_path, atomic_write_json, atomic_write_text

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

#: the subset that fits an 80-column terminal: (row key, header, format)
TERMINAL_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("name", "model", "{}"),
    ("runtime", "runtime", "{}"),
    ("size_mb", "MB", "{:.3f}"),
    ("p50_ms", "p50 ms", "{:.3f}"),
    ("throughput_ips", "img/s", "{:.0f}"),
    ("rss_peak_mb", "RSS MB", "{:.0f}"),
    ("accuracy", "acc", "{:.3f}"),
    ("auc", "AUC", "{:.3f}"),
    ("speedup", "speedup", "{:.2f}x"),
)


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b not in (None, 0) else None


def compare(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One flat row per record, with ratios to the first record."""
    rows = []
    for rec in records:
        lat = rec["latency"]
        rows.append({
            "name": rec["name"],
            "model": rec["model"],
            "format": rec["format"],
            "runtime": rec["runtime"],
            "runtime_version": rec.get("runtime_version"),
            "threads": rec.get("threads"),
            "batch": rec.get("batch"),
            "size_mb": rec["size_bytes"] / 1e6,
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
        })
    if rows:
        ref = rows[0]
        for row in rows:
            row["p50_ratio"] = _ratio(row["p50_ms"], ref["p50_ms"])
            row["speedup"] = _ratio(ref["p50_ms"], row["p50_ms"])
            row["size_ratio"] = _ratio(row["size_mb"], ref["size_mb"])
            row["rss_ratio"] = _ratio(row["rss_peak_mb"], ref["rss_peak_mb"])
    return rows


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


def rich_table(report: dict[str, Any]) -> Any:
    """A :class:`rich.table.Table` of the comparison (caption: the machine); the JSON and
    Markdown outputs hold every column."""
    from rich import box
    from rich.table import Table

    rows = report["rows"]
    table = Table(title="edgekd bench", caption=_machine_line(report["machine"]),
                  box=box.SIMPLE_HEAD, pad_edge=False)
    for i, (_, header, _) in enumerate(TERMINAL_COLUMNS):
        if i < 2:
            table.add_column(header, overflow="fold")
        else:
            table.add_column(header, justify="right", no_wrap=True)
    for row in rows:
        table.add_row(*(_cell(row, key, fmt) for key, _, fmt in TERMINAL_COLUMNS))
    return table


def to_markdown(report: dict[str, Any]) -> str:
    """The comparison as a Markdown document."""
    rows, s = report["rows"], report["settings"]
    lines = [
        "# edgekd bench",
        "",
        f"Machine: {_machine_line(report['machine'])}, Python {report['machine'].get('python', '?')}",
        "",
        f"Settings: threads={s.get('threads')}, batch={s.get('batch')}, warmup={s.get('warmup')}, "
        f"iters={s.get('iters')}, min_time={s.get('min_time')}, data={s.get('dataset')}/{s.get('split')}",
        "",
        "| " + " | ".join(h for _, h, _ in COLUMNS) + " |",
        "|" + "|".join("---" if i < 2 else "---:" for i in range(len(COLUMNS))) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row, k, f) for k, _, f in COLUMNS) + " |")
    lines += ["", "Ratios are to the first row. Latency per run of one batch; outliers (1.5 IQR) are kept."]
    notes = _notes(rows)
    if notes:
        lines += ["", "Notes:", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def write_json(path: str | Path, report: dict[str, Any]) -> None:
    atomic_write_json(path, report)


def write_markdown(path: str | Path, report: dict[str, Any]) -> None:
    atomic_write_text(path, to_markdown(report))


def write_plot(path: str | Path, report: dict[str, Any]) -> str | None:
    """Bar chart of p50 latency with p90 whiskers per model; returns a note if skipped."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return f"matplotlib is not installed: {path} not written (pip install matplotlib)"
    rows = report["rows"]
    labels = [f"{r['name']}\n{r['runtime']}" for r in rows]
    p50 = [r["p50_ms"] for r in rows]
    upper = [max(r["p90_ms"] - r["p50_ms"], 0.0) for r in rows]
    fig, ax = plt.subplots(figsize=(max(4.0, 1.4 * len(rows) + 1.5), 3.6))
    try:
        ax.bar(range(len(rows)), p50, yerr=[[0.0] * len(rows), upper], capsize=4, color="#4c72b0")
        ax.set_xticks(range(len(rows)), labels, fontsize=8)
        ax.set_ylabel("latency per batch (ms)")
        ax.set_title("p50 latency (whisker: p90)", fontsize=10)
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=120)
    finally:
        plt.close(fig)
    return None
