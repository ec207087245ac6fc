"""``bench --all-formats``, device half: benchmark a folder of exported cells, one table per model.

Torch-free. The folder is what :func:`edgekd.exporters.matrix.export_matrix` wrote (its
``matrix.json`` lists every cell with its status), or any folder of ``.onnx`` / ``.tflite``
files with their parity records. Every cell becomes a row, whatever happened to it:

- ``ok``: benchmarked in its own process (:func:`edgekd.benchmarking.child.measure_in_child`):
  p50 / p90 at the requested batch, accuracy on the data set's test split, share of the
  machine's MatMul peak; parity from its ``<file>.parity.json``;
- ``refused``: the parity gate's reason and figures (``<file>.refused.parity.json``): by how
  much it missed (agreement, accuracy drop);
- ``failed``: the one-line reason (an export error from the manifest, or a benchmark that
  failed here); the run goes on with the next cell.

``floor``: rows whose accuracy is below it are marked (``below floor``), as Ultralytics'
``benchmark`` marks formats under its metric floor.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from edgekd.errors import EdgekdError
from edgekd.model_files import MODEL_SUFFIXES, file_format

MANIFEST = "matrix.json"
REFUSED = ".refused.parity.json"


def _json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def cells(folder: Path) -> list[dict[str, Any]]:
    """Every cell of ``folder``: the manifest's, then model files and refusals it does not list."""
    manifest = _json(folder / MANIFEST) or {}
    out = [dict(c) for c in manifest.get("cells", [])]
    listed = {c["file"] for c in out}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in MODEL_SUFFIXES and path.suffix.lower() != ".pt" and path.name not in listed:
            out.append({"file": path.name, "format": file_format(path), "status": "ok"})
        elif path.name.endswith(REFUSED) and path.name[:-len(REFUSED)] not in listed:
            out.append({"file": path.name[:-len(REFUSED)], "status": "refused", "record": path.name})
    for cell in out:
        ok = _json(folder / (cell["file"] + ".parity.json")) if cell["status"] == "ok" else None
        refused = _json(folder / cell["record"]) if cell.get("record") else None
        cell["parity"] = refused or ok
        if refused and not cell.get("reason"):
            cell["reason"] = "; ".join(refused.get("failures", [])) or "refused by the parity gate"
        for key in ("format", "quantize", "head"):
            cell.setdefault(key, (cell["parity"] or {}).get({"quantize": "quantize_setting"}.get(key, key)))
    if not out:
        raise EdgekdError(f"{folder} holds no exported models: run edgekd bench --all-formats MODEL.pt to make them")
    return out


def status_text(cell: dict[str, Any]) -> str:
    """``ok``, ``refused: top-1 agreement 98.88% < 99%``, ``failed: <reason>``."""
    if cell["status"] == "ok":
        return "ok"
    reason = str(cell.get("reason") or "")
    if cell["status"] == "refused":
        failures = (cell.get("parity") or {}).get("failures")
        reason = "; ".join(failures) if failures else reason.replace("parity check failed for ", "")
    return f"{cell['status']}: {reason}"


def bench_folder(folder: Path, spec: dict[str, Any], floor: float | None = None, timeout: float = 600.0,
                 console: Any = None) -> dict[str, Any]:
    """Rows for every cell of ``folder`` (module doc); ``spec``: measure's timing keys."""
    from edgekd.benchmarking.child import measure_in_child
    from edgekd.benchmarking.data import load_data, save_shared
    from edgekd.runtime.metadata import read_metadata

    rows = []
    todo = cells(folder)
    dataset = next((read_metadata(folder / c["file"]).get("dataset") for c in todo
                    if c["status"] == "ok" and (folder / c["file"]).is_file()), None)
    with tempfile.TemporaryDirectory(prefix="edgekd-matrix-") as tmp:
        shared = None
        if dataset:
            images, labels = load_data(dataset, "test", spec.get("data_dir"))
            shared = save_shared(images, labels, tmp)
        for i, cell in enumerate(todo, 1):
            row = {k: cell.get(k) for k in ("file", "format", "quantize", "head", "status", "reason", "seconds")}
            parity = cell.get("parity") or {}
            row.update({"agreement": parity.get("top1_agreement"), "max_abs_logits": parity.get("max_abs_logits"),
                        "accuracy_drop": parity.get("accuracy_drop")})
            if cell["status"] == "ok":
                if console is not None:
                    console.print(f"[bold]bench[/bold] {i}/{len(todo)} {cell['file']}")
                try:
                    rec = measure_in_child({**{k: v for k, v in spec.items() if k != "data_dir"},
                                            "model": str(folder / cell["file"]), "dataset": dataset,
                                            "split": "test", "shared_data": shared}, timeout=timeout)
                    row.update({"size_kib": rec["size_bytes"] / 1024, "p50_ms": rec["latency"]["p50_ms"],
                                "p90_ms": rec["latency"]["p90_ms"], "accuracy": rec["accuracy"],
                                "peak_fraction": rec.get("peak_fraction"), "runtime": rec["runtime"],
                                "name": rec["name"]})
                except EdgekdError as exc:
                    row.update({"status": "failed", "reason": f"benchmark: {exc}"})
            row["status_text"] = status_text({**cell, **row})
            row["below_floor"] = bool(floor is not None and row.get("accuracy") is not None and row["accuracy"] < floor)
            rows.append(row)
    model = next((r["name"].split(" (")[0] for r in rows if r.get("name")), folder.name)
    return {"model": model, "folder": str(folder), "dataset": dataset, "floor": floor, "rows": rows}


def table_lines(result: dict[str, Any]) -> list[str]:
    """The model's Markdown table: every cell, refused and failed ones included."""
    lines = [f"## {result['model']} ({result['folder']})", "",
             "| format | quantize | head | status | agreement | KiB | p50 ms | p90 ms | accuracy | of peak |",
             "|---|---|---|---|---:|---:|---:|---:|---:|---:|"]

    def num(v: Any, fmt: str) -> str:
        return "-" if v is None else format(v, fmt)

    for r in result["rows"]:
        status = r["status_text"] + (" (below floor)" if r["below_floor"] else "")
        lines.append(f"| {r['format']} | {r['quantize']} | {r['head']} | {status} | {num(r['agreement'], '.2%')} | "
                     f"{num(r.get('size_kib'), '.0f')} | {num(r.get('p50_ms'), '.3f')} | {num(r.get('p90_ms'), '.3f')} | "
                     f"{num(r.get('accuracy'), '.4f')} | {num(r.get('peak_fraction'), '.0%')} |")
    counts = {s: sum(r["status"] == s for r in result["rows"]) for s in ("ok", "refused", "failed")}
    floor = f"; accuracy floor {result['floor']:.4f}" if result.get("floor") is not None else ""
    lines += ["", f"{counts['ok']} ok, {counts['refused']} refused by the parity gate, {counts['failed']} failed"
                  f"{floor}; data: {result['dataset'] or 'none'} test split."]
    return lines


def write_plot(path: Path, results: list[dict[str, Any]]) -> str | None:
    """Latency (log) against accuracy, one point per benchmarked cell, colour by format, marker by
    quantization; returns a note when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return f"matplotlib is not installed: {path} not written (pip install matplotlib)"
    from edgekd.fileio import atomic_path

    colours = {"onnx": "#4c72b0", "tflite": "#dd8452", "tensorrt": "#55a868"}
    markers = {"none": "o", "fp16": "s", "dynamic": "D"}
    fig, axes = plt.subplots(1, len(results), figsize=(6.5 * len(results), 4.8), squeeze=False)
    try:
        for ax, result in zip(axes[0], results):
            for r in (r for r in result["rows"] if r.get("p50_ms") and r.get("accuracy") is not None):
                ax.scatter(r["p50_ms"], r["accuracy"], c=colours.get(r["format"], "grey"),
                           marker=markers.get(r["quantize"], "^"), s=40 if r["head"] == "none" else 70,
                           edgecolors="black" if r["head"] != "none" else "none")
                ax.annotate(f"{r['quantize']}{'+' + r['head'] if r['head'] != 'none' else ''}",
                            (r["p50_ms"], r["accuracy"]), fontsize=6, xytext=(3, 2), textcoords="offset points")
            if result.get("floor") is not None:
                ax.axhline(result["floor"], color="red", linestyle="--", linewidth=0.8)
            ax.set_xscale("log")
            ax.set_xlabel("p50 latency, ms (log)")
            ax.set_ylabel("test accuracy")
            refused = [r for r in result["rows"] if r["status"] != "ok"]
            ax.set_title(f"{result['model']}: {len(refused)} cell(s) refused or failed (not plotted)", fontsize=9)
            for fmt, colour in colours.items():
                ax.scatter([], [], c=colour, label=fmt)
            ax.legend(fontsize=7, title="colour: format; ^ int8 schemes, o fp32, s fp16, D dynamic; ringed: head",
                      title_fontsize=6)
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=120)
    finally:
        plt.close(fig)
    return None
