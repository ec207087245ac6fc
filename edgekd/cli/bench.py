"""``edgekd bench``: latency, memory, size and accuracy of exported models on this machine.

A thin wrapper: each model is measured in its own child process
(:func:`edgekd.bench.child.measure_in_child`), the records are compared by
:mod:`edgekd.bench.report`. Torch-free; heavy imports happen inside the command.
Register with ``app.command("bench")(bench)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

RUNTIME_HELP = "auto (by suffix), onnxruntime, litert, tflite-runtime, tensorrt or torch"


def bench(
    models: Annotated[list[Path], typer.Argument(
        help="Model files (.onnx, .tflite, .engine, .pt); the first is the reference row.")],
    runtime: Annotated[str, typer.Option("--runtime", "-r", help=RUNTIME_HELP)] = "auto",
    threads: Annotated[int | None, typer.Option(
        "--threads", "-t", min=1, help="CPU threads (default: the runtime's).")] = None,
    batch: Annotated[int, typer.Option("--batch", "-b", min=1, help="Images per run.")] = 1,
    warmup: Annotated[int, typer.Option("--warmup", min=0, help="Untimed runs before timing.")] = 10,
    iters: Annotated[int, typer.Option("--iters", "-n", min=1, help="Timed runs.")] = 100,
    min_time: Annotated[float | None, typer.Option(
        "--min-time", min=0.001, help="Time for S seconds instead of --iters runs.")] = None,
    dataset: Annotated[str | None, typer.Option(
        "--dataset", "-d", help="Data set name or .npz file for accuracy (default: none, noise input).")] = None,
    split: Annotated[str, typer.Option("--split", help="Data split to evaluate.")] = "test",
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Data cache folder.")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the full report as JSON.")] = None,
    md_path: Annotated[Path | None, typer.Option("--md", help="Write the comparison as Markdown.")] = None,
    plot_path: Annotated[Path | None, typer.Option("--plot", help="Write a PNG bar chart (needs matplotlib).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Evaluate only the first N samples.")] = None,
    peak: Annotated[bool, typer.Option(
        "--peak/--no-peak", help="Measure the MatMul peak and the fraction a model reaches.")] = True,
    timeout: Annotated[float, typer.Option("--timeout", min=1.0, help="Seconds allowed per model.")] = 600.0,
) -> None:
    """Benchmark exported models, one fresh process each, and compare them to the first."""
    import tempfile

    from rich.console import Console

    from edgekd.bench.child import measure_in_child
    from edgekd.bench.data import load_data, save_shared
    from edgekd.bench.machine import machine_info
    from edgekd.bench.measure import check_input_shape
    from edgekd.bench.report import build_report, rich_table, write_json, write_markdown, write_plot
    from edgekd.errors import EdgekdError
    from edgekd.runtime.metadata import read_metadata
    from edgekd.runtime.registry import RUNTIME_CHOICES, resolve_runtime

    console = Console(stderr=True)
    if runtime not in RUNTIME_CHOICES:
        raise EdgekdError(f"unknown runtime {runtime!r}: choose one of {', '.join(RUNTIME_CHOICES)}")
    for model in models:  # fail fast, before any child starts
        if not model.is_file():
            raise EdgekdError(f"model file {model} does not exist: check the path")
        resolve_runtime(model, runtime)

    settings = {
        "runtime": runtime, "threads": threads, "batch": batch, "warmup": warmup, "iters": iters,
        "min_time": min_time, "dataset": dataset, "split": split if dataset else None, "limit": limit,
    }
    with tempfile.TemporaryDirectory(prefix="edgekd-data-") as tmp:
        shared = None
        if dataset:
            images, labels = load_data(dataset, split, data_dir)
            for model in models:
                size = read_metadata(model).get("input_size")
                if size:
                    check_input_shape(tuple(size), images, model, dataset)
            shared = save_shared(images[:limit] if limit else images, labels[:limit] if limit else labels, tmp)
            del images, labels
        records = []
        for model in models:
            console.print(f"[bold]bench[/bold] {model} ...")
            spec = {
                "model": str(model), "runtime": runtime, "threads": threads, "batch": batch, "warmup": warmup,
                "iters": iters, "min_time": min_time, "dataset": dataset, "split": split,
                "shared_data": shared, "peak": peak,
            }
            records.append(measure_in_child(spec, timeout=timeout))

    report = build_report(records, machine_info(), settings)
    Console().print(rich_table(report))
    for row in report["rows"]:
        for note in row["notes"]:
            console.print(f"[yellow]note[/yellow] {row['name']}: {note}")
    if json_path:
        write_json(json_path, report)
    if md_path:
        write_markdown(md_path, report)
    if plot_path:
        skipped = write_plot(plot_path, report)
        if skipped:
            console.print(f"[yellow]note[/yellow] {skipped}")
