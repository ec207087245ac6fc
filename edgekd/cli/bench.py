"""``edgekd bench``: latency, memory, size and accuracy of model files on this machine.

A thin wrapper: each model is measured in its own child process
(:func:`edgekd.benchmarking.child.measure_in_child`), the records are compared by
:mod:`edgekd.benchmarking.report`. Models without edgekd metadata (any ONNX / TFLite
classifier) are fed the data set as the feed options say (:mod:`edgekd.benchmarking.feed`),
or timed on random input only. Torch-free; heavy imports happen inside the command.
Register with ``app.command("bench")(bench)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgekd.model_files import RUNTIMES, suffix_list

RUNTIME_HELP = f"auto (by suffix), or one of {', '.join(RUNTIMES)}"
FEED = "Models without edgekd metadata:"


def bench(
    models: Annotated[list[Path], typer.Argument(
        help=f"Model files ({suffix_list()}); the first is the reference row.")],
    runtime: Annotated[str, typer.Option("--runtime", "-r", help=RUNTIME_HELP)] = "auto",
    threads: Annotated[int | None, typer.Option(
        "--threads", min=1, help="CPU threads (default: the runtime's).")] = None,
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
    input_size: Annotated[str | None, typer.Option(
        "--input-size", help=f"{FEED} resize data set images to N or HxW (bilinear; only when given).")] = None,
    channels: Annotated[int | None, typer.Option(
        "--channels", min=1, max=3, help=f"{FEED} convert data set images to 1 (grey) or 3 (RGB) channels.")] = None,
    norm: Annotated[str | None, typer.Option(
        "--norm", help=f"{FEED} normalisation preset: unit ([0, 1], the default), symmetric ([-1, 1]), "
        "imagenet, dataset (the data set's own mean/std).")] = None,
    mean: Annotated[str | None, typer.Option("--mean", help=f"{FEED} per-channel mean, e.g. 0.5 or 0.485,0.456,0.406."
                                             )] = None,
    std: Annotated[str | None, typer.Option("--std", help=f"{FEED} per-channel std, e.g. 0.5 or 0.229,0.224,0.225.")
                   ] = None,
    layout: Annotated[str | None, typer.Option(
        "--layout", help=f"{FEED} input layout nchw or nhwc (default: inferred from the input shape).")] = None,
    class_map: Annotated[str | None, typer.Option(
        "--class-map", help=f"{FEED} model output -> data set class, e.g. 0=normal,1=pneumonia, or a file "
        "(one class per line in output order, or JSON); default: outputs in the data set's class order.")] = None,
    profile: Annotated[bool, typer.Option(
        "--profile", help="Also profile each model op by op (time per op, int8 vs float kernels, XNNPACK / MLAS "
        "fast paths taken); printed after the tables and kept in --json / --md.")] = False,
    all_formats: Annotated[bool, typer.Option(
        "--all-formats", help="Export each MODEL.pt in every format x quantization (each int8 scheme) x attention "
        "head (needs torch), or take a folder of exported files (torch-free), and benchmark every cell: one table "
        "per model with refused and failed cells reported, not dropped.")] = False,
    floor: Annotated[float | None, typer.Option(
        "--floor", help="With --all-formats: mark rows whose test accuracy is below ACC (0.85 or 85).",
        metavar="ACC")] = None,
    matrix_dir: Annotated[Path | None, typer.Option(
        "--matrix-dir", help="With --all-formats: folder for the exported cells (default: <MODEL stem>-all-formats "
        "beside the checkpoint).")] = None,
    labels: Annotated[list[str] | None, typer.Option(
        "--label", help="Row name of each model, in order (default: from its metadata, e.g. "
        "'cnn-small fma+kd (onnx int8)'; the file name without metadata).")] = None,
) -> None:
    """Benchmark model files, one fresh process each, and compare them to the first.

    Any ONNX / TFLite classifier can be compared with edgekd's: without edgekd metadata it is
    timed on random input of its own shape (latency and memory only), or scored on --dataset
    when the options below say how to feed it.
    """
    import os
    import tempfile

    from rich.console import Console

    from edgekd.benchmarking.child import measure_in_child
    from edgekd.benchmarking.data import load_data, save_shared
    from edgekd.benchmarking.feed import is_edgekd
    from edgekd.benchmarking.machine import machine_info
    from edgekd.benchmarking.measure import check_input_shape, dataset_facts
    from edgekd.benchmarking.options import (
        LAYOUT_CHOICES,
        NORM_PRESETS,
        FeedOptions,
        parse_class_map,
        parse_floats,
        parse_size,
    )
    from edgekd.benchmarking.report import build_report, rich_tables, write_json, write_markdown, write_plot
    from edgekd.errors import EdgekdError
    from edgekd.runtime.metadata import read_metadata
    from edgekd.runtime.registry import check_runtime, resolve_runtime

    console = Console(stderr=True)
    if all_formats:
        from edgekd.api.matrix import run_all_formats

        run_all_formats(models, matrix_dir, floor, {"runtime": runtime, "threads": threads, "batch": batch,
                                                     "warmup": warmup, "iters": iters, "min_time": min_time,
                                                     "peak": peak, "data_dir": data_dir and str(data_dir)},
                        timeout, json_path, md_path, plot_path, console)
        return
    if floor is not None or matrix_dir is not None:
        raise EdgekdError("--floor and --matrix-dir go with --all-formats: add it, or drop them")
    check_runtime(runtime)
    for model in models:  # fail fast, before any child starts
        if not model.is_file():
            raise EdgekdError(f"model file {model} does not exist: check the path")
        chosen = resolve_runtime(model, runtime)[0]
        if profile and chosen not in ("onnxruntime", "litert", "tflite-runtime"):
            raise EdgekdError(f"--profile reads onnxruntime and LiteRT profiles; {model.name} runs in {chosen}: "
                              "drop --profile or that model")
    if labels and len(labels) != len(models):
        raise EdgekdError(f"{len(labels)} --label for {len(models)} models: give one per model, in order")
    if layout is not None and layout.lower() not in LAYOUT_CHOICES:
        raise EdgekdError(f"--layout {layout!r}: choose nchw or nhwc")
    if norm is not None and norm not in NORM_PRESETS:
        raise EdgekdError(f"unknown --norm {norm!r}: choose one of {', '.join(NORM_PRESETS)}")
    options = FeedOptions(parse_size(input_size), channels, parse_floats(mean, "--mean"), parse_floats(std, "--std"),
                          norm, layout.lower() if layout else None, parse_class_map(class_map))
    if not dataset and any(v is not None for v in (norm, mean, std, class_map)):
        raise EdgekdError("--norm/--mean/--std/--class-map say how to feed --dataset: give --dataset too "
                          "(without it models are timed on random input)")

    settings = {
        "runtime": runtime, "threads": threads, "batch": batch, "warmup": warmup, "iters": iters,
        "min_time": min_time, "dataset": dataset, "split": split if dataset else None, "limit": limit,
        "feed": options.to_json(), "profile": profile,
    }
    with tempfile.TemporaryDirectory(prefix="edgekd-data-") as tmp:
        shared, class_names, data_norm = None, None, None
        if dataset:
            metas = [read_metadata(model) for model in models]
            stored = next((m["preprocess"] for m in metas if is_edgekd(m) and m.get("preprocess")), None)
            images, targets = load_data(dataset, split, data_dir, stored)  # a photo folder: as the models were trained
            for model, meta in zip(models, metas):
                if is_edgekd(meta):
                    check_input_shape(tuple(meta["input_size"]), images, model, dataset)
            shared = save_shared(images[:limit] if limit else images, targets[:limit] if limit else targets, tmp)
            class_names, data_norm = dataset_facts(dataset, stored)
            del images, targets
        records = []
        for i, model in enumerate(models):
            console.print(f"[bold]bench[/bold] {model} ...")
            spec = {
                "model": str(model), "runtime": runtime, "threads": threads, "batch": batch, "warmup": warmup,
                "iters": iters, "min_time": min_time, "dataset": dataset, "split": split,
                "shared_data": shared, "peak": peak, "feed": options.to_json(), "class_names": class_names,
                "data_norm": data_norm, "label": labels[i] if labels else None, "profile": profile,
            }
            records.append(measure_in_child(spec, timeout=timeout))

    report = build_report(records, machine_info(), settings)
    for table in rich_tables(report):
        Console().print(table)
    for row in report["rows"]:
        for note in row["notes"]:
            console.print(f"[yellow]note[/yellow] {row['name']}: {note}")
    if profile:
        from edgekd.benchmarking.report import profile_sections

        Console().print("\n".join(profile_sections(report)), markup=False, highlight=False)
    if md_path:
        write_markdown(md_path, report)
    if plot_path:
        skipped = write_plot(plot_path, report)
        if skipped:
            console.print(f"[yellow]note[/yellow] {skipped}")
        elif json_path:  # edgekd report shows the plot beside the table
            report["plot"] = os.path.relpath(plot_path.resolve(), json_path.resolve().parent)
    if json_path:
        write_json(json_path, report)
