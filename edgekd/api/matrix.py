"""``edgekd bench --all-formats MODEL...``: checkpoints are exported cell by cell (host, torch),
folders are benchmarked as they are (device, torch-free); one table per model, then the
Markdown / JSON / PNG outputs the bench options ask for (:mod:`edgekd.benchmarking.matrix`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from edgekd.errors import EdgekdError
from edgekd.model_files import is_checkpoint


def parse_floor(floor: float | None) -> float | None:
    """An accuracy floor as a fraction: 0.85 stays, 85 (percent) becomes 0.85."""
    if floor is None:
        return None
    if not 0 <= floor <= 100:
        raise EdgekdError(f"--floor {floor:g} is not an accuracy: give a fraction (0.85) or a percentage (85)")
    return floor / 100 if floor > 1 else floor


def folders_for(models: list[Path], matrix_dir: Path | None) -> list[tuple[Path, Path | None]]:
    """(folder to bench, checkpoint to export into it or None) per MODEL, checked before any work."""
    out = []
    for model in models:
        if model.is_dir():
            out.append((model, None))
        elif model.is_file() and is_checkpoint(model):
            out.append((matrix_dir or model.with_name(f"{model.stem}-all-formats"), model))
        else:
            raise EdgekdError(f"--all-formats takes checkpoints (.pt) to export or folders of exported files; "
                              f"{model} is neither")
    if matrix_dir is not None and sum(ckpt is not None for _, ckpt in out) > 1:
        raise EdgekdError("--matrix-dir names one folder: give one checkpoint with it, or drop it")
    return out


def run_all_formats(models: list[Path], matrix_dir: Path | None, floor: float | None, spec: dict[str, Any],
                    timeout: float, json_path: Path | None, md_path: Path | None, plot_path: Path | None,
                    console: Any) -> list[dict[str, Any]]:
    """Export (checkpoints) and benchmark every cell; print and write the tables."""
    from rich.console import Console

    from edgekd.benchmarking.machine import machine_info
    from edgekd.benchmarking.matrix import bench_folder, table_lines, write_plot
    from edgekd.fileio import atomic_write_json, atomic_write_text

    if spec.get("runtime", "auto") != "auto":
        raise EdgekdError("--runtime does not apply with --all-formats: each cell runs in its format's runtime")
    floor = parse_floor(floor)
    plan = folders_for(models, matrix_dir)
    results = []
    for folder, checkpoint in plan:
        t0 = time.perf_counter()
        if checkpoint is not None:
            from edgekd.exporters.matrix import export_matrix

            export_matrix(checkpoint, folder, data_dir=spec.get("data_dir"), console=console)
        bench_spec = {k: v for k, v in spec.items() if k != "runtime"} | {"runtime": "auto"}
        result = bench_folder(folder, bench_spec, floor, timeout, console)
        result["seconds"] = round(time.perf_counter() - t0, 1)
        results.append(result)
        Console().print("\n".join(table_lines(result)), markup=False, highlight=False)
        console.print(f"{result['folder']}: {len(result['rows'])} cells in {result['seconds']:.0f} s")
    if md_path:
        atomic_write_text(md_path, "\n".join(line for r in results for line in [*table_lines(r), ""]))
    if json_path:
        atomic_write_json(json_path, {"machine": machine_info(), "settings": spec, "models": results})
    if plot_path:
        note = write_plot(plot_path, results)
        if note:
            console.print(f"[yellow]note[/yellow] {note}")
    return results
