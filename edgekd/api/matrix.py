"""``edgekd bench --all-formats MODEL...``: checkpoints are exported cell by cell (host, torch),
folders are benchmarked as they are (device, torch-free); one table per model (the CLI prints
them), then the Markdown / JSON / PNG outputs the bench options ask for
(:mod:`edgekd.benchmarking.matrix`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from edgekd.benchmarking.spec import BenchSpec
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


def run_all_formats(spec: BenchSpec, console: Any = None) -> dict[str, Any]:
    """Export (checkpoints) and benchmark every cell of each of ``spec.models``; write the
    Markdown / JSON / PNG outputs ``spec`` asks for. Returns what ``--json`` holds:
    ``{"machine", "settings", "models": [one result of bench_folder per MODEL, with its seconds]}``."""
    from edgekd.benchmarking.machine import machine_info
    from edgekd.benchmarking.matrix import bench_folder, table_lines, write_plot
    from edgekd.fileio import atomic_write_json, atomic_write_text

    if spec.runtime != "auto":
        raise EdgekdError("--runtime does not apply with --all-formats: each cell runs in its format's runtime")
    floor = parse_floor(spec.floor)
    plan = folders_for(spec.models, spec.matrix_dir)
    settings = {"runtime": "auto", "threads": spec.threads, "batch": spec.batch, "warmup": spec.warmup,
                "iters": spec.iters, "min_time": spec.min_time, "peak": spec.peak,
                "data_dir": spec.data_dir and str(spec.data_dir)}
    results = []
    for folder, checkpoint in plan:
        t0 = time.perf_counter()
        if checkpoint is not None:
            from edgekd.exporters.matrix import export_matrix

            export_matrix(checkpoint, folder, data_dir=settings["data_dir"], console=console)
        result = bench_folder(folder, settings, floor, spec.timeout, console)
        result["seconds"] = round(time.perf_counter() - t0, 1)
        results.append(result)
        if console is not None:
            console.print(f"{result['folder']}: {len(result['rows'])} cells in {result['seconds']:.0f} s")
    if spec.md:
        atomic_write_text(spec.md, "\n".join(line for r in results for line in [*table_lines(r), ""]))
    report = {"machine": machine_info(), "settings": settings, "models": results}
    if spec.json:
        atomic_write_json(spec.json, report)
    if spec.plot:
        note = write_plot(spec.plot, results)
        if note and console is not None:
            console.print(f"[yellow]note[/yellow] {note}")
    return report
